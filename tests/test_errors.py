"""The typed errors of bad input (`sim.errors`): Python's name Python's arguments and carry the
value given; a scenario may be given by name (issue 20)."""

from __future__ import annotations

import pickle

import pytest

from sim.decompose import decompose
from sim.errors import ScenarioError, UsageError
from sim.experiment import run_experiment, run_one
from sim.explain import explain
from sim.model import Market
from sim.scenario import load_scenario, resolve_scenario_path

SHOP = "bakery_gluten_free"


@pytest.fixture(scope="module")
def shop():
    return load_scenario(SHOP, {"horizon": 30, "market.shifts.0.at": 15})


def _raises(call, argument: str, value: object, message: str) -> UsageError:
    with pytest.raises(UsageError) as caught:
        call()
    error = caught.value
    assert error.argument == argument and error.value == value
    assert message in str(error) and "--" not in str(error) and "python -m sim" not in str(error)
    assert isinstance(error, ScenarioError) and isinstance(error, ValueError)
    return error


def test_bad_arguments_are_named_as_python_names_them(shop):
    error = _raises(
        lambda: run_experiment(shop, seeds=10**7),
        "seeds",
        10**7,
        "expected a number of seeds from 1 to 100,000, got 10000000",
    )
    assert "sim.sweep.run_sweep" in str(error)  # where more seeds belong, in Python's words
    _raises(lambda: run_experiment(shop, strategies=["luck"]), "strategies", "luck", "'luck'")
    _raises(lambda: run_one(shop, "luck", 0), "strategy", "luck", "unknown strategy 'luck'")
    _raises(lambda: run_one(shop, "aligned", -1), "seed", -1, "a seed is from 0 to 2**63 - 1")
    _raises(lambda: explain(shop, seed=-1), "seed", -1, "a seed is from 0 to 2**63 - 1, got -1")
    _raises(lambda: explain(shop, seed=1.5), "seed", 1.5, "a seed is a whole number, got 1.5")
    _raises(lambda: decompose(shop, seeds=1), "seeds", 1, "at least 2 seeds")
    _raises(lambda: decompose(shop, base="luck"), "base", "luck", "unknown strategy 'luck'")
    _raises(lambda: decompose(shop, target="efficiency_only"), "target", "efficiency_only", "")


@pytest.mark.parametrize("rng", [-1, 2**64, 1.5, True, "7"])
def test_a_market_refuses_a_bad_seed_before_numpy_does(shop, rng):
    with pytest.raises(UsageError, match=r"^rng: a seed is ") as caught:
        Market(scenario=shop, rng=rng)
    assert caught.value.value is rng


def test_a_population_is_refused_by_decompose_before_it_simulates(shop, monkeypatch):
    import sim.decompose

    monkeypatch.setattr(sim.decompose, "simulate", lambda *a, **k: pytest.fail("simulated"))
    crowd = load_scenario(SHOP, {"population.firms": 3, "firm.learning.gain": 0.0})
    error = _raises(lambda: decompose(crowd, seeds=3), "scenario", 3, "population.firms = 3")
    assert "set population.firms = 1" in str(error)


def test_a_scenario_may_be_given_by_name_or_file():
    by_name = run_experiment(SHOP, seeds=2, periods=False)
    given = run_experiment(load_scenario(SHOP), seeds=2, periods=False)
    assert by_name.runs.equals(given.runs)
    assert Market(scenario=SHOP, rng=3).spec.name == SHOP
    path = resolve_scenario_path(SHOP)  # a file path works as well
    assert explain(SHOP) == explain(path) == explain(str(path))
    with pytest.raises(TypeError, match=r"^scenario: expected a Scenario, a scenario name or a "):
        run_experiment(42)


def test_a_usage_error_crosses_process_boundaries_with_its_value():
    error = UsageError("workers", "expected a whole number >= 1, got 0", 0, "run_sweep")
    back = pickle.loads(pickle.dumps(error))
    assert (back.argument, back.value, back.source, str(back)) == (
        "workers",
        0,
        "run_sweep",
        "run_sweep: workers: expected a whole number >= 1, got 0",
    )
