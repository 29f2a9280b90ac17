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


def test_the_model_fingerprint_changes_with_the_model_code_only(tmp_path):
    import shutil

    from sim.results import MODEL_SOURCES, PACKAGE_DIR, environment, model_fingerprint

    for name in MODEL_SOURCES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PACKAGE_DIR / name, tmp_path / name)
    assert model_fingerprint(tmp_path) == model_fingerprint(PACKAGE_DIR)
    (tmp_path / "cli.py").write_text("# not model code\n")
    assert model_fingerprint.__wrapped__(tmp_path) == model_fingerprint(PACKAGE_DIR)
    market = tmp_path / "market.py"
    market.write_text(market.read_text() + "\nRHO_DEFAULT = 0.5\n")
    assert model_fingerprint.__wrapped__(tmp_path) != model_fingerprint(PACKAGE_DIR)
    assert environment()["model"].endswith("+" + model_fingerprint())
