"""The classroom's live charts drawn in the browser by Plotly (plotly.js from the plotly wheel).

The server sends data, not images: a chart is a Plotly figure as plain JSON (``layout`` and
``data``, `ChartSpec`), drawn by ``assets/plotly_chart.vue`` with ``Plotly.react``, which only
restyles what changed. The layout (axes, marks, legend) changes rarely (a shift, a live change,
a profit leaving its axis); each period only the traces' numbers change. Hovering shows the
values. Slides and exports keep matplotlib (`sim.app.live`).
"""

from __future__ import annotations

import math
import textwrap
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim import plots
from sim.app.live import baseline_words, change_marks, firm_colours
from sim.app.state import KPI_COLUMNS, Debrief, TwinFirms
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
                data.append(  # a dot where the line is now (one point: cheap to draw)
                    {
                        "type": "scatter",
                        "mode": "markers",
                        "x": [last],
                        "y": _numbers(y[last : last + 1]),
                        "xaxis": f"x{axis}",
                        "yaxis": f"y{axis}",
                        "legendgroup": f"head{i}",
                        "showlegend": False,
                        "hoverinfo": "skip",
                        "marker": {
                            "color": self.colours[i],
                            "size": 11,
                            "line": {"color": "black", "width": 1.5},
                        },
                    }
                )
                bx: list[int] = []
                by: list[float | None] = []
                if base is not None:
                    b = base.firms[i].log.floats[column][: t + 1]
                    shown.append(b)
                    bx, by = x, _numbers(b)
                data.append(
                    {
                        "type": "scatter",
                        "mode": "lines",
                        "x": bx,
                        "y": by,
                        "xaxis": f"x{axis}",
                        "yaxis": f"y{axis}",
                        "name": "without the class's changes",
                        "legendgroup": "baseline",
                        "showlegend": k == 0 and i == 0 and base is not None,
                        "opacity": 0.8,
                        "line": {"color": self.colours[i], "width": 2, "dash": "dash"},
                        "hovertemplate": f"{what} without the changes: %{{y:.2f}}<extra></extra>",
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
    """The debrief drawn in the browser: per KPI panel (2 x 2), every market of the debrief a
    thin line per firm, the mean over markets bold, the class's market dashed; market shifts
    marked; type of at least 18 px (a projector's back row). Slides keep matplotlib
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
                        "name": f"{label} (mean of {n})",
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
                            "showlegend": p == 0 and i == 0,
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
        horizon = debrief.data["profit"].shape[2] - 1
        layout = kpi_layout(
            debrief.scenario,
            horizon,
            limits,
            hovermode="closest",
            y_domains=((0.5, 0.86), (0.0, 0.38)),
        )
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
    font = {"family": "DejaVu Sans, Arial, sans-serif", "size": LABEL_PX, "color": "#1a1a1a"}
    layout: dict[str, Any] = {
        "font": font,
        "margin": {"l": 78, "r": 14, "t": 8, "b": 52},
        "showlegend": True,
        "legend": {
            "orientation": "h",
            "x": 0.5,
            "xanchor": "center",
            "y": 1.0,
            "yanchor": "top",
            "font": {"size": MARK_PX},
        },
        "hovermode": hovermode,
        "hoverlabel": {"font": {"size": MARK_PX}},
        "plot_bgcolor": "white",
        "paper_bgcolor": "white",
        "shapes": [],
    }
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
            "showgrid": True,
            "gridcolor": "#e6e6e6",
            "zeroline": False,
            "linecolor": "#4d4d4d",
            "ticks": "outside",
            "tickfont": {"size": TICK_PX},
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


def live_charts(twins: TwinFirms) -> dict[str, OverTimeChart]:
    """The page's charts drawn in the browser, by view name."""
    return {"over_time": OverTimeChart(twins)}
