"""`python -m sim figure` (slides) and `python -m sim app` (its options and bad input)."""

from __future__ import annotations

import socket

import pytest
from PIL import Image

from sim.cli import EXIT_BAD_INPUT, main


def test_sailing_in_circles_writes_a_png_and_an_animated_gif(tmp_path, capsys):
    out = tmp_path / "slides"
    code = main(["figure", "sailing-in-circles", "bakery_gluten_free", "--out", str(out)])
    assert code == 0
    png = out / "bakery_gluten_free_sailing_in_circles.png"
    gif = out / "bakery_gluten_free_sailing_in_circles.gif"
    assert f"wrote {png}" in capsys.readouterr().out
    with Image.open(png) as still:
        assert still.size == (1280, 720)  # 16:9, for a projector
    with Image.open(gif) as moving:
        assert moving.size == (1280, 720)
        assert moving.n_frames >= 40  # the trajectories grow period by period
        moving.seek(0)
        first = moving.convert("RGB").tobytes()
        moving.seek(moving.n_frames - 1)
        last = moving.convert("RGB").tobytes()
        assert first != last


def test_the_png_alone_and_other_strategies(tmp_path):
    out = tmp_path / "png"
    args = ["figure", "sailing-in-circles", "boutique_online", "--out", str(out), "--no-gif"]
    args += ["--strategy", "aligned", "--strategy", "aligned", "--seed", "3"]
    assert main(args) == 0
    assert [p.name for p in out.iterdir()] == ["boutique_online_sailing_in_circles.png"]


def test_decisions_writes_the_timeline_of_one_seed(tmp_path, capsys):
    out = tmp_path / "figures"
    code = main(["figure", "decisions", "bakery_gluten_free", "--seed", "3", "--out", str(out)])
    assert code == 0
    png = out / "bakery_gluten_free_decisions_seed3.png"
    assert f"wrote {png}" in capsys.readouterr().out
    with Image.open(png) as image:
        wide = image.size
    one = ["--strategy", "aligned", "--seed", "3", "--out", str(tmp_path / "one")]
    assert main(["figure", "decisions", "bakery_gluten_free", *one]) == 0
    with Image.open(tmp_path / "one" / png.name) as image:
        assert image.size[0] < wide[0]  # one firm: one column
    many = ["--strategy", "aligned"] * 3
    assert main(["figure", "decisions", "bakery_gluten_free", *many]) == EXIT_BAD_INPUT
    assert "--strategy: give it once or twice" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "aligned"], "--strategy: give it twice"),
        (["--strategy", "aligned", "--strategy", "lucky"], "unknown strategy 'lucky'"),
    ],
)
def test_bad_figure_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    base = ["figure", "sailing-in-circles", "bakery_gluten_free", "--out", str(tmp_path / "x")]
    assert main(base + args) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()


def test_an_unknown_figure_or_scenario_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["figure", "pie-chart", "bakery_gluten_free"])
    assert exc.value.code == 2
    assert main(["figure", "sailing-in-circles", "no_such_shop", "--out", str(tmp_path)]) == 2
    assert "scenarios available" in capsys.readouterr().err


def test_app_help_tells_the_address_and_the_defaults(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["app", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--port PORT" in text and "8765" in text and "127.0.0.1" in text


def test_app_on_a_port_in_use_is_a_one_line_error(capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        assert main(["app", "--port", str(port)]) == EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_app_refuses_a_bad_port(capsys):
    with pytest.raises(SystemExit):
        main(["app", "--port", "70000"])
    assert "expected a port number" in capsys.readouterr().err


@pytest.mark.parametrize("scenario", ["manufacturing_automation", "restaurant_kitchen_tech"])
def test_decisions_draws_the_first_two_strategies_by_default(tmp_path, capsys, scenario):
    """Scenarios with three strategies (issue 20: "--strategy: give it once or twice, got 3"
    though no --strategy was given)."""
    out = tmp_path / "figures"
    assert main(["figure", "decisions", scenario, "--seed", "1", "--out", str(out)]) == 0
    png = out / f"{scenario}_decisions_seed1.png"
    assert f"wrote {png}" in capsys.readouterr().out
    two = ["--strategy", "efficiency_only", "--strategy", "aligned"]
    assert main(["figure", "decisions", scenario, "--seed", "1", *two, "--out", str(tmp_path)]) == 0
    with Image.open(png) as default, Image.open(tmp_path / png.name) as named:
        assert default.size == named.size  # the same two firms side by side ...
        assert default.tobytes() == named.tobytes()  # ... pixel for pixel
    assert list(out.iterdir()) == [png]  # no lock, no temporary left


def test_figure_help_says_which_strategies_decisions_draws(capsys):
    with pytest.raises(SystemExit):
        main(["figure", "--help"])
    assert "first two strategies" in " ".join(capsys.readouterr().out.split())
