"""Otter's autograder configuration for each student notebook, and which student notebook a submission is.

``./course.sh student`` writes one autograder zip per student notebook into ``build/autograder/`` (git-ignored):
``NN_name-autograder.zip`` holds that notebook's otter tests and nothing else. It is the zip that ``otter run``
(``./course.sh grade``, here) and ``otter grade`` (in Docker, elsewhere) take, made by ``otter generate`` from the
committed tests in ``notebooks/student/tests/``, with fixed timestamps, so that building it again gives the same bytes.
The kernel that grades finds ``helpers`` (and numpy, scipy, ...) in this project's environment: the zip names no
requirements.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import nbformat

from helpers.notebooks import course_notebooks
from helpers.paths import COURSE_DIR, PROJECT_ROOT, STUDENT_DIR

__all__ = ["AUTOGRADER_DIR", "autograder_zip", "build", "course_answers", "exercises_checked", "filled_in", "stale",
           "tests_in"]

AUTOGRADER_DIR = PROJECT_ROOT / "build" / "autograder"
GRADER_CHECK = re.compile(r"""grader\.check\(\s*["'](\w+)["']\s*\)""")
FIXED_TIME = (1980, 1, 1, 0, 0, 0)          # the earliest time a zip can hold: no build time in the bytes


def exercises_checked(nb: nbformat.NotebookNode) -> list[str]:
    """The exercises a notebook's code cells check with ``grader.check("name")``, in order, each once."""
    names = [m for cell in nb.cells if cell.cell_type == "code" for m in GRADER_CHECK.findall(cell.source)]
    return list(dict.fromkeys(names))


def autograder_zip(notebook: str | Path, folder: Path = AUTOGRADER_DIR) -> Path:
    """Where the autograder zip of student notebook ``notebook`` (a path or a name like ``01_em_gmm``) lives."""
    return Path(folder) / f"{Path(notebook).stem}-autograder.zip"


def tests_in(zip_path: Path) -> dict[str, bytes]:
    """The otter test files in an autograder zip, by name (``tests/lower_bound.py``: its bytes)."""
    with zipfile.ZipFile(zip_path) as archive:
        return {name: archive.read(name) for name in sorted(archive.namelist()) if name.startswith("tests/")}


# One Python process runs ``otter generate`` for every notebook: importing otter takes longer than a generate.
GENERATE_ALL = """
import sys
from otter.generate import main
for tests_dir, output_path in zip(sys.argv[1::2], sys.argv[2::2]):
    main(tests_dir=tests_dir, output_path=output_path, no_config=True, no_requirements=True, no_environment=True)
"""


def build(student_dir: Path = STUDENT_DIR, out: Path = AUTOGRADER_DIR) -> list[Path]:
    """Write the autograder zip of every student notebook in ``student_dir`` into ``out``; return the zips.

    Each zip holds the tests (from ``student_dir/tests``) of the exercises its notebook checks.
    """
    notebooks = course_notebooks(student_dir)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        args = []
        for notebook in notebooks:
            tests = Path(tmp) / notebook.stem / "tests"
            tests.mkdir(parents=True)
            for name in exercises_checked(nbformat.read(notebook, as_version=4)):
                source = student_dir / "tests" / f"{name}.py"
                if not source.is_file():
                    raise FileNotFoundError(f"{notebook.name} checks {name!r} but {source} is missing: "
                                            f"run ./course.sh student")
                (tests / source.name).write_bytes(source.read_bytes())
            args += [str(tests), str(Path(tmp) / f"{notebook.stem}.zip")]
        result = subprocess.run([sys.executable, "-c", GENERATE_ALL, *args], capture_output=True, text=True,
                                cwd=tmp)
        if result.returncode != 0:
            raise RuntimeError(f"otter generate failed:\n{result.stdout}\n{result.stderr}")
        return [_with_fixed_times(Path(tmp) / f"{nb.stem}.zip", autograder_zip(nb, out)) for nb in notebooks]


def _with_fixed_times(source: Path, target: Path) -> Path:
    """Copy zip ``source`` to ``target`` with its entries sorted and dated 1980-01-01, so the bytes are reproducible."""
    with zipfile.ZipFile(source) as archive, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in sorted(archive.infolist(), key=lambda i: i.filename):
            fixed = zipfile.ZipInfo(info.filename, date_time=FIXED_TIME)
            fixed.external_attr, fixed.compress_type = info.external_attr, zipfile.ZIP_DEFLATED
            copy.writestr(fixed, archive.read(info))
    return target


def stale(student_dir: Path = STUDENT_DIR, out: Path = AUTOGRADER_DIR) -> list[str]:
    """The student notebooks whose autograder zip in ``out`` is missing or holds other tests than ``student_dir``'s."""
    found = []
    for notebook in course_notebooks(student_dir):
        zip_path = autograder_zip(notebook, out)
        want = {f"tests/{name}.py": (student_dir / "tests" / f"{name}.py").read_bytes()
                for name in exercises_checked(nbformat.read(notebook, as_version=4))}
        if not zip_path.is_file() or tests_in(zip_path) != want:
            found.append(notebook.stem)
    return found


def course_answers(notebook: str) -> list[str]:
    """The complete course notebook's answers to its exercises (notebook ``01_em_gmm``, say), in order, without otter's
    solution markers: what a student who gets everything right writes."""
    nb = nbformat.read(COURSE_DIR / f"{notebook}.ipynb", as_version=4)
    return ["\n".join(line for line in cell.source.splitlines()
                      if line.strip() not in ("# BEGIN SOLUTION", "# END SOLUTION"))
            for cell in nb.cells if "exercise-solution" in cell.metadata.get("tags", [])]


def filled_in(notebook: str, answers: list[str | None], student_dir: Path = STUDENT_DIR) -> nbformat.NotebookNode:
    """Student notebook ``notebook`` with its answer cells replaced by ``answers`` (None: the blank left as it is)."""
    nb = nbformat.read(student_dir / f"{notebook}.ipynb", as_version=4)
    cells = [cell for cell in nb.cells if "otter_answer_cell" in cell.metadata.get("tags", [])]
    if len(cells) != len(answers):
        raise ValueError(f"{notebook} has {len(cells)} answer cells, got {len(answers)} answers")
    for cell, answer in zip(cells, answers, strict=True):
        cell.source = cell.source if answer is None else answer
    return nb
