"""End to end: a market the class plays (`python -m sim app --play bakery_town`), with a
teacher and five students, each in their own Chromium browser context (own cookies, own
Solara session), driven by Playwright.

The students join by name, the teacher starts the market, students change their settings,
the teacher shifts the market; the market runs to its end (one clock on the server, 10
periods a second); then the teacher's and every student's debrief list every player, and the
replay link gives the same debrief. The teacher's QR code reads as the join link, and the
server takes a replay link as long as `LINK_LIMIT` arriving over a network.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, stop, wait_until_it_answers

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("SMB_SIM_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)

STUDENTS = ("Ada", "Brahmagupta", "Cauchy", "Dedekind", "Emmy")


def start_played(*extra: str) -> tuple[subprocess.Popen, str, str]:
    """`python -m sim app --play bakery_town --port 0 --rate 10`: the process, the teacher's
    link and the join link it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sim", "app", "--play", "bakery_town", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
    )
    lines = [process.stdout.readline() for _ in range(3)]
    teacher = next((ln for ln in lines if "teacher, open " in ln), "")
    join = next((ln for ln in lines if "students join at " in ln), "")
    if not teacher or not join:
        stop(process)
        raise RuntimeError(f"the app printed no links: {lines!r}")
    return process, teacher.split("open ", 1)[1].split()[0], join.split(" at ", 1)[1].split()[0]


@pytest.fixture(scope="module")
def played():
    process, teacher, join = start_played("--rate", "10")
    try:
        wait_until_it_answers(process, join)
        yield teacher, join
    finally:
        stop(process)


def _table(page, selector: str) -> list[list[str]]:
    return page.eval_on_selector_all(
        f"{selector} tr",
        "(rows) => rows.map((r) => [...r.children].map((c) => c.textContent.trim()))",
    )


def _teacher_page(browser, teacher_url: str):
    """The teacher's page on a 1280 x 800 projector, once its Start button is there."""
    teacher = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    teacher.goto(teacher_url)
    teacher.locator(".start-button").wait_for(timeout=60_000)
    return teacher


def test_five_students_play_a_market_to_its_end_and_all_are_debriefed(played):
    import zxingcpp
    from PIL import Image
    from playwright.sync_api import sync_playwright

    teacher_url, join_url = played
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            teacher = _teacher_page(browser, teacher_url)
            teacher.get_by_text("Listening on this computer only").wait_for()
            # the join link's QR code, read back from the page by an independent decoder
            shot = teacher.locator(".join-qr svg").screenshot()
            (read,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)))
            assert read.text == join_url
            students = []
            for name in STUDENTS:  # each in a context of their own: a device of their own
                page = browser.new_context(viewport={"width": 412, "height": 915}).new_page()
                page.goto(join_url)
                page.locator(".join-name input").fill(name)
                page.locator(".join-button").click()
                page.locator(".play-waiting").wait_for(timeout=30_000)
                assert "?player=" in page.url
                students.append(page)
            # a name taken is refused with a clear message
            late = browser.new_context().new_page()
            late.goto(join_url)
            late.locator(".join-name input").fill("ada")
            late.locator(".join-button").click()
            late.locator(".play-error", has_text="has joined already").wait_for()
            teacher.locator(".play-players", has_text="Players (5)").wait_for()
            teacher.locator(".start-button").click()
            for page in students:
                page.locator(".apply-button").wait_for(timeout=30_000)
            # two students align their firms; the teacher shifts the market
            for page in students[:2]:
                page.locator(".play-controls .v-btn", has_text="hierarchical").click()
                page.locator(".apply-button").click()
                page.locator(".play-message", has_text="Applied from period").wait_for()
            teacher.locator(".shift-button").click()
            # to the end: 160 periods at 10 a second (and however long a loaded machine takes)
            teacher.locator(".play-phase", has_text="over").wait_for(timeout=180_000)
            teacher.locator(".play-debrief").wait_for()
            rows = _table(teacher, ".play-debrief")
            listed = [r[0] for r in rows[1:]]
            assert listed[: len(STUDENTS)] == list(STUDENTS)
            changes = {r[0]: int(r[-1]) for r in rows[1 : len(STUDENTS) + 1]}
            assert changes == {"Ada": 1, "Brahmagupta": 1, "Cauchy": 0, "Dedekind": 0, "Emmy": 0}
            for page in students:  # every student sees the same debrief
                page.locator(".play-debrief").wait_for(timeout=30_000)
                assert _table(page, ".play-debrief") == rows
            board = _table(teacher, ".play-leaderboard")
            assert {r[0] for r in board[1:]} >= set(STUDENTS)
            # the replay link rebuilds the session: the same debrief, number for number
            link = teacher.locator(".replay-link").get_attribute("href")
            replay = browser.new_context().new_page()
            replay.goto(link)
            replay.locator(".play-debrief").wait_for(timeout=60_000)
            assert _table(replay, ".play-debrief") == rows
            assert _table(replay, ".play-leaderboard") == board
        finally:
            browser.close()


def test_a_foreign_teacher_key_gets_no_controls(played):
    from playwright.sync_api import sync_playwright

    teacher_url, _ = played
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(teacher_url.split("?")[0] + "?teacher=guessed")
            page.locator(".play-error", has_text="not this session's").wait_for(timeout=60_000)
            assert page.locator(".start-button").count() == 0
        finally:
            browser.close()


def _first_line(join_url: str, query: str) -> bytes:
    """The server's status line for ``GET /?replay=QUERY``, the request arriving as it can
    over a network: in pieces, with a browser's headers and cookies, the last two line ends 2 s
    after the rest (so that the server has read the head before it is complete: the limit
    holds for a head in pieces, not for one read at once)."""
    host, port = join_url.split("//", 1)[1].rstrip("/").rsplit(":", 1)
    request = (
        f"GET /?replay={query} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36\r\n"
        "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
        "Accept-Language: en-GB,en;q=0.9,de;q=0.8\r\nAccept-Encoding: gzip, deflate\r\n"
        f"Cookie: solara-session-id={'x' * 36}; other={'y' * 400}\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        try:
            for i in range(0, len(request) - 4, 1400):
                conn.sendall(request[i : min(i + 1400, len(request) - 4)])
            time.sleep(2)
            conn.sendall(request[-4:])
            return conn.recv(64).split(b"\r\n")[0]
        except OSError:  # the server closed the connection: the request is refused
            return b""


def test_a_replay_link_as_long_as_the_limit_is_served_and_a_far_longer_one_is_not(played):
    from sim.app.play import LINK_LIMIT

    _, join_url = played
    assert _first_line(join_url, "A" * LINK_LIMIT).startswith(b"HTTP/1.1 200")
    # the negative control: the server's limit is real (16 KB for a request's head)
    assert not _first_line(join_url, "A" * 17_000).startswith(b"HTTP/1.1 200")


def _text(page, selector: str) -> str:
    """The text of the first element matching ``selector`` ("" while there is none: Solara
    re-renders elements, so one can be missing for a moment)."""
    return page.evaluate(
        "(s) => { const e = document.querySelector(s); return e ? e.textContent.trim() : ''; }",
        selector,
    )


def test_a_late_joiner_and_a_reload_keep_playing_and_the_session_replays_bit_for_bit(tmp_path):
    """Two students from the start; after Start (paused) a third joins and takes a house firm;
    one student reloads and then opens the join link again and gets their own firm back; the
    teacher locks joining; the market runs to its end. The debrief and leaderboard list all
    three, the late one with the period they joined, and the replay link's record, replayed
    in this process, gives the live server's numbers bit for bit (its digest of every history
    column)."""
    from playwright.sync_api import sync_playwright

    from sim.app.session import PlayedMarket, SessionRecord, history_digest

    process, teacher_url, join_url = start_played(
        "--rate", "10", "--house", "2", "--sessions", str(tmp_path)
    )
    try:
        wait_until_it_answers(process, join_url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                teacher = _teacher_page(browser, teacher_url)
                teacher.locator(".play-joining", has_text="keeps 2 house firm").wait_for()
                students = {}
                for name in STUDENTS[:2]:
                    page = browser.new_context(viewport={"width": 412, "height": 915}).new_page()
                    page.goto(join_url)
                    page.locator(".join-name input").fill(name)
                    page.locator(".join-button").click()
                    page.locator(".play-waiting").wait_for(timeout=30_000)
                    students[name] = page
                teacher.locator(".play-players", has_text="Players (2)").wait_for()
                teacher.locator(".start-button").click()
                teacher.locator(".pause-button").click()
                teacher.locator(".resume-button").wait_for(timeout=30_000)
                # a latecomer, on a device of their own, takes a house firm while it is paused
                late = browser.new_context(viewport={"width": 412, "height": 915}).new_page()
                late.goto(join_url)
                late.locator(".join-late", has_text="2 free").wait_for(timeout=30_000)
                late.locator(".join-name input").fill(STUDENTS[2])
                late.locator(".join-button").click()
                late.locator(".play-joined", has_text="took over house firm 3").wait_for(
                    timeout=30_000
                )
                assert "?player=" in late.url
                late.locator(".play-controls .v-btn", has_text="hierarchical").click()
                late.locator(".apply-button").click()
                late.locator(".play-message", has_text="Applied from period").wait_for()
                teacher.locator(".play-joining", has_text="1 of 2 free").wait_for()
                # a reload keeps the firm; so does opening the join link again on that device
                ada = students[STUDENTS[0]]
                own = ada.url
                ada.reload()
                ada.locator(".apply-button").wait_for(timeout=30_000)
                ada.locator(".play-status", has_text=f"You: {STUDENTS[0]}").wait_for()
                ada.goto(join_url)
                ada.locator(".rejoin-button", has_text=STUDENTS[0]).click(timeout=30_000)
                ada.locator(".apply-button").wait_for(timeout=30_000)
                assert ada.url == own
                ada.locator(".play-controls .v-btn", has_text="sequential").click()
                ada.locator(".apply-button").click()
                ada.locator(".play-message", has_text="Applied from period").wait_for()
                # another device has none to come back to
                other = browser.new_context().new_page()
                other.goto(join_url)
                other.locator(".join-name input").wait_for(timeout=30_000)
                assert other.locator(".rejoin-button").count() == 0
                # the teacher locks joining: the join page says so and offers no form
                teacher.locator(".lock-button", has_text="Lock joining").click()
                teacher.locator(".play-joining", has_text="locked").wait_for()
                other.locator(".join-locked").wait_for(timeout=30_000)
                assert other.locator(".join-name").count() == 0
                teacher.locator(".resume-button").click()
                teacher.locator(".play-phase", has_text="over").wait_for(timeout=180_000)
                teacher.locator(".play-debrief").wait_for()
                link = teacher.locator(".replay-link").get_attribute("href")
                digest = _text(teacher, ".session-digest")
                record = SessionRecord.from_link(link.split("?replay=", 1)[1])
                assert record.players == STUDENTS[:3] and record.house == 2
                ((seat, joined),) = record.late
                assert seat == 2 and 0 <= joined < record.periods
                assert [c.player for c in record.changes if c.player >= 0] == [2, 0]
                rows = _table(teacher, ".play-debrief")
                listed = [r[0] for r in rows[1:4]]
                assert listed == [*STUDENTS[:2], f"{STUDENTS[2]} (joined at period {joined})"]
                assert [int(r[-1]) for r in rows[1:4]] == [1, 0, 1]
                board = [r[0] for r in _table(teacher, ".play-leaderboard")[1:]]
                assert f"{STUDENTS[2]} (joined at period {joined})" in board
                for page in (*students.values(), late):
                    page.locator(".play-debrief").wait_for(timeout=30_000)
                    assert _table(page, ".play-debrief") == rows
                # bit for bit: the live server's digest of every history column, the record's,
                # and that of the record replayed here, in another process
                assert len(digest) == 16 and record.digest == digest
                assert history_digest(PlayedMarket.replay(record).market) == digest
                replay = browser.new_context().new_page()
                replay.goto(link)
                replay.locator(".play-debrief").wait_for(timeout=60_000)
                assert _table(replay, ".play-debrief") == rows
                replay.locator(".replay-digest").wait_for()
                assert _text(replay, ".replay-digest") == digest
            finally:
                browser.close()
    finally:
        stop(process)


def test_a_kept_session_opens_after_a_restart_and_a_bad_key_says_why(tmp_path):
    """A session kept by key (as `replay_link` keeps one too long for an address) opens on a
    server started afterwards with the same folder; a malformed key and an unknown one get a
    clear message."""
    from playwright.sync_api import sync_playwright

    from sim.app.session import PlayedMarket, SessionStore
    from sim.scenario import load_scenario

    session = PlayedMarket(load_scenario("bakery_town"), seed=3, house=1)
    tokens = [session.join(name) for name in STUDENTS[:2]]
    session.start()
    for t in range(30):
        if t == 4:
            session.change(tokens[1], alpha=0.6, coordination="hierarchical")
        if t == 9:
            session.join(STUDENTS[2])
        session.step()
    key = SessionStore(tmp_path).save(session.record())
    process, _, join_url = start_played("--sessions", str(tmp_path))
    try:
        wait_until_it_answers(process, join_url)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.goto(f"{join_url}?session={key}")
                page.locator(".play-debrief").wait_for(timeout=60_000)
                names = [r[0] for r in _table(page, ".play-debrief")[1:4]]
                assert names == [*STUDENTS[:2], f"{STUDENTS[2]} (joined at period 9)"]
                assert _text(page, ".replay-digest") == session.record().digest
                unknown = "0123456789abcdef"
                for bad, words in [
                    ("nonsense", "is not a session key"),
                    (unknown, f"no session {unknown} is kept"),
                ]:
                    page.goto(f"{join_url}?session={bad}")
                    page.locator(".play-error", has_text=words).wait_for(timeout=60_000)
            finally:
                browser.close()
    finally:
        stop(process)
