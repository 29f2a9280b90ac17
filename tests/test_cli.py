"""The command line: a full run, and bad input (one-line error, exit code 2, nothing written)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.scenario import SCENARIO_DIR

REQUIRED_RUN_COLUMNS = {
    "strategy",
    "seed",
    "efficiency_pre_shift",
    "efficiency_post_shift",
    "market_value_pre_shift",
    "market_value_post_shift",
    "profit_pre_shift",
    "profit_post_shift",
    "survived",
    "cycled",
    "recovery_time",
}


def test_run_writes_tables_manifest_and_figures(tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["run", "bakery_gluten_free", "--seeds", "3", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "efficiency_only" in printed and "aligned" in printed and "[" in printed
    runs = pd.read_parquet(out / "runs.parquet")
    assert set(runs.columns) >= REQUIRED_RUN_COLUMNS
    assert len(runs) == 6 and sorted(runs["seed"].unique()) == [0, 1, 2]
    periods = pd.read_parquet(out / "periods.parquet")
    assert len(periods) == 6 * 161
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seeds"] == [0, 1, 2]
    assert manifest["scenario"]["name"] == "bakery_gluten_free"
    assert manifest["scenario"]["horizon"] == 160
    assert "mesa" in {k.lower() for k in manifest["environment"]["packages"]}
    assert manifest["environment"]["python"].startswith("3.")
    assert "commit" in manifest["git"]
    for figure in ("kpi.png", "sailing_in_circles.png"):
        assert (out / figure).stat().st_size > 10_000


def test_run_compares_every_pair_and_writes_the_summary_as_csv_and_latex(tmp_path, capsys):
    out = tmp_path / "three"
    assert (
        main(
            [
                "run",
                "restaurant_kitchen_tech",
                "--seeds",
                "4",
                "--no-figures",
                "--no-periods",
                "--latex",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    for pair in (
        "aligned - efficiency_only",
        "aligned_explained - efficiency_only",
        "aligned_explained - aligned",
    ):
        assert pair in printed
    assert "Holm-adjusted across the 3 pairs" in printed
    assert "pairs share landscapes, not behaviour" in printed
    summary = pd.read_csv(out / "summary.csv")
    assert set(summary["strategy"]) == {"efficiency_only", "aligned", "aligned_explained"}
    assert {"metric", "label", "mean", "ci_low", "ci_high", "n"} <= set(summary.columns)
    differences = pd.read_csv(out / "differences.csv")
    tested = differences[differences["metric"] != "gap_share_before"]
    assert len(tested) == 3 * 3 and (tested["p_holm"] >= tested["p_value"]).all()
    shares = differences[differences["metric"] == "gap_share_before"]
    assert len(shares) == 3 and shares["p_value"].isna().all()  # an estimate, not a test
    for name in ("summary.tex", "differences.tex"):
        text = (out / name).read_text()
        assert text.startswith("\\begin{tabular}") and "\\toprule" in text
    assert "aligned\\_explained - aligned" in (out / "differences.tex").read_text()


def test_two_strategies_print_one_pair_without_a_correction(tmp_path, capsys):
    assert (
        main(
            [
                "run",
                "canteen_stable",
                "--seeds",
                "3",
                "--no-figures",
                "--no-periods",
                "--out",
                str(tmp_path / "two"),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "aligned - efficiency_only" in printed and "Holm" not in printed
    assert not (tmp_path / "two" / "summary.tex").exists()


def test_strategy_option_restricts_the_run(tmp_path):
    out = tmp_path / "one"
    assert (
        main(
            [
                "run",
                "bakery_gluten_free",
                "--seeds",
                "2",
                "--strategy",
                "aligned",
                "--out",
                str(out),
                "--no-figures",
                "--quiet",
            ]
        )
        == 0
    )
    runs = pd.read_parquet(out / "runs.parquet")
    assert set(runs["strategy"]) == {"aligned"}


def _bad(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _bakery_text() -> str:
    return (SCENARIO_DIR / "bakery_gluten_free.toml").read_text(encoding="utf-8")


BAD_INPUTS = {
    "malformed": ("name = 'x\n", "malformed TOML"),
    "unknown field": (
        _bakery_text().replace("[firm]\n", "[firm]\nsize = 3\n"),
        "firm.size: unknown field 'size'; allowed: beta",
    ),
    "out of range": (
        _bakery_text().replace("rho = 0.2 ", "rho = 1.5 "),
        "market.rho: Input should be less than or equal to 1",
    ),
    "unknown decision": (
        _bakery_text().replace(
            '{ decision = "large_batches", value = 1, weight = 2 }',
            '{ decision = "croissants", value = 1, weight = 2 }',
        ),
        "market.regimes[0].preferences[0].decision: unknown decision 'croissants'; allowed:",
    ),
    "unknown regime": (
        _bakery_text().replace('to = "health_conscious"', 'to = "vegan"'),
        "market.shifts[0].to: unknown regime 'vegan'",
    ),
    # issue 12: non-finite and lenient numbers
    "cost inf": (
        _bakery_text().replace("alignment = 2.0 ", "alignment = inf "),
        "costs.alignment: expected a finite number",
    ),
    "cost nan": (
        _bakery_text().replace("hierarchical = 1.0 }", "hierarchical = nan }"),
        "costs.coordination.hierarchical: expected a finite number",
    ),
    "weight inf": (
        _bakery_text().replace("value = 1, weight = 2 }", "value = 1, weight = inf }", 1),
        "market.regimes[0].preferences[0].weight: expected a finite number",
    ),
    "weight 1e308": (
        _bakery_text().replace("value = 1, weight = 2 }", "value = 1, weight = 1e308 }", 1),
        "market.regimes[0].preferences[0].weight: Input should be less than or equal to",
    ),
    "money_scale inf": (
        _bakery_text().replace("money_scale = 60.0 ", "money_scale = inf "),
        "firm.money_scale: expected a finite number",
    ),
    "alpha true": (
        _bakery_text().replace("alpha = 0.7 ", "alpha = true "),
        "strategies.aligned.alpha: expected a number (true, false and quoted text are not",
    ),
    "alpha text": (
        _bakery_text().replace("alpha = 0.7 ", "alpha = '0.5' "),
        "strategies.aligned.alpha: expected a number",
    ),
    "seeds true": (
        _bakery_text().replace("seeds = 30 ", "seeds = true "),
        "seeds: expected a whole number",
    ),
    "decision value true": (
        _bakery_text().replace("large_batches = 1,", "large_batches = true,"),
        "firm.initial_decisions.large_batches: expected 0 or 1, got true",
    ),
    "nested 5000 deep": (
        _bakery_text() + "\nthings_to_try = " + "[" * 5000 + "]" * 5000 + "\n",
        "nested more than 32 levels deep",
    ),
    "nested 40 deep": (
        _bakery_text() + "\nthings_to_try = " + "[" * 40 + "]" * 40 + "\n",
        "nested more than 32 levels deep",
    ),
    "too large": (_bakery_text() + "#" * 1_000_000, "larger than 1,000,000 bytes"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_scenario_gives_one_line_exit_2_and_writes_nothing(tmp_path, capsys, case):
    text, expected = BAD_INPUTS[case]
    path = _bad(tmp_path, text)
    out = tmp_path / "out"
    assert main(["run", str(path), "--seeds", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith(f"error: {path}")
    assert expected in err
    assert not out.exists()


def test_a_file_not_in_utf8_is_named_with_the_remedy(tmp_path, capsys):
    path = tmp_path / "cafe.toml"
    path.write_bytes(_bakery_text().replace("The bakery", "Café bakery", 1).encode("cp1252"))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"error: {path}: not UTF-8 text (byte 0xe9")
    assert "save the file as UTF-8" in err
    assert not out.exists()


def test_an_endless_file_is_refused_without_reading_it_all(tmp_path, capsys):
    assert main(["run", "/dev/zero", "--out", str(tmp_path / "out")]) == 2
    assert "larger than 1,000,000 bytes" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--strategy", "aligned", "--strategy", "aligned"], "--strategy: strategy 'aligned' is"),
        (["--seeds", "1000000000"], "--seeds: expected a number of seeds from 1 to 100,000"),
        (["--seeds", "1000000"], "more seeds belong in a sweep"),
    ],
)
def test_run_options_checked_before_any_work(tmp_path, capsys, args, expected):
    out = tmp_path / "out"
    assert main(["run", "bakery_gluten_free", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and expected in err
    assert not out.exists()


def test_missing_file_and_unknown_strategy(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "nope.toml"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "nope.toml" in err and "bakery_gluten_free" in err
    assert main(["run", "bakery_gluten_free", "--strategy", "luck", "--out", str(out)]) == 2
    assert "allowed: efficiency_only, aligned" in capsys.readouterr().err
    assert not out.exists()


def test_module_entry_point_help_for_every_command():
    for args in ([], ["run"]):
        done = subprocess.run(
            [sys.executable, "-m", "sim", *args, "--help"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "usage:" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "sim", "run", "bakery_gluten_free", "--seeds", "0"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "--seeds" in bad.stderr


# ---- issue 12: every writer checks its folder before any work


@pytest.fixture(scope="module")
def sweep_folder(tmp_path_factory):
    from sim.sweep import run_sweep, sweep_from_dict

    out = tmp_path_factory.mktemp("sweep")
    spec = {
        "name": "cli",
        "scenario": "bakery_gluten_free",
        "seeds": 2,
        "root_seed": 1,
        "overrides": {"horizon": 30, "market.shifts.0.at": 15},
        "parameters": [{"name": "a", "path": "strategies.aligned.alpha", "values": [0.2, 0.8]}],
    }
    run_sweep(sweep_from_dict(spec), workers=1, out=out, progress=False)
    return out


def _listing(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in sorted(folder.rglob("*"))}


@pytest.mark.parametrize(
    "command",
    [
        ["run", "bakery_gluten_free", "--seeds", "2", "--out"],
        ["validate", "--quick", "--experiment", "kauffman_1993", "--out"],
        ["figure", "sailing-in-circles", "bakery_gluten_free", "--no-gif", "--out"],
        ["figure", "decisions", "bakery_gluten_free", "--out"],
        ["decompose", "bakery_gluten_free", "--seeds", "2", "--out"],
    ],
    ids=["run", "validate", "figure", "figure-decisions", "decompose"],
)
def test_a_writer_refuses_a_sweep_folder_and_bad_folders_before_any_work(
    tmp_path, capsys, sweep_folder, command
):
    before = _listing(sweep_folder)
    assert main([*command, str(sweep_folder)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "holds a sweep result" in err
    assert _listing(sweep_folder) == before  # nothing written, no lock left
    afile = tmp_path / "file"
    afile.write_text("x", encoding="utf-8")
    for out, message in [(afile / "sub", "is a file, not a folder"), ("/proc/x", "cannot be")]:
        started = time.perf_counter()
        assert main([*command, str(out)]) == 2
        assert time.perf_counter() - started < 5  # refused before the work, not after
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and message in err


def test_analyze_refuses_identical_contrasts_and_reads_its_sweep(capsys, sweep_folder):
    args = ["analyze", str(sweep_folder), "--no-figures", "--quiet"]
    assert main([*args, "--compare", "aligned", "aligned"]) == 2
    assert "--compare: two different strategies" in capsys.readouterr().err
    assert main(args) == 0
    assert not (sweep_folder / "analysis" / ".lock").exists()


def test_more_workers_than_cores_run_with_a_warning(tmp_path, capsys, monkeypatch):
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 1)
    spec = tmp_path / "s.toml"
    spec.write_text(
        'name = "w"\nscenario = "bakery_gluten_free"\nseeds = 1\nroot_seed = 1\n'
        '[overrides]\nhorizon = 30\n"market.shifts.0.at" = 15\n'
        '[[parameters]]\nname = "a"\npath = "strategies.aligned.alpha"\nvalues = [0.5]\n',
        encoding="utf-8",
    )
    code = main(["sweep", str(spec), "--workers", "2", "--out", str(tmp_path / "o"), "--quiet"])
    assert code == 0
    assert "warning: --workers 2 on 1 cores" in capsys.readouterr().err


def test_a_run_above_the_memory_budget_is_refused_before_it_starts(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["run", "bakery_gluten_free", "--seeds", "100000", "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "more than the budget of 4.29 GB" in err
    assert "--memory-budget" in err and not out.exists()
    assert main([*args[:3], "1000", "--memory-budget", "0.001", "--out", str(out)]) == 2
    assert "more than the budget of 0.001 GB" in capsys.readouterr().err


def test_run_names_every_setting_in_which_the_strategies_differ(tmp_path, capsys):
    code = main(
        ["run", "bakery_gluten_free", "--seeds", "3", "--no-figures", "--out", str(tmp_path / "r")]
    )
    assert code == 0
    printed = capsys.readouterr().out
    line = next(x for x in printed.splitlines() if "differ in:" in x)
    assert line == (
        "efficiency_only and aligned differ in: alpha 0 vs 0.7; "
        "coordination decentralized vs hierarchical; sensing 0 vs 0.3"
    )


# ---- issue 20: checks before any work, and one line for every fault


def _no_simulation(monkeypatch):
    """Make simulating fail loudly: a command refused before it simulates never sees this."""
    import sim.experiment

    def simulate(*args, **kwargs):
        raise AssertionError("simulated before the input was checked")

    monkeypatch.setattr(sim.experiment, "simulate", simulate)
    monkeypatch.setattr(sim.experiment, "run_experiment", simulate)
    import sim.decompose

    monkeypatch.setattr(sim.decompose, "simulate", simulate)


def test_decompose_refuses_a_population_before_simulating(tmp_path, capsys, monkeypatch):
    population = tmp_path / "crowd.toml"
    text = (SCENARIO_DIR / "canteen_stable.toml").read_text(encoding="utf-8")
    text = text.replace("gain = 0.3 ", "gain = 0.0 ")  # a population learns nothing by doing
    population.write_text(text + "\n[population]\nfirms = 3\n", encoding="utf-8")
    _no_simulation(monkeypatch)
    out = tmp_path / "out"
    assert main(["decompose", str(population), "--seeds", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {population}: population.firms = 3: a decomposition compares single firms' "
        "profit, which a population's runs do not have; set population.firms = 1"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--base", "luck"], "--base: unknown strategy 'luck'; allowed: efficiency_only, aligned"),
        (["--target", "efficiency_only"], "--target: the same strategy as base"),
        (["--seeds", "1"], "--seeds: at least 2 seeds (intervals need them)"),
    ],
)
def test_decompose_options_name_their_flags(tmp_path, capsys, monkeypatch, args, expected):
    _no_simulation(monkeypatch)
    out = tmp_path / "out"
    assert main(["decompose", "bakery_gluten_free", *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and err.startswith(f"error: {expected}")
    assert not out.exists()


def test_decompose_runs_again_into_its_own_folder(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["decompose", "canteen_stable", "--seeds", "2", "--out", str(out), "--quiet"]
    assert main(args) == 0
    assert main(args) == 0  # (was: "holds a run result")
    assert sorted(p.name for p in out.iterdir()) == [
        "decomposition.png",
        "effects.csv",
        "manifest.json",
        "runs.parquet",
    ]


def test_explain_refuses_a_negative_seed_in_one_line(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["explain", "bakery_gluten_free", "--seed", "-1"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "--seed: expected a whole number 0..9223372036854775807, got -1" in err
    assert "Traceback" not in err


def test_analyze_a_sweep_with_no_runs_yet_says_so(tmp_path, capsys, sweep_folder):
    import shutil

    empty = tmp_path / "sweep"
    shutil.copytree(sweep_folder, empty)
    for part in (empty / "runs").glob("*.parquet"):
        part.unlink()
    shutil.rmtree(empty / "analysis", ignore_errors=True)  # (another test may have analysed it)
    assert main(["analyze", str(empty), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"error: {empty}: no runs yet: the sweep has not finished a batch; run or resume it "
        "(the same sweep command), then analyse it"
    )
    assert not (empty / "analysis").exists()


def test_python_errors_are_told_with_the_flag_on_the_command_line(tmp_path, capsys, monkeypatch):
    """The checks are the Python API's (naming `seeds`, `strategies`); the command line names
    the flags its user typed."""
    out = str(tmp_path / "out")
    assert main(["run", "bakery_gluten_free", "--seeds", "1000000", "--out", out]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --seeds: expected a number of seeds from 1 to 100,000")
    assert "scenario bakery_gluten_free" not in err
    assert main(["run", "bakery_gluten_free", "--strategy", "x", "--out", out]) == 2
    assert capsys.readouterr().err.startswith("error: --strategy: unknown strategy 'x'")


def test_decompose_on_a_full_disk_writes_none_of_its_files(tmp_path, capsys, monkeypatch):
    import errno
    import os

    def to_csv(frame, path, *args, **kwargs):
        Path(path).write_text("term,mean\nalpha,", encoding="utf-8")  # half a table, then full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", to_csv)
    out = tmp_path / "out"
    assert main(["decompose", "canteen_stable", "--seeds", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "effects.csv: cannot write: No space left on device" in err
    assert not out.exists()  # no runs.parquet without its manifest, no temporary, no lock
