"""The result writer and reader."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from sim.experiment import run_experiment
from sim.results import load, write_experiment
from sim.scenario import load_scenario


def test_round_trip(tmp_path):
    sc = load_scenario("bakery_gluten_free", {"horizon": 70})
    result = run_experiment(sc, seeds=2)
    write_experiment(result, tmp_path)
    back = load(tmp_path)
    pd.testing.assert_frame_equal(back["runs"], result.runs)
    pd.testing.assert_frame_equal(back["periods"], result.periods)
    assert back["manifest"]["scenario"]["horizon"] == 70
    assert not list(tmp_path.glob(".*tmp"))  # no temporary files left behind


def test_the_model_fingerprint_changes_with_the_model_code_only(tmp_path):
    import shutil

    from sim.results import MODEL_SOURCES, PACKAGE_DIR, environment, model_fingerprint

    for name in MODEL_SOURCES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(PACKAGE_DIR / name, tmp_path / name)
    assert model_fingerprint(tmp_path) == model_fingerprint(PACKAGE_DIR)
    (tmp_path / "cli.py").write_text("# not model code\n")
    assert model_fingerprint.__wrapped__(tmp_path) == model_fingerprint(PACKAGE_DIR)
    market = tmp_path / "market.py"
    market.write_text(market.read_text() + "\nRHO_DEFAULT = 0.5\n")
    assert model_fingerprint.__wrapped__(tmp_path) != model_fingerprint(PACKAGE_DIR)
    assert environment()["model"].endswith("+" + model_fingerprint())


def test_the_environment_lists_every_distribution_as_importlib_parses_it():
    # issue 22: `environment` reads the Name and Version headers only (a fixed cost of every
    # sweep); the same names and versions as importlib.metadata's full parse of each file
    from importlib import metadata

    from sim.results import environment

    parsed = {d.metadata["Name"]: d.version for d in metadata.distributions() if d.metadata["Name"]}
    packages = environment()["packages"]
    assert packages == parsed and "numpy" in {name.lower() for name in packages}
    assert list(packages) == sorted(packages, key=str.lower)


# ---- issue 12: output folders checked before any work, one lock per folder


def test_an_output_folder_is_checked_before_the_session_starts(tmp_path):
    from sim.results import FolderError, output_folder

    afile = tmp_path / "file"
    afile.write_text("keep me", encoding="utf-8")
    for out, message in [
        (afile, "exists and is not a folder"),
        (afile / "sub", "is a file, not a folder"),
        (Path("/proc/smb-sim-test"), "cannot be created"),
    ]:
        with pytest.raises(FolderError, match=message), output_folder(out, kind="run"):
            pytest.fail("the session started")
    assert afile.read_text(encoding="utf-8") == "keep me"


def test_a_folder_holds_one_kind_of_result(tmp_path):
    from sim.results import FolderError, folder_kind, output_folder

    sc = load_scenario("bakery_gluten_free", {"horizon": 20, "market.shifts.0.at": 10})
    write_experiment(run_experiment(sc, seeds=1), tmp_path)
    assert folder_kind(tmp_path) == "run"
    before = sorted(p.name for p in tmp_path.iterdir())
    for kind in ("sweep", "validation", "figures"):
        refused = pytest.raises(FolderError, match=f"holds a run result; a {kind} result goes")
        with refused, output_folder(tmp_path, kind=kind):
            pytest.fail("the session started")
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no lock left behind
    with output_folder(tmp_path, kind="run"):  # the same kind: replaced
        assert (tmp_path / ".lock").is_file()
    assert not (tmp_path / ".lock").exists()


def test_the_lock_never_follows_a_link_nor_truncates_another_file(tmp_path):
    from sim.results import FolderError, output_folder

    target = tmp_path / "precious.txt"
    target.write_text("precious", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    (out / ".lock").symlink_to(target)
    with pytest.raises(FolderError, match="is a symbolic link"), output_folder(out, kind="run"):
        pytest.fail("the session started")
    (out / ".lock").unlink()
    os.link(target, out / ".lock")  # a hard link: another file's content
    refused = pytest.raises(FolderError, match="not a plain file of its own")
    with refused, output_folder(out, kind="run"):
        pytest.fail("the session started")
    assert target.read_text(encoding="utf-8") == "precious"


def test_a_broken_manifest_or_part_is_named_with_its_remedy(tmp_path):
    from sim.results import FolderError

    sc = load_scenario("bakery_gluten_free", {"horizon": 20, "market.shifts.0.at": 10})
    write_experiment(run_experiment(sc, seeds=1), tmp_path)
    runs = tmp_path / "runs.parquet"
    runs.write_bytes(runs.read_bytes()[:50])
    with pytest.raises(FolderError, match=r"runs\.parquet: not a readable Parquet table"):
        load(tmp_path)
    (tmp_path / "manifest.json").write_text('{"kind": "ru', encoding="utf-8")
    with pytest.raises(FolderError, match=r"manifest\.json: not a readable manifest .*restore"):
        load(tmp_path)


# ---- issue 20: a full disk, a killed run: one message, no half-written run, no stale temporary


def _full_disk(monkeypatch, name: str) -> None:
    """Writing the table ``name`` fails as on a full disk: part of it written, then ENOSPC."""
    import errno

    real = pd.DataFrame.to_parquet

    def to_parquet(frame, path, *args, **kwargs):
        if Path(path).name.startswith(f".{name}."):
            Path(path).write_bytes(b"PAR1 half a table")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(frame, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", to_parquet)


def test_a_run_is_written_in_full_or_not_at_all(tmp_path, monkeypatch):
    from sim.results import WriteError

    sc = load_scenario("bakery_gluten_free", {"horizon": 70})
    before = run_experiment(sc, seeds=1)
    write_experiment(before, tmp_path)
    kept = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    _full_disk(monkeypatch, "periods.parquet")
    with pytest.raises(WriteError, match=r"periods\.parquet: cannot write: No space left on dev"):
        write_experiment(run_experiment(sc, seeds=2), tmp_path)
    # the run before is there as it was: not the new runs.parquet beside the old manifest
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == kept
    assert len(load(tmp_path)["runs"]) == len(before.runs)


def test_run_on_a_full_disk_is_one_line_exit_2_and_writes_nothing(tmp_path, monkeypatch, capsys):
    from sim.cli import main

    _full_disk(monkeypatch, "periods.parquet")
    out = tmp_path / "out"
    assert main(["run", "bakery_gluten_free", "--seeds", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0, err
    assert err == (
        f"error: {out}/periods.parquet: cannot write: No space left on device; free some "
        "space (or give another output folder), then run again"
    )
    assert not out.exists()  # no runs.parquet without its manifest, no temporary, no lock


def test_a_run_whose_figures_do_not_fit_says_its_tables_are_written(tmp_path, monkeypatch, capsys):
    import errno

    import matplotlib.figure

    from sim.cli import main

    def savefig(self, path, *args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    out = tmp_path / "out"
    assert main(["run", "bakery_gluten_free", "--seeds", "2", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "kpi.png: cannot write: No space left on device" in err
    assert "tables and manifest are written in full" in err
    names = {p.name for p in out.iterdir()}
    assert {"manifest.json", "periods.parquet", "runs.parquet"} <= names
    assert not [n for n in names if n.endswith(".png") or n.startswith(".")]  # no half figure
    assert len(load(out)["runs"]) == 4


def test_temporaries_a_killed_session_left_are_removed_when_the_folder_is_next_opened(tmp_path):
    from sim.results import output_folder

    sc = load_scenario("bakery_gluten_free", {"horizon": 70})
    write_experiment(run_experiment(sc, seeds=1), tmp_path)
    stale = [tmp_path / ".runs.parquet.k3x_9q2a.tmp", tmp_path / "sub" / ".part-1.parquet.ab.tmp"]
    stale[1].parent.mkdir()
    for path in stale:
        path.write_bytes(b"half a table")  # as kill -9 in the middle of a write leaves it
    mine = [tmp_path / "notes.tmp", tmp_path / ".draft.txt.1.tmp"]  # not ours: kept
    for path in mine:
        path.write_text("keep", encoding="utf-8")
    with output_folder(tmp_path, kind="run"):
        assert not any(path.exists() for path in stale)
    assert all(path.exists() for path in mine) and len(load(tmp_path)["runs"]) == 2


@pytest.mark.skipif(not hasattr(__import__("signal"), "SIGHUP"), reason="no SIGHUP here")
@pytest.mark.parametrize("name", ["SIGHUP", "SIGTERM"])
def test_a_run_stopped_by_a_signal_while_writing_leaves_nothing(tmp_path, name):
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    command = [sys.executable, "-m", "sim", "run", "bakery_gluten_free", "--seeds", "400"]
    proc = subprocess.Popen(
        [*command, "--out", str(out), "--quiet", "--no-figures"],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and proc.poll() is None and not list(out.glob(".*.tmp")):
        time.sleep(0.002)
    assert proc.poll() is None, "the run finished before it was stopped"
    proc.send_signal(getattr(signal, name))  # (the terminal closed: SIGHUP)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + getattr(signal, name), err
    assert err.strip() == "terminated"
    # no temporary, no lock, no half-written run: nothing, or (when the signal came just after
    # the last file was put in place) the whole run, which is kept
    if out.exists():
        assert not list(out.glob(".*.tmp")) and not (out / ".lock").exists()
        assert (out / "manifest.json").exists() and len(load(out)["runs"]) == 2 * 400
