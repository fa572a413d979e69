"""The commands that open a screen: `floorterm demo`, `kiosk` and `board` (Textual imported only there)."""

from __future__ import annotations

import contextlib
import os

from floorterm.cli.common import (
    EXIT_OK,
    Context,
    UsageError,
    _count,
    _info,
    _stderr_is_tty,
    _sub,
    _terminal_arg,
    progress_bar,
)


def add_commands(commands) -> None:
    demo = _sub(
        commands,
        "demo",
        "fill a store with a realistic demo plant and open the screens",
        "Seed the store with demo operators, jobs and a few days of entries, then open the "
        "launcher. A store that already holds jobs is reused as it is (unless --fresh).",
    )
    demo.add_argument("--seed-only", action="store_true", help="seed the store, then exit without opening the screens")
    demo.add_argument("--jobs", metavar="N", type=_count, default=120, help="how many demo jobs (default 120)")
    demo.add_argument(
        "--seed", metavar="S", type=_count, default=7, help="random seed: the same seed makes the same demo (default 7)"
    )
    demo.add_argument(
        "--fresh", action="store_true", help="delete the SQLite store file first and seed a new one (SQLite only)"
    )
    demo.add_argument(
        "--live",
        action="store_true",
        help="open the board while a small simulated plant (floorterm simulate) records entries in the "
        "background, so the board moves",
    )
    demo.set_defaults(func=cmd_demo)

    kiosk = _sub(commands, "kiosk", "run the operator kiosk of one terminal in this terminal window")
    kiosk.add_argument("--terminal", metavar="ID", required=True, help="the terminal id from the config, e.g. WELD-1")
    kiosk.add_argument(
        "--unlocked",
        action="store_true",
        help="allow leaving the kiosk with Ctrl-Q (for setup; a floor kiosk stays locked)",
    )
    kiosk.set_defaults(func=cmd_kiosk)

    board = _sub(commands, "board", "run the live WIP board in this terminal window")
    board.add_argument(
        "--tv",
        action="store_true",
        help="large text for a TV on the shop floor, paging through all jobs; locked like a kiosk "
        "(leaving needs a supervisor's badge)",
    )
    board.add_argument("--unlocked", action="store_true", help="with --tv: allow leaving with Ctrl-Q (for setup)")
    board.add_argument(
        "--terminal",
        metavar="ID",
        help="the board terminal from the config that supervisors' actions are recorded at "
        "(default: the first terminal of kind board)",
    )
    board.set_defaults(func=cmd_board)


def cmd_demo(ctx: Context, args) -> int:
    from floorterm import models as m
    from floorterm.store import init_store

    config = ctx.config
    path = ctx.sqlite_path()
    if args.live and args.seed_only:
        raise UsageError("--live opens the board; --seed-only opens nothing: give one of them")
    if args.fresh:
        if path is None:
            raise UsageError(
                "--fresh deletes a SQLite store file; for PostgreSQL drop and create the database yourself"
            )
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{path}{suffix}")
    store, _ = init_store(ctx.store_url)
    try:
        jobs = m.Job.select().count()
        if jobs:
            _info(
                f"The store {store.display_url} already holds {jobs} jobs; using it as it is (--fresh starts a new one)"
            )
        else:
            from floorterm.demo import build_demo

            with progress_bar("Building the demo plant", args.jobs, show=_stderr_is_tty()) as update:
                summary = build_demo(
                    store, config, jobs=args.jobs, seed=args.seed, progress=lambda done, total: update(done)
                )
            _info(
                f"Demo store ready at {store.display_url}: {summary.jobs} jobs, {summary.events} entries, "
                f"{summary.operators} operators ({summary.seconds:g} s)"
            )
            if args.seed_only:  # the launcher lists badges and jobs to try itself
                for situation, number in summary.samples.items():
                    _info(f"  {situation}: {number}")
    finally:
        store.close()
    if args.seed_only:
        return EXIT_OK
    if args.live:
        return _run_live(ctx)
    return _run_app(ctx, mode="launcher")


def _run_live(ctx: Context) -> int:
    """The demo board while 11 simulated terminals (one at each of the demo plant's) record an entry
    every ~4 s each beside it."""
    import signal
    import subprocess
    import sys

    command = [sys.executable, "-m", "floorterm.bench.simulate", "--db", ctx.store_url]
    command += ["--config", str(ctx.config.path), "--terminals", "11", "--pace", "4"]
    posix = os.name == "posix"
    plant = subprocess.Popen(
        command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=posix
    )
    try:
        return _run_app(ctx, mode="board")
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if posix:
                os.killpg(plant.pid, signal.SIGTERM)  # it and its terminal processes
            else:
                plant.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            plant.wait(15)


def _run_app(ctx: Context, **options) -> int:
    from floorterm.store import Store

    if options.get("mode") == "kiosk":
        ctx.require_store_file()
        store = Store.open(ctx.store_url, allow_away=True)  # a kiosk works on through an outage
        if store.away:
            _info("floorterm: the store cannot be reached; the kiosk starts from its offline copy")
        store.close()
    else:
        with ctx.store():
            pass  # a store that cannot be opened is reported here, in one line, not inside the screen
    from floorterm.screens.app import run_app

    return run_app(ctx.config, ctx.store_url, **options) or EXIT_OK


def cmd_kiosk(ctx: Context, args) -> int:
    terminal = _terminal_arg(ctx.config, args.terminal)
    return _run_app(ctx, mode="kiosk", terminal=terminal, unlocked=args.unlocked)


def cmd_board(ctx: Context, args) -> int:
    terminal = _terminal_arg(ctx.config, args.terminal) if args.terminal else None
    if args.unlocked and not args.tv:
        raise UsageError("--unlocked is for a --tv board; the office board is never locked")
    return _run_app(ctx, mode="board", tv=args.tv, terminal=terminal, unlocked=args.unlocked)
