"""Short text and HTML representations for notebooks: a scenario, an experiment's result, a
market and a firm. `repr` stays one line; `_repr_html_` gives a small table.

Only plain attributes are read (no model code is imported), so any layer may use them.
"""

from __future__ import annotations

import html
from typing import Any


def _table(title: str, rows: list[tuple[str, Any]]) -> str:
    cells = "".join(
        f"<tr><th style='text-align:left'>{html.escape(str(k))}</th>"
        f"<td style='text-align:left'>{html.escape(str(v))}</td></tr>"
        for k, v in rows
    )
    caption = f"<caption style='text-align:left'><b>{html.escape(title)}</b></caption>"
    return f"<table>{caption}{cells}</table>"


def _shifts(scenario: Any) -> str:
    times = list(scenario.shift_times)
    kinds = {type(s).__name__.removesuffix("Shift").lower() for s in scenario.market.shifts}
    if times:
        return f"at {', '.join(map(str, times))}"
    return ", ".join(sorted(kinds)) or "none"


def scenario_rows(scenario: Any) -> list[tuple[str, Any]]:
    """The facts a notebook needs about a scenario, as (label, value) rows."""
    return [
        ("title", scenario.title),
        ("departments", ", ".join(d.name for d in scenario.departments)),
        ("decisions", len(scenario.decisions)),
        ("strategies compared", ", ".join(scenario.compared_strategies)),
        ("horizon (periods)", scenario.horizon),
        ("market shifts", _shifts(scenario)),
        ("seeds by default", scenario.seeds),
        ("money unit", scenario.money_unit),
    ]


def scenario_repr(scenario: Any) -> str:
    """One line: name, size, strategies, horizon and shifts."""
    return (
        f"Scenario({scenario.name!r}: {len(scenario.departments)} departments, "
        f"{len(scenario.decisions)} decisions, strategies "
        f"{', '.join(scenario.compared_strategies)}; horizon {scenario.horizon}, shifts "
        f"{_shifts(scenario)})"
    )


def scenario_html(scenario: Any) -> str:
    return _table(f"Scenario {scenario.name}", scenario_rows(scenario))


def result_repr(result: Any) -> str:
    """One line: scenario, strategies x seeds, the tables' sizes."""
    periods = "no periods" if result.periods is None else f"periods {len(result.periods)} rows"
    return (
        f"ExperimentResult({result.scenario.name!r}: {len(result.strategies)} strategies x "
        f"{len(result.seeds)} seeds; runs {len(result.runs)} rows, {periods})"
    )


def result_html(result: Any) -> str:
    """The one-line summary above the summary table `python -m sim run` prints."""
    from sim.stats import summary_table

    head = f"<p>{html.escape(result_repr(result))}</p>"
    try:
        table = summary_table(result, wide=True).to_html()
    except (KeyError, ValueError):  # e.g. a population's runs: no single-firm outcomes
        table = ""
    return head + table


def market_repr(market: Any) -> str:
    """One line: scenario, seed, period, the firms' strategies."""
    firms = ", ".join(f.strategy_name for f in market.firms) or "no firms"
    return (
        f"Market({market.spec.name!r}, seed {market.seed}, period {market.period} of "
        f"{market.spec.horizon}; firms: {firms})"
    )


def market_html(market: Any) -> str:
    rows = [
        ("seed", market.seed),
        ("period", f"{market.period} of {market.spec.horizon}"),
        *((f"firm {i}", firm_repr(f)) for i, f in enumerate(market.firms)),
    ]
    return _table(f"Market {market.spec.name}", rows)


def firm_repr(firm: Any) -> str:
    """One line: strategy, open or closed, and the current efficiency, market value, cash."""
    t = firm.model.period
    floats = firm.log.floats
    state = "open" if firm.alive else "closed"
    return (
        f"Firm({firm.strategy_name!r}, {state}, period {t}: efficiency "
        f"{floats['efficiency'][t]:.3f}, market value {floats['market_value'][t]:.3f}, "
        f"cash {floats['cash'][t]:.1f})"
    )


def firm_html(firm: Any) -> str:
    t = firm.model.period
    floats = firm.log.floats
    unit = firm.model.spec.money_unit
    rows = [
        ("strategy", firm.strategy_name),
        ("state", "open" if firm.alive else "closed"),
        ("period", t),
        ("efficiency", f"{floats['efficiency'][t]:.3f}"),
        ("market value", f"{floats['market_value'][t]:.3f}"),
        (f"profit ({unit})", f"{floats['profit'][t]:.2f}"),
        ("cash", f"{floats['cash'][t]:.1f}"),
        ("coordination cost", f"{firm.coordination_cost:.2f}"),
        ("configuration", format(int(firm.config), f"0{firm.model.n_decisions}b")[::-1]),
    ]
    return _table(f"Firm {firm.strategy_name}", rows)
