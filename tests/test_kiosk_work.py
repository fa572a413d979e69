"""Kiosk at a work step (WELD-1): sign in, find the job, record, confirmation, refusals."""

from __future__ import annotations

import dataclasses

import pytest

from floorterm.ledger import Actor

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
    with_terminal,
)


# -- who ------------------------------------------------------------------------------------


async def test_sign_in_with_a_typed_badge_shows_who_is_signed_in(open_kiosk):
    async with open_kiosk() as k:
        assert "NOT SIGNED IN" in k.flat()
        assert "Scan your badge" in k.flat()
        await k.type("w1")
        await k.press("enter")
        assert k.step == "job"
        assert "Wanda Welder" in k.flat()
        assert "Scan or type job number" in k.flat()


async def test_unknown_badge_is_refused_and_stays_at_sign_in(open_kiosk):
    async with open_kiosk() as k:
        await k.scan("NOBODY")
        assert k.step == "signin"
        assert "Unknown badge NOBODY" in k.flat()
        assert "NOT SIGNED IN" in k.flat()


async def test_badge_barcode_signs_in_and_a_second_badge_switches_operator(open_kiosk):
    async with open_kiosk() as k:
        await k.scan("$B:W1")
        assert "Wanda Welder" in k.flat()
        await k.scan("$B:W2")
        assert "Walt Welder" in k.flat() and "Wanda Welder" not in k.flat()


async def test_idle_sign_out_after_the_configured_time(open_kiosk, clock, config):
    async with open_kiosk() as k:
        await signed_in(k)
        clock.advance(seconds=config.kiosk.idle_signout_seconds - 1)
        k.screen.tick()
        await k.settle()
        assert "Wanda Welder" in k.flat()
        clock.advance(seconds=2)
        k.screen.tick()
        await k.settle()
        assert k.step == "signin"
        assert "NOT SIGNED IN" in k.flat()
        assert "Signed out after 5 min without input" in k.flat()


async def test_sign_out_key(open_kiosk):
    async with open_kiosk() as k:
        await signed_in(k)
        await k.press("f9")
        assert k.step == "signin"
        assert "NOT SIGNED IN" in k.flat()


@pytest.mark.parametrize("key", ["escape", "/"])
async def test_back_never_signs_out(open_kiosk, job_at, key):
    """Esc (or keypad /) goes back one level: card → job prompt, and there it stays signed in."""
    number = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(number)
        assert k.step == "card"
        await k.press(key)
        assert k.step == "job"
        await k.press(key)
        await k.press(key)
        assert k.step == "job"
        assert "Wanda Welder" in k.flat() and "NOT SIGNED IN" not in k.flat()
        assert "F9 signs out" in k.flat()


async def test_sign_out_barcode(open_kiosk):
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan("$A:SIGNOUT")
        assert "NOT SIGNED IN" in k.flat()


async def test_terminal_without_badge_looks_up_freely_and_asks_the_badge_to_record(open_kiosk, config, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk(cfg=with_terminal(config, "WELD-1", badge_required=False)) as k:
        assert k.step == "job"
        await k.scan(job)
        assert f"Job {job}" in k.flat()
        await k.press("enter")
        assert k.step == "signin"
        assert "Scan your badge to record this entry" in k.flat()
        assert events_of(queries, job, "complete") == [
            e for e in events_of(queries, job, "complete") if e["terminal"] != "WELD-1"
        ]
        await k.scan("W1")
        assert "Welding: 20 done → Assembly (0 still pending)" in k.flat()
        done = [e for e in events_of(queries, job, "complete") if e["terminal"] == "WELD-1"]
        assert len(done) == 1 and done[0]["badge"] == "W1" and done[0]["qty"] == 20


# -- which job ------------------------------------------------------------------------------


async def test_job_card_shows_this_terminals_step_highlighted(open_kiosk, job_at):
    job = job_at("WELD", customer="Acme [red]GmbH", notes="[bold]fragile")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        assert k.step == "card"
        text = k.text()
        assert f"Job {job}" in text
        assert "▶ Welding" in text
        assert "Acme [red]GmbH" in text  # user data shown as typed, never as markup
        assert "[bold]fragile" in text
        assert "Complete how many at Welding?  Enter = all 20 pending" in text


async def test_unknown_job_is_said_plainly_and_stays(open_kiosk, job_at):
    job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan("J-9999")
        assert k.step == "job"
        assert "No job J-9999" in k.flat()


async def test_closed_job_is_said_plainly_and_stays(open_kiosk, job_at, kledger):
    job = job_at("DISP", qty=2, routing="machined_part")
    kledger.dispatch(job, 2, actor=SUPERVISOR)
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        assert k.step == "job"
        assert f"Job {job} is closed" in k.flat()


async def test_partial_number_lists_open_jobs_at_this_stage_and_a_digit_picks(open_kiosk, job_at, new_job):
    first = job_at("WELD")
    second = job_at("WELD")
    new_job(release=20)  # at Cutting: not offered at Welding
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan("100")
        assert k.step == "pickjob"
        text = k.text()
        assert first in text and second in text and "J-1003" not in text
        await k.press("2")
        assert k.step == "card"
        assert f"Job {second}" in k.flat()


async def test_partial_number_with_one_match_opens_it(open_kiosk, job_at):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job[-2:])
        assert k.step == "card"
        assert f"Job {job}" in k.flat()


async def test_job_whose_route_skips_this_stage_says_so(open_kiosk, new_job):
    job = new_job(routing="sheet_metal", release=5)
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        assert f"Job {job} does not pass Welding" in k.flat()
        await k.press("enter")
        assert "SAVED" not in k.flat()


# -- record ---------------------------------------------------------------------------------


async def test_scan_enter_completes_all_pending(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        k.keystrokes = 0
        await k.scan(job)
        await k.press("enter")
        assert k.keystrokes == 2  # one scan, one Enter
        assert "SAVED" in k.flat() and "NOT SAVED" not in k.flat()
        assert "Welding: 20 done → Assembly (0 still pending)" in k.flat()
        card = queries.job_card(job)
        assert card.step("WELD").completed == 20 and card.step("ASSY").pending == 20
        [event] = [e for e in events_of(queries, job, "complete") if e["terminal"] == "WELD-1"]
        assert event["badge"] == "W1" and event["qty"] == 20


async def test_typed_quantity_completes_that_many(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("12")
        await k.press("enter")
        assert "Welding: 12 done → Assembly (8 still pending)" in k.flat()
        assert queries.job_card(job).step("WELD").pending == 8


async def test_plus_on_the_keypad_completes_all(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("+")
        assert "Welding: 20 done" in k.flat()


async def test_more_than_pending_is_refused_before_writing_and_kept(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("25")
        await k.press("enter")
        assert "REFUSED" in k.flat() and "Only 20 pending at Welding; cannot complete 25" in k.flat()
        assert k.line == ""  # cleared: the prompt's "Enter = all 20" must not sit beside 25
        assert k.step == "card"
        assert queries.job_card(job).step("WELD").completed == 0


@pytest.mark.parametrize(
    "typed, words",
    [
        ("1e3", "Quantity must be a whole number made of the digits 0-9 only"),
        ("0", "Quantity must be at least 1"),
        ("99999999999999999999", "is too large"),
    ],
)
async def test_bad_quantity_is_refused_in_words(open_kiosk, job_at, queries, typed, words):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type(typed)
        await k.press("enter")
        assert words in k.flat() and f"{typed}" in k.message()  # the refusal names what was typed
        assert k.line == ""
        assert queries.job_card(job).step("WELD").completed == 0


async def test_reject_three_with_a_reason(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        k.keystrokes = 0
        await k.press("-")
        assert "Reject how many at Welding?" in k.flat()
        await k.type("3")
        await k.press("enter")
        assert "Weld porosity" in k.flat()  # the reason pick-list
        await k.press("4")  # 4 = POR (Weld porosity); twelve reasons: the number shows on the line
        assert k.line == "4" and k.step == "form"
        await k.press("enter")
        assert k.keystrokes == 5
        assert "Welding: 3 rejected (Weld porosity) — waiting for rework or scrap" in k.flat()
        [event] = events_of(queries, job, "reject")
        assert (event["qty"], event["reason"]) == (3, "POR")


async def test_reason_one_of_twelve_waits_for_enter_or_a_second_digit(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("-", "2", "enter", "1")
        assert k.step == "form" and not events_of(queries, job, "reject")
        await k.press("1")  # 11 = DFT, the eleventh reject reason
        assert k.line == "11" and not events_of(queries, job, "reject")
        await k.press("enter")
        [event] = events_of(queries, job, "reject")
        assert event["reason"] == "DFT"


async def test_reject_without_a_reason_writes_nothing(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("-", "3", "enter")
        await k.press("enter")
        assert "Type the number of your choice" in k.flat()
        await k.press("escape")
        assert k.step == "card"
        assert not events_of(queries, job, "reject")


async def test_other_actions_wait_while_an_entry_is_being_filled_in(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("-", "3", "enter")
        await k.press("+")
        assert "Finish this reject first, or Esc to cancel it" in k.flat()
        await k.press("*")
        assert "Finish this reject first" in k.flat()
        assert "Weld porosity" in k.flat()  # still choosing the reason
    assert [e for e in events_of(queries, job) if e["terminal"] == "WELD-1"] == []


async def test_reject_more_than_pending_is_refused_before_the_reason(open_kiosk, job_at, queries):
    job = job_at("WELD", qty=5)
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("-", "9", "enter")
        assert "Only 5 pending at Welding; cannot reject 9" in k.flat()
        assert "Weld porosity" not in k.flat()


async def test_reason_barcode_picks_the_reason(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.scan("$A:REJECT")
        await k.scan("$Q:2")
        await k.scan("$R:WCRK")
        [event] = events_of(queries, job, "reject")
        assert (event["qty"], event["reason"]) == (2, "WCRK")


async def test_delay_with_a_reason_then_resume(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        k.keystrokes = 0
        await k.press("*")
        assert "Machine unavailable" in k.flat()
        await k.press("2", "enter")  # MACH: ten reasons, so the number is typed, then Enter
        assert k.keystrokes == 3
        assert "Welding delayed (Machine unavailable)" in k.flat()
        assert queries.job_card(job).step("WELD").open_delay.reason == "MACH"
        await k.press("enter")  # dismiss
        await k.scan(job)
        assert "DELAYED Machine unavailable" in k.flat()
        assert "F3 *" in k.flat() and "Resume" in k.flat()
        await k.press("*")
        assert "Welding resumed" in k.flat()
        assert queries.job_card(job).step("WELD").open_delay is None


async def test_start_then_complete(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("f4")
        assert "Welding started (20 pending)" in k.flat()
        assert queries.job_card(job).step("WELD").state == "in work"


async def test_note_is_stored_and_shown_as_typed(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("f6")
        await k.type("Jig [red]worn - see Sam")
        await k.press("enter")
        assert f"Note added to job {job}" in k.flat()
        [event] = events_of(queries, job, "note")
        assert event["note"] == "Jig [red]worn - see Sam"


async def test_empty_note_is_refused(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("f6", "enter")
        assert "The note is empty" in k.flat()
        assert not events_of(queries, job, "note")


async def test_undo_my_last_entry(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("7")
        await k.press("enter")
        await k.press("enter")  # dismiss the confirmation
        await k.press("f7")
        assert "Undo your last entry?" in k.flat() and "Welding: 7 done" in k.flat()
        await k.press("enter")
        assert "Voided: complete 7 at Welding" in k.flat()
        assert queries.job_card(job).step("WELD").pending == 20
        [void] = events_of(queries, job, "void")
        assert void["note"] == "undone at terminal" and void["badge"] == "W1"


async def test_undo_after_a_restart_finds_the_entry_in_the_store(open_kiosk, job_at, kledger, queries):
    job = job_at("WELD")
    kledger.complete(job, "WELD", 4, actor=Actor("W1", terminal="WELD-1"))  # recorded before this kiosk started
    async with open_kiosk() as k:
        await signed_in(k)
        await k.press("f7")
        assert "Undo your last entry?" in k.flat() and job in k.flat()
        await k.press("enter")
        assert "Voided: complete 4 at Welding" in k.flat()
    assert queries.job_card(job).step("WELD").pending == 20


async def test_undo_with_nothing_to_undo(open_kiosk):
    async with open_kiosk() as k:
        await signed_in(k)
        await k.press("f7")
        assert "Nothing to undo" in k.flat()


async def test_undo_barcode_can_be_declined(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("enter", "enter")
        await k.scan("$A:UNDO")
        await k.press("escape")
        assert not events_of(queries, job, "void")


# -- refusals by role -----------------------------------------------------------------------


async def test_viewer_may_look_but_not_record(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k, "V1")
        await k.scan(job)
        assert f"Job {job}" in k.flat()
        await k.press("f1")
        assert "Vic Viewer (viewer) may not complete" in k.flat()
        await k.scan("$A:COMPLETE")
        assert "Vic Viewer (viewer) may not complete" in k.flat()
        assert queries.job_card(job).step("WELD").completed == 0


async def test_stores_badge_at_a_welding_kiosk_may_not_complete(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k, "ST1")
        await k.scan(job)
        await k.press("+")
        assert "Stacy Stores (stores) may not complete" in k.flat()
        await k.press("-")
        assert "Stacy Stores (stores) may not reject" in k.flat()
        assert queries.job_card(job).step("WELD").completed == 0


async def test_nothing_pending_yet_at_this_step_is_refused(open_kiosk, new_job, queries):
    job = new_job(release=20)  # still at Cutting
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("enter")
        assert "Nothing is pending at Welding" in k.flat()
        assert "SAVED" not in k.flat()


# -- confirmation ----------------------------------------------------------------------------


async def test_confirmation_goes_back_to_which_job_after_the_configured_seconds(open_kiosk, job_at, clock, config):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("enter")
        assert k.step == "result"
        clock.advance(seconds=config.kiosk.confirm_seconds)
        k.screen.tick()
        await k.settle()
        assert k.step == "job"
        assert "Wanda Welder" in k.flat()  # still signed in
        assert "Your last entries here" in k.flat() and f"{job} complete 20 at Welding" in k.flat()


async def test_scanning_the_next_job_during_the_confirmation_opens_it(open_kiosk, job_at):
    first, second = job_at("WELD"), job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(first)
        await k.press("enter")
        await k.scan(second)  # its first character dismisses the banner and is kept
        assert k.step == "card"
        assert f"Job {second}" in k.flat()


# -- scans arriving mid-entry ----------------------------------------------------------------


async def test_another_job_scanned_over_a_half_typed_quantity_asks_first(open_kiosk, job_at, queries):
    first, second = job_at("WELD"), job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(first)
        await k.type("5")
        await k.scan(second)
        assert k.step == "question"
        assert f"Discard the half-entered quantity 5 for {first}?" in k.flat()
        await k.press("escape")  # no: back to the first job, the 5 still typed
        assert f"Job {first}" in k.flat() and k.line == "5"
        await k.scan(second)
        await k.press("enter")  # yes
        assert k.step == "card" and f"Job {second}" in k.flat()
        assert k.line == ""
        assert queries.job_card(first).step("WELD").completed == 0


async def test_job_barcode_over_a_half_entered_reject_asks_first(open_kiosk, job_at, queries):
    first, second = job_at("WELD"), job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(first)
        await k.press("-", "3", "enter")
        await k.scan(f"$J:{second}")
        assert "Discard the half-entered reject entry" in k.flat()
        await k.press("+")
        assert f"Job {second}" in k.flat()
        assert not events_of(queries, first, "reject")


async def test_job_scan_without_anything_typed_switches_at_once(open_kiosk, job_at):
    first, second = job_at("WELD"), job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(first)
        await k.scan(second)
        assert k.step == "card" and f"Job {second}" in k.flat()


async def test_badge_scanned_mid_entry_switches_operator_and_keeps_the_quantity(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("5")
        await k.scan("$B:W2")
        assert "Walt Welder" in k.flat()
        assert k.line == "5"
        await k.press("enter")
        [event] = [e for e in events_of(queries, job, "complete") if e["terminal"] == "WELD-1"]
        assert (event["badge"], event["qty"]) == ("W2", 5)


async def test_typed_quantity_then_action_barcode(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("3")
        await k.scan("$A:REJECT")
        assert "Reason for reject 3" in k.flat()
        await k.press("2", "enter")
        [event] = events_of(queries, job, "reject")
        assert (event["qty"], event["reason"]) == (3, "HOLE")


async def test_quantity_barcode_completes_that_many(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.scan("$Q:6")
        assert "Welding: 6 done" in k.flat()


# -- another terminal changed the job --------------------------------------------------------


async def test_card_refreshes_when_another_terminal_records(open_kiosk, job_at, kledger, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        kledger.complete(job, "WELD", 15, actor=Actor("W2", terminal="WELD-2"))
        for _ in range(200):  # the change feed wakes the kiosk within about a second
            await k.settle()
            if "Enter = all 5 pending" in k.flat():
                break
            await k.pilot.pause(0.02)
        assert "Enter = all 5 pending" in k.flat()
        assert "changed at another terminal" in k.flat()


async def test_entry_no_longer_valid_is_refused_with_the_new_numbers(open_kiosk, job_at, kledger, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("10")
        kledger.complete(job, "WELD", 15, actor=Actor("W2", terminal="WELD-2"))
        await k.press("enter")
        assert "Only 5 pending at Welding; cannot complete 10" in k.flat()
        assert queries.job_card(job).step("WELD").completed == 15


# -- scanner settings, undo window, barcodes -------------------------------------------------


async def test_scanner_prefix_and_literal_suffix(open_kiosk, config, job_at, queries):
    job = job_at("WELD")
    scanner = dataclasses.replace(config.scanner, prefix="~", suffix="#")
    async with open_kiosk(cfg=dataclasses.replace(config, scanner=scanner)) as k:
        await k.burst(*"~W1#")
        assert "Wanda Welder" in k.flat()
        await k.burst(*f"~{job}#")
        assert f"Job {job}" in k.flat()
        await k.type("4")
        await k.burst(*"~$B:W2#")  # a badge scan over a half-typed 4: operator switches, 4 stays
        assert "Walt Welder" in k.flat() and k.line == "4"
        await k.press("enter")  # typed input still ends with Enter
        [event] = [e for e in events_of(queries, job, "complete") if e["terminal"] == "WELD-1"]
        assert (event["badge"], event["qty"]) == ("W2", 4)


async def test_scanner_tab_suffix(open_kiosk, config, job_at):
    job = job_at("WELD")
    scanner = dataclasses.replace(config.scanner, suffix="tab")
    async with open_kiosk(cfg=dataclasses.replace(config, scanner=scanner)) as k:
        await k.burst(*"W1", "tab")
        await k.burst(*job, "tab")
        assert f"Job {job}" in k.flat()


async def test_enter_barcode_after_a_typed_quantity(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.type("9")
        await k.scan("$A:ENTER")
        assert "Welding: 9 done" in k.flat()


async def test_cancel_barcode_leaves_the_entry(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("-", "3", "enter")
        await k.scan("$A:CANCEL")
        assert k.step == "card" and "Complete how many at Welding?" in k.flat()
        assert not events_of(queries, job, "reject")


async def test_undo_after_the_void_window_is_refused_in_words(open_kiosk, job_at, queries, clock, config):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("enter", "enter")
        clock.advance(minutes=config.void_window_minutes + 1)
        await k.press("f7", "enter")
        assert "NOT SAVED" in k.flat()
        assert "You can undo only your own last entry within 5 minutes; ask a supervisor" in k.flat()
        assert not events_of(queries, job, "void")


async def test_bad_quantity_in_a_reject_is_refused(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        await k.press("-")
        await k.type("1e3")
        await k.press("enter")
        assert "Quantity must be a whole number made of the digits 0-9 only" in k.flat()
        assert "1e3" in k.message() and k.line == "" and k.step == "form"
        assert not events_of(queries, job, "reject")


async def test_failed_save_still_signs_out_when_left_idle(open_kiosk, job_at, clock, config):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await signed_in(k)
        await k.scan(job)
        k.screen.step = "failed"  # as after a store failure (tested in test_kiosk_store.py)
        clock.advance(seconds=config.kiosk.idle_signout_seconds + 1)
        k.screen.tick()
        await k.settle()
        assert k.step == "signin" and "NOT SIGNED IN" in k.flat()


async def test_job_scanned_before_signing_in_is_refused_in_words(open_kiosk, job_at):
    job = job_at("WELD")
    async with open_kiosk() as k:
        await k.scan(job)
        assert f"{job} is a job: scan your badge first, then the job" in k.flat()
        await k.scan(f"$J:{job}")
        assert "Scan your badge first, then the job" in k.flat()
        assert k.step == "signin" and f"Job {job}" not in k.flat()
