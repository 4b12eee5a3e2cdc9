"""Fixtures of the tests in this folder: one headless Chromium per real-browser test module, one website build
per test session (tests/test_book.py and tests/test_slides.py read the same one)."""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from website import build_book


@pytest.fixture(scope="session")
def book_site(tmp_path_factory) -> tuple[Path, Path]:
    """The course website built once (scripts/build_book.py, slides included): (html folder, staged sources)."""
    out = tmp_path_factory.mktemp("book")
    return build_book.build(out, quiet=True), out / "source"


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for a test module (Playwright drives Debian's package; never `playwright install`)."""
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
