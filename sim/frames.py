"""Tables a notebook can hold: a firm's log as a DataFrame, and `config` decoded into one 0/1
column per decision (``decision_<name>``), for any table that has a `config` column (periods, a
firm's log, a sweep's periods, the app's CSV)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

#: What a decision's column is called: this prefix and the decision's name. The prefix keeps
#: every name a scenario may give a decision (`pivot`, `sample`, `period`, `profit` ...) from
#: clashing with the table's other columns or shadowing a `pandas.DataFrame` method.
DECISION_PREFIX = "decision_"


def shadows_dataframe(name: str) -> bool:
    """Whether a column called ``name`` would hide behind a `pandas.DataFrame` attribute
    (``table.shift`` is the method, not a column called `shift`)."""
    return hasattr(pd.DataFrame, name)


def decision_bits(configs: np.ndarray | pd.Series, n_decisions: int) -> np.ndarray:
    """rows x decisions matrix of 0/1: bit ``i`` of each configuration is decision ``i``."""
    values = np.asarray(configs, dtype=np.int64)
    out = np.empty((values.shape[0], n_decisions), dtype=np.int8)
    for i in range(n_decisions):  # one decision at a time: no rows x decisions int64 matrix
        out[:, i] = (values >> i) & 1
    return out


def decision_names(
    scenario: Scenario | Sequence[str], *, prefix: str = DECISION_PREFIX
) -> list[str]:
    """The decision columns' names, in bit order: ``prefix`` + each decision's name."""
    if isinstance(scenario, str):
        raise TypeError("give a Scenario or a list of decision names, not one string")
    decisions = scenario if isinstance(scenario, Sequence) else scenario.decisions
    return [prefix + str(name) for name in decisions]


def decision_columns(
    table: pd.DataFrame,
    scenario: Scenario | Sequence[str],
    *,
    column: str = "config",
    prefix: str = DECISION_PREFIX,
) -> pd.DataFrame:
    """``table`` with one 0/1 (int8) column per decision, named ``prefix`` + the decision's
    name, in bit order, decoded from its ``column`` of integer configurations.

    ``scenario`` is a `Scenario` (for a results folder:
    ``validate_scenario(load(folder)["manifest"]["scenario"])``) or its decisions' names in
    bit order. Idempotent: columns already
    there are kept if they hold the decoded bits (periods tables come with them), and only
    the missing ones are added; the table itself is returned if none is missing. A column of
    that name holding anything else is a `ValueError` (give another ``prefix``).

    The scenario must be the table's: a configuration that needs more decisions than it has,
    or decision columns in the table that are not its decisions, is a `ValueError` naming
    both (a scenario with more decisions than the table's cannot be told from its values).
    """
    if column not in table:
        raise KeyError(
            f"the table has no {column!r} column to decode; its columns: {', '.join(table.columns)}"
        )
    names = decision_names(scenario, prefix=prefix)
    _check_fits(table, column, names, prefix)
    bits = decision_bits(table[column].to_numpy(), len(names))
    missing = []
    for i, name in enumerate(names):
        if name not in table:
            missing.append(i)
        elif not np.array_equal(table[name].to_numpy(), bits[:, i]):
            raise ValueError(
                f"column {name!r} is already in the table and is not bit {i} of {column!r}; "
                "give another prefix, e.g. prefix='decoded_'"
            )
    if not missing:
        return table
    decoded = pd.DataFrame(bits[:, missing], columns=[names[i] for i in missing], index=table.index)
    return pd.concat([table, decoded], axis=1)


def _check_fits(table: pd.DataFrame, column: str, names: list[str], prefix: str) -> None:
    """A `ValueError` if ``table`` cannot be the decisions ``names``' (another scenario's)."""
    configs = table[column].to_numpy()
    if configs.size == 0:
        return
    as_float = configs.astype(float)
    if not np.all(np.isfinite(as_float)) or np.any(as_float % 1 != 0):
        raise ValueError(f"column {column!r} must hold whole-number configurations")
    low, high = int(configs.min()), int(configs.max())
    if low < 0 or high >= 2 ** len(names):
        needed = max(high, 0).bit_length()
        raise ValueError(
            f"column {column!r} holds configuration {high if low >= 0 else low}, which needs "
            f"{needed if low >= 0 else 'a non-negative'} decisions; the scenario given has "
            f"{len(names)} ({', '.join(n.removeprefix(prefix) for n in names)}): give the "
            "scenario the table was made with"
        )
    others = sorted(
        c for c in table.columns if isinstance(c, str) and c.startswith(prefix) and c not in names
    )
    if others and prefix == DECISION_PREFIX:
        raise ValueError(
            f"the table has decision columns the scenario given does not have: "
            f"{', '.join(others[:5])}{' ...' if len(others) > 5 else ''}; its decisions are "
            f"{', '.join(n.removeprefix(prefix) for n in names)}: give the scenario the table "
            "was made with"
        )


def department_of(scenario: Scenario) -> dict[str, str]:
    """Decision name -> the department that owns it."""
    return {d: dep.name for dep in scenario.departments for d in dep.decisions}


def firm_frame(firm: Any, *, decisions: bool = True) -> pd.DataFrame:
    """A firm's per-period log as a DataFrame (one row per period, the columns of the periods
    table: docs/ODD.md section 9.1), with the market shifts' labels and, if ``decisions``, one
    0/1 column per decision. ``firm`` is a `sim.agents.Firm` (this module sits below the Mesa
    views and does not import them)."""
    market = firm.model
    scenario = market.spec
    columns = firm.log.columns([d.name for d in scenario.departments])
    frame = pd.DataFrame({"strategy": firm.strategy_name, "seed": market.seed, **columns})
    frame["market_shift"] = list(market.shift_labels)
    return decision_columns(frame, scenario) if decisions else frame
