"""The engine: one implementation of the rules, whatever view or batch runs it.

A `Firm` and a population of one, a batch and its runs one by one, any batch size, any order
and company of strategies: all give the same numbers, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.experiment import run_experiment, run_one, runs_table, simulate
from sim.model import Change, Market, engine_for, step_together
from sim.population import Population
from sim.scenario import load_scenario

RICH = {  # every random and stateful rule on: long jumps, proposals, learning, sensing
    "horizon": 60,
    "firm.initial_cash": 1e6,  # nobody exits: a population's firms never do
    "strategies.aligned.p_jump": 0.3,
    "strategies.aligned.proposals": 2,
    "strategies.aligned.sensing": 0.3,
}


@pytest.mark.parametrize("mode", ["decentralized", "sequential", "hierarchical"])
@pytest.mark.parametrize("search", ["best", "first"])
def test_a_firm_and_a_population_of_one_follow_the_same_trajectory(mode, search):
    sc = load_scenario(
        "bakery_gluten_free",
        {**RICH, "strategies.aligned.coordination": mode, "strategies.aligned.search": search},
    )
    assert sc.firm.learning.gain > 0
    for seed in range(4):
        firm = Market(scenario=sc, strategies=["aligned"], rng=seed).run().firms[0]
        engine = engine_for(sc)
        market = Market(scenario=sc, strategies=[], rng=seed, engine=engine)
        population = Population(
            market,
            strategy_name="aligned",
            strategy=sc.all_strategies["aligned"],
            configs=np.array([market.start_config]),
        )
        step_together([market])
        np.testing.assert_array_equal(population.log.configs[:, 0], firm.log.ints["config"])
        np.testing.assert_array_equal(
            population.log.performance[:, 0], firm.log.floats["performance"]
        )
        assert firm.log.ints["miles"].sum() > 0


def test_the_first_firm_of_a_population_is_the_firm_alone():
    sc = load_scenario(
        "bakery_gluten_free", {**RICH, "population.firms": 5, "firm.learning.gain": 0.0}
    )
    alone = load_scenario("bakery_gluten_free", {**RICH, "firm.learning.gain": 0.0})
    firm = Market(scenario=alone, strategies=["aligned"], rng=2).run().firms[0]
    crowd = Market(scenario=sc, strategies=["aligned"], rng=2).run().populations[0]
    np.testing.assert_array_equal(crowd.log.configs[:, 0], firm.log.ints["config"])
    assert len({tuple(crowd.log.configs[:, i]) for i in range(5)}) > 1  # own streams


@pytest.mark.parametrize("name", ["bakery_gluten_free", "boutique_online", "canteen_stable"])
def test_a_batch_equals_its_runs_one_by_one(name):
    sc = load_scenario(name, {"horizon": 90})
    batched = run_experiment(sc, seeds=range(3, 9))
    rows, frames = [], []
    for strategy in sc.compared_strategies:
        for seed in range(3, 9):
            row, frame = run_one(sc, strategy, seed)
            rows.append(row)
            frames.append(frame)
    alone = runs_table(rows)
    pd.testing.assert_frame_equal(
        batched.runs.drop(columns="strategy"), alone.drop(columns="strategy")
    )
    pd.testing.assert_frame_equal(
        batched.periods.drop(columns="strategy"),
        pd.concat(frames, ignore_index=True).drop(columns="strategy"),
    )


def test_results_do_not_depend_on_batch_size_or_order():
    sc = load_scenario("bakery_gluten_free", {"horizon": 80, "strategies.aligned.p_jump": 0.2})
    costly = load_scenario("bakery_gluten_free", {"horizon": 80, "costs.alignment": 6.0})
    runs = [
        (s, strategy, seed)
        for s in (sc, costly)
        for strategy in ("aligned", "efficiency_only")
        for seed in range(5)
    ]
    reference = pd.DataFrame([row for row, _ in simulate(runs, periods=False)])
    for batch_rows in (1, 3, 7):
        again = simulate(runs, periods=False, batch_rows=batch_rows)
        pd.testing.assert_frame_equal(pd.DataFrame([row for row, _ in again]), reference)
    order = np.random.default_rng(0).permutation(len(runs))
    shuffled = pd.DataFrame([row for row, _ in simulate([runs[i] for i in order], periods=False)])
    pd.testing.assert_frame_equal(shuffled, reference.iloc[order].reset_index(drop=True))


@pytest.mark.parametrize("strategy", ["efficiency_only", "aligned", "informed_silos"])
def test_a_strategy_behaves_the_same_alone_as_a_twin_and_in_any_order(strategy):
    sc = load_scenario("bakery_gluten_free", {"horizon": 100, "strategies.aligned.p_jump": 0.1})
    if strategy not in sc.all_strategies:
        pytest.skip(f"{strategy} is not a built-in strategy yet")
    others = [s for s in sc.all_strategies if s != strategy]
    for seed in range(5):
        alone = Market(scenario=sc, strategies=[strategy], rng=seed).run().firms[0]
        reference = alone.log.ints["config"].copy()
        for company in ([*others, strategy], [strategy, *others], [others[0], strategy]):
            market = Market(scenario=sc, strategies=company, rng=seed).run()
            firm = market.firms[company.index(strategy)]
            np.testing.assert_array_equal(firm.log.ints["config"], reference)


def test_a_live_change_acts_from_the_next_period_and_is_recorded():
    sc = load_scenario("bakery_gluten_free", {"horizon": 70})
    unchanged = Market(scenario=sc, strategies=["efficiency_only"], rng=1).run().firms[0]
    market = Market(scenario=sc, strategies=["efficiency_only"], rng=1)
    market.run_for(10)
    firm = market.firms[0]
    assert firm.departments[0].alpha == 0.0
    firm.set_strategy(sc.all_strategies["aligned"])
    assert firm.departments[0].alpha == pytest.approx(0.7)
    assert firm.coordination_cost == pytest.approx(
        sc.costs.coordination["hierarchical"] + sc.costs.alignment * 0.7 + sc.costs.sensing * 0.3
    )
    assert market.changes == [
        {"period": 11, "strategy": "efficiency_only", "change": "strategy aligned"}
    ]
    market.run()
    before, after = slice(0, 11), slice(11, None)
    for column in ("profit", "market_value"):
        np.testing.assert_array_equal(
            firm.log.floats[column][before], unchanged.log.floats[column][before]
        )
    assert not np.array_equal(
        firm.log.floats["profit"][after], unchanged.log.floats["profit"][after]
    )


def test_scheduled_changes_in_a_batch_equal_live_changes_in_one_market():
    sc = load_scenario("bakery_gluten_free", {"horizon": 90})
    aligned = sc.all_strategies["aligned"]
    changes = [
        Change(period=31, firm="efficiency_only", strategy=aligned),
        Change(period=45, shift_to="health_conscious"),
    ]
    batch = run_experiment(sc, seeds=range(4), changes=changes)
    for seed in range(4):
        market = Market(scenario=sc, strategies=sc.compared_strategies, rng=seed)
        market.run_for(30)
        market.firms[0].set_strategy(aligned)
        market.run_for(14)
        market.shift_now("health_conscious")
        market.run()
        for firm in market.firms:
            own = batch.periods[
                (batch.periods.seed == seed) & (batch.periods.strategy == firm.strategy_name)
            ]
            np.testing.assert_array_equal(own["config"], firm.log.ints["config"])
            np.testing.assert_array_equal(own["profit"], firm.log.floats["profit"])
        silo = batch.periods[
            (batch.periods.seed == seed) & (batch.periods.strategy == "efficiency_only")
        ]
        assert silo["change"].tolist()[31] == "strategy aligned"
        assert silo["market_shift"].tolist()[45].startswith("customers move to health_conscious")


def test_markets_stepped_together_run_their_events_and_end_with_their_clocks_at_the_horizon():
    sc = load_scenario("bakery_gluten_free", {"horizon": 70})
    engine = engine_for(sc, markets=3)
    markets = [Market(scenario=sc, strategies=["aligned"], rng=s, engine=engine) for s in range(3)]
    markets[1].schedule(Change(period=33, shift_to="health_conscious", label="early"))
    step_together(markets)
    for market in markets:
        assert market.time == market.period == 70 and not market.running
    early = [m.shift_labels.index("early") if "early" in m.shift_labels else -1 for m in markets]
    assert early == [-1, 33, -1]
    assert markets[1].environment.regime == "health_conscious"
    assert markets[0].shift_labels[60].startswith("customers move to health_conscious")


def test_shift_now_is_an_event_and_asking_twice_shifts_once():
    sc = load_scenario("bakery_gluten_free", {"horizon": 70})
    market = Market(scenario=sc, strategies=["efficiency_only"], rng=1)
    market.run_for(5)
    first = market.shift_now()
    assert market.shift_now() is first
    market.step()
    assert market.environment.regime == "health_conscious"
    assert market.shift_labels[6].endswith("(now)") and ";" not in market.shift_labels[6]


def test_random_words_are_splitmix64():
    from sim.streams import words

    # SplitMix64 from state 0 (Steele, Lea & Flood 2014; the reference C code's first outputs)
    expected = [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
    assert [int(w) for w in words(np.array([0], dtype=np.uint64), 0, np.arange(3))[0]] == expected


def test_words_from_terms_made_once_equal_words_per_line():
    """`propose` makes each department's long-jump terms once and gathers them per line: the
    same words as `words` with every line's slots, in both banks."""
    from sim.streams import counters, mix, words

    keys = np.random.default_rng(3).integers(0, 2**63, 40, dtype=np.int64).astype(np.uint64)
    slots = np.array([[0, 1], [2, 3], [64 + 4, 64 + 5], [6, 70]])
    line_slots = slots[np.arange(40) % 4]
    for period in (0, 1, 77, 10**6):
        gathered = mix(keys[:, None] + counters(period, slots)[np.arange(40) % 4])
        assert np.array_equal(gathered, words(keys, period, line_slots))
        assert np.array_equal(
            mix(keys + counters(period, slots[0])[:, None]).T, words(keys, period, slots[0])
        )


@pytest.mark.parametrize("mode", ["decentralized", "sequential", "hierarchical"])
def test_a_trace_of_a_period_matches_the_firms_next_configuration(mode):
    sc = load_scenario(
        "bakery_gluten_free",
        {**RICH, "strategies.aligned.coordination": mode, "horizon": 80},
    )
    market = Market(scenario=sc, strategies=["aligned"], rng=5)
    firm = market.firms[0]
    market.run_for(55)
    firm.trace()
    for _ in range(10):
        before = firm.config
        market.step()
        trace = firm.trace_frame()
        trace = trace[trace["period"] == market.period]
        (decided,) = trace.loc[trace["step"] == "decision", "config"]
        assert decided == firm.config
        departments = trace[trace["step"] == "department"]
        best = departments[departments["proposal_rank"] == 0]
        if mode == "decentralized":  # each department's best, merged onto the old configuration
            merged = sum(
                int(row.config) & firm.departments[row.department].mask for row in best.itertuples()
            )
            assert merged == firm.config
        if mode == "hierarchical":  # the head office's pick, by perceived performance
            office = trace[trace["step"] == "head office"]
            chosen = office[office["proposal_rank"] == 0]
            assert chosen["config"].item() == firm.config
            assert chosen["perceived_performance"].item() == office["perceived_performance"].max()
            status_quo = office[office["config"] == before]["perceived_performance"].max()
            assert office["perceived_performance"].max() >= status_quo
        if mode == "sequential":  # departments move one after the other: each sees the last
            assert len(set(departments["department"])) == len(firm.departments)
        # every department's utility is U_d = (1 - alpha) E_d + alpha P_hat
        alpha = firm.departments[0].alpha
        expected = (1 - alpha) * departments["own_efficiency"] + alpha * departments[
            "perceived_performance"
        ]
        np.testing.assert_allclose(departments["utility"], expected)


@pytest.mark.parametrize("bound", ["BATCH_MEMORY", "BATCH_HISTORY"])
def test_batches_are_bounded_by_the_memory_of_their_landscapes_and_records(monkeypatch, bound):
    from sim import experiment

    sc = load_scenario("bakery_gluten_free", {"horizon": 40, "market.shifts": []})
    runs = [(sc, "aligned", seed) for seed in range(10)]
    reference = pd.DataFrame([row for row, _ in simulate(runs, periods=False)])
    engines = []
    real = experiment.engine_for
    size = {"BATCH_MEMORY": experiment.market_bytes, "BATCH_HISTORY": experiment.history_bytes}
    monkeypatch.setattr(experiment, bound, 3 * size[bound](sc))
    monkeypatch.setattr(
        experiment, "engine_for", lambda *a, **k: engines.append(1) or real(*a, **k)
    )
    bounded = pd.DataFrame([row for row, _ in simulate(runs, periods=False)])
    assert len(engines) == 4  # 3 + 3 + 3 + 1 markets
    pd.testing.assert_frame_equal(bounded, reference)


LEVINTHAL = "scenarios/validation/levinthal_1997.toml"


def _population_run(sc, seeds, strategies, *, shortcuts, changes=()):
    """Markets of ``sc`` on one engine, run to the horizon (``changes``: (period, FirmSettings,
    rows) given before that period); the engine."""
    engine = engine_for(sc, markets=len(seeds))
    engine.shortcuts = shortcuts
    markets = [Market(scenario=sc, strategies=strategies, rng=s, engine=engine) for s in seeds]
    engine.build()
    for t in range(1, sc.horizon + 1):
        for period, settings, rows in changes:
            if period == t:
                engine.set_settings(rows, settings)
        for market in markets:
            market.run_until(t)
            market.advance()
            engine.update_market(market.index)
        engine.step(t)
    return engine


def _assert_same_history(fast, general):
    for name in ("config", "ids", "moved", "alive", *fast.history.FLOATS):
        np.testing.assert_array_equal(
            getattr(fast.history, name), getattr(general.history, name), err_msg=name
        )
    np.testing.assert_array_equal(fast.entrants, general.entrants)
    np.testing.assert_array_equal(fast.belief, general.belief)


@pytest.mark.parametrize(
    "overrides",
    [
        {"market.k": 5},  # Levinthal's Fig. 6: first improvement, a long jump every period
        {"market.k": 0, "strategies.levinthal.search": "best"},
        {"market.k": 2, "strategies.levinthal.p_jump": 0.0},
        {  # beliefs that lag the market, alignment below 1, efficiency in performance
            "strategies.levinthal.p_jump": 0.3,
            "strategies.levinthal.alpha": 0.4,
            "strategies.levinthal.sensing": 0.5,
            "firm.beta": 0.7,
            "efficiency.k_within": 3,
        },
        {"population.selection": "none", "strategies.levinthal.alpha": 0.0},
    ],
)
def test_population_move_tables_give_the_general_paths_numbers(overrides):
    sc = load_scenario(LEVINTHAL, {"horizon": 40, **overrides})
    fast = _population_run(sc, range(5), ["levinthal"], shortcuts=True)
    general = _population_run(sc, range(5), ["levinthal"], shortcuts=False)
    _assert_same_history(fast, general)
    assert fast._tables.decided > 0 and general._tables.decided == 0
    assert (fast.history.config[1:] != fast.history.config[:-1]).any()  # firms moved


def test_move_tables_for_populations_of_several_sizes_in_one_engine(monkeypatch):
    from sim.engine import _MoveTables

    monkeypatch.setattr(_MoveTables, "MIN_FIRMS_SHARE", 0.0)
    sc = load_scenario(LEVINTHAL, {"horizon": 30, "market.k": 3})
    runs = {}
    for shortcuts in (True, False):
        engine = engine_for(sc, markets=3)
        engine.shortcuts = shortcuts
        markets = []
        for seed in range(3):  # each market: 100 firms, then a population of 40 more
            market = Market(scenario=sc, strategies=["levinthal"], rng=seed, engine=engine)
            Population(
                market,
                strategy_name="few",
                strategy=sc.all_strategies["levinthal"],
                configs=market.population_starts[:40],
            )
            markets.append(market)
        step_together(markets)
        runs[shortcuts] = engine
    _assert_same_history(runs[True], runs[False])
    assert runs[True]._tables.decided == 140 * 3 * 30  # every period (the redraw: new tables)


def test_move_tables_are_not_rebuilt_while_beliefs_move():
    sc = load_scenario(LEVINTHAL, {"horizon": 40, "strategies.levinthal.sensing": 0.5})
    engine = _population_run(sc, range(2), ["levinthal"], shortcuts=True)
    # tables for periods 1-24, new ones at the redraw (t = 25: the old ones had lasted), then
    # none while beliefs move half way to the new landscape each period (t = 26-40)
    assert engine._tables.decided == 2 * 100 * 25


def test_move_tables_for_many_departments_and_live_changes_match(monkeypatch):
    from dataclasses import replace

    from sim.engine import _MoveTables
    from sim.settings import firm_settings

    monkeypatch.setattr(_MoveTables, "MIN_FIRMS_SHARE", 0.0)  # tables for small populations
    sc = load_scenario(
        "bakery_gluten_free",
        {
            "horizon": 70,
            "market.shifts.0.at": 20,
            "population.firms": 12,
            "population.starts": "random",
            "firm.start": "random",
            "firm.initial_decisions": {},
            "firm.learning.gain": 0.0,
            "strategies.efficiency_only.p_jump": 0.5,
            "strategies.aligned.p_jump": 0.5,
            "strategies.aligned.coordination": "decentralized",
            "strategies.aligned.search": "first",
        },
    )
    silo = firm_settings(sc, sc.all_strategies["efficiency_only"], firms=12)
    silo = replace(silo, alphas=(0.5,) * 4)  # alignment, but blind: beliefs never change
    aligned = firm_settings(sc, sc.all_strategies["aligned"], firms=12)
    silos = np.r_[0:12, 24:36, 48:60]  # each market: 12 efficiency-only rows, 12 aligned
    changes = [
        (1, silo, silos),
        (1, replace(silo, alphas=(0.5, 0.9, 0.5, 0.5)), np.array([5])),  # its own alpha
        (1, replace(aligned, search="best"), np.array([17])),  # its own search rule
        (1, replace(silo, sensing=0.9), np.array([30])),  # its own beliefs after the shift
        (35, replace(silo, search="first"), np.r_[48:60]),  # a new rule for a population
        (50, replace(silo, alphas=(0.2, 0.9, 0.0, 0.5), search="first"), np.r_[48:60]),
    ]
    runs = {
        shortcuts: _population_run(
            sc, range(3), ["efficiency_only", "aligned"], shortcuts=shortcuts, changes=changes
        )
        for shortcuts in (True, False)
    }
    _assert_same_history(runs[True], runs[False])
    assert runs[True]._tables.decided > 0


def test_move_tables_are_used_where_their_conditions_hold_and_only_there(monkeypatch):
    from dataclasses import replace

    from sim.engine import FirmSettings, _MoveTables

    monkeypatch.setattr(_MoveTables, "MIN_FIRMS_SHARE", 0.0)
    sc = load_scenario(
        "bakery_gluten_free",
        {
            "horizon": 20,
            "population.firms": 6,
            "market.shifts": [],
            "firm.learning.gain": 0.0,
            "strategies.efficiency_only.coordination": "sequential",
        },
    )
    # sequential and hierarchical coordination
    engine = _population_run(sc, range(2), ["efficiency_only", "aligned"], shortcuts=True)
    assert engine._tables.decided == 0
    plain = FirmSettings(  # decentralized, no learning: tables (set on the engine's rows)
        alphas=(0.5,) * 4,
        coordination="decentralized",
        sensing=0.0,
        p_jump=0.0,
        proposals=1,
        search="best",
        cost=0.0,
        money_scale=1.0,
        break_even=0.0,
        initial_cash=0.0,
    )
    for settings, used in [
        (plain, True),
        (replace(plain, alternatives=4), True),  # every flip of the largest department
        (replace(plain, engagement=(0.8,) * 4, engaged_search=False), True),
        (replace(plain, gain=0.3), False),  # learning by doing
        (replace(plain, alternatives=2), False),  # a sample of the flips
        (replace(plain, engagement=(0.8,) * 4), False),  # engagement scales search
        (replace(plain, understanding=(0.6,) * 4), False),  # the coupling is alpha x u
    ]:
        runs = [
            _population_run(
                sc, range(2), ["efficiency_only"], shortcuts=on, changes=[(1, settings, np.r_[:12])]
            )
            for on in (True, False)
        ]
        assert (runs[0]._tables.decided > 0) == used, settings
        _assert_same_history(*runs)
    small = load_scenario(LEVINTHAL, {"horizon": 30, "population.firms": 50})
    monkeypatch.setattr(_MoveTables, "MIN_FIRMS_SHARE", 1 / 16)  # 50 firms < 2**10 / 16
    assert _population_run(small, range(2), ["levinthal"], shortcuts=True)._tables.decided == 0


def test_an_engine_of_populations_keeps_only_what_their_logs_read():
    """Issue 20 (memory of population_huge): population rows kept the full single-firm
    records (seven floats, four integers, a flag, department efficiencies) and read four."""
    from sim.engine import History

    sc = load_scenario(
        "bakery_gluten_free", {"horizon": 70, "population.firms": 50, "firm.learning.gain": 0.0}
    )
    crowd = Market(scenario=sc, strategies=["aligned", "efficiency_only"], rng=3).run()
    history = crowd.engine.history
    kept = {name for name, value in vars(history).items() if isinstance(value, np.ndarray)}
    assert kept == set(History.POPULATION)
    assert sum(getattr(history, n).nbytes for n in kept) == 4 * 71 * 100 * 8
    table = crowd.populations[0].period_table()  # everything a population reports still works
    assert np.isfinite(table["performance_norm"]).all() and table["miles"][1:].sum() > 0
    alone = Market(scenario=load_scenario("bakery_gluten_free", {"horizon": 70}), rng=3).run()
    assert alone.engine.history.single_firms and alone.engine.history.alive.any()


def _department_order(sc, seed: int, periods: int) -> list[list[int]]:
    """The order in which the aligned firm's departments proposed, per traced period."""
    market = Market(scenario=sc, strategies=["aligned"], rng=seed)
    firm = market.firms[0]
    firm.trace()
    market.run_for(periods)
    trace = firm.trace_frame()
    steps = trace[trace["step"] == "department"]
    return [list(dict.fromkeys(g["department"])) for _, g in steps.groupby("period", sort=True)]


def test_sequential_departments_move_in_a_fixed_order_only_when_asked():
    base = {**RICH, "strategies.aligned.coordination": "sequential"}
    fixed = load_scenario(
        "bakery_gluten_free", {**base, "strategies.aligned.sequential_order": "fixed"}
    )
    count = len(fixed.departments)
    assert all(order == list(range(count)) for order in _department_order(fixed, 3, 30))
    drawn = _department_order(load_scenario("bakery_gluten_free", base), 3, 30)
    assert len({tuple(order) for order in drawn}) > 1  # the default draws an order each period


def test_the_default_order_is_the_random_one_bit_for_bit():
    base = {**RICH, "strategies.aligned.coordination": "sequential"}
    default = run_experiment(load_scenario("bakery_gluten_free", base), seeds=6).periods
    explicit = run_experiment(
        load_scenario(
            "bakery_gluten_free", {**base, "strategies.aligned.sequential_order": "random"}
        ),
        seeds=6,
    ).periods
    pd.testing.assert_frame_equal(default, explicit)


def test_sequential_runs_are_bit_identical_to_before_the_order_option():
    # the hash of these efficiencies was computed on main before `sequential_order` existed
    import hashlib

    from sim.validation.experiments import scenario

    sc = scenario(
        "ethiraj_levinthal_2004",
        {
            "efficiency.cross": 2,
            "horizon": 40,
            "strategies.silos.coordination": "sequential",
            "strategies.silos.alpha": 0.5,
        },
    )
    result = run_experiment(sc, seeds=12)
    efficiency = result.periods.sort_values(["seed", "period"])["efficiency"].to_numpy()
    digest = hashlib.sha256(np.ascontiguousarray(efficiency).tobytes()).hexdigest()
    assert digest == "38636fa3c72ed58f4704951c8d0cfce4626720db86653c2a41511eea4ca31e25"
    assert int(result.runs["cycled"].sum()) == 1


def _many_departments(departments: int, *, proposals: int = 2, horizon: int = 30) -> dict:
    """A scenario of ``departments`` departments of two decisions each, a hierarchical aligned
    strategy with ``proposals`` proposals and a hierarchical one with one (never screened)."""
    from sim.scenario.load import validate_scenario

    names = [f"d{i}" for i in range(2 * departments)]
    hierarchical = {"alpha": 0.7, "coordination": "hierarchical", "sensing": 0.3, "p_jump": 0.05}
    return validate_scenario(
        {
            "name": f"departments_{departments}",
            "horizon": horizon,
            "seeds": 4,
            "departments": [
                {"name": f"dept{d}", "decisions": names[2 * d : 2 * d + 2]}
                for d in range(departments)
            ],
            "efficiency": {"structure": "nearly_decomposable", "k_within": 1, "cross": 1},
            "market": {
                "rho": 0.2,
                "k": 2,
                "regimes": [
                    {
                        "name": "before",
                        "preferences": [{"decision": n, "value": 1} for n in names[::3]],
                    },
                    {
                        "name": "after",
                        "preferences": [{"decision": n, "value": 1} for n in names[1::3]],
                    },
                ],
                "shifts": [{"kind": "abrupt", "at": horizon // 2, "to": "after"}],
            },
            "firm": {"beta": 0.6, "start": "random"},
            "strategies": {
                "aligned": {**hierarchical, "proposals": proposals},
                "one_proposal": {**hierarchical, "proposals": 1},
            },
        }
    )


@pytest.mark.parametrize("departments, screened", [(6, False), (7, True), (8, True)])
def test_a_head_office_screens_combinations_only_above_its_limit(departments, screened):
    """Up to `HEAD_OFFICE_COMBINATIONS` (2 ** 6 = 64) the head office evaluates every
    combination of its departments' two proposals; above, the status quo and the combinations
    that differ from the departments' first proposals in at most two departments (1 + D + D (D
    - 1) / 2 of them), and it adopts the one with the highest P_hat."""
    from sim.engine import HEAD_OFFICE_COMBINATIONS

    sc = _many_departments(departments)
    market = Market(scenario=sc, strategies=["aligned"], rng=3)
    firm = market.firms[0]
    firm.trace()
    expected = (
        1 + departments + departments * (departments - 1) // 2 if screened else 2**departments
    )
    assert (2**departments > HEAD_OFFICE_COMBINATIONS) == screened
    for _ in range(12):
        market.step()
        trace = firm.trace_frame()
        trace = trace[trace["period"] == market.period]
        office = trace[trace["step"] == "head office"]
        assert len(office) == 1 + expected  # the status quo, then the combinations
        proposals = trace[(trace["step"] == "department") & (trace["proposal_rank"] >= 0)]
        first, second = {}, {}
        for row in proposals.itertuples():
            mask = firm.departments[row.department].mask
            (first if row.proposal_rank == 0 else second)[row.department] = int(row.config) & mask
        for d in first:  # a department with one alternative repeats its best
            second.setdefault(d, first[d])
        combos = office["config"].to_numpy()[1:]
        base = sum(first.values())
        changed = [
            sum((int(c) & firm.departments[d].mask) != first[d] for d in first) for c in combos
        ]
        assert combos[0] == base and max(changed) <= (2 if screened else departments)
        if screened:  # every combination within two departments of the first proposals
            import itertools

            within = {base}
            for a, b in itertools.combinations(sorted(first), 2):
                within |= {
                    base - first[a] + second[a],
                    base - first[a] - first[b] + second[a] + second[b],
                }
            within |= {base - first[d] + second[d] for d in first}
            assert set(int(c) for c in combos) == within
        chosen = office[office["proposal_rank"] == 0]
        assert chosen["config"].item() == firm.config
        assert chosen["perceived_performance"].item() == office["perceived_performance"].max()


def test_screened_and_exhaustive_head_offices_give_the_same_numbers_alone_and_together():
    """A screening head office (two proposals, 8 departments) and an exhaustive one (one
    proposal) in one market, or in one batch, give each the numbers it gives alone."""
    sc = _many_departments(8, horizon=20)
    together = run_experiment(sc, seeds=3, strategies=["aligned", "one_proposal"]).periods
    for name in ("aligned", "one_proposal"):
        alone = run_experiment(sc, seeds=3, strategies=[name]).periods
        mine = together[together["strategy"] == name].reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.reset_index(drop=True), check_categorical=False)


def test_firm_settings_are_compiled_once_per_scenario_strategy_and_size():
    """`firm_settings` with the scenario's costs returns the settings compiled for the same
    scenario, strategy and size (frozen, so shared), equal to compiling them anew; other sizes,
    scenarios or explicit costs get their own."""
    from sim.settings import _compile, firm_settings

    sc = load_scenario("bakery_gluten_free")
    strategy = sc.strategy("aligned")
    first = firm_settings(sc, strategy, firms=50)
    assert firm_settings(sc, strategy, firms=50) is first
    assert first == _compile(sc, strategy, sc.costs, 50)
    single = firm_settings(sc, strategy)
    assert single is not first and single.bankruptcy and not first.bankruptcy
    other = load_scenario("bakery_gluten_free")  # equal, another object: its own entry
    again = firm_settings(other, other.strategy("aligned"), firms=50)
    assert again == first and again is not first
    assert firm_settings(sc, strategy, sc.costs, firms=50) == first


def test_engine_build_gives_every_population_its_settings_and_group_bounds():
    """Populations of several markets and strategies in one engine (settings handed over
    once per run of equal settings): every row has its own strategy's parameters, and each
    group's size and first row are those of its rows."""
    sc = load_scenario("bakery_gluten_free", {"population.firms": 5, "firm.learning.gain": 0.0})
    engine = engine_for(sc, markets=3)
    markets = [
        Market(scenario=sc, strategies=["efficiency_only", "aligned"], rng=s, engine=engine)
        for s in range(3)
    ]
    engine.build()
    for market in markets:
        for population in market.populations:
            rows = np.arange(population.rows.start, population.rows.stop)
            np.testing.assert_array_equal(
                engine.alpha[rows], np.tile(sc.alpha_of(population.strategy), (rows.size, 1))
            )
            assert (engine.p_jump[rows] == population.strategy.p_jump).all()
            group = engine.group[rows[0]]
            assert engine.group_size[group] == rows.size
            assert engine.group_start[group] == rows[0]


@pytest.mark.parametrize("name", ["bakery_gluten_free", "hospitality_eco_tourism"])
def test_markets_computed_in_the_engine_equal_markets_copied_in(monkeypatch, name):
    """A market computes its tables in the engine's rows (`Engine.reserve`): they are views of
    the engine's arrays, and equal, bit for bit, the tables of the same markets copied in
    (reserve off), also past the engine's capacity (its arrays replaced) and after a run."""
    from sim.engine import Engine

    sc = load_scenario(name)

    def markets() -> tuple[Engine, list[Market]]:
        engine = engine_for(sc, markets=2)
        built = [
            Market(scenario=sc, strategies=["aligned"], rng=s, engine=engine) for s in range(5)
        ]
        return engine, built

    engine, in_place = markets()
    for i, market in enumerate(in_place):
        assert np.shares_memory(market.state.department_efficiency, engine.department_land)
        assert market.environment.basis is engine._basis_views[i]
        assert market.state.landscape_performance is engine._views[i]
    monkeypatch.setattr(Engine, "reserve", lambda self, basis_size: None)
    copied_engine, copied = markets()
    for a, b in zip(in_place, copied, strict=True):
        assert np.array_equal(a.department_efficiency, b.department_efficiency)
        assert np.array_equal(a.environment.basis, b.environment.basis)
        assert np.array_equal(a.landscape_performance, b.landscape_performance)
        assert (a.port, a.start_config) == (b.port, b.start_config)
    step_together(in_place)
    step_together(copied)
    assert np.array_equal(engine.history.config, copied_engine.history.config)
    assert np.array_equal(engine.history.performance, copied_engine.history.performance)
    used = slice(0, 5 * engine.size)  # (rows past the markets: room, not written)
    assert np.array_equal(engine.performance_land[used], copied_engine.performance_land[used])
