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
from sim.scenario.schema import Scenario


@dataclass(repr=False)
class ExperimentResult:
    """What `run_experiment` returns: the scenario as run, the strategies and seeds, per-run
    outcomes (`runs`, one row per strategy x seed, docs/ODD.md section 9.2) and, optionally,
    per-period records (`periods`, one row per run per period, section 9.1).

    `sim.stats.summary_table(result, wide=True)` gives the table `python -m sim run` prints.
    """

    scenario: Scenario
    strategies: tuple[str, ...]
    seeds: tuple[int, ...]
    runs: pd.DataFrame
    periods: pd.DataFrame | None

    def __repr__(self) -> str:
        from sim.display import result_repr

        return result_repr(self)

    def _repr_html_(self) -> str:
        from sim.display import result_html

        return result_html(self)


def resolve_seeds(scenario: Scenario, seeds: int | Iterable[int] | None) -> tuple[int, ...]:
    """Seeds 0..n-1 for a count (the scenario's `seeds` by default), or the seeds given."""
    if seeds is None:
        seeds = scenario.seeds
    if isinstance(seeds, int):
        return tuple(range(seeds))
    return tuple(int(s) for s in seeds)


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
