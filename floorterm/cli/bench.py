"""`floorterm bench store`: performance on a throw-away store."""

from __future__ import annotations

import contextlib
import json
import sys

from floorterm.cli.common import (
    EXIT_OK,
    Context,
    UsageError,
    _count,
    _info,
    _needs_subcommand,
    _sub,
    normal_url,
)
from floorterm.clock import jsonable


def add_commands(commands) -> None:
    bench = _sub(commands, "bench", "measure performance (writes test data: never run on the plant's store)")
    bench_what = bench.add_subparsers(title="what", metavar="WHAT")
    bstore = _sub(
        bench_what,
        "store",
        "benchmark job card reads and entry writes on a throw-away store",
        "Fill a throw-away store with jobs and entries and measure the budgets of DESIGN.md §7. "
        "SQLite: a new file in a temporary folder unless --db is given. PostgreSQL: give --db, "
        "the URL of an empty database made for the benchmark.",
        db=False,
    )
    bstore.add_argument(
        "--backend", choices=("sqlite", "postgres"), default="sqlite", help="which store to benchmark (default sqlite)"
    )
    bstore.add_argument(
        "--jobs", metavar="N", type=_count, default=20000, help="how many jobs to create (default 20000)"
    )
    bstore.add_argument(
        "--db",
        metavar="URL",
        dest="bench_db",
        help="the throw-away store to fill (required for postgres; never the plant's store)",
    )
    bstore.add_argument(
        "--json", action="store_true", help="print the measurements as JSON on stdout (the progress goes to stderr)"
    )
    bstore.set_defaults(func=cmd_bench_store)
    bench.set_defaults(func=_needs_subcommand(bench))


def cmd_bench_store(ctx: Context, args) -> int:
    import tempfile

    config = ctx.config
    url = normal_url(args.bench_db) if args.bench_db else None
    if url and url == ctx.store_url:
        raise UsageError("Refusing to benchmark the plant's store; give --db a throw-away store")
    is_pg = (url or "").startswith(("postgresql://", "postgres://"))
    if args.backend == "postgres" and not is_pg:
        raise UsageError(
            "bench store --backend postgres needs --db postgresql://... (an empty database for the benchmark)"
        )
    if args.backend == "sqlite" and is_pg:
        raise UsageError("--backend sqlite was asked for but --db names a PostgreSQL database")
    from floorterm.bench import run_store_bench

    # With --json the numbers are the data on stdout; the running commentary goes to stderr.
    say = _info if args.json else print
    with contextlib.ExitStack() as stack:
        if not url:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="floorterm-bench-"))
            url = f"sqlite:///{folder}/bench.db"
            say(f"Benchmark store: {url} (deleted afterwards)")
        result = run_store_bench(url, config, jobs=args.jobs, out=say)
    if args.json:
        json.dump(jsonable(result), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    return EXIT_OK
