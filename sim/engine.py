"""The engine: one period of department search and coordination, on rows of firms.

This module is the only implementation of the department rules (docs/ODD.md, "Submodels"):
alternatives (one-bit flips, long jumps), the search rules, proposals, the three coordination
modes, learning by doing, market sensing, costs, cash and exit, and Levinthal's selection in
populations. One row is one firm; a `Firm` is a view of one row, a `Population` of many, and
rows may belong to different markets (seeds) with landscapes of their own, so an experiment
steps all its firms of all its seeds with one call per period.

Each row's result depends on its own state, its market and its own random words only (see
`sim.streams`), never on the other rows in the batch: element-wise numpy operations only, and
no reduction across rows, so a batch gives bit for bit the numbers of its rows run one by one.
The one exception is a market with competition (`Demand`, docs/ODD.md section 7.18), whose
firms share its customers: their shares are sums over that market's rows only (in row order,
which no batch changes), so a market still gives the same numbers alone and in any batch.
(Populations are looked at as a whole only to choose how to compute their moves, by table
look-up or not, `Engine._fast_rows`: both give the same numbers.)
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from sim import streams
from sim.adaptation import Adaptation, AdaptationRule
from sim.demand import Demand, logit_shares
from sim.resources import RULES as RESOURCE_RULES
from sim.resources import (
    ResourceSettings,
    capacity_factor,
    current_demand,
    reallocate,
    service,
    target_split,
)

if TYPE_CHECKING:
    from sim.market import MarketStack, OnDemandLandscapes

MODES: tuple[str, ...] = ("decentralized", "sequential", "hierarchical")
RULES: tuple[str, ...] = ("best", "first")
ORDERS: tuple[str, ...] = ("random", "fixed")  # sequential coordination's order of departments

# Layout of a firm's random words in a period (`sim.streams.SLOTS` = 64 per period):
# department d: slot 2d decides a long jump, slot 2d + 1 gives its bits (d < 20);
# slots 40..59 order the departments under sequential coordination; 60..63 are selection's.
# Bank 1 (slots SLOTS + s): slot SLOTS + d draws which of department d's one-bit alternatives
# it examines when it examines fewer than all of them.
# Bank 1 slots 40 and 41 decide whether a waiting entrant enters and where it starts (§7.18).
# Bank 2 (slots 2 SLOTS + s): slot 2 SLOTS draws a learning firm's strategy, slots 2 SLOTS + 1..3
# whether, whom and how well it looks when it imitates (`sim.adaptation`).
_ORDER_SLOT, _SELECTION_SLOT, _EXAMINE_SLOT = 40, 60, streams.SLOTS
_ENTRY_SLOT = streams.SLOTS + 40
# the burn-in's keys: each row's key mixed with this constant (`Engine._burn_in`)
_BURN_IN_KEYS = np.uint64(0xA0761D6478BD642F)
_UNSET = -1
#: Most combinations of proposals (P ** D) a hierarchical head office evaluates all of; above,
#: it screens those within two departments of the departments' first proposals (docs/ODD.md
#: 7.9). Every shipped scenario is below it (at most 2 ** 5 = 32).
HEAD_OFFICE_COMBINATIONS = 64


@functools.lru_cache(maxsize=64)
def _screened_choices(departments: int, proposals: int) -> np.ndarray:
    """The combinations a head office screens when P ** D exceeds `HEAD_OFFICE_COMBINATIONS`:
    each department's first proposal, then every combination replacing one department's by
    another of its proposals (department by department, proposal by proposal), then every one
    replacing two departments' (pairs of departments in order, the first one's proposal varying
    slowest): shape (1 + D (P - 1) + D (D - 1) / 2 (P - 1) ** 2, D), proposal indices."""
    rows = [np.zeros(departments, dtype=np.int64)]
    for d in range(departments):
        for p in range(1, proposals):
            row = np.zeros(departments, dtype=np.int64)
            row[d] = p
            rows.append(row)
    for a, b in itertools.combinations(range(departments), 2):
        for p, q in itertools.product(range(1, proposals), repeat=2):
            row = np.zeros(departments, dtype=np.int64)
            row[a], row[b] = p, q
            rows.append(row)
    choices = np.stack(rows)
    choices.flags.writeable = False
    return choices


def _blocks(
    engine: Engine, groups: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray, slice | None]]:
    """``groups`` (populations) by size: for each size the groups, their rows (one line per
    group) and, if those rows are one run, its slice (to read them as views)."""
    out = []
    sizes = engine.group_size[groups]
    for size in np.unique(sizes[sizes > 0]):
        chosen = groups[sizes == size]
        block = engine.group_start[chosen][:, None] + np.arange(size)
        start = int(block[0, 0])
        run = np.array_equal(block.reshape(-1), np.arange(start, start + block.size))
        out.append((chosen, block, slice(start, start + block.size) if run else None))
    return out


def _lines(values: np.ndarray, *, block: np.ndarray, run: slice | None) -> np.ndarray:
    """``values`` of the rows in ``block`` (a view if they are the rows of ``run``)."""
    if run is None:
        return values[block]
    return values[run].reshape(block.shape + values.shape[1:])


def _take(values: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
    """``values[rows]`` along the first axis (numpy's `take` gathers rows of a few numbers
    several times faster than indexing with an array)."""
    return values[rows] if isinstance(rows, slice) else values.take(rows, axis=0)


@dataclass(frozen=True)
class FirmSettings:
    """The parameters of one row: its strategy, costs, money and learning (all numbers)."""

    alphas: tuple[float, ...]
    coordination: str
    # a number: the firm senses as one; one rate per department: each keeps a belief of its own
    sensing: float | tuple[float, ...]
    p_jump: float
    proposals: int
    search: str
    cost: float
    money_scale: float
    break_even: float
    initial_cash: float
    gain: float = 0.0
    tau: float = 10.0
    reset: float = 0.5
    initial_experience: float = 0.0
    bankruptcy: bool = True
    alternatives: int = 0  # one-bit alternatives a department examines per period (0 = all)
    # strategic understanding (None = off: everybody understands, the coupling is alpha)
    understanding: tuple[float, ...] | None = None  # initial share per department
    # share of the gap to full understanding closed per period (or one per department)
    communication: float | tuple[float, ...] = 0.0
    forgetting: float = 0.0  # share of understanding lost per period
    # engagement (None = off: fully engaged, no turnover)
    engagement: tuple[float, ...] | None = None  # initial level per department
    erosion: float | tuple[float, ...] = 0.0  # engagement lost by a change without purpose
    recovery: float = 0.0  # share of the gap to full engagement regained with purpose, stability
    turnover: float | tuple[float, ...] = 0.0  # staff leaving per period at zero engagement
    engaged_search: bool = True  # engagement scales the alternatives examined
    burn_in: int = 0  # periods run in the initial market before period 0 (`Engine.burn_in`)
    sequential_order: str = "random"  # sequential coordination: "random" each period or "fixed"
    resources: ResourceSettings | None = None  # a budget split across departments (None = off)
    purpose: float = 0.0  # weight of low impact in what the firm aims for (`[purpose]`)


@dataclass
class MarketState:
    """What the engine reads of one market: landscapes, what customers value, the port.

    ``basis`` (K, 2**N) holds the vectors market value is a weighted sum of (each regime's
    preference fit, each version of the rugged part); ``weights`` (K,) the true weights now.
    A firm's belief is a weight vector over the same basis, so sensing costs K operations.
    With ``landscapes`` (N above `sim.limits.TABULATED_DECISIONS`) nothing is tabulated: the
    arrays are empty and the engine evaluates configurations on demand.
    """

    department_efficiency: np.ndarray  # (2**N, D), without learning
    beta: float
    basis: np.ndarray
    weights: np.ndarray
    landscape_performance: np.ndarray  # (2**N,)
    port: int
    best: float
    version: int = 0
    on_basis: Callable[[np.ndarray], None] | None = None  # told where the basis now lives
    demand: Demand | None = None  # customers shared among the market's firms (None: not)
    # purpose (docs/ODD.md 7.23; None: off): impact per period of every configuration (2**N,),
    # the same normalised to [0, 1], and regulation's levy per unit above its threshold
    impact: np.ndarray | None = None
    impact_norm: np.ndarray | None = None
    levy: float = 0.0
    threshold: float = 0.0
    landscapes: OnDemandLandscapes | None = None  # evaluated on demand (no tables)

    def share_basis(self, basis: np.ndarray) -> None:
        """Use ``basis`` (a view of the engine's copy) instead of a copy of one's own."""
        self.basis = basis
        if self.on_basis is not None:
            self.on_basis(basis)


class Engine:
    """Rows of firms in one or more markets, stepped one period at a time.

    Build it, add markets (`add_market`) and rows (`add_rows`), then call `step(t)` for
    t = 1..horizon after updating markets whose state changed (`update_market`). The history
    of every row (periods 0..horizon) is kept in arrays of shape (horizon + 1, rows).
    """

    def __init__(
        self,
        *,
        departments: Sequence[Sequence[int]],
        horizon: int,
        capacity: int = 1,
        records: Iterable[str] | None = None,
    ) -> None:
        self.departments = tuple(tuple(int(i) for i in d) for d in departments)
        # populations' records kept besides who is where (`History.POPULATION`); None: all
        self.records = None if records is None else History.population_records(records)
        self.n = sum(len(d) for d in self.departments)
        self.size = 2**self.n
        self.config_mask = np.uint64(2**self.n - 1)  # a random word's bits -> a configuration
        self.on_demand: bool | None = None  # markets evaluated on demand (set by the first)
        self.horizon = int(horizon)
        d_count = len(self.departments)
        if d_count > 20:
            raise ValueError("at most 20 departments")
        self.masks = np.array([sum(1 << i for i in d) for d in self.departments], dtype=np.int64)
        sizes = np.array([len(d) for d in self.departments], dtype=float)
        self.weights = sizes / sizes.sum()
        self.n_local = np.array([len(d) for d in self.departments], dtype=np.int64)
        self.n_max = int(self.n_local.max())
        self.flips = np.zeros((d_count, self.n_max), dtype=np.int64)
        for d, decisions in enumerate(self.departments):
            self.flips[d, : len(decisions)] = [1 << i for i in decisions]
        self._moves = np.concatenate((np.zeros((d_count, 1), dtype=np.int64), self.flips), axis=1)
        self._valid = np.arange(1 + self.n_max) <= self.n_local[:, None]
        # the same with a last column for the long jump (`propose` fills it in)
        self._moves_jump = np.concatenate((self._moves, np.zeros((d_count, 1), np.int64)), 1)
        self._valid_jump = np.concatenate((self._valid, np.zeros((d_count, 1), bool)), 1)
        # a long jump's two random words for department d are slots 2d and 2d + 1 (`propose`)
        self._jump_slots = np.stack((2 * np.arange(d_count), 2 * np.arange(d_count) + 1), axis=1)
        self._bit_shifts = np.arange(self.n_max, dtype=np.uint64)  # a word's first n_max bits
        self._line_departments: dict[int, np.ndarray] = {}  # `_simultaneous`'s, by row count
        self._columns: np.ndarray | None = None  # `_bonus_columns`, made when first needed
        self.markets: list[MarketState] = []
        self.capacity = max(1, int(capacity))  # markets expected (arrays are sized for them)
        self.department_land: np.ndarray | None = None
        self.performance_land: np.ndarray | None = None
        self.basis: np.ndarray | None = None
        self.truth: np.ndarray | None = None
        self.k_basis = 1
        self._pending: list[tuple] = []
        # the views of the engine's arrays each market holds (its landscape performance and
        # basis): a market still holding them has changed them in place, or not at all
        self._views: dict[int, np.ndarray] = {}
        # the next market's tables' place (`reserve`): (its index, its views)
        self._reserved: tuple[int, np.ndarray, np.ndarray, np.ndarray] | None = None
        self._basis_views: dict[int, np.ndarray] = {}
        self._adaptive: list[tuple[np.ndarray, AdaptationRule, int]] = []
        self._links: list[tuple[np.ndarray, np.ndarray, float]] = []  # partners (`add_partners`)
        self.partners = None  # their adjacency matrix over rows (scipy sparse), if any
        self.adaptation: Adaptation | None = None
        self.rows = 0
        self.groups = 0
        self.queues = 0
        self.built = False
        self.period = 0
        self.shortcuts = True  # exact shortcuts where they apply (`_fast_rows`); False: never

    def __repr__(self) -> str:
        state = f"period {self.period} of {self.horizon}" if self.built else "not built"
        return (
            f"Engine({self.rows} rows in {len(self.markets)} markets, {self.n} decisions in "
            f"{self.department_count} departments, {state})"
        )

    @property
    def department_count(self) -> int:
        """The number of departments."""
        return len(self.departments)

    # ------------------------------------------------------------------ building
    def add_market(self, market: MarketState) -> int:
        """Register a market; returns its index. Its landscapes are copied into the engine's
        arrays at once and the market reads them from there (one copy of each)."""
        if self.built:
            raise RuntimeError("markets must be added before the first period")
        i = len(self.markets)
        on_demand = market.landscapes is not None
        if self.on_demand is not None and on_demand != self.on_demand:
            raise ValueError("markets of one engine are all tabulated or all on demand")
        self.on_demand = on_demand
        if on_demand:  # nothing to copy: configurations are evaluated when asked
            self.markets.append(market)
            self._load_basis(i, market)
            return i
        reserved = self._reserved if self._reserved and self._reserved[0] == i else None
        self._reserved = None
        if self.department_land is None or i >= self.department_land.shape[0] // self.size:
            self._allocate(max(self.capacity, 2 * i, i + 1), market.basis.shape[0])
        self.markets.append(market)
        block = slice(i * self.size, (i + 1) * self.size)
        if reserved is None or market.department_efficiency is not reserved[1]:
            self.department_land[block] = market.department_efficiency
            market.department_efficiency = self.department_land[block]
        if reserved is None or market.landscape_performance is not reserved[2]:
            self.performance_land[block] = market.landscape_performance
            market.landscape_performance = self.performance_land[block]
        self._views[i] = market.landscape_performance
        if reserved is not None and market.basis is reserved[3]:  # computed in place
            self._basis_views[i] = market.basis
        self._load_basis(i, market)
        return i

    def reserve(self, basis_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Where the next market's tables go in the engine's arrays: its department
        efficiencies (2**N, D), landscape performance (2**N,) and market value basis
        (``basis_size``, 2**N), for it to compute them there; `add_market` then copies what
        is there already not again. None where a market is copied in: once the engine is
        built, for markets evaluated on demand, or for a basis wider than the engine's."""
        if self.built or self.on_demand or (self.basis is not None and basis_size > self.k_basis):
            return None
        i = len(self.markets)
        if self.department_land is None or i >= self.department_land.shape[0] // self.size:
            self._allocate(max(self.capacity, 2 * i, i + 1), basis_size)
        block = slice(i * self.size, (i + 1) * self.size)
        views = (self.department_land[block], self.performance_land[block])
        self._reserved = (i, *views, self.basis[i, :basis_size])
        return self._reserved[1:]

    def _allocate(self, capacity: int, basis_size: int) -> None:
        """Room for ``capacity`` markets with ``basis_size`` basis vectors (the markets so far
        moved in)."""
        size, d = self.size, self.department_count
        k = max(self.k_basis, basis_size)
        self._reserved = None  # (views of the arrays replaced)
        old = (self.department_land, self.performance_land, self.basis, self.truth)
        self.department_land = np.empty((capacity * size, d))
        self.performance_land = np.empty(capacity * size)
        self.basis = np.zeros((capacity, k, size))
        self.truth = np.zeros((capacity, k))
        self.k_basis = k
        if old[0] is not None:
            n = old[0].shape[0]
            self.department_land[:n] = old[0]
            self.performance_land[:n] = old[1]
            self.basis[: old[2].shape[0], : old[2].shape[1]] = old[2]
            self.truth[: old[3].shape[0], : old[3].shape[1]] = old[3]
        for j, m in enumerate(self.markets):
            block = slice(j * size, (j + 1) * size)
            m.department_efficiency = self.department_land[block]
            m.landscape_performance = self._views[j] = self.performance_land[block]
            self._share_basis(j, m)

    def add_rows(
        self,
        *,
        market: int,
        keys: Sequence[int],
        configs: Sequence[int],
        settings: FirmSettings,
        group: int = _UNSET,
        selection: bool = False,
        queue: int = _UNSET,
        adaptation: tuple[AdaptationRule, int] | None = None,
    ) -> np.ndarray:
        """Add firms to ``market``: one row per key; returns their row indices.

        Rows with the same ``group`` (>= 0) form a population; with ``selection`` it is
        subject to Levinthal's selection. Rows with a ``queue`` (>= 0, from `new_queue`) are
        entrants waiting to enter a market with `Demand`, in the order they were added.
        With ``adaptation`` = (rule, index of the strategy
        they start with in ``rule.names``) they revise their strategy (`sim.adaptation`);
        ``settings`` must then be that strategy's.
        """
        if self.built:
            raise RuntimeError("firms must be added before the first period")
        if len(settings.alphas) != self.department_count:
            raise ValueError("one alpha per department")
        start = self.rows
        keys = np.array(keys, dtype=np.uint64)  # copies, as arrays (no per-firm Python objects)
        configs = np.array(configs, dtype=np.int64)
        self._pending.append((market, keys, configs, settings, group, selection, queue))
        self.rows += len(keys)
        if adaptation is not None:
            self._adaptive.append((np.arange(start, self.rows), *adaptation))
        return np.arange(start, self.rows)

    def add_partners(self, first: np.ndarray, second: np.ndarray, sharing: float) -> None:
        """Link rows ``first[i]`` and ``second[i]`` (of one market) as partners that share
        market information with weight ``sharing`` (docs/ODD.md, section 7.20)."""
        if self.built:
            raise RuntimeError("partners must be added before the first period")
        rows = np.concatenate([first, second]).astype(np.int64)
        self._links.append((rows, np.concatenate([second, first]).astype(np.int64), sharing))

    def new_queue(self) -> int:
        """A new queue of waiting entrants."""
        self.queues += 1
        return self.queues - 1

    def new_group(self) -> int:
        """A new population's group number."""
        self.groups += 1
        return self.groups - 1

    def build(self) -> None:
        """Allocate the arrays and record period 0 (called by the first `step` if needed)."""
        if self.built:
            return
        self.built = True
        r, d, t1 = self.rows, self.department_count, self.horizon + 1
        self.beta = np.array([m.beta for m in self.markets])
        self.port = np.array([m.port for m in self.markets], dtype=np.int64)
        self.best = np.array([m.best for m in self.markets])
        self._versions = np.array([m.version for m in self.markets], dtype=np.int64)

        self.market = np.empty(r, dtype=np.int64)
        self.keys = np.empty(r, dtype=np.uint64)
        self.config = np.empty(r, dtype=np.int64)
        self.alpha = np.empty((r, d))
        self.mode = np.empty(r, dtype=np.int64)
        self.fixed_order = np.empty(r, dtype=bool)  # sequential: departments in their own order
        self.rule = np.empty(r, dtype=np.int64)
        self.proposals = np.empty(r, dtype=np.int64)
        self.sensing, self.p_jump, self.cost = np.empty(r), np.empty(r), np.empty(r)
        # sensing given per department (§7.21): which rows, and each department's rate
        self.by_department = np.zeros(r, dtype=bool)
        self.department_sensing = np.zeros((r, d))
        self.money_scale, self.break_even = np.empty(r), np.empty(r)
        self.initial_cash, self.cash = np.empty(r), np.empty(r)
        self.gain, self.tau, self.keep = np.empty(r), np.empty(r), np.empty(r)
        self.initial_experience = np.empty(r)
        self.experience = np.empty((r, d))
        self.alternatives = np.empty(r, dtype=np.int64)
        self.understands = np.empty(r, dtype=bool)  # the understanding mechanism is on
        self.initial_understanding = np.empty((r, d))
        self.understanding = np.ones((r, d))
        self.communication, self.forgetting = np.empty((r, d)), np.empty(r)
        self.engaged = np.empty(r, dtype=bool)  # the engagement mechanism is on
        self.initial_engagement = np.empty((r, d))
        self.engagement = np.ones((r, d))
        self.erosion, self.recovery, self.turnover = np.empty((r, d)), np.empty(r), np.empty((r, d))
        self.engaged_search = np.empty(r, dtype=bool)
        self.purpose = np.empty(r)  # weight of purpose in perceived performance
        self.bankruptcy = np.empty(r, dtype=bool)
        self.burn_in_periods = np.empty(r, dtype=np.int64)
        self.alive = np.ones(r, dtype=bool)
        self.group = np.empty(r, dtype=np.int64)
        self.ids = np.arange(r, dtype=np.int64)
        self.belief = np.zeros((r, self.k_basis))
        # each department's own belief (read only for rows that sense by department)
        self.department_belief = np.zeros((r, d, self.k_basis))
        self.waiting = np.zeros(r, dtype=bool)  # entrants not yet entered
        self._allocate_resources(r, d)
        self.queue = np.full(r, _UNSET, dtype=np.int64)  # a waiting row's entry queue
        self.place = np.zeros(r, dtype=np.int64)  # and its place in it
        in_queue = np.zeros(self.queues, dtype=np.int64)
        selection_groups: dict[int, bool] = {}
        row = 0
        # consecutive blocks given the same settings (one compiled `FirmSettings`, e.g. a
        # population per market of a batch) get them in one `set_settings` call
        same_settings: list[tuple[int, int, FirmSettings]] = []
        for market, keys, configs, settings, group, _, _ in self._pending:
            rows = slice(row, row + len(keys))
            self.market[rows] = market
            self.keys[rows] = keys
            self.config[rows] = configs
            self.group[rows] = group
            self.ids[rows] = np.arange(len(keys))
            self.belief[rows, : self.markets[market].weights.size] = self.markets[market].weights
            self.department_belief[rows] = self.belief[rows][:, None, :]
            if same_settings and same_settings[-1][2] is settings:
                same_settings[-1] = (same_settings[-1][0], row + len(keys), settings)
            else:
                same_settings.append((row, row + len(keys), settings))
            row += len(keys)
        row = 0
        for first, stop, settings in same_settings:
            self.set_settings(np.arange(first, stop), settings)
        for _, keys, _, settings, group, selection, queue in self._pending:
            rows = slice(row, row + len(keys))
            self.cash[rows] = settings.initial_cash
            self.experience[rows] = settings.initial_experience
            self.understanding[rows] = self.initial_understanding[rows]
            self.engagement[rows] = self.initial_engagement[rows]
            self.shares[rows] = self.initial_shares[rows]
            if group != _UNSET:
                selection_groups[group] = selection
            if queue != _UNSET:
                self.waiting[rows] = True
                self.queue[rows] = queue
                self.place[rows] = in_queue[queue] + np.arange(len(keys))
                in_queue[queue] += len(keys)
            row += len(keys)
        self._pending = []
        self._resources_on = bool(self.resourced.any())
        self._build_partners()
        self.traced = np.zeros(r, dtype=bool)  # rows whose decisions are recorded (`trace`)
        self.trace_records: list[dict] = []
        self.selection_groups = {g for g, on in selection_groups.items() if on}
        in_group = self.group[self.group >= 0]  # (rows of no population: _UNSET, negative)
        self.group_size = np.bincount(in_group, minlength=self.groups)
        self.group_start = np.zeros(self.groups, dtype=np.int64)  # each group's first row
        found, first = np.unique(in_group, return_index=True)
        self.group_start[found] = np.flatnonzero(self.group >= 0)[first]
        self.next_id = self.group_size.copy()
        groups = np.array(sorted(self.selection_groups), dtype=np.int64)
        self._selection_blocks = _blocks(self, groups)
        self._tables = _MoveTables(self)

        self._build_demand()
        self._build_purpose()
        self.history = History(
            t1,
            r,
            d,
            understanding=bool(self.understands.any()),
            engagement=bool(self.engaged.any()),
            competition=self._competing,
            single_firms=bool((self.group == _UNSET).any()),
            resources=bool(self.resourced.any()),
            purpose=self._purposeful,
            keep=self.records,
        )
        h = self.history
        # whether a period's outcomes (performance, money) are needed: else only who is where
        # is recorded (populations whose records leave out performance: `records`)
        self._outcomes = not (
            self.records is not None
            and not h.single_firms
            and h.performance is None
            and h.performance_norm is None
            and not self.bankruptcy.any()
            and not self._adaptive
            and not self._competing
            and not bool(self.resourced.any())
            and not self._purposeful
        )
        self.entrants = np.zeros((t1, self.groups), dtype=np.int64)
        if self._adaptive:
            self.adaptation = Adaptation(r, self._adaptive)
            self._adaptive = []
            self.history.setting = np.full((t1, r), -1, dtype=np.int16)
            if self.adaptation.imitating:  # whom each row imitated in a period (-1: nobody)
                self.history.imitated = np.full((t1, r), -1, dtype=np.int64)
                # firms that may imitate each other: a population's, else a market's
                self._pools = np.where(self.group >= 0, len(self.markets) + self.group, self.market)
            self._adopt(self.adaptation.draw_starts(self.keys))
        self._record(0, np.flatnonzero(self.alive), moved=np.zeros(r, dtype=np.int64), first=True)
        self._refresh_bonus()
        self._refresh_mechanisms()
        self._jumping = bool(self.p_jump.any())
        self.burn_in_start = self.config.copy()
        if self.burn_in_periods.any():
            self._burn_in()

    def _burn_in(self) -> None:
        """Run each row's ``burn_in`` periods in its market as it is at period 0, under its own
        strategy, before period 0 (docs/ODD.md, "Starts"). The firm keeps what those periods
        made of it (configuration, experience, understanding, engagement, beliefs) and starts
        period 0 with its initial cash: the burn-in earns and costs nothing, and no firm exits
        or is selected in it. Its random words come from keys of their own, so the burn-in's
        draws are not the run's first periods' draws again. Period 0 is recorded anew."""
        keys = self.keys
        self.keys = streams.mix(keys ^ _BURN_IN_KEYS)
        try:
            for k in range(1, int(self.burn_in_periods.max()) + 1):
                self._move(np.flatnonzero((self.burn_in_periods >= k) & self.alive), k)
                self._refresh_bonus()
        finally:
            self.keys = keys
        self.cash[:] = self.initial_cash
        self._record(
            0, np.flatnonzero(self.alive), moved=np.zeros(self.rows, dtype=np.int64), first=True
        )
        self._refresh_bonus()

    def _build_demand(self) -> None:
        """Each market's choice model (`Demand`) as arrays; waiting entrants are not alive."""
        demands = [m.demand for m in self.markets]
        self.competing = np.array([d is not None for d in demands], dtype=bool)
        self._competing = bool(self.competing.any())
        if (self.waiting & ~self.competing[self.market]).any():
            raise ValueError("waiting entrants need a market with competition (Demand)")
        if not self._competing:
            return
        none = Demand(sensitivity=0.0, outside_value=None)
        demands = [none if d is None else d for d in demands]
        self.sensitivity_of = np.array([d.sensitivity for d in demands])
        self.outside_weight = np.array([d.outside_weight for d in demands])
        self.market_size = np.array([d.market_size for d in demands])
        self.entry_rate = np.array([d.entry_rate for d in demands])
        self.entry_leader = np.array([d.entry_start == "leader" for d in demands], dtype=bool)
        self.entered = np.zeros(self.queues, dtype=np.int64)  # entrants so far, per queue
        self.alive[self.waiting] = False

    def _build_purpose(self) -> None:
        """Each market's impact tables (`[purpose]`) as the engine's arrays; none without."""
        self._purposeful = any(m.impact is not None for m in self.markets)
        if not self._purposeful:
            if self.purpose.any():
                raise ValueError("a strategy weighs purpose in a market without impact")
            return
        size = self.size
        first = next(m for m in self.markets if m.impact is not None)
        # one designed table for every market (the usual case: `sim.purpose` shares it): read
        # it by configuration, without a copy per market
        self._impact_shared = all(
            m.impact is first.impact and m.impact_norm is first.impact_norm for m in self.markets
        )
        if self._impact_shared:
            self.impact_land, self.impact_norm_land = first.impact, first.impact_norm
        else:
            self.impact_land = np.zeros(len(self.markets) * size)
            self.impact_norm_land = np.zeros(len(self.markets) * size)
            for i, m in enumerate(self.markets):
                if m.impact is not None:
                    self.impact_land[i * size : (i + 1) * size] = m.impact
                    self.impact_norm_land[i * size : (i + 1) * size] = m.impact_norm
        self.levy = np.array([m.levy for m in self.markets])
        self.threshold = np.array([m.threshold for m in self.markets])

    def set_settings(self, rows: np.ndarray, settings: FirmSettings) -> None:
        """Give ``rows`` new parameters; they act from the next period on."""
        self.alpha[rows] = settings.alphas
        self.mode[rows] = MODES.index(settings.coordination)
        self.fixed_order[rows] = ORDERS.index(settings.sequential_order) == 1
        self.rule[rows] = RULES.index(settings.search)
        self.proposals[rows] = settings.proposals
        self.burn_in_periods[rows] = settings.burn_in
        by_department = isinstance(settings.sensing, tuple)
        if by_department and hasattr(self, "history"):  # a live change: from the firm's belief
            now = rows[~self.by_department[rows]]
            self.department_belief[now] = self.belief[now][:, None, :]
        # by department: the firm's rate is their mean (it only says whether any senses)
        self.sensing[rows] = np.mean(settings.sensing) if by_department else settings.sensing
        self.department_sensing[rows] = settings.sensing
        self.by_department[rows] = by_department
        self.p_jump[rows] = settings.p_jump
        self.cost[rows] = settings.cost
        self.money_scale[rows] = settings.money_scale
        self.break_even[rows] = settings.break_even
        self.initial_cash[rows] = settings.initial_cash
        self.gain[rows] = settings.gain
        self.tau[rows] = settings.tau
        self.keep[rows] = 1.0 - settings.reset
        self.initial_experience[rows] = settings.initial_experience
        self.bankruptcy[rows] = settings.bankruptcy
        self.alternatives[rows] = settings.alternatives
        self.understands[rows] = settings.understanding is not None
        self.initial_understanding[rows] = (
            1.0 if settings.understanding is None else settings.understanding
        )
        self.communication[rows] = settings.communication
        self.forgetting[rows] = settings.forgetting
        self.engaged[rows] = settings.engagement is not None
        self.initial_engagement[rows] = 1.0 if settings.engagement is None else settings.engagement
        self.erosion[rows] = settings.erosion
        self.recovery[rows] = settings.recovery
        self.turnover[rows] = settings.turnover
        self.engaged_search[rows] = settings.engaged_search
        self._set_resources(rows, settings.resources)
        self.purpose[rows] = settings.purpose
        if hasattr(self, "history"):  # a live change: the flags the next evaluations read
            if settings.understanding is None:  # switched off: everybody understands again
                self.understanding[rows] = 1.0
            if settings.engagement is None:
                self.engagement[rows] = 1.0
            self._refresh_bonus()
            self._jumping = bool(self.p_jump.any())
            self._refresh_mechanisms()
            h = self.history  # a mechanism switched on by a live change is recorded from now on
            people = (h.config.shape[0], self.rows, self.department_count)
            single = h.single_firms  # (an engine of populations records neither)
            if single and self._understanding_on and h.understanding is None:
                h.understanding = np.full(people, np.nan)
            if single and self._engagement_on and h.engagement is None:
                h.engagement = np.full(people, np.nan)

    def _refresh_mechanisms(self) -> None:
        """The flags that let rows without these mechanisms skip their work."""
        self._understanding_on = bool(self.understands.any())
        self._departments_sense = bool(self.by_department.any())
        self._engagement_on = bool(self.engaged.any())
        self._resources_on = bool(self.resourced.any())
        limited = (self.alternatives > 0) & (self.alternatives < self.n_max)
        self._sampling = bool(
            limited.any()
            or (self.engaged & self.engaged_search).any()
            or (self.resourced & self.res_search).any()
        )

    def _load_basis(self, i: int, m: MarketState) -> None:
        if self.on_demand:  # only the true weights (and room for more versions) are held
            k = m.weights.size
            self.k_basis = max(self.k_basis, k)
            truth = np.zeros((0, self.k_basis)) if self.truth is None else self.truth
            more = max(0, len(self.markets) - truth.shape[0])
            self.truth = np.pad(truth, ((0, more), (0, self.k_basis - truth.shape[1])))
            if self.built and self.belief.shape[1] < self.k_basis:
                self.belief = np.pad(
                    self.belief, ((0, 0), (0, self.k_basis - self.belief.shape[1]))
                )
            self.truth[i] = 0.0
            self.truth[i, :k] = m.weights
            return
        k = m.basis.shape[0]
        if k > self.k_basis:  # a redraw added a version of the rugged part: widen every row
            extra = k - self.k_basis
            self.k_basis = k
            self.basis = np.pad(self.basis, ((0, 0), (0, extra), (0, 0)))
            self.truth = np.pad(self.truth, ((0, 0), (0, extra)))
            if self.built:
                self.belief = np.pad(self.belief, ((0, 0), (0, extra)))
                self.department_belief = np.pad(
                    self.department_belief, ((0, 0), (0, 0), (0, extra))
                )
            for j, other in enumerate(self.markets):  # one copy: markets read the engine's
                if j != i:
                    self._share_basis(j, other)
        if m.basis is not self._basis_views.get(i):  # (a gradual shift changes weights only)
            self.basis[i, :k] = m.basis
            self._share_basis(i, m)
        self.truth[i] = 0.0
        self.truth[i, :k] = m.weights

    def _share_basis(self, i: int, m: MarketState) -> None:
        """Market ``i`` reads its basis from the engine's copy."""
        self._basis_views[i] = self.basis[i, : m.basis.shape[0]]
        m.share_basis(self._basis_views[i])

    def update_market(self, i: int) -> None:
        """Read market ``i`` again after its state changed (a shift, a blend step)."""
        m = self.markets[i]
        if not self.built or m.version == self._versions[i]:
            return
        self._versions[i] = m.version
        self._load_basis(i, m)
        if self.on_demand:
            self.port[i] = m.port
            self.best[i] = m.best
            return
        if m.landscape_performance is not self._views[i]:  # (else written in place)
            block = slice(i * self.size, (i + 1) * self.size)
            self.performance_land[block] = m.landscape_performance
            m.landscape_performance = self._views[i] = self.performance_land[block]
        self.port[i] = m.port
        self.best[i] = m.best

    # ------------------------------------------------------------------ resources
    def _allocate_resources(self, r: int, d: int) -> None:
        """The arrays of the resources mechanism (docs/ODD.md section 7.22), sized for the
        largest demand table of the rows to be added."""
        regimes = max(
            (len(p[3].resources.demand) for p in self._pending if p[3].resources is not None),
            default=0,
        )
        self.resourced = np.zeros(r, dtype=bool)  # the mechanism is on
        self.initial_shares = np.full((r, d), 1.0 / d)
        self.shares = np.full((r, d), 1.0 / d)
        self.res_demand = np.zeros((r, regimes, d))
        self.res_returns, self.res_max_move = np.zeros(r), np.ones(r)
        self.res_moving_cost, self.res_activity_cost = np.zeros(r), np.zeros(r)
        self.res_tolerance = np.zeros(r)
        self.res_rule = np.zeros(r, dtype=np.int64)
        self.res_search = np.zeros(r, dtype=bool)  # the share scales the alternatives examined
        self.moved_share, self.moving_paid = np.zeros(r), np.zeros(r)  # this period's move
        self.limited = np.zeros(r, dtype=bool)  # this period's move cut short by max_move
        self.resource_efficiency = np.ones((r, d))  # department efficiencies last recorded

    def _set_resources(self, rows: np.ndarray, res: ResourceSettings | None) -> None:
        self.resourced[rows] = res is not None
        if res is None:
            return
        if len(res.shares) != self.department_count:
            raise ValueError("one resource share per department")
        if len(res.demand) > self.res_demand.shape[1]:
            raise ValueError("a demand table with more regimes than the engine was built for")
        self.initial_shares[rows] = res.shares
        self.res_demand[rows] = 0.0
        self.res_demand[rows, : len(res.demand)] = res.demand
        self.res_returns[rows] = res.returns
        self.res_max_move[rows] = res.max_move
        self.res_moving_cost[rows] = res.moving_cost
        self.res_activity_cost[rows] = res.activity_cost
        self.res_tolerance[rows] = res.tolerance
        self.res_rule[rows] = RESOURCE_RULES.index(res.rule)
        self.res_search[rows] = res.scales_search

    def _reallocate(self, active: np.ndarray) -> None:
        """Each resourced row moves its split towards its rule's target (`sim.resources`): by
        its departments' efficiencies last recorded (at the period's start), or by the demand
        it believes in after this period's sensing."""
        rows = active[self.resourced[active]]
        kept = rows[self.res_rule[rows] == 0]  # "keep": no move, nothing to compute
        self.moved_share[kept], self.moving_paid[kept], self.limited[kept] = 0.0, 0.0, False
        rows = rows[self.res_rule[rows] != 0]
        if not rows.size:
            return
        shares = self.shares[rows]
        eff = self.resource_efficiency[rows]
        regimes = self.res_demand.shape[1]
        believed = current_demand(self.res_demand[rows], self.belief[rows, :regimes])
        target = target_split(self.res_rule[rows], shares, eff, believed)
        new, moved, limited = reallocate(shares, target, self.res_max_move[rows])
        self.shares[rows] = new
        self.moved_share[rows] = moved
        self.limited[rows] = limited
        self.moving_paid[rows] = self.res_moving_cost[rows] * moved

    def _resource_outcomes(
        self, t: int, rows: np.ndarray | slice, dept_eff: np.ndarray, truth: np.ndarray, first: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """What the split does in period ``t`` to ``rows`` (resourced or not): their department
        efficiencies, the share sigma of the demand served that market value is multiplied
        by, and the money spent on capacity in use and on moving it; recorded."""
        on = _take(self.resourced, rows)
        shares = _take(self.shares, rows)
        factor = capacity_factor(shares, _take(self.res_returns, rows))
        dept_eff = np.where(on[:, None], np.minimum(1.0, dept_eff * factor), dept_eff)
        self.resource_efficiency[rows] = dept_eff
        regimes = self.res_demand.shape[1]
        demand = current_demand(_take(self.res_demand, rows), truth[:, :regimes])
        sigma, away, used = service(shares, demand)
        moved = np.zeros(on.size) if first else _take(self.moved_share, rows)
        limited = np.zeros(on.size, dtype=bool) if first else _take(self.limited, rows)
        paid = 0.0 if first else _take(self.moving_paid, rows)
        spent = np.where(on, _take(self.res_activity_cost, rows) * used + paid, 0.0)
        h = self.history
        if h.shares is not None:
            h.shares[t, rows] = np.where(on[:, None], shares, np.nan)
            h.unserved_demand[t, rows] = np.where(on, away, np.nan)
            h.capacity_moved[t, rows] = np.where(on, moved, np.nan)
            h.budget_binds[t, rows] = on & ((away > _take(self.res_tolerance, rows)) | limited)
        return dept_eff, np.where(on, sigma, 1.0), spent

    # ------------------------------------------------------------------ evaluation
    def _bonus(self, rows: np.ndarray | slice, experience: np.ndarray) -> np.ndarray:
        gain, tau = _take(self.gain, rows)[:, None], _take(self.tau, rows)[:, None]
        return gain * (1.0 - np.exp(-experience / tau))

    def department_efficiency(
        self, rows: np.ndarray, configs: np.ndarray, start: np.ndarray
    ) -> np.ndarray:
        """E_d of ``configs`` (rows x C) for every department, shape (rows, C, D), with the
        learning bonus each department expects next period (more experience if its own
        decisions stay as in ``start``, a partial reset if they change)."""
        if self.on_demand:
            land = self._evaluate("efficiency_at", _take(self.market, rows)[:, None], configs)
        else:
            at = _take(self.market, rows)[:, None] * self.size + configs
            land = self.department_land.take(at, axis=0)
        if not self._learning:
            return land
        if self.on_demand:
            changed = ((configs ^ start[:, None])[..., None] & self.masks) != 0
            bonus = np.where(
                changed,
                _take(self._bonus_change, rows)[:, None],
                _take(self._bonus_stay, rows)[:, None],
            )
            return land + (1.0 - land) * bonus
        # the same bonuses picked by look-ups (a broadcast `where` costs several times more):
        # each line's stay bonuses then change bonuses, and for every change of configuration
        # the column of each department's (d, or D + d where the change touches department d)
        both = _take(self._bonus_both, rows)
        line = np.arange(both.shape[0]) * both.shape[1]
        bonus = both.reshape(-1).take(
            self._bonus_columns().take(configs ^ start[:, None], axis=0) + line[:, None, None]
        )
        return land + (1.0 - land) * bonus

    def _bonus_columns(self) -> np.ndarray:
        """For every change of configuration (XOR), each department's column in a line's
        stay-then-change bonuses (`department_efficiency`), made once (2**N x D, int16)."""
        if self._columns is None:
            d = self.department_count
            touched = (np.arange(self.size)[:, None] & self.masks) != 0
            self._columns = (np.arange(d) + d * touched).astype(np.int16)
        return self._columns

    def _evaluate(self, what: str, markets: np.ndarray, configs: np.ndarray) -> np.ndarray:
        """An on-demand market's ``what`` (`sim.market.OnDemandLandscapes`: ``efficiency_at``,
        ``basis_at`` padded to the engine's K basis vectors, ``performance_at``) of ``configs``
        whose rows are in ``markets`` (broadcast to configs' shape), market by market."""
        markets = np.broadcast_to(markets, configs.shape)
        stack = self._stack()
        if stack.fits:  # every market in one pass (the same numbers)
            flat_markets, flat_configs = markets.reshape(-1), configs.reshape(-1)
            if what == "efficiency_at":
                values = stack.efficiency_at(flat_markets, flat_configs)
            else:
                values = getattr(stack, what)(flat_markets, flat_configs, self.k_basis)
            return values.reshape(configs.shape + values.shape[1:])
        out = None
        for i in np.unique(markets):
            at = markets == i
            values = getattr(self.markets[i].landscapes, what)(configs[at])
            if what == "basis_at":  # (K_i, picked) -> (picked, K): zeros for absent versions
                padded = np.zeros((values.shape[1], self.k_basis))
                padded[:, : values.shape[0]] = values.T
                values = padded
            if out is None:
                out = np.empty(configs.shape + values.shape[1:])
            out[at] = values
        if out is None:
            width = {"efficiency_at": (self.department_count,), "basis_at": (self.k_basis,)}
            out = np.empty(configs.shape + width.get(what, ()))
        return out

    def _stack(self) -> MarketStack:
        """The markets' landscapes for evaluation at once, rebuilt when a redraw adds one."""
        from sim.market import MarketStack

        landscapes = [m.landscapes for m in self.markets]
        stack = getattr(self, "_market_stack", None)
        if stack is None or not stack.current(landscapes):
            stack = self._market_stack = MarketStack(landscapes)
        return stack

    def _weighted(self, eff: np.ndarray) -> np.ndarray:
        total = eff[..., 0] * self.weights[0]
        for d in range(1, self.department_count):
            total = total + eff[..., d] * self.weights[d]
        return total

    def _basis_value(
        self, rows: np.ndarray, configs: np.ndarray, weights: np.ndarray
    ) -> np.ndarray:
        if self.on_demand:  # the same sum over basis vectors, of values evaluated now
            basis = self._evaluate("basis_at", _take(self.market, rows)[:, None], configs)
            value = basis[..., 0] * weights[:, :1]
            for k in range(1, self.k_basis):
                value = value + basis[..., k] * weights[:, k : k + 1]
            return value
        flat = self.basis.reshape(-1)
        at = _take(self.market, rows)[:, None] * (self.k_basis * self.size) + configs
        value = flat.take(at) * weights[:, :1]
        for k in range(1, self.k_basis):
            value = value + flat.take(at + k * self.size) * weights[:, k : k + 1]
        return value

    def _basis_values(
        self, rows: np.ndarray | slice, configs: np.ndarray, *weights: np.ndarray
    ) -> list[np.ndarray]:
        """`_basis_value` of one configuration per row under each of ``weights`` (rows x K),
        the look-ups shared: the same operations, in the same order, for each."""
        if self.on_demand:
            basis = self._evaluate("basis_at", _take(self.market, rows), configs)
            values = [basis[:, 0] * w[:, 0] for w in weights]
            for k in range(1, self.k_basis):
                values = [v + basis[:, k] * w[:, k] for v, w in zip(values, weights, strict=True)]
            return values
        flat = self.basis.reshape(-1)
        at = _take(self.market, rows) * (self.k_basis * self.size) + configs
        basis = flat.take(at)
        values = [basis * w[:, 0] for w in weights]
        for k in range(1, self.k_basis):
            basis = flat.take(at + k * self.size)
            values = [v + basis * w[:, k] for v, w in zip(values, weights, strict=True)]
        return values

    def perceived(
        self,
        rows: np.ndarray,
        configs: np.ndarray,
        eff: np.ndarray | None = None,
        start=None,
        belief: np.ndarray | None = None,
    ) -> np.ndarray:
        """P_hat of ``configs`` (rows x C): beta * believed V + (1 - beta) * E (with learning),
        by the rows' beliefs (the firm's, or ``belief``: a department's, one per row)."""
        if eff is None:
            eff = self.department_efficiency(
                rows, configs, self.config[rows] if start is None else start
            )
        beta = self.beta.take(_take(self.market, rows))[:, None]
        belief = _take(self.belief, rows) if belief is None else belief
        believed = self._basis_value(rows, configs, belief)
        perceived = beta * believed + (1.0 - beta) * self._weighted(eff)
        if self._purposeful:
            w = _take(self.purpose, rows)[:, None]
            if w.any():  # (1 - w) P_hat + w (1 - normalised impact); rows with w = 0 exact
                at = configs
                if not self._impact_shared:
                    at = _take(self.market, rows)[:, None] * self.size + configs
                low = 1.0 - self.impact_norm_land.take(at)
                perceived = np.where(w > 0, (1.0 - w) * perceived + w * low, perceived)
        return perceived

    # ------------------------------------------------------------------ search
    def propose(
        self,
        rows: np.ndarray,
        dept: np.ndarray,
        base: np.ndarray,
        start: np.ndarray,
        t: int,
        proposals: int,
    ) -> np.ndarray:
        """Department ``dept[i]``'s proposals for row ``rows[i]``, best first: (rows, proposals).

        Alternatives are the status quo, every one-bit flip of the department's decisions
        around ``base``, and, drawn with probability p_jump, one long jump; each is scored by
        U_d = (1 - alpha_d) E_d + alpha_d P_hat and picked by the row's search rule.
        """
        flips = self.flips[dept]
        jumping = self._jumping
        # the status quo, then each flip (padding: 0), then (jumping) the long jump's column
        cands = base[:, None] ^ (self._moves_jump if jumping else self._moves)[dept]
        valid = (self._valid_jump if jumping else self._valid)[dept]
        if jumping:
            p_jump = self.p_jump[rows]
            # the words of `streams.words(keys, t, jump slots)`: each department's two terms
            # made once, gathered per line (the same numbers)
            terms = streams.counters(t, self._jump_slots)[dept]
            w = streams.mix(self.keys[rows][:, None] + terms)
            drawn = streams.uniforms(w[:, 0]) < p_jump
            bits = (w[:, 1:2] >> self._bit_shifts) & np.uint64(1)
            sub = (bits.astype(np.int64) * flips).sum(axis=1)
            cands[:, -1] = np.where(drawn, (base & ~self.masks[dept]) | sub, base)
            valid[:, -1] = drawn
        if self._sampling:
            valid[:, : 1 + self.n_max] &= self._examined(rows, dept, t)
        eff = self.department_efficiency(rows, cands, start)
        alpha = self.alpha[rows, dept][:, None]
        if self._understanding_on:  # the coupling that acts: alpha x understanding (1 if off)
            alpha = alpha * self.understanding[rows, dept][:, None]
        index = np.arange(rows.size)
        own = eff[index, :, dept]
        belief = self._department_beliefs(rows, dept)
        if alpha.any():
            utility = (1.0 - alpha) * own + alpha * self.perceived(rows, cands, eff, belief=belief)
        else:
            utility = own
        utility = np.where(valid, utility, -np.inf)
        chosen = self._choose(utility, self.rule[rows], self.proposals[rows], proposals, jumping)
        if self.traced.any() and self.traced[rows].any():
            self._trace_proposals(rows, dept, cands, valid, eff, own, utility, chosen, t, belief)
        return cands[index[:, None], chosen]

    def _department_beliefs(self, rows: np.ndarray, dept: np.ndarray) -> np.ndarray | None:
        """The belief department ``dept[i]`` of row ``rows[i]`` judges the market by: its own
        where its firm senses by department, else the firm's (None: every row's is the firm's)."""
        if not self._departments_sense:
            return None
        own = self.by_department[rows]
        if not own.any():
            return None
        return np.where(own[:, None], self.department_belief[rows, dept], self.belief[rows])

    def _examined(self, rows: np.ndarray, dept: np.ndarray, t: int) -> np.ndarray:
        """Which columns (status quo, then flips) department ``dept[i]`` of row ``rows[i]``
        examines: the status quo and ``count`` of its one-bit flips drawn at random without
        replacement, where ``count`` is the strategy's `alternatives` (0 = all), scaled by the
        department's engagement where engagement drives search and by min(1, D x its budget
        share) where resources scale search (at least one)."""
        n_local = self.n_local[dept]
        limit = self.alternatives[rows]
        count = np.where((limit > 0) & (limit < n_local), limit, n_local)
        scaled = self.engaged[rows] & self.engaged_search[rows]
        if scaled.any():
            level = self.engagement[rows, dept]
            count = np.where(
                scaled, np.maximum(1, np.floor(level * count + 0.5)).astype(np.int64), count
            )
        by_share = self.resourced[rows] & self.res_search[rows]
        if by_share.any():  # resources (§7.22): below the equal share, fewer alternatives
            level = np.minimum(1.0, self.department_count * self.shares[rows, dept])
            count = np.where(
                by_share, np.maximum(1, np.floor(level * count + 0.5)).astype(np.int64), count
            )
        examined = np.ones((rows.size, 1 + self.n_max), dtype=bool)
        partial = np.flatnonzero(count < n_local)
        if partial.size:
            r, d = rows[partial], dept[partial]
            w = streams.words(self.keys[r], t, (_EXAMINE_SLOT + d)[:, None])
            positions = np.arange(1, self.n_max + 1, dtype=np.uint64) * streams.GAMMA
            draw = streams.mix(w + positions)  # a random key per flip, (partial, n_max)
            draw[np.arange(self.n_max)[None, :] >= n_local[partial][:, None]] = np.iinfo(
                np.uint64
            ).max  # padding columns come last
            rank = np.argsort(np.argsort(draw, axis=1, kind="stable"), axis=1, kind="stable")
            examined[partial, 1:] = rank < count[partial][:, None]
        return examined

    def _trace_proposals(
        self, rows, dept, cands, valid, eff, own, utility, chosen, t, belief=None
    ) -> None:
        """Record the traced rows' alternatives, their E_d, P_hat and U_d, and the proposals."""
        picked = np.flatnonzero(self.traced[rows])
        mine = None if belief is None else belief[picked]
        perceived = self.perceived(rows[picked], cands[picked], eff[picked], belief=mine)
        for i, k in enumerate(picked):
            rank = {int(c): r for r, c in enumerate(chosen[k])}
            for col in np.flatnonzero(valid[k]):
                self.trace_records.append(
                    {
                        "period": t,
                        "row": int(rows[k]),
                        "step": "department",
                        "department": int(dept[k]),
                        "alternative": int(col),
                        "config": int(cands[k, col]),
                        "own_efficiency": float(own[k, col]),
                        "perceived_performance": float(perceived[i, col]),
                        "utility": float(utility[k, col]),
                        "proposal_rank": rank.get(int(col), -1),
                    }
                )

    def _trace_choice(self, rows, cands, scores, best, t) -> None:
        """Record the head office's combinations, their P_hat and its choice."""
        for k in np.flatnonzero(self.traced[rows]):
            for col in range(cands.shape[1]):
                self.trace_records.append(
                    {
                        "period": t,
                        "row": int(rows[k]),
                        "step": "head office",
                        "department": -1,
                        "alternative": col,
                        "config": int(cands[k, col]),
                        "own_efficiency": np.nan,
                        "perceived_performance": float(scores[k, col]),
                        "utility": float(scores[k, col]),
                        "proposal_rank": 0 if col == best[k] else -1,
                    }
                )

    def _choose(
        self,
        utility: np.ndarray,
        rule: np.ndarray,
        own_proposals: np.ndarray,
        proposals: int,
        jumping: bool,
    ) -> np.ndarray:
        """Column indices of the chosen alternatives, best first, shape (rows, proposals).

        ``best``: highest utility first (ties keep the lower column: the status quo wins);
        ``first``: the first flip in the fixed order that beats the status quo, replaced by a
        long jump that scores higher still (Levinthal 1997); further proposals are the next
        improving flips in order. A row asking fewer proposals repeats its first.
        """
        if proposals == 1:
            out = np.argmax(utility, axis=1)[:, None]
        else:
            out = np.argsort(-utility, axis=1, kind="stable")[:, :proposals]
            if out.shape[1] < proposals:  # fewer alternatives than proposals: repeat the best
                out = np.concatenate(
                    (out, np.repeat(out[:, :1], proposals - out.shape[1], axis=1)), axis=1
                )
        first = rule == 1
        if first.any():
            u = utility[first]
            improving = u[:, 1 : self.n_max + 1] > u[:, :1]
            picked = np.where(improving.any(axis=1), improving.argmax(axis=1) + 1, 0)
            if jumping:
                jump = self.n_max + 1
                picked = np.where(u[:, jump] > u[np.arange(u.shape[0]), picked], jump, picked)
            chosen = np.repeat(picked[:, None], proposals, axis=1)
            if proposals > 1:
                others = improving.copy()
                inside = (picked >= 1) & (picked <= self.n_max)
                others[np.flatnonzero(inside), picked[inside] - 1] = False
                rank = np.cumsum(others, axis=1)
                for p in range(1, proposals):
                    hit = others & (rank == p)
                    chosen[:, p] = np.where(hit.any(axis=1), hit.argmax(axis=1) + 1, picked)
            out[first] = chosen
        if proposals > 1:
            fewer = np.arange(proposals)[None, :] >= own_proposals[:, None]
            if self._sampling:  # fewer alternatives examined than proposals: repeat the best
                fewer |= np.take_along_axis(utility, out, axis=1) == -np.inf
            out = np.where(fewer, out[:, :1], out)
        return out

    # ------------------------------------------------------------------ coordination
    def _sequential(self, rows, start, t) -> np.ndarray:
        """Sequential coordination: departments move one after another, each from where the
        previous one left the configuration; in a random order drawn each period, or (with
        `sequential_order = "fixed"`) always in the scenario's order of departments."""
        d_count = self.department_count
        w = streams.words(self.keys[rows], t, np.arange(_ORDER_SLOT, _ORDER_SLOT + d_count))
        order = np.argsort(w, axis=1, kind="stable")
        fixed = self.fixed_order[rows]
        if fixed.any():
            order[fixed] = np.arange(d_count)
        current = start.copy()
        for position in range(d_count):
            dept = order[:, position]
            chosen = self.propose(rows, dept, current, start, t, 1)[:, 0]
            mask = self.masks[dept]
            current = (current & ~mask) | (chosen & mask)
        return current

    def _simultaneous(self, rows, start, t, hierarchical) -> np.ndarray:
        """Decentralized and hierarchical coordination: every department proposes from the
        period's start. Decentralized: each department's best proposal is applied at once.
        Hierarchical: a head office evaluates every combination of the proposals by P_hat and
        adopts the best if it beats the status quo (Rivkin & Siggelkow's active CEO); above
        `HEAD_OFFICE_COMBINATIONS` the screened ones (`_head_office`)."""
        d_count = self.department_count
        proposals = int(self.proposals[rows[hierarchical]].max()) if hierarchical.any() else 1
        # one call for all departments of all rows: a (row, department) pair per line
        base = np.repeat(start, d_count)
        dept = self._line_departments.get(rows.size)
        if dept is None:
            dept = self._line_departments[rows.size] = np.tile(np.arange(d_count), rows.size)
        chosen = self.propose(np.repeat(rows, d_count), dept, base, base, t, proposals)
        parts = chosen.reshape(rows.size, d_count, proposals) & self.masks[None, :, None]
        new = parts[:, :, 0].sum(axis=1)  # departments own disjoint bits
        if hierarchical.any():
            screened = hierarchical & (
                self.proposals[rows].astype(float) ** d_count > HEAD_OFFICE_COMBINATIONS
            )
            if not screened.any():  # every combination of every row (as always)
                new[hierarchical] = self._head_office(rows, start, parts, hierarchical, t)
            else:  # rows by their own proposals: all combinations, or screened ones
                for group in (hierarchical & ~screened, screened):
                    if group.any():
                        p = int(self.proposals[rows[group]].max())
                        head = parts[:, :, :p]
                        new[group] = self._head_office(rows, start, head, group, t)
        return new

    def _head_office(
        self, rows: np.ndarray, start: np.ndarray, parts: np.ndarray, which: np.ndarray, t: int
    ) -> np.ndarray:
        """The configurations the head office adopts for rows ``which`` (a mask over ``rows``)
        from the departments' proposal ``parts`` (rows, D, P): the status quo or a combination,
        whichever has the highest P_hat (the status quo wins ties, then the first in order).
        The combinations are every one (Cartesian product, the first department's proposal
        varying slowest) while P ** D is at most `HEAD_OFFICE_COMBINATIONS`; above, those that
        differ from the departments' first proposals in at most two departments
        (`_screened_choices`, docs/ODD.md 7.9)."""
        head = parts[which]
        d_count, p = head.shape[1], head.shape[2]
        if p**d_count <= HEAD_OFFICE_COMBINATIONS:
            combos = head[:, 0]
            for d in range(1, d_count):
                combos = (combos[:, :, None] + head[:, d][:, None, :]).reshape(head.shape[0], -1)
        else:
            choice = _screened_choices(d_count, p)  # (C, D): each department's proposal
            combos = head[:, np.arange(d_count)[None, :], choice].sum(axis=2)  # disjoint bits
        cands = np.concatenate((start[which][:, None], combos), axis=1)
        scores = self.perceived(rows[which], cands, start=start[which])
        best = np.argmax(scores, axis=1)
        if self.traced.any():
            self._trace_choice(rows[which], cands, scores, best, t)
        return cands[np.arange(cands.shape[0]), best]  # status quo wins ties

    def select(self, t: int, start: np.ndarray) -> None:
        """Levinthal's (1997) selection in each population that has it: a firm survives with
        probability P / P_max (landscape performance, best of its population); a vacancy goes to
        a random newcomer with probability 1 - mean / max, else to an imitator of a survivor
        drawn in proportion to performance. Populations of one size are done at once, one
        population per line (each line's numbers depend on that population alone)."""
        for chosen, block, run in self._selection_blocks:
            lines = functools.partial(_lines, block=block, run=run)
            configs = lines(self.config)
            if self.on_demand:
                fitness = self._evaluate("performance_at", lines(self.market), configs)
            else:
                fitness = self.performance_land.take(lines(self.market) * self.size + configs)
            best = fitness.max(axis=1, keepdims=True)
            slot = np.arange(_SELECTION_SLOT, _SELECTION_SLOT + 1)
            w = streams.words(lines(self.keys).reshape(-1), t, slot).reshape(block.shape)
            survive = streams.uniforms(w) < fitness / best
            dead = ~survive
            if not dead.any():
                continue
            line, place = np.nonzero(dead)  # the vacancies (their other words: drawn for them)
            replaced = block[line, place]
            w = streams.words(self.keys.take(replaced), t, slot[0] + np.arange(1, 4))
            newcomer_share = 1.0 - fitness.mean(axis=1) / best[:, 0]
            random_entrant = streams.uniforms(w[:, 0]) < newcomer_share[line]
            cumulative = np.cumsum(np.where(survive, fitness, 0.0), axis=1)
            target = streams.uniforms(w[:, 1]) * cumulative[line, -1]
            # the first survivor whose cumulative share passes the target (there is one: the
            # best firm always survives, so the total is positive and above the target)
            imitated = (cumulative[line] > target[:, None]).argmax(axis=1)
            copied = configs[line, imitated]
            fresh = (w[:, 2] & self.config_mask).astype(np.int64)
            self.config[replaced] = np.where(random_entrant, fresh, copied)
            order = np.cumsum(dead, axis=1) - 1  # newcomers' identities, in row order
            self.ids[replaced] = self.next_id[chosen][line] + order[line, place]
            count = dead.sum(axis=1)
            self.next_id[chosen] += count
            self.entrants[t, chosen] = count
            self.experience[replaced] = self.initial_experience[replaced][:, None]
            self.understanding[replaced] = self.initial_understanding[replaced]
            self.engagement[replaced] = self.initial_engagement[replaced]
            self.shares[replaced] = self.initial_shares[replaced]
            start[replaced] = self.config[replaced]  # a newcomer starts where it enters

    def _fast_rows(self, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` (a mask) take their departments' moves from their population's
        move table (`_MoveTables`): the general path's numbers, bit for bit, by look-ups.

        A table holds, for every configuration, each department's utility and its local move
        (first or best one-bit flip); it is exact when utility is one function of the
        configuration for the whole population. So every row of the population must have
        - decentralized coordination (only each department's first proposal counts);
        - no learning by doing (gain 0: efficiency is the landscape's);
        - strategic understanding off (the coupling is alpha itself);
        - every one-bit alternative examined (no limit below the largest department, and
          engagement or a resource share not scaling search);
        - no trace;
        - the population's alpha, search rule and beliefs.
        The population must be large enough to pay for a table of 2**N configurations (at
        least 2**N / 16 firms), and its market, alpha, rule and beliefs as last period, or this
        its first period (see `_MoveTables` for when tables are rebuilt). Long jumps are drawn
        per row, as in `propose`.
        """
        if not self.shortcuts or not self._tables.groups.size:
            return np.zeros(rows.size, dtype=bool)
        qualifies = (
            (self.mode == 0)
            & (self.gain == 0.0)
            & ~self.understands
            & ~self.by_department
            & (self.purpose == 0.0)
            & ((self.alternatives == 0) | (self.alternatives >= self.n_max))
            & ~(self.engaged & self.engaged_search)
            & ~(self.resourced & self.res_search)
            & ~self.traced
            & self.alive
        )
        return self._tables.rows(qualifies)[rows]

    def decide(self, rows: np.ndarray, t: int) -> np.ndarray:
        """The configurations ``rows`` would move to in period ``t`` under their coordination
        modes, from their current configurations and beliefs (nothing is changed)."""
        start = self.config[rows]
        new = start.copy()
        fast = self._fast_rows(rows)
        if fast.any():
            new[fast] = self._tables.decide(rows[fast], start[fast], t)
        modes = np.where(fast, -1, self.mode[rows])  # -1: decided by the shortcut
        together = np.flatnonzero((modes == 0) | (modes == 2))  # decentralized, hierarchical
        if together.size:
            new[together] = self._simultaneous(
                rows[together], start[together], t, modes[together] == 2
            )
        one_by_one = np.flatnonzero(modes == 1)
        if one_by_one.size:
            new[one_by_one] = self._sequential(rows[one_by_one], start[one_by_one], t)
        return new

    # ------------------------------------------------------------------ the period
    def step(self, t: int) -> None:
        """Period ``t``: every living firm senses, its departments propose, its coordination
        decides; learning, money and exit follow; populations face selection."""
        self.build()
        if not 1 <= t <= self.horizon:
            raise ValueError(f"period {t} is outside 1..{self.horizon}")
        self.period = t
        if self._competing and self.waiting.any():
            self._enter(t)
        active = np.flatnonzero(self.alive)
        start = self._move(active, t)
        if self.selection_groups:
            self.select(t, start)
        moved = np.bitwise_count(self.config ^ start).astype(np.int64)
        self._record(t, active, moved=moved)
        if self.adaptation is not None:
            due = self.adaptation.due(t, self.alive)
            if self.adaptation.imitating:
                changed = self.adaptation.revise(
                    due, self.keys, t, pools=self._pools, partners=self.partners
                )
                self.history.imitated[t, due] = self.adaptation.model[due]
            else:
                changed = self.adaptation.revise(due, self.keys, t)
            self._adopt(changed)
        self._refresh_bonus()

    def _build_partners(self) -> None:
        """The partners' adjacency matrix (rows x rows, symmetric, 0/1) and each row's share of
        information taken from them (none without links)."""
        if not self._links:
            return
        from scipy import sparse

        self.sharing = np.zeros(self.rows)
        for rows, _, sharing in self._links:
            self.sharing[rows] = sharing
        i = np.concatenate([a for a, _, _ in self._links])
        j = np.concatenate([b for _, b, _ in self._links])
        adjacency = sparse.coo_matrix((np.ones(i.size), (i, j)), shape=(self.rows, self.rows))
        adjacency = adjacency.tocsr()
        adjacency.data[:] = 1.0  # a pair listed twice is one link
        self.partners = adjacency
        self._links = []

    def _share_information(self, active: np.ndarray) -> None:
        """Partners share market information (docs/ODD.md, section 7.20): every ``active`` firm
        (in business) with active partners moves its belief the share ``sharing`` of the way towards
        their mean belief, all at once from the beliefs after sensing (one sparse product for
        all firms of all markets)."""
        acting = np.zeros(self.rows, dtype=bool)
        acting[active] = True
        open_ = acting.astype(float)[:, None]
        summed = self.partners @ np.hstack([self.belief * open_, open_])
        count = summed[:, -1]
        shares = acting & (count > 0) & (self.sharing > 0)
        if not shares.any():
            return
        mean = summed[shares, :-1] / count[shares, None]
        belief = self.belief[shares]
        self.belief[shares] = belief + self.sharing[shares, None] * (mean - belief)

    def _sense_by_department(
        self, rows: np.ndarray | slice, sigma: np.ndarray, truth: np.ndarray
    ) -> None:
        """Rows that sense by department: each department's belief closes its own rate of the
        gap to the truth, and the firm's (the head office's) belief is their mean weighted by
        department size (docs/ODD.md, "Per-department settings")."""
        own = self.by_department[rows]
        if not own.any():
            return
        mine = np.flatnonzero(own) if isinstance(rows, slice) else rows[own]
        beliefs = self.department_belief[mine]
        beliefs = beliefs + sigma[own][:, :, None] * (truth[own][:, None, :] - beliefs)
        self.department_belief[mine] = beliefs
        pooled = beliefs[:, 0] * self.weights[0]
        for d in range(1, self.department_count):
            pooled = pooled + beliefs[:, d] * self.weights[d]
        self.belief[mine] = pooled

    def _adopt(self, rows: np.ndarray) -> None:
        """Give learning ``rows`` the parameters of the strategy they now follow."""
        a = self.adaptation
        if a is None or rows.size == 0:
            return
        for r, rule in enumerate(a.rules):
            for k, settings in enumerate(rule.menu):
                mine = rows[(a.rule[rows] == r) & (a.setting[rows] == k)]
                if mine.size:
                    self.set_settings(mine, settings)

    def _move(self, active: np.ndarray, t: int) -> np.ndarray:
        """Period ``t``'s sensing, decisions, learning and people of the ``active`` rows (money,
        exit, selection and records are `step`'s); returns every row's configuration before."""
        rows = slice(None) if active.size == self.rows else active  # the same, read faster
        # rows that never jump get a long-jump column they never take: results stay the same
        self._jumping = bool(self.p_jump[rows].any())
        sigma = self.sensing[rows][:, None]
        if sigma.any():
            belief = self.belief[rows]
            truth = self.truth.take(_take(self.market, rows), axis=0)
            self.belief[rows] = belief + sigma * (truth - belief)
            if self._departments_sense:  # (their firm's belief is replaced by the pooled one)
                self._sense_by_department(rows, self.department_sensing[rows], truth)
        if self.partners is not None:
            self._share_information(active)
        start = self.config.copy()
        new = start.copy()
        new[rows] = self.decide(active, t)
        for row in np.flatnonzero(self.traced[active]) if self.traced.any() else ():
            self.trace_records.append(
                {"period": t, "row": int(active[row]), "step": "decision", "department": -1,
                 "alternative": -1, "config": int(new[active[row]]), "own_efficiency": np.nan,
                 "perceived_performance": np.nan, "utility": np.nan, "proposal_rank": 0}
            )  # fmt: skip
        if self._resources_on:  # from the configuration and experience the period starts with
            self._reallocate(active)
        changed = ((new ^ start)[:, None] & self.masks) != 0
        keep = self.keep[:, None]
        self.experience[rows] = np.where(
            changed[rows], self.experience[rows] * keep[rows], self.experience[rows] + 1.0
        )
        if self._understanding_on or self._engagement_on:
            self._people(active, changed[active])
        self.config[rows] = new[rows]
        return start

    def _enter(self, t: int) -> None:
        """Entry at the start of period ``t`` (docs/ODD.md, section 7.18): in every queue of
        waiting entrants, the first enters with its market's entry rate (its own random word,
        bank 1 slot 40). It starts at a random configuration (slot 41) or at the configuration
        of the market's firm with the largest share last period (ties: the first row), with
        its initial cash, experience, understanding and engagement, and knowing the market."""
        first = np.flatnonzero(self.waiting)
        first = first[self.place[first] == self.entered[self.queue[first]]]
        if not first.size:
            return
        m = self.market[first]
        w = streams.words(self.keys[first], t, np.array([_ENTRY_SLOT, _ENTRY_SLOT + 1]))
        enters = streams.uniforms(w[:, 0]) < self.entry_rate[m]
        rows, m, w = first[enters], m[enters], w[enters]
        if not rows.size:
            return
        config = (w[:, 1] & self.config_mask).astype(np.int64)
        leading = self.entry_leader[m]
        if leading.any():
            share = np.where(self.alive, self.history.market_share[t - 1], -1.0)
            order = np.lexsort((np.arange(self.rows), -share, self.market))
            heads = order[np.r_[True, np.diff(self.market[order]) != 0]]
            leader = np.full(len(self.markets), _UNSET, dtype=np.int64)
            open_heads = heads[share[heads] >= 0]
            leader[self.market[open_heads]] = open_heads
            copies = leading & (leader[m] != _UNSET)
            config = np.where(copies, self.config[leader[m]], config)
        self.config[rows] = config
        self.alive[rows] = True
        self.waiting[rows] = False
        self.entered[self.queue[rows]] += 1
        self.cash[rows] = self.initial_cash[rows]
        self.experience[rows] = self.initial_experience[rows][:, None]
        self.understanding[rows] = self.initial_understanding[rows]
        self.engagement[rows] = self.initial_engagement[rows]
        self.shares[rows] = self.initial_shares[rows]
        self.belief[rows] = self.truth[m]
        self.department_belief[rows] = self.truth[m][:, None, :]
        self._refresh_bonus()

    def _people(self, rows: np.ndarray, changed: np.ndarray) -> None:
        """Strategic understanding and engagement after period's decisions (docs/ODD.md).

        Understanding u: forgetting takes a share, communication closes a share of the gap to 1.
        Engagement e: a change of a department's decisions pushes its staff; the share of the
        push they see a purpose in, alpha x u, does no harm, the rest erodes e by ``erosion``;
        purpose and stability (no change) recover a share ``recovery`` of the gap to 1. Then a
        share ``turnover`` x (1 - e) of the staff leaves, taking its experience and its
        understanding with it. Every update is a convex step, so u and e stay in [0, 1].
        """
        u = self.understanding[rows]
        purpose = self.alpha[rows] * u
        if self._engagement_on:
            on = self.engaged[rows][:, None]
            e = self.engagement[rows]
            push = changed.astype(float)
            rise = self.recovery[rows][:, None] * (1.0 - e) * (purpose + (1.0 - push)) / 2.0
            fall = self.erosion[rows] * e * push * (1.0 - purpose)
            e = np.where(on, np.clip(e + rise - fall, 0.0, 1.0), e)
            self.engagement[rows] = e
            leaving = np.where(on, self.turnover[rows] * (1.0 - e), 0.0)
            self.experience[rows] = self.experience[rows] * (1.0 - leaving)
        else:
            leaving = 0.0
        if self._understanding_on:
            on = self.understands[rows][:, None]
            u = u * (1.0 - self.forgetting[rows][:, None])
            u = u + self.communication[rows] * (1.0 - u)
            u = u * (1.0 - leaving)
            self.understanding[rows] = np.where(on, np.clip(u, 0.0, 1.0), 1.0)

    def _refresh_bonus(self) -> None:
        # evaluations anticipate next period's experience: +1 if unchanged, partly reset if changed
        # (rows that do not learn get a bonus of 0, which leaves their efficiencies exact)
        self._learning = bool(self.gain.any())
        if self._learning:
            rows = slice(None)  # (every row, read without a copy)
            self._bonus_stay = self._bonus(rows, self.experience + 1.0)
            self._bonus_change = self._bonus(rows, self.experience * self.keep[:, None])
            # each row's stay then change bonuses, as `department_efficiency` looks them up
            self._bonus_both = np.concatenate((self._bonus_stay, self._bonus_change), 1)

    def _record(
        self, t: int, active: np.ndarray, *, moved: np.ndarray, first: bool = False
    ) -> None:
        h = self.history
        dead = np.flatnonzero(~self.alive)
        if dead.size and first:  # entrants waiting at period 0
            h.config[t, dead] = self.config[dead]
            h.profit[t, dead] = 0.0
            h.cash[t, dead] = self.cash[dead]
        elif dead.size:  # exited firms: configuration, distance and cash frozen, no profit
            h.config[t, dead] = h.config[t - 1, dead]
            h.distance_to_port[t, dead] = h.distance_to_port[t - 1, dead]
            h.profit[t, dead] = 0.0
            h.cash[t, dead] = self.cash[dead]
        rows = slice(None) if active.size == self.rows else active  # the same, read faster
        configs = self.config[rows]
        if not self._outcomes:  # nothing recorded or decided reads performance or money
            h.config[t, rows] = configs
            h.ids[t] = self.ids
            return
        m = self.market[rows]
        if self.on_demand:
            land = self._evaluate("efficiency_at", m, configs)
            landscape_performance = self._evaluate("performance_at", m, configs)
        else:
            flat = m * self.size + configs
            land = self.department_land.take(flat, axis=0)
            landscape_performance = self.performance_land.take(flat)
        if first or self._learning:  # without learning the bonus is 0 and E_d the landscape's
            dept_eff = land + (1.0 - land) * self._bonus(rows, self.experience[rows])
        else:
            dept_eff = land
        truth = self.truth.take(m, axis=0)
        if self._resources_on:  # the split scales efficiency and the demand served
            dept_eff, sigma, spent = self._resource_outcomes(t, rows, dept_eff, truth, first)
        efficiency = self._weighted(dept_eff)
        # a weighted sum of shares in [0, 1]; the clip removes rounding (1 + 2e-16)
        believing = h.believed_market_value is not None  # (else not computed)
        weights = (truth, self.belief[rows]) if believing else (truth,)
        values = self._basis_values(rows, configs, *weights)
        value, *believed = (np.clip(v, 0.0, 1.0) for v in values)
        if self._resources_on:
            value = value * sigma
        beta = self.beta.take(m)
        performance = beta * value + (1.0 - beta) * efficiency
        earned = performance
        if self._competing:  # customers shared: sales replace market value in what is earned
            share, sales = self._demand(m, value)
            earned = beta * sales + (1.0 - beta) * efficiency
            h.market_share[t, rows] = share
            h.sales[t, rows] = sales
        profit = self.money_scale[rows] * (earned - self.break_even[rows]) - self.cost[rows]
        if self._resources_on:
            profit = profit - spent
        if self._purposeful:  # regulation: a levy per impact unit above the threshold
            impact = self.impact_land.take(configs if self._impact_shared else flat)
            levy = self.levy.take(m) * np.maximum(0.0, impact - self.threshold.take(m))
            profit = profit - levy
            if h.impact is not None:
                h.impact[t, rows] = impact
                h.levy[t, rows] = 0.0 if first else levy
        if first:
            profit = np.zeros_like(profit)
        self.cash[rows] = self.cash[rows] + profit
        records = {  # each computed only if recorded (an engine of populations keeps some)
            "config": lambda: configs,
            "moved": lambda: moved[rows],
            "alive": lambda: True,
            "department_efficiency": lambda: dept_eff,
            "efficiency": lambda: efficiency,
            "market_value": lambda: value,
            "believed_market_value": lambda: believed[0],
            "performance": lambda: performance,
            "performance_norm": lambda: landscape_performance / self.best.take(m),
            "profit": lambda: profit,
            "cash": lambda: self.cash[rows],
            "distance_to_port": lambda: np.bitwise_count(configs ^ self.port.take(m)),
        }
        for name, values in records.items():
            target = getattr(h, name)
            if target is not None:
                target[t, rows] = values()
        if h.understanding is not None:
            h.understanding[t, rows] = self.understanding[rows]
        if h.engagement is not None:
            h.engagement[t, rows] = self.engagement[rows]
        h.ids[t] = self.ids
        if self.adaptation is not None:
            self.adaptation.earn(active, profit)
            h.setting[t] = self.adaptation.setting
        bust = active[(self.cash[rows] < 0) & self.bankruptcy[rows]]
        self.alive[bust] = False

    def _demand(self, m: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Market shares and sales of the firms in business (markets ``m``, market values
        ``value``): s_j by the logit in competing markets (NaN elsewhere); sales = market size x
        s_j x V_j there, V_j elsewhere (a firm alone in its market, as without competition)."""
        competing = self.competing[m]
        share = np.full(value.shape, np.nan)
        sales = value.copy()
        if competing.any():
            inside = np.flatnonzero(competing)
            markets = m[inside]
            share[inside] = logit_shares(
                value[inside], markets, self.sensitivity_of, self.outside_weight
            )
            sales[inside] = self.market_size[markets] * share[inside] * value[inside]
        return share, sales


class _MoveTables:
    """Per population: every configuration's utility for each department and the department's
    local move, as `Engine.propose` computes them for a row without learning (see
    `Engine._fast_rows` for when they are used). Built in a population's first period and
    again when its market, alpha, search rule or beliefs change: at once if the old ones had
    lasted, else once the new ones have lasted a period (so beliefs that move every period
    never pay for a table they use once)."""

    #: a population pays for a table of 2**N configurations from 2**N / 16 firms on
    MIN_FIRMS_SHARE = 1 / 16

    def __init__(self, engine: Engine) -> None:
        self.engine = e = engine
        self.groups = np.flatnonzero(
            (e.group_size >= e.size * self.MIN_FIRMS_SHARE) & (not e.on_demand)
        )
        self.decided = 0  # row-periods decided from tables (for tests and profiling)
        self.index = np.full(e.groups, -1, dtype=np.int64)
        self.index[self.groups] = np.arange(self.groups.size)
        self.blocks = _blocks(e, self.groups)
        count, d = self.groups.size, e.department_count
        self.alpha = np.full((count, d), np.nan)  # the key each population had last period
        self.rule = np.full(count, -1, dtype=np.int64)
        self.belief = np.full((count, e.k_basis), np.nan)
        self.version = np.full(count, -1, dtype=np.int64)
        self.built = np.zeros(count, dtype=bool)
        self.lasted = np.zeros(count, dtype=np.int64)  # periods the key has stayed the same
        self.move: np.ndarray | None = None  # (count, 2**N, D) configurations
        self.utility: np.ndarray | None = None  # (count, 2**N, D)
        self._low: np.ndarray | None = None  # `_deposit`'s look-up tables
        self._high: np.ndarray | None = None

    def rows(self, qualifies: np.ndarray) -> np.ndarray:
        """Every engine row: True if its population's table is in force this period (built
        now if needed). ``qualifies``: the rows whose own settings allow a table."""
        e = self.engine
        if self.belief.shape[1] < e.k_basis:  # beliefs widened by zeros: values unchanged
            self.belief = np.pad(self.belief, ((0, 0), (0, e.k_basis - self.belief.shape[1])))
        out = np.zeros(e.rows, dtype=bool)
        for chosen, block, run in self.blocks:
            lines = functools.partial(_lines, block=block, run=run)
            first = block[:, 0]
            alpha, rule, belief = e.alpha[first], e.rule[first], e.belief[first]
            version = e._versions[e.market[first]]
            ok = lines(qualifies).all(axis=1)
            ok &= (lines(e.rule) == rule[:, None]).all(axis=1)
            for values, first_row in ((e.alpha, alpha), (e.belief, belief)):
                for k in range(values.shape[1]):  # a column at a time: long inner loops
                    ok &= (lines(values[:, k]) == first_row[:, k : k + 1]).all(axis=1)
            i = self.index[chosen]
            same = (
                (self.alpha[i] == alpha).all(axis=1)
                & (self.rule[i] == rule)
                & (self.belief[i] == belief).all(axis=1)
                & (self.version[i] == version)
            )
            # a new key is remembered; its table is built now if this is the population's
            # first period or the old key had lasted, else if it lasts a period
            at_once = (self.version[i] == -1) | (self.lasted[i] > 1)
            renew = ~same
            self.alpha[i[renew]], self.rule[i[renew]] = alpha[renew], rule[renew]
            self.belief[i[renew]], self.version[i[renew]] = belief[renew], version[renew]
            self.built[i[renew]] = False
            self.lasted[i] = np.where(same, self.lasted[i] + 1, 0)
            use = ok & (same | at_once)
            build = use & ~self.built[i]
            if build.any():
                self._build(i[build], first[build])
            if run is None:
                out[block[use]] = True
            else:
                lines(out)[use] = True
        return out

    def _build(self, tables: np.ndarray, rows: np.ndarray) -> None:
        """Tables ``tables`` for the populations of ``rows`` (markets, alphas, rules, beliefs)."""
        e = self.engine
        size, d_count = e.size, e.department_count
        if self.move is None:
            self.move = np.empty((self.groups.size, size, d_count), dtype=np.int64)
            self.utility = np.empty((self.groups.size, size, d_count))
        m = e.market[rows]
        configs = np.arange(size, dtype=np.int64)
        eff = e.department_land[m[:, None] * size + configs]  # (tables, 2**N, D)
        alpha = e.alpha[rows][:, None, :]
        if alpha.any():  # the same operations, in the same order, as `propose`
            belief, basis = e.belief[rows][:, None, :], e.basis[m]
            believed = basis[:, 0] * belief[..., 0]
            for k in range(1, e.k_basis):
                believed = believed + basis[:, k] * belief[..., k]
            beta = e.beta[m][:, None]
            perceived = beta * believed + (1.0 - beta) * e._weighted(eff)
            utility = (1.0 - alpha) * eff + alpha * perceived[..., None]
        else:
            utility = eff
        self.utility[tables] = utility
        for first in (True, False):
            chosen = (e.rule[rows] == 1) == first
            if chosen.any():
                for d in range(d_count):
                    u = np.ascontiguousarray(utility[chosen, :, d])
                    flip = self._local_moves(u, e.departments[d], first)
                    self.move[tables[chosen], :, d] = configs ^ flip
        self.built[tables] = True

    @staticmethod
    def _local_moves(u: np.ndarray, decisions: Sequence[int], first: bool) -> np.ndarray:
        """For utilities ``u`` (tables, 2**N), the bit each configuration flips (0: none):
        ``first``, the first of ``decisions`` whose flip beats the status quo; otherwise the
        best flip, if better than the status quo (ties: the status quo, then the earlier flip).
        """
        count, size = u.shape
        flip = np.zeros(u.shape, dtype=np.int64)
        top = u.copy()
        # configurations as (table and higher bits, bit b, lower bits): flipping bit b swaps
        # the halves of the middle axis (with few lower bits, one lower setting at a time:
        # numpy is slow on short inner loops)
        for b in reversed(decisions) if first else decisions:
            shape = (count * size >> (b + 1), 2, 1 << b)
            here, move, best = u.reshape(shape), flip.reshape(shape), top.reshape(shape)
            lower = [slice(None)] if b >= 3 else range(1 << b)
            for side, k in ((side, k) for side in (0, 1) for k in lower):
                score = here[:, 1 - side, k]
                better = score > (here if first else best)[:, side, k]
                np.copyto(move[:, side, k], 1 << b, where=better)
                if not first:
                    np.copyto(best[:, side, k], score, where=better)
        return flip

    def decide(self, rows: np.ndarray, start: np.ndarray, t: int) -> np.ndarray:
        """The configurations ``rows`` move to from ``start`` in period ``t`` (decentralized):
        each department's table move, replaced by its long jump if drawn and better."""
        e = self.engine
        d_count = e.department_count
        self.decided += rows.size
        base = self.index.take(e.group.take(rows)) * e.size
        move, utility = self.move.reshape(-1, d_count), self.utility.reshape(-1)
        picked = move.take(base + start, axis=0)
        if e._jumping:  # as in `propose`: department d's slots 2d and 2d + 1
            p_jump = e.p_jump.take(rows)
            depts = np.arange(d_count)
            if ((p_jump <= 0.0) | (p_jump >= 1.0)).all():  # drawn or not whatever the word
                drawn = np.repeat((p_jump >= 1.0)[:, None], d_count, axis=1)
                w = streams.words(e.keys.take(rows), t, 2 * depts + 1)
            else:
                w = streams.words(e.keys.take(rows), t, np.arange(2 * d_count))
                drawn = streams.uniforms(w[:, 0::2]) < p_jump[:, None]
                w = w[:, 1::2]
            jump = np.where(drawn, (start[:, None] & ~e.masks) | self._deposit(w), start[:, None])
            at = base[:, None] * d_count + depts
            better = utility.take(at + jump * d_count) > utility.take(at + picked * d_count)
            picked = np.where(drawn & better, jump, picked)
        return (picked & e.masks).sum(axis=1)  # departments own disjoint bits

    def _deposit(self, w: np.ndarray) -> np.ndarray:
        """Department d's decisions set as the low bits of ``w[:, d]`` say (`propose`'s long
        jump: bit j of the word sets decision j of the department), by two table look-ups."""
        e = self.engine
        half = (e.n_max + 1) // 2
        if self._low is None:  # (D, 2**half): the decisions set by each low or high half
            bits = (np.arange(2**half)[:, None, None] >> np.arange(e.n_max)) & 1
            low = np.where(np.arange(e.n_max) < half, e.flips, 0)
            high = np.roll(np.where(np.arange(e.n_max) >= half, e.flips, 0), -half, axis=1)
            self._low = np.ascontiguousarray((bits * low).sum(axis=2).T)
            self._high = np.ascontiguousarray((bits * high).sum(axis=2).T)
        x = (w & np.uint64(2**e.n_max - 1)).astype(np.int64)
        at = np.arange(e.department_count) * 2**half
        return self._low.take(at + (x & (2**half - 1))) | self._high.take(at + (x >> half))


class History:
    """Per-period records of every row, periods 0..horizon (see docs/ODD.md, "Outputs").

    Arrays of shape (periods, rows): the `FLOATS`, ``config``, ``moved``,
    ``distance_to_port``, ``ids`` and ``alive``; (periods, rows, departments):
    ``department_efficiency`` and, where the mechanism is on, ``understanding`` and
    ``engagement`` (else None). An engine of populations only (``single_firms=False``) keeps
    what a population's log reads, ``config``, ``ids``, ``performance`` and
    ``performance_norm``; the other records are None (at 100,000 firms they would take
    gigabytes). ``keep`` (an engine of populations only): of ``performance`` and
    ``performance_norm``, those kept (`Engine`'s ``records``; all by default).
    """

    FLOATS = (
        "efficiency",
        "market_value",
        "believed_market_value",
        "performance",
        "performance_norm",
        "profit",
        "cash",
    )
    #: What an engine of populations only records.
    POPULATION = ("config", "ids", "performance", "performance_norm")
    #: What an engine of populations always records (who is where), whatever ``keep``.
    POPULATION_IDENTITY = ("config", "ids")

    @classmethod
    def population_records(cls, records: Iterable[str]) -> frozenset[str]:
        """``records`` checked: names of `POPULATION` (a wrong one is an error naming it and
        the allowed ones)."""
        names = [records] if isinstance(records, str) else list(records)
        wrong = [name for name in names if name not in cls.POPULATION]
        if wrong:
            raise ValueError(
                f"records: {', '.join(map(repr, wrong))} is not a population's per-period "
                f"record; allowed: {', '.join(cls.POPULATION)}"
            )
        return frozenset(names)

    def __init__(
        self,
        periods: int,
        rows: int,
        departments: int,
        *,
        understanding: bool = False,
        engagement: bool = False,
        competition: bool = False,
        single_firms: bool = True,
        resources: bool = False,
        purpose: bool = False,
        keep: frozenset[str] | None = None,
    ) -> None:
        shape = (periods, rows)
        self.periods, self.rows, self.single_firms = periods, rows, single_firms

        def kept(name: str) -> bool:
            if single_firms:
                return True
            return name in self.POPULATION_IDENTITY or (
                name in self.POPULATION and (keep is None or name in keep)
            )

        for name in self.FLOATS:
            setattr(self, name, np.full(shape, np.nan) if kept(name) else None)
        for name in ("config", "moved", "distance_to_port", "ids"):
            setattr(self, name, np.zeros(shape, dtype=np.int64) if kept(name) else None)
        self.alive = np.zeros(shape, dtype=bool) if single_firms else None
        people = (periods, rows, departments)
        self.department_efficiency = np.full(people, np.nan) if single_firms else None
        # per department, only where the mechanism is on for some row (else None)
        self.understanding = np.full(people, np.nan) if understanding and single_firms else None
        self.engagement = np.full(people, np.nan) if engagement and single_firms else None
        # with competition (docs/ODD.md, section 7.18): each firm's share of its market's
        # customers and its sales (market size x share x market value); None without
        self.market_share = np.full(shape, np.nan) if competition else None
        self.sales = np.full(shape, np.nan) if competition else None
        # with purpose (docs/ODD.md, section 7.23): impact per period and the levy paid
        self.impact = np.full(shape, np.nan) if purpose and single_firms else None
        self.levy = np.full(shape, np.nan) if purpose and single_firms else None
        # the index of the strategy each learning row follows (`sim.adaptation`; else None)
        self.setting: np.ndarray | None = None
        # with resources (docs/ODD.md section 7.22), single firms only; None without: each
        # department's share of the budget, the share of demand turned away, the share of the
        # budget moved this period and whether the budget binds
        kept_resources = resources and single_firms
        self.shares = np.full(people, np.nan) if kept_resources else None
        self.unserved_demand = np.full(shape, np.nan) if kept_resources else None
        self.capacity_moved = np.full(shape, np.nan) if kept_resources else None
        self.budget_binds = np.zeros(shape, dtype=bool) if kept_resources else None
        # the row each row imitated at a review (-1: none), with imitation only (else None)
        self.imitated: np.ndarray | None = None

    def __repr__(self) -> str:
        kept = "all records" if self.single_firms else "populations' records"
        return f"History({self.rows} rows x periods 0..{self.periods - 1}, {kept})"
