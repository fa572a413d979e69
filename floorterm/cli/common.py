"""What every command group shares: exit codes, UsageError, the Context, argparse helpers,
table/CSV/JSON output and the progress bar."""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import sys
from typing import Callable, Iterable, Iterator

from floorterm.clock import jsonable
from floorterm.errors import FloortermError, InputError, StoreError

EXIT_OK = 0
EXIT_REFUSED = 1  # an entry or import refused, verify found a problem, schema pending
EXIT_USAGE = 2  # wrong arguments or a wrong config file
EXIT_STORE = 3  # the store cannot be used (unreachable, not set up, wrong schema, disk full), or an --out file
EXIT_INTERRUPTED = 130


EXIT_HELP = """\
exit status:
  0    done
  1    refused: an entry, import or edit was refused and nothing was written; or
       `db verify` found a problem, `db status` found pending schema steps
  2    usage: wrong arguments, or the config file is missing or wrong (the store is not touched)
  3    store: the store cannot be used (unreachable, not set up, needs `floorterm db upgrade`,
       disk full, no permission to write it), or an --out file cannot be written (nothing is
       left under its name)
  130  interrupted (Ctrl-C)

environment:
  FLOORTERM_CONFIG  config file, when --config is not given
  FLOORTERM_DB      store URL, when --db is not given (else the config's [store] url)
"""


ROLES = ("operator", "qc", "stores", "supervisor", "planner", "viewer")  # = floorterm.models.ROLES
STATUSES = (
    "planned",
    "released",
    "in progress",
    "QC pending",
    "ready for dispatch",
    "dispatched",
    "closed",
)  # = floorterm.queries.STATUSES
FORMATS = ("table", "csv", "json")
IMPORT_PROGRESS_ROWS = 500  # show a progress bar when a file has more rows than this
SYSTEM_BADGE = "$SYSTEM"  # = floorterm.ledger.SYSTEM_BADGE


class UsageError(FloortermError):
    """The command line asks for something that cannot be done as given (exit status 2)."""


def _say_error(exc: BaseException) -> None:
    lines = [line for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
    for line in lines:
        print(f"floorterm: {line}", file=sys.stderr)


def normal_url(url: str) -> str:
    """A plain file path (relative to where floorterm runs) as sqlite:///ABSOLUTE; URLs as given."""
    if "://" in url:
        return url
    return "sqlite:///" + os.path.abspath(os.path.expanduser(url))


class Context:
    """The config and the store of one command, loaded when first needed."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._config = None

    @property
    def config(self):
        if self._config is None:
            from floorterm.config import find_config_path, load_config

            self._config = load_config(find_config_path(getattr(self.args, "config", None)))
        return self._config

    @property
    def store_url(self) -> str:
        explicit = getattr(self.args, "db", None) or os.environ.get("FLOORTERM_DB", "").strip()
        return normal_url(explicit) if explicit else self.config.resolve_store_url()

    def sqlite_path(self):
        from floorterm.store import sqlite_path_from_url

        path = sqlite_path_from_url(self.store_url)
        return None if path is None or str(path) == ":memory:" else path.expanduser()

    def require_store_file(self) -> None:
        """Refuse (without creating an empty file) when a SQLite store was never set up."""
        path = self.sqlite_path()
        if path is not None and not path.exists():
            raise StoreError(f"There is no store at {path}: run `floorterm db init` first")

    @contextlib.contextmanager
    def store(self):
        """The store opened at the current schema; closed again when the command is done."""
        from floorterm.store import Store

        self.require_store_file()
        store = Store.open(self.store_url)
        try:
            yield store
        finally:
            store.close()

    def ledger(self, store):
        from floorterm.ledger import Ledger

        return Ledger(store, self.config)

    def queries(self):
        from floorterm.queries import Queries

        return Queries(self.config)


# --------------------------------------------------------------------------- parser helpers


def _count(text: str) -> int:
    """argparse type for counts and ids: ASCII digits only (int('٣') would be 3)."""
    from floorterm.inputs import parse_qty

    try:
        return parse_qty(text, field="number", allow_zero=True, maximum=10**12)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _date(text: str) -> dt.date:
    from floorterm.inputs import parse_date

    try:
        return parse_date(text, field="date")
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions line by line (keeping their line breaks); the exit-status epilog as written."""

    def __init__(self, prog):
        super().__init__(prog, max_help_position=32)

    def _fill_text(self, text, width, indent):
        import textwrap

        if text.startswith("exit status:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return "\n".join(
            textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent) for line in text.splitlines()
        )


def _global_options(parser: argparse.ArgumentParser, *, top: bool, db: bool = True) -> None:
    """--config and --db, accepted before the command and after it."""
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("global options")
    group.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="the plant's config file (default: $FLOORTERM_CONFIG, else ./config.toml, "
        "else the user config folder's floorterm/config.toml)",
    )
    if db:
        group.add_argument(
            "--db",
            metavar="URL",
            default=default,
            help="the store: a SQLite file path, sqlite:///PATH or postgresql://user@host/db "
            "(default: $FLOORTERM_DB, else the config's [store] url)",
        )


def _sub(subparsers, name: str, help: str, description: str | None = None, *, db: bool = True):
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description or help[:1].upper() + help[1:] + ".",
        formatter_class=_Formatter,
        epilog=EXIT_HELP,
    )
    _global_options(parser, top=False, db=db)
    return parser


def _format_option(parser, *, default: str = "table", choices: tuple[str, ...] = FORMATS) -> None:
    """--format CHOICE, and --json as its shorthand wherever json is a choice (one convention for every listing)."""
    html = ", html: one page to print (A4)" if "html" in choices else ""
    programs = " or ".join(c for c in choices if c in ("csv", "json"))
    formats = parser.add_mutually_exclusive_group()
    formats.add_argument(
        "--format",
        choices=choices,
        default=default,
        help=f"output: table for people, {programs} for programs{html} (default: {default})",
    )
    if "json" in choices:
        formats.add_argument(
            "--json",
            dest="format",
            action="store_const",
            const="json",
            default=argparse.SUPPRESS,
            help="the same as --format json",
        )


def _needs_subcommand(parser):
    def run(ctx, args):
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    run.needs_config = False
    return run


# --------------------------------------------------------------------------- output


def _plant_time(moment: dt.datetime | None, tz) -> str:
    from floorterm.clock import to_plant

    return to_plant(moment, tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _cell(value, tz, *, limit: int | None = 60) -> str:
    """A value for a table cell: plant time, lists joined; long text cut."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, dt.datetime):
        text = _plant_time(value, tz)
    elif isinstance(value, dt.date):
        text = value.isoformat()
    elif isinstance(value, (list, tuple)):
        text = ", ".join(str(v) for v in value)
    else:
        text = str(value)
    # Stored text is clean already; this keeps a table one line per row whatever comes in.
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _table(rows: list[dict], columns: list[str], tz, out=None, *, headers: dict[str, str] | None = None) -> None:
    out = out or sys.stdout
    headers = headers or {}
    cells = [[_cell(row.get(c), tz) for c in columns] for row in rows]
    titles = [headers.get(c, c.replace("_", " ").upper()) for c in columns]

    def is_number(value) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    # A column of numbers (blanks allowed) is right-aligned.
    numeric = [
        any(is_number(row.get(c)) for row in rows)
        and all(is_number(row.get(c)) or row.get(c) in (None, "") for row in rows)
        for c in columns
    ]
    widths = [max([len(t)] + [len(r[i]) for r in cells]) for i, t in enumerate(titles)]

    def line(values):
        parts = [v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)]
        return "  ".join(parts).rstrip()

    print(line(titles), file=out)
    for r in cells:
        print(line(r), file=out)


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return jsonable(value)


def emit(
    rows: list[dict],
    fmt: str,
    columns: list[str],
    tz,
    *,
    empty: str = "nothing to show",
    headers: dict[str, str] | None = None,
) -> None:
    """Print rows as a table, CSV (header line first) or a JSON array."""
    if fmt == "json":
        json.dump(
            [jsonable({c: row.get(c) for c in columns}) for row in rows], sys.stdout, ensure_ascii=False, indent=2
        )
        sys.stdout.write("\n")
    elif fmt == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_csv_value(row.get(c)) for c in columns])
    elif rows:
        _table(rows, columns, tz, headers=headers)
    else:
        print(f"({empty})", file=sys.stderr)


@contextlib.contextmanager
def progress_bar(label: str, total: int, *, show: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress bar on stderr (only when `show`); yields update(done)."""
    if not show:
        yield lambda done: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _info(message: str) -> None:
    print(message, file=sys.stderr)


def _print_notices(lines: Iterable) -> None:
    """What an import changed on the way in (control characters removed), one line each after its summary."""
    for line in lines:
        print(line)


# --------------------------------------------------------------------------- arguments


def _login_user(value: str | None) -> str | None:
    if value is not None:
        return value
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment: record none
        return None


def _terminal_arg(config, text: str) -> str:
    """A terminal id from the command line that the config knows; UsageError otherwise."""
    from floorterm.inputs import parse_code

    try:
        terminal = parse_code(text, field="terminal")
        config.terminal(terminal)
    except (InputError, KeyError):
        raise UsageError(
            f"Unknown terminal {text}; the config has: {', '.join(t.id for t in config.terminals) or 'none'}"
        ) from None
    return terminal
