"""The classroom page's controller, driven without a browser: what each control does."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from sim.app.lesson import FRAME_S, LEAD_PERIODS, MAX_PERIODS_PER_FRAME, Lesson


@pytest.fixture
def lesson():
    return Lesson()


def test_a_lesson_opens_on_the_first_scenario_at_its_typical_market(lesson):
    scenario = lesson.scenarios[lesson.scenario_name]
    assert lesson.scenario_name == "bakery_gluten_free"
    assert lesson.twins.seed == scenario.classroom_seed and lesson.twins.period == 0
    assert lesson.hint.startswith("Press Play")


def test_every_handler_tells_the_page_once(lesson):
    calls = []
    lesson.listeners.append(lambda: calls.append(lesson.version))
    lesson.step()
    lesson.change_firm(1, "alpha", "1.7")  # refused: still one redraw, with the message
    assert calls == [1, 2]


def test_a_bad_value_shows_its_error_until_a_valid_one_is_applied(lesson):
    lesson.change_firm(1, "alpha", "1.7")
    assert lesson.notice.kind == "error" and "must be from 0 to 1" in lesson.notice.text
    assert "must be from 0 to 1" in lesson.field_errors["alpha-1"]
    lesson.change_firm(1, "alpha", "abc")
    assert "expected a number" in lesson.field_errors["alpha-1"]
    lesson.change_firm(1, "alpha", 0.3)
    assert "alpha-1" not in lesson.field_errors and lesson.notice.text == ""
    lesson.set_costs("-1")
    assert "costs" in lesson.field_errors
    lesson.set_costs(2)
    assert lesson.field_errors == {} and lesson.twins.cost_factor == 2


def test_a_slider_dragged_through_values_counts_once_per_period(lesson):
    lesson.step()
    for value in (0.1, 0.2, 0.3, 0.7):
        lesson.change_firm(0, "alpha", value)
    (change,) = lesson.twins.interventions
    assert dict(change.changes) == {"alpha": 0.7}
    assert lesson.twins.label_now(0) == "efficiency only, alignment 0.7 from period 2"


def test_shift_now_replaces_the_next_scheduled_shift_and_counts_once_per_period(lesson):
    for _ in range(31):
        lesson.step()
    lesson.shift()
    assert "At period 32" in lesson.notice.text
    assert "replaces the shift planned for period 60" in lesson.notice.text
    lesson.shift()  # a double click
    assert lesson.notice.text.startswith("Already queued for period 32")
    twins = lesson.twins
    assert [c.kind for c in twins.interventions] == ["shift"]
    assert twins.scheduled_shifts() == [(32, "customers move to health_conscious (now)")]
    for _ in range(60):
        lesson.step()
    assert [p for p, _ in twins.shifts()] == [32]  # no second, identical shift at 60


def test_the_hint_goes_while_playing_and_pause_stops_at_once(lesson):
    lesson.set_speed(30)
    lesson.toggle_play()
    assert lesson.playing and lesson.hint == ""
    thread = threading.Thread(target=lesson.play)
    thread.start()
    deadline = time.monotonic() + 20
    while lesson.twins.period < 5:
        assert time.monotonic() < deadline, "play did not advance"
        time.sleep(0.01)
    paused = time.perf_counter()
    lesson.toggle_play()
    thread.join(timeout=5)
    stopped = time.perf_counter() - paused
    at = lesson.twins.period
    time.sleep(2 * FRAME_S)
    assert lesson.twins.period == at and not thread.is_alive()
    assert stopped < 0.3


def _play_in_a_thread(
    lesson: Lesson, speed: float, seconds: float, before: Callable[[], None] | None = None
) -> None:
    """Play at ``speed`` in the play loop's own thread for about ``seconds``, then Pause."""
    lesson.set_speed(speed)
    lesson.toggle_play()
    if before is not None:
        before()
    thread = threading.Thread(target=lesson.play)
    thread.start()
    time.sleep(seconds)
    lesson.toggle_play()
    thread.join(timeout=5)


def test_fast_play_streams_frames_rather_than_jumping(lesson):
    frames, pages = [], []
    lesson.frame_listeners.append(lambda: frames.append(lesson.twins.period))
    lesson.listeners.append(lambda: pages.append(lesson.twins.period))
    _play_in_a_thread(lesson, speed=30, seconds=1.0, before=pages.clear)
    assert len(frames) >= 4  # a frame at least every few periods
    assert max(np.diff([0, *frames])) <= MAX_PERIODS_PER_FRAME  # never a jump
    assert frames == sorted(set(frames))  # a frame only for a new period
    # the whole page: fewer times than frames, and at the end with the period reached
    assert 1 <= len(pages) < len(frames) and pages[-1] == lesson.twins.period == frames[-1]


class _Clock:
    """A fake clock for the play loop: ``wait`` moves time on instead of sleeping, and each
    frame can cost ``frame_cost`` seconds (a machine that falls behind), so the loop's pacing
    is tested in its own seconds, whatever the load on the machine running the test."""

    def __init__(self, frame_cost: float = 0.0) -> None:
        self.now, self.frame_cost = 100.0, frame_cost
        self.stop = threading.Event()  # Pause's signal, as the lesson's own

    def perf_counter(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.now += seconds
        return self.stop.is_set()

    def is_set(self) -> bool:
        return self.stop.is_set()

    def set(self) -> None:
        self.stop.set()

    def clear(self) -> None:
        self.stop.clear()


def _play_on_a_clock(lesson: Lesson, speed: float, seconds: float, frame_cost: float = 0.0):
    """Play ``seconds`` of the clock's time at ``speed``: (clock time, period) at each frame."""
    clock = _Clock(frame_cost)
    frames = []

    def frame() -> None:
        frames.append((clock.now, lesson.twins.period))
        clock.now += clock.frame_cost
        if clock.now - 100.0 >= seconds:
            lesson.toggle_play()

    lesson.frame_listeners.append(frame)
    lesson.set_speed(speed)
    lesson.toggle_play()
    lesson._stop = clock
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sim.app.lesson.time", clock)
        lesson.play()
    return frames


def test_play_keeps_its_speed_in_periods_a_second(lesson):
    """Slow speeds: one period a frame, at the speed chosen (not rounded to whole frames)."""
    frames = _play_on_a_clock(lesson, speed=7.5, seconds=1.5)
    assert [p for _, p in frames] == list(range(1, len(frames) + 1))  # one period a frame
    # 7.5 a second: the first at once, then one every 1/7.5 s: 12 frames in the first 1.5 s
    assert sum(t - 100.0 < 1.5 for t, _ in frames) == 12
    gaps = np.diff([t for t, _ in frames])
    assert np.allclose(gaps, 1 / 7.5)


def test_a_machine_that_falls_behind_plays_slower_never_in_jumps():
    """Each frame costing 0.3 s at 7.5 periods a second: at most `MAX_PERIODS_PER_FRAME` a
    frame and no backlog caught up later (the control: a machine that keeps up, one a frame)."""
    slow = _play_on_a_clock(Lesson(), speed=7.5, seconds=3.0, frame_cost=0.3)
    steps = np.diff([0] + [p for _, p in slow])
    assert steps.max() == MAX_PERIODS_PER_FRAME and steps.min() >= 1
    assert slow[-1][1] < 7.5 * 3.0  # slower than asked: what was missed is not made up
    quick = _play_on_a_clock(Lesson(), speed=7.5, seconds=3.0)
    assert set(np.diff([0] + [p for _, p in quick])) == {1}


def _lead_while_playing(lesson: Lesson, charts: int) -> list[int]:
    """Play at 30 a second for 1.5 s with a slow browser (it reports a drawing every 0.1 s):
    at each frame, how far play is ahead of the last period the browser drew."""
    lesson.charts_on_screen = charts
    lead = []
    lesson.frame_listeners.append(lambda: lead.append(lesson.twins.period - lesson.drawn_period))
    lesson.set_speed(30)
    lesson.toggle_play()
    thread = threading.Thread(target=lesson.play)
    thread.start()
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        time.sleep(0.1)
        lesson.drawn(lesson.twins.period)
    lesson.toggle_play()
    thread.join(timeout=5)
    return lead


def test_play_keeps_within_two_periods_of_what_the_browser_has_drawn(lesson):
    """With a chart on screen, Pause stops within `LEAD_PERIODS` (2) of the chart, however
    slow the browser; without one (a view drawn as an image), play does not wait."""
    lead = _lead_while_playing(lesson, charts=1)
    assert len(lead) >= 5 and max(lead) <= LEAD_PERIODS == 2
    other = _lead_while_playing(Lesson(), charts=0)  # the control: no chart, no waiting
    assert max(other) > LEAD_PERIODS


def _steps_per_frame(lesson: Lesson, charts: int) -> list[int]:
    """Play at 30 a second for 1 s with a slow browser (each frame takes 70 ms to draw, then
    is reported drawn): the periods each frame advanced."""
    lesson.charts_on_screen = charts
    periods = [lesson.twins.period]

    def draw() -> None:
        time.sleep(0.07)
        periods.append(lesson.twins.period)
        lesson.drawn(lesson.twins.period)

    lesson.frame_listeners.append(draw)
    _play_in_a_thread(lesson, speed=30, seconds=1.0)
    return np.diff(periods).tolist()


def test_with_a_chart_on_screen_a_slow_browser_gets_a_frame_per_period(lesson):
    """A frame per period while a chart paces play, so that the next frame is on its way while
    the browser draws (two periods in a frame left the browser idle until the next came); the
    control, without a chart on screen, puts 2 periods in a frame when it falls behind."""
    steps = _steps_per_frame(lesson, charts=1)
    assert len(steps) >= 5 and set(steps) == {1}, steps
    other = _steps_per_frame(Lesson(), charts=0)
    assert MAX_PERIODS_PER_FRAME in other, other


def test_a_link_rebuilds_the_lesson_to_the_same_period_and_settings(lesson):
    lesson.set_seed(4)
    lesson.set_speed(7.5)
    lesson.change_firm(1, "sensing", 0.2)  # before period 1: a change made at period 0
    for _ in range(20):
        lesson.step()
    lesson.change_firm(0, "alpha", 0.7)
    lesson.change_firm(0, "coordination", "hierarchical")
    lesson.set_costs(1.5)
    lesson.shift()
    for _ in range(15):
        lesson.step()
    link = lesson.query()
    again = Lesson()
    again.open_query(link)
    a, b = lesson.twins, again.twins
    assert again.notice.kind == "info", again.notice
    assert (b.seed, b.period, again.speed) == (4, 35, 7.5)
    assert [(c.period, c.kind, c.changes) for c in b.interventions] == [
        (c.period, c.kind, c.changes) for c in a.interventions
    ]
    for i in range(2):
        np.testing.assert_array_equal(
            a.firms[i].log.floats["profit"], b.firms[i].log.floats["profit"]
        )
        assert a.label_now(i) == b.label_now(i)
    assert again.query() == link


def test_a_bad_link_says_what_is_wrong_and_keeps_the_lesson(lesson):
    lesson.open_query("scenario=nowhere&period=3")
    assert lesson.notice.kind == "error" and "scenario must be one of" in lesson.notice.text
    lesson.open_query("scenario=bakery_gluten_free&changes=3:oops")
    assert "a change must read" in lesson.notice.text
    assert lesson.twins.period == 0


def test_layout_views_and_panels(lesson):
    lesson.set_layout("presentation")
    lesson.show("sailing")
    lesson.toggle_drawer()
    lesson.toggle_info()
    assert (lesson.layout, lesson.view, lesson.drawer_open, lesson.info_open) == (
        "presentation",
        "sailing",
        True,
        True,
    )
    lesson.show("nowhere")
    assert "view: expected one of" in lesson.notice.text
    assert "layout=presentation" in lesson.query()


def test_an_error_while_playing_pauses_with_a_message(lesson, monkeypatch):
    def broken() -> bool:
        raise RuntimeError("boom")

    monkeypatch.setattr(lesson.twins, "step", broken)
    lesson.toggle_play()
    lesson.play()
    assert not lesson.playing
    assert lesson.notice.kind == "error" and "boom" in lesson.notice.text


def test_play_stops_by_itself_at_the_horizon(lesson):
    lesson.open_query("scenario=canteen_stable&period=118")
    lesson.set_speed(30)
    lesson.toggle_play()
    lesson.play()
    assert lesson.twins.finished and not lesson.playing
    assert "The run is over" in lesson.notice.text


# ---- the lesson plan's live change (docs/app.md, the bakery, minutes 10-12) ----

#: the plan's change: after period 90, the efficiency-only bakery (firm 1) gets alignment 0.7
#: and sensing 0.3; the class steps 20 periods
PLAN_AT, PLAN_STEPS, PLAN_CHANGE = 90, 20, {"alpha": 0.7, "sensing": 0.3}
VISIBLE = 0.1  # a tenth of the market-value panel's height (0 to 1)


def _plan_played(changes: dict[str, float]) -> Lesson:
    lesson = Lesson()
    lesson.choose("bakery_gluten_free")  # the scenario's opening market
    for _ in range(PLAN_AT):
        lesson.step()
    for field, value in changes.items():
        lesson.change_firm(0, field, value)
    for _ in range(PLAN_STEPS):
        lesson.step()
    return lesson


def _market_value_gap(lesson: Lesson) -> np.ndarray:
    """The changed bakery's market value minus its dashed line's, on the chart the class sees,
    over the periods stepped after the change."""
    from sim.app.charts import OverTimeChart

    twins = lesson.twins
    spec = OverTimeChart(twins).spec(twins)
    axis = 1 + list(("efficiency", "market_value", "profit", "cash")).index("market_value")
    panel = [t for t in spec.data if t["yaxis"] == f"y{axis}"]
    line = next(t for t in panel if t["legendgroup"] == "firm0")
    dashed = next(t for t in panel if t["legendgroup"] == "baseline")  # the first: firm 0's
    assert dashed["line"]["color"] == line["line"]["color"] and dashed["x"] == line["x"]
    after = slice(PLAN_AT + 1, PLAN_AT + PLAN_STEPS + 1)
    return np.array(line["y"][after], float) - np.array(dashed["y"][after], float)


def _debrief_gain(lesson: Lesson) -> np.ndarray:
    """Per market of the debrief's 30 (closed firms left out): the mean market value gained
    by the changed bakery over the 20 periods after the change, against the same 30 markets
    without it."""
    from sim.app.state import TwinFirms

    twins = lesson.twins
    with_change = twins.debrief(30).data["market_value"][0]
    without = TwinFirms(twins.scenario, seed=0, baseline=False).debrief(30)
    after = slice(PLAN_AT + 1, PLAN_AT + PLAN_STEPS + 1)
    gap = with_change[:, after] - without.data["market_value"][0][:, after]
    return gap[np.isfinite(gap).all(axis=1)]


def test_the_lesson_plans_live_change_moves_the_chart_in_the_opening_market():
    from pathlib import Path

    plan = (Path(__file__).resolve().parents[1] / "docs" / "app.md").read_text()
    assert "alignment α to 0.7 and its sensing to 0.3 after period 90" in plan
    lesson = _plan_played(PLAN_CHANGE)
    assert [c.changes for c in lesson.twins.interventions] == [tuple(PLAN_CHANGE.items())]
    gap = _market_value_gap(lesson)
    assert np.max(np.abs(gap)) >= VISIBLE  # the firm's line leaves its dashed line
    assert gap.mean() > 0  # towards its customers
    assert lesson.twins.differs_from_baseline(0)


def test_the_lesson_plans_live_change_shows_over_the_debriefs_30_markets():
    gain = _debrief_gain(_plan_played(PLAN_CHANGE))
    mean = gain.mean(axis=1)
    half_width = 1.96 * mean.std(ddof=1) / np.sqrt(len(mean))
    assert mean.mean() - half_width > 0  # the 95% interval of the mean gain is above 0
    visible = np.max(np.abs(gain), axis=1) >= VISIBLE
    assert visible.sum() > 30 / 2  # visible in most of the 30 markets (closed firms count no)


def test_sensing_alone_on_the_efficiency_only_bakery_changes_nothing():
    # negative control, why the plan changes both: with alpha 0 what the bakery knows of its
    # customers steers no decision; the dashed line hides under the firm's in every market
    # (market value and efficiency unchanged); it only costs its market research
    lesson = _plan_played({"sensing": 0.3})
    assert np.all(_market_value_gap(lesson) == 0)
    twins = lesson.twins
    run, base = twins.firms[0].log.floats, twins.baseline.firms[0].log.floats
    after = slice(PLAN_AT + 1, PLAN_AT + PLAN_STEPS + 1)
    np.testing.assert_array_equal(run["efficiency"], base["efficiency"])
    cost = 0.3 * twins.scenario.costs.sensing
    np.testing.assert_allclose(run["profit"][after] - base["profit"][after], -cost, atol=1e-9)
    assert np.all(_debrief_gain(lesson) == 0)


def test_the_documented_link_rebuilds_its_changes_one_department_included(lesson):
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "app.md").read_text()
    link = text.split("`?scenario=bakery_gluten_free&market=27")[1].split("`")[0]
    lesson.open_query("scenario=bakery_gluten_free&market=27" + link)
    twins = lesson.twins
    assert lesson.notice.kind == "info" and twins.period == 90 and twins.seed == 27
    assert [c.kind for c in twins.interventions] == ["strategy", "shift", "strategy"]
    assert twins.settings(0).alpha == 0.7 and twins.settings(0).sensing == 0.3
    assert twins.settings(1).alpha["shop"] == 0.2 and twins.settings(1).alpha["production"] == 0.7
    assert "65:firm1:alpha=0.7,sensing=0.3;70:shift:health_conscious;80:firm2:alpha.shop=0.2" in (
        lesson.query()
    )


def test_a_reset_keeps_one_departments_alignment_in_the_link(lesson):
    lesson.step()
    lesson.change_firm(1, "alpha.shop", 0.2)
    lesson.reset()  # the controls' values become the firms' settings at period 0
    query = lesson.query()
    assert "alpha2.shop=0.2" in query and "changes" not in query
    other = Lesson()
    other.open_query(query)
    assert other.twins.settings(1).alpha == lesson.twins.settings(1).alpha
    other.open_query(query.replace("alpha2.shop", "alpha2.lobby"))
    assert other.notice.kind == "error" and "no such department" in other.notice.text
