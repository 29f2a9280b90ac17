"""The result writer and reader."""

from __future__ import annotations

import pandas as pd

from sim.experiment import run_experiment
from sim.results import load, write_experiment
from sim.scenario import load_scenario


def test_round_trip(tmp_path):
    sc = load_scenario("bakery_gluten_free", {"horizon": 70})
    result = run_experiment(sc, seeds=2)
    write_experiment(result, tmp_path)
    back = load(tmp_path)
    pd.testing.assert_frame_equal(back["runs"], result.runs)
    pd.testing.assert_frame_equal(back["periods"], result.periods)
    assert back["manifest"]["scenario"]["horizon"] == 70
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind
