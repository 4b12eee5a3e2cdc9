"""Where a notebook's time goes: execute a temporary copy in a fresh kernel and print each code cell's seconds.

    python benchmarks/bench_notebook_cells.py [NOTEBOOK] [--fast]     (default notebooks/04_vae_mnist.ipynb, full mode)

The notebook itself is never written: nbclient runs a copy in memory with ``record_timing``, from the notebook's
folder, and each cell's time is its kernel-side execute_input -> execute_reply. Prints each code cell's time and the
total wall time (kernel start included). Target for notebook 04: <= 180 s in full mode and <= 30 s in fast mode on
a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from helpers.config import FAST_ENV
from helpers.notebooks import COURSE_DIR


def cell_seconds(cell: nbformat.NotebookNode) -> float:
    """A code cell's kernel-side execution time from nbclient's timing metadata."""
    stamps = cell.metadata["execution"]
    start, end = (datetime.fromisoformat(stamps[key].replace("Z", "+00:00"))
                  for key in ("iopub.execute_input", "shell.execute_reply"))
    return (end - start).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", nargs="?", type=Path, default=COURSE_DIR / "04_vae_mnist.ipynb")
    parser.add_argument("--fast", action="store_true", help=f"fast mode ({FAST_ENV}=1); default: full mode")
    args = parser.parse_args()
    if args.fast:
        os.environ[FAST_ENV] = "1"
    else:
        os.environ.pop(FAST_ENV, None)
    nb = nbformat.read(args.notebook, as_version=4)
    client = NotebookClient(nb, timeout=1800, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(args.notebook.resolve().parent)}})
    start = time.perf_counter()
    client.execute()
    total = time.perf_counter() - start
    code = [(i, cell) for i, cell in enumerate(nb.cells) if cell.cell_type == "code"]
    for i, cell in code:
        first_line = next((line for line in cell.source.splitlines() if not line.startswith("#")), "")
        print(f"cell {i:3d}  {cell_seconds(cell):7.1f} s  {first_line[:70]}")
    mode = "fast" if args.fast else "full"
    cells_total = sum(cell_seconds(cell) for _, cell in code)
    print(f"{args.notebook.name}, {mode} mode: {total:.1f} s in all (cells {cells_total:.1f} s)")


if __name__ == "__main__":
    main()
