"""Delays that are not at a pending step (issue 10, item 3): a delay of the whole job (no step),
a delay at a step nothing has reached yet, and where they show: the card, the board's lists,
delay reports, `jobs show --json`, the CLI and the kiosk. Both store backends."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import SUPERVISOR, at, refused
from floorterm import models as m
from floorterm.cli import main
from floorterm.reports import JOB_ROW, Reports
from floorterm.store import Store
from floorterm.verify import verify_store
from test_kiosk_helpers import (  # noqa: F401 (fixtures)
    events_of,
    kiosk_url,
    kledger,
    kstore,
    new_job,
    open_kiosk,
)

HOUR = 3600.0
REPO_CONFIG = str(__import__("pathlib").Path(__file__).resolve().parent.parent / "config.toml")


@pytest.fixture
def reports(config, clock):
    return Reports(config, clock=clock)


# -- the ledger rule -----------------------------------------------------------------------------


def test_job_level_delay_before_release_is_information_and_time(ledger, queries, make_job, clock):
    job = make_job()  # planned: nothing released, nothing pending anywhere
    receipt = ledger.delay(job, None, "DRW", actor=SUPERVISOR, note="rev C drawing awaited")
    assert receipt.message == f"Job {job} delayed (Drawing pending) — the whole job; entries at steps go on"
    assert receipt.stage is None
    card = queries.job_card(job)
    assert (card.job_delay.reason, card.job_delay.label, card.job_delay.since) == ("DRW", "Drawing pending", clock.now)
    assert card.delay == card.job_delay  # no step delay: the card's delay is the job's
    assert "delayed" in card.flags
    assert all(s.open_delay is None for s in card.steps)
    [entry] = [e for e in queries.history(job) if e["kind"] == "delay"]
    assert (entry["step"], entry["reason"], entry["note"]) == (None, "DRW", "rev C drawing awaited")
    refused(
        queries,
        job,
        lambda: ledger.delay(job, None, "MAT", actor=SUPERVISOR),
        message=f"Job {job} already has an open delay (DRW); resume it first",
    )
    # It stops no entry: release, start and complete go on (a hold is what stops work).
    clock.advance(minutes=30)
    ledger.release(job, 20, actor=SUPERVISOR)
    ledger.start(job, "CUT", actor=at("CUT-1", "C1"))
    ledger.complete(job, "CUT", 5, actor=at("CUT-1", "C1"))
    assert queries.job_card(job).job_delay is not None
    clock.advance(hours=1)
    receipt = ledger.resume(job, None, actor=SUPERVISOR, note="drawing in")
    assert receipt.message == f"Job {job} resumed after 1 h 30 min (Drawing pending)"
    card = queries.job_card(job)
    assert (card.job_delay, card.delay, "delayed" in card.flags) == (None, None, False)
    refused(
        queries,
        job,
        lambda: ledger.resume(job, None, actor=SUPERVISOR),
        message=f"Job {job} has no open job-level delay to resume",
    )
    assert verify_store() == []


def test_job_and_step_delays_are_separate(ledger, queries, make_job):
    job = make_job(release=20)
    ledger.delay(job, "CUT", "MACH", actor=SUPERVISOR)
    refused(
        queries,
        job,
        lambda: ledger.resume(job, None, actor=SUPERVISOR),
        message=f"Job {job} has no open job-level delay to resume (delayed at Cutting: resume it there)",
    )
    ledger.delay(job, None, "CUST", actor=SUPERVISOR)
    card = queries.job_card(job)
    assert card.step("CUT").open_delay.reason == "MACH" and card.job_delay.reason == "CUST"
    assert card.delay.reason == "MACH"  # a step's delay first, as before
    ledger.resume(job, "CUT", actor=SUPERVISOR)
    card = queries.job_card(job)
    assert (card.step("CUT").open_delay, card.job_delay.reason, card.delay.reason) == (None, "CUST", "CUST")
    assert verify_store() == []


def test_a_step_with_nothing_pending_yet_can_be_delayed(ledger, queries, make_job):
    job = make_job()  # J-24118: "Nothing is pending at Cutting; there is nothing to delay"
    receipt = ledger.delay(job, "CUT", "MAT", actor=SUPERVISOR)
    cut = queries.job_card(job).step("CUT")
    assert receipt.message == f"{cut.name} delayed (Material shortage)"
    assert (cut.pending, cut.state, cut.open_delay.reason) == (0, "delayed", "MAT")
    # At a step of the route the job has not reached, by the operator there.
    ledger.delay(job, "WELD", "TOOL", actor=at("WELD-1"))
    assert queries.job_card(job).step("WELD").open_delay.reason == "TOOL"
    # A step delay still stops the start there until resumed.
    ledger.release(job, 20, actor=SUPERVISOR)
    refused(
        queries,
        job,
        lambda: ledger.start(job, "CUT", actor=SUPERVISOR),
        message=f"{cut.name} is delayed; resume it before starting",
    )
    ledger.resume(job, "CUT", actor=SUPERVISOR)
    ledger.start(job, "CUT", actor=SUPERVISOR)
    assert verify_store() == []


def test_a_finished_job_cannot_be_delayed_and_bad_input_changes_nothing(ledger, queries, make_job):
    job = make_job(qty=2, release=2)
    for code in ("CUT", "CNC", "BEND", "WELD", "ASSY", "PAINT", "FQC", "PACK"):
        (ledger.qc_pass if code == "FQC" else ledger.complete)(job, code, 2, actor=SUPERVISOR)
    ledger.dispatch(job, 2, actor=SUPERVISOR)
    refused(
        queries,
        job,
        lambda: ledger.delay(job, None, "MAT", actor=SUPERVISOR),
        message=f"Job {job} is finished (dispatched or scrapped); there is nothing to delay",
    )
    other = make_job()
    refused(queries, other, lambda: ledger.delay(other, None, "NOPE", actor=SUPERVISOR))
    refused(queries, other, lambda: ledger.delay(other, None, None, actor=SUPERVISOR), error=Exception)
    refused(queries, other, lambda: ledger.delay(other, None, "MAT", actor=at("BOARD-1", "V1")), error=Exception)


def test_voiding_a_job_level_delay_or_its_resume(ledger, queries, make_job, clock):
    job = make_job(release=5)
    first = ledger.delay(job, None, "CUST", actor=SUPERVISOR)
    ledger.void(first.uuid, actor=SUPERVISOR, note="wrong job")
    assert queries.job_card(job).job_delay is None
    ledger.delay(job, None, "CUST", actor=SUPERVISOR)
    clock.advance(minutes=10)
    resumed = ledger.resume(job, None, actor=SUPERVISOR)
    ledger.void(resumed.uuid, actor=SUPERVISOR, note="not approved yet")
    card = queries.job_card(job)
    assert (card.job_delay.reason, card.job_delay.since) == ("CUST", clock.now - dt.timedelta(minutes=10))
    assert verify_store() == []
    m.Job.update(delay_reason=None).where(m.Job.number == job).execute()  # a damaged balance
    assert f"{job}: delay_reason stored None, ledger says 'CUST'" in verify_store()


# -- the board's lists and the delay reports ---------------------------------------------------


def test_board_delayed_list_and_material_shortage(ledger, make_job, reports, clock):
    drawing = make_job("J-24118")
    ledger.delay(drawing, None, "DRW", actor=SUPERVISOR)
    waiting = make_job("J-24076")  # not released, stopped by an open material-shortage delay
    ledger.delay(waiting, None, "MAT", actor=SUPERVISOR)
    at_cut = make_job("J-24077", release=4, materials=())
    ledger.delay(at_cut, "CUT", "MAT", actor=SUPERVISOR)
    # J-24044: every unit still open is ready for dispatch; a short bill-of-materials line
    # must not count it as blocked.
    done = make_job("J-24044", qty=4, release=4)
    for code in ("CUT", "CNC", "BEND", "WELD", "ASSY", "PAINT", "FQC", "PACK"):
        (ledger.qc_pass if code == "FQC" else ledger.complete)(done, code, 4, actor=SUPERVISOR)
    short = make_job("J-24045", release=2)  # released, material short, units still to build
    clock.advance(minutes=20)
    ex = reports.exceptions()
    delayed = {(i.number, i.stage, i.stage_name, i.reason) for i in ex.delayed}
    assert (drawing, "", JOB_ROW, "DRW") in delayed and (waiting, "", JOB_ROW, "MAT") in delayed
    assert (at_cut, "CUT", reports.stage_name("CUT"), "MAT") in delayed
    blocked = {i.number: i for i in ex.material_short}
    assert set(blocked) == {waiting, at_cut, short}
    assert (blocked[waiting].lines, blocked[waiting].delay_label, blocked[waiting].delay_stage_name) == (
        (),
        "Material shortage",
        JOB_ROW,
    )
    assert blocked[waiting].units == 20 and blocked[waiting].delay_seconds == 20 * 60
    assert blocked[at_cut].delay_stage_name == reports.stage_name("CUT")
    assert blocked[short].delay_label is None and [line.item for line in blocked[short].lines] == [
        "PLATE-8",
        "BOLT-M12",
    ]
    assert blocked[short].units == 20  # 2 released and 18 not yet: none of them built
    board = reports.board()
    row = next(r for r in board.wip.rows if r.number == drawing)
    assert (row.job_delay, row.job_delay_seconds, "delayed" in row.flags) == ("Drawing pending", 20 * 60, True)
    headers, rows = reports.as_rows("exceptions")
    assert ["delayed", drawing, JOB_ROW, "", "Drawing pending for 20 min"] in rows
    assert any(
        r[0] == "material_short" and r[1] == waiting and "delayed (Material shortage) at (job)" in r[4] for r in rows
    )


def test_job_level_delays_count_in_delay_reports_and_flow(ledger, make_job, reports, clock):
    job = make_job("D-1", release=5, materials=())
    other = make_job("D-2", release=5, materials=())
    ledger.delay(job, None, "CUST", actor=SUPERVISOR)  # 2 h, closed
    ledger.delay(other, "CUT", "CUST", actor=SUPERVISOR)  # 1 h, closed: a step-level one beside it
    clock.advance(hours=1)
    ledger.resume(other, "CUT", actor=SUPERVISOR)
    clock.advance(hours=1)
    ledger.resume(job, None, actor=SUPERVISOR)
    ledger.delay(other, None, "DRW", actor=SUPERVISOR)  # still open: 30 min by now
    clock.advance(minutes=30)
    since, until = reports.period("today")
    totals = [(d.reason, d.count, d.seconds) for d in reports.delays_by_reason(since, until)]
    assert totals == [("CUST", 2, 3 * HOUR), ("DRW", 1, 0.5 * HOUR)]
    flow = reports.flow(since, until)
    hours = {s.stage: s.delay_hours for s in flow.stages}
    assert hours[JOB_ROW] == pytest.approx(2.5) and hours["CUT"] == pytest.approx(1.0)
    assert flow.stages[-1].stage == JOB_ROW and flow.stages[-1].name == JOB_ROW
    assert {(d.reason, d.count) for d in flow.delays} == {("CUST", 2), ("DRW", 1)}


# -- the CLI -------------------------------------------------------------------------------------


def test_cli_record_delay_without_step_and_jobs_show_json(ledger, make_job, store_url, capsys, clock):
    job = make_job(release=5)
    cli = ["--config", REPO_CONFIG, "--db", store_url]
    assert main([*cli, "record", "delay", job, "--reason", "CUST", "--operator", "S1", "--note", "call Tue"]) == 0
    assert capsys.readouterr().out == (
        f"Job {job} delayed (Customer approval pending) — the whole job; entries at steps go on\n"
    )
    # At a terminal the default is the terminal's step; --whole-job says the job.
    assert main([*cli, "record", "delay", job, "--reason", "TOOL", "--operator", "W1", "--terminal", "WELD-1"]) == 0
    assert "Welding" in capsys.readouterr().out

    def entries() -> int:
        with Store.open(store_url):
            return m.Event.select().count()

    before = entries()
    code = main([*cli, "record", "delay", job, "--reason", "MAT", "--step", "CUT", "--whole-job", "--operator", "S1"])
    assert code != 0 and "Give --step or --whole-job, not both" in capsys.readouterr().err
    assert entries() == before
    assert main([*cli, "jobs", "show", job, "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["job_delay"]["reason"] == "CUST" and card["job_delay"]["label"] == "Customer approval pending"
    assert card["delay"]["reason"] == "TOOL"  # the step's first
    assert "delayed" in card["flags"]
    assert main([*cli, "record", "resume", job, "--whole-job", "--operator", "W1", "--terminal", "WELD-1"]) == 0
    assert capsys.readouterr().out.startswith(f"Job {job} resumed after 0 s")
    assert main([*cli, "jobs", "history", job, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["kind"], r["step"], r["note"]) for r in rows if r["kind"] in ("delay", "resume")][-1] == (
        "delay",
        None,
        "call Tue",
    )


# -- the kiosk -----------------------------------------------------------------------------------


async def test_kiosk_delays_a_step_nothing_has_reached_and_shows_a_job_delay(open_kiosk, new_job, kledger, queries):
    job = new_job(release=20)  # all 20 still at Cutting: nothing pending at Welding
    kledger.delay(job, None, "CUST", actor=SUPERVISOR)
    async with open_kiosk() as k:
        await k.scan("W1")
        await k.scan(job)
        text = k.flat()
        assert "CANNOT RECORD HERE" in text and "nothing to record here but a delay" in text
        assert "JOB DELAYED Customer approval pending" in text and "whole job, entries go on" in text
        assert "F3 * Delay" in text
        await k.press("*")
        assert "Reason for delay" in k.flat()
        await k.press("5", "enter")  # QCH, the fifth of ten delay reasons
        assert "Welding delayed (QC hold)" in k.flat()
    [delay] = [e for e in events_of(queries, job, "delay") if e["step"]]
    assert (delay["step"], delay["reason"], delay["terminal"]) == ("Welding", "QCH", "WELD-1")
