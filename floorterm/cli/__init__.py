"""The `floorterm` command line: everything an operator, planner or script does without a screen.

Data goes to stdout, messages to stderr. Every expected error is one line per problem,
`floorterm: <message>`, and an exit code a script can act on (see EXIT_HELP). Heavy
modules (Textual, Rich, reports, demo, bench, even the store) are imported inside the
commands that need them, so `floorterm --help` and a scripted `floorterm record` start fast.

This package is the entry point (main, build_parser); each command group is a module with
add_commands(commands) and its cmd_* functions: db, operators, jobs, record, outbox, entries,
report (report and export), screens (demo, kiosk, board), office (office and ssh), serve (the
screens in a web browser), printing, bench, simulate.
common holds what they share (exit codes, Context, argparse helpers, output).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from floorterm.cli import (
    bench,
    db,
    entries,
    jobs,
    office,
    operators,
    outbox,
    printing,
    record,
    report,
    screens,
    serve,
    simulate,
)
from floorterm.cli.common import (
    EXIT_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STORE,
    EXIT_USAGE,
    FORMATS,
    IMPORT_PROGRESS_ROWS,
    ROLES,
    STATUSES,
    SYSTEM_BADGE,
    Context,
    UsageError,
    _Formatter,
    _global_options,
    _say_error,
    emit,
    normal_url,
    progress_bar,
)
from floorterm.cli.jobs import print_card
from floorterm.cli.record import ACTIONS, STEP_KINDS, default_step
from floorterm.cli.report import EXPORT_COLUMNS, FLOW_REPORTS, REPORTS, report_window
from floorterm.errors import ConfigError, FloortermError, OutputError, StoreError

__all__ = [
    "ACTIONS",
    "EXIT_HELP",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_STORE",
    "EXIT_USAGE",
    "EXPORT_COLUMNS",
    "FLOW_REPORTS",
    "FORMATS",
    "IMPORT_PROGRESS_ROWS",
    "REPORTS",
    "ROLES",
    "STATUSES",
    "STEP_KINDS",
    "SYSTEM_BADGE",
    "Context",
    "UsageError",
    "build_parser",
    "default_step",
    "emit",
    "main",
    "normal_url",
    "print_card",
    "progress_bar",
    "report_window",
]


def main(argv: list[str] | None = None) -> int:
    """Run one floorterm command; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        ctx = Context(args)
        if getattr(args.func, "needs_config", True):
            ctx.config  # a wrong config stops every command before the store is touched
        return args.func(ctx, args) or EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `floorterm jobs list | head`: the reader left; say nothing more.
        with contextlib.suppress(OSError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return EXIT_REFUSED
    except FloortermError as exc:
        _say_error(exc)
        if isinstance(exc, (ConfigError, UsageError)):
            return EXIT_USAGE
        if isinstance(exc, (StoreError, OutputError)):
            return EXIT_STORE
        return EXIT_REFUSED
    except Exception as exc:
        # A database error outside the ledger's retry (e.g. the server went away mid-read).
        peewee = sys.modules.get("peewee")
        if peewee is not None and isinstance(exc, peewee.DatabaseError):
            text = str(exc).strip()
            _say_error(
                StoreError(
                    f"Store error, nothing more was done: {text.splitlines()[0] if text else type(exc).__name__}"
                )
            )
            return EXIT_STORE
        raise


# --------------------------------------------------------------------------- parser


class _VersionAction(argparse.Action):
    """--version, reading the installed version only when asked."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("floorterm")
        except PackageNotFoundError:
            text = "unknown (not installed)"
        print(f"floorterm {text}")
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="floorterm",
        formatter_class=_Formatter,
        epilog=EXIT_HELP,
        description="Shop-floor job tracking: import jobs, record entries, look up jobs, reports, "
        "the kiosk and the WIP board. Run `floorterm COMMAND --help` for each command.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print floorterm's version and exit")
    _global_options(parser, top=True)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    db.add_commands(commands)
    operators.add_commands(commands)
    jobs.add_commands(commands)
    record.add_commands(commands)
    outbox.add_commands(commands)
    entries.add_commands(commands)
    report.add_commands(commands)  # report, export
    screens.add_commands(commands)  # demo, kiosk, board
    office.add_commands(commands)  # office, ssh
    serve.add_commands(commands)  # serve (and its hidden per-tab serve-session)
    printing.add_commands(commands)
    bench.add_commands(commands)
    simulate.add_commands(commands)
    return parser


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
