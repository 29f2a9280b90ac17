"""The engine's speed targets (issue 22). Run: `python benchmarks/engine_speed.py`.

Commit b1f059f (the engine before issue 22) is checked out into a temporary git worktree (or
``--baseline-dir``, a checkout of it made beforehand) and imported in its own subprocesses, next
to this checkout's code in others, alternately (each first in turn), ``--repeats`` times; every
target is a ratio of medians measured in this one invocation, printed with whether it is met:

  run bakery            `run bakery_gluten_free`'s model time: 2 strategies x 30 seeds, with
                        the per-period table (as `run` writes it), no figures, no files;
                        b1f059f / now, target >= 3x; in wall time (the target as set) and in
                        CPU time (process time: on a loaded machine wall time also counts the
                        waits for a core, up to 10x the CPU time at load 30), split into
                        building the 30 markets (`Market(...)`), the 160 periods
                        (`step_together`) and the rest (firms, summaries, the periods table)
  per firm-period       the run bakery time divided by firms x periods (no target)
  peak memory           the 30-seed bakery run's peak resident size (ru_maxrss), now / b1f059f
  run bakery 2 x 300    the same with 300 seeds (information, no target; ``--large-repeats``
                        pairs, 3 by default, 0 to leave it out), split the same way
  notebook path         a loop of `Market(...).run()` over the 30 seeds (what a notebook user
                        writes) against `run_markets` over the same seeds, this checkout, one
                        process; per market, target <= 2x
  Levinthal protocol    K 0/1/5 x ``--landscapes`` landscapes x 100 firms x 50 periods
                        (`benchmarks/levinthal_speed.py`) through `run_markets`, against the
                        same protocol written in plain numpy (`numpy_protocol`), both in one
                        process, alternately; target <= 2x

Absolute times on a shared machine are noisy; the ratios of interleaved medians are what count.
The first line gives the load average before and after: above about 2 on this 2-core machine
the wall times include waits for a core, and even CPU time ratios move by 5-10% between
invocations (re-run on a quiet machine for the record). ``--bakery-only`` measures the bakery
rows alone (about 1 minute with the 2 x 300 row, 20 s without).

Sweeps (2 workers vs 1, Dask vs the process pool) are `benchmarks/sweep.py`; interpreter start
(`--help`, `explain`) is `benchmarks/startup.py`. Release 0.1.0 (`RELEASE`) is the baseline of
`benchmarks/population_memory.py`.

Why the bakery target is not met by numpy (measured in CPU time, loads 6-30, for issue 22;
docs/ODD.md, "What a period costs"): the run is about 1/3 building markets, 40% periods, the
rest summaries and tables. A period costs about 0.33 ms whatever the number of markets plus
about 9 µs per market: at 30 markets over half is the fixed cost of several hundred numpy calls
on arrays of a few hundred numbers. Index arrays made once instead of every period and the
learning bonus picked by look-ups instead of a broadcast `where` gave about 1.05-1.1x on the
periods; the arithmetic that keeps every number bit for bit is about half the calls, so fused
numpy calls cannot reach 3x. A numba period would remove the fixed cost, but each fresh process
then pays 0.22-0.39 s to import numba and 0.18-0.69 s to load a cached kernel (numba 0.68.1,
Python 3.13), more than the bakery's whole model time, and numba's `exp` differs from numpy's
in the last bit for 4.6% of arguments here (AVX-512), which would change the learning bonus's
numbers.

Building and the rest (measured for issue 22 at load 4-5, CPU time, medians of 9 interleaved
pairs): a market of the bakery costs about 2 ms to build, of which drawing the interaction
structures (numpy's `choice`) about 0.3 ms, adding up the landscapes about 0.35 ms, and the
first touch of its 1 MB of tables much of the rest in a fresh process. Markets now compute
their tables in the engine's rows (no copy), hold no (1 - beta) E table outside gradual
shifts, and the summaries read only the records they need. Against b1f059f: 2 x 30 1.07x in
CPU time (building 1.03x, periods 1.06x, the rest 1.14x; load 2.5, 11 pairs); 2 x 300
0.90-1.42x in four invocations (building, mostly the first touch of 300 MB of tables, varies
most: a quiet machine must settle it); against 33554f9, the code before those changes,
1.04-1.06x and 1.04-1.10x, the periods unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEASE = "313f597"  # release 0.1.0
BASELINE = "b1f059f"  # the engine before issue 22
LARGE_SEEDS = 300  # the bakery run's information row: 2 strategies x 300 seeds

RUN_BAKERY = """
import json, resource, sys, time
import sim.experiment as experiment
from sim.experiment import run_experiment
from sim.scenario import load_scenario
cpu = {"build": 0.0, "periods": 0.0}
def timed(function, phase):  # CPU seconds spent in ``function``, added to ``phase``
    def wrapper(*args, **kwargs):
        start = time.process_time()
        try:
            return function(*args, **kwargs)
        finally:
            cpu[phase] += time.process_time() - start
    return wrapper
experiment.Market = timed(experiment.Market, "build")  # (names both versions import)
experiment.step_together = timed(experiment.step_together, "periods")
sc = load_scenario("bakery_gluten_free")
run_experiment(sc, seeds=2)  # imports and caches warm
cpu.update(build=0.0, periods=0.0)
start, start_cpu = time.perf_counter(), time.process_time()
result = run_experiment(sc, seeds=int(sys.argv[1]))
seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - start_cpu
firm_periods = len(result.runs) * sc.horizon
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "cpu": cpu_seconds, "build": cpu["build"],
                  "periods": cpu["periods"], "rest": cpu_seconds - cpu["build"] - cpu["periods"],
                  "firm_periods": firm_periods, "peak_mb": peak}))
"""

NOTEBOOK = """
import json, statistics, sys, time
from sim.experiment import run_markets
from sim.model import Market
from sim.scenario import load_scenario
sc = load_scenario("bakery_gluten_free")
names = list(sc.compared_strategies)
seeds = list(range(30))
list(run_markets(sc, seeds[:2], names)); Market(scenario=sc, strategies=names, rng=0).run()
loop, batch = [], []
for _ in range(int(sys.argv[1])):
    start = time.perf_counter()
    for seed in seeds:
        Market(scenario=sc, strategies=names, rng=seed).run()
    loop.append(time.perf_counter() - start)
    start = time.perf_counter()
    list(run_markets(sc, seeds, names))
    batch.append(time.perf_counter() - start)
print(json.dumps({"loop": statistics.median(loop), "batch": statistics.median(batch)}))
"""

LEVINTHAL = """
import json, statistics, sys, time
sys.path.insert(0, "benchmarks")
from levinthal_speed import numpy_protocol, ours
landscapes, repeats = int(sys.argv[1]), int(sys.argv[2])
ours(2); numpy_protocol(2)
mine, plain = [], []
for _ in range(repeats):
    start = time.perf_counter(); ours(landscapes); mine.append(time.perf_counter() - start)
    start = time.perf_counter(); numpy_protocol(landscapes)
    plain.append(time.perf_counter() - start)
print(json.dumps({"ours": statistics.median(mine), "numpy": statistics.median(plain)}))
"""


def measure(code: str, source: Path, *args: str) -> dict:
    """Run ``code`` (with ``args``) in a fresh interpreter that imports `sim` from ``source``;
    returns the JSON it prints last."""
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=source,
        env={"PYTHONPATH": str(source), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"benchmark failed in {source}:\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@contextlib.contextmanager
def checkout(commit: str) -> Iterator[Path]:
    """``commit``'s code in a temporary git worktree of this repository, removed afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / commit
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(target), commit],
            check=True,
        )
        try:
            yield target
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(target)],
                check=False,
            )


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="repeats (medians reported)")
    parser.add_argument("--landscapes", type=int, default=100, help="Levinthal: per K")
    parser.add_argument(
        "--baseline-dir", type=Path, help=f"a checkout of {BASELINE} (default: a temporary one)"
    )
    parser.add_argument(
        "--bakery-only", action="store_true", help="only the bakery rows (no notebook, Levinthal)"
    )
    parser.add_argument(
        "--large-repeats",
        type=int,
        default=3,
        help="repeats of the 2 x 300 bakery run (information; 0: not run)",
    )
    args = parser.parse_args()
    runs: dict[str, list[dict]] = {"old": [], "new": []}
    large: dict[str, list[dict]] = {"old": [], "new": []}
    load_before = os.getloadavg()[0]
    given = args.baseline_dir
    with contextlib.nullcontext(given) if given else checkout(BASELINE) as baseline:
        pair = (("old", baseline), ("new", ROOT))
        for repeat in range(args.repeats):  # interleaved, so machine noise hits both alike,
            for label, source in pair if repeat % 2 == 0 else pair[::-1]:  # first in turn
                runs[label].append(measure(RUN_BAKERY, source, "30"))
        for repeat in range(args.large_repeats):
            for label, source in pair if repeat % 2 == 0 else pair[::-1]:
                large[label].append(measure(RUN_BAKERY, source, str(LARGE_SEEDS)))
    load_after = os.getloadavg()[0]

    def median(label: str, key: str, of: dict[str, list[dict]] = runs) -> float:
        return statistics.median(r[key] for r in of[label])

    old_s, new_s = median("old", "seconds"), median("new", "seconds")
    old_cpu, new_cpu = median("old", "cpu"), median("new", "cpu")
    firm_periods = runs["new"][0]["firm_periods"]
    old_mb, new_mb = median("old", "peak_mb"), median("new", "peak_mb")
    rows = [
        ("run bakery 2 x 30, model time (s)", old_s, new_s, old_s / new_s, ">= 3x faster",
         _met(old_s / new_s >= 3.0)),
        ("  the same, CPU time (s)", old_cpu, new_cpu, old_cpu / new_cpu, ">= 3x faster",
         _met(old_cpu / new_cpu >= 3.0)),
        ("  of which: building the 30 markets (CPU s)", median("old", "build"),
         median("new", "build"), median("old", "build") / median("new", "build"), "", ""),
        ("  of which: the 160 periods (CPU s)", median("old", "periods"),
         median("new", "periods"), median("old", "periods") / median("new", "periods"), "", ""),
        ("  of which: firms, summaries, tables (CPU s)", median("old", "rest"),
         median("new", "rest"), median("old", "rest") / median("new", "rest"), "", ""),
        ("per firm-period (µs)", 1e6 * old_s / firm_periods, 1e6 * new_s / firm_periods,
         old_s / new_s, "", ""),
        ("peak memory, 30-seed run (MB)", old_mb, new_mb, new_mb / old_mb, "", ""),
    ]  # fmt: skip
    if args.large_repeats:
        old_l, new_l = median("old", "seconds", large), median("new", "seconds", large)
        old_lc, new_lc = median("old", "cpu", large), median("new", "cpu", large)
        rows += [
            (f"run bakery 2 x {LARGE_SEEDS}, model time (s; information)", old_l, new_l,
             old_l / new_l, "", ""),
            ("  the same, CPU time (s)", old_lc, new_lc, old_lc / new_lc, "", ""),
            ("  of which: building the markets (CPU s)", median("old", "build", large),
             median("new", "build", large),
             median("old", "build", large) / median("new", "build", large), "", ""),
            ("  of which: the periods (CPU s)", median("old", "periods", large),
             median("new", "periods", large),
             median("old", "periods", large) / median("new", "periods", large), "", ""),
            ("  of which: firms, summaries, tables (CPU s)", median("old", "rest", large),
             median("new", "rest", large),
             median("old", "rest", large) / median("new", "rest", large), "", ""),
        ]  # fmt: skip
    if not args.bakery_only:
        notebook = measure(NOTEBOOK, ROOT, str(args.repeats))
        levinthal = measure(LEVINTHAL, ROOT, str(args.landscapes), str(args.repeats))
        per_market = notebook["loop"] / notebook["batch"]
        levinthal_ratio = levinthal["ours"] / levinthal["numpy"]
        rows += [
            ("notebook path: Market().run() loop vs run_markets (s)", notebook["batch"],
             notebook["loop"], per_market, "<= 2x", _met(per_market <= 2.0)),
            (f"Levinthal K 0/1/5 x {args.landscapes}: smb-sim vs plain numpy (s)",
             levinthal["numpy"], levinthal["ours"], levinthal_ratio, "<= 2x",
             _met(levinthal_ratio <= 2.0)),
        ]  # fmt: skip
    print(
        f"engine targets (issue 22), median of {args.repeats} (2 x {LARGE_SEEDS}: of "
        f"{args.large_repeats}), one machine, one invocation; load average {load_before:.1f} "
        f"before, {load_after:.1f} after (ratios of CPU time are the steadier under load); "
        f"columns: reference ({BASELINE}, run_markets or numpy), now, ratio"
    )
    print(f"{'measure':62} {'reference':>10} {'now':>10} {'ratio':>7}  {'target':13} met")
    for label, old, new, ratio, target, met in rows:
        print(f"{label:62} {old:10.3f} {new:10.3f} {ratio:7.2f}  {target:13} {met}")


if __name__ == "__main__":
    main()
