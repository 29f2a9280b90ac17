"""Serving the classroom page: what loads before the address is printed."""

from __future__ import annotations

import json
import subprocess
import sys

from sim.app.server import address, bind

#: Heavy modules that load in the warm-up thread, after the address is printed.
LOADED_LATER = ("mesa", "pandas", "matplotlib", "networkx", "pydantic", "sim.model")


def test_the_command_line_and_the_server_module_load_no_model():
    code = (
        "import sys, json, sim.cli, sim.app.server, sim.app.spare; "
        f"print(json.dumps([m for m in {LOADED_LATER!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


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
