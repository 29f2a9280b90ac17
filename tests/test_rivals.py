"""Partners among competing firms (`[competition.network]`, docs/ODD.md section 7.20): the
network's kinds, the information-sharing rule, and that without it nothing changes."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import Market
from sim.rivals import partner_graph
from sim.scenario import ScenarioError, load_scenario

RIVALS = {
    "competition.firms": {"efficiency_only": 2, "aligned": 2},
    "competition.sensitivity": 10.0,
    "competition.market_size": 3.0,
}
SHIFT = 60  # bakery_gluten_free's customers turn health-conscious at period 60


def _scenario(network: dict | None = None, **more):
    overrides = {**RIVALS, **more}
    if network is not None:
        overrides["competition.network"] = network
    return load_scenario("bakery_gluten_free", overrides)


def test_each_kind_of_network_links_the_firms_it_says():
    n = 4
    edges = {
        "none": 0,
        "complete": n * (n - 1) // 2,
        "ring": n,
    }
    for kind, count in edges.items():
        graph = partner_graph(_scenario({"kind": kind}), seed=0)
        assert sorted(graph.nodes) == list(range(n)) and graph.number_of_edges() == count, kind
    assert partner_graph(_scenario(), seed=0).number_of_edges() == 0  # no [competition.network]
    graph = partner_graph(_scenario({"kind": "edges", "edges": [[0, 3], [1, 2]]}), seed=0)
    assert sorted(map(sorted, graph.edges)) == [[0, 3], [1, 2]]
    strategies = [graph.nodes[i]["strategy"] for i in range(n)]
    assert strategies == ["efficiency_only"] * 2 + ["aligned"] * 2


def test_a_random_network_is_drawn_per_market_from_its_seed_at_the_stated_density():
    sc = _scenario({"kind": "random", "density": 0.3}, **{"competition.firms": {"aligned": 12}})
    again = [sorted(partner_graph(sc, seed=s).edges) for s in (7, 7, 8)]
    assert again[0] == again[1] and again[0] != again[2]
    links = np.array([partner_graph(sc, seed=s).number_of_edges() for s in range(200)])
    pairs = 12 * 11 // 2
    # binomial(66, 0.3) per market: the mean over 200 markets within 4 standard errors
    se = np.sqrt(pairs * 0.3 * 0.7 / links.size)
    assert abs(links.mean() - 0.3 * pairs) < 4 * se


@pytest.mark.parametrize(
    "network",
    [{"kind": "none"}, {"kind": "complete", "information_sharing": 0.0}],
)
def test_no_links_or_no_sharing_gives_the_market_without_a_network_bit_for_bit(network):
    for seed in (0, 3):
        plain = Market(scenario=_scenario(), rng=seed).run().engine.history
        linked = Market(scenario=_scenario(network), rng=seed).run().engine.history
        for name in ("profit", "cash", "market_value", "market_share", "config", "alive"):
            np.testing.assert_array_equal(getattr(plain, name), getattr(linked, name), name)


def test_a_firm_moves_its_belief_the_stated_share_towards_its_partners_mean_after_sensing():
    """The rule of docs/ODD.md section 7.20, by hand, in the period after the shift: sensing
    first (w + sigma (omega - w)), then each firm with partners moves a share h of the way
    towards their mean belief, all from the beliefs after sensing."""
    h = 0.4
    network = {"kind": "edges", "edges": [[0, 2], [1, 2], [1, 3]], "information_sharing": h}
    sc = _scenario(network, **{"firm.initial_cash": 5000.0})  # nobody closes
    market = Market(scenario=sc, rng=2)
    market.run_for(SHIFT + 3)
    engine = market.engine
    rows = np.array([f.row for f in market.rivals])
    assert engine.alive[rows].all()
    before = engine.belief[rows].copy()
    market.run_for(1)
    truth = engine.truth[market.index]
    sigma = engine.sensing[rows][:, None]
    sensed = before + sigma * (truth - before)
    partners = {0: [2], 1: [2, 3], 2: [0, 1], 3: [1]}
    expected = np.array(
        [sensed[i] + h * (sensed[partners[i]].mean(axis=0) - sensed[i]) for i in range(4)]
    )
    np.testing.assert_allclose(engine.belief[rows], expected, rtol=1e-12, atol=1e-15)
    # the silo bakeries (sigma 0) learned from their aligned partners: their belief moved
    assert (np.abs(engine.belief[rows[:2]] - before[:2]).sum(axis=1) > 0).all()


def test_a_closed_partner_shares_nothing():
    sc = _scenario(
        {"kind": "complete", "information_sharing": 1.0}, **{"firm.initial_cash": 5000.0}
    )
    market = Market(scenario=sc, rng=1)
    market.run_for(SHIFT + 2)
    engine = market.engine
    rows = np.array([f.row for f in market.rivals])
    engine.alive[rows[3]] = False  # firm 3 closes (as after running out of cash)
    engine.belief[rows[3]] = 99.0  # a belief nobody may take up
    market.run_for(1)
    assert (engine.belief[rows[:3]] < 10).all()


@pytest.mark.parametrize(
    ("network", "field"),
    [
        ({"kind": "edges", "edges": [[0, 4]]}, "competition.network.edges"),
        ({"kind": "edges", "edges": [[1, 1]]}, "competition.network.edges"),
        ({"kind": "ring", "edges": [[0, 1]]}, "competition.network.edges"),
        ({"kind": "star"}, "competition.network.kind"),
        ({"kind": "random", "density": 1.5}, "competition.network.density"),
        ({"kind": "complete", "information_sharing": -0.1}, "information_sharing"),
    ],
)
def test_bad_network_settings_are_named(network, field):
    with pytest.raises(ScenarioError) as info:
        _scenario(network)
    assert field in str(info.value)


def test_explain_describes_the_network():
    from sim.explain import describe_network

    sc = _scenario({"kind": "ring", "information_sharing": 0.25})
    assert "in a ring" in describe_network(sc) and "25% of the way" in describe_network(sc)
    assert "Partners: none" in describe_network(_scenario())


def test_a_linked_market_gives_the_same_numbers_alone_and_in_a_batch():
    from sim.model import engine_for, step_together

    sc = _scenario(
        {"kind": "random", "density": 0.6},
        **{"competition.firms": {"aligned": 3, "efficiency_only": 3}},
    )
    alone = {seed: Market(scenario=sc, rng=seed).run() for seed in (3, 5)}
    engine = engine_for(sc, markets=3)
    batch = [Market(scenario=sc, rng=seed, engine=engine) for seed in (5, 9, 3)]
    step_together(batch)
    for seed, single in alone.items():
        rows = [f.row for f in next(m for m in batch if m.seed == seed).rivals]
        for name in ("profit", "market_share", "config", "alive"):
            np.testing.assert_array_equal(
                getattr(single.engine.history, name), getattr(engine.history, name)[:, rows]
            )
        assert single.partners.number_of_edges() > 0
