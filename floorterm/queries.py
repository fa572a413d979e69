"""Read models: the job card, job lists and a job's history.

Screens and the CLI read through here (and `floorterm.reports` for the board's lists);
nothing here writes. Each function reads in one short transaction at most, so a
terminal never holds a read transaction open (DESIGN.md §4).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Callable, Iterator

from floorterm import models as m
from floorterm.clock import format_duration, jsonable, plant_today, to_plant, utcnow
from floorterm.config import Config
from floorterm.errors import DomainError
from floorterm.flow import job_flow
from floorterm.inputs import parse_job_number
from floorterm._peewee import peewee
from floorterm.ledger import describe_event, load_state, load_states
from floorterm.rules import PLANNING_KINDS, JobState, StepState, rework_line

STATUSES = ("planned", "released", "in progress", "QC pending", "ready for dispatch", "dispatched", "closed")
FLAGS = ("delayed", "late", "material short", "rework pending", "priority changed", "on hold")


@dataclass(frozen=True)
class DelayView:
    reason: str
    label: str
    since: dt.datetime
    seconds: float


@dataclass(frozen=True)
class OutsideView:
    """Units of an outside step at a supplier: the oldest batch still out names supplier and since."""

    qty: int
    supplier: str  # the [[suppliers]] code
    supplier_name: str
    since: dt.datetime
    seconds: float
    text: str  # e.g. "12 at supplier Zinko Feuerverzinkung since Mon 23 Nov 08:00 (5 h)"
    suppliers: int = 1  # how many suppliers have units of the step (supplier: the oldest batch's)


def outside_text(qty: int, supplier_name: str, since: dt.datetime, now: dt.datetime, tz, suppliers: int = 1) -> str:
    """How every screen says where units of an outside step are: '12 at supplier S since Mon 23 Nov 08:00 (5 h)'.

    With units at several suppliers: '12 at 2 suppliers, oldest at S since …'.
    """
    local = to_plant(since, tz)
    when = local.strftime("%H:%M") if local.date() == plant_today(now, tz) else local.strftime("%a %d %b %H:%M")
    where = f"{suppliers} suppliers, oldest at {supplier_name}" if suppliers > 1 else f"supplier {supplier_name}"
    return f"{qty} at {where} since {when} ({format_duration((now - since).total_seconds())})"


@dataclass(frozen=True)
class StepView:
    seq: int
    stage: str
    name: str
    kind: str
    work_centre: str
    received: int
    completed: int
    rejected: int
    pending: int
    awaiting: int
    scrapped: int
    reworked: int
    rework_in: int
    state: str  # idle | waiting | in work | delayed | done
    waiting_since: dt.datetime | None
    waiting_seconds: float | None
    open_delay: DelayView | None
    # The rework lane (rules._complete): reworked units pending here, reworked units that failed
    # again here; at a QC step its passes split first-time / after rework (None at other steps),
    # at the last work step of a route the reworked units that left it (0 elsewhere).
    rework_here: int = 0
    rework_failed: int = 0
    passed_first_time: int | None = None
    passed_after_rework: int | None = None
    finished_after_rework: int = 0
    # An outside step (kind "outside"): units at a supplier (part of `pending`), and where.
    out: int = 0
    outside: OutsideView | None = None
    # Who answers for the stage (config owner / supervisor badge; "" when not set).
    owner: str = ""
    supervisor: str = ""


@dataclass(frozen=True)
class MaterialView:
    item: str
    description: str
    unit: str
    required: int
    needed: int
    issued: int
    returned: int
    scrapped: int
    net_issued: int
    short: int
    substitute_for: str | None
    # Units at the job beyond the requirement (an extra issue, with a reason; net of returns).
    extra: int = 0
    # Units of this line's requirement issued as a substitute item instead (on that item's line).
    substituted: int = 0


@dataclass(frozen=True)
class JobCard:
    """Everything the seed's job card holds, as of one read."""

    number: str
    order_ref: str
    customer: str
    product: str
    qty: int
    released: int
    routing: str
    planned_start: dt.date | None
    planned_end: dt.date | None
    priority: int
    initial_priority: int
    inspection: str
    notes: str
    status: str
    status_text: str
    flags: tuple[str, ...]
    completed: int  # through the last step (incl. dispatch)
    rejected: int
    finished: int  # through the last work step: ready_for_dispatch + dispatched
    ready_for_dispatch: int
    dispatched: int
    scrapped: int
    current_stage: str | None
    work_centre: str
    qc: str
    dispatch_status: str
    delay: DelayView | None  # the first open delay: at a step, else the job-level one
    steps: tuple[StepView, ...]
    material: tuple[MaterialView, ...]
    last_event_id: int
    as_of: dt.datetime
    job_delay: DelayView | None = None  # an open delay of the whole job (recorded without a step)
    rework: str | None = None  # e.g. "rework: 3 sent back → 2 passed, 1 at Painting"; None without rework
    # The step the job waits at (current_stage): its owner and supervisor badge from the config.
    owner: str = ""
    supervisor: str = ""
    # Units at suppliers, one line per outside step with units out (OutsideView.text).
    outside: tuple[str, ...] = ()

    def step(self, stage: str) -> StepView:
        for s in self.steps:
            if s.stage == stage:
                return s
        raise KeyError(stage)

    def to_json(self) -> dict:
        """The card as plain JSON types (dates ISO, timestamps ISO UTC with Z)."""
        data = asdict(self)
        data["flags"] = list(self.flags)
        return jsonable(data)


@dataclass(frozen=True)
class JobSummary:
    """One line of a job list."""

    number: str
    customer: str
    product: str
    qty: int
    priority: int
    planned_end: dt.date | None
    status: str
    flags: tuple[str, ...]
    current_stage: str | None


@dataclass(frozen=True)
class LastEntry:
    uuid: str
    job: str
    message: str
    committed_at: dt.datetime


@dataclass(frozen=True)
class RecentEntry:
    """One of a terminal's latest entries, for the kiosk's "your last entries" list."""

    uuid: str
    job: str
    kind: str
    words: str  # e.g. "complete 5 at Welding", "dispatch 5 · ref DN-4411", "qc pass 8 at Final QC · edge ok"
    committed_at: dt.datetime
    client_time: dt.datetime
    voided: bool
    voided_by: str | None  # the name of the person who voided it
    note: str = ""  # the entry's note, whatever its kind (also at the end of `words`, cut short)


def _with_note(words: str, note: str, limit: int = 60) -> str:
    """An entry's words with its note after them, cut to `limit` characters, for one-line lists."""
    note = " ".join(note.split())  # one line
    if not note:
        return words
    return f"{words} · {note if len(note) <= limit else note[: limit - 1] + '…'}"


@dataclass(frozen=True)
class OperatorView:
    badge: str
    name: str
    role: str
    active: bool


def step_state(step: StepState) -> str:
    if step.delay_reason:
        return "delayed"
    if step.out > 0 and step.at_plant <= 0:
        return "at supplier"
    if step.started and step.pending > 0:
        return "in work"
    if step.pending > 0:
        return "waiting"
    if step.received > 0:
        return "done"
    return "idle"


def derive_status(state: JobState) -> str:
    """The job's status from its balances (never typed in)."""
    if state.released == 0:
        return "planned"
    if not state.is_open:
        return "dispatched" if state.dispatched else "closed"
    before_qc = sum(s.pending + s.awaiting for s in state.steps if s.kind in ("work", "pack", "outside"))
    at_qc = sum(s.pending + s.awaiting for s in state.steps if s.kind == "qc")
    if before_qc > 0:
        first = state.steps[0]
        untouched = (
            all(s.received == 0 for s in state.steps[1:])
            and not first.started
            and first.completed == 0
            and first.rejected == 0
        )
        return "released" if untouched else "in progress"
    if at_qc > 0:
        return "QC pending"
    if state.ready_for_dispatch > 0:
        return "ready for dispatch"
    if state.released < state.qty:
        return "in progress" if state.dispatched else "released"
    return "dispatched"


def status_text(state: JobState, status: str) -> str:
    """Status with the quantities a partial state needs, e.g. 'in progress (20 of 100 dispatched)'."""
    parts = []
    if 0 < state.released < state.qty:
        parts.append(f"{state.released} of {state.qty} released")
    if state.dispatched and status != "dispatched":
        parts.append(f"{state.dispatched} of {state.qty} dispatched")
    if status == "dispatched" and state.dispatched < state.qty:
        parts.append(f"{state.dispatched} of {state.qty}")
    ready = state.ready_for_dispatch
    if ready and status != "ready for dispatch":
        parts.append(f"{ready} ready for dispatch")
    if state.scrapped:
        parts.append(f"{state.scrapped} scrapped")
    return f"{status} ({', '.join(parts)})" if parts else status


def derive_flags(state: JobState, planned_end: dt.date | None, today: dt.date) -> tuple[str, ...]:
    flags = []
    if state.delay_reason or any(s.delay_reason for s in state.steps):
        flags.append("delayed")
    if state.is_open and planned_end is not None and planned_end < today:
        flags.append("late")
    # Before release nothing is blocked yet: stores issue material as jobs are released.
    if state.is_open and state.released > 0 and any(line.short for line in state.materials.values()):
        flags.append("material short")
    if any(s.awaiting or s.rework_here for s in state.steps):
        flags.append("rework pending")
    if state.priority_changed:
        flags.append("priority changed")
    if state.on_hold:
        flags.append("on hold")
    return tuple(flags)


def qc_status(state: JobState) -> str:
    qc_steps = [s for s in state.steps if s.kind == "qc"]
    if not qc_steps:
        return "no QC step"
    texts = []
    for s in qc_steps:
        if s.received == 0:
            texts.append(f"{s.name}: not reached")
            continue
        again = f" ({s.passed_after_rework} after rework)" if s.passed_after_rework else ""
        bits = [f"{s.completed} passed{again}"]
        if s.rejected:
            bits.append(f"{s.rejected} failed")
        if s.pending:
            bits.append(f"{s.pending} to inspect")
        texts.append(f"{s.name}: {', '.join(bits)}")
    return "; ".join(texts)


def dispatch_status(state: JobState) -> str:
    ready = state.ready_for_dispatch
    if state.dispatched == 0:
        return f"{ready} ready, none dispatched" if ready else "none dispatched"
    if state.dispatched >= state.qty:
        return "all dispatched"
    text = f"{state.dispatched} of {state.qty} dispatched"
    return f"{text}, {ready} ready" if ready else text


def build_card(
    job,
    state: JobState,
    work_centres: dict[str, str],
    now: dt.datetime,
    tz,
    label: Callable[[str, str], str],
    owners: dict[str, tuple[str, str]] | None = None,
) -> JobCard:
    """The job card from a job's header fields and balances; no store access (the kiosk's offline copy uses it too).

    `job` is anything with the Job header attributes; `label(list, code)` names a reason
    (`label("supplier", code)` a supplier); `owners` maps a stage to its (owner, supervisor badge).
    """
    today = plant_today(now, tz)
    owners = owners or {}
    steps = tuple(
        step_view(s, work_centres.get(s.stage, ""), now, label, tz=tz, owner=owners.get(s.stage, ("", "")))
        for s in state.steps
    )
    material = tuple(
        MaterialView(
            item=l.item,
            description=l.description,
            unit=l.unit,
            required=l.required,
            needed=l.needed,
            issued=l.issued,
            returned=l.returned,
            scrapped=l.scrapped,
            net_issued=l.net_issued,
            short=l.short,
            substitute_for=l.substitute_for,
            extra=l.extra,
            substituted=l.sub_out,
        )
        for l in state.materials.values()
    )
    current = next((s for s in steps if s.pending > 0 or s.awaiting > 0), None)
    job_delay = None
    if state.delay_reason:
        since = state.delay_since or now
        job_delay = DelayView(
            state.delay_reason, label("delay", state.delay_reason), since, (now - since).total_seconds()
        )
    delay = next((s.open_delay for s in steps if s.open_delay), job_delay)
    status = derive_status(state)
    return JobCard(
        number=job.number,
        order_ref=job.order_ref,
        customer=job.customer,
        product=job.product,
        qty=job.qty,
        released=state.released,
        routing=job.routing,
        planned_start=job.planned_start,
        planned_end=job.planned_end,
        priority=state.priority,
        initial_priority=job.initial_priority,
        inspection=job.inspection,
        notes=job.notes,
        status=status,
        status_text=status_text(state, status),
        flags=derive_flags(state, job.planned_end, today),
        completed=state.steps[-1].completed,
        rejected=sum(s.rejected for s in state.steps),
        finished=state.finished,
        ready_for_dispatch=state.ready_for_dispatch,
        dispatched=state.dispatched,
        scrapped=state.scrapped,
        current_stage=current.stage if current else None,
        work_centre=current.work_centre if current else "",
        qc=qc_status(state),
        dispatch_status=dispatch_status(state),
        delay=delay,
        steps=steps,
        material=material,
        last_event_id=job.last_event_id,
        as_of=now,
        job_delay=job_delay,
        rework=rework_line(state),
        owner=current.owner if current else "",
        supervisor=current.supervisor if current else "",
        outside=tuple(f"{s.name}: {s.outside.text}" for s in steps if s.outside),
    )


def step_view(
    s: StepState,
    work_centre: str,
    now: dt.datetime,
    label: Callable[[str, str], str],
    *,
    tz=None,
    owner: tuple[str, str] = ("", ""),
) -> StepView:
    outside = None
    if s.out > 0 and s.out_since is not None:
        name = label("supplier", s.out_supplier or "")
        text = outside_text(s.out, name, s.out_since, now, tz or dt.timezone.utc, s.out_suppliers)
        waited = (now - s.out_since).total_seconds()
        outside = OutsideView(s.out, s.out_supplier or "", name, s.out_since, waited, text, max(1, s.out_suppliers))
    delay = None
    if s.delay_reason:
        delay = DelayView(
            s.delay_reason, label("delay", s.delay_reason), s.delay_since, (now - s.delay_since).total_seconds()
        )
    waited = (now - s.waiting_since).total_seconds() if s.waiting_since else None
    return StepView(
        seq=s.seq,
        stage=s.stage,
        name=s.name,
        kind=s.kind,
        work_centre=work_centre,
        received=s.received,
        completed=s.completed,
        rejected=s.rejected,
        pending=s.pending,
        awaiting=s.awaiting,
        scrapped=s.scrapped,
        reworked=s.reworked,
        rework_in=s.rework_in,
        state=step_state(s),
        waiting_since=s.waiting_since,
        waiting_seconds=waited,
        open_delay=delay,
        rework_here=s.rework_here,
        rework_failed=s.rework_failed,
        passed_first_time=s.passed_first_time if s.kind == "qc" else None,
        passed_after_rework=s.passed_after_rework if s.kind == "qc" else None,
        finished_after_rework=s.passed_after_rework if s.kind != "qc" else 0,
        out=s.out,
        outside=outside,
        owner=owner[0],
        supervisor=owner[1],
    )


def stage_owners(config: Config) -> dict[str, tuple[str, str]]:
    """Each stage's (owner, supervisor badge) from the config, for the card and the board."""
    return {s.code: (s.owner, s.supervisor) for s in config.stages}


class Queries:
    """Read access for screens and the CLI. `clock` is injectable for tests and snapshots."""

    def __init__(self, config: Config, clock: Callable[[], dt.datetime] = utcnow):
        self.config = config
        self.clock = clock

    def _job(self, number: str) -> m.Job:
        number = parse_job_number(number)
        job = m.Job.get_or_none(m.Job.number == number)
        if job is None:
            raise DomainError(f"No job {number}")
        return job

    def job_card(self, number: str) -> JobCard:
        """The job card of one job; DomainError 'No job X' if there is none."""
        with m.database.atomic():
            job = self._job(number)
            state = load_state(job)
        return self.card_from_state(job, state)

    def job_card_json(self, number: str) -> dict:
        """The card as JSON with the job's flow figures (docs/flow.md): what `jobs show --json` prints.

        The figures replay the job's ledger, so only this JSON pays for them, never the kiosk's card.
        """
        with m.database.atomic():
            job = self._job(number)
            state = load_state(job)
            figures = job_flow(job, self.config, self.clock()).to_json()
        data = self.card_from_state(job, state).to_json()
        steps = figures.pop("steps")
        for step in data["steps"]:
            step.update(steps[step["stage"]])
        data.update(figures)
        return data

    def card_from_state(self, job: m.Job, state: JobState) -> JobCard:
        now = self.clock()
        work_centres = {
            s.stage: s.work_centre
            for s in m.JobStep.select(m.JobStep.stage, m.JobStep.work_centre).where(m.JobStep.job == job.id)
        }
        return build_card(job, state, work_centres, now, self.config.tz, self._label, stage_owners(self.config))

    def _label(self, kind: str, code: str) -> str:
        if kind == "supplier":
            return self.config.supplier_name(code)
        try:
            return self.config.reason_label(kind, code)
        except KeyError:
            return code  # a reason removed from the config since: show its code

    def find_jobs(self, text: str, *, stages: tuple[str, ...] | None = None, limit: int = 20) -> list[JobSummary]:
        """Open jobs whose number contains `text`, those with quantity at `stages` only if given."""
        needle = parse_job_number(text)
        query = m.Job.select().where(m.Job.is_open & m.Job.number.contains(needle))
        if stages:
            at_stage = m.StepBalance.select(m.StepBalance.job).where(
                m.StepBalance.stage.in_(stages) & ((m.StepBalance.pending > 0) | (m.StepBalance.awaiting > 0))
            )
            query = query.where(m.Job.id.in_(at_stage))
        query = query.order_by(m.Job.number.startswith(needle).desc(), m.Job.priority, m.Job.number).limit(limit)
        return self._summaries(list(query))

    def list_jobs(
        self,
        *,
        status: str | None = None,
        stage: str | None = None,
        include_closed: bool = False,
        limit: int | None = None,
    ) -> list[JobSummary]:
        """Jobs sorted by priority then planned completion; filter by derived status or by stage with quantity."""
        if status is not None and status not in STATUSES:
            raise DomainError(f"Unknown status {status!r}; choose one of: {', '.join(STATUSES)}")
        query = m.Job.select()
        if not include_closed and status not in ("dispatched", "closed"):
            query = query.where(m.Job.is_open)
        if stage is not None:
            try:
                self.config.stage(stage)
            except KeyError:
                known = ", ".join(s.code for s in self.config.stages)
                raise DomainError(f"Unknown stage {stage!r}; the stages are: {known}") from None
            at_stage = m.StepBalance.select(m.StepBalance.job).where(
                (m.StepBalance.stage == stage) & ((m.StepBalance.pending > 0) | (m.StepBalance.awaiting > 0))
            )
            query = query.where(m.Job.id.in_(at_stage))
        query = query.order_by(m.Job.priority, m.Job.planned_end.asc(nulls="LAST"), m.Job.number)
        summaries = self._summaries(list(query))
        if status is not None:
            summaries = [s for s in summaries if s.status == status]
        return summaries[:limit] if limit else summaries

    def _summaries(self, jobs: list[m.Job]) -> list[JobSummary]:
        if not jobs:
            return []
        today = plant_today(self.clock(), self.config.tz)
        states = load_states(jobs)
        out = []
        for job in jobs:
            state = states[job.id]
            current = next((s for s in state.steps if s.pending > 0 or s.awaiting > 0), None)
            out.append(
                JobSummary(
                    number=job.number,
                    customer=job.customer,
                    product=job.product,
                    qty=job.qty,
                    priority=state.priority,
                    planned_end=job.planned_end,
                    status=derive_status(state),
                    flags=derive_flags(state, job.planned_end, today),
                    current_stage=current.stage if current else None,
                )
            )
        return out

    def operators(self, *, include_disabled: bool = False) -> list[OperatorView]:
        """Operators by role then name."""
        query = m.Operator.select().order_by(m.Operator.role, m.Operator.name)
        if not include_disabled:
            query = query.where(m.Operator.active)
        return [OperatorView(o.badge, o.name, o.role, o.active) for o in query]

    def operator(self, badge: str) -> OperatorView | None:
        """The operator with this badge, or None."""
        o = m.Operator.get_or_none(m.Operator.badge == badge)
        return OperatorView(o.badge, o.name, o.role, o.active) if o else None

    def last_entry(self, badge: str) -> LastEntry | None:
        """The operator's newest entry that 'undo' would void: not a void, not voided, not a job's creation."""
        e = m.Event
        voided = e.select(e.voids).where(e.voids.is_null(False))
        event = (
            e.select()
            .where(
                (e.operator == m.Operator.select(m.Operator.id).where(m.Operator.badge == badge))
                & e.kind.not_in(("void", *PLANNING_KINDS))
                & e.uuid.not_in(voided)
            )
            .order_by(e.id.desc())
            .first()
        )
        if event is None:
            return None
        return LastEntry(
            uuid=event.uuid,
            job=m.Job.get_by_id(event.job_id).number,
            message=describe_event(event, self.config),
            committed_at=event.committed_at,
        )

    def recent_entries(self, terminal: str, badge: str | None = None, limit: int = 5) -> list[RecentEntry]:
        """This terminal's newest entries (only `badge`'s if given), newest first; a void is not listed,
        it marks the entry it cancels as voided."""
        e = m.Event
        with m.database.atomic():
            # The (terminal, id) and (terminal, operator, id) indexes hand these over newest first:
            # a few index rows read, however large the ledger (schema 2). The step comes joined in,
            # so describing an entry costs no query; its id too, or peewee would blank step_id.
            query = (
                e.select(e, m.Job.id, m.Job.number, m.JobStep.id, m.JobStep.name)
                .join(m.Job, on=(e.job == m.Job.id))
                .switch(e)
                .join(m.JobStep, peewee.JOIN.LEFT_OUTER, on=(e.step == m.JobStep.id))
                .where((e.terminal == terminal) & (e.kind != "void"))
            )
            if badge is not None:
                query = query.where(e.operator == m.Operator.select(m.Operator.id).where(m.Operator.badge == badge))
            events = list(query.order_by(e.id.desc()).limit(limit))
            if not events:
                return []
            voided_by = dict(
                e.select(e.voids, m.Operator.name)
                .join(m.Operator)
                .where(e.voids.in_([x.uuid for x in events]))
                .tuples()
            )
            return [
                RecentEntry(
                    uuid=x.uuid,
                    job=x.job.number,
                    kind=x.kind,
                    words=_with_note(describe_event(x, self.config), x.note),
                    committed_at=x.committed_at,
                    client_time=x.client_time,
                    voided=x.uuid in voided_by,
                    voided_by=voided_by.get(x.uuid),
                    note=x.note,
                )
                for x in events
            ]

    def history(self, number: str) -> list[dict]:
        """The job's entries newest first, voided ones marked with the void's reason."""
        job = self._job(number)
        events = list(
            m.Event.select(m.Event, m.Operator)
            .join(m.Operator)
            .where(m.Event.job == job.id)
            .order_by(m.Event.id.desc())
        )
        steps = {s.id: s.name for s in m.JobStep.select().where(m.JobStep.job == job.id)}
        voids = {e.voids: e for e in events if e.kind == "void"}
        typed_in = {e.recorded_by_id for e in events if e.recorded_by_id}  # entries imported for their operator
        badges = (
            dict(m.Operator.select(m.Operator.id, m.Operator.badge).where(m.Operator.id.in_(typed_in)).tuples())
            if typed_in
            else {}
        )
        rows = []
        for e in events:
            void = voids.get(e.uuid)
            rows.append(
                {
                    "id": e.id,
                    "uuid": e.uuid,
                    "kind": e.kind,
                    "qty": e.qty,
                    "step": steps.get(e.step_id),
                    "to_step": steps.get(e.to_step_id),
                    "reason": e.reason,
                    "item": e.item,
                    "item2": e.item2,
                    "note": e.note,
                    "operator": e.operator.name,
                    "badge": e.operator.badge,
                    "terminal": e.terminal,
                    "login_user": e.login_user,
                    "client_time": e.client_time,
                    "committed_at": e.committed_at,
                    "voided": void is not None,
                    "void_reason": void.note if void else None,
                    "voids": e.voids,
                    "reference": e.reference,
                    "recorded_by": badges.get(e.recorded_by_id),
                }
            )
        return rows

    def export_events(self, since_id: int = 0, batch: int = 5000) -> Iterator[dict]:
        """Every event after `since_id` in id order, as flat dicts (for CSV/JSONL export)."""
        last = since_id
        while True:
            with m.database.atomic():
                rows = list(
                    m.Event.select(m.Event, m.Job.number, m.Operator.badge, m.JobStep.stage)
                    .join(m.Job, on=(m.Event.job == m.Job.id))
                    .switch(m.Event)
                    .join(m.Operator, on=(m.Event.operator == m.Operator.id))
                    .switch(m.Event)
                    .join(m.JobStep, peewee.JOIN.LEFT_OUTER, on=(m.Event.step == m.JobStep.id))
                    .where(m.Event.id > last)
                    .order_by(m.Event.id)
                    .limit(batch)
                    .objects()
                )
            if not rows:
                return
            for e in rows:
                yield {
                    "id": e.id,
                    "uuid": e.uuid,
                    "job": e.number,
                    "stage": getattr(e, "stage", None),
                    "kind": e.kind,
                    "qty": e.qty,
                    "reason": e.reason,
                    "item": e.item,
                    "item2": e.item2,
                    "note": e.note,
                    "operator": e.badge,
                    "terminal": e.terminal,
                    "login_user": e.login_user,
                    "client_time": jsonable(e.client_time),
                    "committed_at": jsonable(e.committed_at),
                    "voids": e.voids,
                    "reference": e.reference,
                }
            last = rows[-1].id
