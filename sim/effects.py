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

import numpy as np

from sim.landscape import configurations
from sim.scenario.schema import EffectSpec, Scenario, effect_decision


def holds(effect: EffectSpec, scenario: Scenario, configs: np.ndarray | None = None) -> np.ndarray:
    """Whether ``effect`` holds in each configuration (default: all 2**N), as booleans."""
    if configs is None:
        configs = configurations(len(scenario.decisions))
    configs = np.asarray(configs, dtype=np.int64)
    mask = bits = 0
    for key, value in effect.when.items():
        i = effect_decision(scenario, key)
        mask |= 1 << i
        bits |= value << i
    on = (configs & mask) == bits
    for key, value in effect.unless.items():
        i = effect_decision(scenario, key)
        on &= ((configs >> i) & 1) != value
    return on


def efficiency_change(scenario: Scenario) -> np.ndarray | None:
    """The sum of the efficiency effects that hold, per configuration and department, shape
    (2**N, D); None when the scenario has none."""
    effects = [e for e in scenario.effects if e.efficiency]
    if not effects:
        return None
    index = {d.name: k for k, d in enumerate(scenario.departments)}
    change = np.zeros((2 ** len(scenario.decisions), len(scenario.departments)))
    for effect in effects:
        on = holds(effect, scenario)
        for department, amount in effect.efficiency.items():
            change[on, index[department]] += amount
    return change


def with_efficiency_effects(scenario: Scenario, department_efficiency: np.ndarray) -> np.ndarray:
    """Department efficiencies (2**N, D) plus the effects that hold, kept within [0, 1]; the
    table itself when the scenario has no efficiency effects."""
    change = efficiency_change(scenario)
    if change is None:
        return department_efficiency
    return np.clip(department_efficiency + change, 0.0, 1.0)


def market_value_change(scenario: Scenario) -> dict[str, np.ndarray]:
    """The sum of the market-value effects that hold, per configuration, for each regime some
    effect names (in market value: a regime's preference fit changes by this / (1 - rho))."""
    n = 2 ** len(scenario.decisions)
    change: dict[str, np.ndarray] = {}
    for effect in scenario.effects:
        if not effect.market_value:
            continue
        on = holds(effect, scenario)
        for regime, amount in effect.market_value.items():
            change.setdefault(regime, np.zeros(n))[on] += amount
    return change


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
