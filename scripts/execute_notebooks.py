"""Execute notebooks top to bottom in a fresh kernel and save them with normalised metadata.

Usage: python scripts/execute_notebooks.py [NOTEBOOK ...]   (default: every course notebook, notebooks/NN_*.ipynb)

Run through ``./course.sh notebooks``, which sets up the environment and unsets fast mode, so the
committed outputs come from a full-mode run. Widget state and timing metadata are not stored.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from helpers.notebooks import course_notebooks

NOTEBOOK_METADATA = {
    "kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


KEPT_METADATA = ("rise",)      # the live slideshow's settings (theme, scrolling) that the course notebooks carry


def normalise(nb: nbformat.NotebookNode) -> None:
    """Keep only the kernelspec, language name and RISE's settings; drop per-cell execution timing and widget state."""
    kept = {key: nb.metadata[key] for key in KEPT_METADATA if key in nb.metadata}
    nb.metadata = nbformat.from_dict({**NOTEBOOK_METADATA, **kept})
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cell.metadata.pop("widgets", None)


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", store_widget_state=False,
                            record_timing=False, resources={"metadata": {"path": str(path.parent)}})
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    normalise(nb)
    nbformat.write(nb, path)
    return seconds


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or course_notebooks()
    for path in paths:
        print(f"executing {path.name} ...", flush=True)
        print(f"  {path.name}: {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
