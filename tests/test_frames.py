"""A firm's log as a DataFrame; configurations decoded into one column per decision."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.experiment import run_experiment
from sim.frames import decision_bits, decision_columns, department_of, firm_frame
from sim.model import Market
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("bakery_gluten_free", {"horizon": 70})


def test_decision_bits_by_hand():
    bits = decision_bits(np.array([0, 1, 6, 2**4 - 1]), 4)
    assert bits.tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [1, 1, 1, 1]]


def test_decision_columns_decode_any_table(scenario):
    periods = run_experiment(scenario, seeds=2).periods
    decoded = decision_columns(periods, scenario)
    names = list(scenario.decisions)
    assert list(decoded.columns[-len(names) :]) == names
    weights = 2 ** np.arange(len(names))
    assert (decoded[names].to_numpy() @ weights == periods["config"].to_numpy()).all()
    # the initial decisions the scenario fixes are there at period 0
    start = decoded[decoded["period"] == 0]
    for name, value in scenario.firm.initial_decisions.items():
        assert (start[name] == value).all()
    table = pd.DataFrame({"config": [5], "large_batches": [1]})
    with pytest.raises(ValueError, match="prefix"):
        decision_columns(table, scenario)
    assert "decision_large_batches" in decision_columns(table, scenario, prefix="decision_")
    assert set(department_of(scenario).values()) == {d.name for d in scenario.departments}


def test_firm_frame_matches_the_batch_periods_table(scenario):
    market = Market(scenario=scenario, strategies=["aligned"], rng=4).run()
    frame = firm_frame(market.firms[0])
    batch = run_experiment(scenario, strategies=["aligned"], seeds=[4]).periods
    assert len(frame) == scenario.horizon + 1
    shared = [c for c in batch.columns if c != "strategy"]
    pd.testing.assert_frame_equal(
        frame[shared].reset_index(drop=True), batch[shared].reset_index(drop=True)
    )
    assert set(scenario.decisions) <= set(frame.columns)
