"""How soon the classroom page is usable (issue 5). Run: `python benchmarks/app_start.py`.

Each repeat starts `python -m sim app --port 0` as a teacher would, with Debian's chromium
already open (Playwright, the system browser), opens the printed address as soon as it is
printed, and times, from the start of the server process:

- the address printed;
- the page's HTML loaded (DOMContentLoaded);
- the buttons there (the page's components rendered);
- usable: the buttons there and every view's image decoded.

Prints the median of each over the repeats, and whether usable is within the 3 s target.
Needs `/usr/bin/chromium` (Debian's package; `.ci/run` installs it) and Playwright.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.browser import (  # the browser test's Chromium, flags and checks
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWS,
    VIEWS_LOADED,
    start_app,
    stop,
)

TARGET_S = 3.0


def one_start(browser) -> dict[str, float]:
    """Start the server, open the page, and time the milestones (seconds from start)."""
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    started = time.perf_counter()
    process, url = start_app()
    times = {"address printed": time.perf_counter() - started}
    failed = True
    try:
        page.once(
            "domcontentloaded",
            lambda _: times.setdefault("HTML loaded", time.perf_counter() - started),
        )
        page.goto(url, wait_until="commit", timeout=30_000)
        page.locator(".step-button").wait_for(timeout=30_000)
        times["buttons there"] = time.perf_counter() - started
        page.wait_for_function(VIEWS_LOADED, arg=list(VIEWS), timeout=30_000, polling=20)
        times["usable"] = time.perf_counter() - started
        failed = False
        return times
    finally:
        page.close()
        said = stop(process)
        if failed:  # what the server said
            print(said, file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="starts to time (default 5)")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    runs: list[dict[str, float]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        one_start(browser)  # warm the file cache; not counted
        for _ in range(args.repeats):
            runs.append(one_start(browser))
        browser.close()
    print(f"classroom app start, {args.repeats} starts, load {os.getloadavg()[0]:.2f}")
    print(f"{'milestone (s from start)':<26} {'median':>7} {'min':>6} {'max':>6}")
    for milestone in runs[0]:
        values = [run[milestone] for run in runs]
        print(
            f"{milestone:<26} {statistics.median(values):>7.2f} {min(values):>6.2f} "
            f"{max(values):>6.2f}"
        )
    usable = statistics.median(run["usable"] for run in runs)
    verdict = "met" if usable <= TARGET_S else "NOT met"
    print(f"usable within {TARGET_S:g} s: {verdict} (median {usable:.2f} s)")


if __name__ == "__main__":
    main()
