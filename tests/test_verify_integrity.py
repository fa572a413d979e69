"""`floorterm db verify` on a damaged store (issue 13): the store's own integrity check, unique
indexes there and valid, every entry id once, every void naming an entry; each finding in words,
exit 1. The damage is real: SQLite's index b-tree loses one entry, PostgreSQL loses or distrusts
its unique index."""

from __future__ import annotations

import sqlite3

import pytest

from conftest import OPERATORS, SUPERVISOR, job_factory
from fault_harness import CONFIG
from floorterm.cli import main
from floorterm.ledger import Ledger
from floorterm.store import Store, sqlite_path_from_url

ENTRY = "11111111-1111-4111-8111-111111111111"


def make_shop(url: str, config) -> str:
    """The test badges, J-1001 released and 2 completed at Cutting under the id ENTRY; returns the job."""
    with Store.open(url) as store:
        ledger = Ledger(store, config)
        ledger.import_operators(list(OPERATORS))
        job = job_factory(ledger)(release=20)
        ledger.complete(job, "CUT", 2, actor=SUPERVISOR, uuid=ENTRY)
    return job


@pytest.fixture
def shop(store_url, config):
    """make_shop on each backend; the store's URL."""
    make_shop(store_url, config)
    return store_url


def verify(url: str, capsys) -> tuple[int, list[str], str]:
    code = main(["--config", str(CONFIG), "--db", url, "db", "verify"])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def entry_ids(url: str) -> list[int]:
    with Store.open(url) as store:  # read past any index: the table is what counts
        table = "event NOT INDEXED" if store.backend == "sqlite" else "event"
        return [row[0] for row in store.db.execute_sql(f"SELECT id FROM {table} WHERE uuid = '{ENTRY}' ORDER BY id")]


def sqlite_schema_edit(path, sql: str) -> None:
    """Change how SQLite describes the event_uuid index, leaving its b-tree as it is (a damaged schema)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute("UPDATE sqlite_schema SET sql = ? WHERE name = 'event_uuid'", (sql,))
        conn.execute("PRAGMA writable_schema = OFF")
    finally:
        conn.close()


def lose_index_entry(path) -> None:
    """Drop ENTRY's row from the event_uuid index b-tree, as a bad sector or a buggy copy would."""
    unique = 'CREATE UNIQUE INDEX "event_uuid" ON "event" ("uuid")'
    sqlite_schema_edit(path, f"{unique} WHERE uuid <> '{ENTRY}'")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("REINDEX event_uuid")  # rebuilt without ENTRY's row
    conn.close()
    sqlite_schema_edit(path, unique)  # and described as whole again


def test_sqlite_damaged_uuid_index_and_the_second_event_it_let_in_are_reported(sqlite_url, config, capsys):
    url = sqlite_url
    job = make_shop(url, config)
    assert verify(url, capsys)[0] == 0
    lose_index_entry(str(sqlite_path_from_url(url)))
    with Store.open(url) as store:  # a retry of the same entry, as a kiosk replays it
        Ledger(store, config).complete(job, "CUT", 2, actor=SUPERVISOR, uuid=ENTRY)
    first, second = entry_ids(url)  # the damaged index let the retry in twice
    code, out, err = verify(url, capsys)
    assert code == 1
    assert out == [
        f"the store's integrity check (SQLite PRAGMA integrity_check) says: row {first} missing from index event_uuid",
        "the store's integrity check (SQLite PRAGMA integrity_check) says: wrong # of entries in index event_uuid",
        f"entry id {ENTRY} is used by 2 entries (ids {first}, {second}): each entry id must appear once",
    ]
    assert err == "floorterm: 3 problems found in the store\n"


def test_a_dropped_unique_index_and_a_repeated_entry_id_are_reported(shop, capsys):
    with Store.open(shop) as store:
        store.db.execute_sql("DROP INDEX event_uuid")
        store.db.execute_sql(
            "INSERT INTO event (uuid, job_id, kind, qty, note, operator_id, client_time, committed_at) "
            "SELECT uuid, job_id, 'note', 0, 'copied by hand', operator_id, client_time, committed_at "
            f"FROM event WHERE uuid = '{ENTRY}'"
        )
    first, second = entry_ids(shop)
    code, out, err = verify(shop, capsys)
    assert code == 1
    assert out == [
        "table event has no unique index on (uuid): the store no longer refuses two rows with the same values there",
        f"J-1001: last_event_id stored {first}, ledger says {second}",  # the copy came in beside the ledger
        f"entry id {ENTRY} is used by 2 entries (ids {first}, {second}): each entry id must appear once",
    ]
    assert err == "floorterm: 3 problems found in the store\n"


@pytest.mark.postgres
def test_postgres_invalid_unique_index_is_reported(pg_databases, config, capsys):
    url = pg_databases.new()
    make_shop(url, config)
    with Store.open(url) as store:
        # As the superuser, on this throw-away database: the state a failed CREATE INDEX CONCURRENTLY leaves.
        store.db.execute_sql("UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'event_uuid'::regclass")
    code, out, err = verify(url, capsys)
    assert code == 1
    assert out == [
        "index event_uuid on event is not valid: PostgreSQL does not use it, and the values it should "
        "keep unique may repeat; rebuild it with REINDEX INDEX event_uuid"
    ]
    assert err == "floorterm: 1 problem found in the store\n"


def test_voids_of_missing_entries_and_entries_voided_twice_are_reported(shop, capsys):
    with Store.open(shop) as store:
        for uuid, voids in (
            ("22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"),
            ("44444444-4444-4444-8444-444444444444", ENTRY),
            ("55555555-5555-4555-8555-555555555555", ENTRY),
        ):
            store.db.execute_sql(
                "INSERT INTO event (uuid, job_id, kind, qty, note, operator_id, client_time, committed_at, voids) "
                f"SELECT '{uuid}', job_id, 'void', 0, 'by hand', operator_id, client_time, committed_at, '{voids}' "
                f"FROM event WHERE uuid = '{ENTRY}'"
            )
    code, out, err = verify(shop, capsys)
    assert code == 1
    assert (
        "void 22222222-2222-4222-8222-222222222222 names an entry 33333333-3333-4333-8333-333333333333 "
        "that does not exist"
    ) in out
    assert f"entry {ENTRY} is voided more than once" in out
