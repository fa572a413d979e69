"""Voiding entries: who may void what, balances restored, history kept, dependants protected.
Runs on both store backends; every test ends with a clean `db verify`."""

from __future__ import annotations

import dataclasses

import pytest

from conftest import PLANNER, STORES, SUPERVISOR, at, refused
from floorterm.errors import InputError, PermissionDenied
from floorterm.ledger import Ledger
from floorterm.verify import verify_store

OWN_LAST = "You can undo only your own last entry within 5 minutes; ask a supervisor"


def at_weld(ledger, make_job, qty: int = 20) -> str:
    """A standard job with qty waiting at Welding."""
    job = make_job(release=qty)
    for stage in ("CUT", "CNC", "BEND"):
        ledger.complete(job, stage, qty, actor=SUPERVISOR)
    return job


def test_supervisor_voids_an_entry_with_a_reason(ledger, queries, make_job, clock):
    job = at_weld(ledger, make_job)
    entry = ledger.complete(job, "WELD", 5, actor=at("WELD-1"))
    clock.advance(hours=3)  # long past the operator's window: a supervisor may still void
    receipt = ledger.void(entry.uuid, actor=SUPERVISOR, note="typed on the wrong job")
    assert receipt.message == "Voided: complete 5 at Welding"
    assert (receipt.kind, receipt.job, receipt.stage) == ("void", job, "WELD")
    card = queries.job_card(job)
    assert (card.step("WELD").pending, card.step("WELD").completed, card.step("ASSY").pending) == (20, 0, 0)
    history = {row["uuid"]: row for row in queries.history(job)}
    assert history[entry.uuid]["voided"] is True
    assert history[entry.uuid]["void_reason"] == "typed on the wrong job"
    assert history[receipt.uuid]["voids"] == entry.uuid
    assert history[receipt.uuid]["badge"] == "S1"
    assert verify_store() == []


def test_planner_voids_material_issue(ledger, queries, make_job):
    job = make_job(release=20)
    entry = ledger.material_issue(job, "PLATE-8", 30, actor=STORES)
    ledger.void(entry.uuid, actor=PLANNER, note="issued to the wrong job")
    plate = next(line for line in queries.job_card(job).material if line.item == "PLATE-8")
    assert (plate.issued, plate.short) == (0, 40)
    assert verify_store() == []


def test_void_accepts_the_event_id(ledger, queries, make_job):
    job = make_job(release=20)
    entry = ledger.complete(job, "CUT", 4, actor=SUPERVISOR)
    ledger.void(str(entry.event_id), actor=SUPERVISOR, note="wrong count")
    assert queries.job_card(job).step("CUT").pending == 20
    assert verify_store() == []
    assert queries.history(job)[1]["voided"] is True
    refused(
        queries,
        job,
        lambda: ledger.void(entry.uuid, actor=SUPERVISOR, note="again"),
        message="That entry is already voided",
    )


def test_operator_voids_own_last_entry_within_the_window(ledger, queries, make_job, clock):
    job = at_weld(ledger, make_job)
    entry = ledger.complete(job, "WELD", 5, actor=at("WELD-1"))
    clock.advance(minutes=4)
    ledger.void(entry.uuid, actor=at("WELD-1"), note="counted twice")
    assert queries.job_card(job).step("WELD").pending == 20
    late = ledger.complete(job, "WELD", 3, actor=at("WELD-1"))
    clock.advance(minutes=6)
    refused(queries, job, lambda: ledger.void(late.uuid, actor=at("WELD-1"), note="oops"), PermissionDenied, OWN_LAST)
    assert verify_store() == []


def test_operator_cannot_void_someone_elses_or_an_older_entry(ledger, queries, make_job):
    job = at_weld(ledger, make_job)
    first = ledger.complete(job, "WELD", 2, actor=at("WELD-1"))
    ledger.complete(job, "WELD", 3, actor=at("WELD-1"))
    refused(queries, job, lambda: ledger.void(first.uuid, actor=at("WELD-1"), note="oops"), PermissionDenied, OWN_LAST)
    theirs = ledger.complete(job, "WELD", 1, actor=at("WELD-2", "W2"))
    refused(queries, job, lambda: ledger.void(theirs.uuid, actor=at("WELD-1"), note="oops"), PermissionDenied, OWN_LAST)
    assert verify_store() == []


def test_zero_void_window_means_operators_never_void(store, config, clock, ledger, queries, make_job):
    """config.toml: 'void_window_minutes ... (0 = never)'."""
    job = make_job(release=20)
    strict = Ledger(store, dataclasses.replace(config, void_window_minutes=0), clock=clock)
    entry = strict.complete(job, "CUT", 1, actor=at("CUT-1", "C1"))
    with pytest.raises(PermissionDenied):
        strict.void(entry.uuid, actor=at("CUT-1", "C1"), note="oops")
    assert queries.job_card(job).step("CNC").pending == 1


def test_void_refused_when_later_entries_depend_on_it(ledger, queries, make_job):
    job = at_weld(ledger, make_job)
    weld = ledger.complete(job, "WELD", 20, actor=at("WELD-1"))
    assy = ledger.complete(job, "ASSY", 20, actor=SUPERVISOR)
    message = refused(queries, job, lambda: ledger.void(weld.uuid, actor=SUPERVISOR, note="wrong"))
    assert message.startswith("Cannot void this entry: later entries depend on it (")
    assert "Only 0 pending at Assembly; cannot complete 20" in message
    assert message.endswith("Void those first.")
    # Voiding the dependant first, then the entry itself, works.
    ledger.void(assy.uuid, actor=SUPERVISOR, note="wrong")
    ledger.void(weld.uuid, actor=SUPERVISOR, note="wrong")
    card = queries.job_card(job)
    assert (card.step("WELD").pending, card.step("ASSY").pending, card.step("PAINT").pending) == (20, 0, 0)
    assert verify_store() == []


def test_void_of_a_release_refused_once_work_moved_on(ledger, queries, make_job):
    job = make_job(qty=20)
    release = ledger.release(job, 20, actor=SUPERVISOR)
    ledger.complete(job, "CUT", 10, actor=SUPERVISOR)
    message = refused(queries, job, lambda: ledger.void(release.uuid, actor=SUPERVISOR, note="wrong"))
    assert "later entries depend on it" in message
    assert verify_store() == []


def test_voiding_a_delay_closes_it(ledger, queries, make_job):
    job = at_weld(ledger, make_job)
    delay = ledger.delay(job, "WELD", "MACH", actor=at("WELD-1"))
    assert queries.job_card(job).step("WELD").state == "delayed"
    ledger.void(delay.uuid, actor=SUPERVISOR, note="machine was fine")
    card = queries.job_card(job)
    assert (card.step("WELD").state, card.step("WELD").open_delay, card.delay) == ("waiting", None, None)
    assert "delayed" not in card.flags
    ledger.delay(job, "WELD", "TOOL", actor=at("WELD-1"))  # a new delay can be opened
    assert queries.job_card(job).step("WELD").open_delay.reason == "TOOL"
    assert verify_store() == []


def test_voiding_a_resume_reopens_the_delay(ledger, queries, make_job, clock):
    job = at_weld(ledger, make_job)
    opened_at = clock.now
    ledger.delay(job, "WELD", "MAT", actor=at("WELD-1"))
    clock.advance(minutes=20)
    resume = ledger.resume(job, "WELD", actor=at("WELD-1"))
    ledger.void(resume.uuid, actor=SUPERVISOR, note="material still missing")
    delay = queries.job_card(job).step("WELD").open_delay
    assert (delay.reason, delay.since) == ("MAT", opened_at)
    assert verify_store() == []


def test_void_of_a_void_or_a_voided_entry_is_refused(ledger, queries, make_job):
    job = make_job(release=20)
    entry = ledger.complete(job, "CUT", 5, actor=SUPERVISOR)
    void = ledger.void(entry.uuid, actor=SUPERVISOR, note="wrong")
    refused(
        queries,
        job,
        lambda: ledger.void(void.uuid, actor=SUPERVISOR, note="undo the undo"),
        message="A void cannot itself be voided; record the entry again instead",
    )
    refused(
        queries,
        job,
        lambda: ledger.void(entry.uuid, actor=SUPERVISOR, note="again"),
        message="That entry is already voided",
    )
    refused(
        queries,
        job,
        lambda: ledger.void("3f1d7c52-5a55-4d0e-9d51-3b1bb8a2c0de", actor=SUPERVISOR, note="x"),
        message="No entry 3f1d7c52-5a55-4d0e-9d51-3b1bb8a2c0de to void",
    )
    assert verify_store() == []


def test_void_needs_a_reason(ledger, queries, make_job):
    job = make_job(release=20)
    entry = ledger.complete(job, "CUT", 5, actor=SUPERVISOR)
    refused(
        queries,
        job,
        lambda: ledger.void(entry.uuid, actor=SUPERVISOR, note=""),
        InputError,
        "Give a reason to void entries",
    )
    refused(
        queries,
        job,
        lambda: ledger.void(entry.uuid, actor=SUPERVISOR, note=" \x1b[0m\x9b "),
        InputError,
        "Give a reason to void entries: the note has only control characters (an escape sequence or the like), "
        "which are never stored",
    )
    refused(queries, job, lambda: ledger.void("", actor=SUPERVISOR, note="x"), InputError, "Say which entry to void")
    assert verify_store() == []


def test_void_restores_every_kind_of_balance(ledger, queries, make_job):
    """Void a mix of entries newest first: the card ends where it started."""
    job = make_job(qty=30, release=20)
    start_card = queries.job_card(job).to_json()
    entries = [
        ledger.complete(job, "CUT", 10, actor=SUPERVISOR),
        ledger.reject(job, "CUT", 4, "DIM", actor=SUPERVISOR),
        ledger.rework(job, "CUT", 1, actor=SUPERVISOR),
        ledger.scrap(job, "CUT", 2, "SETUP", actor=SUPERVISOR),
        ledger.start(job, "CNC", actor=SUPERVISOR),
        ledger.delay(job, "CNC", "TOOL", actor=SUPERVISOR),
        ledger.change_priority(job, 1, actor=SUPERVISOR, note="rush"),
        ledger.material_issue(job, "BOLT-M12", 8, actor=STORES),
        ledger.release(job, 10, actor=SUPERVISOR),
        ledger.hold(job, actor=SUPERVISOR, note="query"),
    ]
    for entry in reversed(entries):
        ledger.void(entry.uuid, actor=SUPERVISOR, note="undo")
        assert verify_store() == []
    end_card = queries.job_card(job).to_json()
    for card in (start_card, end_card):
        card.pop("last_event_id")
    assert end_card == start_card


def test_voiding_a_substitute_takes_the_substitute_off_the_card(ledger, queries, make_job):
    job = make_job(release=20)
    # PLATE-10 is no allowed substitute in config.toml: a supervisor records it.
    entry = ledger.material_substitute(job, "PLATE-8", "PLATE-10", 5, actor=SUPERVISOR)
    ledger.void(entry.uuid, actor=SUPERVISOR, note="wrong plate")
    lines = {line.item: line for line in queries.job_card(job).material}
    assert (lines["PLATE-8"].needed, lines["PLATE-8"].short) == (40, 40)
    assert "PLATE-10" not in lines or (lines["PLATE-10"].issued, lines["PLATE-10"].needed) == (0, 0)
    assert verify_store() == []
