"""Levinthal (1997) Fig. 6: the model beside independent implementations of the protocol under
each reading of its rules (docs/validation.md, section 2).

Prints, per K, the % of incumbents (alive at t = 23 and 24) still alive at t = 29, 33, 41 and
49, as mean ± standard error over landscapes: the model on seeds 0..n-1 (and on its first
1,000 seeds, the size of the validation before issue 19), then `sim.validation.reference.
levinthal` with issue 3's reading and with one rule read differently at a time
(`LEVINTHAL_READINGS`), or with the change made after period 25 rather than at its start.
Every implementation draws its own random numbers.

Run: `python benchmarks/levinthal_readings.py [--landscapes 5000] [--ks 1,5]` (several
minutes on one core).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sim.experiment import run_markets
from sim.validation.experiments import INCUMBENTS_AT, SURVIVAL_PERIODS, scenario
from sim.validation.reference import LEVINTHAL_READINGS, levinthal

AT = (29, 33, 41, 49)


def cells(survival: np.ndarray) -> str:
    """'mean ± SE' per period of ``AT`` (survival in %, per landscape x SURVIVAL_PERIODS)."""
    out = []
    for t in AT:
        x = survival[:, SURVIVAL_PERIODS.index(t)]
        x = x[~np.isnan(x)]
        out.append(f"{x.mean():5.1f} ± {x.std(ddof=1) / np.sqrt(x.size):.2f}")
    return " | ".join(out)


def model(k: int, landscapes: int) -> np.ndarray:
    sc = scenario("levinthal_1997", {"market.k": k})
    return 100 * np.array(
        [
            m.populations[0].log.incumbent_survival(INCUMBENTS_AT, SURVIVAL_PERIODS)
            for m in run_markets(sc, range(landscapes), ["levinthal"])
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landscapes", type=int, default=5000, help="landscapes per K")
    parser.add_argument("--ks", default="1,5", help="values of K, comma-separated")
    args = parser.parse_args()
    n = args.landscapes
    started = time.perf_counter()
    print("| K | implementation | " + " | ".join(f"t={t}" for t in AT) + " |")
    print("|---" * (len(AT) + 2) + "|")
    for k in (int(x) for x in args.ks.split(",")):
        ours = model(k, n)
        print(f"| {k} | the model, seeds 0-{n - 1} | {cells(ours)} |", flush=True)
        if n > 1000:
            print(f"| {k} | the model, seeds 0-999 | {cells(ours[:1000])} |", flush=True)
        runs = levinthal(k=k, landscapes=n, seed=(19, k))
        print(f"| {k} | independent, issue 3's reading | {cells(runs.survival)} |", flush=True)
        for rule, options in LEVINTHAL_READINGS.items():
            for option in options[1:]:
                runs = levinthal(k=k, landscapes=n, seed=(19, k), reading={rule: option})
                print(f"| {k} | independent, {rule} = {option} | {cells(runs.survival)} |")
        # "at t = 25" read as "after period 25": the first period on the new landscape is 26
        runs = levinthal(k=k, landscapes=n, seed=(19, k), change_at=26)
        print(f"| {k} | independent, change after period 25 | {cells(runs.survival)} |", flush=True)
    print(f"\n{n} landscapes per K, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
