"""Notebook 05 in a real browser: JupyterLab, Notebook 7 and the Voila app, driven by Playwright.

Starts the servers on localhost, runs the notebook, moves the t1 slider with the mouse and
checks that the decoded digit's image changes and no error appears. Screenshots are saved in
test-artifacts/. Needs Chromium (Debian's package ``chromium``); skipped with a message otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
NOTEBOOK = "05_latent_space.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine: the real-browser test needs "
                                                "Debian's package 'chromium' (sudo apt-get install chromium)"),
]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--disable-quic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(cmd: list[str], url: str, log: Path, timeout: float = 90.0) -> subprocess.Popen:
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early, see {log}")
        try:
            urllib.request.urlopen(url, timeout=2)
            return proc
        except OSError:
            time.sleep(0.5)
    stop_server(proc)
    raise RuntimeError(f"server did not answer at {url} within {timeout} s, see {log}")


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


DONE_TEXT = "explorer ready"   # printed by notebook 05 right after it displays the explorer


def move_slider_and_check_image_changes(page, name: str, idle_selector: str | None = None) -> None:
    """Once every cell has run, click on the t1 slider's track and wait for the digit image to change."""
    try:
        page.get_by_text(DONE_TEXT).wait_for(timeout=240_000)
        if idle_selector:
            page.wait_for_selector(idle_selector, timeout=120_000)
        digit = page.locator("img.widget-image").first
        handle = page.locator(".widget-slider .noUi-handle").first
        track = page.locator(".widget-slider .noUi-target").first
        track.scroll_into_view_if_needed()
        before_src, before_value = digit.get_attribute("src"), float(handle.get_attribute("aria-valuenow"))
        box = track.bounding_box()
        page.mouse.click(box["x"] + 0.8 * box["width"], box["y"] + box["height"] / 2)   # t1 to 60% of its maximum
        page.wait_for_function("(old) => document.querySelector('img.widget-image').src !== old",
                               arg=before_src, timeout=30_000)
        assert float(handle.get_attribute("aria-valuenow")) > before_value
    finally:
        page.screenshot(path=str(ARTIFACTS / f"notebook05-{name}.png"), full_page=True)


@pytest.fixture(scope="module")
def jupyter_server(tmp_path_factory):
    """One Jupyter server on localhost serving notebooks/, with JupyterLab and Notebook 7."""
    port, token = free_port(), "em2vae-test"
    tmp = tmp_path_factory.mktemp("jupyter")
    args = ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--no-browser",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={ROOT / 'notebooks'}",
            f"--LabApp.user_settings_dir={tmp / 'settings'}", f"--LabApp.workspaces_dir={tmp / 'ws'}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--allow-root")
    server = start_server([str(BIN / "jupyter"), "lab", *args],
                          f"http://127.0.0.1:{port}/api/status?token={token}", ARTIFACTS / "jupyterlab.log")
    yield f"http://127.0.0.1:{port}", token
    stop_server(server)


def run_all_and_check(page, name: str) -> None:
    """Run every cell from the menu, move the slider, and check that no error output appears."""
    idle = '.jp-Notebook-ExecutionIndicator[data-status="idle"]'
    page.wait_for_selector(idle, timeout=120_000)
    page.locator('.lm-MenuBar-itemLabel:text-is("Run")').click()
    page.locator('.lm-Menu-itemLabel:text-is("Run All Cells")').click()
    move_slider_and_check_image_changes(page, name, idle_selector=idle)
    errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert errors.count() == 0, errors.first.inner_text()


@pytest.mark.parametrize("name, route", [("jupyterlab", "lab/tree"), ("notebook7", "notebooks")])
def test_notebook_05_runs_and_the_slider_redraws(browser, jupyter_server, name, route):
    url, token = jupyter_server
    page = browser.new_page(viewport={"width": 1500, "height": 1100})
    page.goto(f"{url}/{route}/{NOTEBOOK}?token={token}", timeout=120_000)
    run_all_and_check(page, name)
    page.close()


def test_voila_instructor_app_shows_the_explorer(browser):
    port = free_port()
    server = start_server([str(BIN / "voila"), f"notebooks/{NOTEBOOK}", f"--port={port}", "--no-browser",
                           "--Voila.ip=127.0.0.1"], f"http://127.0.0.1:{port}/", ARTIFACTS / "voila.log")
    try:
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(f"http://127.0.0.1:{port}/", timeout=180_000)
        move_slider_and_check_image_changes(page, "voila")
        assert "from helpers import" not in page.inner_text("body")    # an app: no code is shown
        assert page.locator("text=Traceback").count() == 0
        page.close()
    finally:
        stop_server(server)
