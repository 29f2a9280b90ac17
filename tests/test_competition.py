"""Markets of competing firms (`[competition]`, docs/ODD.md section 7.18): the choice model,
entry and exit, and the promise that without `[competition]` nothing changes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from sim.demand import herfindahl, logit_shares
from sim.model import Market, engine_for, step_together
from sim.scenario import ScenarioError, load_scenario
from tests.fingerprints import STORED, fingerprints

RIVALS = {
    "competition.firms": {"efficiency_only": 2, "aligned": 2},
    "competition.sensitivity": 10.0,
    "competition.market_size": 3.0,
}


def _market(overrides: dict, seed: int = 0) -> Market:
    return Market(scenario=load_scenario("bakery_gluten_free", overrides), rng=seed).run()


def test_without_competition_every_shipped_scenario_gives_the_numbers_it_gave_before():
    """Every column of the runs and period tables of all shipped scenarios at seeds 0-2, bit for
    bit, against the fingerprints the code computed before competition existed
    (tests/fingerprints.py); columns added since are not compared."""
    stored = json.loads(STORED.read_text())
    now = fingerprints()
    assert set(stored) <= set(now), "a scenario was removed: regenerate the file"
    changed = [
        f"{name} {table}.{column}"
        for name, tables in stored.items()
        for table, columns in tables.items()
        for column, digest in columns.items()
        if now[name][table].get(column) != digest
    ]
    assert not changed, f"numbers changed without [competition]: {changed}"


# ---------------------------------------------------------------- the choice model
def test_identical_firms_get_equal_shares_and_shares_sum_to_one_minus_the_outside_option():
    values = np.array([0.7, 0.7, 0.7, 0.4, 0.4, 0.9])
    market = np.array([0, 0, 0, 1, 1, 1])
    lam, v0 = np.array([8.0, 3.0]), np.array([0.5, 0.2])
    outside = np.exp(lam * v0)
    s = logit_shares(values, market, lam, outside)
    assert s[0] == s[1] == s[2] and s[3] == s[4]
    for m in (0, 1):
        inside = np.exp(lam[m] * values[market == m]).sum()
        outside_share = outside[m] / (outside[m] + inside)
        assert s[market == m].sum() == pytest.approx(1.0 - outside_share, rel=1e-12)
    assert s[5] > s[3]  # the higher market value wins more customers


def test_without_an_outside_option_a_lone_firm_has_every_customer():
    s = logit_shares(np.array([0.3, 0.9]), np.array([0, 1]), np.array([5.0, 50.0]), np.zeros(2))
    assert s.tolist() == [1.0, 1.0]


def test_crowding_a_clone_lowers_each_occupants_share():
    lam, outside = np.array([10.0]), np.array([np.exp(5.0)])
    alone = logit_shares(np.array([0.8, 0.6]), np.zeros(2, dtype=np.int64), lam, outside)
    crowded = logit_shares(np.array([0.8, 0.8, 0.6]), np.zeros(3, dtype=np.int64), lam, outside)
    assert crowded[0] < alone[0] and crowded[2] < alone[1]
    assert crowded[:2].sum() > alone[0]  # together the occupants draw more of the market


def test_herfindahl_index_ranges_from_one_over_n_to_one():
    market = np.array([0, 0, 0, 0, 1, 1])
    hhi = herfindahl(np.array([0.2, 0.2, 0.2, 0.2, 0.9, 0.0]), market, 3)
    assert hhi[0] == pytest.approx(0.25) and hhi[1] == pytest.approx(1.0) and np.isnan(hhi[2])


# ---------------------------------------------------------------- in the engine
def test_a_monopoly_without_outside_option_is_todays_single_firm_bit_for_bit():
    for strategy in ("efficiency_only", "aligned"):
        alone = Market(
            scenario=load_scenario("bakery_gluten_free"), strategies=[strategy], rng=4
        ).run()
        monopoly = _market({"competition.firms": {strategy: 1}, "competition.outside": False}, 4)
        a, b = alone.engine.history, monopoly.engine.history
        for name in ("profit", "cash", "performance", "market_value", "efficiency", "config"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        open_ = b.alive[:, 0]
        assert (b.market_share[open_] == 1.0).all() and np.isnan(b.market_share[~open_]).all()
        np.testing.assert_array_equal(b.sales, a.market_value)


def test_rivals_share_the_customers_and_profit_follows_sales():
    market = _market(RIVALS, seed=1)
    h, sc = market.engine.history, market.spec
    assert len(market.rivals) == 4 and [f.index for f in market.rivals] == [0, 1, 0, 1]
    comp = sc.competition
    alive = h.alive
    # shares of the firms in business plus the outside option's make 1 in every period
    appeal = np.where(alive, np.exp(comp.sensitivity * h.market_value), 0.0)
    outside = np.exp(comp.sensitivity * comp.outside_value)
    expected = np.where(alive, appeal / (appeal.sum(axis=1, keepdims=True) + outside), np.nan)
    np.testing.assert_allclose(h.market_share, expected, rtol=1e-12)
    np.testing.assert_allclose(h.sales, comp.market_size * h.market_share * h.market_value)
    f = sc.firm
    costs = np.array([firm.coordination_cost for firm in market.rivals])
    earned = f.beta * h.sales + (1 - f.beta) * h.efficiency
    profit = f.money_scale * (earned - f.break_even) - costs
    np.testing.assert_allclose(h.profit[1:][alive[1:]], profit[1:][alive[1:]], rtol=1e-12)
    assert (h.profit[1:][~alive[1:]] == 0).all()


def test_a_competing_market_gives_the_same_numbers_alone_and_in_a_batch():
    sc = load_scenario(
        "bakery_gluten_free",
        {**RIVALS, "competition.entrants": {"aligned": 2}, "competition.entry_rate": 0.1},
    )
    alone = [Market(scenario=sc, rng=seed).run() for seed in (3, 5)]
    engine = engine_for(sc, markets=3)
    batch = [Market(scenario=sc, rng=seed, engine=engine) for seed in (5, 9, 3)]
    step_together(batch)
    for single, seed in zip(alone, (3, 5), strict=True):
        rows = [f.row for f in next(m for m in batch if m.seed == seed).rivals]
        for name in ("profit", "market_share", "config", "alive"):
            np.testing.assert_array_equal(
                getattr(single.engine.history, name), getattr(engine.history, name)[:, rows]
            )


def test_entrants_wait_enter_at_the_documented_rate_and_start_as_said():
    over = {
        **RIVALS,
        "competition.entrants": {"aligned": 30},
        "competition.entry_rate": 0.1,
        "horizon": 100,
        "firm.initial_cash": 1e6,
    }
    entries = []
    for seed in range(20):
        market = _market(over, seed)
        h = market.engine.history
        waiting = market.rivals[4:]
        first = [int(np.argmax(h.alive[:, f.row])) if h.alive[:, f.row].any() else -1
                 for f in waiting]  # fmt: skip
        entered = [t for t in first if t > 0]
        assert entered == sorted(entered)  # they enter in order, at most one a period
        assert len(set(entered)) == len(entered) and not h.alive[0, [f.row for f in waiting]].any()
        entries.append(len(entered))
    rate = np.mean(entries) / 100
    assert 0.08 < rate < 0.12  # 2000 Bernoulli(0.1) draws: sd of the rate 0.007

    # without long jumps a department flips at most one decision a period
    leader = _market(
        {**over, "competition.entry_start": "leader", "strategies.aligned.p_jump": 0.0}, 2
    )
    h = leader.engine.history
    for f in leader.rivals[4:]:
        alive = h.alive[:, f.row]
        if alive.any():
            t = int(np.argmax(alive))
            share = np.where(h.alive[t - 1], h.market_share[t - 1], -1)
            top = int(np.argmax(share))
            # it starts where the leader stood, then makes its first period's move
            start = leader.engine.history.config[t - 1, top]
            assert np.bitwise_count(h.config[t, f.row] ^ start) <= len(leader.spec.departments)
            break
    else:
        pytest.fail("no entrant entered")


def test_closed_firms_leave_the_market_and_their_customers_go_to_the_others():
    market = _market({**RIVALS, "firm.initial_cash": 5.0}, seed=1)
    h = market.engine.history
    closed = [f.row for f in market.rivals if not h.alive[-1, f.row]]
    assert closed, "some firm should run out of cash with 5 k€"
    t = int(np.argmin(h.alive[:, closed[0]]))
    assert np.isnan(h.market_share[t, closed[0]]) and h.profit[t, closed[0]] == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"competition.firms": {"nobody": 2}}, "competition.firms"),
        ({"competition.firms": {"aligned": 2}, "competition.entrants": {"x": 1}},
         "competition.entrants"),
        ({"competition.firms": {"aligned": 2}, "competition.entry_rate": 0.1},
         "competition.entry_rate"),
        ({"competition.firms": {"aligned": 2}, "population.firms": 3,
          "firm.learning.gain": 0.0}, "population.firms"),
        ({"competition.firms": {"aligned": 2}, "competition.sensitivity": -1.0},
         "competition.sensitivity"),
    ],
)  # fmt: skip
def test_bad_competition_settings_are_named(overrides, field):
    with pytest.raises(ScenarioError) as info:
        load_scenario("bakery_gluten_free", overrides)
    assert field in str(info.value)


# ---------------------------------------------------------------- the command line
def test_run_prints_shares_concentration_entries_exits_and_profit_with_intervals(tmp_path, capsys):
    import pandas as pd

    from sim.cli import main

    out = tmp_path / "town"
    assert main(["run", "bakery_town", "--seeds", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    for words in (
        "concentration (HHI",
        "market share of aligned",
        "entries over the run",
        "exits over the run",
        "profit after",
        "survived to the end",
        "paired by market",
    ):
        assert words in printed, words  # fmt: skip
    assert "[" in printed.split("profit after")[1].splitlines()[0]  # an interval
    markets = pd.read_parquet(out / "markets.parquet")
    assert set(markets["seed"]) == {0, 1, 2, 3} and {"hhi", "entries", "exits"} <= set(markets)
    runs = pd.read_parquet(out / "runs.parquet")
    assert len(runs) == 4 * 9  # five incumbents and four entrants (entered or not) per market
    assert main(["run", "bakery_town", "--strategy", "aligned", "--out", str(tmp_path / "x")]) == 2
    assert "--strategy" in capsys.readouterr().err


def test_explain_describes_the_competition(capsys):
    from sim.cli import main

    assert main(["explain", "bakery_town"]) == 0
    printed = capsys.readouterr().out
    assert "Competition: 5 firms share the market's customers" in printed
    assert "lambda = 4" in printed and "Entry: up to 2 efficiency_only" in printed


def test_run_experiment_refuses_a_market_of_competing_firms_and_names_the_runner():
    from sim.experiment import run_experiment

    with pytest.raises(ScenarioError, match="run_competition"):
        run_experiment(load_scenario("bakery_town"), seeds=1)


@pytest.mark.parametrize("command", [["figure", "sailing-in-circles", "bakery_town"]])
def test_commands_for_lone_firms_refuse_a_market_of_competing_firms_in_one_line(
    command, tmp_path, capsys
):
    from sim.cli import main

    assert main([*command, "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "competing firms" in err and "Traceback" not in err


# ---------------------------------------------------------------- sweeps
def test_sweep_runs_share_a_market_per_seed_and_average_a_strategys_incumbents():
    from sim.competition import run_competition, simulate_runs

    sc = load_scenario("bakery_town")
    (a, _), (e, _) = simulate_runs([(sc, "aligned", 3), (sc, "efficiency_only", 3)])
    assert a["market_hhi_post_shift"] == e["market_hhi_post_shift"]  # one town
    assert a["incumbents"] == 2 and e["incumbents"] == 3
    firms = run_competition(sc, seeds=[3], periods=False).runs
    own = firms[(firms["strategy"] == "aligned") & ~firms["entrant"]]
    assert a["profit_post_shift"] == pytest.approx(own["profit_post_shift"].mean())
    assert a["survived"] == pytest.approx(own["survived"].mean())
    with pytest.raises(ScenarioError, match="no incumbent follows"):
        simulate_runs([(sc, "informed_silos", 0)])


def test_the_frequency_dependence_sweep_runs_from_its_shipped_spec(tmp_path):
    import pandas as pd

    from sim.scenario import SCENARIO_DIR
    from sim.scenario.load import read_toml
    from sim.sweep import run_sweep, sweep_from_dict

    spec = SCENARIO_DIR / "sweeps" / "alignment_frequency.toml"
    data = read_toml(spec)
    data["seeds"] = 2
    data["parameters"][0]["values"] = [1, 4]
    data["parameters"][1]["values"] = [1]
    sweep = sweep_from_dict(data, source=str(spec), base_dir=spec.parent)
    report = run_sweep(sweep, out=tmp_path / "sweep", workers=1, progress=False)
    assert report.complete
    runs = pd.concat(pd.read_parquet(p) for p in (tmp_path / "sweep" / "runs").glob("*.parquet"))
    assert len(runs) == 2 * 2 * 2 and set(runs["aligned_firms"]) == {1, 4}


# ---- issue 22: the per-period table filled into columns allocated once (4 GB target)

#: Digests of bakery_town's runs, per-period and market tables at 3 seeds (every field, and
#: records=[profit, alive, market_share]): column names, types and every value, as computed by
#: the code that concatenated per-batch frames (main at 3cb89bb, before `_PeriodColumns`).
TOWN_TABLES = {"all": "5034eca16e0fa741", "records": "3574413687dbcf1c"}


def _tables_digest(result) -> str:
    import hashlib

    from tests.fingerprints import table_fingerprints

    digest = hashlib.sha256()
    for table in (result.runs, result.periods, result.markets):
        columns = list(zip(table.columns, map(str, table.dtypes), strict=True))
        digest.update(repr(columns).encode())
        digest.update(repr(table_fingerprints(table)).encode())
    return digest.hexdigest()[:16]


@pytest.mark.parametrize("batch_rows", [None, 40])  # one batch; a market (or two) per batch
@pytest.mark.parametrize("fields", ["all", "records"])
def test_the_competing_firms_tables_are_the_ones_per_batch_frames_gave(fields, batch_rows):
    from sim.competition import run_competition

    records = ["profit", "alive", "market_share"] if fields == "records" else None
    options = {"batch_rows": batch_rows} if batch_rows else {}
    result = run_competition(load_scenario("bakery_town"), seeds=3, records=records, **options)
    assert len(result.periods) == 3 * 9 * 161  # 5 incumbents and 4 entrants a market
    assert _tables_digest(result) == TOWN_TABLES[fields]


def test_a_batch_with_other_columns_is_kept_and_concatenated_as_per_batch_frames_were():
    import pandas as pd

    from sim.competition import _PeriodColumns

    names = ["efficiency_only", "aligned"]
    first = {
        "strategy": np.array(["aligned", "efficiency_only"], dtype=object),
        "seed": np.array([1, 1]),
        "period": np.arange(2),
        "profit": np.array([0.5, 1.5]),
    }
    other = {**first, "alive": np.array([True, False])}
    table = _PeriodColumns(6, names)
    for columns in (first, other, first):
        table.add(dict(columns))
    expected = pd.concat([pd.DataFrame(c) for c in (first, other, first)], ignore_index=True)
    expected["strategy"] = pd.Categorical(expected["strategy"], categories=names)
    pd.testing.assert_frame_equal(table.frame(), expected, check_exact=True)
