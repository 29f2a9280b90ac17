"""The classroom page's components (Solara): they draw a `sim.app.lesson.Lesson` and call it.

`Classroom` is the whole page (`sim.app.app.Page` shows it). Every button, slider and field
calls one method of the tab's `Lesson`, which changes the lesson and bumps one reactive
counter; the page renders again from the lesson. Only Solara's public API is used; the CSS is
`assets/classroom.css`, and `assets/browser.vue` reports the window's width, keeps the
address bar's link up to date and copies it.
"""

from __future__ import annotations

import contextlib
import functools
import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import solara
import solara.lab

from sim.app import spare
from sim.app.charts import DebriefChart
from sim.app.lesson import SPEED_MAX, SPEED_MIN, VIEWS, Lesson
from sim.app.live import Screen, decisions_table, firm_colours
from sim.app.notes import check_notes, title_claim
from sim.app.server import PLOTLY_URL
from sim.app.state import (
    DEBRIEF_SEEDS,
    MAX_COST_FACTOR,
    ONE_CLICK_SCENARIOS,
    TwinFirms,
    plain,
)
from sim.plots import stock_unit
from sim.scenario import Scenario
from sim.scenario.schema import COORDINATION_MODES, mean_level

ASSETS = Path(__file__).parent / "assets"
#: Below this window width (CSS pixels), the page opens in presentation mode: every
#: projector width up to 1440 (1024, 1280, 1366, 1440; or a wider screen at 125-150% zoom).
PRESENTATION_BELOW_PX = 1441
#: The cookie the page's head leaves the window's width in (`templates/index.html.j2`).
WIDTH_COOKIE = "smb_sim_width"
VIEW_TITLES: dict[str, str] = {
    "over_time": "Over time",
    "sailing": "Sailing in circles",
    "departments": "The departments as a network",
    "decisions": "The decisions",
    "timeline": "Every decision over time",
    "debrief": "Debrief",
}
VIEW_HELP: dict[str, str] = {
    "over_time": "Both firms in the same market, month by month. Dashed upright: a market shift; "
    "dash-dotted upright: a change of yours; dashed line in a firm's colour: that firm without "
    "your changes.",
    "sailing": "Left: where each firm stands. Right: how far it has sailed (decisions "
    "changed) against how far it still is from the best set-up for today's customers (its "
    "port).",
    "departments": "Each circle is a department, coloured by its own efficiency (scale on the "
    "right): silos can each be efficient while the firm sails in circles.",
    "decisions": "Above: how much each department changed, month by month (hover a cell for "
    "which decisions). Below: each firm's set-up, decision by decision. Highlighted: changed "
    "this period. "
    "Right: what customers want now (— : they do not care). An effect line: a designed "
    "effect of the scenario, and whether it acts in each firm now.",
}
MODE_WORDS: dict[str, str] = {
    "decentralized": "decentralized (each alone)",
    "sequential": "sequential (one after another)",
    "hierarchical": "hierarchical (the owner chooses)",
}
HOW_IT_WORKS = (
    "Each firm is a set of yes/no decisions (large batches? a gluten-free line? ...), each "
    "owned by a department. Every month each department proposes changing some of its own "
    "decisions when that scores better by its yardstick: its own efficiency, mixed with "
    "alignment coupling α with what the firm believes customers want. The coordination mode "
    "turns the proposals into the firm's set-up: each department alone, one after another, or "
    "the owner choosing. Sensing is how fast the firm's belief catches up with what customers "
    "want now. Meetings, alignment and market research cost money every month; profit adds "
    "up in cash, and a firm out of cash closes. Both firms face the same market (the same "
    "seed): the same customers, the same shifts, the same start."
)
GLOSSARY: dict[str, str] = {
    "efficiency": "how well the firm does what it does (doing things right), from 0 to 1",
    "market value": "how well what it does fits what customers want now (doing the right "
    "things), from 0 to 1",
    "performance": "the mix of efficiency and market value that earns profit",
    "port": "the best set-up of all decisions for today's customers; it moves when they do",
    "miles": "decisions changed, added up over the run: how far the firm has sailed",
    "heading": "how straight the firm sails: distance made good over miles sailed in the "
    "last 10 months (1: straight, near 0: in circles)",
    "cycling": "coming back to a set-up the firm held before: busy, but sailing in circles",
}


@solara.component_vue("assets/browser.vue")
def BrowserBridge(
    query: str,
    copy_request: int,
    event_viewport: Callable[[int], None],
    event_copied: Callable[[str], None],
) -> None:
    """The window's width (``viewport``), the link in the address bar, copying it."""


@solara.component_vue("assets/plotly_chart.vue")
def PlotlyChart(
    name: str,
    chart_layout: dict,
    traces: list,
    period: int,
    src: str,
    pace: bool = False,
    event_drawn: Callable[[int], None] | None = None,
) -> None:
    """A chart drawn by plotly.js in the browser (`sim.app.charts`); with ``pace`` (while
    playing) ``event_drawn`` gets the period of each drawing done."""


def _fmt(value: float, digits: int = 2) -> str:
    return "—" if value != value else f"{value:,.{digits}f}"


def window_width() -> int:
    """The window's width in CSS pixels as the page's head left it in a cookie before it
    connected (`templates/index.html.j2`); 0 if unknown (the browser then sends it)."""
    text = (solara.lab.cookies.value or {}).get(WIDTH_COOKIE, "")
    return int(text) if text.isdigit() else 0


def presenting(lesson: Lesson, width: int) -> bool:
    """Whether the page shows presentation mode: chosen, or by default up to 1440 px."""
    if lesson.layout == "auto":
        return 0 < width < PRESENTATION_BELOW_PX
    return lesson.layout == "presentation"


# ---- pieces ----


@solara.component
def Scoreboard(twins: TwinFirms, version: int) -> None:
    """Both firms' numbers this period: a table each, or one line each when presenting."""
    colours = firm_colours(twins.strategy_names)
    unit = twins.scenario.money_unit
    stock = stock_unit(unit)
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
        people = [
            (word, value)
            for word, value in (("understood", f.understanding), ("engaged", f.engagement))
            if value is not None
        ]
        rows += [(f"staff {word} (mean)", f"{value:.0%}") for word, value in people]
        extra = []  # resources and purpose, where the scenario has them
        if f.shares is not None:
            rows += [(f"budget share: {name}", f"{v:.0%}") for name, v in f.shares.items()]
            rows.append(("months the budget bound", f"{f.budget_binds:.0%}"))
            extra.append(f"budget bound {f.budget_binds:.0%}")
        if f.impact is not None:
            purpose = twins.scenario.purpose
            rows.append((f"{purpose.name} ({purpose.unit})", _fmt(f.impact, 1)))
            rows.append((f"levy ({unit})", _fmt(f.levy, 1)))
            extra.append(f"{purpose.name.split()[-1]} {_fmt(f.impact, 0)}")
        table = "".join(
            f'<tr><td>{html.escape(k)}</td><td class="value">{val}</td></tr>' for k, val in rows
        )
        items = [
            f"profit {_fmt(f.profit, 1)}",
            f"value {_fmt(f.market_value)}",
            f"efficiency {_fmt(f.efficiency)}",
            f"miles {f.miles}",
            *(f"{word} {value:.0%}" for word, value in people),
            *extra,
        ] + ([] if f.alive else ["closed"])
        line = " · ".join(f'<span class="item">{item}</span>' for item in items)
        cells.append(
            f'<div class="score score-firm-{i}" style="border-color:{colours[i]}">'
            f'<span class="name" style="color:{colours[i]}">'
            f"{html.escape(twins.label_now(i))}</span>"
            f'<span class="short-name" style="color:{colours[i]}">'
            f"{html.escape(twins.label_now(i, short=True))}</span>"
            f'<span class="line">{line}</span>'
            f'<div class="status{closed}">{html.escape(status)}</div><table>{table}</table>'
            "</div>"
        )
    solara.HTML(unsafe_innerHTML="".join(cells), classes=["scoreboard"])


@solara.component
def ShiftLog(twins: TwinFirms, version: int) -> None:
    """The market shifts so far, those to come, and the live changes, in words."""
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
    replaced = twins.replaced_shifts()
    if replaced:
        text += " &nbsp;·&nbsp; replaced by yours: " + ", ".join(f"period {p}" for p, _ in replaced)
    solara.HTML(tag="p", unsafe_innerHTML=text, classes=["shift-log"])
    changes = [
        f"from period {c.effective}: {html.escape(c.label)}"
        for c in twins.interventions
        if c.kind != "shift"
    ]
    if changes:
        solara.HTML(
            tag="p",
            unsafe_innerHTML="Live changes: " + "; ".join(changes),
            classes=["change-log"],
        )


@solara.component
def ScenarioButtons(
    scenarios: dict[str, Scenario], current: str, on_choose: Callable[[str], None]
) -> None:
    """One click per flagship scenario; the others from a list, so that the header keeps one
    row on a projector however many scenarios the folder holds."""
    buttons = [n for n in scenarios if n in ONE_CLICK_SCENARIOS] or list(scenarios)[:3]
    others = {plain(n): n for n in scenarios if n not in buttons}
    with solara.Div(classes=["scenario-buttons"]):
        for name in buttons:
            chosen = name == current
            solara.Button(
                label=plain(name),
                on_click=functools.partial(on_choose, name),
                color="white" if chosen else None,
                outlined=not chosen,
                classes=["scenario-button", f"scenario-{name}"],
                style={"color": "#1d3557" if chosen else "white"},
            )
        if others:

            def choose(label: str | None) -> None:
                if label in others:
                    on_choose(others[label])

            solara.Select(
                label="more scenarios",
                values=list(others),
                value=plain(current) if current in others.values() else None,
                on_value=choose,
                dense=True,
                classes=["scenario-more"],
            )


@solara.component
def InfoPanel(scenario: Scenario) -> None:
    """The story, how the model works, the words used, things to notice and to try."""
    notice = "".join(f"<li>{html.escape(t.text)}</li>" for t in scenario.things_to_notice)
    tries = "".join(f"<li>{html.escape(t)}</li>" for t in scenario.things_to_try)
    words = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in GLOSSARY.items()
    )
    story = " ".join(scenario.story.split())
    body = f"<h2>{html.escape(scenario.title or plain(scenario.name))}</h2>"
    if story:
        body += f"<p>{html.escape(story)}</p>"
    if notice:
        body += f"<h3>Things to notice</h3><ul>{notice}</ul>"
    if tries:
        body += f"<h3>Things to try</h3><ul>{tries}</ul>"
    body += f"<h3>How the model works</h3><p>{html.escape(HOW_IT_WORKS)}</p>"
    body += f"<h3>Words</h3><dl>{words}</dl>"
    with solara.Card(classes=["info-panel"]):
        solara.HTML(unsafe_innerHTML=body, classes=["story"])


@solara.component
def NumberControl(
    label: str,
    value: float,
    low: float,
    high: float,
    step: float,
    apply: Callable[[float | str], None],
    error: str,
    css: str,
    hint: str = "",
) -> None:
    """A slider with a typed field beside it: both apply at once; a bad typed value shows
    its message under the field (and goes as soon as a valid value is applied)."""
    typed, set_typed = solara.use_state("")

    def on_text(text: str | None) -> None:
        set_typed(text or "")
        apply(text or "")

    def on_slide(number: float) -> None:
        set_typed("")
        apply(number)

    shown = typed if (error and typed) else f"{value:g}"
    with solara.Div(classes=["number-control", css]):
        solara.InputText(
            label,
            value=shown,
            on_value=on_text,
            error=error or False,
            message=error or hint or None,
            classes=[f"{css}-input"],
            continuous_update=False,
        )
        solara.SliderFloat(
            "",
            value=min(max(value, low), high),
            min=low,
            max=high,
            step=step,
            on_value=on_slide,
            thumb_label=True,
        )


@solara.component
def FirmControls(lesson: Lesson, index: int, version: int) -> None:
    """One firm's strategy and live settings (alignment, sensing, coordination mode)."""
    twins = lesson.twins
    spec = twins.settings(index)
    colour = firm_colours(twins.strategy_names)[index]
    alphas = twins.scenario.alpha_of(spec)
    errors = lesson.field_errors
    words_to_mode = {MODE_WORDS.get(m, plain(m)): m for m in COORDINATION_MODES}
    plain_to_strategy = {plain(n): n for n in twins.scenario.all_strategies}
    unit = html.escape(twins.scenario.money_unit)
    per_department = solara.use_reactive(False)
    with solara.Card(classes=["firm-controls", f"firm-controls-{index}"]):
        solara.HTML(
            unsafe_innerHTML=f"Firm {index + 1}: {html.escape(twins.label_now(index))}",
            classes=["firm-card-title"],
            style=f"background:{colour}",
        )
        solara.Select(
            "strategy (starts over)",
            values=list(plain_to_strategy),
            value=plain(twins.strategy_names[index]),
            on_value=lambda words: lesson.set_strategy(index, plain_to_strategy[words]),
            classes=[f"strategy-{index}"],
        )
        NumberControl(
            "alignment coupling α (0 to 1)",
            sum(alphas) / len(alphas),
            0.0,
            1.0,
            0.05,
            functools.partial(lesson.change_firm, index, "alpha"),
            errors.get(f"alpha-{index}", ""),
            f"alpha-{index}",
            hint="0: each department chases its own efficiency; 1: only the firm's strategy",
        )
        NumberControl(
            "sensing (0 to 1)",
            mean_level(spec.sensing),  # a table by department: its mean, as alpha's
            0.0,
            1.0,
            0.05,
            functools.partial(lesson.change_firm, index, "sensing"),
            errors.get(f"sensing-{index}", ""),
            f"sensing-{index}",
            hint="share of the market's change the firm notices per month",
        )
        solara.Select(
            "coordination mode",
            values=list(words_to_mode),
            value=MODE_WORDS.get(spec.coordination, plain(spec.coordination)),
            on_value=lambda words: lesson.change_firm(index, "coordination", words_to_mode[words]),
            classes=[f"mode-{index}"],
        )
        if twins.scenario.firm.understanding is not None:
            NumberControl(
                "communication (0 to 1)",
                spec.communication,
                0.0,
                1.0,
                0.05,
                functools.partial(lesson.change_firm, index, "communication"),
                errors.get(f"communication-{index}", ""),
                f"communication-{index}",
                hint="share of the gap to full understanding of the strategy closed per month",
            )
        # one department's coupling: drawn only when asked (fewer widgets on a page's start)
        solara.Button(
            ("hide" if per_department.value else "show") + " alignment per department",
            on_click=lambda: per_department.set(not per_department.value),
            text=True,
            classes=["per-department-button", f"per-department-{index}"],
        )
        if per_department.value:
            for department, value in zip(twins.scenario.departments, alphas, strict=True):
                key = f"alpha.{department.name}"
                NumberControl(
                    f"α of {plain(department.name)}",
                    value,
                    0.0,
                    1.0,
                    0.05,
                    functools.partial(lesson.change_firm, index, key),
                    errors.get(f"{key}-{index}", ""),
                    f"alpha-{department.name}-{index}",
                )
        solara.HTML(
            unsafe_innerHTML=f"Coordination costs it {twins.firms[index].coordination_cost:.1f} "
            f"{unit}.",
            classes=["firm-cost", f"firm-cost-{index}"],
        )


def PlayAndStep(lesson: Lesson, *, play: str, step: str) -> None:
    """Play/Pause and Step, with the CSS classes ``play`` and ``step`` (the drawer's or the
    header's), added to the enclosing container (a function, not a component: a component
    would stack them in a column of its own)."""
    solara.Button(
        "Pause" if lesson.playing else "Play",
        icon_name="mdi-pause" if lesson.playing else "mdi-play",
        on_click=lesson.toggle_play,
        color="primary",
        classes=[play],
    )
    solara.Button(
        "Step",
        icon_name="mdi-step-forward",
        on_click=lesson.step,
        disabled=lesson.playing,
        classes=[step],
    )


@solara.component
def RunControls(lesson: Lesson, version: int) -> None:
    """Play/Pause, Step, Reset, speed, the shift button, messages, market and costs."""
    twins = lesson.twins
    with solara.Card(classes=["run-controls"]):
        with solara.Row(gap="8px"):
            PlayAndStep(lesson, play="play-button", step="step-button")
            solara.Button(
                "Reset", icon_name="mdi-restart", on_click=lesson.reset, classes=["reset-button"]
            )
        with solara.Div(classes=["speed", "slider"]):
            solara.SliderFloat(
                f"speed: {lesson.speed:g} periods a second",
                value=lesson.speed,
                min=SPEED_MIN,
                max=SPEED_MAX,
                step=0.5,
                on_value=lesson.set_speed,
                thumb_label=True,
            )
        solara.Button(
            "Shift the market now",
            icon_name="mdi-swap-horizontal-bold",
            on_click=lesson.shift,
            color="warning",
            block=True,
            classes=["shift-button"],
        )
        solara.HTML(
            tag="p",
            unsafe_innerHTML="Customers move at the next period, in place of the next "
            "scheduled shift to the same customers.",
            classes=["help"],
        )
        NumberControl(
            "market (seed)",
            float(twins.seed),
            0.0,
            float(max(99, twins.seed)),
            1.0,
            lambda v: lesson.set_seed(int(v) if isinstance(v, float) else v),
            lesson.field_errors.get("seed", ""),
            "seed",
            hint="the same market for both firms; another number, another market (starts over)",
        )
        NumberControl(
            f"coordination costs × (0 to {MAX_COST_FACTOR:g})",
            twins.cost_factor,
            0.0,
            MAX_COST_FACTOR,
            0.25,
            lesson.set_costs,
            lesson.field_errors.get("costs", ""),
            "cost-factor",
            hint="times the scenario's costs of meetings, alignment and market research",
        )


@solara.component
def Notices(lesson: Lesson, version: int) -> None:
    """The current message, or what to do next."""
    kind, text = lesson.notice.kind, lesson.notice.text
    if text and kind == "error":
        solara.Error(text, classes=["app-notice", "app-error"])
    elif text:
        solara.Info(text, classes=["app-notice", "app-info"])
    elif lesson.hint:
        solara.Info(lesson.hint, classes=["app-notice", "app-hint"])


def use_frames(
    lesson: Lesson, element: solara.Element, update: Callable[[Any], None], dependencies: list
) -> None:
    """Call ``update`` with ``element``'s widget at every frame of play (from the play loop).

    ``update`` sets the few widget properties a frame changes straight on the widget: a render
    of the page walks all its widgets (about 250: 80-190 ms of server CPU a frame under load,
    measured), a frame sends one message. Every render of the page sets every property again
    from the lesson, so nothing set here outlives the next render."""
    widget = solara.use_ref(None)

    def remember() -> None:
        widget.current = solara.get_widget(element)

    solara.use_effect(remember)  # after every render: the element's widget now

    def listen() -> Callable[[], None]:
        def frame() -> None:
            if widget.current is not None:
                update(widget.current)

        lesson.frame_listeners.append(frame)
        return lambda: lesson.frame_listeners.remove(frame)

    solara.use_effect(listen, dependencies)


@solara.component
def PeriodBadge(lesson: Lesson, version: int) -> None:
    """The period shown, also at every frame of play."""
    twins = lesson.twins

    def text() -> str:
        return f"Period {twins.period} of {twins.horizon}"

    def update(widget: Any) -> None:
        widget.unsafe_innerHTML = text()

    badge = solara.HTML(unsafe_innerHTML=text(), classes=["period-badge"])
    use_frames(lesson, badge, update, [twins])


@solara.component
def FramedView(lesson: Lesson, name: str, version: int) -> None:
    """One live view: a chart, which also follows every frame of play (and play waits for the
    browser to draw it, `Lesson.drawn`), or an image, redrawn with the page."""
    screen = lesson.screen
    charted = name in screen.charts
    view = LiveImage(screen, name, version, lesson.drawn if lesson.playing else None)

    def update(widget: Any) -> None:
        chart = _chart_widget(widget)
        if chart is None or not charted:
            return
        with screen.twins.lock:
            period = screen.twins.period
            spec = screen.chart(name, ("frame", period))
        with chart.hold_sync():  # one message
            chart.chart_layout = spec.layout
            chart.traces = spec.data
            chart.period = period

    # ``name`` too: Solara reuses this component for another view when the page goes from
    # the desk (every view) to presentation (one), and the listener must follow it
    use_frames(lesson, view, update, [screen, name, charted])

    def pace() -> Callable[[], None] | None:
        """A chart on screen: play waits for its drawings."""
        if not charted:
            return None
        lesson.charts_on_screen += 1

        def unpace() -> None:
            lesson.charts_on_screen -= 1

        return unpace

    solara.use_effect(pace, [charted])


def _chart_widget(widget: Any) -> Any:
    """The chart's widget: ``widget`` itself, or the first of its children that is one."""
    for candidate in (widget, *getattr(widget, "children", ())):
        if hasattr(candidate, "has_trait") and candidate.has_trait("traces"):
            return candidate
    return None


@solara.component
def LiveImage(
    screen: Screen, name: str, version: int, on_drawn: Callable[[int], None] | None = None
) -> None:
    """One live view: a chart drawn in the browser, or an image; what it marks in words under
    it. ``on_drawn`` (while playing) gets the period of each drawing of a chart done."""
    if name in screen.charts:
        spec = screen.chart(name, (version, screen.twins.period))
        PlotlyChart(
            name=name,
            chart_layout=spec.layout,
            traces=spec.data,
            period=screen.twins.period,
            src=PLOTLY_URL,
            pace=on_drawn is not None,
            event_drawn=on_drawn,
        )
        caption = spec.caption
    else:
        solara.Image(
            screen.frame(name, version), width="100%", classes=["view-image", f"view-{name}"]
        )
        caption = screen.caption(name)
    if caption:
        solara.HTML(
            tag="p",
            unsafe_innerHTML=html.escape(caption),
            classes=["view-caption", f"caption-{name}"],
        )


@solara.component
def Timeline(screen: Screen, version: int) -> None:
    """The decision timeline so far, drawn in the browser: a row per department and firm, a
    cell per period (`sim.app.charts.TimelineChart`)."""
    LiveImage(screen, "timeline", version)


@solara.component
def DebriefPanel(lesson: Lesson, version: int, start: Callable[[], None]) -> None:
    """After a run: the same setting in 30 markets, so the class sees it was not luck."""
    screen, twins = lesson.screen, lesson.twins
    debrief = screen.debrief
    chart = solara.use_memo(
        lambda: None if debrief is None else DebriefChart().spec(debrief, twins.seed),
        [id(debrief)],
    )
    solara.HTML(
        tag="h2",
        unsafe_innerHTML=f"Debrief: was it luck? The same setting in {DEBRIEF_SEEDS} markets",
    )
    if debrief is not None and chart is not None:
        # the chart first, drawn in the browser with large type: above the fold on a projector
        # (it takes the window's height left); the verdict and the numbers under it
        PlotlyChart(
            name="debrief",
            chart_layout=chart.layout,
            traces=chart.data,
            period=twins.period,
            src=PLOTLY_URL,
        )
        solara.HTML(tag="p", unsafe_innerHTML=html.escape(chart.caption), classes=["view-caption"])
        solara.HTML(tag="p", unsafe_innerHTML=html.escape(debrief.verdict()), classes=["verdict"])
        solara.HTML(unsafe_innerHTML=debrief_table(lesson), classes=["debrief-summary"])
    elif twins.finished:
        solara.HTML(
            tag="p",
            unsafe_innerHTML=f"The same start and every change you made, at the same periods, "
            f"in {DEBRIEF_SEEDS} markets (seeds): thin lines one market each, bold lines the "
            "mean.",
            classes=["help"],
        )
        solara.Button(
            f"Run {DEBRIEF_SEEDS} markets",
            on_click=start,
            disabled=lesson.debrief_progress is not None,
            color="primary",
            classes=["debrief-button"],
        )
    else:
        solara.HTML(
            tag="p",
            unsafe_innerHTML=f"When the run reaches period {twins.horizon}, run the same setting "
            f"(the same start and every change you made, at the same periods) in "
            f"{DEBRIEF_SEEDS} markets.",
            classes=["help"],
        )
    if lesson.debrief_progress is not None:
        solara.ProgressLinear(100 * lesson.debrief_progress / DEBRIEF_SEEDS)


def debrief_table(lesson: Lesson) -> str:
    """The debrief in numbers (HTML): per firm, profit after the split, survival, miles and
    cycling, over the markets and in this class's market; and the live changes replayed."""
    debrief = lesson.screen.debrief
    summary = debrief.summary(lesson.twins.seed)
    head = "".join(f"<th>{html.escape(label)}</th>" for label in debrief.labels)
    rows = "".join(
        f"<tr><td>{html.escape(what)}</td>{''.join(f'<td>{v}</td>' for v in values)}</tr>"
        for what, values in summary
    )
    changes = "".join(
        f"<li>from period {c.effective}: {html.escape(plain(c.label))}</li>"
        for c in debrief.interventions
    )
    replayed = (
        f"<p>Replayed in every market: <ul>{changes}</ul></p>"
        if changes
        else "<p>No live change was made: the same start in every market.</p>"
    )
    notes = ""
    if lesson.twins.seed in debrief.seeds:
        claim = title_claim(debrief)
        window = debrief.scenario.metrics.cycle_window
        here = bool(claim[debrief.seeds.index(lesson.twins.seed)])
        notes = (
            f"<p class='title-claim'>Sailing in circles, the app's title: the "
            f"{html.escape(debrief.labels[0])} firm more efficient than the "
            f"{html.escape(debrief.labels[1])} one after period {debrief.split} and still "
            f"moving {window} periods after it, not stuck. <b>Your market: "
            f"{'yes' if here else 'no'}; {int(claim.sum())} of {len(debrief.seeds)} "
            "markets.</b></p>"
        )
    if all(n.check.strip() for n in debrief.scenario.things_to_notice) and (
        lesson.twins.seed in debrief.seeds
    ):
        items = "".join(
            f"<li>{html.escape(n.text)} <b>Your market: {'yes' if n.in_market else 'no'}; "
            f"{round(n.share_of_markets * len(debrief.seeds))} of {len(debrief.seeds)} "
            "markets.</b></li>"
            for n in check_notes(debrief, lesson.twins.seed)
        )
        notes += f"<h3>Things to notice, checked</h3><ul>{items}</ul>"
    return f'<table class="debrief-table"><tr><th></th>{head}</tr>{rows}</table>{replayed}{notes}'


@solara.component
def ExportCard(lesson: Lesson, version: int) -> None:
    """The current figures as PNG, the run's data as CSV."""
    screen, twins = lesson.screen, lesson.twins
    stem = f"{twins.scenario.name}_market{twins.seed}_period{twins.period}"
    # the same callables from render to render: a new one would make FileDownload restart
    exports = solara.use_memo(
        lambda: {
            **{
                name: functools.partial(screen.export, name)
                for name in ("over_time", "sailing", "departments", "timeline", "debrief")
            },
            "csv": twins.to_csv,
        },
        [screen],
    )
    with solara.Card(classes=["export"]):
        solara.HTML(tag="h3", unsafe_innerHTML="Take away")
        for name in ("over_time", "sailing", "departments", "timeline"):
            solara.FileDownload(
                exports[name],
                filename=f"{stem}_{name}.png",
                label=f"{VIEW_TITLES[name]} (PNG)",
                mime_type="image/png",
            )
        if screen.debrief is not None:
            solara.FileDownload(
                exports["debrief"],
                filename=f"{twins.scenario.name}_market{twins.seed}_debrief.png",
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


def _new_lesson(search: str) -> Lesson:
    scenarios, broken = spare.take_scenarios()
    first = spare.take(next(iter(scenarios.values()))) if scenarios else None
    lesson = Lesson(scenarios=scenarios, broken=broken, first=first)
    if search:
        lesson.open_query(search)
    return lesson


@solara.component
def Classroom() -> None:
    """The classroom: pick a scenario, play, change things live, shift the market, debrief."""
    router = solara.use_router()
    lesson = solara.use_memo(lambda: _new_lesson(router.search or ""), [])
    version = solara.use_reactive(0)
    width = solara.use_reactive(window_width())  # known at once: no render to measure it
    copy_request = solara.use_reactive(0)
    debrief_request = solara.use_reactive(0)
    controls_made = solara.use_ref(False)

    def listen() -> Callable[[], None]:
        def bump() -> None:
            version.set(lesson.version)

        lesson.listeners.append(bump)
        return lambda: lesson.listeners.remove(bump)

    solara.use_effect(listen, [])
    solara.use_thread(lesson.play, dependencies=[lesson.playing], intrusive_cancel=False)

    def debrief(cancel: object = None) -> None:
        if debrief_request.value:
            lesson.run_debrief()

    solara.use_thread(debrief, dependencies=[debrief_request.value], intrusive_cancel=False)

    solara.Title("smb-sim classroom: an efficient ship sailing in circles")
    solara.Style(ASSETS / "classroom.css")
    # every component that shows the lesson takes this, so that a change renders it again
    changes = version.value
    if lesson.screen is None:
        solara.Error(
            "No scenario to show: scenarios/ has none a class can use. "
            + "; ".join(f"{k}: {m}" for k, m in lesson.broken.items()),
            classes=["app-error"],
        )
        return
    screen, twins = lesson.screen, lesson.twins
    present = presenting(lesson, width.value)
    BrowserBridge(
        query="" if lesson.playing else lesson.query(),
        copy_request=copy_request.value,
        event_viewport=width.set,
        event_copied=lesson.link_copied,
    )
    root = [
        "classroom-root",
        "presentation" if present else "desk",
        "drawer-open" if lesson.drawer_open else "drawer-closed",
    ]
    if lesson.layout == "auto" and width.value == 0:
        # the window's width is not known yet: nothing shown rather than a flash of the
        # wrong layout (the width arrives with the first message from the browser)
        root.append("measuring")
    with solara.Div(classes=root):
        with solara.Div(classes=["app-header"]):
            with solara.Div(classes=["header-buttons"]):
                solara.Button(
                    "Controls",
                    icon_name="mdi-tune",
                    on_click=lesson.toggle_drawer,
                    classes=["drawer-button"],
                )
                if present:  # the run at hand without opening the drawer
                    PlayAndStep(lesson, play="header-play", step="header-step")
            solara.HTML(
                unsafe_innerHTML="<h1>An efficient ship sailing in circles</h1>"
                '<div class="subtitle">two firms, one market: departments chasing their own '
                "efficiency, or aligned to a strategy</div>",
            )
            ScenarioButtons(lesson.scenarios, lesson.scenario_name, lesson.choose)
            with solara.Div(classes=["header-buttons"]):
                solara.Button(
                    "Info",
                    on_click=lesson.toggle_info,
                    outlined=not lesson.info_open,
                    classes=["info-button"],
                    style={"color": "white"} if not lesson.info_open else {},
                )
                solara.Button(
                    "Desk view" if present else "Presentation",
                    on_click=lambda: lesson.set_layout("desk" if present else "presentation"),
                    outlined=True,
                    classes=["layout-button"],
                    style={"color": "white"},
                )
                solara.Button(
                    "Copy link",
                    on_click=lambda: copy_request.set(copy_request.value + 1),
                    outlined=True,
                    classes=["copy-link-button"],
                    style={"color": "white"},
                )
            PeriodBadge(lesson, changes)
        with solara.Div(classes=["classroom"]):
            with solara.Div(classes=["controls-column"]):
                if present:
                    solara.Button(
                        "Close",
                        icon_name="mdi-close",
                        on_click=lesson.toggle_drawer,
                        classes=["drawer-close"],
                    )
                # in presentation mode the controls (half the page's widgets) are made when
                # the drawer first opens, not with the first page (it opens sooner), and kept
                controls_made.current = controls_made.current or not present or lesson.drawer_open
                if controls_made.current:
                    RunControls(lesson, changes)
                    Notices(lesson, changes)
                    for i in range(2):
                        FirmControls(lesson, i, changes).key(f"firm-{i}-{id(screen)}")
                    ExportCard(lesson, changes)
            with solara.Div(classes=["views-column"]):
                if lesson.broken:
                    solara.Warning(
                        "Some scenarios could not be loaded: "
                        + "; ".join(f"{k}: {m}" for k, m in lesson.broken.items())
                    )
                if lesson.info_open:
                    InfoPanel(twins.scenario)
                if present:
                    Notices(lesson, changes)
                Scoreboard(twins, changes)
                with solara.Div(classes=["view-tabs"]) if present else contextlib.nullcontext():
                    for name in VIEWS if present else ():
                        solara.Button(
                            VIEW_TITLES[name],
                            on_click=functools.partial(lesson.show, name),
                            color="primary" if name == lesson.view else None,
                            outlined=name != lesson.view,
                            classes=["view-tab", f"tab-{name}"],
                        )
                for name in VIEWS:
                    if present and name != lesson.view:
                        # on a projector only the view shown is made (with its help hidden
                        # there): the other views' cards were 18 of the first page's 75
                        # widgets; a tab's card is made when it is chosen
                        continue
                    selected = ["selected"] if name == lesson.view else []
                    card = solara.Card(classes=["view-card", f"card-{name}", *selected])
                    with card.key(f"card-{name}"):
                        if name != "debrief" and not present:
                            solara.HTML(tag="h2", unsafe_innerHTML=VIEW_TITLES[name])
                            solara.HTML(tag="p", unsafe_innerHTML=VIEW_HELP[name], classes=["help"])
                        if name == "decisions":
                            # the timeline first: above the fold on a projector; the table
                            # of this period's set-up under it
                            if not present or name == lesson.view:
                                Timeline(screen, changes)
                            solara.HTML(
                                unsafe_innerHTML=decisions_table(twins),
                                classes=["decisions-table"],
                            )
                        elif name == "debrief":
                            DebriefPanel(
                                lesson,
                                changes,
                                lambda: debrief_request.set(debrief_request.value + 1),
                            )
                        else:
                            if not present or name == lesson.view:
                                FramedView(lesson, name, changes)
                            if name == "over_time":
                                ShiftLog(twins, changes)
