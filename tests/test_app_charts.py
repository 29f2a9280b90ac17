"""The live charts drawn in the browser by plotly.js (`sim.app.charts`): data, not images."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from sim.app.charts import (
    TICK_PX,
    DebriefChart,
    DepartmentsChart,
    OverTimeChart,
    SailingChart,
    TimelineChart,
    viridis,
)
from sim.app.live import Screen, firm_colours
from sim.app.state import KPI_COLUMNS, MAX_COST_FACTOR, TwinFirms, plain
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


def test_shifts_and_live_changes_are_marked_with_the_firms_without_the_changes(bakery):
    twins = _played(bakery, 30)
    chart = OverTimeChart(twins)
    spec = chart.spec(twins)
    assert spec.caption == ""
    assert not [t for t in spec.data if t["legendgroup"] == "baseline" and t["x"]]  # no change
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
    assert spec.caption.startswith(
        "Marked: shift 31; 31: α 0.7. Dashed: each firm in the same market without the "
        "class's changes (the same line up to the first change, at period 31)."
    )
    dashed = [t for t in _lines(spec, firm_only=False) if t["legendgroup"] == "baseline"]
    assert all(t["line"]["dash"] == "dash" for t in dashed)
    for i in range(2):  # both firms, from period 0 (En-ROADS's baseline)
        profit = dashed[2 * KPI_COLUMNS.index("profit") + i]
        assert profit["x"] == list(range(41))
        np.testing.assert_allclose(
            profit["y"], twins.baseline.firms[i].log.floats["profit"][:41], atol=5e-5
        )
    assert "alignment 0.7 from period 31" in _lines(spec)[0]["name"]


def test_a_cost_change_is_marked_and_left_out_of_the_baseline(bakery):
    twins = _played(bakery, 20)
    chart = OverTimeChart(twins)
    twins.change_cost_factor(5)
    for _ in range(10):
        twins.step()
    spec = chart.spec(twins)
    assert sorted(a["text"] for a in spec.layout["annotations"]) == ["21: costs ×5"] * 2
    assert "Marked: 21: costs ×5." in spec.caption
    # the baseline never had the change: the aligned bakery pays less there from period 21
    run = twins.firms[1].log.floats["profit"]
    base = twins.baseline.firms[1].log.floats["profit"]
    np.testing.assert_array_equal(run[:21], base[:21])
    assert np.all(run[21:31] < base[21:31])
    assert twins.baseline.cost_factor == 1.0 and twins.cost_factor == 5.0
    # negative control: without the change, the run is the scenario's (the baseline's numbers)
    plain_run = _played(bakery, 30)
    np.testing.assert_array_equal(plain_run.firms[1].log.floats["profit"][:31], base[:31])


def test_a_shift_of_the_class_is_left_out_of_the_baseline(bakery):
    twins = _played(bakery, 30)
    twins.shift_now()
    for _ in range(20):
        twins.step()
    assert twins.shifts() == [(31, twins.shifts()[0][1])]
    assert twins.baseline.shifts() == []  # the scenario's shift at 60 is still to come there
    assert twins.differs_from_baseline(1)


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


# ---- the decision timeline, sailing and departments drawn in the browser ----


def test_the_timeline_is_each_firms_recorded_decisions_by_department(bakery):
    """Every cell is the share of a department's decisions the firm's recorded set-up (its
    log's ``config``) changed from the period before, decoded here bit by bit (row ``2 d +
    i``: department ``d`` of firm ``i``, the value ``2 i + share``); the hover names exactly
    those decisions with their new values; the totals equal the miles the firm's log
    records (another record of the same changes)."""
    twins = _played(bakery, 40)
    twins.shift_now()
    twins.change_firm(1, alpha=0.2)
    for _ in range(30):
        twins.step()
    t = twins.period
    spec = TimelineChart().spec(twins)
    json.dumps({"layout": spec.layout, "data": spec.data}, allow_nan=False)
    (trace,) = spec.data
    departments = bakery.department_decisions
    assert trace["x"] == list(range(t + 1))
    assert len(trace["z"]) == 2 * len(departments)
    assert spec.layout["yaxis"]["ticktext"] == [d.label for d in bakery.departments]
    title = spec.layout["annotations"][0]["text"]
    grids: list[list] = [[], []]
    for i in range(2):
        configs = [int(c) for c in twins.firms[i].log.ints["config"][: t + 1]]
        for d, decisions in enumerate(departments):
            row, words_row = trace["z"][2 * d + i], trace["text"][2 * d + i]
            grids[i].append(row)
            for p in range(t + 1):
                flipped = [k for k in decisions if p and (configs[p] ^ configs[p - 1]) >> k & 1]
                share = len(flipped) / len(decisions)
                assert row[p] == pytest.approx(2 * i + share, abs=5e-5), (i, d, p)
                assert set(flipped) == twins.changed_decisions(i, p) & set(decisions)
                words = words_row[p].split(": ", 1)[1]
                assert bakery.departments[d].label in words_row[p]
                if flipped:
                    for k in flipped:
                        value = "on" if configs[p] >> k & 1 else "off"
                        assert f"{plain(bakery.decisions[k])} {value}" in words
                    assert words.startswith(f"{len(flipped)} of {len(decisions)} changed: ")
                else:
                    assert words == "none"
        total = int(twins.firms[i].log.ints["miles"][: t + 1].sum())
        assert f"{('upper', 'lower')[i]} row: " in title
        assert f"· {total} decision changes" in title.split("<br>")[i]
    shifted = [[v - 2 for v in row] for row in grids[1]]
    assert grids[0] != shifted  # negative control: the two firms' timelines are their own
    # the shift and the live change marked; type for the back row
    marks = {(s["x0"], s["line"].get("dash")) for s in spec.layout["shapes"]}
    assert marks >= {(40.5, "dash"), (40.5, "dashdot")}
    assert "Marked: shift 41; 41: α 0.2." in spec.caption
    axes = [v for k, v in spec.layout.items() if k.startswith(("xaxis", "yaxis"))]
    assert all(a["tickfont"]["size"] >= 18 for a in axes)
    assert all(a["font"]["size"] >= 18 for a in spec.layout["annotations"])


def test_the_timeline_leaves_a_gap_once_a_firm_has_closed(bakery):
    twins = _played(bakery, 30)
    twins.change_cost_factor(MAX_COST_FACTOR)  # the aligned firm's meetings: too dear
    while twins.firms[1].alive and twins.step():
        pass
    for _ in range(3):
        twins.step()
    closed = int(twins.firms[1].log.bools["alive"][: twins.period + 1].sum())  # first closed
    assert closed < twins.period, "the firm did not close: the test shows nothing"
    z = TimelineChart().spec(twins).data[0]["z"]
    aligned, other = z[1::2], z[0::2]
    assert all(row[p] is None for row in aligned for p in range(closed, twins.period + 1))
    assert all(row[p] is not None for row in aligned for p in range(closed))
    assert all(v is not None for row in other for v in row)  # the other firm is still open


def test_the_sailing_chart_is_each_firms_path_and_miles(bakery):
    twins = _played(bakery, 70)
    spec = SailingChart(twins).spec(twins)
    json.dumps({"layout": spec.layout, "data": spec.data}, allow_nan=False)
    paths = [t for t in spec.data if t["mode"] == "lines"]
    assert len(paths) == 4
    for i in range(2):
        log = twins.firms[i].log
        where, sailed = paths[2 * i], paths[2 * i + 1]
        np.testing.assert_allclose(where["x"], log.floats["efficiency"][:71], atol=5e-5)
        np.testing.assert_allclose(where["y"], log.floats["market_value"][:71], atol=5e-5)
        np.testing.assert_array_equal(sailed["x"], np.cumsum(log.ints["miles"][:71]))
        np.testing.assert_array_equal(sailed["y"], log.ints["distance_to_port"][:71])
        assert "%{x" in where["hovertemplate"] and "%{customdata}" in where["hovertemplate"]
    stars = [t for t in spec.data if t.get("marker", {}).get("symbol") == "star"]
    assert [len(s["x"]) for s in stars] == [1, 1]  # the shift at 60 found both firms
    for axis in ("xaxis", "yaxis", "xaxis2", "yaxis2"):  # every point inside the axes
        lo, hi = spec.layout[axis]["range"]
        ref = axis[0] + axis[5:]
        values = [v for t in spec.data if t[axis[0] + "axis"] == ref for v in t[axis[0]]]
        assert all(lo <= v <= hi for v in values if v is not None), axis
        assert lo < hi and spec.layout[axis]["tickfont"]["size"] >= 18, axis


def test_the_departments_chart_colours_each_department_by_its_efficiency_now(bakery):
    twins = _played(bakery, 25)
    chart = DepartmentsChart(twins)
    spec = chart.spec(twins)
    json.dumps({"layout": spec.layout, "data": spec.data}, allow_nan=False)
    nodes = [t for t in spec.data if t.get("customdata")]
    assert len(nodes) == 2
    for i, trace in enumerate(nodes):
        local = twins.firms[i].log.department_efficiency[25]
        assert trace["text"] == [f"{local[d]:.2f}" for d in chart.nodes]
        changed = twins.changed_decisions(i)
        rings = [c == "#E69F00" for c in trace["marker"]["line"]["color"]]
        assert rings == [bool(changed & set(bakery.department_decisions[d])) for d in chart.nodes]
    # the node colours order as the efficiencies do (viridis: darker is lower)
    trace = nodes[0]
    local = twins.firms[0].log.department_efficiency[25]
    brightness = [sum(int(c[k : k + 2], 16) for k in (1, 3, 5)) for c in trace["marker"]["color"]]
    order = np.argsort([local[d] for d in chart.nodes])
    assert all(brightness[a] <= brightness[b] for a, b in itertools.pairwise(order))
    links = [t for t in spec.data if t.get("mode") == "lines"]
    assert len(links) == 2 * len(twins.department_links.edges)


def test_every_live_view_is_a_chart_and_exports_stay_png(bakery):
    screen = Screen(_played(bakery, 5))
    assert set(screen.charts) >= {"over_time", "sailing", "departments", "timeline"}
    for name in ("over_time", "sailing", "departments"):
        assert screen.export(name).startswith(b"\x89PNG")  # slides keep matplotlib


def test_every_chart_draws_only_traces_the_served_plotly_bundle_has(bakery):
    """The page serves a plotly.js bundle of two traces (`sim.app.server.PLOTLY_JS`), not the full
    one: every trace of every chart (the debrief's too) is of a type the bundle registers.
    Negative control: the bundle has no 3D or WebGL traces, which the full one has."""
    import re

    from sim.app.server import PLOTLY_JS

    registered = re.compile(rb'moduleType:"trace",name:"([a-z0-9]+)"')
    bundle = set(t.decode() for t in registered.findall(PLOTLY_JS.read_bytes()))
    assert {"scatter", "heatmap"} <= bundle and not {"scatter3d", "scattergl"} & bundle
    twins = _played(bakery, bakery.horizon)
    screen = Screen(twins)
    specs = [chart.spec(twins) for chart in screen.charts.values()]
    specs.append(DebriefChart().spec(twins.debrief(seeds=2), twins.seed))
    assert len(specs) >= 5
    drawn = {trace.get("type", "scatter") for spec in specs for trace in spec.data}
    assert drawn <= bundle, drawn - bundle


def test_the_debriefs_panels_sit_side_by_side_each_titled_above_it(bakery):
    """Four panels in one row, in the KPIs' order, none over another; each titled in words
    above it (no rotated axis title, which outgrew a short panel at 150% zoom); its numbers
    the markets' means; type of at least 18 px."""
    twins = _played(bakery, bakery.horizon)
    debrief = twins.debrief(seeds=3)
    spec = DebriefChart().spec(debrief, twins.seed)
    json.dumps({"layout": spec.layout, "data": spec.data}, allow_nan=False)
    layout = spec.layout
    axes = ["" if k == 0 else str(k + 1) for k in range(len(KPI_COLUMNS))]
    domains = [layout[f"xaxis{a}"]["domain"] for a in axes]
    assert all(left < right for left, right in domains)
    assert all(a[1] < b[0] for a, b in itertools.pairwise(domains))  # a gap between two
    assert all(layout[f"yaxis{a}"]["domain"] == [0, 1] for a in axes)  # one row
    assert all("title" not in layout[f"yaxis{a}"] for a in axes)
    titles = [n["text"] for n in layout["annotations"]]
    assert titles[:2] == ["efficiency", "market value"] and titles[-1] == "period (month)"
    assert [n["xref"] for n in layout["annotations"][:4]] == [f"x{a} domain" for a in axes]
    assert all(n["font"]["size"] >= 18 for n in layout["annotations"])
    assert layout["legend"]["font"]["size"] >= 18
    means = [t for t in spec.data if t["legendgroup"].startswith("firm")]
    assert len(means) == 2 * len(KPI_COLUMNS)
    for k, column in enumerate(KPI_COLUMNS):
        for i in range(2):
            expected = np.nanmean(debrief.data[column][i], axis=0)
            np.testing.assert_allclose(means[2 * k + i]["y"], expected, atol=5e-5)
            assert means[2 * k + i]["xaxis"] == f"x{axes[k]}"


def test_the_pages_viridis_is_matplotlibs_within_3_of_255():
    """The departments chart's colours without matplotlib (the page's first screen loads none):
    33 steps of viridis interpolated, within 3/255 of matplotlib's table; its reversal is not."""
    from matplotlib import colormaps

    xs = np.linspace(0.0, 1.0, 1001)
    ours = np.array([viridis(x) for x in xs])
    np.testing.assert_allclose(ours, colormaps["viridis"](xs)[:, :3], atol=3 / 255, rtol=0)
    reversed_ = colormaps["viridis_r"](xs)[:, :3]
    assert np.abs(ours - reversed_).max() > 0.5
