"""Speed and memory of the sweep machinery (issue 4). Run: `python benchmarks/sweep.py`.

Prints a table: what was measured, the value, the target and whether it is met. Speeds are
ratios of medians over ``--repeats`` runs, measured in this one invocation; every sweep runs in
a fresh Python process (as `python -m sim sweep` would), timed from the call of `run_sweep` to
its return (pool or cluster start-up included, interpreter start-up not). Memory is the peak
resident size of the driver process (`ru_maxrss`), and of the largest worker.

  2 workers vs 1            the same 400-run sweep on a 2-process pool and in one process
  overhead per run          the 400-run sweep in one process vs a plain loop over `run_one`
                            (a scenario loaded per design point, the same seeds); its points
                            differ in parameters every firm reads, so no run is shared
  same runs computed once   a 400-run sweep of the aligned strategy's alpha x the hierarchy's
                            cost: efficiency-only runs differ only with the cost, are computed
                            once per cost and seed; in one process vs the plain loop
  peak memory               a 20,000-run and a 2,000-run sweep (summaries only, 2 workers)
  Dask vs process pool      the 400-run sweep on a Dask LocalCluster (2 workers) vs the pool
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def spec(alignments: int, costs: int, seeds: int, horizon: int) -> dict:
    """The bakery swept over alignment coupling x hierarchy cost, every strategy, ``seeds``."""
    return _bakery(
        {"name": "alignment", "path": "strategies.aligned.alpha", "range": [0.1, 0.9]},
        alignments,
        costs,
        seeds,
        horizon,
    )


def spec_shared_by_none(crosses: int, costs: int, seeds: int, horizon: int) -> dict:
    """The bakery swept over interdependence C x hierarchy cost: every point's runs differ."""
    return _bakery(
        {"name": "interdependence", "path": "efficiency.cross", "values": list(range(crosses))},
        None,
        costs,
        seeds,
        horizon,
    )


def _bakery(first: dict, num: int | None, costs: int, seeds: int, horizon: int) -> dict:
    return {
        "name": "bench",
        "scenario": "bakery_gluten_free",
        "seeds": seeds,
        "root_seed": 1,
        "overrides": {"horizon": horizon},
        "parameters": [
            {**first, **({"num": num} if num else {})},
            {
                "name": "coordination_cost",
                "path": "costs.coordination.hierarchical",
                "range": [0.5, 8.0],
                "num": costs,
            },
        ],
    }


#: 5 x 4 points x 2 strategies x 10 seeds = 400 runs of 160 periods, no run shared.
SWEEP_400 = spec_shared_by_none(5, 4, 10, 160)
#: The same size over alpha x cost: 240 computations for 400 runs.
SHARED_400 = spec(5, 4, 10, 160)
#: 10 x 10 (or 100) points x 2 strategies x 10 seeds, 70 periods (shift at 60).
SWEEP_2K = spec(10, 10, 10, 70)
SWEEP_20K = spec(10, 100, 10, 70)


# ---------------------------------------------------------------- measured in a fresh process


def child_sweep(data: dict, engine: dict) -> dict:
    from sim.sweep import run_sweep, sweep_from_dict

    sweep = sweep_from_dict(data)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        report = run_sweep(sweep, out=out, progress=False, **engine)
        seconds = time.perf_counter() - start
    assert report.complete, report
    return {
        "seconds": seconds,
        "runs": report.planned,
        "computed": report.computed,
        "driver_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "worker_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


def child_loop(data: dict) -> dict:
    """What a researcher would write by hand: load each point's scenario, call run_one."""
    from sim.experiment import run_one
    from sim.scenario import load_scenario
    from sim.sweep import sweep_from_dict
    from sim.sweep.design import build_design, run_seeds

    sweep = sweep_from_dict(data)
    points = build_design(sweep, root_seed=data["root_seed"]).points
    seeds = run_seeds(data["root_seed"], data["seeds"])
    start = time.perf_counter()
    rows = []
    for values in points.drop(columns="point").to_dict("records"):
        overrides = {**data["overrides"], **sweep.point_overrides(values)}
        scenario = load_scenario(data["scenario"], overrides)
        for strategy in sweep.strategies:
            for seed in seeds:
                row, _ = run_one(scenario, strategy, seed, periods=False)
                rows.append(row)
    return {"seconds": time.perf_counter() - start, "runs": len(rows)}


def measure(kind: str, data: dict, engine: dict | None = None) -> dict:
    """Run one measurement in a fresh Python process and return what it reports."""
    payload = json.dumps({"kind": kind, "spec": data, "engine": engine or {}})
    done = subprocess.run(
        [sys.executable, __file__, "--child", payload],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------ table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats per speed measurement")
    parser.add_argument("--no-memory", action="store_true", help="skip the 20,000-run sweep")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        job = json.loads(args.child)
        if job["kind"] == "loop":
            result = child_loop(job["spec"])
        else:
            result = child_sweep(job["spec"], job["engine"])
        print(json.dumps(result))
        return

    rows: list[tuple[str, str, str, str]] = []
    load_before = os.getloadavg()[0]
    one, two, loop, dask, shared, shared_loop = [], [], [], [], [], []
    for _ in range(args.repeats):  # interleaved, so that a busy moment hits every variant
        one.append(measure("sweep", SWEEP_400, {"workers": 1})["seconds"])
        two.append(measure("sweep", SWEEP_400, {"workers": 2})["seconds"])
        loop.append(measure("loop", SWEEP_400)["seconds"])
        dask.append(measure("sweep", SWEEP_400, {"cluster": "local", "workers": 2})["seconds"])
        sharing = measure("sweep", SHARED_400, {"workers": 1})
        shared.append(sharing["seconds"])
        shared_loop.append(measure("loop", SHARED_400)["seconds"])
    t1, t2, tl, td = (statistics.median(x) for x in (one, two, loop, dask))
    rows.append(("400-run sweep, 1 worker (s, median)", f"{t1:.2f}", "", ""))
    rows.append(("400-run sweep, 2 workers, process pool (s, median)", f"{t2:.2f}", "", ""))
    rows.append(("400-run sweep, 2 workers, Dask LocalCluster (s, median)", f"{td:.2f}", "", ""))
    rows.append(("plain loop over run_one, same 400 runs (s, median)", f"{tl:.2f}", "", ""))
    speedup = t1 / t2
    rows.append(("speed-up, 2 workers vs 1", f"{speedup:.2f}x", ">= 1.7x", _met(speedup >= 1.7)))
    overhead = statistics.median(s / lp - 1 for s, lp in zip(one, loop, strict=True))
    rows.append(
        (
            "sweep machinery overhead per run vs the loop",
            f"{100 * overhead:+.1f}%",
            "<= 10%",
            _met(overhead <= 0.10),
        )
    )
    rows.append(("Dask LocalCluster / process pool time (2 workers)", f"{td / t2:.2f}", "", ""))
    gain = statistics.median(lp / sh for sh, lp in zip(shared, shared_loop, strict=True))
    rows.append(
        (
            f"alpha x cost sweep, 1 worker: {sharing['computed']} computations for "
            f"{sharing['runs']} runs; speed-up vs the loop",
            f"{gain:.2f}x",
            "",
            "",
        )
    )
    if not args.no_memory:
        small = measure("sweep", SWEEP_2K, {"workers": 2})
        large = measure("sweep", SWEEP_20K, {"workers": 2})
        ratio = large["driver_kb"] / small["driver_kb"]
        for label, m in (("2,000", small), ("20,000", large)):
            rows.append(
                (
                    f"{label}-run sweep: driver / largest worker peak memory (MB); time (s)",
                    f"{m['driver_kb'] / 1024:.0f} / {m['worker_kb'] / 1024:.0f}; "
                    f"{m['seconds']:.0f}",
                    "",
                    "",
                )
            )
        rows.append(
            (
                "peak memory of the driver, 20,000 vs 2,000 runs",
                f"{ratio:.2f}x",
                "<= 1.2x",
                _met(ratio <= 1.2),
            )
        )
    rows.append(
        (
            "load average (1 min) at start / end: other work on the machine",
            f"{load_before:.1f} / {os.getloadavg()[0]:.1f}",
            "",
            "",
        )
    )
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"{'measurement'.ljust(width)}  {'value'.rjust(value_width)}  {'target':>8}  met")
    for label, value, target, met in rows:
        print(f"{label.ljust(width)}  {value.rjust(value_width)}  {target:>8}  {met}")


def _met(ok: bool) -> str:
    return "yes" if ok else "NO"


if __name__ == "__main__":
    main()
