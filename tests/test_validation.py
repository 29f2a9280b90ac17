"""Validation: the quick versions of the published experiments, and that a broken rule fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.engine import Engine
from sim.validation import EXPERIMENTS, run_validation


@pytest.fixture(scope="module")
def quick_report():
    return run_validation(quick=True)


def test_every_quick_experiment_is_within_tolerance(quick_report):
    table = quick_report.table()
    assert set(quick_report.outcomes) == set(EXPERIMENTS)
    assert len(table) >= 40
    failing = table[~table["within_tolerance"]]
    assert failing.empty, failing.to_string()


def _absolute_survival(self, t, start):
    """A wrong selection rule: survival with probability V instead of V / V_max."""
    rng = np.random.default_rng(t)
    for g in self.selection_groups:
        rows = np.flatnonzero(self.group == g)
        fitness = self.performance_land[self.market[rows] * self.size + self.config[rows]]
        dead = rows[rng.random(rows.size) >= fitness]
        self.config[dead] = rng.integers(0, self.size, size=dead.size)
        self.ids[dead] = np.arange(self.next_id[g], self.next_id[g] + dead.size)
        self.next_id[g] += int(dead.size)


@pytest.mark.parametrize(
    "broken", [_absolute_survival, lambda self, t, start: None], ids=["absolute", "none"]
)
def test_a_broken_selection_rule_fails_validation(monkeypatch, broken):
    monkeypatch.setattr(Engine, "select", broken)
    report = run_validation(quick=True, only=["levinthal_1997_fig6"])
    assert not report.ok


def test_a_rubber_stamp_in_place_of_the_active_head_office_fails_validation(monkeypatch):
    # Rivkin & Siggelkow's active CEO picks the best combination of proposals; a head office
    # that rubber-stamps them (decentralized) loses the paper's advantage, and the row fails
    from sim.validation import experiments

    original = experiments.scenario

    def rubber_stamp(name, overrides=None):
        return original(
            name, {**(overrides or {}), "strategies.active_ceo.coordination": "decentralized"}
        )

    monkeypatch.setattr(experiments, "scenario", rubber_stamp)
    report = run_validation(quick=True, only=["rivkin_siggelkow_2003"])
    failing = report.table()[lambda t: ~t["within_tolerance"]]
    assert not failing.empty and failing["measure"].str.contains("beats rubber-stamp").all()


def test_every_numeric_row_has_a_z_score_and_claims_have_none(quick_report):
    table = quick_report.table()
    numeric = table["tolerance"].str.contains("SE")
    assert numeric.any() and (~numeric).any()
    assert table.loc[numeric, "z"].notna().sum() >= numeric.sum() - 5  # a zero SE gives none
    assert table.loc[~numeric, "z"].isna().all()


def test_a_broken_search_order_fails_validation(monkeypatch):
    # best-improvement instead of Levinthal's first-improvement makes firms alike too slowly/fast
    from sim.validation import experiments

    original = experiments.scenario

    def best_improvement(name, overrides=None):
        return original(name, {**(overrides or {}), "strategies.levinthal.search": "best"})

    monkeypatch.setattr(experiments, "scenario", best_improvement)
    assert not run_validation(quick=True, only=["levinthal_1997_fig1"]).ok


def test_cli_validate_writes_the_table_and_figures(tmp_path, capsys):
    out = tmp_path / "val"
    code = main(["validate", "--quick", "--experiment", "levinthal_1997_fig8", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "published" in printed and "within_tolerance" in printed
    table = pd.read_csv(out / "validation.csv")
    assert list(table.columns) == [
        "experiment",
        "measure",
        "published",
        "model",
        "tolerance",
        "within_tolerance",
        "z",
    ]
    assert (out / "levinthal_1997_fig8.png").stat().st_size > 5000
    assert (out / "manifest.json").exists()


def test_cli_validate_exits_1_when_out_of_tolerance(tmp_path, monkeypatch):
    monkeypatch.setattr(Engine, "select", lambda self, t, start: None)
    code = main(
        ["validate", "--quick", "--experiment", "levinthal_1997_fig6", "--out", str(tmp_path)]
    )
    assert code == 1


def test_cli_validate_rejects_an_unknown_experiment(tmp_path, capsys):
    assert main(["validate", "--experiment", "nope", "--out", str(tmp_path / "x")]) == 2
    assert "allowed: kauffman_1993" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.slow
def test_full_validation_is_within_tolerance():
    """The published protocols at full size (minutes): `pytest -m slow`."""
    report = run_validation(quick=False)
    failing = report.table()[lambda t: ~t["within_tolerance"]]
    assert failing.empty, failing.to_string()
