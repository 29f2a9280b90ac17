"""Strategies that learn: a firm revises which strategy it follows by reinforcement on its own
profit, with an aspiration level (docs/ODD.md §7.19). Plain numpy, on rows of the engine.

Every ``review`` periods a learning firm takes the mean profit ``pi`` it made since its last
review. The attraction of the strategy it followed moves towards ``pi`` (weight ``recency``);
if ``pi`` fell short of its aspiration level it draws the strategy to follow next with
probabilities proportional to ``exp(attraction / temperature)`` (the one it follows included),
otherwise it keeps it; then the aspiration moves towards ``pi`` (weight ``aspiration_speed``).
At the first review every attraction and the aspiration start at that review's ``pi``: a firm
expects a strategy it has not tried to do as well as the one it knows. Satisficing with an
aspiration level follows Cyert & March (1963); attractions with recency weights and a softmax
choice follow reinforcement learning as in Erev & Roth (1998) and Camerer & Ho (1999).

With ``imitation`` > 0 a reviewing firm also looks at another firm with that probability: a
rival drawn at random in its market (one of its partners when the market has a network), or
its population's best; if that firm's profit, seen with a normal error of sd
``imitation_noise``, beats its own and it follows another strategy, the firm copies it instead
of drawing ("imitate if better", studied by Schlag 1998).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim import streams

#: The slot of a firm's random words this rule draws from (bank 2, slot 0: `sim.engine`).
ADAPTATION_SLOT = 2 * streams.SLOTS
#: Imitation's slots (bank 2, slots 1-3): whether the firm looks, at whom, the error it sees.
LOOK_SLOT, MODEL_SLOT, NOISE_SLOT = ADAPTATION_SLOT + 1, ADAPTATION_SLOT + 2, ADAPTATION_SLOT + 3
#: Whom an imitating firm looks at (`AdaptationRule.peers`): a rival of its market drawn at
#: random, one of its partners drawn at random, or the best other firm of its population.
PEERS = ("rivals", "partners", "population")


@dataclass(frozen=True)
class AdaptationRule:
    """What a learning firm may switch among and how it learns (one per scenario and run).

    ``menu`` holds each strategy's engine parameters (`sim.engine.FirmSettings`), ``names``
    their names, in the same order.
    """

    names: tuple[str, ...]
    menu: tuple[object, ...]
    review: int
    recency: float
    aspiration_speed: float
    temperature: float
    start: str = "own"
    imitation: float = 0.0
    imitation_noise: float = 0.0
    peers: str = "rivals"


class Adaptation:
    """The learning state of an engine's rows: which strategy each follows, its attractions
    and aspiration, and the profit it made since its last review."""

    def __init__(self, rows: int, groups: Sequence[tuple[np.ndarray, AdaptationRule, int]]):
        """``groups``: (rows, rule, index of the strategy they start with) for each block of
        learning rows; other rows do not learn."""
        self.rules: list[AdaptationRule] = []
        width = max(len(rule.names) for _, rule, _ in groups)
        self.rule = np.full(rows, -1, dtype=np.int64)
        self.setting = np.full(rows, -1, dtype=np.int64)
        self.review = np.zeros(rows, dtype=np.int64)
        self.recency = np.zeros(rows)
        self.aspiration_speed = np.zeros(rows)
        self.temperature = np.ones(rows)
        self.attraction = np.full((rows, width), np.nan)
        self.aspiration = np.full(rows, np.nan)
        self.earned = np.zeros(rows)  # profit since the last review
        self.valid = np.zeros((rows, width), dtype=bool)
        self.imitation = np.zeros(rows)
        self.imitation_noise = np.zeros(rows)
        self.peers = np.zeros(rows, dtype=np.int64)  # index in PEERS
        for block, rule, first in groups:
            if rule not in self.rules:
                self.rules.append(rule)
            r = self.rules.index(rule)
            self.rule[block] = r
            self.setting[block] = first
            self.review[block] = rule.review
            self.recency[block] = rule.recency
            self.aspiration_speed[block] = rule.aspiration_speed
            self.temperature[block] = rule.temperature
            self.valid[block, : len(rule.names)] = True
            self.imitation[block] = rule.imitation
            self.imitation_noise[block] = rule.imitation_noise
            self.peers[block] = PEERS.index(rule.peers)
        self.learning = self.rule >= 0
        self.imitating = bool((self.imitation > 0).any())
        self.model = np.full(rows, -1, dtype=np.int64)  # the row each imitated at its last review

    def __repr__(self) -> str:
        menus = "; ".join(", ".join(rule.names) for rule in self.rules)
        return f"Adaptation({int(self.learning.sum())} learning rows of {self.rule.size}: {menus})"

    def name_of(self, rows: np.ndarray, settings: np.ndarray) -> np.ndarray:
        """The names of the strategies ``settings`` (indices) of ``rows`` stand for ("" where a
        row does not learn)."""
        out = np.full(np.shape(settings), "", dtype=object)
        rule = self.rule[rows]
        for r, spec in enumerate(self.rules):
            mine = (rule == r) & (settings >= 0)
            out[mine] = np.asarray(spec.names, dtype=object)[settings[mine]]
        return out

    def draw_starts(self, keys: np.ndarray) -> np.ndarray:
        """For rules with ``start = "random"``: each learning row's first strategy, uniformly
        from its menu, from its random words of period 0. Returns the rows whose start changed."""
        random = np.array([rule.start == "random" for rule in self.rules] + [False])
        rows = np.flatnonzero(self.learning & random[self.rule])
        if rows.size:
            u = streams.uniforms(streams.words(keys[rows], 0, np.array([ADAPTATION_SLOT])))[:, 0]
            sizes = self.valid[rows].sum(axis=1)
            self.setting[rows] = np.minimum((u * sizes).astype(np.int64), sizes - 1)
        return rows

    def earn(self, rows: np.ndarray, profit: np.ndarray) -> None:
        """Add a period's profit of ``rows``."""
        self.earned[rows] += profit

    def due(self, t: int, alive: np.ndarray) -> np.ndarray:
        """Learning rows, still open, whose review falls in period ``t``."""
        return np.flatnonzero(self.learning & alive & (t % np.maximum(self.review, 1) == 0))

    def revise(
        self,
        rows: np.ndarray,
        keys: np.ndarray,
        t: int,
        *,
        pools: np.ndarray | None = None,
        partners: object | None = None,
    ) -> np.ndarray:
        """Review ``rows`` at the end of period ``t``; returns the rows whose strategy changed
        (their new one in ``setting``); ``model[rows]`` is the row each imitated (-1: none).

        For imitation, ``pools`` (one per engine row) says which firms may look at each other
        (a market's or a population's rows share a number); ``partners`` is the engine's
        adjacency matrix over rows (scipy sparse; None: no network)."""
        if rows.size == 0:
            return rows
        pi = self.earned[rows] / self.review[rows]
        self.earned[rows] = 0.0
        first = np.isnan(self.aspiration[rows])
        if first.any():  # untried strategies expected to do as well as the one known
            f = rows[first]
            self.attraction[f] = np.where(self.valid[f], pi[first][:, None], np.nan)
            self.aspiration[f] = pi[first]
        current = self.setting[rows]
        a = self.attraction[rows, current]
        self.attraction[rows, current] = a + self.recency[rows] * (pi - a)
        dissatisfied = pi < self.aspiration[rows]
        self.aspiration[rows] += self.aspiration_speed[rows] * (pi - self.aspiration[rows])
        imitated = np.empty(0, dtype=np.int64)
        self.model[rows] = -1
        if self.imitating and (self.imitation[rows] > 0).any():
            models = self._models(rows, pi, keys, t, pools, partners)
            self.model[rows] = models
            copying = models >= 0
            imitated = rows[copying]
            self.setting[imitated] = self.setting[models[copying]]
            dissatisfied &= ~copying
        choosing = rows[dissatisfied]
        if choosing.size == 0:
            return imitated
        scores = self.attraction[choosing] / self.temperature[choosing][:, None]
        scores = np.where(self.valid[choosing], scores, -np.inf)
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        cumulative = np.cumsum(weights, axis=1)
        u = streams.uniforms(streams.words(keys[choosing], t, np.array([ADAPTATION_SLOT])))[:, 0]
        pick = (cumulative < (u * cumulative[:, -1])[:, None]).sum(axis=1)
        pick = np.minimum(pick, self.valid[choosing].sum(axis=1) - 1)
        changed = pick != self.setting[choosing]
        self.setting[choosing] = pick
        if imitated.size:
            return np.sort(np.concatenate([imitated, choosing[changed]]))
        return choosing[changed]

    def _models(
        self,
        rows: np.ndarray,
        pi: np.ndarray,
        keys: np.ndarray,
        t: int,
        pools: np.ndarray | None,
        partners: object | None,
    ) -> np.ndarray:
        """For each reviewing row, the row whose strategy it copies (-1: none): with
        probability ``imitation`` it looks at a peer among the other ``rows`` of its pool (and
        of its rule): a rival at random, a partner at random or its population's best (by the
        profit ``pi`` of this review); it copies the peer if the peer's profit, seen with a
        normal error of sd ``imitation_noise``, is above its own and the peer follows another
        strategy. Draws: a word of period ``t`` in each of `LOOK_SLOT`, `MODEL_SLOT` and
        `NOISE_SLOT` for every reviewing row with ``imitation`` > 0."""
        from scipy import special

        n = rows.size
        models = np.full(n, -1, dtype=np.int64)
        on = np.flatnonzero(self.imitation[rows] > 0)
        w = streams.words(keys[rows[on]], t, np.array([LOOK_SLOT, MODEL_SLOT, NOISE_SLOT]))
        u = np.full((n, 3), 0.5)
        u[on] = ((w >> np.uint64(11)).astype(np.float64) + 0.5) * 2.0**-53  # in (0, 1)
        looks = np.zeros(n, dtype=bool)
        looks[on] = u[on, 0] < self.imitation[rows[on]]
        seen_error = self.imitation_noise[rows] * special.ndtri(u[:, 2])
        pool = np.zeros(n, dtype=np.int64) if pools is None else pools[rows]
        key = pool * (len(self.rules) + 1) + self.rule[rows]  # a pool's rows of one rule
        for k in np.unique(key[looks]):
            members = np.flatnonzero(key == k)  # positions in rows, in row order
            mine = rows[members]
            candidates = ~np.eye(members.size, dtype=bool)
            kind = self.peers[mine]
            if partners is not None and (kind == PEERS.index("partners")).any():
                linked = partners[mine][:, mine].toarray() > 0
                candidates[kind == PEERS.index("partners")] &= linked[
                    kind == PEERS.index("partners")
                ]
            elif partners is None:
                candidates[kind == PEERS.index("partners")] = False
            count = candidates.sum(axis=1)
            pick = np.minimum((u[members, 1] * count).astype(np.int64), np.maximum(count - 1, 0))
            nth = np.cumsum(candidates, axis=1) - 1  # the j-th candidate, in row order
            chosen = np.argmax(candidates & (nth == pick[:, None]), axis=1)
            own = pi[members]
            best = np.argmax(np.where(candidates, own[None, :], -np.inf), axis=1)  # first if tied
            peer = np.where(kind == PEERS.index("population"), best, chosen)
            seen = own[peer] + seen_error[members]
            strategy = self.setting[mine]
            copies = looks[members] & (count > 0) & (seen > own) & (strategy[peer] != strategy)
            models[members[copies]] = mine[peer[copies]]
        return models
