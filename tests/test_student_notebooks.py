"""The committed student notebooks are exactly what ``./course.sh student`` makes from the course notebooks today."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "notebooks" / "student"


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


def test_student_notebooks_hold_no_solutions(regenerated: Path) -> None:
    for path in sorted(regenerated.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        text = "\n".join(cell.source for cell in nb.cells)
        assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text, path.name
        assert "grader = otter.Notebook" in text, f"{path.name} does not initialise otter's grader"
        stubs = [c for c in nb.cells if c.cell_type == "code" and "..." in c.source and "def " in c.source]
        checks = [c for c in nb.cells if c.cell_type == "code" and "grader.check(" in c.source]
        assert stubs and len(stubs) == len(checks), f"{path.name}: {len(stubs)} stubs, {len(checks)} checks"


def test_a_stale_student_notebook_is_detected(regenerated: Path, tmp_path: Path) -> None:
    """The comparison above can fail: one changed character, a missing test file, an extra file."""
    copy = tmp_path / "student"
    shutil.copytree(regenerated, copy)
    target = copy / "01_em_gmm.ipynb"
    target.write_text(target.read_text().replace("E-step", "E step", 1))
    (copy / "tests" / "e_step.py").unlink()
    (copy / "extra.ipynb").write_text("{}")
    assert _stale(copy, regenerated) == ["01_em_gmm.ipynb", "extra.ipynb", "tests/e_step.py"]
