"""The cloud provider (`cloud_resource_orchestration`, issue 24): its `expected` outcomes, written
in the file before the scenario was first run (commit 2d76b0b), checked over 200 seeds as
effect sizes with 95% intervals, paired by seed (common random numbers). Each assertion names
what its interval must exclude. docs/scenarios.md reports the numbers.

The tests below were written before the first run and are kept as written: where the model does
not bear one out, it stays as an expected failure (`xfail(strict=True)`, with the measured
reason).

Settings that differ between the arms compared:
- aligned vs efficiency_only: alpha 0.7 vs 0, hierarchical vs decentralized coordination,
  sensing 0.3 vs 0, and so the reallocation rule (market vs efficiency, `[resources]`) and the
  costs of coordination (2.7 vs 0 k€ a month);
- "keep": resources.reallocation.hierarchical = "keep" (the aligned provider never moves its
  split), nothing else;
- "without resources": the [resources] section removed, nothing else.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.experiment import run_experiment
from sim.scenario import load_scenario
from sim.stats import mean_ci, paired_difference, paired_values
from tests.conftest import SEEDS

NAME = "cloud_resource_orchestration"
TWINS = ["efficiency_only", "aligned"]


@pytest.fixture(scope="module")
def cloud() -> pd.DataFrame:
    return run_experiment(load_scenario(NAME), strategies=TWINS, seeds=SEEDS, periods=False).runs


@pytest.fixture(scope="module")
def kept_split() -> pd.DataFrame:
    sc = load_scenario(NAME, {"resources.reallocation": {"hierarchical": "keep"}})
    return run_experiment(sc, strategies=["aligned"], seeds=SEEDS, periods=False).runs


@pytest.fixture(scope="module")
def without_resources() -> pd.DataFrame:
    sc = load_scenario(NAME).model_copy(update={"resources": None})
    return run_experiment(sc, strategies=TWINS, seeds=SEEDS, periods=False).runs


def test_the_story_states_what_it_expects():
    assert len(load_scenario(NAME).expected.split()) >= 40


@pytest.mark.parametrize("strategy", TWINS)
def test_1_the_budget_binds_in_more_than_half_of_the_periods(cloud, strategy):
    shares = cloud.loc[cloud["strategy"] == strategy, "budget_binds_share_post_shift"]
    _, low, _ = mean_ci(shares)
    assert low > 0.5  # the interval excludes one half and below


def test_2_the_head_office_turns_away_less_demand(cloud):
    diff = paired_difference(cloud, "unserved_demand_post_shift", "aligned", "efficiency_only")
    assert diff.ci_high < 0  # excludes 0


def test_3_the_aligned_provider_earns_more(cloud):
    diff = paired_difference(cloud, "profit_post_shift", "aligned", "efficiency_only")
    assert diff.ci_low > 0  # excludes 0


def test_4_reallocation_pays_for_its_moves(cloud, kept_split):
    moving = cloud[cloud["strategy"] == "aligned"].set_index("seed")["profit_post_shift"]
    keeping = kept_split.set_index("seed")["profit_post_shift"]
    _, low, _ = mean_ci(moving - keeping)
    assert low > 0  # excludes 0


@pytest.mark.xfail(
    strict=True,
    reason="expected (5) as written: the profit gap from period 24 on is wider with resources "
    "than without; the model shows the difference in differences -0.55 [-1.08, -0.02] k€ a "
    "month: with resources the silo provider closes in 63% of markets (survives in 37%, 94.5% "
    "without), and a closed firm's profit counts 0 from its exit, so its loss from resources "
    "is bounded (-7.26 [-7.79, -6.73] k€ a month), while the aligned provider, open in every "
    "market, pays for the capacity in use and for its moves each month (-7.81 [-7.86, -7.76])",
)
def test_5_capacity_that_follows_demand_widens_the_aligned_providers_lead(cloud, without_resources):
    with_ = paired_values(cloud, "profit_post_shift", "aligned", "efficiency_only")
    without = paired_values(without_resources, "profit_post_shift", "aligned", "efficiency_only")
    _, low, _ = mean_ci(with_ - without)
    assert low > 0  # the difference in differences excludes 0


def test_5_found_after_the_run_resources_widen_the_market_value_gap(cloud, without_resources):
    """Found after the run (bounds set after the run): what expected (5) meant, measured where
    a closed firm's periods count, market value over all firms (0 once closed): the aligned
    provider's lead from period 24 on, +0.57 with resources against +0.31 without."""
    metric = "market_value_post_shift_all"
    with_ = paired_values(cloud, metric, "aligned", "efficiency_only")
    without = paired_values(without_resources, metric, "aligned", "efficiency_only")
    _, low, _ = mean_ci(with_ - without)
    assert low > 0.15  # set after the run: the difference in differences, about +0.26
