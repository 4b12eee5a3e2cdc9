"""course.sh's set-up and test command, run for real on a scratch copy with a stand-in Python that logs its calls.

The stand-in answers the version query, "creates" a virtual environment (a copy of itself and a stand-in ruff),
and logs every other call (pip, helpers.data, pytest) with the fast-mode variable, so a test can see what the
script did without installing anything.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from helpers.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT

FAKE_PYTHON = r"""#!/usr/bin/env bash
if [ "$1" = -c ]; then echo "${FAKE_VERSION:-3.11.9}"; exit 0; fi      # course.sh asks only for the version
if [ "$1 $2" = "-m venv" ]; then
    dir=${@: -1}
    echo "venv $*" >> "$FAKE_LOG"
    rm -rf "$dir" && mkdir -p "$dir/bin"
    cp "$0" "$dir/bin/python"
    printf '#!/usr/bin/env bash\necho "ruff $*" >> "$FAKE_LOG"\n' > "$dir/bin/ruff"
    chmod +x "$dir/bin/ruff"
    exit 0
fi
echo "python $* | EM2VAE_FAST=${EM2VAE_FAST:-}" >> "$FAKE_LOG"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for name in ("course.sh", "requirements.txt", "pyproject.toml"):
        shutil.copy2(ROOT / name, tmp_path / name)
    base = tmp_path / "base-python"
    base.write_text(FAKE_PYTHON)
    base.chmod(base.stat().st_mode | stat.S_IXUSR)
    return tmp_path


def course(project: Path, *args: str, version: str = "3.11.9") -> tuple[subprocess.CompletedProcess, list[str]]:
    log = project / "calls.log"
    log.unlink(missing_ok=True)
    env = {**os.environ, "PYTHON": str(project / "base-python"), "FAKE_LOG": str(log), "FAKE_VERSION": version}
    env.pop("EM2VAE_FAST", None)
    result = subprocess.run(["bash", str(project / "course.sh"), *args], env=env, capture_output=True, text=True,
                            timeout=60)
    return result, log.read_text().splitlines() if log.exists() else []


def installs(calls: list[str]) -> list[str]:
    return [c for c in calls if "-m pip install" in c]


def test_the_test_command_sets_up_lints_then_runs_every_test_in_fast_mode_on_two_workers(project):
    result, calls = course(project, "test", "-k", "gmm")
    assert result.returncode == 0, result.stderr
    assert calls[0].startswith("venv -m venv --clear") and len(installs(calls)) == 2
    ruff = calls.index("ruff check helpers tests notebooks benchmarks scripts conftest.py")
    pytest_call = next(c for c in calls if "-m pytest" in c)
    assert calls.index(pytest_call) > ruff
    args, env = pytest_call.split(" | ")
    assert env == "EM2VAE_FAST=1"
    assert args.startswith("python -m pytest tests notebooks --nbval-lax") and args.endswith("-k gmm")
    assert "-n 2 --dist loadfile --no-loadscope-reorder" in args


def test_set_up_is_skipped_when_nothing_changed_and_redone_when_the_requirements_change(project):
    course(project, "setup")
    _, calls = course(project, "setup")
    assert installs(calls) == [] and calls == ["python -m helpers.data fetch mnist | EM2VAE_FAST="]
    with (project / "requirements.txt").open("a") as f:
        f.write("extra==1.0\n")
    _, calls = course(project, "setup")
    assert len(installs(calls)) == 2


def test_a_venv_whose_python_broke_is_made_anew_and_installed_again(project):
    course(project, "setup")
    (project / ".venv" / "bin" / "python").unlink()          # e.g. the system Python it pointed to was removed
    result, calls = course(project, "setup")
    assert result.returncode == 0, result.stderr
    assert calls[0].startswith("venv -m venv --clear") and len(installs(calls)) == 2


def test_a_venv_whose_python_changed_version_is_installed_again(project):
    course(project, "setup", version="3.11.9")
    _, calls = course(project, "setup", version="3.12.1")
    assert len(installs(calls)) == 2 and not any(c.startswith("venv") for c in calls)


@pytest.mark.parametrize("version", ["3.10.14", "2.7.18"])
def test_an_old_python_is_refused_on_every_run_not_only_when_the_venv_is_made(project, version):
    result, calls = course(project, "setup", version=version)           # no venv yet: PYTHON is checked
    assert result.returncode == 1 and "Python 3.11 or newer is needed" in result.stderr and calls == []
    course(project, "setup")
    result, calls = course(project, "test", version=version)            # an existing venv with an old Python
    assert result.returncode == 1 and "Python 3.11 or newer is needed" in result.stderr
    assert not any("pytest" in c for c in calls)
