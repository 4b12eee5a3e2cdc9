"""Grade submissions with otter's non-containerized runner (what ``otter run`` does), each in a process of its own.

    python -m helpers.grade_one NOTEBOOK AUTOGRADER_ZIP RESULT_JSON      one submission
    python -m helpers.grade_one --serve                                  a fork server for helpers.grade_class

otter re-executes the notebook in a new kernel, then runs the tests of the autograder zip that the notebook's own
``grader.check`` cells did not run; the scores come from that run only. RESULT_JSON holds, for each test, its score,
its points and the feedback of its failed cases (the text the student saw), the errors raised by the notebook's cells
(by the cell number written into each cell's metadata beforehand, ``grading_cell``), or, when otter could not finish,
``error``: what went wrong.

Importing otter takes seconds (half a minute on a loaded machine), longer than grading a short notebook. The fork server
imports it once: for each job (one line of JSON on stdin: notebook, autograder, result, cwd, env) it forks a child that
grades that one submission in its own folder and environment, prints the child's pid, and prints ``done`` when the
child has ended, so that :mod:`helpers.grade_class` can kill a child (and its kernel) that runs past its timeout.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

CELL_KEY = "grading_cell"


def cell_errors(executed) -> list[dict]:
    """The errors raised by the submission's cells in an executed notebook: cell number, name and value."""
    return [{"cell": cell.metadata[CELL_KEY], "ename": out.get("ename", ""), "evalue": out.get("evalue", "")}
            for cell in executed.cells if cell.cell_type == "code" and CELL_KEY in cell.metadata
            for out in cell.get("outputs", []) if out.get("output_type") == "error"]


def outcome(results) -> dict:
    """An otter ``GradingResults`` as plain data: each test's score, points, pass and failure messages."""
    tests = {name: {"score": float(test.score), "possible": float(test.possible), "passed": bool(test.passed_all),
                    "messages": [r.message for r in test.test_case_results if not r.passed]}
             for name, test in results.results.items()}
    executed = getattr(results, "notebook", None)
    return {"tests": tests, "cell_errors": cell_errors(executed) if executed is not None else [], "error": None}


def grade(notebook: str, autograder: str, result_json: str) -> None:
    """Grade one submission with otter; write the outcome to ``result_json``."""
    from otter.run import main as otter_run  # imported here: otter takes seconds to import

    try:
        results = otter_run(notebook, autograder=autograder, output_dir=None, no_logo=True)
        found = outcome(results)
        catastrophe = getattr(results, "_catastrophic_error", None)
        if catastrophe is not None:
            found["error"] = f"otter found no results after running the notebook ({type(catastrophe).__name__}: " \
                             f"{catastrophe})"
    except Exception as error:          # noqa: BLE001 - whatever stopped otter is this submission's outcome
        found = {"tests": {}, "cell_errors": [], "error": f"{type(error).__name__}: {error}".strip()}
    Path(result_json).write_text(json.dumps(found, indent=1))


def _child(job: dict) -> None:
    """In a forked child: the job's folder and environment, output to a log in that folder, then :func:`grade`."""
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    tempfile.tempdir = None                      # read TMPDIR again: otter makes its folders inside the job's
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)          # the server's job lines are not the child's to read
    log = os.open(os.path.join(job["cwd"], "otter.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, 1)
    os.dup2(log, 2)
    grade(job["notebook"], job["autograder"], job["result"])


def serve() -> None:
    """The fork server: one job per line of stdin, a child per job, its pid and then ``done`` on stdout."""
    import otter.run  # noqa: F401 - imported once, before forking, for every child

    for line in sys.stdin:
        job = json.loads(line)
        pid = os.fork()
        if pid == 0:
            try:
                _child(job)
            finally:
                os._exit(0)
        print(pid, flush=True)
        os.waitpid(pid, 0)
        print("done", flush=True)


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        grade(*sys.argv[1:])
