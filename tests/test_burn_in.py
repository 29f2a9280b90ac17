"""Burn-in starts: firms run ``firm.burn_in`` periods in the initial market under their own
strategy before period 0 (docs/ODD.md, "Starts")."""

from __future__ import annotations

import numpy as np
import pytest

import sim.engine
from sim.experiment import run_experiment, run_one
from sim.model import Market
from sim.scenario import ScenarioError, load_scenario

BURN_IN = {"firm.start": "random", "firm.burn_in": 30}


def test_off_by_default_and_zero_changes_nothing():
    plain = load_scenario("bakery_gluten_free")
    assert plain.firm.burn_in == 0
    zero = load_scenario("bakery_gluten_free", {"firm.burn_in": 0})
    a, b = run_experiment(plain, seeds=3), run_experiment(zero, seeds=3)
    assert a.runs.equals(b.runs) and a.periods.equals(b.periods)


def test_a_burned_in_firm_starts_period_0_where_its_strategy_took_it_with_its_initial_cash():
    sc = load_scenario("bakery_gluten_free", BURN_IN)
    moved = 0
    for seed in range(10):
        market = Market(scenario=sc, strategies=["efficiency_only", "aligned"], rng=seed)
        for firm in market.firms:
            assert firm.log.floats["cash"][0] == sc.firm.initial_cash
            assert firm.log.floats["profit"][0] == 0.0
        configs = [int(f.log.ints["config"][0]) for f in market.firms]
        moved += sum(c != market.start_config for c in configs)
        assert market.engine.burn_in_start.tolist() == [market.start_config] * 2
    assert moved >= 10  # of 20 firms: a burn-in of 30 periods moves most of them


def test_a_burn_in_is_the_same_alone_and_in_a_batch():
    sc = load_scenario("bakery_gluten_free", BURN_IN)
    batch = run_experiment(sc, seeds=4).periods
    for seed in (0, 3):
        _, alone = run_one(sc, "aligned", seed)
        mine = batch[(batch["seed"] == seed) & (batch["strategy"] == "aligned")]
        np.testing.assert_array_equal(alone["config"].to_numpy(), mine["config"].to_numpy())
        np.testing.assert_array_equal(alone["cash"].to_numpy(), mine["cash"].to_numpy())


def _burned_in_and_plain_at(sc_name: str, periods: int, monkeypatch=None) -> tuple[list, list]:
    # a random start, and one alternative examined per period, drawn: the draws matter
    jumpy = {"firm.start": "random", "strategies.aligned.alternatives": 1}
    burned = load_scenario(sc_name, {**jumpy, "firm.burn_in": periods})
    plain = load_scenario(sc_name, jumpy)
    after_burn, at_period = [], []
    for seed in range(12):
        a = Market(scenario=burned, strategies=["aligned"], rng=seed)
        b = Market(scenario=plain, strategies=["aligned"], rng=seed)
        for _ in range(periods):
            b.step()
        after_burn.append(int(a.firms[0].log.ints["config"][0]))
        at_period.append(int(b.firms[0].config))
    return after_burn, at_period


def test_the_burn_in_draws_its_own_random_words():
    """In a stable market a burn-in of B periods is B periods of the run without money; with
    the run's own keys it would end exactly where the run is at period B (negative control)."""
    burned, plain = _burned_in_and_plain_at("canteen_stable", 8)
    assert burned != plain


def test_negative_control_with_the_runs_keys_the_burn_in_repeats_the_first_periods(monkeypatch):
    monkeypatch.setattr(sim.engine, "_BURN_IN_KEYS", np.uint64(0))
    monkeypatch.setattr(sim.engine.streams, "mix", lambda z: z)
    real_words = sim.streams.words
    monkeypatch.setattr(sim.engine.streams, "words", real_words)  # words keep their own mixing
    burned, plain = _burned_in_and_plain_at("canteen_stable", 8)
    assert burned == plain


@pytest.mark.parametrize("value", [-1, 10_001, 2.5, True])
def test_a_bad_burn_in_is_refused_naming_the_field(value):
    with pytest.raises(ScenarioError, match=r"firm\.burn_in"):
        load_scenario("bakery_gluten_free", {"firm.burn_in": value})


def test_explain_says_how_firms_start():
    from sim.explain import explain

    assert "fits the initial market best" in explain(load_scenario("bakery_gluten_free"))
    text = explain(load_scenario("bakery_gluten_free", BURN_IN))
    assert "from a random configuration" in text and "runs 30 periods in the initial" in text
