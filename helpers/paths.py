"""The project's folders, in one place.

``PROJECT_ROOT`` is the checkout (the folder above ``helpers/``). The data folder is ``data/`` in it,
unless the environment variable ``EM2VAE_DATA_DIR`` names another (for a read-only checkout, or one
shared copy of MNIST): always ask :func:`data_dir`, never build ``PROJECT_ROOT / "data"`` by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["COURSE_DIR", "DATA_DIR_ENV", "PROJECT_ROOT", "STUDENT_DIR", "TEST_ARTIFACTS", "data_dir"]

PROJECT_ROOT = Path(__file__).resolve().parents[1]
COURSE_DIR = PROJECT_ROOT / "notebooks"
STUDENT_DIR = COURSE_DIR / "student"
TEST_ARTIFACTS = PROJECT_ROOT / "test-artifacts"     # screenshots and other files the tests leave to look at
DATA_DIR_ENV = "EM2VAE_DATA_DIR"


def data_dir() -> Path:
    """The data folder: ``$EM2VAE_DATA_DIR`` when set, else ``data/`` in the project."""
    return Path(os.environ.get(DATA_DIR_ENV, PROJECT_ROOT / "data"))
