"""Issue 13's businesses with designed effects: each scenario's `expected` outcomes, written in
the file before the scenario was first run, checked over 200 seeds as effect sizes with 95%
intervals, paired by seed where two strategies or two versions of a scenario are compared
(common random numbers: designed effects draw no random numbers, so a scenario with and without
them has the same landscapes and markets on a seed). Each assertion names what its interval must
exclude. docs/scenarios.md reports the numbers.

Unlike the other four scenarios' tests, these were written after the first run (commit 432e8d9,
with the rewritten things to notice and the classroom seeds), not committed with the
expectations. They follow the expectations as written; the one assertion that differs from
them is marked "differs from expected", and that expectation's own words are checked by an
expected failure (`xfail(strict=True)`, with the measured reason) next to it.
"""

from __future__ import annotations

import pandas as pd
import pytest

from sim.experiment import ExperimentResult, run_experiment
from sim.frames import DECISION_PREFIX, decision_columns
from sim.scenario import load_scenario
from sim.scenario.schema import Scenario
from sim.stats import mean_ci, paired_difference, share_ci
from tests.conftest import SEEDS

SCENARIOS = ("marketing_sales_silo", "online_retailer_fulfilment")
TWINS = ["efficiency_only", "aligned"]


@pytest.mark.parametrize("name", SCENARIOS)
def test_each_story_states_what_it_expects_and_its_effects(name):
    sc = load_scenario(name)
    assert len(sc.expected.split()) >= 40
    assert sc.effects and all(e.description for e in sc.effects)


def _held(result: ExperimentResult, scenario: Scenario, period: int, decision: str) -> pd.DataFrame:
    """Per seed (rows) and strategy (columns): 1 if ``decision`` is held at ``period`` (a closed
    firm: in its last period in business)."""
    rows = decision_columns(result.periods[result.periods["period"] == period], scenario)
    held = rows.pivot(index="seed", columns="strategy", values=DECISION_PREFIX + decision)
    return held.astype(float)


def _after(result: ExperimentResult, column: str, first: int) -> pd.DataFrame:
    """Per seed and strategy: the mean of ``column`` from period ``first`` on (efficiencies over
    the periods in business; profit counts 0 once closed)."""
    rows = result.periods[result.periods["period"] >= first]
    return rows.groupby(["seed", "strategy"], observed=True)[column].mean().unstack("strategy")


def _ci(values: pd.Series) -> tuple[float, float, float]:
    values = values.dropna()
    assert len(values) >= SEEDS * 0.8
    return mean_ci(values)


# ---- the installer: marketing automation floods sales with leads


@pytest.fixture(scope="module")
def installer():
    sc = load_scenario("marketing_sales_silo")
    without = load_scenario("marketing_sales_silo", {"effects": []})
    return (
        sc,
        run_experiment(sc, strategies=TWINS, seeds=SEEDS),
        run_experiment(without, strategies=TWINS, seeds=SEEDS),
    )


def test_installer_the_flood_lasts_in_the_efficiency_only_firm_and_not_in_the_aligned(installer):
    sc, result, _ = installer
    campaigns = _held(result, sc, sc.horizon, "automated_campaigns")
    scoring = _held(result, sc, sc.horizon, "lead_scoring")
    flood = campaigns * (1 - scoring)
    mean, low, _ = mean_ci(flood["efficiency_only"] - flood["aligned"])
    assert low > 0, mean  # more floods in efficiency-only firms: excludes 0
    share, _, high = share_ci(flood["aligned"] == 1)
    assert high < 0.2, f"{share:.0%} of aligned installers still flood sales"  # under a fifth
    # differs from expected (1)'s "about half" of the efficiency-only firms: the model shows
    # three quarters, and the test asks for more than half. Local search starts where the story
    # starts, campaigns on and no scoring; learning by doing is not the reason (without it, 78%:
    # docs/scenarios.md)
    share, low, _ = share_ci(flood["efficiency_only"] == 1)
    assert low > 0.5, f"{share:.0%} of efficiency-only installers still flood sales"


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (1) as written: about half of the efficiency-only installers still flood "
    "sales at the horizon; the model shows 73.5% [67.0, 79.1]: local search starts where the "
    "story starts, campaigns on and no scoring (docs/scenarios.md)",
)
def test_installer_about_half_of_the_efficiency_only_firms_still_flood_sales(installer):
    # No test of "about half" was written before the run (these tests were written after it);
    # read here generously, as an interval that reaches into 0.4 .. 0.6 (written after the run)
    sc, result, _ = installer
    campaigns = _held(result, sc, sc.horizon, "automated_campaigns")
    scoring = _held(result, sc, sc.horizon, "lead_scoring")
    flood = campaigns * (1 - scoring)
    share, low, high = share_ci(flood["efficiency_only"] == 1)
    assert low < 0.6 and high > 0.4, f"{share:.0%} of efficiency-only installers flood sales"


def test_installer_the_aligned_firm_ends_the_flood_by_scoring_its_leads(installer):
    sc, result, _ = installer
    campaigns = _held(result, sc, sc.horizon, "automated_campaigns")["aligned"]
    scoring = _held(result, sc, sc.horizon, "lead_scoring")["aligned"]
    mean, low, _ = mean_ci(campaigns * scoring - (1 - campaigns))
    assert low > 0, mean  # scored campaigns more often than campaigns off: excludes 0


def test_installer_the_automation_costs_sales_in_the_efficiency_only_firm(installer):
    sc, result, without = installer
    split = sc.split
    sales = _after(result, "efficiency_sales", split) - _after(without, "efficiency_sales", split)
    mean, _, high = _ci(sales["efficiency_only"])
    assert high < 0, mean  # lower with the effects than without: excludes 0
    mean, low, _ = _ci(sales["aligned"] - sales["efficiency_only"])
    assert low > 0, mean  # and by more than the aligned firm's: excludes 0
    marketing = _after(result, "efficiency_marketing", split) - _after(
        without, "efficiency_marketing", split
    )
    mean, low, _ = _ci(marketing["efficiency_only"])
    assert low > 0, mean  # while its marketing is more efficient: excludes 0


def test_installer_automation_amplifies_misalignment(installer):
    sc, result, without = installer
    profit = _after(result, "profit", sc.split) - _after(without, "profit", sc.split)
    mean, _, high = _ci(profit["efficiency_only"])
    assert high < 0, mean  # the efficiency-only firm earns less with the automation: excludes 0
    mean, low, _ = _ci(profit["aligned"] - profit["efficiency_only"])
    assert low > 0, mean  # the effects widen the aligned firm's lead: excludes 0


def test_installer_the_aligned_firm_earns_more(installer):
    _, result, _ = installer
    diff = paired_difference(result.runs, "profit_post_shift", "aligned", "efficiency_only")
    assert diff.n >= SEEDS * 0.9 and diff.ci_low > 0, str(diff)  # excludes 0


# ---- the online retailer: warehouse automation aimed at cost or at delivery speed


def _without_automation(sc: Scenario) -> Scenario:
    """The same retailer in which automated picking changes nothing: its own effect removed and
    same-day dispatch needing the late shift whatever the picking."""
    effects = []
    for effect in sc.effects:
        if "warehouse.automated_picking" in effect.when:
            continue
        spec = effect.model_dump()
        spec["unless"] = {k: v for k, v in spec["unless"].items() if not k.endswith("picking")}
        effects.append(spec)
    return load_scenario(sc.name, {"effects": effects})


@pytest.fixture(scope="module")
def retailer():
    sc = load_scenario("online_retailer_fulfilment")
    return (
        sc,
        run_experiment(sc, strategies=TWINS, seeds=SEEDS),
        run_experiment(_without_automation(sc), strategies=TWINS, seeds=SEEDS),
    )


def test_retailer_the_counterfactual_removes_exactly_the_automation(retailer):
    sc, _, _ = retailer
    other = _without_automation(sc)
    assert len(other.effects) == len(sc.effects) - 1
    assert not any("automated_picking" in str(e.model_dump()) for e in other.effects)


def test_retailer_both_retailers_automate_before_the_drift(retailer):
    sc, result, _ = retailer
    (drift,) = sc.market.shifts
    automated = _held(result, sc, drift.at - 1, "automated_picking")
    for strategy in TWINS:
        share, low, _ = share_ci(automated[strategy] == 1)
        assert low > 0.5, f"{strategy}: {share:.0%} automated at period {drift.at - 1}"  # most


def test_retailer_the_aligned_retailer_aims_the_automation_at_speed(retailer):
    sc, result, _ = retailer
    same_day = _held(result, sc, sc.horizon, "same_day_dispatch")
    share, low, _ = share_ci(same_day["aligned"] == 1)
    assert low > 0.5, f"{share:.0%} of aligned retailers dispatch the same day"  # most
    mean, low, _ = mean_ci(same_day["aligned"] - same_day["efficiency_only"])
    assert low > 0, mean  # more than the efficiency-only retailers: excludes 0
    share, _, high = share_ci(same_day["efficiency_only"] == 1)
    assert high < 0.5, f"{share:.0%} of efficiency-only retailers dispatch the same day"


def test_retailer_the_efficiency_only_retailer_stays_efficient_while_customers_leave(retailer):
    sc, result, _ = retailer
    runs = result.runs
    eff = runs[runs["strategy"] == "efficiency_only"].set_index("seed")
    _, low, _ = _ci(eff["efficiency_post_shift"] - eff["efficiency_pre_shift"])
    assert low > -0.01  # excludes falls of 0.01 or more
    end = _after(result, "market_value", sc.horizon - 29)["efficiency_only"]
    _, _, high = _ci(end - eff["market_value_pre_shift"])
    assert high < -0.1  # a fall of more than 0.1 from before the drift to the last 30 months
    _, _, high = mean_ci(eff["profit_post_shift"] - eff["profit_pre_shift"])
    assert high < 0  # profit from the drift on: lower, the interval excludes 0


def test_retailer_the_aligned_retailer_earns_more_from_the_drift_on(retailer):
    _, result, _ = retailer
    runs = result.runs
    diff = paired_difference(runs, "profit_post_shift", "aligned", "efficiency_only")
    assert diff.n >= SEEDS * 0.9 and diff.ci_low > 0, str(diff)  # excludes 0
    change = paired_difference(runs, "profit_change", "aligned", "efficiency_only")
    assert change.ci_low > 0, str(change)  # the drift itself widens the gap: excludes 0


def test_retailer_the_efficiency_only_warehouse_is_aimed_at_cost(retailer):
    sc, result, _ = retailer
    warehouse = _after(result, "efficiency_warehouse", sc.split)
    mean, low, _ = _ci(warehouse["efficiency_only"] - warehouse["aligned"])
    assert low > 0, mean  # more efficient warehouse in the efficiency-only retailer: excludes 0


def test_retailer_automation_aimed_at_speed_pays_more_and_sooner(retailer):
    sc, result, without = retailer
    profit = _after(result, "profit", sc.split) - _after(without, "profit", sc.split)
    mean, low, _ = _ci(profit["aligned"] - profit["efficiency_only"])
    assert low > 0, mean  # automation raises the aligned retailer's profit more: excludes 0
    (drift,) = sc.market.shifts
    halfway = drift.at + drift.duration // 2  # period 60
    with_it = _held(result, sc, halfway, "same_day_dispatch")["aligned"]
    with_none = _held(without, sc, halfway, "same_day_dispatch")["aligned"]
    mean, low, _ = mean_ci(with_it - with_none)
    assert low > 0, mean  # more aligned retailers already dispatch the same day: excludes 0
