"""Issue 13's businesses about people: the restaurant whose staff do or do not understand its
kitchen technology, and the metal works that automates with or without retraining. Each
scenario's `expected` outcomes, written in the file before it was first run, are checked over
200 seeds as effect sizes with 95% intervals, paired by seed (common random numbers) where two
strategies or two settings are compared. Each assertion names what its interval must exclude;
docs/scenarios.md reports the numbers.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.experiment import run_experiment
from sim.frames import decision_columns
from sim.scenario import load_scenario
from sim.stats import mean_ci, paired_difference, share_ci
from tests.conftest import SEEDS

PEOPLE = ("restaurant_kitchen_tech", "manufacturing_automation")


@pytest.mark.parametrize("name", PEOPLE)
def test_each_story_states_what_it_expects(name):
    sc = load_scenario(name)
    assert len(sc.expected.split()) >= 40
    assert sc.effects and sc.firm.understanding is not None and sc.firm.engagement is not None


def _per_seed(periods: pd.DataFrame, strategy: str, column: str, first: int, last: int):
    """Per seed: the mean of ``column`` over periods ``first`` .. ``last`` (periods alive)."""
    rows = periods[(periods["strategy"] == strategy) & periods["period"].between(first, last)]
    return rows[rows["alive"]].groupby("seed")[column].mean()


def _held(periods: pd.DataFrame, scenario, period: int) -> pd.DataFrame:
    """The decisions held at ``period``, one row per strategy x seed."""
    return decision_columns(periods[periods["period"] == period], scenario)


def _paired(a: pd.Series, b: pd.Series) -> tuple[float, float, float]:
    """Mean of a - b over the seeds both have, with its 95% interval."""
    return mean_ci((a - b).dropna())


# ---- the restaurant: kitchen technology, understood or imposed


@pytest.fixture(scope="module")
def restaurant():
    sc = load_scenario("restaurant_kitchen_tech")
    return sc, run_experiment(sc, seeds=SEEDS)


def test_restaurant_explaining_builds_understanding_and_silence_loses_it(restaurant):
    sc, result = restaurant
    shift = sc.split
    at_shift = result.periods[result.periods["period"] == shift]
    for dept in sc.departments:
        column = f"understanding_{dept.name}"
        explained = at_shift[at_shift["strategy"] == "aligned_explained"][column]
        silent = at_shift[at_shift["strategy"] == "aligned"][column]
        assert mean_ci(explained)[1] > 0.85  # about 0.9: the interval excludes 0.85
        assert mean_ci(silent)[2] < 0.4  # below the initial 0.4: excludes it


def test_restaurant_the_kitchen_embraces_a_change_it_understands(restaurant):
    sc, result = restaurant
    periods = result.periods
    engagement = {
        s: _per_seed(periods, s, "engagement_kitchen", 1, sc.horizon)
        for s in ("efficiency_only", "aligned", "aligned_explained")
    }
    mean, low, _ = _paired(engagement["aligned_explained"], engagement["aligned"])
    assert low > 0, mean  # explained above aligned: excludes 0
    mean, low, _ = _paired(engagement["aligned"], engagement["efficiency_only"])
    assert low > 0, mean  # aligned above efficiency-only: excludes 0


def test_restaurant_every_restaurant_installs_the_combi_ovens(restaurant):
    sc, result = restaurant
    held = _held(result.periods, sc, sc.split - 1)
    for strategy, rows in held.groupby("strategy", observed=True):
        share, low, _ = share_ci(rows["combi_steam_ovens"] == 1)
        assert low > 0.5, f"{strategy}: {share:.0%} have the ovens"  # most: excludes a half


def test_restaurant_the_explained_kitchen_makes_more_of_the_technology(restaurant):
    sc, result = restaurant
    first = sc.split - sc.metrics.window
    before = {
        s: _per_seed(result.periods, s, "efficiency_kitchen", first, sc.split - 1)
        for s in ("aligned", "aligned_explained")
    }
    mean, low, _ = _paired(before["aligned_explained"], before["aligned"])
    assert low > 0, mean  # excludes 0


def test_restaurant_explaining_turns_the_efficiency_towards_the_guests(restaurant):
    sc, result = restaurant
    runs = result.runs
    for a, b in (("aligned_explained", "aligned"), ("aligned", "efficiency_only")):
        diff = paired_difference(runs, "market_value_post_shift", a, b)
        assert diff.ci_low > 0, str(diff)  # excludes 0
    held = _held(result.periods, sc, sc.horizon).pivot(
        index="seed", columns="strategy", values="seasonal_menu"
    )
    mean, low, _ = mean_ci(held["aligned_explained"] - held["aligned"])
    assert low > 0, mean  # more explained restaurants serve the seasonal menu: excludes 0


def test_restaurant_explaining_pays_for_its_briefings(restaurant):
    runs = restaurant[1].runs
    for a, b in (("aligned_explained", "aligned"), ("aligned", "efficiency_only")):
        diff = paired_difference(runs, "profit_post_shift", a, b)
        assert diff.n >= SEEDS * 0.9 and diff.ci_low > 0, str(diff)  # excludes 0


# ---- the metal works: automation with or without retraining


@pytest.fixture(scope="module")
def works():
    sc = load_scenario("manufacturing_automation")
    return sc, run_experiment(sc, seeds=SEEDS)


def _floor_engagement(sc, periods):
    return {
        s: _per_seed(periods, s, "engagement_production", 1, sc.horizon)
        for s in ("efficiency_only", "aligned", "retraining")
    }


def test_works_retraining_keeps_the_shop_floor_engaged_and_its_people(works):
    sc, result = works
    engagement = _floor_engagement(sc, result.periods)
    mean, low, _ = _paired(engagement["retraining"], engagement["aligned"])
    assert low > 0, mean  # excludes 0
    mean, low, _ = _paired(engagement["aligned"], engagement["efficiency_only"])
    assert low > 0, mean  # excludes 0
    # staff leaving per year, 12 x turnover x (1 - engagement): the same order, reversed
    turnover = sc.firm.engagement.turnover
    leaving = {s: 12 * turnover * (1 - e) for s, e in engagement.items()}
    assert _paired(leaving["efficiency_only"], leaving["retraining"])[1] > 0  # excludes 0


def test_works_turnover_costs_the_efficiency_only_works_more_practice(works):
    sc, result = works
    steady = load_scenario("manufacturing_automation", {"firm.engagement.turnover": 0.0})
    kept = run_experiment(steady, strategies=["efficiency_only", "retraining"], seeds=SEEDS)
    loss = {
        s: _per_seed(kept.periods, s, "efficiency_production", sc.split, sc.horizon)
        - _per_seed(result.periods, s, "efficiency_production", sc.split, sc.horizon)
        for s in ("efficiency_only", "retraining")
    }
    mean, low, _ = mean_ci(loss["efficiency_only"])
    assert low > 0, mean  # turnover costs the silo works production efficiency: excludes 0
    mean, low, _ = _paired(loss["efficiency_only"], loss["retraining"])
    assert low > 0, mean  # more than it costs the works with retraining: excludes 0


def test_works_aligned_works_program_their_robots_in_house(works):
    sc, result = works
    held = _held(result.periods, sc, sc.split - 1)
    both = (held["robotic_welding_cell"] == 1) & (held["in_house_cell_programming"] == 1)
    wide = held.assign(both=both.astype(float)).pivot(
        index="seed", columns="strategy", values="both"
    )
    mean, low, _ = mean_ci(wide["aligned"] - wide["efficiency_only"])
    assert low > 0, mean  # excludes 0


def test_works_the_twins_story_holds(works):
    runs = works[1].runs
    eff = runs[runs["strategy"] == "efficiency_only"].dropna(subset=["efficiency_post_shift"])
    _, low, _ = mean_ci(eff["efficiency_post_shift"] - eff["efficiency_pre_shift"])
    assert low > -0.01  # efficiency kept: excludes a fall of 0.01 or more
    _, _, high = mean_ci(eff["market_value_post_shift"] - eff["market_value_pre_shift"])
    assert high < 0  # excludes 0
    _, _, high = mean_ci(eff["profit_post_shift"] - eff["profit_pre_shift"])
    assert high < 0  # excludes 0
    diff = paired_difference(runs, "profit_post_shift", "aligned", "efficiency_only")
    assert diff.n >= SEEDS * 0.9 and diff.ci_low > 0, str(diff)  # excludes 0


def test_works_retraining_pays_for_itself(works):
    runs = works[1].runs
    for metric in ("market_value_post_shift", "profit_post_shift"):
        diff = paired_difference(runs, metric, "retraining", "aligned")
        assert diff.ci_low > 0, str(diff)  # excludes 0
