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
from sim.arguments import positive_int, positive_number
from sim.limits import DEFAULT_MEMORY_BUDGET

if TYPE_CHECKING:  # pandas loads with the commands that use it (the app starts faster)
    from sim.experiment import ExperimentResult

EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT
EXIT_TERMINATED = 128 + signal.SIGTERM


class UsageError(Exception):
    """Bad input found before anything ran: printed as one line, exit code 2."""


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
        "OUT/differences.csv, OUT/manifest.json and figures.",
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
        "--seed", type=int, default=0, metavar="K", help="seed of the structure shown (default 0)"
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
    strategies = _option(check_strategies, scenario, args.strategy, "--strategy")
    seeds = len(_option(check_seeds, scenario, args.seeds, "--seeds"))
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

            figures = save_figures(
                result.periods, out, money_unit=scenario.money_unit, title=scenario.title
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


def command_explain(args: argparse.Namespace) -> int:
    from sim.explain import explain
    from sim.scenario import load_scenario

    print(explain(load_scenario(args.scenario), seed=args.seed))
    return 0


def command_decompose(args: argparse.Namespace) -> int:
    from sim.decompose import INGREDIENTS, THREE_WAY, TOTAL, decompose, signed
    from sim.plots import decomposition_figure
    from sim.results import (
        default_output_dir,
        environment,
        git_state,
        output_folder,
        write_csv,
        write_json,
        write_table,
    )
    from sim.scenario import check_seeds, load_scenario, scenario_to_dict

    scenario = load_scenario(args.scenario)
    for option, name in (("--base", args.base), ("--target", args.target)):
        if name not in scenario.all_strategies:
            allowed = ", ".join(scenario.all_strategies)
            raise UsageError(f"{option}: unknown strategy {name!r}; allowed: {allowed}")
    if args.base == args.target:
        raise UsageError("--target: the same strategy as --base; name two different ones")
    seeds = len(_option(check_seeds, scenario, args.seeds, "--seeds"))
    if seeds < 2:
        raise UsageError("--seeds: at least 2 (intervals need them)")
    _check_memory(scenario, 8 * seeds, periods=False, args=args)
    stamp = default_output_dir(scenario.name)
    out = args.out or stamp.with_name("decomposition-" + stamp.name)
    with output_folder(out, kind="decomposition"):
        started = time.perf_counter()
        result = decompose(scenario, seeds=seeds, base=args.base, target=args.target)
        write_table(result.runs, out / "runs.parquet")
        write_csv(result.effects, out / "effects.csv")
        figure = decomposition_figure(
            result.effects,
            money_unit=scenario.money_unit,
            title=f"{scenario.title}: what alignment buys ({args.base} -> {args.target})",
        )
        figure.savefig(out / "decomposition.png")
        write_json(
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
            out / "manifest.json",
        )
    if not args.quiet:
        print(
            f"{scenario.title}\nwhat alignment buys, ingredient by ingredient: {args.base} -> "
            f"{args.target}, {len(result.seeds)} seeds, mean [95% interval] of per-seed "
            f"differences\n{args.base} and {args.target} differ in: "
            f"{'; '.join(scenario.differences(args.base, args.target)) or 'nothing'} (the arms "
            "take each of alpha, coordination, sensing from one or the other, everything else "
            f"from {args.target})\npaired: on seed k all 8 arms face the same landscapes, "
            "market and start and draw one behaviour stream (long jumps, orders), so they differ "
            "only in the ingredients; `run` draws each strategy's behaviour from its own stream, "
            f"so its {args.target} - {args.base} differs from 'all three' by sampling noise (and "
            "by anything else the two strategies differ in)\n"
        )
        print(result.text())
        net = result.effects[result.effects["outcome"] == "profit_post_shift"].set_index("term")
        mains = " ".join(signed(net.loc[i, "mean"]) for i in INGREDIENTS)
        print(
            f"\nthe factorial is exact: every arm = mean of the 8 arms + each term x its sign "
            f"(+/-) / 2^(ingredients in it); so all three = the main effects + the three-way / 4 "
            f"(net profit: {mains} + ({signed(net.loc[THREE_WAY, 'mean'])})/4 = "
            f"{signed(net.loc[TOTAL, 'mean'])})\nprofit net = as earned, gross = before "
            f"coordination costs ({scenario.money_unit})."
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
            f"--seeds: {runs:,} runs would hold about {gigabytes(need)} in memory, more than the "
            f"budget of {gigabytes(budget)}; use fewer seeds, --no-periods, a sweep (which writes "
            "runs as they finish), or raise --memory-budget GB"
        )


def _option(check, scenario, value, option: str):
    """``check(scenario, value)``, its error told as one about the command-line ``option``."""
    from sim.scenario import ScenarioError

    try:
        return check(scenario, value)
    except ScenarioError as exc:
        raise UsageError(f"{option}: {exc.message}") from None


def command_validate(args: argparse.Namespace) -> int:
    from sim.results import default_output_dir, output_folder
    from sim.validation import EXPERIMENTS

    names = args.experiment or list(EXPERIMENTS)
    for i, name in enumerate(names):
        if name not in EXPERIMENTS:
            raise UsageError(
                f"--experiment: unknown experiment {name!r}; allowed: {', '.join(EXPERIMENTS)}"
            )
        if name in names[:i]:
            raise UsageError(f"--experiment: {name!r} is given twice")
    out = args.out or default_output_dir("validation")
    with output_folder(out, kind="validation"):
        return _validate_into(out, names, args)


def _validate_into(out: Path, names: list[str], args: argparse.Namespace) -> int:
    from sim.results import environment, git_state, write_csv, write_json
    from sim.validation import run_validation, save_figures

    started = time.perf_counter()
    report = run_validation(
        quick=args.quick,
        only=names,
        progress=lambda name: print(f"running {name} ...", file=sys.stderr, flush=True),
    )
    table = report.table()

    write_csv(table, out / "validation.csv")
    figures = save_figures(report, out)
    for outcome in report.outcomes.values():
        for table_name, frame in outcome.tables.items():
            write_csv(frame, out / f"{table_name}.csv")
            figures.append(out / f"{table_name}.csv")
    write_json(
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
        out / "manifest.json",
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
        count = len(pairs) // len(metrics)
        correction = (
            f"p: paired t test, Holm-adjusted across the {count} pairs (per outcome); the "
            "intervals are per pair, not adjusted"
            if count > 1
            else "p: paired t test"
        )
        what = (
            f"profit (all firms, {scenario.money_unit}) before period {scenario.split}, from "
            "it on, and after - before (difference-in-differences: the shift's own effect)"
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
        help="runs per task (default: about ten tasks per worker, at most 100 runs each)",
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
        raise UsageError("--workers: not used with --scheduler (the cluster's workers run it)")
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
        raise UsageError(f"{args.directory}: no such folder")
    if args.compare and args.compare[0] == args.compare[1]:
        raise UsageError(f"--compare: two different strategies, not {args.compare[0]!r} twice")
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


def _bad_input(exc: Exception) -> bool:
    """A usage or scenario error (reported in one line), not a bug."""
    # A ScenarioError can only come from an imported sim.scenario; not importing it up front
    # keeps pydantic off the app's start.
    load = sys.modules.get("sim.scenario.load")
    return isinstance(exc, UsageError) or (load is not None and isinstance(exc, load.ScenarioError))


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: work finished so far kept, locks released."""


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def _stopped(exc: BaseException) -> str:
    return "terminated" if isinstance(exc, Terminated) else "interrupted"


def _interrupted_code(exc: BaseException) -> int:
    """128 + the signal's number, as a shell reports a process the signal ended."""
    return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (2 for bad input, with a one-line message; 130 after
    Ctrl-C, 143 after SIGTERM)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        return int(args.handler(args) or 0)
    except Exception as exc:
        if not _bad_input(exc):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:  # output piped into `head` and the like
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as exc:
        print(f"\n{_stopped(exc)}", file=sys.stderr)
        return _interrupted_code(exc)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
