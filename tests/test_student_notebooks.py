"""The committed student notebooks are exactly what ``./course.sh student`` makes from the course notebooks today."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import nbformat
import pytest

from helpers.notebooks import COURSE_DIR, PROJECT_ROOT, STUDENT_DIR, course_notebooks

ROOT = PROJECT_ROOT
COMMITTED = STUDENT_DIR
SOURCES = course_notebooks()


def _generator():
    script = ROOT / "scripts" / "make_student_notebooks.py"
    spec = importlib.util.spec_from_file_location("make_student_notebooks", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    generator = _generator()
    if not generator.OTTER.exists():
        pytest.fail(f"otter-grader is not installed ({generator.OTTER} missing): run ./course.sh setup")
    out = tmp_path_factory.mktemp("student")
    generator.generate(out)
    return out


RUN_TIME_FILES = {".OTTER_LOG"}      # written by grader.check while a student works; ignored by git


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")
                  if p.is_file() and p.name not in RUN_TIME_FILES and ".ipynb_checkpoints" not in p.parts)


def _stale(committed: Path, regenerated: Path) -> list[str]:
    """Files missing, extra or different in ``committed`` compared with ``regenerated``."""
    names = sorted(set(_files(committed)) | set(_files(regenerated)))
    return [name for name in names
            if not (committed / name).is_file() or not (regenerated / name).is_file()
            or (committed / name).read_bytes() != (regenerated / name).read_bytes()]


def test_student_notebooks_are_up_to_date(regenerated: Path) -> None:
    stale = _stale(COMMITTED, regenerated)
    assert not stale, f"notebooks/student/ is out of date with the course notebooks: {stale}; run ./course.sh student"


def test_an_exercise_named_unlike_the_students_function_is_refused() -> None:
    with pytest.raises(ValueError, match="named like the function the student writes"):
        _generator()._test_cell('exercises.check("e_step", responsibilities)')


def test_student_notebooks_hold_no_solutions(regenerated: Path) -> None:
    for path in sorted(regenerated.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(cell.source for cell in nb.cells)
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path.name
        assert "grader = otter.Notebook" in text, f"{path.name} does not initialise otter's grader"
        stubs = [c for c in nb.cells if c.cell_type == "code" and "..." in c.source and "def " in c.source]
        checks = [c for c in nb.cells if c.cell_type == "code" and "grader.check(" in c.source]
        assert stubs and len(stubs) == len(checks), f"{path.name}: {len(stubs)} stubs, {len(checks)} checks"


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """A scratch project folder with a copy of one source notebook, so a refusal that fails destroys nothing real."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    shutil.copy(SOURCES[0], folder / SOURCES[0].name)
    return folder


@pytest.mark.parametrize("out", [".", "..", "student/.."], ids=["notebooks", "its-parent", "dot-dot"])
def test_an_output_folder_holding_the_sources_is_refused_and_left_alone(course_copy: Path, out: str) -> None:
    """``--out notebooks`` (or a folder above it) would be emptied first: generate refuses before touching it."""
    generator = _generator()
    before = sorted(course_copy.parent.rglob("*"))
    with pytest.raises(generator.OutputFolderRefused, match="holds the source notebooks"):
        generator.generate(course_copy / out, sources=sorted(course_copy.glob("*.ipynb")))
    assert sorted(course_copy.parent.rglob("*")) == before


def test_an_output_folder_holding_other_files_is_refused_by_the_command(tmp_path: Path, capsys) -> None:
    generator = _generator()
    (tmp_path / "thesis.tex").write_text("years of work")
    (tmp_path / "01_em_gmm.ipynb").write_text("{}")              # what a previous run wrote may go
    with pytest.raises(SystemExit) as exit_info:
        generator.main(["--out", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "thesis.tex" in capsys.readouterr().err
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


# ----------------------------------------------------------------------------- the student's code runs the course



def _solutions(source: Path) -> list[str]:
    """The course notebook's answers, in order, without otter's solution markers."""
    nb = nbformat.read(source, as_version=4)
    return ["\n".join(line for line in cell.source.splitlines() if line.strip() not in ("# BEGIN SOLUTION",
                                                                                          "# END SOLUTION"))
            for cell in nb.cells if "exercise-solution" in cell.metadata.get("tags", [])]


def _run_student_copy(name: str, tmp_path: Path, filled: bool) -> str:
    """Run a copy of the committed student notebook (blanks as they are, or filled with the course's answers) in
    a fresh kernel (in fast mode: the tests set EM2VAE_FAST); return everything it printed."""
    from nbclient import NotebookClient
    folder = tmp_path / "student"
    shutil.copytree(COMMITTED, folder, ignore=shutil.ignore_patterns(".OTTER_LOG", "*.ipynb"))
    nb = nbformat.read(COMMITTED / name, as_version=4)
    answers = [cell for cell in nb.cells if "otter_answer_cell" in cell.metadata.get("tags", [])]
    solutions = _solutions(COURSE_DIR / name)
    assert len(answers) == len(solutions), f"{name}: {len(answers)} answer cells, {len(solutions)} solutions"
    if filled:
        for cell, solution in zip(answers, solutions, strict=True):
            cell.source = solution
    nbformat.write(nb, folder / name)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return "\n".join(output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
                     for cell in nb.cells if cell.cell_type == "code" for output in cell.get("outputs", []))


# student_notebook: 01, 02 and 05 (seconds each in fast mode), from conftest.py, where nbval leaves them to these tests

def test_a_student_notebook_filled_in_runs_on_the_students_functions(student_notebook: str, tmp_path: Path,
                                                                     monkeypatch) -> None:
    monkeypatch.setenv("EM2VAE_FAST", "1")
    printed = _run_student_copy(student_notebook, tmp_path, filled=True)
    used = printed.count("passes its check: the cells below use it.")
    assert used >= 1 and "the cells below use the course's instead" not in printed, printed
    assert "not implemented yet" not in printed and "not yet." not in printed
    assert "correct on all" in printed and "All test cases passed!" not in printed


def test_a_student_notebook_left_blank_runs_to_the_end_on_the_courses_functions(student_notebook: str, tmp_path: Path,
                                                                                monkeypatch) -> None:
    monkeypatch.setenv("EM2VAE_FAST", "1")
    printed = _run_student_copy(student_notebook, tmp_path, filled=False)
    fallbacks = printed.count("is not finished yet: the cells below use the course's instead.")
    assert fallbacks >= 1 and "passes its check" not in printed, printed
    assert "not implemented yet" in printed and "Error at line" not in printed and "Test case failed" not in printed
