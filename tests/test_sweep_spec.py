"""The sweep file: the flagship loads; malformed and inconsistent files get one clear error."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sim.cli import main
from sim.sweep import SweepError, load_sweep, sweep_from_dict
from sim.sweep.spec import SWEEP_DIR

GOOD = """
name = "tiny"
scenario = "bakery_gluten_free"
seeds = 2
root_seed = 1

[overrides]
horizon = 70

[[parameters]]
name = "alignment"
path = "strategies.aligned.alpha"
values = [0.3, 0.9]
"""


def write(tmp_path: Path, text: str, name: str = "sweep.toml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def error_of(tmp_path: Path, text: str) -> SweepError:
    with pytest.raises(SweepError) as info:
        load_sweep(write(tmp_path, text))
    return info.value


def test_the_flagship_sweep_loads():
    sweep = load_sweep("alignment_pays")
    assert sweep.strategies == ("efficiency_only", "aligned")
    assert [p.name for p in sweep.parameters] == [
        "alignment",
        "turbulence",
        "interdependence",
        "coordination_cost",
    ]
    assert sweep.base.metrics.split == 40
    assert sweep.base.market.shifts[0].kind == "turbulence"
    point = sweep.scenario_at(
        {"alignment": 0.9, "turbulence": 0.1, "interdependence": 4, "coordination_cost": 9.0}
    )
    assert point.all_strategies["aligned"].alpha == 0.9
    assert point.market.shifts[0].probability == 0.1
    assert point.efficiency.cross == 4
    assert point.costs.coordination["hierarchical"] == 9.0
    # the other strategy is untouched by the swept path
    assert point.all_strategies["efficiency_only"].alpha == 0.0


def test_the_where_alignment_pays_sweep_is_what_the_docs_say():
    """docs/sweeps.md: a Latin hypercube of 160 points x 8 seeds x 2 strategies over six
    parameters, from a random start with a burn-in of 60 periods."""
    import numpy as np

    from sim.sweep.design import build_design

    sweep = load_sweep("where_alignment_pays")
    assert sweep.strategies == ("efficiency_only", "aligned")
    assert sweep.spec.seeds == 8
    assert sweep.spec.design.kind == "latin_hypercube" and sweep.spec.design.samples == 160
    assert sweep.base.firm.start == "random" and sweep.base.firm.burn_in == 60
    assert sweep.base.metrics.split == 40
    ranges = {p.name: (tuple(p.paths), tuple(p.range), p.integer) for p in sweep.parameters}
    assert ranges == {
        "turbulence": (("market.shifts.0.probability",), (0.0, 0.2), False),
        "complexity": (("efficiency.k_within",), (0, 3), True),
        "interdependence": (("efficiency.cross",), (0, 4), True),
        "taste_weight": (("firm.beta",), (0.2, 0.9), False),
        "alignment_cost": (("costs.alignment",), (0.0, 8.0), False),
        "coordination_cost": (("costs.coordination.hierarchical",), (0.0, 9.0), False),
    }
    points = build_design(sweep, root_seed=sweep.spec.root_seed).points
    assert len(points) == 160
    for name, (_, (low, high), integer) in ranges.items():
        values = points[name].to_numpy(dtype=float)
        assert values.min() >= low and values.max() <= high
        if integer:  # every whole number in the range is taken
            assert set(values) == set(range(int(low), int(high) + 1))
        else:  # a Latin hypercube: one point in each of the 160 strata
            strata = np.floor((values - low) / (high - low) * 160).astype(int)
            assert sorted(strata) == list(range(160))
    first = {name: points[name].iloc[0].item() for name in ranges}
    point = sweep.scenario_at(first)
    assert point.firm.beta == first["taste_weight"]
    assert point.costs.alignment == first["alignment_cost"]
    assert point.efficiency.cross == first["interdependence"]


def test_every_sweep_file_shipped_loads():
    files = sorted(SWEEP_DIR.glob("*.toml"))
    assert files
    for path in files:
        load_sweep(path)


def test_a_good_file_and_its_defaults(tmp_path):
    sweep = load_sweep(write(tmp_path, GOOD))
    assert sweep.spec.design.kind == "factorial"
    assert sweep.spec.outputs.periods is False
    assert sweep.spec.analysis.metric == "profit_post_shift"
    assert sweep.base.horizon == 70
    assert sweep.strategies == ("efficiency_only", "aligned")


def test_a_scenario_path_relative_to_the_sweep_file(tmp_path):
    scenario = (Path(__file__).parents[1] / "scenarios" / "bakery_gluten_free.toml").read_text()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "shop.toml").write_text(scenario, encoding="utf-8")
    text = GOOD.replace('scenario = "bakery_gluten_free"', 'scenario = "mine/shop.toml"')
    sweep = load_sweep(write(tmp_path, text))
    assert sweep.scenario_path == tmp_path / "mine" / "shop.toml"


MINIMAL_SCENARIO = """
name = "plain"
horizon = 40
[[departments]]
name = "make"
decisions = ["a", "b", "c"]
[[departments]]
name = "sell"
decisions = ["d", "e"]
[market]
[[market.regimes]]
name = "first"
preferences = [{ decision = "a", value = 1 }]
"""


def test_a_builtin_strategy_parameter_keeps_the_rest_of_the_strategy(tmp_path):
    write(tmp_path, MINIMAL_SCENARIO, "plain.toml")
    sweep = sweep_from_dict(
        {
            "name": "builtin",
            "scenario": "plain.toml",
            "parameters": [{"name": "a", "path": "strategies.aligned.alpha", "values": [0.2]}],
        },
        base_dir=tmp_path,
    )
    aligned = sweep.scenario_at({"a": 0.2}).all_strategies["aligned"]
    assert aligned.alpha == 0.2
    assert aligned.coordination == "hierarchical" and aligned.sensing == 0.3
    assert sweep.strategies == ("efficiency_only", "aligned", "informed_silos")


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        ("name = 'x'\nscenario = [", "", "malformed TOML"),
        ("colour = 'red'\n" + GOOD, "colour", "unknown field 'colour'; allowed: name"),
        (GOOD + "colour = 'red'\n", "parameters[0].colour", "allowed: name, path, label"),
        (GOOD.replace('name = "tiny"', 'name = "Tiny Sweep"'), "name", "should match"),
        (GOOD.replace("seeds = 2", "seeds = 0"), "seeds", "greater than or equal to 1"),
        (GOOD.replace("bakery_gluten_free", "no_such_shop"), "scenario", "no such file"),
        (
            GOOD.replace("strategies.aligned.alpha", "strategies.aligned.alpa"),
            "parameters[0]",
            "strategies.aligned.alpa: unknown field 'alpa'",
        ),
        (
            GOOD.replace("strategies.aligned.alpha", "market.shifts.3.probability"),
            "parameters[0].path",
            "leads nowhere",
        ),
        (
            GOOD.replace("[0.3, 0.9]", "[0.3, 1.5]"),
            "parameters[0]",
            "value 1.5 gives an invalid scenario: strategies.aligned",
        ),
        (GOOD.replace("[0.3, 0.9]", "[0.3, 'high']"), "parameters[0]", "values mix types"),
        (GOOD.replace("[0.3, 0.9]", "[0.3, 0.3]"), "parameters[0]", "distinct"),
        (GOOD.replace("[0.3, 0.9]", "[[1], [2]]"), "parameters[0].values[0]", ""),
        (
            GOOD.replace("values = [0.3, 0.9]", "range = [0.2, 0.9]"),
            "parameters[0].num",
            "needs `num`",
        ),
        (
            GOOD.replace("values = [0.3, 0.9]", "range = [0.9, 0.2]\nnum = 3"),
            "parameters[0]",
            "low < high",
        ),
        (
            GOOD.replace("values = [0.3, 0.9]", "values = [0.3]\nrange = [0.0, 1.0]"),
            "parameters[0]",
            "either `values` or `range`",
        ),
        (
            GOOD.replace('name = "alignment"', 'name = "alpha"'),
            "parameters[0].name",
            "name of an output column",
        ),
        (
            GOOD.replace('name = "alignment"', 'name = "rank"'),
            "parameters[0].name",
            "pandas DataFrame attribute",
        ),
        (
            GOOD + '[[parameters]]\nname = "alignment"\npath = "costs.alignment"\nvalues = [1.0]\n',
            "parameters[1].name",
            "unique",
        ),
        (
            GOOD + '[[parameters]]\nname = "again"\npath = "strategies.aligned.alpha"\n'
            "values = [0.5]\n",
            "parameters[1].path",
            "already swept",
        ),
        (GOOD + "[design]\nkind = 'sobol'\n", "design", "needs `samples`"),
        (
            GOOD.replace("values = [0.3, 0.9]", "range = [0.0, 1.0]")
            + "[design]\nkind = 'sobol'\nsamples = 6\n",
            "design",
            "power of 2",
        ),
        (GOOD + "[design]\nkind = 'grid'\n", "design.kind", "factorial"),
        (GOOD + "[design]\nsamples = 8\n", "design", "not used by the factorial"),
        (
            GOOD.replace("values = [0.3, 0.9]", "range = [0.0, 1.0]\nnum = 3")
            + "[design]\nkind = 'latin_hypercube'\nsamples = 8\n",
            "parameters[0].num",
            "only used by the factorial",
        ),
        (
            GOOD.replace("seeds = 2", "seeds = 2\nstrategies = ['aligned', 'gambler']"),
            "strategies[1]",
            "unknown strategy 'gambler'; allowed: efficiency_only, aligned",
        ),
        (
            GOOD + "[analysis]\ncompare = ['aligned', 'gambler']\n",
            "analysis.compare[1]",
            "not swept",
        ),
        (
            GOOD + "[analysis]\nheatmaps = [['alignment', 'cost']]\n",
            "analysis.heatmaps[0]",
            "unknown parameter 'cost'",
        ),
        (GOOD + "[outputs]\nperiod = true\n", "outputs.period", "allowed: periods"),
        (
            GOOD.replace("horizon = 70", "horizon = 50"),
            "overrides",
            "market.shifts[0].at: 60 is after the horizon (50)",
        ),
        (
            GOOD + '[[parameters]]\nname = "horizon"\npath = "horizon"\nvalues = [70, 50]\n',
            "parameters[1]",
            "value 50 gives an invalid scenario",
        ),
    ],
)
def test_bad_sweep_files_get_one_clear_error(tmp_path, text, field, message):
    err = error_of(tmp_path, text)
    assert err.source.endswith("sweep.toml")
    assert err.field == field
    assert message in err.message
    assert "\n" not in str(err)


def test_the_command_line_says_it_in_one_line_with_exit_code_2(tmp_path, capsys):
    path = write(tmp_path, GOOD.replace("[0.3, 0.9]", "[0.3, 1.5]"))
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith(f"error: {path}: parameters[0]: value 1.5")
    assert not out.exists()  # nothing written


def test_a_missing_sweep_file_is_named(capsys):
    assert main(["sweep", "no_such_sweep", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no_such_sweep: no such file or sweep; sweeps available: " in err
    assert "alignment_pays" in err.split("sweeps available:")[1]


def test_a_problem_is_named_by_the_parameter_that_has_it(tmp_path):
    text = (
        GOOD + '[[parameters]]\nname = "t"\npath = "market.shifts.3.probability"\nvalues = [0.1]\n'
    )
    err = error_of(tmp_path, text)
    assert err.field == "parameters[1].path" and "leads nowhere" in err.message
    text = (
        GOOD
        + '[[parameters]]\nname = "split"\npath = "metrics.split"\nvalues = [65]\n'
        + '[[parameters]]\nname = "length"\npath = "horizon"\nvalues = [70, 62]\n'
    )
    err = error_of(tmp_path, text)  # each alone is fine with the base; together they clash
    assert err.field == "design point 1"
    assert err.message.startswith(
        "alignment = 0.3, split = 65, length = 62 gives an invalid scenario: metrics.split: "
    )


# ---- issue 12: non-finite and lenient values, limits, analysis fields checked on load


@pytest.mark.parametrize(
    ("old", "new", "field", "message"),
    [
        ("[0.3, 0.9]", "[0.3, nan]", "parameters[0].values[1]", "expected a finite number"),
        ("[0.3, 0.9]", "[0.3, inf]", "parameters[0].values[1]", "expected a finite number"),
        (
            "values = [0.3, 0.9]",
            "range = [0.1, inf]\nnum = 3",
            "parameters[0].range[1]",
            "expected a finite number",
        ),
        ("seeds = 2", "seeds = true", "seeds", "expected a whole number"),
        ("seeds = 2", "seeds = '2'", "seeds", "expected a whole number"),
        ("horizon = 70", "horizon = nan", "overrides", "must be a finite number"),
        (
            "values = [0.3, 0.9]",
            "range = [0.1, 0.9]\nnum = 10000000",
            "parameters[0].num",
            "less than or equal to 100000",
        ),
        (
            "root_seed = 1",
            "root_seed = 1\n[design]\nkind = 'latin_hypercube'\nsamples = 10000000",
            "design.samples",
            "less than or equal to 100000",
        ),
    ],
)
def test_bad_values_refused_on_load(tmp_path, old, new, field, message):
    assert old in GOOD
    err = error_of(tmp_path, GOOD.replace(old, new))
    assert err.field == field
    assert message in err.message


def test_too_many_design_points_refused_before_the_design_is_built(tmp_path):
    many = "".join(
        f'[[parameters]]\nname = "p{i}"\npath = "metrics.window"\nvalues = {list(range(1, 21))}\n'
        for i in range(1)
    )
    text = GOOD + many.replace('path = "metrics.window"', 'path = "metrics.cycle_window"')
    text += '[[parameters]]\nname = "q"\npath = "metrics.heading_window"\n'
    text += "range = [1, 20]\nnum = 20000\ninteger = true\n"
    err = error_of(tmp_path, text)
    assert err.field == "design"
    assert "800,000 design points; at most 100,000 allowed" in err.message


def test_a_typo_in_the_analysis_metric_is_found_on_load(tmp_path):
    err = error_of(tmp_path, GOOD + '[analysis]\nmetric = "profit_post_shfit"\n')
    assert err.field == "analysis.metric"
    assert "unknown outcome 'profit_post_shfit'; allowed: " in err.message
    assert "profit_post_shift" in err.message
    assert load_sweep(write(tmp_path, GOOD + '[analysis]\nmetric = "miles_sailed"\n'))


def test_identical_contrasts_refused(tmp_path):
    err = error_of(tmp_path, GOOD + '[analysis]\ncompare = ["aligned", "aligned"]\n')
    assert err.field == "analysis.compare"


# ------------------------------------------------------------------------------ [linked]

TOWN = {
    "name": "town",
    "scenario": "bakery_town",
    "seeds": 1,
    "root_seed": 1,
    "overrides": {"competition.entrants": {}, "competition.entry_rate": 0.0},
    "linked": {"competition.firms.efficiency_only": "5 - aligned_firms"},
    "parameters": [
        {"name": "aligned_firms", "path": "competition.firms.aligned", "values": [1, 2, 3, 4]},
    ],
}


def test_a_linked_path_follows_the_swept_values_at_every_point():
    """`[linked]`: the town keeps five bakeries whatever the number of aligned ones; a count
    stays a whole number (the scenario accepts no 3.0 firms)."""
    from sim.sweep.design import build_design

    sweep = sweep_from_dict(TOWN)
    points = build_design(sweep, root_seed=1).points
    assert points.columns.tolist() == ["point", "aligned_firms"]  # no column of its own
    for values in points.drop(columns="point").to_dict("records"):
        overrides = sweep.point_overrides(values)
        assert overrides["competition.firms.efficiency_only"] == 5 - values["aligned_firms"]
        assert type(overrides["competition.firms.efficiency_only"]) is int
        firms = sweep.scenario_at(values).competition.firms
        assert firms == {
            "efficiency_only": 5 - values["aligned_firms"],
            "aligned": values["aligned_firms"],
        }


def test_the_one_evaluator_keeps_counts_whole_and_divides_as_numbers():
    import numpy as np

    from sim.sweep.spec import arithmetic

    assert arithmetic("5 - a", {"a": np.int64(2)}) == 3
    assert type(arithmetic("5 - a", {"a": np.int64(2)})) is int
    assert arithmetic("a / (a + b)", {"a": 1, "b": 3}) == 0.25
    assert arithmetic("-(a - 2) * 2", {"a": 0.5}) == 3.0


@pytest.mark.parametrize(
    ("linked", "field", "message"),
    [
        (
            {"competition.firms.aligned": "5 - aligned_firms"},
            "linked.competition.firms.aligned",
            "already swept by 'aligned_firms'",
        ),
        (
            {"competition.firms.efficiency_only": "5 - silo_firms"},
            "linked.competition.firms.efficiency_only",
            "unknown parameter 'silo_firms'; allowed: aligned_firms",
        ),
        (
            {"competition.firms.efficiency_only": "max(1, aligned_firms)"},
            "linked.competition.firms.efficiency_only",
            "only + - * /",
        ),
        (
            {"competition.firms.efficiency_only": "4 - aligned_firms"},  # 0 silos at 4 aligned
            "design point 3",
            "invalid scenario",
        ),
    ],
)
def test_a_bad_linked_path_is_named(linked, field, message):
    with pytest.raises(SweepError) as error:
        sweep_from_dict({**TOWN, "linked": linked})
    assert error.value.field == field
    assert message in error.value.message


def test_the_where_alignment_pays_rivals_sweep_is_what_the_docs_say():
    """docs/sweeps.md: where_alignment_pays's six parameters and fixed overrides in bakery
    town without newcomers, plus the number of aligned bakeries of five (1 to 4), a Latin
    hypercube of 160 points x 8 seeds; every point has five bakeries."""
    from sim.sweep.design import build_design

    lone, town = load_sweep("where_alignment_pays"), load_sweep("where_alignment_pays_rivals")
    assert town.strategies == ("efficiency_only", "aligned")
    assert town.spec.seeds == 8 and town.spec.root_seed == lone.spec.root_seed
    assert town.spec.design == lone.spec.design
    assert town.parameters[:-1] == lone.parameters
    rivals = town.parameters[-1]
    assert (rivals.name, rivals.paths, rivals.range, rivals.integer) == (
        "aligned_firms",
        ("competition.firms.aligned",),
        (1.0, 4.0),
        True,
    )
    assert town.spec.linked == {"competition.firms.efficiency_only": "5 - aligned_firms"}
    for path, value in lone.spec.overrides.items():
        assert town.spec.overrides[path] == value
    assert town.base.competition.entrants == {} and town.base.competition.entry_rate == 0.0
    assert town.base.firm.start == "random" and town.base.firm.burn_in == 60
    points = build_design(town, root_seed=town.spec.root_seed).points
    assert set(points["aligned_firms"]) == {1, 2, 3, 4}
    for values in points.drop(columns="point").head(20).to_dict("records"):
        firms = town.scenario_at(values).competition.firms
        assert sum(firms.values()) == 5 and firms["aligned"] == values["aligned_firms"]
