"""The flow report as one printable page: inline CSS and SVG charts, nothing fetched, A4.

`render_flow` draws a FlowReport (the stage table, waiting by stage, throughput by hour,
a delay Pareto, the jobs that went through); `render_table` puts any report's plain table
(quality, variance) on the same kind of page. Every text from the store or the configuration
is escaped: a product called `<b>` prints as typed.
"""

from __future__ import annotations

import datetime as dt
import html

from floorterm.clock import to_plant
from floorterm.config import Config
from floorterm.flow import FlowReport, StageFlow

WIDTH = 700  # SVG user units across the printable width of an A4 page
LABEL = 120  # room for the stage names left of the bars
JOBS_LISTED = 25  # the page lists the latest-finishing jobs only; the CSV and JSON have them all

CSS = """
@page { size: A4; margin: 12mm; }
html { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 9pt; color: #000; }
body { margin: 0; }
h1 { font-size: 15pt; margin: 0 0 1mm; }
h2 { font-size: 11pt; margin: 5mm 0 1.5mm; }
p.period { margin: 0 0 3mm; color: #333; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 0.7mm 1.4mm; border-bottom: 0.25mm solid #bbb; text-align: right; white-space: nowrap; }
th { border-bottom: 0.4mm solid #000; font-weight: bold; white-space: normal; }
th:first-child, td:first-child, .text { text-align: left; }
td.text { white-space: normal; min-width: 22mm; }
section.chart { break-inside: avoid; page-break-inside: avoid; }
svg { display: block; width: 100%; height: auto; }
svg text { font-family: inherit; font-size: 10px; }
.bar { fill: #4a6fa5; }
p.note { color: #333; margin: 1mm 0; }
"""


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _num(value, places: int = 1) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.{places}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _when(moment: dt.datetime | None, tz) -> str:
    return to_plant(moment, tz).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _document(title: str, subtitle: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{_esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f"<h1>{_esc(title)}</h1>\n<p class=\"period\">{_esc(subtitle)}</p>\n{body}</body>\n</html>\n"
    )


def _period(config: Config, since: dt.datetime, until: dt.datetime) -> str:
    tz = config.tz
    return f"{config.plant_name} · {_when(since, tz)} to {_when(until, tz)} ({config.timezone})"


def _section(title: str | None, body: str, chart: bool = False) -> str:
    """A block of the page; a chart is never split across two sheets."""
    heading = f"<h2>{_esc(title)}</h2>\n" if title else ""
    opening = "<section class=\"chart\">" if chart else "<section>"
    return f"{opening}\n{heading}{body}</section>\n"


def _table(headers: list[str], rows: list[list], text_columns: int = 1) -> str:
    """A plain table; the first `text_columns` columns left-aligned text, the others right-aligned numbers."""

    def cell(tag: str, i: int, text: str) -> str:
        return f"<{tag} class=\"text\">{_esc(text)}</{tag}>" if i < text_columns else f"<{tag}>{_esc(text)}</{tag}>"

    head = "".join(cell("th", i, h) for i, h in enumerate(headers))
    body = [
        "<tr>"
        + "".join(cell("td", i, "" if v is None and i < text_columns else _num(v, 2)) for i, v in enumerate(row))
        + "</tr>"
        for row in rows
    ]
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"


def render_table(
    title: str, headers: list[str], rows: list[list], config: Config, since: dt.datetime, until: dt.datetime
) -> str:
    """Any report's (headers, rows), e.g. Reports.as_rows('quality'), as a printable page."""
    texts = sum(1 for h in headers if h in ("by", "code", "name", "job", "product", "item", "unit", "stage"))
    return _document(title, _period(config, since, until), _section(None, _table(headers, rows, texts)))


TITLES = {"flow": "Flow report", "quality": "Quality: first-pass yield", "variance": "Material variance"}


def render(reports, name: str, since: dt.datetime, until: dt.datetime) -> str:
    """The page of `report NAME --format html` (NAME in flow.FLOW_REPORTS) over [since, until), naive UTC."""
    if name == "flow":
        return render_flow(reports.flow(since, until), reports.config)
    headers, rows = reports.as_rows(name, since=since, until=until)
    return render_table(TITLES[name], headers, rows, reports.config, since, until)


# -- the flow page ------------------------------------------------------------------------------


def render_flow(report: FlowReport, config: Config) -> str:
    """The flow report as a self-contained HTML page that prints on A4."""
    tz = config.tz
    headers = ["Stage", "In", "Out", "Unit-h", "Mean wait h", "p50 h", "p90 h", "Queue h", "Work h", "FPY %", "Delay h"]
    rows = [
        [
            s.name,
            s.units_in,
            s.units_out,
            s.unit_hours,
            s.mean_wait_hours,
            s.p50_wait_hours,
            s.p90_wait_hours,
            s.queue_hours,
            s.work_hours,
            None if s.first_pass_yield is None else s.first_pass_yield * 100,
            s.delay_hours,
        ]
        for s in report.stages
    ]
    per = "hour" if report.bucket_hours == 1 else "day"
    parts = [
        _section("Per stage", _table(headers, rows)),
        _section("Waiting by stage (unit-hours)", _waiting_chart(report.stages), chart=True),
        _section(f"Throughput by {per} (units done)", _throughput_chart(report, tz), chart=True),
        _section("Delays by reason (hours)", _pareto_chart(report), chart=True),
        _section("Jobs through the last work step", _jobs(report, tz)),
    ]
    if report.problems:
        parts.append(_section("Left out", "<ul>" + "".join(f"<li>{_esc(p)}</li>" for p in report.problems) + "</ul>\n"))
    return _document(TITLES["flow"], _period(config, report.since, report.until), "".join(parts))


def _svg(height: int, body: str) -> str:
    return f"<svg viewBox=\"0 0 {WIDTH} {height}\" role=\"img\">\n{body}</svg>\n"


def _waiting_chart(stages: tuple[StageFlow, ...]) -> str:
    """Horizontal bars of unit-hours per stage, with the mean wait beside each."""
    row = 18
    top = max((s.unit_hours for s in stages), default=0) or 1
    room = WIDTH - LABEL - 170
    lines = []
    for i, s in enumerate(stages):
        y = i * row
        length = room * s.unit_hours / top
        mean = f" · mean {_num(s.mean_wait_hours)} h" if s.mean_wait_hours is not None else ""
        lines.append(
            f"<text x=\"{LABEL - 6}\" y=\"{y + 12}\" text-anchor=\"end\">{_esc(s.name)}</text>"
            f"<rect class=\"bar\" x=\"{LABEL}\" y=\"{y + 3}\" width=\"{length:.1f}\" height=\"{row - 6}\"/>"
            f"<text x=\"{LABEL + length + 4:.1f}\" y=\"{y + 12}\">{_num(s.unit_hours)}{_esc(mean)}</text>\n"
        )
    return _svg(max(row, row * len(stages)), "".join(lines))


def _throughput_chart(report: FlowReport, tz) -> str:
    """One strip per stage: units done per bucket, each strip scaled to its own busiest bucket."""
    n = len(report.buckets)
    strip, axis = 20, 16
    room = WIDTH - LABEL - 50
    step = room / max(1, n)
    lines = []
    for i, s in enumerate(report.stages):
        counts = report.throughput.get(s.stage, ())
        peak = max(counts, default=0)
        y = i * strip
        lines.append(f"<text x=\"{LABEL - 6}\" y=\"{y + 14}\" text-anchor=\"end\">{_esc(s.name)}</text>")
        for k, count in enumerate(counts):
            if count:
                h = (strip - 4) * count / peak
                lines.append(
                    f"<rect class=\"bar\" x=\"{LABEL + k * step:.1f}\" y=\"{y + strip - 2 - h:.1f}\" "
                    f"width=\"{max(0.5, step - 0.5):.1f}\" height=\"{h:.1f}\"/>"
                )
        lines.append(f"<text x=\"{LABEL + room + 6}\" y=\"{y + 14}\">max {peak}</text>\n")
    base = strip * len(report.stages)
    ticks = [
        k
        for k, start in enumerate(report.buckets)
        if report.bucket_hours != 1 or to_plant(start, tz).hour == 0 or k == 0
    ]
    every = max(1, len(ticks) // 10)
    for k in ticks[::every]:
        label = to_plant(report.buckets[k], tz).strftime("%a %d %b" if report.bucket_hours == 1 else "%d %b")
        x = LABEL + k * step
        lines.append(
            f"<line x1=\"{x:.1f}\" y1=\"0\" x2=\"{x:.1f}\" y2=\"{base}\" stroke=\"#ccc\"/>"
            f"<text x=\"{x:.1f}\" y=\"{base + 12}\">{_esc(label)}</text>\n"
        )
    return _svg(base + axis, "".join(lines))


def _pareto_chart(report: FlowReport) -> str:
    """Delay hours by reason, most first, with the cumulative share as a line."""
    height, bottom, left = 170, 130, 60
    delays = [d for d in report.delays if d.hours > 0]
    if not delays:
        return _svg(24, "<text x=\"0\" y=\"16\">No delay time in this period.</text>\n")
    total = sum(d.hours for d in delays)
    top = delays[0].hours
    room = WIDTH - left - 50
    step = room / len(delays)
    lines = [
        f"<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{left + room}\" y2=\"{bottom}\" stroke=\"#000\"/>",
        f"<text x=\"{left - 4}\" y=\"14\" text-anchor=\"end\">{_num(top)} h</text>",
        f"<text x=\"{left + room + 4}\" y=\"14\">100%</text>",
    ]
    points, running = [], 0.0
    for i, d in enumerate(delays):
        h = (bottom - 10) * d.hours / top
        x = left + i * step
        running += d.hours
        points.append(f"{x + step / 2:.1f},{bottom - (bottom - 10) * running / total:.1f}")
        middle = f"x=\"{x + step / 2:.1f}\" text-anchor=\"middle\""
        lines.append(
            f"<rect class=\"bar\" x=\"{x + 2:.1f}\" y=\"{bottom - h:.1f}\" width=\"{step - 4:.1f}\" "
            f"height=\"{h:.1f}\"><title>{_esc(d.label)}</title></rect>"
            f"<text {middle} y=\"{bottom + 12}\">{_esc(d.reason)}</text>"
            f"<text {middle} y=\"{bottom + 24}\">{_num(d.hours)} h</text>"
        )
    lines.append(f"<polyline points=\"{' '.join(points)}\" fill=\"none\" stroke=\"#a00\" stroke-width=\"1.5\"/>")
    legend = " · ".join(f"{d.reason} {d.label}" for d in delays)
    return (
        _svg(height, "\n".join(lines) + "\n")
        + f"<p class=\"note\">{_esc(legend)}. Red line: share of all delay hours so far.</p>\n"
    )


def _jobs(report: FlowReport, tz) -> str:
    """How the jobs that went through did against plan, and the last of them."""
    jobs = report.jobs
    if not jobs:
        return "<p class=\"note\">None in this period.</p>\n"
    leads = [j.lead_time_hours for j in jobs if j.lead_time_hours is not None]
    late = [j for j in jobs if j.late_by_hours is not None and j.late_by_hours > 0]
    summary = (
        f"{len(jobs)} jobs went through; {len(late)} after their planned end; "
        f"mean lead time {_num(sum(leads) / len(leads) if leads else None)} h."
    )
    if len(jobs) > JOBS_LISTED:
        summary += f" The {JOBS_LISTED} that went through last are listed."
    headers = ["Job", "Product", "Planned end", "Started", "Through", "Lead h", "Late by h"]
    rows = [
        [
            j.number,
            j.product,
            j.planned_end.isoformat() if j.planned_end else None,
            _when(j.actual_start, tz),
            _when(j.actual_end, tz),
            j.lead_time_hours,
            j.late_by_hours,
        ]
        for j in jobs[-JOBS_LISTED:]
    ]
    return f"<p class=\"note\">{_esc(summary)}</p>\n" + _table(headers, rows, text_columns=2)
