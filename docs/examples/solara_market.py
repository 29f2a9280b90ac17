"""Mesa's own SolaraViz on a `Market`: the two bakeries' profit, market value and cash, period
by period, with Mesa's Step, Play and Reset buttons and a slider for the market (seed).

Run it in a browser with ``solara run docs/examples/solara_market.py``, or show ``page`` as the
last line of a notebook cell. docs/mesa.md explains it; the classroom app (``python -m sim
app``) is this project's own, richer interface.
"""

from __future__ import annotations

from mesa.visualization import SolaraViz, make_plot_component

from sim.model import Market
from sim.scenario import load_scenario

SCENARIO = load_scenario("bakery_gluten_free")
STRATEGIES = ("aligned", "efficiency_only")

#: What SolaraViz rebuilds the market from on Reset: fixed values, and a slider for the seed.
model_params = {
    "scenario": SCENARIO,
    "strategies": STRATEGIES,
    "rng": {"type": "SliderInt", "value": 1, "label": "market (seed)", "min": 0, "max": 99,
            "step": 1},
}  # fmt: skip

#: One plot per KPI: a line per firm, from the market's `datacollector` (model level).
COLOURS = {"aligned": "tab:blue", "efficiency_only": "tab:orange"}
MEASURES = [
    {f"{kpi}_{name}": colour for name, colour in COLOURS.items()}
    for kpi in ("profit", "market_value", "cash")
]
components = [make_plot_component(measure) for measure in MEASURES]

market = Market(scenario=SCENARIO, strategies=STRATEGIES, rng=1)
page = SolaraViz(market, components=components, model_params=model_params, name=SCENARIO.title)
