"""Serving the classroom page: what loads before the address is printed."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request

from sim.app.page import WIDTH_COOKIE
from sim.app.server import PLOTLY_JS, PLOTLY_URL, address, bind
from tests.browser import start_app, stop, wait_until_it_answers

#: Heavy modules that load in the warm-up thread, after the address is printed.
LOADED_LATER = ("mesa", "pandas", "matplotlib", "networkx", "pydantic", "sim.model")


def test_the_command_line_and_the_server_module_load_no_model():
    code = (
        "import sys, json, sim.cli, sim.app.server, sim.app.spare; "
        f"print(json.dumps([m for m in {LOADED_LATER!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_the_first_screen_needs_no_matplotlib():
    """The page and its first screen (every chart drawn ahead) load no matplotlib: it comes
    with the first export or slide (0.3 s of the start, in the warm-up thread)."""
    code = (
        "import sys, sim.app.page; from sim.app import spare; spare.prepare(); "
        "print(sorted(m for m in ('matplotlib', 'PIL.Image') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def test_no_garbage_collection_until_the_first_screen_is_ready():
    """The server starts with the garbage collector off (collecting while the start made its
    lasting objects took 10% of its CPU) and turns it on once the warm-up thread is done,
    with the objects made so far frozen; Mesa's logger still gets its module's name (its
    `inspect.stack()` read without source lines meanwhile)."""
    code = (
        "import gc, inspect, threading\n"
        "from sim.app import server\n"
        "stack = inspect.stack\n"
        "def announce(url):\n"
        "    print(gc.isenabled(), flush=True)\n"
        "    for thread in threading.enumerate():\n"
        "        if thread.name == 'spare-screen':\n"
        "            thread.join()\n"
        "    from mesa.mesa_logging import _module_loggers\n"
        "    print(gc.isenabled(), gc.get_freeze_count() > 0, 'mesa.model' in _module_loggers,\n"
        "          inspect.stack is stack, flush=True)\n"
        "    raise SystemExit(0)\n"
        "server.serve('127.0.0.1', 0, announce=announce)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.split() == ["False", "True", "True", "True", "True"], out.stdout + out.stderr


def test_bind_gives_a_listening_socket_and_its_address():
    sock = bind("127.0.0.1", 0)
    try:
        url = address(sock)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/")
        assert int(url.rsplit(":", 1)[1].rstrip("/")) > 0
    finally:
        sock.close()


def test_an_empty_host_is_refused_and_a_network_one_warned_about(capsys):
    from sim.app.server import check_host
    from sim.cli import main

    assert main(["app", "--host", "", "--port", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith("error: --host: an empty address")
    assert check_host("127.0.0.1") is None and check_host("localhost") is None
    assert "other computers on the network can open the page" in check_host("0.0.0.0")


def _get(url: str) -> tuple[bytes, dict[str, str]]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read(), {k.lower(): v for k, v in response.headers.items()}


def test_the_page_asks_for_plotly_early_and_this_computer_gets_it_uncompressed():
    """The page's head (sim/app/templates) is the one served: it leaves the window's width
    in a cookie, preloads plotly.js and runs it once the page has asked for the app; on
    localhost nothing is gzipped (no network to save, and compressing 9 MB of scripts cost
    the server 0.3 s of CPU)."""
    process, url = start_app()
    try:
        wait_until_it_answers(process, url)
        page, headers = _get(url)
        assert "content-encoding" not in headers, headers
        text = page.decode()
        assert f'<link rel="preload" href="{PLOTLY_URL}" as="script">' in text
        assert f'document.cookie = "{WIDTH_COOKIE}=" + window.innerWidth' in text
        assert f'const src = "{PLOTLY_URL}";' in text and '"method":"run"' in text
        script, headers = _get(url.rstrip("/") + PLOTLY_URL)
        assert "content-encoding" not in headers, headers
        assert script == PLOTLY_JS.read_bytes()
        assert script.startswith(b"/**\n* plotly.js (scatter and heatmap - minified) v")
    finally:
        stop(process)
