"""Departments' search rules, vectorised over rows (one row per firm).

Alternatives are laid out in columns: column 0 is the status quo, columns 1..n_local the
one-bit flips of the department's own decisions in a fixed order, and any further column a long
jump (a random reconfiguration of its own decisions). Utilities of -inf mark a long jump that
was not drawn. Firms (one row) and populations (many rows) call the same functions.
"""

from __future__ import annotations

import numpy as np

from sim.scenario.schema import SearchRule


def alternatives(configs: np.ndarray, flips: np.ndarray) -> np.ndarray:
    """Status quo and every one-bit flip of the given bits, shape (rows, 1 + len(flips))."""
    configs = np.asarray(configs, dtype=np.int64)
    return np.concatenate((configs[:, None], configs[:, None] ^ flips[None, :]), axis=1)


def long_jumps(
    configs: np.ndarray, flips: np.ndarray, mask: int, rng: np.random.Generator
) -> np.ndarray:
    """One random reconfiguration of the department's own decisions per row."""
    bits = rng.integers(0, 2, size=(len(configs), len(flips)))
    return (np.asarray(configs, dtype=np.int64) & ~mask) | (bits @ flips)


def choose(
    utility: np.ndarray, *, rule: SearchRule, n_local: int, proposals: int = 1
) -> np.ndarray:
    """Column indices of the chosen alternatives, best first, shape (rows, proposals).

    - ``best``: the alternatives with the highest utility (ties keep the lower column, so the
      status quo wins a tie);
    - ``first``: the first local flip (fixed order) that beats the status quo, else the status
      quo; a long jump replaces it if it scores higher still (Levinthal 1997). Further proposals
      are the next improving flips in order.
    """
    if rule == "best":
        return np.argsort(-utility, axis=1, kind="stable")[:, :proposals]
    rows = np.arange(utility.shape[0])
    improving = utility[:, 1 : n_local + 1] > utility[:, :1]
    picked = np.where(improving.any(axis=1), improving.argmax(axis=1) + 1, 0)
    if utility.shape[1] > n_local + 1:
        jump = n_local + 1
        picked = np.where(utility[:, jump] > utility[rows, picked], jump, picked)
    if proposals == 1:
        return picked[:, None]
    out = np.repeat(picked[:, None], proposals, axis=1)
    for r in range(utility.shape[0]):  # rare path: several proposals under first-improvement
        more = [j + 1 for j in np.flatnonzero(improving[r]) if j + 1 != picked[r]]
        for p, j in enumerate(more[: proposals - 1], start=1):
            out[r, p] = j
    return out


def merge(configs: np.ndarray, chosen: np.ndarray, mask: int) -> np.ndarray:
    """Configurations with the department's bits (``mask``) taken from ``chosen``."""
    return (np.asarray(configs, dtype=np.int64) & ~mask) | (np.asarray(chosen) & mask)
