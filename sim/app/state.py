"""The classroom's twin firms: two strategies in one market, stepping together, changed live.

Plain Python (no Solara, no plotting), so everything the page does can be tested without a
browser. A `TwinFirms` session owns one `Market` with two firms on the same seed (common random
numbers), applies the teacher's live changes from the next period on, keeps a record of them so
a debrief can replay the same setting on many seeds, and exports the run's data.
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd
from pydantic import ValidationError

from sim.experiment import run_experiment
from sim.frames import decision_columns
from sim.landscape import department_interdependence
from sim.model import Change, Market
from sim.scenario import (
    SCENARIO_DIR,
    Scenario,
    ScenarioError,
    StrategySpec,
    load_scenario,
    scenario_to_dict,
    validate_scenario,
)
from sim.scenario.schema import COORDINATION_MODES, CostSpec, mean_level

if TYPE_CHECKING:
    from sim.agents import Firm

#: The twin firms a class sees first: one whose departments chase their own efficiency, one
#: whose departments also weigh the firm's strategy.
DEFAULT_TWINS: tuple[str, str] = ("efficiency_only", "aligned")
#: Seeds of the debrief: enough to see that a difference is not luck.
DEBRIEF_SEEDS = 30
#: Largest factor on the scenario's coordination costs a control accepts.
MAX_COST_FACTOR = 20.0
#: Columns of a firm's log shown over time (and compared in the debrief).
KPI_COLUMNS: tuple[str, ...] = ("efficiency", "market_value", "profit", "cash")


class ControlError(ValueError):
    """A value typed into a control that cannot be used; the message says what is allowed."""


# ---- scenarios for a class ----


#: the scenarios the classroom's header offers as one-click buttons (the others are in a list)
ONE_CLICK_SCENARIOS: tuple[str, ...] = ("bakery_gluten_free", "boutique_online", "canteen_stable")


def classroom_scenarios(
    folder: str | Path | None = None,
) -> tuple[dict[str, Scenario], dict[str, str]]:
    """The scenarios a class can pick: every ``*.toml`` in ``scenarios/`` but validation ones.

    Validation scenarios (a name starting with ``validation`` or a sub-folder such as
    ``scenarios/validation/``) reproduce published results and are not stories for a class;
    markets of competing firms (``[competition]``) are run with `python -m sim run`, not in the
    classroom's twin-firm view.
    Returns the scenarios by name, the bakery first, and the files that failed to load with
    their one-line error (shown on the page instead of crashing it).
    """
    root = Path(folder) if folder is not None else SCENARIO_DIR
    loaded: dict[str, Scenario] = {}
    failed: dict[str, str] = {}
    for path in sorted(root.glob("*.toml")):
        if path.stem.startswith("validation"):
            continue
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            failed[path.name] = str(exc)
            continue
        if scenario.competition is not None:  # a market of competing firms: not (yet) a class's
            continue
        loaded[scenario.name] = scenario
    first = [n for n in loaded if n.startswith("bakery")]
    order = first + [n for n in loaded if n not in first]
    return {n: loaded[n] for n in order}, failed


# ---- parsing what is typed into the controls ----


def parse_mode(text: object, *, what: str) -> str:
    """A coordination mode chosen in a control or a link; a `ControlError` saying which are
    allowed otherwise."""
    if text not in COORDINATION_MODES:
        raise ControlError(f"{what}: expected one of {', '.join(COORDINATION_MODES)}, got {text!r}")
    return str(text)


def parse_number(text: str | float | None, *, what: str, low: float, high: float) -> float:
    """A number typed into a control, within [low, high]; a `ControlError` saying so otherwise."""
    if isinstance(text, bool):
        raise ControlError(f"{what}: expected a number from {low:g} to {high:g}, got {text!r}")
    if isinstance(text, (int, float)):
        value = float(text)
    else:
        raw = "" if text is None else str(text).strip().replace(",", ".")
        try:
            value = float(raw)
        except ValueError:
            raise ControlError(
                f"{what}: expected a number from {low:g} to {high:g}, got {raw!r}"
            ) from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ControlError(f"{what}: must be from {low:g} to {high:g}, got {value:g}")
    return value


def parse_seed(text: str | int | None) -> int:
    """A seed typed into a control: a whole number from 0 to 2**32 - 1."""
    raw = "" if text is None else str(text).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ControlError(f"seed: expected a whole number from 0, got {raw!r}") from None
    if not 0 <= value < 2**32:
        raise ControlError(f"seed: must be from 0 to {2**32 - 1}, got {value}")
    return value


def scaled_costs(costs: CostSpec, factor: float) -> CostSpec:
    """The scenario's costs of meetings, alignment and market research times ``factor``."""
    return CostSpec(
        coordination={mode: cost * factor for mode, cost in costs.coordination.items()},
        alignment=costs.alignment * factor,
        sensing=costs.sensing * factor,
    )


def debrief_changes(
    plan: Sequence[Intervention],
    names: Sequence[str],
    settings: Sequence[StrategySpec],
    costs: CostSpec,
    factor: float,
) -> list[Change]:
    """The teacher's live changes as changes the experiment makes in every market (each
    acting from the period after it was made), with the costs in force at each."""
    out: list[Change] = []
    for change in sorted(plan, key=lambda c: c.period):
        at = change.period + 1
        if change.kind == "shift":
            out.append(Change(period=at, shift_to=change.regime, label=change.label))
        elif change.kind == "costs":
            factor = change.cost_factor
            out.append(Change(period=at, costs=scaled_costs(costs, factor)))
        elif change.strategy is not None:
            out.append(
                Change(
                    period=at,
                    firm=names[change.firm],
                    strategy=change.strategy,
                    costs=scaled_costs(costs, factor),
                    label=change.label,
                )
            )
    return out


def plain(name: str) -> str:
    """An identifier in plain words: `gluten_free_line` -> `gluten free line`."""
    return str(name).replace("_", " ")


# ---- the record of what the teacher did ----

_WORDS = {
    "alpha": "alignment",
    "sensing": "sensing",
    "coordination": "coordination",
    "communication": "communication",
}


def setting_words(key: str, *, short: bool = False) -> str:
    """A live change's setting in words: "alignment", "α", "alignment of shop" for a
    department's coupling (``alpha.shop``), "α shop" when ``short``."""
    field, _, department = key.partition(".")
    if field == "alpha":
        if department:
            return f"α {plain(department)}" if short else f"alignment of {plain(department)}"
        return "α" if short else "alignment"
    return _WORDS.get(field, plain(field))


def change_words(changes: Iterable[tuple[str, float | str]], *, short: bool = False) -> str:
    """(setting, value) pairs in words: "alignment 0.7, sensing 0.3"."""
    return ", ".join(
        f"{setting_words(k, short=short)} {v:g}"
        if isinstance(v, float)
        else f"{setting_words(k, short=short)} {v}"
        for k, v in changes
    )


InterventionKind = Literal["strategy", "costs", "shift"]


@dataclass(frozen=True)
class Intervention:
    """A live change made after period ``period``; it takes effect at period ``period + 1``."""

    period: int
    kind: InterventionKind
    label: str
    firm: int = -1
    strategy: StrategySpec | None = None
    cost_factor: float = 1.0
    regime: str = ""
    #: what a strategy change changed, in the controls' terms: (field, value) pairs
    changes: tuple[tuple[str, float | str], ...] = ()

    @property
    def effective(self) -> int:
        """The first period played with the change."""
        return self.period + 1


@dataclass
class FirmView:
    """What the page shows of one firm this period."""

    index: int
    label: str
    strategy_name: str
    alive: bool
    efficiency: float
    market_value: float
    profit: float
    cash: float
    miles: int
    distance_to_port: int
    cost: float
    #: the departments' mean strategic understanding and engagement, where the scenario has
    #: ``[firm.understanding]`` / ``[firm.engagement]`` (None where it has not)
    understanding: float | None = None
    engagement: float | None = None
    #: with ``[resources]``: each department's share of the budget now, and the share of the
    #: periods so far (from period 1) in which the budget bound (None without)
    shares: dict[str, float] | None = None
    budget_binds: float | None = None
    #: with ``[purpose]``: this period's impact and the levy paid (None without)
    impact: float | None = None
    levy: float | None = None


# ---- the session ----


class TwinFirms:
    """Two firms in one market, on one seed, stepping together; live changes and their record.

    The seed defaults to the scenario's ``classroom_seed`` (its opening market).
    ``strategies`` name the firms' starting strategies (from the scenario's, built-ins
    included); ``settings`` may replace their specs (the controls' values at a reset).
    Changes made now take effect at the next period, through `Firm.set_strategy`.
    All public methods are thread-safe (the page's play loop and its buttons share a session).
    """

    def __repr__(self) -> str:
        return (
            f"TwinFirms({self.scenario.name!r}, seed {self.seed}: "
            f"{' vs '.join(self.strategy_names)}, period {self.market.period})"
        )

    def __init__(
        self,
        scenario: Scenario,
        *,
        strategies: Sequence[str] = DEFAULT_TWINS,
        seed: int | None = None,
        cost_factor: float = 1.0,
        settings: Sequence[StrategySpec] | None = None,
        baseline: bool = True,
    ) -> None:
        if len(strategies) != 2:
            raise ControlError(f"twin firms need exactly two strategies, got {len(strategies)}")
        for name in strategies:
            if name not in scenario.all_strategies:
                raise ControlError(
                    f"unknown strategy {name!r}; allowed: {', '.join(scenario.all_strategies)}"
                )
        self.lock = threading.RLock()
        self.scenario = scenario
        self.seed = int(scenario.classroom_seed if seed is None else seed)
        self.strategy_names: tuple[str, str] = (strategies[0], strategies[1])
        specs = (
            tuple(settings)
            if settings is not None
            else tuple(scenario.all_strategies[n] for n in strategies)
        )
        self.initial_settings: tuple[StrategySpec, ...] = specs
        self.initial_cost_factor = float(cost_factor)
        self.cost_factor = float(cost_factor)
        self.market = Market(
            scenario=scenario, strategies=list(zip(strategies, specs, strict=True)), rng=self.seed
        )
        self.costs = scaled_costs(scenario.costs, self.cost_factor)
        for firm, spec in zip(self.market.firms, specs, strict=True):
            firm.set_strategy(spec, costs=self.costs)
        self.interventions: list[Intervention] = []
        #: the same market without any of the class's changes (strategy, costs, shifts): the
        #: run as the scenario would have gone (common random numbers), made at the first
        #: change, replayed from period 0 and stepped in lockstep; None until then
        self.baseline: TwinFirms | None = None
        self._keep_baseline = baseline
        self.labels = firm_labels(self.strategy_names)
        self.department_links = department_interdependence(self.market.interactions)
        size = scenario.horizon + 1
        self._settings_log = {
            key: np.full((2, size), np.nan) for key in ("alpha", "sensing", "coordination_cost")
        }
        self._mode_log = np.full((2, size), "", dtype=object)
        self._log_settings(0)

    # ---- reading ----
    @property
    def period(self) -> int:
        """The current period (0 before the first step)."""
        return self.market.period

    @property
    def horizon(self) -> int:
        """The last period of the scenario."""
        return self.scenario.horizon

    @property
    def finished(self) -> bool:
        """True once the horizon is reached (a reset starts over)."""
        return self.period >= self.horizon

    @property
    def firms(self) -> list[Firm]:
        """The two firms, in the order of ``strategy_names``."""
        return self.market.firms

    def settings(self, index: int) -> StrategySpec:
        """The strategy settings firm ``index`` follows now (live changes included)."""
        return self.firms[index].strategy

    def firm_view(self, index: int) -> FirmView:
        """Firm ``index``'s numbers this period."""
        with self.lock:
            firm = self.firms[index]
            t = self.period
            log = firm.log
            return FirmView(
                index=index,
                label=self.labels[index],
                strategy_name=self.strategy_names[index],
                alive=firm.alive,
                efficiency=float(log.floats["efficiency"][t]),
                market_value=float(log.floats["market_value"][t]),
                profit=float(log.floats["profit"][t]),
                cash=float(log.floats["cash"][t]),
                miles=int(log.ints["miles"][: t + 1].sum()),
                distance_to_port=int(log.ints["distance_to_port"][t]),
                cost=float(firm.coordination_cost),
                understanding=self.people(index, "understanding"),
                engagement=self.people(index, "engagement"),
                **self.resources_and_purpose(index),
            )

    def resources_and_purpose(self, index: int) -> dict[str, Any]:
        """Firm ``index``'s budget split and how often it bound (``[resources]``), its impact
        and levy (``[purpose]``) this period: `FirmView`'s fields, empty where off."""
        firm, t = self.firms[index], self.period
        h, row = firm.engine.history, firm.row
        out: dict[str, Any] = {}
        if self.scenario.resources is not None and h.shares is not None:
            names = [d.name for d in self.scenario.departments]
            out["shares"] = {n: float(h.shares[t, row, d]) for d, n in enumerate(names)}
            binds = h.budget_binds[1 : t + 1, row]
            out["budget_binds"] = float(np.mean(binds)) if binds.size else 0.0
        if self.scenario.purpose is not None and getattr(h, "impact", None) is not None:
            out["impact"] = float(h.impact[t, row])
            out["levy"] = float(h.levy[t, row])
        return out

    def people(self, index: int, part: str) -> float | None:
        """Firm ``index``'s departments' mean ``understanding`` or ``engagement`` now; None if
        the scenario has no such mechanism (``[firm.understanding]``, ``[firm.engagement]``)."""
        if getattr(self.scenario.firm, part) is None:
            return None
        return float(np.mean([getattr(d, part) for d in self.firms[index].departments]))

    def shifts(self) -> list[tuple[int, str]]:
        """(period, label) of every market shift so far."""
        labels = self.market.shift_labels[: self.period + 1]
        return [(t, label) for t, label in enumerate(labels) if label]

    def scheduled_shifts(self) -> list[tuple[int, str]]:
        """(period, label) of the shifts still to come (the scenario's and the teacher's)."""
        return sorted(
            (e.time, e.label)
            for e in self.market.environment.schedule
            if e.time > self.period and e.time <= self.horizon
        )

    def changed_decisions(self, index: int, t: int | None = None) -> set[int]:
        """Decisions firm ``index`` changed in period ``t`` (default: now), as bit positions."""
        t = self.period if t is None else t
        if t <= 0:
            return set()
        configs = self.firms[index].log.ints["config"]
        diff = int(configs[t]) ^ int(configs[t - 1])
        return {i for i in range(self.market.n_decisions) if diff >> i & 1}

    def decision_values(self, index: int) -> list[int]:
        """Firm ``index``'s current value (0/1) of every decision, in bit order."""
        config = self.firms[index].config
        return [config >> i & 1 for i in range(self.market.n_decisions)]

    def wanted_values(self) -> dict[int, int]:
        """What customers want now: decision -> wanted value, by the heaviest current regime."""
        weights = self.market.environment.regime_weights
        regime = max(weights, key=weights.get)
        spec = next(r for r in self.scenario.market.regimes if r.name == regime)
        index = self.scenario.decision_index
        return {index[p.decision]: p.value for p in spec.preferences}

    # ---- changing ----
    def step(self) -> bool:
        """One period for both firms; False (and nothing happens) once the horizon is reached."""
        with self.lock:
            if self.finished:
                return False
            self.market.step()
            self._log_settings(self.period)
            if self.baseline is not None:
                self.baseline.step()
            return True

    def change_firm(
        self,
        index: int,
        *,
        alpha: float | str | None = None,
        coordination: str | None = None,
        sensing: float | str | None = None,
        communication: float | str | None = None,
        **departments: float | str,
    ) -> StrategySpec:
        """Change firm ``index``'s alignment, coordination mode, sensing or communication from
        the next period; ``departments`` set one department's alignment, by keys
        ``alpha.<department>`` (``change_firm(0, **{"alpha.shop": 0.8})``).

        Raises `ControlError` for a value out of range (nothing changes then).
        """
        if index not in (0, 1):
            raise ControlError(f"firm must be 0 or 1, got {index!r}")
        changes: dict[str, object] = {}
        words = []
        if alpha is not None:
            changes["alpha"] = parse_number(alpha, what="alignment coupling", low=0.0, high=1.0)
            words.append(f"alignment {changes['alpha']:g}")
        if coordination is not None:
            changes["coordination"] = parse_mode(coordination, what="coordination mode")
            words.append(f"coordination {coordination}")
        if sensing is not None:
            changes["sensing"] = parse_number(sensing, what="sensing", low=0.0, high=1.0)
            words.append(f"sensing {changes['sensing']:g}")
        if communication is not None:
            changes["communication"] = parse_number(
                communication, what="communication", low=0.0, high=1.0
            )
            words.append(f"communication {changes['communication']:g}")
        names = [d.name for d in self.scenario.departments]
        for key, value in departments.items():
            field, _, department = key.partition(".")
            if field != "alpha" or department not in names:
                raise ControlError(
                    f"unknown setting {key!r}; allowed: alpha, sensing, coordination, "
                    f"communication, or alpha.<department> ({', '.join(names)})"
                )
            changes[key] = parse_number(
                value, what=f"alignment coupling of {plain(department)}", low=0.0, high=1.0
            )
            words.append(f"{setting_words(key)} {changes[key]:g}")
        with self.lock:
            firm = self.firms[index]
            update = {k: v for k, v in changes.items() if "." not in k}
            if len(update) < len(changes):  # one department's coupling: alpha per department
                alphas = dict(zip(names, self.scenario.alpha_of(firm.strategy), strict=True))
                if "alpha" in update:
                    alphas = dict.fromkeys(names, update["alpha"])
                for key, value in changes.items():
                    if "." in key:
                        alphas[key.partition(".")[2]] = value
                update["alpha"] = alphas
            try:
                spec = StrategySpec.model_validate({**firm.strategy.model_dump(), **update})
            except ValidationError as exc:  # pragma: no cover - ranges are checked above
                raise ControlError(exc.errors()[0]["msg"]) from None
            if not changes:
                return spec
            self._start_baseline()
            firm.set_strategy(spec, costs=self.costs)
            self._record(
                Intervention(
                    self.period,
                    "strategy",
                    f"{self.labels[index]}: {', '.join(words)}",
                    firm=index,
                    strategy=spec,
                    changes=tuple(changes.items()),
                )
            )
            return spec

    def change_cost_factor(self, factor: float | str) -> CostSpec:
        """Scale the scenario's coordination costs (meetings, alignment, market research)."""
        value = parse_number(factor, what="coordination cost", low=0.0, high=MAX_COST_FACTOR)
        with self.lock:
            self._start_baseline()
            self.cost_factor = value
            self.costs = scaled_costs(self.scenario.costs, value)
            for firm in self.firms:
                firm.set_strategy(firm.strategy, costs=self.costs)
            self._record(
                Intervention(
                    self.period,
                    "costs",
                    f"coordination costs x{value:g}",
                    cost_factor=value,
                )
            )
            return self.costs

    def shift_now(self) -> str:
        """Customers move to the next regime at the next period; returns what will happen.

        The shift replaces the next scheduled shift to the same regime (customers cannot move
        twice to where they already are); a second click in the same period changes nothing.
        """
        with self.lock:
            if self.finished:
                raise ControlError("the run is over: reset to start again")
            queued = self.queued_shift()
            if queued is not None:
                return queued.label
            self._start_baseline()
            event = self.market.shift_now()  # replaces the next scheduled one to its regime
            self._record(Intervention(self.period, "shift", event.label, regime=event.to))
            return event.label

    def queued_shift(self) -> Intervention | None:
        """The teacher's shift queued for the next period, if any."""
        for change in self.interventions:
            if change.kind == "shift" and change.period == self.period:
                return change
        return None

    def replaced_shifts(self) -> list[tuple[int, str]]:
        """(period, label) of the scheduled shifts the teacher's shifts replaced."""
        return list(self.market.replaced_shifts)

    def _shift_to(self, regime: str) -> None:
        with self.lock:
            self._start_baseline()
            event = self.market.shift_now(regime)
            self._record(Intervention(self.period, "shift", event.label, regime=regime))

    def _start_baseline(self) -> None:
        """The same market without any of the class's changes, played from period 0 to now
        (at the first change only; later changes never reach it)."""
        if self.baseline is not None or not self._keep_baseline:
            return
        twin = TwinFirms(
            self.scenario,
            strategies=self.strategy_names,
            seed=self.seed,
            cost_factor=self.initial_cost_factor,
            settings=self.initial_settings,
            baseline=False,
        )
        twin.replay([], until=self.period)
        self.baseline = twin

    def changed_firms(self) -> set[int]:
        """The firms whose strategy was changed live."""
        return {c.firm for c in self.interventions if c.kind == "strategy"}

    def first_change(self) -> int | None:
        """The first period played with one of the class's changes (None: no change yet)."""
        return min((c.effective for c in self.interventions), default=None)

    def differs_from_baseline(self, index: int, t: int | None = None) -> bool:
        """True if firm ``index`` has, by period ``t`` (default: now), a number on the over-time
        chart that differs from the same firm without the class's changes."""
        if self.baseline is None:
            return False
        t = self.period if t is None else t
        run, base = self.firms[index].log.floats, self.baseline.firms[index].log.floats
        return any(
            not np.array_equal(run[k][: t + 1], base[k][: t + 1], equal_nan=True)
            for k in KPI_COLUMNS
        )

    def label_now(self, index: int, *, short: bool = False) -> str:
        """Firm ``index``'s name with what it now is: "efficiency only, alignment 0.7 from
        period 71" (the latest value of each setting changed live, from when it counts);
        ``short``: "efficiency only, α 0.7 from 71"."""
        latest: dict[str, tuple[float | str, int]] = {}
        for change in self.interventions:
            if change.kind == "strategy" and change.firm == index:
                for key, value in change.changes:
                    if key == "alpha":  # the whole firm's coupling replaces the departments'
                        latest = {k: v for k, v in latest.items() if not k.startswith("alpha.")}
                    latest[key] = (value, change.effective)
        since = "from" if short else "from period"
        parts = [
            f"{change_words([(k, v)], short=short)} {since} {t}" for k, (v, t) in latest.items()
        ]
        return ", ".join([self.labels[index], *parts])

    def restart(
        self,
        *,
        seed: int | None = None,
        strategies: Sequence[str] | None = None,
        settings: Sequence[StrategySpec] | None = None,
    ) -> TwinFirms:
        """A new session starting over at period 0: same scenario, current settings by default."""
        with self.lock:
            names = tuple(strategies) if strategies is not None else self.strategy_names
            if settings is None:
                settings = (
                    [self.settings(i) for i in range(2)]
                    if tuple(names) == self.strategy_names
                    else [self.scenario.all_strategies[n] for n in names]
                )
            return TwinFirms(
                self.scenario,
                strategies=names,
                seed=self.seed if seed is None else seed,
                cost_factor=self.cost_factor,
                settings=settings,
            )

    def _record(self, intervention: Intervention) -> None:
        """Keep ``intervention``; one of the same kind (and firm) in the same period merges
        into it (a slider dragged through many values counts once, with its last value)."""
        last = self.interventions[-1] if self.interventions else None
        if (
            last is not None
            and intervention.kind in ("strategy", "costs")
            and (last.kind, last.firm, last.period)
            == (intervention.kind, intervention.firm, intervention.period)
        ):
            earlier = dict(last.changes)
            if "alpha" in dict(intervention.changes):  # the whole firm's coupling: it replaces
                earlier = {k: v for k, v in earlier.items() if not k.startswith("alpha.")}
            merged = earlier | dict(intervention.changes)
            words = change_words(merged.items())
            label = (
                f"{self.labels[intervention.firm]}: {words}"
                if intervention.kind == "strategy"
                else intervention.label
            )
            self.interventions[-1] = replace(
                intervention, changes=tuple(merged.items()), label=label
            )
            return
        self.interventions.append(intervention)

    def _log_settings(self, t: int) -> None:
        """The settings each firm followed in period ``t`` (for the exported data)."""
        for i, firm in enumerate(self.firms):
            self._settings_log["alpha"][i, t] = float(np.mean([d.alpha for d in firm.departments]))
            self._settings_log["sensing"][i, t] = mean_level(firm.strategy.sensing)
            self._settings_log["coordination_cost"][i, t] = firm.coordination_cost
            self._mode_log[i, t] = firm.strategy.coordination

    # ---- exporting ----
    def periods_table(self) -> pd.DataFrame:
        """One row per firm per period so far: the firm's log, its settings, market shifts and
        one 0/1 column per decision."""
        with self.lock:
            t = self.period
            names = [d.name for d in self.scenario.departments]
            frames = []
            for i, firm in enumerate(self.firms):
                cols = {k: v[: t + 1] for k, v in firm.log.columns(names).items()}
                # the screen's "miles sailed" is the total so far; the log's is per period
                moved = cols.pop("miles")
                cols["miles_this_period"] = moved
                cols["miles_sailed_so_far"] = np.cumsum(moved)
                frame = pd.DataFrame(
                    {
                        "scenario": self.scenario.name,
                        "seed": self.seed,
                        "firm": self.labels[i],
                        "strategy": self.strategy_names[i],
                        **cols,
                        "alpha": self._settings_log["alpha"][i, : t + 1],
                        "coordination": self._mode_log[i, : t + 1],
                        "sensing": self._settings_log["sensing"][i, : t + 1],
                        "coordination_cost": self._settings_log["coordination_cost"][i, : t + 1],
                        "market_shift": self.market.shift_labels[: t + 1],
                    }
                )
                frames.append(decision_columns(frame, self.scenario))
            return pd.concat(frames, ignore_index=True)

    def to_csv(self) -> bytes:
        """The run's data so far as CSV (UTF-8). Every column is this period's value, except
        those named ``..._so_far`` (totals since period 0) and ``cash`` (the balance)."""
        buffer = io.StringIO()
        self.periods_table().to_csv(buffer, index=False, float_format="%.6g")
        return buffer.getvalue().encode("utf-8")

    # ---- the debrief ----
    def debrief(
        self,
        seeds: int | Iterable[int] = DEBRIEF_SEEDS,
        progress: Callable[[int], None] | None = None,
    ) -> Debrief:
        """The same setting on many seeds: the run's start, and every live change at its period.

        Each seed is a new market with the twin firms starting as this run started; the
        teacher's changes and shifts are replayed after the same periods, to the horizon.
        """
        with self.lock:
            plan = list(self.interventions)
            names = self.strategy_names
            settings = self.initial_settings
            factor = self.initial_cost_factor
        seed_list = list(range(seeds)) if isinstance(seeds, int) else [int(s) for s in seeds]
        # every seed x both firms at once, through the one experiment path
        runs_done = 0

        def advance(done: int) -> None:
            nonlocal runs_done
            runs_done += done
            if progress is not None:
                progress(runs_done // len(names))

        result = run_experiment(
            self._debrief_scenario(settings, factor),
            strategies=list(names),
            seeds=seed_list,
            changes=debrief_changes(plan, names, settings, self.scenario.costs, factor),
            progress=advance,
        )
        periods = result.periods.sort_values(["strategy", "seed", "period"], kind="stable")
        size = self.horizon + 1

        def block(name: str, column: str) -> np.ndarray:
            values = periods.loc[periods["strategy"] == name, column].to_numpy(dtype=float)
            return values.reshape(len(seed_list), size)

        data = {}
        for c in (*KPI_COLUMNS, "distance_to_port", "alive", "in_cycle"):
            data[c] = np.stack([block(name, c) for name in names])
        data["miles"] = np.cumsum(np.stack([block(name, "miles") for name in names]), axis=2)
        shifted = periods.loc[periods["market_shift"].astype(str) != "", "period"]
        shift_periods = {int(p) for p in shifted}
        return Debrief(
            scenario=self.scenario,
            labels=self.labels,
            strategy_names=names,
            seeds=tuple(seed_list),
            data=data,
            shift_periods=tuple(sorted(shift_periods)),
            split=self._split(plan),
            interventions=tuple(plan),
        )

    def _debrief_scenario(self, settings: Sequence[StrategySpec], factor: float) -> Scenario:
        """The scenario with the twins' starting settings as its strategies and its costs
        scaled as the run started."""
        data = scenario_to_dict(self.scenario)
        data["strategies"] = {
            name: spec.model_dump(mode="json")
            for name, spec in zip(self.strategy_names, settings, strict=True)
        }
        data["costs"] = scaled_costs(self.scenario.costs, factor).model_dump(mode="json")
        return validate_scenario(data, source=f"{self.scenario.name} (the class's settings)")

    def replay(self, plan: Sequence[Intervention], *, until: int | None = None) -> TwinFirms:
        """Run to period ``until`` (default: the horizon), making each change of ``plan``
        after its period (changes made after ``until`` itself are made too)."""
        end = self.horizon if until is None else min(int(until), self.horizon)
        pending = sorted(plan, key=lambda p: p.period)
        position = 0
        while True:
            while position < len(pending) and pending[position].period <= self.period:
                self._apply(pending[position])
                position += 1
            if self.period >= end or not self.step():
                return self

    def _apply(self, change: Intervention) -> None:
        if change.kind == "shift":
            self._shift_to(change.regime)
        elif change.kind == "costs":
            self.change_cost_factor(change.cost_factor)
        elif change.changes:
            self.change_firm(change.firm, **dict(change.changes))  # type: ignore[arg-type]
        elif change.strategy is not None:
            self._start_baseline()
            self.firms[change.firm].set_strategy(change.strategy, costs=self.costs)
            self._record(replace(change, period=self.period))

    def _split(self, plan: Sequence[Intervention]) -> int:
        """The period from which "after the shift" counts: the first shift of this run."""
        happened = [t for t, _ in self.shifts()]
        taught = [p.period + 1 for p in plan if p.kind == "shift"]
        scheduled = list(self.scenario.shift_times)
        candidates = happened + taught + scheduled
        return min(candidates) if candidates else self.scenario.split


def firm_labels(strategies: Sequence[str]) -> tuple[str, str]:
    """Names of the twin firms for people: the strategies in plain words, told apart if equal."""
    a, b = (plain(s) for s in strategies)
    if a == b:
        return f"{a} (1)", f"{b} (2)"
    return a, b


@dataclass
class Debrief:
    """The same setting on many seeds: per firm, per seed, per period KPIs."""

    scenario: Scenario
    labels: tuple[str, str]
    strategy_names: tuple[str, str]
    seeds: tuple[int, ...]
    data: dict[str, np.ndarray]  # column -> (firm, seed, period)
    shift_periods: tuple[int, ...]
    split: int
    interventions: tuple[Intervention, ...] = field(default=())

    def profit_after(self) -> np.ndarray:
        """Mean profit per firm per seed from the split on, shape (2, seeds)."""
        return np.nanmean(self.data["profit"][:, :, self.split :], axis=2)

    def survived(self) -> np.ndarray:
        """Whether each firm's cash stayed non-negative, shape (2, seeds)."""
        cash = self.data["cash"]
        return ~np.any(cash < 0, axis=2)

    def miles(self) -> np.ndarray:
        """Miles sailed over the whole run per firm per seed, shape (2, seeds)."""
        return self.data["miles"][:, :, -1]

    def cycled(self) -> np.ndarray:
        """Whether each firm was sailing in circles at the end (a cycle move within the
        scenario's ``cycle_window`` last periods), shape (2, seeds)."""
        window = self.scenario.metrics.cycle_window
        return np.nansum(self.data["in_cycle"][:, :, -window:], axis=2) > 0

    def summary(self, seed: int | None = None) -> list[tuple[str, tuple[str, str]]]:
        """Rows for the class: profit after the split, survival, miles sailed and cycling per
        firm over all markets, and in market ``seed`` (the class's) if it is one of them."""
        n = len(self.seeds)
        profit, alive = self.profit_after(), self.survived()
        miles, cycled = self.miles(), self.cycled()
        rows: list[tuple[str, tuple[str, str]]] = [
            (
                f"profit after period {self.split}, mean of {n}",
                tuple(f"{v:.1f}" for v in profit.mean(axis=1)),
            ),
            (f"still in business, of {n}", tuple(str(int(v)) for v in alive.sum(axis=1))),
            (f"miles sailed, median of {n}", tuple(f"{v:.0f}" for v in np.median(miles, axis=1))),
            (
                f"sailing in circles at the end, of {n}",
                tuple(str(int(v)) for v in cycled.sum(axis=1)),
            ),
        ]
        if seed is not None and seed in self.seeds:
            k = self.seeds.index(seed)
            gap = profit[1] - profit[0]
            rank = int((gap < gap[k]).sum()) + 1
            rows += [
                (
                    f"your market ({seed}): profit after period {self.split}",
                    tuple(f"{v:.1f}" for v in profit[:, k]),
                ),
                (f"your market ({seed}): miles sailed", tuple(f"{v:.0f}" for v in miles[:, k])),
                (
                    f"your market ({seed}): sailing in circles at the end",
                    tuple("yes" if v else "no" for v in cycled[:, k]),
                ),
                (
                    f"your market's profit gap ({self.labels[1]} minus {self.labels[0]})",
                    (f"{gap[k]:.1f}", f"{rank} of {n} from the smallest"),
                ),
            ]
        return rows

    def verdict(self) -> str:
        """One sentence for the class: in how many markets the second firm earned more."""
        after = self.profit_after()
        wins = int(np.sum(after[1] > after[0]))
        n = after.shape[1]
        survived = self.survived().sum(axis=1)
        return (
            f"After period {self.split}, the {self.labels[1]} firm earned more than the "
            f"{self.labels[0]} firm in {wins} of {n} markets. Still in business at the end: "
            f"{self.labels[0]} {survived[0]} of {n}, {self.labels[1]} {survived[1]} of {n}."
        )
