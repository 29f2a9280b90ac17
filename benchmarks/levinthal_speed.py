"""Levinthal (1997) Fig. 6 protocol: this model vs `nkscape` 0.1.0 (issue 3's speed target).

Protocol: K in {0, 1, 5} x 100 landscapes x 100 firms x 50 periods; first-improvement local
search plus one long jump per period, Levinthal's selection, and one attribute's contribution
table redrawn at t = 25. Both implementations run the same protocol in one process, one after
the other, several times; the table reports medians and the ratio. Then this model again with
all cores (a process pool over landscapes).

Run: `pip install -e '.[bench]'` (installs nkscape), then `python benchmarks/levinthal_speed.py`.

`python benchmarks/levinthal_speed.py --numpy` (no nkscape needed): issue 22's target instead,
this model against the same protocol written in plain numpy (`numpy_protocol`), in this one
process, alternately (each first in turn), in CPU time (the machine may be shared), medians of
``--repeats`` (at least 5); prints the budget (<= 2x), the measured ratio and whether it is met
(also a row of `benchmarks/engine_speed.py`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from functools import cache

import numpy as np

from sim.experiment import run_markets
from sim.scenario import load_scenario
from sim.validation.experiments import VALIDATION_DIR

KS = (0, 1, 5)
FIRMS, PERIODS, CHANGE_AT = 100, 50, 25


# ---- this model ----
@cache
def levinthal_scenario(k: int):
    return load_scenario(VALIDATION_DIR / "levinthal_1997.toml", {"market.k": k})


def ours_k(k: int, seeds: list[int]) -> list[float]:
    """The landscapes of one K, batched through the experiment path (`run_markets`), keeping
    only the records the protocol reads (who is where: ``records=()``)."""
    markets = run_markets(levinthal_scenario(k), seeds, ["levinthal"], records=())
    return [float(m.populations[0].log.incumbent_survival((23, 24), [49])[0]) for m in markets]


def ours(landscapes: int, workers: int = 1) -> list[float]:
    if workers == 1:
        return [x for k in KS for x in ours_k(k, list(range(landscapes)))]
    jobs = [
        (k, list(range(s, min(s + 25, landscapes)))) for k in KS for s in range(0, landscapes, 25)
    ]
    with ProcessPoolExecutor(workers) as pool:
        return [x for part in pool.map(ours_k, *zip(*jobs, strict=True)) for x in part]


# ---- plain numpy (issue 22's yardstick: the same protocol, no framework) ----
N = 10


def numpy_protocol(landscapes: int, seed: int = 0) -> list[float]:
    """The protocol written directly in numpy, all landscapes of one K at a time: NK fitness
    tables with Kauffman's adjacent interactions (2**N configurations per landscape), firms as
    (landscapes, firms) arrays of configurations and identities; per period first-improvement
    search over the one-bit flips in a fixed order, one long jump taken if better, then
    Levinthal's selection; one attribute's contribution table redrawn at t = 25. Returns the
    share of incumbents (alive at t = 23 and 24) alive at t = 49, per landscape."""
    rng = np.random.default_rng(seed)
    configs_all = np.arange(2**N)
    bits = (configs_all[:, None] >> np.arange(N)) & 1  # (2**N, N)
    flips = 1 << np.arange(N)
    results: list[float] = []
    for k in KS:
        lines = np.arange(landscapes)[:, None]
        # decision i depends on itself and the K next ones (cyclically): its table's index
        index = np.zeros((2**N, N), dtype=np.int64)
        for j in range(k + 1):
            index |= bits[:, (np.arange(N) + j) % N] << j
        tables = rng.random((landscapes, N, 2 ** (k + 1)))

        def fitness_of(tables: np.ndarray, index: np.ndarray = index) -> np.ndarray:
            return tables[:, np.arange(N), index].mean(axis=2)  # (landscapes, 2**N)

        fit = fitness_of(tables)
        configs = rng.integers(0, 2**N, (landscapes, FIRMS))
        ids = np.broadcast_to(np.arange(FIRMS), (landscapes, FIRMS)).copy()
        next_id = np.full(landscapes, FIRMS)
        history = {}
        for t in range(1, PERIODS + 1):
            if t == CHANGE_AT:  # one attribute's contribution table redrawn
                changed = rng.integers(0, N, landscapes)
                tables[np.arange(landscapes), changed] = rng.random((landscapes, 2 ** (k + 1)))
                fit = fitness_of(tables)
            here = fit[lines, configs]
            cands = configs[..., None] ^ flips  # (landscapes, firms, N)
            improving = fit[lines[..., None], cands] > here[..., None]
            first = improving.argmax(axis=2)
            flipped = np.take_along_axis(cands, first[..., None], 2)[..., 0]
            picked = np.where(improving.any(axis=2), flipped, configs)
            jump = rng.integers(0, 2**N, configs.shape)
            configs = np.where(fit[lines, jump] > fit[lines, picked], jump, picked)
            # Levinthal's selection
            fitness = fit[lines, configs]
            best = fitness.max(axis=1, keepdims=True)
            survive = rng.random(configs.shape) < fitness / best
            line, place = np.nonzero(~survive)
            if line.size:
                newcomer = rng.random(line.size) < (1.0 - fitness.mean(axis=1) / best[:, 0])[line]
                cumulative = np.cumsum(np.where(survive, fitness, 0.0), axis=1)
                target = rng.random(line.size) * cumulative[line, -1]
                imitated = (cumulative[line] > target[:, None]).argmax(axis=1)
                fresh = rng.integers(0, 2**N, line.size)
                configs[line, place] = np.where(newcomer, fresh, configs[line, imitated])
                order = np.cumsum(~survive, axis=1) - 1
                ids[line, place] = next_id[line] + order[line, place]
                next_id += (~survive).sum(axis=1)
            history[t] = ids.copy()
        for i in range(landscapes):
            incumbents = np.intersect1d(history[23][i], history[24][i])
            results.append(float(np.isin(incumbents, history[49][i]).mean()))
    return results


# ---- nkscape 0.1.0 ----
def nkscape_protocol(landscapes: int) -> list[float]:
    import nkscape as nk
    from nkscape.contribution_tables import ContributionTables

    class LevinthalSelection(nk.PopulationRule):
        """Survive with probability V / V_max; vacancies: random with prob. L, else imitators."""

        def __init__(self) -> None:
            self.ids: list[int] = []

        def decide(self, population, proposals, landscape, rng):
            configs = np.array([p[0] for p in proposals])
            alive = np.flatnonzero(population.alive)
            fitness = np.array([landscape.fitness(configs[a]) for a in alive])
            best = fitness.max()
            survive = rng.random(alive.size) < fitness / best
            dies = alive[~survive]
            random_share = 1 - fitness.mean() / best
            survivors = alive[survive]
            weights = fitness[survive] / fitness[survive].sum()
            born = []
            for _ in dies:
                if rng.random() < random_share:
                    start = landscape.random_configuration(rng)
                else:
                    start = configs[rng.choice(survivors, p=weights)]
                born.append((nk.agents.HillClimber("first", long_jumps=True), start))
            return nk.PopulationDecision(configs, dies=dies.tolist(), born=born)

    results = []
    for k in KS:
        for seed in range(landscapes):
            rng = np.random.default_rng(seed)
            before = nk.Landscape.next_k(10, k, rng=rng)
            agents = [nk.agents.HillClimber("first", long_jumps=True) for _ in range(FIRMS)]
            first = nk.run(before, agents, CHANGE_AT - 1, rng=rng, rules=[LevinthalSelection()])
            # one attribute's contribution table is redrawn at t = 25
            tables = list(before.tables.tables)
            changed = int(rng.integers(10))
            tables[changed] = rng.random(tables[changed].shape)
            after = nk.Landscape(before.matrix, ContributionTables(before.matrix, tables))
            alive = np.flatnonzero(first.alive[:, -1])
            living = [first.agents[a] for a in alive]
            second = nk.run(
                after,
                living,
                PERIODS - CHANGE_AT + 1,
                rng=rng,
                starts=first.configs[alive, -1],
                rules=[LevinthalSelection()],
            )
            incumbents = np.flatnonzero(first.alive[alive, -2])
            results.append(float(second.alive[incumbents, 49 - (CHANGE_AT - 1)].mean()))
    return results


def timed(fn, *args) -> tuple[float, list[float]]:
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


#: Issue 22's target: this model at most this many times the plain numpy protocol's time.
NUMPY_BUDGET = 2.0


def against_numpy(landscapes: int, repeats: int) -> None:
    """Print this model's and `numpy_protocol`'s CPU times (medians), the ratio, the budget and
    whether it is met."""
    ours(2), numpy_protocol(2)  # imports and caches warm
    mine, plain = [], []
    for repeat in range(repeats):  # alternately, each first in turn
        pair = [(ours, mine), (numpy_protocol, plain)]
        for fn, times in pair if repeat % 2 == 0 else pair[::-1]:
            start = time.process_time()
            fn(landscapes)
            times.append(time.process_time() - start)
    a, b = statistics.median(mine), statistics.median(plain)
    ratios = ", ".join(f"{x / y:.2f}" for x, y in zip(mine, plain, strict=True))
    met = "met" if a / b <= NUMPY_BUDGET else "NOT met"
    print(
        f"Levinthal K 0/1/5 x {landscapes} landscapes, CPU time, median of {repeats}: smb-sim "
        f"{a:.3f} s, plain numpy {b:.3f} s\nratio {a / b:.2f}x (each repeat: {ratios}); "
        f"budget <= {NUMPY_BUDGET:.1f}x: {met}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--landscapes", type=int, default=100, help="landscapes per K")
    parser.add_argument("--repeats", type=int, default=3, help="repeats (medians are reported)")
    parser.add_argument(
        "--numpy", action="store_true", help="against plain numpy (issue 22), not nkscape"
    )
    args = parser.parse_args()
    if args.numpy:
        against_numpy(args.landscapes, max(args.repeats, 5))
        return
    try:
        import nkscape  # noqa: F401
    except ImportError:
        raise SystemExit("nkscape is not installed: pip install -e '.[bench]'") from None

    ours_times, theirs_times = [], []
    for _ in range(args.repeats):  # interleaved, so machine noise hits both alike
        t, ours_result = timed(ours, args.landscapes)
        ours_times.append(t)
        t, theirs_result = timed(nkscape_protocol, args.landscapes)
        theirs_times.append(t)
    workers = os.cpu_count() or 1
    parallel_times = [timed(ours, args.landscapes, workers)[0] for _ in range(args.repeats)]

    ours_s, theirs_s = statistics.median(ours_times), statistics.median(theirs_times)
    parallel_s = statistics.median(parallel_times)
    rows = [
        ("nkscape 0.1.0, one process", theirs_s, ""),
        ("smb-sim, one process", ours_s, f"{theirs_s / ours_s:.1f}x faster (target >= 100x)"),
        (f"smb-sim, {workers} processes", parallel_s, f"{ours_s / parallel_s:.2f}x vs one process"),
    ]
    runs = len(KS) * args.landscapes
    print(
        f"Levinthal 1997 Fig. 6 protocol: {runs} landscapes x {FIRMS} firms x {PERIODS} periods,"
        f" median of {args.repeats}"
    )
    print(f"{'implementation':32} {'seconds':>8}  ratio")
    for label, seconds, ratio in rows:
        print(f"{label:32} {seconds:8.2f}  {ratio}")
    print(
        f"\nincumbents alive at t=49 (mean over landscapes): smb-sim {np.mean(ours_result):.3f}, "
        f"nkscape {np.mean(theirs_result):.3f} (different random streams; same protocol)"
    )


if __name__ == "__main__":
    main()
