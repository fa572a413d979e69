"""`floorterm simulate`: a virtual plant (terminals at floor pace and live boards) on a throw-away store."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys

from floorterm.cli.common import EXIT_OK, EXIT_REFUSED, Context, UsageError, _count, _info, _sub, normal_url
from floorterm.clock import jsonable


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0 or value != value or value > 10**6:
        raise argparse.ArgumentTypeError(f"must be a positive number: {text!r}")
    return value


def add_commands(commands) -> None:
    sim = _sub(
        commands,
        "simulate",
        "run a virtual plant of terminals and boards on a throw-away store and measure it",
        "N virtual terminals, spread over a few processes, record entries through the ledger at floor "
        "pace (complete, reject, delay and resume, QC, material, dispatch, following the demo plant's "
        "terminals and routings), while M headless boards follow the change feed. Prints entries, "
        "refusals by reason, errors, commit → board latency and the store's connections and CPU. "
        "It writes entries: --db must be a throw-away store (an empty one gets the demo plant); "
        "without --db a new SQLite file in a temporary folder is used.",
        db=False,
    )
    sim.add_argument("--terminals", metavar="N", type=_count, default=20, help="virtual terminals (default 20)")
    sim.add_argument("--boards", metavar="M", type=_count, default=2, help="headless boards (default 2)")
    sim.add_argument("--minutes", metavar="T", type=_seconds, default=1.0, help="how long to run (default 1)")
    sim.add_argument(
        "--pace",
        metavar="SECONDS",
        type=_seconds,
        default=30.0,
        help="mean seconds between one terminal's entries (default 30: floor pace)",
    )
    sim.add_argument(
        "--processes", metavar="P", type=_count, help="OS processes for the terminals (default: one per 50)"
    )
    sim.add_argument(
        "--jobs", metavar="J", type=_count, help="demo jobs for an empty store (default: 2 per terminal, at least 120)"
    )
    sim.add_argument(
        "--db",
        metavar="URL",
        dest="sim_db",
        help="the throw-away store (sqlite:///PATH or postgresql://...; never the plant's store)",
    )
    sim.add_argument("--json", action="store_true", help="the numbers as JSON on stdout (the commentary on stderr)")
    sim.set_defaults(func=cmd_simulate)


def cmd_simulate(ctx: Context, args) -> int:
    if args.terminals < 1:
        raise UsageError("--terminals must be at least 1")
    url = normal_url(args.sim_db) if args.sim_db else None
    if url and url == ctx.store_url:
        raise UsageError("Refusing to simulate on the plant's store; give --db a throw-away store")
    from floorterm.bench.simulate import run_simulation

    say = _info if args.json else print
    with contextlib.ExitStack() as stack:
        if not url:
            import tempfile

            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="floorterm-simulate-"))
            url = f"sqlite:///{folder}/plant.db"
            say(f"Simulation store: {url} (deleted afterwards)")
        result = run_simulation(
            url,
            ctx.config,
            terminals=args.terminals,
            boards=args.boards,
            seconds=args.minutes * 60,
            pace=args.pace,
            processes=args.processes or None,
            jobs=args.jobs or None,
            out=say,
        )
    if args.json:
        json.dump(jsonable(result), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    return EXIT_OK if result["errors"] == 0 else EXIT_REFUSED
