"""Published NK experiments on organisations, run as scenarios of this model.

Each experiment loads its scenario from `scenarios/validation/` with the one scenario loader,
varies it through dotted-path overrides, runs the one model (`sim.model.Market`, through
`sim.experiment` where a firm is measured per run), and compares what it measures with the
published numbers. See docs/validation.md for protocols, sources and tolerances.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiment import run_experiment, run_markets
from sim.landscape import local_peaks
from sim.model import Market
from sim.scenario import SCENARIO_DIR, load_scenario
from sim.scenario.schema import Scenario

VALIDATION_DIR = SCENARIO_DIR / "validation"

# Published values (read off the papers' figures and tables; see docs/validation.md).
KAUFFMAN_PEAKS_K_N_MINUS_1 = 2**10 / 11  # 93.1 for N = 10
LEVINTHAL_FIG1 = {  # mean number of distinct forms, local search only
    0: {4: 24.0, 8: 2.0, 20: 1.0},
    1: {4: 36.2, 8: 7.4, 10: 4.9, 20: 3.9},
    5: {4: 48.8, 8: 28.2, 10: 27.3, 20: 26.8},
}
LEVINTHAL_FIG6 = {  # % of incumbents (alive at t = 23 and 24) still alive
    0: {33: 99.7, 49: 99.7},
    1: {29: 94.9, 33: 91.5, 41: 86.1, 49: 83.1},
    5: {29: 82.1, 33: 71.9, 41: 59.2, 49: 52.0},
}
LEVINTHAL_FIG8 = {2: 9.0, 3: 15.9, 4: 25.2, 5: 36.0, 6: 45.5, 7: 60.0, 8: 75.6}  # local peaks

RELATIVE_TOLERANCE = 0.10  # published values are read off figures (see docs/validation.md)
Z = 3.0  # sampling allowance: 3 standard errors of the model's mean


@dataclass(frozen=True)
class Measure:
    """One published number (or claim) next to the model's."""

    experiment: str
    measure: str
    published: str
    model: str
    tolerance: str
    ok: bool
    z: float = float("nan")  # (model - published) / standard error of the model's mean


@dataclass
class Outcome:
    """An experiment's measures and the curves its figure draws."""

    name: str
    measures: list[Measure] = field(default_factory=list)
    curves: dict[str, Any] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass(frozen=True)
class Size:
    """How much to run: the published protocol (full) or a small version (quick)."""

    kauffman_landscapes: int
    levinthal_landscapes: int
    peak_landscapes: int
    rs_landscapes: int
    rs_ks: tuple[int, ...]
    rs_incents: tuple[float, ...]
    el_runs: int
    el_horizon: int

    @classmethod
    def of(cls, quick: bool) -> Size:
        if quick:
            return cls(60, 20, 30, 60, (0, 2, 5), (0.0,), 40, 60)
        return cls(300, 100, 100, 500, (0, 1, 2, 3, 4, 5), (0.0, 1.0), 200, 100)


def scenario(name: str, overrides: dict[str, Any] | None = None) -> Scenario:
    """A validation scenario with overrides, through the one loader."""
    return load_scenario(VALIDATION_DIR / f"{name}.toml", overrides)


def compare(
    experiment: str, measure: str, published: float, samples: Iterable[float], *, floor: float = 0.0
) -> Measure:
    """Model mean vs a published value; allowed gap = max(10% of it, floor) + 3 standard errors."""
    x = np.asarray(list(samples), dtype=float)
    mean = float(x.mean())
    se = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else 0.0
    allowed = max(RELATIVE_TOLERANCE * abs(published), floor) + Z * se
    return Measure(
        experiment,
        measure,
        f"{published:.3g}",
        f"{mean:.3g}",
        f"±{allowed:.2g} (10%{f' or {floor:g}' if floor else ''} + 3 SE)",
        abs(mean - published) <= allowed,
        (mean - published) / se if se > 0 else float("nan"),
    )


def claim(experiment: str, measure: str, published: str, model: str, ok: bool) -> Measure:
    """A qualitative published result (an ordering) and whether the model shows it."""
    return Measure(experiment, measure, published, model, "the ordering holds", bool(ok))


def _increasing(values: list[float]) -> bool:
    return all(a < b for a, b in itertools.pairwise(values))


# ---- landscapes ----
def landscape_peaks(name: str, k: int, seeds: int) -> tuple[np.ndarray, np.ndarray]:
    """Local peaks and global maximum of the scenario's landscape for ``seeds`` seeds."""
    sc = scenario(name, {"market.k": k})
    peaks, best = np.empty(seeds), np.empty(seeds)
    for seed in range(seeds):
        performance = Market(scenario=sc, strategies=[], rng=seed).landscape_performance
        peaks[seed] = local_peaks(performance).sum()
        best[seed] = performance.max()
    return peaks, best


def kauffman_1993(size: Size) -> Outcome:
    out = Outcome("Kauffman 1993")
    peaks0, best0 = landscape_peaks("kauffman_1993", 0, size.kauffman_landscapes)
    peaks9, _ = landscape_peaks("kauffman_1993", 9, size.kauffman_landscapes)
    out.measures += [
        claim(
            out.name,
            "K=0: local peaks",
            "1",
            f"{peaks0.min():g}-{peaks0.max():g}",
            bool((peaks0 == 1).all()),
        ),
        compare(out.name, "K=0: mean fitness of the peak", 2 / 3, best0),
        compare(out.name, "K=N-1: mean local peaks", KAUFFMAN_PEAKS_K_N_MINUS_1, peaks9),
    ]
    out.curves = {"K=N-1 peaks": float(peaks9.mean())}
    return out


def levinthal_fig8(size: Size) -> Outcome:
    out = Outcome("Levinthal 1997 Fig. 8")
    means = {}
    for k, published in LEVINTHAL_FIG8.items():
        peaks, _ = landscape_peaks("levinthal_1997", k, size.peak_landscapes)
        means[k] = float(peaks.mean())
        out.measures.append(compare(out.name, f"K={k}: mean local peaks", published, peaks))
    out.measures.append(
        claim(
            out.name,
            "peaks grow with K",
            "increasing",
            "increasing" if _increasing(list(means.values())) else "not increasing",
            _increasing(list(means.values())),
        )
    )
    out.curves = {"model": means, "published": LEVINTHAL_FIG8}
    return out


# ---- populations ----
def _population_runs(
    overrides: dict[str, Any], landscapes: int, measure: Callable[[Market], np.ndarray]
) -> np.ndarray:
    sc = scenario("levinthal_1997", overrides)
    return np.array([measure(m) for m in run_markets(sc, range(landscapes), ["levinthal"])])


def levinthal_fig1(size: Size) -> Outcome:
    out = Outcome("Levinthal 1997 Fig. 1")
    local_only = {
        "population.selection": "none",
        "strategies.levinthal.p_jump": 0.0,
        "market.shifts": [],
    }
    curves = {}
    for k, targets in LEVINTHAL_FIG1.items():
        forms = _population_runs(
            {**local_only, "market.k": k},
            size.levinthal_landscapes,
            lambda m: m.populations[0].log.distinct_forms(),
        )
        curves[k] = forms.mean(axis=0)
        for t, published in targets.items():
            out.measures.append(
                compare(
                    out.name, f"K={k}, t={t}: distinct forms", published, forms[:, t], floor=1.0
                )
            )
    for t in (4, 8, 20):
        values = [float(curves[k][t]) for k in (0, 1, 5)]
        out.measures.append(
            claim(
                out.name,
                f"t={t}: forms grow with K",
                "K=0 < K=1 < K=5",
                " < ".join(f"{v:.1f}" for v in values),
                _increasing(values),
            )
        )
    out.curves = {"model": curves, "published": LEVINTHAL_FIG1}
    return out


INCUMBENTS_AT = (23, 24)
SURVIVAL_PERIODS = list(range(24, 51))


def levinthal_fig6(size: Size) -> Outcome:
    out = Outcome("Levinthal 1997 Fig. 6")
    curves = {}
    for k, targets in LEVINTHAL_FIG6.items():
        survival = 100 * _population_runs(
            {"market.k": k},
            size.levinthal_landscapes,
            lambda m: m.populations[0].log.incumbent_survival(INCUMBENTS_AT, SURVIVAL_PERIODS),
        )
        curves[k] = survival.mean(axis=0)
        for t, published in targets.items():
            column = SURVIVAL_PERIODS.index(t)
            out.measures.append(
                compare(
                    out.name, f"K={k}, t={t}: % incumbents alive", published, survival[:, column]
                )
            )
    last = SURVIVAL_PERIODS.index(49)  # the figure's last period (the curves run to 50)
    final = [float(curves[k][last]) for k in (5, 1, 0)]
    out.measures.append(
        claim(
            out.name,
            "t=49: survival falls with K",
            "K=0 > K=1 > K=5",
            " > ".join(f"{v:.1f}" for v in final[::-1]),
            _increasing(final),
        )
    )
    out.curves = {"model": curves, "published": LEVINTHAL_FIG6, "periods": SURVIVAL_PERIODS}
    return out


# ---- single firms over many landscapes ----
RS_DESIGNS = {  # name: (strategy in the scenario, proposals)
    "rubber-stamp": ("rubber_stamp", 1),
    "active CEO, P=1": ("active_ceo", 1),
    "active CEO, P=2": ("active_ceo", 2),
}


def incent_to_alpha(incent: float) -> float:
    """Alignment coupling equivalent to R&S's Incent for two equal departments."""
    return 2 * incent / (1 + incent)


def rivkin_siggelkow_2003(size: Size) -> Outcome:
    out = Outcome("Rivkin & Siggelkow 2003")
    table: dict[tuple[int, float, str], dict[str, float]] = {}
    runs_by_cell = {}
    for k in size.rs_ks:
        for incent in size.rs_incents:
            alpha = incent_to_alpha(incent)
            for design, (strategy, proposals) in RS_DESIGNS.items():
                sc = scenario(
                    "rivkin_siggelkow_2003",
                    {
                        "efficiency.k": k,
                        f"strategies.{strategy}.alpha": alpha,
                        f"strategies.{strategy}.proposals": proposals,
                    },
                )
                runs = run_experiment(
                    sc, strategies=[strategy], seeds=size.rs_landscapes, periods=False
                ).runs.set_index("seed")
                runs_by_cell[k, incent, design] = runs
                table[k, incent, design] = {
                    "normalised": float(runs["performance_norm_post_shift"].mean()),
                    "raw": float(runs["efficiency_post_shift"].mean()),
                }
    for incent in size.rs_incents:
        for k in size.rs_ks:
            stamp = runs_by_cell[k, incent, "rubber-stamp"]["performance_norm_post_shift"]
            ceo = runs_by_cell[k, incent, "active CEO, P=2"]["performance_norm_post_shift"]
            diff = ceo - stamp
            if k == 0:
                spread = max(
                    abs(table[0, incent, d]["normalised"] - table[0, incent, e]["normalised"])
                    for d in RS_DESIGNS
                    for e in RS_DESIGNS
                )
                out.measures.append(
                    claim(
                        out.name,
                        f"K=0, Incent={incent:g}: designs reach the same performance",
                        "equal",
                        f"largest gap {spread:.4f}",
                        spread < 0.005,
                    )
                )
                raw = runs_by_cell[0, incent, "rubber-stamp"]["efficiency_post_shift"]
                out.measures.append(
                    compare(out.name, f"K=0, Incent={incent:g}: raw performance", 2 / 3, raw)
                )
            else:
                p = stats.ttest_1samp(diff, 0.0, alternative="greater").pvalue
                out.measures.append(
                    claim(
                        out.name,
                        f"K={k}, Incent={incent:g}: active CEO (P=2) beats rubber-stamp",
                        "CEO > stamp",
                        f"+{diff.mean():.3f} (p={p:.1g})"
                        if diff.mean() > 0
                        else f"{diff.mean():.3f}",
                        diff.mean() > 0 and p < 0.05,
                    )
                )
    out.curves = {"table": table, "ks": size.rs_ks, "incents": size.rs_incents}
    out.tables["rivkin_siggelkow_2003"] = pd.DataFrame(
        [
            {
                "K": k,
                "Incent": incent,
                "design": design,
                "performance_normalised": values["normalised"],
                "performance_raw": values["raw"],
            }
            for (k, incent, design), values in table.items()
        ]
    )
    return out


EL_CROSS = (0, 1, 2, 4)
EL_DESIGNS = {  # name: (coordination, alpha)
    f"{mode}, alpha={alpha:g}": (mode, alpha)
    for mode in ("decentralized", "sequential")
    for alpha in (0.0, 0.5, 1.0)
}


def ethiraj_levinthal_2004(size: Size) -> Outcome:
    out = Outcome("Ethiraj & Levinthal 2004")
    share: dict[str, dict[int, float]] = {d: {} for d in EL_DESIGNS}
    for c in EL_CROSS:
        for design, (mode, alpha) in EL_DESIGNS.items():
            sc = scenario(
                "ethiraj_levinthal_2004",
                {
                    "efficiency.cross": c,
                    "horizon": size.el_horizon,
                    "strategies.silos.coordination": mode,
                    "strategies.silos.alpha": alpha,
                },
            )
            runs = run_experiment(sc, seeds=size.el_runs, periods=False).runs
            share[design][c] = float(runs["cycled"].mean())
    at_zero = max(share[d][0] for d in EL_DESIGNS)
    out.measures.append(
        claim(
            out.name,
            "C=0: no cycles in any design",
            "0%",
            f"at most {100 * at_zero:.0f}%",
            at_zero == 0.0,
        )
    )
    silo = [share["decentralized, alpha=0"][c] for c in EL_CROSS]
    out.measures.append(
        claim(
            out.name,
            "decentralized silos (alpha=0): cycling grows with C",
            "grows",
            " / ".join(f"{100 * v:.0f}%" for v in silo),
            silo[-1] > silo[0] and silo[-1] >= max(silo[:-1]),
        )
    )
    seq = [share["sequential, alpha=1"][c] for c in EL_CROSS]
    out.measures.append(
        claim(
            out.name,
            "sequential, alpha=1: no cycles at any C",
            "0%",
            f"at most {100 * max(seq):.0f}%",
            max(seq) == 0.0,
        )
    )
    out.curves = {"share": share, "cross": EL_CROSS}
    out.tables["ethiraj_levinthal_2004"] = pd.DataFrame(
        [
            {"C": c, "design": design, "share_cycling": values[c]}
            for design, values in share.items()
            for c in EL_CROSS
        ]
    )
    return out


EXPERIMENTS: dict[str, Callable[[Size], Outcome]] = {
    "kauffman_1993": kauffman_1993,
    "levinthal_1997_fig1": levinthal_fig1,
    "levinthal_1997_fig6": levinthal_fig6,
    "levinthal_1997_fig8": levinthal_fig8,
    "rivkin_siggelkow_2003": rivkin_siggelkow_2003,
    "ethiraj_levinthal_2004": ethiraj_levinthal_2004,
}
