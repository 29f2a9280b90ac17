"""`furniture_maker` (32 decisions, evaluated on demand, issue 22): the `expected` outcomes
written in the file before the scenario was first run, checked over 200 seeds as paired
effect sizes with 95% intervals (common random numbers). Written, like the expectations,
before the first run; a line the model does not bear out stays as an expected failure with
the measured reason. Slow (a market of 32 decisions is evaluated on demand: minutes for 200
seeds on 2 cores), so marked `slow`."""

from __future__ import annotations

import pytest

from sim.experiment import run_experiment
from sim.scenario import load_scenario
from sim.stats import mean_ci, paired_difference
from tests.conftest import SEEDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runs():
    return run_experiment(load_scenario("furniture_maker"), seeds=SEEDS, periods=False).runs


def _one(runs, strategy):
    return runs[runs["strategy"] == strategy].set_index("seed")


def test_1_the_aligned_maker_has_the_higher_market_value_after_the_decline(runs):
    diff = paired_difference(runs, "market_value_post_shift_all", "aligned", "efficiency_only")
    print(diff)
    assert diff.n == SEEDS and diff.ci_low > 0, str(diff)  # excludes 0


def test_2_the_efficiency_only_maker_sails_in_circles(runs):
    silo = _one(runs, "efficiency_only")
    change = silo["efficiency_post_shift"] - silo["efficiency_pre_shift"]
    fall = silo["market_value_post_shift_all"] - silo["market_value_pre_shift_all"]
    print("efficiency change", mean_ci(change), "market value change", mean_ci(fall))
    assert change.mean() >= -0.02  # keeps its efficiency (mean over seeds)
    assert mean_ci(fall)[2] < 0  # its market value falls: excludes 0


def test_3_the_aligned_maker_earns_more_after_the_decline(runs):
    diff = paired_difference(runs, "profit_post_shift", "aligned", "efficiency_only")
    print(diff)
    assert diff.n >= 0.9 * SEEDS and diff.ci_low > 0, str(diff)  # excludes 0


def test_4_the_aligned_maker_ends_closer_to_the_estimated_port(runs):
    diff = paired_difference(runs, "final_distance_to_port", "efficiency_only", "aligned")
    print(diff)
    assert diff.ci_low > 0, str(diff)  # excludes 0
