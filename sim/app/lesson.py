"""The classroom page's controller: everything a button, slider or link does, in plain Python.

A `Lesson` holds what one browser tab shows (the scenario, the twin firms and their views,
playing or not, the speed, the layout, the messages) and changes it; the page
(`sim.app.page`) only draws it and calls its methods. Tests drive a `Lesson` without a browser.
Every handler turns errors into a message (`notice`, and ``field_errors`` for the control that
was typed into): nothing the class does crashes the page.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from sim.app.state import (
    DEBRIEF_SEEDS,
    MAX_COST_FACTOR,
    ControlError,
    Intervention,
    TwinFirms,
    classroom_scenarios,
    parse_mode,
    parse_number,
    parse_seed,
    plain,
)
from sim.scenario import Scenario, StrategySpec

log = logging.getLogger(__name__)

#: Periods per second while playing: the slider's range and where it starts.
SPEED_MIN, SPEED_MAX, SPEED_DEFAULT = 0.5, 30.0, 3.0
#: At most one frame per this many seconds while playing: a period a frame up to 30
#: periods a second (Fast); a machine that falls behind puts up to `MAX_PERIODS_PER_FRAME`
#: periods in a frame, then plays slower (never in jumps); with a chart on screen always one
#: (see `LEAD_PERIODS`).
FRAME_S = 1 / 30
MAX_PERIODS_PER_FRAME = 2
#: While playing, a frame redraws only the over-time chart and the period shown (the
#: ``frame_listeners``); the whole page (scoreboard, controls, logs) at most this often, and
#: whenever play stops.
PAGE_S = 0.5
#: With a chart on screen, play runs at most this many periods ahead of the last one the
#: browser has drawn (`Lesson.drawn`), waiting at most `DRAW_WAIT_S` for it: Pause stops within
#: this many periods of the chart, however slow the browser or the machine (issue 25's budget:
#: an overshoot of at most 2 periods). Play then sends a frame per period, so that one frame is
#: on its way while the browser draws the other (two periods in a frame would leave the
#: browser idle until the next one arrived: one frame per round trip).
LEAD_PERIODS = 2
DRAW_WAIT_S = 0.5
#: The views, in the order presentation mode shows them one at a time.
VIEWS: tuple[str, ...] = ("over_time", "sailing", "departments", "decisions", "debrief")
LAYOUTS = ("auto", "presentation", "desk")


@dataclass(frozen=True)
class Notice:
    """A message on the page: ``kind`` "error" or "info"; empty text: none."""

    kind: str = ""
    text: str = ""


def _guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """A handler whose errors become a message on the page, then tell the page to redraw."""

    @functools.wraps(handler)
    def guarded(self: Lesson, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(self, *args, **kwargs)
        except ControlError as exc:
            self.notice = Notice("error", str(exc))
        except Exception as exc:
            log.exception("error in %s", handler.__name__)
            self.notice = Notice(
                "error", f"Something went wrong ({type(exc).__name__}: {exc}); the run is kept."
            )
        finally:
            self.changed()
        return None

    return guarded


class Lesson:
    """One tab's lesson: the scenario and its twin firms, play, live changes, layout, link.

    ``screen_factory`` builds the views for a session (`sim.app.live.Screen`); ``first`` is a
    screen prepared ahead (the spare) for the first scenario. ``listeners`` are called after
    every change (the page redraws); ``frame_listeners`` after every frame of play (the live
    chart and the period shown redraw; the whole page only every `PAGE_S`).
    """

    def __repr__(self) -> str:
        state = "playing" if self.playing else "paused"
        return f"Lesson({len(self.scenarios)} scenarios, view {self.view!r}, {state})"

    def __init__(
        self,
        *,
        scenarios: Mapping[str, Scenario] | None = None,
        broken: Mapping[str, str] | None = None,
        screen_factory: Callable[[TwinFirms], Any] | None = None,
        first: Any = None,
    ) -> None:
        if scenarios is None:
            scenarios, broken = classroom_scenarios()
        if screen_factory is None:
            from sim.app.live import Screen

            screen_factory = Screen
        self.scenarios = dict(scenarios)
        self.broken = dict(broken or {})
        self._screen_factory = screen_factory
        self.lock = threading.RLock()
        self.listeners: list[Callable[[], None]] = []
        self.frame_listeners: list[Callable[[], None]] = []
        self.version = 0
        self.frames = 0
        #: charts on screen that report each frame drawn (`drawn`): play waits for them
        self.charts_on_screen = 0
        self.drawn_period = -1
        self._drawn = threading.Event()
        self.playing = False
        self.speed = SPEED_DEFAULT
        self.notice = Notice()
        self.field_errors: dict[str, str] = {}
        self.layout = "auto"
        self.view = VIEWS[0]
        self.drawer_open = False
        self.info_open = False
        self.debrief_progress: int | None = None
        self._stop = threading.Event()
        self.screen = None
        names = list(self.scenarios)
        self.scenario_name = names[0] if names else ""
        if names:
            scenario = self.scenarios[self.scenario_name]
            self.screen = first if first is not None else screen_factory(TwinFirms(scenario))

    # ---- reading ----
    @property
    def twins(self) -> TwinFirms:
        """The current twin-firm session."""
        if self.screen is None:
            raise ControlError("no scenario to show: scenarios/ has none a class can use")
        return self.screen.twins

    @property
    def hint(self) -> str:
        """What to do next, when nothing else is said (none while playing)."""
        if self.playing or self.screen is None:
            return ""
        if self.twins.period == 0:
            return "Press Play (or Step) to start."
        if self.twins.finished:
            return "The run is over: run the debrief, or reset to start again."
        return ""

    def changed(self) -> None:
        """Something shown changed: count it, and tell the page."""
        self.version += 1
        for listener in list(self.listeners):
            listener()

    def framed(self) -> None:
        """A frame of play: count it, and tell the live chart and the period shown."""
        self.frames += 1
        for listener in list(self.frame_listeners):
            listener()

    def drawn(self, period: int) -> None:
        """The browser has drawn a chart at ``period`` (play may run on; a late word from a run
        started over counts for no more than the period now)."""
        if self.screen is not None:
            self.drawn_period = min(period, self.twins.period)
        self._drawn.set()

    def _room(self, running: Callable[[], bool]) -> int:
        """The periods play may step now in a frame: with a chart on screen one, once it is
        less than `LEAD_PERIODS` ahead of the last one drawn, waiting for the browser (at most
        `DRAW_WAIT_S`); else up to `MAX_PERIODS_PER_FRAME`."""
        if not self.charts_on_screen:
            return MAX_PERIODS_PER_FRAME
        deadline = time.perf_counter() + DRAW_WAIT_S
        while running():
            self._drawn.clear()  # before looking: a drawing reported from now on wakes it
            room = LEAD_PERIODS - (self.twins.period - self.drawn_period)
            if room >= 1 or not self.charts_on_screen:
                return 1 if self.charts_on_screen else MAX_PERIODS_PER_FRAME
            left = deadline - time.perf_counter()
            if left <= 0:
                return 1
            self._drawn.wait(min(left, 0.05))
        return 0

    # ---- scenario and run ----
    def _start(self, twins: TwinFirms, text: str) -> None:
        self.pause_now()
        self.screen = self._screen_factory(twins)
        self.field_errors = {}
        self.notice = Notice("info", text)

    @_guarded
    def choose(self, name: str) -> None:
        """Open scenario ``name`` at its opening market (``classroom_seed``), period 0."""
        if name not in self.scenarios:
            raise ControlError(f"unknown scenario {name!r}; allowed: {', '.join(self.scenarios)}")
        scenario = self.scenarios[name]
        self.scenario_name = name
        self._start(
            TwinFirms(scenario),
            f"{scenario.title or plain(name)}: market {scenario.classroom_seed}, period 0. "
            "Press Play (or Step) to start.",
        )

    @_guarded
    def step(self) -> None:
        """One period for both firms."""
        with self.twins.lock:
            advanced = self.twins.step()
        if advanced:
            if self.notice.kind == "info":
                self.notice = Notice()
        else:
            self.notice = Notice(
                "info", "The run is over: look at the debrief, or reset to start again."
            )

    @_guarded
    def reset(self) -> None:
        """Start over at period 0 with the settings shown."""
        self._start(self.twins.restart(), "Started over at period 0 with the settings shown.")

    @_guarded
    def shift(self) -> None:
        """Customers move at the next period (replacing the next scheduled shift there)."""
        twins = self.twins
        with twins.lock:
            queued = twins.queued_shift()
            before = len(twins.replaced_shifts())
            label = twins.shift_now()
            replaced = twins.replaced_shifts()[before:]
        if queued is not None:
            self.notice = Notice(
                "info", f"Already queued for period {queued.effective}: {plain(label)}."
            )
            return
        text = f"At period {twins.period + 1}: {plain(label)}."
        if replaced:
            text += f" It replaces the shift planned for period {replaced[0][0]}."
        self.notice = Notice("info", text)

    @_guarded
    def set_strategy(self, index: int, name: str) -> None:
        """Firm ``index`` follows strategy ``name`` (starts over)."""
        twins = self.twins
        strategies = list(twins.strategy_names)
        strategies[index] = name
        self._start(
            twins.restart(strategies=strategies),
            f"Firm {index + 1} now follows '{plain(name)}': started over at period 0.",
        )

    @_guarded
    def change_firm(self, index: int, field: str, value: float | str) -> None:
        """A live change of firm ``index``'s ``alpha``, ``sensing``, ``coordination``,
        ``communication`` or one department's alignment (``alpha.<department>``)."""
        key = f"{field}-{index}"
        try:
            self.twins.change_firm(index, **{field: value})
        except ControlError as exc:
            self.field_errors[key] = str(exc)
            raise
        self._accepted(key)

    @_guarded
    def set_seed(self, value: str | int) -> None:
        """Another market for both firms (starts over)."""
        try:
            seed = parse_seed(value)
        except ControlError as exc:
            self.field_errors["seed"] = str(exc)
            raise
        self._start(self.twins.restart(seed=seed), f"Market {seed}: started over.")

    @_guarded
    def set_costs(self, value: str | float) -> None:
        """The scenario's coordination costs times ``value``, from the next period."""
        try:
            factor = parse_number(value, what="coordination costs", low=0.0, high=MAX_COST_FACTOR)
            self.twins.change_cost_factor(factor)
        except ControlError as exc:
            self.field_errors["costs"] = str(exc)
            raise
        self._accepted("costs")

    def _accepted(self, key: str) -> None:
        """A valid value: its field's error and a stale error message go."""
        self.field_errors.pop(key, None)
        if self.notice.kind == "error":
            self.notice = Notice()

    # ---- playing ----
    @_guarded
    def set_speed(self, value: float | str) -> None:
        """Periods per second while playing."""
        self.speed = parse_number(value, what="speed", low=SPEED_MIN, high=SPEED_MAX)

    @_guarded
    def toggle_play(self) -> None:
        """Play, or pause (no period starts once paused)."""
        if self.playing:
            self.pause_now()
            return
        if self.twins.finished:
            self.notice = Notice("info", "The run is over: reset to start again.")
            return
        self._stop.clear()
        self.drawn_period = self.twins.period  # on screen now
        self.playing = True
        if self.notice.kind == "info":
            self.notice = Notice()

    def pause_now(self) -> None:
        """Stop playing at once: the play loop starts no other period (it checks before each
        one, under the session's lock, so a period under way ends first)."""
        self.playing = False
        self._stop.set()
        self._drawn.set()  # a frame waiting for the browser stops waiting

    def play(self, cancel: threading.Event | None = None) -> None:
        """The play loop (in a thread) until paused or over: ``speed`` periods a second, a
        frame every ``1 / speed`` seconds (at least `FRAME_S` apart, so several periods in a
        frame only above 30 a second or on a machine that falls behind, at most
        `MAX_PERIODS_PER_FRAME`: a slow machine plays slower, never in jumps). A frame tells
        the ``frame_listeners``; with a chart on screen, a frame is one period and play keeps
        within `LEAD_PERIODS` of the browser's drawings; the whole page is told every `PAGE_S`
        and when play stops."""
        cancel = cancel or threading.Event()

        def running() -> bool:
            return self.playing and not cancel.is_set() and not self._stop.is_set()

        credit = 1.0  # periods due: the first at once
        last = last_page = time.perf_counter()
        twins = self.twins
        told = True  # the whole page shows the period reached
        while running():
            frame_start = time.perf_counter()
            # a period due to within rounding is due: else a frame slips by FRAME_S
            periods = min(int(credit + 1e-9), MAX_PERIODS_PER_FRAME, self._room(running))
            credit = min(credit - periods, 1.0)  # no backlog: behind, it plays slower
            advanced = 0
            try:
                for _ in range(periods):
                    with twins.lock:
                        if not running() or not twins.step():
                            break
                    advanced += 1
            except Exception as exc:  # never a dead page: say so, and pause
                log.exception("play")
                self.playing = False
                self.notice = Notice(
                    "error", f"Something went wrong while playing ({exc}); paused."
                )
                self.changed()
                return
            if advanced:
                self.framed()
                told = False
            # over, paused or cancelled within the frame
            stopped = twins.finished or advanced < periods
            if twins.finished:
                self.playing = False
                self.notice = Notice(
                    "info", "The run is over: look at the debrief, or reset to start again."
                )
            now = time.perf_counter()
            if twins.finished or (not told and (stopped or now - last_page >= PAGE_S)):
                self.changed()
                told, last_page = True, time.perf_counter()
            if stopped:
                return
            # until the next period is due, and always a moment for the buttons
            wait = max((1.0 - credit) / self.speed, FRAME_S - (time.perf_counter() - frame_start))
            self._stop.wait(max(wait, 0.005))
            now = time.perf_counter()
            credit += (now - last) * self.speed
            last = now
        if not told:  # paused between frames: the whole page as it stopped
            self.changed()

    # ---- layout ----
    @_guarded
    def set_layout(self, layout: str) -> None:
        """``presentation`` (one large view at a time), ``desk`` (all views) or ``auto``
        (presentation up to 1440 px wide)."""
        if layout not in LAYOUTS:
            raise ControlError(f"layout: expected one of {', '.join(LAYOUTS)}, got {layout!r}")
        self.layout = layout
        self.drawer_open = False

    @_guarded
    def show(self, view: str) -> None:
        """The view presentation mode shows."""
        if view not in VIEWS:
            raise ControlError(f"view: expected one of {', '.join(VIEWS)}, got {view!r}")
        self.view = view

    @_guarded
    def toggle_drawer(self) -> None:
        """Open or close the controls' drawer (presentation mode)."""
        self.drawer_open = not self.drawer_open

    @_guarded
    def toggle_info(self) -> None:
        """Open or close the Info panel (the story, how the model works, words, things to do)."""
        self.info_open = not self.info_open

    # ---- the debrief ----
    def run_debrief(self, progress: Callable[[int], None] | None = None) -> None:
        """The same setting in `DEBRIEF_SEEDS` markets (in a thread; errors become a notice)."""
        self.debrief_progress = 0

        def tick(k: int) -> None:
            self.debrief_progress = k
            if progress is not None:
                progress(k)
            self.changed()

        try:
            self.screen.run_debrief(DEBRIEF_SEEDS, progress=tick)
        except Exception as exc:
            log.exception("debrief")
            self.notice = Notice("error", f"The debrief failed: {exc}")
        finally:
            self.debrief_progress = None
            self.changed()

    # ---- the link ----
    @_guarded
    def link_copied(self, link: str) -> None:
        """The browser copied the page's link: say so (with the link, to copy by hand)."""
        self.notice = Notice("info", f"Link copied: {link}")

    def query(self) -> str:
        """The lesson as a URL query: scenario, market, speed, firm settings, live changes and
        period (`open_query` rebuilds it)."""
        twins = self.twins
        fields: dict[str, str] = {
            "scenario": twins.scenario.name,
            "market": str(twins.seed),
            "speed": f"{self.speed:g}",
            "firms": ",".join(twins.strategy_names),
        }
        for i, spec in enumerate(twins.initial_settings):
            default = twins.scenario.all_strategies[twins.strategy_names[i]]
            for key in ("alpha", "sensing", "coordination", "communication"):
                value = getattr(spec, key)
                if isinstance(value, dict):  # alpha per department: each one that differs
                    names = [d.name for d in twins.scenario.departments]
                    before = dict(zip(names, twins.scenario.alpha_of(default), strict=True))
                    for department, alpha in value.items():
                        if alpha != before[department]:
                            fields[f"alpha{i + 1}.{department}"] = f"{alpha:g}"
                elif value != getattr(default, key):
                    fields[f"{key}{i + 1}"] = f"{value:g}" if isinstance(value, float) else value
        if twins.initial_cost_factor != 1.0:
            fields["costs"] = f"{twins.initial_cost_factor:g}"
        changes = [_encode(c) for c in twins.interventions]
        if changes:
            fields["changes"] = ";".join(changes)
        fields["period"] = str(twins.period)
        if self.layout != "auto":
            fields["layout"] = self.layout
        return urlencode(fields, safe=",;:=")

    @_guarded
    def open_query(self, search: str) -> None:
        """Rebuild the lesson a link describes (see `query`), to the same period."""
        raw = {k: v[-1] for k, v in parse_qs(search.lstrip("?")).items()}
        if not raw:
            return
        name = raw.get("scenario", self.scenario_name)
        if name not in self.scenarios:
            raise ControlError(
                f"link: scenario must be one of {', '.join(self.scenarios)}, got {name!r}"
            )
        scenario = self.scenarios[name]
        seed = parse_seed(raw.get("market", scenario.classroom_seed))
        names = tuple(raw.get("firms", "").split(",")) if raw.get("firms") else None
        twins = TwinFirms(scenario, seed=seed, **({"strategies": names} if names else {}))
        settings = []
        for i, spec in enumerate(twins.initial_settings):
            update: dict[str, object] = {}
            for key in ("alpha", "sensing", "communication"):
                if f"{key}{i + 1}" in raw:
                    update[key] = parse_number(raw[f"{key}{i + 1}"], what=key, low=0, high=1)
            mode = raw.get(f"coordination{i + 1}")
            if mode is not None:
                update["coordination"] = parse_mode(mode, what=f"link: coordination{i + 1}")
            per_department = {
                k.partition(".")[2]: v for k, v in raw.items() if k.startswith(f"alpha{i + 1}.")
            }
            if per_department:  # alpha per department: the others keep theirs
                names = [d.name for d in scenario.departments]
                alone = StrategySpec.model_validate({**spec.model_dump(), **update})
                alphas = dict(zip(names, scenario.alpha_of(alone), strict=True))
                for department, value in per_department.items():
                    if department not in names:
                        raise ControlError(
                            f"link: alpha{i + 1}.{department}: no such department; "
                            f"allowed: {', '.join(names)}"
                        )
                    alphas[department] = parse_number(
                        value, what=f"alpha{i + 1}.{department}", low=0, high=1
                    )
                update["alpha"] = alphas
            settings.append(StrategySpec.model_validate({**spec.model_dump(), **update}))
        factor = parse_number(raw.get("costs", 1), what="costs", low=0, high=MAX_COST_FACTOR)
        twins = TwinFirms(
            scenario,
            strategies=twins.strategy_names,
            seed=seed,
            cost_factor=factor,
            settings=settings,
        )
        plan = [_decode(text) for text in raw.get("changes", "").split(";") if text]
        period = int(
            parse_number(raw.get("period", 0), what="period", low=0, high=scenario.horizon)
        )
        twins.replay(plan, until=period)
        self.scenario_name = name
        self.speed = parse_number(
            raw.get("speed", self.speed), what="speed", low=SPEED_MIN, high=SPEED_MAX
        )
        if raw.get("layout") in LAYOUTS:
            self.layout = raw["layout"]
        self._start(twins, f"The lesson of the link: market {seed}, period {period}.")


def _encode(change: Intervention) -> str:
    """A live change in a link: ``PERIOD:shift:REGIME``, ``PERIOD:costs:X`` or
    ``PERIOD:firmN:field=value,...``."""
    if change.kind == "shift":
        return f"{change.period}:shift:{change.regime}"
    if change.kind == "costs":
        return f"{change.period}:costs:{change.cost_factor:g}"
    pairs = ",".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in change.changes
    )
    return f"{change.period}:firm{change.firm + 1}:{pairs}"


def _decode(text: str) -> Intervention:
    """A live change from a link (see `_encode`); a `ControlError` naming what is wrong."""
    try:
        period_text, kind, rest = text.split(":", 2)
        period = int(period_text)
        if kind == "shift":
            return Intervention(period, "shift", "", regime=rest)
        if kind == "costs":
            factor = parse_number(rest, what="costs", low=0, high=MAX_COST_FACTOR)
            return Intervention(period, "costs", "", cost_factor=factor)
        if kind in ("firm1", "firm2"):
            pairs = dict(item.split("=", 1) for item in rest.split(","))
            return Intervention(
                period, "strategy", "", firm=int(kind[-1]) - 1, changes=tuple(pairs.items())
            )
    except (ValueError, TypeError):
        pass
    raise ControlError(f"link: a change must read PERIOD:shift|costs|firmN:..., got {text!r}")
