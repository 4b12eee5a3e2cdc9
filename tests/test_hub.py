"""A class on a real JupyterHub: six students at once, each in their own home, through the hub's REST APIs.

The module starts JupyterHub (PyPI) with configurable-http-proxy (npm, installed by ``./course.sh setup``) on
127.0.0.1 at free ports (``hub/local_hub.py``), a shared password and SimpleLocalProcessSpawner. The course is a
local clone of this repository, served to nbgitpuller as a ``file://`` URL, and the pull links are the ones
``./course.sh hub-links`` prints. Six students, concurrently: log in, start a server, pull, edit a cell of
student notebook 01, run it top to bottom in a kernel on their server (fast mode) and save it. Then the checks
below, in order. Skipped with a loud message where Node.js or the proxy is missing.

nbgitpuller's rule on a course update (its docs' "automatic merging"; ``GitPuller.update`` in nbgitpuller 1.3.0):
a notebook the student deleted is checked out again from the course; the student's changes are committed and
the course's new commit merged with ``git merge -Xours``: hunks that touch different lines are both kept, and
where the student and the course changed the same lines the student's lines win and the course's change to
them is dropped, silently.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from helpers.paths import PROJECT_ROOT, STUDENT_DIR

ROOT = PROJECT_ROOT
sys.path.insert(0, str(ROOT))
from hub.local_hub import LocalHub, Refused, Student, clone_course, git, why_no_hub  # noqa: E402

STUDENTS = [f"student{i}" for i in range(1, 7)]
NOTEBOOK = "notebooks/student/01_em_gmm.ipynb"
DELETED = "notebooks/student/02_mean_field.ipynb"     # student1 deletes it before the course update
BRANCH = "course"
TITLE_CELL, EXERCISE_CELL = 0, 11                      # the title, and Exercise 1.1's `def lower_bound(...)`

WHY_NOT = why_no_hub()
if WHY_NOT:
    print(f"\n*** tests/test_hub.py SKIPPED: {WHY_NOT} ***\n", file=sys.stderr)
pytestmark = pytest.mark.skipif(WHY_NOT is not None, reason=f"NO JUPYTERHUB TEST: {WHY_NOT}")


def hub_links(hub_url: str, repo_url: str) -> dict[str, str]:
    """``./course.sh hub-links``'s output: notebook name -> link."""
    out = subprocess.run(["bash", str(ROOT / "course.sh"), "hub-links", hub_url, repo_url, BRANCH],
                         check=True, capture_output=True, text=True, env={**os.environ, "PYTHON": sys.executable})
    return dict(line.split("\t") for line in out.stdout.splitlines())


def first_line(cell: dict) -> str:
    return "".join(cell["source"]).splitlines()[0]


def with_first_line(cell: dict, line: str) -> None:
    cell["source"] = [line + "\n", *"".join(cell["source"]).splitlines(keepends=True)[1:]]


def on_disk(hub: LocalHub, name: str, path: str = NOTEBOOK) -> dict:
    return json.loads((hub.homes / name / "em2vae" / path).read_text())


def student_edit(name: str) -> str:
    return f"  # {name} was here"


def one_student_works(hub: LocalHub, name: str, link: str) -> Student:
    """Log in, start the server, pull the course, edit Exercise 1.1's cell, run the notebook, save it."""
    student = Student(hub, name).log_in()
    student.start_server()
    student.pull(link)
    path = f"em2vae/{NOTEBOOK}"
    notebook = student.read_notebook(path)
    cell = notebook["cells"][EXERCISE_CELL]
    with_first_line(cell, first_line(cell) + student_edit(name))
    student.save_notebook(path, student.run_notebook(path, notebook))
    return student


@pytest.fixture(scope="module")
def classroom(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hub")
    origin = clone_course(folder, BRANCH)
    hub = LocalHub(folder, environment={"EM2VAE_FAST": "1", "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"},
                   poll_interval_s=2)
    with hub:
        links = hub_links(hub.url, f"file://{origin}")
        with ThreadPoolExecutor(len(STUDENTS)) as pool:
            students = list(pool.map(lambda n: one_student_works(hub, n, links[Path(NOTEBOOK).name]), STUDENTS))
        yield hub, origin, links, dict(zip(STUDENTS, students, strict=True))


def test_the_links_open_each_student_notebook_in_the_students_own_copy(classroom):
    hub, origin, links, students = classroom
    page = students["student1"].http.get(links[Path(NOTEBOOK).name], timeout=120)   # as a click: the hub's redirects
    assert page.status_code == 200 and urlsplit(page.url).path == "/user/student1/git-pull"
    assert 'data-targetpath="em2vae"' in page.text and f'data-path="lab/tree/em2vae/{NOTEBOOK}"' in page.text
    assert list(links) == sorted(p.name for p in (STUDENT_DIR).glob("[0-9][0-9]_*.ipynb"))
    for name, link in links.items():
        assert link.startswith(f"{hub.url}/hub/user-redirect/git-pull?")
        params = dict(parse_qsl(urlsplit(link).query))
        assert params == {"repo": f"file://{origin}", "branch": BRANCH, "targetPath": "em2vae",
                          "urlpath": f"lab/tree/em2vae/notebooks/student/{name}"}


def test_each_student_ran_the_notebook_and_their_work_is_in_their_own_home(classroom):
    hub, _, _, students = classroom
    for name in students:
        notebook = on_disk(hub, name)
        code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
        assert all(c["execution_count"] for c in code), f"{name}: a cell did not run"
        assert any("fast mode" in json.dumps(c["outputs"]).lower() for c in code), f"{name}: not in fast mode"
        assert first_line(notebook["cells"][EXERCISE_CELL]).endswith(student_edit(name))
        others = [o for o in students if o != name]
        assert not any(student_edit(name) in json.dumps(on_disk(hub, o)) for o in others)
    assert sorted(p.name for p in hub.homes.iterdir()) == sorted(students)


def test_a_wrong_password_gets_a_refusal_and_no_server(classroom):
    hub, *_ = classroom
    with pytest.raises(Refused, match="HTTP 403"):
        Student(hub, "student1").log_in(password="not-the-password")
    with pytest.raises(Refused, match="HTTP 403"):
        Student(hub, "intruder").log_in(password="not-the-password")
    assert hub.admin("GET", "/users/intruder").status_code == 404
    assert not (hub.homes / "intruder").exists()


def test_a_students_token_is_refused_on_another_students_server(classroom):
    hub, origin, links, students = classroom
    a, b = students["student1"], students["student2"]
    assert a.server_api("GET", "/contents/em2vae").status_code == 200
    assert a.server_api("GET", "/contents/em2vae", owner="student2").status_code == 403
    assert a.server_api("POST", "/sessions", owner="student2",
                        json={"path": "x.ipynb", "type": "notebook", "kernel": {"name": "python3"}}).status_code == 403
    assert a.hub_api("DELETE", "/users/student2/server").status_code in (403, 404)
    pull_on_b = requests.get(f"{a.server_url('student2')}/git-pull/api", params={"repo": f"file://{origin}"},
                             headers={"Authorization": f"token {a.token}"}, timeout=60)
    assert pull_on_b.status_code == 403
    assert b.server_ready()
    a.token, mine = b.token, a.token       # and with B's own token the same call is allowed
    try:
        assert a.server_api("GET", "/contents/em2vae", owner="student2").status_code == 200
    finally:
        a.token = mine


def test_a_course_update_merges_keeps_every_students_edit_and_restores_a_deleted_notebook(classroom):
    hub, origin, links, students = classroom
    notebook_file = origin / NOTEBOOK
    course = json.loads(notebook_file.read_text())
    title, signature = first_line(course["cells"][TITLE_CELL]), first_line(course["cells"][EXERCISE_CELL])
    with_first_line(course["cells"][TITLE_CELL], title + " (updated)")                        # no student edited it
    with_first_line(course["cells"][EXERCISE_CELL], signature + "  # the course's change")  # every student edited it
    notebook_file.write_text(json.dumps(course, indent=1, ensure_ascii=False) + "\n")
    git("commit", "-q", "-am", "Course update", cwd=origin)
    students["student1"].delete(f"em2vae/{DELETED}")
    assert not (hub.homes / "student1" / "em2vae" / DELETED).exists()

    with ThreadPoolExecutor(len(students)) as pool:
        list(pool.map(lambda s: s.pull(links[Path(NOTEBOOK).name]), students.values()))

    for name in students:
        notebook = on_disk(hub, name)                                   # still a valid notebook after the merge
        assert first_line(notebook["cells"][TITLE_CELL]) == title + " (updated)", "the course's change is merged"
        assert first_line(notebook["cells"][EXERCISE_CELL]) == signature + student_edit(name), \
            "on the same line the student's edit wins (-Xours) and the course's change is dropped"
        assert all(c["execution_count"] for c in notebook["cells"] if c["cell_type"] == "code"), "outputs kept"
    restored = hub.homes / "student1" / "em2vae" / DELETED
    assert restored.exists() and json.loads(restored.read_text()) == json.loads((origin / DELETED).read_text())


def test_killing_one_server_leaves_the_hub_and_the_others_running_and_the_work_is_kept(classroom):
    hub, _, _, students = classroom
    victim = students["student6"]
    os.kill(hub.server_pid("student6"), signal.SIGKILL)
    hub.wait_until(lambda: not victim.server_ready(), "the hub to notice the dead server", timeout=120)
    assert hub.answers("/hub/api/")
    for name, student in students.items():
        if name != "student6":
            assert student.server_ready() and student.server_api("GET", "/status").status_code == 200, name
    victim.start_server()
    notebook = victim.read_notebook(f"em2vae/{NOTEBOOK}")
    assert first_line(notebook["cells"][EXERCISE_CELL]).endswith(student_edit("student6"))
    assert all(c["execution_count"] for c in notebook["cells"] if c["cell_type"] == "code")


def test_stopping_the_hub_ends_every_process_it_started(classroom):
    hub, *_ = classroom
    started = hub.processes()
    assert len(started) >= 1 + len(STUDENTS), "the proxy and six servers"
    killed = hub.stop()
    assert killed == [], f"processes outlived the hub's own shut-down and had to be killed: {killed}"
    import psutil

    assert not [pid for pid in started if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
