"""The one result writer (Parquet tables + manifest.json) and its reader."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sim import __version__
from sim.experiment import ExperimentResult
from sim.scenario import scenario_to_dict

REPO_ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = REPO_ROOT / "results"


def default_output_dir(scenario_name: str) -> Path:
    """`results/<scenario>/<timestamp>/`."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return RESULTS_DIR / scenario_name / stamp


def git_state() -> dict[str, Any]:
    """Commit and dirty flag of the checkout the package runs from (None outside git)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", "-C", str(REPO_ROOT), *args],
                capture_output=True,
                text=True,
                timeout=10,
                check=True,
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip()

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status) if status is not None else None}


def environment() -> dict[str, Any]:
    """Versions of Python and of every installed distribution, plus the host."""
    packages = {
        dist.metadata["Name"]: dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"]
    }
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": platform.node(),
        "smb_sim": __version__,
        "packages": dict(sorted(packages.items(), key=lambda kv: kv[0].lower())),
    }


def build_manifest(result: ExperimentResult, **extra: Any) -> dict[str, Any]:
    """What is needed to reproduce a run: the scenario as loaded, seeds, versions, git state."""
    return {
        "scenario": scenario_to_dict(result.scenario),
        "strategies": {
            name: result.scenario.all_strategies[name].model_dump(mode="json")
            for name in result.strategies
        },
        "seeds": list(result.seeds),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": environment(),
        "git": git_state(),
        **extra,
    }


def _atomic_write(path: Path, write) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as Parquet, atomically (a crash never leaves a broken file)."""
    _atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as CSV, atomically."""
    _atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write JSON atomically."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
            fh.write("\n")

    _atomic_write(path, write)


def write_experiment(result: ExperimentResult, out: Path, **manifest_extra: Any) -> Path:
    """Write runs.parquet, periods.parquet (if recorded) and manifest.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_table(result.runs, out / "runs.parquet")
    if result.periods is not None:
        write_table(result.periods, out / "periods.parquet")
    write_json(build_manifest(result, **manifest_extra), out / "manifest.json")
    return out


def load(directory: str | Path) -> dict[str, Any]:
    """Read a results folder: runs and periods DataFrames (periods may be None), manifest."""
    directory = Path(directory)
    periods_path = directory / "periods.parquet"
    return {
        "runs": pd.read_parquet(directory / "runs.parquet"),
        "periods": pd.read_parquet(periods_path) if periods_path.exists() else None,
        "manifest": json.loads((directory / "manifest.json").read_text(encoding="utf-8")),
    }
