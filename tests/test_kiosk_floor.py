"""The kiosk on a busy floor (issue 9): wrong scans leave no job armed, jobs that cannot be
recorded here say so at once, refusals are as loud as success, keypad and scanner habits."""

from __future__ import annotations

import pytest

from conftest import SUPERVISOR
from test_kiosk_helpers import (
    events_of,
    job_at,
    kiosk_url,
    kledger,
    kstore,
    new_job,  # noqa: F401 (fixtures)
    open_kiosk,
    signed_in,
)


def here(queries, job: str, kind: str) -> list[dict]:
    """The job's entries of one kind made at this kiosk (job_at's set-up entries are not)."""
    return [e for e in events_of(queries, job, kind) if e["terminal"] == "WELD-1"]


def counting_bells(app) -> list[int]:
    """Count the terminal bells the app rings (the real bell still rings)."""
    rung: list[int] = []
    ring = app.bell

    def bell() -> None:
        rung.append(1)
        ring()

    app.bell = bell
    return rung


# -- wrong-job safety ---------------------------------------------------------------------------


async def test_unknown_job_scanned_on_an_armed_card_disarms_it(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        assert "Enter = all 20 pending" in k.flat()
        await k.scan("J-99999")
        assert k.step == "job" and k.screen.card is None
        assert "REFUSED" in k.flat() and "No job J-99999" in k.flat()
        assert k.line == ""
        assert "Scan or type job number" in k.flat()
        await k.press("escape")
        await k.press("enter")
        await k.press("enter")
        await k.press("+")
        assert not here(queries, job, "complete")


async def test_wrong_barcode_during_a_reason_drops_the_half_entry_and_says_so(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("-", "3", "enter")
        assert "Reason for reject 3" in k.flat()
        await k.scan("X-123")
        assert k.step == "job" and k.screen.card is None and k.screen.form is None
        assert "No job X-123" in k.flat() and "the reject entry for" in k.flat() and "nothing saved" in k.flat()
        await k.press("4", "enter")
        assert not events_of(queries, job)[0]["kind"] == "reject"


async def test_unreadable_scan_on_an_armed_card_disarms_it(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.scan("$J:" + "Q" * 40)  # a job barcode, but no job number is that long
        assert k.step == "job" and k.screen.card is None
        assert "REFUSED" in k.flat()
        await k.press("enter")
        assert not here(queries, job, "complete")


async def test_mistyped_quantity_keeps_the_job_and_clears_the_line(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("1O")
        await k.press("enter")
        assert k.step == "card" and k.screen.card.number == job
        assert "REFUSED" in k.flat() and "1O" in k.message()
        assert k.line == "" and "Enter = all 20 pending" in k.flat()
        assert not here(queries, job, "complete")


# -- jobs that cannot be recorded here --------------------------------------------------------------


def record_keys_offered(k) -> list[str]:
    bar = str(k.screen.query_one("#actions").render())
    return [word for word in ("Complete", "Reject", "Delay", "Resume", "Note", "Start") if word in bar]


async def test_job_on_hold_opens_with_a_banner_and_no_record_keys(open_kiosk, job_at, kledger, queries):
    job = job_at("WELD")
    kledger.hold(job, actor=SUPERVISOR, note="customer stop")
    async with open_kiosk() as k:
        await signed_in(k)
        rung = counting_bells(k.app)
        await k.scan(job)
        assert k.step == "card"
        assert "CANNOT RECORD HERE" in k.flat() and "ON HOLD" in k.flat()
        assert record_keys_offered(k) == []
        assert rung, "a blocked job rings the bell like any refusal"
        for keys in (("enter",), ("+",), ("5", "enter"), ("-",), ("*",), ("f1",), ("f2",)):
            await k.press(*keys)
            assert "REFUSED" in k.flat() and "ON HOLD" in k.flat(), keys
        assert not [e for e in events_of(queries, job) if e["terminal"] == "WELD-1"]
        # Taken off hold at another terminal: the open card offers its keys again.
        kledger.unhold(job, actor=SUPERVISOR, note="released by customer")
        k.screen.store_changed()
        await k.settle()
        assert "CANNOT RECORD HERE" not in k.flat()
        assert "Complete" in record_keys_offered(k)
        await k.press("enter")
        [event] = here(queries, job, "complete")
        assert event["qty"] == 20


async def test_job_put_on_hold_elsewhere_takes_the_keys_away(open_kiosk, job_at, kledger, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        assert "Complete" in record_keys_offered(k)
        kledger.hold(job, actor=SUPERVISOR, note="drawing change")
        k.screen.store_changed()
        await k.settle()
        assert "ON HOLD" in k.flat() and record_keys_offered(k) == []
        await k.press("enter")
        assert not here(queries, job, "complete")


async def test_route_that_does_not_pass_this_terminal(open_kiosk, new_job):
    job = new_job(routing="sheet_metal", release=20)
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        assert "CANNOT RECORD HERE" in k.flat() and "does not pass Welding" in k.flat()
        assert record_keys_offered(k) == []


async def test_nothing_pending_here(open_kiosk, new_job, queries):
    job = new_job(release=20)  # all 20 still at Cutting
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        assert "CANNOT RECORD HERE" in k.flat() and "Nothing is pending at Welding" in k.flat()
        assert record_keys_offered(k) == ["Delay"]  # a delay only (tests/test_job_delays.py)
        await k.press("3", "enter")
        assert "REFUSED" in k.flat()
        assert not [e for e in events_of(queries, job) if e["terminal"] == "WELD-1"]


async def test_open_delay_with_nothing_pending_can_still_be_resumed(open_kiosk, job_at, kledger, queries):
    job = job_at("WELD", qty=5)
    kledger.delay(job, "WELD", "MACH", actor=SUPERVISOR)
    kledger.complete(job, "WELD", 5, actor=SUPERVISOR)
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        assert "CANNOT RECORD HERE" not in k.flat()
        assert "Resume" in record_keys_offered(k)


async def test_dispatched_job_is_refused_and_nothing_is_armed(open_kiosk, job_at, kledger):
    job = job_at("DISP", qty=3)
    kledger.dispatch(job, 3, actor=SUPERVISOR)
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        assert k.step == "job" and k.screen.card is None
        assert "REFUSED" in k.flat() and "nothing more to record" in k.flat()


# -- refusals as loud as success -------------------------------------------------------------------


async def test_refusal_is_a_box_as_large_as_success_and_rings(open_kiosk, job_at):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        rung = counting_bells(k.app)
        await k.scan(job)
        await k.type("25")
        await k.press("enter")
        box = k.screen.query_one("#kiosk-message")
        refused_rows = box.region.height
        assert "✘ REFUSED" in k.text() and "cannot complete 25" in k.flat()
        assert len(rung) == 1
        await k.type("5")
        await k.press("enter")
        assert "✔ SAVED" in k.text()
        saved_rows = k.screen.query_one("#banner").region.height
        assert refused_rows >= saved_rows - 1, (refused_rows, saved_rows)
        assert refused_rows >= 5


async def test_no_bell_when_switched_off(open_kiosk, job_at, config):
    import dataclasses

    if not hasattr(config.kiosk, "bell"):
        pytest.skip("[kiosk] bell is not in this configuration")
    quiet = dataclasses.replace(config, kiosk=dataclasses.replace(config.kiosk, bell=False))
    job = job_at("WELD")
    async with open_kiosk(cfg=quiet) as k:
        await signed_in(k)
        rung = counting_bells(k.app)
        await k.scan(job)
        await k.type("25")
        await k.press("enter")
        assert "REFUSED" in k.flat() and not rung


async def test_linux_console_gets_plain_symbols(open_kiosk, job_at, monkeypatch):
    monkeypatch.setenv("TERM", "linux")
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("25")
        await k.press("enter")
        shown = k.text()
        assert "X REFUSED" in shown and "> Welding" in shown
        assert not set("✔✘⚑▶›⌫━┃┏┓┗┛") & set(shown)
        await k.type("5")
        await k.press("enter")
        shown = k.text()
        assert "OK SAVED" in shown and not set("✔✘⚑▶›━┃┏┓┗┛") & set(shown)


# -- keypad and scanner habits -----------------------------------------------------------------------


@pytest.mark.parametrize("key", ["-", "f2"])
async def test_typed_quantity_then_reject_key_rejects_it(open_kiosk, job_at, queries, key):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("3")
        await k.press(key)
        assert "Reason for reject 3" in k.flat()
        await k.press("4", "enter")
        [event] = here(queries, job, "reject")
        assert (event["qty"], event["reason"]) == (3, "POR")


async def test_typed_quantity_then_plus_completes_it(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("7")
        await k.press("+")
        [event] = here(queries, job, "complete")
        assert event["qty"] == 7


async def test_typed_quantity_then_delay_key_opens_the_delay_and_says_the_number_is_unused(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("3")
        await k.press("*")
        assert "Reason for delay" in k.flat() and "takes no quantity" in k.flat()
        await k.press("2", "enter")
        assert queries.job_card(job).step("WELD").open_delay.reason == "MACH"


async def test_typed_quantity_then_rework_key(open_kiosk, job_at, kledger, queries):
    job = job_at("WELD")
    kledger.reject(job, "WELD", 4, "POR", actor=SUPERVISOR)
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("2")
        await k.press("f5")
        assert "Rework or scrap 2" in k.flat()
        await k.press("1")  # rework here: a short list keeps one key
        assert "Note (optional)" in k.flat() and not here(queries, job, "rework")
        await k.press("enter")  # no note
        [event] = here(queries, job, "rework")
        assert event["qty"] == 2


async def test_long_reason_list_shows_the_typed_number_and_refuses_a_wrong_one(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("-", "3", "enter")
        assert "1-12 Enter" in k.flat()
        await k.press("1", "3")
        assert k.line == "13"
        await k.press("enter")
        assert "There is no choice 13" in k.flat() and k.line == "" and k.step == "form"
        await k.press("1", "2", "enter")  # MISS
        [event] = here(queries, job, "reject")
        assert event["reason"] == "MISS"


# -- your last entries ---------------------------------------------------------------------------------


async def test_last_entries_mark_voided_ones_and_survive_a_restart(open_kiosk, job_at, kledger):
    first, second = job_at("WELD"), job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(first)
        await k.type("4")
        await k.press("enter", "enter")
        await k.scan(second)
        await k.press("enter", "enter")
        await k.press("f7", "enter", "enter")  # undo the second: voided
        shown = k.flat()
        assert "Your last entries here" in shown
        assert f"{second} complete 20 at Welding [VOIDED]" in shown
        assert f"{first} complete 4 at Welding" in shown and f"{first} complete 4 at Welding [VOIDED]" not in shown
    async with open_kiosk() as k:  # read from the store, not from this session's memory
        await signed_in(k)
        assert f"{second} complete 20 at Welding [VOIDED]" in k.flat()
