"""Checks of what a run asks of a scenario (strategies, seeds), shared by the command line,
the sweeps and the Python API, so each says the same one-line `UsageError` (a
`ScenarioError`) naming the argument and carrying the value given."""

from __future__ import annotations

import numbers
from collections.abc import Iterable, Sequence

from sim.errors import UsageError
from sim.limits import MAX_SEEDS
from sim.scenario.schema import Scenario

#: The largest seed (numpy's SeedSequence takes any non-negative integer; this keeps seeds
#: printable and storable as 64-bit integers).
MAX_SEED = 2**63 - 1


def check_strategies(
    scenario: Scenario, strategies: Sequence[str] | None, *, field: str = "strategies"
) -> tuple[str, ...]:
    """The strategies a run compares: those given (each known, none twice), or the
    scenario's; a `UsageError` naming ``field`` otherwise."""
    if strategies is None:
        return scenario.compared_strategies
    if isinstance(strategies, str):
        strategies = [strategies]
    names = tuple(strategies)
    where = f"scenario {scenario.name}"
    if not names:
        raise UsageError(field, "give at least one strategy", strategies, where)
    for i, name in enumerate(names):
        if not isinstance(name, str) or name not in scenario.all_strategies:
            allowed = ", ".join(scenario.all_strategies)
            raise UsageError(field, f"unknown strategy {name!r}; allowed: {allowed}", name, where)
        if name in names[:i]:
            raise UsageError(field, f"strategy {name!r} is given twice", name, where)
    return names


def check_seeds(
    scenario: Scenario, seeds: int | Iterable[int] | None, *, field: str = "seeds"
) -> tuple[int, ...]:
    """Seeds 0..n-1 for a count (the scenario's `seeds` by default), or the seeds given: whole
    numbers (not true or false), at least one, at most `MAX_SEEDS`, none twice; a `UsageError`
    naming ``field`` otherwise."""
    where = f"scenario {scenario.name}"
    if seeds is None:
        seeds = scenario.seeds
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        count = int(seeds)
        if not 1 <= count <= MAX_SEEDS:
            tail = (
                "; more seeds belong in a sweep (sim.sweep.run_sweep, or the sweep command), "
                "which writes runs as they finish"
                if count > MAX_SEEDS
                else ""
            )
            raise UsageError(
                field,
                f"expected a number of seeds from 1 to {MAX_SEEDS:,}, got {count}{tail}",
                seeds,
                where,
            )
        return tuple(range(count))
    if isinstance(seeds, (bool, str, bytes, float)) or not isinstance(seeds, Iterable):
        raise UsageError(
            field, f"expected a number of seeds or a list of seeds, got {seeds!r}", seeds, where
        )
    values = []
    for seed in seeds:
        values.append(check_seed(seed, field, source=where))
        if len(values) > MAX_SEEDS:
            raise UsageError(field, f"more than {MAX_SEEDS:,} seeds; use a sweep", seeds, where)
    if not values:
        raise UsageError(field, "give at least one seed", seeds, where)
    if len(set(values)) != len(values):
        raise UsageError(field, "a seed is given twice (runs would repeat)", seeds, where)
    return tuple(values)


def check_seed(seed: object, argument: str = "seed", *, source: str = "") -> int:
    """One seed: a whole number (not true or false) from 0 to `MAX_SEED`; a `UsageError`
    naming ``argument`` otherwise (numpy's own error would be a traceback from its internals)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise UsageError(argument, f"a seed is a whole number, got {seed!r}", seed, source)
    if not 0 <= int(seed) <= MAX_SEED:
        raise UsageError(argument, f"a seed is from 0 to 2**63 - 1, got {seed}", seed, source)
    return int(seed)
