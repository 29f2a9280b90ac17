"""Independent implementations of two published protocols, for docking.

Plain numpy written from the papers' descriptions, sharing no code with the model's engine,
landscapes or random streams (`sim.engine`, `sim.landscape`, `sim.streams`): where a paper's
own numbers are not available, `validate` compares the model's numbers with these, which run
the same protocol by other code (Axtell, Axelrod, Epstein & Cohen 1996, "docking"). Only the
measurement of limit cycles is shared (`sim.metrics.limit_cycles`), so that both count the
same thing. See docs/validation.md.

- `rivkin_siggelkow`: Rivkin & Siggelkow (2003): two departments of three decisions, random
  interactions, each department examining ``alternatives`` randomly drawn one-bit changes of
  its own decisions per period (AltSub), a rubber-stamping or an active head office.
- `silo_cycling`: simultaneous departments in a nearly decomposable landscape (after Ethiraj &
  Levinthal 2004), with a choice of how cross-department links are drawn and of the search rule
  (used by `benchmarks/cycling.py` to find what drives the cycling rate).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim.metrics import limit_cycles, revisits

#: How cross-department links are drawn (`silo_cycling`).
LINK_SCHEMES: tuple[str, ...] = ("per_decision", "per_department", "one_department", "mutual")
#: Department search rules (`silo_cycling`).
SILO_RULES: tuple[str, ...] = ("best", "first", "random_flip")
#: Head-office designs (`rivkin_siggelkow`).
RS_DESIGNS: tuple[str, ...] = ("rubber_stamp", "active")


def _bits(n: int) -> np.ndarray:
    """Bit i of every configuration 0..2**n-1, shape (2**n, n)."""
    return (np.arange(2**n)[:, None] >> np.arange(n)) & 1


def contributions(deps: Sequence[Sequence[int]], rng: np.random.Generator) -> np.ndarray:
    """Kauffman's NK contributions for one landscape, shape (2**N, N): decision i's
    contribution is a U(0,1) draw per setting of its own bit and those of ``deps[i]``."""
    n = len(deps)
    bits = _bits(n)
    out = np.empty((2**n, n))
    for i, d in enumerate(deps):
        index = bits[:, i].copy()
        for place, j in enumerate(d):
            index |= bits[:, j] << (place + 1)
        out[:, i] = rng.random(2 ** (len(d) + 1))[index]
    return out


def _departments(sizes: Sequence[int]) -> list[list[int]]:
    start = np.concatenate(([0], np.cumsum(sizes)))
    return [list(range(start[d], start[d + 1])) for d in range(len(sizes))]


def cross_links(
    departments: list[list[int]], cross: int, scheme: str, rng: np.random.Generator
) -> list[list[int]]:
    """Each decision's dependencies on other departments' decisions.

    - ``per_decision``: every decision depends on ``cross`` decisions drawn from all other
      departments' decisions (the model's `nearly_decomposable`);
    - ``per_department``: every department has ``cross`` links in all, each making one of its
      decisions (drawn at random) depend on one decision of another department;
    - ``one_department``: every decision depends on ``cross`` decisions of one other department,
      drawn at random per decision;
    - ``mutual``: like ``per_decision``, and every link goes both ways (if i depends on j, j
      depends on i), so a decision has at least ``cross`` foreign links.
    """
    if scheme not in LINK_SCHEMES:
        raise ValueError(f"unknown link scheme {scheme!r}; allowed: {', '.join(LINK_SCHEMES)}")
    owner = {i: d for d, dec in enumerate(departments) for i in dec}
    links: dict[int, set[int]] = {i: set() for i in owner}
    for d, decisions in enumerate(departments):
        foreign = [j for j in owner if owner[j] != d]
        if scheme == "per_department":
            for _ in range(cross):
                i = int(rng.choice(decisions))
                free = [j for j in foreign if j not in links[i]]
                if free:
                    links[i].add(int(rng.choice(free)))
            continue
        for i in decisions:
            if scheme == "one_department":
                other = int(rng.choice([e for e in range(len(departments)) if e != d]))
                pool = departments[other]
            else:
                pool = foreign
            drawn = rng.choice(pool, size=min(cross, len(pool)), replace=False)
            links[i].update(int(j) for j in drawn)
    if scheme == "mutual":
        for i in list(links):
            for j in list(links[i]):
                links[j].add(i)
    return [sorted(links[i]) for i in sorted(links)]


@dataclass(frozen=True)
class SiloRuns:
    """Per landscape: whether the firm ends in a limit cycle, and whether it ever revisits."""

    cycled: np.ndarray
    revisited: np.ndarray


def silo_cycling(
    *,
    cross: int,
    landscapes: int,
    seed: int | Sequence[int] = 0,
    scheme: str = "per_decision",
    rule: str = "best",
    alpha: float = 0.0,
    sizes: Sequence[int] = (4, 4, 4),
    periods: int = 100,
    cycle_window: int = 20,
) -> SiloRuns:
    """Departments that all move at once, each fully interdependent inside (every decision
    depends on the others of its department) and linked to other departments by ``cross``
    links per ``scheme``; each ranks its alternatives by ``(1 - alpha) E_d + alpha E``
    (E_d: mean contribution of its decisions; E: the firm's mean). Rules: ``best`` = the best
    one-bit change of its own decisions if it beats the status quo; ``first`` = the first that
    does, in a fixed order; ``random_flip`` = one own decision drawn at random, changed if that
    is better. A run cycles if it is in a limit cycle in one of its last ``cycle_window``
    periods (`sim.metrics.limit_cycles`); random start, one landscape per run."""
    if rule not in SILO_RULES:
        raise ValueError(f"unknown rule {rule!r}; allowed: {', '.join(SILO_RULES)}")
    rng = np.random.default_rng(seed)
    departments = _departments(sizes)
    n = sum(sizes)
    configs = np.arange(2**n)
    nxt = np.empty((landscapes, 2**n), dtype=np.int64)
    stored = np.empty((landscapes, 2**n, len(sizes)) if rule == "random_flip" else (0, 0, 0))
    for run in range(landscapes):
        foreign = cross_links(departments, cross, scheme, rng)
        deps = [
            sorted({j for j in dec if j != i} | set(foreign[i])) for dec in departments for i in dec
        ]
        c = contributions(deps, rng)
        dept = np.stack([c[:, dec].mean(axis=1) for dec in departments], axis=1)
        firm = dept @ (np.asarray(sizes) / n)
        utility = (1 - alpha) * dept + alpha * firm[:, None]  # (2**n, D)
        if rule == "random_flip":
            stored[run] = utility
            continue
        move = np.zeros(2**n, dtype=np.int64)
        for d, dec in enumerate(departments):
            flips = np.array([0] + [1 << i for i in dec])
            scores = utility[configs[:, None] ^ flips[None, :], d]  # status quo first
            if rule == "best":
                pick = np.argmax(scores, axis=1)  # ties: the earlier column
            else:
                better = scores[:, 1:] > scores[:, :1]
                pick = np.where(better.any(axis=1), better.argmax(axis=1) + 1, 0)
            move |= flips[pick]
        nxt[run] = configs ^ move
    path = np.empty((periods + 1, landscapes), dtype=np.int64)
    path[0] = rng.integers(0, 2**n, size=landscapes)
    rows = np.arange(landscapes)
    for t in range(1, periods + 1):
        if rule != "random_flip":
            path[t] = nxt[rows, path[t - 1]]
            continue
        now = path[t - 1]
        new = now.copy()
        for d, dec in enumerate(departments):
            flip = np.left_shift(1, rng.choice(dec, size=landscapes))
            gain = stored[rows, now ^ flip, d] > stored[rows, now, d]
            new = np.where(gain, new ^ flip, new)
        path[t] = new
    moved = np.zeros_like(path)
    moved[1:] = np.bitwise_count(path[1:] ^ path[:-1])
    in_cycle, _ = limit_cycles(path, moved)
    return SiloRuns(
        cycled=in_cycle[-cycle_window:].any(axis=0), revisited=revisits(path, moved).any(axis=0)
    )


def rivkin_siggelkow(
    *,
    k: int,
    incent: float,
    design: str,
    proposals: int,
    landscapes: int,
    seed: int | Sequence[int] = 0,
    alternatives: int = 1,
    periods: int = 100,
    long_run_from: int = 50,
) -> np.ndarray:
    """Rivkin & Siggelkow (2003): per landscape, the mean over periods ``long_run_from`` ..
    ``periods`` of firm performance divided by the landscape's global maximum.

    N = 6 decisions, departments {0, 1, 2} and {3, 4, 5}; each decision depends on ``k`` others
    drawn at random. Every period each department draws ``alternatives`` distinct one-bit
    changes of its own decisions and ranks them and the status quo by own performance +
    ``incent`` x the other department's (each the mean contribution of its three decisions).
    ``rubber_stamp``: each department's first choice is adopted. ``active``: each sends its
    ``proposals`` best; the head office takes the combination with the highest firm performance
    if it beats the status quo."""
    if design not in RS_DESIGNS:
        raise ValueError(f"unknown design {design!r}; allowed: {', '.join(RS_DESIGNS)}")
    rng = np.random.default_rng(seed)
    departments = [[0, 1, 2], [3, 4, 5]]
    dept_perf = np.empty((landscapes, 64, 2))
    for run in range(landscapes):
        deps = [sorted(rng.choice([j for j in range(6) if j != i], size=k, replace=False))
                for i in range(6)]  # fmt: skip
        c = contributions(deps, rng)
        dept_perf[run] = np.stack([c[:, dec].mean(axis=1) for dec in departments], axis=1)
    firm = dept_perf.mean(axis=2)
    best = firm.max(axis=1)
    rows = np.arange(landscapes)
    config = rng.integers(0, 64, size=landscapes)
    normalised = np.empty((periods + 1, landscapes))
    normalised[0] = firm[rows, config] / best
    for t in range(1, periods + 1):
        ranked = []  # per department: (landscapes, 1 + alternatives) configurations, best first
        for d, dec in enumerate(departments):
            drawn = np.argsort(rng.random((landscapes, len(dec))), axis=1)[:, :alternatives]
            flips = np.left_shift(1, np.asarray(dec)[drawn])
            cands = np.concatenate((config[:, None], config[:, None] ^ flips), axis=1)
            own = dept_perf[rows[:, None], cands, d]
            other = dept_perf[rows[:, None], cands, 1 - d]
            score = own + incent * other
            order = np.argsort(-score, axis=1, kind="stable")  # ties: the status quo first
            ranked.append(np.take_along_axis(cands, order, axis=1) & sum(1 << i for i in dec))
        if design == "rubber_stamp":
            config = ranked[0][:, 0] | ranked[1][:, 0]
        else:
            a, b = ranked[0][:, :proposals], ranked[1][:, :proposals]
            combos = (a[:, :, None] | b[:, None, :]).reshape(landscapes, -1)
            cands = np.concatenate((config[:, None], combos), axis=1)
            pick = np.argmax(firm[rows[:, None], cands], axis=1)  # ties: the status quo
            config = cands[rows, pick]
        normalised[t] = firm[rows, config] / best
    return normalised[long_run_from:].mean(axis=0)
