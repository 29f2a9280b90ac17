"""NK landscapes over an interaction structure (plain numpy; networkx only for graphs).

A configuration of N binary decisions is coded as an integer: decision ``i`` is bit ``i``.
Every function here works on all 2**N configurations at once, so global optima, peaks and
distances are exact and a simulation period costs array look-ups only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np

from sim.limits import ENUMERABLE_DECISIONS, TABULATED_DECISIONS

if TYPE_CHECKING:  # networkx is imported where a graph is built (it is slow to import)
    import networkx as nx

Structure = Literal["modular", "nearly_decomposable", "value_chain", "random", "next_k"]
STRUCTURES: tuple[str, ...] = ("modular", "nearly_decomposable", "value_chain", "random", "next_k")


@cache
def configurations(n: int) -> np.ndarray:
    """All 2**n configurations as integers (read-only)."""
    if not 0 < n <= ENUMERABLE_DECISIONS:
        raise ValueError(
            f"n must be in 1..{ENUMERABLE_DECISIONS} to enumerate every configuration, got {n}"
        )
    configs = np.arange(2**n, dtype=np.int64)
    configs.flags.writeable = False
    return configs


def bit(configs: np.ndarray | int, i: int) -> np.ndarray | int:
    """Value (0/1) of decision ``i`` in each configuration."""
    return (configs >> i) & 1


def hamming(a: np.ndarray | int, b: np.ndarray | int) -> np.ndarray | int:
    """Number of decisions in which configurations differ."""
    return np.bitwise_count(np.bitwise_xor(a, b))


def mask_of(decisions: Iterable[int]) -> int:
    """Integer mask with the bits of ``decisions`` set."""
    m = 0
    for i in decisions:
        m |= 1 << int(i)
    return m


def interaction_graph(
    structure: Structure,
    departments: Sequence[Sequence[int]],
    *,
    k_within: int = 0,
    cross: int = 0,
    k: int = 0,
    rng: np.random.Generator,
) -> nx.DiGraph:
    """Draw an interaction structure; an edge ``j -> i``: decision i's contribution depends on j.

    - ``modular``: each decision depends on ``k_within`` others of its own department;
    - ``nearly_decomposable``: modular plus ``cross`` dependencies on other departments' decisions;
    - ``value_chain``: modular plus ``cross`` dependencies on the preceding department's decisions;
    - ``random``: each decision depends on ``k`` decisions drawn from all others;
    - ``next_k``: decision i depends on the ``k`` decisions that follow it (cyclically), Kauffman's
      adjacent neighbourhood.
    """
    edges = interaction_edges(structure, departments, k_within=k_within, cross=cross, k=k, rng=rng)
    return graph_of(departments, edges)


def interaction_edges(
    structure: Structure,
    departments: Sequence[Sequence[int]],
    *,
    k_within: int = 0,
    cross: int = 0,
    k: int = 0,
    rng: np.random.Generator,
) -> list[tuple[int, int]]:
    """The edges ``(j, i)`` of `interaction_graph` (the same draws), without building a graph.
    Structures that draw nothing (``next_k``; the others with no dependency to pick) are the
    same for every generator: made once per process (`_fixed_edges`), ``rng`` untouched."""
    picks = {  # (the counts each structure picks: `cross` only where it is read)
        "next_k": 0,
        "random": k,
        "modular": k_within,
        "nearly_decomposable": max(k_within, cross),
        "value_chain": max(k_within, cross),
    }
    if picks.get(structure, 1) <= 0:
        parts = tuple(tuple(int(i) for i in d) for d in departments)
        return list(_fixed_edges(structure, parts, k_within, cross, k))
    return _drawn_edges(structure, departments, k_within, cross, k, rng)


@lru_cache(maxsize=256)
def _fixed_edges(
    structure: Structure,
    departments: tuple[tuple[int, ...], ...],
    k_within: int,
    cross: int,
    k: int,
) -> tuple[tuple[int, int], ...]:
    """`interaction_edges` of a structure that draws nothing (a generator no one reads)."""
    unused = np.random.default_rng(0)
    return tuple(_drawn_edges(structure, departments, k_within, cross, k, unused))


def _drawn_edges(
    structure: Structure,
    departments: Sequence[Sequence[int]],
    k_within: int,
    cross: int,
    k: int,
    rng: np.random.Generator,
) -> list[tuple[int, int]]:
    """`interaction_edges`, drawn from ``rng``."""
    n = sum(len(d) for d in departments)
    if sorted(int(i) for decisions in departments for i in decisions) != list(range(n)):
        raise ValueError("departments must partition the decisions 0..N-1")

    def pick(candidates: list[int], count: int) -> list[int]:
        count = min(count, len(candidates))
        if count <= 0:
            return []
        # the same draw as choosing from the list itself, without converting it to an array
        return [candidates[c] for c in rng.choice(len(candidates), size=count, replace=False)]

    edges: list[tuple[int, int]] = []
    for d, decisions in enumerate(departments):
        for i in decisions:
            if structure == "next_k":
                sources = [(i + j) % n for j in range(1, k + 1)]
            elif structure == "random":
                sources = pick([j for j in range(n) if j != i], k)
            else:
                sources = pick([j for j in decisions if j != i], k_within)
                if structure == "nearly_decomposable":
                    others = [j for e, dec in enumerate(departments) if e != d for j in dec]
                    sources += pick(others, cross)
                elif structure == "value_chain" and d > 0:
                    sources += pick(list(departments[d - 1]), cross)
                elif structure not in ("modular", "value_chain", "nearly_decomposable"):
                    raise ValueError(f"unknown structure {structure!r}; allowed: {STRUCTURES}")
            edges.extend((int(j), int(i)) for j in sources)
    return edges


def graph_of(departments: Sequence[Sequence[int]], edges: Iterable[tuple[int, int]]) -> nx.DiGraph:
    """The interaction graph of ``edges`` over the decisions of ``departments`` (each node holds
    its department)."""
    import networkx as nx

    graph = nx.DiGraph()
    graph.add_nodes_from(
        (int(i), {"department": d}) for d, decisions in enumerate(departments) for i in decisions
    )
    graph.add_edges_from(edges)  # once: networkx's per-call cost is most of a small graph's
    return graph


def edge_dependencies(n: int, edges: Iterable[tuple[int, int]]) -> tuple[tuple[int, ...], ...]:
    """D(i) for every decision i of ``n`` from edges ``(j, i)``: `dependencies` of their graph."""
    sources: list[set[int]] = [set() for _ in range(n)]
    for j, i in edges:
        sources[i].add(j)
    return tuple(tuple(sorted(s)) for s in sources)


def dependencies(graph: nx.DiGraph) -> tuple[tuple[int, ...], ...]:
    """D(i) for every decision i: the decisions its contribution depends on, sorted."""
    return tuple(tuple(sorted(graph.predecessors(i))) for i in range(graph.number_of_nodes()))


def department_links(
    departments: Sequence[Sequence[int]], edges: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], int]:
    """Pairs of departments ``(a, b)``, ``a < b``, -> the number of dependencies between their
    decisions, either way."""
    owner = {int(i): d for d, decisions in enumerate(departments) for i in decisions}
    links: dict[tuple[int, int], int] = {}
    for j, i in edges:
        a, b = owner[int(j)], owner[int(i)]
        if a != b:
            pair = (min(a, b), max(a, b))
            links[pair] = links.get(pair, 0) + 1
    return dict(sorted(links.items()))


def department_interdependence(graph: nx.DiGraph) -> nx.Graph:
    """Departments as nodes, edge weights = number of cross-department dependencies."""
    import networkx as nx

    result = nx.Graph()
    departments: dict[int, list[int]] = {}
    for node, d in graph.nodes(data="department"):
        departments.setdefault(d, []).append(node)
    result.add_nodes_from(sorted(departments))
    owners = [departments.get(d, []) for d in range(max(departments, default=-1) + 1)]
    for (a, b), weight in department_links(owners, graph.edges).items():
        result.add_edge(a, b, weight=weight)
    return result


@dataclass(frozen=True)
class NKTables:
    """Kauffman contribution tables: ``tables[i]`` maps (s_i, s_D(i)) to a U(0,1) draw."""

    deps: tuple[tuple[int, ...], ...]
    tables: tuple[np.ndarray, ...]

    @property
    def n(self) -> int:
        return len(self.deps)

    @classmethod
    def draw(cls, deps: Sequence[Sequence[int]], rng: np.random.Generator) -> NKTables:
        """Draw a fresh table for every decision."""
        deps = tuple(tuple(int(j) for j in d) for d in deps)
        ends = np.cumsum([2 ** (1 + len(d)) for d in deps]).tolist()
        drawn = rng.random(ends[-1] if ends else 0)  # one draw, cut: the same numbers
        return cls(deps, tuple(drawn[a:b] for a, b in zip([0, *ends], ends, strict=False)))

    def redraw(self, decisions: Iterable[int], rng: np.random.Generator) -> NKTables:
        """A copy with the tables of ``decisions`` drawn anew (Levinthal's changed attribute)."""
        tables = list(self.tables)
        for i in sorted(set(int(i) for i in decisions)):
            tables[i] = rng.random(tables[i].size)
        return NKTables(self.deps, tuple(tables))

    def contributions(self) -> np.ndarray:
        """Contribution of every decision in every configuration, shape (2**N, N)."""
        return np.stack(
            [
                t[_gathered_bits(self.n, (i, *d))]
                for i, (d, t) in enumerate(zip(self.deps, self.tables, strict=True))
            ],
            axis=1,
        )

    def group_means(
        self, groups: Sequence[Sequence[int]], out: np.ndarray | None = None
    ) -> np.ndarray:
        """Mean contribution of each group of decisions (e.g. a department's) in every
        configuration, shape (2**N, len(groups)) (written into ``out`` if given).

        A group's mean depends only on the bits its decisions and their dependencies read; it
        is computed once per setting of those bits and spread to all 2**N configurations.
        Configurations are handled as arrays of shape (2,) * bits, so a table and the spread
        are broadcasts, not look-ups.
        """
        n = self.n
        out = np.empty((2**n, len(groups))) if out is None else out
        plan = _group_plan(self.deps, tuple(tuple(int(i) for i in g) for g in groups))
        for d, (size, parts, spread) in enumerate(plan):
            if len(size) == n and n <= _GATHERED_DECISIONS:  # every decision's bits read
                out[:, d] = self._gathered_total(tuple(i for i, *_ in parts)) / len(parts)
                continue
            total = np.zeros(size)
            for i, *how in parts:
                total += _arrange(self.tables[i], *how)
            mean = total / len(parts)
            shape, order, view, _ = spread  # (into a column: the view is as fast)
            np.copyto(
                out[:, d].reshape((2,) * n), _arrange(mean.reshape(-1), shape, order, view, None)
            )
        return out

    def _gathered_total(self, group: tuple[int, ...]) -> np.ndarray:
        """The sum of ``group``'s contributions in every configuration, added decision by
        decision in ``group``'s order (as `group_means`' loop: the same numbers), from one
        look-up of every contribution (`_table_rows`) and a reduction over the decisions
        (over the outer axis numpy adds row after row, in order)."""
        flat = np.concatenate(self.tables) if self.tables else np.zeros(0)
        return np.add.reduce(flat.take(_table_rows(self.deps, group)), axis=0)

    def fitness(self) -> np.ndarray:
        """Mean contribution of every configuration, shape (2**N,)."""
        return self.group_means([range(self.n)])[:, 0]

    def evaluate(
        self,
        configs: np.ndarray | Sequence[int] | int,
        groups: Sequence[Sequence[int]] | None = None,
    ) -> np.ndarray:
        """Mean contribution of each group of decisions (all decisions by default) in each of
        ``configs`` (uint64 bit masks, any N up to 64), shape configs.shape + (groups,): the same
        numbers as `group_means` (and `fitness`) at those configurations, without enumerating
        (see "Landscapes beyond tables" below)."""
        flat, offsets = self._flat
        return _on_demand_means(
            lambda rows: flat[rows.astype(np.int64) + offsets], self.deps, configs, groups
        )

    def contributions_at(self, decisions: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The contributions of ``decisions`` at their table ``rows`` (arrays of one shape)."""
        flat, offsets = self._flat
        return flat[offsets[decisions] + rows.astype(np.int64)]

    @cached_property
    def _flat(self) -> tuple[np.ndarray, np.ndarray]:
        """The tables end to end, and where each decision's starts (for `evaluate`)."""
        sizes = [t.size for t in self.tables]
        offsets = np.concatenate(([0], np.cumsum(sizes)[:-1])).astype(np.int64)
        return np.concatenate(self.tables) if self.tables else np.zeros(0), offsets


Plan = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[int, ...] | None]
_LOW_BITS = 6  # in large arrays, tables are laid out over this many low bits (see `_arrange`)


@lru_cache(maxsize=256)  # structures repeat across seeds (next_k, modular without K)
def _group_plan(
    deps: tuple[tuple[int, ...], ...], groups: tuple[tuple[int, ...], ...]
) -> list[tuple[tuple[int, ...], list[tuple[int, *Plan]], Plan]]:
    """How `NKTables.group_means` adds up each group: the shape of the group's total (the bits
    its decisions read), each decision's table as a broadcast over it, and the total's spread
    over all N decisions."""
    n = len(deps)
    plan = []
    for group in groups:
        bits = sorted({j for i in group for j in (i, *deps[i])})
        place = {j: k for k, j in enumerate(bits)}
        parts = [
            (i, *_broadcast_plan(tuple(place[j] for j in (i, *deps[i])), len(bits))) for i in group
        ]
        plan.append(((2,) * len(bits), parts, _broadcast_plan(tuple(bits), n)))
    return plan


def _broadcast_plan(bits: tuple[int, ...], n: int) -> Plan:
    """Values indexed by the integer formed by ``bits`` (bit k of the index is bit ``bits[k]``
    of a configuration) as an array that broadcasts to (2,) * n, the configurations of n
    decisions in C order (axis a holds bit n - 1 - a): reshape, transpose, reshape (a view),
    and for large n a copy over every setting of the low bits (see `_arrange`)."""
    m = len(bits)  # in values reshaped to (2,) * m, axis a holds bits[m - 1 - a]
    order = tuple(sorted(range(m), key=lambda a: -bits[m - 1 - a]))
    view = [1] * n
    for j in bits:
        view[n - 1 - j] = 2
    block = (*view[: n - _LOW_BITS], *(2,) * _LOW_BITS) if n >= 2 * _LOW_BITS else None
    return (2,) * m, order, tuple(view), block


def _arrange(values: np.ndarray, shape, order, view, block) -> np.ndarray:
    """``values`` laid out as its plan says (`_broadcast_plan`). With ``block``, copied over
    every setting of the low bits: numpy adds an array broadcast over (2,) * n slowly when
    its innermost axes are broadcast or short, and quickly in contiguous blocks."""
    arranged = values.reshape(shape).transpose(order).reshape(view)
    return arranged if block is None else np.ascontiguousarray(np.broadcast_to(arranged, block))


#: Most decisions for which `NKTables.group_means` reads a group of every decision with one
#: look-up per contribution (`_table_rows`: N x 2**N indices, 0.5 MB at 12).
_GATHERED_DECISIONS = 12


@lru_cache(maxsize=32)  # structures repeat across seeds (next_k, modular without K)
def _table_rows(deps: tuple[tuple[int, ...], ...], group: tuple[int, ...]) -> np.ndarray:
    """Where each of ``group``'s contributions is in every configuration, in the decisions'
    tables end to end (`NKTables._flat`), shape (len(group), 2**N) (read-only)."""
    n = len(deps)
    starts = np.cumsum([0] + [2 ** (1 + len(d)) for d in deps])
    at = np.stack([starts[i] + _gathered_bits(n, (i, *deps[i])) for i in group])
    at.flags.writeable = False
    return at


@lru_cache(maxsize=64)  # small ones repeat; each holds up to 2**N indices
def _gathered_bits(n: int, bits: tuple[int, ...]) -> np.ndarray:
    """For every configuration of n decisions, the integer formed by its ``bits`` in order: bit
    k of the result is bit ``bits[k]`` of the configuration (read-only). A configuration's low
    and high halves are looked up in two small tables, so the cost is one pass over 2**n. (The
    row of a decision's table: ``bits`` = the places of the decision and its dependencies.)"""
    low_bits = (n + 1) // 2
    low = np.arange(2**low_bits, dtype=np.int64)
    high = np.arange(2 ** (n - low_bits), dtype=np.int64)
    low_part = np.zeros(low.size, dtype=np.int64)
    high_part = np.zeros(high.size, dtype=np.int64)
    for k, j in enumerate(bits):
        if j < low_bits:
            low_part |= ((low >> j) & 1) << k
        else:
            high_part |= ((high >> (j - low_bits)) & 1) << k
    gathered = (high_part[:, None] | low_part[None, :]).reshape(-1)
    gathered.flags.writeable = False
    return gathered


def neighbours(configs: np.ndarray, decisions: Iterable[int]) -> np.ndarray:
    """One-bit flips of ``decisions`` for each configuration, one row per configuration."""
    flips = np.array([1 << int(i) for i in decisions], dtype=np.int64)
    return np.bitwise_xor(np.asarray(configs)[:, None], flips[None, :])


def local_peaks(fitness: np.ndarray) -> np.ndarray:
    """Configurations no one-bit flip improves upon (strictly higher than every neighbour)."""
    n = int(np.log2(fitness.size))
    configs = configurations(n)
    return np.all(fitness[:, None] > fitness[neighbours(configs, range(n))], axis=1)


# ---------------------------------------------------------------------------------------------
# Landscapes beyond tables: evaluation on demand, counter-based contributions, estimated optima
#
# `NKTables.group_means` enumerates all 2**N configurations, which caps N near 20. The functions
# below evaluate any configurations of up to 64 decisions (as uint64 bit masks) on demand,
# adding contributions in the same order as `group_means`, so the two give the same numbers,
# bit for bit, wherever both exist (tests/test_landscape_ondemand.py). Contributions come either
# from drawn tables (`NKTables`, today's numbers) or from counter-based draws (`CounterNK`): a
# contribution is then a pure function of (landscape key, decision, the states of the decision
# and of the K decisions it depends on), as the firms' random streams are (`sim.streams`), so no
# table of 2**(1 + K) entries needs to exist.

#: Most decisions of an on-demand landscape: a configuration is one 64-bit word.
MAX_ON_DEMAND_DECISIONS = 64
#: Most decisions for which `GroupEvaluator` keeps a table over all 2**N configurations (a cache:
#: the numbers are the same either way) and `best_configuration` enumerates them.
MAX_TABULATED_DECISIONS = TABULATED_DECISIONS
#: Most entries of one decision's contribution table that `CounterNK.tables` materialises.
MAX_TABLE_ENTRIES = 2**22
#: Restarts of local search that estimate the best configuration of a landscape too large to
#: enumerate (`best_configuration`).
DEFAULT_RESTARTS = 200

_DECISION_GAMMA = np.uint64(0xC2B2AE3D27D4EB4F)  # odd: a decision's key apart from its draws
_START_GAMMA = np.uint64(0x27D4EB2F165667C5)  # odd: restart starts apart from contributions


def check_on_demand(n: int) -> None:
    """Refuse a landscape of ``n`` decisions that a 64-bit configuration cannot hold."""
    if not 0 < n <= MAX_ON_DEMAND_DECISIONS:
        raise ValueError(
            f"an on-demand landscape has 1..{MAX_ON_DEMAND_DECISIONS} decisions "
            f"(a configuration is one 64-bit word), got {n}"
        )


def as_configurations(configs: np.ndarray | Sequence[int] | int) -> np.ndarray:
    """Configurations as uint64 bit masks (decision i is bit i); negative numbers are refused."""
    arr = np.asarray(configs)
    if arr.dtype.kind == "i":
        if arr.size and int(arr.min()) < 0:
            raise ValueError("a configuration is a non-negative bit mask")
        return arr.astype(np.uint64)
    if arr.dtype.kind == "u":
        return arr.astype(np.uint64, copy=False)
    if arr.dtype == object or arr.size == 0:  # Python ints beyond int64, or nothing
        return np.array(arr.tolist() if arr.size else [], dtype=np.uint64).reshape(arr.shape)
    raise ValueError(f"configurations must be whole numbers, got dtype {arr.dtype}")


def table_rows(configs: np.ndarray, bits: Sequence[int]) -> np.ndarray:
    """For uint64 ``configs``, the integer formed by their ``bits`` in order (bit k of the result
    is bit ``bits[k]`` of a configuration): the row of a decision's contribution table when
    ``bits`` = (the decision, *its dependencies), as in `_gathered_bits`."""
    one = np.uint64(1)
    rows = np.zeros(configs.shape, dtype=np.uint64)
    for k, j in enumerate(bits):
        rows |= ((configs >> np.uint64(j)) & one) << np.uint64(k)
    return rows


@lru_cache(maxsize=256)
def row_plan(deps: tuple[tuple[int, ...], ...]) -> tuple[np.ndarray, np.ndarray]:
    """For `all_table_rows`: each decision's bits (itself, then its dependencies), padded to
    the widest, shape (N, 1 + K_max), and the value of each in its row (2**k; 0 where
    padded)."""
    width = 1 + max((len(d) for d in deps), default=0)
    bits = np.zeros((len(deps), width), dtype=np.uint64)
    places = np.zeros((len(deps), width), dtype=np.uint64)
    for i, d in enumerate(deps):
        for k, j in enumerate((i, *d)):
            bits[i, k], places[i, k] = j, 1 << k
    return bits, places


def all_table_rows(configs: np.ndarray, deps: Sequence[Sequence[int]]) -> np.ndarray:
    """`table_rows` of every decision at once: shape configs.shape + (N,), uint64."""
    if not isinstance(deps, tuple):
        deps = tuple(tuple(int(j) for j in d) for d in deps)
    bits, places = row_plan(deps)
    c = configs[..., None]
    rows = (c >> bits[:, 0]) & np.uint64(1)  # (a whole array per place: short inner loops
    for k in range(1, bits.shape[1]):  # in numpy are slow)
        rows |= ((c >> bits[:, k]) & np.uint64(1)) * places[:, k]
    return rows


def _on_demand_means(
    contributions: Callable[[np.ndarray], np.ndarray],
    deps: Sequence[Sequence[int]],
    configs: np.ndarray | Sequence[int] | int,
    groups: Sequence[Sequence[int]] | None,
) -> np.ndarray:
    """Mean contribution of each group in each configuration, shape configs.shape + (groups,):
    ``contributions`` maps every decision's table rows (`all_table_rows`, shape (C, N)) to its
    contributions; each group's are added in its order, then divided, as in
    `NKTables.group_means` (so the numbers are the same, bit for bit)."""
    n = len(deps)
    check_on_demand(n)
    c = as_configurations(configs)
    if c.size and n < 64 and int(c.max()) >> n:
        raise ValueError(f"a configuration has bits beyond the landscape's {n} decisions")
    groups = [range(n)] if groups is None else groups
    values = contributions(all_table_rows(c.reshape(-1), deps))  # (C, N)
    out = np.empty((c.size, len(groups)))
    for g, group in enumerate(groups):
        group = [int(i) for i in group]
        total = np.zeros(c.size)
        for i in group:
            total += values[:, i]
        out[:, g] = total / len(group)
    return out.reshape(*c.shape, len(groups))


@dataclass(frozen=True)
class CounterNK:
    """Kauffman contributions defined by counter-based draws: the contribution of decision i
    in a configuration is U(0,1) from SplitMix64 (`sim.streams.mix`) of decision i's key and the
    row its state and its dependencies' states form (`table_rows`). No table needs to exist, so
    N (up to 64) and K are bounded by time, not memory; `tables` materialises them when small.

    ``keys[i]`` is decision i's 64-bit key (`from_seed` derives them from a seed and a name);
    a redraw (`redraw`) gives the redrawn decisions keys of their own.
    """

    deps: tuple[tuple[int, ...], ...]
    keys: tuple[int, ...]

    @property
    def n(self) -> int:
        return len(self.deps)

    @classmethod
    def from_seed(cls, deps: Sequence[Sequence[int]], seed: int, name: str = "rugged") -> CounterNK:
        """The landscape of ``deps`` keyed by ``seed`` and ``name`` (one landscape per name)."""
        from sim.streams import firm_keys, mix

        deps = tuple(tuple(int(j) for j in d) for d in deps)
        check_on_demand(len(deps))
        for i, d in enumerate(deps):
            if any(not 0 <= j < len(deps) or j == i for j in d) or len(set(d)) != len(d):
                raise ValueError(f"dependencies of decision {i} must be other decisions: {d}")
        base = firm_keys(seed, f"landscape/{name}", 1)[0]
        keys = mix(base + np.arange(1, len(deps) + 1, dtype=np.uint64) * _DECISION_GAMMA)
        return cls(deps, tuple(int(k) for k in keys))

    def contribution(self, i: int, rows: np.ndarray) -> np.ndarray:
        """Decision i's contributions at table rows ``rows`` (uint64; see `table_rows`)."""
        from sim.streams import GAMMA, mix, uniforms

        counters = (np.asarray(rows, dtype=np.uint64) + np.uint64(1)) * GAMMA
        return uniforms(mix(np.uint64(self.keys[i]) + counters))

    def contributions_at(self, decisions: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The contributions of ``decisions`` at their table ``rows`` (arrays of one shape)."""
        from sim.streams import GAMMA, mix, uniforms

        keys = np.array(self.keys, dtype=np.uint64)[decisions]
        return uniforms(mix(keys + (rows.astype(np.uint64) + np.uint64(1)) * GAMMA))

    def evaluate(
        self,
        configs: np.ndarray | Sequence[int] | int,
        groups: Sequence[Sequence[int]] | None = None,
    ) -> np.ndarray:
        """Mean contribution of each group (all decisions by default) in each of ``configs``,
        shape configs.shape + (groups,) (as `NKTables.evaluate`)."""
        from sim.streams import GAMMA, mix, uniforms

        keys = np.array(self.keys, dtype=np.uint64)
        return _on_demand_means(
            lambda rows: uniforms(mix(keys + (rows + np.uint64(1)) * GAMMA)),
            self.deps,
            configs,
            groups,
        )

    def tables(self) -> NKTables:
        """The same contributions as tables (`NKTables`): every row of every decision drawn."""
        sizes = [2 ** (1 + len(d)) for d in self.deps]
        if max(sizes) > MAX_TABLE_ENTRIES:
            raise ValueError(
                f"a decision depends on {max(len(d) for d in self.deps)} others: its table "
                f"would have {max(sizes):,} entries (at most {MAX_TABLE_ENTRIES:,}); "
                "evaluate it on demand instead"
            )
        return NKTables(
            self.deps,
            tuple(self.contribution(i, np.arange(s, dtype=np.uint64)) for i, s in enumerate(sizes)),
        )

    def group_means(self, groups: Sequence[Sequence[int]]) -> np.ndarray:
        """`NKTables.group_means` of `tables` (all 2**N configurations; N <= 20)."""
        return self.tables().group_means(groups)

    def fitness(self) -> np.ndarray:
        """Mean contribution of every configuration, shape (2**N,) (N <= 20)."""
        return self.tables().fitness()

    def redraw(self, decisions: Iterable[int], rng: np.random.Generator) -> CounterNK:
        """A copy whose ``decisions`` have contributions drawn anew (Levinthal's changed
        attribute): each gets a new key, one 64-bit draw from ``rng`` in decision order (as
        `NKTables.redraw` draws new tables)."""
        keys = list(self.keys)
        for i in sorted(set(int(i) for i in decisions)):
            keys[i] = int(rng.integers(0, 2**64, dtype=np.uint64))
        return CounterNK(self.deps, tuple(keys))


class GroupEvaluator:
    """Mean contribution of each of ``groups`` (e.g. departments; None: the whole landscape) in
    any configurations: looked up in a table over all 2**N configurations while N is at most
    ``tabulate_up_to`` (`MAX_TABULATED_DECISIONS`), evaluated on demand above it. The numbers
    are the same either way; the table only saves time when configurations repeat."""

    def __init__(
        self,
        landscape: NKTables | CounterNK,
        groups: Sequence[Sequence[int]] | None = None,
        *,
        tabulate_up_to: int = MAX_TABULATED_DECISIONS,
    ) -> None:
        self.landscape = landscape
        self.n = landscape.n
        check_on_demand(self.n)
        self.groups = tuple(tuple(int(i) for i in g) for g in (groups or [range(self.n)]))
        self.table = (
            landscape.group_means(self.groups)
            if self.n <= min(tabulate_up_to, ENUMERABLE_DECISIONS)
            else None
        )

    def __repr__(self) -> str:
        how = "a table over all configurations" if self.table is not None else "on demand"
        return f"GroupEvaluator({self.n} decisions, {len(self.groups)} groups, {how})"

    @property
    def tabulated(self) -> bool:
        """Whether evaluations are table look-ups."""
        return self.table is not None

    def __call__(self, configs: np.ndarray | Sequence[int] | int) -> np.ndarray:
        """Group means of ``configs``, shape configs.shape + (groups,)."""
        if self.table is None:
            return self.landscape.evaluate(configs, self.groups)
        c = as_configurations(configs)
        if c.size and int(c.max()) >> self.n:
            raise ValueError(f"a configuration has bits beyond the landscape's {self.n} decisions")
        return self.table[c.astype(np.int64)]


@dataclass(frozen=True)
class BestConfiguration:
    """The best configuration of a landscape and its value; ``exact`` False: an estimate, the
    best of ``restarts`` local searches (a lower bound of the true best)."""

    config: int
    value: float
    exact: bool
    restarts: int = 0


def best_configuration(
    value: Callable[[np.ndarray], np.ndarray],
    n: int,
    *,
    restarts: int = DEFAULT_RESTARTS,
    key: int = 0,
    enumerate_up_to: int = MAX_TABULATED_DECISIONS,
) -> BestConfiguration:
    """The configuration of ``n`` decisions with the highest ``value`` (a function of uint64
    configurations, returning an array of their shape).

    While n <= ``enumerate_up_to`` every configuration is evaluated: exact (ties: the lowest
    configuration, as `np.argmax`). Above it, an estimate: the best local peak found by
    ``restarts`` steepest-ascent searches (each moves to the best one-bit flip while it
    improves) from starts drawn from counter-based words of ``key``; the result is a local
    peak and a lower bound of the true best (ties: the lowest restart)."""
    check_on_demand(n)
    if n <= min(enumerate_up_to, ENUMERABLE_DECISIONS):
        configs = np.arange(2**n, dtype=np.uint64)
        values = np.asarray(value(configs), dtype=float)
        best = int(np.argmax(values))
        return BestConfiguration(best, float(values[best]), True)
    if restarts < 1:
        raise ValueError(f"restarts must be at least 1, got {restarts}")
    current = restart_starts(n, restarts, key)
    current_value = np.asarray(value(current), dtype=float)
    flips = np.uint64(1) << np.arange(n, dtype=np.uint64)
    climbing = np.ones(restarts, dtype=bool)
    while climbing.any():
        rows = np.flatnonzero(climbing)
        around = current[rows, None] ^ flips[None, :]
        values = np.asarray(value(around), dtype=float)
        step = np.argmax(values, axis=1)
        best_value = values[np.arange(rows.size), step]
        better = best_value > current_value[rows]
        moved = rows[better]
        current[moved] = around[better, step[better]]
        current_value[moved] = best_value[better]
        climbing[rows[~better]] = False
    winner = int(np.argmax(current_value))
    return BestConfiguration(int(current[winner]), float(current_value[winner]), False, restarts)


def restart_starts(n: int, restarts: int, key: int) -> np.ndarray:
    """The starting configurations of ``restarts`` local searches over ``n`` decisions:
    counter-based words of ``key`` (uint64; the same for the same key, whatever else runs)."""
    from sim.streams import GAMMA, mix

    mask = np.uint64(2**n - 1) if n < 64 else np.uint64(2**64 - 1)
    counters = (np.arange(restarts, dtype=np.uint64) + np.uint64(1)) * GAMMA
    return mix((np.uint64(int(key) & (2**64 - 1)) ^ _START_GAMMA) + counters) & mask


@lru_cache(maxsize=256)
def flip_pairs(deps: tuple[tuple[int, ...], ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which contributions a one-bit flip changes: for every decision i and every bit j it
    reads (itself and its dependencies), the pair (j, i) and the place of j in i's table row
    (as a mask), three arrays of one length, ordered by j (every j has a pair: its own
    contribution). Flipping j changes exactly the contributions of the i paired with it, each
    at row ``row_i ^ mask``."""
    flipped, decision, mask = [], [], []
    for i, d in enumerate(deps):
        for k, j in enumerate((i, *d)):
            flipped.append(j)
            decision.append(i)
            mask.append(1 << k)
    order = sorted(range(len(flipped)), key=lambda p: (flipped[p], decision[p]))  # by flip
    flipped, decision, mask = ([x[p] for p in order] for x in (flipped, decision, mask))
    return (
        np.array(flipped, dtype=np.int64),
        np.array(decision, dtype=np.int64),
        np.array(mask, dtype=np.uint64),
    )
