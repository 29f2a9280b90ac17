"""Imitation (`[adaptation] imitation`, docs/ODD.md §7.19): the rule by hand (a random rival, a
partner, the population's best, a noisy look), in the engine (records, bit-identical when off,
the same numbers for any batch size or number of workers) and its errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import sparse, special

from sim import streams
from sim.adaptation import LOOK_SLOT, MODEL_SLOT, NOISE_SLOT, Adaptation, AdaptationRule
from sim.competition import run_competition
from sim.experiment import run_experiment
from sim.scenario import ScenarioError, load_scenario


def _rule(**kw) -> AdaptationRule:
    base = dict(
        names=("a", "b", "c"), menu=("A", "B", "C"), review=1, recency=0.5,
        aspiration_speed=0.5, temperature=1.0, imitation=1.0,
    )  # fmt: skip
    return AdaptationRule(**{**base, **kw})


def _review(rule, settings, profits, *, pools=None, partners=None, keys=None, t=1):
    """One first review (every firm satisfied: its aspiration starts at its profit, so only
    imitation changes a strategy) of firms following ``settings`` and earning ``profits``."""
    n = len(settings)
    a = Adaptation(n, [(np.arange(n), rule, 0)])
    a.setting[:] = settings
    keys = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(7919) if keys is None else keys
    a.earn(np.arange(n), np.asarray(profits, dtype=float))
    changed = a.revise(np.arange(n), keys, t, pools=pools, partners=partners)
    return a, changed, keys


def _u(keys: np.ndarray, t: int, slot: int) -> np.ndarray:
    """The centred uniforms in (0, 1) imitation draws (as `Adaptation._models`)."""
    w = streams.words(keys, t, np.array([slot]))[:, 0]
    return ((w >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53


def test_the_population_best_by_hand():
    # profits 1, 5, 3: firm 0's and firm 2's best other is firm 1 (5 beats 1 and 3): they copy
    # its strategy; firm 1's best other is firm 2 (3 < 5): it keeps its own
    a, changed, _ = _review(_rule(peers="population"), [0, 1, 2], [1.0, 5.0, 3.0])
    assert a.model.tolist() == [1, -1, 1]
    assert a.setting.tolist() == [1, 1, 1]
    assert changed.tolist() == [0, 2]


def test_a_better_peer_with_the_same_strategy_is_not_an_imitation():
    a, changed, _ = _review(_rule(peers="population"), [1, 1], [1.0, 5.0])
    assert a.model.tolist() == [-1, -1] and changed.size == 0


def test_a_random_rival_by_hand():
    # four rivals, strategies 0, 1, 2, 0 and profits 4, 3, 2, 1: each draws one of the other
    # three (the pick-th in row order, pick = floor(u * 3)) and copies it if it earned more
    # and follows another strategy
    settings, profits = [0, 1, 2, 0], [4.0, 3.0, 2.0, 1.0]
    a, _, keys = _review(_rule(peers="rivals"), settings, profits)
    u = _u(keys, 1, MODEL_SLOT)
    expected = []
    for i in range(4):
        others = [j for j in range(4) if j != i]
        j = others[int(u[i] * 3)]
        better = profits[j] > profits[i] and settings[j] != settings[i]
        expected.append(j if better else -1)
    assert a.model.tolist() == expected
    assert a.setting.tolist() == [
        settings[m] if m >= 0 else s for m, s in zip(expected, settings, strict=True)
    ]


def test_pools_keep_markets_apart():
    # two markets of two firms: 0 and 1 in one, 2 and 3 in the other; only 1 (in the first)
    # and 3 (in the second) earn more than their one rival
    a, _, _ = _review(
        _rule(peers="rivals"), [0, 1, 2, 0], [1.0, 9.0, 1.0, 2.0], pools=np.array([0, 0, 1, 1])
    )
    assert a.model.tolist() == [1, -1, 3, -1]


def test_partners_only():
    # firms 0 and 1 are partners, 2 has none: 2 never imitates though 1 earns most
    links = sparse.csr_matrix(np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=float))
    a, _, _ = _review(_rule(peers="partners"), [0, 1, 2], [1.0, 9.0, 2.0], partners=links)
    assert a.model.tolist() == [1, -1, -1]
    a, _, _ = _review(_rule(peers="partners"), [0, 1, 2], [1.0, 9.0, 2.0], partners=None)
    assert a.model.tolist() == [-1, -1, -1]  # a market without links: nobody to imitate


def test_a_noisy_look_by_hand():
    # firm 0 earns 1, firm 1 earns 1.5; firm 0 sees 1.5 + 2 z with z = ndtri(u), u its word
    rule = _rule(peers="population", imitation_noise=2.0)
    a, _, keys = _review(rule, [0, 1], [1.0, 1.5])
    z = special.ndtri(_u(keys, 1, NOISE_SLOT))
    assert (a.model[0] == 1) == (1.5 + 2.0 * z[0] > 1.0)
    assert (a.model[1] == 0) == (1.0 + 2.0 * z[1] > 1.5)


def test_firms_look_with_the_probability_given():
    """Pairs (a firm earning 0 with a rival earning 1 of another strategy): the share of
    firms earning 0 that copy is the chance to look, 0.3 (within 4 standard errors)."""
    pairs = 10_000
    n = 2 * pairs
    settings = np.tile([0, 1], pairs)
    profits = np.tile([0.0, 1.0], pairs)
    keys = np.arange(1, n + 1, dtype=np.uint64) * np.uint64(104729)
    a, _, _ = _review(
        _rule(imitation=0.3), settings, profits, pools=np.repeat(np.arange(pairs), 2), keys=keys
    )
    copied = a.model[0::2] >= 0
    looked = _u(keys[0::2], 1, LOOK_SLOT) < 0.3
    assert np.array_equal(copied, looked)  # every look at a better rival is a copy
    assert abs(copied.mean() - 0.3) < 4 * np.sqrt(0.3 * 0.7 / pairs)
    assert not (a.model[1::2] >= 0).any()  # the better firm of a pair never copies


def test_a_dissatisfied_firm_that_imitates_does_not_draw():
    rule = _rule(peers="population")
    a = Adaptation(2, [(np.arange(2), rule, 0)])
    a.setting[:] = [0, 2]
    a.aspiration[:] = 100.0  # both dissatisfied
    a.attraction[:] = 0.0
    a.earn(np.arange(2), np.array([1.0, 5.0]))
    a.revise(np.arange(2), np.array([3, 4], dtype=np.uint64), 1, pools=np.zeros(2, np.int64))
    assert a.model.tolist() == [1, -1] and a.setting[0] == 2


# ---------------------------------------------------------------------- in the engine
LEARN = {"strategies": ["efficiency_only", "aligned"], "start": "random"}
MARKET = {"competition": {"firms": {"efficiency_only": 3, "aligned": 3}}, "horizon": 48}


def test_off_is_bit_identical():
    learn = load_scenario("canteen_stable", {**MARKET, "adaptation": LEARN})
    plain = run_competition(learn, seeds=3)
    zero = run_competition(
        load_scenario("canteen_stable", {**MARKET, "adaptation": {**LEARN, "imitation": 0.0}}),
        seeds=3,
    )
    assert plain.runs.equals(zero.runs) and plain.periods.equals(zero.periods)
    assert "imitations" not in zero.runs and "imitated" not in zero.periods


def test_records_in_a_market_and_any_batch_size():
    scenario = load_scenario(
        "canteen_stable", {**MARKET, "adaptation": {**LEARN, "imitation": 0.5, "review": 6}}
    )
    result = run_competition(scenario, seeds=4)
    runs, periods = result.runs, result.periods
    assert runs["imitations"].sum() > 0
    copied = periods[periods["imitated"] != ""]
    assert len(copied) == runs["imitations"].sum()
    assert (copied["period"] % 6 == 0).all()  # only at reviews
    # the strategy followed from the next period on is the imitated firm's at the review
    for _, row in copied[copied["period"] < 48].head(20).iterrows():
        strategy, index = row["imitated"].rsplit(" ", 1)
        model = periods[
            (periods["seed"] == row["seed"])
            & (periods["strategy"] == strategy)
            & (periods["firm"] == int(index))
        ].set_index("period")
        mine = periods[
            (periods["seed"] == row["seed"])
            & (periods["strategy"] == row["strategy"])
            & (periods["firm"] == row["firm"])
        ].set_index("period")
        assert mine.loc[row["period"] + 1, "adopted"] == model.loc[row["period"], "adopted"]
        assert mine.loc[row["period"], "adopted"] != model.loc[row["period"], "adopted"]
    small = run_competition(scenario, seeds=4, batch_rows=6)  # one market per batch
    assert small.runs.equals(runs) and small.periods.equals(periods)


def test_the_same_numbers_whatever_the_worker_split():
    """A sweep's workers may get a market's runs of one strategy each (`simulate_runs`): each
    computes the whole market, imitation included, so the numbers are those computed together."""
    from sim.competition import simulate_runs

    scenario = load_scenario(
        "canteen_stable", {**MARKET, "adaptation": {**LEARN, "imitation": 0.5, "review": 6}}
    )
    runs = [(scenario, name, seed) for seed in (3, 4) for name in ("efficiency_only", "aligned")]
    together = [row for row, _ in simulate_runs(runs)]
    apart = [simulate_runs([run])[0][0] for run in runs]
    assert pd.DataFrame(together).equals(pd.DataFrame(apart))  # (NaN where no firm closed)
    assert sum(row["imitations"] for row in together) > 0


def test_partners_network_in_the_engine():
    network = {"kind": "ring", "information_sharing": 0.0}
    scenario = load_scenario(
        "canteen_stable",
        {
            **MARKET,
            "competition.network": network,
            "adaptation": {**LEARN, "imitation": 1.0, "review": 6},
        },
    )
    periods = run_competition(scenario, seeds=3).periods
    copied = periods[periods["imitated"] != ""]
    assert len(copied) > 0
    # on a ring of 6 firms (efficiency_only 0-2 are nodes 0-2, aligned 0-2 nodes 3-5) a firm
    # copies only its two neighbours
    node = {("efficiency_only", i): i for i in range(3)} | {("aligned", i): 3 + i for i in range(3)}
    for _, row in copied.iterrows():
        strategy, index = row["imitated"].rsplit(" ", 1)
        gap = abs(node[(strategy, int(index))] - node[(row["strategy"], row["firm"])])
        assert gap in (1, 5)


def test_a_population_imitates_its_best():
    scenario = load_scenario(
        "canteen_stable",
        {
            "population.firms": 6,
            "firm.learning.gain": 0.0,
            "horizon": 48,
            "adaptation": {**LEARN, "imitation": 1.0, "review": 6},
        },
    )
    result = run_experiment(scenario, strategies=["aligned"], seeds=2)
    assert (result.runs["imitations"] > 0).all()
    per_run = result.periods.groupby("seed")["imitations"].sum()
    assert per_run.tolist() == result.runs.sort_values("seed")["imitations"].tolist()


def test_a_firm_alone_cannot_imitate():
    with pytest.raises(ScenarioError, match=r"adaptation\.imitation"):
        load_scenario("canteen_stable", {"adaptation": {**LEARN, "imitation": 0.5}})


def test_explain_says_whom_a_firm_imitates():
    from sim.explain import explain

    learn = {"adaptation": {**LEARN, "imitation": 0.25, "imitation_noise": 0.5}}
    market = explain(load_scenario("canteen_stable", {**MARKET, **learn}))
    assert "with chance 0.25, it looks at a rival of its market drawn at random" in market
    assert "error of sd 0.5" in market
    ring = {**MARKET, "competition.network": {"kind": "ring"}, **learn}
    assert "one of its partners drawn at random" in explain(load_scenario("canteen_stable", ring))
    population = {"population.firms": 4, "firm.learning.gain": 0.0, **learn}
    text = explain(load_scenario("canteen_stable", population))
    assert "the best other firm of its population" in text
    alone = explain(load_scenario("canteen_stable", {"adaptation": LEARN}))
    assert "looks at" not in alone
