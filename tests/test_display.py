"""Short representations for notebooks, and a docstring of its own on every public class."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import sim
from sim import display
from sim.experiment import run_experiment
from sim.model import Market
from sim.scenario import load_scenario
from sim.stats import equivalence, paired_difference

SHORT = 200  # characters: one line in a notebook


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("bakery_gluten_free", {"horizon": 70})


def _short(text: str) -> None:
    assert "\n" not in text and len(text) <= SHORT and " object at 0x" not in text


def test_scenario_and_result_have_short_reprs_and_html_tables(scenario):
    _short(repr(scenario))
    assert repr(scenario).startswith("Scenario('bakery_gluten_free': 4 departments")
    assert "<table>" in scenario._repr_html_() and "gluten" in scenario._repr_html_()
    result = run_experiment(scenario, seeds=3)
    _short(repr(result))
    assert "2 strategies x 3 seeds" in repr(result)
    html = result._repr_html_()
    assert "<table" in html and "profit after (all firms)" in html
    diff = paired_difference(result.runs, "profit_post_shift", "aligned", "efficiency_only")
    _short(repr(diff).split(", level")[0])  # a frozen dataclass: its fields, one line
    _short(str(diff))
    _short(repr(equivalence([0.1, -0.2, 0.05], 1.0)))


def test_market_and_firm_reprs(scenario):
    market = Market(scenario=scenario, strategies=["efficiency_only", "aligned"], rng=1)
    market.step()
    for text in (display.market_repr(market), *(display.firm_repr(f) for f in market.firms)):
        _short(text)
    assert "period 1 of 70" in display.market_repr(market)
    assert display.firm_repr(market.firms[1]).startswith("Firm('aligned', open, period 1")
    assert "<table>" in display.market_html(market)
    html = display.firm_html(market.firms[0])
    assert "coordination cost" in html and "configuration" in html


def _public_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(sim.__path__, "sim."):
        if info.name in ("sim.__main__", "sim.app.app"):  # scripts: run on import
            continue
        module = importlib.import_module(info.name)
        for name, cls in vars(module).items():
            public = not name.startswith("_")
            if public and inspect.isclass(cls) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def test_every_public_class_has_a_docstring_of_its_own():
    classes = _public_classes()
    assert len(classes) > 30
    missing = []
    for cls in classes:
        doc = cls.__dict__.get("__doc__")
        # a dataclass without a docstring gets its signature as __doc__: not a docstring
        if not doc or not doc.strip() or doc.startswith(f"{cls.__name__}("):
            missing.append(f"{cls.__module__}.{cls.__qualname__}")
    assert not missing, f"public classes without a docstring: {missing}"
