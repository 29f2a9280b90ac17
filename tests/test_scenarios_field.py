"""Issue 13's businesses from the field: each scenario's `expected` outcomes, written in the file
before the scenario was first run, checked over 200 seeds as effect sizes with 95% intervals,
paired by seed where two strategies or two markets are compared (common random numbers). Each
assertion names what its interval must exclude. docs/scenarios.md reports the numbers.

The tests written before the first run (commit 6647b54) are kept as written: where the model does
not bear one out, it stays here as an expected failure (`xfail(strict=True)`, with the measured
reason), and a separate test, named "..._as_the_model_shows" or "..._found_after_the_run",
checks what the model shows instead, its bounds marked "set after the run".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.experiment import run_experiment
from sim.frames import decision_columns
from sim.model import Market
from sim.scenario import load_scenario
from sim.stats import equivalence, mean_ci, paired_difference, paired_values, share_ci
from tests.conftest import SEEDS

FIELD = ("hospitality_eco_tourism", "fintech_regulation")
TWINS = ["efficiency_only", "aligned"]
# a twentieth of the scale: 0.6 x 0.05 x 80 = 2.4 k€ a month (fintech); set after the run
MARKET_VALUE_MARGIN = 0.05


@pytest.mark.parametrize("name", FIELD)
def test_each_story_states_what_it_expects(name):
    assert len(load_scenario(name).expected.split()) >= 40


def _window(periods: pd.DataFrame, strategy: str, column: str, first: int, last: int) -> pd.Series:
    """Per seed: the mean of ``column`` over periods ``first`` .. ``last`` (NaN once closed)."""
    rows = periods[(periods["strategy"] == strategy) & periods["period"].between(first, last)]
    return rows.groupby("seed")[column].mean()


def _largest_fall_share(periods: pd.DataFrame, strategy: str, split: int, window: int, end: int):
    """Per seed: the largest one-period fall of profit from the split on, as a share of the
    whole fall from the window before the split to the last window (NaN where profit did not
    fall): the measure `largest_monthly_fall` of docs/scenarios.md."""
    out = {}
    for seed, rows in periods[periods["strategy"] == strategy].groupby("seed"):
        profit = rows.sort_values("period")["profit"].to_numpy()
        fall = profit[max(1, split - window) : split].mean() - profit[end + 1 - window :].mean()
        steps = (-np.diff(profit[split - 1 :])).clip(min=0).max()
        out[seed] = steps / fall if fall > 0 else np.nan
    return pd.Series(out)


# ---- the hotel: travellers move gradually to sustainable stays


@pytest.fixture(scope="module")
def hotel():
    sc = load_scenario("hospitality_eco_tourism")
    return sc, run_experiment(sc, strategies=TWINS, seeds=SEEDS)


def test_hotel_the_efficiency_only_hotel_keeps_its_efficiency_while_travellers_leave(hotel):
    sc, result = hotel
    runs, periods = result.runs, result.periods
    eff = runs[runs["strategy"] == "efficiency_only"].set_index("seed")
    # efficiency kept: the interval of after - before must exclude falls of 0.01 or more
    _, low, _ = mean_ci(eff["efficiency_post_shift"] - eff["efficiency_pre_shift"])
    assert low > -0.01
    # market value: from before the drift to the last 30 months, a fall of more than 0.1
    end = _window(periods, "efficiency_only", "market_value", sc.horizon - 29, sc.horizon)
    _, _, high = mean_ci(end - eff["market_value_pre_shift"])
    assert high < -0.1
    _, _, high = mean_ci(eff["profit_post_shift"] - eff["profit_pre_shift"])
    assert high < 0  # profit after the drift begins: lower, the interval excludes 0


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (2) as written: the drift itself widens the profit gap; the model shows a "
    "difference-in-differences of 0.38 [-0.44, 1.19]: the efficiency-only hotel had wandered off "
    "the package market before the drift (docs/scenarios.md)",
)
def test_hotel_the_aligned_hotel_follows_the_travellers_and_earns_more(hotel):
    sc, result = hotel  # as written before the first run (commit 6647b54)
    runs, periods = result.runs, result.periods
    diff = paired_difference(runs, "profit_post_shift", "aligned", "efficiency_only")
    assert diff.n >= SEEDS * 0.9 and diff.ci_low > 0, str(diff)  # excludes 0
    change = paired_difference(runs, "profit_change", "aligned", "efficiency_only")
    assert change.ci_low > 0, str(change)  # the drift itself widens the gap: excludes 0
    aligned = runs[runs["strategy"] == "aligned"].set_index("seed")
    end = _window(periods, "aligned", "market_value", sc.horizon - 29, sc.horizon)
    # at least 90% of its market value before the drift: the interval excludes a shortfall
    _, low, _ = mean_ci(end - 0.9 * aligned["market_value_pre_shift"])
    assert low > 0


def test_hotel_the_aligned_hotel_follows_the_travellers_as_the_model_shows(hotel):
    # expected (2) without the difference-in-differences, which fails (the test above)
    sc, result = hotel
    runs, periods = result.runs, result.periods
    diff = paired_difference(runs, "profit_post_shift", "aligned", "efficiency_only")
    assert diff.n >= SEEDS * 0.9 and diff.ci_low > 0, str(diff)  # excludes 0
    aligned = runs[runs["strategy"] == "aligned"].set_index("seed")
    end = _window(periods, "aligned", "market_value", sc.horizon - 29, sc.horizon)
    # at least 90% of its market value before the drift: the interval excludes a shortfall
    _, low, _ = mean_ci(end - 0.9 * aligned["market_value_pre_shift"])
    assert low > 0


def test_hotel_the_gap_is_there_before_the_drift_and_widens_only_once_it_is_over(hotel):
    # Expected: the drift itself widens the profit gap (difference-in-differences over the
    # whole window after period 48 above 0). The model shows an interval that includes 0,
    # because the efficiency-only hotel has wandered off the package market before the drift
    # (docs/scenarios.md); what it does show is tested here, the last part found after the run.
    sc, result = hotel
    runs, periods = result.runs, result.periods
    before = paired_difference(runs, "profit_pre_shift", "aligned", "efficiency_only")
    assert before.ci_low > 0, str(before)  # a gap before the drift: excludes 0
    gap = paired_difference(runs, "market_value_pre_shift", "aligned", "efficiency_only")
    # the silo hotel fits less well: excludes gaps of 0.2 (a bound set after the run)
    assert gap.ci_low > 0.2, str(gap)
    last = periods[periods["period"] > sc.horizon - 30].groupby(["seed", "strategy"], observed=True)
    profit_end = last["profit"].mean().unstack()
    widened = (
        profit_end["aligned"]
        - profit_end["efficiency_only"]
        - paired_values(runs, "profit_pre_shift", "aligned", "efficiency_only")
    )
    mean, low, _ = mean_ci(widened)
    assert low > 0, mean  # the last 30 months' gap is wider than the gap before: excludes 0


def test_hotel_the_aligned_hotel_turns_green_while_the_trend_spreads(hotel):
    sc, result = hotel
    (drift,) = sc.market.shifts
    halfway = drift.at + drift.duration // 2  # period 66
    rows = result.periods[result.periods["period"] == halfway]
    held = decision_columns(rows, sc).pivot(
        index="seed", columns="strategy", values="decision_eco_certification"
    )
    share, low, _ = share_ci(held["aligned"] == 1)
    assert low > 0.5, f"{share:.0%} of aligned hotels certified at period {halfway}"  # most
    mean, low, _ = mean_ci(held["aligned"] - held["efficiency_only"])
    assert low > 0, mean  # more than the efficiency-only hotels: excludes 0


def _fall_shares(sc, result) -> pd.Series:
    """Per seed: the efficiency-only hotel's largest one-month fall as a share of its whole
    fall, with the drift minus with travellers switching at once at the drift's start."""
    (drift,) = sc.market.shifts
    abrupt = load_scenario(
        "hospitality_eco_tourism",
        {"market.shifts": [{"kind": "abrupt", "at": drift.at, "to": drift.to}]},
    )
    sudden = run_experiment(abrupt, strategies=["efficiency_only"], seeds=SEEDS).periods
    args = (sc.split, sc.metrics.window, sc.horizon)
    gradual = _largest_fall_share(result.periods, "efficiency_only", *args)
    at_once = _largest_fall_share(sudden, "efficiency_only", *args)
    return gradual - at_once


@pytest.fixture(scope="module")
def fall_shares(hotel):
    return _fall_shares(*hotel)


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (4) as written, with the measure defined in at least 80% of markets; the "
    "model shows it defined in 137 of 200: in the others the efficiency-only hotel's profit did "
    "not fall, having wandered off the package market before the drift (docs/scenarios.md)",
)
def test_hotel_a_slow_drift_erodes_profit_where_an_abrupt_one_breaks_it(fall_shares):
    paired = fall_shares.dropna()  # as written before the first run (commit 6647b54)
    assert len(paired) >= SEEDS * 0.8
    mean, _, high = mean_ci(paired)
    assert high < 0, mean  # a smaller share of the whole fall in one month: excludes 0


def test_hotel_a_slow_drift_erodes_profit_as_the_model_shows(fall_shares):
    # defined where the silo hotel's profit fell at all: in about a third of the markets it had
    # already wandered off the package market before the drift, and did not fall further.
    # At least half: a threshold set after the run (the test written before it, commit
    # 6647b54, required 80%).
    paired = fall_shares.dropna()
    assert len(paired) >= SEEDS // 2
    mean, _, high = mean_ci(paired)
    assert high < 0, mean  # a smaller share of the whole fall in one month: excludes 0


# ---- the fintech: a regulation, then tightening that never relaxes


@pytest.fixture(scope="module")
def fintech():
    sc = load_scenario("fintech_regulation")
    return sc, run_experiment(sc, strategies=TWINS, seeds=SEEDS)


def _regimes(sc, seeds) -> pd.DataFrame:
    """The regime in force in every period of every seed (the market's drawn schedule)."""
    frames = []
    for seed in seeds:
        regime = [sc.initial_regime] * (sc.horizon + 1)
        for event in Market(scenario=sc, strategies=[], rng=seed).environment.schedule:
            if event.kind == "regime":
                regime[event.time :] = [event.to] * (sc.horizon + 1 - event.time)
        frames.append(
            pd.DataFrame({"seed": seed, "period": range(sc.horizon + 1), "regime": regime})
        )
    return pd.concat(frames, ignore_index=True)


def _regime_changes(sc, seeds, start: int) -> pd.Series:
    """Per seed: how many times the regime in force changes from period ``start`` on."""
    table = _regimes(sc, seeds)
    changed = table["regime"].ne(table.groupby("seed")["regime"].shift())
    return (changed & (table["period"] >= start)).groupby(table["seed"]).sum()


def test_fintech_the_aligned_fintech_earns_more_from_the_regulation_on(fintech):
    _, result = fintech
    runs = result.runs
    diff = paired_difference(runs, "profit_post_shift", "aligned", "efficiency_only")
    assert diff.n >= SEEDS * 0.9 and diff.ci_low > 0, str(diff)  # excludes 0
    change = paired_difference(runs, "profit_change", "aligned", "efficiency_only")
    assert change.ci_low > 0, str(change)  # the regulation itself widens the gap: excludes 0


@pytest.fixture(scope="module")
def staircase(fintech) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per seed and strategy, over the markets that reach the strictest rules: market value
    under the first regulation and under the strictest rules."""
    sc, result = fintech
    periods = result.periods.merge(_regimes(sc, range(SEEDS)), on=["seed", "period"])
    value = periods.pivot_table(
        index=["seed", "regime"], columns="strategy", values="market_value", observed=True
    )
    reached = value.xs("strict", level="regime").index  # markets that reach the strictest rules
    assert len(reached) >= SEEDS * 0.8
    first = value.xs("regulated", level="regime").loc[reached]
    last = value.xs("strict", level="regime").loc[reached]
    return first, last


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="expected (2) as written: the gap between the two fintechs' market values widens "
    "under the strictest rules; the model shows a change of -0.001 [-0.025, 0.022]: both lose "
    "about as much at each step (docs/scenarios.md)",
)
def test_fintech_each_tightening_is_a_step_down_for_the_efficiency_only_fintech(staircase):
    first, last = staircase  # as written before the first run (commit 6647b54)
    mean, _, high = mean_ci(last["efficiency_only"] - first["efficiency_only"])
    assert high < 0, mean  # lower under the strictest rules: excludes 0
    gap_first = first["aligned"] - first["efficiency_only"]
    gap_last = last["aligned"] - last["efficiency_only"]
    mean, low, _ = mean_ci(gap_last - gap_first)
    assert low > 0, mean  # the gap widens: excludes 0


def test_fintech_each_tightening_is_a_step_down_as_the_model_shows(staircase):
    first, last = staircase
    mean, _, high = mean_ci(last["efficiency_only"] - first["efficiency_only"])
    assert high < 0, mean  # lower under the strictest rules: excludes 0
    # Expected: the gap between the two widens. The model shows it staying as it was, because
    # the aligned fintech meets a longer list of rules less fully too (docs/scenarios.md):
    mean, _, high = mean_ci(last["aligned"] - first["aligned"])
    assert high < 0, mean  # the aligned fintech loses as well: excludes 0
    gap_first = first["aligned"] - first["efficiency_only"]
    gap_last = last["aligned"] - last["efficiency_only"]
    # the gap changes by less than 0.05 of market value (2.4 k€ a month for this fintech): a
    # margin set after the run (the test written before it asserted that the gap widens)
    same = equivalence(gap_last - gap_first, MARKET_VALUE_MARGIN)
    assert same.equivalent, same


@pytest.fixture(scope="module")
def relaxing_market(fintech):
    """The fintech whose turbulence may also relax the rules (same probability and start, any
    regime): the scenario, its efficiency-only runs' periods, and the turbulence."""
    sc, _ = fintech
    turbulence = next(s for s in sc.market.shifts if s.kind == "turbulence")
    relaxing = {
        **turbulence.model_dump(exclude={"transitions"}),
        "targets": {r.name: 1.0 for r in sc.market.regimes},
    }
    undirected = load_scenario("fintech_regulation", {"market.shifts.1": relaxing})
    other = run_experiment(undirected, strategies=["efficiency_only"], seeds=SEEDS).periods
    return undirected, other, turbulence


def test_fintech_rules_that_never_relax_leave_the_efficiency_only_fintech_no_way_back(
    fintech, relaxing_market
):
    """Expected (3) compares the same rate of change with and without relaxing; the arms differ
    in more than that. `strict` absorbs, so the shifts stop once it is reached: the arm whose
    rules can relax changes regime about twice as often from period 48 (3.8 against 1.9 times a
    market over these seeds, docs/scenarios.md). And the efficiency-only fintech does not watch
    the market (alpha 0, no sensing): its decisions are the same in both arms while it is open
    in both. So this shows that its fixed set-up scores lower under `strict` than averaged over
    the regimes, not that the firm finds no way back."""
    sc, result = fintech
    _, other, _ = relaxing_market
    last = (sc.horizon - 29, sc.horizon)
    never_back = _window(result.periods, "efficiency_only", "market_value", *last)
    may_relax = _window(other, "efficiency_only", "market_value", *last)
    mean, _, high = mean_ci((never_back - may_relax).dropna())
    assert high < 0, mean  # lower when the rules never relax: excludes 0


def test_fintech_the_never_back_arms_differ_in_rate_not_in_decisions_found_after_the_run(
    fintech, relaxing_market
):
    """Found after the run, what the two arms of expected (3) differ in: the silo fintech's
    decisions do not (while it is open in both), the number of regime changes from period 48
    does (`strict` absorbs, so the shifts stop once it is reached)."""
    sc, result = fintech
    undirected, other, turbulence = relaxing_market
    silo = result.periods[result.periods["strategy"] == "efficiency_only"]
    both = silo.merge(other, on=["seed", "period"], suffixes=("", "_relaxing"))
    open_in_both = both["alive"] & both["alive_relaxing"]
    assert (both["config"] == both["config_relaxing"])[open_in_both].all()
    never = _regime_changes(sc, range(SEEDS), turbulence.start)
    relax = _regime_changes(undirected, range(SEEDS), turbulence.start)
    mean, low, _ = mean_ci(relax - never)
    assert low > 0, mean  # more changes where the rules can relax (strict absorbs): excludes 0


def test_fintech_compliance_costs_the_aligned_fintech_efficiency(fintech):
    _, result = fintech
    runs = result.runs.set_index("seed")
    aligned = runs[runs["strategy"] == "aligned"]
    _, _, high = mean_ci(aligned["efficiency_post_shift"] - aligned["efficiency_pre_shift"])
    assert high < 0  # lower after the regulation: excludes 0
    eff = runs[runs["strategy"] == "efficiency_only"]
    _, low, _ = mean_ci(eff["efficiency_post_shift"] - eff["efficiency_pre_shift"])
    assert low > -0.01  # the efficiency-only fintech's: excludes falls of 0.01 or more


@pytest.mark.parametrize("name", FIELD)
def test_each_runs_and_explains_itself_from_the_command_line(name, tmp_path, capsys):
    from sim.cli import main

    assert main(["explain", name]) == 0
    text = capsys.readouterr().out
    assert "Expected (written before the first run):" in text
    assert " ".join(load_scenario(name).expected.split()[:8]) in " ".join(text.split())
    out = tmp_path / "out"
    assert main(["run", name, "--seeds", "2", "--out", str(out), "--quiet", "--no-figures"]) == 0
    assert {"runs.parquet", "periods.parquet", "manifest.json"} <= {p.name for p in out.iterdir()}
