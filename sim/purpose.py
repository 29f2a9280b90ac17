"""Purpose: a second objective besides profit (`[purpose]`, docs/ODD.md section 7.23).

A configuration's impact per period (say tonnes of CO2e) is a designed table: the scenario's
``base`` plus the impact of each decision that is 1. Its normalised form, in [0, 1] from the
lowest to the highest impact any configuration has, is what customers and strategies weigh:
customers of a regime in ``valued_by`` count a low impact among their preferences (its weight
on the scale of their preference weights), and a strategy with ``purpose`` w aims for
(1 - w) P_hat + w (1 - normalised impact). Regulation levies ``levy`` per impact unit above
``threshold`` per period. Everything is computed once per scenario, when a market is built
(plain numpy); a scenario without ``[purpose]`` gets none of it and exactly its old numbers.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

import numpy as np

from sim.landscape import configurations
from sim.scenario.schema import Scenario


def impact_table(scenario: Scenario) -> np.ndarray | None:
    """The impact per period of every configuration (2**N,), read-only and shared by every
    market of the same section (it is designed: no random draw); None without `[purpose]`."""
    purpose = scenario.purpose
    if purpose is None:
        return None
    return _impact(len(scenario.decisions), *_terms(scenario))


def normalised_impact_table(scenario: Scenario) -> np.ndarray | None:
    """`impact_table` on [0, 1] (`normalised_impact`), read-only and shared likewise."""
    if scenario.purpose is None:
        return None
    low, high = impact_range(scenario)
    return _normalised(len(scenario.decisions), *_terms(scenario), low, high)


def _terms(scenario: Scenario) -> tuple[float, tuple[tuple[int, float], ...]]:
    purpose = scenario.purpose
    index = scenario.decision_index
    return float(purpose.base), tuple((index[d], float(a)) for d, a in purpose.impact.items())


@functools.lru_cache(maxsize=16)
def _impact(n: int, base: float, terms: tuple[tuple[int, float], ...]) -> np.ndarray:
    configs = configurations(n)
    impact = np.full(configs.size, base)
    for bit, amount in terms:
        impact += amount * ((configs >> bit) & 1)
    impact.flags.writeable = False
    return impact


@functools.lru_cache(maxsize=16)
def _normalised(
    n: int, base: float, terms: tuple[tuple[int, float], ...], low: float, high: float
) -> np.ndarray:
    table = (_impact(n, base, terms) - low) / (high - low)
    table.flags.writeable = False
    return table


def impact_range(scenario: Scenario) -> tuple[float, float]:
    """The lowest and highest impact a configuration has (the normalisation's ends)."""
    purpose = scenario.purpose
    if purpose is None:
        raise ValueError(f"scenario {scenario.name} has no [purpose]")
    low = purpose.base + sum(min(0.0, a) for a in purpose.impact.values())
    high = purpose.base + sum(max(0.0, a) for a in purpose.impact.values())
    return float(low), float(high)


def normalised_impact(scenario: Scenario, impact: np.ndarray) -> np.ndarray:
    """``impact`` on [0, 1]: 0 at the lowest impact a configuration has, 1 at the highest."""
    low, high = impact_range(scenario)
    return (np.asarray(impact, dtype=float) - low) / (high - low)


def with_valued_purpose(
    scenario: Scenario, regimes: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Each regime's preference fit with a low impact counted among its preferences where
    ``valued_by`` names it: (W fit + w (1 - i)) / (W + w), W the regime's own preference
    weights, w its weight on purpose, i the normalised impact. Other regimes keep their fit."""
    out = dict(regimes)
    purpose = scenario.purpose
    if purpose is None or not purpose.valued_by:
        return out
    low_impact = 1.0 - normalised_impact_table(scenario)
    for regime in scenario.market.regimes:
        w = purpose.valued_by.get(regime.name)
        if w is None:
            continue
        total = sum(p.weight for p in regime.preferences)
        out[regime.name] = (total * regimes[regime.name] + w * low_impact) / (total + w)
    return out
