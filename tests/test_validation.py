"""Validation: the quick versions of the published experiments, and that a broken rule fails."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.engine import Engine
from sim.validation import EXPERIMENTS, Size, run_validation
from sim.validation.reference import (
    LEVINTHAL_READINGS,
    cross_links,
    levinthal,
    rivkin_siggelkow,
    silo_cycling,
)


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


def test_a_wrong_selection_rule_fails_validation(monkeypatch):
    # survival with probability V instead of V / V_max is no option of the model: patched in
    monkeypatch.setattr(Engine, "select", _absolute_survival)
    report = run_validation(quick=True, only=["levinthal_1997_fig6"])
    assert not report.ok


def _failing(overrides: dict, only: str) -> pd.DataFrame:
    """The rows of ``only`` that fail when the protocol's rules are changed by ``overrides``
    (the documented hook for negative controls; run correctly, every row passes: see
    `test_every_quick_experiment_is_within_tolerance`)."""
    table = run_validation(quick=True, only=[only], overrides=overrides).table()
    return table[~table["within_tolerance"]]


def test_selection_off_fails_the_survival_rows():
    failing = _failing({"levinthal_1997": {"population.selection": "none"}}, "levinthal_1997_fig6")
    # with no selection every incumbent survives: the K = 1 and K = 5 curves fail, K = 0 (where
    # selection keeps everyone anyway) does not
    assert {f"K={k}, t={t}: % incumbents alive" for k in (1, 5) for t in (29, 33, 41, 49)} <= set(
        failing["measure"]
    )
    assert not failing["measure"].str.startswith("K=0").any()


def test_best_improvement_in_place_of_first_improvement_fails_levinthal():
    failing = _failing(
        {"levinthal_1997": {"strategies.levinthal.search": "best"}}, "levinthal_1997_fig1"
    )
    # firms climbing the steepest way converge on fewer forms early on
    assert {"K=1, t=4: distinct forms", "K=5, t=4: distinct forms"} <= set(failing["measure"])
    assert (failing["z"].dropna() < 0).all()


def test_a_rubber_stamp_in_place_of_the_active_head_office_fails_validation():
    failing = _failing(
        {"rivkin_siggelkow_2003": {"strategies.active_ceo.coordination": "decentralized"}},
        "rivkin_siggelkow_2003",
    )
    measures = set(failing["measure"])
    p2 = "active CEO, P=2: performance / maximum"
    assert {f"K={k}, Incent=0, {p2} at t=100" for k in (2, 5)} <= measures
    assert {f"K={k}, Incent=0, {p2}, mean t=50-100" for k in (2, 5)} <= measures
    assert {f"K={k}, Incent=0: active CEO (P=2) beats rubber-stamp" for k in (2, 5)} <= measures
    assert not failing["measure"].str.contains("rubber-stamp: performance").any()


def test_ranking_all_changes_in_place_of_one_random_alternative_fails_rivkin_siggelkow():
    # the protocol before issue 11: every one-bit change examined (AltSub = 3), not one drawn
    everything = {f"strategies.{s}.alternatives": 0 for s in ("rubber_stamp", "active_ceo")}
    failing = _failing({"rivkin_siggelkow_2003": everything}, "rivkin_siggelkow_2003")
    # a department's two best options need not include its status quo: the head office sees
    # fewer combinations that keep what works
    p2 = "K=5, Incent=0, active CEO, P=2: performance / maximum"
    assert {f"{p2} at t=100", f"{p2}, mean t=50-100"} <= set(failing["measure"])
    assert (failing.loc[failing["measure"].str.startswith(p2), "z"] < 0).all()
    assert failing["source"].eq("independent implementation").all()


def test_sequential_moves_in_place_of_simultaneous_ones_fail_the_cycling_rows():
    failing = _failing(
        {"ethiraj_levinthal_2004": {"strategies.silos.coordination": "sequential"}},
        "ethiraj_levinthal_2004",
    )
    assert "C=4, decentralized, alpha=0: share of runs cycling" in set(failing["measure"])
    assert "decentralized silos (alpha=0): cycling grows with C" in set(failing["measure"])


def test_overrides_for_an_unknown_scenario_are_refused():
    with pytest.raises(KeyError, match=r"allowed: .*ethiraj_levinthal_2004"):
        run_validation(quick=True, only=["kauffman_1993"], overrides={"levinthal": {}})


def test_every_numeric_row_has_a_z_score_and_claims_have_none(quick_report):
    table = quick_report.table()
    numeric = table["tolerance"].str.contains("SE|exact")
    assert numeric.any() and (~numeric).any()
    assert table.loc[numeric, "z"].notna().all()
    assert table.loc[~numeric, "z"].isna().all()
    assert table["source"].str.len().gt(0).all()


def test_cli_validate_writes_the_table_and_figures(tmp_path, capsys):
    out = tmp_path / "val"
    code = main(["validate", "--quick", "--experiment", "levinthal_1997_fig8", "--out", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "reference" in printed and "source" in printed and "within_tolerance" in printed
    table = pd.read_csv(out / "validation.csv")
    assert list(table.columns) == [
        "experiment",
        "measure",
        "source",
        "reference",
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


def test_the_independent_link_schemes_draw_what_they_say():
    rng = np.random.default_rng(0)
    departments = [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]
    owner = {i: d for d, dec in enumerate(departments) for i in dec}
    for _ in range(20):
        per_decision = cross_links(departments, 2, "per_decision", rng)
        assert all(len(links) == 2 for links in per_decision)
        assert all(owner[j] != owner[i] for i, links in enumerate(per_decision) for j in links)
        per_department = cross_links(departments, 2, "per_department", rng)
        for dec in departments:
            assert 1 <= sum(len(per_department[i]) for i in dec) <= 2
        one = cross_links(departments, 2, "one_department", rng)
        assert all(len({owner[j] for j in links}) == 1 for links in one)
        mutual = cross_links(departments, 1, "mutual", rng)
        assert all(i in mutual[j] for i, links in enumerate(mutual) for j in links)
    with pytest.raises(ValueError, match="allowed: per_decision"):
        cross_links(departments, 1, "nope", rng)


def test_the_independent_implementations_know_the_exact_cases():
    # K = 0: every design ends on the global optimum; C = 0: silos never cycle
    for design, proposals in (("rubber_stamp", 1), ("active", 1), ("active", 2)):
        runs = rivkin_siggelkow(
            k=0, incent=0.0, design=design, proposals=proposals, landscapes=30, seed=1
        )
        assert runs.shape == (30, 101)
        assert np.allclose(runs[:, 50:], 1.0)
    for rule in ("best", "first", "random_flip"):
        assert not silo_cycling(cross=0, landscapes=30, rule=rule, seed=1).cycled.any()
    # firm-minded departments moving one at a time would never cycle; moving at once they do
    assert silo_cycling(cross=4, landscapes=200, alpha=1.0, seed=1).cycled.mean() > 0.3


def test_the_full_validation_docks_at_5000_landscapes_or_more():
    full = Size.of(quick=False)
    assert full.levinthal_landscapes >= 5000 and full.rs_landscapes >= 5000
    assert set(full.levinthal_ks) == {0, 1, 5}


def test_the_independent_levinthal_knows_the_exact_cases():
    # K = 0 without selection: every organisation climbs to the single peak by t = 20
    local = levinthal(k=0, landscapes=20, seed=1, selection=False, p_jump=0.0, change_at=None)
    assert local.forms.shape == (20, 51)
    assert (local.forms[:, 0] > 50).all() and (local.forms[:, 20:] == 1).all()
    # without selection nobody dies; K = 0 with selection: all end on the peak, V / V_max = 1
    assert (levinthal(k=5, landscapes=5, seed=2, selection=False).survival == 100).all()
    assert (levinthal(k=0, landscapes=10, seed=3).survival[:, -1] == 100).all()
    # selection kills at K = 5; forms stay many without selection at K = 5
    assert levinthal(k=5, landscapes=20, seed=4).survival[:, -1].mean() < 80
    with pytest.raises(ValueError, match="allowed: selection_on"):
        levinthal(k=1, landscapes=2, reading={"selection_on": "never"})
    for rule, options in LEVINTHAL_READINGS.items():  # every reading runs
        runs = levinthal(k=1, landscapes=3, seed=5, reading={rule: options[-1]})
        assert runs.survival.shape == (3, 27)


def test_the_independent_silos_move_in_the_order_asked():
    # departments working for the firm never cycle when they move one after another, in any
    # order; a fixed order cycles where a new random order each period rarely does
    for moves in ("sequential_random", "sequential_fixed"):
        assert not silo_cycling(
            cross=4, landscapes=100, alpha=1.0, moves=moves, seed=2
        ).cycled.any()
    fixed = silo_cycling(cross=4, landscapes=300, moves="sequential_fixed", seed=3).cycled.mean()
    drawn = silo_cycling(cross=4, landscapes=300, moves="sequential_random", seed=3).cycled.mean()
    assert fixed > 0.1 and drawn < 0.08
    with pytest.raises(ValueError, match="allowed: simultaneous"):
        silo_cycling(cross=1, landscapes=2, rule="random_flip", moves="sequential_fixed")


# ---- negative controls at the full size (5,000 landscapes per K or cell): subtle errors that the
# figures read off cannot catch, but the independent implementation does
FULL_K1_K5 = dataclasses.replace(Size.of(quick=False), levinthal_ks=(1, 5))


def _failing_at_full_size(overrides: dict, only: str, size: Size = FULL_K1_K5) -> pd.DataFrame:
    table = run_validation(only=[only], overrides=overrides, size=size).table()
    return table[~table["within_tolerance"]]


@pytest.mark.slow
def test_the_change_one_period_early_fails_the_independent_rows():
    early = {"market.shifts": [{"kind": "redraw", "at": 24, "count": 1}]}
    failing = _failing_at_full_size({"levinthal_1997": early}, "levinthal_1997_fig6")
    # the incumbents (alive at t = 23 and 24) have already faced one selection on the new
    # landscape: more of them survive the next periods
    survival = {"K=1, t=25: % incumbents alive", "K=5, t=25: % incumbents alive"}
    assert survival <= set(failing["measure"])
    assert (failing.loc[failing["measure"].isin(survival), "z"] > 0).all()
    print(failing[["measure", "source", "z"]].to_string())  # for the record (pytest -s)


@pytest.mark.slow
def test_long_jumps_half_as_often_fail_the_independent_rows():
    half = {"strategies.levinthal.p_jump": 0.5}
    size = dataclasses.replace(FULL_K1_K5, levinthal_ks=(5,))
    failing = _failing_at_full_size({"levinthal_1997": half}, "levinthal_1997_fig6", size)
    # fewer random forms tried: the organisations are less fit early on; the survival curves
    # and the figures read off do not see it
    assert "K=5, t=1: mean fitness / maximum" in set(failing["measure"])
    assert (failing["z"] < 0).all()
    assert failing["source"].eq("independent implementation").all()


@pytest.mark.slow
def test_best_improvement_fails_the_independent_rows_of_fig1():
    best = {"strategies.levinthal.search": "best"}
    failing = _failing_at_full_size({"levinthal_1997": best}, "levinthal_1997_fig1")
    docked = failing[failing["source"] == "independent implementation"]
    assert {"K=1, t=4: distinct forms", "K=5, t=4: distinct forms"} <= set(docked["measure"])


@pytest.mark.slow
def test_two_alternatives_per_period_fail_rivkin_siggelkow():
    # AltSub = 2 in place of the paper's AltSub = 1
    two = {f"strategies.{s}.alternatives": 2 for s in ("rubber_stamp", "active_ceo")}
    size = dataclasses.replace(Size.of(quick=False), rs_ks=(0, 5), rs_incents=(0.0,))
    failing = _failing_at_full_size({"rivkin_siggelkow_2003": two}, "rivkin_siggelkow_2003", size)
    # a department's two best options need not include its status quo: the head office sees
    # fewer combinations that keep what works
    p2 = "K=5, Incent=0, active CEO, P=2: performance / maximum"
    assert {f"{p2} at t=100", f"{p2}, mean t=50-100"} <= set(failing["measure"])
    assert (failing.loc[failing["measure"].str.startswith(p2), "z"] < 0).all()
    assert failing["source"].eq("independent implementation").all()
