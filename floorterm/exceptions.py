"""The exception lists the seed names that the board's first lists left blind (issue 10, item 8;
docs/exceptions.md): every priority change in a period, material issued to jobs nobody
started, steps the floor stopped recording, and entries that arrive long after they happened.

Nothing here writes. The functions read inside the caller's transaction (``Reports.exceptions``
and ``Reports.board`` call :func:`read_lists` with the open jobs and balances they already
loaded), each list with one or two set-based queries.

Working time: "not updated" and "material idle" count hours inside working shifts only
(``[thresholds] working_shifts`` and ``working_days``; by default every shift of every day,
which is plain clock time). A shift runs from its start to the next shift's start, and it
belongs to the plant day it starts on.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass

from floorterm import models as m
from floorterm._peewee import peewee
from floorterm.clock import format_duration
from floorterm.config import Config, _local_to_utc
from floorterm.queries import derive_status

fn = peewee.fn

# The lists this module adds to reports.Exceptions, in the order the CLI prints them.
SEED_KINDS = ("priority_changes", "material_idle", "not_updated", "late_entries")
# `floorterm report exceptions --kind` names: the board's lists (reports.EXCEPTION_VIEWS) plus
# these; "priority_changed" on the command line is the per-change history (priority_changes).
CLI_KIND = {"priority_changed": "priority_changes"}
TITLES = {
    "priority_changes": "Priority changed",
    "material_idle": "Material issued, not started",
    "not_updated": "Not updated",
    "late_entries": "Late entries",
}
HELP = {
    "priority_changes": "every priority change in the last 24 h: who, when, from → to and why",
    "material_idle": "released or planned jobs with material issued and no movement since",
    "not_updated": "steps with pending units and no entry for the stale time (working hours)",
    "late_entries": "per terminal: entries arriving long after their terminal time (last 24 h)",
}
BOARD_WINDOW = dt.timedelta(hours=24)  # the board's period for priority changes and late entries
STATUSES_NOT_STARTED = ("planned", "released")
UTC = dt.timezone.utc
_CHUNK = 500


# -- items -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PriorityChange:
    """One live priority change (voided ones are left out)."""

    number: str
    at: dt.datetime  # commit time, naive UTC
    badge: str
    operator: str  # the operator's name
    terminal: str
    from_priority: int
    to_priority: int
    note: str  # why (a priority change always carries a note)
    job_open: bool

    # The board's first list read these two names: same meaning, per change.
    @property
    def initial_priority(self) -> int:
        return self.from_priority

    @property
    def priority(self) -> int:
        return self.to_priority


@dataclass(frozen=True)
class IdleItem:
    """A released or planned job holding issued material that nobody has started."""

    number: str
    status: str  # 'planned' | 'released'
    items: tuple[str, ...]  # 'PLATE-8 40 kg' per line with material issued
    last_issue_at: dt.datetime | None
    idle_since: dt.datetime  # the later of its last issue and its release
    idle_hours: float  # working hours since idle_since


@dataclass(frozen=True)
class StaleItem:
    """A step with pending units where nothing was recorded for the stale time."""

    number: str
    stage: str
    stage_name: str
    pending: int
    state: str  # 'waiting' | 'in work'
    last_entry_at: dt.datetime | None  # the newest live entry at the step; None if none
    idle_since: dt.datetime  # the later of that entry and the arrival of its pending units
    idle_hours: float  # working hours since idle_since


@dataclass(frozen=True)
class LateTerminal:
    """Entries arriving more than late_entry_minutes after their terminal time, per terminal."""

    terminal: str
    late: int
    entries: int  # every entry that arrived from the terminal in the period
    worst_minutes: float
    last_late_at: dt.datetime | None  # arrival of the newest late entry


# -- working time ------------------------------------------------------------------------------


class WorkingTime:
    """Seconds inside working shifts between instants (naive UTC); see the module docstring."""

    def __init__(self, config: Config):
        th = config.thresholds
        self.config = config
        names = {s.name for s in config.shifts}
        self.names = set(th.working_shifts) & names if th.working_shifts is not None else names
        self.days = set(th.working_days)
        self.always = self.names == names and len(self.days) == 7

    def intervals(self, start: dt.datetime, end: dt.datetime) -> list[tuple[dt.datetime, dt.datetime]]:
        """Working intervals overlapping [start, end), clipped to it, in time order."""
        tz = self.config.tz
        if self.always:
            return [(start, end)] if end > start else []
        first = start.replace(tzinfo=UTC).astimezone(tz).date() - dt.timedelta(days=1)
        last = end.replace(tzinfo=UTC).astimezone(tz).date() + dt.timedelta(days=1)
        starts = []
        day = first
        while day <= last:
            for s in self.config.shifts:
                at = _local_to_utc(dt.datetime.combine(day, s.start), tz).replace(tzinfo=None)
                starts.append((at, s.name in self.names and day.weekday() in self.days))
            day += dt.timedelta(days=1)
        starts.sort()
        out = []
        for (a, working), (b, _) in zip(starts, starts[1:]):
            if working and b > start and a < end:
                out.append((max(a, start), min(b, end)))
        return out

    def seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        return sum((b - a).total_seconds() for a, b in self.intervals(start, end))

    def cutoff(self, end: dt.datetime, hours: float) -> dt.datetime:
        """The latest instant with `hours` of working time between it and `end`."""
        need = hours * 3600
        if self.always:
            return end - dt.timedelta(seconds=need)
        span = dt.timedelta(days=max(7, int(hours / 24 * 2) + 7))
        while True:
            got = 0.0
            for a, b in reversed(self.intervals(end - span, end)):
                length = (b - a).total_seconds()
                if got + length >= need:
                    return b - dt.timedelta(seconds=need - got)
                got += length
            span *= 2  # working_days and working_shifts are never empty, so this ends


class Since:
    """Working seconds from many instants up to one `end`, by prefix sums (one bisect each)."""

    def __init__(self, working: WorkingTime, earliest: dt.datetime, end: dt.datetime):
        self.working, self.end = working, end
        spans = working.intervals(earliest, end)
        self.starts = [a for a, _ in spans]
        self.ends = [b for _, b in spans]
        self.tail = [0.0] * (len(spans) + 1)  # tail[i]: working seconds of spans i..
        for i in range(len(spans) - 1, -1, -1):
            self.tail[i] = self.tail[i + 1] + (spans[i][1] - spans[i][0]).total_seconds()

    def hours(self, moment: dt.datetime) -> float:
        if self.working.always:
            return max(0.0, (self.end - moment).total_seconds()) / 3600
        i = bisect.bisect_right(self.ends, moment)
        if i >= len(self.starts):
            return 0.0
        inside = max(0.0, (moment - self.starts[i]).total_seconds())
        return (self.tail[i] - inside) / 3600


# -- reading -----------------------------------------------------------------------------------


def _voided():
    v = m.Event.alias()
    return v.select(v.voids).where(v.voids.is_null(False))


def _chunks(ids: list[int]):
    return (ids[i : i + _CHUNK] for i in range(0, len(ids), _CHUNK))


def priority_changes(since: dt.datetime, until: dt.datetime) -> list[PriorityChange]:
    """Every live priority change committed in [since, until), oldest first, any job."""
    e, o, j = m.Event, m.Operator, m.Job
    rows = list(
        e.select(e.id, e.job, j.number, j.initial_priority, j.is_open, e.qty, e.note, e.terminal, e.committed_at)
        .select_extend(o.badge, o.name)
        .join(j, on=(e.job == j.id))
        .switch(e)
        .join(o, on=(e.operator == o.id))
        .where((e.kind == "priority") & (e.committed_at >= since) & (e.committed_at < until) & e.uuid.not_in(_voided()))
        .order_by(e.id)
        .tuples()
    )
    if not rows:
        return []
    # "from" is the priority before each change: the job's planned one, then each live change in order.
    before: dict[int, int] = {}
    initial = {row[1]: row[3] for row in rows}
    previous: dict[int, int] = {}
    for chunk in _chunks(sorted(initial)):
        query = (
            e.select(e.id, e.job, e.qty)
            .where(e.job.in_(chunk) & (e.kind == "priority") & e.uuid.not_in(_voided()))
            .order_by(e.id)
            .tuples()
        )
        for event_id, job_id, qty in query:
            before[event_id] = previous.get(job_id, initial[job_id])
            previous[job_id] = qty
    return [
        PriorityChange(
            number, at, badge, name, terminal or "", before.get(eid, initial_p), qty, note or "", bool(is_open)
        )
        for eid, _job, number, initial_p, is_open, qty, note, terminal, at, badge, name in rows
    ]


def _lag_seconds():
    """Arrival minus terminal time in seconds, computed by the database."""
    e = m.Event
    if isinstance(m.database.obj, peewee.PostgresqlDatabase):
        return fn.date_part("epoch", e.committed_at - e.client_time)
    return (fn.julianday(e.committed_at) - fn.julianday(e.client_time)) * 86400.0


def late_entries(config: Config, since: dt.datetime, until: dt.datetime) -> list[LateTerminal]:
    """Per terminal, entries that arrived in [since, until) more than late_entry_minutes after their
    terminal time; terminals with none are left out. Most late entries first."""
    e = m.Event
    limit = config.thresholds.late_entry_minutes * 60
    lag = _lag_seconds()
    late = lag > limit
    rows = (
        e.select(
            e.terminal,
            fn.COUNT(e.id),
            fn.SUM(peewee.Case(None, [(late, 1)], 0)),
            fn.MAX(lag),
            fn.MAX(peewee.Case(None, [(late, e.committed_at)], None)),
        )
        .where((e.committed_at >= since) & (e.committed_at < until) & e.terminal.is_null(False))
        .group_by(e.terminal)
        .tuples()
    )
    out = []
    for terminal, count, late_count, worst, last in rows:
        if not late_count:
            continue
        last = e.committed_at.python_value(last)  # SQLite hands back the CASE's value as text
        out.append(LateTerminal(terminal, int(late_count), int(count), round(float(worst) / 60, 1), last))
    return sorted(out, key=lambda t: (-t.late, t.terminal))


def material_idle(config: Config, now: dt.datetime, jobs, states, working: WorkingTime) -> list[IdleItem]:
    """Open released or planned jobs, not on hold, holding issued material, with no movement for
    idle_after_issue_hours of working time since the later of their last issue and release."""
    cutoff = working.cutoff(now, config.thresholds.idle_after_issue_hours)
    candidates = {}
    for job in jobs:
        state = states[job.id]
        if state.on_hold or not any(line.net_issued > 0 for line in state.materials.values()):
            continue
        status = derive_status(state)
        if status in STATUSES_NOT_STARTED:
            candidates[job.id] = (job, state, status)
    if not candidates:
        return []
    e = m.Event
    last: dict[tuple[int, str], dt.datetime] = {}
    for chunk in _chunks(list(candidates)):
        query = (
            e.select(e.job, e.kind, fn.MAX(e.committed_at))
            .where(e.job.in_(chunk) & e.kind.in_(("material_issue", "release")) & e.uuid.not_in(_voided()))
            .group_by(e.job, e.kind)
            .tuples()
        )
        for job_id, kind, at in query:
            last[(job_id, kind)] = e.committed_at.python_value(at)
    found = []
    for job_id, (job, state, status) in candidates.items():
        issued = last.get((job_id, "material_issue"))
        times = [t for t in (issued, last.get((job_id, "release"))) if t is not None]
        if not times or max(times) > cutoff:
            continue
        items = tuple(
            f"{line.item} {line.net_issued} {line.unit}" for line in state.materials.values() if line.net_issued > 0
        )
        found.append((job.number, status, items, issued, max(times)))
    if not found:
        return []
    since = Since(working, min(f[4] for f in found), now)
    out = [IdleItem(*f, idle_hours=round(since.hours(f[4]), 1)) for f in found]
    return sorted(out, key=lambda i: (-i.idle_hours, i.number))


def not_updated(config: Config, now: dt.datetime, jobs, states, working: WorkingTime) -> list[StaleItem]:
    """Steps of open jobs (not on hold, no open delay at the step, not the dispatch step) with pending units where the
    newest live entry at the step and the arrival of its units are both more than stale_hours of
    working time ago. Longest first."""
    cutoff = working.cutoff(now, config.thresholds.stale_hours)
    candidates = {}
    for job in jobs:
        state = states[job.id]
        if state.on_hold:
            continue
        for s in state.steps:
            # Units at the dispatch step are finished goods waiting for a truck (ready_for_dispatch).
            if s.pending > 0 and not s.delay_reason and s.step_id is not None and s.kind != "dispatch":
                if s.waiting_since is None or s.waiting_since <= cutoff:
                    candidates[s.step_id] = (job.number, s)
    if not candidates:
        return []
    e = m.Event
    newest: dict[int, dt.datetime] = {}
    for chunk in _chunks(list(candidates)):
        query = (
            e.select(e.step, fn.MAX(e.committed_at))
            .where(e.step.in_(chunk) & (e.kind != "void") & e.uuid.not_in(_voided()))
            .group_by(e.step)
            .tuples()
        )
        for step_id, at in query:
            newest[step_id] = e.committed_at.python_value(at)
    found = []
    for step_id, (number, s) in candidates.items():
        entry = newest.get(step_id)
        times = [t for t in (entry, s.waiting_since) if t is not None]
        idle_since = max(times) if times else None
        if idle_since is None or idle_since > cutoff:
            continue
        state = "in work" if s.started else "waiting"
        found.append((number, s.stage, _stage_name(config, s.stage), s.pending, state, entry, idle_since))
    if not found:
        return []
    since = Since(working, min(f[6] for f in found), now)
    out = [StaleItem(*f, idle_hours=round(since.hours(f[6]), 1)) for f in found]
    order = {s.code: i for i, s in enumerate(config.stages)}
    return sorted(out, key=lambda i: (-i.idle_hours, i.number, order.get(i.stage, len(order))))


def _stage_name(config: Config, code: str) -> str:
    try:
        return config.stage(code).name
    except KeyError:
        return code


def read_lists(
    config: Config,
    now: dt.datetime,
    jobs,
    states,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
) -> dict:
    """The four lists as reports.Exceptions fields, read inside the caller's transaction.

    jobs/states: the open jobs and their balances (Reports._open_jobs). since/until bound the
    period of priority changes and late entries (default: the last 24 h up to now).
    """
    # Up to now, entries committed at "now" included (an injected clock may stand still).
    until = until if until is not None else now + dt.timedelta(seconds=1)
    since = since if since is not None else now - BOARD_WINDOW
    working = WorkingTime(config)
    return {
        "priority_changes": priority_changes(since, until),
        "material_idle": material_idle(config, now, jobs, states, working),
        "not_updated": not_updated(config, now, jobs, states, working),
        "late_entries": late_entries(config, since, until),
        "since": since,
        "until": until,
    }


# -- plain rows: the CLI's table / CSV / JSON (keys documented in docs/exceptions.md) ------------

COLUMNS = {
    "priority_changes": [
        "job",
        "at",
        "badge",
        "operator",
        "terminal",
        "from_priority",
        "to_priority",
        "note",
        "job_open",
    ],
    "material_idle": ["job", "status", "items", "last_issue_at", "idle_since", "idle_hours"],
    "not_updated": ["job", "stage", "stage_name", "pending", "state", "last_entry_at", "idle_since", "idle_hours"],
    "late_entries": ["terminal", "late_entries", "entries", "worst_lag_minutes", "late_entry_minutes", "last_late_at"],
}


def rows(kind: str, items: list, config: Config) -> list[list]:
    """The rows of one of SEED_KINDS under COLUMNS[kind]."""
    if kind == "priority_changes":
        return [
            [i.number, i.at, i.badge, i.operator, i.terminal, i.from_priority, i.to_priority, i.note, i.job_open]
            for i in items
        ]
    if kind == "material_idle":
        return [[i.number, i.status, list(i.items), i.last_issue_at, i.idle_since, i.idle_hours] for i in items]
    if kind == "not_updated":
        return [
            [i.number, i.stage, i.stage_name, i.pending, i.state, i.last_entry_at, i.idle_since, i.idle_hours]
            for i in items
        ]
    if kind == "late_entries":
        minutes = config.thresholds.late_entry_minutes
        return [[i.terminal, i.late, i.entries, i.worst_minutes, minutes, i.last_late_at] for i in items]
    raise KeyError(kind)


def summary_rows(kind: str, items: list, config: Config) -> list[list]:
    """Rows of one of SEED_KINDS as (list, job, stage, qty, detail), like the board's lists."""
    tz = config.tz

    def stamp(moment: dt.datetime | None) -> str:
        if moment is None:
            return "never"
        return moment.replace(tzinfo=UTC).astimezone(tz).strftime("%Y-%m-%d %H:%M")

    name = "priority_changed" if kind == "priority_changes" else kind
    out: list[list] = []
    for i in items:
        if kind == "priority_changes":
            who = f"{i.operator} ({i.badge})" if i.operator else i.badge
            out.append(
                [
                    name,
                    i.number,
                    "",
                    "",
                    f"priority {i.from_priority} → {i.to_priority} by {who} at {stamp(i.at)}: {i.note}",
                ]
            )
        elif kind == "material_idle":
            out.append(
                [
                    name,
                    i.number,
                    "",
                    "",
                    f"{i.status}, material issued ({', '.join(i.items)}), "
                    f"no movement for {format_duration(i.idle_hours * 3600)} of working time",
                ]
            )
        elif kind == "not_updated":
            out.append(
                [
                    name,
                    i.number,
                    i.stage,
                    i.pending,
                    f"{i.state}, nothing recorded for {format_duration(i.idle_hours * 3600)} of working time "
                    f"(last entry {stamp(i.last_entry_at)})",
                ]
            )
        elif kind == "late_entries":
            out.append(
                [
                    name,
                    "",
                    "",
                    i.late,
                    f"{i.terminal}: {i.late} of {i.entries} entries arrived over "
                    f"{config.thresholds.late_entry_minutes} min late (worst {format_duration(i.worst_minutes * 60)})",
                ]
            )
    return out
