"""Figures from a small synthetic per-period table (2 strategies x 3 seeds x 21 periods)."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from scipy import stats

from sim.experiment import run_experiment
from sim.frames import decision_bits
from sim.plots import (
    PALETTE,
    STRATEGY_COLOURS,
    decisions_figure,
    kpi_figure,
    sailing_figure,
    save_figures,
)
from sim.scenario import load_scenario

STRATEGIES = ("efficiency_only", "aligned")
SEEDS = (0, 1, 2)
HORIZON = 20
SHIFT = 10
SHIFT_LABEL = "customers move to health_conscious"
EXIT = ("efficiency_only", 2, 14)  # strategy, seed, first period after exit


def make_periods() -> pd.DataFrame:
    """A periods table shaped like the experiment's, with one run exiting at period 14."""
    rng = np.random.default_rng(7)
    rows = []
    for s, strategy in enumerate(STRATEGIES):
        for seed in SEEDS:
            cash = 200.0
            for t in range(HORIZON + 1):
                rows.append(
                    {
                        "strategy": strategy,
                        "seed": seed,
                        "period": t,
                        "efficiency": 0.6 + 0.01 * t + 0.05 * s + rng.normal(0, 0.02),
                        "market_value": 0.9 - 0.4 * (t >= SHIFT) + rng.normal(0, 0.02),
                        "profit": 10.0 - 8.0 * (t >= SHIFT) + rng.normal(0, 1.0),
                        "miles": int(rng.integers(0, 3)) if t else 0,
                        "distance_to_port": int(rng.integers(1, 8)),
                        "alive": True,
                        "market_shift": SHIFT_LABEL if t == SHIFT else "",
                    }
                )
                cash += rows[-1]["profit"]
                rows[-1]["cash"] = cash
    frame = pd.DataFrame(rows)
    strategy, seed, exit_period = EXIT
    gone = (frame.strategy == strategy) & (frame.seed == seed) & (frame.period >= exit_period)
    frame.loc[gone, ["efficiency", "market_value"]] = np.nan
    frame.loc[gone, ["profit", "miles", "distance_to_port"]] = 0  # as the simulation logs them
    frame.loc[gone, "alive"] = False
    frozen = frame.loc[
        (frame.strategy == strategy) & (frame.seed == seed) & (frame.period == exit_period - 1),
        "cash",
    ].item()
    frame.loc[gone, "cash"] = frozen
    frame["strategy"] = pd.Categorical(frame["strategy"], categories=list(STRATEGIES))
    return frame


@pytest.fixture(scope="module")
def periods() -> pd.DataFrame:
    return make_periods()


@pytest.fixture(scope="module")
def kpi(periods: pd.DataFrame) -> Figure:
    return kpi_figure(periods, money_unit="k€ per month", title="Synthetic")


@pytest.fixture(scope="module")
def sailing(periods: pd.DataFrame) -> Figure:
    return sailing_figure(periods, title="Synthetic")


def line(ax, gid: str):
    (found,) = [ln for ln in ax.get_lines() if ln.get_gid() == gid]
    return found


def independent_mean(periods: pd.DataFrame, strategy: str, column: str) -> np.ndarray:
    """Mean over seeds per period, by plain numpy (NaNs of exited firms ignored)."""
    values = np.array(
        [
            periods.loc[(periods.strategy == strategy) & (periods.seed == seed), column]
            for seed in SEEDS
        ],
        dtype=float,
    )
    return np.nanmean(values, axis=0)


def test_save_figures_writes_two_pngs(periods: pd.DataFrame, tmp_path: Path) -> None:
    out = tmp_path / "figures"
    paths = save_figures(periods, out, money_unit="k€ per month", title="Synthetic")
    assert [p.name for p in paths] == ["kpi.png", "sailing_in_circles.png"]
    for path in paths:
        assert path.parent == out
        data = path.read_bytes()
        assert len(data) > 10_000
        assert data[:8] == b"\x89PNG\r\n\x1a\n"


def test_figures_have_expected_axes(kpi: Figure, sailing: Figure) -> None:
    assert len(kpi.axes) == 5
    assert len(sailing.axes) == 2
    assert [ax.get_title(loc="left") for ax in kpi.axes] == [
        "Efficiency (firms open)",
        "Market value (firms open)",
        "Profit (all firms, 0 once closed)",
        "Cash (all firms)",
        "Firms open",
    ]


def test_share_of_firms_open(periods: pd.DataFrame, kpi: Figure) -> None:
    strategy, _, exit_period = EXIT
    share = line(kpi.axes[4], f"open:{strategy}").get_ydata()
    assert share[exit_period - 1] == 100 and share[exit_period] == pytest.approx(100 * 2 / 3)
    assert set(line(kpi.axes[4], "open:aligned").get_ydata()) == {100}


def test_shift_marked_in_every_kpi_axis_and_named_in_the_legend(kpi: Figure) -> None:
    for ax in kpi.axes:
        shift_lines = [ln for ln in ax.get_lines() if ln.get_gid() == "shift"]
        assert len(shift_lines) == 1
        assert list(shift_lines[0].get_xdata()) == [SHIFT, SHIFT]
        assert shift_lines[0].get_linestyle() == "--"
        assert not ax.texts  # no text over the data
    legend = [t.get_text() for t in kpi.legends[0].get_texts()]
    assert f"market shift at {SHIFT}: customers move to health conscious" in legend


def test_turbulence_is_a_rug_with_one_legend_entry(periods: pd.DataFrame) -> None:
    # every seed shifts at its own periods, as under turbulence
    rng = np.random.default_rng(3)
    turbulent = periods.assign(
        market_shift=np.where(rng.random(len(periods)) < 0.15, "customers move to regime b", "")
    )
    fig = kpi_figure(turbulent)
    for ax in fig.axes:
        assert not [ln for ln in ax.get_lines() if ln.get_gid() == "shift"]
        assert [c for c in ax.collections if c.get_gid() == "shift-rug"]
        assert not ax.texts
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert sum("market shift" in text for text in legend) == 1


def test_money_axes_use_money_unit(kpi: Figure) -> None:
    assert "k€ per month" in kpi.axes[2].get_ylabel()
    assert "k€" in kpi.axes[3].get_ylabel()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_efficiency_mean_line_is_mean_over_seeds(
    periods: pd.DataFrame, kpi: Figure, strategy: str
) -> None:
    mean = line(kpi.axes[0], f"mean:{strategy}")
    np.testing.assert_array_equal(mean.get_xdata(), np.arange(HORIZON + 1))
    np.testing.assert_allclose(mean.get_ydata(), independent_mean(periods, strategy, "efficiency"))


def test_nan_after_exit_are_ignored(periods: pd.DataFrame, kpi: Figure) -> None:
    strategy, seed, exit_period = EXIT
    mean = line(kpi.axes[1], f"mean:{strategy}").get_ydata()
    assert np.all(np.isfinite(mean))
    survivors = periods[
        (periods.strategy == strategy) & (periods.seed != seed) & (periods.period >= exit_period)
    ]
    np.testing.assert_allclose(
        mean[exit_period:], survivors.groupby("period").market_value.mean().to_numpy()
    )
    # the confidence band over the two survivors is still drawn (finite) after the exit
    band = kpi.axes[1].collections[STRATEGIES.index(strategy)]
    assert np.all(np.isfinite(band.get_paths()[0].vertices))


def test_confidence_band_is_student_t(periods: pd.DataFrame, kpi: Figure) -> None:
    strategy, t = "aligned", 5
    values = periods.loc[(periods.strategy == strategy) & (periods.period == t), "profit"]
    lo, hi = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
    band = kpi.axes[2].collections[STRATEGIES.index(strategy)]
    vertices = band.get_paths()[0].vertices
    at_t = vertices[np.isclose(vertices[:, 0], t), 1]
    assert at_t.min() == pytest.approx(lo)
    assert at_t.max() == pytest.approx(hi)


def test_sailing_ignores_distance_logged_after_exit(periods: pd.DataFrame, sailing: Figure) -> None:
    strategy, _, exit_period = EXIT
    alive = periods[periods.alive]
    expected = (
        alive[alive.strategy == strategy].groupby("period").distance_to_port.mean().to_numpy()
    )
    mean = line(sailing.axes[1], f"mean:{strategy}").get_ydata()
    np.testing.assert_allclose(mean, expected)
    assert mean[exit_period:].min() >= 1  # the exited firm's logged 0 is not "in port"


def test_sailing_markers_and_note(sailing: Figure) -> None:
    ax_map, ax_sail = sailing.axes
    for ax in (ax_map, ax_sail):
        markers = {ln.get_marker() for ln in ax.get_lines() if ln.get_linestyle() == "None"}
        assert {"o", "*", "s"} <= markers
    assert any("sailing in circles" in t.get_text() for t in ax_sail.texts)
    for name in STRATEGIES:  # one mean path and one typical seed per strategy
        assert line(ax_map, f"mean:{name}").get_xdata().size == HORIZON + 1
        assert len([ln for ln in ax_map.get_lines() if ln.get_gid() == f"typical:{name}"]) == 1


def test_typical_seed_is_the_one_closest_to_the_mean(periods: pd.DataFrame) -> None:
    # seed 1 of the aligned firm sits on the mean; seeds 0 and 2 far on either side
    frame = periods[periods.strategy == "aligned"].copy()
    for seed, offset in ((0, -0.2), (1, 0.0), (2, 0.2)):
        at = frame.seed == seed
        frame.loc[at, "efficiency"] = 0.5 + offset + 0.001 * frame.loc[at, "period"]
    fig = sailing_figure(frame)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "aligned: seed 1 (typical)" in legend


def test_legends_plain_words_and_consistent_colours(kpi: Figure, sailing: Figure) -> None:
    kpi_labels = [t.get_text() for t in kpi.legends[0].get_texts()]
    assert kpi_labels[:2] == ["efficiency only", "aligned"]
    assert any(label.startswith("market shift at ") for label in kpi_labels)
    sailing_labels = [t.get_text() for t in sailing.legends[0].get_texts()]
    assert "efficiency only (mean)" in sailing_labels
    assert any(label.startswith("aligned: seed ") for label in sailing_labels)
    for name in STRATEGIES:
        colour = line(kpi.axes[0], f"mean:{name}").get_color()
        assert line(sailing.axes[0], f"mean:{name}").get_color() == colour
    warm = to_rgb(line(kpi.axes[0], "mean:efficiency_only").get_color())
    cool = to_rgb(line(kpi.axes[0], "mean:aligned").get_color())
    assert warm[0] > warm[2] and cool[2] > cool[0]


def test_other_strategies_and_no_shift(periods: pd.DataFrame) -> None:
    renamed = periods.assign(
        strategy=periods.strategy.astype(str).replace({"aligned": "aligned_no_sensing"}),
        market_shift="",
    )
    fig = kpi_figure(renamed)
    assert not [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "shift"]
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == [
        "efficiency only",
        "aligned no sensing",
    ]
    sailing_figure(renamed.drop(columns=["market_shift", "alive"]))


def test_thread_safe_without_pyplot(periods: pd.DataFrame, tmp_path: Path) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda i: save_figures(periods, tmp_path / str(i)), range(2)))
    assert all(p.stat().st_size > 0 for paths in results for p in paths)
    code = (
        "import sys, sim.plots, tests.test_plots as t; "
        "sim.plots.kpi_figure(t.make_periods()); sim.plots.sailing_figure(t.make_periods()); "
        "assert 'matplotlib.pyplot' not in sys.modules"
    )
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_missing_columns_are_reported(periods: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="cash"):
        kpi_figure(periods.drop(columns=["cash"]))


def _lab(colour: str, deficiency: str | None = None) -> np.ndarray:
    """CIELAB of an sRGB colour, optionally as a deutan or protan sees it (Vienot et al. 1999)."""
    rgb = np.array(to_rgb(colour))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    simulate = {
        "protan": [[0.11238, 0.88762, 0.0], [0.11238, 0.88762, 0.0], [0.00401, -0.00401, 1.0]],
        "deutan": [[0.29275, 0.70725, 0.0], [0.29275, 0.70725, 0.0], [-0.02234, 0.02234, 1.0]],
    }
    if deficiency:
        linear = np.clip(np.array(simulate[deficiency]) @ linear, 0, 1)
    xyz = (
        np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
        @ linear
        / np.array([0.95047, 1.0, 1.08883])
    )
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


@pytest.mark.parametrize("deficiency", [None, "deutan", "protan"])
def test_palette_keeps_seven_strategies_apart(deficiency: str | None) -> None:
    colours = [*STRATEGY_COLOURS.values(), *PALETTE[:5]]
    labs = [_lab(c, deficiency) for c in colours]
    closest = min(
        float(np.linalg.norm(labs[i] - labs[j]))
        for i in range(len(labs))
        for j in range(i + 1, len(labs))
    )
    assert closest > 20, f"two strategy colours differ by only {closest:.1f} (CIELAB)"


def test_decision_timeline_draws_the_decoded_configurations() -> None:
    scenario = load_scenario("bakery_gluten_free", {"horizon": 70})
    periods = run_experiment(scenario, seeds=[2, 3]).periods
    fig = decisions_figure(periods, scenario, seed=3, changes=[(30, "alignment 0.3")])
    rasters = {image.get_gid(): image.get_array() for ax in fig.axes for image in ax.get_images()}
    assert set(rasters) == {"raster:efficiency_only", "raster:aligned"}
    for name in ("efficiency_only", "aligned"):
        run = periods[(periods.strategy == name) & (periods.seed == 3)].sort_values("period")
        expected = decision_bits(run["config"].to_numpy(), len(scenario.decisions)).T
        np.testing.assert_array_equal(np.asarray(rasters[f"raster:{name}"]), expected)
    marks = {ln.get_gid() for ax in fig.axes for ln in ax.get_lines()}
    assert {"shift", "change", "efficiency:aligned", "market_value:aligned"} <= marks
    ticks = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert ticks[0] == "large batches" and len(ticks) == len(scenario.decisions)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "changed live: 30 alignment 0.3" in legend
    one = decisions_figure(periods, scenario, seed=3, strategies=["aligned"])
    assert len(one.axes) == 2
    with pytest.raises(ValueError, match="no run on seed 9"):
        decisions_figure(periods, scenario, seed=9)
    with pytest.raises(ValueError, match="allowed: efficiency_only, aligned"):
        decisions_figure(periods, scenario, seed=3, strategies=["lucky"])


def test_debrief_figure_draws_every_market_the_means_and_one_marked() -> None:
    from sim.plots import debrief_figure

    rng = np.random.default_rng(0)
    data = {
        c: rng.normal(size=(2, 5, 41)) for c in ("efficiency", "market_value", "profit", "cash")
    }
    fig = debrief_figure(
        data,
        labels=["a", "b"],
        colours=["#D55E00", "#0072B2"],
        shift_periods=[20],
        highlight=3,
        highlight_label="yours",
        note="a sentence",
    )
    ax = fig.axes[2]
    lines = ax.get_lines()
    assert len([ln for ln in lines if ln.get_linewidth() == 0.8]) == 2 * 5
    means = [ln for ln in lines if ln.get_linewidth() == 2.8]
    np.testing.assert_allclose(means[0].get_ydata(), data["profit"][0].mean(axis=0))
    marked = [ln for ln in lines if ln.get_gid() == "highlight"]
    np.testing.assert_array_equal(marked[1].get_ydata(), data["profit"][1, 3])
    assert "yours" in [t.get_text() for t in fig.legends[0].get_texts()]
    assert any(t.get_text() == "a sentence" for t in fig.texts)
    assert fig.axes[0].get_ylim() == fig.axes[1].get_ylim()  # efficiency and value share a scale


def test_limits_grow_with_room_to_spare_and_never_shrink():
    from sim.plots import grown_limits

    assert grown_limits((0.0, 1.0), np.array([0.2, 0.8]), pad=0.25, min_span=2.0) == (0.0, 1.0)
    lo, hi = grown_limits((-1.0, 1.0), np.array([0.0, 17.3]), pad=0.25, min_span=2.0)
    assert lo <= -1.0 and hi >= 17.3 + 0.25 * 17.3 - 1e-9
    assert grown_limits((lo, hi), np.array([3.0]), pad=0.25, min_span=2.0) == (lo, hi)
    assert grown_limits((0.0, 1.0), np.array([np.nan]), pad=0.25, min_span=2.0) == (0.0, 1.0)


# ------------------------------------------------------------------ issue 20: readable figures


def _turbulent(periods: pd.DataFrame) -> pd.DataFrame:
    """Every seed shifting at its own periods, as under turbulence."""
    rng = np.random.default_rng(3)
    return periods.assign(
        market_shift=np.where(rng.random(len(periods)) < 0.15, "customers move to regime b", "")
    )


def test_every_kpi_panel_labels_its_periods(kpi: Figure) -> None:
    """The top panels had no period tick labels (only the strip at the bottom had)."""
    kpi.canvas.draw()
    for ax in kpi.axes:
        labels = [t.get_text() for t in ax.get_xticklabels() if t.get_visible()]
        assert any(label.strip() for label in labels), ax.get_title()
        assert all(tick.label1.get_visible() for tick in ax.xaxis.get_major_ticks())


def test_sailing_under_turbulence_shows_a_moving_average_over_a_faint_mean(
    periods: pd.DataFrame,
) -> None:
    """Under turbulence the mean of each period jumps with the seeds' regimes (a tangle): the
    thick path is its moving average from the first shift on, the raw mean and the typical
    seed thin and faint behind it; without turbulence nothing changes."""
    from sim.plots import TURBULENT_WINDOW

    turbulent = _turbulent(periods)
    fig = sailing_figure(turbulent)
    ax = fig.axes[0]
    raw, mean = line(ax, "raw-mean:aligned"), line(ax, "mean:aligned")
    assert raw.get_alpha() < 0.5 and raw.get_linewidth() < mean.get_linewidth()
    typical = line(ax, "typical:aligned")
    assert typical.get_alpha() < 0.5
    # the thick path is the centred moving average of the raw mean after the first shift
    first = int(turbulent.loc[turbulent.market_shift != "", "period"].min())
    y_raw = pd.Series(raw.get_ydata(), dtype=float)
    after = np.arange(len(y_raw)) >= first
    expected = y_raw.where(
        ~after, y_raw[after].rolling(TURBULENT_WINDOW, center=True, min_periods=1).mean()
    )
    np.testing.assert_allclose(mean.get_ydata(), expected.to_numpy())
    assert np.abs(np.diff(mean.get_ydata()[after])).sum() < np.abs(np.diff(y_raw[after])).sum()
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert f"aligned (mean; {TURBULENT_WINDOW}-period moving average)" in legend
    calm = sailing_figure(periods)
    assert not [ln for a in calm.axes for ln in a.get_lines() if ln.get_gid() == "raw-mean:aligned"]
    assert "aligned (mean)" in [t.get_text() for t in calm.legends[0].get_texts()]


def test_decision_timeline_summarises_many_shifts_in_one_short_legend_entry() -> None:
    scenario = load_scenario(
        "bakery_gluten_free",
        {
            "horizon": 120,
            "market.shifts": [
                {"kind": "turbulence", "probability": 0.2, "start": 10, "change": "regime"}
            ],
        },
    )
    periods = run_experiment(scenario, seeds=[1]).periods
    shifts = sorted(periods.loc[periods.market_shift != "", "period"].unique())
    assert len(shifts) > 10  # the case of the issue: 21 periods listed in the legend
    fig = decisions_figure(periods, scenario, seed=1)
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    entry = [t for t in legend if "market shift" in t]
    assert entry == [f"market shifts: {len(shifts)}, periods {shifts[0]} to {shifts[-1]}"]
    lines = [ln for ln in fig.axes[0].get_lines() if ln.get_gid() == "shift"]
    assert len(lines) == len(shifts) and all(ln.get_linewidth() < 1.2 for ln in lines)


def test_decision_timeline_marks_every_switch_of_the_storys_key_decisions() -> None:
    """marketing_sales_silo: the aligned installer switches lead scoring on at period 1, a
    one-period sliver of the raster; the switch is marked and labelled with its period."""
    from sim.plots import key_decisions

    scenario = load_scenario("marketing_sales_silo")
    assert key_decisions(scenario) == ["automated_campaigns", "lead_scoring"]
    assert key_decisions(load_scenario("bakery_gluten_free")) == []
    seed = 2
    periods = run_experiment(scenario, seeds=[seed]).periods
    fig = decisions_figure(periods, scenario, seed=seed)
    row = list(scenario.decisions).index("lead_scoring")
    for col, name in enumerate(("efficiency_only", "aligned")):
        raster = fig.axes[2 * col + 1]
        run = periods[periods.strategy == name].sort_values("period")
        bits = decision_bits(run["config"].to_numpy(), len(scenario.decisions)).T
        switches = {
            r: [
                (int(run["period"].iloc[i]), int(bits[r, i]))
                for i in np.flatnonzero(np.diff(bits[r]) != 0) + 1
            ]
            for r in (0, row)
        }
        marks = [ln for ln in raster.get_lines() if ln.get_gid() == "switch"]
        assert len(marks) == sum(map(len, switches.values())), name
        labels = sorted(t.get_text() for t in raster.texts if t.get_gid() == "switch-label")
        labelled = [s for r in switches for s in switches[r][:2]]  # two a row at most
        assert labels == sorted(f"{'on' if on else 'off'} at {p}" for p, on in labelled)
    aligned = fig.axes[3]
    assert "on at 1" in [t.get_text() for t in aligned.texts]  # the story's key moment
    bold = [t.get_text() for t in fig.axes[1].get_yticklabels() if t.get_fontweight() == "bold"]
    assert bold == ["automated campaigns", "lead scoring"]


def test_cycling_validation_figure_keeps_legend_off_the_curves_in_safe_colours() -> None:
    from matplotlib.colors import to_hex

    from sim.validation.experiments import Outcome
    from sim.validation.figures import ALPHA_COLOURS, ethiraj_levinthal

    cross = (0, 1, 2, 4)
    designs = [
        f"{mode}, alpha={a}" for mode in ("decentralized", "sequential") for a in (0, 0.5, 1)
    ]
    share = {d: {c: 0.1 * c * (i + 1) / 6 for c in cross} for i, d in enumerate(designs)}
    outcome = Outcome(
        "ethiraj_levinthal_2004",
        curves={"share": share, "cross": cross, "independent": {designs[0]: {1: 0.05, 4: 0.3}}},
    )
    fig = ethiraj_levinthal(outcome)
    fig.canvas.draw()
    (ax,) = fig.axes
    assert ax.get_legend() is None and len(fig.legends) == 1  # the figure's, below the axes
    legend_box = fig.legends[0].get_window_extent()
    assert legend_box.y1 <= ax.get_window_extent().y0
    assert [float(t) for t in ax.get_xticks()] == [0.0, 1.0, 2.0, 4.0]  # C is whole
    colours = {to_hex(ln.get_color()) for ln in ax.get_lines() if ln.get_label() in designs}
    assert colours == {c.lower() for c in ALPHA_COLOURS}
    for deficiency in (None, "deutan", "protan"):
        labs = [_lab(c, deficiency) for c in ALPHA_COLOURS]
        closest = min(np.linalg.norm(labs[i] - labs[j]) for i in range(3) for j in range(i + 1, 3))
        assert closest > 20, deficiency
