"""Running a sweep: runs batched into tasks, on a process pool or a Dask cluster, resumable.

Runs go through `sim.experiment.simulate` in batches, the same model code as `python -m sim run`.
The driver plans runs lazily, keeps a bounded number of tasks in flight, writes each finished
batch as Parquet parts and forgets it, so its memory does not grow with the sweep. The numbers
depend only on the root seed, never on the engine or the number of workers.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import multiprocessing
import numbers
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

from sim import competition, experiment
from sim.results import REPAIR_HINT, RESULTS_DIR, FolderError, WriteError
from sim.scenario import Scenario, ScenarioError, UsageError, apply_overrides, validate_scenario
from sim.settings import coordination_cost
from sim.sweep.design import Design, build_design, draw_root_seed, run_seeds
from sim.sweep.load import load_sweep, sweep_from_dict
from sim.sweep.spec import Sweep, SweepError
from sim.sweep.store import SweepStore, concat, point_key, run_id

#: Most runs in one task: enough to make per-task overhead small, few enough to lose little
#: when a sweep is killed (at most the runs in flight).
MAX_BATCH = 1000
#: Fewest computations in a task the automatic sizes make (its last tasks): the engine steps a
#: task's firms together, and below about 100 firms its fixed cost per period shows (the
#: bakery, runs sharing markets as `plan_groups` orders them: about 65 ms a task plus 1.4 ms a
#: run; 5 ms of CPU a run in tasks of 20 runs, 2.0 ms at 100, 1.8 ms at 250, 1.5 ms at 488).
MIN_BATCH = 100
#: Design points planned together, seed by seed (`plan_groups`): few enough that a task's
#: points stay in a worker's cache of validated scenarios (`_SCENARIO_CACHE`).
POINT_BLOCK = 16
#: What a task's markets may hold in memory (their landscapes: 2**N configurations each).
TASK_MEMORY = 512e6
#: Tasks per worker kept in flight (one running, one queued).
IN_FLIGHT_PER_WORKER = 2
#: How long to try to reach a Dask scheduler given by address.
CONNECT_TIMEOUT = "15s"
#: How often a pool worker checks that its driver is still there (seconds).
WATCH_INTERVAL = 1.0
#: Exit code of a pool worker whose driver has gone.
EXIT_ORPHANED = 3
#: Dask setting that gives workers `MALLOC_TRIM_THRESHOLD_` (unset for the LocalCluster).
NANNY_MALLOC_TRIM = "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_"
#: Dask settings of the LocalCluster (its scheduler and nannies run in the driver, its workers
#: get the nannies' settings): workers forked from a fork server that has imported Dask and the
#: model once (spawned, each imported both: about 1.6 s of CPU a worker), no statistical
#: profiler sampling every worker's stack every 10 ms (there is no dashboard to show it), and
#: the event loops' health checks and system monitors less often (they ran every 20 ms and
#: 500 ms in the driver and in each worker). None of them touches a run's numbers.
LOCAL_CLUSTER_CONFIG = {
    NANNY_MALLOC_TRIM: None,
    "distributed.worker.multiprocessing-method": "forkserver",
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
}
#: What the LocalCluster's fork server imports before it forks the workers.
FORKSERVER_PRELOAD = ["distributed", "sim.sweep.execute"]


class EngineError(RuntimeError):
    """The engine could not run (no cluster at the address, a worker process died)."""


class RunSpec(NamedTuple):
    """One run: which design point, strategy and seed, and its id."""

    run_id: str
    point: int
    strategy: str
    seed_index: int
    seed: int


class RunGroup(NamedTuple):
    """Runs that are the same run: one strategy and seed at design points that differ only in
    other strategies' parameters. ``compute`` is run once; every run in ``members`` (those
    not done yet) gets its result under its own id."""

    compute: RunSpec
    members: tuple[RunSpec, ...]


@dataclass
class Batch:
    """A task: some runs, with what a worker needs to build their scenarios."""

    index: int
    scenario_source: str
    scenario_data: dict[str, Any]
    points: dict[int, dict[str, Any]]  # point -> parameter name -> value
    overrides: dict[int, dict[str, Any]]  # point -> dotted path -> value
    keys: dict[int, str]  # point -> hash of its scenario (base file and overrides)
    runs: list[RunGroup]
    periods: bool


@dataclass
class BatchResult:
    """What a task sends back: tables of its finished and failed runs."""

    index: int
    runs: pd.DataFrame | None
    periods: pd.DataFrame | None
    failures: pd.DataFrame | None
    ok: int
    failed: int
    computed: int = 0  # runs computed (a group of the same runs counts once)


@dataclass
class SweepReport:
    """What a call of `run_sweep` did."""

    out: Path
    planned: int
    completed_before: int
    ran: int
    failed: int
    seconds: float
    engine: str
    workers: int
    root_seed: int
    root_seed_drawn: bool = False
    failed_ids: list[str] = field(default_factory=list, repr=False)
    computed: int = 0  # runs computed; the others were the same runs at other design points
    set_aside: int = 0  # broken parts moved to OUT/broken/ by `repair`

    @property
    def complete(self) -> bool:
        """Every planned run is in the results (none failed, none missing)."""
        return self.completed_before + self.ran - self.failed == self.planned

    def __str__(self) -> str:
        ok = self.ran - self.failed
        text = (
            f"{self.planned} runs planned: {self.completed_before} done before, {ok} ran now, "
            f"{self.failed} failed; {self.seconds:.1f} s on {self.engine} ({self.workers} "
            f"worker{'s' if self.workers != 1 else ''}); results in {self.out}/"
        )
        if 0 < self.computed < self.ran:
            text += (
                f"\n{self.ran - self.computed} of the runs were the same runs at other design "
                f"points (the points differ only in another strategy's parameters): computed "
                f"once, {self.computed} computations in all"
            )
        if self.root_seed_drawn:
            text += (
                f"\nroot seed {self.root_seed} was drawn (kept in the manifest); put "
                f"`root_seed = {self.root_seed}` in the sweep file to pin it"
            )
        if self.set_aside:
            text += (
                f"\n{self.set_aside} broken part(s) set aside in {self.out}/broken/; their runs "
                "were computed again"
            )
        if self.failed:
            text += f"\n{self.failed} runs failed: errors and tracebacks in {self.out}/failures/"
        return text


def default_sweep_dir(name: str) -> Path:
    """`results/sweeps/<name>/`: fixed, so running the same command again resumes."""
    return RESULTS_DIR / "sweeps" / name


def run_sweep(
    spec_or_path: Sweep | str | Path | Mapping[str, Any],
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    cluster: str | None = None,
    out: str | Path | None = None,
    batch_size: int | None = None,
    progress: bool = True,
    repair: bool = False,
) -> SweepReport:
    """Run (or resume) a sweep and write its folder; the Python twin of `python -m sim sweep`.

    ``workers``: processes of the local pool (default: all cores; 1 runs in this process).
    ``scheduler``: address of a running Dask scheduler (``tcp://host:port``), or ``cluster =
    "local"`` to start a Dask LocalCluster with ``workers`` workers. ``out``: the folder
    (default `results/sweeps/<name>/`); runs already there are skipped. A part of the folder
    that cannot be read is a `SweepError`; ``repair`` sets such parts aside (OUT/broken/) and
    computes their runs again.
    """
    sweep = _as_sweep(spec_or_path)
    _check_engine_options(workers, scheduler, cluster, batch_size)
    store = SweepStore(out if out is not None else default_sweep_dir(sweep.spec.name))

    with store.lock():  # one session writes to a folder at a time
        root_seed, drawn = _root_seed(sweep, store.read_manifest())
        design = build_design(sweep, root_seed=root_seed)
        seeds = run_seeds(root_seed, sweep.spec.seeds)
        planned = len(design) * len(sweep.strategies) * len(seeds)

        manifest = store.prepare(
            sweep, design, root_seed=root_seed, root_seed_drawn=drawn, seeds=seeds
        )
        broken = store.broken_parts()
        if broken and not repair:
            raise SweepError(
                str(broken[0]),
                "",
                f"not a readable part of this sweep (truncated, or not written by smb-sim; "
                f"{len(broken)} such part(s) in all); {REPAIR_HINT}",
            )
        set_aside = store.repair() if broken else []
        done = store.completed()
        if done:
            pending = planned - sum(1 for r in plan_runs(sweep, design, seeds) if r.run_id in done)
        else:  # a new sweep: every run is pending (no pass over the plan's run ids)
            pending = planned
        if pending == 0:  # nothing to run: no pool or cluster to start
            workers, scheduler, cluster = 1, None, None
        with _engine(workers, scheduler, cluster) as engine:
            store.open(
                manifest,
                periods=sweep.spec.outputs.periods,
                engine={"engine": engine.name, "workers": engine.workers},
            )
            shared = shared_points(sweep, design)  # once: it may validate every point
            if batch_size:
                sizes: int | Iterable[int] = batch_size
            else:
                computations = count_computations(sweep, design, seeds, done, shared)
                sizes = auto_batch_sizes(computations, engine.workers, sweep.base)
            batches = make_batches(sweep, design, seeds, done, sizes, shared)
            completed_before = planned - pending
            started = time.perf_counter()
            counts = {"ran": 0, "failed": 0, "computed": 0}
            failed_ids: list[str] = []
            bar = _progress(planned, completed_before, enabled=progress)

            def on_result(result: BatchResult) -> None:
                store.write_batch(
                    result.index, runs=result.runs, periods=result.periods, failures=result.failures
                )
                counts["ran"] += result.ok + result.failed
                counts["failed"] += result.failed
                counts["computed"] += result.computed
                if result.failures is not None and len(failed_ids) < 1000:
                    failed_ids.extend(result.failures["run_id"].tolist())
                if bar is not None:
                    bar.update(result.ok + result.failed)
                    if counts["failed"]:
                        bar.set_postfix(failed=counts["failed"], refresh=False)

            status = "interrupted"
            try:
                engine.run(batches, on_result)
                status = "finished"
            except BrokenProcessPool as exc:
                status = "worker died"
                raise EngineError(
                    f"a worker process died ({exc}); the runs finished so far are kept in "
                    f"{store.out}/: run the same command again to resume"
                ) from None
            except WriteError as exc:  # a part could not be written: a full disk, read-only
                status = f"stopped: cannot write {exc.source}: {exc.reason}"
                raise WriteError(
                    exc.source,
                    exc.reason,
                    exc.fix,
                    f"run the same command again to resume (the runs finished before are kept "
                    f"in {store.out}/)",
                ) from None
            finally:
                if bar is not None:
                    bar.close()
                if status != "finished":  # counted from the parts: see `session_counts`
                    with contextlib.suppress(OSError, ValueError):
                        counts.update(store.session_counts())
                try:
                    store.finish(status, completed_before=completed_before, **counts)
                except FolderError:
                    if status == "finished":
                        raise
                    # not even the reserve's room: left "running", marked so at the next session
        return SweepReport(
            out=store.out,
            planned=planned,
            completed_before=completed_before,
            ran=counts["ran"],
            failed=counts["failed"],
            computed=counts["computed"],
            seconds=time.perf_counter() - started,
            engine=engine.name,
            workers=engine.workers,
            root_seed=root_seed,
            root_seed_drawn=drawn,
            failed_ids=failed_ids,
            set_aside=len(set_aside),
        )


def _check_engine_options(
    workers: int | None, scheduler: str | None, cluster: str | None, batch_size: int | None
) -> None:
    """A `UsageError` naming the argument for a bad engine option (the command line names its
    flag)."""
    if scheduler is not None and cluster is not None:
        raise UsageError(
            "scheduler", "give either a scheduler address or cluster='local', not both", scheduler
        )
    if cluster is not None and cluster != "local":
        raise UsageError("cluster", f"unknown cluster {cluster!r}; allowed: 'local'", cluster)
    for argument, value in (("workers", workers), ("batch_size", batch_size)):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise UsageError(argument, f"expected a whole number >= 1, got {value!r}", value)
        if value < 1:
            raise UsageError(argument, f"expected a whole number >= 1, got {value}", value)
    if workers is not None and scheduler is not None:
        raise UsageError(
            "workers", "not used with scheduler=: the cluster's own workers run the sweep", workers
        )


def _root_seed(sweep: Sweep, previous: dict[str, Any] | None) -> tuple[int, bool]:
    """The sweep file's root seed, else the one a previous session drew, else a new one;
    and whether it was drawn."""
    if sweep.spec.root_seed is not None:
        return sweep.spec.root_seed, False
    if previous is not None and "root_seed" in previous:
        return int(previous["root_seed"]), bool(previous.get("root_seed_drawn"))
    return draw_root_seed(), True


def _as_sweep(spec_or_path: Sweep | str | Path | Mapping[str, Any]) -> Sweep:
    if isinstance(spec_or_path, Sweep):
        return spec_or_path
    if isinstance(spec_or_path, Mapping):
        return sweep_from_dict(spec_or_path)
    return load_sweep(spec_or_path)


def plan_runs(sweep: Sweep, design: Design, seeds: list[int]) -> Iterator[RunSpec]:
    """Every run of the sweep, point by point, strategy by strategy, seed by seed (lazily).

    A design point that repeats an earlier one (Morris trajectories can) gets runs under its
    own ids: SALib's analysis needs a result for every row of its sample.
    """
    for point, key in _point_keys(sweep, design).items():
        for strategy in sweep.strategies:
            for k, seed in enumerate(seeds):
                yield RunSpec(run_id(key, strategy, seed), point, strategy, k, seed)


def plan_groups(
    sweep: Sweep,
    design: Design,
    seeds: list[int],
    shared: dict[str, dict[int, tuple[int, ...]]] | None = None,
) -> Iterator[RunGroup]:
    """The sweep's runs grouped into the runs that are the same (``shared``: `shared_points`,
    computed if not given), in the order they are computed: design points in blocks
    (`point_blocks`: at most `POINT_BLOCK` points, of one engine), and within a block seed by
    seed (point by point, strategy by strategy on a seed). A task's runs on one seed at points
    whose markets are built alike (the points differ in the firms' settings or costs only) then
    share one market (`sim.experiment.simulate`), which is built once instead of once per run;
    the block keeps a task's points few, within a worker's cache of validated scenarios."""
    keys = _point_keys(sweep, design)
    if shared is None:
        shared = shared_points(sweep, design)
    for block in point_blocks(sweep, design):
        for k, seed in enumerate(seeds):
            for point in block:
                for strategy in sweep.strategies:
                    same = shared[strategy][point]
                    if same[0] != point:
                        continue  # computed with the group's first point
                    members = tuple(
                        RunSpec(run_id(keys[p], strategy, seed), p, strategy, k, seed) for p in same
                    )
                    yield RunGroup(members[0], members)


#: Scenario fields that make runs computed in engines of their own (`sim.experiment.simulate`
#: groups runs by decisions, departments, horizon and whether a run is a population): design
#: points that differ in them are never planned in one block.
ENGINE_FIELDS = ("departments", "horizon", "population")


def point_blocks(sweep: Sweep, design: Design) -> list[list[int]]:
    """The design points in the blocks `plan_groups` plans seed by seed: at most `POINT_BLOCK`
    points each, every point of a block with the same values of the swept `ENGINE_FIELDS`
    (points are grouped by those values, in the order they first appear), so that a task's runs
    share one engine as they did when runs were planned point by point."""
    families: dict[str, list[int]] = {}
    for values in design.points.to_dict("records"):
        point = int(values.pop("point"))
        engine = {
            path: value
            for path, value in sweep.point_overrides(values).items()
            if path.split(".")[0] in ENGINE_FIELDS
        }
        families.setdefault(json.dumps(engine, sort_keys=True, default=str), []).append(point)
    return [
        family[first : first + POINT_BLOCK]
        for family in families.values()
        for first in range(0, len(family), POINT_BLOCK)
    ]


def count_computations(
    sweep: Sweep,
    design: Design,
    seeds: list[int],
    done: set[str],
    shared: dict[str, dict[int, tuple[int, ...]]],
) -> int:
    """How many computations the runs not in ``done`` need (`plan_groups`' groups with a
    member not done); for a new sweep counted from ``shared`` alone, without the run ids."""
    if done:
        return sum(
            any(m.run_id not in done for m in group.members)
            for group in plan_groups(sweep, design, seeds, shared)
        )
    firsts = sum(p == same[0] for points in shared.values() for p, same in points.items())
    return len(seeds) * firsts


def shared_points(sweep: Sweep, design: Design) -> dict[str, dict[int, tuple[int, ...]]]:
    """Per strategy: each design point -> the points (in order) whose runs of that strategy
    are the same runs, because the points differ only in what a run of it does not read.

    A firm's run reads its own strategy and nothing of the others' (`Market` builds a firm
    from ``scenario.all_strategies[name]`` alone; `tests/test_sweep_execute.py` checks it),
    and of the costs only its own bill (`sim.settings.coordination_cost`: the cost of its own
    coordination mode, alignment's and sensing's as far as it aligns and senses). So a swept
    `strategies.aligned.alpha` or `costs.coordination.hierarchical` leaves the efficiency-only
    runs unchanged: they are computed once per seed and stored under each point's run id. With
    `[adaptation]` a firm may follow any strategy of its menu, so every path counts.
    """
    points = design.points.to_dict("records")
    overrides = {int(values.pop("point")): sweep.point_overrides(values) for values in points}
    learning = sweep.base.adaptation is not None
    costs_swept = any(path.startswith("costs.") for o in overrides.values() for path in o)
    bills: dict[int, dict[str, float]] = {}
    if costs_swept and not learning:  # each strategy's own bill at each point
        for point, values in zip(overrides, points, strict=True):
            try:
                scenario = sweep.scenario_at(values, point=point)
            except ScenarioError:  # an invalid point shares nothing (its runs fail alone)
                continue
            bills[point] = {
                name: coordination_cost(
                    scenario.strategy(name),
                    scenario.costs,
                    scenario.alpha_of(scenario.strategy(name)),
                )
                for name in sweep.strategies
            }
    result: dict[str, dict[int, tuple[int, ...]]] = {}
    for strategy in sweep.strategies:
        groups: dict[str, list[int]] = {}
        for point, paths in overrides.items():
            own = {path: v for path, v in paths.items() if learning or _reads(strategy, path)}
            if point in bills:
                own = {k: v for k, v in own.items() if not k.startswith("costs.")}
                own["costs (its own bill)"] = bills[point][strategy]
            groups.setdefault(point_key(sweep.scenario_digest, own), []).append(point)
        result[strategy] = {p: tuple(g) for g in groups.values() for p in g}
    return result


def _reads(strategy: str, path: str) -> bool:
    """Whether a run of ``strategy`` may read the scenario value at dotted ``path`` (another
    strategy's settings it never reads; costs are judged by their bill, `shared_points`)."""
    parts = path.split(".")
    return not (parts[0] == "strategies" and len(parts) > 1 and parts[1] != strategy)


def _point_keys(sweep: Sweep, design: Design) -> dict[int, str]:
    """Each design point's scenario hash; a point repeating an earlier one gets ``#n``."""
    digest = sweep.scenario_digest
    seen: dict[str, int] = {}
    keys: dict[int, str] = {}
    for values in design.points.to_dict("records"):
        point = int(values.pop("point"))
        key = point_key(digest, sweep.point_overrides(values))
        repeat = seen.get(key, 0)
        seen[key] = repeat + 1
        keys[point] = f"{key}#{repeat}" if repeat else key
    return keys


def make_batches(
    sweep: Sweep,
    design: Design,
    seeds: list[int],
    done: set[str],
    size: int | Iterable[int],
    shared: dict[str, dict[int, tuple[int, ...]]] | None = None,
) -> Iterator[Batch]:
    """The runs not done yet, ``size`` computations at a time (a number, or each batch's in
    turn, the last repeated: `auto_batch_sizes`), each batch with the points it needs; runs
    that are the same run (`plan_groups`, ``shared``) are computed once, in one batch."""
    records = design.points.set_index("point").to_dict("index")
    index = 0
    groups: list[RunGroup] = []
    sizes = itertools.repeat(size) if isinstance(size, int) else iter(size)
    wanted = next(sizes, MAX_BATCH)
    digest = sweep.scenario_digest
    overrides: dict[int, dict[str, Any]] = {}  # each point's, made once for all its batches
    keys: dict[int, str] = {}

    def batch() -> Batch:
        needed = {m.point for g in groups for m in (g.compute, *g.members)}
        points = {p: records[p] for p in sorted(needed)}
        for p, values in points.items():
            if p not in overrides:
                overrides[p] = sweep.point_overrides(values)
                keys[p] = point_key(digest, overrides[p])
        return Batch(
            index=index,
            scenario_source=str(sweep.scenario_path),
            scenario_data=sweep.scenario_data,
            points=points,
            overrides={p: overrides[p] for p in points},
            keys={p: keys[p] for p in points},
            runs=list(groups),
            periods=sweep.spec.outputs.periods,
        )

    for group in plan_groups(sweep, design, seeds, shared):
        pending = tuple(m for m in group.members if m.run_id not in done)
        if not pending:
            continue
        groups.append(
            group if len(pending) == len(group.members) else group._replace(members=pending)
        )
        if len(groups) == wanted:
            yield batch()
            index += 1
            groups = []
            wanted = next(sizes, wanted)
    if groups:
        yield batch()


def auto_batch_sizes(
    computations: int, workers: int, scenario: Scenario | None = None
) -> Iterator[int]:
    """Computations per task, task by task, for ``computations`` in all. On one worker, tasks
    as large as allowed. On several, guided self-scheduling: each task takes a share
    1 / (2 x workers) of what is still unassigned, so the first tasks are large (per-task costs
    paid rarely) and the last ones small, `MIN_BATCH`, so that the workers finish together
    (with a fixed size a worker could compute a whole large task alone at the end: with six
    tasks on two workers, a sixth of the sweep). Never more than `MAX_BATCH`, nor than fit in
    `TASK_MEMORY` if each run had a market of its own (a task's runs are one batch on one
    engine). A rest smaller than `MIN_BATCH` goes with the task before it."""
    most = MAX_BATCH
    if scenario is not None:
        most = min(most, max(1, int(TASK_MEMORY // experiment.market_bytes(scenario))))
    least = min(MIN_BATCH, most)
    left = computations
    while left > 0:
        share = most if workers <= 1 else math.ceil(left / (2 * workers))
        size = max(least, min(most, share))
        if left - size < least and left <= most:
            size = left  # the rest with this task, not a last task of a few runs
        yield size
        left -= size


# ---------------------------------------------------------------------------- the worker side

_SCENARIOS: OrderedDict[str, Scenario] = OrderedDict()
_SCENARIO_CACHE = 32


def _scenario(batch: Batch, point: int) -> Scenario:
    """The validated scenario of a design point (a few kept per worker process, by the hash of
    the base scenario and the point's overrides)."""
    key = batch.keys[point]
    scenario = _SCENARIOS.get(key)
    if scenario is None:
        data = apply_overrides(batch.scenario_data, batch.overrides[point])
        scenario = validate_scenario(data, source=f"{batch.scenario_source} (design point {point})")
        _SCENARIOS[key] = scenario
        while len(_SCENARIOS) > _SCENARIO_CACHE:
            _SCENARIOS.popitem(last=False)
    else:
        _SCENARIOS.move_to_end(key)
    return scenario


def run_batch(batch: Batch) -> BatchResult:
    """Run a task's runs as one batch through `sim.experiment.simulate`, each group of the same
    runs once; a run that raises is recorded with its error and traceback, and the others go
    on."""
    rows, frames, failures = [], [], []

    def fail(spec: RunSpec, exc: BaseException) -> None:
        failures.append(
            {
                **_ident(batch, spec),
                "strategy": spec.strategy,
                "seed": spec.seed,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": "".join(traceback.format_exception(exc)),
            }
        )

    computable = []  # (group, the scenario it is computed with, every member's scenario)
    for group in batch.runs:
        scenarios: dict[int, Scenario | Exception] = {}
        for member in (group.compute, *group.members):  # each point's own scenario
            if member.point not in scenarios:
                try:
                    scenarios[member.point] = _scenario(batch, member.point)
                except Exception as exc:
                    scenarios[member.point] = exc
        # the same run at every member's point: computed at the first valid one
        scenario = next((v for v in scenarios.values() if isinstance(v, Scenario)), None)
        if scenario is None:
            for member in group.members:
                fail(member, next(iter(scenarios.values())))
            continue
        computable.append((group, scenario, scenarios))

    outcomes = _simulate_each(
        [
            (scenario, group.compute.strategy, group.compute.seed)
            for group, scenario, _ in computable
        ],
        periods=batch.periods,
    )
    for (group, _, scenarios), outcome in zip(computable, outcomes, strict=True):
        spec = group.compute
        try:
            if isinstance(outcome, BaseException):
                raise outcome
            row, frame = outcome
            clash = set(row) & (set(_ident(batch, spec)) - {"strategy", "seed"})
            if clash:
                raise RuntimeError(
                    f"swept parameter(s) {sorted(clash)} have the name of an output column"
                )
        except Exception as exc:
            for member in group.members:
                fail(member, exc)
            continue
        for member in group.members:
            own_scenario = scenarios[member.point]
            if isinstance(own_scenario, Exception):
                fail(member, own_scenario)
                continue
            rows.append({**_ident(batch, member), **row})
            if frame is not None:
                own = frame.copy() if len(group.members) > 1 else frame
                own.insert(0, "run_id", member.run_id)
                own.insert(1, "point", member.point)
                own.insert(2, "seed_index", member.seed_index)
                frames.append(own)
    return BatchResult(
        index=batch.index,
        runs=pd.DataFrame(rows) if rows else None,
        periods=concat(frames),
        failures=pd.DataFrame(failures) if failures else None,
        ok=len(rows),
        failed=len(failures),
        computed=len(batch.runs),
    )


def _simulate_each(
    runs: list[tuple[Scenario, str, int]], *, periods: bool
) -> list[tuple[dict, pd.DataFrame | None] | BaseException]:
    """The task's runs as one batched computation (`sim.experiment.simulate`); if the batch
    raises, each run alone, so that one failing run does not take the others with it."""
    try:
        return list(_simulate(runs, periods=periods))
    except Exception:
        outcomes: list[tuple[dict, pd.DataFrame | None] | BaseException] = []
        for run in runs:
            try:
                outcomes.append(_simulate([run], periods=periods)[0])
            except Exception as exc:
                outcomes.append(exc)
        return outcomes


def _simulate(runs: list[tuple[Scenario, str, int]], *, periods: bool):
    """`sim.experiment.simulate`, or for markets of competing firms (``[competition]``)
    `sim.competition.simulate_runs` (a mixed list fails, and is then run run by run)."""
    if runs and all(sc.competition is not None for sc, _, _ in runs):
        return competition.simulate_runs(runs, periods=periods)
    return experiment.simulate(runs, periods=periods)


def _ident(batch: Batch, spec: RunSpec) -> dict[str, Any]:
    """The columns that say which run a row is: id, design point, replicate, swept values."""
    return {
        "run_id": spec.run_id,
        "point": spec.point,
        "seed_index": spec.seed_index,
        **batch.points[spec.point],
    }


# ------------------------------------------------------------------------------ the engines


class _Engine:
    name = "serial"
    workers = 1

    def __enter__(self) -> _Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def run(self, batches: Iterator[Batch], on_result: Callable[[BatchResult], None]) -> None:
        for batch in batches:
            on_result(run_batch(batch))


class _Pool(_Engine):
    """A local process pool. On Linux a single-threaded driver forks its workers (they start at
    once, with the model loaded); otherwise workers come from a fork server that has imported
    the model (or are spawned, where there is no fork)."""

    name = "process pool"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.executor = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_mp_context(),
            initializer=watch_driver,
            initargs=(WATCH_INTERVAL,),
        )
        with warnings.catch_warnings():
            # Python warns about fork() whenever the process has native threads (Arrow's,
            # BLAS's); we fork only when no other Python thread runs (`_mp_context`), and
            # those libraries re-initialise their thread pools in the child.
            warnings.filterwarnings(
                "ignore", "This process .* is multi-threaded", DeprecationWarning
            )
            self.executor.submit(int).result()  # start the workers now, before any thread starts

    def __exit__(self, *exc: object) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)

    def run(self, batches: Iterator[Batch], on_result: Callable[[BatchResult], None]) -> None:
        limit = self.workers * IN_FLIGHT_PER_WORKER
        running: dict[Future, Batch] = {}

        def collect() -> None:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                batch = running.pop(future)
                try:
                    result = future.result()
                except BrokenProcessPool:
                    raise
                except Exception as exc:  # the task itself failed (e.g. could not be pickled)
                    result = _failed_batch(batch, exc)
                on_result(result)

        try:
            for batch in batches:
                running[self.executor.submit(run_batch, batch)] = batch
                while len(running) >= limit:
                    collect()
            while running:
                collect()
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: keep the batches already finished
            for future in running:
                if future.done() and not future.cancelled() and future.exception() is None:
                    on_result(future.result())
            raise


def watch_driver(interval: float) -> None:
    """Run in each pool worker: exit when the process that started it has gone, however it
    ended (``kill -9`` included), so that no worker goes on computing for nobody.

    A worker's parent is the driver (fork, spawn) or the fork server, which exits with the
    driver; either way the worker is handed to another parent when it ends.
    """
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(interval)
            if os.getppid() != parent:
                os._exit(EXIT_ORPHANED)

    threading.Thread(target=watch, name="smb-sim-watch-driver", daemon=True).start()


def _mp_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and sys.platform == "linux" and threading.active_count() == 1:
        return multiprocessing.get_context("fork")  # no other Python thread: safe to fork
    if "forkserver" in methods:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["sim.sweep.execute"])
        return context
    return multiprocessing.get_context("spawn")


class _Dask(_Engine):
    """A Dask distributed cluster: an existing one by address, or a LocalCluster."""

    def __init__(self, scheduler: str | None, workers: int | None) -> None:
        try:
            from distributed import Client, LocalCluster
        except ImportError as exc:  # pragma: no cover - a core dependency
            raise EngineError(f"Dask is not installed: {exc}") from None
        self.cluster = None
        if scheduler is None:
            import dask

            self.name = "dask local cluster"
            # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_ set, which turns off
            # glibc's adaptive mmap threshold: every array of 128 KiB or more (a landscape) is
            # then mapped and unmapped anew, and the model runs about 3x slower.
            # `LOCAL_CLUSTER_CONFIG` says what else is set and why.
            config = dict(LOCAL_CLUSTER_CONFIG)
            if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
                del config["distributed.worker.multiprocessing-method"]  # Dask's spawn
            with dask.config.set(config), _workers_ignore_ctrl_c():
                _preload_fork_server()
                self.cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",
                    silence_logs=50,  # CRITICAL: errors come back with the tasks
                )
            self.client = Client(self.cluster)
        else:
            self.name = f"dask cluster at {scheduler}"
            try:
                self.client = Client(scheduler, timeout=CONNECT_TIMEOUT)
            except (OSError, TimeoutError, ValueError) as exc:
                raise UsageError(
                    "scheduler",
                    f"cannot reach a Dask scheduler at {scheduler!r} ({exc}); expected the "
                    "address `dask scheduler` prints, e.g. tcp://192.0.2.1:8786",
                    scheduler,
                ) from None
        self.workers = max(1, sum(self.client.nthreads().values()))

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def run(self, batches: Iterator[Batch], on_result: Callable[[BatchResult], None]) -> None:
        from distributed import as_completed

        limit = max(1, self.workers * IN_FLIGHT_PER_WORKER)
        futures = as_completed()
        sizes: dict[str, Batch] = {}

        def submit(batch: Batch) -> None:
            future = self.client.submit(run_batch, batch, pure=False)
            sizes[future.key] = batch
            futures.add(future)

        source = iter(batches)
        for batch in source:
            submit(batch)
            if futures.count() >= limit:
                break
        for future in futures:
            batch = sizes.pop(future.key)
            try:
                result = future.result()
            except Exception as exc:  # the task itself failed (a worker died, ...)
                result = _failed_batch(batch, exc)
            future.release()
            on_result(result)
            nxt = next(source, None)
            if nxt is not None:
                submit(nxt)


def _preload_fork_server() -> None:
    """Make the fork server of Dask's workers import `FORKSERVER_PRELOAD` (Dask's own choice,
    set on the first call of `distributed.utils.get_mp_context`, leaves the model out)."""
    import multiprocessing.forkserver

    from distributed.utils import get_mp_context

    context = get_mp_context()  # Dask sets its preload list once, here
    if isinstance(context, multiprocessing.context.ForkServerContext):
        context.set_forkserver_preload(FORKSERVER_PRELOAD)


@contextlib.contextmanager
def _workers_ignore_ctrl_c() -> Iterator[None]:
    """Start processes that ignore SIGINT: a terminal's Ctrl-C reaches every process of its
    group, and Dask's worker processes would each print a traceback; the driver handles it
    (keeps the finished runs, closes the cluster and its workers) and exits with code 130."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # inherited by the workers
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _failed_batch(batch: Batch, exc: BaseException) -> BatchResult:
    """Every run of a task that could not run, as failed (a resume tries them again)."""
    text = "".join(traceback.format_exception(exc))
    failures = [
        {
            **_ident(batch, r),
            "strategy": r.strategy,
            "seed": r.seed,
            "error": f"task failed: {type(exc).__name__}: {exc}",
            "traceback": text,
        }
        for group in batch.runs
        for r in group.members
    ]
    return BatchResult(batch.index, None, None, pd.DataFrame(failures), 0, len(failures))


def _engine(workers: int | None, scheduler: str | None, cluster: str | None) -> _Engine:
    if scheduler is not None or cluster is not None:
        return _Dask(scheduler, workers)
    count = workers or os.cpu_count() or 1
    return _Engine() if count == 1 else _Pool(count)


def _progress(total: int, initial: int, *, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(
        total=total,
        initial=initial,
        unit="run",
        smoothing=0.1,
        dynamic_ncols=True,
        file=sys.stderr,
    )
