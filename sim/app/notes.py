"""The "things to notice" of a scenario, checked on the model: measures per firm and market,
each line's claim (`NoticeSpec.check`) in the class's market and over the debrief's markets,
and the typical market a class opens on.

The numbers come from the debrief (`TwinFirms.debrief`: the twin firms on seeds 0 .. 29), so
they are what the class sees; nothing here is a stored model output.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass

import numpy as np

from sim.app.state import DEBRIEF_SEEDS, DEFAULT_TWINS, Debrief, TwinFirms
from sim.scenario import Scenario
from sim.scenario.schema import NOTICE_MEASURES, check_names

#: Measures a class's market is typical on whatever the notes say: what the scoreboard and
#: the debrief show (profit, efficiency, miles sailed, going in circles).
ALWAYS_TYPICAL_ON: tuple[str, ...] = ("profit_after", "efficiency_after", "miles", "cycling")


def measures(debrief: Debrief) -> dict[str, dict[str, np.ndarray]]:
    """Every measure of `NOTICE_MEASURES` per firm (by strategy) per market: arrays over the
    debrief's seeds."""
    sc = debrief.scenario
    split, window, end = debrief.split, sc.metrics.window, sc.horizon + 1
    before = slice(max(1, split - window), split)
    after = slice(split, end)
    last = slice(end - window, end)
    out: dict[str, dict[str, np.ndarray]] = {}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a closed firm has no value after
        for i, name in enumerate(debrief.strategy_names):
            d = {k: v[i] for k, v in debrief.data.items()}  # (seed, period)
            alive = d["alive"].astype(bool)
            # profit counts 0 once closed (as in the run summaries); the rest over periods alive
            profit = np.where(alive, d["profit"], 0.0)
            kpi = {
                "efficiency": np.where(alive, d["efficiency"], np.nan),
                "market_value": np.where(alive, d["market_value"], np.nan),
                "distance": np.where(alive, d["distance_to_port"], np.nan),
            }
            m: dict[str, np.ndarray] = {}
            for key in ("efficiency", "market_value"):
                m[f"{key}_before"] = np.nanmean(kpi[key][:, before], axis=1)
                m[f"{key}_after"] = np.nanmean(kpi[key][:, after], axis=1)
                m[f"{key}_end"] = np.nanmean(kpi[key][:, last], axis=1)
                m[f"{key}_low_after"] = np.nanmin(kpi[key][:, after], axis=1)
            m["profit_before"] = profit[:, before].mean(axis=1)
            m["profit_after"] = profit[:, after].mean(axis=1)
            m["profit_end"] = profit[:, last].mean(axis=1)
            fall = m["profit_before"] - m["profit_end"]
            falls = (-np.diff(profit[:, split - 1 :], axis=1)).clip(min=0)
            steps = falls.max(axis=1, initial=0)
            m["largest_monthly_fall"] = np.where(fall > 0, steps / np.where(fall > 0, fall, 1), 0)
            m["distance_before"] = np.nanmean(kpi["distance"][:, before], axis=1)
            m["distance_end"] = np.nanmean(kpi["distance"][:, last], axis=1)
            m["miles"] = d["miles"][:, -1]
            m["cycling"] = np.nansum(d["in_cycle"], axis=1)
            m["survived"] = debrief.survived()[i].astype(float)
            missing = set(NOTICE_MEASURES) - set(m)
            if missing:  # pragma: no cover - the vocabulary and this function go together
                raise RuntimeError(f"measures not computed: {sorted(missing)}")
            out[name] = m
    return out


def evaluate(check: str, values: dict[str, dict[str, np.ndarray | float]]) -> np.ndarray:
    """A check (`NoticeSpec.check`) on measures ``values`` (firm -> measure -> value or array
    over markets): True where the claim holds."""
    check_names(check)  # only the allowed constructs

    def run(node: ast.AST):
        match node:
            case ast.Expression(body=body):
                return run(body)
            case ast.Constant(value=value):
                return value
            case ast.Attribute(value=ast.Name(id=firm), attr=measure):
                return np.asarray(values[firm][measure], dtype=float)
            case ast.Call(args=[arg]):
                return np.abs(run(arg))
            case ast.UnaryOp(op=ast.Not(), operand=operand):
                return np.logical_not(run(operand))
            case ast.UnaryOp(op=ast.USub(), operand=operand):
                return -run(operand)
            case ast.BinOp(left=left, op=op, right=right):
                a, b = run(left), run(right)
                return {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply}.get(
                    type(op), np.divide
                )(a, b)
            case ast.BoolOp(op=op, values=parts):
                combine = np.logical_and if isinstance(op, ast.And) else np.logical_or
                result = run(parts[0])
                for part in parts[1:]:
                    result = combine(result, run(part))
                return result
            case ast.Compare(left=left, ops=ops, comparators=rights):
                result, a = True, run(left)
                for op, right in zip(ops, rights, strict=True):
                    b = run(right)
                    compare = {ast.Lt: np.less, ast.LtE: np.less_equal, ast.Gt: np.greater}.get(
                        type(op), np.greater_equal
                    )
                    result = np.logical_and(result, compare(a, b))
                    a = b
                return result
        raise ValueError(f"cannot evaluate {ast.dump(node)}")  # pragma: no cover

    return np.asarray(run(ast.parse(check, mode="eval")), dtype=bool)


@dataclass(frozen=True)
class NoteCheck:
    """One "things to notice" line checked: in the class's market, and in the debrief's."""

    text: str
    check: str
    in_market: bool
    share_of_markets: float

    @property
    def in_most_markets(self) -> bool:
        """True if the line holds in more than half of the debrief's markets."""
        return self.share_of_markets > 0.5

    @property
    def holds(self) -> bool:
        """True if the line holds in the class's market and in most of the debrief's."""
        return self.in_market and self.in_most_markets


def check_notes(debrief: Debrief, market: int) -> list[NoteCheck]:
    """Every "things to notice" line of the debrief's scenario, checked in market ``market``
    (one of the debrief's seeds) and in each of them (a measure that is undefined, such as a
    closed firm's efficiency, makes a comparison false)."""
    values = measures(debrief)
    k = debrief.seeds.index(market)
    here = {f: {m: v[k] for m, v in ms.items()} for f, ms in values.items()}
    out = []
    for notice in debrief.scenario.things_to_notice:
        if not notice.check.strip():
            raise ValueError(f"{debrief.scenario.name}: the line {notice.text!r} has no check")
        out.append(
            NoteCheck(
                text=notice.text,
                check=notice.check,
                in_market=bool(evaluate(notice.check, here)),
                share_of_markets=float(np.mean(evaluate(notice.check, values))),
            )
        )
    return out


def mentioned(scenario: Scenario) -> list[str]:
    """The measures a scenario's "things to notice" mention, and `ALWAYS_TYPICAL_ON`."""
    names = list(ALWAYS_TYPICAL_ON)
    for notice in scenario.things_to_notice:
        for _firm, measure in check_names(notice.check) if notice.check.strip() else []:
            if measure not in names:
                names.append(measure)
    return names


def typicality(debrief: Debrief) -> np.ndarray:
    """How far each market is from the middle on the measures the notes mention: per market,
    the largest distance of a percentile rank from 0.5 (0: the median market on every one),
    over each firm's value and the gap between the firms."""
    values = measures(debrief)
    first, second = debrief.strategy_names
    series = []
    for name in mentioned(debrief.scenario):
        series += [values[first][name], values[second][name]]
        series.append(values[second][name] - values[first][name])
    n = len(debrief.seeds)
    worst = np.zeros(n)
    for x in series:
        x = np.nan_to_num(np.asarray(x, dtype=float), nan=-np.inf)
        # mid-ranks: ties share their rank, so a measure equal in every market counts as 0.5
        order = np.argsort(x, kind="stable")
        ranks = np.empty(n)
        ranks[order] = np.arange(n)
        for value in np.unique(x):
            same = x == value
            ranks[same] = ranks[same].mean()
        worst = np.maximum(worst, np.abs(ranks / max(n - 1, 1) - 0.5))
    return worst


def title_claim(debrief: Debrief) -> np.ndarray:
    """Per market: the app's title claim, "an efficient ship sailing in circles", holds for the
    first firm (the efficiency-only one) against the second: from the split on it is more
    efficient on average (`efficiency_after`, over the periods it is in business) and it is
    still moving, not stuck: it changes a decision in a period at least the scenario's
    ``cycle_window`` periods after the split."""
    values = measures(debrief)
    first, second = debrief.strategy_names
    more_efficient = values[first]["efficiency_after"] > values[second]["efficiency_after"]
    miles = debrief.data["miles"][0]  # (seed, period): decisions changed since period 0
    late = min(debrief.split + debrief.scenario.metrics.cycle_window, miles.shape[1] - 1)
    moving = miles[:, -1] > miles[:, late - 1]
    return np.asarray(more_efficient & moving, dtype=bool)


def notes_hold(debrief: Debrief) -> np.ndarray:
    """Per market: every "things to notice" line of the scenario holds there."""
    values = measures(debrief)
    held = np.ones(len(debrief.seeds), dtype=bool)
    for notice in debrief.scenario.things_to_notice:
        if notice.check.strip():
            held &= evaluate(notice.check, values)
    return held


def opening_market(debrief: Debrief) -> tuple[int, str]:
    """The market a class opens on, and which rule chose it.

    The rule: of the debrief's markets, those where the app's title claim (`title_claim`) and
    every thing to notice (`notes_hold`) hold; of those, the most typical (`typicality`, the
    lower seed on a tie). If no market has both, the notes alone (what the Info panel says must
    hold where the class looks), then the title claim alone, then all markets (the second word
    says which: "title and notes", "notes", "title", "any").
    """
    distance = typicality(debrief)
    title, notes = title_claim(debrief), notes_hold(debrief)
    for allowed, rule in (
        (title & notes, "title and notes"),
        (notes, "notes"),
        (title, "title"),
        (np.ones_like(title), "any"),
    ):
        if allowed.any():
            k = int(np.argmin(np.where(allowed, distance, np.inf)))
            return int(debrief.seeds[k]), rule
    raise ValueError("a debrief without markets")  # pragma: no cover


def typical_market(
    scenario: Scenario,
    *,
    strategies: tuple[str, str] = DEFAULT_TWINS,
    markets: int = DEBRIEF_SEEDS,
) -> int:
    """The market a class opens on (`opening_market`) of seeds 0 .. ``markets`` - 1: what a
    scenario's ``classroom_seed`` should be."""
    debrief = TwinFirms(scenario, strategies=strategies, seed=0, baseline=False).debrief(markets)
    return opening_market(debrief)[0]
