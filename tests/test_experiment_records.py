"""`records=`: callers keep only the per-period fields they ask for (issue 22)."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.competition import run_competition
from sim.errors import UsageError
from sim.experiment import (
    IDENTITY_COLUMNS,
    check_records,
    period_fields,
    run_experiment,
    run_one,
    simulate,
)
from sim.paths import SCENARIO_DIR
from sim.scenario import load_scenario

SHIPPED = sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def _full_and_part(scenario, records):
    if scenario.competition is not None:
        return (
            run_competition(scenario, seeds=2),
            run_competition(scenario, seeds=2, records=records),
        )
    return (
        run_experiment(scenario, seeds=2),
        run_experiment(scenario, seeds=2, records=records),
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_kept_fields_equal_the_full_runs_and_the_others_are_absent(name):
    scenario = load_scenario(name)
    full, part = _full_and_part(scenario, ["profit", "config", period_fields(scenario)[-1]])
    identity = [*IDENTITY_COLUMNS, *(["firm"] if scenario.competition else [])]
    # every column a full table has is one `period_fields` names (or says which run it is)
    assert set(full.periods.columns) <= {*period_fields(scenario), *identity}
    kept = [c for c in full.periods.columns if c in {*identity, "profit", "config"}]
    kept += [period_fields(scenario)[-1]]
    assert list(part.periods.columns) == [c for c in full.periods.columns if c in kept]
    pd.testing.assert_frame_equal(part.periods, full.periods[part.periods.columns])
    pd.testing.assert_frame_equal(part.runs, full.runs)  # the runs table does not change


def test_no_fields_keeps_the_identity_columns_only():
    scenario = load_scenario("bakery_gluten_free")
    frame = run_one(scenario, "aligned", 3, records=[])[1]
    assert list(frame.columns) == list(IDENTITY_COLUMNS)
    assert len(frame) == scenario.horizon + 1


def test_a_population_keeps_its_own_fields():
    scenario = load_scenario(
        "bakery_gluten_free", {"population.firms": 20, "firm.learning.gain": 0.0, "horizon": 70}
    )
    assert "distinct_forms" in period_fields(scenario)
    rows = [(scenario, "aligned", 1), (scenario, "efficiency_only", 1)]
    full = simulate(rows).periods
    part = simulate(rows, records=["distinct_forms"]).periods
    assert list(part.columns) == [*IDENTITY_COLUMNS, "distinct_forms"]
    pd.testing.assert_frame_equal(part, full[part.columns])


def test_a_bad_field_names_the_field_and_the_allowed_ones():
    scenario = load_scenario("bakery_gluten_free")
    with pytest.raises(UsageError) as info:
        run_experiment(scenario, seeds=1, records=["profit", "proft"])
    message = str(info.value)
    assert "records" in message and "'proft'" in message
    assert "allowed: efficiency, market_value" in message
    assert "decision_gluten_free_line" in message
    # a mechanism's fields only where the scenario has it
    with pytest.raises(UsageError, match="'market_share'"):
        check_records(scenario, ["market_share"])
    with pytest.raises(UsageError, match="periods is off"):
        run_experiment(scenario, seeds=1, periods=False, records=["profit"])
    with pytest.raises(UsageError, match="'firm'"):
        check_records(scenario, ["firm"])  # a competing market's identity column only


def test_one_name_as_a_string_is_one_field():
    scenario = load_scenario("bakery_gluten_free")
    assert check_records(scenario, "profit") == frozenset({"profit"})
