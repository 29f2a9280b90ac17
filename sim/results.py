"""The one result writer (Parquet tables + manifest.json) and its reader."""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import json
import os
import platform
import re
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from sim import __version__
from sim.experiment import ExperimentResult
from sim.paths import IN_CHECKOUT, PACKAGE_DIR, REPO_ROOT, RESULTS_DIR
from sim.scenario import ScenarioError, scenario_to_dict

MANIFEST = "manifest.json"
LOCK = ".lock"
#: The kinds of result a folder can hold (its manifest's ``kind``); one kind per folder.
RESULT_KINDS = ("run", "decomposition", "validation", "figures", "sweep", "analysis", "discovery")


class FolderError(ScenarioError):
    """A results folder that cannot be written or read: names it, the problem and the remedy
    (one line; exit code 2 on the command line)."""


#: The modules whose code decides a run's numbers (relative to the package).
MODEL_SOURCES: tuple[str, ...] = (
    "landscape.py",
    "market.py",
    "effects.py",
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

    if not IN_CHECKOUT:  # an installed package: no checkout to describe
        return {"commit": None, "dirty": None}
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
    packages = {}
    for dist in metadata.distributions():
        name, version = _name_and_version(dist)
        if name:
            packages[name] = version
    return {
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "host": platform.node(),
        "smb_sim": __version__,
        "model": model_version(),
        "packages": dict(sorted(packages.items(), key=lambda kv: kv[0].lower())),
    }


def _name_and_version(dist: metadata.Distribution) -> tuple[str | None, str | None]:
    """A distribution's ``Name`` and ``Version`` headers, read from its metadata file's header
    lines only: `importlib.metadata` parses the whole file, long description included, which
    made `environment` take about 0.35 s with a few hundred distributions installed (a fixed
    cost of every sweep and saved run); this takes about 0.02 s, with the same values."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    name = version = None
    for line in text.split("\n\n", 1)[0].splitlines():
        if name is None and line.startswith("Name:"):
            name = line[len("Name:") :].strip()
        elif version is None and line.startswith("Version:"):
            version = line[len("Version:") :].strip()
    return name, version


def build_manifest(result: ExperimentResult, **extra: Any) -> dict[str, Any]:
    """What is needed to reproduce a run: the scenario as loaded, seeds, versions, git state."""
    return {
        "kind": "run",
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


#: A temporary file of an atomic write: ``.NAME.XXXXXXXX.tmp`` beside the file it becomes
#: (NAME one of the kinds of file this package writes).
_TEMPORARY = re.compile(r"^\.[\w.-]+\.(parquet|json|csv|png|gif|md)\.\w+\.tmp$")


class WriteError(FolderError):
    """A file that could not be written (a full disk, a folder made read-only): names it, why
    (``reason``) and what to do (``fix``, then ``then``); nothing of the file is left."""

    def __init__(self, path: str, reason: str, fix: str = "", then: str = "run again") -> None:
        self.reason, self.fix, self.then = reason, fix, then
        todo = f"{fix}, then {then}" if fix else then
        super().__init__(path, "", f"cannot write: {reason}; {todo}")

    def __reduce__(self):
        return (type(self), (self.source, self.reason, self.fix, self.then))

    @classmethod
    def of(cls, path: str | Path, exc: OSError) -> WriteError:
        """The error of ``exc``, an OSError writing ``path``, in words."""
        code = exc.errno
        if code:
            reason = os.strerror(code)
        else:
            reason = (str(exc).splitlines() or ["unknown error"])[0][:160]
        fix = ""
        if code in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            fix = "free some space (or give another output folder)"
        elif code in (errno.EACCES, errno.EPERM, errno.EROFS):
            fix = "make the folder writable (or give another output folder)"
        return cls(str(path), reason, fix)


def _temporary(path: Path, write) -> str:
    """``write(tmp)`` into a temporary file beside ``path``, readable as a file made with the
    umask; its name. Nothing is left behind if it fails, and a `FolderError` names ``path``
    for an OSError (a full disk, a folder made read-only)."""
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        return tmp
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, ConnectionError):
            raise WriteError.of(path, exc) from None
        raise


def _atomic_write(path: Path, write) -> None:
    tmp = _temporary(path, write)
    try:
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise WriteError.of(path, exc) from None


def clean_temporaries(folder: Path) -> list[Path]:
    """Remove what interrupted writes left in ``folder`` and its subfolders (``kill -9``, a
    lost machine): temporary files of atomic writes (`_TEMPORARY`); the files removed. Only
    for a folder whose lock this session holds (no other session is writing to it)."""
    removed = []
    for candidate in (*Path(folder).glob(".*.tmp"), *Path(folder).glob("*/.*.tmp")):
        if _TEMPORARY.match(candidate.name) and not candidate.is_dir():
            with contextlib.suppress(OSError):
                candidate.unlink()
                removed.append(candidate)
    return removed


class Staged:
    """Files of one result written together (`staged`): each to a temporary file, all put in
    place at the end, ``manifest.json`` last, so a reader never sees a half-written result."""

    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.temporaries: dict[Path, str] = {}

    def __repr__(self) -> str:
        names = ", ".join(sorted(path.name for path in self.temporaries)) or "nothing yet"
        return f"Staged({str(self.out)!r}: {names})"

    def write(self, name: str, write) -> None:
        """``write(tmp)`` the file ``name`` of the folder (put in place at the end)."""
        path = self.out / name
        self.temporaries[path] = _temporary(path, write)

    def table(self, frame: pd.DataFrame, name: str) -> None:
        """A Parquet table."""
        self.write(name, lambda tmp: frame.to_parquet(tmp, index=False))

    def csv(self, frame: pd.DataFrame, name: str) -> None:
        """A CSV table."""
        self.write(name, lambda tmp: frame.to_csv(tmp, index=False))

    def json(self, data: dict[str, Any], name: str) -> None:
        """A JSON file (the manifest is put in place last)."""
        self.write(name, lambda tmp: _dump_json(data, tmp))

    def figure(self, figure, name: str, **savefig: Any) -> None:
        """A matplotlib figure (its format from the name's suffix)."""
        fmt = Path(name).suffix.lstrip(".") or "png"
        self.write(name, lambda tmp: figure.savefig(tmp, format=fmt, **savefig))

    def discard(self) -> None:
        """Remove every temporary file written so far."""
        for tmp in self.temporaries.values():
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        self.temporaries.clear()

    def commit(self) -> None:
        """Put every file in place, the manifest last."""
        order = sorted(self.temporaries, key=lambda p: p.name == MANIFEST)
        for path in order:
            try:
                os.replace(self.temporaries[path], path)
            except OSError as exc:
                self.discard()
                raise WriteError.of(path, exc) from None
            del self.temporaries[path]


@contextlib.contextmanager
def staged(out: str | Path) -> Iterator[Staged]:
    """Write a result's files together: all of them, or (if anything fails, the disk fills,
    the command is interrupted) none, the folder left as it was."""
    stage = Staged(Path(out))
    try:
        yield stage
    except BaseException:
        stage.discard()
        raise
    stage.commit()


def save_figure(figure, path: Path, **savefig: Any) -> None:
    """Save a matplotlib figure atomically (its format from the path's suffix)."""
    fmt = Path(path).suffix.lstrip(".") or "png"
    _atomic_write(Path(path), lambda tmp: figure.savefig(tmp, format=fmt, **savefig))


def write_table(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as Parquet, atomically (a crash never leaves a broken file)."""
    _atomic_write(path, lambda tmp: frame.to_parquet(tmp, index=False))


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame as CSV, atomically."""
    _atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def _dump_json(data: dict[str, Any], tmp: str) -> None:
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=2, ensure_ascii=False, default=str)
        fh.write("\n")


def write_json(data: dict[str, Any], path: Path) -> None:
    """Write JSON atomically."""
    _atomic_write(path, lambda tmp: _dump_json(data, tmp))


def write_text(text: str, path: Path) -> None:
    """Write a text file (UTF-8) atomically."""
    _atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def write_experiment(result: ExperimentResult, out: Path, **manifest_extra: Any) -> Path:
    """Write runs.parquet, periods.parquet (if recorded), markets.parquet (with competition)
    and manifest.json into ``out``: all of them or, if one cannot be written (a full disk),
    none (`staged`). A run written over another replaces it: a periods.parquet (or
    markets.parquet) of the run before is removed if this one has none."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with staged(out) as stage:
        stage.table(result.runs, "runs.parquet")
        if result.periods is not None:
            stage.table(result.periods, "periods.parquet")
        if result.markets is not None:  # a market of competing firms: per market and period
            stage.table(result.markets, "markets.parquet")
        stage.json(build_manifest(result, **manifest_extra), MANIFEST)
    if result.periods is None:
        (out / "periods.parquet").unlink(missing_ok=True)
    if result.markets is None:
        (out / "markets.parquet").unlink(missing_ok=True)
    return out


def write_summary(result: ExperimentResult, out: Path, *, latex: bool = False) -> list[Path]:
    """Write the summary `python -m sim run` prints as tables: ``summary.csv`` (per strategy
    and outcome: label, mean, ci_low, ci_high, n; `sim.stats.summary_table`) and
    ``differences.csv`` (every pair of strategies, paired by seed, Holm-adjusted p-values;
    `sim.stats.pairwise_differences`); with ``latex``, also ``summary.tex`` and
    ``differences.tex`` (the tables as printed, booktabs). Returns the paths written."""
    from sim.stats import (
        paired_metrics,
        pairwise_differences,
        summary_table,
        wide_differences,
        wide_summary,
    )

    table = summary_table(result)
    strategies = [str(s) for s in result.strategies]
    pairs = pairwise_differences(result.runs, paired_metrics(result.runs), strategies)
    written = [out / "summary.csv", out / "differences.csv"]
    write_csv(table, written[0])
    write_csv(pairs, written[1])
    if result.scenario.purpose is not None:  # profit against impact (`[purpose]`)
        from sim.stats import pareto_table

        written.append(out / "pareto.csv")
        write_csv(pareto_table(result.runs), written[-1])
    if latex:
        wide = wide_summary(table)
        write_text(wide.to_latex(escape=True), out / "summary.tex")
        write_text(wide_differences(pairs).to_latex(escape=True), out / "differences.tex")
        written += [out / "summary.tex", out / "differences.tex"]
    return written


# ------------------------------------------------------------------ output folders and locks


def read_manifest(folder: Path, error: type[ScenarioError] = FolderError) -> dict[str, Any] | None:
    """A folder's manifest.json, None if it has none; an ``error`` naming it if it is broken."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" ({exc.msg}, line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise error(
            str(path),
            "",
            f"not a readable manifest{where}; restore it from a copy, or move the folder aside "
            "and run again (its tables cannot be told apart from another result's without it)",
        ) from None
    except OSError as exc:
        raise error(str(path), "", f"cannot read: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise error(str(path), "", "not a manifest (expected a JSON object)")
    return data


def folder_kind(folder: Path, error: type[ScenarioError] = FolderError) -> str | None:
    """The kind of result a folder holds (`RESULT_KINDS`), or None if it holds none."""
    folder = Path(folder)
    manifest = read_manifest(folder, error)
    if manifest is None:
        return "sweep" if (folder / "runs").is_dir() else None
    if manifest.get("kind") in RESULT_KINDS:
        return manifest["kind"]
    if "design" in manifest:  # manifests written before they named their kind
        return "sweep"
    if "experiments" in manifest:
        return "validation"
    return "run" if "seeds" in manifest else "unknown"


def check_output_folder(out: Path, *, kind: str, error: type[ScenarioError] = FolderError) -> None:
    """Refuse, before any work, a folder that cannot take a result of ``kind``: a file, a folder
    that cannot be created or written, or one holding another kind of result."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise error(str(out), "", "exists and is not a folder; give a folder (--out DIR)")
    if not out.exists():
        parent = next((p for p in out.absolute().parents if p.exists()), None)
        if parent is not None and not parent.is_dir():
            raise error(str(out), "", f"cannot be created: {parent} is a file, not a folder")
        if parent is not None and not os.access(parent, os.W_OK | os.X_OK):
            raise error(str(out), "", f"cannot be created: {parent} is not writable")
        return
    if not os.access(out, os.W_OK | os.X_OK):
        raise error(
            str(out),
            "",
            "the folder is not writable; give another output folder "
            "(out= in Python, --out on the command line)",
        )
    found = folder_kind(out, error)
    if found is not None and found != kind:
        raise error(
            str(out),
            "",
            f"holds a {found} result; a {kind} result goes in a folder of its own (give another "
            "--out), so that nothing already there is overwritten",
        )


@contextlib.contextmanager
def output_folder(
    out: str | Path, *, kind: str, error: type[ScenarioError] = FolderError
) -> Iterator[Path]:
    """The one way a command writes a results folder: check it (`check_output_folder`), create
    it, and hold its lock for the session; a folder made here and left empty is removed again,
    and the lock file is removed when the session ends, however the session ends.

    Temporary files that interrupted writes left in the folder (a killed session) are removed
    once the lock is held. An OSError inside the session (a full disk, a folder made read-only
    meanwhile) becomes one ``error`` naming the file and the remedy, not a traceback.
    """
    out = Path(out)
    check_output_folder(out, kind=kind, error=error)
    created = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise error(str(out), "", f"cannot be created: {exc.strerror}") from None
    try:
        with folder_lock(out, kind=kind, error=error):
            clean_temporaries(out)
            try:
                yield out
            except OSError as exc:
                if isinstance(exc, ConnectionError | TimeoutError):
                    raise
                raise WriteError.of(exc.filename or out, exc) from None
    finally:
        for folder in created:  # deepest first
            with contextlib.suppress(OSError):
                folder.rmdir()  # only if empty


@contextlib.contextmanager
def folder_lock(
    out: Path, *, kind: str, error: type[ScenarioError] = FolderError
) -> Iterator[None]:
    """Hold ``out/.lock`` for this session; an ``error`` naming the holder if another session
    (another process, here or on another computer) writes to the folder.

    An advisory ``flock``: the system releases it when its process ends, however it ends. The
    file is opened without following a symbolic link and is never truncated unless it is a
    plain file of its own (one link); it is removed when the session ends.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no flock; one session per folder is up to the user
        yield
        return
    path = out / LOCK
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    for _ in range(5):
        try:
            fd = os.open(path, flags, 0o644)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise error(
                    str(path), "", "is a symbolic link; a lock is a plain file: remove the link"
                ) from None
            raise error(str(path), "", f"cannot open the lock: {exc.strerror}") from None
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            os.close(fd)
            raise error(
                str(path), "", "is not a plain file of its own (a link or a device); remove it"
            )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 400, 0).decode("utf-8", "replace").strip() or "another process"
            os.close(fd)
            raise error(
                str(out),
                "",
                f"another {kind} session is writing to this folder ({holder}); wait for it to "
                "finish, then run again (a sweep resumes), or give another output folder "
                "(out= in Python, --out on the command line)",
            ) from None
        try:  # the holder before may have removed the file just before: lock the one in place
            now = os.stat(path, follow_symlinks=False)
            if (now.st_ino, now.st_dev) == (info.st_ino, info.st_dev):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    else:
        raise error(str(path), "", "the lock keeps changing hands; try again")
    try:
        started = datetime.now(UTC).isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {platform.node()} since {started}\n".encode(), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still held: a session that opened it meanwhile tries again
        os.close(fd)


def load(directory: str | Path, *, periods: bool = True) -> dict[str, Any]:
    """Read a results folder: runs and periods DataFrames (periods may be None), manifest.

    A sweep folder (`python -m sim sweep`) also gives ``failures`` (runs that raised and never
    succeeded since: error and traceback) and ``design`` (the design points); its runs are
    sorted by design point, strategy and seed. ``periods=False`` skips the per-period table.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise FolderError(str(directory), "", "no such folder")
    if (directory / "runs").is_dir():
        return _load_sweep(directory, periods=periods)
    manifest = read_manifest(directory)
    if manifest is None:
        raise FolderError(str(directory), "", f"not a results folder (no {MANIFEST})")
    periods_path = directory / "periods.parquet"
    return {
        "runs": read_table(directory / "runs.parquet"),
        "periods": _renamed(read_table(periods_path))
        if periods and periods_path.exists()
        else None,
        "manifest": manifest,
    }


def _renamed(periods: pd.DataFrame) -> pd.DataFrame:
    """A periods table written before `shift` was renamed `market_shift`, with the new name."""
    if "shift" in periods and "market_shift" not in periods:
        return periods.rename(columns={"shift": "market_shift"})
    return periods


#: What to do about a part of a sweep that cannot be read.
REPAIR_HINT = (
    "run the sweep again with --repair to set the broken parts aside and compute their runs again"
)


def read_table(path: Path, *, columns: list[str] | None = None, hint: str = "") -> pd.DataFrame:
    """A Parquet table; a `FolderError` naming the file if it is missing, truncated or not a
    table this package wrote (``hint``: the remedy)."""
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path, columns=columns).to_pandas()
    except (OSError, ValueError, KeyError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        what = "missing" if not Path(path).exists() else "not a readable Parquet table"
        detail = str(exc).splitlines()[0][:120] if what != "missing" else ""
        raise FolderError(
            str(path), "", f"{what}{f' ({detail})' if detail else ''}{'; ' + hint if hint else ''}"
        ) from None


def _read_parts(folder: Path) -> pd.DataFrame | None:
    """Every finished part of a sweep folder's table, as one DataFrame (None if none)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []
    if not parts:
        return None
    tables = []
    for part in parts:
        try:
            tables.append(pq.read_table(part))
        except (OSError, ValueError) as exc:
            detail = str(exc).splitlines()[0][:120]
            raise FolderError(
                str(part), "", f"not a readable Parquet part ({detail}); {REPAIR_HINT}"
            ) from None
    try:
        return pa.concat_tables(tables, promote_options="permissive").to_pandas()
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise FolderError(
            str(folder), "", f"parts that do not fit together ({exc}); {REPAIR_HINT}"
        ) from None


def _load_sweep(directory: Path, *, periods: bool) -> dict[str, Any]:
    manifest = read_manifest(directory)
    if manifest is None or "design" not in manifest or "strategies" not in manifest:
        raise FolderError(
            str(directory / MANIFEST),
            "",
            "missing or not a sweep's manifest; a sweep folder cannot be read without it "
            "(restore it, or run the sweep again into a new folder)",
        )
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
        period_table = _renamed(period_table)
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
