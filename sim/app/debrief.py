"""The debrief's figure: the same setting in many markets, one thin line each, means bold."""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from sim.app.live import _PANEL_TITLES, _SMALL, _TEXT, SCREEN_DPI, _money_stock, firm_colours
from sim.app.state import KPI_COLUMNS, Debrief
from sim.plots import style_axes


def debrief_figure(
    debrief: Debrief,
    *,
    width: int = 1180,
    height: int = 680,
    verdict: bool = True,
    highlight: int | None = None,
) -> Figure:
    """The same setting on many seeds: every seed a thin line, the mean bold, per firm.

    With ``verdict``, the sentence for the class is written above the panels (for slides; the
    page shows it as text). ``highlight``: the class's market, drawn dashed among the others.
    """
    marked = debrief.seeds.index(highlight) if highlight in debrief.seeds else None
    sc = debrief.scenario
    colours = firm_colours(debrief.strategy_names)
    fig = Figure(figsize=(width / SCREEN_DPI, height / SCREEN_DPI), dpi=SCREEN_DPI)
    FigureCanvasAgg(fig)
    top = 0.74 if verdict else 0.84
    fig.subplots_adjust(left=0.085, right=0.985, bottom=0.09, top=top, wspace=0.22, hspace=0.42)
    axes = fig.subplots(2, 2).ravel()
    x = np.arange(sc.horizon + 1)
    ylabels = {"profit": sc.money_unit, "cash": _money_stock(sc.money_unit)}
    for ax, column in zip(axes, KPI_COLUMNS, strict=True):
        style_axes(ax, title=_PANEL_TITLES[column], ylabel=ylabels.get(column, ""))
        for i in range(2):
            runs = debrief.data[column][i]
            ax.plot(x, runs.T, color=colours[i], alpha=0.16, linewidth=0.8, zorder=2)
            with np.errstate(all="ignore"):
                mean = np.nanmean(np.where(np.isfinite(runs), runs, np.nan), axis=0)
            ax.plot(x, mean, color=colours[i], linewidth=2.8, zorder=4)
            if marked is not None:
                ax.plot(
                    x,
                    runs[marked],
                    color=colours[i],
                    linewidth=1.6,
                    linestyle=(0, (4, 2)),
                    zorder=3.5,
                    gid="your-market",
                )
        for period in debrief.shift_periods:
            ax.axvline(period, color="0.15", linestyle="--", linewidth=1.3, zorder=3)
        if column in ("profit", "cash"):
            ax.axhline(0.0, color="0.45", linewidth=1.0, zorder=1.5)
        ax.set_xlim(0, sc.horizon)
    for ax in axes[2:]:
        ax.set_xlabel("period (month)", fontsize=_SMALL)
    _axes_ylim_same(axes[:2])
    n = len(debrief.seeds)
    handles = [
        Line2D([], [], color=c, linewidth=3, label=f"{label} (mean of {n})")
        for c, label in zip(colours, debrief.labels, strict=True)
    ]
    handles.append(Line2D([], [], color="0.5", alpha=0.5, linewidth=1, label="one market (seed)"))
    if marked is not None:
        handles.append(
            Line2D([], [], color="0.3", linestyle=(0, (4, 2)), label=f"your market ({highlight})")
        )
    if debrief.shift_periods:
        handles.append(Line2D([], [], color="0.15", linestyle="--", label="market shift"))
    fig.legend(
        handles=handles,
        loc="upper center",
        ncols=2,
        fontsize=_TEXT,
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
    )
    if verdict:
        fig.text(
            0.5, 0.885, textwrap.fill(debrief.verdict(), 95), ha="center", va="top", fontsize=_TEXT
        )
    return fig


def _axes_ylim_same(axes: list[Axes] | np.ndarray) -> None:
    lo = min(ax.get_ylim()[0] for ax in axes)
    hi = max(ax.get_ylim()[1] for ax in axes)
    for ax in axes:
        ax.set_ylim(lo, hi)
