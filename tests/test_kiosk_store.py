"""The kiosk when the store is briefly unavailable: visible saving, a clear failure that keeps
what was typed, and a retry that writes exactly once (the UUID is made when the form opens)."""

from __future__ import annotations

import sqlite3

import pytest

import floorterm.store
from floorterm.store import Store, sqlite_path_from_url

from test_kiosk_helpers import (events_of, job_at, kiosk_url, kledger, new_job, open_kiosk)  # noqa: F401 (fixtures)


@pytest.fixture
def kstore(kiosk_url, monkeypatch):
    """The kiosk's store with short waits, so a locked store gives up in about a second.

    `Store.run_write` binds WRITE_DEADLINE_SECONDS as a default argument when the module is
    imported, so patching the module constant alone would not shorten it.
    """
    monkeypatch.setattr(floorterm.store, "SQLITE_BUSY_TIMEOUT_MS", 100)
    monkeypatch.setattr(floorterm.store, "WRITE_DEADLINE_SECONDS", 1.0)
    monkeypatch.setitem(Store.run_write.__kwdefaults__, "deadline", 1.0)
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


async def test_locked_store_fails_clearly_keeps_the_entry_and_the_retry_writes_once(open_kiosk, job_at, queries,
                                                                                    lock):
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
        assert "NOT SAVED" in text
        assert "The store could not save this entry" in text and "Nothing was written" in text
        assert "Your entry is kept: complete 7 at Welding" in text and "Enter = try again" in text
        assert kiosk_completes(queries, job) == []
        lock.release()
        await k.press("enter")  # try again: same entry, same UUID
        assert "SAVED" in k.flat() and "NOT SAVED" not in k.flat()
        assert "Welding: 7 done → Assembly (13 still pending)" in k.flat()
        [event] = kiosk_completes(queries, job)
        assert (event["qty"], event["uuid"], event["badge"]) == (7, uuid, "W1")


async def test_after_a_store_failure_esc_returns_to_the_entry_with_the_quantity_typed(open_kiosk, job_at, queries,
                                                                                     lock):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        await k.type("7")
        lock.take()
        await k.press("enter")
        assert "NOT SAVED" in k.flat()
        await k.press("escape")
        assert k.step == "card"
        assert k.line == "7"
        lock.release()
        await k.press("enter")
        [event] = kiosk_completes(queries, job)
        assert event["qty"] == 7


async def test_reject_keeps_quantity_and_reason_through_a_store_failure(open_kiosk, job_at, queries, lock):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        await k.press("-", "3", "enter")
        lock.take()
        await k.press("4")  # POR: the write is attempted
        assert "NOT SAVED" in k.flat() and "Your entry is kept: reject 3 at Welding, Weld porosity" in k.flat()
        lock.release()
        await k.press("+")  # + = try again too
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
