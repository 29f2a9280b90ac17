"""docs/examples/: Mesa's own SolaraViz on a Market (docs/mesa.md) builds, renders and drives
the market, without a server (issue 20: "a Mesa user expects batch_run, DataCollector and
SolaraViz to work on the Market as on any Mesa model")."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "solara_market.py"

pytest.importorskip("altair", reason="Mesa's visualisation needs mesa[viz] (smb-sim[viz])")


@pytest.fixture(scope="module")
def example() -> dict:
    return runpy.run_path(str(EXAMPLE))


def test_the_page_object_builds(example):
    import reacton

    assert isinstance(example["page"], reacton.core.Element)
    market = example["market"]
    assert market.period == 0 and market.seed == 1
    names = set(market.datacollector.get_model_vars_dataframe().columns)
    assert len(example["components"]) == len(example["MEASURES"]) == 3
    for measure in example["MEASURES"]:  # every line plotted is a collected column
        assert set(measure) <= names


def test_solaraviz_steps_and_rebuilds_the_market(example):
    """Rendered in memory (no server): Step advances the market one period; Reset builds a new
    market from `model_params`, at the seed the slider gives."""
    import ipyvuetify as v
    import solara
    from mesa.visualization import SolaraViz

    model = solara.reactive(example["market"])

    @solara.component
    def Page():
        with solara.AppLayout():  # where SolaraViz puts its controls
            SolaraViz(model, components=example["components"], model_params=example["model_params"])

    _, rc = solara.render(Page(), handle_error=False)
    first = model.value
    rc.find(v.Btn, children=["Step"]).widget.fire_event("click", None)
    assert first.period == 1 and model.value is first
    assert len(first.datacollector.get_model_vars_dataframe()) == 2  # periods 0 and 1
    (seed,) = [s for s in rc.find(v.Slider).widgets if s.label == "market (seed)"]
    seed.v_model = 5
    rc.find(v.Btn, children=["Reset"]).widget.fire_event("click", None)
    again = model.value
    assert again is not first and again.period == 0 and again.seed == 5
    assert again.spec is example["SCENARIO"]
    assert [f.strategy_name for f in again.firms] == ["aligned", "efficiency_only"]
