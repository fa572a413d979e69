"""The `floorterm` command line: everything an operator, planner or script does without a screen.

Data goes to stdout, messages to stderr. Every expected error is one line per problem,
`floorterm: <message>`, and an exit code a script can act on (see EXIT_HELP). Heavy
modules (Textual, Rich, reports, demo, bench, even the store) are imported inside the
commands that need them, so `floorterm --help` and a scripted `floorterm record` start fast.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import sys
from typing import Callable, Iterable, Iterator

from floorterm.clock import entered_at_terminal, jsonable
from floorterm.errors import ConfigError, FloortermError, InputError, OutputError, StoreError

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
STATUSES = ("planned", "released", "in progress", "QC pending", "ready for dispatch", "dispatched",
            "closed")  # = floorterm.queries.STATUSES
REPORTS = ("wip", "stages", "exceptions", "delays", "rejections", "ageing", "bottlenecks")  # = reports.REPORTS
FLOW_REPORTS = ("flow", "variance", "quality")  # = flow.FLOW_REPORTS
FORMATS = ("table", "csv", "json")
IMPORT_PROGRESS_ROWS = 500  # show a progress bar when a file has more rows than this

# record ACTION -> (ledger kind, options it takes, help)
ACTIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "release": ("release", ("qty",), "release QTY of a planned job to its first step"),
    "start": ("start", ("step",), "start work on the pending quantity at a step"),
    "complete": ("complete", ("step", "qty"), "record QTY done at a work step (moves on to the next step)"),
    "reject": ("reject", ("step", "qty", "reason"), "record QTY rejected at a work step, with a reject reason"),
    "rework": ("rework", ("step", "qty", "to_step"),
               "send QTY rejected at a step to rework at that step or an earlier one (--to-step)"),
    "scrap": ("scrap", ("step", "qty", "reason"), "scrap QTY rejected at a step, with a scrap reason"),
    "delay": ("delay", ("step", "reason"), "open a delay at a step, with a delay reason"),
    "resume": ("resume", ("step",), "close the open delay at a step"),
    "qc-pass": ("qc_pass", ("step", "qty"), "record QTY passed at a QC step"),
    "qc-fail": ("qc_fail", ("step", "qty", "reason"), "record QTY failed at a QC step, with a QC fail reason"),
    "issue": ("material_issue", ("item", "qty"), "issue QTY units of a material item to the job"),
    "return": ("material_return", ("item", "qty"), "return QTY issued units of an item to stores"),
    "material-scrap": ("material_scrap", ("item", "qty", "reason"),
                       "scrap QTY issued units of an item, with a material scrap reason"),
    "substitute": ("material_substitute", ("item", "substitute", "qty"),
                   "issue QTY units of another item (--substitute) in place of a listed item"),
    "dispatch": ("dispatch", ("qty", "reference"), "dispatch QTY finished units of the job"),
    "priority": ("priority", ("priority",), "change the job's priority (1 most urgent .. 9); --note says why"),
    "hold": ("hold", (), "put the job on hold (no quantity moves until unhold); --note says why"),
    "unhold": ("unhold", (), "take the job off hold; --note says why"),
    "note": ("note", ("step",), "add a note (--note) to the job, or to one of its steps"),
    "void": ("void", ("entry",), "cancel an earlier entry (--entry UUID or id); --note says why"),
}
STEP_KINDS = ("start", "complete", "reject", "rework", "scrap", "delay", "resume", "qc_pass", "qc_fail")
SYSTEM_BADGE = "$SYSTEM"  # = floorterm.ledger.SYSTEM_BADGE


class UsageError(FloortermError):
    """The command line asks for something that cannot be done as given (exit status 2)."""


# --------------------------------------------------------------------------- entry point


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
            _say_error(StoreError(f"Store error, nothing more was done: {text.splitlines()[0] if text else type(exc).__name__}"))
            return EXIT_STORE
        raise


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
        return "\n".join(textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
                         for line in text.splitlines())


def _global_options(parser: argparse.ArgumentParser, *, top: bool, db: bool = True) -> None:
    """--config and --db, accepted before the command and after it."""
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("global options")
    group.add_argument("--config", metavar="PATH", default=default,
                       help="the plant's config file (default: $FLOORTERM_CONFIG, else ./config.toml, "
                            "else the user config folder's floorterm/config.toml)")
    if db:
        group.add_argument("--db", metavar="URL", default=default,
                           help="the store: a SQLite file path, sqlite:///PATH or postgresql://user@host/db "
                                "(default: $FLOORTERM_DB, else the config's [store] url)")


def _sub(subparsers, name: str, help: str, description: str | None = None, *, db: bool = True):
    parser = subparsers.add_parser(name, help=help, description=description or help[:1].upper() + help[1:] + ".",
                                   formatter_class=_Formatter, epilog=EXIT_HELP)
    _global_options(parser, top=False, db=db)
    return parser


def _format_option(parser, *, default: str = "table", choices: tuple[str, ...] = FORMATS) -> None:
    html = ", html: one page to print (A4)" if "html" in choices else ""
    parser.add_argument("--format", choices=choices, default=default,
                        help=f"output: table for people, csv or json for programs{html} (default: {default})")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="floorterm", formatter_class=_Formatter, epilog=EXIT_HELP,
        description="Shop-floor job tracking: import jobs, record entries, look up jobs, reports, "
                    "the kiosk and the WIP board. Run `floorterm COMMAND --help` for each command.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print floorterm's version and exit")
    _global_options(parser, top=True)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    _db_commands(commands)
    _operator_commands(commands)
    _job_commands(commands)
    _record_command(commands)
    _outbox_commands(commands)
    _entries_commands(commands)

    report = _sub(commands, "report", "print a report: " + ", ".join(REPORTS + FLOW_REPORTS))
    report.add_argument("name", metavar="NAME", choices=REPORTS + FLOW_REPORTS,
                        help="wip (open jobs, pending quantity at each stage), stages (the board's stage "
                             "summary), exceptions (delayed, late, due soon, ageing, QC and rework pending, "
                             "ready for dispatch, material short, priority changed, on hold, refused on replay), delays (delay "
                             "time by reason), rejections (rejected quantity by reason and stage), ageing "
                             "(how long work waits, by stage), bottlenecks (worst stage first); over a period "
                             "(docs/flow.md): flow (per stage: units in and out, unit-hours, waits, queue and "
                             "work time, first-pass yield, delay hours), variance (material used against the "
                             "bill of materials), quality (first-pass yield by QC stage and product, repeat "
                             "failures)")
    _format_option(report, choices=FORMATS + ("html",))
    period = report.add_argument_group("period (for delays, rejections, flow, variance and quality; default: today)")
    period.add_argument("--since", metavar="DATE", type=_date, help="first plant day, YYYY-MM-DD")
    period.add_argument("--until", metavar="DATE", type=_date,
                        help="last plant day, YYYY-MM-DD (default: today; with --until alone, that one day)")
    period.add_argument("--period", choices=("today", "yesterday", "week", "shift"),
                        help="a plant-time period: today, yesterday, this week (from Monday) or the current shift")
    report.set_defaults(func=cmd_report)

    export = _sub(commands, "export", "export data for other systems")
    export_what = export.add_subparsers(title="what", metavar="WHAT")
    events = _sub(export_what, "events", "export ledger entries in id order (all, or those after --since)")
    events.add_argument("--since", metavar="ID", type=_count, default=0,
                        help="export only entries with an id greater than ID (the last id of the previous "
                             "export, printed at its end); default: everything")
    events.add_argument("--format", choices=("csv", "jsonl"), default="csv",
                        help="csv (with a header line) or jsonl (one JSON object a line); default csv")
    events.add_argument("--out", metavar="FILE",
                        help="write to FILE instead of stdout; FILE appears (or is replaced) only once the "
                             "whole export is on the disk")
    events.set_defaults(func=cmd_export_events)
    export.set_defaults(func=_needs_subcommand(export))

    demo = _sub(commands, "demo", "fill a store with a realistic demo plant and open the screens",
                "Seed the store with demo operators, jobs and a few days of entries, then open the "
                "launcher. A store that already holds jobs is reused as it is (unless --fresh).")
    demo.add_argument("--seed-only", action="store_true", help="seed the store, then exit without opening the screens")
    demo.add_argument("--jobs", metavar="N", type=_count, default=120, help="how many demo jobs (default 120)")
    demo.add_argument("--seed", metavar="S", type=_count, default=7,
                      help="random seed: the same seed makes the same demo (default 7)")
    demo.add_argument("--fresh", action="store_true",
                      help="delete the SQLite store file first and seed a new one (SQLite only)")
    demo.set_defaults(func=cmd_demo)

    kiosk = _sub(commands, "kiosk", "run the operator kiosk of one terminal in this terminal window")
    kiosk.add_argument("--terminal", metavar="ID", required=True, help="the terminal id from the config, e.g. WELD-1")
    kiosk.add_argument("--unlocked", action="store_true",
                       help="allow leaving the kiosk with Ctrl-Q (for setup; a floor kiosk stays locked)")
    kiosk.set_defaults(func=cmd_kiosk)

    board = _sub(commands, "board", "run the live WIP board in this terminal window")
    board.add_argument("--tv", action="store_true", help="large text for a TV on the shop floor")
    board.add_argument("--terminal", metavar="ID",
                       help="the board terminal from the config that supervisors' actions are recorded at "
                            "(default: the first terminal of kind board)")
    board.set_defaults(func=cmd_board)

    _office_commands(commands)
    _print_commands(commands)

    bench = _sub(commands, "bench", "measure performance (writes test data: never run on the plant's store)")
    bench_what = bench.add_subparsers(title="what", metavar="WHAT")
    bstore = _sub(bench_what, "store", "benchmark job card reads and entry writes on a throw-away store",
                  "Fill a throw-away store with jobs and entries and measure the budgets of DESIGN.md §7. "
                  "SQLite: a new file in a temporary folder unless --db is given. PostgreSQL: give --db, "
                  "the URL of an empty database made for the benchmark.", db=False)
    bstore.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite",
                        help="which store to benchmark (default sqlite)")
    bstore.add_argument("--jobs", metavar="N", type=_count, default=20000, help="how many jobs to create (default 20000)")
    bstore.add_argument("--db", metavar="URL", dest="bench_db",
                        help="the throw-away store to fill (required for postgres; never the plant's store)")
    bstore.add_argument("--json", action="store_true",
                        help="print the measurements as JSON on stdout (the progress goes to stderr)")
    bstore.set_defaults(func=cmd_bench_store)
    bench.set_defaults(func=_needs_subcommand(bench))
    return parser


def _office_commands(commands) -> None:
    office = _sub(commands, "office", "the office screens for one person: run by sshd as an SSH key's forced command",
                  "The board summary, job lookup, reports and exports for the person named by --user. Meant "
                  "as the forced command of an SSH key (make the line with `floorterm ssh authorized-key`; "
                  "see docs/ssh.md): the person is who the administrator wrote there, never anything the SSH "
                  "client sends. Viewers only look; supervisors and planners get their actions, and every "
                  "entry records the person and the key that logged in.")
    office.add_argument("--user", metavar="NAME", required=True,
                        help="the person: their operator badge, added with `floorterm operators add NAME ...`; "
                             "recorded as the login user of every entry")
    office.add_argument("--role", metavar="ROLE", required=True,
                        help=f"the role this key was given ({', '.join(ROLES)}); it must be the operator's role")
    office.set_defaults(func=cmd_office)

    ssh = _sub(commands, "ssh", "set up office access over SSH (OpenSSH): key lines and the sshd block", db=False)
    what = ssh.add_subparsers(title="what", metavar="WHAT")
    key = _sub(what, "authorized-key", "print the authorized_keys line that lets one person's key into office mode",
               "Print one authorized_keys line for the public key in KEYFILE.pub: restrict,pty and a forced "
               "command running `floorterm --config CONFIG office --user NAME --role ROLE`, with this "
               "floorterm and the absolute path of this config. Append it to the floorterm account's "
               "root-owned ~/.ssh/authorized_keys (docs/ssh.md).", db=False)
    key.add_argument("keyfile", metavar="KEYFILE.pub", help="the person's public key file (one line)")
    key.add_argument("--user", metavar="NAME", required=True,
                     help="the person's operator badge: 1-24 of A-Z a-z 0-9 . _ - (e.g. alice)")
    key.add_argument("--role", metavar="ROLE", required=True,
                     help=f"their role ({', '.join(ROLES)}); must match `floorterm operators list`")
    key.add_argument("--floorterm", metavar="PATH",
                     help="the floorterm program the key runs (default: the one running this command)")
    key.set_defaults(func=cmd_ssh_authorized_key)
    conf = _sub(what, "sshd-config", "print the sshd_config Match block for the dedicated floorterm account",
                "Print a `Match User ACCOUNT` block for the end of /etc/ssh/sshd_config: public keys only, no "
                "forwarding of any kind, no agent, no X11, no tunnels, no ~/.ssh/rc, ExposeAuthInfo on.",
                db=False)
    conf.add_argument("--account", metavar="NAME", default="floorterm",
                      help="the Unix account office users log in as (default: floorterm)")
    conf.add_argument("--floorterm", metavar="PATH",
                      help="the floorterm program, for the comment that shows how to add a key "
                           "(default: the one running this command)")
    conf.set_defaults(func=cmd_ssh_sshd_config)
    ssh.set_defaults(func=_needs_subcommand(ssh))


def cmd_office(ctx, args) -> int:
    from floorterm.ssh import begin_office_session

    # First: check NAME/ROLE, drop the client's environment (FLOORTERM_DB too) and set the
    # session's terminal settings, all before Textual is imported.
    session = begin_office_session(args.user, args.role, config_given=bool(getattr(args, "config", None)))
    ctx.require_store_file()
    from floorterm.screens.office import run_office

    return run_office(ctx.config, ctx.store_url, session)


def _floorterm_program(value: str | None) -> str:
    from floorterm.ssh import default_floorterm_program

    program = os.path.abspath(os.path.expanduser(value)) if value else default_floorterm_program()
    if not (os.path.isfile(program) and os.access(program, os.X_OK)):
        raise UsageError(f"{program} is not an executable floorterm program; give --floorterm PATH")
    return program


def cmd_ssh_authorized_key(ctx, args) -> int:
    from floorterm.ssh import authorized_key_line, read_public_key_file

    program = _floorterm_program(args.floorterm)
    key = read_public_key_file(args.keyfile)
    line = authorized_key_line(key, user=args.user, role=args.role, floorterm=program,
                               config=os.path.abspath(ctx.config.path))
    print(line)
    _info(f"{key.type} key {key.fingerprint} for {args.user} ({args.role}): append this line to the "
          "floorterm account's authorized_keys")
    return EXIT_OK


def cmd_ssh_sshd_config(ctx, args) -> int:
    from floorterm.ssh import sshd_match_block

    sys.stdout.write(sshd_match_block(args.account, floorterm=_floorterm_program(args.floorterm),
                                      config=os.path.abspath(ctx.config.path)))
    return EXIT_OK


PRINT_SIZES = ("a4", "letter", "label-100x150")


def _print_commands(commands) -> None:
    printing = _sub(commands, "print", "print job cards, badges and command sheets (see docs/printing.md)")
    what = printing.add_subparsers(title="what", metavar="WHAT")

    def page_options(parser):
        parser.add_argument("--out", metavar="DIR", default=".",
                            help="folder to write into, created if missing (default: .); the files appear "
                                 "only once all are on the disk")
        parser.add_argument("--format", choices=("html", "svg", "png"), default="html",
                            help="html (default: one self-contained file, prints from any browser), svg, or png for label printers")
        parser.add_argument("--size", choices=PRINT_SIZES, default="a4", help="page size (default: a4)")
        parser.set_defaults(func=cmd_print)

    from floorterm.queries import STATUSES

    card = _sub(what, "card", "job cards to travel with the work, one page per job")
    card.add_argument("jobs", nargs="*", metavar="JOB", help="job numbers")
    card.add_argument("--all-released", action="store_true", help="also every open job that has been released")
    card.add_argument("--status", choices=STATUSES, metavar="STATUS",
                      help=f"also every job with this status: {', '.join(STATUSES)}")
    card.add_argument("--one-file", action="store_true", help="html: all cards in one file, cards.html")
    page_options(card)
    card.set_defaults(what="card")
    badges = _sub(what, "badges", "operator badges with the barcode the kiosk signs in with")
    badges.add_argument("badges", nargs="*", metavar="BADGE", help="only these badges (default: every active operator)")
    page_options(badges)
    badges.set_defaults(what="badges")
    sheets = _sub(what, "commands", "command sheets: the barcodes a workstation scans instead of typing")
    sheets.add_argument("--terminal", metavar="ID", help="one terminal (default: every terminal that records)")
    page_options(sheets)
    sheets.set_defaults(what="commands")
    printing.set_defaults(func=_needs_subcommand(printing))


def cmd_print(ctx: Context, args) -> int:
    from floorterm import labels

    with ctx.store():
        for path in labels.print_command(args, ctx.queries()):
            print(path)
    return EXIT_OK


def _needs_subcommand(parser):
    def run(ctx, args):
        parser.print_help(sys.stderr)
        return EXIT_USAGE

    run.needs_config = False
    return run


def _db_commands(commands) -> None:
    db = _sub(commands, "db", "set up, upgrade and check the store")
    what = db.add_subparsers(title="what", metavar="WHAT")
    init = _sub(what, "init", "create the store, or bring its schema up to date; says what was applied",
                "Create the store (a SQLite file and its folder, or the tables in an existing PostgreSQL "
                "database) or apply pending schema steps. Safe to run again.")
    init.set_defaults(func=cmd_db_init)
    upgrade = _sub(what, "upgrade", "apply pending schema steps to an existing store (after installing a new floorterm)")
    upgrade.set_defaults(func=cmd_db_upgrade)
    status = _sub(what, "status", "show applied, pending and unknown schema steps (exit 1 if any are pending)")
    status.set_defaults(func=cmd_db_status)
    verify = _sub(what, "verify", "check the store: its integrity, every balance against the ledger, entry ids "
                  "and voids (exit 1 on any finding)",
                  "Run the store's own integrity check (SQLite: PRAGMA integrity_check; PostgreSQL: every index "
                  "of floorterm's tables is valid) and check that the unique indexes are there; replay every "
                  "job's entries and compare with the stored balances; check that every entry id appears once "
                  "and every void names an existing entry. Prints each finding and exits 1, or prints "
                  "'OK: N jobs verified'.")
    verify.set_defaults(func=cmd_db_verify)
    db.set_defaults(func=_needs_subcommand(db))


def _operator_commands(commands) -> None:
    ops = _sub(commands, "operators", "add, list, disable and import operators (badges)")
    what = ops.add_subparsers(title="what", metavar="WHAT")
    add = _sub(what, "add", "add an operator")
    add.add_argument("badge", metavar="BADGE", help="the code on the badge: 1-24 of A-Z a-z 0-9 - _ / .")
    add.add_argument("name", metavar="NAME", help="the person's name as the screens show it (quote it)")
    add.add_argument("--role", required=True, metavar="ROLE",
                     help=f"one of: {', '.join(ROLES)}. operator and qc record at their terminal's stages; "
                          "stores issues material and releases jobs; supervisor may do everything; planner "
                          "releases, changes priority, holds and voids; viewer only looks")
    add.set_defaults(func=cmd_operators_add)
    listing = _sub(what, "list", "list operators (active ones unless --all)")
    listing.add_argument("--all", action="store_true", help="include disabled operators")
    _format_option(listing)
    listing.set_defaults(func=cmd_operators_list)
    for name, active, text in (("disable", False, "disable a badge: it can no longer record (history is kept)"),
                               ("enable", True, "enable a disabled badge again")):
        sub = _sub(what, name, text)
        sub.add_argument("badge", metavar="BADGE", help="the operator's badge")
        sub.set_defaults(func=cmd_operators_active, active=active)
    imp = _sub(what, "import", "add operators from a CSV file (columns badge,name,role); all or nothing",
               "Add the operators of a CSV file with the columns badge, name, role. Badges already in the "
               "store with the same name and role are left alone; any problem in the file is reported "
               "and nothing is added.")
    imp.add_argument("file", metavar="FILE.csv", help="the CSV file (UTF-8)")
    imp.set_defaults(func=cmd_operators_import)
    ops.set_defaults(func=_needs_subcommand(ops))


def _job_commands(commands) -> None:
    jobs = _sub(commands, "jobs", "import, add, list and show jobs")
    what = jobs.add_subparsers(title="what", metavar="WHAT")
    from_doc = "The README describes every column and its rules."
    imp = _sub(what, "import", "import jobs (and their bills of materials) from CSV files; all or nothing",
               "Import jobs from a CSV file exported by the ERP, with an optional materials file.\n\n"
               "jobs.csv columns: job, order_ref, customer, product, qty, planned_start, planned_end, "
               "priority, routing (+ optional inspection, notes).\n"
               "materials.csv columns: job, item, description, unit, required_qty.\n\n"
               "Every problem is reported with its file, line and column, and nothing is imported until "
               "the files are right. Jobs already in the store with the same data are left alone, so "
               "importing a file twice changes nothing; a job already in the store with different data "
               "is reported, never overwritten. A control character in a code (job, item, routing) is "
               "refused; free text loses its control characters, and the summary says where.\n" + from_doc)
    imp.add_argument("file", metavar="JOBS.csv", help="the jobs file (UTF-8 CSV, header line first)")
    imp.add_argument("--materials", metavar="MATERIALS.csv", help="the bill of materials of those jobs")
    _creator_options(imp)
    imp.set_defaults(func=cmd_jobs_import)

    add = _sub(what, "add", "add one job")
    add.add_argument("number", metavar="NUMBER", help="the job number: 1-32 of A-Z a-z 0-9 - _ / .")
    add.add_argument("--qty", metavar="N", required=True, help="quantity ordered (whole number)")
    add.add_argument("--routing", metavar="R", required=True, help="a routing name from the config, e.g. standard")
    add.add_argument("--customer", default="", help="customer name")
    add.add_argument("--product", default="", help="what is made")
    add.add_argument("--order-ref", default="", help="customer order / ERP reference")
    add.add_argument("--planned-start", metavar="YYYY-MM-DD", default="", help="planned start day")
    add.add_argument("--planned-end", metavar="YYYY-MM-DD", default="",
                     help="planned completion day (the job is flagged late after it)")
    add.add_argument("--priority", metavar="N", default="", help="1 (most urgent) .. 9; default 5")
    add.add_argument("--inspection", default="", help="inspection instructions shown at QC")
    add.add_argument("--notes", default="", help="notes shown on the job card")
    _creator_options(add)
    add.set_defaults(func=cmd_jobs_add)

    listing = _sub(what, "list", "list open jobs by priority and planned completion")
    listing.add_argument("--status", metavar="S",
                         help=f"only jobs with this status: {', '.join(STATUSES)} (a hyphen may stand for a space)")
    listing.add_argument("--stage", metavar="CODE", help="only jobs with quantity pending or awaiting at this stage")
    listing.add_argument("--all", action="store_true", help="include dispatched and closed jobs")
    _format_option(listing)
    listing.set_defaults(func=cmd_jobs_list)

    show = _sub(what, "show", "show a job card: quantities at every step, material, QC, dispatch")
    show.add_argument("number", metavar="NUMBER", help="the job number")
    show.add_argument("--json", action="store_true", help="the card as JSON (timestamps in UTC)")
    show.set_defaults(func=cmd_jobs_show)

    history = _sub(what, "history", "list a job's entries, newest first, back to its creation (voided ones marked)")
    history.add_argument("number", metavar="NUMBER", help="the job number")
    _format_option(history)
    history.set_defaults(func=cmd_jobs_history)
    jobs.set_defaults(func=_needs_subcommand(jobs))


def _creator_options(parser) -> None:
    """Who creates jobs: kept with each job's job_created entry in the ledger."""
    who = parser.add_argument_group("who", "Each job created gets a job_created entry in its history: who, when "
                                    "and (for an import) the file and line.")
    who.add_argument("--operator", metavar="BADGE",
                     help="the badge of the planner or supervisor creating the jobs (default: none; the entry "
                          f"names {SYSTEM_BADGE} and the login user)")
    who.add_argument("--login-user", metavar="NAME",
                     help="the login user recorded with the entries (default: this shell's user)")


def _creator(args):
    """The Actor of `jobs add` / `jobs import`: the badge given, else the system actor; with the login user."""
    from floorterm.ledger import Actor

    return Actor(args.operator or SYSTEM_BADGE, login_user=_login_user(args.login_user))


_OPTION_HELP = {
    "step": ("--step", dict(metavar="STAGE", help="the stage code of the step, e.g. WELD (default: the one step of the "
                                                  "job that --terminal records, if there is exactly one)")),
    "qty": ("--qty", dict(metavar="N", help="the quantity (whole number)")),
    "reason": ("--reason", dict(metavar="CODE", help="a reason code from the config's pick-list for this entry")),
    "item": ("--item", dict(metavar="CODE", help="the material item code from the job's material list")),
    "substitute": ("--substitute", dict(metavar="CODE", help="the item issued instead")),
    "to_step": ("--to-step", dict(metavar="STAGE", help="the step that reworks it (default: the same step)")),
    "entry": ("--entry", dict(metavar="UUID", help="the entry to void: its UUID or its id (see `jobs history`)")),
    "priority": ("--priority", dict(metavar="N", dest="qty", help="the new priority, 1 (most urgent) .. 9")),
    "reference": ("--reference", dict(metavar="TEXT", help="the delivery note or shipment reference, e.g. DN-4411 "
                                                          "(at most 64 characters)")),
}


def _record_command(commands) -> None:
    record = _sub(commands, "record", "record an entry in the ledger, as a terminal would",
                  "Record one entry. The ledger checks it like any terminal entry: a refused entry "
                  "prints why on stderr, exits 1 and writes nothing. Giving the same --uuid again "
                  "writes nothing twice (safe retries); the same --uuid for a different entry is refused, "
                  "naming what differs.")
    actions = record.add_subparsers(title="actions", metavar="ACTION")
    for action, (kind, options, text) in ACTIONS.items():
        sub = _sub(actions, action, text)
        if kind != "void":
            sub.add_argument("job", metavar="JOB", help="the job number")
        for option in options:
            flag, kwargs = _OPTION_HELP[option]
            sub.add_argument(flag, **kwargs)
        who = sub.add_argument_group("who and where")
        who.add_argument("--operator", metavar="BADGE", required=True,
                         help="the badge of the person recording; their role decides what they may record")
        who.add_argument("--terminal", metavar="ID",
                         help="the terminal recorded at, e.g. WELD-1 (operators, QC and stores need one)")
        who.add_argument("--login-user", metavar="NAME",
                         help="the login user recorded with the entry (default: this shell's user)")
        sub.add_argument("--note", metavar="TEXT", default="",
                         help="a note" + (" (required: why)" if kind in ("priority", "hold", "unhold", "void") else ""))
        sub.add_argument("--uuid", metavar="UUID",
                         help="a client-made id for this entry; recording the same entry again writes nothing "
                              "twice, another entry with it is refused")
        sub.add_argument("--json", action="store_true", help="print the receipt as JSON")
        sub.set_defaults(func=cmd_record, kind=kind, options=options)
    record.set_defaults(func=_needs_subcommand(record))


def _entries_commands(commands) -> None:
    entries = _sub(commands, "entries", "load past entries with their own times (history, paper travellers)")
    entries.set_defaults(func=_needs_subcommand(entries))
    sub = entries.add_subparsers(dest="entries_command", metavar="COMMAND")
    imp = _sub(sub, "import", "load entries from a CSV file, all or nothing",
               description="Columns: at (ISO 8601 with offset, or plant local time), action (a `record` action), "
                           "job, step, qty, reason, item, note, operator, terminal, uuid (optional: importing again "
                           "writes nothing twice). Every row is checked by the ledger's rules in time order; a time "
                           "may not be in the future nor before the job's newest entry. A bad file names every bad "
                           "line and imports nothing.")
    imp.add_argument("file", metavar="FILE.csv", help="the entries file (UTF-8, header row first)")
    imp.add_argument("--by", required=True, metavar="BADGE",
                     help="the supervisor or planner loading the file; stored on every entry")
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
                result = import_entries(ctx.ledger(store), ctx.config, args.file, by_badge=args.by,
                                        progress=progress, login_user=_login_user(args.login_user))
            except InputError as exc:
                raise InputError(f"{exc}\nNothing was imported; fix the file and import it again.") from None
    print(f"{result.written} entr{'y' if result.written == 1 else 'ies'} written, "
          f"{result.skipped_duplicates} already in the store ({result.rows} row{'' if result.rows == 1 else 's'})")
    return EXIT_OK


def _outbox_commands(commands) -> None:
    outbox = _sub(commands, "outbox", "list, replay, retry and discard a kiosk's offline entries",
                  "A kiosk that cannot reach the store keeps its entries in its outbox, a file on the "
                  "kiosk's own disk ($FLOORTERM_OUTBOX_DIR/TERMINAL.sqlite, else floorterm/outbox/ in the "
                  "user data folder), and replays them in order once the store answers. An entry the store "
                  "refuses on replay stays there, and the board lists it under 'Refused on replay' until a "
                  "supervisor retries or discards it. Run these commands on the kiosk's machine.")
    what = outbox.add_subparsers(title="what", metavar="WHAT")

    def terminal_option(parser):
        parser.add_argument("--terminal", metavar="ID", required=True, help="the kiosk's terminal id, e.g. WELD-1")

    listing = _sub(what, "list", "list the waiting and refused entries of a terminal's outbox")
    terminal_option(listing)
    listing.add_argument("--all", action="store_true", help="also the entries already replayed or discarded")
    _format_option(listing, choices=("table", "json"))
    listing.set_defaults(func=cmd_outbox_list)
    replay = _sub(what, "replay", "send a terminal's waiting entries to the store now, in order",
                  "Send the waiting entries to the store now, in the order they were queued (the kiosk "
                  "does this by itself when the store answers). Each entry keeps its id, so one the "
                  "store already holds is not written twice. Exits 3 if the store is away, 1 if the store "
                  "refused an entry.")
    terminal_option(replay)
    replay.set_defaults(func=cmd_outbox_replay)
    retry = _sub(what, "retry", "send refused entries again (all, or the one given), then replay",
                 "Put refused entries back in the queue at their old place (all of them, or the one "
                 "given with --entry) and replay now. Says how many were saved, refused again and "
                 "still waiting. Exits 3 if the store is away, 1 if an entry was refused again.")
    terminal_option(retry)
    retry.add_argument("--entry", metavar="UUID", help="only this entry (its id from `floorterm outbox list`)")
    retry.set_defaults(func=cmd_outbox_retry)
    discard = _sub(what, "discard", "give up a refused entry, with a supervisor's badge and why",
                   "Give up an entry the store refused on replay. A supervisor's (or planner's) badge "
                   "is checked in the store; the entry is marked discarded in the outbox, taken off the "
                   "board's 'Refused on replay' list, and a note on the job says what was discarded and why.")
    terminal_option(discard)
    discard.add_argument("--entry", metavar="UUID", required=True, help="the refused entry's id")
    discard.add_argument("--supervisor", metavar="BADGE", required=True, help="the supervisor's or planner's badge")
    discard.add_argument("--note", metavar="TEXT", required=True, help="why it is discarded (kept on the job)")
    discard.set_defaults(func=cmd_outbox_discard)
    outbox.set_defaults(func=_needs_subcommand(outbox))


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
    numeric = [any(is_number(row.get(c)) for row in rows)
               and all(is_number(row.get(c)) or row.get(c) in (None, "") for row in rows) for c in columns]
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


def emit(rows: list[dict], fmt: str, columns: list[str], tz, *, empty: str = "nothing to show",
         headers: dict[str, str] | None = None) -> None:
    """Print rows as a table, CSV (header line first) or a JSON array."""
    if fmt == "json":
        json.dump([jsonable({c: row.get(c) for c in columns}) for row in rows], sys.stdout, ensure_ascii=False, indent=2)
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

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda done: bar.update(task, completed=done)


def _stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _info(message: str) -> None:
    print(message, file=sys.stderr)


# --------------------------------------------------------------------------- db


def cmd_db_init(ctx: Context, args) -> int:
    from floorterm.store import init_store

    store, applied = init_store(ctx.store_url)
    try:
        if applied:
            print(f"Store {store.display_url}: applied {', '.join(applied)}")
        else:
            print(f"Store {store.display_url}: already up to date, nothing to apply")
    finally:
        store.close()
    return EXIT_OK


def _open_unchecked(ctx: Context):
    from floorterm.store import Store

    ctx.require_store_file()
    return Store.open(ctx.store_url, check_schema=False)


def cmd_db_upgrade(ctx: Context, args) -> int:
    store = _open_unchecked(ctx)
    try:
        status = store.schema_status()
        if not status.initialised:
            raise StoreError(f"The store {store.display_url} is not set up yet: run `floorterm db init`")
        applied = store.upgrade()
        if applied:
            print(f"Store {store.display_url}: applied {', '.join(applied)}")
        else:
            print(f"Store {store.display_url}: already up to date, nothing to apply")
    finally:
        store.close()
    return EXIT_OK


def cmd_db_status(ctx: Context, args) -> int:
    path = ctx.sqlite_path()
    if path is not None and not path.exists():
        print(f"store: {path}")
        print("not set up: run `floorterm db init`")
        return EXIT_REFUSED
    store = _open_unchecked(ctx)
    try:
        status = store.schema_status()
        print(f"store: {store.display_url}")
    finally:
        store.close()
    print(f"applied: {', '.join(status.applied) or '(none)'}")
    print(f"pending: {', '.join(status.pending) or '(none)'}")
    print(f"unknown: {', '.join(status.unknown) or '(none)'}")
    if status.unknown:
        _info("floorterm: this store was upgraded by a newer floorterm; install that version")
        return EXIT_REFUSED
    if not status.initialised:
        _info("floorterm: the store is not set up: run `floorterm db init`")
        return EXIT_REFUSED
    if status.pending:
        _info("floorterm: schema steps are pending: run `floorterm db upgrade`")
        return EXIT_REFUSED
    return EXIT_OK


def cmd_db_verify(ctx: Context, args) -> int:
    from floorterm import models as m
    from floorterm.verify import verify_store

    with ctx.store():
        total = m.Job.select().count()
        with progress_bar("Verifying", total, show=_stderr_is_tty() and total > 0) as update:
            problems = verify_store(progress=lambda done, _total: update(done))
    for problem in problems:
        print(problem)
    if problems:
        _info(f"floorterm: {len(problems)} problem{'s' if len(problems) != 1 else ''} found in the store")
        return EXIT_REFUSED
    print(f"OK: {total} job{'s' if total != 1 else ''} verified")
    return EXIT_OK


# --------------------------------------------------------------------------- operators


def cmd_operators_add(ctx: Context, args) -> int:
    with ctx.store() as store:
        operator = ctx.ledger(store).add_operator(args.badge, args.name, args.role.strip().lower())
    print(f"Added {operator.badge}: {operator.name} ({operator.role})")
    return EXIT_OK


def cmd_operators_list(ctx: Context, args) -> int:
    from floorterm import models as m

    with ctx.store():
        query = m.Operator.select().order_by(m.Operator.badge)
        if not args.all:
            query = query.where(m.Operator.active == True)  # noqa: E712 - peewee expression
        rows = [{"badge": o.badge, "name": o.name, "role": o.role, "active": bool(o.active),
                 "created_at": o.created_at} for o in query]
    emit(rows, args.format, ["badge", "name", "role", "active", "created_at"], ctx.config.tz,
         empty="no operators", headers={"created_at": "ADDED"})
    return EXIT_OK


def cmd_operators_active(ctx: Context, args) -> int:
    with ctx.store() as store:
        operator = ctx.ledger(store).set_operator_active(args.badge, args.active)
    print(f"{operator.badge} ({operator.name}) {'enabled' if args.active else 'disabled'}")
    return EXIT_OK


def cmd_operators_import(ctx: Context, args) -> int:
    from floorterm.importer import read_operators_csv

    notices = []
    try:
        rows = read_operators_csv(args.file, notices)
    except InputError as exc:
        raise InputError(f"{exc}\nNothing was imported.") from None
    with ctx.store() as store:
        try:
            added, unchanged = ctx.ledger(store).import_operators(rows)
        except FloortermError as exc:
            raise type(exc)(f"{exc}\nNothing was imported.") from None
    print(f"{added} added, {unchanged} unchanged")
    _print_notices(notices)
    return EXIT_OK


def _print_notices(lines: Iterable) -> None:
    """What an import changed on the way in (control characters removed), one line each after its summary."""
    for line in lines:
        print(line)


# --------------------------------------------------------------------------- jobs


def cmd_jobs_import(ctx: Context, args) -> int:
    from floorterm import models as m
    from floorterm.importer import read_jobs_csv

    config = ctx.config
    with ctx.store() as store:
        def job_exists(number: str) -> bool:
            return m.Job.select().where(m.Job.number == number).exists()

        notices = []
        try:
            specs = read_jobs_csv(args.file, args.materials, config=config, job_exists=job_exists, notices=notices)
        except InputError as exc:
            problems = len(str(exc).splitlines())
            raise InputError(f"{exc}\nNothing was imported: {problems} problem{'s' if problems != 1 else ''}; "
                             "fix the file and import it again.") from None
        show = _stderr_is_tty() and len(specs) > IMPORT_PROGRESS_ROWS
        with progress_bar("Importing jobs", len(specs), show=show) as update:
            try:
                created, unchanged = ctx.ledger(store).create_jobs(
                    specs, progress=update, actor=_creator(args),
                    note=f"material list from {os.path.basename(args.materials)}" if args.materials else "")
            except FloortermError as exc:
                raise type(exc)(f"{exc}\nNothing was imported.") from None
    print(f"{created} created, {unchanged} unchanged")
    _print_notices(notices)
    return EXIT_OK


def cmd_jobs_add(ctx: Context, args) -> int:
    from floorterm.importer import job_spec

    notices = []
    spec = job_spec({
        "job": args.number, "qty": args.qty, "routing": args.routing, "customer": args.customer,
        "product": args.product, "order_ref": args.order_ref, "planned_start": args.planned_start,
        "planned_end": args.planned_end, "priority": args.priority, "inspection": args.inspection,
        "notes": args.notes,
    }, ctx.config, notices=notices)
    with ctx.store() as store:
        created, _ = ctx.ledger(store).create_jobs([spec], actor=_creator(args),
                                                   note="Added with `floorterm jobs add`")
    route = " → ".join(ctx.config.routing(spec.routing).stages)
    if created:
        print(f"Created job {spec.number}: {spec.qty} × {spec.routing} ({route})")
    else:
        print(f"Job {spec.number} already exists with the same data; nothing changed")
    _print_notices(notices)
    return EXIT_OK


def _status_arg(text: str) -> str:
    wanted = " ".join(text.replace("-", " ").replace("_", " ").split()).lower()
    for status in STATUSES:
        if status.lower() == wanted:
            return status
    raise UsageError(f"Unknown status {text!r}; choose one of: {', '.join(STATUSES)}")


def _stage_arg(config, text: str, option: str = "--stage") -> str:
    from floorterm.inputs import parse_code

    code = parse_code(text, field="stage")
    try:
        config.stage(code)
    except KeyError:
        raise UsageError(f"{option}: unknown stage {code}; the stages are: "
                         f"{', '.join(s.code for s in config.stages)}") from None
    return code


JOB_LIST_COLUMNS = ["number", "priority", "status", "current_stage", "qty", "customer", "product", "planned_end",
                    "flags"]


def cmd_jobs_list(ctx: Context, args) -> int:
    from dataclasses import asdict

    config = ctx.config
    status = _status_arg(args.status) if args.status else None
    stage = _stage_arg(config, args.stage) if args.stage else None
    with ctx.store():
        jobs = ctx.queries().list_jobs(status=status, stage=stage, include_closed=args.all)
    rows = [asdict(j) for j in jobs]
    emit(rows, args.format, JOB_LIST_COLUMNS, config.tz, empty="no jobs",
         headers={"number": "JOB", "current_stage": "AT", "planned_end": "DUE", "priority": "PRIO"})
    return EXIT_OK


def cmd_jobs_show(ctx: Context, args) -> int:
    with ctx.store():
        if args.json:  # with the job's flow figures (docs/flow.md)
            data = ctx.queries().job_card_json(args.number)
        else:
            card = ctx.queries().job_card(args.number)
    if args.json:
        json.dump(data, sys.stdout, ensure_ascii=False, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        print_card(card, ctx.config)
    return EXIT_OK


def print_card(card, config, out=None) -> None:
    """The job card as text, timestamps in plant time."""
    from floorterm.clock import format_duration

    out = out or sys.stdout
    tz = config.tz

    def say(text=""):
        print(text, file=out)

    say(f"Job {card.number}    priority {card.priority}"
        + (f" (was {card.initial_priority})" if card.priority != card.initial_priority else "")
        + f"    {card.status_text}")
    facts = [("Order", card.order_ref), ("Customer", card.customer), ("Product", card.product)]
    say("    ".join(f"{k}: {_cell(v, tz, limit=None)}" for k, v in facts if v))
    say(f"Quantity {card.qty}    released {card.released}    finished {card.finished}    "
        f"dispatched {card.dispatched}    scrapped {card.scrapped}")
    planned = f"{_cell(card.planned_start, tz) or '?'} → {_cell(card.planned_end, tz) or '?'}"
    say(f"Routing {card.routing}    planned {planned}")
    if card.flags:
        say(f"Flags: {', '.join(card.flags)}")
    if card.current_stage:
        where = f" ({card.work_centre})" if card.work_centre else ""
        say(f"Now at: {card.current_stage}{where}")
    if card.delay:
        say(f"Delayed: {card.delay.label} ({card.delay.reason}) since {_plant_time(card.delay.since, tz)}, "
            f"{format_duration(card.delay.seconds)}")
    say(f"QC: {card.qc}")
    say(f"Dispatch: {card.dispatch_status}")
    if card.inspection:
        say(f"Inspection: {_cell(card.inspection, tz, limit=None)}")
    if card.notes:
        say(f"Notes: {_cell(card.notes, tz, limit=None)}")
    say()
    steps = []
    for s in card.steps:
        state = s.state
        if s.open_delay:
            state = f"delayed ({s.open_delay.reason})"
        steps.append({"seq": s.seq, "stage": s.stage, "name": s.name, "state": state, "received": s.received,
                      "completed": s.completed, "rejected": s.rejected, "pending": s.pending,
                      "awaiting": s.awaiting, "scrapped": s.scrapped,
                      "waiting_since": s.waiting_since if s.pending else None,
                      "waited": format_duration(s.waiting_seconds) if s.pending and s.waiting_seconds is not None else ""})
    _table(steps, ["seq", "stage", "name", "state", "received", "completed", "rejected", "pending", "awaiting",
                   "scrapped", "waiting_since", "waited"], tz, out,
           headers={"seq": "#", "completed": "DONE", "waiting_since": "WAITING SINCE"})
    if card.material:
        say()
        rows = [{"item": l.item + (f" (for {l.substitute_for})" if l.substitute_for else ""),
                 "description": l.description, "unit": l.unit, "required": l.needed, "issued": l.issued,
                 "returned": l.returned, "scrapped": l.scrapped, "short": l.short} for l in card.material]
        _table(rows, ["item", "description", "unit", "required", "issued", "returned", "scrapped", "short"], tz, out)
    say()
    say(f"As of {_plant_time(card.as_of, tz)} ({config.timezone})")


HISTORY_COLUMNS = ["id", "committed_at", "kind", "qty", "step", "to_step", "reason", "item", "item2", "badge",
                   "operator", "terminal", "login_user", "note", "voided", "void_reason", "uuid", "voids",
                   "client_time", "reference"]


def cmd_jobs_history(ctx: Context, args) -> int:
    with ctx.store():
        rows = ctx.queries().history(args.number)
    if args.format == "table":
        for row in rows:
            row["kind"] = row["kind"].replace("_", "-") + (" [VOIDED]" if row["voided"] else "")
            if row["reference"]:
                row["kind"] += f" · ref {row['reference']}"
            if not row["qty"]:
                row["qty"] = None  # start, delay, note...: no quantity to show
            entered = entered_at_terminal(row["client_time"], row["committed_at"], ctx.config.tz)
            if entered:  # queued offline and replayed later, or the terminal's clock is off
                row["committed_at"] = f"{_plant_time(row['committed_at'], ctx.config.tz)} ({entered})"
        columns = ["id", "committed_at", "kind", "qty", "step", "reason", "item", "badge", "terminal", "note"]
        emit(rows, "table", columns, ctx.config.tz, empty="no entries", headers={"committed_at": "TIME"})
    else:
        emit(rows, args.format, HISTORY_COLUMNS, ctx.config.tz)
    return EXIT_OK


# --------------------------------------------------------------------------- record


def _login_user(value: str | None) -> str | None:
    if value is not None:
        return value
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment: record none
        return None


def default_step(config, job: str, terminal_id: str) -> str | None:
    """The job's one step that the terminal records, or None (InputError if there are several)."""
    from floorterm import models as m
    from floorterm.errors import DomainError
    from floorterm.inputs import parse_job_number

    try:
        terminal = config.terminal(terminal_id)
    except KeyError:
        raise InputError(f"Unknown terminal {terminal_id}; the config has: "
                         f"{', '.join(t.id for t in config.terminals) or 'none'}") from None
    number = parse_job_number(job)
    job_id = m.Job.select(m.Job.id).where(m.Job.number == number).scalar()
    if job_id is None:
        raise DomainError(f"No job {number}")
    stages = [s.stage for s in m.JobStep.select(m.JobStep.stage).where(m.JobStep.job == job_id).order_by(m.JobStep.seq)]
    mine = [s for s in stages if s in terminal.stages]
    if len(mine) > 1:
        raise InputError(f"Terminal {terminal.id} records {', '.join(mine)} of job {number}; say which with --step")
    return mine[0] if mine else None


def cmd_record(ctx: Context, args) -> int:
    from floorterm.inputs import parse_code
    from floorterm.ledger import Actor

    config = ctx.config
    kind = args.kind
    terminal = parse_code(args.terminal, field="terminal") if args.terminal else None
    actor = Actor(args.operator, terminal=terminal, login_user=_login_user(args.login_user))
    with ctx.store() as store:
        stage = getattr(args, "step", None)
        if kind in STEP_KINDS and not stage and terminal:
            stage = default_step(config, args.job, terminal)
        receipt = ctx.ledger(store).record(
            kind, getattr(args, "job", None), actor=actor, stage=stage, to_stage=getattr(args, "to_step", None),
            qty=getattr(args, "qty", None), reason=getattr(args, "reason", None), item=getattr(args, "item", None),
            item2=getattr(args, "substitute", None), note=args.note, voids=getattr(args, "entry", None),
            uuid=args.uuid, reference=getattr(args, "reference", None),
        )
    if args.json:
        data = {"event_id": receipt.event_id, "uuid": receipt.uuid, "kind": receipt.kind, "job": receipt.job,
                "stage": receipt.stage, "qty": receipt.qty, "message": receipt.message,
                "committed_at": receipt.committed_at, "duplicate": receipt.duplicate}
        json.dump(jsonable(data), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        import re

        named = re.search(rf"(?<![\w./-]){re.escape(receipt.job)}(?![\w./-])", receipt.message)
        print(receipt.message if named else f"{receipt.job}: {receipt.message}")
    return EXIT_OK


# --------------------------------------------------------------------------- outbox


def _terminal_arg(config, text: str) -> str:
    """A terminal id from the command line that the config knows; UsageError otherwise."""
    from floorterm.inputs import parse_code

    try:
        terminal = parse_code(text, field="terminal")
        config.terminal(terminal)
    except (InputError, KeyError):
        raise UsageError(f"Unknown terminal {text}; the config has: "
                         f"{', '.join(t.id for t in config.terminals) or 'none'}") from None
    return terminal


@contextlib.contextmanager
def _outbox(ctx: Context, args):
    """The terminal's outbox, or None when it never queued anything (no file is made for a look)."""
    from floorterm.outbox import Outbox, outbox_path

    terminal = _terminal_arg(ctx.config, args.terminal)
    path = outbox_path(terminal)
    if not path.exists():
        yield None
        return
    with Outbox.open(terminal, path) as outbox:
        yield outbox


def _outbox_entry(outbox, args):
    entry = outbox.get(args.entry) if outbox is not None else None
    if entry is None:
        raise UsageError(f"No entry {args.entry} in the outbox of {args.terminal.upper()}; "
                         f"see `floorterm outbox list --terminal {args.terminal.upper()} --all`")
    return entry


def cmd_outbox_list(ctx: Context, args) -> int:
    with _outbox(ctx, args) as outbox:
        entries = outbox.entries(include_done=args.all) if outbox is not None else []
    columns = ["seq", "status", "queued_at", "job", "words", "badge", "uuid", "refusal"]
    if args.format == "json":
        columns = ["seq", "uuid", "status", "kind", "job", "stage", "to_stage", "qty", "reason", "item", "item2",
                   "note", "reference", "badge", "terminal", "login_user", "client_time", "queued_at", "words",
                   "refusal", "event_id", "resolved_by"]
    rows = [{c: getattr(e, c) for c in columns} for e in entries]
    emit(rows, args.format, columns, ctx.config.tz, empty=f"nothing waiting or refused at {args.terminal.upper()}",
         headers={"words": "ENTRY", "queued_at": "QUEUED"})
    return EXIT_OK


def cmd_outbox_replay(ctx: Context, args) -> int:
    with _outbox(ctx, args) as outbox:
        return _replay_now(ctx, outbox, args.terminal.upper())


def cmd_outbox_retry(ctx: Context, args) -> int:
    from floorterm.errors import DomainError

    with _outbox(ctx, args) as outbox:
        if args.entry:
            entry = _outbox_entry(outbox, args)
            if entry.status == "refused":
                outbox.retry(entry.uuid)
            elif entry.status != "waiting":
                raise DomainError(f"Entry {entry.uuid} is {entry.status}: there is nothing to retry")
        elif outbox is not None:
            for entry in outbox.refused():
                outbox.retry(entry.uuid)
        return _replay_now(ctx, outbox, args.terminal.upper())


def _replay_now(ctx: Context, outbox, terminal: str) -> int:
    from floorterm.outbox import REPLAY_DEADLINE_SECONDS, ReplayReport, replay

    if outbox is None or (not outbox.waiting() and not outbox.unsynced()):
        print(f"Nothing waiting in the outbox of {terminal}")
        return EXIT_OK
    try:
        with ctx.store() as store:
            report = replay(outbox, ctx.ledger(store), deadline=REPLAY_DEADLINE_SECONDS)
    except StoreError as exc:  # the store cannot even be opened
        report = ReplayReport(saved=[], refused=[], offline=True, error=str(exc))
    waiting, _ = outbox.counts()
    if report.offline:
        _say_error(StoreError(f"The store is away ({report.error}): saved {len(report.saved)}, "
                              f"{waiting} still waiting in the outbox of {terminal}"))
        return EXIT_STORE
    print(f"Saved {len(report.saved)}, refused {len(report.refused)}, still waiting {waiting}")
    for entry in report.refused:
        print(f"refused: {entry.uuid} job {entry.job}: {entry.words}: {entry.refusal}")
    return EXIT_REFUSED if report.refused else EXIT_OK


def cmd_outbox_discard(ctx: Context, args) -> int:
    from floorterm.errors import DomainError
    from floorterm.ledger import Actor

    with _outbox(ctx, args) as outbox:
        entry = _outbox_entry(outbox, args)
        if entry.status not in ("refused", "discarded"):
            raise DomainError(f"Entry {entry.uuid} is {entry.status}: only an entry refused on replay can be discarded")
        with ctx.store() as store:
            ledger = ctx.ledger(store)
            # The store may not have heard of the refusal yet (it was away); once per entry.
            ledger.report_replay_refusal(entry, entry.refusal or "refused")
            ledger.resolve_replay_refusal(entry.uuid, actor=Actor(args.supervisor), how="discarded", note=args.note)
        outbox.discard(entry.uuid, args.supervisor)
    print(f"Discarded from {entry.terminal}: {entry.words} (job {entry.job}); {args.note}")
    return EXIT_OK


# --------------------------------------------------------------------------- report and export


def report_window(config, args, now: dt.datetime) -> dict:
    """The as_rows() arguments for the period: since/until (naive UTC, plant days) or a named period."""
    from floorterm.clock import plant_today

    if args.period and (args.since or args.until):
        raise UsageError("Give either --period or --since/--until, not both")
    if args.period:
        return {"period": args.period}
    if not (args.since or args.until):
        return {}
    tz = config.tz

    def midnight(day: dt.date) -> dt.datetime:
        local = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
        return local.astimezone(dt.timezone.utc).replace(tzinfo=None)

    until = args.until or plant_today(now, tz)
    since = args.since or until
    if until < since:
        raise UsageError(f"--until {until} is before --since {since}")
    return {"since": midnight(since), "until": midnight(until + dt.timedelta(days=1))}


def cmd_report(ctx: Context, args) -> int:
    from floorterm.clock import utcnow
    from floorterm.reports import Reports

    config = ctx.config
    window = report_window(config, args, utcnow())
    if args.format == "html":
        return _report_html(ctx, args.name, window)
    with ctx.store():
        headers, rows = Reports(config).as_rows(args.name, **window)
    emit([dict(zip(headers, row)) for row in rows], args.format, list(headers), config.tz,
         empty=f"nothing to report for {args.name}")
    return EXIT_OK


def _report_html(ctx: Context, name: str, window: dict) -> int:
    """One self-contained HTML page (A4) on stdout: the flow reports only."""
    from floorterm import flow_html
    from floorterm.reports import Reports

    if name not in FLOW_REPORTS:
        raise UsageError(f"--format html is for {', '.join(FLOW_REPORTS)}; {name} has table, csv and json")
    with ctx.store():
        reports = Reports(ctx.config)
        since, until = (window["since"], window["until"]) if "since" in window \
            else reports.period(window.get("period", "today"))
        page = flow_html.render(reports, name, since, until)
    sys.stdout.write(page)
    return EXIT_OK


EXPORT_COLUMNS = ["id", "uuid", "job", "stage", "kind", "qty", "reason", "item", "item2", "note", "operator",
                  "terminal", "login_user", "client_time", "committed_at", "voids", "reference"]


def cmd_export_events(ctx: Context, args) -> int:
    out_path = args.out
    with ctx.store():
        events = ctx.queries().export_events(since_id=args.since)
        if out_path:
            from floorterm.outfiles import OutputFiles

            with OutputFiles() as output:
                handle = output.open(out_path, "w", encoding="utf-8", newline="")
                count, last = _write_events(events, args.format, handle)
        else:
            count, last = _write_events(events, args.format, sys.stdout)
    where = f" to {out_path}" if out_path else ""
    _info(f"Exported {count} entr{'ies' if count != 1 else 'y'}{where}"
          + (f"; next time use --since {last}" if count else ""))
    return EXIT_OK


def _write_events(events: Iterable[dict], fmt: str, handle) -> tuple[int, int]:
    count, last = 0, 0
    if fmt == "csv":
        writer = csv.DictWriter(handle, fieldnames=EXPORT_COLUMNS, lineterminator="\n", extrasaction="raise")
        writer.writeheader()
    for event in events:
        if fmt == "csv":
            writer.writerow({k: "" if v is None else v for k, v in event.items()})
        else:
            handle.write(json.dumps(event, ensure_ascii=False) + "\n")
        count += 1
        last = event["id"]
    return count, last


# --------------------------------------------------------------------------- demo, screens, bench


def cmd_demo(ctx: Context, args) -> int:
    from floorterm import models as m
    from floorterm.store import init_store

    config = ctx.config
    path = ctx.sqlite_path()
    if args.fresh:
        if path is None:
            raise UsageError("--fresh deletes a SQLite store file; for PostgreSQL drop and create the database yourself")
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(f"{path}{suffix}")
    store, _ = init_store(ctx.store_url)
    try:
        jobs = m.Job.select().count()
        if jobs:
            _info(f"The store {store.display_url} already holds {jobs} jobs; using it as it is "
                  "(--fresh starts a new one)")
        else:
            from floorterm.demo import build_demo

            with progress_bar("Building the demo plant", args.jobs, show=_stderr_is_tty()) as update:
                summary = build_demo(store, config, jobs=args.jobs, seed=args.seed,
                                     progress=lambda done, total: update(done))
            _info(f"Demo store ready at {store.display_url}: {summary.jobs} jobs, {summary.events} entries, "
                  f"{summary.operators} operators ({summary.seconds:g} s)")
            for situation, number in summary.samples.items():
                _info(f"  {situation}: {number}")
    finally:
        store.close()
    if args.seed_only:
        return EXIT_OK
    return _run_app(ctx, mode="launcher")


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
    return _run_app(ctx, mode="board", tv=args.tv, terminal=terminal)


def cmd_bench_store(ctx: Context, args) -> int:
    import tempfile

    config = ctx.config
    url = normal_url(args.bench_db) if args.bench_db else None
    if url and url == ctx.store_url:
        raise UsageError("Refusing to benchmark the plant's store; give --db a throw-away store")
    is_pg = (url or "").startswith(("postgresql://", "postgres://"))
    if args.backend == "postgres" and not is_pg:
        raise UsageError("bench store --backend postgres needs --db postgresql://... (an empty database for the benchmark)")
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


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
