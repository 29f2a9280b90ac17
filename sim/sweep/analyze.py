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
from scipy import stats

from sim.experiment import SUMMARY_METRICS
from sim.plots import STRATEGY_COLOURS
from sim.results import load, output_folder, write_table, write_text
from sim.sweep.spec import SweepError

#: Outcomes summarised per design point (those present in the runs table).
POINT_METRICS: tuple[str, ...] = (*SUMMARY_METRICS, "final_cash")
#: Parameters with more distinct values than this are binned for heatmaps and lines.
MAX_LEVELS = 8
BINS = 6
LEVEL = 0.95
_OTHER_COLOURS = ("#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#6B6B6B")
_DPI = 120


@dataclass
class SweepAnalysis:
    """The tables, figures and report of one sweep folder's analysis."""

    directory: Path
    metric: str
    contrast: str
    baseline: str
    parameters: list[str]
    point_means: pd.DataFrame
    differences: pd.DataFrame
    marginals: pd.DataFrame
    sensitivity: pd.DataFrame | None
    report: str
    figures: list[Path] = field(default_factory=list)
    #: Sobol' designs: S1 and ST of the difference on the first N base samples, N = 8, 16, ...
    convergence: pd.DataFrame | None = None


def analyze_sweep(
    directory: str | Path,
    *,
    metric: str | None = None,
    compare: tuple[str, str] | None = None,
    figures: bool = True,
    write: bool = True,
) -> SweepAnalysis:
    """Analyse the sweep in ``directory``; write tables, figures and `report.md` to
    ``directory/analysis/`` (unless ``write`` is false). ``metric`` and ``compare`` (contrast,
    baseline) default to the sweep file's `[analysis]`."""
    directory = Path(directory)
    if not (directory / "manifest.json").is_file() or not (directory / "runs").is_dir():
        raise SweepError(str(directory), "", "not a sweep folder (no manifest.json and runs/)")
    if not write:
        return _analyze(directory, metric=metric, compare=compare, figures=figures, write=False)
    with output_folder(directory / "analysis", kind="analysis", error=SweepError):
        return _analyze(directory, metric=metric, compare=compare, figures=figures, write=True)


def _analyze(
    directory: Path,
    *,
    metric: str | None,
    compare: tuple[str, str] | None,
    figures: bool,
    write: bool,
) -> SweepAnalysis:
    data = load(directory, periods=False)
    runs, manifest = data["runs"], data["manifest"]
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
    paired = paired_differences(runs, metric, contrast, baseline)
    differences = design.merge(summarize_differences(paired), on="point", how="left")
    marginals = marginal_differences(paired.merge(design, on="point"), parameters)
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


def t_interval(
    mean: np.ndarray, std: np.ndarray, n: np.ndarray, level: float = LEVEL
) -> tuple[np.ndarray, np.ndarray]:
    """Student t interval of means (vectorised `sim.experiment.mean_ci`); NaN for n < 2."""
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + level / 2, n - 1) * np.asarray(std) / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    return np.asarray(mean) - half, np.asarray(mean) + half


def wilson_interval(
    k: np.ndarray, n: np.ndarray, level: float = LEVEL
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson interval of shares (vectorised `sim.experiment.share_ci`)."""
    z = stats.norm.ppf(0.5 + level / 2)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.asarray(k) / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def point_summary(runs: pd.DataFrame, parameters: list[str], metrics: list[str]) -> pd.DataFrame:
    """Per design point, strategy and outcome: mean, 95% interval and n (long format).

    Means get a Student t interval, shares (survival, cycling, recovered) a Wilson interval.
    """
    keys = ["point", *parameters, "strategy"]
    frames = []
    grouped = runs.groupby(keys, observed=True, sort=True)
    for metric in metrics:
        column = grouped[metric]
        if pd.api.types.is_bool_dtype(runs[metric]):
            k = column.sum().astype(float)
            n = column.count().astype(float)
            mean = k / n
            low, high = wilson_interval(k.to_numpy(), n.to_numpy())
        else:
            mean = column.mean()
            n = column.count().astype(float)
            low, high = t_interval(mean.to_numpy(), column.std(ddof=1).to_numpy(), n.to_numpy())
        frame = mean.rename("mean").reset_index()
        frame.insert(len(keys), "metric", metric)
        frame["ci_low"], frame["ci_high"], frame["n"] = low, high, n.to_numpy().astype(int)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def paired_differences(
    runs: pd.DataFrame, metric: str, contrast: str, baseline: str
) -> pd.DataFrame:
    """Per design point and seed: ``metric`` of contrast minus baseline (common random
    numbers: both faced the same landscapes, market and start)."""
    both = runs[runs["strategy"].isin([contrast, baseline])]
    wide = both.pivot_table(
        index=["point", "seed_index"],
        columns="strategy",
        values=metric,
        aggfunc="first",
        observed=True,
    )
    if contrast not in wide or baseline not in wide:
        return pd.DataFrame({"point": [], "seed_index": [], "difference": []})
    diff = (wide[contrast].astype(float) - wide[baseline].astype(float)).dropna()
    return diff.rename("difference").reset_index()


def summarize_differences(paired: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Mean paired difference, its 95% interval, n and a verdict, per group ``by`` (point)."""
    by = by or ["point"]
    grouped = paired.groupby(by, observed=True, sort=True)["difference"]
    table = grouped.mean().rename("mean").reset_index()
    n = grouped.count().to_numpy()
    low, high = t_interval(table["mean"].to_numpy(), grouped.std(ddof=1).to_numpy(), n)
    table["ci_low"], table["ci_high"], table["n"] = low, high, n
    table["verdict"] = np.select(
        [table["ci_low"] > 0, table["ci_high"] < 0], ["contrast", "baseline"], "unclear"
    )
    return table


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
    return f"{label} (bin centres)" if _binned(values) else label


def marginal_differences(paired: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    """The paired difference per level of each parameter, averaged over the other parameters
    and the seeds (long format: parameter, level, mean, ci_low, ci_high, n, verdict)."""
    frames = []
    for name in parameters:
        frame = paired.assign(level=levels(paired[name]))
        table = summarize_differences(frame, ["level"])
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
    low = STRATEGY_COLOURS.get(baseline, _OTHER_COLOURS[0])
    high = STRATEGY_COLOURS.get(contrast, _OTHER_COLOURS[1])
    return LinearSegmentedColormap.from_list("difference", [low, "#FFFFFF", high])


def _colour(strategy: str, order: int) -> str:
    return STRATEGY_COLOURS.get(strategy, _OTHER_COLOURS[order % len(_OTHER_COLOURS)])


def _plain(name: str) -> str:
    return str(name).replace("_", " ")


def _metric_label(metric: str, money: str) -> str:
    label = SUMMARY_METRICS.get(metric, _plain(metric))
    if money and ("profit" in metric or "cash" in metric):
        label += f" ({money})"
    return label


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
) -> Figure:
    """Mean paired difference over two parameters (others and seeds averaged); bold cells
    have a 95% interval that excludes zero."""
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
        sure[i, j] = verdict != "unclear"
    bound = float(np.nanmax(np.abs(grid))) if np.isfinite(grid).any() else 1.0
    bound = bound or 1.0
    fig = Figure(figsize=(1.2 * len(xs) + 3.2, 0.8 * len(ys) + 2.4), layout="constrained")
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
    ax.set_xticks(range(len(xs)), [_tick(v) for v in xs])
    ax.set_yticks(range(len(ys)), [_tick(v) for v in ys])
    ax.set_xlabel(_axis(x, frame[x], labels))
    ax.set_ylabel(_axis(y, frame[y], labels))
    bar = fig.colorbar(image, ax=ax)
    bar.set_label(f"{_plain(contrast)} - {_plain(baseline)}")
    ax.set_title(
        f"{metric_label}: {_plain(contrast)} minus {_plain(baseline)}\n"
        "mean over seeds and other parameters; bold: 95% CI excludes 0",
        fontsize=11,
    )
    return fig


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
) -> Figure:
    """Left: each strategy's ``metric`` against one parameter (95% bands); right: the paired
    difference contrast - baseline with its band and the zero line."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    numeric = pd.api.types.is_numeric_dtype(runs[x])
    data = runs.assign(_x=levels(runs[x]))
    order = sorted(data["_x"].unique())
    position = (lambda v: v) if numeric else (lambda v: order.index(v))
    strategies = [s for s in runs["strategy"].cat.categories if s in set(runs["strategy"])]
    for k, strategy in enumerate(strategies):
        grouped = data[data["strategy"] == strategy].groupby("_x")[metric]
        mean = grouped.mean().astype(float)
        low, high = t_interval(mean.to_numpy(), grouped.std(ddof=1).to_numpy(), grouped.count())
        xs = [position(v) for v in mean.index]
        colour = _colour(strategy, k)
        left.plot(xs, mean.to_numpy(), marker="o", color=colour, label=_plain(strategy))
        left.fill_between(xs, low, high, color=colour, alpha=0.2, linewidth=0)
    diff = summarize_differences(paired.assign(_x=levels(paired[x])), ["_x"])
    xs = [position(v) for v in diff["_x"]]
    colour = _colour(contrast, 1)
    right.axhline(0.0, color="#444444", linewidth=1)
    right.plot(xs, diff["mean"], marker="o", color=colour)
    right.fill_between(xs, diff["ci_low"], diff["ci_high"], color=colour, alpha=0.2, linewidth=0)
    for ax, title in (
        (left, metric_label),
        (right, f"{_plain(contrast)} minus {_plain(baseline)}"),
    ):
        ax.set_xlabel(_axis(x, runs[x], {x: label}))
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
    colours = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#6B6B6B")
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


def sensitivity_figure(table: pd.DataFrame, output: str, *, metric_label: str) -> Figure:
    """Sobol' S1 and ST, or Morris mu* and sigma, per parameter, with 95% intervals."""
    data = table[(table["output"] == output) & (table["index"] != "S2")]
    indices = [i for i in ("S1", "ST", "mu_star", "sigma") if i in set(data["index"])]
    names = list(dict.fromkeys(data["parameter"]))
    fig = Figure(figsize=(max(6.0, 1.3 * len(names) + 3), 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(indices))
    colours = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
    for k, index in enumerate(indices):
        part = data[data["index"] == index].set_index("parameter").reindex(names)
        xs = np.arange(len(names)) + (k - (len(indices) - 1) / 2) * width
        conf = part["conf"].to_numpy(float)
        ax.bar(
            xs,
            part["value"].to_numpy(float),
            width,
            yerr=np.where(np.isfinite(conf), conf, 0.0),
            capsize=3,
            color=colours[k % len(colours)],
            label=index.replace("_star", "*"),
        )
    ax.set_xticks(range(len(names)), [_plain(n) for n in names])
    ax.axhline(0, color="#444444", linewidth=0.8)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3, axis="y")
    ax.set_title(f"Sensitivity of {metric_label}: {output} (95% intervals)", fontsize=11)
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
        fig = heatmap_figure(paired, x, y, metric_label=metric_label, labels=labels, **common)
        written.append(_save(fig, out / f"heatmap_{metric}_{y}_by_{x}.png"))
    for x in analysis.parameters:
        if len(paired) == 0:
            break
        fig = line_figure(
            runs, paired, x, metric=metric, metric_label=metric_label, label=labels[x], **common
        )
        written.append(_save(fig, out / f"line_{metric}_{x}.png"))
    if analysis.sensitivity is not None:
        output = f"{analysis.contrast} - {analysis.baseline}"
        fig = sensitivity_figure(analysis.sensitivity, output, metric_label=metric_label)
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
    overall = summarize_differences(paired.assign(all=0), ["all"]).iloc[0]
    lines += ["", f"Overall: {_fmt(overall['mean'], overall['ci_low'], overall['ci_high'])}"]
    diffs = analysis.differences.dropna(subset=["mean"])
    counts = diffs["verdict"].value_counts()
    lines.append(
        f"{contrast} better (CI above 0) at {counts.get('contrast', 0)} of {len(diffs)} design "
        f"points; {baseline} better (CI below 0) at {counts.get('baseline', 0)}; no clear "
        f"difference at {counts.get('unclear', 0)}."
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
