"""The kiosk's main flows on both store backends (PostgreSQL when FLOORTERM_TEST_PG is set):
its writes, its store thread and its change-feed refresh are what differ between them."""

from __future__ import annotations

import pytest

from floorterm.ledger import Actor

from test_kiosk_helpers import events_of, job_at, kledger, kstore, new_job, open_kiosk  # noqa: F401 (fixtures)


@pytest.fixture
def kiosk_url(store_url):
    return store_url


async def test_scan_enter_completes_all_pending(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        await k.press("enter")
        assert "Welding: 20 done → Assembly (0 still pending)" in k.flat()
    assert queries.job_card(job).step("ASSY").pending == 20


async def test_reject_with_reason_then_undo(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        await k.press("-", "3", "enter", "4", "enter")
        assert "Welding: 3 rejected (Weld porosity)" in k.flat()
        await k.press("enter", "f7", "enter")
        assert "Voided: reject 3 at Welding (POR)" in k.flat()
    assert queries.job_card(job).step("WELD").pending == 20


async def test_qc_fail_and_rework(open_kiosk, job_at, queries):
    job = job_at("FQC", qty=8)
    async with open_kiosk("QC-1") as k:
        await k.scan("Q1")
        await k.scan(job)
        await k.press("-", "2", "enter", "3", "enter", "1", "enter")  # Enter: no rework note
        assert "Final QC: 2 sent to rework at Final QC" in k.flat()
    assert queries.job_card(job).step("FQC").pending == 8


async def test_stores_issue(open_kiosk, new_job, queries):
    job = new_job(release=20)
    async with open_kiosk("STORES-1") as k:
        await k.scan("ST1")
        await k.scan(job)
        await k.press("1", "enter")
        assert "Issued 40 pcs of PLATE-8" in k.flat()


async def test_card_refreshes_and_a_stale_entry_is_refused_with_the_new_numbers(open_kiosk, job_at, kledger, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        await k.type("10")
        kledger.complete(job, "WELD", 15, actor=Actor("W2", terminal="WELD-2"))
        for _ in range(300):  # the change feed wakes the kiosk
            await k.settle()
            if "Enter = all 5 pending" in k.flat():
                break
            await k.pilot.pause(0.02)
        assert "changed at another terminal" in k.flat()
        assert k.line == "10"  # what was typed stays
        await k.press("enter")
        assert "Only 5 pending at Welding; cannot complete 10" in k.flat()
    assert queries.job_card(job).step("WELD").completed == 15
