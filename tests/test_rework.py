"""Rework outcome (issue 10, item 4): where reworked units went — sent back, passed after
rework, still on their way, failed again — on the card, the board's data, `jobs show --json`,
`db verify` and the kiosk; notes on every kind of entry in history; the schema 7 upgrade of a
store that already holds rework. Both store backends."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import QC, SUPERVISOR
from floorterm import models as m
from floorterm.cli import main
from floorterm.reports import Reports
from floorterm.store import MIGRATIONS_DIR, Store
from floorterm.verify import verify_store
from test_kiosk_helpers import (  # noqa: F401 (fixtures)
    job_at,
    kiosk_url,
    kledger,
    kstore,
    new_job,
    open_kiosk,
)

CONFIG = str(Path(__file__).resolve().parent.parent / "config.toml")
BEFORE_FQC = ("CUT", "CNC", "BEND", "WELD", "ASSY", "PAINT")
MIGRATION = "0007_job_delay_rework_lane"


def at_qc(ledger, make_job, qty: int, **fields) -> str:
    """A standard-routing job with `qty` released and all of it waiting at Final QC."""
    job = make_job(qty=qty, release=qty, **fields)
    for code in BEFORE_FQC:
        ledger.complete(job, code, qty, actor=SUPERVISOR)
    return job


def lane(card, stage: str) -> tuple:
    s = card.step(stage)
    return (s.rework_in, s.rework_here, s.rework_failed, s.passed_first_time, s.passed_after_rework)


def test_the_reworked_unit_that_passed_is_said(ledger, queries, make_job):
    job = at_qc(ledger, make_job, 4)
    ledger.qc_pass(job, "FQC", 3, actor=QC)
    ledger.qc_fail(job, "FQC", 1, "VIS", actor=QC)
    assert queries.job_card(job).rework is None  # failed, not yet sent back
    ledger.rework(job, "FQC", 1, "PAINT", actor=QC, note="recoat the edge")
    card = queries.job_card(job)
    assert card.rework == "rework: 1 sent back → 0 passed, 1 at Painting"
    assert lane(card, "PAINT") == (1, 1, 0, None, None)
    assert "rework pending" in card.flags
    ledger.complete(job, "PAINT", 1, actor=SUPERVISOR)
    assert queries.job_card(job).rework == "rework: 1 sent back → 0 passed, 1 at Final QC"
    ledger.qc_pass(job, "FQC", 1, actor=QC, note="edge ok now")
    card = queries.job_card(job)
    assert card.rework == "rework: 1 sent back → 1 passed"
    assert lane(card, "FQC") == (0, 0, 0, 3, 1)
    assert card.qc == "Final QC: 4 passed (1 after rework), 1 failed"
    assert "rework pending" not in card.flags
    assert verify_store() == []


def test_the_issue_example_and_units_that_fail_again(ledger, queries, make_job):
    job = at_qc(ledger, make_job, 10)
    ledger.qc_pass(job, "FQC", 7, actor=QC)
    ledger.qc_fail(job, "FQC", 3, "VIS", actor=QC)
    ledger.rework(job, "FQC", 3, "PAINT", actor=QC)
    ledger.complete(job, "PAINT", 2, actor=SUPERVISOR)
    ledger.qc_pass(job, "FQC", 2, actor=QC)
    assert queries.job_card(job).rework == "rework: 3 sent back → 2 passed, 1 at Painting"
    ledger.complete(job, "PAINT", 1, actor=SUPERVISOR)
    ledger.qc_fail(job, "FQC", 1, "VIS", actor=QC)
    card = queries.job_card(job)
    assert card.rework == "rework: 3 sent back → 2 passed, 1 failed again"
    assert lane(card, "FQC") == (0, 0, 1, 7, 2)
    ledger.rework(job, "FQC", 1, "FQC", actor=QC)  # re-inspect it here: sent back a second time
    ledger.qc_pass(job, "FQC", 1, actor=QC)
    card = queries.job_card(job)
    assert card.rework == "rework: 4 sent back → 3 passed, 1 failed again"
    assert card.step("FQC").passed_first_time == 7 and card.step("FQC").passed_after_rework == 3
    assert verify_store() == []


def test_reworked_units_go_first_among_others_pending(ledger, queries, make_job):
    job = make_job(qty=10, release=10)
    for code in BEFORE_FQC[:-1]:
        ledger.complete(job, code, 10, actor=SUPERVISOR)
    ledger.complete(job, "PAINT", 4, actor=SUPERVISOR)  # 6 still at Painting
    ledger.qc_fail(job, "FQC", 1, "VIS", actor=QC)
    ledger.rework(job, "FQC", 1, "PAINT", actor=QC)  # back among the 6
    ledger.complete(job, "PAINT", 1, actor=SUPERVISOR)  # the reworked one is dealt with first
    ledger.qc_pass(job, "FQC", 4, actor=QC)  # so one of these 4 passes after rework
    card = queries.job_card(job)
    assert (card.step("FQC").passed_first_time, card.step("FQC").passed_after_rework) == (3, 1)
    assert card.rework == "rework: 1 sent back → 1 passed"


def test_rework_after_qc_is_finished_when_it_leaves_the_last_work_step(ledger, queries, make_job):
    job = at_qc(ledger, make_job, 2)
    ledger.qc_pass(job, "FQC", 2, actor=QC)
    ledger.reject(job, "PACK", 1, "SCR", actor=SUPERVISOR)
    ledger.rework(job, "PACK", 1, actor=SUPERVISOR)
    assert queries.job_card(job).rework == "rework: 1 sent back → 0 passed, 1 at Packing"
    ledger.complete(job, "PACK", 2, actor=SUPERVISOR)
    card = queries.job_card(job)
    assert card.rework == "rework: 1 sent back → 1 finished"
    pack = card.step("PACK")
    assert (pack.finished_after_rework, pack.passed_after_rework, pack.passed_first_time) == (1, None, None)
    assert verify_store() == []


def test_voiding_moves_the_lane_back_and_verify_checks_it(ledger, queries, make_job):
    job = at_qc(ledger, make_job, 4)
    ledger.qc_fail(job, "FQC", 2, "VIS", actor=QC)
    ledger.rework(job, "FQC", 2, "PAINT", actor=QC)
    ledger.complete(job, "PAINT", 2, actor=SUPERVISOR)
    passed = ledger.qc_pass(job, "FQC", 3, actor=QC)
    assert lane(queries.job_card(job), "FQC") == (0, 0, 0, 1, 2)
    ledger.void(passed.uuid, actor=SUPERVISOR, note="wrong count")
    card = queries.job_card(job)
    assert lane(card, "FQC") == (0, 2, 0, 0, 0)
    assert card.rework == "rework: 2 sent back → 0 passed, 2 at Final QC"
    assert verify_store() == []
    fqc = m.JobStep.get((m.JobStep.stage == "FQC") & (m.JobStep.job == m.Job.get(m.Job.number == job).id))
    m.StepBalance.update(rework_here=0, passed_after_rework=2).where(m.StepBalance.step == fqc.id).execute()
    problems = verify_store()
    assert f"{job} FQC: rework_here stored 0, ledger says 2" in problems
    assert f"{job} FQC: passed_after_rework stored 2, ledger says 0" in problems


def test_board_data_and_jobs_show_json(ledger, queries, make_job, config, clock, store_url, capsys):
    job = at_qc(ledger, make_job, 4)
    ledger.qc_fail(job, "FQC", 3, "VIS", actor=QC)
    ledger.rework(job, "FQC", 3, "PAINT", actor=QC)
    ledger.complete(job, "PAINT", 1, actor=SUPERVISOR)
    reports = Reports(config, clock=clock)
    [row] = [r for r in reports.wip().rows if r.number == job]
    assert row.rework == "rework: 3 sent back → 0 passed, 2 at Painting, 1 at Final QC"
    items = {(i.stage, i.qty, i.what) for i in reports.exceptions().pending_rework if i.number == job}
    assert items == {("PAINT", 2, "rework"), ("FQC", 1, "rework")}
    assert main(["--config", CONFIG, "--db", store_url, "jobs", "show", job, "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    assert card["rework"] == row.rework
    steps = {s["stage"]: s for s in card["steps"]}
    for key in ("rework_in", "rework_here", "rework_failed", "passed_first_time", "passed_after_rework"):
        assert all(key in s for s in card["steps"])
    assert (steps["PAINT"]["rework_in"], steps["PAINT"]["rework_here"], steps["PAINT"]["passed_first_time"]) == (
        3,
        2,
        None,
    )
    assert (steps["FQC"]["passed_first_time"], steps["FQC"]["passed_after_rework"]) == (0, 0)


def test_notes_of_every_kind_show_in_history_and_last_entries(ledger, queries, make_job):
    job = at_qc(ledger, make_job, 2)
    ledger.qc_pass(job, "FQC", 1, actor=QC, note="bore gauge ok")
    ledger.qc_fail(job, "FQC", 1, "VIS", actor=QC, note="scratch on face")
    ledger.rework(job, "FQC", 1, actor=QC, note="polish\nand re-inspect " + "x" * 80)
    rows = {r["kind"]: r["note"] for r in queries.history(job)}
    assert (rows["qc_pass"], rows["qc_fail"]) == ("bore gauge ok", "scratch on face")
    words = [e.words for e in queries.recent_entries("QC-1")]
    assert words[2] == "qc pass 1 at Final QC · bore gauge ok"
    assert words[0].startswith("rework 1 at Final QC · polish and re-inspect xxx") and words[0].endswith("…")
    assert len(words[0]) < 100
    assert queries.recent_entries("QC-1")[0].note == "polish and re-inspect " + "x" * 80  # stored in one line


# -- schema 7: a store that already holds rework ------------------------------------------------


def test_upgrade_fills_the_rework_lane_from_the_ledger(store_url, config, clock, capsys):
    from conftest import OPERATORS, job_factory
    from floorterm.ledger import Ledger

    store = Store.open(store_url)
    try:
        ledger = Ledger(store, config, clock=clock)
        for badge, name, role in OPERATORS:
            ledger.add_operator(badge, name, role)
        make_job = job_factory(ledger)
        job = at_qc(ledger, make_job, 10)
        ledger.qc_pass(job, "FQC", 7, actor=QC)
        ledger.qc_fail(job, "FQC", 3, "VIS", actor=QC)
        wrong = ledger.rework(job, "FQC", 3, "FQC", actor=QC)
        ledger.void(wrong.uuid, actor=SUPERVISOR, note="to Painting")
        ledger.rework(job, "FQC", 3, "PAINT", actor=QC)
        ledger.complete(job, "PAINT", 2, actor=SUPERVISOR)
        ledger.qc_pass(job, "FQC", 2, actor=QC)
        plain = at_qc(ledger, make_job, 3)
        ledger.qc_pass(plain, "FQC", 3, actor=QC)
        # Back to the store as floorterm left it before schema 7 (its columns gone, history kept).
        assert store._runner().down() == [MIGRATION]
        assert "rework_here" not in [c.name for c in store.db.get_columns("step_balance")]
        assert "delay_reason" not in [c.name for c in store.db.get_columns("job")]
    finally:
        store.close()
    assert sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9]*.py"))[-1] == MIGRATION
    assert main(["--config", CONFIG, "--db", store_url, "db", "upgrade"]) == 0
    assert MIGRATION in capsys.readouterr().out
    with Store.open(store_url):
        assert verify_store() == []
        from floorterm.queries import Queries

        queries = Queries(config, clock=clock)
        card = queries.job_card(job)
        assert card.rework == "rework: 3 sent back → 2 passed, 1 at Painting"
        assert (card.step("FQC").passed_first_time, card.step("FQC").passed_after_rework) == (7, 2)
        assert queries.job_card(plain).step("FQC").passed_first_time == 3
        assert card.job_delay is None and len(queries.history(job)) > 10


# -- the kiosk -----------------------------------------------------------------------------------


async def test_kiosk_card_says_where_the_rework_went(open_kiosk, job_at, kledger, queries):
    job = job_at("FQC", qty=4)
    kledger.qc_fail(job, "FQC", 1, "VIS", actor=SUPERVISOR)
    kledger.rework(job, "FQC", 1, "PAINT", actor=SUPERVISOR)
    kledger.complete(job, "PAINT", 1, actor=SUPERVISOR)
    async with open_kiosk("QC-1", size=(100, 40)) as k:
        await k.scan("Q1")
        await k.scan(job)
        assert "Rework: 1 sent back → 0 passed, 1 at Final QC" in k.flat()
        await k.type("4")
        await k.press("enter")
        assert "Inspection notes (optional)" in k.flat()
        await k.type("all bores gauged")
        await k.press("enter")
        assert "Final QC: 4 passed" in k.flat()
        await k.press("escape")
        await k.scan(job)
        assert "Rework: 1 sent back → 1 passed" in k.flat()
        assert "Final QC: 4 passed (1 after rework), 1 failed" in k.flat()
    [passed] = [e for e in queries.history(job) if e["kind"] == "qc_pass" and e["terminal"] == "QC-1"]
    assert passed["note"] == "all bores gauged"


@pytest.mark.parametrize("size", [(80, 24)])
async def test_kiosk_esc_at_the_pass_notes_goes_back_to_the_card(open_kiosk, job_at, queries, size):
    job = job_at("FQC", qty=4)
    async with open_kiosk("QC-1", size=size) as k:
        await k.scan("Q1")
        await k.scan(job)
        await k.press("enter")
        assert "Inspection notes (optional)" in k.flat()
        await k.press("escape")
        assert k.step == "card" and "Pass how many at Final QC?" in k.flat()
    assert not [e for e in queries.history(job) if e["kind"] == "qc_pass" and e["terminal"] == "QC-1"]
