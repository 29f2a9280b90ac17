"""Scenario discovery: the `where` grammar, a planted rule recovered, a random condition not
found, a small real sweep, and the command line end to end."""

from __future__ import annotations

import json
import shutil
import sys

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.sweep import run_sweep, sweep_from_dict
from sim.sweep.discover import (
    NOISE,
    Condition,
    DiscoveryError,
    discover,
    discover_runs,
    parse_condition,
)

STRATEGIES = ["efficiency_only", "aligned"]
WHERE = "aligned - efficiency_only > 0"
PARAMETERS = ["turbulence", "cost", "cross"]
THRESHOLD = 0.6


# ------------------------------------------------------------------------------ the grammar


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (WHERE, Condition("aligned", "efficiency_only", ">", 0.0)),
        ("aligned-efficiency_only>=-2.5", Condition("aligned", "efficiency_only", ">=", -2.5)),
        ("  aligned < 1e3 ", Condition("aligned", None, "<", 1000.0)),
        ("aligned > efficiency_only", Condition("aligned", "efficiency_only", ">", 0.0)),
        ("efficiency_only - aligned <= .5", Condition("efficiency_only", "aligned", "<=", 0.5)),
    ],
)
def test_the_where_grammar(text, expected):
    condition = parse_condition(text, STRATEGIES)
    assert condition == expected
    assert parse_condition(str(condition), STRATEGIES) == condition  # it prints as it parses
    t = expected.threshold
    assert condition.holds([t - 1, t, t + 1]).tolist() == [
        {">": False, ">=": False, "<": True, "<=": True}[expected.operator],
        expected.operator in (">=", "<="),
        expected.operator in (">", ">="),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("algned - efficiency_only > 0", "unknown strategy 'algned'"),
        ("aligned - aligned > 0", "not 'aligned' twice"),
        ("aligned - efficiency_only = 0", "'=' is not allowed"),
        ("aligned - efficiency_only", "expected a comparison"),
        ("aligned - efficiency_only > ", "expected a number"),
        ("aligned > 0 and aligned < 3", "unexpected 'and'"),
        ("__import__('os').system('true') > 0", "'(' is not allowed"),
        ("", "empty condition"),
        ("aligned * 2 > 0", "'*' is not allowed"),
    ],
)
def test_a_bad_where_is_told_with_what_is_allowed(text, message):
    with pytest.raises(DiscoveryError) as error:
        parse_condition(text, STRATEGIES)
    assert error.value.field == "where"
    assert message in error.value.message
    if "unknown strategy" in message:
        assert "allowed: efficiency_only, aligned" in error.value.message
    elif "twice" not in message:
        assert "STRATEGY - STRATEGY OP NUMBER" in error.value.message


# ------------------------------------------------------------------------------ planted rules


def synthetic_runs(*, planted: bool, seed: int, points: int = 200, seeds: int = 4) -> pd.DataFrame:
    """A runs table of two strategies on ``points`` design points (uniform random parameters)
    x ``seeds`` seeds. ``planted``: aligned - efficiency_only = turbulence - 0.6, so the
    condition > 0 holds exactly where turbulence > 0.6; otherwise the difference is random
    noise, independent of every parameter."""
    rng = np.random.default_rng(seed)
    design = pd.DataFrame(
        {
            "point": np.arange(points),
            "turbulence": rng.uniform(0, 1, points),
            "cost": rng.uniform(0, 10, points),
            "cross": rng.integers(0, 5, points),
        }
    )
    frame = design.loc[design.index.repeat(seeds)].reset_index(drop=True)
    frame["seed_index"] = np.tile(np.arange(seeds), points)
    base = rng.normal(10, 2, len(frame))
    diff = frame["turbulence"] - THRESHOLD if planted else rng.normal(0, 1, len(frame))
    return pd.concat(
        [
            frame.assign(strategy="efficiency_only", profit_post_shift=base),
            frame.assign(strategy="aligned", profit_post_shift=base + diff),
        ],
        ignore_index=True,
    )


@pytest.fixture(scope="module")
def planted():
    return discover_runs(
        synthetic_runs(planted=True, seed=1), PARAMETERS, where=WHERE, score_resamples=0
    )


def test_prim_recovers_a_planted_rule(planted):
    cases = planted.cases
    assert len(cases) == 800 and cases["holds"].eq(cases["turbulence"] > THRESHOLD).all()
    first = planted.boxes.iloc[0]
    assert first["clear"]
    assert first["test_density"] >= 0.95 and first["test_coverage"] >= 0.85
    assert first["test_density_low"] > first["test_base_rate"] + 0.3
    limits = planted.limits[planted.limits["box"] == 1].set_index("parameter")
    # the box restricts turbulence from below, near the threshold, and nothing else
    assert list(limits.index) == ["turbulence"]
    assert abs(limits.loc["turbulence", "low"] - THRESHOLD) < 0.05
    assert limits.loc["turbulence", "high"] == limits.loc["turbulence", "full_high"]
    assert limits.loc["turbulence", "qp_low"] < 1e-6
    # the trajectory: the reported step, the others, both halves
    trajectory = planted.trajectory[planted.trajectory["box"] == 1]
    assert trajectory["chosen"].sum() == 1 and trajectory["coverage"].iloc[0] == 1.0
    assert trajectory["density"].iloc[0] == pytest.approx(
        cases[cases["half"] == "train"]["holds"].mean()
    )


def test_cart_and_the_feature_scores_find_the_planted_parameter(planted):
    best = planted.tree.iloc[0]
    assert best["rule"].startswith("turbulence > ")
    assert abs(float(best["rule"].split("> ")[1]) - THRESHOLD) < 0.05
    assert best["test_density"] >= 0.95
    scores = planted.scores.set_index("parameter")["score"]
    assert scores.idxmax() == "turbulence"
    assert scores["turbulence"] > 3 * scores[NOISE]
    assert scores.sum() == pytest.approx(1.0)


def test_feature_score_intervals_separate_a_driver_from_a_parameter_that_does_nothing():
    """Bootstrap intervals over design points: each covers its estimate; the planted driver
    (turbulence) clearly beats the noise column; a continuous parameter that the outcome does
    not depend on (idle, drawn like the noise: one value per point) is the negative control:
    its difference from the noise has an interval that includes 0, and lies below the driver's.
    """
    runs = synthetic_runs(planted=True, seed=11, points=120, seeds=3)
    idle = np.random.default_rng(12).uniform(size=120)
    runs["idle"] = idle[runs["point"]]
    result = discover_runs(runs, [*PARAMETERS, "idle"], where=WHERE, score_resamples=40, seed=1)
    scores = result.scores.set_index("parameter")
    assert (scores["resamples"] == 40).all()
    assert (scores["low"] <= scores["score"]).all() and (scores["score"] <= scores["high"]).all()
    assert scores.loc["turbulence", "matters"]
    assert scores.loc["turbulence", "vs_noise_low"] > 0
    assert scores.loc["idle", "vs_noise_low"] < 0 < scores.loc["idle", "vs_noise_high"]
    assert not scores.loc["idle", "matters"]
    assert scores.loc["idle", "high"] < scores.loc["turbulence", "low"]
    assert np.isnan(scores.loc[NOISE, "vs_noise_low"]) and not scores.loc[NOISE, "matters"]
    # the difference from the noise is the difference of the estimates, its interval around it
    versus = scores.loc["idle", "score"] - scores.loc[NOISE, "score"]
    assert scores.loc["idle", "vs_noise_low"] < versus < scores.loc["idle", "vs_noise_high"]
    assert "minus the noise" in result.report and "matters" in result.report


def test_without_resamples_the_scores_have_no_interval():
    runs = synthetic_runs(planted=True, seed=13, points=60, seeds=2)
    result = discover_runs(runs, PARAMETERS, where=WHERE, score_resamples=0)
    assert result.scores.columns.tolist() == ["parameter", "score"]
    assert "no interval" in result.report


def test_the_command_line_default_resamples_are_the_api_default():
    from sim.cli import build_parser
    from sim.sweep.discover import SCORE_RESAMPLES

    args = build_parser().parse_args(["discover", "DIR", "--where", WHERE])
    assert args.score_resamples == SCORE_RESAMPLES


def test_a_rule_on_words_and_true_false_parameters_is_recovered():
    """A parameter of words (a coordination mode) and one of true/false: the condition holds
    exactly where the mode is "lateral"; the box and the tree's densest leaf keep that one."""
    runs = synthetic_runs(planted=False, seed=3)
    runs["mode"] = np.array(["hierarchical", "lateral", "none"])[runs["point"] % 3]
    runs["flag"] = runs["point"] % 2 == 0
    aligned = runs["strategy"] == "aligned"
    base = runs.loc[~aligned, "profit_post_shift"].to_numpy()
    lateral = runs.loc[aligned, "mode"].eq("lateral").to_numpy()
    runs.loc[aligned, "profit_post_shift"] = base + np.where(lateral, 1.0, -1.0)
    result = discover_runs(runs, ["turbulence", "mode", "flag"], where=WHERE, score_resamples=0)
    first = result.boxes.iloc[0]
    assert first["clear"] and first["test_density"] == 1.0 and first["test_coverage"] == 1.0
    limits = result.limits[result.limits["box"] == 1]
    assert limits["parameter"].tolist() == ["mode"] and limits["values"].tolist() == ["lateral"]
    assert result.tree.iloc[0]["rule"] == "mode in {lateral}"
    assert "mode in {lateral}" in result.report


def test_a_random_condition_gives_no_box_clearly_above_the_base_rate():
    """Negative control: the difference is noise, independent of the parameters. PRIM always
    peels to some box denser than the base rate on the cases it saw; on the held-out half the
    box's density should be no different. Over 10 independent tables at most one first box may
    look clear (5% expected from the Wilson interval's one side)."""
    flagged, gaps = 0, []
    for k in range(10):
        result = discover_runs(
            synthetic_runs(planted=False, seed=100 + k),
            PARAMETERS,
            where=WHERE,
            seed=k,
            score_resamples=0,
        )
        first = result.boxes.iloc[0]
        flagged += bool(first["clear"])
        gaps.append(first["test_density"] - first["test_base_rate"])
        assert len(result.boxes) == 1 or first["clear"]  # the search stops at a box not clear
        # on the cases it saw, PRIM finds a box denser than the base rate (it overfits) ...
        train = result.trajectory[result.trajectory["box"] == 1]
        assert train["density"].max() > train["density"].iloc[0]
    assert flagged <= 1
    # ... and on the held-out half that advantage is gone: mean gap within a few points
    assert abs(np.mean(gaps)) < 0.05


def test_the_same_seed_gives_the_same_numbers_and_another_a_different_split():
    runs = synthetic_runs(planted=True, seed=2, points=80)
    a = discover_runs(runs, PARAMETERS, where=WHERE, seed=3, score_resamples=10)
    b = discover_runs(runs, PARAMETERS, where=WHERE, seed=3, score_resamples=10)
    c = discover_runs(runs, PARAMETERS, where=WHERE, seed=4, score_resamples=0)
    pd.testing.assert_frame_equal(a.boxes, b.boxes)
    pd.testing.assert_frame_equal(a.scores, b.scores)
    assert a.report == b.report
    assert not a.cases["half"].equals(c.cases["half"])


def test_cases_per_point_average_the_seeds():
    runs = synthetic_runs(planted=False, seed=5, points=60, seeds=3)
    result = discover_runs(
        runs, PARAMETERS, where="aligned > efficiency_only", cases="point", score_resamples=0
    )
    wide = runs.pivot_table(
        index=["point", "seed_index"], columns="strategy", values="profit_post_shift"
    )
    mean = (wide["aligned"] - wide["efficiency_only"]).groupby("point").mean()
    assert len(result.cases) == 60
    assert np.allclose(result.cases.set_index("point")["value"].sort_index(), mean.sort_index())
    assert (result.cases["holds"] == (result.cases["value"] > 0)).all()


def test_too_few_cases_on_a_side_and_other_bad_arguments_are_refused():
    runs = synthetic_runs(planted=True, seed=6, points=40)
    for where, message in (
        ("aligned - efficiency_only > 0.39", "holds in"),  # turbulence > 0.99: a handful
        ("aligned - efficiency_only > -5", "fails in 0"),
    ):
        with pytest.raises(DiscoveryError, match="too few cases on one side") as error:
            discover_runs(runs, PARAMETERS, where=where)
        assert error.value.field == "where" and message in error.value.message
    for options, field in (
        ({"metric": "nonsense"}, "metric"),
        ({"cases": "seed"}, "cases"),
        ({"min_coverage": 0.0}, "min_coverage"),
        ({"peel_alpha": 1.5}, "peel_alpha"),
        ({"max_boxes": 0}, "max_boxes"),
        ({"score_resamples": -1}, "score_resamples"),
    ):
        with pytest.raises(DiscoveryError) as error:
            discover_runs(runs, PARAMETERS, where=WHERE, **options)
        assert error.value.field == field
    with pytest.raises(DiscoveryError, match="no finished runs"):
        discover_runs(runs.iloc[:0], PARAMETERS, where=WHERE)


# ------------------------------------------------------------------------------ a real sweep


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    out = tmp_path_factory.mktemp("discover_sweep")
    spec = {
        "name": "discover_small",
        "scenario": "bakery_gluten_free",
        "seeds": 6,
        "root_seed": 5,
        "overrides": {"horizon": 70},
        "parameters": [
            {
                "name": "alignment",
                "path": "strategies.aligned.alpha",
                "values": [0.1, 0.4, 0.7, 0.95],
            },
            {
                "name": "coordination_cost",
                "label": "cost of coordination",
                "path": "costs.coordination.hierarchical",
                "values": [0.5, 4.0, 8.0, 12.0],
            },
        ],
    }
    run_sweep(sweep_from_dict(spec), workers=1, out=out, progress=False)
    return out


def test_prim_on_a_small_sweep_finds_a_box_denser_than_the_base_rate(small_sweep):
    result = discover(small_sweep, where=WHERE, write=False)
    assert result.metric == "profit_post_shift"  # the sweep file's analysis.metric
    assert len(result.cases) == 16 * 6
    assert 0.1 < result.base_rate < 0.9
    first = result.boxes.iloc[0]
    assert first["density"] > result.cases[result.cases["half"] == "train"]["holds"].mean()
    assert first["test_density"] > first["test_base_rate"]
    assert first["clear"]
    assert "Box 1" in result.report and "coverage" in result.report
    assert not (small_sweep / "discovery").exists()  # write=False writes nothing


def test_the_command_line_end_to_end(small_sweep, tmp_path, capsys):
    out = tmp_path / "found"
    args = ["discover", str(small_sweep), "--where", WHERE, "--out", str(out)]
    assert main([*args, "--score-resamples", "10"]) == 0
    printed = capsys.readouterr().out
    assert "Box 1" in printed and "density" in printed and "CART tree" in printed
    assert "standard errors from 10 bootstrap resamples of the design points" in printed
    scores = pd.read_parquet(out / "scores.parquet")
    assert {"low", "high", "vs_noise_low", "vs_noise_high", "matters"} <= set(scores.columns)
    assert "cost of coordination (coordination_cost)" in printed  # the sweep file's label
    for name in (
        "report.md",
        "manifest.json",
        "peeling_trajectory.png",
        "tree.png",
        "feature_scores.png",
        "boxes.parquet",
        "limits.parquet",
        "trajectory.parquet",
        "tree.parquet",
        "scores.parquet",
        "cases.parquet",
    ):
        assert (out / name).is_file(), name
    assert not (out / ".lock").exists()
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["kind"] == "discovery" and manifest["where"] == WHERE
    boxes = pd.read_parquet(out / "boxes.parquet")
    assert boxes["clear"].iloc[0]
    assert (out / "report.md").read_text(encoding="utf-8").startswith("# Scenario discovery")
    # again into the same folder: allowed (the same kind of result), the default folder too
    assert main([*args, "--quiet", "--no-figures"]) == 0
    assert not list(out.glob("*.png"))  # no figure of the run before left behind
    assert main(["discover", str(small_sweep), "--where", "aligned > 0", "--quiet"]) == 0
    assert (small_sweep / "discovery" / "report.md").is_file()
    shutil.rmtree(small_sweep / "discovery")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--where", "aligned - rival > 0"], "--where: unknown strategy 'rival'"),
        (["--where", "aligned - efficiency_only > 1e9"], "--where: too few cases on one side"),
        (["--where", WHERE, "--metric", "nonsense"], "--metric: unknown outcome 'nonsense'"),
        (["--where", WHERE, "--min-coverage", "2"], "--min-coverage: in (0, 1]"),
    ],
)
def test_command_line_errors_name_the_option(small_sweep, tmp_path, capsys, extra, message):
    out = tmp_path / "never"
    assert main(["discover", str(small_sweep), *extra, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and message in err
    assert not out.exists()


def test_a_sweep_with_no_runs_and_a_folder_that_is_no_sweep(small_sweep, tmp_path, capsys):
    empty = tmp_path / "empty"
    (empty / "runs").mkdir(parents=True)
    shutil.copy(small_sweep / "manifest.json", empty / "manifest.json")
    assert main(["discover", str(empty), "--where", WHERE]) == 2
    assert "no finished runs" in capsys.readouterr().err
    assert main(["discover", str(tmp_path), "--where", WHERE]) == 2
    assert "not a sweep folder" in capsys.readouterr().err


def test_an_output_folder_that_cannot_take_it_is_refused_before_any_work(
    small_sweep, tmp_path, capsys
):
    afile = tmp_path / "file"
    afile.write_text("x", encoding="utf-8")
    for out, message in ((small_sweep, "holds a sweep result"), (afile, "is not a folder")):
        assert main(["discover", str(small_sweep), "--where", WHERE, "--out", str(out)]) == 2
        assert message in capsys.readouterr().err
    assert not (small_sweep / ".lock").exists() and not (small_sweep / "report.md").exists()


def test_without_the_extra_the_command_says_how_to_install_it(small_sweep, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ema_workbench", None)  # import fails as if not installed
    monkeypatch.setitem(sys.modules, "ema_workbench.analysis", None)
    assert main(["discover", str(small_sweep), "--where", WHERE]) == 2
    assert 'pip install "smb-sim[discover]"' in capsys.readouterr().err
