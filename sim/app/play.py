"""The pages of a market the class plays (`python -m sim app --play SCENARIO`).

One `PlayedMarket` (`sim.app.session`) per server, opened by `open_session` before the server
starts, and one `Clock` thread stepping it: every page reads it and calls its methods, no page
steps the market. The address decides the page:

- ``/?teacher=KEY`` (the address the command prints): join links, players, Start, Pause,
  Resume, Shift now, speed, the leaderboard, and at the end the debrief, the replay link and the
  session file;
- ``/`` (the join link): a name, then ``/?player=SECRET``: the student's own firm, its four
  settings, the leaderboard and at the end the debrief. After Start a student who joins takes
  a free house firm, until the teacher locks joining; a browser that joined before is offered
  its firm back (a reload keeps the address, and with it the firm);
- ``/?replay=RECORD``: the session replayed from its record: the same leaderboard and debrief;
- ``/?session=KEY``: the same, for a session too long for its record to fit in an address,
  kept under a short key as a file (`replay_link`, `SessionStore`): it opens after the server
  restarts too.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

import solara

from sim.app.session import (
    PLAYER_SETTINGS,
    RATE_RANGE,
    Clock,
    PlayedMarket,
    PlayError,
    SessionRecord,
    SessionStore,
    history_digest,
)
from sim.paths import RESULTS_DIR
from sim.scenario.schema import COORDINATION_MODES

#: Where `replay_link` keeps sessions too long for an address (``--sessions`` changes it).
SESSIONS_DIR = RESULTS_DIR / "played_sessions"


@dataclass
class Served:
    """The session this server plays, its clock, the teacher's key and the links."""

    session: PlayedMarket
    clock: Clock
    teacher_key: str
    join_url: str = ""
    network: bool = False  # other computers may join
    store: SessionStore = field(default_factory=lambda: SessionStore(SESSIONS_DIR))
    #: replay_link's records its store could not write (kept while this server runs)
    unsaved: dict[str, SessionRecord] = field(default_factory=dict)


SERVED: Served | None = None
#: Longest record carried in a replay link's address (characters): half the 16 KB a request's
#: first line and headers may take in the app's server (uvicorn with h11), leaving room for the
#: host, the headers and cookies. About 2,000 changes of all four settings fit.
LINK_LIMIT = 8000


def replay_link(served: Served, record: SessionRecord) -> str:
    """The address that replays ``record``: with the record itself in the address when it
    fits (`LINK_LIMIT`; it then replays on any server of the same scenario), else with a short
    key of the record, its session file kept in ``served.store`` (it opens after a restart
    too; if the store cannot be written, only while this server runs). The session file
    replays it anywhere: ``python -m sim app --replay FILE``."""
    base = served.join_url.rstrip("/")
    text = record.to_link()
    if len(text) <= LINK_LIMIT:
        return f"{base}/?replay={text}"  # base64url: nothing to quote
    try:
        key = served.store.save(record)
    except OSError:
        key = record.key()
        served.unsaved[key] = record
    return f"{base}/?session={key}"


def kept_session(served: Served, key: str) -> SessionRecord:
    """The record of ``/?session=KEY``; `PlayError` saying why not."""
    record = served.unsaved.get(key)
    return record if record is not None else served.store.load(key)


def open_session(
    session: PlayedMarket, *, teacher_key: str, sessions: str | Path | None = None
) -> Served:
    """Make ``session`` the one this server plays and start its clock; ``sessions``: the
    folder of kept sessions (default `SESSIONS_DIR`)."""
    global SERVED
    if SERVED is not None:
        SERVED.clock.stop()
    SERVED = Served(session=session, clock=Clock(session).start(), teacher_key=teacher_key)
    if sessions is not None:
        SERVED.store = SessionStore(sessions)
    return SERVED


def join_address(host: str, port: int) -> tuple[str, bool]:
    """The join link students open, and whether other computers can reach it: on a network
    address (0.0.0.0: this computer's address on the local network), else localhost."""
    shown = host
    if host in ("0.0.0.0", "::"):
        shown = _lan_address()
    try:
        network = not ipaddress.ip_address(shown.strip("[]")).is_loopback
    except ValueError:
        network = shown not in ("localhost",)
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/", network


def _lan_address() -> str:
    """This computer's address on the local network (no packet is sent)."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.255", 1))
        return probe.getsockname()[0]
    except OSError:
        return socket.gethostbyname(socket.gethostname())
    finally:
        probe.close()


@functools.lru_cache(maxsize=8)
def join_qr(url: str) -> str:
    """The join link as a QR code (segno: error correction M, 8 px a module, the standard
    4-module quiet zone), an inline SVG for the teacher's page: students scan it from the
    projector instead of typing the address."""
    import segno

    code = segno.make(url, error="m", micro=False)
    return code.svg_inline(scale=8, border=4, dark="#000", light="#fff", title=url)


NETWORK_WARNING = (
    "Listening on the local network: anyone on this network who knows the address can open the "
    "join link and join (there is no password). Start the app without --host to keep it on "
    "this computer."
)


# ---- components ----


def _use_session[T](session: PlayedMarket, read: Callable[[], T]) -> T:
    """``read()``, read again whenever the session changes: the calling component redraws
    when its value differs. A page's frame reads its phase (it redraws when the market
    starts, ends, or a firm closes); what changes every period is `LiveHTML`'s."""
    value = solara.use_reactive(read())

    def listen() -> Callable[[], None]:
        return session.listen(lambda: value.set(read()))

    solara.use_effect(listen, [])
    return value.value


@solara.component
def PlayPage() -> None:
    """The page of a played market, chosen by the address (see the module)."""
    router = solara.use_router()
    query = {k: v[0] for k, v in parse_qs(router.search or "").items()}
    solara.Title("smb-sim: a market the class plays")
    if SERVED is None:
        solara.Error("No played market is open on this server (start it with --play).")
        return
    with solara.Column(classes=["play-root"], style={"padding": "12px", "max-width": "1100px"}):
        if "replay" in query:
            ReplayView(query["replay"])
        elif "session" in query:
            try:
                record = kept_session(SERVED, query["session"])
            except PlayError as exc:
                solara.Error(f"This session cannot be opened: {exc}.", classes=["play-error"])
            else:
                ReplayView(record.to_link())
        elif "teacher" in query:
            if query["teacher"] != SERVED.teacher_key:
                solara.Error("This teacher link is not this session's.", classes=["play-error"])
            else:
                TeacherView(SERVED)
        elif "player" in query:
            StudentView(SERVED.session, query["player"])
        else:
            JoinView(SERVED.session)


@solara.component
def JoinView(session: PlayedMarket) -> None:
    """A name and a Join button (after Start: to take a free house firm); the student's own
    page once joined. A browser that joined before gets a button back to its firm."""
    router = solara.use_router()
    name = solara.use_reactive("")
    error = solara.use_reactive("")
    phase, _, free, locked = _use_session(
        session,
        lambda: (session.phase, len(session.players), len(session.free_seats()),
                 session.joining_locked),
    )  # fmt: skip
    device = _device()
    mine = session.token_of_device(device) if device else None

    def join() -> None:
        try:
            token = session.join(name.value)
        except PlayError as exc:
            error.set(str(exc))
            return
        if device:
            session.remember(device, token)
        router.push(f"/?player={token}")

    solara.Markdown(f"## Join the market: {session.scenario.title or session.scenario.name}")
    solara.Markdown(
        f"You will run one firm of the market, competing with the others for its customers. "
        f"{len(session.players)} joined so far."
    )
    if mine is not None:
        back = session.players[session.player_of(mine)]
        solara.Button(f"Back to your firm ({back})", on_click=lambda: router.push(
            f"/?player={mine}"), color="primary", classes=["rejoin-button"])  # fmt: skip
    if phase == "over":
        solara.Warning("The market is over: ask the teacher for the next one.")
        return
    if locked:
        solara.Warning("The teacher has locked joining.", classes=["join-locked"])
        return
    if phase != "lobby":
        if not free:
            solara.Warning(
                "The market has started and every firm has a player: ask the teacher for the "
                "next one.",
                classes=["join-full"],
            )
            return
        solara.Info(
            f"The market has started (period {session.period}): you take over a house firm, "
            f"run so far by nobody with the settings every firm started with ({free} free).",
            classes=["join-late"],
        )
    solara.InputText("Your name", value=name, continuous_update=True, classes=["join-name"])
    solara.Button("Join", on_click=join, color="primary", classes=["join-button"])
    if error.value:
        solara.Error(error.value, classes=["play-error"])


@solara.component
def StudentView(session: PlayedMarket, token: str) -> None:
    """One student's firm: its numbers, its four settings, the leaderboard, the debrief."""
    try:
        player = session.player_of(token)
    except PlayError as exc:
        solara.Error(str(exc), classes=["play-error"])
        return
    phase, alive = _use_session(session, lambda: (session.phase, _open(session, player)))
    frame = f"{phase} {alive}"
    LiveStatus(session, f"You: {session.players[player]}", player, frame)
    joined = session.joined_after(player)
    if joined >= 0:
        solara.Info(
            f"You joined at period {joined} and took over house firm {session.seats[player] + 1}"
            f": your settings act from period {joined + 1}.",
            classes=["play-joined"],
        )
    if phase == "lobby":
        solara.Info("Waiting for the teacher to start the market ...", classes=["play-waiting"])
        return
    if phase != "over" and alive:
        Controls(session, token, session.firm_of(player).strategy)
    if phase == "over":
        Debrief(session)
    LiveLeaderboard(session, highlight=player, frame=frame)


def _open(session: PlayedMarket, player: int) -> bool:
    return session.market is None or bool(session.firm_of(player).alive)


def _device() -> str:
    """This browser's Solara session id (its cookie, kept across reloads), "" outside one."""
    try:
        return solara.get_session_id()
    except Exception:  # no kernel context (a page rendered outside a server)
        return ""


def _joined(name: str, joined: int) -> str:
    """A player's name, with the period they joined at when they joined after Start."""
    return name if joined < 0 else f"{name} (joined at period {joined})"


@solara.component
def Controls(session: PlayedMarket, token: str, strategy: object) -> None:
    """The student's four settings; Apply changes them from the next period."""
    alpha0 = strategy.alpha if isinstance(strategy.alpha, float) else 0.0
    alpha = solara.use_reactive(alpha0)
    sensing = solara.use_reactive(strategy.sensing)
    communication = solara.use_reactive(strategy.communication)
    mode = solara.use_reactive(strategy.coordination)
    message = solara.use_reactive("")

    def apply() -> None:
        try:
            session.change(
                token,
                alpha=alpha.value,
                sensing=sensing.value,
                communication=communication.value,
                coordination=mode.value,
            )
            message.set(f"Applied from period {session.period + 1}.")
        except PlayError as exc:
            message.set(str(exc))

    with solara.Card("Your firm's settings", classes=["play-controls"]):
        solara.SliderFloat("Alignment (alpha)", value=alpha, min=0, max=1, step=0.05)
        solara.SliderFloat("Sensing", value=sensing, min=0, max=1, step=0.05)
        solara.ToggleButtonsSingle(value=mode, values=list(COORDINATION_MODES))
        solara.SliderFloat("Communication", value=communication, min=0, max=1, step=0.05)
        if session.scenario.firm.understanding is None:
            solara.Text(
                "(communication acts only where a scenario models understanding; this one "
                "does not: it costs nothing and changes nothing here)",
                style={"font-size": "13px"},
            )
        solara.Button("Apply", on_click=apply, color="primary", classes=["apply-button"])
        if message.value:
            solara.Text(message.value, classes=["play-message"])
    assert set(PLAYER_SETTINGS) == {"alpha", "sensing", "coordination", "communication"}


def status_html(session: PlayedMarket, who: str, player: int = -1) -> str:
    """Who, which market, which period, whether it runs, and a player's own firm."""
    words = {
        "lobby": "waiting to start",
        "running": "running",
        "paused": "paused",
        "over": "over",
    }
    out = (
        f'<div class="play-status" style="font-size:20px">{_html(who)} · '
        f"{_html(session.scenario.name)} · "
        f'<span class="play-period">period {session.period} of {session.horizon}</span> · '
        f'<span class="play-phase">{words[session.phase]}</span></div>'
    )
    mine = next((s for s in session.leaderboard() if s.player == player >= 0), None)
    if mine is not None:
        out += (
            f'<div class="play-firm" style="font-size:18px"><b>Your firm</b>: cash '
            f"{mine.cash:.0f}, profit this period {mine.profit:.1f} "
            f"({_html(session.scenario.money_unit)}), market share {mine.market_share:.0%}, "
            f"miles sailed {mine.miles}, "
            + ("<b>sailing in circles</b>" if mine.circling else "not sailing in circles")
            + ("" if mine.alive else " — <b>closed</b> (its cash ran out)")
            + "</div>"
        )
    return out


@solara.component
def Status(session: PlayedMarket, who: str, player: int = -1) -> None:
    """`status_html` as it is now (a replay's, which does not change)."""
    solara.HTML(unsafe_innerHTML=status_html(session, who, player))


@solara.component
def LiveStatus(session: PlayedMarket, who: str, player: int = -1, frame: str = "") -> None:
    """`status_html`, new every period (``frame``: see `LiveHTML`)."""
    LiveHTML(session, lambda: status_html(session, who, player)).key(f"status {frame}")


@solara.component
def LiveHTML(session: PlayedMarket, html: Callable[[], str]) -> None:
    """An HTML block whose text ``html()`` the session's broadcasting thread sets directly
    on its widget after every change (one message to its page). Not a redraw: Solara would
    go over every widget of the page to find what changed, which made the server's CPU per
    period grow with the number of widgets on each page (6 times the CPU with 10 students).
    Solara does not know the text changed, so a redraw of the page's frame could put back the
    text it last drew: the frame passes its state (``frame``, e.g. the phase) into the block's
    key, and a new frame makes a new block."""
    element = solara.HTML(unsafe_innerHTML=html())

    def listen() -> Callable[[], None]:
        widget = solara.get_widget(element)

        def update() -> None:
            text = html()
            if widget.unsafe_innerHTML != text:
                widget.unsafe_innerHTML = text

        return session.listen(update)

    solara.use_effect(listen, [])


def leaderboard_html(session: PlayedMarket, highlight: int = -1) -> str:
    """Every firm this period: players by cash, then computer-run firms ("" before the
    start)."""
    rows = session.leaderboard()
    if not rows:
        return ""
    unit = _html(session.scenario.money_unit)
    lines = [
        '<table class="play-leaderboard" style="font-size:16px;border-collapse:collapse">',
        f"<tr><th>firm</th><th>profit ({unit})</th><th>total profit</th><th>market share</th>"
        "<th>cash</th><th>open</th><th>miles sailed</th><th>in circles</th><th>changes</th>"
        "<th>settings now</th></tr>",
    ]
    for s in rows:
        style = "font-weight:bold;background:#fff3c4" if s.player == highlight >= 0 else ""
        style += ";color:#777" if s.player < 0 else ""
        lines.append(
            f'<tr style="{style}"><td>{_html(_joined(s.name, s.joined))}</td>'
            f"<td>{s.profit:.1f}</td>"
            f"<td>{s.total_profit:.0f}</td><td>{s.market_share:.0%}</td><td>{s.cash:.0f}</td>"
            f"<td>{'yes' if s.alive else 'closed'}</td><td>{s.miles}</td>"
            f"<td>{'yes' if s.circling else 'no'}</td><td>{s.changes}</td>"
            f"<td>{_html(s.settings)}</td></tr>"
        )
    lines.append("</table>")
    return "".join(lines)


@solara.component
def Leaderboard(session: PlayedMarket, highlight: int = -1) -> None:
    """`leaderboard_html` as it is now (a replay's, which does not change)."""
    solara.HTML(unsafe_innerHTML=leaderboard_html(session, highlight))


@solara.component
def LiveLeaderboard(session: PlayedMarket, highlight: int = -1, frame: str = "") -> None:
    """`leaderboard_html`, new every period (``frame``: see `LiveHTML`)."""
    LiveHTML(session, lambda: leaderboard_html(session, highlight)).key(f"board {frame}")


@solara.component
def Debrief(session: PlayedMarket) -> None:
    """Every player: who sailed in circles, who adapted, and what they earned."""
    rows = session.debrief()
    split = session.scenario.split
    circles = [r["name"] for r in rows if r["player"] >= 0 and r["circles"]]
    adapted = [r["name"] for r in rows if r["player"] >= 0 and r["adapted"]]
    solara.Markdown("## Debrief")
    solara.Markdown(
        f"**Sailed in circles at the end**: {', '.join(circles) or 'nobody'}.  \n"
        f"**Adapted** (open at the end, not in circles, and meeting what customers want in "
        f"the last periods at least 95% as well as before period {split}): "
        f"{', '.join(adapted) or 'nobody'}."
    )
    unit = _html(session.scenario.money_unit)
    lines = [
        '<table class="play-debrief" style="font-size:16px">',
        f"<tr><th>player</th><th>total profit ({unit})</th><th>profit after {split}</th>"
        f"<th>share before {split}</th><th>share after</th><th>open at the end</th>"
        "<th>miles sailed</th><th>in circles</th><th>adapted</th><th>changes</th></tr>",
    ]
    for r in rows:
        lines.append(
            f'<tr class="{"debrief-player" if r["player"] >= 0 else "debrief-computer"}">'
            f"<td>{_html(_joined(r['name'], r['joined']))}</td><td>{r['total_profit']:.0f}</td>"
            f"<td>{r['profit_after']:.1f}</td><td>{r['share_before']:.0%}</td>"
            f"<td>{r['share_after']:.0%}</td><td>{'yes' if r['alive'] else 'no'}</td>"
            f"<td>{r['miles']}</td><td>{'yes' if r['circles'] else 'no'}</td>"
            f"<td>{'yes' if r['adapted'] else 'no'}</td><td>{r['changes']}</td></tr>"
        )
    lines.append("</table>")
    solara.HTML(unsafe_innerHTML="".join(lines))


@solara.component
def TeacherView(served: Served) -> None:
    """The teacher's page: links, players, Start/Pause/Resume/Shift, speed, the board."""
    session = served.session
    phase, _, rate, locked, free = _use_session(
        session,
        lambda: (session.phase, len(session.players), session.rate, session.joining_locked,
                 len(session.free_seats())),
    )  # fmt: skip
    message = solara.use_reactive("")

    def act(action: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                action()
                message.set("")
            except PlayError as exc:
                message.set(str(exc))

        return run

    frame = f"{phase} {len(session.players)} {rate} {locked} {free}"
    LiveStatus(session, "Teacher", frame=frame)
    if served.network:
        solara.Warning(NETWORK_WARNING, classes=["network-warning"])
    else:
        solara.Info(
            "Listening on this computer only: students on other devices cannot join. Start "
            "the app with --host 0.0.0.0 to let them in from the local network."
        )
    with solara.Row(style={"align-items": "center", "gap": "16px", "flex-wrap": "wrap"}):
        solara.HTML(
            unsafe_innerHTML=f'<div class="join-qr" style="line-height:0">'
            f"{join_qr(served.join_url)}</div>"
        )
        solara.HTML(
            unsafe_innerHTML=f'<div style="font-size:22px">Join link: <a class="join-link" '
            f'href="{_html(served.join_url)}">{_html(served.join_url)}</a><br>'
            '<span style="font-size:16px">Students scan the code or type the link.</span></div>'
        )
    names = [_joined(n, session.joined_after(k)) for k, n in enumerate(session.players)]
    solara.HTML(
        unsafe_innerHTML=f'<div class="play-players" style="font-size:18px"><b>Players '
        f"({len(session.players)})</b>: " + _html(", ".join(names) or "nobody yet") + "</div>"
    )
    if locked:
        joining = "<b>Joining is locked</b>: nobody else can join."
    elif phase == "lobby":
        joining = (
            f"<b>Joining is open.</b> Start keeps {session.house} house firm(s) for latecomers: "
            "a student who joins after Start takes one over."
        )
    elif phase == "over":
        joining = "The market is over."
    else:
        joining = (
            f"<b>Joining is open</b>: a latecomer takes over a house firm ({free} of "
            f"{session.house} free)."
        )
    with solara.Row(style={"align-items": "center", "gap": "12px"}):
        solara.HTML(unsafe_innerHTML=f'<div class="play-joining" style="font-size:18px">'
                                     f"{joining}</div>")  # fmt: skip
        if phase != "over":
            solara.Button(
                "Open joining" if locked else "Lock joining",
                on_click=act(lambda: session.lock_joining(not locked)),
                classes=["lock-button"],
            )
    with solara.Row():
        if phase == "lobby":
            solara.Button("Start", on_click=act(session.start), color="primary",
                          classes=["start-button"])  # fmt: skip
        elif phase == "running":
            solara.Button("Pause", on_click=act(session.pause), classes=["pause-button"])
        elif phase == "paused":
            solara.Button("Resume", on_click=act(session.resume), classes=["resume-button"])
        if phase in ("running", "paused"):
            solara.Button("Shift the market now", on_click=act(session.shift_now),
                          classes=["shift-button"])  # fmt: skip
    low, high = RATE_RANGE
    solara.SliderFloat(
        "Periods per second",
        value=rate,
        min=low,
        max=high,
        step=0.2,
        on_value=lambda v: act(lambda: session.set_rate(v))(),
    )
    if message.value:
        solara.Error(message.value, classes=["play-error"])
    if phase == "over":
        Debrief(session)
        record = session.record()
        solara.HTML(
            unsafe_innerHTML=f'<div>Replay link: <a class="replay-link" '
            f'href="{_html(replay_link(served, record))}">the whole session, replayed</a> '
            f'(its numbers\' digest <span class="session-digest">{record.digest}</span>: a '
            "replay that does not give them bit for bit is refused)</div>"
        )
        solara.FileDownload(
            record.to_json().encode(),
            filename=f"{session.scenario.name}_played_seed{session.seed}.json",
            label="Save the session (replay it with python -m sim app --replay FILE)",
        )
    LiveLeaderboard(session, frame=frame)


@solara.component
def ReplayView(link: str) -> None:
    """A session replayed from its link: its leaderboard and debrief at its last period."""
    replayed = solara.use_memo(lambda: _replayed(link), [link])
    if isinstance(replayed, str):
        solara.Error(replayed, classes=["play-error"])
        return
    Status(replayed, "Replay")
    solara.Markdown(
        f"Replayed from the session's record: {len(replayed.players)} players "
        f"({len(replayed.late)} joined late), {len(replayed.changes)} changes, seed "
        f"{replayed.seed}."
    )
    solara.HTML(
        unsafe_innerHTML="<div>Every number of the market, bit for bit, has the digest "
        f'<span class="replay-digest">{history_digest(replayed.market)}</span>'
        + (" (the session's: checked)" if SessionRecord.from_link(link).digest else "")
        + "</div>"
    )
    first = len(replayed.players) - len(replayed.late)
    joins = [
        (t, f"after period {t}: {replayed.players[first + k]} takes over house firm {seat + 1}")
        for k, (seat, t) in enumerate(replayed.late)
    ]
    events = sorted(joins + [(c.period, c.words(replayed.players)) for c in replayed.changes],
                    key=lambda e: e[0])  # fmt: skip
    with solara.Details("Every change, in order"):
        solara.Markdown("\n".join(f"- {words}" for _, words in events) or "none")
    Debrief(replayed)
    Leaderboard(replayed)


@functools.lru_cache(maxsize=4)
def _replayed(link: str) -> PlayedMarket | str:
    """The session of a replay link, replayed once for every page that opens it (a class
    opening the link together costs one replay, not thirty)."""
    try:
        record = SessionRecord.from_link(link)
        scenario = SERVED.session.scenario if SERVED is not None else None
        if scenario is not None and scenario.name != record.scenario:
            scenario = None
        return PlayedMarket.replay(record, scenario=scenario)
    except PlayError as exc:
        return str(exc)


def _html(text: object) -> str:
    import html

    return html.escape(str(text))
