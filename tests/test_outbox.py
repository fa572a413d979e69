"""The kiosk's outbox (DESIGN.md §9): queued entries survive anything, replay lands each exactly once in
queue order, refusals are kept and shown, and a store that goes away is noticed fast.

Real parts throughout: outbox files in a temp folder, real stores on both backends, a killed
process, and a private PostgreSQL server that is stopped and started again (tests/pg_server.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

from conftest import OPERATORS, REPO, SUPERVISOR, event_count, job_factory
from floorterm import models as m
from floorterm._peewee import peewee
from floorterm.cli import main
from floorterm.errors import DomainError, InputError, PermissionDenied, StoreError
from floorterm.ledger import Actor, Ledger
from floorterm.outbox import Outbox, QueuedEntry, replay
from floorterm.queries import Queries
from floorterm.reports import Reports
from floorterm.store import PG_CONNECT_TIMEOUT_SECONDS, Store, init_store
from pg_server import own_pg  # noqa: F401 - a fixture

CONFIG = REPO / "config.toml"


def cut(qty: int = 1, job: str = "J-1", **fields) -> dict:
    """The fields of an entry made at the cutting kiosk by Carl."""
    return dict(kind="complete", job=job, stage="CUT", qty=qty, badge="C1", **fields)


@pytest.fixture
def outbox(tmp_path):
    with Outbox.open("CUT-1", tmp_path / "outbox" / "CUT-1.sqlite") as box:
        yield box


def live_events(kind: str = "complete") -> list[str]:
    return [e.uuid for e in m.Event.select(m.Event.uuid).where(m.Event.kind == kind).order_by(m.Event.id)]


# -- the outbox file -------------------------------------------------------------------------------


def test_queued_entries_are_there_after_reopening(tmp_path, clock):
    path = tmp_path / "CUT-1.sqlite"
    with Outbox.open("CUT-1", path, clock=clock) as box:
        first = box.queue(**cut(5, note="first lot"), client_time=clock.now, words="complete 5 at Cutting")
        second = box.queue(QueuedEntry(**cut(3)))
    with Outbox.open("CUT-1", path) as box:
        assert box.waiting() == [first, second]
        assert box.counts() == (2, 0)
        assert first.seq < second.seq and first.terminal == "CUT-1" and first.queued_at == clock.now
        assert (first.words, second.words) == ("complete 5 at Cutting", "complete 3 at CUT")
        assert box.get(first.uuid.upper()) == first


def test_an_entry_is_on_disk_when_queue_returns_even_if_the_process_is_killed(tmp_path):
    path = tmp_path / "CUT-1.sqlite"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nfrom floorterm.outbox import Outbox\n"
            "box = Outbox.open('CUT-1', sys.argv[1])\n"
            "while True:\n"
            "    print(box.queue(kind='complete', job='J-1', stage='CUT', qty=1, badge='C1').uuid,"
            " flush=True)\n",
            str(path),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    told = [child.stdout.readline().strip() for _ in range(40)]
    os.kill(child.pid, signal.SIGKILL)  # no chance to close or flush anything
    child.wait(timeout=10)
    told += [line.strip() for line in child.stdout.read().splitlines()]
    child.stdout.close()
    with Outbox.open("CUT-1", path) as box:
        kept = [e.uuid for e in box.waiting()]
    assert len(told) >= 40 and kept[: len(told)] == told  # every acknowledged entry, in order
    assert len(kept) - len(told) <= 1  # at most the one being written when it died


def test_same_uuid_same_entry_is_a_no_op_a_different_entry_is_refused(outbox):
    first = outbox.queue(**cut(5))
    assert outbox.queue(**cut(5), uuid=first.uuid) == first
    with pytest.raises(DomainError, match=f"Entry id {first.uuid} is already queued for a different entry"):
        outbox.queue(**cut(6), uuid=first.uuid)
    assert outbox.entries() == [first]


def test_what_the_outbox_refuses_to_keep(outbox, tmp_path):
    with pytest.raises(InputError, match="cannot be queued offline"):
        outbox.queue(kind="void", job="J-1", badge="S1")
    with pytest.raises(InputError, match="not a UUID"):
        outbox.queue(**cut(), uuid="nope")
    with pytest.raises(DomainError, match="belongs to terminal CUT-1, not WELD-1"):
        outbox.queue(**cut(), terminal="WELD-1")
    with pytest.raises(StoreError, match="belongs to terminal CUT-1, not WELD-1"):
        Outbox.open("WELD-1", outbox.path)
    assert outbox.entries(include_done=True) == []


# -- replay ----------------------------------------------------------------------------------------


def test_replay_lands_each_entry_once_in_queue_order(ledger, make_job, outbox, queries):
    make_job("J-1", qty=10, release=10)
    queued = [outbox.queue(**cut(6)), outbox.queue(**cut(4)), outbox.queue(**cut(1))]
    report = replay(outbox, ledger)
    assert not report.offline
    # In queue order: 6 then 4 empty the step, so the last one is refused (the other order would differ).
    assert [r.uuid for r in report.saved] == [queued[0].uuid, queued[1].uuid]
    assert [e.uuid for e in report.refused] == [queued[2].uuid]
    assert live_events() == [queued[0].uuid, queued[1].uuid]
    assert [e.status for e in outbox.entries(include_done=True)] == ["replayed", "replayed", "refused"]
    assert outbox.get(queued[0].uuid).event_id == report.saved[0].event_id
    again = replay(outbox, ledger)
    assert (again.saved, again.refused, again.offline) == ([], [], False)
    assert live_events() == [queued[0].uuid, queued[1].uuid]
    assert queries.job_card("J-1").step("CUT").completed == 10


def test_an_entry_already_in_the_ledger_is_marked_replayed_not_written_twice(ledger, make_job, outbox):
    """The kiosk died after the store saved its entry but before the outbox heard."""
    make_job("J-1", qty=10, release=10)
    entry = outbox.queue(**cut(4))
    first = ledger.record(entry.kind, entry.job, **entry.record_arguments())
    before = event_count()
    report = replay(outbox, ledger)
    assert [(r.event_id, r.duplicate) for r in report.saved] == [(first.event_id, True)]
    assert event_count() == before
    assert outbox.get(entry.uuid).status == "replayed" and outbox.counts() == (0, 0)


def test_two_replays_of_one_outbox_at_once_still_land_each_entry_once_in_order(ledger, make_job, outbox, store):
    """The kiosk's own replay and `floorterm outbox replay` may run together."""
    make_job("J-1", qty=20, release=20)
    queued = [outbox.queue(**cut()) for _ in range(20)]
    results = []

    def replay_from_another_connection():
        with Outbox.open("CUT-1", outbox.path) as other:
            results.append(replay(other, ledger))
        store.close()  # this thread's store connection

    threads = [threading.Thread(target=replay_from_another_connection) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert [r.offline for r in results] == [False, False], results
    assert live_events() == [e.uuid for e in queued]
    assert sorted(r.uuid for r in results[0].saved) == sorted(r.uuid for r in results[1].saved)  # one wrote, one found
    assert outbox.counts() == (0, 0) and m.ReplayRefusal.select().count() == 0


def test_a_refusal_that_landed_after_all_is_marked_replayed_not_reported(ledger, make_job, outbox):
    """One replay was refused; before it told the store, another (after a release) saved the entry."""
    make_job("J-1", qty=40, release=20)
    entry = outbox.queue(**cut(30))
    outbox.mark_refused(entry.uuid, "Only 20 pending at Cutting; cannot complete 30")
    ledger.release("J-1", 20, actor=SUPERVISOR)
    landed = ledger.record(entry.kind, entry.job, **entry.record_arguments())
    before = event_count()
    replay(outbox, ledger)
    assert outbox.get(entry.uuid).status == "replayed" and outbox.get(entry.uuid).event_id == landed.event_id
    assert event_count() == before and m.ReplayRefusal.select().count() == 0


def test_a_refused_entry_is_kept_reported_and_listed_for_the_board(ledger, make_job, outbox, config, clock):
    make_job("J-1", qty=40, release=20)
    bad = outbox.queue(**cut(30), words="complete 30 at Cutting")
    good = outbox.queue(**cut(5))
    report = replay(outbox, ledger)
    assert [e.uuid for e in report.refused] == [bad.uuid] and [r.uuid for r in report.saved] == [good.uuid]
    kept = outbox.get(bad.uuid)
    assert (kept.status, kept.refusal, kept.reported) == (
        "refused",
        "Only 20 pending at Cutting; cannot complete 30",
        True,
    )
    row = m.ReplayRefusal.get(m.ReplayRefusal.uuid == bad.uuid)
    assert (row.status, row.terminal, row.job, row.words, row.badge) == (
        "open",
        "CUT-1",
        "J-1",
        "complete 30 at Cutting",
        "C1",
    )
    exceptions = Reports(config, clock=clock).exceptions()
    [item] = exceptions.replay_refused
    assert (item.number, item.terminal, item.words, item.reason) == (
        "J-1",
        "CUT-1",
        "complete 30 at Cutting",
        "Only 20 pending at Cutting; cannot complete 30",
    )
    assert exceptions.counts()["replay_refused"] == 1
    headers, rows = Reports(config, clock=clock).as_rows("exceptions")
    assert [
        "replay_refused",
        "J-1",
        "",
        "",
        "CUT-1: complete 30 at Cutting — refused on replay: Only 20 pending at Cutting; cannot complete 30",
    ] in rows
    replay(outbox, ledger)  # again: still one refusal, nothing written
    assert m.ReplayRefusal.select().count() == 1 and outbox.counts() == (0, 1)


def test_a_refusal_the_store_did_not_hear_of_is_reported_on_the_next_replay(ledger, make_job, outbox):
    """The store went away between the refusal and its report."""
    make_job("J-1", qty=10, release=10)
    entry = outbox.queue(**cut(11))
    outbox.mark_refused(entry.uuid, "Only 10 pending at Cutting; cannot complete 11")
    assert m.ReplayRefusal.select().count() == 0
    report = replay(outbox, ledger)
    assert (report.saved, report.refused) == ([], [])
    assert m.ReplayRefusal.get(m.ReplayRefusal.uuid == entry.uuid).status == "open"
    assert outbox.get(entry.uuid).reported


def test_retry_sends_a_refused_entry_again_in_its_place(ledger, make_job, outbox, config, clock):
    make_job("J-1", qty=40, release=20)
    entry = outbox.queue(**cut(30))
    replay(outbox, ledger)
    later = outbox.queue(**cut(1))  # queued after the refusal
    with pytest.raises(DomainError, match="is waiting, not refused"):
        outbox.discard(later.uuid, "S1")
    ledger.release("J-1", 20, actor=SUPERVISOR)  # the missing quantity is released now
    outbox.retry(entry.uuid)
    assert [e.uuid for e in outbox.waiting()] == [entry.uuid, later.uuid]  # its old place, first
    report = replay(outbox, ledger)
    assert [r.uuid for r in report.saved] == [entry.uuid, later.uuid]
    assert m.ReplayRefusal.get(m.ReplayRefusal.uuid == entry.uuid).status == "retried"
    assert Reports(config, clock=clock).exceptions().replay_refused == []
    assert not outbox.get(entry.uuid).reported
    with pytest.raises(DomainError, match="is replayed, not refused"):
        outbox.retry(entry.uuid)


def test_a_retried_entry_refused_again_is_listed_again(ledger, make_job, outbox, config, clock):
    make_job("J-1", qty=40, release=20)
    entry = outbox.queue(**cut(30))
    replay(outbox, ledger)
    outbox.retry(entry.uuid)
    ledger.resolve_replay_refusal(entry.uuid, actor=SUPERVISOR, how="retried")
    assert Reports(config, clock=clock).exceptions().replay_refused == []
    replay(outbox, ledger)
    assert m.ReplayRefusal.get(m.ReplayRefusal.uuid == entry.uuid).status == "open"
    assert len(Reports(config, clock=clock).exceptions().replay_refused) == 1


def test_discard_needs_a_supervisor_and_leaves_a_note_on_the_job(ledger, make_job, outbox, queries, config, clock):
    make_job("J-1", qty=20, release=20)
    entry = outbox.queue(**cut(30), words="complete 30 at Cutting")
    replay(outbox, ledger)
    before = event_count()
    for badge, error in (("C1", PermissionDenied), ("V1", PermissionDenied), ("NOBODY", PermissionDenied)):
        with pytest.raises(error) as info:
            ledger.resolve_replay_refusal(entry.uuid, actor=Actor(badge), how="discarded", note="miscount")
        assert "supervisor" in str(info.value) or "Unknown badge" in str(info.value)
    with pytest.raises(InputError, match="Give a reason"):
        ledger.resolve_replay_refusal(entry.uuid, actor=SUPERVISOR, how="discarded")
    assert event_count() == before and m.ReplayRefusal.get().status == "open"
    row = ledger.resolve_replay_refusal(entry.uuid, actor=SUPERVISOR, how="discarded", note="counted twice")
    assert (row.status, row.resolved_by, row.note) == ("discarded", "S1", "counted twice")
    [note] = [h for h in queries.history("J-1") if h["kind"] == "note"]
    assert note["note"] == (
        "Discarded queued entry from CUT-1: complete 30 at Cutting — refused on replay: "
        "Only 20 pending at Cutting; cannot complete 30 — counted twice"
    )
    assert note["badge"] == "S1"
    ledger.resolve_replay_refusal(entry.uuid, actor=SUPERVISOR, how="discarded", note="counted twice")
    assert event_count() == before + 1  # discarding again writes nothing
    outbox.discard(entry.uuid, "S1")
    assert outbox.counts() == (0, 0) and outbox.get(entry.uuid).resolved_by == "S1"
    assert Reports(config, clock=clock).exceptions().replay_refused == []
    with pytest.raises(DomainError, match="discarded already"):
        ledger.resolve_replay_refusal(entry.uuid, actor=SUPERVISOR, how="retried")


# -- the command line ------------------------------------------------------------------------------


@pytest.fixture
def outbox_dir(tmp_path, monkeypatch):
    folder = tmp_path / "outboxes"
    monkeypatch.setenv("FLOORTERM_OUTBOX_DIR", str(folder))
    return folder


def cli(store_url, capsys, *args):
    code = main(["--config", str(CONFIG), "--db", store_url, "outbox", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_list_retry_and_discard(ledger, make_job, store_url, outbox_dir, capsys):
    make_job("J-1", qty=40, release=20)
    with Outbox.open("CUT-1") as box:
        assert box.path == outbox_dir / "CUT-1.sqlite"
        bad = box.queue(**cut(30), words="complete 30 at Cutting")
        also_bad = box.queue(**cut(25))
    code, out, err = cli(store_url, capsys, "replay", "--terminal", "CUT-1")
    assert code == 1, err
    assert out.splitlines()[0] == "Saved 0, refused 2, still waiting 0"
    assert f"refused: {bad.uuid} job J-1: complete 30 at Cutting: Only 20 pending at Cutting; cannot complete 30" in out

    code, out, err = cli(store_url, capsys, "list", "--terminal", "cut-1")
    assert code == 0 and bad.uuid in out and "refused" in out and "complete 30 at Cutting" in out
    code, out, _ = cli(store_url, capsys, "list", "--terminal", "CUT-1", "--format", "json")
    listed = json.loads(out)
    assert [(e["uuid"], e["status"], e["qty"]) for e in listed] == [
        (bad.uuid, "refused", 30),
        (also_bad.uuid, "refused", 25),
    ]

    code, out, err = cli(
        store_url,
        capsys,
        "discard",
        "--terminal",
        "CUT-1",
        "--entry",
        bad.uuid,
        "--supervisor",
        "C1",
        "--note",
        "wrong count",
    )
    assert code == 1 and "may not discard a queued entry" in err
    code, out, err = cli(
        store_url,
        capsys,
        "discard",
        "--terminal",
        "CUT-1",
        "--entry",
        bad.uuid,
        "--supervisor",
        "S1",
        "--note",
        "wrong count",
    )
    assert code == 0, err
    code, out, err = cli(store_url, capsys, "retry", "--terminal", "CUT-1", "--entry", also_bad.uuid)
    assert (code, out) == (
        1,
        f"Saved 0, refused 1, still waiting 0\nrefused: {also_bad.uuid} job J-1: "
        "complete 25 at CUT: Only 20 pending at Cutting; cannot complete 25\n",
    )
    code, out, _ = cli(store_url, capsys, "list", "--terminal", "CUT-1", "--all", "--format", "json")
    assert [(e["status"], e["resolved_by"]) for e in json.loads(out)] == [("discarded", "S1"), ("refused", None)]
    with Store.open(store_url):
        rows = {r.uuid: r.status for r in m.ReplayRefusal.select()}
        assert rows == {bad.uuid: "discarded", also_bad.uuid: "open"}
        notes = [e.note for e in m.Event.select().where(m.Event.kind == "note")]
        assert len(notes) == 1 and notes[0].endswith("— wrong count")


def test_cli_bad_input_is_one_line_exit_2_and_changes_nothing(ledger, make_job, store_url, outbox_dir, capsys):
    make_job("J-1", qty=20, release=20)
    with Outbox.open("CUT-1") as box:
        box.queue(**cut(30))
    assert cli(store_url, capsys, "replay", "--terminal", "CUT-1")[0] == 1
    path = outbox_dir / "CUT-1.sqlite"
    stamp = path.read_bytes()
    for args, says in (
        (("list", "--terminal", "NOPE-1"), "Unknown terminal NOPE-1; the config has: CUT-1"),
        (
            ("retry", "--terminal", "CUT-1", "--entry", "0b5c0d4e-0000-4000-8000-000000000000"),
            "No entry 0b5c0d4e-0000-4000-8000-000000000000 in the outbox of CUT-1",
        ),
        (
            ("discard", "--terminal", "CUT-1", "--entry", "junk", "--supervisor", "S1", "--note", "x"),
            "No entry junk in the outbox of CUT-1",
        ),
        (
            ("discard", "--terminal", "WELD-9", "--entry", "junk", "--supervisor", "S1", "--note", "x"),
            "Unknown terminal WELD-9",
        ),
    ):
        code, out, err = cli(store_url, capsys, *args)
        assert code == 2 and out == "" and len(err.splitlines()) == 1 and says in err, (args, err)
    assert path.read_bytes() == stamp
    code, out, err = cli(store_url, capsys, "list", "--terminal", "WELD-1")  # never queued anything
    assert code == 0 and "nothing waiting or refused at WELD-1" in err
    assert not (outbox_dir / "WELD-1.sqlite").exists()
    assert cli(store_url, capsys, "replay", "--terminal", "WELD-1")[1] == "Nothing waiting in the outbox of WELD-1\n"


def test_cli_help_says_what_each_command_does(capsys):
    for what in ("list", "replay", "retry", "discard"):
        assert main(["outbox", what, "--help"]) == 0
        assert "--terminal" in capsys.readouterr().out
    assert main(["outbox", "--help"]) == 0
    assert "Refused on replay" in capsys.readouterr().out


# -- a store that goes away ------------------------------------------------------------------------


def _store_on(own_pg, name: str, config) -> tuple[str, Store, Ledger]:
    url = own_pg.create_database(name)
    store, _ = init_store(url)
    ledger = Ledger(store, config)
    for badge, who, role in OPERATORS:
        ledger.add_operator(badge, who, role)
    return url, store, ledger


def test_replay_through_an_outage_saves_each_entry_exactly_once(own_pg, config, tmp_path):
    url, store, ledger = _store_on(own_pg, "outage", config)
    try:
        job_factory(ledger)("J-1", qty=20, release=20)
        box = Outbox.open("CUT-1", tmp_path / "CUT-1.sqlite")
        queued = [box.queue(**cut()) for _ in range(5)]
        own_pg.stop()
        started = time.monotonic()
        report = replay(box, ledger, deadline=1.0)
        took = time.monotonic() - started
        assert report.offline and report.saved == [] and report.refused == [], report
        assert took < 3.0, f"replay took {took:.1f} s to notice the store is away"
        print(f"\nreplay noticed the stopped server after {took * 1000:.0f} ms (deadline 1 s)")
        queued.append(box.queue(**cut(2)))  # the kiosk goes on queueing
        assert [e.uuid for e in box.waiting()] == [e.uuid for e in queued]
        cli_run = subprocess.run(
            [
                sys.executable,
                "-m",
                "floorterm",
                "--config",
                str(CONFIG),
                "--db",
                url,
                "outbox",
                "replay",
                "--terminal",
                "CUT-1",
            ],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "FLOORTERM_OUTBOX_DIR": str(tmp_path)},
        )
        assert cli_run.returncode == 3 and "6 still waiting in the outbox of CUT-1" in cli_run.stderr, cli_run.stderr

        own_pg.start()
        report = replay(box, ledger, deadline=5.0)
        assert not report.offline, report.error
        assert [r.uuid for r in report.saved] == [e.uuid for e in queued]
        assert box.counts() == (0, 0)
        assert replay(box, ledger).saved == []
        assert live_events() == [e.uuid for e in queued]
        assert Queries(config).job_card("J-1").step("CUT").completed == 7
        box.close()
    finally:
        store.close()
    verify = subprocess.run(
        [sys.executable, "-m", "floorterm", "--config", str(CONFIG), "--db", url, "db", "verify"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (verify.returncode, verify.stdout) == (0, "OK: 1 job verified\n"), verify.stderr


def test_reads_and_writes_come_back_when_the_server_does(own_pg, config):
    url, store, ledger = _store_on(own_pg, "restart", config)
    queries = Queries(config)
    try:
        job_factory(ledger)("J-1", qty=20, release=20)
        own_pg.stop()
        with pytest.raises(peewee.OperationalError):
            queries.job_card("J-1")
        with pytest.raises(StoreError, match="Cannot reach the PostgreSQL store"):
            store.reconnect()
        own_pg.start()
        store.reconnect()
        assert queries.job_card("J-1").released == 20

        own_pg.stop()
        own_pg.start()  # back before anyone noticed: the old connection is dead all the same
        with pytest.raises(peewee.OperationalError):
            queries.job_card("J-1")  # the first read finds out ...
        assert queries.job_card("J-1").released == 20  # ... the next one reconnects by itself

        own_pg.stop()
        own_pg.start()
        assert ledger.complete("J-1", "CUT", 3, actor=SUPERVISOR).qty == 3  # a write retries by itself
    finally:
        store.close()


def test_a_server_that_does_not_answer_is_given_up_on_in_seconds():
    pytest.importorskip("psycopg")
    with socket.socket() as silent:  # accepts the connection in the kernel, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        started = time.monotonic()
        with pytest.raises(StoreError, match="Cannot reach the PostgreSQL store"):
            Store.open(f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/floorterm")
        took = time.monotonic() - started
    assert took < PG_CONNECT_TIMEOUT_SECONDS + 2, took
