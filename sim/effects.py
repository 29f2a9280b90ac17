"""Designed effects: changes of efficiency and market value that a scenario states in business
terms (`[[effects]]`), added to the random landscapes when a market is built (plain numpy).

An effect holds in a configuration when every decision in its ``when`` has the value given and
no decision in its ``unless`` has. Efficiency effects change the table of department
efficiencies, market-value effects a regime's preference fit, once per market: the engine reads
the tables as before, so effects cost nothing per period, and a scenario without effects gets
exactly the numbers it had before. (docs/ODD.md, section 7.17.)
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

import numpy as np

from sim.landscape import configurations
from sim.scenario.schema import EffectSpec, Scenario, effect_decision

#: One effect, resolved: (mask and bits of `when`, (decision, value) pairs of `unless`,
#: (column, amount) pairs of what it changes).
_Term = tuple[int, int, tuple[tuple[int, int], ...], tuple[tuple[int, float], ...]]


def _conditions(effect: EffectSpec, scenario: Scenario) -> tuple[int, int, tuple]:
    mask = bits = 0
    for key, value in effect.when.items():
        i = effect_decision(scenario, key)
        mask |= 1 << i
        bits |= value << i
    unless = tuple((effect_decision(scenario, k), v) for k, v in effect.unless.items())
    return mask, bits, unless


def _holds(configs: np.ndarray, mask: int, bits: int, unless: tuple) -> np.ndarray:
    on = (configs & mask) == bits
    for i, value in unless:
        on &= ((configs >> i) & 1) != value
    return on


def holds(effect: EffectSpec, scenario: Scenario, configs: np.ndarray | None = None) -> np.ndarray:
    """Whether ``effect`` holds in each configuration (default: all 2**N), as booleans."""
    if configs is None:
        configs = configurations(len(scenario.decisions))
    return _holds(np.asarray(configs, dtype=np.int64), *_conditions(effect, scenario))


@lru_cache(maxsize=4)  # every market of a scenario adds the same table (few: 2**N rows each)
def _table(n: int, width: int, terms: tuple[_Term, ...]) -> np.ndarray:
    """The sum of the terms' amounts where each holds, shape (2**n, width) (read-only)."""
    configs = configurations(n)
    table = np.zeros((configs.size, width))
    for mask, bits, unless, amounts in terms:
        on = _holds(configs, mask, bits, unless)
        for column, amount in amounts:
            table[:, column] += np.where(on, amount, 0.0)
    table.flags.writeable = False
    return table


def efficiency_change(scenario: Scenario) -> np.ndarray | None:
    """The sum of the efficiency effects that hold, per configuration and department, shape
    (2**N, D); None when the scenario has none."""
    index = {d.name: k for k, d in enumerate(scenario.departments)}
    terms = tuple(
        (*_conditions(e, scenario), tuple((index[d], a) for d, a in e.efficiency.items()))
        for e in scenario.effects
        if e.efficiency
    )
    if not terms:
        return None
    return _table(len(scenario.decisions), len(index), terms)


def with_efficiency_effects(scenario: Scenario, department_efficiency: np.ndarray) -> np.ndarray:
    """Department efficiencies (2**N, D) plus the effects that hold, kept within [0, 1]; the
    table itself when the scenario has no efficiency effects."""
    change = efficiency_change(scenario)
    if change is None:
        return department_efficiency
    return np.clip(department_efficiency + change, 0.0, 1.0)


def efficiency_change_by_regime(scenario: Scenario) -> np.ndarray | None:
    """The sum of the regime-dependent efficiency changes (`efficiency_by_regime`) that hold,
    per regime (in the market's order), configuration and department, shape (R, 2**N, D);
    None when no effect has one."""
    index = {d.name: k for k, d in enumerate(scenario.departments)}
    regimes = [r.name for r in scenario.market.regimes]
    width = len(index)
    terms = tuple(
        (
            *_conditions(e, scenario),
            tuple(
                (regimes.index(r) * width + index[d], a)
                for r, table in e.efficiency_by_regime.items()
                for d, a in table.items()
            ),
        )
        for e in scenario.effects
        if e.efficiency_by_regime
    )
    if not terms:
        return None
    table = _table(len(scenario.decisions), len(regimes) * width, terms)
    return np.ascontiguousarray(table.reshape(-1, len(regimes), width).transpose(1, 0, 2))


def regime_efficiency(
    base: np.ndarray, by_regime: np.ndarray, weights: Mapping[str, float], regimes: list[str]
) -> np.ndarray:
    """Department efficiencies (2**N, D) now: ``base`` (the NK tables plus the effects that do
    not depend on the regime, unclipped) plus each regime's changes ``by_regime`` (R, 2**N, D)
    times its weight in customers' preferences now, kept within [0, 1]."""
    out = base.copy()
    for name, weight in weights.items():
        out += weight * by_regime[regimes.index(name)]
    return np.clip(out, 0.0, 1.0)


def market_value_change(scenario: Scenario) -> dict[str, np.ndarray]:
    """The sum of the market-value effects that hold, per configuration, for each regime some
    effect names (in market value: a regime's preference fit changes by this / (1 - rho))."""
    regimes = [r.name for r in scenario.market.regimes]
    terms = tuple(
        (*_conditions(e, scenario), tuple((regimes.index(r), a) for r, a in e.market_value.items()))
        for e in scenario.effects
        if e.market_value
    )
    if not terms:
        return {}
    table = _table(len(scenario.decisions), len(regimes), terms)
    named = {column for *_, amounts in terms for column, _ in amounts}
    return {regimes[k]: table[:, k] for k in sorted(named)}


def with_market_value_effects(
    scenario: Scenario, regimes: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each regime's preference fit with the market-value effects that hold, scaled so that
    market value, ``(1 - rho) * fit + rho * rugged``, changes by the amounts stated; each fit kept
    within [0, 1]. Regimes no effect names keep their (shared, read-only) fit."""
    change = market_value_change(scenario)
    out = dict(regimes)
    for regime, delta in change.items():
        out[regime] = np.clip(regimes[regime] + delta / (1.0 - scenario.market.rho), 0.0, 1.0)
    return out
