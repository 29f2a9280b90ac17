"""The classroom's commands: `python -m sim app` and `python -m sim figure`.

Importing this module is cheap (argparse only); Solara, matplotlib and the model load when a
command runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from sim.arguments import port_number, seed_number
from sim.errors import UsageError

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario

FIGURES = ("sailing-in-circles", "decisions")


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Add `app` and `figure` to the command line's subcommands."""
    from sim.app.server import DEFAULT_HOST, DEFAULT_PORT

    app = commands.add_parser(
        "app",
        help="the classroom app: twin firms live in the browser",
        description="Start the classroom app (Solara) and print its address. A teacher picks "
        "a scenario, presses play, and the class watches two firms in the same market: one "
        "whose departments chase their own efficiency, one aligned to a strategy. Controls "
        "change alignment, coordination, sensing and costs live; a button shifts the market; "
        "after a run, a debrief replays the same setting in 30 markets. Binds to localhost "
        "unless --host says otherwise. Stop it with Ctrl+C.",
    )
    app.add_argument(
        "--port",
        type=port_number,
        default=DEFAULT_PORT,
        metavar="PORT",
        help=f"port to listen on (default {DEFAULT_PORT}; 0 = any free port)",
    )
    app.add_argument(
        "--host",
        default=DEFAULT_HOST,
        metavar="HOST",
        help=f"address to bind (default {DEFAULT_HOST}, this computer only; 0.0.0.0 lets "
        "other computers on the network in)",
    )
    played = app.add_argument_group(
        "a market the class plays",
        "With --play, each student opens the join link on their own device and steers one "
        "firm (alignment, sensing, coordination, communication) of one shared market of "
        "competing firms (computer-run rivals fill it up to the scenario's incumbents); the "
        "teacher starts, pauses and shifts it from the teacher link the command prints; "
        "students who join after Start take over a house firm (--house) until the teacher "
        "locks joining. "
        "Students on other devices need --host 0.0.0.0 (the local network: anyone on it can "
        "join, there is no password).",
    )
    played.add_argument(
        "--play",
        metavar="SCENARIO",
        help="open a played market of SCENARIO, a scenario with [competition] (e.g. bakery_town)",
    )
    played.add_argument(
        "--seed",
        type=seed_number,
        default=None,
        metavar="N",
        help="with --play: the market (seed); default: the scenario's classroom_seed",
    )
    played.add_argument(
        "--start",
        default=None,
        metavar="STRATEGY",
        help="with --play: the strategy every student's firm starts with (default: the first "
        "of the scenario's [competition] firms, efficiency_only in bakery_town)",
    )
    played.add_argument(
        "--rate",
        type=float,
        default=1.0,
        metavar="R",
        help="with --play: periods per second (0.2 to 10; the teacher can change it; default 1)",
    )
    played.add_argument(
        "--house",
        type=int,
        default=2,
        metavar="N",
        help="with --play: firms Start keeps for students who join late, run by nobody until "
        "one joins and takes it over (0 to 60; default 2; the teacher can lock joining)",
    )
    played.add_argument(
        "--sessions",
        type=Path,
        default=None,
        metavar="DIR",
        help="where sessions too long for a replay link's address are kept, so that their "
        "short /?session=KEY link opens after a restart too (default: results/played_sessions)",
    )
    played.add_argument(
        "--replay",
        type=Path,
        default=None,
        metavar="FILE",
        help="replay a saved played-market session (the file its teacher page saves) and "
        "print its replay link",
    )
    app.set_defaults(handler=command_app)

    figure = commands.add_parser(
        "figure",
        help="figures for slides: the twin firms sailing in circles (PNG and animated GIF), "
        "or one firm's decisions over time",
        description="sailing-in-circles: run the twin firms (efficiency only and aligned, by "
        "default) in one market of SCENARIO and write figures for slides, readable on a "
        "projector: SCENARIO_sailing_in_circles.png (the whole run) and .gif (the trajectories "
        "growing period by period). decisions: the decision timeline of each strategy's firm "
        "on one seed (every decision, on or off, period by period, with efficiency and market "
        "value above; the firms run as in `run`): SCENARIO_decisions_seedK.png.",
    )
    figure.add_argument(
        "figure", choices=FIGURES, metavar="FIGURE", help="sailing-in-circles or decisions"
    )
    figure.add_argument(
        "scenario",
        metavar="SCENARIO",
        help="a scenario file, or the name of one in scenarios/ (e.g. bakery_gluten_free)",
    )
    figure.add_argument(
        "--out",
        type=Path,
        default=Path("results") / "figures",
        metavar="DIR",
        help="output folder (default: results/figures/)",
    )
    figure.add_argument(
        "--seed",
        type=seed_number,
        default=None,
        metavar="N",
        help="the market (seed); default: the scenario's classroom_seed (its opening market)",
    )
    figure.add_argument(
        "--strategy",
        action="append",
        metavar="NAME",
        help="sailing-in-circles: the twin firms' strategies, twice (default: efficiency_only "
        "and aligned); decisions: the firm(s) drawn, once or twice (default: the scenario's "
        "first two strategies side by side, efficiency_only and aligned in most scenarios)",
    )
    figure.add_argument(
        "--no-gif", action="store_true", help="write the PNG only (the GIF takes a few seconds)"
    )
    figure.set_defaults(handler=command_figure)


def command_app(args: argparse.Namespace) -> int:
    """Serve the classroom page until interrupted."""
    from sim.app.server import check_host, serve

    try:
        warning = check_host(args.host)
    except ValueError as exc:
        raise UsageError("--host", str(exc), args.host) from None
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    announce = None
    if args.play is None:
        given = [f for f, v in (("--seed", args.seed), ("--start", args.start)) if v is not None]
        given += ["--rate"] if args.rate != 1.0 else []
        given += ["--house"] if args.house != 2 else []
        given += ["--sessions"] if args.sessions is not None and args.replay is None else []
        if given:
            raise UsageError(given[0], "acts only with --play SCENARIO", given[0])
    elif args.replay is not None:
        raise UsageError("--replay", "give --play or --replay, not both", str(args.replay))
    if args.play is not None or args.replay is not None:
        announce = _open_played_market(args)
    try:
        serve(args.host, args.port, announce=announce)
    except OSError as exc:
        raise UsageError(
            "--host/--port", f"cannot listen on {args.host}:{args.port}: {exc}", args.port
        ) from None
    except KeyboardInterrupt:
        pass
    return 0


def _open_played_market(args: argparse.Namespace) -> Callable[[str], None]:
    """Open the played market of ``--play`` (or the session of ``--replay``) before the server
    starts; returns what prints the links once the server listens."""
    import os
    import secrets

    from sim.app import play
    from sim.app.app import PLAY_ENV
    from sim.app.session import PlayedMarket, PlayError, SessionRecord
    from sim.scenario import load_scenario

    record = None
    try:
        if args.replay is not None:
            record = SessionRecord.from_file(args.replay)
            session = PlayedMarket.replay(record)
        else:
            scenario = load_scenario(args.play)
            session = PlayedMarket(scenario, seed=args.seed, start=args.start, house=args.house)
            session.set_rate(args.rate)
    except PlayError as exc:
        flag = "--replay" if args.replay is not None else "--play/--start/--rate/--house"
        raise UsageError(flag, str(exc), args.replay or args.play) from None
    key = secrets.token_urlsafe(9)
    served = play.open_session(session, teacher_key=key, sessions=args.sessions)
    os.environ[PLAY_ENV] = "1"

    def announce(url: str) -> None:
        port = int(url.rstrip("/").rsplit(":", 1)[1])
        served.join_url, served.network = play.join_address(args.host, port)
        if record is not None:
            print(f"smb-sim played market, replayed: open {play.replay_link(served, record)}")
        else:
            print(f"smb-sim played market ({session.scenario.name}, seed {session.seed}): "
                  f"teacher, open {url}?teacher={key}")  # fmt: skip
            print(f"students join at {served.join_url}")
            if served.network:
                print(f"warning: {play.NETWORK_WARNING}")
            else:
                print("(this computer only: --host 0.0.0.0 lets students on the network join)")
        print("Ctrl+C stops it", flush=True)

    return announce


def command_figure(args: argparse.Namespace) -> int:
    """Write the sailing-in-circles figures of a scenario's twin firms."""
    from sim.app.live import firm_colours, sailing_tracks
    from sim.app.state import DEFAULT_TWINS, ControlError, TwinFirms, plain
    from sim.plots import sailing_slides
    from sim.results import check_output_folder, output_folder
    from sim.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    if scenario.competition is not None:
        raise UsageError(
            "scenario",
            "a market of competing firms ([competition]) has no twin firms to draw; use "
            "python -m sim run",
            args.scenario,
            source=str(args.scenario),
        )
    if args.figure == "decisions":
        return _decisions_figure(scenario, args)
    check_output_folder(args.out, kind="figures")
    strategies = tuple(args.strategy) if args.strategy else DEFAULT_TWINS
    if len(strategies) != 2:
        raise UsageError(
            "--strategy", f"give it twice (two firms), got {len(strategies)}", strategies
        )
    out: Path = args.out
    try:
        twins = TwinFirms(scenario, strategies=strategies, seed=args.seed)
    except ControlError as exc:
        raise UsageError("--strategy", str(exc), strategies) from None
    with output_folder(out, kind="figures"):
        twins.replay([])
        stem = f"{scenario.name}_sailing_in_circles"
        shifts = "; ".join(f"period {p}: {plain(label)}" for p, label in twins.shifts())
        written = sailing_slides(
            sailing_tracks(twins),
            labels=twins.labels,
            colours=firm_colours(twins.strategy_names),
            shift_periods=[p for p, _ in twins.shifts()],
            max_distance=twins.market.n_decisions / 2,
            title=scenario.title or plain(scenario.name),
            footer=f"Scenario {scenario.name}, market {twins.seed}: two firms in the same market. "
            f"{shifts or 'No market shift.'}",
            png=out / f"{stem}.png",
            gif=None if args.no_gif else out / f"{stem}.gif",
        )
    for path in written:
        print(f"wrote {path}")
    return 0


def _decisions_figure(scenario: Scenario, args: argparse.Namespace) -> int:
    """Write the decision timeline of one seed: SCENARIO_decisions_seedK.png."""
    from sim.experiment import run_experiment
    from sim.plots import decisions_figure
    from sim.results import output_folder, save_figure
    from sim.scenario import check_strategies

    if args.strategy and len(args.strategy) > 2:
        raise UsageError(
            "--strategy", f"give it once or twice, got {len(args.strategy)}", args.strategy
        )
    # by default the first two (slides show two firms side by side)
    strategies = check_strategies(scenario, args.strategy)[:2]
    if scenario.population.firms > 1:
        raise UsageError(
            args.scenario, "a population scenario has no single firm to draw", scenario.name
        )
    out: Path = args.out
    seed = scenario.classroom_seed if args.seed is None else args.seed
    with output_folder(out, kind="figures"):  # checked before anything runs
        result = run_experiment(scenario, strategies=strategies, seeds=[seed])
        fig = decisions_figure(result.periods, scenario, seed=seed, title=scenario.title)
        path = out / f"{scenario.name}_decisions_seed{seed}.png"
        save_figure(fig, path, dpi=120, facecolor="white")
    print(f"wrote {path}")
    return 0
