"""Populations: many firms following one strategy in one market, stepped together.

A population is a view of a block of the engine's rows: the same rules as a single `Firm`
(`sim.engine`), one row per firm slot. A population's firms never go bankrupt; optionally,
Levinthal's (1997) selection replaces them (the engine's `_select`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.landscape import hamming
from sim.settings import adaptation_of, firm_settings
from sim.streams import firm_keys

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario, StrategySpec


class PopulationLog:
    """Per-period records of every firm slot: configuration, identity and performance.

    ``configs``, ``ids``, ``performance`` and ``performance_norm`` are periods x firms arrays;
    ``entrants`` the firms replaced by selection in each period; `distinct_forms` and
    `incumbent_survival` summarise them.
    """

    def __init__(self, engine, rows: slice, group: int) -> None:
        self.engine = engine
        self.rows = rows
        self.group = group

    def __repr__(self) -> str:
        return (
            f"PopulationLog({self.firms} firms, periods 0..{self.horizon}, "
            f"run to period {self.engine.period})"
        )

    @property
    def horizon(self) -> int:
        return self.engine.horizon

    @property
    def firms(self) -> int:
        return self.rows.stop - self.rows.start

    def _history(self):
        self.engine.build()
        return self.engine.history

    @property
    def configs(self) -> np.ndarray:
        return self._history().config[:, self.rows]

    @property
    def ids(self) -> np.ndarray:
        return self._history().ids[:, self.rows]

    @property
    def performance(self) -> np.ndarray:
        return self._kept("performance")[:, self.rows]

    @property
    def performance_norm(self) -> np.ndarray:
        return self._kept("performance_norm")[:, self.rows]

    def _kept(self, name: str) -> np.ndarray:
        values = getattr(self._history(), name)
        if values is None:
            raise ValueError(
                f"{name} was not recorded: the markets were run with records= leaving it out "
                f"(run_markets(..., records=[{name!r}]) keeps it)"
            )
        return values

    @property
    def entrants(self) -> np.ndarray:
        self.engine.build()
        return self.engine.entrants[:, self.group]

    def imitations(self) -> dict[str, np.ndarray]:
        """With imitation (`[adaptation]`): ``imitations``, the firms that copied another
        firm's strategy in each period; else nothing."""
        imitated = self._history().imitated
        if imitated is None:
            return {}
        return {"imitations": (imitated[:, self.rows] >= 0).sum(axis=1)}

    def distinct_forms(self) -> np.ndarray:
        """Number of different configurations held in each period."""
        ordered = np.sort(self.configs, axis=1)
        return 1 + (ordered[:, 1:] != ordered[:, :-1]).sum(axis=1)

    def incumbent_survival(self, incumbents_at: tuple[int, int], periods: list[int]) -> np.ndarray:
        """Share of the firms alive at both ``incumbents_at`` periods still alive at ``periods``."""
        a, b = incumbents_at
        ids = self.ids
        incumbents = np.intersect1d(ids[a], ids[b])
        return np.array([np.isin(incumbents, ids[t]).mean() for t in periods])


class Population(mesa.Agent):
    """A cohort of firms with one strategy in one market (a Mesa agent; rows of the market's
    engine), made by a `Market` whose scenario has ``population.firms > 1``.

    Attributes: ``strategy_name`` and ``strategy``; ``market``; ``rows`` (its block of the
    engine's rows); ``log`` (`PopulationLog`); now: ``configs`` and ``ids`` of every firm slot.
    `period_table` gives the per-period aggregates. It does not step alone (`step`).
    """

    def __init__(
        self,
        model: mesa.Model,
        *,
        strategy_name: str,
        strategy: StrategySpec,
        configs: np.ndarray,
        scenario: Scenario | None = None,
        stream: str | None = None,
    ) -> None:
        super().__init__(model)
        spec = model.spec if scenario is None else scenario
        self.spec = spec  # (Mesa's own `scenario` attribute is a different thing)
        self.market = model
        self.engine = model.engine
        self.strategy_name = strategy_name
        self.strategy = strategy
        configs = np.asarray(configs, dtype=np.int64)
        group = self.engine.new_group()
        rows = self.engine.add_rows(
            market=model.index,
            keys=firm_keys(model.seed, stream or strategy_name, configs.size),
            configs=configs,
            settings=firm_settings(spec, strategy, firms=configs.size),
            group=group,
            selection=spec.population.selection == "levinthal",
            adaptation=adaptation_of(spec, strategy_name, firms=configs.size),
        )
        self.rows = slice(int(rows[0]), int(rows[-1]) + 1)
        self.log = PopulationLog(self.engine, self.rows, group)

    def __repr__(self) -> str:
        who = f"{self.strategy_name!r} of {self.log.firms} firms"
        return f"<Population {who}, seed={self.market.seed}>"

    def step(self) -> None:
        """Not used: a population does not step alone; the market steps all its firms at once
        (`Market.step`). A `RuntimeError` says so."""
        from sim.agents import _no_step_alone

        _no_step_alone(self)

    @property
    def configs(self) -> np.ndarray:
        """Every firm's configuration now."""
        self.engine.build()
        return self.engine.config[self.rows]

    @property
    def ids(self) -> np.ndarray:
        """Every firm slot's current firm (a newcomer gets a new identity)."""
        self.engine.build()
        return self.engine.ids[self.rows]

    def period_table(self) -> dict[str, np.ndarray]:
        """Per-period aggregates of the population (one value per period)."""
        log = self.log
        configs, ids = log.configs, log.ids
        miles = np.zeros(log.horizon + 1)
        same_firm = ids[1:] == ids[:-1]
        moved = hamming(configs[1:], configs[:-1]) * same_firm
        miles[1:] = moved.mean(axis=1)
        return {
            "period": np.arange(log.horizon + 1),
            "performance": log.performance.mean(axis=1),
            "performance_norm": log.performance_norm.mean(axis=1),
            "best_performance_norm": log.performance_norm.max(axis=1),
            "distinct_forms": log.distinct_forms(),
            "entrants": log.entrants,
            "miles": miles,
            **log.imitations(),
        }
