"""The market: a Mesa model owning the landscapes, the shift schedule and the firms."""

from __future__ import annotations

from collections.abc import Sequence

import mesa
import numpy as np

from sim.agents import Firm
from sim.landscape import NKTables, dependencies, interaction_graph
from sim.market import MarketEnvironment, Preference, ShiftEvent, preference_fit
from sim.population import Population
from sim.scenario.schema import (
    AbruptShift,
    GradualShift,
    RedrawShift,
    Scenario,
    StrategySpec,
    TurbulenceShift,
)


class Market(mesa.Model):
    """Customers, market shifts and the firms that serve them.

    All randomness comes from ``rng`` (the seed): the landscapes, the shift schedule and the
    starting configuration come from its first spawned stream, and each firm's behaviour from
    one stream of its own. So firms with different strategies on the same seed face the same
    landscapes, market and start (common random numbers), whatever else is in the market.
    """

    def __init__(
        self,
        *,
        scenario: Scenario,
        strategies: Sequence[str | tuple[str, StrategySpec]] = ("efficiency_only",),
        rng: int = 0,
    ) -> None:
        super().__init__(rng=rng)
        self.spec = scenario  # (Mesa's own `scenario` attribute is a different thing)
        self.seed = rng
        (env_rng,) = self.rng.spawn(1)
        n = len(scenario.decisions)
        self.n_decisions = n
        self.beta = scenario.firm.beta

        eff = scenario.efficiency
        self.interactions = interaction_graph(
            eff.structure,
            scenario.department_decisions,
            k_within=eff.k_within,
            cross=eff.cross,
            k=min(eff.k, n - 1),
            rng=env_rng,
        )
        contributions = NKTables.draw(dependencies(self.interactions), env_rng).contributions()
        self.department_efficiency = np.stack(
            [contributions[:, list(dec)].mean(axis=1) for dec in scenario.department_decisions],
            axis=1,
        )
        sizes = np.array([len(dec) for dec in scenario.department_decisions], dtype=float)
        self.department_weights = sizes / sizes.sum()
        self.department_masks = np.array(
            [sum(1 << i for i in dec) for dec in scenario.department_decisions], dtype=np.int64
        )
        self.efficiency = self.department_efficiency @ self.department_weights

        market = scenario.market
        rugged_graph = interaction_graph(
            market.structure, [list(range(n))], k=min(market.k, n - 1), rng=env_rng
        )
        index = scenario.decision_index
        regimes = {
            r.name: preference_fit(
                [Preference(index[p.decision], p.value, p.weight) for p in r.preferences], n
            )
            for r in market.regimes
        }
        self.environment = MarketEnvironment(
            n=n,
            rho=market.rho,
            regimes=regimes,
            rugged=NKTables.draw(dependencies(rugged_graph), env_rng),
            regime=scenario.initial_regime,
            schedule=build_schedule(scenario, env_rng),
            rng=env_rng,
        )
        self.shift_labels: list[str] = [""] * (scenario.horizon + 1)
        self._refresh_port()
        start = self._starting_configuration(int(env_rng.integers(0, 2**n)))
        self.start_config = start

        population = scenario.population
        if population.firms > 1 and population.starts == "random":
            drawn = env_rng.integers(0, 2**n, size=population.firms)
            starts = np.array([self._starting_configuration(int(c)) for c in drawn])
        else:
            starts = np.full(population.firms, start, dtype=np.int64)

        self.firms: list[Firm] = []
        self.populations: list[Population] = []
        for entry in strategies:
            name, spec = (
                (entry, scenario.all_strategies[entry]) if isinstance(entry, str) else entry
            )
            (own_rng,) = self.rng.spawn(1)
            if population.firms > 1:
                self.populations.append(
                    Population(self, strategy_name=name, strategy=spec, configs=starts, rng=own_rng)
                )
            else:
                self.firms.append(
                    Firm(self, strategy_name=name, strategy=spec, config=start, rng=own_rng)
                )

    def _starting_configuration(self, drawn: int) -> int:
        """Apply ``firm.initial_decisions`` and ``firm.start`` to a random draw."""
        firm = self.spec.firm
        index = self.spec.decision_index
        fixed_mask = fixed_bits = 0
        for name, value in firm.initial_decisions.items():
            fixed_mask |= 1 << index[name]
            fixed_bits |= value << index[name]
        if firm.start == "random":
            return (drawn & ~fixed_mask) | fixed_bits
        score = self.efficiency if firm.start == "efficient" else self.landscape_performance
        configs = np.arange(score.size, dtype=np.int64)
        allowed = (configs & fixed_mask) == fixed_bits
        return int(configs[allowed][np.argmax(score[allowed])])

    @property
    def period(self) -> int:
        """The current period: Mesa's model time (one period per time unit)."""
        return int(self.time)

    @property
    def market_value(self) -> np.ndarray:
        """True market value V of every configuration now."""
        return self.environment.value

    def shift_now(self, to: str | None = None) -> ShiftEvent:
        """Customers move abruptly at the next period: to regime ``to``, or to the next regime."""
        regimes = [r.name for r in self.spec.market.regimes]
        if to is None:
            current = self.environment.regime
            to = (
                regimes[(regimes.index(current) + 1) % len(regimes)]
                if current in regimes
                else regimes[0]
            )
        elif to not in regimes:
            raise ValueError(f"unknown regime {to!r}; allowed: {', '.join(regimes)}")
        event = ShiftEvent(self.period + 1, "regime", to=to, label=f"customers move to {to} (now)")
        self.environment.add_shift(event)
        return event

    def _refresh_port(self) -> None:
        """Landscape performance, its maximum and the best configuration ("port")."""
        self.landscape_performance = (
            self.beta * self.environment.value + (1.0 - self.beta) * self.efficiency
        )
        self.port = int(np.argmax(self.landscape_performance))
        self.best_performance = float(self.landscape_performance[self.port])
        self._port_version = self.environment.version

    def step(self) -> None:
        """One period: the market moves (shifts), then every firm acts."""
        t = self.period
        if t > self.spec.horizon:
            raise RuntimeError(f"period {t} is past the scenario's horizon ({self.spec.horizon})")
        events = self.environment.advance(t)
        if events:
            self.shift_labels[t] = "; ".join(e.label for e in events)
        if self.environment.version != self._port_version:
            self._refresh_port()
        for firm in self.firms:
            firm.step()
        for population in self.populations:
            population.step()
        if t >= self.spec.horizon:
            self.running = False

    def run(self) -> Market:
        """Run to the scenario's horizon."""
        remaining = self.spec.horizon - self.period
        if remaining > 0:
            self.run_for(remaining)
        return self


def build_schedule(scenario: Scenario, rng: np.random.Generator) -> list[ShiftEvent]:
    """Expand the scenario's shifts into concrete events (turbulence drawn now, from ``rng``)."""
    index = scenario.decision_index
    n = len(scenario.decisions)
    regimes = [r.name for r in scenario.market.regimes]
    fixed: list[ShiftEvent] = []
    for s in scenario.market.shifts:
        if isinstance(s, AbruptShift):
            fixed.append(ShiftEvent(s.at, "regime", to=s.to, label=f"customers move to {s.to}"))
        elif isinstance(s, GradualShift):
            fixed.append(
                ShiftEvent(
                    s.at,
                    "regime",
                    to=s.to,
                    duration=s.duration,
                    label=f"customers start moving to {s.to} over {s.duration} periods",
                )
            )
        elif isinstance(s, RedrawShift):
            chosen = (
                tuple(index[d] for d in s.decisions)
                if s.decisions
                else tuple(int(i) for i in rng.choice(n, size=s.count, replace=False))
            )
            fixed.append(
                ShiftEvent(s.at, "redraw", decisions=chosen, label=_redraw_label(scenario, chosen))
            )
    events = sorted(fixed, key=lambda e: e.time)
    turbulence = [s for s in scenario.market.shifts if isinstance(s, TurbulenceShift)]
    for t in range(1, scenario.horizon + 1):  # one chronological pass over every source
        for s in turbulence:
            end = scenario.horizon if s.end is None else s.end
            if not s.start <= t <= end or rng.random() >= s.probability:
                continue
            if s.change == "redraw":
                chosen = tuple(int(i) for i in rng.choice(n, size=s.count, replace=False))
                event = ShiftEvent(
                    t, "redraw", decisions=chosen, label=_redraw_label(scenario, chosen)
                )
            else:
                current = _regime_at(scenario.initial_regime, events, t)
                to = str(rng.choice([r for r in regimes if r != current]))
                event = ShiftEvent(t, "regime", to=to, label=f"turbulence: customers move to {to}")
            events.append(event)
            events.sort(key=lambda e: e.time)
    return events


def _regime_at(initial: str, events: list[ShiftEvent], t: int) -> str:
    regime = initial
    for e in events:
        if e.time <= t and e.kind == "regime":
            regime = e.to
    return regime


def _redraw_label(scenario: Scenario, decisions: tuple[int, ...]) -> str:
    names = ", ".join(scenario.decisions[i] for i in decisions)
    return f"what customers value in {names} changes"
