"""What a scenario's story builds in and what emerges from it.

A story's claim is a gap between two strategies ("the explained restaurant earns more than the
aligned one after the shift"). Two numbers say how much of it the story's own mechanism makes:

- the **counterfactual**: the same gap with one mechanism removed (`[firm.understanding]`,
  `[firm.engagement]`, the designed effects, the market's shift ...), through the dotted
  overrides of `sim.scenario.load_scenario`, paired by seed (the same landscapes and market:
  effects and the people mechanisms draw no market numbers);
- the **share before the event**: the gap in the metrics window before the split (before the
  story's shift) divided by the gap from the split on, with a delta-method interval.

`scenario_claims()` lists the gaps and mechanisms docs/scenarios.md reports;
`scripts/scenario_claims.py` regenerates its tables from them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sim.experiment import ExperimentResult, run_experiment
from sim.frames import DECISION_PREFIX
from sim.scenario import load_scenario
from sim.stats import LEVEL, mean_ci

#: Outcomes the per-run table has before and after the split (`sim.metrics.summarize_run`):
#: efficiency and market value over periods in business, profit counting 0 once closed.
RUN_MEASURES = ("efficiency", "market_value", "performance_norm", "profit")
#: Periods columns of the people mechanisms: absent when the mechanism is off, where everybody
#: understands the strategy and is fully engaged (1).
PEOPLE_MEASURES = ("understanding_", "engagement_")
#: A measure ``held:automated_campaigns=1+lead_scoring=0``: the share of firms holding those
#: decisions, "before" in the period before the split and "after" at the horizon.
HELD = "held:"


@dataclass(frozen=True)
class Gap:
    """Strategy ``a`` minus strategy ``b`` in ``measure``: a per-run outcome (`RUN_MEASURES`),
    a column of the periods table averaged over the periods in business (e.g.
    ``engagement_kitchen``), or decisions held (``held:...``, `HELD`)."""

    measure: str
    a: str
    b: str

    def __str__(self) -> str:
        measure = self.measure.replace("_", " ")
        if self.measure.startswith(HELD):
            measure = "share holding " + measure.removeprefix(HELD).replace("+", " and ")
        return f"{measure}, {self.a} - {self.b}"


@dataclass(frozen=True)
class Estimate:
    """A mean (or a ratio of means) with its ``level`` interval over ``n`` seeds."""

    mean: float
    low: float
    high: float
    n: int

    def __str__(self) -> str:
        if not math.isfinite(self.mean):
            return "n/a"
        return f"{_number(self.mean)} [{_number(self.low)}, {_number(self.high)}]"


@dataclass(frozen=True)
class GapEstimate:
    """A gap before the split, from the split on, and the first as a share of the second."""

    before: Estimate
    after: Estimate
    share_before: Estimate


@dataclass(frozen=True)
class Comparison:
    """A gap in the scenario as it is and with ``mechanism`` removed (``overrides``): the gap
    in each, the change of the after-gap (without minus with, paired by seed) and the share of
    the after-gap that is left without the mechanism (without / with)."""

    scenario: str
    gap: Gap
    mechanism: str
    overrides: Mapping[str, Any]
    with_mechanism: GapEstimate
    without: GapEstimate
    change: Estimate
    share_left: Estimate


@dataclass(frozen=True)
class ScenarioClaims:
    """A scenario's gaps, the mechanisms removed one at a time (label -> dotted overrides) and
    what its event is (the split's period, in words)."""

    scenario: str
    event: str
    gaps: tuple[Gap, ...]
    mechanisms: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def strategies(self) -> list[str]:
        return list(dict.fromkeys(s for g in self.gaps for s in (g.a, g.b)))


def _number(x: float) -> str:
    """Three significant figures, at most three decimals, signed ("0" for zero)."""
    if not math.isfinite(x):
        return "n/a"
    digits = min(3, max(0, 2 - math.floor(math.log10(abs(x))))) if x else 0
    text = f"{x:+.{digits}f}"
    return text[1:] if float(text) == 0 else text


def ratio_ci(
    numerator: pd.Series | np.ndarray, denominator: pd.Series | np.ndarray, level: float = LEVEL
) -> Estimate:
    """mean(numerator) / mean(denominator) over paired values (NaN pairs dropped), with a
    delta-method interval: the t interval of the residuals numerator - r x denominator, divided
    by |mean(denominator)|. Wide when the denominator's mean is near 0."""
    frame = pd.DataFrame({"n": np.asarray(numerator, float), "d": np.asarray(denominator, float)})
    frame = frame.dropna()
    num, den = frame["n"].to_numpy(), frame["d"].to_numpy()
    if den.size < 2 or den.mean() == 0:
        return Estimate(math.nan, math.nan, math.nan, int(den.size))
    ratio = float(num.mean() / den.mean())
    _, low, high = mean_ci((num - ratio * den) / abs(den.mean()), level)
    return Estimate(ratio, ratio + low, ratio + high, int(den.size))


def _estimate(values: pd.Series) -> Estimate:
    values = values.dropna()
    return Estimate(*mean_ci(values), n=int(values.size))


def per_seed(result: ExperimentResult, strategy: str, measure: str) -> tuple[pd.Series, pd.Series]:
    """Per seed: ``measure`` of ``strategy`` in the window before the split and from the split
    on (the windows of `python -m sim run`). Market value and profit are over all firms (a
    closed firm counts 0 while closed: docs/ODD.md §9.2), so that a gap before the split does
    not depend on which firms close after it; efficiency and performance over survivors."""
    runs = result.runs[result.runs["strategy"] == strategy].set_index("seed")
    if measure in RUN_MEASURES:
        tail = "_all" if f"{measure}_pre_shift_all" in runs else ""
        return runs[f"{measure}_pre_shift{tail}"], runs[f"{measure}_post_shift{tail}"]
    if result.periods is None:
        raise KeyError(f"{measure!r} needs the periods table; run with periods=True")
    sc = result.scenario
    if measure.startswith(HELD):
        return _held(result, strategy, measure, sc.split - 1), _held(
            result, strategy, measure, sc.horizon
        )
    rows = result.periods[(result.periods["strategy"] == strategy) & result.periods["alive"]]
    if measure not in rows and measure.startswith(PEOPLE_MEASURES):
        rows = rows.assign(**{measure: 1.0})  # mechanism off: everybody engaged, understands
    if measure not in rows:
        allowed = ", ".join(RUN_MEASURES)
        raise KeyError(f"{measure!r} is neither a per-run outcome ({allowed}) nor a periods column")
    first = max(1, sc.split - sc.metrics.window)
    before = rows[rows["period"].between(first, sc.split - 1)].groupby("seed")[measure].mean()
    after = rows[rows["period"] >= sc.split].groupby("seed")[measure].mean()
    return before, after


def _held(result: ExperimentResult, strategy: str, measure: str, period: int) -> pd.Series:
    """Per seed: 1 where every condition of ``held:decision=value+...`` holds at ``period``
    (a closed firm: as in its last period in business), else 0."""
    rows = result.periods[
        (result.periods["strategy"] == strategy) & (result.periods["period"] == period)
    ]
    holds = np.ones(len(rows), dtype=bool)
    for condition in measure.removeprefix(HELD).split("+"):
        name, _, value = condition.partition("=")
        column = DECISION_PREFIX + name
        if column not in rows:
            raise KeyError(f"{measure!r}: {name!r} is not a decision of {result.scenario.name}")
        holds &= rows[column].to_numpy() == int(value or 1)
    return pd.Series(holds.astype(float), index=rows["seed"].to_numpy())


def gap_values(result: ExperimentResult, gap: Gap) -> tuple[pd.Series, pd.Series]:
    """Per seed: the gap before the split and from the split on (seeds with both)."""
    a_before, a_after = per_seed(result, gap.a, gap.measure)
    b_before, b_after = per_seed(result, gap.b, gap.measure)
    return a_before - b_before, a_after - b_after


def estimate_gap(result: ExperimentResult, gap: Gap) -> GapEstimate:
    """The gap before and after the split with intervals, and before / after."""
    before, after = gap_values(result, gap)
    both = pd.concat([before, after], axis=1, keys=["before", "after"]).dropna()
    ratio = ratio_ci(both["before"], both["after"])
    return GapEstimate(_estimate(before), _estimate(after), ratio)


def run_claims(
    scenario: str,
    overrides: Mapping[str, Any] | None,
    strategies: Sequence[str],
    seeds: int,
    measures: Sequence[str] = (),
) -> ExperimentResult:
    """``scenario`` with ``overrides`` (dotted paths), ``strategies`` x seeds 0..seeds-1; the
    periods table only if a measure needs it."""
    sc = load_scenario(scenario, dict(overrides or {}))
    periods = any(m not in RUN_MEASURES for m in measures)
    return run_experiment(sc, strategies=list(strategies), seeds=seeds, periods=periods)


def compare(claims: ScenarioClaims, seeds: int) -> list[Comparison]:
    """Every gap of ``claims`` in the scenario as it is and with each mechanism removed, over
    seeds 0..seeds-1, paired by seed."""
    measures = [g.measure for g in claims.gaps]
    base = run_claims(claims.scenario, None, claims.strategies, seeds, measures)
    out = []
    for label, overrides in claims.mechanisms.items():
        other = run_claims(claims.scenario, overrides, claims.strategies, seeds, measures)
        for gap in claims.gaps:
            with_after = gap_values(base, gap)[1]
            without_after = gap_values(other, gap)[1]
            both = pd.concat([without_after, with_after], axis=1, keys=["without", "with"]).dropna()
            out.append(
                Comparison(
                    scenario=claims.scenario,
                    gap=gap,
                    mechanism=label,
                    overrides=dict(overrides),
                    with_mechanism=estimate_gap(base, gap),
                    without=estimate_gap(other, gap),
                    change=_estimate(both["without"] - both["with"]),
                    share_left=ratio_ci(both["without"], both["with"]),
                )
            )
    return out


def markdown_table(comparisons: Sequence[Comparison]) -> str:
    """One row for each gap as the scenario is, then one per mechanism removed."""
    lines = [
        "| gap (a - b) | model | before the event | from the event on | before ÷ after "
        "| after: without - with | after: without ÷ with |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for gap in dict.fromkeys(c.gap for c in comparisons):
        rows = [c for c in comparisons if c.gap == gap]
        e = rows[0].with_mechanism
        lines.append(f"| {gap} | as it is | {e.before} | {e.after} | {e.share_before} | | |")
        for c in rows:
            e = c.without
            lines.append(
                f"| | without {c.mechanism} | {e.before} | {e.after} | {e.share_before} "
                f"| {c.change} | {c.share_left} |"
            )
    return "\n".join(lines)


def _no_event(name: str) -> dict[str, Any]:
    """Overrides that remove a scenario's scheduled shifts, keeping its split."""
    return {"market.shifts": [], "metrics.split": load_scenario(name).split}


_PEOPLE = {
    "understanding": {"firm.understanding": None},
    "engagement": {"firm.engagement": None},
    "engagement's limit on search": {"firm.engagement.drives_search": False},
    "turnover": {"firm.engagement.turnover": 0.0},
    "the designed effects": {"effects": []},
    "all three": {"firm.understanding": None, "firm.engagement": None, "effects": []},
}


def scenario_claims() -> dict[str, ScenarioClaims]:
    """The gaps and mechanisms docs/scenarios.md reports, by scenario."""
    twins = ("aligned", "efficiency_only")
    return {
        "restaurant_kitchen_tech": ScenarioClaims(
            "restaurant_kitchen_tech",
            "the guests' shift (gradual from period 36)",
            (
                Gap("profit", "aligned_explained", "aligned"),
                Gap("market_value", "aligned_explained", "aligned"),
                Gap("engagement_kitchen", "aligned_explained", "aligned"),
                Gap("understanding_kitchen", "aligned_explained", "aligned"),
                Gap("held:seasonal_menu", "aligned_explained", "aligned"),
                Gap("profit", *twins),
                Gap("engagement_kitchen", *twins),
                Gap("held:combi_steam_ovens", *twins),
            ),
            {**_PEOPLE, "the shift": _no_event("restaurant_kitchen_tech")},
        ),
        "manufacturing_automation": ScenarioClaims(
            "manufacturing_automation",
            "the customer's move (period 48)",
            (
                Gap("profit", "retraining", "aligned"),
                Gap("market_value", "retraining", "aligned"),
                Gap("engagement_production", "retraining", "aligned"),
                Gap("understanding_production", "retraining", "aligned"),
                Gap("profit", *twins),
                Gap("engagement_production", *twins),
                Gap("held:robotic_welding_cell+in_house_cell_programming", *twins),
            ),
            {**_PEOPLE, "the move": _no_event("manufacturing_automation")},
        ),
        "marketing_sales_silo": ScenarioClaims(
            "marketing_sales_silo",
            "none: 'before' is the first year with the suite, 'after' from month 13",
            (
                Gap("profit", *twins),
                Gap("market_value", *twins),
                Gap("held:automated_campaigns=1+lead_scoring=0", "efficiency_only", "aligned"),
                Gap("efficiency_sales", *twins),
            ),
            {
                "the designed effects": {"effects": []},
                "learning by doing": {"firm.learning.gain": 0.0},
            },
        ),
        "online_retailer_fulfilment": ScenarioClaims(
            "online_retailer_fulfilment",
            "the shoppers' drift (gradual from period 48)",
            (
                Gap("profit", *twins),
                Gap("market_value", *twins),
                Gap("held:same_day_dispatch", *twins),
                Gap("held:automated_picking", *twins),
                Gap("efficiency_warehouse", "efficiency_only", "aligned"),
            ),
            {
                "the designed effects": {"effects": []},
                "the drift": _no_event("online_retailer_fulfilment"),
            },
        ),
        "hospitality_eco_tourism": ScenarioClaims(
            "hospitality_eco_tourism",
            "the travellers' drift (gradual from period 48)",
            (Gap("profit", *twins), Gap("market_value", *twins)),
            {"the drift": _no_event("hospitality_eco_tourism")},
        ),
        "fintech_regulation": ScenarioClaims(
            "fintech_regulation",
            "the regulation (period 36)",
            (Gap("profit", *twins), Gap("market_value", *twins)),
            {"the regulation and tightening": _no_event("fintech_regulation")},
        ),
    }


#: A generated table in docs/scenarios.md: ``<!-- claims NAME: ... SEEDS seeds ... -->``,
#: the table, ``<!-- /claims -->``.
BLOCK = re.compile(
    r"<!-- claims (?P<name>\w+): generated by scripts/scenario_claims\.py over (?P<seeds>\d+) "
    r"seeds; do not edit -->\n(?P<table>.*?)\n<!-- /claims -->",
    re.DOTALL,
)


def block(name: str, seeds: int, table: str) -> str:
    """The generated block of scenario ``name``."""
    return (
        f"<!-- claims {name}: generated by scripts/scenario_claims.py over {seeds} seeds; "
        f"do not edit -->\n{table}\n<!-- /claims -->"
    )


def blocks_in(text: str) -> dict[str, tuple[int, str]]:
    """The generated blocks of a document: scenario name -> (seeds, table)."""
    return {m["name"]: (int(m["seeds"]), m["table"]) for m in BLOCK.finditer(text)}


def replace_blocks(text: str, tables: Mapping[str, str], seeds: int) -> str:
    """``text`` with the block of each scenario in ``tables`` replaced (a `KeyError` naming
    the scenarios whose block is missing)."""
    missing = sorted(set(tables) - set(blocks_in(text)))
    if missing:
        raise KeyError(f"no generated block for {', '.join(missing)} in the document")

    def swap(match: re.Match) -> str:
        name = match["name"]
        return block(name, seeds, tables[name]) if name in tables else match[0]

    return BLOCK.sub(swap, text)
