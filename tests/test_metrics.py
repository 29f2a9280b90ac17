"""Every function of sim/metrics.py on hand-made paths with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.experiment import run_experiment
from sim.metrics import fall_and_recovery, heading, limit_cycles, path_metrics, revisits
from sim.scenario import load_scenario
from sim.stats import km_median, summary_table


def column(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)[:, None]


def moves(config: np.ndarray) -> np.ndarray:
    moved = np.zeros_like(config)
    moved[1:] = np.bitwise_count(config[1:] ^ config[:-1])
    return moved


def test_a_two_cycle_is_found_once_it_repeats_twice():
    config = column([0, 1, 2, 1, 2, 1, 2])  # 1, 2 repeats: (1, 2, 1, 2) complete at t = 4
    in_cycle, length = limit_cycles(config, moves(config))
    assert in_cycle[:, 0].tolist() == [False, False, False, False, True, True, True]
    assert length[4:, 0].tolist() == [2, 2, 2]


def test_a_three_cycle_has_length_three():
    config = column([5, 1, 2, 3, 1, 2, 3, 1])
    in_cycle, length = limit_cycles(config, moves(config))
    assert not in_cycle[:6, 0].any() and in_cycle[6, 0] and length[6, 0] == 3
    assert in_cycle[7, 0] and length[7, 0] == 3


def test_standing_still_is_not_a_cycle_and_a_one_off_return_is_a_revisit_only():
    still = column([4, 4, 4, 4, 4, 4])
    assert not limit_cycles(still, moves(still))[0].any()
    back = column([0, 1, 3, 7, 15, 7, 6, 2, 0])  # returns to 7 once, to 0 once, 74-style
    in_cycle, _ = limit_cycles(back, moves(back))
    assert not in_cycle.any()
    assert revisits(back, moves(back))[:, 0].tolist() == [
        False,
        False,
        False,
        False,
        False,
        True,
        False,
        False,
        True,
    ]


def test_cycles_longer_than_the_limit_are_not_looked_for():
    config = column(list(range(1, 6)) * 3)  # period 5
    assert limit_cycles(config, moves(config), max_period=4)[0].sum() == 0
    assert limit_cycles(config, moves(config), max_period=5)[0].sum() > 0


def test_heading_is_net_over_gross_distance():
    config = column([0, 1, 3, 7, 3])  # three bits out, one back
    h = heading(config, moves(config), np.ones_like(config, dtype=bool), window=4)
    assert np.isnan(h[:4, 0]).all()
    assert h[4, 0] == pytest.approx(2 / 4)
    still = column([2, 2, 2])
    assert np.isnan(heading(still, moves(still), np.ones_like(still, dtype=bool), 2)[2, 0])


def test_path_metrics_count_nothing_while_a_firm_is_closed():
    config = column([0, 1, 2, 1, 2, 1, 2])
    alive = np.ones_like(config, dtype=bool)
    alive[5:] = False
    path = path_metrics(config, moves(config), alive, heading_window=2)
    assert path["in_cycle"][4, 0] and not path["in_cycle"][5:, 0].any()
    assert (path["cycle_length"][5:, 0] == 0).all() and not path["revisit"][5:, 0].any()
    assert np.isnan(path["heading"][5:, 0]).all()


def test_recovery_is_counted_from_the_fall_below_the_common_reference():
    # index 0 is the period before the split; a fall is a step from >= 0.95 to below it
    assert fall_and_recovery(np.array([0.97, 0.7, 0.8, 0.96, 0.9, 0.97]), 0.95) == (1, 2.0)
    # a gradual shift: the firm falls three periods after the split, is back two later
    assert fall_and_recovery(np.array([0.99, 0.99, 0.98, 0.96, 0.9, 0.93, 0.96]), 0.95) == (4, 2.0)
    fall, time = fall_and_recovery(np.array([0.99, 0.9, np.nan, np.nan]), 0.95)
    assert fall == 1 and math.isnan(time)  # closed before it was back: never recovers
    fall, time = fall_and_recovery(np.array([0.99, 0.99, np.nan]), 0.95)
    assert fall == 2 and math.isnan(time)  # closing is a fall


def test_a_firm_that_never_fell_has_no_recovery():
    # above the bar throughout (the stable canteen's aligned firms): nothing to recover from
    fall, time = fall_and_recovery(np.array([0.99, 0.99, 0.97, 1.0]), 0.95)
    assert fall == -1 and math.isnan(time)
    # below the bar before the split and never above it: it never fell either
    fall, time = fall_and_recovery(np.array([0.8, 0.7, 0.8, 0.9]), 0.95)
    assert fall == -1 and math.isnan(time)
    # below before the split, then up, then down: it fell when it went down
    assert fall_and_recovery(np.array([0.8, 0.96, 0.9, 0.99]), 0.95) == (2, 1.0)


def test_kaplan_meier_median_counts_the_censored():
    # 4 of 10 recover at 1, 2, 3, 4; 6 never (censored at 10): S never falls to 0.5
    times = np.array([1, 2, 3, 4] + [np.nan] * 6, dtype=float)
    median, low, high = km_median(times, np.full(10, 10.0))
    assert math.isnan(median) and high == math.inf
    # 8 of 10 at 1..8: S(4) = 0.6, S(5) = 0.5 -> median 5
    times = np.array([1, 2, 3, 4, 5, 6, 7, 8, np.nan, np.nan], dtype=float)
    median, low, high = km_median(times, np.full(10, 10.0))
    assert median == 5.0 and low <= 5.0 <= high
    # every firm recovered at once: the band is undefined and collapses onto the median
    median, low, high = km_median(np.zeros(5), np.full(5, 10.0))
    assert (median, low, high) == (0.0, 0.0, 0.0)
    median, low, high = km_median(np.array([0.0, 0.0, 0.0, 0.0, np.nan]), np.full(5, 10.0))
    assert median == 0.0 and low == 0.0 and high >= 0.0
    # a mean over the recovered only would say 4.5 and hide the two that never did


# ----------------------------------------------------- the closed-firm rule in the runs table


@pytest.fixture(scope="module")
def closures():
    """bakery_gluten_free, 60 seeds with the per-period table: some efficiency-only firms close."""
    from sim.experiment import run_experiment
    from sim.scenario import load_scenario

    result = run_experiment(load_scenario("bakery_gluten_free"), seeds=60)
    closed = ~result.runs["survived"].astype(bool)
    assert 3 <= closed.sum() < 60, "the test needs runs with and without a closed firm"
    return result


def test_survivors_outcomes_are_missing_for_closed_firms_and_all_firms_count_zero(closures):
    """Issue 20: the runs table's market value ran over a closed firm's open periods (neither
    all firms nor survivors) and there was no all-firms column; `cycled` counted a closed firm
    as not cycling. The rule (docs/ODD.md 9.2) now holds in the runs table itself."""
    from sim.stats import ALL_FIRMS_METRICS, SURVIVOR_METRICS

    runs, periods, sc = closures.runs, closures.periods, closures.scenario
    closed = ~runs["survived"].astype(bool)
    for metric in SURVIVOR_METRICS:
        assert runs.loc[closed, metric].isna().all(), metric
        assert runs.loc[~closed, metric].notna().all(), metric
    for metric in ALL_FIRMS_METRICS - {"recovery_time"}:  # (NaN: not recovered)
        assert runs[metric].notna().all(), metric
    assert str(runs["cycled"].dtype) == "boolean"
    # all firms, computed independently from the periods table: a closed period counts 0
    window = {"pre_shift": range(sc.split - sc.metrics.window, sc.split),
              "post_shift": range(sc.split, sc.horizon + 1)}  # fmt: skip
    for name, part in window.items():
        inside = periods[periods["period"].isin(part)]
        expected = (
            inside.assign(v=inside["market_value"].fillna(0.0))
            .groupby(["strategy", "seed"], observed=True)["v"]
            .mean()
        )
        got = runs.set_index(["strategy", "seed"])[f"market_value_{name}_all"]
        np.testing.assert_allclose(got.loc[expected.index], expected, rtol=1e-12)
    # negative control: for a closed firm after the split, the all-firms value is lower
    late = closed & (runs["exit_period"] >= sc.split)
    if late.any():
        assert (runs.loc[late, "market_value_post_shift_all"] < 1).all()


def test_old_runs_tables_get_the_same_all_firms_columns(closures):
    """`closed_firm_outcomes` (for runs tables written before the rule, where the market value
    was a mean over the open periods) gives the all-firms columns `summarize_run` writes: the two
    implementations of the rule agree."""
    from sim.stats import closed_firm_outcomes

    runs, periods, sc = closures.runs, closures.periods, closures.scenario
    old = runs.drop(columns=[c for c in runs if c.endswith(("_all", "_survivors"))])
    for name, part in (("pre_shift", range(sc.split - sc.metrics.window, sc.split)),
                       ("post_shift", range(sc.split, sc.horizon + 1))):  # fmt: skip
        inside = periods[periods["period"].isin(part)]
        open_mean = inside.groupby(["strategy", "seed"], observed=True)["market_value"].mean()
        old[f"market_value_{name}"] = open_mean.loc[
            list(zip(old["strategy"], old["seed"], strict=True))
        ].to_numpy()
    rebuilt = closed_firm_outcomes(
        old, horizon=sc.horizon, split=sc.split, window=sc.metrics.window
    )
    for column in ("market_value_pre_shift_all", "market_value_post_shift_all"):
        np.testing.assert_allclose(rebuilt[column], runs[column], rtol=1e-12, atol=1e-15)
    for column in ("profit_pre_shift_survivors", "profit_post_shift_survivors"):
        np.testing.assert_array_equal(rebuilt[column], runs[column])


def test_paired_differences_say_which_firms_they_are_over(closures):
    """Issue 20: `paired_difference(runs, "market_value_post_shift")` used 27 of 30 pairs
    without a word; the all-firms column uses every seed."""
    from sim.stats import paired_difference

    runs = closures.runs
    either_closed = (~runs["survived"].astype(bool)).groupby(runs["seed"]).any()
    survivors = paired_difference(runs, "market_value_post_shift", "aligned", "efficiency_only")
    assert survivors.unpaired == either_closed.sum() > 0
    assert survivors.n == len(closures.seeds) - either_closed.sum()
    assert f"{survivors.unpaired} seeds left out" in str(survivors)
    everyone = paired_difference(runs, "market_value_post_shift_all", "aligned", "efficiency_only")
    assert (everyone.n, everyone.unpaired) == (len(closures.seeds), 0)
    assert everyone.population == "all firms" and survivors.population == "survivors"
    cycling = paired_difference(runs, "cycled", "aligned", "efficiency_only")
    assert cycling.unpaired == either_closed.sum()


def test_in_the_stable_canteen_recovery_counts_only_the_firms_that_fell():
    # issue 19: with no shift most aligned firms never fall below the bar; before 0.2.0 they
    # "recovered" at k = 0. Checked here against the periods table, computed independently.
    sc = load_scenario("canteen_stable")
    result = run_experiment(sc, seeds=40)
    split, bar = sc.split, sc.metrics.recovery_threshold
    runs = result.runs.set_index(["strategy", "seed"])
    at_bar_at_split = 0
    for (strategy, seed), firm in result.periods.groupby(["strategy", "seed"], observed=True):
        norm = firm.sort_values("period")["performance_norm"].to_numpy()
        above = norm >= bar
        falls = [t for t in range(split, len(norm)) if above[t - 1] and not above[t]]
        row = runs.loc[(strategy, seed)]
        assert row["fell"] == bool(falls)
        assert row["fall_period"] == (falls[0] if falls else -1)
        if falls:
            back = [t for t in range(falls[0] + 1, len(norm)) if above[t]]
            assert row["recovered"] == bool(back)
            if back:
                assert row["recovery_time"] == back[0] - falls[0] >= 1
        else:
            assert not row["recovered"] and math.isnan(row["recovery_time"])
        at_bar_at_split += strategy == "aligned" and above[split]
    # the negative control: most aligned firms are at the bar at the split, which the old
    # definition counted as recovered at k = 0; none of them fell
    assert at_bar_at_split > 0.5 * 40
    table = summary_table(result).set_index(["strategy", "metric"])
    for strategy in ("efficiency_only", "aligned"):
        fell = int(runs.loc[strategy, "fell"].sum())
        assert table.loc[(strategy, "recovered"), "n"] == fell
        assert table.loc[(strategy, "recovery_time"), "n"] == fell


def test_under_a_gradual_shift_recovery_runs_from_where_the_firm_fell():
    # the eco-hotel's travellers drift from period 48 over 36 months: aligned hotels fall
    # below the bar well after the split, and take periods (not 0) to come back from there
    sc = load_scenario("hospitality_eco_tourism")
    runs = run_experiment(sc, strategies=["aligned"], seeds=30, periods=False).runs
    fell = runs[runs["fell"]]
    assert len(fell) >= 20
    assert (fell["fall_period"] >= sc.split).all() and fell["fall_period"].median() > sc.split + 5
    median, low, _ = km_median(fell["recovery_time"], fell["recovery_observed"])
    assert low >= 1 and median >= 1
    assert (fell["recovery_observed"] == sc.horizon - fell["fall_period"]).all()
