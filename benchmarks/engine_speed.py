"""The engine against release 0.1.0 (issue 10). Run: `python benchmarks/engine_speed.py`.

Release 0.1.0 (commit 313f597) is checked out into a temporary git worktree and imported in its
own subprocesses, next to this checkout's code in others, alternately, ``--repeats`` times; the
table reports medians and their ratio, measured in this one invocation:

  run bakery            `run bakery_gluten_free`'s model time: 2 strategies x 30 seeds, with
                        the per-period table (as `run` writes it), no figures, no files
  sweep alignment_pays  `sweep alignment_pays` (2,160 runs) on 1 worker, runs per second
                        (written to a temporary folder, as `python -m sim sweep` would)
  peak memory           the 30-seed bakery run's peak resident size (ru_maxrss)
  per firm-period       the run bakery time divided by firms x periods

The Levinthal (1997) Fig. 6 protocol against nkscape 0.1.0 is `benchmarks/levinthal_speed.py`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEASE = "313f597"

RUN_BAKERY = """
import json, resource, sys, time
from sim.experiment import run_experiment
from sim.scenario import load_scenario
sc = load_scenario("bakery_gluten_free")
run_experiment(sc, seeds=2)  # imports and caches warm
start = time.perf_counter()
result = run_experiment(sc, seeds=30)
seconds = time.perf_counter() - start
firm_periods = len(result.runs) * sc.horizon
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "firm_periods": firm_periods, "peak_mb": peak}))
"""

RUN_SWEEP = """
import json, sys, tempfile, time
from sim.sweep import run_sweep
with tempfile.TemporaryDirectory() as out:
    start = time.perf_counter()
    run_sweep("alignment_pays", out=out, workers=1, progress=False)
    seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds}))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats (medians reported)")
    parser.add_argument("--no-sweep", action="store_true", help="skip the sweep (minutes)")
    args = parser.parse_args()
    results: dict[str, dict[str, list[dict]]] = {"old": {}, "new": {}}
    jobs = [("run", RUN_BAKERY)] + ([] if args.no_sweep else [("sweep", RUN_SWEEP)])
    with checkout(RELEASE) as release:
        for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
            for name, code in jobs:
                for label, source in (("old", release), ("new", ROOT)):
                    results[label].setdefault(name, []).append(measure(code, source))

    def median(label: str, job: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label][job])

    rows = []
    old_run, new_run = median("old", "run", "seconds"), median("new", "run", "seconds")
    rows.append(
        ("run bakery, model time (s)", old_run, new_run, old_run / new_run, ">= 10x faster")
    )
    firm_periods = results["new"]["run"][0]["firm_periods"]
    rows.append(
        (
            "per firm-period (µs)",
            1e6 * old_run / firm_periods,
            1e6 * new_run / firm_periods,
            old_run / new_run,
            "",
        )
    )
    old_mb, new_mb = median("old", "run", "peak_mb"), median("new", "run", "peak_mb")
    rows.append(("peak memory, 30-seed run (MB)", old_mb, new_mb, new_mb / old_mb, "<= 1.2x"))
    if not args.no_sweep:
        old_s, new_s = median("old", "sweep", "seconds"), median("new", "sweep", "seconds")
        rows.append(
            ("sweep alignment_pays, runs/s", 2160 / old_s, 2160 / new_s, old_s / new_s, ">= 10x")
        )
    print(f"engine vs release 0.1.0 ({RELEASE}), median of {args.repeats}, one machine, one run")
    print(f"{'measure':34} {'0.1.0':>10} {'now':>10} {'ratio':>7}  target")
    for label, old, new, ratio, target in rows:
        print(f"{label:34} {old:10.3f} {new:10.3f} {ratio:7.2f}  {target}")


if __name__ == "__main__":
    main()
