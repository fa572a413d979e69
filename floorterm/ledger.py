"""The job ledger: the only code that writes to the store.

Every entry is validated against the current balances inside one write transaction
(SQLite: BEGIN IMMEDIATE; PostgreSQL: the job row locked FOR UPDATE), appended as an
event, and the balances are updated in the same transaction. An entry carries a
client-made UUID: recording the same UUID again returns the first result and writes
nothing, so a retry after a lost answer is always safe.

Role and terminal rules (DESIGN.md §5) are checked here, not only hidden in the UI.
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid as uuidlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Callable, Iterable

from floorterm import models as m
from floorterm import rules
from floorterm._peewee import peewee
from floorterm.clock import utcnow
from floorterm.config import Config
from floorterm.errors import DomainError, InputError, PermissionDenied
from floorterm.inputs import (
    clean_text,
    hidden_character,
    parse_badge,
    parse_code,
    parse_job_number,
    parse_priority,
    parse_qty,
)
from floorterm.rules import Fact, JobState, MaterialState, StepState
from floorterm.store import Store

if TYPE_CHECKING:
    from floorterm.outbox import QueuedEntry

# What each role may record. Operators and QC inspectors are further limited to the
# stages of their terminal; supervisors and planners may act anywhere.
ROLE_KINDS: dict[str, frozenset[str]] = {
    "operator": frozenset(
        {"start", "complete", "reject", "rework", "scrap", "delay", "resume", "dispatch", "note", *rules.OUTSIDE_KINDS}
    ),
    "qc": frozenset({"start", "qc_pass", "qc_fail", "rework", "scrap", "delay", "resume", "note"}),
    # Stores also hands work to outside suppliers and takes it back (goods in / goods out).
    "stores": frozenset({"release", "dispatch", "note", *rules.MATERIAL_KINDS, *rules.OUTSIDE_KINDS}),
    "supervisor": frozenset(rules.KINDS),
    # Planners approve a substitute the config does not list ([materials.substitutes]).
    "planner": frozenset({"release", "priority", "hold", "unhold", "note", "void", "material_substitute"}),
    "viewer": frozenset(),
}
ANYWHERE_ROLES = frozenset({"supervisor", "planner"})
TERMINAL_ROLES = frozenset({"operator", "qc", "stores"})
REASON_LISTS = {
    "reject": "reject",
    "qc_fail": "qc_fail",
    "scrap": "scrap",
    "delay": "delay",
    "material_scrap": "material_scrap",
    "material_issue": "extra_issue",
}
# Kinds whose reason is asked only sometimes: an issue needs one when it is an extra issue
# (beyond what is still to issue), which only the job's balances can tell (rules.apply).
REASON_OPTIONAL = frozenset({"material_issue"})
NOTE_REQUIRED = frozenset({"priority", "hold", "unhold", "void"})
# Who creates a job when no badge is given (an ERP import, a script): the store's own actor.
# '$' never starts a badge (floorterm.scan), so nobody can sign in or record as it.
SYSTEM_BADGE = "$SYSTEM"
SYSTEM_NAME = "System"  # shown as "System ($SYSTEM)" where people read who did it
REFERENCE_MAX = 64  # characters of a delivery note / shipment reference (Event.reference)
# Kinds that carry a delivery reference: a dispatch, a send to a supplier and its return.
REFERENCE_KINDS = ("dispatch", *rules.OUTSIDE_KINDS)
# Kinds that name a supplier (stored in Event.item): required to send, optional to receive
# or to reject on receipt (then only that supplier's units come back).
SUPPLIER_KINDS = ("send", "receive", "reject")

KIND_WORDS = {
    "release": "release",
    "start": "start",
    "complete": "complete",
    "reject": "reject",
    "rework": "send to rework",
    "scrap": "scrap",
    "delay": "record a delay",
    "resume": "resume",
    "qc_pass": "record a QC pass",
    "qc_fail": "record a QC fail",
    "send": "send to a supplier",
    "receive": "receive from a supplier",
    "material_issue": "issue material",
    "material_return": "return material",
    "material_scrap": "scrap material",
    "material_substitute": "substitute material",
    "dispatch": "dispatch",
    "priority": "change priority",
    "hold": "put a job on hold",
    "unhold": "take a job off hold",
    "note": "add a note",
    "void": "void entries",
}


@dataclass(frozen=True)
class Actor:
    """Who records an entry and from where. The role comes from the badge, never from here."""

    badge: str
    terminal: str | None = None
    login_user: str | None = None
    login_key: str | None = None


@dataclass(frozen=True)
class Receipt:
    """What an entry did, for the confirmation screen or the CLI."""

    event_id: int
    uuid: str
    kind: str
    job: str
    stage: str | None
    qty: int
    message: str
    committed_at: dt.datetime
    duplicate: bool = False
    # Saved, but someone should know: a release while material is still to issue
    # ([materials] release_without_issue = "warn"), e.g. "Material not issued: PLATE-8 40 pcs".
    warning: str = ""


@dataclass(frozen=True)
class MaterialSpec:
    item: str
    required: int
    description: str = ""
    unit: str = "pcs"


@dataclass(frozen=True)
class JobSpec:
    """A job as planned: what `jobs add` and `jobs import` create."""

    number: str
    qty: int
    routing: str
    order_ref: str = ""
    customer: str = ""
    product: str = ""
    planned_start: dt.date | None = None
    planned_end: dt.date | None = None
    priority: int = 5
    inspection: str = ""
    notes: str = ""
    materials: tuple[MaterialSpec, ...] = field(default_factory=tuple)
    # Where the job was read from (the file's name and the line), for messages and its creation entry.
    source: str = field(default="", compare=False)
    line: int | None = field(default=None, compare=False)

    @property
    def origin(self) -> str:
        """'jobs.csv line 3', or '' for a job typed in."""
        if not self.source:
            return ""
        return f"{self.source} line {self.line}" if self.line is not None else self.source

    def differences(self, job: m.Job, materials: Iterable[m.MaterialLine]) -> list[str]:
        """What differs between this spec and a stored job, one line each, values as a CSV file has them."""
        diffs = []
        for name in (
            "order_ref",
            "customer",
            "product",
            "qty",
            "planned_start",
            "planned_end",
            "priority",
            "routing",
            "inspection",
            "notes",
        ):
            mine = getattr(self, name)
            theirs = job.initial_priority if name == "priority" else getattr(job, name)
            if mine != theirs:
                where = f"{self.origin}, column {name}: " if self.origin else ""
                diffs.append(
                    f"{where}job {self.number} is already in the store with {name} "
                    f"{_as_written(theirs)}, not {_as_written(mine)}"
                )
        stored = {
            line.item: (line.required, line.description, line.unit) for line in materials if line.substitute_for is None
        }
        mine = {s.item: (s.required, s.description, s.unit) for s in self.materials}
        if self.materials and stored != mine:
            where = f"{self.origin}: " if self.origin else ""
            diffs.append(f"{where}job {self.number} is already in the store with a different material list")
        return diffs


def _as_written(value) -> str:
    """A job field as a CSV file writes it, quoted: '25', '2026-12-01'; 'empty' for nothing."""
    if value is None or value == "":
        return "empty"
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return f"'{_cut(text, 40)}'"


def new_uuid() -> str:
    return str(uuidlib.uuid4())


class Ledger:
    """Writes entries to the store. One per process is plenty; it holds no open transaction."""

    def __init__(self, store: Store, config: Config, clock: Callable[[], dt.datetime] = utcnow):
        self.store = store
        self.config = config
        self.clock = clock

    # -- the entries of DESIGN.md §3 ----------------------------------------------------

    def release(
        self,
        job: str,
        qty,
        *,
        actor: Actor,
        uuid: str | None = None,
        note: str = "",
        client_time: dt.datetime | None = None,
    ) -> Receipt:
        return self.record("release", job, qty=qty, actor=actor, uuid=uuid, note=note, client_time=client_time)

    def start(self, job: str, stage: str, *, actor: Actor, uuid: str | None = None, client_time=None) -> Receipt:
        return self.record("start", job, stage=stage, actor=actor, uuid=uuid, client_time=client_time)

    def complete(
        self, job: str, stage: str, qty, *, actor: Actor, uuid: str | None = None, note: str = "", client_time=None
    ) -> Receipt:
        return self.record(
            "complete", job, stage=stage, qty=qty, actor=actor, uuid=uuid, note=note, client_time=client_time
        )

    def reject(
        self,
        job: str,
        stage: str,
        qty,
        reason: str,
        *,
        actor: Actor,
        uuid: str | None = None,
        note: str = "",
        client_time=None,
    ) -> Receipt:
        return self.record(
            "reject",
            job,
            stage=stage,
            qty=qty,
            reason=reason,
            actor=actor,
            uuid=uuid,
            note=note,
            client_time=client_time,
        )

    def rework(
        self,
        job: str,
        stage: str,
        qty,
        to_stage: str | None = None,
        *,
        actor: Actor,
        uuid: str | None = None,
        note: str = "",
        client_time=None,
    ) -> Receipt:
        return self.record(
            "rework",
            job,
            stage=stage,
            qty=qty,
            to_stage=to_stage,
            actor=actor,
            uuid=uuid,
            note=note,
            client_time=client_time,
        )

    def scrap(
        self,
        job: str,
        stage: str,
        qty,
        reason: str,
        *,
        actor: Actor,
        uuid: str | None = None,
        note: str = "",
        client_time=None,
    ) -> Receipt:
        return self.record(
            "scrap",
            job,
            stage=stage,
            qty=qty,
            reason=reason,
            actor=actor,
            uuid=uuid,
            note=note,
            client_time=client_time,
        )

    def delay(
        self,
        job: str,
        stage: str,
        reason: str,
        *,
        actor: Actor,
        uuid: str | None = None,
        note: str = "",
        client_time=None,
    ) -> Receipt:
        return self.record(
            "delay", job, stage=stage, reason=reason, actor=actor, uuid=uuid, note=note, client_time=client_time
        )

    def resume(
        self, job: str, stage: str, *, actor: Actor, uuid: str | None = None, note: str = "", client_time=None
    ) -> Receipt:
        return self.record("resume", job, stage=stage, actor=actor, uuid=uuid, note=note, client_time=client_time)

    def qc_pass(
        self, job: str, stage: str, qty, *, actor: Actor, uuid: str | None = None, note: str = "", client_time=None
    ) -> Receipt:
        return self.record(
            "qc_pass", job, stage=stage, qty=qty, actor=actor, uuid=uuid, note=note, client_time=client_time
        )

    def qc_fail(
        self,
        job: str,
        stage: str,
        qty,
        reason: str,
        *,
        actor: Actor,
        uuid: str | None = None,
        note: str = "",
        client_time=None,
    ) -> Receipt:
        return self.record(
            "qc_fail",
            job,
            stage=stage,
            qty=qty,
            reason=reason,
            actor=actor,
            uuid=uuid,
            note=note,
            client_time=client_time,
        )

    def material_issue(
        self, job: str, item: str, qty, *, actor: Actor, uuid: str | None = None, note: str = "", client_time=None
    ) -> Receipt:
        return self.record(
            "material_issue", job, item=item, qty=qty, actor=actor, uuid=uuid, note=note, client_time=client_time
        )

    def material_return(
        self, job: str, item: str, qty, *, actor: Actor, uuid: str | None = None, note: str = "", client_time=None
    ) -> Receipt:
        return self.record(
            "material_return", job, item=item, qty=qty, actor=actor, uuid=uuid, note=note, client_time=client_time
        )

    def material_scrap(
        self,
        job: str,
        item: str,
        qty,
        reason: str,
        *,
        actor: Actor,
        uuid: str | None = None,
        note: str = "",
        client_time=None,
    ) -> Receipt:
        return self.record(
            "material_scrap",
            job,
            item=item,
            qty=qty,
            reason=reason,
            actor=actor,
            uuid=uuid,
            note=note,
            client_time=client_time,
        )

    def material_substitute(
        self,
        job: str,
        item: str,
        substitute: str,
        qty,
        *,
        actor: Actor,
        uuid: str | None = None,
        note: str = "",
        client_time=None,
    ) -> Receipt:
        return self.record(
            "material_substitute",
            job,
            item=item,
            item2=substitute,
            qty=qty,
            actor=actor,
            uuid=uuid,
            note=note,
            client_time=client_time,
        )

    def dispatch(
        self,
        job: str,
        qty,
        *,
        actor: Actor,
        uuid: str | None = None,
        note: str = "",
        client_time=None,
        reference: str | None = None,
    ) -> Receipt:
        """Ship finished units; `reference` is the delivery note or shipment number, if any."""
        return self.record(
            "dispatch", job, qty=qty, actor=actor, uuid=uuid, note=note, client_time=client_time, reference=reference
        )

    def change_priority(
        self, job: str, priority, *, actor: Actor, note: str, uuid: str | None = None, client_time=None
    ) -> Receipt:
        return self.record("priority", job, qty=priority, actor=actor, uuid=uuid, note=note, client_time=client_time)

    def hold(self, job: str, *, actor: Actor, note: str, uuid: str | None = None, client_time=None) -> Receipt:
        return self.record("hold", job, actor=actor, uuid=uuid, note=note, client_time=client_time)

    def unhold(self, job: str, *, actor: Actor, note: str, uuid: str | None = None, client_time=None) -> Receipt:
        return self.record("unhold", job, actor=actor, uuid=uuid, note=note, client_time=client_time)

    def add_note(
        self, job: str, note: str, *, actor: Actor, stage: str | None = None, uuid: str | None = None, client_time=None
    ) -> Receipt:
        return self.record("note", job, stage=stage, note=note, actor=actor, uuid=uuid, client_time=client_time)

    def void(self, event_uuid: str, *, actor: Actor, note: str, uuid: str | None = None, client_time=None) -> Receipt:
        """Cancel an earlier entry. Supervisors and planners may void any entry; others only
        their own last entry within the void window. Refused if later entries depend on it."""
        return self.record("void", None, voids=event_uuid, note=note, actor=actor, uuid=uuid, client_time=client_time)

    # -- the one write path ---------------------------------------------------------------

    def record(
        self,
        kind: str,
        job: str | None,
        *,
        actor: Actor,
        stage: str | None = None,
        to_stage: str | None = None,
        qty=None,
        reason: str | None = None,
        item: str | None = None,
        item2: str | None = None,
        note: str = "",
        voids: str | None = None,
        uuid: str | None = None,
        client_time: dt.datetime | None = None,
        deadline: float | None = None,
        reference: str | None = None,
        supplier: str | None = None,
    ) -> Receipt:
        """Validate and write one entry of any kind; raise DomainError/InputError and write nothing if refused.

        `deadline`: seconds to keep trying while the store is busy or away (default: the store's).
        `reference`: a delivery note / shipment reference (dispatch, send, receive).
        `supplier`: a [[suppliers]] code (send: required; receive, reject at an outside step: optional).
        """
        entry = self._normalise(
            kind,
            job,
            actor=actor,
            stage=stage,
            to_stage=to_stage,
            qty=qty,
            reason=reason,
            item=item,
            item2=item2,
            note=note,
            voids=voids,
            uuid=uuid,
            client_time=client_time,
            reference=reference,
            supplier=supplier,
        )
        try:
            return self.store.run_write(lambda: self._write(entry), deadline=deadline, batched=True)
        except peewee.IntegrityError:
            # Another process wrote the same UUID between our check and our insert.
            existing = m.Event.get_or_none(m.Event.uuid == entry.uuid)
            if existing is None:
                raise
            return self._duplicate(existing, entry)

    def _normalise(
        self,
        kind,
        job,
        *,
        actor,
        stage,
        to_stage,
        qty,
        reason,
        item,
        item2,
        note,
        voids,
        uuid,
        client_time,
        reference=None,
        supplier=None,
    ) -> "_Entry":
        if kind not in rules.KINDS:
            raise InputError(f"Unknown entry kind {kind!r}; known: {', '.join(rules.KINDS)}")
        number = parse_job_number(job) if kind != "void" else None
        stage = parse_code(stage, field="stage") if stage else None
        to_stage = parse_code(to_stage, field="rework step") if to_stage else None
        if kind in rules.STEP_KINDS and kind not in rules.JOB_OR_STEP_KINDS and not stage:
            raise InputError(f"Say at which step to {KIND_WORDS[kind]}")
        if kind == "priority":
            qty = parse_priority(qty if qty is not None else "")
        elif kind in (
            "release",
            "complete",
            "reject",
            "rework",
            "scrap",
            "qc_pass",
            "qc_fail",
            "dispatch",
            *rules.OUTSIDE_KINDS,
            *rules.MATERIAL_KINDS,
        ):
            qty = parse_qty(qty if qty is not None else "")
        else:
            qty = 0
        if kind in REASON_OPTIONAL and not reason:
            reason = None
        elif kind in REASON_LISTS:
            if not reason:
                raise InputError(f"Choose a {REASON_LISTS[kind].replace('_', ' ')} reason")
            reason = parse_code(reason, field="reason")
            self._check_reason(REASON_LISTS[kind], reason)
        else:
            reason = None
        if kind in rules.MATERIAL_KINDS:
            if not item:
                raise InputError("Say which material item")
            item = parse_code(item, field="item")
            item2 = parse_code(item2, field="substitute item") if item2 else None
            if kind == "material_substitute" and not item2:
                raise InputError("Say which item is issued as the substitute")
        elif kind in SUPPLIER_KINDS and supplier:
            item, item2 = self._check_supplier(parse_code(supplier, field="supplier")), None
        elif kind == "send":
            raise InputError(f"Say which supplier to send to; the suppliers: {self._supplier_words(stage)}")
        else:
            item = item2 = None
        if supplier and kind not in SUPPLIER_KINDS:
            raise InputError(
                f"Only a send, a receive or a reject on receipt names a supplier; cannot {KIND_WORDS[kind]} with one"
            )
        typed = note or ""
        note = clean_text(typed, field="note")
        if not note and hidden_character(typed):
            only = "only control characters (an escape sequence or the like), which are never stored"
            if kind in NOTE_REQUIRED:
                raise InputError(f"Give a reason to {KIND_WORDS[kind]}: the note has {only}")
            raise InputError(f"The note has {only}; write it in words")
        if kind in NOTE_REQUIRED and not note:
            raise InputError(f"Give a reason to {KIND_WORDS[kind]}")
        if kind == "note" and not note:
            raise InputError("The note is empty")
        reference = clean_text(reference or "", max_len=REFERENCE_MAX, field="reference") or None
        if reference and kind not in REFERENCE_KINDS:
            raise InputError(
                f"Only a dispatch, a send or a receive carries a delivery reference; cannot {KIND_WORDS[kind]} with one"
            )
        if kind == "void":
            if not voids:
                raise InputError("Say which entry to void")
            voids = str(voids).strip()
        badge = parse_badge(actor.badge)
        entry_uuid = _check_uuid(uuid) if uuid else new_uuid()
        return _Entry(
            kind=kind,
            number=number,
            stage=stage,
            to_stage=to_stage,
            qty=qty,
            reason=reason,
            item=item,
            item2=item2,
            note=note,
            voids=voids,
            uuid=entry_uuid,
            reference=reference,
            client_time=client_time or self.clock(),
            actor=_cleaned(actor, badge),
        )

    def _check_supplier(self, code: str) -> str:
        try:
            return self.config.supplier(code).code
        except KeyError:
            raise DomainError(f"{code} is not a supplier; choose one of: {self._supplier_words(None)}") from None

    def _supplier_words(self, stage: str | None) -> str:
        listed = self.config.stage_suppliers(stage) if stage else self.config.suppliers
        return ", ".join(f"{s.code} ({s.name})" for s in listed) or "none in the config ([[suppliers]])"

    def _check_reason(self, list_kind: str, code: str) -> None:
        reasons = self.config.reasons(list_kind)
        if code not in {r.code for r in reasons}:
            choices = ", ".join(f"{r.code} ({r.label})" for r in reasons)
            raise DomainError(f"{code} is not a {list_kind.replace('_', ' ')} reason; choose one of: {choices}")

    def _existing(self, entry_uuid: str) -> m.Event | None:
        """The event already recorded under this UUID, if any."""
        found = _run(_event_by_uuid_sql(m.database.param), (entry_uuid,)).fetchone()
        return m.Event.get_by_id(found[0]) if found is not None else None

    def _write(self, entry: "_Entry") -> Receipt:
        # The entry id and the badge in one statement: a UUID already recorded is a retry
        # (answered before the badge is judged, as it was the first time).
        existing_id, row = self._existing_and_operator(entry.uuid, entry.actor.badge)
        if existing_id is not None:
            return self._duplicate(m.Event.get_by_id(existing_id), entry)
        operator = self._operator(entry.actor.badge, row)
        if entry.kind == "void":
            return self._write_void(entry, operator)
        self._authorise(entry, operator)
        job = self._lock_job(entry.number)
        policy = self.config.materials.release_without_issue
        with_materials = entry.kind in rules.MATERIAL_KINDS or (entry.kind == "release" and policy != "allow")
        # PostgreSQL: a retry may have waited for the job lock behind its own first attempt, so
        # the UUID is looked for again under the lock, in a statement begun after the lock was
        # granted (READ COMMITTED: it sees what committed meanwhile): the steps read carries it.
        # (SQLite held the database's write lock since BEGIN: the first look was enough.)
        recheck = entry.uuid if self.store.backend == "postgres" else None
        if self._outside(entry.stage):
            # Units at a supplier come back oldest batch first: the batches live in the ledger.
            existing = self._existing(entry.uuid) if recheck else None
            if existing is not None:
                return self._duplicate(existing, entry)
            state = replay(job)
        else:
            state, existing_id = _load_state(job, with_materials=with_materials, uuid=recheck)
            if existing_id is not None:
                return self._duplicate(m.Event.get_by_id(existing_id), entry)
        unissued = self._check_material(entry, state, policy)
        previous_priority = state.priority
        closing = None
        if entry.kind == "resume":
            closing = state.step(entry.stage) if entry.stage else state
        delay_since = closing.delay_since if closing else None
        delay_reason = closing.delay_reason if closing else None
        now = self.clock()
        fact = Fact(
            kind=entry.kind,
            at=now,
            stage=entry.stage,
            to_stage=entry.to_stage,
            qty=entry.qty,
            reason=entry.reason,
            item=entry.item,
            item2=entry.item2,
            reference=entry.reference,
        )
        before = snapshot(state)
        rules.apply(state, fact)
        event_id = self._insert_event(entry, job, operator, now, state)
        if entry.kind == "delay":
            (state.step(entry.stage) if entry.stage else state).delay_event_id = event_id
        save_state(job, state, before, event_id)
        self.store.notify(event_id, job.id)
        label = None
        if entry.kind in rules.OUTSIDE_KINDS:
            label = self.config.supplier_name(entry.item) or None
        elif entry.reason:
            label = self._label(REASON_LISTS[entry.kind], entry.reason)
        elif delay_reason:
            label = self._label("delay", delay_reason)
        message = rules.describe(
            state, fact, label, now=now, previous_priority=previous_priority, delay_since=delay_since
        )
        warning = f"Material not issued: {unissued}" if unissued else ""  # release_without_issue = "warn"
        return Receipt(
            event_id, entry.uuid, entry.kind, job.number, entry.stage, entry.qty, message, now, warning=warning
        )

    def _outside(self, stage: str | None) -> bool:
        try:
            return stage is not None and self.config.stage(stage).kind == "outside"
        except KeyError:
            return False

    def receive(
        self,
        job: str,
        stage: str,
        qty,
        *,
        actor: Actor,
        rejected=0,
        reason: str | None = None,
        supplier: str | None = None,
        reference: str | None = None,
        uuid: str | None = None,
        note: str = "",
        client_time=None,
        deadline: float | None = None,
    ) -> list[Receipt]:
        """Units back from a supplier: `qty` good ones move on, `rejected` wait for a decision.

        Written as a receive entry and a reject entry (reason from the reject list) in one
        transaction: both land or neither. `qty` may be 0 when everything came back rejected.
        The reject's entry id is derived from `uuid`, so a retry records nothing twice.
        """
        good = parse_qty(qty if qty is not None else "", allow_zero=True)
        bad = parse_qty(rejected or 0, field="rejected quantity", allow_zero=True)
        if not good and not bad:
            raise InputError("Say how many came back: a good quantity, rejected ones, or both")
        if bad and not reason:
            raise InputError("Choose a reject reason for the units rejected on receipt")
        if reason and not bad:
            raise InputError("A reject reason needs a rejected quantity (--rejected)")
        base = _check_uuid(uuid) if uuid else new_uuid()
        fields = dict(actor=actor, stage=stage, note=note, client_time=client_time, supplier=supplier)
        entries = []
        if good:
            entries.append(self._normalise_all("receive", job, qty=good, uuid=base, reference=reference, **fields))
        if bad:
            reject_uuid = str(uuidlib.uuid5(uuidlib.UUID(base), "reject")) if good else base
            entries.append(self._normalise_all("reject", job, qty=bad, reason=reason, uuid=reject_uuid, **fields))
        return self.store.run_write(lambda: [self._write(e) for e in entries], deadline=deadline, batched=True)

    def _normalise_all(self, kind, job, **fields) -> "_Entry":
        given = dict(
            stage=None, to_stage=None, qty=None, reason=None, item=None, item2=None, note="", voids=None, uuid=None
        )
        given.update(fields)
        return self._normalise(kind, job, **given)

    def _check_material(self, entry: "_Entry", state: JobState, policy: str) -> str:
        """Refuse an extra issue without a reason (naming the reasons) and, under
        release_without_issue = "refuse", a release while material is still to issue.
        Returns the material not issued, in words, when a release should warn of it."""
        if entry.kind == "material_issue" and not entry.reason:
            line = rules.material_line(state, entry.item)
            if entry.qty > line.short:
                choices = ", ".join(f"{r.code} ({r.label})" for r in self.config.reasons("extra_issue"))
                raise DomainError(rules.extra_issue_refusal(state, line, entry.qty, choices))
        if entry.kind != "release" or policy == "allow":
            return ""
        lines = rules.unissued(state)
        if not lines:
            return ""
        words = unissued_words(lines)
        if policy == "refuse":
            raise DomainError(
                f"Job {state.number} cannot be released before its material is issued "
                f"([materials] release_without_issue = \"refuse\"): still to issue {words}"
            )
        return words

    def _label(self, kind: str, code: str) -> str:
        try:
            return self.config.reason_label(kind, code)
        except KeyError:
            return code  # the reason was taken out of the config since

    def _existing_and_operator(self, entry_uuid: str, badge: str) -> tuple[int | None, tuple | None]:
        """The id of the event recorded under this UUID (or None) and the badge's operator
        columns (None if unknown), in one statement."""
        found = _run(_existing_and_operator_sql(m.database.param), (entry_uuid, badge)).fetchone()
        return found[0], (found[1:] if found[1] is not None else None)

    def _operator(self, badge: str, row: tuple | None = ()) -> OperatorRow:
        """The badge's operator, refused if unknown or disabled (`row`: its columns, already read)."""
        if row == ():
            row = _run(_operator_sql(m.database.param), (badge,)).fetchone()
        if row is None:
            raise PermissionDenied(f"Unknown badge {badge}")
        operator = OperatorRow(row[0], row[1], row[2], row[3], m.Operator.active.python_value(row[4]))
        if not operator.active:
            raise PermissionDenied(f"Badge {badge} ({operator.name}) is disabled")
        return operator

    def _authorise(self, entry: "_Entry", operator: m.Operator) -> None:
        role = operator.role
        if entry.kind not in ROLE_KINDS.get(role, frozenset()):
            raise PermissionDenied(f"{operator.name} ({role}) may not {KIND_WORDS[entry.kind]}")
        terminal_id = entry.actor.terminal
        terminal = None
        if terminal_id:
            try:
                terminal = self.config.terminal(terminal_id)
            except KeyError:
                raise PermissionDenied(f"Unknown terminal {terminal_id}") from None
        if role in ANYWHERE_ROLES:
            return
        if entry.kind == "material_substitute":
            self._check_substitute(entry, operator)
        if role in TERMINAL_ROLES and terminal is None:
            raise PermissionDenied(f"{operator.name} ({role}) must record at a terminal")
        if role in ("operator", "qc"):
            stage = entry.stage
            if entry.kind == "dispatch":
                stage = next((s.code for s in self.config.stages if s.kind == "dispatch"), None)
            if stage is not None and stage not in terminal.stages:
                names = ", ".join(self._stage_name(code) for code in terminal.stages)
                raise PermissionDenied(
                    f"Terminal {terminal.id} records {names} only; it cannot record at {self._stage_name(stage)}"
                )

    def _check_substitute(self, entry: "_Entry", operator: m.Operator) -> None:
        """Stores issue only the substitutes [materials.substitutes] allows; others need a supervisor or planner."""
        allowed = self.config.materials.allowed_substitutes(entry.item)
        if entry.item2 in allowed or entry.item2 == entry.item:  # the rules refuse the latter in words
            return
        if allowed:
            may = f"{entry.item} may be replaced by {', '.join(allowed)} only"
        else:
            may = f"No substitute is allowed for {entry.item}"
        raise PermissionDenied(
            f"{may} ([materials.substitutes]); {operator.name} ({operator.role}) may not issue "
            f"{entry.item2} in its place: a supervisor or planner must"
        )

    def _stage_name(self, code: str) -> str:
        try:
            return self.config.stage(code).name
        except KeyError:
            return code

    def _lock_job(self, number: str) -> JobRow:
        """The job's row, locked for this transaction on PostgreSQL (see Store.locked)."""
        sql = _job_lock_sql(m.database.param, self.store.backend == "postgres")
        row = _run(sql, (number,)).fetchone()
        if row is None:
            raise DomainError(f"No job {number}")
        return JobRow(*_converted(row, _JOB_READ))

    def _insert_event(
        self,
        entry: "_Entry",
        job: m.Job,
        operator: m.Operator,
        now: dt.datetime,
        state: JobState | None = None,
        *,
        step_id: int | None = None,
        qty: int | None = None,
    ) -> int:
        """Append the event; returns its id. `state` gives the step ids (none for a job-level entry)."""
        steps = {s.stage: s.step_id for s in state.steps} if state is not None else {}
        values = dict(
            uuid=entry.uuid,
            job=job.id,
            step=step_id if step_id is not None else steps.get(entry.stage),
            to_step=steps.get(entry.to_stage or entry.stage) if entry.kind == "rework" else None,
            kind=entry.kind,
            qty=entry.qty if qty is None else qty,
            reason=entry.reason,
            item=entry.item,
            item2=entry.item2,
            note=entry.note,
            operator=operator.id,
            terminal=entry.actor.terminal,
            login_user=entry.actor.login_user,
            login_key=entry.actor.login_key,
            client_time=entry.client_time,
            committed_at=now,
            voids=entry.voids,
            reference=entry.reference,
        )
        returning = bool(m.database.returning_clause)
        sql, fields = _insert_sql(m.database.param, returning)
        params = []
        for f in fields:  # a column not named here gets its default, as peewee's insert gives it
            if f.name in values:
                params.append(f.db_value(values[f.name]))
            else:
                default = f.default() if callable(f.default) else f.default
                params.append(f.db_value(default))
        cursor = _run(sql, params)
        return cursor.fetchone()[0] if returning else cursor.lastrowid

    def _duplicate(self, existing: m.Event, entry: "_Entry") -> Receipt:
        """The first result for a UUID recorded again; refused unless it is the same entry (DESIGN §9)."""
        job = m.Job.get_by_id(existing.job_id)
        stage = m.JobStep.get_by_id(existing.step_id).stage if existing.step_id else None
        differs = self._differences(existing, entry, job.number, stage)
        if differs:
            raise DomainError(
                f"This entry id ({entry.uuid}) was already used for a different entry ({'; '.join(differs)})"
            )
        message = f"Saved (it had already reached the store): {describe_event(existing, self.config)}"
        return Receipt(
            existing.id,
            existing.uuid,
            existing.kind,
            job.number,
            stage,
            existing.qty,
            message,
            existing.committed_at,
            duplicate=True,
        )

    def _differences(self, existing: m.Event, entry: "_Entry", number: str, stage: str | None) -> list[str]:
        """How `entry` differs from what `existing` recorded, in words; empty for a retry or an offline replay."""
        badge = m.Operator.select(m.Operator.badge).where(m.Operator.id == existing.operator_id).scalar()
        first = {"kind": existing.kind}
        again = {"kind": entry.kind}
        if "void" in (existing.kind, entry.kind):
            # A void names its target by UUID or by id; its qty and step are the target's.
            target = entry.voids
            if target and target.isdigit():
                target = m.Event.select(m.Event.uuid).where(m.Event.id == int(target)).scalar() or target
            first["voided entry"], again["voided entry"] = existing.voids, target
        else:
            to_stage = None
            if existing.to_step_id:
                to_stage = m.JobStep.select(m.JobStep.stage).where(m.JobStep.id == existing.to_step_id).scalar()
            first.update(
                {
                    "job": number,
                    "step": stage,
                    "rework step": to_stage,
                    "qty": existing.qty,
                    "reason": existing.reason,
                    "item": existing.item,
                    "substitute": existing.item2,
                    "reference": existing.reference,
                }
            )
            again.update(
                {
                    "job": entry.number,
                    "step": entry.stage,
                    "rework step": (entry.to_stage or entry.stage) if entry.kind == "rework" else None,
                    "qty": entry.qty,
                    "reason": entry.reason,
                    "item": entry.item,
                    "substitute": entry.item2,
                    "reference": entry.reference,
                }
            )
        first.update(note=existing.note, badge=badge)
        again.update(note=entry.note, badge=entry.actor.badge)
        return [
            f"{name} was {_said(first[name], name)}, now {_said(again[name], name)}"
            for name in first
            if first[name] != again[name]
        ]

    # -- void -------------------------------------------------------------------------

    def _write_void(self, entry: "_Entry", operator: m.Operator) -> Receipt:
        target = m.Event.get_or_none(m.Event.uuid == entry.voids)
        if target is None and entry.voids.isdigit():
            target = m.Event.get_or_none(m.Event.id == int(entry.voids))
        if target is None:
            raise DomainError(f"No entry {entry.voids} to void")
        if ROLE_KINDS.get(operator.role) is None or operator.role == "viewer":
            raise PermissionDenied(f"{operator.name} ({operator.role}) may not void entries")
        if target.kind == "void":
            raise DomainError("A void cannot itself be voided; record the entry again instead")
        if target.kind in rules.PLANNING_KINDS:
            raise DomainError("A job's creation cannot be voided; put the job on hold instead")
        job = self._lock_job(m.Job.get_by_id(target.job_id).number)
        # Checked under the job lock, so two voids of one entry cannot both land.
        if m.Event.select().where(m.Event.uuid == entry.uuid).exists():
            return self._duplicate(m.Event.get(m.Event.uuid == entry.uuid), entry)
        if m.Event.select().where(m.Event.voids == target.uuid).exists():
            raise DomainError("That entry is already voided")
        now = self.clock()
        if operator.role not in ANYWHERE_ROLES:
            self._check_own_last(operator, target, now)
        before = snapshot(load_state(job, with_materials=True))
        try:
            state = replay(job, exclude={target.uuid})
        except DomainError as exc:
            raise DomainError(
                f"Cannot void this entry: later entries depend on it ({exc}). Void those first."
            ) from None
        entry = replace(
            entry,
            number=job.number,
            qty=target.qty,
            voids=target.uuid,
            stage=m.JobStep.get_by_id(target.step_id).stage if target.step_id else None,
        )
        event_id = self._insert_event(entry, job, operator, now, state, step_id=target.step_id, qty=target.qty)
        save_state(job, state, before, event_id)
        self.store.notify(event_id, job.id)
        message = f"Voided: {describe_event(target, self.config)}"
        return Receipt(event_id, entry.uuid, "void", job.number, entry.stage, target.qty, message, now)

    def _check_own_last(self, operator: m.Operator, target: m.Event, now: dt.datetime) -> None:
        window = dt.timedelta(minutes=self.config.void_window_minutes)
        refuse = (
            f"You can undo only your own last entry within {self.config.void_window_minutes} minutes; ask a supervisor"
        )
        if (
            self.config.void_window_minutes == 0
            or target.operator_id != operator.id
            or now - target.committed_at > window
        ):
            raise PermissionDenied(refuse)
        voided = m.Event.select(m.Event.voids).where(m.Event.voids.is_null(False))
        last = (
            m.Event.select(m.Event.id)
            .where((m.Event.operator == operator.id) & (m.Event.kind != "void") & m.Event.uuid.not_in(voided))
            .order_by(m.Event.id.desc())
            .limit(1)
            .scalar()
        )
        if last != target.id:
            raise PermissionDenied(refuse)

    # -- entries a terminal queued offline that were refused on replay ------------------------

    def report_replay_refusal(
        self, entry: "QueuedEntry", reason: str, *, deadline: float | None = None
    ) -> m.ReplayRefusal | None:
        """Keep an outbox entry the ledger refused on replay, for the board; once per UUID.

        Reporting the same UUID again changes nothing, unless a supervisor had retried it:
        then it is open again, with the new reason. None if the entry is in the ledger after all
        (another replay of the same outbox landed it meanwhile).
        """
        reason = clean_text(reason, max_len=2000, field="reason")
        words = clean_text(entry.words, max_len=500, field="entry") or entry.kind

        def write():
            if self._existing(entry.uuid) is not None:
                return None
            row = m.ReplayRefusal.get_or_none(m.ReplayRefusal.uuid == entry.uuid)
            if row is None:
                # The outbox file is local and could be edited: cut to the columns' sizes.
                return m.ReplayRefusal.create(
                    uuid=entry.uuid,
                    terminal=(entry.terminal or "")[:32],
                    job=(entry.job or None) and entry.job[:32],
                    kind=entry.kind[:24],
                    words=words,
                    badge=entry.badge[:24],
                    client_time=entry.client_time,
                    refused_at=self.clock(),
                    reason=reason,
                )
            if row.status == "retried":
                row.status, row.reason, row.refused_at = "open", reason, self.clock()
                row.resolved_by = row.resolved_at = None
                row.save()
            return row

        return self.store.run_write(write, deadline=deadline)

    def resolve_replay_refusal(
        self, uuid: str, *, actor: Actor, how: str, note: str = "", deadline: float | None = None
    ) -> m.ReplayRefusal:
        """Close an entry refused on replay: 'retried' (sent again) or 'discarded' (given up).

        Discarding needs a supervisor or planner and a note; it leaves a note entry on the job
        in the same transaction, so the job's history says what was lost. Again changes nothing.
        """
        if how not in ("retried", "discarded"):
            raise InputError(f"Resolve a refused entry as retried or discarded, not {how!r}")
        entry_uuid = _check_uuid(uuid)
        badge = parse_badge(actor.badge)
        note = clean_text(note or "", field="note")
        if how == "discarded" and not note:
            raise InputError("Give a reason to discard the entry")

        def write():
            row = m.ReplayRefusal.get_or_none(m.ReplayRefusal.uuid == entry_uuid)
            if row is None:
                raise DomainError(f"No entry {entry_uuid} was refused on replay")
            if row.status == how:
                return row
            if row.status == "discarded":
                raise DomainError(f"Entry {entry_uuid} was discarded already")
            if how == "discarded" and self._existing(entry_uuid) is not None:
                raise DomainError(
                    f"Entry {entry_uuid} is in the ledger after all (a later replay saved it); "
                    "there is nothing to discard"
                )
            if how == "discarded":
                self._discard_note(row, self._operator(badge), Actor(badge, actor.terminal, actor.login_user), note)
            row.status, row.resolved_by, row.resolved_at, row.note = how, badge, self.clock(), note
            row.save()
            return row

        return self.store.run_write(write, deadline=deadline)

    def _discard_note(self, row: m.ReplayRefusal, operator: m.Operator, actor: Actor, note: str) -> None:
        if operator.role not in ANYWHERE_ROLES:
            raise PermissionDenied(
                f"{operator.name} ({operator.role}) may not discard a queued entry; a supervisor or planner must"
            )
        if not row.job or not m.Job.select().where(m.Job.number == row.job).exists():
            return  # no such job to note it on: the refusal keeps the note
        text = f"Discarded queued entry from {row.terminal}: {row.words} — refused on replay: {row.reason} — {note}"
        # Named after the refused entry, so the note cannot be written twice.
        entry = self._normalise(
            "note",
            row.job,
            actor=actor,
            stage=None,
            to_stage=None,
            qty=None,
            reason=None,
            item=None,
            item2=None,
            note=_cut(text, 500),
            voids=None,
            uuid=str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"floorterm:discard:{row.uuid}")),
            client_time=None,
        )
        self._write(entry)

    # -- planning data: operators and jobs ---------------------------------------------------

    def add_operator(self, badge: str, name: str, role: str) -> m.Operator:
        badge = parse_badge(badge)
        name = clean_text(name, max_len=80, field="name")
        if not name:
            raise InputError("Give the operator's name")
        if role not in m.ROLES:
            raise InputError(f"Unknown role {role!r}; choose one of: {', '.join(m.ROLES)}")

        def write():
            if m.Operator.select().where(m.Operator.badge == badge).exists():
                raise DomainError(f"Badge {badge} is already in use")
            return m.Operator.create(badge=badge, name=name, role=role, active=True, created_at=self.clock())

        return self.store.run_write(write)

    def import_operators(self, rows: list[tuple[str, str, str]]) -> tuple[int, int]:
        """Add (badge, name, role) rows in one transaction; existing identical badges are skipped.

        Returns (added, unchanged). A badge that exists with another name or role is an error.
        """
        clean = []
        for badge, name, role in rows:
            if role not in m.ROLES:
                raise InputError(f"Unknown role {role!r} for badge {badge}")
            clean.append((parse_badge(badge), clean_text(name, max_len=80, field="name"), role))

        def write():
            added = unchanged = 0
            for badge, name, role in clean:
                existing = m.Operator.get_or_none(m.Operator.badge == badge)
                if existing is None:
                    m.Operator.create(badge=badge, name=name, role=role, active=True, created_at=self.clock())
                    added += 1
                elif (existing.name, existing.role) == (name, role):
                    unchanged += 1
                else:
                    raise DomainError(
                        f"Badge {badge} exists as {existing.name} ({existing.role}); the file says {name} ({role})"
                    )
            return added, unchanged

        return self.store.run_write(write)

    def set_operator_active(self, badge: str, active: bool) -> m.Operator:
        badge = parse_badge(badge)

        def write():
            operator = m.Operator.get_or_none(m.Operator.badge == badge)
            if operator is None:
                raise DomainError(f"Unknown badge {badge}")
            operator.active = active
            operator.save()
            return operator

        return self.store.run_write(write)

    def create_jobs(
        self,
        specs: list[JobSpec],
        progress: Callable[[int], None] | None = None,
        *,
        actor: Actor | None = None,
        note: str = "",
    ) -> tuple[int, int]:
        """Create jobs in one transaction, each with its job_created entry. Returns (created, unchanged).

        A job number that exists with identical data is left alone; one that exists with
        different data raises DomainError naming the differences, and nothing is written.
        `actor`: a planner's or supervisor's badge, or SYSTEM_BADGE (the default) when none is
        given; its login user is kept either way. `note` goes on every creation entry, after
        the file and line the job came from.
        """
        specs = [self._check_spec(spec) for spec in specs]
        actor = self._creation_actor(actor or Actor(SYSTEM_BADGE))
        note = clean_text(note, field="note")

        def write():
            operator = self._creator(actor.badge)
            created = unchanged = 0
            conflicts = []
            last = None
            for i, spec in enumerate(specs):
                existing = m.Job.get_or_none(m.Job.number == spec.number)
                if existing is not None:
                    diffs = spec.differences(existing, existing.materials)
                    if diffs:
                        conflicts.extend(diffs)
                    else:
                        unchanged += 1
                else:
                    job = self._insert_job(spec)
                    entry = creation_entry(spec, actor, note, self.clock())
                    event_id = self._insert_event(entry, job, operator, entry.client_time)
                    m.Job.update(last_event_id=event_id).where(m.Job.id == job.id).execute()
                    last = (event_id, job.id)
                    created += 1
                if progress is not None:
                    progress(i + 1)
            if conflicts:
                raise DomainError("\n".join(conflicts))
            if last is not None:  # one wake-up for the whole file: boards re-read by event id
                self.store.notify(*last)
            return created, unchanged

        return self.store.run_write(write, deadline=60.0)

    def _creation_actor(self, actor: Actor) -> Actor:
        """The actor of creation entries, cleaned; the badge checked for its form (its role in the write)."""
        return _cleaned(actor, actor.badge if actor.badge == SYSTEM_BADGE else parse_badge(actor.badge))

    def _creator(self, badge: str) -> m.Operator:
        """Who creates jobs: a planner or supervisor, or the store's own system actor (made on first use)."""
        if badge != SYSTEM_BADGE:
            operator = self._operator(badge)
            if operator.role not in ANYWHERE_ROLES:
                raise PermissionDenied(
                    f"{operator.name} ({operator.role}) may not create jobs; a planner or supervisor must"
                )
            return operator
        # Disabled, and '$' is in no badge anyone can type or scan: nobody signs in as it.
        m.Operator.insert(
            badge=SYSTEM_BADGE, name=SYSTEM_NAME, role="planner", active=False, created_at=self.clock()
        ).on_conflict_ignore().execute()
        return m.Operator.get(m.Operator.badge == SYSTEM_BADGE)

    def _check_spec(self, spec: JobSpec) -> JobSpec:
        """The spec with its number and texts cleaned; DomainError if it cannot be a job."""
        spec = replace(
            spec,
            number=parse_job_number(spec.number),
            order_ref=clean_text(spec.order_ref, max_len=64, field="order reference"),
            customer=clean_text(spec.customer, max_len=120, field="customer"),
            product=clean_text(spec.product, max_len=120, field="product"),
            inspection=clean_text(spec.inspection, max_len=1000, field="inspection"),
            notes=clean_text(spec.notes, max_len=1000, field="notes"),
        )
        try:
            self.config.routing(spec.routing)
        except KeyError:
            raise DomainError(f"Job {spec.number}: unknown routing {spec.routing!r}") from None
        if spec.qty < 1:
            raise DomainError(f"Job {spec.number}: quantity must be at least 1")
        if spec.planned_start and spec.planned_end and spec.planned_end < spec.planned_start:
            raise DomainError(f"Job {spec.number}: planned end is before planned start")
        return spec

    def _insert_job(self, spec: JobSpec) -> m.Job:
        now = self.clock()
        job = m.Job.create(
            number=spec.number,
            order_ref=spec.order_ref,
            customer=spec.customer,
            product=spec.product,
            qty=spec.qty,
            planned_start=spec.planned_start,
            planned_end=spec.planned_end,
            routing=spec.routing,
            initial_priority=spec.priority,
            priority=spec.priority,
            inspection=spec.inspection,
            notes=spec.notes,
            created_at=now,
        )
        for seq, code in enumerate(self.config.routing(spec.routing).stages, start=1):
            stage = self.config.stage(code)
            step = m.JobStep.create(
                job=job, seq=seq, stage=code, name=stage.name, kind=stage.kind, work_centre=stage.work_centre
            )
            m.StepBalance.create(step=step, job=job, stage=code)
        for line in spec.materials:
            m.MaterialLine.create(
                job=job, item=line.item, description=line.description, unit=line.unit, required=line.required
            )
        return job


@dataclass(frozen=True)
class _Entry:
    kind: str
    number: str | None
    stage: str | None
    to_stage: str | None
    qty: int
    reason: str | None
    item: str | None
    item2: str | None
    note: str
    voids: str | None
    uuid: str
    client_time: dt.datetime
    actor: Actor
    reference: str | None = None


def unissued_words(lines: Iterable[MaterialState], most: int = 3) -> str:
    """Material still to issue, e.g. "RB-C45-60 37 m, BOLT-M12X40 10 pcs and 2 more lines"."""
    lines = list(lines)
    words = ", ".join(f"{line.item} {line.short} {line.unit}" for line in lines[:most])
    if len(lines) > most:
        words += f" and {len(lines) - most} more line{'s' if len(lines) - most > 1 else ''}"
    return words


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _said(value, name: str) -> str:
    """A field of an entry in a message: none, 5, CUT; a note quoted and cut short."""
    if value is None or value == "":
        return "none"
    return f"'{_cut(value, 40)}'" if name == "note" else str(value)


def creation_entry(spec: JobSpec, actor: Actor, note: str, at: dt.datetime) -> _Entry:
    """The job_created entry of a new job: who, when, and the file and line it came from."""
    where = f"Imported from {spec.origin}" if spec.origin else ""
    text = _cut(clean_text("; ".join(part for part in (where, note) if part), max_len=10_000), 500)
    # Named after the job and the moment, so a bulk import makes the same ids from the same data.
    entry_uuid = str(uuidlib.uuid5(uuidlib.NAMESPACE_URL, f"floorterm:job_created:{spec.number}:{at.isoformat()}"))
    return _Entry(
        kind="job_created",
        number=spec.number,
        stage=None,
        to_stage=None,
        qty=spec.qty,
        reason=None,
        item=None,
        item2=None,
        note=text,
        voids=None,
        uuid=entry_uuid,
        client_time=at,
        actor=actor,
    )


def check_entry(config: Config, kind: str, job: str | None, *, actor: Actor, operator, **fields) -> _Entry:
    """The ledger's checks that need no store: the input, the reason lists, role and terminal.

    For a kiosk working from its offline copy; `operator` (with name and role) comes from that
    copy. Raises InputError/DomainError in the ledger's own words; returns the entry as cleaned.
    """
    ledger = Ledger(None, config)  # these checks never touch the store
    given = dict(
        stage=None,
        to_stage=None,
        qty=None,
        reason=None,
        item=None,
        item2=None,
        note="",
        voids=None,
        uuid=None,
        client_time=None,
    )
    entry = ledger._normalise(kind, job, actor=actor, **{**given, **fields})
    ledger._authorise(entry, operator)
    return entry


def _cleaned(actor: Actor, badge: str) -> Actor:
    """The actor with its badge as checked and its login user and key made safe to store."""
    return Actor(
        badge,
        actor.terminal,
        clean_text(actor.login_user or "", field="login user") or None,
        clean_text(actor.login_key or "", field="login key") or None,
    )


def _check_uuid(value: str) -> str:
    try:
        return str(uuidlib.UUID(str(value).strip()))
    except ValueError:
        raise InputError(f"Entry id {value!r} is not a UUID") from None


# -- loading and saving a job's balances ---------------------------------------------------


def load_state(job: m.Job, *, with_materials: bool = True) -> JobState:
    """The job's balances as stored (the cache the ledger keeps).

    The write path's read: two prepared statements (steps with their balances, then the
    material lines), values converted by the models' fields as peewee's own reads do.
    """
    return _load_state(job, with_materials=with_materials)[0]


def _load_state(
    job: m.Job, *, with_materials: bool = True, uuid: str | None = None
) -> tuple[JobState | None, int | None]:
    """load_state; with `uuid`, also the id of the event recorded under it (or None), read by
    the steps statement itself (the write path's look under the job lock, no statement more)."""
    existing_id = None
    if uuid is None:
        rows = _run(_step_read_sql(m.database.param), (job.id,)).fetchall()
    else:
        rows = _run(_step_read_sql(m.database.param, True), (uuid, job.id)).fetchall()
        if rows:
            existing_id = rows[0][-1]
            rows = [row[:-1] for row in rows]
        else:  # a job without steps: the look on its own
            found = _run(_event_by_uuid_sql(m.database.param), (uuid,)).fetchone()
            existing_id = found[0] if found is not None else None
        if existing_id is not None:
            return None, existing_id  # a retry: the caller answers with the first result
    steps = [StepState(**dict(zip(_STEP_FIELDS, _converted(row, _STEP_READ)))) for row in rows]
    materials = {}
    if with_materials:
        for row in _run(_material_read_sql(m.database.param), (job.id,)).fetchall():
            line = MaterialState(**dict(zip(_MATERIAL_FIELDS, _converted(row, _MATERIAL_READ))))
            materials[line.item] = line
    state = JobState(
        number=job.number,
        qty=job.qty,
        initial_priority=job.initial_priority,
        steps=steps,
        materials=materials,
        released=job.released,
        dispatched=job.dispatched,
        priority=job.priority,
        priority_changed=bool(job.priority_changed),
        on_hold=bool(job.on_hold),
        delay_reason=getattr(job, "delay_reason", None),
        delay_since=getattr(job, "delay_since", None),
        delay_event_id=getattr(job, "delay_event_id", None),
    )
    return state, existing_id


# Columns read into StepState (JobStep for _STEP_COLUMNS, else StepBalance) and MaterialState.
_STEP_COLUMNS = ("seq", "stage", "name", "kind")
_STEP_FIELDS = (
    "step_id",
    "seq",
    "stage",
    "name",
    "kind",
    "received",
    "completed",
    "rejected",
    "reworked",
    "scrapped",
    "rework_in",
    "rework_here",
    "rework_failed",
    "passed_first_time",
    "passed_after_rework",
    "started",
    "waiting_since",
    "delay_reason",
    "delay_since",
    "delay_event_id",
    "sent",
    "out_supplier",
    "out_since",
    "out_suppliers",
)
_MATERIAL_FIELDS = (
    "item",
    "required",
    "description",
    "unit",
    "substitute_for",
    "issued",
    "returned",
    "scrapped",
    "sub_out",
    "sub_in",
)


# -- the write path's statements ---------------------------------------------------------------
# Every entry runs the same few statements. Built by peewee's query objects each time, their
# SQL cost about two thirds of an entry (README "Benchmarks"); here each is built once per
# placeholder style ("?" SQLite, "%s" PostgreSQL) from the models' columns and sent through
# the driver. Values still pass through each field's db_value / python_value, so what is
# stored and read back is exactly what peewee would store and read.


def _q(name: str) -> str:
    return f'"{name}"'


def _run(sql: str, params: tuple | list = ()):
    """Execute one statement through peewee's connection (its reconnect and error mapping)."""
    return m.database.execute_sql(sql, params)


def _run_many(sql: str, rows: list) -> None:
    """One statement for many rows (psycopg pipelines them: one round trip)."""
    if len(rows) == 1:
        _run(sql, rows[0])
        return
    with peewee.__exception_wrapper__:
        m.database.cursor().executemany(sql, rows)


def _converted(row, converters) -> list:
    return [v if v is None or c is None else c(v) for v, c in zip(row, converters)]


def _reader(field):
    """A field's python_value, or None where the driver's value is already right (a plain int or text)."""
    if type(field) in (peewee.IntegerField, peewee.BigIntegerField, peewee.CharField, peewee.TextField):
        return None
    if isinstance(field, (peewee.AutoField, peewee.ForeignKeyField)):
        return None
    return field.python_value


_STEP_COLUMNS_READ = tuple(
    getattr(m.JobStep if f in _STEP_COLUMNS or f == "step_id" else m.StepBalance, f if f != "step_id" else "id")
    for f in _STEP_FIELDS
)
_STEP_READ = tuple(_reader(f) for f in _STEP_COLUMNS_READ)
_MATERIAL_COLUMNS_READ = tuple(getattr(m.MaterialLine, f) for f in _MATERIAL_FIELDS)
_MATERIAL_READ = tuple(_reader(f) for f in _MATERIAL_COLUMNS_READ)
_JOB_FIELDS = (
    "id",
    "number",
    "qty",
    "initial_priority",
    "released",
    "dispatched",
    "priority",
    "priority_changed",
    "on_hold",
    "delay_reason",
    "delay_since",
    "delay_event_id",
)
_JOB_READ = tuple(_reader(getattr(m.Job, f)) for f in _JOB_FIELDS)


@dataclass(frozen=True)
class JobRow:
    """The job row the write path locks: the columns load_state and the ledger read, no model instance."""

    id: int
    number: str
    qty: int
    initial_priority: int
    released: int
    dispatched: int
    priority: int
    priority_changed: bool
    on_hold: bool
    delay_reason: str | None
    delay_since: dt.datetime | None
    delay_event_id: int | None


@dataclass(frozen=True)
class OperatorRow:
    """An operator as the write path reads it (no model instance)."""

    id: int
    badge: str
    name: str
    role: str
    active: bool


@functools.lru_cache(maxsize=None)
def _step_read_sql(p: str, with_uuid: bool = False) -> str:
    """The steps and their balances; `with_uuid`: each row ends with the id of the event
    recorded under a UUID (the first parameter), or NULL."""
    s, b = m.JobStep, m.StepBalance
    columns = ", ".join(f"{'s' if f.model is s else 'b'}.{_q(f.column_name)}" for f in _STEP_COLUMNS_READ)
    if with_uuid:
        columns += f", ({_event_by_uuid_sql(p)})"
    return (
        f"SELECT {columns} FROM {_q(s._meta.table_name)} AS s JOIN {_q(b._meta.table_name)} AS b "
        f"ON b.{_q(b.step.column_name)} = s.{_q(s.id.column_name)} "
        f"WHERE s.{_q(s.job.column_name)} = {p} ORDER BY s.{_q(s.seq.column_name)}"
    )


@functools.lru_cache(maxsize=None)
def _material_read_sql(p: str) -> str:
    ml = m.MaterialLine
    columns = ", ".join(_q(f.column_name) for f in _MATERIAL_COLUMNS_READ)
    return (
        f"SELECT {columns} FROM {_q(ml._meta.table_name)} WHERE {_q(ml.job.column_name)} = {p} "
        f"ORDER BY {_q(ml.id.column_name)}"
    )


@functools.lru_cache(maxsize=None)
def _job_lock_sql(p: str, for_update: bool) -> str:
    j = m.Job
    columns = ", ".join(_q(getattr(j, f).column_name) for f in _JOB_FIELDS)
    lock = " FOR UPDATE" if for_update else ""
    return f"SELECT {columns} FROM {_q(j._meta.table_name)} WHERE {_q(j.number.column_name)} = {p} LIMIT 1{lock}"


@functools.lru_cache(maxsize=None)
def _operator_sql(p: str) -> str:
    o = m.Operator
    columns = ", ".join(_q(getattr(o, f).column_name) for f in ("id", "badge", "name", "role", "active"))
    return f"SELECT {columns} FROM {_q(o._meta.table_name)} WHERE {_q(o.badge.column_name)} = {p} LIMIT 1"


@functools.lru_cache(maxsize=None)
def _existing_and_operator_sql(p: str) -> str:
    """One row: the id of the event under a UUID (or NULL), then the badge's operator columns
    (NULLs if no such badge). Parameters: the UUID, the badge."""
    o = m.Operator
    columns = ", ".join(f"o.{_q(getattr(o, f).column_name)}" for f in ("id", "badge", "name", "role", "active"))
    return (
        f"SELECT ({_event_by_uuid_sql(p)}), {columns} FROM (SELECT 1 AS one) AS one "
        f"LEFT JOIN {_q(o._meta.table_name)} AS o ON o.{_q(o.badge.column_name)} = {p}"
    )


@functools.lru_cache(maxsize=None)
def _event_by_uuid_sql(p: str) -> str:
    e = m.Event
    return f"SELECT {_q(e.id.column_name)} FROM {_q(e._meta.table_name)} WHERE {_q(e.uuid.column_name)} = {p} LIMIT 1"


@functools.lru_cache(maxsize=None)
def _insert_sql(p: str, returning: bool) -> tuple[str, tuple]:
    """INSERT of an event with every column but the id (the fields, for db_value and defaults)."""
    e = m.Event
    fields = tuple(f for f in e._meta.sorted_fields if f is not e.id)
    sql = (
        f"INSERT INTO {_q(e._meta.table_name)} ({', '.join(_q(f.column_name) for f in fields)}) "
        f"VALUES ({', '.join([p] * len(fields))})"
    )
    return (sql + f" RETURNING {_q(e.id.column_name)}" if returning else sql), fields


@functools.lru_cache(maxsize=None)
def _update_sql(p: str, model, names: tuple, key: str) -> tuple[str, tuple]:
    """UPDATE model SET names... WHERE key = p (the fields, for db_value)."""
    fields = tuple(getattr(model, n) for n in names)
    sets = ", ".join(f"{_q(f.column_name)} = {p}" for f in fields)
    where = getattr(model, key).column_name
    return f"UPDATE {_q(model._meta.table_name)} SET {sets} WHERE {_q(where)} = {p}", fields


def _update_values(fields: tuple, values: dict, key) -> tuple:
    return (*(f.db_value(values[f.name]) for f in fields), key)


def load_states(jobs, *, with_materials: bool = True) -> dict[int, JobState]:
    """Stored balances of many jobs (Job rows or named tuples with the same columns).

    Reads plain tuples rather than model instances: several times faster, which the
    board needs to load 2,000 jobs x 10 steps well inside its one-second budget.
    """
    ids = [j.id for j in jobs]
    steps: dict[int, list[StepState]] = {i: [] for i in ids}
    materials: dict[int, dict[str, MaterialState]] = {i: {} for i in ids}
    s, b, ml = m.JobStep, m.StepBalance, m.MaterialLine
    for chunk in (ids[i : i + 500] for i in range(0, len(ids), 500)):
        rows = (
            s.select(s.job, s.id, *(getattr(s if f in _STEP_COLUMNS else b, f) for f in _STEP_FIELDS[1:]))
            .join(b, on=(b.step == s.id))
            .where(s.job.in_(chunk))
            .order_by(s.job, s.seq)
            .tuples()
        )
        for job_id, *values in rows:
            steps[job_id].append(StepState(**dict(zip(_STEP_FIELDS, values))))
        if not with_materials:
            continue
        lines = (
            ml.select(ml.job, *(getattr(ml, f) for f in _MATERIAL_FIELDS))
            .where(ml.job.in_(chunk))
            .order_by(ml.id)
            .tuples()
        )
        for job_id, *values in lines:
            line = MaterialState(**dict(zip(_MATERIAL_FIELDS, values)))
            materials[job_id][line.item] = line
    return {
        j.id: JobState(
            number=j.number,
            qty=j.qty,
            initial_priority=j.initial_priority,
            steps=steps[j.id],
            materials=materials[j.id],
            released=j.released,
            dispatched=j.dispatched,
            priority=j.priority,
            priority_changed=bool(j.priority_changed),
            on_hold=bool(j.on_hold),
            # Callers that select their own columns (the board) may leave these out.
            delay_reason=getattr(j, "delay_reason", None),
            delay_since=getattr(j, "delay_since", None),
            delay_event_id=getattr(j, "delay_event_id", None),
        )
        for j in jobs
    }


def empty_state(job: m.Job) -> JobState:
    """The job as created: routing copied, materials listed, nothing released."""
    return empty_states([job])[job.id]


def empty_states(jobs) -> dict[int, JobState]:
    """Many jobs as created (see empty_state), read in a few queries; jobs as for load_states."""
    out = {}
    for job_id, state in load_states(jobs).items():
        fresh = [StepState(seq=s.seq, stage=s.stage, name=s.name, kind=s.kind, step_id=s.step_id) for s in state.steps]
        materials = {
            item: MaterialState(item=line.item, required=line.required, description=line.description, unit=line.unit)
            for item, line in state.materials.items()
            if line.substitute_for is None
        }
        out[job_id] = JobState(
            number=state.number,
            qty=state.qty,
            initial_priority=state.initial_priority,
            steps=fresh,
            materials=materials,
            priority=state.initial_priority,
        )
    return out


def live_events(job_id: int, exclude: set[str] = frozenset()):
    """The job's events that count: not voids, not voided, not excluded; in commit order."""
    voided = m.Event.select(m.Event.voids).where((m.Event.job == job_id) & m.Event.voids.is_null(False))
    steps = {s.id: s.stage for s in m.JobStep.select(m.JobStep.id, m.JobStep.stage).where(m.JobStep.job == job_id)}
    query = (
        m.Event.select()
        .where((m.Event.job == job_id) & (m.Event.kind != "void") & m.Event.uuid.not_in(voided))
        .order_by(m.Event.id)
    )
    for event in query:
        if event.uuid in exclude:
            continue
        yield event, steps


def replay(job: m.Job, exclude: set[str] = frozenset()) -> JobState:
    """Recompute the job's balances from its ledger; raises DomainError if the history does not hold."""
    state = empty_state(job)
    for event, steps in live_events(job.id, exclude):
        fact = Fact(
            kind=event.kind,
            at=event.committed_at,
            stage=steps.get(event.step_id),
            to_stage=steps.get(event.to_step_id),
            qty=event.qty,
            reason=event.reason,
            item=event.item,
            item2=event.item2,
            event_id=event.id,
            reference=event.reference,
        )
        rules.apply(state, fact, history=True)
    return state


def snapshot(state: JobState) -> dict:
    """A comparable copy of the stored balances, to write only what changed."""
    return {
        "job": _job_values(state),
        "steps": {s.stage: _step_values(s) for s in state.steps},
        "materials": {k: _material_values(v) for k, v in state.materials.items()},
    }


def _job_values(state: JobState) -> dict:
    return dict(
        released=state.released,
        dispatched=state.dispatched,
        priority=state.priority,
        priority_changed=state.priority_changed,
        on_hold=state.on_hold,
        is_open=state.is_open,
        delay_reason=state.delay_reason,
        delay_since=state.delay_since,
        delay_event_id=state.delay_event_id,
    )


def _step_values(s: StepState) -> dict:
    return dict(
        received=s.received,
        completed=s.completed,
        rejected=s.rejected,
        reworked=s.reworked,
        scrapped=s.scrapped,
        rework_in=s.rework_in,
        rework_here=s.rework_here,
        rework_failed=s.rework_failed,
        passed_first_time=s.passed_first_time,
        passed_after_rework=s.passed_after_rework,
        pending=s.pending,
        awaiting=s.awaiting,
        started=s.started,
        waiting_since=s.waiting_since,
        delay_reason=s.delay_reason,
        delay_since=s.delay_since,
        delay_event_id=s.delay_event_id,
        sent=s.sent,
        out_supplier=s.out_supplier,
        out_since=s.out_since,
        out_suppliers=s.out_suppliers,
    )


def _material_values(line: MaterialState) -> dict:
    return dict(
        issued=line.issued, returned=line.returned, scrapped=line.scrapped, sub_out=line.sub_out, sub_in=line.sub_in
    )


def save_state(job: m.Job, state: JobState, before: dict, event_id: int | None) -> None:
    """Write the balances that differ from `before` (and the job's newest event id)."""
    errors = state.conservation_errors()
    if errors:  # a rule let something through: refuse rather than store a wrong balance
        raise DomainError(f"Job {job.number}: entry refused, it would break the ledger ({'; '.join(errors)})")
    values = _job_values(state)
    if event_id is not None:
        values["last_event_id"] = event_id
    p = m.database.param
    sql, fields = _update_sql(p, m.Job, tuple(values), "id")
    _run(sql, _update_values(fields, values, job.id))
    changed = []
    for step in state.steps:
        new = _step_values(step)
        if before["steps"].get(step.stage) != new:
            changed.append((step.step_id, new))
    if changed:  # the steps whose balances moved, in one statement (two for a complete)
        sql, fields = _update_sql(p, m.StepBalance, tuple(changed[0][1]), "step")
        _run_many(sql, [_update_values(fields, new, step_id) for step_id, new in changed])
    gone = [item for item in before["materials"] if item not in state.materials]
    if gone:  # a voided substitution takes its substitute line off the job
        m.MaterialLine.delete().where(
            (m.MaterialLine.job == job.id)
            & m.MaterialLine.item.in_(gone)
            & m.MaterialLine.substitute_for.is_null(False)
        ).execute()
    for item, line in state.materials.items():
        new = _material_values(line)
        old = before["materials"].get(item)
        if old == new:
            continue
        if (
            old is None
            and not m.MaterialLine.select()
            .where((m.MaterialLine.job == job.id) & (m.MaterialLine.item == item))
            .exists()
        ):
            m.MaterialLine.create(
                job=job.id,
                item=item,
                description=line.description,
                unit=line.unit,
                required=line.required,
                substitute_for=line.substitute_for,
                **new,
            )
        else:
            m.MaterialLine.update(**new).where((m.MaterialLine.job == job.id) & (m.MaterialLine.item == item)).execute()


def describe_event(event: m.Event, config: Config) -> str:
    """One line for an event in a job's history: what, how many, where."""
    stage = event.step.name if event.step_id else None  # no query when the caller joined the step in
    parts = [event.kind.replace("_", " ")]
    if event.kind in rules.MATERIAL_KINDS and event.item:
        # A material quantity always carries its unit: "material issue 10 kg PL-S235-6".
        unit = (
            m.MaterialLine.select(m.MaterialLine.unit)
            .where((m.MaterialLine.job == event.job_id) & (m.MaterialLine.item == event.item))
            .scalar()
        )
        parts.append(f"{event.qty} {unit}" if unit else str(event.qty))
        parts.append(f"{event.item} → {event.item2} (substitute)" if event.item2 else event.item)
    else:
        if event.qty and event.kind not in ("delay", "resume", "note", "hold", "unhold"):
            parts.append(str(event.qty))
        if event.item:
            parts.append(event.item)
    if stage:
        parts.append(f"at {stage}")
    elif event.kind in ("delay", "resume"):
        parts.append("of the whole job")
    if event.reason:
        parts.append(f"({event.reason})")
    if event.reference:
        parts.append(f"· ref {event.reference}")
    return " ".join(parts)
