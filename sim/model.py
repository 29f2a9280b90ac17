"""The market: a Mesa model owning the landscapes, the shift schedule and the firms."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import TYPE_CHECKING

import mesa
import numpy as np

from sim.agents import Firm
from sim.demand import demand_of
from sim.effects import (
    efficiency_change,
    efficiency_change_by_regime,
    regime_efficiency,
    with_efficiency_effects,
    with_market_value_effects,
)
from sim.engine import Engine, MarketState
from sim.environment import efficiency_edges, environment_rng
from sim.landscape import (
    MAX_TABLE_ENTRIES,
    CounterNK,
    GroupEvaluator,
    NKTables,
    best_configuration,
    edge_dependencies,
    graph_of,
    interaction_edges,
)
from sim.limits import TABULATED_DECISIONS
from sim.market import (
    MarketEnvironment,
    OnDemandLandscapes,
    Preference,
    PreferenceFit,
    ShiftEvent,
    preference_fit,
)
from sim.population import Population
from sim.purpose import impact_table, normalised_impact_table, with_valued_purpose
from sim.rivals import add_rivals
from sim.scenario.checks import check_seed
from sim.scenario.load import as_scenario
from sim.scenario.schema import (
    AbruptShift,
    CostSpec,
    GradualShift,
    RedrawShift,
    Scenario,
    StrategySpec,
    TurbulenceShift,
)
from sim.streams import firm_keys

if TYPE_CHECKING:
    import networkx as nx


@dataclass(frozen=True)
class Change:
    """A live change that acts from ``period`` on: the firm following strategy ``firm`` (every
    firm if None) adopts ``strategy`` and/or ``costs``; or, with ``shift_to``, customers move to
    that regime at ``period`` (an abrupt shift, like "shift now")."""

    period: int
    firm: str | None = None
    strategy: StrategySpec | None = None
    costs: CostSpec | None = None
    shift_to: str | None = None
    label: str = ""


class Market(mesa.Model):
    """Customers, market shifts and the firms that serve them (a Mesa model).

    ``Market(scenario=..., strategies=[...], rng=seed)`` builds the landscapes, the shift schedule
    and the starting configuration from the seed, then one `Firm` per strategy (or one
    `Population` per strategy when the scenario has ``population.firms > 1``). `step()` is one
    period: the market moves, then every firm acts; `run()` runs to the horizon.

    Arguments: ``scenario``, a `sim.scenario.Scenario` or a scenario's name
    (``"bakery_gluten_free"``); ``strategies``, the names of the scenario's strategies (one
    name alone is one firm), or (name, `StrategySpec`) pairs; ``rng``, the seed (a whole
    number from 0 to 2**63 - 1; None, as Mesa's ``batch_run`` passes it, draws one and keeps
    it in ``seed``); ``engine``, an engine shared with other markets (`step_together`).

    Attributes:

    - ``spec``: the scenario (Mesa's own ``scenario`` slot is not used: None);
    - ``seed``: the seed everything was drawn from (the one drawn when ``rng`` was None);
    - ``firms`` (`Firm` agents) or ``populations`` (`Population` agents), in strategy order;
    - ``period``: the current period (Mesa's ``time``); ``running``: False at the horizon;
    - ``datacollector``: a `mesa.DataCollector` of the per-period KPIs (`market_collector`):
      model-level columns per firm (``profit_aligned`` ...), agent-level rows per firm or
      population; so ``mesa.batch_run(Market, ...)`` and Mesa's ``SolaraViz`` work as on any
      Mesa model (docs/mesa.md);
    - ``environment`` (regimes, schedule, market value), ``port`` and ``best_performance``,
      ``efficiency``, ``market_value``, ``landscape_performance`` (per configuration), and
      ``interactions`` (the efficiency landscape's interaction graph);
    - ``shift_labels`` (per period), ``changes`` and ``replaced_shifts``: what happened.

    All randomness comes from the seed: the landscapes, the schedule and the start from the
    model's seeded generator (``self.rng``), and each firm's behaviour from a stream keyed by
    the seed, its strategy's name and its place in a population (`sim.streams`). So a strategy
    on a seed behaves the same alone, next to other firms, or in any order (common random
    numbers that do not depend on the company a firm keeps).

    With ``[competition]`` the market also holds the scenario's mix of competing firms and its
    waiting entrants (``rivals``, `sim.rivals.add_rivals`), which share its customers; then
    ``strategies`` defaults to none, and ``focal`` = (a strategy of the mix, a
    `StrategySpec`) makes that strategy's first incumbent follow the spec instead.

    The firms are rows of an `Engine`; markets of an experiment share one (``engine=``) and are
    stepped in lockstep by `step_together`. Market shifts, "shift now" and live changes are
    events on Mesa's schedule, recorded in ``shift_labels`` and ``changes``. A market on its
    own engine collects its KPIs at period 0 and after every `step`; markets stepped together
    do not (their records are the engine's: ``firm.log``, the experiment's tables).
    """

    def __init__(
        self,
        *,
        scenario: Scenario | str,
        strategies: Sequence[str | tuple[str, StrategySpec]] | str | None = None,
        rng: int | None = 0,
        engine: Engine | None = None,
        focal: tuple[str, StrategySpec] | None = None,
        on_demand: bool | None = None,
    ) -> None:
        scenario = as_scenario(scenario)  # a name or path is loaded
        seed = _seed_of(rng)
        if isinstance(strategies, str):  # one strategy's name: one firm
            strategies = (strategies,)
        super().__init__(rng=seed)
        self.spec = scenario  # (Mesa's own `scenario` attribute is a different thing)
        self.seed = seed
        self._datacollector: mesa.DataCollector | None = None
        env_rng = environment_rng(self.seed)  # = self.rng.spawn(1)[0], without spawning it
        n = len(scenario.decisions)
        self.n_decisions = n
        self.beta = scenario.firm.beta
        self.on_demand = n > TABULATED_DECISIONS if on_demand is None else bool(on_demand)
        if self.on_demand:
            _check_on_demand(scenario)

        self.standalone = engine is None
        self.engine = engine if engine is not None else engine_for(scenario)
        if self.engine.departments != scenario.department_decisions or (
            self.engine.horizon != scenario.horizon
        ):
            raise ValueError("markets sharing an engine need the same departments and horizon")
        # the engine's place for this market's tables: they are computed there (none copied)
        basis_size = len(scenario.market.regimes) + 1  # (`MarketEnvironment.basis`)
        reserved = None if self.on_demand else self.engine.reserve(basis_size)

        self._interaction_edges = efficiency_edges(scenario, env_rng)
        self._interactions: nx.DiGraph | None = None
        efficiency_land = _contributions(
            edge_dependencies(n, self._interaction_edges), env_rng, seed, "efficiency"
        )
        # effects whose efficiency part depends on the regime (docs/ODD.md §7.17): the table
        # follows the customers' regime weights (`_refresh_port`); None: fixed, as before
        self._efficiency_by_regime = efficiency_change_by_regime(scenario)
        if self.on_demand:
            department_efficiency = np.empty((0, len(scenario.departments)))
        elif self._efficiency_by_regime is None:
            department_efficiency = efficiency_land.group_means(
                scenario.department_decisions, out=None if reserved is None else reserved[0]
            )
            department_efficiency = with_efficiency_effects(scenario, department_efficiency)
        else:
            change = efficiency_change(scenario)
            self._efficiency_base = efficiency_land.group_means(
                scenario.department_decisions
            ) + (0.0 if change is None else change)
            department_efficiency = self._efficiency_base.copy()  # set by `_refresh_port`
        sizes = np.array([len(dec) for dec in scenario.department_decisions], dtype=float)
        self.department_weights = sizes / sizes.sum()
        self.department_masks = np.array(
            [sum(1 << i for i in dec) for dec in scenario.department_decisions], dtype=np.int64
        )

        market = scenario.market
        rugged_edges = interaction_edges(
            market.structure, [list(range(n))], k=min(market.k, n - 1), rng=env_rng
        )
        index = scenario.decision_index
        wanted = {
            r.name: [Preference(index[p.decision], p.value, p.weight) for p in r.preferences]
            for r in market.regimes
        }
        if self.on_demand:
            regimes = {name: PreferenceFit(tuple(p)) for name, p in wanted.items()}
        else:
            regimes = {name: preference_fit(p, n) for name, p in wanted.items()}
            regimes = with_market_value_effects(scenario, with_valued_purpose(scenario, regimes))
        self.environment = MarketEnvironment(
            n=n,
            rho=market.rho,
            regimes=regimes,
            rugged=_contributions(edge_dependencies(n, rugged_edges), env_rng, seed, "rugged"),
            regime=scenario.initial_regime,
            schedule=build_schedule(scenario, env_rng),
            rng=env_rng,
            basis_out=None if reserved is None else reserved[2],
        )
        self.shift_labels: list[str] = [""] * (scenario.horizon + 1)
        self.changes: list[dict] = []
        self.replaced_shifts: list[tuple[int, str]] = []  # scheduled shifts "shift now" replaced
        self.state = MarketState(
            department_efficiency=department_efficiency,
            beta=self.beta,
            basis=self.environment.basis,
            weights=self.environment.weights,
            landscape_performance=np.empty(0) if reserved is None else reserved[1],
            port=0,
            best=1.0,
            on_basis=self._share_basis,
            demand=demand_of(scenario),
            impact=impact_table(scenario),
            impact_norm=normalised_impact_table(scenario),
            levy=0.0 if scenario.purpose is None else scenario.purpose.levy,
            threshold=0.0 if scenario.purpose is None else scenario.purpose.threshold,
        )
        # (1 - beta) E, kept by `_refresh_port` while customers move every period
        self._efficiency_weighted: np.ndarray | None = None
        if self.on_demand:
            self.state.basis = np.empty((self.environment.basis_size, 0))
            self.state.landscapes = OnDemandLandscapes(
                efficiency=GroupEvaluator(
                    efficiency_land, scenario.department_decisions, tabulate_up_to=0
                ),
                department_weights=self.department_weights,
                environment=self.environment,
                beta=self.beta,
            )
        self._refresh_port()
        start = self._starting_configuration(int(env_rng.integers(0, 2**n)))
        self.start_config = start

        population = scenario.population
        if population.firms > 1 and population.starts == "random":
            drawn = env_rng.integers(0, 2**n, size=population.firms)
            if scenario.firm.start == "random":  # `_starting_configuration` for every draw
                fixed_mask, fixed_bits = self._fixed_decisions()
                starts = (drawn & ~fixed_mask) | fixed_bits
            else:  # the fitted or efficient start, whatever the draw
                starts = np.full(population.firms, self._starting_configuration(0))
        else:
            starts = np.full(population.firms, start, dtype=np.int64)

        self.index = self.engine.add_market(self.state)
        self.population_starts = starts
        self.firms: list[Firm] = []
        self.populations: list[Population] = []
        if strategies is None:  # a market of competing firms holds its mix (`add_rivals`)
            strategies = () if scenario.competition is not None else ("efficiency_only",)
        for entry in strategies:
            name, spec = (entry, scenario.strategy(entry)) if isinstance(entry, str) else entry
            self.add_firm(name, spec)
        # the competing firms of `[competition]` (or none); ``focal`` = (a strategy of the
        # mix, a spec): its first incumbent follows the spec instead, keeping the name and
        # its random stream (a decomposition swaps one firm's ingredients, rivals unchanged)
        self.rivals = add_rivals(self, focal=focal)
        self._scheduled: set[int] = set()
        self._changes: dict[int, list[Change]] = {}
        for event in self.environment.schedule:
            self._schedule_shift(event.time)
        if self.standalone:
            self.engine.build()
            self.datacollector.collect(self)  # period 0
        else:
            # a market sharing an engine is stepped by `step_together`, which advances its
            # clock (running its shift and change events) and then steps all markets' firms at
            # once: no step event of its own (as Mesa does for pure event-driven models)
            self._default_schedule.stop()

    def add_firm(
        self,
        name: str,
        strategy: StrategySpec,
        *,
        scenario: Scenario | None = None,
        stream: str | None = None,
    ) -> Firm | Population:
        """A firm (or a population, if the scenario has one) following ``strategy``, before the
        first period. ``scenario`` (default: the market's) gives its costs, money and metrics;
        it must build the same market. ``stream`` names its random stream (default: ``name``)."""
        scenario = self.spec if scenario is None else scenario
        if scenario.population.firms > 1:
            agent = Population(
                self,
                strategy_name=name,
                strategy=strategy,
                configs=self.population_starts,
                scenario=scenario,
                stream=stream,
            )
            self.populations.append(agent)
        else:
            agent = Firm(
                self,
                strategy_name=name,
                strategy=strategy,
                config=self.start_config,
                scenario=scenario,
                stream=stream,
            )
            self.firms.append(agent)
        return agent

    def __repr__(self) -> str:
        from sim.display import market_repr

        return market_repr(self)

    @property
    def scenario(self) -> None:
        """Mesa's experimental `mesa.experimental.scenarios.Scenario` slot: not used (None).
        The market's parameters are a `sim.scenario.Scenario`, given as ``scenario=`` and kept
        in ``spec``. (None also lets Mesa's SolaraViz rebuild the market from its parameters.)
        """
        return None

    @scenario.setter
    def scenario(self, value: object) -> None:  # set by mesa.Model.__init__: not kept
        pass

    @property
    def datacollector(self) -> mesa.DataCollector:
        """The market's `mesa.DataCollector` (`market_collector`): the per-period KPIs, made
        when first read. A market on its own engine collects at period 0 and after each
        `step`; markets stepped together (`step_together`) leave it to their tables."""
        if self._datacollector is None:
            self._datacollector = market_collector(self)
        return self._datacollector

    @datacollector.setter
    def datacollector(self, collector: mesa.DataCollector) -> None:
        self._datacollector = collector

    def _repr_html_(self) -> str:
        from sim.display import market_html

        return market_html(self)

    def _starting_configuration(self, drawn: int) -> int:
        """Apply ``firm.initial_decisions`` and ``firm.start`` to a random draw."""
        firm = self.spec.firm
        fixed_mask, fixed_bits = self._fixed_decisions()
        if firm.start == "random":
            return (drawn & ~fixed_mask) | fixed_bits
        if self.on_demand:
            return self._best_start(fixed_mask, fixed_bits)
        score = self.efficiency if firm.start == "efficient" else self.landscape_performance
        allowed = _allowed_configurations(score.size, fixed_mask, fixed_bits)
        return int(allowed[np.argmax(score.take(allowed))])

    def _best_start(self, fixed_mask: int, fixed_bits: int) -> int:
        """The efficient or fitted start of a market evaluated on demand: the best configuration
        with the fixed decisions, over the free ones (exact up to 20 free decisions, as the
        tabulated search; above, the best of ``metrics.port_restarts`` local searches)."""
        land = self.state.landscapes
        free = [i for i in range(self.n_decisions) if not (fixed_mask >> i) & 1]
        if not free:
            return fixed_bits
        places = np.array(free, dtype=np.uint64)

        def score(configs: np.ndarray) -> np.ndarray:
            bits = (configs[..., None] >> np.arange(len(free), dtype=np.uint64)) & np.uint64(1)
            full = np.bitwise_or.reduce(bits << places, axis=-1) | np.uint64(fixed_bits)
            if self.spec.firm.start == "efficient":
                return land.efficiency_at(full) @ self.department_weights
            return land.performance_at(full)

        best = best_configuration(
            score,
            len(free),
            restarts=self.spec.metrics.port_restarts,
            key=int(firm_keys(self.seed, "start", 1)[0]),
        )
        return int(sum(((best.config >> k) & 1) << i for k, i in enumerate(free))) | fixed_bits

    def _fixed_decisions(self) -> tuple[int, int]:
        """The mask and values of the decisions ``firm.initial_decisions`` fixes."""
        index = self.spec.decision_index
        fixed_mask = fixed_bits = 0
        for name, value in self.spec.firm.initial_decisions.items():
            fixed_mask |= 1 << index[name]
            fixed_bits |= value << index[name]
        return fixed_mask, fixed_bits

    @property
    def interactions(self) -> nx.DiGraph:
        """The efficiency landscape's interaction structure: an edge ``j -> i`` says decision
        i's contribution depends on j; each node holds its department (built when first read)."""
        if self._interactions is None:
            self._interactions = graph_of(self.spec.department_decisions, self._interaction_edges)
        return self._interactions

    @property
    def period(self) -> int:
        """The current period: Mesa's model time (one period per time unit)."""
        return int(self.time)

    @property
    def market_value(self) -> np.ndarray:
        """True market value V of every configuration now (N <= 16)."""
        self._tabulated("market_value")
        return self.environment.value

    @property
    def efficiency(self) -> np.ndarray:
        """E of every configuration before learning: sum_d w_d * E_d (computed on each call;
        N <= 16)."""
        return self.department_efficiency @ self.department_weights

    @property
    def department_efficiency(self) -> np.ndarray:
        """E_d of every configuration for every department, shape (2**N, D), before learning
        (N <= 16)."""
        self._tabulated("department_efficiency")
        return self.state.department_efficiency

    @property
    def landscape_performance(self) -> np.ndarray:
        """Performance of every configuration now, before learning: beta * V + (1 - beta) * E
        (N <= 16)."""
        self._tabulated("landscape_performance")
        return self.state.landscape_performance

    @property
    def landscapes(self) -> OnDemandLandscapes | None:
        """A market evaluated on demand (N > 16): its efficiency, market value basis and
        performance of any configurations (`sim.market.OnDemandLandscapes`); None if tabulated."""
        return self.state.landscapes

    @property
    def port_is_estimate(self) -> bool:
        """Whether `port` and `best_performance` are estimates (the best of
        ``metrics.port_restarts`` local searches: N > 16) rather than exact."""
        return self.on_demand and self.n_decisions > TABULATED_DECISIONS

    def _tabulated(self, name: str) -> None:
        if self.on_demand:
            raise ValueError(
                f"Market.{name} holds every configuration, which needs N <= "
                f"{TABULATED_DECISIONS} decisions (this market has {self.n_decisions} and is "
                "evaluated on demand): evaluate configurations with Market.landscapes"
            )

    @property
    def port(self) -> int:
        """The best configuration now."""
        return self.state.port

    @property
    def best_performance(self) -> float:
        """The best configuration's performance now."""
        return self.state.best

    # ---- events on Mesa's schedule ----
    def _schedule_shift(self, period: int) -> None:
        """Shifts of ``period`` act between periods, before the firms of ``period`` move."""
        if period not in self._scheduled and self.period < period <= self.spec.horizon:
            self._scheduled.add(period)
            self.schedule_event(self._market_moves, at=period - 0.5)

    def _market_moves(self) -> None:
        t = int(self.time + 0.5)
        events = self.environment.due(t)
        self.environment.shift(events, t)
        if events:
            self.shift_labels[t] = "; ".join(e.label for e in events)

    def shift_now(self, to: str | None = None) -> ShiftEvent:
        """Customers move abruptly at the next period: to regime ``to``, or to the next regime.

        The next scheduled shift to the same regime is cancelled (this one came first; it is
        listed in ``replaced_shifts``). Asked again before that period, it returns the shift
        already planned.
        """
        regimes = [r.name for r in self.spec.market.regimes]
        if to is None:
            current = self.environment.regime
            to = (
                regimes[(regimes.index(current) + 1) % len(regimes)]
                if current in regimes
                else regimes[0]
            )
        return self._shift_at(self.period + 1, to, f"customers move to {to} (now)")

    def _shift_at(self, t: int, to: str, label: str) -> ShiftEvent:
        """An abrupt shift to ``to`` at period ``t``, replacing the next scheduled one to it."""
        regimes = [r.name for r in self.spec.market.regimes]
        if to not in regimes:
            raise ValueError(f"unknown regime {to!r}; allowed: {', '.join(regimes)}")
        schedule = self.environment.schedule
        for event in self.environment.due(t):
            if event.label.endswith("(now)") and event.to == to:
                return event
        later = [e for e in schedule if e.time >= t and e.kind == "regime" and e.to == to]
        if later:
            replaced = min(later, key=lambda e: e.time)
            schedule.remove(replaced)
            self.replaced_shifts.append((replaced.time, replaced.label))
        event = ShiftEvent(t, "regime", to=to, label=label)
        self.environment.add_shift(event)
        self._schedule_shift(t)
        return event

    def schedule(self, change: Change) -> None:
        """Make ``change`` at its period: an event on Mesa's schedule between periods."""
        horizon = self.spec.horizon
        if not self.period < change.period <= horizon:
            raise ValueError(
                f"a change acts from a period after {self.period} up to {horizon}, "
                f"not {change.period}"
            )
        if change.shift_to is not None:
            label = change.label or f"customers move to {change.shift_to} (now)"
            self._shift_at(change.period, change.shift_to, label)
            return
        self._changes.setdefault(change.period, []).append(change)
        if len(self._changes[change.period]) == 1:
            self.schedule_event(self._make_changes, at=change.period - 0.5)

    def _make_changes(self) -> None:
        for change in self._changes.pop(int(self.time + 0.5), []):
            for firm in self.firms:
                if change.firm is None or firm.strategy_name == change.firm:
                    strategy = change.strategy if change.strategy is not None else firm.strategy
                    firm.set_strategy(strategy, costs=change.costs, label=change.label or None)

    def record_change(self, firm: Firm, label: str) -> None:
        """Record a live change of ``firm`` acting from the next period."""
        self.changes.append(
            {"period": self.period + 1, "strategy": firm.strategy_name, "change": label}
        )

    def _share_basis(self, basis: np.ndarray) -> None:
        self.environment.basis = basis

    def _refresh_port(self) -> None:
        """Landscape performance, its maximum and the best configuration ("port"): exact over
        all configurations, or, above 16 decisions, the best of ``metrics.port_restarts``
        local searches (an estimate: first improvement in sweeps,
        `OnDemandLandscapes.best_by_restarts`; docs/ODD.md 7.11)."""
        state = self.state
        if self.on_demand:
            restarts, key = self.spec.metrics.port_restarts, int(firm_keys(self.seed, "port", 1)[0])
            if self.port_is_estimate and self.environment.shifting:
                # customers moving a little each period: the port followed by a climb from
                # the last one (a few sweeps); the full search again once the shift is over
                best = state.landscapes.best_from(np.array([state.port], dtype=np.uint64))
            elif self.port_is_estimate:
                best = state.landscapes.best_by_restarts(restarts, key)
            else:  # every configuration, evaluated on demand: exact, as the tables
                best = best_configuration(state.landscapes.performance_at, self.n_decisions)
            state.port, state.best = best.config, best.value
            state.weights = self.environment.weights
            state.basis = np.empty((self.environment.basis_size, 0))
            state.version = self.environment.version
            return
        if self._efficiency_by_regime is not None:  # in place: the engine reads this table
            state.department_efficiency[...] = regime_efficiency(
                self._efficiency_base,
                self._efficiency_by_regime,
                self.environment.regime_weights,
                [r.name for r in self.spec.market.regimes],
            )
            self._efficiency_weighted = None  # E moves with the regime: computed again
        weighted = self._efficiency_weighted  # (1 - beta) E: kept during a gradual shift,
        if weighted is None and self.environment.shifting:  # which moves the port each period
            weighted = self._efficiency_weighted = (1.0 - self.beta) * self.efficiency
        weights = self.environment.weights
        value = self.beta * (weights @ self.environment.basis)  # (`environment.value`)
        performance = state.landscape_performance  # in place: the engine's copy
        if performance.shape != value.shape:
            performance = state.landscape_performance = np.empty_like(value)
        if weighted is None:  # (1 - beta) E made where the sum goes: no table of its own
            np.matmul(self.department_efficiency, self.department_weights, out=performance)
            weighted = np.multiply(1.0 - self.beta, performance, out=performance)
        np.add(value, weighted, out=performance)
        state.port = int(np.argmax(state.landscape_performance))
        state.best = float(state.landscape_performance[state.port])
        state.basis = self.environment.basis
        state.weights = weights
        state.version = self.environment.version

    # ---- the period ----
    def step(self) -> None:
        """One period: the market moves (shifts), then every firm acts; then the KPIs are
        collected (``datacollector``)."""
        self.advance()
        self.engine.update_market(self.index)
        self.engine.step(self.period)
        self.datacollector.collect(self)

    def advance(self, t: int | None = None) -> None:
        """The market's part of period ``t`` (default: the current period), after its shift
        events: a gradual shift moves on, and the port follows market value."""
        t = self.period if t is None else t
        if t > self.spec.horizon:
            raise RuntimeError(f"period {t} is past the scenario's horizon ({self.spec.horizon})")
        self.environment.progress(t)
        if self.environment.version != self.state.version:
            self._refresh_port()
        if t >= self.spec.horizon:
            self.running = False

    def _moves_on(self, t: int) -> bool:
        """Whether `advance(t)` would change anything: a gradual shift under way, customers
        moved since the port was found, or the horizon reached."""
        env = self.environment
        return env.shifting or env.version != self.state.version or t >= self.spec.horizon

    def _next_look(self, t: int) -> float:
        """The first period after ``t`` for which `_event_due` or `_moves_on` may be True
        (`step_together` looks at the market then, not before)."""
        env = self.environment
        if env.shifting or env.version != self.state.version:
            return t + 1
        events = getattr(self._event_list, "_events", None)
        if events is None:  # (Mesa's event list unknown: look every period)
            return t + 1
        due = math.ceil(events[0].time) if events else math.inf  # (a heap: [0] is first)
        return max(t + 1, min(due, self.spec.horizon))

    def _event_due(self, t: float) -> bool:
        """Whether an event on Mesa's schedule may be due by ``t`` (True if unsure)."""
        events = getattr(self._event_list, "_events", None)
        return events is None or (len(events) > 0 and events[0].time <= t)

    def run(self) -> Market:
        """Run to the scenario's horizon (a market sharing an engine: `step_together`)."""
        if not self.standalone:
            raise RuntimeError("this market shares an engine: run it with step_together(markets)")
        remaining = self.spec.horizon - self.period
        if remaining > 0:
            self.run_for(remaining)
        return self


@lru_cache(maxsize=64)  # one per scenario's fixed decisions: the same for every seed
def _allowed_configurations(size: int, fixed_mask: int, fixed_bits: int) -> np.ndarray:
    """The configurations (of ``size``) with the decisions of ``fixed_mask`` set to
    ``fixed_bits``, in order (read-only)."""
    configs = np.arange(size, dtype=np.int64)
    allowed = configs[(configs & fixed_mask) == fixed_bits]
    allowed.flags.writeable = False
    return allowed


def _contributions(
    deps: tuple[tuple[int, ...], ...], rng: np.random.Generator, seed: int, name: str
) -> NKTables | CounterNK:
    """A landscape's contributions: tables drawn from ``rng`` (as always), or, where a
    decision depends on so many others that its table would not fit (more than
    `MAX_TABLE_ENTRIES` rows: K > 21), counter-based draws keyed by the seed and ``name``."""
    if max((2 ** (1 + len(d)) for d in deps), default=0) <= MAX_TABLE_ENTRIES:
        return NKTables.draw(deps, rng)
    return CounterNK.from_seed(deps, seed, name)


def _check_on_demand(scenario: Scenario) -> None:
    """Refuse what a market evaluated on demand (N > 16) cannot do yet, naming the field."""
    n = len(scenario.decisions)
    if scenario.effects:
        raise ValueError(
            f"effects: designed effects change tables over every configuration, which need at "
            f"most {TABULATED_DECISIONS} decisions (this scenario has {n}; a market evaluated "
            "on demand has no such tables)"
        )
    if scenario.purpose is not None:
        raise ValueError(
            f"purpose: the impact table covers every configuration, which needs at most "
            f"{TABULATED_DECISIONS} decisions (this scenario has {n}; a market evaluated on "
            "demand has no such tables)"
        )


def engine_for(
    scenario: Scenario, *, markets: int = 1, records: Iterable[str] | None = None
) -> Engine:
    """An empty engine for the scenario's departments and horizon, with room for ``markets``;
    ``records``: a population's per-period records kept (`sim.engine.History`; all by default)."""
    return Engine(
        departments=scenario.department_decisions,
        horizon=scenario.horizon,
        capacity=markets,
        records=records,
    )


def step_together(markets: Sequence[Market]) -> None:
    """Run markets that share one engine to their horizon in lockstep: each period every
    market's clock moves to it if an event is due (running its shift and change events,
    Mesa's `run_until`) and the market moves on (`Market.advance`), then the engine steps all
    their firms at once. Clocks with nothing due catch up at the end (they cost more than the
    rest of a market's period)."""
    if not markets:
        return
    engine = markets[0].engine
    engine.build()
    first = markets[0].period + 1
    # the period each market next needs a look (an event due, customers moving, the horizon):
    # the markets with nothing to do are skipped (the same calls would change nothing)
    look = np.array([m._next_look(first - 1) for m in markets])
    for t in range(first, engine.horizon + 1):
        for i in np.flatnonzero(look <= t):
            market = markets[i]
            if market._event_due(t):
                market.run_until(t)
            if market._moves_on(t):
                market.advance(t)
                engine.update_market(market.index)
            look[i] = market._next_look(t)
        engine.step(t)
    for market in markets:
        if market.time < engine.horizon:
            market.run_until(engine.horizon)


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
                to = _turbulence_target(s, current, regimes, rng)
                if to is None:  # already at the only target, or an absorbing regime
                    continue
                event = ShiftEvent(t, "regime", to=to, label=f"turbulence: customers move to {to}")
            events.append(event)
            events.sort(key=lambda e: e.time)
    return events


def _turbulence_target(
    shift: TurbulenceShift, current: str, regimes: list[str], rng: np.random.Generator
) -> str | None:
    """Where a turbulence shift takes customers from ``current`` (None: nowhere)."""
    if shift.to is not None:
        return None if shift.to == current else shift.to
    if shift.targets is not None:
        weights = {r: w for r, w in shift.targets.items() if r != current}
    elif shift.transitions is not None:
        weights = {r: w for r, w in shift.transitions.get(current, {}).items() if w > 0}
    else:
        return str(rng.choice([r for r in regimes if r != current]))
    if not weights:
        return None
    names = list(weights)
    p = np.array([weights[r] for r in names])
    to = names[int(rng.choice(len(names), p=p / p.sum()))]
    return None if to == current else to  # a weight on staying: no shift


def _regime_at(initial: str, events: list[ShiftEvent], t: int) -> str:
    regime = initial
    for e in events:
        if e.time <= t and e.kind == "regime":
            regime = e.to
    return regime


def _redraw_label(scenario: Scenario, decisions: tuple[int, ...]) -> str:
    names = ", ".join(scenario.decisions[i] for i in decisions)
    return f"what customers value in {names} changes"


def _seed_of(rng: object) -> int:
    """The market's seed from ``rng``: a whole number from 0 to 2**63 - 1 (`check_seed`), or
    None for a seed drawn from the operating system's entropy (0 to 2**32 - 1, kept in
    ``Market.seed``)."""
    if rng is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint32)[0])
    return check_seed(rng, "rng")


#: What `market_collector` records per firm each period: its column in the engine's history.
FIRM_KPIS = ("efficiency", "market_value", "performance_norm", "profit", "cash")


def market_collector(market: Market) -> mesa.DataCollector:
    """A `mesa.DataCollector` of ``market``'s per-period KPIs, read from the engine's records.

    Model level (one row per period, `get_model_vars_dataframe`): ``seed``, ``period``,
    ``regime`` (what customers value now), ``market_shift`` (the period's shift labels),
    ``firms_open``, and per firm ``<kpi>_<strategy>`` for each of `FIRM_KPIS` (for a
    population, its mean ``performance_norm_<strategy>``). Agent level
    (`get_agenttype_vars_dataframe(Firm)`; the agents' rows of ``mesa.batch_run``): per firm
    ``strategy``, ``alive``, ``config``, ``miles``, ``distance_to_port`` and `FIRM_KPIS`; per
    population ``strategy``, ``performance_norm`` (mean), ``best_performance_norm`` and
    ``distinct_forms``. A closed firm's efficiency, market value and performance are NaN,
    its profit 0 (docs/ODD.md section 9.1).
    """
    model: dict[str, object] = {
        "seed": "seed",
        "period": _period,
        "regime": _regime,
        "market_shift": _market_shift,
        "firms_open": _firms_open,
    }
    names = [f.strategy_name for f in market.firms] + [p.strategy_name for p in market.populations]
    taken: set[str] = set()
    for i, firm in enumerate(market.firms):
        suffix = _unique(names[i], taken)
        for kpi in FIRM_KPIS:
            model[f"{kpi}_{suffix}"] = partial(_firm_kpi, row=firm.row, kpi=kpi)
    for population in market.populations:
        suffix = _unique(population.strategy_name, taken)
        model[f"performance_norm_{suffix}"] = partial(_population_norm, rows=population.rows)
    firm_reporters: dict[str, object] = {
        "strategy": "strategy_name",
        "alive": "alive",
        "config": "config",
        "miles": partial(_agent_record, kpi="moved"),
        "distance_to_port": partial(_agent_record, kpi="distance_to_port"),
    }
    firm_reporters.update({kpi: partial(_agent_record, kpi=kpi) for kpi in FIRM_KPIS})
    agents: dict[type, dict[str, object]] = {}
    if market.firms:
        agents[Firm] = firm_reporters
    if market.populations:
        agents[Population] = {
            "strategy": "strategy_name",
            "performance_norm": partial(_population_agent, kpi="performance_norm"),
            "best_performance_norm": partial(_population_agent, kpi="best"),
            "distinct_forms": partial(_population_agent, kpi="forms"),
        }
    return mesa.DataCollector(model_reporters=model, agenttype_reporters=agents or None)


def _unique(name: str, taken: set[str]) -> str:
    suffix, k = name, 2
    while suffix in taken:
        suffix, k = f"{name}_{k}", k + 1
    taken.add(suffix)
    return suffix


def _period(market: Market) -> int:
    return market.period


def _regime(market: Market) -> str:
    return str(market.environment.regime)


def _market_shift(market: Market) -> str:
    return market.shift_labels[market.period]


def _firms_open(market: Market) -> int:
    return int(sum(market.engine.history.alive[market.period, f.row] for f in market.firms))


def _firm_kpi(market: Market, *, row: int, kpi: str) -> float:
    return float(getattr(market.engine.history, kpi)[market.period, row])


def _population_norm(market: Market, *, rows: slice) -> float:
    return float(market.engine.history.performance_norm[market.period, rows].mean())


def _agent_record(agent: Firm, *, kpi: str) -> float | int:
    value = getattr(agent.engine.history, kpi)[agent.market.period, agent.row]
    return int(value) if kpi in ("moved", "distance_to_port") else float(value)


def _population_agent(agent: Population, *, kpi: str) -> float | int:
    t = agent.market.period
    if kpi == "forms":
        return int(agent.log.distinct_forms()[t])
    norm = agent.engine.history.performance_norm[t, agent.rows]
    return float(norm.mean() if kpi == "performance_norm" else norm.max())
