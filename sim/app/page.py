"""The classroom page's components: twin firms in one market, live in the browser (Solara).

`Classroom` is the whole page (`sim.app.app.Page` shows it). Everything the page does to
the model goes through `sim.app.state.TwinFirms`; the figures come from `sim.app.views`.
Every handler catches its own errors and shows them as a message: a bad value typed into a
control, or anything unexpected, never crashes the page.

Redraws stay cheap: a period bumps one reactive counter (``version``), and only the
components that read it (the period, the numbers, the figures, the decisions) render again.
"""

from __future__ import annotations

import contextlib
import functools
import html
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import reacton.core
import reacton.ipyvuetify as rv
import solara

from sim.app import spare
from sim.app.state import (
    DEBRIEF_SEEDS,
    MAX_COST_FACTOR,
    ControlError,
    TwinFirms,
    classroom_scenarios,
    parse_number,
    parse_seed,
    plain,
)
from sim.app.views import Screen, decisions_table, firm_colours
from sim.scenario import Scenario
from sim.scenario.schema import COORDINATION_MODES

log = logging.getLogger(__name__)

#: Pause between periods while playing, in seconds, by speed.
SPEEDS: dict[str, float] = {"slow": 1.0, "normal": 0.3, "fast": 0.0}
VIEW_TITLES: dict[str, str] = {
    "over_time": "Over time",
    "sailing": "Sailing in circles",
    "departments": "The departments as a network",
}
VIEW_HELP: dict[str, str] = {
    "over_time": "Both firms in the same market, month by month. Dashed line: a market shift.",
    "sailing": "Left: where each firm stands. Right: how far it has sailed (decisions "
    "changed) against how far it still is from the best set-up for today's customers (its "
    "port).",
    "departments": "Each circle is a department, coloured by its own efficiency (scale on the "
    "right): silos can each be efficient while the firm sails in circles.",
}
MODE_WORDS: dict[str, str] = {
    "decentralized": "decentralized (each alone)",
    "sequential": "sequential (one after another)",
    "hierarchical": "hierarchical (the owner chooses)",
}

CSS = """
.app-header { display: flex; flex-wrap: wrap; align-items: center; gap: 10px 18px;
  padding: 10px 18px; background: #1d3557; color: white; }
.app-header h1 { font-size: 27px; margin: 0; line-height: 1.15; font-weight: 700; }
.app-header .subtitle { opacity: 0.9; font-size: 16px; }
.period-badge { font-size: 26px; font-weight: 700; margin-left: auto; white-space: nowrap; }
.scenario-buttons { display: flex; flex-wrap: wrap; gap: 8px; }
.scenario-buttons .v-btn { font-size: 15px !important; }
.classroom { display: grid; grid-template-columns: 390px minmax(0, 1fr); gap: 18px;
  padding: 12px 18px; align-items: start; }
.controls-column { position: sticky; top: 8px; max-height: calc(100vh - 16px);
  overflow-y: auto; padding: 2px 4px 2px 2px; }
.classroom .v-card { margin-bottom: 14px !important; }
.classroom .v-card__text, .classroom .v-card { font-size: 16px !important; }
.classroom h2 { font-size: 22px; margin: 0 0 4px 0; font-weight: 700; color: #1d3557; }
.classroom h3 { font-size: 18px; margin: 10px 0 4px 0; font-weight: 700; }
.classroom .v-input, .classroom .v-select__selection, .classroom input {
  font-size: 17px !important; }
.classroom .v-label { font-size: 18px !important; color: #333 !important; }
.classroom .v-messages__message { font-size: 14px; line-height: 1.3; }
.run-controls .v-btn { font-size: 16px !important; }
.shift-button { margin: 10px 0 6px 0; height: 46px !important; font-size: 17px !important; }
.app-notice { font-size: 16px; }
.story, .story p, .story li { font-size: 17px; line-height: 1.45; color: #222; }
.story p { margin: 4px 0 8px 0; }
.story ul { margin: 0 0 4px 0; }
.scoreboard { display: grid; grid-template-columns: 1fr 1fr; gap: 14px; margin-bottom: 14px; }
.score { border-left: 12px solid; padding: 8px 16px; background: white; border-radius: 4px;
  box-shadow: 0 1px 3px rgba(0,0,0,0.2); }
.score .name { font-size: 23px; font-weight: 700; }
.score .status { font-size: 15px; color: #333; margin-bottom: 2px; }
.score .status.closed { color: #b00020; font-weight: 700; }
.score table { width: 100%; font-size: 20px; border-collapse: collapse; }
.score td { padding: 1px 0; }
.score td.value { text-align: right; font-weight: 700; font-variant-numeric: tabular-nums; }
.firm-card-title { font-size: 19px; font-weight: 700; padding: 4px 10px; color: white;
  border-radius: 4px; margin-bottom: 6px; }
.firm-cost { font-size: 15px; color: #333; margin-top: 4px; }
.shift-log { font-size: 17px; margin: 6px 0 0 0; }
.shift-log .shift-done { font-weight: 700; }
.shift-log .none { color: #666; }
table.decisions { border-collapse: collapse; font-size: 17px; width: 100%; }
table.decisions th, table.decisions td { padding: 3px 10px; border-bottom: 1px solid #e3e3e3;
  text-align: left; }
table.decisions tr.dept td { font-weight: 700; background: #eef2f6; }
table.decisions td.yes { color: #111; font-weight: 700; }
table.decisions td.no { color: #777; }
table.decisions td.changed { background: #ffd58a; font-weight: 700; }
table.decisions td.changed span { font-size: 12px; color: #7a4b00; text-transform: uppercase;
  margin-left: 6px; }
table.decisions td.want { color: #1d3557; font-weight: 700; }
.help { color: #333; font-size: 16px; margin: 0 0 6px 0; }
.verdict { font-size: 20px; font-weight: 700; color: #1d3557; }
.view-image { width: 100%; height: auto; display: block; }
"""


def _guard(report: Callable[[str], None], batch: Any = None) -> Callable:
    """Wrap a handler so that any error becomes a message on the page, never a crash.

    With ``batch`` (the page's render context), all the state the handler changes is redrawn
    in one pass instead of one pass per change.
    """

    def wrap(handler: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(handler)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            try:
                with batch if batch is not None else contextlib.nullcontext():
                    return handler(*args, **kwargs)
            except ControlError as exc:
                report(str(exc))
            except Exception as exc:
                log.exception("error in %s", getattr(handler, "__name__", "handler"))
                report(f"Something went wrong ({type(exc).__name__}: {exc}); the run is kept.")
            return None

        return guarded

    return wrap


def _fmt(value: float, digits: int = 2) -> str:
    return "—" if value != value else f"{value:,.{digits}f}"


def in_this_session(target: Callable[[], None]) -> Callable[[], None]:
    """``target``, to run in another thread within the current Solara kernel context."""
    try:
        from solara.server import kernel_context

        context = kernel_context.get_current_context()
    except Exception:  # no server (component tests): run as is
        return target

    def run() -> None:
        with context:
            target()

    return run


# ---- pieces that change every period ----


@solara.component
def PeriodBadge(screen: Screen, version: solara.Reactive[int]) -> None:
    """The period, in the header."""
    version.value  # noqa: B018 - subscribe: redraw every period
    twins = screen.twins
    solara.HTML(
        unsafe_innerHTML=f"Period {twins.period} of {twins.horizon}", classes=["period-badge"]
    )


@solara.component
def Scoreboard(screen: Screen, version: solara.Reactive[int]) -> None:
    """Both firms' numbers this period, large enough for the back of the room."""
    version.value  # noqa: B018
    twins = screen.twins
    colours = firm_colours(twins.strategy_names)
    unit = twins.scenario.money_unit
    stock = unit.partition(" per ")[0]
    cells = []
    for i in range(2):
        f = twins.firm_view(i)
        if f.alive:
            status, closed = "in business", ""
        else:
            exit_period = int(twins.firms[i].log.bools["alive"].sum())
            status, closed = f"closed at period {exit_period}: out of cash", " closed"
        rows = [
            ("efficiency", _fmt(f.efficiency)),
            ("market value", _fmt(f.market_value)),
            (f"profit ({unit})", _fmt(f.profit, 1)),
            (f"cash ({stock})", _fmt(f.cash, 0)),
            ("miles sailed", str(f.miles)),
            ("distance to port", str(f.distance_to_port)),
        ]
        table = "".join(
            f'<tr><td>{html.escape(k)}</td><td class="value">{val}</td></tr>' for k, val in rows
        )
        cells.append(
            f'<div class="score score-firm-{i}" style="border-color:{colours[i]}">'
            f'<div class="name" style="color:{colours[i]}">{html.escape(f.label)}</div>'
            f'<div class="status{closed}">{html.escape(status)}</div><table>{table}</table>'
            "</div>"
        )
    solara.HTML(unsafe_innerHTML="".join(cells), classes=["scoreboard"])


@solara.component
def ShiftLog(screen: Screen, version: solara.Reactive[int]) -> None:
    """The market shifts so far, and those still to come, in words."""
    version.value  # noqa: B018
    twins = screen.twins
    done = [
        f'<span class="shift-done">period {p}: {html.escape(plain(label))}</span>'
        for p, label in twins.shifts()
    ]
    text = "Market shifts so far: " + (
        "; ".join(done) if done else '<span class="none">none</span>'
    )
    to_come = twins.scheduled_shifts()
    if to_come:
        text += " &nbsp;·&nbsp; to come: " + ", ".join(f"period {p}" for p, _ in to_come)
    solara.HTML(tag="p", unsafe_innerHTML=text, classes=["shift-log"])


@solara.component
def LiveImage(screen: Screen, name: str, version: solara.Reactive[int]) -> None:
    """One live view as an image, redrawn when ``version`` changes."""
    png = screen.frame(name, version.value)
    solara.Image(png, width="100%", classes=["view-image", f"view-{name}"])


@solara.component
def Decisions(screen: Screen, version: solara.Reactive[int]) -> None:
    """The decisions' table (redrawn every period)."""
    version.value  # noqa: B018
    solara.HTML(unsafe_innerHTML=decisions_table(screen.twins), classes=["decisions-table"])


@solara.component
def FirmCost(screen: Screen, index: int, version: solara.Reactive[int]) -> None:
    """What coordination costs firm ``index`` per period now (live changes included)."""
    version.value  # noqa: B018
    twins = screen.twins
    cost = twins.firms[index].coordination_cost
    unit = html.escape(twins.scenario.money_unit)
    solara.HTML(
        unsafe_innerHTML=f"Coordination costs it {cost:.1f} {unit}.",
        classes=["firm-cost", f"firm-cost-{index}"],
    )


# ---- pieces that change when the setting changes ----


@solara.component
def ScenarioButtons(
    scenarios: dict[str, Scenario], current: str, on_choose: Callable[[str], None]
) -> None:
    """One click per scenario."""
    with solara.Div(classes=["scenario-buttons"]):
        for name in scenarios:
            chosen = name == current
            solara.Button(
                label=plain(name),
                on_click=functools.partial(on_choose, name),
                color="white" if chosen else None,
                outlined=not chosen,
                classes=["scenario-button", f"scenario-{name}"],
                style={"color": "#1d3557" if chosen else "white"},
            )


@solara.component
def Story(scenario: Scenario) -> None:
    """The scenario's story in plain words, with things to notice and to try (NetLogo's Info)."""
    notice = "".join(f"<li>{html.escape(t)}</li>" for t in scenario.things_to_notice)
    tries = "".join(f"<li>{html.escape(t)}</li>" for t in scenario.things_to_try)
    story = " ".join(scenario.story.split())
    body = f"<h2>{html.escape(scenario.title or plain(scenario.name))}</h2>"
    if story:
        body += f"<p>{html.escape(story)}</p>"
    if notice:
        body += f"<h3>Things to notice</h3><ul>{notice}</ul>"
    if tries:
        body += f"<h3>Things to try</h3><ul>{tries}</ul>"
    with solara.Card(classes=["story-card"]):
        solara.HTML(unsafe_innerHTML=body, classes=["story"])


@solara.component
def NumberControl(
    label: str,
    initial: str,
    apply: Callable[[str], None],
    report: Callable[[str], None],
    classes: list[str],
    hint: str = "",
) -> None:
    """A typed number: applied when valid, otherwise a visible message and nothing changes."""
    text, set_text = solara.use_state(initial)
    error, set_error = solara.use_state("")

    def on_value(value: str | None) -> None:
        set_text(value or "")
        try:
            apply(value or "")
        except ControlError as exc:
            set_error(str(exc))
            report(str(exc))
            return
        except Exception as exc:  # never crash the page
            log.exception("control %s", label)
            set_error(str(exc))
            report(str(exc))
            return
        set_error("")

    solara.InputText(
        label,
        value=text,
        on_value=on_value,
        error=error or False,
        message=error or hint or None,
        classes=classes,
        continuous_update=False,
    )


@solara.component
def Choice(
    label: str,
    items: dict[str, str],
    value: str,
    on_value: Callable[[str], None],
    classes: list[str],
) -> None:
    """A drop-down showing words for identifiers (``items``: identifier -> words)."""
    rv.Select(
        label=label,
        items=[{"text": words, "value": key} for key, words in items.items()],
        v_model=value,
        on_v_model=on_value,
        class_=" ".join(classes),
        hide_details=True,
    )


@solara.component
def FirmControls(
    screen: Screen,
    index: int,
    version: solara.Reactive[int],
    on_strategy: Callable[[int, str], None],
    bump: Callable[[], None],
    report: Callable[[str], None],
) -> None:
    """One firm's strategy and live settings (alignment, sensing, coordination mode)."""
    twins = screen.twins
    spec = twins.settings(index)
    colour = firm_colours(twins.strategy_names)[index]
    alphas = twins.scenario.alpha_of(spec)
    mode, set_mode = solara.use_state(spec.coordination)

    def apply_alpha(text: str) -> None:
        twins.change_firm(index, alpha=text)
        bump()

    def apply_sensing(text: str) -> None:
        twins.change_firm(index, sensing=text)
        bump()

    @_guard(report)
    def on_mode(value: str) -> None:
        twins.change_firm(index, coordination=value)
        set_mode(value)
        bump()

    with solara.Card(classes=["firm-controls", f"firm-controls-{index}"]):
        solara.HTML(
            unsafe_innerHTML=f"Firm {index + 1}: {html.escape(twins.labels[index])}",
            classes=["firm-card-title"],
            style=f"background:{colour}",
        )
        Choice(
            "strategy (starts over)",
            {name: plain(name) for name in twins.scenario.all_strategies},
            twins.strategy_names[index],
            lambda name: on_strategy(index, name),
            classes=[f"strategy-{index}"],
        )
        NumberControl(
            "alignment coupling α (0 to 1)",
            f"{sum(alphas) / len(alphas):g}",
            apply_alpha,
            report,
            classes=[f"alpha-{index}"],
            hint="0: each department chases its own efficiency; 1: only the firm's strategy",
        )
        NumberControl(
            "sensing (0 to 1)",
            f"{spec.sensing:g}",
            apply_sensing,
            report,
            classes=[f"sensing-{index}"],
            hint="share of the market's change the firm notices per month",
        )
        Choice(
            "coordination mode",
            {m: MODE_WORDS.get(m, plain(m)) for m in COORDINATION_MODES},
            mode,
            on_mode,
            classes=[f"mode-{index}"],
        )
        FirmCost(screen, index, version)


@solara.component
def DebriefPanel(screen: Screen, version: solara.Reactive[int]) -> None:
    """After a run: the same setting in 30 markets, so the class sees it was not luck."""
    version.value  # noqa: B018
    twins = screen.twins
    progress, set_progress = solara.use_state(0)
    running, set_running = solara.use_state(False)
    error, set_error = solara.use_state("")
    batch = reacton.core.get_render_context()

    def compute() -> None:
        try:
            screen.run_debrief(DEBRIEF_SEEDS, progress=set_progress)
        except Exception as exc:  # never crash the page
            log.exception("debrief")
            set_error(f"The debrief failed: {exc}")
        finally:
            with batch:
                set_running(False)
                version.set(version.value + 1)

    def start() -> None:
        set_running(True)
        set_error("")
        set_progress(0)
        threading.Thread(target=in_this_session(compute), daemon=True).start()

    with solara.Card(classes=["card-debrief"]):
        solara.HTML(
            tag="h2",
            unsafe_innerHTML=f"Debrief: was it luck? The same setting in {DEBRIEF_SEEDS} markets",
        )
        if screen.debrief is not None:
            solara.HTML(
                tag="p",
                unsafe_innerHTML=html.escape(screen.debrief.verdict()),
                classes=["verdict"],
            )
            solara.Image(screen.debrief_png(), width="100%", classes=["view-image", "view-debrief"])
        elif twins.finished:
            solara.HTML(
                tag="p",
                unsafe_innerHTML=f"The same start and every change you made, at the same "
                f"periods, in {DEBRIEF_SEEDS} markets (seeds): thin lines one market each, bold "
                "lines the mean.",
                classes=["help"],
            )
            solara.Button(
                f"Run {DEBRIEF_SEEDS} markets",
                on_click=start,
                disabled=running,
                color="primary",
                classes=["debrief-button"],
            )
        else:
            solara.HTML(
                tag="p",
                unsafe_innerHTML=f"When the run reaches period {twins.horizon}, run the same "
                f"setting (the same start and every change you made, at the same periods) in "
                f"{DEBRIEF_SEEDS} markets.",
                classes=["help"],
            )
        if running:
            solara.ProgressLinear(100 * progress / DEBRIEF_SEEDS)
        if error:
            solara.Error(error, classes=["app-error"])


@solara.component
def ExportCard(screen: Screen, version: solara.Reactive[int]) -> None:
    """The current figures as PNG, the run's data as CSV."""
    version.value  # noqa: B018 - file names carry the period
    twins = screen.twins
    stem = f"{twins.scenario.name}_seed{twins.seed}_period{twins.period}"
    # the same callables from render to render: a new one would make FileDownload restart
    exports = solara.use_memo(
        lambda: {
            **{name: functools.partial(screen.export, name) for name in (*VIEW_TITLES, "debrief")},
            "csv": screen.twins.to_csv,
        },
        [screen],
    )
    with solara.Card(classes=["export"]):
        solara.HTML(tag="h3", unsafe_innerHTML="Take away")
        for name, title in VIEW_TITLES.items():
            solara.FileDownload(
                exports[name],
                filename=f"{stem}_{name}.png",
                label=f"{title} (PNG)",
                mime_type="image/png",
            )
        if screen.debrief is not None:
            solara.FileDownload(
                exports["debrief"],
                filename=f"{twins.scenario.name}_seed{twins.seed}_debrief.png",
                label="Debrief (PNG)",
                mime_type="image/png",
            )
        solara.FileDownload(
            exports["csv"],
            filename=f"{stem}.csv",
            label="The run's data (CSV)",
            mime_type="text/csv",
        )


# ---- the page ----


@solara.component
def Classroom() -> None:
    """The classroom: pick a scenario, play, change things live, shift the market, debrief."""
    scenarios, broken = solara.use_memo(classroom_scenarios, [])
    names = list(scenarios)
    chosen = solara.use_reactive(names[0] if names else "")
    seed = solara.use_reactive(scenarios[names[0]].classroom_seed if names else 0)
    first = solara.use_memo(lambda: spare.take(scenarios[names[0]]) if names else None, [])
    screen = solara.use_reactive(first)
    version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive("normal")
    notice = solara.use_reactive(("", ""))  # (kind, text): kind "error" or "info"
    batch = reacton.core.get_render_context()

    def report(text: str) -> None:
        notice.set(("error", text))

    def inform(text: str) -> None:
        notice.set(("info", text))

    def bump() -> None:
        with batch:  # one redraw pass for every view that shows the period
            version.set(version.value + 1)

    guard = _guard(report, batch)

    def start_over(twins: TwinFirms, text: str) -> None:
        playing.set(False)
        screen.set(Screen(twins))
        bump()
        inform(text)

    @guard
    def choose(name: str) -> None:
        scenario = scenarios[name]  # opens at its typical market
        start_over(
            TwinFirms(scenario),
            f"{scenario.title or plain(name)}: market {scenario.classroom_seed}, period 0, "
            "press play.",
        )
        seed.set(scenario.classroom_seed)
        chosen.set(name)

    @guard
    def step() -> None:
        if screen.value.twins.step():
            bump()
            if notice.value[0]:
                notice.set(("", ""))
        else:
            inform("The run is over: look at the debrief, or reset to start again.")

    @guard
    def reset() -> None:
        start_over(
            screen.value.twins.restart(), "Started over at period 0 with the settings shown."
        )

    @guard
    def shift() -> None:
        twins = screen.value.twins
        label = twins.shift_now()
        bump()
        inform(f"At period {twins.period + 1}: {plain(label)}.")

    @guard
    def toggle_play() -> None:
        twins = screen.value.twins
        if not playing.value and twins.finished:
            inform("The run is over: reset to start again.")
            return
        with twins.lock:  # no period starts once "Pause" is pressed
            playing.set(not playing.value)

    @guard
    def on_strategy(index: int, name: str) -> None:
        twins = screen.value.twins
        strategies = list(twins.strategy_names)
        strategies[index] = name
        start_over(
            twins.restart(strategies=strategies),
            f"Firm {index + 1} now follows '{plain(name)}': started over at period 0.",
        )

    def apply_seed(text: str) -> None:
        value = parse_seed(text)
        seed.set(value)
        start_over(screen.value.twins.restart(seed=value), f"Market {value}: started over.")

    def apply_costs(text: str) -> None:
        parse_number(text, what="coordination costs", low=0.0, high=MAX_COST_FACTOR)
        screen.value.twins.change_cost_factor(text)
        bump()

    def play_loop(cancel: threading.Event) -> None:
        while playing.value and not cancel.is_set():
            started = time.perf_counter()
            twins = screen.value.twins
            try:
                with twins.lock:
                    if not playing.value or cancel.is_set():
                        return
                    advanced = twins.step()
            except Exception as exc:
                log.exception("play")
                report(f"Something went wrong while playing ({exc}); paused.")
                playing.set(False)
                return
            if not advanced:
                playing.set(False)
                inform("The run is over: look at the debrief below, or reset to start again.")
                return
            bump()
            pause = SPEEDS.get(speed.value, 0.3) - (time.perf_counter() - started)
            cancel.wait(max(pause, 0.005))  # always yield a moment to the buttons

    solara.use_thread(play_loop, dependencies=[playing.value], intrusive_cancel=False)

    solara.Title("smb-sim classroom: an efficient ship sailing in circles")
    solara.Style(CSS)
    if screen.value is None:
        solara.Error(
            "No scenario to show: scenarios/ has none a class can use. "
            + "; ".join(f"{k}: {m}" for k, m in broken.items()),
            classes=["app-error"],
        )
        return
    current = screen.value
    twins = current.twins
    with solara.Div(classes=["app-header"]):
        solara.HTML(
            unsafe_innerHTML="<h1>An efficient ship sailing in circles</h1>"
            '<div class="subtitle">two firms, one market: departments chasing their own '
            "efficiency, or aligned to a strategy</div>",
        )
        ScenarioButtons(scenarios, chosen.value, choose)
        PeriodBadge(current, version)
    kind, text = notice.value
    with solara.Div(classes=["classroom"]):
        with solara.Div(classes=["controls-column"]):
            with solara.Card(classes=["run-controls"]):
                with solara.Row(gap="8px"):
                    solara.Button(
                        "Pause" if playing.value else "Play",
                        icon_name="mdi-pause" if playing.value else "mdi-play",
                        on_click=toggle_play,
                        color="primary",
                        classes=["play-button"],
                    )
                    solara.Button(
                        "Step",
                        icon_name="mdi-step-forward",
                        on_click=step,
                        disabled=playing.value,
                        classes=["step-button"],
                    )
                    solara.Button(
                        "Reset", icon_name="mdi-restart", on_click=reset, classes=["reset-button"]
                    )
                with solara.Row(gap="8px", style={"align-items": "center", "margin-top": "8px"}):
                    solara.Text("speed")
                    solara.ToggleButtonsSingle(
                        value=speed.value, values=list(SPEEDS), on_value=speed.set, dense=True
                    )
                solara.Button(
                    "Shift the market now",
                    icon_name="mdi-swap-horizontal-bold",
                    on_click=shift,
                    color="warning",
                    block=True,
                    classes=["shift-button"],
                )
                if text:
                    if kind == "error":
                        solara.Error(text, classes=["app-notice", "app-error"])
                    else:
                        solara.Info(text, classes=["app-notice", "app-info"])
                NumberControl(
                    "market (seed)",
                    str(seed.value),
                    apply_seed,
                    report,
                    classes=["seed"],
                    hint="the same market for both firms; another number, another market",
                ).key(f"seed-{id(current)}")
                NumberControl(
                    f"coordination costs × (0 to {MAX_COST_FACTOR:g})",
                    f"{twins.cost_factor:g}",
                    apply_costs,
                    report,
                    classes=["cost-factor"],
                    hint="times the scenario's costs of meetings, alignment and market research",
                ).key(f"costs-{id(current)}")
            for i in range(2):
                FirmControls(current, i, version, on_strategy, bump, report).key(
                    f"firm-{i}-{id(current)}"
                )
            ExportCard(current, version)
        with solara.Div(classes=["views-column"]):
            if broken:
                solara.Warning(
                    "Some scenarios could not be loaded: "
                    + "; ".join(f"{k}: {m}" for k, m in broken.items())
                )
            Story(twins.scenario)
            Scoreboard(current, version)
            with solara.Card(classes=["card-over_time"]):
                ViewHeading("over_time")
                LiveImage(current, "over_time", version)
                ShiftLog(current, version)
            for name in ("sailing", "departments"):
                with solara.Card(classes=[f"card-{name}"]):
                    ViewHeading(name)
                    LiveImage(current, name, version)
            with solara.Card(classes=["card-decisions"]):
                solara.HTML(tag="h2", unsafe_innerHTML="The decisions")
                solara.HTML(
                    tag="p",
                    unsafe_innerHTML="Each firm's set-up, decision by decision. Highlighted: "
                    "changed this period. Right: what customers want now (— : they do not care).",
                    classes=["help"],
                )
                Decisions(current, version)
            DebriefPanel(current, version)


@solara.component
def ViewHeading(name: str) -> None:
    """A view's title and a line on how to read it."""
    solara.HTML(tag="h2", unsafe_innerHTML=VIEW_TITLES[name])
    solara.HTML(tag="p", unsafe_innerHTML=VIEW_HELP[name], classes=["help"])
