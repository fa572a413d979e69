"""The shift handover report (issue 11, docs/shift.md): what one shift did and what waits.

A shift runs from its start (config ``[[shifts]]``, plant wall-clock time in ``config.tz``)
to the next shift's start; the last shift of the day wraps past midnight. Everything the
shift *did* comes from the ledger entries committed within [start, end), voided entries and
the voids themselves left out (as ``ledger.live_events`` does). What *waits* for the next
shift is read from the current balances (open jobs only): for a past shift it is the floor
as it is now, not as it was at that shift's end.

Default shift (``shift_window(config, now)``): the one running now, up to now. ``name``
picks the latest shift of that name that has started (possibly the running one); ``name``
and ``day`` pick the shift of that name starting on that plant day (a night shift starting
at 22:00 on ``day`` ends the next morning).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

from floorterm import models as m
from floorterm._peewee import peewee
from floorterm.clock import to_plant
from floorterm.config import Config, _local_to_utc
from floorterm.errors import InputError

UTC = dt.timezone.utc


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class ShiftWindow:
    name: str
    day: dt.date  # plant day the shift starts on
    start: dt.datetime  # naive UTC
    end: dt.datetime  # naive UTC, the next shift's start

    def running(self, now: dt.datetime) -> bool:
        return self.start <= now < self.end


def _occurrences(config: Config, day: dt.date) -> list[tuple[str, dt.date, dt.datetime]]:
    tz = config.tz
    return [(s.name, day, _naive(_local_to_utc(dt.datetime.combine(day, s.start), tz))) for s in config.shifts]


def _window(config: Config, name: str, day: dt.date, start: dt.datetime) -> ShiftWindow:
    later = [t for d in (0, 1, 2) for _, _, t in _occurrences(config, day + dt.timedelta(days=d)) if t > start]
    return ShiftWindow(name, day, start, min(later))


def shift_window(config: Config, now: dt.datetime, name: str | None = None, day: dt.date | None = None) -> ShiftWindow:
    """The shift to report (see the module docstring); ``now`` naive UTC. InputError if unknown or not started."""
    names = [s.name for s in config.shifts]
    if name is not None:
        match = next((n for n in names if n.lower() == name.lower()), None)
        if match is None:
            raise InputError(f"Unknown shift {name!r}; the shifts are: {', '.join(names)}")
        name = match
    if day is not None and name is None:
        raise InputError("Give the shift with the date (--shift NAME --date YYYY-MM-DD)")
    if day is not None:
        start = next(t for n, _, t in _occurrences(config, day) if n == name)
        if start > now:
            raise InputError(f"Shift {name} of {day} has not started yet")
        return _window(config, name, day, start)
    today = to_plant(now, config.tz).date()
    started = [
        (t, n, d)
        for offset in (-2, -1, 0, 1)
        for n, d, t in _occurrences(config, today + dt.timedelta(days=offset))
        if t <= now and (name is None or n == name)
    ]
    t, n, d = max(started)
    return _window(config, n, d, t)


@dataclass(frozen=True)
class ShiftStage:
    stage: str
    name: str
    completed: int = 0
    rejected: int = 0
    scrapped: int = 0
    qc_passed: int = 0
    qc_failed: int = 0
    delays_opened: int = 0
    delays_closed: int = 0
    delays_open: int = 0  # open at the shift's end (or now, for the running shift)
    pending: int = 0  # waits now, open jobs
    awaiting: int = 0  # rejected, awaiting a decision, now
    oldest_job: str | None = None  # the job waiting longest at the stage now
    oldest_since: dt.datetime | None = None


@dataclass(frozen=True)
class DelayLine:
    job: str
    stage: str
    reason: str
    reason_label: str
    opened_at: dt.datetime
    closed_at: dt.datetime | None  # None: still open at the shift's end
    note: str

    @property
    def status(self) -> str:
        return "open" if self.closed_at is None else "closed"


@dataclass(frozen=True)
class Happening:
    """A hold put on or taken off, or a note, during the shift."""

    at: dt.datetime
    job: str
    what: str  # 'hold' | 'unhold' | 'note'
    stage: str | None
    operator: str
    note: str


STAGE_COLUMNS = [
    "stage",
    "name",
    "completed",
    "rejected",
    "scrapped",
    "qc_passed",
    "qc_failed",
    "delays_opened",
    "delays_closed",
    "delays_open",
    "pending",
    "awaiting",
    "oldest_job",
    "oldest_since",
]


@dataclass(frozen=True)
class ShiftReport:
    window: ShiftWindow
    now: dt.datetime
    stages: tuple[ShiftStage, ...]
    delays: tuple[DelayLine, ...]  # every delay open at some moment of the shift, oldest first
    holds: tuple[Happening, ...]
    notes: tuple[Happening, ...]

    @property
    def holds_on(self) -> int:
        return sum(1 for h in self.holds if h.what == "hold")

    @property
    def holds_off(self) -> int:
        return sum(1 for h in self.holds if h.what == "unhold")

    def rows(self) -> list[dict]:
        """One dict a stage, STAGE_COLUMNS (for table, CSV and JSON)."""
        return [{c: getattr(s, c) for c in STAGE_COLUMNS} for s in self.stages]

    def to_json(self) -> dict:
        w = self.window
        return {
            "shift": w.name,
            "date": w.day.isoformat(),
            "start": w.start,
            "end": w.end,
            "running": w.running(self.now),
            "stages": self.rows(),
            "delays": [
                {
                    "job": d.job,
                    "stage": d.stage,
                    "reason": d.reason,
                    "reason_label": d.reason_label,
                    "opened_at": d.opened_at,
                    "closed_at": d.closed_at,
                    "status": d.status,
                    "note": d.note,
                }
                for d in self.delays
            ],
            "holds": [_happening(h) for h in self.holds],
            "notes": [_happening(h) for h in self.notes],
        }


def _happening(h: Happening) -> dict:
    return {"at": h.at, "job": h.job, "what": h.what, "stage": h.stage, "operator": h.operator, "note": h.note}


def _voided() -> set[str]:
    return {uuid for (uuid,) in m.Event.select(m.Event.voids).where(m.Event.voids.is_null(False)).tuples()}


def shift_report(config: Config, window: ShiftWindow, now: dt.datetime) -> ShiftReport:
    """The handover figures of ``window`` (see the module docstring); ``now`` naive UTC. Needs an open store."""
    end = min(window.end, now) if window.running(now) else window.end
    voided = _voided()
    e, st, j, op = m.Event, m.JobStep, m.Job, m.Operator
    figures: dict[str, dict[str, int]] = {}

    def bump(stage: str, key: str, qty: int) -> None:
        row = figures.setdefault(stage, {})
        row[key] = row.get(key, 0) + qty

    holds: list[Happening] = []
    notes: list[Happening] = []
    keys = {"complete": "completed", "reject": "rejected", "scrap": "scrapped", "qc_pass": "qc_passed"}
    keys["qc_fail"] = "qc_failed"
    keys["receive"] = "completed"  # good units back from an outside supplier count as done at that stage
    inside = (
        e.select(e.uuid, e.kind, e.qty, e.note, e.committed_at, j.number, st.stage, op.badge)
        .join(j, on=(e.job == j.id))
        .switch(e)
        .join(st, peewee.JOIN.LEFT_OUTER, on=(e.step == st.id))
        .switch(e)
        .join(op, on=(e.operator == op.id))
        .where(
            (e.committed_at >= window.start)
            & (e.committed_at < end)
            & e.kind.in_(tuple(keys) + ("hold", "unhold", "note"))
        )
        .order_by(e.id)
        .tuples()
    )
    for uuid, kind, qty, note, at, number, stage, badge in inside:
        if uuid in voided:
            continue
        if kind in keys:
            bump(stage, keys[kind], qty)
        elif kind == "note":
            notes.append(Happening(at, number, kind, stage, badge, note))
        else:
            holds.append(Happening(at, number, kind, None, badge, note))

    # Delays: replay every job step's delay/resume pairs up to the end of the shift.
    opened: dict[tuple[str, str], tuple[str, dt.datetime, str]] = {}
    lines: list[DelayLine] = []
    history = (
        e.select(e.uuid, e.kind, e.reason, e.note, e.committed_at, j.number, st.stage)
        .join(j, on=(e.job == j.id))
        .switch(e)
        .join(st, on=(e.step == st.id))
        .where((e.committed_at < end) & e.kind.in_(("delay", "resume")))
        .order_by(e.id)
        .tuples()
    )
    for uuid, kind, reason, note, at, number, stage in history:
        if uuid in voided:
            continue
        if kind == "delay":
            opened[(number, stage)] = (reason, at, note)
            continue
        began = opened.pop((number, stage), None)
        if began is None or at < window.start:
            continue
        lines.append(_delay_line(config, number, stage, began, at))
    for (number, stage), began in opened.items():
        lines.append(_delay_line(config, number, stage, began, None))
    lines.sort(key=lambda d: (d.opened_at, d.job, d.stage))
    for d in lines:
        if d.opened_at >= window.start:
            bump(d.stage, "delays_opened", 1)
        if d.closed_at is not None:
            bump(d.stage, "delays_closed", 1)
        else:
            bump(d.stage, "delays_open", 1)

    # What waits for the next shift: the balances now.
    b = m.StepBalance
    waiting = (
        b.select(b.stage, b.pending, b.awaiting, b.waiting_since, j.number)
        .join(j, on=(b.job == j.id))
        .where(j.is_open & ((b.pending > 0) | (b.awaiting > 0)))
        .tuples()
    )
    oldest: dict[str, tuple[dt.datetime, str]] = {}
    for stage, pending, awaiting, since, number in waiting:
        bump(stage, "pending", pending)
        bump(stage, "awaiting", awaiting)
        if pending > 0 and since is not None and (stage not in oldest or (since, number) < oldest[stage]):
            oldest[stage] = (since, number)

    known = [s.code for s in config.stages]
    order = known + sorted(set(figures) - set(known))
    stages = []
    for code in order:
        row = figures.get(code, {})
        since, number = oldest.get(code, (None, None))
        name = config.stage(code).name if code in known else code
        stages.append(ShiftStage(code, name, oldest_job=number, oldest_since=since, **row))
    return ShiftReport(window, now, tuple(stages), tuple(lines), tuple(holds), tuple(notes))


def _delay_line(
    config: Config, number: str, stage: str, began: tuple[str, dt.datetime, str], closed: dt.datetime | None
) -> DelayLine:
    reason, at, note = began
    try:
        label = config.reason_label("delay", reason)
    except KeyError:
        label = reason
    return DelayLine(number, stage, reason, label, at, closed, note)


# -- the printable page --------------------------------------------------------------------------


def render_html(report: ShiftReport, config: Config) -> str:
    """The handover as one self-contained HTML page (A4); every text from the store is escaped."""
    from floorterm import flow_html as fh

    tz = config.tz
    w = report.window
    title = f"Shift handover: {w.name}, {w.day.isoformat()}"
    running = " (running, figures up to now)" if w.running(report.now) else ""
    subtitle = f"{config.plant_name} · {fh._when(w.start, tz)} to {fh._when(w.end, tz)} ({config.timezone}){running}"
    stage_rows = [
        [
            s.name,
            s.completed,
            s.rejected,
            s.scrapped,
            s.qc_passed,
            s.qc_failed,
            s.delays_opened,
            s.delays_closed,
            s.delays_open,
            s.pending,
            s.awaiting,
            s.oldest_job or "",
            fh._when(s.oldest_since, tz) if s.oldest_since else "",
        ]
        for s in report.stages
    ]
    headers = ["Stage", "Done", "Rej", "Scrap", "QC pass", "QC fail", "Dly open'd", "Dly closed", "Dly open"]
    headers += ["Waiting", "Awaiting", "Oldest job", "Waiting since"]
    body = fh._section("By stage", fh._table(headers, stage_rows))
    delays = [
        [
            d.job,
            d.stage,
            f"{d.reason} {d.reason_label}",
            fh._when(d.opened_at, tz),
            fh._when(d.closed_at, tz) if d.closed_at else "still open",
            d.note,
        ]
        for d in report.delays
    ]
    body += fh._section(
        "Delays",
        fh._table(["Job", "Stage", "Reason", "Opened", "Closed", "Note"], delays, 6) if delays else _none(),
    )
    holds = [
        [fh._when(h.at, tz), h.job, "put on hold" if h.what == "hold" else "taken off hold", h.operator, h.note]
        for h in report.holds
    ]
    body += fh._section(
        f"Holds ({report.holds_on} put on, {report.holds_off} taken off)",
        fh._table(["When", "Job", "What", "By", "Note"], holds, 5) if holds else _none(),
    )
    notes = [[fh._when(n.at, tz), n.job, n.stage or "", n.operator, n.note] for n in report.notes]
    body += fh._section("Notes", fh._table(["When", "Job", "Stage", "By", "Note"], notes, 5) if notes else _none())
    return fh._document(title, subtitle, body)


def _none() -> str:
    return f"<p class=\"note\">{html.escape('none')}</p>\n"


def current_shift(config: Config, now: dt.datetime) -> ShiftReport:
    """The running shift's handover so far, read in one transaction (the board's Shift view)."""
    with m.database.atomic():
        return shift_report(config, shift_window(config, now), now)
