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


class TooFewValuesWarning(UserWarning):
    """An interval asked of fewer than two values (e.g. one seed): it is NaN."""


def check_level(level: float, name: str = "level") -> float:
    """``level`` if it is a confidence level strictly between 0 and 1, else a `ValueError`
    naming the argument."""
    try:
        value = float(level)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name}: a confidence level between 0 and 1 (e.g. 0.95), got {level!r}"
        ) from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name}: a confidence level between 0 and 1 (e.g. 0.95), got {level!r}")
    return value


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
    # with `[resources]` only (docs/ODD.md 7.22): each firm's share of its periods in business
    "budget_binds_share": "budget binds, share of periods open from 1 (all firms)",
    "budget_binds_share_post_shift": "budget binds, share of periods open from the split (all "
    "firms)",
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


#: Runs-table outcomes over the surviving firms only (firms open at the horizon): NaN (NA for
#: `cycled`) in the runs of a firm that closed (docs/ODD.md section 9.2, "Closed firms").
SURVIVOR_METRICS: frozenset[str] = frozenset(
    {
        "efficiency_pre_shift",
        "efficiency_post_shift",
        "market_value_pre_shift",
        "market_value_post_shift",
        "market_value_change",
        "performance_norm_pre_shift",
        "performance_norm_post_shift",
        "profit_pre_shift_survivors",
        "profit_post_shift_survivors",
        "profit_change_survivors",
        "cycled",
    }
)
#: Runs-table outcomes over all firms: a closed firm counts with profit 0, market value 0 and
#: no cycling, moves or recovery from the period after it closed.
ALL_FIRMS_METRICS: frozenset[str] = frozenset(
    {
        "market_value_pre_shift_all",
        "market_value_post_shift_all",
        "market_value_change_all",
        "profit_pre_shift",
        "profit_post_shift",
        "profit_change",
        "survived",
        "cycled_all",
        "periods_cycling",
        "revisits",
        "miles_sailed",
        "fell",
    }
)
#: All-firms outcomes a runs table has only with a mechanism on (`[resources]`, docs/ODD.md
#: 7.22: each firm's share of its periods in business in which the budget bound).
OPTIONAL_ALL_FIRMS_METRICS: frozenset[str] = frozenset(
    {"budget_binds_share", "budget_binds_share_post_shift"}
)
_SURVIVOR_COPIES = {
    "profit_pre_shift_survivors": "profit_pre_shift",
    "profit_post_shift_survivors": "profit_post_shift",
    "profit_change_survivors": "profit_change",
}
_UNIT_INTERVAL = (
    "efficiency",
    "market_value",
    "performance_norm",
    "survived",
    "cycled",
    "budget_binds",
)


def bounds_of(metric: str) -> tuple[float, float]:
    """The range a run's outcome ``metric`` can take (efficiency, market value, shares: [0, 1];
    durations and counts: [0, inf)); unbounded otherwise (profit, cash). A change (after minus
    before, ``*_change*``) lies in [low - high, high - low] of its outcome."""
    if "_change" in metric:
        return difference_bounds(metric.replace("_change", "_post_shift"))
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

    level = check_level(level)
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

    z = stats.norm.ppf(0.5 + check_level(level) / 2)
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
    check_level(level)
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
    check_level(level)
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
    """A paired difference a - b of one outcome (`paired_difference`).

    Attributes: ``metric`` and the two strategies ``a`` and ``b``; ``mean``, ``ci_low`` and
    ``ci_high`` (the ``level`` interval, NaN with fewer than 2 pairs); ``n``, the pairs used
    (seeds where both have a value); ``unpaired``, the seeds left out because one of the two has
    no value (an outcome over survivors has none for a firm that closed, docs/ODD.md section
    9.2); ``p_value``, the two-sided p-value of no difference; with a ``margin``, the
    equivalence (TOST) p-value ``p_equivalence``; ``population``, over which firms the
    outcome is taken ("all firms", "survivors", or "" if the outcome is not one of
    `SUMMARY_METRICS`' or their changes).
    """

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
    unpaired: int = 0
    population: str = ""

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
        over = f" ({self.population})" if self.population else ""
        text = (
            f"{self.metric}{over}, {self.a} - {self.b}: {self.mean:.4g} "
            f"[{self.ci_low:.4g}, {self.ci_high:.4g}] (n = {self.n} pairs"
        )
        if self.unpaired:
            text += f"; {self.unpaired} seeds left out, without a value for both" + (
                ": a firm closed" if self.population == "survivors" else ""
            )
        text += ")"
        if self.margin is not None:
            text += f"; equivalence within +/-{self.margin:g}: p = {self.p_equivalence:.3g}"
        return text


def population_of(metric: str) -> str:
    """Over which firms a runs-table outcome is taken under the closed-firm rule (docs/ODD.md
    section 9.2): "survivors" (firms open at the horizon; NaN for a firm that closed), "all
    firms" (a closed firm counts with 0), "firms that fell" (recovery, docs/ODD.md 7.13), or ""
    for columns the rule does not concern."""
    if metric in SURVIVOR_METRICS:
        return "survivors"
    if metric in FELL_METRICS:
        return "firms that fell"
    if metric in ALL_FIRMS_METRICS or metric in OPTIONAL_ALL_FIRMS_METRICS:
        return "all firms"
    return ""


def _paired(
    runs: pd.DataFrame, metric: str, a: str, b: str, on: Sequence[str]
) -> tuple[pd.Series, int]:
    """The per-``on`` differences with a value for both, and how many had none for one."""
    keys = list(on)
    for name in (a, b):
        if name not in set(runs["strategy"].astype(str)):
            allowed = ", ".join(map(str, pd.unique(runs["strategy"].astype(str))))
            raise KeyError(f"strategy {name!r} is not in the runs; allowed: {allowed}")
    if metric not in runs:
        raise KeyError(f"{metric!r} is not a column of the runs table")
    frame = runs.assign(strategy=runs["strategy"].astype(str))
    frame = frame.assign(**{metric: frame[metric].astype(float)})
    wide = frame[frame["strategy"].isin([a, b])].pivot_table(
        index=keys, columns="strategy", values=metric, aggfunc="first", dropna=False
    )
    diff = wide[a] - wide[b]
    kept = diff.dropna()
    return kept.rename(f"{metric}: {a} - {b}"), int(diff.size - kept.size)


def paired_values(
    runs: pd.DataFrame, metric: str, a: str, b: str, *, on: Sequence[str] = ("seed",)
) -> pd.Series:
    """Per seed (per ``on``): ``metric`` of strategy ``a`` minus that of ``b``; pairs with a
    missing value are dropped (`paired_difference` counts them in ``unpaired``)."""
    return _paired(runs, metric, a, b, on)[0]


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
    numbers), with its ``level`` interval (0 < level < 1, else a `ValueError`) and n; with
    ``margin``, also the TOST p-value that the difference lies within +/- margin.

    Seeds where one of the two has no value are left out and counted in ``unpaired``: for an
    outcome over survivors (`population_of`), the seeds where either firm closed. To compare
    all firms, pick the all-firms column (``market_value_post_shift_all``, ``profit_*``).
    With fewer than two pairs the interval and p-values are NaN and a `TooFewValuesWarning`
    says so.
    """
    level = check_level(level)
    kept, unpaired = _paired(runs, metric, a, b, on)
    diff = kept.to_numpy()
    if diff.size < 2:
        warnings.warn(
            f"paired_difference({metric!r}): {diff.size} pair(s) of runs; an interval needs "
            "at least 2 (more seeds), so it is NaN",
            TooFewValuesWarning,
            stacklevel=2,
        )
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
        unpaired=unpaired,
        population=population_of(metric),
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
    """TOST of a sample's mean (e.g. paired differences) against +/- ``margin`` at level
    ``alpha`` (0 < alpha < 0.5)."""
    if not 0.0 < float(alpha) < 0.5:
        raise ValueError(
            f"alpha: a significance level between 0 and 0.5 (e.g. 0.05), got {alpha!r}"
        )
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
    """``runs`` under the closed-firm rule (docs/ODD.md section 9.2), also for a runs table
    written before the runs table carried it (0.1.0 folders): a firm closed (cash below zero)
    earns 0 and has market value 0 from the next period on.

    Adds what is missing of `market_value_{pre,post}_shift_all` (the per-run mean counting a
    closed firm's periods as 0: there, the mean over the periods open times the share of the
    window the firm was open) and `profit_{pre,post}_shift_survivors` (NaN for the runs whose
    firm closed); columns already there are kept.
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
        if column not in out or f"{column}_all" in out:
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
    check_level(level)
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
            elif column in _PERCENT or pd.api.types.is_bool_dtype(rows[column]):
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

    check_level(level)
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
    with warnings.catch_warnings():  # an undefined band is handled below: no warning to show
        warnings.filterwarnings(
            "ignore", message="The confidence interval is undefined", category=RuntimeWarning
        )
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
            if column in out and copy not in out:
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


_PERCENT = ("survived", "cycled", "cycled_all", "recovered", "fell")


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


def pareto_table(
    runs: pd.DataFrame,
    *,
    profit: str = "profit_post_shift",
    impact: str = "impact_post_shift",
    level: float = LEVEL,
) -> pd.DataFrame:
    """Profit against impact (`[purpose]`): per strategy, in the order of the runs, the mean
    over seeds of ``profit`` and of ``impact`` with their ``level`` intervals, the seeds, and
    ``non_dominated``: True unless another strategy's means are at least as good on both
    (profit as high, impact as low) and better on one. Means decide dominance; the intervals
    say how sure it is."""
    rows = []
    for strategy, group in runs.groupby("strategy", sort=False):
        p, p_low, p_high = mean_ci(group[profit], level)
        i, i_low, i_high = mean_ci(group[impact], level)
        rows.append(
            {
                "strategy": strategy,
                "profit": p,
                "profit_low": p_low,
                "profit_high": p_high,
                "impact": i,
                "impact_low": i_low,
                "impact_high": i_high,
                "n": int(group[profit].notna().sum()),
            }
        )
    table = pd.DataFrame(rows)
    p, i = table["profit"].to_numpy(), table["impact"].to_numpy()
    better = (p[None, :] >= p[:, None]) & (i[None, :] <= i[:, None])
    strictly = (p[None, :] > p[:, None]) | (i[None, :] < i[:, None])
    table["non_dominated"] = ~(better & strictly).any(axis=1)
    return table
