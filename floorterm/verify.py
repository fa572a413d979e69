"""`floorterm db verify`: recompute every balance from the ledger and report differences."""

from __future__ import annotations

from typing import Callable

from floorterm import models as m
from floorterm._peewee import peewee
from floorterm.errors import DomainError
from floorterm.ledger import load_state, replay, snapshot


def verify_job(job: m.Job) -> list[str]:
    """Differences between the stored balances of one job and its ledger, in words."""
    try:
        expected = replay(job)
    except DomainError as exc:
        return [f"{job.number}: its ledger does not replay: {exc}"]
    problems = [f"{job.number}: {e}" for e in expected.conservation_errors()]
    stored = snapshot(load_state(job))
    wanted = snapshot(expected)
    for key, value in wanted["job"].items():
        if stored["job"][key] != value:
            problems.append(f"{job.number}: {key} stored {stored['job'][key]!r}, ledger says {value!r}")
    last = m.Event.select(m.Event.id).where(m.Event.job == job.id).order_by(m.Event.id.desc()).limit(1).scalar() or 0
    if job.last_event_id != last:
        problems.append(f"{job.number}: last_event_id stored {job.last_event_id}, ledger says {last}")
    # pending and awaiting are also stored as columns the board filters on; check them as stored.
    columns = {
        stage: {"pending": pending, "awaiting": awaiting}
        for stage, pending, awaiting in m.StepBalance.select(
            m.StepBalance.stage, m.StepBalance.pending, m.StepBalance.awaiting
        )
        .where(m.StepBalance.job == job.id)
        .tuples()
    }
    for stage, values in wanted["steps"].items():
        for key in ("pending", "awaiting"):
            stored_column = columns.get(stage, {}).get(key)
            if stored_column != values[key]:
                problems.append(
                    f"{job.number} {stage}: {key} column stored {stored_column!r}, ledger says {values[key]!r}"
                )
        have = stored["steps"].get(stage, {})
        for key, value in values.items():
            if have.get(key) != value:
                problems.append(f"{job.number} {stage}: {key} stored {have.get(key)!r}, ledger says {value!r}")
    for item in stored["materials"].keys() - wanted["materials"].keys():
        problems.append(f"{job.number} material {item}: in the store but not in the ledger")
    for item, values in wanted["materials"].items():
        have = stored["materials"].get(item)
        if have is None:
            problems.append(f"{job.number} material {item}: missing from the store")
            continue
        for key, value in values.items():
            if have[key] != value:
                problems.append(f"{job.number} material {item}: {key} stored {have[key]!r}, ledger says {value!r}")
    return problems


def verify_store(progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Check the store itself, every job's balances against its ledger, and the ledger's entry ids and voids.

    Each job is read in its own short transaction.
    """
    problems = store_problems()
    job_ids = [row.id for row in m.Job.select(m.Job.id).order_by(m.Job.id)]
    for n, job_id in enumerate(job_ids, start=1):
        with m.database.atomic():
            problems.extend(verify_job(m.Job.get_by_id(job_id)))
        if progress is not None:
            progress(n, len(job_ids))
    return problems + ledger_problems()


def store_problems() -> list[str]:
    """The store's own integrity check, and the unique indexes that keep entry ids (and more) unique."""
    db = m.database.obj
    problems = []
    if _is_sqlite(db):
        rows = [row[0] for row in db.execute_sql("PRAGMA integrity_check").fetchall()]
        if rows != ["ok"]:
            problems += [f"the store's integrity check (SQLite PRAGMA integrity_check) says: {row}" for row in rows]
    else:
        tables = [model._meta.table_name for model in m.ALL_MODELS]
        invalid = db.execute_sql(
            "SELECT c.relname, t.relname, i.indisunique FROM pg_index i "
            "JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_class t ON t.oid = i.indrelid "
            "WHERE t.relnamespace = current_schema()::regnamespace AND t.relname = ANY(%s) "
            "AND NOT (i.indisvalid AND i.indisready) ORDER BY t.relname, c.relname",
            (tables,),
        )
        for index, table, unique in invalid.fetchall():
            repeat = ", and the values it should keep unique may repeat" if unique else ""
            problems.append(
                f"index {index} on {table} is not valid: PostgreSQL does not use it{repeat}; "
                f"rebuild it with REINDEX INDEX {index}"
            )
    for model in m.ALL_MODELS:
        table = model._meta.table_name
        have = {tuple(index.columns) for index in db.get_indexes(table) if index.unique}
        for columns in _unique_columns(model):
            if columns not in have:
                problems.append(
                    f"table {table} has no unique index on ({', '.join(columns)}): "
                    "the store no longer refuses two rows with the same values there"
                )
    return problems


def ledger_problems() -> list[str]:
    """Entry ids used twice, voids of entries that do not exist, entries voided twice.

    Read from the table itself, never through an index that may be damaged (SQLite would scan a
    covering index and miss the very row the index lost).
    """
    db = m.database.obj
    event = "event NOT INDEXED" if _is_sqlite(db) else "event"
    problems = []
    with db.atomic():
        if not _is_sqlite(db):  # the planner must read the table: its indexes are what may be wrong
            for setting in ("enable_indexscan", "enable_indexonlyscan", "enable_bitmapscan"):
                db.execute_sql(f"SET LOCAL {setting} = off")
        twice = db.execute_sql(
            f"SELECT uuid, COUNT(*) FROM {event} GROUP BY uuid HAVING COUNT(*) > 1 ORDER BY MIN(id)"
        ).fetchall()
        for uuid, count in twice:
            ids = [
                str(row[0])
                for row in db.execute_sql(
                    f"SELECT id FROM {event} WHERE uuid = {db.param} ORDER BY id", (uuid,)
                ).fetchall()
            ]
            problems.append(
                f"entry id {uuid} is used by {count} entries (ids {', '.join(ids)}): each entry id must appear once"
            )
        orphans = db.execute_sql(
            f"SELECT uuid, voids FROM {event} WHERE voids IS NOT NULL "
            f"AND voids NOT IN (SELECT uuid FROM {event}) ORDER BY id"
        ).fetchall()
        for uuid, voids in orphans:
            problems.append(f"void {uuid} names an entry {voids} that does not exist")
        voided = db.execute_sql(
            f"SELECT voids FROM {event} WHERE voids IS NOT NULL GROUP BY voids HAVING COUNT(*) > 1 ORDER BY MIN(id)"
        ).fetchall()
        for (voids,) in voided:
            problems.append(f"entry {voids} is voided more than once")
    return problems


def _is_sqlite(db) -> bool:
    return isinstance(db, peewee.SqliteDatabase)


def _unique_columns(model) -> list[tuple[str, ...]]:
    """The column sets the model declares unique (primary keys aside: a table cannot lose those quietly)."""
    meta = model._meta
    found = [(field.column_name,) for field in meta.sorted_fields if field.unique]
    for fields, unique in meta.indexes:
        if unique:
            found.append(tuple(meta.fields[name].column_name for name in fields))
    return found
