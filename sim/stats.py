"""The one place where intervals and tests are computed (runs, experiments and sweeps).

- Means get a Student t interval; shares (survival, cycling) a Wilson interval; both are
  clipped to the range the quantity can take (a share to [0, 1], efficiency to [0, 1], a
  duration to [0, inf)), which never lowers the coverage: the true mean lies in that range.
- Strategies on the same seed faced the same landscapes, market and start (common random
  numbers): differences are paired by seed (`paired_difference`).
- Where seeds are shared across groups (a sweep's design points all run seeds 0..n-1), a mean
  over several groups is first averaged within each seed, then the interval is taken over the
  seeds (`cluster_mean_ci`): the seeds, not the runs, are the independent replicates.
- "No difference" is claimed only by an equivalence test with a stated margin (`equivalence`,
  two one-sided t tests); many comparisons get a Benjamini-Hochberg correction
  (`benjamini_hochberg`, a sweep's design points), every pair of a run's strategies a Holm
  correction (`holm`, `pairwise_differences`: the family-wise error across the pairs).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

LEVEL = 0.95
UNBOUNDED: tuple[float, float] = (-math.inf, math.inf)

#: Outcomes of a run the summary reports, with the label printed for each. The label says over
#: which firms the mean is taken (see `summarize`): all firms (a closed firm counts with
#: profit 0 and market value 0) or survivors (firms still open at the horizon).
SUMMARY_METRICS: dict[str, str] = {
    "efficiency_pre_shift": "efficiency before (survivors)",
    "efficiency_post_shift": "efficiency after (survivors)",
    "market_value_pre_shift_all": "market value before (all firms)",
    "market_value_pre_shift": "market value before (survivors)",
    "market_value_post_shift_all": "market value after (all firms)",
    "market_value_post_shift": "market value after (survivors)",
    "performance_norm_pre_shift": "performance before, share of best (survivors)",
    "performance_norm_post_shift": "performance after, share of best (survivors)",
    "profit_pre_shift": "profit before (all firms)",
    "profit_pre_shift_survivors": "profit before (survivors)",
    "profit_post_shift": "profit after (all firms)",
    "profit_post_shift_survivors": "profit after (survivors)",
    "survived": "survival",
    "cycled": "cycling (survivors)",
    "fell": "fell below the recovery threshold from the split on (all firms)",
    "recovered": "recovered by the horizon (firms that fell)",
    "recovery_time": "recovery time from the fall, periods (median, Kaplan-Meier; firms that fell)",
}
#: Outcomes taken over the firms that fell below the recovery threshold only (docs/ODD.md 7.13).
FELL_METRICS: frozenset[str] = frozenset({"recovered", "recovery_time"})
#: Outcomes compared between every pair of strategies (`pairwise_differences`), with the short
#: label printed for each: a single firm's profit (all firms) before and after the split and
#: its change (the difference-in-differences), else a population's performance.
PAIRED_METRICS: dict[str, str] = {
    "profit_pre_shift": "profit before",
    "profit_post_shift": "profit after",
    "profit_change": "after - before",
}
#: The share of a pair's profit gap after the split that is already there before it (the
#: ratio of the paired mean gaps, Fieller's interval; `pairwise_differences` adds it).
GAP_SHARE = "gap_share_before"
GAP_SHARE_LABEL = "share of the after-gap there before"
POPULATION_PAIRED_METRICS: dict[str, str] = {
    "performance_norm_pre_shift": "performance before",
    "performance_norm_post_shift": "performance after",
}


def paired_metrics(runs: pd.DataFrame) -> list[str]:
    """The outcomes of ``runs`` compared between pairs of strategies: `PAIRED_METRICS`, or a
    population's `POPULATION_PAIRED_METRICS`, those in the table."""
    return [m for m in PAIRED_METRICS if m in runs] or [
        m for m in POPULATION_PAIRED_METRICS if m in runs
    ]


#: Outcomes whose mean is taken over the surviving firms only (the rest: over all firms).
SURVIVOR_METRICS: frozenset[str] = frozenset(
    {
        "efficiency_pre_shift",
        "efficiency_post_shift",
        "market_value_pre_shift",
        "market_value_post_shift",
        "performance_norm_pre_shift",
        "performance_norm_post_shift",
        "profit_pre_shift_survivors",
        "profit_post_shift_survivors",
        "cycled",
    }
)
_SURVIVOR_COPIES = {
    "profit_pre_shift_survivors": "profit_pre_shift",
    "profit_post_shift_survivors": "profit_post_shift",
}
_UNIT_INTERVAL = ("efficiency", "market_value", "performance_norm", "survived", "cycled")


def bounds_of(metric: str) -> tuple[float, float]:
    """The range a run's outcome ``metric`` can take (efficiency, market value, shares: [0, 1];
    durations and counts: [0, inf)); unbounded otherwise (profit, cash)."""
    if metric.startswith(_UNIT_INTERVAL) or metric in ("recovered", "fell", "in_cycle", "alive"):
        return (0.0, 1.0)
    if metric in ("recovery_time", "miles_sailed", "periods_cycling", "final_distance_to_port"):
        return (0.0, math.inf)
    return UNBOUNDED


def difference_bounds(metric: str) -> tuple[float, float]:
    """The range of a difference of two values of ``metric``."""
    low, high = bounds_of(metric)
    return (low - high, high - low)


def _clip(low: Any, high: Any, bounds: tuple[float, float]) -> tuple[Any, Any]:
    return np.maximum(low, bounds[0]), np.minimum(high, bounds[1])


# ------------------------------------------------------------------------ intervals, vectorised


def t_interval(
    mean: Any,
    std: Any,
    n: Any,
    level: float = LEVEL,
    bounds: tuple[float, float] = UNBOUNDED,
) -> tuple[np.ndarray, np.ndarray]:
    """Student t interval of means (arrays of mean, sample std, n), clipped to ``bounds``;
    NaN where n < 2."""
    from scipy import stats  # imported here: scipy.stats is slow to import

    n = np.asarray(n, dtype=float)
    mean = np.asarray(mean, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        half = stats.t.ppf(0.5 + level / 2, n - 1) * np.asarray(std, dtype=float) / np.sqrt(n)
    half = np.where(n >= 2, half, np.nan)
    low, high = _clip(mean - half, mean + half, bounds)
    return np.where(n >= 2, low, np.nan), np.where(n >= 2, high, np.nan)


def wilson_interval(k: Any, n: Any, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """Wilson interval of shares k / n (always within [0, 1])."""
    from scipy import stats

    z = stats.norm.ppf(0.5 + level / 2)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.asarray(k, dtype=float) / n
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return _clip(centre - half, centre + half, (0.0, 1.0))


def t_test_p(mean: Any, std: Any, n: Any, null: float = 0.0) -> np.ndarray:
    """Two-sided p-value of a one-sample t test of mean = ``null`` (NaN where n < 2)."""
    from scipy import stats

    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = (np.asarray(mean, dtype=float) - null) / (np.asarray(std, dtype=float) / np.sqrt(n))
        p = 2 * stats.t.sf(np.abs(t), n - 1)
    return np.where(n >= 2, p, np.nan)


def tost_p(mean: Any, std: Any, n: Any, margin: float) -> np.ndarray:
    """p-value of the two one-sided t tests (TOST) that the true mean lies within
    (-margin, +margin): the larger of the two one-sided p-values (NaN where n < 2)."""
    from scipy import stats

    if not margin > 0:
        raise ValueError(f"equivalence margin: must be > 0, got {margin}")
    n = np.asarray(n, dtype=float)
    mean = np.asarray(mean, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.asarray(std, dtype=float) / np.sqrt(n)
        above_low = stats.t.sf((mean + margin) / se, n - 1)  # H0: mean <= -margin
        below_high = stats.t.cdf((mean - margin) / se, n - 1)  # H0: mean >= +margin
    return np.where(n >= 2, np.maximum(above_low, below_high), np.nan)


def benjamini_hochberg(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) controlling the false discovery rate;
    NaNs are left out of the count and stay NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return out


def holm(p_values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Holm's (1979) step-down adjusted p-values, controlling the family-wise error rate across
    the tests (every pair of strategies); NaNs are left out of the count and stay NaN."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    if m == 0:
        return out
    order = valid[np.argsort(p[valid], kind="stable")]
    scaled = p[order] * (m - np.arange(m))
    out[order] = np.minimum(np.maximum.accumulate(scaled), 1.0)
    return out


# --------------------------------------------------------------------------- one sample


def mean_ci(
    values: pd.Series | np.ndarray | Sequence[float],
    level: float = LEVEL,
    *,
    bounds: tuple[float, float] = UNBOUNDED,
) -> tuple[float, float, float]:
    """Mean and its ``level`` confidence interval (Student t, clipped to ``bounds``); NaNs
    ignored; the interval is NaN with fewer than two values."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (math.nan,) * 3
    mean = float(x.mean())
    std = float(x.std(ddof=1)) if x.size > 1 else math.nan
    low, high = t_interval(mean, std, x.size, level, bounds)
    return mean, float(low), float(high)


def ratio_ci(
    numerator: pd.Series | np.ndarray | Sequence[float],
    denominator: pd.Series | np.ndarray | Sequence[float],
    level: float = LEVEL,
) -> tuple[float, float, float]:
    """Ratio of two means of paired samples (e.g. the paired gap before a shift over the gap
    after it) and its Fieller ``level`` interval (Fieller 1954, for the ratio of the means of a
    bivariate normal sample). Pairs with a NaN are dropped. The interval is NaN where it is
    unbounded: the denominator's mean is not clearly away from 0 at this level."""
    from scipy import stats

    x = np.asarray(numerator, dtype=float)
    y = np.asarray(denominator, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y = x[keep], y[keep]
    n = x.size
    if n < 2 or y.mean() == 0:
        return (math.nan,) * 3
    mx, my = float(x.mean()), float(y.mean())
    cov = np.cov(x, y, ddof=1)
    t2 = float(stats.t.ppf(0.5 + level / 2, n - 1)) ** 2 / n
    a = my**2 - t2 * cov[1, 1]
    b = -2.0 * (mx * my - t2 * cov[0, 1])
    c = mx**2 - t2 * cov[0, 0]
    disc = b * b - 4 * a * c
    if a <= 0 or disc < 0:
        return mx / my, math.nan, math.nan
    root = math.sqrt(disc)
    return mx / my, (-b - root) / (2 * a), (-b + root) / (2 * a)


def share_ci(
    flags: pd.Series | np.ndarray | Sequence[bool], level: float = LEVEL
) -> tuple[float, float, float]:
    """Share of True and its Wilson ``level`` confidence interval."""
    x = np.asarray(flags, dtype=bool)
    if x.size == 0:
        return (math.nan,) * 3
    low, high = wilson_interval(int(x.sum()), x.size, level)
    return float(x.mean()), float(low), float(high)


def cluster_mean_ci(
    values: pd.Series | np.ndarray | Sequence[float],
    clusters: pd.Series | np.ndarray | Sequence[Any],
    level: float = LEVEL,
    *,
    bounds: tuple[float, float] = UNBOUNDED,
) -> tuple[float, float, float, int]:
    """Mean over clusters (e.g. seeds shared by several design points) and its interval: the
    values are averaged within each cluster first, the t interval is over the cluster means.
    Returns mean, low, high and the number of clusters."""
    frame = pd.DataFrame({"value": np.asarray(values, dtype=float), "cluster": clusters})
    means = frame.dropna().groupby("cluster", sort=False)["value"].mean()
    mean, low, high = mean_ci(means.to_numpy(), level, bounds=bounds)
    return mean, low, high, int(means.size)


def grouped_cluster_ci(
    frame: pd.DataFrame,
    by: list[str],
    value: str,
    cluster: str,
    level: float = LEVEL,
    *,
    bounds: tuple[float, float] = UNBOUNDED,
) -> pd.DataFrame:
    """`cluster_mean_ci` per group ``by``: columns ``by``, mean, ci_low, ci_high, n (clusters),
    std (of the cluster means)."""
    within = (
        frame.dropna(subset=[value])
        .groupby([*by, cluster], observed=True, sort=True)[value]
        .mean()
        .astype(float)
    )
    grouped = within.groupby(level=list(range(len(by))), observed=True, sort=True)
    table = grouped.mean().rename("mean").reset_index()
    table["std"] = grouped.std(ddof=1).to_numpy()
    table["n"] = grouped.count().to_numpy()
    table["ci_low"], table["ci_high"] = t_interval(
        table["mean"], table["std"], table["n"], level, bounds
    )
    return table


# --------------------------------------------------------------------- paired comparisons


@dataclass(frozen=True)
class Difference:
    """A paired difference a - b of one outcome: mean, ``level`` interval, n pairs, the
    two-sided p-value of no difference and, with a margin, the equivalence (TOST) p-value."""

    metric: str
    a: str
    b: str
    mean: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float
    level: float = LEVEL
    margin: float | None = None
    p_equivalence: float | None = None

    @property
    def verdict(self) -> str:
        """`a`, `b` (whose is larger, interval excludes 0), `equivalent` (TOST within the
        margin at 1 - level) or `unclear`."""
        if self.ci_low > 0:
            return self.a
        if self.ci_high < 0:
            return self.b
        if self.p_equivalence is not None and self.p_equivalence < 1 - self.level:
            return "equivalent"
        return "unclear"

    def __str__(self) -> str:
        text = (
            f"{self.metric}, {self.a} - {self.b}: {self.mean:.4g} "
            f"[{self.ci_low:.4g}, {self.ci_high:.4g}] (n = {self.n} pairs)"
        )
        if self.margin is not None:
            text += f"; equivalence within +/-{self.margin:g}: p = {self.p_equivalence:.3g}"
        return text


def paired_values(
    runs: pd.DataFrame, metric: str, a: str, b: str, *, on: Sequence[str] = ("seed",)
) -> pd.Series:
    """Per seed (per ``on``): ``metric`` of strategy ``a`` minus that of ``b``; pairs with a
    missing value are dropped."""
    keys = list(on)
    for name in (a, b):
        if name not in set(runs["strategy"].astype(str)):
            allowed = ", ".join(map(str, pd.unique(runs["strategy"].astype(str))))
            raise KeyError(f"strategy {name!r} is not in the runs; allowed: {allowed}")
    if metric not in runs:
        raise KeyError(f"{metric!r} is not a column of the runs table")
    frame = runs.assign(strategy=runs["strategy"].astype(str))
    wide = frame[frame["strategy"].isin([a, b])].pivot_table(
        index=keys, columns="strategy", values=metric, aggfunc="first", dropna=False
    )
    diff = wide[a].astype(float) - wide[b].astype(float)
    return diff.dropna().rename(f"{metric}: {a} - {b}")


def paired_difference(
    runs: pd.DataFrame,
    metric: str,
    a: str,
    b: str,
    *,
    level: float = LEVEL,
    margin: float | None = None,
    on: Sequence[str] = ("seed",),
) -> Difference:
    """Mean of ``metric`` for strategy ``a`` minus ``b``, paired by seed (common random
    numbers), with its ``level`` interval and n; with ``margin``, also the TOST p-value that the
    difference lies within +/- margin."""
    diff = paired_values(runs, metric, a, b, on=on).to_numpy()
    mean, low, high = mean_ci(diff, level, bounds=difference_bounds(metric))
    std = float(diff.std(ddof=1)) if diff.size > 1 else math.nan
    p_equivalence = None
    if margin is not None:
        p_equivalence = float(tost_p(mean, std, diff.size, margin))
    return Difference(
        metric=metric,
        a=a,
        b=b,
        mean=mean,
        ci_low=low,
        ci_high=high,
        n=int(diff.size),
        p_value=float(t_test_p(mean, std, diff.size)),
        level=level,
        margin=margin,
        p_equivalence=p_equivalence,
    )


def pairwise_differences(
    runs: pd.DataFrame,
    metrics: Sequence[str],
    strategies: Sequence[str] | None = None,
    *,
    level: float = LEVEL,
) -> pd.DataFrame:
    """Every pair of strategies (``strategies[j] - strategies[i]`` for i < j; default: in the
    runs' order), per metric: the paired difference by seed (`paired_difference`) and its
    two-sided p-value, Holm-adjusted across the pairs (per metric: one family per outcome).
    Columns: a, b, metric, mean, ci_low, ci_high (unadjusted ``level`` interval), n, p_value,
    p_holm, pairs (the family's size)."""
    names = (
        list(strategies)
        if strategies is not None
        else list(dict.fromkeys(runs["strategy"].astype(str)))
    )
    pairs = [(b, a) for a, b in itertools.combinations(names, 2)]
    records = []
    for metric in metrics:
        diffs = [paired_difference(runs, metric, a, b, level=level) for a, b in pairs]
        adjusted = holm([d.p_value for d in diffs])
        for d, p in zip(diffs, adjusted, strict=True):
            records.append(
                {
                    "a": d.a,
                    "b": d.b,
                    "metric": metric,
                    "mean": d.mean,
                    "ci_low": d.ci_low,
                    "ci_high": d.ci_high,
                    "n": d.n,
                    "p_value": d.p_value,
                    "p_holm": float(p),
                    "pairs": len(pairs),
                }
            )
    if {"profit_pre_shift", "profit_post_shift"} <= set(metrics):
        for a, b in pairs:  # how much of the gap after the split exists before it
            before = paired_values(runs, "profit_pre_shift", a, b)
            after = paired_values(runs, "profit_post_shift", a, b)
            both = before.index.intersection(after.index)
            share, low, high = ratio_ci(before[both], after[both], level)
            records.append(
                {"a": a, "b": b, "metric": GAP_SHARE, "mean": share, "ci_low": low,
                 "ci_high": high, "n": int(both.size), "p_value": math.nan,
                 "p_holm": math.nan, "pairs": len(pairs)}
            )  # fmt: skip
    columns = ["a", "b", "metric", "mean", "ci_low", "ci_high", "n", "p_value", "p_holm", "pairs"]
    return pd.DataFrame(records, columns=columns)


@dataclass(frozen=True)
class Equivalence:
    """Two one-sided t tests: is the mean within +/- margin? ``interval`` is the 1 - 2 alpha
    interval, inside the margin exactly when ``equivalent``."""

    mean: float
    margin: float
    p_value: float
    equivalent: bool
    interval: tuple[float, float]
    n: int


def equivalence(
    values: pd.Series | np.ndarray | Sequence[float], margin: float, *, alpha: float = 0.05
) -> Equivalence:
    """TOST of a sample's mean (e.g. paired differences) against +/- ``margin``."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    mean = float(x.mean()) if x.size else math.nan
    std = float(x.std(ddof=1)) if x.size > 1 else math.nan
    p = float(tost_p(mean, std, x.size, margin))
    low, high = t_interval(mean, std, x.size, 1 - 2 * alpha)
    return Equivalence(
        mean=mean,
        margin=float(margin),
        p_value=p,
        equivalent=bool(p < alpha),
        interval=(float(low), float(high)),
        n=int(x.size),
    )


# --------------------------------------------------------------------------- run summaries


def closed_firm_outcomes(
    runs: pd.DataFrame, *, horizon: int, split: int, window: int
) -> pd.DataFrame:
    """``runs`` with the outcomes the summary needs under the closed-firm rule (docs/ODD.md):
    a firm closed (cash below zero) earns 0 and has market value 0 from the next period on.

    Adds `market_value_{pre,post}_shift_all` (the per-run mean counting a closed firm's periods
    as 0) and `profit_{pre,post}_shift_survivors` (profit of the runs that survived, NaN for
    the others). The runs table's `market_value_*` are means over the periods the firm was open.
    """
    out = runs.copy()
    if "exit_period" not in out:
        return _survivors_profit(out)
    exit_period = out["exit_period"].to_numpy()
    last_open = np.where(exit_period >= 0, exit_period, horizon)
    for window_name, first, last in (
        ("pre_shift", max(1, split - window), split - 1),
        ("post_shift", split, horizon),
    ):
        column = f"market_value_{window_name}"
        if column not in out:
            continue
        length = last - first + 1
        open_periods = np.clip(np.minimum(last_open, last) - first + 1, 0, length)
        value = out[column].to_numpy(dtype=float)
        share = open_periods / length if length > 0 else np.nan
        out[f"{column}_all"] = np.where(open_periods > 0, value * share, 0.0)
    return _survivors_profit(out)


def _survivor_only(runs: pd.DataFrame, metric: str) -> pd.Series:
    values = runs[metric]
    if metric in SURVIVOR_METRICS and "survived" in runs:
        return values.where(runs["survived"].astype(bool))
    return values


class RunsOfScenario(Protocol):
    """What `summary_table` reads of an experiment's result (`sim.experiment.ExperimentResult`):
    its runs table and the scenario they ran (this module is below the model's layers and
    imports none of them)."""

    runs: pd.DataFrame
    scenario: Any


def summary_table(
    runs: pd.DataFrame | RunsOfScenario,
    level: float = LEVEL,
    *,
    wide: bool = False,
) -> pd.DataFrame:
    """Per strategy: mean, ``level`` interval and n of each summary outcome (`SUMMARY_METRICS`).

    ``runs`` is a runs table or an `ExperimentResult` (which also gives the market value over
    all firms, a closed firm counting 0, see `closed_firm_outcomes`). Each label says whether
    the mean is over all firms or over survivors (firms open at the horizon). Means get a
    Student t interval, shares a Wilson interval, clipped to the range of the outcome.
    Long format (strategy, metric, label, mean, ci_low, ci_high, n), or with ``wide`` the
    table `python -m sim run` prints: one row per outcome, one column per strategy, cells
    "mean [low, high]".
    """
    if not isinstance(runs, pd.DataFrame):
        scenario = runs.scenario
        runs = closed_firm_outcomes(
            runs.runs,
            horizon=scenario.horizon,
            split=scenario.split,
            window=scenario.metrics.window,
        )
    else:
        runs = _survivors_profit(runs)
    records = []
    for strategy, group in runs.groupby("strategy", observed=True, sort=False):
        for column, label in SUMMARY_METRICS.items():
            if column not in group:
                continue
            rows = group
            if column in FELL_METRICS and "fell" in group:
                rows = group[group["fell"].astype(bool)]
            values = _survivor_only(rows, column)
            if column == "recovery_time":  # censored at the horizon: Kaplan-Meier median
                if rows.empty:
                    mean, low, high = math.nan, math.nan, math.nan
                else:
                    mean, low, high = km_median(
                        rows["recovery_time"], rows.get("recovery_observed"), level
                    )
                n = len(rows)
            elif rows[column].dtype == bool:
                flags = values.dropna().astype(bool)
                mean, low, high = share_ci(flags, level)
                n = int(flags.size)
            else:
                mean, low, high = mean_ci(values.astype(float), level, bounds=bounds_of(column))
                n = int(values.notna().sum())
            records.append(
                {
                    "strategy": strategy,
                    "metric": column,
                    "label": label,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n": n,
                }
            )
    table = pd.DataFrame(records)
    return wide_summary(table) if wide else table


def km_median(
    times: pd.Series | np.ndarray,
    observed_for: pd.Series | np.ndarray | None = None,
    level: float = LEVEL,
) -> tuple[float, float, float]:
    """Kaplan-Meier median of times to an event, NaN where it did not happen (censored at
    ``observed_for``, the periods watched; default: the longest time seen), with a ``level``
    interval from the log-log pointwise band (scipy.stats.ecdf). A median or bound not reached
    is NaN (lower) or inf (upper)."""
    from scipy import stats

    times = np.asarray(times, dtype=float)
    happened = ~np.isnan(times)
    if not happened.any():
        return math.nan, math.nan, math.inf
    if observed_for is None:
        censored_at = np.full((~happened).sum(), np.nanmax(times))
    else:
        censored_at = np.asarray(observed_for, dtype=float)[~happened]
    data = stats.CensoredData(uncensored=times[happened], right=censored_at)
    sf = stats.ecdf(data).sf
    with warnings.catch_warnings():
        # scipy warns where the log-log band is undefined (the estimate at 0 or 1: every
        # firm still unrecovered, or the last one recovered); those points are NaN and
        # handled below, so the warning says nothing to the user
        warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
        band = sf.confidence_interval(level, method="log-log")

    def first_at_half(probabilities: np.ndarray) -> float:
        below = np.flatnonzero(probabilities <= 0.5)
        return float(sf.quantiles[below[0]]) if below.size else math.inf

    # where the band is undefined (the estimate at 0 or 1, e.g. every event at one time) it
    # collapses onto the estimate, so the interval always contains the median
    low_p = np.where(np.isnan(band.low.probabilities), sf.probabilities, band.low.probabilities)
    high_p = np.where(np.isnan(band.high.probabilities), sf.probabilities, band.high.probabilities)
    median = first_at_half(sf.probabilities)
    low = min(first_at_half(low_p), median)
    high = max(first_at_half(high_p), median)
    return (median if math.isfinite(median) else math.nan), low, high


def _survivors_profit(runs: pd.DataFrame) -> pd.DataFrame:
    """``runs`` with `profit_{pre,post}_shift_survivors` (NaN for firms that closed)."""
    out = runs.copy()
    if "survived" in out:
        for copy, column in _SURVIVOR_COPIES.items():
            if column in out:
                out[copy] = out[column].where(out["survived"].astype(bool))
    return out


def format_estimate(mean: float, low: float, high: float, *, percent: bool = False) -> str:
    """ "mean [low, high]" with digits fit to the size of the mean ("n/a" for NaN)."""
    if math.isnan(mean):
        return "n/a"
    if percent:
        if math.isnan(low):
            return f"{100 * mean:.0f}%"
        return f"{100 * mean:.0f}% [{100 * low:.0f}, {100 * high:.0f}]"
    digits = 1 if abs(mean) >= 10 else 2 if abs(mean) >= 1 else 3
    if math.isnan(low):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


_PERCENT = ("survived", "cycled", "recovered", "fell")


def wide_summary(table: pd.DataFrame) -> pd.DataFrame:
    """A long `summary_table` as rows of outcomes (their labels) x columns of strategies."""
    strategies = list(dict.fromkeys(table["strategy"]))
    rows = {}
    for metric, group in table.groupby("metric", sort=False):
        cells = {}
        for r in group.itertuples(index=False):
            text = format_estimate(r.mean, r.ci_low, r.ci_high, percent=metric in _PERCENT)
            if metric == "recovery_time" and math.isnan(r.mean):
                text = "not reached by half" if r.n else "n/a"
            if metric in FELL_METRICS:  # over the firms that fell: say how many
                text += f" (n = {r.n})"
            cells[r.strategy] = text
        rows[group["label"].iloc[0]] = cells
    wide = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=strategies)
    wide.columns = [str(c) for c in wide.columns]
    return wide.fillna("n/a")


def wide_differences(pairs: pd.DataFrame) -> pd.DataFrame:
    """A `pairwise_differences` table as `python -m sim run` prints it: one row per pair
    ("a - b"), one column per outcome, cells "mean [low, high], p = ..." (p Holm-adjusted
    across the pairs)."""

    def p_text(p: float) -> str:
        return "p < 0.001" if p < 0.001 else f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}"

    cells: dict[str, dict[str, str]] = {}
    for r in pairs.itertuples(index=False):
        if r.metric == GAP_SHARE:
            cells.setdefault(GAP_SHARE_LABEL, {})[f"{r.a} - {r.b}"] = (
                f"{100 * r.mean:.0f}% [unbounded]"
                if math.isnan(r.ci_low)
                else format_estimate(r.mean, r.ci_low, r.ci_high, percent=True)
            )
            continue
        estimate = format_estimate(r.mean, r.ci_low, r.ci_high)
        if not math.isnan(r.p_holm):
            estimate += f", {p_text(r.p_holm)}"
        label = {**PAIRED_METRICS, **POPULATION_PAIRED_METRICS}.get(r.metric, r.metric)
        cells.setdefault(label, {})[f"{r.a} - {r.b}"] = estimate
    return pd.DataFrame(cells)
