"""Strategies that learn (`sim.adaptation`, `[adaptation]`): the rule by hand, its switches in
the engine, bit-identical results when off, records and errors."""

from __future__ import annotations

import numpy as np
import pytest

from sim import streams
from sim.adaptation import ADAPTATION_SLOT, Adaptation, AdaptationRule
from sim.experiment import run_experiment
from sim.model import Market
from sim.scenario import ScenarioError, load_scenario

MENU = {"adaptation": {"strategies": ["efficiency_only", "aligned"]}}


def _rule(**kw) -> AdaptationRule:
    base = dict(
        names=("a", "b", "c"), menu=("A", "B", "C"), review=4, recency=0.5,
        aspiration_speed=0.25, temperature=2.0,
    )  # fmt: skip
    return AdaptationRule(**{**base, **kw})


def test_a_review_by_hand():
    rule = _rule()
    a = Adaptation(2, [(np.array([0, 1]), rule, 1)])
    keys = np.array([11, 12], dtype=np.uint64)
    a.earn(np.array([0, 1]), np.array([8.0, 4.0]))
    a.earn(np.array([0, 1]), np.array([0.0, 4.0]))
    # first review: pi = mean over the 4 periods of the review (2 and 2), every attraction and
    # the aspiration start there; pi is not below the aspiration, nobody chooses
    assert a.revise(np.array([0, 1]), keys, 4).size == 0
    np.testing.assert_allclose(a.attraction, [[2, 2, 2], [2, 2, 2]])
    np.testing.assert_allclose(a.aspiration, [2, 2])
    # second review: row 0 earns 4 a period (satisfied), row 1 earns 0 (dissatisfied)
    a.earn(np.array([0, 1]), np.array([16.0, 0.0]))
    changed = a.revise(np.array([0, 1]), keys, 8)
    np.testing.assert_allclose(a.attraction[0], [2, 3, 2])  # 2 + 0.5 (4 - 2)
    np.testing.assert_allclose(a.attraction[1], [2, 1, 2])  # 2 + 0.5 (0 - 2)
    np.testing.assert_allclose(a.aspiration, [2.5, 1.5])  # 2 + 0.25 (pi - 2)
    assert a.setting[0] == 1  # satisfied: kept
    # row 1 chose with softmax(attraction / 2) from its own word of period 8
    w = np.exp(np.array([2, 1, 2]) / 2.0)
    u = streams.uniforms(streams.words(keys[1:], 8, np.array([ADAPTATION_SLOT])))[0, 0]
    expected = int(np.searchsorted(np.cumsum(w) / w.sum(), u))
    assert a.setting[1] == expected
    assert changed.tolist() == ([1] if expected != 1 else [])


def test_choices_follow_the_softmax_probabilities():
    """Over many dissatisfied firms the shares chosen match exp(A / T) / sum (within 4 SE)."""
    n = 20_000
    rule = _rule(temperature=1.0)
    a = Adaptation(n, [(np.arange(n), rule, 0)])
    a.attraction[:] = [1.0, 0.0, 2.0]
    a.aspiration[:] = 100.0  # everybody dissatisfied
    a.revise(np.arange(n), np.arange(n, dtype=np.uint64) * np.uint64(7919), 12)
    shares = np.bincount(a.setting, minlength=3) / n
    # the current strategy's attraction first moves: 1 + 0.5 (0 - 1) = 0.5
    p = np.exp([0.5, 0.0, 2.0])
    p /= p.sum()
    assert np.all(np.abs(shares - p) < 4 * np.sqrt(p * (1 - p) / n))


def test_off_changes_nothing_and_a_menu_of_one_kind_changes_nothing():
    plain = run_experiment(load_scenario("bakery_gluten_free"), seeds=3)
    assert "adopted" not in plain.periods and "switches" not in plain.runs
    # a firm that may only "switch" to its own strategy follows it: the same trajectories
    copy = load_scenario("bakery_gluten_free").strategy("aligned").model_dump()
    same = load_scenario(
        "bakery_gluten_free",
        {
            "adaptation": {"strategies": ["aligned", "aligned_copy"]},
            "strategies.aligned_copy": copy,
        },
    )
    assert same.differences("aligned", "aligned_copy") == []
    learn = run_experiment(same, strategies=["aligned"], seeds=3)
    mine = plain.periods[plain.periods["strategy"] == "aligned"].reset_index(drop=True)
    np.testing.assert_array_equal(learn.periods["config"], mine["config"])
    np.testing.assert_array_equal(learn.periods["cash"], mine["cash"])


def test_learning_firms_switch_and_their_costs_follow():
    sc = load_scenario("bakery_gluten_free", MENU)
    market = Market(scenario=sc, strategies=["efficiency_only"], rng=1)
    market.run()
    engine, firm = market.engine, market.firms[0]
    settings = engine.history.setting[:, firm.row]
    assert set(np.unique(settings)) == {0, 1}  # it tried aligned
    switch = int(np.flatnonzero(np.diff(settings))[0]) + 1  # first period under the new one
    assert switch % sc.adaptation.review == 1  # decided at a review, acts from the next period
    # the profit of a period is performance money minus the cost of the strategy then followed
    cost = {0: 0.0, 1: sc.costs.coordination["hierarchical"] + sc.costs.alignment * 0.7
            + sc.costs.sensing * 0.3}  # fmt: skip
    h = engine.history
    t = switch + 1
    money = sc.firm.money_scale * (h.performance[t, firm.row] - sc.firm.break_even)
    assert h.profit[t, firm.row] == pytest.approx(money - cost[int(settings[t])])


def test_records_name_the_strategy_followed():
    result = run_experiment(load_scenario("bakery_gluten_free", MENU), seeds=4)
    periods, runs = result.periods, result.runs
    assert set(periods["adopted"]) <= {"efficiency_only", "aligned"}
    first = periods[periods["period"] == 0]
    assert (first["adopted"] == first["strategy"]).all()  # start = "own"
    assert {"switches", "adopted_final", "share_aligned_post_shift"} <= set(runs.columns)
    last = periods[periods["period"] == periods["period"].max()]
    assert list(last["adopted"]) == list(runs["adopted_final"])


def test_the_same_seed_gives_the_same_learning_alone_or_in_a_batch():
    sc = load_scenario("bakery_gluten_free", {**MENU, "adaptation.start": "random"})
    batch = run_experiment(sc, seeds=5).periods
    alone = run_experiment(sc, seeds=[3], strategies=["aligned"]).periods
    mine = batch[(batch["seed"] == 3) & (batch["strategy"] == "aligned")].reset_index(drop=True)
    np.testing.assert_array_equal(alone["adopted"], mine["adopted"])


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"adaptation": {"strategies": ["aligned"]}}, r"adaptation\.strategies"),
        ({"adaptation": {"strategies": ["aligned", "nope"]}}, r"adaptation\.strategies\[1\]"),
        ({"adaptation": {"strategies": ["aligned", "aligned"]}}, r"adaptation\.strategies\[1\]"),
        ({**MENU, "adaptation.temperature": 0}, r"adaptation\.temperature"),
        ({**MENU, "adaptation.review": 0}, r"adaptation\.review"),
    ],
)
def test_bad_adaptation_is_refused_naming_the_field(overrides, field):
    with pytest.raises(ScenarioError, match=field):
        load_scenario("bakery_gluten_free", overrides)


def test_a_firm_run_as_a_strategy_outside_its_menu_is_refused():
    sc = load_scenario("bakery_gluten_free", {"adaptation": {"strategies": ["aligned", "x"]},
                                              "strategies.x": {"alpha": 0.3}})  # fmt: skip
    with pytest.raises(ScenarioError, match=r"adaptation\.strategies"):
        Market(scenario=sc, strategies=["efficiency_only"], rng=0)


def test_explain_describes_the_learning():
    from sim.explain import explain

    assert "Strategies learn" not in explain(load_scenario("bakery_gluten_free"))
    text = explain(load_scenario("bakery_gluten_free", MENU))
    assert "Strategies learn: a firm follows one of efficiency_only, aligned" in text
