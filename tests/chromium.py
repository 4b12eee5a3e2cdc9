"""What the real-browser tests share: Debian's Chromium, its flags, where screenshots go (fixture: conftest)."""

from __future__ import annotations

import shutil

from helpers.paths import TEST_ARTIFACTS

ARTIFACTS = TEST_ARTIFACTS
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]
