"""Speed and memory of the sweep machinery (issues 4 and 22). Run: `python benchmarks/sweep.py`.

Prints a table: what was measured, the value, the target and whether it is met. A speed-up is
the median of the ratios of ``--repeats`` interleaved pairs of runs, measured in this one
invocation (times are medians); every sweep runs in a fresh Python process (as `python -m sim
sweep` would), timed from the call of `run_sweep` to its return (pool or cluster start-up
included, interpreter start-up not). Memory is the peak resident size of the driver process
(`ru_maxrss`), and of the largest worker.

  2 workers vs 1            a sweep of >= 10 s on one worker (issue 22: 16,000 runs, 10,000
                            computations) on a 2-process pool and in one process: >= 1.8x
  Dask vs process pool      a sweep of >= 30 s on one worker (48,000 runs, 30,000
                            computations) on a Dask LocalCluster of 2 workers vs the pool of 2:
                            < 1.2x (the cluster's start and its workers' imports included)
  overhead per run          a 400-run sweep in one process vs a plain loop over `run_one`
                            (a scenario loaded per design point, the same seeds); its points
                            differ in parameters every firm reads, so no run is shared
  same runs computed once   a 400-run sweep of the aligned strategy's alpha x the hierarchy's
                            cost: efficiency-only runs differ only with the cost, are computed
                            once per cost and seed; in one process vs the plain loop
  peak memory               a 20,000-run and a 2,000-run sweep (summaries only, 2 workers)

Ratios of worker counts mean nothing on a loaded machine (a second worker only helps if a
second core is free): the table prints the load average at start and end, and, for each sweep,
the CPU time of the driver and of its workers, which load inflates less than wall time. Run it
on a quiet machine for the targets: `python benchmarks/sweep.py --repeats 3`; `--dask-only`
measures the Dask target alone (the pool of 2 and the LocalCluster of 2 on the >= 30 s sweep,
interleaved). The LocalCluster's workers are forked from a fork server, whose CPU time (its own
and its workers') is read from /proc and counted with the workers'. A sweep shorter
on one worker than its target's minimum says so (a faster engine shrinks it: raise ``--scale``).
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


def sweep_of(seeds: int) -> dict:
    """5 x 4 points (C x hierarchy cost) x 2 strategies x ``seeds`` runs of 160 periods: the
    efficiency-only runs do not read the hierarchy's cost, so 5/8 of the runs are computed
    (about 1.3 ms of CPU each on the bakery, 2026-12: a task's runs on one seed share their
    market, `sim.sweep.execute.plan_groups`; 2.5 ms before)."""
    return spec_shared_by_none(5, 4, seeds, 160)


#: Seeds of the sweeps for the worker-count target (>= 10 s on one worker) and the Dask target
#: (>= 30 s on one worker), at ``--scale 1`` (200 and 500 until runs on one seed shared their
#: market in a task, which made the sweeps 1.8x faster).
SEEDS_10S, SEEDS_30S = 400, 1200
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
        start, cpu = time.perf_counter(), time.process_time()
        report = run_sweep(sweep, out=out, progress=False, **engine)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    assert report.complete, report
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "seconds": seconds,
        "driver_cpu": cpu,
        "workers_cpu": children.ru_utime + children.ru_stime + fork_server_cpu(),
        "runs": report.planned,
        "computed": report.computed,
        "driver_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "worker_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
    }


def fork_server_cpu() -> float:
    """CPU seconds of a running fork server (the Dask LocalCluster's workers are forked from
    one, and it, not this process, collects their CPU time when they end): its own and its
    ended children's, from /proc (0 where there is none)."""
    from multiprocessing import forkserver

    pid = getattr(forkserver._forkserver, "_forkserver_pid", None)
    stat = Path(f"/proc/{pid}/stat")
    if pid is None or not stat.exists():
        return 0.0
    fields = stat.read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


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
    parser.add_argument(
        "--no-dask", action="store_true", help="skip the Dask comparison (its >= 30 s sweeps)"
    )
    parser.add_argument(
        "--dask-only",
        action="store_true",
        help="only the Dask comparison: the >= 30 s sweep on the pool of 2 and on Dask, no other",
    )
    parser.add_argument(
        "--scale", type=float, default=1.0, help="seeds of the >= 10 s and >= 30 s sweeps x this"
    )
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
    ten = sweep_of(max(1, round(SEEDS_10S * args.scale)))
    thirty = sweep_of(max(1, round(SEEDS_30S * args.scale)))
    runs: dict[str, list[dict]] = {k: [] for k in ("one", "two", "one30", "pool30", "dask30")}
    loop, small, shared, shared_loop = [], [], [], []
    if args.dask_only:
        args.no_dask, args.no_memory = False, True
    for _ in range(args.repeats):  # interleaved, so that a busy moment hits every variant
        if not args.no_dask:
            if not args.dask_only:
                runs["one30"].append(measure("sweep", thirty, {"workers": 1}))
            runs["pool30"].append(measure("sweep", thirty, {"workers": 2}))
            runs["dask30"].append(measure("sweep", thirty, {"cluster": "local", "workers": 2}))
        if args.dask_only:
            continue
        runs["one"].append(measure("sweep", ten, {"workers": 1}))
        runs["two"].append(measure("sweep", ten, {"workers": 2}))
        small.append(measure("sweep", SWEEP_400, {"workers": 1})["seconds"])
        loop.append(measure("loop", SWEEP_400)["seconds"])
        sharing = measure("sweep", SHARED_400, {"workers": 1})
        shared.append(sharing["seconds"])
        shared_loop.append(measure("loop", SHARED_400)["seconds"])

    def median(kind: str, key: str = "seconds") -> float:
        return statistics.median(r[key] for r in runs[kind])

    def timing(label: str, kind: str) -> None:
        rows.append(
            (
                f"{label} (s, median; CPU s: driver / workers)",
                f"{median(kind):.2f}; {median(kind, 'driver_cpu'):.1f} / "
                f"{median(kind, 'workers_cpu'):.1f}",
                "",
                "",
            )
        )

    if not args.dask_only:
        first = runs["one"][0]
        size = f"{first['runs']:,}-run sweep ({first['computed']:,} computed)"
        timing(f"{size}, 1 worker", "one")
        timing(f"{size}, 2 workers, process pool", "two")
        t1 = median("one")
        speedup = statistics.median(  # of the interleaved pairs
            o["seconds"] / t["seconds"] for o, t in zip(runs["one"], runs["two"], strict=True)
        )
        long_enough = "" if t1 >= 10 else " (shorter than 10 s: raise --scale)"
        rows.append(
            (
                f"speed-up, 2 workers vs 1 (median of the pairs){long_enough}",
                f"{speedup:.2f}x",
                ">= 1.8x",
                _met(speedup >= 1.8),
            )
        )
    if not args.no_dask:
        first = runs["pool30"][0]
        size = f"{first['runs']:,}-run sweep ({first['computed']:,} computed)"
        if runs["one30"]:
            timing(f"{size}, 1 worker", "one30")
        timing(f"{size}, 2 workers, process pool", "pool30")
        timing(f"{size}, 2 workers, Dask LocalCluster", "dask30")
        ratio = statistics.median(
            d["seconds"] / p["seconds"] for d, p in zip(runs["dask30"], runs["pool30"], strict=True)
        )
        # without the 1-worker runs (--dask-only), the pool's workers' CPU time stands for it
        one = median("one30") if runs["one30"] else median("pool30", "workers_cpu")
        long_enough = "" if one >= 30 else " (shorter than 30 s: raise --scale)"
        rows.append(
            (
                f"Dask LocalCluster / process pool time, 2 workers{long_enough}",
                f"{ratio:.2f}x",
                "< 1.2x",
                _met(ratio < 1.2),
            )
        )
    if not args.dask_only:
        ts, tl = statistics.median(small), statistics.median(loop)
        rows.append(("400-run sweep, 1 worker (s, median)", f"{ts:.2f}", "", ""))
        rows.append(("plain loop over run_one, same 400 runs (s, median)", f"{tl:.2f}", "", ""))
        overhead = statistics.median(s / lp - 1 for s, lp in zip(small, loop, strict=True))
        rows.append(
            (
                "sweep machinery overhead per run vs the loop",
                f"{100 * overhead:+.1f}%",
                "<= 10%",
                _met(overhead <= 0.10),
            )
        )
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
