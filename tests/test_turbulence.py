"""Steerable turbulence: a shift names its target, targets with weights, or a transition
matrix between regimes, whose absorbing regimes no shift leaves."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sim.model import Market
from sim.scenario import ScenarioError, load_scenario
from sim.stats import share_ci

REGIMES = [
    {"name": name, "preferences": [{"decision": decision, "value": 1}]}
    for name, decision in (
        ("classic", "large_batches"),
        ("strict", "allergen_training"),
        ("stricter", "gluten_free_line"),
    )
]


def _scenario(**turbulence):
    shift = {"kind": "turbulence", "probability": 0.3, "start": 2, **turbulence}
    return load_scenario(
        "bakery_gluten_free",
        {"market.regimes": REGIMES, "market.initial_regime": "classic", "market.shifts": [shift]},
    )


def _path(scenario, seed):
    schedule = Market(scenario=scenario, strategies=[], rng=seed).environment.schedule
    return [e.to for e in schedule]


def test_a_named_target_is_where_every_shift_goes_and_none_happens_while_there():
    sc = _scenario(to="strict")
    for seed in range(20):
        assert _path(sc, seed) in ([], ["strict"])
    assert any(_path(sc, seed) == ["strict"] for seed in range(20))


def test_a_transition_matrix_tightens_and_an_absorbing_regime_is_never_left():
    sc = _scenario(transitions={"classic": {"strict": 1.0}, "strict": {"stricter": 1.0}})
    for seed in range(50):
        path = _path(sc, seed)
        assert path == ["strict", "stricter"][: len(path)]  # never back, never further


def test_a_transition_matrix_is_followed_in_distribution():
    # from classic: strict with weight 1, stricter with weight 3; both absorbing
    sc = _scenario(transitions={"classic": {"strict": 1.0, "stricter": 3.0}})
    first = [p[0] for p in (_path(sc, seed) for seed in range(1000)) if p]
    assert len(first) > 900
    share, low, high = share_ci(np.array(first) == "stricter", level=0.999)
    assert low <= 0.75 <= high, share


def test_a_matrix_over_several_regimes_with_weights_on_staying_is_followed():
    """Every row of the matrix, every move of every path: from strict, classic with weight 1,
    stricter 2, staying 1 (no shift); from classic, strict 1 or staying 1; stricter absorbing.
    Destinations follow the weights among the moves, and staying halves the rate of moves
    out of classic (a shift with probability 0.3 per period, half of them going nowhere)."""
    sc = _scenario(
        transitions={
            "classic": {"classic": 1.0, "strict": 1.0},
            "strict": {"classic": 1.0, "stricter": 2.0, "strict": 1.0},
        }
    )
    from_strict, periods_in_classic, moves_from_classic = [], 0, 0
    for seed in range(600):
        schedule = [e for e in Market(scenario=sc, strategies=[], rng=seed).environment.schedule]
        # a stint entered at period s has draws at s + 1, s + 2, ... (turbulence from period 2)
        regime, since = "classic", 1
        for event in schedule:
            assert event.to != regime  # a weight on staying never schedules a shift
            if regime == "classic":
                periods_in_classic += event.time - since
                moves_from_classic += 1
                assert event.to == "strict"
            elif regime == "strict":
                from_strict.append(event.to)
            else:
                raise AssertionError("stricter is absorbing")
            regime, since = event.to, event.time
        if regime == "classic":
            periods_in_classic += sc.horizon - since
    share, low, high = share_ci(np.array(from_strict) == "stricter", level=0.999)
    assert len(from_strict) > 300 and low <= 2 / 3 <= high, share
    rate = moves_from_classic / periods_in_classic
    assert 0.135 <= rate <= 0.165, rate  # 0.3 x 1/2; about 900 moves: sd of the rate ~0.005


def test_targets_are_drawn_by_weight_among_the_others():
    sc = _scenario(targets={"strict": 1.0, "stricter": 1.0})
    first = [p[0] for p in (_path(sc, seed) for seed in range(1000)) if p]
    share, low, high = share_ci(np.array(first) == "strict", level=0.999)
    assert low <= 0.5 <= high, share
    for seed in range(50):
        path = _path(sc, seed)
        assert all(a != b for a, b in itertools.pairwise(path))  # always moves on


@pytest.mark.parametrize(
    ("turbulence", "message"),
    [
        ({"to": "nope"}, "unknown regime 'nope'"),
        ({"transitions": {"classic": {"nope": 1.0}}}, "unknown regime 'nope'"),
        ({"to": "strict", "targets": {"strict": 1.0}}, "give one of to, targets, transitions"),
        ({"change": "redraw", "to": "strict"}, "only for change = 'regime'"),
        ({"transitions": {"classic": {"strict": 0.0}}}, "must not all be 0"),
    ],
)
def test_bad_steering_is_refused_in_one_line(turbulence, message):
    with pytest.raises(ScenarioError, match=message):
        _scenario(**turbulence)
