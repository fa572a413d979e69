"""The ledger's quantity rules as pure functions: one job's state, and how each event moves it.

DESIGN.md §3. The same `apply` is used to write an entry (on the balances loaded from the
store), to void one (replaying the job's events without it) and to verify the store
(replaying everything). Nothing here touches the database.

For stage step i of a job with released quantity R:
    received(i)  = R (first step) or completed(i-1), plus rework sent to i
    pending(i)   = received(i) - completed(i) - rejected(i)          >= 0
    awaiting(i)  = rejected(i) - reworked(i) - scrapped(i)           >= 0
    finished     = completed(last) - dispatched                      >= 0
    R = sum pending + sum awaiting + sum scrapped + finished + dispatched
A dispatch-kind step (always last in a routing) is completed by dispatching, so there
`finished` stays 0 and the quantity ready for dispatch is the pending at that step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from floorterm.clock import format_duration
from floorterm.errors import DomainError

STEP_KINDS = ("start", "complete", "reject", "rework", "scrap", "delay", "resume", "qc_pass", "qc_fail")
MATERIAL_KINDS = ("material_issue", "material_return", "material_scrap", "material_substitute")
JOB_KINDS = ("release", "dispatch", "priority", "hold", "unhold", "note")
KINDS = STEP_KINDS + MATERIAL_KINDS + JOB_KINDS + ("void",)
# Entries only the planning commands write (a job created, by whom, from which file): they move
# no quantity, cannot be recorded like the KINDS above and cannot be voided.
PLANNING_KINDS = ("job_created",)
# Entries that move quantity at a step; refused while the job is on hold.
HELD_KINDS = ("start", "complete", "reject", "qc_pass", "qc_fail", "dispatch", "release")


@dataclass
class StepState:
    seq: int
    stage: str
    name: str
    kind: str
    received: int = 0
    completed: int = 0
    rejected: int = 0
    reworked: int = 0
    scrapped: int = 0
    rework_in: int = 0
    started: bool = False
    waiting_since: dt.datetime | None = None
    delay_reason: str | None = None
    delay_since: dt.datetime | None = None
    delay_event_id: int | None = None
    step_id: int | None = None  # the JobStep row, when loaded from the store

    @property
    def pending(self) -> int:
        return self.received - self.completed - self.rejected

    @property
    def awaiting(self) -> int:
        return self.rejected - self.reworked - self.scrapped


@dataclass
class MaterialState:
    item: str
    required: int
    description: str = ""
    unit: str = "pcs"
    substitute_for: str | None = None
    issued: int = 0
    returned: int = 0
    scrapped: int = 0
    sub_out: int = 0
    sub_in: int = 0

    @property
    def net_issued(self) -> int:
        return self.issued - self.returned - self.scrapped

    @property
    def needed(self) -> int:
        """Requirement after substitutions moved part of it to another item."""
        return self.required - self.sub_out + self.sub_in

    @property
    def short(self) -> int:
        return max(0, self.needed - self.net_issued)


@dataclass(frozen=True)
class Fact:
    """The parts of an event that the rules read."""

    kind: str
    at: dt.datetime
    stage: str | None = None
    to_stage: str | None = None
    qty: int = 0
    reason: str | None = None
    item: str | None = None
    item2: str | None = None
    event_id: int | None = None


@dataclass
class JobState:
    number: str
    qty: int
    initial_priority: int
    steps: list[StepState]
    materials: dict[str, MaterialState] = field(default_factory=dict)
    released: int = 0
    dispatched: int = 0
    priority: int = 5
    priority_changed: bool = False
    on_hold: bool = False

    def step(self, stage: str) -> StepState:
        for step in self.steps:
            if step.stage == stage:
                return step
        route = " → ".join(s.stage for s in self.steps)
        raise DomainError(f"Job {self.number} has no {stage} step (its route: {route})")

    def next_step(self, step: StepState) -> StepState | None:
        return self.steps[step.seq] if step.seq < len(self.steps) else None

    @property
    def dispatch_step(self) -> StepState | None:
        last = self.steps[-1]
        return last if last.kind == "dispatch" else None

    @property
    def finished(self) -> int:
        return self.steps[-1].completed - self.dispatched

    @property
    def scrapped(self) -> int:
        return sum(s.scrapped for s in self.steps)

    @property
    def is_open(self) -> bool:
        """Some of the ordered quantity is not yet dispatched or scrapped."""
        return self.qty - self.dispatched - self.scrapped > 0

    @property
    def ready_for_dispatch(self) -> int:
        step = self.dispatch_step
        return step.pending if step is not None else self.finished

    def conservation_errors(self) -> list[str]:
        """Every broken ledger invariant, in words; empty when the job balances."""
        errors = []
        for s in self.steps:
            for name in ("pending", "awaiting"):
                if getattr(s, name) < 0:
                    errors.append(f"{s.stage}: {name} is {getattr(s, name)}")
        if self.finished < 0:
            errors.append(f"finished is {self.finished}")
        if not 0 <= self.released <= self.qty:
            errors.append(f"released {self.released} outside 0..{self.qty}")
        total = (
            sum(s.pending for s in self.steps)
            + sum(s.awaiting for s in self.steps)
            + self.scrapped
            + self.finished
            + self.dispatched
        )
        if total != self.released:
            errors.append(f"quantities add up to {total}, released is {self.released}")
        for m in self.materials.values():
            if m.net_issued < 0:
                errors.append(f"material {m.item}: net issued is {m.net_issued}")
        return errors


def _qty_at_least_one(qty: int) -> None:
    if qty < 1:
        raise DomainError("Quantity must be at least 1")


def _moved(step: StepState, before: int, at: dt.datetime) -> None:
    """Keep the waiting clock and the in-work flag in step with the pending quantity."""
    after = step.pending
    if after <= 0:
        step.waiting_since = None
        step.started = False
    elif before <= 0:
        step.waiting_since = at


def _receive(step: StepState, qty: int, at: dt.datetime) -> None:
    before = step.pending
    step.received += qty
    _moved(step, before, at)


def _take_pending(step: StepState, qty: int, verb: str) -> None:
    _qty_at_least_one(qty)
    if qty > step.pending:
        raise DomainError(f"Only {step.pending} pending at {step.name}; cannot {verb} {qty}")


def _take_awaiting(step: StepState, qty: int, verb: str) -> None:
    _qty_at_least_one(qty)
    if qty > step.awaiting:
        raise DomainError(f"Only {step.awaiting} rejected at {step.name} waiting for a decision; cannot {verb} {qty}")


def _require_kind(step: StepState, fact: Fact) -> None:
    if fact.kind in ("complete", "reject") and step.kind == "qc":
        raise DomainError(f"{step.name} is a QC step: record a QC pass or fail there")
    if fact.kind in ("qc_pass", "qc_fail") and step.kind != "qc":
        raise DomainError(f"{step.name} is not a QC step: record complete or reject there")
    if fact.kind in ("complete", "reject", "start") and step.kind == "dispatch":
        raise DomainError(f"{step.name} is the dispatch step: record a dispatch there")


def apply(state: JobState, fact: Fact) -> None:
    """Move `state` by one event, or raise DomainError (state is then unusable)."""
    kind = fact.kind
    if state.on_hold and kind in HELD_KINDS:
        raise DomainError(f"Job {state.number} is on hold; a supervisor must take it off hold first")
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise DomainError(f"Unknown entry kind {kind!r}")
    handler(state, fact)


def _release(state: JobState, fact: Fact) -> None:
    _qty_at_least_one(fact.qty)
    room = state.qty - state.released
    if fact.qty > room:
        raise DomainError(
            f"Job {state.number} is for {state.qty}; {state.released} already released, "
            f"so at most {room} more can be released"
        )
    state.released += fact.qty
    _receive(state.steps[0], fact.qty, fact.at)


def _start(state: JobState, fact: Fact) -> None:
    step = state.step(fact.stage)
    _require_kind(step, fact)
    if step.pending <= 0:
        raise DomainError(f"Nothing is pending at {step.name} to start")
    if step.delay_reason:
        raise DomainError(f"{step.name} is delayed; resume it before starting")
    if step.started:
        raise DomainError(f"{step.name} is already in work")
    step.started = True


def _complete(state: JobState, fact: Fact) -> None:
    step = state.step(fact.stage)
    _require_kind(step, fact)
    _take_pending(step, fact.qty, "pass" if fact.kind == "qc_pass" else "complete")
    before = step.pending
    step.completed += fact.qty
    _moved(step, before, fact.at)
    nxt = state.next_step(step)
    if nxt is not None:
        _receive(nxt, fact.qty, fact.at)


def _reject(state: JobState, fact: Fact) -> None:
    step = state.step(fact.stage)
    _require_kind(step, fact)
    _take_pending(step, fact.qty, "fail" if fact.kind == "qc_fail" else "reject")
    before = step.pending
    step.rejected += fact.qty
    _moved(step, before, fact.at)


def _rework(state: JobState, fact: Fact) -> None:
    step = state.step(fact.stage)
    _take_awaiting(step, fact.qty, "rework")
    target = state.step(fact.to_stage or fact.stage)
    if target.seq > step.seq:
        raise DomainError(f"Rework from {step.name} can go back to {step.name} or an earlier step, not {target.name}")
    if target.kind == "dispatch":
        raise DomainError("Rework cannot be sent to the dispatch step")
    step.reworked += fact.qty
    target.rework_in += fact.qty
    _receive(target, fact.qty, fact.at)


def _scrap(state: JobState, fact: Fact) -> None:
    step = state.step(fact.stage)
    _take_awaiting(step, fact.qty, "scrap")
    step.scrapped += fact.qty


def _delay(state: JobState, fact: Fact) -> None:
    step = state.step(fact.stage)
    if step.delay_reason:
        raise DomainError(f"{step.name} already has an open delay ({step.delay_reason}); resume it first")
    if step.pending <= 0:
        raise DomainError(f"Nothing is pending at {step.name}; there is nothing to delay")
    step.delay_reason = fact.reason
    step.delay_since = fact.at
    step.delay_event_id = fact.event_id


def _resume(state: JobState, fact: Fact) -> None:
    step = state.step(fact.stage)
    if not step.delay_reason:
        raise DomainError(f"{step.name} has no open delay to resume")
    step.delay_reason = None
    step.delay_since = None
    step.delay_event_id = None


def _dispatch(state: JobState, fact: Fact) -> None:
    _qty_at_least_one(fact.qty)
    step = state.dispatch_step
    ready = state.ready_for_dispatch
    if fact.qty > ready:
        raise DomainError(f"Only {ready} of job {state.number} ready for dispatch; cannot dispatch {fact.qty}")
    if step is not None:
        before = step.pending
        step.completed += fact.qty
        _moved(step, before, fact.at)
    state.dispatched += fact.qty


def material_line(state: JobState, item: str | None) -> MaterialState:
    line = state.materials.get(item or "")
    if line is None:
        listed = ", ".join(sorted(state.materials)) or "none"
        raise DomainError(f"Item {item} is not on the material list of job {state.number} (listed: {listed})")
    return line


def _material_issue(state: JobState, fact: Fact) -> None:
    _qty_at_least_one(fact.qty)
    line = material_line(state, fact.item)
    if fact.qty > line.short:
        raise DomainError(
            f"Job {state.number} needs {line.needed} {line.unit} of {line.item} and "
            f"{line.net_issued} are issued; at most {line.short} more can be issued"
        )
    line.issued += fact.qty


def _material_return(state: JobState, fact: Fact) -> None:
    _qty_at_least_one(fact.qty)
    line = material_line(state, fact.item)
    if fact.qty > line.net_issued:
        raise DomainError(
            f"Only {line.net_issued} {line.unit} of {line.item} are issued to job {state.number}; "
            f"cannot return {fact.qty}"
        )
    line.returned += fact.qty


def _material_scrap(state: JobState, fact: Fact) -> None:
    _qty_at_least_one(fact.qty)
    line = material_line(state, fact.item)
    if fact.qty > line.net_issued:
        raise DomainError(
            f"Only {line.net_issued} {line.unit} of {line.item} are issued to job {state.number}; "
            f"cannot scrap {fact.qty}"
        )
    line.scrapped += fact.qty


def _material_substitute(state: JobState, fact: Fact) -> None:
    _qty_at_least_one(fact.qty)
    line = material_line(state, fact.item)
    if not fact.item2 or fact.item2 == fact.item:
        raise DomainError("Name the substitute item, different from the item it replaces")
    if fact.qty > line.short:
        raise DomainError(
            f"Only {line.short} {line.unit} of {line.item} are still to be issued; cannot substitute {fact.qty}"
        )
    sub = state.materials.get(fact.item2)
    if sub is None:
        sub = MaterialState(
            item=fact.item2,
            required=0,
            description=f"Substitute for {line.item}",
            unit=line.unit,
            substitute_for=line.item,
        )
        state.materials[fact.item2] = sub
    line.sub_out += fact.qty
    sub.sub_in += fact.qty
    sub.issued += fact.qty


def _priority(state: JobState, fact: Fact) -> None:
    if not 1 <= fact.qty <= 9:
        raise DomainError("Priority must be a whole number from 1 (most urgent) to 9")
    if fact.qty == state.priority:
        raise DomainError(f"Job {state.number} already has priority {fact.qty}")
    state.priority = fact.qty
    state.priority_changed = True


def _hold(state: JobState, fact: Fact) -> None:
    if state.on_hold:
        raise DomainError(f"Job {state.number} is already on hold")
    state.on_hold = True


def _unhold(state: JobState, fact: Fact) -> None:
    if not state.on_hold:
        raise DomainError(f"Job {state.number} is not on hold")
    state.on_hold = False


def _note(state: JobState, fact: Fact) -> None:
    if fact.stage:
        state.step(fact.stage)


def _job_created(state: JobState, fact: Fact) -> None:
    """The job as created is the state replay starts from: nothing moves."""


_HANDLERS = {
    "release": _release,
    "start": _start,
    "complete": _complete,
    "qc_pass": _complete,
    "reject": _reject,
    "qc_fail": _reject,
    "rework": _rework,
    "scrap": _scrap,
    "delay": _delay,
    "resume": _resume,
    "dispatch": _dispatch,
    "material_issue": _material_issue,
    "material_return": _material_return,
    "material_scrap": _material_scrap,
    "material_substitute": _material_substitute,
    "priority": _priority,
    "hold": _hold,
    "unhold": _unhold,
    "note": _note,
    "job_created": _job_created,
}


def describe(
    state: JobState,
    fact: Fact,
    reason_label: str | None = None,
    *,
    now: dt.datetime | None = None,
    previous_priority: int | None = None,
    delay_since: dt.datetime | None = None,
) -> str:
    """The confirmation a person reads after the entry landed, e.g. 'Welding: 20 done → Assembly (12 still pending)'."""
    kind, qty = fact.kind, fact.qty
    why = f" ({reason_label})" if reason_label else ""
    if kind in STEP_KINDS:
        step = state.step(fact.stage)
        if kind in ("complete", "qc_pass"):
            verb = "passed" if kind == "qc_pass" else "done"
            nxt = state.next_step(step)
            where = nxt.name if nxt is not None else "finished"
            return f"{step.name}: {qty} {verb} → {where} ({step.pending} still pending)"
        if kind in ("reject", "qc_fail"):
            verb = "failed" if kind == "qc_fail" else "rejected"
            return f"{step.name}: {qty} {verb}{why} — waiting for rework or scrap"
        if kind == "rework":
            target = state.step(fact.to_stage or fact.stage)
            return f"{step.name}: {qty} sent to rework at {target.name}"
        if kind == "scrap":
            return f"{step.name}: {qty} scrapped{why}"
        if kind == "delay":
            return f"{step.name} delayed{why}"
        if kind == "resume":
            took = ""
            if delay_since is not None and now is not None:
                took = f" after {format_duration((now - delay_since).total_seconds())}"
            return f"{step.name} resumed{took}{why}"
        if kind == "start":
            return f"{step.name} started ({step.pending} pending)"
    if kind == "release":
        return f"Released {qty} of {state.qty} → {state.steps[0].name} ({state.released} released in all)"
    if kind == "dispatch":
        return f"Dispatched {qty} ({state.dispatched} of {state.qty} dispatched in all)"
    if kind in MATERIAL_KINDS:
        line = state.materials[fact.item]
        verbs = {"material_issue": "Issued", "material_return": "Returned", "material_scrap": "Scrapped"}
        if kind == "material_substitute":
            return f"Issued {qty} {line.unit} of {fact.item2} in place of {fact.item}"
        short = f", still short {line.short}" if line.short else ""
        return f"{verbs[kind]} {qty} {line.unit} of {line.item}{why}{short}"
    if kind == "priority":
        return f"Job {state.number}: priority {previous_priority} → {state.priority}"
    if kind == "hold":
        return f"Job {state.number} is on hold"
    if kind == "unhold":
        return f"Job {state.number} is off hold"
    if kind == "note":
        return f"Note added to job {state.number}"
    return f"{kind} recorded"
