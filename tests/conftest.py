"""Shared fixtures: flagship experiments are run once per test session."""

from __future__ import annotations

import pytest

from sim.experiment import ExperimentResult, run_experiment
from sim.scenario import load_scenario

FLAGSHIPS = ("bakery_gluten_free", "boutique_online")
SEEDS = 200  # a run costs milliseconds: effects are estimated over 200 seeds


@pytest.fixture(scope="session")
def flagship_results() -> dict[str, ExperimentResult]:
    """Both flagship scenarios, every strategy x 200 seeds, per-run summaries only."""
    return {
        name: run_experiment(load_scenario(name), seeds=SEEDS, periods=False) for name in FLAGSHIPS
    }
