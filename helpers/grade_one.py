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
child has ended, so that :class:`Grader`, the fork server's client in :mod:`helpers.grade_class`, can kill a child
(and its kernel) that runs past its timeout.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers.config import FAST_ENV
from helpers.paths import PROJECT_ROOT

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


# ----------------------------------------------------------------------------- the client: helpers.grade_class's side


def _kill_tree(pid: int) -> None:
    """Kill a process and every process it started (otter's kernel runs in a session of its own)."""
    import psutil

    try:
        root = psutil.Process(pid)
        family = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for member in family:
        try:
            member.kill()
        except psutil.NoSuchProcess:
            pass


def _environment(**extra: str) -> dict[str, str]:
    """This environment with the project first on PYTHONPATH (the kernel imports ``helpers`` from this checkout)."""
    path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH")]))
    return dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=path, **extra)


class Grader:
    """A fork server (``python -m helpers.grade_one --serve``) that imported otter once; grades one job at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "helpers.grade_one", "--serve"], env=_environment(),
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0,
                                        start_new_session=True)
        self._buffer = b""

    def _line(self, deadline: float | None = None) -> str | None:
        """The server's next line; None when ``deadline`` (time.monotonic) passes first."""
        fd = self.process.stdout.fileno()
        while b"\n" not in self._buffer:
            if deadline is not None and not select.select([fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                return None
            chunk = os.read(fd, 4096)
            if not chunk:
                raise RuntimeError(f"the grading server stopped (exit code {self.process.wait()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def run(self, notebook: Path, zip_path: Path, workdir: Path, timeout: float, fast: bool) -> dict | None:
        """Grade ``notebook`` in ``workdir``; the outcome (see :mod:`helpers.grade_one`), or None if it timed out."""
        env = _environment(TMPDIR=str(workdir), JUPYTER_RUNTIME_DIR=str(workdir / "runtime"))
        env.pop(FAST_ENV, None)
        if fast:
            env[FAST_ENV] = "1"
        result = workdir / "outcome.json"
        job = {"notebook": str(notebook), "autograder": str(zip_path), "result": str(result), "cwd": str(workdir),
               "env": env}
        self.process.stdin.write((json.dumps(job) + "\n").encode())
        pid = int(self._line())
        if self._line(time.monotonic() + timeout) is None:
            _kill_tree(pid)
            self._line()
            return None
        if not result.is_file():
            log = (workdir / "otter.log").read_text(errors="replace").strip().splitlines() or ["no message"]
            return {"tests": {}, "cell_errors": [], "error": f"the grading process stopped: {log[-1]}"}
        return json.loads(result.read_text())

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _kill_tree(self.process.pid)
            self.process.wait()


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        serve()
    else:
        grade(*sys.argv[1:])
