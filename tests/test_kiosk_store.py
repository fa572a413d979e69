"""The kiosk when the store is briefly unavailable (a SQLite lock that outlasts the retry):
visible saving, then QUEUED in the outbox, checked against the offline copy, and replayed
exactly once (the UUID is made when the form opens). PostgreSQL outages: test_kiosk_offline.py."""

from __future__ import annotations

import sqlite3

import pytest

import floorterm.kiosk_link
import floorterm.store
from floorterm.store import Store, sqlite_path_from_url

from test_kiosk_helpers import (
    events_of,
    job_at,
    kiosk_url,
    kledger,
    new_job,
    open_kiosk,  # noqa: F401
    synced,
)


@pytest.fixture
def kstore(kiosk_url, monkeypatch):
    """The kiosk's store with short waits, so a locked store gives up in about a second.

    `Store.run_write` binds WRITE_DEADLINE_SECONDS as a default argument when the module is
    imported, so patching the module constant alone would not shorten it.
    """
    monkeypatch.setattr(floorterm.store, "SQLITE_BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(floorterm.store, "WRITE_DEADLINE_SECONDS", 1.0)
    monkeypatch.setitem(Store.run_write.__kwdefaults__, "deadline", 1.0)
    monkeypatch.setattr(floorterm.kiosk_link, "WRITE_DEADLINE_SECONDS", 1.0)
    store = Store.open(kiosk_url)
    yield store
    store.close()


@pytest.fixture
def lock(kiosk_url):
    """Hold the SQLite write lock from another connection, as a stuck writer would."""
    conn = sqlite3.connect(str(sqlite_path_from_url(kiosk_url)), isolation_level=None, timeout=5)

    class Lock:
        def take(self):
            conn.execute("BEGIN EXCLUSIVE")

        def release(self):
            conn.execute("ROLLBACK")

    yield Lock()
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


def kiosk_completes(queries, job):
    return [e for e in events_of(queries, job, "complete") if e["terminal"] == "WELD-1"]


async def test_locked_store_queues_the_entry_and_sends_it_once_it_answers(open_kiosk, job_at, queries, lock):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        await k.type("7")
        uuid = k.screen.form.uuid
        lock.take()
        await k.pilot.press("enter")
        assert k.screen.busy == "saving"
        assert "Saving… please wait" in k.flat()
        await k.settle()
        text = k.flat()
        assert "QUEUED — OFFLINE" in text and "SAVED" not in text.replace("QUEUED", "")
        assert "complete 7 at Welding (1 waiting)" in text and "OFFLINE · 1 waiting" in text
        assert kiosk_completes(queries, job) == []
        await k.press("enter")  # next job
        lock.release()
        await synced(k)
        [event] = kiosk_completes(queries, job)
        assert (event["qty"], event["uuid"], event["badge"]) == (7, uuid, "W1")
        assert "Back online: 1 queued entry saved" in k.flat() and "waiting" not in k.flat()
        await synced(k)  # replaying again writes nothing twice
        assert len(kiosk_completes(queries, job)) == 1


async def test_while_offline_entries_are_checked_against_the_offline_copy(open_kiosk, job_at, queries, lock):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        await k.type("15")
        lock.take()
        await k.press("enter")
        assert "QUEUED" in k.flat() and k.screen.link.offline
        await k.press("enter")
        await k.scan(job)  # from the offline copy, with the queued 15 taken off
        assert "OFFLINE: numbers as of" in k.flat() and "Enter = all 5 pending" in k.flat()
        await k.type("6")
        await k.press("enter")
        assert "REFUSED" in k.flat() and "Only 5 pending at Welding; cannot complete 6" in k.flat()
        await k.press("enter")  # all 5: queued straight away, without waiting for the store again
        assert "complete 5 at Welding (2 waiting)" in k.flat()
        lock.release()
        await synced(k)
        assert [e["qty"] for e in kiosk_completes(queries, job)] == [5, 15]  # newest first: replayed in order


async def test_reject_keeps_quantity_and_reason_through_a_store_failure(open_kiosk, job_at, queries, lock):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        await k.press("-", "3", "enter")
        lock.take()
        await k.press("4", "enter")  # POR: the write is attempted, then queued
        assert "QUEUED" in k.flat() and "reject 3 at Welding, Weld porosity" in k.flat()
        lock.release()
        await synced(k)
        [event] = events_of(queries, job, "reject")
        assert (event["qty"], event["reason"]) == (3, "POR")


async def test_undo_through_a_store_failure(open_kiosk, job_at, queries, lock):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        await k.press("enter", "enter")  # complete all, dismiss
        lock.take()
        await k.press("f7", "enter")
        assert "NOT SAVED" in k.flat() and "undo of your last entry" in k.flat()
        lock.release()
        await k.press("enter")
        assert "Voided: complete 20 at Welding" in k.flat()
        assert len(events_of(queries, job, "void")) == 1


async def test_keys_typed_while_saving_are_kept_and_used_after(open_kiosk, job_at, queries, lock):
    first, second = job_at("WELD"), job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(first)
        lock.take()
        await k.pilot.press("enter")
        assert k.screen.busy == "saving"
        lock.release()
        await k.burst(*second, "enter")  # the next job scanned while the first still saves
        assert f"Job {second}" in k.flat()
        assert len(kiosk_completes(queries, first)) == 1


async def test_an_offline_copy_older_than_the_limit_warns_on_every_card(open_kiosk, job_at, lock, clock, config):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        lock.take()
        await k.type("2")
        await k.press("enter", "enter")  # queued: the kiosk now works from its copy
        await k.scan(job)
        assert "OFFLINE: numbers as of 08:00" in k.flat() and "out of date" not in k.flat()
        clock.advance(minutes=config.kiosk.offline_snapshot_max_age_minutes + 1)
        await k.press("escape", "escape")
        await k.scan(job)
        assert "OFFLINE: numbers as of Mon 08:00, 1 h 1 min old" in k.flat() and "may be out of date" in k.flat()
        lock.release()
