"""The classroom's live views: figures redrawn in place every period, and the page's screen.

Each live view owns one matplotlib `Figure` (Agg canvas, never pyplot) whose artists are
updated, not rebuilt, so a period's redraw costs a draw and a fast PNG encoding. Colours and
style are those of `sim.plots`: the efficiency-only firm warm, the aligned firm cool.
Matplotlib is imported when a figure is made (an export, a slide), not with the module: the
page draws its charts in the browser and its first screen needs no matplotlib.
"""

from __future__ import annotations

import functools
import html
import io
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import pandas as pd

from sim import plots
from sim.app.state import (
    DEBRIEF_SEEDS,
    KPI_COLUMNS,
    Debrief,
    Intervention,
    TwinFirms,
    change_words,
    plain,
)
from sim.effects import holds
from sim.explain import describe_effect
from sim.plots import PALETTE, STRATEGY_COLOURS, style_axes
from sim.scenario.schema import EffectSpec, effect_decision

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    from sim.app.charts import ChartSpec

#: Dots per inch of the page's figures: large type for the back of the room (a 1180-pixel
#: figure is 9 inches wide); exports for slides use `EXPORT_DPI`.
SCREEN_DPI = 130
EXPORT_DPI = 200
_TEXT, _SMALL, _TITLE = 12, 11, 13
_PANEL_TITLES = {
    "efficiency": "Efficiency",
    "market_value": "Market value",
    "profit": "Profit",
    "cash": "Cash",
}


def _legend_on_top(fig: Figure, handles: list):
    """One legend row across the top of a view."""
    return fig.legend(
        handles=handles,
        loc="upper center",
        ncols=len(handles),
        fontsize=_TEXT,
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
    )


def firm_colours(strategy_names: tuple[str, str]) -> tuple[str, str]:
    """The twin firms' colours: those of `sim.plots` by strategy, distinct if both are equal."""
    spare = [c for c in PALETTE if c not in STRATEGY_COLOURS.values()]
    first = STRATEGY_COLOURS.get(strategy_names[0], spare[0])
    second = STRATEGY_COLOURS.get(strategy_names[1], spare[1])
    if second == first:
        second = spare[2] if first != spare[2] else spare[3]
    return first, second


class LiveView:
    """A figure of a fixed pixel size whose artists are updated by `update` each period.

    Redraws blit: the static part (axes, ticks, labels, legend) is rendered once and kept as
    a background; a period restores it and draws only the artists in ``self.dynamic``. A view
    that changes its static part (limits, shift marks) calls `invalidate`.
    """

    name = "view"

    def __repr__(self) -> str:
        width, height = self.canvas.get_width_height()
        return f"{type(self).__name__}({width}x{height} px, drawn to period {self.period})"

    def __init__(self, width: int, height: int, dpi: int = SCREEN_DPI) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(width / dpi, height / dpi), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        self.dynamic: list[Artist] = []
        self.period = -1
        self._background = None

    def animate(self, *artists: Artist) -> None:
        """Mark ``artists`` as redrawn every period (left out of the static background)."""
        for artist in artists:
            artist.set_animated(True)
            self.dynamic.append(artist)

    def freeze(self) -> None:
        """Draw every artist in every draw (for saving and animations, not for blitting)."""
        for artist in self.dynamic:
            artist.set_animated(False)
        self.dynamic = []
        self.invalidate()

    def invalidate(self) -> None:
        """The static part changed: render it anew at the next `png`."""
        self._background = None

    def update(self, twins: TwinFirms, t: int | None = None) -> None:  # pragma: no cover
        """Show ``twins`` as at period ``t`` (default: now)."""
        raise NotImplementedError

    def render(self) -> None:
        """Draw the figure into the canvas: the static background if needed, then the rest."""
        if self._background is None:
            self.canvas.draw()
            self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        else:
            self.canvas.restore_region(self._background)
        renderer = self.canvas.get_renderer()
        for artist in self.dynamic:
            if artist.get_visible():
                artist.draw(renderer)

    def png(self) -> bytes:
        """The figure as it stands, as PNG (screen resolution, 64 colours, fast encoding)."""
        from PIL import Image

        self.render()
        width, height = self.canvas.get_width_height()
        image = Image.frombuffer("RGBA", (width, height), self.canvas.buffer_rgba())
        # 64 colours: a third of the bytes of true colour, as fast to encode, and line art
        # and text look the same
        small = image.convert("RGB").quantize(64, method=Image.Quantize.FASTOCTREE)
        out = io.BytesIO()
        small.save(out, format="PNG", compress_level=1)
        return out.getvalue()

    def fit(self, twins: TwinFirms) -> None:
        """Axis limits that fit the data shown (for a slide; the screen's grow with room)."""

    def caption(self) -> str:
        """What the figure marks, in words (under the image: for people, and for tests)."""
        return ""

    def export_png(self, twins: TwinFirms, title: str = "", dpi: int = EXPORT_DPI) -> bytes:
        """The figure as PNG for slides: higher resolution, white background, all artists,
        axes fitting the data and ``title`` (what, which scenario, market and period) under
        the panels."""
        for artist in self.dynamic:
            artist.set_animated(False)
        limits = [(ax, ax.get_xlim(), ax.get_ylim()) for ax in self.figure.axes]
        params = self.figure.subplotpars
        bottom, top = params.bottom, params.top
        band = 0.1  # a footer under the panels for the title: it covers nothing
        footer = self.figure.text(
            0.01,
            0.008,
            title,
            ha="left",
            va="bottom",
            fontsize=_SMALL,
            color="0.1",
            gid="slide-title",
        )
        self.figure.subplots_adjust(bottom=bottom + band, top=top)
        self.fit(twins)
        try:
            out = io.BytesIO()
            self.figure.savefig(out, format="png", dpi=dpi, facecolor="white")
        finally:
            footer.remove()
            self.figure.subplots_adjust(bottom=bottom, top=top)
            for ax, xlim, ylim in limits:
                ax.set_xlim(xlim)
                ax.set_ylim(ylim)
            for artist in self.dynamic:
                artist.set_animated(True)
            self.invalidate()  # savefig at another dpi leaves the screen canvas stale
        return out.getvalue()


class OverTimeView(LiveView):
    """Efficiency, market value, profit and cash over time for both firms; market shifts and
    every change of the class (strategy, costs, shifts) marked and labelled above the panels;
    once there is a change, a dashed line per firm from period 0: the same market without the
    class's changes (the baseline)."""

    name = "over_time"

    def __init__(self, twins: TwinFirms, width: int = 1000, height: int = 520) -> None:
        from matplotlib.ticker import MaxNLocator

        super().__init__(width, height)
        sc = twins.scenario
        self.colours = firm_colours(twins.strategy_names)
        fig = self.figure
        fig.subplots_adjust(left=0.115, right=0.975, bottom=0.11, top=0.76, wspace=0.3, hspace=0.42)
        axes = fig.subplots(2, 2).ravel()
        self.axes = dict(zip(KPI_COLUMNS, axes, strict=True))
        # the panel's name on its y axis: above the panels is the marks' row
        ylabels = {
            "efficiency": "efficiency",
            "market_value": "market value",
            "profit": f"profit\n({sc.money_unit})",
            "cash": f"cash ({plots.stock_unit(sc.money_unit)})",
        }
        self.lines: dict[str, list[Line2D]] = {}
        self.heads: dict[str, list[Line2D]] = {}
        self.baselines: dict[str, list[Line2D]] = {}
        self.limits: dict[str, tuple[float, float]] = {}
        for column, ax in self.axes.items():
            style_axes(ax, ylabel=ylabels[column])
            ax.set_xlim(0, sc.horizon)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
            self.baselines[column] = [
                ax.plot(
                    [],
                    [],
                    color=c,
                    linewidth=2.0,
                    linestyle=(0, (4, 3)),
                    alpha=0.8,
                    zorder=3.5,
                    gid="baseline",
                )[0]
                for c in self.colours
            ]
            self.lines[column] = [
                ax.plot([], [], color=c, linewidth=2.4, zorder=3)[0] for c in self.colours
            ]
            self.heads[column] = [
                ax.plot([], [], "o", color=c, markersize=7, markeredgecolor="black", zorder=4)[0]
                for c in self.colours
            ]
            if column in ("efficiency", "market_value"):
                self.limits[column] = (0.0, 1.0)
            else:
                self.limits[column] = (-1.0, 1.0)
                ax.axhline(0.0, color="0.45", linewidth=1.0, zorder=1.5)
            ax.set_ylim(*self.limits[column])
        for column in KPI_COLUMNS:
            self.animate(*self.baselines[column], *self.lines[column], *self.heads[column])
        for ax in axes[2:]:
            ax.set_xlabel("period (month)", fontsize=_SMALL)
        self._scheduled = [
            ax.axvline(t, color="0.6", linestyle=":", linewidth=1.2, zorder=1)
            for t in sc.shift_times
            for ax in axes
        ]
        self._mark_artists: list = []
        self._marks_drawn: tuple = ()
        self._legend = None
        self._legend_labels: tuple = ()
        self._baseline_words = ""
        self._set_legend(twins)

    def fit(self, twins: TwinFirms) -> None:
        """Profit and cash around the lines drawn."""
        for column in ("profit", "cash"):
            lines = self.lines[column] + self.baselines[column]
            self.axes[column].set_ylim(
                *plots.fitted_limits([np.asarray(ln.get_ydata(), float) for ln in lines])
            )

    def caption(self) -> str:
        """The marks drawn (shifts, live changes) and the dashed lines, in words."""
        words = []
        if self._marks_drawn:
            words.append(
                "Marked: " + "; ".join(label for _, label, _, _ in self._marks_drawn) + "."
            )
        if self._baseline_words:
            words.append(self._baseline_words)
        return " ".join(words)

    def _set_legend(self, twins: TwinFirms) -> None:
        from matplotlib.lines import Line2D

        labels = (twins.label_now(0), twins.label_now(1), twins.baseline is not None)
        if labels == self._legend_labels:
            return
        if self._legend is not None:
            self._legend.remove()
        handles = [
            Line2D([], [], color=c, linewidth=3, label=textwrap.shorten(label, 60))
            for c, label in zip(self.colours, labels[:2], strict=True)
        ]
        handles.append(
            Line2D([], [], color="0.15", linestyle="--", linewidth=1.4, label="market shift")
        )
        if labels[2]:
            handles.append(
                Line2D(
                    [],
                    [],
                    color="0.3",
                    linestyle=(0, (4, 3)),
                    linewidth=2,
                    label="without the class's changes",
                )
            )
        else:
            handles.append(
                Line2D([], [], color="0.6", linestyle=":", linewidth=1.4, label="shift to come")
            )
        short = sum(len(h.get_label()) for h in handles) < 75
        self._legend = self.figure.legend(
            handles=handles,
            loc="upper center",
            ncols=len(handles) if short else 2,
            fontsize=_SMALL,
            frameon=False,
            bbox_to_anchor=(0.5, 1.0),
            columnspacing=1.2,
        )
        self._legend_labels = labels
        self.invalidate()

    def update(self, twins: TwinFirms, t: int | None = None) -> None:
        """Lines up to period ``t``; limits grow as needed; shifts and live changes marked."""
        t = twins.period if t is None else t
        x = np.arange(t + 1)
        base = twins.baseline
        for column, ax in self.axes.items():
            values = []
            for i, firm in enumerate(twins.firms):
                y = firm.log.floats[column][: t + 1]
                values.append(y)
                self.lines[column][i].set_data(x, y)
                alive = np.flatnonzero(np.isfinite(y))
                last = alive[-1] if alive.size else 0
                self.heads[column][i].set_data([last], [y[last]] if alive.size else [np.nan])
                if base is not None:
                    b = base.firms[i].log.floats[column][: t + 1]
                    self.baselines[column][i].set_data(x, b)
                    values.append(b)
                else:
                    self.baselines[column][i].set_data([], [])
            if column in ("profit", "cash"):
                grown = plots.grown_limits(
                    self.limits[column], np.concatenate(values), pad=0.25, min_span=2.0
                )
                if grown != self.limits[column]:
                    self.limits[column] = grown
                    ax.set_ylim(*grown)
                    self.invalidate()
        styles = {"shift": "--", "change": "-."}
        marks = tuple(
            (p, label, colour, styles[kind])
            for p, label, colour, kind in change_marks(twins, t, self.colours)
        )
        self._baseline_words = baseline_words(twins, t)
        if marks != self._marks_drawn:
            self._draw_marks(marks)
            self.invalidate()
        self._set_legend(twins)
        upcoming = {p for p, _ in twins.scheduled_shifts()} | {
            p for p, _ in twins.shifts() if p > t
        }
        for line in self._scheduled:
            visible = float(line.get_xdata()[0]) in upcoming
            if visible != line.get_visible():
                line.set_visible(visible)
                self.invalidate()
        self.period = t

    def _draw_marks(self, marks: tuple[tuple[int, str, str, str], ...]) -> None:
        """A vertical line per shift or change in every panel, its label above the top panels
        (outside the axes: a label never covers data)."""
        for artist in self._mark_artists:
            artist.remove()
        self._mark_artists = []
        ax = self.axes["efficiency"]
        horizon = ax.get_xlim()[1]
        # a label's width in periods (about 0.6 of the font size per character)
        per_char = 0.6 * _SMALL * self.figure.dpi / 72 * horizon / ax.bbox.width
        row_ends: list[float] = []
        for period, label, colour, style in marks:
            for panel in self.axes.values():
                self._mark_artists.append(
                    panel.axvline(period, color=colour, linestyle=style, linewidth=1.5, zorder=2)
                )
            half = len(label) * per_char / 2
            row = next((r for r, end in enumerate(row_ends) if end < period - half), None)
            if row is None:
                row = len(row_ends) % 2
                if len(row_ends) < 2:
                    row_ends.append(0.0)
            row_ends[row] = period + half
            for panel in (self.axes["efficiency"], self.axes["market_value"]):
                self._mark_artists.append(
                    panel.text(
                        period,
                        1.03 + 0.16 * row,
                        label,
                        transform=panel.get_xaxis_transform(),
                        ha="center",
                        va="bottom",
                        fontsize=_SMALL,
                        color=colour,
                        clip_on=False,
                        gid="mark-label",
                    )
                )
        self._marks_drawn = marks


#: the colours of the marks that are no firm's: market shifts, and changes of the costs
SHIFT_COLOUR, COSTS_COLOUR = "#262626", "#8c6d1f"


def change_marks(
    twins: TwinFirms, t: int, colours: Sequence[str]
) -> tuple[tuple[int, str, str, str], ...]:
    """Every market shift and every change of the class that acts by period ``t``, in period
    order: (period, label, colour, kind), kind ``shift`` or ``change``; a firm's change in its
    colour ("71: α 0.7, sensing 0.3"), a change of the costs in `COSTS_COLOUR` ("40: costs
    ×3")."""
    marks = [(p, f"shift {p}", SHIFT_COLOUR, "shift") for p, _ in twins.shifts() if p <= t]
    for c in twins.interventions:
        if c.kind == "shift" or c.effective > t:
            continue
        if c.kind == "costs":
            label, colour = f"{c.effective}: costs ×{c.cost_factor:g}", COSTS_COLOUR
        else:
            label, colour = f"{c.effective}: {_short_change(c)}", colours[c.firm]
        marks.append((c.effective, label, colour, "change"))
    return tuple(sorted(marks, key=lambda mark: mark[0]))


def baseline_words(twins: TwinFirms, t: int) -> str:
    """The dashed lines in words: the same market without the class's changes, and which firm
    they have changed nothing for so far."""
    first = twins.first_change()
    if twins.baseline is None or first is None:
        return ""
    words = (
        "Dashed: each firm in the same market without the class's changes (the same line up "
        f"to the first change, at period {first})."
    )
    same = [twins.labels[i] for i in range(2) if not twins.differs_from_baseline(i, t)]
    if same and first <= t:
        words += f" No difference so far for {' and '.join(same)}."
    return words


def _short_change(change: Intervention) -> str:
    """A live change in a few characters, for a mark on a chart: "α 0.7", "sensing 0",
    "α shop 0.8", "hierarchical"."""
    parts = [
        str(v) if k == "coordination" else change_words([(k, v)], short=True)
        for k, v in change.changes
    ]
    return ", ".join(parts) or "change"


class SailingView(LiveView):
    """Sailing in circles (`sim.plots.SailingPanels`), live: the firms' paths in efficiency x
    market value, and distance to port against miles sailed."""

    name = "sailing"

    def __init__(
        self, twins: TwinFirms, width: int = 1000, height: int = 520, dpi: int = SCREEN_DPI
    ) -> None:
        super().__init__(width, height, dpi)
        self.figure.subplots_adjust(left=0.075, right=0.975, bottom=0.2, top=0.84, wspace=0.22)
        self.panels = plots.SailingPanels(
            self.figure,
            labels=twins.labels,
            colours=firm_colours(twins.strategy_names),
            max_distance=twins.market.n_decisions / 2,
            fontsize=_SMALL,
        )
        self.ax_map, self.ax_sail = self.panels.ax_map, self.panels.ax_sail
        self.sails = self.panels.sails
        self.animate(*self.panels.artists)

    def fit(self, twins: TwinFirms) -> None:
        """Both panels around the paths drawn (miles from 0 to the furthest sailed)."""
        self.panels.fit()

    def update(self, twins: TwinFirms, t: int | None = None) -> None:
        """Paths up to period ``t``, a star where each shift found the firm."""
        t = twins.period if t is None else t
        shifts = [p for p, _ in twins.shifts()]
        if self.panels.show(sailing_tracks(twins), shifts, t):
            self.invalidate()
        self.period = t


def sailing_tracks(twins: TwinFirms) -> list[plots.SailingTrack]:
    """The twin firms' runs so far, as the sailing picture reads them."""
    return [
        plots.SailingTrack(
            efficiency=firm.log.floats["efficiency"],
            market_value=firm.log.floats["market_value"],
            alive=firm.log.bools["alive"],
            miles=firm.log.ints["miles"],
            distance=firm.log.ints["distance_to_port"],
        )
        for firm in twins.firms
    ]


def department_positions(graph: nx.Graph) -> dict[int, np.ndarray]:
    """Where each department sits in the network picture: on a circle of radius 0.8 (room
    around for the names), or apart on a line for two."""
    layout = nx.circular_layout if len(graph) > 2 else functools.partial(nx.spring_layout, seed=1)
    return layout(graph, scale=0.8)


class DepartmentsView(LiveView):
    """The departments as a network, one panel per firm: nodes coloured by local efficiency,
    edges by interdependence (decisions of one department that another's depend on)."""

    name = "departments"

    def __init__(self, twins: TwinFirms, width: int = 1180, height: int = 520) -> None:
        from matplotlib import colormaps
        from matplotlib.collections import LineCollection
        from matplotlib.colors import Normalize

        super().__init__(width, height)
        sc = twins.scenario
        self.colours = firm_colours(twins.strategy_names)
        graph = twins.department_links
        self.graph = graph
        positions = department_positions(graph)
        nodes = sorted(graph.nodes)
        self.xy = np.array([positions[n] for n in nodes])
        edges = list(graph.edges(data="weight"))
        weights = np.array([w for _, _, w in edges], dtype=float)
        top = float(weights.max()) if weights.size else 1.0
        self.norm = Normalize(0.4, 1.0)
        fig = self.figure
        fig.subplots_adjust(left=0.01, right=0.9, bottom=0.02, top=0.82, wspace=0.08)
        self.axes = fig.subplots(1, 2)
        self.dots, self.values, self.rings = [], [], []
        for i, ax in enumerate(self.axes):
            ax.set_title(twins.labels[i], fontsize=_TITLE, color=self.colours[i], loc="left")
            ax.set_axis_off()
            ax.set_xlim(-2.4, 2.4)
            ax.set_ylim(-1.6, 1.6)
            ax.set_aspect("equal", adjustable="box")
            segments = [[positions[a], positions[b]] for a, b, _ in edges]
            if segments:
                ax.add_collection(
                    LineCollection(
                        segments,
                        linewidths=1.5 + 6.0 * weights / top,
                        colors=[colormaps["Greys"](0.35 + 0.6 * w / top) for w in weights],
                        zorder=1,
                    )
                )
                for (_, _, w), seg in zip(edges, segments, strict=True):
                    # off the middle, so that the labels of crossing lines do not collide
                    mid = 0.62 * np.asarray(seg[0]) + 0.38 * np.asarray(seg[1])
                    ax.text(
                        mid[0],
                        mid[1],
                        str(w),
                        fontsize=_SMALL,
                        ha="center",
                        va="center",
                        color="0.2",
                        zorder=2,
                        bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "0.7"},
                    )
            self.rings.append(
                ax.scatter(
                    self.xy[:, 0],
                    self.xy[:, 1],
                    s=2300,
                    facecolors="none",
                    edgecolors="#E69F00",
                    linewidths=5,
                    zorder=3,
                )
            )
            self.dots.append(
                ax.scatter(
                    self.xy[:, 0],
                    self.xy[:, 1],
                    s=1500,
                    c=np.full(len(nodes), 0.7),
                    cmap=colormaps["viridis"].with_extremes(bad="0.82"),
                    norm=self.norm,
                    edgecolors="black",
                    linewidths=1.2,
                    zorder=4,
                )
            )
            self.values.append(
                [
                    ax.text(x, y, "", ha="center", va="center", fontsize=_TEXT, zorder=5)
                    for x, y in self.xy
                ]
            )
            for d, (x, y) in zip(nodes, self.xy, strict=True):
                label = sc.departments[d].label or plain(sc.departments[d].name)
                radius = float(np.hypot(x, y)) or 1.0
                ax.text(
                    x + 0.45 * x / radius,
                    y + 0.45 * y / radius,
                    textwrap.fill(label, 14),
                    ha="center" if abs(x) < 0.3 else ("left" if x > 0 else "right"),
                    va="center" if abs(y) < 0.3 else ("bottom" if y > 0 else "top"),
                    fontsize=_TEXT,
                    zorder=5,
                )
        for i in range(2):
            self.animate(self.rings[i], self.dots[i], *self.values[i])
        bar = fig.colorbar(self.dots[-1], ax=list(self.axes), fraction=0.03, pad=0.02, shrink=0.85)
        bar.set_label("local efficiency", fontsize=_SMALL)
        bar.ax.tick_params(labelsize=_SMALL)
        fig.text(
            0.01,
            0.98,
            "Numbers on the lines: how many decisions of one department the other's depend on.\n"
            "Orange ring: the department changed a decision this period.",
            fontsize=_SMALL,
            va="top",
            color="0.25",
        )

    def update(self, twins: TwinFirms, t: int | None = None) -> None:
        """Node colours from local efficiencies; rings on departments that moved this period."""
        t = twins.period if t is None else t
        sc = twins.scenario
        for i, firm in enumerate(twins.firms):
            local = firm.log.department_efficiency[t]
            self.dots[i].set_array(np.ma.masked_invalid(local))
            changed = twins.changed_decisions(i, t)
            moved = [bool(changed & set(decisions)) for decisions in sc.department_decisions]
            self.rings[i].set_visible(any(moved))
            self.rings[i].set_edgecolors(["#E69F00" if m else "none" for m in moved])
            for text, value in zip(self.values[i], local, strict=True):
                text.set_text("closed" if not np.isfinite(value) else f"{value:.2f}")
                text.set_color("white" if np.isfinite(value) and value < 0.75 else "black")
        self.period = t


def live_views(twins: TwinFirms) -> dict[str, LiveView]:
    """The page's figures for a session, drawn at its current period."""
    views: dict[str, LiveView] = {
        "over_time": OverTimeView(twins),
        "sailing": SailingView(twins),
        "departments": DepartmentsView(twins),
    }
    for view in views.values():
        view.update(twins)
    return views


def decisions_table(twins: TwinFirms) -> str:
    """The decisions with their business names, both firms' choices, what customers want,
    and those changed this period marked; under each department the designed effects its
    decisions set off, and whether each acts in each firm now (HTML)."""
    sc = twins.scenario
    values = [twins.decision_values(i) for i in range(2)]
    changed = [twins.changed_decisions(i) for i in range(2)]
    wanted = twins.wanted_values()
    colours = firm_colours(twins.strategy_names)
    effects: dict[tuple[int, ...], list[EffectSpec]] = {}  # under the department of `when`
    for effect in sc.effects:
        first = effect_decision(sc, next(iter(effect.when)))
        owner = next(dec for dec in sc.department_decisions if first in dec)
        effects.setdefault(owner, []).append(effect)
    head = "".join(
        f'<th style="color:{c}">{html.escape(label)}</th>'
        for c, label in zip(colours, twins.labels, strict=True)
    )
    rows = []
    for dep, decisions in zip(sc.departments, sc.department_decisions, strict=True):
        dep_label = html.escape(dep.label or plain(dep.name))
        rows.append(f'<tr class="dept"><td colspan="4">{dep_label}</td></tr>')
        for i in decisions:
            cells = []
            for f in range(2):
                word = "yes" if values[f][i] else "no"
                if i in changed[f]:
                    cells.append(f'<td class="changed">{word} <span>changed</span></td>')
                else:
                    cells.append(f'<td class="{word}">{word}</td>')
            want = wanted.get(i)
            if want is None:
                want_cell = '<td class="indifferent">—</td>'
            else:
                match = sum(values[f][i] == want for f in range(2))
                want_cell = (
                    f'<td class="want" title="{match} of 2 firms match">'
                    + ("yes" if want else "no")
                    + "</td>"
                )
            rows.append(
                f"<tr><td>{html.escape(plain(sc.decisions[i]))}</td>{''.join(cells)}{want_cell}</tr>"
            )
        rows += [_effect_row(twins, effect) for effect in effects.get(decisions, [])]
    return (
        '<table class="decisions"><thead><tr><th>decision</th>'
        f"{head}<th>customers want</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _effect_row(twins: TwinFirms, effect: EffectSpec) -> str:
    """A designed effect under its department: what it does, and whether it acts in each firm
    now (its conditions hold in the firm's set-up)."""
    sc = twins.scenario
    what = html.escape(describe_effect(effect, sc))
    text = (
        f"{html.escape(effect.description)}<br><small>{what}</small>"
        if effect.description
        else what
    )
    configs = np.array([firm.config for firm in twins.firms], dtype=np.int64)
    acting = holds(effect, sc, configs)
    cells = "".join(
        '<td class="acts">acts</td>' if on else '<td class="idle">—</td>' for on in acting
    )
    return f'<tr class="effect"><td>effect: {text}</td>{cells}<td></td></tr>'


def figure_png(fig: Figure, dpi: int = EXPORT_DPI) -> bytes:
    """Any figure as PNG for slides."""
    out = io.BytesIO()
    fig.savefig(out, format="png", dpi=dpi, facecolor="white")
    return out.getvalue()


def debrief_figure(debrief: Debrief, market: int | None = None, *, verdict: bool = True) -> Figure:
    """The debrief's figure (`sim.plots.debrief_figure`): the class's ``market`` dashed, and
    with ``verdict`` the sentence for the class above the panels (for slides)."""
    sc = debrief.scenario
    return plots.debrief_figure(
        debrief.data,
        labels=debrief.labels,
        colours=firm_colours(debrief.strategy_names),
        shift_periods=debrief.shift_periods,
        money_unit=sc.money_unit,
        highlight=debrief.seeds.index(market) if market in debrief.seeds else None,
        highlight_label=f"your market ({market})",
        note=debrief.verdict() if verdict else "",
        dpi=SCREEN_DPI,
    )


class Screen:
    """What one class sees: a twin-firm session and its live views, redrawn on demand.

    Thread-safe: the page's play loop and its buttons draw through the session's lock.
    """

    def __repr__(self) -> str:
        return (
            f"Screen({self.twins.scenario.name!r}: {len(self._views or ())} figures, "
            f"{len(self.charts)} charts)"
        )

    def __init__(self, twins: TwinFirms) -> None:
        self.twins = twins
        # the charts drawn in the browser (imported here: sim.app.charts uses this module)
        from sim.app.charts import live_charts

        self._views: dict[str, LiveView] | None = None  # matplotlib, for exports: when asked
        self.charts = live_charts(twins)
        self.debrief: Debrief | None = None
        self._debrief_png: bytes | None = None
        self._frames: dict[str, tuple[int, bytes]] = {}
        self._charts: dict[str, tuple[int, ChartSpec]] = {}

    @property
    def views(self) -> dict[str, LiveView]:
        """The views as matplotlib figures (`live_views`): for the "Take away" PNGs, made at
        the first export (the page draws `charts`)."""
        with self.twins.lock:
            if self._views is None:
                self._views = live_views(self.twins)
            return self._views

    def draw_ahead(self) -> None:
        """Every chart as the page first shows it."""
        for name in self.charts:
            self.chart(name, 0)

    def chart(self, name: str, version: object) -> ChartSpec:
        """The Plotly spec of chart ``name`` as of ``version`` (the page's change counter, or
        with the frame of play: any key that changes when the chart does)."""
        with self.twins.lock:
            cached = self._charts.get(name)
            if cached is not None and cached[0] == version:
                return cached[1]
            spec = self.charts[name].spec(self.twins)
            self._charts[name] = (version, spec)
            return spec

    def run_debrief(
        self, seeds: int = DEBRIEF_SEEDS, progress: Callable[[int], None] | None = None
    ) -> Debrief:
        """The same setting on ``seeds`` markets (see `TwinFirms.debrief`), kept for the page."""
        debrief = self.twins.debrief(seeds, progress=progress)
        png = figure_png(debrief_figure(debrief, self.twins.seed, verdict=False), dpi=SCREEN_DPI)
        self.debrief, self._debrief_png = debrief, png
        return debrief

    def timeline_figure(self) -> Figure:
        """The decision timeline so far for slides (`sim.plots.decisions_figure`): both firms'
        decisions, a row each, period by period, shifts and the class's live changes marked
        (the page draws it by department: `sim.app.charts.TimelineChart`)."""
        from sim.frames import firm_frame

        twins = self.twins
        with twins.lock:
            t = twins.period
            frames = [firm_frame(firm, decisions=False) for firm in twins.firms]
            periods = pd.concat(frames, ignore_index=True)
            periods = periods[periods["period"] <= t]
            changes = [
                (c.effective, f"{twins.labels[c.firm]}: {_short_change(c)}")
                for c in twins.interventions
                if c.kind == "strategy"
            ]
            return plots.decisions_figure(
                periods,
                twins.scenario,
                seed=twins.seed,
                changes=changes,
                title=f"market {twins.seed}, periods 0 to {t}",
            )

    def debrief_png(self) -> bytes:
        """The debrief figure at screen resolution (after `run_debrief`)."""
        if self._debrief_png is None:
            raise ValueError("no debrief yet: finish the run and run the debrief first")
        return self._debrief_png

    def frame(self, name: str, version: int) -> bytes:
        """The PNG of view ``name`` as of ``version`` (the page's change counter)."""
        with self.twins.lock:
            cached = self._frames.get(name)
            if cached is not None and cached[0] == version:
                return cached[1]
            view = self.views[name]
            view.update(self.twins)
            png = view.png()
            self._frames[name] = (version, png)
            return png

    def caption(self, name: str) -> str:
        """What view ``name`` marks, in words, as last drawn."""
        view = self.views.get(name)
        return view.caption() if view is not None else ""

    def export(self, name: str) -> bytes:
        """View ``name`` (or ``debrief``, or ``timeline``: every decision over time) as a PNG
        for slides, titled with the scenario, the market and the period."""
        twins = self.twins
        with twins.lock:
            sc = twins.scenario
            what = {"over_time": "Over time", "sailing": "Sailing in circles"}.get(
                name, "The departments" if name == "departments" else "Debrief"
            )
            title = (
                f"{what}: {sc.title or plain(sc.name)}\n"
                f"scenario {sc.name}, market {twins.seed}, period {twins.period} of {twins.horizon}"
            )
            if name == "timeline":
                return figure_png(self.timeline_figure())
            if name == "debrief":
                if self.debrief is None:
                    raise ValueError("no debrief yet: finish the run and run the debrief first")
                fig = debrief_figure(self.debrief, twins.seed)
                fig.suptitle(title, fontsize=_SMALL, x=0.01, ha="left", y=0.999, va="top")
                fig.subplots_adjust(top=fig.subplotpars.top - 0.05)
                return figure_png(fig)
            view = self.views[name]
            view.update(twins)
            return view.export_png(twins, title)
