"""Figures from the per-period table: KPIs over time and the "sailing in circles" pictures.

Only `matplotlib.figure.Figure` with an Agg canvas is used (never pyplot), so the functions
are thread-safe, need no display and leave matplotlib's global state alone. Matplotlib is
imported by the functions that draw, not with the module: the colours and limits here are
used by the classroom's page, whose first screen needs no matplotlib (0.3 s of its start).
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sim.frames import decision_bits, department_of

if TYPE_CHECKING:
    from matplotlib.animation import PillowWriter
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from PIL import Image

    from sim.scenario.schema import Scenario

#: Fixed colours: the efficiency-only firm warm, the aligned firm cool (Okabe-Ito palette).
STRATEGY_COLOURS: dict[str, str] = {"efficiency_only": "#D55E00", "aligned": "#0072B2"}
#: Colours for any other strategy, in order of appearance: Okabe-Ito's bluish green, then
#: Tol's indigo, black, Tol's sand and Okabe-Ito's sky blue; chosen so that the two built-ins
#: and the first five others stay apart for deutan and protan colour vision too (CIELAB
#: distance > 20, tests/test_plots.py). Okabe-Ito's orange is left out: for a deutan it is
#: hard to tell from the efficiency-only firm's vermillion.
PALETTE = ("#009E73", "#332288", "#000000", "#DDCC77", "#56B4E9", "#999999")
#: More distinct shift periods than this are drawn as a rug of ticks, not as labelled lines
#: (a turbulent market).
MAX_SHIFT_LINES = 3
#: Under turbulence, the sailing figure's mean paths are moving averages over this many periods.
TURBULENT_WINDOW = 12

#: Tick labels' size in points (the classroom's views draw 11 points at 130 dpi, 20 pixels).
TICK_POINTS = 11
# Font sizes in points: readable on a projector (nothing below 10).
_TICK, _LABEL, _TITLE, _SUPTITLE, _LEGEND, _NOTE = TICK_POINTS, 12, 13, 15, 11, 11
_DPI = 120
_LINEAR_MILES = 5.0  # asinh scale of miles sailed: linear up to about this
#: The KPI panels: column, title (saying over which firms the mean is taken, docs/ODD.md §9.2).
_KPI_PANELS = (
    ("efficiency", "Efficiency (firms open)"),
    ("market_value", "Market value (firms open)"),
    ("profit", "Profit (all firms, 0 once closed)"),
    ("cash", "Cash (all firms)"),
)


def _plain(name: str) -> str:
    """`efficiency_only` -> `efficiency only`."""
    return str(name).replace("_", " ")


def stock_unit(money_unit: str) -> str:
    """Unit of a stock such as cash: the flow unit without "per ..." ("k€ per month" -> "k€")."""
    head, sep, _ = money_unit.partition(" per ")
    return head.strip() if sep and head.strip() else money_unit


def _strategies(periods: pd.DataFrame) -> list[str]:
    """Strategies present: in category order for a categorical column, else as they appear."""
    column = periods["strategy"]
    present = pd.unique(column.astype(str))
    if isinstance(column.dtype, pd.CategoricalDtype):
        wanted = set(present)
        return [str(c) for c in column.cat.categories if str(c) in wanted]
    return [str(s) for s in present]


def _colours(strategies: list[str]) -> dict[str, str]:
    """One colour per strategy, the same in every figure for the same strategy names."""
    spare = [c for c in PALETTE if c not in STRATEGY_COLOURS.values()]
    colours: dict[str, str] = {}
    for name in strategies:
        if name in STRATEGY_COLOURS:
            colours[name] = STRATEGY_COLOURS[name]
        else:
            colours[name] = spare[len(colours) % len(spare)]
    return colours


def _shifts(periods: pd.DataFrame) -> list[tuple[int, str]]:
    """(period, label) of every market shift, in any run; labels of one period joined."""
    if "market_shift" not in periods:
        return []
    labels = periods["market_shift"].astype("string").fillna("").str.strip()
    hits = periods.loc[labels != "", ["period"]].assign(label=labels[labels != ""])
    if hits.empty:
        return []
    grouped = hits.drop_duplicates().groupby("period", sort=True)["label"]
    return [(int(p), "; ".join(dict.fromkeys(s))) for p, s in grouped]


def _shift_share(periods: pd.DataFrame) -> pd.Series:
    """Per period with a shift in any run: the share of runs (strategy x seed) shifting then."""
    labels = periods["market_shift"].astype("string").fillna("").str.strip()
    runs = periods[["strategy", "seed"]].drop_duplicates().shape[0]
    hits = periods.loc[labels != "", ["strategy", "seed", "period"]].drop_duplicates()
    return hits.groupby("period").size().sort_index() / max(runs, 1)


def _short(label: str, width: int = 40) -> str:
    """A shift label short enough for a legend entry."""
    return textwrap.shorten(_plain(label), width=width, placeholder="…")


def _mark_shifts(axes: list[Axes], periods: pd.DataFrame) -> Line2D | None:
    """Market shifts on every axis, and the one legend entry for them (None if no shift).

    Up to `MAX_SHIFT_LINES` shift periods: a dashed line each, named in the legend. More (a
    turbulent market, where every seed shifts at its own periods): a rug of short ticks along
    the bottom of each axis, darker where more runs shift in that period; never text on the
    data.
    """
    from matplotlib.lines import Line2D

    shifts = _shifts(periods)
    if not shifts:
        return None
    if len(shifts) <= MAX_SHIFT_LINES:
        for ax in axes:
            for period, _ in shifts:
                ax.axvline(period, color="0.25", linestyle="--", linewidth=1.2, gid="shift")
        if len(shifts) == 1:
            ((period, label),) = shifts
            text = f"market shift at {period}: {_short(label)}"
        else:
            text = "market shifts at " + ", ".join(str(p) for p, _ in shifts)
        return Line2D([], [], color="0.25", linestyle="--", label=text)
    share = _shift_share(periods)
    for ax in axes:
        ax.vlines(
            share.index.to_numpy(),
            0.0,
            0.05,
            transform=ax.get_xaxis_transform(),
            colors=[(0.15, 0.15, 0.15, 0.25 + 0.75 * float(v)) for v in share.to_numpy()],
            linewidth=1.0,
            gid="shift-rug",
        )
    return Line2D(
        [],
        [],
        color="0.25",
        marker="|",
        markersize=10,
        linestyle="none",
        label=f"market shifts ({len(shifts)} periods; darker: more runs)",
    )


def _prepare(periods: pd.DataFrame, needed: tuple[str, ...]) -> pd.DataFrame:
    """A copy with `strategy` as plain strings, after checking the columns a figure needs."""
    missing = {"strategy", "seed", "period", *needed} - set(periods.columns)
    if missing:
        raise ValueError(f"periods table lacks columns {sorted(missing)}")
    if periods.empty:
        raise ValueError("periods table is empty")
    return periods.assign(strategy=periods["strategy"].astype(str))


def _mean_ci(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Per (strategy, period): mean over seeds and a 95% Student-t interval, NaNs ignored.

    Columns are a MultiIndex (column, "mean" | "lo" | "hi"); the band is NaN with fewer than
    two non-missing seeds.
    """
    grouped = frame.groupby(["strategy", "period"], sort=True)[columns]
    mean, std, n = grouped.mean(), grouped.std(ddof=1), grouped.count()
    dof = (n - 1).where(n >= 2)
    from scipy import stats  # imported here: scipy.stats is slow to import

    half = std * stats.t.ppf(0.975, dof) / np.sqrt(n.where(n >= 2))
    return pd.concat({"mean": mean, "lo": mean - half, "hi": mean + half}, axis=1).swaplevel(
        0, 1, axis=1
    )


def _finish(fig: Figure, handles: list, title: str, *, ncols: int = 4) -> Figure:
    """The legend below the panels (at most ``ncols`` entries a row), and the title above."""
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncols=min(len(handles), ncols),
        fontsize=_LEGEND,
        frameon=False,
    )
    if title:
        fig.suptitle(title, fontsize=_SUPTITLE)
    return fig


def style_axes(ax: Axes, *, title: str = "", xlabel: str = "", ylabel: str = "") -> None:
    if title:
        ax.set_title(title, fontsize=_TITLE, loc="left")
    if xlabel:
        ax.set_xlabel(xlabel, fontsize=_LABEL)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=_LABEL)
    ax.tick_params(labelsize=_TICK)
    ax.grid(True, color="0.9", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def note_sailing_in_circles(ax: Axes, *, fontsize: float) -> None:
    """How to read a panel of distance to port against miles sailed: a line right under its
    x label, outside the axes, so that it never covers data."""
    ax.annotate(
        "sailing in circles: moving right without coming down",
        xy=(1.0, 0.0),
        xycoords=("axes fraction", ax.xaxis.label),
        xytext=(0, -2),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=fontsize,
        color="0.25",
        style="italic",
        gid="sailing-note",
    )


def _new_figure(width: float, height: float) -> Figure:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=_DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def kpi_figure(
    periods: pd.DataFrame, *, money_unit: str = "k€ per month", title: str = ""
) -> Figure:
    """Efficiency, market value, profit and cash over periods, and the share of firms open.

    Per strategy the mean over seeds (line) with a 95% Student-t band. Efficiency and market
    value are means over the firms open in each period, profit and cash over all firms (a
    closed firm earns 0 and keeps its cash), as the panel titles say; the strip below shows
    the share of firms open. Market shifts: dashed lines, or a rug of ticks under turbulence.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    columns = [c for c, _ in _KPI_PANELS]
    frame = _prepare(periods, tuple(columns))
    strategies = _strategies(periods)
    colours = _colours(strategies)
    summary = _mean_ci(frame, columns)

    fig = _new_figure(12.0, 9.0)
    # shared x by hand: sharex=True makes every redraw walk the sibling sets (slow)
    grid = fig.add_gridspec(3, 2, height_ratios=[1.0, 1.0, 0.38])
    axes = [fig.add_subplot(grid[i, j]) for i in range(2) for j in range(2)]
    ax_open = fig.add_subplot(grid[2, :])
    first, last = float(frame["period"].min()), float(frame["period"].max())
    pad = 0.02 * max(last - first, 1.0)
    ylabels = {
        "efficiency": "efficiency (0-1)",
        "market_value": "market value (0-1)",
        "profit": f"profit ({money_unit})",
        "cash": f"cash ({stock_unit(money_unit)})",
    }
    for ax, (column, panel_title) in zip(axes, _KPI_PANELS, strict=True):
        for name in strategies:
            part = summary.loc[name, column]
            x = part.index.to_numpy()
            ax.fill_between(
                x,
                part["lo"].to_numpy(),
                part["hi"].to_numpy(),
                color=colours[name],
                alpha=0.2,
                linewidth=0,
            )
            ax.plot(
                x,
                part["mean"].to_numpy(),
                color=colours[name],
                linewidth=2.2,
                label=_plain(name),
                gid=f"mean:{name}",
            )
        # zero profit always matters; zero cash (bankruptcy) only if the data come near it
        if column == "profit" or (column == "cash" and ax.get_ylim()[0] <= 0):
            ax.axhline(0.0, color="0.4", linewidth=0.9, zorder=1.5)
        style_axes(ax, title=panel_title, ylabel=ylabels[column])
    alive = frame["alive"].astype(bool) if "alive" in frame else pd.Series(True, frame.index)
    share = frame.assign(_open=alive).groupby(["strategy", "period"], sort=True)["_open"].mean()
    for name in strategies:
        part = share.loc[name]
        ax_open.step(
            part.index.to_numpy(),
            100 * part.to_numpy(),
            where="post",
            color=colours[name],
            linewidth=2.0,
            gid=f"open:{name}",
        )
    ax_open.set_ylim(-5, 105)
    ax_open.set_yticks([0, 50, 100])
    style_axes(ax_open, title="Firms open", xlabel="period", ylabel="% of seeds")
    for ax in [*axes, ax_open]:  # period ticks labelled on every panel, not only the strip
        ax.set_xlim(first - pad, last + pad)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
    shift_handle = _mark_shifts([*axes, ax_open], frame)

    handles = [Line2D([], [], color=colours[n], linewidth=2.2, label=_plain(n)) for n in strategies]
    handles.append(
        Line2D(
            [],
            [],
            color=colours[strategies[0]],
            alpha=0.2,
            linewidth=8,
            label="95% interval over seeds",
        )
    )
    if shift_handle is not None:
        handles.append(shift_handle)
    return _finish(fig, handles, title)


def _seed_matrix(frame: pd.DataFrame, name: str, column: str, seeds: list) -> np.ndarray:
    """periods x seeds matrix of ``column`` for strategy ``name`` (NaN where missing)."""
    part = frame[frame["strategy"] == name]
    wide = part.pivot_table(index="period", columns="seed", values=column, dropna=False)
    return wide.reindex(columns=seeds).to_numpy(dtype=float)


def _marked_path(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    periods: np.ndarray,
    colour: str,
    first_shift: int | None,
    name: str,
) -> None:
    """Mean path as a line: circle at the start, star at the first shift, square at the end."""
    ax.plot(x, y, color=colour, linewidth=2.2, zorder=4, label=_plain(name), gid=f"mean:{name}")
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    if finite.size == 0:
        return
    marks = [(finite[0], "o", 9), (finite[-1], "s", 9)]
    if first_shift is not None:
        at = np.flatnonzero((periods == first_shift) & np.isfinite(x) & np.isfinite(y))
        if at.size:
            marks.append((at[0], "*", 17))
    for i, marker, size in marks:
        ax.plot(
            x[i],
            y[i],
            marker=marker,
            markersize=size,
            color=colour,
            markeredgecolor="black",
            markeredgewidth=1.0,
            linestyle="none",
            zorder=5,
        )


def _compress_miles(ax: Axes) -> None:
    """An asinh x scale (linear below a few miles, logarithmic beyond) with plain-number ticks.

    A firm that cycles for the whole horizon sails tens of times further than one that settles;
    on a linear axis it would squash every other path against the left edge.
    """
    from matplotlib.ticker import NullLocator

    ax.set_xscale("asinh", linear_width=_LINEAR_MILES)
    hi = max(ax.get_xlim()[1], 1.0)
    decades = 10.0 ** np.arange(0, int(np.ceil(np.log10(hi))) + 1)
    ticks = [0.0, *sorted({t for d in decades for t in (d, 2 * d, 5 * d) if 2 <= t <= hi})]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.xaxis.set_minor_locator(NullLocator())


def typical_seed(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> int | None:
    """The seed of strategy ``name`` whose path in ``columns`` stays closest to the mean path
    (mean squared distance over the periods it is open, each column scaled by its range)."""
    part = frame[frame["strategy"] == name]
    if part.empty:
        return None
    scaled = part[list(columns)].astype(float)
    span = (scaled.max() - scaled.min()).replace(0.0, 1.0)
    scaled = scaled / span
    mean = scaled.groupby(part["period"]).transform("mean")
    distance = ((scaled - mean) ** 2).sum(axis=1, min_count=len(columns))
    by_seed = distance.groupby(part["seed"]).mean().dropna()
    return None if by_seed.empty else int(by_seed.idxmin())


def _moving_average(mean: pd.DataFrame, start: int | None, window: int) -> pd.DataFrame:
    """``mean`` (rows: periods) with every column from period ``start`` on replaced by its
    centred moving average over ``window`` periods (fewer at the ends); before ``start`` as
    it is."""
    after = mean.index >= (start if start is not None else mean.index.min())
    smooth = mean.copy()
    smooth.loc[after] = mean.loc[after].rolling(window, center=True, min_periods=1).mean()
    return smooth


def sailing_figure(periods: pd.DataFrame, *, title: str = "") -> Figure:
    """The "sailing in circles" pictures.

    (a) efficiency vs market value, (b) distance to port vs cumulative miles sailed: per
    strategy the mean path over the firms open in each period (thick) and one typical seed,
    named in the legend (thin dashed; the seed whose path in both panels stays closest to the
    mean, `typical_seed`): one seed shows the circles a mean smooths away.

    Under turbulence (more than `MAX_SHIFT_LINES` shift periods) each seed switches regime at
    its own periods, so the mean of a period mixes regimes and jumps from period to period
    with the share of seeds in each: a tangle with no direction. From the first shift on the
    thick path is then the mean's moving average over `TURBULENT_WINDOW` periods (the raw
    mean thin and faint behind it), and the typical seed, whose every regime switch is a
    jump, is drawn faint: the drift stays readable, the circles of one seed still visible.
    """
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    frame = _prepare(periods, ("efficiency", "market_value", "miles", "distance_to_port"))
    strategies = _strategies(periods)
    colours = _colours(strategies)
    shifts = _shifts(frame)
    first_shift = shifts[0][0] if shifts else None
    turbulent = len(shifts) > MAX_SHIFT_LINES
    seed_style = (
        {"alpha": 0.35, "linewidth": 0.9} if turbulent else {"alpha": 0.8, "linewidth": 1.3}
    )

    frame = frame.sort_values(["strategy", "seed", "period"], kind="stable")
    alive = frame["alive"].astype(bool) if "alive" in frame else pd.Series(True, frame.index)
    frame = frame.assign(
        sailed=frame.groupby(["strategy", "seed"], sort=False)["miles"].cumsum().astype(float),
        # after an exit the log keeps distance 0 ("in port"): that is not a position
        distance=frame["distance_to_port"].astype(float).where(alive),
    )
    frame["sailed"] = frame["sailed"].where(alive)
    means = frame.groupby(["strategy", "period"], sort=True)[
        ["efficiency", "market_value", "sailed", "distance"]
    ].mean()

    fig = _new_figure(13.0, 6.4)
    ax_map, ax_sail = fig.subplots(1, 2)
    typical: dict[str, int] = {}
    for name in strategies:
        colour = colours[name]
        seed = typical_seed(frame, name, ("efficiency", "market_value", "sailed", "distance"))
        if seed is not None:
            typical[name] = seed
        for ax, xcol, ycol in (
            (ax_map, "efficiency", "market_value"),
            (ax_sail, "sailed", "distance"),
        ):
            if seed is not None:
                xs = _seed_matrix(frame, name, xcol, [seed])
                ys = _seed_matrix(frame, name, ycol, [seed])
                ax.plot(
                    xs,
                    ys,
                    color=colour,
                    linestyle=(0, (3, 2)),
                    zorder=2,
                    gid=f"typical:{name}",
                    **seed_style,
                )
            mean = means.loc[name]
            if turbulent:
                ax.plot(
                    mean[xcol].to_numpy(),
                    mean[ycol].to_numpy(),
                    color=colour,
                    alpha=0.3,
                    linewidth=0.8,
                    zorder=3,
                    gid=f"raw-mean:{name}",
                )
                mean = _moving_average(mean, first_shift, TURBULENT_WINDOW)
            _marked_path(
                ax,
                mean[xcol].to_numpy(),
                mean[ycol].to_numpy(),
                mean.index.to_numpy(),
                colour,
                first_shift,
                name,
            )

    style_axes(
        ax_map, title="(a) Where the firm stands", xlabel="efficiency", ylabel="market value"
    )
    style_axes(
        ax_sail,
        title="(b) Miles sailed vs distance to port",
        xlabel="miles sailed (cumulative configuration changes; log-like scale)",
        ylabel="distance to port (changes to the best configuration)",
    )
    _compress_miles(ax_sail)
    low, high = ax_sail.get_ylim()
    ax_sail.set_ylim(low, high + 0.22 * (high - low))  # headroom: the note covers no path
    ax_sail.yaxis.set_major_locator(MaxNLocator(integer=True))
    note_sailing_in_circles(ax_sail, fontsize=_NOTE)

    what = f"mean; {TURBULENT_WINDOW}-period moving average" if turbulent else "mean"
    handles = [
        Line2D([], [], color=colours[n], linewidth=2.2, label=f"{_plain(n)} ({what})")
        for n in strategies
    ]
    for n, seed in typical.items():
        handles.append(
            Line2D(
                [],
                [],
                color=colours[n],
                linestyle=(0, (3, 2)),
                label=f"{_plain(n)}: seed {seed} (typical)",
                **seed_style,
            )
        )
    if turbulent:
        handles.append(
            Line2D([], [], color="0.3", alpha=0.3, linewidth=0.8, label="mean of each period")
        )
    marker_style = {"color": "0.6", "markeredgecolor": "black", "linestyle": "none"}
    handles.append(Line2D([], [], marker="o", markersize=9, label="start", **marker_style))
    if first_shift is not None:
        handles.append(
            Line2D(
                [],
                [],
                marker="*",
                markersize=14,
                label=f"{'first shift' if turbulent else 'shift'} (period {first_shift})",
                **marker_style,
            )
        )
    handles.append(Line2D([], [], marker="s", markersize=9, label="end", **marker_style))
    return _finish(fig, handles, title)


def save_figures(
    periods: pd.DataFrame, out_dir: Path, *, money_unit: str = "k€ per month", title: str = ""
) -> list[Path]:
    """Write `kpi.png` and `sailing_in_circles.png` into ``out_dir`` (each atomically: a full
    disk leaves no truncated file); return their paths."""
    from sim.results import save_figure

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    figures = {
        "kpi.png": kpi_figure(periods, money_unit=money_unit, title=title),
        "sailing_in_circles.png": sailing_figure(periods, title=title),
    }
    paths = []
    for filename, fig in figures.items():
        path = out_dir / filename
        save_figure(fig, path, dpi=_DPI, facecolor="white")
        paths.append(path)
    return paths


def decisions_figure(
    periods: pd.DataFrame,
    scenario: Scenario,
    *,
    seed: int,
    strategies: list[str] | None = None,
    changes: list[tuple[int, str]] | None = None,
    title: str = "",
) -> Figure:
    """The decision timeline of one firm on one seed (and its twin beside it).

    Per strategy a column: above, efficiency (solid) and market value (dashed) over periods;
    below, a raster of the firm's decisions (one row per decision, grouped by department; a
    filled cell: the decision is on in that period), decoded from the periods table's
    `config`. The story's key decisions (those its designed effects name, `key_decisions`)
    have bold labels, and every switch of one is marked (a triangle up: on, down: off) and,
    the first two in a row, labelled with its period, so a switch that lasts one period
    still shows. Market shifts are dashed lines (fainter, and summarised in the legend, in a
    turbulent market), ``changes`` (period, label), e.g. a teacher's live changes, dotted
    lines; the periods after a firm closed are hatched.
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    frame = _prepare(periods, ("config", "efficiency", "market_value"))
    frame = frame[frame["seed"] == seed]
    if frame.empty:
        raise ValueError(f"the periods table has no run on seed {seed}")
    present = _strategies(frame)
    names = list(strategies) if strategies else present
    unknown = [n for n in names if n not in present]
    if unknown:
        raise ValueError(
            f"strategy {unknown[0]!r} has no run on seed {seed}; allowed: {', '.join(present)}"
        )
    colours = _colours(_strategies(periods))
    decisions = list(scenario.decisions)
    owner = department_of(scenario)
    first, last = int(frame["period"].min()), int(frame["period"].max())
    shifts = _shifts(frame)
    turbulent = len(shifts) > MAX_SHIFT_LINES
    shift_style = (
        {"color": "0.35", "linestyle": "--", "linewidth": 0.9, "alpha": 0.7}
        if turbulent
        else {"color": "0.1", "linestyle": "--", "linewidth": 1.4}
    )
    keys = [decisions.index(d) for d in key_decisions(scenario)]

    fig = _new_figure(2.5 + 6.0 * len(names), 2.8 + 0.3 * len(decisions))
    grid = fig.add_gridspec(2, len(names), height_ratios=[1.0, 0.12 + 0.1 * len(decisions)])
    for col, name in enumerate(names):
        run = frame[frame["strategy"] == name].sort_values("period")
        period = run["period"].to_numpy()
        bits = decision_bits(run["config"].to_numpy(), len(decisions)).T  # decisions x periods
        top = fig.add_subplot(grid[0, col])
        raster = fig.add_subplot(grid[1, col])
        colour = colours[name]
        top.plot(period, run["efficiency"], color=colour, linewidth=2.0, gid=f"efficiency:{name}")
        top.plot(
            period,
            run["market_value"],
            color=colour,
            linewidth=2.0,
            linestyle="--",
            gid=f"market_value:{name}",
        )
        top.set_ylim(0, 1.02)
        flips = int(np.abs(np.diff(bits, axis=1)).sum())
        style_axes(
            top,
            title=f"{_plain(name)}, seed {seed}",
            ylabel="efficiency,\nmarket value (0-1)" if col == 0 else "",
        )
        top.text(
            1.0,
            1.02,
            f"{flips} decision change{'' if flips == 1 else 's'}",
            transform=top.transAxes,
            ha="right",
            va="bottom",
            fontsize=_NOTE,
            color="0.3",
        )
        raster.imshow(
            bits,
            aspect="auto",
            interpolation="nearest",
            cmap=ListedColormap(["#F4F4F4", colour]),
            vmin=0,
            vmax=1,
            extent=(period[0] - 0.5, period[-1] + 0.5, len(decisions) - 0.5, -0.5),
            gid=f"raster:{name}",
        )
        # department boundaries and names
        bounds = [
            i for i in range(1, len(decisions)) if owner[decisions[i]] != owner[decisions[i - 1]]
        ]
        for b in bounds:
            raster.axhline(b - 0.5, color="0.2", linewidth=1.0)
        raster.set_yticks(range(len(decisions)))
        raster.set_yticklabels([_plain(d) for d in decisions] if col == 0 else [])
        if col == 0:
            for i in keys:
                raster.get_yticklabels()[i].set_fontweight("bold")
        _mark_switches(raster, bits, period, keys)
        if col == len(names) - 1:  # department names to the right of the last raster
            labels = {dep.name: dep.label or dep.name for dep in scenario.departments}
            starts = [0, *bounds]
            ends = [*bounds, len(decisions)]
            for start, end in zip(starts, ends, strict=True):
                raster.text(
                    1.02,
                    (start + end - 1) / 2,
                    labels[owner[decisions[start]]],
                    transform=raster.get_yaxis_transform(),
                    ha="left",
                    va="center",
                    fontsize=_NOTE,
                    fontweight="bold",
                    color="0.25",
                )
        style_axes(raster, xlabel="period")
        raster.grid(False)
        raster.tick_params(axis="y", labelsize=_NOTE - 1)
        closed = run.loc[~run["alive"].astype(bool), "period"] if "alive" in run else []
        for ax in (top, raster):
            ax.set_xlim(first - 0.5, last + 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 5, 10]))
            for p, _ in shifts:
                ax.axvline(p, gid="shift", **shift_style)
            for p, _ in changes or []:
                ax.axvline(p, color="#CC79A7", linestyle=":", linewidth=2.0, gid="change")
            if len(closed):
                ax.axvspan(
                    float(closed.min()) - 0.5,
                    last + 0.5,
                    facecolor="none",
                    edgecolor="0.5",
                    hatch="//",
                    linewidth=0,
                    gid="closed",
                )
        top.tick_params(labelbottom=False)

    handles = [
        Line2D([], [], color="0.3", linewidth=2.0, label="efficiency"),
        Line2D([], [], color="0.3", linewidth=2.0, linestyle="--", label="market value"),
        Patch(facecolor="0.35", edgecolor="0.35", label="decision on (filled) / off"),
    ]
    if keys:
        handles.append(
            Line2D(
                [],
                [],
                marker="^",
                markersize=9,
                color="black",
                markeredgecolor="white",
                linestyle="none",
                label="key decision (bold) switched on (\u25b2) / off (\u25bc), at period",
            )
        )
    if shifts:
        (period0, label0), *rest = shifts
        if not rest:
            text = f"market shift at {period0}: {_short(label0)}"
        elif not turbulent:
            text = "market shifts at " + ", ".join(str(p) for p, _ in shifts)
        else:  # a turbulent market: how many, from when to when
            text = f"market shifts: {len(shifts)}, periods {period0} to {shifts[-1][0]}"
        handles.append(Line2D([], [], label=text, **shift_style))
    if changes:
        handles.append(
            Line2D(
                [],
                [],
                color="#CC79A7",
                linestyle=":",
                linewidth=2.0,
                label="changed live: " + "; ".join(f"{p} {_short(t, 30)}" for p, t in changes),
            )
        )
    if "alive" in frame and not frame["alive"].astype(bool).all():
        handles.append(Patch(facecolor="none", edgecolor="0.5", hatch="//", label="closed"))
    return _finish(fig, handles, title, ncols=2 if len(names) == 1 else 4)


def key_decisions(scenario: Scenario) -> list[str]:
    """The decisions the scenario's designed effects name (`when`, `unless`), in the
    scenario's order: the ones its story turns on."""
    named = {
        key.rpartition(".")[2]
        for effect in scenario.effects
        for key in (*effect.when, *effect.unless)
    }
    return [d for d in scenario.decisions if d in named]


#: Switches of one key decision labelled with their period, at most (the rest marked only).
_LABELLED_SWITCHES = 2


def _mark_switches(ax: Axes, bits: np.ndarray, period: np.ndarray, rows: list[int]) -> None:
    """A triangle (up: on, down: off) where each of ``rows`` switches, and the period of the
    first `_LABELLED_SWITCHES` of each row beside it."""
    for row in rows:
        at = np.flatnonzero(np.diff(bits[row]) != 0) + 1
        for n, i in enumerate(at):
            on = bool(bits[row, i])
            ax.plot(
                period[i] - 0.5,
                row,
                marker="^" if on else "v",
                markersize=9,
                color="black",
                markeredgecolor="white",
                markeredgewidth=1.0,
                linestyle="none",
                zorder=5,
                gid="switch",
            )
            if n < _LABELLED_SWITCHES:
                ax.annotate(
                    f"{'on' if on else 'off'} at {period[i]}",
                    xy=(period[i] - 0.5, row),
                    xytext=(7, 0),
                    textcoords="offset points",
                    ha="left",
                    va="center",
                    fontsize=_NOTE - 1,
                    fontweight="bold",
                    color="black",
                    bbox={
                        "boxstyle": "round,pad=0.15",
                        "facecolor": "white",
                        "alpha": 0.85,
                        "linewidth": 0,
                    },
                    zorder=6,
                    gid="switch-label",
                )


def decomposition_figure(
    effects: pd.DataFrame, *, money_unit: str = "k€ per month", title: str = ""
) -> Figure:
    """What each ingredient of alignment adds (main effects, interactions, alone, added last,
    all three), with 95% intervals, per outcome: profit net and gross of coordination costs,
    market value, efficiency (`sim.decompose`)."""
    # the effects after the split (not the shares before it, nor the profit before)
    outcomes = [o for o in dict.fromkeys(effects["outcome"]) if o.endswith("_post_shift")]
    terms = list(dict.fromkeys(effects["term"]))
    fig = _new_figure(4.0 * len(outcomes), 0.45 * len(terms) + 1.6)
    axes = fig.subplots(1, len(outcomes), sharey=True, squeeze=False)[0]
    y = np.arange(len(terms))[::-1]
    for ax, outcome in zip(axes, outcomes, strict=True):
        rows = effects[effects["outcome"] == outcome].set_index("term").loc[terms]
        low = (rows["mean"] - rows["ci_low"]).to_numpy()
        high = (rows["ci_high"] - rows["mean"]).to_numpy()
        ax.errorbar(rows["mean"], y, xerr=[low, high], fmt="o", color=PALETTE[0], capsize=3)
        ax.axvline(0.0, color="0.3", linewidth=1)
        label = rows["label"].iloc[0]
        unit = f" ({money_unit})" if outcome.endswith("profit_post_shift") else ""
        style_axes(ax, title=_short(label, 30), xlabel=f"effect{unit}")
    kinds = effects.drop_duplicates("term").set_index("term").get("kind")
    labels = [  # a main effect says so: "alpha" alone would read as "alpha alone"
        f"{t} (main effect)" if kinds is not None and kinds[t] == "main effect" else t
        for t in terms
    ]
    axes[0].set_yticks(y, labels)
    if title:
        fig.suptitle(title, fontsize=_SUPTITLE)
    return fig


def debrief_figure(
    data: Mapping[str, np.ndarray],
    *,
    labels: Sequence[str],
    colours: Sequence[str],
    shift_periods: Sequence[int] = (),
    money_unit: str = "k€ per month",
    highlight: int | None = None,
    highlight_label: str = "",
    note: str = "",
    width_px: int = 1180,
    height_px: int = 680,
    dpi: int = 130,
) -> Figure:
    """The same setting in many markets (the classroom's debrief): per KPI panel, every
    market a thin line and the mean bold, per firm.

    ``data``: column (efficiency, market_value, profit, cash) -> array (firm, market, period).
    ``highlight``: the index of one market (the class's), drawn dashed; ``note``: a sentence
    above the panels (for slides).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    top = 0.74 if note else 0.84
    fig.subplots_adjust(left=0.085, right=0.985, bottom=0.09, top=top, wspace=0.22, hspace=0.42)
    axes = fig.subplots(2, 2).ravel()
    periods = next(iter(data.values())).shape[2]
    x = np.arange(periods)
    ylabels = {"profit": money_unit, "cash": stock_unit(money_unit)}
    for ax, (column, panel_title) in zip(axes, _KPI_PANELS, strict=True):
        style_axes(ax, title=panel_title, ylabel=ylabels.get(column, ""))
        for i, colour in enumerate(colours):
            runs = data[column][i]
            ax.plot(x, runs.T, color=colour, alpha=0.16, linewidth=0.8, zorder=2)
            with np.errstate(all="ignore"):
                mean = np.nanmean(np.where(np.isfinite(runs), runs, np.nan), axis=0)
            ax.plot(x, mean, color=colour, linewidth=2.8, zorder=4)
            if highlight is not None:
                ax.plot(
                    x,
                    runs[highlight],
                    color=colour,
                    linewidth=1.6,
                    linestyle=(0, (4, 2)),
                    zorder=3.5,
                    gid="highlight",
                )
        for period in shift_periods:
            ax.axvline(period, color="0.15", linestyle="--", linewidth=1.3, zorder=3)
        if column in ("profit", "cash"):
            ax.axhline(0.0, color="0.45", linewidth=1.0, zorder=1.5)
        ax.set_xlim(0, periods - 1)
    for ax in axes[2:]:
        ax.set_xlabel("period (month)", fontsize=_LABEL)
    lo = min(ax.get_ylim()[0] for ax in axes[:2])
    hi = max(ax.get_ylim()[1] for ax in axes[:2])
    for ax in axes[:2]:
        ax.set_ylim(lo, hi)
    n = data["profit"].shape[1]
    handles = [
        Line2D([], [], color=c, linewidth=3, label=f"{label} (mean of {n})")
        for c, label in zip(colours, labels, strict=True)
    ]
    handles.append(Line2D([], [], color="0.5", alpha=0.5, linewidth=1, label="one market (seed)"))
    if highlight is not None:
        handles.append(
            Line2D([], [], color="0.3", linestyle=(0, (4, 2)), label=highlight_label or "marked")
        )
    if shift_periods:
        handles.append(Line2D([], [], color="0.15", linestyle="--", label="market shift"))
    fig.legend(
        handles=handles,
        loc="upper center",
        ncols=2,
        fontsize=_LEGEND,
        frameon=False,
        bbox_to_anchor=(0.5, 1.0),
    )
    if note:
        fig.text(0.5, 0.885, textwrap.fill(note, 95), ha="center", va="top", fontsize=_LEGEND)
    return fig


def grown_limits(
    limits: tuple[float, float], values: np.ndarray, *, pad: float, min_span: float
) -> tuple[float, float]:
    """Limits containing ``values`` with room to spare, never shrinking, on round numbers.

    They change only when a value leaves them, so a view's static background is redrawn
    rarely; each change leaves ``pad`` times the span as headroom.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return limits
    lo, hi = limits
    vmin, vmax = float(finite.min()), float(finite.max())
    if lo <= vmin and vmax <= hi:
        return limits
    span = max(vmax - vmin, hi - lo if np.isfinite(hi - lo) else 0.0, min_span)
    step = float(10 ** np.floor(np.log10(span * pad)))
    new_lo = min(lo, float(np.floor((vmin - span * pad) / step) * step))
    new_hi = max(hi, float(np.ceil((vmax + span * pad) / step) * step))
    return new_lo, new_hi


def fitted_limits(values: list[np.ndarray], *, floor: float | None = None) -> tuple[float, float]:
    """Limits just around ``values`` (5% margin), from ``floor`` if given."""
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    if finite.size == 0:
        return (0.0, 1.0)
    lo, hi = float(finite.min()), float(finite.max())
    margin = 0.05 * (hi - lo) or 0.5
    return (floor if floor is not None else lo - margin, hi + margin)


@dataclass(frozen=True)
class SailingTrack:
    """One firm's single run as the sailing picture shows it (arrays over periods 0 .. T)."""

    efficiency: np.ndarray
    market_value: np.ndarray
    alive: np.ndarray
    miles: np.ndarray  # decisions changed in each period
    distance: np.ndarray  # distance to port


class SailingPanels:
    """The sailing-in-circles picture of a few firms' single runs, drawn up to any period:
    (a) each firm's path in efficiency x market value, (b) distance to port against miles
    sailed. The classroom's live view redraws it every period; `sailing_slides` animates it.

    Axis limits only grow (`grown_limits`), so a redraw rarely changes the static part; `fit`
    sets them around what is drawn.
    """

    def __repr__(self) -> str:
        return f"SailingPanels({len(self.labels)} firms: {', '.join(map(str, self.labels))})"

    def __init__(
        self,
        fig: Figure,
        *,
        labels: Sequence[str],
        colours: Sequence[str],
        max_distance: float,
        fontsize: float = _NOTE,
    ) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.ticker import MaxNLocator

        self.labels = tuple(labels)
        self.ax_map, self.ax_sail = fig.subplots(1, 2)
        style_axes(
            self.ax_map,
            title="(a) Where the firm stands",
            xlabel="efficiency",
            ylabel="market value",
        )
        style_axes(
            self.ax_sail,
            title="(b) Miles sailed vs distance to port",
            xlabel="miles sailed (decisions changed, in all)",
            ylabel="distance to port",
        )
        self.ax_sail.yaxis.set_major_locator(MaxNLocator(integer=True))
        self.ax_sail.xaxis.set_major_locator(MaxNLocator(integer=True))
        note_sailing_in_circles(self.ax_sail, fontsize=fontsize)
        self.paths, self.sails, self.now_map, self.now_sail, self.starts = [], [], [], [], []
        for c in colours:
            self.paths.append(self.ax_map.plot([], [], color=c, linewidth=1.8, alpha=0.85)[0])
            self.sails.append(self.ax_sail.plot([], [], color=c, linewidth=2.2)[0])
            marker = {"marker": "o", "markersize": 11, "markeredgecolor": "black", "zorder": 5}
            self.now_map.append(self.ax_map.plot([], [], color=c, **marker)[0])
            self.now_sail.append(self.ax_sail.plot([], [], color=c, **marker)[0])
            self.starts.append(
                self.ax_map.plot(
                    [], [], marker="s", markersize=8, color="white", markeredgecolor=c, zorder=4
                )[0]
            )
        self.stars = [
            self.ax_map.plot(
                [], [], "*", markersize=16, color=c, markeredgecolor="black", zorder=6
            )[0]
            for c in colours
        ]
        self.map_limits = ((np.inf, -np.inf), (np.inf, -np.inf))
        self.sail_limits = ((0.0, 10.0), (0.0, float(max_distance)))
        self.ax_sail.set_xlim(*self.sail_limits[0])
        self.ax_sail.set_ylim(*self.sail_limits[1])
        handles = [
            Line2D([], [], color=c, linewidth=3, label=label)
            for c, label in zip(colours, labels, strict=True)
        ]
        style = {"color": "0.7", "markeredgecolor": "black", "linestyle": "none"}
        handles += [
            Line2D([], [], marker="s", markersize=8, label="start", **style),
            Line2D([], [], marker="o", markersize=10, label="now", **style),
            Line2D([], [], marker="*", markersize=15, label="at a shift", **style),
        ]
        self.legend = fig.legend(
            handles=handles,
            loc="upper center",
            ncols=len(handles),
            fontsize=fontsize + 1,
            frameon=False,
            bbox_to_anchor=(0.5, 1.0),
        )

    @property
    def artists(self) -> list:
        """What changes from period to period (the rest is static)."""
        return [*self.paths, *self.sails, *self.starts, *self.stars, *self.now_map, *self.now_sail]

    def show(self, tracks: Sequence[SailingTrack], shift_periods: Sequence[int], t: int) -> bool:
        """The runs up to period ``t``, a star where each shift found a firm; True if the axis
        limits grew (the static part changed)."""
        xs, ys, miles_all, dist_all = [], [], [], []
        for i, track in enumerate(tracks):
            e = track.efficiency[: t + 1]
            v = track.market_value[: t + 1]
            alive = track.alive[: t + 1]
            miles = np.cumsum(track.miles[: t + 1]).astype(float)
            dist = track.distance[: t + 1].astype(float)
            miles[~alive], dist[~alive] = np.nan, np.nan
            self.paths[i].set_data(e, v)
            self.sails[i].set_data(miles, dist)
            ok = np.flatnonzero(alive)
            last = ok[-1] if ok.size else 0
            self.now_map[i].set_data([e[last]], [v[last]])
            self.now_sail[i].set_data([miles[last]], [dist[last]])
            self.starts[i].set_data([e[0]], [v[0]])
            at = [p for p in shift_periods if p <= t and alive[p]]
            self.stars[i].set_data(e[at], v[at])
            xs.append(e)
            ys.append(v)
            miles_all.append(miles)
            dist_all.append(dist)
        changed = False
        new = (
            grown_limits(self.map_limits[0], np.concatenate(xs), pad=0.3, min_span=0.1),
            grown_limits(self.map_limits[1], np.concatenate(ys), pad=0.3, min_span=0.1),
        )
        if new != self.map_limits:
            self.map_limits = new
            self.ax_map.set_xlim(*new[0])
            self.ax_map.set_ylim(*new[1])
            changed = True
        sx, sy = self.sail_limits
        gx = grown_limits(sx, np.concatenate(miles_all), pad=0.5, min_span=10.0)
        gy = (0.0, max(sy[1], float(np.nanmax(np.concatenate(dist_all), initial=0.0)) + 0.5))
        if (gx, gy) != self.sail_limits:
            self.sail_limits = (gx, gy)
            self.ax_sail.set_xlim(0.0, gx[1])
            self.ax_sail.set_ylim(*gy)
            changed = True
        return changed

    def fit(self) -> None:
        """Both panels around the paths drawn (miles from 0 to the furthest sailed)."""
        self.ax_map.set_xlim(*fitted_limits([line.get_xdata() for line in self.paths]))
        self.ax_map.set_ylim(*fitted_limits([line.get_ydata() for line in self.paths]))
        self.ax_sail.set_xlim(*fitted_limits([ln.get_xdata() for ln in self.sails], floor=0.0))
        self.ax_sail.set_ylim(*fitted_limits([ln.get_ydata() for ln in self.sails], floor=0.0))


def sailing_slides(
    tracks: Sequence[SailingTrack],
    *,
    labels: Sequence[str],
    colours: Sequence[str],
    shift_periods: Sequence[int],
    max_distance: float,
    title: str,
    footer: str,
    png: Path,
    gif: Path | None = None,
    fps: int = 10,
    dpi: int = 110,
) -> list[Path]:
    """Slides of finished runs: the sailing-in-circles picture as PNG (1280 x 720 at ``dpi``),
    and as an animated GIF of the paths growing period by period (matplotlib animation), the
    axes fitting the whole run and never jumping."""
    from matplotlib.animation import FuncAnimation
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import Image

    fig = Figure(figsize=(1280 / dpi, 720 / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    fig.subplots_adjust(left=0.075, right=0.975, bottom=0.2, top=0.8, wspace=0.22)
    panels = SailingPanels(
        fig, labels=labels, colours=colours, max_distance=max_distance, fontsize=_NOTE
    )
    horizon = len(tracks[0].efficiency) - 1
    panels.show(tracks, shift_periods, horizon)
    panels.fit()
    fig.suptitle(textwrap.fill(title, 90), fontsize=_SUPTITLE + 1, y=0.985, va="top")
    panels.legend.set_bbox_to_anchor((0.5, 0.93))
    clock = fig.text(0.985, 0.985, "", ha="right", va="top", fontsize=_LABEL, color="0.25")
    fig.text(
        0.015,
        0.015,
        textwrap.shorten(footer, 150),
        ha="left",
        va="bottom",
        fontsize=_NOTE,
        color="0.25",
    )
    written = []
    clock.set_text(f"period {horizon} of {horizon}")
    fig.savefig(png, dpi=dpi, facecolor="white")
    written.append(Path(png))
    if gif is not None:
        every = max(1, round(horizon / 60))
        frames = [*range(0, horizon, every), horizon]

        def draw(t: int) -> list:
            panels.show(tracks, shift_periods, t)
            clock.set_text(f"period {t} of {horizon}")
            return []

        palette = Image.open(png).convert("RGB").quantize(colors=96)
        animation = FuncAnimation(fig, draw, frames=frames, blit=False, repeat=False)
        animation.save(gif, writer=_gif_writer(palette, fps=fps), dpi=dpi)
        written.append(Path(gif))
    return written


def _gif_writer(palette: Image.Image, fps: int) -> PillowWriter:
    """Matplotlib's Pillow writer, taking each frame as the animation just drew it (no second
    draw) and mapping it to one palette (fast, and no flicker between frames)."""
    from matplotlib.animation import PillowWriter
    from PIL import Image

    class GifWriter(PillowWriter):
        def grab_frame(self, **savefig_kwargs) -> None:
            canvas = self.fig.canvas
            size = canvas.get_width_height()
            frame = Image.frombuffer("RGBA", size, canvas.buffer_rgba()).convert("RGB")
            self._frames.append(frame.quantize(palette=palette, dither=Image.Dither.NONE))

        def finish(self) -> None:
            step = int(1000 / self.fps)
            durations = [step] * (len(self._frames) - 1) + [3000]  # linger on the end
            self._frames[0].save(
                self.outfile,
                save_all=True,
                append_images=self._frames[1:],
                duration=durations,
                loop=0,
            )

    return GifWriter(fps=fps)


def pareto_figure(
    table: pd.DataFrame, *, money_unit: str = "k€ per month", impact_unit: str = "", title: str = ""
) -> Figure:
    """Profit against impact, one point per strategy (`sim.stats.pareto_table`): means over
    seeds with their intervals as bars; the non-dominated strategies filled and joined (the
    Pareto front: none of the others is as good on both), the dominated ones hollow."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    for k, row in table.reset_index(drop=True).iterrows():
        colour = f"C{k % 10}"
        ax.errorbar(
            row["impact"],
            row["profit"],
            xerr=[[row["impact"] - row["impact_low"]], [row["impact_high"] - row["impact"]]],
            yerr=[[row["profit"] - row["profit_low"]], [row["profit_high"] - row["profit"]]],
            fmt="o",
            color=colour,
            mfc=colour if row["non_dominated"] else "white",
            capsize=3,
            label=f"{row['strategy']}" + ("" if row["non_dominated"] else " (dominated)"),
        )
    front = table[table["non_dominated"]].sort_values("impact")
    ax.plot(front["impact"], front["profit"], color="0.5", linestyle=":", zorder=0)
    ax.set_xlabel(f"impact after the split ({impact_unit})" if impact_unit else "impact")
    ax.set_ylabel(f"profit after the split ({money_unit})")
    what = title or "Profit and impact"
    ax.set_title(
        textwrap.fill(f"{what}: the trade-off over seeds (mean, 95% CI)", 60), fontsize="medium"
    )
    ax.legend(loc="best", fontsize="small")
    return fig
