"""The one result writer (Parquet tables + manifest.json) and its reader."""

from __future__ import annotations

import functools
import hashlib
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
PACKAGE_DIR = Path(__file__).resolve().parent
#: The modules whose code decides a run's numbers (relative to the package).
MODEL_SOURCES: tuple[str, ...] = (
    "landscape.py",
    "market.py",
    "streams.py",
    "engine.py",
    "agents.py",
    "population.py",
    "metrics.py",
    "model.py",
    "experiment.py",
    "scenario/schema.py",
    "scenario/load.py",
)


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


@functools.cache
def model_fingerprint(package: Path = PACKAGE_DIR) -> str:
    """A short hash of the model's source code (`MODEL_SOURCES`): any change to the code that
    decides a run's numbers changes it, whether or not the version number was raised."""
    digest = hashlib.sha256()
    for name in MODEL_SOURCES:
        digest.update(name.encode() + b"\0" + (package / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_version() -> str:
    """The package version and the model's fingerprint, e.g. ``0.1.0+3f2a9c0d41b7e865``."""
    return f"{__version__}+{model_fingerprint()}"


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
        "model": model_version(),
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


def write_text(text: str, path: Path) -> None:
    """Write a text file (UTF-8) atomically."""
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_experiment(result: ExperimentResult, out: Path, **manifest_extra: Any) -> Path:
    """Write runs.parquet, periods.parquet (if recorded) and manifest.json into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    write_table(result.runs, out / "runs.parquet")
    if result.periods is not None:
        write_table(result.periods, out / "periods.parquet")
    write_json(build_manifest(result, **manifest_extra), out / "manifest.json")
    return out


def load(directory: str | Path, *, periods: bool = True) -> dict[str, Any]:
    """Read a results folder: runs and periods DataFrames (periods may be None), manifest.

    A sweep folder (`python -m sim sweep`) also gives ``failures`` (runs that raised and never
    succeeded since: error and traceback) and ``design`` (the design points); its runs are
    sorted by design point, strategy and seed. ``periods=False`` skips the per-period table.
    """
    directory = Path(directory)
    if (directory / "runs").is_dir():
        return _load_sweep(directory, periods=periods)
    periods_path = directory / "periods.parquet"
    return {
        "runs": pd.read_parquet(directory / "runs.parquet"),
        "periods": pd.read_parquet(periods_path) if periods and periods_path.exists() else None,
        "manifest": json.loads((directory / "manifest.json").read_text(encoding="utf-8")),
    }


def _read_parts(folder: Path) -> pd.DataFrame | None:
    """Every finished part of a sweep folder's table, as one DataFrame (None if none)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    if not parts:
        return None
    tables = [pq.read_table(p) for p in parts]
    return pa.concat_tables(tables, promote_options="permissive").to_pandas()


def _load_sweep(directory: Path, *, periods: bool) -> dict[str, Any]:
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    design_info = manifest["design"]
    design = pd.DataFrame(design_info["table"])
    strategies = list(manifest["strategies"])
    runs = _read_parts(directory / "runs")
    if runs is None:
        runs = pd.DataFrame(
            columns=["run_id", "point", "seed_index", *design_info["parameters"], "strategy"]
        )
    runs = runs.drop_duplicates("run_id", keep="first")
    runs["strategy"] = pd.Categorical(runs["strategy"], categories=strategies)
    runs = runs.sort_values(["point", "strategy", "seed_index"], kind="stable")
    runs = runs.reset_index(drop=True)
    period_table = _read_parts(directory / "periods") if periods else None
    if period_table is not None:
        period_table = period_table[period_table["run_id"].isin(runs["run_id"])]
        period_table = period_table.drop_duplicates(["run_id", "period"], keep="first")
        period_table["strategy"] = pd.Categorical(period_table["strategy"], categories=strategies)
        period_table = period_table.sort_values(
            ["point", "strategy", "seed_index", "period"], kind="stable"
        ).reset_index(drop=True)
    failures = _read_parts(directory / "failures")
    if failures is None:
        columns = ["run_id", "point", "strategy", "seed", "error", "traceback"]
        failures = pd.DataFrame(columns=columns)
    else:
        failures = failures.drop_duplicates("run_id", keep="last")
        failures = failures[~failures["run_id"].isin(runs["run_id"])].reset_index(drop=True)
    return {
        "runs": runs,
        "periods": period_table,
        "failures": failures,
        "design": design,
        "manifest": manifest,
    }
