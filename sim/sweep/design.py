"""Design points and seeds: full factorial, Latin hypercube, Sobol' and Morris (through SALib).

Everything random comes from the sweep's root seed through numpy's `SeedSequence`: the design's
sampling from one child stream, the seeds of the runs from another. Replicate k of every design
point and every strategy runs on the same seed (common random numbers across design points), and
seed k does not depend on how many seeds the sweep has, so a sweep can be extended with seeds.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.sweep.spec import ParameterSpec, Sweep, check_overrides

_SEEDS_STREAM, _DESIGN_STREAM = 0, 1


@dataclass(frozen=True)
class Design:
    """The design points (one row each: `point` and a column per parameter, as applied), and
    for SALib's designs the problem and the raw sample matrix its analysis needs."""

    kind: str
    points: pd.DataFrame
    problem: dict[str, Any] | None = None
    sample: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.points)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (for the manifest): the table as columns, the problem and the sample."""
        table = {c: self.points[c].tolist() for c in self.points.columns}
        return {
            "kind": self.kind,
            "points": len(self.points),
            "parameters": [c for c in self.points.columns if c != "point"],
            "table": table,
            "problem": self.problem,
            "sample": None if self.sample is None else self.sample.tolist(),
        }


def run_seeds(root_seed: int, count: int) -> list[int]:
    """Seeds of replicates 0..count-1: child k of the root's seed stream, as a 63-bit integer."""
    return [_child_int(root_seed, (_SEEDS_STREAM, k)) for k in range(count)]


def draw_root_seed() -> int:
    """A fresh root seed from the operating system's entropy (recorded in the manifest)."""
    return int(np.random.SeedSequence().entropy) % (2**63)


def _child_int(root_seed: int, key: tuple[int, ...]) -> int:
    words = np.random.SeedSequence(root_seed, spawn_key=key).generate_state(2, np.uint32)
    return (int(words[0]) << 31) ^ int(words[1])  # < 2**63: fits Parquet's int64


def build_design(sweep: Sweep, *, root_seed: int) -> Design:
    """The design points of ``sweep``; SALib's and the Latin hypercube are seeded from the root."""
    parameters = list(sweep.parameters)
    design = sweep.spec.design
    if design.kind == "factorial":
        levels = [factorial_levels(p) for p in parameters]
        rows = list(itertools.product(*levels))
        return Design("factorial", _table(parameters, rows))
    problem = salib_problem(parameters)
    seed = _child_int(root_seed, (_DESIGN_STREAM,)) % (2**32)
    samples = int(design.samples or 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SALib's notes on sample sizes; ours are checked on load
        if design.kind == "latin_hypercube":
            from SALib.sample import latin

            sample = latin.sample(problem, samples, seed=seed)
        elif design.kind == "sobol":
            from SALib.sample import sobol

            sample = sobol.sample(
                problem, samples, calc_second_order=design.second_order, seed=seed
            )
        else:
            from SALib.sample import morris

            sample = morris.sample(problem, samples, num_levels=design.levels, seed=seed)
    sample = np.asarray(sample, dtype=float)
    rows = [tuple(_from_unit(p, x) for p, x in zip(parameters, row, strict=True)) for row in sample]
    keep_sample = sample if design.kind in ("sobol", "morris") else None
    return Design(design.kind, _table(parameters, rows), problem, keep_sample)


def factorial_levels(parameter: ParameterSpec) -> list[Any]:
    """The values a parameter takes in a full factorial design (distinct, in order)."""
    if parameter.values is not None:
        raw = list(parameter.values)
    else:
        low, high = parameter.range or (0.0, 1.0)
        raw = [float(x) for x in np.linspace(low, high, int(parameter.num or 2))]
    return list(dict.fromkeys(parameter.cast(v) for v in raw))


def salib_problem(parameters: list[ParameterSpec]) -> dict[str, Any]:
    """SALib's problem: names and bounds. A list of values is sampled by index over
    [0, n); a whole-number range over [low - 0.5, high + 0.5] so that rounding is uniform."""
    bounds = []
    for p in parameters:
        if p.values is not None:
            bounds.append([0.0, float(len(p.values))])
        elif p.integer:
            low, high = p.range or (0.0, 1.0)
            bounds.append([round(low) - 0.5, round(high) + 0.5])
        else:
            low, high = p.range or (0.0, 1.0)
            bounds.append([float(low), float(high)])
    return {"num_vars": len(parameters), "names": [p.name for p in parameters], "bounds": bounds}


def _from_unit(parameter: ParameterSpec, x: float) -> Any:
    """A sampled number as the parameter's value."""
    if parameter.values is not None:
        index = min(max(int(np.floor(x)), 0), len(parameter.values) - 1)
        return parameter.cast(parameter.values[index])
    low, high = parameter.range or (0.0, 1.0)
    if parameter.integer:
        return int(min(max(round(x), round(low)), round(high)))
    return parameter.cast(min(max(x, low), high))


def _table(parameters: list[ParameterSpec], rows: list[tuple[Any, ...]]) -> pd.DataFrame:
    names = [p.name for p in parameters]
    columns: dict[str, Any] = {"point": np.arange(len(rows), dtype=np.int64)}
    dtypes = {"int": "int64", "float": "float64", "bool": "bool", "str": "object"}
    for j, p in enumerate(parameters):
        columns[names[j]] = pd.Series([r[j] for r in rows], dtype=dtypes[p.dtype])
    return pd.DataFrame(columns)


def check_design_points(sweep: Sweep) -> None:
    """Each parameter on its own (the others as in the base scenario) at each of its values or
    bounds, then every design point, must give a valid scenario; the first that does not is
    named."""
    for i, parameter in enumerate(sweep.parameters):
        trial = (
            parameter.values
            if parameter.values is not None
            else [parameter.cast(v) for v in parameter.range or ()]
        )
        for value in trial:
            overrides = dict.fromkeys(parameter.paths, value)
            check_overrides(sweep, overrides, f"parameters[{i}]", f"value {value!r}")
    design = build_design(sweep, root_seed=sweep.spec.root_seed or 0)
    for values in design.points.to_dict("records"):
        point = values.pop("point")
        shown = ", ".join(f"{k} = {v!r}" for k, v in values.items())
        check_overrides(sweep, sweep.point_overrides(values), f"design point {point}", shown)
