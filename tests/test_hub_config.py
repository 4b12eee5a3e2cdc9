"""The hub's files, without a hub: the Zero to JupyterHub values, the links, the image's build and its check.

Kubernetes and Docker cannot run on the course's machines, so the values are parsed and checked for the keys
a class needs, never deployed; tests/test_hub.py runs the same pieces under a real local JupyterHub.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml

from helpers.paths import PROJECT_ROOT, STUDENT_DIR, data_dir

ROOT = PROJECT_ROOT
sys.path.insert(0, str(ROOT))
from hub import check_image, links  # noqa: E402

VALUES = yaml.safe_load((ROOT / "hub" / "z2jh-values.yaml").read_text())
UNITS = {"K": 2**10, "M": 2**20, "G": 2**30, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}


def megabytes(size: str) -> float:
    """A Kubernetes/KubeSpawner size such as '1G' or '512M', in MB."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|K|M|G)", str(size))
    assert match, f"{size!r} is not a size like 512M or 2G"
    return float(match[1]) * UNITS[match[2]] / 2**20


def test_the_values_give_each_student_measured_memory_and_cpu():
    memory, cpu = VALUES["singleuser"]["memory"], VALUES["singleuser"]["cpu"]
    assert 0 < megabytes(memory["guarantee"]) <= megabytes(memory["limit"])
    assert 0 < float(cpu["guarantee"]) <= float(cpu["limit"])
    comment = (ROOT / "hub" / "z2jh-values.yaml").read_text()
    assert "benchmarks/bench_hub.py" in comment, "the sizes name the measurement they come from"
    measured = re.search(r"at most[\s#]+(\d+) MB", comment)
    assert measured and megabytes(memory["limit"]) >= float(measured[1]), "the limit covers the measured peak"


def test_the_values_open_lab_cull_idle_servers_and_pull_the_course_at_start():
    single = VALUES["singleuser"]
    assert {"name", "tag"} <= set(single["image"])
    assert single["defaultUrl"] == "/lab"
    assert VALUES["cull"]["enabled"] is True and VALUES["cull"]["timeout"] > 0 and VALUES["cull"]["every"] > 0
    command = single["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert command[0] == "gitpuller" and len(command) == 4
    _, repo, branch, folder = command
    assert folder == links.folder_name(repo), "the start-up pull and the links must use the same folder"
    assert branch == links.DEFAULT_BRANCH


def course_sh(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(ROOT / "course.sh"), *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHON": sys.executable})


def test_hub_links_prints_one_link_per_student_notebook_opening_it_in_the_students_copy():
    result = course_sh("hub-links", "https://hub.example.edu/", "https://github.com/owner/em2vae.git", "spring")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    students = sorted(p.name for p in (STUDENT_DIR).glob("[0-9][0-9]_*.ipynb"))
    assert [name for name, _ in rows] == students and len(students) >= 6
    for name, link in rows:
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://hub.example.edu/hub/user-redirect/git-pull"
        assert dict(parse_qsl(parts.query)) == {
            "repo": "https://github.com/owner/em2vae.git", "branch": "spring", "targetPath": "em2vae",
            "urlpath": f"lab/tree/em2vae/notebooks/student/{name}"}


@pytest.mark.parametrize("args, message", [
    (["hub.example.edu", "https://github.com/o/r"], "must start with http:// or https://"),
    (["https://hub.example.edu", "https://github.com/"], "names no repository"),
])
def test_hub_links_says_what_is_wrong_with_bad_input(args, message):
    result = course_sh("hub-links", *args)
    assert result.returncode == 2 and message in result.stderr and result.stdout == ""


def test_the_image_check_passes_here_and_catches_a_missing_or_pointer_weights_file(tmp_path):
    assert check_image.main() == 0
    (tmp_path / "empty").mkdir()
    assert "no *.weights.h5" in check_image.weights_problems(tmp_path / "empty")[0]
    pointer = tmp_path / "lfs"
    pointer.mkdir()
    (pointer / "vae.weights.h5").write_text("version https://git-lfs.github.com/spec/v1\n")
    assert "not an HDF5 file" in check_image.weights_problems(pointer)[0]
    shipped = check_image.shipped_model_folders(data_dir())
    assert data_dir() / "vae-mnist-2d" in shipped
    assert all(check_image.weights_problems(folder) == [] for folder in shipped)


def test_the_image_is_binders_with_the_course_outside_the_home_and_checked_at_the_end():
    script = ROOT / "hub" / "build-image.sh"
    assert script.stat().st_mode & 0o111, "hub/build-image.sh must be executable"
    text = script.read_text()
    assert "jupyter-repo2docker" in text and "--target-repo-dir /srv/em2vae" in text
    assert "python -m hub.check_image" in text
    pinned = (ROOT / "requirements.txt").read_text()
    assert re.search(r"^jupyterhub==", pinned, re.M) and re.search(r"^nbgitpuller==", pinned, re.M)
    assert (ROOT / "binder" / "requirements.txt").read_text().strip().endswith("-r ../requirements.txt")
