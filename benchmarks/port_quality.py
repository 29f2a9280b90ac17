"""How good the port's estimate is above 16 decisions (issue 22). Run:
`python benchmarks/port_quality.py [--markets 24] [--quick]`.

The port (the best configuration of a market, docs/ODD.md 7.11) cannot be enumerated above 16
decisions in a run; it is estimated as the best peak of ``metrics.port_restarts`` (200) local
searches. This prints, for markets where a reference is known, how often each estimator
reaches it and how far short it falls:

  new    `OnDemandLandscapes.best_by_restarts(200, key)`: first improvement in sweeps (the
         model's estimate; ``key`` the model's port key, so it is the market's period-0 port)
  old    `sim.landscape.best_configuration(performance_at, N, restarts=200, key=key)`: the
         steepest-ascent climb the model used before, from the same 200 starts (each step
         moves to the best one-bit flip; the model scored flips by pair tables, this scores
         whole configurations, so a tie broken by rounding may differ)
  ref    N <= 20: exact, every configuration evaluated (2**20 at N = 20); above: the best of
         1,000 steepest-ascent restarts from other starts (an independent key), or of the two
         estimates if one is better (the best known)

Markets: the synthetic firm of `benchmarks/scale.py` (departments of six decisions,
nearly_decomposable efficiency with k_within 2 and cross 1, a rugged market part with K = 2)
at N = 20, 24, 32, 48; the same firm with k_within 4 (efficiency K = 5) at N = 48; and the
shipped `furniture_maker` (N = 32). Seeds 0 .. markets - 1, each market at period 0.

Columns: "reached" counts markets where the estimate's performance is at least the
reference's; "gap" is (reference - estimate) / reference, mean and worst over the markets.

Expectations, written before the first run (issue 22, the port's climb of this stop); the
verdict line prints each as met / NOT met:

  E1  at every row, the new estimator reaches the reference in at least as many markets as
      the old one, less one (at least the same quality, to one market's noise);
  E2  at every row, the new estimator's mean gap is at most 0.1% of the reference.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scale import SYNTHETIC  # noqa: E402  (the benchmark firm, defined once)

RESTARTS = 200
REFERENCE_RESTARTS = 1000
REFERENCE_KEY = 0x5EED_0F_BE57  # the reference's starts: independent of the port's
EXACT_UP_TO = 20  # enumerate every configuration up to this N (2**20 evaluations)


def synthetic(n: int, k_within: int = 2):
    """The synthetic firm of `benchmarks/scale.py` (k_within: its efficiency's K - 1)."""
    namespace: dict = {}
    exec(SYNTHETIC, namespace)  # our own benchmark text
    data = namespace["synthetic"](n)
    data["efficiency"]["k_within"] = k_within
    return data


def markets(kind: str, n: int, count: int):
    """``count`` markets (seeds 0 ...) of the synthetic firm or furniture_maker, at period 0."""
    from sim.model import Market
    from sim.scenario.load import validate_scenario

    if kind == "furniture_maker":
        scenario = str(ROOT / "scenarios" / "furniture_maker.toml")
    else:
        scenario = validate_scenario(synthetic(n, 4 if kind == "synthetic K=5" else 2))
    for seed in range(count):
        yield seed, Market(scenario=scenario, rng=seed, strategies=[])


def exact_best(land, n: int) -> float:
    """The best landscape performance over all 2**n configurations."""
    best = -np.inf
    step = 2**16
    for start in range(0, 2**n, step):
        configs = np.arange(start, min(start + step, 2**n), dtype=np.uint64)
        best = max(best, float(land.performance_at(configs).max()))
    return best


def row(kind: str, n: int, count: int) -> dict:
    """The quality of both estimators on ``count`` markets of one kind and size."""
    from sim.landscape import best_configuration
    from sim.streams import firm_keys

    gaps = {"new": [], "old": []}
    reached = {"new": 0, "old": 0}
    exact = n <= EXACT_UP_TO
    for seed, market in markets(kind, n, count):
        land = market.landscapes
        key = int(firm_keys(market.seed, "port", 1)[0])
        new = land.best_by_restarts(RESTARTS, key).value
        old = best_configuration(
            land.performance_at, n, restarts=RESTARTS, key=key, enumerate_up_to=0
        ).value
        if exact:
            reference = exact_best(land, n)
        else:
            reference = best_configuration(
                land.performance_at,
                n,
                restarts=REFERENCE_RESTARTS,
                key=REFERENCE_KEY + seed,
                enumerate_up_to=0,
            ).value
            reference = max(reference, new, old)
        for name, value in (("new", new), ("old", old)):
            reached[name] += value >= reference
            gaps[name].append(max(0.0, (reference - value) / reference))
    return {
        "kind": kind,
        "n": n,
        "markets": count,
        "reference": "exact" if exact else f"best of {REFERENCE_RESTARTS:,}",
        "reached": reached,
        "mean": {k: statistics.mean(v) for k, v in gaps.items()},
        "worst": {k: max(v) for k, v in gaps.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markets", type=int, default=24, help="markets per row (default 24)")
    parser.add_argument("--quick", action="store_true", help="4 markets per row (a smoke run)")
    args = parser.parse_args()
    count = 4 if args.quick else args.markets
    rows = [("synthetic", n) for n in (20, 24, 32, 48)]
    rows += [("synthetic K=5", 48), ("furniture_maker", 32)]
    print(f"the port's estimate: {RESTARTS} restarts, {count} markets per row")
    print(
        f"{'markets':>16} {'N':>3} {'reference':>14} | {'new: reached':>12} {'mean gap':>9} "
        f"{'worst':>8} | {'old: reached':>12} {'mean gap':>9} {'worst':>8}"
    )
    e1 = e2 = True
    for kind, n in rows:
        r = row(kind, n, count)
        print(
            f"{kind:>16} {n:>3} {r['reference']:>14} | "
            f"{r['reached']['new']:>5} of {count:<4} {r['mean']['new']:>9.5%} "
            f"{r['worst']['new']:>8.4%} | {r['reached']['old']:>5} of {count:<4} "
            f"{r['mean']['old']:>9.5%} {r['worst']['old']:>8.4%}",
            flush=True,
        )
        e1 &= r["reached"]["new"] >= r["reached"]["old"] - 1
        e2 &= r["mean"]["new"] <= 0.001
    met = {True: "met", False: "NOT met"}
    print(f"E1 new reaches the reference as often as old, less one, at every row: {met[e1]}")
    print(f"E2 new's mean gap at most 0.1% of the reference at every row: {met[e2]}")


if __name__ == "__main__":
    main()
