"""`floorterm record ACTION`: one ledger entry, as a terminal would record it."""

from __future__ import annotations

import json
import sys

from floorterm.cli.common import EXIT_OK, Context, _login_user, _needs_subcommand, _sub
from floorterm.clock import jsonable
from floorterm.errors import InputError

ACTIONS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "release": ("release", ("qty",), "release QTY of a planned job to its first step"),
    "start": ("start", ("step",), "start work on the pending quantity at a step"),
    "complete": ("complete", ("step", "qty"), "record QTY done at a work step (moves on to the next step)"),
    "reject": ("reject", ("step", "qty", "reason"), "record QTY rejected at a work step, with a reject reason"),
    "rework": (
        "rework",
        ("step", "qty", "to_step"),
        "send QTY rejected at a step to rework at that step or an earlier one (--to-step)",
    ),
    "scrap": ("scrap", ("step", "qty", "reason"), "scrap QTY rejected at a step, with a scrap reason"),
    "delay": ("delay", ("step", "reason"), "open a delay at a step, with a delay reason"),
    "resume": ("resume", ("step",), "close the open delay at a step"),
    "qc-pass": ("qc_pass", ("step", "qty"), "record QTY passed at a QC step"),
    "qc-fail": ("qc_fail", ("step", "qty", "reason"), "record QTY failed at a QC step, with a QC fail reason"),
    "issue": ("material_issue", ("item", "qty"), "issue QTY units of a material item to the job"),
    "return": ("material_return", ("item", "qty"), "return QTY issued units of an item to stores"),
    "material-scrap": (
        "material_scrap",
        ("item", "qty", "reason"),
        "scrap QTY issued units of an item, with a material scrap reason",
    ),
    "substitute": (
        "material_substitute",
        ("item", "substitute", "qty"),
        "issue QTY units of another item (--substitute) in place of a listed item",
    ),
    "dispatch": ("dispatch", ("qty", "reference"), "dispatch QTY finished units of the job"),
    "priority": ("priority", ("priority",), "change the job's priority (1 most urgent .. 9); --note says why"),
    "hold": ("hold", (), "put the job on hold (no quantity moves until unhold); --note says why"),
    "unhold": ("unhold", (), "take the job off hold; --note says why"),
    "note": ("note", ("step",), "add a note (--note) to the job, or to one of its steps"),
    "void": ("void", ("entry",), "cancel an earlier entry (--entry UUID or id); --note says why"),
}
STEP_KINDS = ("start", "complete", "reject", "rework", "scrap", "delay", "resume", "qc_pass", "qc_fail")


_OPTION_HELP = {
    "step": (
        "--step",
        dict(
            metavar="STAGE",
            help="the stage code of the step, e.g. WELD (default: the one step of the "
            "job that --terminal records, if there is exactly one)",
        ),
    ),
    "qty": ("--qty", dict(metavar="N", help="the quantity (whole number)")),
    "reason": ("--reason", dict(metavar="CODE", help="a reason code from the config's pick-list for this entry")),
    "item": ("--item", dict(metavar="CODE", help="the material item code from the job's material list")),
    "substitute": ("--substitute", dict(metavar="CODE", help="the item issued instead")),
    "to_step": ("--to-step", dict(metavar="STAGE", help="the step that reworks it (default: the same step)")),
    "entry": ("--entry", dict(metavar="UUID", help="the entry to void: its UUID or its id (see `jobs history`)")),
    "priority": ("--priority", dict(metavar="N", dest="qty", help="the new priority, 1 (most urgent) .. 9")),
    "reference": (
        "--reference",
        dict(metavar="TEXT", help="the delivery note or shipment reference, e.g. DN-4411 (at most 64 characters)"),
    ),
}


def add_commands(commands) -> None:
    record = _sub(
        commands,
        "record",
        "record an entry in the ledger, as a terminal would",
        "Record one entry. The ledger checks it like any terminal entry: a refused entry "
        "prints why on stderr, exits 1 and writes nothing. Giving the same --uuid again "
        "writes nothing twice (safe retries); the same --uuid for a different entry is refused, "
        "naming what differs.",
    )
    actions = record.add_subparsers(title="actions", metavar="ACTION")
    for action, (kind, options, text) in ACTIONS.items():
        sub = _sub(actions, action, text)
        if kind != "void":
            sub.add_argument("job", metavar="JOB", help="the job number")
        for option in options:
            flag, kwargs = _OPTION_HELP[option]
            sub.add_argument(flag, **kwargs)
        who = sub.add_argument_group("who and where")
        who.add_argument(
            "--operator",
            metavar="BADGE",
            required=True,
            help="the badge of the person recording; their role decides what they may record",
        )
        who.add_argument(
            "--terminal", metavar="ID", help="the terminal recorded at, e.g. WELD-1 (operators, QC and stores need one)"
        )
        who.add_argument(
            "--login-user", metavar="NAME", help="the login user recorded with the entry (default: this shell's user)"
        )
        sub.add_argument(
            "--note",
            metavar="TEXT",
            default="",
            required=kind == "void",
            help="a note" + (" (required: why)" if kind in ("priority", "hold", "unhold", "void") else ""),
        )
        sub.add_argument(
            "--uuid",
            metavar="UUID",
            help="a client-made id for this entry; recording the same entry again writes nothing "
            "twice, another entry with it is refused",
        )
        sub.add_argument("--json", action="store_true", help="print the receipt as JSON")
        sub.set_defaults(func=cmd_record, kind=kind, options=options)
    record.set_defaults(func=_needs_subcommand(record))


def default_step(config, job: str, terminal_id: str) -> str | None:
    """The job's one step that the terminal records, or None (InputError if there are several)."""
    from floorterm import models as m
    from floorterm.errors import DomainError
    from floorterm.inputs import parse_job_number

    try:
        terminal = config.terminal(terminal_id)
    except KeyError:
        raise InputError(
            f"Unknown terminal {terminal_id}; the config has: {', '.join(t.id for t in config.terminals) or 'none'}"
        ) from None
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
            kind,
            getattr(args, "job", None),
            actor=actor,
            stage=stage,
            to_stage=getattr(args, "to_step", None),
            qty=getattr(args, "qty", None),
            reason=getattr(args, "reason", None),
            item=getattr(args, "item", None),
            item2=getattr(args, "substitute", None),
            note=args.note,
            voids=getattr(args, "entry", None),
            uuid=args.uuid,
            reference=getattr(args, "reference", None),
        )
    if args.json:
        data = {
            "event_id": receipt.event_id,
            "uuid": receipt.uuid,
            "kind": receipt.kind,
            "job": receipt.job,
            "stage": receipt.stage,
            "qty": receipt.qty,
            "message": receipt.message,
            "committed_at": receipt.committed_at,
            "duplicate": receipt.duplicate,
        }
        json.dump(jsonable(data), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        import re

        named = re.search(rf"(?<![\w./-]){re.escape(receipt.job)}(?![\w./-])", receipt.message)
        print(receipt.message if named else f"{receipt.job}: {receipt.message}")
    return EXIT_OK
