"""The sweep file: what varies, how it is sampled, what is kept; and its one loader.

A sweep file (TOML) names a base scenario, fixed overrides, the parameters to vary (any scenario
or strategy parameter by its dotted path, as `sim.scenario.apply_overrides` understands them),
the design that samples them, the seeds per design point, and the outputs to keep. It is
validated on load: every design point must give a valid scenario, and any problem is a
`SweepError` naming the file, the field and what is allowed (the scenarios' error style).
"""

from __future__ import annotations

import ast
import copy
import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from sim.frames import shadows_dataframe
from sim.limits import MAX_DESIGN_POINTS, MAX_SWEEP_SEEDS
from sim.scenario import (
    BUILTIN_STRATEGIES,
    SCENARIO_DIR,
    Scenario,
    ScenarioError,
    apply_overrides,
    read_scenario_data,
    scenario_to_dict,
    validate_scenario,
)
from sim.scenario.load import dotted_path, explain_error

SWEEP_DIR = SCENARIO_DIR / "sweeps"

DesignKind = Literal["factorial", "latin_hypercube", "sobol", "morris"]
#: Designs whose points SALib samples (and whose indices `analyze` computes).
SALIB_DESIGNS: tuple[str, ...] = ("sobol", "morris")

#: Columns every run row has; a swept parameter may not take one of these names.
RESERVED_COLUMNS: frozenset[str] = frozenset(
    {
        "run_id",
        "point",
        "seed_index",
        "strategy",
        "seed",
        "alpha",
        "coordination",
        "sensing",
        "period",
        "error",
        "traceback",
    }
)

Scalar = bool | int | float | str


class SweepError(ScenarioError):
    """Bad sweep input: names the file, the field and what is allowed (exit code 2 in the CLI)."""


class _Section(BaseModel):
    """Unknown fields are errors; strict types (true and "0.5" are not numbers); finite numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


def _as_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


#: TOML has lists, not tuples: a pair is written as a list of two.
FloatPair = Annotated[tuple[float, float], BeforeValidator(_as_tuple)]
NamePair = Annotated[tuple[str, str], BeforeValidator(_as_tuple)]


class ParameterSpec(_Section):
    """One swept parameter: where it goes in the scenario and which values it takes."""

    name: str = Field(
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Column name in the results and axis name in the analysis.",
    )
    path: str | list[str] = Field(
        description="Dotted path of the scenario parameter (e.g. `strategies.aligned.alpha`, "
        "`market.shifts.0.probability`); a list sets several parameters to the same value."
    )
    label: str = Field("", description="Axis label shown in figures (default: the name).")
    values: list[Scalar] | None = Field(
        None,
        min_length=1,
        description="The values taken. Factorial: every one; other designs: drawn uniformly "
        "(a discrete parameter).",
    )
    range: FloatPair | None = Field(
        None, description="[low, high]: bounds of a continuous parameter."
    )
    num: int | None = Field(
        None,
        ge=2,
        le=MAX_DESIGN_POINTS,
        description="Factorial only: evenly spaced values over `range` (ends included).",
    )
    integer: bool = Field(False, description="Round sampled values to whole numbers.")

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterSpec:
        if (self.values is None) == (self.range is None):
            raise ValueError("give either `values` or `range`")
        if self.range is not None:
            low, high = self.range
            if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
                raise ValueError(
                    f"range must be [low, high] with low < high, got {list(self.range)}"
                )
        if self.values is not None:
            if self.num is not None:
                raise ValueError("`num` goes with `range`, not with `values`")
            kinds = {_kind(v) for v in self.values}
            if len(kinds - {"int", "float"}) > 0 and len(kinds) > 1:
                raise ValueError(f"values mix types ({', '.join(sorted(kinds))}); use one type")
            if len(set(map(repr, self.values))) != len(self.values):
                raise ValueError("values must be distinct")
        return self

    @property
    def paths(self) -> tuple[str, ...]:
        """The dotted path(s) this parameter sets."""
        return (self.path,) if isinstance(self.path, str) else tuple(self.path)

    @property
    def dtype(self) -> str:
        """Column type of its values: bool, int, float or str."""
        if self.range is not None:
            return "int" if self.integer else "float"
        kinds = {_kind(v) for v in self.values or ()}
        if kinds == {"int"} or (self.integer and kinds <= {"int", "float"}):
            return "int"
        if kinds <= {"int", "float"}:
            return "float"
        return kinds.pop()

    def cast(self, value: Any) -> Scalar:
        """A value as this parameter's column type (so every part has the same schema)."""
        kind = self.dtype
        if kind == "int":
            return round(float(value))
        if kind == "float":
            return float(value)
        if kind == "bool":
            return bool(value)
        return str(value)


def _kind(value: Any) -> str:
    return "bool" if isinstance(value, bool) else type(value).__name__


class DesignSpec(_Section):
    """How the design points are chosen."""

    kind: DesignKind = Field(
        "factorial",
        description="factorial: every combination of the parameters' values; latin_hypercube: "
        "`samples` points; sobol: Saltelli/Sobol' sampling for Sobol' indices (SALib); morris: "
        "`samples` Morris trajectories for elementary effects (SALib).",
    )
    samples: int | None = Field(
        None,
        ge=1,
        le=MAX_DESIGN_POINTS,
        description="latin_hypercube: design points; sobol: base samples N (a power of 2; "
        "N x (D + 2) points, N x (2D + 2) with second order); morris: trajectories "
        "(N x (D + 1) points).",
    )
    levels: int = Field(4, ge=2, description="morris: grid levels per parameter.")
    second_order: bool = Field(False, description="sobol: also second-order indices.")

    @model_validator(mode="after")
    def _samples(self) -> DesignSpec:
        if self.kind == "factorial":
            if self.samples is not None:
                raise ValueError("`samples` is not used by the factorial design")
        elif self.samples is None:
            raise ValueError(f"the {self.kind} design needs `samples`")
        if self.kind == "sobol" and self.samples & (self.samples - 1):
            raise ValueError(f"sobol samples must be a power of 2 (got {self.samples})")
        return self


class OutputSpec(_Section):
    """What is kept. Per-run summaries always; per-period records on request."""

    periods: bool = Field(
        False, description="Also keep one row per run per period (OUT/periods/); large."
    )


class AnalysisSpec(_Section):
    """What `python -m sim analyze` compares by default."""

    metric: str = Field(
        "profit_post_shift",
        pattern=r"^[a-z][a-z0-9_]*$",
        description="Per-run outcome compared (a column of the runs table).",
    )
    compare: NamePair | None = Field(
        None,
        description="[contrast, baseline]: the difference contrast - baseline, paired by seed "
        "(default: aligned - efficiency_only if both are swept, else the last - the first).",
    )
    heatmaps: list[NamePair] = Field(
        default_factory=list,
        description="Pairs of parameter names to draw heatmaps for (default: every pair).",
    )
    margin: float | None = Field(
        None,
        gt=0,
        description="Equivalence margin: a design point is called `equivalent` when a TOST "
        "shows the difference within +/- margin (in the metric's unit); none: never.",
    )
    derived: dict[str, str] = Field(
        default_factory=dict,
        description="Columns computed from the parameters, each drawn as a line figure at its "
        "exact values: name = arithmetic over parameter names (+ - * / and numbers), e.g. "
        'aligned_share = "aligned_firms / (aligned_firms + silo_firms)".',
    )


class SweepSpec(_Section):
    """The sweep file as written (validated); see docs/sweeps.md."""

    name: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="Identifier of the sweep.")
    title: str = Field("", description="One-line title.")
    description: str = Field("", description="What the sweep asks, in plain words.")
    scenario: str = Field(
        description="Base scenario: a name in scenarios/ or a path (relative to the sweep file)."
    )
    strategies: list[str] | None = Field(
        None, min_length=1, description="Strategies run at every point (default: the scenario's)."
    )
    seeds: int = Field(10, ge=1, le=MAX_SWEEP_SEEDS, description="Seeds per design point.")
    root_seed: int | None = Field(
        None,
        ge=0,
        description="Root of every seed and of the design's sampling (numpy SeedSequence); drawn "
        "and recorded in the manifest when left out.",
    )
    overrides: dict[str, Any] = Field(
        default_factory=dict,
        description="Fixed changes to the base scenario, dotted path = value, applied before the "
        "swept parameters.",
    )
    linked: dict[str, str] = Field(
        default_factory=dict,
        description="Scenario parameters set at every design point from the swept values, "
        "dotted path = arithmetic over parameter names (+ - * /, numbers, brackets), e.g. "
        '"competition.firms.efficiency_only" = "5 - aligned_firms" (five bakeries in all); '
        "applied after the swept parameters, never columns of their own.",
    )
    design: DesignSpec = Field(default_factory=DesignSpec)
    parameters: list[ParameterSpec] = Field(min_length=1, description="The swept parameters.")
    outputs: OutputSpec = Field(default_factory=OutputSpec)
    analysis: AnalysisSpec = Field(default_factory=AnalysisSpec)

    @model_validator(mode="after")
    def _consistent(self) -> SweepSpec:
        names = [p.name for p in self.parameters]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _Field(f"parameters[{i}].name", f"names must be unique; {name!r} repeats")
            if name in RESERVED_COLUMNS:
                raise _Field(
                    f"parameters[{i}].name",
                    f"{name!r} is the name of an output column; choose another "
                    f"(taken: {', '.join(sorted(RESERVED_COLUMNS))})",
                )
            if shadows_dataframe(name):
                raise _Field(
                    f"parameters[{i}].name",
                    f"{name!r} is a pandas DataFrame attribute (`runs.{name}` would be it, not "
                    f"the column); choose another name, e.g. {'swept_' + name!r}",
                )
        for name, expression in self.analysis.derived.items():
            where = f"analysis.derived.{name}"
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name) or name in names:
                raise _Field(
                    where, "a new lower-case name (letters, digits, _), not a parameter's"
                )
            try:
                parameters_in(expression, names)
            except ValueError as error:
                raise _Field(where, str(error)) from None
        seen: dict[str, str] = {}
        for i, parameter in enumerate(self.parameters):
            for path in parameter.paths:
                if path in seen:
                    raise _Field(
                        f"parameters[{i}].path", f"{path!r} is already swept by {seen[path]!r}"
                    )
                seen[path] = parameter.name
            if parameter.num is not None and self.design.kind != "factorial":
                raise _Field(f"parameters[{i}].num", "`num` is only used by the factorial design")
            factorial = self.design.kind == "factorial"
            if factorial and parameter.range is not None and parameter.num is None:
                raise _Field(
                    f"parameters[{i}].num",
                    "a range in a factorial design needs `num` (how many values)",
                )
        for path, expression in self.linked.items():
            where = f"linked.{path}"
            if path in seen:
                raise _Field(where, f"{path!r} is already swept by {seen[path]!r}")
            try:
                parameters_in(expression, names)
            except ValueError as error:
                raise _Field(where, str(error)) from None
        points = self.design_size
        if points > MAX_DESIGN_POINTS:
            raise _Field(
                "design",
                f"{points:,} design points; at most {MAX_DESIGN_POINTS:,} allowed (fewer values, "
                "a smaller `num` or `samples`, or split the sweep)",
            )
        if self.strategies is not None:
            for i, s in enumerate(self.strategies):
                if s in self.strategies[:i]:
                    raise _Field(f"strategies[{i}]", f"strategy {s!r} is listed twice")
        for i, pair in enumerate(self.analysis.heatmaps):
            for name in pair:
                if name not in names:
                    raise _Field(
                        f"analysis.heatmaps[{i}]",
                        f"unknown parameter {name!r}; allowed: {', '.join(names)}",
                    )
        return self

    @property
    def design_size(self) -> int:
        """How many design points the design gives (computed without building it)."""
        kind, samples, d = self.design.kind, self.design.samples or 0, len(self.parameters)
        if kind == "factorial":
            return math.prod(len(p.values) if p.values else p.num or 1 for p in self.parameters)
        if kind == "sobol":
            return samples * (2 * d + 2 if self.design.second_order else d + 2)
        if kind == "morris":
            return samples * (d + 1)
        return samples


class _Field(ValueError):
    """A cross-field problem of the sweep file, with its dotted field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep: the spec, its base scenario (fixed overrides applied) and where from."""

    spec: SweepSpec
    source: str
    scenario_path: Path
    scenario_data: dict[str, Any] = field(repr=False)
    base: Scenario = field(repr=False)
    strategies: tuple[str, ...]

    @property
    def parameters(self) -> tuple[ParameterSpec, ...]:
        return tuple(self.spec.parameters)

    @property
    def scenario_digest(self) -> str:
        """Hash of the base scenario as read (fixed overrides applied): part of every run id."""
        text = json.dumps(self.scenario_data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def point_overrides(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Dotted path -> value for one design point (parameter name -> value)."""
        out: dict[str, Any] = {}
        for parameter in self.spec.parameters:
            for path in parameter.paths:
                out[path] = values[parameter.name]
        for path, expression in self.spec.linked.items():
            out[path] = arithmetic(expression, values)
        return out

    def scenario_at(self, values: Mapping[str, Any], *, point: int | None = None) -> Scenario:
        """The validated scenario of one design point (`ScenarioError` if invalid)."""
        where = f"{self.scenario_path} (design point {point})" if point is not None else None
        data = apply_overrides(self.scenario_data, self.point_overrides(values))
        return validate_scenario(data, source=where or str(self.scenario_path))


def resolve_sweep_path(name_or_path: str | Path) -> Path:
    """A path as given, or the name of a sweep in `scenarios/sweeps/` (with or without .toml)."""
    path = Path(name_or_path)
    if path.is_file():
        return path
    for candidate in (SWEEP_DIR / path, SWEEP_DIR / f"{path}.toml"):
        if candidate.is_file():
            return candidate
    available = ", ".join(sorted(p.stem for p in SWEEP_DIR.glob("*.toml"))) or "none"
    raise SweepError(str(name_or_path), "", f"no such file or sweep; sweeps available: {available}")


def parse_sweep(
    data: Mapping[str, Any], *, source: str = "<sweep>", base_dir: Path | None = None
) -> Sweep:
    """Validate a sweep given as a dict (as read from TOML), paths relative to ``base_dir``: its
    fields, base scenario, strategies and analysis. Its design points are checked by
    `sim.sweep.load.sweep_from_dict`, which samples them (`sim.sweep.design`)."""
    spec = _validate_spec(data, source)
    scenario_path, raw = _read_base(spec, source, base_dir or Path.cwd())
    raw = _with_builtin_strategies(raw, spec)
    try:
        fixed = apply_overrides(raw, spec.overrides)
    except ScenarioError as exc:
        raise SweepError(
            source,
            "overrides",
            f"a path leads nowhere in the scenario ({exc.field}: {exc.message})",
        ) from None
    try:
        base = validate_scenario(fixed, source=str(scenario_path))
    except ScenarioError as exc:
        raise SweepError(
            source, "overrides", f"gives an invalid scenario: {exc.field}: {exc.message}"
        ) from None
    strategies = tuple(spec.strategies) if spec.strategies else base.compared_strategies
    for i, name in enumerate(strategies):
        if name not in base.all_strategies:
            raise SweepError(
                source,
                f"strategies[{i}]",
                f"unknown strategy {name!r}; allowed: {', '.join(base.all_strategies)}",
            )
    sweep = Sweep(spec, source, scenario_path, fixed, base, strategies)
    _check_analysis(sweep)
    return sweep


def _validate_spec(data: Mapping[str, Any], source: str) -> SweepSpec:
    try:
        return SweepSpec.model_validate(dict(data))
    except ValidationError as exc:
        errors = exc.errors()
        # a union of scalar types reports one error per member: a non-finite number is the
        # one that explains a value such as nan
        err = next((e for e in errors if e["type"] == "finite_number"), errors[0])
        ctx = err.get("ctx") or {}
        inner = ctx.get("error")
        if isinstance(inner, _Field):
            raise SweepError(source, inner.field, inner.message) from None
        loc = tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            allowed = _allowed(loc[:-1])
            tail = f"; allowed: {', '.join(allowed)}" if allowed else ""
            raise SweepError(source, dotted_path(loc), f"unknown field {loc[-1]!r}{tail}") from None
        # a union of scalar types reports one error per member; the field is what matters
        loc = tuple(x for x in loc if x not in ("bool", "int", "float", "str", "list[str]"))
        raise SweepError(source, dotted_path(loc), explain_error(err)) from None


def _allowed(loc: tuple[Any, ...]) -> list[str]:
    model: Any = SweepSpec
    for item in loc:
        if isinstance(item, int):
            continue
        sub = {
            "design": DesignSpec,
            "parameters": ParameterSpec,
            "outputs": OutputSpec,
            "analysis": AnalysisSpec,
        }.get(item)
        if sub is None:
            return []
        model = sub
    return list(model.model_fields)


def _read_base(spec: SweepSpec, source: str, base_dir: Path) -> tuple[Path, dict[str, Any]]:
    given = Path(spec.scenario)
    candidates = [given] if given.is_absolute() else [base_dir / given, given]
    for candidate in candidates:
        if candidate.is_file():
            return read_scenario_data(candidate)
    try:
        return read_scenario_data(spec.scenario)
    except ScenarioError as exc:
        if exc.field or "no such file" not in exc.message:
            raise  # a problem inside the scenario file: its own error names it
        raise SweepError(source, "scenario", f"{spec.scenario!r}: {exc.message}") from None


def _with_builtin_strategies(raw: dict[str, Any], spec: SweepSpec) -> dict[str, Any]:
    """Spell out a built-in strategy whose parameters are swept or overridden, so a dotted path
    such as `strategies.aligned.alpha` changes one parameter of it, not the whole strategy."""
    swept = (p for parameter in spec.parameters for p in parameter.paths)
    paths = [*spec.overrides, *swept, *spec.linked]
    wanted = {p.split(".")[1] for p in paths if p.startswith("strategies.") and p.count(".") >= 2}
    own = raw.get("strategies", {})
    missing = [s for s in wanted if s in BUILTIN_STRATEGIES and s not in own]
    if not missing:
        return raw
    out = copy.deepcopy(raw)
    table = out.setdefault("strategies", {})
    if not own:  # the scenario compared the built-ins: keep comparing them all
        for name, strategy in BUILTIN_STRATEGIES.items():
            table[name] = strategy.model_dump(mode="json")
    for name in missing:
        table[name] = BUILTIN_STRATEGIES[name].model_dump(mode="json")
    return out


_ARITHMETIC = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub,
    ast.UAdd, ast.Constant, ast.Name, ast.Load,
)  # fmt: skip


def parameters_in(expression: str, parameters: Sequence[str]) -> list[str]:
    """The parameter names an `[analysis] derived` expression uses; a `ValueError` saying
    what is wrong unless it is arithmetic (+ - * /, numbers, brackets) over ``parameters``."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError:
        raise ValueError(f"{expression!r} is not an expression") from None
    used = []
    for node in ast.walk(tree):
        if not isinstance(node, _ARITHMETIC) or (
            isinstance(node, ast.Constant) and not isinstance(node.value, (int, float))
        ):
            raise ValueError(
                f"{expression!r}: only + - * /, numbers, brackets and parameter names"
            )
        if isinstance(node, ast.Name):
            if node.id not in parameters:
                raise ValueError(
                    f"{expression!r}: unknown parameter {node.id!r}; allowed: "
                    f"{', '.join(parameters)}"
                )
            used.append(node.id)
    return used


def arithmetic(expression: str, values: Mapping[str, Any]) -> Any:
    """The value of ``expression`` (arithmetic over parameter names, checked by
    `parameters_in`) at ``values`` (parameter name -> a number, or a column of numbers): the
    one evaluator of `[linked]` paths and `[analysis] derived` columns. Whole numbers stay
    whole unless divided (a count of firms stays a count)."""
    names = parameters_in(expression, list(values))
    code = compile(ast.parse(expression, mode="eval"), "<arithmetic>", "eval")
    # a numpy scalar as a Python number: 5 - numpy.int64(2) would not be an int to the scenario
    scope = {n: values[n].item() if isinstance(values[n], np.generic) else values[n] for n in names}
    return eval(code, {"__builtins__": {}}, scope)


def _check_analysis(sweep: Sweep) -> None:
    metric = sweep.spec.analysis.metric
    outcomes = outcome_columns(sweep.base, sweep.strategies[0])
    if metric not in outcomes:
        raise SweepError(
            sweep.source,
            "analysis.metric",
            f"unknown outcome {metric!r}; allowed: {', '.join(outcomes)}",
        )
    compare = sweep.spec.analysis.compare
    if compare is None:
        return
    for i, name in enumerate(compare):
        if name not in sweep.strategies:
            raise SweepError(
                sweep.source,
                f"analysis.compare[{i}]",
                f"{name!r} is not swept; allowed: {', '.join(sweep.strategies)}",
            )
    if compare[0] == compare[1]:
        raise SweepError(sweep.source, "analysis.compare", "compare two different strategies")


def outcome_columns(scenario: Scenario, strategy: str) -> list[str]:
    """The numeric outcomes of a run of ``scenario`` (columns of the runs table `analyze` can
    compare), found by running it once on seed 0 without its periods (milliseconds for the
    scenarios in scenarios/)."""
    if scenario.competition is not None:  # a market of competing firms (`[competition]`)
        from sim.competition import simulate_runs

        ((row, _),) = simulate_runs([(scenario, strategy, 0)])
    else:
        from sim.experiment import run_one

        row, _ = run_one(scenario, strategy, 0, periods=False)
    skip = {"seed", "alpha", "sensing"}  # what a run is, not what it gives
    return [k for k, v in row.items() if k not in skip and isinstance(v, (int, float))]


def check_overrides(sweep: Sweep, overrides: dict[str, Any], where: str, shown: str) -> None:
    """A `SweepError` naming ``where`` (the sweep file's field) if ``overrides`` (dotted path ->
    value, shown to the user as ``shown``) lead nowhere in the base scenario or make it invalid."""
    try:
        data = apply_overrides(sweep.scenario_data, overrides)
    except ScenarioError as exc:
        field = where + ".path" if where.startswith("parameters") else where
        raise SweepError(
            sweep.source,
            field,
            f"the path leads nowhere in the scenario ({exc.field}: {exc.message})",
        ) from None
    try:
        validate_scenario(data, source=str(sweep.scenario_path))
    except ScenarioError as exc:
        raise SweepError(
            sweep.source, where, f"{shown} gives an invalid scenario: {exc.field}: {exc.message}"
        ) from None


def spec_to_dict(sweep: Sweep) -> dict[str, Any]:
    """The sweep as loaded (defaults filled in), JSON-ready, for the manifest."""
    return {
        **sweep.spec.model_dump(mode="json"),
        "strategies": list(sweep.strategies),
        "scenario_file": str(sweep.scenario_path),
        "scenario_as_loaded": scenario_to_dict(sweep.base),
    }
