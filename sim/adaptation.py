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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sim import streams

#: The slot of a firm's random words this rule draws from (bank 2, slot 0: `sim.engine`).
ADAPTATION_SLOT = 2 * streams.SLOTS


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
        self.learning = self.rule >= 0

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

    def revise(self, rows: np.ndarray, keys: np.ndarray, t: int) -> np.ndarray:
        """Review ``rows`` at the end of period ``t``; returns the rows whose strategy changed
        (their new one in ``setting``)."""
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
        choosing = rows[dissatisfied]
        if choosing.size == 0:
            return choosing
        scores = self.attraction[choosing] / self.temperature[choosing][:, None]
        scores = np.where(self.valid[choosing], scores, -np.inf)
        weights = np.exp(scores - scores.max(axis=1, keepdims=True))
        cumulative = np.cumsum(weights, axis=1)
        u = streams.uniforms(streams.words(keys[choosing], t, np.array([ADAPTATION_SLOT])))[:, 0]
        pick = (cumulative < (u * cumulative[:, -1])[:, None]).sum(axis=1)
        pick = np.minimum(pick, self.valid[choosing].sum(axis=1) - 1)
        changed = pick != self.setting[choosing]
        self.setting[choosing] = pick
        return choosing[changed]
