"""The one experiment path: scenario x strategies x seeds -> per-run and per-period tables.

Every strategy on seed k faces the same landscapes, market and start (common random numbers),
because a `Market` draws all of those from its seed before any firm acts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.metrics import summarize_run
from sim.model import Market
from sim.scenario.checks import check_seeds
from sim.scenario.schema import Scenario

#: The outcomes the summary table reports, with the label printed for each.
SUMMARY_METRICS: dict[str, str] = {
    "efficiency_pre_shift": "efficiency before",
    "efficiency_post_shift": "efficiency after",
    "market_value_pre_shift": "market value before",
    "market_value_post_shift": "market value after",
    "performance_norm_pre_shift": "performance before (share of best)",
    "performance_norm_post_shift": "performance after (share of best)",
    "profit_pre_shift": "profit before",
    "profit_post_shift": "profit after",
    "survived": "survival",
    "cycled": "cycling",
    "recovered": "recovered",
    "recovery_time": "recovery time (periods)",
}


@dataclass
class ExperimentResult:
    """Per-run outcomes (one row per strategy x seed) and, optionally, per-period records."""

    scenario: Scenario
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    runs: pd.DataFrame
    periods: pd.DataFrame | None


def resolve_seeds(scenario: Scenario, seeds: int | Iterable[int] | None) -> tuple[int, ...]:
    """Seeds 0..n-1 for a count (the scenario's `seeds` by default), or the seeds given (a
    `ScenarioError` for anything else, see `sim.scenario.checks.check_seeds`)."""
    return check_seeds(scenario, seeds)


def run_one(
    scenario: Scenario, strategy: str, seed: int, *, periods: bool = True
) -> tuple[dict, pd.DataFrame | None]:
    """One run: a market with one firm following ``strategy``, to the horizon."""
    model = Market(scenario=scenario, strategies=[strategy], rng=seed).run()
    if model.populations:
        return _collect_population(model, model.populations[0], seed, periods=periods)
    return _collect(model, model.firms[0], seed, periods=periods)


def _strategy_columns(scenario: Scenario, name: str, strategy) -> dict:
    return {
        "strategy": name,
        "alpha": float(np.mean(scenario.alpha_of(strategy))),
        "coordination": strategy.coordination,
        "sensing": strategy.sensing,
    }


def _collect_population(
    model: Market, population, seed: int, *, periods: bool
) -> tuple[dict, pd.DataFrame | None]:
    """Per-run outcomes of a population: performance before/after the split, forms, entrants."""
    scenario = model.spec
    table = population.period_table()
    split, window = scenario.split, scenario.metrics.window
    norm = table["performance_norm"]
    row = {
        **_strategy_columns(scenario, population.strategy_name, population.strategy),
        "seed": seed,
        "performance_norm_pre_shift": float(norm[max(1, split - window) : split].mean()),
        "performance_norm_post_shift": float(norm[split:].mean()),
        "final_distinct_forms": int(table["distinct_forms"][-1]),
        "entrants": int(table["entrants"].sum()),
    }
    if not periods:
        return row, None
    frame = pd.DataFrame({"strategy": population.strategy_name, "seed": seed, **table})
    frame["shift"] = model.shift_labels
    return row, frame


def _collect(model: Market, firm, seed: int, *, periods: bool) -> tuple[dict, pd.DataFrame | None]:
    scenario = model.spec
    metrics = scenario.metrics
    row = {
        **_strategy_columns(scenario, firm.strategy_name, firm.strategy),
        "seed": seed,
        **summarize_run(
            firm.log,
            split=scenario.split,
            window=metrics.window,
            cycle_window=metrics.cycle_window,
            recovery_threshold=metrics.recovery_threshold,
        ),
    }
    if not periods:
        return row, None
    cols = firm.log.columns([d.name for d in scenario.departments])
    frame = pd.DataFrame({"strategy": firm.strategy_name, "seed": seed, **cols})
    frame["shift"] = model.shift_labels
    return row, frame


def run_experiment(
    scenario: Scenario,
    *,
    strategies: Sequence[str] | None = None,
    seeds: int | Iterable[int] | None = None,
    periods: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ExperimentResult:
    """Every strategy x seed; ``progress`` is called with 1 after each run."""
    names = tuple(strategies) if strategies else scenario.compared_strategies
    unknown = [s for s in names if s not in scenario.all_strategies]
    if unknown:
        raise KeyError(
            f"unknown strategy {unknown[0]!r}; allowed: {', '.join(scenario.all_strategies)}"
        )
    seed_list = resolve_seeds(scenario, seeds)
    rows, frames = [], []
    for strategy in names:
        for seed in seed_list:
            row, frame = run_one(scenario, strategy, seed, periods=periods)
            rows.append(row)
            if frame is not None:
                frames.append(frame)
            if progress is not None:
                progress(1)
    runs = pd.DataFrame(rows)
    runs["strategy"] = pd.Categorical(runs["strategy"], categories=list(names))
    period_table = None
    if frames:
        period_table = pd.concat(frames, ignore_index=True)
        period_table["strategy"] = pd.Categorical(period_table["strategy"], categories=list(names))
    return ExperimentResult(scenario, names, seed_list, runs, period_table)


def mean_ci(values: pd.Series | np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its ``level`` confidence interval (Student t); NaNs ignored."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (float("nan"),) * 3
    mean = float(x.mean())
    if x.size < 2:
        return mean, float("nan"), float("nan")
    from scipy import stats  # imported here: scipy.stats is slow to import

    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def share_ci(flags: pd.Series | np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Share of True and its Wilson ``level`` confidence interval."""
    x = np.asarray(flags, dtype=bool)
    if x.size == 0:
        return (float("nan"),) * 3
    from scipy import stats

    ci = stats.binomtest(int(x.sum()), int(x.size)).proportion_ci(level, method="wilson")
    return float(x.mean()), float(ci.low), float(ci.high)


def summary_table(runs: pd.DataFrame, level: float = 0.95) -> pd.DataFrame:
    """Per strategy: mean and confidence bounds of each summary metric (long format).

    Means get a Student t interval; shares (survival, cycling) a Wilson interval.
    """
    records = []
    for strategy, group in runs.groupby("strategy", observed=True, sort=False):
        for column, label in SUMMARY_METRICS.items():
            if column not in group:
                continue
            if group[column].dtype == bool:
                mean, low, high = share_ci(group[column], level)
            else:
                mean, low, high = mean_ci(group[column].astype(float), level)
                if column == "recovery_time":  # a duration: the interval stops at 0
                    low = max(low, 0.0)
            records.append(
                {
                    "strategy": strategy,
                    "metric": column,
                    "label": label,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n": int(group[column].notna().sum()),
                }
            )
    return pd.DataFrame(records)
