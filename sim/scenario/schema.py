"""The scenario schema: every parameter, its default, its allowed values and what it means.

This module does no I/O; `sim.scenario.load` reads TOML files into these models. Field
descriptions are the reference documentation (docs/scenarios.md and docs/ODD.md list them).
"""

from __future__ import annotations

from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from sim.limits import (
    MAX_BURN_IN,
    MAX_CHECK_DEPTH,
    MAX_CHECK_LENGTH,
    MAX_DECISIONS,
    MAX_MONEY,
    MAX_SEEDS,
    MAX_WEIGHT,
)
from sim.scenario.errors import UnknownStrategy

CoordinationMode = Literal["decentralized", "sequential", "hierarchical"]
COORDINATION_MODES: tuple[str, ...] = ("decentralized", "sequential", "hierarchical")
SearchRule = Literal["best", "first"]
SequentialOrder = Literal["random", "fixed"]


class FieldError(Exception):
    """A cross-field check failed: ``field`` is the dotted path, ``message`` what is allowed."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Spec(BaseModel):
    """Base for all scenario sections: unknown fields are errors, values are immutable, types
    are strict (true and "0.5" are not numbers) and numbers finite."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected 0 or 1, got {str(value).lower()}")
    return value


#: A wanted or fixed decision value: 0 or 1 (true and false are not accepted for them).
Bit = Annotated[Literal[0, 1], BeforeValidator(_not_bool)]


class DepartmentSpec(Spec):
    """A department: its name and the binary decisions it owns (`[[departments]]`)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Identifier of the department.")
    label: str = Field("", description="Name shown to people (defaults to the identifier).")
    decisions: list[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]] = Field(
        min_length=1, description="Identifiers of the binary decisions this department owns."
    )


class EfficiencySpec(Spec):
    """How efficiency is built: the NK interaction structure within and across departments
    (`[efficiency]`).
    """

    structure: Literal["modular", "nearly_decomposable", "value_chain", "random", "next_k"] = Field(
        "nearly_decomposable",
        description="Pattern of the interaction structure behind the efficiency landscape.",
    )
    k_within: int = Field(
        2,
        ge=0,
        description="Dependencies of each decision on others of its own department (capped at "
        "the department's size - 1).",
    )
    cross: int = Field(
        1,
        ge=0,
        description="Interdependence C: dependencies of each decision on other departments' "
        "decisions (nearly_decomposable: any other department; value_chain: the preceding one; "
        "capped at the number of such decisions).",
    )
    k: int = Field(
        2,
        ge=0,
        description="Dependencies per decision for `random` and `next_k` (at most N-1; the "
        "default is capped at N-1).",
    )


class PreferenceSpec(Spec):
    """One customer preference: a decision, the value customers want and its weight."""

    decision: str = Field(description="A decision customers care about in this regime.")
    value: Bit = Field(description="The value customers want (1 = do it, 0 = don't).")
    weight: float = Field(
        1.0, gt=0, le=MAX_WEIGHT, description="Importance relative to other preferences."
    )


class RegimeSpec(Spec):
    """A preference regime: what customers value for a while (`[[market.regimes]]`)."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Identifier of the regime.")
    description: str = Field("", description="What customers want, in plain words.")
    preferences: list[PreferenceSpec] = Field(
        min_length=1, description="Wanted decision values and their weights."
    )


class AbruptShift(Spec):
    """Customers move to another regime at one period."""

    kind: Literal["abrupt"] = "abrupt"
    at: int = Field(ge=1, description="Period at which customers switch to regime `to`.")
    to: str = Field(description="Regime customers move to.")


class GradualShift(Spec):
    """Customers move to another regime over several periods."""

    kind: Literal["gradual"] = "gradual"
    at: int = Field(ge=1, description="First period of the shift.")
    to: str = Field(description="Regime customers move to.")
    duration: int = Field(
        20, ge=1, description="Periods over which preferences blend (logistic) into `to`."
    )


class RedrawShift(Spec):
    """Part of the market's rugged landscape is redrawn (decisions named, or a count drawn)."""

    kind: Literal["redraw"] = "redraw"
    at: int = Field(ge=1, description="Period at which the rugged market tables are redrawn.")
    decisions: list[str] = Field(
        default_factory=list, description="Decisions whose tables are redrawn (names)."
    )
    count: int = Field(
        1, ge=1, description="If `decisions` is empty: how many decisions, drawn at random."
    )


class TurbulenceShift(Spec):
    """Recurring shifts: each period from `start` on, a shift with the given probability."""

    kind: Literal["turbulence"] = "turbulence"
    probability: float = Field(
        ge=0, le=1, description="Chance per period that a shift happens (recurring turbulence)."
    )
    start: int = Field(1, ge=1, description="First period turbulence can strike.")
    end: int | None = Field(None, ge=1, description="Last period (default: the horizon).")
    change: Literal["regime", "redraw"] = Field(
        "regime",
        description="What a shift does: move customers to another regime at random, or redraw "
        "`count` rugged tables.",
    )
    count: int = Field(1, ge=1, description="Tables redrawn per shift when change = 'redraw'.")
    to: str | None = Field(
        None,
        description="change = 'regime': every shift moves customers to this regime (none while "
        "they are there). Default: another regime at random.",
    )
    targets: dict[str, Annotated[float, Field(gt=0, le=MAX_WEIGHT)]] | None = Field(
        None,
        description="change = 'regime': the regime moved to is drawn among these (other than "
        "the current one) in proportion to their weights.",
    )
    transitions: dict[str, dict[str, Annotated[float, Field(ge=0, le=MAX_WEIGHT)]]] | None = Field(
        None,
        description="change = 'regime': from the current regime (a key), the next is drawn "
        "with these weights (a weight on the current regime: that share of shifts goes "
        "nowhere); a regime without weights (no key, or an empty table) is absorbing: no shift "
        "leaves it.",
    )


Shift = Annotated[
    AbruptShift | GradualShift | RedrawShift | TurbulenceShift, Field(discriminator="kind")
]


class MarketSpec(Spec):
    """Customers: preference regimes, the rugged part of market value and the shifts
    (`[market]`).
    """

    rho: float = Field(
        0.2, ge=0, le=1, description="Ruggedness weight: share of market value from NK tables."
    )
    k: int = Field(
        2, ge=0, description="K of the rugged market tables (at most N-1; the default is capped)."
    )
    structure: Literal["random", "next_k"] = Field(
        "random", description="Interaction structure of the rugged market tables."
    )
    initial_regime: str = Field("", description="Regime at period 0 (default: the first).")
    regimes: list[RegimeSpec] = Field(min_length=1, description="Customers' preference regimes.")
    shifts: list[Shift] = Field(default_factory=list, description="The market shift schedule.")

    @model_validator(mode="before")
    @classmethod
    def _abrupt_by_default(cls, data: Any) -> Any:
        """A shift without `kind` is abrupt (the documented default)."""
        if isinstance(data, dict) and isinstance(data.get("shifts"), list):
            data = {
                **data,
                "shifts": [
                    {"kind": "abrupt", **s} if isinstance(s, dict) and "kind" not in s else s
                    for s in data["shifts"]
                ],
            }
        return data


class LearningSpec(Spec):
    """Learning by doing: how experience raises a department's efficiency (`[firm.learning]`)."""

    gain: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="Learning by doing: largest efficiency gain from experience, as a share of "
        "the gap to 1 (0 switches learning off).",
    )
    tau: float = Field(10.0, gt=0, description="Periods of experience to reach 63% of the gain.")
    reset: float = Field(
        0.5, ge=0, le=1, description="Share of experience a department loses when it changes."
    )
    initial_experience: float = Field(
        0.0, ge=0, description="Periods of experience each department has at period 0."
    )


Share = Annotated[float, Field(ge=0, le=1)]


def _in_unit_interval(value: float | dict[str, float]) -> float | dict[str, float]:
    if isinstance(value, float) and not 0 <= value <= 1:
        raise ValueError(f"must be in [0, 1], got {value}")
    return value


#: a number in [0, 1], or a table of department = number in [0, 1]
ShareOrTable = Annotated[float | dict[str, Share], AfterValidator(_in_unit_interval)]


def mean_level(value: float | dict[str, float]) -> float:
    """A `ShareOrTable` setting as one number: a number as it is, a table by department as the
    plain mean of its values (a firm-wide summary, and what a per-department rate costs)."""
    return float(sum(value.values()) / len(value)) if isinstance(value, dict) else value


class UnderstandingSpec(Spec):
    """Strategic understanding (`[firm.understanding]`; absent = off: everybody understands).

    The coupling that acts in a department is alpha x its understanding; communication (a
    strategy's `communication`) raises understanding at a cost per period (`costs.communication`).
    """

    initial: ShareOrTable = Field(
        0.4,
        description="Share of each department's staff that understands the strategy at period 0: a "
        "number in [0, 1] or a table per department.",
    )
    forgetting: float = Field(
        0.0, ge=0, le=1, description="Share of understanding lost per period (people forget)."
    )


class EngagementSpec(Spec):
    """Engagement of each department's staff (`[firm.engagement]`; absent = off: fully engaged).

    Engagement falls when a department's decisions change without a purpose its staff
    understand, rises with shared purpose and stability, scales how many alternatives the
    department examines per period and drives turnover, which erodes experience.
    """

    initial: ShareOrTable = Field(
        1.0,
        description="Engagement at period 0: a number in [0, 1] or a table per department.",
    )
    erosion: ShareOrTable = Field(
        0.2,
        description="Share of engagement lost in a period when the department's decisions change "
        "with no purpose its staff understand (less in proportion to alpha x understanding): a "
        "number in [0, 1] or a table per department.",
    )
    recovery: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Share of the gap to full engagement regained per period with full purpose "
        "and stability (half of it each).",
    )
    turnover: ShareOrTable = Field(
        0.0,
        description="Share of staff leaving per period at zero engagement (in proportion to "
        "1 - engagement); leavers take their experience and understanding with them. A number "
        "in [0, 1] or a table per department.",
    )
    drives_search: bool = Field(
        True,
        description="Engagement scales the alternatives a department examines per period "
        "(rounded half up, at least one).",
    )


class FirmSpec(Spec):
    """The firm at the start and its economics: cash, break-even, initial decisions (`[firm]`)."""

    beta: float = Field(
        0.6,
        ge=0,
        le=1,
        description="Weight of market value in performance: P = beta*V + (1-beta)*E.",
    )
    money_scale: float = Field(
        100.0,
        gt=0,
        le=MAX_MONEY,
        description="Money earned per period per unit of performance above break-even.",
    )
    break_even: float = Field(
        0.5, ge=0, le=1, description="Performance at which the firm's operating profit is zero."
    )
    initial_cash: float = Field(
        100.0, ge=0, le=MAX_MONEY, description="Cash at period 0 (money units)."
    )
    initial_decisions: dict[str, Bit] = Field(
        default_factory=dict,
        description="Decisions fixed at period 0; the others are set by `start` (the same for "
        "every strategy on a seed).",
    )
    start: Literal["random", "efficient", "fitted"] = Field(
        "random",
        description="How the decisions not fixed by initial_decisions are set at period 0: "
        "random; efficient = the most efficient such configuration; fitted = the best for "
        "performance in the initial market. Either way the same for every strategy on a seed.",
    )
    burn_in: int = Field(
        0,
        ge=0,
        le=MAX_BURN_IN,
        description="Periods each firm runs in the initial market under its own strategy before "
        "period 0, from the `start` configuration (0: none). It keeps what they made of it "
        "(configuration, experience, people, beliefs) and starts period 0 with initial_cash: "
        "with start = 'random', a start that favours no strategy.",
    )
    learning: LearningSpec = Field(default_factory=LearningSpec)
    understanding: UnderstandingSpec | None = Field(
        None, description="Strategic understanding (off when absent)."
    )
    engagement: EngagementSpec | None = Field(None, description="Engagement (off when absent).")


DEFAULT_COORDINATION_COSTS = {"decentralized": 0.0, "sequential": 1.0, "hierarchical": 2.0}


class CostSpec(Spec):
    """What coordination, alignment and sensing cost per period (`[costs]`)."""

    coordination: dict[CoordinationMode, float] = Field(
        default_factory=lambda: dict(DEFAULT_COORDINATION_COSTS),
        description="Cost per period of each coordination mode (meetings, reports); modes left "
        "out keep their defaults (decentralized 0, sequential 1, hierarchical 2).",
    )
    alignment: float = Field(
        4.0,
        ge=0,
        le=MAX_MONEY,
        description="Cost per period at alignment coupling 1 (scales with mean alpha).",
    )
    sensing: float = Field(
        2.0,
        ge=0,
        le=MAX_MONEY,
        description="Cost per period of market intelligence at sensing rate 1 (for a table of "
        "rates by department: at their mean).",
    )
    communication: float = Field(
        2.0,
        ge=0,
        le=MAX_MONEY,
        description="Cost per period of explaining the strategy at communication rate 1.",
    )

    @field_validator("coordination")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for mode, cost in value.items():
            if not 0 <= cost <= MAX_MONEY:
                raise ValueError(f"the cost of {mode} must be from 0 to {MAX_MONEY:g}, got {cost}")
        return value

    @model_validator(mode="after")
    def _complete(self) -> CostSpec:
        missing = {
            m: c for m, c in DEFAULT_COORDINATION_COSTS.items() if m not in self.coordination
        }
        if missing:
            object.__setattr__(self, "coordination", {**missing, **self.coordination})
        return self


class StrategySpec(Spec):
    """A strategy: alignment coupling alpha, coordination mode, sensing and exploration."""

    description: str = Field("", description="What the strategy stands for, in plain words.")
    alpha: ShareOrTable = Field(
        0.0,
        description="Alignment coupling in [0, 1]: 0 = silo optimising own efficiency, 1 = works "
        "only for the firm's perceived performance. A number, or a table per department.",
    )
    coordination: CoordinationMode = Field(
        "decentralized", description="How departments' proposals become the configuration."
    )
    sensing: ShareOrTable = Field(
        0.0,
        description="Sensing rate sigma: share of the gap between belief and true market value "
        "closed per period (0 = never notices a shift). A number (the firm senses as one), or "
        "a table per department: each department then keeps a belief of its own, sensed at its "
        "rate, and the head office's belief is their mean weighted by department size.",
    )
    p_jump: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Chance per department per period of also considering a long jump (a random "
        "reconfiguration of its own decisions), adopted only if it scores best.",
    )
    proposals: int = Field(
        1, ge=1, le=8, description="Proposals per department sent to the head office."
    )
    sequential_order: SequentialOrder = Field(
        "random",
        description="Under sequential coordination, the order in which departments move: "
        "random = drawn anew each period; fixed = always the order of [[departments]].",
    )
    search: SearchRule = Field(
        "best", description="best = best one-bit improvement; first = first in a fixed order."
    )
    alternatives: int = Field(
        0,
        ge=0,
        le=MAX_DECISIONS,
        description="One-bit alternatives each department examines per period, drawn at random "
        "(0 = all of them).",
    )
    communication: ShareOrTable = Field(
        0.0,
        description="Communication rate: share of the gap to full strategic understanding closed "
        "per period (acts only with [firm.understanding]; costs costs.communication x rate, the "
        "mean rate over departments for a table). A number, or a table per department.",
    )
    purpose: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Weight of purpose in what the firm aims for (needs [purpose]): its perceived "
        "performance becomes (1 - w) P_hat + w (1 - i), i the normalised impact in [0, 1].",
    )


#: The built-in strategies differ only in alignment's three ingredients (alpha, coordination,
#: sensing); exploration (p_jump, proposals, search) is the same for all of them.
EXPLORATION: dict[str, Any] = {"p_jump": 0.02, "proposals": 2, "search": "best"}
BUILTIN_STRATEGIES: dict[str, StrategySpec] = {
    "efficiency_only": StrategySpec(
        description="Silos: each department optimises its own efficiency, no market sensing.",
        alpha=0.0,
        coordination="decentralized",
        sensing=0.0,
        **EXPLORATION,
    ),
    "aligned": StrategySpec(
        description="Departments weigh the firm's strategy; a head office picks among proposals.",
        alpha=0.7,
        coordination="hierarchical",
        sensing=0.3,
        **EXPLORATION,
    ),
    "informed_silos": StrategySpec(
        description="Silos that know the market as well as the aligned firm (its sensing) but do "
        "not act on it: the equal-information baseline.",
        alpha=0.0,
        coordination="decentralized",
        sensing=0.3,
        **EXPLORATION,
    ),
}


class MetricsSpec(Spec):
    """How outcomes are measured: windows, cycling and recovery thresholds (`[metrics]`)."""

    window: int = Field(30, ge=1, description="Periods before the split averaged as 'pre-shift'.")
    split: int | None = Field(
        None,
        ge=1,
        description="Period splitting pre- from post-shift (default: the first shift, or half "
        "the horizon in a stable market).",
    )
    heading_window: int = Field(10, ge=1, description="Periods over which the heading index runs.")
    cycle_window: int = Field(
        20,
        ge=1,
        description="A run 'cycled' if the firm is in a limit cycle (a sequence of "
        "configurations repeated twice in a row) at any of its last cycle_window periods.",
    )
    recovery_threshold: float = Field(
        0.95,
        gt=0,
        le=1,
        description="The recovery bar: this share of the best configuration's performance now "
        "(normalised performance, the same bar for every firm). A firm that falls below it "
        "from the split on has recovered when it is back at or above it.",
    )
    port_restarts: int = Field(
        200,
        ge=1,
        le=100_000,
        description="Above 16 decisions, where configurations are not enumerated: the restarts "
        "of local search (first improvement in sweeps) whose best peak estimates the best "
        "configuration (the port, distances to it, normalised performance). Unused at 16 "
        "decisions or fewer "
        "(exact).",
    )


class PopulationSpec(Spec):
    """A population of firms under selection (validation scenarios; `[population]`)."""

    firms: int = Field(
        1,
        ge=1,
        le=100_000,
        description="Firms per strategy in the market. More than 1 makes a population: firms "
        "stepped together (vectorised), without learning by doing, cash or exit.",
    )
    starts: Literal["common", "random"] = Field(
        "common",
        description="common: every firm starts from the starting configuration (`firm.start`); "
        "random: each firm from its own random configuration (the same set for every strategy).",
    )
    selection: Literal["none", "levinthal"] = Field(
        "none",
        description="levinthal: each period a firm survives with probability V/V_max; a vacancy "
        "goes to a random newcomer with probability 1 - mean(V)/V_max, otherwise to a copy of a "
        "survivor chosen with probability proportional to V (Levinthal 1997).",
    )


class NetworkSpec(Spec):
    """Partners among a market's competing firms (`[competition.network]`; absent or kind
    "none" = no links): linked firms share part of their market information (docs/ODD.md,
    section 7.20). Firms are numbered in the order of `firms`, then of `entrants`, from 0."""

    kind: Literal["none", "complete", "ring", "random", "edges"] = Field(
        "none",
        description="none: no links; complete: every firm with every other; ring: each firm "
        "with the one before and after it (firm 0 after the last); random: each pair linked "
        "with chance `density`, drawn per market; edges: the pairs listed in `edges`.",
    )
    density: float = Field(
        0.5,
        ge=0,
        le=1,
        description="For kind random: the chance that a pair of firms is linked.",
    )
    edges: list[Annotated[list[Annotated[int, Field(ge=0)]], Field(min_length=2, max_length=2)]] = (
        Field(
            default_factory=list,
            description="For kind edges: the linked pairs of firms [i, j], by number.",
        )
    )
    information_sharing: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Each period, after its own sensing, a firm's belief moves this share of "
        "the way towards the mean belief of its partners in business (0: links do nothing; "
        "1: it adopts their mean).",
    )


class CompetitionSpec(Spec):
    """Firms competing for one market's customers (`[competition]`; absent = off: every firm
    has the market to itself). Customers choose among the firms by a multinomial logit over
    their market values with an outside option (docs/ODD.md, section 7.18)."""

    firms: dict[str, Annotated[int, Field(ge=1, le=1000)]] = Field(
        min_length=1,
        description="Firms in the market at period 0, per strategy: strategy = count (any mix).",
    )
    sensitivity: float = Field(
        10.0,
        ge=0,
        le=100,
        description="Lambda: how strongly customers prefer the firm of higher market value (0: "
        "they choose at random; large: nearly all go to the best).",
    )
    outside: bool = Field(
        True,
        description="Customers may buy from none of these firms (the outside option, of value "
        "`outside_value`); false: every customer buys from one of them.",
    )
    outside_value: float = Field(
        0.5,
        ge=0,
        le=1,
        description="V_0: the market value of what customers do instead (the supermarket's "
        "bread), on the scale of a firm's market value.",
    )
    market_size: float = Field(
        1.0,
        gt=0,
        le=1000,
        description="Customers in the market, in units of the market one firm has to itself "
        "(a firm with all of them sells as much as the single firm of the same scenario).",
    )
    entrants: dict[str, Annotated[int, Field(ge=0, le=1000)]] = Field(
        default_factory=dict,
        description="Firms that may enter later, per strategy: strategy = at most this many.",
    )
    entry_rate: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Chance per period, for each strategy with entrants still waiting, that "
        "one of them enters.",
    )
    entry_start: Literal["random", "leader"] = Field(
        "random",
        description="Where an entrant starts: random = a random configuration; leader = the "
        "configuration of the firm with the largest market share last period.",
    )
    network: NetworkSpec | None = Field(
        None,
        description="Partners among the firms, who share market information (absent: none).",
    )


#: What a "things to notice" line may claim, per firm and per market (`NoticeSpec.check`):
#: "before" = the metrics window before the split, "after" = from the split to the end,
#: "end" = the last window, "low_after" = the lowest value from the split on.
NOTICE_MEASURES: dict[str, str] = {
    "efficiency_before": "mean efficiency in the window before the split",
    "efficiency_after": "mean efficiency from the split to the end",
    "efficiency_end": "mean efficiency in the last window",
    "efficiency_low_after": "lowest efficiency from the split on",
    "market_value_before": "mean market value in the window before the split",
    "market_value_after": "mean market value from the split to the end",
    "market_value_end": "mean market value in the last window",
    "market_value_low_after": "lowest market value from the split on",
    "profit_before": "mean profit in the window before the split",
    "profit_after": "mean profit from the split to the end",
    "profit_end": "mean profit in the last window",
    "largest_monthly_fall": "the largest fall of profit from one period to the next, from the "
    "split on, as a share of the fall from before the split to the end",
    "distance_before": "mean distance to port in the window before the split",
    "distance_end": "mean distance to port in the last window",
    "miles": "miles sailed over the whole run",
    "cycling": "periods spent going in circles (moves back to a set-up held before)",
    "survived": "1 if the firm never ran out of cash, else 0",
}
_CHECK_NODES = (
    "Expression",
    "Compare",
    "BoolOp",
    "UnaryOp",
    "BinOp",
    "Attribute",
    "Name",
    "Constant",
    "Load",
    "And",
    "Or",
    "Not",
    "USub",
    "Add",
    "Sub",
    "Mult",
    "Div",
    "Lt",
    "LtE",
    "Gt",
    "GtE",
    "Call",
)


class NoticeSpec(Spec):
    """A "things to notice" line and the claim it makes, checkable on the model's runs."""

    text: str = Field(description="The line, for the class.")
    check: str = Field(
        "",
        description="What the line claims, as a comparison of measures, e.g. "
        "'efficiency_only.miles > aligned.miles': FIRM.MEASURE (FIRM a strategy, MEASURE one "
        "of NOTICE_MEASURES), numbers, + - * /, abs(), < <= > >=, and/or/not. It must hold in "
        "the class's market and for the means over the debrief's markets.",
    )

    @field_validator("check")
    @classmethod
    def _parseable(cls, value: str) -> str:
        if value.strip():
            check_names(value)
        return value


def check_names(expression: str) -> list[tuple[str, str]]:
    """The (firm, measure) pairs an expression of `NoticeSpec.check` uses; a ValueError naming
    what is not allowed (a syntax error, another construct, an unknown measure, more than
    `MAX_CHECK_LENGTH` characters or `MAX_CHECK_DEPTH` levels of nesting)."""
    import ast

    if len(expression) > MAX_CHECK_LENGTH:
        raise ValueError(
            f"{len(expression):,} characters; a check is at most {MAX_CHECK_LENGTH:,} (a "
            "comparison of a few measures)"
        )
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not a comparison of measures: {exc.msg}") from None
    except (RecursionError, MemoryError):  # Python's parser gives up on deep nesting
        tree = None
    if tree is None or _depth(tree) > MAX_CHECK_DEPTH:
        raise ValueError(f"nested more than {MAX_CHECK_DEPTH} levels deep, the limit for a check")
    pairs = []
    for node in ast.walk(tree):
        kind = type(node).__name__
        if kind not in _CHECK_NODES:
            raise ValueError(f"{kind} is not allowed in a check")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and node.func.id == "abs"
        ):
            raise ValueError("only abs() may be called in a check")
        if isinstance(node, ast.Attribute):
            if not isinstance(node.value, ast.Name):
                raise ValueError("a measure reads FIRM.MEASURE")
            if node.attr not in NOTICE_MEASURES:
                raise ValueError(
                    f"unknown measure {node.attr!r}; allowed: {', '.join(NOTICE_MEASURES)}"
                )
            pairs.append((node.value.id, node.attr))
    return pairs


def _depth(tree) -> int:
    """How deeply the nodes of a syntax tree nest (counted without recursion)."""
    import ast

    deepest, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


#: A designed effect's change of an efficiency or of market value.
Amount = Annotated[float, Field(ge=-1, le=1)]


def _dotted_keys(value: Any) -> Any:
    """``{ marketing.automated_campaigns = 1 }`` (TOML reads a dotted key as a table in a table)
    as ``{ "marketing.automated_campaigns" = 1 }``."""
    if not isinstance(value, dict):
        return value
    flat: dict[Any, Any] = {}
    for key, inner in value.items():
        pairs = (
            [(f"{key}.{k}", v) for k, v in inner.items()]
            if isinstance(inner, dict)
            else [(key, inner)]
        )
        for name, v in pairs:
            if name in flat:
                raise ValueError(f"{name!r} is given twice")
            flat[name] = v
    return flat


Conditions = Annotated[dict[str, Bit], BeforeValidator(_dotted_keys)]


class EffectSpec(Spec):
    """A designed effect (`[[effects]]`): while the decisions in `when` all have the values
    given (and none in `unless` does), the named departments' efficiencies and the market value
    in the named regimes change by the amounts given, on top of the random landscapes."""

    description: str = Field("", description="What the effect stands for, in plain words.")
    when: Conditions = Field(
        description="Decisions and values (0/1) that must all hold: a decision's name, or "
        "department.decision.",
    )
    unless: Conditions = Field(
        default_factory=dict,
        description="Decisions and values (0/1) any one of which, holding, cancels the effect.",
    )
    efficiency: dict[str, Amount] = Field(
        default_factory=dict,
        description="Change of each named department's efficiency, in [-1, 1] (the result is "
        "kept within [0, 1]).",
    )
    market_value: dict[str, Amount] = Field(
        default_factory=dict,
        description="Change of market value while customers are in each named regime, in "
        "[-1, 1] (in proportion to the regime's weight during a gradual shift; the regime's "
        "preference fit is kept within [0, 1]).",
    )
    efficiency_by_regime: dict[str, dict[str, Amount]] = Field(
        default_factory=dict,
        description="Change of named departments' efficiencies while customers are in each "
        "named regime (regime -> department -> amount in [-1, 1]; in proportion to the "
        "regime's weight during a gradual shift), on top of `efficiency`; the result is kept "
        "within [0, 1].",
    )


ReallocationRule = Literal["keep", "efficiency", "market"]
#: Who moves the budget under each coordination mode unless `[resources]` says otherwise: a
#: head office follows the demand it believes in; silos (and departments moving one after
#: another, with nobody above them) grab by their own efficiency.
DEFAULT_REALLOCATION: dict[str, str] = {
    "decentralized": "efficiency",
    "sequential": "efficiency",
    "hierarchical": "market",
}


class ResourcesSpec(Spec):
    """Resources (`[resources]`, off when absent): a budget per period (capacity, people, money)
    split across departments; the split changes each department's efficiency and how much of
    the market's demand the firm serves, and the coordination moves it (docs/ODD.md §7.22)."""

    shares: dict[str, Share] | None = Field(
        None,
        description="Each department's share of the budget at period 0 (a table by department, "
        "summing to 1; default: an equal split).",
    )
    demand: dict[str, dict[str, Annotated[float, Field(ge=0, le=MAX_WEIGHT)]]] = Field(
        description="For every regime, the budget each department's work needs to serve its "
        "customers fully, in units of the budget (1 = all of it; departments left out need "
        "none). A regime's total above 1 is more demand than the budget holds.",
    )
    returns: float = Field(
        0.5,
        ge=0,
        le=1,
        description="gamma: a department's efficiency is multiplied by (D x share)^gamma (1 at "
        "an equal split; diminishing returns below 1; 0: the split does not touch efficiency).",
    )
    max_move: float = Field(
        0.1,
        gt=0,
        le=1,
        description="The largest share of the budget that may move between departments in a "
        "period (half the sum of the shares' absolute changes).",
    )
    moving_cost: float = Field(
        0.0, ge=0, le=MAX_MONEY, description="Money per unit of budget share moved."
    )
    activity_cost: float = Field(
        0.0,
        ge=0,
        le=MAX_MONEY,
        description="Money per period at full use of the budget, times the share in use (the "
        "capacity serving demand).",
    )
    tolerance: float = Field(
        0.02,
        ge=0,
        lt=1,
        description="The budget binds in a period when more than this share of demand is "
        "turned away, or when max_move cuts the reallocation short.",
    )
    scales_search: bool = Field(
        False,
        description="A department below its equal share examines that much fewer of its "
        "one-bit alternatives per period: the share min(1, D x share) of them, at least one.",
    )
    reallocation: dict[CoordinationMode, ReallocationRule] = Field(
        default_factory=lambda: dict(DEFAULT_REALLOCATION),
        description="How each coordination mode moves the budget: keep (never), efficiency "
        "(towards the departments' efficiencies: silos grab), market (towards the demand the "
        "firm believes in: a head office). Modes left out keep their defaults (decentralized "
        "and sequential efficiency, hierarchical market).",
    )

    @model_validator(mode="after")
    def _complete(self) -> ResourcesSpec:
        missing = {m: r for m, r in DEFAULT_REALLOCATION.items() if m not in self.reallocation}
        if missing:
            object.__setattr__(self, "reallocation", {**missing, **self.reallocation})
        return self


class AdaptationSpec(Spec):
    """Strategies that learn (`[adaptation]`, off when absent): every `review` periods a firm
    judges the strategy it follows by the profit it made and, if that fell short of its
    aspiration, draws which of `strategies` to follow next (docs/ODD.md §7.19)."""

    strategies: list[str] = Field(
        min_length=2,
        description="The strategies a firm may switch among (names of the scenario's "
        "strategies, each once): its menu of settings of alpha, sensing and coordination.",
    )
    start: Literal["own", "random"] = Field(
        "own",
        description="own: a firm starts following the strategy it is run as (which must be in "
        "`strategies`); random: one of `strategies` drawn for each firm.",
    )
    review: int = Field(
        12,
        ge=1,
        le=100_000,
        description="Periods between two reviews (12: once a year when a period is a month).",
    )
    recency: float = Field(
        0.5,
        gt=0,
        le=1,
        description="Weight of the newest review's profit in the attraction of the strategy "
        "followed (1: only the newest counts).",
    )
    aspiration_speed: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Share of the gap between the profit made and the aspiration level the "
        "aspiration closes at each review (0: the first review's profit for good).",
    )
    temperature: float = Field(
        1.0,
        gt=0,
        le=MAX_MONEY,
        description="Money per period: an attraction higher by this much makes a strategy e "
        "times as likely to be chosen when the firm is dissatisfied (softmax).",
    )
    imitation: float = Field(
        0.0,
        ge=0,
        le=1,
        description="Chance at each review that a firm looks at another firm (a rival drawn at "
        "random in a market of competing firms, one of its partners when the market has a "
        "network, its population's best otherwise) and copies its strategy if that firm earned "
        "more (0: no imitation; needs [competition] or population.firms >= 2).",
    )
    imitation_noise: float = Field(
        0.0,
        ge=0,
        le=MAX_MONEY,
        description="Money per period: the standard deviation of the error with which a firm "
        "sees the other firm's profit when it looks (0: exactly).",
    )


class PurposeSpec(Spec):
    """A second objective besides profit (`[purpose]`; absent = off): the impact each
    configuration has per period (say tonnes of CO2e), a designed table; customers of some
    regimes value a low impact, regulation levies money above a threshold, and a strategy's
    `purpose` weighs it in what the firm aims for (docs/ODD.md, "Purpose")."""

    name: str = Field("environmental impact", description="What the impact is, in plain words.")
    unit: str = Field("impact units per period", description="Its unit (per period).")
    base: float = Field(
        0.0,
        ge=-MAX_MONEY,
        le=MAX_MONEY,
        description="Impact per period of the configuration with every decision 0.",
    )
    impact: dict[str, Annotated[float, Field(ge=-MAX_MONEY, le=MAX_MONEY)]] = Field(
        min_length=1,
        description="decision = the impact per period it adds when it is 1 (negative: removes); "
        "a configuration's impact is base plus the sum over its decisions that are 1.",
    )
    valued_by: dict[str, Annotated[float, Field(gt=0, le=MAX_WEIGHT)]] = Field(
        default_factory=dict,
        description="regime = weight of a low impact among that regime's preferences (the "
        "scale of preference weights): its preference fit becomes (W fit + w (1 - i)) / (W + w), "
        "with W the regime's preference weights and i the normalised impact in [0, 1].",
    )
    levy: float = Field(
        0.0,
        ge=0,
        le=MAX_MONEY,
        description="Regulation: money per period per impact unit above `threshold` (0: none).",
    )
    threshold: float = Field(
        0.0,
        ge=-MAX_MONEY,
        le=MAX_MONEY,
        description="Impact per period up to which regulation levies nothing.",
    )


class Scenario(Spec):
    """A business, its market and the strategies compared: a validated scenario file.

    Load one with `sim.scenario.load_scenario(name_or_path, overrides)` (``overrides`` maps
    dotted fields to values, e.g. ``{"horizon": 90}``); docs/scenarios.md documents every
    field. A scenario is immutable (a pydantic model; ``model_dump()`` gives its data).

    Main attributes: ``name``, ``title``, ``story``; ``departments`` (each with its
    ``decisions``); ``market`` (``regimes`` of what customers value and the ``shifts``);
    ``firm`` (beta, money, learning, start), ``costs``; ``strategies`` (the scenario's own;
    ``all_strategies`` adds the built-ins, ``compared_strategies`` are those a run compares,
    ``strategy(name)`` one of them); ``horizon``, ``seeds``, ``split`` (the period that
    separates "before" from "after") and ``metrics``; ``population`` (more than one firm per
    strategy). Decisions are numbered in bit order (``decisions``, ``decision_index``):
    departments in order, each department's decisions in order.
    """

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Identifier of the scenario.")
    title: str = Field("", description="One-line title.")
    story: str = Field("", description="The business story in a few plain sentences.")
    expected: str = Field(
        "",
        description="The outcomes the story expects, written before the scenario was first run "
        "and kept as written; docs/scenarios.md reports what the model shows.",
    )
    things_to_notice: list[NoticeSpec] = Field(
        default_factory=list,
        description="For a class: what to look at. Each a line of text, or a table "
        "{ text = ..., check = ... } whose check states the line's claim (`NoticeSpec`).",
    )
    things_to_try: list[str] = Field(default_factory=list, description="For a class.")
    classroom_seed: int = Field(
        0,
        ge=0,
        le=2**32 - 1,
        description="For a class: the market (seed) the classroom app and the slide figures "
        "start with; the scenarios in scenarios/ give their typical market of 30.",
    )
    money_unit: str = Field("k€ per month", description="Unit of profit and cash.")
    horizon: int = Field(160, ge=2, le=100_000, description="Periods simulated.")
    seeds: int = Field(30, ge=1, le=MAX_SEEDS, description="Seeds run by default.")
    departments: list[DepartmentSpec] = Field(min_length=1)
    efficiency: EfficiencySpec = Field(default_factory=EfficiencySpec)
    market: MarketSpec
    firm: FirmSpec = Field(default_factory=FirmSpec)
    costs: CostSpec = Field(default_factory=CostSpec)
    strategies: dict[str, StrategySpec] = Field(
        default_factory=dict,
        description="Strategies compared (if any are given, only these). efficiency_only and "
        "aligned are built in; a strategy given under one of their names starts from the "
        "built-in values and changes only the fields it sets.",
    )
    metrics: MetricsSpec = Field(default_factory=MetricsSpec)
    population: PopulationSpec = Field(default_factory=PopulationSpec)
    adaptation: AdaptationSpec | None = Field(
        None, description="Strategies that learn (off when absent)."
    )
    effects: list[EffectSpec] = Field(
        default_factory=list,
        description="Designed effects: changes of efficiency and market value stated in "
        "business terms, on top of the random landscapes (none by default).",
    )
    competition: CompetitionSpec | None = Field(
        None,
        description="Firms competing for the market's customers (off when absent).",
    )
    resources: ResourcesSpec | None = Field(
        None,
        description="A budget split across departments and moved by the coordination (off "
        "when absent).",
    )
    purpose: PurposeSpec | None = Field(
        None, description="A second objective besides profit: impact (off when absent)."
    )

    @model_validator(mode="before")
    @classmethod
    def _builtin_strategies_as_base(cls, data: Any) -> Any:
        """A strategy named like a built-in one starts from the built-in's values."""
        if isinstance(data, dict) and isinstance(data.get("strategies"), dict):
            strategies = {}
            for name, given in data["strategies"].items():
                if name in BUILTIN_STRATEGIES and isinstance(given, dict):
                    given = {**BUILTIN_STRATEGIES[name].model_dump(), **given}
                strategies[name] = given
            data = {**data, "strategies": strategies}
        return data

    def __repr__(self) -> str:
        from sim.display import scenario_repr

        return scenario_repr(self)

    def __str__(self) -> str:
        return repr(self)

    def _repr_html_(self) -> str:
        from sim.display import scenario_html

        return scenario_html(self)

    # ---- derived views (not fields) ----
    @cached_property
    def decisions(self) -> tuple[str, ...]:
        """Decision names in bit order (departments in order, decisions in order)."""
        return tuple(d for dep in self.departments for d in dep.decisions)

    @cached_property
    def decision_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.decisions)}

    @cached_property
    def department_decisions(self) -> tuple[tuple[int, ...], ...]:
        """Decision indices per department."""
        idx = self.decision_index
        return tuple(tuple(idx[d] for d in dep.decisions) for dep in self.departments)

    @cached_property
    def all_strategies(self) -> dict[str, StrategySpec]:
        """Built-in strategies, with the scenario's own added or replacing them by name; an
        unknown name is an `UnknownStrategy` error (a `ScenarioError` and a `KeyError`)."""
        return StrategyTable(self.name, {**BUILTIN_STRATEGIES, **self.strategies})

    def differences(self, a: str, b: str) -> list[str]:
        """Every setting in which strategies ``a`` and ``b`` differ, in words ("alpha 0 vs
        0.7"), their descriptions left out: what a comparison of the two names."""
        first, second = self.strategy(a).model_dump(), self.strategy(b).model_dump()
        return [
            f"{field} {first[field]:g} vs {second[field]:g}"
            if isinstance(first[field], float) and isinstance(second[field], float)
            else f"{field} {first[field]} vs {second[field]}"
            for field in first
            if field != "description" and first[field] != second[field]
        ]

    def strategy(self, name: str) -> StrategySpec:
        """The strategy called ``name``; an `UnknownStrategy` error naming the allowed ones."""
        return self.all_strategies[name]

    @cached_property
    def compared_strategies(self) -> tuple[str, ...]:
        """Strategies a run compares: those of the competing firms (`[competition]`), else the
        scenario's own if it names any, else the built-ins."""
        if self.competition is not None:
            return tuple(dict.fromkeys([*self.competition.firms, *self.competition.entrants]))
        return tuple(self.strategies) if self.strategies else tuple(BUILTIN_STRATEGIES)

    @cached_property
    def shift_times(self) -> tuple[int, ...]:
        """Periods of the scheduled (non-random) shifts."""
        return tuple(sorted(s.at for s in self.market.shifts if not isinstance(s, TurbulenceShift)))

    @cached_property
    def split(self) -> int:
        """Period separating the pre-shift from the post-shift window."""
        if self.metrics.split is not None:
            return self.metrics.split
        if self.shift_times:
            return self.shift_times[0]
        starts = [s.start for s in self.market.shifts if isinstance(s, TurbulenceShift)]
        return min(starts) if starts else self.horizon // 2

    @cached_property
    def initial_regime(self) -> str:
        return self.market.initial_regime or self.market.regimes[0].name

    def per_department(self, value: float | dict[str, float]) -> tuple[float, ...]:
        """A number, or a table by department name, as one value per department."""
        if isinstance(value, dict):
            return tuple(float(value[d.name]) for d in self.departments)
        return tuple(float(value) for _ in self.departments)

    def alpha_of(self, strategy: StrategySpec) -> tuple[float, ...]:
        """Alignment coupling per department for ``strategy``."""
        return self.per_department(strategy.alpha)

    @field_validator("things_to_notice", mode="before")
    @classmethod
    def _lines(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"text": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Scenario:
        _check_scenario(self)
        _check_effects(self)
        _check_resources(self)
        return self


class StrategyTable(dict[str, StrategySpec]):
    """A scenario's strategies by name: looking up an unknown one says which are allowed."""

    def __init__(self, scenario: str, strategies: dict[str, StrategySpec]) -> None:
        super().__init__(strategies)
        self.scenario = scenario

    def __missing__(self, name: str) -> StrategySpec:
        raise UnknownStrategy(
            f"scenario {self.scenario}",
            "strategies",
            f"unknown strategy {name!r}; allowed: {', '.join(self)}",
        )

    def __reduce__(self):
        return (type(self), (self.scenario, dict(self)))


def _check_scenario(sc: Scenario) -> None:
    for i, notice in enumerate(sc.things_to_notice):
        for firm, _measure in check_names(notice.check) if notice.check.strip() else []:
            if firm not in sc.all_strategies:
                raise FieldError(
                    f"things_to_notice[{i}].check",
                    f"unknown firm {firm!r}; allowed: {', '.join(sc.all_strategies)}",
                )
    names = [d.name for d in sc.departments]
    _unique(names, "departments", "department names")
    decisions = [d for dep in sc.departments for d in dep.decisions]
    _unique(decisions, "departments", "decision names")
    n = len(decisions)
    if n > MAX_DECISIONS:
        raise FieldError("departments", f"{n} decisions in all; at most {MAX_DECISIONS} allowed")
    known = set(decisions)
    allowed = f"allowed: {', '.join(decisions)}"

    eff = sc.efficiency
    # a K given explicitly must fit; a default K is capped at N-1 (see the model)
    if "k" in eff.model_fields_set and eff.structure in ("random", "next_k") and eff.k > n - 1:
        raise FieldError("efficiency.k", f"{eff.k} is too large; at most N-1 = {n - 1}")
    if "k" in sc.market.model_fields_set and sc.market.k > n - 1:
        raise FieldError("market.k", f"{sc.market.k} is too large; at most N-1 = {n - 1}")

    regimes = [r.name for r in sc.market.regimes]
    _unique(regimes, "market.regimes", "regime names")
    for r_i, regime in enumerate(sc.market.regimes):
        for p_i, pref in enumerate(regime.preferences):
            if pref.decision not in known:
                raise FieldError(
                    f"market.regimes[{r_i}].preferences[{p_i}].decision",
                    f"unknown decision {pref.decision!r}; {allowed}",
                )
    if sc.market.initial_regime and sc.market.initial_regime not in regimes:
        raise FieldError(
            "market.initial_regime",
            f"unknown regime {sc.market.initial_regime!r}; allowed: {', '.join(regimes)}",
        )
    for s_i, shift in enumerate(sc.market.shifts):
        where = f"market.shifts[{s_i}]"
        to = getattr(shift, "to", None)
        if to is not None and to not in regimes:
            raise FieldError(f"{where}.to", f"unknown regime {to!r}; allowed: {', '.join(regimes)}")
        at = getattr(shift, "at", None)
        if at is not None and at > sc.horizon:
            raise FieldError(f"{where}.at", f"{at} is after the horizon ({sc.horizon})")
        for d in getattr(shift, "decisions", []):
            if d not in known:
                raise FieldError(f"{where}.decisions", f"unknown decision {d!r}; {allowed}")
        if isinstance(shift, RedrawShift) and shift.count > n:
            raise FieldError(f"{where}.count", f"{shift.count} is more than the {n} decisions")
        if isinstance(shift, TurbulenceShift):
            if shift.start > sc.horizon:
                raise FieldError(f"{where}.start", f"{shift.start} is after the horizon")
            if shift.end is not None and shift.end < shift.start:
                raise FieldError(f"{where}.end", f"{shift.end} is before start ({shift.start})")
            if shift.change == "regime" and len(regimes) < 2:
                raise FieldError(f"{where}.change", "'regime' needs at least two regimes")
            if shift.count > n:
                raise FieldError(f"{where}.count", f"{shift.count} is more than the {n} decisions")
            _check_steering(shift, where, regimes)
    for d in sc.firm.initial_decisions:
        if d not in known:
            raise FieldError("firm.initial_decisions", f"unknown decision {d!r}; {allowed}")
    for s_name, strategy in sc.strategies.items():
        if not _identifier(s_name):
            raise FieldError(
                f"strategies.{s_name}", "strategy names are lower-case letters, digits and _"
            )
        for field in PER_DEPARTMENT_STRATEGY:
            _check_department_table(f"strategies.{s_name}.{field}", getattr(strategy, field), names)
    for part, fields in PER_DEPARTMENT_FIRM.items():
        spec = getattr(sc.firm, part)
        for field in fields if spec is not None else ():
            _check_department_table(f"firm.{part}.{field}", getattr(spec, field), names)
    if sc.adaptation is not None:
        menu = sc.adaptation.strategies
        for i, name in enumerate(menu):
            if name not in sc.all_strategies:
                raise FieldError(
                    f"adaptation.strategies[{i}]",
                    f"unknown strategy {name!r}; allowed: {', '.join(sc.all_strategies)}",
                )
            if name in menu[:i]:
                raise FieldError(f"adaptation.strategies[{i}]", f"{name!r} is given twice")
    population = sc.population
    if (
        sc.adaptation is not None
        and sc.adaptation.imitation > 0
        and sc.competition is None
        and population.firms < 2
    ):
        raise FieldError(
            "adaptation.imitation",
            "a firm imitates rivals of its market ([competition]) or the best of its population "
            "(population.firms >= 2); a firm alone in its market has nobody to imitate: add "
            "[competition] or a population, or set adaptation.imitation = 0",
        )
    if population.firms > 1 and sc.firm.learning.gain > 0:
        raise FieldError(
            "population.firms",
            "a population (firms > 1) runs without learning by doing; set firm.learning.gain = 0",
        )
    if population.selection != "none" and sc.adaptation is not None:
        raise FieldError(
            "adaptation",
            "strategies that learn are not combined with selection (a newcomer's "
            "learning would have no history); remove [adaptation] or population.selection",
        )
    if population.selection != "none" and population.firms < 2:
        raise FieldError("population.selection", "selection needs a population: firms >= 2")
    if sc.competition is not None:
        _check_competition(sc)
    _check_purpose(sc, known, allowed)
    if sc.metrics.split is not None and sc.metrics.split > sc.horizon:
        raise FieldError("metrics.split", f"{sc.metrics.split} is after the horizon ({sc.horizon})")


#: The settings that take a number or a table by department (`ShareOrTable`), by section.
PER_DEPARTMENT_STRATEGY: tuple[str, ...] = ("alpha", "sensing", "communication")
PER_DEPARTMENT_FIRM: dict[str, tuple[str, ...]] = {
    "understanding": ("initial",),
    "engagement": ("initial", "erosion", "turnover"),
}


def _check_department_table(where: str, value: float | dict[str, float], names: list[str]) -> None:
    """A table by department (`ShareOrTable`) names exactly the scenario's departments."""
    if not isinstance(value, dict) or set(value) == set(names):
        return
    missing = [n for n in names if n not in value]
    unknown = [n for n in value if n not in names]
    told = "; ".join(
        part
        for part in (
            f"missing {', '.join(missing)}" if missing else "",
            f"unknown {', '.join(unknown)}" if unknown else "",
        )
        if part
    )
    raise FieldError(where, f"a table needs exactly the departments {', '.join(names)} ({told})")


def _check_purpose(sc: Scenario, known: Any, allowed: str) -> None:
    """`[purpose]` names known decisions and regimes and can change; strategies weigh it only
    where it exists."""
    purpose = sc.purpose
    if purpose is None:
        for name, strategy in sc.strategies.items():
            if strategy.purpose:
                raise FieldError(
                    f"strategies.{name}.purpose",
                    "weighs an impact the scenario does not have: add a [purpose] section, or "
                    "set purpose = 0",
                )
        return
    for d in purpose.impact:
        if d not in known:
            raise FieldError("purpose.impact", f"unknown decision {d!r}; {allowed}")
    if not any(purpose.impact.values()):
        raise FieldError("purpose.impact", "every impact is 0: give some decision an impact")
    regimes = [r.name for r in sc.market.regimes]
    for r in purpose.valued_by:
        if r not in regimes:
            raise FieldError(
                "purpose.valued_by", f"unknown regime {r!r}; allowed: {', '.join(regimes)}"
            )


def _check_competition(sc: Scenario) -> None:
    """Competing firms follow known strategies, one firm per row (no population)."""
    competition = sc.competition
    allowed = ", ".join(sc.all_strategies)
    for part in ("firms", "entrants"):
        for name in getattr(competition, part):
            if name not in sc.all_strategies:
                raise FieldError(
                    f"competition.{part}", f"unknown strategy {name!r}; allowed: {allowed}"
                )
    if sc.population.firms > 1:
        raise FieldError(
            "population.firms", "competing firms are single firms; leave population.firms at 1"
        )
    total = sum(competition.firms.values()) + sum(competition.entrants.values())
    if total > 1000:
        raise FieldError("competition", f"{total} firms and entrants; at most 1000 allowed")
    if competition.entry_rate > 0 and not any(competition.entrants.values()):
        raise FieldError("competition.entry_rate", "entrants arrive only if `entrants` names some")
    network = competition.network
    if network is not None:
        if network.edges and network.kind != "edges":
            raise FieldError(
                "competition.network.edges",
                f'edges are listed only with kind = "edges" (kind is {network.kind!r})',
            )
        for i, j in network.edges:
            if i == j or max(i, j) >= total:
                raise FieldError(
                    "competition.network.edges",
                    f"[{i}, {j}]: two different firms numbered 0 to {total - 1} (the firms, "
                    "then the entrants, in order)",
                )
        for name in (*competition.firms, *competition.entrants):
            if isinstance(sc.all_strategies[name].sensing, dict):
                raise FieldError(
                    f"strategies.{name}.sensing",
                    "partners share the firm's belief (competition.network), not a department's: "
                    "give a firm in a network one sensing rate, or remove the network",
                )


def _check_steering(shift: TurbulenceShift, where: str, regimes: list[str]) -> None:
    """A turbulence shift names its target(s) at most one way, and only known regimes."""
    given = [f for f in ("to", "targets", "transitions") if getattr(shift, f) is not None]
    if len(given) > 1:
        raise FieldError(
            f"{where}.{given[1]}", f"give one of to, targets, transitions, not {given}"
        )
    if given and shift.change != "regime":
        raise FieldError(f"{where}.{given[0]}", "only for change = 'regime'")
    allowed = ", ".join(regimes)
    names = list(shift.targets or {})
    for source, row in (shift.transitions or {}).items():
        names += [source, *row]
        if row and not sum(row.values()) > 0:
            raise FieldError(f"{where}.transitions.{source}", "weights must not all be 0")
    for name in names:
        if name not in regimes:
            raise FieldError(f"{where}.{given[0]}", f"unknown regime {name!r}; allowed: {allowed}")


def effect_decision(sc: Scenario, key: str) -> int:
    """The decision (bit) a condition of a designed effect names: ``decision`` or
    ``department.decision``; a ValueError saying what is allowed."""
    department, _, decision = key.rpartition(".")
    if decision not in sc.decision_index:
        raise ValueError(f"unknown decision {decision!r}; allowed: {', '.join(sc.decisions)}")
    if department:
        owners = {d.name: d for d in sc.departments}
        if department not in owners:
            raise ValueError(
                f"unknown department {department!r} in {key!r}; allowed: {', '.join(owners)}"
            )
        if decision not in owners[department].decisions:
            owner = next(d.name for d in sc.departments if decision in d.decisions)
            raise ValueError(f"{decision!r} is a decision of {owner}, not of {department}")
    return sc.decision_index[decision]


def _check_effects(sc: Scenario) -> None:
    """Every designed effect names known decisions, departments and regimes, each once."""
    departments = [d.name for d in sc.departments]
    regimes = [r.name for r in sc.market.regimes]
    for e_i, effect in enumerate(sc.effects):
        where = f"effects[{e_i}]"
        if not effect.when:
            raise FieldError(f"{where}.when", "give at least one decision = 0/1 the effect needs")
        seen: dict[int, str] = {}
        for part in ("when", "unless"):
            for key in getattr(effect, part):
                try:
                    bit = effect_decision(sc, key)
                except ValueError as exc:
                    raise FieldError(f"{where}.{part}", str(exc)) from None
                if bit in seen:
                    places = part if seen[bit] == part else f"{seen[bit]} and {part}"
                    raise FieldError(
                        f"{where}.{part}",
                        f"decision {sc.decisions[bit]!r} is named twice (in {places}); name it "
                        "once",
                    )
                seen[bit] = part
        if not effect.efficiency and not effect.market_value and not effect.efficiency_by_regime:
            raise FieldError(
                where,
                "an effect changes efficiency or market_value (or both), or "
                "efficiency_by_regime",
            )
        for regime, table in effect.efficiency_by_regime.items():
            if regime not in regimes:
                raise FieldError(
                    f"{where}.efficiency_by_regime",
                    f"unknown regime {regime!r}; allowed: {', '.join(regimes)}",
                )
            for name in table:
                if name not in departments:
                    raise FieldError(
                        f"{where}.efficiency_by_regime.{regime}",
                        f"unknown department {name!r}; allowed: {', '.join(departments)}",
                    )
        for name in effect.efficiency:
            if name not in departments:
                raise FieldError(
                    f"{where}.efficiency",
                    f"unknown department {name!r}; allowed: {', '.join(departments)}",
                )
        for name in effect.market_value:
            if name not in regimes:
                raise FieldError(
                    f"{where}.market_value",
                    f"unknown regime {name!r}; allowed: {', '.join(regimes)}",
                )
        if effect.market_value and sc.market.rho >= 1:
            raise FieldError(
                f"{where}.market_value",
                "market.rho is 1: market value has no preference part for the effect to act on",
            )


def _identifier(name: str) -> bool:
    return name.isidentifier() and name == name.lower()


def _unique(items: list[str], field: str, what: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item in seen:
            raise FieldError(field, f"{what} must be unique; {item!r} appears twice")
        seen.add(item)


def scenario_from_dict(data: dict[str, Any]) -> Scenario:
    """Validate a plain dict (as read from TOML) into a Scenario."""
    return Scenario.model_validate(data)


def _check_resources(sc: Scenario) -> None:
    """`[resources]` names known departments and regimes, its shares sum to 1 and every
    regime's demand is given."""
    res = sc.resources
    if res is None:
        return
    departments = [d.name for d in sc.departments]
    regimes = [r.name for r in sc.market.regimes]
    if res.shares is not None:
        for name in res.shares:
            if name not in departments:
                raise FieldError(
                    "resources.shares",
                    f"unknown department {name!r}; allowed: {', '.join(departments)}",
                )
        missing = [d for d in departments if d not in res.shares]
        if missing:
            raise FieldError("resources.shares", f"give every department a share: {missing}")
        total = sum(res.shares.values())
        if abs(total - 1.0) > 1e-9:
            raise FieldError("resources.shares", f"the shares must sum to 1, got {total:g}")
    for name, table in res.demand.items():
        if name not in regimes:
            raise FieldError(
                "resources.demand", f"unknown regime {name!r}; allowed: {', '.join(regimes)}"
            )
        for dept in table:
            if dept not in departments:
                raise FieldError(
                    f"resources.demand.{name}",
                    f"unknown department {dept!r}; allowed: {', '.join(departments)}",
                )
    missing = [r for r in regimes if r not in res.demand]
    if missing:
        raise FieldError("resources.demand", f"give the demand in every regime: {missing}")
