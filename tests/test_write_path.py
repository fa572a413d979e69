"""The ledger's write path (issue 14): prepared statements, one read of the job's balances,
the moved step balances in one statement, and PostgreSQL's pipelined transaction. What it
stores and reads back must be exactly what peewee's own queries store and read. Both backends."""

from __future__ import annotations

import pytest

from conftest import STORES, SUPERVISOR, at
from floorterm import models as m
from floorterm.errors import DomainError
from floorterm.ledger import load_state, load_states, new_uuid, replay, snapshot
from floorterm.verify import verify_store

# Statements one `complete` sends (BEGIN / COMMIT not counted): the UUID check with the badge
# (one SELECT), the job's row (locked), the steps and their balances [PostgreSQL: with the UUID
# looked for again under the lock], the event, the job's row; then the moved step balances (one
# executemany, not counted here) and [PostgreSQL] the board's NOTIFY. Before issue 14: 8 / 10,
# each built by peewee; after its first pass: 6 / 8.
STATEMENTS = {"sqlite": 5, "postgres": 6}


def _counting(store):
    sent = []
    real = store.db.execute_sql

    def execute_sql(sql, params=None, *args, **kwargs):
        sent.append(sql)
        return real(sql, params, *args, **kwargs)

    store.db.execute_sql = execute_sql
    return sent


def test_one_entry_sends_a_fixed_few_statements(store, ledger, make_job):
    job = make_job(release=20)
    ledger.complete(job, "CUT", 5, actor=SUPERVISOR)  # the statements are built on first use
    sent = _counting(store)
    ledger.complete(job, "CUT", 5, actor=at("CUT-1"))
    assert len(sent) == STATEMENTS[store.backend], sent
    assert not any(s.lstrip().upper().startswith("UPDATE \"STEP_BALANCE\"") for s in sent), (
        "the moved step balances go in one executemany, not one UPDATE each"
    )


def test_fast_load_state_reads_what_peewee_reads(store, ledger, make_job, clock):
    """load_state (the write path's raw read) against load_states (peewee's .tuples()), with
    datetimes, booleans, open delays, started steps and material lines in play."""
    job = make_job(release=20)
    ledger.complete(job, "CUT", 8, actor=SUPERVISOR)
    ledger.start(job, "CNC", actor=SUPERVISOR)
    ledger.delay(job, "CNC", "MACH", actor=SUPERVISOR)
    clock.advance(minutes=20)
    ledger.material_issue(job, "PLATE-8", 10, actor=STORES)
    ledger.hold(job, actor=SUPERVISOR, note="customer call")
    row = m.Job.get(m.Job.number == job)
    fast, slow = load_state(row), load_states([row])[row.id]
    assert fast == slow
    assert snapshot(fast) == snapshot(replay(row))
    cnc = fast.step("CNC")
    assert cnc.delay_since is not None and cnc.delay_since == slow.step("CNC").delay_since
    assert cnc.started is True and fast.on_hold is True
    assert fast.materials["PLATE-8"].issued == 10
    assert verify_store() == []


def test_raw_insert_stores_the_event_as_peewee_would(store, ledger, make_job, clock):
    job = make_job(release=10)
    uuid = new_uuid()
    receipt = ledger.complete(job, "CUT", 3, actor=at("CUT-1"), uuid=uuid, note="first lot")
    event = m.Event.get(m.Event.uuid == uuid)
    assert event.id == receipt.event_id
    assert (event.kind, event.qty, event.note, event.terminal) == ("complete", 3, "first lot", "CUT-1")
    assert event.committed_at == clock() and event.recorded_by_id is None  # default of a column not named
    assert m.JobStep.get_by_id(event.step_id).stage == "CUT"
    assert m.Job.get(m.Job.number == job).last_event_id == event.id
    again = ledger.complete(job, "CUT", 3, actor=at("CUT-1"), uuid=uuid, note="first lot")
    assert again.duplicate and again.event_id == event.id


def test_a_refused_entry_leaves_the_connection_ready_for_the_next(store, ledger, make_job):
    """PostgreSQL runs an entry in pipeline mode: a refusal or a failing statement must roll it
    back whole and leave the connection clean (SQLite: the same contract)."""
    job = make_job(release=5)
    before = m.Event.select().count()
    with pytest.raises(DomainError):
        ledger.complete(job, "CUT", 6, actor=SUPERVISOR)
    assert m.Event.select().count() == before
    # A statement the store refuses whose result nobody reads: in a pipeline its error arrives
    # only when the transaction syncs at COMMIT.
    refuse = f'UPDATE "job" SET "number" = NULL WHERE "number" = {m.database.param}'
    with pytest.raises(Exception, match="(?i)null"):
        store.run_write(lambda: store.db.execute_sql(refuse, (job,)), batched=True)
    assert m.Event.select().count() == before
    receipt = ledger.complete(job, "CUT", 5, actor=SUPERVISOR)
    assert receipt.qty == 5 and m.Event.select().count() == before + 1
    assert load_state(m.Job.get(m.Job.number == job)).step("CUT").completed == 5
