"""March (1991) Fig. 1 in `sim validate`: the protocol's hand-computable cases, the quick rows,
and negative controls that fail."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.cli import main
from sim.validation import run_validation
from sim.validation.march import (
    EXPERIMENT,
    MARCH_FIG1,
    P1,
    P1_QUICK,
    P2,
    REPLICATION_TABLE,
    equilibrium_knowledge,
)


def _table(rules: dict | None = None, *, quick: bool = True) -> pd.DataFrame:
    overrides = {"march_1991": rules} if rules else None
    return run_validation(quick=quick, only=[EXPERIMENT], overrides=overrides).table()


@pytest.fixture(scope="module")
def quick_table() -> pd.DataFrame:
    return _table()


def test_one_individual_one_dimension_gives_two_thirds():
    # m = 1, n = 1, p1 = p2 = 1: a right belief is adopted by the code at once; a 0 belief acts
    # by coin until it is right, the code adopts that and socialisation completes the belief;
    # a wrong belief never outscores the code's 0, and nothing changes: knowledge 1 with
    # probability 2/3, 0 with 1/3
    runs = equilibrium_knowledge(
        p1=1.0, p2=1.0, replications=3000, seed=5, dimensions=1, individuals=1
    )
    assert set(np.unique(runs.knowledge)) <= {0.0, 1.0}
    assert runs.settled.all()
    se = np.sqrt(2 / 9 / runs.knowledge.size)
    assert abs(runs.knowledge.mean() - 2 / 3) < 4 * se


def test_without_learning_nothing_changes_and_no_run_settles():
    runs = equilibrium_knowledge(p1=0.0, p2=0.0, replications=50, seed=1, max_periods=7)
    assert (runs.knowledge == 0).all() and (runs.share_right == 0).all()
    assert (runs.periods == 7).all() and not runs.settled.any()


def test_knowledge_is_right_minus_wrong_over_m():
    runs = equilibrium_knowledge(p1=0.5, p2=0.5, replications=200, seed=2)
    # (right - wrong) / m = 2 x share right - 1 + share still 0: never below 2 x share - 1
    assert (runs.knowledge >= 2 * runs.share_right - 1 - 1e-12).all()
    assert np.isclose(runs.knowledge, 2 * runs.share_right - 1).mean() > 0.95


def test_same_seed_same_numbers():
    a = equilibrium_knowledge(p1=0.3, p2=0.9, replications=40, seed=(1, 2))
    b = equilibrium_knowledge(p1=0.3, p2=0.9, replications=40, seed=(1, 2))
    assert np.array_equal(a.knowledge, b.knowledge) and np.array_equal(a.periods, b.periods)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="allowed: superior, everyone"):
        equilibrium_knowledge(p1=0.1, p2=0.1, replications=2, learns_from="all")
    with pytest.raises(ValueError, match="p2 must be a probability"):
        equilibrium_knowledge(p1=0.1, p2=1.5, replications=2)
    with pytest.raises(ValueError, match="max_periods must be at least 1"):
        equilibrium_knowledge(p1=0.1, p2=0.1, replications=2, max_periods=0)
    with pytest.raises(KeyError, match="allowed: learns_from, zero_teaches"):
        _table({"learns": "everyone"})
    with pytest.raises(ValueError, match="allowed: superior, everyone"):
        _table({"learns_from": "all"})


def test_the_reference_tables_are_complete():
    for table in (MARCH_FIG1, REPLICATION_TABLE):
        assert set(table) == set(P2) and all(len(v) == len(P1) for v in table.values())


def test_quick_rows_are_within_tolerance(quick_table):
    numeric = quick_table.dropna(subset=["z"])
    assert len(numeric) == 2 * len(P1_QUICK) * len(P2)
    assert set(numeric["source"].str.split(",").str[0]) == {
        "March 1991 Fig. 1",
        "replication table (Workiewicz",
    }
    assert len(quick_table) - len(numeric) == 4  # the orderings and the equilibrium
    failing = quick_table[~quick_table["within_tolerance"]]
    assert failing.empty, failing.to_string()


def test_a_code_learning_from_everyone_fails_every_row():
    # negative control: the code learns from all individuals, not only those who outscore it;
    # it then learns the majority's beliefs, not reality's, and ends knowing nothing
    table = _table({"learns_from": "everyone"})
    numeric = table.dropna(subset=["z"])
    assert not numeric["within_tolerance"].any()
    assert (numeric["z"] < -10).all()
    assert not table.loc[table["z"].isna(), "within_tolerance"].any()


def test_socialisation_that_teaches_zero_beliefs_fails_the_slow_code_rows():
    # negative control: where the code is 0, socialisation turns beliefs to 0 (the code's
    # neutral start erases individual beliefs); a slowly learning code (p2 = 0.1) then ends
    # knowing more than under the protocol
    table = _table({"zero_teaches": True})
    failing = table[~table["within_tolerance"]]
    expected = {f"p2=0.1, p1={p1}: equilibrium knowledge" for p1 in (0.1, 0.5)}
    assert expected <= set(failing["measure"])
    assert (failing["z"] > 0).all()


def test_cli_validate_march_writes_its_table_and_figure(tmp_path):
    out = tmp_path / "val"
    assert main(["validate", "--quick", "--experiment", EXPERIMENT, "--out", str(out)]) == 0
    table = pd.read_csv(out / f"{EXPERIMENT}.csv")
    assert len(table) == len(P1_QUICK) * len(P2)
    assert (table["share_settled"] == 1).all()
    assert (out / f"{EXPERIMENT}.png").stat().st_size > 5000


@pytest.mark.slow
def test_full_march_rows_are_within_tolerance():
    """The full grid, 1,000 runs per point (about two minutes): `pytest -m slow`."""
    table = _table(quick=False)
    assert len(table.dropna(subset=["z"])) == 2 * len(P1) * len(P2)
    failing = table[~table["within_tolerance"]]
    assert failing.empty, failing.to_string()


@pytest.mark.slow
def test_full_size_zero_teaching_control_fails_against_the_replication():
    table = _table({"zero_teaches": True}, quick=False)
    failing = table[~table["within_tolerance"]]
    assert (failing["source"].str.startswith("replication")).sum() >= 5
