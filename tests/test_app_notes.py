"""Every scenario's "things to notice", checked on the model: in the market the class opens on
and in the debrief's 30 markets. Parametrised over the classroom's scenarios, so a scenario
added later is checked too (each of its lines needs a ``check``)."""

from __future__ import annotations

import numpy as np
import pytest

from sim.app.notes import check_notes, evaluate, measures, mentioned, typical_market, typicality
from sim.app.state import DEBRIEF_SEEDS, TwinFirms, classroom_scenarios
from sim.scenario import SCENARIO_DIR, ScenarioError, load_scenario
from sim.scenario.schema import NOTICE_MEASURES, check_names

SCENARIOS = list(classroom_scenarios()[0])


@pytest.fixture(scope="module", params=SCENARIOS)
def debrief(request):
    """The 30-market debrief of a scenario with no live change: what the class's debrief shows."""
    scenario = load_scenario(request.param)
    return TwinFirms(scenario, seed=0, baseline=False).debrief(DEBRIEF_SEEDS)


def test_the_class_opens_on_the_most_typical_market(debrief):
    scenario = debrief.scenario
    distance = typicality(debrief)
    best = int(debrief.seeds[int(np.argmin(distance))])
    # classroom_seed is this computed pick; if the model changes, this says the new one
    assert scenario.classroom_seed == best, f"{scenario.name}: classroom_seed should be {best}"
    # typical on every measure the notes mention, and on profit, efficiency, miles and cycling
    assert {"profit_after", "efficiency_after", "miles", "cycling"} <= set(mentioned(scenario))
    assert distance[best] <= np.median(distance)


def test_every_line_to_notice_holds_in_the_class_market_and_in_most_markets(debrief):
    scenario = debrief.scenario
    assert scenario.things_to_notice, f"{scenario.name} has no things to notice"
    for note in check_notes(debrief, scenario.classroom_seed):
        assert note.in_market, (
            f"{scenario.name}: not so in market {scenario.classroom_seed}: "
            f"{note.text!r} ({note.check})"
        )
        assert note.in_most_markets, (
            f"{scenario.name}: holds in only {note.share_of_markets:.0%} of "
            f"{DEBRIEF_SEEDS} markets: {note.text!r} ({note.check})"
        )


def test_every_measure_a_check_may_use_is_computed(debrief):
    values = measures(debrief)
    for firm in debrief.strategy_names:
        assert set(values[firm]) == set(NOTICE_MEASURES)
        for name, array in values[firm].items():
            assert array.shape == (len(debrief.seeds),), name
    first = values[debrief.strategy_names[0]]
    np.testing.assert_array_equal(first["miles"], debrief.miles()[0])
    np.testing.assert_array_equal(first["survived"], debrief.survived()[0])
    alive = debrief.survived()[0]  # profit after the split, as the debrief's, where alive
    np.testing.assert_allclose(first["profit_after"][alive], debrief.profit_after()[0][alive])


def test_checks_compare_measures_elementwise_and_refuse_anything_else():
    values = {"a": {"miles": np.array([1.0, 5.0])}, "b": {"miles": np.array([2.0, 2.0])}}
    assert evaluate("a.miles > b.miles", values).tolist() == [False, True]
    assert evaluate("abs(a.miles - b.miles) <= 1 and not a.miles > 4", values).tolist() == [
        True,
        False,
    ]
    assert evaluate("0 < a.miles < 3", values).tolist() == [True, False]
    for bad, message in (
        ("a.miles >", "not a comparison"),
        ("__import__('os')", "only abs"),
        ("a.speed > 1", "unknown measure 'speed'"),
        ("[a.miles]", "List is not allowed"),
    ):
        with pytest.raises(ValueError, match=message):
            check_names(bad)


def test_a_scenario_with_a_bad_check_is_refused_naming_the_line(tmp_path):
    text = (SCENARIO_DIR / "canteen_stable.toml").read_text()
    bad = text.replace('check = "efficiency_only.efficiency_end', 'check = "silo.efficiency_end', 1)
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    with pytest.raises(ScenarioError, match=r"things_to_notice\[1\]\.check.*unknown firm 'silo'"):
        load_scenario(path)


@pytest.mark.slow
def test_typical_market_runs_the_debrief_itself():
    scenario = load_scenario("canteen_stable")
    assert typical_market(scenario) == scenario.classroom_seed
