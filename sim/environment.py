"""A market's random environment at a seed: the one generator its landscapes, schedule and
start are drawn from, and the first draw made with it, the efficiency landscape's interaction
structure. Plain numpy (no Mesa), so `explain` can show a seed's structure without a model."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.landscape import interaction_edges

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario


def environment_rng(seed: int) -> np.random.Generator:
    """The generator a `Market` of ``seed`` draws its environment from: the first child of the
    seed's generator (docs/ODD.md §5.3: ``model.rng`` spawns it; Mesa's `Model` makes
    ``model.rng = numpy.random.default_rng(seed)``). Made directly from that child's seed
    sequence (the seed, spawn key (0,)): the same generator, without building the parent's."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(0,))))


def efficiency_edges(scenario: Scenario, rng: np.random.Generator) -> list[tuple[int, int]]:
    """The efficiency landscape's dependencies ``(j, i)`` (decision i depends on j), drawn from
    ``rng`` as the first draw of the environment."""
    eff, n = scenario.efficiency, len(scenario.decisions)
    return interaction_edges(
        eff.structure,
        scenario.department_decisions,
        k_within=eff.k_within,
        cross=eff.cross,
        k=min(eff.k, n - 1),
        rng=rng,
    )
