"""The classroom's figures: redrawn in place, blitted like a full draw, changes marked."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image

from sim.app.live import (
    DepartmentsView,
    OverTimeView,
    SailingView,
    Screen,
    debrief_figure,
    decisions_table,
    firm_colours,
    live_views,
)
from sim.app.state import TwinFirms
from sim.plots import STRATEGY_COLOURS
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def bakery():
    return load_scenario("bakery_gluten_free")


def _played(scenario, periods: int, *, shift_at: int | None = None, seed: int = 1) -> TwinFirms:
    twins = TwinFirms(scenario, seed=seed)
    for _ in range(periods):
        if twins.period == shift_at:
            twins.shift_now()
        twins.step()
    return twins


def _mark_labels(view: OverTimeView) -> list:
    return [t for ax in view.axes.values() for t in ax.texts if t.get_gid() == "mark-label"]


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def test_the_twin_firms_keep_the_colours_of_the_reference_figures():
    assert firm_colours(("efficiency_only", "aligned")) == (
        STRATEGY_COLOURS["efficiency_only"],
        STRATEGY_COLOURS["aligned"],
    )
    same = firm_colours(("aligned", "aligned"))
    assert same[0] == STRATEGY_COLOURS["aligned"] and same[1] != same[0]


@pytest.mark.parametrize("view_class", [OverTimeView, SailingView, DepartmentsView])
def test_a_blitted_redraw_looks_like_a_full_draw(bakery, view_class):
    twins = _played(bakery, 40, shift_at=20)
    view = view_class(twins)
    for t in range(0, 41, 5):  # limits grow and shrink never; backgrounds are reused
        view.update(twins, t)
        view.png()
    blitted = np.asarray(view.canvas.buffer_rgba()).copy()
    view.freeze()
    view.canvas.draw()
    full = np.asarray(view.canvas.buffer_rgba())
    assert blitted.shape == full.shape
    differing = np.any(blitted != full, axis=2).mean()
    assert differing < 0.003  # only where a line crosses a label drawn over it


def test_a_new_period_changes_the_pictures(bakery):
    twins = TwinFirms(bakery, seed=3)
    views = live_views(twins)
    first = {name: view.png() for name, view in views.items()}
    for _ in range(3):
        twins.step()
    for name, view in views.items():
        view.update(twins)
        png = view.png()
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = view.canvas.get_width_height()
        assert _pixels(png).shape == (height, width, 3)
        assert png != first[name], name


def test_shifts_and_live_changes_are_marked_with_labels_outside_the_axes(bakery):
    twins = _played(bakery, 30)
    view = OverTimeView(twins)
    view.update(twins)
    assert _mark_labels(view) == []
    upcoming = [line for line in view._scheduled if line.get_visible()]
    assert {float(line.get_xdata()[0]) for line in upcoming} == {60.0}  # the scenario's, to come
    twins.shift_now()
    twins.change_firm(0, alpha=0.7)
    twins.step()
    view.update(twins)
    labels = sorted(t.get_text() for t in _mark_labels(view))
    assert labels == ["31: α 0.7", "31: α 0.7", "shift 31", "shift 31"]  # above both top panels
    for text in _mark_labels(view):
        assert text.get_position()[1] > 1.0  # y in axes fraction: above the data
    dashed = [
        line for line in view.axes["profit"].get_lines() if tuple(line.get_xdata()) == (31, 31)
    ]
    assert len(dashed) == 2  # the shift and the change
    # the scheduled shift at 60 went: the teacher's shift to the same customers replaced it
    assert not any(line.get_visible() for line in view._scheduled)
    legend = [t.get_text() for t in view._legend.get_texts()]
    assert "efficiency only, alignment 0.7 from period 31" in legend
    assert "without the class's changes" in legend


def test_a_live_change_draws_both_firms_without_it_from_period_0(bakery):
    twins = _played(bakery, 40)
    view = OverTimeView(twins)
    twins.change_firm(0, alpha=0.7, sensing=0.3)
    for _ in range(30):
        twins.step()
    view.update(twins)
    for i in range(2):
        baseline = view.baselines["profit"][i]
        x, y = baseline.get_xdata(), baseline.get_ydata()
        assert x[0] == 0 and x[-1] == 70
        np.testing.assert_array_equal(y, twins.baseline.firms[i].log.floats["profit"][:71])
    # before the change the baseline is the run itself (common random numbers)
    np.testing.assert_array_equal(
        twins.baseline.firms[0].log.floats["profit"][:41],
        twins.firms[0].log.floats["profit"][:41],
    )
    assert twins.differs_from_baseline(0) and not twins.differs_from_baseline(1)
    assert view.caption().endswith("No difference so far for aligned.")


def test_the_departments_view_rings_the_departments_that_moved(bakery):
    twins = TwinFirms(bakery, seed=1)
    view = DepartmentsView(twins)
    for _ in range(40):
        twins.step()
        view.update(twins)
        for i in range(2):
            changed = twins.changed_decisions(i)
            moved = [bool(changed & set(d)) for d in bakery.department_decisions]
            edges = view.rings[i].get_edgecolors()
            ringed = [e[3] > 0 for e in edges]  # transparent edge = no ring
            assert ringed == moved
            shown = [text.get_text() for text in view.values[i]]
            local = twins.firms[i].log.department_efficiency[twins.period]
            assert shown == [f"{x:.2f}" if np.isfinite(x) else "closed" for x in local]


def test_the_decisions_table_marks_exactly_the_changes(bakery):
    twins = TwinFirms(bakery, seed=1)
    for _ in range(60):
        twins.step()
        table = decisions_table(twins)
        changed = sum(len(twins.changed_decisions(i)) for i in range(2))
        assert table.count('class="changed"') == changed
    assert table.count("<tr>") == 1 + len(bakery.decisions)  # a header and a row each
    for name in ("gluten free line", "Shop floor", "customers want"):
        assert name in table


def test_exports_for_slides_are_sharper_than_the_screen(bakery):
    twins = _played(bakery, 10)
    screen = Screen(twins)
    on_screen = _pixels(screen.frame("over_time", 1))
    slide = _pixels(screen.export("over_time"))
    assert slide.shape[1] > 1.4 * on_screen.shape[1]
    assert screen.frame("over_time", 1) == screen.frame("over_time", 1)  # cached per version
    with pytest.raises(ValueError, match="no debrief yet"):
        screen.export("debrief")


@pytest.fixture(scope="module")
def debriefed(bakery):
    twins = TwinFirms(bakery, seed=2)
    twins.replay([])
    screen = Screen(twins)
    return screen, screen.run_debrief(seeds=4)


def test_the_debrief_figure_overlays_every_seed_and_marks_the_class_market(debriefed):
    screen, result = debriefed
    fig = debrief_figure(result, 2)
    ax = fig.axes[2]  # profit
    assert len(ax.get_lines()) >= 2 * 4 + 2  # a thin line per seed and firm, two means
    ours = [line for line in ax.get_lines() if line.get_gid() == "highlight"]
    assert len(ours) == 2  # one per firm: the seed-2 run itself
    assert list(ours[0].get_ydata()) == list(result.data["profit"][0, 2])
    texts = " ".join(t.get_text() for t in fig.texts)
    assert re.search(r"in \d of 4 markets", texts)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "your market (2)" in legend
    assert not [line for line in debrief_figure(result, 99).axes[2].get_lines() if line.get_gid()]
    assert _pixels(screen.debrief_png()).shape[1] == 1180


def test_exports_fit_the_axes_to_the_data_and_carry_a_footer_title(bakery):
    twins = _played(bakery, 120)
    view = SailingView(twins)
    view.update(twins)
    grown = view.ax_sail.get_xlim()
    view.fit(twins)
    miles = max(np.nanmax(line.get_xdata()) for line in view.sails)
    lo, hi = view.ax_sail.get_xlim()
    assert lo == 0.0 and miles <= hi <= miles * 1.05 + 0.5 <= grown[1] + 0.5
    screen = Screen(twins)
    before = screen.views["sailing"].ax_sail.get_xlim()
    figure = screen.views["sailing"].figure
    titles = []
    save = figure.savefig

    def saving(*args, **kwargs):
        titles.extend(t.get_text() for t in figure.texts if t.get_gid() == "slide-title")
        return save(*args, **kwargs)

    figure.savefig = saving
    png = screen.export("sailing")
    assert png[:4] == b"\x89PNG"
    (title,) = titles
    assert title.startswith("Sailing in circles: The bakery")
    assert "scenario bakery_gluten_free, market 1, period 120 of 160" in title
    assert screen.views["sailing"].ax_sail.get_xlim() == before  # the screen keeps its limits
    assert not [t for t in screen.views["sailing"].figure.texts if t.get_gid() == "slide-title"]
    note = [t for t in view.ax_sail.texts if t.get_gid() == "sailing-note"]
    assert note and note[0].xycoords[1] is view.ax_sail.xaxis.label  # under the axis


def test_the_decision_timeline_shows_both_firms_so_far_with_the_class_changes(bakery):
    twins = _played(bakery, 30)
    twins.change_firm(0, alpha=0.7)
    for _ in range(10):
        twins.step()
    screen = Screen(twins)
    fig = screen.timeline_figure()
    rasters = [im for ax in fig.axes for im in ax.get_images()]
    assert len(rasters) == 2  # both firms
    for ax in fig.axes:
        assert ax.get_xlim()[1] == pytest.approx(twins.period + 0.5)  # the periods played
    changes = [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "change"]
    assert changes and all(ln.get_xdata()[0] == 31 for ln in changes)  # acts from 31
    png = screen.export("timeline")  # for slides: every decision, a row each
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
