"""What alignment buys, ingredient by ingredient: a 2^3 factorial on common random numbers.

Alignment has three ingredients (docs/ODD.md): the coupling ``alpha``, the ``coordination``
mode and market ``sensing``. Each arm of the factorial takes each ingredient either off (the
``base`` strategy's value, by default `efficiency_only`'s) or on (the ``target`` strategy's,
by default `aligned`'s); everything else (exploration: ``p_jump``, ``proposals``, ``search``)
is the target's in every arm. All arms run on the same seeds, and every firm draws from one
random stream (`sim.experiment.simulate`'s ``stream``), so arms differ only in the
ingredients. Effects are paired by seed:

- main effect of an ingredient: on minus off, averaged over the four settings of the others;
- interaction of two: what the first adds when the second is on minus what it adds when the
  second is off, averaged over the third ("difference in differences");
- all three: the target's ingredients minus the base's (the full comparison).

Profit is reported **net** (as earned, after coordination costs) and **gross** (costs added
back for the periods the firm was open), so a referee sees both what alignment is worth and
whether it pays for itself.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.agents import coordination_cost
from sim.experiment import resolve_seeds, simulate
from sim.scenario import Scenario, scenario_to_dict, validate_scenario
from sim.stats import mean_ci

INGREDIENTS: tuple[str, ...] = ("alpha", "coordination", "sensing")
ON: tuple[str, ...] = tuple(f"{i}_on" for i in INGREDIENTS)  # arm columns: ingredient on?
#: outcome column -> label (net and gross profit, market value, efficiency after the split),
#: each over all firms or survivors (the closed-firm rule, docs/ODD.md section 9.2)
OUTCOMES: dict[str, str] = {
    "profit_post_shift": "profit after (net, all firms)",
    "gross_profit_post_shift": "profit after (gross, all firms)",
    "market_value_post_shift_all": "market value after (all firms)",
    "market_value_post_shift": "market value after (survivors)",
    "efficiency_post_shift": "efficiency after (survivors)",
}
STREAM = "decomposition"


def arm_name(on: tuple[bool, ...]) -> str:
    """``alpha_sensing``-style name of the arm with these ingredients on (``none``: all off)."""
    names = [i for i, flag in zip(INGREDIENTS, on, strict=True) if flag]
    return "_".join(names) if names else "none"


@dataclass
class Decomposition:
    """The arms, their runs (one row per arm x seed) and the effects table."""

    scenario: Scenario
    base: str
    target: str
    seeds: tuple[int, ...]
    arms: pd.DataFrame
    runs: pd.DataFrame
    effects: pd.DataFrame

    def __repr__(self) -> str:
        return (
            f"Decomposition({self.scenario.name!r}: {self.base} -> {self.target}, "
            f"{len(self.arms)} arms x {len(self.seeds)} seeds)"
        )

    def table(self) -> pd.DataFrame:
        """Effects as text, one row per term, one column per outcome: 'mean [low, high]'."""
        def number(x: float) -> str:
            return "0" if abs(x) < 1e-9 else f"{x:+.3g}"  # exact zeros print as 0, not 1e-16

        text = self.effects.assign(
            value=[
                f"{number(m)} [{number(lo)}, {number(hi)}]"
                for m, lo, hi in zip(
                    self.effects["mean"],
                    self.effects["ci_low"],
                    self.effects["ci_high"],
                    strict=True,
                )
            ]
        )
        wide = text.pivot(index="term", columns="outcome", values="value")
        return wide.loc[list(dict.fromkeys(self.effects["term"])), list(OUTCOMES)]


def arms_scenario(scenario: Scenario, base: str, target: str) -> tuple[Scenario, pd.DataFrame]:
    """The scenario with the eight arms as its strategies, and a table of what each arm is."""
    off, on = scenario.strategy(base), scenario.strategy(target)  # `UnknownStrategy` if not
    data = scenario_to_dict(scenario)
    arms, rows = {}, []
    for flags in itertools.product((False, True), repeat=len(INGREDIENTS)):
        values = {
            i: getattr(on if flag else off, i) for i, flag in zip(INGREDIENTS, flags, strict=True)
        }
        spec = on.model_copy(update={**values, "description": f"arm {arm_name(flags)}"})
        name = arm_name(flags)
        arms[name] = spec.model_dump(mode="json")
        alphas = scenario.alpha_of(spec)
        rows.append(
            {
                "arm": name,
                **{f"{i}_on": flag for i, flag in zip(INGREDIENTS, flags, strict=True)},
                "mean_alpha": float(np.mean(alphas)),
                "coordination_mode": spec.coordination,
                "sensing_rate": spec.sensing,
                "cost_per_period": coordination_cost(spec, scenario.costs, alphas),
            }
        )
    data["strategies"] = arms
    return validate_scenario(data, source=f"{scenario.name} (decomposition arms)"), pd.DataFrame(
        rows
    )


def decompose(
    scenario: Scenario,
    *,
    seeds: int | Iterable[int] | None = 200,
    base: str = "efficiency_only",
    target: str = "aligned",
) -> Decomposition:
    """Run the eight arms on common random numbers and estimate each ingredient's effect."""
    seed_list = resolve_seeds(scenario, seeds)
    if not seed_list:
        raise ValueError("seeds: at least 2 are needed for intervals")
    arms_sc, arms = arms_scenario(scenario, base, target)
    names = list(arms["arm"])
    result = simulate(
        [(arms_sc, name, seed) for name in names for seed in seed_list],
        periods=False,
        stream=STREAM,
    )
    runs = pd.DataFrame(result.rows).rename(columns={"strategy": "arm"})
    runs = runs.merge(arms[["arm", *ON, "cost_per_period"]], on="arm")
    split, horizon = scenario.split, scenario.horizon
    length = horizon - split + 1
    open_after = np.where(
        runs["exit_period"] < 0, length, np.clip(runs["exit_period"] - split + 1, 0, length)
    )
    runs["gross_profit_post_shift"] = (
        runs["profit_post_shift"] + runs["cost_per_period"] * open_after / length
    )
    effects = _effects(runs, seed_list)
    return Decomposition(scenario, base, target, seed_list, arms, runs, effects)


def _arm(table: pd.DataFrame, **on: bool) -> np.ndarray:
    """The outcome of the arm with these ingredients on, one value per seed."""
    return table[tuple(on[i] for i in INGREDIENTS)].to_numpy(dtype=float)


def _adds(table: pd.DataFrame, ingredient: str, **others: bool) -> np.ndarray:
    """What switching ``ingredient`` on adds, with the other ingredients as given, per seed."""
    return _arm(table, **{ingredient: True, **others}) - _arm(
        table, **{ingredient: False, **others}
    )


def _terms(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """Per-seed main effects, two-way interactions and the full comparison."""
    terms: dict[str, np.ndarray] = {}
    for ingredient in INGREDIENTS:
        a, b = (i for i in INGREDIENTS if i != ingredient)
        settings = itertools.product((False, True), repeat=2)
        terms[ingredient] = np.mean(
            [_adds(table, ingredient, **{a: x, b: y}) for x, y in settings], axis=0
        )
    for first, second in itertools.combinations(INGREDIENTS, 2):
        (third,) = (i for i in INGREDIENTS if i not in (first, second))
        terms[f"{first} x {second}"] = np.mean(
            [
                _adds(table, first, **{second: True, third: flag})
                - _adds(table, first, **{second: False, third: flag})
                for flag in (False, True)
            ],
            axis=0,
        )
    everything = dict.fromkeys(INGREDIENTS, True)
    nothing = dict.fromkeys(INGREDIENTS, False)
    terms["all three (target - base)"] = _arm(table, **everything) - _arm(table, **nothing)
    return terms


def _effects(runs: pd.DataFrame, seeds: tuple[int, ...]) -> pd.DataFrame:
    """Per outcome and term: mean over seeds of the per-seed effect, 95% t interval, n."""
    records = []
    for outcome, label in OUTCOMES.items():
        table = runs.pivot_table(index="seed", columns=list(ON), values=outcome)
        for term, values in _terms(table.reindex(list(seeds))).items():
            mean, low, high = mean_ci(values)
            records.append(
                {
                    "outcome": outcome,
                    "label": label,
                    "term": term,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n": int(np.isfinite(values).sum()),
                }
            )
    return pd.DataFrame(records)
