"""End to end: the classroom app as a server, driven in Debian's Chromium by Playwright.

`test_a_class_session_in_a_real_browser` (a desk, 1600 x 1000) starts `python -m sim app
--port 0`, plays, shifts the market, types bad values and measures how long a period takes
from clicking "Step" until every view is redrawn in the browser.
`test_a_lesson_on_a_projector` (1024 x 768, presentation mode) checks that a chart is above
the fold with large type, that Pause in fast play stops within a few periods, that a live change is
marked with its baseline, and that the page's link rebuilds the lesson. Screenshots and the
timings go to results/app/ (with SMB_SIM_DOC_SCREENSHOTS=1, the lesson plans' small
screenshots to docs/app/).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import statistics
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    VIEWS,
    VIEWS_LOADED,
    start_app,
    stop,
    wait_until_it_answers,
)

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "results" / "app"
DOC_SHOTS = ROOT / "docs" / "app"
#: Budget for one period plus the redraw of every view, in the browser (the issue's 150 ms):
#: recorded with the timings, measured against it by benchmarks/app_live.py, not asserted.
BUDGET_MS = 150.0
#: Pause stops fast play within this many periods of the one shown when it was clicked (the
#: issue's budget is 2 under load, held by benchmarks/app_live.py; this guards the mechanism:
#: play kept within 2 periods of what the chart drew).
PAUSE_OVERSHOOT = 4

# Skipped where Debian's chromium is missing, except in CI (.ci/run installs it and sets
# SMB_SIM_REQUIRE_BROWSER=1, so a failed install cannot hide behind a skip).
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("SMB_SIM_REQUIRE_BROWSER"),
    reason="Debian's chromium is not installed (.ci/run installs it)",
)

# Clicks "Step" and waits until the period, the numbers and every view have changed: a chart
# drawn by plotly.js for the new period (its data-period), an image's source changed and
# decoded; returns the milliseconds that took.
STEP_AND_WAIT = """async (views) => {
  const chart = (name) => document.querySelector('.plotly-chart.view-' + name);
  const image = (name) => document.querySelector('img.view-' + name);
  const before = views.map((name) => chart(name) ? null : image(name).src);
  const period = document.querySelector('.period-badge').textContent;
  const started = performance.now();
  document.querySelector('.step-button').click();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    const element = document.querySelector('.period-badge');  // absent while re-rendered
    const badge = element ? element.textContent : period;
    if (badge !== period) {
      const now = badge.split(' ')[1];
      const drawn = views.every((name, k) => chart(name)
        ? chart(name).dataset.period === now
        : image(name) && image(name).src !== before[k]);
      if (drawn) {
        await Promise.all(views.filter((name) => !chart(name)).map((n) => image(n).decode()));
        return performance.now() - started;
      }
    }
    if (performance.now() - started > 15000) return -1;
  }
}"""

# Watches the period shown for a second of play (longer, up to 10 s, until 5 frames came: a
# loaded machine starts slowly), clicks Pause, and watches on: the frames seen while playing,
# and the milliseconds from the click to the last change of the period.
PAUSE_WHILE_PLAYING = """async () => {
  // the badge is re-rendered while playing: between two renders it can be briefly absent,
  // and then the last text read stands
  let shown = null;
  const badge = () => {
    const element = document.querySelector('.period-badge');
    if (element) shown = element.textContent;
    return shown;
  };
  const tick = () => new Promise((resolve) => setTimeout(resolve, 5));
  const seen = [badge()];
  const started = performance.now();
  const watching = () => performance.now() - started < 1000
    || (seen.length < 5 && performance.now() - started < 10000);
  while (watching()) {
    await tick();
    if (badge() !== seen[seen.length - 1]) seen.push(badge());
  }
  const clicked = performance.now();
  const atClick = badge();
  document.querySelector('.header-play').click();
  let last = badge(), lastChange = clicked;
  while (performance.now() - clicked < 1500) {
    await tick();
    if (badge() !== last) { last = badge(); lastChange = performance.now(); }
  }
  return {frames: seen, stopped_ms: lastChange - clicked, at_click: atClick, final: last};
}"""


# The font sizes (CSS px) of the over-time chart's tick labels, as drawn by plotly.js.
TICK_PX = """() => [...document.querySelectorAll(
  '.view-over_time .xaxislayer-above text, .view-over_time .yaxislayer-above text')]
  .map((e) => parseFloat(getComputedStyle(e).fontSize))"""


@pytest.fixture(scope="module")
def server():
    """The app as a server process on a free port: (address, seconds from start to answer)."""
    started = time.perf_counter()
    process, url = start_app()
    try:
        wait_until_it_answers(process, url)
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


def _watch(page) -> list[str]:
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("requestfailed", lambda request: problems.append(f"failed: {request.url}"))
    return problems


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
    return _period_of(page.locator(".period-badge").inner_text())


def _period_of(badge: str) -> int:
    """The period a badge's text ("Period 12 of 160 ...") shows."""
    return int(badge.split()[1])


def _shot(page, name: str, *, doc: bool = False) -> None:
    """A screenshot to results/app/; for docs/app.md (``doc``), a small copy to docs/app/ when
    SMB_SIM_DOC_SCREENSHOTS is set."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(path=RESULTS / f"{name}.png")
    if doc and os.environ.get("SMB_SIM_DOC_SCREENSHOTS"):
        from PIL import Image

        DOC_SHOTS.mkdir(parents=True, exist_ok=True)
        image = Image.open(io.BytesIO(png)).convert("RGB")
        small = image.resize((640, round(640 * image.height / image.width)), Image.LANCZOS)
        small.quantize(128, method=Image.Quantize.FASTOCTREE).save(
            DOC_SHOTS / f"{name}.png", optimize=True
        )


def test_a_class_session_in_a_real_browser(server, browser):
    url, server_ready_s = server
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    problems = _watch(page)

    # open: usable when the buttons and every view are there
    opened = time.perf_counter()
    page.goto(url)
    page.locator(".step-button").wait_for(timeout=30_000)
    page.wait_for_function(VIEWS_LOADED, arg=list(VIEWS), timeout=30_000)
    usable = time.perf_counter()
    assert page.locator(".classroom-root.desk").count() == 1
    _shot(page, "01_opened")

    # choose a scenario: the boutique, then back to the bakery; the Info panel tells the story
    page.locator(".scenario-boutique_online").click()
    page.locator(".period-badge", has_text="Period 0 of 144").wait_for()
    page.locator(".scenario-bakery_gluten_free").click()
    page.locator(".period-badge", has_text="Period 0 of 160").wait_for()
    page.locator(".info-button").click()
    page.locator(".story h2", has_text="The bakery").wait_for()
    assert "Things to notice" in page.locator(".story").inner_text()
    page.locator(".info-button").click()
    page.wait_for_function(VIEWS_LOADED, arg=list(VIEWS))

    # play for a while, then pause: both firms' numbers change; the hint goes while playing
    before = [_numbers(page, 0), _numbers(page, 1)]
    assert "Press Play" in page.locator(".app-notice").inner_text()
    page.locator(".play-button").click()
    page.wait_for_function(
        "() => /Period ([3-9]|\\d{2,}) /"
        ".test(document.querySelector('.period-badge')?.textContent ?? '')",
        timeout=30_000,
    )
    assert page.locator(".app-notice").count() == 0  # no "press play" while playing
    page.locator(".play-button").click()
    page.locator(".play-button", has_text="Play").wait_for()
    _wait_until_still(page)
    playing = [_numbers(page, 0), _numbers(page, 1)]
    assert playing[0] != before[0] and playing[1] != before[1]

    # shift the market now: it replaces the scheduled one, and is marked from the next period
    shift_at = _period(page) + 1
    page.locator(".shift-button").click()
    page.locator(".app-info", has_text=f"At period {shift_at}").wait_for()
    assert "replaces the shift planned for period 60" in page.locator(".app-info").inner_text()
    page.locator(".step-button").click()
    page.locator(".shift-log .shift-done", has_text=f"period {shift_at}").wait_for()
    assert "customers move to health conscious" in page.locator(".shift-log").inner_text()

    # the redraw budget: one period of both firms and every view, clicked to decoded
    timings = [page.evaluate(STEP_AND_WAIT, list(VIEWS)) for _ in range(12)]
    assert all(t > 0 for t in timings), timings
    assert page.locator(".app-error").count() == 0
    _shot(page, "03_shifted")

    # bad values typed into a control: a visible message, and the page goes on; a good value
    # takes both messages away
    field = page.locator(".alpha-1-input input")
    for typed, message in (("1.7", "must be from 0 to 1"), ("abc", "expected a number")):
        field.fill(typed)
        field.press("Enter")
        page.locator(".app-error", has_text=message).wait_for()
        page.locator(".alpha-1-input .v-messages__message", has_text=message).wait_for()
    _shot(page, "04_bad_value")
    field.fill("0.6")
    field.press("Enter")
    page.locator(".app-error").wait_for(state="detached")
    assert page.locator(".alpha-1-input .v-messages__message", has_text="must be").count() == 0
    period = _period(page)
    page.locator(".step-button").click()
    page.wait_for_function(
        f"() => !(document.querySelector('.period-badge')?.textContent ?? 'Period {period} ')"
        f".includes('Period {period} ')"
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
    _merge_timings(report)
    # (the time is recorded, not asserted: a speed budget is the benchmark's, on a quiet
    # machine: benchmarks/app_live.py)


# The over-time chart's firm lines as plotly.js holds them: x and y of each, in trace order.
CHART_LINES = """() => document.querySelector('.plotly-chart.view-over_time').data
  .filter((t) => (t.legendgroup || '').startsWith('firm'))
  .map((t) => ({x: Array.from(t.x), y: Array.from(t.y)}))"""


def _is_the_run(lines: list[dict], scenario: str, period: int, seed_offset: int = 0) -> bool:
    """Whether ``lines`` (`CHART_LINES`) are the periods table (`sim.frames.firm_frame`) of
    ``scenario``'s opening market (plus ``seed_offset``) run to ``period``, per KPI and firm."""
    import numpy as np

    from sim.app.state import KPI_COLUMNS, TwinFirms
    from sim.frames import firm_frame
    from sim.scenario import load_scenario

    sc = load_scenario(scenario)
    twins = TwinFirms(sc, seed=sc.classroom_seed + seed_offset)
    for _ in range(period):
        twins.step()
    tables = [firm_frame(firm, decisions=False) for firm in twins.firms]
    expected = [t[column].to_numpy(float)[: period + 1] for column in KPI_COLUMNS for t in tables]
    if len(lines) != len(expected):
        return False
    for line, want in zip(lines, expected, strict=True):
        got = np.array([np.nan if v is None else v for v in line["y"]], float)
        if line["x"] != list(range(period + 1)) or not np.allclose(
            got, want, atol=5e-5, equal_nan=True
        ):
            return False
    return True


def _merge_timings(report: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "timings.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**old, **report}, indent=2) + "\n")
    print(f"\nclassroom app timings: {json.dumps(report)}")


def test_a_lesson_on_a_projector(server, browser):
    url, _ = server
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    problems = _watch(page)
    page.goto(url + "?scenario=bakery_gluten_free&speed=30")
    page.locator(".classroom-root.presentation").wait_for(timeout=30_000)
    page.locator(".view-over_time").wait_for()
    page.wait_for_function(VIEWS_LOADED, arg=["over_time"])
    # one large view at a time, fully above the fold, with large type; no sideways scrolling
    assert page.locator(".view-sailing").count() == 0
    box = page.locator(".view-over_time").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 768, box
    tick_px = page.evaluate(TICK_PX)
    assert tick_px and min(tick_px) >= 18, f"tick labels {tick_px} px"
    lines = page.evaluate(
        "() => [...document.querySelectorAll('.score')]"
        ".map((e) => e.getBoundingClientRect().height)"
    )
    assert max(lines) < 40, f"the scoreboard is not one line per firm: {lines}"
    _shot(page, "10_projector", doc=True)

    # fast play streams frames; Pause stops it within 300 ms
    page.locator(".header-play").click()
    result = page.evaluate(PAUSE_WHILE_PLAYING)
    assert len(result["frames"]) >= 5, result  # frames arrive, the run does not jump
    # the run stops where the class paused it: a few periods at most (the budget, 2 periods
    # and 300 ms under load, is benchmarks/app_live.py's; before play kept pace with the
    # chart it sailed on to the end, 124-156 periods)
    overshoot = _period_of(result["final"]) - _period_of(result["at_click"])
    assert 0 <= overshoot <= PAUSE_OVERSHOOT, result
    time.sleep(0.5)
    assert page.locator(".period-badge").inner_text() == result["final"]
    # the chart after fast play (frames drawn without redrawing the axes) shows the model's
    # periods table at the period shown, number for number; another market's does not match
    shown = _period(page)
    drawn = "(p) => document.querySelector('.plotly-chart.view-over_time').dataset.period === p"
    page.wait_for_function(drawn, arg=str(shown))
    lines = page.evaluate(CHART_LINES)
    assert _is_the_run(lines, "bakery_gluten_free", shown), "the chart is not the model's run"
    assert not _is_the_run(lines, "bakery_gluten_free", shown, seed_offset=1)

    # a live change from the drawer: marked on the chart, with the firm without it
    page.locator(".drawer-button").click()
    field = page.locator(".alpha-0-input input")
    field.fill("0.7")
    field.press("Enter")
    changed_at = _period(page) + 1
    page.locator(".drawer-close").click()
    for _ in range(3):
        page.locator(".header-step").click()
        page.wait_for_timeout(150)
    caption = page.locator(".caption-over_time")
    caption.wait_for()
    page.wait_for_function(
        "() => document.querySelector('.caption-over_time').textContent.includes('Dashed')"
    )
    text = caption.inner_text()
    assert f"{changed_at}: α 0.7" in text, text
    assert "Dashed: each firm in the same market without the class's changes" in text
    assert f"α 0.7 from {changed_at}" in page.locator(".score-firm-0").inner_text()
    _shot(page, "11_live_change", doc=True)

    # the link in the address bar rebuilds the same lesson in another tab
    _wait_until_still(page)
    link = page.url
    assert f"period={_period(page)}" in link and "firm1:alpha=0.7" in link, link
    page.locator(".copy-link-button").click()
    page.locator(".views-column .app-info", has_text="Link copied").wait_for()
    assert link in page.locator(".views-column .app-info").inner_text()
    other = browser.new_page(viewport={"width": 1024, "height": 768})
    other.goto(link)
    other.locator(".period-badge", has_text=f"Period {_period(page)} of").wait_for(timeout=30_000)
    other.locator(".classroom-root.presentation").wait_for()  # once the window's width is known
    assert other.locator(".scoreboard").inner_text() == page.locator(".scoreboard").inner_text()
    other.wait_for_function(VIEWS_LOADED, arg=["over_time"])
    assert other.locator(".caption-over_time").inner_text() == text
    other.close()

    # at 150% zoom (a 683-pixel wide window): still no sideways scrolling
    zoomed = browser.new_page(viewport={"width": 683, "height": 512}, device_scale_factor=1.5)
    zoomed.goto(link)
    zoomed.locator(".period-badge").wait_for(timeout=30_000)
    zoomed.locator(".classroom-root.presentation").wait_for()
    zoomed.wait_for_function(VIEWS_LOADED, arg=["over_time"])
    width = zoomed.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 683, f"scrolls sideways: {width} px wide"
    zoomed.locator(".layout-button").click()  # the desk view, too
    zoomed.locator(".classroom-root.desk").wait_for()
    zoomed.wait_for_function(VIEWS_LOADED, arg=list(VIEWS))
    width = zoomed.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 683, f"the desk view scrolls sideways: {width} px wide"
    zoomed.close()
    assert problems == []
    _merge_timings({"pause_in_fast_play_ms": round(result["stopped_ms"], 1)})


@pytest.mark.parametrize(
    ("scenario", "period", "view"),
    [
        ("bakery_gluten_free", 0, "over_time"),
        ("bakery_gluten_free", 90, "over_time"),
        ("bakery_gluten_free", 90, "sailing"),
        ("boutique_online", 100, "over_time"),
        ("boutique_online", 100, "departments"),
        ("canteen_stable", 120, "over_time"),
        # the bakery plan's live change (minutes 10-12), 20 periods on
        ("bakery_gluten_free", 110, "over_time&changes=90:firm1:alpha=0.7,sensing=0.3"),
    ],
)
def test_lesson_plan_screens(server, browser, scenario, period, view):
    """The screens docs/app.md's lesson plans show, at 1024 x 768 in presentation mode."""
    url, _ = server
    view, _, changes = view.partition("&changes=")
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.goto(
        f"{url}?scenario={scenario}&period={period}" + (f"&changes={changes}" * bool(changes))
    )
    page.locator(".period-badge", has_text=f"Period {period} of").wait_for(timeout=30_000)
    if view != "over_time":
        page.locator(f".tab-{view}").click()
    page.wait_for_function(VIEWS_LOADED, arg=[view])
    page.locator(".app-notice").evaluate_all("(els) => els.forEach((e) => e.remove())")
    if changes:  # the change marked, and the firm's line away from its dashed line
        caption = page.locator(".caption-over_time").inner_text()
        assert "91: α 0.7, sensing 0.3" in caption and "Dashed" in caption, caption
        assert "No difference so far for efficiency only" not in caption, caption
    name = f"lesson_{scenario}_{period}_{view}" + ("_live_change" if changes else "")
    _shot(page, name, doc=True)
    page.close()


# Set before the page's scripts run: records whether the desk view was ever shown while the
# page opened (it should not flash before presentation mode).
WATCH_LAYOUT = """new MutationObserver(() => {
  if (document.querySelector('.classroom-root.desk:not(.measuring)')) window.smbDeskShown = true;
}).observe(document, {subtree: true, childList: true, attributes: true,
                      attributeFilter: ['class']});"""

# The boxes of the over-time chart and of every tick label and axis title in it.
CHART_PARTS = """() => {
  const chart = document.querySelector('.plotly-chart.view-over_time');
  const parts = [...chart.querySelectorAll(
    '.xaxislayer-above text, .yaxislayer-above text, [class*="title"] text')];
  const box = (e) => { const r = e.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  return {chart: box(chart), parts: parts.map(box), n: parts.length,
          fonts: parts.map((e) => parseFloat(getComputedStyle(e).fontSize))};
}"""


#: The projectors a lesson must fit: window sizes in CSS pixels, and the zoom (at 150% a
#: 1280 x 800 projector's window is 853 x 533 CSS pixels).
PROJECTORS = [
    (1024, 768, 1.0),
    (1024, 678, 1.0),  # 1024 x 768 less a browser's bars, not full screen
    (1280, 800, 1.0),
    (1366, 768, 1.0),
    (1280, 720, 1.0),
    (853, 533, 1.5),  # 1280 x 800 at 150% zoom
    (1152, 720, 1.25),  # 1440 x 900 at 125% zoom
]

# The boxes of a chart (by view name) and of its text: tick labels, axis titles, the panels'
# titles and the legend; the font size of each (CSS px).
CHART_TEXT = """(name) => {
  const chart = document.querySelector('.plotly-chart.view-' + name);
  if (!chart) return null;
  const parts = [...chart.querySelectorAll(
    '.xaxislayer-above text, .yaxislayer-above text, [class*="title"] text, '
    + '.annotation-text, .legendtext')];
  const box = (e) => { const r = e.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  return {chart: box(chart), parts: parts.map(box), n: parts.length,
          fonts: parts.map((e) => parseFloat(getComputedStyle(e).fontSize)),
          texts: parts.map((e) => e.textContent)};
}"""


def _overlaps(found: dict, slack: float = 2.0) -> list[tuple[str, str]]:
    """The pairs of texts in a chart whose boxes overlap (by more than ``slack`` px)."""
    boxes = list(zip(found["texts"], found["parts"], strict=True))
    return [
        (ta, tb)
        for k, (ta, a) in enumerate(boxes)
        for tb, b in boxes[k + 1 :]
        if min(a["right"], b["right"]) - max(a["left"], b["left"]) > slack
        and min(a["bottom"], b["bottom"]) - max(a["top"], b["top"]) > slack
    ]


def _readable_above_the_fold(page, name: str, width: int, height: int, least: int) -> dict:
    """Waits until chart ``name`` and every text in it (at least ``least`` parts) lie inside
    the window, then asserts it, and type of at least 18 CSS px; returns what it found."""
    fits = (
        "([name, w, h, least]) => { const f = (" + CHART_TEXT + ")(name); return !!f && "
        "f.n >= least && [f.chart, ...f.parts].every((p) => p.top >= 0 && p.bottom <= h && "
        "p.left >= 0 && p.right <= w); }"
    )
    with contextlib.suppress(PlaywrightTimeout):  # the asserts below say what does not fit
        page.wait_for_function(fits, arg=[name, width, height, least], timeout=15_000)
    found = page.evaluate(CHART_TEXT, name)
    assert found is not None, f"no {name} chart"
    assert found["n"] >= least, found
    for part, text in zip([found["chart"], *found["parts"]], ["", *found["texts"]], strict=True):
        assert part["top"] >= 0 and part["bottom"] <= height, (name, text, part, found["chart"])
        assert part["left"] >= 0 and part["right"] <= width, (name, text, part)
    small = [(t, f) for t, f in zip(found["texts"], found["fonts"], strict=True) if f < 18]
    assert not small, f"{name}: text under 18 px: {small}"
    return found


@pytest.mark.parametrize(("width", "height", "zoom"), PROJECTORS)
def test_presentation_fits_any_projector(server, browser, width, height, zoom):
    """Presentation mode from the first frame, the whole over-time chart (every tick label and
    axis title) above the fold, ticks of at least 18 px, no sideways scrolling; the controls
    open under the chart, never over it."""
    url, _ = server
    page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=zoom)
    page.add_init_script(WATCH_LAYOUT)
    problems = _watch(page)
    page.goto(url + "?scenario=bakery_gluten_free&period=90")
    page.locator(".period-badge", has_text="Period 90 of").wait_for(timeout=30_000)
    page.locator(".classroom-root.presentation").wait_for()
    page.wait_for_function(VIEWS_LOADED, arg=["over_time"])
    # the chart fitted to the window's height: waited for (a loaded machine takes longer),
    # then checked below; a chart that never fits fails here or there
    fits = (
        "([w, h]) => { const f = (" + CHART_PARTS + ")(); return f.n >= 16 && "
        "[f.chart, ...f.parts].every((p) => p.top >= 0 && p.bottom <= h && p.left >= 0 && "
        "p.right <= w); }"
    )
    with contextlib.suppress(PlaywrightTimeout):  # the asserts below say what does not fit
        page.wait_for_function(fits, arg=[width, height], timeout=10_000)
    assert not page.evaluate("() => !!window.smbDeskShown"), "the desk view flashed"
    found = page.evaluate(CHART_PARTS)
    chart = found["chart"]
    assert found["n"] >= 16, found  # ticks and the axes' titles are there
    for part in [chart, *found["parts"]]:
        assert part["top"] >= 0 and part["bottom"] <= height, (part, chart)
        assert part["left"] >= 0 and part["right"] <= width, (part, chart)
    assert min(found["fonts"]) >= 18, found["fonts"]
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    _shot(page, f"20_projector_{width}x{height}_{round(100 * zoom)}")
    # the controls open under the chart: it keeps its place and size (measured once the page
    # has settled: the same box twice, 300 ms apart)
    box = page.locator(".plotly-chart.view-over_time")
    before = box.bounding_box()
    for _ in range(20):
        page.wait_for_timeout(300)
        before, previous = box.bounding_box(), before
        if before == previous:
            break
    page.locator(".drawer-button").click()
    page.locator(".controls-column .alpha-0-input").wait_for()
    page.wait_for_timeout(200)
    after = box.bounding_box()
    assert abs(after["y"] - before["y"]) < 1 and abs(after["height"] - before["height"]) < 1, (
        before,
        after,
    )
    controls = page.locator(".controls-column").bounding_box()
    assert controls["y"] >= after["y"] + after["height"], (controls, after)
    # the decision timeline: both firms, a row per department, 18 px type, above the fold
    page.locator(".drawer-close").click()
    page.locator(".tab-decisions").click()
    page.wait_for_function(VIEWS_LOADED, arg=["timeline"])
    found = _readable_above_the_fold(page, "timeline", width, height, least=12)
    assert _overlaps(found) == [], "texts of the timeline overlap"
    for department in ("Production", "Purchasing", "Sales & marketing", "Shop floor"):
        assert department in found["texts"], found["texts"]  # every row named
    name = f"21_timeline_{width}x{height}_{round(100 * zoom)}"
    _shot(page, name, doc=(width, height) == (1024, 768))
    assert problems == []
    page.close()


def test_the_debrief_is_readable_above_the_fold_on_a_projector(server, browser):
    """The debrief's chart in presentation mode at every projector's size: every tick label,
    axis title and legend entry above the fold, type of at least 18 px; the numbers under
    it. One debrief (30 markets) seen at each size: the window resized, as a teacher does
    (at a zoom the window's CSS size is the zoomed one; the zoom itself only sharpens)."""
    url, _ = server
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    problems = _watch(page)
    page.goto(url + "?scenario=canteen_stable&period=120")
    page.locator(".period-badge", has_text="Period 120 of").wait_for(timeout=120_000)
    page.locator(".classroom-root.presentation").wait_for()
    page.locator(".tab-debrief").click()
    page.locator(".debrief-button").click()
    page.locator(".plotly-chart.view-debrief .main-svg").first.wait_for(timeout=180_000)
    overlaps: dict[str, list[tuple[str, str]]] = {}
    chart = page.locator(".plotly-chart.view-debrief")
    for width, height, zoom in PROJECTORS:
        page.set_viewport_size({"width": width, "height": height})
        # until the chart has fitted itself to the new window: the same box and the same
        # SVG size twice, 300 ms apart
        before = None
        for _ in range(30):
            page.wait_for_timeout(300)
            now = (chart.bounding_box(), chart.locator(".main-svg").first.bounding_box())
            if now == before:
                break
            before = now
        found = _readable_above_the_fold(page, "debrief", width, height, least=16)
        # no text over another, at every size (150% zoom too: the panels side by side, each
        # titled above it, keep about 150 px of height there)
        overlaps[f"{width}x{height}"] = _overlaps(found)
        for title in ("efficiency", "market value", "period (month)"):
            assert title in found["texts"], (width, height, found["texts"])
        table = page.locator(".debrief-table").bounding_box()
        assert table is not None and table["y"] >= found["chart"]["bottom"] - 1  # under it
        if (width, height) == (1024, 768):
            _shot(page, "lesson_canteen_stable_120_debrief", doc=True)
        _shot(page, f"22_debrief_{width}x{height}_{round(100 * zoom)}")
    _merge_timings({"debrief_overlapping_texts": overlaps})
    assert all(pairs == [] for pairs in overlaps.values()), overlaps
    assert problems == []
    page.close()


def test_the_pages_head_runs_plotly_once_solara_has_asked_for_the_app(server, browser):
    """plotly.js is run by the page's head (sim/app/templates/index.html.j2) as soon as
    Solara's scripts have sent their `run` message, while the server renders, not by the
    first chart when it mounts (which held the first chart up by the time it takes to run);
    WebSocket's send is Solara's own again afterwards; the chart is drawn with it."""
    from sim.app.server import PLOTLY_URL

    url, _ = server
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    problems = _watch(page)
    page.goto(url + "?scenario=bakery_gluten_free")
    page.wait_for_function(VIEWS_LOADED, arg=["over_time"], timeout=120_000, polling=50)
    scripts = page.evaluate(
        '(src) => [...document.querySelectorAll(`script[src="${src}"]`)]'
        ".map((s) => s.dataset.by || 'the chart')",
        PLOTLY_URL,
    )
    assert scripts == ["head"]
    assert page.evaluate("WebSocket.prototype.send.toString().includes('[native code]')")
    assert problems == []
    page.close()
