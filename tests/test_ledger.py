"""The ledger, one entry kind at a time: balances, confirmation texts, and every refusal
(with its message, and nothing written). Runs on both store backends."""

from __future__ import annotations

import pytest

from conftest import PLANNER, QC, STORES, SUPERVISOR, VIEWER, Actor, at, event_count, refused
from floorterm import models as m
from floorterm.errors import FloortermError, InputError, PermissionDenied
from floorterm.ledger import describe_event, new_uuid
from floorterm.verify import verify_store

STANDARD = ("CUT", "CNC", "BEND", "WELD", "ASSY", "PAINT", "FQC", "PACK", "DISP")
REJECT_CHOICES = (
    "DIM (Dimension out of tolerance), HOLE (Wrong hole position), BEND (Wrong bend angle), "
    "POR (Weld porosity), WCRK (Weld crack), UCUT (Weld undercut), DIST (Weld distortion), "
    "BURR (Burrs / sharp edges), SCR (Surface scratch), RUN (Paint run), "
    "DFT (Paint thickness out of spec), MISS (Missing part / hardware)"
)
HELD = "Job {} is on hold; a supervisor must take it off hold first"


def advance(ledger, job: str, stage: str, qty: int) -> None:
    """Move qty of a standard-routing job from the first step up to (not past) `stage`."""
    for code in STANDARD[: STANDARD.index(stage)]:
        if code == "FQC":
            ledger.qc_pass(job, code, qty, actor=SUPERVISOR)
        else:
            ledger.complete(job, code, qty, actor=SUPERVISOR)


def conserved(card) -> bool:
    """DESIGN §3: R = Σ pending (dispatch step excluded) + Σ awaiting + Σ scrapped + ready + dispatched,
    all ≥ 0; finished = ready + dispatched."""
    parts = (
        [s.pending for s in card.steps if s.kind != "dispatch"]
        + [s.awaiting for s in card.steps]
        + [s.scrapped for s in card.steps]
        + [card.ready_for_dispatch, card.dispatched]
    )
    finished = card.finished == card.ready_for_dispatch + card.dispatched
    return finished and all(p >= 0 for p in parts) and sum(parts) == card.released


# -- release, start, complete ----------------------------------------------------------------


def test_release_feeds_the_first_step(ledger, queries, make_job):
    job = make_job(qty=20)
    assert queries.job_card(job).status == "planned"
    receipt = ledger.release(job, 12, actor=STORES)
    assert receipt.message == "Released 12 of 20 → Cutting (12 released in all)"
    assert (receipt.kind, receipt.job, receipt.qty, receipt.duplicate) == ("release", job, 12, False)
    card = queries.job_card(job)
    assert (card.released, card.step("CUT").pending, card.status) == (12, 12, "released")
    assert card.status_text == "released (12 of 20 released)"
    assert ledger.release(job, "8", actor=SUPERVISOR).message == "Released 8 of 20 → Cutting (20 released in all)"
    assert queries.job_card(job).step("CUT").pending == 20
    refused(
        queries,
        job,
        lambda: ledger.release(job, 1, actor=SUPERVISOR),
        message=f"Job {job} is for 20; 20 already released, so at most 0 more can be released",
    )
    refused(queries, job, lambda: ledger.release(job, 0, actor=SUPERVISOR), InputError, "Quantity must be at least 1")
    assert verify_store() == []


def test_start_marks_the_step_in_work(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "WELD", 20)
    assert queries.job_card(job).step("WELD").state == "waiting"
    receipt = ledger.start(job, "WELD", actor=at("WELD-1"))
    assert receipt.message == "Welding started (20 pending)"
    assert queries.job_card(job).step("WELD").state == "in work"
    refused(
        queries, job, lambda: ledger.start(job, "WELD", actor=at("WELD-2", "W2")), message="Welding is already in work"
    )
    refused(
        queries,
        job,
        lambda: ledger.start(job, "ASSY", actor=SUPERVISOR),
        message="Nothing is pending at Assembly to start",
    )


def test_complete_moves_quantity_to_the_next_step(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "WELD", 20)
    receipt = ledger.complete(job, "WELD", 15, actor=at("WELD-1"))
    assert receipt.message == "Welding: 15 done → Assembly (5 still pending)"
    assert (receipt.stage, receipt.qty) == ("WELD", 15)
    card = queries.job_card(job)
    weld, assy = card.step("WELD"), card.step("ASSY")
    assert (weld.received, weld.completed, weld.pending) == (20, 15, 5)
    assert (assy.received, assy.pending) == (15, 15)
    assert card.status == "in progress"
    assert conserved(card)
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "WELD", 6, actor=at("WELD-1")),
        message="Only 5 pending at Welding; cannot complete 6",
    )
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "PAINT", 1, actor=SUPERVISOR),
        message="Only 0 pending at Painting; cannot complete 1",
    )
    assert (
        ledger.complete(job, "WELD", 5, actor=at("WELD-2", "W2")).message
        == "Welding: 5 done → Assembly (0 still pending)"
    )
    assert verify_store() == []


def test_complete_refused_for_unknown_job_and_unknown_or_missing_stage(ledger, queries, make_job):
    job = make_job(release=20)
    weldment = make_job(release=5, routing="weldment")
    refused(queries, job, lambda: ledger.complete("J-9999", "CUT", 1, actor=SUPERVISOR), message="No job J-9999")
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "ZZZ", 1, actor=SUPERVISOR),
        message=f"Job {job} has no ZZZ step (its route: {' → '.join(STANDARD)})",
    )
    refused(
        queries,
        weldment,
        lambda: ledger.complete(weldment, "CNC", 1, actor=SUPERVISOR),
        message=f"Job {weldment} has no CNC step (its route: CUT → WELD → PAINT → FQC → PACK → DISP)",
    )
    refused(
        queries, job, lambda: ledger.complete(job, "", 1, actor=SUPERVISOR), InputError, "Say at which step to complete"
    )


def test_typed_job_number_is_normalised(ledger, queries, make_job):
    job = make_job(number="J-77", release=5)
    receipt = ledger.complete(" j-77 ", "cut", 2, actor=SUPERVISOR)
    assert (receipt.job, receipt.stage) == (job, "CUT")
    assert queries.job_card(job).step("CNC").pending == 2


# -- reject, rework, scrap -------------------------------------------------------------------


def test_reject_waits_for_a_decision(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "WELD", 20)
    receipt = ledger.reject(job, "WELD", 2, "POR", actor=at("WELD-1"))
    assert receipt.message == "Welding: 2 rejected (Weld porosity) — waiting for rework or scrap"
    card = queries.job_card(job)
    weld = card.step("WELD")
    assert (weld.pending, weld.rejected, weld.awaiting) == (18, 2, 2)
    assert "rework pending" in card.flags
    assert conserved(card)
    refused(
        queries,
        job,
        lambda: ledger.reject(job, "WELD", 1, "XXX", actor=at("WELD-1")),
        message=f"XXX is not a reject reason; choose one of: {REJECT_CHOICES}",
    )
    # A code from another list is not a reject reason either.
    refused(
        queries,
        job,
        lambda: ledger.reject(job, "WELD", 1, "CRK", actor=at("WELD-1")),
        message=f"CRK is not a reject reason; choose one of: {REJECT_CHOICES}",
    )
    refused(
        queries,
        job,
        lambda: ledger.reject(job, "WELD", 1, "", actor=at("WELD-1")),
        InputError,
        "Choose a reject reason",
    )
    refused(
        queries,
        job,
        lambda: ledger.reject(job, "WELD", 19, "POR", actor=at("WELD-1")),
        message="Only 18 pending at Welding; cannot reject 19",
    )


def test_rework_to_the_same_or_an_earlier_step(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "WELD", 20)
    ledger.reject(job, "WELD", 3, "DIM", actor=at("WELD-1"))
    receipt = ledger.rework(job, "WELD", 1, actor=at("WELD-1"))
    assert receipt.message == "Welding: 1 sent to rework at Welding"
    weld = queries.job_card(job).step("WELD")
    assert (weld.pending, weld.awaiting, weld.reworked, weld.rework_in) == (18, 2, 1, 1)
    receipt = ledger.rework(job, "WELD", 1, "CUT", actor=at("WELD-1"))
    assert receipt.message == "Welding: 1 sent to rework at Cutting"
    card = queries.job_card(job)
    assert (card.step("CUT").pending, card.step("CUT").rework_in, card.step("WELD").awaiting) == (1, 1, 1)
    assert conserved(card)
    refused(
        queries,
        job,
        lambda: ledger.rework(job, "WELD", 1, "ASSY", actor=SUPERVISOR),
        message="Rework from Welding can go back to Welding or an earlier step, not Assembly",
    )
    refused(
        queries,
        job,
        lambda: ledger.rework(job, "WELD", 2, actor=at("WELD-1")),
        message="Only 1 rejected at Welding waiting for a decision; cannot rework 2",
    )
    refused(
        queries,
        job,
        lambda: ledger.rework(job, "WELD", 1, "NOPE", actor=SUPERVISOR),
        message=f"Job {job} has no NOPE step (its route: {' → '.join(STANDARD)})",
    )
    assert verify_store() == []


def test_scrap_takes_rejected_quantity_out(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "WELD", 20)
    ledger.reject(job, "WELD", 3, "WCRK", actor=at("WELD-1"))
    receipt = ledger.scrap(job, "WELD", 2, "CRK", actor=at("WELD-1"))
    assert receipt.message == "Welding: 2 scrapped (Crack)"
    card = queries.job_card(job)
    assert (card.step("WELD").scrapped, card.step("WELD").awaiting, card.scrapped) == (2, 1, 2)
    assert conserved(card)
    message = refused(queries, job, lambda: ledger.scrap(job, "WELD", 1, "POR", actor=at("WELD-1")))
    assert message.startswith("POR is not a scrap reason; choose one of: ")
    for reason in ("DIM", "CRK", "BURN", "MAT", "DMG", "SETUP"):
        assert reason in message
    refused(
        queries,
        job,
        lambda: ledger.scrap(job, "WELD", 2, "CRK", actor=at("WELD-1")),
        message="Only 1 rejected at Welding waiting for a decision; cannot scrap 2",
    )


# -- delay and resume ------------------------------------------------------------------------


def test_delay_and_resume(ledger, queries, make_job, clock):
    job = make_job(release=20)
    advance(ledger, job, "WELD", 20)
    receipt = ledger.delay(job, "WELD", "MAT", actor=at("WELD-1"), note="plate late")
    assert receipt.message == "Welding delayed (Material shortage)"
    card = queries.job_card(job)
    weld = card.step("WELD")
    assert weld.state == "delayed"
    assert (weld.open_delay.reason, weld.open_delay.label, weld.open_delay.since) == (
        "MAT",
        "Material shortage",
        clock.now,
    )
    assert card.delay == weld.open_delay
    assert "delayed" in card.flags
    refused(
        queries,
        job,
        lambda: ledger.delay(job, "WELD", "TOOL", actor=at("WELD-1")),
        message="Welding already has an open delay (MAT); resume it first",
    )
    refused(
        queries,
        job,
        lambda: ledger.start(job, "WELD", actor=at("WELD-1")),
        message="Welding is delayed; resume it before starting",
    )
    # A step with nothing pending yet can be delayed too (issue 10 item 3; tests/test_job_delays.py).
    assert ledger.delay(job, "ASSY", "MAT", actor=SUPERVISOR).message == "Assembly delayed (Material shortage)"
    assert ledger.resume(job, "ASSY", actor=SUPERVISOR).message == "Assembly resumed after 0 s (Material shortage)"
    message = refused(queries, job, lambda: ledger.delay(job, "WELD", "POR", actor=SUPERVISOR))
    assert message.startswith("POR is not a delay reason; choose one of: MAT (Material shortage), ")
    clock.advance(minutes=45)
    receipt = ledger.resume(job, "WELD", actor=at("WELD-2", "W2"))
    assert receipt.message == "Welding resumed after 45 min (Material shortage)"
    card = queries.job_card(job)
    assert (card.step("WELD").state, card.step("WELD").open_delay, card.delay) == ("waiting", None, None)
    assert "delayed" not in card.flags
    refused(
        queries,
        job,
        lambda: ledger.resume(job, "WELD", actor=at("WELD-1")),
        message="Welding has no open delay to resume",
    )
    assert verify_store() == []


# -- QC --------------------------------------------------------------------------------------


def test_qc_pass_and_fail(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "FQC", 20)
    assert queries.job_card(job).status == "QC pending"
    assert ledger.qc_pass(job, "FQC", 15, actor=QC).message == "Final QC: 15 passed → Packing (5 still pending)"
    receipt = ledger.qc_fail(job, "FQC", 2, "VIS", actor=QC, note="scratch on face A")
    assert receipt.message == "Final QC: 2 failed (Visual defect) — waiting for rework or scrap"
    card = queries.job_card(job)
    fqc = card.step("FQC")
    assert (fqc.completed, fqc.rejected, fqc.pending, fqc.awaiting) == (15, 2, 3, 2)
    assert card.qc == "Final QC: 15 passed, 2 failed, 3 to inspect"
    assert card.step("PACK").pending == 15
    # The inspector sends a failed part back to welding.
    assert ledger.rework(job, "FQC", 1, "WELD", actor=QC).message == "Final QC: 1 sent to rework at Welding"
    assert queries.job_card(job).step("WELD").pending == 1
    refused(
        queries,
        job,
        lambda: ledger.qc_pass(job, "FQC", 4, actor=QC),
        message="Only 3 pending at Final QC; cannot pass 4",
    )
    message = refused(queries, job, lambda: ledger.qc_fail(job, "FQC", 1, "POR", actor=QC))
    assert message.startswith("POR is not a qc fail reason; choose one of: DIM (Dimension out of tolerance), ")
    assert conserved(queries.job_card(job))
    assert verify_store() == []


def test_wrong_step_kind_is_refused(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "FQC", 10)
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "FQC", 1, actor=SUPERVISOR),
        message="Final QC is a QC step: record a QC pass or fail there",
    )
    refused(
        queries,
        job,
        lambda: ledger.reject(job, "FQC", 1, "DIM", actor=SUPERVISOR),
        message="Final QC is a QC step: record a QC pass or fail there",
    )
    refused(
        queries,
        job,
        lambda: ledger.qc_pass(job, "CUT", 1, actor=SUPERVISOR),
        message="Cutting is not a QC step: record complete or reject there",
    )
    refused(
        queries,
        job,
        lambda: ledger.qc_fail(job, "CUT", 1, "DIM", actor=SUPERVISOR),
        message="Cutting is not a QC step: record complete or reject there",
    )
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "DISP", 1, actor=SUPERVISOR),
        message="Dispatch is the dispatch step: record a dispatch there",
    )


# -- material --------------------------------------------------------------------------------


def test_material_issue_return_scrap(ledger, queries, make_job):
    job = make_job(release=20)
    assert (
        ledger.material_issue(job, "PLATE-8", 30, actor=STORES).message
        == "Issued 30 pcs of PLATE-8, still short 10 pcs"
    )
    card = queries.job_card(job)
    plate = next(line for line in card.material if line.item == "PLATE-8")
    assert (plate.issued, plate.net_issued, plate.short) == (30, 30, 10)
    assert "material short" in card.flags
    refused(
        queries,
        job,
        lambda: ledger.material_issue(job, "PLATE-8", 11, actor=STORES),
        message=(
            f"Job {job} needs 40 pcs of PLATE-8 and has 30 pcs issued; 10 pcs more can be issued, 11 pcs is an "
            "extra issue and needs an extra-issue reason: choose one of SETUP (Setup / first-off loss), "
            "BREAK (Breakage or damage), DRAWING (Drawing change), REISSUE (Re-issue after a return)"
        ),
    )
    refused(
        queries,
        job,
        lambda: ledger.material_issue(job, "NOPE", 1, actor=STORES),
        message=f"Item NOPE is not on the material list of job {job} (listed: BOLT-M12, PLATE-8)",
    )
    # A return is surplus going back: it never makes the line short.
    assert (
        ledger.material_return(job, "PLATE-8", 5, actor=STORES).message
        == "Returned 5 pcs of PLATE-8, still short 10 pcs"
    )
    refused(
        queries,
        job,
        lambda: ledger.material_return(job, "PLATE-8", 26, actor=STORES),
        message=f"Only 25 pcs of PLATE-8 are issued to job {job}; cannot return 26 pcs",
    )
    assert (
        ledger.material_scrap(job, "PLATE-8", 5, "HND", actor=STORES).message
        == "Scrapped 5 pcs of PLATE-8 (Damaged in handling), still short 15 pcs"
    )
    message = refused(queries, job, lambda: ledger.material_scrap(job, "PLATE-8", 1, "DIM", actor=STORES))
    assert message.startswith("DIM is not a material scrap reason; choose one of: HND (Damaged in handling), ")
    refused(
        queries,
        job,
        lambda: ledger.material_scrap(job, "PLATE-8", 21, "HND", actor=STORES),
        message=f"Only 20 pcs of PLATE-8 are issued to job {job}; cannot scrap 21 pcs",
    )
    refused(
        queries, job, lambda: ledger.material_issue(job, "", 1, actor=STORES), InputError, "Say which material item"
    )
    ledger.material_issue(job, "PLATE-8", 15, actor=STORES)
    ledger.material_issue(job, "BOLT-M12", 80, actor=STORES)
    assert "material short" not in queries.job_card(job).flags
    assert verify_store() == []


def test_material_substitute(ledger, queries, make_job):
    job = make_job(release=20)
    # PLATE-10 is not in config.toml's [materials.substitutes]: a supervisor decides.
    receipt = ledger.material_substitute(job, "PLATE-8", "PLATE-10", 5, actor=SUPERVISOR, note="8 mm out of stock")
    assert receipt.message == "Issued 5 pcs of PLATE-10 in place of PLATE-8 (substitute)"
    lines = {line.item: line for line in queries.job_card(job).material}
    assert (lines["PLATE-8"].needed, lines["PLATE-8"].short) == (35, 35)
    assert (lines["PLATE-10"].substitute_for, lines["PLATE-10"].issued, lines["PLATE-10"].short) == ("PLATE-8", 5, 0)
    refused(
        queries,
        job,
        lambda: ledger.material_substitute(job, "PLATE-8", "PLATE-8", 1, actor=SUPERVISOR),
        message="Name the substitute item, different from the item it replaces",
    )
    refused(
        queries,
        job,
        lambda: ledger.material_substitute(job, "PLATE-8", "PLATE-10", 36, actor=SUPERVISOR),
        message="Only 35 pcs of PLATE-8 are still to be issued; cannot substitute 36 pcs",
    )
    refused(
        queries,
        job,
        lambda: ledger.material_substitute(job, "PLATE-8", "", 1, actor=STORES),
        InputError,
        "Say which item is issued as the substitute",
    )
    assert verify_store() == []


# -- dispatch --------------------------------------------------------------------------------


def test_dispatch(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "DISP", 20)
    card = queries.job_card(job)
    assert (card.status, card.ready_for_dispatch) == ("ready for dispatch", 20)
    receipt = ledger.dispatch(job, 5, actor=at("DISP-1", "W1"))
    assert receipt.message == "Dispatched 5 (5 of 20 dispatched in all)"
    card = queries.job_card(job)
    assert (card.dispatched, card.ready_for_dispatch, card.dispatch_status) == (5, 15, "5 of 20 dispatched, 15 ready")
    assert conserved(card)
    refused(
        queries,
        job,
        lambda: ledger.dispatch(job, 16, actor=at("DISP-1")),
        message=f"Only 15 of job {job} ready for dispatch; cannot dispatch 16",
    )
    refused(
        queries,
        job,
        lambda: ledger.dispatch(job, 1, actor=at("WELD-1")),
        PermissionDenied,
        "Terminal WELD-1 records Welding only; it cannot record at Dispatch",
    )
    assert ledger.dispatch(job, 15, actor=STORES).message == "Dispatched 15 (20 of 20 dispatched in all)"
    card = queries.job_card(job)
    assert (card.status, card.dispatch_status) == ("dispatched", "all dispatched")
    assert verify_store() == []


def test_dispatch_reference_is_stored_cleaned_and_shown(ledger, queries, make_job, config):
    job = make_job(release=20)
    advance(ledger, job, "DISP", 20)
    receipt = ledger.dispatch(job, 5, actor=at("DISP-1"), reference=" DN-\x1b[31m4411\x1b[0m\x9b ")
    event = m.Event.get(m.Event.uuid == receipt.uuid)
    assert event.reference == "DN-4411"
    assert describe_event(event, config) == "dispatch 5 · ref DN-4411"
    assert queries.history(job)[0]["reference"] == "DN-4411"
    longest = "R" * 64
    plain = ledger.dispatch(job, 1, actor=STORES, reference=longest)
    assert m.Event.get(m.Event.uuid == plain.uuid).reference == longest
    none = ledger.dispatch(job, 1, actor=STORES, reference="  ")
    assert m.Event.get(m.Event.uuid == none.uuid).reference is None
    assert ledger.void(receipt.uuid, actor=SUPERVISOR, note="wrong truck").message == "Voided: dispatch 5 · ref DN-4411"


def test_dispatch_reference_too_long_or_on_another_kind_is_refused(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "DISP", 20)
    refused(
        queries,
        job,
        lambda: ledger.dispatch(job, 5, actor=STORES, reference="R" * 65),
        InputError,
        "Reference is too long: 65 characters, at most 64",
    )
    refused(
        queries,
        job,
        lambda: ledger.record("note", job, note="x", actor=SUPERVISOR, reference="DN-1"),
        InputError,
        "Only a dispatch, a send or a receive carries a delivery reference; cannot add a note with one",
    )
    refused(
        queries,
        job,
        lambda: ledger.record("release", job, qty=1, actor=SUPERVISOR, reference="DN-1"),
        InputError,
        "Only a dispatch, a send or a receive carries a delivery reference; cannot release with one",
    )


# -- priority, hold, note --------------------------------------------------------------------


def test_priority_change(ledger, queries, make_job):
    job = make_job(release=20)
    receipt = ledger.change_priority(job, 2, actor=PLANNER, note="customer rush")
    assert receipt.message == f"Job {job}: priority 5 → 2"
    card = queries.job_card(job)
    assert (card.priority, card.initial_priority) == (2, 5)
    assert "priority changed" in card.flags
    refused(
        queries,
        job,
        lambda: ledger.change_priority(job, 2, actor=PLANNER, note="again"),
        message=f"Job {job} already has priority 2",
    )
    for bad in (10, "10", 0, "0", "٣", "-1", ""):
        message = refused(
            queries, job, lambda: ledger.change_priority(job, bad, actor=PLANNER, note="x"), FloortermError
        )
        assert message.startswith(("Priority must be", "Priority cannot be", "Enter a priority")), message
        if bad in (10, "10"):
            assert message == "Priority must be a whole number from 1 (most urgent) to 9"
    refused(
        queries,
        job,
        lambda: ledger.change_priority(job, 3, actor=PLANNER, note=""),
        InputError,
        "Give a reason to change priority",
    )
    assert ledger.change_priority(job, "3", actor=SUPERVISOR, note="back").message == f"Job {job}: priority 2 → 3"


def test_hold_blocks_quantity_entries(ledger, queries, make_job):
    job = make_job(qty=30, release=20)
    advance(ledger, job, "DISP", 5)
    assert ledger.hold(job, actor=SUPERVISOR, note="customer query").message == f"Job {job} is on hold"
    assert "on hold" in queries.job_card(job).flags
    refused(
        queries, job, lambda: ledger.hold(job, actor=PLANNER, note="again"), message=f"Job {job} is already on hold"
    )
    held = HELD.format(job)
    refused(queries, job, lambda: ledger.complete(job, "CUT", 1, actor=at("CUT-1", "C1")), message=held)
    refused(queries, job, lambda: ledger.reject(job, "CUT", 1, "DIM", actor=at("CUT-1", "C1")), message=held)
    refused(queries, job, lambda: ledger.start(job, "CUT", actor=at("CUT-1", "C1")), message=held)
    refused(queries, job, lambda: ledger.release(job, 5, actor=STORES), message=held)
    refused(queries, job, lambda: ledger.dispatch(job, 1, actor=at("DISP-1")), message=held)
    assert ledger.unhold(job, actor=PLANNER, note="cleared").message == f"Job {job} is off hold"
    refused(
        queries, job, lambda: ledger.unhold(job, actor=SUPERVISOR, note="again"), message=f"Job {job} is not on hold"
    )
    refused(
        queries,
        job,
        lambda: ledger.hold(job, actor=SUPERVISOR, note=""),
        InputError,
        "Give a reason to put a job on hold",
    )
    ledger.complete(job, "CUT", 1, actor=at("CUT-1", "C1"))
    assert "on hold" not in queries.job_card(job).flags
    assert verify_store() == []


def test_note_is_stored_cleaned(ledger, queries, make_job):
    job = make_job(release=20)
    receipt = ledger.add_note(
        job, "\x1b[31mweld\x1b[0m gap\x9b 2\x1b]0;pwned\x07mm\n", actor=at("WELD-1"), stage="WELD"
    )
    assert receipt.message == f"Note added to job {job}"
    latest = queries.history(job)[0]
    assert (latest["kind"], latest["note"], latest["step"], latest["terminal"]) == (
        "note",
        "weld gap 2mm",
        "Welding",
        "WELD-1",
    )
    refused(queries, job, lambda: ledger.add_note(job, " \t ", actor=at("WELD-1")), InputError, "The note is empty")
    only_controls = (
        "The note has only control characters (an escape sequence or the like), which are never stored; "
        "write it in words"
    )
    refused(queries, job, lambda: ledger.add_note(job, " \x1b[0m \x00", actor=at("WELD-1")), InputError, only_controls)
    # Any entry's note: what was typed is never dropped without a word.
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "CUT", 1, actor=SUPERVISOR, note="\x1b[2J"),
        InputError,
        only_controls,
    )
    refused(
        queries,
        job,
        lambda: ledger.add_note(job, "x", actor=SUPERVISOR, stage="ZZZ"),
        message=f"Job {job} has no ZZZ step (its route: {' → '.join(STANDARD)})",
    )


# -- input checks through the ledger -----------------------------------------------------------


@pytest.mark.parametrize(
    "qty, message",
    [
        ("٣", "Quantity must be typed with the digits 0-9"),
        ("1_0", "Quantity must be a whole number made of the digits 0-9 only, like 12 (not '1_0')"),
        ("1e3", "Quantity must be a whole number made of the digits 0-9 only, like 12 (not '1e3')"),
        ("-5", "Quantity cannot be negative"),
        (-5, "Quantity cannot be negative"),
        (str(2**63), "Quantity 9223372036854775808 is too large (at most 1000000)"),
        (2**63, "Quantity 9223372036854775808 is too large (at most 1000000)"),
        ("", "Enter a quantity"),
        (None, "Enter a quantity"),
        ("0", "Quantity must be at least 1"),
    ],
)
def test_bad_quantities_are_refused(ledger, queries, make_job, qty, message):
    job = make_job(release=20)
    refused(queries, job, lambda: ledger.complete(job, "CUT", qty, actor=at("CUT-1", "C1")), InputError, message)
    planned = make_job()
    refused(queries, planned, lambda: ledger.release(planned, qty, actor=STORES), InputError, message)


def test_markup_job_number_is_refused(ledger, queries, make_job):
    job = make_job(release=5)
    refused(
        queries,
        job,
        lambda: ledger.complete("[red]X", "CUT", 1, actor=SUPERVISOR),
        InputError,
        "Job number '[red]X' has characters that are not allowed (only letters, digits, - _ / .)",
    )


# -- waiting time ----------------------------------------------------------------------------


def test_waiting_since_follows_pending(ledger, queries, make_job, clock):
    job = make_job(qty=20)
    assert queries.job_card(job).step("CUT").waiting_since is None
    released_at = clock.now
    ledger.release(job, 10, actor=SUPERVISOR)
    assert queries.job_card(job).step("CUT").waiting_since == released_at
    clock.advance(minutes=30)
    ledger.release(job, 10, actor=SUPERVISOR)  # pending rose, but was above 0 already
    card = queries.job_card(job)
    assert card.step("CUT").waiting_since == released_at
    assert card.step("CUT").waiting_seconds == 30 * 60
    first_move = clock.now
    ledger.complete(job, "CUT", 15, actor=SUPERVISOR)
    assert queries.job_card(job).step("CUT").waiting_since == released_at
    assert queries.job_card(job).step("CNC").waiting_since == first_move
    clock.advance(minutes=10)
    ledger.complete(job, "CUT", 5, actor=SUPERVISOR)
    card = queries.job_card(job)
    assert (card.step("CUT").pending, card.step("CUT").waiting_since) == (0, None)
    assert (card.step("CNC").pending, card.step("CNC").waiting_since) == (20, first_move)
    # Rework brings quantity back to an emptied step: its clock starts again.
    ledger.reject(job, "CNC", 1, "DIM", actor=SUPERVISOR)
    clock.advance(minutes=5)
    ledger.rework(job, "CNC", 1, "CUT", actor=SUPERVISOR)
    card = queries.job_card(job)
    assert (card.step("CUT").pending, card.step("CUT").waiting_since) == (1, clock.now)
    assert card.step("CUT").state == "waiting"
    assert verify_store() == []


# -- idempotency -----------------------------------------------------------------------------


def test_same_uuid_twice_writes_once(ledger, queries, make_job):
    job = make_job(release=20)
    entry = new_uuid()
    first = ledger.complete(job, "CUT", 5, actor=at("CUT-1", "C1"), uuid=entry)
    events = event_count()
    again = ledger.complete(job, "CUT", 5, actor=at("CUT-1", "C1"), uuid=entry)
    assert again.duplicate and not first.duplicate
    assert (again.event_id, again.uuid, again.kind, again.job, again.stage, again.qty) == (
        first.event_id,
        entry,
        "complete",
        job,
        "CUT",
        5,
    )
    # Reads as good news at the machine: the entry is saved, once.
    assert again.message == "Saved (it had already reached the store): complete 5 at Cutting"
    assert event_count() == events
    assert m.Event.select().where(m.Event.uuid == entry).count() == 1
    assert queries.job_card(job).step("CNC").pending == 5


def reused(entry: str, what_differs: str) -> str:
    return f"This entry id ({entry}) was already used for a different entry ({what_differs})"


def test_same_uuid_for_another_entry_is_refused(ledger, queries, make_job):
    job = make_job(release=20)
    other = make_job(release=20)
    entry = new_uuid()
    ledger.complete(job, "CUT", 5, actor=SUPERVISOR, uuid=entry)
    refused(
        queries,
        job,
        lambda: ledger.reject(job, "CUT", 5, "DIM", actor=SUPERVISOR, uuid=entry),
        message=reused(entry, "kind was complete, now reject; reason was none, now DIM"),
    )
    refused(
        queries,
        other,
        lambda: ledger.complete(other, "CUT", 5, actor=SUPERVISOR, uuid=entry),
        message=reused(entry, f"job was {job}, now {other}"),
    )
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "CUT", 1, actor=SUPERVISOR, uuid="not-a-uuid"),
        InputError,
        "Entry id 'not-a-uuid' is not a UUID",
    )


def test_same_uuid_is_the_same_entry_only_if_every_detail_matches(ledger, queries, make_job):
    """DESIGN §9: same UUID and same entry -> the first result; same UUID, different entry -> refused."""
    job = make_job(release=20)
    advance(ledger, job, "DISP", 10)

    def check(first, same, others):
        entry = new_uuid()
        receipt = first(entry)
        again = same(entry)
        assert again.duplicate and again.event_id == receipt.event_id
        for other, what_differs in others:
            refused(queries, job, lambda: other(entry), message=reused(entry, what_differs))
        return receipt

    check(
        lambda u: ledger.reject(job, "CUT", 2, "DIM", actor=SUPERVISOR, uuid=u, note="edge"),
        lambda u: ledger.reject(job, "CUT", "2", "DIM", actor=SUPERVISOR, uuid=u, note=" edge "),
        [
            (lambda u: ledger.reject(job, "CUT", 3, "DIM", actor=SUPERVISOR, uuid=u, note="edge"), "qty was 2, now 3"),
            (
                lambda u: ledger.reject(job, "CUT", 2, "HOLE", actor=SUPERVISOR, uuid=u, note="edge"),
                "reason was DIM, now HOLE",
            ),
            (
                lambda u: ledger.reject(job, "CNC", 2, "DIM", actor=SUPERVISOR, uuid=u, note="edge"),
                "step was CUT, now CNC",
            ),
            (
                lambda u: ledger.reject(job, "CUT", 2, "DIM", actor=SUPERVISOR, uuid=u, note="burr at the edge"),
                "note was 'edge', now 'burr at the edge'",
            ),
            (
                lambda u: ledger.reject(job, "CUT", 2, "DIM", actor=at("CUT-1", "C1"), uuid=u, note="edge"),
                "badge was S1, now C1",
            ),
            (
                lambda u: ledger.scrap(job, "CUT", 2, "DIM", actor=SUPERVISOR, uuid=u, note="edge"),
                "kind was reject, now scrap",
            ),
        ],
    )
    check(
        lambda u: ledger.rework(job, "CUT", 1, actor=SUPERVISOR, uuid=u),
        lambda u: ledger.rework(job, "CUT", 1, "CUT", actor=SUPERVISOR, uuid=u),
        [(lambda u: ledger.rework(job, "CUT", 1, "CNC", actor=SUPERVISOR, uuid=u), "rework step was CUT, now CNC")],
    )
    check(
        lambda u: ledger.material_issue(job, "PLATE-8", 5, actor=STORES, uuid=u),
        lambda u: ledger.material_issue(job, "plate-8", 5, actor=STORES, uuid=u),
        [(lambda u: ledger.material_issue(job, "BOLT-M12", 5, actor=STORES, uuid=u), "item was PLATE-8, now BOLT-M12")],
    )
    dispatched = check(
        lambda u: ledger.dispatch(job, 3, actor=STORES, uuid=u, reference="DN-1"),
        lambda u: ledger.dispatch(job, 3, actor=STORES, uuid=u, reference=" DN-1 "),
        [
            (lambda u: ledger.dispatch(job, 3, actor=STORES, uuid=u, reference="DN-2"), "reference was DN-1, now DN-2"),
            (lambda u: ledger.dispatch(job, 3, actor=STORES, uuid=u), "reference was DN-1, now none"),
            (lambda u: ledger.dispatch(job, 2, actor=STORES, uuid=u, reference="DN-1"), "qty was 3, now 2"),
        ],
    )
    previous = m.Event.select(m.Event.uuid).where(m.Event.id == dispatched.event_id - 1).scalar()
    check(
        lambda u: ledger.void(dispatched.uuid, actor=SUPERVISOR, note="typo", uuid=u),
        lambda u: ledger.void(str(dispatched.event_id), actor=SUPERVISOR, note="typo", uuid=u),
        [
            (
                lambda u: ledger.void(dispatched.uuid, actor=SUPERVISOR, note="other", uuid=u),
                "note was 'typo', now 'other'",
            ),
            (
                lambda u: ledger.void(str(dispatched.event_id - 1), actor=SUPERVISOR, note="typo", uuid=u),
                f"voided entry was {dispatched.uuid}, now {previous}",
            ),
        ],
    )
    assert verify_store() == []


# -- roles and terminals (DESIGN §5) ------------------------------------------------------------


def test_operator_at_another_stages_terminal_is_refused(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "WELD", 20)
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "WELD", 1, actor=at("CUT-1", "C1")),
        PermissionDenied,
        "Terminal CUT-1 records Cutting only; it cannot record at Welding",
    )
    refused(
        queries,
        job,
        lambda: ledger.delay(job, "WELD", "MAT", actor=at("CUT-1", "C1")),
        PermissionDenied,
        "Terminal CUT-1 records Cutting only; it cannot record at Welding",
    )
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "WELD", 1, actor=at("NOPE-1")),
        PermissionDenied,
        "Unknown terminal NOPE-1",
    )
    # Any operator may record at any terminal of the stage.
    ledger.complete(job, "WELD", 1, actor=at("WELD-2", "C1"))


def test_operator_without_terminal_is_refused(ledger, queries, make_job):
    job = make_job(release=20)
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "CUT", 1, actor=Actor("C1")),
        PermissionDenied,
        "Carl Cutter (operator) must record at a terminal",
    )
    refused(
        queries,
        job,
        lambda: ledger.material_issue(job, "PLATE-8", 1, actor=Actor("ST1")),
        PermissionDenied,
        "Stacy Stores (stores) must record at a terminal",
    )


def test_viewer_is_refused_everything(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "DISP", 5)
    first = m.Event.select().order_by(m.Event.id).first().uuid
    calls = {
        "release": lambda: ledger.release(job, 1, actor=VIEWER),
        "start": lambda: ledger.start(job, "CUT", actor=VIEWER),
        "complete": lambda: ledger.complete(job, "CUT", 1, actor=VIEWER),
        "reject": lambda: ledger.reject(job, "CUT", 1, "DIM", actor=VIEWER),
        "delay": lambda: ledger.delay(job, "CUT", "MAT", actor=VIEWER),
        "qc_pass": lambda: ledger.qc_pass(job, "FQC", 1, actor=VIEWER),
        "material_issue": lambda: ledger.material_issue(job, "PLATE-8", 1, actor=VIEWER),
        "dispatch": lambda: ledger.dispatch(job, 1, actor=VIEWER),
        "priority": lambda: ledger.change_priority(job, 1, actor=VIEWER, note="x"),
        "hold": lambda: ledger.hold(job, actor=VIEWER, note="x"),
        "note": lambda: ledger.add_note(job, "x", actor=VIEWER),
        "void": lambda: ledger.void(first, actor=VIEWER, note="x"),
        "void without terminal": lambda: ledger.void(first, actor=Actor("V1"), note="x"),
    }
    for name, call in calls.items():
        message = refused(queries, job, call, PermissionDenied)
        assert message.startswith("Vic Viewer (viewer) may not "), (name, message)


def test_qc_inspector_cannot_complete_work_steps(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "FQC", 5)
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "CUT", 1, actor=QC),
        PermissionDenied,
        "Quinn Inspector (qc) may not complete",
    )
    refused(
        queries,
        job,
        lambda: ledger.qc_pass(job, "PACK", 1, actor=QC),
        PermissionDenied,
        "Terminal QC-1 records Final QC only; it cannot record at Packing",
    )
    ledger.qc_pass(job, "FQC", 5, actor=QC)


def test_stores_issue_material_operators_cannot(ledger, queries, make_job):
    job = make_job(release=20)
    refused(
        queries,
        job,
        lambda: ledger.material_issue(job, "PLATE-8", 1, actor=at("CUT-1", "C1")),
        PermissionDenied,
        "Carl Cutter (operator) may not issue material",
    )
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "CUT", 1, actor=STORES),
        PermissionDenied,
        "Stacy Stores (stores) may not complete",
    )
    ledger.material_issue(job, "PLATE-8", 1, actor=STORES)


def test_unknown_and_disabled_badges_are_refused(ledger, queries, make_job):
    job = make_job(release=20)
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "CUT", 1, actor=at("CUT-1", "ZZ9")),
        PermissionDenied,
        "Unknown badge ZZ9",
    )
    ledger.set_operator_active("C1", False)
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "CUT", 1, actor=at("CUT-1", "C1")),
        PermissionDenied,
        "Badge C1 (Carl Cutter) is disabled",
    )
    ledger.set_operator_active("C1", True)
    ledger.complete(job, "CUT", 1, actor=at("CUT-1", "C1"))


def test_planner_changes_priority_operator_cannot(ledger, queries, make_job):
    job = make_job(release=20)
    refused(
        queries,
        job,
        lambda: ledger.change_priority(job, 1, actor=at("CUT-1", "C1"), note="rush"),
        PermissionDenied,
        "Carl Cutter (operator) may not change priority",
    )
    refused(
        queries,
        job,
        lambda: ledger.complete(job, "CUT", 1, actor=PLANNER),
        PermissionDenied,
        "Pat Planner (planner) may not complete",
    )
    ledger.change_priority(job, 1, actor=PLANNER, note="rush")
    assert queries.job_card(job).priority == 1


def test_every_entry_names_operator_and_terminal(ledger, queries, make_job, clock):
    job = make_job(release=20)
    actor = Actor("C1", terminal="CUT-1", login_user="carl\x1b[2J", login_key="SHA256:abc")
    ledger.complete(job, "CUT", 2, actor=actor)
    row = queries.history(job)[0]
    assert (row["badge"], row["operator"], row["terminal"], row["login_user"]) == ("C1", "Carl Cutter", "CUT-1", "carl")
    assert row["committed_at"] == clock.now


# -- a job's creation is an entry too ---------------------------------------------------------


def test_a_jobs_creation_is_an_entry_that_moves_nothing(ledger, queries, make_job, clock):
    from floorterm import board_feed
    from floorterm.ledger import SYSTEM_BADGE, JobSpec

    seen = m.Event.select(m.Event.id).order_by(m.Event.id.desc()).limit(1).scalar() or 0
    assert ledger.create_jobs(
        [JobSpec("J-NEW", 12, "standard", source="erp.csv", line=7)],
        actor=Actor("P1", login_user="pat"),
        note="weekly plan",
    ) == (1, 0)
    (created,) = queries.history("J-NEW")
    assert (
        created["kind"],
        created["qty"],
        created["badge"],
        created["login_user"],
        created["committed_at"],
        created["note"],
    ) == ("job_created", 12, "P1", "pat", clock.now, "Imported from erp.csv line 7; weekly plan")
    # A board that saw everything up to before sees the new job, by its creation entry.
    assert board_feed.changed_jobs(seen) == [("J-NEW", created["id"])]
    card = queries.job_card("J-NEW")
    assert (card.status, card.released, sum(s.pending for s in card.steps)) == ("planned", 0, 0)
    # Not an entry anyone can record, void or undo.
    refused(queries, "J-NEW", lambda: ledger.record("job_created", "J-NEW", actor=SUPERVISOR), InputError)
    refused(
        queries,
        "J-NEW",
        lambda: ledger.void(created["uuid"], actor=SUPERVISOR, note="typo"),
        message="A job's creation cannot be voided; put the job on hold instead",
    )
    assert queries.last_entry("P1") is None
    # Only planners and supervisors create jobs; without a badge, the store's own actor does.
    with pytest.raises(PermissionDenied, match=r"Wanda Welder \(operator\) may not create jobs"):
        ledger.create_jobs([JobSpec("J-W", 1, "standard")], actor=at("WELD-1"))
    make_job("J-SYS", release=3)
    assert [(r["kind"], r["badge"]) for r in queries.history("J-SYS")] == [
        ("release", "S1"),
        ("job_created", SYSTEM_BADGE),
    ]
    assert not m.Operator.get(m.Operator.badge == SYSTEM_BADGE).active
    assert verify_store() == []
