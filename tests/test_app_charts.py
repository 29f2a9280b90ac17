"""The live charts drawn in the browser by plotly.js (`sim.app.charts`): data, not images."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from sim.app.charts import TICK_PX, OverTimeChart
from sim.app.live import Screen, firm_colours
from sim.app.state import KPI_COLUMNS, TwinFirms
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def bakery():
    return load_scenario("bakery_gluten_free")


def _played(scenario, periods: int, seed: int = 3) -> TwinFirms:
    twins = TwinFirms(scenario, seed=seed)
    for _ in range(periods):
        twins.step()
    return twins


def _lines(spec, firm_only: bool = True) -> list[dict]:
    return [t for t in spec.data if t["legendgroup"].startswith("firm") or not firm_only]


def test_the_chart_is_each_firms_numbers_per_period_as_strict_json(bakery):
    twins = _played(bakery, 20)
    spec = OverTimeChart(twins).spec(twins)
    json.dumps({"layout": spec.layout, "data": spec.data}, allow_nan=False)  # no NaN sent
    lines = _lines(spec)
    assert len(lines) == 2 * len(KPI_COLUMNS)
    for k, column in enumerate(KPI_COLUMNS):
        for i in range(2):
            trace = lines[2 * k + i]
            assert trace["x"] == list(range(21))
            expected = twins.firms[i].log.floats[column][:21]
            np.testing.assert_allclose(trace["y"], expected, atol=5e-5)
            assert trace["line"]["color"] == firm_colours(twins.strategy_names)[i]
            assert "%{y" in trace["hovertemplate"]  # hover shows the value
    # large type for a projector
    axes = [v for k, v in spec.layout.items() if k.startswith(("xaxis", "yaxis"))]
    assert len(axes) == 8 and all(a["tickfont"]["size"] >= 18 for a in axes)
    assert TICK_PX >= 18


def test_a_period_appends_its_points_and_keeps_the_layout(bakery):
    twins = _played(bakery, 20)
    chart = OverTimeChart(twins)
    before = chart.spec(twins)
    twins.step()
    after = chart.spec(twins)
    for old, new in zip(_lines(before), _lines(after), strict=True):
        assert new["x"] == old["x"] + [21]
        assert new["y"][:-1] == old["y"]  # the past unchanged: one point more
    assert after.layout is before.layout or after.layout == before.layout


def test_shifts_and_live_changes_are_marked_with_the_firm_without_the_change(bakery):
    twins = _played(bakery, 30)
    chart = OverTimeChart(twins)
    spec = chart.spec(twins)
    assert spec.caption == ""
    dotted = [s for s in spec.layout["shapes"] if s["line"]["dash"] == "dot"]
    assert {s["x0"] for s in dotted} == {60}  # the scenario's shift, to come
    twins.shift_now()
    twins.change_firm(0, alpha=0.7)
    for _ in range(10):
        twins.step()
    spec = chart.spec(twins)
    labels = sorted(a["text"] for a in spec.layout["annotations"])
    assert labels == ["31: α 0.7", "31: α 0.7", "shift 31", "shift 31"]  # above both top panels
    assert all(a["y"] >= 1.0 and a["yref"].endswith("domain") for a in spec.layout["annotations"])
    assert not [s for s in spec.layout["shapes"] if s["line"]["dash"] == "dot"]  # replaced
    assert spec.caption == (
        "Marked: shift 31; 31: α 0.7. Faint line: efficiency only without the live change."
    )
    faint = [t for t in _lines(spec, firm_only=False) if t["legendgroup"] == "baseline"]
    profit = faint[2 * KPI_COLUMNS.index("profit")]
    assert profit["x"][0] == 30 and profit["x"][-1] == 40
    np.testing.assert_allclose(
        profit["y"], twins.baseline.firms[0].log.floats["profit"][30:41], atol=5e-5
    )
    assert faint[2 * KPI_COLUMNS.index("profit") + 1]["x"] == []  # firm 2 was not changed
    assert "alignment 0.7 from period 31" in _lines(spec)[0]["name"]


def test_profit_axes_grow_to_hold_every_line_and_never_shrink(bakery):
    twins = TwinFirms(bakery, seed=3)
    chart = OverTimeChart(twins)
    seen = []
    for _ in range(80):
        twins.step()
        spec = chart.spec(twins)
        for k, column in enumerate(KPI_COLUMNS):
            axis = "yaxis" if k == 0 else f"yaxis{k + 1}"
            lo, hi = spec.layout[axis]["range"]
            values = np.concatenate(
                [twins.firms[i].log.floats[column][: twins.period + 1] for i in range(2)]
            )
            values = values[np.isfinite(values)]
            assert lo <= values.min() and values.max() <= hi, column
        seen.append(tuple(spec.layout["yaxis3"]["range"]))
    assert all(a[0] >= b[0] and a[1] <= b[1] for a, b in itertools.pairwise(seen))


def test_the_screen_caches_a_chart_per_version(bakery):
    screen = Screen(_played(bakery, 5))
    first = screen.chart("over_time", 1)
    assert screen.chart("over_time", 1) is first
    screen.twins.step()
    assert screen.chart("over_time", 2).data != first.data
