"""The classroom's live charts drawn in the browser by Plotly (plotly.js: core and heatmap).

The server sends data, not images: a chart is a Plotly figure as plain JSON (``layout`` and
``data``, `ChartSpec`), drawn by ``assets/plotly_chart.vue`` with ``Plotly.react``, which only
restyles what changed. The layout (axes, marks, legend) changes rarely (a shift, a live change,
a profit leaving its axis); each period only the traces' numbers change. Hovering shows the
values. Slides and exports keep matplotlib (`sim.app.live`).
"""

from __future__ import annotations

import html
import math
import textwrap
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim import plots
from sim.app.live import (
    baseline_words,
    change_marks,
    department_positions,
    firm_colours,
    sailing_tracks,
)
from sim.app.state import KPI_COLUMNS, Debrief, TwinFirms, plain
from sim.frames import decision_bits
from sim.scenario import Scenario

#: Type sizes in CSS pixels: ticks and labels readable at the back of the room (>= 18 px).
TICK_PX, LABEL_PX, MARK_PX = 18, 18, 16
_TITLES = {
    "efficiency": "efficiency",
    "market_value": "market value",
    "profit": "profit",
    "cash": "cash",
}
# the four panels (2 x 2): x domains, y domains, room for the marks' labels above the top row
_X = ((0.0, 0.46), (0.54, 1.0))
_Y_TOP, _Y_BOTTOM = (0.58, 0.86), (0.0, 0.40)
#: The debrief's four panels in one row: the gap between two, a share of the width (room for
#: the next panel's tick labels, "1000" at 18 px, at 853 px wide).
DEBRIEF_GAP = 0.075


@dataclass(frozen=True)
class ChartSpec:
    """A Plotly figure as JSON-ready parts, and what it marks in words."""

    layout: dict[str, Any]
    data: list[dict[str, Any]]
    caption: str


def _numbers(values: np.ndarray) -> list[float | None]:
    """Floats for JSON: NaN and infinities as null (a gap), 4 significant decimals."""
    return [round(v, 4) if math.isfinite(v) else None for v in np.asarray(values, float).tolist()]


class OverTimeChart:
    """Efficiency, market value, profit and cash over time for both firms (2 x 2 panels),
    market shifts and every change of the class (strategy, costs, shifts) marked with their
    labels above the panels; once there is a change, a dashed line per firm from period 0:
    the same market without the class's changes (En-ROADS's baseline); hover shows each
    value."""

    name = "over_time"

    def __init__(self, twins: TwinFirms) -> None:
        self.colours = firm_colours(twins.strategy_names)
        self.limits: dict[str, tuple[float, float]] = {
            c: (0.0, 1.0) if c in ("efficiency", "market_value") else (-1.0, 1.0)
            for c in KPI_COLUMNS
        }
        self._layout: dict[str, Any] | None = None
        self._layout_key: tuple = ()
        self.marks: tuple[tuple[int, str, str, str], ...] = ()

    def __repr__(self) -> str:
        return f"OverTimeChart({len(self.limits)} panels, {len(self.marks)} marks)"

    def spec(self, twins: TwinFirms, t: int | None = None) -> ChartSpec:
        """The chart at period ``t`` (default: now)."""
        t = twins.period if t is None else t
        x = list(range(t + 1))
        base = twins.baseline
        labels = [twins.label_now(i) for i in range(2)]
        data: list[dict[str, Any]] = []
        unit = twins.scenario.money_unit
        for k, column in enumerate(KPI_COLUMNS):
            axis = "" if k == 0 else str(k + 1)
            shown = []
            heads: list[tuple[int, float | None]] = []
            what = _TITLES[column] + (f" ({unit})" if column in ("profit", "cash") else "")
            for i, firm in enumerate(twins.firms):
                y = firm.log.floats[column][: t + 1]
                shown.append(y)
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "x": x,
                        "y": _numbers(y),
                        "xaxis": f"x{axis}",
                        "yaxis": f"y{axis}",
                        "name": textwrap.shorten(labels[i], 60),
                        "legendgroup": f"firm{i}",
                        "showlegend": k == 0,
                        "line": {"color": self.colours[i], "width": 3},
                        "hovertemplate": f"{what}: %{{y:.2f}}<extra>{labels[i][:30]}</extra>",
                    }
                )
                alive = np.flatnonzero(np.isfinite(y))
                last = int(alive[-1]) if alive.size else 0
                heads.append((last, _numbers(y[last : last + 1])[0]))
                if base is not None:  # (no trace without: each trace costs every frame)
                    b = base.firms[i].log.floats[column][: t + 1]
                    shown.append(b)
                    data.append(
                        {
                            "type": "scatter",
                            "mode": "lines",
                            "x": x,
                            "y": _numbers(b),
                            "xaxis": f"x{axis}",
                            "yaxis": f"y{axis}",
                            "name": "without the class's changes",
                            "legendgroup": "baseline",
                            "showlegend": k == 0 and i == 0,
                            "opacity": 0.8,
                            "line": {"color": self.colours[i], "width": 2, "dash": "dash"},
                            "hovertemplate": f"{what} without the changes: %{{y:.2f}}"
                            "<extra></extra>",
                        }
                    )
            data.append(  # a dot where each firm's line is now, above the lines
                {
                    "type": "scatter",
                    "mode": "markers",
                    "x": [last for last, _ in heads],
                    "y": [value for _, value in heads],
                    "xaxis": f"x{axis}",
                    "yaxis": f"y{axis}",
                    "legendgroup": "heads",
                    "showlegend": False,
                    "hoverinfo": "skip",
                    "marker": {
                        "color": list(self.colours),
                        "size": 11,
                        "line": {"color": "black", "width": 1.5},
                    },
                }
            )
            if column in ("profit", "cash"):
                self.limits[column] = plots.grown_limits(
                    self.limits[column], np.concatenate(shown), pad=0.25, min_span=2.0
                )
        styles = {"shift": "dash", "change": "dashdot"}
        self.marks = tuple(
            (p, label, colour, styles[kind])
            for p, label, colour, kind in change_marks(twins, t, self.colours)
        )
        upcoming = sorted(
            {p for p, _ in twins.scheduled_shifts()} | {p for p, _ in twins.shifts() if p > t}
        )
        key = (tuple(self.limits.items()), self.marks, tuple(upcoming), tuple(labels))
        if key != self._layout_key:
            self._layout = self._make_layout(twins, upcoming)
            self._layout_key = key
        words = []
        if self.marks:
            words.append("Marked: " + "; ".join(label for _, label, _, _ in self.marks) + ".")
        dashed = baseline_words(twins, t)
        if dashed:
            words.append(dashed)
        assert self._layout is not None
        return ChartSpec(self._layout, data, " ".join(words))

    def _make_layout(self, twins: TwinFirms, upcoming: list[int]) -> dict[str, Any]:
        sc = twins.scenario
        layout = kpi_layout(
            sc, sc.horizon, self.limits, hovermode="x", y_domains=(_Y_TOP, _Y_BOTTOM)
        )
        layout["uirevision"] = "keep"  # zoom and hover survive the updates
        layout["annotations"] = []
        for axis in _axes():
            for period, _, colour, dash in self.marks:
                layout["shapes"].append(_vline(period, axis, colour, dash, 2))
            for period in upcoming:
                layout["shapes"].append(_vline(period, axis, "#999999", "dot", 1.5))
        # the marks' labels above the top panels, in two rows so that neighbours do not collide
        per_char = 0.55 * MARK_PX / 420 * sc.horizon  # a label's width in periods, about
        row_ends: list[float] = []
        for period, label, colour, _ in self.marks:
            half = len(label) * per_char / 2
            row = next((r for r, end in enumerate(row_ends) if end < period - half), None)
            if row is None:
                row = len(row_ends) % 2
                if len(row_ends) < 2:
                    row_ends.append(-math.inf)
            row_ends[row] = period + half
            for axis in ("", "2"):
                layout["annotations"].append(
                    {
                        "x": period,
                        "xref": f"x{axis}",
                        "y": 1.0 + 0.12 * row,
                        "yref": f"y{axis} domain",
                        "yanchor": "bottom",
                        "text": label,
                        "showarrow": False,
                        "font": {"size": MARK_PX, "color": colour},
                    }
                )
        return layout


def _vline(period: int, axis: str, colour: str, dash: str, width: float) -> dict[str, Any]:
    return {
        "type": "line",
        "x0": period,
        "x1": period,
        "xref": f"x{axis}",
        "y0": 0,
        "y1": 1,
        "yref": f"y{axis} domain",
        "line": {"color": colour, "dash": dash, "width": width},
        "layer": "below",
    }


class DebriefChart:
    """The debrief drawn in the browser: a panel per KPI (four in a row), every market of the
    debrief a thin line per firm, the mean over markets bold, the class's market dashed; market
    shifts marked; type of at least 18 px (a projector's back row). Slides keep matplotlib
    (`sim.app.live.debrief_figure`)."""

    name = "debrief"

    def __repr__(self) -> str:
        return "DebriefChart()"

    def spec(self, debrief: Debrief, market: int | None = None) -> ChartSpec:
        """The chart of ``debrief``, the class's ``market`` dashed if it is one of its seeds."""
        colours = firm_colours(debrief.strategy_names)
        k = debrief.seeds.index(market) if market in debrief.seeds else None
        n = len(debrief.seeds)
        data: list[dict[str, Any]] = []
        limits: dict[str, tuple[float, float]] = {}
        for p, column in enumerate(KPI_COLUMNS):
            axis = "" if p == 0 else str(p + 1)
            values = debrief.data[column]  # (firm, market, period)
            periods = values.shape[2]
            for i, label in enumerate(debrief.labels):
                runs = values[i]
                # every market in one trace, a gap between markets: cheap to send and draw
                xs: list[int | None] = []
                ys: list[float | None] = []
                for run in runs:
                    xs += [*range(periods), None]
                    ys += [*_numbers(run), None]
                common = {"type": "scatter", "mode": "lines", "xaxis": f"x{axis}"}
                common["yaxis"] = f"y{axis}"
                data.append(
                    {
                        **common,
                        "x": xs,
                        "y": ys,
                        "name": "one market (seed)",
                        "legendgroup": f"markets{i}",
                        "showlegend": False,
                        "opacity": 0.18,
                        "line": {"color": colours[i], "width": 1},
                        "hoverinfo": "skip",
                    }
                )
                with np.errstate(all="ignore"), warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # all closed: a gap
                    mean = np.nanmean(np.where(np.isfinite(runs), runs, np.nan), axis=0)
                data.append(
                    {
                        **common,
                        "x": list(range(periods)),
                        "y": _numbers(mean),
                        "name": f"{label}: mean",  # short: one legend row at 18 px
                        "legendgroup": f"firm{i}",
                        "showlegend": p == 0,
                        "line": {"color": colours[i], "width": 3.5},
                        "hovertemplate": f"{_TITLES[column]}, mean: %{{y:.2f}}<extra>"
                        f"{label[:30]}</extra>",
                    }
                )
                if k is not None:
                    data.append(
                        {
                            **common,
                            "x": list(range(periods)),
                            "y": _numbers(runs[k]),
                            "name": f"your market ({market})",
                            "legendgroup": f"yours{i}",
                            "showlegend": False,  # in the caption: the legend keeps one row
                            "line": {"color": colours[i], "width": 2, "dash": "dash"},
                            "hovertemplate": f"{_TITLES[column]}, your market: %{{y:.2f}}"
                            f"<extra>{label[:30]}</extra>",
                        }
                    )
            finite = values[np.isfinite(values)]
            lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
            pad = 0.06 * max(hi - lo, 1e-9)
            limits[column] = (lo - pad, hi + pad)
        layout = self._layout(debrief, limits)
        caption = (
            f"Thin lines: each of the {n} markets; bold: the mean"
            + (f"; dashed: your market ({market})" if k is not None else "")
            + "."
        )
        return ChartSpec(layout, data, caption)

    def _layout(self, debrief: Debrief, limits: dict[str, tuple[float, float]]) -> dict:
        """The four panels side by side, each titled above it in words (no rotated axis
        titles): in a chart 260 px high (1280 x 800 at 150% zoom, under the scoreboard) each
        panel keeps about 150 px for its lines and every text has its own place. The legend
        and the titles sit in the top margin, the period's ticks and title in the bottom one
        (pixels, not shares of the height: they keep their room at any size)."""
        horizon = debrief.data["profit"].shape[2] - 1
        layout = kpi_layout(
            debrief.scenario, horizon, limits, hovermode="closest", y_domains=((0, 1), (0, 1))
        )
        layout["legend"].update(font={"size": LABEL_PX}, yref="container", y=1.0)
        layout["margin"] = {"l": 58, "r": 12, "t": 62, "b": 60}
        n = len(KPI_COLUMNS)
        width = (1.0 - (n - 1) * DEBRIEF_GAP) / n
        annotations = []
        for k, axis in enumerate(_axes()):
            x_axis, y_axis = layout[f"xaxis{axis}"], layout[f"yaxis{axis}"]
            left = k * (width + DEBRIEF_GAP)
            x_axis["domain"] = [left, left + width]
            x_axis["nticks"] = 4
            x_axis.pop("title", None)
            y_axis["nticks"] = 4
            title = y_axis.pop("title")["text"]
            annotations.append(
                {
                    "text": title,
                    "x": 0.5,
                    "xref": f"x{axis} domain",
                    "xanchor": "center",
                    "y": 1.0,
                    "yref": "paper",
                    "yanchor": "bottom",
                    "yshift": 4,
                    "showarrow": False,
                    "font": {"size": LABEL_PX},
                }
            )
        annotations.append(  # one title for the four panels' shared period axis
            {
                "text": "period (month)",
                "x": 0.5,
                "xref": "paper",
                "xanchor": "center",
                "y": 0.0,
                "yref": "paper",
                "yanchor": "top",
                "yshift": -30,
                "showarrow": False,
                "font": {"size": LABEL_PX},
            }
        )
        layout["annotations"] = annotations
        for axis in _axes():
            for period in debrief.shift_periods:
                layout["shapes"].append(_vline(period, axis, "#262626", "dash", 1.5))
        return layout


def _axes() -> list[str]:
    """Plotly's axis suffixes of the four KPI panels ("", "2", "3", "4")."""
    return ["" if k == 0 else str(k + 1) for k in range(len(KPI_COLUMNS))]


def kpi_layout(
    scenario: Scenario,
    horizon: int,
    limits: dict[str, tuple[float, float]],
    *,
    hovermode: str,
    y_domains: tuple[tuple[float, float], tuple[float, float]],
) -> dict[str, Any]:
    """The four KPI panels' layout (efficiency, market value, profit, cash against the
    period), in the projector's type sizes; the over-time and debrief charts add their marks."""
    layout = _base_layout(
        {"l": 78, "r": 14, "t": 8, "b": 52}, legend=True, hovermode=hovermode, keep_zoom=False
    )
    layout["shapes"] = []
    ylabels = {
        "efficiency": "efficiency",
        "market_value": "market value",
        "profit": f"profit ({scenario.money_unit})",
        "cash": f"cash ({plots.stock_unit(scenario.money_unit)})",
    }
    for k, (axis, column) in enumerate(zip(_axes(), KPI_COLUMNS, strict=True)):
        top = k < 2
        layout[f"xaxis{axis}"] = {
            "domain": list(_X[k % 2]),
            "anchor": f"y{axis}",
            "range": [0, horizon],
            **_axis_style(),
            "showticklabels": True,
            **({} if top else {"title": {"text": "period (month)", "standoff": 4}}),
        }
        layout[f"yaxis{axis}"] = {
            "domain": list(y_domains[0] if top else y_domains[1]),
            "anchor": f"x{axis}",
            "range": list(limits[column]),
            "showgrid": True,
            "gridcolor": "#e6e6e6",
            "zeroline": column in ("profit", "cash"),
            "zerolinecolor": "#737373",
            "linecolor": "#4d4d4d",
            "ticks": "outside",
            "tickfont": {"size": TICK_PX},
            "nticks": 5,
            "title": {"text": ylabels[column], "font": {"size": LABEL_PX}, "standoff": 6},
        }
    return layout


# ---- the decision timeline ----


@dataclass(frozen=True)
class DepartmentChanges:
    """One firm's decision timeline by department: ``share[d, t]`` the share of department
    ``d``'s decisions the firm changed in period ``t`` (0 at period 0; NaN once it closed),
    ``words[d][t]`` which ones and to what ("gluten-free line on"); ``total`` every decision
    changed over the run."""

    share: np.ndarray
    words: list[list[str]]
    total: int


def department_changes(twins: TwinFirms, index: int, t: int | None = None) -> DepartmentChanges:
    """Firm ``index``'s decisions changed per department and period up to ``t`` (default:
    now), decoded from its recorded set-ups (the log's ``config``)."""
    t = twins.period if t is None else t
    sc = twins.scenario
    log = twins.firms[index].log
    bits = decision_bits(log.ints["config"][: t + 1], twins.market.n_decisions)
    changed = np.zeros_like(bits, dtype=bool)
    changed[1:] = bits[1:] != bits[:-1]
    closed = ~log.bools["alive"][: t + 1].astype(bool)
    names = [plain(d) for d in sc.decisions]
    share = np.empty((len(sc.department_decisions), t + 1))
    words: list[list[str]] = []
    for d, decisions in enumerate(sc.department_decisions):
        cols = list(decisions)
        share[d] = changed[:, cols].sum(axis=1) / len(cols)
        row = [""] * (t + 1)
        for p in np.flatnonzero(changed[:, cols].any(axis=1)).tolist():
            row[p] = ", ".join(
                f"{names[i]} {'on' if bits[p, i] else 'off'}" for i in cols if changed[p, i]
            )
        words.append(row)
    share[:, closed] = np.nan
    return DepartmentChanges(share, words, int(changed.sum()))


class TimelineChart:
    """The decision timeline drawn in the browser, readable on a projector: a pair of rows
    per department (firm 1 above, firm 2 below, each in its colour), a cell per period,
    darker the larger the share of the department's decisions the firm changed in that
    period (white: none; grey: periods to come, or after the firm closed); hover names the
    decisions changed and their new values. Market shifts are dashed uprights, the class's
    changes dash-dotted in the firm's colour. A department's name spans its pair of rows:
    4 or 5 names leave room for 18 px type above the fold at 1024 x 678 and at 150% zoom (a
    row per decision, 26 to 36 rows, made 9 px type). The full per-decision raster stays for
    slides (`sim.app.live.Screen.timeline_figure`)."""

    name = "timeline"

    def __repr__(self) -> str:
        return "TimelineChart()"

    def spec(self, twins: TwinFirms, t: int | None = None) -> ChartSpec:
        """The timeline up to period ``t`` (default: now): one heatmap, row ``2 d + i`` for
        department ``d`` of firm ``i``, its values ``2 i + share`` (each firm's colours on
        its own part of one colour scale)."""
        t = twins.period if t is None else t
        sc = twins.scenario
        colours = firm_colours(twins.strategy_names)
        departments = [dep.label or plain(dep.name) for dep in sc.departments]
        counts = [len(d) for d in sc.department_decisions]
        found = [department_changes(twins, i, t) for i in range(2)]
        names = [textwrap.shorten(twins.label_now(i, short=True), 40) for i in range(2)]
        z: list[list[float | None]] = []
        text: list[list[str]] = []
        for d, n in enumerate(counts):
            for i in range(2):
                share, words = found[i].share[d], found[i].words[d]
                z.append(_numbers(2 * i + share))
                where = f"{names[i]} · {departments[d]}"
                text.append(
                    [
                        f"{where}: {round(v * n)} of {n} changed: {w}"
                        if w
                        else f"{where}: " + ("closed" if v != v else "none")
                        for v, w in zip(share.tolist(), words, strict=True)
                    ]
                )
        scale = [
            [0.0, "#ffffff"],
            [0.01 / 3, _tint(colours[0], 0.35)],
            [1 / 3, colours[0]],
            [1 / 3 + 1e-6, "#ffffff"],
            [2 / 3, "#ffffff"],
            [2 / 3 + 0.01 / 3, _tint(colours[1], 0.35)],
            [1.0, colours[1]],
        ]
        data = [
            {
                "type": "heatmap",
                "x": list(range(t + 1)),
                "y": list(range(2 * len(counts))),
                "z": z,
                "text": text,
                "zmin": 0,
                "zmax": 3,
                "colorscale": scale,
                "showscale": False,
                "ygap": 1,
                "hoverongaps": False,
                "hovertemplate": "period %{x}: %{text}<extra></extra>",
            }
        ]
        marks = change_marks(twins, t, colours)
        layout = self._layout(twins, departments, [f.total for f in found], names, colours, marks)
        caption = (
            "A pair of rows per department (firm 1 above, firm 2 below), a cell per month: "
            "darker, a larger share of its decisions changed that month (white: none). Hover "
            "for which decisions."
        )
        if marks:
            caption += " Marked: " + "; ".join(label for _, label, _, _ in marks) + "."
        return ChartSpec(layout, data, caption)

    def _layout(
        self,
        twins: TwinFirms,
        departments: list[str],
        totals: list[int],
        names: list[str],
        colours: tuple[str, str],
        marks: tuple[tuple[int, str, str, str], ...],
    ) -> dict[str, Any]:
        rows = 2 * len(departments)
        # which row is whose, in the firms' colours, on two lines above the rows
        title = "<br>".join(
            f'<span style="color:{colours[i]}"><b>{where} row: {html.escape(names[i])}</b>'
            f" · {totals[i]} decision changes</span>"
            for i, where in enumerate(("upper", "lower"))
        )
        # grey between the departments and in the periods to come
        layout = _base_layout({"l": 10, "r": 14, "t": 58, "b": 62}, background="#e4e4e4")
        layout |= {
            "xaxis": {
                "range": [-0.5, twins.horizon + 0.5],
                "ticks": "outside",
                "tickfont": {"size": TICK_PX},
                "linecolor": "#4d4d4d",
                "showgrid": False,
                "zeroline": False,
                "title": {"text": "period (month)", "standoff": 12},
            },
            "yaxis": {
                "range": [rows - 0.5, -0.5],  # the first department on top
                "tickmode": "array",
                "tickvals": [2 * d + 0.5 for d in range(len(departments))],
                "ticktext": departments,
                "tickfont": {"size": TICK_PX},
                "automargin": True,
                "ticks": "",
                "showgrid": False,
                "zeroline": False,
                "fixedrange": True,
            },
            "annotations": [
                {
                    "x": 0,
                    "xref": "paper",
                    "xanchor": "left",
                    "y": 1,
                    "yref": "paper",
                    "yanchor": "bottom",
                    "align": "left",
                    "text": title,
                    "showarrow": False,
                    "font": {"size": LABEL_PX},
                }
            ],
            # a gap between the departments' pairs of rows
            "shapes": [
                {
                    "type": "line",
                    "x0": 0,
                    "x1": 1,
                    "xref": "paper",
                    "y0": 2 * d - 0.5,
                    "y1": 2 * d - 0.5,
                    "yref": "y",
                    "line": {"color": "#e4e4e4", "width": 5},
                    "layer": "above",
                }
                for d in range(1, len(departments))
            ],
        }
        styles = {"shift": "dash", "change": "dashdot"}
        for period, _, colour, kind in marks:
            layout["shapes"].append(
                {
                    "type": "line",
                    "x0": period - 0.5,
                    "x1": period - 0.5,
                    "xref": "x",
                    "y0": 0,
                    "y1": 1,
                    "yref": "y domain",
                    "line": {"color": colour, "dash": styles[kind], "width": 2},
                    "layer": "above",
                }
            )
        return layout


def _tint(colour: str, amount: float) -> str:
    """``colour`` (#rrggbb) mixed with white: ``amount`` of the colour."""
    rgb = [int(colour[k : k + 2], 16) for k in (1, 3, 5)]
    mixed = [round(255 - amount * (255 - c)) for c in rgb]
    return "#" + "".join(f"{c:02x}" for c in mixed)


# ---- sailing in circles ----

_SAIL_X = ((0.0, 0.44), (0.56, 1.0))
_SAIL_Y = (0.0, 0.84)


def _font() -> dict[str, Any]:
    return {"family": "DejaVu Sans, Arial, sans-serif", "size": LABEL_PX, "color": "#1a1a1a"}


def _base_layout(
    margin: dict[str, int],
    *,
    legend: bool = False,
    hovermode: str = "closest",
    background: str = "white",
    keep_zoom: bool = True,
) -> dict[str, Any]:
    """What every live chart's layout shares: the projector's type, hover labels, a legend
    (one row above the panels) or none; ``keep_zoom`` keeps a user's zoom across frames."""
    layout: dict[str, Any] = {
        "font": _font(),
        "margin": margin,
        "showlegend": legend,
        "hovermode": hovermode,
        "hoverlabel": {"font": {"size": MARK_PX}},
        "plot_bgcolor": background,
        "paper_bgcolor": "white",
    }
    if legend:
        layout["legend"] = {
            "orientation": "h",
            "x": 0.5,
            "xanchor": "center",
            "y": 1.0,
            "yanchor": "top",
            "font": {"size": MARK_PX},
        }
    if keep_zoom:
        layout["uirevision"] = "keep"
    return layout


def _axis_style() -> dict:
    """How every axis of the KPI and debrief charts looks: a light grid, ticks outside, large
    tick labels (a fresh dict: plotly layouts are edited in place)."""
    return {
        "showgrid": True,
        "gridcolor": "#e6e6e6",
        "zeroline": False,
        "linecolor": "#4d4d4d",
        "ticks": "outside",
        "tickfont": {"size": TICK_PX},
    }


def _axis(domain: tuple[float, float], anchor: str, title: str, span: tuple[float, float]):
    return {
        "domain": list(domain),
        "anchor": anchor,
        "range": list(span),
        **_axis_style(),
        "nticks": 6,
        "title": {"text": title, "font": {"size": LABEL_PX}, "standoff": 4},
    }


def _panel_title(text: str, x: float) -> dict[str, Any]:
    return {
        "x": x,
        "xref": "paper",
        "xanchor": "left",
        "y": _SAIL_Y[1],
        "yref": "paper",
        "yanchor": "bottom",
        "text": text,
        "showarrow": False,
        "font": {"size": LABEL_PX},
    }


class SailingChart:
    """Sailing in circles drawn in the browser (as `sim.plots.SailingPanels`): left, each
    firm's path in efficiency x market value (a square at the start, a dot now, a star where
    a market shift found it); right, distance to port against miles sailed (moving right
    without coming down: sailing in circles). Axis limits only grow; hover shows the period
    and both numbers."""

    name = "sailing"

    def __init__(self, twins: TwinFirms) -> None:
        self.colours = firm_colours(twins.strategy_names)
        self.map_limits = ((math.inf, -math.inf), (math.inf, -math.inf))
        self.sail_limits = ((0.0, 10.0), (0.0, float(twins.market.n_decisions / 2)))

    def __repr__(self) -> str:
        return f"SailingChart(map {self.map_limits}, sail {self.sail_limits})"

    def spec(self, twins: TwinFirms, t: int | None = None) -> ChartSpec:
        """The paths up to period ``t`` (default: now)."""
        t = twins.period if t is None else t
        shifts = [p for p, _ in twins.shifts()]
        data: list[dict[str, Any]] = []
        xs, ys, miles_all, dist_all = [], [], [], []
        for i, track in enumerate(sailing_tracks(twins)):
            c = self.colours[i]
            label = twins.label_now(i, short=True)
            e = track.efficiency[: t + 1]
            v = track.market_value[: t + 1]
            alive = track.alive[: t + 1].astype(bool)
            miles = np.cumsum(track.miles[: t + 1]).astype(float)
            dist = track.distance[: t + 1].astype(float)
            miles[~alive], dist[~alive] = np.nan, np.nan
            ok = np.flatnonzero(alive)
            last = int(ok[-1]) if ok.size else 0
            periods = list(range(t + 1))
            at = [p for p in shifts if p <= t and alive[p]]
            data += [
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": _numbers(e),
                    "y": _numbers(v),
                    "customdata": periods,
                    "xaxis": "x",
                    "yaxis": "y",
                    "name": textwrap.shorten(label, 50),
                    "legendgroup": f"firm{i}",
                    "legendrank": 1 + i,
                    "opacity": 0.85,
                    "line": {"color": c, "width": 2.5},
                    "hovertemplate": "period %{customdata}: efficiency %{x:.2f}, market value "
                    f"%{{y:.2f}}<extra>{label[:30]}</extra>",
                },
                {
                    "type": "scatter",
                    "mode": "lines",
                    "x": _numbers(miles),
                    "y": _numbers(dist),
                    "customdata": periods,
                    "xaxis": "x2",
                    "yaxis": "y2",
                    "legendgroup": f"firm{i}",
                    "showlegend": False,
                    "line": {"color": c, "width": 3},
                    "hovertemplate": "period %{customdata}: %{x:.0f} miles sailed, %{y:.0f} "
                    f"from port<extra>{label[:30]}</extra>",
                },
                _marker(e[:1], v[:1], "x", "y", c, "square", 12, "start", i == 0, fill="white"),
                _marker(
                    e[last : last + 1], v[last : last + 1], "x", "y", c, "circle", 15, "now", i == 0
                ),
                _marker(
                    miles[last : last + 1],
                    dist[last : last + 1],
                    "x2",
                    "y2",
                    c,
                    "circle",
                    15,
                    "now",
                    False,
                ),
                _marker(e[at], v[at], "x", "y", c, "star", 20, "at a shift", i == 0),
            ]
            xs.append(e)
            ys.append(v)
            miles_all.append(miles)
            dist_all.append(dist)
        self.map_limits = (
            plots.grown_limits(self.map_limits[0], np.concatenate(xs), pad=0.3, min_span=0.1),
            plots.grown_limits(self.map_limits[1], np.concatenate(ys), pad=0.3, min_span=0.1),
        )
        sx, sy = self.sail_limits
        far = np.concatenate(dist_all)
        far = far[np.isfinite(far)]
        wide = plots.grown_limits(sx, np.concatenate(miles_all), pad=0.5, min_span=10.0)
        self.sail_limits = (
            (0.0, wide[1]),  # no miles below none
            (0.0, max(sy[1], float(far.max(initial=0.0)) + 0.5)),
        )
        layout = _base_layout({"l": 78, "r": 14, "t": 8, "b": 56}, legend=True)
        layout |= {
            "xaxis": _axis(_SAIL_X[0], "y", "efficiency", self.map_limits[0]),
            "yaxis": _axis(_SAIL_Y, "x", "market value", self.map_limits[1]),
            "xaxis2": _axis(_SAIL_X[1], "y2", "miles sailed (decisions changed)", sx),
            "yaxis2": _axis(_SAIL_Y, "x2", "distance to port", self.sail_limits[1]),
            "annotations": [
                _panel_title("(a) where each firm stands", _SAIL_X[0][0]),
                _panel_title("(b) distance to port vs miles", _SAIL_X[1][0]),
            ],
        }
        layout["xaxis2"]["range"] = list(self.sail_limits[0])
        caption = "Right: sailing in circles is moving right without coming down."
        if at_shift := [p for p in shifts if p <= t]:
            caption += (
                " Stars: where the market shifts found each firm (period "
                + ", ".join(map(str, at_shift))
                + ")."
            )
        return ChartSpec(layout, data, caption)


def _marker(
    x: np.ndarray,
    y: np.ndarray,
    xaxis: str,
    yaxis: str,
    colour: str,
    symbol: str,
    size: float,
    name: str,
    legend: bool,
    *,
    fill: str | None = None,
) -> dict[str, Any]:
    """Points drawn as markers (start, now, at a shift); in the legend in grey, once."""
    return {
        "type": "scatter",
        "mode": "markers",
        "x": _numbers(x),
        "y": _numbers(y),
        "xaxis": xaxis,
        "yaxis": yaxis,
        "name": name,
        "legendgroup": name,
        "legendrank": 10,
        "showlegend": legend,
        "hoverinfo": "skip",
        "marker": {
            "symbol": symbol,
            "size": size,
            "color": fill or colour,
            "line": {"color": colour if fill else "black", "width": 2 if fill else 1.2},
        },
    }


# ---- the departments as a network ----

_NET_X = ((0.0, 0.44), (0.46, 0.9))
_NET_Y = (0.0, 0.88)


class DepartmentsChart:
    """The departments as a network drawn in the browser, a panel per firm: a circle per
    department coloured by its local efficiency (viridis, 0.4 to 1; grey once closed), its
    value in it; lines between departments as thick as the decisions of one the other's
    depend on (the number on the line); an orange ring on a department that changed a
    decision this period. Hover: the department, its efficiency and what it changed."""

    name = "departments"

    def __init__(self, twins: TwinFirms) -> None:
        self.colours = firm_colours(twins.strategy_names)
        graph = twins.department_links
        positions = department_positions(graph)
        self.nodes = sorted(graph.nodes)
        self.xy = np.array([positions[n] for n in self.nodes])
        self.edges = list(graph.edges(data="weight"))
        self.positions = positions

    def __repr__(self) -> str:
        return f"DepartmentsChart({len(self.nodes)} departments, {len(self.edges)} links)"

    def spec(self, twins: TwinFirms, t: int | None = None) -> ChartSpec:
        """The departments at period ``t`` (default: now)."""
        t = twins.period if t is None else t
        sc = twins.scenario
        names = [sc.departments[d].label or plain(sc.departments[d].name) for d in self.nodes]
        weights = [float(w) for _, _, w in self.edges]
        top = max(weights, default=1.0)
        data: list[dict[str, Any]] = []
        layout = _base_layout({"l": 4, "r": 4, "t": 4, "b": 4})
        layout["annotations"] = []
        for i in range(2):
            axis = "" if i == 0 else "2"
            hidden = {
                "showgrid": False,
                "zeroline": False,
                "showticklabels": False,
                "fixedrange": True,
            }
            layout[f"xaxis{axis}"] = {
                "domain": list(_NET_X[i]),
                "anchor": f"y{axis}",
                "range": [-2.9, 2.9],
                **hidden,
            }
            layout[f"yaxis{axis}"] = {
                "domain": list(_NET_Y),
                "anchor": f"x{axis}",
                "range": [-1.6, 1.6],
                **hidden,
            }
            common = {"xaxis": f"x{axis}", "yaxis": f"y{axis}", "type": "scatter"}
            for a, b, w in self.edges:
                (xa, ya), (xb, yb) = self.positions[a], self.positions[b]
                shade = _LINK_SHADES[min(4, int(5 * w / top) if top else 0)]
                data.append(
                    {
                        **common,
                        "mode": "lines",
                        "x": [xa, xb],
                        "y": [ya, yb],
                        "hoverinfo": "skip",
                        "line": {"color": shade, "width": 1.5 + 6.0 * w / top},
                    }
                )
            mids = [
                0.62 * np.asarray(self.positions[a]) + 0.38 * np.asarray(self.positions[b])
                for a, b, _ in self.edges
            ]
            if mids:
                data.append(
                    {
                        **common,
                        "mode": "markers+text",
                        "x": [float(m[0]) for m in mids],
                        "y": [float(m[1]) for m in mids],
                        "text": [str(w) for _, _, w in self.edges],
                        "textfont": {"size": MARK_PX},
                        "hovertemplate": "%{text} decisions depend across<extra></extra>",
                        "marker": {
                            "size": 26,
                            "color": "white",
                            "line": {"color": "#b3b3b3", "width": 1},
                        },
                    }
                )
            local = np.asarray(twins.firms[i].log.department_efficiency[t], float)
            changed = twins.changed_decisions(i, t)
            moved = [sorted(changed & set(sc.department_decisions[d])) for d in self.nodes]
            values = [float(local[d]) for d in self.nodes]
            words = [
                ("changed " + ", ".join(plain(sc.decisions[k]) for k in m))
                if m
                else "no change this period"
                for m in moved
            ]
            data.append(
                {
                    **common,
                    "mode": "markers+text",
                    "x": self.xy[:, 0].tolist(),
                    "y": self.xy[:, 1].tolist(),
                    "text": ["closed" if v != v else f"{v:.2f}" for v in values],
                    "textfont": {
                        "size": MARK_PX,
                        "color": ["black" if v != v or v >= 0.75 else "white" for v in values],
                    },
                    "customdata": [[n, w] for n, w in zip(names, words, strict=True)],
                    "hovertemplate": "%{customdata[0]}: local efficiency %{text}; %{customdata[1]}"
                    f"<extra>{twins.label_now(i, short=True)[:30]}</extra>",
                    "marker": {
                        "size": 54,
                        "color": [_efficiency_colour(v) for v in values],
                        "line": {
                            "color": ["#E69F00" if m else "black" for m in moved],
                            "width": [6 if m else 1.2 for m in moved],
                        },
                    },
                }
            )
            for (x, y), name in zip(self.xy, names, strict=True):
                radius = float(np.hypot(x, y)) or 1.0
                layout["annotations"].append(
                    {
                        "x": float(x + 0.5 * x / radius),
                        "y": float(y + 0.5 * y / radius),
                        "xref": f"x{axis}",
                        "yref": f"y{axis}",
                        "text": "<br>".join(textwrap.wrap(name, 12, break_long_words=False)),
                        "showarrow": False,
                        "xanchor": "center" if abs(x) < 0.3 else ("left" if x > 0 else "right"),
                        "yanchor": "middle" if abs(y) < 0.3 else ("bottom" if y > 0 else "top"),
                        "font": {"size": MARK_PX},
                    }
                )
            layout["annotations"].append(
                {
                    "x": _NET_X[i][0],
                    "xref": "paper",
                    "xanchor": "left",
                    "y": 1.0,
                    "yref": "paper",
                    "yanchor": "top",
                    "text": f"<b>{html.escape(twins.label_now(i, short=True))}</b>",
                    "showarrow": False,
                    "font": {"size": LABEL_PX, "color": self.colours[i]},
                }
            )
        # the colour scale: an invisible point that carries it
        data.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [None],
                "y": [None],
                "hoverinfo": "skip",
                "marker": {
                    "color": [0.7],
                    "cmin": 0.4,
                    "cmax": 1.0,
                    "colorscale": "Viridis",
                    "showscale": True,
                    "colorbar": {
                        "title": {
                            "text": "local efficiency",
                            "side": "right",
                            "font": {"size": MARK_PX},
                        },
                        "tickfont": {"size": MARK_PX},
                        "len": 0.85,
                        "x": 0.92,
                    },
                },
            }
        )
        caption = (
            "Numbers on the lines: how many decisions of one department the other's depend on. "
            "Orange ring: the department changed a decision this period."
        )
        return ChartSpec(layout, data, caption)


#: Matplotlib's viridis at 33 even steps from 0 to 1, interpolated linearly (within 3/255 of
#: matplotlib's own table, tested): the page's first screen draws this chart and needs no
#: matplotlib (0.3 s of the app's start).
_VIRIDIS = (
    np.frombuffer(
        bytes.fromhex(
            "440154 470d60 48186a 482374 472d7b 453781 424086 3e4989 3b528b 375b8d 33638d "
            "2f6b8e 2c728e 297a8e 26828e 23898e 21918c 1f988b 1fa088 22a785 28ae80 32b67a "
            "3fbc73 4ec36b 5ec962 70cf57 84d44b 98d83e addc30 c2df23 d8e219 ece51b fde725"
        ),
        dtype=np.uint8,
    ).reshape(-1, 3)
    / 255
)


def viridis(x: float) -> tuple[float, float, float]:
    """Viridis at ``x`` (0 to 1) as red, green and blue from 0 to 1."""
    steps = np.linspace(0.0, 1.0, len(_VIRIDIS))
    r, g, b = (float(np.interp(x, steps, _VIRIDIS[:, c])) for c in range(3))
    return r, g, b


_LINK_SHADES = ("#bdbdbd", "#a3a3a3", "#858585", "#636363", "#3d3d3d")


def _efficiency_colour(value: float) -> str:
    """A department's local efficiency as a colour of viridis from 0.4 to 1 (as the live
    image's scale), light grey if it has none (closed)."""
    if not math.isfinite(value):
        return "#d1d1d1"
    r, g, b = viridis((min(max(value, 0.4), 1.0) - 0.4) / 0.6)
    return f"#{round(255 * r):02x}{round(255 * g):02x}{round(255 * b):02x}"


def live_charts(twins: TwinFirms) -> dict[str, Any]:
    """The page's charts drawn in the browser, by view name."""
    return {
        "over_time": OverTimeChart(twins),
        "sailing": SailingChart(twins),
        "departments": DepartmentsChart(twins),
        "timeline": TimelineChart(),
    }
