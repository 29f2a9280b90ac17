"""Peak memory of a market of 1,000 competing firms x 100 seeds (issue 22: within 4 GB). Run:
`python benchmarks/competition_memory.py [--seeds 100] [--full]`.

The market: `bakery_town` (the competition model, `sim/competition.py`, docs/ODD.md §7.18)
with 996 incumbents (598 efficiency-only, 398 aligned, about the town's 3:2 mix) and its 4
waiting entrants (1,000 firms, the most a market may hold) and a market of 1,000 times the lone
bakery's customers, run as `run_competition` runs it, 100 markets (seeds) of 160 periods:
16.1 million firm-periods. Each way of running it is a fresh Python process, and the table
reports its peak resident size (``ru_maxrss``) against the target, with its wall time:

  runs only              `periods=False`: the per-run table (one row per firm, 100,000 rows)
                         and the per-market table, what a sweep or a summary needs
  records=[...]          the per-period table with the fields a study of market shares reads
                         (`profit`, `alive`, `market_share`; `records=`, §9.1)
  full per-period table  (with ``--full``) every field: 16.1 million rows of 40 columns,
                         about 194 bytes a row (3.1 GB)

What allocates: the engine computes a batch of markets at a time, within 128 MB of per-period
records (`sim.experiment.BATCH_HISTORY`: six markets of 1,000 firms here), and frees it before
the next batch's engine is built, so the engine's memory does not grow with the seeds; what does
is what is kept: the per-run rows and the per-period table if asked for. `run_competition` fills
that table batch by batch into columns allocated once for all its rows (``strategy`` as category
codes) and makes them a DataFrame without a copy (`sim.competition._PeriodColumns`), so it is
held once.

Measured 2026-12-07 on 2 cores at load 5-9 (one run each; memory does not depend on load): runs
only 597 MB; records=[profit, alive, market_share] 1,299 MB; the full per-period table 3,706 MB:
all met. Before (2026-12-06: a frame per batch kept and concatenated at the end, a strategy
column of text until then, the previous batch's engine alive while the next was built): 1,882
MB, 4,456 MB (not met) and 9,252 MB (not met).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_MB = 4000.0
FIRMS = {"efficiency_only": 598, "aligned": 398}  # + 4 entrants (bakery_town's) = 1,000
RECORDS = ["profit", "alive", "market_share"]

RUN = """
import json, resource, sys, time
from sim.competition import run_competition
from sim.scenario import load_scenario
seeds, mode = int(sys.argv[1]), sys.argv[2]
firms = json.loads(sys.argv[3])
scenario = load_scenario(
    "bakery_town", {"competition.firms": firms, "competition.market_size": 1000.0}
)
records = json.loads(sys.argv[4]) if mode == "records" else None
start = time.perf_counter()
result = run_competition(scenario, seeds=seeds, periods=mode != "runs", records=records)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
periods = 0 if result.periods is None else len(result.periods)
print(json.dumps({"seconds": seconds, "peak_mb": peak, "runs": len(result.runs),
                  "period_rows": periods}))
"""


def measure(seeds: int, mode: str) -> dict:
    """One way of running the market, in a fresh process: its peak memory and time."""
    command = [sys.executable, "-c", RUN, str(seeds), mode, json.dumps(FIRMS), json.dumps(RECORDS)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "killed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100, help="markets (seeds)")
    parser.add_argument("--full", action="store_true", help="also the full per-period table")
    args = parser.parse_args()
    modes = {"runs": "runs only (periods=False)", "records": f"records={RECORDS}"}
    if args.full:
        modes["full"] = "full per-period table"
    load = os.getloadavg()[0]
    print(
        f"bakery_town, 1,000 firms a market x {args.seeds} markets (seeds) x 160 periods; "
        f"peak resident memory, target {TARGET_MB:,.0f} MB"
    )
    print(f"{'how':42} {'peak MB':>9} {'wall s':>8} {'period rows':>12}  met")
    for mode, label in modes.items():
        m = measure(args.seeds, mode)
        if "error" in m:
            print(f"{label:42} failed: {m['error']}")
            continue
        met = "yes" if m["peak_mb"] <= TARGET_MB else "NO"
        print(f"{label:42} {m['peak_mb']:9.0f} {m['seconds']:8.1f} {m['period_rows']:12,}  {met}")
    print(f"load average (1 min) at start / end: {load:.1f} / {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
