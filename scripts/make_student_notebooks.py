"""Generate the student notebooks (blanks to fill in, otter-grader checks) from the complete course notebooks.

Usage: python scripts/make_student_notebooks.py [--out DIR] [--autograders DIR]   (default: notebooks/student; DIR is
emptied first, so a folder holding the source notebooks, or anything else than student notebooks, is refused; the
autograder zips, one per notebook, go to build/autograder/: see helpers/autograder.py)
Run through ``./course.sh student``. The complete, executed notebooks in notebooks/ stay the one
source: an exercise there is three cells tagged ``exercise-prompt``, ``exercise-solution`` (the code
between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` is the answer) and ``exercise-check`` (a call of
``exercises.check(name, function)``), with the exercise's name in the cells' metadata. This script
turns each notebook into an otter-grader master notebook (otter's raw-cell delimiters, one question
per exercise, whose test calls ``helpers.exercises.assert_correct``), runs ``otter assign`` on it,
and keeps the student notebook and its tests. tests/test_student_notebooks.py fails when the
committed student notebooks are out of date with their sources.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from helpers.autograder import AUTOGRADER_DIR
from helpers.autograder import build as build_autograders
from helpers.notebooks import PATTERN, PROJECT_ROOT, STUDENT_DIR, course_notebooks

ROOT = PROJECT_ROOT
OTTER = Path(sys.executable).with_name("otter")
ASSIGNMENT_CONFIG = """# ASSIGNMENT CONFIG
init_cell: true
check_all_cell: false
export_cell: false
run_tests: false
solutions_pdf: false
generate: false
tests:
  files: true
  ok_format: false
"""
CHECK_CALL = re.compile(r'exercises\.check\("(?P<name>\w+)", (?P<function>\w+)\)')
GRADER_CHECK = re.compile(r'grader\.check\("(?P<name>\w+)"\)')
TESTS_BESIDE = """import pathlib
if not pathlib.Path("tests").is_dir():     # the checks below read tests/; without it they could only fail
    print("The folder tests/ is not beside this notebook, so the checks cannot run. Copy it from "
          "notebooks/student/tests/ in the course (or your download) next to this notebook, "
          "then run this cell again.")"""

BANNER = "\n".join([
    "**Your copy of this notebook.** Work through it from top to bottom. Where a cell says `...`, write the function "
    "it asks for and run that cell, then run the `grader.check` cell under it: it tries your function on several "
    "inputs and shows the input where it is furthest off (for a common slip it also names the slip).",
    "",
    "* **Hints** are in the collapsible *Hint* boxes in each exercise: open one when you are stuck.",
    "* **Your code runs the course:** once your function passes its check, the cells after it use it, so the figures "
    "and numbers come from your code. Until then they use the course's own function and print one line saying so, so "
    "you can always run on.",
    "* **Solutions**, for after you have tried: the complete notebook `../{source}`, one folder up from this one, and "
    "the \"Show the solution\" boxes of the course website (`./course.sh book` builds it into `_build/html`, or "
    "your instructor gives you its address).",
    "* **Keep the folder `tests/` beside this notebook** (as in `notebooks/student/`): the checks read it. Copying "
    "the notebook somewhere else? Copy `tests/` with it.",
    "* **Handing it in:** when you are done, save the notebook (Ctrl+S), write your name or student id in the last "
    "cell and run it: it saves `{stem}_<your id>.zip` next to this notebook (the notebook and the results of your "
    "checks). Hand in that zip, or this `.ipynb` itself if your course asks for it. Your grade comes from running your "
    "notebook again from top to bottom, so check that it does (Kernel > Restart Kernel and Run All Cells)."])
HAND_IN = ("## Hand in\n\nSave this notebook first (Ctrl+S). Then write your name or student id between the quotes and "
           "run the cell: it saves `{stem}_<your id>.zip`, this notebook with the results of its checks, next to the "
           "notebook, and shows a link to download it. Hand in that zip.")
EXPORT = """import re

student_id = ""       # your name or student id, e.g. "ada_lovelace": letters, digits, _ . - and no spaces
if re.fullmatch(r"[\\w.-]+", student_id):
    grader.export(export_path=f"{stem}_{{student_id}}.zip", pdf=False)
else:
    print("Write your name or student id between the quotes above, then run this cell again.")"""



def _raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def _test_cell(check: str) -> nbformat.NotebookNode:
    match = CHECK_CALL.search(check)
    if match is None:
        raise ValueError(f"an exercise-check cell must call exercises.check(name, function), got: {check!r}")
    name, function = match["name"], match["function"]
    if name != function:
        raise ValueError(f"exercise {name!r} checks a function named {function!r}: an exercise is named like the "
                         f"function the student writes")
    return nbformat.v4.new_code_cell(
        f"def test_{name}({function}):\n"
        f"    import importlib\n"
        f"    import sys\n"
        f"    # the course's checks imported afresh: the notebook may have redefined exercises.check to always pass\n"
        f"    for module in [m for m in sys.modules if m == 'helpers.grading' or m.startswith('helpers.exercises')]:\n"
        f"        del sys.modules[module]\n"
        f"    importlib.import_module('helpers.exercises').assert_correct({name!r}, {function})\n\n\n"
        f"test_{name}({function})")


def otter_master(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The course notebook with otter's delimiters around each exercise, and no regression-check markers."""
    master = nbformat.v4.new_notebook(metadata=nb.metadata)
    master.cells.append(_raw(ASSIGNMENT_CONFIG))
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        name = cell.metadata.get("exercise")
        if cell.cell_type == "code":
            cell = nbformat.v4.new_code_cell("\n".join(
                line for line in cell.source.splitlines() if line.strip() != "# NBVAL_CHECK_OUTPUT"))
        if "exercise-prompt" in tags:
            master.cells += [_raw(f"# BEGIN QUESTION\nname: {name}\npoints: 1"), cell]
        elif "exercise-solution" in tags:
            master.cells += [_raw("# BEGIN SOLUTION"), cell, _raw("# END SOLUTION")]
        elif "exercise-check" in tags:
            master.cells += [_raw("# BEGIN TESTS"), _test_cell(cell.source), _raw("# END TESTS"),
                             _raw("# END QUESTION")]
        else:
            master.cells.append(cell)
    return master


PREDICTION = re.compile(r"^(?P<name>\w+) = .+?(?P<comment>  +# your prediction.*)$", re.MULTILINE)


def _without_the_prediction(source: str) -> str:
    """A "Try it" cell's ``name = value  # your prediction`` (the course's own prediction) becomes ``name = None``:
    the student writes theirs before running the cell, which says so while it is None."""
    return PREDICTION.sub(lambda m: f"{m['name']} = None{m['comment']}", source)


def _with_the_checks_feedback(source: str) -> str:
    """otter's check cell, then the course's check of the same function, whose feedback the cell shows: what was
    tried, "not implemented yet" for an untouched stub, never otter's report of a failed test line."""
    match = GRADER_CHECK.fullmatch(source.strip())
    if match is None:
        return source
    name = match["name"]                # the exercise's name is the name of the student's function
    return f'grader.check("{name}")  # otter-grader records the check\nexercises.check("{name}", {name})'


def tidy(student: nbformat.NotebookNode, source_name: str) -> nbformat.NotebookNode:
    """Deterministic output: fixed cell ids, no outputs, the course's kernelspec, a banner on top, the hand-in
    cell (otter's export, to a zip named by the student's id) at the end; each otter check cell also shows the
    course's check (:func:`_with_the_checks_feedback`)."""
    stem = Path(source_name).stem
    banner = nbformat.v4.new_markdown_cell(BANNER.format(source=source_name, stem=stem))
    init = student.cells.pop(0)              # otter's "import otter; grader = otter.Notebook(...)"
    if "otter" not in init.source:
        raise RuntimeError(f"otter assign's first cell should initialise the grader, got: {init.source!r}")
    init.source = init.source.rstrip() + "\n" + TESTS_BESIDE
    title = student.cells.pop(0)
    student.cells[0:0] = [title, banner, init]
    student.cells += [nbformat.v4.new_markdown_cell(HAND_IN.format(stem=stem)),
                      nbformat.v4.new_code_cell(EXPORT.format(stem=stem))]
    for i, cell in enumerate(student.cells):
        cell.id = f"cell-{i:03d}"
        cell.metadata.pop("slideshow", None)     # the course's slides are the instructor's, not the students'
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.source = _without_the_prediction(_with_the_checks_feedback(cell.source))
    student.metadata = nbformat.from_dict({
        "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
        "language_info": {"name": "python"}})
    return student


RUN_TIME_FILES = {".OTTER_LOG", ".ipynb_checkpoints", "__pycache__"}   # left by students working in the folder


class OutputFolderRefused(ValueError):
    """The output folder holds what emptying it would destroy."""


def check_output_folder(out: Path, sources: list[Path]) -> None:
    """Refuse an output folder that :func:`generate` must not empty: one holding a source notebook, or
    anything else than what an earlier run wrote there (student notebooks, tests/*.py, run-time files)."""
    out = out.resolve()
    held = [s for s in sources if s.resolve().is_relative_to(out)]
    if held:
        raise OutputFolderRefused(f"refusing to write into {out}: it holds the source notebooks "
                         f"{[str(s) for s in held]}, and the output folder is emptied first; "
                         f"choose an empty or a student folder (default {STUDENT_DIR})")
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputFolderRefused(f"refusing to write into {out}: it is not a folder")
    foreign = [p for p in out.iterdir() if p.name not in RUN_TIME_FILES
               and not (p.is_file() and p.match(PATTERN))
               and not (p.is_dir() and p.name == "tests"
                        and all(q.is_file() and q.suffix in {".py", ".pyc"} or q.name in RUN_TIME_FILES
                                for q in p.iterdir()))]
    if foreign:
        raise OutputFolderRefused(f"refusing to write into {out}: the output folder is emptied first, and it holds "
                         f"files that are not student notebooks: {sorted(p.name for p in foreign)}; "
                         f"choose an empty or a student folder (default {STUDENT_DIR})")


def generate(out: Path, sources: list[Path] | None = None) -> list[Path]:
    """Write the student notebooks and their tests into ``out``; return the files written.

    ``out`` is emptied first, so :func:`check_output_folder` refuses a folder that holds anything else.
    """
    sources = course_notebooks() if sources is None else sources
    check_output_folder(out, sources)
    if out.exists():
        shutil.rmtree(out)
    (out / "tests").mkdir(parents=True)
    masters = {}
    with tempfile.TemporaryDirectory() as tmp:
        for source in sources:
            nb = nbformat.read(source, as_version=4)
            if any("exercise-prompt" in c.metadata.get("tags", []) for c in nb.cells):
                masters[source] = Path(tmp) / source.stem / source.name
                masters[source].parent.mkdir()
                nbformat.write(otter_master(nb), masters[source])
        _otter_assign(list(masters.values()))
        written = []
        for source, master in masters.items():
            student_dir = master.parent / "dist" / "student"
            student = tidy(nbformat.read(student_dir / source.name, as_version=4), source.name)
            nbformat.write(student, out / source.name)
            written.append(out / source.name)
            for test in sorted((student_dir / "tests").glob("*.py")):
                shutil.copy(test, out / "tests" / test.name)
                written.append(out / "tests" / test.name)
    return written


# One Python process runs ``otter assign`` on every master notebook: importing otter takes longer than an assign.
ASSIGN_ALL = """
import os, sys
from otter.assign import main
for master in sys.argv[1:]:
    print(f"=== otter assign {master}", flush=True)
    os.chdir(os.path.dirname(master))
    main(master, os.path.join(os.path.dirname(master), "dist"))
"""


def _otter_assign(masters: list[Path]) -> None:
    """``otter assign MASTER FOLDER/dist`` for each master notebook, in its own folder, like the command line."""
    if not masters:
        return
    result = subprocess.run([sys.executable, "-c", ASSIGN_ALL, *map(str, masters)], capture_output=True, text=True)
    if result.returncode != 0:
        failed = result.stdout.rsplit("=== otter assign ", 1)[-1].splitlines()[0] if "===" in result.stdout else "?"
        raise RuntimeError(f"otter assign failed on {failed}:\n{result.stdout}\n{result.stderr}")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=STUDENT_DIR,
                        help="output folder, emptied first (default: notebooks/student); refused if it holds "
                             "the source notebooks or anything but student notebooks")
    parser.add_argument("--autograders", type=Path, default=AUTOGRADER_DIR,
                        help="where otter's autograder zip of each notebook goes (default: build/autograder, "
                             "git-ignored); ./course.sh grade and otter grade take these")
    args = parser.parse_args(argv)
    try:
        written = generate(args.out)
    except OutputFolderRefused as error:
        parser.error(str(error))
    written += build_autograders(args.out, args.autograders)
    for path in written:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
