"""Analysing a finished (or partly finished) sweep folder: where does alignment pay?

Tables: per design point and strategy, the mean of each outcome with a 95% confidence interval;
per design point, the difference contrast - baseline (aligned - efficiency_only by default) of
one outcome, paired by seed (common random numbers), with its interval; the same difference
per level of each parameter, averaged over the others. Figures (matplotlib `Figure`, never
pyplot): heatmaps of the difference over two parameters, lines with bands over one, and Sobol'
or Morris indices with their intervals when the design is SALib's. A short text report.
Everything is written to `DIR/analysis/`, next to the data.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LinearSegmentedColormap, TwoSlopeNorm
from matplotlib.figure import Figure

from sim.plots import PALETTE, STRATEGY_COLOURS
from sim.results import load, output_folder, write_table, write_text
from sim.stats import (
    FELL_METRICS,
    SUMMARY_METRICS,
    SURVIVOR_METRICS,
    benjamini_hochberg,
    bounds_of,
    difference_bounds,
    grouped_cluster_ci,
    km_median,
    paired_values,
    t_interval,
    t_test_p,
    tost_p,
    wilson_interval,
)
from sim.sweep.spec import SweepError, arithmetic, parameters_in

#: Outcomes summarised per design point (those present in the runs table).
POINT_METRICS: tuple[str, ...] = (*SUMMARY_METRICS, "final_cash")
#: Parameters with more distinct values than this are binned for heatmaps and lines.
MAX_LEVELS = 8
BINS = 6
LEVEL = 0.95
#: Parameters in the analysis figures: Paul Tol's muted scheme, apart from the strategies'.
PARAMETER_COLOURS = (
    "#332288",
    "#117733",
    "#44AA99",
    "#88CCEE",
    "#DDCC77",
    "#CC6677",
    "#AA4499",
    "#882255",
)
_DPI = 120


@dataclass(repr=False)
class SweepAnalysis:
    """The tables, figures and report of one sweep folder's analysis (`analyze_sweep`);
    ``print(analysis.report)`` shows the report."""

    directory: Path
    metric: str
    contrast: str
    baseline: str
    parameters: list[str]
    margin: float | None
    point_means: pd.DataFrame
    differences: pd.DataFrame
    marginals: pd.DataFrame
    sensitivity: pd.DataFrame | None
    report: str
    figures: list[Path] = field(default_factory=list)
    #: Sobol' designs: S1 and ST of the difference on the first N base samples, N = 8, 16, ...
    convergence: pd.DataFrame | None = None

    def __repr__(self) -> str:
        return (
            f"SweepAnalysis({str(self.directory)!r}: {self.metric}, {self.contrast} - "
            f"{self.baseline} at {len(self.differences)} design points, "
            f"{len(self.figures)} figures)"
        )


def analyze_sweep(
    directory: str | Path,
    *,
    metric: str | None = None,
    compare: tuple[str, str] | None = None,
    margin: float | None = None,
    figures: bool = True,
    write: bool = True,
) -> SweepAnalysis:
    """Analyse the sweep in ``directory``; write tables, figures and `report.md` to
    ``directory/analysis/`` (unless ``write`` is false). ``metric``, ``compare`` (contrast,
    baseline) and the equivalence ``margin`` default to the sweep file's `[analysis]`; without
    a margin no point is called equivalent."""
    directory = Path(directory)
    if not (directory / "manifest.json").is_file() or not (directory / "runs").is_dir():
        raise SweepError(str(directory), "", "not a sweep folder (no manifest.json and runs/)")
    options = {"metric": metric, "compare": compare, "margin": margin, "figures": figures}
    if not write:
        return _analyze(directory, **options, write=False)
    with output_folder(directory / "analysis", kind="analysis", error=SweepError):
        return _analyze(directory, **options, write=True)


def _analyze(
    directory: Path,
    *,
    metric: str | None,
    compare: tuple[str, str] | None,
    margin: float | None,
    figures: bool,
    write: bool,
) -> SweepAnalysis:
    data = load(directory, periods=False)
    runs, manifest = data["runs"], data["manifest"]
    if runs.empty:
        failed = len(data["failures"])
        raise SweepError(
            str(directory),
            "",
            "no runs yet: the sweep has not finished a batch"
            + (f" ({failed} runs failed: see failures/)" if failed else "")
            + "; run or resume it (the same sweep command), then analyse it",
        )
    spec = manifest["sweep"]
    parameters = list(manifest["design"]["parameters"])
    strategies = list(manifest["strategies"])
    metric = metric or spec["analysis"]["metric"]
    numeric = [c for c in runs.columns if c not in parameters and _is_number(runs[c])]
    if metric not in runs.columns or metric not in numeric:
        allowed = [c for c in numeric if c not in ("point", "seed_index", "seed")]
        raise SweepError(
            str(directory), "metric", f"unknown outcome {metric!r}; allowed: {', '.join(allowed)}"
        )
    contrast, baseline = _compare(compare or spec["analysis"].get("compare"), strategies)
    if contrast == baseline:
        raise SweepError(
            str(directory), "compare", f"compare two different strategies, not {contrast!r} twice"
        )
    for name in (contrast, baseline):
        if name not in strategies:
            raise SweepError(
                str(directory),
                "compare",
                f"strategy {name!r} is not in this sweep; allowed: {', '.join(strategies)}",
            )

    design = data["design"]
    point_means = point_summary(runs, parameters, [m for m in POINT_METRICS if m in runs])
    if margin is None:
        margin = spec["analysis"].get("margin")
    if margin is not None and not margin > 0:
        raise SweepError(str(directory), "margin", f"must be > 0, got {margin}")
    paired = paired_differences(runs, metric, contrast, baseline)
    bounds = difference_bounds(metric)
    differences = design.merge(
        summarize_differences(paired, margin=margin, bounds=bounds), on="point", how="left"
    )
    marginals = marginal_differences(
        paired.merge(design, on="point"), parameters, margin=margin, bounds=bounds
    )
    sensitivity = None
    sensitivity_note = ""
    kind = manifest["design"]["kind"]
    if kind in ("sobol", "morris"):
        sensitivity, sensitivity_note = sensitivity_indices(
            manifest, runs, differences, metric, contrast, baseline
        )
    convergence = sobol_convergence(manifest, differences) if sensitivity is not None else None
    scenario = spec.get("scenario_as_loaded", {})
    money = scenario.get("money_unit", "")
    analysis = SweepAnalysis(
        directory=directory,
        metric=metric,
        contrast=contrast,
        baseline=baseline,
        parameters=parameters,
        margin=margin,
        point_means=point_means,
        differences=differences,
        marginals=marginals,
        sensitivity=sensitivity,
        report="",
        convergence=convergence,
    )
    labels = {p["name"]: p.get("label") or p["name"] for p in spec["parameters"]}
    out = directory / "analysis"
    if write:
        out.mkdir(exist_ok=True)
        write_table(point_means, out / "point_means.parquet")
        write_table(differences, out / "differences.parquet")
        write_table(marginals, out / "marginals.parquet")
        if sensitivity is not None:
            write_table(sensitivity, out / "sensitivity.parquet")
        if convergence is not None:
            write_table(convergence, out / "sobol_convergence.parquet")
    if write and figures:
        analysis.figures = _save_figures(
            analysis, runs, paired.merge(design, on="point"), labels, money, out, spec
        )
    analysis.report = text_report(
        analysis, manifest, runs, data["failures"], labels, money, sensitivity_note
    )
    if write:
        write_text(analysis.report + "\n", out / "report.md")
    return analysis


def derived_values(expression: str, table: pd.DataFrame) -> pd.Series:
    """An `[analysis] derived` column: ``expression`` (arithmetic over parameter names, checked
    by `sim.sweep.spec.parameters_in`) evaluated on ``table``'s parameter columns."""
    names = parameters_in(expression, [str(c) for c in table.columns])
    columns = {name: table[name].astype(float) for name in names}
    return pd.Series(arithmetic(expression, columns), index=table.index, dtype=float)


def _is_number(column: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def _compare(compare: Any, strategies: list[str]) -> tuple[str, str]:
    if compare:
        return str(compare[0]), str(compare[1])
    if {"aligned", "efficiency_only"} <= set(strategies):
        return "aligned", "efficiency_only"
    if len(strategies) < 2:
        raise SweepError("analysis", "compare", "a comparison needs two strategies in the sweep")
    return strategies[-1], strategies[0]


# ------------------------------------------------------------------------------------ tables


def point_summary(runs: pd.DataFrame, parameters: list[str], metrics: list[str]) -> pd.DataFrame:
    """Per design point, strategy and outcome: mean, 95% interval and n (long format).

    Means get a Student t interval, shares (survival, cycling, recovered) a Wilson interval,
    both within the outcome's range (`sim.stats`); the recovery time, censored at the horizon,
    is the Kaplan-Meier median with its log-log interval (column ``statistic`` says which).
    Each point's runs are on distinct seeds.
    Outcomes labelled "(survivors)" (`sim.stats.SURVIVOR_METRICS`) are over the runs whose
    firm survived, recovery (`sim.stats.FELL_METRICS`) over the runs whose firm fell below
    the recovery threshold, as in the summary table.
    """
    keys = ["point", *parameters, "strategy"]
    survived = runs["survived"].astype(bool) if "survived" in runs else None
    frames = []
    for metric in metrics:
        share = pd.api.types.is_bool_dtype(runs[metric])
        values = runs[metric].astype(float)
        if survived is not None and metric in SURVIVOR_METRICS:
            values = values.where(survived)
        if "fell" in runs and metric in FELL_METRICS:  # over the firms that fell only
            values = values.where(runs["fell"].astype(bool))
        column = values.groupby([runs[k] for k in keys], observed=True, sort=True)
        n = column.count().astype(float)
        statistic = "share" if share else "mean"
        if metric == "recovery_time" and "fell" in runs:
            # censored at the horizon (a firm not back yet may recover later): the mean of
            # the recovered alone is biased low, so the Kaplan-Meier median, as in `run`
            statistic = "median (Kaplan-Meier)"
            fell = runs[runs["fell"].astype(bool)]
            groups = fell.groupby([fell[k] for k in keys], observed=True, sort=True)
            n = groups.size().astype(float)  # its index keeps the keys' types (categories)
            if n.empty:  # no firm fell anywhere: nothing to estimate
                continue
            estimates = [
                km_median(g["recovery_time"], g.get("recovery_observed"), LEVEL)
                for _, g in groups
            ]
            mean = pd.Series([e[0] for e in estimates], index=n.index, dtype=float)
            low = np.array([e[1] for e in estimates], dtype=float)
            high = np.array([e[2] for e in estimates], dtype=float)
        elif share:
            mean = column.sum() / n
            low, high = wilson_interval(column.sum().to_numpy(), n.to_numpy())
        else:
            mean = column.mean()
            low, high = t_interval(
                mean.to_numpy(),
                column.std(ddof=1).to_numpy(),
                n.to_numpy(),
                bounds=bounds_of(metric),
            )
        frame = mean.rename("mean").reset_index()
        frame.insert(len(keys), "metric", metric)
        frame.insert(len(keys) + 1, "statistic", statistic)
        frame["ci_low"], frame["ci_high"], frame["n"] = low, high, n.to_numpy().astype(int)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def paired_differences(
    runs: pd.DataFrame, metric: str, contrast: str, baseline: str
) -> pd.DataFrame:
    """Per design point and seed: ``metric`` of contrast minus baseline (common random
    numbers: both faced the same landscapes, market and start)."""
    if not {contrast, baseline} <= set(runs["strategy"].astype(str)):
        return pd.DataFrame({"point": [], "seed_index": [], "difference": []})
    diff = paired_values(runs, metric, contrast, baseline, on=("point", "seed_index"))
    return diff.rename("difference").reset_index()


def summarize_differences(
    paired: pd.DataFrame,
    by: list[str] | None = None,
    *,
    margin: float | None = None,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> pd.DataFrame:
    """Mean paired difference per group ``by`` (design point by default), its 95% interval
    and a verdict.

    Seeds are shared by every design point, so within a group the differences are first
    averaged per seed and the interval is taken over the seeds (n = seeds): the seeds are
    the independent replicates. Columns: ``by``, mean, ci_low, ci_high, n, p_value (t test of
    no difference), p_bh (Benjamini-Hochberg over the groups), p_equivalence (TOST within
    +/- ``margin``, if given) and verdict: `contrast` or `baseline` (95% interval above or
    below 0), `equivalent` (TOST p < 0.05 within the margin) or `unclear`; verdict_bh is the
    same with the BH-adjusted p-values (`contrast`/`baseline` where p_bh < 0.05).
    """
    by = by or ["point"]
    table = grouped_cluster_ci(paired, by, "difference", "seed_index", LEVEL, bounds=bounds)
    table["p_value"] = t_test_p(table["mean"], table["std"], table["n"])
    table["p_bh"] = benjamini_hochberg(table["p_value"].to_numpy())
    if margin is not None:
        table["p_equivalence"] = tost_p(table["mean"], table["std"], table["n"], margin)
        equivalent = table["p_equivalence"] < 1 - LEVEL
    else:
        table["p_equivalence"] = np.nan
        equivalent = pd.Series(False, index=table.index)
    table["verdict"] = np.select(
        [table["ci_low"] > 0, table["ci_high"] < 0, equivalent],
        ["contrast", "baseline", "equivalent"],
        "unclear",
    )
    sure = table["p_bh"] < 1 - LEVEL
    table["verdict_bh"] = np.select(
        [sure & (table["mean"] > 0), sure & (table["mean"] < 0)],
        ["contrast", "baseline"],
        "unclear",
    )
    return table.drop(columns="std")


def levels(values: pd.Series) -> pd.Series:
    """A parameter's values as levels: themselves when few, else the centre of one of `BINS`
    equal-width bins (continuous designs)."""
    if not _binned(values):
        return values
    low, high = float(values.min()), float(values.max())
    edges = np.linspace(low, high, BINS + 1)
    index = np.clip(np.digitize(values.to_numpy(float), edges[1:-1]), 0, BINS - 1)
    centres = (edges[:-1] + edges[1:]) / 2
    return pd.Series(centres[index], index=values.index, name=values.name)


def _binned(values: pd.Series) -> bool:
    return values.dropna().nunique() > MAX_LEVELS and pd.api.types.is_numeric_dtype(values)


def _axis(name: str, values: pd.Series, labels: dict[str, str]) -> str:
    label = labels.get(name) or _plain(name)
    return f"{label} (binned)" if _binned(values) else label


def marginal_differences(
    paired: pd.DataFrame,
    parameters: list[str],
    *,
    margin: float | None = None,
    bounds: tuple[float, float] = (-math.inf, math.inf),
) -> pd.DataFrame:
    """The paired difference per level of each parameter, averaged over the other parameters
    and the seeds: first within each seed, then over the seeds (`summarize_differences`; long
    format: parameter, level, mean, ci_low, ci_high, n seeds, p-values, verdicts). The BH
    correction is over the levels of one parameter."""
    frames = []
    for name in parameters:
        frame = paired.assign(level=levels(paired[name]))
        table = summarize_differences(frame, ["level"], margin=margin, bounds=bounds)
        table.insert(0, "parameter", name)
        table["level"] = table["level"].astype(str)
        frames.append(table)
    if not frames:
        return pd.DataFrame()
    return pd.concat(frames, ignore_index=True)


def sensitivity_indices(
    manifest: dict[str, Any],
    runs: pd.DataFrame,
    differences: pd.DataFrame,
    metric: str,
    contrast: str,
    baseline: str,
) -> tuple[pd.DataFrame | None, str]:
    """Sobol' (S1, ST, S2) or Morris (mu*, sigma) indices with 95% intervals, of the paired
    difference and of each strategy's ``metric`` (means over seeds per design point)."""
    info = manifest["design"]
    problem = info["problem"]
    spec = manifest["sweep"]["design"]
    outputs = {f"{contrast} - {baseline}": differences.set_index("point")["mean"]}
    means = runs.groupby(["point", "strategy"], observed=True)[metric].mean()
    for strategy in manifest["strategies"]:
        if strategy in means.index.get_level_values("strategy"):
            outputs[strategy] = means.xs(strategy, level="strategy")
    seed = int(manifest["root_seed"]) % (2**32)
    rows = []
    for output, series in outputs.items():
        y = series.reindex(range(info["points"])).to_numpy(dtype=float)
        if np.isnan(y).any():
            missing = int(np.isnan(y).sum())
            return None, (
                f"no sensitivity indices: {missing} of {info['points']} design points have no "
                "result yet (the indices need every point; resume the sweep)"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if info["kind"] == "sobol":
                from SALib.analyze import sobol

                res = sobol.analyze(
                    problem,
                    y,
                    calc_second_order=spec["second_order"],
                    conf_level=LEVEL,
                    seed=seed,
                )
                for i, name in enumerate(problem["names"]):
                    for index in ("S1", "ST"):
                        rows.append((output, name, index, res[index][i], res[f"{index}_conf"][i]))
                if spec["second_order"]:
                    for i, j in itertools.combinations(range(len(problem["names"])), 2):
                        pair = f"{problem['names'][i]} x {problem['names'][j]}"
                        rows.append((output, pair, "S2", res["S2"][i, j], res["S2_conf"][i, j]))
            else:
                from SALib.analyze import morris

                x = np.asarray(info["sample"], dtype=float)
                res = morris.analyze(
                    problem, x, y, conf_level=LEVEL, num_levels=spec["levels"], seed=seed
                )
                for i, name in enumerate(problem["names"]):
                    rows.append(
                        (output, name, "mu_star", res["mu_star"][i], res["mu_star_conf"][i])
                    )
                    rows.append((output, name, "mu", res["mu"][i], np.nan))
                    rows.append((output, name, "sigma", res["sigma"][i], np.nan))
    table = pd.DataFrame(rows, columns=["output", "parameter", "index", "value", "conf"])
    table[["value", "conf"]] = table[["value", "conf"]].astype(float)
    return table, ""


def sobol_convergence(
    manifest: dict[str, Any], differences: pd.DataFrame, *, smallest: int = 8
) -> pd.DataFrame | None:
    """Sobol' S1 and ST of the paired difference computed on the first n base samples, for
    n = ``smallest``, 2 x ``smallest``, ... up to the sweep's N: have the indices settled?

    SALib's Sobol' design with n base samples is exactly the first n x (D + 2) design points
    (2D + 2 with second order) of the design with N (same root seed; the tests check it), so
    each n gives what a sweep of that size would have given, runs and seeds included. None
    for other designs or while design points lack results. Columns: N, parameter, index
    (S1, ST), value, conf (95% half-width).
    """
    info = manifest["design"]
    if info["kind"] != "sobol":
        return None
    from SALib.analyze import sobol

    problem = info["problem"]
    spec = manifest["sweep"]["design"]
    second = bool(spec["second_order"])
    block = (2 if second else 1) * problem["num_vars"] + 2
    total = int(spec["samples"])
    y = differences.set_index("point")["mean"].reindex(range(info["points"])).to_numpy(float)
    if np.isnan(y).any():
        return None
    sizes = [n for n in (smallest * 2**k for k in range(40)) if n < total] + [total]
    seed = int(manifest["root_seed"]) % (2**32)
    rows = []
    for n in sizes:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sobol.analyze(
                problem, y[: n * block], calc_second_order=second, conf_level=LEVEL, seed=seed
            )
        for i, name in enumerate(problem["names"]):
            for index in ("S1", "ST"):
                rows.append((n, name, index, res[index][i], res[f"{index}_conf"][i]))
    table = pd.DataFrame(rows, columns=["N", "parameter", "index", "value", "conf"])
    table[["value", "conf"]] = table[["value", "conf"]].astype(float)
    return table


def settled_from(convergence: pd.DataFrame, index: str = "ST") -> int | None:
    """The smallest N from which the ranking of the parameters by ``index`` no longer
    changes (None if it changes at the largest N)."""
    order = {
        n: tuple(part.sort_values("value", ascending=False)["parameter"])
        for n, part in convergence[convergence["index"] == index].groupby("N")
    }
    sizes = sorted(order)
    settled = None
    for n in reversed(sizes):
        if order[n] != order[sizes[-1]]:
            break
        settled = n
    return settled if settled is not None and (settled < sizes[-1] or len(sizes) == 1) else None


# ----------------------------------------------------------------------------------- figures


def _diverging(contrast: str, baseline: str) -> LinearSegmentedColormap:
    """Baseline's colour below zero, white at zero, contrast's colour above."""
    low = STRATEGY_COLOURS.get(baseline, PALETTE[0])
    high = STRATEGY_COLOURS.get(contrast, PALETTE[1])
    return LinearSegmentedColormap.from_list("difference", [low, "#FFFFFF", high])


def _colour(strategy: str, order: int) -> str:
    return STRATEGY_COLOURS.get(strategy, PALETTE[order % len(PALETTE)])


def _plain(name: str) -> str:
    return str(name).replace("_", " ")


def _metric_label(metric: str, money: str) -> str:
    """The outcome's label, its unit inside its parentheses: "profit after (all firms; k€)"."""
    label = SUMMARY_METRICS.get(metric, _plain(metric))
    if money and ("profit" in metric or "cash" in metric):
        label = f"{label[:-1]}; {money})" if label.endswith(")") else f"{label} ({money})"
    return label


def _unit(metric: str, money: str) -> str:
    """The outcome's unit for an axis: money, "0-1" for bounded shares, periods, or none."""
    if "profit" in metric or "cash" in metric:
        return money
    low, high = bounds_of(metric)
    if (low, high) == (0.0, 1.0):
        return "0-1"
    return "periods" if metric == "recovery_time" else ""


def _bin_ticks(values: pd.Series, centres: list[float]) -> list[str]:
    """Tick labels of binned levels: each bin's range ("0.17–0.33"), rounded to two significant
    digits, instead of its raw centre."""
    low, high = float(values.min()), float(values.max())
    half = (high - low) / BINS / 2
    return [f"{_round(c - half)}–{_round(c + half)}" for c in centres]


def _round(value: float) -> str:
    return f"{float(f'{value:.2g}'):g}"


def _tick(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return f"{value:.3g}"
    return str(value)


def heatmap_figure(
    frame: pd.DataFrame,
    x: str,
    y: str,
    *,
    contrast: str,
    baseline: str,
    metric_label: str,
    labels: dict[str, str] | None = None,
    metric_unit: str = "",
) -> Figure:
    """Mean paired difference over two parameters (others and seeds averaged); bold cells
    have a 95% interval that excludes zero; cells without design points are grey."""
    labels = labels or {}
    data = frame.assign(_x=levels(frame[x]), _y=levels(frame[y]))
    table = summarize_differences(data, ["_y", "_x"])
    xs, ys = sorted(table["_x"].unique()), sorted(table["_y"].unique())
    grid = np.full((len(ys), len(xs)), np.nan)
    sure = np.zeros_like(grid, dtype=bool)
    for yv, xv, mean, verdict in zip(
        table["_y"], table["_x"], table["mean"], table["verdict"], strict=True
    ):
        i, j = ys.index(yv), xs.index(xv)
        grid[i, j] = mean
        sure[i, j] = verdict in ("contrast", "baseline")
    bound = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    bound = bound or 1.0
    fig = Figure(figsize=(1.3 * len(xs) + 3.4, 0.8 * len(ys) + 2.6), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    image = ax.imshow(
        grid,
        cmap=_diverging(contrast, baseline),
        norm=TwoSlopeNorm(vmin=-bound, vcenter=0.0, vmax=bound),
        origin="lower",
        aspect="auto",
    )
    for i in range(len(ys)):
        for j in range(len(xs)):
            if np.isfinite(grid[i, j]):
                ax.text(
                    j,
                    i,
                    f"{grid[i, j]:.3g}",
                    ha="center",
                    va="center",
                    fontsize=10,
                    fontweight="bold" if sure[i, j] else "normal",
                    color="black",
                )
    empty = ~np.isfinite(grid)
    if empty.any():  # no design point fell in these cells: say so, do not paint them as 0
        ax.imshow(
            np.where(empty, 1.0, np.nan),
            cmap=LinearSegmentedColormap.from_list("empty", ["#DDDDDD", "#DDDDDD"]),
            origin="lower",
            aspect="auto",
        )
        for i, j in zip(*np.nonzero(empty), strict=True):
            ax.text(j, i, "no runs", ha="center", va="center", fontsize=9, color="#555555")
    ax.set_xticks(range(len(xs)), _level_ticks(frame[x], xs))
    ax.set_yticks(range(len(ys)), _level_ticks(frame[y], ys))
    if max(len(t) for t in _level_ticks(frame[x], xs)) * len(xs) > 60:
        ax.tick_params(axis="x", labelrotation=30)
    ax.set_xlabel(_axis(x, frame[x], labels))
    ax.set_ylabel(_axis(y, frame[y], labels))
    bar = fig.colorbar(image, ax=ax)
    unit = f" ({metric_unit})" if metric_unit else ""
    bar.set_label(f"{_plain(contrast)} - {_plain(baseline)}{unit}")
    ax.set_title(
        f"{metric_label}: {_plain(contrast)} minus {_plain(baseline)}\n"
        "mean over seeds and other parameters; bold: 95% CI excludes 0",
        fontsize=11,
    )
    return fig


def _level_ticks(values: pd.Series, levels_shown: list) -> list[str]:
    return _bin_ticks(values, levels_shown) if _binned(values) else [_tick(v) for v in levels_shown]


def line_figure(
    runs: pd.DataFrame,
    paired: pd.DataFrame,
    x: str,
    *,
    metric: str,
    contrast: str,
    baseline: str,
    metric_label: str,
    label: str = "",
    metric_unit: str = "",
    exact: bool = False,
) -> Figure:
    """Left: each strategy's ``metric`` against one parameter (95% bands); right: the paired
    difference contrast - baseline with its band and the zero line. Means over the other
    parameters are taken within each seed first (the seeds are shared). ``exact``: at every
    value of ``x``, never binned (an `[analysis] derived` column)."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    numeric = pd.api.types.is_numeric_dtype(runs[x])
    level = (lambda values: values) if exact else levels
    data = runs.assign(_x=level(runs[x]))
    order = sorted(data["_x"].unique())
    position = (lambda v: v) if numeric else (lambda v: order.index(v))
    strategies = [s for s in runs["strategy"].cat.categories if s in set(runs["strategy"])]
    for k, strategy in enumerate(strategies):
        part = data[data["strategy"] == strategy].assign(_y=lambda f: f[metric].astype(float))
        table = grouped_cluster_ci(part, ["_x"], "_y", "seed_index", bounds=bounds_of(metric))
        xs = [position(v) for v in table["_x"]]
        colour = _colour(strategy, k)
        left.plot(xs, table["mean"], marker="o", color=colour, label=_plain(strategy))
        left.fill_between(
            xs, table["ci_low"], table["ci_high"], color=colour, alpha=0.2, linewidth=0
        )
    diff = summarize_differences(paired.assign(_x=level(paired[x])), ["_x"])
    xs = [position(v) for v in diff["_x"]]
    colour = _colour(contrast, 1)
    right.axhline(0.0, color="#444444", linewidth=1)
    right.plot(xs, diff["mean"], marker="o", color=colour)
    right.fill_between(xs, diff["ci_low"], diff["ci_high"], color=colour, alpha=0.2, linewidth=0)
    for ax, title in (
        (left, metric_label),
        (right, f"{_plain(contrast)} minus {_plain(baseline)}"),
    ):
        ax.set_xlabel((label or _plain(x)) if exact else _axis(x, runs[x], {x: label}))
        ax.set_ylabel(metric_unit or "value")
        ax.set_title(title, fontsize=11)
        ax.grid(alpha=0.3)
        if not numeric:
            ax.set_xticks(range(len(order)), [str(v) for v in order])
    left.legend(frameon=False)
    fig.suptitle(
        "means with 95% confidence bands, over seeds and the other parameters", fontsize=10
    )
    return fig


def convergence_figure(convergence: pd.DataFrame, *, metric_label: str) -> Figure:
    """S1 and ST against the number of base samples N, with 95% intervals (`sobol_convergence`)."""
    names = list(dict.fromkeys(convergence["parameter"]))
    sizes = sorted(set(convergence["N"]))
    fig = Figure(figsize=(12, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, 2, sharey=True)
    colours = PARAMETER_COLOURS
    for ax, index in zip(axes, ("S1", "ST"), strict=True):
        part = convergence[convergence["index"] == index]
        for j, name in enumerate(names):
            line = part[part["parameter"] == name].sort_values("N")
            spread = 1.04 ** (j - (len(names) - 1) / 2)  # the bars side by side, not on top
            ax.errorbar(
                line["N"] * spread,
                line["value"],
                yerr=line["conf"].fillna(0.0),
                marker="o",
                capsize=3,
                color=colours[j % len(colours)],
                label=_plain(name),
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(sizes, [str(n) for n in sizes])
        ax.minorticks_off()
        ax.axhline(0, color="#444444", linewidth=0.8)
        ax.set_xlabel("base samples N")
        ax.set_title(f"{index} with 95% intervals", fontsize=11)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of the variance")
    axes[1].legend(frameon=False, fontsize=9)
    fig.suptitle(f"Convergence of the Sobol' indices: {metric_label}", fontsize=11)
    return fig


def sensitivity_figure(
    table: pd.DataFrame,
    output: str,
    *,
    metric_label: str,
    labels: dict[str, str] | None = None,
    metric_unit: str = "",
) -> Figure:
    """Sobol': S1 and ST per parameter with 95% intervals, ordered by ST as in the report.
    Morris: mu* per parameter with its 95% interval (ordered), and sigma against mu* with
    numbered points named in the legend (labels never overprint)."""
    labels = labels or {}
    data = table[(table["output"] == output) & (table["index"] != "S2")]

    def name(parameter: str) -> str:
        return labels.get(parameter) or _plain(parameter)

    def values(index: str) -> pd.Series:
        return data[data["index"] == index].set_index("parameter")["value"].astype(float)

    def conf(index: str) -> pd.Series:
        return data[data["index"] == index].set_index("parameter")["conf"].astype(float)

    title = f"Sensitivity of {metric_label}:\n{_plain(output)} (95% intervals)"
    if "ST" in set(data["index"]):
        order = list(values("ST").sort_values(ascending=False).index)
        fig = Figure(figsize=(max(6.5, 1.4 * len(order) + 3), 4.6), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        width = 0.38
        for k, (index, colour, meaning) in enumerate(
            (
                ("S1", "#332288", "S1: first order (alone)"),
                ("ST", "#88CCEE", "ST: total (with interactions)"),
            )
        ):
            xs = np.arange(len(order)) + (k - 0.5) * width
            half = conf(index).reindex(order).to_numpy()
            ax.bar(
                xs,
                values(index).reindex(order).to_numpy(),
                width,
                yerr=np.where(np.isfinite(half), half, 0.0),
                capsize=3,
                color=colour,
                edgecolor="#333333",
                linewidth=0.6,
                label=meaning,
            )
        ax.set_xticks(range(len(order)), [name(p) for p in order])
        if sum(len(name(p)) for p in order) > 60:
            ax.tick_params(axis="x", labelrotation=25)
        ax.axhline(0, color="#444444", linewidth=0.8)
        ax.set_xlabel("parameter (ordered by ST)")
        ax.set_ylabel("Sobol' index (share of the variance)")
        ax.legend(frameon=False)
        ax.grid(alpha=0.3, axis="y")
        ax.set_title(title, fontsize=11)
        return fig
    mu = values("mu_star").sort_values(ascending=False)
    order = list(mu.index)
    sigma = values("sigma").reindex(order)
    fig = Figure(figsize=(12, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    half = conf("mu_star").reindex(order).to_numpy()
    ys = np.arange(len(order))[::-1]
    left.barh(
        ys,
        mu.to_numpy(),
        xerr=np.where(np.isfinite(half), half, 0.0),
        capsize=3,
        color="#332288",
    )
    left.set_yticks(ys, [name(p) for p in order])
    unit = f" ({metric_unit})" if metric_unit else ""
    left.set_xlabel(f"mu*: mean absolute elementary effect{unit}")
    left.set_title("How much each parameter moves it", fontsize=11)
    for k, parameter in enumerate(order):
        colour = PARAMETER_COLOURS[k % len(PARAMETER_COLOURS)]
        right.scatter(
            mu[parameter],
            sigma[parameter],
            s=90,
            color=colour,
            zorder=3,
            label=f"{k + 1}: {name(parameter)}",
        )
        right.annotate(
            str(k + 1),
            (mu[parameter], sigma[parameter]),
            ha="center",
            va="center",
            fontsize=8,
            color="white",
            fontweight="bold",
            zorder=4,
        )
    top = 1.1 * float(np.nanmax([mu.max(), sigma.max(), 1e-12]))
    right.plot([0, top], [0, top], ":", color="#888888", label="sigma = mu*")
    right.set_xlim(0, top)
    right.set_ylim(0, top)
    right.set_xlabel(f"mu*{unit}")
    right.set_ylabel(f"sigma: spread of the effects{unit}")
    right.set_title("Steady effects below the line, tangled ones above", fontsize=11)
    right.legend(frameon=False, fontsize=9, loc="upper left")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(title.replace("\n", " "), fontsize=11)
    return fig


def _save_figures(
    analysis: SweepAnalysis,
    runs: pd.DataFrame,
    paired: pd.DataFrame,
    labels: dict[str, str],
    money: str,
    out: Path,
    spec: dict[str, Any],
) -> list[Path]:
    written = []
    metric = analysis.metric
    metric_label = _metric_label(metric, money)
    common = {"contrast": analysis.contrast, "baseline": analysis.baseline}
    pairs = [tuple(p) for p in spec["analysis"].get("heatmaps") or []] or list(
        itertools.combinations(analysis.parameters, 2)
    )
    for x, y in pairs:
        if len(paired) == 0:
            break
        fig = heatmap_figure(
            paired,
            x,
            y,
            metric_label=metric_label,
            labels=labels,
            metric_unit=_unit(metric, money),
            **common,
        )
        written.append(_save(fig, out / f"heatmap_{metric}_{y}_by_{x}.png"))
    for x in analysis.parameters:
        if len(paired) == 0:
            break
        fig = line_figure(
            runs,
            paired,
            x,
            metric=metric,
            metric_label=metric_label,
            label=labels[x],
            metric_unit=_unit(metric, money),
            **common,
        )
        written.append(_save(fig, out / f"line_{metric}_{x}.png"))
    for x, expression in (spec["analysis"].get("derived") or {}).items():
        if len(paired) == 0:
            break
        fig = line_figure(
            runs.assign(**{x: derived_values(expression, runs)}),
            paired.assign(**{x: derived_values(expression, paired)}),
            x,
            metric=metric,
            metric_label=metric_label,
            label=f"{_plain(x)} = {expression}",
            metric_unit=_unit(metric, money),
            exact=True,
            **common,
        )
        written.append(_save(fig, out / f"line_{metric}_{x}.png"))
    if analysis.sensitivity is not None:
        output = f"{analysis.contrast} - {analysis.baseline}"
        fig = sensitivity_figure(
            analysis.sensitivity,
            output,
            metric_label=metric_label,
            labels=labels,
            metric_unit=_unit(metric, money),
        )
        written.append(_save(fig, out / f"sensitivity_{metric}.png"))
    if analysis.convergence is not None:
        label = f"{metric_label}, {analysis.contrast} - {analysis.baseline}"
        fig = convergence_figure(analysis.convergence, metric_label=label)
        written.append(_save(fig, out / f"sobol_convergence_{metric}.png"))
    return written


def _save(fig: Figure, path: Path) -> Path:
    fig.savefig(path, dpi=_DPI, facecolor="white")
    return path


# ------------------------------------------------------------------------------------ report


def _fmt(mean: float, low: float, high: float) -> str:
    if not math.isfinite(mean):
        return "n/a"
    digits = 1 if abs(mean) >= 10 else 2 if abs(mean) >= 1 else 3
    if not (math.isfinite(low) and math.isfinite(high)):
        return f"{mean:+.{digits}f}"
    return f"{mean:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


def _where(row: Any, parameters: list[str]) -> str:
    return ", ".join(f"{p} = {_tick(getattr(row, p))}" for p in parameters)


def text_report(
    analysis: SweepAnalysis,
    manifest: dict[str, Any],
    runs: pd.DataFrame,
    failures: pd.DataFrame,
    labels: dict[str, str],
    money: str,
    sensitivity_note: str = "",
) -> str:
    """A short report: what ran, the overall difference, where it is positive, where it
    reverses, per parameter, and the sensitivity indices."""
    spec = manifest["sweep"]
    design = manifest["design"]
    contrast, baseline, metric = analysis.contrast, analysis.baseline, analysis.metric
    n_points, n_strategies, n_seeds = design["points"], len(manifest["strategies"]), spec["seeds"]
    lines = [f"# Sweep {spec['name']}: {spec.get('title') or ''}".rstrip(": "), ""]
    lines.append(
        f"{manifest['runs_planned']} runs planned ({n_points} {design['kind']} design points x "
        f"{n_strategies} strategies x {n_seeds} seeds, root seed {manifest['root_seed']}); "
        f"{len(runs)} finished, {len(failures)} failed"
        + (f" (see {analysis.directory}/failures/)" if len(failures) else "")
        + "."
    )
    unit = f" {money}" if money and ("profit" in metric or "cash" in metric) else ""
    lines.append(
        f"Outcome: {metric} ({_metric_label(metric, '')}), {contrast} minus {baseline}, paired "
        f"by seed; mean [95% CI]{unit}."
    )
    paired = paired_differences(runs, metric, contrast, baseline)
    if paired.empty:
        lines.append("\nNo paired runs yet.")
        return "\n".join(lines)
    overall = summarize_differences(
        paired.assign(all=0), ["all"], margin=analysis.margin, bounds=difference_bounds(metric)
    ).iloc[0]
    lines += [
        "",
        f"Overall (averaged within each seed over the design points, interval over the "
        f"{overall['n']} seeds): {_fmt(overall['mean'], overall['ci_low'], overall['ci_high'])}",
    ]
    diffs = analysis.differences.dropna(subset=["mean"])
    counts = diffs["verdict"].value_counts()
    counts_bh = diffs["verdict_bh"].value_counts()
    if analysis.margin is None:
        equivalence = (
            "no equivalence margin given, so no point is called equivalent (give "
            "[analysis] margin or --margin)"
        )
    else:
        equivalence = (
            f"equivalent within +/-{analysis.margin:g} (TOST, p < 0.05) at "
            f"{counts.get('equivalent', 0)}"
        )
    lines.append(
        f"{contrast} better (CI above 0) at {counts.get('contrast', 0)} of {len(diffs)} design "
        f"points; {baseline} better (CI below 0) at {counts.get('baseline', 0)}; "
        f"{equivalence}; unclear at {counts.get('unclear', 0)}."
    )
    lines.append(
        f"After a Benjamini-Hochberg correction over the {len(diffs)} points (false discovery "
        f"rate 5%): {contrast} better at {counts_bh.get('contrast', 0)}, {baseline} better at "
        f"{counts_bh.get('baseline', 0)}."
    )
    params = analysis.parameters
    best = diffs[diffs["mean"] > 0].nlargest(3, "mean")
    worst = diffs[diffs["mean"] < 0].nsmallest(3, "mean")
    lines += ["", f"Largest advantage of {contrast}:"]
    lines += [
        f"  {_fmt(r.mean, r.ci_low, r.ci_high)} at {_where(r, params)}"
        for r in best.itertuples(index=False)
    ] or [f"  none: {contrast} is ahead on average at no design point"]
    lines += ["", f"Where it reverses most ({baseline} ahead):"]
    lines += [
        f"  {_fmt(r.mean, r.ci_low, r.ci_high)} at {_where(r, params)}"
        for r in worst.itertuples(index=False)
    ] or [f"  nowhere: {baseline} is ahead on average at no design point"]
    lines += ["", "Per parameter (averaged over the other parameters and the seeds):"]
    for name in params:
        part = analysis.marginals[analysis.marginals["parameter"] == name]
        cells = [
            f"{_tick_str(r.level)}: {_fmt(r.mean, r.ci_low, r.ci_high)}"
            for r in part.itertuples(index=False)
        ]
        title = name if labels.get(name, name) == name else f"{labels[name]} ({name})"
        lines.append(f"  {title}: " + "; ".join(cells))
    if analysis.sensitivity is not None:
        output = f"{contrast} - {baseline}"
        table = analysis.sensitivity[analysis.sensitivity["output"] == output]
        main = "ST" if design["kind"] == "sobol" else "mu_star"
        ranked = table[table["index"] == main].sort_values("value", ascending=False)
        title = "Sobol' total-order ST" if main == "ST" else "Morris mu*"
        lines += ["", f"Sensitivity of the difference ({title} [95% CI half-width]):"]
        lines += [
            f"  {r.parameter}: {r.value:.3g} [+/- {r.conf:.2g}]"
            for r in ranked.itertuples(index=False)
        ]
        if analysis.convergence is not None:
            lines += ["", *convergence_lines(analysis.convergence)]
    elif sensitivity_note:
        lines += ["", sensitivity_note]
    if analysis.figures:
        lines += ["", "Figures: " + ", ".join(p.name for p in analysis.figures)]
    return "\n".join(lines)


def convergence_lines(convergence: pd.DataFrame) -> list[str]:
    """Plain-words lines on whether the Sobol' indices have settled (for the report)."""
    sizes = sorted(set(convergence["N"]))
    if len(sizes) < 2:
        return [f"Convergence: only N = {sizes[0]}; run more samples to see it."]
    top, before = sizes[-1], sizes[-2]
    total = convergence[convergence["index"] == "ST"].pivot(
        index="parameter", columns="N", values="value"
    )
    change = float((total[top] - total[before]).abs().max())
    settled = settled_from(convergence)
    ranking = (
        f"the ranking by ST is the same from N = {settled} on"
        if settled is not None
        else f"the ranking by ST still changes between N = {before} and {top}"
    )
    return [
        f"Convergence (the same indices on the first N base samples; sobol_convergence): "
        f"{ranking}; ST changed by at most {change:.2g} from N = {before} to {top}."
    ]


def _tick_str(level: str) -> str:
    try:
        return _tick(float(level)) if "." in level else level
    except ValueError:
        return level
