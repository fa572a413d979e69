"""`floorterm jobs`: import, add, list, show jobs and their history."""

from __future__ import annotations

import json
import os
import sys

from floorterm.cli.common import (
    EXIT_OK,
    IMPORT_PROGRESS_ROWS,
    STATUSES,
    SYSTEM_BADGE,
    Context,
    UsageError,
    _cell,
    _format_option,
    _login_user,
    _needs_subcommand,
    _plant_time,
    _print_notices,
    _stderr_is_tty,
    _sub,
    _table,
    emit,
    progress_bar,
)
from floorterm.clock import entered_at_terminal
from floorterm.errors import FloortermError, InputError


def add_commands(commands) -> None:
    jobs = _sub(commands, "jobs", "import, add, list and show jobs")
    what = jobs.add_subparsers(title="what", metavar="WHAT")
    from_doc = "The README describes every column and its rules."
    imp = _sub(
        what,
        "import",
        "import jobs (and their bills of materials) from CSV files; all or nothing",
        "Import jobs from a CSV file exported by the ERP, with an optional materials file.\n\n"
        "jobs.csv columns: job, order_ref, customer, product, qty, planned_start, planned_end, "
        "priority, routing (+ optional inspection, notes).\n"
        "materials.csv columns: job, item, description, unit, required_qty.\n\n"
        "Every problem is reported with its file, line and column, and nothing is imported until "
        "the files are right. Jobs already in the store with the same data are left alone, so "
        "importing a file twice changes nothing; a job already in the store with different data "
        "is reported, never overwritten. A control character in a code (job, item, routing) is "
        "refused; free text loses its control characters, and the summary says where.\n\n"
        "An ERP's own column names, priority words (urgent/high/normal/low work out of the box) and "
        "date formats are mapped in the config's [import.jobs] and [import.materials] sections "
        "(docs/erp.md).\n" + from_doc,
    )
    imp.add_argument("file", metavar="JOBS.csv", help="the jobs file (UTF-8 CSV, header line first)")
    imp.add_argument("--materials", metavar="MATERIALS.csv", help="the bill of materials of those jobs")
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="check the files and show which jobs would be created, which are unchanged and which "
        "conflict with the store; write nothing (exit 1 when the import would be refused)",
    )
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
    add.add_argument(
        "--planned-end",
        metavar="YYYY-MM-DD",
        default="",
        help="planned completion day (the job is flagged late after it)",
    )
    add.add_argument(
        "--priority", metavar="N", default="", help="1 (most urgent) .. 9, or urgent/high/normal/low; default 5"
    )
    add.add_argument("--inspection", default="", help="inspection instructions shown at QC")
    add.add_argument("--notes", default="", help="notes shown on the job card")
    _creator_options(add)
    add.set_defaults(func=cmd_jobs_add)

    listing = _sub(what, "list", "list open jobs by priority and planned completion")
    listing.add_argument(
        "--status",
        metavar="S",
        help=f"only jobs with this status: {', '.join(STATUSES)} (a hyphen may stand for a space)",
    )
    listing.add_argument("--stage", metavar="CODE", help="only jobs with quantity pending or awaiting at this stage")
    listing.add_argument("--all", action="store_true", help="include dispatched and closed jobs")
    _format_option(listing)
    listing.set_defaults(func=cmd_jobs_list)

    show = _sub(what, "show", "show a job card: quantities at every step, material, QC, dispatch")
    show.add_argument("number", metavar="NUMBER", help="the job number")
    _format_option(show, choices=("table", "json"))
    show.set_defaults(func=cmd_jobs_show)

    history = _sub(what, "history", "list a job's entries, newest first, back to its creation (voided ones marked)")
    history.add_argument("number", metavar="NUMBER", help="the job number")
    _format_option(history)
    history.set_defaults(func=cmd_jobs_history)
    jobs.set_defaults(func=_needs_subcommand(jobs))


def _creator_options(parser) -> None:
    """Who creates jobs: kept with each job's job_created entry in the ledger."""
    who = parser.add_argument_group(
        "who",
        "Each job created gets a job_created entry in its history: who, when and (for an import) the file and line.",
    )
    who.add_argument(
        "--operator",
        metavar="BADGE",
        help="the badge of the planner or supervisor creating the jobs (default: none; the entry "
        f"names {SYSTEM_BADGE} and the login user)",
    )
    who.add_argument(
        "--login-user", metavar="NAME", help="the login user recorded with the entries (default: this shell's user)"
    )


def _creator(args):
    """The Actor of `jobs add` / `jobs import`: the badge given, else the system actor; with the login user."""
    from floorterm.ledger import Actor

    return Actor(args.operator or SYSTEM_BADGE, login_user=_login_user(args.login_user))


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
            raise InputError(
                f"{exc}\nNothing was imported: {problems} problem{'s' if problems != 1 else ''}; "
                "fix the file and import it again."
            ) from None
        if args.dry_run:
            return _jobs_dry_run(specs, notices)
        show = _stderr_is_tty() and len(specs) > IMPORT_PROGRESS_ROWS
        with progress_bar("Importing jobs", len(specs), show=show) as update:
            try:
                created, unchanged = ctx.ledger(store).create_jobs(
                    specs,
                    progress=update,
                    actor=_creator(args),
                    note=f"material list from {os.path.basename(args.materials)}" if args.materials else "",
                )
            except FloortermError as exc:
                raise type(exc)(f"{exc}\nNothing was imported.") from None
    print(f"{created} created, {unchanged} unchanged")
    _print_notices(notices)
    return EXIT_OK


def _jobs_dry_run(specs, notices) -> int:
    """What `jobs import` would do with these jobs, read from the store; nothing is written."""
    from floorterm import models as m
    from floorterm.cli.common import EXIT_REFUSED

    create, unchanged, conflicts = [], [], []
    for spec in specs:
        existing = m.Job.get_or_none(m.Job.number == spec.number)
        if existing is None:
            create.append(spec)
            continue
        diffs = spec.differences(existing, existing.materials)
        if diffs:
            conflicts.extend(diffs)
        else:
            unchanged.append(spec)
    print("Dry run: nothing was written.")
    for spec in create:
        details = [f"{spec.qty} × {spec.routing}", f"priority {spec.priority}"]
        if spec.planned_end:
            details.append(f"planned end {spec.planned_end.isoformat()}")
        if spec.materials:
            details.append(f"{len(spec.materials)} material line{'s' if len(spec.materials) != 1 else ''}")
        where = f" ({spec.source} line {spec.line})" if spec.line else ""
        print(f"would create {spec.number}: {', '.join(details)}{where}")
    for spec in unchanged:
        print(f"unchanged {spec.number}: already in the store with the same data")
    for line in conflicts:
        print(f"conflict: {line}")
    print(f"{len(create)} would be created, {len(unchanged)} unchanged, {len(conflicts)} conflicts")
    _print_notices(notices)
    if conflicts:
        print("The import would be refused: nothing would be imported.", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK


def cmd_jobs_add(ctx: Context, args) -> int:
    from floorterm.importer import job_spec

    notices = []
    spec = job_spec(
        {
            "job": args.number,
            "qty": args.qty,
            "routing": args.routing,
            "customer": args.customer,
            "product": args.product,
            "order_ref": args.order_ref,
            "planned_start": args.planned_start,
            "planned_end": args.planned_end,
            "priority": args.priority,
            "inspection": args.inspection,
            "notes": args.notes,
        },
        ctx.config,
        notices=notices,
    )
    with ctx.store() as store:
        created, _ = ctx.ledger(store).create_jobs([spec], actor=_creator(args), note="Added with `floorterm jobs add`")
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
        raise UsageError(
            f"{option}: unknown stage {code}; the stages are: {', '.join(s.code for s in config.stages)}"
        ) from None
    return code


JOB_LIST_COLUMNS = [
    "number",
    "priority",
    "status",
    "current_stage",
    "qty",
    "customer",
    "product",
    "planned_end",
    "flags",
]


def cmd_jobs_list(ctx: Context, args) -> int:
    from dataclasses import asdict

    config = ctx.config
    status = _status_arg(args.status) if args.status else None
    stage = _stage_arg(config, args.stage) if args.stage else None
    with ctx.store():
        jobs = ctx.queries().list_jobs(status=status, stage=stage, include_closed=args.all)
    rows = [asdict(j) for j in jobs]
    emit(
        rows,
        args.format,
        JOB_LIST_COLUMNS,
        config.tz,
        empty="no jobs",
        headers={"number": "JOB", "current_stage": "AT", "planned_end": "DUE", "priority": "PRIO"},
    )
    return EXIT_OK


def cmd_jobs_show(ctx: Context, args) -> int:
    with ctx.store():
        if args.format == "json":  # with the job's flow figures (docs/flow.md); timestamps in UTC
            data = ctx.queries().job_card_json(args.number)
        else:
            card = ctx.queries().job_card(args.number)
    if args.format == "json":
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

    say(
        f"Job {card.number}    priority {card.priority}"
        + (f" (was {card.initial_priority})" if card.priority != card.initial_priority else "")
        + f"    {card.status_text}"
    )
    facts = [("Order", card.order_ref), ("Customer", card.customer), ("Product", card.product)]
    say("    ".join(f"{k}: {_cell(v, tz, limit=None)}" for k, v in facts if v))
    say(
        f"Quantity {card.qty}    released {card.released}    finished {card.finished} "
        f"(ready {card.ready_for_dispatch} + dispatched {card.dispatched})    scrapped {card.scrapped}"
    )
    planned = f"{_cell(card.planned_start, tz) or '?'} → {_cell(card.planned_end, tz) or '?'}"
    say(f"Routing {card.routing}    planned {planned}")
    if card.flags:
        say(f"Flags: {', '.join(card.flags)}")
    if card.current_stage:
        where = f" ({card.work_centre})" if card.work_centre else ""
        who = ", ".join(p for p in (card.owner, card.supervisor and f"supervisor {card.supervisor}") if p)
        say(f"Now at: {card.current_stage}{where}" + (f"    owner: {who}" if who else ""))
    for line in card.outside:  # units of an outside step at a supplier
        say(f"Outside: {line}")
    if card.delay:
        say(
            f"Delayed: {card.delay.label} ({card.delay.reason}) since {_plant_time(card.delay.since, tz)}, "
            f"{format_duration(card.delay.seconds)}"
        )
    if card.job_delay and card.job_delay is not card.delay:
        say(
            f"Whole job delayed: {card.job_delay.label} ({card.job_delay.reason}) since "
            f"{_plant_time(card.job_delay.since, tz)}, {format_duration(card.job_delay.seconds)}"
        )
    say(f"QC: {card.qc}")
    if card.rework:
        say(card.rework[:1].upper() + card.rework[1:])
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
        steps.append(
            {
                "seq": s.seq,
                "stage": s.stage,
                "name": s.name,
                "state": state,
                "received": s.received,
                "completed": s.completed,
                "rejected": s.rejected,
                "pending": s.pending,
                "awaiting": s.awaiting,
                "scrapped": s.scrapped,
                "waiting_since": s.waiting_since if s.pending else None,
                "waited": format_duration(s.waiting_seconds) if s.pending and s.waiting_seconds is not None else "",
            }
        )
    _table(
        steps,
        [
            "seq",
            "stage",
            "name",
            "state",
            "received",
            "completed",
            "rejected",
            "pending",
            "awaiting",
            "scrapped",
            "waiting_since",
            "waited",
        ],
        tz,
        out,
        headers={"seq": "#", "completed": "DONE", "waiting_since": "WAITING SINCE"},
    )
    if card.material:
        say()

        def qty(n: int, unit: str, zero: str = "0") -> str:  # every material quantity with its unit
            return f"{n} {unit}" if n else zero

        rows = [
            {
                "item": f"{l.substitute_for} → {l.item} (substitute)" if l.substitute_for else l.item,
                "description": l.description,
                "required": qty(l.needed, l.unit)
                + (f" ({qty(l.substituted, l.unit)} by substitute)" if l.substituted else ""),
                "issued": qty(l.issued, l.unit, f"0 {l.unit}"),
                "returned": qty(l.returned, l.unit, ""),
                "scrapped": qty(l.scrapped, l.unit, ""),
                "extra": qty(l.extra, l.unit, ""),
                "short": qty(l.short, l.unit, ""),
            }
            for l in card.material
        ]
        _table(rows, ["item", "description", "required", "issued", "returned", "scrapped", "extra", "short"], tz, out)
    say()
    say(f"As of {_plant_time(card.as_of, tz)} ({config.timezone})")


HISTORY_COLUMNS = [
    "id",
    "committed_at",
    "kind",
    "qty",
    "step",
    "to_step",
    "reason",
    "item",
    "item2",
    "badge",
    "operator",
    "terminal",
    "login_user",
    "note",
    "voided",
    "void_reason",
    "uuid",
    "voids",
    "client_time",
    "reference",
]


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
