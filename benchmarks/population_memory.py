"""Peak memory of the largest population against release 0.1.0 (issue 20). Run:
`python benchmarks/population_memory.py`.

"population_huge": `bakery_gluten_free` with `population.firms = 100000` (the documented
maximum; `firm.learning.gain = 0`, as populations require), one seed, both strategies, with the
per-period table, as `run` computes it (no figures, no files). Release 0.1.0 (commit 313f597)
is checked out into a temporary git worktree and run in its own subprocesses, next to this
checkout's code in others, alternately, ``--repeats`` times; the table reports medians of the
peak resident size (ru_maxrss) and of the wall time, and their ratios, measured in this one
invocation. Target: peak memory at most 0.1.0's (ratio <= 1).

What allocated the memory (issue 20 reported 2.1 GB and 23 s against 0.1.0's 733 MB and
4.4 s, on its machine): every engine kept the full per-period records of single firms
(`sim.engine.History`: seven floats, four integers, a flag and each department's efficiency,
per firm and period: about 1.9 GB at 100,000 firms x 161 periods) for population rows too,
which read four of them (configuration, identity, performance, normalised performance: 515
MB). Measured here (2 cores shared with several other jobs, one run each): main before the
fix 2,387 MB; then `--repeats 1`: 0.1.0 1,327 MB, now 1,018 MB (ratio 0.77); wall time 227 s
and 517 s (2.3x: the engine's search on populations this large is slower than 0.1.0's; memory
is the target here).
"""

from __future__ import annotations

import argparse
import statistics

from engine_speed import RELEASE, ROOT, checkout, measure

FIRMS = 100_000

RUN = """
import json, resource, sys, time
from sim.experiment import run_experiment
from sim.scenario import load_scenario
firms = int(sys.argv[1])
sc = load_scenario(
    "bakery_gluten_free", {"population.firms": firms, "firm.learning.gain": 0.0}
)
start = time.perf_counter()
result = run_experiment(sc, seeds=1)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": seconds, "peak_mb": peak, "period_rows": len(result.periods)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="repeats (medians reported)")
    parser.add_argument("--firms", type=int, default=FIRMS, help="firms per strategy")
    args = parser.parse_args()
    results: dict[str, list[dict]] = {"old": [], "new": []}
    with checkout(RELEASE) as release:
        for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
            for label, source in (("old", release), ("new", ROOT)):
                results[label].append(measure(RUN, source, str(args.firms)))

    def median(label: str, key: str) -> float:
        return statistics.median(r[key] for r in results[label])

    old_mb, new_mb = median("old", "peak_mb"), median("new", "peak_mb")
    old_s, new_s = median("old", "seconds"), median("new", "seconds")
    print(
        f"population_huge ({args.firms:,} firms x 2 strategies, 1 seed) vs release 0.1.0 "
        f"({RELEASE}), median of {args.repeats}, one machine, one run"
    )
    print(f"{'measure':26} {'0.1.0':>10} {'now':>10} {'ratio':>7}  target")
    print(f"{'peak memory (MB)':26} {old_mb:10.0f} {new_mb:10.0f} {new_mb / old_mb:7.2f}  <= 1")
    print(f"{'wall time (s)':26} {old_s:10.2f} {new_s:10.2f} {new_s / old_s:7.2f}")


if __name__ == "__main__":
    main()
