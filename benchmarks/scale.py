"""Firms beyond 20 decisions (issue 22). Run: `python benchmarks/scale.py [--quick]`.

Prints three tables, each measured in this one invocation:

  cost per firm-period   a synthetic firm of N decisions (departments of six, twelve to
                         forty-eight decisions; two strategies, an abrupt shift at mid-horizon,
                         the scenario built by `synthetic`), `run_experiment`'s model time
                         (CPU time of the process: the machine may be shared) divided by
                         firms x periods, median of ``--repeats`` fresh interpreters; how the
                         markets are evaluated (tables over all 2**N configurations up to
                         `sim.limits.TABULATED_DECISIONS`, on demand above), the cost per
                         decision, the slope from the previous N (µs per added decision), the
                         spread of the repeats (max / min), the share of the time spent
                         estimating the port (`Market._refresh_port`: once per market and per
                         abrupt shift, the best of 200 local searches above 16 decisions), the
                         cost without it (µs per firm-period) and the head office's
                         combinations per period (proposals ** departments = 2**D up to
                         `sim.engine.HEAD_OFFICE_COMBINATIONS`, 64; above, the screened ones:
                         1 + D + D (D - 1) / 2)
                         (with ``--against``: COMMIT's cost and COMMIT / this checkout)
  N = 20 against b1f059f the synthetic N = 20 firm, 2 strategies x 30 seeds: CPU time and peak
                         resident memory of this checkout against commit b1f059f (checked out
                         into a temporary git worktree), each in fresh interpreters,
                         alternately, medians (targets: >= 10x faster, <= 1/4 the memory)
  N = 32 shipped         `furniture_maker` (scenarios/furniture_maker.toml), 30 seeds: CPU time
                         and peak memory

Linear growth (issue 22's target), as printed: cost(N_max) / cost(N_min) <= N_max / N_min x
(1 + `TOLERANCE`), for the smallest and largest N measured (12 and 48 by default: at most
4 x 1.25 = 5x). The cost of a firm-period is a fixed part (bookkeeping the size of the firm
does not change) plus what grows with N, so a linear cost has a ratio at most N_max / N_min.
The tolerance, 25%, is the noise of the measurement: each cost is a median of three CPU times
whose spread (printed) is typically 5-15% on a loaded two-core machine, so a ratio of two of
them varies by up to about 25%; where a spread exceeds it the verdict is marked unreliable
(measure again on a quiet machine). Note that N_min = 12 is read from tables while N_max = 48 is
evaluated on demand. The head office's combinations (2**D for the aligned strategy's two
proposals per department) would grow exponentially with the number of departments D = N / 6;
above 64 the head office screens those within two departments of the first proposals
(docs/ODD.md 7.9), so they grow as D**2 / 2. The port's estimate is per market and per abrupt
shift (200 first-improvement climbs of a few sweeps over the N flips, about linear in N;
docs/ODD.md 7.11), divided here over 2 firms x 60 periods; the line "without the port" gives
the ratio of the rest (information; the target counts everything). ``--against COMMIT`` also
measures COMMIT's code (a temporary git worktree) alternately with this checkout, N by N, and
prints its costs, the ratios and its own growth (e.g. ``--against main`` before a merge).

A competing market of 1,000 firms x 100 seeds is not measured here (issue 22's last memory
target is left to the competition benchmark, `benchmarks/competition_speed.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
from pathlib import Path

from engine_speed import ROOT, _met, checkout, measure  # one way to run code in a fresh interpreter

BASELINE = "b1f059f"
TOLERANCE = 0.25  # of the linear-growth target (see above)

SYNTHETIC = '''
def synthetic(n, horizon=60):
    """A firm of n decisions in departments of six (the last may be smaller), one regime
    wanting a third of the decisions on, another wanting a different third, an abrupt shift at
    mid-horizon, the efficiency-only and aligned strategies of the shipped stories."""
    sizes = [6] * (n // 6) + ([n % 6] if n % 6 else [])
    names = [f"d{i}" for i in range(n)]
    departments, start = [], 0
    for d, size in enumerate(sizes):
        departments.append({"name": f"dept{d}", "decisions": names[start:start + size]})
        start += size
    wants = lambda offset: [  # noqa: E731
        {"decision": names[i], "value": 1, "weight": 1.0} for i in range(offset, n, 3)
    ]
    strategies = {
        "efficiency_only": {"alpha": 0.0, "coordination": "decentralized", "sensing": 0.0,
                            "p_jump": 0.02, "proposals": 2},
        "aligned": {"alpha": 0.7, "coordination": "hierarchical", "sensing": 0.3,
                    "p_jump": 0.02, "proposals": 2},
    }
    return {
        "name": f"synthetic_{n}", "horizon": horizon, "seeds": 30,
        "departments": departments,
        "efficiency": {"structure": "nearly_decomposable", "k_within": 2, "cross": 1},
        "market": {"rho": 0.2, "k": 2, "regimes": [
            {"name": "before", "preferences": wants(0)},
            {"name": "after", "preferences": wants(1)}],
            "shifts": [{"kind": "abrupt", "at": horizon // 2, "to": "after"}]},
        "firm": {"beta": 0.6, "start": "random",
                 "learning": {"gain": 0.3, "tau": 12.0, "reset": 0.6}},
        "strategies": strategies,
    }
'''

RUN = (
    SYNTHETIC
    + """
import json, resource, sys, time
from sim.experiment import run_experiment
from sim.model import Market
from sim.scenario.load import validate_scenario
n, seeds, horizon = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
sc = validate_scenario(synthetic(n, horizon))
run_experiment(validate_scenario(synthetic(12, 5)), seeds=1)  # imports and caches warm
port = [0.0]  # CPU time estimating ports (per market and shift, not per period)
refresh = Market._refresh_port
def timed(self):
    start = time.process_time()
    refresh(self)
    port[0] += time.process_time() - start
Market._refresh_port = timed
start = time.process_time()  # CPU time: the machine may be shared (wall time is noise)
result = run_experiment(sc, seeds=seeds)
seconds = time.process_time() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "firm_periods": len(result.runs) * horizon,
                  "peak_mb": peak, "port_seconds": port[0]}))
"""
)

RUN_FURNITURE = """
import json, resource, time
from sim.experiment import run_experiment
from sim.scenario import load_scenario
sc = load_scenario("scenarios/furniture_maker.toml")
start = time.process_time()
result = run_experiment(sc, seeds=30)
seconds = time.process_time() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "firm_periods": len(result.runs) * sc.horizon,
                  "peak_mb": peak}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per measurement")
    parser.add_argument("--quick", action="store_true", help="fewer seeds; no baseline")
    parser.add_argument("--sizes", default="12,16,20,24,32,40,48", help="N to measure")
    parser.add_argument(
        "--linear-only", action="store_true", help="only the cost per firm-period and its verdict"
    )
    parser.add_argument(
        "--against",
        metavar="COMMIT",
        help="also measure the cost per firm-period of COMMIT (a temporary git worktree), "
        "alternately with this checkout, and print its costs and the ratios",
    )
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        base = stack.enter_context(checkout(args.against)) if args.against else None
        _linear(args, base)
    if args.quick or args.linear_only:
        return
    _baseline_and_shipped(args)


def _linear(args: argparse.Namespace, base: Path | None) -> None:
    """The cost per firm-period table and its verdict (and ``base``'s costs, alternately)."""
    from sim.engine import HEAD_OFFICE_COMBINATIONS
    from sim.limits import TABULATED_DECISIONS

    seeds, horizon = (2, 20) if args.quick else (6, 60)
    print(f"cost per firm-period ({seeds} seeds x 2 strategies x {horizon} periods, medians)")
    print(
        f"{'N':>4} {'landscapes':>11} {'µs/firm-period':>15} {'µs/decision':>12} "
        f"{'slope µs/dec':>13} {'spread':>7} {'port':>6} {'without port':>13} "
        f"{'combinations':>13}"
    )
    sizes = [int(x) for x in args.sizes.split(",")]
    costs, spreads, previous, rest, based = {}, {}, None, {}, {}
    for n in sizes:
        runs, base_runs = [], []
        for _ in range(args.repeats):  # alternately, when a baseline is measured
            runs.append(measure(RUN, ROOT, str(n), str(seeds), str(horizon)))
            if base is not None:
                base_runs.append(measure(RUN, base, str(n), str(seeds), str(horizon)))
        per = [r["seconds"] / r["firm_periods"] * 1e6 for r in runs]
        us = costs[n] = statistics.median(per)
        spreads[n] = max(per) / min(per) - 1.0
        port = statistics.median(r["port_seconds"] / r["seconds"] for r in runs)
        rest[n] = statistics.median(
            (r["seconds"] - r["port_seconds"]) / r["firm_periods"] * 1e6 for r in runs
        )
        mode = "tables" if n <= TABULATED_DECISIONS else "on demand"
        slope = f"{(us - costs[previous]) / (n - previous):13.1f}" if previous else f"{'':>13}"
        departments = -(-n // 6)
        combinations = 2**departments
        if combinations > HEAD_OFFICE_COMBINATIONS:  # screened (two proposals each)
            combinations = 1 + departments + departments * (departments - 1) // 2
        line = (
            f"{n:>4} {mode:>11} {us:>15.0f} {us / n:>12.1f} {slope} {spreads[n]:>6.0%} "
            f"{port:>6.0%} {rest[n]:>13.0f} {combinations:>13,}"
        )
        if base is not None:
            based[n] = statistics.median(r["seconds"] / r["firm_periods"] * 1e6 for r in base_runs)
            line += f"   {args.against}: {based[n]:.0f} µs, {based[n] / us:.2f}x this checkout"
        print(line)
        previous = n
    low, high = min(sizes), max(sizes)
    ratio, bound = costs[high] / costs[low], high / low * (1.0 + TOLERANCE)
    noisy = max(spreads[low], spreads[high]) > TOLERANCE
    print(
        f"linear growth N = {low} -> {high}: cost ratio {ratio:.1f}x, at most {bound:.1f}x "
        f"({high}/{low} x {1 + TOLERANCE:.2f}): {_met(ratio <= bound)}"
        + (" (unreliable: a spread above the tolerance; measure on a quiet machine)" * noisy)
    )
    print(
        f"  without the port's estimate (information): ratio {rest[high] / rest[low]:.1f}x "
        f"({rest[low]:.0f} -> {rest[high]:.0f} µs per firm-period)"
    )
    if base is not None:
        print(
            f"  {args.against} (measured alternately): ratio {based[high] / based[low]:.1f}x "
            f"({based[low]:.0f} -> {based[high]:.0f} µs per firm-period)"
        )


def _baseline_and_shipped(args: argparse.Namespace) -> None:
    """N = 20 against `BASELINE`, and the shipped N = 32 scenario."""
    print(f"\nN = 20, 2 strategies x 30 seeds: this checkout against {BASELINE} (medians)")
    with checkout(BASELINE) as base:
        new, old = [], []
        for _ in range(args.repeats):  # alternately
            new.append(measure(RUN, ROOT, "20", "30", "60"))
            old.append(measure(RUN, base, "20", "30", "60"))
    for what, unit in (("seconds", "s"), ("peak_mb", "MB")):
        a = statistics.median(r[what] for r in new)
        b = statistics.median(r[what] for r in old)
        print(
            f"  {what:>8}: {a:8.1f} {unit} now, {b:8.1f} {unit} at {BASELINE}: ratio {b / a:.1f}x"
        )
    print("\nfurniture_maker (N = 32), 3 strategies x 30 seeds")
    r = measure(RUN_FURNITURE, ROOT)
    print(
        f"  {r['seconds']:.1f} s, {r['seconds'] / r['firm_periods'] * 1e6:.0f} µs per "
        f"firm-period, peak {r['peak_mb']:.0f} MB"
    )


if __name__ == "__main__":
    main()
