"""Properties that hold for any valid scenario (hypothesis-generated)."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.model import Market
from sim.scenario import validate_scenario

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def scenarios(draw, coordination_mode=None, alpha=None):
    sizes = draw(st.lists(st.integers(1, 4), min_size=1, max_size=4))
    names = [f"d{i}" for i in range(sum(sizes))]
    departments, start = [], 0
    for k, size in enumerate(sizes):
        departments.append({"name": f"dept{k}", "decisions": names[start : start + size]})
        start += size
    n = len(names)
    structure = draw(
        st.sampled_from(["modular", "nearly_decomposable", "value_chain", "random", "next_k"])
    )
    efficiency = {
        "structure": structure,
        "k_within": draw(st.integers(0, min(sizes) - 1)),
        "cross": draw(st.integers(0, n - max(sizes))),
        "k": draw(st.integers(0, n - 1)),
    }

    def regime(name):
        chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=n, unique=True))
        return {
            "name": name,
            "preferences": [
                {
                    "decision": d,
                    "value": draw(st.sampled_from([0, 1])),
                    "weight": draw(st.floats(0.1, 5)),
                }
                for d in chosen
            ],
        }

    horizon = draw(st.integers(5, 25))
    shifts = draw(
        st.sampled_from(
            [
                [],
                [{"kind": "abrupt", "at": 3, "to": "b"}],
                [{"kind": "gradual", "at": 2, "to": "b", "duration": 5}],
                [{"kind": "redraw", "at": 2, "count": 1}],
                [{"kind": "turbulence", "probability": 0.3, "change": "regime"}],
            ]
        )
    )
    strategy = {
        "alpha": draw(st.floats(0, 1)) if alpha is None else alpha,
        "coordination": coordination_mode
        or draw(st.sampled_from(["decentralized", "sequential", "hierarchical"])),
        "sensing": draw(st.floats(0, 1)),
        "p_jump": draw(st.floats(0, 1)),
        "proposals": draw(st.integers(1, 3)),
        "search": draw(st.sampled_from(["best", "first"])),
    }
    data = {
        "name": "generated",
        "horizon": horizon,
        "departments": departments,
        "efficiency": efficiency,
        "market": {
            "rho": draw(st.floats(0, 1)),
            "k": draw(st.integers(0, n - 1)),
            "regimes": [regime("a"), regime("b")],
            "shifts": shifts,
        },
        "firm": {
            "beta": draw(st.floats(0, 1)),
            "start": draw(st.sampled_from(["random", "efficient", "fitted"])),
            "learning": {
                "gain": draw(st.floats(0, 0.9)),
                "reset": draw(st.floats(0, 1)),
                "initial_experience": draw(st.floats(0, 30)),
            },
        },
        "strategies": {"tested": strategy},
    }
    return validate_scenario(data)


@SETTINGS
@given(sc=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_values_stay_in_range(sc, seed):
    model = Market(scenario=sc, strategies=["tested"], rng=seed).run()
    log = model.firms[0].log
    alive = log.bools["alive"]
    for column in ("efficiency", "market_value", "believed_market_value", "performance"):
        values = log.floats[column][alive]
        # 1 + 2e-16 happens: a weighted share of 1 summed in floating point
        assert np.all((values >= 0) & (values <= 1)), column
    norm = log.floats["performance_norm"][alive]
    assert np.all((norm >= 0) & (norm <= 1 + 1e-12))
    assert np.all(log.department_efficiency[alive] <= 1)
    heading = log.floats["heading"]
    heading = heading[~np.isnan(heading)]
    assert np.all((heading >= 0) & (heading <= 1))
    n = len(sc.decisions)
    assert np.all((log.ints["distance_to_port"] >= 0) & (log.ints["distance_to_port"] <= n))
    assert np.all(log.ints["miles"] <= n)
    assert np.all(log.ints["config"] < 2**n)


@SETTINGS
@given(sc=scenarios(), seed=st.integers(0, 2**32 - 1), periods=st.integers(0, 4))
def test_a_department_only_changes_decisions_it_owns(sc, seed, periods):
    model = Market(scenario=sc, strategies=["tested"], rng=seed)
    periods = min(periods, sc.horizon)
    if periods:
        model.run_for(periods)
    firm = model.firms[0]
    for dept in firm.departments:
        for proposal in dept.propose(firm.config):
            assert (int(proposal) ^ firm.config) & ~dept.mask == 0


@SETTINGS
@given(sc=scenarios(alpha=0.0), seed=st.integers(0, 2**32 - 1), periods=st.integers(0, 4))
def test_at_alpha_zero_a_departments_choice_ignores_the_market(sc, seed, periods):
    model = Market(scenario=sc, strategies=["tested"], rng=seed)
    periods = min(periods, sc.horizon)
    if periods:
        model.run_for(periods)
    firm = model.firms[0]
    before = [dept.propose(firm.config) for dept in firm.departments]
    beliefs = model.engine.belief
    beliefs[firm.row] = np.random.default_rng(seed).random(beliefs.shape[1])  # another market
    after = [dept.propose(firm.config) for dept in firm.departments]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)


@SETTINGS
@given(
    sc=scenarios(coordination_mode="hierarchical"),
    seed=st.integers(0, 2**32 - 1),
    periods=st.integers(0, 6),
)
def test_hierarchical_adoption_never_lowers_perceived_performance(sc, seed, periods):
    model = Market(scenario=sc, strategies=["tested"], rng=seed)
    periods = min(periods, sc.horizon)
    if periods:
        model.run_for(periods)
    firm = model.firms[0]
    if not firm.alive:
        return
    (new,) = model.engine.decide(np.array([firm.row]), model.period + 1)
    old_value, new_value = firm.perceived_performance([firm.config, new])
    assert new_value >= old_value
