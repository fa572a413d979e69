"""The ledger's bulk path: import many jobs together with their past entries.

Used by the demo (and for loading history from another system). Every entry is checked
exactly as `Ledger.record` checks it - the same input normalising, reason lists, badge and
role/terminal rules, and the same pure `floorterm.rules.apply` on an in-memory JobState; a
void is checked by replaying the job's entries without the voided one. Only then are the
jobs, their steps, balances, material lines and events written with `insert_many`, a few
hundred jobs per write transaction. The stored balances are what `floorterm.ledger.replay`
computes from the stored events, so `floorterm db verify` finds nothing to report.

Within one batch, event ids follow the entries' times (so newer entries get higher ids, as
they would have when recorded live); within a job they always follow the job's own order.
If a batch is refused, the batches before it stay written: each batch lands whole or not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Callable, Iterable

from floorterm import models as m
from floorterm import rules
from floorterm._peewee import peewee
from floorterm.clock import utcnow
from floorterm.config import Config
from floorterm.errors import DomainError, InputError, PermissionDenied
from floorterm.ledger import (
    ANYWHERE_ROLES,
    SYSTEM_BADGE,
    Actor,
    JobSpec,
    Ledger,
    _check_uuid,
    _job_values,
    _material_values,
    _step_values,
    creation_entry,
    new_uuid,
)
from floorterm.rules import Fact, JobState, MaterialState, StepState
from floorterm.store import Store

BATCH_JOBS = 250


@dataclass(frozen=True)
class HistoricEntry:
    """One past entry of a job, as the ledger's `record` would have been called for it.

    `at` is when it was recorded (naive UTC): it becomes the event's commit and client time.
    `voids` is, for a void, the index of the voided entry in the same job's entry list.
    """

    kind: str
    at: dt.datetime
    badge: str
    terminal: str | None = None
    stage: str | None = None
    to_stage: str | None = None
    qty: int = 0
    reason: str | None = None
    item: str | None = None
    item2: str | None = None
    note: str = ""
    voids: int | None = None
    uuid: str | None = None


@dataclass
class _Event:
    """A checked entry waiting for its ids."""

    entry: object  # floorterm.ledger._Entry
    at: dt.datetime
    operator_id: int
    voids_uuid: str | None = None


@dataclass
class _Job:
    spec: JobSpec
    state: JobState
    events: list[_Event]
    created_at: dt.datetime


def import_history(
    store: Store,
    config: Config,
    histories: Iterable[tuple[JobSpec, list[HistoricEntry]]],
    progress: Callable[[int, int], None] | None = None,
    *,
    now: dt.datetime | None = None,
    batch_jobs: int = BATCH_JOBS,
    actor: Actor | None = None,
    note: str = "",
) -> tuple[int, int]:
    """Create the jobs of `histories` with their entries; returns (jobs, events) written.

    Each job gets its job_created entry first, as `Ledger.create_jobs` writes it (`actor` and
    `note` as there); the events written count these too.

    Raises InputError / DomainError / PermissionDenied, naming the job and entry, for the
    first entry the ledger would refuse (nothing of that batch is written). Job numbers and
    entry ids (uuid; made up when None) that already exist are refused. A job without
    entries gets created_at = `now` (default: the current time); one with entries, the time
    of its first entry. `progress(jobs, events)` is called after each batch.
    """
    ledger = Ledger(store, config)
    creator = ledger._creation_actor(actor or Actor(SYSTEM_BADGE))
    operators = {op.badge: op for op in m.Operator.select()}
    now = now or utcnow()
    seen_numbers: set[str] = set()
    seen_uuids: set[str] = set()
    jobs_done = events_done = 0
    batch: list[_Job] = []
    cache: dict = {}

    def flush() -> None:
        nonlocal jobs_done, events_done
        if batch:
            try:
                store.run_write(lambda: _write_batch(store, config, batch, ledger, creator, note), deadline=120.0)
            except peewee.IntegrityError as exc:
                raise DomainError(
                    f"Import refused: an entry id or job number is already in the store ({exc})"
                ) from None
            jobs_done += len(batch)
            events_done += sum(len(job.events) + 1 for job in batch)  # + its creation
            batch.clear()
            seen_uuids.clear()  # later batches meet these in the store's unique index instead
            if progress is not None:
                progress(jobs_done, events_done)

    for spec, entries in histories:
        spec = ledger._check_spec(spec)
        if spec.number in seen_numbers:
            raise DomainError(f"Job {spec.number} appears twice in the import")
        seen_numbers.add(spec.number)
        batch.append(_check_job(ledger, config, operators, spec, entries, seen_uuids, now, cache))
        if len(batch) >= batch_jobs:
            flush()
    flush()
    return jobs_done, events_done


# -- checking, in memory -------------------------------------------------------------------


def fresh_state(spec: JobSpec, config: Config) -> JobState:
    """The job as `create_jobs` would store it: routing copied, materials listed, nothing released."""
    steps = []
    for seq, code in enumerate(config.routing(spec.routing).stages, start=1):
        stage = config.stage(code)
        steps.append(StepState(seq=seq, stage=code, name=stage.name, kind=stage.kind))
    materials = {
        line.item: MaterialState(item=line.item, required=line.required, description=line.description, unit=line.unit)
        for line in spec.materials
    }
    return JobState(
        number=spec.number,
        qty=spec.qty,
        initial_priority=spec.priority,
        steps=steps,
        materials=materials,
        priority=spec.priority,
    )


def _check_job(
    ledger: Ledger,
    config: Config,
    operators: dict,
    spec: JobSpec,
    entries: list[HistoricEntry],
    seen_uuids: set[str],
    now: dt.datetime,
    cache: dict,
) -> _Job:
    if len({line.item for line in spec.materials}) != len(spec.materials):
        raise DomainError(f"Job {spec.number}: an item is listed twice on its material list")
    state = fresh_state(spec, config)
    facts: list[Fact | None] = []  # None for a void
    live: list[bool] = []
    events: list[_Event] = []
    previous_at = None
    for index, raw in enumerate(entries):
        where = f"Job {spec.number}, entry {index + 1} ({raw.kind})"
        try:
            if not isinstance(raw.at, dt.datetime) or raw.at.tzinfo is not None:
                raise InputError("its time must be a naive UTC datetime")
            if previous_at is not None and raw.at < previous_at:
                raise InputError("its time is before the entry above it; list entries in the order they happened")
            previous_at = raw.at
            entry = _normalised(ledger, cache, raw, spec.number)
            operator = _operator(operators, entry.actor.badge)
            if entry.uuid in seen_uuids:
                raise DomainError(f"entry id {entry.uuid} is used twice")
            seen_uuids.add(entry.uuid)
            if entry.kind == "void":
                target, entry = _check_void(raw, index, entry, entries, events, live, operator, config)
                live[target] = False
                facts.append(None)
                live.append(False)
                state = _replay(spec, config, facts, live)
                events.append(_Event(entry, raw.at, operator.id, voids_uuid=events[target].entry.uuid))
                continue
            ledger._authorise(entry, operator)
            fact = Fact(
                kind=entry.kind,
                at=raw.at,
                stage=entry.stage,
                to_stage=entry.to_stage,
                qty=entry.qty,
                reason=entry.reason,
                item=entry.item,
                item2=entry.item2,
                event_id=index,
            )
            rules.apply(state, fact)
        except (DomainError, InputError) as exc:
            raise type(exc)(f"{where}: {exc}") from None
        facts.append(fact)
        live.append(True)
        events.append(_Event(entry, raw.at, operator.id))
    errors = state.conservation_errors()
    if errors:  # a rule let something through: refuse, as save_state does
        raise DomainError(f"Job {spec.number}: its entries would break the ledger ({'; '.join(errors)})")
    created_at = entries[0].at if entries else now
    return _Job(spec, state, events, created_at)


_PLACEHOLDER_UUID = "00000000-0000-4000-8000-000000000000"
_PLACEHOLDER_TIME = dt.datetime(2000, 1, 1)


def _normalised(ledger: Ledger, cache: dict, raw: HistoricEntry, number: str):
    """`Ledger._normalise` of the entry; its result for the same fields is reused across jobs.

    Only the job number, entry id and time differ between two jobs' identical entries, and
    normalising a million entries one by one costs most of an import's time.
    """
    key = (
        raw.kind,
        raw.badge,
        raw.terminal,
        raw.stage,
        raw.to_stage,
        raw.qty,
        raw.reason,
        raw.item,
        raw.item2,
        raw.note,
        raw.voids,
    )
    template = cache.get(key)
    if template is None:
        template = ledger._normalise(
            raw.kind,
            _PLACEHOLDER_JOB,
            actor=Actor(raw.badge, raw.terminal),
            stage=raw.stage,
            to_stage=raw.to_stage,
            qty=raw.qty,
            reason=raw.reason,
            item=raw.item,
            item2=raw.item2,
            note=raw.note,
            voids=None if raw.voids is None else str(raw.voids),
            uuid=_PLACEHOLDER_UUID,
            client_time=_PLACEHOLDER_TIME,
        )
        if len(cache) < 100_000:
            cache[key] = template
    entry_uuid = _check_uuid(raw.uuid) if raw.uuid else new_uuid()
    return replace(template, number=number, uuid=entry_uuid, client_time=raw.at)


_PLACEHOLDER_JOB = "J-0"


def _operator(operators: dict, badge: str) -> m.Operator:
    operator = operators.get(badge)
    if operator is None:
        raise PermissionDenied(f"Unknown badge {badge}")
    if not operator.active:
        raise PermissionDenied(f"Badge {badge} ({operator.name}) is disabled")
    return operator


def _check_void(
    raw: HistoricEntry,
    index: int,
    entry,
    entries: list[HistoricEntry],
    events: list[_Event],
    live: list[bool],
    operator: m.Operator,
    config: Config,
):
    """The voided entry's index, and the void as the ledger stores it (the target's step and quantity)."""
    target = raw.voids
    if isinstance(target, bool) or not isinstance(target, int) or not 0 <= target < index:
        raise DomainError(f"a void must name an earlier entry of the same job, not {target!r}")
    aimed = entries[target]
    if aimed.kind == "void":
        raise DomainError("A void cannot itself be voided; record the entry again instead")
    if not live[target]:
        raise DomainError("That entry is already voided")
    if operator.role == "viewer":
        raise PermissionDenied(f"{operator.name} ({operator.role}) may not void entries")
    if operator.role not in ANYWHERE_ROLES:
        # The ledger lets others void only their own last entry within the void window;
        # "last" is checked within this job's list here.
        window = dt.timedelta(minutes=config.void_window_minutes)
        own_later = any(e.badge == raw.badge and e.kind != "void" for e in entries[target + 1 : index])
        if config.void_window_minutes == 0 or aimed.badge != raw.badge or raw.at - aimed.at > window or own_later:
            raise PermissionDenied(
                f"You can undo only your own last entry within {config.void_window_minutes} minutes; ask a supervisor"
            )
    aimed_entry = events[target].entry
    return target, replace(entry, qty=aimed_entry.qty, stage=aimed_entry.stage)


def _replay(spec: JobSpec, config: Config, facts: list[Fact | None], live: list[bool]) -> JobState:
    state = fresh_state(spec, config)
    for fact, alive in zip(facts, live):
        if alive:
            try:
                rules.apply(state, fact)
            except DomainError as exc:
                raise DomainError(
                    f"Cannot void this entry: later entries depend on it ({exc}). Void those first."
                ) from None
    return state


# -- writing, one batch per transaction ----------------------------------------------------


def _reserve_ids(store: Store, model, count: int) -> list[int]:
    """`count` fresh primary keys for `model`, ascending, safe inside the write transaction."""
    if count == 0:
        return []
    table = model._meta.table_name
    if store.backend == "postgres":
        # Drawn from the table's own sequence, so live writers never collide with them.
        cursor = store.db.execute_sql(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)", (table, count)
        )
        return sorted(row[0] for row in cursor.fetchall())
    # SQLite: BEGIN IMMEDIATE holds the write lock, so nobody else takes these meanwhile.
    top = store.db.execute_sql(f'SELECT COALESCE(MAX("id"), 0) FROM "{table}"').fetchone()[0]
    return list(range(top + 1, top + 1 + count))


def _insert(store: Store, model, fields: list, rows: list[tuple]) -> None:
    """insert_many's statement, run once per row with executemany.

    Building one multi-row INSERT in peewee costs far more Python time than the database
    needs to store the rows (a million events: minutes against seconds), so peewee writes
    the statement and the driver sends the rows.
    """
    if not rows:
        return
    sql, _ = model.insert_many([tuple(None for _ in fields)], fields=fields).sql()
    adapt = [(i, f.db_value) for i, f in enumerate(fields) if isinstance(f, _ADAPTED)]
    if adapt:
        rows = [_adapted(row, adapt) for row in rows]
    cursor = store.db.cursor()
    try:
        with peewee.__exception_wrapper__:  # driver errors as peewee's, as execute_sql raises them
            cursor.executemany(sql, rows)
    finally:
        cursor.close()


# Fields whose Python values the driver should not see as they are; ints and strings pass through.
_ADAPTED = (peewee.DateTimeField, peewee.DateField, peewee.BooleanField)


def _adapted(row: tuple, adapt: list) -> tuple:
    values = list(row)
    for i, db_value in adapt:
        values[i] = db_value(values[i])
    return tuple(values)


_JOB_FIELDS = [
    m.Job.id,
    m.Job.number,
    m.Job.order_ref,
    m.Job.customer,
    m.Job.product,
    m.Job.qty,
    m.Job.planned_start,
    m.Job.planned_end,
    m.Job.routing,
    m.Job.initial_priority,
    m.Job.inspection,
    m.Job.notes,
    m.Job.created_at,
    m.Job.released,
    m.Job.dispatched,
    m.Job.priority,
    m.Job.priority_changed,
    m.Job.on_hold,
    m.Job.is_open,
    m.Job.last_event_id,
]
_STEP_FIELDS = [
    m.JobStep.id,
    m.JobStep.job,
    m.JobStep.seq,
    m.JobStep.stage,
    m.JobStep.name,
    m.JobStep.kind,
    m.JobStep.work_centre,
]
_BALANCE_NAMES = list(_step_values(StepState(seq=0, stage="", name="", kind="")))
_BALANCE_FIELDS = [m.StepBalance.step, m.StepBalance.job, m.StepBalance.stage] + [
    getattr(m.StepBalance, name) for name in _BALANCE_NAMES
]
_MATERIAL_NAMES = list(_material_values(MaterialState(item="", required=0)))
_MATERIAL_FIELDS = [
    m.MaterialLine.job,
    m.MaterialLine.item,
    m.MaterialLine.description,
    m.MaterialLine.unit,
    m.MaterialLine.required,
    m.MaterialLine.substitute_for,
] + [getattr(m.MaterialLine, name) for name in _MATERIAL_NAMES]
_EVENT_FIELDS = [
    m.Event.id,
    m.Event.uuid,
    m.Event.job,
    m.Event.step,
    m.Event.to_step,
    m.Event.kind,
    m.Event.qty,
    m.Event.reason,
    m.Event.item,
    m.Event.item2,
    m.Event.note,
    m.Event.operator,
    m.Event.terminal,
    m.Event.login_user,
    m.Event.login_key,
    m.Event.client_time,
    m.Event.committed_at,
    m.Event.voids,
]


def _write_batch(store: Store, config: Config, batch: list[_Job], ledger: Ledger, creator: Actor, note: str) -> None:
    numbers = [job.spec.number for job in batch]
    taken = [row.number for row in m.Job.select(m.Job.number).where(m.Job.number.in_(numbers))]
    if taken:
        raise DomainError(f"These jobs already exist: {', '.join(sorted(taken))}")
    operator_id = ledger._creator(creator.badge).id
    # Each job's creation entry comes first, at the job's created_at: its own order holds.
    events = [
        [_Event(creation_entry(job.spec, creator, note, job.created_at), job.created_at, operator_id), *job.events]
        for job in batch
    ]
    job_ids = _reserve_ids(store, m.Job, len(batch))
    step_ids = iter(_reserve_ids(store, m.JobStep, sum(len(job.state.steps) for job in batch)))
    event_ids = _reserve_ids(store, m.Event, sum(len(job_events) for job_events in events))
    # Newer entries get higher ids across the batch; ties keep each job's own order.
    order = sorted(((ev.at, j, i) for j, job_events in enumerate(events) for i, ev in enumerate(job_events)))
    ids: list[list[int]] = [[0] * len(job_events) for job_events in events]
    for event_id, (_, j, i) in zip(event_ids, order):
        ids[j][i] = event_id

    job_rows, step_rows, balance_rows, material_rows, event_rows = [], [], [], [], []
    for job, job_id, job_events, all_ids in zip(batch, job_ids, events, ids):
        spec, state = job.spec, job.state
        event_ids_of_job = all_ids[1:]  # the entries' own ids, in the order the rules indexed them
        steps = {}
        for s in state.steps:
            step_id = next(step_ids)
            steps[s.stage] = step_id
            step_rows.append((step_id, job_id, s.seq, s.stage, s.name, s.kind, config.stage(s.stage).work_centre))
            values = _step_values(s)
            if values["delay_event_id"] is not None:  # the rules saw the delay's index in the entry list
                values["delay_event_id"] = event_ids_of_job[values["delay_event_id"]]
            balance_rows.append((step_id, job_id, s.stage, *(values[name] for name in _BALANCE_NAMES)))
        for line in state.materials.values():
            values = _material_values(line)
            material_rows.append(
                (
                    job_id,
                    line.item,
                    line.description,
                    line.unit,
                    line.required,
                    line.substitute_for,
                    *(values[name] for name in _MATERIAL_NAMES),
                )
            )
        for ev, event_id in zip(job_events, all_ids):
            e = ev.entry
            to_step = steps.get(e.to_stage or e.stage) if e.kind == "rework" else None
            event_rows.append(
                (
                    event_id,
                    e.uuid,
                    job_id,
                    steps.get(e.stage),
                    to_step,
                    e.kind,
                    e.qty,
                    e.reason,
                    e.item,
                    e.item2,
                    e.note,
                    ev.operator_id,
                    e.actor.terminal,
                    e.actor.login_user,
                    e.actor.login_key,
                    ev.at,
                    ev.at,
                    ev.voids_uuid,
                )
            )
        values = _job_values(state)
        job_rows.append(
            (
                job_id,
                spec.number,
                spec.order_ref,
                spec.customer,
                spec.product,
                spec.qty,
                spec.planned_start,
                spec.planned_end,
                spec.routing,
                spec.priority,
                spec.inspection,
                spec.notes,
                job.created_at,
                values["released"],
                values["dispatched"],
                values["priority"],
                values["priority_changed"],
                values["on_hold"],
                values["is_open"],
                max(all_ids),
            )
        )
    _insert(store, m.Job, _JOB_FIELDS, job_rows)
    _insert(store, m.JobStep, _STEP_FIELDS, step_rows)
    _insert(store, m.StepBalance, _BALANCE_FIELDS, balance_rows)
    _insert(store, m.MaterialLine, _MATERIAL_FIELDS, material_rows)
    _insert(store, m.Event, _EVENT_FIELDS, event_rows)
    if event_rows:
        store.notify(max(max(i) for i in ids), job_ids[-1])
