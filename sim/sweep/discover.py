"""Scenario discovery on a sweep: in which boxes of parameter space does a condition hold?

The condition (``where``) compares strategies' paired outcomes, e.g. ``"aligned -
efficiency_only > 0"``: each case (a design point and seed, both strategies on the same seed:
common random numbers; or a design point, its mean over the seeds) is of interest when it holds.
Then:

- **PRIM** (the EMA Workbench's `ema_workbench.analysis.prim.Prim`; Friedman & Fisher 1999,
  Bryant & Lempert 2010) peels the parameter space down to boxes where the condition holds
  more often than overall. It runs on a random half of the cases (stratified by the condition);
  every box on its peeling trajectory is checked on the other half, which chooses the box
  reported (the densest on the held-out half that still covers ``min_coverage`` of the cases of
  interest left) and says whether its density is clearly above the base rate (the lower end of
  its 95% Wilson interval above the held-out base rate). Up to ``max_boxes`` boxes, each on
  the cases the boxes before it left; the search stops at the first box that is not clear.
- **CART**: a classification tree (scikit-learn's `DecisionTreeClassifier`) on the same half,
  its leaves checked on the other half.
- **Feature scores**: which parameters matter, by the workbench's extra-trees scores
  (`get_ex_feature_scores`, mean decrease in impurity, summing to 1), with a column of random
  noise (one value per design point, as the parameters have) added as a reference: what a
  parameter that does not matter scores. 95% intervals: each score +/- 1.96 standard errors
  from a bootstrap over design points (each drawn with all its cases, the scores refitted); a
  parameter clearly matters when its score minus the noise's score (standard error over the
  same resamples) has an interval above 0.

`discover` reads a sweep folder and writes tables, figures and `report.md` to
``DIR/discovery/`` (or ``out``); `discover_runs` does the same on a runs table in memory,
writing nothing. Needs the optional extra: ``pip install "smb-sim[discover]"``.
"""

from __future__ import annotations

import math
import re
import sys
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from sim.results import (
    check_output_folder,
    environment,
    git_state,
    load,
    output_folder,
    write_json,
    write_table,
    write_text,
)
from sim.stats import SURVIVOR_METRICS, wilson_interval
from sim.sweep.spec import SweepError

#: Comparisons allowed in a condition.
OPERATORS: dict[str, Any] = {
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}
#: Cases needed on each side of the condition (where it holds and where it does not).
MIN_CASES = 10
LEVEL = 0.95
INSTALL_HINT = 'scenario discovery needs the optional extra: pip install "smb-sim[discover]"'
#: The column of random noise added to the feature scoring as a reference.
NOISE = "(random noise)"
#: Bootstrap resamples (over design points) for the feature scores' intervals.
SCORE_RESAMPLES = 100
_DPI = 120
#: The figures `save_figures` writes.
FIGURES = ("peeling_trajectory.png", "tree.png", "feature_scores.png")
Cases = Literal["run", "point"]


class DiscoveryError(SweepError):
    """Bad input to scenario discovery: names the sweep folder, the argument and what is
    allowed (the field is the Python argument; the command line prefixes it with --)."""


# ------------------------------------------------------------------------------ the condition


@dataclass(frozen=True)
class Condition:
    """``contrast [- baseline] operator threshold``, parsed from a ``where`` expression."""

    contrast: str
    baseline: str | None
    operator: str
    threshold: float

    def __str__(self) -> str:
        left = self.contrast if self.baseline is None else f"{self.contrast} - {self.baseline}"
        return f"{left} {self.operator} {self.threshold:g}"

    @property
    def strategies(self) -> tuple[str, ...]:
        return (self.contrast,) if self.baseline is None else (self.contrast, self.baseline)

    @property
    def outcome(self) -> str:
        """The left-hand side in words."""
        if self.baseline is None:
            return self.contrast
        return f"{self.contrast} - {self.baseline}"

    def holds(self, values: Any) -> np.ndarray:
        """Where the condition holds for the left-hand side's ``values``."""
        return OPERATORS[self.operator](np.asarray(values, dtype=float), self.threshold)


_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<op>>=|<=|>|<)|(?P<minus>-)|(?P<other>\S))"
)
_GRAMMAR = (
    "write STRATEGY - STRATEGY OP NUMBER (e.g. 'aligned - efficiency_only > 0'), "
    "STRATEGY OP NUMBER, or STRATEGY OP STRATEGY, with OP one of >, >=, <, <="
)


def parse_condition(text: str, strategies: Sequence[str], *, source: str = "where") -> Condition:
    """Parse a ``where`` expression (no eval): ``A - B OP NUMBER``, ``A OP NUMBER`` or ``A OP B``
    (= ``A - B OP 0``), A and B strategies of the sweep; a `DiscoveryError` naming what is
    wrong and what is allowed otherwise."""
    allowed = ", ".join(strategies)

    def fail(message: str) -> DiscoveryError:
        return DiscoveryError(source, "where", f"{message} in {text!r}; {_GRAMMAR}")

    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        if kind is None:
            continue
        tokens.append((kind, match.group(kind)))
    if not tokens:
        raise fail("empty condition")
    bad = [value for kind, value in tokens if kind == "other"]
    if bad:
        raise fail(f"{bad[0]!r} is not allowed")
    position = 0

    def take(*kinds: str) -> tuple[str, str] | None:
        nonlocal position
        if position < len(tokens) and tokens[position][0] in kinds:
            position += 1
            return tokens[position - 1]
        return None

    def strategy(token: tuple[str, str] | None, where: str) -> str:
        if token is None:
            raise fail(f"expected a strategy {where}")
        name = token[1]
        if name not in strategies:
            raise DiscoveryError(
                source, "where", f"unknown strategy {name!r} in {text!r}; allowed: {allowed}"
            )
        return name

    contrast = strategy(take("name"), "first")
    baseline = None
    if take("minus"):
        baseline = strategy(take("name"), "after '-'")
    operator = take("op")
    if operator is None:
        raise fail("expected a comparison (>, >=, <, <=)")
    sign = -1.0 if take("minus") else 1.0
    number = take("number")
    if number is not None:
        threshold = sign * float(number[1])
    elif sign > 0 and baseline is None and position < len(tokens):
        baseline = strategy(take("name"), "or a number after the comparison")
        threshold = 0.0
    else:
        raise fail("expected a number after the comparison")
    if position != len(tokens):
        raise fail(f"unexpected {tokens[position][1]!r} at the end")
    if baseline is not None and baseline == contrast:
        raise DiscoveryError(
            source, "where", f"compare two different strategies, not {contrast!r} twice"
        )
    if not math.isfinite(threshold):
        raise fail("the number must be finite")
    return Condition(contrast, baseline, operator[1], threshold)


# ------------------------------------------------------------------------------ the result


@dataclass(repr=False)
class DiscoveryResult:
    """What `discover` found: tables, figures and the report (``print(result.report)``).

    - ``cases``: one row per case: its parameters, ``value`` (the condition's left-hand side),
      ``holds`` and ``half`` (``"train"``: PRIM and CART ran on it; ``"test"``: held out);
    - ``boxes``: one row per PRIM box: coverage, density, mass and n on the training half and on
      the held-out half (with the density's 95% Wilson interval and the held-out base rate it
      is compared with), ``clear`` (interval above the base rate) and the restricted parameters;
    - ``limits``: per box and restricted parameter, the box's limits, the parameter's full
      range and the quasi-p values of the restriction (Bryant & Lempert 2010);
    - ``trajectory``: every box on each peeling trajectory, training and held-out statistics,
      ``chosen`` marking the reported one;
    - ``tree``: the CART tree's leaves: rule, n and density on both halves, coverage;
    - ``scores``: extra-trees feature scores, with the random-noise reference row, their 95%
      bootstrap intervals (``low``, ``high``), those of the difference from the noise's score
      (``vs_noise_low``, ``vs_noise_high``) and ``matters`` (that interval above 0).
    - ``classifier``: the fitted CART tree (scikit-learn).
    """

    directory: Path | None
    condition: Condition
    metric: str
    cases_unit: Cases
    parameters: list[str]
    cases: pd.DataFrame
    boxes: pd.DataFrame
    limits: pd.DataFrame
    trajectory: pd.DataFrame
    tree: pd.DataFrame
    scores: pd.DataFrame
    settings: dict[str, Any]
    report: str = ""
    figures: list[Path] = field(default_factory=list)
    classifier: Any = None

    @property
    def base_rate(self) -> float:
        """Share of all cases where the condition holds."""
        return float(self.cases["holds"].mean())

    def __repr__(self) -> str:
        where = f"{str(self.directory)!r}: " if self.directory is not None else ""
        return (
            f"DiscoveryResult({where}where {self.condition} on {self.metric}, "
            f"{len(self.cases)} cases, base rate {self.base_rate:.2f}, {len(self.boxes)} boxes, "
            f"{len(self.figures)} figures)"
        )


# ------------------------------------------------------------------------------ entry points


def discover(
    directory: str | Path,
    *,
    where: str,
    metric: str | None = None,
    cases: Cases = "run",
    out: str | Path | None = None,
    max_boxes: int = 3,
    min_coverage: float = 0.5,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    depth: int = 3,
    seed: int = 0,
    score_resamples: int = SCORE_RESAMPLES,
    figures: bool = True,
    write: bool = True,
    command: list[str] | None = None,
) -> DiscoveryResult:
    """Scenario discovery on the sweep in ``directory``: where does ``where`` hold?

    ``metric``: the outcome compared (a runs-table column; default the sweep file's
    ``analysis.metric``, profit after the shift over all firms unless set). ``cases``:
    ``"run"`` (a design point and seed) or ``"point"`` (a design point, the mean over its
    seeds). Writes tables, figures and ``report.md`` to ``out`` (default
    ``directory/discovery/``) unless ``write`` is false. ``seed`` fixes the split into halves,
    the tree and the feature scoring; ``score_resamples``: bootstrap resamples over design
    points for the feature scores' intervals (0: none); ``command`` is recorded in the
    manifest. See the module's docstring for the methods.
    """
    directory = Path(directory)
    if not (directory / "manifest.json").is_file() or not (directory / "runs").is_dir():
        raise DiscoveryError(str(directory), "", "not a sweep folder (no manifest.json and runs/)")
    out = Path(out) if out is not None else directory / "discovery"
    if write:  # before any work: a folder that cannot take the result is refused now
        check_output_folder(out, kind="discovery", error=DiscoveryError)
    data = load(directory, periods=False)
    manifest = data["manifest"]
    spec = manifest.get("sweep", {})
    options = {
        "where": where,
        "metric": metric or spec.get("analysis", {}).get("metric") or "profit_post_shift",
        "cases": cases,
        "max_boxes": max_boxes,
        "min_coverage": min_coverage,
        "peel_alpha": peel_alpha,
        "paste_alpha": paste_alpha,
        "mass_min": mass_min,
        "depth": depth,
        "seed": seed,
        "score_resamples": score_resamples,
    }
    labels = {p["name"]: p.get("label") or p["name"] for p in spec.get("parameters", [])}
    money = spec.get("scenario_as_loaded", {}).get("money_unit", "")
    started = time.perf_counter()
    result = discover_runs(
        data["runs"],
        list(manifest["design"]["parameters"]),
        strategies=list(manifest["strategies"]),
        source=str(directory),
        labels=labels,
        money=money,
        title=f"Sweep {spec.get('name', directory.name)}",
        **options,
    )
    result.directory = directory
    if not write:
        return result
    with output_folder(out, kind="discovery", error=DiscoveryError):
        write_table(result.cases, out / "cases.parquet")
        for name in ("boxes", "limits", "trajectory", "tree", "scores"):
            write_table(_storable(getattr(result, name)), out / f"{name}.parquet")
        if figures:
            result.figures = save_figures(result, out, labels=labels)
        else:  # no figure of an earlier run left next to these tables
            for name in FIGURES:
                (out / name).unlink(missing_ok=True)
        result.report = text_report(
            result, labels=labels, money=money, title=result.settings["title"]
        )
        write_text(result.report + "\n", out / "report.md")
        write_json(
            {
                "kind": "discovery",
                "sweep": str(directory.resolve()),
                "sweep_name": spec.get("name"),
                "sweep_root_seed": manifest.get("root_seed"),
                "sweep_model_version": manifest.get("model_version"),
                "runs": len(data["runs"]),
                "where": str(result.condition),
                "where_as_given": where,
                "settings": result.settings,
                "cases": len(result.cases),
                "base_rate": result.base_rate,
                "command": command,
                "elapsed_seconds": round(time.perf_counter() - started, 3),
                "environment": environment(),
                "git": git_state(),
            },
            out / "manifest.json",
        )
    return result


def discover_runs(
    runs: pd.DataFrame,
    parameters: Sequence[str],
    *,
    where: str,
    metric: str = "profit_post_shift",
    strategies: Sequence[str] | None = None,
    cases: Cases = "run",
    max_boxes: int = 3,
    min_coverage: float = 0.5,
    peel_alpha: float = 0.05,
    paste_alpha: float = 0.05,
    mass_min: float = 0.05,
    depth: int = 3,
    seed: int = 0,
    score_resamples: int = SCORE_RESAMPLES,
    source: str = "runs",
    labels: dict[str, str] | None = None,
    money: str = "",
    title: str = "",
) -> DiscoveryResult:
    """Scenario discovery on a runs table (columns ``point``, ``seed_index``, ``strategy``,
    the ``parameters`` and ``metric``), in memory: nothing is written. Arguments as in
    `discover`; ``strategies`` those the condition may name (default: the table's)."""
    prim, tree_module, scoring = _workbench()
    parameters = list(parameters)
    if runs.empty:
        raise DiscoveryError(
            source, "", "the sweep has no finished runs yet; run (or resume) the sweep first"
        )
    strategies = list(strategies) if strategies is not None else _unique(runs["strategy"])
    condition = parse_condition(where, strategies, source=source)
    _check_options(
        source,
        runs,
        parameters,
        metric=metric,
        cases=cases,
        max_boxes=max_boxes,
        min_coverage=min_coverage,
        alphas=(peel_alpha, paste_alpha, mass_min),
        depth=depth,
    )
    if not (isinstance(score_resamples, int) and score_resamples >= 0):
        raise DiscoveryError(
            source, "score_resamples", f"a whole number >= 0, got {score_resamples!r}"
        )
    table = case_table(runs, parameters, condition, metric, cases=cases)
    held = int(table["holds"].sum())
    if held < MIN_CASES or len(table) - held < MIN_CASES:
        raise DiscoveryError(
            source,
            "where",
            f"too few cases on one side: {str(condition)!r} holds in {held} of {len(table)} "
            f"cases and fails in {len(table) - held}; discovery needs at least {MIN_CASES} "
            "on each side (choose another threshold, more seeds, or a sweep that covers more)",
        )
    rng = np.random.default_rng([seed, 1])
    table["half"] = _halves(table["holds"].to_numpy(), rng)
    x = _features(table[parameters])
    y = table["holds"].to_numpy(dtype=bool)
    train = (table["half"] == "train").to_numpy()
    boxes, limits, trajectory = _prim_boxes(
        prim,
        x,
        y,
        train,
        max_boxes=max_boxes,
        min_coverage=min_coverage,
        peel_alpha=peel_alpha,
        paste_alpha=paste_alpha,
        mass_min=mass_min,
    )
    classifier, tree = _cart(tree_module, x, y, train, depth=depth, seed=seed)
    scores = _feature_scores(scoring, x, y, table["point"], seed=seed, resamples=score_resamples)
    settings = {
        "metric": metric,
        "cases": cases,
        "max_boxes": max_boxes,
        "min_coverage": min_coverage,
        "peel_alpha": peel_alpha,
        "paste_alpha": paste_alpha,
        "mass_min": mass_min,
        "depth": depth,
        "seed": seed,
        "score_resamples": score_resamples,
        "title": title,
        "ema_workbench": _version("ema_workbench"),
        "scikit_learn": _version("sklearn"),
    }
    result = DiscoveryResult(
        directory=None,
        condition=condition,
        metric=metric,
        cases_unit=cases,
        parameters=parameters,
        cases=table,
        boxes=boxes,
        limits=limits,
        trajectory=trajectory,
        tree=tree,
        scores=scores,
        settings=settings,
        classifier=classifier,
    )
    result.report = text_report(result, labels=labels or {}, money=money, title=title)
    return result


def _workbench() -> tuple[Any, Any, Any]:
    """The EMA Workbench's PRIM and feature scoring, scikit-learn's trees; a `DiscoveryError`
    saying how to install them if they are missing."""
    try:
        with warnings.catch_warnings():
            # the workbench warns about optional parts it does not find (ipyparallel, altair)
            warnings.simplefilter("ignore")
            from ema_workbench.analysis import feature_scoring, prim
            from sklearn import tree
    except ImportError as exc:
        raise DiscoveryError(
            "discover", "", f"{INSTALL_HINT} (missing: {exc.name or exc})"
        ) from None
    return prim, tree, feature_scoring


def _version(module: str) -> str:
    return str(getattr(sys.modules.get(module), "__version__", "unknown"))


def _unique(values: pd.Series) -> list[str]:
    return [str(v) for v in pd.unique(values.astype(str))]


def _check_options(
    source: str,
    runs: pd.DataFrame,
    parameters: list[str],
    *,
    metric: str,
    cases: str,
    max_boxes: int,
    min_coverage: float,
    alphas: tuple[float, float, float],
    depth: int,
) -> None:
    numeric = [
        c
        for c in runs.columns
        if c not in (*parameters, "point", "seed_index", "seed")
        and (pd.api.types.is_numeric_dtype(runs[c]) or pd.api.types.is_bool_dtype(runs[c]))
    ]
    if metric not in numeric:
        raise DiscoveryError(
            source, "metric", f"unknown outcome {metric!r}; allowed: {', '.join(numeric)}"
        )
    if cases not in ("run", "point"):
        raise DiscoveryError(source, "cases", f"{cases!r}; allowed: run, point")
    missing = [p for p in parameters if p not in runs.columns]
    if missing or not parameters:
        raise DiscoveryError(
            source, "parameters", f"not columns of the runs table: {', '.join(missing) or '-'}"
        )
    if not (isinstance(max_boxes, int) and max_boxes >= 1):
        raise DiscoveryError(source, "max_boxes", f"a whole number >= 1, got {max_boxes!r}")
    if not (isinstance(depth, int) and depth >= 1):
        raise DiscoveryError(source, "depth", f"a whole number >= 1, got {depth!r}")
    if not 0 < min_coverage <= 1:
        raise DiscoveryError(source, "min_coverage", f"in (0, 1], got {min_coverage!r}")
    for name, value in zip(("peel_alpha", "paste_alpha", "mass_min"), alphas, strict=True):
        if not 0 < value < 1:
            raise DiscoveryError(source, name, f"in (0, 1), got {value!r}")


# ------------------------------------------------------------------------------ the cases


def case_table(
    runs: pd.DataFrame,
    parameters: Sequence[str],
    condition: Condition,
    metric: str,
    *,
    cases: Cases = "run",
) -> pd.DataFrame:
    """One row per case: the parameters, ``value`` (the condition's left-hand side: a
    strategy's ``metric``, or the difference of two, paired by design point and seed) and
    ``holds``. ``cases="point"``: the mean of ``value`` over each point's seeds. Pairs with a
    missing value (a run not finished, or, for outcomes over survivors, a closed firm) are
    left out."""
    parameters = list(parameters)
    frame = runs.assign(strategy=runs["strategy"].astype(str))
    values = frame[metric].astype(float)
    if metric in SURVIVOR_METRICS and "survived" in frame:
        values = values.where(frame["survived"].astype(bool))
    frame = frame.assign(_value=values)
    wide = frame.pivot_table(
        index=["point", "seed_index"], columns="strategy", values="_value", observed=True
    )
    for name in condition.strategies:
        if name not in wide.columns:
            wide[name] = np.nan
    value = wide[condition.contrast]
    if condition.baseline is not None:
        value = value - wide[condition.baseline]
    value = value.dropna().rename("value")
    points = frame.drop_duplicates("point").set_index("point")[parameters]
    if cases == "point":
        value = value.groupby(level="point").mean()
        table = points.loc[value.index].assign(value=value.to_numpy()).reset_index()
    else:
        table = value.reset_index().merge(points, left_on="point", right_index=True)
        table = table[["point", "seed_index", *parameters, "value"]]
    table["holds"] = condition.holds(table["value"])
    return table.reset_index(drop=True)


def _halves(holds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Half of the cases where the condition holds and half of the others: "train"; the rest:
    "test" (held out)."""
    half = np.full(holds.shape[0], "test", dtype=object)
    for side in (True, False):
        index = np.flatnonzero(holds == side)
        chosen = rng.permutation(index)[: (len(index) + 1) // 2]
        half[chosen] = "train"
    return half


def _features(x: pd.DataFrame) -> pd.DataFrame:
    """Parameters as PRIM takes them: numbers as floats, words and true/false as categories.

    Whole numbers are floats too: the workbench's pasting of an integer column writes a float
    limit into it, which pandas 3 refuses; as floats they are peeled at quantiles, which for
    whole numbers falls between or on their values."""
    x = x.reset_index(drop=True).copy()
    for column in x.columns:
        if pd.api.types.is_bool_dtype(x[column]) or not pd.api.types.is_numeric_dtype(x[column]):
            x[column] = x[column].astype(str).astype("category")
        else:
            x[column] = x[column].astype(np.float64)
    return x


def _in_box(x: pd.DataFrame, limits: pd.DataFrame) -> np.ndarray:
    """Which rows of ``x`` lie in a box (the workbench's box limits: row 0 the lower, row 1
    the upper limits; a set of the categories kept for a categorical parameter)."""
    inside = np.ones(len(x), dtype=bool)
    for column in x.columns:
        low, high = limits[column].iloc[0], limits[column].iloc[1]
        if isinstance(low, set | frozenset):
            inside &= x[column].astype(str).isin({str(v) for v in low}).to_numpy()
        else:
            values = x[column].to_numpy(dtype=float)
            inside &= (values >= float(low)) & (values <= float(high))
    return inside


# ------------------------------------------------------------------------------ PRIM


def _prim_boxes(
    prim: Any,
    x: pd.DataFrame,
    y: np.ndarray,
    train: np.ndarray,
    *,
    max_boxes: int,
    min_coverage: float,
    peel_alpha: float,
    paste_alpha: float,
    mass_min: float,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    x_train = x[train].reset_index(drop=True)
    x_test = x[~train].reset_index(drop=True)
    y_train, y_test = y[train], y[~train]
    with warnings.catch_warnings():  # the workbench's own deprecation warnings (pandas)
        warnings.simplefilter("ignore")
        finder = prim.Prim(
            x_train,
            y_train.copy(),
            peel_alpha=peel_alpha,
            paste_alpha=paste_alpha,
            mass_min=mass_min,
        )
    init = finder.box_init
    left = np.ones(len(x_test), dtype=bool)  # held-out cases no box has taken yet
    total_test = max(int(y_test.sum()), 1)
    boxes, limits, steps = [], [], []
    for number in range(1, max_boxes + 1):
        if left.sum() == 0 or y_test[left].sum() == 0:
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            box = finder.find_box()
        if box is None:
            break
        peel = box.peeling_trajectory.reset_index(drop=True)
        base_left = float(y_test[left].mean())
        interest_left = float(y_test[left].sum()) / total_test
        rows = []
        for i, lims in enumerate(box.box_lims):
            inside = _in_box(x_test, lims) & left
            n, k = int(inside.sum()), int(y_test[inside].sum())
            rows.append(
                {
                    "box": number,
                    "step": i,
                    "coverage": float(peel.loc[i, "coverage"]),
                    "density": float(peel.loc[i, "density"]),
                    "mass": float(peel.loc[i, "mass"]),
                    "n": int(peel.loc[i, "n"]),
                    "restricted": int(peel.loc[i, "res_dim"]),
                    "test_n": n,
                    "test_coverage": k / total_test,
                    "test_density": k / n if n else math.nan,
                }
            )
        trajectory = pd.DataFrame(rows)
        floor = min_coverage * interest_left - 1e-12
        eligible = trajectory[(trajectory["test_coverage"] >= floor) & (trajectory["test_n"] > 0)]
        if eligible.empty:
            eligible = trajectory[trajectory["test_n"] > 0].head(1)
        best = eligible.sort_values(
            ["test_density", "restricted", "test_coverage"],
            ascending=[False, True, False],
            kind="stable",
        ).index[0]
        trajectory["chosen"] = trajectory.index == best
        steps.append(trajectory)
        chosen = trajectory.loc[best]
        box.select(int(best))
        inside = _in_box(x_test, box.box_lims[int(best)]) & left
        n, k = int(inside.sum()), int(y_test[inside].sum())
        low, high = wilson_interval(k, n, LEVEL)
        restricted = _restricted(box.box_lims[int(best)], init)
        clear = bool(float(low) > base_left)
        boxes.append(
            {
                "box": number,
                "step": int(best),
                "coverage": chosen["coverage"],
                "density": chosen["density"],
                "mass": chosen["mass"],
                "n": int(chosen["n"]),
                "test_coverage": chosen["test_coverage"],
                "test_density": k / n if n else math.nan,
                "test_density_low": float(low),
                "test_density_high": float(high),
                "test_n": n,
                "test_base_rate": base_left,
                "clear": clear,
                "restricted": ", ".join(restricted),
            }
        )
        p_values = box.p_values[int(best)]
        for name in restricted:
            low_lim, high_lim = (
                box.box_lims[int(best)][name].iloc[0],
                box.box_lims[int(best)][name].iloc[1],
            )
            full_low, full_high = init[name].iloc[0], init[name].iloc[1]
            categorical = isinstance(low_lim, set | frozenset)
            qp = [v if v is not None and v >= 0 else math.nan for v in p_values.get(name, [])]
            qp = [*qp, math.nan, math.nan][:2]
            limits.append(
                {
                    "box": number,
                    "parameter": name,
                    "low": math.nan if categorical else float(low_lim),
                    "high": math.nan if categorical else float(high_lim),
                    "full_low": math.nan if categorical else float(full_low),
                    "full_high": math.nan if categorical else float(full_high),
                    "values": ", ".join(sorted(map(str, low_lim))) if categorical else "",
                    "qp_low": float(qp[0]),
                    "qp_high": float(qp[1]),
                }
            )
        left &= ~inside
        if not clear:
            break
        # the next box: on the training cases this one left (the workbench's default update)
    box_table = pd.DataFrame(boxes)
    limit_table = pd.DataFrame(
        limits,
        columns=[
            "box",
            "parameter",
            "low",
            "high",
            "full_low",
            "full_high",
            "values",
            "qp_low",
            "qp_high",
        ],
    )
    return box_table, limit_table, pd.concat(steps, ignore_index=True)


def _restricted(limits: pd.DataFrame, init: pd.DataFrame) -> list[str]:
    names = []
    for column in init.columns:
        if limits[column].iloc[0] != init[column].iloc[0] or (
            limits[column].iloc[1] != init[column].iloc[1]
        ):
            names.append(str(column))
    return names


# ------------------------------------------------------------------------------ CART and scores


def _cart(
    tree_module: Any, x: pd.DataFrame, y: np.ndarray, train: np.ndarray, *, depth: int, seed: int
) -> tuple[Any, pd.DataFrame]:
    """A classification tree on the training half; its leaves with both halves' numbers."""
    codes = _codes(x)
    x_train, x_test = codes[train], codes[~train]
    y_train, y_test = y[train], y[~train]
    leaf_size = max(5, int(0.05 * len(y_train)))
    classifier = tree_module.DecisionTreeClassifier(
        max_depth=depth, min_samples_leaf=leaf_size, random_state=seed
    )
    classifier.fit(x_train, y_train)
    leaf_train = classifier.apply(x_train)
    leaf_test = classifier.apply(x_test)
    rules = _leaf_rules(classifier, list(x.columns), x)
    rows = []
    for leaf, rule in rules.items():
        n, k = int((leaf_train == leaf).sum()), int(y_train[leaf_train == leaf].sum())
        tn, tk = int((leaf_test == leaf).sum()), int(y_test[leaf_test == leaf].sum())
        low, high = wilson_interval(tk, tn, LEVEL)
        rows.append(
            {
                "leaf": int(leaf),
                "rule": rule,
                "n": n,
                "density": k / n if n else math.nan,
                "coverage": k / max(int(y_train.sum()), 1),
                "test_n": tn,
                "test_density": tk / tn if tn else math.nan,
                "test_density_low": float(low),
                "test_density_high": float(high),
                "test_coverage": tk / max(int(y_test.sum()), 1),
            }
        )
    table = pd.DataFrame(rows).sort_values("density", ascending=False, kind="stable")
    return classifier, table.reset_index(drop=True)


def _codes(x: pd.DataFrame) -> pd.DataFrame:
    """Numbers for the tree: categories by their codes (in sorted order)."""
    out = x.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].cat.codes.astype(float)
    return out.astype(float)


def _leaf_rules(classifier: Any, names: list[str], x: pd.DataFrame) -> dict[int, str]:
    """Each leaf's path from the root as "a > 0.5 and b <= 2 and c in {u, v}": per parameter
    the tightest bound on each side, or the categories left."""
    structure = classifier.tree_
    rules: dict[int, str] = {}

    def describe(path: list[tuple[int, float, bool]]) -> str:
        bounds: dict[tuple[int, bool], float] = {}
        kept: dict[int, list[str]] = {}
        for feature, threshold, left in path:
            column = x[names[feature]]
            if isinstance(column.dtype, pd.CategoricalDtype):
                categories = kept.get(feature, list(map(str, column.cat.categories)))
                codes = {str(c): i for i, c in enumerate(column.cat.categories)}
                kept[feature] = [c for c in categories if (codes[c] <= threshold) == left]
            else:
                keep = min if left else max
                bounds[(feature, left)] = keep(bounds.get((feature, left), threshold), threshold)
        parts = [f"{names[f]} in {{{', '.join(values)}}}" for f, values in kept.items()]
        parts += [f"{names[f]} {'<=' if left else '>'} {t:.4g}" for (f, left), t in bounds.items()]
        return " and ".join(parts) or "(everywhere)"

    def walk(node: int, path: list[tuple[int, float, bool]]) -> None:
        if structure.children_left[node] == structure.children_right[node]:  # a leaf
            rules[node] = describe(path)
            return
        feature, threshold = int(structure.feature[node]), float(structure.threshold[node])
        walk(structure.children_left[node], [*path, (feature, threshold, True)])
        walk(structure.children_right[node], [*path, (feature, threshold, False)])

    walk(0, [])
    return rules


def _feature_scores(
    scoring: Any,
    x: pd.DataFrame,
    y: np.ndarray,
    points: Any,
    *,
    seed: int,
    resamples: int = SCORE_RESAMPLES,
) -> pd.DataFrame:
    """Extra-trees feature scores on all cases, with a column of random noise (one value per
    design point, ``points``) as reference; with ``resamples`` > 0, 95% intervals from a
    bootstrap over design points (a point is drawn with all its cases: its seeds are not
    independent of each other): each score +/- 1.96 bootstrap standard errors (``low``,
    ``high``), and its difference from the noise column's score, with the standard error of
    that difference over the same resamples (``vs_noise_low``, ``vs_noise_high``). A
    parameter clearly matters when the latter lies above 0 (``matters``). Standard-error
    intervals, not percentile ones: a resample repeats design points, and trees fitted to
    repeated cases score every column differently (percentiles of the resampled scores can
    leave out the estimate itself)."""
    rng = np.random.default_rng([seed, 2])  # a stream of its own
    # one noise value per design point, as the parameters are (constant over a point's seeds)
    _, point = np.unique(np.asarray(points), return_inverse=True)
    with_noise = x.assign(**{NOISE: rng.uniform(size=point.max() + 1)[point]})
    for column in with_noise.columns:
        if isinstance(with_noise[column].dtype, pd.CategoricalDtype):
            with_noise[column] = with_noise[column].astype(str)
    y = y.astype(int)

    def scores_of(rows: np.ndarray | None, random_state: int) -> pd.Series:
        features = with_noise if rows is None else with_noise.iloc[rows]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores, _ = scoring.get_ex_feature_scores(
                features.reset_index(drop=True),
                y if rows is None else y[rows],
                max_features=max(1, round(with_noise.shape[1] / 3)),
                nr_trees=250,
                random_state=random_state,
            )
        return scores.iloc[:, 0]

    estimate = scores_of(None, seed)
    table = estimate.rename("score").rename_axis("parameter").reset_index()
    if resamples <= 0:
        return table
    from scipy.stats import norm

    boot_rng = np.random.default_rng([seed, 3])
    members = [np.flatnonzero(point == p) for p in range(point.max() + 1)]
    draws = []
    for b in range(resamples):
        chosen = boot_rng.integers(len(members), size=len(members))
        rows = np.concatenate([members[p] for p in chosen])
        if np.unique(y[rows]).size < 2:  # a resample with one class has no scores
            continue
        draws.append(scores_of(rows, seed + 1 + b).reindex(table["parameter"]).to_numpy())
    if len(draws) < 2:  # no spread to measure: the scores without intervals
        return table
    draws_array = np.asarray(draws, dtype=float)
    is_noise = (table["parameter"] == NOISE).to_numpy()
    noise = draws_array[:, np.flatnonzero(is_noise)[0]]
    z = float(norm.ppf(0.5 + LEVEL / 2))
    score = table["score"].to_numpy(dtype=float)
    spread = z * draws_array.std(axis=0, ddof=1)
    versus = score - score[is_noise][0]
    versus_spread = z * (draws_array - noise[:, None]).std(axis=0, ddof=1)
    vs_low = np.where(is_noise, np.nan, versus - versus_spread)
    return table.assign(
        low=score - spread,
        high=score + spread,
        vs_noise_low=vs_low,
        vs_noise_high=np.where(is_noise, np.nan, versus + versus_spread),
        matters=~is_noise & (vs_low > 0),
        resamples=len(draws_array),
    )


def _storable(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.reset_index(drop=True)


# ------------------------------------------------------------------------------ report


def _label(name: str, labels: dict[str, str]) -> str:
    label = labels.get(name)
    return f"{label} ({name})" if label and label != name else name


def _number(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "n/a"


def _share(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "n/a"


def box_rules(result: DiscoveryResult, box: int, labels: dict[str, str] | None = None) -> list[str]:
    """A box's restrictions in words, one per restricted parameter."""
    labels = labels or {}
    lines = []
    for row in result.limits[result.limits["box"] == box].itertuples(index=False):
        name = row.parameter
        if row.values:
            rule = f"{name} in {{{row.values}}}"
        elif row.low > row.full_low and row.high < row.full_high:
            rule = f"{_number(row.low)} <= {name} <= {_number(row.high)}"
        elif row.low > row.full_low:
            rule = f"{name} >= {_number(row.low)}"
        else:
            rule = f"{name} <= {_number(row.high)}"
        details = []
        qp = [q for q in (row.qp_low, row.qp_high) if math.isfinite(q)]
        if qp:
            details.append(f"quasi-p {max(qp):.2g}")
        if not row.values:
            details.append(f"full range {_number(row.full_low)} to {_number(row.full_high)}")
        label = labels.get(name)
        lines.append(
            rule
            + (f" ({'; '.join(details)})" if details else "")
            + (f": {label}" if label and label != name else "")
        )
    return lines


def text_report(
    result: DiscoveryResult,
    *,
    labels: dict[str, str] | None = None,
    money: str = "",
    title: str = "",
) -> str:
    """The short report: cases and base rate, each PRIM box (coverage, density, restricted
    parameters, the held-out check), the tree's leaves, the feature scores."""
    labels = labels or {}
    cases = result.cases
    condition = result.condition
    settings = result.settings
    unit = f" ({money})" if money and ("profit" in result.metric or "cash" in result.metric) else ""
    heading = f"# Scenario discovery: where {condition}"
    lines = [heading + (f" ({title})" if title else ""), ""]
    if result.cases_unit == "run":
        what = (
            f"{len(cases)} cases: design point x seed ({cases['point'].nunique()} points), "
            f"each strategy's run on the same seed"
        )
    else:
        what = f"{len(cases)} cases: design points, the mean over their seeds"
    left = (
        f"{result.metric}{unit} of {condition.contrast}"
        if condition.baseline is None
        else f"{result.metric}{unit} of {condition.contrast} minus that of {condition.baseline}"
        + (", paired by seed" if result.cases_unit == "run" else "")
    )
    held = int(cases["holds"].sum())
    lines += [
        f"Outcome: {left}. {what}.",
        f"The condition holds in {held} of {len(cases)} cases (base rate {result.base_rate:.3f}).",
        "",
        f"PRIM (EMA Workbench {settings['ema_workbench']}; peel alpha {settings['peel_alpha']}, "
        f"paste alpha {settings['paste_alpha']}, mass min {settings['mass_min']}) on a random "
        f"half of the cases ({int((cases['half'] == 'train').sum())}, seed {settings['seed']}); "
        "every box on the peeling trajectory checked on the other half (held out). Reported: "
        "the box densest on the held-out half among those covering at least "
        f"{settings['min_coverage']:g} of the cases of interest left. Coverage: share of the "
        "cases of interest inside the box; density: share of the cases inside the box where "
        "the condition holds; mass: share of all cases inside the box.",
    ]
    if result.boxes.empty:
        lines += ["", "No box found."]
    for row in result.boxes.itertuples(index=False):
        verdict = (
            "clearly above the base rate"
            if row.clear
            else "NOT clearly above the base rate; the search stops here"
        )
        lines += [
            "",
            f"Box {row.box} (step {row.step} of its peeling trajectory):",
            f"  training half: coverage {row.coverage:.3f}, density {row.density:.3f}, mass "
            f"{row.mass:.3f} ({row.n} cases)",
            f"  held out: coverage {row.test_coverage:.3f}, density {row.test_density:.3f} "
            f"[95% CI {row.test_density_low:.3f}, {row.test_density_high:.3f}] in "
            f"{row.test_n} cases, vs base rate {row.test_base_rate:.3f} of the cases left: "
            f"{verdict}",
        ]
        rules = box_rules(result, row.box, labels)
        lines += (
            ["  restricted:"] + [f"    {rule}" for rule in rules]
            if rules
            else ["  restricted: nothing (the whole space)"]
        )
    tree = result.tree
    lines += [
        "",
        f"CART tree (scikit-learn {settings['scikit_learn']}, depth <= {settings['depth']}) on "
        "the training half; its leaves, densest first (density on the training half; held out "
        "with 95% CI):",
    ]
    for row in tree.itertuples(index=False):
        lines.append(
            f"  {row.rule}: density {_share(row.density)} ({row.n} cases); held out "
            f"{_share(row.test_density)} [{_share(row.test_density_low)}, "
            f"{_share(row.test_density_high)}] ({row.test_n})"
        )
    scores = result.scores
    intervals = "low" in scores.columns
    lines += [
        "",
        "Which parameters matter (EMA Workbench extra-trees feature scores on all cases: mean "
        "decrease in impurity, summing to 1"
        + (
            "; 95% intervals: +/- 1.96 standard errors from "
            f"{int(scores['resamples'].iloc[0])} bootstrap resamples of the design points, "
            "each drawn with all its cases"
            if intervals
            else "; no interval"
        )
        + "). A column of random noise, one value per design point, is the reference: what a "
        "parameter that does not matter scores"
        + (
            "; a parameter clearly matters when its score minus the noise's (its standard "
            "error over the same resamples) has an interval above 0"
            if intervals
            else "; a parameter near it does not clearly matter"
        )
        + "):",
    ]
    for row in scores.itertuples(index=False):
        line = f"  {_label(row.parameter, labels)}: {row.score:.3f}"
        if intervals:
            line += f" [{_share(row.low)}, {_share(row.high)}]"
            if row.parameter != NOISE:
                line += (
                    f"; minus the noise [{row.vs_noise_low:+.3f}, {row.vs_noise_high:+.3f}]: "
                    + ("matters" if row.matters else "not clearly")
                )
        lines.append(line)
    if result.figures:
        lines += ["", "Figures: " + ", ".join(p.name for p in result.figures)]
    return "\n".join(lines)


# ------------------------------------------------------------------------------ figures


def trajectory_figure(result: DiscoveryResult) -> Figure:
    """Per box: density against coverage along the peeling trajectory (training half filled,
    held out open, the reported box starred, the base rate dashed), and coverage, density and
    mass against the peeling step."""
    boxes = sorted(set(result.trajectory["box"]))
    fig = Figure(figsize=(11, 4.2 * len(boxes)), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(boxes), 2, squeeze=False)
    cmap = "viridis"
    for row, number in enumerate(boxes):
        steps = result.trajectory[result.trajectory["box"] == number]
        left, right = axes[row]
        points = left.scatter(
            steps["coverage"],
            steps["density"],
            c=steps["restricted"],
            cmap=cmap,
            s=30,
            zorder=3,
            label="training half",
        )
        left.scatter(
            steps["test_coverage"],
            steps["test_density"],
            facecolors="none",
            edgecolors="#444444",
            s=30,
            zorder=2,
            label="held out",
        )
        chosen = steps[steps["chosen"]]
        left.scatter(
            chosen["test_coverage"],
            chosen["test_density"],
            marker="*",
            s=220,
            color="#CC6677",
            edgecolors="black",
            zorder=4,
            label="reported box (held out)",
        )
        box = result.boxes[result.boxes["box"] == number].iloc[0]
        left.axhline(
            box["test_base_rate"], linestyle="--", color="#888888", label="base rate (held out)"
        )
        left.set_xlim(0, 1.05)
        left.set_ylim(0, 1.05)
        left.set_xlabel("coverage (share of the cases of interest in the box)")
        left.set_ylabel("density (share in the box where it holds)")
        left.set_title(f"Box {number}: the coverage-density trade-off", fontsize=11)
        left.legend(frameon=False, fontsize=8, loc="lower left")
        bar = fig.colorbar(points, ax=left)
        bar.set_label("restricted parameters")
        bar.locator = MaxNLocator(integer=True)
        bar.update_ticks()
        for column, colour, name in (
            ("coverage", "#332288", "coverage"),
            ("density", "#117733", "density"),
            ("mass", "#DDCC77", "mass"),
        ):
            right.plot(steps["step"], steps[column], color=colour, label=name)
        right.plot(
            steps["step"], steps["test_density"], "--", color="#117733", label="density, held out"
        )
        right.axvline(int(box["step"]), color="#CC6677", linestyle=":", label="reported box")
        right.set_ylim(0, 1.05)
        right.xaxis.set_major_locator(MaxNLocator(integer=True))
        right.set_xlabel("peeling / pasting step")
        right.set_ylabel("share")
        right.set_title(f"Box {number}: the peeling trajectory", fontsize=11)
        right.legend(frameon=False, fontsize=8)
        for ax in (left, right):
            ax.grid(alpha=0.3)
    fig.suptitle(f"PRIM: where {result.condition} ({result.metric})", fontsize=11)
    return fig


def tree_figure(result: DiscoveryResult, tree_module: Any | None = None) -> Figure:
    """The CART tree: each node's rule, cases and the share where the condition holds."""
    if tree_module is None:
        _, tree_module, _ = _workbench()
    depth = result.classifier.get_depth()
    leaves = result.classifier.get_n_leaves()
    fig = Figure(figsize=(max(8.0, 2.6 * leaves), 2.2 * (depth + 1) + 1), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    tree_module.plot_tree(
        result.classifier,
        feature_names=list(result.parameters),
        class_names=["fails", "holds"],
        filled=True,
        impurity=False,
        proportion=True,
        rounded=True,
        fontsize=9,
        ax=ax,
    )
    ax.set_title(
        f"CART on the training half: where {result.condition} ({result.metric}); "
        "value = shares [fails, holds]",
        fontsize=11,
    )
    return fig


def scores_figure(result: DiscoveryResult, labels: dict[str, str] | None = None) -> Figure:
    """Feature scores as bars, the random-noise reference as a line."""
    labels = labels or {}
    table = result.scores[result.scores["parameter"] != NOISE].iloc[::-1]
    noise = float(result.scores.loc[result.scores["parameter"] == NOISE, "score"].iloc[0])
    fig = Figure(figsize=(9.5, 0.5 * len(table) + 2.0), layout="constrained")
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    names = [labels.get(p) or p for p in table["parameter"]]
    if "low" in table.columns:  # 95% bootstrap intervals
        errors = [table["score"] - table["low"], table["high"] - table["score"]]
        ax.barh(
            names,
            table["score"],
            xerr=np.clip(errors, 0, None),
            color="#332288",
            ecolor="#888888",
            capsize=3,
        )
    else:
        ax.barh(names, table["score"], color="#332288")
    ax.axvline(noise, color="#CC6677", linestyle="--", label="random noise (reference)")
    ax.set_xlabel("feature score (extra trees: mean decrease in impurity; sums to 1)")
    fig.suptitle(f"Which parameters matter for: {result.condition}", fontsize=11)
    ax.legend(frameon=False, fontsize=9, loc="lower right")
    ax.grid(alpha=0.3, axis="x")
    return fig


def save_figures(
    result: DiscoveryResult, out: Path, *, labels: dict[str, str] | None = None
) -> list[Path]:
    """Write peeling_trajectory.png, tree.png and feature_scores.png into ``out``."""
    written = []
    for name, fig in (
        ("peeling_trajectory.png", trajectory_figure(result)),
        ("tree.png", tree_figure(result)),
        ("feature_scores.png", scores_figure(result, labels)),
    ):
        fig.savefig(out / name, dpi=_DPI, facecolor="white")
        written.append(out / name)
    return written
