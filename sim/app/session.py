"""A market the class plays: one shared market of competing firms, one firm per student.

Plain Python (no Solara), so everything can be tested without a browser. A `PlayedMarket` is
the one server-side object every browser of a played session reads and changes (all public
methods are thread-safe): students join in the lobby, the teacher starts the market, each
student steers their own firm (alignment, sensing, coordination, communication), the teacher
pauses, resumes and shifts the market, and the market steps in one place (`step`, called by
one `Clock` thread; never once per browser). Every change is recorded with its period, so
`replay` rebuilds the same numbers from a `SessionRecord` (a saved file or a link).

The market is the scenario's ``[competition]`` market (docs/ODD.md, section 7.18) with its
incumbents replaced: one firm per player (strategies ``player_1``, ``player_2`` ... in joining
order, all starting as the ``start`` strategy), plus computer-run rivals from the scenario's
mix when fewer students play than the scenario has incumbents; the scenario's entrants stay.
The market's size grows with the number of firms (``market_size`` x firms / incumbents), so
thirty students share a town made for thirty bakeries, not for five.

**Late joiners.** The teacher may keep ``house`` seats: firms built at Start like the players'
(``player_{n+1}`` ...: the ``start`` strategy), run by nobody (the "house"), in addition to
the players' firms and the computer rivals. A student who joins
after Start takes the first house firm still open, with the settings it has then, and steers it
from the next period on; joining stays open until the teacher locks it (`lock_joining`). The
record keeps who took which firm after which period (`SessionRecord.late`), so a replay gives
the same numbers. A student whose page reloads keeps their firm: their secret is in the
address, and the device they joined from (`remember`) is offered its firm again on the join
page.

**Kept sessions.** A session too long for its record to fit in an address is kept as a file
under a folder (`SessionStore`, by default ``results/played_sessions/``), so its short link
still opens after the server restarts.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import re
import secrets
import struct
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from sim.model import Market
from sim.scenario import (
    Scenario,
    ScenarioError,
    StrategySpec,
    load_scenario,
    scenario_to_dict,
    validate_scenario,
)
from sim.scenario.schema import COORDINATION_MODES

#: What a saved session says it is (a file of another kind is refused).
RECORD_FORMAT = "smb-sim played market 1"
#: Most players one market takes (the app is tested with 30), house seats included.
MAX_PLAYERS = 60
#: Longest player name.
MAX_NAME = 24
#: Fewest periods per second and most (the teacher's speed control).
RATE_RANGE = (0.2, 10.0)
#: The settings a player steers, with their allowed range (None: a coordination mode).
PLAYER_SETTINGS: dict[str, tuple[float, float] | None] = {
    "alpha": (0.0, 1.0),
    "sensing": (0.0, 1.0),
    "coordination": None,
    "communication": (0.0, 1.0),
}
#: The settings in plain words.
SETTING_WORDS = {
    "alpha": "alignment",
    "sensing": "sensing",
    "coordination": "coordination",
    "communication": "communication",
}

Phase = Literal["lobby", "running", "paused", "over"]


class PlayError(ValueError):
    """Something a player or the teacher asked that cannot be done; the message says why."""


# ---- the played scenario ----


def computer_rivals(mix: Mapping[str, int], count: int) -> dict[str, int]:
    """``count`` computer-run firms from the scenario's mix: its strategies in turn (the
    first, the second, ..., the first again), each at most as often as in the mix."""
    left = dict(mix)
    out: dict[str, int] = {}
    while count > 0 and any(left.values()):
        for name in mix:
            if count and left[name]:
                out[name] = out.get(name, 0) + 1
                left[name] -= 1
                count -= 1
    return out


def played_scenario(scenario: Scenario, players: int, start: str, house: int = 0) -> Scenario:
    """The scenario of a played market: strategies ``player_1`` .. ``player_n`` (copies of
    ``start``), one firm each, then ``house`` more such firms (``player_{n+1}`` ...: kept for
    late joiners), computer rivals filling the players up to the scenario's incumbents, the
    scenario's entrants, and a market grown in proportion to its firms."""
    competition = scenario.competition
    if competition is None:
        raise PlayError(
            f"scenario {scenario.name} has no [competition]: a played market needs competing "
            "firms (e.g. bakery_town)"
        )
    if start not in scenario.all_strategies:
        raise PlayError(
            f"start strategy {start!r} is not one of scenario {scenario.name}'s: "
            f"{', '.join(scenario.all_strategies)}"
        )
    data = scenario_to_dict(scenario)
    spec = scenario.all_strategies[start].model_dump(mode="json")
    names = [f"player_{i + 1}" for i in range(players + house)]
    for name in names:
        data["strategies"][name] = {**spec, "description": f"played by a student (from {start})"}
    incumbents = sum(competition.firms.values())
    rivals = computer_rivals(competition.firms, incumbents - players)
    data["competition"]["firms"] = {**dict.fromkeys(names, 1), **rivals}
    firms = players + house + sum(rivals.values())
    data["competition"]["market_size"] = competition.market_size * firms / incumbents
    return validate_scenario(data, source=f"{scenario.name} (played by {players})")


def scenario_fingerprint(scenario: Scenario) -> str:
    """A short hash of the scenario as loaded: a replay refuses a scenario changed since."""
    text = json.dumps(scenario_to_dict(scenario), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---- the record ----


@dataclass(frozen=True)
class PlayChange:
    """A change made after period ``period`` (it acts from ``period + 1``): a player's new
    settings (``player`` >= 0, ``settings``), or the teacher's market shift (``shift``)."""

    period: int
    player: int = -1
    settings: tuple[tuple[str, float | str], ...] = ()
    shift: str = ""

    def words(self, names: Sequence[str]) -> str:
        """The change in plain words."""
        if self.shift:
            return f"after period {self.period}: the teacher shifts the market to {self.shift}"
        what = ", ".join(
            f"{SETTING_WORDS[k]} {v:g}" if isinstance(v, float) else f"{SETTING_WORDS[k]} {v}"
            for k, v in self.settings
        )
        return f"after period {self.period}: {names[self.player]} sets {what}"


@dataclass(frozen=True)
class SessionRecord:
    """Everything a played session needs to be replayed: scenario, seed, start strategy,
    players in joining order, every change with its period, the periods played, the house
    seats kept at Start and, per player who joined after Start (the last ``len(late)`` of
    ``players``, in order), the firm they took (its place in the market's firms) and the
    period after which they took it. ``digest`` is the played market's `history_digest`:
    a replay that does not give the same numbers, bit for bit, is refused ("" in a record
    written before digests: not checked)."""

    scenario: str
    fingerprint: str
    seed: int
    start: str
    players: tuple[str, ...]
    changes: tuple[PlayChange, ...]
    periods: int
    house: int = 0
    late: tuple[tuple[int, int], ...] = ()
    digest: str = ""

    def to_json(self) -> str:
        """The record as a JSON text (a session file)."""
        data = asdict(self)
        data["format"] = RECORD_FORMAT
        return json.dumps(data, indent=1)

    def key(self) -> str:
        """A short key of the record (a hash of its file): the same session, the same key."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:16]

    def to_link(self) -> str:
        """The record as a URL query value: a short JSON header (scenario, seed, players ...)
        and the changes packed in bytes (see `_pack_changes`), compressed and base64url.
        About 2 characters a change; `from_link` gives back an equal record."""
        words: list[str] = []
        header = {k: v for k, v in asdict(self).items() if k != "changes"}
        packed = _pack_changes(self.changes, words)
        header["words"] = words
        raw = json.dumps(header, separators=(",", ":")).encode() + b"\0" + packed
        return base64.urlsafe_b64encode(zlib.compress(raw, 9)).decode().rstrip("=")

    @classmethod
    def from_link(cls, text: str) -> SessionRecord:
        """A record from `to_link`'s text; `PlayError` if it is not one."""
        try:
            inflate = zlib.decompressobj()
            raw = inflate.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)),
                                     _LINK_MAX_BYTES)  # fmt: skip
            if inflate.unconsumed_tail:
                raise ValueError("longer than any session")
            head, _, packed = raw.partition(b"\0")
            data = json.loads(head)
            changes = _unpack_changes(packed, data.pop("words"))
        except (ValueError, zlib.error, KeyError, IndexError, TypeError, AttributeError,
                struct.error) as exc:  # fmt: skip
            raise PlayError(f"the replay link is damaged ({exc})") from None
        data = {**data, "changes": changes, "format": RECORD_FORMAT}
        return cls.from_dict(data, source="the replay link")

    @classmethod
    def from_file(cls, path: str | Path) -> SessionRecord:
        """A record from a session file (`to_json`); `PlayError` naming the file otherwise."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise PlayError(f"{path}: not a readable session file ({exc})") from None
        return cls.from_dict(data, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, *, source: str) -> SessionRecord:
        """A record from its dict, checked field by field (errors name the field)."""
        if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
            raise PlayError(f"{source}: not a played-market session (format {RECORD_FORMAT!r})")

        def need(key: str, kind: type | tuple[type, ...]) -> Any:
            value = data.get(key)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise PlayError(f"{source}: field {key!r} is missing or of the wrong type")
            return value

        changes = []
        for k, item in enumerate(need("changes", list)):
            try:
                settings = tuple((str(a), b if isinstance(b, str) else float(b))
                                 for a, b in item.get("settings", ()))  # fmt: skip
                changes.append(
                    PlayChange(
                        period=int(item["period"]),
                        player=int(item.get("player", -1)),
                        settings=settings,
                        shift=str(item.get("shift", "")),
                    )
                )
            except (KeyError, TypeError, ValueError, AttributeError):
                raise PlayError(f"{source}: changes[{k}] is not a change") from None
        late = []
        if not isinstance(data.get("late", []), list):
            raise PlayError(f"{source}: field 'late' is not a list of pairs (firm, period)")
        for k, item in enumerate(data.get("late", [])):
            if (
                not isinstance(item, list | tuple)
                or len(item) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in item)
            ):
                raise PlayError(f"{source}: late[{k}] is not a pair (firm, period)")
            late.append((item[0], item[1]))
        house = data.get("house", 0)
        if not isinstance(house, int) or isinstance(house, bool) or house < 0:
            raise PlayError(f"{source}: field 'house' is not a count of seats")
        if not isinstance(data.get("digest", ""), str):
            raise PlayError(f"{source}: field 'digest' is not a text")
        return cls(
            scenario=need("scenario", str),
            fingerprint=need("fingerprint", str),
            seed=need("seed", int),
            start=need("start", str),
            players=tuple(str(p) for p in need("players", list)),
            changes=tuple(changes),
            periods=need("periods", int),
            house=house,
            late=tuple(late),
            digest=data.get("digest", ""),
        )


#: Most bytes a replay link may unpack to (a link is a few kilobytes; this refuses a bomb).
_LINK_MAX_BYTES = 1 << 22


def _varint(value: int) -> bytes:
    """``value`` >= 0 in LEB128: 7 bits a byte, low bits first."""
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _zigzag(value: int) -> int:
    return 2 * value if value >= 0 else -2 * value - 1


#: A setting's value in a link: a byte ``k`` <= `_HUNDREDTHS` for the number k/100 (every
#: slider value), `_WORD` then the string's place in the words, or `_EXACT` then its 8 bytes.
_HUNDREDTHS, _WORD, _EXACT = 250, 251, 252


def _pack_changes(changes: Sequence[PlayChange], words: list[str]) -> bytes:
    """The changes in two parts, each regular enough for zlib: first the structure (per
    change the period less the previous change's, zigzag; the player + 1, 0 for the teacher's
    shift, then its regime's word; the settings' count and their names' words; all varints),
    then the values (per setting a byte, see `_HUNDREDTHS`); the structure's length first.
    ``words`` gets every string, each once."""

    def word(text: str) -> bytes:
        if text not in words:
            words.append(text)
        return _varint(words.index(text))

    shape, values, before = bytearray(), bytearray(), 0
    for change in changes:
        shape += _varint(_zigzag(change.period - before))
        before = change.period
        if change.shift:
            shape += _varint(0) + word(change.shift)
            continue
        shape += _varint(change.player + 1) + _varint(len(change.settings))
        for key, value in change.settings:
            shape += word(key)
            k = round(value * 100) if isinstance(value, float) and math.isfinite(value) else -1
            if isinstance(value, str):
                values += bytes([_WORD]) + word(value)
            elif 0 <= k <= _HUNDREDTHS and k / 100 == value and math.copysign(1, value) > 0:
                values.append(k)
            else:
                values += bytes([_EXACT]) + struct.pack("<d", value)
    return _varint(len(shape)) + bytes(shape) + bytes(values)


def _unpack_changes(packed: bytes, words: list[str]) -> list[dict[str, Any]]:
    """`_pack_changes` undone: the changes as dicts (checked by `SessionRecord.from_dict`)."""
    at = 0

    def varint() -> int:
        nonlocal at
        value = shift = 0
        while True:
            byte = packed[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    size = varint()
    end, values = at + size, at + size  # the structure, then the values

    def value() -> float | str:
        nonlocal at, values
        code = packed[values]
        values += 1
        if code <= _HUNDREDTHS:
            return code / 100
        if code == _WORD:
            at, values = values, at  # its word is among the values
            text = words[varint()]
            at, values = values, at
            return text
        if code == _EXACT:
            (number,) = struct.unpack_from("<d", packed, values)
            values += 8
            return number
        raise ValueError(f"unknown value code {code}")

    changes, period = [], 0
    while at < end:
        step = varint()
        period += step // 2 if step % 2 == 0 else -(step + 1) // 2
        player = varint() - 1
        if player < 0:
            changes.append({"period": period, "shift": words[varint()]})
            continue
        settings = [(words[varint()], value()) for _ in range(varint())]
        changes.append({"period": period, "player": player, "settings": settings})
    if at != end or values != len(packed):
        raise ValueError("its changes do not add up")
    return changes


def history_digest(market: Market) -> str:
    """A short hash (SHA-256, 16 hex digits) of every column of ``market``'s history up to
    its period, bit for bit: two runs with the same digest gave the same numbers."""
    history, t = market.engine.history, market.period
    digest = hashlib.sha256()
    for name, column in sorted(vars(history).items()):
        if isinstance(column, np.ndarray):
            digest.update(name.encode() + b"\0")
            digest.update(np.ascontiguousarray(column[: t + 1]).tobytes())
    return digest.hexdigest()[:16]


# ---- sessions kept by key ----

#: What a session's key looks like (`SessionRecord.key`).
_KEY = re.compile(r"[0-9a-f]{16}")


class SessionStore:
    """Session records kept as files ``KEY.json`` (a session file) in ``folder``, by their
    key (`SessionRecord.key`): what ``/?session=KEY`` opens, on this server and after it
    restarts. A file changed since it was saved no longer matches its key and is refused."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def __repr__(self) -> str:
        return f"SessionStore({str(self.folder)!r})"

    def path(self, key: str) -> Path:
        """The file of ``key`` (it may not exist)."""
        return self.folder / f"{key}.json"

    def save(self, record: SessionRecord) -> str:
        """Keep ``record`` (written whole or not at all); returns its key. `OSError` when the
        folder cannot be written."""
        key = record.key()
        path = self.path(key)
        if path.is_file():
            return key  # the same key: the same session file
        self.folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(record.to_json())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return key

    def load(self, key: str) -> SessionRecord:
        """The record kept under ``key``; `PlayError` saying why not (not a key, not kept
        here, unreadable, or changed since it was saved)."""
        key = str(key).strip()
        if not _KEY.fullmatch(key):
            raise PlayError(
                f"{key[:40]!r} is not a session key (16 characters, 0-9 and a-f): check the link"
            )
        path = self.path(key)
        if not path.is_file():
            raise PlayError(
                f"no session {key} is kept in {self.folder}: replay its session file with "
                "python -m sim app --replay FILE"
            )
        record = SessionRecord.from_file(path)
        if record.key() != key:
            raise PlayError(f"{path}: the file has changed since it was saved under key {key}")
        return record


# ---- the leaderboard ----


@dataclass(frozen=True)
class Standing:
    """One firm on the leaderboard, this period."""

    firm: int  # its place in the market's firms
    name: str  # the player's name, or "computer: aligned" ...
    player: int  # the player's number (-1: computer-run)
    profit: float  # this period
    total_profit: float  # summed over the periods played
    market_share: float  # share of the market's customers this period (0 when closed)
    cash: float
    alive: bool
    miles: int  # decisions changed over the run (miles sailed)
    circling: bool  # a move back to a set-up held before within the last cycle window
    changes: int  # settings changes the player made
    settings: str  # what the firm follows now, in short
    joined: int = -1  # the period after which the player took the firm (-1: at the start)


def _fmt(value: float | str) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# ---- the session ----


class PlayedMarket:
    """One played market: lobby, the shared market, the teacher's controls and the record.

    ``scenario`` must have ``[competition]``; ``seed`` defaults to its ``classroom_seed``;
    ``start`` is the strategy every player's firm starts with (default: the first of the
    scenario's mix, ``efficiency_only`` in bakery_town: the students must find alignment);
    ``house`` is how many firms Start keeps for students who join late (see the module).
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        seed: int | None = None,
        start: str | None = None,
        rate: float = 1.0,
        house: int = 0,
    ) -> None:
        if scenario.competition is None:
            raise PlayError(
                f"scenario {scenario.name} has no [competition]: a played market needs "
                "competing firms (e.g. bakery_town)"
            )
        self.lock = threading.RLock()
        self.scenario = scenario
        self.seed = int(scenario.classroom_seed if seed is None else seed)
        self.start_strategy = start if start is not None else next(iter(scenario.competition.firms))
        if self.start_strategy not in scenario.all_strategies:
            raise PlayError(
                f"start strategy {self.start_strategy!r} is not one of scenario "
                f"{scenario.name}'s: {', '.join(scenario.all_strategies)}"
            )
        if isinstance(house, bool) or not isinstance(house, int) or not 0 <= house <= MAX_PLAYERS:
            raise PlayError(f"house seats: expected a whole number from 0 to {MAX_PLAYERS}, "
                            f"got {house!r}")  # fmt: skip
        self.fingerprint = scenario_fingerprint(scenario)
        self.house = house  # seats for late joiners (at Start: at most MAX_PLAYERS in all)
        self.players: list[str] = []
        self.seats: list[int] = []  # per player, their firm's place in the market's firms
        self.late: list[tuple[int, int]] = []  # per late player: (firm, period joined after)
        self.joining_locked = False  # the teacher's lock: nobody joins
        self.tokens: dict[str, int] = {}  # a player's secret -> their number
        self.devices: dict[str, str] = {}  # a browser's session id -> its player's secret
        self.changes: list[PlayChange] = []
        self.phase: Phase = "lobby"
        self.market: Market | None = None
        self.played: Scenario | None = None
        self.rate = float(rate)
        self.version = 0  # bumped at every change: pages redraw when it moves
        self.listeners: list[Callable[[], None]] = []
        self._dirty = threading.Event()
        self._broadcaster: threading.Thread | None = None
        self._board: list[Standing] = []
        self._logs: dict[int, Any] = {}

    def __repr__(self) -> str:
        return (
            f"PlayedMarket({self.scenario.name!r}, seed {self.seed}, {len(self.players)} "
            f"players, {self.phase}, period {self.period})"
        )

    # ---- reading ----
    @property
    def period(self) -> int:
        """The current period (0 before the first step, and in the lobby)."""
        return 0 if self.market is None else self.market.period

    @property
    def horizon(self) -> int:
        """The last period."""
        return self.scenario.horizon

    @property
    def finished(self) -> bool:
        """True once the horizon is reached."""
        return self.phase == "over"

    def player_of(self, token: str) -> int:
        """The player a secret belongs to; `PlayError` for an unknown one."""
        number = self.tokens.get(str(token))
        if number is None:
            raise PlayError("unknown player: open the join link again to join")
        return number

    def firm_of(self, player: int) -> Any:
        """Player ``player``'s firm (after the start)."""
        if self.market is None:
            raise PlayError("the market has not started yet")
        return self.market.rivals[self.seats[player]]

    def joined_after(self, player: int) -> int:
        """The period after which ``player`` joined, -1 for a player from the start."""
        late_from = len(self.players) - len(self.late)
        return self.late[player - late_from][1] if player >= late_from else -1

    def free_seats(self) -> list[int]:
        """The house firms a late joiner could take now: open and run by nobody (their
        places in the market's firms, in order; none before Start)."""
        with self.lock:
            if self.market is None:
                return []
            first = len(self.players) - len(self.late)
            taken = set(self.seats)
            t, alive = self.period, self.market.engine.history.alive
            return [
                k
                for k in range(first, first + self.house)
                if k not in taken and alive[t, self.market.rivals[k].row]
            ]

    def remember(self, device: str, token: str) -> None:
        """Note that ``device`` (a browser's session id) joined as ``token``'s player: its join
        page then offers that firm back (a reload, a closed tab, the join link again)."""
        self.player_of(token)
        with self.lock:
            self.devices[str(device)] = token

    def token_of_device(self, device: str) -> str | None:
        """The secret of the player ``device`` joined as, if any."""
        with self.lock:
            return self.devices.get(str(device))

    def lock_joining(self, locked: bool = True) -> None:
        """The teacher locks joining (nobody else joins, before or after Start) or opens it."""
        with self.lock:
            self.joining_locked = bool(locked)
            self._changed()

    def leaderboard(self) -> list[Standing]:
        """Every firm this period, players first by cash, then computer-run ones (computed
        once per period, when the market steps)."""
        with self.lock:
            return list(self._board)

    def record(self) -> SessionRecord:
        """The session so far, for a file or a link."""
        with self.lock:
            return SessionRecord(
                scenario=self.scenario.name,
                fingerprint=self.fingerprint,
                seed=self.seed,
                start=self.start_strategy,
                players=tuple(self.players),
                changes=tuple(self.changes),
                periods=self.period,
                house=self.house,
                late=tuple(self.late),
                digest="" if self.market is None else history_digest(self.market),
            )

    # ---- the lobby ----
    def join(self, name: str) -> str:
        """Add a player named ``name``; returns their secret (the key of their own page).
        In the lobby the player gets a firm of their own at Start; after Start they take the
        first free house firm (`free_seats`) and steer it from the next period. Refused
        (`PlayError`) for an empty, too long or taken name, when the teacher has locked
        joining, when the market is full or over, or after Start when no house firm is free."""
        clean = " ".join(str(name).split())
        if not clean:
            raise PlayError("type a name to join")
        if len(clean) > MAX_NAME or not clean.isprintable():
            raise PlayError(f"a name has at most {MAX_NAME} printable characters")
        with self.lock:
            if self.joining_locked:
                raise PlayError("the teacher has locked joining: ask the teacher")
            if self.phase == "over":
                raise PlayError("the market is over: ask the teacher for the next one")
            if clean.casefold() in (p.casefold() for p in self.players):
                raise PlayError(f"{clean!r} has joined already: pick another name")
            if len(self.players) >= MAX_PLAYERS:
                raise PlayError(f"the market is full ({MAX_PLAYERS} players)")
            if self.phase == "lobby":
                seat = len(self.players)
            else:
                free = self.free_seats()
                if not free:
                    raise PlayError(
                        "every firm has a player (no house firm is free): ask the teacher to "
                        "keep more for latecomers next time (--house)"
                    )
                seat = free[0]
                self.late.append((seat, self.period))
            self.players.append(clean)
            self.seats.append(seat)
            token = secrets.token_urlsafe(12)
            self.tokens[token] = len(self.players) - 1
            if self.market is not None:
                self._standings()  # the leaderboard names them at once
            self._changed()
            return token

    def start(self) -> None:
        """Build the market with a firm per player and open it (the teacher's Start)."""
        with self.lock:
            if self.phase != "lobby":
                raise PlayError("the market has started already")
            if not self.players:
                raise PlayError("nobody has joined yet: share the join link first")
            self.house = min(self.house, MAX_PLAYERS - len(self.players))
            self.played = played_scenario(
                self.scenario, len(self.players), self.start_strategy, self.house
            )
            self.market = Market(scenario=self.played, rng=self.seed)
            self.phase = "running"
            self._standings()
            self._changed()

    # ---- the teacher ----
    def pause(self) -> None:
        """Stop the clock (the market stays where it is)."""
        with self.lock:
            if self.phase == "running":
                self.phase = "paused"
                self._changed()

    def resume(self) -> None:
        """Start the clock again."""
        with self.lock:
            if self.phase == "paused":
                self.phase = "running"
                self._changed()

    def set_rate(self, rate: float | str) -> float:
        """Periods per second of the clock."""
        low, high = RATE_RANGE
        value = _number(rate, what="speed (periods per second)", low=low, high=high)
        with self.lock:
            self.rate = value
            self._changed()
        return value

    def shift_now(self, to: str | None = None) -> str:
        """Customers move to the next regime (or to ``to``) from the next period."""
        with self.lock:
            market = self._open_market()
            for change in self.changes:
                if change.shift and change.period == self.period:
                    return change.shift  # one shift a period
            event = market.shift_now(to)
            self.changes.append(PlayChange(self.period, shift=event.to))
            self._changed()
            return event.to

    # ---- a player ----
    def change(self, token: str, **settings: float | str | None) -> StrategySpec:
        """Player ``token`` changes their firm's settings from the next period: any of
        ``alpha``, ``sensing``, ``communication`` (0 to 1) and ``coordination`` (a mode).
        Refused with a clear `PlayError` for a bad value (nothing changes then)."""
        player = self.player_of(token)
        values: dict[str, float | str] = {}
        for key, raw in settings.items():
            if key not in PLAYER_SETTINGS:
                raise PlayError(f"unknown setting {key!r}; allowed: {', '.join(PLAYER_SETTINGS)}")
            if raw is None:
                continue
            bounds = PLAYER_SETTINGS[key]
            if bounds is None:
                if raw not in COORDINATION_MODES:
                    raise PlayError(
                        f"coordination: expected one of {', '.join(COORDINATION_MODES)}, "
                        f"got {raw!r}"
                    )
                values[key] = str(raw)
            else:
                values[key] = _number(raw, what=SETTING_WORDS[key], low=bounds[0], high=bounds[1])
        with self.lock:
            market = self._open_market()
            firm = market.rivals[self.seats[player]]
            if not firm.alive:
                raise PlayError("your firm has closed (its cash ran out): watch the others")
            spec = self._apply(player, values)
            if values:
                self.changes.append(PlayChange(self.period, player, tuple(values.items())))
                self._changed()
            return spec

    # ---- the clock ----
    def step(self) -> bool:
        """One period of the whole market (every firm); False once over (nothing happens)."""
        with self.lock:
            if self.market is None or self.phase == "over":
                return False
            self.market.step()
            if self.period >= self.horizon:
                self.phase = "over"
            self._standings()
            self._changed()
            return True

    # ---- replay ----
    @classmethod
    def replay(cls, record: SessionRecord, *, scenario: Scenario | None = None) -> PlayedMarket:
        """The session of ``record`` played again to its last period: the same numbers.
        ``scenario`` defaults to the one of that name in scenarios/; a scenario changed since
        the session is refused."""
        if scenario is None:
            try:
                scenario = load_scenario(record.scenario)
            except ScenarioError as exc:
                raise PlayError(f"the session's scenario cannot be loaded: {exc}") from None
        if scenario_fingerprint(scenario) != record.fingerprint:
            raise PlayError(
                f"scenario {record.scenario} has changed since the session was played; the "
                "replay would not give the same numbers"
            )
        first = len(record.players) - len(record.late)  # players from the start
        if not 0 < first <= len(record.players) <= MAX_PLAYERS:
            raise PlayError(
                f"a session has 1 to {MAX_PLAYERS} players, at least one from the start, not "
                f"{len(record.players)} ({len(record.late)} late)"
            )
        if not 0 <= record.house <= MAX_PLAYERS - first:
            raise PlayError(f"house seats must be from 0 to {MAX_PLAYERS - first}, not "
                            f"{record.house}")  # fmt: skip
        if not 0 <= record.periods <= scenario.horizon:
            raise PlayError(f"periods must be from 0 to {scenario.horizon}, not {record.periods}")
        joins = [(first + k, seat, after) for k, (seat, after) in enumerate(record.late)]
        seats, before = [seat for _, seat, _ in joins], 0
        for player, seat, after in joins:
            if not first <= seat < first + record.house or seats.count(seat) > 1:
                raise PlayError(f"player {player} took firm {seat}, which is not a house firm "
                                "free for them")  # fmt: skip
            if not before <= after <= record.periods:
                raise PlayError(f"player {player} joined after period {after}: outside the "
                                "session or before an earlier joiner")  # fmt: skip
            before = after
        session = cls(scenario, seed=record.seed, start=record.start, house=record.house)
        session.players = list(record.players[:first])
        session.seats = list(range(first))
        session.start()
        session.phase = "paused"
        pending = sorted(record.changes, key=lambda c: c.period)  # stable: same order
        for change in pending:
            if not 0 <= change.period <= record.periods:
                raise PlayError(f"a change at period {change.period} is outside the session")
            if change.player >= len(record.players):
                raise PlayError(f"a change names player {change.player}, who never joined")
            if change.player >= first and change.period < record.late[change.player - first][1]:
                raise PlayError(f"a change by player {change.player} at period {change.period} "
                                "comes before they joined")  # fmt: skip
        for t in range(record.periods + 1):
            for player, seat, after in joins:
                if after == t:
                    session.players.append(record.players[player])
                    session.seats.append(seat)
                    session.late.append((seat, after))
            for change in pending:
                if change.period == t:
                    session._replay_change(change)
            if t < record.periods:
                session.step()
        if session.period < session.horizon:
            session.phase = "paused"
        if record.digest and history_digest(session.market) != record.digest:
            raise PlayError(
                "the replay does not give the session's numbers (its digest differs): was it "
                "played with another version of smb-sim?"
            )
        return session

    def _replay_change(self, change: PlayChange) -> None:
        with self.lock:
            if change.shift:
                self.market.shift_now(change.shift)
            else:
                for key, _ in change.settings:
                    if key not in PLAYER_SETTINGS:
                        raise PlayError(f"a change sets {key!r}, which players cannot set")
                self._apply(change.player, dict(change.settings))
            self.changes.append(change)

    # ---- the debrief ----
    def debrief(self) -> list[dict[str, Any]]:
        """Per player (then computer firm): profit over the run and after the split, market
        share after the split, survival, miles sailed, whether it sailed in circles at the end,
        and whether it adapted (see `adapted`); every player is listed."""
        with self.lock:
            if self.market is None:
                return []
            scenario, t = self.scenario, self.period
            split = min(scenario.split, t)
            window = scenario.metrics.cycle_window
            h = self.market.engine.history
            owner = {seat: player for player, seat in enumerate(self.seats)}
            out = []
            for k, firm in enumerate(self.market.rivals):
                log = firm.log
                row = firm.row
                profit = np.nan_to_num(log.floats["profit"][1 : t + 1], nan=0.0)
                share = np.where(h.alive[: t + 1, row], h.market_share[: t + 1, row], 0.0)
                player = owner.get(k, -1)
                in_cycle = log.bools["in_cycle"][: t + 1]
                pre = slice(max(1, split - scenario.metrics.window), split)
                before = share[pre]
                after = share[split:] if t > split else share[-1:]
                value = log.floats["market_value"][: t + 1]
                value_before = value[pre]
                value_end = value[max(split, t + 1 - scenario.metrics.window) :]
                out.append(
                    {
                        "name": self.players[player] if player >= 0 else self._unplayed(k),
                        "player": player,
                        "joined": self.joined_after(player) if player >= 0 else -1,
                        "total_profit": float(profit.sum()),
                        "profit_after": float(profit[max(split - 1, 0) :].mean()) if t else 0.0,
                        "share_before": float(before.mean()) if before.size else float("nan"),
                        "share_after": float(after.mean()),
                        "alive": bool(firm.alive),
                        "miles": int(log.ints["miles"][: t + 1].sum()),
                        "circles": bool(firm.alive and in_cycle[max(0, t + 1 - window) :].any()),
                        "changes": sum(1 for c in self.changes if c.player == player >= 0),
                        "settings": _settings_words(firm.strategy),
                        "value_before": _mean(value_before),
                        "value_end": _mean(value_end),
                    }
                )
            for row in out:
                row["adapted"] = adapted(row, scenario.metrics.recovery_threshold)
            # players in joining order (a late one's firm comes later), then the others
            players = sorted((r for r in out if r["player"] >= 0), key=lambda r: r["player"])
            return players + [r for r in out if r["player"] < 0]

    # ---- inside ----
    def _open_market(self) -> Market:
        if self.market is None:
            raise PlayError("the market has not started yet")
        if self.phase == "over":
            raise PlayError("the market is over: look at the debrief")
        return self.market

    def _apply(self, player: int, values: Mapping[str, float | str]) -> StrategySpec:
        firm = self.market.rivals[self.seats[player]]
        spec = StrategySpec.model_validate({**firm.strategy.model_dump(), **values})
        if values:
            firm.set_strategy(spec, label=", ".join(f"{k} {_fmt(v)}" for k, v in values.items()))
        return spec

    def _standings(self) -> None:
        """The leaderboard of this period (once per step, under the lock)."""
        market, t = self.market, self.period
        h = market.engine.history
        window = self.scenario.metrics.cycle_window
        counts: dict[int, int] = {}
        for change in self.changes:
            if change.player >= 0:
                counts[change.player] = counts.get(change.player, 0) + 1
        owner = {seat: player for player, seat in enumerate(self.seats)}
        board = []
        for k, firm in enumerate(market.rivals):
            row = firm.row
            if not h.alive[: t + 1, row].any():
                continue  # an entrant still waiting
            log = firm.log
            profit = np.nan_to_num(log.floats["profit"][1 : t + 1], nan=0.0)
            alive = bool(h.alive[t, row])
            player = owner.get(k, -1)
            recent = log.bools["in_cycle"][max(0, t + 1 - window) : t + 1]
            board.append(
                Standing(
                    firm=k,
                    name=self.players[player] if player >= 0 else self._unplayed(k),
                    player=player,
                    profit=float(profit[-1]) if profit.size and alive else 0.0,
                    total_profit=float(profit.sum()),
                    market_share=float(h.market_share[t, row]) if alive else 0.0,
                    cash=float(h.cash[t, row]),
                    alive=alive,
                    miles=int(log.ints["miles"][: t + 1].sum()),
                    circling=bool(alive and recent.any()),
                    changes=counts.get(player, 0),
                    settings=_settings_words(firm.strategy),
                    joined=self.joined_after(player) if player >= 0 else -1,
                )
            )
        board.sort(key=lambda s: (s.player < 0, not s.alive, -s.cash))
        self._board = board

    def _unplayed(self, firm: int) -> str:
        """The name of a firm no player steers: a house firm, or a computer-run rival."""
        first = len(self.players) - len(self.late)
        if first <= firm < first + self.house:
            return f"house firm {firm + 1}"
        return _computer(self.market.rivals[firm])

    # ---- telling the pages ----
    def listen(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener`` after changes (from one broadcasting thread, never under the
        session's lock, several changes in a row once); returns what stops it."""
        with self.lock:
            self.listeners.append(listener)
            if self._broadcaster is None:
                self._broadcaster = threading.Thread(
                    target=self._broadcast, name="played-market-pages", daemon=True
                )
                self._broadcaster.start()

        def stop() -> None:
            with self.lock:
                if listener in self.listeners:
                    self.listeners.remove(listener)

        return stop

    def _changed(self) -> None:
        self.version += 1
        self._dirty.set()

    def _broadcast(self) -> None:
        """Tell every listener, once per burst of changes: redrawing pages (a Solara render per
        page) happens here, so the clock keeps time however many pages are open."""
        while True:
            self._dirty.wait()
            self._dirty.clear()
            with self.lock:
                listeners = list(self.listeners)
            for listener in listeners:
                try:
                    listener()
                except Exception:  # a closed page must not stop the others
                    with self.lock:
                        if listener in self.listeners:
                            self.listeners.remove(listener)


def adapted(row: Mapping[str, Any], threshold: float) -> bool:
    """A firm *adapted* if it is in business at the end, not sailing in circles, and its
    market value (how well it meets what customers want) over the last window is at least
    ``threshold`` (the scenario's recovery_threshold, 95%) of its value in the window before
    the split: it serves the customers after the shift as well as it served them before."""
    before, end = row["value_before"], row["value_end"]
    return bool(
        row["alive"]
        and not row["circles"]
        and not math.isnan(end)
        and (math.isnan(before) or end >= threshold * before)
    )


def _mean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def _computer(firm: Any) -> str:
    return f"computer: {firm.strategy_name.replace('_', ' ')} {firm.index + 1}"


def _settings_words(spec: StrategySpec) -> str:
    alpha = spec.alpha if isinstance(spec.alpha, float) else "per dept."
    return (
        f"α {_fmt(alpha)}, sensing {spec.sensing:g}, {spec.coordination}, "
        f"communication {spec.communication:g}"
    )


def _number(raw: object, *, what: str, low: float, high: float) -> float:
    if isinstance(raw, bool):
        raise PlayError(f"{what}: expected a number from {low:g} to {high:g}, got {raw!r}")
    try:
        value = float(str(raw).strip().replace(",", ".")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        expected = f"expected a number from {low:g} to {high:g}"
        raise PlayError(f"{what}: {expected}, got {raw!r}") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise PlayError(f"{what}: must be from {low:g} to {high:g}, got {raw!r}")
    return value


# ---- the clock: the one place the market steps ----


@dataclass
class ClockStats:
    """How the clock kept time: per period, how late it stepped, the CPU it took, and when
    the step ended (``time.time()``, so that a page's clock on this computer can be compared)."""

    lag_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    at: list[float] = field(default_factory=list)


class Clock:
    """A thread stepping a `PlayedMarket` at its ``rate`` while it runs (one per session)."""

    def __init__(self, session: PlayedMarket) -> None:
        self.session = session
        self.stats = ClockStats()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="played-market-clock", daemon=True)

    def __repr__(self) -> str:
        state = "ticking" if self._thread.is_alive() else "stopped"
        return f"Clock({state}, {len(self.stats.lag_s)} periods stepped, of {self.session!r})"

    def start(self) -> Clock:
        """Start ticking."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop ticking (waits for the thread)."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        session = self.session
        due = None
        while not self._stop.is_set():
            if session.phase != "running":
                due = None
                self._stop.wait(0.05)
                continue
            now = time.perf_counter()
            if due is None:
                due = now
            if now < due:
                self._stop.wait(due - now)
                continue
            cpu = time.thread_time()
            stepped = session.step()
            if stepped:
                self.stats.cpu_s.append(time.thread_time() - cpu)
                self.stats.lag_s.append(max(0.0, time.perf_counter() - due))
                self.stats.at.append(time.time())
            due += 1.0 / session.rate
