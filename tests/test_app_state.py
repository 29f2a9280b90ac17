"""The classroom's twin-firm session, without a browser: live changes, shifts, replay, export."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from sim.app.state import (
    DEFAULT_TWINS,
    ControlError,
    TwinFirms,
    classroom_scenarios,
    firm_labels,
    parse_number,
    parse_seed,
    scaled_costs,
)
from sim.frames import shadows_dataframe
from sim.model import Market
from sim.scenario import SCENARIO_DIR, load_scenario


@pytest.fixture(scope="module")
def bakery():
    return load_scenario("bakery_gluten_free")


def test_classroom_scenarios_are_the_stories_not_the_validation_ones(tmp_path):
    scenarios, broken = classroom_scenarios()
    assert next(iter(scenarios)) == "bakery_gluten_free"
    assert {"bakery_gluten_free", "boutique_online"} <= set(scenarios)
    top_level = {
        p.stem
        for p in SCENARIO_DIR.glob("*.toml")
        if not p.stem.startswith("valid") and load_scenario(p).competition is None
    }
    assert set(scenarios) | {b.removesuffix(".toml") for b in broken} == top_level
    assert not any(name.startswith("validation") for name in scenarios)
    for scenario in scenarios.values():  # each has a story for a class
        assert scenario.story.strip() and scenario.things_to_notice and scenario.things_to_try

    (tmp_path / "validation_x.toml").write_text("name = 'x'")
    (tmp_path / "broken.toml").write_text("name = [")
    (tmp_path / "bakery.toml").write_text((SCENARIO_DIR / "bakery_gluten_free.toml").read_text())
    found, failed = classroom_scenarios(tmp_path)
    assert list(found) == ["bakery_gluten_free"]
    assert list(failed) == ["broken.toml"] and "malformed TOML" in failed["broken.toml"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1.7", "must be from 0 to 1, got 1.7"),
        ("abc", "expected a number from 0 to 1, got 'abc'"),
        ("", "expected a number from 0 to 1, got ''"),
        ("nan", "must be from 0 to 1"),
        ("-0.1", "must be from 0 to 1, got -0.1"),
        (True, "expected a number"),
    ],
)
def test_bad_numbers_are_refused_with_what_is_allowed(text, message):
    with pytest.raises(ControlError, match=message.replace("(", r"\(")):
        parse_number(text, what="alignment coupling", low=0.0, high=1.0)


def test_good_numbers_are_read_with_a_point_or_a_comma():
    assert parse_number(" 0,3 ", what="x", low=0, high=1) == pytest.approx(0.3)
    assert parse_number(1, what="x", low=0, high=1) == 1.0
    assert parse_seed(" 12 ") == 12
    for bad in ("1.5", "-1", "x", str(2**32)):
        with pytest.raises(ControlError, match="seed"):
            parse_seed(bad)


def test_twins_are_the_market_model_with_common_random_numbers(bakery):
    twins = TwinFirms(bakery, seed=3)
    plain = Market(scenario=bakery, strategies=list(DEFAULT_TWINS), rng=3)
    for _ in range(25):
        assert twins.step()
        plain.step()
    for mine, theirs in zip(twins.firms, plain.firms, strict=True):
        np.testing.assert_array_equal(mine.log.ints["config"], theirs.log.ints["config"])
        np.testing.assert_array_equal(mine.log.floats["profit"], theirs.log.floats["profit"])
    assert twins.period == 25 and twins.labels == ("efficiency only", "aligned")
    assert twins.firm_view(0).efficiency == pytest.approx(
        plain.firms[0].log.floats["efficiency"][25]
    )


def test_a_live_change_takes_effect_at_the_next_period_and_is_recorded(bakery):
    twins = TwinFirms(bakery, seed=1)
    for _ in range(10):
        twins.step()
    before = twins.firms[1].log.floats["profit"][:11].copy()
    spec = twins.change_firm(1, alpha="0.2", sensing=0.0, coordination="sequential")
    assert (spec.alpha, spec.sensing, spec.coordination) == (0.2, 0.0, "sequential")
    assert [d.alpha for d in twins.firms[1].departments] == [0.2] * 4
    assert twins.firms[1].coordination_cost == pytest.approx(0.5 + 2.0 * 0.2)
    assert twins.period == 10  # no reset
    twins.step()
    np.testing.assert_array_equal(twins.firms[1].log.floats["profit"][:11], before)
    change = twins.interventions[-1]
    assert (change.period, change.kind, change.firm) == (10, "strategy", 1)
    table = twins.periods_table()
    aligned = table[table["firm"] == "aligned"].set_index("period")
    # the settings each period was played with: the old ones up to 10, the new ones from 11
    assert aligned.loc[10, "alpha"] == pytest.approx(0.7)
    assert aligned.loc[10, "coordination"] == "hierarchical"
    assert aligned.loc[11, "alpha"] == pytest.approx(0.2)
    assert aligned.loc[11, "coordination"] == "sequential"


def test_a_bad_value_changes_nothing(bakery):
    twins = TwinFirms(bakery)
    before = twins.settings(1)
    for kwargs in ({"alpha": "1.7"}, {"alpha": "abc"}, {"sensing": 2}, {"coordination": "chaos"}):
        with pytest.raises(ControlError):
            twins.change_firm(1, **kwargs)
    with pytest.raises(ControlError, match="coordination cost"):
        twins.change_cost_factor("-1")
    assert twins.settings(1) == before and twins.interventions == []
    assert twins.cost_factor == 1.0


def test_coordination_costs_scale_for_both_firms(bakery):
    twins = TwinFirms(bakery)
    aligned_cost = twins.firms[1].coordination_cost
    twins.change_cost_factor("3")
    assert twins.firms[1].coordination_cost == pytest.approx(3 * aligned_cost)
    assert twins.firms[0].coordination_cost == 0.0  # decentralized, alpha 0, no sensing
    costs = scaled_costs(bakery.costs, 0.5)
    assert costs.alignment == pytest.approx(bakery.costs.alignment / 2)
    assert costs.coordination["hierarchical"] == pytest.approx(0.5)


def test_the_shift_button_moves_customers_at_the_next_period(bakery):
    twins = TwinFirms(bakery)
    for _ in range(12):
        twins.step()
    label = twins.shift_now()
    assert "health_conscious" in label
    assert (13, label) in twins.scheduled_shifts()
    assert twins.shifts() == []
    twins.step()
    assert twins.shifts() == [(13, label)]
    assert twins.market.environment.regime == "health_conscious"
    assert twins.wanted_values()[bakery.decision_index["gluten_free_line"]] == 1


def test_a_finished_run_stops_and_restart_keeps_the_settings(bakery):
    twins = TwinFirms(bakery, seed=2)
    twins.change_firm(0, alpha=0.5)
    twins.replay([])
    assert twins.finished and twins.period == bakery.horizon
    assert not twins.step()
    with pytest.raises(ControlError, match="reset"):
        twins.shift_now()
    again = twins.restart()
    assert again.period == 0 and again.seed == 2
    assert again.settings(0).alpha == 0.5 and again.interventions == []
    other = twins.restart(strategies=["aligned", "aligned"], seed=5)
    assert other.labels == ("aligned (1)", "aligned (2)") and other.seed == 5
    assert other.settings(0).alpha == 0.7


def test_unknown_strategies_are_refused(bakery):
    with pytest.raises(ControlError, match="unknown strategy 'lucky'"):
        TwinFirms(bakery, strategies=("efficiency_only", "lucky"))
    with pytest.raises(ControlError, match="exactly two"):
        TwinFirms(bakery, strategies=("aligned",))
    assert firm_labels(("efficiency_only", "efficiency_only"))[1] == "efficiency only (2)"


def test_changed_decisions_are_the_bits_that_flipped(bakery):
    twins = TwinFirms(bakery, seed=4)
    assert twins.changed_decisions(0) == set()
    for _ in range(30):
        twins.step()
        for i in range(2):
            configs = twins.firms[i].log.ints["config"]
            flipped = int(configs[twins.period]) ^ int(configs[twins.period - 1])
            assert twins.changed_decisions(i) == {
                b for b in range(len(bakery.decisions)) if flipped >> b & 1
            }


def test_the_csv_holds_both_firms_every_period_so_far(bakery):
    twins = TwinFirms(bakery)
    for _ in range(7):
        twins.step()
    frame = pd.read_csv(io.BytesIO(twins.to_csv()))
    assert len(frame) == 2 * 8
    assert set(frame["firm"]) == {"efficiency only", "aligned"}
    for column in ("period", "efficiency", "market_value", "profit", "cash", "alpha"):
        assert column in frame.columns
    assert frame["period"].max() == 7
    assert frame["market_shift"].isna().all()  # no shift in periods 0-7 (empty in the CSV)
    assert not [c for c in frame.columns if shadows_dataframe(c)]
    for i, name in enumerate(bakery.decisions):
        assert frame[f"decision_{name}"].tolist() == ((frame["config"] // 2**i) % 2).tolist()


def test_the_debrief_replays_the_run_on_each_seed(bakery):
    twins = TwinFirms(bakery, seed=2)
    for _ in range(20):
        twins.step()
    twins.shift_now()
    twins.change_firm(0, alpha=0.6)
    twins.replay([])  # play on to the end
    debrief = twins.debrief(seeds=[2, 7, 8])
    assert debrief.data["profit"].shape == (2, 3, bakery.horizon + 1)
    assert 21 in debrief.shift_periods and debrief.split == 21
    # seed 2 is this very run: the replay reproduces it exactly
    for i in range(2):
        np.testing.assert_array_equal(
            debrief.data["profit"][i, 0], twins.firms[i].log.floats["profit"]
        )
    # another seed is another market
    assert not np.array_equal(debrief.data["profit"][0, 1], debrief.data["profit"][0, 2])
    verdict = debrief.verdict()
    assert "of 3 markets" in verdict and "After period 21" in verdict
    wins = int((debrief.profit_after()[1] > debrief.profit_after()[0]).sum())
    assert f"in {wins} of 3" in verdict


def test_the_debrief_summary_shows_miles_and_cycling_beside_profit_and_survival(bakery):
    twins = TwinFirms(bakery, seed=2, baseline=False)
    result = twins.debrief(seeds=4)
    rows = dict(result.summary(seed=2))
    keys = " | ".join(rows)
    for words in ("profit after", "still in business", "miles sailed", "sailing in circles"):
        assert words in keys
    miles = result.miles()
    assert rows["your market (2): miles sailed"] == tuple(f"{v:.0f}" for v in miles[:, 2])
    assert rows["miles sailed, median of 4"][0] == f"{np.median(miles[0]):.0f}"
    assert rows["sailing in circles at the end, of 4"][1] == str(int(result.cycled()[1].sum()))
    gap = result.profit_after()[1] - result.profit_after()[0]
    rank = int((gap < gap[2]).sum()) + 1
    (ranked,) = [v for k, v in rows.items() if k.startswith("your market's profit gap")]
    assert ranked == (f"{gap[2]:.1f}", f"{rank} of 4 from the smallest")
    assert all(not k.startswith("your market") for k, _ in result.summary(seed=99))


def test_the_debrief_is_the_experiment_path_and_equals_each_market_replayed():
    # the debrief runs all seeds through run_experiment (scheduled changes), and gives for
    # each seed exactly what replaying the class's changes in that market gives
    sc = load_scenario("bakery_gluten_free")
    twins = TwinFirms(sc, seed=3)
    twins.replay([], until=20)
    twins.change_firm(0, alpha=0.7)
    twins.replay([], until=30)
    twins.shift_now()
    twins.replay([], until=40)
    twins.change_cost_factor(2.0)
    twins.replay([])
    debrief = twins.debrief(seeds=range(4))
    for k, seed in enumerate(range(4)):
        alone = TwinFirms(sc, seed=seed, baseline=False)
        alone.replay(twins.interventions)
        for i, firm in enumerate(alone.firms):
            for column in ("profit", "efficiency", "market_value"):
                np.testing.assert_array_equal(debrief.data[column][i, k], firm.log.floats[column])
            np.testing.assert_array_equal(
                debrief.data["miles"][i, k], np.cumsum(firm.log.ints["miles"])
            )


def test_one_departments_alignment_changes_live_and_replays_from_the_record():
    scenario = load_scenario("hospitality_eco_tourism")
    twins = TwinFirms(scenario)
    for _ in range(10):
        twins.step()
    spec = twins.change_firm(1, **{"alpha.rooms": 0.2})
    names = [d.name for d in scenario.departments]
    assert spec.alpha == {n: (0.2 if n == "rooms" else 0.7) for n in names}
    assert [d.alpha for d in twins.firms[1].departments] == list(scenario.alpha_of(spec))
    assert twins.label_now(1) == "aligned, alignment of rooms 0.2 from period 11"
    twins.change_firm(1, alpha=0.5)  # the whole firm's coupling replaces the department's
    assert twins.settings(1).alpha == 0.5
    assert twins.label_now(1) == "aligned, alignment 0.5 from period 11"
    for _ in range(10):
        twins.step()
    twins.change_firm(1, **{"alpha.kitchen": 0.9})
    for _ in range(10):
        twins.step()
    again = TwinFirms(scenario).replay(twins.interventions, until=twins.period)
    for column in ("efficiency", "market_value", "profit"):
        np.testing.assert_array_equal(
            again.firms[1].log.floats[column], twins.firms[1].log.floats[column]
        )
    with pytest.raises(ControlError, match=r"alpha\.<department> \(rooms, kitchen"):
        twins.change_firm(1, **{"alpha.lobby": 0.5})
    with pytest.raises(ControlError, match="alignment coupling of rooms: must be from 0 to 1"):
        twins.change_firm(1, **{"alpha.rooms": 1.5})


def test_communication_changes_live_and_raises_understanding():
    scenario = load_scenario("restaurant_kitchen_tech")
    twins = TwinFirms(scenario)
    for _ in range(12):
        twins.step()
    assert twins.firm_view(1).understanding is not None
    twins.change_firm(1, communication=0.3)
    for _ in range(12):
        twins.step()
    run, base = twins.firms[1], twins.baseline.firms[1]
    understood = np.mean([d.understanding for d in run.departments])
    assert understood == twins.firm_view(1).understanding
    assert understood > np.mean([d.understanding for d in base.departments])
    assert run.coordination_cost > base.coordination_cost  # explaining costs staff time
    # a scenario without the mechanisms shows neither
    bakery = TwinFirms(load_scenario("bakery_gluten_free"))
    assert bakery.firm_view(0).understanding is None and bakery.firm_view(0).engagement is None


def test_every_thing_to_try_is_done_from_the_controls_or_says_it_needs_the_file():
    import re

    for name, scenario in classroom_scenarios()[0].items():
        departments = {d.name for d in scenario.departments}
        doable = [t for t in scenario.things_to_try if not t.startswith("In the scenario file:")]
        assert doable, f"{name}: nothing to try from the controls"
        for text in doable:
            # no scenario key to edit (a dotted name or a key = value)
            assert "=" not in text and not re.search(r"\b[a-z_]+\.[a-z_]+\b", text), (name, text)
            # a control the page has: a firm's, the Controls', the shift button, the strategy
            assert re.search(r"Firm [12]|Controls|Shift the market now|Make firm 2", text), text
            for department in re.findall(r"per department: (\w+) [\d.]+", text):
                assert department in departments, (name, text)
            if "communication" in text:
                assert scenario.firm.understanding is not None, (name, text)
