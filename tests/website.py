"""What the website's tests share: scripts/build_book.py imported as a module (fixture ``book_site``: conftest)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from helpers.paths import PROJECT_ROOT

ROOT = PROJECT_ROOT


def load_module(name: str, path: Path):
    """A script imported as a module, once."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module          # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


build_book = load_module("build_book", ROOT / "scripts" / "build_book.py")
