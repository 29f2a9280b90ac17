"""The classroom's live views in the browser (issue 25): this checkout and another, side by side.

Run: `python benchmarks/app_live.py --base ../main-checkout --base-python ../main/.venv/bin/python`

Each repeat starts each app (`python -m sim app --port 0` in its checkout, with its python) in
turn (interleaved, so both see the same machine), opens it in Debian's Chromium and measures:

- usable: seconds from the command to the page's buttons there and the over-time view drawn
  (and the server's CPU seconds until then); and on the way there (no budgets: where the time
  goes), seconds from the command to the address printed (and the server's CPU seconds
  then), the page's HTML received, Solara's scripts run (DOMContentLoaded), plotly.js run
  (its script's load event) and the first render (the play button there);
- server CPU per period: the server process's CPU seconds (user + system, /proc) over a run
  of fast play (30 periods a second), per period advanced, in milliseconds;
- frames a second in Fast mode: the distinct periods the browser showed in the over-time
  view per second of fast play (looked at every animation frame: a chart drawn for a period
  not shown before, or an image's new source); with the periods a second played and the
  browser's main-thread time per frame, busy (wall clock) and CPU (where time goes);
- Pause under load: with a busy-loop process per core started, Play clicked and a second of
  play, the milliseconds from clicking Pause to the last change of the period shown, and the
  periods shown after the click (overshoot), watched until the button says Play and the
  period has been still for a second.

Prints the medians (and min-max) per app, whether the issue's budgets are met: usable <= 2.5
s, <= 20 ms CPU per period, Pause within 300 ms and overshoot <= 2 periods, >= 20 frames a
second; and the ratio of the two apps per repeat (median [min-max]), which a loaded machine
still measures fairly. `--no-pause` skips Pause under load (its busy loops); `--start-only`
measures only the start. Needs
`/usr/bin/chromium` and Playwright.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.browser import CHROMIUM, CHROMIUM_ARGS, VIEWS, VIEWS_LOADED, stop  # noqa: E402

#: How long a loaded machine may take to show the page, in milliseconds.
TIMEOUT_MS = 180_000
BUDGETS = {  # metric: (budget, "<=" or ">="), or None: measured, no budget (where time goes)
    "usable (s)": (2.5, "<="),
    "server CPU until usable (s)": None,
    "  address printed (s)": None,
    "  server CPU at the address (s)": None,
    "  HTML received (s)": None,
    "  Solara's scripts run (s)": None,
    "  plotly.js run (s)": None,
    "  first render (s)": None,
    "server CPU per period (ms)": (20.0, "<="),
    "frames a second, Fast": (20.0, ">="),
    "periods a second, Fast": None,
    "browser main thread per frame (ms)": None,
    "browser main-thread CPU per frame (ms)": None,
    "Pause latency under load (ms)": (300.0, "<="),
    "Pause overshoot under load (periods)": (2.0, "<="),
}

# On the way to usable, in the page: when Solara's scripts have run, plotly.js has run and the
# first render has come (the play button there), in milliseconds since the epoch.
MARKS = """(() => {
  const marks = window.smbSimMarks = {};
  const mark = (name) => {
    if (!(name in marks)) marks[name] = performance.timeOrigin + performance.now();
  };
  document.addEventListener('load', (event) => {
    if ((event.target.src || '').includes('plotly')) mark('plotly.js run');
  }, true);
  const watch = new MutationObserver(() => {
    if (document.querySelector('.header-play')) { mark('first render'); watch.disconnect(); }
  });
  document.addEventListener('DOMContentLoaded', () => {
    mark("Solara's scripts run");
    watch.observe(document.body, {childList: true, subtree: true});
  });
})();"""
# The page's HTML received, in milliseconds since the epoch.
HTML_RECEIVED = """() => performance.timeOrigin
  + performance.getEntriesByType('navigation')[0].responseEnd"""

# Frames a second: the distinct periods the over-time view showed per second of `seconds` of
# play, looked at every animation frame (a chart's period drawn, or an image's source): a
# period drawn twice, or an older one drawn again, counts once.
COUNT_FRAMES = """async (seconds) => {
  const state = () => {
    const chart = document.querySelector('.plotly-chart.view-over_time');
    if (chart) return chart.dataset.period;
    const img = document.querySelector('img.view-over_time');
    return img ? img.src : '';
  };
  const seen = new Set([state()]);
  const started = performance.now();
  while (performance.now() - started < seconds * 1000) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
    seen.add(state());
  }
  return (seen.size - 1) / seconds;
}"""

# Clicks Pause and watches the period shown until the button says Play and the period has not
# changed for a second (at most 20 s: a loaded machine can take seconds): milliseconds from
# the click to the period's last change, and the periods it moved after the click (overshoot).
PAUSE = """async () => {
  // the badge and the button are re-rendered while playing: between two renders they can be
  // briefly absent, and then the last period read stands
  let shown = NaN;
  const period = () => {
    const badge = document.querySelector('.period-badge');
    if (badge) shown = parseInt(badge.textContent.split(' ')[1]);
    return shown;
  };
  const button = () => document.querySelector('.header-play, .play-button');
  const says = (text) => (button()?.textContent ?? '').includes(text);
  const waited = performance.now();
  while ((!button() || Number.isNaN(period())) && performance.now() - waited < 20000) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  const atClick = period();
  const clicked = performance.now();
  button().click();
  let last = atClick, lastChange = clicked;
  while (performance.now() - clicked < 20000) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (period() !== last) { last = period(); lastChange = performance.now(); }
    const still = performance.now() - Math.max(lastChange, clicked) > 1000;
    if (still && says('Play')) break;
  }
  return {ms: lastChange - clicked, overshoot: last - atClick};
}"""


def start(python: str, root: Path) -> tuple[subprocess.Popen, str]:
    """`python -m sim app --port 0` in ``root``, and the address it printed."""
    process = subprocess.Popen(
        [python, "-m", "sim", "app", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=root,
    )
    line = process.stdout.readline()
    if "http://127.0.0.1:" not in line:
        stop(process)
        raise RuntimeError(f"{root}: no address: {line!r}")
    return process, line.split("open ", 1)[1].split()[0]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _main_thread(cdp) -> tuple[float, float]:
    """Seconds the page's main thread has been busy (wall clock: Chrome's TaskDuration) and
    its CPU seconds (ThreadTime, which a loaded machine inflates less)."""
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return metrics["TaskDuration"], metrics["ThreadTime"]


def _busy() -> None:  # pragma: no cover - a load generator
    while True:
        pass


def measure(
    browser, python: str, root: Path, play_s: float, pause: bool = True, play: bool = True
) -> dict[str, float]:
    """One start of the app in ``root``: every metric once (without ``pause``, not Pause's;
    without ``play``, only the start's)."""
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    page.add_init_script(MARKS)
    started, epoch = time.perf_counter(), time.time()
    process, url = start(python, root)
    out: dict[str, float] = {
        "  address printed (s)": time.perf_counter() - started,
        "  server CPU at the address (s)": cpu_seconds(process.pid),
    }
    try:
        page.goto(url + "?scenario=bakery_gluten_free&speed=30", wait_until="commit")
        page.locator(".header-play").wait_for(timeout=TIMEOUT_MS)
        page.wait_for_function(VIEWS_LOADED, arg=["over_time"], timeout=TIMEOUT_MS, polling=20)
        out["usable (s)"] = time.perf_counter() - started
        out["server CPU until usable (s)"] = cpu_seconds(process.pid)
        marks = page.evaluate("window.smbSimMarks") or {}
        marks["HTML received"] = page.evaluate(HTML_RECEIVED)
        for name, at in marks.items():
            out[f"  {name} (s)"] = at / 1000 - epoch
        if not play:
            return out
        # fast play: frames a second in the browser (and its main thread's busy time and CPU
        # time per frame), server CPU per period
        cdp = page.context.new_cdp_session(page)
        cdp.send("Performance.enable")
        period0 = int(page.locator(".period-badge").inner_text().split()[1])
        cpu0 = cpu_seconds(process.pid)
        busy0 = _main_thread(cdp)
        page.locator(".header-play").click()
        fps = page.evaluate(COUNT_FRAMES, play_s)
        busy1 = _main_thread(cdp)
        played = int(page.locator(".period-badge").inner_text().split()[1]) - period0
        page.locator(".header-play").click()
        page.locator(".header-play", has_text="Play").wait_for()
        time.sleep(0.5)
        cpu1 = cpu_seconds(process.pid)
        period1 = int(page.locator(".period-badge").inner_text().split()[1])
        out["frames a second, Fast"] = fps
        out["periods a second, Fast"] = played / play_s
        frames = max(fps * play_s, 1)
        out["browser main thread per frame (ms)"] = 1000 * (busy1[0] - busy0[0]) / frames
        out["browser main-thread CPU per frame (ms)"] = 1000 * (busy1[1] - busy0[1]) / frames
        out["server CPU per period (ms)"] = 1000 * (cpu1 - cpu0) / max(period1 - period0, 1)
        if not pause:
            return out
        # Pause under load, in a new page at period 0 (the fast play may have ended the run)
        page.goto(url + "?scenario=bakery_gluten_free&speed=30", wait_until="commit")
        page.locator(".header-play").wait_for(timeout=TIMEOUT_MS)
        page.locator(".period-badge", has_text="Period 0 of").wait_for(timeout=TIMEOUT_MS)
        # a busy loop per core
        busy = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(os.cpu_count())]
        for p in busy:
            p.start()
        try:
            page.locator(".header-play").click()
            # playing for sure (the server says so), then a second of play: Pause is clicked
            # at whatever period the page shows then (a server that ran ahead of the page
            # overshoots by as much)
            page.locator(".header-play", has_text="Pause").wait_for(timeout=TIMEOUT_MS)
            time.sleep(1.0)
            result = page.evaluate(PAUSE)
        finally:
            for p in busy:
                p.terminate()
                p.join()
        out["Pause latency under load (ms)"] = result["ms"]
        out["Pause overshoot under load (periods)"] = result["overshoot"]
        return out
    finally:
        page.close()
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--base-python", default=sys.executable, help="its python")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--play-seconds", type=float, default=4.0)
    parser.add_argument(
        "--no-pause", action="store_true", help="skip Pause under load (its busy loops)"
    )
    parser.add_argument(
        "--start-only",
        action="store_true",
        help="measure only the start (usable, and where its time goes): no play, no Pause",
    )
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    apps = {"this checkout": (sys.executable, ROOT), "base": (args.base_python, args.base)}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in apps}
    paired: list[dict[str, dict[str, float]]] = []  # per repeat, the apps measured
    loads = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for repeat in range(args.repeats):
            order = list(apps) if repeat % 2 == 0 else list(apps)[::-1]
            paired.append({})
            for name in order:
                loads.append(os.getloadavg()[0])
                try:
                    run = measure(
                        browser,
                        *apps[name],
                        args.play_seconds,
                        pause=not args.no_pause,
                        play=not args.start_only,
                    )
                except Exception as exc:  # a start that timed out: said, not counted
                    print(f"{name}: a start failed ({type(exc).__name__}: {exc})"[:300])
                    continue
                runs[name].append(run)
                paired[-1][name] = run
        browser.close()
    print(
        f"classroom live views, {args.repeats} interleaved starts each "
        f"({', '.join(f'{n}: {len(r)} measured' for n, r in runs.items())}), 1024 x 768, "
        f"load {min(loads):.1f}-{max(loads):.1f} (before the busy loops), views {VIEWS}"
    )
    names = list(apps)
    print(
        f"{'metric':<38}"
        + "".join(f"{n:>24}" for n in names)
        + f"{'budget':>10}  met (this / base){'this / base, paired':>28}"
    )
    for metric, budget in BUDGETS.items():
        if not any(metric in run for run in runs[names[0]]):
            continue  # not measured (--no-pause)
        cells, medians = [], []
        for name in names:
            values = [run[metric] for run in runs[name] if metric in run] or [float("nan")]
            med = statistics.median(values)
            medians.append(med)
            cells.append(f"{med:8.1f} [{min(values):.1f}-{max(values):.1f}]")
        if budget is None:
            verdict, limit = "", "-"
        else:
            bound, sense = budget
            met = [m <= bound if sense == "<=" else m >= bound for m in medians]
            verdict = " / ".join("met" if ok else "NOT met" for ok in met)
            limit = f"{sense} {bound:g}"
        # the ratio of the two apps in each repeat (started one after the other: the same
        # machine), median [min-max]: what a loaded machine still measures fairly
        ratios = [
            pair[names[0]][metric] / pair[names[1]][metric]
            for pair in paired
            if len(pair) == 2 and pair[names[0]].get(metric) and pair[names[1]].get(metric)
        ]
        ratio = (
            f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
            if ratios
            else "-"
        )
        print(
            f"{metric:<38}"
            + "".join(f"{c:>24}" for c in cells)
            + f"{limit:>10}  {verdict:<17}{ratio:>20}"
        )


if __name__ == "__main__":
    main()
