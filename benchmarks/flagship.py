"""Speed of the flagship scenarios (issue 2). Run: `python benchmarks/flagship.py [--repeats N]`.

Prints a table: what was timed, the median over repeats, the target and whether it is met.
Times are wall-clock on this machine; run it on a quiet machine for stable numbers.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

from sim.model import Market
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]


def time_it(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def one_run(scenario_name: str, strategy: str) -> None:
    sc = load_scenario(scenario_name, {"horizon": 200})
    Market(scenario=sc, strategies=[strategy], rng=1).run()


def cli_run(scenario_name: str) -> None:
    with tempfile.TemporaryDirectory() as out:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "sim",
                "run",
                scenario_name,
                "--seeds",
                "30",
                "--out",
                out,
                "--quiet",
            ],
            check=True,
            cwd=ROOT,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="repeats per measurement")
    args = parser.parse_args()
    rows = []
    for name in ("bakery_gluten_free", "boutique_online"):
        for strategy in ("efficiency_only", "aligned"):
            t = time_it(partial(one_run, name, strategy), max(args.repeats, 5) * 2)
            label = f"one run, {name}, {strategy}, 200 periods, data on"
            rows.append((label, statistics.median(t), None))
        t = time_it(partial(cli_run, name), args.repeats)
        label = f"`run {name}`: 2 strategies x 30 seeds + figures"
        rows.append((label, statistics.median(t), 10.0))
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement'.ljust(width)}  {'median s':>9}  {'target s':>8}  met")
    for label, seconds, target in rows:
        met = "" if target is None else ("yes" if seconds <= target else "NO")
        tgt = "" if target is None else f"{target:.1f}"
        print(f"{label.ljust(width)}  {seconds:9.3f}  {tgt:>8}  {met}")


if __name__ == "__main__":
    main()
