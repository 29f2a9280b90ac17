"""The one scenario loader: TOML file -> validated `Scenario`, or a one-line `ScenarioError`."""

from __future__ import annotations

import copy
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.scenario.schema import FieldError, Scenario

SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


class ScenarioError(Exception):
    """Bad scenario input: names the file, the field and what is allowed."""

    def __init__(self, source: str, field: str, message: str) -> None:
        self.source, self.field, self.message = source, field, message
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {message}")

    def __reduce__(self):  # picklable, so errors cross process boundaries (sweeps)
        return (type(self), (self.source, self.field, self.message))


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
        data = apply_overrides(data, overrides)
    return validate_scenario(data, source=str(path))


def read_scenario_data(name_or_path: str | Path) -> tuple[Path, dict[str, Any]]:
    """The file a scenario name or path resolves to, and its TOML as read (not yet validated).

    For callers that apply many sets of overrides to one file (sweeps); most want
    `load_scenario`.
    """
    path = resolve_scenario_path(name_or_path)
    try:
        with path.open("rb") as fh:
            return path, tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), "", f"malformed TOML: {exc}") from None
    except OSError as exc:
        raise ScenarioError(str(path), "", f"cannot read: {exc.strerror}") from None


def validate_scenario(data: Mapping[str, Any], *, source: str = "<scenario>") -> Scenario:
    """Validate a dict into a Scenario, turning any problem into a `ScenarioError`."""
    try:
        return Scenario.model_validate(dict(data))
    except FieldError as exc:
        raise ScenarioError(source, exc.field, exc.message) from None
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ScenarioError(source, dotted_path(err["loc"]), explain_error(err)) from None


def apply_overrides(data: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of ``data`` with each dotted path (``costs.alignment``) set to its value."""
    out = copy.deepcopy(dict(data))
    for dotted, value in overrides.items():
        node: Any = out
        keys = dotted.split(".")
        for key in keys[:-1]:
            node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
        if isinstance(node, list):
            node[int(keys[-1])] = value
        else:
            node[keys[-1]] = value
    return out


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as loaded (defaults filled in), JSON-ready."""
    return scenario.model_dump(mode="json")


def dotted_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif item == "[key]":  # pydantic's marker for a bad dictionary key
            continue
        elif (
            item in ("abrupt", "gradual", "redraw", "turbulence") and parts and parts[-1][0] == "["
        ):
            continue  # pydantic's tag of the shift union, not a field
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts)


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
    if isinstance(got, (str, int, float, bool)):
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
