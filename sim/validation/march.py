"""March (1991), "Exploration and exploitation in organizational learning": the mutual-learning
model between an organisational code and its individuals, as a published protocol.

Plain numpy, vectorised over replications, sharing no code with the model's engine: this checks
the project's validation machinery on a published organisational-learning model, not the
project's own learning rule (`sim.adaptation`, checked by tests/test_adaptation.py). The paper
alone does not pin the protocol down; every reading below follows the replications by Rodan
(2005) and Christensen (2015) as Workiewicz's recreation documents them (docs/validation.md
quotes the sentence each reading rests on):

- reality: ``dimensions`` values of +1 or -1, each +1 with probability 0.5; the code starts at
  0 on every dimension, each individual's beliefs at -1, 0 or +1 with equal probability;
- each period (Christensen's order) individuals **act** (their belief where it is not 0, a fair
  coin where it is), then **socialise**, then the **code learns** from the actions taken;
- socialisation (rate ``p1``, per individual and dimension, only where the code is not 0) is
  gradual: a belief of 0 becomes the code's, a belief opposite to the code becomes 0;
- the superior group are the individuals whose action scores (actions x reality, summed)
  exceed the code's (code x reality, summed); on each dimension where the superior group's
  actions have a strict majority that differs from the code, the code takes it with
  probability 1 - (1 - ``p2``)^k, k = majority minus minority;
- equilibrium: no change is possible any more (every belief equals the code wherever the code
  is not 0, and no individual could outscore the code whatever the coins); the equilibrium
  knowledge is the code's score divided by the dimensions, (right - wrong) / m.

Two rules are negative controls, never the protocol: ``learns_from="everyone"`` (the code
learns from every individual, not only the superior group) and ``zero_teaches=True``
(socialisation also teaches the code's 0 beliefs: where the code is 0, a belief becomes 0).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.validation.experiments import Measure, Outcome, Setup, Size, claim, compare

DIMENSIONS = 30  # m
INDIVIDUALS = 50  # n
#: A run still changing after this many periods stops there (reported as not settled; the
#: protocol's runs settle within a few hundred periods).
MAX_PERIODS = 2_000
#: The code learns from: the superior group (the protocol) or everyone (a negative control).
LEARNS_FROM: tuple[str, ...] = ("superior", "everyone")


@dataclass(frozen=True)
class MarchRuns:
    """Per replication: the code's knowledge at equilibrium ((right - wrong) / m), the share of
    dimensions it gets right, the periods taken, and whether the equilibrium was reached before
    the cap (a run stopped by the cap reports its knowledge then)."""

    knowledge: np.ndarray
    share_right: np.ndarray
    periods: np.ndarray
    settled: np.ndarray


def equilibrium_knowledge(
    *,
    p1: float,
    p2: float,
    replications: int,
    seed: int | Sequence[int] = 0,
    dimensions: int = DIMENSIONS,
    individuals: int = INDIVIDUALS,
    learns_from: str = "superior",
    zero_teaches: bool = False,
    max_periods: int = MAX_PERIODS,
) -> MarchRuns:
    """Run ``replications`` independent organisations to equilibrium (see the module's
    docstring for the protocol) and return what each ends with."""
    if learns_from not in LEARNS_FROM:
        raise ValueError(
            f"learns_from: unknown rule {learns_from!r}; allowed: {', '.join(LEARNS_FROM)}"
        )
    for name, value in (("p1", p1), ("p2", p2)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
    for name, value in (("replications", replications), ("max_periods", max_periods)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    rng = np.random.default_rng(seed)
    r, n, m = replications, individuals, dimensions
    reality = (2 * rng.integers(0, 2, size=(r, m)) - 1).astype(np.int8)
    beliefs = (rng.integers(0, 3, size=(r, n, m)) - 1).astype(np.int8)
    code = np.zeros((r, m), dtype=np.int8)
    knowledge = np.empty(r)
    share_right = np.empty(r)
    periods = np.zeros(r, dtype=np.int64)
    settled = np.zeros(r, dtype=bool)
    alive = np.arange(r)  # the replications still running, rows of the arrays below
    keep = 1.0 - p2
    for period in range(1, max_periods + 1):
        # 1. individuals act: their belief, or a fair coin where it is 0
        coins = (2 * rng.integers(0, 2, size=beliefs.shape) - 1).astype(np.int8)
        actions = np.where(beliefs != 0, beliefs, coins)
        scores = np.einsum("anm,am->an", actions, reality, dtype=np.int64)
        code_score = np.einsum("am,am->a", code, reality, dtype=np.int64)
        # 2. individuals socialise, gradually, where the code is not 0
        taught = rng.random(beliefs.shape) < p1
        toward = np.broadcast_to(code[:, None, :], beliefs.shape)
        moves = taught & (toward != 0) & (beliefs != toward)
        beliefs = np.where(moves, beliefs + toward, beliefs).astype(np.int8)
        if zero_teaches:
            beliefs = np.where(taught & (toward == 0), 0, beliefs).astype(np.int8)
        # 3. the code learns from the superior group's actions (taken before socialising)
        if learns_from == "superior":
            group = scores > code_score[:, None]
        else:
            group = np.ones_like(scores, dtype=bool)
        votes = np.einsum("anm,an->am", actions, group.astype(np.int8), dtype=np.int64)
        majority = np.sign(votes).astype(np.int8)
        k = np.abs(votes)
        changes = (majority != 0) & (majority != code)
        changes &= rng.random(code.shape) >= keep**k
        code = np.where(changes, majority, code)
        # equilibrium: no change possible any more
        code_score = np.einsum("am,am->a", code, reality, dtype=np.int64)
        agree = ((beliefs == code[:, None, :]) | (code[:, None, :] == 0)).all(axis=(1, 2))
        stuck = np.zeros_like(agree)
        if learns_from == "superior":  # no one could outscore the code, whatever the coins
            rows = np.flatnonzero(agree)
            held = beliefs[rows]
            best = np.einsum("anm,am->an", held, reality[rows], dtype=np.int64)
            best += (held == 0).sum(axis=2)
            stuck[rows] = (best <= code_score[rows, None]).all(axis=1)
        else:  # everyone votes: where the code is 0, only a tie of non-zero beliefs holds it
            tie = (beliefs != 0).all(axis=1) & (beliefs.sum(axis=1, dtype=np.int64) == 0)
            stuck = ((code != 0) | tie).all(axis=1)
        done = agree & stuck
        if period == max_periods:
            done[:] = True
        if done.any():
            finished = alive[done]
            knowledge[finished] = code_score[done] / m
            share_right[finished] = (code[done] == reality[done]).mean(axis=1)
            periods[finished] = period
            settled[finished] = (agree & stuck)[done]
            left = ~done
            alive, reality, beliefs, code = alive[left], reality[left], beliefs[left], code[left]
        if alive.size == 0:
            break
    return MarchRuns(knowledge, share_right, periods, settled)


# ---- Fig. 1 as a validation experiment ----
#: The experiment's name in `python -m sim validate`, and the name its negative controls are
#: given under in ``run_validation(overrides=...)``.
EXPERIMENT = "march_1991_fig1"
PROTOCOL = "march_1991"
#: The rules a negative control may change (`equilibrium_knowledge`'s keywords), and the values.
CONTROLS: dict[str, tuple[Any, ...]] = {"learns_from": LEARNS_FROM, "zero_teaches": (False, True)}
P1 = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
P1_QUICK = (0.1, 0.5, 0.9)
P2 = (0.1, 0.5, 0.9)
REPLICATIONS = 1_000  # per (p1, p2): the full validation
REPLICATIONS_QUICK = 150
#: The quick version's cap on periods (its protocol runs settle within 200; a control's runs
#: that oscillate stop there, as they stop at `MAX_PERIODS` in the full version).
MAX_PERIODS_QUICK = 400

#: March (1991) Fig. 1, read off the printed figure (digitised from a scan: the curves' pixel
#: rows at each p1 tick, the y axis calibrated on its ticks .70 ... .90; the p1 = 0.1 points are
#: the curves' left ends). Each point averages 80 runs ("80 Iterations", the caption).
MARCH_FIG1: dict[float, tuple[float, ...]] = {
    0.1: (0.857, 0.815, 0.803, 0.787, 0.800, 0.815, 0.805, 0.802, 0.793),
    0.5: (0.953, 0.921, 0.874, 0.836, 0.796, 0.778, 0.780, 0.752, 0.745),
    0.9: (0.976, 0.951, 0.912, 0.889, 0.854, 0.804, 0.770, 0.744, 0.750),
}
MARCH_RUNS = 80
#: Standard uncertainty of a reading off the scan: the line's width (3 px = 0.0013), the offset
#: of the curves' kinks from the p1 ticks (up to 5 px, under 0.003 on the steepest segment) and
#: the calibration.
MARCH_READING = 0.005
#: A published replication's table: Workiewicz's recreation following Rodan (2005) and
#: Christensen (2015), 10,000 runs per point (github.com/Mac13kW/March_1991_Original,
#: Output/March_1991_p1_0.1-0.9_p2_0.1-0.9_p3_0_p4_0_t_limit_100_i_10000.csv), rounded here to
#: four decimals (a rounding error under 0.00005, negligible).
REPLICATION_TABLE: dict[float, tuple[float, ...]] = {
    0.1: (0.8633, 0.8171, 0.8051, 0.8021, 0.7994, 0.8032, 0.8060, 0.8090, 0.8132),
    0.5: (0.9543, 0.9088, 0.8691, 0.8371, 0.8106, 0.7867, 0.7679, 0.7540, 0.7421),
    0.9: (0.9724, 0.9404, 0.9081, 0.8737, 0.8401, 0.8067, 0.7796, 0.7561, 0.7284),
}
REPLICATION_RUNS = 10_000
SOURCE_FIGURE = "March 1991 Fig. 1, read off"
SOURCE_REPLICATION = "replication table (Workiewicz, 10,000 runs)"


def controls(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A negative control's rule changes, checked: keys and values from `CONTROLS`."""
    for key, value in overrides.items():
        if key not in CONTROLS:
            raise KeyError(f"{PROTOCOL}: unknown rule {key!r}; allowed: {', '.join(CONTROLS)}")
        if value not in CONTROLS[key]:
            allowed = ", ".join(map(str, CONTROLS[key]))
            raise ValueError(f"{PROTOCOL}.{key}: {value!r} is not allowed; allowed: {allowed}")
    return dict(overrides)


def _against(
    measure: str,
    published: float,
    runs: np.ndarray,
    *,
    source: str,
    papers_runs: int,
    reading: float,
) -> Measure:
    """The model's mean over runs against a published mean of ``papers_runs`` runs: the
    reference's standard error combines that sampling error (estimated with the model's spread)
    and the reading's."""
    sd = float(runs.std(ddof=1))
    reference_se = float(np.hypot(sd / np.sqrt(papers_runs), reading))
    return compare(EXPERIMENT, measure, published, runs, source=source, reference_se=reference_se)


def march_1991_fig1(setup: Setup) -> Outcome:
    """March (1991) Fig. 1: the code's equilibrium knowledge against p1 for p2 = 0.1, 0.5, 0.9,
    compared with the printed figure and with a published replication's table."""
    out = Outcome("March 1991 Fig. 1")
    quick = setup.size == Size.of(True)
    p1s = P1_QUICK if quick else P1
    replications = REPLICATIONS_QUICK if quick else REPLICATIONS
    cap = MAX_PERIODS_QUICK if quick else MAX_PERIODS
    rules = controls(setup.overrides.get(PROTOCOL, {}))
    curves: dict[float, dict[float, float]] = {p2: {} for p2 in P2}
    rows = []
    all_settled = True
    for b, p2 in enumerate(P2):
        for p1 in p1s:
            a = P1.index(p1)
            runs = equilibrium_knowledge(
                p1=p1,
                p2=p2,
                replications=replications,
                seed=(1991, b, a),
                max_periods=cap,
                **rules,
            )
            k = runs.knowledge
            curves[p2][p1] = float(k.mean())
            all_settled &= bool(runs.settled.all())
            cell = f"p2={p2:g}, p1={p1:g}: equilibrium knowledge"
            out.measures += [
                _against(
                    cell,
                    MARCH_FIG1[p2][a],
                    k,
                    source=SOURCE_FIGURE,
                    papers_runs=MARCH_RUNS,
                    reading=MARCH_READING,
                ),
                _against(
                    cell,
                    REPLICATION_TABLE[p2][a],
                    k,
                    source=SOURCE_REPLICATION,
                    papers_runs=REPLICATION_RUNS,
                    reading=0.0,
                ),
            ]
            rows.append(
                {
                    "p1": p1,
                    "p2": p2,
                    "knowledge": float(k.mean()),
                    "knowledge_se": float(k.std(ddof=1) / np.sqrt(k.size)),
                    "share_right": float(runs.share_right.mean()),
                    "periods_mean": float(runs.periods.mean()),
                    "periods_max": int(runs.periods.max()),
                    "share_settled": float(runs.settled.mean()),
                    "march_fig1": MARCH_FIG1[p2][a],
                    "replication": REPLICATION_TABLE[p2][a],
                }
            )
    slow, fast = p1s[0], p1s[-1]
    at_slow = [curves[p2][slow] for p2 in P2]
    at_fast = [curves[p2][fast] for p2 in P2]
    best = max(((p1, p2) for p2 in P2 for p1 in p1s), key=lambda c: curves[c[1]][c[0]])
    out.measures += [
        claim(
            EXPERIMENT,
            f"p1={slow:g}: knowledge grows with p2",
            "p2=0.1 < 0.5 < 0.9",
            " < ".join(f"{v:.3f}" for v in at_slow),
            at_slow[0] < at_slow[1] < at_slow[2],
            source="Fig. 1",
        ),
        claim(
            EXPERIMENT,
            f"p1={fast:g}: slow code learning (p2=0.1) knows most",
            "p2=0.1 > 0.5 and 0.9",
            " / ".join(f"{v:.3f}" for v in at_fast),
            at_fast[0] > max(at_fast[1:]),
            source="Fig. 1",
        ),
        claim(
            EXPERIMENT,
            "highest knowledge: slow socialisation, fast code learning",
            f"p1={slow:g}, p2=0.9",
            f"p1={best[0]:g}, p2={best[1]:g}",
            best == (slow, 0.9),
            source="Fig. 1",
        ),
        claim(
            EXPERIMENT,
            "every run reaches the equilibrium",
            "all runs",
            "all runs" if all_settled else f"some stopped at {cap} periods",
            all_settled,
            source="paper's text, p. 75",
        ),
    ]
    out.curves = {"model": curves, "march": MARCH_FIG1, "replication": REPLICATION_TABLE, "p1": P1}
    out.tables[EXPERIMENT] = pd.DataFrame(rows)
    return out
