"""Flow figures from the ledger: where and how long work waits, lead times, first-pass yield, material variance.

DESIGN.md §10; docs/flow.md defines every figure for people. Everything is computed here in
Python from the events themselves, so both backends give the same numbers. A job's live events
(voids and the entries they cancel left out) are replayed in ledger order (event id) through
`rules.apply`, the same rules that wrote them, each at its commit time. Wherever the rules move
pending quantity, this module moves units: first in, first out, so each unit's wait at a step
runs from its arrival to its departure.

Only jobs that can have held work in the period are read: jobs open now and jobs with an entry
at or after the period's start. Nothing here writes; each batch of jobs is read in one short
transaction.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict, deque
from dataclasses import dataclass, field, replace
from typing import Iterable

from floorterm import models as m
from floorterm import rules
from floorterm.clock import jsonable
from floorterm.config import Config
from floorterm.errors import DomainError
from floorterm.ledger import empty_states
from floorterm.rules import Fact, JobState, StepState

HOUR = 3600.0
CHUNK = 500  # jobs per read: keeps IN (...) lists well inside SQLite's parameter limit
COMPLETING = ("complete", "qc_pass", "dispatch", "receive")  # the units leave the step done
REJECTING = ("reject", "qc_fail")  # the units leave the step to wait for a rework or scrap decision
INSPECTING = ("qc_pass", "qc_fail")
EARLIEST = dt.datetime(1, 1, 1)
# The row that delays of a whole job (recorded without a step) count under, beside the stages.
JOB_ROW = "(job)"

# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StageFlow:
    """One stage over a period; hours are floats, None where there is nothing to divide by."""

    stage: str
    name: str
    units_in: int  # arrived in the period (released, done at the step before, or sent back to rework)
    units_out: int  # left in the period: completed, passed, failed, rejected or dispatched
    unit_hours: float  # the integral of pending quantity over the period
    mean_wait_hours: float | None  # unit_hours / units_out (Little's law)
    p50_wait_hours: float | None  # over the units that left in the period
    p90_wait_hours: float | None
    queue_hours: float | None  # mean arrival → start, over units that left and had a start entry
    work_hours: float | None  # mean start → departure, over the same units
    first_pass_yield: float | None  # QC stages: passed first time / inspected first time (0..1)
    delay_hours: float  # step-hours with an open delay


@dataclass(frozen=True)
class JobLead:
    """A job's lead time and how it ended against plan."""

    number: str
    product: str
    customer: str
    planned_end: dt.date | None
    actual_start: dt.datetime | None  # the first release
    actual_end: dt.datetime | None  # the last unit through the last work step; None until all are through
    lead_time_hours: float | None
    late_by_hours: float | None  # actual_end − end of the planned day (plant time); negative when early


@dataclass(frozen=True)
class StepTimes:
    """One step of one job over its whole life so far."""

    stage: str
    first_received_at: dt.datetime | None
    last_completed_at: dt.datetime | None
    unit_hours: float
    mean_wait_hours: float | None


@dataclass(frozen=True)
class JobFlow:
    lead: JobLead
    steps: tuple[StepTimes, ...]

    def to_json(self) -> dict:
        """The figures `jobs show --json` adds: job-level keys and, per stage, the step's keys."""
        lead = self.lead
        return jsonable(
            {
                "actual_start": lead.actual_start,
                "actual_end": lead.actual_end,
                "lead_time_hours": _round(lead.lead_time_hours),
                "late_by_hours": _round(lead.late_by_hours),
                "steps": {
                    s.stage: {
                        "first_received_at": s.first_received_at,
                        "last_completed_at": s.last_completed_at,
                        "unit_hours": _round(s.unit_hours),
                        "mean_wait_hours": _round(s.mean_wait_hours),
                    }
                    for s in self.steps
                },
            }
        )


@dataclass(frozen=True)
class DelayHours:
    reason: str
    label: str
    count: int  # delays open at some time in the period
    hours: float  # their time inside the period


@dataclass(frozen=True)
class FlowReport:
    since: dt.datetime
    until: dt.datetime
    as_of: dt.datetime
    stages: tuple[StageFlow, ...]  # configured stages in config order, then any others seen
    jobs: tuple[JobLead, ...]  # jobs whose last unit went through their last work step in the period
    delays: tuple[DelayHours, ...]  # by reason, most hours first (a Pareto)
    bucket_hours: int  # 1 for periods up to 8 days, else 24
    buckets: tuple[dt.datetime, ...]  # start of each throughput bucket
    throughput: dict[str, tuple[int, ...]]  # stage -> units completed (done, passed, dispatched) per bucket
    problems: tuple[str, ...]  # jobs whose history could not be replayed (db verify will say more)

    COLUMNS = (
        "stage",
        "units_in",
        "units_out",
        "unit_hours",
        "mean_wait_hours",
        "p50_wait_hours",
        "p90_wait_hours",
        "queue_hours",
        "work_hours",
        "first_pass_yield",
        "delay_hours",
    )

    def rows(self) -> list[dict]:
        """One plain dict per stage with COLUMNS (hours to 2 places, yield to 3)."""
        return [
            {c: _round(getattr(s, c), 3 if c == "first_pass_yield" else 2) for c in self.COLUMNS} for s in self.stages
        ]


@dataclass(frozen=True)
class QualityRow:
    """First-pass yield per QC stage (by 'stage') or per product over all QC stages (by 'product')."""

    by: str
    code: str
    name: str
    inspected: int  # units passed or failed in the period
    passed: int
    failed: int
    fail_entries: int
    inspected_first: int  # units inspected at this QC stage for the first time
    passed_first: int
    first_pass_yield: float | None


@dataclass(frozen=True)
class RepeatFailure:
    """A job that failed QC more than once (fail entries over its life), one of them in the period."""

    number: str
    product: str
    fail_entries: int
    failed_units: int
    last_failed_at: dt.datetime


@dataclass(frozen=True)
class QualityReport:
    since: dt.datetime
    until: dt.datetime
    stages: tuple[QualityRow, ...]
    products: tuple[QualityRow, ...]
    repeat_failures: tuple[RepeatFailure, ...]

    COLUMNS = (
        "by",
        "code",
        "name",
        "inspected",
        "passed",
        "failed",
        "fail_entries",
        "inspected_first",
        "passed_first",
        "first_pass_yield",
    )

    def rows(self) -> list[dict]:
        """Stage rows, product rows, then one 'repeat_failure' row per job (code = job, name = product)."""
        rows = [{c: _round(getattr(r, c), 3) for c in self.COLUMNS} for r in (*self.stages, *self.products)]
        for j in self.repeat_failures:
            rows.append(
                {
                    "by": "repeat_failure",
                    "code": j.number,
                    "name": j.product,
                    "inspected": None,
                    "passed": None,
                    "failed": j.failed_units,
                    "fail_entries": j.fail_entries,
                    "inspected_first": None,
                    "passed_first": None,
                    "first_pass_yield": None,
                }
            )
        return rows


@dataclass(frozen=True)
class VarianceLine:
    """One material line of a job: what was used against what it needed."""

    number: str
    product: str
    item: str
    unit: str
    required: int  # as planned on the bill of materials
    needed: int  # after substitutions moved part of it to another item
    issued: int
    returned: int
    scrapped: int  # scrapped after issue: part of what was used
    used: int  # issued − returned
    variance: int  # used − needed; positive = over-consumption
    variance_pct: float | None  # variance / needed × 100


@dataclass(frozen=True)
class ProductVariance:
    product: str
    item: str
    unit: str
    jobs: int
    needed: int
    used: int
    variance: int
    over_consumption_pct: float | None  # variance / needed × 100


@dataclass(frozen=True)
class VarianceReport:
    since: dt.datetime
    until: dt.datetime
    lines: tuple[VarianceLine, ...]  # jobs whose work ended in the period
    products: tuple[ProductVariance, ...]

    COLUMNS = (
        "by",
        "job",
        "product",
        "item",
        "unit",
        "needed",
        "issued",
        "returned",
        "used",
        "variance",
        "variance_pct",
    )

    def rows(self) -> list[dict]:
        """'product' rows per product and item (job = how many jobs), then 'job' rows per job and item."""
        rows = [
            {
                "by": "product",
                "job": p.jobs,
                "product": p.product,
                "item": p.item,
                "unit": p.unit,
                "needed": p.needed,
                "issued": None,
                "returned": None,
                "used": p.used,
                "variance": p.variance,
                "variance_pct": _round(p.over_consumption_pct, 1),
            }
            for p in self.products
        ]
        rows += [
            {
                "by": "job",
                "job": v.number,
                "product": v.product,
                "item": v.item,
                "unit": v.unit,
                "needed": v.needed,
                "issued": v.issued,
                "returned": v.returned,
                "used": v.used,
                "variance": v.variance,
                "variance_pct": _round(v.variance_pct, 1),
            }
            for v in self.lines
        ]
        return rows


# -- small helpers ------------------------------------------------------------------------------


def _round(value, places: int = 2):
    return round(value, places) if isinstance(value, float) else value


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / HOUR


def _ratio(part: float, whole: float) -> float | None:
    return part / whole if whole else None


def _mean(values: list[tuple[float, int]]) -> float | None:
    """Mean seconds over (seconds, units) pairs, each unit counted once."""
    units = sum(q for _, q in values)
    return sum(s * q for s, q in values) / units if units else None


def percentile(values: list[tuple[float, int]], p: float) -> float | None:
    """The wait that a share `p` of the units did not exceed: nearest rank over units, from (seconds, units) pairs."""
    units = sum(q for _, q in values)
    if not units:
        return None
    rank = max(1, math.ceil(p * units))
    seen = 0
    for seconds, qty in sorted(values):
        seen += qty
        if seen >= rank:
            return seconds
    return None


def planned_deadline(planned_end: dt.date | None, tz) -> dt.datetime | None:
    """A planned end date as an instant: the end of that day in plant time, as naive UTC."""
    if planned_end is None:
        return None
    midnight = dt.datetime.combine(planned_end + dt.timedelta(days=1), dt.time()).replace(tzinfo=tz)
    return midnight.astimezone(dt.timezone.utc).replace(tzinfo=None)


@dataclass(frozen=True)
class _Window:
    """The period [since, until); time is counted up to `end`, the earlier of until and now."""

    since: dt.datetime
    until: dt.datetime
    end: dt.datetime

    def seconds(self, start: dt.datetime, end: dt.datetime) -> float:
        """Seconds of [start, end) inside the period, up to now."""
        return max(0.0, (min(end, self.end) - max(start, self.since)).total_seconds())

    def holds(self, moment: dt.datetime) -> bool:
        return self.since <= moment < self.until


@dataclass
class _Batch:
    """Units of one job that arrived at a step together and share their history."""

    qty: int
    arrived: dt.datetime
    started: dt.datetime | None = None  # when work on them began (a start entry)
    inspected: frozenset = frozenset()  # QC stages that inspected these units before


def _take(queue: deque, qty: int) -> list[_Batch]:
    """The first `qty` units of a queue, splitting a batch where needed."""
    out = []
    while qty > 0 and queue:
        head = queue[0]
        if head.qty <= qty:
            out.append(queue.popleft())
            qty -= head.qty
        else:
            out.append(replace(head, qty=qty))
            head.qty -= qty
            qty = 0
    return out


@dataclass
class _Inspections:
    inspected: int = 0
    passed: int = 0
    failed: int = 0
    fail_entries: int = 0
    inspected_first: int = 0
    passed_first: int = 0

    def add(self, other: "_Inspections") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def row(self, by: str, code: str, name: str) -> QualityRow:
        return QualityRow(
            by,
            code,
            name,
            self.inspected,
            self.passed,
            self.failed,
            self.fail_entries,
            self.inspected_first,
            self.passed_first,
            _ratio(self.passed_first, self.inspected_first),
        )


@dataclass
class _Tally:
    """What happened at one stage (all jobs of a report) or at one job's step, inside the window."""

    units_in: int = 0
    units_out: int = 0
    unit_seconds: float = 0.0
    waits: list = field(default_factory=list)  # (seconds, units) arrival → departure
    queues: list = field(default_factory=list)  # (seconds, units) arrival → start
    works: list = field(default_factory=list)  # (seconds, units) start → departure
    qc: _Inspections = field(default_factory=_Inspections)
    delay_seconds: float = 0.0
    done_by_bucket: dict = field(default_factory=lambda: defaultdict(int))
    first_received_at: dt.datetime | None = None
    last_completed_at: dt.datetime | None = None


# -- replaying one job --------------------------------------------------------------------------


class _JobReplay:
    """One job's events through the rules, its units followed from step to step."""

    def __init__(
        self,
        state: JobState,
        window: _Window,
        tallies: dict[str, _Tally],
        delays: dict[str, list],
        bucket_seconds: float,
    ):
        self.state = state
        self.window = window
        self.tallies = tallies
        self.delays = delays  # reason -> [count, seconds]
        self.bucket_seconds = bucket_seconds
        self.queues = {s.stage: deque() for s in state.steps}
        self.awaiting = {s.stage: deque() for s in state.steps}
        work = [s for s in state.steps if s.kind != "dispatch"]
        self.last_work = work[-1].stage if work else None
        self.qc = _Inspections()  # this job's inspections in the window
        self.fail_entries = 0  # over the job's life up to the window's end
        self.last_failed_at: dt.datetime | None = None
        self.actual_start: dt.datetime | None = None
        self.last_through: dt.datetime | None = None
        self.at: dt.datetime | None = None

    def apply(self, fact: Fact) -> None:
        """Replay one event; DomainError if the rules refuse it (the store needs `db verify`)."""
        if self.at is not None and fact.at < self.at:
            # Two writers' clocks may differ a little: within a job, time never runs backwards.
            fact = replace(fact, at=self.at)
        t = self.at = fact.at
        steps = self.state.steps
        # Entries without a quantity (the rules refuse one below 1) and material entries move no
        # units at any step: skip the look.
        moves = fact.qty and fact.kind not in rules.MATERIAL_KINDS
        before = [(s.pending, s.awaiting) for s in steps] if moves else None
        delay = None
        if fact.kind == "resume":
            holder = self.state.step(fact.stage) if fact.stage else self.state
            delay = (holder.delay_reason, holder.delay_since)
        rules.apply(self.state, fact, history=True)
        if before is not None:
            self._moved(fact, before, t)
        if delay is not None:
            self._delay(fact.stage or JOB_ROW, *delay, t)
        if fact.kind == "start":
            for batch in self.queues[fact.stage]:
                if batch.started is None:
                    batch.started = t
        elif fact.kind == "release" and self.actual_start is None:
            self.actual_start = t
        elif fact.kind == "qc_fail":
            self.fail_entries += 1
            self.last_failed_at = t
            if self.window.holds(t):
                self.qc.fail_entries += 1
                self.tallies[fact.stage].qc.fail_entries += 1

    def _moved(self, fact: Fact, before: list[tuple[int, int]], t: dt.datetime) -> None:
        """Move units wherever the rules moved quantity: departures first, then their arrival."""
        moving: list[_Batch] = []
        gains = []
        for s, (pending, awaiting) in zip(self.state.steps, before):
            now_pending, now_awaiting = s.pending, s.awaiting
            if now_pending < pending:
                left = self._depart(s, pending - now_pending, fact.kind, t)
                (self.awaiting[s.stage] if fact.kind in REJECTING else moving).extend(left)
            elif now_pending > pending:
                gains.append((s, now_pending - pending))
            if now_awaiting < awaiting:
                taken = _take(self.awaiting[s.stage], awaiting - now_awaiting)
                if fact.kind == "rework":
                    moving.extend(taken)
        for s, gain in gains:  # units done at the step before, sent back to rework, or released
            self._arrive(s, _take(deque(moving), gain) if moving else [_Batch(gain, t)], t)

    def _arrive(self, s: StepState, batches: list[_Batch], t: dt.datetime) -> None:
        tally = self.tallies[s.stage]
        for b in batches:
            # Units reaching a step already in work count as started on arrival.
            self.queues[s.stage].append(_Batch(b.qty, t, t if s.started else None, b.inspected))
            if self.window.holds(t):
                tally.units_in += b.qty
                if tally.first_received_at is None:
                    tally.first_received_at = t

    def _depart(self, s: StepState, qty: int, kind: str, t: dt.datetime) -> list[_Batch]:
        """Take `qty` units off the step's queue, timing each; returns them, their history kept."""
        tally = self.tallies[s.stage]
        inside = self.window.holds(t)
        out = []
        for b in _take(self.queues[s.stage], qty):
            tally.unit_seconds += b.qty * self.window.seconds(b.arrived, t)
            if inside:
                tally.units_out += b.qty
                tally.waits.append(((t - b.arrived).total_seconds(), b.qty))
                if b.started is not None:
                    tally.queues.append(((b.started - b.arrived).total_seconds(), b.qty))
                    tally.works.append(((t - b.started).total_seconds(), b.qty))
                if kind in INSPECTING:
                    self._inspected(s.stage, b, kind == "qc_pass")
            inspected = b.inspected | {s.stage} if kind in INSPECTING else b.inspected
            out.append(_Batch(b.qty, b.arrived, None, inspected))
        if kind in COMPLETING:
            if inside:
                tally.last_completed_at = t
                tally.done_by_bucket[int((t - self.window.since).total_seconds() // self.bucket_seconds)] += qty
            if s.stage == self.last_work:
                self.last_through = t
        return out

    def _inspected(self, stage: str, batch: _Batch, passed: bool) -> None:
        first = stage not in batch.inspected
        for qc in (self.tallies[stage].qc, self.qc):
            qc.inspected += batch.qty
            qc.passed += batch.qty if passed else 0
            qc.failed += 0 if passed else batch.qty
            qc.inspected_first += batch.qty if first else 0
            qc.passed_first += batch.qty if first and passed else 0

    def _delay(self, stage: str, reason: str | None, start: dt.datetime, end: dt.datetime) -> None:
        seconds = self.window.seconds(start, end)
        self.tallies[stage].delay_seconds += seconds
        if seconds > 0 or self.window.holds(start):
            total = self.delays.setdefault(reason or "", [0, 0.0])
            total[0] += 1
            total[1] += seconds

    def close(self) -> None:
        """Count what still waits and what is still delayed up to the window's end."""
        end = self.window.end
        for s in self.state.steps:
            tally = self.tallies[s.stage]
            for b in self.queues[s.stage]:
                tally.unit_seconds += b.qty * self.window.seconds(b.arrived, end)
            if s.delay_since is not None:
                self._delay(s.stage, s.delay_reason, s.delay_since, end)
        if self.state.delay_since is not None:
            self._delay(JOB_ROW, self.state.delay_reason, self.state.delay_since, end)

    @property
    def actual_end(self) -> dt.datetime | None:
        """When the last unit went through the last work step, once nothing of the job is still before it."""
        state = self.state
        if state.released < state.qty:
            return None
        if any(s.pending or s.awaiting for s in state.steps if s.kind != "dispatch"):
            return None
        return self.last_through

    def lead(self, job, tz) -> JobLead:
        start, end = self.actual_start, self.actual_end
        deadline = planned_deadline(job.planned_end, tz)
        lead = (end - start).total_seconds() / HOUR if start and end else None
        late = (end - deadline).total_seconds() / HOUR if end and deadline else None
        return JobLead(job.number, job.product, job.customer, job.planned_end, start, end, lead, late)


# -- reading and replaying many jobs ------------------------------------------------------------


_JOB_COLUMNS = (
    "id",
    "number",
    "product",
    "customer",
    "qty",
    "planned_end",
    "initial_priority",
    "released",
    "dispatched",
    "priority",
    "priority_changed",
    "on_hold",
    "last_event_id",
)


@dataclass
class _Study:
    """Every job replayed for one period, with the tallies they left."""

    window: _Window
    bucket_seconds: float
    tallies: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    delays: dict[str, list] = field(default_factory=dict)
    jobs: list = field(default_factory=list)  # (job row, _JobReplay)
    problems: list = field(default_factory=list)


def _moment(value) -> dt.datetime:
    """A commit time as read: PostgreSQL gives a datetime, SQLite the ISO text peewee stored."""
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


def _candidates(since: dt.datetime) -> list[int]:
    """Jobs that may have held work at or after `since`: open and released, or with an entry since then.

    A job closed now that held work in the period has an entry after the period began (the one
    that closed it), so these two index reads find every job the period needs.
    """
    j, e = m.Job, m.Event
    with m.database.atomic():
        ids = {i for (i,) in j.select(j.id).where(j.is_open & (j.released > 0)).tuples()}
        # No DISTINCT: with it SQLite walks the whole job_id index instead of the committed_at range.
        ids.update(i for (i,) in e.select(e.job).where(e.committed_at >= since).tuples())
    return sorted(ids)


def _replay_jobs(study: _Study, job_ids: list[int], until: dt.datetime, make=None) -> None:
    """Replay the jobs' live events before `until`, CHUNK jobs per short read."""
    j, e = m.Job, m.Event
    # Voids are few and `voids` is indexed: read them once rather than ask the planner for NOT IN.
    voided = {u for (u,) in e.select(e.voids).where(e.voids.is_null(False)).tuples()}
    for chunk in (job_ids[i : i + CHUNK] for i in range(0, len(job_ids), CHUNK)):
        with m.database.atomic():
            jobs = list(j.select(*(getattr(j, c) for c in _JOB_COLUMNS)).where(j.id.in_(chunk)).namedtuples())
            states = empty_states(jobs)
            query = (
                e.select(e.job, e.uuid, e.kind, e.step, e.to_step, e.qty, e.reason, e.item, e.item2, e.committed_at)
                .where(e.job.in_(chunk) & (e.committed_at < until) & e.kind.not_in(("void", *rules.PLANNING_KINDS)))
                .order_by(e.job, e.id)
            )
            # The driver's rows as they come: peewee's per-column conversion would cost more than the replay.
            events = m.database.execute_sql(*query.sql()).fetchall()
        by_job = defaultdict(list)
        for row in events:
            if row[1] not in voided:
                by_job[row[0]].append(row)
        for job in jobs:
            if by_job[job.id]:
                _replay_job(study, job, states[job.id], by_job[job.id], make)


def _replay_job(study: _Study, job, state: JobState, events: list[tuple], make=None) -> None:
    stages = {s.step_id: s.stage for s in state.steps}
    replay = (make or _JobReplay)(state, study.window, study.tallies, study.delays, study.bucket_seconds)
    try:
        for _, _, kind, step, to_step, qty, reason, item, item2, at in events:
            replay.apply(
                Fact(
                    kind=kind,
                    at=_moment(at),
                    stage=stages.get(step),
                    to_stage=stages.get(to_step),
                    qty=qty,
                    reason=reason,
                    item=item,
                    item2=item2,
                )
            )
    except DomainError as exc:
        # The stored history does not hold (db verify says where): leave the job out rather than guess.
        study.problems.append(f"Job {job.number}: its entries cannot be replayed ({exc})")
        return
    replay.close()
    study.jobs.append((job, replay))


def _study(since: dt.datetime, until: dt.datetime, now: dt.datetime, job_ids: Iterable[int] | None = None) -> _Study:
    window = _Window(since, until, min(until, now))
    bucket = 1 if until - since <= dt.timedelta(days=8) else 24
    study = _Study(window, bucket * HOUR)
    ids = _candidates(since) if job_ids is None else list(job_ids)
    _replay_jobs(study, ids, until)
    return study


def _stage_order(config: Config, seen: Iterable[str]) -> list[str]:
    codes = [s.code for s in config.stages]
    return codes + sorted(set(seen) - set(codes))


def _stage_name(config: Config, code: str) -> str:
    try:
        return config.stage(code).name
    except KeyError:
        return code  # a stage taken out of the configuration since


def _label(config: Config, code: str) -> str:
    try:
        return config.reason_label("delay", code)
    except KeyError:
        return code


# -- the reports --------------------------------------------------------------------------------


def flow_report(config: Config, since: dt.datetime, until: dt.datetime, now: dt.datetime) -> FlowReport:
    """Flow per stage over [since, until) (naive UTC), jobs ended in it, delays by reason, throughput."""
    study = _study(since, until, now)
    qc_codes = {s.code for s in config.stages if s.kind == "qc"}
    stages = []
    for code in _stage_order(config, study.tallies):
        t = study.tallies[code]
        stages.append(
            StageFlow(
                stage=code,
                name=_stage_name(config, code),
                units_in=t.units_in,
                units_out=t.units_out,
                unit_hours=t.unit_seconds / HOUR,
                mean_wait_hours=_ratio(t.unit_seconds / HOUR, t.units_out),
                p50_wait_hours=_hours(percentile(t.waits, 0.5)),
                p90_wait_hours=_hours(percentile(t.waits, 0.9)),
                queue_hours=_hours(_mean(t.queues)),
                work_hours=_hours(_mean(t.works)),
                first_pass_yield=_ratio(t.qc.passed_first, t.qc.inspected_first) if code in qc_codes else None,
                delay_hours=t.delay_seconds / HOUR,
            )
        )
    jobs = [replay.lead(job, config.tz) for job, replay in study.jobs]
    ended = sorted(
        (j for j in jobs if j.actual_end and study.window.holds(j.actual_end)), key=lambda j: (j.actual_end, j.number)
    )
    delays = sorted(
        (
            DelayHours(code, _label(config, code), count, seconds / HOUR)
            for code, (count, seconds) in study.delays.items()
        ),
        key=lambda d: (-d.hours, -d.count, d.reason),
    )
    n = max(1, math.ceil((until - since).total_seconds() / study.bucket_seconds))
    buckets = tuple(since + dt.timedelta(seconds=i * study.bucket_seconds) for i in range(n))
    throughput = {s.stage: tuple(study.tallies[s.stage].done_by_bucket.get(i, 0) for i in range(n)) for s in stages}
    return FlowReport(
        since,
        until,
        now,
        tuple(stages),
        tuple(ended),
        tuple(delays),
        int(study.bucket_seconds // HOUR),
        buckets,
        throughput,
        tuple(study.problems),
    )


def quality_report(config: Config, since: dt.datetime, until: dt.datetime, now: dt.datetime) -> QualityReport:
    """First-pass yield per QC stage and per product over [since, until), and jobs failing QC more than once."""
    study = _study(since, until, now)
    qc_codes = [s.code for s in config.stages if s.kind == "qc"]
    stages = tuple(study.tallies[code].qc.row("stage", code, _stage_name(config, code)) for code in qc_codes)
    products: dict[str, _Inspections] = defaultdict(_Inspections)
    repeats = []
    for job, replay in study.jobs:
        if replay.qc.inspected or replay.qc.fail_entries:
            products[job.product].add(replay.qc)
        if replay.fail_entries > 1 and replay.qc.fail_entries:
            failed = sum(s.rejected for s in replay.state.steps if s.kind == "qc")
            repeats.append(RepeatFailure(job.number, job.product, replay.fail_entries, failed, replay.last_failed_at))
    product_rows = tuple(products[p].row("product", p, p) for p in sorted(products))
    repeats.sort(key=lambda r: (-r.fail_entries, r.number))
    return QualityReport(since, until, stages, product_rows, tuple(repeats))


def variance_report(config: Config, since: dt.datetime, until: dt.datetime, now: dt.datetime) -> VarianceReport:
    """Material used against needed for jobs whose work ended in [since, until), per job and item and per product."""
    study = _study(since, until, now)
    lines = []
    for job, replay in study.jobs:
        end = replay.actual_end
        if end is None or not study.window.holds(end):
            continue
        for line in replay.state.materials.values():
            used = line.issued - line.returned
            lines.append(
                VarianceLine(
                    job.number,
                    job.product,
                    line.item,
                    line.unit,
                    line.required,
                    line.needed,
                    line.issued,
                    line.returned,
                    line.scrapped,
                    used,
                    used - line.needed,
                    _pct(used - line.needed, line.needed),
                )
            )
    lines.sort(key=lambda v: (v.number, v.item))
    totals: dict[tuple, list] = {}
    for v in lines:
        total = totals.setdefault((v.product, v.item, v.unit), [set(), 0, 0])
        total[0].add(v.number)
        total[1] += v.needed
        total[2] += v.used
    products = tuple(
        ProductVariance(product, item, unit, len(numbers), needed, used, used - needed, _pct(used - needed, needed))
        for (product, item, unit), (numbers, needed, used) in sorted(totals.items())
    )
    return VarianceReport(since, until, tuple(lines), products)


def _pct(part: int, whole: int) -> float | None:
    return part * 100.0 / whole if whole else None


def job_flow(job, config: Config, now: dt.datetime) -> JobFlow:
    """One job's figures over its whole life so far (for `jobs show --json`). `job` is a Job row."""
    study = _study(EARLIEST, dt.datetime.max, now, job_ids=[job.id])
    found = next((replay for row, replay in study.jobs if row.id == job.id), None)
    if found is None:  # nothing recorded yet (or a history that does not replay)
        lead = JobLead(job.number, job.product, job.customer, job.planned_end, None, None, None, None)
        stages = m.JobStep.select(m.JobStep.stage).where(m.JobStep.job == job.id).order_by(m.JobStep.seq).tuples()
        return JobFlow(lead, tuple(StepTimes(stage, None, None, 0.0, None) for (stage,) in stages))
    steps = []
    for s in found.state.steps:
        t = study.tallies[s.stage]
        steps.append(
            StepTimes(
                s.stage,
                t.first_received_at,
                t.last_completed_at,
                t.unit_seconds / HOUR,
                _ratio(t.unit_seconds / HOUR, t.units_out),
            )
        )
    return JobFlow(found.lead(job, config.tz), tuple(steps))


FLOW_REPORTS = ("flow", "variance", "quality")  # `floorterm report NAME`, beside reports.REPORTS


# -- trends for the board: units done and units waiting per hour ---------------------------------


@dataclass(frozen=True)
class StageTrend:
    """One stage hour by hour over [since, until): what it finished and what waited there."""

    stage: str
    name: str
    done: tuple[int, ...]  # units completed (done, passed, dispatched) in each hour
    waiting: tuple[int, ...]  # units pending at the end of each hour (the hour not over yet: now)


@dataclass(frozen=True)
class Trends:
    since: dt.datetime
    until: dt.datetime
    as_of: dt.datetime
    buckets: tuple[dt.datetime, ...]  # start of each hour
    stages: tuple[StageTrend, ...]  # configured stages in config order, then any others seen


class _PendingLog(_JobReplay):
    """A job replay that also notes every change of the pending units at each step."""

    def __init__(self, *args, log: dict):
        super().__init__(*args)
        self.log = log  # stage -> [(time, +units arrived / -units left)], shared by the jobs of one study

    def _arrive(self, s: StepState, batches: list[_Batch], t: dt.datetime) -> None:
        self.log[s.stage].append((t, sum(b.qty for b in batches)))
        super()._arrive(s, batches, t)

    def _depart(self, s: StepState, qty: int, kind: str, t: dt.datetime) -> list[_Batch]:
        out = super()._depart(s, qty, kind, t)
        self.log[s.stage].append((t, -sum(b.qty for b in out)))
        return out


def stage_trends(config: Config, since: dt.datetime, until: dt.datetime, now: dt.datetime) -> Trends:
    """Per stage and hour of [since, until) (naive UTC): units completed, and units waiting at the
    hour's end. Same replay as flow_report, so both backends agree; a board draws them as sparklines."""
    window = _Window(since, until, min(until, now))
    study = _Study(window, HOUR)
    log: dict[str, list] = defaultdict(list)
    _replay_jobs(study, _candidates(since), until, lambda *args: _PendingLog(*args, log=log))
    n = max(1, math.ceil((until - since).total_seconds() / HOUR))
    buckets = tuple(since + dt.timedelta(hours=i) for i in range(n))
    ends = [min(b + dt.timedelta(hours=1), window.end) for b in buckets]
    stages = []
    for code in _stage_order(config, set(study.tallies) | set(log)):
        changes = sorted(log.get(code, ()), key=lambda c: c[0])
        waiting, total, i = [], 0, 0
        for end in ends:
            # Waiting at the hour's end: every change before the next hour (the last: up to now).
            while i < len(changes) and (changes[i][0] < end or (end == window.end and changes[i][0] <= end)):
                total += changes[i][1]
                i += 1
            waiting.append(total)
        done = study.tallies[code].done_by_bucket if code in study.tallies else {}
        stages.append(
            StageTrend(code, _stage_name(config, code), tuple(done.get(k, 0) for k in range(n)), tuple(waiting))
        )
    return Trends(since, until, now, buckets, tuple(stages))
