"""A sweep's folder: manifest, Parquet parts written as batches finish, resume and failures.

    OUT/manifest.json       the sweep as loaded, root seed, seeds, design, versions, git, sessions
    OUT/runs/part-*.parquet one row per finished run (the parts commit the runs they hold)
    OUT/periods/part-*.parquet  one row per run per period (when the sweep keeps them)
    OUT/failures/part-*.parquet runs that raised: their error and traceback
    OUT/.lock               held by the session writing to the folder (one at a time)
    OUT/.reserve            disk space kept while a session runs, so that it can be closed in
                            the manifest when the disk fills up
    OUT/broken/             parts that could not be read, set aside by `--repair`

Every part is written atomically with `sim.results.write_table`, so a crash never leaves a
broken file. A batch's failures and periods are written before its runs part, and a periods part
without its runs part (a crash in between) is removed when the sweep resumes. A run is
identified by a hash of its scenario (base file and overrides), strategy, seed and the model
(version and code fingerprint); a run whose id is in a runs part is never run again. One session
writes to a folder at a time (`SweepStore.lock`, `sim.results.output_folder`): a second one
stops with an error naming the first. A session that ended without closing (killed) is marked so
in the manifest when the folder is next opened. A part that cannot be read (truncated, or not
this package's) stops a session with an error naming it; `--repair` sets such parts aside in
OUT/broken/ and their runs are computed again. A part that cannot be written (a full disk, a
folder made read-only) stops the session, closed in the manifest as such (the space of
OUT/.reserve is given back to write it), with the runs finished before kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from sim.results import (
    MANIFEST,
    FolderError,
    environment,
    git_state,
    model_version,
    output_folder,
    read_manifest,
    write_json,
    write_table,
)
from sim.sweep.design import Design
from sim.sweep.spec import Sweep, SweepError, spec_to_dict

RUNS, PERIODS, FAILURES = "runs", "periods", "failures"
BROKEN = "broken"
RESERVE = ".reserve"
#: Disk space kept in OUT/.reserve beyond the manifest's own size (bytes).
RESERVE_MARGIN = 64 * 1024
#: Fields of the sweep file that may change between sessions of one folder (more seeds).
MAY_CHANGE = ("seeds", "root_seed")  # (the root seed in use is compared on its own)


def point_key(scenario_digest: str, overrides: dict[str, Any]) -> str:
    """Hash of one design point's scenario: the base file as read plus every override."""
    text = json.dumps({"scenario": scenario_digest, "overrides": overrides}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def run_id(point: str, strategy: str, seed: int, model: str | None = None) -> str:
    """The id of one run: hash of its point's scenario, strategy, seed and the model version
    (`sim.results.model_version`: the package version and the model code's fingerprint)."""
    text = f"{point}|{strategy}|{seed}|{model or model_version()}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class SweepStore:
    """The output folder of one sweep (possibly over several sessions)."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.session = 0

    def __repr__(self) -> str:
        return f"SweepStore({str(self.out)!r}, session {self.session})"

    @property
    def manifest_path(self) -> Path:
        return self.out / MANIFEST

    def read_manifest(self) -> dict[str, Any] | None:
        """The manifest, or None if the folder holds no sweep yet."""
        return read_manifest(self.out, SweepError)

    def prepare(
        self,
        sweep: Sweep,
        design: Design,
        *,
        root_seed: int,
        root_seed_drawn: bool,
        seeds: list[int],
    ) -> dict[str, Any]:
        """The manifest of a new session, after checking that the folder holds no other sweep
        (a `SweepError` if it does). Nothing is written yet."""
        previous = self.read_manifest()
        if previous is None and (self.out / RUNS).exists():
            raise SweepError(str(self.out), "", "holds sweep parts but no manifest.json")
        now = datetime.now(UTC).isoformat(timespec="seconds")
        manifest: dict[str, Any] = {
            "kind": "sweep",
            "sweep": spec_to_dict(sweep),
            "source": sweep.source,
            "root_seed": root_seed,
            "root_seed_drawn": root_seed_drawn,
            "seeds": seeds,
            "strategies": {
                name: sweep.base.all_strategies[name].model_dump(mode="json")
                for name in sweep.strategies
            },
            "scenario_digest": sweep.scenario_digest,
            "model_version": model_version(),
            "design": design.to_dict(),
            "runs_planned": len(design) * len(sweep.strategies) * len(seeds),
            "created": now,
            "environment": environment(),
            "git": git_state(),
            "sessions": [],
        }
        if previous is not None:
            _check_same_sweep(self.manifest_path, previous, manifest)
            manifest["created"] = previous.get("created", now)
            manifest["sessions"] = list(previous.get("sessions", []))
            for session in manifest["sessions"]:
                # this session holds the lock: one still "running" ended without closing
                if session.get("status") == "running":
                    session.update(status="ended without closing (killed?)", noticed=now)
        return manifest

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """Hold the folder for this session (`sim.results.output_folder`): a `SweepError` if
        another session is writing to it or it holds another kind of result. A folder made here
        and left with nothing in it is removed again."""
        with output_folder(self.out, kind="sweep", error=SweepError):
            (self.out / RESERVE).unlink(missing_ok=True)  # left by a killed session
            yield

    def broken_parts(self) -> list[Path]:
        """Parts that cannot be read (truncated) or are not this package's (no run ids)."""
        broken = []
        for kind in (RUNS, PERIODS, FAILURES):
            for part in self.parts(kind):
                try:
                    names = pq.read_schema(part).names
                except (OSError, ValueError):  # pyarrow's ArrowInvalid is a ValueError
                    names = []
                if "run_id" not in names:
                    broken.append(part)
        return broken

    def repair(self) -> list[Path]:
        """Set the broken parts aside in OUT/broken/, with the other parts of their batch, so
        that their runs are computed again; the parts set aside, where they are now."""
        names = {p.name for p in self.broken_parts()}
        moved = []
        for kind in (RUNS, PERIODS, FAILURES):
            for part in self.parts(kind):
                if part.name in names:
                    target = self.out / BROKEN / kind / part.name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(part, target)
                    moved.append(target)
        return moved

    def open(self, manifest: dict[str, Any], *, periods: bool, engine: dict[str, Any]) -> None:
        """Start the session: clean what a crash left and write the manifest with a new
        session entry (``engine``: its name and workers)."""
        self.session = len(manifest["sessions"])
        manifest["sessions"].append(
            {
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "finished": None,
                "status": "running",
                "host": platform.node(),
                "pid": os.getpid(),
                "git": manifest["git"],
                **engine,
            }
        )
        for sub in (RUNS, FAILURES) + ((PERIODS,) if periods else ()):
            (self.out / sub).mkdir(parents=True, exist_ok=True)
        self._clean()
        write_json(manifest, self.manifest_path)
        self._reserve()

    def _reserve(self) -> None:
        """Keep room on the disk for one more manifest (written when the session closes)."""
        size = self.manifest_path.stat().st_size + RESERVE_MARGIN
        try:
            with open(self.out / RESERVE, "wb") as fh:
                fh.write(bytes(size))  # written, not sparse: the blocks are taken
        except OSError:  # no room even for that: the session stops at its first part
            (self.out / RESERVE).unlink(missing_ok=True)

    def finish(self, status: str, **counts: Any) -> None:
        """Close the session in the manifest: end time, status and counts. On a full disk the
        space kept in OUT/.reserve is given back first."""
        reserve = self.out / RESERVE
        try:
            manifest = self.read_manifest()
            if manifest is None:
                return
            session = manifest["sessions"][self.session]
            session.update(
                finished=datetime.now(UTC).isoformat(timespec="seconds"), status=status, **counts
            )
            try:
                write_json(manifest, self.manifest_path)
            except FolderError:
                if not reserve.exists():
                    raise
                reserve.unlink()
                write_json(manifest, self.manifest_path)
        finally:
            reserve.unlink(missing_ok=True)

    def completed(self) -> set[str]:
        """Ids of the runs already in runs parts (read one column at a time)."""
        done: set[str] = set()
        for path in self.parts(RUNS):
            done.update(pq.read_table(path, columns=["run_id"]).column(0).to_pylist())
        return done

    def parts(self, kind: str) -> list[Path]:
        """The finished parts of one kind, in the order they were written."""
        folder = self.out / kind
        return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []

    def session_counts(self) -> dict[str, int]:
        """What this session has on disk: runs committed plus failures (``ran``) and failures
        (``failed``), read from the parts' footers. An interrupt can fall between a batch's
        write and its count in the driver; the parts are what a resume will find."""
        prefix = f"part-{self.session:03d}-"

        def rows(kind: str) -> int:
            return sum(
                pq.read_metadata(p).num_rows for p in self.parts(kind) if p.name.startswith(prefix)
            )

        failed = rows(FAILURES)
        return {"ran": rows(RUNS) + failed, "failed": failed}

    def write_batch(
        self,
        batch: int,
        *,
        runs: pd.DataFrame | None,
        periods: pd.DataFrame | None,
        failures: pd.DataFrame | None,
    ) -> None:
        """Write one finished batch: failures and periods first, then the runs part, which
        commits them (a run counts as done only once its runs part exists)."""
        name = f"part-{self.session:03d}-{batch:06d}.parquet"
        written = []
        try:
            for kind, table in ((FAILURES, failures), (PERIODS, periods), (RUNS, runs)):
                if table is not None and len(table):
                    write_table(table, self.out / kind / name)
                    written.append(self.out / kind / name)
        except BaseException:  # (a full disk) the batch's runs are not committed: none of it
            for path in written:
                if path.parent.name != FAILURES:  # a failure is kept: it is not a result
                    path.unlink(missing_ok=True)
            raise

    def _clean(self) -> None:
        """Remove periods parts whose runs part was never written (the sweep was killed between
        the two); `output_folder` has removed the temporary files of interrupted writes."""
        committed = {p.name for p in self.parts(RUNS)}
        for part in self.parts(PERIODS):
            if part.name not in committed:
                part.unlink(missing_ok=True)


def _check_same_sweep(path: Path, old: dict[str, Any], new: dict[str, Any]) -> None:
    """A folder holds one sweep: the same spec (but for the seeds), base scenario, model
    version, root seed and design, or resuming would mix two sweeps."""
    hint = (
        "; give another output folder (run_sweep's out=, or --out on the command line), or "
        "delete the folder to start again"
    )
    if old.get("kind") != "sweep" or not isinstance(old.get("sweep"), dict):
        raise SweepError(str(path), "kind", f"the folder holds no sweep{hint}")
    if not all(isinstance(old.get(k), dict) for k in ("design",)):
        raise SweepError(str(path), "design", f"the manifest has no design{hint}")
    old_spec = {k: v for k, v in old["sweep"].items() if k not in MAY_CHANGE}
    new_spec = {k: v for k, v in new["sweep"].items() if k not in MAY_CHANGE}
    for key in sorted(set(old_spec) | set(new_spec)):
        if key == "scenario_file":
            continue
        if old_spec.get(key) == new_spec.get(key):
            continue
        if key == "scenario_as_loaded":
            raise SweepError(str(path), "scenario", f"the base scenario changed{hint}")
        message = f"this folder holds another sweep ({key!r} is not the same){hint}"
        raise SweepError(str(path), key, message)
    for key, what in (
        ("scenario_digest", "the base scenario file changed"),
        ("model_version", "the model changed (its version or its code)"),
        ("root_seed", "the root seed differs"),
    ):
        if old.get(key) != new.get(key):
            raise SweepError(str(path), key, f"{what} since this sweep started{hint}")
    if old["design"]["table"] != new["design"]["table"]:
        raise SweepError(str(path), "design", f"the design points differ{hint}")


def concat(frames: Iterable[pd.DataFrame]) -> pd.DataFrame | None:
    """Concatenate frames, or None if there are none."""
    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else None
