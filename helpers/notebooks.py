"""Where the course notebooks are: the one list that the scripts, the tests and conftest.py share.

A course notebook is a file ``NN_name.ipynb`` (two digits, an underscore) directly in ``notebooks/``;
a new ``notebooks/06_*.ipynb`` joins the series (execution, student versions, tests) by being there.
"""

from __future__ import annotations

from pathlib import Path

from helpers.paths import COURSE_DIR, PROJECT_ROOT, STUDENT_DIR

__all__ = ["COURSE_DIR", "PATTERN", "PROJECT_ROOT", "STUDENT_DIR", "course_notebooks"]

PATTERN = "[0-9][0-9]_*.ipynb"


def course_notebooks(folder: Path | None = None) -> list[Path]:
    """The course notebooks in ``folder`` (default ``notebooks/``), in the order of the series."""
    return sorted(Path(COURSE_DIR if folder is None else folder).glob(PATTERN))
