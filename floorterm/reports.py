"""Read models for the WIP board and `floorterm report ...`: WIP, bottlenecks, exceptions, ageing,
delays and rejections.

Nothing here writes. Each method reads with a few set-based queries (never one per job) inside
one short read transaction, so the board can paint 2,000 open jobs x 10 stages quickly. "Now"
always comes from the injected clock. Voided events never count: current balances already
exclude them, and every event query skips events some void names.

Words used throughout:
- quantity *at* a stage is its pending quantity; a step "has work waiting" while pending > 0,
  whether or not someone has started it (DESIGN.md §3: waiting time counts from the moment
  pending last rose above zero). The cell state still tells waiting, in work and delayed apart.
- completed at a stage = complete and QC-pass quantities at that step, and dispatched quantity
  at the job's dispatch step.
- age buckets come from config thresholds.ageing_hours, e.g. (4, 24, 72) gives
  "< 4 h", "4–24 h", "24–72 h", "> 72 h" with indexes 0..3; a stage listed in
  thresholds.ageing_hours_by_stage uses its own hours (same number of buckets).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Iterable

from floorterm import exceptions as seed_lists
from floorterm import flow as flows
from floorterm import models as m
from floorterm._peewee import peewee
from floorterm.clock import format_duration, plant_today, to_plant, utcnow
from floorterm.config import Config
from floorterm.errors import InputError
from floorterm.ledger import load_states
from floorterm.queries import derive_flags, derive_status, outside_text, step_state
from floorterm.rules import JobState, StepState, rework_line

fn = peewee.fn

EXCEPTION_VIEWS = (
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
)
# `report exceptions --kind`: the board's lists and those of floorterm.exceptions (docs/exceptions.md).
EXCEPTION_KINDS = (*EXCEPTION_VIEWS, "material_idle", "not_updated", "late_entries")
REPORTS = ("wip", "stages", "exceptions", "delays", "rejections", "ageing", "bottlenecks", "outside")
PERIODS = ("today", "yesterday", "shift", "week")
COMPLETING_KINDS = ("complete", "qc_pass", "receive")
REJECTING_KINDS = ("reject", "qc_fail")
# How a delay of the whole job (recorded without a step) is named where a stage would be.
JOB_ROW = flows.JOB_ROW


def stages_owned_by(config: Config, owner: str) -> set[str]:
    """The stage codes whose owner (department, any case) or supervisor badge is `owner`.

    InputError naming the owners the config has when none matches (item 6 of issue 10).
    """
    wanted = owner.strip().casefold()
    stages = {s.code for s in config.stages if wanted and wanted in (s.owner.casefold(), s.supervisor.casefold())}
    if not stages:
        known = sorted(
            {s.owner for s in config.stages if s.owner} | {s.supervisor for s in config.stages if s.supervisor}
        )
        listed = ", ".join(known) if known else "none: the config's [[stages]] name no owner or supervisor"
        raise InputError(f"No stage is owned by {owner!r}; the owners and supervisors: {listed}")
    return stages


def material_delay(code: str, label: str) -> bool:
    """A delay reason that means a material shortage: the shipped MAT, or any reason labelled 'Material …'."""
    return code == "MAT" or label.lower().startswith("material")


# -- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutsideItem:
    """One batch of a job at a supplier (an outside step): sent, not yet received back."""

    number: str
    customer: str
    product: str
    priority: int
    planned_end: dt.date | None
    stage: str
    stage_name: str
    supplier: str
    supplier_name: str
    qty: int
    sent_at: dt.datetime  # naive UTC
    seconds: float
    reference: str | None


@dataclass(frozen=True)
class WipCell:
    """One job at one stage. state '' means the stage is not on the job's routing."""

    pending: int = 0
    awaiting: int = 0  # rejected here, waiting for a rework or scrap decision
    state: str = ""  # 'waiting' | 'in work' | 'delayed' | 'idle' | 'done' | ''
    waiting_seconds: float | None = None  # while pending > 0
    age_bucket: int | None = None  # index into Reports.age_labels, while pending > 0
    delay_reason: str | None = None  # the open delay's label, as people read it
    delay_code: str | None = None
    delay_seconds: float | None = None
    # An outside step: units at a supplier (part of `pending`) and where, as every screen says it
    # ("12 at supplier Zinko … since 08:00 (5 h)", docs/outside.md); state 'at supplier' when all are out.
    out: int = 0
    outside: str | None = None


OFF_ROUTE = WipCell()


@dataclass(frozen=True)
class WipRow:
    number: str
    customer: str
    product: str
    qty: int
    priority: int
    planned_end: dt.date | None
    status: str
    flags: tuple[str, ...]
    cells: dict[str, WipCell]  # every configured stage, in config order
    released: int
    dispatched: int
    ready_for_dispatch: int
    current_stage: str | None
    last_event_id: int
    job_delay: str | None = None  # the label of an open delay of the whole job (no step)
    job_delay_seconds: float | None = None
    rework: str | None = None  # e.g. "rework: 3 sent back → 2 passed, 1 at Painting"


@dataclass(frozen=True)
class StageSummary:
    stage: str
    name: str
    pending: int
    jobs_waiting: int  # steps with pending > 0 (in work and delayed included)
    jobs_in_work: int
    jobs_delayed: int
    awaiting: int
    oldest_seconds: float | None
    average_seconds: float | None
    completed_this_shift: int


@dataclass(frozen=True)
class WipBoard:
    stages: tuple[str, ...]
    rows: list[WipRow]
    summary: dict[str, StageSummary]
    shift: str
    shift_start: dt.datetime  # naive UTC
    as_of: dt.datetime


@dataclass(frozen=True)
class Bottleneck:
    stage: str
    name: str
    pending: int
    jobs_waiting: int
    oldest_seconds: float | None
    completed: int  # in the window
    throughput_per_hour: float
    expected_wait_hours: float | None  # pending ÷ throughput; None without throughput
    headline: str


@dataclass(frozen=True)
class DelayedItem:
    """An open delay. A delay of the whole job (recorded without a step) has stage '' and stage_name JOB_ROW."""

    number: str
    stage: str
    stage_name: str
    reason: str
    label: str
    since: dt.datetime
    seconds: float


@dataclass(frozen=True)
class LateItem:
    number: str
    planned_end: dt.date
    days_late: int
    status: str


@dataclass(frozen=True)
class DueSoonItem:
    number: str
    planned_end: dt.date
    hours_left: float
    status: str


@dataclass(frozen=True)
class AgeingItem:
    number: str
    stage: str
    stage_name: str
    pending: int
    seconds: float
    bucket: int
    label: str


@dataclass(frozen=True)
class QcItem:
    number: str
    stage: str
    stage_name: str
    pending: int
    seconds: float | None


@dataclass(frozen=True)
class ReworkItem:
    """what: 'decision' (rejected, awaiting rework or scrap) or 'rework' (sent back here, not yet redone)."""

    number: str
    stage: str
    stage_name: str
    qty: int
    what: str


@dataclass(frozen=True)
class ReadyItem:
    number: str
    customer: str
    qty: int
    planned_end: dt.date | None


@dataclass(frozen=True)
class ShortLine:
    item: str
    short: int
    unit: str


@dataclass(frozen=True)
class ShortItem:
    """A job blocked by a material shortage: short lines of its bill of materials, and/or an open
    material-shortage delay (MATERIAL_DELAY below), at a step or of the whole job.

    `units` is what the shortage holds up: the job's units not yet built (ready for dispatch and
    dispatched ones never count), so a job with nothing left to build is never listed."""

    number: str
    lines: tuple[ShortLine, ...]
    units: int = 0
    delay_label: str | None = None  # the open material-shortage delay's label, if any
    delay_stage_name: str | None = None  # where: a step's name, or JOB_ROW for the whole job
    delay_seconds: float | None = None


@dataclass(frozen=True)
class PriorityItem:
    number: str
    initial_priority: int
    priority: int


@dataclass(frozen=True)
class HoldItem:
    number: str
    since: dt.datetime | None
    note: str


@dataclass(frozen=True)
class RefusedItem:
    """An entry a terminal queued offline that the ledger refused on replay (floorterm outbox retry / discard)."""

    number: str  # the job number as queued ('' if none)
    terminal: str
    words: str
    reason: str
    badge: str
    client_time: dt.datetime
    refused_at: dt.datetime
    uuid: str


@dataclass(frozen=True)
class Exceptions:
    delayed: list[DelayedItem] = field(default_factory=list)
    late: list[LateItem] = field(default_factory=list)
    due_soon: list[DueSoonItem] = field(default_factory=list)
    ageing: list[AgeingItem] = field(default_factory=list)
    pending_qc: list[QcItem] = field(default_factory=list)
    pending_rework: list[ReworkItem] = field(default_factory=list)
    ready_for_dispatch: list[ReadyItem] = field(default_factory=list)
    material_short: list[ShortItem] = field(default_factory=list)
    priority_changed: list[PriorityItem] = field(default_factory=list)
    on_hold: list[HoldItem] = field(default_factory=list)
    replay_refused: list[RefusedItem] = field(default_factory=list)
    as_of: dt.datetime | None = None
    # floorterm.exceptions (docs/exceptions.md), not in EXCEPTION_VIEWS: the board shows them once
    # it knows them. priority_changes and late_entries cover [since, until) (default the last 24 h).
    priority_changes: list[seed_lists.PriorityChange] = field(default_factory=list)
    material_idle: list[seed_lists.IdleItem] = field(default_factory=list)
    not_updated: list[seed_lists.StaleItem] = field(default_factory=list)
    late_entries: list[seed_lists.LateTerminal] = field(default_factory=list)
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in EXCEPTION_VIEWS}


@dataclass(frozen=True)
class AgeCount:
    jobs: int = 0
    qty: int = 0


@dataclass(frozen=True)
class AgeingBucket:
    index: int
    label: str
    by_stage: dict[str, AgeCount]  # every configured stage
    jobs: int
    qty: int


@dataclass(frozen=True)
class Ageing:
    stages: tuple[str, ...]
    buckets: tuple[AgeingBucket, ...]
    as_of: dt.datetime


@dataclass(frozen=True)
class DelayTotal:
    reason: str
    label: str
    count: int
    seconds: float


@dataclass(frozen=True)
class RejectReason:
    code: str
    label: str
    qty: int
    count: int


@dataclass(frozen=True)
class RejectStage:
    stage: str
    name: str
    qty: int
    count: int


@dataclass(frozen=True)
class Rejections:
    since: dt.datetime
    until: dt.datetime
    by_reason: list[RejectReason]
    by_stage: list[RejectStage]
    qty: int


@dataclass(frozen=True)
class Board:
    """Everything the board paints, from one read."""

    wip: WipBoard
    exceptions: Exceptions
    bottlenecks: list[Bottleneck]


# -- helpers ------------------------------------------------------------------------------------


def age_labels(hours: tuple[int, ...]) -> tuple[str, ...]:
    """Bucket labels for thresholds, e.g. (4, 24, 72) -> '< 4 h', '4–24 h', '24–72 h', '> 72 h'."""
    return (f"< {hours[0]} h", *(f"{a}–{b} h" for a, b in zip(hours, hours[1:])), f"> {hours[-1]} h")


def age_bucket(seconds: float, hours: tuple[int, ...]) -> int:
    """The bucket index of an age; an age equal to a threshold falls in the older bucket."""
    return bisect.bisect_right([h * 3600 for h in hours], seconds)


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _plant_midnight(day: dt.date, tz) -> dt.datetime:
    return _naive_utc(dt.datetime.combine(day, dt.time()).replace(tzinfo=tz))


def _voided_uuids():
    """Subquery of every uuid some void names (voids are rare and `voids` is indexed)."""
    v = m.Event.alias()
    return v.select(v.voids).where(v.voids.is_null(False))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class Reports:
    """The board's and the CLI's reports. `clock` gives naive UTC "now" (injectable for tests)."""

    def __init__(self, config: Config, clock: Callable[[], dt.datetime] = utcnow):
        self.config = config
        self.clock = clock
        self.stages = tuple(s.code for s in config.stages)
        self.age_hours = tuple(config.thresholds.ageing_hours)
        self.age_labels = age_labels(self.age_hours)

    # -- small lookups

    def stage_name(self, code: str) -> str:
        try:
            return self.config.stage(code).name
        except KeyError:
            return code  # a stage taken out of the config since: show its code

    def _label(self, kind: str, code: str) -> str:
        try:
            return self.config.reason_label(kind, code)
        except KeyError:
            return code

    def _shift(self, now: dt.datetime) -> tuple[str, dt.datetime]:
        shift, start = self.config.shift_at(now)
        return shift.name, _naive_utc(start)

    # -- loading

    def _open_jobs(
        self, numbers: Iterable[str] | None = None, include_planned: bool = True
    ) -> tuple[list, dict[int, JobState]]:
        """Open jobs in board order (priority, planned end with blanks last, number) and their balances."""
        j = m.Job
        query = j.select(
            j.id,
            j.number,
            j.customer,
            j.product,
            j.qty,
            j.planned_end,
            j.initial_priority,
            j.released,
            j.dispatched,
            j.priority,
            j.priority_changed,
            j.on_hold,
            j.last_event_id,
            j.delay_reason,
            j.delay_since,
            j.delay_event_id,
        ).where(j.is_open)
        if not include_planned:
            query = query.where(j.released > 0)
        if numbers is not None:
            numbers = list(dict.fromkeys(numbers))
            if not numbers:
                return [], {}
            query = query.where(j.number.in_(numbers))
        jobs = list(query.order_by(j.priority, j.planned_end.asc(nulls="LAST"), j.number).namedtuples())
        return jobs, load_states(jobs)

    def _open_steps(self) -> list[StepState]:
        """Steps of open jobs holding pending or rejected quantity or an open delay, in one query."""
        b = m.StepBalance
        rows = (
            b.select(
                b.stage,
                b.received,
                b.completed,
                b.rejected,
                b.reworked,
                b.scrapped,
                b.rework_in,
                b.started,
                b.waiting_since,
                b.delay_reason,
                b.delay_since,
            )
            .join(m.Job, on=(b.job == m.Job.id))
            .where(m.Job.is_open & ((b.pending > 0) | (b.awaiting > 0) | b.delay_reason.is_null(False)))
            .tuples()
        )
        return [
            StepState(
                seq=0,
                stage=stage,
                name="",
                kind="",
                received=rec,
                completed=done,
                rejected=rej,
                reworked=rwk,
                scrapped=scr,
                rework_in=rin,
                started=started,
                waiting_since=since,
                delay_reason=reason,
                delay_since=delay_since,
            )
            for stage, rec, done, rej, rwk, scr, rin, started, since, reason, delay_since in rows
        ]

    def _completed_by_stage(self, since: dt.datetime) -> dict[str, int]:
        """Quantity completed at each stage since `since` (complete, QC pass, dispatch), voided ones left out."""
        live = (m.Event.committed_at >= since) & m.Event.uuid.not_in(_voided_uuids())
        done: dict[str, int] = defaultdict(int)
        at_step = (
            m.Event.select(m.JobStep.stage, fn.SUM(m.Event.qty))
            .join(m.JobStep, on=(m.Event.step == m.JobStep.id))
            .where(live & m.Event.kind.in_(COMPLETING_KINDS))
            .group_by(m.JobStep.stage)
            .tuples()
        )
        # A dispatch is a job-level entry: it completes the job's dispatch step.
        dispatched = (
            m.Event.select(m.JobStep.stage, fn.SUM(m.Event.qty))
            .join(m.JobStep, on=((m.JobStep.job == m.Event.job) & (m.JobStep.kind == "dispatch")))
            .where(live & (m.Event.kind == "dispatch"))
            .group_by(m.JobStep.stage)
            .tuples()
        )
        for stage, qty in [*at_step, *dispatched]:
            done[stage] += int(qty or 0)
        return done

    # -- WIP

    def wip(self, include_planned: bool = True) -> WipBoard:
        """Every open job with a cell per stage, and a summary row per stage."""
        with m.database.atomic():
            now = self.clock()
            jobs, states = self._open_jobs(include_planned=include_planned)
            shift, shift_start = self._shift(now)
            done = self._completed_by_stage(shift_start)
        rows = [self._row(job, states[job.id], now) for job in jobs]
        steps = (s for state in states.values() for s in state.steps)
        return WipBoard(self.stages, rows, self._summaries(steps, done, now), shift, shift_start, now)

    def wip_rows(self, job_numbers: Iterable[str]) -> list[WipRow]:
        """Board rows of just these jobs, in board order. Closed or unknown jobs are left out,
        so the board drops their rows."""
        with m.database.atomic():
            now = self.clock()
            jobs, states = self._open_jobs(job_numbers)
        return [self._row(job, states[job.id], now) for job in jobs]

    def stage_summaries(self) -> dict[str, StageSummary]:
        """The board's summary row per stage without loading every job."""
        with m.database.atomic():
            now = self.clock()
            _, shift_start = self._shift(now)
            steps = self._open_steps()
            done = self._completed_by_stage(shift_start)
        return self._summaries(steps, done, now)

    def _row(self, job, state: JobState, now: dt.datetime) -> WipRow:
        today = plant_today(now, self.config.tz)
        cells = dict.fromkeys(self.stages, OFF_ROUTE)
        for s in state.steps:
            cells[s.stage] = self._cell(s, now)
        current = next((s.stage for s in state.steps if s.pending > 0 or s.awaiting > 0), None)
        job_delay = job_delay_seconds = None
        if state.delay_reason:
            job_delay = self._label("delay", state.delay_reason)
            job_delay_seconds = (now - state.delay_since).total_seconds() if state.delay_since else None
        return WipRow(
            number=job.number,
            customer=job.customer,
            product=job.product,
            qty=job.qty,
            priority=state.priority,
            planned_end=job.planned_end,
            status=derive_status(state),
            flags=derive_flags(state, job.planned_end, today),
            cells=cells,
            released=state.released,
            dispatched=state.dispatched,
            ready_for_dispatch=state.ready_for_dispatch,
            current_stage=current,
            last_event_id=job.last_event_id,
            job_delay=job_delay,
            job_delay_seconds=job_delay_seconds,
            rework=rework_line(state),
        )

    def _cell(self, s: StepState, now: dt.datetime) -> WipCell:
        waited = bucket = None
        if s.pending > 0:
            waited = (now - s.waiting_since).total_seconds() if s.waiting_since else 0.0
            bucket = age_bucket(waited, self.age_hours)
        label = delayed = None
        if s.delay_reason:
            label = self._label("delay", s.delay_reason)
            delayed = (now - s.delay_since).total_seconds() if s.delay_since else None
        return WipCell(
            pending=s.pending,
            awaiting=s.awaiting,
            state=step_state(s),
            waiting_seconds=waited,
            age_bucket=bucket,
            delay_reason=label,
            delay_code=s.delay_reason,
            delay_seconds=delayed,
            out=s.out,
            outside=self._outside_text(s, now) if s.out > 0 and s.out_since else None,
        )

    def _outside_text(self, s: StepState, now: dt.datetime) -> str:
        name = self.config.supplier_name(s.out_supplier)
        return outside_text(s.out, name, s.out_since, now, self.config.tz, s.out_suppliers)

    def _summaries(self, steps: Iterable[StepState], done: dict[str, int], now: dt.datetime) -> dict[str, StageSummary]:
        pending = defaultdict(int)
        awaiting = defaultdict(int)
        in_work = defaultdict(int)
        delayed = defaultdict(int)
        ages: dict[str, list[float]] = defaultdict(list)
        for s in steps:
            awaiting[s.stage] += s.awaiting
            if s.delay_reason:
                delayed[s.stage] += 1
            if s.pending <= 0:
                continue
            pending[s.stage] += s.pending
            ages[s.stage].append((now - s.waiting_since).total_seconds() if s.waiting_since else 0.0)
            if s.started and not s.delay_reason:
                in_work[s.stage] += 1
        known = list(self.stages) + sorted(set(pending) - set(self.stages))
        return {
            code: StageSummary(
                stage=code,
                name=self.stage_name(code),
                pending=pending[code],
                jobs_waiting=len(ages[code]),
                jobs_in_work=in_work[code],
                jobs_delayed=delayed[code],
                awaiting=awaiting[code],
                oldest_seconds=max(ages[code]) if ages[code] else None,
                average_seconds=sum(ages[code]) / len(ages[code]) if ages[code] else None,
                completed_this_shift=done.get(code, 0),
            )
            for code in known
        }

    # -- bottlenecks

    def bottlenecks(self, window_hours: float = 8, rank_by: str = "expected") -> list[Bottleneck]:
        """Stages worst first. rank_by 'expected': expected wait (pending ÷ throughput over the last
        `window_hours`), a stage with work but no throughput scored by its oldest wait; 'waiting':
        oldest waiting time. Stages without pending work come last."""
        with m.database.atomic():
            now = self.clock()
            steps = self._open_steps()
            done = self._completed_by_stage(now - dt.timedelta(hours=window_hours))
        return self._bottlenecks(self._summaries(steps, {}, now), done, window_hours, rank_by)

    def _bottlenecks(
        self, summary: dict[str, StageSummary], done: dict[str, int], window_hours: float, rank_by: str
    ) -> list[Bottleneck]:
        if rank_by not in ("expected", "waiting"):
            raise InputError("Rank bottlenecks by 'expected' or 'waiting'")
        out = []
        for s in summary.values():
            completed = done.get(s.stage, 0)
            rate = completed / window_hours if window_hours > 0 else 0.0
            expected = s.pending / rate if rate > 0 else None
            headline = ""
            if s.jobs_waiting:
                headline = f"{s.name}: {_plural(s.jobs_waiting, 'job')} waiting"
                if s.oldest_seconds is not None:
                    headline += f", oldest {format_duration(s.oldest_seconds)}"
            out.append(
                Bottleneck(
                    stage=s.stage,
                    name=s.name,
                    pending=s.pending,
                    jobs_waiting=s.jobs_waiting,
                    oldest_seconds=s.oldest_seconds,
                    completed=completed,
                    throughput_per_hour=rate,
                    expected_wait_hours=expected,
                    headline=headline,
                )
            )
        order = {code: i for i, code in enumerate(self.stages)}

        def key(b: Bottleneck):
            oldest_h = (b.oldest_seconds or 0.0) / 3600
            # Without throughput the queue has not moved for at least its oldest job's wait.
            score = b.expected_wait_hours if b.expected_wait_hours is not None else oldest_h
            if rank_by == "waiting":
                score = oldest_h
            return (b.pending <= 0, -score, -oldest_h, -b.pending, order.get(b.stage, len(order)))

        return sorted(out, key=key)

    def worst_headline(self, window_hours: float = 8) -> str | None:
        """The worst bottleneck in words, e.g. 'Assembly: 14 jobs waiting, oldest 2 d 3 h'; None if nothing waits."""
        ranked = self.bottlenecks(window_hours)
        return ranked[0].headline if ranked and ranked[0].jobs_waiting else None

    # -- exceptions

    def exceptions(self, since: dt.datetime | None = None, until: dt.datetime | None = None) -> Exceptions:
        """The exception lists of open jobs (each in board order unless it says otherwise); priority
        changes and late entries over [since, until), by default the last 24 h."""
        with m.database.atomic():
            now = self.clock()
            jobs, states = self._open_jobs()
            holds = self._hold_events([j.id for j in jobs if states[j.id].on_hold])
            refused = self._replay_refusals()
            seed = seed_lists.read_lists(self.config, now, jobs, states, since, until)
        return self._exceptions(jobs, states, holds, now, refused, seed)

    def counts(self) -> dict[str, int]:
        """How many items each exception list holds."""
        return self.exceptions().counts()

    def _hold_events(self, job_ids: list[int]) -> dict[int, m.Event]:
        """The latest live hold entry of each job."""
        latest: dict[int, m.Event] = {}
        for chunk in (job_ids[i : i + 500] for i in range(0, len(job_ids), 500)):
            query = (
                m.Event.select(m.Event.job, m.Event.committed_at, m.Event.note)
                .where(m.Event.job.in_(chunk) & (m.Event.kind == "hold") & m.Event.uuid.not_in(_voided_uuids()))
                .order_by(m.Event.id)
            )
            for event in query:
                latest[event.job_id] = event
        return latest

    def _replay_refusals(self) -> list[RefusedItem]:
        """Open refusals of entries replayed from terminals' outboxes, oldest first."""
        r = m.ReplayRefusal
        return [
            RefusedItem(
                row.job or "", row.terminal, row.words, row.reason, row.badge, row.client_time, row.refused_at, row.uuid
            )
            for row in r.select().where(r.status == "open").order_by(r.refused_at, r.id)
        ]

    def _exceptions(
        self,
        jobs: list,
        states: dict[int, JobState],
        holds: dict[int, m.Event],
        now: dt.datetime,
        refused: list[RefusedItem],
        seed: dict | None = None,
    ) -> Exceptions:
        tz = self.config.tz
        today = plant_today(now, tz)
        warn = dt.timedelta(hours=self.config.thresholds.late_warning_hours)
        ex = Exceptions(as_of=now, replay_refused=refused, **(seed or {}))
        for job in jobs:
            state = states[job.id]
            number = job.number
            status = derive_status(state)
            if state.delay_reason:
                since = state.delay_since or now
                ex.delayed.append(
                    DelayedItem(
                        number,
                        "",
                        JOB_ROW,
                        state.delay_reason,
                        self._label("delay", state.delay_reason),
                        since,
                        (now - since).total_seconds(),
                    )
                )
            for s in state.steps:
                name = self.stage_name(s.stage)
                waited = None
                if s.pending > 0:
                    waited = (now - s.waiting_since).total_seconds() if s.waiting_since else 0.0
                if s.delay_reason:
                    since = s.delay_since or now
                    ex.delayed.append(
                        DelayedItem(
                            number,
                            s.stage,
                            name,
                            s.delay_reason,
                            self._label("delay", s.delay_reason),
                            since,
                            (now - since).total_seconds(),
                        )
                    )
                if waited is not None:
                    hours = self.config.thresholds.ageing_for(s.stage)  # the stage's own, else ageing_hours
                    bucket = age_bucket(waited, hours)
                    if bucket > 0:
                        ex.ageing.append(
                            AgeingItem(number, s.stage, name, s.pending, waited, bucket, age_labels(hours)[bucket])
                        )
                    if s.kind == "qc":
                        ex.pending_qc.append(QcItem(number, s.stage, name, s.pending, waited))
                if s.awaiting > 0:
                    ex.pending_rework.append(ReworkItem(number, s.stage, name, s.awaiting, "decision"))
                if s.rework_here > 0:
                    # Reworked units pending here (the rework lane, rules._complete).
                    ex.pending_rework.append(ReworkItem(number, s.stage, name, s.rework_here, "rework"))
            if job.planned_end is not None:
                if job.planned_end < today:
                    ex.late.append(LateItem(number, job.planned_end, (today - job.planned_end).days, status))
                elif state.ready_for_dispatch + state.dispatched < state.qty:
                    # Planned completion is the end of the planned day in plant time.
                    due = _plant_midnight(job.planned_end + dt.timedelta(days=1), tz)
                    if now >= due - warn:
                        ex.due_soon.append(
                            DueSoonItem(number, job.planned_end, (due - now).total_seconds() / 3600, status)
                        )
            if state.ready_for_dispatch > 0:
                ex.ready_for_dispatch.append(ReadyItem(number, job.customer, state.ready_for_dispatch, job.planned_end))
            short_item = self._short_item(number, state, now)
            if short_item is not None:
                ex.material_short.append(short_item)
            if state.priority_changed:
                ex.priority_changed.append(PriorityItem(number, state.initial_priority, state.priority))
            if state.on_hold:
                hold = holds.get(job.id)
                ex.on_hold.append(HoldItem(number, hold.committed_at if hold else None, hold.note if hold else ""))
        ex.delayed.sort(key=lambda i: -i.seconds)
        ex.late.sort(key=lambda i: -i.days_late)
        ex.due_soon.sort(key=lambda i: i.hours_left)
        ex.ageing.sort(key=lambda i: -i.seconds)
        ex.pending_qc.sort(key=lambda i: -(i.seconds or 0))
        return ex

    def _short_item(self, number: str, state: JobState, now: dt.datetime) -> ShortItem | None:
        """The job as blocked by a material shortage, or None.

        Listed: a released job with a short bill-of-materials line, and any job (released or
        not) with an open material-shortage delay. Never a job whose every remaining unit is
        built: units ready for dispatch (or dispatched) are not held up by material.
        """
        units = state.qty - state.dispatched - state.scrapped - state.ready_for_dispatch
        if units <= 0:
            return None
        # Before release nothing is blocked by a short line: stores issue material as jobs are released.
        short = ()
        if state.released > 0:
            short = tuple(
                ShortLine(line.item, line.short, line.unit) for line in state.materials.values() if line.short > 0
            )
        holders = [(JOB_ROW, state)] + [(self.stage_name(s.stage), s) for s in state.steps]
        delay = next(
            (
                (where, h)
                for where, h in holders
                if h.delay_reason and material_delay(h.delay_reason, self._label("delay", h.delay_reason))
            ),
            None,
        )
        if not short and delay is None:
            return None
        if delay is None:
            return ShortItem(number, short, units)
        where, holder = delay
        since = holder.delay_since or now
        return ShortItem(
            number,
            short,
            units,
            self._label("delay", holder.delay_reason),
            where,
            (now - since).total_seconds(),
        )

    def board(self, window_hours: float = 8) -> Board:
        """WIP, exceptions and bottlenecks from one read, for the board's first paint."""
        with m.database.atomic():
            now = self.clock()
            jobs, states = self._open_jobs()
            shift, shift_start = self._shift(now)
            done_shift = self._completed_by_stage(shift_start)
            done_window = self._completed_by_stage(now - dt.timedelta(hours=window_hours))
            holds = self._hold_events([j.id for j in jobs if states[j.id].on_hold])
            refused = self._replay_refusals()
            seed = seed_lists.read_lists(self.config, now, jobs, states)
        rows = [self._row(job, states[job.id], now) for job in jobs]
        summary = self._summaries((s for st in states.values() for s in st.steps), done_shift, now)
        wip = WipBoard(self.stages, rows, summary, shift, shift_start, now)
        return Board(
            wip,
            self._exceptions(jobs, states, holds, now, refused, seed),
            self._bottlenecks(summary, done_window, window_hours, "expected"),
        )

    # -- ageing

    def ageing(self) -> Ageing:
        """Steps with pending work per age bucket and stage: how many jobs and how much quantity."""
        with m.database.atomic():
            now = self.clock()
            steps = self._open_steps()
        counts = [{code: [0, 0] for code in self.stages} for _ in self.age_labels]
        for s in steps:
            if s.pending <= 0:
                continue
            waited = (now - s.waiting_since).total_seconds() if s.waiting_since else 0.0
            # A stage with its own ageing hours counts in its own step of the same buckets.
            cell = counts[age_bucket(waited, self.config.thresholds.ageing_for(s.stage))].setdefault(s.stage, [0, 0])
            cell[0] += 1
            cell[1] += s.pending
        buckets = tuple(
            AgeingBucket(
                index=i,
                label=label,
                by_stage={code: AgeCount(*v) for code, v in counts[i].items()},
                jobs=sum(v[0] for v in counts[i].values()),
                qty=sum(v[1] for v in counts[i].values()),
            )
            for i, label in enumerate(self.age_labels)
        )
        return Ageing(self.stages, buckets, now)

    # -- delays and rejections over a range

    def delays_by_reason(self, since: dt.datetime, until: dt.datetime) -> list[DelayTotal]:
        """Delays open at some time in [since, until), per reason, most time first.

        A delay runs from its entry to the next live resume at the same step (still open ones
        run until now); only the part inside the range counts toward the time.
        """
        since, until = _naive_utc(since), _naive_utc(until)
        now = self.clock()
        r = m.Event.alias()
        # A delay of the whole job (no step) ends at the job's next resume without a step.
        same_place = (r.step == m.Event.step) | (r.step.is_null() & m.Event.step.is_null() & (r.job == m.Event.job))
        ended = (
            r.select(r.committed_at)
            .where(same_place & (r.kind == "resume") & (r.id > m.Event.id) & r.uuid.not_in(_voided_uuids()))
            .order_by(r.id)
            .limit(1)
        )
        query = (
            m.Event.select(m.Event.reason, m.Event.committed_at, ended.alias("ended"))
            .where(
                (m.Event.kind == "delay")
                & (m.Event.committed_at < until)
                & m.Event.uuid.not_in(_voided_uuids())
                & (fn.COALESCE(ended, until) > since)
            )
            .tuples()
        )
        totals: dict[str, list] = {}
        with m.database.atomic():
            rows = list(query)
        for reason, start, end in rows:
            end = m.Event.committed_at.python_value(end)  # SQLite returns the subquery's value as text
            stop = min(end or now, until)
            seconds = max(0.0, (stop - max(start, since)).total_seconds())
            if seconds <= 0 and start < since:
                continue  # closed before the range began
            total = totals.setdefault(reason, [0, 0.0])
            total[0] += 1
            total[1] += seconds
        out = [
            DelayTotal(reason, self._label("delay", reason), count, seconds)
            for reason, (count, seconds) in totals.items()
        ]
        return sorted(out, key=lambda d: (-d.seconds, -d.count, d.reason))

    def rejections(self, since: dt.datetime, until: dt.datetime) -> Rejections:
        """Rejected and QC-failed quantity in [since, until) by reason and by stage, most first."""
        since, until = _naive_utc(since), _naive_utc(until)
        query = (
            m.Event.select(m.Event.kind, m.Event.reason, m.JobStep.stage, fn.SUM(m.Event.qty), fn.COUNT(m.Event.id))
            .join(m.JobStep, on=(m.Event.step == m.JobStep.id))
            .where(
                m.Event.kind.in_(REJECTING_KINDS)
                & (m.Event.committed_at >= since)
                & (m.Event.committed_at < until)
                & m.Event.uuid.not_in(_voided_uuids())
            )
            .group_by(m.Event.kind, m.Event.reason, m.JobStep.stage)
            .tuples()
        )
        with m.database.atomic():
            rows = list(query)
        # The same code may sit in the reject and the QC-fail lists; merge only when the labels agree.
        by_reason: dict[tuple[str, str], list[int]] = {}
        by_stage: dict[str, list[int]] = {}
        for kind, reason, stage, qty, count in rows:
            label = self._label(kind, reason) if reason else ""
            for key, table in (((reason or "", label), by_reason), (stage, by_stage)):
                entry = table.setdefault(key, [0, 0])
                entry[0] += int(qty or 0)
                entry[1] += int(count or 0)
        order = {code: i for i, code in enumerate(self.stages)}
        reasons = sorted(
            (RejectReason(code, label, q, c) for (code, label), (q, c) in by_reason.items()),
            key=lambda r: (-r.qty, r.code, r.label),
        )
        stages = sorted(
            (RejectStage(code, self.stage_name(code), q, c) for code, (q, c) in by_stage.items()),
            key=lambda s: (-s.qty, order.get(s.stage, len(order))),
        )
        return Rejections(since, until, reasons, stages, sum(r.qty for r in reasons))

    # -- flow over a range (DESIGN.md §10, floorterm.flow, docs/flow.md)

    def flow(self, since: dt.datetime, until: dt.datetime) -> flows.FlowReport:
        """Per stage over [since, until): units in and out, unit-hours, waits, queue and work time, yield, delays."""
        return flows.flow_report(self.config, _naive_utc(since), _naive_utc(until), self.clock())

    def quality(self, since: dt.datetime, until: dt.datetime) -> flows.QualityReport:
        """First-pass yield per QC stage and per product over [since, until); jobs failing QC more than once."""
        return flows.quality_report(self.config, _naive_utc(since), _naive_utc(until), self.clock())

    def variance(self, since: dt.datetime, until: dt.datetime) -> flows.VarianceReport:
        """Material used against needed for the jobs whose work ended in [since, until)."""
        return flows.variance_report(self.config, _naive_utc(since), _naive_utc(until), self.clock())

    def period(self, name: str) -> tuple[dt.datetime, dt.datetime]:
        """(since, until) in naive UTC for 'today', 'yesterday', 'shift' or 'week' (from Monday) in plant time."""
        now = self.clock()
        tz = self.config.tz
        today = plant_today(now, tz)
        if name == "today":
            return _plant_midnight(today, tz), _plant_midnight(today + dt.timedelta(days=1), tz)
        if name == "yesterday":
            return _plant_midnight(today - dt.timedelta(days=1), tz), _plant_midnight(today, tz)
        if name == "week":
            monday = today - dt.timedelta(days=today.weekday())
            return _plant_midnight(monday, tz), _plant_midnight(monday + dt.timedelta(days=7), tz)
        if name == "shift":
            _, start = self._shift(now)
            return start, self._next_shift_start(start)
        raise InputError(f"Unknown period {name!r}; choose one of: {', '.join(PERIODS)}")

    def _next_shift_start(self, start: dt.datetime) -> dt.datetime:
        tz = self.config.tz
        day = to_plant(start, tz).date()
        later = [
            _naive_utc(dt.datetime.combine(day + dt.timedelta(days=d), s.start).replace(tzinfo=tz))
            for d in (0, 1, 2)
            for s in self.config.shifts
        ]
        return min(t for t in later if t > start)

    # -- plain tables for the CLI

    def as_rows(
        self,
        report: str,
        *,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        period: str = "today",
        window_hours: float = 8,
        kind: str | None = None,
        owner: str | None = None,
    ) -> tuple[list[str], list[list]]:
        """(headers, rows) of plain str/int values for a table, CSV or JSON.

        report: 'wip' (one row per open job, a column per stage with its pending quantity, ''
        off the routing), 'stages' (the board's summary rows), 'exceptions' (list, job, stage,
        qty, detail), 'delays' and 'rejections' (over since/until, else `period`), 'ageing'
        (age, stage, jobs, qty for non-empty cells) or 'bottlenecks' (worst first); and the flow
        reports 'flow', 'quality', 'variance' (flow.FLOW_REPORTS, over since/until, else `period`).
        Durations are text ('2 d 3 h') with the seconds alongside where a program may want them.
        'exceptions' takes `kind` (EXCEPTION_KINDS): that list only, and for priority_changed,
        material_idle, not_updated and late_entries their own columns (docs/exceptions.md).
        """
        if report not in REPORTS and report not in flows.FLOW_REPORTS:
            known = ", ".join((*REPORTS, *flows.FLOW_REPORTS))
            raise InputError(f"Unknown report {report!r}; choose one of: {known}")
        if kind is not None and report != "exceptions":
            raise InputError("A kind of list is for report exceptions only")
        if report in ("delays", "rejections", "exceptions", *flows.FLOW_REPORTS) and (since is None or until is None):
            start, end = self.period(period)
            since = since if since is not None else start
            until = until if until is not None else end
        if owner is not None and report != "exceptions":
            raise InputError("An owner filter is for report exceptions only")
        stages = stages_owned_by(self.config, owner) if owner is not None else None
        headers, rows = getattr(self, f"_rows_{report}")(since=since, until=until, window_hours=window_hours, kind=kind)
        if stages is not None:
            rows = self._owned_rows(headers, rows, stages)
        return headers, rows

    def _owned_rows(self, headers: list[str], rows: list[list], stages: set[str]) -> list[list]:
        """The exception rows at `stages`: a row's own stage, else the stage its job waits at
        (the first step with pending or awaiting units). Rows with neither are left out."""
        if "job" not in headers:
            return []
        job_at = headers.index("job")
        stage_at = headers.index("stage") if "stage" in headers else None
        codes = {s.code for s in self.config.stages}  # a delay of the whole job says JOB_ROW there

        def own(row) -> str | None:
            return row[stage_at] if stage_at is not None and row[stage_at] in codes else None

        numbers = {row[job_at] for row in rows if row[job_at] and own(row) is None}
        waits: dict[str, str] = {}
        b, s, j = m.StepBalance, m.JobStep, m.Job
        for chunk in (sorted(numbers)[i : i + 500] for i in range(0, len(numbers), 500)):
            query = (
                s.select(j.number, s.stage)
                .join(j, on=(j.id == s.job))
                .join(b, on=(b.step == s.id))
                .where(j.number.in_(chunk) & ((b.pending > 0) | (b.awaiting > 0)))
                .order_by(j.number, s.seq)
                .tuples()
            )
            for number, stage in query:
                waits.setdefault(number, stage)
        kept = []
        for row in rows:
            stage = own(row) or waits.get(row[job_at])
            if stage in stages:
                kept.append(row)
        return kept

    def _rows_wip(self, **_) -> tuple[list[str], list[list]]:
        board = self.wip()
        headers = ["job", "customer", "product", "qty", "priority", "planned_end", "status", "flags", *board.stages]
        rows = [
            [
                r.number,
                r.customer,
                r.product,
                r.qty,
                r.priority,
                r.planned_end.isoformat() if r.planned_end else "",
                r.status,
                ", ".join(r.flags),
                *(c.pending if c.state else "" for c in r.cells.values()),
            ]
            for r in board.rows
        ]
        return headers, rows

    def _rows_stages(self, **_) -> tuple[list[str], list[list]]:
        headers = [
            "stage",
            "name",
            "pending",
            "jobs_waiting",
            "in_work",
            "delayed",
            "awaiting_decision",
            "oldest",
            "oldest_seconds",
            "average",
            "completed_this_shift",
        ]
        rows = [
            [
                s.stage,
                s.name,
                s.pending,
                s.jobs_waiting,
                s.jobs_in_work,
                s.jobs_delayed,
                s.awaiting,
                format_duration(s.oldest_seconds),
                int(s.oldest_seconds or 0),
                format_duration(s.average_seconds),
                s.completed_this_shift,
            ]
            for s in self.stage_summaries().values()
        ]
        return headers, rows

    def _rows_exceptions(self, *, since=None, until=None, kind=None, **_) -> tuple[list[str], list[list]]:
        if kind is not None and kind not in EXCEPTION_KINDS:
            raise InputError(f"Unknown exception list {kind!r}; choose one of: {', '.join(EXCEPTION_KINDS)}")
        ex = self.exceptions(since, until)
        seed = seed_lists.CLI_KIND.get(kind or "", kind)
        if seed in seed_lists.SEED_KINDS:
            return list(seed_lists.COLUMNS[seed]), seed_lists.rows(seed, getattr(ex, seed), self.config)
        tz = self.config.tz
        rows: list[list] = []
        for i in ex.delayed:
            where = i.stage or JOB_ROW  # a delay of the whole job has no stage
            rows.append(["delayed", i.number, where, "", f"{i.label} for {format_duration(i.seconds)}"])
        for i in ex.late:
            rows.append(["late", i.number, "", "", f"{_plural(i.days_late, 'day')} late (planned {i.planned_end})"])
        for i in ex.due_soon:
            rows.append(
                [
                    "due_soon",
                    i.number,
                    "",
                    "",
                    f"due {i.planned_end}, {format_duration(i.hours_left * 3600)} left ({i.status})",
                ]
            )
        for i in ex.ageing:
            rows.append(["ageing", i.number, i.stage, i.pending, f"waiting {format_duration(i.seconds)} ({i.label})"])
        for i in ex.pending_qc:
            rows.append(
                [
                    "pending_qc",
                    i.number,
                    i.stage,
                    i.pending,
                    f"{i.pending} to inspect, waiting {format_duration(i.seconds)}",
                ]
            )
        for i in ex.pending_rework:
            text = "rejected, awaiting rework or scrap decision" if i.what == "decision" else "sent back for rework"
            rows.append(["pending_rework", i.number, i.stage, i.qty, text])
        for i in ex.ready_for_dispatch:
            rows.append(["ready_for_dispatch", i.number, "", i.qty, f"{i.qty} ready for {i.customer or 'dispatch'}"])
        for i in ex.material_short:
            text = ", ".join(f"{line.item} short {line.short} {line.unit}" for line in i.lines)
            if i.delay_label:
                delay = f"delayed ({i.delay_label}) at {i.delay_stage_name} for {format_duration(i.delay_seconds)}"
                text = f"{text}; {delay}" if text else delay
            short = sum(line.short for line in i.lines) if i.lines else ""  # a delay alone: no quantity short
            rows.append(["material_short", i.number, "", short, text])
        # Every change in the period (floorterm.exceptions), not only jobs whose priority differs now.
        rows += seed_lists.summary_rows("priority_changes", ex.priority_changes, self.config)
        for i in ex.on_hold:
            since = to_plant(i.since, tz).strftime("%Y-%m-%d %H:%M") if i.since else "?"
            rows.append(["on_hold", i.number, "", "", f"on hold since {since}" + (f": {i.note}" if i.note else "")])
        for i in ex.replay_refused:
            rows.append(
                ["replay_refused", i.number, "", "", f"{i.terminal}: {i.words} — refused on replay: {i.reason}"]
            )
        for name in ("material_idle", "not_updated", "late_entries"):
            rows += seed_lists.summary_rows(name, getattr(ex, name), self.config)
        if kind is not None:
            rows = [row for row in rows if row[0] == kind]
        return ["list", "job", "stage", "qty", "detail"], rows

    def outside(self) -> list[OutsideItem]:
        """What is at suppliers now: one item per batch sent and not yet back, longest out first.

        Reads the outside steps with units out from the balances, then replays those jobs'
        ledgers for their batches (which supplier, since when, which delivery note).
        """
        from floorterm.ledger import replay

        now = self.clock()
        b, s, j = m.StepBalance, m.JobStep, m.Job
        items = []
        with m.database.atomic():
            jobs = (
                j.select()
                .join(b, on=(b.job == j.id))
                .join(s, on=(s.id == b.step))
                .where((s.kind == "outside") & (b.sent > b.completed + b.rejected))
                .distinct()
            )
            for job in jobs:
                state = replay(job)
                for step in state.steps:
                    for batch in step.batches:
                        items.append(
                            OutsideItem(
                                number=job.number,
                                customer=job.customer,
                                product=job.product,
                                priority=state.priority,
                                planned_end=job.planned_end,
                                stage=step.stage,
                                stage_name=step.name,
                                supplier=batch.supplier,
                                supplier_name=self.config.supplier_name(batch.supplier),
                                qty=batch.qty,
                                sent_at=batch.at,
                                seconds=(now - batch.at).total_seconds(),
                                reference=batch.reference,
                            )
                        )
        items.sort(key=lambda i: (i.sent_at, i.number, i.stage))
        return items

    def _rows_outside(self, **_) -> tuple[list[str], list[list]]:
        tz = self.config.tz
        headers = [
            "job",
            "customer",
            "product",
            "stage",
            "supplier",
            "supplier_name",
            "qty",
            "sent",
            "out_for",
            "out_seconds",
            "reference",
            "planned_end",
        ]
        rows = [
            [
                i.number,
                i.customer,
                i.product,
                i.stage,
                i.supplier,
                i.supplier_name,
                i.qty,
                to_plant(i.sent_at, tz).strftime("%Y-%m-%d %H:%M"),
                format_duration(i.seconds),
                int(i.seconds),
                i.reference or "",
                i.planned_end.isoformat() if i.planned_end else "",
            ]
            for i in self.outside()
        ]
        return headers, rows

    def _rows_delays(self, *, since, until, **_) -> tuple[list[str], list[list]]:
        rows = [
            [d.reason, d.label, d.count, format_duration(d.seconds), int(d.seconds)]
            for d in self.delays_by_reason(since, until)
        ]
        return ["reason", "label", "count", "total", "total_seconds"], rows

    def _rows_rejections(self, *, since, until, **_) -> tuple[list[str], list[list]]:
        rej = self.rejections(since, until)
        rows = [["reason", r.code, r.label, r.qty, r.count] for r in rej.by_reason]
        rows += [["stage", s.stage, s.name, s.qty, s.count] for s in rej.by_stage]
        return ["by", "code", "name", "qty", "entries"], rows

    def _rows_flow(self, *, since, until, **_) -> tuple[list[str], list[list]]:
        return _table(self.flow(since, until))

    def _rows_quality(self, *, since, until, **_) -> tuple[list[str], list[list]]:
        return _table(self.quality(since, until))

    def _rows_variance(self, *, since, until, **_) -> tuple[list[str], list[list]]:
        return _table(self.variance(since, until))

    def _rows_ageing(self, **_) -> tuple[list[str], list[list]]:
        report = self.ageing()
        rows = [[b.label, code, c.jobs, c.qty] for b in report.buckets for code, c in b.by_stage.items() if c.jobs]
        return ["age", "stage", "jobs", "qty"], rows

    def _rows_bottlenecks(self, *, window_hours, **_) -> tuple[list[str], list[list]]:
        rows = []
        for rank, b in enumerate(self.bottlenecks(window_hours), start=1):
            rows.append(
                [
                    rank,
                    b.stage,
                    b.name,
                    b.pending,
                    b.jobs_waiting,
                    format_duration(b.oldest_seconds),
                    int(b.oldest_seconds or 0),
                    b.completed,
                    f"{b.throughput_per_hour:.1f}",
                    "" if b.expected_wait_hours is None else f"{b.expected_wait_hours:.1f}",
                    b.headline,
                ]
            )
        return [
            "rank",
            "stage",
            "name",
            "pending",
            "jobs_waiting",
            "oldest",
            "oldest_seconds",
            f"completed_{window_hours:g}h",
            "per_hour",
            "expected_wait_h",
            "headline",
        ], rows


def _table(report) -> tuple[list[str], list[list]]:
    """(headers, rows) of a flow, quality or variance report."""
    headers = list(report.COLUMNS)
    return headers, [[row[c] for c in headers] for row in report.rows()]
