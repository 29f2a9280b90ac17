"""A market the class plays, with 30 students at 1 period a second (issue 25, item 4).

Run: `python benchmarks/app_play.py [--students 30] [--browsers 3] [--periods 30] [--rate 1]`

One process serves the played market (`python -m sim app --play bakery_town`'s server, run
here in the main thread so that the benchmark can call the session object directly). The
students join in the lobby: ``--browsers`` of them through the join page in their own Chromium
contexts (Playwright), the others by direct calls to the session object (`PlayedMarket.join`),
as a page's button would make them. The teacher starts the market at ``--rate`` periods a
second. Every period each simulated student reads the leaderboard and, with chance 0.05,
changes a setting (`PlayedMarket.change`; seeded); browser students change theirs through the
page's controls every 10 periods.

Two windows of ``--periods`` periods each:

- A, "no pages open": the browser students' pages and the teacher's page closed: the server
  steps the market (every firm) and builds the leaderboard, once a period;
- B, "pages open": the teacher's page and the browser students' pages open and redrawn every
  period.

Per window it prints: the clock's lag (seconds from when a period was due to when it was
stepped and the leaderboard built: median, p90, max), the clock thread's CPU per period (the
market's step plus the leaderboard: median, p90), the whole server process's CPU per period
(every thread: the clock, Solara's renders and websockets), the load average, and (window B)
how many periods the teacher's page shows behind the market, read once a period. From the
two windows it estimates the CPU one open page costs per period ((B - A) / pages open) and
the server CPU per period with all 30 students' pages open (A + 31 pages x that), against the
CPU a period may take at ``--rate`` on this machine's cores. It keeps up if the lag's p90 is
below a quarter of a period and the estimate is below the cores' time per period.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: E402


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


class Driver(threading.Thread):
    """The students, the teacher and the measurements, while the main thread serves."""

    def __init__(self, args: argparse.Namespace, served, url_ready: threading.Event) -> None:
        super().__init__(daemon=True)
        self.args, self.served, self.url_ready = args, served, url_ready
        self.rows: list[dict] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the main thread
            self.error = exc
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # stops the server

    def _run(self) -> None:
        from playwright.sync_api import sync_playwright

        from sim.app.session import PlayError

        args, served = self.args, self.served
        session, clock = served.session, served.clock
        self.url_ready.wait(60)
        join = served.join_url
        teacher_url = f"{join}?teacher={served.teacher_key}"
        rng = random.Random(1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            pages = []
            for k in range(args.browsers):
                page = browser.new_context(viewport={"width": 412, "height": 915}).new_page()
                page.goto(join)
                page.locator(".join-name input").fill(f"browser {k + 1}")
                page.locator(".join-button").click()
                page.locator(".play-waiting").wait_for(timeout=60_000)
                pages.append(page)
            player_urls = [p.url for p in pages]
            tokens = [
                session.join(f"student {k + 1}") for k in range(args.students - args.browsers)
            ]
            for page in pages:  # window A: no page open
                page.context.close()
            session.start()

            def window(name: str, open_pages: list) -> None:
                first = len(clock.stats.lag_s)
                behind: list[int] = []
                cpu0, t0 = time.process_time(), session.period
                stop_at = t0 + args.periods
                while session.period < stop_at and not session.finished:
                    seen = session.period
                    for token in tokens:
                        session.leaderboard()
                        if rng.random() < 0.05:
                            with contextlib.suppress(PlayError):  # a closed firm
                                session.change(token, alpha=round(rng.random(), 2))
                    if open_pages:  # how far the teacher's page is behind the market
                        shown = open_pages[0].locator(".play-period").inner_text().split()[1]
                        behind.append(session.period - int(shown))
                    if open_pages and seen % 10 == 5:
                        for page in open_pages[1:]:
                            if page.locator(".apply-button").count():
                                page.locator(".apply-button").click()
                    while session.period == seen and not session.finished:
                        time.sleep(0.01)
                periods = session.period - t0
                cpu = time.process_time() - cpu0
                lag = clock.stats.lag_s[first:]
                step = clock.stats.cpu_s[first:]
                self.rows.append(
                    {
                        "window": name,
                        "pages": len(open_pages),
                        "periods": periods,
                        "lag_med": statistics.median(lag),
                        "lag_p90": _quantile(lag, 0.9),
                        "lag_max": max(lag),
                        "clock_med": statistics.median(step) * 1000,
                        "clock_p90": _quantile(step, 0.9) * 1000,
                        "process": cpu / max(periods, 1) * 1000,
                        "load": os.getloadavg()[0],
                        "behind_med": statistics.median(behind) if behind else float("nan"),
                        "behind_max": max(behind) if behind else float("nan"),
                    }
                )

            window("A: no pages open", [])
            session.pause()
            teacher = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
            teacher.goto(teacher_url)
            teacher.locator(".resume-button").wait_for(timeout=60_000)
            opened = [teacher]
            for url in player_urls:
                page = browser.new_context(viewport={"width": 412, "height": 915}).new_page()
                page.goto(url)
                page.locator(".play-leaderboard").wait_for(timeout=60_000)
                opened.append(page)
            session.resume()
            window("B: pages open", opened)
            session.pause()
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--browsers", type=int, default=3, help="students in real browsers")
    parser.add_argument("--periods", type=int, default=30, help="periods per window")
    parser.add_argument("--rate", type=float, default=1.0, help="periods per second")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        print(f"needs Debian's chromium at {CHROMIUM}")
        return 2
    if not 0 <= args.browsers <= args.students or 2 * args.periods > 160:
        parser.error("0 <= --browsers <= --students, and 2 x --periods <= 160 (the horizon)")

    from sim.app import play
    from sim.app.app import PLAY_ENV
    from sim.app.server import serve
    from sim.app.session import PlayedMarket
    from sim.scenario import load_scenario

    session = PlayedMarket(load_scenario("bakery_town"), rate=args.rate)
    served = play.open_session(session, teacher_key="bench")
    os.environ[PLAY_ENV] = "1"
    ready = threading.Event()

    def announce(url: str) -> None:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        served.join_url, served.network = play.join_address("127.0.0.1", port)
        ready.set()

    driver = Driver(args, served, ready)
    driver.start()
    with contextlib.suppress(KeyboardInterrupt):
        serve("127.0.0.1", 0, announce=announce)
    driver.join(timeout=30)
    served.clock.stop()
    if driver.error is not None:
        raise driver.error
    _report(args, driver.rows)
    return 0


def _report(args: argparse.Namespace, rows: list[dict]) -> None:
    cores = os.cpu_count() or 1
    period_ms = 1000.0 / args.rate
    print(
        f"\nA played market of bakery_town: {args.students} students ({args.browsers} in "
        f"Chromium, {args.students - args.browsers} by direct calls), {args.rate:g} period(s) "
        f"a second, {args.periods} periods per window, {cores} cores\n"
    )
    head = (
        f"{'window':<20}{'pages':>6}{'periods':>8}{'lag med s':>10}{'p90':>7}{'max':>7}"
        f"{'clock CPU ms med':>17}{'p90':>7}{'process CPU ms':>15}{'load':>6}"
        f"{'page behind med':>16}{'max':>5}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['window']:<20}{r['pages']:>6}{r['periods']:>8}{r['lag_med']:>10.3f}"
            f"{r['lag_p90']:>7.3f}{r['lag_max']:>7.3f}{r['clock_med']:>17.1f}"
            f"{r['clock_p90']:>7.1f}{r['process']:>15.1f}{r['load']:>6.2f}"
            f"{r['behind_med']:>16.1f}{r['behind_max']:>5.0f}"
        )
    if len(rows) == 2 and rows[1]["pages"]:
        a, b = rows
        per_page = max(0.0, (b["process"] - a["process"]) / b["pages"])
        full = a["process"] + (args.students + 1) * per_page
        lag_ok = max(a["lag_p90"], b["lag_p90"]) < 0.25 * period_ms / 1000
        cpu_ok = full < cores * period_ms
        print(
            f"\nCPU per open page per period: {per_page:.1f} ms; estimated server CPU per "
            f"period with all {args.students} students' pages and the teacher's open: "
            f"{full:.0f} ms of {cores * period_ms:.0f} ms ({cores} cores x {period_ms:.0f} ms)"
        )
        print(
            f"keeps up at {args.rate:g} period(s) a second: lag p90 < a quarter period: "
            f"{'yes' if lag_ok else 'NO'}; estimated CPU within the cores' time: "
            f"{'yes' if cpu_ok else 'NO'}"
        )


if __name__ == "__main__":
    sys.exit(main())
