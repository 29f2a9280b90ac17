"""sim.stats on hand-made data, checked against scipy and statsmodels computed independently."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from sim.stats import (
    SUMMARY_METRICS,
    TooFewValuesWarning,
    benjamini_hochberg,
    bounds_of,
    closed_firm_outcomes,
    cluster_mean_ci,
    equivalence,
    grouped_cluster_ci,
    holm,
    mean_ci,
    paired_difference,
    pairwise_differences,
    population_of,
    share_ci,
    summary_table,
    tost_p,
    wide_differences,
)

RNG = np.random.default_rng(2024)


def test_mean_ci_is_the_student_t_interval():
    x = RNG.normal(3.0, 2.0, size=17)
    mean, low, high = mean_ci(x)
    expected = DescrStatsW(x).tconfint_mean(alpha=0.05)
    assert mean == pytest.approx(x.mean())
    assert (low, high) == pytest.approx(expected)
    assert mean_ci(np.append(x, np.nan)) == pytest.approx((mean, low, high))
    assert math.isnan(mean_ci([1.0])[1]) and math.isnan(mean_ci([])[0])


def test_share_ci_is_wilson_and_stays_in_0_1():
    flags = np.array([True] * 3 + [False] * 14)
    share, low, high = share_ci(flags)
    assert share == pytest.approx(3 / 17)
    assert (low, high) == pytest.approx(proportion_confint(3, 17, method="wilson"))
    for k in (0, 17):
        share, low, high = share_ci(np.arange(17) < k)
        assert 0.0 <= low <= share <= high <= 1.0


def test_bounded_intervals_stay_in_their_bounds():
    near_one = np.array([0.999, 1.0, 1.0, 0.97])
    _, low, high = mean_ci(near_one, bounds=(0.0, 1.0))
    _, raw_low, raw_high = mean_ci(near_one)
    assert raw_high > 1.0 and high == 1.0 and low == pytest.approx(raw_low)
    table = summary_table(
        pd.DataFrame(
            {
                "strategy": ["a"] * 4,
                "seed": range(4),
                "market_value_post_shift": near_one,
                "survived": True,
            }
        )
    )
    row = table.set_index("metric").loc["market_value_post_shift"]
    assert row["ci_high"] <= 1.0


def test_benjamini_hochberg_matches_statsmodels_and_scipy():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])
    adjusted = benjamini_hochberg(p)
    assert adjusted == pytest.approx(multipletests(p, method="fdr_bh")[1])
    assert adjusted == pytest.approx(scipy_stats.false_discovery_control(p))
    shuffled = RNG.permutation(p.size)
    assert benjamini_hochberg(p[shuffled]) == pytest.approx(adjusted[shuffled])
    with_nan = benjamini_hochberg(np.array([0.01, np.nan, 0.04]))
    assert math.isnan(with_nan[1])
    assert with_nan[[0, 2]] == pytest.approx(multipletests([0.01, 0.04], method="fdr_bh")[1])


def test_holm_matches_statsmodels():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.5, 0.2])
    assert holm(p) == pytest.approx(multipletests(p, method="holm")[1])
    assert holm([0.03]) == pytest.approx([0.03])  # one test: nothing to correct
    with_nan = holm(np.array([0.01, np.nan, 0.04]))
    assert math.isnan(with_nan[1])
    assert with_nan[[0, 2]] == pytest.approx(multipletests([0.01, 0.04], method="holm")[1])


def test_every_pair_of_strategies_is_compared_with_holm_across_the_pairs():
    seeds = np.arange(40)
    common = RNG.normal(0.0, 5.0, size=40)
    effect = {"x": 0.0, "y": 1.0, "z": 1.1}
    runs = pd.concat(
        [
            pd.DataFrame(
                {
                    "strategy": name,
                    "seed": seeds,
                    "profit_post_shift": common + shift + RNG.normal(0, 1.0, size=40),
                }
            )
            for name, shift in effect.items()
        ]
    )
    pairs = pairwise_differences(runs, ["profit_post_shift"])
    assert list(zip(pairs["a"], pairs["b"], strict=True)) == [("y", "x"), ("z", "x"), ("z", "y")]
    for r in pairs.itertuples():
        expected = paired_difference(runs, "profit_post_shift", r.a, r.b)
        assert (r.mean, r.ci_low, r.ci_high, r.p_value) == pytest.approx(
            (expected.mean, expected.ci_low, expected.ci_high, expected.p_value)
        )
    assert pairs["p_holm"].to_numpy() == pytest.approx(
        multipletests(pairs["p_value"], method="holm")[1]
    )
    assert (pairs["p_holm"] >= pairs["p_value"]).all() and (pairs["pairs"] == 3).all()
    wide = wide_differences(pairs)
    assert list(wide.index) == ["y - x", "z - x", "z - y"]
    assert list(wide.columns) == ["profit after"] and ", p " in wide.iloc[0, 0]


def test_tost_matches_statsmodels():
    x = RNG.normal(0.1, 1.0, size=40)
    for margin in (0.3, 0.5, 1.0):
        expected = DescrStatsW(x).ttost_mean(-margin, margin)[0]
        assert float(tost_p(x.mean(), x.std(ddof=1), x.size, margin)) == pytest.approx(expected)
    with pytest.raises(ValueError, match="margin"):
        tost_p(0.0, 1.0, 10, 0.0)


def test_equivalence_is_the_90_percent_interval_inside_the_margin():
    x = RNG.normal(0.0, 1.0, size=200)
    for margin in (0.05, 0.2, 0.5):
        result = equivalence(x, margin)
        inside = -margin < result.interval[0] and result.interval[1] < margin
        assert result.equivalent == inside
        assert result.interval == pytest.approx(DescrStatsW(x).tconfint_mean(alpha=0.10))
    # a clear difference is never equivalent, however the sample is drawn
    assert not equivalence(RNG.normal(1.0, 1.0, size=200), 0.5).equivalent


def _runs(a: np.ndarray, b: np.ndarray, metric: str = "profit_post_shift") -> pd.DataFrame:
    seeds = np.arange(a.size)
    frame = pd.concat(
        [
            pd.DataFrame({"strategy": "a", "seed": seeds, metric: a}),
            pd.DataFrame({"strategy": "b", "seed": seeds, metric: b}),
        ]
    )
    return frame.sample(frac=1.0, random_state=3)  # the pairing must not rely on row order


def test_paired_difference_pairs_by_seed():
    common = RNG.normal(0.0, 5.0, size=30)  # what both strategies share on a seed
    a = common + 1.0 + RNG.normal(0, 0.3, size=30)
    b = common + RNG.normal(0, 0.3, size=30)
    diff = paired_difference(_runs(a, b), "profit_post_shift", "a", "b")
    assert diff.n == 30
    assert diff.mean == pytest.approx((a - b).mean())
    assert (diff.ci_low, diff.ci_high) == pytest.approx(DescrStatsW(a - b).tconfint_mean())
    assert diff.p_value == pytest.approx(scipy_stats.ttest_rel(a, b).pvalue)
    assert diff.verdict == "a"
    # unpaired, the seeds' common part would drown the difference
    welch = scipy_stats.ttest_ind(a, b, equal_var=False).pvalue
    assert diff.p_value < welch
    with pytest.raises(KeyError, match="allowed: "):
        paired_difference(_runs(a, b), "profit_post_shift", "a", "c")


def test_paired_difference_equivalence_verdict():
    base = RNG.normal(0.0, 1.0, size=300)
    a = base + RNG.normal(0.0, 0.1, size=300)
    diff = paired_difference(_runs(a, base), "profit_post_shift", "a", "b", margin=0.05)
    assert diff.verdict == "equivalent" and diff.p_equivalence < 0.05
    expected = DescrStatsW(a - base).ttost_mean(-0.05, 0.05)[0]
    assert diff.p_equivalence == pytest.approx(expected)
    unsure = paired_difference(_runs(a, base), "profit_post_shift", "a", "b")
    assert unsure.verdict == "unclear"  # without a margin, never "no difference"


def test_cluster_intervals_average_within_seed_first():
    # 4 design points share seeds 0..9; each seed has its own offset common to all points
    seeds = np.repeat(np.arange(10), 4)
    offset = RNG.normal(0.0, 3.0, size=10)[seeds]
    values = offset + RNG.normal(0.0, 0.1, size=seeds.size)
    mean, low, high, n = cluster_mean_ci(values, seeds)
    per_seed = pd.Series(values).groupby(seeds).mean()
    assert n == 10
    assert (mean, low, high) == pytest.approx(mean_ci(per_seed))
    naive = mean_ci(values)
    # treating the 40 runs as independent would give a far too narrow interval
    assert (high - low) > 1.5 * (naive[2] - naive[1])
    frame = pd.DataFrame({"g": np.tile([0, 1], 20), "seed": seeds, "v": values})
    table = grouped_cluster_ci(frame, ["g"], "v", "seed")
    for g, row in table.set_index("g").iterrows():
        part = frame[frame["g"] == g]
        assert (row["mean"], row["ci_low"], row["ci_high"], row["n"]) == pytest.approx(
            cluster_mean_ci(part["v"], part["seed"])
        )


def test_closed_firm_outcomes_count_closed_periods_as_zero():
    runs = pd.DataFrame(
        {
            "strategy": ["a", "a", "a"],
            "seed": [0, 1, 2],
            "market_value_pre_shift": [0.8, 0.6, 0.5],
            "market_value_post_shift": [0.7, 0.4, np.nan],
            "profit_post_shift": [5.0, 1.0, 0.0],
            "survived": [True, False, False],
            "exit_period": [-1, 14, 7],
        }
    )
    # horizon 19, split 10, window 5: before = periods 5..9, after = 10..19
    out = closed_firm_outcomes(runs, horizon=19, split=10, window=5)
    # seed 1 open in periods 10..14 (5 of 10); seed 2 closed at 7: open 5..7 before, never after
    assert out["market_value_post_shift_all"].tolist() == pytest.approx([0.7, 0.2, 0.0])
    assert out["market_value_pre_shift_all"].tolist() == pytest.approx([0.8, 0.6, 0.5 * 3 / 5])
    assert out["profit_post_shift_survivors"].tolist()[0] == 5.0
    assert out["profit_post_shift_survivors"].isna().tolist() == [False, True, True]
    table = summary_table(out).set_index("metric")
    assert table.loc["market_value_post_shift", "n"] == 1  # survivors only
    assert table.loc["market_value_post_shift_all", "mean"] == pytest.approx(0.3)
    assert table.loc["profit_post_shift", "mean"] == pytest.approx(2.0)
    assert table.loc["survived", "mean"] == pytest.approx(1 / 3)


def test_every_summary_label_names_its_firms():
    for metric, label in SUMMARY_METRICS.items():
        if metric != "survived":
            assert any(f"{w})" in label for w in ("all firms", "survivors", "firms that fell"))


def test_recovery_is_summarised_over_the_firms_that_fell_only():
    runs = pd.DataFrame(
        {
            "strategy": ["a"] * 6,
            "seed": range(6),
            "fell": [True, True, True, False, False, False],
            "recovered": [True, True, False, False, False, False],
            "recovery_time": [2.0, 4.0, np.nan, np.nan, np.nan, np.nan],
            "recovery_observed": [10, 10, 10, 12, 12, 12],
        }
    )
    table = summary_table(runs).set_index("metric")
    assert table.loc["fell", "mean"] == pytest.approx(0.5) and table.loc["fell", "n"] == 6
    assert table.loc["recovered", "mean"] == pytest.approx(2 / 3)
    assert table.loc["recovered", "n"] == 3 and table.loc["recovery_time", "n"] == 3
    assert table.loc["recovery_time", "mean"] == 4.0  # KM: S(2) = 2/3, S(4) = 1/3
    wide = summary_table(runs, wide=True)
    assert wide.loc["recovered by the horizon (firms that fell)", "a"].endswith("(n = 3)")
    # nobody fell: no share and no median, and the count says why
    nobody = summary_table(runs.assign(fell=False), wide=True)
    assert nobody.loc["recovered by the horizon (firms that fell)", "a"] == "n/a (n = 0)"


def test_wide_summary_is_outcomes_by_strategies():
    runs = _runs(np.array([1.0, 2.0, 3.0]), np.array([0.0, 0.5, 1.0])).assign(survived=True)
    wide = summary_table(runs, wide=True)
    assert sorted(wide.columns) == ["a", "b"]
    assert wide.loc["profit after (all firms)", "a"].startswith("2.00 [")
    assert wide.loc["survival", "b"].startswith("100% [")


@pytest.mark.parametrize("level", [2, 1, 0, -0.5, math.nan, "high", None])
def test_a_level_outside_0_1_is_refused_naming_it(level):
    """Issue 20: `paired_difference(..., level=2)` gave `12.04 [nan, nan]` and no error."""
    runs = _runs(RNG.normal(size=10), RNG.normal(size=10))
    with pytest.raises(ValueError, match="level: a confidence level between 0 and 1"):
        paired_difference(runs, "profit_post_shift", "a", "b", level=level)
    with pytest.raises(ValueError, match="level"):
        mean_ci([1.0, 2.0, 3.0], level)
    with pytest.raises(ValueError, match="level"):
        share_ci([True, False], level)
    with pytest.raises(ValueError, match="level"):
        summary_table(runs.assign(survived=True), level)
    with pytest.raises(ValueError, match="alpha"):
        equivalence([0.1, 0.2], 1.0, alpha=0.5)
    # a level inside (0, 1) gives a finite interval
    diff = paired_difference(runs, "profit_post_shift", "a", "b", level=0.9)
    assert math.isfinite(diff.ci_low) and diff.level == 0.9


def test_one_pair_gives_a_nan_interval_with_a_warning():
    """Issue 20: n = 1 returned [nan, nan] silently. The choice (docs: `paired_difference`):
    the mean, a NaN interval and p-value, and a `TooFewValuesWarning` saying why."""
    runs = _runs(np.array([3.0]), np.array([1.0]))
    with pytest.warns(TooFewValuesWarning, match="1 pair"):
        diff = paired_difference(runs, "profit_post_shift", "a", "b")
    assert diff.n == 1 and diff.mean == 2.0
    assert math.isnan(diff.ci_low) and math.isnan(diff.ci_high) and math.isnan(diff.p_value)
    two = _runs(np.array([3.0, 4.0]), np.array([1.0, 1.5]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", TooFewValuesWarning)  # none with two pairs
        assert math.isfinite(paired_difference(two, "profit_post_shift", "a", "b").ci_low)


def test_seeds_without_a_value_for_both_are_counted_and_said():
    """Issue 20: a survivors-only outcome silently dropped the seeds where a firm closed."""
    a, b = RNG.normal(1.0, 1.0, size=30), RNG.normal(0.0, 1.0, size=30)
    a[[2, 7, 11]] = np.nan  # firms of strategy a that closed: no survivors' value
    runs = _runs(a, b, "market_value_post_shift")
    diff = paired_difference(runs, "market_value_post_shift", "a", "b")
    assert (diff.n, diff.unpaired, diff.population) == (27, 3, "survivors")
    assert "3 seeds left out" in str(diff) and "a firm closed" in str(diff)
    assert diff.mean == pytest.approx(np.nanmean(a - b))
    profit = _runs(np.nan_to_num(a), b, "profit_post_shift")  # all firms: closed counts 0
    full = paired_difference(profit, "profit_post_shift", "a", "b")
    assert (full.n, full.unpaired, full.population) == (30, 0, "all firms")
    assert "left out" not in str(full)


def test_every_outcome_of_the_rule_has_one_population():
    assert population_of("market_value_post_shift") == "survivors"
    assert population_of("market_value_post_shift_all") == "all firms"
    assert population_of("profit_post_shift") == "all firms"
    assert population_of("profit_post_shift_survivors") == "survivors"
    assert population_of("cycled") == "survivors" and population_of("cycled_all") == "all firms"
    for metric in SUMMARY_METRICS:
        assert population_of(metric), metric


def test_a_change_is_bounded_by_the_range_of_its_outcome():
    # market value in [0, 1]: a change after minus before in [-1, 1], not [0, 1]
    assert bounds_of("market_value_change") == (-1.0, 1.0)
    assert bounds_of("market_value_change_all") == (-1.0, 1.0)
    assert bounds_of("profit_change") == (-math.inf, math.inf)


def test_ratio_ci_covers_the_true_ratio_at_its_level():
    """Fieller's interval for paired means: coverage over many samples near 95% (within 4 SE),
    and a tighter interval than nothing: a negative control with the pairs shuffled (their
    correlation broken) gives wider intervals."""
    from sim.stats import ratio_ci

    rng = np.random.default_rng(5)
    hits, widths, shuffled = 0, [], []
    trials = 800
    for _ in range(trials):
        y = rng.normal(10.0, 3.0, 60)
        x = 0.6 * y + rng.normal(0.0, 1.0, 60)  # true ratio of means 0.6
        _, low, high = ratio_ci(x, y)
        hits += low <= 0.6 <= high
        widths.append(high - low)
        _, slow, shigh = ratio_ci(x, rng.permutation(y))
        shuffled.append(shigh - slow)
    coverage = hits / trials
    assert abs(coverage - 0.95) < 4 * np.sqrt(0.95 * 0.05 / trials)
    assert np.median(widths) < np.median(shuffled)


def test_ratio_ci_is_unbounded_when_the_denominator_may_be_zero():
    from sim.stats import ratio_ci

    rng = np.random.default_rng(1)
    ratio, low, high = ratio_ci(rng.normal(1, 1, 30), rng.normal(0.05, 1, 30))
    assert np.isfinite(ratio) and np.isnan(low) and np.isnan(high)


def test_every_pair_reports_the_share_of_its_gap_there_before_the_shift():
    from sim.stats import GAP_SHARE, pairwise_differences, ratio_ci, wide_differences

    rng = np.random.default_rng(3)
    seeds = np.arange(40)
    rows = []
    for name, level in (("a", 0.0), ("b", 2.0)):
        pre = level * 0.5 + rng.normal(0, 0.3, seeds.size)
        post = level + rng.normal(0, 0.3, seeds.size)
        columns = {"profit_pre_shift": pre, "profit_post_shift": post, "profit_change": post - pre}
        rows.append(pd.DataFrame({"strategy": name, "seed": seeds, **columns}))
    runs = pd.concat(rows, ignore_index=True)
    pairs = pairwise_differences(runs, ["profit_pre_shift", "profit_post_shift", "profit_change"])
    share = pairs[pairs["metric"] == GAP_SHARE].iloc[0]
    b, a = runs[runs.strategy == "b"], runs[runs.strategy == "a"]
    expected = ratio_ci(
        b.profit_pre_shift.to_numpy() - a.profit_pre_shift.to_numpy(),
        b.profit_post_shift.to_numpy() - a.profit_post_shift.to_numpy(),
    )
    assert (share["mean"], share["ci_low"], share["ci_high"]) == pytest.approx(expected)
    assert share["ci_low"] < 0.5 < share["ci_high"]  # the true share is one half
    assert "share of the after-gap there before" in wide_differences(pairs).columns


def test_km_median_is_silent_where_scipy_band_is_undefined():
    """The last firm recovering takes the survival estimate to 0, where scipy's log-log band is
    undefined and scipy warns (issue 20: the warning printed in `run`); km_median handles those
    points and says nothing, and the band's finite part is scipy's own."""
    import warnings

    from sim.stats import km_median

    times = np.array([1.0, 2.0, 3.0, 3.0, 5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        median, low, high = km_median(times, np.full(5, 10.0))
    assert (median, low, high) == (3.0, 1.0, 5.0)
    # the cause is real: scipy warns on the same data
    data = scipy_stats.CensoredData(uncensored=times)
    with pytest.warns(RuntimeWarning, match="confidence interval is undefined"):
        scipy_stats.ecdf(data).sf.confidence_interval(0.95, method="log-log")
