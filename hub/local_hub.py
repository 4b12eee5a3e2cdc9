"""A real JupyterHub on this machine, for tests/test_hub.py and benchmarks/bench_hub.py.

``LocalHub`` starts JupyterHub (PyPI's package) with its proxy, configurable-http-proxy (npm's package,
installed into ``hub/proxy`` by ``./course.sh setup``), on 127.0.0.1 at free ports; students log in with
one shared password (JupyterHub's ``shared-password`` authenticator) and each gets a server from
``SimpleLocalProcessSpawner`` whose home is ``HOMES/<name>``. ``Student`` is one student driving the hub
as the browser would, through its REST APIs only: log in, start a server, pull the course with
nbgitpuller, run a notebook in a kernel, save it.

Everything goes through the hub's public port (the proxy), with the student's own token, so the hub's
routing and authorization are what is tested.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import requests

from helpers.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
PROXY = ROOT / "hub" / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"
SINGLEUSER = Path(sys.executable).parent / "jupyterhub-singleuser"
PASSWORD = "em2vae-class-password"     # the shared password (the authenticator wants 8 or more characters)
START_TIMEOUT_S = 300                  # a server starts in seconds; on a loaded 2-core machine it can take minutes
CELL_TIMEOUT_S = 600


def why_no_hub() -> str | None:
    """Why a local hub cannot run here (a sentence saying what to install), or None when it can."""
    if shutil.which("node") is None:
        return "Node.js is not installed: JupyterHub's proxy (configurable-http-proxy) needs it. Install nodejs and npm"
    if not PROXY.exists():
        return (f"JupyterHub's proxy is not installed ({PROXY.relative_to(ROOT)} is missing): "
                "run ./course.sh setup, which installs it from npm (hub/proxy/package-lock.json)")
    if not SINGLEUSER.exists():
        return f"{SINGLEUSER} is missing: run ./course.sh setup (jupyterhub is in requirements.txt)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub_config(folder: Path, port: int, admin_token: str, environment: dict[str, str], poll_interval_s: float) -> str:
    """jupyterhub_config.py for a hub on 127.0.0.1:port, its state in ``folder``, the homes in ``folder/homes``."""
    singleuser_args = ["--allow-root"] if os.geteuid() == 0 else []   # as root the server refuses to start otherwise
    settings = {
        "JupyterHub.ip": "127.0.0.1", "JupyterHub.port": port,
        "JupyterHub.hub_ip": "127.0.0.1", "JupyterHub.hub_port": free_port(),
        "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{free_port()}",
        "ConfigurableHTTPProxy.command": [str(PROXY)],
        "JupyterHub.db_url": f"sqlite:///{folder / 'jupyterhub.sqlite'}",
        "JupyterHub.cookie_secret_file": str(folder / "jupyterhub_cookie_secret"),
        "JupyterHub.authenticator_class": "shared-password",
        "SharedPasswordAuthenticator.user_password": PASSWORD,
        "Authenticator.allow_all": True,
        "JupyterHub.spawner_class": "simple",
        "SimpleLocalProcessSpawner.home_dir_template": str(folder / "homes" / "{username}"),
        "Spawner.cmd": [str(SINGLEUSER)],
        "Spawner.args": singleuser_args,
        "Spawner.default_url": "/lab",
        "Spawner.environment": environment,
        "Spawner.start_timeout": START_TIMEOUT_S,
        "Spawner.http_timeout": START_TIMEOUT_S,
        "Spawner.poll_interval": poll_interval_s,
        "JupyterHub.services": [{"name": "course-admin", "api_token": admin_token}],
        "JupyterHub.load_roles": [{"name": "course-admin", "services": ["course-admin"],
                                   "scopes": ["admin:users", "admin:servers", "admin:server_state"]}],
    }
    lines = [f"c.{key} = {value!r}" for key, value in settings.items()]
    return "\n".join(["# written by hub/local_hub.py", *lines, ""])


@dataclass
class LocalHub:
    """A running JupyterHub with its proxy; ``stop()`` (or leaving the ``with`` block) ends every process it started."""

    folder: Path
    environment: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    admin_token: str = field(default_factory=lambda: secrets.token_hex(16))
    poll_interval_s: float = 30.0        # how often the hub checks that each server is still alive (its default)
    process: subprocess.Popen | None = None
    started_s: float = float("nan")      # seconds from launch until the hub answered through its proxy

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def homes(self) -> Path:
        return self.folder / "homes"

    def start(self) -> LocalHub:
        problem = why_no_hub()
        if problem:
            raise RuntimeError(problem)
        self.homes.mkdir(parents=True, exist_ok=True)
        config = self.folder / "jupyterhub_config.py"
        config.write_text(hub_config(self.folder, self.port, self.admin_token, self.environment,
                                      self.poll_interval_s))
        log = (self.folder / "jupyterhub.log").open("w")
        env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        began = time.monotonic()
        self.process = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(config)], cwd=self.folder,
                                        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_until(lambda: self.answers("/hub/api/"), "the hub to answer", timeout=START_TIMEOUT_S)
        self.started_s = time.monotonic() - began
        return self

    def answers(self, path: str) -> bool:
        try:
            return requests.get(self.url + path, timeout=5).ok
        except requests.RequestException:
            return False

    def wait_until(self, condition, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"the hub exited while waiting for {what}; see {self.folder / 'jupyterhub.log'}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"waited {timeout} s for {what}; see {self.folder / 'jupyterhub.log'}")
            time.sleep(0.25)

    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        """A call to the hub's REST API (``/hub/api`` + path) with the admin service's token."""
        return requests.request(method, f"{self.url}/hub/api{path}", timeout=60,
                                headers={"Authorization": f"token {self.admin_token}"}, **kwargs)

    def server_pid(self, name: str) -> int:
        """The process id of ``name``'s running server (the spawner's state, which only an admin may read)."""
        model = self.admin("GET", f"/users/{name}").json()
        return int(model["servers"][""]["state"]["pid"])

    def processes(self) -> list[int]:
        """Every live process this hub started: the proxy, the students' servers and their kernels."""
        import psutil

        try:
            return [p.pid for p in psutil.Process(self.process.pid).children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> list[int]:
        """Stop the hub (SIGTERM: it stops the proxy and every server), then kill whatever is left.

        Returns the processes that were still alive after the hub's own shut-down and had to be killed."""
        if self.process is None:
            return []
        import psutil

        started = [psutil.Process(pid) for pid in self.processes()]
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _, alive = psutil.wait_procs(started, timeout=10)
        for p in alive:
            p.kill()
        return [p.pid for p in alive]

    def __enter__(self) -> LocalHub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def git(*args: str, cwd: Path) -> str:
    """Run git in ``cwd`` as the course's instructor; return its output."""
    return subprocess.run(["git", "-c", "user.name=Instructor", "-c", "user.email=instructor@example.edu", *args],
                          cwd=cwd, check=True, capture_output=True, text=True).stdout


def clone_course(folder: Path, branch: str) -> Path:
    """The course as an instructor publishes it: this repository's committed HEAD, one commit deep, on ``branch``,
    in ``folder/em2vae`` (students pull it with a ``file://`` URL)."""
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        raise RuntimeError(f"{ROOT} is not a git checkout: the local hub serves the course from a clone of it")
    origin = folder / "em2vae"
    origin.mkdir()
    git("init", "-q", cwd=origin)
    git("fetch", "-q", "--depth", "1", f"file://{ROOT}", "HEAD", cwd=origin)
    git("checkout", "-q", "-b", branch, "FETCH_HEAD", cwd=origin)
    return origin


class Refused(Exception):
    """The hub or a server said no (403, 401, ...)."""


@dataclass
class Student:
    """One student driving a hub through its REST APIs, as the browser would."""

    hub: LocalHub
    name: str
    token: str = ""
    http: requests.Session = field(default_factory=requests.Session)

    # ------------------------------------------------------------------ the hub

    def log_in(self, password: str = PASSWORD) -> Student:
        """Log in with the login form, then ask the hub for an API token (like the hub's token page does)."""
        self.http.get(f"{self.hub.url}/hub/login", timeout=60)
        xsrf = self.http.cookies.get("_xsrf", "")
        answer = self.http.post(f"{self.hub.url}/hub/login", timeout=60, allow_redirects=False,
                                data={"username": self.name, "password": password, "_xsrf": xsrf})
        if answer.status_code != 302:
            raise Refused(f"login of {self.name}: HTTP {answer.status_code}")
        answer = self.http.post(f"{self.hub.url}/hub/api/users/{self.name}/tokens", timeout=60,
                                headers={"X-XSRFToken": self.http.cookies.get("_xsrf", xsrf)},
                                json={"note": "course", "expires_in": 3600})
        answer.raise_for_status()
        self.token = answer.json()["token"]
        return self

    def hub_api(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.hub.url}/hub/api{path}", timeout=60,
                                headers={"Authorization": f"token {self.token}"}, **kwargs)

    def start_server(self) -> float:
        """Start this student's server and wait until it is ready; return the seconds it took."""
        began = time.monotonic()
        answer = self.hub_api("POST", f"/users/{self.name}/server")
        if answer.status_code not in (201, 202, 400):     # 400: already running
            raise Refused(f"starting {self.name}'s server: HTTP {answer.status_code} {answer.text[:200]}")
        self.hub.wait_until(self.server_ready, f"{self.name}'s server", timeout=START_TIMEOUT_S)
        return time.monotonic() - began

    def server_ready(self) -> bool:
        server = self.hub_api("GET", f"/users/{self.name}").json().get("servers", {}).get("")
        return bool(server and server.get("ready"))

    # ------------------------------------------------------------------ the student's server

    def server_url(self, owner: str | None = None) -> str:
        return f"{self.hub.url}/user/{owner or self.name}"

    def server_api(self, method: str, path: str, owner: str | None = None, **kwargs) -> requests.Response:
        """A call to a server's REST API (``/user/<owner>/api`` + path) with this student's token."""
        return requests.request(method, f"{self.server_url(owner)}/api{path}", timeout=120,
                                headers={"Authorization": f"token {self.token}"}, **kwargs)

    def pull(self, link: str) -> list[str]:
        """Follow an nbgitpuller link as its page's JavaScript does: read the sync API's event stream to the end.

        Returns the lines of git output; raises RuntimeError with them when nbgitpuller reports an error."""
        params = dict(parse_qsl(urlsplit(link).query))
        query = {"repo": params["repo"], "branch": params["branch"], "targetpath": params["targetPath"]}
        output: list[str] = []
        with requests.get(f"{self.server_url()}/git-pull/api", params=query, stream=True, timeout=600,
                          headers={"Authorization": f"token {self.token}"}) as answer:
            if answer.status_code != 200:
                raise Refused(f"nbgitpuller for {self.name}: HTTP {answer.status_code}")
            for line in answer.iter_lines(decode_unicode=True):
                if not line or not line.startswith("data:"):
                    continue
                event = json.loads(line[len("data:"):])
                output.append(event.get("output", ""))
                if event.get("phase") == "finished":
                    return output
                if event.get("phase") == "error":
                    raise RuntimeError(f"nbgitpuller failed for {self.name}: {event.get('message')}\n"
                                       + "".join(output))
        raise RuntimeError(f"nbgitpuller's event stream for {self.name} ended without 'finished':\n" + "".join(output))

    def read_notebook(self, path: str) -> dict:
        answer = self.server_api("GET", f"/contents/{path}", params={"content": 1})
        answer.raise_for_status()
        return answer.json()["content"]

    def save_notebook(self, path: str, notebook: dict) -> None:
        answer = self.server_api("PUT", f"/contents/{path}",
                                 json={"type": "notebook", "format": "json", "content": notebook})
        answer.raise_for_status()

    def delete(self, path: str) -> None:
        self.server_api("DELETE", f"/contents/{path}").raise_for_status()

    def run_notebook(self, path: str, notebook: dict) -> dict:
        """Run every code cell of ``notebook`` (the file at ``path``) in a new kernel on this student's server.

        The kernel starts in the notebook's folder, as when the student opens it in JupyterLab; outputs and
        execution counts are put into the returned notebook. Raises RuntimeError naming the first cell that fails."""
        session = self.server_api("POST", "/sessions", json={"path": path, "type": "notebook", "name": "",
                                                             "kernel": {"name": "python3"}})
        session.raise_for_status()
        kernel_id = session.json()["kernel"]["id"]
        try:
            with KernelChannel(self, kernel_id) as kernel:
                for index, cell in enumerate(notebook["cells"]):
                    if cell["cell_type"] != "code":
                        continue
                    cell["outputs"], cell["execution_count"] = kernel.execute("".join(cell["source"]))
                    errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
                    if errors:
                        raise RuntimeError(f"{self.name}: cell {index} of {path} raised "
                                           f"{errors[0]['ename']}: {errors[0]['evalue']}")
        finally:
            self.server_api("DELETE", f"/sessions/{session.json()['id']}")
        return notebook


class KernelChannel:
    """The kernel's websocket on a student's server (Jupyter's messaging protocol, JSON frames)."""

    def __init__(self, student: Student, kernel_id: str):
        self.student, self.kernel_id, self.session = student, kernel_id, uuid.uuid4().hex

    def __enter__(self) -> KernelChannel:
        import websocket  # websocket-client, a dependency of jupyter_server

        url = self.student.server_url().replace("http://", "ws://") + f"/api/kernels/{self.kernel_id}/channels"
        self.socket = websocket.create_connection(url, timeout=CELL_TIMEOUT_S,
                                                  header=[f"Authorization: token {self.student.token}"])
        return self

    def __exit__(self, *exc) -> None:
        self.socket.close()

    def execute(self, code: str) -> tuple[list[dict], int | None]:
        """Run ``code``; return its outputs (nbformat's output dicts) and its execution count."""
        from nbformat.v4 import output_from_msg

        msg_id = uuid.uuid4().hex
        self.socket.send(json.dumps({
            "header": {"msg_id": msg_id, "username": self.student.name, "session": self.session,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        outputs: list[dict] = []
        count, idle, replied = None, False, False
        while not (idle and replied):
            frame = self.socket.recv()
            if isinstance(frame, bytes):     # a message with binary buffers (a widget's image): never an output
                continue
            msg = json.loads(frame)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "execute_reply":
                replied, count = True, msg["content"].get("execution_count")
            elif kind == "status":
                idle = msg["content"]["execution_state"] == "idle"
            elif kind in ("stream", "display_data", "execute_result", "error"):
                outputs.append(output_from_msg(msg))
        return outputs, count
