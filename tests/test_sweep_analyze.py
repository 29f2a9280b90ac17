"""Analysing a small finished sweep: tables, figures, Sobol' and Morris indices, the report."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.results import load
from sim.stats import mean_ci, share_ci, t_interval, wilson_interval
from sim.sweep import SweepError, run_sweep, sweep_from_dict
from sim.sweep.analyze import analyze_sweep

BASE = {
    "scenario": "bakery_gluten_free",
    "seeds": 3,
    "root_seed": 5,
    "overrides": {"horizon": 70},
}
ALIGNMENT = {
    "name": "alignment",
    "label": "alignment coupling",
    "path": "strategies.aligned.alpha",
    "values": [0.2, 0.8],
}
COST = {"name": "coordination_cost", "path": "costs.coordination.hierarchical"}


@pytest.fixture(scope="module")
def factorial(tmp_path_factory):
    out = tmp_path_factory.mktemp("factorial")
    spec = {
        **BASE,
        "name": "factorial",
        "parameters": [ALIGNMENT, {**COST, "values": [0.5, 6.0, 12.0]}],
    }
    run_sweep(sweep_from_dict(spec), workers=1, out=out, progress=False)
    return out


def test_factorial_analysis_tables(factorial):
    analysis = analyze_sweep(factorial)
    runs = load(factorial)["runs"]
    assert analysis.metric == "profit_post_shift"
    assert (analysis.contrast, analysis.baseline) == ("aligned", "efficiency_only")

    means = analysis.point_means
    assert set(means["metric"]) >= {"profit_post_shift", "survived", "final_cash"}
    profit = means[means["metric"] == "profit_post_shift"]
    assert len(profit) == 6 * 2
    direct = runs.groupby(["point", "strategy"], observed=True)["profit_post_shift"].mean()
    merged = profit.set_index(["point", "strategy"])["mean"]
    assert np.allclose(merged.sort_index().to_numpy(), direct.sort_index().to_numpy())
    assert (profit["ci_low"] <= profit["mean"]).all() and (
        profit["mean"] <= profit["ci_high"]
    ).all()
    assert set(profit["n"]) == {3}
    # market value is over the survivors, as its label says; survival over all runs
    value = means[means["metric"] == "market_value_post_shift"].set_index(["point", "strategy"])
    open_ = runs[runs["survived"]].groupby(["point", "strategy"], observed=True)
    survivors = open_["market_value_post_shift"].agg(["mean", "count"])
    assert np.allclose(value.loc[survivors.index, "mean"], survivors["mean"])
    assert (value.loc[survivors.index, "n"] == survivors["count"]).all()

    diff = analysis.differences
    assert len(diff) == 6 and {"alignment", "coordination_cost", "verdict"} <= set(diff.columns)
    wide = runs.pivot_table(
        index=["point", "seed_index"], columns="strategy", values="profit_post_shift", observed=True
    )
    by_hand = (wide["aligned"] - wide["efficiency_only"]).groupby("point").mean()
    assert np.allclose(diff["mean"].to_numpy(), by_hand.to_numpy())
    assert set(diff["verdict"]) <= {"contrast", "baseline", "unclear"}

    marginals = analysis.marginals
    assert set(marginals["parameter"]) == {"alignment", "coordination_cost"}
    cost = marginals[marginals["parameter"] == "coordination_cost"]
    assert cost["level"].tolist() == ["0.5", "6.0", "12.0"]
    # 2 design points per level share the 3 seeds: averaged within seed, n = 3 seeds
    assert set(cost["n"]) == {3}
    diff_by_seed = (
        (wide["aligned"] - wide["efficiency_only"])
        .rename("d")
        .reset_index()
        .merge(analysis.differences[["point", "coordination_cost"]], on="point")
    )
    for level, part in diff_by_seed.groupby("coordination_cost"):
        row = cost[cost["level"] == str(level)].iloc[0]
        expected = mean_ci(part.groupby("seed_index")["d"].mean())
        assert (row["mean"], row["ci_low"], row["ci_high"]) == pytest.approx(expected)
    assert {"p_value", "p_bh", "verdict_bh"} <= set(diff.columns)
    assert (diff["p_bh"] >= diff["p_value"] - 1e-12).all()
    # the hierarchy's cost only touches the aligned bakery: the difference falls with it
    assert cost["mean"].is_monotonic_decreasing
    assert analysis.sensitivity is None


def test_factorial_analysis_writes_figures_and_a_report(factorial):
    analysis = analyze_sweep(factorial)
    folder = factorial / "analysis"
    names = {p.name for p in analysis.figures}
    assert names == {
        "heatmap_profit_post_shift_coordination_cost_by_alignment.png",
        "line_profit_post_shift_alignment.png",
        "line_profit_post_shift_coordination_cost.png",
    }
    for path in analysis.figures:
        assert path.parent == folder and path.stat().st_size > 10_000
    for table in ("point_means", "differences", "marginals"):
        assert len(pd.read_parquet(folder / f"{table}.parquet")) > 0
    report = (folder / "report.md").read_text(encoding="utf-8")
    assert report.startswith("# Sweep factorial")
    assert "36 runs planned (6 factorial design points x 2 strategies x 3 seeds" in report
    assert "aligned minus efficiency_only, paired by seed" in report
    assert "Overall (averaged within each seed" in report and "Per parameter" in report
    assert "Benjamini-Hochberg" in report and "no point is called equivalent" in report
    assert "alignment coupling (alignment): 0.2: " in report
    assert not list(folder.glob(".*tmp"))


def test_another_outcome_and_comparison(factorial):
    analysis = analyze_sweep(
        factorial, metric="final_cash", compare=("efficiency_only", "aligned"), figures=False
    )
    assert analysis.contrast == "efficiency_only" and not analysis.figures
    assert "efficiency_only minus aligned" in analysis.report


def test_vectorised_intervals_agree_with_the_experiment_s():
    rng = np.random.default_rng(1)
    x = rng.normal(size=12)
    low, high = t_interval(np.array([x.mean()]), np.array([x.std(ddof=1)]), np.array([12]))
    assert np.allclose([low[0], high[0]], mean_ci(x)[1:])
    flags = rng.random(20) < 0.3
    low, high = wilson_interval(np.array([flags.sum()]), np.array([20]))
    assert np.allclose([low[0], high[0]], share_ci(flags)[1:])


@pytest.mark.parametrize(
    ("design", "points", "indices"),
    [
        ({"kind": "sobol", "samples": 4}, 4 * (2 + 2), {"S1", "ST"}),
        ({"kind": "morris", "samples": 3, "levels": 4}, 3 * (2 + 1), {"mu_star", "mu", "sigma"}),
    ],
)
def test_salib_designs_get_sensitivity_indices(tmp_path, design, points, indices):
    spec = {
        **BASE,
        "seeds": 2,
        "name": design["kind"],
        "design": design,
        "parameters": [
            {**ALIGNMENT, "values": None, "range": [0.0, 1.0]},
            {**COST, "range": [0.0, 10.0]},
        ],
    }
    spec["parameters"][0].pop("values")
    # small tasks: several Parquet parts, so that removing one leaves a design point missing
    report = run_sweep(sweep_from_dict(spec), workers=1, out=tmp_path, progress=False, batch_size=4)
    assert report.planned == points * 2 * 2
    analysis = analyze_sweep(tmp_path)
    table = analysis.sensitivity
    assert table is not None
    assert set(table["output"]) == {"aligned - efficiency_only", "efficiency_only", "aligned"}
    assert set(table["index"]) == indices
    assert set(table["parameter"]) == {"alignment", "coordination_cost"}
    assert (tmp_path / "analysis" / "sensitivity_profit_post_shift.png").stat().st_size > 10_000
    assert "Sensitivity of the difference" in analysis.report
    # the efficiency-only bakery does not depend on the aligned bakery's parameters
    own = table[(table["output"] == "efficiency_only") & table["index"].isin(["ST", "mu_star"])]
    assert np.allclose(own["value"], 0.0)

    # with a design point missing there are no indices, and the report says why: one point's
    # aligned runs removed from the parts that hold them (a part may hold runs of many points
    # and a point's seeds may be in several parts: runs are planned seed by seed in blocks of
    # points; a run shared by several points, e.g. the efficiency-only firm's, is stored with
    # each)
    shutil.rmtree(tmp_path / "analysis")
    point = None
    for part in sorted((tmp_path / "runs").glob("part-*.parquet")):
        rows = pd.read_parquet(part)
        aligned = rows[rows["strategy"] == "aligned"]
        if point is None and len(aligned):
            point = aligned["point"].iloc[0]
        drop = (rows["strategy"] == "aligned") & (rows["point"] == point)
        if drop.any():
            rows[~drop].to_parquet(part, index=False)
    assert point is not None
    partial = analyze_sweep(tmp_path, figures=False)
    assert partial.sensitivity is None
    assert "no sensitivity indices" in partial.report and "resume the sweep" in partial.report


def test_the_command_line(factorial, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(factorial, copy)
    shutil.rmtree(copy / "analysis", ignore_errors=True)
    assert main(["analyze", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "# Sweep factorial" in out and f"wrote {copy / 'analysis'}/" in out
    assert (copy / "analysis" / "report.md").exists()

    assert main(["analyze", str(copy), "--metric", "luck"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {copy}: metric: unknown outcome 'luck'; allowed: ")
    assert "\n" not in err
    assert main(["analyze", str(copy), "--compare", "aligned", "gambler"]) == 2
    assert "strategy 'gambler' is not in this sweep" in capsys.readouterr().err
    assert main(["analyze", str(tmp_path)]) == 2
    assert "not a sweep folder" in capsys.readouterr().err
    with pytest.raises(SweepError):
        analyze_sweep(tmp_path / "nowhere")


def _sobol_spec(samples: int) -> dict:
    return {
        **BASE,
        "seeds": 1,
        "name": f"sobol_{samples}",
        "design": {"kind": "sobol", "samples": samples},
        "parameters": [
            {k: v for k, v in ALIGNMENT.items() if k != "values"} | {"range": [0.0, 1.0]},
            {**COST, "range": [0.0, 10.0]},
        ],
    }


def test_sobol_convergence_gives_what_smaller_sweeps_give(tmp_path):
    run_sweep(sweep_from_dict(_sobol_spec(32)), workers=1, out=tmp_path / "n32", progress=False)
    analysis = analyze_sweep(tmp_path / "n32")
    convergence = analysis.convergence
    assert sorted(set(convergence["N"])) == [8, 16, 32]
    assert set(convergence["index"]) == {"S1", "ST"}
    assert set(convergence["parameter"]) == {"alignment", "coordination_cost"}

    def indices(table: pd.DataFrame) -> pd.Series:
        return table.set_index(["parameter", "index"])["value"].sort_index()

    # at N = 32 the sweep's own indices, and at N = 16 those of a sweep of 16 samples
    full = analysis.sensitivity[analysis.sensitivity["output"] == "aligned - efficiency_only"]
    pd.testing.assert_series_equal(
        indices(convergence[convergence["N"] == 32]), indices(full), check_names=False
    )
    run_sweep(sweep_from_dict(_sobol_spec(16)), workers=1, out=tmp_path / "n16", progress=False)
    small = analyze_sweep(tmp_path / "n16", figures=False, write=False).sensitivity
    small = small[small["output"] == "aligned - efficiency_only"]
    pd.testing.assert_series_equal(
        indices(convergence[convergence["N"] == 16]), indices(small), check_names=False
    )
    assert (tmp_path / "n32" / "analysis" / "sobol_convergence.parquet").is_file()
    figure = tmp_path / "n32" / "analysis" / "sobol_convergence_profit_post_shift.png"
    assert figure.stat().st_size > 10_000
    assert "Convergence (the same indices on the first N base samples" in analysis.report


def test_settled_from_is_where_the_ranking_stops_changing():
    from sim.sweep.analyze import settled_from

    def table(values: dict[int, tuple[float, float]]) -> pd.DataFrame:
        return pd.DataFrame(
            [
                (n, name, "ST", v)
                for n, pair in values.items()
                for name, v in zip(("a", "b"), pair, strict=True)
            ],
            columns=["N", "parameter", "index", "value"],
        )

    assert settled_from(table({8: (0.1, 0.5), 16: (0.6, 0.2), 32: (0.7, 0.1)})) == 16
    assert settled_from(table({8: (0.6, 0.5), 16: (0.6, 0.2), 32: (0.7, 0.1)})) == 8
    assert settled_from(table({8: (0.6, 0.5), 16: (0.6, 0.2), 32: (0.1, 0.7)})) is None


def test_equivalence_needs_a_stated_margin(factorial, capsys):
    analysis = analyze_sweep(factorial, margin=1000.0, figures=False, write=False)
    diff = analysis.differences
    assert diff["p_equivalence"].between(0, 1).all()
    expected = np.where(
        diff["ci_low"] > 0,
        "contrast",
        np.where(
            diff["ci_high"] < 0,
            "baseline",
            np.where(diff["p_equivalence"] < 0.05, "equivalent", "unclear"),
        ),
    )
    assert (diff["verdict"] == expected).all()
    assert "equivalent within +/-1000 (TOST" in analysis.report
    assert main(["analyze", str(factorial), "--margin", "0", "--quiet", "--no-figures"]) == 2
    assert "margin" in capsys.readouterr().err


def test_sensitivity_figures_label_their_axes_and_never_overprint():
    from sim.sweep.analyze import sensitivity_figure

    sobol = pd.DataFrame(
        [
            ("d", "a", "S1", 0.1, 0.05),
            ("d", "a", "ST", 0.2, 0.05),
            ("d", "b", "S1", 0.5, 0.05),
            ("d", "b", "ST", 0.7, 0.05),
        ],
        columns=["output", "parameter", "index", "value", "conf"],
    )
    fig = sensitivity_figure(sobol, "d", metric_label="profit", labels={"b": "cost of meetings"})
    (ax,) = fig.axes
    assert "share of the variance" in ax.get_ylabel() and ax.get_xlabel()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cost of meetings", "a"]  # by ST
    morris = pd.DataFrame(
        [
            ("d", p, i, v, c)
            for p, mu, sigma in (("a", 1.0, 0.5), ("b", 1.01, 0.51), ("c", 3.0, 0.1))
            for i, v, c in (("mu_star", mu, 0.2), ("mu", mu, np.nan), ("sigma", sigma, np.nan))
        ],
        columns=["output", "parameter", "index", "value", "conf"],
    )
    fig = sensitivity_figure(morris, "d", metric_label="profit", metric_unit="k€")
    left, right = fig.axes
    assert "k€" in left.get_xlabel() and "k€" in right.get_ylabel()
    # two almost equal points: numbered markers, the names in the legend, not beside the points
    assert {t.get_text() for t in right.texts} == {"1", "2", "3"}
    legend = [t.get_text() for t in right.get_legend().get_texts()]
    assert legend[:3] == ["1: c", "2: b", "3: a"]


def test_heatmap_ticks_of_binned_parameters_are_ranges():
    from sim.sweep.analyze import heatmap_figure

    rng = np.random.default_rng(0)
    x = rng.uniform(0.0, 1.0, 60)
    paired = pd.DataFrame(
        {
            "point": np.repeat(np.arange(20), 3),
            "seed_index": np.tile(np.arange(3), 20),
            "difference": rng.normal(size=60),
            "x": np.repeat(x[:20], 3),
            "y": np.repeat(np.arange(20) % 2, 3),
        }
    )
    fig = heatmap_figure(paired, "x", "y", contrast="a", baseline="b", metric_label="profit")
    ax = fig.axes[0]
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert len(ticks) == 6 and all("–" in t for t in ticks)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "1"]
    assert "(binned)" in ax.get_xlabel()


def test_recovery_time_per_point_is_the_kaplan_meier_median():
    """Recovery is censored at the horizon: the point table gives the Kaplan-Meier median over
    the firms that fell (as `run` does), not the mean of those that recovered, which is
    biased low when the slow ones are still down at the end."""
    from sim.stats import km_median
    from sim.sweep.analyze import point_summary

    rng = np.random.default_rng(3)
    rows = []
    for point in range(2):
        for seed in range(40):
            fell = seed % 5 != 0
            time = float(rng.integers(1, 30)) if fell else np.nan
            if fell and seed % 3 == 0:
                time = np.nan  # fell and still down at the horizon: censored
            rows.append(
                {"point": point, "x": point, "strategy": "aligned", "fell": fell,
                 "recovery_time": time, "recovery_observed": 30.0, "survived": True}
            )  # fmt: skip
    runs = pd.DataFrame(rows)
    table = point_summary(runs, ["x"], ["recovery_time"])
    assert set(table["statistic"]) == {"median (Kaplan-Meier)"}
    for point, group in runs.groupby("point"):
        fell = group[group["fell"]]
        median, low, high = km_median(fell["recovery_time"], fell["recovery_observed"])
        row = table[table["point"] == point].iloc[0]
        assert (row["mean"], row["ci_low"], row["ci_high"]) == (median, low, high)
        assert row["n"] == len(fell)
        # the naive mean of the recovered alone is not what the table reports
        assert row["mean"] != fell["recovery_time"].mean()


def test_a_derived_column_is_drawn_at_its_exact_values(factorial, tmp_path):
    """`[analysis] derived`: a column computed from the parameters gets a line figure whose
    points are its exact values (never binned) and the paired differences there."""
    from sim.sweep.analyze import derived_values, line_figure, paired_differences

    runs = load(factorial)["runs"]
    expression = "alignment / coordination_cost"
    ratio = derived_values(expression, runs)
    assert np.allclose(ratio, runs["alignment"] / runs["coordination_cost"])
    paired = paired_differences(runs, "profit_post_shift", "aligned", "efficiency_only")
    design = runs.drop_duplicates("point")[["point", "alignment", "coordination_cost"]]
    paired = paired.merge(design, on="point")
    fig = line_figure(
        runs.assign(ratio=ratio),
        paired.assign(ratio=derived_values(expression, paired)),
        "ratio",
        metric="profit_post_shift",
        contrast="aligned",
        baseline="efficiency_only",
        metric_label="profit",
        exact=True,
    )
    xs = fig.axes[1].lines[-1].get_xdata()
    ys = fig.axes[1].lines[-1].get_ydata()
    by_hand = paired.assign(ratio=paired["alignment"] / paired["coordination_cost"])
    means = by_hand.groupby("ratio")["difference"].mean()  # one point per ratio here
    assert np.allclose(xs, sorted(by_hand["ratio"].unique()))  # six values, none binned
    assert np.allclose(ys, means.to_numpy())
    copy = tmp_path / "sweep"
    shutil.copytree(factorial, copy)
    manifest = copy / "manifest.json"
    data = json.loads(manifest.read_text())
    data["sweep"]["analysis"]["derived"] = {"ratio": expression}
    manifest.write_text(json.dumps(data))
    analysis = analyze_sweep(copy)
    assert any(p.name == "line_profit_post_shift_ratio.png" for p in analysis.figures)


@pytest.mark.parametrize(
    "expression, message",
    [
        ("alignment / nothing", "unknown parameter 'nothing'"),
        ("__import__('os')", "only \\+ - \\* /"),
        ("alignment /", "not an expression"),
    ],
)
def test_a_derived_column_must_be_arithmetic_over_parameters(expression, message):
    spec = {
        **BASE,
        "name": "derived",
        "parameters": [ALIGNMENT],
        "analysis": {"derived": {"ratio": expression}},
    }
    with pytest.raises(SweepError, match=f"analysis.derived.ratio.*{message}"):
        sweep_from_dict(spec)
