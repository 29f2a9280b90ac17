"""Market value, preference regimes and the shift schedule."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.landscape import NKTables, configurations, dependencies, interaction_graph
from sim.market import MarketEnvironment, Preference, ShiftEvent, logistic_weight, preference_fit
from sim.model import Market, build_schedule
from sim.scenario import load_scenario


def test_preference_fit_is_the_weighted_share_met():
    prefs = [Preference(0, 1, 2.0), Preference(2, 0, 1.0)]
    fit = preference_fit(prefs, 3)
    for config in configurations(3):
        met = 2.0 * ((config >> 0) & 1 == 1) + 1.0 * ((config >> 2) & 1 == 0)
        assert fit[config] == pytest.approx(met / 3.0)


def _environment(schedule, rho=0.3):
    rng = np.random.default_rng(0)
    graph = interaction_graph("random", [list(range(4))], k=1, rng=rng)
    regimes = {
        "old": preference_fit([Preference(0, 1, 1.0)], 4),
        "new": preference_fit([Preference(0, 0, 1.0), Preference(1, 1, 1.0)], 4),
    }
    return MarketEnvironment(
        n=4,
        rho=rho,
        regimes=regimes,
        rugged=NKTables.draw(dependencies(graph), rng),
        regime="old",
        schedule=schedule,
        rng=rng,
    )


def test_abrupt_shift_changes_value_at_its_period_only():
    env = _environment([ShiftEvent(3, "regime", to="new")])
    before = env.value.copy()
    for t in (1, 2):
        assert env.advance(t) == []
    np.testing.assert_array_equal(env.value, before)
    assert len(env.advance(3)) == 1
    assert env.regime == "new" and env.version == 1
    assert not np.allclose(env.value, before)
    assert env.value[0b0010] > env.value[0b0001]  # new customers want decision 1, not 0


def test_gradual_shift_blends_monotonically_into_the_new_regime():
    env = _environment([ShiftEvent(2, "regime", to="new", duration=10)], rho=0.0)
    old, new = env.regimes["old"], env.regimes["new"]
    weights = []
    for t in range(1, 16):
        env.advance(t)
        w = env.regime_weights.get("new", 0.0)
        weights.append(w)
        np.testing.assert_allclose(env.value, (1 - w) * old + w * new)
    assert weights[0] == 0.0 and weights[-1] == 1.0
    assert all(a <= b for a, b in itertools.pairwise(weights))
    assert logistic_weight(5, 10) == pytest.approx(0.5)


def test_redraw_changes_the_rugged_part_only():
    env = _environment([ShiftEvent(1, "redraw", decisions=(2,))])
    before = env.value.copy()
    env.advance(1)
    assert env.version == 1 and not np.allclose(before, env.value)


def test_turbulence_is_drawn_from_the_seed_and_at_about_its_rate():
    sc = load_scenario(
        "bakery_gluten_free",
        {
            "market.shifts": [{"kind": "turbulence", "probability": 0.1, "change": "regime"}],
            "horizon": 2000,
        },
    )
    events = build_schedule(sc, np.random.default_rng(7))
    again = build_schedule(sc, np.random.default_rng(7))
    assert events == again
    assert 150 < len(events) < 250  # Binomial(2000, 0.1): mean 200, sd 13
    regimes = [e.to for e in events]
    assert all(a != b for a, b in itertools.pairwise(regimes))  # always a real move


def test_every_shift_is_an_event_in_the_data():
    sc = load_scenario("bakery_gluten_free", {"horizon": 80})
    model = Market(scenario=sc, strategies=["efficiency_only"], rng=0).run()
    marked = [t for t, label in enumerate(model.shift_labels) if label]
    assert marked == [60]
    assert "health_conscious" in model.shift_labels[60]


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 64),
    k=st.integers(0, 5),
    markets=st.integers(1, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_stacked_markets_read_each_markets_own_contributions(n, k, markets, seed):
    """`_Stacked` (many markets' tables end to end) looks up, through its chunk tables, the
    contributions each market's own tables give (`NKTables.contributions_at` at its rows), bit
    for bit, and the same as forming the rows bit by bit (its fallback for large stacks)."""
    from sim.landscape import all_table_rows, edge_dependencies, interaction_edges
    from sim.market import _Stacked

    rng = np.random.default_rng(seed)
    k = min(k, n - 1)
    lands = [
        NKTables.draw(
            edge_dependencies(n, interaction_edges("random", [list(range(n))], k=k, rng=rng)),
            rng,
        )
        for _ in range(markets)
    ]
    stacked = _Stacked(lands)
    assert stacked.chunks is not None
    at = rng.integers(0, markets, size=50)
    top = 2**n - 1 if n < 64 else 2**64 - 1
    configs = rng.integers(0, top, size=50, dtype=np.uint64, endpoint=True)
    configs[:2] = (0, top)
    got = stacked.contributions(at, configs)
    for m, land in enumerate(lands):
        mine = at == m
        rows = all_table_rows(configs[mine], land.deps)
        expected = land.contributions_at(np.arange(n)[None, :], rows)
        np.testing.assert_array_equal(got[mine], expected)
    stacked.chunks = None  # the bit-by-bit rows
    np.testing.assert_array_equal(stacked.contributions(at, configs), got)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 64),
    k=st.integers(0, 6),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_port_climb_ends_on_peaks_with_colours_no_decision_reads_twice(n, k, seed):
    """The port's climb (`_ClimbPlan`) on random structures of 1 to 64 decisions, two
    landscapes and a per-bit term: the colours split the bits, and no decision of either
    landscape reads two bits of one colour (so a colour's flips can be scored at once); every
    search ends on a peak of the weighted sum, no lower than its start; and pair changes
    computed from the contributions (the path of counter-based or huge landscapes) reach the
    same peaks as the tabulated ones."""
    from unittest import mock

    from sim.landscape import all_table_rows, edge_dependencies, interaction_edges
    from sim.market import _climb_plan

    rng = np.random.default_rng(seed)
    k = min(k, n - 1)
    lands = [
        NKTables.draw(
            edge_dependencies(n, interaction_edges("random", [list(range(n))], k=k, rng=rng)),
            rng,
        )
        for _ in range(2)
    ]
    terms = [(land, rng.random(n)) for land in lands]
    per_bit = rng.normal(size=n) * 0.1
    plan, tabulated, _ = _climb_plan(n, terms)
    assert sorted(np.concatenate(plan.colours).tolist()) == list(range(n))
    colour = np.empty(n, dtype=int)
    for c, bits in enumerate(plan.colours):
        colour[bits] = c
    for land in lands:
        for i, d in enumerate(land.deps):
            read = colour[[i, *d]]
            assert len(set(read.tolist())) == read.size

    def weighted(c: np.ndarray) -> np.ndarray:
        total = (((c[..., None] >> np.arange(n, dtype=np.uint64)) & np.uint64(1)) * per_bit).sum(-1)
        for land, coefficient in terms:
            rows = all_table_rows(c, land.deps)
            total = total + land.contributions_at(np.arange(n), rows) @ coefficient
        return total

    top = 2**n - 1 if n < 64 else 2**64 - 1
    starts = rng.integers(0, top, size=30, dtype=np.uint64, endpoint=True)
    peaks = plan.climb(tabulated, [], per_bit, starts)
    flips = np.uint64(1) << np.arange(n, dtype=np.uint64)
    assert (weighted(peaks) >= weighted(starts) - 1e-12).all()
    assert (weighted(peaks[:, None] ^ flips[None, :]) <= weighted(peaks)[:, None] + 1e-12).all()
    with mock.patch("sim.market.MAX_PAIR_TABLE_ENTRIES", 0):  # every landscape computed
        other, none, computed = _climb_plan(n, terms)
        assert not none and len(computed) == 2 and other is not plan
        np.testing.assert_array_equal(other.climb([], computed, per_bit, starts), peaks)


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 64),
    count=st.integers(0, 20),
    seed=st.integers(0, 2**32 - 1),
)
def test_preference_fits_on_demand_are_the_tables_fits(n, count, seed):
    """`PreferenceFit` (a table of fits over the named decisions' settings, read through chunk
    tables, while at most 16 decisions are named) gives the fit computed preference by
    preference, bit for bit, and `preference_fit`'s table where N is small enough for one."""
    from sim.market import PreferenceFit

    rng = np.random.default_rng(seed)
    prefs = tuple(
        Preference(int(rng.integers(n)), int(rng.integers(2)), float(rng.choice([0.5, 1.0, 2.3])))
        for _ in range(count)
    )
    fit = PreferenceFit(prefs)
    top = 2**n - 1 if n < 64 else 2**64 - 1
    configs = rng.integers(0, top, size=(20, 3), dtype=np.uint64, endpoint=True)
    got = fit(configs)
    assert got.shape == configs.shape
    np.testing.assert_array_equal(got, fit._fit(configs))
    assert (fit._lookup is None) == (not prefs or len({p.decision for p in prefs}) > 16)
    if n <= 12:
        np.testing.assert_array_equal(got, preference_fit(prefs, n)[configs.astype(np.int64)])


def test_markets_with_the_same_preferences_share_one_table_of_fits():
    """The table of fits over the named decisions' settings is made once per process for a
    regime's preferences (every market of a scenario has the same), read-only, and gives the
    same fits as the computation preference by preference."""
    from sim.market import PreferenceFit

    prefs = tuple(Preference(i, i % 2, 1.0 + i / 10) for i in range(0, 40, 3))
    first, second = PreferenceFit(prefs), PreferenceFit(tuple(prefs))
    assert first._lookup is second._lookup
    chunks, fits = first._lookup
    assert not chunks.flags.writeable and not fits.flags.writeable
    configs = np.random.default_rng(3).integers(0, 2**40, size=500, dtype=np.uint64)
    np.testing.assert_array_equal(second(configs), first._fit(configs))
