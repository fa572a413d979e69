"""`floorterm export confirmations`: every entry exactly once per consumer, on both backends.

Real faults, no mocks: the crash between writing the file and moving the cursor is a real
`floorterm` process killed (SIGKILL) while it waits for the store's write lock, which the
test holds; an entry that commits after a later one is a real second PostgreSQL
transaction left open while the ledger commits.
"""

from __future__ import annotations

import csv
import datetime as dt
import fcntl
import json
import os
import signal
import subprocess
import sys
import time
import uuid as uuidlib

import pytest

from conftest import REPO, SUPERVISOR, at
from floorterm import confirmations
from floorterm import models as m
from floorterm.cli import main
from floorterm.errors import DomainError, InputError
from floorterm.store import Store, sqlite_path_from_url

CONFIG = REPO / "config.toml"


def export(store, name="erp", since=None) -> list[dict]:
    rows: list[dict] = []
    confirmations.export(store, name, rows.extend, since=since)
    return rows


def uuids(rows) -> list[str]:
    return [r["entry_uuid"] for r in rows]


def cursor(name="erp") -> confirmations.Cursor:
    return confirmations.read_cursor(name)


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def cli(url: str, *args: str, capsys) -> tuple[int, str, str]:
    code = main(["--config", str(CONFIG), "--db", url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def floorterm_process(url: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, "FLOORTERM_CONFIG": str(CONFIG)}
    return subprocess.Popen(
        [sys.executable, "-m", "floorterm", "--db", url, *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path, proc: subprocess.Popen, seconds: float = 30.0) -> None:
    give_up = time.monotonic() + seconds
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the export ended before writing its file: {proc.communicate()}")
        if time.monotonic() > give_up:
            raise AssertionError("the export did not write its file in time")
        time.sleep(0.02)


def test_every_entry_exactly_once_across_exports(store_url, store, ledger, make_job, clock):
    job = make_job(qty=20, release=20)
    first = [ledger.start(job, "CUT", actor=at("CUT-1", "C1")), ledger.complete(job, "CUT", 8, actor=at("CUT-1", "C1"))]
    one = export(store)
    assert uuids(one) == [r.uuid for r in first]
    clock.advance(minutes=5)
    second = [
        ledger.complete(job, "CUT", 4, actor=at("CUT-1", "C1")),
        ledger.reject(job, "CUT", 2, "DIM", actor=at("CUT-1", "C1")),
        ledger.scrap(job, "CUT", 2, "DMG", actor=SUPERVISOR),
    ]
    two = export(store)
    assert uuids(two) == [r.uuid for r in second]
    assert export(store) == []  # nothing new: nothing again
    # Another consumer has its own cursor and gets everything once.
    assert uuids(export(store, "costing")) == [r.uuid for r in first + second]
    complete, reject, scrap = two
    assert (complete["good_qty"], complete["stage"], complete["step_seq"], complete["operator"]) == (4, "CUT", 1, "C1")
    assert complete["work_centre"] == "Laser and saw bay" and complete["job"] == job
    assert (reject["rejected_qty"], reject["reason"], reject["good_qty"]) == (2, "DIM", 0)
    assert (scrap["scrap_qty"], scrap["type"], scrap["reverses_uuid"]) == (2, "confirmation", None)
    assert complete["occurred_at"] == "2026-11-23T07:05:00Z"
    assert set(one[0]) == set(confirmations.COLUMNS)
    assert cursor().last == m.Event.select().order_by(m.Event.id.desc()).get().id


def test_void_is_a_reversing_row(store, ledger, make_job):
    job = make_job(qty=20, release=20)
    done = ledger.complete(job, "CUT", 5, actor=at("CUT-1", "C1"))
    assert [r["good_qty"] for r in export(store)] == [5]
    void = ledger.void(done.uuid, actor=SUPERVISOR, note="typed 5, meant 3")
    (row,) = export(store)
    assert (row["entry_uuid"], row["type"], row["kind"], row["reverses_uuid"]) == (
        void.uuid,
        "reversal",
        "complete",
        done.uuid,
    )
    assert (row["good_qty"], row["stage"], row["operator"]) == (-5, "CUT", "S1")
    # A void of what is no confirmation (a material issue) is no row either.
    issue = ledger.material_issue(job, "PLATE-8", 10, actor=at("STORES-1", "ST1"))
    ledger.void(issue.uuid, actor=SUPERVISOR, note="wrong item")
    assert export(store) == []


def test_a_lower_id_committed_later_is_exported_once_postgres(pg_databases, config, clock):
    """PostgreSQL: entry A takes its id first but commits after entry B; B's export must not skip A."""
    from floorterm._peewee import load_psycopg
    from floorterm.ledger import Ledger

    url = pg_databases.new()
    with Store.open(url) as store:
        ledger = Ledger(store, config, clock=clock)
        ledger.add_operator("C1", "Carl Cutter", "operator")
        ledger.add_operator("S1", "Sam Supervisor", "supervisor")
        from conftest import job_factory

        make = job_factory(ledger)
        job, other_job = make(qty=20, release=20), make(qty=20, release=20)
        # The open transaction writes on another job: its foreign key holds that job's row.
        template = ledger.complete(other_job, "CUT", 1, actor=at("CUT-1", "C1"))
        assert uuids(export(store)) == [template.uuid]

        late = str(uuidlib.uuid4())
        other = load_psycopg().connect(url)  # a second writer, its transaction left open
        try:
            late_id = other.execute(
                "INSERT INTO event (uuid, job_id, step_id, kind, qty, note, operator_id, client_time, committed_at) "
                "SELECT %s, job_id, step_id, kind, 2, '', operator_id, client_time, committed_at "
                "FROM event WHERE uuid = %s RETURNING id",
                (late, template.uuid),
            ).fetchone()[0]
            early = ledger.complete(job, "CUT", 3, actor=at("CUT-1", "C1"))
            assert late_id < early.event_id  # the lower id is not visible yet
            assert uuids(export(store)) == [early.uuid]
            assert cursor().holes and cursor().missing(late_id)
            other.commit()
        finally:
            other.close()
        again = export(store)
        assert uuids(again) == [late] and again[0]["good_qty"] == 2
        assert export(store) == [] and cursor().holes == []


def test_a_gap_in_the_ids_is_filled_later_sqlite(sqlite_url, config, clock):
    """SQLite: an id skipped when the export ran (the same hole mechanism), exported when it appears."""
    import sqlite3

    from conftest import job_factory
    from floorterm.ledger import Ledger

    with Store.open(sqlite_url) as store:
        ledger = Ledger(store, config, clock=clock)
        ledger.add_operator("C1", "Carl Cutter", "operator")
        ledger.add_operator("S1", "Sam Supervisor", "supervisor")
        job = job_factory(ledger)(qty=20, release=20)
        template = ledger.complete(job, "CUT", 1, actor=at("CUT-1", "C1"))
        export(store)
        raw = sqlite3.connect(sqlite_path_from_url(sqlite_url))

        def insert(event_id: int) -> str:
            new = str(uuidlib.uuid4())
            raw.execute(
                "INSERT INTO event (id, uuid, job_id, step_id, kind, qty, note, operator_id, client_time, committed_at)"
                " "
                "SELECT ?, ?, job_id, step_id, kind, 1, '', operator_id, client_time, committed_at "
                "FROM event WHERE uuid = ?",
                (event_id, new, template.uuid),
            )
            raw.commit()
            return new

        top = template.event_id
        far = insert(top + 3)
        assert uuids(export(store)) == [far]
        assert [(a, b) for a, b, _ in cursor().holes] == [(top + 1, top + 2)]
        near = insert(top + 2)
        assert uuids(export(store)) == [near]
        assert [(a, b) for a, b, _ in cursor().holes] == [(top + 1, top + 1)]
        assert export(store) == []
        raw.close()


def test_a_hole_is_forgotten_after_the_retention():
    seen = dt.datetime(2026, 11, 1, 8, 0)
    old = confirmations.Cursor("erp", last=10, holes=[(4, 5, seen)], revision=1, exists=True)
    kept = confirmations._new_holes(old, [(11, 11)], {4}, seen + dt.timedelta(hours=1))
    assert [(a, b) for a, b, _ in kept] == [(5, 5), (11, 11)]
    later = seen + confirmations.HOLE_RETENTION + dt.timedelta(minutes=1)
    assert confirmations._new_holes(old, [], set(), later) == []


def test_crash_between_writing_and_moving_the_cursor_repeats_rows(store_url, store, ledger, make_job, tmp_path):
    """A real `floorterm export` is killed after its file is on the disk, before the cursor moved."""
    job = make_job(qty=20, release=20)
    export(store)  # the consumer exists; its cursor is past the release
    done = [ledger.complete(job, "CUT", n, actor=at("CUT-1", "C1")).uuid for n in (3, 4)]
    before = cursor()
    first = tmp_path / "first.csv"
    blocker = None
    if store.backend == "sqlite":
        # Writers queue on this lock file; holding it stops the export's cursor write.
        fd = os.open(f"{sqlite_path_from_url(store_url)}.writelock", os.O_RDWR | os.O_CREAT)
        fcntl.flock(fd, fcntl.LOCK_EX)
    else:
        from floorterm._peewee import load_psycopg

        blocker = load_psycopg().connect(store_url)
        blocker.execute("SELECT * FROM export_consumer WHERE name = 'erp' FOR UPDATE")
    proc = floorterm_process(store_url, "export", "confirmations", "--consumer", "erp", "--out", str(first))
    try:
        wait_for(first, proc)
        # While it hangs there, a second export for the same consumer is refused, changing nothing.
        with pytest.raises(DomainError, match="Another export for consumer erp is running"):
            export(store)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if blocker is not None:
            blocker.rollback()
            blocker.close()
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
    assert proc.returncode == -signal.SIGKILL
    assert uuids(read_csv(first)) == done  # the file was whole
    assert (cursor().last, cursor().revision) == (before.last, before.revision)  # the cursor did not move
    second = tmp_path / "second.csv"
    proc = floorterm_process(store_url, "export", "confirmations", "--consumer", "erp", "--out", str(second))
    assert proc.wait(timeout=60) == 0, proc.communicate()
    assert uuids(read_csv(second)) == done  # repeated, not lost
    assert export(store) == []


def test_a_stale_cursor_cannot_move(store, ledger, make_job):
    """Compare-and-set: an export that read the cursor before another moved it cannot move it again."""
    job = make_job(qty=20, release=20)
    export(store)
    stale = cursor()
    ledger.complete(job, "CUT", 3, actor=at("CUT-1", "C1"))
    export(store)
    moved = cursor()
    with pytest.raises(DomainError, match="moved its cursor meanwhile"):
        confirmations._advance(store, stale, stale.last + 100, [], 1, dt.datetime(2026, 11, 23, 8, 0))
    assert (cursor().last, cursor().revision) == (moved.last, moved.revision)


def test_a_file_that_cannot_be_written_moves_nothing(store_url, ledger, make_job, tmp_path, capsys):
    job = make_job(qty=20, release=20)
    ledger.complete(job, "CUT", 3, actor=at("CUT-1", "C1"))
    missing = tmp_path / "no-such-folder" / "c.csv"
    code, _, err = cli(store_url, "export", "confirmations", "--consumer", "erp", "--out", str(missing), capsys=capsys)
    assert code == 3 and "nothing was written" in err
    with Store.open(store_url):
        assert m.ExportConsumer.select().count() == 0
    good = tmp_path / "c.csv"
    code, _, err = cli(store_url, "export", "confirmations", "--consumer", "erp", "--out", str(good), capsys=capsys)
    assert code == 0, err
    assert [r["kind"] for r in read_csv(good)] == ["complete"]


def test_cli_files_json_and_since(store_url, store, ledger, make_job, tmp_path, capsys):
    job = make_job(qty=20, release=20)
    a = ledger.complete(job, "CUT", 3, actor=at("CUT-1", "C1"))
    out = tmp_path / "c.json"
    code, _, err = cli(
        store_url, "export", "confirmations", "--consumer", "erp", "--format", "json", "--out", str(out), capsys=capsys
    )
    assert code == 0, err
    assert "Exported 1 confirmation for erp" in err
    data = json.loads(out.read_text(encoding="utf-8"))
    assert (data["consumer"], data["columns"]) == ("erp", confirmations.COLUMNS)
    assert [(r["entry_uuid"], r["good_qty"]) for r in data["rows"]] == [(a.uuid, 3)]
    store._bind()  # main() bound the models to a store of its own
    b = ledger.complete(job, "CUT", 2, actor=at("CUT-1", "C1"))
    # A repair from entry 0 writes everything again; the cursor only moves forward (past b).
    code, text, err = cli(store_url, "export", "confirmations", "--consumer", "erp", "--since", "0", capsys=capsys)
    assert code == 0, err
    assert [r["entry_uuid"] for r in csv.DictReader(text.splitlines())] == [a.uuid, b.uuid]
    store._bind()
    assert cursor().last == b.event_id
    # Again after the cursor: from entry a on, the cursor stays where it is.
    code, text, err = cli(
        store_url, "export", "confirmations", "--consumer", "erp", "--since", str(a.event_id - 1), capsys=capsys
    )
    assert [r["entry_uuid"] for r in csv.DictReader(text.splitlines())] == [a.uuid, b.uuid]
    store._bind()
    assert cursor().last == b.event_id
    # A plant day: the entries committed from its midnight on.
    code, text, err = cli(
        store_url, "export", "confirmations", "--consumer", "erp", "--since", "2026-11-23", capsys=capsys
    )
    assert code == 0, err
    assert [r["entry_uuid"] for r in csv.DictReader(text.splitlines())] == [a.uuid, b.uuid]
    code, text, _ = cli(store_url, "export", "confirmations", "--consumer", "erp", capsys=capsys)
    assert (code, list(csv.DictReader(text.splitlines()))) == (0, [])
    code, text, _ = cli(store_url, "export", "consumers", "--format", "json", capsys=capsys)
    assert [(c["consumer"], c["exported_rows"]) for c in json.loads(text)] == [("erp", 7)]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--consumer", "my erp"], "Consumer name 'my erp' is not valid"),
        (["--consumer", "x" * 40], "is not valid"),
        (["--consumer", ".erp"], "is not valid"),
        (["--consumer", "erp", "--format", "xml"], "invalid choice: 'xml'"),
        (["--consumer", "erp", "--since", "yesterday"], "--since 'yesterday': give an entry id"),
    ],
)
def test_bad_consumer_or_format_is_refused_and_changes_nothing(
    store_url, store, ledger, make_job, tmp_path, capsys, args, message
):
    job = make_job(qty=20, release=20)
    ledger.complete(job, "CUT", 3, actor=at("CUT-1", "C1"))
    out = tmp_path / "c.csv"
    code, _, err = cli(store_url, "export", "confirmations", *args, "--out", str(out), capsys=capsys)
    assert code == 2
    assert message in err
    assert not out.exists()
    store._bind()
    assert m.ExportConsumer.select().count() == 0


def test_consumer_names():
    assert confirmations.consumer_name(" erp-1.main_x ") == "erp-1.main_x"
    for bad in ("", "a b", "x" * 33, "erp\x1b", ".erp", "erp/1"):
        with pytest.raises(InputError):
            confirmations.consumer_name(bad)


def test_report_out_writes_the_whole_page_or_nothing(store_url, ledger, make_job, tmp_path, capsys):
    """The nightly job of docs/erp.md: `report shift --format html --out FILE`."""
    job = make_job(qty=20, release=20)
    ledger.complete(job, "CUT", 3, actor=at("CUT-1", "C1"))
    page = tmp_path / "shift.html"
    code, out, err = cli(store_url, "report", "shift", "--format", "html", "--out", str(page), capsys=capsys)
    assert code == 0, err
    assert out == "" and f"Wrote the shift report to {page}" in err
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []
    code, _, err = cli(
        store_url, "report", "wip", "--format", "csv", "--out", str(tmp_path / "no" / "w.csv"), capsys=capsys
    )
    assert code == 3 and "nothing was written" in err


def test_exports_while_terminals_write_take_every_entry_once(store, ledger, make_job):
    """Four writers commit entries (in any order, on PostgreSQL) while exports run again and again."""
    import threading

    jobs = [make_job(qty=40, release=40) for _ in range(4)]
    errors: list[BaseException] = []

    def terminal(job: str) -> None:
        try:
            ledger.start(job, "CUT", actor=at("CUT-1", "C1"))
            for n in range(25):
                if n % 5 == 0:
                    ledger.reject(job, "CUT", 1, "DIM", actor=at("CUT-1", "C1"))
                ledger.complete(job, "CUT", 1, actor=at("CUT-1", "C1"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=terminal, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    taken: list[str] = []
    while any(thread.is_alive() for thread in threads):
        taken += uuids(export(store))
    for thread in threads:
        thread.join()
    taken += uuids(export(store))
    assert not errors, errors
    kinds = ("start", "complete", "reject")
    wanted = [e.uuid for e in m.Event.select().where(m.Event.kind.in_(kinds)).order_by(m.Event.id)]
    assert len(wanted) == 4 * 31
    assert sorted(taken) == sorted(wanted)  # each once: none lost, none twice
    assert export(store) == [] and cursor().holes == []
