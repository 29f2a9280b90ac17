"""The competing firms of a market with ``[competition]``: incumbents and waiting entrants.

`add_rivals` gives a `Market` its firms of every strategy in the scenario's mix: the
incumbents (at the market's starting configuration) and the entrants that may arrive later
(waiting rows of the engine, one queue per strategy). Firm ``i`` of a strategy has the random
key of index ``i`` (docs/ODD.md, section 5.3): incumbents 0..n-1, entrants n, n+1, ...
`partner_graph` draws the market's network of partners (`[competition.network]`, docs/ODD.md
section 7.20), whose links `add_rivals` gives the engine.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from sim.agents import Firm
from sim.scenario.schema import Scenario


def network_rng(seed: int) -> np.random.Generator:
    """The generator a market of ``seed`` draws its network from: the second child of the
    seed's generator (the first draws the environment), so the network draws nothing that
    anything else would have drawn."""
    return np.random.default_rng(seed).spawn(2)[1]


def partner_graph(scenario: Scenario, seed: int) -> nx.Graph:
    """The network of partners of a market of ``seed``: nodes are the firms numbered in the
    order of ``[competition].firms`` then ``entrants`` (attribute ``strategy``), edges the
    partnerships of ``[competition.network]`` (none if it is absent or of kind "none"). Only
    kind "random" draws (one uniform per pair i < j, in order, from `network_rng`)."""
    competition = scenario.competition
    if competition is None:
        raise ValueError(f"scenario {scenario.name} has no [competition]")
    names = [name for name, n in competition.firms.items() for _ in range(n)]
    names += [name for name, n in competition.entrants.items() for _ in range(n)]
    n = len(names)
    graph = nx.Graph()
    graph.add_nodes_from((i, {"strategy": name}) for i, name in enumerate(names))
    network = competition.network
    kind = "none" if network is None else network.kind
    if kind == "complete":
        graph.add_edges_from(nx.complete_graph(n).edges)
    elif kind == "ring" and n > 1:
        graph.add_edges_from(nx.cycle_graph(n).edges)
    elif kind == "random":
        i, j = np.triu_indices(n, k=1)
        linked = network_rng(seed).random(i.size) < network.density
        graph.add_edges_from(zip(i[linked].tolist(), j[linked].tolist(), strict=True))
    elif kind == "edges":
        graph.add_edges_from((int(a), int(b)) for a, b in network.edges)
    return graph


def add_rivals(market: Any, *, focal: tuple[str, Any] | None = None) -> list[Firm]:
    """A `sim.model.Market`'s competing firms, in the order of ``[competition].firms`` then of
    ``entrants`` (each strategy's incumbents, then its entrants); added to ``market.firms``.
    Sets ``market.partners``, their network (`partner_graph`), and gives the engine its links.
    With ``focal`` = (a strategy's name, a `StrategySpec`), that strategy's first incumbent
    follows the spec instead (its name, index and random stream unchanged).
    (The market is not typed: `sim.model` imports this module.)"""
    scenario = market.spec
    competition = scenario.competition
    if competition is None:
        market.partners = None
        return []
    rivals: list[Firm] = []
    for name, count in competition.firms.items():
        strategy = scenario.strategy(name)
        for i in range(count):
            own = focal[1] if focal is not None and focal[0] == name and i == 0 else strategy
            rivals.append(
                Firm(market, strategy_name=name, strategy=own, config=market.start_config,
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
    network = competition.network
    market.partners = partner_graph(scenario, market.seed)
    if network is not None and market.partners.number_of_edges():
        ends = np.array(market.partners.edges, dtype=np.int64)
        rows = np.array([firm.row for firm in rivals], dtype=np.int64)
        market.engine.add_partners(rows[ends[:, 0]], rows[ends[:, 1]], network.information_sharing)
    return rivals
