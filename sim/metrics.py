"""What is measured: per firm per period (FirmLog) and per run (summarize_run)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.engine import History

FLOAT_COLUMNS = (*History.FLOATS, "heading")  # the engine's records, and the derived heading
INT_COLUMNS = ("config", "miles", "distance_to_port", "cycle_length")
BOOL_COLUMNS = ("alive", "in_cycle", "revisit")


#: The longest limit cycle looked for (periods); longer repetitions count as revisits only.
MAX_CYCLE = 40


def limit_cycles(
    config: np.ndarray, moved: np.ndarray, max_period: int = MAX_CYCLE
) -> tuple[np.ndarray, np.ndarray]:
    """Limit cycles along paths of configurations (periods x firms).

    A firm is in a limit cycle at t if the last ``2p`` configurations are one sequence of
    ``p`` >= 2 configurations repeated twice in a row (``config[j] == config[j - p]`` for
    ``j`` = t-p+1 … t) and it moved in them (a firm standing still is at a fixed point, not in a
    cycle). ``length`` is the smallest such ``p`` (0 if none).
    """
    config = np.asarray(config)
    periods = config.shape[0]
    in_cycle = np.zeros(config.shape, dtype=bool)
    length = np.zeros(config.shape, dtype=np.int64)
    sailed = np.concatenate(
        (np.zeros((1, *config.shape[1:]), dtype=np.int64), np.cumsum(moved, axis=0))
    )
    for p in range(2, min(max_period, periods // 2) + 1):
        differs = np.zeros(config.shape, dtype=np.int64)
        differs[p:] = config[p:] != config[:-p]
        misses = np.concatenate(
            (np.zeros((1, *config.shape[1:]), dtype=np.int64), np.cumsum(differs, axis=0))
        )
        t = np.arange(2 * p - 1, periods)
        repeats = (misses[t + 1] - misses[t + 1 - p]) == 0
        moving = (sailed[t + 1] - sailed[t + 2 - 2 * p]) > 0
        hit = repeats & moving & ~in_cycle[t]
        in_cycle[t] |= hit
        length[t] = np.where(hit, p, length[t])
    return in_cycle, length


def revisits(config: np.ndarray, moved: np.ndarray) -> np.ndarray:
    """Moves to a configuration the firm held at some earlier period (periods x firms): every
    return, a limit cycle's or a one-off one long after."""
    config = np.asarray(config)
    order = np.argsort(config, axis=0, kind="stable")  # by configuration, then by time
    ordered = np.take_along_axis(config, order, axis=0)
    seen = np.zeros(config.shape, dtype=bool)
    np.put_along_axis(seen, order[1:], ordered[1:] == ordered[:-1], axis=0)
    return (np.asarray(moved) > 0) & seen


def heading(config: np.ndarray, moved: np.ndarray, alive: np.ndarray, window: int) -> np.ndarray:
    """Net displacement over the last ``window`` periods divided by the distance sailed in them
    (1: a straight course, 0: back where it started; NaN if it did not move or has closed)."""
    config = np.asarray(config)
    out = np.full(config.shape, np.nan)
    if config.shape[0] > window:
        sailed = np.cumsum(moved, axis=0)
        path = sailed[window:] - sailed[:-window]
        net = np.bitwise_count(config[window:] ^ config[:-window]).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[window:] = np.where((path > 0) & alive[window:], net / path, np.nan)
    return out


def path_metrics(
    config: np.ndarray, moved: np.ndarray, alive: np.ndarray, heading_window: int
) -> dict[str, np.ndarray]:
    """Cycling, revisits and heading along paths of configurations, (periods x firms) each:
    ``in_cycle`` and ``cycle_length`` (`limit_cycles`), ``revisit`` (`revisits`),
    ``heading`` (`heading`); nothing counts while a firm is closed."""
    alive = np.asarray(alive)
    in_cycle, length = limit_cycles(config, moved)
    return {
        "in_cycle": in_cycle & alive,
        "cycle_length": np.where(alive, length, 0),
        "revisit": revisits(config, moved) & alive,
        "heading": heading(config, moved, alive, heading_window),
    }


class FirmLog:
    """Per-period records of one firm (periods 0..horizon): a view of its engine row.

    ``to_frame()`` gives them as the periods table (docs/ODD.md section 9.1); ``floats``,
    ``ints`` and ``bools`` as arrays by column (one value per period; periods not yet run hold
    NaN, 0 or False), ``department_efficiency`` as periods x departments. ``horizon`` is the
    last period, ``firm`` the `Firm` it belongs to.
    """

    def __init__(self, engine, row: int, *, heading_window: int = 10, firm=None) -> None:
        self.engine = engine
        self.row = row
        self.firm = firm
        self.heading_window = heading_window

    def __repr__(self) -> str:
        who = f"{self.firm.strategy_name!r}, seed {self.firm.market.seed}, " if self.firm else ""
        return f"FirmLog({who}periods 0..{self.horizon}, run to period {self.engine.period})"

    @property
    def horizon(self) -> int:
        """The last period recorded."""
        return self.engine.horizon

    @property
    def departments(self) -> int:
        """The number of departments."""
        return self.engine.department_count

    def _history(self):
        self.engine.build()
        return self.engine.history

    def path(self) -> dict[str, np.ndarray]:
        """`path_metrics` of every row of the engine (periods x rows); computed once per
        period."""
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
        out["heading"] = self.path()["heading"][:, r]
        return out

    @property
    def ints(self) -> dict[str, np.ndarray]:
        h, r = self._history(), self.row
        return {
            "config": h.config[:, r],
            "miles": h.moved[:, r],
            "distance_to_port": h.distance_to_port[:, r],
            "cycle_length": self.path()["cycle_length"][:, r],
        }

    @property
    def bools(self) -> dict[str, np.ndarray]:
        h, r = self._history(), self.row
        path = self.path()
        return {
            "alive": h.alive[:, r],
            "in_cycle": path["in_cycle"][:, r],
            "revisit": path["revisit"][:, r],
        }

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
        h = self._history()
        for part in ("understanding", "engagement"):  # only where the mechanism is on
            values = getattr(h, part)
            if values is not None:
                for d, name in enumerate(department_names):
                    cols[f"{part}_{name}"] = values[:, self.row, d]
        if h.shares is not None and self.engine.resourced[self.row]:  # resources (§7.22)
            for d, name in enumerate(department_names):
                cols[f"share_{name}"] = h.shares[:, self.row, d]
            cols["unserved_demand"] = h.unserved_demand[:, self.row]
            cols["capacity_moved"] = h.capacity_moved[:, self.row]
            cols["budget_binds"] = h.budget_binds[:, self.row]
        for part in ("impact", "levy"):  # only with [purpose]
            values = getattr(h, part, None)
            if values is not None:
                cols[part] = values[:, self.row]
        return cols


def _mean(values: np.ndarray) -> float:
    """The mean of the numbers of ``values`` that are not NaN (NaN if none): ndarray.mean's
    sum and division, without its checks (called a dozen times per run)."""
    values = values[~np.isnan(values)]
    return float(np.add.reduce(values) / values.size) if values.size else math.nan


def _mean_all(values: np.ndarray) -> float:
    """The mean of ``values`` (finite or NaN) with NaN counted as 0 (`np.nan_to_num`'s)."""
    return _mean(np.where(np.isnan(values), 0.0, values))


def summarize_run(
    log: FirmLog,
    *,
    split: int,
    window: int,
    cycle_window: int,
    recovery_threshold: float,
) -> dict[str, Any]:
    """Per-run outcomes: before/after the split, survival, cycling, recovery, miles sailed
    (docs/ODD.md, sections 7.13 and 9.2).

    Pre-shift = the ``window`` periods before ``split``; post-shift = ``split`` to the horizon.
    A firm survives if its cash never went negative; it exits in the period it does. Closed
    firms follow the one rule of docs/ODD.md section 9.2: an outcome over *all firms* counts
    a closed firm's periods with profit 0 and market value 0 (``profit_*``,
    ``market_value_*_all``, ``cycled_all``: a closed firm is not cycling); an outcome over
    *survivors* is NaN (``cycled``: None) for a firm that closed (``efficiency_*``,
    ``market_value_*``, ``performance_norm_*``, ``profit_*_survivors``, ``cycled``).
    """
    pre = slice(max(1, split - window), split)
    post = slice(split, log.horizon + 1)
    out: dict[str, Any] = {}
    h, row = log._history(), log.row

    def column(name: str) -> np.ndarray:  # one record of the firm, by period
        return getattr(h, name)[:, row]

    cash = column("cash")
    bust = np.flatnonzero(cash < 0)
    survived = not bust.size
    for column_name in ("efficiency", "market_value", "performance_norm", "profit"):
        values = column(column_name)
        if column_name == "profit":  # all firms (0 after exit), and survivors
            for name, part in (("pre_shift", pre), ("post_shift", post)):
                out[f"profit_{name}"] = _mean(values[part])
            continue
        for name, part in (("pre_shift", pre), ("post_shift", post)):
            out[f"{column_name}_{name}"] = _mean(values[part]) if survived else math.nan
            if column_name == "market_value":  # all firms: a closed period counts 0
                out[f"{column_name}_{name}_all"] = _mean_all(values[part])
    # after minus before: paired differences of these between strategies are the
    # difference-in-differences, what the shift itself does to the gap
    out["profit_change"] = out["profit_post_shift"] - out["profit_pre_shift"]
    out["market_value_change"] = out["market_value_post_shift"] - out["market_value_pre_shift"]
    out["market_value_change_all"] = (
        out["market_value_post_shift_all"] - out["market_value_pre_shift_all"]
    )
    for name in ("pre_shift", "post_shift", "change"):
        out[f"profit_{name}_survivors"] = out[f"profit_{name}"] if survived else math.nan
    if getattr(h, "impact", None) is not None:  # [purpose]: all firms, a closed period 0
        for record in ("impact", "levy"):
            values = column(record)
            for name, part in (("pre_shift", pre), ("post_shift", post)):
                out[f"{record}_{name}"] = _mean(np.nan_to_num(values[part], nan=0.0))
    out["survived"] = survived
    out["exit_period"] = int(bust[0]) if bust.size else -1
    path = log.path()  # (periods x rows, computed once for all rows)
    in_cycle = path["in_cycle"][:, row]
    cycling_at_end = bool(in_cycle[-cycle_window:].any())
    out["cycled"] = cycling_at_end if survived else None
    out["cycled_all"] = cycling_at_end  # a closed firm is not cycling
    out["periods_cycling"] = int(in_cycle.sum())
    out["revisits"] = int(path["revisit"][:, row].sum())
    out["miles_sailed"] = int(column("moved").sum())
    out["final_distance_to_port"] = int(column("distance_to_port")[-1])
    out["final_cash"] = float(cash[-1])
    out.update(resource_summary(log, pre=pre, post=post))
    # recovery: only a firm that fell below the threshold from the split on can recover
    fall, time = fall_and_recovery(column("performance_norm")[split - 1 :], recovery_threshold)
    out["fell"] = fall >= 0
    out["fall_period"] = split - 1 + fall if fall >= 0 else -1
    out["recovery_time"] = time
    out["recovered"] = not np.isnan(time)
    # periods watched for the return (censored there if none): from the fall to the horizon
    out["recovery_observed"] = log.horizon - (out["fall_period"] if fall >= 0 else split)
    return out


def resource_summary(log: FirmLog, *, pre: slice, post: slice) -> dict[str, Any]:
    """With resources (docs/ODD.md §7.22; else nothing): the share of periods 1..horizon, and
    from the split on, in which the budget binds, the mean share of demand turned away before
    and after the split, and the share of the budget moved over the run (periods in business)."""
    h = log._history()
    if h.budget_binds is None or not log.engine.resourced[log.row]:
        return {}
    r = log.row
    alive = h.alive[:, r]
    binds = h.budget_binds[:, r].astype(float)
    whole = slice(1, log.horizon + 1)

    def share(part: slice) -> float:
        return _mean(np.where(alive[part], binds[part], np.nan))

    return {
        "budget_binds_share": share(whole),
        "budget_binds_share_post_shift": share(post),
        "unserved_demand_pre_shift": _mean(h.unserved_demand[pre, r]),
        "unserved_demand_post_shift": _mean(h.unserved_demand[post, r]),
        "capacity_moved": float(np.nansum(h.capacity_moved[whole, r][alive[whole]])),
    }


def fall_and_recovery(path: np.ndarray, level: float) -> tuple[int, float]:
    """Where a firm fell below ``level`` and how long it took to get back (docs/ODD.md 7.13).

    ``path`` is its `performance_norm` (a share of the best configuration's performance: one
    bar for every firm) from the period before the split (index 0) to the horizon; a closed
    firm (NaN) is below any bar. The firm *fell* at the first index >= 1 where it is below
    ``level`` after being at or above it the period before (-1: it never fell; a firm below
    the bar before the split has not fallen until it has been above it). The recovery time is
    the number of periods from the fall to the first period at or above ``level`` again (NaN:
    not by the horizon, or it never fell)."""
    above = np.asarray(path, dtype=float) >= level  # NaN (closed) is never >= level
    falls = np.flatnonzero(above[:-1] & ~above[1:]) + 1
    if not falls.size:
        return -1, float("nan")
    fall = int(falls[0])
    back = np.flatnonzero(above[fall:])
    return fall, float(back[0]) if back.size else float("nan")
