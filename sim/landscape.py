"""NK landscapes over an interaction structure (plain numpy; networkx only for graphs).

A configuration of N binary decisions is coded as an integer: decision ``i`` is bit ``i``.
Every function here works on all 2**N configurations at once, so global optima, peaks and
distances are exact and a simulation period costs array look-ups only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Literal

import numpy as np

from sim.limits import MAX_DECISIONS

if TYPE_CHECKING:  # networkx is imported where a graph is built (it is slow to import)
    import networkx as nx

Structure = Literal["modular", "nearly_decomposable", "value_chain", "random", "next_k"]
STRUCTURES: tuple[str, ...] = ("modular", "nearly_decomposable", "value_chain", "random", "next_k")


@cache
def configurations(n: int) -> np.ndarray:
    """All 2**n configurations as integers (read-only)."""
    if not 0 < n <= MAX_DECISIONS:
        raise ValueError(f"n must be in 1..{MAX_DECISIONS}, got {n}")
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
    """The edges ``(j, i)`` of `interaction_graph` (the same draws), without building a graph."""
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

    def group_means(self, groups: Sequence[Sequence[int]]) -> np.ndarray:
        """Mean contribution of each group of decisions (e.g. a department's) in every
        configuration, shape (2**N, len(groups)).

        A group's mean depends only on the bits its decisions and their dependencies read; it
        is computed once per setting of those bits and spread to all 2**N configurations.
        Configurations are handled as arrays of shape (2,) * bits, so a table and the spread
        are broadcasts, not look-ups.
        """
        n = self.n
        out = np.empty((2**n, len(groups)))
        plan = _group_plan(self.deps, tuple(tuple(int(i) for i in g) for g in groups))
        for d, (size, parts, spread) in enumerate(plan):
            total = np.zeros(size)
            for i, *how in parts:
                total += _arrange(self.tables[i], *how)
            mean = total / len(parts)
            shape, order, view, _ = spread  # (into a column: the view is as fast)
            np.copyto(
                out[:, d].reshape((2,) * n), _arrange(mean.reshape(-1), shape, order, view, None)
            )
        return out

    def fitness(self) -> np.ndarray:
        """Mean contribution of every configuration, shape (2**N,)."""
        return self.group_means([range(self.n)])[:, 0]


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
