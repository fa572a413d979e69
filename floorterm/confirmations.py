"""Production confirmations for the ERP, each exactly once (`floorterm export confirmations`).

The ERP closes and costs its orders from confirmations: per job and step, the good quantity,
rejects, scrap, rework and dispatches, with the operator, the work centre and the times. One
row per ledger entry of those kinds; a void becomes a reversing row (negative quantities,
`reverses_uuid` = the voided entry). Every row carries its entry's UUID, so a receiver that
gets a row twice drops the repeat.

Each receiver is a *consumer* with a name. The store remembers how far each got
(models.ExportConsumer), and an export writes every entry that consumer has not taken yet,
then moves its cursor - only after the file is whole on the disk (written under a temporary
name, fsynced, renamed, folder fsynced: floorterm.outfiles). A crash in between repeats rows
in the next export, never loses them.

Why a cursor with holes, not "the highest id exported": on PostgreSQL event ids come from a
sequence when a transaction inserts, and transactions commit in any order, so id 100 can
become visible after id 101 (bulk imports even take their ids before writing). An export
that saw 101 but not 100 records 100 as a *hole*: the next exports look for the ids in the
holes again and send each one that has appeared. A hole is forgotten after HOLE_RETENTION (a
rolled-back write leaves a hole that never fills; no floorterm write stays open for minutes,
let alone a day). Nothing waits and nothing locks the ledger, so terminals never notice an
export. SQLite has one writer at a time and never leaves such a hole open, but the same code
runs there. docs/erp.md says more.

Two exports for one consumer at once: the second is refused at the start (a PostgreSQL
advisory lock, or a lock file beside the SQLite store), and the cursor is moved by
compare-and-set on its revision, so two exports can never both move it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import os
import re
import sys
import zlib
from dataclasses import dataclass, field
from typing import IO, Callable, Iterable, Iterator

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

from floorterm import models as m
from floorterm._peewee import peewee
from floorterm.clock import jsonable, utcnow
from floorterm.errors import DomainError, InputError, StoreError
from floorterm.store import Store, sqlite_path_from_url

# The row's columns, in this order; their names are a contract with the receiver (docs/erp.md).
COLUMNS = [
    "entry_uuid",
    "entry_id",
    "type",
    "kind",
    "job",
    "order_ref",
    "product",
    "stage",
    "step_seq",
    "work_centre",
    "good_qty",
    "rejected_qty",
    "scrap_qty",
    "rework_qty",
    "dispatched_qty",
    "rework_to_stage",
    "reason",
    "operator",
    "operator_name",
    "terminal",
    "occurred_at",
    "committed_at",
    "reverses_uuid",
    "reference",
]
# Ledger kinds that are confirmations, and the quantity column each fills.
QTY_COLUMN = {
    "start": None,  # a time confirmation: work began at the step
    "complete": "good_qty",
    "qc_pass": "good_qty",
    "receive": "good_qty",  # good units back from an outside supplier (galvanising, plating)
    "reject": "rejected_qty",
    "qc_fail": "rejected_qty",
    "scrap": "scrap_qty",
    "rework": "rework_qty",
    "dispatch": "dispatched_qty",
}
FORMATS = ("csv", "json")
CONSUMER_RULE = "1-32 characters of a-z A-Z 0-9 - _ . (a name for the receiving system, e.g. erp)"
_CONSUMER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
HOLE_RETENTION = dt.timedelta(hours=24)
MAX_HOLES = 5000  # ranges kept per consumer; the oldest go first
_BATCH = 5000
_LOCK_CLASS = 774412  # pg advisory lock namespace of consumers (774411: db upgrade)


def consumer_name(text: str) -> str:
    """A consumer's name as given (case kept); InputError saying the rule."""
    value = (text or "").strip()
    if not _CONSUMER_RE.fullmatch(value):
        shown = "".join(ch if ch.isprintable() else "?" for ch in value[:40])
        raise InputError(f"Consumer name '{shown}' is not valid: use {CONSUMER_RULE}")
    return value


@dataclass
class Cursor:
    """How far a consumer got: every id <= last except those in holes [(first, last, seen_at)]."""

    name: str
    last: int = 0
    holes: list[tuple[int, int, dt.datetime]] = field(default_factory=list)
    revision: int = 0
    exported_rows: int = 0
    exists: bool = False

    def missing(self, event_id: int) -> bool:
        return any(a <= event_id <= b for a, b, _ in self.holes)


@dataclass
class ExportResult:
    consumer: str
    rows: int
    entries_seen: int
    last_event_id: int
    holes: int
    repair: bool


def read_cursor(name: str) -> Cursor:
    row = m.ExportConsumer.get_or_none(m.ExportConsumer.name == name)
    if row is None:
        return Cursor(name)
    holes = [(int(a), int(b), dt.datetime.fromisoformat(seen)) for a, b, seen in json.loads(row.holes or "[]")]
    return Cursor(name, row.last_event_id, holes, row.revision, row.exported_rows, exists=True)


def first_id_at(moment: dt.datetime) -> int:
    """The id just before the first entry committed at or after `moment` (naive UTC): --since DATE."""
    first = m.Event.select(peewee.fn.MIN(m.Event.id)).where(m.Event.committed_at >= moment).scalar()
    if first is None:
        return m.Event.select(peewee.fn.MAX(m.Event.id)).scalar() or 0
    return first - 1


def consumers() -> list[Cursor]:
    return [
        read_cursor(row.name) for row in m.ExportConsumer.select(m.ExportConsumer.name).order_by(m.ExportConsumer.name)
    ]


# -- reading the ledger ------------------------------------------------------------------


def _events(where, after: int) -> Iterator:
    """Events matching `where` with id > after, in id order, in batches (no read transaction held long)."""
    voided = m.Event.alias("voided")
    to_step = m.JobStep.alias("to_step")
    last = after
    while True:
        with m.database.atomic():
            batch = list(
                m.Event.select(
                    m.Event.id,
                    m.Event.uuid,
                    m.Event.kind,
                    m.Event.qty,
                    m.Event.reason,
                    m.Event.terminal,
                    m.Event.client_time,
                    m.Event.committed_at,
                    m.Event.voids,
                    m.Event.reference,
                    m.Job.number,
                    m.Job.order_ref,
                    m.Job.product,
                    m.JobStep.stage,
                    m.JobStep.seq,
                    m.JobStep.work_centre,
                    to_step.stage.alias("to_stage"),
                    m.Operator.badge,
                    m.Operator.name.alias("operator_name"),
                    voided.kind.alias("voided_kind"),
                    voided.to_step.alias("voided_to_step"),
                )
                .join(m.Job, on=(m.Event.job == m.Job.id))
                .switch(m.Event)
                .join(m.Operator, on=(m.Event.operator == m.Operator.id))
                .switch(m.Event)
                .join(m.JobStep, peewee.JOIN.LEFT_OUTER, on=(m.Event.step == m.JobStep.id))
                .switch(m.Event)
                .join(to_step, peewee.JOIN.LEFT_OUTER, on=(m.Event.to_step == to_step.id))
                .switch(m.Event)
                .join(voided, peewee.JOIN.LEFT_OUTER, on=(m.Event.voids == voided.uuid))
                .where((m.Event.id > last) if where is None else (where & (m.Event.id > last)))
                .order_by(m.Event.id)
                .limit(_BATCH)
                .objects()
            )
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def _stage_of_step(step_id: int | None) -> str | None:
    if step_id is None:
        return None
    return m.JobStep.select(m.JobStep.stage).where(m.JobStep.id == step_id).scalar()


def confirmation_row(e) -> dict | None:
    """The confirmation row of one event (a dict of COLUMNS), or None when it is not one."""
    if e.kind == "void":
        kind = getattr(e, "voided_kind", None)
        sign, kind_type, reverses = -1, "reversal", e.voids
        rework_to = _stage_of_step(getattr(e, "voided_to_step", None)) if kind == "rework" else None
    else:
        kind, sign, kind_type, reverses = e.kind, 1, "confirmation", None
        rework_to = getattr(e, "to_stage", None)
    if kind not in QTY_COLUMN:
        return None
    row = {c: None for c in COLUMNS}
    for column in ("good_qty", "rejected_qty", "scrap_qty", "rework_qty", "dispatched_qty"):
        row[column] = 0
    if QTY_COLUMN[kind]:
        row[QTY_COLUMN[kind]] = sign * e.qty
    row.update(
        entry_uuid=e.uuid,
        entry_id=e.id,
        type=kind_type,
        kind=kind,
        job=e.number,
        order_ref=e.order_ref or None,
        product=e.product or None,
        stage=getattr(e, "stage", None),
        step_seq=getattr(e, "seq", None),
        work_centre=getattr(e, "work_centre", None) or None,
        rework_to_stage=rework_to,
        reason=e.reason,
        operator=e.badge,
        operator_name=e.operator_name,
        terminal=e.terminal,
        occurred_at=jsonable(e.client_time),
        committed_at=jsonable(e.committed_at),
        reverses_uuid=reverses,
        reference=e.reference,
    )
    return row


# -- locking ---------------------------------------------------------------------------


@contextlib.contextmanager
def consumer_lock(store: Store, name: str):
    """Hold the consumer for the whole export; DomainError at once when another export holds it."""
    busy = f"Another export for consumer {name} is running; nothing was exported. Try again when it has finished."
    if store.backend == "postgres":
        key = zlib.crc32(name.encode()) - 2**31
        got = store.db.execute_sql("SELECT pg_try_advisory_lock(%s, %s)", (_LOCK_CLASS, key)).fetchone()[0]
        if not got:
            raise DomainError(busy)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):
                store.db.execute_sql("SELECT pg_advisory_unlock(%s, %s)", (_LOCK_CLASS, key))
        return
    path = sqlite_path_from_url(store.url)
    if fcntl is None or path is None or str(path) == ":memory:":
        yield
        return
    lock = f"{path}.export-{name}.lock"
    try:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o664)
    except OSError as exc:
        raise StoreError(
            f"Cannot open the export's lock file {lock} ({exc.strerror or exc}); nothing was exported. "
            "Let this user write the store's folder, or run the export as the store's owner."
        ) from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DomainError(busy) from None
        yield
    finally:
        os.close(fd)  # releases the lock


# -- the export ------------------------------------------------------------------------


def _merge(events_a: Iterator, events_b: Iterator) -> Iterator:
    """Two id-ordered event streams as one (ids do not repeat between them)."""
    a, b = next(events_a, None), next(events_b, None)
    while a is not None or b is not None:
        if b is None or (a is not None and a.id < b.id):
            yield a
            a = next(events_a, None)
        else:
            yield b
            b = next(events_b, None)


def _hole_events(cursor: Cursor, below: int) -> Iterator:
    """Events now visible in the cursor's holes with ids <= below, in id order."""
    ranges = sorted((a, min(b, below)) for a, b, _ in cursor.holes if a <= below)
    for start in range(0, len(ranges), 100):  # a bounded OR per query (SQLite's expression depth)
        chunk = ranges[start : start + 100]
        where = None
        for a, b in chunk:
            part = m.Event.id.between(a, b)
            where = part if where is None else (where | part)
        yield from _events(where, chunk[0][0] - 1)


def export(
    store: Store,
    name: str,
    write: Callable[[Iterable[dict]], None],
    *,
    since: int | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> ExportResult:
    """Write consumer `name`'s new confirmations with `write(rows)`, then move its cursor.

    `write` must have the rows durably where they go when it returns (the caller's
    OutputFiles block); if it raises, the cursor stays. `since` (an entry id) also writes
    every confirmation after that id again - a repair; the cursor still only moves forward.
    """
    name = consumer_name(name)
    with consumer_lock(store, name):
        cursor = read_cursor(name)
        low = cursor.last if since is None else min(since, cursor.last)
        gaps: list[tuple[int, int]] = []  # ids above the cursor not visible now
        found_in_holes: set[int] = set()
        counted: list[int] = []
        top = {"id": cursor.last, "new": 0}

        def rows() -> Iterator[dict]:
            for event in _merge(_events(None, low), _hole_events(cursor, low)):
                if event.id > cursor.last:
                    if event.id > top["id"] + 1:
                        gaps.append((top["id"] + 1, event.id - 1))
                    top["id"] = event.id
                    top["new"] += 1
                elif cursor.missing(event.id):
                    found_in_holes.add(event.id)
                elif since is None:
                    continue  # taken before (only a repair writes it again)
                row = confirmation_row(event)
                if row is not None:
                    counted.append(1)
                    yield row

        write(rows())
        now = clock()
        holes = _new_holes(cursor, gaps, found_in_holes, now)
        _advance(store, cursor, top["id"], holes, len(counted), now)
    return ExportResult(name, len(counted), top["new"] + len(found_in_holes), top["id"], len(holes), since is not None)


def _new_holes(
    cursor: Cursor, gaps: list[tuple[int, int]], found: set[int], now: dt.datetime
) -> list[tuple[int, int, dt.datetime]]:
    """The cursor's holes without the ids found now, plus the new gaps above it; old ones dropped."""
    holes: list[tuple[int, int, dt.datetime]] = []
    for a, b, seen in cursor.holes:
        start = a
        for event_id in sorted(i for i in found if a <= i <= b):
            if event_id > start:
                holes.append((start, event_id - 1, seen))
            start = event_id + 1
        if start <= b:
            holes.append((start, b, seen))
    holes += [(a, b, now) for a, b in gaps]
    holes = [h for h in holes if now - h[2] <= HOLE_RETENTION]
    return holes[-MAX_HOLES:]


def _advance(store: Store, cursor: Cursor, last: int, holes, rows: int, now: dt.datetime) -> None:
    """Move the cursor by compare-and-set on its revision: DomainError if another export moved it meanwhile."""
    text = json.dumps([[a, b, seen.isoformat()] for a, b, seen in holes])

    def write():
        if not cursor.exists:
            if m.ExportConsumer.select().where(m.ExportConsumer.name == cursor.name).exists():
                return 0
            m.ExportConsumer.insert(
                name=cursor.name,
                last_event_id=last,
                holes=text,
                revision=1,
                exported_rows=rows,
                created_at=now,
                updated_at=now,
            ).execute()
            return 1
        return (
            m.ExportConsumer.update(
                last_event_id=last,
                holes=text,
                revision=cursor.revision + 1,
                exported_rows=m.ExportConsumer.exported_rows + rows,
                updated_at=now,
            )
            .where((m.ExportConsumer.name == cursor.name) & (m.ExportConsumer.revision == cursor.revision))
            .execute()
        )

    if store.run_write(write) != 1:
        raise DomainError(
            f"Another export for consumer {cursor.name} moved its cursor meanwhile; the file was written, "
            "and its rows come again in the next export (the receiver drops repeats by entry_uuid)."
        )


# -- file formats ----------------------------------------------------------------------


def write_csv(rows: Iterable[dict], handle: IO[str]) -> None:
    writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n", extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})


def write_json(rows: Iterable[dict], handle: IO[str], consumer: str) -> None:
    """{"consumer": ..., "columns": [...], "rows": [{...}, ...]}, streamed row by row."""
    handle.write(json.dumps({"consumer": consumer, "columns": COLUMNS})[:-1] + ', "rows": [')
    first = True
    for row in rows:
        handle.write(("\n  " if first else ",\n  ") + json.dumps(row, ensure_ascii=False))
        first = False
    handle.write("\n]}\n")


def writer_for(fmt: str, consumer: str) -> Callable[[Iterable[dict], IO[str]], None]:
    if fmt not in FORMATS:
        raise InputError(f"Unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if fmt == "csv":
        return write_csv
    return lambda rows, handle: write_json(rows, handle, consumer)


def stdout_writer(fmt: str, consumer: str) -> Callable[[Iterable[dict]], None]:
    """Rows to stdout, flushed before the cursor moves (a pipe cannot be fsynced: prefer --out)."""
    emit = writer_for(fmt, consumer)

    def write(rows: Iterable[dict]) -> None:
        emit(rows, sys.stdout)
        sys.stdout.flush()

    return write


__all__ = [
    "COLUMNS",
    "QTY_COLUMN",
    "FORMATS",
    "HOLE_RETENTION",
    "Cursor",
    "ExportResult",
    "consumer_name",
    "consumers",
    "confirmation_row",
    "export",
    "first_id_at",
    "read_cursor",
    "stdout_writer",
    "writer_for",
]
