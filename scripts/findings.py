"""Write docs/findings.md: what the model finds, every number computed here (none typed).

Run: `.venv/bin/python scripts/findings.py [--seeds 200] [--sweep-seeds N] [--rivals-seeds N]
[--rivals-samples N] [--sections NAME ...] [--out docs/findings.md]`. Sections 1 and 2 run at
200 seeds; section 3 runs the shipped sweep `where_alignment_pays` seven times (once as shipped,
six robustness variants), at its file's seeds per point unless `--sweep-seeds`; section 4 runs
`where_alignment_pays_rivals` (1,280 towns of five bakeries in full) unless `--rivals-seeds` /
`--rivals-samples` reduce it, which the page then says. `--sections rivals` recomputes only
section 4 and copies the others from the page as it is. The same options give the same file,
byte for byte.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sim.experiment import run_experiment  # noqa: E402
from sim.results import load  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.scenario.load import read_toml  # noqa: E402
from sim.stats import mean_ci, ratio_ci, share_ci, wilson_interval  # noqa: E402
from sim.sweep import Sweep, SweepError, run_sweep, sweep_from_dict  # noqa: E402
from sim.sweep.discover import NOISE  # noqa: E402
from sim.sweep.spec import resolve_sweep_path  # noqa: E402

#: Scenarios with a scheduled market shift that compare aligned with efficiency-only.
SHIFTED = (
    "bakery_gluten_free",
    "boutique_online",
    "manufacturing_automation",
    "marketing_sales_silo",
    "online_retailer_fulfilment",
    "restaurant_kitchen_tech",
)
A, B = "aligned", "efficiency_only"
#: Periods of the burn-in for "no one favoured": five years of months in the old market.
BURN_IN = 60
LEARNING = {
    "adaptation": {
        "strategies": [B, A],
        "start": "random",
        "review": 12,
        "recency": 0.5,
        "aspiration_speed": 0.5,
        "temperature": 1.0,
    }
}
TURBULENCE = {"market.shifts": [{"kind": "turbulence", "probability": 0.1, "start": 1}]}
MARKETS = {
    "the bakery (customers go gluten-free)": ("bakery_gluten_free", {}),
    "the boutique (customers go online)": ("boutique_online", {}),
    "the canteen, stable": ("canteen_stable", {}),
    "the canteen, turbulent (probability 0.1 a period)": ("canteen_stable", TURBULENCE),
}


def _fmt(values: Sequence[float], *, percent: bool = False) -> str:
    mean, low, high = values
    if percent:
        if np.isnan(low):
            return f"{100 * mean:.0f}% [unbounded]"
        return f"{100 * mean:.0f}% [{100 * low:.0f}%, {100 * high:.0f}%]"
    return f"{mean:+.2f} [{low:+.2f}, {high:+.2f}]"


def _gaps(name: str, overrides: dict, seeds: int) -> dict:
    """Paired profit gaps aligned - efficiency-only before and after the split, the share of the
    after-gap present before (Fieller), and the difference-in-differences; formatted, and the
    share's and the after-gap's (mean, low, high) as numbers."""
    scenario = load_scenario(name, overrides)
    runs = run_experiment(scenario, strategies=[B, A], seeds=seeds, periods=False).runs
    wide = runs.pivot(index="seed", columns="strategy")
    pre = (wide["profit_pre_shift"][A] - wide["profit_pre_shift"][B]).to_numpy()
    post = (wide["profit_post_shift"][A] - wide["profit_post_shift"][B]).to_numpy()
    share, after = ratio_ci(pre, post), mean_ci(post)
    return {
        "before": _fmt(mean_ci(pre)),
        "after": _fmt(after),
        "share": _fmt(share, percent=True),
        "did": _fmt(mean_ci(post - pre)),
        "share_values": share,
        "after_values": after,
    }


def starts_section(seeds: int) -> list[str]:
    lines = [
        "## 1. How much of alignment's lead exists before the market shift",
        "",
        "Aligned minus efficiency-only profit (all firms, k€ per month or the scenario's unit),",
        f"paired by seed, means and 95% intervals over {seeds} seeds: before the split (the",
        "window before the shift), after it, the share of the after-gap already there before",
        "(ratio of the paired means, Fieller's interval) and the difference-in-differences (what",
        "the shift itself adds). Two ways to start, everything else as shipped:",
        "",
        "- **as shipped**: each scenario's own start (`fitted` for most: a configuration chosen",
        "  for the old market, the same for both strategies, which silo departments then leave);",
        f"- **no one favoured**: a random start and a burn-in of {BURN_IN} periods (five years of",
        f'  months; `firm.start = "random"`, `firm.burn_in = {BURN_IN}`): each strategy has had',
        "  that long to settle in the old market before period 0 (docs/ODD.md §5.2.1).",
        "",
        "| scenario | start | before | after | share before | shift's own effect |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    mostly_before = {"as shipped": [], "no one favoured": []}
    for name in SHIFTED:
        shipped = _gaps(name, {}, seeds)
        burned = _gaps(name, {"firm.start": "random", "firm.burn_in": BURN_IN}, seeds)
        for label, g in (("as shipped", shipped), ("no one favoured", burned)):
            row = [g["before"], g["after"], g["share"], g["did"]]
            lines.append(f"| {name} | {label} | " + " | ".join(row) + " |")
            if g["share_values"][1] > 0.5:  # the interval's lower end above one half
                mostly_before[label].append(name)
    lines.append("")
    for label, names in mostly_before.items():
        lines.append(
            f"Starting {label}, more than half of the after-gap exists before the shift (the "
            f"interval's lower end above 50%) in {len(names)} of {len(SHIFTED)} scenarios"
            + (f": {', '.join(names)}." if names else ".")
        )
    lines += [
        "",
        "Where that holds under both starts, alignment's lead is mostly a lead in the old",
        "market, and the fitted start does not create it; only the shift's own effect is what a",
        "story about the shift can claim.",
        "",
    ]
    return lines


def learning_section(seeds: int) -> list[str]:
    lines = [
        "## 2. What firms that learn find",
        "",
        "With `[adaptation]` (docs/ODD.md §7.19: every 12 periods a firm compares its mean profit",
        "with its aspiration; if it fell short it draws efficiency-only or aligned, favouring the",
        "one that earned it more; first strategy drawn at random; one firm per market, firms do",
        f"not compete), over {seeds} seeds: the share of learning firms following aligned at the",
        "horizon (Wilson interval) beside what alignment earns there without learning (aligned",
        "minus efficiency-only profit after the split, paired).",
        "",
        "| market | aligned minus efficiency-only, no learning | learners ending aligned |",
        "| --- | --- | --- |",
    ]
    agree, clear = 0, 0
    for label, (name, overrides) in MARKETS.items():
        plain = _gaps(name, overrides, seeds)
        scenario = load_scenario(name, {**overrides, **LEARNING})
        runs = run_experiment(scenario, strategies=[B], seeds=seeds, periods=False).runs
        ended = share_ci(runs["adopted_final"] == A)
        lines.append(f"| {label} | {plain['after']} | {_fmt(ended, percent=True)} |")
        _, low, high = plain["after_values"]
        if low > 0 or high < 0:  # alignment clearly earns more, or clearly less
            clear += 1
            agree += (low > 0 and ended[1] > 0.5) or (high < 0 and ended[2] < 0.5)
    lines += [
        "",
        f"In {agree} of the {clear} markets where alignment clearly earns more or clearly less",
        "(the paired interval excludes 0), the majority of learners ends with the strategy that",
        "earns more (the share's interval on that side of one half). Compare the two canteens:",
        "turbulence changes how often firms are dissatisfied and review, not which strategy",
        "pays (tests/test_adaptation_population.py keeps the expectations written before the",
        "first run about turbulence as strict expected failures).",
        "",
    ]
    return lines


#: Section 3: the shipped sweep, its condition, and the variants of the robustness table.
WHERE_SWEEP = "where_alignment_pays"
WHERE = f"{A} - {B} > 0"
METRIC = "profit_post_shift"


def _rivals(firms: dict[str, int], **choice: object) -> dict:
    """The bakery among rivals: `[competition]` with ``firms`` and the one choice model there
    is (a multinomial logit over market values with an outside option of value 0.5, docs/ODD.md
    §7.18; ``choice`` changes its parameters), the market as large as its bakeries together
    (each as big as the lone bakery), no entrants."""
    market = {"outside": True, "outside_value": 0.5, **choice}
    return {"competition": {"firms": firms, **market, "market_size": float(sum(firms.values()))}}


#: Each variant's changes on top of the sweep's fixed overrides; the first is the sweep itself.
VARIANTS = {
    "as swept: random start, burn-in 60, best improvement": {},
    "start rule: fitted start, no burn-in": {"firm.start": "fitted", "firm.burn_in": 0},
    "search rule: first improvement (both strategies)": {
        f"strategies.{B}.search": "first",
        f"strategies.{A}.search": "first",
    },
    "choice model, lambda 4 with an outside option: two rival bakeries (1 + 1)": _rivals(
        {B: 1, A: 1}, sensitivity=4.0
    ),
    "choice model, lambda 10 without an outside option: two rival bakeries (1 + 1)": _rivals(
        {B: 1, A: 1}, sensitivity=10.0, outside=False
    ),
    "aligned rivals, 1 of 4: four rival bakeries, lambda 4": _rivals({B: 3, A: 1}, sensitivity=4.0),
    "aligned rivals, 3 of 4: four rival bakeries, lambda 4": _rivals({B: 1, A: 3}, sensitivity=4.0),
}


def where_runs(
    overrides: dict | None = None,
    *,
    seeds: int | None = None,
    samples: int | None = None,
    workers: int | None = None,
    name: str = WHERE_SWEEP,
) -> tuple[Sweep, pd.DataFrame]:
    """Run the shipped sweep ``name`` in a temporary folder, its fixed overrides updated by
    ``overrides`` (``seeds`` per design point and ``samples`` design points if given, else the
    file's); the sweep and its runs table (sorted; the same whatever the number of
    ``workers``)."""
    path = resolve_sweep_path(name)
    data = read_toml(path, SweepError)
    data["overrides"] = {**data.get("overrides", {}), **(overrides or {})}
    if seeds is not None:
        data["seeds"] = seeds
    if samples is not None:
        data["design"] = {**data["design"], "samples": samples}
    sweep = sweep_from_dict(data, source=str(path), base_dir=path.parent)
    with tempfile.TemporaryDirectory() as folder:
        report = run_sweep(sweep, out=folder, workers=workers, progress=False)
        if not report.complete:
            raise RuntimeError(f"{name}: {report}")
        runs = load(folder, periods=False)["runs"]
    runs = runs.sort_values(["point", "seed_index", "strategy"], kind="stable")
    return sweep, runs.reset_index(drop=True)


def in_box(cases: pd.DataFrame, limits: pd.DataFrame) -> np.ndarray:
    """Which cases fall inside a box given by its rows of `DiscoveryResult.limits`."""
    inside = np.ones(len(cases), dtype=bool)
    for row in limits.itertuples(index=False):
        values = cases[row.parameter].to_numpy(dtype=float)
        inside &= (values >= row.low) & (values <= row.high)
    return inside


def where_found(
    *,
    seeds: int | None = None,
    samples: int | None = None,
    variants: dict | None = None,
    workers: int | None = None,
) -> dict:
    """The sweep, its discovery and, per variant, the first box's share of cases where
    alignment pays inside and outside it, with the variant's own first box."""
    from sim.sweep.discover import DiscoveryError, case_table, discover_runs, parse_condition

    variants = VARIANTS if variants is None else variants
    found, rows = None, []
    for label, overrides in variants.items():
        sweep, runs = where_runs(overrides, seeds=seeds, samples=samples, workers=workers)
        names = [p.name for p in sweep.parameters]
        try:
            result = discover_runs(
                runs, names, where=WHERE, metric=METRIC, strategies=[B, A], score_resamples=0
            )
        except DiscoveryError as error:  # a variant where alignment (nearly) always wins or loses
            if found is None:
                raise
            counts = re.search(r"holds in \d+ of \d+ cases and fails in \d+", str(error))
            result = f"no box: the condition {counts[0] if counts else 'is one-sided'}"
        if found is None:
            found = {"sweep": sweep, "runs": runs, "result": result, "parameters": names}
            box = result.limits[result.limits["box"] == 1]
        cases = case_table(runs, names, parse_condition(WHERE, [B, A]), METRIC)
        inside = in_box(cases, box)
        holds, value = cases["holds"].to_numpy(), cases["value"].to_numpy()
        k_in, n_in = int(holds[inside].sum()), int(inside.sum())
        k_out, n_out = int(holds[~inside].sum()), int((~inside).sum())
        rows.append(
            {
                "variant": label,
                "cases": len(cases),
                "all": share_ci(holds),
                "inside": share_ci(holds[inside]),
                "outside": share_ci(holds[~inside]),
                "gap_inside": mean_ci(value[inside]),
                "gap_outside": mean_ci(value[~inside]),
                "survives": bool(
                    n_in > 0 and n_out > 0 and wilson_interval(k_in, n_in)[0] > k_out / n_out
                ),
                "own_box": result if isinstance(result, str) else _box_text(result, 1),
            }
        )
    found["robustness"] = rows
    return found


def _box_text(result, box: int) -> str:
    from sim.sweep.discover import box_rules

    if box not in set(result.boxes["box"]):
        return "no box"
    return " and ".join(rule.split(" (")[0] for rule in box_rules(result, box)) or "everywhere"


def where_section(
    *, seeds: int | None = None, samples: int | None = None, workers: int | None = None
) -> list[str]:
    """Section 3: the shipped sweep's scenario discovery and the robustness table."""
    found = where_found(seeds=seeds, samples=samples, workers=workers)
    sweep, result, runs = found["sweep"], found["result"], found["runs"]
    spec = sweep.spec
    cases = result.cases
    points, per_point = cases["point"].nunique(), spec.seeds if seeds is None else seeds
    fixed = ", ".join(
        f"`{k} = {v!r}`".replace("'", '"')
        for k, v in spec.overrides.items()
        if k != "market.shifts"
    )
    lines = [
        "## 3. Where alignment pays",
        "",
        f"The shipped sweep `scenarios/sweeps/{WHERE_SWEEP}.toml`: the bakery, customers",
        f"switching tastes at random from period {sweep.base.metrics.split} with the swept",
        f"probability; fixed: {fixed}.",
        f"A {spec.design.kind.replace('_', ' ').replace('latin', 'Latin')} design of {points} "
        f"points x {per_point} seeds x 2 strategies = {len(runs):,} runs"
        + (
            " (fewer seeds per point than the\nsections above: each point is a different"
            " market, and the region is what is sought)."
            if per_point < 20
            else "."
        ),
        "",
        *_parameter_table(spec),
    ]
    held = share_ci(cases["holds"])
    gap = mean_ci(cases["value"])
    lines += [
        "",
        f"A case is a design point and seed; the condition is `{WHERE}` on mean",
        "monthly profit after the split (paired: both strategies on the same seed). Scenario",
        "discovery (`sim.sweep.discover`, docs/sweeps.md: PRIM on a random half of the cases,",
        "each box checked on the held-out half):",
        "",
        f"Over all {len(cases):,} cases the aligned bakery earns more in "
        f"{_fmt(held, percent=True)} of them;",
        f"the mean difference is {_fmt(gap)} k€ per month.",
        "",
        *_box_table(result),
    ]
    scores = result.scores.set_index("parameter")["score"]
    noise = float(scores.get("(random noise)", np.nan))
    matter = [
        name for name, score in scores.items() if name in found["parameters"] and score > noise
    ]
    lines += [
        "",
        "Which parameters matter (extra-trees feature scores, summing to 1, no interval; a",
        "column of random noise is what a parameter that does not matter scores):",
        "",
        "| parameter | score |",
        "| --- | --- |",
    ]
    lines += [f"| {name} | {score:.3f} |" for name, score in scores.items()]
    lines.append("")
    if not result.boxes.empty:
        first = result.boxes.iloc[0]
        lines += [
            f"Where {_box_text(result, 1)},",
            f"the aligned bakery earns more in {100 * first.test_density:.0f}% "
            f"[{100 * first.test_density_low:.0f}%, {100 * first.test_density_high:.0f}%] of "
            f"the held-out cases, against {100 * first.test_base_rate:.0f}% over all of them;",
            f"this box holds {100 * first.test_coverage:.0f}% of the held-out cases where "
            "alignment pays.",
        ]
    top = str(scores.drop("(random noise)", errors="ignore").idxmax())
    below = [name for name in found["parameters"] if name not in matter]
    lines += [
        f"{len(matter)} of the {len(found['parameters'])} parameters score above the noise"
        + (f": {', '.join(matter)}" if matter else "")
        + f"; {top} scores highest"
        + (f"; {below[0]} does not clearly matter." if len(below) == 1 else "")
        + (f"; {', '.join(below)} do not clearly matter." if len(below) > 1 else "")
        + ("." if not below else ""),
        "",
        "Said plainly, what is built in: alignment pays where market value counts and moves,",
        "by the model's construction. An aligned department weighs market value and a silo one",
        "never does, so the more customers' tastes weigh in performance (taste_weight, beta:",
        "a switch of tastes costs the firm beta times the market value it loses, which makes",
        "beta the shift's size in money; a regime's preference weights are normalised, so",
        "scaling them would change nothing), the more alignment earns; and its cost is a",
        "constant per month, so it loses where that constant exceeds what it earns. What",
        "emerges from the runs is where the boundary lies: the limits of the boxes above, and",
        "which parameters move it beyond these two.",
        "",
        "**Robustness.** Does the first box survive the start rule, the search rule, the choice",
        "model and the share of aligned rivals? The same design and seeds run again with one",
        "rule changed; the share of cases where alignment pays inside the first box and outside",
        "it (Wilson intervals; the first row is the data the box was found on, so its inside",
        "share is optimistic), and the first box that discovery finds in the variant's own runs.",
        "The box survives when the inside interval's lower end is above the outside share.",
        "The model has one choice model, a multinomial logit over market values with an outside",
        "option (docs/ODD.md §7.18): the choice-model rows put the bakery among rivals",
        "(`[competition]`, outside option of value 0.5, market size the number of bakeries, no",
        "entrants) and vary its parameters (lambda, the outside option), they do not swap the",
        "model. With rivals a case compares the aligned bakeries' mean profit with the",
        "efficiency-only bakeries' in the same market (paired by seed); the rows with four",
        "bakeries make the share of aligned rivals a factor (1 or 3 of 4).",
        "",
        "| variant | inside the first box | outside it | mean difference inside | "
        "mean difference outside | survives | its own first box |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in found["robustness"]:
        lines.append(
            f"| {row['variant']} | {_fmt(row['inside'], percent=True)} | "
            f"{_fmt(row['outside'], percent=True)} | {_fmt(row['gap_inside'])} | "
            f"{_fmt(row['gap_outside'])} | {'yes' if row['survives'] else 'no'} | "
            f"{row['own_box']} |"
        )
    survived = [r["variant"].split(":")[0] for r in found["robustness"][1:] if r["survives"]]
    failed = [r["variant"].split(":")[0] for r in found["robustness"][1:] if not r["survives"]]
    lines += [
        "",
        f"The first box survives {len(survived)} of the {len(found['robustness']) - 1} changed "
        "rules"
        + (f" ({'; '.join(survived)})" if survived else "")
        + (f" and not the {'; '.join(failed)}." if failed else "."),
    ]
    among = [r for r in found["robustness"] if r["variant"].startswith(("choice", "aligned"))]
    if among:
        outside = [r["outside"][0] for r in among]
        lines += [
            "Among rivals the region where alignment pays is wider: outside the box it pays in "
            f"{100 * min(outside):.0f}% to {100 * max(outside):.0f}% of the cases of the rows "
            "with rivals, against "
            f"{100 * found['robustness'][0]['outside'][0]:.0f}% for the lone bakery; the box "
            "still separates where it pays most.",
        ]
    lines.append("")
    return lines


def _parameter_table(spec) -> list[str]:
    """A sweep's parameters as a Markdown table: name, label, scenario paths and range."""
    lines = ["| parameter | what | path | range |", "| --- | --- | --- | --- |"]
    for p in spec.parameters:
        low, high = p.range if p.range is not None else (min(p.values), max(p.values))
        lines.append(
            f"| {p.name} | {p.label} | `{', '.join(p.paths)}` | {low:g} to {high:g}"
            + (" (whole numbers)" if p.integer else "")
            + " |"
        )
    return lines


def _box_table(result) -> list[str]:
    """The PRIM boxes as a Markdown table: restrictions, held-out coverage and density."""
    lines = [
        "| box | restricted | coverage (held out) | density (held out) | base rate left | clear |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in result.boxes.itertuples(index=False):
        rules = "; ".join(_rules(result, row.box))
        lines.append(
            f"| {row.box} | {rules or 'nothing'} | {100 * row.test_coverage:.0f}% | "
            f"{_fmt((row.test_density, row.test_density_low, row.test_density_high), percent=True)}"
            f" | {100 * row.test_base_rate:.0f}% | {'yes' if row.clear else 'no'} |"
        )
    return lines


def _rules(result, box: int) -> list[str]:
    """A box's restrictions with their quasi-p values (no labels, no full ranges)."""
    from sim.sweep.discover import box_rules

    return [re.sub(r"; full range [^)]*", "", rule) for rule in box_rules(result, box)]


#: Section 4: the companion sweep with the share of aligned rivals as a dimension.
RIVALS_SWEEP = "where_alignment_pays_rivals"
RIVALS = "aligned_firms"


def _hc3(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ordinary least squares of ``y`` on ``x`` (a constant added): coefficients and their
    heteroskedasticity-robust (HC3) standard errors."""
    x = np.column_stack([np.ones(len(x)), x])
    inverse = np.linalg.inv(x.T @ x)
    beta = inverse @ x.T @ y
    residual = y - x @ beta
    leverage = np.einsum("ij,jk,ik->i", x, inverse, x)
    meat = x.T @ (x * (residual / (1 - leverage))[:, None] ** 2)
    return beta, np.sqrt(np.diag(inverse @ meat @ inverse))


def rivals_found(
    *, seeds: int | None = None, samples: int | None = None, workers: int | None = None
) -> dict:
    """The rivals sweep, its discovery (feature scores with bootstrap intervals), the
    difference per number of aligned bakeries (over design points) and the change per aligned
    bakery more, all else held (least squares over design points, HC3 interval)."""
    from scipy import stats

    from sim.sweep.discover import discover_runs

    sweep, runs = where_runs(seeds=seeds, samples=samples, workers=workers, name=RIVALS_SWEEP)
    names = [p.name for p in sweep.parameters]
    result = discover_runs(runs, names, where=WHERE, metric=METRIC, strategies=[B, A])
    cases = result.cases
    points = cases.groupby("point").agg(
        value=("value", "mean"), **{name: (name, "first") for name in names}
    )
    levels = []
    for level, group in cases.groupby(RIVALS):
        by_point = points[points[RIVALS] == level]["value"]
        levels.append(
            {
                "level": int(level),
                "points": len(by_point),
                "cases": len(group),
                "pays": share_ci(group["holds"]),
                "gap": mean_ci(by_point),
            }
        )
    x = points[names].to_numpy(dtype=float)
    beta, se = _hc3(x, points["value"].to_numpy(dtype=float))
    j = 1 + names.index(RIVALS)
    t = stats.t.ppf(0.975, len(points) - len(names) - 1)
    slope = (float(beta[j]), float(beta[j] - t * se[j]), float(beta[j] + t * se[j]))
    return {"sweep": sweep, "runs": runs, "result": result, "levels": levels, "slope": slope}


def rivals_section(
    *, seeds: int | None = None, samples: int | None = None, workers: int | None = None
) -> list[str]:
    """Section 4: the share of aligned rivals as one more dimension of where alignment pays."""
    found = rivals_found(seeds=seeds, samples=samples, workers=workers)
    sweep, result, runs = found["sweep"], found["result"], found["runs"]
    spec, competition = sweep.spec, sweep.base.competition
    cases = result.cases
    points, per_point = cases["point"].nunique(), spec.seeds if seeds is None else seeds
    towns = runs.drop_duplicates(["point", "seed_index"]).shape[0]
    as_filed = read_toml(resolve_sweep_path(RIVALS_SWEEP), SweepError)
    filed = (as_filed["design"]["samples"], as_filed["seeds"])
    total = sum(competition.firms.values())
    linked = "; ".join(f'`{path} = "{rule}"`' for path, rule in spec.linked.items())
    lines = [
        "## 4. Where alignment pays among rivals: the share of aligned bakeries",
        "",
        f"The shipped sweep `scenarios/sweeps/{RIVALS_SWEEP}.toml` is section 3's sweep in",
        f"bakery town: the town's {total} bakeries share its customers (the one choice model, a",
        f"logit over market values with an outside option of value {competition.outside_value:g},",
        f"lambda {competition.sensitivity:g}, market size {competition.market_size:g}; docs/ODD.md "
        "§7.18), without newcomers.",
        f"`aligned_firms` of them are aligned and the others efficiency-only ({linked}), so the",
        "share of aligned bakeries is a seventh swept parameter beside section 3's six, with the",
        f"same random start, burn-in, turbulence from period {sweep.base.metrics.split}, ranges,",
        "design and root seed.",
        f"A {spec.design.kind.replace('_', ' ').replace('latin', 'Latin')} design of {points} "
        f"points x {per_point} seeds = {towns:,} towns"
        + (
            "."
            if (points, per_point) == filed
            else f" (**reduced**: the file runs {filed[0]} points x {filed[1]} seeds; "
            f"`scripts/findings.py --rivals-seeds {per_point}"
            + (f" --rivals-samples {points}" if points != filed[0] else "")
            + "` made this section; without those options it runs the file's)."
        ),
        "",
        *_parameter_table(spec),
    ]
    held, gap = share_ci(cases["holds"]), mean_ci(cases["value"])
    lines += [
        "",
        f"A case is a town (a design point and seed); the condition is `{WHERE}` on the mean",
        "monthly profit per bakery after the split: the aligned bakeries' mean minus the",
        "efficiency-only bakeries' mean in the same town (paired by town). Discovery as in",
        "section 3.",
        "",
        f"Over all {len(cases):,} towns an aligned bakery earns more than an efficiency-only one "
        f"in {_fmt(held, percent=True)} of them;",
        f"the mean difference is {_fmt(gap)} k€ per month per bakery.",
        "",
        *_box_table(result),
    ]
    scores = result.scores
    resamples = int(scores["resamples"].iloc[0])
    lines += [
        "",
        "Which parameters matter: extra-trees feature scores (summing to 1) with 95% intervals",
        f"(+/- 1.96 standard errors from {resamples} bootstrap resamples of the design points,",
        "each drawn with all its towns), and the score minus the random-noise column's (its",
        "standard error over the same resamples); a parameter clearly matters when that",
        "difference's interval lies above 0. These impurity scores favour parameters with many",
        "values (Strobl et al. 2007): the noise column and the continuous parameters take a",
        "value per design point, a whole-number parameter a handful, so a whole-number",
        "parameter (aligned_firms has 4 values) can fail this test and still matter; the",
        "tables below measure its effect directly. The scores say what decides where the",
        "condition holds (the sign of the difference), not how large the difference is.",
        "",
        "| parameter | score | minus the noise's score | clearly matters |",
        "| --- | --- | --- | --- |",
    ]
    for row in scores.itertuples(index=False):
        versus = (
            "" if row.parameter == NOISE else f"{row.vs_noise_low:+.3f} to {row.vs_noise_high:+.3f}"
        )
        lines.append(
            f"| {row.parameter} | {row.score:.3f} [{row.low:.3f}, {row.high:.3f}] | {versus} | "
            + ("" if row.parameter == NOISE else "yes" if row.matters else "no")
            + " |"
        )
    matter = scores[scores["matters"]]["parameter"].tolist()
    rank = scores[scores["parameter"] != NOISE]["parameter"].tolist().index(RIVALS) + 1
    lines += [
        "",
        f"{len(matter)} of the {len(sweep.parameters)} parameters clearly "
        + ("matters" if len(matter) == 1 else "matter")
        + (f" ({', '.join(matter)})" if matter else "")
        + f"; the number of aligned bakeries ranks {rank} of {len(sweep.parameters)} and "
        + ("clearly matters." if RIVALS in matter else "does not clearly matter."),
    ]
    if not result.boxes.empty:
        first = result.boxes.iloc[0]
        density = (first.test_density, first.test_density_low, first.test_density_high)
        lines += [
            f"Where {_box_text(result, 1)}, an aligned bakery earns more in "
            f"{_fmt(density, percent=True)} of the held-out towns, against "
            f"{100 * first.test_base_rate:.0f}% over all of them.",
        ]
    lines += [
        "",
        "The rivals dimension on its own: per number of aligned bakeries (the other parameters",
        "as the design spreads them), the share of towns where an aligned bakery earns more",
        "(Wilson interval over towns) and the mean difference (interval over design points,",
        "each point's mean over its towns).",
        "",
        "| aligned bakeries | share aligned | design points | towns | aligned earns more | "
        "mean difference (k€/month) |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in found["levels"]:
        lines.append(
            f"| {row['level']} of {total} | {row['level'] / total:.1f} | {row['points']} | "
            f"{row['cases']} | {_fmt(row['pays'], percent=True)} | {_fmt(row['gap'])} |"
        )
    slope, last = found["slope"], found["levels"][-1]
    sign = "falls" if slope[2] < 0 else "rises" if slope[1] > 0 else "does not clearly change"
    still = (
        "still pays on average"
        if last["gap"][1] > 0
        else "clearly loses on average"
        if last["gap"][2] < 0
        else "neither clearly pays nor loses on average"
    )
    lines += [
        "",
        "All else held (least squares of each design point's mean difference on the seven",
        "parameters, HC3 interval), alignment's value per bakery changes by",
        f"{_fmt(slope)} k€ per month for each aligned bakery more: it {sign} as alignment",
        f"becomes common. With {last['level']} of {total} bakeries aligned, the most swept,",
        f"alignment {still} ({_fmt(last['gap'])} k€ per month).",
        "",
        "Said plainly, what is built in: customers choose by a logit over market values, so the",
        "ratio of an aligned bakery's customers to a silo's depends only on their market values,",
        "not on how many bakeries of each kind there are (independence of irrelevant",
        "alternatives); the town is of fixed size, so the more bakeries offer a high market",
        "value, the fewer customers each of them gets, and the difference in customers per",
        "bakery between an aligned and a silo bakery shrinks. A value of alignment that falls as",
        "aligned rivals become common is what this choice model gives, not a discovery; so is",
        "part of its rise among rivals (the customers a silo loses go to rivals, not away). What",
        "emerges from the runs: how large the fall is against the other parameters, whether",
        "alignment stops paying within the range swept, and where the region's boundary lies",
        "in the town (the box above) against the lone bakery's (section 3).",
        "",
    ]
    return lines


SECTIONS = ("starts", "learning", "where", "rivals", "built_in")

BUILT_IN = """## 5. What the model's structure builds in

Said plainly, so that no result above is mistaken for a discovery:

- Market sensing changes only the firm's beliefs, and beliefs reach decisions only through
  the coupling alpha or the head office. So sensing without someone who acts on it is worth
  nothing, and "sensing combined with someone who acts on it pays" is true by construction
  whenever the market moves and market value counts (beta > 0).
- A silo department (alpha 0) never looks at market value. In any market in which market
  value counts, it drifts from what customers want while improving its own efficiency: the
  gap before the shift (section 1) follows from this, in the old market as in the new.
- The cost of alignment is a constant per period per strategy (coordination mode, alpha,
  sensing, communication): alignment loses wherever what it earns is less than that constant.
- Among rivals (section 4) customers choose by a logit over market values in a town of
  fixed size: the customers a silo bakery loses go to its rivals, and bakeries of similar
  market value split the customers who want what they offer. So alignment is worth more among
  silo rivals than alone, and less as more rivals align, by construction.
- Learning firms (section 2) judge a strategy only by their own profit while they follow it,
  change strategy for free and learn alone; the rule keeps a strategy while it earns its
  aspiration (win-stay, lose-shift), so it moves firms towards whatever earns more in their
  market, by construction. What emerges is how fast, and how far, in each market.

What is not built in, and emerges from the runs: how large each gap is in each market, how
much of it exists before the shift, when a firm's cash runs out, whether a firm cycles,
which strategy learning firms end with when both have been tried, and how far alignment's
value falls as rivals align (whether it still pays when most of them do).
"""


def render(
    seeds: int,
    where_seeds: int | None = None,
    *,
    rivals_seeds: int | None = None,
    rivals_samples: int | None = None,
    sections: Sequence[str] = SECTIONS,
    page: str | None = None,
) -> str:
    """The page. Only ``sections`` are computed; the others are copied from ``page`` (the page
    as it is), which is how one section is brought up to date without rerunning the rest."""
    options = "".join(
        f" --{flag} {value}"
        for flag, value in (
            ("sweep-seeds", where_seeds),
            ("rivals-seeds", rivals_seeds),
            ("rivals-samples", rivals_samples),
        )
        if value is not None
    )
    lines = [
        "# What the model finds",
        "",
        "<!-- generated by scripts/findings.py; do not edit by hand: run it again -->",
        "",
        f"Every number below is computed by `scripts/findings.py --seeds {seeds}{options}` from",
        "runs of the shipped scenarios and of the shipped sweeps `where_alignment_pays` and",
        "`where_alignment_pays_rivals` (means with 95% intervals, paired by seed where two",
        "strategies are compared); none is typed. The same seeds give the same page.",
        "",
    ]
    kept = _sections(page) if page is not None else {}
    make = {
        "starts": lambda: starts_section(seeds),
        "learning": lambda: learning_section(seeds),
        "where": lambda: where_section(seeds=where_seeds),
        "rivals": lambda: rivals_section(seeds=rivals_seeds, samples=rivals_samples),
        "built_in": lambda: [BUILT_IN],
    }
    for name in SECTIONS:
        if name in sections:
            lines += make[name]()
        elif name in kept:
            lines += kept[name]
        else:
            raise ValueError(f"section {name!r} is neither computed nor on the page")
    return "\n".join(lines)


def _sections(page: str) -> dict[str, list[str]]:
    """The page's sections by name (from each `## N.` heading to the next), as lines."""
    parts = re.split(r"^(?=## \d+\. )", page, flags=re.MULTILINE)[1:]
    titles = {
        "How much of alignment": "starts",
        "What firms that learn": "learning",
        "Where alignment pays among rivals": "rivals",
        "Where alignment pays": "where",
        "What the model's structure": "built_in",
    }
    out = {}
    for part in parts:
        heading = part.split("\n", 1)[0]
        name = next(v for k, v in titles.items() if k in heading)
        out[name] = part.rstrip("\n").split("\n") + ([""] if name != "built_in" else [])
    return out


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write docs/findings.md from runs.")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument(
        "--sweep-seeds",
        type=int,
        default=None,
        help="seeds per design point of section 3's sweep (default: the sweep file's)",
    )
    parser.add_argument(
        "--rivals-seeds",
        type=int,
        default=None,
        help="seeds per design point of section 4's sweep (default: the sweep file's)",
    )
    parser.add_argument(
        "--rivals-samples",
        type=int,
        default=None,
        help="design points of section 4's sweep (default: the sweep file's)",
    )
    parser.add_argument(
        "--sections",
        nargs="+",
        choices=SECTIONS,
        default=list(SECTIONS),
        help="compute only these sections and copy the others from the page at --out as it is "
        "(default: all)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "findings.md")
    args = parser.parse_args(argv)
    page = args.out.read_text(encoding="utf-8") if args.out.is_file() else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        text = render(
            args.seeds,
            args.sweep_seeds,
            rivals_seeds=args.rivals_seeds,
            rivals_samples=args.rivals_samples,
            sections=args.sections,
            page=page,
        )
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
