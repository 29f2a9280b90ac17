"""Populations: the same department rules as a single firm, vectorised; Levinthal's selection."""

from __future__ import annotations

import numpy as np
import pytest

from sim.model import Market
from sim.population import Population
from sim.scenario import ScenarioError, load_scenario

LEVINTHAL = "scenarios/validation/levinthal_1997.toml"


@pytest.mark.parametrize(
    ("coordination", "search", "proposals"),
    [("decentralized", "best", 1), ("decentralized", "first", 1), ("hierarchical", "best", 2)],
)
def test_a_population_follows_the_same_rules_as_a_single_firm(coordination, search, proposals):
    base = {
        "horizon": 80,
        "firm.learning.gain": 0.0,
        "strategies.aligned.coordination": coordination,
        "strategies.aligned.search": search,
        "strategies.aligned.proposals": proposals,
        "strategies.aligned.p_jump": 0.0,
    }
    single = load_scenario("bakery_gluten_free", base)
    crowd = load_scenario("bakery_gluten_free", {**base, "population.firms": 3})
    for seed in range(3):
        firm = Market(scenario=single, strategies=["aligned"], rng=seed).run().firms[0]
        population = Market(scenario=crowd, strategies=["aligned"], rng=seed).run().populations[0]
        for column in range(3):
            np.testing.assert_array_equal(
                population.log.configs[:, column], firm.log.ints["config"]
            )


def _levinthal(**overrides):
    return load_scenario(LEVINTHAL, {"horizon": 30, **overrides})


def test_selection_replaces_firms_with_newcomers_of_new_identity():
    model = Market(scenario=_levinthal(**{"market.k": 5}), strategies=["levinthal"], rng=3)
    population = model.populations[0]
    for _ in range(20):
        before = population.ids.copy()
        model.step()
        assert len(np.unique(population.ids)) == population.ids.size
        replaced = population.ids != before
        assert population.log.entrants[model.period] == replaced.sum()
        assert np.all(population.ids[replaced] > before.max())
    log = population.log
    assert log.entrants[1:].sum() > 0
    assert log.ids.max() == 100 + log.entrants.sum() - 1


def test_selection_survival_is_relative_to_the_best():
    model = Market(scenario=_levinthal(**{"market.k": 5}), strategies=["levinthal"], rng=1)
    population, engine = model.populations[0], model.engine
    groups, engine.selection_groups = engine.selection_groups, set()  # selection done here
    deaths, expected = 0, 0.0
    for _ in range(25):
        model.step()
        engine.selection_groups = groups
        fitness = model.landscape_performance[population.configs]
        expected += float((1 - fitness / fitness.max()).sum())
        best = population.ids[np.argmax(fitness)]
        before = population.ids.copy()
        engine.select(model.period, engine.config.copy())
        deaths += int((population.ids != before).sum())
        engine.selection_groups = set()
        assert best in population.ids
    assert deaths == pytest.approx(expected, rel=0.25)


def test_populations_need_no_learning_and_selection_needs_a_population():
    with pytest.raises(ScenarioError, match=r"population\.firms"):
        load_scenario("bakery_gluten_free", {"population.firms": 10})
    with pytest.raises(ScenarioError, match=r"population\.selection"):
        load_scenario(LEVINTHAL, {"population.firms": 1})


def test_random_starts_are_shared_across_strategies_and_distinct_across_firms():
    sc = _levinthal()
    a = Market(scenario=sc, strategies=["levinthal"], rng=7).populations[0]
    b = Market(scenario=sc, strategies=["levinthal", "aligned"], rng=7)
    np.testing.assert_array_equal(a.log.configs[0], b.populations[1].log.configs[0])
    assert len(np.unique(a.log.configs[0])) > 90
    assert isinstance(b.populations[0], Population)


def test_incumbent_survival_and_distinct_forms():
    model = Market(scenario=_levinthal(), strategies=["levinthal"], rng=2).run()
    log = model.populations[0].log
    survival = log.incumbent_survival((23, 24), [24, 30])
    assert survival[0] == 1.0 and 0.0 <= survival[1] <= 1.0
    forms = log.distinct_forms()
    assert forms[0] > 90 and np.all(forms >= 1) and np.all(forms <= 100)


@pytest.mark.parametrize("k", [0, 5])
def test_populations_run_with_fewer_records_keep_the_same_firms_and_numbers(k):
    """`run_markets(records=...)`: who is where (configurations, identities) is the same with
    any records left out; a kept record equals the full run's bit for bit; an omitted one is a
    clear error; wrong names and single firms are refused, naming what is allowed."""
    from sim.experiment import run_markets
    from sim.validation.experiments import VALIDATION_DIR

    sc = load_scenario(VALIDATION_DIR / "levinthal_1997.toml", {"market.k": k, "horizon": 30})
    full = list(run_markets(sc, range(4), ["levinthal"]))
    bare = list(run_markets(sc, range(4), ["levinthal"], records=()))
    norm = list(run_markets(sc, range(4), ["levinthal"], records=["performance_norm"]))
    assert not bare[0].engine._outcomes and norm[0].engine._outcomes
    for a, b, c in zip(full, bare, norm, strict=True):
        la, lb, lc = (m.populations[0].log for m in (a, b, c))
        np.testing.assert_array_equal(la.ids, lb.ids)
        np.testing.assert_array_equal(la.configs, lb.configs)
        np.testing.assert_array_equal(la.entrants, lb.entrants)
        np.testing.assert_array_equal(la.performance_norm, lc.performance_norm)
        np.testing.assert_array_equal(la.ids, lc.ids)
    with pytest.raises(ValueError, match="performance was not recorded"):
        _ = bare[0].populations[0].log.performance
    with pytest.raises(ValueError, match="allowed: config, ids, performance, performance_norm"):
        list(run_markets(sc, range(1), ["levinthal"], records=["cash"]))
    with pytest.raises(ValueError, match="applies to populations"):
        list(run_markets("bakery_gluten_free", range(1), records=["performance"]))
