"""Cycling rates of silos, the model beside an independent implementation (docs/validation.md,
section 4).

Setting (after Ethiraj & Levinthal 2004): N = 12 decisions in three departments of four, every
decision depending on the other three of its department and on C decisions of other
departments; each department moves to its best one-bit change for its own efficiency
(alpha = 0); random start, 100 periods; a run cycles if it is in a limit cycle (a sequence of
configurations repeated twice in a row) in its last 20 periods.

The model's rates (the validation scenario) for departments that move at once
(`decentralized`) and one after another (`sequential`) in a random order drawn each period or
in a fixed order (`sequential_order`), each set beside the same protocol run by independent
numpy code (`sim.validation.reference.silo_cycling`). Then the independent code alone, varying
one thing at a time: how the cross-department links are drawn and the search rule (how much
the rate depends on these choices, which papers in this tradition do not always state).
Shares with Wilson 95% intervals over the given number of landscapes (default 1,000 per cell).

Run: `python benchmarks/cycling.py [--landscapes 1000] [--orders-only]` (a few minutes on one
core).
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
#: model coordination and order -> how the independent code combines the departments' moves
MOVES = {
    ("decentralized", "random"): "simultaneous",
    ("sequential", "random"): "sequential_random",
    ("sequential", "fixed"): "sequential_fixed",
}


def share(flags: np.ndarray) -> str:
    """'rate [low, high]' in %, Wilson 95%."""
    low, high = wilson_interval(int(flags.sum()), flags.size)
    return f"{100 * flags.mean():4.1f} [{100 * float(low):4.1f}, {100 * float(high):4.1f}]"


def model_rates(landscapes: int, coordination: str, order: str) -> list[str]:
    """The model's silos (the validation scenario, alpha = 0)."""
    out = []
    for c in CROSS:
        sc = scenario(
            "ethiraj_levinthal_2004",
            {
                "efficiency.cross": c,
                "strategies.silos.coordination": coordination,
                "strategies.silos.sequential_order": order,
            },
        )
        runs = run_experiment(sc, seeds=landscapes, periods=False).runs
        out.append(share(runs["cycled"].to_numpy()))
    return out


def row(label: str, cells: list[str]) -> str:
    return f"| {label} | " + " | ".join(cells) + " |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landscapes", type=int, default=1000, help="runs per cell")
    parser.add_argument(
        "--orders-only", action="store_true", help="only the model and its docking rows"
    )
    args = parser.parse_args()
    n = args.landscapes
    started = time.perf_counter()
    header = "| % of runs in a limit cycle | " + " | ".join(f"C={c}" for c in CROSS) + " |"
    print(header)
    print("|---" * (len(CROSS) + 1) + "|")
    for (coordination, order), moves in MOVES.items():
        label = f"{coordination}, {order} order" if coordination == "sequential" else coordination
        print(row(f"the model, {label}", model_rates(n, coordination, order)), flush=True)
        cells = [
            share(silo_cycling(cross=c, landscapes=n, moves=moves, seed=(c, 7)).cycled)
            for c in CROSS
        ]
        print(row(f"independent, {moves}", cells), flush=True)
    if not args.orders_only:
        for scheme in LINK_SCHEMES[1:]:
            cells = [
                share(silo_cycling(cross=c, landscapes=n, scheme=scheme, seed=c).cycled)
                for c in CROSS
            ]
            print(row(f"independent, simultaneous, links {scheme}", cells), flush=True)
        for rule in SILO_RULES[1:]:
            runs = [silo_cycling(cross=c, landscapes=n, rule=rule, seed=c) for c in CROSS]
            print(row(f"independent, simultaneous, {rule}", [share(r.cycled) for r in runs]))
            print(
                row(
                    f"independent, simultaneous, {rule}: any revisit",
                    [share(r.revisited) for r in runs],
                ),
                flush=True,
            )
    print(f"\n{n} landscapes per cell, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
