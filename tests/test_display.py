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


#: Public classes still with Python's default repr ("<... object at 0x...>"), in modules this
#: change did not touch (issue 20 asks for one on every public class): to be given one.
DEFAULT_REPR_LEFT: set[str] = set()


def test_public_classes_have_a_repr_of_their_own():
    """Issue 20: `FirmLog` (and the engine's classes) printed as `<... object at 0x...>`.
    Exceptions and pydantic specs show their message and fields; every other public class
    has a `__repr__` of its own, or is listed in DEFAULT_REPR_LEFT."""
    default = []
    for cls in _public_classes():
        if issubclass(cls, BaseException) or getattr(cls, "_is_protocol", False):
            continue  # (a protocol is never an object of its own)
        owner = next(k for k in cls.__mro__ if "__repr__" in k.__dict__)
        if owner is object:
            default.append(f"{cls.__module__}.{cls.__qualname__}")
    assert sorted(set(default) - DEFAULT_REPR_LEFT) == []
    assert sorted(DEFAULT_REPR_LEFT - set(default)) == [], "given a repr: remove from the list"


def test_the_model_classes_print_what_they_are(scenario):
    market = Market(scenario=scenario, strategies=["aligned"], rng=1)
    market.step()
    firm = market.firms[0]
    assert repr(firm.log) == "FirmLog('aligned', seed 1, periods 0..70, run to period 1)"
    assert repr(market.engine).startswith("Engine(1 rows in 1 markets, 14 decisions")
    assert repr(market.engine.history).startswith("History(1 rows x periods 0..70")
    crowd = Market(
        scenario=load_scenario(
            "bakery_gluten_free",
            {"horizon": 70, "population.firms": 20, "firm.learning.gain": 0.0},
        ),
        strategies=["aligned"],
        rng=1,
    )
    assert (
        repr(crowd.populations[0].log) == "PopulationLog(20 firms, periods 0..70, run to period 0)"
    )
    assert "populations' records" in repr(crowd.engine.history)
    for text in (repr(firm.log), repr(market.engine), repr(crowd.populations[0].log)):
        _short(text)


@pytest.mark.parametrize("name", ["Market", "Firm", "Population", "Scenario", "FirmLog"])
def test_the_main_classes_explain_themselves_and_their_attributes_first(name):
    """Issue 20: `help(Market)` was 65% Mesa's and `help(Scenario)` 81% pydantic's text; the
    class docstring (what `help` shows first) explains the class and its main attributes."""
    from sim.agents import Firm
    from sim.metrics import FirmLog
    from sim.population import Population
    from sim.scenario.schema import Scenario

    cls = {"Market": Market, "Firm": Firm, "Population": Population, "Scenario": Scenario,
           "FirmLog": FirmLog}[name]  # fmt: skip
    doc = cls.__dict__["__doc__"]
    expected = {
        "Market": ["spec", "seed", "firms", "populations", "datacollector", "period"],
        "Firm": ["strategy_name", "departments", "log", "config", "cash", "alive"],
        "Population": ["strategy_name", "rows", "log", "configs"],
        "Scenario": ["departments", "market", "strategies", "horizon", "split", "decisions"],
        "FirmLog": ["to_frame", "floats", "horizon"],
    }[name]
    for attribute in expected:
        assert f"``{attribute}" in doc or f"`{attribute}" in doc, (name, attribute)
    assert len(doc) > 300, name  # a paragraph, not a line
    assert inspect.getdoc(cls) == inspect.cleandoc(doc)  # help() starts with it
