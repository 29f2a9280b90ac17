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
