"""What is measured: per firm per period (FirmLog) and per run (summarize_run)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.landscape import hamming

FLOAT_COLUMNS = (
    "efficiency",
    "market_value",
    "believed_market_value",
    "performance",
    "performance_norm",
    "profit",
    "cash",
    "heading",
)
INT_COLUMNS = ("config", "miles", "distance_to_port", "cycle_length")
BOOL_COLUMNS = ("alive", "in_cycle")


@dataclass
class FirmLog:
    """Preallocated per-period records of one firm (periods 0..horizon)."""

    horizon: int
    departments: int
    heading_window: int = 10
    floats: dict[str, np.ndarray] = field(init=False)
    ints: dict[str, np.ndarray] = field(init=False)
    bools: dict[str, np.ndarray] = field(init=False)
    department_efficiency: np.ndarray = field(init=False)
    _last_seen: dict[int, int] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        size = self.horizon + 1
        self.floats = {c: np.full(size, np.nan) for c in FLOAT_COLUMNS}
        self.ints = {c: np.zeros(size, dtype=np.int64) for c in INT_COLUMNS}
        self.bools = {c: np.zeros(size, dtype=bool) for c in BOOL_COLUMNS}
        self.department_efficiency = np.full((size, self.departments), np.nan)

    def record(
        self,
        t: int,
        *,
        config: int,
        moved: int,
        department_efficiency: np.ndarray,
        **values: float,
    ) -> None:
        """Record an alive firm's period ``t``; derives cycling and heading from the path."""
        for name, value in values.items():
            if name in self.floats:
                self.floats[name][t] = value
            else:
                self.ints[name][t] = value
        self.department_efficiency[t] = department_efficiency
        self.ints["config"][t] = config
        self.ints["miles"][t] = moved
        self.bools["alive"][t] = True
        seen = self._last_seen.get(config)
        if moved and seen is not None:
            self.bools["in_cycle"][t] = True
            self.ints["cycle_length"][t] = t - seen
        self._last_seen[config] = t
        w = self.heading_window
        if t >= w:
            path = int(self.ints["miles"][t - w + 1 : t + 1].sum())
            if path > 0:
                net = int(hamming(config, int(self.ints["config"][t - w])))
                self.floats["heading"][t] = net / path

    def record_exit(self, t: int, cash: float) -> None:
        """A firm that has exited: configuration, distance to port and cash frozen, no profit."""
        self.ints["config"][t] = self.ints["config"][t - 1]
        self.ints["distance_to_port"][t] = self.ints["distance_to_port"][t - 1]
        self.floats["profit"][t] = 0.0
        self.floats["cash"][t] = cash

    def columns(self, department_names: list[str]) -> dict[str, np.ndarray]:
        """All records as named columns of equal length."""
        cols: dict[str, np.ndarray] = {"period": np.arange(self.horizon + 1)}
        cols.update(self.floats)
        cols.update(self.ints)
        cols.update(self.bools)
        for d, name in enumerate(department_names):
            cols[f"efficiency_{name}"] = self.department_efficiency[:, d]
        return cols


def _mean(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    return float(values.mean()) if values.size else float("nan")


def summarize_run(
    log: FirmLog,
    *,
    split: int,
    window: int,
    cycle_window: int,
    recovery_threshold: float,
) -> dict[str, Any]:
    """Per-run outcomes: before/after the split, survival, cycling, recovery, miles sailed.

    Pre-shift = the ``window`` periods before ``split``; post-shift = ``split`` to the horizon.
    Means of E, V and P are over periods alive; profit counts 0 after exit (no business).
    A firm survives if its cash never went negative; it exits in the period it does.
    """
    pre = slice(max(1, split - window), split)
    post = slice(split, log.horizon + 1)
    out: dict[str, Any] = {}
    for column in ("efficiency", "market_value", "performance_norm", "profit"):
        values = log.floats[column]
        out[f"{column}_pre_shift"] = _mean(values[pre])
        out[f"{column}_post_shift"] = _mean(values[post])
    bust = np.flatnonzero(log.floats["cash"] < 0)
    out["survived"] = not bust.size
    out["exit_period"] = int(bust[0]) if bust.size else -1
    in_cycle = log.bools["in_cycle"]
    out["cycled"] = bool(in_cycle[-cycle_window:].any())
    out["periods_cycling"] = int(in_cycle.sum())
    out["miles_sailed"] = int(log.ints["miles"].sum())
    out["final_distance_to_port"] = int(log.ints["distance_to_port"][-1])
    out["final_cash"] = float(log.floats["cash"][-1])
    out["recovery_time"] = recovery_time(
        log.floats["performance_norm"][post], recovery_threshold * out["performance_norm_pre_shift"]
    )
    out["recovered"] = not np.isnan(out["recovery_time"])
    return out


def recovery_time(after: np.ndarray, level: float) -> float:
    """Periods from the shift until performance is back at ``level`` after first falling below it.

    0 if it never fell below ``level``; NaN if it fell and never came back (or the firm exited).
    """
    below = np.flatnonzero(~(after >= level))  # NaN (exited) counts as below
    if not below.size:
        return 0.0
    back = np.flatnonzero(after[below[0] :] >= level)
    return float(below[0] + back[0]) if back.size else float("nan")
