"""What drives the cycling rate of simultaneous silos (issue 11; docs/validation.md, section 4).

Setting (after Ethiraj & Levinthal 2004): N = 12 decisions in three departments of four, every
decision depending on the other three of its department and on C decisions of other
departments; departments move at once, each to its best one-bit change for its own efficiency
(alpha = 0); random start, 100 periods; a run cycles if it is in a limit cycle (a sequence of
configurations repeated twice in a row) in its last 20 periods.

The model's rate is set beside the same protocol run by independent numpy code
(`sim.validation.reference.silo_cycling`), which then varies one thing at a time: how the
cross-department links are drawn, the search rule, and what counts as cycling. Shares with
Wilson 95% intervals over the given number of landscapes (default 1,000 per cell).

Run: `python benchmarks/cycling.py [--landscapes 1000]` (about a minute on one core).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sim.experiment import run_experiment
from sim.stats import wilson_interval
from sim.validation.experiments import scenario
from sim.validation.reference import LINK_SCHEMES, SILO_RULES, silo_cycling

CROSS = (1, 2, 4)


def share(flags: np.ndarray) -> str:
    """'rate [low, high]' in %, Wilson 95%."""
    low, high = wilson_interval(int(flags.sum()), flags.size)
    return f"{100 * flags.mean():4.1f} [{100 * float(low):4.1f}, {100 * float(high):4.1f}]"


def model_rates(landscapes: int) -> list[str]:
    """The model's silos (the validation scenario, decentralized, alpha = 0)."""
    out = []
    for c in CROSS:
        sc = scenario("ethiraj_levinthal_2004", {"efficiency.cross": c})
        runs = run_experiment(sc, seeds=landscapes, periods=False).runs
        out.append(share(runs["cycled"].to_numpy()))
    return out


def row(label: str, cells: list[str]) -> str:
    return f"| {label} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landscapes", type=int, default=1000, help="runs per cell")
    n = parser.parse_args().landscapes
    started = time.perf_counter()
    header = "| % of runs in a limit cycle | " + " | ".join(f"C={c}" for c in CROSS) + " |"
    print(header)
    print("|---" * (len(CROSS) + 1) + "|")
    print(row("the model (engine), links per decision, best", model_rates(n)))
    for scheme in LINK_SCHEMES:
        cells = [
            share(silo_cycling(cross=c, landscapes=n, scheme=scheme, seed=c).cycled) for c in CROSS
        ]
        print(row(f"independent, links {scheme}, best", cells), flush=True)
    # as many links as `per_decision` (four decisions a department): 4C per department
    cells = [
        share(silo_cycling(cross=4 * c, landscapes=n, scheme="per_department", seed=c).cycled)
        for c in CROSS
    ]
    print(row("independent, links per_department x 4 (as many links), best", cells), flush=True)
    for rule in SILO_RULES[1:]:
        runs = [silo_cycling(cross=c, landscapes=n, rule=rule, seed=c) for c in CROSS]
        print(row(f"independent, links per_decision, {rule}", [share(r.cycled) for r in runs]))
        print(
            row(
                f"independent, links per_decision, {rule}: any revisit",
                [share(r.revisited) for r in runs],
            ),
            flush=True,
        )
    print(f"\n{n} landscapes per cell, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
