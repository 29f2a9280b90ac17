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

from sim.plots import kpi_figure, sailing_figure, save_figures

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
                        "shift": SHIFT_LABEL if t == SHIFT else "",
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
    assert len(kpi.axes) == 4
    assert len(sailing.axes) == 2
    assert [ax.get_title(loc="left") for ax in kpi.axes] == [
        "Efficiency",
        "Market value",
        "Profit",
        "Cash",
    ]


def test_shift_marked_in_every_kpi_axis(kpi: Figure) -> None:
    for ax in kpi.axes:
        shift_lines = [ln for ln in ax.get_lines() if ln.get_gid() == "shift"]
        assert len(shift_lines) == 1
        assert list(shift_lines[0].get_xdata()) == [SHIFT, SHIFT]
        assert shift_lines[0].get_linestyle() == "--"
    labelled = [t.get_text() for ax in kpi.axes for t in ax.texts]
    assert len(labelled) == 1
    assert "health conscious" in labelled[0]


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
    for name in STRATEGIES:  # at most 8 faint seeds plus one mean path per strategy
        assert line(ax_map, f"mean:{name}").get_xdata().size == HORIZON + 1


def test_legends_plain_words_and_consistent_colours(kpi: Figure, sailing: Figure) -> None:
    kpi_labels = [t.get_text() for t in kpi.legends[0].get_texts()]
    assert kpi_labels[:2] == ["efficiency only", "aligned"]
    assert "market shift" in kpi_labels
    sailing_labels = [t.get_text() for t in sailing.legends[0].get_texts()]
    assert "efficiency only (mean)" in sailing_labels
    for name in STRATEGIES:
        colour = line(kpi.axes[0], f"mean:{name}").get_color()
        assert line(sailing.axes[0], f"mean:{name}").get_color() == colour
    warm = to_rgb(line(kpi.axes[0], "mean:efficiency_only").get_color())
    cool = to_rgb(line(kpi.axes[0], "mean:aligned").get_color())
    assert warm[0] > warm[2] and cool[2] > cool[0]


def test_other_strategies_and_no_shift(periods: pd.DataFrame) -> None:
    renamed = periods.assign(
        strategy=periods.strategy.astype(str).replace({"aligned": "aligned_no_sensing"}),
        shift="",
    )
    fig = kpi_figure(renamed)
    assert not [ln for ax in fig.axes for ln in ax.get_lines() if ln.get_gid() == "shift"]
    assert [t.get_text() for t in fig.legends[0].get_texts()][:2] == [
        "efficiency only",
        "aligned no sensing",
    ]
    sailing_figure(renamed.drop(columns=["shift", "alive"]))


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
