"""Shared fixtures: flagship experiments are run once per test session."""

from __future__ import annotations

import pytest

from sim.experiment import ExperimentResult, run_experiment
from sim.scenario import load_scenario

FLAGSHIPS = ("bakery_gluten_free", "boutique_online")
SEEDS = 30


@pytest.fixture(scope="session")
def flagship_results() -> dict[str, ExperimentResult]:
    """Both flagship scenarios, every strategy x 30 seeds, per-run summaries only."""
    return {
        name: run_experiment(load_scenario(name), seeds=SEEDS, periods=False) for name in FLAGSHIPS
    }


def paired(result: ExperimentResult, column: str, a: str, b: str):
    """Values of ``column`` for strategies a and b, aligned by seed (common random numbers)."""
    runs = result.runs
    left = runs[runs["strategy"] == a].set_index("seed")[column]
    right = runs[runs["strategy"] == b].set_index("seed")[column]
    return left.align(right, join="inner")
