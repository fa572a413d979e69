"""Snapshots of the kiosk's screens at 80x24 and 160x48, with the clock fixed.

Update after a deliberate change with `pytest tests/test_kiosk_snapshots.py --snapshot-update`
and look at the new SVGs (tests/__snapshots__/test_kiosk_snapshots/) before committing them.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

import floorterm.kiosk_link
import floorterm.store
from floorterm.ledger import Actor, MaterialSpec
from floorterm.screens.app import FloortermApp
from floorterm.store import Store, sqlite_path_from_url

from conftest import SUPERVISOR
from test_kiosk_helpers import Kiosk, kiosk_url, kledger, new_job  # noqa: F401 (fixtures)

SIZES = pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])


@pytest.fixture
def kstore(kiosk_url, monkeypatch):
    # Short store waits, for the "store failed" snapshot.
    monkeypatch.setattr(floorterm.store, "SQLITE_BUSY_TIMEOUT_MS", 100)
    monkeypatch.setitem(Store.run_write.__kwdefaults__, "deadline", 0.5)
    monkeypatch.setattr(floorterm.kiosk_link, "WRITE_DEADLINE_SECONDS", 0.5)
    store = Store.open(kiosk_url)
    yield store
    store.close()


@pytest.fixture
def shop(kledger, new_job, clock):
    """Three jobs at Welding, one of them late and short of material, one with a delay elsewhere."""
    fields = dict(
        customer="Nordwerk [b]GmbH",
        product="Gantry bracket, welded",
        order_ref="PO-88231",
        planned_start=dt.date(2026, 11, 16),
        planned_end=dt.date(2026, 11, 20),
        priority=2,
        inspection="Customer witness at final QC",
        notes="Use jig 7 [red]not jig 3",
    )
    jobs = [
        new_job("J-2401", qty=24, release=24, **fields),
        new_job("J-2402", qty=10, release=10, customer="Acme", product="Base plate"),
        new_job(
            "J-2417",
            qty=6,
            release=6,
            customer="Acme",
            product="Guard rail",
            materials=(MaterialSpec("TUBE-40", 12, "Tube 40x40"),),
        ),
    ]
    for job, qty in zip(jobs, (24, 10, 6)):
        for stage in ("CUT", "CNC", "BEND"):
            kledger.complete(job, stage, qty, actor=SUPERVISOR)
        kledger.material_issue(job, "TUBE-40" if job == "J-2417" else "PLATE-8", 12, actor=SUPERVISOR)
    clock.advance(hours=3, minutes=20)
    kledger.complete("J-2401", "WELD", 4, actor=Actor("W2", terminal="WELD-2"))
    clock.advance(minutes=40)
    return jobs


def kiosk_app(config, kiosk_url, kstore, clock, terminal="WELD-1"):
    return FloortermApp(config, kiosk_url, mode="kiosk", terminal=terminal, unlocked=False, clock=clock, store=kstore)


def steps(*actions):
    """run_before for snap_compare: scans (str) and key tuples, each settled."""

    async def run(pilot):
        k = Kiosk(pilot.app, pilot)
        await k.settle()
        for action in actions:
            if callable(action):
                action()
            elif isinstance(action, str):
                await k.scan(action)
            else:
                await k.press(*action)
        await k.settle()

    return run


@SIZES
def test_sign_in(snap_compare, config, kiosk_url, kstore, clock, shop, size):
    assert snap_compare(kiosk_app(config, kiosk_url, kstore, clock), terminal_size=size, run_before=steps())


@SIZES
def test_job_lookup_lists_matching_jobs(snap_compare, config, kiosk_url, kstore, clock, shop, size):
    assert snap_compare(kiosk_app(config, kiosk_url, kstore, clock), terminal_size=size, run_before=steps("W1", "24"))


@SIZES
def test_job_card(snap_compare, config, kiosk_url, kstore, clock, shop, size):
    assert snap_compare(
        kiosk_app(config, kiosk_url, kstore, clock), terminal_size=size, run_before=steps("W1", "J-2401", ("1", "2"))
    )


@SIZES
def test_reject_reason_pick_list(snap_compare, config, kiosk_url, kstore, clock, shop, size):
    assert snap_compare(
        kiosk_app(config, kiosk_url, kstore, clock),
        terminal_size=size,
        run_before=steps("W1", "J-2401", ("-", "3", "enter")),
    )


@SIZES
def test_confirmation(snap_compare, config, kiosk_url, kstore, clock, shop, size):
    assert snap_compare(
        kiosk_app(config, kiosk_url, kstore, clock),
        terminal_size=size,
        run_before=steps("W1", "J-2401", ("1", "2", "enter")),
    )


@pytest.fixture
def locked(kiosk_url):
    """Another connection that takes the SQLite write lock when called, as a stuck writer would."""
    conn = sqlite3.connect(str(sqlite_path_from_url(kiosk_url)), isolation_level=None)
    yield lambda: conn.execute("BEGIN EXCLUSIVE")
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


@SIZES
def test_offline_entry_queued(snap_compare, config, kiosk_url, kstore, clock, shop, locked, size):
    assert snap_compare(
        kiosk_app(config, kiosk_url, kstore, clock),
        terminal_size=size,
        run_before=steps("W1", "J-2401", ("1", "2"), locked, ("enter",)),
    )


@SIZES
def test_offline_card_from_the_offline_copy(snap_compare, config, kiosk_url, kstore, clock, shop, locked, size):
    assert snap_compare(
        kiosk_app(config, kiosk_url, kstore, clock),
        terminal_size=size,
        run_before=steps("W1", "J-2401", ("1", "2"), locked, ("enter", "enter"), "J-2401"),
    )


@pytest.fixture
def blocked(kledger, new_job, shop):
    """J-2450 never passes Welding; J-2451 is at Welding but on hold."""
    new_job("J-2450", qty=8, routing="sheet_metal", release=8, customer="Acme", product="Cover")
    held = new_job("J-2451", qty=5, release=5, customer="Acme", product="Frame")
    for stage in ("CUT", "CNC", "BEND"):
        kledger.complete(held, stage, 5, actor=SUPERVISOR)
    kledger.hold(held, actor=SUPERVISOR, note="customer stop: drawing revision C")


@SIZES
def test_job_on_hold(snap_compare, config, kiosk_url, kstore, clock, blocked, size):
    assert snap_compare(
        kiosk_app(config, kiosk_url, kstore, clock), terminal_size=size, run_before=steps("W1", "J-2451")
    )


@SIZES
def test_job_that_does_not_pass_this_terminal(snap_compare, config, kiosk_url, kstore, clock, blocked, size):
    assert snap_compare(
        kiosk_app(config, kiosk_url, kstore, clock), terminal_size=size, run_before=steps("W1", "J-2450")
    )


@SIZES
def test_unknown_job_scanned_on_a_card(snap_compare, config, kiosk_url, kstore, clock, shop, size):
    assert snap_compare(
        kiosk_app(config, kiosk_url, kstore, clock), terminal_size=size, run_before=steps("W1", "J-2401", "J-99999")
    )


@SIZES
def test_refused_more_than_pending(snap_compare, config, kiosk_url, kstore, clock, shop, size):
    assert snap_compare(
        kiosk_app(config, kiosk_url, kstore, clock),
        terminal_size=size,
        run_before=steps("W1", "J-2401", ("3", "0", "enter")),
    )
