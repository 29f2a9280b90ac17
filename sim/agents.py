"""The agents: departments and firms, Mesa agents that are views of the engine's rows.

A department holds its decisions and its alignment coupling; a firm its strategy, costs,
configuration, cash and log. The rules they follow each period live in `sim.engine` alone;
changing an agent's parameters between steps changes what the engine does next period.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.metrics import FirmLog
from sim.settings import adaptation_of, firm_settings
from sim.streams import firm_keys

if TYPE_CHECKING:
    from sim.scenario.schema import CostSpec, Scenario, StrategySpec


def _share(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return value


def _no_step_alone(agent: mesa.Agent) -> None:
    kind = type(agent).__name__.lower()
    raise RuntimeError(
        f"a {kind} does not step alone: the market steps all its firms at once (they are rows "
        "of one engine). Step the market instead: market.step() for one period, market.run() "
        "to the horizon"
    )


class Department(mesa.Agent):
    """A department of a `Firm` (a Mesa agent): owns some of the firm's decisions and proposes
    changes that raise its objective.

    Objective: U_d = (1 - alpha) * E_d + alpha * P_hat, where E_d is its own efficiency (with
    learning by doing) and P_hat the firm's performance as the firm perceives it.

    Attributes: ``name``; ``firm``; ``index`` (its place in the firm); ``decisions`` (the bit
    numbers of the decisions it owns) and ``mask``; ``alpha``, ``understanding`` and
    ``engagement`` (settable between periods, read from the engine's row). `propose` lists the
    configurations it would propose next. It does not step alone (`step`).
    """

    def __init__(
        self, model: mesa.Model, *, firm: Firm, index: int, name: str, decisions: tuple[int, ...]
    ) -> None:
        super().__init__(model)
        self.firm = firm
        self.index = index
        self.name = name
        self.decisions = decisions
        self.mask = int(sum(1 << i for i in decisions))

    def __repr__(self) -> str:
        return f"<Department {self.name!r} of {self.firm.strategy_name!r} alpha={self.alpha:g}>"

    def step(self) -> None:
        """Not used: a department does not step alone. The market steps all its firms and their
        departments at once, one period per `Market.step` (rows of one engine); a `RuntimeError`
        says so."""
        _no_step_alone(self)

    @property
    def alpha(self) -> float:
        """The department's alignment coupling (settable between steps)."""
        return float(self.firm.engine.alpha[self.firm.row, self.index])

    @alpha.setter
    def alpha(self, value: float) -> None:
        self.firm.engine.alpha[self.firm.row, self.index] = float(value)

    @property
    def understanding(self) -> float:
        """Share of its staff that understands the strategy (1 when the mechanism is off); the
        coupling that acts is alpha x understanding. Settable between steps."""
        self.firm.engine.build()
        return float(self.firm.engine.understanding[self.firm.row, self.index])

    @understanding.setter
    def understanding(self, value: float) -> None:
        self.firm.engine.build()
        self.firm.engine.understanding[self.firm.row, self.index] = _share(value, "understanding")

    @property
    def engagement(self) -> float:
        """Engagement of its staff in [0, 1] (1 when the mechanism is off). Settable."""
        self.firm.engine.build()
        return float(self.firm.engine.engagement[self.firm.row, self.index])

    @engagement.setter
    def engagement(self, value: float) -> None:
        self.firm.engine.build()
        self.firm.engine.engagement[self.firm.row, self.index] = _share(value, "engagement")

    def propose(self, current: int | None = None) -> np.ndarray:
        """The configurations this department would propose next period from ``current``
        (default: the firm's configuration), best first."""
        firm, engine = self.firm, self.firm.engine
        row = np.array([firm.row])
        base = np.array([firm.config if current is None else current], dtype=np.int64)
        proposals = int(engine.proposals[firm.row])
        return engine.propose(
            row, np.array([self.index]), base, engine.config[row], engine.period + 1, proposals
        )[0]


class Firm(mesa.Agent):
    """A firm (a Mesa agent): departments, a coordination mode, market intelligence, cash and
    survival.

    A view of one row of the market's engine: its state (configuration, cash, experience,
    beliefs) and parameters are the engine's, and ``log`` reads its history.

    Attributes: ``strategy_name`` and ``strategy`` (a `StrategySpec`; change it with
    `set_strategy`); ``costs``; ``departments`` (`Department` agents); ``market`` (its
    `Market`); ``log`` (`FirmLog`, the per-period records; ``log.to_frame()`` as a table);
    now: ``config``, ``alive``, ``cash``, ``experience``, ``belief``, ``coordination_cost``.
    `trace` records what its departments consider; `trace_frame` returns it. A firm does not
    step alone: `Market.step` steps all firms at once (`step`).
    """

    def __init__(
        self,
        model: mesa.Model,
        *,
        strategy_name: str,
        strategy: StrategySpec,
        config: int,
        scenario: Scenario | None = None,
        stream: str | None = None,
        index: int = 0,
        queue: int = -1,
    ) -> None:
        super().__init__(model)
        spec = model.spec if scenario is None else scenario
        self.spec = spec  # (Mesa's own `scenario` attribute is a different thing)
        self.market = model
        self.index = index  # its place among its strategy's firms in the market (its key's)
        self.engine = model.engine
        self.strategy_name = strategy_name
        self.strategy = strategy
        self.costs = spec.costs
        # its random stream: keyed by the seed, its strategy's name (or ``stream``, so that
        # firms of different strategies can share draws: common random numbers) and ``index``;
        # ``queue`` (>= 0): an entrant waiting in that queue to enter (a market with competition)
        key = firm_keys(model.seed, stream or strategy_name, index + 1)[index]
        (self.row,) = self.engine.add_rows(
            market=model.index,
            keys=[key],
            configs=[int(config)],
            settings=firm_settings(spec, strategy),
            queue=queue,
            adaptation=adaptation_of(spec, strategy_name),
        )
        self.departments = [
            Department(model, firm=self, index=d, name=dep.name, decisions=dec)
            for d, (dep, dec) in enumerate(
                zip(spec.departments, spec.department_decisions, strict=True)
            )
        ]
        self.log = FirmLog(
            self.engine, self.row, heading_window=spec.metrics.heading_window, firm=self
        )

    def __repr__(self) -> str:
        from sim.display import firm_repr

        return firm_repr(self)

    def _repr_html_(self) -> str:
        from sim.display import firm_html

        return firm_html(self)

    def step(self) -> None:
        """Not used: a firm does not step alone. The market steps all its firms at once, one
        period per `Market.step` (``market.step()``, ``market.run()``), because the firms are
        rows of one engine; a `RuntimeError` says so (Mesa's ``agents.do("step")`` included)."""
        _no_step_alone(self)

    def set_strategy(
        self, strategy: StrategySpec, *, costs: CostSpec | None = None, label: str | None = None
    ) -> None:
        """Adopt ``strategy`` (and ``costs``) from the next period on, without a reset; the
        change is recorded in the market's ``changes`` (``label`` says what changed), unless it
        is made before the first period (then it is the firm's setting, not a change)."""
        if self.market.period > 0:
            if label is None:
                named = [n for n, s in self.spec.all_strategies.items() if s == strategy]
                label = f"strategy {named[0]}" if named else "strategy changed"
                if costs is not None and costs != self.costs:
                    label += ", costs changed"
            self.market.record_change(self, label)
        self.strategy = strategy
        self.costs = costs if costs is not None else self.costs
        self.engine.build()
        self.engine.set_settings(
            np.array([self.row]), firm_settings(self.spec, strategy, self.costs)
        )

    def trace(self, on: bool = True) -> None:
        """Record (``on=True``) or stop recording (``on=False``) what the firm's departments and
        head office consider each period from the next on; `trace_frame` returns it. Anything
        but True or False is a `TypeError`."""
        if not isinstance(on, bool | np.bool_):
            raise TypeError(f"trace(on): True or False, got {on!r}")
        self.engine.build()
        self.engine.traced[self.row] = bool(on)

    def trace_frame(self):
        """The recorded periods as a DataFrame: per period, each department's alternatives (in
        order: status quo, flips, a long jump) with the configuration, its own efficiency E_d,
        the perceived performance P_hat and the utility U_d, and the rank of those proposed
        (0 = best, -1 = not proposed); the head office's combinations with their P_hat and its
        choice (rank 0); and the configuration decided ("decision")."""
        import pandas as pd

        from sim.frames import decision_columns

        rows = [r for r in self.engine.trace_records if r["row"] == self.row]
        frame = pd.DataFrame(rows).drop(columns="row") if rows else pd.DataFrame()
        if frame.empty:
            return frame
        names = {d.index: d.name for d in self.departments}
        frame.insert(2, "department_name", frame["department"].map(names).fillna(""))
        frame.insert(0, "strategy", self.strategy_name)
        return decision_columns(frame, self.spec)

    @property
    def coordination_cost(self) -> float:
        """Money per period the firm's coordination costs now."""
        return float(self.engine.cost[self.row])

    @property
    def config(self) -> int:
        """The firm's configuration now (an integer; decision i is bit i)."""
        self.engine.build()
        return int(self.engine.config[self.row])

    @property
    def alive(self) -> bool:
        """Whether the firm is in business (False from the period after its cash fell below 0)."""
        self.engine.build()
        return bool(self.engine.alive[self.row])

    @property
    def cash(self) -> float:
        """Cash now (money units; frozen at its negative value once the firm closed)."""
        self.engine.build()
        return float(self.engine.cash[self.row])

    @property
    def experience(self) -> np.ndarray:
        """Periods of experience of each department with its current decisions."""
        self.engine.build()
        return self.engine.experience[self.row].copy()

    @property
    def belief(self) -> np.ndarray:
        """What the firm believes customers value: market value of every configuration."""
        engine, m = self.engine, self.market
        if m.environment.basis is None:
            raise ValueError(
                "Firm.belief holds every configuration, which needs N <= 16 decisions: "
                "this market is evaluated on demand"
            )
        weights = engine.belief[self.row, : m.environment.basis.shape[0]]
        return weights @ m.environment.basis

    def perceived_performance(self, configs: np.ndarray | int) -> np.ndarray:
        """P_hat of configurations under the firm's current beliefs and experience."""
        configs = np.atleast_1d(np.asarray(configs, dtype=np.int64))
        row = np.array([self.row])
        return self.engine.perceived(row, configs[None, :], start=self.engine.config[row])[0]


def __getattr__(name: str):
    """``sim.agents.coordination_cost`` moved to `sim.settings` (0.2.0); kept one release."""
    if name == "coordination_cost":
        import warnings

        from sim.settings import coordination_cost

        warnings.warn(
            "sim.agents.coordination_cost moved to sim.settings.coordination_cost",
            DeprecationWarning,
            stacklevel=2,
        )
        return coordination_cost
    raise AttributeError(f"module 'sim.agents' has no attribute {name!r}")
