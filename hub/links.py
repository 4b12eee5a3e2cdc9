"""nbgitpuller links: one per student notebook, each opening it in the student's own copy of the course.

A link, in the format of nbgitpuller's own link generator (https://nbgitpuller.readthedocs.io/en/latest/link.html)::

    HUB/hub/user-redirect/git-pull?repo=REPO&urlpath=lab/tree/FOLDER/notebooks/student/NN_x.ipynb&branch=BRANCH&targetPath=FOLDER

Clicking it logs the student in, starts their server, clones REPO's BRANCH into ``~/FOLDER`` (the first time)
or merges the course's new commits into it (every later time, keeping the student's edits), then opens the
notebook in JupyterLab. FOLDER is the repository's name.

    python -m hub.links HUB_URL [REPO_URL] [BRANCH]       (./course.sh hub-links ...)
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from helpers.notebooks import PROJECT_ROOT, STUDENT_DIR, course_notebooks

DEFAULT_BRANCH = "main"


def folder_name(repo_url: str) -> str:
    """The folder a repository is cloned into: its last path part without ``.git`` (``a/em2vae.git``: ``em2vae``)."""
    path = urlsplit(repo_url).path if "://" in repo_url else repo_url.split(":", 1)[-1]   # git@host:owner/repo
    name = path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    if not name:
        raise ValueError(f"repository URL {repo_url!r} names no repository: give one like https://github.com/OWNER/REPO")
    return name


def pull_link(hub_url: str, repo_url: str, branch: str, notebook: str) -> str:
    """The nbgitpuller link that pulls ``repo_url``'s ``branch`` into the student's home and opens ``notebook``.

    ``notebook`` is a path inside the repository, e.g. ``notebooks/student/01_em_gmm.ipynb``."""
    if urlsplit(hub_url).scheme not in ("http", "https"):
        raise ValueError(f"hub URL {hub_url!r} must start with http:// or https://, e.g. https://hub.example.edu")
    folder = folder_name(repo_url)
    query = urlencode({"repo": repo_url, "urlpath": f"lab/tree/{folder}/{notebook}", "branch": branch,
                       "targetPath": folder})
    return f"{hub_url.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def course_links(hub_url: str, repo_url: str, branch: str = DEFAULT_BRANCH) -> list[str]:
    """One link per student notebook (``notebooks/student/NN_*.ipynb``), in the order of the series."""
    notebooks = [p.relative_to(PROJECT_ROOT).as_posix() for p in course_notebooks(STUDENT_DIR)]
    return [pull_link(hub_url, repo_url, branch, notebook) for notebook in notebooks]


def origin_url() -> str:
    """This checkout's ``origin`` remote, the default repository to link to."""
    result = subprocess.run(["git", "-C", str(PROJECT_ROOT), "remote", "get-url", "origin"],
                            capture_output=True, text=True)
    if result.returncode != 0 or not result.stdout.strip():
        raise ValueError("this checkout has no 'origin' remote: give the course's public repository, e.g. "
                         "./course.sh hub-links https://hub.example.edu https://github.com/OWNER/REPO")
    return result.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="./course.sh hub-links", description=__doc__.split("\n\n")[0])
    parser.add_argument("hub_url", help="the hub's address, e.g. https://hub.example.edu")
    parser.add_argument("repo_url", nargs="?", help="the course repository students pull (default: git's origin)")
    parser.add_argument("branch", nargs="?", default=DEFAULT_BRANCH, help=f"its branch (default: {DEFAULT_BRANCH})")
    args = parser.parse_args(argv)
    try:
        links = course_links(args.hub_url, args.repo_url or origin_url(), args.branch)
    except ValueError as error:
        print(f"hub-links: {error}", file=sys.stderr)
        return 2
    for notebook, link in zip(course_notebooks(STUDENT_DIR), links, strict=True):
        print(f"{Path(notebook).name}\t{link}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
