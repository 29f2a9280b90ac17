"""What alignment buys, ingredient by ingredient: a 2^3 factorial on common random numbers.

Alignment has three ingredients (docs/ODD.md): the coupling ``alpha``, the ``coordination``
mode and market ``sensing``. Each arm of the factorial takes each ingredient either off (the
``base`` strategy's value, by default `efficiency_only`'s) or on (the ``target`` strategy's,
by default `aligned`'s); everything else (exploration: ``p_jump``, ``proposals``, ``search``)
is the target's in every arm.

**Pairing.** All arms run on the same seeds: on seed k they face the same landscapes, market
and start, and every firm draws its own behaviour (long jumps, the sequential order, the
alternatives examined) from one random stream, ``STREAM`` (`sim.experiment.simulate`'s
``stream``). So arms are paired on landscapes *and* behaviour and differ only in the
ingredients. `python -m sim run` pairs strategies on landscapes only: each strategy draws the
stream of its own name (docs/ODD.md section 5.3). So "all three" here and `run`'s target minus
base estimate the same difference with different behaviour draws, and differ by sampling noise.

Effects, per seed, then means over seeds with t intervals (paired by seed):

- main effect of an ingredient: on minus off, averaged over the four settings of the others;
- two-way interaction ``a x b``: what ``a`` adds with ``b`` on minus what it adds with ``b``
  off (a difference in differences), averaged over the third;
- three-way interaction: the ``alpha x coordination`` interaction with sensing on minus with
  sensing off (the same for any order of the three);
- ``alone``: switched on from the arm with all three off; ``added last``: switched on in the
  arm with the other two on;
- all three: the target's ingredients minus the base's (the full comparison).

The main effects and interactions are the full factorial model: every arm is exactly the mean
of the eight arms plus, for each term, its sign in that arm (+ on, - off; an interaction's is
the product of its ingredients') times the term divided by 2^(ingredients in it) (see
`reconstruct`). So "all three" = the three main effects + the three-way interaction / 4.

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

from sim.competition import run_competition
from sim.experiment import resolve_seeds, simulate
from sim.scenario import (
    Scenario,
    UsageError,
    as_scenario,
    check_strategies,
    scenario_to_dict,
    validate_scenario,
)
from sim.scenario.schema import StrategySpec, mean_level
from sim.settings import coordination_cost
from sim.stats import mean_ci, ratio_ci

INGREDIENTS: tuple[str, ...] = ("alpha", "coordination", "sensing")
ON: tuple[str, ...] = tuple(f"{i}_on" for i in INGREDIENTS)  # arm columns: ingredient on?
#: outcome column -> label (net and gross profit, market value, efficiency after the split),
#: each over all firms or survivors (the closed-firm rule, docs/ODD.md section 9.2)
OUTCOMES: dict[str, str] = {
    "profit_pre_shift": "profit before (net, all firms)",
    "profit_post_shift": "profit after (net, all firms)",
    "gross_profit_post_shift": "profit after (gross, all firms)",
    "market_value_post_shift_all": "market value after (all firms)",
    "market_value_post_shift": "market value after (survivors)",
    "efficiency_post_shift": "efficiency after (survivors)",
}
#: Per term: the share of its net profit effect after the split already there before it (the
#: ratio of the mean effects before and after, Fieller's interval; `sim.stats.ratio_ci`).
SHARE_BEFORE = "share_before"
STREAM = "decomposition"
#: What each kind of term is, in the words the output and the docs use.
KINDS: dict[str, str] = {
    "main effect": "main effects: on minus off, averaged over the other two ingredients",
    "two-way interaction": "two-way interactions: what a adds with b on minus with b off, "
    "averaged over the third",
    "three-way interaction": "three-way interaction: alpha x coordination with sensing on minus "
    "with sensing off",
    "alone": "alone: switched on from the arm with all three off",
    "added last": "added last: switched on with the other two on",
    "all three": "all three: the target's ingredients minus the base's",
}
TOTAL = "all three (target - base)"
THREE_WAY = " x ".join(INGREDIENTS)


def signed(x: float) -> str:
    """An effect as printed: 3 significant digits with its sign; exact zeros as 0 (not 1e-16)."""
    return "0" if abs(x) < 1e-9 else f"{x:+.3g}"


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
        text = self.effects.assign(
            value=[
                f"{signed(m)} [{signed(lo)}, {signed(hi)}]"
                for m, lo, hi in zip(
                    self.effects["mean"],
                    self.effects["ci_low"],
                    self.effects["ci_high"],
                    strict=True,
                )
            ]
        )
        share = self.effects["outcome"] == SHARE_BEFORE
        after = self.effects[self.effects["outcome"] == "profit_post_shift"].set_index("term")
        text.loc[share, "value"] = [
            _share_text(m, lo, hi, after.loc[term, "ci_low"], after.loc[term, "ci_high"])
            for term, m, lo, hi in zip(
                self.effects.loc[share, "term"],
                self.effects.loc[share, "mean"],
                self.effects.loc[share, "ci_low"],
                self.effects.loc[share, "ci_high"],
                strict=True,
            )
        ]
        wide = text.pivot(index="term", columns="outcome", values="value")
        columns = [*OUTCOMES, SHARE_BEFORE] if share.any() else list(OUTCOMES)
        return wide.loc[list(dict.fromkeys(self.effects["term"])), columns]

    def text(self) -> str:
        """`table` with a heading line before each kind of term (what the command prints)."""
        wide = self.table()
        lines = wide.to_string().splitlines()
        kinds = self.effects.drop_duplicates("term").set_index("term")["kind"]
        head = len(lines) - len(wide)  # the header's lines
        out, previous = lines[:head], None
        for term, line in zip(wide.index, lines[head:], strict=True):
            if kinds[term] != previous:
                previous = kinds[term]
                out.append(f"-- {KINDS[previous]}")
            out.append(line)
        return "\n".join(out)


def arm_strategies(
    scenario: Scenario, base: str, target: str
) -> tuple[dict[str, StrategySpec], pd.DataFrame]:
    """The eight arms' strategies by arm name, and a table of what each arm is."""
    off, on = scenario.strategy(base), scenario.strategy(target)  # `UnknownStrategy` if not
    arms, rows = {}, []
    for flags in itertools.product((False, True), repeat=len(INGREDIENTS)):
        values = {
            i: getattr(on if flag else off, i) for i, flag in zip(INGREDIENTS, flags, strict=True)
        }
        spec = on.model_copy(update={**values, "description": f"arm {arm_name(flags)}"})
        name = arm_name(flags)
        arms[name] = spec
        alphas = scenario.alpha_of(spec)
        rows.append(
            {
                "arm": name,
                **{f"{i}_on": flag for i, flag in zip(INGREDIENTS, flags, strict=True)},
                "mean_alpha": float(np.mean(alphas)),
                "coordination_mode": spec.coordination,
                "sensing_rate": mean_level(spec.sensing),
                "cost_per_period": coordination_cost(spec, scenario.costs, alphas),
            }
        )
    return arms, pd.DataFrame(rows)


def arms_scenario(scenario: Scenario, base: str, target: str) -> tuple[Scenario, pd.DataFrame]:
    """The scenario with the eight arms as its strategies, and a table of what each arm is."""
    arms, table = arm_strategies(scenario, base, target)
    data = scenario_to_dict(scenario)
    data["strategies"] = {name: spec.model_dump(mode="json") for name, spec in arms.items()}
    return validate_scenario(data, source=f"{scenario.name} (decomposition arms)"), table


def check_decomposition(
    scenario: Scenario, *, seeds: int | Iterable[int] | None, base: str, target: str
) -> tuple[int, ...]:
    """The seeds of a decomposition, after checking what it asks (before anything runs): two
    different strategies of the scenario, at least two seeds, single firms (a population's runs
    have no profit to decompose); a `UsageError` naming the argument otherwise."""
    where = f"scenario {scenario.name}"
    for argument, name in (("base", base), ("target", target)):
        check_strategies(scenario, [name], field=argument)
    if base == target:
        raise UsageError(
            "target", f"the same strategy as base ({base!r}); name two different ones", target
        )
    competition = scenario.competition
    if competition is not None and competition.firms.get(target, 0) < 1:
        raise UsageError(
            "target",
            "in a market of competing firms the arms replace the first incumbent of the target "
            f"strategy; competition.firms has none of {target!r} (incumbents: "
            f"{', '.join(n for n, c in competition.firms.items() if c) or 'none'})",
            target,
            where,
        )
    firms = scenario.population.firms
    if firms > 1:
        raise UsageError(
            "scenario",
            f"population.firms = {firms}: a decomposition compares single firms' profit, which a "
            "population's runs do not have; set population.firms = 1",
            firms,
            where,
        )
    seed_list = resolve_seeds(scenario, seeds)
    if len(seed_list) < 2:
        raise UsageError("seeds", "at least 2 seeds (intervals need them)", seeds, where)
    return seed_list


def pairing(scenario: Scenario, base: str, target: str) -> str:
    """How a decomposition's arms are paired, in the words `python -m sim decompose` prints."""
    if scenario.competition is not None:
        return (
            f"paired: a market of competing firms; in each arm the first incumbent of {target} "
            "(the focal firm) takes the arm's ingredients and the rest of the market's mix is "
            "unchanged; on seed k all 8 arms face the same landscapes, market, start and "
            f"rivals' strategies, and the focal firm draws {target}'s behaviour stream; the "
            "outcomes are the focal firm's (its rivals respond to it through shared customers)"
        )
    return (
        "paired: on seed k all 8 arms face the same landscapes, market and start and draw one "
        "behaviour stream (long jumps, orders), so they differ only in the ingredients; `run` "
        f"draws each strategy's behaviour from its own stream, so its {target} - {base} differs "
        "from 'all three' by sampling noise (and by anything else the two strategies differ in)"
    )


def _share_text(mean: float, low: float, high: float, after_low: float, after_high: float) -> str:
    """A share of an effect there before the split, as printed: only where the effect after
    the split is clearly away from 0 (else a ratio says nothing)."""
    if after_low <= 0 <= after_high:
        return "n/a (effect after ~0)"
    if np.isnan(low):
        return f"{100 * mean:.0f}% [unbounded]"
    return f"{100 * mean:.0f}% [{100 * low:.0f}, {100 * high:.0f}]"


def decompose(
    scenario: Scenario | str,
    *,
    seeds: int | Iterable[int] | None = 200,
    base: str = "efficiency_only",
    target: str = "aligned",
) -> Decomposition:
    """Run the eight arms on common random numbers and estimate each ingredient's effect
    (``scenario`` may be a scenario's name or file); what it asks is checked first
    (`check_decomposition`)."""
    scenario = as_scenario(scenario)
    seed_list = check_decomposition(scenario, seeds=seeds, base=base, target=target)
    if scenario.competition is not None:
        runs, arms = _focal_runs(scenario, base, target, seed_list)
    else:
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


def _focal_runs(
    scenario: Scenario, base: str, target: str, seeds: tuple[int, ...]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A market of competing firms: in each arm the first incumbent of ``target`` (the focal
    firm) follows the arm's ingredients, the rest of the mix is unchanged; one row per arm and
    seed, the focal firm's outcomes. Its behaviour stream is the target's in every arm."""
    arms, table = arm_strategies(scenario, base, target)
    frames = []
    for name, spec in arms.items():
        firms = run_competition(scenario, seeds=seeds, periods=False, focal=(target, spec)).runs
        focal = firms[(firms["strategy"] == target) & (firms["firm"] == 0) & ~firms["entrant"]]
        frames.append(focal.assign(arm=name).drop(columns=["strategy"]))
    return pd.concat(frames, ignore_index=True), table


def _arm(table: pd.DataFrame, **on: bool) -> np.ndarray:
    """The outcome of the arm with these ingredients on, one value per seed."""
    return table[tuple(on[i] for i in INGREDIENTS)].to_numpy(dtype=float)


def _adds(table: pd.DataFrame, ingredient: str, **others: bool) -> np.ndarray:
    """What switching ``ingredient`` on adds, with the other ingredients as given, per seed."""
    return _arm(table, **{ingredient: True, **others}) - _arm(
        table, **{ingredient: False, **others}
    )


def _terms(table: pd.DataFrame) -> dict[str, tuple[str, np.ndarray]]:
    """Per seed: every term of the factorial (main effects, two- and three-way interactions),
    the simple effects (alone, added last) and the full comparison, with its kind."""
    terms: dict[str, tuple[str, np.ndarray]] = {}
    for ingredient in INGREDIENTS:
        a, b = (i for i in INGREDIENTS if i != ingredient)
        settings = itertools.product((False, True), repeat=2)
        terms[ingredient] = (
            "main effect",
            np.mean([_adds(table, ingredient, **{a: x, b: y}) for x, y in settings], axis=0),
        )
    for first, second in itertools.combinations(INGREDIENTS, 2):
        (third,) = (i for i in INGREDIENTS if i not in (first, second))
        terms[f"{first} x {second}"] = (
            "two-way interaction",
            np.mean(
                [_did(table, first, second, **{third: flag}) for flag in (False, True)], axis=0
            ),
        )
    first, second, third = INGREDIENTS
    terms[THREE_WAY] = (
        "three-way interaction",
        _did(table, first, second, **{third: True}) - _did(table, first, second, **{third: False}),
    )
    for ingredient in INGREDIENTS:
        others = [i for i in INGREDIENTS if i != ingredient]
        terms[f"{ingredient} alone"] = (
            "alone",
            _adds(table, ingredient, **dict.fromkeys(others, False)),
        )
    for ingredient in INGREDIENTS:
        others = [i for i in INGREDIENTS if i != ingredient]
        terms[f"{ingredient} added last"] = (
            "added last",
            _adds(table, ingredient, **dict.fromkeys(others, True)),
        )
    everything = dict.fromkeys(INGREDIENTS, True)
    nothing = dict.fromkeys(INGREDIENTS, False)
    terms[TOTAL] = ("all three", _arm(table, **everything) - _arm(table, **nothing))
    return terms


def _did(table: pd.DataFrame, first: str, second: str, **third: bool) -> np.ndarray:
    """What ``first`` adds with ``second`` on minus with it off, the third as given, per seed."""
    return _adds(table, first, **{second: True, **third}) - _adds(
        table, first, **{second: False, **third}
    )


def factorial_terms() -> list[tuple[str, tuple[str, ...]]]:
    """The terms of the full factorial model, each with its ingredients: the three main
    effects, the three two-way interactions and the three-way interaction."""
    return [
        (" x ".join(group), group)
        for size in range(1, len(INGREDIENTS) + 1)
        for group in itertools.combinations(INGREDIENTS, size)
    ]


def reconstruct(terms: dict[str, float], grand_mean: float) -> dict[str, float]:
    """Each arm's outcome from the factorial terms: the mean of the eight arms plus, per term,
    its sign in the arm (the product of +1 for each of its ingredients on, -1 off) times the
    term / 2^(its ingredients). Exact for the terms `decompose` estimates (the identity)."""
    values = {}
    for flags in itertools.product((False, True), repeat=len(INGREDIENTS)):
        on = dict(zip(INGREDIENTS, flags, strict=True))
        value = grand_mean
        for name, group in factorial_terms():
            sign = np.prod([1 if on[i] else -1 for i in group])
            value += sign * terms[name] / 2 ** len(group)
        values[arm_name(flags)] = float(value)
    return values


def _effects(runs: pd.DataFrame, seeds: tuple[int, ...]) -> pd.DataFrame:
    """Per outcome and term: mean over seeds of the per-seed effect, 95% t interval, n (the
    seeds with a value in every arm)."""
    records = []
    for outcome, label in OUTCOMES.items():
        table = runs.pivot_table(index="seed", columns=list(ON), values=outcome)
        # seeds with all eight arms (a firm closed before the split has no market value
        # after it): every term over the same seeds, so the factorial identity is exact
        complete = table.reindex(list(seeds)).dropna()
        for term, (kind, values) in _terms(complete).items():
            mean, low, high = mean_ci(values)
            records.append(
                {
                    "outcome": outcome,
                    "label": label,
                    "kind": kind,
                    "term": term,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "n": int(np.isfinite(values).sum()),
                }
            )
    before = runs.pivot_table(index="seed", columns=list(ON), values="profit_pre_shift")
    after = runs.pivot_table(index="seed", columns=list(ON), values="profit_post_shift")
    complete = before.reindex(list(seeds)).dropna().index.intersection(after.dropna().index)
    pre_terms, post_terms = _terms(before.loc[complete]), _terms(after.loc[complete])
    for term, (kind, values) in post_terms.items():
        share, low, high = ratio_ci(pre_terms[term][1], values)
        records.append(
            {"outcome": SHARE_BEFORE, "label": "share of the net effect after there before",
             "kind": kind, "term": term, "mean": share, "ci_low": low, "ci_high": high,
             "n": int(complete.size)}
        )  # fmt: skip
    return pd.DataFrame(records)
