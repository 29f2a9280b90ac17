"""Independent implementations of three published protocols, for docking.

Plain numpy written from the papers' descriptions (as issues 3 and 11 state the protocols),
sharing no code with the model's engine, landscapes or random streams (`sim.engine`,
`sim.landscape`, `sim.streams`): `validate` compares the model's numbers with these, which run
the same protocol by other code (Axtell, Axelrod, Epstein & Cohen 1996, "docking"). Only the
measurement of limit cycles is shared (`sim.metrics.limit_cycles`), so that both count the
same thing. See docs/validation.md.

- `levinthal`: Levinthal (1997): populations of 100 organisations on next-K landscapes,
  first-improvement local search in a fixed order, long jumps, selection with probability
  V / V_max and a changed attribute at t = 25 (Figs. 1 and 6); other readings of its rules
  can be swapped in (`LEVINTHAL_READINGS`).
- `rivkin_siggelkow`: Rivkin & Siggelkow (2003): two departments of three decisions, random
  interactions, each department examining ``alternatives`` randomly drawn one-bit changes of
  its own decisions per period (AltSub), a rubber-stamping or an active head office.
- `silo_cycling`: departments in a nearly decomposable landscape (after Ethiraj & Levinthal
  2004) moving at once or one after another (in a random or a fixed order), with a choice of
  how cross-department links are drawn and of the search rule (used by
  `benchmarks/cycling.py`).
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
#: How departments' moves combine (`silo_cycling`): all at once, or one after another in an
#: order drawn each period or always the same.
SILO_MOVES: tuple[str, ...] = ("simultaneous", "sequential_random", "sequential_fixed")
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
    moves: str = "simultaneous",
    alpha: float = 0.0,
    sizes: Sequence[int] = (4, 4, 4),
    periods: int = 100,
    cycle_window: int = 20,
) -> SiloRuns:
    """Departments, each fully interdependent inside (every decision
    depends on the others of its department) and linked to other departments by ``cross``
    links per ``scheme``; each ranks its alternatives by ``(1 - alpha) E_d + alpha E``
    (E_d: mean contribution of its decisions; E: the firm's mean). Rules: ``best`` = the best
    one-bit change of its own decisions if it beats the status quo; ``first`` = the first that
    does, in a fixed order; ``random_flip`` = one own decision drawn at random, changed if that
    is better. ``moves``: ``simultaneous`` = every department moves from the period's start
    and all changes are made at once; ``sequential_random`` / ``sequential_fixed`` = one
    department after another, each from the configuration the previous one left, in an order
    drawn each period / always department 0 first (rules ``best`` and ``first`` only). A run
    cycles if it is in a limit cycle in one of its last ``cycle_window`` periods
    (`sim.metrics.limit_cycles`); random start, one landscape per run."""
    if rule not in SILO_RULES:
        raise ValueError(f"unknown rule {rule!r}; allowed: {', '.join(SILO_RULES)}")
    if moves not in SILO_MOVES or (moves != "simultaneous" and rule == "random_flip"):
        raise ValueError(
            f"unknown moves {moves!r} for rule {rule!r}; allowed: {', '.join(SILO_MOVES)}"
            " (sequential with the rules best and first)"
        )
    rng = np.random.default_rng(seed)
    departments = _departments(sizes)
    n = sum(sizes)
    configs = np.arange(2**n)
    nxt = np.empty((landscapes, 2**n), dtype=np.int64)
    sequential = moves != "simultaneous"  # then each department's move: (L, D, 2**n)
    step = np.empty((landscapes, len(sizes), 2**n) if sequential else (0, 0, 0), dtype=np.int32)
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
        for d, dec in enumerate(departments):  # its move from every configuration
            flips = np.array([0] + [1 << i for i in dec])
            scores = utility[configs[:, None] ^ flips[None, :], d]  # status quo first
            if rule == "best":
                pick = np.argmax(scores, axis=1)  # ties: the earlier column
            else:
                better = scores[:, 1:] > scores[:, :1]
                pick = np.where(better.any(axis=1), better.argmax(axis=1) + 1, 0)
            move |= flips[pick]
            if sequential:
                step[run, d] = configs ^ flips[pick]
        nxt[run] = configs ^ move
    path = np.empty((periods + 1, landscapes), dtype=np.int64)
    path[0] = rng.integers(0, 2**n, size=landscapes)
    rows = np.arange(landscapes)
    for t in range(1, periods + 1):
        if sequential:
            now = path[t - 1]
            if moves == "sequential_fixed":
                order = np.tile(np.arange(len(sizes)), (landscapes, 1))
            else:
                order = np.argsort(rng.random((landscapes, len(sizes))), axis=1)
            for position in range(len(sizes)):
                now = step[rows, order[:, position], now]
            path[t] = now
            continue
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
) -> np.ndarray:
    """Rivkin & Siggelkow (2003): per landscape, firm performance divided by the landscape's
    global maximum in every period 0..``periods``, shape (landscapes, periods + 1).

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
    return normalised.T


#: Readings of Levinthal's (1997) protocol where its statement leaves room (`levinthal`): the
#: first of each is issue 3's, the one `validate` compares the model with.
LEVINTHAL_READINGS: dict[str, tuple[str, ...]] = {
    "selection_on": ("after_moves", "before_moves"),
    "imitation": ("fitness", "uniform"),
    "jump_against": ("local_move", "start"),
    "local_search": ("first_fixed", "one_random"),
}


@dataclass(frozen=True)
class LevinthalRuns:
    """Per landscape: % of incumbents (alive at ``incumbents_at``) alive at each period of
    ``survival_periods``, shape (landscapes, periods), NaN where a landscape has none; and the
    number of distinct forms and the organisations' mean fitness divided by the landscape's
    maximum, in every period 0..horizon, each shape (landscapes, horizon + 1)."""

    survival: np.ndarray
    forms: np.ndarray
    fitness: np.ndarray


def levinthal(
    *,
    k: int,
    landscapes: int,
    seed: int | Sequence[int] = 0,
    selection: bool = True,
    p_jump: float = 1.0,
    change_at: int | None = 25,
    survival_periods: Sequence[int] = tuple(range(24, 51)),
    incumbents_at: tuple[int, int] = (23, 24),
    n: int = 10,
    firms: int = 100,
    periods: int = 50,
    reading: dict[str, str] | None = None,
    chunk: int = 250,
) -> LevinthalRuns:
    """Levinthal (1997), "Adaptation on rugged landscapes", as issue 3 states the protocol.

    Per landscape: N = ``n`` attributes, each contributing a U(0,1) draw per setting of itself
    and the ``k`` attributes that follow it (cyclically); fitness = the mean contribution.
    ``firms`` organisations start from random forms. Every period, each organisation first
    tries its one-attribute changes in a fixed order (attribute 0 first) and takes the first
    that raises fitness (one step), then, with probability ``p_jump``, considers a random form
    (a long jump) and takes it if it is fitter than what local search gave. Then, with
    ``selection``, each organisation survives with probability V / V_max (V_max: the fittest
    in its population); each vacancy goes to a random form with probability
    1 - mean(V) / V_max, else to a copy of a survivor drawn in proportion to V; a newcomer is a
    new organisation. At the start of period ``change_at`` (None: never) one attribute, drawn
    at random, gets a new contribution table.

    ``reading`` swaps in another reading of a rule (`LEVINTHAL_READINGS`, for
    docs/validation.md's table of what each changes): selection on the fitness before the
    period's moves; imitators copying a survivor drawn uniformly; a long jump taken if fitter
    than the period's starting form (replacing the local move); local search trying one
    attribute drawn at random. Landscapes are simulated ``chunk`` at a time."""
    chosen = {name: options[0] for name, options in LEVINTHAL_READINGS.items()}
    for name, value in (reading or {}).items():
        if value not in LEVINTHAL_READINGS.get(name, ()):
            allowed = ", ".join(f"{k}: {'/'.join(v)}" for k, v in LEVINTHAL_READINGS.items())
            raise ValueError(f"unknown reading {name}={value!r}; allowed: {allowed}")
        chosen[name] = value
    rng = np.random.default_rng(seed)
    parts = []
    for start in range(0, landscapes, chunk):
        size = min(chunk, landscapes - start)
        parts.append(_levinthal_chunk(
            rng, k, size, selection, p_jump, change_at, survival_periods, incumbents_at,
            n, firms, periods, chosen,
        ))  # fmt: skip
    return LevinthalRuns(*(np.concatenate(part) for part in zip(*parts, strict=True)))


def _levinthal_fitness(tables: np.ndarray, n: int, k: int) -> np.ndarray:
    """Fitness of every form (landscapes, 2**n) from per-attribute tables (L, n, 2**(k+1))."""
    bits = _bits(n)
    fitness = np.zeros((tables.shape[0], 2**n))
    for i in range(n):
        index = np.zeros(2**n, dtype=np.int64)
        for place, j in enumerate([i] + [(i + step) % n for step in range(1, k + 1)]):
            index |= bits[:, j] << place
        fitness += tables[:, i, index]
    return fitness / n


def _first_improvement(fitness: np.ndarray, n: int) -> np.ndarray:
    """Per landscape and form: the form after one step of first-improvement local search."""
    forms = np.arange(2**n)
    step = np.tile(forms, (fitness.shape[0], 1))
    moved = np.zeros(step.shape, dtype=bool)
    for i in range(n):  # the fixed order: attribute 0 first; only the first improvement counts
        neighbour = forms ^ (1 << i)
        better = ~moved & (fitness[:, neighbour] > fitness)
        step = np.where(better, neighbour[None, :], step)
        moved |= better
    return step


def _distinct(form: np.ndarray) -> np.ndarray:
    ordered = np.sort(form, axis=1)
    return 1 + (ordered[:, 1:] != ordered[:, :-1]).sum(axis=1)


def _levinthal_chunk(
    rng, k, size, selection, p_jump, change_at, survival_periods, incumbents_at, n, firms,
    periods, reading,
):  # fmt: skip
    tables = rng.random((size, n, 2 ** (k + 1)))
    fitness = _levinthal_fitness(tables, n, k)
    local = _first_improvement(fitness, n)
    lines = np.arange(size)[:, None]
    form = rng.integers(0, 2**n, size=(size, firms))
    born = np.zeros((size, firms), dtype=np.int64)  # period an organisation entered (0: start)
    births = np.empty((periods + 1, size, firms), dtype=np.int64)
    births[0] = born
    distinct = np.empty((size, periods + 1), dtype=np.int64)
    distinct[:, 0] = _distinct(form)
    mean_fitness = np.empty((size, periods + 1))
    mean_fitness[:, 0] = fitness[lines, form].mean(axis=1) / fitness.max(axis=1)
    for t in range(1, periods + 1):
        if change_at is not None and t == change_at:
            changed = rng.integers(0, n, size=size)
            tables[np.arange(size), changed] = rng.random((size, 2 ** (k + 1)))
            fitness = _levinthal_fitness(tables, n, k)
            local = _first_improvement(fitness, n)
        start = form
        if reading["local_search"] == "first_fixed":
            form = local[lines, form]
        else:  # one attribute drawn at random, changed if that is fitter
            neighbour = form ^ (1 << rng.integers(0, n, size=(size, firms)))
            form = np.where(fitness[lines, neighbour] > fitness[lines, form], neighbour, form)
        if p_jump > 0:
            jumps = rng.random((size, firms)) < p_jump
            target = rng.integers(0, 2**n, size=(size, firms))
            against = start if reading["jump_against"] == "start" else form
            form = np.where(
                jumps & (fitness[lines, target] > fitness[lines, against]), target, form
            )
        if selection:
            judged = start if reading["selection_on"] == "before_moves" else form
            v = fitness[lines, judged]
            best = v.max(axis=1, keepdims=True)
            survive = rng.random((size, firms)) < v / best
            newcomer_share = 1.0 - v.mean(axis=1, keepdims=True) / best
            random_entry = rng.random((size, firms)) < newcomer_share
            weights = np.where(survive, v if reading["imitation"] == "fitness" else 1.0, 0.0)
            cumulative = np.cumsum(weights, axis=1)
            draw = rng.random((size, firms)) * cumulative[:, -1:]
            copied = np.empty((size, firms), dtype=np.int64)
            for line in range(size):  # the survivor copied by each vacancy
                copied[line] = form[line, np.searchsorted(cumulative[line], draw[line], "right")]
            fresh = rng.integers(0, 2**n, size=(size, firms))
            dead = ~survive
            form = np.where(dead, np.where(random_entry, fresh, copied), form)
            born = np.where(dead, t, born)
        births[t] = born
        distinct[:, t] = _distinct(form)
        mean_fitness[:, t] = fitness[lines, form].mean(axis=1) / fitness.max(axis=1)
    a, b = incumbents_at
    incumbent = births[b] <= a  # alive at a and still the same organisation at b
    counts = incumbent.sum(axis=1)
    alive = np.stack([(births[t] == births[b]) & incumbent for t in survival_periods], axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 100 * alive.sum(axis=2) / counts[:, None]
    return share, distinct, mean_fitness
