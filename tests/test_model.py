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


# ------------------------------------------------------- Mesa conventions (issue 20, item 7)


def test_rng_none_draws_a_seed_and_keeps_it():
    """Mesa's default `rng=None` (what `batch_run(iterations=...)` passes) raised TypeError."""
    sc = _bakery()
    drawn = [Market(scenario=sc, strategies="aligned", rng=None) for _ in range(3)]
    seeds = [m.seed for m in drawn]
    assert all(isinstance(s, int) and 0 <= s < 2**32 for s in seeds)
    assert len(set(seeds)) == 3  # three draws from 2**32: equal with probability ~1e-9
    again = Market(scenario=sc, strategies="aligned", rng=seeds[0]).run()
    np.testing.assert_array_equal(
        drawn[0].run().firms[0].log.ints["config"], again.firms[0].log.ints["config"]
    )


@pytest.mark.parametrize("rng", [-1, 2**63, 1.5, True, "3", np.random.default_rng(1)])
def test_a_bad_seed_is_refused_naming_rng(rng):
    from sim.errors import UsageError

    with pytest.raises(UsageError, match="rng: ") as error:  # also a ValueError
        Market(scenario=_bakery(), rng=rng)
    assert error.value.argument == "rng"


def test_a_scenario_by_name_and_one_strategy_by_name():
    by_name = Market(scenario="bakery_gluten_free", strategies="aligned", rng=2)
    assert by_name.spec.name == "bakery_gluten_free"
    assert [f.strategy_name for f in by_name.firms] == ["aligned"]
    with pytest.raises(TypeError, match="scenario: expected a Scenario"):
        Market(scenario={"name": "bakery"}, rng=2)


def test_the_datacollector_holds_the_kpis_of_every_period():
    """`mesa.batch_run` needs a `datacollector`; its numbers are the firms' own records."""
    sc = _bakery()
    market = Market(scenario=sc, strategies=["aligned", "efficiency_only"], rng=7).run()
    model = market.datacollector.get_model_vars_dataframe()
    assert len(model) == sc.horizon + 1 and model["period"].tolist() == list(range(91))
    for firm in market.firms:
        for kpi in ("efficiency", "market_value", "profit", "cash"):
            np.testing.assert_array_equal(
                model[f"{kpi}_{firm.strategy_name}"], firm.log.floats[kpi]
            )
    assert model["regime"].iloc[0] == sc.initial_regime
    assert (model["market_shift"] != "").sum() == len(sc.shift_times)
    agents = market.datacollector.get_agenttype_vars_dataframe(Firm)
    assert len(agents) == 2 * (sc.horizon + 1)
    last = agents.xs(float(sc.horizon), level="Step").set_index("strategy")
    for firm in market.firms:
        assert last.loc[firm.strategy_name, "cash"] == firm.cash
        assert last.loc[firm.strategy_name, "config"] == firm.config


def test_mesa_batch_run_runs_the_market():
    """Issue 20: `mesa.batch_run(Market, ..., rng=[1, 2])` failed ("no datacollector")."""
    import mesa

    sc = _bakery()
    rows = pd.DataFrame(
        mesa.batch_run(
            Market,
            parameters={"scenario": [sc], "strategies": ["aligned", "efficiency_only"]},
            rng=[1, 2],
            display_progress=False,
        )
    )
    assert len(rows) == 4 and set(rows["rng"]) == {1, 2}
    for row in rows.itertuples():
        alone = Market(scenario=sc, strategies=row.strategies, rng=row.rng).run().firms[0]
        assert row.Step == sc.horizon and row.strategy == row.strategies
        assert row.cash == alone.cash and row.seed == row.rng
    with pytest.warns(DeprecationWarning):  # Mesa's own warning about `iterations`
        drawn = pd.DataFrame(
            mesa.batch_run(
                Market,
                parameters={"scenario": "bakery_gluten_free", "strategies": "aligned"},
                iterations=2,
                max_steps=5,
                display_progress=False,
            )
        )
    assert drawn["rng"].isna().all() and drawn["seed"].nunique() == 2  # drawn and recorded
    assert (drawn["Step"] == 5).all()


def test_a_firm_does_not_step_alone():
    """`Firm.step()` was Mesa's silent no-op: a Mesa user stepping agents got nothing."""
    market = Market(scenario=_bakery(), strategies=["aligned"], rng=1)
    with pytest.raises(RuntimeError, match=r"market\.step\(\)"):
        market.firms[0].step()
    with pytest.raises(RuntimeError, match="does not step alone"):
        market.agents.do("step")
    assert "market steps all its firms at once" in Firm.step.__doc__
    import mesa

    for agent in (Firm, Department):  # our own docstring, not Mesa's "A single step ..."
        assert agent.step.__doc__ != mesa.Agent.step.__doc__
        assert agent.step.__doc__.startswith("Not used")


def test_trace_takes_true_or_false_only():
    """Issue 20: `firm.trace("no")` turned tracing on."""
    firm = Market(scenario=_bakery(), strategies=["aligned"], rng=1).firms[0]
    for bad in ("no", "yes", 0, 1, None):
        with pytest.raises(TypeError, match="trace"):
            firm.trace(bad)
    assert not firm.engine.traced[firm.row]
    firm.trace(True)
    assert firm.engine.traced[firm.row]
    firm.trace(False)
    assert not firm.engine.traced[firm.row]
