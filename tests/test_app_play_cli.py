"""`python -m sim app --play/--replay`: bad arguments refused with a clear message before any
server starts; the join link of a network address."""

from __future__ import annotations

import pytest

from sim.app.play import join_address
from sim.cli import main


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (
            ["--play", "bakery_gluten_free"],
            r"--play/--start/--rate: scenario bakery_gluten_free "
            r"has no \[competition\]",
        ),
        (["--play", "bakery_town", "--start", "nope"], "start strategy 'nope'"),
        (["--play", "bakery_town", "--rate", "50"], "speed .* must be from 0.2 to 10"),
        (["--seed", "3"], "--seed: acts only with --play"),
        (["--rate", "2"], "--rate: acts only with --play"),
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
