"""What competition costs (issue 21): a market of 20 competing firms against twenty isolated
firms. Run: `python benchmarks/competition_speed.py`.

Both arms step the same 20 firms (10 efficiency-only, 10 aligned, keys 0..9 of each strategy,
one start) of `bakery_town` on the same seeds for its 160 periods, in one engine per arm: in
"competing" they share a market's customers (`[competition]`: the logit, shares and sales
recorded); in "isolated" the same scenario without `[competition]`, each firm alone in its
market. Cash is ample so that no firm closes and both arms compute the same firm-periods (and
the same moves: firms decide without looking at rivals). The arms run alternately in this
process, ``--repeats`` times; the table reports median seconds and their ratio. Target: at
most 1.5 x.
"""

from __future__ import annotations

import argparse
import statistics
import time

from sim.agents import Firm
from sim.model import Market, engine_for, step_together
from sim.scenario import load_scenario
from sim.scenario.schema import Scenario

MIX = {"efficiency_only": 10, "aligned": 10}
SETTINGS = {"competition.firms": MIX, "competition.entrants": {}, "competition.entry_rate": 0.0}


def scenarios() -> tuple[Scenario, Scenario]:
    """The competing market and the same scenario without [competition]."""
    competing = load_scenario("bakery_town", {**SETTINGS, "firm.initial_cash": 1e9})
    isolated = Scenario.model_validate({**competing.model_dump(), "competition": None})
    return competing, isolated


def run(scenario: Scenario, seeds: int) -> float:
    """Seconds to build and run ``seeds`` markets of the 20 firms, stepped together."""
    start = time.perf_counter()
    engine = engine_for(scenario, markets=seeds)
    markets = []
    for seed in range(seeds):
        market = Market(scenario=scenario, strategies=[], rng=seed, engine=engine)
        if scenario.competition is None:  # the same firms (keys), each alone in its market
            for name, count in MIX.items():
                for i in range(count):
                    Firm(market, strategy_name=name, strategy=scenario.strategy(name),
                         config=market.start_config, index=i)  # fmt: skip
        markets.append(market)
    step_together(markets)
    seconds = time.perf_counter() - start
    assert engine.history.alive.all(), "a firm closed: the arms would differ in work"
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="repeats (medians reported)")
    args = parser.parse_args()
    competing, isolated = scenarios()
    sizes = {"1 market": 1, "50 markets": 50}
    run(competing, 2), run(isolated, 2)  # imports and caches warm
    print(f"a market of 20 competing firms vs 20 isolated firms, bakery_town, 160 periods, "
          f"median of {args.repeats} interleaved runs")  # fmt: skip
    print(f"{'batch':12} {'isolated s':>11} {'competing s':>12} {'ratio':>7}  target")
    for label, seeds in sizes.items():
        times: dict[str, list[float]] = {"isolated": [], "competing": []}
        for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
            times["isolated"].append(run(isolated, seeds))
            times["competing"].append(run(competing, seeds))
        a, b = (statistics.median(times[k]) for k in ("isolated", "competing"))
        print(f"{label:12} {a:11.3f} {b:12.3f} {b / a:7.2f}  <= 1.5")


if __name__ == "__main__":
    main()
