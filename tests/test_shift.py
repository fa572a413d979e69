"""The shift handover report (floorterm/shift.py, docs/shift.md) against figures worked out by hand.

Plant time is Europe/Berlin (UTC+1 in November); shifts Early 06:00, Late 14:00, Night 22:00.
In UTC: Night of 22 Nov is 21:00 (22nd) to 05:00, Early of 23 Nov 05:00 to 13:00, Late 13:00 to 21:00.
Routing machined_part is CUT → CNC → FQC → PACK → DISP. Times below are UTC.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import SUPERVISOR
from floorterm.errors import InputError
from floorterm.shift import render_html, shift_report, shift_window
from test_cli import run, write  # noqa: F401 (fixture)

DAY = dt.datetime(2026, 11, 23)


def utc(h: int, m: int = 0, s: int = 0) -> dt.datetime:
    return DAY + dt.timedelta(hours=h, minutes=m, seconds=s)


def at(clock, moment: dt.datetime) -> None:
    clock.now = moment  # the fixture's clock starts at 07:00; the history starts earlier


@pytest.fixture
def history(ledger, make_job, clock):
    """Two jobs, S-1 (10) and S-2 (20), with entries before, in and after the Early shift of 23 Nov."""
    at(clock, utc(3))
    make_job("S-1", qty=10, routing="machined_part", release=10, materials=())  # 10 at CUT from 03:00
    at(clock, utc(3, 30))
    make_job("S-2", qty=20, routing="machined_part", release=20, materials=())  # 20 at CUT from 03:30
    at(clock, utc(4))
    ledger.complete("S-1", "CUT", 2, actor=SUPERVISOR)  # Night: 2 reach CNC at 04:00
    ledger.delay("S-2", "CUT", "MAT", actor=SUPERVISOR, note="plate late")  # opened before the shift
    at(clock, utc(4, 59, 59))
    ledger.reject("S-1", "CUT", 1, "DIM", actor=SUPERVISOR)  # one second before the shift: Night's
    at(clock, utc(5))
    ledger.complete("S-1", "CUT", 3, actor=SUPERVISOR)  # at the very start: Early's
    at(clock, utc(6))
    ledger.resume("S-2", "CUT", actor=SUPERVISOR)  # closed in the shift
    ledger.complete("S-2", "CUT", 5, actor=SUPERVISOR)  # 5 at CNC from 06:00
    at(clock, utc(7))
    ledger.complete("S-1", "CNC", 4, actor=SUPERVISOR)  # 4 at FQC from 07:00; 1 left at CNC
    wrong = ledger.complete("S-1", "CNC", 1, actor=SUPERVISOR)
    ledger.void(wrong.uuid, actor=SUPERVISOR, note="counted twice")  # never counts
    at(clock, utc(8))
    ledger.delay("S-1", "CNC", "MACH", actor=SUPERVISOR, note="spindle <b>")  # opened in the shift, stays open
    ledger.reject("S-2", "CNC", 2, "HOLE", actor=SUPERVISOR)
    ledger.scrap("S-2", "CNC", 1, "DIM", actor=SUPERVISOR)  # 1 rejected still awaits a decision
    at(clock, utc(9))
    ledger.qc_pass("S-1", "FQC", 3, actor=SUPERVISOR)  # 3 at PACK from 09:00
    ledger.qc_fail("S-1", "FQC", 1, "VIS", actor=SUPERVISOR)
    at(clock, utc(10))
    ledger.hold("S-2", actor=SUPERVISOR, note="customer call")
    at(clock, utc(10, 15))
    ledger.add_note("S-1", "check fixture <b>", stage="CNC", actor=SUPERVISOR)
    at(clock, utc(10, 30))
    ledger.unhold("S-2", actor=SUPERVISOR, note="go ahead")
    at(clock, utc(13))
    ledger.complete("S-1", "CUT", 1, actor=SUPERVISOR)  # at the very end: Late's
    at(clock, utc(13, 30))
    ledger.delay("S-2", "CNC", "TOOL", actor=SUPERVISOR)  # after the shift
    at(clock, utc(14))
    return clock


def figures(report) -> dict:
    return {s.stage: s for s in report.stages}


def test_shift_windows_default_named_and_dated(config):
    now = utc(14)
    late = shift_window(config, now)  # the shift running now
    assert (late.name, late.day, late.start, late.end) == ("Late", DAY.date(), utc(13), utc(21))
    assert late.running(now)
    early = shift_window(config, now, "early")  # names match whatever the case
    assert (early.name, early.start, early.end) == ("Early", utc(5), utc(13))
    night = shift_window(config, now, "Night")  # the latest Night that has started: it wraps past midnight
    assert (night.day, night.start, night.end) == (dt.date(2026, 11, 22), utc(-3), utc(5))
    assert shift_window(config, now, "Night", dt.date(2026, 11, 22)) == night
    with pytest.raises(InputError, match="has not started"):
        shift_window(config, now, "Night", DAY.date())
    with pytest.raises(InputError, match="Unknown shift"):
        shift_window(config, now, "Weekend")
    with pytest.raises(InputError, match="with the date"):
        shift_window(config, now, None, DAY.date())


def test_early_shift_figures_by_hand(history, config):
    report = shift_report(config, shift_window(config, history.now, "Early"), history.now)
    stages = figures(report)
    assert [s.stage for s in report.stages] == [s.code for s in config.stages]

    cut = stages["CUT"]
    # completed 3 (S-1 05:00) + 5 (S-2 06:00); the 2 at 04:00, the reject at 04:59:59 and the 1 at 13:00 are not Early's
    assert (cut.completed, cut.rejected, cut.scrapped) == (8, 0, 0)
    assert (cut.delays_opened, cut.delays_closed, cut.delays_open) == (0, 1, 0)
    # waits now: S-1 10-2-1-3-1 = 3 (1 rejected awaits), S-2 20-5 = 15; S-1 waits since 03:00
    assert (cut.pending, cut.awaiting, cut.oldest_job, cut.oldest_since) == (18, 1, "S-1", utc(3))

    cnc = stages["CNC"]
    assert (cnc.completed, cnc.rejected, cnc.scrapped) == (4, 2, 1)  # the voided 1 left out
    assert (cnc.delays_opened, cnc.delays_closed, cnc.delays_open) == (1, 0, 1)
    # S-1: 2 + 3 + 1 in, 4 out = 2 (waiting since 04:00); S-2: 5 - 2 = 3 (since 06:00), 2 - 1 awaiting
    assert (cnc.pending, cnc.awaiting, cnc.oldest_job, cnc.oldest_since) == (5, 1, "S-1", utc(4))

    fqc = stages["FQC"]
    assert (fqc.qc_passed, fqc.qc_failed, fqc.completed) == (3, 1, 0)
    assert (fqc.pending, fqc.awaiting, fqc.oldest_job) == (0, 1, None)

    pack = stages["PACK"]
    assert (pack.completed, pack.pending, pack.oldest_job, pack.oldest_since) == (0, 3, "S-1", utc(9))
    assert all(
        (s.completed, s.rejected, s.pending, s.awaiting, s.delays_opened) == (0, 0, 0, 0, 0)
        for s in report.stages
        if s.stage not in ("CUT", "CNC", "FQC", "PACK")
    )

    delays = [(d.job, d.stage, d.reason, d.reason_label, d.opened_at, d.closed_at, d.status) for d in report.delays]
    assert delays == [
        ("S-2", "CUT", "MAT", "Material shortage", utc(4), utc(6), "closed"),
        ("S-1", "CNC", "MACH", "Machine unavailable", utc(8), None, "open"),
    ]
    assert [(h.what, h.job, h.at, h.note) for h in report.holds] == [
        ("hold", "S-2", utc(10), "customer call"),
        ("unhold", "S-2", utc(10, 30), "go ahead"),
    ]
    assert (report.holds_on, report.holds_off) == (1, 1)
    assert [(n.job, n.stage, n.operator, n.note) for n in report.notes] == [("S-1", "CNC", "S1", "check fixture <b>")]

    rows = report.rows()
    assert rows[0]["stage"] == "CUT" and rows[0]["completed"] == 8 and rows[0]["oldest_job"] == "S-1"
    data = report.to_json()
    assert (data["shift"], data["date"], data["running"]) == ("Early", "2026-11-23", False)
    assert [d["status"] for d in data["delays"]] == ["closed", "open"]


def test_night_shift_before_and_running_late_shift(history, config):
    night = shift_report(config, shift_window(config, history.now, "Night"), history.now)
    cut = figures(night)["CUT"]
    assert (cut.completed, cut.rejected) == (2, 1)  # 04:00 and 04:59:59
    assert (cut.delays_opened, cut.delays_closed, cut.delays_open) == (1, 0, 1)  # MAT, open at 05:00
    assert [(d.job, d.closed_at) for d in night.delays] == [("S-2", None)]

    late = shift_report(config, shift_window(config, history.now), history.now)  # Late, running, up to 14:00
    stages = figures(late)
    assert stages["CUT"].completed == 1  # the entry at 13:00
    assert stages["CNC"].completed == 0 and stages["FQC"].qc_passed == 0
    cnc = stages["CNC"]
    assert (cnc.delays_opened, cnc.delays_closed, cnc.delays_open) == (1, 0, 2)  # TOOL opened; MACH still open
    assert [(d.job, d.reason) for d in late.delays] == [("S-1", "MACH"), ("S-2", "TOOL")]
    assert late.holds == () and late.notes == ()
    assert late.to_json()["running"] is True


def test_html_page_escapes_user_text(history, config):
    report = shift_report(config, shift_window(config, history.now, "Early"), history.now)
    page = render_html(report, config)
    assert page.startswith("<!DOCTYPE html>") and "size: A4" in page
    assert "Shift handover: Early, 2026-11-23" in page
    assert "check fixture &lt;b&gt;" in page and "spindle &lt;b&gt;" in page and "<b>" not in page
    assert "still open" in page and "Material shortage" in page
    assert "<script" not in page and "src=" not in page  # self-contained


ENTRIES = """at,action,job,step,qty,reason,item,note,operator,terminal,uuid
2026-11-20T08:00:00+01:00,release,J-5001,,10,,,,S1,,a1b2c3d4-0000-4000-8000-000000000001
2026-11-20T09:00:00+01:00,complete,J-5001,CUT,10,,,,S1,,a1b2c3d4-0000-4000-8000-000000000002
2026-11-20T11:00:00+01:00,complete,J-5001,WELD,4,,,,S1,,a1b2c3d4-0000-4000-8000-000000000003
2026-11-20T14:00:00+01:00,complete,J-5001,WELD,6,,,,S1,,a1b2c3d4-0000-4000-8000-000000000004
"""


def test_report_shift_on_the_command_line(run, tmp_path):
    assert run("operators", "add", "S1", "Sam Supervisor", "--role", "supervisor").code == 0
    assert run("jobs", "add", "J-5001", "--qty", "10", "--routing", "weldment").code == 0
    done = run("entries", "import", str(write(tmp_path / "e.csv", ENTRIES)), "--by", "S1")
    assert done.code == 0, done.err

    result = run("report", "shift", "--shift", "Early", "--date", "2026-11-20", "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert (data["shift"], data["start"], data["end"]) == ("Early", "2026-11-20T05:00:00Z", "2026-11-20T13:00:00Z")
    stages = {s["stage"]: s for s in data["stages"]}
    assert stages["CUT"]["completed"] == 10 and stages["WELD"]["completed"] == 4  # the 6 at 14:00 are Late's
    assert stages["PAINT"]["pending"] == 10 and stages["PAINT"]["oldest_job"] == "J-5001"

    late = run("report", "shift", "--shift", "Late", "--date", "2026-11-20")
    assert late.code == 0, late.err
    assert "Shift Late of 2026-11-20: 2026-11-20 14:00 to 2026-11-20 22:00" in late.out
    assert "Delays" in late.out and "Notes" in late.out

    page = run("report", "shift", "--shift", "Early", "--date", "2026-11-20", "--format", "html")
    assert page.code == 0 and page.out.startswith("<!DOCTYPE html>")
    csv = run("report", "shift", "--shift", "Early", "--date", "2026-11-20", "--format", "csv")
    assert csv.code == 0 and csv.out.splitlines()[0].startswith("stage,name,completed")

    assert run("report", "shift", "--since", "2026-11-20").code == 2
    assert run("report", "flow", "--shift", "Early").code == 2
    assert run("report", "shift", "--shift", "Weekend").code != 0
