"""The pages of a market the class plays (`python -m sim app --play SCENARIO`).

One `PlayedMarket` (`sim.app.session`) per server, opened by `open_session` before the server
starts, and one `Clock` thread stepping it: every page reads it and calls its methods, no page
steps the market. The address decides the page:

- ``/?teacher=KEY`` (the address the command prints): join links, players, Start, Pause,
  Resume, Shift now, speed, the leaderboard, and at the end the debrief, the replay link and the
  session file;
- ``/`` (the join link): a name, then ``/?player=SECRET``: the student's own firm, its four
  settings, the leaderboard and at the end the debrief;
- ``/?replay=RECORD``: the session replayed from its record: the same leaderboard and debrief.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, quote

import solara

from sim.app.session import (
    PLAYER_SETTINGS,
    RATE_RANGE,
    Clock,
    PlayedMarket,
    PlayError,
    SessionRecord,
)
from sim.scenario.schema import COORDINATION_MODES


@dataclass
class Served:
    """The session this server plays, its clock, the teacher's key and the links."""

    session: PlayedMarket
    clock: Clock
    teacher_key: str
    join_url: str = ""
    network: bool = False  # other computers may join


SERVED: Served | None = None


def open_session(session: PlayedMarket, *, teacher_key: str) -> Served:
    """Make ``session`` the one this server plays and start its clock."""
    global SERVED
    if SERVED is not None:
        SERVED.clock.stop()
    SERVED = Served(session=session, clock=Clock(session).start(), teacher_key=teacher_key)
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


NETWORK_WARNING = (
    "Listening on the local network: anyone on this network who knows the address can open the "
    "join link and join (there is no password). Start the app without --host to keep it on "
    "this computer."
)


# ---- components ----


def _use_session_version(session: PlayedMarket) -> int:
    """Redraw the calling component whenever the session changes."""
    version = solara.use_reactive(session.version)

    def listen() -> Callable[[], None]:
        def bump() -> None:
            version.set(session.version)

        return session.listen(bump)

    solara.use_effect(listen, [])
    return version.value


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
    """A name and a Join button; the student's own page once joined."""
    router = solara.use_router()
    name = solara.use_reactive("")
    error = solara.use_reactive("")
    _use_session_version(session)

    def join() -> None:
        try:
            token = session.join(name.value)
        except PlayError as exc:
            error.set(str(exc))
            return
        router.push(f"/?player={token}")

    solara.Markdown(f"## Join the market: {session.scenario.title or session.scenario.name}")
    solara.Markdown(
        f"You will run one firm of the market, competing with the others for its customers. "
        f"{len(session.players)} joined so far."
    )
    if session.phase != "lobby":
        solara.Warning("The market has started: ask the teacher for the next one.")
        return
    solara.InputText("Your name", value=name, continuous_update=True, classes=["join-name"])
    solara.Button("Join", on_click=join, color="primary", classes=["join-button"])
    if error.value:
        solara.Error(error.value, classes=["play-error"])


@solara.component
def StudentView(session: PlayedMarket, token: str) -> None:
    """One student's firm: its numbers, its four settings, the leaderboard, the debrief."""
    version = _use_session_version(session)
    try:
        player = session.player_of(token)
    except PlayError as exc:
        solara.Error(str(exc), classes=["play-error"])
        return
    name = session.players[player]
    Status(session, f"You: {name}", version)
    if session.market is None:
        solara.Info("Waiting for the teacher to start the market ...", classes=["play-waiting"])
        return
    firm = session.firm_of(player)
    mine = next((s for s in session.leaderboard() if s.player == player), None)
    if mine is not None:
        solara.Markdown(
            f"**Your firm**: cash {mine.cash:.0f}, profit this period {mine.profit:.1f} "
            f"({session.scenario.money_unit}), market share {mine.market_share:.0%}, "
            f"miles sailed {mine.miles}, "
            + ("**sailing in circles**" if mine.circling else "not sailing in circles")
            + ("" if mine.alive else " — **closed** (its cash ran out)"),
            style={"font-size": "18px"},
        )
    if not session.finished and firm.alive:
        Controls(session, token, firm.strategy)
    if session.finished:
        Debrief(session, version)
    Leaderboard(session, highlight=player, version=version)


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


@solara.component
def Status(session: PlayedMarket, who: str, version: int = 0) -> None:
    """Who, which market, which period, and whether it runs (``version``: the session's, so
    that it redraws when the session changes)."""
    words = {
        "lobby": "waiting to start",
        "running": "running",
        "paused": "paused",
        "over": "over",
    }
    solara.HTML(
        unsafe_innerHTML=f'<div class="play-status" style="font-size:20px">{_html(who)} · '
        f"{_html(session.scenario.name)} · "
        f'<span class="play-period">period {session.period} of {session.horizon}</span> · '
        f'<span class="play-phase">{words[session.phase]}</span></div>'
    )


@solara.component
def Leaderboard(session: PlayedMarket, highlight: int = -1, version: int = 0) -> None:
    """Every firm this period: players by cash, then computer-run firms."""
    rows = session.leaderboard()
    if not rows:
        return
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
            f'<tr style="{style}"><td>{_html(s.name)}</td><td>{s.profit:.1f}</td>'
            f"<td>{s.total_profit:.0f}</td><td>{s.market_share:.0%}</td><td>{s.cash:.0f}</td>"
            f"<td>{'yes' if s.alive else 'closed'}</td><td>{s.miles}</td>"
            f"<td>{'yes' if s.circling else 'no'}</td><td>{s.changes}</td>"
            f"<td>{_html(s.settings)}</td></tr>"
        )
    lines.append("</table>")
    solara.HTML(unsafe_innerHTML="".join(lines))


@solara.component
def Debrief(session: PlayedMarket, version: int = 0) -> None:
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
            f"<td>{_html(r['name'])}</td><td>{r['total_profit']:.0f}</td>"
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
    version = _use_session_version(session)
    message = solara.use_reactive("")

    def act(action: Callable[[], object]) -> Callable[[], None]:
        def run() -> None:
            try:
                action()
                message.set("")
            except PlayError as exc:
                message.set(str(exc))

        return run

    Status(session, "Teacher", version)
    if served.network:
        solara.Warning(NETWORK_WARNING, classes=["network-warning"])
    else:
        solara.Info(
            "Listening on this computer only: students on other devices cannot join. Start "
            "the app with --host 0.0.0.0 to let them in from the local network."
        )
    solara.HTML(
        unsafe_innerHTML=f'<div style="font-size:22px">Join link: <a class="join-link" '
        f'href="{_html(served.join_url)}">{_html(served.join_url)}</a></div>'
    )
    solara.HTML(
        unsafe_innerHTML=f'<div class="play-players" style="font-size:18px"><b>Players '
        f"({len(session.players)})</b>: "
        + _html(", ".join(session.players) or "nobody yet")
        + "</div>"
    )
    with solara.Row():
        if session.phase == "lobby":
            solara.Button("Start", on_click=act(session.start), color="primary",
                          classes=["start-button"])  # fmt: skip
        elif session.phase == "running":
            solara.Button("Pause", on_click=act(session.pause), classes=["pause-button"])
        elif session.phase == "paused":
            solara.Button("Resume", on_click=act(session.resume), classes=["resume-button"])
        if session.phase in ("running", "paused"):
            solara.Button("Shift the market now", on_click=act(session.shift_now),
                          classes=["shift-button"])  # fmt: skip
    low, high = RATE_RANGE
    solara.SliderFloat(
        "Periods per second",
        value=session.rate,
        min=low,
        max=high,
        step=0.2,
        on_value=lambda v: act(lambda: session.set_rate(v))(),
    )
    if message.value:
        solara.Error(message.value, classes=["play-error"])
    if session.finished:
        Debrief(session, version)
        record = session.record()
        base = served.join_url.rstrip("/")
        solara.HTML(
            unsafe_innerHTML=f'<div>Replay link: <a class="replay-link" '
            f'href="{base}/?replay={quote(record.to_link())}">the whole session, replayed</a>'
            "</div>"
        )
        solara.FileDownload(
            record.to_json().encode(),
            filename=f"{session.scenario.name}_played_seed{session.seed}.json",
            label="Save the session (replay it with python -m sim app --replay FILE)",
        )
    Leaderboard(session, version=version)


@solara.component
def ReplayView(link: str) -> None:
    """A session replayed from its link: its leaderboard and debrief at its last period."""
    replayed = solara.use_memo(lambda: _replayed(link), [link])
    if isinstance(replayed, str):
        solara.Error(replayed, classes=["play-error"])
        return
    Status(replayed, "Replay")
    solara.Markdown(
        f"Replayed from the session's record: {len(replayed.players)} players, "
        f"{len(replayed.changes)} changes, seed {replayed.seed}."
    )
    with solara.Details("Every change, in order"):
        solara.Markdown(
            "\n".join(f"- {c.words(replayed.players)}" for c in replayed.changes) or "none"
        )
    Debrief(replayed)
    Leaderboard(replayed)


def _replayed(link: str) -> PlayedMarket | str:
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
