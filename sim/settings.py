"""Compiled settings: a scenario's strategy and costs turned into the engine's per-firm
parameters (`FirmSettings`), once, before a market runs. The Mesa views (`sim.agents`,
`sim.population`), `decompose` and `explain` read a strategy's parameters and costs from here
alone."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from sim.adaptation import AdaptationRule
from sim.engine import FirmSettings
from sim.resources import ResourceSettings
from sim.scenario.errors import ScenarioError
from sim.scenario.schema import mean_level

if TYPE_CHECKING:
    from sim.scenario.schema import CostSpec, Scenario, StrategySpec


#: `firm_settings` of the scenario's own costs, by (id(scenario), id(strategy), firms): both are
#: frozen, so equal ids holding the same objects give the same settings (a market of a sweep's
#: batch asks again for what the market before it compiled); cleared when it grows large
_COMPILED: dict[tuple[int, int, int], tuple[Scenario, StrategySpec, FirmSettings]] = {}
_COMPILED_MAX = 256


def firm_settings(
    scenario: Scenario, strategy: StrategySpec, costs: CostSpec | None = None, *, firms: int = 1
) -> FirmSettings:
    """The engine's parameters for a firm following ``strategy`` in ``scenario`` (compiled once
    per scenario, strategy and size when ``costs`` are the scenario's: `FirmSettings` is frozen)."""
    if costs is not None:
        return _compile(scenario, strategy, costs, firms)
    key = (id(scenario), id(strategy), firms)
    held = _COMPILED.get(key)
    if held is not None and held[0] is scenario and held[1] is strategy:
        return held[2]
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()
    settings = _compile(scenario, strategy, scenario.costs, firms)
    _COMPILED[key] = (scenario, strategy, settings)
    return settings


def _compile(
    scenario: Scenario, strategy: StrategySpec, costs: CostSpec, firms: int
) -> FirmSettings:
    """`firm_settings`, computed."""
    alphas = scenario.alpha_of(strategy)
    firm, learning = scenario.firm, scenario.firm.learning
    understanding, engagement = firm.understanding, firm.engagement
    return FirmSettings(
        alphas=alphas,
        coordination=strategy.coordination,
        sensing=_number_or_levels(scenario, strategy.sensing),
        p_jump=strategy.p_jump,
        proposals=strategy.proposals,
        search=strategy.search,
        cost=coordination_cost(strategy, costs, alphas),
        money_scale=firm.money_scale,
        break_even=firm.break_even,
        initial_cash=firm.initial_cash,
        gain=learning.gain,
        tau=learning.tau,
        reset=learning.reset,
        initial_experience=learning.initial_experience,
        bankruptcy=firms == 1,  # in a population, selection decides who stays
        alternatives=strategy.alternatives,
        understanding=None
        if understanding is None
        else scenario.per_department(understanding.initial),
        communication=_number_or_levels(scenario, strategy.communication)
        if understanding is not None
        else 0.0,
        forgetting=0.0 if understanding is None else understanding.forgetting,
        engagement=None if engagement is None else scenario.per_department(engagement.initial),
        erosion=0.0 if engagement is None else _number_or_levels(scenario, engagement.erosion),
        recovery=0.0 if engagement is None else engagement.recovery,
        turnover=0.0 if engagement is None else _number_or_levels(scenario, engagement.turnover),
        engaged_search=engagement is not None and engagement.drives_search,
        burn_in=firm.burn_in,
        sequential_order=strategy.sequential_order,
        resources=resource_settings(scenario, strategy),
        purpose=strategy.purpose,
    )


def resource_settings(scenario: Scenario, strategy: StrategySpec) -> ResourceSettings | None:
    """The budget split of a firm following ``strategy`` (`[resources]`; None when off)."""
    res = scenario.resources
    if res is None:
        return None
    names = [d.name for d in scenario.departments]
    shares = (
        tuple(1.0 / len(names) for _ in names)
        if res.shares is None
        else tuple(float(res.shares[n]) for n in names)
    )
    demand = tuple(
        tuple(float(res.demand[r.name].get(n, 0.0)) for n in names)
        for r in scenario.market.regimes
    )
    return ResourceSettings(
        shares=shares,
        demand=demand,
        returns=res.returns,
        max_move=res.max_move,
        moving_cost=res.moving_cost,
        activity_cost=res.activity_cost,
        tolerance=res.tolerance,
        rule=res.reallocation[strategy.coordination],
        scales_search=res.scales_search,
    )


def _number_or_levels(scenario: Scenario, value: float | dict) -> float | tuple[float, ...]:
    """A per-department setting for the engine: a number as it is (the firm-wide setting, its
    numbers unchanged), a table as one level per department in the scenario's order."""
    return scenario.per_department(value) if isinstance(value, dict) else value


def coordination_cost(strategy: StrategySpec, costs: CostSpec, alphas: tuple[float, ...]) -> float:
    """Money per period the strategy's coordination, alignment, sensing and communication
    cost (communication is paid whatever the understanding mechanism: it is the meetings).
    A sensing or communication rate given per department costs at its mean over departments."""
    return (
        costs.coordination[strategy.coordination]
        + costs.alignment * float(np.mean(alphas))
        + costs.sensing * mean_level(strategy.sensing)
        + costs.communication * mean_level(strategy.communication)
    )


def adaptation_of(
    scenario: Scenario, strategy_name: str, *, firms: int = 1
) -> tuple[AdaptationRule, int] | None:
    """How a firm run as ``strategy_name`` learns (`[adaptation]`): the rule, with every
    strategy of its menu compiled, and the index of the strategy it starts with; None if the
    scenario's strategies do not learn."""
    spec = scenario.adaptation
    if spec is None:
        return None
    names = tuple(spec.strategies)
    if spec.start == "own" and strategy_name not in names:
        raise ScenarioError(
            scenario.name,
            "adaptation.strategies",
            f"a firm run as {strategy_name!r} starts following it (adaptation.start = 'own'), so "
            f"it must be one of the strategies it learns among: {', '.join(names)}",
        )
    rule = AdaptationRule(
        names=names,
        menu=tuple(firm_settings(scenario, scenario.strategy(n), firms=firms) for n in names),
        review=spec.review,
        recency=spec.recency,
        aspiration_speed=spec.aspiration_speed,
        temperature=spec.temperature,
        start=spec.start,
        imitation=spec.imitation,
        imitation_noise=spec.imitation_noise,
        peers=_peers(scenario),
    )
    return rule, names.index(strategy_name) if strategy_name in names else 0


def _peers(scenario: Scenario) -> str:
    """Whom a firm of the scenario imitates (`sim.adaptation.PEERS`): its partners in a market
    with a network of partners, a rival in another market of competing firms, else the best
    of its population."""
    competition = scenario.competition
    if competition is None:
        return "population"
    network = competition.network
    return "rivals" if network is None or network.kind == "none" else "partners"
