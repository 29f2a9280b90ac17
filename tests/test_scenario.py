"""Scenario files: the flagships load, defaults apply, documentation covers every field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel

from sim.scenario import SCENARIO_DIR, ScenarioError, load_scenario, schema, validate_scenario

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("path", sorted(SCENARIO_DIR.glob("*.toml")), ids=lambda p: p.stem)
def test_every_scenario_loads_and_tells_its_story(path):
    sc = load_scenario(path)
    assert sc.name == path.stem
    assert len(sc.story.split()) >= 20
    assert {"efficiency_only", "aligned"} <= set(sc.compared_strategies)
    if sc.name == "furniture_maker":  # the firm of ordinary SMB size (issue 22)
        assert len(sc.decisions) == 32 and len(sc.departments) == 5
    else:
        assert 10 <= len(sc.decisions) <= 16 and len(sc.departments) == 4
    assert 120 <= sc.horizon <= 200


SCENARIO_FILES = sorted([*SCENARIO_DIR.glob("*.toml"), *SCENARIO_DIR.glob("validation/*.toml")])


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.stem)
def test_every_parameter_line_has_a_comment(path):
    """A comment on the parameter's line or on the line just above it."""
    previous, in_text = "", False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        stripped = line.strip()
        commented_above, previous = previous.startswith("#"), stripped
        if in_text:  # inside a multi-line string (a story)
            in_text = stripped.count('"""') % 2 == 0
            continue
        in_text = stripped.count('"""') % 2 == 1
        if "=" not in stripped or stripped.startswith(("#", "{", '"', "[", "]")):
            continue
        key = stripped.split("=")[0].strip()
        if key != "story" and "#" not in stripped and not commented_above:
            pytest.fail(f"{path.name}:{number}: '{key}' has no comment")


def test_defaults_fill_in_what_is_omitted():
    sc = validate_scenario(
        {
            "name": "tiny",
            "departments": [
                {"name": "a", "decisions": ["x", "y"]},
                {"name": "b", "decisions": ["z"]},
            ],
            "efficiency": {"k_within": 1, "cross": 1},
            "market": {"regimes": [{"name": "r", "preferences": [{"decision": "x", "value": 1}]}]},
        }
    )
    assert sc.horizon == 160 and sc.firm.beta == 0.6
    assert sc.compared_strategies == ("efficiency_only", "aligned", "informed_silos")
    assert sc.split == 80  # no shift: half the horizon


def test_overrides_use_dotted_paths_and_are_validated():
    sc = load_scenario("bakery_gluten_free", {"costs.alignment": 9.5, "market.shifts.0.at": 70})
    assert sc.costs.alignment == 9.5 and sc.split == 70
    with pytest.raises(ScenarioError, match=r"market.shifts\[0\].at: 500 is after the horizon"):
        load_scenario("bakery_gluten_free", {"market.shifts.0.at": 500})


def _fields(model: type[BaseModel], seen: set) -> set[str]:
    names = set()
    for name, field in model.model_fields.items():
        names.add(name)
        for sub in _models_in(field.annotation):
            if sub not in seen:
                seen.add(sub)
                names |= _fields(sub, seen)
    return names


def _models_in(annotation) -> list[type[BaseModel]]:
    import typing

    found = []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        found.append(annotation)
    for arg in typing.get_args(annotation):
        found.extend(_models_in(arg))
    return found


@pytest.mark.parametrize("doc", ["scenarios.md", "ODD.md"])
def test_documentation_names_every_scenario_field(doc):
    text = (DOCS / doc).read_text(encoding="utf-8")
    missing = sorted(f for f in _fields(schema.Scenario, set()) if f"`{f}`" not in text)
    assert not missing, f"docs/{doc} does not document: {missing}"


# ---- issue 12: the Python API raises the project's own errors, in one line


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"horizon.x": 1}, "horizon.x", "horizon is a value (160), not a table or a list"),
        ({"market.shifts.5.at": 3}, "market.shifts.5.at", "give an index from 0 to 0, got '5'"),
        ({"market.shifts.x.at": 3}, "market.shifts.x.at", "give an index from 0 to 0, got 'x'"),
        ({"costs.alignment": float("nan")}, "costs.alignment", "must be a finite number"),
        ({"costs.alignment": float("inf")}, "costs.alignment", "must be a finite number"),
        ({"horizon": True}, "horizon", "expected a whole number"),
        ({"horizon": "120"}, "horizon", "expected a whole number"),
        ({"firm.beta": "0.5"}, "firm.beta", "expected a number"),
        (
            {"market.regimes.0.preferences.0.value": True},
            "market.regimes[0].preferences[0].value",
            "expected 0 or 1, got true",
        ),
        ({"": 1}, "", "not a dotted path"),
    ],
)
def test_bad_overrides_are_scenario_errors(overrides, field, message):
    with pytest.raises(ScenarioError) as info:
        load_scenario("bakery_gluten_free", overrides)
    assert info.value.source.endswith("bakery_gluten_free.toml")
    assert info.value.field == field
    assert message in info.value.message
    assert "\n" not in str(info.value)


def test_an_unknown_strategy_is_a_scenario_error_naming_the_allowed_ones():
    from sim.model import Market

    sc = load_scenario("bakery_gluten_free")
    with pytest.raises(ScenarioError, match="unknown strategy 'nope'; allowed: efficiency_only"):
        sc.strategy("nope")
    with pytest.raises(ScenarioError, match="unknown strategy 'nope'; allowed: efficiency_only"):
        Market(scenario=sc, strategies=["nope"], rng=0)
    with pytest.raises(KeyError):  # still a failed lookup for code that expects one
        sc.all_strategies["nope"]
    assert sc.strategy("aligned") is sc.all_strategies["aligned"]


@pytest.mark.parametrize(
    ("seeds", "message"),
    [
        (0, "expected a number of seeds from 1 to 100,000, got 0"),
        (-3, "expected a number of seeds from 1 to 100,000, got -3"),
        (True, "expected a number of seeds or a list of seeds, got True"),
        (2.0, "expected a number of seeds or a list of seeds, got 2.0"),
        ([], "give at least one seed"),
        ([1, 1], "a seed is given twice"),
        ([1, -1], "a seed is from 0"),
        ([1, "2"], "a seed is a whole number, got '2'"),
        (10**9, "more seeds belong in a sweep"),
    ],
)
def test_run_experiment_refuses_bad_seeds_with_a_scenario_error(seeds, message):
    from sim.experiment import run_experiment

    sc = load_scenario("bakery_gluten_free", {"horizon": 10, "market.shifts.0.at": 5})
    with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run_experiment(sc, seeds=seeds)


def test_check_strategies_refuses_unknown_and_repeated_names():
    from sim.scenario import check_strategies

    sc = load_scenario("bakery_gluten_free")
    assert check_strategies(sc, None) == sc.compared_strategies
    assert check_strategies(sc, ["aligned"]) == ("aligned",)
    with pytest.raises(ScenarioError, match="strategy 'aligned' is given twice"):
        check_strategies(sc, ["aligned", "aligned"])
    with pytest.raises(ScenarioError, match="unknown strategy 'nope'"):
        check_strategies(sc, ["nope"])
    with pytest.raises(ScenarioError, match="at least one strategy"):
        check_strategies(sc, [])


def test_numpy_numbers_are_numbers_in_overrides():
    import numpy as np

    sc = load_scenario(
        "bakery_gluten_free", {"horizon": np.int64(90), "firm.beta": np.float64(0.5)}
    )
    assert sc.horizon == 90 and type(sc.horizon) is int and sc.firm.beta == 0.5
    with pytest.raises(ScenarioError, match="expected a whole number"):
        load_scenario("bakery_gluten_free", {"horizon": np.bool_(True)})


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            {
                "strategies.aligned.alpha": {
                    "production": 2.0,
                    "purchasing": 0.0,
                    "marketing": 0.0,
                    "shop": 0.0,
                }
            },
            "strategies.aligned.alpha.production: Input should be less than or equal to 1",
        ),
        (
            {
                "firm.engagement.initial": {
                    "production": "a",
                    "purchasing": 0.0,
                    "marketing": 0.0,
                    "shop": 0.0,
                }
            },
            "firm.engagement.initial.production: expected a number",
        ),
        ({"strategies.aligned.alpha": "x"}, "strategies.aligned.alpha: expected a number"),
        ({"firm.understanding.initial": 1.5}, "firm.understanding.initial: must be in [0, 1]"),
    ],
)
def test_a_number_or_table_field_names_what_is_wrong_in_the_table(override, message):
    """A field that takes a number or a table per department: a bad value in the table is named
    by its department, not reported as "not a number"."""
    from sim.scenario import ScenarioError

    with pytest.raises(ScenarioError) as caught:
        load_scenario("bakery_gluten_free", override)
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ("(" * 100_000 + "1" + ")" * 100_000, "200,001 characters; a check is at most 2,000"),
        ("aligned.miles" + " + aligned.miles" * 12_000, "characters; a check is at most 2,000"),
        ("-" * 100 + "aligned.miles > 0", "nested more than 32 levels deep, the limit for a check"),
        ("not " * 400 + "aligned.miles > 0", "nested more than 32 levels deep"),
    ],
    ids=["brackets", "a long sum", "deep", "deep and long"],
)
def test_a_huge_or_deep_check_is_a_scenario_error_not_a_recursion_error(check, message):
    """Issue 20: a 200 KB `things_to_notice` check raised RecursionError (docs/limits.md)."""
    notice = {"things_to_notice": [{"text": "look", "check": check}]}
    with pytest.raises(ScenarioError, match=r"things_to_notice\[0\]\.check: ") as caught:
        load_scenario("bakery_gluten_free", notice)
    assert message in str(caught.value) and len(str(caught.value)) < 300
    fine = "abs(aligned.miles - efficiency_only.miles) > 0.1 * (aligned.miles + 1)"
    load_scenario("bakery_gluten_free", {"things_to_notice": [{"text": "ok", "check": fine}]})


def test_overrides_never_change_the_callers_tables():
    table = {"adaptation": {"strategies": ["efficiency_only", "aligned"]}}
    scenario = load_scenario("bakery_gluten_free", {**table, "adaptation.review": 6})
    assert scenario.adaptation.review == 6
    assert table == {"adaptation": {"strategies": ["efficiency_only", "aligned"]}}
