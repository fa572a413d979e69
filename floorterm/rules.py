"""The ledger's quantity rules as pure functions: one job's state, and how each event moves it.

DESIGN.md §3. The same `apply` is used to write an entry (on the balances loaded from the
store), to void one (replaying the job's events without it) and to verify the store
(replaying everything). Nothing here touches the database.

For stage step i of a job with released quantity R:
    received(i)  = R (first step) or completed(i-1), plus rework sent to i
    pending(i)   = received(i) - completed(i) - rejected(i)          >= 0
    awaiting(i)  = rejected(i) - reworked(i) - scrapped(i)           >= 0
    ready        = pending at the dispatch step, or (a routing without one)
                   completed(last) - dispatched                      >= 0
    finished     = ready + dispatched: units through the last work step
    R = sum pending (dispatch step excluded) + sum awaiting + sum scrapped + ready + dispatched
A dispatch-kind step (always last in a routing) is completed by dispatching.

A material line (whole units of its unit):
    needed  = required - sub_out + sub_in        (substitutions move requirement between lines)
    short   = needed - (issued - scrapped)       >= 0: still to issue; a return is surplus going
                                                  back and never makes a line short
    extra   = (issued - returned - scrapped) - needed  >= 0: at the job beyond the requirement
An issue beyond `short` is an extra issue and needs a reason (the `extra_issue` pick-list).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from floorterm.clock import format_duration
from floorterm.errors import DomainError

STEP_KINDS = (
    "start",
    "complete",
    "reject",
    "rework",
    "scrap",
    "delay",
    "resume",
    "qc_pass",
    "qc_fail",
    "send",
    "receive",
)
# Entries of an outside stage (galvanising, plating): units leave for a supplier and come back.
OUTSIDE_KINDS = ("send", "receive")
MATERIAL_KINDS = ("material_issue", "material_return", "material_scrap", "material_substitute")
JOB_KINDS = ("release", "dispatch", "priority", "hold", "unhold", "note")
KINDS = STEP_KINDS + MATERIAL_KINDS + JOB_KINDS + ("void",)
# Entries only the planning commands write (a job created, by whom, from which file): they move
# no quantity, cannot be recorded like the KINDS above and cannot be voided.
PLANNING_KINDS = ("job_created",)
# Step entries that may also be recorded without a step, for the whole job.
JOB_OR_STEP_KINDS = ("delay", "resume")
# Entries that move quantity at a step; refused while the job is on hold.
HELD_KINDS = ("start", "complete", "reject", "qc_pass", "qc_fail", "dispatch", "release", "send", "receive")


@dataclass
class OutBatch:
    """Units of one send still at the supplier (an outside step); received first in, first out."""

    supplier: str
    qty: int
    at: dt.datetime
    reference: str | None = None


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
    # The rework lane (see _complete): reworked units among `pending` here, reworked units that
    # failed again here, and at a QC step the passes split into first-time and after-rework.
    rework_here: int = 0
    rework_failed: int = 0
    passed_first_time: int = 0
    passed_after_rework: int = 0
    started: bool = False
    waiting_since: dt.datetime | None = None
    delay_reason: str | None = None
    delay_since: dt.datetime | None = None
    delay_event_id: int | None = None
    step_id: int | None = None  # the JobStep row, when loaded from the store
    # An outside step: units sent to suppliers in all; the oldest batch still out (supplier,
    # since). `batches` lists every batch still out; only a replay of the ledger fills it.
    sent: int = 0
    out_supplier: str | None = None
    out_since: dt.datetime | None = None
    out_suppliers: int = 0  # how many suppliers have units of this step
    batches: list[OutBatch] = field(default_factory=list, compare=False)

    @property
    def out(self) -> int:
        """Units at a supplier: sent and not yet received back (good or rejected)."""
        return self.sent - self.completed - self.rejected if self.kind == "outside" else 0

    @property
    def at_plant(self) -> int:
        """Pending units still in the plant (at an outside step: not yet sent)."""
        return self.pending - self.out

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
        """Still to issue: returns are surplus and never re-open a shortage; scrapped (lost) units do."""
        return max(0, self.needed - (self.issued - self.scrapped))

    @property
    def extra(self) -> int:
        """Units at the job beyond the requirement (issued with an extra-issue reason, net of returns)."""
        return max(0, self.net_issued - self.needed)


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
    reference: str | None = None  # a send's delivery note


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
    # An open job-level delay (a delay recorded without a step): information and time, no hold.
    delay_reason: str | None = None
    delay_since: dt.datetime | None = None
    delay_event_id: int | None = None

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
        """Units through the last work step: ready for dispatch + dispatched."""
        return self.ready_for_dispatch + self.dispatched

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
        return step.pending if step is not None else self.steps[-1].completed - self.dispatched

    def conservation_errors(self) -> list[str]:
        """Every broken ledger invariant, in words; empty when the job balances."""
        errors = []
        for s in self.steps:
            for name in ("pending", "awaiting", "out", "at_plant"):
                if getattr(s, name) < 0:
                    errors.append(f"{s.stage}: {name} is {getattr(s, name)}")
        if self.ready_for_dispatch < 0:
            errors.append(f"ready for dispatch is {self.ready_for_dispatch}")
        if not 0 <= self.released <= self.qty:
            errors.append(f"released {self.released} outside 0..{self.qty}")
        total = (
            sum(s.pending for s in self.steps if s.kind != "dispatch")
            + sum(s.awaiting for s in self.steps)
            + self.scrapped
            + self.ready_for_dispatch
            + self.dispatched
        )
        if total != self.released:
            errors.append(f"quantities add up to {total}, released is {self.released}")
        lane = sum(s.passed_after_rework + s.rework_failed + s.rework_here for s in self.steps)
        if lane != sum(s.rework_in for s in self.steps):
            errors.append(f"rework sent back {sum(s.rework_in for s in self.steps)}, accounted for {lane}")
        for s in self.steps:
            if not 0 <= s.rework_here <= max(s.pending, 0):
                errors.append(f"{s.stage}: {s.rework_here} reworked units among {s.pending} pending")
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
    if fact.kind in ("complete", "start") and step.kind == "outside":
        raise DomainError(f"{step.name} is done outside: record a send to the supplier and a receive there")
    if fact.kind in OUTSIDE_KINDS and step.kind != "outside":
        raise DomainError(f"{step.name} is not an outside step: nothing is sent to a supplier there")


def apply(state: JobState, fact: Fact, *, history: bool = False) -> None:
    """Move `state` by one event, or raise DomainError (state is then unusable).

    `history`: the event is already in the ledger (verify, void, reports): rules about what a
    new entry must carry (a reason for an extra issue) are not asked again, only quantities.
    """
    kind = fact.kind
    if kind == "material_issue" and not history:
        _check_extra_issue(state, fact)
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


def _send(state: JobState, fact: Fact) -> None:
    """Units pending at an outside step leave for a supplier; they stay pending there until received."""
    step = state.step(fact.stage)
    _require_kind(step, fact)
    _qty_at_least_one(fact.qty)
    if fact.qty > step.at_plant:
        out = f" ({step.out} already at a supplier)" if step.out else ""
        raise DomainError(f"Only {step.at_plant} pending at {step.name} to send{out}; cannot send {fact.qty}")
    unknown = step.out > 0 and not step.batches  # balances as stored: the batches out are not known
    step.sent += fact.qty
    # New lists and batches, never changed in place: copies of a state may share them.
    step.batches = [*step.batches, OutBatch(fact.item or "", fact.qty, fact.at, fact.reference)]
    if unknown:  # the oldest batch stays the stored one (the ledger replays outside steps instead)
        step.out_suppliers += fact.item != step.out_supplier
    else:
        _oldest_out(step)


def _take_out(step: StepState, fact: Fact, verb: str) -> None:
    """Units coming back from a supplier (named, or any): only units out can come back; oldest first."""
    _qty_at_least_one(fact.qty)
    if fact.item and step.batches:
        there = sum(b.qty for b in step.batches if b.supplier == fact.item)
        if fact.qty > there:
            raise DomainError(
                f"Only {there} of this job at supplier {fact.item} from {step.name}; cannot {verb} {fact.qty}"
            )
    if fact.qty > step.out:
        raise DomainError(f"Only {step.out} at a supplier from {step.name}; cannot {verb} {fact.qty}")
    left, kept = fact.qty, []
    for batch in step.batches:
        if left and (not fact.item or batch.supplier == fact.item):
            took = min(left, batch.qty)
            left -= took
            batch = replace(batch, qty=batch.qty - took)
        if batch.qty > 0:
            kept.append(batch)
    step.batches = kept


def _oldest_out(step: StepState) -> None:
    if step.batches:
        step.out_supplier, step.out_since = step.batches[0].supplier, step.batches[0].at
        step.out_suppliers = len({b.supplier for b in step.batches})
    elif step.out <= 0:
        step.out_supplier = step.out_since = None
        step.out_suppliers = 0


def _complete(state: JobState, fact: Fact) -> None:
    step = state.step(fact.stage)
    _require_kind(step, fact)
    if fact.kind == "receive":
        _take_out(step, fact, "receive")
    else:
        _take_pending(step, fact.qty, "pass" if fact.kind == "qc_pass" else "complete")
    before = step.pending
    step.completed += fact.qty
    _moved(step, before, fact.at)
    nxt = state.next_step(step)
    # The rework lane: units are alike, so a step is taken to finish its reworked units first
    # (they come back tagged and are dealt with first). They travel on until a QC step passes
    # them, or they leave the last work step; a QC pass of other units is a first-time pass.
    lane = min(fact.qty, step.rework_here)
    step.rework_here -= lane
    if step.kind == "qc":
        step.passed_first_time += fact.qty - lane
    if step.kind == "qc" or nxt is None or nxt.kind == "dispatch":
        step.passed_after_rework += lane
    else:
        nxt.rework_here += lane
    if nxt is not None:
        _receive(nxt, fact.qty, fact.at)
    if fact.kind == "receive":
        _oldest_out(step)


def _reject(state: JobState, fact: Fact) -> None:
    step = state.step(fact.stage)
    _require_kind(step, fact)
    if step.kind == "outside":  # rejected on receipt from the supplier: only units out
        _take_out(step, fact, "reject")
    else:
        _take_pending(step, fact.qty, "fail" if fact.kind == "qc_fail" else "reject")
    before = step.pending
    step.rejected += fact.qty
    lane = min(fact.qty, step.rework_here)  # reworked units first, as in _complete
    step.rework_here -= lane
    step.rework_failed += lane
    _moved(step, before, fact.at)
    if step.kind == "outside":
        _oldest_out(step)


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
    target.rework_here += fact.qty
    _receive(target, fact.qty, fact.at)


def _scrap(state: JobState, fact: Fact) -> None:
    step = state.step(fact.stage)
    _take_awaiting(step, fact.qty, "scrap")
    step.scrapped += fact.qty


def _delay(state: JobState, fact: Fact) -> None:
    """A delay at a step (nothing need be pending there yet), or without a step for the whole job.

    A job-level delay is information and time (shown on the card and the board, counted in
    delay reports): it stops no entry. A supervisor who wants work to stop puts the job on hold.
    """
    holder = state.step(fact.stage) if fact.stage else state
    if holder.delay_reason:
        where = holder.name if fact.stage else f"Job {state.number}"
        raise DomainError(f"{where} already has an open delay ({holder.delay_reason}); resume it first")
    if not state.is_open:
        raise DomainError(f"Job {state.number} is finished (dispatched or scrapped); there is nothing to delay")
    holder.delay_reason = fact.reason
    holder.delay_since = fact.at
    holder.delay_event_id = fact.event_id


def _resume(state: JobState, fact: Fact) -> None:
    holder = state.step(fact.stage) if fact.stage else state
    if not holder.delay_reason:
        if fact.stage:
            raise DomainError(f"{holder.name} has no open delay to resume")
        at = [s.name for s in state.steps if s.delay_reason]
        hint = f" (delayed at {', '.join(at)}: resume it there)" if at else ""
        raise DomainError(f"Job {state.number} has no open job-level delay to resume{hint}")
    holder.delay_reason = None
    holder.delay_since = None
    holder.delay_event_id = None


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


def _check_extra_issue(state: JobState, fact: Fact) -> None:
    """An issue beyond what is still to issue is an extra issue: it must say why."""
    line = material_line(state, fact.item)
    if fact.qty > line.short and not fact.reason:
        raise DomainError(extra_issue_refusal(state, line, fact.qty))


def extra_issue_refusal(state: JobState, line: MaterialState, qty: int, choices: str = "") -> str:
    """Why an issue of `qty` needs an extra-issue reason, in words (with the reasons to choose from)."""
    have = f"{line.issued - line.scrapped} {line.unit} issued" if line.issued else "none issued"
    pick = f": choose one of {choices}" if choices else ""
    return (
        f"Job {state.number} needs {line.needed} {line.unit} of {line.item} and has {have}; "
        f"{line.short} {line.unit} more can be issued, {qty} {line.unit} is an extra issue "
        f"and needs an extra-issue reason{pick}"
    )


def unissued(state: JobState) -> list[MaterialState]:
    """The job's material lines with something still to issue (what a release without issue warns of)."""
    return [line for line in state.materials.values() if line.short > 0]


def _material_issue(state: JobState, fact: Fact) -> None:
    _qty_at_least_one(fact.qty)
    line = material_line(state, fact.item)
    line.issued += fact.qty


def _material_return(state: JobState, fact: Fact) -> None:
    _qty_at_least_one(fact.qty)
    line = material_line(state, fact.item)
    if fact.qty > line.net_issued:
        raise DomainError(
            f"Only {line.net_issued} {line.unit} of {line.item} are issued to job {state.number}; "
            f"cannot return {fact.qty} {line.unit}"
        )
    line.returned += fact.qty


def _material_scrap(state: JobState, fact: Fact) -> None:
    _qty_at_least_one(fact.qty)
    line = material_line(state, fact.item)
    if fact.qty > line.net_issued:
        raise DomainError(
            f"Only {line.net_issued} {line.unit} of {line.item} are issued to job {state.number}; "
            f"cannot scrap {fact.qty} {line.unit}"
        )
    line.scrapped += fact.qty


def _material_substitute(state: JobState, fact: Fact) -> None:
    _qty_at_least_one(fact.qty)
    line = material_line(state, fact.item)
    if not fact.item2 or fact.item2 == fact.item:
        raise DomainError("Name the substitute item, different from the item it replaces")
    if fact.qty > line.short:
        raise DomainError(
            f"Only {line.short} {line.unit} of {line.item} are still to be issued; "
            f"cannot substitute {fact.qty} {line.unit}"
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
    "send": _send,
    "receive": _complete,
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


def rework_line(state: JobState) -> str | None:
    """Where the reworked units went, e.g. 'rework: 3 sent back → 2 passed, 1 at Painting'; None without rework."""
    sent = sum(s.rework_in for s in state.steps)
    if not sent:
        return None
    passed = sum(s.passed_after_rework for s in state.steps if s.kind == "qc")
    finished = sum(s.passed_after_rework for s in state.steps if s.kind != "qc")
    failed = sum(s.rework_failed for s in state.steps)
    parts = [f"{passed} passed"] if passed or not finished else []
    if finished:
        parts.append(f"{finished} finished")
    parts += [f"{s.rework_here} at {s.name}" for s in state.steps if s.rework_here]
    if failed:
        parts.append(f"{failed} failed again")
    return f"rework: {sent} sent back → {', '.join(parts)}"


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
    if kind in ("delay", "resume") and not fact.stage:
        if kind == "delay":
            return f"Job {state.number} delayed{why} — the whole job; entries at steps go on"
        took = ""
        if delay_since is not None and now is not None:
            took = f" after {format_duration((now - delay_since).total_seconds())}"
        return f"Job {state.number} resumed{took}{why}"
    if kind in STEP_KINDS:
        step = state.step(fact.stage)
        if kind == "send":
            ref = f" · {fact.reference}" if fact.reference else ""
            left = f", {step.at_plant} still here" if step.at_plant else ""
            return f"{step.name}: {qty} sent to {reason_label or fact.item}{ref} ({step.out} out{left})"
        if kind == "receive":
            nxt = state.next_step(step)
            where = nxt.name if nxt is not None else "finished"
            came = f" from {reason_label}" if reason_label else ""
            return f"{step.name}: {qty} received{came} → {where} ({step.out} still out)"
        if kind in ("complete", "qc_pass"):
            verb = "passed" if kind == "qc_pass" else "done"
            nxt = state.next_step(step)
            where = nxt.name if nxt is not None else "finished"
            return f"{step.name}: {qty} {verb} → {where} ({step.pending} still pending)"
        if kind in ("reject", "qc_fail"):
            verb = "failed" if kind == "qc_fail" else "rejected"
            if step.kind == "outside":
                verb = "rejected on receipt"
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
            return f"Issued {qty} {line.unit} of {fact.item2} in place of {fact.item} (substitute)"
        short = f", still short {line.short} {line.unit}" if line.short else ""
        extra = f", {line.extra} {line.unit} extra" if line.extra and kind == "material_issue" else ""
        return f"{verbs[kind]} {qty} {line.unit} of {line.item}{why}{short}{extra}"
    if kind == "priority":
        return f"Job {state.number}: priority {previous_priority} → {state.priority}"
    if kind == "hold":
        return f"Job {state.number} is on hold"
    if kind == "unhold":
        return f"Job {state.number} is off hold"
    if kind == "note":
        return f"Note added to job {state.number}"
    return f"{kind} recorded"
