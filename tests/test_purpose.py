"""Purpose, a second objective besides profit (`[purpose]`, docs/ODD.md section 7.23): the
designed impact table, customers who value a low impact, regulation's levy, a strategy that
weighs it, the outputs and the trade-off table. Off (no section, weight 0), nothing changes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.experiment import run_experiment
from sim.explain import explain
from sim.landscape import configurations
from sim.market import Preference, preference_fit
from sim.model import Market
from sim.purpose import impact_range, impact_table, normalised_impact, with_valued_purpose
from sim.scenario import load_scenario
from sim.scenario.errors import ScenarioError
from sim.stats import pareto_table

BAKERY = "bakery_gluten_free"
PURPOSE = {
    "name": "emissions",
    "unit": "t CO2e per month",
    "base": 10.0,
    "impact": {"automated_ovens": 6.0, "large_batches": 3.0, "local_organic_sourcing": -4.0},
}


def _scenario(purpose: dict | None = None, **overrides):
    given = {"purpose": {**PURPOSE, **(purpose or {})}} if purpose is not None else {}
    return load_scenario(BAKERY, {"horizon": 80, "firm.initial_cash": 1e6, **given, **overrides})


def test_impact_is_base_plus_the_impact_of_each_decision_on():
    sc = _scenario({})
    impact = impact_table(sc)
    configs = configurations(len(sc.decisions))
    bit = sc.decision_index
    expected = (
        10.0
        + 6.0 * ((configs >> bit["automated_ovens"]) & 1)
        + 3.0 * ((configs >> bit["large_batches"]) & 1)
        - 4.0 * ((configs >> bit["local_organic_sourcing"]) & 1)
    )
    np.testing.assert_array_equal(impact, expected)
    assert impact_range(sc) == (6.0, 19.0) == (impact.min(), impact.max())
    norm = normalised_impact(sc, impact)
    assert norm.min() == 0.0 and norm.max() == 1.0
    assert impact_table(_scenario()) is None  # no [purpose]: none


def test_customers_who_value_purpose_count_a_low_impact_among_their_wishes():
    sc = _scenario({"valued_by": {"health_conscious": 2.0}})
    n = len(sc.decisions)
    fits = {
        r.name: preference_fit(
            [Preference(sc.decision_index[p.decision], p.value, p.weight) for p in r.preferences],
            n,
        )
        for r in sc.market.regimes
    }
    valued = with_valued_purpose(sc, fits)
    regime = next(r for r in sc.market.regimes if r.name == "health_conscious")
    total = sum(p.weight for p in regime.preferences)
    low = 1.0 - normalised_impact(sc, impact_table(sc))
    np.testing.assert_allclose(
        valued["health_conscious"], (total * fits["health_conscious"] + 2.0 * low) / (total + 2.0)
    )
    assert valued["classic"] is fits["classic"]  # a regime not named keeps its fit
    assert valued["health_conscious"].min() >= 0 and valued["health_conscious"].max() <= 1


def test_a_section_nobody_weighs_changes_nothing():
    """[purpose] without valued_by, levy or a strategy weighing it: the same numbers, bit for bit,
    plus the columns impact and levy."""
    off = run_experiment(_scenario(), seeds=4)
    on = run_experiment(_scenario({}), seeds=4)
    assert {"impact", "levy"} <= set(on.periods) and "impact" not in off.periods
    assert {"impact_post_shift", "levy_post_shift"} <= set(on.runs)
    pd.testing.assert_frame_equal(on.periods[off.periods.columns], off.periods)
    pd.testing.assert_frame_equal(on.runs[off.runs.columns], off.runs)
    assert (on.periods["levy"].dropna() == 0).all()


def test_regulation_levies_money_per_unit_above_the_threshold():
    free = run_experiment(_scenario({}), seeds=3)
    taxed = run_experiment(_scenario({"levy": 0.5, "threshold": 12.0}), seeds=3)
    f, t = free.periods, taxed.periods
    np.testing.assert_array_equal(f["config"], t["config"])  # the firms do not weigh it
    levy = np.where(t["period"] > 0, 0.5 * np.maximum(0.0, t["impact"] - 12.0), 0.0)
    np.testing.assert_allclose(t["levy"], levy)
    np.testing.assert_allclose(f["profit"] - t["profit"], levy, atol=1e-12)
    assert levy.sum() > 0  # some firm was above the threshold: the check is not vacuous
    impact = impact_table(_scenario({}))
    np.testing.assert_array_equal(t["impact"], impact[t["config"]])


def test_a_purpose_driven_strategy_lowers_its_impact():
    """An aligned firm weighing purpose fully ends at a lower impact than the aligned firm, on
    every one of 10 seeds' means together (paired), and a silo (alpha 0) does not weigh it."""
    sc = _scenario({}, **{"strategies.aligned.purpose": 1.0})
    driven = run_experiment(sc, strategies=["aligned"], seeds=10).runs
    plain = run_experiment(_scenario({}), strategies=["aligned"], seeds=10).runs
    gap = plain["impact_post_shift"].to_numpy() - driven["impact_post_shift"].to_numpy()
    assert gap.mean() > 0 and (gap >= 0).mean() >= 0.8
    silo = _scenario({}, **{"strategies.efficiency_only.purpose": 1.0})
    a = run_experiment(silo, strategies=["efficiency_only"], seeds=3).periods
    b = run_experiment(_scenario({}), strategies=["efficiency_only"], seeds=3).periods
    np.testing.assert_array_equal(a["config"], b["config"])


def test_bad_purpose_input_names_the_field_and_what_is_allowed():
    with pytest.raises(ScenarioError, match=r"strategies\.aligned\.purpose: .*\[purpose\]"):
        _scenario(**{"strategies.aligned.purpose": 0.5})
    with pytest.raises(ScenarioError, match=r"purpose\.impact: unknown decision 'solar'; allowed"):
        _scenario({"impact": {"solar": -1.0}})
    with pytest.raises(ScenarioError, match=r"purpose\.impact: every impact is 0"):
        _scenario({"impact": {"automated_ovens": 0.0}})
    with pytest.raises(ScenarioError, match=r"purpose\.valued_by: unknown regime 'green'.*classic"):
        _scenario({"valued_by": {"green": 1.0}})
    with pytest.raises(ScenarioError, match=r"purpose\.levy"):
        _scenario({"levy": -1.0})
    with pytest.raises(ScenarioError, match=r"strategies\.aligned\.purpose"):
        _scenario({}, **{"strategies.aligned.purpose": 1.5})


def test_the_pareto_table_marks_the_strategies_no_other_beats_on_both():
    runs = pd.DataFrame(
        {
            "strategy": ["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["d"] * 3,
            "profit_post_shift": [5.0, 6, 7, 3, 4, 5, 4, 4, 4, 5, 6, 7],
            "impact_post_shift": [9.0, 10, 11, 4, 5, 6, 8, 8, 8, 10, 11, 12],
        }
    )
    table = pareto_table(runs).set_index("strategy")
    # a: most profit; b: least impact; c: beaten by a on profit, by b on impact and profit;
    # d: as much profit as a but more impact
    assert table["non_dominated"].to_dict() == {"a": True, "b": True, "c": False, "d": False}
    assert table.loc["a", "profit"] == 6.0 and table.loc["b", "impact"] == 5.0
    assert table.loc["a", "profit_low"] < 6.0 < table.loc["a", "profit_high"]
    assert table.loc["c", "profit_low"] == table.loc["c", "profit_high"] == 4.0
    assert (table["n"] == 3).all()


def test_explain_describes_purpose_and_sensing_by_department():
    sc = _scenario(
        {"valued_by": {"health_conscious": 2.0}, "levy": 0.5, "threshold": 12.0},
        **{"strategies.aligned.purpose": 0.4},
    )
    text = explain(sc)
    assert "Purpose: emissions (t CO2e per month) is 10 plus" in text
    assert "automated ovens +6" in text and "from 6 to 19 across configurations" in text
    assert "health_conscious (weight 2)" in text and "levies 0.5" in text
    assert "aligned (0.4)" in text and "purpose weight 0.4" in text
    table = {"production": 0.3, "purchasing": 0.3, "marketing": 0.3, "shop": 0.9}
    text = explain(load_scenario(BAKERY, {"strategies.aligned.sensing": table}))
    assert "sensing production 0.3/purchasing 0.3/marketing 0.3/shop 0.9" in text
    assert "Sensing by department" in text


def test_a_market_with_purpose_records_the_impact_of_each_firm():
    market = Market(scenario=_scenario({}), strategies=["aligned"], rng=1).run()
    frame = market.firms[0].log.to_frame()
    impact = impact_table(market.spec)
    np.testing.assert_array_equal(frame["impact"], impact[frame["config"]])


def test_the_pareto_figure_fills_the_front_and_run_writes_it(tmp_path, capsys):
    from sim.cli import main
    from sim.plots import pareto_figure

    runs = pd.DataFrame(
        {
            "strategy": ["a", "a", "b", "b"],
            "profit_post_shift": [5.0, 6.0, 3.0, 4.0],
            "impact_post_shift": [9.0, 10.0, 12.0, 13.0],
        }
    )
    fig = pareto_figure(pareto_table(runs), impact_unit="t")
    lines = fig.axes[0].get_lines()
    faces = [line.get_markerfacecolor() for line in lines if line.get_marker() == "o"]
    assert len(faces) == 2 and faces[1] == "white" and faces[0] != "white"  # b is dominated
    assert "(t)" in fig.axes[0].get_xlabel()
    overrides = tmp_path / "farm.toml"
    text = (Path(__file__).parents[1] / "scenarios" / "sustainable_agriculture.toml").read_text()
    overrides.write_text(text.replace("horizon = 120", "horizon = 40"), encoding="utf-8")
    assert main(["run", str(overrides), "--seeds", "2", "--out", str(tmp_path / "out")]) == 0
    printed = capsys.readouterr().out
    assert "Profit and greenhouse-gas emissions from period 36 on" in printed
    assert "purpose_driven: profit" in printed
    table = pd.read_csv(tmp_path / "out" / "pareto.csv")
    assert list(table["strategy"]) == ["efficiency_only", "aligned", "purpose_driven"]
    assert (tmp_path / "out" / "pareto.png").stat().st_size > 0
