"""Shared pytest settings for the tests and the notebooks under nbval.

* nbval ignores stderr (TensorFlow's start-up notices), HTML reprs and widget views.
* Notebook kernels run in a scratch copy of their folder, so nothing a notebook writes while it runs
  (otter-grader's .OTTER_LOG, say) lands in notebooks/.
* The longest files start first (the browser test and the hub test, notebooks 05 to 01, course and student,
  then the unit tests that train or run otter), so that the two pytest-xdist workers of ``./course.sh test``
  (``--dist loadfile --no-loadscope-reorder``) finish together. Each file stays on one worker.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import nbval.plugin

from helpers.notebooks import course_notebooks
from helpers.paths import COURSE_DIR, STUDENT_DIR
from helpers.paths import PROJECT_ROOT as ROOT

FIRST_TEST_FILES = ["test_browser.py", "test_hub.py"]     # a few minutes each, before the notebooks
SLOW_TEST_FILES = ["test_grade_class.py", "test_vae.py", "test_student_notebooks.py"]


def pytest_collectstart(collector):
    if getattr(collector, "fspath", None) and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("text/html", "application/javascript", "stderr",
                                   "application/vnd.jupyter.widget-view+json")


# ----------------------------------------------------------------------------- kernels in a scratch copy

_SCRATCH: dict[Path, Path] = {}
_RunningKernel = nbval.plugin.RunningKernel


def _scratch_copy(folder: Path) -> Path:
    """A copy of a notebook folder (notebooks/ or notebooks/student/, with the student tests) in a temporary folder."""
    if folder not in _SCRATCH:
        root = Path(tempfile.mkdtemp(prefix="em2vae-nbval-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        copy = root / folder.name
        shutil.copytree(folder, copy, ignore=shutil.ignore_patterns(".OTTER_LOG", ".ipynb_checkpoints", "student"))
        _SCRATCH[folder] = copy
    return _SCRATCH[folder]


def _kernel_in_a_scratch_copy(kernel_name, cwd=None, **kwargs):
    if cwd is not None and Path(cwd).resolve() in (COURSE_DIR, STUDENT_DIR):
        cwd = str(_scratch_copy(Path(cwd).resolve()))
    return _RunningKernel(kernel_name, cwd=cwd, **kwargs)


nbval.plugin.RunningKernel = _kernel_in_a_scratch_copy


# ----------------------------------------------------------------------------- the longest files first

def _start_order() -> list[Path]:
    course, student = course_notebooks(COURSE_DIR)[::-1], course_notebooks(STUDENT_DIR)[::-1]
    notebooks = [p for pair in zip(course, student, strict=False) for p in pair]
    notebooks += [p for p in course + student if p not in notebooks]
    tests = ROOT / "tests"
    return [*(tests / name for name in FIRST_TEST_FILES), *notebooks, *(tests / name for name in SLOW_TEST_FILES)]


# ----------------------------------------------------------------------------- the quick tier

NOT_QUICK = {   # test files left out by --quick, and why
    "test_browser.py": "drives Chromium", "test_book.py": "builds the website and drives Chromium",
    "test_slides.py": "builds the slides and drives Chromium", "test_hub.py": "starts a JupyterHub",
    "test_grade_class.py": "grades notebooks with otter run", "test_student_notebooks.py": "runs otter assign",
    "test_train.py": "trains", "test_vae.py": "trains and evaluates on MNIST",
    "test_beyond.py": "evaluates trained models on MNIST", "test_course_script.py": "runs the set-up",
}


def pytest_addoption(parser):
    parser.addoption("--quick", action="store_true",
                     help="the quick tier: unit tests only, without " + "; ".join(
                         f"{name} ({why})" for name, why in NOT_QUICK.items()) + ", and no notebooks")


def _quick_selection(config, items):
    if not config.getoption("quick"):
        return items
    kept = [item for item in items if Path(item.path).suffix == ".py" and Path(item.path).name not in NOT_QUICK]
    kept_ids = {id(item) for item in kept}
    config.hook.pytest_deselected(items=[item for item in items if id(item) not in kept_ids])
    return kept


# ----------------------------------------------------------------------------- no notebook run twice

RUN_BY_TESTS = {STUDENT_DIR / name for name in ("01_em_gmm.ipynb", "02_mean_field.ipynb", "05_latent_space.ipynb")}


def pytest_ignore_collect(collection_path, config):
    """Blank student notebooks that tests/test_student_notebooks.py runs to the end (and filled in) already:
    nbval would only run them once more (a student notebook has no stored outputs to compare)."""
    if Path(collection_path).resolve() in RUN_BY_TESTS:
        return True
    return None


def pytest_generate_tests(metafunc):
    if "student_notebook" in metafunc.fixturenames:
        metafunc.parametrize("student_notebook", sorted(path.name for path in RUN_BY_TESTS))


def pytest_collection_modifyitems(session, config, items):
    items[:] = _quick_selection(config, items)
    rank = {path: i for i, path in enumerate(_start_order())}
    items.sort(key=lambda item: rank.get(Path(item.path).resolve(), len(rank)))    # stable: keeps cells in order
