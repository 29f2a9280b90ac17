"""What is measured: per firm per period (FirmLog) and per run (summarize_run)."""

from __future__ import annotations

from typing import Any

import numpy as np

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


def path_metrics(
    config: np.ndarray, moved: np.ndarray, alive: np.ndarray, heading_window: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cycling and heading along paths of configurations, shape (periods, firms) each.

    ``in_cycle[t]``: the firm moved at t to a configuration it held before; ``cycle_length[t]``:
    periods since it last held it; ``heading[t]``: net displacement over the last
    ``heading_window`` periods divided by the distance sailed in them (NaN if it did not move).
    """
    config = np.asarray(config)
    periods = np.arange(config.shape[0])[:, None]
    order = np.argsort(config, axis=0, kind="stable")  # by configuration, then by time
    ordered = np.take_along_axis(config, order, axis=0)
    previous = np.full(config.shape, -1, dtype=np.int64)
    same = ordered[1:] == ordered[:-1]
    np.put_along_axis(previous, order[1:], np.where(same, order[:-1], -1), axis=0)
    in_cycle = (moved > 0) & (previous >= 0) & alive
    cycle_length = np.where(in_cycle, periods - previous, 0)
    heading = np.full(config.shape, np.nan)
    w = heading_window
    if config.shape[0] > w:
        sailed = np.cumsum(moved, axis=0)
        path = sailed[w:] - sailed[:-w]
        net = np.bitwise_count(config[w:] ^ config[:-w]).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            heading[w:] = np.where((path > 0) & alive[w:], net / path, np.nan)
    return in_cycle, cycle_length, heading


class FirmLog:
    """Per-period records of one firm (periods 0..horizon): a view of its engine row."""

    def __init__(self, engine, row: int, *, heading_window: int = 10, firm=None) -> None:
        self.engine = engine
        self.row = row
        self.firm = firm
        self.heading_window = heading_window

    @property
    def horizon(self) -> int:
        return self.engine.horizon

    @property
    def departments(self) -> int:
        return self.engine.department_count

    def _history(self):
        self.engine.build()
        return self.engine.history

    def path(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`path_metrics` of every row of the engine (periods x rows): in_cycle,
        cycle_length, heading; computed once per period."""
        engine = self.engine
        key = (engine.period, self.heading_window)
        cache = getattr(engine, "_path_cache", None)
        if cache is None or cache[0] != key:  # computed once per period for all rows
            h = self._history()
            cache = (key, path_metrics(h.config, h.moved, h.alive, self.heading_window))
            engine._path_cache = cache
        return cache[1]

    @property
    def floats(self) -> dict[str, np.ndarray]:
        h, r = self._history(), self.row
        out = {c: getattr(h, c)[:, r] for c in FLOAT_COLUMNS if c != "heading"}
        out["heading"] = self.path()[2][:, r]
        return out

    @property
    def ints(self) -> dict[str, np.ndarray]:
        h, r = self._history(), self.row
        return {
            "config": h.config[:, r],
            "miles": h.moved[:, r],
            "distance_to_port": h.distance_to_port[:, r],
            "cycle_length": self.path()[1][:, r],
        }

    @property
    def bools(self) -> dict[str, np.ndarray]:
        h, r = self._history(), self.row
        return {"alive": h.alive[:, r], "in_cycle": self.path()[0][:, r]}

    @property
    def department_efficiency(self) -> np.ndarray:
        return self._history().department_efficiency[:, self.row]

    def to_frame(self, *, decisions: bool = True):
        """The firm's per-period log as a DataFrame (`sim.frames.firm_frame`)."""
        from sim.frames import firm_frame

        return firm_frame(self.firm, decisions=decisions)

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
    # after minus before: paired differences of these between strategies are the
    # difference-in-differences, what the shift itself does to the gap
    out["profit_change"] = out["profit_post_shift"] - out["profit_pre_shift"]
    out["market_value_change"] = out["market_value_post_shift"] - out["market_value_pre_shift"]
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
