"""Command line: `python -m sim COMMAND ...` (also installed as `smb-sim`)."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from sim import __version__
from sim.arguments import positive_int, positive_number, seed_number
from sim.errors import ScenarioError, UsageError
from sim.limits import DEFAULT_MEMORY_BUDGET

if TYPE_CHECKING:  # pandas loads with the commands that use it (the app starts faster)
    from sim.experiment import ExperimentResult

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


#: The command-line flag of each Python argument a `UsageError` may name (the command line
#: names what its user typed; ``scenario`` is told as the SCENARIO given).
FLAGS = {
    "seeds": "--seeds",
    "strategies": "--strategy",
    "strategy": "--strategy",
    "seed": "--seed",
    "rng": "--seed",
    "base": "--base",
    "target": "--target",
    "out": "--out",
    "workers": "--workers",
    "batch_size": "--batch-size",
    "scheduler": "--scheduler",
    "cluster": "--cluster",
    "metric": "--metric",
    "compare": "--compare",
    "margin": "--margin",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sim",
        description="Simulate a small business as a complex adaptive system: departments "
        "optimise their own efficiency, an alignment coupling ties them to the firm's strategy, "
        "and market shifts show whether the firm adapts or sails efficiently in circles.",
    )
    parser.add_argument("--version", action="version", version=f"smb-sim {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = commands.add_parser(
        "run",
        help="run a scenario: every strategy x seed, summary table, Parquet tables and figures",
        description="Run every strategy of a scenario on each seed with common random numbers "
        "(strategies on seed k face the same landscapes and market), print a summary table with "
        "95% confidence intervals and every pair of strategies' paired differences "
        "(Holm-adjusted p-values across the pairs), and write OUT/runs.parquet (one row per "
        "run), OUT/periods.parquet (one row per run per period), OUT/summary.csv, "
        "OUT/differences.csv, OUT/manifest.json and figures. A scenario with [competition] runs "
        "its whole mix of competing firms in one market per seed, prints market shares, "
        "concentration (HHI), entries, exits and each strategy's profit, and writes one row per "
        "firm and OUT/markets.parquet (per market per period).",
    )
    run.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="a scenario file, or the name of one in scenarios/ (e.g. bakery_gluten_free)",
    )
    run.add_argument(
        "--seeds",
        type=positive_int,
        metavar="N",
        help="number of seeds, 0..N-1 (default: the scenario's `seeds`)",
    )
    run.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: results/<scenario>/<timestamp>/)",
    )
    run.add_argument(
        "--strategy",
        action="append",
        metavar="NAME",
        help="run only this strategy (repeatable; default: the scenario's strategies)",
    )
    run.add_argument(
        "--no-figures", action="store_true", help="skip the figures (tables and manifest only)"
    )
    run.add_argument(
        "--no-periods",
        action="store_true",
        help="skip periods.parquet (per-run summaries only; figures need periods)",
    )
    run.add_argument(
        "--latex",
        action="store_true",
        help="also write the summary and the paired differences as LaTeX tables "
        "(OUT/summary.tex, OUT/differences.tex)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar, no summary table")
    add_memory_budget(run)
    run.set_defaults(handler=command_run)

    validate = commands.add_parser(
        "validate",
        help="reproduce the published NK results on organisations and compare",
        description="Run the published experiments (Kauffman 1993 landscape statistics; "
        "Levinthal 1997 Figs. 1, 6 and 8; Rivkin & Siggelkow 2003; cycling after Ethiraj & "
        "Levinthal 2004) as scenarios of this model, and March 1991 Fig. 1 (organisational "
        "learning) as a published protocol of its own, print 'experiment | measure | source | "
        "reference | model | within tolerance | z' (a reference is a published figure's "
        "number, an analytic value or the same protocol run by independent code; z is the gap "
        "in combined standard errors), write OUT/validation.csv, OUT/manifest.json and figures "
        "overlaying the published points on the model's curves. Exit code 1 if a measure is "
        "out of tolerance. See docs/validation.md.",
    )
    validate.add_argument(
        "--quick",
        action="store_true",
        help="small versions of every experiment (well under a minute; wider tolerances)",
    )
    validate.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: results/validation/<timestamp>/)",
    )
    validate.add_argument(
        "--experiment",
        action="append",
        metavar="NAME",
        help="run only this experiment (repeatable; default: all)",
    )
    validate.set_defaults(handler=command_validate)

    explain = commands.add_parser(
        "explain",
        help="a scenario in plain words, without running it",
        description="Print a scenario's decisions by department, its interaction structure (one "
        "draw), its designed effects, what customers want in each regime, the shifts, the "
        "strategies and their costs, strategic understanding and engagement where they are on, "
        "without running anything. Bad input gets the same one-line errors as run.",
    )
    explain.add_argument("scenario", metavar="SCENARIO", help="a scenario file or name")
    explain.add_argument(
        "--seed",
        type=seed_number,
        default=0,
        metavar="K",
        help="seed of the structure shown (default 0)",
    )
    explain.set_defaults(handler=command_explain)

    decompose = commands.add_parser(
        "decompose",
        help="what alignment buys: each ingredient's effect (alpha, coordination, sensing)",
        description="Run the 2^3 factorial of alignment's ingredients (alignment coupling "
        "alpha, coordination mode, market sensing; each off = the base strategy's value, on = "
        "the target's; exploration the target's in every arm) on common random numbers (the "
        "arms of seed k share its landscapes and one behaviour stream), and print the full "
        "factorial: each ingredient's main effect (averaged over the other two), the two-way "
        "and three-way interactions, each ingredient alone and added last, and the full "
        "comparison, on profit after the split (net of coordination costs, and gross), market "
        "value and efficiency after the split: means over seeds of paired differences, with "
        "95% intervals. Writes OUT/runs.parquet, OUT/effects.csv, OUT/decomposition.png and "
        "OUT/manifest.json.",
    )
    decompose.add_argument("scenario", metavar="SCENARIO", help="a scenario file or name")
    decompose.add_argument(
        "--seeds", type=positive_int, metavar="N", default=200, help="seeds 0..N-1 (default 200)"
    )
    decompose.add_argument(
        "--base",
        default="efficiency_only",
        metavar="NAME",
        help="ingredients off (default: efficiency_only)",
    )
    decompose.add_argument(
        "--target", default="aligned", metavar="NAME", help="ingredients on (default: aligned)"
    )
    decompose.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: results/<scenario>/decomposition-<timestamp>/)",
    )
    decompose.add_argument("--quiet", action="store_true", help="print nothing")
    add_memory_budget(decompose)
    decompose.set_defaults(handler=command_decompose)

    from sim.app.commands import add_commands  # `app` and `figure`: the classroom

    add_commands(commands)
    add_sweep_commands(commands)  # `sweep` and `analyze`: research-scale sweeps
    add_discover_command(commands)  # `discover`: scenario discovery on a sweep
    return parser


def add_memory_budget(command: argparse.ArgumentParser) -> None:
    """The `--memory-budget GB` option of the commands that hold runs in memory."""
    command.add_argument(
        "--memory-budget",
        type=positive_number,
        default=DEFAULT_MEMORY_BUDGET / 1e9,
        metavar="GB",
        help=f"refuse a run estimated to need more memory than this (default "
        f"{DEFAULT_MEMORY_BUDGET / 1e9:.3g} GB; see docs/limits.md)",
    )


def command_run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.experiment import run_experiment
    from sim.results import default_output_dir, output_folder, write_experiment, write_summary
    from sim.scenario import check_seeds, check_strategies, load_scenario

    scenario = load_scenario(args.scenario)
    if scenario.competition is not None:
        return _run_competition(scenario, args)
    strategies = check_strategies(scenario, args.strategy)
    seeds = len(check_seeds(scenario, args.seeds))
    _check_memory(scenario, len(strategies) * seeds, periods=not args.no_periods, args=args)
    out = args.out or default_output_dir(scenario.name)

    with output_folder(out, kind="run"):
        started = time.perf_counter()
        total = len(strategies) * seeds
        with tqdm(total=total, unit="run", disable=True if args.quiet else None) as bar:
            result = run_experiment(
                scenario,
                strategies=strategies,
                seeds=seeds,
                periods=not args.no_periods,
                progress=bar.update,
            )
        figures: list[Path] = []
        write_experiment(
            result,
            out,
            command=["python -m sim", *sys.argv[1:]],
            elapsed_seconds=round(time.perf_counter() - started, 3),
        )
        tables = write_summary(result, out, latex=args.latex)
        if result.periods is not None and not args.no_figures and scenario.population.firms == 1:
            from sim.plots import save_figures
            from sim.results import WriteError

            try:
                figures = save_figures(
                    result.periods, out, money_unit=scenario.money_unit, title=scenario.title
                )
            except WriteError as exc:  # a full disk: the run itself is written in full
                then = "run again for the figures (its tables and manifest are written in full)"
                raise WriteError(exc.source, exc.reason, exc.fix, then) from None
        if scenario.purpose is not None and not args.no_figures:
            from sim.plots import pareto_figure
            from sim.results import save_figure
            from sim.stats import pareto_table

            figures.append(out / "pareto.png")
            purpose = scenario.purpose
            save_figure(
                pareto_figure(
                    pareto_table(result.runs),
                    money_unit=scenario.money_unit,
                    impact_unit=purpose.unit,
                    title=f"{scenario.title}: profit and {purpose.name}",
                ),
                figures[-1],
                dpi=120,
                facecolor="white",
            )
    if not args.quiet:
        print(format_summary(result))
        print(
            f"\nwrote {out}/: runs.parquet"
            + (", periods.parquet" if result.periods is not None else "")
            + "".join(f", {p.name}" for p in tables)
            + ", manifest.json"
            + "".join(f", {p.name}" for p in figures)
        )
    return 0


def _run_competition(scenario, args: argparse.Namespace) -> int:
    """`run` on a market of competing firms: the whole mix on every seed."""
    from tqdm import tqdm

    from sim.competition import firms_per_market, format_competition, run_competition
    from sim.results import default_output_dir, output_folder, write_experiment
    from sim.scenario import check_seeds

    if args.strategy:
        raise UsageError(
            "--strategy",
            "a scenario with [competition] runs its whole mix of firms "
            f"({', '.join(scenario.compared_strategies)}); change [competition].firms instead",
            args.strategy,
        )
    seeds = len(check_seeds(scenario, args.seeds))
    firms = firms_per_market(scenario)
    _check_memory(scenario, firms * seeds, periods=not args.no_periods, args=args)
    out = args.out or default_output_dir(scenario.name)
    with output_folder(out, kind="run"):
        started = time.perf_counter()
        with tqdm(total=firms * seeds, unit="firm", disable=True if args.quiet else None) as bar:
            result = run_competition(
                scenario, seeds=seeds, periods=not args.no_periods, progress=bar.update
            )
        write_experiment(
            result,
            out,
            command=["python -m sim", *sys.argv[1:]],
            elapsed_seconds=round(time.perf_counter() - started, 3),
        )
    if not args.quiet:
        print(format_competition(result))
        print(
            f"\nwrote {out}/: runs.parquet"
            + (", periods.parquet" if result.periods is not None else "")
            + ", markets.parquet, manifest.json"
        )
    return 0


def command_explain(args: argparse.Namespace) -> int:
    from sim.explain import explain
    from sim.scenario import load_scenario

    print(explain(load_scenario(args.scenario), seed=args.seed))
    return 0


def command_decompose(args: argparse.Namespace) -> int:
    from sim.decompose import (
        INGREDIENTS,
        THREE_WAY,
        TOTAL,
        check_decomposition,
        decompose,
        pairing,
        signed,
    )
    from sim.plots import decomposition_figure
    from sim.results import default_output_dir, environment, git_state, output_folder, staged
    from sim.scenario import load_scenario, scenario_to_dict

    scenario = load_scenario(args.scenario)
    seeds = len(check_decomposition(scenario, seeds=args.seeds, base=args.base, target=args.target))
    _check_memory(scenario, 8 * seeds, periods=False, args=args)
    stamp = default_output_dir(scenario.name)
    out = args.out or stamp.with_name("decomposition-" + stamp.name)
    with output_folder(out, kind="decomposition"):
        started = time.perf_counter()
        result = decompose(scenario, seeds=seeds, base=args.base, target=args.target)
        figure = decomposition_figure(
            result.effects,
            money_unit=scenario.money_unit,
            title=f"{scenario.title}: what alignment buys ({args.base} -> {args.target})",
        )
        with staged(out) as stage:  # all four files, or (a full disk) none
            stage.table(result.runs, "runs.parquet")
            stage.csv(result.effects, "effects.csv")
            stage.figure(figure, "decomposition.png")
            stage.json(
                {
                    "kind": "decomposition",
                    "scenario": scenario_to_dict(scenario),
                    "base": args.base,
                    "target": args.target,
                    "seeds": list(result.seeds),
                    "arms": result.arms.to_dict("records"),
                    "command": ["python -m sim", *sys.argv[1:]],
                    "elapsed_seconds": round(time.perf_counter() - started, 3),
                    "environment": environment(),
                    "git": git_state(),
                },
                "manifest.json",
            )
    if not args.quiet:
        print(
            f"{scenario.title}\nwhat alignment buys, ingredient by ingredient: {args.base} -> "
            f"{args.target}, {len(result.seeds)} seeds, mean [95% interval] of per-seed "
            f"differences\n{args.base} and {args.target} differ in: "
            f"{'; '.join(scenario.differences(args.base, args.target)) or 'nothing'} (the arms "
            "take each of alpha, coordination, sensing from one or the other, everything else "
            f"from {args.target})\n{pairing(scenario, args.base, args.target)}\n"
        )
        print(result.text())
        net = result.effects[result.effects["outcome"] == "profit_post_shift"].set_index("term")
        mains = " ".join(signed(net.loc[i, "mean"]) for i in INGREDIENTS)
        print(
            f"\nthe factorial is exact: every arm = mean of the 8 arms + each term x its sign "
            f"(+/-) / 2^(ingredients in it); so all three = the main effects + the three-way / 4 "
            f"(net profit: {mains} + ({signed(net.loc[THREE_WAY, 'mean'])})/4 = "
            f"{signed(net.loc[TOTAL, 'mean'])})\nprofit net = as earned, gross = before "
            f"coordination costs ({scenario.money_unit}); share_before = the share of a term's "
            "net profit effect after the split already there before it (ratio of the mean "
            "effects, Fieller's interval), where the effect after is clearly away from 0."
        )
        print(f"\nwrote {out}/: runs.parquet, effects.csv, decomposition.png, manifest.json")
    return 0


def _check_memory(scenario, runs: int, *, periods: bool, args: argparse.Namespace) -> None:
    """Refuse a run whose estimated memory is above the budget (`sim.limits`)."""
    from sim.experiment import BATCH_HISTORY, BATCH_MEMORY, history_bytes, market_bytes
    from sim.limits import gigabytes, run_memory

    firms = runs * scenario.population.firms
    need = run_memory(
        runs=runs,
        horizon=scenario.horizon,
        departments=len(scenario.departments),
        periods=periods,
        decisions=len(scenario.decisions),
        landscapes=int(min(runs * market_bytes(scenario), BATCH_MEMORY))
        + int(min(firms * history_bytes(scenario), BATCH_HISTORY)),
    )
    budget = args.memory_budget * 1e9
    if need > budget:
        raise UsageError(
            "--seeds",
            f"{runs:,} runs would hold about {gigabytes(need)} in memory, more than the "
            f"budget of {gigabytes(budget)}; use fewer seeds, --no-periods, a sweep (which writes "
            "runs as they finish), or raise --memory-budget GB",
            runs,
        )


def command_validate(args: argparse.Namespace) -> int:
    from sim.results import default_output_dir, output_folder
    from sim.validation import EXPERIMENTS

    names = args.experiment or list(EXPERIMENTS)
    for i, name in enumerate(names):
        if name not in EXPERIMENTS:
            raise UsageError(
                "--experiment",
                f"unknown experiment {name!r}; allowed: {', '.join(EXPERIMENTS)}",
                name,
            )
        if name in names[:i]:
            raise UsageError("--experiment", f"{name!r} is given twice", name)
    out = args.out or default_output_dir("validation")
    with output_folder(out, kind="validation"):
        return _validate_into(out, names, args)


def _validate_into(out: Path, names: list[str], args: argparse.Namespace) -> int:
    from sim.results import environment, git_state, staged
    from sim.validation import run_validation, save_figures

    started = time.perf_counter()
    report = run_validation(
        quick=args.quick,
        only=names,
        progress=lambda name: print(f"running {name} ...", file=sys.stderr, flush=True),
    )
    table = report.table()

    figures = save_figures(report, out)
    with staged(out) as stage:  # the tables and manifest together, or (a full disk) none
        stage.csv(table, "validation.csv")
        for outcome in report.outcomes.values():
            for table_name, frame in outcome.tables.items():
                stage.csv(frame, f"{table_name}.csv")
                figures.append(out / f"{table_name}.csv")
        stage.json(
            {
                "kind": "validation",
                "command": ["python -m sim", *sys.argv[1:]],
                "quick": args.quick,
                "experiments": names,
                "all_within_tolerance": report.ok,
                "elapsed_seconds": round(time.perf_counter() - started, 3),
                "environment": environment(),
                "git": git_state(),
            },
            "manifest.json",
        )
    shown = table.assign(
        within_tolerance=table["within_tolerance"].map({True: "yes", False: "NO"}),
        z=table["z"].map(lambda z: "" if math.isnan(z) else f"{z:+.2f}"),
    )
    print(shown.drop(columns="tolerance").to_string(index=False))
    failed = int((~table["within_tolerance"]).sum())
    verdict = "all within tolerance" if not failed else f"{failed} OUT OF TOLERANCE"
    print(
        f"\n{len(table)} measures, {verdict}; wrote {out}/: validation.csv, manifest.json"
        + "".join(f", {p.name}" for p in figures)
    )
    return 0 if report.ok else 1


def format_summary(result: ExperimentResult) -> str:
    """The summary table: outcomes as rows, strategies as columns, mean [95% CI], each row
    saying whether it is over all firms or survivors; then every pair of strategies' paired
    profit differences, p-values Holm-adjusted across the pairs."""
    from sim.stats import paired_metrics, pairwise_differences, summary_table, wide_differences

    scenario = result.scenario
    wide = summary_table(result, wide=True)
    header = (
        f"{scenario.name}: {len(wide.columns)} strategies x {len(result.seeds)} seeds; before = "
        f"the window before period {scenario.split}, after = from period {scenario.split} on; "
        f"profit in {scenario.money_unit}; mean [95% CI]; all firms: a closed firm counts with "
        "profit and market value 0; survivors: firms open at the end"
    )
    lines = [header]
    names = [str(n) for n in result.strategies]
    for other in names[1:]:
        differ = scenario.differences(names[0], other) or ["nothing"]
        lines.append(f"{names[0]} and {other} differ in: {'; '.join(differ)}")
    lines += ["", wide.to_string()]
    metrics = paired_metrics(result.runs)
    if len(names) > 1 and metrics:
        pairs = pairwise_differences(result.runs, metrics, names)
        count = int(pairs["pairs"].iloc[0])
        correction = (
            f"p: paired t test, Holm-adjusted across the {count} pairs (per outcome); the "
            "intervals are per pair, not adjusted"
            if count > 1
            else "p: paired t test"
        )
        what = (
            f"profit (all firms, {scenario.money_unit}) before period {scenario.split}, from "
            "it on, and after - before (difference-in-differences: the shift's own effect); "
            "the share of the after-gap there before is the ratio of the mean gaps (Fieller's "
            "interval): near 100%, the lead existed before the shift"
            if "profit_change" in metrics
            else "performance (share of best) before and after the split"
        )
        lines += [
            "",
            f"Every pair, later minus earlier strategy, paired by seed: {what}; mean [95% CI]; "
            f"{correction}. On seed k the strategies face the same landscapes, market and "
            "start; each draws its behaviour (long jumps, orders) from its own stream, keyed "
            "by its name: pairs share landscapes, not behaviour.",
            wide_differences(pairs).to_string(),
        ]
    if scenario.purpose is not None:
        lines += ["", format_pareto(result)]
    return "\n".join(lines)


def format_pareto(result: ExperimentResult) -> str:
    """The trade-off between profit and impact (`[purpose]`): each strategy's mean profit and
    mean impact after the split with 95% intervals, and whether another strategy beats it on
    both (`sim.stats.pareto_table`)."""
    from sim.stats import format_estimate, pareto_table

    scenario, purpose = result.scenario, result.scenario.purpose
    table = pareto_table(result.runs)
    lines = [
        f"Profit and {purpose.name} from period {scenario.split} on (all firms), mean [95% CI] "
        f"over seeds; non-dominated: no other strategy has as much profit and as little impact "
        "(by the means)"
    ]
    for row in table.itertuples():
        lines.append(
            f"  {row.strategy}: profit "
            f"{format_estimate(row.profit, row.profit_low, row.profit_high)} "
            f"{scenario.money_unit}; impact "
            f"{format_estimate(row.impact, row.impact_low, row.impact_high)} {purpose.unit}; "
            + ("non-dominated" if row.non_dominated else "dominated")
        )
    return "\n".join(lines)


_SWEEP_EXAMPLES = """\
examples:
  python -m sim sweep alignment_pays        # all cores; into results/sweeps/alignment_pays/
  python -m sim sweep my_sweep.toml --workers 2 --out sweeps/mine
  python -m sim sweep my_sweep.toml --cluster local --workers 4   # a Dask LocalCluster
  python -m sim sweep my_sweep.toml --scheduler tcp://10.0.0.5:8786  # an existing Dask cluster
  python -m sim analyze results/sweeps/alignment_pays

Run the same command again to resume: runs already in OUT are skipped. One session writes to
a folder at a time (a second one stops with an error naming the first). See docs/sweeps.md.
"""


def _wrap(text: str) -> str:
    import textwrap

    return textwrap.fill(text, 88)


def add_sweep_commands(commands: argparse._SubParsersAction) -> None:
    """The `sweep` and `analyze` subcommands."""
    sweep = commands.add_parser(
        "sweep",
        help="run a parameter sweep: design points x strategies x seeds, parallel, resumable",
        description=_wrap(
            "Run a sweep file: every design point (full factorial, Latin hypercube, "
            "Sobol' or Morris) x strategy x seed, each run through the same model code as `run`, "
            "seeds from one root seed with common random numbers across design points. Runs go in "
            "batches to a local process pool (default) or a Dask cluster; OUT/runs/ (and "
            "OUT/periods/ if the sweep keeps them) get a Parquet part per finished batch, "
            "OUT/manifest.json the sweep as loaded, root seed, design, versions and git state. A "
            "run that raises is recorded in OUT/failures/ and the sweep goes on (exit code 1 at "
            "the end). Bad input: one line naming the file and field, exit code 2."
        ),
        epilog=_SWEEP_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sweep.add_argument(
        "spec",
        metavar="SPEC",
        help="a sweep file, or the name of one in scenarios/sweeps/ (e.g. alignment_pays)",
    )
    sweep.add_argument(
        "--workers",
        type=positive_int,
        metavar="N",
        help="worker processes (default: all cores; 1 runs in this process); with --cluster "
        "local, the Dask workers",
    )
    engine = sweep.add_mutually_exclusive_group()
    engine.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask cluster: the scheduler's address, e.g. "
        "tcp://10.0.0.5:8786 (`dask scheduler` and `dask worker`, or dask-jobqueue)",
    )
    engine.add_argument(
        "--cluster",
        choices=["local"],
        help="start a Dask LocalCluster on this machine (--workers workers)",
    )
    sweep.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default: results/sweeps/<name>/); the same folder resumes",
    )
    sweep.add_argument(
        "--batch-size",
        type=positive_int,
        metavar="N",
        help="runs per task (default: tasks that shrink as the sweep goes, each 1/(2 x workers) "
        "of the runs not yet handed out, 100 to 1,000 runs; one worker: 1,000)",
    )
    sweep.add_argument(
        "--repair",
        action="store_true",
        help="set parts of OUT that cannot be read (truncated, or not written by smb-sim) aside "
        "in OUT/broken/ and compute their runs again",
    )
    sweep.add_argument("--quiet", action="store_true", help="no progress bar, no summary")
    sweep.set_defaults(handler=command_sweep)

    analyze = commands.add_parser(
        "analyze",
        help="analyse a sweep folder: means with 95%% CIs, heatmaps, lines, Sobol'/Morris, report",
        description="Analyse a sweep folder (finished or not): per design point the mean of each "
        "outcome with a 95% confidence interval; the difference contrast - baseline "
        "(aligned - efficiency_only by default) paired by seed, per point and per level of each "
        "parameter; heatmaps of that difference over every two parameters, lines with bands "
        "over each one, Sobol' or Morris indices with confidence intervals when the design is "
        "SALib's (for Sobol', also how they converge as samples grow); a short report. "
        "Writes DIR/analysis/ (Parquet tables, PNG figures, report.md) and prints the report.",
    )
    analyze.add_argument("directory", type=Path, metavar="DIR", help="a sweep's output folder")
    analyze.add_argument(
        "--metric",
        metavar="NAME",
        help="outcome compared, a column of the runs table (default: the sweep file's "
        "analysis.metric, profit_post_shift unless set)",
    )
    analyze.add_argument(
        "--compare",
        nargs=2,
        metavar=("CONTRAST", "BASELINE"),
        help="strategies compared: CONTRAST minus BASELINE (default: aligned efficiency_only)",
    )
    analyze.add_argument(
        "--margin",
        type=float,
        metavar="M",
        help="equivalence margin in the metric's unit: a point is called equivalent only when "
        "a TOST shows the difference within +/-M (default: the sweep file's analysis.margin; "
        "none: no point is called equivalent)",
    )
    analyze.add_argument("--no-figures", action="store_true", help="tables and report only")
    analyze.add_argument("--quiet", action="store_true", help="do not print the report")
    analyze.set_defaults(handler=command_analyze)


def command_sweep(args: argparse.Namespace) -> int:
    from sim.sweep import EngineError, load_sweep, run_sweep

    sweep = load_sweep(args.spec)
    if args.workers is not None and args.scheduler is not None:
        raise UsageError(
            "--workers", "not used with --scheduler (the cluster's workers run it)", args.workers
        )
    cores = os.cpu_count() or 1
    if args.workers is not None and args.workers > cores and args.scheduler is None:
        print(
            f"warning: --workers {args.workers} on {cores} cores: the workers share the cores, "
            "so the sweep is no faster and holds more memory",
            file=sys.stderr,
        )
    try:
        report = run_sweep(
            sweep,
            workers=args.workers,
            scheduler=args.scheduler,
            cluster=args.cluster,
            out=args.out,
            batch_size=args.batch_size,
            progress=not args.quiet,
            repair=args.repair,
        )
    except EngineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:
        print(
            f"\n{_stopped(exc)}: the runs finished so far are kept; run the same command again "
            "to resume",
            file=sys.stderr,
        )
        return _interrupted_code(exc)
    if not args.quiet:
        print(report)
        print(f"analyse it: python -m sim analyze {report.out}")
    return 1 if report.failed else 0


def command_analyze(args: argparse.Namespace) -> int:
    from sim.sweep.analyze import analyze_sweep

    if not args.directory.is_dir():
        raise UsageError(str(args.directory), "no such folder", args.directory)
    if args.compare and args.compare[0] == args.compare[1]:
        raise UsageError(
            "--compare", f"two different strategies, not {args.compare[0]!r} twice", args.compare
        )
    analysis = analyze_sweep(
        args.directory,
        metric=args.metric,
        compare=tuple(args.compare) if args.compare else None,
        margin=args.margin,
        figures=not args.no_figures,
    )
    if not args.quiet:
        print(analysis.report)
        print(f"\nwrote {args.directory / 'analysis'}/: tables, report.md and figures")
    return 0


_DISCOVER_EXAMPLES = """\
examples:
  python -m sim discover results/sweeps/alignment_pays --where "aligned - efficiency_only > 0"
  python -m sim discover DIR --where "aligned - efficiency_only > 5" --cases point
  python -m sim discover DIR --where "aligned > 0" --metric profit_change --out DIR/mine

WHERE is STRATEGY - STRATEGY OP NUMBER, STRATEGY OP NUMBER or STRATEGY OP STRATEGY, OP one of
>, >=, <, <= (quote it: > is the shell's). Needs the optional extra: pip install
"smb-sim[discover]". See docs/sweeps.md, "Scenario discovery".
"""


def add_discover_command(commands: argparse._SubParsersAction) -> None:
    """The `discover` subcommand."""
    discover = commands.add_parser(
        "discover",
        help="scenario discovery: the boxes of parameter space where a condition holds (PRIM, "
        "CART, feature scores)",
        description=_wrap(
            "Scenario discovery on a sweep folder: where in parameter space does a condition on "
            "the strategies' paired outcomes hold (e.g. aligned - efficiency_only > 0)? Each "
            "case is a design point and seed (both strategies on the same seed), or with --cases "
            "point a design point (the mean over its seeds). PRIM (the EMA Workbench) peels the "
            "parameter space to boxes where the condition holds more often than overall, on a "
            "random half of the cases; each box is checked on the other half. Prints each box's "
            "coverage, density and restricted parameters, a CART tree's leaves (scikit-learn) "
            "and which parameters matter (extra-trees feature scores with 95% bootstrap "
            "intervals over design points, random noise as reference). Writes OUT (default "
            "DIR/discovery/): report.md, Parquet tables "
            "(cases, boxes, limits, trajectory, tree, scores), peeling_trajectory.png, tree.png, "
            "feature_scores.png and manifest.json."
        ),
        epilog=_DISCOVER_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    discover.add_argument("directory", type=Path, metavar="DIR", help="a sweep's output folder")
    discover.add_argument(
        "--where",
        required=True,
        metavar="EXPR",
        help='the condition, e.g. "aligned - efficiency_only > 0"',
    )
    discover.add_argument(
        "--metric",
        metavar="NAME",
        help="outcome compared, a column of the runs table (default: the sweep file's "
        "analysis.metric, profit_post_shift unless set: mean monthly profit after the shift, "
        "all firms)",
    )
    discover.add_argument(
        "--cases",
        choices=["run", "point"],
        default="run",
        help="a case is a design point and seed (run, default) or a design point, the mean "
        "over its seeds (point)",
    )
    discover.add_argument(
        "--out", type=Path, metavar="OUT", help="output folder (default: DIR/discovery/)"
    )
    discover.add_argument(
        "--max-boxes",
        type=positive_int,
        default=3,
        metavar="N",
        help="at most N PRIM boxes (default 3; the search stops at a box not clearly above the "
        "base rate)",
    )
    discover.add_argument(
        "--min-coverage",
        type=float,
        default=0.5,
        metavar="C",
        help="the reported box covers at least this share of the cases of interest left, on "
        "the held-out half (default 0.5)",
    )
    discover.add_argument(
        "--depth", type=positive_int, default=3, metavar="N", help="CART depth (default 3)"
    )
    discover.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="K",
        help="seed of the split into halves, the tree and the feature scores (default 0)",
    )
    discover.add_argument(
        "--score-resamples",
        type=int,
        default=100,
        metavar="B",
        help="bootstrap resamples of the design points for the feature scores' 95%% intervals "
        "(default 100; 0: scores without intervals, faster)",
    )
    discover.add_argument("--no-figures", action="store_true", help="tables and report only")
    discover.add_argument("--quiet", action="store_true", help="do not print the report")
    discover.set_defaults(handler=command_discover)


def command_discover(args: argparse.Namespace) -> int:
    from sim.sweep.discover import DiscoveryError, discover

    if not args.directory.is_dir():
        raise UsageError(str(args.directory), "no such folder", args.directory)
    try:
        result = discover(
            args.directory,
            where=args.where,
            metric=args.metric,
            cases=args.cases,
            out=args.out,
            max_boxes=args.max_boxes,
            min_coverage=args.min_coverage,
            depth=args.depth,
            seed=args.seed,
            score_resamples=args.score_resamples,
            figures=not args.no_figures,
            command=["python -m sim", *sys.argv[1:]],
        )
    except DiscoveryError as exc:
        if exc.field:  # an argument: told as the command-line option
            option = "--" + exc.field.replace("_", "-")
            raise UsageError(option, exc.message, getattr(args, exc.field, None)) from None
        raise
    if not args.quiet:
        print(result.report)
        out = args.out or args.directory / "discovery"
        print(f"\nwrote {out}/: report.md, tables, manifest.json and figures")
    return 0


def _bad_input(exc: Exception) -> bool:
    """A usage or scenario error (reported in one line), not a bug."""
    return isinstance(exc, ScenarioError)  # a UsageError, SweepError, FolderError too


def _for_command_line(exc: ScenarioError, args: argparse.Namespace) -> str:
    """The one-line message of a bad-input error, a Python argument told as its flag
    (``workers`` as ``--workers``, ``scenario`` as the SCENARIO given)."""
    if not isinstance(exc, UsageError):
        return str(exc)
    if exc.argument == "scenario":
        return f"{getattr(args, 'scenario', 'SCENARIO')}: {exc.message}"
    return f"{FLAGS.get(exc.argument, exc.argument)}: {exc.message}"


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (the terminal closed), handled as Ctrl-C is: work finished so far
    kept, temporary files and locks removed; ``signum``: the signal."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signum)
        self.signum = signum


#: The signals handled as SIGTERM is (those that exist here: Windows has no SIGHUP); a
#: signal ignored when the command starts (`nohup`) stays ignored.
TERMINATING = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGHUP") if hasattr(signal, n))


def _terminate(signum: int, frame: object) -> None:
    raise Terminated(signum)


def _stopped(exc: BaseException) -> str:
    return "terminated" if isinstance(exc, Terminated) else "interrupted"


def _interrupted_code(exc: BaseException) -> int:
    """128 + the signal's number, as a shell reports a process the signal ended."""
    return 128 + exc.signum if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input, with a one-line message; 130 after
    Ctrl-C, 143 after SIGTERM, 129 after SIGHUP)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        previous = {
            signum: signal.signal(signum, _terminate)
            for signum in TERMINATING
            if signal.getsignal(signum) is not signal.SIG_IGN
        }
    try:
        return int(args.handler(args) or 0)
    except Exception as exc:
        if not _bad_input(exc):
            raise
        print(f"error: {_for_command_line(exc, args)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as exc:
        print(f"\n{_stopped(exc)}", file=sys.stderr)
        return _interrupted_code(exc)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
