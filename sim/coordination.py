"""Coordination modes: how departments' proposals become the firm's next configuration."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sim.agents import Firm


def _merge(config: int, proposal: int, mask: int) -> int:
    return (config & ~mask) | (int(proposal) & mask)


def decentralized(firm: Firm) -> int:
    """Silos: every department's best proposal is applied at once (they may conflict and cycle)."""
    new = firm.config
    for dept in firm.departments:
        new = _merge(new, dept.propose(firm.config)[0], dept.mask)
    return new


def sequential(firm: Firm) -> int:
    """Departments move one after another in random order, each seeing the others' moves."""
    current = firm.config
    for d in firm.own_rng.permutation(len(firm.departments)):
        dept = firm.departments[d]
        current = _merge(current, dept.propose(current)[0], dept.mask)
    return current


def hierarchical(firm: Firm) -> int:
    """A head office evaluates every combination of proposals by perceived performance and adopts
    the best if it beats the status quo (Rivkin & Siggelkow's active CEO)."""
    parts = []
    for dept in firm.departments:
        subs = {int(p) & dept.mask for p in dept.propose(firm.config)}
        parts.append(sorted(subs))
    combos = np.fromiter((sum(c) for c in itertools.product(*parts)), dtype=np.int64)
    candidates = np.concatenate(([firm.config], combos))
    perceived = firm.perceived_performance(candidates)
    best = int(np.argmax(perceived))  # index 0 (status quo) wins ties
    return int(candidates[best])


MODES = {"decentralized": decentralized, "sequential": sequential, "hierarchical": hierarchical}


def coordinate(firm: Firm, mode: str) -> int:
    """The firm's next configuration under coordination ``mode``."""
    return MODES[mode](firm)
