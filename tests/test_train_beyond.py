"""scripts/train_beyond.sh (``./course.sh train-beyond``), run for real with a stand-in Python that logs its calls.

The stand-in answers the backend check, "trains" by logging its arguments and the backend it was given, and fails
the runs the test names; so a test sees which runs started, that a failure anywhere fails the command, and what is
installed, without TensorFlow.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

from helpers.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT

FAKE_PYTHON = r"""#!/usr/bin/env bash
if [ "$1" = -c ]; then                      # the backend check, the trained_by line, the provenance copy
    case "$2" in
        *json.dump*) printf '{"trained_by": "%s"}' "$4" > "$5" ;;
        *cpu_count*) echo 2 ;;
        *__version__*) echo 3.15.1 ;;
    esac
    exit 0
fi
echo "$* | KERAS_BACKEND=$KERAS_BACKEND" >> "$FAKE_LOG"
for fail in $FAKE_FAIL; do
    case " $* " in *" --out $fail "*) sleep 0.1; echo "boom" >&2; exit 3 ;; esac
done
sleep 0.3                                   # the failing run ends first: a bare `wait` would miss it
"""

MODELS = ["ae-mnist-2d", "vae-mnist-2d-beta0", "vae-mnist-2d-beta0.5", "vae-mnist-2d-beta1", "vae-mnist-2d-beta2",
          "vae-mnist-2d-beta4", "vae-mnist-2d-beta8", "vae-mnist-8d", "vae-mnist-32d"]


def run_script(tmp_path: Path, *args: str, fail: str = "") -> tuple[subprocess.CompletedProcess, list[str]]:
    python = tmp_path / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(python.stat().st_mode | stat.S_IEXEC)
    log = tmp_path / "calls.log"
    env = {**os.environ, "COURSE_PYTHON": str(python), "FAKE_LOG": str(log), "EM2VAE_DATA_DIR": str(tmp_path / "data"),
           "FAKE_FAIL": " ".join(str(tmp_path / "runs" / name) for name in fail.split())}
    result = subprocess.run(["bash", str(ROOT / "scripts" / "train_beyond.sh"), str(tmp_path / "runs"), *args],
                            env=env, capture_output=True, text=True, timeout=60)
    return result, log.read_text().splitlines() if log.exists() else []


def test_every_run_starts_on_the_pinned_backend_and_is_installed_with_its_provenance(tmp_path):
    result, calls = run_script(tmp_path, "--epochs", "2")
    assert result.returncode == 0, result.stderr
    trains = [c for c in calls if "--select" not in c]
    assert len(trains) == 9 + 6 and all("--epochs 2 " in c for c in trains)
    assert all(c.endswith("KERAS_BACKEND=tensorflow") for c in calls)
    assert any("--beta 0 --validation-images 5000" in c for c in trains)           # the beta = 0 control
    selects = [c for c in calls if "--select" in c]
    assert sorted(c.split("--out ")[1].split()[0] for c in selects) == sorted(
        str(tmp_path / "data" / name) for name in MODELS)
    assert all("--trained-by" in c for c in selects)
    copied = json.loads((tmp_path / "data" / "course-protocol" / "course-protocol-eps14-s2.json").read_text())
    assert "tensorflow backend" in copied["trained_by"]


def test_one_failed_run_fails_the_command_and_nothing_is_installed(tmp_path):
    result, calls = run_script(tmp_path, fail="vae-mnist-2d-beta4")
    assert result.returncode == 1
    assert "FAILED: vae-mnist-2d-beta4" in result.stderr and "nothing installed" in result.stderr
    assert not any("--select" in c for c in calls) and not (tmp_path / "data").exists()


def test_an_unknown_option_is_refused_before_anything_starts(tmp_path):
    result, calls = run_script(tmp_path, "--epoch", "2")
    assert result.returncode == 2 and "unknown option --epoch" in result.stderr and calls == []
