"""Design points and seeds: factorial, Latin hypercube, Sobol', Morris; seeds from one root."""

from __future__ import annotations

import numpy as np
import pytest

from sim.sweep import sweep_from_dict
from sim.sweep.design import build_design, factorial_levels, run_seeds


def sweep(parameters: list[dict], design: dict | None = None, **extra):
    data = {
        "name": "d",
        "scenario": "bakery_gluten_free",
        "seeds": 2,
        "overrides": {"horizon": 70},
        "parameters": parameters,
        **extra,
    }
    if design is not None:
        data["design"] = design
    return sweep_from_dict(data)


ALPHA = {"name": "alignment", "path": "strategies.aligned.alpha", "range": [0.0, 1.0]}
CROSS = {"name": "interdependence", "path": "efficiency.cross", "range": [0, 4], "integer": True}
MODE = {
    "name": "coordination_mode",
    "path": "strategies.aligned.coordination",
    "values": ["sequential", "hierarchical"],
}


def test_factorial_is_every_combination_in_order():
    s = sweep([{**ALPHA, "num": 3}, {**CROSS, "num": 9}, MODE])
    design = build_design(s, root_seed=0)
    assert len(design) == 3 * 5 * 2  # whole numbers 0..4 once each
    assert design.points.columns.tolist() == [
        "point",
        "alignment",
        "interdependence",
        "coordination_mode",
    ]
    assert design.points["point"].tolist() == list(range(30))
    assert design.points["alignment"].unique().tolist() == [0.0, 0.5, 1.0]
    assert design.points["interdependence"].dtype == np.int64
    assert design.points.iloc[0].tolist() == [0, 0.0, 0, "sequential"]
    assert design.points.iloc[1]["coordination_mode"] == "hierarchical"


def test_factorial_levels_keep_int_and_float_columns_apart():
    s = sweep([{"name": "cost", "path": "costs.alignment", "values": [0, 2.5, 5]}])
    assert factorial_levels(s.parameters[0]) == [0.0, 2.5, 5.0]
    assert all(isinstance(v, float) for v in factorial_levels(s.parameters[0]))


def test_latin_hypercube_stays_in_bounds_and_depends_only_on_the_root_seed():
    s = sweep([ALPHA, CROSS, MODE], {"kind": "latin_hypercube", "samples": 20})
    a = build_design(s, root_seed=5).points
    b = build_design(s, root_seed=5).points
    c = build_design(s, root_seed=6).points
    assert len(a) == 20
    assert a.equals(b) and not a.equals(c)
    assert a["alignment"].between(0, 1).all()
    assert set(a["interdependence"]) <= {0, 1, 2, 3, 4}
    assert set(a["coordination_mode"]) <= {"sequential", "hierarchical"}
    # one point per stratum of [0, 1] for a continuous parameter
    strata = np.floor(a["alignment"].to_numpy() * 20).astype(int)
    assert sorted(strata) == list(range(20))


def test_sobol_and_morris_sizes_and_the_samples_their_analysis_needs():
    sobol = build_design(sweep([ALPHA, CROSS], {"kind": "sobol", "samples": 8}), root_seed=1)
    assert len(sobol) == 8 * (2 + 2)
    assert sobol.sample.shape == (32, 2)
    assert sobol.problem["names"] == ["alignment", "interdependence"]
    assert sobol.problem["bounds"][1] == [-0.5, 4.5]  # whole numbers drawn uniformly
    second = build_design(
        sweep([ALPHA, CROSS], {"kind": "sobol", "samples": 8, "second_order": True}), root_seed=1
    )
    assert len(second) == 8 * (2 * 2 + 2)
    morris = build_design(
        sweep([ALPHA, CROSS, MODE], {"kind": "morris", "samples": 5, "levels": 4}), root_seed=1
    )
    assert len(morris) == 5 * (3 + 1)
    assert set(np.round(morris.points["alignment"], 6)) <= {0.0, 0.333333, 0.666667, 1.0}


def test_seeds_come_from_the_root_and_do_not_depend_on_how_many():
    ten = run_seeds(20240611, 10)
    assert run_seeds(20240611, 4) == ten[:4]
    assert len(set(ten)) == 10
    assert all(0 <= s < 2**63 for s in ten)
    assert run_seeds(20240612, 4) != ten[:4]


@pytest.mark.parametrize("kind", ["latin_hypercube", "sobol", "morris"])
def test_every_sampled_point_is_a_valid_scenario(kind):
    s = sweep([ALPHA, CROSS, MODE], {"kind": kind, "samples": 4})
    design = build_design(s, root_seed=3)
    for values in design.points.drop(columns="point").to_dict("records"):
        s.scenario_at(values)
