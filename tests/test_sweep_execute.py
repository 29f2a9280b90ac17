"""Running sweeps: the same numbers, run by run and bit for bit, with 1 worker, 2 workers and a
real Dask cluster (scheduler and workers started here as separate processes on 127.0.0.1);
each run is `run_one`'s; a run that raises is recorded and the sweep goes on."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import sim.experiment
from sim.cli import main
from sim.experiment import run_one
from sim.frames import shadows_dataframe
from sim.results import load
from sim.scenario import UsageError, load_scenario
from sim.sweep import execute as execute_module
from sim.sweep import run_sweep, sweep_from_dict
from sim.sweep.design import run_seeds

ROOT = Path(__file__).resolve().parents[1]

SMALL = {
    "name": "small",
    "scenario": "bakery_gluten_free",
    "seeds": 3,
    "root_seed": 11,
    "overrides": {"horizon": 70},
    "parameters": [
        {"name": "alignment", "path": "strategies.aligned.alpha", "values": [0.3, 0.9]},
        {
            "name": "coordination_cost",
            "path": "costs.coordination.hierarchical",
            "range": [0.5, 4.0],
            "num": 2,
        },
    ],
    "outputs": {"periods": True},
}
RUNS = 4 * 2 * 3
WORKER_CONFIG = """\
distributed:
  nanny:
    pre-spawn-environ:
      MALLOC_TRIM_THRESHOLD_: null
"""


@pytest.fixture(scope="module")
def serial(tmp_path_factory) -> Path:
    """The small sweep, run in this process (1 worker)."""
    out = tmp_path_factory.mktemp("serial")
    report = run_sweep(sweep_from_dict(SMALL), workers=1, out=out, progress=False)
    assert report.complete and report.ran == RUNS and report.engine == "serial"
    return out


def same_results(a: Path, b: Path) -> None:
    left, right = load(a), load(b)
    assert len(left["runs"]) == RUNS
    pd.testing.assert_frame_equal(left["runs"], right["runs"], check_exact=True)
    pd.testing.assert_frame_equal(left["periods"], right["periods"], check_exact=True)


def test_the_tables_one_row_per_run_and_per_period(serial):
    data = load(serial)
    runs, periods = data["runs"], data["periods"]
    assert runs["run_id"].is_unique
    assert runs.groupby(["point", "strategy"], observed=True).size().eq(3).all()
    assert list(runs.columns[:6]) == [
        "run_id",
        "point",
        "seed_index",
        "alignment",
        "coordination_cost",
        "strategy",
    ]
    assert {"profit_post_shift", "survived", "final_cash"} <= set(runs.columns)
    assert len(periods) == RUNS * 71
    assert set(periods["run_id"]) == set(runs["run_id"])
    assert list(periods.columns[:3]) == ["run_id", "point", "seed_index"]
    decisions = load_scenario("bakery_gluten_free").decisions
    for i, name in enumerate(decisions):  # one 0/1 column per decision, bit i of config
        column = periods[f"decision_{name}"]
        assert column.dtype == "int8"
        assert column.tolist() == ((periods["config"] // 2**i) % 2).tolist()
    assert not [c for c in [*runs.columns, *periods.columns] if shadows_dataframe(c)]
    assert data["failures"].empty
    assert data["design"]["point"].tolist() == [0, 1, 2, 3]
    # common random numbers: seed k is the same at every design point and for every strategy
    seeds = runs.groupby("seed_index")["seed"].unique()
    assert all(len(s) == 1 for s in seeds)
    assert [s[0] for s in seeds] == run_seeds(11, 3)


def test_each_run_is_run_one_at_its_design_point(serial):
    runs = load(serial)["runs"]
    row = runs[(runs["point"] == 3) & (runs["strategy"] == "aligned")].iloc[1]
    sweep = sweep_from_dict(SMALL)
    scenario = sweep.scenario_at({"alignment": 0.9, "coordination_cost": 4.0})
    direct, _ = run_one(scenario, "aligned", int(row["seed"]), periods=False)
    for key, value in direct.items():
        assert row[key] == value or (pd.isna(row[key]) and pd.isna(value)), key


def test_two_workers_give_the_same_numbers_bit_for_bit(serial, tmp_path):
    report = run_sweep(sweep_from_dict(SMALL), workers=2, out=tmp_path, batch_size=5)
    assert report.engine == "process pool" and report.workers == 2 and report.complete
    same_results(serial, tmp_path)


def test_automatic_task_sizes_shrink_so_that_workers_finish_together(monkeypatch):
    sizes = list(execute_module.auto_batch_sizes(2500, 2))
    assert sizes[0] == 625  # a fourth of the computations to each of the first tasks ...
    assert sizes[:-1] == sorted(sizes[:-1], reverse=True)  # ... then smaller and smaller
    assert sizes[-3:-1] == [execute_module.MIN_BATCH] * 2  # the last ones small, the rest
    assert execute_module.MIN_BATCH <= sizes[-1] < 2 * execute_module.MIN_BATCH  # with the last
    assert sum(sizes) == 2500  # every computation handed out, once
    assert list(execute_module.auto_batch_sizes(2500, 1)) == [1000, 1000, 500]  # one worker
    assert max(execute_module.auto_batch_sizes(100_000, 2)) == execute_module.MAX_BATCH
    assert list(execute_module.auto_batch_sizes(0, 2)) == []
    # no more than fit in the task's memory if each run had a market of its own
    monkeypatch.setattr(execute_module, "TASK_MEMORY", 50 * sim.experiment.market_bytes(
        load_scenario("bakery_gluten_free")))  # fmt: skip
    small = list(execute_module.auto_batch_sizes(2500, 2, load_scenario("bakery_gluten_free")))
    assert set(small) == {50}


def test_two_workers_with_shrinking_tasks_give_the_same_numbers(serial, tmp_path, monkeypatch):
    monkeypatch.setattr(execute_module, "MIN_BATCH", 1)  # many tasks of a few runs
    report = run_sweep(sweep_from_dict(SMALL), workers=2, out=tmp_path, progress=False)
    assert report.workers == 2 and report.complete
    parts = list((tmp_path / "runs").glob("part-*.parquet"))
    assert len(parts) >= 4  # tasks of decreasing sizes
    same_results(serial, tmp_path)


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory):
    """A real Dask cluster: `dask scheduler` and `dask worker` (2 processes) on 127.0.0.1,
    started here as separate processes, and stopped at the end."""
    dask = Path(sys.executable).with_name("dask")
    if not dask.exists():
        pytest.skip("the dask command is not installed next to this Python")
    folder = tmp_path_factory.mktemp("dask")
    info = folder / "scheduler.json"
    # as docs/sweeps.md advises: workers without Dask's MALLOC_TRIM_THRESHOLD_ (3x faster)
    (folder / "config").mkdir()
    (folder / "config" / "sweep.yaml").write_text(WORKER_CONFIG, encoding="utf-8")
    env = {**os.environ, "DASK_CONFIG": str(folder / "config")}
    log = (folder / "dask.log").open("w")
    scheduler = subprocess.Popen(
        [
            *(str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard"),
            *("--scheduler-file", str(info)),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    workers = None
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        workers = subprocess.Popen(
            [
                *(str(dask), "worker", "--scheduler-file", str(info), "--nworkers", "2"),
                *("--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"),
                *("--local-directory", str(folder)),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=90)
            trims = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
            assert set(trims.values()) == {None}
        yield address
    finally:
        for proc in (workers, scheduler):
            if proc is None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def test_a_real_dask_cluster_gives_the_same_numbers_bit_for_bit(serial, tmp_path, dask_scheduler):
    report = run_sweep(
        sweep_from_dict(SMALL), scheduler=dask_scheduler, out=tmp_path, progress=False
    )
    assert report.engine == f"dask cluster at {dask_scheduler}"
    assert report.workers == 2 and report.complete
    same_results(serial, tmp_path)
    manifest = load(tmp_path)["manifest"]
    assert manifest["sessions"][0]["engine"].startswith("dask cluster")


def test_the_command_line_on_a_dask_cluster_resumes_what_the_pool_started(
    serial, tmp_path, dask_scheduler, capsys
):
    spec = tmp_path / "small.json"
    out = tmp_path / "out"
    # half the seeds on the local pool ...
    run_sweep(sweep_from_dict({**SMALL, "seeds": 2}), workers=2, out=out, progress=False)
    # ... the rest from the command line on the cluster (a TOML file written from the dict)
    spec = tmp_path / "small.toml"
    spec.write_text(_toml(SMALL), encoding="utf-8")
    code = main(["sweep", str(spec), "--scheduler", dask_scheduler, "--out", str(out), "--quiet"])
    assert code == 0
    same_results(serial, out)
    sessions = load(out)["manifest"]["sessions"]
    assert [s["completed_before"] for s in sessions] == [0, 16]
    assert [s["ran"] for s in sessions] == [16, 8]


def _toml(data: dict) -> str:
    """Just enough TOML for the test sweeps."""

    def value(v):
        return json.dumps(v) if not isinstance(v, bool) else str(v).lower()

    lines = [f"{k} = {value(v)}" for k, v in data.items() if not isinstance(v, dict | list)]
    for key in ("overrides", "outputs"):
        lines.append(f"[{key}]")
        lines += [f'"{k}" = {value(v)}' for k, v in data.get(key, {}).items()]
    for parameter in data["parameters"]:
        lines.append("[[parameters]]")
        lines += [f"{k} = {value(v)}" for k, v in parameter.items()]
    return "\n".join(lines) + "\n"


def test_a_local_dask_cluster_gives_the_same_numbers(serial, tmp_path):
    report = run_sweep(
        sweep_from_dict(SMALL), cluster="local", workers=2, out=tmp_path, progress=False
    )
    assert report.engine == "dask local cluster" and report.complete
    same_results(serial, tmp_path)


def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(serial, tmp_path, monkeypatch):
    unlucky = run_seeds(11, 3)[1]
    real = sim.experiment.simulate

    def flaky(runs, **kwargs):  # a batch holding the unlucky run fails; the others then run alone
        if any(strategy == "aligned" and seed == unlucky for _, strategy, seed in runs):
            raise ValueError("the oven caught fire")
        return real(runs, **kwargs)

    monkeypatch.setattr(sim.experiment, "simulate", flaky)
    report = run_sweep(sweep_from_dict(SMALL), workers=1, out=tmp_path, progress=False)
    assert report.ran == RUNS and report.failed == 4 and not report.complete
    assert "4 runs failed" in str(report)
    data = load(tmp_path)
    assert len(data["runs"]) == RUNS - 4
    failures = data["failures"]
    assert len(failures) == 4
    assert set(failures["error"]) == {"ValueError: the oven caught fire"}
    assert all("the oven caught fire" in tb and "Traceback" in tb for tb in failures["traceback"])
    assert set(failures["seed_index"]) == {1} and set(failures["strategy"]) == {"aligned"}
    assert set(failures["point"]) == {0, 1, 2, 3}

    # the command line says so with exit code 1 ...
    spec = _spec_file(tmp_path)
    assert (
        main(["sweep", str(spec), "--workers", "1", "--out", str(tmp_path / "cli"), "--quiet"]) == 1
    )
    # ... and once the cause is gone, running again completes the failed runs only
    monkeypatch.setattr(sim.experiment, "simulate", real)
    again = run_sweep(sweep_from_dict(SMALL), workers=1, out=tmp_path, progress=False)
    assert again.completed_before == RUNS - 4 and again.ran == 4 and again.complete
    same_results(serial, tmp_path)
    assert load(tmp_path)["failures"].empty


def _spec_file(tmp_path: Path) -> Path:
    """A sweep file writing to ``tmp_path/cli`` (for the command-line checks)."""
    path = tmp_path / "small.toml"
    path.write_text(_toml(SMALL), encoding="utf-8")
    shutil.rmtree(tmp_path / "cli", ignore_errors=True)
    return path


def test_engine_options_are_checked(tmp_path, monkeypatch):
    """Python's errors name Python's arguments (issue 20: `workers=0` said "--workers")."""
    sweep = sweep_from_dict(SMALL)
    cases = [
        ({"scheduler": "tcp://127.0.0.1:1", "cluster": "local"}, "scheduler", "cluster='local'"),
        ({"cluster": "slurm"}, "cluster", "unknown cluster 'slurm'; allowed: 'local'"),
        ({"scheduler": "tcp://127.0.0.1:1", "workers": 2}, "workers", "not used with scheduler="),
        ({"workers": 0}, "workers", "expected a whole number >= 1, got 0"),
        ({"workers": 2.5}, "workers", "expected a whole number >= 1, got 2.5"),
        ({"batch_size": 0}, "batch_size", "expected a whole number >= 1, got 0"),
    ]
    for options, argument, message in cases:
        with pytest.raises(UsageError) as caught:
            run_sweep(sweep, out=tmp_path, **options)
        assert caught.value.argument == argument and message in str(caught.value)
        assert str(caught.value).startswith(f"{argument}: ") and "--" not in str(caught.value)
        assert isinstance(caught.value, ValueError)
    assert caught.value.value == 0
    monkeypatch.setattr(execute_module, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(
        UsageError, match=r"scheduler: cannot reach a Dask scheduler at 'tcp://127\.0\.0\.1:9'"
    ):
        run_sweep(sweep, scheduler="tcp://127.0.0.1:9", out=tmp_path, progress=False)
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_sweeps_on_the_same_base_in_one_process_do_not_mix(tmp_path):
    other = {**SMALL, "outputs": {}}
    other["parameters"] = [{**SMALL["parameters"][0], "values": [0.1, 0.5]}]
    for values, out in (([0.1, 0.5], tmp_path / "a"), ([0.3, 0.9], tmp_path / "b")):
        spec = {**other, "parameters": [{**other["parameters"][0], "values": values}]}
        run_sweep(sweep_from_dict(spec), workers=1, out=out, progress=False)
        runs = load(out)["runs"]
        aligned = runs[runs["strategy"] == "aligned"]
        assert (aligned["alpha"] == aligned["alignment"]).all()


# ---- runs that are the same run, computed once


@pytest.mark.parametrize(
    ("changed", "unchanged", "changes"),
    [
        (
            "aligned",
            "efficiency_only",
            {"alpha": 0.15, "sensing": 0.9, "coordination": "sequential", "p_jump": 0.2},
        ),
        ("efficiency_only", "aligned", {"alpha": 0.4, "sensing": 0.5, "p_jump": 0.2}),
    ],
)
def test_a_firm_reads_its_own_strategy_and_nothing_of_the_others(changed, unchanged, changes):
    """What computing the same runs once relies on (`shared_points`)."""
    from sim.scenario import load_scenario

    base = load_scenario("bakery_gluten_free", {"horizon": 70})
    other = load_scenario(
        "bakery_gluten_free",
        {"horizon": 70, **{f"strategies.{changed}.{k}": v for k, v in changes.items()}},
    )
    same, same_periods = run_one(base, unchanged, 5)
    again, again_periods = run_one(other, unchanged, 5)
    pd.testing.assert_series_equal(pd.Series(same), pd.Series(again), check_exact=True)
    pd.testing.assert_frame_equal(same_periods, again_periods, check_exact=True)
    first, second = run_one(base, changed, 5)[1], run_one(other, changed, 5)[1]
    assert not first.equals(second)  # a control: the changes do reach their own firm


def test_runs_that_are_the_same_are_computed_once_and_stored_at_every_point(serial):
    # SMALL sweeps the aligned strategy's alpha (2 values) and the hierarchy's cost (2 values):
    # the decentralized efficiency-only firm reads neither, so 1 x 3 of its runs are computed,
    # not 4 x 3 (nor 2 x 3, as when every cost was taken to be read by every strategy)
    from sim.sweep.design import build_design
    from sim.sweep.execute import plan_groups, shared_points

    sweep = sweep_from_dict(SMALL)
    design = build_design(sweep, root_seed=11)
    shared = shared_points(sweep, design)
    assert shared["aligned"] == {p: (p,) for p in range(4)}
    assert shared["efficiency_only"] == dict.fromkeys(range(4), (0, 1, 2, 3))
    groups = list(plan_groups(sweep, design, run_seeds(11, 3)))
    assert len(groups) == 4 * 3 + 1 * 3
    assert sum(len(g.members) for g in groups) == RUNS

    manifest = json.loads((serial / "manifest.json").read_text())
    assert manifest["sessions"][0]["computed"] == 15 and manifest["sessions"][0]["ran"] == RUNS
    # a run stored from another point's computation is that point's own run, number for number
    runs = load(serial)["runs"]
    row = runs[(runs["point"] == 2) & (runs["strategy"] == "efficiency_only")].iloc[2]
    scenario = sweep.scenario_at({"alignment": 0.9, "coordination_cost": 0.5})
    direct, _ = run_one(scenario, "efficiency_only", int(row["seed"]), periods=False)
    for key, value in direct.items():
        assert row[key] == value or (pd.isna(row[key]) and pd.isna(value)), key
    assert row["alignment"] == 0.9  # and it carries its own point's values
    periods = load(serial)["periods"]
    assert (periods["run_id"] == row["run_id"]).sum() == 71


def test_a_shared_run_is_stored_only_where_its_point_is_valid(tmp_path, monkeypatch):
    real = execute_module._scenario

    def point_1_is_invalid(batch, point):
        if point == 1:
            raise ValueError("the scenario of point 1 is invalid")
        return real(batch, point)

    monkeypatch.setattr(execute_module, "_scenario", point_1_is_invalid)
    spec = {**SMALL, "name": "invalid_point", "outputs": {"periods": False}}
    report = run_sweep(sweep_from_dict(spec), workers=1, out=tmp_path, progress=False)
    failures = load(tmp_path)["failures"]
    # point 1's efficiency-only runs are computed at point 3 (the same runs), yet fail: their
    # own point is invalid
    assert set(failures["point"]) == {1} and len(failures) == 2 * 3
    assert set(failures["strategy"]) == {"aligned", "efficiency_only"}
    assert report.ran == RUNS and report.failed == 6
    runs = load(tmp_path)["runs"]
    assert len(runs) == RUNS - 6 and 3 in set(runs["point"])


# ---- issue 12: processes. SIGTERM handled as Ctrl-C; no worker outlives its driver

FAULT_SWEEP = """
name = "fault"
scenario = "bakery_gluten_free"
seeds = 60
root_seed = 5
[overrides]
horizon = 70
[[parameters]]
name = "alignment"
path = "strategies.aligned.alpha"
values = [0.2, 0.5, 0.8]
"""


def _children(pid: int) -> list[int]:
    """Processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    """Running (a zombie left for an init that does not reap counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _start_sweep(
    tmp_path: Path, engine: tuple[str, ...] = ()
) -> tuple[subprocess.Popen, Path, list[str]]:
    spec = tmp_path / "fault.toml"
    spec.write_text(FAULT_SWEEP, encoding="utf-8")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sim", "sweep", str(spec), "--workers", "2", "--out", str(out)]
    command += ["--batch-size", "3", "--quiet", *engine]
    proc = subprocess.Popen(
        command, cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if len(list((out / "runs").glob("part-*.parquet"))) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep finished before the fault"
    return proc, out, command


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_pool_workers_exit_within_10_s_when_the_driver_is_killed_with_kill_9(tmp_path):
    proc, _out, _ = _start_sweep(tmp_path)
    workers = _children(proc.pid)
    try:
        assert len(workers) == 2
        proc.kill()  # the driver only, as `kill -9 PID` does
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "a worker outlived its driver by 10 s"
    finally:
        for w in workers:
            if _alive(w):
                os.kill(w, 9)


def test_sigterm_keeps_the_finished_runs_releases_the_lock_and_exits_143(tmp_path):
    proc, out, command = _start_sweep(tmp_path)
    workers = _children(proc.pid) if Path("/proc/self/stat").exists() else []
    proc.terminate()  # SIGTERM to the driver only
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "terminated: the runs finished so far are kept" in err
    assert not (out / ".lock").exists()
    assert not any(_alive(w) for w in workers)
    session = load(out)["manifest"]["sessions"][0]
    assert session["status"] == "interrupted" and session["ran"] == len(load(out)["runs"]) > 0
    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    runs = load(out)["runs"]
    assert len(runs) == 3 * 2 * 60 and runs["run_id"].is_unique


@pytest.mark.parametrize("engine", [(), ("--cluster", "local")], ids=["pool", "dask"])
def test_ctrl_c_is_quiet_keeps_the_runs_and_exits_130(tmp_path, engine):
    """A terminal's Ctrl-C reaches the driver and every worker (one process group); issue 20:
    under Dask the workers printed 4 tracebacks first."""
    import signal

    proc, out, _ = _start_sweep(tmp_path, engine)
    if engine and Path("/proc/self/status").exists():  # whether a worker prints is a race: ...
        workers = _descendants(proc.pid)
        assert workers and all(_ignores_sigint(w) for w in workers)  # ... it ignores Ctrl-C
    os.killpg(proc.pid, signal.SIGINT)  # the whole group, as a terminal does
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert err.strip() == (
        "interrupted: the runs finished so far are kept; run the same command again to resume"
    )
    session = load(out)["manifest"]["sessions"][0]
    assert session["status"] == "interrupted" and session["ran"] == len(load(out)["runs"]) > 0
    assert not (out / ".lock").exists() and not (out / ".reserve").exists()


def _descendants(pid: int) -> list[int]:
    """Every process started by ``pid``, and by those, and so on (from /proc)."""
    found, todo = [], [pid]
    while todo:
        children = _children(todo.pop())
        found += children
        todo += children
    return found


def _ignores_sigint(pid: int) -> bool:
    """Whether process ``pid`` ignores SIGINT (its SigIgn mask in /proc)."""
    import signal

    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGINT - 1) & 1)
    return False


def test_a_cost_is_shared_by_the_strategies_that_do_not_pay_it():
    """The decentralized efficiency-only firm pays the decentralized mode's cost and the
    hierarchical aligned firm does not: a sweep of that cost shares the aligned runs only."""
    from sim.sweep.design import build_design
    from sim.sweep.execute import shared_points

    spec = {
        **SMALL,
        "parameters": [
            {"name": "silo_cost", "path": "costs.coordination.decentralized", "values": [0.0, 1.0]}
        ],
    }
    sweep = sweep_from_dict(spec)
    shared = shared_points(sweep, build_design(sweep, root_seed=11))
    assert shared["efficiency_only"] == {0: (0,), 1: (1,)}
    assert shared["aligned"] == {0: (0, 1), 1: (0, 1)}


def test_alignment_pays_computes_1200_of_its_2160_runs():
    """Issue 22: the shipped `alignment_pays` sweep (108 points x 2 strategies x 10 seeds)
    computes every aligned run (1,080) but the efficiency-only firm's once per turbulence x
    interdependence (12 x 10 = 120): it reads neither the aligned alpha nor the hierarchy's
    cost (its own bill is the decentralized one), so 1,200 of 2,160 runs are computed."""
    from collections import Counter

    from sim.sweep.design import build_design
    from sim.sweep.execute import load_sweep, plan_groups

    sweep = load_sweep("alignment_pays")
    groups = list(plan_groups(sweep, build_design(sweep, root_seed=11), run_seeds(11, 10)))
    assert sum(len(g.members) for g in groups) == 2160
    assert Counter(g.compute.strategy for g in groups) == {"aligned": 1080, "efficiency_only": 120}
    # counted without run ids for a new sweep, with them once runs are done: the same count
    from sim.sweep.execute import count_computations, shared_points

    design, seeds = build_design(sweep, root_seed=11), run_seeds(11, 10)
    shared = shared_points(sweep, design)
    assert count_computations(sweep, design, seeds, set(), shared) == 1200
    done = {m.run_id for g in groups[:100] for m in g.members}
    assert count_computations(sweep, design, seeds, done, shared) == 1100


def test_points_are_planned_seed_by_seed_in_blocks_that_never_mix_engines():
    # issue 22: runs on one seed at points that build the same market share it in a task; a
    # block holds at most POINT_BLOCK points, and never points that differ in the horizon (or
    # departments, or population), whose runs need engines of their own
    from sim.sweep.design import build_design
    from sim.sweep.execute import POINT_BLOCK, plan_groups, point_blocks

    spec = {
        **SMALL,
        "parameters": [
            {
                "name": "alignment",
                "path": "strategies.aligned.alpha",
                "range": [0.1, 0.9],
                "num": 10,
            },
            {"name": "horizon", "path": "horizon", "values": [70, 80]},
        ],
    }
    sweep = sweep_from_dict(spec)
    design = build_design(sweep, root_seed=11)
    points = design.points.set_index("point")
    blocks = point_blocks(sweep, design)
    assert sorted(p for b in blocks for p in b) == list(points.index)  # every point, once
    assert all(len(b) <= POINT_BLOCK for b in blocks)
    assert all(points.loc[b, "horizon"].nunique() == 1 for b in blocks)
    assert [len(b) for b in blocks] == [10, 10]  # 16 would mix the horizons
    seeds = run_seeds(11, 3)
    order = [(g.compute.seed_index, g.compute.point) for g in plan_groups(sweep, design, seeds)]
    first = [(k, p) for k, p in order if p in blocks[0]]
    assert order[: len(first)] == first  # a block's runs, all of its seeds, come first
    assert [k for k, _ in first] == sorted(k for k, _ in first)  # seed by seed
    plain = sweep_from_dict(SMALL)  # no engine field swept: consecutive points, 16 at most
    assert point_blocks(plain, build_design(plain, root_seed=11)) == [[0, 1, 2, 3]]


def test_an_interrupt_between_a_batchs_write_and_its_count_is_counted_from_the_parts(
    tmp_path, monkeypatch
):
    """Ctrl-C can fall after a batch's runs part is written and before the driver counts it
    (CI saw the manifest say 5 runs of the 10 kept): the session's counts come from the parts.
    Negative control: the driver's own count, one batch short, is what the manifest would say."""
    from sim.sweep import store as store_module

    write = store_module.SweepStore.write_batch
    calls = []

    def write_then_interrupt(self, batch, **tables):
        write(self, batch, **tables)
        calls.append(len(tables["runs"]))
        if len(calls) == 2:
            raise KeyboardInterrupt  # written, not yet counted

    monkeypatch.setattr(store_module.SweepStore, "write_batch", write_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep_from_dict(SMALL), workers=1, out=tmp_path, batch_size=5, progress=False)
    session = load(tmp_path)["manifest"]["sessions"][0]
    kept = len(load(tmp_path)["runs"])
    assert session["status"] == "interrupted" and kept == sum(calls) > calls[0]
    assert session["ran"] == kept and session["failed"] == 0
    assert session["ran"] != calls[0]  # what the driver had counted: one batch short
