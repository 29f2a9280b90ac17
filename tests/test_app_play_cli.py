"""`python -m sim app --play/--replay`: bad arguments refused with a clear message before any
server starts; the join link of a network address and its QR code."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sim.app.play import join_address, join_qr
from sim.cli import main


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["--play", "bakery_gluten_free"],
            r"--play/--start/--rate/--house: scenario bakery_gluten_free "
            r"has no \[competition\]",
        ),
        (["--play", "bakery_town", "--start", "nope"], "start strategy 'nope'"),
        (["--play", "bakery_town", "--rate", "50"], "speed .* must be from 0.2 to 10"),
        (["--seed", "3"], "--seed: acts only with --play"),
        (["--rate", "2"], "--rate: acts only with --play"),
        (["--house", "0"], "--house: acts only with --play"),
        (["--sessions", "x"], "--sessions: acts only with --play"),
        (["--play", "bakery_town", "--house", "-1"], "house seats: expected a whole number"),
        (["--play", "bakery_town", "--replay", "x.json"], "--replay: give --play or --replay"),
        (["--replay", "no_such_session.json"], "not a readable session file"),
    ],
)
def test_bad_play_arguments_are_refused(capsys, argv, words):
    assert main(["app", "--port", "0", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ")
    assert __import__("re").search(words, err), err


def test_the_join_link_names_the_network_address_when_the_network_may_join():
    assert join_address("127.0.0.1", 8765) == ("http://127.0.0.1:8765/", False)
    url, network = join_address("0.0.0.0", 8765)
    assert url.startswith("http://") and url.endswith(":8765/")
    assert network == ("127." not in url)


def _svg_modules(svg: str) -> np.ndarray:
    """The dark modules of segno's SVG (one path of horizontal runs: ``M x y``, ``m dx dy``,
    ``h n``; a run at y + 0.5 covers row y), as a 0/1 matrix with its quiet zone."""
    size = int(re.search(r'd="M0 0h(\d+)v', svg).group(1))
    path = re.search(r'class="qrline"[^>]* d="([^"]+)"', svg).group(1)
    grid = np.zeros((size, size), dtype=np.uint8)
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            grid[int(y), int(x) : int(x + float(a))] = 1
            x += float(a)
    return grid


@pytest.mark.parametrize("url", ["http://192.168.1.23:8765/", "http://[fe80::1]:8765/"])
def test_the_join_qr_code_on_the_teachers_page_reads_as_the_join_link(url):
    import segno
    import zxingcpp

    grid = _svg_modules(join_qr(url))
    assert grid[4:-4, 4:-4].tolist() == [list(r) for r in segno.make(url, error="m").matrix]
    image = np.kron(1 - grid, np.ones((8, 8), dtype=np.uint8)) * 255
    (read,) = zxingcpp.read_barcodes(image)
    assert read.text == url
    # a negative control: another address reads as itself, not as this one
    other = _svg_modules(join_qr(url.replace("8765", "8766")))
    (read,) = zxingcpp.read_barcodes(np.kron(1 - other, np.ones((8, 8), dtype=np.uint8)) * 255)
    assert read.text != url
