"""Markets beyond 16 decisions: evaluated on demand, the same numbers as the tables where both
exist, and the port estimated by restarts of local search (docs/ODD.md, 7.2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.limits import MAX_DECISIONS
from sim.model import Market
from sim.scenario import load_scenario
from sim.scenario.errors import ScenarioError
from sim.scenario.load import scenario_to_dict, validate_scenario

# shipped scenarios without designed effects (which need tables): one of each kind of market
# (a stable one, an abrupt shift, a gradual one with learning firms, redraws)
EQUIVALENT = ["bakery_town", "canteen_stable", "boutique_online", "hospitality_eco_tourism"]


def _logs(scenario, seed: int, on_demand: bool) -> tuple[list[pd.DataFrame], Market]:
    market = Market(
        scenario=scenario, strategies=list(scenario.all_strategies), rng=seed, on_demand=on_demand
    )
    market.run()
    return [f.log.to_frame() for f in market.firms], market


@pytest.mark.parametrize("name", EQUIVALENT)
def test_on_demand_evaluation_gives_the_tables_numbers(name):
    """Every firm's every record is the same number when the market is evaluated on demand as
    when it is read from tables over all 2**N configurations; normalised performance to the
    last bit but one (landscape performance is a BLAS product over a different set of
    configurations: 1e-16 relative differences), the rest bit for bit."""
    scenario = load_scenario(name)
    tabulated, a = _logs(scenario, 0, on_demand=False)
    on_demand, b = _logs(scenario, 0, on_demand=True)
    assert b.landscapes is not None and a.landscapes is None
    assert (a.port, a.best_performance) == (b.port, b.best_performance)
    assert not b.port_is_estimate  # at 16 decisions or fewer the port is still exact
    for x, y in zip(tabulated, on_demand, strict=True):
        pd.testing.assert_frame_equal(
            x.drop(columns="performance_norm"), y.drop(columns="performance_norm")
        )
        np.testing.assert_allclose(x["performance_norm"], y["performance_norm"], rtol=1e-12)


def test_a_negative_control_a_different_landscape_differs():
    scenario = load_scenario("bakery_town")
    seed0, _ = _logs(scenario, 0, on_demand=True)
    seed1, _ = _logs(scenario, 1, on_demand=True)
    assert not seed0[0]["efficiency"].equals(seed1[0]["efficiency"])


@pytest.fixture(scope="module")
def furniture():
    market = Market(scenario="scenarios/furniture_maker.toml", rng=3, strategies=["aligned"])
    market.run()
    return market


def test_a_market_of_32_decisions_runs_with_an_estimated_port(furniture):
    assert furniture.n_decisions == 32 and furniture.on_demand and furniture.port_is_estimate
    land = furniture.landscapes
    port = np.array([furniture.port], dtype=np.uint64)
    assert land.performance_at(port)[0] == furniture.best_performance
    # the estimate is a local peak: no one-bit flip improves on it
    flips = port ^ (np.uint64(1) << np.arange(32, dtype=np.uint64))
    assert (land.performance_at(flips) < furniture.best_performance).all()
    frame = furniture.firms[0].log.to_frame()
    assert frame["performance_norm"].between(0, 1).all()  # no firm beats the estimate here
    assert frame["distance_to_port"].between(0, 32).all()
    assert frame["config"].max() < 2**32


def test_whole_landscape_views_refuse_a_market_evaluated_on_demand(furniture):
    for name in ("market_value", "efficiency", "landscape_performance", "department_efficiency"):
        with pytest.raises(ValueError, match="N <= 16"):
            getattr(furniture, name)
    with pytest.raises(ValueError, match="on demand"):
        _ = furniture.firms[0].belief


def test_designed_effects_are_refused_above_16_decisions():
    scenario = load_scenario("scenarios/furniture_maker.toml")
    effect = {"description": "x", "when": {"design.design_awards": 1}}
    with pytest.raises(ValueError, match="effects: designed effects"):
        Market(scenario=scenario.model_copy(update={"effects": [effect]}), rng=0)


def test_more_decisions_than_a_configuration_holds_are_refused():
    names = [f"d{i}" for i in range(MAX_DECISIONS + 1)]
    data = scenario_to_dict(load_scenario("scenarios/furniture_maker.toml"))
    data["departments"] = [{"name": "all", "decisions": names}]
    with pytest.raises(ScenarioError, match=f"64 decisions in all; at most {MAX_DECISIONS}"):
        validate_scenario(data)


def _plain_sweeps(land, starts: np.ndarray, order: np.ndarray) -> np.ndarray:
    """First improvement in sweeps written plainly: one search at a time, each flip scored by
    evaluating the whole flipped configuration (`performance_at`), bits visited in ``order``."""
    peaks = []
    for start in starts:
        config = np.array([start], dtype=np.uint64)
        value = land.performance_at(config)[0]
        improved = True
        while improved:
            improved = False
            for j in order:
                flipped = config ^ (np.uint64(1) << np.uint64(j))
                after = land.performance_at(flipped)[0]
                if after > value:
                    config, value, improved = flipped, after, True
        peaks.append(config[0])
    return np.array(peaks, dtype=np.uint64)


def test_the_port_climb_is_first_improvement_in_sweeps():
    """`OnDemandLandscapes.best_by_restarts` climbs by first improvement in sweeps, scoring a
    flip by the contributions it changes (`_ClimbPlan`: the bits of one colour at once). The
    same rule written plainly (one search at a time, whole configurations evaluated, the bits
    in the plan's order) reaches the same peak from each of 20 starts in 3 markets of 32
    decisions (rounding could break a near-tie differently: at least 58 of 60), every peak is
    a local peak, and the port's value is the performance of its configuration."""
    from sim.landscape import restart_starts
    from sim.market import _climb_plan

    same = 0
    flips = np.uint64(1) << np.arange(32, dtype=np.uint64)
    for seed in range(3):
        market = Market(scenario="scenarios/furniture_maker.toml", rng=seed, strategies=[])
        land = market.landscapes
        terms, per_bit = land._linear_terms()
        plan, tabulated, computed = _climb_plan(32, terms)
        starts = restart_starts(32, 20, seed)
        peaks = plan.climb(tabulated, computed, per_bit, starts)
        same += int((peaks == _plain_sweeps(land, starts, np.concatenate(plan.colours))).sum())
        values = land.performance_at(peaks)
        assert (land.performance_at(peaks[:, None] ^ flips[None, :]) <= values[:, None]).all()
        best = land.best_from(starts)
        assert best.value == values.max() and best.config == peaks[np.argmax(values)]
        port = land.best_by_restarts(50, seed)
        assert port.value == land.performance_at(np.array([port.config], dtype=np.uint64))[0]
    assert same >= 58


def _firm(n: int) -> dict:
    """A firm of ``n`` decisions in departments of six, as `benchmarks/scale.py`'s."""
    names = [f"d{i}" for i in range(n)]
    departments = [
        {"name": f"dept{d}", "decisions": names[s : s + 6]} for d, s in enumerate(range(0, n, 6))
    ]
    wants = [{"decision": names[i], "value": 1, "weight": 1.0} for i in range(0, n, 3)]
    return {
        "name": f"firm_{n}",
        "horizon": 10,
        "departments": departments,
        "efficiency": {"structure": "nearly_decomposable", "k_within": 3, "cross": 1},
        "market": {"rho": 0.3, "k": 3, "regimes": [{"name": "now", "preferences": wants}]},
        "firm": {"beta": 0.6, "start": "random"},
        "strategies": {"aligned": {"alpha": 0.7, "coordination": "hierarchical"}},
    }


def test_the_estimated_port_reaches_the_exact_best_of_markets_of_18_decisions():
    """At 18 decisions every configuration can be evaluated (2**18), so the true best is
    known. The model's estimate (`best_by_restarts`, 200 restarts) is the exact best in at
    least 11 of 12 markets and never better than it. A negative control: a single restart
    reaches it in at most 8 of them."""
    scenario = validate_scenario(_firm(18))
    everything = np.arange(2**18, dtype=np.uint64)
    hits = single = 0
    for seed in range(12):
        market = Market(scenario=scenario, rng=seed, strategies=[])
        land = market.landscapes
        exact = land.performance_at(everything).max()
        estimate = land.best_by_restarts(200, seed)
        assert estimate.value <= exact
        hits += estimate.value == exact
        single += land.best_by_restarts(1, seed).value == exact
    assert hits >= 11
    assert single <= 8


def test_the_estimated_port_is_the_true_best_of_small_markets_mostly():
    """At 14 decisions the true best is known: evaluated on demand with the estimate forced
    (`best_by_restarts`, 200 restarts), the bakery's port is the exact one in at least 18 of
    20 markets, and never better than it."""
    hits = 0
    for seed in range(20):
        market = Market(scenario="bakery_town", rng=seed, strategies=[], on_demand=True)
        estimate = market.landscapes.best_by_restarts(200, seed)
        assert estimate.value <= market.best_performance
        hits += estimate.config == market.port
    assert hits >= 18


def test_markets_evaluated_together_give_each_market_alone_its_numbers():
    """An experiment steps many markets of 32 decisions on one engine (`MarketStack`: all
    markets' tables in one pass); each seed's tables are those of the seed run alone."""
    from sim.experiment import run_experiment

    scenario = load_scenario("furniture_maker", {"horizon": 60})
    together = run_experiment(scenario, seeds=[0, 1, 2]).periods
    for seed in (0, 2):
        alone = run_experiment(scenario, seeds=[seed]).periods
        mine = together[together["seed"] == seed].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True))


def test_during_a_gradual_shift_the_estimated_port_is_followed_by_a_climb_from_the_last():
    """Above 16 decisions, while customers move in a gradual shift, the port is re-estimated
    each period by one steepest-ascent climb from the last port (not the full search): each
    period's port is a local peak of that period's performance, at least as good as the last
    port there; when the shift is over the full search (`best_by_restarts`) runs again, so the
    port is then the one a market built after the shift would estimate."""
    from sim.market import OnDemandLandscapes

    shift = [{"kind": "gradual", "at": 10, "to": "direct_custom", "duration": 8}]
    sc = load_scenario("scenarios/furniture_maker.toml", {"market.shifts": shift, "horizon": 24})
    market = Market(scenario=sc, rng=2, strategies=["aligned"])
    land = market.landscapes
    searches = []
    full = OnDemandLandscapes.best_by_restarts

    def counted(self, restarts, key):
        searches.append(market.period)
        return full(self, restarts, key)

    OnDemandLandscapes.best_by_restarts = counted
    try:
        flips = np.uint64(1) << np.arange(32, dtype=np.uint64)
        followed = 0
        for _ in range(sc.horizon):
            last = np.array([market.port], dtype=np.uint64)
            market.step()
            port = np.array([market.port], dtype=np.uint64)
            now = land.performance_at(port)[0]
            assert now == market.best_performance
            if market.environment.shifting:
                followed += 1
                assert now >= land.performance_at(last)[0]  # the climb starts at the last port
                assert (land.performance_at(port ^ flips) <= now).all()  # and ends on a peak
    finally:
        OnDemandLandscapes.best_by_restarts = full
    assert followed >= 6
    assert len(searches) == 1  # once, when the shift is over (not in every period of it)
    after = full(land, sc.metrics.port_restarts, _port_key(market))
    assert (after.config, after.value) == (market.port, market.best_performance)


def _port_key(market: Market) -> int:
    from sim.streams import firm_keys

    return int(firm_keys(market.seed, "port", 1)[0])
