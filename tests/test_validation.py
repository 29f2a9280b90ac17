"""Validation: the quick versions of the published experiments, and that a broken rule fails."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.population import Population
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


def _absolute_survival(self):
    """A wrong selection rule: survival with probability V instead of V / V_max."""
    rng = self.own_rng
    fitness = self.market.landscape_performance[self.configs]
    dead = np.flatnonzero(rng.random(fitness.size) >= fitness)
    self.configs[dead] = rng.integers(0, 2**self.market.n_decisions, size=dead.size)
    self.ids[dead] = np.arange(self._next_id, self._next_id + dead.size)
    self._next_id += int(dead.size)
    return int(dead.size)


@pytest.mark.parametrize("broken", [_absolute_survival, lambda self: 0], ids=["absolute", "none"])
def test_a_broken_selection_rule_fails_validation(monkeypatch, broken):
    monkeypatch.setattr(Population, "select", broken)
    report = run_validation(quick=True, only=["levinthal_1997_fig6"])
    assert not report.ok


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
    ]
    assert (out / "levinthal_1997_fig8.png").stat().st_size > 5000
    assert (out / "manifest.json").exists()


def test_cli_validate_exits_1_when_out_of_tolerance(tmp_path, monkeypatch):
    monkeypatch.setattr(Population, "select", lambda self: 0)
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
