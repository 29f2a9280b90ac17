"""The agents: departments searching over their own decisions, and the firm coordinating them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim import coordination, search
from sim.landscape import hamming
from sim.metrics import FirmLog

if TYPE_CHECKING:
    from sim.model import Market
    from sim.scenario.schema import CostSpec, StrategySpec


class Department(mesa.Agent):
    """Owns some of the firm's decisions and proposes changes that raise its objective.

    Objective: U_d = (1 - alpha) * E_d + alpha * P_hat, where E_d is its own efficiency (with
    learning by doing) and P_hat the firm's performance as the firm perceives it.
    """

    def __init__(
        self,
        model: Market,
        *,
        firm: Firm,
        index: int,
        name: str,
        decisions: tuple[int, ...],
        alpha: float,
    ) -> None:
        super().__init__(model)
        self.firm = firm
        self.index = index
        self.name = name
        self.decisions = decisions
        self.alpha = alpha
        self.mask = int(sum(1 << i for i in decisions))
        self._flips = np.array([1 << i for i in decisions], dtype=np.int64)

    def alternatives(self, current: int) -> np.ndarray:
        """The status quo, every one-bit flip of own decisions, and maybe one long jump."""
        row = np.array([current], dtype=np.int64)
        cands = search.alternatives(row, self._flips)[0]
        strategy, rng = self.firm.strategy, self.firm.own_rng
        if strategy.p_jump > 0 and rng.random() < strategy.p_jump:
            cands = np.append(cands, search.long_jumps(row, self._flips, self.mask, rng))
        return cands

    def utility(self, configs: np.ndarray) -> np.ndarray:
        """U_d of each configuration, as this department perceives it."""
        dept_eff, perceived = self.firm.evaluate(configs)
        own = dept_eff[:, self.index]
        if self.alpha == 0.0:
            return own
        return (1.0 - self.alpha) * own + self.alpha * perceived

    def propose(self, current: int) -> np.ndarray:
        """Up to `proposals` configurations, best first; the status quo when nothing improves."""
        cands = self.alternatives(current)
        chosen = search.choose(
            self.utility(cands)[None, :],
            rule=self.firm.strategy.search,
            n_local=len(self.decisions),
            proposals=self.firm.strategy.proposals,
        )
        return cands[chosen[0]]


class Firm(mesa.Agent):
    """A firm: departments, a coordination mode, market intelligence, cash and survival."""

    def __init__(
        self,
        model: Market,
        *,
        strategy_name: str,
        strategy: StrategySpec,
        config: int,
        rng: np.random.Generator,
    ) -> None:
        super().__init__(model)
        spec = model.spec
        self.market = model
        self.strategy_name = strategy_name
        self.strategy = strategy
        self.own_rng = rng
        self.config = int(config)
        self.alive = True
        self.cash = float(spec.firm.initial_cash)
        self.belief = model.market_value.copy()  # what the firm believes customers value
        self.departments = [
            Department(model, firm=self, index=d, name=dep.name, decisions=dec, alpha=0.0)
            for d, (dep, dec) in enumerate(
                zip(spec.departments, spec.department_decisions, strict=True)
            )
        ]
        learning = spec.firm.learning
        self._gain, self._tau, self._keep = learning.gain, learning.tau, 1.0 - learning.reset
        self.experience = np.full(len(self.departments), float(learning.initial_experience))
        self._refresh_bonus()
        self.set_strategy(strategy, costs=spec.costs)
        self.log = FirmLog(
            horizon=spec.horizon,
            departments=len(self.departments),
            heading_window=spec.metrics.heading_window,
        )
        self._record(0, moved=0)

    def set_strategy(self, strategy: StrategySpec, *, costs: CostSpec | None = None) -> None:
        """Adopt ``strategy`` (and ``costs``) from the next period on, without a reset."""
        self.strategy = strategy
        alphas = self.market.spec.alpha_of(strategy)
        for dept, alpha in zip(self.departments, alphas, strict=True):
            dept.alpha = alpha
        self.costs = costs if costs is not None else self.costs
        self.coordination_cost = (
            self.costs.coordination[strategy.coordination]
            + self.costs.alignment * float(np.mean(alphas))
            + self.costs.sensing * strategy.sensing
        )

    # ---- perception and evaluation ----
    def _bonus(self, experience: np.ndarray) -> np.ndarray:
        return self._gain * (1.0 - np.exp(-experience / self._tau))

    def _refresh_bonus(self) -> None:
        # evaluations anticipate next period's experience: +1 if unchanged, partly reset if changed
        self._bonus_stay = self._bonus(self.experience + 1.0)
        self._bonus_change = self._bonus(self.experience * self._keep)

    def department_efficiency(self, configs: np.ndarray) -> np.ndarray:
        """E_d of each configuration for each department (k x D), learning by doing included."""
        land = self.market.department_efficiency[configs]
        if self._gain == 0.0:
            return land
        changed = (
            np.bitwise_xor(configs, self.config)[:, None] & self.market.department_masks
        ) != 0
        bonus = np.where(changed, self._bonus_change, self._bonus_stay)
        return land + (1.0 - land) * bonus

    def evaluate(self, configs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Department efficiencies (k x D) and perceived performance P_hat (k,) of ``configs``."""
        dept_eff = self.department_efficiency(configs)
        beta = self.market.beta
        perceived = beta * self.belief[configs] + (1.0 - beta) * (
            dept_eff @ self.market.department_weights
        )
        return dept_eff, perceived

    def perceived_performance(self, configs: np.ndarray | int) -> np.ndarray:
        """P_hat of configurations under the firm's current beliefs and experience."""
        return self.evaluate(np.atleast_1d(np.asarray(configs, dtype=np.int64)))[1]

    def perceive(self) -> None:
        """Move the belief about market value towards the truth at the sensing rate."""
        sigma = self.strategy.sensing
        if sigma > 0.0:
            truth = self.market.market_value
            self.belief += sigma * (truth - self.belief)

    # ---- the period ----
    def step(self) -> None:
        t = self.market.period
        if not self.alive:
            self._record(t, moved=0)
            return
        self.perceive()
        new = coordination.coordinate(self, self.strategy.coordination)
        moved = int(hamming(new, self.config))
        changed = np.array([bool((new ^ self.config) & d.mask) for d in self.departments])
        self.experience = np.where(changed, self.experience * self._keep, self.experience + 1.0)
        self.config = int(new)
        self._refresh_bonus()
        self._record(t, moved=moved)

    def _realised(self) -> tuple[np.ndarray, float, float, float]:
        """Department efficiencies, E, V and P of the current configuration (learning included)."""
        land = self.market.department_efficiency[self.config]
        dept_eff = land + (1.0 - land) * self._bonus(self.experience)
        efficiency = float(dept_eff @ self.market.department_weights)
        value = float(self.market.market_value[self.config])
        beta = self.market.beta
        return dept_eff, efficiency, value, beta * value + (1.0 - beta) * efficiency

    def _record(self, t: int, *, moved: int) -> None:
        if not self.alive:
            self.log.record_exit(t, self.cash)
            return
        dept_eff, efficiency, value, performance = self._realised()
        firm = self.market.spec.firm
        profit = firm.money_scale * (performance - firm.break_even) - self.coordination_cost
        if t == 0:
            profit = 0.0
        self.cash += profit
        self.log.record(
            t,
            config=self.config,
            moved=moved,
            efficiency=efficiency,
            department_efficiency=dept_eff,
            market_value=value,
            believed_market_value=float(self.belief[self.config]),
            performance=performance,
            performance_norm=float(self.market.landscape_performance[self.config])
            / self.market.best_performance,
            profit=profit,
            cash=self.cash,
            distance_to_port=int(hamming(self.config, self.market.port)),
        )
        if self.cash < 0:
            self.alive = False
