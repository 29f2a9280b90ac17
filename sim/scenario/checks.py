"""Checks of what a run asks of a scenario (strategies, seeds), shared by the command line,
the sweeps and the Python API, so each says the same one-line `ScenarioError`."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

from sim.limits import MAX_SEEDS
from sim.scenario.errors import ScenarioError
from sim.scenario.schema import Scenario

#: The largest seed (numpy's SeedSequence takes any non-negative integer; this keeps seeds
#: printable and storable as 64-bit integers).
MAX_SEED = 2**63 - 1


def check_strategies(
    scenario: Scenario, strategies: Sequence[str] | None, *, field: str = "strategies"
) -> tuple[str, ...]:
    """The strategies a run compares: those given (each known, none twice), or the
    scenario's."""
    if strategies is None:
        return scenario.compared_strategies
    if isinstance(strategies, str):
        strategies = [strategies]
    names = tuple(strategies)
    where = f"scenario {scenario.name}"
    if not names:
        raise ScenarioError(where, field, "give at least one strategy")
    for i, name in enumerate(names):
        if not isinstance(name, str) or name not in scenario.all_strategies:
            allowed = ", ".join(scenario.all_strategies)
            raise ScenarioError(where, field, f"unknown strategy {name!r}; allowed: {allowed}")
        if name in names[:i]:
            raise ScenarioError(where, field, f"strategy {name!r} is given twice")
    return names


def check_seeds(
    scenario: Scenario, seeds: int | Iterable[int] | None, *, field: str = "seeds"
) -> tuple[int, ...]:
    """Seeds 0..n-1 for a count (the scenario's `seeds` by default), or the seeds given: whole
    numbers (not true or false), at least one, at most `MAX_SEEDS`, none twice."""
    where = f"scenario {scenario.name}"
    if seeds is None:
        seeds = scenario.seeds
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        count = int(seeds)
        if not 1 <= count <= MAX_SEEDS:
            tail = (
                "; more seeds belong in a sweep (python -m sim sweep), which writes runs as "
                "they finish"
                if count > MAX_SEEDS
                else ""
            )
            raise ScenarioError(
                where,
                field,
                f"expected a number of seeds from 1 to {MAX_SEEDS:,}, got {count}{tail}",
            )
        return tuple(range(count))
    if isinstance(seeds, (bool, str, bytes, float)) or not isinstance(seeds, Iterable):
        raise ScenarioError(
            where, field, f"expected a number of seeds or a list of seeds, got {seeds!r}"
        )
    values = []
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ScenarioError(where, field, f"a seed is a whole number, got {seed!r}")
        if not 0 <= int(seed) <= MAX_SEED:
            raise ScenarioError(where, field, f"a seed is from 0 to 2**63 - 1, got {seed}")
        values.append(int(seed))
        if len(values) > MAX_SEEDS:
            raise ScenarioError(where, field, f"more than {MAX_SEEDS:,} seeds; use a sweep")
    if not values:
        raise ScenarioError(where, field, "give at least one seed")
    if len(set(values)) != len(values):
        raise ScenarioError(where, field, "a seed is given twice (runs would repeat)")
    return tuple(values)
