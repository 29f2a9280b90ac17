"""End to end: the classroom app as a server, driven in Debian's Chromium by Playwright.

The test starts `python -m sim app --port 0`, reads the address it prints, opens the page,
chooses a scenario, plays, shifts the market, types bad values, and measures how long a
period takes from clicking "Step" until every view is redrawn in the browser. Screenshots
and the timings go to results/app/.
"""

from __future__ import annotations

import json
import os
import statistics
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, VIEWS, VIEWS_LOADED, start_app, stop

RESULTS = Path(__file__).resolve().parents[1] / "results" / "app"
#: Budget for one period plus the redraw of every view, in the browser (the issue's 150 ms);
#: the test fails at twice that, so that a loaded machine does not fail it, a regression does.
BUDGET_MS = 150.0
LIMIT_MS = float(os.environ.get("SMB_SIM_REDRAW_LIMIT_MS", 2 * BUDGET_MS))

# Skipped where Debian's chromium is missing, except in CI (.ci/run installs it and sets
# SMB_SIM_REQUIRE_BROWSER=1, so a failed install cannot hide behind a skip).
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("SMB_SIM_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)

# Clicks "Step" and waits until the period, the numbers and every view's image have changed
# and the images are decoded; returns the milliseconds that took.
STEP_AND_WAIT = """async (views) => {
  const image = (name) => document.querySelector('img.view-' + name);
  const before = views.map((name) => image(name).src);
  const period = document.querySelector('.period-badge').textContent;
  const started = performance.now();
  document.querySelector('.step-button').click();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    const now = views.map(image);
    if (document.querySelector('.period-badge').textContent !== period &&
        now.every((img, k) => img && img.src !== before[k])) {
      await Promise.all(now.map((img) => img.decode()));
      return performance.now() - started;
    }
    if (performance.now() - started > 15000) return -1;
  }
}"""


@pytest.fixture(scope="module")
def server():
    """The app as a server process on a free port: (address, seconds from start to answer)."""
    started = time.perf_counter()
    process, url = start_app()
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert process.poll() is None, "the server stopped"
                assert time.monotonic() < deadline, "the server did not answer"
                time.sleep(0.05)
        yield url, time.perf_counter() - started
    finally:
        stop(process)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _numbers(page, firm: int) -> list[str]:
    return page.locator(f".score-firm-{firm} td.value").all_inner_texts()


def _wait_until_still(page) -> None:
    """Until the period shown has not changed for half a second (the last redraw arrived)."""
    shown, since = page.locator(".period-badge").inner_text(), time.monotonic()
    while time.monotonic() - since < 0.5:
        time.sleep(0.1)
        now = page.locator(".period-badge").inner_text()
        if now != shown:
            shown, since = now, time.monotonic()


def _period(page) -> int:
    return int(page.locator(".period-badge").inner_text().split()[1])


def test_a_class_session_in_a_real_browser(server, browser):
    url, server_ready_s = server
    RESULTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))

    # open: usable when the buttons and every view are there
    opened = time.perf_counter()
    page.goto(url)
    page.locator(".step-button").wait_for(timeout=30_000)
    page.wait_for_function(VIEWS_LOADED, arg=list(VIEWS), timeout=30_000)
    usable = time.perf_counter()
    page.screenshot(path=RESULTS / "01_opened.png")

    # choose a scenario: the boutique, then back to the bakery
    page.locator(".scenario-boutique_online").click()
    page.locator(".story h2", has_text="The boutique").wait_for()
    assert page.locator(".period-badge").inner_text() == "Period 0 of 144"
    page.locator(".scenario-bakery_gluten_free").click()
    page.locator(".story h2", has_text="The bakery").wait_for()
    page.wait_for_function(VIEWS_LOADED, arg=list(VIEWS))

    # play for a while, then pause: both firms' numbers change
    before = [_numbers(page, 0), _numbers(page, 1)]
    page.locator(".play-button").click()
    page.wait_for_function(
        "() => /Period (\\d{2,})/.test(document.querySelector('.period-badge').textContent)",
        timeout=30_000,
    )
    page.locator(".play-button").click()
    page.locator(".play-button", has_text="Play").wait_for()
    _wait_until_still(page)
    playing = [_numbers(page, 0), _numbers(page, 1)]
    assert playing[0] != before[0] and playing[1] != before[1]
    page.screenshot(path=RESULTS / "02_played.png")

    # shift the market now: marked from the next period on
    shift_at = _period(page) + 1
    page.locator(".shift-button").click()
    page.locator(".app-info", has_text=f"At period {shift_at}").wait_for()
    page.locator(".step-button").click()
    page.locator(".shift-log .shift-done", has_text=f"period {shift_at}").wait_for()
    assert "customers move to health conscious" in page.locator(".shift-log").inner_text()

    # the redraw budget: one period of both firms and every view, clicked to decoded
    timings = [page.evaluate(STEP_AND_WAIT, list(VIEWS)) for _ in range(12)]
    assert all(t > 0 for t in timings), timings
    after = [_numbers(page, 0), _numbers(page, 1)]
    assert after[0] != playing[0] and after[1] != playing[1]
    assert page.locator(".app-error").count() == 0
    page.screenshot(path=RESULTS / "03_shifted.png", full_page=True)

    # bad values typed into a control: a visible message, and the page goes on
    for typed, message in (("1.7", "must be from 0 to 1"), ("abc", "expected a number")):
        field = page.locator(".alpha-1 input")
        field.fill(typed)
        field.press("Enter")
        page.locator(".app-error", has_text=message).wait_for()
        page.locator(".alpha-1 .v-messages__message", has_text=message).wait_for()
    page.screenshot(path=RESULTS / "04_bad_value.png")
    period = _period(page)
    page.locator(".step-button").click()
    page.wait_for_function(
        f"() => !document.querySelector('.period-badge').textContent.includes('Period {period} ')"
    )
    assert _period(page) == period + 1
    assert problems == []

    median = statistics.median(timings)
    report = {
        "period_and_redraw_ms": {
            "median": round(median, 1),
            "all": [round(t, 1) for t in timings],
            "budget": BUDGET_MS,
        },
        "page_usable_s": {
            # a teacher starts the server, then opens the address in a running browser
            "from_server_start": round(server_ready_s + (usable - opened), 2),
            "server_answers_after": round(server_ready_s, 2),
            "from_opening_the_page": round(usable - opened, 2),
        },
        "load_average": os.getloadavg()[0],
    }
    (RESULTS / "timings.json").write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nclassroom app timings: {json.dumps(report)}")
    assert median <= LIMIT_MS, f"a period and its redraw took {median:.0f} ms (median)"
