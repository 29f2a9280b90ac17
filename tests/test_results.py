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
