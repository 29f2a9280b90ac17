"""The classroom app in Debian's Chromium: shared by the browser test and the start benchmark."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: The live views, by CSS class: `.view-NAME` (a chart drawn by plotly.js, or an image).
VIEWS = ("over_time", "sailing", "departments")
#: The views drawn in the browser by plotly.js (`sim.app.charts`): all of them now.
CHARTS = VIEWS
#: True in the page once every view is drawn: a chart's SVG for the period it was sent (its
#: `data-period`), or an image loaded and decoded.
VIEWS_LOADED = """(views) => views.every((name) => {
  const chart = document.querySelector('.plotly-chart.view-' + name);
  if (chart) return chart.dataset.period !== undefined && !!chart.querySelector('.main-svg');
  const img = document.querySelector('img.view-' + name);
  return img && img.complete && img.naturalWidth > 0;
})"""


def start_app() -> tuple[subprocess.Popen, str]:
    """`python -m sim app --port 0` as a process, and the address it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    line = process.stdout.readline()
    if "http://127.0.0.1:" not in line:
        stop(process)
        raise RuntimeError(f"the app printed no address: {line + process.stdout.read()!r}")
    return process, line.split("open ", 1)[1].split()[0]


def wait_until_it_answers(process: subprocess.Popen, url: str, seconds: float = 60) -> None:
    """Poll ``url`` until the app's server answers 200; fail if it stops or takes too long."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                assert response.status == 200
                return
        except OSError:
            assert process.poll() is None, "the server stopped"
            assert time.monotonic() < deadline, "the server did not answer"
            time.sleep(0.05)


def stop(process: subprocess.Popen) -> str:
    """Stop the app; returns what it printed after its address."""
    process.terminate()
    try:
        out, _ = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        out, _ = process.communicate()
    return out or ""
