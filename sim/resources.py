"""Resources: a budget per period split across departments, reallocated by the coordination
(docs/ODD.md, section 7.22; plain numpy, one row per firm).

A firm's budget (capacity, people, money per period) is split in shares s_d summing to 1.
- Efficiency: department d's efficiency is E_d x (D s_d)^gamma, kept within [0, 1]: an equal
  split leaves it as it is; gamma in [0, 1] gives diminishing returns (doubling a share
  multiplies efficiency by 2^gamma, not 2), and gamma = 0 makes efficiency ignore the split.
- Demand: in each preference regime k department d's work needs q_kd of the budget to serve its
  customers fully; the market's demand now is the regimes' demands weighted by the customers'
  weights (a gradual shift blends them). Department d serves min(s_d, q_d); the firm serves
  the share sigma = sum_d min(s_d, q_d) / min(1, sum_d q_d) of what its budget could serve at
  best, and earns market value V x sigma.
- Reallocation, once a period: the target split is the current one ("keep"), the departments'
  efficiencies normalised ("efficiency": silos grab by their own efficiency) or the demand the
  firm believes in, normalised ("market": a head office moves capacity to what it believes the
  market values). The split moves towards the target by at most ``max_move`` (a share of the
  budget, measured as half the L1 distance) and each unit of share moved costs ``moving_cost``.
- Costs of activity: ``activity_cost`` per period at full use, times the share of the budget in
  use (sum_d min(s_d, q_d)).
- Search (``scales_search``): a department examines the share min(1, D s_d) of the one-bit
  alternatives it would examine otherwise (at least one): below its equal share it looks at
  fewer of its options.
- The budget binds in a period when more than ``tolerance`` of the demand is turned away
  (1 - sum_d min(s_d, q_d) / sum_d q_d > tolerance) or the reallocation was cut short by
  ``max_move``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: How a coordination reallocates: keep the split, grab by efficiency, follow believed demand.
RULES: tuple[str, ...] = ("keep", "efficiency", "market")

#: A move smaller than this (in share of the budget) is no move (rounding).
_EPSILON = 1e-12


@dataclass(frozen=True)
class ResourceSettings:
    """One firm's resource parameters (all numbers; see the module's docstring)."""

    shares: tuple[float, ...]  # the split at period 0, one share per department (sum 1)
    demand: tuple[tuple[float, ...], ...]  # per regime (in the market's order), per department
    returns: float = 0.5  # gamma: efficiency x (D s_d)^gamma
    max_move: float = 0.1  # share of the budget that may move in a period
    moving_cost: float = 0.0  # money per unit of share moved
    activity_cost: float = 0.0  # money per period at full use of the budget
    tolerance: float = 0.02  # share of demand turned away above which the budget binds
    rule: str = "keep"  # one of RULES
    scales_search: bool = False  # a share below the equal one examines fewer alternatives


def capacity_factor(shares: np.ndarray, returns: np.ndarray) -> np.ndarray:
    """(D s_d)^gamma for shares (rows, D) and gamma (rows,): 1 at an equal split."""
    d = shares.shape[-1]
    return np.power(d * np.maximum(shares, 0.0), returns[:, None])


def current_demand(demand: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Demand per department (rows, D) from per-regime demand (rows, R, D) and regime weights
    (rows, R), the weights normalised to sum 1 (zero weights: zero demand)."""
    total = weights.sum(axis=1, keepdims=True)
    w = np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    out = w[:, 0, None] * demand[:, 0]
    for k in range(1, demand.shape[1]):  # a few regimes: one term at a time
        out = out + w[:, k, None] * demand[:, k]
    return out


def service(shares: np.ndarray, demand: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For shares and demand (rows, D): (sigma, the share of demand turned away, the share of
    the budget in use). sigma = served / min(1, total demand) is 1 when the split serves all it
    could; with no demand at all sigma is 1 and nothing is turned away."""
    served = np.minimum(shares, demand).sum(axis=1)
    total = demand.sum(axis=1)
    best = np.minimum(1.0, total)
    sigma = np.divide(served, best, out=np.ones_like(served), where=best > 0)
    turned_away = np.divide(total - served, total, out=np.zeros_like(served), where=total > 0)
    return np.clip(sigma, 0.0, 1.0), np.clip(turned_away, 0.0, 1.0), served


def target_split(
    rule: np.ndarray, shares: np.ndarray, efficiency: np.ndarray, believed: np.ndarray
) -> np.ndarray:
    """The split each row wants (rows, D): its own (rule 0, keep), its departments'
    efficiencies normalised (1), or its believed demand normalised (2); a rule without
    anything to normalise (all zero) keeps the split."""
    out = shares.copy()
    for code, values in ((1, efficiency), (2, believed)):
        chosen = rule == code
        if chosen.any():
            v = values[chosen]
            total = v.sum(axis=1, keepdims=True)
            out[chosen] = np.where(total > 0, v / np.where(total > 0, total, 1.0), shares[chosen])
    return out


def reallocate(
    shares: np.ndarray, target: np.ndarray, max_move: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Move ``shares`` towards ``target`` (rows, D) by at most ``max_move`` (rows,) of the
    budget (half the L1 distance). Returns the new shares, the share moved and whether the
    limit cut the move short."""
    delta = target - shares
    wanted = 0.5 * np.abs(delta).sum(axis=1)
    limited = wanted > max_move + _EPSILON
    scale = np.where(limited, max_move / np.where(wanted > 0, wanted, 1.0), 1.0)
    new = np.maximum(shares + delta * scale[:, None], 0.0)
    new = new / new.sum(axis=1, keepdims=True)
    moved = np.where(wanted > _EPSILON, wanted * scale, 0.0)
    return new, moved, limited
