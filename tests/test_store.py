"""The store (DESIGN §4): SQLite settings, network filesystems refused, schema checks,
clear errors when busy, and the PostgreSQL job-row lock."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
import time

import pytest

from conftest import OPERATORS, REPO, SUPERVISOR
from floorterm import models as m
from floorterm._peewee import peewee
from floorterm.config import load_config
from floorterm.errors import StoreError
from floorterm.ledger import JobSpec, Ledger
from floorterm.queries import Queries
from floorterm.store import (
    MIGRATIONS_DIR,
    SQLITE_BUSY_TIMEOUT_MS,
    Store,
    filesystem_type,
    init_store,
    refuse_network_filesystem,
    sqlite_path_from_url,
)
from floorterm.verify import verify_store

MOUNTS = """\
/dev/vda1 / ext4 rw,relatime 0 0
proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0
tmpfs /run tmpfs rw,nosuid,nodev 0 0
filer:/export/plant /mnt/plant nfs4 rw,relatime,vers=4.2 0 0
//nas/share /mnt/share cifs rw,relatime,vers=3.0 0 0
carl@office:/srv /home/carl/remote fuse.sshfs rw,nosuid,nodev 0 0
/dev/vdb1 /mnt/plant/local xfs rw,relatime 0 0
/dev/vdc1 /mnt/my\\040disk ext4 rw,relatime 0 0
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def blank_url(request, tmp_path):
    """A store location nobody has initialised, on each backend."""
    if request.param == "sqlite":
        (tmp_path / "blank.db").touch()  # an empty database file, as a copy or a crash may leave
        return f"sqlite:///{tmp_path / 'blank.db'}"
    return request.getfixturevalue("pg_databases").new(migrated=False)


def sqlite_file(url: str) -> str:
    return str(sqlite_path_from_url(url))


# -- SQLite settings -------------------------------------------------------------------------


def test_sqlite_pragmas(sqlite_url):
    with Store.open(sqlite_url) as store:

        def pragma(name):
            return store.db.execute_sql(f"PRAGMA {name}").fetchone()[0]

        assert pragma("journal_mode") == "wal"
        assert pragma("synchronous") == 2  # FULL: an acknowledged entry survives a power cut
        assert pragma("foreign_keys") == 1
        assert pragma("busy_timeout") == SQLITE_BUSY_TIMEOUT_MS >= 1000
    # WAL is a property of the file: any other process sees it too.
    other = sqlite3.connect(sqlite_file(sqlite_url))
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()


def test_sqlite_foreign_keys_are_enforced(sqlite_url):
    from floorterm._peewee import peewee

    with Store.open(sqlite_url) as store:
        with pytest.raises(peewee.IntegrityError):
            with store.db.atomic():
                m.JobStep.create(job=12345, seq=1, stage="CUT", name="Cutting", kind="work")


def test_sqlite_store_busy_too_long_gives_a_clear_error_and_writes_nothing(sqlite_url):
    with Store.open(sqlite_url) as store:
        store.db.execute_sql("PRAGMA busy_timeout = 50")  # keep the test short
        blocker = sqlite3.connect(sqlite_file(sqlite_url), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            started = time.monotonic()
            with pytest.raises(StoreError) as info:
                store.run_write(
                    lambda: m.Operator.create(badge="X1", name="X", role="viewer", created_at=dt.datetime(2026, 1, 1)),
                    deadline=0.3,
                )
            assert time.monotonic() - started >= 0.3  # it kept retrying until the deadline
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        message = str(info.value)
        assert message.startswith("The store could not save this entry (")
        assert message.endswith("Nothing was written; try again.")
        assert m.Operator.select().count() == 0


def test_no_read_transaction_is_left_open(sqlite_url, config):
    """A checkpoint from another process must be able to empty the WAL after reads and writes."""
    with Store.open(sqlite_url) as store:
        ledger = Ledger(store, config)
        for badge, name, role in OPERATORS:
            ledger.add_operator(badge, name, role)
        ledger.create_jobs([JobSpec(number="J-1", qty=10, routing="standard")])
        ledger.release("J-1", 10, actor=SUPERVISOR)
        queries = Queries(config)
        queries.job_card("J-1")
        queries.history("J-1")
        queries.list_jobs()
        list(queries.export_events())
        assert verify_store() == []
        assert not store.db.in_transaction()
        other = sqlite3.connect(sqlite_file(sqlite_url), isolation_level=None)
        busy, log_frames, checkpointed = other.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        other.close()
        assert busy == 0, "a reader held the WAL: someone keeps a read transaction open"


# -- network filesystems ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, fstype",
    [
        ("/mnt/plant/floorterm.db", "nfs4"),
        ("/mnt/plant/sub/dir/floorterm.db", "nfs4"),
        ("/mnt/share/floorterm.db", "cifs"),
        ("/home/carl/remote/floorterm.db", "fuse.sshfs"),
    ],
)
def test_network_filesystem_is_refused(path, fstype):
    from pathlib import Path

    with pytest.raises(StoreError) as info:
        refuse_network_filesystem(Path(path), MOUNTS)
    message = str(info.value)
    assert f"on a network filesystem ({fstype})" in message
    assert path in message
    assert "local disk" in message and "PostgreSQL" in message


@pytest.mark.parametrize(
    "path, fstype",
    [
        ("/srv/floorterm/floorterm.db", "ext4"),
        ("/mnt/plant/local/floorterm.db", "xfs"),  # a local disk mounted inside the NFS tree
        ("/mnt/plantother/floorterm.db", "ext4"),  # a name that merely starts like the NFS mount
        ("/mnt/my disk/floorterm.db", "ext4"),  # /proc/mounts writes the space as \040
        ("/run/floorterm.db", "tmpfs"),
    ],
)
def test_local_filesystem_is_allowed(path, fstype):
    from pathlib import Path

    assert filesystem_type(Path(path), MOUNTS) == fstype
    refuse_network_filesystem(Path(path), MOUNTS)


def test_open_refuses_sqlite_on_nfs_before_touching_the_file(tmp_path, monkeypatch):
    import floorterm.store as store_mod

    monkeypatch.setattr(store_mod, "filesystem_type", lambda path, mounts_text=None: "nfs4")
    target = tmp_path / "floorterm.db"
    with pytest.raises(StoreError, match=r"network filesystem \(nfs4\)"):
        Store.open(f"sqlite:///{target}")
    with pytest.raises(StoreError, match=r"network filesystem \(nfs4\)"):
        init_store(f"sqlite:///{target}")
    assert not target.exists()


def test_bad_locations_are_refused_clearly(tmp_path):
    with pytest.raises(StoreError, match="The folder for the store does not exist"):
        Store.open(f"sqlite:///{tmp_path / 'missing' / 'floorterm.db'}")
    with pytest.raises(StoreError, match="Unknown store URL 'mysql://db/plant'"):
        Store.open("mysql://db/plant")


def test_unreachable_postgres_message_hides_the_password():
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as info:
        Store.open("postgresql://plant:s3cret@127.0.0.1:1/floorterm")
    assert str(info.value).startswith("Cannot reach the PostgreSQL store")
    assert "s3cret" not in str(info.value)
    assert (
        Store(None, "postgresql://plant:s3cret@db:5432/ft", "postgres").display_url == "postgresql://plant@db:5432/ft"
    )


# -- schema ----------------------------------------------------------------------------------

# Every schema step this code knows, in the order the runner applies them.
ALL_STEPS = sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))


def test_uninitialised_store_is_refused(blank_url):
    with pytest.raises(StoreError) as info:
        Store.open(blank_url)
    assert "is not set up yet: run `floorterm db init`." in str(info.value)


def test_opening_a_missing_sqlite_file_leaves_no_file_behind(tmp_path):
    target = tmp_path / "typo.db"
    with pytest.raises(StoreError, match="floorterm db init"):
        Store.open(f"sqlite:///{target}")
    assert not target.exists()


def test_init_creates_then_is_a_no_op(blank_url, config):
    store, applied = init_store(blank_url)
    assert applied == ALL_STEPS
    ledger = Ledger(store, config)
    ledger.add_operator("S1", "Sam Supervisor", "supervisor")
    store.close()
    store, applied = init_store(blank_url)
    assert applied == []
    assert [o.badge for o in m.Operator.select()] == ["S1"]
    assert store.schema_status().pending == ()
    store.close()
    Store.open(blank_url).close()


def test_store_from_a_newer_floorterm_is_refused(store_url):
    with Store.open(store_url) as store:
        store.db.execute_sql(
            "INSERT INTO schema_migration (name, applied) VALUES ('0002_shift_handover', '2027-01-01 00:00:00')"
        )
    for opener in (Store.open, init_store):
        with pytest.raises(StoreError) as info:
            opener(store_url)
        message = str(info.value)
        assert "upgraded by a newer floorterm" in message
        assert "0002_shift_handover" in message
        assert "Install the newer floorterm" in message
    # Refused without a trace: the history still holds exactly what it held.
    with Store.open(store_url, check_schema=False) as store:
        assert list(store.schema_status().applied) == ALL_STEPS
        assert store.schema_status().unknown == ("0002_shift_handover",)


def test_db_upgrade_brings_a_schema_1_store_with_entries_up_to_date(blank_url, config, capsys):
    from floorterm.cli import main

    store = Store.open(blank_url, check_schema=False)
    assert store._runner().up(target="0001_initial") == ["0001_initial"]  # as floorterm at schema 1 left it
    ledger = Ledger(store, config)
    ledger.add_operator("C1", "Carl Cutter", "operator")
    with store.db.atomic():  # a job as schema 1 stored it: no creation entry, which later schemas' events carry
        job = m.Job.create(number="J-1", qty=5, routing="machined_part", created_at=dt.datetime(2026, 11, 23, 6, 0))
        # Its balances written without the models too (schema 7 added columns to them).
        zero = dict.fromkeys(("received", "completed", "rejected", "reworked", "scrapped", "rework_in"), 0)
        zero.update(pending=0, awaiting=0, started=False)
        balance = peewee.Table("step_balance", ("step_id", "job_id", "stage", *zero)).bind(store.db)
        for seq, code in enumerate(config.routing("machined_part").stages, start=1):
            stage = config.stage(code)
            step = m.JobStep.create(
                job=job, seq=seq, stage=code, name=stage.name, kind=stage.kind, work_centre=stage.work_centre
            )
            balance.insert(step_id=step.id, job_id=job.id, stage=code, **zero).execute()
    cut = m.JobStep.get(m.JobStep.stage == "CUT")
    # An entry as schema 1 stored it, written without the models (they know a column schema 1 lacks).
    written = dt.datetime(2026, 11, 23, 7, 0)
    event = peewee.Table(
        "event",
        ("uuid", "job_id", "step_id", "kind", "qty", "note", "operator_id", "terminal", "client_time", "committed_at"),
    ).bind(store.db)
    event.insert(
        uuid="0b6a7f7e-8c1d-4a57-9b8e-3f3c2d1e0a01",
        job_id=cut.job_id,
        step_id=cut.id,
        kind="note",
        qty=0,
        note="laser lens cleaned",
        operator_id=m.Operator.get().id,
        terminal="CUT-1",
        client_time=written,
        committed_at=written,
    ).execute()
    m.Job.update(last_event_id=m.Event.select(m.Event.id).scalar()).execute()
    store.close()
    with pytest.raises(StoreError, match="needs a schema upgrade"):
        Store.open(blank_url)

    assert main(["--config", str(REPO / "config.toml"), "--db", blank_url, "db", "upgrade"]) == 0
    assert capsys.readouterr().out.endswith(f"applied {', '.join(ALL_STEPS[1:])}\n")
    with Store.open(blank_url) as store:
        assert store.schema_status().applied == tuple(ALL_STEPS) and ALL_STEPS[1] == "0002_dispatch_reference"
        assert "reference" in [c.name for c in store.db.get_columns("event")]
        assert [i.columns for i in store.db.get_indexes("event") if i.name == "event_terminal_id"] == [
            ["terminal", "id"]
        ]
        queries = Queries(config)
        (old,) = queries.history("J-1")
        assert (old["kind"], old["note"], old["step"], old["reference"], old["committed_at"]) == (
            "note",
            "laser lens cleaned",
            "Cutting",
            None,
            written,
        )
        assert [e.words for e in queries.recent_entries("CUT-1")] == ["note at Cutting · laser lens cleaned"]
        ledger = Ledger(store, config)
        ledger.add_operator("S1", "Sam Supervisor", "supervisor")
        ledger.release("J-1", 5, actor=SUPERVISOR)
        for stage in ("CUT", "CNC", "PACK"):
            if stage == "PACK":
                ledger.qc_pass("J-1", "FQC", 5, actor=SUPERVISOR)
            ledger.complete("J-1", stage, 5, actor=SUPERVISOR)
        ledger.dispatch("J-1", 5, actor=SUPERVISOR, reference="DN-4411")
        assert queries.history("J-1")[0]["reference"] == "DN-4411"
        assert verify_store() == []


# -- PostgreSQL: the job row lock --------------------------------------------------------------


@pytest.mark.postgres
def test_postgres_job_lock_blocks_a_second_writer(pg_databases, clock):
    """While one transaction holds a job's row lock, another terminal's entry on that job waits."""
    config = load_config(REPO / "config.toml")
    url = pg_databases.new()
    store = Store.open(url)
    try:
        ledger = Ledger(store, config, clock=clock)
        ledger.add_operator("S1", "Sam Supervisor", "supervisor")
        ledger.create_jobs([JobSpec(number="J-1", qty=10, routing="standard")])
        ledger.release("J-1", 10, actor=SUPERVISOR)
        job_id = m.Job.get(m.Job.number == "J-1").id
        outcome = {}

        def other_terminal():  # peewee gives each thread its own connection
            try:
                outcome["receipt"] = ledger.complete("J-1", "CUT", 10, actor=SUPERVISOR)
            except Exception as exc:  # reported by the assertion below
                outcome["error"] = exc
            finally:
                store.close()

        psycopg = pytest.importorskip("psycopg")
        watcher = psycopg.connect(url, autocommit=True)
        try:
            with store.db.atomic():
                store.locked(m.Job.select().where(m.Job.id == job_id)).get()
                writer = threading.Thread(target=other_terminal, daemon=True)
                writer.start()
                give_up = time.monotonic() + 30
                while (
                    watcher.execute(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                        "AND wait_event_type = 'Lock'"
                    ).fetchone()[0]
                    < 1
                ):
                    assert writer.is_alive() and time.monotonic() < give_up, f"the writer did not wait: {outcome}"
                    time.sleep(0.01)
                assert outcome == {}
            writer.join(timeout=30)
        finally:
            watcher.close()
        assert "error" not in outcome, outcome
        assert outcome["receipt"].message == "Cutting: 10 done → CNC machining (0 still pending)"
    finally:
        store.close()
