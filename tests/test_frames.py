"""A firm's log as a DataFrame; configurations decoded into one column per decision, in every
periods table and by the one helper; no column that a DataFrame attribute hides."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from sim.decompose import decompose
from sim.experiment import run_experiment, run_one
from sim.frames import (
    DECISION_PREFIX,
    decision_bits,
    decision_columns,
    decision_names,
    department_of,
    firm_frame,
    shadows_dataframe,
)
from sim.model import Market
from sim.results import load, write_experiment
from sim.scenario import SCENARIO_DIR, load_scenario

SCENARIO_FILES = sorted([*SCENARIO_DIR.glob("*.toml"), *SCENARIO_DIR.glob("validation/*.toml")])


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("bakery_gluten_free", {"horizon": 70})


@pytest.fixture(scope="module")
def result(scenario):
    return run_experiment(scenario, seeds=3)


def bit(configs: pd.Series, i: int) -> np.ndarray:
    """Decision ``i`` by integer division (not the shifts the code uses)."""
    return (configs.to_numpy() // 2**i) % 2


def assert_decisions_are_the_bits_of_config(table: pd.DataFrame, decisions) -> None:
    names = [DECISION_PREFIX + d for d in decisions]
    assert [c for c in table.columns if c.startswith(DECISION_PREFIX)] == names
    for i, name in enumerate(names):
        assert table[name].dtype == np.int8, name
        assert np.array_equal(table[name].to_numpy(), bit(table["config"], i)), name


def test_decision_bits_by_hand():
    bits = decision_bits(np.array([0, 1, 6, 2**4 - 1]), 4)
    assert bits.dtype == np.int8
    assert bits.tolist() == [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [1, 1, 1, 1]]


def test_the_periods_table_has_a_0_1_column_per_decision(scenario, result):
    periods = result.periods
    assert_decisions_are_the_bits_of_config(periods, scenario.decisions)
    assert "market_shift" in periods and "shift" not in periods
    shifted = periods.loc[periods["market_shift"] != "", "period"].unique().tolist()
    assert shifted == [scenario.market.shifts[0].at]
    # the decisions move (a column of constants would pass the bit test by luck less often)
    assert periods.groupby("strategy", observed=True)["miles"].sum().gt(0).all()
    start = periods[periods["period"] == 0]
    for name, value in scenario.firm.initial_decisions.items():
        assert (start[DECISION_PREFIX + name] == value).all()


def test_run_one_and_firm_frame_have_the_same_columns(scenario):
    _, frame = run_one(scenario, "aligned", 4)
    assert_decisions_are_the_bits_of_config(frame, scenario.decisions)
    market = Market(scenario=scenario, strategies=["aligned"], rng=4).run()
    log = firm_frame(market.firms[0])
    assert len(log) == scenario.horizon + 1
    pd.testing.assert_frame_equal(log.drop(columns="strategy"), frame.drop(columns="strategy"))
    bare = firm_frame(market.firms[0], decisions=False)
    assert not [c for c in bare.columns if c.startswith(DECISION_PREFIX)]


def test_decision_columns_is_idempotent_and_decodes_any_table(scenario, result):
    periods = result.periods
    assert decision_columns(periods, scenario) is periods  # already there: unchanged
    bare = periods[[c for c in periods.columns if not c.startswith(DECISION_PREFIX)]]
    decoded = decision_columns(bare, scenario)
    pd.testing.assert_frame_equal(decoded, periods)
    pd.testing.assert_frame_equal(decision_columns(decoded, list(scenario.decisions)), periods)
    # some missing: only those are added, at the end
    names = decision_names(scenario)
    partial = periods.drop(columns=names[:3])
    again = decision_columns(partial, scenario)
    assert list(again.columns) == [*partial.columns, *names[:3]]
    pd.testing.assert_frame_equal(again[list(periods.columns)], periods)
    # another column of configurations, another prefix, any table
    table = pd.DataFrame({"final_config": [5, 0], "large_batches": [1, 0]})
    out = decision_columns(table, scenario, column="final_config", prefix="")
    assert list(out.columns[:2]) == ["final_config", "large_batches"]  # kept where it was
    assert out["automated_ovens"].tolist() == [0, 0]
    assert out["gluten_free_line"].tolist() == [1, 0]


def test_decision_columns_refuses_a_column_that_is_not_the_decision(scenario, result):
    table = pd.DataFrame({"config": [5], "large_batches": [0]})
    with pytest.raises(ValueError, match=r"'large_batches' is already in the table.*prefix"):
        decision_columns(table, scenario, prefix="")
    wrong = result.periods.assign(decision_large_batches=np.int8(1))
    with pytest.raises(ValueError, match="decision_large_batches"):
        decision_columns(wrong, scenario)
    with pytest.raises(KeyError, match="no 'config' column"):
        decision_columns(pd.DataFrame({"period": [0]}), scenario)
    with pytest.raises(TypeError):
        decision_names("large_batches")
    assert set(department_of(scenario).values()) == {d.name for d in scenario.departments}


def test_a_decision_named_like_a_column_or_a_method_is_no_clash(scenario):
    names = dict.fromkeys(scenario.decisions)
    names.update(large_batches="profit", automated_ovens="sample", gluten_free_line="shift")
    data = scenario.model_dump()
    for dep in data["departments"]:
        dep["decisions"] = [names.get(d) or d for d in dep["decisions"]]
    for regime in data["market"]["regimes"]:
        for pref in regime["preferences"]:
            pref["decision"] = names.get(pref["decision"]) or pref["decision"]
    data["firm"]["initial_decisions"] = {
        names.get(d) or d: v for d, v in data["firm"]["initial_decisions"].items()
    }
    from sim.scenario import validate_scenario

    renamed = validate_scenario(data, source="renamed")
    _, frame = run_one(renamed, "aligned", 1)
    assert {"decision_profit", "decision_sample", "decision_shift", "profit"} <= set(frame)
    assert frame["profit"].dtype == float and callable(frame.sample)
    assert_decisions_are_the_bits_of_config(frame, renamed.decisions)


def test_the_written_table_keeps_int8_and_old_folders_are_read_with_the_new_name(result, tmp_path):
    write_experiment(result, tmp_path / "new")
    periods = load(tmp_path / "new")["periods"]
    assert (periods.filter(like=DECISION_PREFIX).dtypes == np.int8).all()
    assert "market_shift" in periods
    old = tmp_path / "old"
    write_experiment(result, old)
    legacy = result.periods.rename(columns={"market_shift": "shift"})
    legacy.to_parquet(old / "periods.parquet")
    read = load(old)["periods"]
    assert "shift" not in read
    assert read["market_shift"].tolist() == result.periods["market_shift"].tolist()


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_no_column_of_the_runs_or_periods_table_is_a_dataframe_attribute(path):
    assert shadows_dataframe("shift") and not shadows_dataframe("market_shift")
    scenario = load_scenario(path)
    if scenario.competition is not None:  # a market of competing firms: its own runner
        from sim.competition import run_competition

        result = run_competition(scenario, seeds=1)
    else:
        result = run_experiment(scenario, seeds=1)
    for table in (result.runs, result.periods, result.markets):
        if table is None:
            continue
        clashes = [c for c in table.columns if shadows_dataframe(c)]
        assert not clashes, f"{path.name}: {clashes}"
    if scenario.population.firms == 1:
        assert_decisions_are_the_bits_of_config(result.periods, scenario.decisions)


def test_no_column_of_a_decomposition_is_a_dataframe_attribute(scenario):
    runs = decompose(scenario, seeds=2).runs
    assert not [c for c in runs.columns if shadows_dataframe(c)]


def test_docs_list_every_column_of_the_periods_table(scenario):
    odd = (SCENARIO_DIR.parent / "docs" / "ODD.md").read_text(encoding="utf-8")
    section = odd.split("### 9.1", 1)[1].split("### 9.2", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_<>]+)` \|", section, flags=re.MULTILINE))
    families = {name.split("<")[0] for name in documented if "<" in name}  # efficiency_ ...
    every_mechanism = load_scenario(
        "bakery_gluten_free",
        {"horizon": 70, "firm.understanding": {}, "firm.engagement": {}},
    )
    for sc in (scenario, every_mechanism):
        periods = run_experiment(sc, seeds=1).periods
        if sc is every_mechanism:
            assert {"understanding_shop", "engagement_shop"} <= set(periods.columns)
        for column in periods.columns:
            family = any(column.startswith(f) and column not in documented for f in families)
            assert column in documented or family, f"docs/ODD.md 9.1 lacks {column!r}"
