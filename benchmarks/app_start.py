"""How soon the classroom page is usable (issue 25): this checkout and another, side by side.

Run: `python benchmarks/app_start.py --base ../main-checkout --base-python ../main/.venv/bin/python`

Each repeat starts each app in turn (interleaved, so both see the same machine): `python -m sim
app --port 0` in its checkout, with its python, as a teacher would, with Debian's chromium
already open (Playwright); opens the printed address as soon as it is printed, and times, from
the start of the server process:

- the address printed;
- the page's HTML loaded (DOMContentLoaded);
- the buttons there (the page's components rendered);
- usable: the buttons there and the over-time view drawn (1024 x 768: presentation mode, one
  view), or with ``--desk`` (1600 x 1000) every live view drawn;

and the server's CPU seconds (user + system) until usable: less sensitive to the machine's load
than the seconds. Prints the medians (min-max) per app and whether usable is within the
issue's 2.5 s budget (a quiet 2-core machine: on a loaded one, read the ratio of the two apps).
Needs `/usr/bin/chromium` (Debian's package; `.ci/run` installs it) and Playwright.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.app_live import cpu_seconds, start  # noqa: E402
from tests.browser import CHROMIUM, CHROMIUM_ARGS, VIEWS, VIEWS_LOADED, stop  # noqa: E402

BUDGET_S = 2.5
MILESTONES = (
    "address printed (s)",
    "HTML loaded (s)",
    "buttons there (s)",
    "usable (s)",
    "server CPU until usable (s)",
)


def one_start(browser, python: str, root: Path, desk: bool) -> dict[str, float]:
    """Start the server, open the page, and time the milestones (seconds from start)."""
    size = {"width": 1600, "height": 1000} if desk else {"width": 1024, "height": 768}
    page = browser.new_page(viewport=size)
    started = time.perf_counter()
    process, url = start(python, root)
    times = {"address printed (s)": time.perf_counter() - started}
    try:
        page.once(
            "domcontentloaded",
            lambda _: times.setdefault("HTML loaded (s)", time.perf_counter() - started),
        )
        page.goto(url, wait_until="commit", timeout=180_000)
        page.locator(".step-button, .header-step").first.wait_for(timeout=180_000)
        times["buttons there (s)"] = time.perf_counter() - started
        views = list(VIEWS) if desk else ["over_time"]
        page.wait_for_function(VIEWS_LOADED, arg=views, timeout=180_000, polling=20)
        times["usable (s)"] = time.perf_counter() - started
        times["server CPU until usable (s)"] = cpu_seconds(process.pid)
        times.setdefault("HTML loaded (s)", float("nan"))
        return times
    finally:
        page.close()
        stop(process)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", type=Path, required=True, help="the other checkout")
    parser.add_argument("--base-python", default=sys.executable, help="its python")
    parser.add_argument("--repeats", type=int, default=5, help="starts per app (default 5)")
    parser.add_argument("--desk", action="store_true", help="1600 x 1000, every view")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    apps = {"this checkout": (sys.executable, ROOT), "base": (args.base_python, args.base)}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in apps}
    loads = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name in apps:  # warm the file cache; not counted
            with contextlib.suppress(Exception):
                one_start(browser, *apps[name], args.desk)
        for repeat in range(args.repeats):
            for name in list(apps) if repeat % 2 == 0 else list(apps)[::-1]:
                loads.append(os.getloadavg()[0])
                try:
                    runs[name].append(one_start(browser, *apps[name], args.desk))
                except Exception as exc:  # a start that timed out: said, not counted
                    print(f"{name}: a start failed ({type(exc).__name__}: {exc})"[:300])
        browser.close()
    print(
        f"classroom app start, {args.repeats} interleaved starts each, "
        f"{'1600 x 1000 (desk)' if args.desk else '1024 x 768 (presentation)'} "
        f"({', '.join(f'{n}: {len(r)} measured' for n, r in runs.items())}), "
        f"load {min(loads):.1f}-{max(loads):.1f}"
    )
    names = list(apps)
    print(f"{'milestone':<30}" + "".join(f"{n:>24}" for n in names) + f"{'ratio':>8}")
    medians: dict[str, list[float]] = {}
    for milestone in MILESTONES:
        cells = []
        for name in names:
            values = [run[milestone] for run in runs[name]] or [float("nan")]
            medians.setdefault(milestone, []).append(statistics.median(values))
            cells.append(f"{statistics.median(values):8.2f} [{min(values):.2f}-{max(values):.2f}]")
        this, base = medians[milestone]
        print(f"{milestone:<30}" + "".join(f"{c:>24}" for c in cells) + f"{this / base:>8.2f}")
    usable = medians["usable (s)"]
    print(
        f"budget: usable <= {BUDGET_S:g} s: this checkout {usable[0]:.2f} s "
        f"{'met' if usable[0] <= BUDGET_S else 'NOT met'}; base {usable[1]:.2f} s "
        f"{'met' if usable[1] <= BUDGET_S else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
