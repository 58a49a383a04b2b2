"""The VA explorer in a browser: Voila serves notebook 15, headless Chromium clicks the plane.

Needs Debian's ``chromium`` and Playwright for Python (``.ci/run`` installs chromium); skipped
with the reason otherwise. With ``AFFECT_EXPLORER_SCREENSHOTS`` set (``make explore-check``:
``reports``), the screenshots after a click and after a drawn path are saved there.
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from affect.explorer.plane import PlaneGeometry

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "15_va_explorer.ipynb"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
TOKEN = "affect-explorer-test"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium)"),
]
sync_playwright = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed"
).sync_playwright
pytest.importorskip("voila", reason="Voila is not installed (the explorer extra)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def voila(tmp_path):
    """Voila on a free local port with a token, serving notebook 15 at the smoke profile."""
    import papermill

    page = tmp_path / NOTEBOOK.name
    papermill.execute_notebook(
        str(NOTEBOOK), str(page), parameters=dict(profile="smoke", out_dir=str(tmp_path)), prepare_only=True
    )
    port = _free_port()
    environment = dict(os.environ, PYTHONPATH=str(ROOT), AFFECT_DATA=str(tmp_path / "data"))
    command = [sys.executable, "-m", "voila", page.name, "--no-browser", f"--port={port}", f"--token={TOKEN}",
               "--Voila.ip=127.0.0.1"]  # fmt: skip
    server = subprocess.Popen(command, cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/?token={TOKEN}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(10)


def _status(page) -> str:
    return page.locator(".affect-explorer-status").inner_text()


def test_a_click_in_the_negative_valence_half_changes_the_face_and_the_status(voila, tmp_path):
    shots = Path(os.environ.get("AFFECT_EXPLORER_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    geometry = PlaneGeometry()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(voila, timeout=90_000)
        page.wait_for_selector(".affect-explorer-status >> text=identity distance", timeout=90_000)
        face = page.locator("img.affect-explorer-face")
        before = face.screenshot()
        plane = page.locator(".affect-explorer-plane").first
        x, y = geometry.to_pixels(-0.55, 0.35)
        plane.click(position={"x": float(x), "y": float(y)})
        page.wait_for_function(
            "() => /valence -0\\.5.*identity distance \\d/.test("
            "document.querySelector('.affect-explorer-status').innerText)",
            timeout=30_000,
        )
        valence = float(re.search(r"valence ([+-]\d\.\d\d)", _status(page)).group(1))
        assert valence < 0
        assert face.screenshot() != before
        page.screenshot(path=str(shots / "explorer_click.png"))

        box = plane.bounding_box()
        stroke = [geometry.to_pixels(-0.6 + 0.06 * k, 0.5 - 0.05 * k) for k in range(21)]
        page.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        page.mouse.down()
        for px, py in stroke[1:]:
            page.mouse.move(box["x"] + px, box["y"] + py, steps=2)
        page.mouse.up()
        page.wait_for_function(
            "() => /valence \\+0\\.6.*identity distance \\d/.test("
            "document.querySelector('.affect-explorer-status').innerText)",
            timeout=30_000,
        )
        assert page.locator("text=export CSV").is_visible()
        page.screenshot(path=str(shots / "explorer_path.png"))
        browser.close()
