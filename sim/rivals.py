"""The competing firms of a market with ``[competition]``: incumbents and waiting entrants.

`add_rivals` gives a `Market` its firms of every strategy in the scenario's mix: the
incumbents (at the market's starting configuration) and the entrants that may arrive later
(waiting rows of the engine, one queue per strategy). Firm ``i`` of a strategy has the random
key of index ``i`` (docs/ODD.md, section 5.3): incumbents 0..n-1, entrants n, n+1, ...
"""

from __future__ import annotations

from typing import Any

from sim.agents import Firm


def add_rivals(market: Any) -> list[Firm]:
    """A `sim.model.Market`'s competing firms, in the order of ``[competition].firms`` then of
    ``entrants`` (each strategy's incumbents, then its entrants); added to ``market.firms``.
    (The market is not typed: `sim.model` imports this module.)"""
    scenario = market.spec
    competition = scenario.competition
    if competition is None:
        return []
    rivals: list[Firm] = []
    for name, count in competition.firms.items():
        strategy = scenario.strategy(name)
        for i in range(count):
            rivals.append(
                Firm(market, strategy_name=name, strategy=strategy, config=market.start_config,
                     index=i)
            )  # fmt: skip
    for name, count in competition.entrants.items():
        if not count:
            continue
        strategy = scenario.strategy(name)
        queue = market.engine.new_queue()
        first = competition.firms.get(name, 0)
        for i in range(first, first + count):
            rivals.append(
                Firm(market, strategy_name=name, strategy=strategy, config=market.start_config,
                     index=i, queue=queue)
            )  # fmt: skip
    market.firms.extend(rivals)
    return rivals
