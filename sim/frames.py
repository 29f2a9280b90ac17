"""Tables a notebook can hold: a firm's log as a DataFrame, and `config` decoded into one 0/1
column per decision, for any table that has a `config` column (periods, a firm's log, a
sweep's periods)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from sim.agents import Firm
    from sim.scenario.schema import Scenario


def decision_bits(configs: np.ndarray | pd.Series, n_decisions: int) -> np.ndarray:
    """rows x decisions matrix of 0/1: bit ``i`` of each configuration is decision ``i``."""
    values = np.asarray(configs, dtype=np.int64)
    return ((values[:, None] >> np.arange(n_decisions)) & 1).astype(np.int8)


def decision_columns(
    table: pd.DataFrame, scenario: Scenario, *, column: str = "config", prefix: str = ""
) -> pd.DataFrame:
    """``table`` with one 0/1 column per decision of ``scenario`` (named ``prefix`` + the
    decision's name, in bit order) decoded from its ``column`` of integer configurations."""
    if column not in table:
        raise KeyError(f"the table has no {column!r} column to decode")
    names = [prefix + name for name in scenario.decisions]
    clash = sorted(set(names) & set(table.columns))
    if clash:
        raise ValueError(
            f"decision column {clash[0]!r} is already a column of the table; give a prefix, "
            "e.g. prefix='decision_'"
        )
    bits = decision_bits(table[column].to_numpy(), len(names))
    decoded = pd.DataFrame(bits, columns=names, index=table.index)
    return pd.concat([table, decoded], axis=1)


def department_of(scenario: Scenario) -> dict[str, str]:
    """Decision name -> the department that owns it."""
    return {d: dep.name for dep in scenario.departments for d in dep.decisions}


def firm_frame(firm: Firm, *, decisions: bool = True) -> pd.DataFrame:
    """A firm's per-period log as a DataFrame (one row per period, the columns of the periods
    table: docs/ODD.md section 9.1), with the shift labels and, if ``decisions``, one 0/1
    column per decision."""
    market = firm.model
    scenario = market.spec
    columns = firm.log.columns([d.name for d in scenario.departments])
    frame = pd.DataFrame({"strategy": firm.strategy_name, "seed": market.seed, **columns})
    frame["shift"] = list(market.shift_labels)
    return decision_columns(frame, scenario) if decisions else frame
