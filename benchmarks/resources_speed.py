"""What resources cost (issue 24). Run: `python benchmarks/resources_speed.py`.

Two scenarios, each run two ways (2 strategies x 30 seeds with the per-period table, no
figures, no files), each in its own subprocess, alternately, ``--repeats`` times, medians:

  cloud   cloud_resource_orchestration with its [resources] section (on) and without it (off)
  bakery  bakery_gluten_free as written (off) and with a [resources] section added (on: an
          uneven split, demand per regime, moving and activity costs; the silo bakery then
          closes in most markets, and a batch with closed firms is stepped on a subset of its
          rows, a slower path)
  neutral bakery_gluten_free with a neutral [resources] section (an equal split that every
          regime's demand matches, kept, no costs): every number as off, so the ratio is the
          mechanism's own work

Target: on is at most 1.3 x off.
"""

from __future__ import annotations

import argparse
import json
import statistics

from engine_speed import ROOT, measure

BAKERY_RESOURCES = {
    "shares": {"production": 0.4, "shop": 0.3, "marketing": 0.2, "purchasing": 0.1},
    "demand": {},  # filled per regime below (every regime must have one)
    "returns": 0.3,
    "max_move": 0.1,
    "moving_cost": 4.0,
    "activity_cost": 6.0,
}

RUN = """
import json, sys, time
from sim.experiment import run_experiment
from sim.scenario import load_scenario
from sim.scenario.schema import scenario_from_dict
name, arm, extra = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
sc = load_scenario("bakery_gluten_free" if name == "neutral" else name)
if name == "cloud_resource_orchestration" and arm == "off":
    sc = sc.model_copy(update={"resources": None})
if name == "neutral" and arm == "on":
    data = sc.model_dump(mode="python", exclude_unset=True)
    names = [d.name for d in sc.departments]
    data["resources"] = {
        "shares": dict.fromkeys(names, 0.25),
        "demand": {r.name: dict.fromkeys(names, 0.25) for r in sc.market.regimes},
        "reallocation": dict.fromkeys(("decentralized", "sequential", "hierarchical"), "keep"),
    }
    sc = scenario_from_dict(data)
if name == "bakery_gluten_free" and arm == "on":
    data = sc.model_dump(mode="python", exclude_unset=True)
    names = [d.name for d in sc.departments]
    demand = {r.name: {n: (0.4 if k == i % len(names) else 0.2) for k, n in enumerate(names)}
              for i, r in enumerate(sc.market.regimes)}
    shares = dict(zip(names, (0.4, 0.3, 0.2, 0.1)))
    data["resources"] = {**extra, "shares": shares, "demand": demand}
    sc = scenario_from_dict(data)
run_experiment(sc, seeds=2)  # imports and caches warm
start = time.perf_counter()
run_experiment(sc, seeds=30)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="repeats (medians reported)")
    args = parser.parse_args()
    extra = json.dumps(BAKERY_RESOURCES)
    print(f"resources' cost, 2 strategies x 30 seeds, median of {args.repeats}, one run")
    print(f"{'scenario':30} {'off s':>8} {'on s':>8} {'on/off':>7}  target")
    for name in ("cloud_resource_orchestration", "bakery_gluten_free", "neutral"):
        times: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
            for arm in ("off", "on"):
                times[arm].append(measure(RUN, ROOT, name, arm, extra)["seconds"])
        off, on = (statistics.median(times[a]) for a in ("off", "on"))
        print(f"{name:30} {off:8.3f} {on:8.3f} {on / off:7.2f}  <= 1.3")


if __name__ == "__main__":
    main()
