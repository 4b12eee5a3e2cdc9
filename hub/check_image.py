"""The last step of the hub image's build (hub/build-image.sh): is everything a student needs inside it?

Checks that MNIST is in ``data/`` and matches its sha256 (``helpers.data``), and that every shipped model
folder in ``data/`` holds its weights as a real HDF5 file (not a missing file or a Git LFS pointer), so that
no student's server downloads or trains anything at start-up. Exits 1 naming what is missing.

    python -m hub.check_image
"""

from __future__ import annotations

import sys
from pathlib import Path

from helpers import data

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def shipped_model_folders(data_dir: Path) -> list[Path]:
    """The model folders in ``data/``: each has a ``provenance.json`` written when it was trained."""
    return sorted(p.parent for p in data_dir.glob("*/provenance.json"))


def weights_problems(folder: Path) -> list[str]:
    """What is wrong with one model folder's weights (an empty list when nothing is)."""
    weights = sorted(folder.glob("*.weights.h5"))
    if not weights:
        return [f"{folder}: no *.weights.h5 file"]
    return [f"{w}: not an HDF5 file (a Git LFS pointer? run `git lfs pull`)"
            for w in weights if w.read_bytes()[:8] != HDF5_SIGNATURE]


def main() -> int:
    problems: list[str] = []
    try:
        data.load_mnist()                       # reads data/mnist.npz and checks every array's sha256
    except data.DataError as error:
        problems.append(str(error))
    folders = shipped_model_folders(data.data_dir())
    if not folders:
        problems.append(f"{data.data_dir()}: no shipped model folders (*/provenance.json)")
    for folder in folders:
        problems += weights_problems(folder)
    for problem in problems:
        print(f"check_image: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_image: MNIST verified (sha256), {len(folders)} shipped models present in {data.data_dir()}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
