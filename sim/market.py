"""Customers' preferences and market shifts (plain numpy, no Mesa).

Market value of every configuration: V = (1 - rho) * V_pref + rho * V_nk, where V_pref is the
weighted share of a regime's wanted decision values that a configuration meets (a blend of two
regimes during a gradual shift) and V_nk is a rugged NK part of its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from sim.landscape import (
    BestConfiguration,
    CounterNK,
    GroupEvaluator,
    NKTables,
    all_table_rows,
    as_configurations,
    configurations,
    flip_pairs,
    restart_starts,
    row_plan,
)


@dataclass(frozen=True)
class Preference:
    """Customers in a regime want ``decision`` set to ``value``, with importance ``weight``."""

    decision: int
    value: int
    weight: float = 1.0


def preference_fit(preferences: Sequence[Preference], n: int) -> np.ndarray:
    """V_pref of every configuration: weighted share of wanted values met, in [0, 1]
    (read-only: computed once per regime and kept, since every seed shares it)."""
    return _preference_fit(tuple(preferences), n)


@lru_cache(maxsize=64)
def _preference_fit(preferences: tuple[Preference, ...], n: int) -> np.ndarray:
    configs = configurations(n)
    total = sum(p.weight for p in preferences)
    if total <= 0:
        fit = np.full(configs.size, 0.5)
        fit.flags.writeable = False
        return fit
    fit = np.zeros(configs.size)
    for p in preferences:
        fit += p.weight * (((configs >> p.decision) & 1) == p.value)
    fit /= total
    fit.flags.writeable = False
    return fit


@dataclass(frozen=True)
class PreferenceFit:
    """V_pref of a regime for any configurations (uint64 bit masks), on demand: the same
    arithmetic, in the same order, as `preference_fit`'s table, without enumerating."""

    preferences: tuple[Preference, ...]

    LOOKUP_DECISIONS = 16  # most decisions named for a table of fits (2**16 entries)

    def __call__(self, configs: np.ndarray) -> np.ndarray:
        c = as_configurations(configs)
        lookup = self._lookup
        if lookup is None:
            return self._fit(c)
        chunks, table = lookup
        return table.take(chunk_rows(chunks, 0, c.reshape(-1), 1)[:, 0]).reshape(c.shape)

    @cached_property
    def _lookup(self) -> tuple[np.ndarray, np.ndarray] | None:
        """While the preferences name at most `LOOKUP_DECISIONS` decisions: the fit of every
        setting of those decisions (`_fit` of a configuration setting just them, the same
        arithmetic) and the chunk tables (`chunk_tables`) that read a configuration's setting
        (one look-up per 8 decisions instead of a pass per preference); None: computed. Kept
        per process for the preferences (`_fit_lookup`): every market of a scenario shares
        its regimes' preferences, and a table of 2**16 fits costs tens of milliseconds."""
        return _fit_lookup(self.preferences)

    def _fit(self, c: np.ndarray) -> np.ndarray:
        """V_pref of uint64 configurations ``c``, computed (`preference_fit`'s arithmetic)."""
        total = sum(p.weight for p in self.preferences)
        if total <= 0:
            return np.full(c.shape, 0.5)
        decisions = np.array([p.decision for p in self.preferences], dtype=np.uint64)
        values = np.array([p.value for p in self.preferences], dtype=np.uint64)
        met = ((c[..., None] >> decisions) & np.uint64(1)) == values  # every preference at once
        fit = np.zeros(c.shape)
        for k, p in enumerate(self.preferences):  # added in order, as `preference_fit`
            fit += p.weight * met[..., k]
        fit /= total
        return fit


@lru_cache(maxsize=64)
def _fit_lookup(preferences: tuple[Preference, ...]) -> tuple[np.ndarray, np.ndarray] | None:
    """`PreferenceFit._lookup` of ``preferences`` (read-only arrays, shared by every market)."""
    named = sorted({p.decision for p in preferences})
    if not named or len(named) > PreferenceFit.LOOKUP_DECISIONS:
        return None
    settings = np.arange(2 ** len(named), dtype=np.uint64)
    configs = np.zeros(settings.size, dtype=np.uint64)
    for k, j in enumerate(named):
        configs |= ((settings >> np.uint64(k)) & np.uint64(1)) << np.uint64(j)
    bits = np.array(named, dtype=np.uint64)[None, None, :]
    places = (np.uint64(1) << np.arange(len(named), dtype=np.uint64))[None, None, :]
    offsets = np.zeros((1, 1), dtype=np.int64)
    chunks = chunk_tables(bits, places, offsets, bits_read=max(named) + 1)
    fits = PreferenceFit(preferences)._fit(configs)
    chunks.flags.writeable = False
    fits.flags.writeable = False
    return chunks, fits


@dataclass(frozen=True)
class ShiftEvent:
    """One concrete market shift at period ``time``.

    kind ``regime``: customers move to regime ``to`` (abrupt when ``duration`` is 0, otherwise a
    logistic blend over ``duration`` periods); kind ``redraw``: the rugged tables of ``decisions``
    are drawn anew.
    """

    time: int
    kind: str
    to: str = ""
    duration: int = 0
    decisions: tuple[int, ...] = ()
    label: str = ""


def logistic_weight(elapsed: float, duration: int) -> float:
    """Share of the new regime ``elapsed`` periods into a gradual shift of ``duration`` periods."""
    if duration <= 0 or elapsed >= duration:
        return 1.0
    if elapsed <= 0:
        return 0.0
    # steepness chosen so that the blend goes from ~2% to ~98% over the window
    return 1.0 / (1.0 + math.exp(-8.0 * (elapsed / duration - 0.5)))


@dataclass
class MarketEnvironment:
    """The market's state over time: regimes, rugged tables, and the shifts applied so far.

    Market value is a weighted sum of basis vectors over all configurations: each regime's
    preference fit, and each version of the rugged part (a redraw adds one). ``weights`` are the
    true weights now; ``version`` increases whenever they change, so consumers can cache what
    they derive from them.
    """

    n: int
    rho: float
    regimes: Mapping[str, np.ndarray | PreferenceFit]
    rugged: NKTables | CounterNK
    regime: str
    schedule: list[ShiftEvent]
    rng: np.random.Generator
    version: int = 0
    # where to put ``basis`` (e.g. the engine's rows for the market, `Engine.reserve`); None:
    # an array of its own
    basis_out: np.ndarray | None = field(default=None, repr=False, compare=False)
    basis: np.ndarray = field(init=False)
    _names: list[str] = field(init=False)
    _rugged_index: int = field(init=False)
    _blend: tuple[str, str, int, int] | None = field(default=None, init=False)
    _blend_weight: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._names = list(self.regimes)
        self._rugged_index = len(self._names)
        if self.on_demand:  # no table over all configurations: `basis_at` evaluates
            self._fits = [self.regimes[r] for r in self._names]
            self._ruggeds = [self.rugged]
            self.basis = None
            return
        vectors = [self.regimes[r] for r in self._names] + [self.rugged.fitness()]
        self.basis, self.basis_out = np.stack(vectors, out=self.basis_out), None
        self.regimes = _RegimeFits(self)  # the fits live in `basis` only

    @property
    def on_demand(self) -> bool:
        """Whether market value is evaluated on demand (regimes given as `PreferenceFit`s:
        N above `sim.limits.TABULATED_DECISIONS`) rather than read from `basis`."""
        return any(isinstance(fit, PreferenceFit) for fit in self.regimes.values())

    def basis_at(self, configs: np.ndarray) -> np.ndarray:
        """The basis vectors at ``configs``, shape (K,) + configs.shape: each regime's
        preference fit, then each version of the rugged part (the columns of `basis`)."""
        if self.basis is not None:
            return self.basis[:, np.asarray(configs, dtype=np.int64)]
        c = as_configurations(configs)
        rugged = [r.evaluate(c)[..., 0] for r in self._ruggeds]
        return np.stack([fit(c) for fit in self._fits] + rugged)

    @property
    def shifting(self) -> bool:
        """Whether customers are moving in a gradual shift (their weights change each period)."""
        return self._blend is not None

    @property
    def regime_weights(self) -> dict[str, float]:
        """Current weight of each regime in customers' preferences (two during a gradual shift)."""
        if self._blend is None:
            return {self.regime: 1.0}
        old, new, _, _ = self._blend
        return {old: 1.0 - self._blend_weight, new: self._blend_weight}

    @property
    def basis_size(self) -> int:
        """The number of basis vectors (regimes and versions of the rugged part)."""
        return self._rugged_index + 1

    @property
    def weights(self) -> np.ndarray:
        """True weight of each basis vector in market value now."""
        w = np.zeros(self.basis_size)
        for name, share in self.regime_weights.items():
            w[self._names.index(name)] += (1.0 - self.rho) * share
        w[self._rugged_index] += self.rho
        return w

    @property
    def value(self) -> np.ndarray:
        """Market value V of every configuration now (computed on each call; N <= 16)."""
        if self.basis is None:
            raise ValueError(
                f"market value of every configuration needs N <= 16 decisions (this market has "
                f"{self.n}): evaluate configurations with `value_at`"
            )
        return self.weights @ self.basis

    def value_at(self, configs: np.ndarray) -> np.ndarray:
        """Market value V of ``configs`` now, shape configs.shape."""
        basis, weights = self.basis_at(configs), self.weights
        value = basis[0] * weights[0]  # a sum in a fixed order: the same number for a
        for k in range(1, weights.size):  # configuration in any array (a BLAS product is not)
            value = value + basis[k] * weights[k]
        return value

    def add_shift(self, event: ShiftEvent) -> None:
        """Add a shift to the schedule (e.g. a teacher's "shift the market now")."""
        self.schedule.append(event)

    def due(self, t: int) -> list[ShiftEvent]:
        """The scheduled shifts of period ``t``."""
        return [e for e in self.schedule if e.time == t]

    def shift(self, events: list[ShiftEvent], t: int) -> None:
        """Apply ``events`` at period ``t`` (before the firms act)."""
        for event in events:
            if event.kind == "redraw":
                self.rugged = self.rugged.redraw(event.decisions, self.rng)
                if self.basis is None:
                    self._ruggeds.append(self.rugged)
                    self._rugged_index = len(self._fits) + len(self._ruggeds) - 1
                else:
                    self.basis = np.vstack((self.basis, self.rugged.fitness()[None, :]))
                    self._rugged_index = self.basis.shape[0] - 1
            elif event.duration > 0:
                start_from = self.regime if self._blend is None else self._blend[1]
                self._blend = (start_from, event.to, t, event.duration)
                self.regime = event.to
            else:
                self._blend = None
                self.regime = event.to
            self.version += 1

    def progress(self, t: int) -> None:
        """Customers' preferences move on in a gradual shift at period ``t``."""
        if self._blend is None:
            return
        _, _, start, duration = self._blend
        self._blend_weight = logistic_weight(t - start + 1, duration)
        if self._blend_weight >= 1.0:
            self._blend = None
        self.version += 1

    def advance(self, t: int) -> list[ShiftEvent]:
        """Apply the shifts due at period ``t`` and move a gradual shift on; return the shifts."""
        happened = self.due(t)
        self.shift(happened, t)
        self.progress(t)
        return happened


class _RegimeFits(Mapping):
    """Each regime's preference fit, read from the environment's basis (no copy)."""

    def __init__(self, environment: MarketEnvironment) -> None:
        self._environment = environment

    def __getitem__(self, name: str) -> np.ndarray:
        env = self._environment
        return env.basis[env._names.index(name)]

    def __iter__(self):
        return iter(self._environment._names)

    def __len__(self) -> int:
        return len(self._environment._names)


@dataclass
class OnDemandLandscapes:
    """What the engine evaluates of a market too large to tabulate (N above
    `sim.limits.TABULATED_DECISIONS`): departments' efficiencies, the market value basis and
    landscape performance of any configurations, computed when asked (docs/ODD.md, 7.2)."""

    efficiency: GroupEvaluator  # the departments' mean contributions
    department_weights: np.ndarray  # (D,) each department's share of the decisions
    environment: MarketEnvironment
    beta: float

    def efficiency_at(self, configs: np.ndarray) -> np.ndarray:
        """E_d (without learning) of ``configs``, shape configs.shape + (D,)."""
        return self.efficiency(configs)

    def basis_at(self, configs: np.ndarray) -> np.ndarray:
        """The market value basis at ``configs``, shape (K,) + configs.shape."""
        return self.environment.basis_at(configs)

    def performance_at(self, configs: np.ndarray) -> np.ndarray:
        """Landscape performance beta V + (1 - beta) E of ``configs`` now (as the tabulated
        market's ``landscape_performance``), shape configs.shape."""
        eff, weights = self.efficiency_at(configs), self.department_weights
        efficiency = eff[..., 0] * weights[0]  # (in a fixed order, as `value_at`)
        for d in range(1, weights.size):
            efficiency = efficiency + eff[..., d] * weights[d]
        return self.beta * self.environment.value_at(configs) + (1.0 - self.beta) * efficiency

    def best_by_restarts(self, restarts: int, key: int) -> BestConfiguration:
        """An estimate of the best configuration now: the best peak of ``restarts`` local
        searches from starts drawn from counter-based words of ``key`` (`restart_starts`),
        each climbing by first improvement in sweeps (`best_from`; docs/ODD.md 7.11)."""
        return self.best_from(restart_starts(self.environment.n, restarts, key))

    def best_from(self, starts: np.ndarray) -> BestConfiguration:
        """The best peak of local searches from ``starts`` (uint64 configurations), each
        climbing by **first improvement in sweeps**: it visits the one-bit flips in a fixed
        order (`_ClimbPlan`), makes each flip that raises landscape performance when it is
        visited, and stops at the end of a sweep that made none (a peak: no flip raises it).
        A flip is scored by the change it makes to the contributions it changes (`_ClimbPlan`'s
        pair tables); the peaks are then scored by `performance_at` (ties: the first start).
        From the last port it is the warm start that follows a port while customers move."""
        terms, per_bit = self._linear_terms()
        plan, tabulated, computed = _climb_plan(self.environment.n, terms)
        starts = np.array(starts, dtype=np.uint64).reshape(-1)
        peaks = plan.climb(tabulated, computed, per_bit, starts)
        distinct, which = np.unique(peaks, return_inverse=True)  # searches often meet
        values = self.performance_at(distinct)[which]
        winner = int(np.argmax(values))
        return BestConfiguration(int(peaks[winner]), float(values[winner]), False, peaks.size)

    def _linear_terms(self) -> tuple[list[tuple[NKTables | CounterNK, np.ndarray]], np.ndarray]:
        """Landscape performance as a sum: each landscape's contributions with a coefficient
        per decision, and what setting each bit adds through the preference fits (per bit)."""
        env, beta, n = self.environment, self.beta, self.environment.n
        weights = env.weights
        share = np.zeros(n)
        for d, group in enumerate(self.efficiency.groups):
            share[list(group)] = self.department_weights[d] / len(group)
        terms = [(self.efficiency.landscape, (1.0 - beta) * share)]
        regimes = len(env._fits)
        terms += [
            (land, np.full(n, beta * weights[regimes + v] / n))
            for v, land in enumerate(env._ruggeds)
            if weights[regimes + v] != 0
        ]
        per_bit = np.zeros(n)  # what a bit set to 1 rather than 0 adds to V_pref, weighted
        for r, fit in enumerate(env._fits):
            total = sum(p.weight for p in fit.preferences)
            if weights[r] == 0 or total <= 0:
                continue
            for p in fit.preferences:
                per_bit[p.decision] += beta * weights[r] * p.weight / total * (1 if p.value else -1)
        return terms, per_bit


def _tabulated(land: NKTables | CounterNK) -> bool:
    """Whether the port's climb tabulates a landscape's pair changes (`_ClimbPlan`): drawn
    tables whose pair tables are small (`MAX_PAIR_TABLE_ENTRIES`); else they are computed."""
    return (
        isinstance(land, NKTables)
        and sum((1 + len(d)) * 2 ** (1 + len(d)) for d in land.deps) <= MAX_PAIR_TABLE_ENTRIES
    )


def _climb_plan(
    n: int, terms: list[tuple[NKTables | CounterNK, np.ndarray]]
) -> tuple[_ClimbPlan, list, list]:
    """The `_ClimbPlan` of a market's landscapes (one per structure, kept for its next search),
    and ``terms`` split as it splits them: those tabulated, those computed."""
    small = [_tabulated(land) for land, _ in terms]
    tabulated = [term for term, s in zip(terms, small, strict=True) if s]
    computed = [term for term, s in zip(terms, small, strict=True) if not s]
    plan = _plan_of(
        n, tuple(land.deps for land, _ in tabulated), tuple(land.deps for land, _ in computed)
    )
    return plan, tabulated, computed


@lru_cache(maxsize=64)  # a market's port is searched again at each shift
def _plan_of(
    n: int,
    tabulated: tuple[tuple[tuple[int, ...], ...], ...],
    computed: tuple[tuple[tuple[int, ...], ...], ...],
) -> _ClimbPlan:
    return _ClimbPlan(n, tabulated, computed)


class _ClimbPlan:
    """How the port's climb (`OnDemandLandscapes.best_from`) scores and makes one-bit flips,
    for one structure of landscapes (each landscape's dependencies).

    Landscape performance is a sum of terms: each landscape's contributions with a coefficient
    per decision, and what setting each bit adds through the preference fits (here a landscape
    of its own: no dependencies, a contribution of 0 or 1 per bit, coefficient the per-bit
    weight). A flip of bit j changes the contributions of the pairs (j, i) of decisions i that
    read j, each by ``c_i x (e_i(row_i ^ mask) - e_i(row_i))``; the sum over its pairs is the
    flip's change. Every pair's change is tabulated over its decision's table rows once per
    search (for drawn tables; counter-based or huge ones are computed from the contributions),
    and each decision's row is held per search and updated when a flip it reads is made.

    **The order of a sweep.** Two bits that no decision reads both are independent: making one
    changes neither the other's change nor any row it reads. The bits are coloured greedily in
    index order so that no two of one colour share a reader, and a sweep visits colour 0's bits
    in index order, then colour 1's, and so on. Visiting one colour's bits one after the other
    is then the same as scoring them at once and making each that improves, so a sweep costs
    one pass of numpy operations per colour (a colour count that does not grow with N at a
    given K), over every pair of every climbing search: O(searches x N x K) per sweep."""

    def __init__(
        self,
        n: int,
        tabulated: tuple[tuple[tuple[int, ...], ...], ...],
        computed: tuple[tuple[tuple[int, ...], ...], ...],
    ) -> None:
        self.n = n
        linear = ((),) * n
        self.tabulated = (*tabulated, linear)
        self.computed = computed
        reads = np.zeros((n, n), dtype=bool)  # bits j and k read by one decision
        for deps in (*tabulated, *computed):
            bits, places = row_plan(deps)  # (padded with the decision itself)
            b = np.where(places != 0, bits.astype(np.int64), np.arange(n)[:, None])
            reads[b[:, :, None], b[:, None, :]] = True
        earlier: list[list[int]] = [[] for _ in range(n)]
        for j, k in zip(*(x.tolist() for x in np.nonzero(np.tril(reads, -1))), strict=True):
            earlier[j].append(k)
        colour = [0] * n
        for j in range(n):  # greedily, in index order: the least colour no earlier one took
            taken = {colour[k] for k in earlier[j]}
            while colour[j] in taken:
                colour[j] += 1
        self.colour = np.array(colour, dtype=np.int64)
        # a bit's place among its colour's bits (in index order)
        self.place = np.zeros(n, dtype=np.int64)
        self.colours = [np.flatnonzero(self.colour == c) for c in range(max(colour) + 1)]
        for bits in self.colours:
            self.place[bits] = np.arange(bits.size)
        # the tabulated pairs: every landscape's (flip, decision) pairs, ordered by flip, then
        # landscape, then decision; each pair's block of table rows in the pair table
        flip, column, mask, size, entry_now, entry_coef = [], [], [], [], [], []
        flat_base = 0
        for t, deps in enumerate(self.tabulated):
            flipped, decision, masks = flip_pairs(deps)
            sizes = np.array([2 ** (1 + len(d)) for d in deps], dtype=np.int64)
            offsets = np.cumsum(sizes) - sizes
            flip.append(flipped)
            column.append(t * n + decision)
            mask.append(masks.astype(np.int64))
            size.append(sizes[decision])
            entry_now.append(flat_base + offsets[decision])
            entry_coef.append(t * n + decision)
            flat_base += int(sizes.sum())
        flip, column, mask, size, now, coef = (
            np.concatenate(x) for x in (flip, column, mask, size, entry_now, entry_coef)
        )
        order = np.argsort(flip, kind="stable")
        flip, column, mask, size, now, coef = (
            x[order] for x in (flip, column, mask, size, now, coef)
        )
        offset = np.cumsum(size) - size
        pair = np.repeat(np.arange(flip.size), size)
        row = np.arange(int(size.sum())) - offset[pair]
        # entry r of pair p: c_i x (e_i(r ^ mask) - e_i(r)), read from the tables end to end
        self.entry_now = now[pair] + row
        self.entry_after = now[pair] + (row ^ mask[pair])
        self.entry_coef = coef[pair]
        self.classes = self._classes(flip, column, offset, mask)
        self.computed_classes = []
        for deps in computed:  # their columns are decisions, and so are their numbers
            flipped, decision, masks = flip_pairs(deps)
            self.computed_classes.append(self._classes(flipped, decision, decision, masks))

    def _classes(
        self, flip: np.ndarray, column: np.ndarray, where: np.ndarray, mask: np.ndarray
    ) -> list[tuple[np.ndarray, ...]]:
        """Pairs (ordered by flip) split by their flip's colour: per colour, their columns of
        the rows, where their numbers are (pair-table offsets, or decisions), masks, each
        flip's first pair and each pair's flip (its place among the colour's bits)."""
        colour = self.colour[flip]
        order = np.argsort(colour, kind="stable")  # by colour; within one, as they were
        ends = np.searchsorted(colour[order], np.arange(len(self.colours) + 1))
        out = []
        for c in range(len(self.colours)):
            mine = order[ends[c] : ends[c + 1]]
            place = self.place[flip[mine]]
            starts = np.flatnonzero(np.concatenate(([True], place[1:] != place[:-1])))
            out.append((column[mine], where[mine][:, None], mask[mine][:, None], starts, place))
        return out

    def climb(
        self,
        tabulated: list[tuple[NKTables | CounterNK, np.ndarray]],
        computed: list[tuple[NKTables | CounterNK, np.ndarray]],
        per_bit: np.ndarray,
        starts: np.ndarray,
    ) -> np.ndarray:
        """The peaks the searches from ``starts`` (uint64) reach (`OnDemandLandscapes.best_from`)
        for landscapes and their coefficients, ``tabulated`` and ``computed`` (`_climb_plan`),
        and preference weights per bit ``per_bit`` (`_linear_terms`)."""
        n = self.n
        flat = np.concatenate([land._flat[0] for land, _ in tabulated] + [np.tile([0.0, 1.0], n)])
        coefficient = np.concatenate([c for _, c in tabulated] + [per_bit])
        changes = coefficient[self.entry_coef] * (flat[self.entry_after] - flat[self.entry_now])
        # each decision's table row, per landscape (rows) and search (columns); the last n
        # rows (the per-bit landscape's) are the bits themselves
        rows = np.concatenate([all_table_rows(starts, deps).T for deps in self.tabulated])
        rows = rows.astype(np.int64)
        computed_rows = [all_table_rows(starts, land.deps).T.copy() for land, _ in computed]
        bits = slice(rows.shape[0] - n, rows.shape[0])
        places = np.arange(n, dtype=np.uint64)[:, None]
        climbing = np.arange(starts.size)
        while climbing.size:  # a sweep of the searches still climbing
            r = rows[:, climbing]
            before = r[bits].copy()
            others = [x[:, climbing] for x in computed_rows]
            for k, (column, offset, mask, first, place) in enumerate(self.classes):
                now = r[column]
                change = np.add.reduceat(changes.take(now + offset), first, axis=0)
                for (land, coef), plan, at in zip(
                    computed, self.computed_classes, others, strict=True
                ):
                    change = change + _computed_change(land, coef, plan[k], at)
                better = change > 0  # (this colour's flips, searches): made
                if not better.any():
                    continue
                r[column] = now ^ (mask * better[place])
                for plan, at in zip(self.computed_classes, others, strict=True):
                    decision, _, bit, _, pair_place = plan[k]
                    at[decision] ^= bit * better[pair_place].astype(np.uint64)
            rows[:, climbing] = r
            for x, part in zip(computed_rows, others, strict=True):
                x[:, climbing] = part
            climbing = climbing[(r[bits] != before).any(axis=0)]  # those that made a flip
        return np.bitwise_or.reduce(rows[bits].astype(np.uint64) << places, axis=0)


def _computed_change(
    land: NKTables | CounterNK, coefficient: np.ndarray, plan: tuple, rows: np.ndarray
) -> np.ndarray:
    """The changes of one colour's flips (flips, searches) in a landscape whose pair changes
    are computed from its contributions (`_ClimbPlan`), at its decisions' ``rows``."""
    decision, _, mask, first, _ = plan
    at, d = rows[decision], decision[:, None]
    pair = coefficient[d] * (land.contributions_at(d, at ^ mask) - land.contributions_at(d, at))
    return np.add.reduceat(pair, first, axis=0)


#: Most entries of the port climb's pair tables of one landscape (one per pair and row: 8 MB
#: of numbers); above, its pair changes are computed from the contributions.
MAX_PAIR_TABLE_ENTRIES = 2**20


class MarketStack:
    """Many markets evaluated on demand, at once (`sim.engine.Engine` asks for rows of many
    markets in one call): their contribution tables end to end and each decision's bits, so
    one pass of numpy operations serves every market. The numbers are those of each market's
    `OnDemandLandscapes` (the same look-ups, added in the same order). It applies when every
    market's landscapes are drawn tables (`NKTables`) with the same departments, regimes and
    beta (`fits`); otherwise the engine evaluates market by market."""

    def __init__(self, landscapes: Sequence[OnDemandLandscapes]) -> None:
        self.landscapes = list(landscapes)
        self.sizes = tuple(len(land.environment._ruggeds) for land in self.landscapes)
        first = self.landscapes[0]
        self.fits = all(
            isinstance(land.efficiency.landscape, NKTables)
            and all(isinstance(r, NKTables) for r in land.environment._ruggeds)
            and land.efficiency.groups == first.efficiency.groups
            and land.beta == first.beta
            and land.environment._fits == first.environment._fits
            for land in self.landscapes
        )
        if not self.fits:
            return
        self.efficiency = _Stacked([land.efficiency.landscape for land in self.landscapes])
        self.fits = len(set(self.sizes)) == 1  # (markets with redraws of their own: one by one)
        self.rugged = (
            [
                _Stacked([land.environment._ruggeds[v] for land in self.landscapes])
                for v in range(self.sizes[0])
            ]
            if self.fits
            else []
        )

    def __repr__(self) -> str:
        how = "in one pass" if self.fits else "market by market"
        return f"MarketStack({len(self.landscapes)} markets, evaluated {how})"

    def current(self, landscapes: Sequence[OnDemandLandscapes]) -> bool:
        """Whether this stack still holds these markets' landscapes (a redraw adds one)."""
        return len(landscapes) == len(self.landscapes) and self.sizes == tuple(
            len(land.environment._ruggeds) for land in landscapes
        )

    def efficiency_at(self, markets: np.ndarray, configs: np.ndarray) -> np.ndarray:
        """E_d of ``configs`` (1-D) of rows in ``markets``, shape (C, D)."""
        values = self.efficiency.contributions(markets, configs)
        groups = self.landscapes[0].efficiency.groups
        out = np.empty((configs.size, len(groups)))
        for g, group in enumerate(groups):  # added in order, as `_on_demand_means`
            total = np.zeros(configs.size)
            for i in group:
                total += values[:, i]
            out[:, g] = total / len(group)
        return out

    def basis_at(self, markets: np.ndarray, configs: np.ndarray, width: int) -> np.ndarray:
        """The basis vectors at ``configs`` (1-D), shape (C, width): the regimes' fits, then
        each version of the rugged part (zeros beyond a market's own)."""
        c = as_configurations(configs)
        env = self.landscapes[0].environment
        out = np.zeros((c.size, width))
        for r, fit in enumerate(env._fits):
            out[:, r] = fit(c)
        n = env.n
        for v, stacked in enumerate(self.rugged):
            values = stacked.contributions(markets, c)
            total = np.zeros(c.size)
            for i in range(n):
                total += values[:, i]
            out[:, len(env._fits) + v] = total / n
        return out

    def performance_at(self, markets: np.ndarray, configs: np.ndarray, width: int) -> np.ndarray:
        """Landscape performance of ``configs`` (1-D) now, as `OnDemandLandscapes`."""
        first = self.landscapes[0]
        basis = self.basis_at(markets, configs, width)
        weights = np.zeros((len(self.landscapes), width))
        for m, land in enumerate(self.landscapes):
            w = land.environment.weights
            weights[m, : w.size] = w
        w = weights[markets]
        k_count = max(land.environment.weights.size for land in self.landscapes)
        value = basis[:, 0] * w[:, 0]
        for k in range(1, k_count):
            value = value + basis[:, k] * w[:, k]
        eff, dw = self.efficiency_at(markets, configs), first.department_weights
        efficiency = eff[:, 0] * dw[0]
        for d in range(1, dw.size):
            efficiency = efficiency + eff[:, d] * dw[d]
        return first.beta * value + (1.0 - first.beta) * efficiency


#: Decisions per chunk of `chunk_tables`: 256 settings of a chunk's bits.
CHUNK_BITS = 8


def chunk_tables(
    bits: np.ndarray,
    places: np.ndarray,
    offsets: np.ndarray,
    dtype: type = np.int64,
    *,
    bits_read: int | None = None,
) -> np.ndarray:
    """Table rows (`all_table_rows`) as sums of looked-up chunks: for markets ``m`` whose
    decisions read ``bits`` (markets, N, width; `row_plan`) at ``places``, the table of shape
    (markets x chunks x 256, N) whose row ``(m, p, v)`` is what setting the decisions
    ``8p ... 8p + 7`` to the bits of ``v`` adds to each decision's row in market m, plus
    ``offsets`` (markets, N) in the first chunk. `chunk_rows` adds them up. ``bits_read``:
    how many bits of a configuration the rows read (N by default)."""
    markets, n, width = bits.shape
    b = CHUNK_BITS
    table = np.zeros((markets, -(-(bits_read or n) // b), n, 2**b), dtype=np.int64)
    values = np.arange(2**b, dtype=np.int64)
    m, i = np.meshgrid(np.arange(markets), np.arange(n), indexing="ij")
    for k in range(width):
        j = bits[:, :, k].astype(np.int64)  # (markets, N): the bit at place k
        place = places[:, :, k].astype(np.int64) if k else np.ones_like(j)
        # for one k, every (market, decision) is one entry: no index repeats
        table[m, j // b, i] += ((values[None, None, :] >> (j % b)[..., None]) & 1) * place[
            ..., None
        ]
    table[:, 0] += offsets[:, :, None]
    return np.ascontiguousarray(table.transpose(0, 1, 3, 2).astype(dtype)).reshape(-1, n)


def chunk_rows(
    tables: np.ndarray, markets: np.ndarray | int, configs: np.ndarray, count: int
) -> np.ndarray:
    """Every decision's row (plus its offset) at uint64 ``configs`` (1-D) of ``markets`` (one
    per configuration, or one for all), from `chunk_tables` of ``count`` markets: shape
    (configs, N)."""
    b = CHUNK_BITS
    chunks = tables.shape[0] // (count * 2**b)
    base = np.asarray(markets, dtype=np.int64) * (chunks * 2**b)
    low = np.uint64(2**b - 1)
    # (`take` copies whole rows: several times faster than indexing)
    rows = tables.take(base + (configs & low).astype(np.int64), axis=0)
    for p in range(1, chunks):
        part = base + (p * 2**b) + ((configs >> np.uint64(p * b)) & low).astype(np.int64)
        rows += tables.take(part, axis=0)
    return rows


class _Stacked:
    """One landscape of each market, end to end (see `MarketStack`).

    A contribution is looked up at its decision's offset plus its table row (`all_table_rows`).
    Both are read from per-market chunk tables: for every chunk of `CHUNK_BITS` decisions and
    every setting of its bits, what those bits add to every decision's index (its row bits at
    their places; the first chunk also holds the offsets). A configuration's indices are then
    the sum of one row per chunk: N / 8 contiguous look-ups instead of (1 + K) shifts per
    decision (the same indices, so the same numbers; `chunk_tables`). Where the chunk tables
    would exceed `CHUNK_TABLE_BYTES` the rows are formed bit by bit, as before."""

    CHUNK_TABLE_BYTES = 2**26  # 64 MB: 8-bit chunks up to ~290 markets of 48 decisions

    def __init__(self, lands: Sequence[NKTables]) -> None:
        n = lands[0].n
        plans = [row_plan(land.deps) for land in lands]
        width = max(bits.shape[1] for bits, _ in plans)
        self.bits = np.zeros((len(lands), n, width), dtype=np.uint64)
        self.places = np.zeros((len(lands), n, width), dtype=np.uint64)
        self.offsets = np.zeros((len(lands), n), dtype=np.int64)
        flats, start = [], 0
        for m, (land, (bits, places)) in enumerate(zip(lands, plans, strict=True)):
            self.bits[m, :, : bits.shape[1]] = bits
            self.places[m, :, : places.shape[1]] = places
            flat, offsets = land._flat
            self.offsets[m] = offsets + start
            flats.append(flat)
            start += flat.size
        self.flat = np.concatenate(flats)
        self.chunks = self._chunk_tables()

    def _chunk_tables(self) -> np.ndarray | None:
        """The chunk tables (`chunk_tables`) of every market, the offsets in; None: too large
        (rows are formed bit by bit)."""
        markets, n, _ = self.bits.shape
        dtype = np.int32 if self.flat.size < 2**31 else np.int64
        size = markets * -(-n // CHUNK_BITS) * 2**CHUNK_BITS * n * np.dtype(dtype).itemsize
        if size > self.CHUNK_TABLE_BYTES:
            return None
        return chunk_tables(self.bits, self.places, self.offsets, dtype)

    def contributions(self, markets: np.ndarray, configs: np.ndarray) -> np.ndarray:
        """Every decision's contribution at ``configs`` (1-D) of rows in ``markets``, (C, N)."""
        c = as_configurations(configs)
        if self.chunks is not None:
            return self.flat.take(chunk_rows(self.chunks, markets, c, self.offsets.shape[0]))
        c = c[:, None]
        bits, places = self.bits[markets], self.places[markets]  # (C, N, width)
        rows = (c >> bits[:, :, 0]) & np.uint64(1)
        for k in range(1, bits.shape[2]):
            rows |= ((c >> bits[:, :, k]) & np.uint64(1)) * places[:, :, k]
        return self.flat[self.offsets[markets] + rows.astype(np.int64)]
