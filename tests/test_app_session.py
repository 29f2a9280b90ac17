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
    # house firms come on top: the computer firms still fill the players up to the scenario's
    housed = played_scenario(town, 2, "efficiency_only", house=2)
    assert housed.competition.firms == {
        "player_1": 1, "player_2": 1, "player_3": 1, "player_4": 1, "efficiency_only": 2,
        "aligned": 1,
    }  # fmt: skip
    assert housed.competition.market_size == pytest.approx(town.competition.market_size * 7 / 5)


def test_joins_are_checked_and_without_house_firms_closed_once_the_market_starts(town):
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
    with pytest.raises(PlayError, match="no house firm is free"):  # none kept: house=0
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
    stripped = SessionRecord(**{**record.__dict__, "changes": (), "digest": ""})
    other = PlayedMarket.replay(stripped, scenario=town)
    assert other.leaderboard() != session.leaderboard()
    # with the session's digest kept, the replay that does not give its numbers is refused
    with pytest.raises(PlayError, match="does not give the session's numbers"):
        PlayedMarket.replay(SessionRecord(**{**stripped.__dict__, "digest": record.digest}),
                            scenario=town)  # fmt: skip
    assert len(record.digest) == 16 and record.digest != ""


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


def test_a_session_too_long_for_an_address_gets_a_short_key_kept_after_a_restart(town, tmp_path):
    from sim.app.play import LINK_LIMIT, Served, kept_session, replay_link
    from sim.app.session import SessionStore

    session, _ = _played(town, players=2, periods=10)
    served = Served(session=session, clock=None, teacher_key="k", join_url="http://h:1/",
                    store=SessionStore(tmp_path / "kept"))  # fmt: skip
    short = session.record()
    assert replay_link(served, short) == f"http://h:1/?replay={short.to_link()}"
    assert not (tmp_path / "kept").exists()  # a link that fits keeps nothing
    # a record whose link is too long: thousands of changes of exact (not slider) values
    noisy = tuple(
        PlayChange(period=t % 10, player=t % 2, settings=(("alpha", 1 / (t + 3)),))
        for t in range(2000)
    )
    long = SessionRecord(**{**short.__dict__, "changes": noisy})
    assert len(long.to_link()) > LINK_LIMIT
    address = replay_link(served, long)
    assert address == f"http://h:1/?session={long.key()}" and len(address) < 60
    assert long.key() != short.key()
    assert [p.name for p in (tmp_path / "kept").iterdir()] == [f"{long.key()}.json"]
    # the server restarts: a new Served, a new store object on the same folder
    again = Served(session=session, clock=None, teacher_key="k2", join_url="http://h:2/",
                   store=SessionStore(tmp_path / "kept"))  # fmt: skip
    assert kept_session(again, long.key()) == long
    with pytest.raises(PlayError, match="no session 0123456789abcdef is kept in"):
        kept_session(again, "0123456789abcdef")


def test_the_session_store_refuses_bad_keys_and_changed_files(town, tmp_path):
    from sim.app.session import SessionStore

    session, _ = _played(town, players=2, periods=10)
    record = session.record()
    store = SessionStore(tmp_path)
    key = store.save(record)
    assert key == record.key() and store.save(record) == key  # saved once
    assert SessionStore(tmp_path).load(key) == record
    assert PlayedMarket.replay(SessionStore(tmp_path).load(key), scenario=town).leaderboard() == (
        session.leaderboard()
    )
    for bad in ("", "../../etc/passwd", "0123456789ABCDEF", "0123", key + "0", "x" * 500):
        with pytest.raises(PlayError, match="is not a session key"):
            store.load(bad)
    assert not list(tmp_path.glob(".*.tmp"))  # no half-written file left
    # a file edited since: its key no longer matches (the negative control of the check)
    path = store.path(key)
    path.write_text(path.read_text().replace('"seed": 4', '"seed": 5'))
    with pytest.raises(PlayError, match="has changed since it was saved"):
        store.load(key)
    path.write_text("not json")
    with pytest.raises(PlayError, match="not a readable session file"):
        store.load(key)


def _late_session(town, *, late_changes=True):
    """Three students from the start, two house firms; Late joins after period 8 and aligns
    at 10; Later joins after 12, changes at 12 (the period they joined) and at 16; a shift at
    15. Returns the session and the late players' secrets."""
    session = PlayedMarket(town, seed=4, house=2)
    tokens = [session.join(f"student {i}") for i in range(3)]
    session.start()
    late: list[str] = []
    for t in range(town.horizon):
        if t == 5:
            session.change(tokens[0], alpha=0.7, coordination="hierarchical")
        if t == 8:
            late.append(session.join("Late"))
        if t == 10 and late_changes:
            session.change(late[0], alpha=0.9, sensing=0.6, coordination="sequential")
        if t == 12:
            late.append(session.join("Later"))
            if late_changes:
                session.change(late[1], coordination="hierarchical")
        if t == 15:
            session.shift_now()
        if t == 16 and late_changes:
            session.change(late[1], alpha=0.4, communication=0.5)
        session.step()
    return session, late


def test_a_late_joiner_takes_a_house_firm_and_is_listed_with_the_period(town):
    session = PlayedMarket(town, seed=4, house=2)
    session.join("Ada")
    session.start()
    assert len(session.market.rivals) >= 3 and session.free_seats() == [1, 2]
    house = session.market.rivals[1]
    assert house.strategy == session.market.rivals[0].strategy  # as every player's firm began
    for _ in range(12):
        session.step()
    board = {s.name: s for s in session.leaderboard()}
    assert "house firm 2" in board and board["house firm 2"].player == -1
    token = session.join("Late")
    assert session.firm_of(session.player_of(token)) is house
    assert session.joined_after(1) == 12 and session.joined_after(0) == -1
    assert session.free_seats() == [2]
    board = {s.name: s for s in session.leaderboard()}  # named at once, before a step
    assert board["Late"].joined == 12 and board["Late"].player == 1 and "house firm 2" not in board
    session.change(token, alpha=0.8)
    assert house.strategy.alpha == 0.8
    rows = session.debrief()
    assert [(r["name"], r["joined"]) for r in rows[:2]] == [("Ada", -1), ("Late", 12)]
    assert rows[1]["changes"] == 1
    session.join("Later")
    with pytest.raises(PlayError, match="no house firm is free"):
        session.join("Latest")
    assert session.players == ["Ada", "Late", "Later"]


def test_the_teacher_locks_joining_and_opens_it_again(town):
    session = PlayedMarket(town, seed=4, house=1)
    session.lock_joining()
    with pytest.raises(PlayError, match="locked joining"):
        session.join("Ada")
    session.lock_joining(False)
    session.join("Ada")
    session.start()
    session.lock_joining(True)
    with pytest.raises(PlayError, match="locked joining"):
        session.join("Late")
    assert session.free_seats() == [1]
    session.lock_joining(False)
    session.join("Late")
    while session.step():
        pass
    with pytest.raises(PlayError, match="market is over"):
        session.join("Too late")


def test_a_device_that_joined_gets_its_firm_back(town):
    session = PlayedMarket(town, seed=4)
    token = session.join("Ada")
    assert session.token_of_device("browser-1") is None
    session.remember("browser-1", token)
    assert session.token_of_device("browser-1") == token
    assert session.token_of_device("browser-2") is None
    with pytest.raises(PlayError, match="unknown player"):
        session.remember("browser-2", "forged")


def test_a_session_with_late_joiners_replays_bit_for_bit_from_its_link_and_file(town, tmp_path):
    session, _ = _late_session(town)
    record = session.record()
    assert record.house == 2 and record.late == ((3, 8), (4, 12))
    assert record.players == ("student 0", "student 1", "student 2", "Late", "Later")
    path = tmp_path / "late.json"
    path.write_text(record.to_json())
    a = session.market.engine.history
    columns = [k for k, v in vars(a).items() if isinstance(v, np.ndarray)]
    assert len(columns) >= 5
    for copy in (SessionRecord.from_link(record.to_link()), SessionRecord.from_file(path)):
        assert copy == record
        replayed = PlayedMarket.replay(copy, scenario=town)
        b = replayed.market.engine.history
        for name in columns:  # every column, bit for bit (NaN where NaN)
            assert getattr(a, name).tobytes() == getattr(b, name).tobytes(), name
        assert replayed.leaderboard() == session.leaderboard()
        assert json.dumps(replayed.debrief()) == json.dumps(session.debrief())
    rows = session.debrief()
    assert [(r["name"], r["joined"], r["changes"]) for r in rows[:5]] == [
        ("student 0", -1, 1), ("student 1", -1, 0), ("student 2", -1, 0),
        ("Late", 8, 1), ("Later", 12, 2),
    ]  # fmt: skip


def test_who_steered_which_firm_matters_negative_controls_for_late_replay(town):
    """Swapping the two late joiners' firms, or dropping their changes, gives other numbers:
    the identity above is not trivial."""
    session, _ = _late_session(town)
    record = session.record()
    cash = session.market.engine.history.cash
    swapped = SessionRecord(**{**record.__dict__, "late": ((4, 8), (3, 12)), "digest": ""})
    without, _ = _late_session(town, late_changes=False)
    for other in (PlayedMarket.replay(swapped, scenario=town), without):
        assert not np.array_equal(other.market.engine.history.cash, cash, equal_nan=True)


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        ({"late": ((1, 8), (4, 12))}, "not a house firm"),  # a firm from the start
        ({"late": ((3, 8), (3, 12))}, "not a house firm"),  # taken twice
        ({"late": ((3, 12), (4, 8))}, "before an earlier joiner"),
        ({"late": ((3, 8), (4, 170))}, "outside the session"),
        ({"house": 0}, "not a house firm"),
        ({"late": ((3, 11), (4, 12))}, "comes before they joined"),  # Late changes at 10
        ({"late": ((4, 8), (3, 12))}, "does not give the session's numbers"),  # swapped
    ],
)
def test_a_damaged_late_record_is_refused(town, edit, words):
    session, _ = _late_session(town)
    record = SessionRecord(**{**session.record().__dict__, **edit})
    with pytest.raises(PlayError, match=words):
        PlayedMarket.replay(record, scenario=town)


def test_a_record_from_before_late_joining_still_replays(town):
    """A session file without ``house`` and ``late`` (as written before they existed)."""
    session, _ = _played(town, players=3, periods=40)
    data = json.loads(session.record().to_json())
    del data["house"], data["late"]
    record = SessionRecord.from_dict(data, source="old.json")
    assert record.house == 0 and record.late == ()
    replayed = PlayedMarket.replay(record, scenario=town)
    assert replayed.leaderboard() == session.leaderboard()
    for bad, words in [({"late": 3}, "'late' is not a list"), ({"late": [[1]]}, r"late\[0\]"),
                       ({"house": -1}, "'house' is not a count")]:  # fmt: skip
        with pytest.raises(PlayError, match=words):
            SessionRecord.from_dict({**data, **bad}, source="old.json")
