"""`floorterm report` and `floorterm export`."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from typing import Iterable

from floorterm.cli.common import (
    EXIT_OK,
    FORMATS,
    Context,
    UsageError,
    _count,
    _date,
    _format_option,
    _info,
    _needs_subcommand,
    _sub,
    emit,
)

REPORTS = (  # = reports.REPORTS
    "wip",
    "stages",
    "exceptions",
    "delays",
    "rejections",
    "ageing",
    "bottlenecks",
    "outside",
)
FLOW_REPORTS = ("flow", "variance", "quality")  # = flow.FLOW_REPORTS
EXCEPTION_KINDS = (  # = reports.EXCEPTION_KINDS (docs/exceptions.md)
    "delayed",
    "late",
    "due_soon",
    "ageing",
    "pending_qc",
    "pending_rework",
    "ready_for_dispatch",
    "material_short",
    "priority_changed",
    "on_hold",
    "replay_refused",
    "material_idle",
    "not_updated",
    "late_entries",
)
SHIFT_REPORT = "shift"  # floorterm.shift: the shift handover


def add_commands(commands) -> None:
    report = _sub(commands, "report", "print a report: " + ", ".join(REPORTS + FLOW_REPORTS + (SHIFT_REPORT,)))
    report.add_argument(
        "name",
        metavar="NAME",
        choices=REPORTS + FLOW_REPORTS + (SHIFT_REPORT,),
        help="wip (open jobs, pending quantity at each stage), stages (the board's stage "
        "summary), exceptions (delayed, late, due soon, ageing, QC and rework pending, "
        "ready for dispatch, material short, priority changes, on hold, refused on replay, material issued but "
        "not started, not updated, late entries per terminal: docs/exceptions.md), delays (delay "
        "time by reason), rejections (rejected quantity by reason and stage), ageing "
        "(how long work waits, by stage), bottlenecks (worst stage first), outside (units at suppliers now: "
        "job, outside step, supplier, quantity, sent when, out for how long, delivery note; docs/outside.md); "
        "over a period "
        "(docs/flow.md): flow (per stage: units in and out, unit-hours, waits, queue and "
        "work time, first-pass yield, delay hours), variance (material used against the "
        "bill of materials), quality (first-pass yield by QC stage and product, repeat "
        "failures); shift (the shift handover, docs/shift.md: per stage what the shift "
        "completed, rejected, scrapped, passed and failed at QC, its delays, holds and notes, "
        "and what waits for the next shift)",
    )
    _format_option(report, choices=FORMATS + ("html",))
    period = report.add_argument_group(
        "period (for delays, rejections, flow, variance and quality, and the priority changes and late entries "
        "of exceptions; default: today)"
    )
    period.add_argument("--since", metavar="DATE", type=_date, help="first plant day, YYYY-MM-DD")
    period.add_argument(
        "--until",
        metavar="DATE",
        type=_date,
        help="last plant day, YYYY-MM-DD (default: today; with --until alone, that one day)",
    )
    period.add_argument(
        "--period",
        choices=("today", "yesterday", "week", "shift"),
        help="a plant-time period: today, yesterday, this week (from Monday) or the current shift",
    )
    report.add_argument(
        "--kind",
        metavar="K",
        choices=EXCEPTION_KINDS,
        help="report exceptions: only list K, one of " + ", ".join(EXCEPTION_KINDS) + "; priority_changed, "
        "material_idle, not_updated and late_entries then have their own columns (docs/exceptions.md)",
    )
    report.add_argument(
        "--owner",
        metavar="WHO",
        help="report exceptions: only the rows at stages this department ([[stages]] owner, any case) or "
        "supervisor badge answers for; a row without a stage counts at the step its job waits at",
    )
    handover = report.add_argument_group("shift (for report shift; default: the shift running now, up to now)")
    handover.add_argument(
        "--shift", metavar="NAME", help="the latest shift of that name that has started ([[shifts]] in the config)"
    )
    handover.add_argument(
        "--date", metavar="DATE", type=_date, help="with --shift: that shift starting on plant day YYYY-MM-DD"
    )
    report.add_argument(
        "--out",
        metavar="FILE",
        help="write the report to FILE instead of stdout; FILE appears (or is replaced) only once the whole "
        "report is on the disk (for a nightly job: docs/erp.md)",
    )
    report.set_defaults(func=cmd_report_out)

    export = _sub(commands, "export", "export data for other systems")
    export_what = export.add_subparsers(title="what", metavar="WHAT")
    events = _sub(export_what, "events", "export ledger entries in id order (all, or those after --since)")
    events.add_argument(
        "--since",
        metavar="ID",
        type=_count,
        default=0,
        help="export only entries with an id greater than ID (the last id of the previous "
        "export, printed at its end); default: everything",
    )
    events.add_argument(
        "--format",
        choices=("csv", "jsonl"),
        default="csv",
        help="csv (with a header line) or jsonl (one JSON object a line); default csv",
    )
    events.add_argument(
        "--out",
        metavar="FILE",
        help="write to FILE instead of stdout; FILE appears (or is replaced) only once the whole export is on the disk",
    )
    events.set_defaults(func=cmd_export_events)

    confirmations = _sub(
        export_what,
        "confirmations",
        "production confirmations for the ERP, each entry exactly once per consumer",
        "Write every production confirmation (start, complete, QC pass and fail, reject, rework, "
        "scrap, dispatch; a void as a reversing row with negative quantities) that the consumer "
        "has not taken yet, then remember in the store how far it got - only once the file is "
        "whole on the disk. A crash before that repeats rows in the next export, never loses "
        "them; each row carries its entry_uuid so the receiver drops a repeat. A new consumer "
        "starts from the first entry. The columns and a cron / systemd setup: docs/erp.md.",
    )
    confirmations.add_argument(
        "--consumer",
        metavar="NAME",
        required=True,
        help="who receives the rows, e.g. erp: 1-32 of a-z A-Z 0-9 - _ . (each consumer has its own cursor)",
    )
    confirmations.add_argument(
        "--format", choices=("csv", "json"), default="csv", help="csv (a header line first) or json; default csv"
    )
    confirmations.add_argument(
        "--out",
        metavar="FILE",
        help="write to FILE instead of stdout; FILE appears (or is replaced) only once the whole export is "
        "on the disk, and only then does the cursor move (use it: stdout cannot be synced)",
    )
    confirmations.add_argument(
        "--since",
        metavar="ID|DATE",
        help="a repair: also write again every confirmation after entry ID, or committed from plant day "
        "YYYY-MM-DD on; the cursor still only moves forward",
    )
    confirmations.set_defaults(func=cmd_export_confirmations)

    listing = _sub(export_what, "consumers", "list the consumers of export confirmations and how far each got")
    _format_option(listing)
    listing.set_defaults(func=cmd_export_consumers)
    export.set_defaults(func=_needs_subcommand(export))


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
    if args.kind and args.name != "exceptions":
        raise UsageError(f"--kind is for report exceptions, not report {args.name}")
    if args.owner is not None and args.name != "exceptions":
        raise UsageError(f"--owner is for report exceptions, not report {args.name}")
    if args.name == SHIFT_REPORT:
        return _report_shift(ctx, args, utcnow())
    if args.shift or args.date:
        raise UsageError("--shift and --date are for report shift; the other reports take --since/--until/--period")
    window = report_window(config, args, utcnow())
    if args.format == "html":
        return _report_html(ctx, args.name, window)
    with ctx.store():
        headers, rows = Reports(config).as_rows(args.name, **window, kind=args.kind, owner=args.owner)
    emit(
        [dict(zip(headers, row)) for row in rows],
        args.format,
        list(headers),
        config.tz,
        empty=f"nothing to report for {args.name}",
    )
    return EXIT_OK


def _report_html(ctx: Context, name: str, window: dict) -> int:
    """One self-contained HTML page (A4) on stdout: the flow reports only."""
    from floorterm import flow_html
    from floorterm.reports import Reports

    if name not in FLOW_REPORTS:
        raise UsageError(f"--format html is for {', '.join(FLOW_REPORTS)}; {name} has table, csv and json")
    with ctx.store():
        reports = Reports(ctx.config)
        since, until = (
            (window["since"], window["until"]) if "since" in window else reports.period(window.get("period", "today"))
        )
        page = flow_html.render(reports, name, since, until)
    sys.stdout.write(page)
    return EXIT_OK


def _report_shift(ctx: Context, args, now: dt.datetime) -> int:
    """report shift: the stage table (table, CSV, JSON: the whole handover) or the HTML page."""
    from floorterm.shift import STAGE_COLUMNS, render_html, shift_report, shift_window

    if args.period or args.since or args.until:
        raise UsageError("report shift takes --shift NAME and --date YYYY-MM-DD, not --since/--until/--period")
    config = ctx.config
    window = shift_window(config, now, args.shift, args.date)
    with ctx.store():
        report = shift_report(config, window, now)
    if args.format == "html":
        sys.stdout.write(render_html(report, config))
    elif args.format == "json":
        from floorterm.clock import jsonable

        json.dump(jsonable(report.to_json()), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _shift_table(report, args.format, config.tz, STAGE_COLUMNS)
    return EXIT_OK


def _shift_table(report, fmt: str, tz, columns: list[str]) -> None:
    from floorterm.clock import to_plant

    w = report.window
    running = ", running: figures up to now" if w.running(report.now) else ""
    if fmt == "table":
        start, end = to_plant(w.start, tz), to_plant(w.end, tz)
        print(f"Shift {w.name} of {w.day}: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M}{running}")
    emit(report.rows(), fmt, columns, tz)
    if fmt != "table":
        return
    sections = (
        ("Delays", [d.__dict__ | {"status": d.status} for d in report.delays], DELAY_COLUMNS),
        (f"Holds ({report.holds_on} put on, {report.holds_off} taken off)", _dicts(report.holds), EVENT_COLUMNS),
        ("Notes", _dicts(report.notes), EVENT_COLUMNS),
    )
    for title, rows, cols in sections:
        print(f"\n{title}")
        emit(rows, fmt, cols, tz, empty="none")


DELAY_COLUMNS = ["job", "stage", "reason", "reason_label", "opened_at", "closed_at", "status", "note"]
EVENT_COLUMNS = ["at", "job", "what", "stage", "operator", "note"]


def _dicts(items) -> list[dict]:
    return [{c: getattr(i, c) for c in EVENT_COLUMNS} for i in items]


EXPORT_COLUMNS = [
    "id",
    "uuid",
    "job",
    "stage",
    "kind",
    "qty",
    "reason",
    "item",
    "item2",
    "note",
    "operator",
    "terminal",
    "login_user",
    "client_time",
    "committed_at",
    "voids",
    "reference",
]


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
    _info(
        f"Exported {count} entr{'ies' if count != 1 else 'y'}{where}"
        + (f"; next time use --since {last}" if count else "")
    )
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


def _since_entry(ctx: Context, text: str | None) -> int | None:
    """--since of export confirmations: an entry id, or a plant day (the entries committed from it on)."""
    from floorterm.confirmations import first_id_at
    from floorterm.inputs import parse_date

    if text is None:
        return None
    value = text.strip()
    if value.isascii() and value.isdigit():
        return int(value)
    try:
        day = parse_date(value, field="--since")
    except Exception:
        raise UsageError(f"--since {text!r}: give an entry id (digits) or a plant day YYYY-MM-DD") from None
    local = dt.datetime.combine(day, dt.time(0), tzinfo=ctx.config.tz)
    return first_id_at(local.astimezone(dt.timezone.utc).replace(tzinfo=None))


def cmd_export_confirmations(ctx: Context, args) -> int:
    from floorterm import confirmations
    from floorterm.errors import InputError

    try:
        name = confirmations.consumer_name(args.consumer)
    except InputError as exc:
        raise UsageError(f"--consumer: {exc}") from None
    out_path = args.out
    if out_path:
        from floorterm.outfiles import OutputFiles

        emit_rows = confirmations.writer_for(args.format, name)

        def write(rows) -> None:
            with OutputFiles() as output:
                emit_rows(rows, output.open(out_path, "w", encoding="utf-8", newline=""))

    else:
        write = confirmations.stdout_writer(args.format, name)
    with ctx.store() as store:
        since = _since_entry(ctx, args.since)
        result = confirmations.export(store, name, write, since=since)
    where = f" to {out_path}" if out_path else ""
    waiting = f"; {result.holes} id range(s) not yet visible are looked for again next time" if result.holes else ""
    _info(
        f"Exported {result.rows} confirmation{'s' if result.rows != 1 else ''} for {name}{where} "
        f"({result.entries_seen} new entr{'ies' if result.entries_seen != 1 else 'y'} read); "
        f"{name} is at entry {result.last_event_id}{waiting}"
    )
    return EXIT_OK


def cmd_export_consumers(ctx: Context, args) -> int:
    from floorterm import confirmations

    with ctx.store():
        rows = [
            {
                "consumer": c.name,
                "last_entry": c.last,
                "waiting_ids": sum(b - a + 1 for a, b, _ in c.holes),
                "exported_rows": c.exported_rows,
                "exports": c.revision,
            }
            for c in confirmations.consumers()
        ]
    emit(
        rows,
        args.format,
        ["consumer", "last_entry", "waiting_ids", "exported_rows", "exports"],
        ctx.config.tz,
        empty="no consumers yet: the first `export confirmations --consumer NAME` makes one",
    )
    return EXIT_OK


def cmd_report_out(ctx: Context, args) -> int:
    """`report ... --out FILE`: the report's stdout into FILE, whole or not at all (floorterm.outfiles)."""
    if not getattr(args, "out", None):
        return cmd_report(ctx, args)
    import contextlib

    from floorterm.outfiles import OutputFiles

    with OutputFiles() as output:
        handle = output.open(args.out, "w", encoding="utf-8", newline="")
        with contextlib.redirect_stdout(handle):
            code = cmd_report(ctx, args)
    _info(f"Wrote the {args.name} report to {args.out}")
    return code
