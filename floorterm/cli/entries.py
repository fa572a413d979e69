"""`floorterm entries import`: past entries with their own times."""

from __future__ import annotations

import argparse

from floorterm.cli.common import (
    EXIT_OK,
    IMPORT_PROGRESS_ROWS,
    Context,
    _login_user,
    _needs_subcommand,
    _stderr_is_tty,
    _sub,
    progress_bar,
)
from floorterm.errors import InputError


def add_commands(commands) -> None:
    entries = _sub(commands, "entries", "load past entries with their own times (history, paper travellers)")
    entries.set_defaults(func=_needs_subcommand(entries))
    sub = entries.add_subparsers(dest="entries_command", metavar="COMMAND")
    imp = _sub(
        sub,
        "import",
        "load entries from a CSV file, all or nothing",
        description="Columns: at (ISO 8601 with offset, or plant local time), action (a `record` action), "
        "job, step, qty, reason, item, note, operator, terminal, uuid (optional: importing again "
        "writes nothing twice). Every row is checked by the ledger's rules in time order; a time "
        "may not be in the future nor before the job's newest entry. A bad file names every bad "
        "line and imports nothing.",
    )
    imp.add_argument("file", metavar="FILE.csv", help="the entries file (UTF-8, header row first)")
    imp.add_argument(
        "--by", required=True, metavar="BADGE", help="the supervisor or planner loading the file; stored on every entry"
    )
    imp.add_argument("--login-user", metavar="NAME", help=argparse.SUPPRESS)
    imp.set_defaults(func=cmd_entries_import)


def cmd_entries_import(ctx: Context, args) -> int:
    from floorterm.entries_import import import_entries

    try:
        with open(args.file, "rb") as handle:
            lines = sum(1 for _ in handle) - 1  # for the progress bar; the importer reads the file itself
    except OSError:
        lines = 0  # the importer says what is wrong with the file
    with ctx.store() as store:
        with progress_bar("Importing entries", lines, show=_stderr_is_tty() and lines > IMPORT_PROGRESS_ROWS) as update:

            def progress(done: int, total: int) -> None:
                update(done)

            try:
                result = import_entries(
                    ctx.ledger(store),
                    ctx.config,
                    args.file,
                    by_badge=args.by,
                    progress=progress,
                    login_user=_login_user(args.login_user),
                )
            except InputError as exc:
                raise InputError(f"{exc}\nNothing was imported; fix the file and import it again.") from None
    print(
        f"{result.written} entr{'y' if result.written == 1 else 'ies'} written, "
        f"{result.skipped_duplicates} already in the store ({result.rows} row{'' if result.rows == 1 else 's'})"
    )
    return EXIT_OK
