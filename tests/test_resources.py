"""Resources (`sim.resources`, docs/ODD.md §7.22): the budget's arithmetic, the engine's use of
it, its neutral point and clear errors for bad `[resources]` sections."""

from __future__ import annotations

import numpy as np
import pytest

from sim.experiment import run_experiment
from sim.model import Market
from sim.resources import capacity_factor, current_demand, reallocate, service, target_split
from sim.scenario import ScenarioError, load_scenario

CLOUD = "cloud_resource_orchestration"
DEPARTMENTS = ("gpu_hosting", "web_hosting", "data_services", "operations")
REGIMES = ("web_shops", "ai_boom", "data_rules")


# ---------------------------------------------------------------- the arithmetic
def test_an_equal_split_leaves_efficiency_as_it_is_and_returns_diminish():
    equal = np.full((1, 4), 0.25)
    assert capacity_factor(equal, np.array([0.7]))[0].tolist() == [1.0] * 4
    doubled = capacity_factor(np.array([[0.5, 0.5 / 3, 0.5 / 3, 0.5 / 3]]), np.array([0.5]))
    assert doubled[0, 0] == pytest.approx(2**0.5)
    more = capacity_factor(np.array([[0.75, 0.25 / 3, 0.25 / 3, 0.25 / 3]]), np.array([0.5]))
    assert more[0, 0] - doubled[0, 0] < doubled[0, 0] - 1.0  # each extra share adds less


def test_a_split_matching_demand_serves_it_all_and_a_mismatch_turns_some_away():
    demand = np.array([[0.2, 0.5, 0.3], [0.7, 0.25, 0.25]])  # the second more than the budget
    sigma, away, used = service(np.array([[0.2, 0.5, 0.3], [0.6, 0.2, 0.2]]), demand)
    assert sigma.tolist() == [1.0, 1.0]  # each serves all its budget could
    assert away[0] == 0.0 and away[1] == pytest.approx(0.2 / 1.2)
    assert used.tolist() == pytest.approx([1.0, 1.0])
    sigma, away, _ = service(np.array([[0.5, 0.3, 0.2]]), demand[:1])
    assert sigma[0] == pytest.approx(0.2 + 0.3 + 0.2) and away[0] == pytest.approx(0.3)


def test_demand_follows_the_regime_weights_whatever_their_scale():
    demand = np.array([[[0.2, 0.8], [0.6, 0.4]]])
    blended = current_demand(demand, np.array([[0.4, 0.4]]))  # (1 - rho) x 1/2 each
    assert blended[0].tolist() == pytest.approx([0.4, 0.6])
    assert current_demand(demand, np.zeros((1, 2)))[0].tolist() == [0.0, 0.0]


def test_the_rules_target_their_own_split_efficiency_or_believed_demand():
    shares = np.array([[0.5, 0.5]] * 3)
    eff = np.array([[0.6, 0.2]] * 3)
    believed = np.array([[0.3, 0.9]] * 3)
    target = target_split(np.array([0, 1, 2]), shares, eff, believed)
    assert target[0].tolist() == [0.5, 0.5]
    assert target[1].tolist() == pytest.approx([0.75, 0.25])
    assert target[2].tolist() == pytest.approx([0.25, 0.75])


def test_a_move_is_cut_at_max_move_and_the_split_still_sums_to_one():
    shares = np.array([[0.5, 0.5], [0.5, 0.5]])
    target = np.array([[0.9, 0.1], [0.55, 0.45]])
    new, moved, limited = reallocate(shares, target, np.array([0.1, 0.1]))
    assert new[0].tolist() == pytest.approx([0.6, 0.4]) and moved[0] == pytest.approx(0.1)
    assert new[1].tolist() == pytest.approx([0.55, 0.45]) and moved[1] == pytest.approx(0.05)
    assert limited.tolist() == [True, False]
    assert new.sum(axis=1).tolist() == pytest.approx([1.0, 1.0])


# ---------------------------------------------------------------- the engine
NEUTRAL = {  # resources at their neutral point: an equal split that demand always matches
    "resources.shares": dict.fromkeys(DEPARTMENTS, 0.25),
    "resources.demand": {r: dict.fromkeys(DEPARTMENTS, 0.25) for r in REGIMES},
    "resources.moving_cost": 0.0,
    "resources.activity_cost": 0.0,
    "resources.reallocation": dict.fromkeys(
        ("decentralized", "sequential", "hierarchical"), "keep"
    ),
}


def _without_resources():
    sc = load_scenario(CLOUD)
    return sc.model_copy(update={"resources": None})


def test_at_their_neutral_point_resources_give_the_numbers_of_a_firm_without_them():
    """Positive control of the wiring: an equal split (efficiency x 1) that every regime's
    demand matches (all demand served), kept (nothing moved) and no costs: every number as
    without [resources]."""
    neutral = run_experiment(load_scenario(CLOUD, NEUTRAL), seeds=4)
    without = run_experiment(_without_resources(), seeds=4)
    for column in ("efficiency", "market_value", "profit", "cash", "config"):
        assert np.array_equal(neutral.periods[column], without.periods[column]), column
    assert (neutral.periods["capacity_moved"].fillna(0) == 0).all()
    assert not neutral.periods["budget_binds"].any()


def test_an_unequal_split_changes_the_numbers():
    """Negative control: the same section with the scenario's uneven split does not give the
    numbers without resources."""
    uneven = {k: v for k, v in NEUTRAL.items() if k != "resources.shares"}
    changed = run_experiment(load_scenario(CLOUD, uneven), seeds=2)
    without = run_experiment(_without_resources(), seeds=2)
    assert not np.array_equal(changed.periods["efficiency"], without.periods["efficiency"])


def test_the_head_office_moves_capacity_towards_the_demand_it_believes_in():
    sc = load_scenario(CLOUD, {"market.shifts": [{"kind": "abrupt", "at": 10, "to": "ai_boom"}]})
    market = Market(scenario=sc, rng=0, strategies=("aligned", "efficiency_only")).run()
    engine = market.engine
    shares = engine.history.shares
    aligned, silo = (f.row for f in market.firms)
    gpu = 0
    assert shares[9, aligned, gpu] == pytest.approx(0.15)  # before the boom: the initial split
    # the boom's demand, 0.65 of the rack for GPUs out of 1.2 in all, rationed in proportion
    assert shares[40, aligned, gpu] == pytest.approx(0.65 / 1.2, abs=0.01)
    moved = np.abs(np.diff(shares[:, aligned], axis=0)).sum(axis=1) / 2
    assert moved.max() <= 0.1 + 1e-12  # never more than max_move a month
    assert np.allclose(shares[:, aligned].sum(axis=1), 1.0)
    assert abs(shares[40, silo, gpu] - 0.65 / 1.2) > 0.1  # the silos do not follow demand


def test_the_runs_table_reports_how_often_the_budget_binds():
    runs = run_experiment(load_scenario(CLOUD), seeds=3, periods=False).runs
    for column in ("budget_binds_share", "budget_binds_share_post_shift"):
        closed_before = ~runs["survived"] & runs[column].isna()  # closed before the window
        assert (runs[column].between(0, 1) | closed_before).all(), column
    assert runs["budget_binds_share"].notna().all() and (runs["capacity_moved"] >= 0).all()
    plain = run_experiment(_without_resources(), seeds=1, periods=False).runs
    assert "budget_binds_share" not in plain  # off: no column


def test_same_seed_same_numbers_alone_and_in_a_batch():
    sc = load_scenario(CLOUD)
    both = run_experiment(sc, seeds=[3, 5]).periods
    alone = run_experiment(sc, seeds=[5]).periods
    batch = both[both["seed"] == 5].reset_index(drop=True)
    for column in ("profit", "share_gpu_hosting", "unserved_demand"):
        assert np.array_equal(batch[column], alone[column], equal_nan=True), column


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"resources.shares": {**dict.fromkeys(DEPARTMENTS, 0.2), "gpu_hosting": 0.5}},
         "resources.shares", "sum to 1"),
        ({"resources.shares": {"gpu_hosting": 0.5, "web_hosting": 0.5}},
         "resources.shares", "every department"),
        ({"resources.demand": {"web_shops": {"gpu_hosting": 1.0}}},
         "resources.demand", "every regime"),
        ({"resources.demand": {**{r: {"gpu_hosting": 0.3} for r in REGIMES}, "boom": {}}},
         "resources.demand", "unknown regime 'boom'"),
        ({"resources.demand": {r: {"gpus": 0.3} for r in REGIMES}},
         "resources.demand.web_shops", "unknown department 'gpus'"),
        ({"resources.reallocation": {"hierarchical": "grab"}}, "reallocation", "keep"),
        ({"resources.max_move": 0.0}, "max_move", "greater than 0"),
    ],
)  # fmt: skip
def test_a_bad_resources_section_is_a_clear_error(overrides, field, words):
    with pytest.raises(ScenarioError) as error:
        load_scenario(CLOUD, overrides)
    message = str(error.value)
    assert field in message and words in message


def test_a_department_below_its_equal_share_examines_fewer_alternatives_when_asked():
    sc = load_scenario(CLOUD, {"resources.scales_search": True})
    market = Market(scenario=sc, rng=0, strategies=("aligned",))
    engine = market.engine
    engine.build()
    row = np.array([market.firms[0].row])
    engine.shares[row] = [0.05, 0.45, 0.25, 0.25]  # D x share: 0.2, 1.8, 1, 1
    counts = [int(engine._examined(row, np.array([d]), 1)[0, 1:].sum()) for d in range(4)]
    assert counts == [1, 3, 3, 3]  # 0.2 x 3 alternatives, rounded, at least 1; the rest all
    off = Market(scenario=load_scenario(CLOUD), rng=0, strategies=("aligned",)).engine
    off.build()
    assert not off._sampling  # without the option every alternative is examined as before


def test_search_scaled_by_the_share_changes_the_numbers():
    """Negative control of the option: the same scenario with it on is not the same run."""
    on = run_experiment(load_scenario(CLOUD, {"resources.scales_search": True}), seeds=2)
    off = run_experiment(load_scenario(CLOUD), seeds=2)
    assert not np.array_equal(on.periods["config"], off.periods["config"])


def test_a_firms_own_log_has_the_periods_tables_resource_columns():
    market = Market(scenario=load_scenario(CLOUD), rng=1, strategies=("aligned",)).run()
    frame = market.firms[0].log.to_frame()
    table = run_experiment(load_scenario(CLOUD), strategies=["aligned"], seeds=[1]).periods
    for column in ("share_gpu_hosting", "unserved_demand", "capacity_moved", "budget_binds"):
        assert np.array_equal(frame[column], table[column], equal_nan=True), column


def test_the_summary_reports_how_often_the_budget_binds_and_only_with_resources():
    """`run`'s table has the budget-binds rows for a scenario with `[resources]` (each firm's
    share of its periods in business, averaged over all firms), none for one without."""
    from sim.stats import summary_table

    result = run_experiment(load_scenario("cloud_resource_orchestration"), seeds=4)
    table = summary_table(result.runs, wide=False)
    rows = table[table["metric"] == "budget_binds_share_post_shift"].set_index("strategy")
    by_hand = result.runs.groupby("strategy", observed=True)["budget_binds_share_post_shift"]
    assert np.allclose(rows["mean"].to_numpy(), by_hand.mean().to_numpy())
    assert ((rows["ci_low"] >= 0) & (rows["ci_high"] <= 1)).all()
    plain = run_experiment(load_scenario("bakery_gluten_free"), seeds=2)
    assert "budget_binds_share" not in set(summary_table(plain.runs, wide=False)["metric"])
