"""The decomposition of alignment into its ingredients (`python -m sim decompose`)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.decompose import (
    INGREDIENTS,
    STREAM,
    THREE_WAY,
    TOTAL,
    arm_name,
    arms_scenario,
    decompose,
    factorial_terms,
    reconstruct,
)
from sim.experiment import simulate
from sim.scenario import load_scenario
from sim.stats import paired_difference

OUTCOMES = ("profit_post_shift", "gross_profit_post_shift", "market_value_post_shift")


@pytest.fixture(scope="module")
def bakery():
    return decompose(load_scenario("bakery_gluten_free"), seeds=10)


def _arm_means(result, outcome: str) -> dict[str, float]:
    """Mean per arm over the seeds with a value in every arm."""
    table = result.runs.pivot(index="seed", columns="arm", values=outcome).dropna()
    return table.mean().to_dict()


def test_the_arms_differ_only_in_the_ingredients():
    sc = load_scenario("bakery_gluten_free")
    arms_sc, arms = arms_scenario(sc, "efficiency_only", "aligned")
    assert len(arms) == 8 and arms["arm"].is_unique
    target = sc.all_strategies["aligned"]
    for name in arms["arm"]:
        spec = arms_sc.all_strategies[name]
        for field in ("p_jump", "proposals", "search"):
            assert getattr(spec, field) == getattr(target, field)
        flags = arms.set_index("arm").loc[name]
        for ingredient in INGREDIENTS:
            source = target if flags[f"{ingredient}_on"] else sc.all_strategies["efficiency_only"]
            assert getattr(spec, ingredient) == getattr(source, ingredient)


def test_in_a_stable_market_sensing_is_worth_nothing_and_costs_its_price():
    # nothing changes, so a firm's beliefs are always true: sensing cannot change a decision,
    # its gross value is exactly 0 and its net value is minus its cost, on every seed
    sc = load_scenario("canteen_stable")
    result = decompose(sc, seeds=12)
    effects = result.effects.set_index(["outcome", "term"])
    cost = sc.costs.sensing * sc.all_strategies["aligned"].sensing
    assert effects.loc[("gross_profit_post_shift", "sensing"), "mean"] == pytest.approx(0, abs=1e-9)
    assert effects.loc[("profit_post_shift", "sensing"), "mean"] == pytest.approx(-cost)
    assert effects.loc[("market_value_post_shift", "sensing"), "mean"] == pytest.approx(
        0, abs=1e-12
    )


def test_silos_that_sense_the_market_decide_as_silos_that_do_not():
    # alpha 0 and no head office: the belief never enters a decision (same draws, same path)
    runs = decompose(load_scenario("bakery_gluten_free"), seeds=8).runs.set_index(["arm", "seed"])
    for column in ("miles_sailed", "efficiency_post_shift", "market_value_post_shift"):
        np.testing.assert_array_equal(runs.loc["sensing", column], runs.loc["none", column])
    np.testing.assert_allclose(  # gross = net + cost: equal up to rounding
        runs.loc["sensing", "gross_profit_post_shift"], runs.loc["none", "gross_profit_post_shift"]
    )


def test_gross_minus_net_profit_is_the_cost_of_the_periods_open():
    sc = load_scenario("bakery_gluten_free")
    runs = decompose(sc, seeds=6).runs
    open_share = (runs["gross_profit_post_shift"] - runs["profit_post_shift"]) / runs[
        "cost_per_period"
    ]
    survived = runs["exit_period"] < 0
    costly = runs["cost_per_period"] > 0
    np.testing.assert_allclose(open_share[survived & costly], 1.0)
    assert (open_share[costly] <= 1 + 1e-12).all() and (open_share[costly] >= 0).all()


def test_the_command_prints_the_table_and_writes_runs_effects_and_figure(tmp_path, capsys):
    out = tmp_path / "dec"
    assert main(["decompose", "bakery_gluten_free", "--seeds", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "alpha x sensing" in printed and "all three" in printed
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 8 * 5
    effects = pd.read_csv(out / "effects.csv")
    assert set(effects["term"]) >= {"alpha", "coordination", "sensing", "alpha x coordination"}
    assert (out / "decomposition.png").stat().st_size > 10_000
    assert (out / "manifest.json").exists()


def test_the_command_refuses_an_unknown_strategy(tmp_path, capsys):
    out = tmp_path / "dec"
    assert main(["decompose", "bakery_gluten_free", "--base", "nope", "--out", str(out)]) == 2
    assert "--base: unknown strategy 'nope'" in capsys.readouterr().err
    assert not out.exists()


def test_main_effects_and_interactions_reproduce_every_arm(bakery):
    # the identity of the 2^3 factorial, written out here: arm = grand mean + sum over terms of
    # (product of +1/-1 for its ingredients on/off) x term / 2^(its ingredients)
    for outcome in OUTCOMES:
        effects = bakery.effects[bakery.effects["outcome"] == outcome].set_index("term")["mean"]
        arms = _arm_means(bakery, outcome)
        grand = float(np.mean(list(arms.values())))
        for flags in itertools.product((False, True), repeat=3):
            on = dict(zip(INGREDIENTS, flags, strict=True))
            value = grand
            for group in (g for k in (1, 2, 3) for g in itertools.combinations(INGREDIENTS, k)):
                sign = math.prod(1 if on[i] else -1 for i in group)
                value += sign * effects[" x ".join(group)] / 2 ** len(group)
            assert value == pytest.approx(arms[arm_name(flags)], abs=1e-9)
        assert reconstruct(effects.to_dict(), grand) == pytest.approx(arms, abs=1e-9)
        # so "all three" is the three main effects and a quarter of the three-way interaction
        assert effects[TOTAL] == pytest.approx(
            sum(effects[i] for i in INGREDIENTS) + effects[THREE_WAY] / 4
        )
    assert [name for name, _ in factorial_terms()][-1] == THREE_WAY


def test_the_identity_fails_without_the_three_way_term(bakery):
    # negative control: the two-way model alone does not reproduce the arms in the bakery
    effects = bakery.effects[bakery.effects["outcome"] == "profit_post_shift"].set_index("term")
    arms = _arm_means(bakery, "profit_post_shift")
    grand = float(np.mean(list(arms.values())))
    without = reconstruct({**effects["mean"].to_dict(), THREE_WAY: 0.0}, grand)
    assert max(abs(without[a] - arms[a]) for a in arms) > 0.5


def test_simple_effects_are_what_one_ingredient_adds_from_all_off_and_to_the_other_two(bakery):
    runs = bakery.runs.set_index(["arm", "seed"])["profit_post_shift"]
    effects = bakery.effects[bakery.effects["outcome"] == "profit_post_shift"].set_index("term")
    for ingredient in INGREDIENTS:
        alone = (runs.loc[ingredient] - runs.loc["none"]).mean()
        others = [i for i in INGREDIENTS if i != ingredient]
        last = (runs.loc[arm_name((True,) * 3)] - runs.loc["_".join(others)]).mean()
        assert effects.loc[f"{ingredient} alone", "mean"] == pytest.approx(alone)
        assert effects.loc[f"{ingredient} added last", "mean"] == pytest.approx(last)
        assert effects.loc[f"{ingredient} alone", "kind"] == "alone"
    # "added last" minus "alone" is the interactions the others bring: not 0 in the bakery
    gap = effects.loc["alpha added last", "mean"] - effects.loc["alpha alone", "mean"]
    assert abs(gap) > 3


def test_all_three_is_run_s_difference_when_both_strategies_draw_the_same_behaviour(bakery):
    # arms share one behaviour stream; `run` draws each strategy's own. With the decomposition's
    # stream for both, the target and the base give exactly the corner arms.
    sc = bakery.scenario
    seeds = list(bakery.seeds)
    shared = simulate(
        [(sc, s, k) for s in ("aligned", "efficiency_only") for k in seeds],
        periods=False,
        stream=STREAM,
    )
    own = simulate(
        [(sc, s, k) for s in ("aligned", "efficiency_only") for k in seeds], periods=False
    )
    runs = bakery.runs.set_index(["arm", "seed"])["profit_post_shift"]
    corner = (runs.loc[arm_name((True,) * 3)] - runs.loc["none"]).to_numpy()
    for result, equal in ((shared, True), (own, False)):
        table = pd.DataFrame(result.rows)
        diff = paired_difference(table, "profit_post_shift", "aligned", "efficiency_only")
        values = table.pivot(index="seed", columns="strategy", values="profit_post_shift")
        per_seed = (values["aligned"] - values["efficiency_only"]).to_numpy()
        assert np.array_equal(per_seed, corner) is equal
        assert diff.mean == pytest.approx(corner.mean()) or not equal


def test_the_command_prints_the_full_factorial_and_says_how_arms_are_paired(tmp_path, capsys):
    out = tmp_path / "dec"
    assert main(["decompose", "bakery_gluten_free", "--seeds", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for text in (
        "alpha x coordination x sensing",
        "alpha alone",
        "sensing added last",
        "main effects: on minus off, averaged over the other two ingredients",
        "draw one behaviour stream",
        "all three = the main effects + the three-way / 4",
    ):
        assert text in printed, text
    effects = pd.read_csv(out / "effects.csv")
    assert set(effects["kind"]) == {
        "main effect",
        "two-way interaction",
        "three-way interaction",
        "alone",
        "added last",
        "all three",
    }


def test_share_before_is_the_ratio_of_each_terms_mean_effects(bakery):
    from sim.decompose import SHARE_BEFORE
    from sim.stats import ratio_ci

    effects = bakery.effects.set_index(["outcome", "term"])
    runs = bakery.runs
    pre = runs.pivot_table(index="seed", columns=["alpha_on", "coordination_on", "sensing_on"],
                           values="profit_pre_shift")  # fmt: skip
    post = runs.pivot_table(index="seed", columns=["alpha_on", "coordination_on", "sensing_on"],
                            values="profit_post_shift")  # fmt: skip
    every, none = (True, True, True), (False, False, False)
    expected = ratio_ci(pre[every] - pre[none], post[every] - post[none])
    share = effects.loc[(SHARE_BEFORE, "all three (target - base)")]
    assert (share["mean"], share["ci_low"], share["ci_high"]) == pytest.approx(expected)
    assert "share_before" in bakery.table().columns


def test_decompose_may_write_again_into_its_own_folder(tmp_path, capsys):
    from sim.cli import main

    assert main(["decompose", "canteen_stable", "--seeds", "3", "--out", str(tmp_path)]) == 0
    assert main(["decompose", "canteen_stable", "--seeds", "3", "--out", str(tmp_path)]) == 0
    assert main(["run", "canteen_stable", "--seeds", "2", "--out", str(tmp_path)]) == 2


def test_in_a_market_of_competing_firms_the_arms_swap_the_focal_firm_only():
    """bakery_town: the all-on arm is the market as shipped (the focal firm is the first aligned
    incumbent, on aligned's stream), so its outcomes are run_competition's exactly; in the
    all-off arm the focal firm follows efficiency_only's ingredients and decides differently,
    while the rivals keep their strategies."""
    from sim.competition import run_competition
    from sim.decompose import arm_strategies

    scenario = load_scenario("bakery_town")
    seeds = (0, 1, 2, 3)
    result = decompose(scenario, seeds=seeds)
    runs = result.runs
    shipped = run_competition(scenario, seeds=seeds, periods=False).runs
    focal = shipped[(shipped["strategy"] == "aligned") & (shipped["firm"] == 0)]
    on = runs[runs["alpha_on"] & runs["coordination_on"] & runs["sensing_on"]]
    for column in ("profit_pre_shift", "profit_post_shift", "exit_period", "final_cash"):
        assert on.sort_values("seed")[column].tolist() == focal.sort_values("seed")[column].tolist()
    arms, _ = arm_strategies(scenario, "efficiency_only", "aligned")
    off = runs[~runs["alpha_on"] & ~runs["coordination_on"] & ~runs["sensing_on"]]
    assert not np.allclose(off["profit_post_shift"], on["profit_post_shift"])
    swapped = run_competition(
        scenario, seeds=seeds, periods=False, focal=("aligned", arms[off["arm"].iloc[0]])
    ).runs
    rivals = ~((shipped["strategy"] == "aligned") & (shipped["firm"] == 0))
    assert swapped.loc[rivals, "strategy"].tolist() == shipped.loc[rivals, "strategy"].tolist()
    # the identity of the factorial holds here too
    net = result.effects[result.effects["outcome"] == "profit_post_shift"].set_index("term")
    mains = sum(net.loc[i, "mean"] for i in INGREDIENTS)
    assert net.loc[TOTAL, "mean"] == pytest.approx(mains + net.loc[THREE_WAY, "mean"] / 4)


def test_a_competing_market_without_the_target_strategy_is_refused(capsys):
    code = main(["decompose", "bakery_town", "--seeds", "3", "--target", "informed_silos"])
    assert code != 0
    err = capsys.readouterr().err
    assert "target" in err and "competition.firms has none of 'informed_silos'" in err
