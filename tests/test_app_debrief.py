"""The debrief's figure: every market a thin line, the means bold, the class's market marked."""

from __future__ import annotations

import re

import numpy as np
import pytest

from sim.app.debrief import debrief_figure
from sim.app.live import Screen
from sim.app.state import TwinFirms
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def debrief():
    bakery = load_scenario("bakery_gluten_free")
    twins = TwinFirms(bakery, seed=2)
    twins.replay([])
    screen = Screen(twins)
    return screen, screen.run_debrief(seeds=4)


def test_the_debrief_figure_overlays_every_seed_and_marks_the_class_market(debrief):
    _screen, result = debrief
    fig = debrief_figure(result, highlight=2)
    ax = fig.axes[2]  # profit
    assert len(ax.get_lines()) >= 2 * 4 + 2  # a thin line per seed and firm, two means
    ours = [line for line in ax.get_lines() if line.get_gid() == "your-market"]
    assert len(ours) == 2  # one per firm, the seed-2 run itself
    assert list(ours[0].get_ydata()) == list(result.data["profit"][0, 2])
    texts = " ".join(t.get_text() for t in fig.texts)
    assert re.search(r"in \d of 4 markets", texts)
    assert not [line for line in debrief_figure(result).axes[2].get_lines() if line.get_gid()]


def test_the_debrief_summary_shows_miles_and_cycling_beside_profit_and_survival(debrief):
    _screen, result = debrief
    rows = dict(result.summary(seed=2))
    keys = " | ".join(rows)
    for words in ("profit after", "still in business", "miles sailed", "sailing in circles"):
        assert words in keys
    miles = result.miles()
    assert rows["your market (2): miles sailed"] == tuple(f"{v:.0f}" for v in miles[:, 2])
    assert rows["miles sailed, median of 4"][0] == f"{np.median(miles[0]):.0f}"
    assert rows["sailing in circles at the end, of 4"][1] == str(int(result.cycled()[1].sum()))
