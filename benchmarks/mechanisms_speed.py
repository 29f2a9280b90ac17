"""What the optional mechanisms cost (issue 13). Run: `python benchmarks/mechanisms_speed.py`.

The flagship run (`run bakery_gluten_free`'s model time: 2 strategies x 30 seeds with the
per-period table, no figures, no files) measured three ways, each in its own subprocess,
alternately, ``--repeats`` times, medians in one invocation:

  before      the code before the mechanisms (commit BEFORE, in a temporary git worktree)
  all off     this checkout, the scenario as written (every mechanism off)
  all on      this checkout with every mechanism on: designed effects, strategic
              understanding with communication, engagement driving search and turnover,
              and a limit on the alternatives examined
  + issue 24  all on, with sensing, communication, erosion and turnover given per department,
              purpose (`[purpose]`: impact valued by a regime, a levy, a strategy weighing it)
              and resources (`[resources]`: an uneven budget split moved at a cost)

Targets: all off is not slower than before (ratio <= 1, within noise); all on, and all on with
issue 24's mechanisms, at most 30% slower than all off; issue 24's mechanisms (per-department
settings, purpose, resources) at most 30% slower than the same run without them (all on: the
mechanisms they need, such as understanding for communication, stay on).
"""

from __future__ import annotations

import argparse
import json
import statistics

from engine_speed import ROOT, checkout, measure

BEFORE = "c9cc397"  # main before the people mechanisms and designed effects

ALL_ON = {
    "firm.understanding.initial": 0.4,
    "firm.understanding.forgetting": 0.02,
    "strategies.aligned.communication": 0.1,
    "strategies.efficiency_only.communication": 0.05,
    "firm.engagement.initial": 0.8,
    "firm.engagement.turnover": 0.05,
    "strategies.aligned.alternatives": 3,
    "strategies.efficiency_only.alternatives": 3,
}

DEPARTMENTS = ("production", "purchasing", "marketing", "shop")
ISSUE_24 = {
    **ALL_ON,
    "strategies.aligned.sensing": dict(zip(DEPARTMENTS, (0.3, 0.3, 0.3, 0.8), strict=True)),
    "strategies.aligned.communication": dict(zip(DEPARTMENTS, (0.1, 0.1, 0.1, 0.3), strict=True)),
    "firm.engagement.erosion": dict(zip(DEPARTMENTS, (0.2, 0.2, 0.2, 0.3), strict=True)),
    "firm.engagement.turnover": dict(zip(DEPARTMENTS, (0.05, 0.05, 0.05, 0.15), strict=True)),
    "purpose": {
        "impact": {"automated_ovens": 5.0, "large_batches": 3.0, "local_organic_sourcing": -4.0},
        "valued_by": {"health_conscious": 1.0},
        "levy": 0.1,
        "threshold": 2.0,
    },
    "strategies.aligned.purpose": 0.3,
    # a budget split across the departments, moved by the coordination at a cost ([resources])
    "resources": {
        "shares": dict(zip(DEPARTMENTS, (0.4, 0.1, 0.2, 0.3), strict=True)),
        "demand": {
            "classic": dict(zip(DEPARTMENTS, (0.4, 0.2, 0.2, 0.2), strict=True)),
            "health_conscious": dict(zip(DEPARTMENTS, (0.2, 0.3, 0.2, 0.3), strict=True)),
        },
        "returns": 0.3,
        "max_move": 0.1,
        "moving_cost": 4.0,
        "activity_cost": 6.0,
    },
}

RUN = """
import json, sys, time
from sim.experiment import run_experiment
from sim.scenario import load_scenario
overrides = json.loads(sys.argv[1])
sc = load_scenario("bakery_gluten_free", overrides)
if overrides and hasattr(sc, "effects"):  # designed effects, where this code has them
    from sim.scenario.schema import scenario_from_dict
    data = sc.model_dump(mode="python", exclude_unset=True)
    data["effects"] = [
        {"when": {"production.automated_ovens": 1},
         "efficiency": {"production": 0.1, "shop": -0.05}},
        {"when": {"marketing.loyalty_card": 1}, "unless": {"shop.extended_hours": 1},
         "efficiency": {"shop": -0.1}},
    ]
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
    times: dict[str, list[float]] = {"before": [], "all off": [], "all on": [], "+ issue 24": []}
    on, issue_24 = json.dumps(ALL_ON), json.dumps(ISSUE_24)
    with checkout(BEFORE) as before:
        for _ in range(args.repeats):  # interleaved, so machine noise hits all alike
            times["before"].append(measure(RUN, before, "{}")["seconds"])
            times["all off"].append(measure(RUN, ROOT, "{}")["seconds"])
            times["all on"].append(measure(RUN, ROOT, on)["seconds"])
            times["+ issue 24"].append(measure(RUN, ROOT, issue_24)["seconds"])
    median = {k: statistics.median(v) for k, v in times.items()}
    print(f"mechanisms' cost, run bakery (30 seeds), median of {args.repeats}, one run")
    print(f"{'arm':10} {'seconds':>9} {'ratio':>7}  target")
    print(f"{'before':10} {median['before']:9.3f} {1.0:7.2f}")
    off = median["all off"] / median["before"]
    on = median["all on"] / median["all off"]
    print(f"{'all off':10} {median['all off']:9.3f} {off:7.2f}  <= 1 x before (within noise)")
    print(f"{'all on':10} {median['all on']:9.3f} {on:7.2f}  <= 1.3 x all off")
    more = median["+ issue 24"] / median["all off"]
    print(f"{'+ issue 24':10} {median['+ issue 24']:9.3f} {more:7.2f}  <= 1.3 x all off")
    # issue 24's own mechanisms, on top of those they need (understanding for communication)
    own = median["+ issue 24"] / median["all on"]
    print(f"{'':10} {'':9} {own:7.2f}  issue 24's mechanisms alone: <= 1.3 x all on")


if __name__ == "__main__":
    main()
