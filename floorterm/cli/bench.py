"""`floorterm bench`: every budget of DESIGN.md §7 in one run; `floorterm bench store`: the store alone."""

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
    _stderr_is_tty,
    _sub,
    normal_url,
    progress_bar,
)
from floorterm.clock import jsonable


def add_commands(commands) -> None:
    bench = _sub(
        commands,
        "bench",
        "measure performance (writes test data: never run on the plant's store)",
        "Without WHAT: build a throw-away store and measure every budget of DESIGN.md §7 in one run "
        "(job card, entry writes from 1 and 20 processes, flow report, commit → board, board first "
        "paint, kiosk scan → card and Enter → confirmation, cold start, memory, a small simulated "
        "plant), each printed beside its floor measured in the same run (the raw driver's commit, a raw "
        "SELECT of the same rows, an empty Textual app) with the ratio and the budget. Times on a shared "
        "machine drift; the ratios hold. SQLite: a new file in a temporary folder unless --db is given. "
        "PostgreSQL: give --db, the URL of an empty database made for the benchmark.",
        db=False,
    )
    _bench_options(bench, "all_")
    bench.add_argument(
        "--open-jobs",
        metavar="N",
        dest="all_open_jobs",
        type=_count,
        default=2000,
        help="open jobs on the board (the store is topped up to this many; default 2000)",
    )
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
    _bench_options(bstore, "")
    bstore.set_defaults(func=cmd_bench_store)
    bench.set_defaults(func=cmd_bench)


def _bench_options(parser, prefix: str) -> None:
    # `bench` and `bench store` keep their options apart (dest prefix): a subcommand's defaults
    # would otherwise overwrite what was given before it.
    parser.add_argument(
        "--backend",
        dest=f"{prefix}backend",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="which store to benchmark (default sqlite)",
    )
    parser.add_argument(
        "--jobs",
        metavar="N",
        dest=f"{prefix}jobs",
        type=_count,
        default=20000,
        help="how many jobs to create (default 20000)",
    )
    parser.add_argument(
        "--db",
        metavar="URL",
        dest=f"{prefix}bench_db",
        help="the throw-away store to fill (required for postgres; never the plant's store)",
    )
    parser.add_argument(
        "--json",
        dest=f"{prefix}json",
        action="store_true",
        help="print the measurements as JSON on stdout (the progress goes to stderr)",
    )


def _bench_url(ctx: Context, bench_db: str | None, backend: str, what: str) -> str | None:
    url = normal_url(bench_db) if bench_db else None
    if url and url == ctx.store_url:
        raise UsageError("Refusing to benchmark the plant's store; give --db a throw-away store")
    is_pg = (url or "").startswith(("postgresql://", "postgres://"))
    if backend == "postgres" and not is_pg:
        raise UsageError(f"{what} --backend postgres needs --db postgresql://... (an empty database for the benchmark)")
    if backend == "sqlite" and is_pg:
        raise UsageError("--backend sqlite was asked for but --db names a PostgreSQL database")
    return url


def cmd_bench(ctx: Context, args) -> int:
    import tempfile

    if args.all_jobs < 1:
        raise UsageError("--jobs must be at least 1")
    config = ctx.config
    url = _bench_url(ctx, args.all_bench_db, args.all_backend, "bench")
    from floorterm.bench.budgets import run_budgets

    say = _info if args.all_json else print
    with contextlib.ExitStack() as stack:
        if not url:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="floorterm-bench-"))
            url = f"sqlite:///{folder}/bench.db"
            say(f"Benchmark store: {url} (deleted afterwards)")
        if args.all_json:  # the screens' benchmarks print as they go: keep stdout for the JSON
            stack.enter_context(contextlib.redirect_stdout(sys.stderr))
        update = stack.enter_context(progress_bar("Building the benchmark store", args.all_jobs, show=_stderr_is_tty()))
        result = run_budgets(
            url,
            config,
            jobs=args.all_jobs,
            open_jobs=args.all_open_jobs,
            out=say,
            progress=lambda done, total: update(done),
        )
    if args.all_json:
        json.dump(jsonable(result), sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    return EXIT_OK


def cmd_bench_store(ctx: Context, args) -> int:
    import tempfile

    config = ctx.config
    url = _bench_url(ctx, args.bench_db, args.backend, "bench store")
    from floorterm.bench import run_store_bench  # floorterm.bench.store (found through the package)

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
