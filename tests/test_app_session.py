"""The played market's session object (`sim.app.session`): joins, changes, the clock, the
leaderboard and debrief, replay identity, and bad input refused with a clear message."""

from __future__ import annotations

import json
import struct
import threading
import time

import numpy as np
import pytest

from sim.app.session import (
    MAX_NAME,
    Clock,
    PlayChange,
    PlayedMarket,
    PlayError,
    SessionRecord,
    computer_rivals,
    played_scenario,
)
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def town():
    return load_scenario("bakery_town")


def _played(town, players=3, periods=None, changes=True):
    """A session with ``players`` played to ``periods`` (default: the horizon), player 0
    aligning at period 5 and the teacher shifting the market at 30."""
    session = PlayedMarket(town, seed=4)
    tokens = [session.join(f"student {i}") for i in range(players)]
    session.start()
    for t in range(town.horizon if periods is None else periods):
        if changes and t == 5:
            session.change(tokens[0], alpha=0.7, sensing="0,3", coordination="hierarchical")
        if changes and t == 30:
            session.shift_now()
        session.step()
    return session, tokens


def test_computer_rivals_fill_up_from_the_mix_in_turn():
    mix = {"efficiency_only": 3, "aligned": 2}
    assert computer_rivals(mix, 4) == {"efficiency_only": 2, "aligned": 2}
    assert computer_rivals(mix, 1) == {"efficiency_only": 1}
    assert computer_rivals(mix, 0) == {}
    assert computer_rivals(mix, 9) == mix  # never more than the mix


def test_the_played_market_has_a_firm_per_player_and_grows_with_them(town):
    few = played_scenario(town, 2, "efficiency_only")
    assert few.competition.firms == {
        "player_1": 1, "player_2": 1, "efficiency_only": 2, "aligned": 1,
    }  # fmt: skip
    assert few.competition.market_size == pytest.approx(town.competition.market_size)
    many = played_scenario(town, 30, "efficiency_only")
    assert sum(many.competition.firms.values()) == 30  # no computer incumbents
    assert many.competition.market_size == pytest.approx(town.competition.market_size * 6)
    assert many.competition.entrants == town.competition.entrants
    assert many.all_strategies["player_7"].alpha == town.all_strategies["efficiency_only"].alpha


def test_joins_are_checked_and_closed_once_the_market_starts(town):
    session = PlayedMarket(town)
    token = session.join("  Ada   Lovelace ")
    assert session.players == ["Ada Lovelace"]
    assert session.player_of(token) == 0
    for bad, words in [
        ("", "type a name"),
        ("ada lovelace", "has joined already"),
        ("x" * (MAX_NAME + 1), f"at most {MAX_NAME}"),
        ("a\x00b", "printable"),
    ]:
        with pytest.raises(PlayError, match=words):
            session.join(bad)
    with pytest.raises(PlayError, match="unknown player"):
        session.player_of("not-a-token")
    with pytest.raises(PlayError, match="not started"):
        session.change(token, alpha=0.5)
    session.start()
    with pytest.raises(PlayError, match="has started"):
        session.join("Late")
    with pytest.raises(PlayError, match="started already"):
        session.start()


def test_nobody_joined_and_no_competition_are_refused(town):
    with pytest.raises(PlayError, match="nobody has joined"):
        PlayedMarket(town).start()
    with pytest.raises(PlayError, match=r"no \[competition\]"):
        PlayedMarket(load_scenario("bakery_gluten_free"))
    with pytest.raises(PlayError, match="start strategy 'nope'"):
        PlayedMarket(town, start="nope")


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ({"alpha": 1.5}, "alignment: must be from 0 to 1"),
        ({"alpha": "a lot"}, "alignment: expected a number from 0 to 1"),
        ({"sensing": float("nan")}, "sensing: must be from 0 to 1"),
        ({"communication": True}, "communication: expected a number"),
        ({"coordination": "anarchy"}, "coordination: expected one of decentralized"),
        ({"p_jump": 0.5}, "unknown setting 'p_jump'; allowed: alpha, sensing"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(town, settings, words):
    session = PlayedMarket(town)
    token = session.join("Bo")
    session.start()
    before = session.firm_of(0).strategy
    with pytest.raises(PlayError, match=words):
        session.change(token, **settings)
    assert session.firm_of(0).strategy == before
    assert session.changes == []


def test_a_change_acts_from_the_next_period_and_is_recorded(town):
    session = PlayedMarket(town, seed=4)
    tokens = [session.join(n) for n in ("A", "B")]
    session.start()
    for _ in range(5):
        session.step()
    spec = session.change(tokens[1], alpha="0.8", coordination="sequential")
    assert spec.alpha == 0.8 and spec.coordination == "sequential"
    assert session.firm_of(1).strategy == spec
    assert session.firm_of(0).strategy.alpha == 0.0
    (change,) = session.changes
    assert change.period == 5 and change.player == 1
    assert dict(change.settings) == {"alpha": 0.8, "coordination": "sequential"}
    assert "B sets alignment 0.8, coordination sequential" in change.words(session.players)
    assert session.shift_now() == "health_conscious"
    assert session.shift_now() == "health_conscious"  # one shift a period
    assert [c.shift for c in session.changes] == ["", "health_conscious"]


def test_the_market_steps_to_its_end_then_refuses_changes(town):
    session, tokens = _played(town, players=2)
    assert session.finished and session.period == town.horizon
    assert not session.step()
    with pytest.raises(PlayError, match="is over"):
        session.change(tokens[0], alpha=0.1)
    with pytest.raises(PlayError, match="is over"):
        session.shift_now()


def test_the_leaderboard_and_debrief_list_every_player(town):
    session, _ = _played(town, players=3)
    board = session.leaderboard()
    assert [s.name for s in board if s.player >= 0][:3] != []
    assert {s.name for s in board if s.player >= 0} == {"student 0", "student 1", "student 2"}
    h = session.market.engine.history
    for s in board:
        firm = session.market.rivals[s.firm]
        assert s.cash == pytest.approx(h.cash[town.horizon, firm.row])
        assert s.alive == bool(h.alive[town.horizon, firm.row])
        assert s.miles == int(firm.log.ints["miles"].sum())
    debrief = session.debrief()
    assert [r["name"] for r in debrief[:3]] == ["student 0", "student 1", "student 2"]
    assert debrief[0]["changes"] == 1 and debrief[1]["changes"] == 0
    for row in debrief:  # the definitions, checked on every row
        if row["adapted"]:
            assert row["alive"] and not row["circles"]
        if not row["alive"]:
            assert not row["circles"] and not row["adapted"]


def test_a_replay_from_the_link_and_the_file_gives_the_same_numbers(town, tmp_path):
    session, _ = _played(town, players=4)
    record = session.record()
    path = tmp_path / "session.json"
    path.write_text(record.to_json())
    for copy in (SessionRecord.from_link(record.to_link()), SessionRecord.from_file(path)):
        assert copy == record
        replayed = PlayedMarket.replay(copy, scenario=town)
        a = session.market.engine.history
        b = replayed.market.engine.history
        for name in ("cash", "profit", "market_share", "market_value"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert replayed.leaderboard() == session.leaderboard()
        # (json: NaN, a closed firm's market value, equals NaN)
        assert json.dumps(replayed.debrief()) == json.dumps(session.debrief())


def test_a_replay_stopped_midway_matches_the_session_at_that_period(town):
    session, _ = _played(town, players=2, periods=35)
    replayed = PlayedMarket.replay(session.record(), scenario=town)
    assert replayed.period == 35 and replayed.phase == "paused"
    assert replayed.leaderboard() == session.leaderboard()


def test_the_changes_matter_a_negative_control_for_replay(town):
    """A replay without the players' changes differs: the identity above is not trivial."""
    session, _ = _played(town, players=2)
    record = session.record()
    stripped = SessionRecord(**{**record.__dict__, "changes": ()})
    other = PlayedMarket.replay(stripped, scenario=town)
    assert other.leaderboard() != session.leaderboard()


def test_damaged_records_are_refused_naming_what_is_wrong(town, tmp_path):
    session, _ = _played(town, players=2, periods=3)
    record = session.record()
    with pytest.raises(PlayError, match="replay link is damaged"):
        SessionRecord.from_link("not a link!")
    data = json.loads(record.to_json())
    bad = tmp_path / "bad.json"
    for key, value, words in [
        ("format", "other", "not a played-market session"),
        ("seed", "four", "field 'seed'"),
        ("changes", [{"period": "x"}], r"changes\[0\] is not a change"),
    ]:
        bad.write_text(json.dumps({**data, key: value}))
        with pytest.raises(PlayError, match=words):
            SessionRecord.from_file(bad)
    with pytest.raises(PlayError, match="not a readable session file"):
        SessionRecord.from_file(tmp_path / "missing.json")
    changed = load_scenario("bakery_town", {"competition.sensitivity": 3.0})
    with pytest.raises(PlayError, match="has changed since"):
        PlayedMarket.replay(record, scenario=changed)
    late = SessionRecord(**{**record.__dict__, "periods": town.horizon + 1})
    with pytest.raises(PlayError, match="periods must be from 0"):
        PlayedMarket.replay(late, scenario=town)


def test_the_clock_steps_in_one_place_and_pause_stops_it(town):
    session = PlayedMarket(town, rate=20.0)
    session.join("A")
    session.start()
    seen = []
    session.listen(lambda: seen.append(threading.get_ident()))
    clock = Clock(session).start()
    try:
        deadline = time.monotonic() + 30
        while session.period < 5 and time.monotonic() < deadline:
            time.sleep(0.01)
        session.pause()
        stopped = session.period
        time.sleep(0.3)
        assert session.period == stopped >= 5
    finally:
        clock.stop()
    steps = len(clock.stats.cpu_s)
    assert steps == stopped
    assert len(clock.stats.lag_s) == steps
    # pages are told from one thread of their own, neither the clock's nor this one
    assert seen and len(set(seen)) == 1
    assert seen[0] not in (threading.get_ident(), clock._thread.ident)


def _long_session(town, players=30, every=3):
    """A long class: ``players`` students, each applying all four settings (random slider
    values, seeded) every ``every`` periods to the horizon, and the teacher shifting twice."""
    import random

    from sim.scenario.schema import COORDINATION_MODES

    rng = random.Random(7)
    session = PlayedMarket(town, seed=4)
    tokens = [session.join(f"student number {i}") for i in range(players)]
    session.start()
    for t in range(town.horizon):
        for k, token in enumerate(tokens):
            if (t + k) % every == 0 and session.firm_of(k).alive:
                session.change(
                    token,
                    alpha=rng.randrange(21) / 20,
                    sensing=rng.randrange(21) / 20,
                    communication=rng.randrange(101) / 100,
                    coordination=rng.choice(COORDINATION_MODES),
                )
        if t in (60, 110):
            session.shift_now()
        session.step()
    return session


def test_a_long_session_replays_from_a_link_under_the_limit_bit_for_bit(town):
    from sim.app.play import LINK_LIMIT

    session = _long_session(town)
    record = session.record()
    assert len(record.changes) > 1500  # 30 students, every 3 periods, to the end
    link = record.to_link()
    assert len(link) <= LINK_LIMIT, len(link)
    copy = SessionRecord.from_link(link)
    assert copy == record
    replayed = PlayedMarket.replay(copy, scenario=town)
    a, b = session.market.engine.history, replayed.market.engine.history
    columns = [k for k, v in vars(a).items() if isinstance(v, np.ndarray)]
    assert len(columns) >= 5
    for name in columns:  # every column, bit for bit (NaN where NaN)
        assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
    assert replayed.leaderboard() == session.leaderboard()
    assert json.dumps(replayed.debrief()) == json.dumps(session.debrief())


def test_the_link_keeps_every_value_exactly():
    """Slider values travel as hundredths; anything else as its 8 bytes: the record read back
    from its link equals it, whatever the values, names or order of periods."""
    odd = (0.1 + 0.2, -0.0, 1e-300, 2.51, 0.35000000000000003, float(2**60), 0.07, 1.0, 0.0)
    changes = [
        PlayChange(period=3, player=0, settings=(("alpha", v), ("coordination", "sequential")))
        for v in odd
    ]
    changes += [
        PlayChange(period=0, shift="health_conscious"),  # an earlier period, after later ones
        PlayChange(period=159, player=59, settings=(("communication", 0.5), ("sensing", 1.0))),
        PlayChange(period=40, player=2, settings=()),
    ]
    record = SessionRecord(
        scenario="bakery_town", fingerprint="0123456789abcdef", seed=2**32 - 1,
        start="efficiency_only", players=("Zoë", "李", "a b"), changes=tuple(changes),
        periods=160,
    )  # fmt: skip
    copy = SessionRecord.from_link(record.to_link())
    assert copy == record
    got = [v for c in copy.changes[: len(odd)] for k, v in c.settings if k == "alpha"]
    assert [struct.pack("<d", v) for v in got] == [struct.pack("<d", v) for v in odd]


def test_a_damaged_or_oversized_link_is_refused(town):
    import base64
    import zlib

    session, _ = _played(town, players=2, periods=20)
    link = session.record().to_link()
    for bad in (link[: len(link) // 2], link[:-3] + "AAA", "AAAA"):
        with pytest.raises(PlayError, match="replay link is damaged"):
            SessionRecord.from_link(bad)
    bomb = base64.urlsafe_b64encode(zlib.compress(b"{" + b" " * (1 << 23), 9)).decode()
    with pytest.raises(PlayError, match="longer than any session"):
        SessionRecord.from_link(bomb)


def test_a_session_too_long_for_an_address_gets_a_short_key_on_this_server(town):
    from sim.app.play import LINK_LIMIT, Served, replay_link

    session, _ = _played(town, players=2, periods=10)
    served = Served(session=session, clock=None, teacher_key="k", join_url="http://h:1/")
    short = session.record()
    assert replay_link(served, short) == f"http://h:1/?replay={short.to_link()}"
    assert served.saved == {}
    # a record whose link is too long: thousands of changes of exact (not slider) values
    noisy = tuple(
        PlayChange(period=t % 10, player=t % 2, settings=(("alpha", 1 / (t + 3)),))
        for t in range(2000)
    )
    long = SessionRecord(**{**short.__dict__, "changes": noisy})
    assert len(long.to_link()) > LINK_LIMIT
    address = replay_link(served, long)
    assert address == f"http://h:1/?session={long.key()}" and len(address) < 60
    assert served.saved[long.key()] == long
    assert long.key() != short.key()
