"""Designed effects (issue 13): stated in business terms, validated by name, added to the random
landscapes exactly where their conditions hold, and nothing else changes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.app.live import decisions_table
from sim.app.state import TwinFirms
from sim.experiment import run_experiment, simulate
from sim.explain import explain
from sim.model import Market
from sim.scenario import ScenarioError, load_scenario, scenario_to_dict, validate_scenario

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEPARTMENTS = {"marketing": ["campaigns", "social", "newsletter"], "sales": ["scoring", "phone"]}
DECISIONS = [d for decisions in DEPARTMENTS.values() for d in decisions]
FLAGSHIPS = ("bakery_gluten_free", "boutique_online", "canteen_stable")
OWNER = {d: dep for dep, decisions in DEPARTMENTS.items() for d in decisions}


def _small(effects: list[dict] | None = None, **market) -> dict:
    """A small scenario: two departments, five decisions, two regimes."""
    return {
        "name": "silo",
        "horizon": 30,
        "departments": [{"name": k, "decisions": v} for k, v in DEPARTMENTS.items()],
        "market": {
            "regimes": [
                {"name": "classic", "preferences": [{"decision": "phone", "value": 1}]},
                {"name": "digital", "preferences": [{"decision": "social", "value": 1}]},
            ],
            **market,
        },
        "effects": effects or [],
    }


FLOOD = {
    "description": "Automated campaigns flood sales with leads",
    "when": {"marketing.campaigns": 1},
    "unless": {"sales.scoring": 1},
    "efficiency": {"marketing": 0.15, "sales": -0.2},
}


def _bit(config: int, decision: str) -> int:
    return config >> DECISIONS.index(decision) & 1


def _holds(effect: dict, config: int) -> bool:
    """The test's own reading of an effect's conditions (not the model's)."""

    def value(key: str) -> int:
        return _bit(config, key.rpartition(".")[2])

    return all(value(k) == v for k, v in effect["when"].items()) and not any(
        value(k) == v for k, v in effect.get("unless", {}).items()
    )


# ---- validation: one line naming the field


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"when": {"marketing.campaign": 1}}, "effects[0].when", "unknown decision 'campaign'"),
        ({"when": {"ops.campaigns": 1}}, "effects[0].when", "unknown department 'ops'"),
        ({"when": {"sales.campaigns": 1}}, "effects[0].when", "a decision of marketing, not"),
        ({"unless": {"nothing": 1}}, "effects[0].unless", "unknown decision 'nothing'"),
        ({"when": {"campaigns": 2}}, "effects[0].when.campaigns", "Input should be 0 or 1"),
        ({"when": {"campaigns": True}}, "effects[0].when.campaigns", "expected 0 or 1, got true"),
        ({"when": {}}, "effects[0].when", "give at least one decision"),
        ({"unless": {"campaigns": 0}}, "effects[0].unless", "named twice (in when and unless)"),
        (
            {"when": {"campaigns": 1, "marketing.campaigns": 1}},
            "effects[0].when",
            "named twice (in when)",
        ),
        ({"efficiency": {"ops": 0.1}}, "effects[0].efficiency", "unknown department 'ops'"),
        ({"efficiency": {"sales": -1.5}}, "effects[0].efficiency.sales", "greater than or equal"),
        ({"efficiency": {"sales": 1.01}}, "effects[0].efficiency.sales", "less than or equal"),
        ({"efficiency": {"sales": "0.1"}}, "effects[0].efficiency.sales", "expected a number"),
        ({"market_value": {"online": 0.1}}, "effects[0].market_value", "unknown regime 'online'"),
        ({"market_value": {"digital": 2}}, "effects[0].market_value.digital", "less than"),
        ({"efficiency": {}}, "effects[0]", "changes efficiency or market_value"),
        ({"colour": "red"}, "effects[0].colour", "unknown field 'colour'; allowed: description"),
    ],
)
def test_a_bad_effect_is_one_line_naming_the_field(change, field, message):
    with pytest.raises(ScenarioError) as info:
        validate_scenario(_small([{**FLOOD, **change}]), source="silo.toml")
    assert info.value.field == field, str(info.value)
    assert message in info.value.message
    assert str(info.value).startswith(f"silo.toml: {field}: ") and "\n" not in str(info.value)


def test_a_market_value_effect_needs_a_preference_part():
    effect = {"when": {"social": 1}, "market_value": {"digital": 0.1}}
    validate_scenario(_small([effect], rho=0.9))
    with pytest.raises(ScenarioError, match=r"effects\[0\].market_value: market.rho is 1"):
        validate_scenario(_small([effect], rho=1.0))


def test_conditions_may_be_written_with_or_without_quotes(tmp_path):
    """`{ marketing.campaigns = 1 }` is a table in a table to TOML: read as the quoted key."""
    lines = [
        'name = "silo"',
        *(f'[[departments]]\nname = "{k}"\ndecisions = {v!r}' for k, v in DEPARTMENTS.items()),
        "[[market.regimes]]",
        'name = "classic"',
        'preferences = [{ decision = "phone", value = 1 }]',
        "[[effects]]",
        "when = { marketing.campaigns = 1, phone = 0 }",
        'unless = { "sales.scoring" = 1 }',
        "efficiency = { sales = -0.2 }",
    ]
    path = tmp_path / "silo.toml"
    path.write_text("\n".join(lines).replace("'", '"'), encoding="utf-8")
    effect = load_scenario(path).effects[0]
    assert effect.when == {"marketing.campaigns": 1, "phone": 0}
    assert effect.unless == {"sales.scoring": 1}
    again = validate_scenario(scenario_to_dict(load_scenario(path)))  # as a manifest holds it
    assert again.effects == load_scenario(path).effects


# ---- the tables: exactly the stated amounts where the conditions hold


@st.composite
def effects(draw, max_size: int = 3, market_value: bool = False) -> list[dict]:
    amount = st.floats(-1, 1, allow_nan=False).map(lambda x: round(x, 3))
    found = []
    for _ in range(draw(st.integers(1, max_size))):
        named = draw(st.lists(st.sampled_from(DECISIONS), min_size=1, max_size=4, unique=True))
        split = draw(st.integers(1, len(named)))

        def key(d: str) -> str:
            return f"{OWNER[d]}.{d}" if draw(st.booleans()) else d

        effect = {
            "when": {key(d): draw(st.sampled_from([0, 1])) for d in named[:split]},
            "unless": {key(d): draw(st.sampled_from([0, 1])) for d in named[split:]},
            "efficiency": {
                dep: draw(amount)
                for dep in draw(st.lists(st.sampled_from(list(DEPARTMENTS)), unique=True))
            },
        }
        if market_value:
            regimes = draw(st.lists(st.sampled_from(["classic", "digital"]), unique=True))
            effect["market_value"] = {r: draw(amount) for r in regimes}
        if not effect["efficiency"] and not effect.get("market_value"):
            effect["efficiency"] = {"sales": draw(amount)}
        found.append(effect)
    return found


@SETTINGS
@given(stated=effects(), seed=st.integers(0, 2**32 - 1))
def test_a_designed_effect_changes_exactly_the_efficiencies_it_names_by_the_amount_it_states(
    stated, seed
):
    base = Market(scenario=validate_scenario(_small()), strategies=[], rng=seed)
    market = Market(scenario=validate_scenario(_small(stated)), strategies=[], rng=seed)
    before, after = base.department_efficiency, market.department_efficiency
    departments = list(DEPARTMENTS)
    expected = np.zeros_like(before)
    for config in range(before.shape[0]):
        for effect in stated:
            if _holds(effect, config):
                for department, amount in effect["efficiency"].items():
                    expected[config, departments.index(department)] += amount
    unclipped = (before + expected >= 0) & (before + expected <= 1)
    np.testing.assert_allclose(
        after[unclipped] - before[unclipped], expected[unclipped], atol=1e-12
    )
    # where the sum leaves [0, 1], the table is kept at the bound
    np.testing.assert_array_equal(after[~unclipped], np.clip(before + expected, 0, 1)[~unclipped])
    named = {d for effect in stated for d in effect["efficiency"]}
    for d, department in enumerate(departments):
        if department not in named:
            assert np.array_equal(after[:, d], before[:, d])  # bit for bit
    # the market itself is untouched by efficiency effects, and so is the draw of the rest
    assert np.array_equal(base.environment.basis, market.environment.basis) or any(
        e.get("market_value") for e in stated
    )
    np.testing.assert_array_equal(base.efficiency, base.department_efficiency @ [0.6, 0.4])


@SETTINGS
@given(stated=effects(market_value=True), seed=st.integers(0, 2**32 - 1), rho=st.floats(0, 0.9))
def test_a_market_value_effect_changes_market_value_in_its_regime_by_the_amount_it_states(
    stated, seed, rho
):
    base = Market(scenario=validate_scenario(_small(rho=rho)), strategies=[], rng=seed)
    market = Market(scenario=validate_scenario(_small(stated, rho=rho)), strategies=[], rng=seed)
    for regime in ("classic", "digital"):
        fit = base.environment.regimes[regime]
        expected = np.array(
            [
                sum(e.get("market_value", {}).get(regime, 0.0) for e in stated if _holds(e, config))
                for config in range(fit.size)
            ]
        )
        # market value with customers fully in the regime: (1 - rho) * fit + rho * rugged
        rugged = base.environment.basis[-1]
        value_before = (1 - rho) * fit + rho * rugged
        value_after = (1 - rho) * market.environment.regimes[regime] + rho * rugged
        unclipped = (fit + expected / (1 - rho) >= 0) & (fit + expected / (1 - rho) <= 1)
        np.testing.assert_allclose(
            value_after[unclipped] - value_before[unclipped], expected[unclipped], atol=1e-12
        )
        assert np.all((value_after >= 0) & (value_after <= 1))
        if not expected.any():
            assert np.array_equal(market.environment.regimes[regime], fit)


def test_market_value_effects_follow_the_regime_through_shifts_and_into_beliefs():
    effect = {"when": {"social": 1}, "market_value": {"digital": -0.1}}
    shifts = [{"kind": "gradual", "at": 5, "to": "digital", "duration": 10}]
    with_effect = validate_scenario(_small([effect], rho=0.2, shifts=shifts))
    without = validate_scenario(_small(rho=0.2, shifts=shifts))
    social = np.array([_bit(c, "social") for c in range(2 ** len(DECISIONS))], dtype=bool)
    # digital's fit is 1 where social = 1: a change of -0.1 / 0.8 is never clipped
    markets = [Market(scenario=s, strategies=["aligned"], rng=7) for s in (with_effect, without)]
    seen = []
    for _ in range(20):
        for m in markets:
            m.step()
        share = markets[0].environment.regime_weights.get("digital", 0.0)
        diff = markets[0].market_value - markets[1].market_value
        np.testing.assert_allclose(diff[social], -0.1 * share, atol=1e-12)
        np.testing.assert_allclose(diff[~social], 0.0, atol=1e-12)
        seen.append(share)
    assert seen[0] == 0 and 0 < seen[8] < 1 and seen[-1] == 1  # before, during, after the blend
    # the aligned firm senses the effect as part of the regime: its belief converges to the truth
    firm = markets[0].firms[0]
    assert np.abs(firm.belief - markets[0].market_value).max() < 0.05
    assert np.abs(firm.belief[social] - markets[1].market_value[social]).min() > 0.05


def test_an_effect_on_a_regime_acts_when_turbulence_brings_customers_there():
    effect = {"when": {"social": 1}, "market_value": {"digital": -0.1}}
    turbulence = [{"kind": "turbulence", "probability": 0.2}]
    a = Market(scenario=validate_scenario(_small([effect], shifts=turbulence)), rng=3)
    b = Market(scenario=validate_scenario(_small(shifts=turbulence)), rng=3)
    social = np.array([_bit(c, "social") for c in range(2 ** len(DECISIONS))], dtype=bool)
    regimes = set()
    for _ in range(30):
        a.step(), b.step()
        regime = a.environment.regime
        regimes.add(regime)
        diff = a.market_value - b.market_value
        np.testing.assert_allclose(diff[social], -0.1 if regime == "digital" else 0.0, atol=1e-12)
    assert regimes == {"classic", "digital"}  # turbulence visited both on this seed


# ---- no effects, or effects of nothing: the numbers as before


@pytest.mark.parametrize("name", FLAGSHIPS)
def test_effects_of_zero_give_bit_for_bit_the_numbers_without_effects(name):
    scenario = load_scenario(name)
    data = scenario_to_dict(scenario)
    regime = scenario.market.regimes[-1].name
    data["effects"] = [
        {
            "when": {scenario.decisions[0]: 1},
            "efficiency": {d.name: 0.0 for d in scenario.departments},
            "market_value": {regime: 0.0},
        }
    ]
    zero = validate_scenario(data)
    plain = run_experiment(scenario, seeds=3)
    same = run_experiment(zero, seeds=3)
    pd.testing.assert_frame_equal(plain.periods, same.periods, check_exact=True)
    pd.testing.assert_frame_equal(plain.runs, same.runs, check_exact=True)


def test_runs_of_scenarios_differing_only_in_effects_do_not_share_a_market():
    boost = validate_scenario(_small([{"when": {"campaigns": 1}, "efficiency": {"sales": 0.5}}]))
    plain = validate_scenario(_small())
    runs = [(sc, "efficiency_only", seed) for seed in range(3) for sc in (boost, plain)]
    together = simulate(runs)
    for i, run in enumerate(runs):
        alone = simulate([run]).frame(0)
        pd.testing.assert_frame_equal(together.frame(i), alone, check_exact=True)
    assert not together.frame(0)["efficiency"].equals(together.frame(1)["efficiency"])


# ---- what effects do to firms (emergent, over seeds)


def test_efficiency_only_firms_follow_an_effect_that_pays_their_department():
    """A big efficiency gain for marketing when campaigns = 1: silos running on marketing's
    efficiency end up with campaigns on in almost every market, against about half without."""
    boost = {"when": {"campaigns": 1}, "efficiency": {"marketing": 0.5}}
    shares = {}
    for label, stated in (("with", [boost]), ("without", [])):
        sc = validate_scenario({**_small(stated), "horizon": 20})
        result = run_experiment(sc, strategies=["efficiency_only"], seeds=200)
        final = result.periods[result.periods["period"] == 20]["config"].to_numpy()
        shares[label] = float(np.mean([_bit(int(c), "campaigns") for c in final]))
    assert shares["with"] >= 0.97, shares
    assert shares["with"] - shares["without"] >= 0.3, shares


# ---- shown: explain and the classroom's decisions view


def test_explain_lists_each_effect_in_words():
    text = explain(
        validate_scenario(
            _small([FLOOD, {"when": {"social": 0}, "market_value": {"digital": -0.1}}])
        )
    )
    assert "Designed effects" in text
    assert "Automated campaigns flood sales with leads" in text
    assert (
        "when campaigns = 1 (marketing), unless scoring = 1 (sales): efficiency marketing +0.15, "
        "sales -0.2" in text
    )
    assert "when social = 0 (marketing): market value -0.1 in digital" in text
    assert "Designed effects" not in explain(validate_scenario(_small()))


def test_the_decisions_view_shows_each_effect_under_its_department_and_where_it_acts():
    twins = TwinFirms(validate_scenario(_small([FLOOD])), seed=1)
    for _ in range(6):
        twins.step()
        table = decisions_table(twins)
        assert table.count('<tr class="effect">') == 1
        marketing, sales = table.index(">marketing<"), table.index(">sales<")
        assert marketing < table.index("Automated campaigns flood") < sales
        acting = [_holds(FLOOD, firm.config) for firm in twins.firms]
        assert table.count('class="acts"') == sum(acting)
        assert table.count('class="idle"') == 2 - sum(acting)
    assert table.count("<tr>") == 1 + len(DECISIONS)  # decision rows as before


def test_the_documented_example_loads(tmp_path):
    """docs/scenarios.md's `[[effects]]` example, under the decisions and regimes it names."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text("utf-8")
    section = doc[doc.index("### `[[effects]]`") :]
    example = section[
        section.index("```toml") + 7 : section.index("```", section.index("```toml") + 7)
    ]
    head = """
name = "doc"
[[departments]]
name = "marketing"
decisions = ["automated_campaigns", "eco_certificate"]
[[departments]]
name = "sales"
decisions = ["lead_scoring", "single_use_plastics"]
[[market.regimes]]
name = "classic"
preferences = [{ decision = "lead_scoring", value = 1 }]
[[market.regimes]]
name = "eco"
preferences = [{ decision = "eco_certificate", value = 1 }]
"""
    path = tmp_path / "doc.toml"
    path.write_text(head + "\n" + example, encoding="utf-8")
    flood, eco = load_scenario(path).effects
    assert flood.when == {"marketing.automated_campaigns": 1}
    assert flood.unless == {"sales.lead_scoring": 1}
    assert flood.efficiency == {"marketing": 0.15, "sales": -0.2}
    assert eco.market_value == {"eco": 0.1} and eco.when == {
        "eco_certificate": 1,
        "single_use_plastics": 0,
    }


# ---- effects whose efficiency part depends on the regime (issue 24)


def test_a_regime_dependent_efficiency_effect_follows_the_customers_through_a_gradual_shift():
    """Where it holds, the department's efficiency changes by the amount times the regime's
    weight now (unclipped cells), and nothing changes where it does not hold; the engine's
    table is the market's (what firms are scored on)."""
    effect = {"when": {"social": 1}, "efficiency_by_regime": {"digital": {"marketing": 0.2}}}
    shifts = [{"kind": "gradual", "at": 5, "to": "digital", "duration": 10}]
    a = Market(scenario=validate_scenario(_small([effect], shifts=shifts)), rng=11)
    b = Market(scenario=validate_scenario(_small(shifts=shifts)), rng=11)
    social = np.array([_bit(c, "social") for c in range(2 ** len(DECISIONS))], dtype=bool)
    shares = []
    for _ in range(20):
        a.step(), b.step()
        share = a.environment.regime_weights.get("digital", 0.0)
        before, after = b.department_efficiency, a.department_efficiency
        expected = before[:, 0] + 0.2 * share * social
        unclipped = expected <= 1
        np.testing.assert_allclose(after[unclipped, 0], expected[unclipped], atol=1e-12)
        assert np.all(after[~unclipped, 0] == 1.0)
        assert np.array_equal(after[:, 1], before[:, 1])  # sales: untouched
        block = slice(a.index * a.engine.size, (a.index + 1) * a.engine.size)
        assert np.array_equal(a.engine.department_land[block], after)
        shares.append(share)
    assert shares[0] == 0 and 0 < shares[8] < 1 and shares[-1] == 1


def test_a_regime_dependent_efficiency_effect_changes_what_firms_record_only_in_its_regime():
    effect = {"when": {"social": 1}, "efficiency_by_regime": {"digital": {"marketing": 0.0}}}
    plain = run_experiment(validate_scenario(_small()), seeds=3).periods
    zero = run_experiment(validate_scenario(_small([effect])), seeds=3).periods
    assert np.array_equal(plain["efficiency"], zero["efficiency"], equal_nan=True)  # 0: as before
    effect["efficiency_by_regime"]["digital"]["marketing"] = 0.3
    shifts = [{"kind": "abrupt", "at": 15, "to": "digital"}]
    before_shift = run_experiment(validate_scenario(_small(shifts=shifts)), seeds=3).periods
    acting = run_experiment(validate_scenario(_small([effect], shifts=shifts)), seeds=3).periods
    early = acting["period"] < 15
    assert np.array_equal(
        acting["efficiency"][early], before_shift["efficiency"][early], equal_nan=True
    )
    assert not np.array_equal(acting["efficiency"][~early], before_shift["efficiency"][~early])


@pytest.mark.parametrize(
    ("table", "field", "message"),
    [
        ({"online": {"marketing": 0.1}}, "efficiency_by_regime", "unknown regime 'online'"),
        ({"digital": {"it": 0.1}}, "efficiency_by_regime.digital", "unknown department 'it'"),
    ],
)
def test_a_bad_regime_dependent_effect_names_the_field(table, field, message):
    effect = {"when": {"social": 1}, "efficiency_by_regime": table}
    with pytest.raises(ScenarioError) as error:
        validate_scenario(_small([effect]))
    assert field in str(error.value) and message in str(error.value)


def test_explain_says_in_which_regime_an_efficiency_effect_acts():
    effect = {"when": {"social": 1}, "efficiency_by_regime": {"digital": {"marketing": 0.2}}}
    text = explain(validate_scenario(_small([effect])))
    assert "efficiency while customers are in digital marketing +0.2" in text
