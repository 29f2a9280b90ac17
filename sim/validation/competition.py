"""Validation of markets of competing firms: the logit choice model's analytic properties
(docs/ODD.md section 7.18), checked on the engine's records of whole runs.

The references are exact or analytic: equal shares for identical firms, shares that make one
with the outside option's, the logit of the recorded market values computed independently (a
plain loop per market and period), an even split at lambda = 0, and a monopoly without an
outside option that is the single firm bit for bit. Tolerances are rounding (1e-12) or exact.
"""

from __future__ import annotations

import math

import numpy as np

from sim.model import Market, engine_for, step_together
from sim.scenario.schema import Scenario
from sim.validation.experiments import SOURCE_ANALYTIC, Measure, Outcome, Setup, Size, claim

NAME = "competition_logit"
ROUNDING = 1e-12


def _markets(setup: Setup, overrides: dict, seeds: int) -> list[Market]:
    """The validation scenario with ``overrides``, one market per seed, run together."""
    sc = setup.scenario(NAME, overrides)
    engine = engine_for(sc, markets=seeds)
    markets = [Market(scenario=sc, rng=seed, engine=engine) for seed in range(seeds)]
    step_together(markets)
    return markets


def _within(measure: str, reference: float, value: float, tolerance: float, source: str) -> Measure:
    """A number against an exact or analytic reference: within ``tolerance`` (0: equal; then
    z is 0 if equal, else infinite, as for exact references in `compare`; NaN otherwise)."""
    gap = abs(value - reference)
    ok = gap <= tolerance if not math.isnan(value) else False
    z = (0.0 if ok else math.copysign(math.inf, value - reference)) if tolerance == 0 else math.nan
    return Measure(
        NAME,
        measure,
        source,
        f"{reference:.4g}",
        f"{value:.3g}",
        "exact" if tolerance == 0 else f"±{tolerance:.0e} (rounding)",
        bool(ok),
        z,
    )


def independent_shares(values: np.ndarray, alive: np.ndarray, lam: float, v0: float | None):
    """The logit by a plain loop: per period, every firm in business gets exp(lam V) over the
    sum of its rivals' (and the outside option's) exp(lam V). Returns (shares, outside share)."""
    periods, firms = values.shape
    shares = np.full(values.shape, np.nan)
    outside = np.zeros(periods)
    for t in range(periods):
        weights = {j: math.exp(lam * values[t, j]) for j in range(firms) if alive[t, j]}
        total = sum(weights.values()) + (math.exp(lam * v0) if v0 is not None else 0.0)
        for j, w in weights.items():
            shares[t, j] = w / total
        outside[t] = (math.exp(lam * v0) / total) if v0 is not None else 0.0
    return shares, outside


def competition_logit(setup: Setup) -> Outcome:
    """The rows of `python -m sim validate` for the choice model of competing firms."""
    seeds = 20 if setup.size == Size.of(True) else 200
    measures = []

    # identical firms: one strategy without randomness, one start
    markets = _markets(setup, {"competition.firms": {"steady": 4}}, seeds)
    h = markets[0].engine.history
    spread = 0.0
    for m in markets:
        rows = [f.row for f in m.rivals]
        s = h.market_share[:, rows]
        s = s[h.alive[:, rows].any(axis=1)]  # periods with a firm in business
        spread = max(spread, float((np.nanmax(s, axis=1) - np.nanmin(s, axis=1)).max()))
    measures.append(
        _within("identical firms: largest difference of their shares", 0.0, spread, 0.0,
                SOURCE_ANALYTIC)
    )  # fmt: skip

    # a mix of strategies, some closing: shares against the logit computed independently
    markets = _markets(setup, {}, seeds)
    h = markets[0].engine.history
    sc = markets[0].spec
    lam, v0 = sc.competition.sensitivity, sc.competition.outside_value
    deviation = total_gap = 0.0
    closed = 0
    for m in markets:
        rows = [f.row for f in m.rivals]
        alive = h.alive[:, rows]
        closed += int((~alive[-1]).sum())
        shares, outside = independent_shares(h.market_value[:, rows], alive, lam, v0)
        engine = h.market_share[:, rows]
        deviation = max(deviation, float(np.nanmax(np.abs(engine - shares))))
        total = np.nansum(engine, axis=1) + outside
        total_gap = max(total_gap, float(np.abs(total - 1.0).max()))
    measures.append(
        _within("shares of the firms and the outside option: largest distance of their sum "
                "from 1", 0.0, total_gap, ROUNDING, SOURCE_ANALYTIC)
    )  # fmt: skip
    measures.append(
        _within(f"shares: largest distance from the logit of the recorded market values "
                f"({closed} firms closed in the runs)", 0.0, deviation, ROUNDING,
                "independent implementation")
    )  # fmt: skip

    # lambda = 0: customers choose at random among the firms and the outside option
    markets = _markets(setup, {"competition.sensitivity": 0.0, "firm.initial_cash": 1e6}, seeds)
    h = markets[0].engine.history
    firms = len(markets[0].rivals)
    even = max(
        float(np.abs(h.market_share[:, [f.row for f in m.rivals]] - 1 / (firms + 1)).max())
        for m in markets
    )
    measures.append(
        _within(f"lambda = 0: largest distance of a share from 1/(n+1) = 1/{firms + 1}", 0.0,
                even, ROUNDING, SOURCE_ANALYTIC)
    )  # fmt: skip

    # crowding: a second firm at the same place takes customers from the first
    one = _markets(setup, {"competition.firms": {"steady": 1}}, seeds)
    two = _markets(setup, {"competition.firms": {"steady": 2}}, seeds)
    fewer = True
    for a, b in zip(one, two, strict=True):
        alone = a.engine.history.market_share[:, a.rivals[0].row]
        crowded = b.engine.history.market_share[:, b.rivals[0].row]
        both = ~np.isnan(alone) & ~np.isnan(crowded)  # periods both are in business
        fewer &= bool((crowded[both] < alone[both]).all())
    measures.append(
        claim(NAME, "crowding: a clone lowers the first firm's share in every period",
              "lower in every period and market", "lower" if fewer else "not always lower",
              fewer, source=SOURCE_ANALYTIC)
    )  # fmt: skip

    # a monopoly without an outside option, in a market of its own size, is the single firm
    mono = {
        "competition.firms": {"aligned": 1},
        "competition.outside": False,
        "competition.market_size": 1.0,
    }
    monopoly = _markets(setup, mono, seeds)
    alone_sc = Scenario.model_validate({**setup.scenario(NAME).model_dump(), "competition": None})
    engine = engine_for(alone_sc, markets=seeds)
    alone = [
        Market(scenario=alone_sc, strategies=["aligned"], rng=seed, engine=engine)
        for seed in range(seeds)
    ]
    step_together(alone)
    gap = 0.0
    for a, b in zip(alone, monopoly, strict=True):
        ha, hb = a.engine.history, b.engine.history
        ra, rb = a.firms[0].row, b.rivals[0].row
        for name in ("profit", "cash"):
            x, y = getattr(ha, name)[:, ra], getattr(hb, name)[:, rb]
            gap = max(gap, float(np.nanmax(np.abs(x - y))))
        gap = max(gap, float((ha.config[:, ra] != hb.config[:, rb]).sum()))
    measures.append(
        _within("monopoly without outside option: largest difference from the single firm "
                "(profit, cash, configurations)", 0.0, gap, 0.0, SOURCE_ANALYTIC)
    )  # fmt: skip
    return Outcome(NAME, measures)
