"""`automotive_ecosystem`: small suppliers, two of them co-developing with technology partners
(`[competition.network]`, docs/ODD.md section 7.20). The scenario's `expected` outcomes were
committed in the file before it was first run (84c894d), and these tests were written with
them, before the run: each checks one numbered expectation over 200 markets (seeds) as an
effect size with a 95% interval, paired by market; the counterfactual is the same markets with
the network removed (the only setting that differs). An expectation the model does not meet
stays as written, marked xfail(strict=True) with the reason. docs/scenarios.md reports the
numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.competition import run_competition
from sim.scenario import load_scenario
from sim.stats import mean_ci
from tests.conftest import SEEDS

PARTNERED, LONE = (0, 1), (2, 3)  # the aligned SMBs with and without a technology partner


@pytest.fixture(scope="module")
def ecosystem():
    """The scenario's markets with the network and the same markets without it."""
    sc = load_scenario("automotive_ecosystem")
    alone = load_scenario("automotive_ecosystem", {"competition.network": None})
    assert alone.competition.network is None  # the only difference
    return (
        sc,
        run_competition(sc, seeds=SEEDS, periods=True),
        run_competition(alone, seeds=SEEDS, periods=True),
    )


def _interval(values) -> tuple[float, float, float]:
    return mean_ci(np.asarray(values, dtype=float))


def _per_market(runs: pd.DataFrame, column: str, strategy: str, firms) -> pd.Series:
    """Per market (seed): the mean of ``column`` over the strategy's incumbents ``firms``."""
    rows = runs[(runs["strategy"] == strategy) & runs["firm"].isin(firms) & ~runs["entrant"]]
    return rows.groupby("seed")[column].mean()


def test_the_story_states_what_it_expects():
    assert len(load_scenario("automotive_ecosystem").expected.split()) >= 40


def test_1_before_the_shift_the_network_changes_nothing(ecosystem):
    sc, linked, alone = ecosystem
    a, b = linked.periods, alone.periods
    before = a["period"] < sc.split
    assert before.sum() > 0 and (b["period"] < sc.split).equals(before)
    for column in ("profit", "market_value", "config"):
        np.testing.assert_array_equal(a.loc[before, column], b.loc[before, column], column)


def test_2_after_the_shift_a_partnered_smb_fits_the_carmakers_better(ecosystem):
    _, linked, _ = ecosystem
    runs = linked.runs
    gap = _per_market(runs, "market_value_post_shift", "aligned", PARTNERED) - _per_market(
        runs, "market_value_post_shift", "aligned", LONE
    )
    assert _interval(gap.dropna())[1] > 0


def test_3_a_partnered_smb_earns_more_than_a_lone_one(ecosystem):
    _, linked, _ = ecosystem
    runs = linked.runs
    gap = _per_market(runs, "profit_post_shift", "aligned", PARTNERED) - _per_market(
        runs, "profit_post_shift", "aligned", LONE
    )
    assert _interval(gap)[1] > 0


def test_4_the_network_is_what_does_it(ecosystem):
    _, linked, alone = ecosystem
    with_network = _per_market(linked.runs, "profit_post_shift", "aligned", PARTNERED)
    without = _per_market(alone.runs, "profit_post_shift", "aligned", PARTNERED)
    assert _interval(with_network - without)[1] > 0


def test_5_sharing_costs_the_technology_partners_something(ecosystem):
    _, linked, alone = ecosystem
    with_network = _per_market(linked.runs, "profit_post_shift", "tech_partner", (0, 1))
    without = _per_market(alone.runs, "profit_post_shift", "tech_partner", (0, 1))
    assert _interval(with_network - without)[2] < 0


def test_6_the_lone_smbs_lose_customers_to_the_partnered_ones(ecosystem):
    _, linked, alone = ecosystem
    with_network = _per_market(linked.runs, "profit_post_shift", "aligned", LONE)
    without = _per_market(alone.runs, "profit_post_shift", "aligned", LONE)
    assert _interval(with_network - without)[2] < 0


def test_negative_control_without_the_network_partnered_and_lone_smbs_are_alike(ecosystem):
    """Not one of the expectations (added after the first run): a control that the comparisons
    above could fail. Without the network SMBs 0, 1 and 2, 3 are exchangeable, so the gap of
    expectation 3 must vanish: its 95% interval within +-1.5 k€ per month (an equivalence test;
    the gap with the network is about 11)."""
    _, _, alone = ecosystem
    runs = alone.runs
    gap = _per_market(runs, "profit_post_shift", "aligned", PARTNERED) - _per_market(
        runs, "profit_post_shift", "aligned", LONE
    )
    _, low, high = _interval(gap)
    assert low > -1.5 and high < 1.5
