"""Grade one submission with otter's non-containerized runner (what ``otter run`` does) and write the outcome as JSON.

    python -m helpers.grade_one NOTEBOOK AUTOGRADER_ZIP RESULT_JSON

:mod:`helpers.grade_class` runs this in a fresh temporary folder per submission, as a process of its own that it can
kill when the notebook never ends. otter re-executes the notebook in a new kernel, then runs the tests of the
autograder zip that the notebook's own ``grader.check`` cells did not run; the scores come from that run only.
RESULT_JSON holds, for each test, its score, its points and the feedback of its failed cases (the text the student
saw), the errors raised by the notebook's cells (by the cell number written into each cell's metadata beforehand,
``grading_cell``), or, when otter could not finish, ``error``: what went wrong.
"""

from __future__ import annotations

import json
import sys
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


def main(notebook: str, autograder: str, result_json: str) -> int:
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
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
