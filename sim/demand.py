"""Customers shared among competing firms: the choice model and market concentration.

Plain numpy, below the engine. A market with ``[competition]`` shares its customers among its
firms by a multinomial logit over their market values with an outside option (docs/ODD.md,
section 7.18). Firms of many markets are rows; a market index says which market each row is in,
and every sum over a market's firms is one `np.bincount` over that index (no loop over firms).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario


@dataclass(frozen=True)
class Demand:
    """How a market's customers choose among its firms (the engine's copy of `[competition]`).

    ``sensitivity`` is lambda, ``outside_value`` V_0 (None: no outside option, every customer
    buys from one of the firms: the limit V_0 -> -inf), ``market_size`` the customers in units
    of one firm's market when it is alone, ``entry_rate`` the chance per period that a waiting
    entrant of each strategy enters, ``entry_start`` where entrants start (random or leader).
    """

    sensitivity: float
    outside_value: float | None
    market_size: float = 1.0
    entry_rate: float = 0.0
    entry_start: str = "random"

    @property
    def outside_weight(self) -> float:
        """exp(lambda V_0), the outside option's term in the logit's denominator (0 if none)."""
        if self.outside_value is None:
            return 0.0
        return float(np.exp(self.sensitivity * self.outside_value))


def demand_of(scenario: Scenario) -> Demand | None:
    """The engine's `Demand` for a scenario's ``[competition]`` (None when it has none)."""
    spec = scenario.competition
    if spec is None:
        return None
    return Demand(
        sensitivity=spec.sensitivity,
        outside_value=spec.outside_value if spec.outside else None,
        market_size=spec.market_size,
        entry_rate=spec.entry_rate,
        entry_start=spec.entry_start,
    )


def logit_shares(
    values: np.ndarray,
    market: np.ndarray,
    sensitivity: np.ndarray,
    outside_weight: np.ndarray,
) -> np.ndarray:
    """Each firm's share of its market's customers (rows: firms of many markets).

    s_j = exp(lambda V_j) / (exp(lambda V_0) + sum_k exp(lambda V_k)), the sum over the firms
    k in j's market. ``values`` (rows,) are the firms' market values V_j, ``market`` (rows,) their
    market indices; ``sensitivity`` and ``outside_weight`` (markets,) give each market's lambda
    and exp(lambda V_0) (0: no outside option). One vectorised step: the denominators are one
    `np.bincount` over the market index; a market's sum runs over its firms in row order.
    """
    values = np.asarray(values, dtype=float)
    market = np.asarray(market, dtype=np.int64)
    appeal = np.exp(sensitivity[market] * values)
    total = np.bincount(market, weights=appeal, minlength=outside_weight.size) + outside_weight
    return appeal / total[market]


def herfindahl(shares: np.ndarray, market: np.ndarray, markets: int) -> np.ndarray:
    """The Herfindahl-Hirschman index of each market: the sum of its firms' squared shares of
    the customers who buy from a firm (shares renormalised without the outside option), in
    [1/n, 1] for n firms; NaN for a market without firms."""
    shares = np.asarray(shares, dtype=float)
    market = np.asarray(market, dtype=np.int64)
    inside = np.bincount(market, weights=shares, minlength=markets)
    squares = np.bincount(market, weights=shares**2, minlength=markets)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(inside > 0, squares / inside**2, np.nan)
