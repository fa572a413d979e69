"""`floorterm record ACTION`: one ledger entry, as a terminal would record it."""

from __future__ import annotations

import json
import sys

from floorterm.cli.common import EXIT_OK, Context, _login_user, _needs_subcommand, _sub
from floorterm.clock import jsonable
from floorterm.errors import InputError
from floorterm.rules import STEP_KINDS

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
    "delay": (
        "delay",
        ("step", "whole_job", "reason"),
        "open a delay at a step (nothing need be pending there yet), or of the whole job without --step",
    ),
    "resume": ("resume", ("step", "whole_job"), "close the open delay at a step, or the whole job's without --step"),
    "qc-pass": ("qc_pass", ("step", "qty"), "record QTY passed at a QC step"),
    "qc-fail": ("qc_fail", ("step", "qty", "reason"), "record QTY failed at a QC step, with a QC fail reason"),
    "send": (
        "send",
        ("step", "qty", "supplier", "reference"),
        "send QTY pending at an outside step (galvanising, plating...) to a supplier, with its delivery note",
    ),
    "receive": (  # and --rejected M --reason R (added below; a file writes those as a reject line)
        "receive",
        ("step", "qty", "supplier", "reference"),
        "receive units back from a supplier at an outside step: QTY good ones move on like a completion, "
        "--rejected ones wait for a rework or scrap decision (with --reason)",
    ),
    "issue": (
        "material_issue",
        ("item", "qty", "reason"),
        "issue QTY units of a material item to the job (beyond what is still to issue: an extra issue, with --reason)",
    ),
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
    "whole_job": (
        "--whole-job",
        dict(
            action="store_true",
            help="the delay of the whole job, not of a step (the default without --step and --terminal). "
            "A job-level delay is information and time: it shows on the card and the board and counts "
            "in delay reports, but stops no entry; put the job on hold to stop work",
        ),
    ),
    "supplier": (
        "--supplier",
        dict(metavar="CODE", help="the supplier's code from the config's [[suppliers]], e.g. ZINKO"),
    ),
    "rejected": (
        "--rejected",
        dict(metavar="M", default=0, help="units that came back rejected (they wait for a rework or scrap decision)"),
    ),
    "reference": (
        "--reference",
        dict(metavar="TEXT", help="the delivery note or shipment reference, e.g. DN-4411 (at most 64 characters)"),
    ),
}
# An option that means something else for one action: (action, option) -> help.
_ACTION_OPTION_HELP = {
    ("issue", "reason"): "needed for an extra issue (more than is still to issue): a code from the config's "
    "extra_issue pick-list, e.g. SETUP, BREAK, DRAWING, REISSUE",
    ("receive", "qty"): "the good units back (0 when all came back rejected)",
    ("receive", "reason"): "the reject reason for the --rejected units (the config's reject pick-list)",
    ("receive", "supplier"): "take the units back from this supplier's batches (default: the oldest batch out)",
    ("receive", "reference"): "the supplier's delivery note for the return, e.g. LS-2291",
    ("send", "reference"): "our delivery note for the units sent, e.g. DN-4411 (at most 64 characters)",
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
            if (action, option) in _ACTION_OPTION_HELP:
                kwargs = {**kwargs, "help": _ACTION_OPTION_HELP[(action, option)]}
            sub.add_argument(flag, **kwargs)
        if action == "receive":
            for option in ("rejected", "reason"):
                flag, kwargs = _OPTION_HELP[option]
                sub.add_argument(flag, **{**kwargs, "help": _ACTION_OPTION_HELP.get((action, option), kwargs["help"])})
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
        whole_job = getattr(args, "whole_job", False)
        if whole_job and stage:
            raise InputError("Give --step or --whole-job, not both")
        if kind in STEP_KINDS and not stage and terminal and not whole_job:
            # delay / resume at a terminal none of whose steps the job passes: the whole job's.
            stage = default_step(config, args.job, terminal)
        if kind == "receive":
            receipts = ctx.ledger(store).receive(
                args.job,
                stage,
                args.qty,
                rejected=args.rejected,
                reason=args.reason,
                supplier=args.supplier,
                reference=args.reference,
                actor=actor,
                note=args.note,
                uuid=args.uuid,
            )
            return _print_receipts(receipts, args.json)
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
            supplier=getattr(args, "supplier", None),
        )
    return _print_receipts([receipt], args.json)


def _print_receipts(receipts, as_json: bool) -> int:
    """Each receipt's message (or, with --json, the first receipt as JSON: a receive with
    rejected units lists both of its entries under "entries")."""
    receipt = receipts[0]
    if as_json:
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
            "warning": receipt.warning,
        }
        if receipt.kind == "receive" or len(receipts) > 1:
            data["entries"] = [
                {"event_id": r.event_id, "uuid": r.uuid, "kind": r.kind, "qty": r.qty, "message": r.message}
                for r in receipts
            ]
        json.dump(jsonable(data), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        import re

        for each in receipts:
            named = re.search(rf"(?<![\w./-]){re.escape(each.job)}(?![\w./-])", each.message)
            print(each.message if named else f"{each.job}: {each.message}")
    if receipt.warning:  # saved; someone should know (a release while material is still to issue)
        print(f"Warning: {receipt.warning}", file=sys.stderr)
    return EXIT_OK
