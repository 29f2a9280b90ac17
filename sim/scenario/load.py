"""The one scenario loader: TOML file -> validated `Scenario`, or a one-line `ScenarioError`."""

from __future__ import annotations

import copy
import math
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.limits import MAX_INPUT_BYTES, MAX_NESTING
from sim.paths import SCENARIO_DIR
from sim.scenario.errors import ScenarioError
from sim.scenario.schema import FieldError, Scenario


def resolve_scenario_path(name_or_path: str | Path) -> Path:
    """A path as given, or the name of a scenario in `scenarios/` (with or without .toml)."""
    path = Path(name_or_path)
    if path.exists():
        return path
    for candidate in (SCENARIO_DIR / path, SCENARIO_DIR / f"{path}.toml"):
        if candidate.is_file():
            return candidate
    found = [*SCENARIO_DIR.glob("*.toml"), *SCENARIO_DIR.glob("validation/*.toml")]
    available = ", ".join(sorted(str(p.relative_to(SCENARIO_DIR).with_suffix("")) for p in found))
    raise ScenarioError(
        str(name_or_path), "", f"no such file or scenario; scenarios available: {available}"
    )


def load_scenario(name_or_path: str | Path, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Read and validate a scenario file; ``overrides`` maps dotted paths to new values."""
    path, data = read_scenario_data(name_or_path)
    if overrides:
        data = apply_overrides(data, overrides, source=str(path))
    return validate_scenario(data, source=str(path))


def as_scenario(scenario: Scenario | str | os.PathLike, argument: str = "scenario") -> Scenario:
    """A `Scenario` as given, or the one a scenario name or file path loads (`load_scenario`),
    so that ``run_experiment("bakery_gluten_free")`` works; a `TypeError` naming ``argument``
    for anything else."""
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, str | os.PathLike):
        return load_scenario(scenario)
    raise TypeError(
        f"{argument}: expected a Scenario, a scenario name or a file path, got "
        f"{type(scenario).__name__} {scenario!r:.80}"
    )


def read_scenario_data(name_or_path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The file a scenario name or path resolves to, and its TOML as read (not yet validated).

    For callers that apply many sets of overrides to one file (sweeps); most want
    `load_scenario`.
    """
    path = resolve_scenario_path(name_or_path)
    return path, read_toml(path)


def read_toml(path: Path, error: type[ScenarioError] = ScenarioError) -> dict[str, Any]:
    """The one TOML reader of input files (scenarios, sweeps): at most `MAX_INPUT_BYTES`,
    UTF-8, nested at most `MAX_NESTING` deep; any problem is an ``error`` naming the file."""
    try:
        with path.open("rb") as fh:
            raw = fh.read(MAX_INPUT_BYTES + 1)
    except OSError as exc:
        raise error(str(path), "", f"cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_INPUT_BYTES:
        raise error(
            str(path),
            "",
            f"larger than {MAX_INPUT_BYTES:,} bytes, the limit for a scenario or sweep file; "
            "is it the right file?",
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(
            str(path),
            "",
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} on line {line}); save the file as "
            "UTF-8 (in most editors: Save as..., encoding UTF-8)",
        ) from None
    nesting = f"nested more than {MAX_NESTING} levels deep (arrays or tables), the limit"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(str(path), "", f"malformed TOML: {exc}") from None
    except RecursionError:
        raise error(str(path), "", nesting) from None
    if _depth(data) > MAX_NESTING:
        raise error(str(path), "", nesting)
    return data


def _depth(value: Any, level: int = 0) -> int:
    """How deeply tables and arrays nest in ``value`` (stops counting past `MAX_NESTING`)."""
    if level > MAX_NESTING:
        return level
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return max((_depth(v, level + 1) for v in items), default=level)


def validate_scenario(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a dict into a Scenario, turning any problem into a `ScenarioError`."""
    try:
        return Scenario.model_validate(dict(data))
    except FieldError as exc:
        raise ScenarioError(source, exc.field, exc.message) from None
    except ValidationError as exc:
        errors = exc.errors()
        # for a union (a number or a table), the member that got furthest says what is wrong:
        # {production = 2.0} is a table with a number out of range, not "not a number"
        field = dotted_path(errors[0]["loc"])
        same = [e for e in errors if dotted_path(e["loc"]).startswith(field)]
        err = max(same, key=lambda e: len(dotted_path(e["loc"])))
        raise ScenarioError(source, dotted_path(err["loc"]), explain_error(err)) from None


def apply_overrides(
    data: Mapping[str, Any], overrides: Mapping[str, Any], *, source: str = "overrides"
) -> dict[str, Any]:
    """A deep copy of ``data`` with each dotted path (``costs.alignment``, list items by index:
    ``market.shifts.0.at``) set to its value; a `ScenarioError` for a path that leads nowhere
    or a number that is not finite."""
    out = copy.deepcopy(dict(data))
    for dotted, value in overrides.items():
        if not isinstance(dotted, str) or not all(dotted.split(".")):
            raise ScenarioError(source, str(dotted), "not a dotted path such as costs.alignment")
        if type(value).__module__ == "numpy" and hasattr(value, "item"):
            value = value.item()  # a numpy number (from an array, a DataFrame) as Python's
        if isinstance(value, float) and not math.isfinite(value):
            raise ScenarioError(source, dotted, f"must be a finite number, got {value!r}")
        if isinstance(value, (dict, list)):  # the caller's table is never changed by a later path
            value = copy.deepcopy(value)
        node: Any = out
        keys = dotted.split(".")
        for depth, key in enumerate(keys):
            here = ".".join(keys[:depth]) or "the scenario"
            last = depth == len(keys) - 1
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise ScenarioError(
                        source,
                        dotted,
                        f"{here} is a list of {len(node)} item(s); give an index from 0 to "
                        f"{len(node) - 1}, got {key!r}",
                    )
                if last:
                    node[int(key)] = value
                else:
                    node = node[int(key)]
            elif isinstance(node, dict):
                if last:
                    node[key] = value
                else:
                    node = node.setdefault(key, {})
            else:
                raise ScenarioError(
                    source, dotted, f"{here} is a value ({node!r}), not a table or a list"
                )
    return out


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as loaded (defaults filled in), JSON-ready."""
    return scenario.model_dump(mode="json")


#: How pydantic names the members of a union in an error's location (not fields).
_UNION_MEMBERS = frozenset({"bool", "int", "float", "str", "list[str]", "dict[str,float]"})
#: Type errors in plain words (strict types: true and "0.5" are not numbers).
_EXPECTED = {
    "float_type": "expected a number (true, false and quoted text are not numbers)",
    "int_type": "expected a whole number (true, false and quoted text are not numbers)",
    "int_from_float": "expected a whole number",
    "bool_type": "expected true or false",
    "string_type": "expected text in quotes",
    "finite_number": "expected a finite number (inf and nan are not allowed)",
    "dict_type": "expected a table",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
}


def dotted_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item == "[key]" or item in _UNION_MEMBERS or _is_member(item):  # pydantic's markers
            continue
        elif (
            item in ("abrupt", "gradual", "redraw", "turbulence") and parts and parts[-1][0] == "["
        ):
            continue  # pydantic's tag of the shift union, not a field
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


def _is_member(item: Any) -> bool:
    """A union member's or validator's name in a location (``dict[str,constrained-float]``,
    ``function-after[...]``): no field or key of a scenario has brackets."""
    return isinstance(item, str) and ("[" in item or item.startswith("function-"))


def explain_error(err: Mapping[str, Any]) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "extra_forbidden":
        allowed = _allowed_fields(err["loc"][:-1])
        tail = f"; allowed: {', '.join(allowed)}" if allowed else ""
        return f"unknown field {err['loc'][-1]!r}{tail}"
    if kind == "missing":
        return "required field is missing"
    if kind == "value_error":
        return msg.removeprefix("Value error, ")
    got = err.get("input")
    if kind in _EXPECTED:
        msg = _EXPECTED[kind]
    if isinstance(got, bool):
        return f"{msg} (got {str(got).lower()})"
    if isinstance(got, (str, int, float)):
        return f"{msg} (got {got!r})"
    return msg


def _allowed_fields(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the schema section at ``loc`` (best effort)."""
    model: Any = Scenario
    for item in loc:
        if isinstance(item, int):
            continue
        if isinstance(model, type) and issubclass(model, BaseModel):
            if item not in model.model_fields:
                # a discriminated-union tag such as 'abrupt'
                model = _union_member(model, item)
                continue
            model = _inner_model(model.model_fields[item].annotation, item)
        else:
            model = _union_member(model, item)
    if isinstance(model, type) and issubclass(model, BaseModel):
        return list(model.model_fields)
    return []


def _inner_model(annotation: Any, tag: Any) -> Any:
    """The BaseModel(s) inside list[...], dict[..., ...], Optional or Annotated annotations."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _inner_model(typing.get_args(annotation)[0], tag)
    if origin in (list, dict):
        return _inner_model(typing.get_args(annotation)[-1], tag)
    if origin in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if isinstance(a, type)]
        models = [m for m in models if issubclass(m, BaseModel)]
        return models[0] if len(models) == 1 else tuple(models)
    return annotation


def _union_member(models: Any, tag: Any) -> Any:
    for m in models if isinstance(models, tuple) else ():
        kind = m.model_fields.get("kind")
        if kind is not None and kind.default == tag:
            return m
    return models
