"""The kiosk at an outside step (galvanising): Send and Receive instead of Complete and Start,
on both store backends (PostgreSQL when FLOORTERM_TEST_PG is set). docs/kiosk.md, "Outside
processing"."""

from __future__ import annotations

import pytest

from floorterm.ledger import Actor
from floorterm.screens import kiosk_actions as ka

from conftest import SUPERVISOR
from outside_support import outside_config
from test_kiosk_helpers import events_of, job_at, kledger, kstore, new_job, open_kiosk  # noqa: F401 (fixtures)


@pytest.fixture
def config():
    """The repo's config plus a galvanising stage, two suppliers and a GALV-1 kiosk."""
    return outside_config()


@pytest.fixture
def kiosk_url(store_url):
    return store_url


@pytest.fixture
def galv_job(job_at):
    def make(qty: int = 20) -> str:
        return job_at("GALV", qty=qty, routing="galvanised")

    return make


def galv(queries, job):
    return queries.job_card(job).step("GALV")


@pytest.fixture
def oqueries(config, clock):
    from floorterm.queries import Queries

    return Queries(config, clock=clock)


async def test_keys_at_an_outside_step_are_send_and_receive(open_kiosk, galv_job, kledger, oqueries, config):
    job = galv_job()
    async with open_kiosk("GALV-1") as k:
        await k.scan("W1")
        await k.scan(job)
        bar = k.flat()
        assert "Send all 20" in bar and "Receive" not in bar  # nothing is out yet
        assert "Complete" not in bar and "Start" not in bar
    kledger.record("send", job, stage="GALV", qty=5, supplier="ZINKO", actor=SUPERVISOR)
    card = oqueries.job_card(job)
    kinds = [a.kind for a in ka.actions("outside", "operator", card, "GALV")]
    assert kinds[:2] == ["send", "receive"] and "complete" not in kinds and "start" not in kinds
    assert ka.mode_for(config, config.terminal("GALV-1"), "GALV") == "outside"


async def test_send_with_supplier_and_delivery_note(open_kiosk, galv_job, oqueries):
    job = galv_job()
    async with open_kiosk("GALV-1") as k:
        await k.scan("W1")
        await k.scan(job)
        await k.type("15")
        await k.press("enter")
        text = k.flat()
        assert "Send 15 to which supplier?" in text
        assert text.index("Zinko Feuerverzinkung (usual)") < text.index("HeatX Haerterei")  # usual first
        await k.press("1")
        assert "Delivery note or shipment reference for sending 15" in k.flat()
        await k.type("4711")
        await k.press("enter")
        assert "SENT 15 to Zinko Feuerverzinkung (DN 4711)" in k.flat()
        assert "Galvanising: 15 sent to Zinko Feuerverzinkung · 4711" in k.flat()
    step = galv(oqueries, job)
    assert (step.pending, step.out) == (20, 15)
    (send,) = events_of(oqueries, job, "send")
    assert send["qty"] == 15


async def test_receive_without_rejects_moves_units_on(open_kiosk, galv_job, kledger, oqueries):
    job = galv_job()
    kledger.record("send", job, stage="GALV", qty=20, supplier="ZINKO", actor=Actor("W1", terminal="GALV-1"))
    async with open_kiosk("GALV-1") as k:
        await k.scan("W1")
        await k.scan(job)
        assert "Enter = all 20 out" in k.flat()  # everything out: Enter receives
        await k.type("12")
        await k.press("enter")
        assert "12 good back. Any rejected on receipt?" in k.flat()
        await k.press("enter")  # none
        assert "RECEIVED 12 from Zinko Feuerverzinkung" in k.flat()
    card = oqueries.job_card(job)
    assert card.step("GALV").out == 8
    assert card.step("FQC").pending == 12


async def test_receive_with_rejects_and_refusal_of_more_than_is_out(open_kiosk, galv_job, kledger, oqueries):
    job = galv_job()
    kledger.record("send", job, stage="GALV", qty=10, supplier="ZINKO", actor=SUPERVISOR)
    async with open_kiosk("GALV-1") as k:
        await k.scan("W1")
        await k.scan(job)
        await k.type("11")
        await k.press("-")  # 11 then "-": receive 11, but only 10 are out
        assert "Only 10 at a supplier from Galvanising; cannot receive 11" in k.flat()
        assert "Nothing was written." in k.flat()
        await k.type("8")
        await k.press("enter")  # the receive stays open: 8 good
        await k.type("3")
        await k.press("enter")  # 8 good + 3 rejected > 10 out
        assert "cannot receive 8 good and 3 rejected" in k.flat()
        assert "Nothing was written." in k.flat()
        await k.type("2")
        await k.press("enter")
        assert "Why were they rejected on receipt?" in k.flat()
        await k.type("4")
        await k.press("enter")  # Weld porosity (25 reasons: number, then Enter)
        assert "RECEIVED 8 from Zinko Feuerverzinkung, 2 rejected (Weld porosity)" in k.flat()
    step = galv(oqueries, job)
    assert (step.out, step.awaiting, step.completed) == (0, 2, 8)
    assert len(events_of(oqueries, job, "reject")) == 1


async def test_receive_asks_the_supplier_when_several_have_units(open_kiosk, galv_job, kledger, oqueries, clock):
    job = galv_job()
    kledger.record("send", job, stage="GALV", qty=5, supplier="ZINKO", actor=SUPERVISOR)
    clock.advance(minutes=30)
    kledger.record("send", job, stage="GALV", qty=7, supplier="HEATX", actor=SUPERVISOR)
    async with open_kiosk("GALV-1") as k:
        await k.scan("W1")
        await k.scan(job)
        await k.type("6")
        await k.press("-", "enter")
        text = k.flat()
        assert "Receive 6 from which supplier?" in text
        assert "Zinko Feuerverzinkung — 5 out" in text and "HeatX Haerterei — 7 out" in text
        await k.press("1")  # Zinko has only 5
        assert "Only 5 of this job at Zinko Feuerverzinkung" in k.flat()
        await k.press("2", "enter")
        assert "RECEIVED 6 from HeatX Haerterei" in k.flat()
    step = galv(oqueries, job)
    assert step.out == 6


async def test_offline_send_is_refused_not_queued(open_kiosk, galv_job, oqueries):
    job = galv_job()
    async with open_kiosk("GALV-1") as k:
        await k.scan("W1")
        await k.scan(job)
        k.screen._syncing = True  # no background replay finds the store again during the test
        k.screen.link.offline = True  # as after a failed write: the link works from its copy
        await k.type("3")
        await k.press("enter", "1", "enter")
        text = k.flat()
        assert "NOT SAVED" in text and "Sending to a supplier needs the store" in text
        assert "nothing was queued" in text
        assert k.screen.link.counts() == (0, 0)
        k.screen.link.offline = False
        await k.press("enter")  # try again once the store answers: same entry, saved once
        assert "SENT 3 to Zinko Feuerverzinkung" in k.flat()
        k.screen._syncing = False
    assert galv(oqueries, job).out == 3
