"""NK landscapes: Kauffman's statistics, interaction structures, exact fitness tables."""

from __future__ import annotations

import itertools

import networkx as nx
import numpy as np
import pytest

from sim.landscape import (
    NKTables,
    configurations,
    department_interdependence,
    dependencies,
    edge_dependencies,
    hamming,
    interaction_edges,
    interaction_graph,
    local_peaks,
)

N = 10
LANDSCAPES = 200


def _next_k_fitness(k: int, rng: np.random.Generator) -> np.ndarray:
    graph = interaction_graph("next_k", [list(range(N))], k=k, rng=rng)
    return NKTables.draw(dependencies(graph), rng).fitness()


def test_k0_has_a_single_peak_of_mean_fitness_two_thirds():
    rng = np.random.default_rng(1)
    peaks, best = [], []
    for _ in range(LANDSCAPES):
        f = _next_k_fitness(0, rng)
        peaks.append(local_peaks(f).sum())
        best.append(f.max())
    assert set(peaks) == {1}
    # each contribution's best value is the max of two U(0,1): mean 2/3; sd of the mean ~0.003
    assert np.mean(best) == pytest.approx(2 / 3, abs=0.01)


def test_k_n_minus_1_has_about_2_to_n_over_n_plus_1_peaks():
    rng = np.random.default_rng(2)
    peaks = [local_peaks(_next_k_fitness(N - 1, rng)).sum() for _ in range(LANDSCAPES)]
    expected = 2**N / (N + 1)  # 93.1 for a fully random landscape
    sem = np.std(peaks, ddof=1) / np.sqrt(len(peaks))
    assert abs(np.mean(peaks) - expected) < 4 * sem + 1.0


def test_peaks_grow_with_k():
    rng = np.random.default_rng(3)
    means = [
        np.mean([local_peaks(_next_k_fitness(k, rng)).sum() for _ in range(60)]) for k in (1, 3, 5)
    ]
    assert means[0] < means[1] < means[2]


def test_fitness_matches_a_direct_evaluation():
    rng = np.random.default_rng(4)
    graph = interaction_graph("random", [list(range(6))], k=2, rng=rng)
    tables = NKTables.draw(dependencies(graph), rng)
    fitness = tables.fitness()
    for config in (0, 5, 17, 63):
        bits = [(config >> i) & 1 for i in range(6)]
        total = 0.0
        for i, deps in enumerate(tables.deps):
            index = bits[i] + sum(bits[j] << (p + 1) for p, j in enumerate(deps))
            total += tables.tables[i][index]
        assert fitness[config] == pytest.approx(total / 6)


def test_redraw_changes_only_the_chosen_tables():
    rng = np.random.default_rng(5)
    graph = interaction_graph("next_k", [list(range(8))], k=2, rng=rng)
    tables = NKTables.draw(dependencies(graph), rng)
    redrawn = tables.redraw([3], rng)
    for i in range(8):
        same = np.array_equal(tables.tables[i], redrawn.tables[i])
        assert same == (i != 3)


DEPARTMENTS = [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9, 10], [11, 12, 13]]


def _department_of(i: int) -> int:
    return next(d for d, dec in enumerate(DEPARTMENTS) if i in dec)


@pytest.mark.parametrize("seed", range(5))
def test_structures_follow_their_pattern(seed):
    rng = np.random.default_rng(seed)
    modular = interaction_graph("modular", DEPARTMENTS, k_within=2, rng=rng)
    assert all(_department_of(j) == _department_of(i) for j, i in modular.edges)
    assert all(modular.in_degree(i) == 2 for i in modular)

    nearly = interaction_graph("nearly_decomposable", DEPARTMENTS, k_within=1, cross=2, rng=rng)
    for i in nearly:
        sources = list(nearly.predecessors(i))
        cross = [j for j in sources if _department_of(j) != _department_of(i)]
        assert len(cross) == 2 and len(sources) == 3

    chain = interaction_graph("value_chain", DEPARTMENTS, k_within=1, cross=1, rng=rng)
    for j, i in chain.edges:
        assert _department_of(j) in (_department_of(i), _department_of(i) - 1)

    nk = interaction_graph("next_k", DEPARTMENTS, k=3, rng=rng)
    assert sorted(nk.predecessors(13)) == [0, 1, 2]

    rand = interaction_graph("random", DEPARTMENTS, k=4, rng=rng)
    assert all(rand.in_degree(i) == 4 for i in rand) and nx.number_of_selfloops(rand) == 0


def test_department_interdependence_counts_cross_edges():
    rng = np.random.default_rng(0)
    g = interaction_graph("nearly_decomposable", DEPARTMENTS, k_within=1, cross=1, rng=rng)
    depts = department_interdependence(g)
    assert sum(w for _, _, w in depts.edges(data="weight")) == 14  # one cross edge per decision
    modular = department_interdependence(interaction_graph("modular", DEPARTMENTS, rng=rng))
    assert modular.number_of_edges() == 0


def test_hamming_and_configurations():
    configs = configurations(4)
    assert configs.size == 16
    for a, b in itertools.product(range(16), repeat=2):
        assert hamming(a, b) == bin(a ^ b).count("1")


def test_contributions_and_group_means_equal_a_brute_force_lookup():
    rng = np.random.default_rng(0)
    tables = NKTables.draw([(1, 2), (0, 3), (5,), (4, 1), (2,), (0, 1)], rng)
    contributions = tables.contributions()
    for config in range(2**6):
        for i, deps in enumerate(tables.deps):
            row = ((config >> i) & 1) | sum(
                ((config >> j) & 1) << (p + 1) for p, j in enumerate(deps)
            )
            assert contributions[config, i] == tables.tables[i][row]
    means = tables.group_means([[0, 1], [2, 3, 4, 5]])
    np.testing.assert_array_equal(means[:, 0], contributions[:, [0, 1]].sum(axis=1) / 2)
    np.testing.assert_allclose(means[:, 1], contributions[:, 2:].mean(axis=1))
    np.testing.assert_allclose(tables.fitness(), contributions.mean(axis=1))


@pytest.mark.parametrize("n", [9, 13])
def test_group_means_of_large_landscapes_equal_their_contributions_added_in_order(n):
    rng = np.random.default_rng(n)
    graph = interaction_graph("random", [list(range(n))], k=3, rng=rng)
    tables = NKTables.draw(dependencies(graph), rng)
    contributions = tables.contributions()  # looked up, not broadcast
    groups = [[n - 1, 0, 5], list(range(n)), [3]]
    means = tables.group_means(groups)
    for g, group in enumerate(groups):
        total = np.zeros(2**n)
        for i in group:  # the same additions in the same order: the same numbers, bit for bit
            total = total + contributions[:, i]
        np.testing.assert_array_equal(means[:, g], total / len(group))


@pytest.mark.parametrize("structure", ["modular", "nearly_decomposable", "value_chain", "random"])
def test_interaction_edges_are_the_graphs_edges_and_give_its_dependencies(structure):
    departments = [[0, 1, 2], [3, 4], [5, 6, 7, 8]]
    options = {"k_within": 2, "cross": 2, "k": 3}
    graph = interaction_graph(structure, departments, rng=np.random.default_rng(7), **options)
    edges = interaction_edges(structure, departments, rng=np.random.default_rng(7), **options)
    assert sorted(graph.edges) == sorted(edges) and len(set(edges)) == len(edges)
    assert edge_dependencies(9, edges) == dependencies(graph)


def test_group_means_of_every_decision_read_at_once_are_the_plans_numbers(monkeypatch):
    """A group reading every decision's bits (N <= 12) is added up from one look-up of every
    contribution; its means equal the broadcast plan's bit for bit, for random structures,
    groups in any order and groups that read only some bits."""
    import sim.landscape as landscape

    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(1, 13))
        k = int(rng.integers(0, n))
        deps = [
            sorted(rng.choice([j for j in range(n) if j != i], size=k, replace=False).tolist())
            for i in range(n)
        ]
        land = landscape.NKTables.draw(deps, rng)
        groups = [rng.permutation(n).tolist(), list(range(max(1, n // 2)))]
        fast = land.group_means(groups)
        with monkeypatch.context() as patch:
            patch.setattr(landscape, "_GATHERED_DECISIONS", -1)  # the plan for every group
            np.testing.assert_array_equal(fast, land.group_means(groups))


@pytest.mark.parametrize(
    ("structure", "k_within", "cross", "k"),
    [
        ("next_k", 0, 0, 3),
        ("next_k", 0, 0, 0),
        ("modular", 0, 0, 0),
        ("modular", 0, 2, 3),  # cross and k are not read by a modular structure
        ("random", 2, 1, 0),  # nor k_within and cross by a random one
        ("value_chain", 0, 0, 0),
        ("nearly_decomposable", 0, 0, 0),
        ("random", 0, 0, 0),
    ],
)
def test_edges_that_draw_nothing_are_made_once_and_equal_the_drawn_ones(
    structure, k_within, cross, k
):
    """Structures without a pick: the edges made once per process equal those built from the
    generator, and the generator is left where it was."""
    from sim.landscape import _drawn_edges

    departments = [[0, 1, 2], [3, 4], [5, 6, 7]]
    rng = np.random.default_rng(3)
    state = rng.bit_generator.state
    edges = interaction_edges(structure, departments, k_within=k_within, cross=cross, k=k, rng=rng)
    assert rng.bit_generator.state == state
    drawn = _drawn_edges(structure, departments, k_within, cross, k, np.random.default_rng(3))
    assert edges == drawn
    assert (
        interaction_edges(structure, departments, k=k, k_within=k_within, cross=cross, rng=rng)
        == edges
    )
    with pytest.raises(ValueError, match="partition"):
        interaction_edges(structure, [[0, 1], [1, 2]], k=k, rng=rng)
