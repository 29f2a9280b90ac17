"""The decomposition of alignment into its ingredients (`python -m sim decompose`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.decompose import INGREDIENTS, arms_scenario, decompose
from sim.scenario import load_scenario


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
