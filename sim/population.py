"""Populations: many firms following one strategy in one market, stepped together.

A population applies the same department rules as a single `Firm` (the functions of
`sim.search`), vectorised over its firms. Its firms have no learning by doing and no cash: they
share the market's landscapes and the population's market intelligence (a belief that depends
only on the market and the sensing rate), so each department's utility of every configuration
is computed once per landscape state. Optionally, Levinthal's (1997) selection replaces firms.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import search
from sim.landscape import hamming

if TYPE_CHECKING:
    from sim.model import Market
    from sim.scenario.schema import StrategySpec


@dataclass
class PopulationLog:
    """Per-period records of every firm slot: configuration, identity and performance."""

    horizon: int
    firms: int
    configs: np.ndarray = field(init=False)
    ids: np.ndarray = field(init=False)
    performance: np.ndarray = field(init=False)
    performance_norm: np.ndarray = field(init=False)
    entrants: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        shape = (self.horizon + 1, self.firms)
        self.configs = np.zeros(shape, dtype=np.int64)
        self.ids = np.zeros(shape, dtype=np.int64)
        self.performance = np.full(shape, np.nan)
        self.performance_norm = np.full(shape, np.nan)
        self.entrants = np.zeros(self.horizon + 1, dtype=np.int64)

    def distinct_forms(self) -> np.ndarray:
        """Number of different configurations held in each period."""
        return np.array([np.unique(row).size for row in self.configs])

    def incumbent_survival(self, incumbents_at: tuple[int, int], periods: list[int]) -> np.ndarray:
        """Share of the firms alive at both ``incumbents_at`` periods still alive at ``periods``."""
        a, b = incumbents_at
        incumbents = np.intersect1d(self.ids[a], self.ids[b])
        return np.array([np.isin(incumbents, self.ids[t]).mean() for t in periods])


class Population(mesa.Agent):
    """A cohort of firms with one strategy; see the module docstring for what it leaves out."""

    def __init__(
        self,
        model: Market,
        *,
        strategy_name: str,
        strategy: StrategySpec,
        configs: np.ndarray,
        rng: np.random.Generator,
    ) -> None:
        super().__init__(model)
        spec = model.spec
        self.market = model
        self.strategy_name = strategy_name
        self.strategy = strategy
        self.own_rng = rng
        self.configs = np.array(configs, dtype=np.int64)
        self.ids = np.arange(self.configs.size, dtype=np.int64)
        self._next_id = int(self.configs.size)
        self.belief = model.market_value.copy()
        self.alphas = np.array(spec.alpha_of(strategy))
        self.masks = [int(m) for m in model.department_masks]
        self.flips = [
            np.array([1 << i for i in dec], dtype=np.int64) for dec in spec.department_decisions
        ]
        self.selection = spec.population.selection
        self._utility_key: tuple[int, int] | None = None
        self._belief_version = 0
        self.log = PopulationLog(horizon=spec.horizon, firms=self.configs.size)
        self._record(0, entrants=0)

    # ---- what the departments and the head office see ----
    def perceived(self) -> np.ndarray:
        """Perceived performance P_hat of every configuration."""
        beta = self.market.beta
        return beta * self.belief + (1.0 - beta) * self.market.efficiency

    def utilities(self) -> np.ndarray:
        """U_d of every configuration for every department, shape (D, 2**N); cached."""
        key = (self.market.environment.version, self._belief_version)
        if key != self._utility_key:
            own = self.market.department_efficiency.T
            self._utility = (1.0 - self.alphas[:, None]) * own + self.alphas[:, None] * (
                self.perceived()[None, :]
            )
            self._utility_key = key
        return self._utility

    def propose(self, d: int, configs: np.ndarray) -> np.ndarray:
        """Department ``d``'s proposals for each firm, shape (firms, proposals)."""
        strategy, rng = self.strategy, self.own_rng
        cands = search.alternatives(configs, self.flips[d])
        u = self.utilities()[d][cands]
        if strategy.p_jump > 0:
            drawn = rng.random(configs.size) < strategy.p_jump
            jumps = search.long_jumps(configs, self.flips[d], self.masks[d], rng)
            cands = np.concatenate((cands, jumps[:, None]), axis=1)
            u_jump = np.where(drawn, self.utilities()[d][jumps], -np.inf)
            u = np.concatenate((u, u_jump[:, None]), axis=1)
        chosen = search.choose(
            u, rule=strategy.search, n_local=len(self.flips[d]), proposals=strategy.proposals
        )
        return np.take_along_axis(cands, chosen, axis=1)

    # ---- the period ----
    def perceive(self) -> None:
        sigma = self.strategy.sensing
        if sigma > 0.0:
            self.belief += sigma * (self.market.market_value - self.belief)
            self._belief_version += 1

    def coordinate(self) -> np.ndarray:
        """Next configuration of every firm under the strategy's coordination mode."""
        mode, configs = self.strategy.coordination, self.configs
        departments = range(len(self.masks))
        if mode == "decentralized":
            new = configs.copy()
            for d in departments:
                new = search.merge(new, self.propose(d, configs)[:, 0], self.masks[d])
            return new
        if mode == "sequential":
            order = self.own_rng.permuted(
                np.tile(np.arange(len(self.masks)), (configs.size, 1)), axis=1
            )
            current = configs.copy()
            for position in range(len(self.masks)):
                for d in departments:
                    rows = np.flatnonzero(order[:, position] == d)
                    if rows.size:
                        chosen = self.propose(d, current[rows])[:, 0]
                        current[rows] = search.merge(current[rows], chosen, self.masks[d])
            return current
        # hierarchical: every combination of the departments' proposals, and the status quo
        parts = [self.propose(d, configs) & self.masks[d] for d in departments]
        combos = np.stack(
            [
                sum(p[:, i] for p, i in zip(parts, pick, strict=True))
                for pick in itertools.product(*(range(p.shape[1]) for p in parts))
            ],
            axis=1,
        )
        cands = np.concatenate((configs[:, None], combos), axis=1)
        best = np.argmax(self.perceived()[cands], axis=1)  # the status quo (column 0) wins ties
        return cands[np.arange(configs.size), best]

    def select(self) -> int:
        """Levinthal's selection: survive with probability V / V_max; refill the vacancies."""
        rng = self.own_rng
        fitness = self.market.landscape_performance[self.configs]
        best = fitness.max()
        survive = rng.random(fitness.size) < fitness / best
        dead = np.flatnonzero(~survive)
        if not dead.size:
            return 0
        random_share = 1.0 - fitness.mean() / best
        random_entrant = rng.random(dead.size) < random_share
        survivors = np.flatnonzero(survive)
        weights = fitness[survivors] / fitness[survivors].sum()
        copied = self.configs[rng.choice(survivors, size=dead.size, p=weights)]
        fresh = rng.integers(0, 2**self.market.n_decisions, size=dead.size)
        self.configs[dead] = np.where(random_entrant, fresh, copied)
        self.ids[dead] = np.arange(self._next_id, self._next_id + dead.size)
        self._next_id += int(dead.size)
        return int(dead.size)

    def step(self) -> None:
        t = self.market.period
        self.perceive()
        self.configs = self.coordinate()
        entrants = self.select() if self.selection == "levinthal" else 0
        self._record(t, entrants=entrants)

    def _record(self, t: int, *, entrants: int) -> None:
        log = self.log
        log.configs[t] = self.configs
        log.ids[t] = self.ids
        performance = self.market.landscape_performance[self.configs]
        log.performance[t] = performance
        log.performance_norm[t] = performance / self.market.best_performance
        log.entrants[t] = entrants

    def period_table(self) -> dict[str, np.ndarray]:
        """Per-period aggregates of the population (one value per period)."""
        log = self.log
        miles = np.zeros(log.horizon + 1)
        same_firm = log.ids[1:] == log.ids[:-1]
        moved = hamming(log.configs[1:], log.configs[:-1]) * same_firm
        miles[1:] = moved.mean(axis=1)
        return {
            "period": np.arange(log.horizon + 1),
            "performance": log.performance.mean(axis=1),
            "performance_norm": log.performance_norm.mean(axis=1),
            "best_performance_norm": log.performance_norm.max(axis=1),
            "distinct_forms": log.distinct_forms(),
            "entrants": log.entrants,
            "miles": miles,
        }
