"""What one student costs a hub: memory per notebook, the hub's start time, six students running notebook 01 at once.

    python benchmarks/bench_hub.py [--modes fast full] [--notebooks 01 02 03 05 06] [--hub-starts 3] [--class-size 6]
    ./course.sh bench hub ...

Everything runs on a real local JupyterHub (hub/local_hub.py: JupyterHub, configurable-http-proxy,
SimpleLocalProcessSpawner, on 127.0.0.1), driven through its REST APIs as in tests/test_hub.py.

* Hub start: seconds from launching ``jupyterhub`` until its API answers through the proxy (``--hub-starts`` rounds).
* Memory: for each mode and each student notebook, one student's freshly started server pulls the course and runs
  the notebook top to bottom in a new kernel; the peak, over the run, of the resident memory (RSS) of the server
  plus all its children (the kernel) is sampled every 0.2 s. Summing RSS counts shared libraries once per process,
  so it overstates a little: a safe figure for a memory limit. The hub and proxy's own RSS is reported apart.
* Class: ``--class-size`` students log in and start servers at once, pull at once, then run notebook 01 at once
  (fast mode); seconds for each phase, until the last student is done.
Prints a Markdown table for benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

from helpers.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT
sys.path.insert(0, str(ROOT))
from helpers.notebooks import STUDENT_DIR, course_notebooks  # noqa: E402
from hub.links import course_links  # noqa: E402
from hub.local_hub import LocalHub, Student, clone_course, why_no_hub  # noqa: E402

BRANCH = "course"
MODES = {"fast": {"EM2VAE_FAST": "1"}, "full": {}}
MB = 1024 * 1024


def tree_rss(pid: int) -> int:
    """Resident memory, in bytes, of a process and all its descendants."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in processes:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return total


class PeakMemory:
    """Samples ``tree_rss(pid)`` in a thread while the ``with`` block runs; ``.peak`` is the largest sample."""

    def __init__(self, pid: int, every_s: float = 0.2):
        self.pid, self.every_s, self.peak = pid, every_s, 0
        self._done = threading.Event()

    def _sample(self) -> None:
        while not self._done.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._done.wait(self.every_s)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def hub_rss(hub: LocalHub) -> int:
    """The hub's and the proxy's own memory (the hub process and its children that are not students' servers)."""
    hub_process = psutil.Process(hub.process.pid)
    proxy = [c for c in hub_process.children() if "configurable-http-proxy" in " ".join(c.cmdline())
             or "node" in c.name()]
    return hub_process.memory_info().rss + sum(p.memory_info().rss for p in proxy)


def hub_start_times(rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory(prefix="bench-hub-") as folder, LocalHub(Path(folder)) as hub:
            times.append(hub.started_s)
    return times


def notebook_memory(mode: str, notebooks: list[str]) -> dict[str, tuple[float, float, int]]:
    """For each notebook: (peak MB of server + kernel, seconds to run it, hub + proxy MB), one fresh server each."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as folder:
        origin = clone_course(Path(folder), BRANCH)
        with LocalHub(Path(folder), environment={**MODES[mode], "MPLBACKEND": "Agg"}) as hub:
            links = dict(zip([p.name for p in course_notebooks(STUDENT_DIR)],
                             course_links(hub.url, f"file://{origin}", BRANCH), strict=True))
            for number in notebooks:
                name = next(n for n in links if n.startswith(number))
                try:
                    results[name] = one_notebook(hub, Student(hub, f"mem{number}{mode}"), links[name], name)
                except (RuntimeError, TimeoutError) as error:      # say so and go on with the next notebook
                    print(f"  {mode} {name}: NOT MEASURED: {error}", flush=True)
                    continue
                print(f"  {mode} {name}: peak {results[name][0]:.0f} MB, {results[name][1]:.0f} s", flush=True)
    return results


def one_notebook(hub: LocalHub, student: Student, link: str, name: str) -> tuple[float, float, float]:
    """A fresh student runs one notebook: (peak MB of server + kernel, seconds, hub + proxy MB)."""
    student.log_in().start_server()
    student.pull(link)
    path = f"em2vae/notebooks/student/{name}"
    notebook = student.read_notebook(path)
    began = time.monotonic()
    with PeakMemory(hub.server_pid(student.name)) as memory:
        student.run_notebook(path, notebook)
    seconds = time.monotonic() - began
    hub_mb = hub_rss(hub) / MB
    student.hub_api("DELETE", f"/users/{student.name}/server")
    return memory.peak / MB, seconds, hub_mb


def class_run(size: int) -> dict[str, float]:
    """Seconds for ``size`` students at once to log in and start, to pull, and to run notebook 01 (fast mode)."""
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as folder:
        origin = clone_course(Path(folder), BRANCH)
        with LocalHub(Path(folder), environment={**MODES["fast"], "MPLBACKEND": "Agg"}) as hub:
            link = course_links(hub.url, f"file://{origin}", BRANCH)[0]
            students = [Student(hub, f"student{i}") for i in range(1, size + 1)]
            phases = {}
            with ThreadPoolExecutor(size) as pool:
                began = time.monotonic()
                list(pool.map(lambda s: s.log_in().start_server(), students))
                phases["log in + start servers"] = time.monotonic() - began
                began = time.monotonic()
                list(pool.map(lambda s: s.pull(link), students))
                phases["pull the course"] = time.monotonic() - began
                path = "em2vae/notebooks/student/01_em_gmm.ipynb"
                peak = PeakMemory(hub.process.pid, every_s=0.5)
                began = time.monotonic()
                with peak:
                    list(pool.map(lambda s: s.run_notebook(path, s.read_notebook(path)), students))
                phases["run notebook 01"] = time.monotonic() - began
                phases["peak MB, hub + proxy + all servers + kernels"] = peak.peak / MB
    return phases


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="*", default=["fast", "full"], choices=list(MODES))
    parser.add_argument("--notebooks", nargs="*", default=["01", "02", "03", "04", "05", "06"],
                        help="two-digit numbers (04 in full mode trains for about 11 minutes)")
    parser.add_argument("--hub-starts", type=int, default=3, help="0 to skip")
    parser.add_argument("--class-size", type=int, default=6, help="0 to skip the class run")
    args = parser.parse_args()
    problem = why_no_hub()
    if problem:
        print(f"bench_hub: {problem}", file=sys.stderr)
        return 2

    print(f"machine: {psutil.cpu_count()} CPUs, load average {psutil.getloadavg()[0]:.1f} at the start", flush=True)
    if args.hub_starts:
        starts = hub_start_times(args.hub_starts)
        print(f"hub start: median {statistics.median(starts):.1f} s (min {min(starts):.1f}, max {max(starts):.1f}, "
              f"{len(starts)} rounds)", flush=True)
    memory = {mode: notebook_memory(mode, args.notebooks) for mode in args.modes}
    if args.class_size:
        for phase, value in class_run(args.class_size).items():
            print(f"class of {args.class_size}: {phase}: {value:.1f}", flush=True)

    print("\n| notebook | " + " | ".join(f"{m}: peak MB (server + kernel) | {m}: run s" for m in args.modes) + " |")
    print("|---|" + "---|---|" * len(args.modes))
    for name in sorted({n for results in memory.values() for n in results}):
        cells = [f"{memory[m][name][0]:.0f} | {memory[m][name][1]:.0f}" if name in memory[m] else "- | -"
                 for m in args.modes]
        print(f"| {name} | " + " | ".join(cells) + " |")
    hub_mb = [v[2] for results in memory.values() for v in results.values()]
    if hub_mb:
        print(f"\nhub + proxy: {min(hub_mb):.0f}-{max(hub_mb):.0f} MB RSS")
    print(f"load average at the end: {psutil.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
