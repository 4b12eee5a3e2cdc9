"""Grade a class: every submission found under the given paths, with otter's non-containerized runner, in parallel.

    ./course.sh grade SUBMISSIONS... [--out DIR] [--jobs N] [--timeout SECONDS] [--full]

A submission is a student notebook (``.ipynb``) or the zip its export cell saves (``.zip``), either in a folder per
student (the folder names the student) or named by student (``01_em_gmm_ada.zip``: the student is ``ada``). Each is
read, recognised as one of the course's student notebooks by the exercises its ``grader.check`` cells name, stripped
of its stored outputs, copied into a fresh temporary folder and graded there by :mod:`helpers.grade_one` (otter
re-runs the notebook in a new kernel, then its tests), ``--jobs`` at a time, each killed after ``--timeout`` seconds.
Nothing is written next to the submissions, into ``notebooks/`` or into ``data/``; the results go to ``--out``
(grades.csv, feedback/, slips.csv, slips.png: :mod:`helpers.class_report`). Bad input is a row with its reason.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import shutil
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from helpers import autograder, class_report
from helpers.grade_one import CELL_KEY, Grader
from helpers.notebooks import course_notebooks
from helpers.paths import COURSE_DIR, STUDENT_DIR, data_dir

__all__ = ["Submission", "Result", "find_submissions", "grade_all", "main"]

GRADED, TIMED_OUT, NOT_A_NOTEBOOK, ANOTHER_NOTEBOOK, FAILED = (
    "graded", "timed out", "not a notebook", "another notebook", "failed to run")
OTTER_TIMESTAMP = re.compile(r"_\d{4}_\d{2}_\d{2}T\d{2}_\d{2}_\d{2}_\d{6}$")   # otter export's default zip name


@dataclass(frozen=True)
class Submission:
    """One file to grade (``path``; None for an empty folder, ``folder`` then names it) and the student it is from."""

    student: str
    path: Path | None
    folder: Path | None = None

    @property
    def shown(self) -> str:
        return str(self.path if self.path is not None else self.folder)


@dataclass
class Result:
    """The outcome of one submission: which notebook, status and reason, and per exercise its points and feedback."""

    submission: Submission
    notebook: str = ""
    status: str = GRADED
    reason: str = ""
    points: dict[str, float] = field(default_factory=dict)
    possible: dict[str, float] = field(default_factory=dict)
    feedback: dict[str, str] = field(default_factory=dict)     # exercise -> the text the student saw (not passed)


# ----------------------------------------------------------------------------- finding and naming submissions


def student_of(stem: str) -> str:
    """The student named by a file stem: ``01_em_gmm_ada_2026_12_06T05_00_00_000000`` -> ``ada``."""
    stem = OTTER_TIMESTAMP.sub("", stem)
    for notebook in course_notebooks(STUDENT_DIR):
        if stem.startswith(notebook.stem + "_"):
            return stem[len(notebook.stem) + 1:]
    return stem


def _gradable(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in {".ipynb", ".zip"}
                  and ".ipynb_checkpoints" not in p.parts and not p.name.startswith("."))


def find_submissions(paths: list[Path]) -> list[Submission]:
    """Every ``.ipynb`` and ``.zip`` under ``paths``, by student; a sub-folder of a given folder is one student's (its
    name), an empty one too (graded as 'not a notebook')."""
    found = []
    for path in paths:
        if path.is_file():
            found.append(Submission(student_of(path.stem), path))
            continue
        if not path.is_dir():
            raise FileNotFoundError(f"{path}: no such file or folder of submissions")
        for item in sorted(path.iterdir()):
            if item.is_dir() and not item.name.startswith("."):
                files = _gradable(item)
                found += [Submission(item.name, f) for f in files] or [Submission(item.name, None, item)]
            elif item.is_file() and item.suffix in {".ipynb", ".zip"}:
                found.append(Submission(student_of(item.stem), item))
    return sorted(found, key=lambda s: (s.student, s.shown))


# ----------------------------------------------------------------------------- reading a submission


class BadInput(Exception):
    """A submission that cannot be graded: ``status`` and a reason in ``str()``."""

    def __init__(self, status: str, reason: str):
        super().__init__(reason)
        self.status = status


def _notebook_bytes(path: Path) -> bytes:
    """The notebook of a submission: the file itself, or the one ``.ipynb`` in an otter zip."""
    if path.suffix != ".zip":
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if n.endswith(".ipynb") and "__MACOSX" not in n
                     and ".ipynb_checkpoints" not in n]
            if len(names) != 1:
                raise BadInput(NOT_A_NOTEBOOK, f"the zip holds {len(names)} notebooks ({', '.join(names) or 'none'}); "
                                               f"an otter export holds exactly one")
            return archive.read(names[0])
    except zipfile.BadZipFile as error:
        raise BadInput(NOT_A_NOTEBOOK, f"not a readable zip file ({error})") from None


def read_notebook(path: Path) -> nbformat.NotebookNode:
    """A submission's notebook, validated; BadInput with a plain reason when it is not a Jupyter notebook."""
    data = _notebook_bytes(path)
    text = data.decode("utf-8", errors="replace")
    if not text.lstrip().startswith("{"):
        first = text.strip().splitlines()[0][:60] if text.strip() else ""
        raise BadInput(NOT_A_NOTEBOOK, f"a plain text file, not a notebook (it starts {first!r}); "
                                       f"a notebook is JSON, saved by Jupyter" if first else "an empty file")
    try:
        json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(NOT_A_NOTEBOOK, f"corrupt JSON at line {error.lineno}, column {error.colno} ({error.msg}): "
                                       f"the file was cut short or edited outside Jupyter") from None
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as error:          # noqa: BLE001 - nbformat raises several kinds for a non-notebook
        raise BadInput(NOT_A_NOTEBOOK, f"JSON, but not a Jupyter notebook ({str(error).splitlines()[0][:120]})") \
            from None
    return nb


def which_notebook(nb: nbformat.NotebookNode, templates: dict[str, list[str]]) -> str:
    """The student notebook (stem) whose exercises ``nb``'s ``grader.check`` cells name; BadInput if none or a tie."""
    checked = set(autograder.exercises_checked(nb))
    overlap = {stem: len(checked & set(names)) for stem, names in templates.items()}
    best = max(overlap.values(), default=0)
    winners = [stem for stem, n in overlap.items() if n == best]
    if best == 0:
        raise BadInput(ANOTHER_NOTEBOOK, "no grader.check cell of it names an exercise of this course's student "
                                         "notebooks: a notebook of another assignment?")
    if len(winners) > 1:
        raise BadInput(ANOTHER_NOTEBOOK, f"it checks exercises of several notebooks ({', '.join(winners)})")
    return winners[0]


def for_grading(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The notebook with its stored outputs removed and each cell numbered (from 1) in its metadata."""
    for i, cell in enumerate(nb.cells, start=1):
        cell.metadata[CELL_KEY] = i
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return nb


# ----------------------------------------------------------------------------- running otter on one submission


def _failure_text(messages: list[str]) -> str:
    """The course's feedback in otter's failure message (after ``AssertionError: ``), else the message itself."""
    text = "\n".join(messages)
    return text.split("AssertionError: ", 1)[1].strip() if "AssertionError: " in text else text.strip()


def _cell_note(errors: list[dict]) -> str:
    return "; ".join(f"cell {e['cell']} raised {e['ename']}" + (f" ({e['evalue'][:80]})" if e["evalue"] else "")
                     for e in errors[:3]) + ("; ..." if len(errors) > 3 else "")


def _why_it_failed(error: str | None, workdir: Path) -> str:
    """A plain reason for an otter run that ended without results; the temporary folder's name left out."""
    if not error:
        return "otter returned no test results"
    if "DeadKernelError" in error or "Kernel died" in error:
        return "the kernel died while running the notebook (a cell called os._exit, or Python crashed)"
    if str(workdir) in error:
        error = re.sub(re.escape(str(workdir)) + r"[^'\"]*", "<grading folder>/...", error)
        return f"a cell deleted or changed otter's files around it ({error})"
    return error


def grade_one(submission: Submission, templates: dict[str, list[str]], zips: Path, timeout: float,
              fast: bool, graders: queue.Queue) -> Result:
    """Read, recognise and grade one submission in a fresh temporary folder; never raises for bad input."""
    result = Result(submission)
    if submission.path is None:
        result.status, result.reason = NOT_A_NOTEBOOK, "an empty folder: no .ipynb or .zip in it"
        return result
    try:
        nb = read_notebook(submission.path)
        result.notebook = which_notebook(nb, templates)
    except BadInput as bad:
        result.status, result.reason = bad.status, str(bad)
        return result
    workdir = Path(tempfile.mkdtemp(prefix="em2vae-grade-"))
    try:
        (workdir / "submission").mkdir()
        notebook = workdir / "submission" / f"{result.notebook}.ipynb"
        nbformat.write(for_grading(nb), notebook)
        grader = graders.get()
        try:
            found = grader.run(notebook, autograder.autograder_zip(result.notebook, zips), workdir, timeout, fast)
        except RuntimeError as error:            # the server died: this submission failed, a new server goes on
            grader.close()
            grader = Grader()
            found = {"tests": {}, "cell_errors": [], "error": str(error)}
        finally:
            graders.put(grader)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if found is None:
        result.status, result.reason = TIMED_OUT, f"still running after {timeout:g} s (a cell that never ends?); killed"
        return result
    notes = _cell_note(found["cell_errors"])
    if found["error"] or not found["tests"]:
        result.status, result.reason = FAILED, "; ".join(filter(None, [_why_it_failed(found["error"], workdir), notes]))
        return result
    for name in templates[result.notebook]:
        test = found["tests"].get(name, {"score": 0.0, "possible": 1.0, "passed": False,
                                         "messages": ["the autograder has no test of this exercise"]})
        result.points[name], result.possible[name] = test["score"], test["possible"]
        if not test["passed"]:
            result.feedback[name] = _failure_text(test["messages"])
    result.reason = f"{notes}; the other cells ran" if notes else ""
    return result


# ----------------------------------------------------------------------------- the class


def _progress(done: int, total: int, started: float, counts: dict[str, int]) -> None:
    """One line on stderr, redrawn: a bar, how many are done, by status, and the time left at this pace."""
    width, elapsed = 30, time.monotonic() - started
    bar = "#" * round(width * done / total) + "." * (width - round(width * done / total))
    left = elapsed / done * (total - done) if done else 0.0
    statuses = ", ".join(f"{n} {status}" for status, n in counts.items())
    line = f"[{bar}] {done}/{total} ({statuses}) {elapsed:4.0f} s, about {left:.0f} s left"
    end = "\r" if sys.stderr.isatty() and done < total else "\n"
    print(("\r" if sys.stderr.isatty() else "") + line, end=end, file=sys.stderr, flush=True)


def grade_all(submissions: list[Submission], *, zips: Path, jobs: int, timeout: float, fast: bool,
              progress: Callable[[int, int, float, dict[str, int]], None] | None = _progress) -> list[Result]:
    """Grade ``submissions`` ``jobs`` at a time; the results in the order of ``submissions``."""
    templates = {nb.stem: autograder.exercises_checked(nbformat.read(nb, as_version=4))
                 for nb in course_notebooks(STUDENT_DIR)}
    started, counts = time.monotonic(), {}
    results: dict[int, Result] = {}
    graders: queue.Queue = queue.Queue()
    for _ in range(jobs):
        graders.put(Grader())
    try:
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {pool.submit(grade_one, s, templates, zips, timeout, fast, graders): i
                       for i, s in enumerate(submissions)}
            for future in as_completed(futures):
                results[futures[future]] = result = future.result()
                counts[result.status] = counts.get(result.status, 0) + 1
                if progress is not None:
                    progress(len(results), len(submissions), started, counts)
    finally:
        while not graders.empty():
            graders.get().close()
    return [results[i] for i in range(len(submissions))]


def _refuse_output_folder(out: Path, inputs: list[Path]) -> None:
    """Exit with a clear message when ``out`` lies inside the course's notebooks, its data or the submissions."""
    out = out.resolve()
    for place in [COURSE_DIR, data_dir().resolve(), *(p.resolve() for p in inputs)]:
        if out == place or out.is_relative_to(place):
            raise SystemExit(f"course grade: refusing to write the grades into {out}: it is inside {place}, which "
                             f"grading leaves untouched; choose another --out (default: grades)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./course.sh grade", description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="+", type=Path, help="folders of submissions (a sub-folder per "
                        "student, or files named by student) or single .ipynb/.zip files")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="where grades.csv, feedback/, slips.csv "
                        "and slips.png go (default: grades)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions graded at once "
                        "(default: the number of cores)")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one submission may run before it is "
                        "killed and marked 'timed out' (default: 600)")
    parser.add_argument("--full", action="store_true", help="run the notebooks in full mode (default: fast mode; "
                        "the checks are the same in both)")
    parser.add_argument("--autograders", type=Path, default=autograder.AUTOGRADER_DIR, help="folder of the "
                        "autograder zips (default: build/autograder, made by ./course.sh student; built if missing)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.timeout <= 0:
        parser.error("--jobs must be 1 or more and --timeout positive")
    _refuse_output_folder(args.out, args.submissions)
    try:
        submissions = find_submissions(args.submissions)
    except FileNotFoundError as error:
        parser.error(str(error))
    if not submissions:
        parser.error(f"no .ipynb or .zip found under {', '.join(map(str, args.submissions))}")
    if autograder.stale(STUDENT_DIR, args.autograders):
        print(f"course grade: building the autograder zips into {args.autograders} (otter generate) ...",
              file=sys.stderr)
        autograder.build(STUDENT_DIR, args.autograders)
    started = time.monotonic()
    results = grade_all(submissions, zips=args.autograders, jobs=args.jobs, timeout=args.timeout,
                        fast=not args.full)
    class_report.write(results, args.out)
    print(class_report.summary(results, time.monotonic() - started, args.jobs, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
