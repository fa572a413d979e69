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

REPORTS = ("wip", "stages", "exceptions", "delays", "rejections", "ageing", "bottlenecks")  # = reports.REPORTS
FLOW_REPORTS = ("flow", "variance", "quality")  # = flow.FLOW_REPORTS


def add_commands(commands) -> None:
    report = _sub(commands, "report", "print a report: " + ", ".join(REPORTS + FLOW_REPORTS))
    report.add_argument(
        "name",
        metavar="NAME",
        choices=REPORTS + FLOW_REPORTS,
        help="wip (open jobs, pending quantity at each stage), stages (the board's stage "
        "summary), exceptions (delayed, late, due soon, ageing, QC and rework pending, "
        "ready for dispatch, material short, priority changed, on hold, refused on replay), delays (delay "
        "time by reason), rejections (rejected quantity by reason and stage), ageing "
        "(how long work waits, by stage), bottlenecks (worst stage first); over a period "
        "(docs/flow.md): flow (per stage: units in and out, unit-hours, waits, queue and "
        "work time, first-pass yield, delay hours), variance (material used against the "
        "bill of materials), quality (first-pass yield by QC stage and product, repeat "
        "failures)",
    )
    _format_option(report, choices=FORMATS + ("html",))
    period = report.add_argument_group("period (for delays, rejections, flow, variance and quality; default: today)")
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
    report.set_defaults(func=cmd_report)

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
    window = report_window(config, args, utcnow())
    if args.format == "html":
        return _report_html(ctx, args.name, window)
    with ctx.store():
        headers, rows = Reports(config).as_rows(args.name, **window)
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
