"""Fingerprints of the runs and period tables of every shipped scenario without
``[competition]`` at a few seeds.

`tests/data/fingerprints.json` holds them, column by column, as the code computed them before
markets of competing firms existed (commit b1f059f); `tests/test_competition.py` checks that
every one of those columns is still there with the same numbers, bit for bit, for every
scenario without ``[competition]`` (columns added since are not compared). A change
that alters these numbers on purpose regenerates the file and says so in its commit, from
the code it compares with (a checkout at DIR; `python tests/fingerprints.py` imports `sim` from
PYTHONPATH before this checkout's):

    PYTHONPATH=DIR python tests/fingerprints.py     # writes tests/data/fingerprints.json
"""

from __future__ import annotations

import hashlib
import json
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
STORED = Path(__file__).resolve().parent / "data" / "fingerprints.json"
SEEDS = (0, 1, 2)


def shipped_scenarios() -> list[Path]:
    """Every scenario file shipped (the stories and the validation scenarios)."""
    folder = ROOT / "scenarios"
    return sorted(folder.glob("*.toml")) + sorted((folder / "validation").glob("*.toml"))


def column_fingerprint(column: pd.Series) -> str:
    """A SHA-256 of a column's values: their bytes (text as UTF-8), so that any change of any
    number changes it."""
    digest = hashlib.sha256()
    numeric = pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)
    if isinstance(column.dtype, pd.CategoricalDtype) or not numeric:  # text, by value
        digest.update("\x1f".join(map(str, column.tolist())).encode())
    else:
        values = np.ascontiguousarray(column.to_numpy())
        digest.update(str(values.dtype).encode())
        digest.update(values.tobytes())
    return digest.hexdigest()


def table_fingerprints(frame: pd.DataFrame) -> dict[str, str]:
    """Each column's fingerprint, by name (a column added later does not change the others')."""
    return {name: column_fingerprint(frame[name]) for name in sorted(frame.columns)}


def fingerprints(paths: list[Path] | None = None) -> dict[str, dict[str, dict[str, str]]]:
    """Per scenario file: the fingerprints of the columns of its runs and period tables at
    `SEEDS`."""
    from sim.experiment import run_experiment
    from sim.scenario import load_scenario

    out = {}
    for path in paths or shipped_scenarios():
        if "competition" in tomllib.loads(path.read_text(encoding="utf-8")):
            continue  # markets of competing firms did not exist before (nor their field)
        scenario = load_scenario(str(path))
        result = run_experiment(scenario, seeds=list(SEEDS))
        out[path.relative_to(ROOT).as_posix()] = {
            "runs": table_fingerprints(result.runs),
            "periods": table_fingerprints(result.periods),
        }
    return out


if __name__ == "__main__":
    STORED.write_text(json.dumps(fingerprints(), indent=1, sort_keys=True) + "\n")
    print(f"wrote {STORED}", file=sys.stderr)
