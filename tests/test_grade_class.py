"""``./course.sh grade`` on a synthetic class of notebook 01, built from the course's own answers and its catalogued
mistakes: blank, all right, two known slips, and every bad input the grader must survive (corrupt JSON, a text file,
another assignment, an empty folder, a cell that never ends, sys.exit, os._exit, KeyboardInterrupt, a cell that
vandalises the files around it, a notebook that redefines the checks to always pass and edits its stored outputs).
The rows of grades.csv and slips.csv are checked exactly; the submissions, data/ and notebooks/ are checksummed
before and after. Otter re-runs each notebook (fast mode, two at a time): this file takes a minute or two.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest

from helpers import autograder, class_report, grade_class
from helpers.exercises import EXERCISES
from helpers.paths import COURSE_DIR, STUDENT_DIR, data_dir

NAME = "01_em_gmm"
# the catalogue's keys for notebook 01's exercises, whatever they are named
LOWER_BOUND, E_STEP, M_STEP = autograder.exercises_checked(nbformat.read(STUDENT_DIR / f"{NAME}.ipynb", as_version=4))

# A student's code for two catalogued slips and one error the catalogue does not know.
SLIP_LOG_DET = '''def responsibilities(X, weights, means, covariances):
    log_det = np.linalg.slogdet(covariances)[1]
    log_joint = np.log(weights) + distributions.log_normal_full(X, means, covariances) + 0.5 * log_det[None, :]
    return np.exp(log_joint - distributions.logsumexp(log_joint, axis=1)[:, None])'''
SLIP_NO_FLOOR = '''def m_step_parameters(X, resp, reg_covar=1e-6):
    nk = resp.sum(axis=0)
    means = resp.T @ X / nk[:, None]
    covariances = np.stack([(resp[:, k, None] * (X - means[k])).T @ (X - means[k]) / nk[k] for k in range(len(nk))])
    return nk / len(X), means, covariances'''
UNNAMED_ERROR = '''def lower_bound(X, weights, means, covariances, resp):
    return 0.0'''
VANDAL = '''import shutil
from pathlib import Path

around = [Path(place).resolve() for place in (".", "..", "../..")]
for name in ["data", "notebooks", "submissions", "../data", "../../data", "../../../data", "../../../submissions"]:
    shutil.rmtree(around[0] / name, ignore_errors=True)
for place in around:
    for item in list(place.iterdir()) if place.is_dir() else []:
        if item.is_dir():
            shutil.rmtree(item, ignore_errors=True)
        else:
            item.write_text("vandalised")'''
CHEAT = '''import helpers.exercises
import helpers.grading


class Passed:
    passed, not_started, message = True, False, "correct on all inputs. Well done."


def always_passes(*args, **kwargs):
    return Passed()


helpers.exercises.check = helpers.exercises.assert_correct = helpers.grading.grade = always_passes
grader.check = always_passes'''


def slip(exercise: str, words: str) -> str:
    """The name of ``exercise``'s catalogued mistake whose hint says ``words``."""
    [mistake] = [m for m in EXERCISES[exercise].mistakes if words in m.hint]
    return class_report.outcome(exercise, False, mistake.hint)


def submission(answers: list[str | None] | None = None, bad_cells: tuple[str, ...] = (), trimmed: bool = False,
               outputs_look_passed: bool = False) -> nbformat.NotebookNode:
    """The student notebook with its answer cells filled (None: left blank), ``bad_cells`` after the imports, and,
    ``trimmed``, only the cells up to the imports and the exercises (a student may delete the rest)."""
    nb = autograder.filled_in(NAME, answers or [None] * 3)
    answer_cells = [c for c in nb.cells if "otter_answer_cell" in c.metadata.get("tags", [])]
    imports = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and "from helpers import" in c.source)
    if trimmed:
        exercise = [c for c in nb.cells[imports + 1:] if "exercise" in c.metadata or c in answer_cells
                    or "grader.check(" in c.source]
        nb.cells = nb.cells[:imports + 1] + exercise
    nb.cells[imports + 1:imports + 1] = [nbformat.v4.new_code_cell(source) for source in bad_cells]
    if outputs_look_passed:
        for i, cell in enumerate(c for c in nb.cells if "grader.check(" in c.source):
            cell.execution_count = i + 1
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="All test cases passed!\n")]
    return nb


def _hand_in(notebook: Path, student_id: str) -> Path:
    """Run the notebook's last cell (Hand in: otter's export) with ``student_id`` filled in; the zip it saves."""
    import contextlib

    import otter

    cell = nbformat.read(notebook, as_version=4).cells[-1].source
    with contextlib.chdir(notebook.parent), contextlib.redirect_stdout(None):
        exec(cell.replace('student_id = ""', f"student_id = {student_id!r}"), {"grader": otter.Notebook(notebook.name)})
    [exported] = notebook.parent.glob("*.zip")
    return exported


def _write(nb: nbformat.NotebookNode, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _checksums(*folders: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("autograder")
    autograder.build(STUDENT_DIR, out)
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory, zips: Path) -> tuple[Path, Path, dict, dict, str]:
    """The synthetic class graded by ``./course.sh grade``'s main: submissions, out, checksums before and after,
    what it printed."""
    root = tmp_path_factory.mktemp("class")
    subs = root / "submissions"
    right, blank = autograder.course_answers(NAME), None
    _write(submission(right), subs / "ada" / f"{NAME}.ipynb")                           # a folder per student
    _write(submission([blank] * 3), subs / f"{NAME}_bo.ipynb")
    cy = _write(submission([right[0], SLIP_LOG_DET, SLIP_NO_FLOOR]), root / "cy" / f"{NAME}.ipynb")
    shutil.move(_hand_in(cy, "cy"), subs)                                              # the zip of the Hand in cell
    _write(submission([UNNAMED_ERROR, SLIP_LOG_DET, right[2]], trimmed=True,
                      bad_cells=("import sys\nsys.exit(1)", "raise KeyboardInterrupt")), subs / f"{NAME}_dee.ipynb")
    _write(submission(right, trimmed=True, bad_cells=("import os\nos._exit(0)",)), subs / f"{NAME}_eli.ipynb")
    _write(submission(right, trimmed=True, bad_cells=(VANDAL,)), subs / f"{NAME}_fay.ipynb")
    _write(submission([blank] * 3, trimmed=True, bad_cells=(CHEAT,), outputs_look_passed=True),
           subs / f"{NAME}_gus.ipynb")
    text = nbformat.writes(submission(right))
    (subs / f"{NAME}_hal.ipynb").write_text(text[:len(text) // 2])                        # cut short
    (subs / f"{NAME}_ivy.ipynb").write_text("My answers are in the attached PDF.\n")
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('grader.check("q1")')])
    _write(other, subs / f"{NAME}_jo.ipynb")
    (subs / "kim").mkdir()
    before = _checksums(subs, data_dir(), COURSE_DIR)
    out = root / "grades"
    printed = _main(["--out", str(out), "--jobs", "2", "--autograders", str(zips), str(subs)])
    return subs, out, before, _checksums(subs, data_dir(), COURSE_DIR), printed


def _main(argv: list[str]) -> str:
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert grade_class.main(argv) == 0
    return buffer.getvalue()


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _row(student: str, points: tuple, status: str, reason: str, notebook: str = NAME) -> dict[str, str]:
    graded = status == "graded"
    cells = dict(zip([LOWER_BOUND, E_STEP, M_STEP], [str(p) for p in points] if graded else ["", "", ""],
                     strict=True))
    return {"student": student, "notebook": notebook, **cells, "total": str(sum(points)) if graded else "",
            "possible": "3" if graded else "", "status": status, "reason": reason}


def test_grades_csv_has_one_exact_row_per_submission(graded) -> None:
    subs, out, *_ = graded
    rows = _rows(out / "grades.csv")
    assert list(rows[0]) == ["student", "notebook", "file", LOWER_BOUND, E_STEP, M_STEP, "total", "possible",
                             "status", "reason"]
    files = {r["student"]: r.pop("file") for r in rows}
    assert files["ada"] == str(subs / "ada" / f"{NAME}.ipynb")
    text = nbformat.writes(submission(autograder.course_answers(NAME)))
    try:
        json.loads(text[:len(text) // 2])
    except json.JSONDecodeError as error:
        cut = f"corrupt JSON at line {error.lineno}, column {error.colno} ({error.msg}): the file was cut short or " \
              f"edited outside Jupyter"
    assert rows == [
        _row("ada", (1, 1, 1), "graded", ""),
        _row("bo", (0, 0, 0), "graded", ""),
        _row("cy", (1, 0, 0), "graded", ""),
        _row("dee", (0, 0, 1), "graded", "cell 5 raised SystemExit (1); cell 6 raised KeyboardInterrupt; "
                                         "the other cells ran"),
        _row("eli", (), "failed to run", "the kernel died while running the notebook (a cell called os._exit, "
                                         "or Python crashed)"),
        _row("fay", (), "failed to run", "a cell deleted or changed otter's files around it (FileNotFoundError: "
                                         "[Errno 2] No such file or directory: '<grading folder>/...')"),
        _row("gus", (0, 0, 0), "graded", ""),
        _row("hal", (), "not a notebook", cut, notebook=""),
        _row("ivy", (), "not a notebook", "a plain text file, not a notebook (it starts 'My answers are in the "
                                          "attached PDF.'); a notebook is JSON, saved by Jupyter", notebook=""),
        _row("jo", (), "another notebook", "no grader.check cell of it names an exercise of this course's student "
                                           "notebooks: a notebook of another assignment?", notebook=""),
        _row("kim", (), "not a notebook", "an empty folder: no .ipynb or .zip in it", notebook=""),
    ]


def test_the_hand_in_cell_saves_a_zip_named_by_the_student_with_the_notebook(tmp_path: Path) -> None:
    notebook = _write(submission(), tmp_path / f"{NAME}.ipynb")
    exported = _hand_in(notebook, "ada_lovelace")
    assert exported.name == f"{NAME}_ada_lovelace.zip"
    assert grade_class.student_of(exported.stem) == "ada_lovelace"
    with zipfile.ZipFile(exported) as archive:
        assert f"{NAME}.ipynb" in archive.namelist()
    banner = nbformat.read(STUDENT_DIR / f"{NAME}.ipynb", as_version=4).cells[1].source
    assert f"`{NAME}_<your id>.zip`" in banner and "Hand in that zip" in banner


def test_slips_csv_counts_each_outcome_of_each_exercise_exactly(graded) -> None:
    _, out, *_ = graded
    log_det, no_floor = slip(E_STEP, "log-determinant is missing"), slip(M_STEP, "covariance floor is missing")
    # graded: ada (right), bo (blank), cy (right, log-det, floor), dee (unnamed, log-det, right), gus (blank)
    counts = {LOWER_BOUND: {"passed": 2, "unnamed error": 1, "unfinished": 2},
              E_STEP: {"passed": 1, log_det: 2, "unfinished": 2},
              M_STEP: {"passed": 2, no_floor: 1, "unfinished": 2}}
    expected = [{"notebook": NAME, "exercise": exercise, "outcome": name,
                 "submissions": str(counts[exercise].get(name, 0)),
                 "percent": f"{100 * counts[exercise].get(name, 0) / 5:.1f}"}
                for exercise in (LOWER_BOUND, E_STEP, M_STEP) for name in class_report.outcomes_of(exercise)]
    assert _rows(out / "slips.csv") == expected


def test_feedback_is_the_text_each_student_saw_one_file_per_submission(graded) -> None:
    _, out, *_ = graded
    files = sorted(p.name for p in (out / "feedback").iterdir())
    assert files == [f"{s}_{NAME}.md" for s in ("ada", "bo", "cy", "dee", "eli", "fay", "gus")] + \
        [f"{s}_ungraded.md" for s in ("hal", "ivy", "jo", "kim")]
    cy = (out / "feedback" / f"cy_{NAME}.md").read_text()
    assert "Score: 1 / 3." in cy and EXERCISES[LOWER_BOUND].title not in cy
    for exercise, words in [(E_STEP, "log-determinant is missing"), (M_STEP, "covariance floor is missing")]:
        [mistake] = [m for m in EXERCISES[exercise].mistakes if words in m.hint]
        assert f"## {EXERCISES[exercise].title}: 0 / 1" in cy and mistake.hint in cy
        assert "On the input '" in cy                      # located: the input where it is furthest off
    assert "Every exercise passes its check" in (out / "feedback" / f"ada_{NAME}.md").read_text()
    assert "not implemented yet" in (out / "feedback" / f"gus_{NAME}.md").read_text()     # the cheat fails
    assert "Not graded: **not a notebook**" in (out / "feedback" / "kim_ungraded.md").read_text()


def test_grading_leaves_the_submissions_data_and_notebooks_unchanged(graded) -> None:
    _, out, before, after, _ = graded
    assert after == before
    assert (out / "slips.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_summary_fits_a_screen_and_names_the_most_common_slip(graded) -> None:
    printed = graded[-1]
    assert len(printed.splitlines()) <= 24
    assert "Graded 11 submissions" in printed and "5 graded" in printed and "3 not a notebook" in printed
    assert f"40% (2 of 5) of {NAME}'s graded submissions, {E_STEP}: {slip(E_STEP, 'log-determinant')}" in printed


def test_a_cell_that_never_ends_is_killed_at_the_timeout_and_the_batch_goes_on(tmp_path, zips) -> None:
    subs = tmp_path / "submissions"
    _write(submission(trimmed=True, bad_cells=("while True:\n    pass",)), subs / f"{NAME}_loop.ipynb")
    (subs / f"{NAME}_text.ipynb").write_text("not a notebook")
    _main(["--out", str(tmp_path / "out"), "--jobs", "2", "--timeout", "20", "--autograders", str(zips), str(subs)])
    rows = [(r["student"], r["status"], r["reason"]) for r in _rows(tmp_path / "out" / "grades.csv")]
    assert rows == [("loop", "timed out", "still running after 20 s (a cell that never ends?); killed"),
                    ("text", "not a notebook", "a plain text file, not a notebook (it starts 'not a notebook'); "
                                               "a notebook is JSON, saved by Jupyter")]


def test_the_autograder_zips_are_reproducible_and_hold_the_committed_tests(zips: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    autograder.build(STUDENT_DIR, again)
    for zip_path in sorted(zips.glob("*.zip")):
        assert (again / zip_path.name).read_bytes() == zip_path.read_bytes(), zip_path.name
    assert autograder.stale(STUDENT_DIR, zips) == []
    assert sorted(autograder.tests_in(autograder.autograder_zip(NAME, zips))) == \
        [f"tests/{name}.py" for name in sorted((LOWER_BOUND, E_STEP, M_STEP))]


# ----------------------------------------------------------------------------- quick: no notebook runs


def test_the_student_is_read_from_the_file_name_or_the_folder(tmp_path: Path) -> None:
    assert grade_class.student_of(f"{NAME}_ada_2026_12_06T05_00_00_000000") == "ada"
    assert grade_class.student_of(f"{NAME}_s123") == "s123" and grade_class.student_of("bo") == "bo"
    _write(submission(), tmp_path / "cy" / "work" / "mine.ipynb")
    assert [(s.student, s.path.name) for s in grade_class.find_submissions([tmp_path])] == [("cy", "mine.ipynb")]


def test_an_output_folder_inside_the_submissions_or_the_course_is_refused(tmp_path: Path) -> None:
    for out in [tmp_path / "grades", COURSE_DIR / "grades", data_dir() / "grades"]:
        with pytest.raises(SystemExit, match="refusing to write the grades"):
            grade_class.main(["--out", str(out), str(tmp_path)])
        assert not out.exists()


def test_every_catalogued_mistake_of_notebook_01_is_named_from_its_feedback() -> None:
    from helpers import exercises

    for exercise in (LOWER_BOUND, E_STEP, M_STEP):
        for mistake in EXERCISES[exercise].mistakes:
            feedback = exercises.check(exercise, mistake.answer)
            assert class_report.outcome(exercise, False, feedback.message) == slip(exercise, mistake.hint)
