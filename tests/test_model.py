"""The Market model: determinism, common random numbers, Mesa integration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.agents import Department, Firm
from sim.experiment import run_one
from sim.model import Market
from sim.scenario import load_scenario


def _bakery(**overrides):
    return load_scenario("bakery_gluten_free", {"horizon": 90, **overrides})


def test_same_seed_same_numbers():
    sc = _bakery()
    for strategy in ("efficiency_only", "aligned"):
        a = run_one(sc, strategy, 3)
        b = run_one(sc, strategy, 3)
        assert a[0] == b[0] or pd.Series(a[0]).equals(pd.Series(b[0]))
        pd.testing.assert_frame_equal(a[1], b[1])


def test_different_seeds_differ():
    sc = _bakery()
    a = run_one(sc, "aligned", 1)[1]
    b = run_one(sc, "aligned", 2)[1]
    assert not a["config"].equals(b["config"])
    assert not np.allclose(a["efficiency"], b["efficiency"])


def test_strategies_on_a_seed_share_landscapes_market_and_start():
    sc = _bakery()
    m1 = Market(scenario=sc, strategies=["efficiency_only"], rng=5)
    m2 = Market(scenario=sc, strategies=["aligned"], rng=5)
    np.testing.assert_array_equal(m1.department_efficiency, m2.department_efficiency)
    np.testing.assert_array_equal(m1.market_value, m2.market_value)
    assert m1.start_config == m2.start_config
    assert [e.time for e in m1.environment.schedule] == [e.time for e in m2.environment.schedule]


def test_twin_firms_behave_as_they_would_alone():
    sc = _bakery()
    twin = Market(scenario=sc, strategies=["aligned", "efficiency_only"], rng=4).run()
    alone = Market(scenario=sc, strategies=["aligned"], rng=4).run()
    np.testing.assert_array_equal(
        twin.firms[0].log.ints["config"], alone.firms[0].log.ints["config"]
    )
    np.testing.assert_array_equal(
        twin.firms[0].log.floats["profit"], alone.firms[0].log.floats["profit"]
    )


def test_agents_are_registered_with_mesa_and_time_advances():
    sc = _bakery()
    model = Market(scenario=sc, strategies=["efficiency_only", "aligned"], rng=0)
    assert len(model.agents_by_type[Firm]) == 2
    assert len(model.agents_by_type[Department]) == 2 * len(sc.departments)
    model.step()
    assert model.time == 1 and model.steps == 1
    model.run()
    assert model.steps == sc.horizon and not model.running


def test_initial_decisions_are_respected():
    sc = _bakery()
    model = Market(scenario=sc, rng=9)
    for name, value in sc.firm.initial_decisions.items():
        assert (model.start_config >> sc.decision_index[name]) & 1 == value


def test_a_firm_with_negative_cash_exits_and_stops():
    sc = _bakery(**{"firm.initial_cash": 0.0, "firm.break_even": 0.99})
    model = Market(scenario=sc, strategies=["efficiency_only"], rng=0).run()
    log = model.firms[0].log
    assert not model.firms[0].alive
    exit_at = int(np.flatnonzero(~log.bools["alive"])[0])
    assert np.isnan(log.floats["efficiency"][exit_at:]).all()
    assert (log.floats["profit"][exit_at:] == 0).all()
    assert (log.ints["miles"][exit_at:] == 0).all()


def test_stepping_past_the_horizon_is_an_error():
    model = Market(scenario=_bakery(horizon=65), rng=0).run()
    with pytest.raises(RuntimeError, match="past the scenario's horizon"):
        model.step()


def test_live_changes_take_effect_at_the_next_period_without_a_reset():
    sc = _bakery()
    live = Market(scenario=sc, strategies=["efficiency_only", "aligned"], rng=2)
    live.run_for(10)
    event = live.shift_now()
    assert event.time == 11 and event.to == "health_conscious"
    eff = live.firms[0]
    eff.set_strategy(
        sc.all_strategies["aligned"], costs=sc.costs.model_copy(update={"alignment": 9.0})
    )
    assert [d.alpha for d in eff.departments] == [0.7] * 4
    assert eff.coordination_cost == pytest.approx(1.0 + 9.0 * 0.7 + 1.0 * 0.3)
    live.run_for(5)
    assert live.shift_labels[11].startswith("customers move to health_conscious")
    assert live.environment.regime == "health_conscious"
    assert eff.log.floats["profit"][10] != 0 and live.period == 15  # history kept
    with pytest.raises(ValueError, match="unknown regime 'vegan'"):
        live.shift_now("vegan")
