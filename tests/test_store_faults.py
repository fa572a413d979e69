"""When the disk or the permissions fail (issue 13): one line that names the file and what to do,
exit 3, nothing written, never a traceback; an --out file is whole or not there at all.

The faults are real: programs run as a user without root's powers (fault_harness.Unprivileged)
and a small tmpfs (2 MiB) filled to its last byte (fault_harness.SmallDisk). Each test says why it is
skipped where the machine does not allow that.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from conftest import OPERATORS, SUPERVISOR, job_factory, new_sqlite_store
from fault_harness import CONFIG, small_disk, unprivileged  # noqa: F401 (fixtures)
from pg_server import own_pg  # noqa: F401 (fixture)
from floorterm import models as m
from floorterm.cli import main
from floorterm.errors import StoreError
from floorterm.ledger import Ledger
from floorterm.store import Store, init_store
from floorterm.verify import verify_store
from test_kiosk_helpers import (
    events_of,
    job_at,
    kledger,
    kstore,
    new_job,
    open_kiosk,  # noqa: F401
    synced,
)


def make_shop(url: str, config) -> str:
    """Initialise the store at url with the test badges and one job released at Cutting; returns the job."""
    store, _ = init_store(url)
    try:
        ledger = Ledger(store, config)
        ledger.import_operators(list(OPERATORS))
        return job_factory(ledger)(release=20)
    finally:
        store.close()


def event_count(url: str) -> int:
    with Store.open(url):
        return m.Event.select().count()


def floorterm(*args: str, db) -> subprocess.CompletedProcess:
    """floorterm in its own process (this one may hold the store open, as a running kiosk would)."""
    return subprocess.run(
        [sys.executable, "-m", "floorterm", "--config", str(CONFIG), "--db", str(db), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


COMPLETE = ("record", "complete", "J-1001", "--step", "CUT", "--qty", "2", "--operator", "S1")


def no_traceback(result) -> None:
    assert "Traceback" not in result.stderr and len(result.stderr.splitlines()) == 1, result.stderr


# --------------------------------------------------------------------------- 1. permissions


def advice(user: str, folder) -> str:
    return (
        f"let user {user} write the folder {folder} and the store's files in it, "
        "or run floorterm as the user who owns them"
    )


def test_store_folder_read_only_names_the_lock_file_and_what_to_do(unprivileged, config):
    folder = unprivileged.folder / "store"
    folder.mkdir()
    db = folder / "s.db"
    url = f"sqlite:///{db}"
    make_shop(url, config)
    (folder / "s.db.writelock").unlink()
    with Store.open(url):  # a kiosk has the store open: its -wal and -shm files are there
        for path in [folder, *folder.iterdir()]:
            unprivileged.own(path)
        folder.chmod(0o555)
        result = unprivileged.floorterm(*COMPLETE, db=db)
        folder.chmod(0o755)
    assert result.returncode == 3, result.stderr
    no_traceback(result)
    assert result.stderr == (
        f"floorterm: Cannot open the store's lock file {db}.writelock (Permission denied). "
        f"Nothing was written; {advice(unprivileged.user, folder)}.\n"
    )
    assert event_count(url) == 2  # the job's creation and release only


def test_read_only_store_files_name_the_lock_file(unprivileged, config):
    folder = unprivileged.folder
    db = folder / "s.db"
    url = f"sqlite:///{db}"
    make_shop(url, config)
    for path in folder.iterdir():
        unprivileged.own(path)
        path.chmod(0o444)
    result = unprivileged.floorterm(*COMPLETE, db=db)
    assert result.returncode == 3, result.stderr
    no_traceback(result)
    assert result.stderr == (
        f"floorterm: Cannot open the store's lock file {db}.writelock (Permission denied). "
        f"Nothing was written; {advice(unprivileged.user, folder)}.\n"
    )
    db.chmod(0o644)
    assert event_count(url) == 2


def test_read_only_store_raises_store_error_through_the_ledger(unprivileged, config):
    """The Store API: a StoreError (what a kiosk queues on), not a PermissionError."""
    folder = unprivileged.folder
    url = f"sqlite:///{folder / 's.db'}"
    make_shop(url, config)
    for path in folder.iterdir():
        unprivileged.own(path)
    (folder / "s.db.writelock").chmod(0o444)
    script = (
        "import sys\n"
        "from floorterm.config import load_config\n"
        "from floorterm.errors import StoreError\n"
        "from floorterm.ledger import Actor, Ledger\n"
        "from floorterm.store import Store\n"
        f"store = Store.open({url!r})\n"
        f"ledger = Ledger(store, load_config({str(CONFIG)!r}))\n"
        "try:\n"
        "    ledger.complete('J-1001', 'CUT', 2, actor=Actor('S1'))\n"
        "except StoreError as exc:\n"
        "    print(exc)\n"
    )
    result = unprivileged.python("-c", script)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.startswith(
        f"Cannot open the store's lock file {folder / 's.db.writelock'} "
        "(Permission denied). Nothing was written; let user "
    )


def test_db_init_where_this_user_may_not_make_the_folder(unprivileged):
    closed = unprivileged.folder / "closed"
    closed.mkdir(mode=0o555)
    unprivileged.own(closed)
    result = unprivileged.floorterm("db", "init", db=closed / "plant" / "s.db")
    assert result.returncode == 3, result.stderr
    assert result.stderr == (
        f"floorterm: Cannot create the folder for the store {closed / 'plant'} (Permission denied): "
        f"create it, or let user {unprivileged.user} write the folder it goes in\n"
    )


# --------------------------------------------------------------------------- 2. disk full


def full_disk_advice(folder) -> str:
    return f"the disk holding the store's folder {folder} is full: free some space there, then try again"


def test_disk_full_says_so_and_where_then_works_again(small_disk, config):
    db = small_disk.folder / "s.db"
    url = f"sqlite:///{db}"
    make_shop(url, config)
    with Store.open(url) as held:  # open elsewhere, as a kiosk or the board keeps it
        held.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")  # the next entry must grow the files
        small_disk.fill()
        result = floorterm(*COMPLETE, db=db)
        assert result.returncode == 3, result.stderr
        no_traceback(result)
        assert result.stderr == (
            "floorterm: The store could not save this entry (database or disk is full). "
            f"Nothing was written; {full_disk_advice(small_disk.folder)}.\n"
        )
        small_disk.free()
        assert floorterm(*COMPLETE, db=db).returncode == 0
    assert event_count(url) == 3


def test_disk_full_when_opening_says_so(small_disk, config):
    db = small_disk.folder / "s.db"
    make_shop(f"sqlite:///{db}", config)
    small_disk.fill()  # nothing holds the store open: opening must make its -shm file
    result = floorterm(*COMPLETE, db=db)
    assert result.returncode == 3, result.stderr
    no_traceback(result)
    assert result.stderr.startswith(f"floorterm: Cannot open the SQLite store {db} (")
    assert result.stderr.endswith(f"): {full_disk_advice(small_disk.folder)}.\n")


def test_disk_full_through_the_ledger_writes_nothing(small_disk, config):
    url = f"sqlite:///{small_disk.folder / 's.db'}"
    job = make_shop(url, config)
    with Store.open(url) as store:
        ledger = Ledger(store, config)
        store.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        small_disk.fill()
        with pytest.raises(StoreError) as info:
            ledger.complete(job, "CUT", 2, actor=SUPERVISOR)
        assert str(info.value) == (
            "The store could not save this entry (database or disk is full). "
            f"Nothing was written; {full_disk_advice(small_disk.folder)}."
        )
        small_disk.free()
        assert m.Event.select().count() == 2
        ledger.complete(job, "CUT", 2, actor=SUPERVISOR)
        assert verify_store() == []


@pytest.fixture
def pg_tablespace_disk(own_pg, small_disk):
    """A database on the private server whose `event` table lives on the small disk."""
    from floorterm._peewee import load_psycopg

    import pg_server

    owner = pg_server.PG_USER if os.geteuid() == 0 else None
    place = small_disk.folder / "pg"
    place.mkdir(mode=0o700)
    if owner:
        import pwd

        user = pwd.getpwnam(owner)
        os.chown(place, user.pw_uid, user.pw_gid)
    name = f"full_{uuid.uuid4().hex[:8]}"
    url = own_pg.create_database(name)
    with load_psycopg().connect(own_pg.url(), autocommit=True) as admin:
        admin.execute(f"CREATE TABLESPACE {name} LOCATION '{place}'")
    try:
        yield url, name
    finally:
        with load_psycopg().connect(own_pg.url(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f"DROP TABLESPACE IF EXISTS {name}")


@pytest.mark.postgres
def test_postgres_disk_full_says_so_at_once(pg_tablespace_disk, config):
    from floorterm._peewee import load_psycopg

    url, tablespace = pg_tablespace_disk
    job = make_shop(url, config)
    psycopg = load_psycopg()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"ALTER TABLE event SET TABLESPACE {tablespace}")
        conn.execute(f"CREATE TABLE filler (x text) TABLESPACE {tablespace}")
        with pytest.raises(psycopg.errors.DiskFull):
            while True:
                conn.execute("INSERT INTO filler SELECT repeat(md5(random()::text), 30) FROM generate_series(1, 100)")
    with Store.open(url) as store:
        ledger = Ledger(store, config)
        before = m.Event.select().count()
        with pytest.raises(StoreError) as info:
            for _ in range(200):  # the table's last page may still hold a few entries
                ledger.add_note(job, "x" * 500, actor=SUPERVISOR)
        saved = m.Event.select().count() - before
        message = str(info.value)
        assert message.startswith("The store could not save this entry (could not extend file ")
        assert message.endswith(
            f"No space left on device). Nothing was written; the disk of the PostgreSQL "
            f"server ({url}) is full: free some space there, then try again."
        )
        assert saved < 200 and m.Event.select().count() == before + saved


# --------------------------------------------------------------------------- the kiosk on a full disk


@pytest.fixture
def kiosk_url(small_disk):
    """The kiosk tests' store, on the small disk (their outbox stays on the test's own disk)."""
    return new_sqlite_store(small_disk.folder / "s.db")


async def test_kiosk_queues_an_entry_the_full_disk_refuses_and_sends_it_once_there_is_room(
    open_kiosk, job_at, kstore, small_disk, queries
):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        await k.type("5")
        kstore.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        small_disk.fill()
        await k.press("enter")
        text = k.flat()
        assert "QUEUED — OFFLINE" in text and "complete 5 at Welding (1 waiting)" in text
        assert "Not in the store yet (database or disk is full)" in text  # the operator sees why
        assert kiosk_completes(queries, job) == []
        await k.press("enter")
        small_disk.free()
        await synced(k)
        assert kiosk_completes(queries, job) == [5]


def kiosk_completes(queries, job: str) -> list[int]:
    return [e["qty"] for e in events_of(queries, job, "complete") if e["terminal"] == "WELD-1"]


# --------------------------------------------------------------------------- 3. --out files


OUT_COMMANDS = {
    "export events": lambda out: ["export", "events", "--out", str(out / "events.csv")],
    "print card": lambda out: ["print", "card", "J-1001", "--out", str(out)],
    "print badges": lambda out: ["print", "badges", "--out", str(out)],
    "print commands": lambda out: ["print", "commands", "--terminal", "WELD-1", "--out", str(out)],
}
FIRST_FILE = {
    "export events": "events.csv",
    "print card": "card-J-1001.html",
    "print badges": "badges.html",
    "print commands": "commands-WELD-1.html",
}


def run_cli(capsys, *args: str, db) -> tuple[int, str, str]:
    code = main(["--config", str(CONFIG), "--db", str(db), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("command", OUT_COMMANDS)
def test_out_on_a_full_disk_keeps_the_earlier_file_and_leaves_nothing_half_written(
    command, small_disk, tmp_path, config, capsys
):
    db = tmp_path / "s.db"
    make_shop(f"sqlite:///{db}", config)
    out = small_disk.folder / "out"
    out.mkdir()  # print makes its folder, export does not
    code, _, err = run_cli(capsys, *OUT_COMMANDS[command](out), db=db)
    assert code == 0, err
    target = out / FIRST_FILE[command]
    earlier, files = target.read_bytes(), sorted(os.listdir(out))
    small_disk.fill()
    code, stdout, err = run_cli(capsys, *OUT_COMMANDS[command](out), db=db)
    assert code == 3
    assert err == f"floorterm: Cannot write {target}: No space left on device; nothing was written\n"
    assert stdout == ""
    assert target.read_bytes() == earlier  # the earlier file, whole, not half of a new one
    assert sorted(os.listdir(out)) == files  # and no temporary file left beside it


@pytest.mark.parametrize("command", OUT_COMMANDS)
def test_out_to_a_folder_this_user_may_not_write(command, unprivileged, config):
    db = unprivileged.folder / "s.db"
    make_shop(f"sqlite:///{db}", config)
    for path in unprivileged.folder.iterdir():
        unprivileged.own(path)
    out = unprivileged.folder / "closed"
    out.mkdir(mode=0o555)
    result = unprivileged.floorterm(*OUT_COMMANDS[command](out), db=db)
    assert result.returncode == 3, result.stderr
    no_traceback(result)
    target = out / FIRST_FILE[command]
    assert result.stderr == f"floorterm: Cannot write {target}: Permission denied; nothing was written\n"
    assert list(out.iterdir()) == []
