"""A sweep's folder: manifest, Parquet parts, resume (also after the sweep process is killed),
no run missing and none twice; a folder holds one sweep; other tools read the parts."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.results import load
from sim.sweep import SweepError, run_sweep, sweep_from_dict
from sim.sweep.design import build_design, run_seeds
from sim.sweep.execute import plan_runs
from sim.sweep.store import SweepStore, run_id

ROOT = Path(__file__).resolve().parents[1]

SPEC = {
    "name": "store",
    "scenario": "bakery_gluten_free",
    "seeds": 2,
    "root_seed": 3,
    "overrides": {"horizon": 70},
    "parameters": [
        {"name": "alignment", "path": "strategies.aligned.alpha", "values": [0.2, 0.8]},
        {"name": "sensing_rate", "path": "strategies.aligned.sensing", "values": [0.1, 0.5]},
    ],
}
RUNS = 4 * 2 * 2


def planned_ids(spec: dict) -> list[str]:
    sweep = sweep_from_dict(spec)
    design = build_design(sweep, root_seed=spec["root_seed"])
    return [r.run_id for r in plan_runs(sweep, design, run_seeds(spec["root_seed"], spec["seeds"]))]


def test_the_manifest_records_what_reproduces_the_sweep(tmp_path):
    report = run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["kind"] == "sweep"
    assert manifest["sweep"]["name"] == "store"
    assert manifest["sweep"]["scenario_as_loaded"]["horizon"] == 70
    assert manifest["root_seed"] == 3 and manifest["root_seed_drawn"] is False
    assert manifest["seeds"] == run_seeds(3, 2)
    assert manifest["design"]["kind"] == "factorial"
    assert manifest["design"]["table"]["alignment"] == [0.2, 0.2, 0.8, 0.8]
    assert manifest["runs_planned"] == RUNS
    assert manifest["strategies"]["aligned"]["coordination"] == "hierarchical"
    packages = {k.lower() for k in manifest["environment"]["packages"]}
    assert {"mesa", "salib", "dask", "distributed", "pandas"} <= packages
    assert manifest["environment"]["python"].startswith("3.")
    assert manifest["environment"]["host"]
    assert {"commit", "dirty"} <= set(manifest["git"])
    (session,) = manifest["sessions"]
    assert session["status"] == "finished" and session["started"] and session["finished"]
    assert session["engine"] == "serial" and session["ran"] == RUNS
    assert report.complete
    # run ids: a hash of the point's scenario, strategy, seed and the model version
    runs = load(tmp_path)["runs"]
    assert sorted(runs["run_id"]) == sorted(planned_ids(SPEC))
    assert run_id("p", "aligned", 1) != run_id("p", "aligned", 1, model="0.0.0")


def test_running_again_skips_what_is_done_and_more_seeds_add_only_the_new(tmp_path):
    run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    again = run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    assert again.completed_before == RUNS and again.ran == 0
    more = run_sweep(sweep_from_dict({**SPEC, "seeds": 3}), workers=1, out=tmp_path, progress=False)
    assert more.completed_before == RUNS and more.ran == RUNS // 2
    runs = load(tmp_path)["runs"]
    assert runs["run_id"].is_unique and len(runs) == RUNS * 3 // 2
    assert sorted(runs["run_id"]) == sorted(planned_ids({**SPEC, "seeds": 3}))
    sessions = load(tmp_path)["manifest"]["sessions"]
    assert [s["ran"] for s in sessions] == [RUNS, 0, RUNS // 2]


def test_a_folder_holds_one_sweep(tmp_path):
    run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    other = {**SPEC, "parameters": [{**SPEC["parameters"][0], "values": [0.2, 0.9]}]}
    with pytest.raises(SweepError) as info:
        run_sweep(sweep_from_dict(other), workers=1, out=tmp_path, progress=False)
    assert info.value.source.endswith("manifest.json")
    assert "this folder holds another sweep ('parameters' is not the same)" in info.value.message
    with pytest.raises(SweepError, match="root seed differs"):
        run_sweep(sweep_from_dict({**SPEC, "root_seed": 4}), workers=1, out=tmp_path)
    with pytest.raises(SweepError, match="'overrides' is not the same"):
        run_sweep(sweep_from_dict({**SPEC, "overrides": {"horizon": 80}}), workers=1, out=tmp_path)
    assert len(load(tmp_path)["runs"]) == RUNS  # nothing lost, nothing added


def test_results_of_a_changed_model_are_not_mixed_in(tmp_path, monkeypatch):
    import sim.sweep.store as store

    run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    # the same version number, other model code (its fingerprint differs)
    monkeypatch.setattr(store, "model_version", lambda: "0.1.0+0123456789abcdef")
    with pytest.raises(SweepError, match="the model changed"):
        run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    assert len(load(tmp_path)["runs"]) == RUNS


def test_a_changed_base_scenario_is_not_mixed_in(tmp_path):
    shop = tmp_path / "shop.toml"
    text = (ROOT / "scenarios" / "bakery_gluten_free.toml").read_text(encoding="utf-8")
    shop.write_text(text, encoding="utf-8")
    spec = {**SPEC, "scenario": str(shop)}
    run_sweep(sweep_from_dict(spec), workers=1, out=tmp_path / "out", progress=False)
    shop.write_text(text.replace("money_scale = 60.0", "money_scale = 70.0"), encoding="utf-8")
    with pytest.raises(SweepError, match="the base scenario changed; give another output folder"):
        run_sweep(sweep_from_dict(spec), workers=1, out=tmp_path / "out", progress=False)


def test_a_drawn_root_seed_is_recorded_and_reused(tmp_path):
    spec = {k: v for k, v in SPEC.items() if k != "root_seed"}
    first = run_sweep(sweep_from_dict(spec), workers=1, out=tmp_path, progress=False)
    assert first.root_seed_drawn and f"root_seed = {first.root_seed}" in str(first)
    again = run_sweep(sweep_from_dict(spec), workers=1, out=tmp_path, progress=False)
    assert again.root_seed == first.root_seed and again.ran == 0


def test_what_a_crash_leaves_is_cleaned_when_the_sweep_resumes(tmp_path):
    run_sweep(sweep_from_dict({**SPEC, "outputs": {"periods": True}}), workers=1, out=tmp_path)
    store = SweepStore(tmp_path)
    runs_parts = store.parts("runs")
    # a crash between a batch's periods part and its runs part, and one in the middle of a write
    runs_parts[-1].unlink()
    (tmp_path / "runs" / ".part-000-000009.parquet.x1.tmp").write_bytes(b"half a file")
    data = load(tmp_path)
    assert set(data["periods"]["run_id"]) == set(data["runs"]["run_id"])  # orphans not read
    report = run_sweep(
        sweep_from_dict({**SPEC, "outputs": {"periods": True}}), workers=1, out=tmp_path
    )
    assert report.ran > 0 and report.complete
    assert not list((tmp_path / "runs").glob(".*tmp"))
    data = load(tmp_path)
    assert data["runs"]["run_id"].is_unique and len(data["runs"]) == RUNS
    periods = data["periods"]
    assert not periods.duplicated(["run_id", "period"]).any()
    assert len(periods) == RUNS * 71
    on_disk = pd.concat(pd.read_parquet(p) for p in store.parts("periods"))
    assert len(on_disk) == RUNS * 71  # the orphaned part was removed, not just skipped


def test_resume_after_the_sweep_process_is_killed(tmp_path):
    spec = {**SPEC, "seeds": 20}
    total = 4 * 2 * 20
    path = tmp_path / "kill.toml"
    path.write_text(
        textwrap.dedent(
            """
            name = "kill"
            scenario = "bakery_gluten_free"
            seeds = 20
            root_seed = 3
            [overrides]
            horizon = 70
            [[parameters]]
            name = "alignment"
            path = "strategies.aligned.alpha"
            values = [0.2, 0.8]
            [[parameters]]
            name = "sensing_rate"
            path = "strategies.aligned.sensing"
            values = [0.1, 0.5]
            """
        ),
        encoding="utf-8",
    )
    out = tmp_path / "out"
    command = [sys.executable, "-m", "sim", "sweep", str(path), "--workers", "2"]
    command += ["--out", str(out), "--batch-size", "4", "--quiet"]
    proc = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            if len(list((out / "runs").glob("part-*.parquet"))) >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the sweep finished before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, as a crash would
    finally:
        proc.wait(timeout=30)
    done = len(load(out)["runs"])
    assert 0 < done < total
    manifest = load(out)["manifest"]
    assert manifest["sessions"][0]["status"] == "running"  # it never got to say it finished

    again = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    runs = load(out)["runs"]
    assert runs["run_id"].is_unique
    assert sorted(runs["run_id"]) == sorted(planned_ids(spec))  # no run missing, none twice
    sessions = load(out)["manifest"]["sessions"]
    assert sessions[1]["completed_before"] == done and sessions[1]["ran"] == total - done
    assert sessions[0]["status"].startswith("ended without closing")  # marked when resumed

    reference = tmp_path / "reference"
    run_sweep(sweep_from_dict(spec), workers=1, out=reference, progress=False)
    pd.testing.assert_frame_equal(runs, load(reference)["runs"], check_exact=True)


def test_the_parts_read_directly_in_polars_and_duckdb(tmp_path):
    run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False, batch_size=3)
    # 10 computations (8 aligned; efficiency-only once per seed: SPEC sweeps only the aligned
    # strategy), 3 per part
    assert len(list((tmp_path / "runs").glob("part-*.parquet"))) == 4
    pl = pytest.importorskip("polars")
    frame = pl.read_parquet(str(tmp_path / "runs" / "*.parquet"))
    assert frame.height == RUNS and frame["run_id"].n_unique() == RUNS
    duckdb = pytest.importorskip("duckdb")
    query = f"select strategy, count(*) from read_parquet('{tmp_path}/runs/*.parquet') group by 1"
    counts = dict(duckdb.sql(query).fetchall())
    assert counts == {"efficiency_only": RUNS // 2, "aligned": RUNS // 2}


def test_a_folder_with_parts_but_no_manifest_is_refused(tmp_path):
    (tmp_path / "runs").mkdir()
    with pytest.raises(SweepError, match=r"holds sweep parts but no manifest\.json"):
        run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)


def test_a_repeated_design_point_gets_runs_of_its_own(tmp_path):
    spec = {
        **SPEC,
        "design": {"kind": "morris", "samples": 3, "levels": 4},
        "parameters": [
            {"name": "alignment", "path": "strategies.aligned.alpha", "range": [0.0, 1.0]},
            {"name": "sensing_rate", "path": "strategies.aligned.sensing", "range": [0.0, 1.0]},
        ],
    }
    sweep = sweep_from_dict(spec)
    design = build_design(sweep, root_seed=3).points.drop(columns="point")
    assert design.duplicated().any()  # Morris trajectories share points here
    report = run_sweep(sweep, workers=1, out=tmp_path, progress=False)
    runs = load(tmp_path)["runs"]
    assert report.complete and len(runs) == report.planned == 9 * 2 * 2
    assert runs["run_id"].is_unique
    assert runs.groupby("point").size().eq(4).all()


HOLD_THE_FOLDER = """
import sys, time
from sim.sweep.store import SweepStore
with SweepStore(sys.argv[1]).lock():
    print("holding", flush=True)
    time.sleep(120)
"""


def test_one_session_writes_to_a_folder_at_a_time(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THE_FOLDER, str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        with pytest.raises(SweepError, match=f"another sweep session .*pid {holder.pid} on"):
            run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
        assert not (tmp_path / "manifest.json").exists()  # the refused session wrote nothing
    finally:
        holder.kill()  # however a session ends, the system releases its lock
        holder.wait()
    report = run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    assert report.ran == RUNS


def test_a_session_that_writes_nothing_leaves_no_folder(tmp_path):
    out = tmp_path / "new"
    with SweepStore(out).lock():
        assert (out / ".lock").is_file()
    assert not out.exists()


def test_a_killed_session_is_marked_ended_when_the_folder_is_next_opened(tmp_path):
    run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    manifest["sessions"][0]["status"] = "running"  # as a session killed with kill -9 leaves it
    (tmp_path / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    sessions = load(tmp_path)["manifest"]["sessions"]
    assert sessions[0]["status"].startswith("ended without closing") and sessions[0]["noticed"]
    assert sessions[1]["status"] == "finished"


@pytest.mark.parametrize("damage", ["truncated", "foreign"])
def test_a_broken_part_is_named_and_repair_computes_its_runs_again(tmp_path, damage):
    run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False, batch_size=3)
    reference = load(tmp_path)["runs"]
    part = sorted((tmp_path / "runs").glob("part-*.parquet"))[1]
    lost = len(pd.read_parquet(part))  # its runs (3 computations: more runs where shared)
    if damage == "truncated":
        part.write_bytes(part.read_bytes()[:100])
    else:  # a valid Parquet file, but not one of this sweep's parts
        pd.DataFrame({"x": [1, 2]}).to_parquet(part)
    with pytest.raises(SweepError, match=f"{part.name}: not a readable part of this sweep"):
        run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    report = run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False, repair=True)
    assert report.set_aside == 1 and report.ran == lost and report.complete
    assert (tmp_path / "broken" / "runs" / part.name).is_file()
    pd.testing.assert_frame_equal(load(tmp_path)["runs"], reference, check_exact=True)


def test_a_broken_manifest_stops_the_sweep_with_its_remedy(tmp_path):
    run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    (tmp_path / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(SweepError, match=r"manifest\.json: not a readable manifest"):
        run_sweep(sweep_from_dict(SPEC), workers=1, out=tmp_path, progress=False)
    assert not (tmp_path / ".lock").exists()


def test_a_refused_sweep_leaves_no_lock_behind(tmp_path):
    out = tmp_path / "out"
    run_sweep(sweep_from_dict(SPEC), workers=1, out=out, progress=False)
    other = {**SPEC, "seeds": 2, "root_seed": 4}
    with pytest.raises(SweepError, match="root seed differs"):
        run_sweep(sweep_from_dict(other), workers=1, out=out, progress=False)
    assert not (out / ".lock").exists()


# ---- issue 20: a full disk or a folder made read-only mid-sweep: one message, a consistent folder


def _failing_writes(monkeypatch, code: int, after: int) -> dict:
    """Writing a runs part fails once ``after`` of them were written, as the system fails it:
    ENOSPC (a full disk) while the table is written, EACCES (runs/ made read-only; root may
    write anywhere, so it is simulated) when the temporary file is created. The counts."""
    import tempfile

    import sim.results

    seen = {"runs": 0, "refused": 0}

    def refuse(folder: Path) -> bool:
        if folder.name != "runs":
            return False
        if seen["runs"] >= after:
            seen["refused"] += 1
            return True
        seen["runs"] += 1
        return False

    if code == errno.EACCES:
        real_mkstemp = tempfile.mkstemp

        def mkstemp(*args, dir=None, **kwargs):
            if dir is not None and refuse(Path(dir)):
                raise PermissionError(code, os.strerror(code), str(dir))
            return real_mkstemp(*args, dir=dir, **kwargs)

        monkeypatch.setattr(sim.results.tempfile, "mkstemp", mkstemp)
    else:
        real_to_parquet = pd.DataFrame.to_parquet

        def to_parquet(frame, path, *args, **kwargs):
            if refuse(Path(path).parent):
                Path(path).write_bytes(b"PAR1 half a part")  # what a full disk leaves
                raise OSError(code, os.strerror(code))
            return real_to_parquet(frame, path, *args, **kwargs)

        monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)
    return seen


@pytest.mark.parametrize(
    ("code", "fix"),
    [
        (errno.ENOSPC, "free some space (or give another output folder)"),
        (errno.EACCES, "make the folder writable (or give another output folder)"),
    ],
    ids=["disk-full", "read-only"],
)
def test_a_part_that_cannot_be_written_stops_the_sweep_in_one_line_keeping_the_runs(
    tmp_path, monkeypatch, capsys, code, fix
):
    from sim.cli import main

    spec = tmp_path / "store.toml"
    spec.write_text(_spec_toml(SPEC), encoding="utf-8")
    out = tmp_path / "out"
    seen = _failing_writes(monkeypatch, code, after=2)
    command = ["sweep", str(spec), "--workers", "1", "--batch-size", "3", "--out", str(out)]
    assert main([*command, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err  # one line, no traceback
    assert err.startswith(f"error: {out / 'runs'}/part-000-000002.parquet: cannot write: ")
    assert os.strerror(code) in err and fix in err
    assert "run the same command again to resume" in err
    # the folder: the two batches written before, the session closed, nothing half-written
    session = load(out)["manifest"]["sessions"][0]
    assert session["status"].startswith("stopped: cannot write") and session["finished"]
    kept = len(load(out)["runs"])
    assert session["ran"] == kept and 0 < kept < RUNS and seen["refused"] == 1
    assert len(list((out / "periods").glob("*.parquet"))) == 0  # (the sweep keeps no periods)
    leftovers = [p.name for p in out.rglob(".*")]
    assert leftovers == [], leftovers  # no temporary, no reserve, no lock
    # once the cause is gone, the same command finishes the sweep
    monkeypatch.undo()
    assert main([*command, "--quiet"]) == 0
    runs = load(out)["runs"]
    assert len(runs) == RUNS and runs["run_id"].is_unique
    assert load(out)["manifest"]["sessions"][1]["completed_before"] == kept


def test_a_batch_whose_runs_part_fails_leaves_none_of_its_parts(tmp_path, monkeypatch):
    periods = {**SPEC, "outputs": {"periods": True}}
    _failing_writes(monkeypatch, errno.ENOSPC, after=1)
    from sim.results import WriteError

    with pytest.raises(WriteError, match=r"part-000-000001\.parquet: cannot write: No space"):
        run_sweep(sweep_from_dict(periods), workers=1, out=tmp_path, progress=False, batch_size=4)
    assert [p.name for p in (tmp_path / "periods").glob("*.parquet")] == [
        "part-000-000000.parquet"  # the failed batch's periods part is gone with it
    ]
    assert set(load(tmp_path)["periods"]["run_id"]) == set(load(tmp_path)["runs"]["run_id"])


def test_the_session_is_closed_on_a_full_disk_with_the_space_it_kept(tmp_path, monkeypatch):
    import sim.sweep.store as store_module
    from sim.results import WriteError

    sweep = sweep_from_dict(SPEC)
    store = SweepStore(tmp_path)
    design = build_design(sweep, root_seed=3)
    with store.lock():
        manifest = store.prepare(
            sweep, design, root_seed=3, root_seed_drawn=False, seeds=run_seeds(3, 2)
        )
        store.open(manifest, periods=False, engine={"engine": "serial", "workers": 1})
        reserve = tmp_path / ".reserve"
        assert reserve.stat().st_size > (tmp_path / "manifest.json").stat().st_size
        real = store_module.write_json
        calls = []

        def full_disk_until_the_reserve_is_freed(data, path):
            calls.append(reserve.exists())
            if reserve.exists():
                raise WriteError(str(path), "No space left on device")
            real(data, path)

        monkeypatch.setattr(store_module, "write_json", full_disk_until_the_reserve_is_freed)
        store.finish("stopped: the disk is full", ran=0)
    assert calls == [True, False]
    assert not reserve.exists()
    assert load(tmp_path)["manifest"]["sessions"][0]["status"] == "stopped: the disk is full"


def _spec_toml(spec: dict) -> str:
    """The sweep file of ``spec`` (the test sweeps' TOML)."""
    from tests.test_sweep_execute import _toml

    return _toml(spec)
