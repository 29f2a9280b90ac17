"""Loading a sweep: its file read and validated (`sim.sweep.spec`), then every design point
sampled (`sim.sweep.design`) and checked to give a valid scenario, before anything runs."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sim.scenario.load import read_toml
from sim.sweep.design import check_design_points
from sim.sweep.spec import Sweep, SweepError, parse_sweep, resolve_sweep_path


def load_sweep(name_or_path: str | Path) -> Sweep:
    """Read and validate a sweep file (a path, or a name in scenarios/sweeps/)."""
    path = resolve_sweep_path(name_or_path)
    data = read_toml(path, SweepError)
    return sweep_from_dict(data, source=str(path), base_dir=path.parent)


def sweep_from_dict(
    data: Mapping[str, Any], *, source: str = "<sweep>", base_dir: Path | None = None
) -> Sweep:
    """Validate a sweep given as a dict (as read from TOML); paths relative to ``base_dir``.
    Each parameter at each of its values, then every design point, must give a valid
    scenario (a `SweepError` names the first that does not)."""
    sweep = parse_sweep(data, source=source, base_dir=base_dir)
    check_design_points(sweep)
    return sweep
