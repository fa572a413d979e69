"""Flow figures (DESIGN.md §10, docs/flow.md) against values worked out by hand, on both backends.

Each test builds a history with the ledger while the FakeClock moves, then reads the figures.
The clock starts Monday 2026-11-23 07:00 UTC (08:00 in Berlin, the example plant's zone).
Routing machined_part is CUT → CNC → FQC → PACK → DISP.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import SUPERVISOR
from floorterm.flow import FLOW_REPORTS, FlowReport, percentile
from floorterm.flow_html import render, render_flow, render_table
from floorterm.ledger import MaterialSpec
from floorterm.reports import Reports

T0 = dt.datetime(2026, 11, 23, 7, 0)
H = 3600.0


def hours(h: float) -> dt.datetime:
    return T0 + dt.timedelta(hours=h)


@pytest.fixture
def reports(config, clock):
    return Reports(config, clock=clock)


def by_stage(report: FlowReport) -> dict:
    return {s.stage: s for s in report.stages}


def at_hour(clock, h: float) -> None:
    """Move the clock to T0 + h hours (never back)."""
    assert hours(h) >= clock.now
    clock.now = hours(h)


# -- waits at a step: FIFO, unit-hours, percentiles ------------------------------------------


def test_two_batches_leave_a_step_at_different_times_first_in_first_out(ledger, make_job, reports, clock):
    job = make_job("F-1", qty=10, routing="machined_part", release=10, materials=())  # 10 at CUT at 0 h
    at_hour(clock, 1)
    ledger.complete(job, "CUT", 6, actor=SUPERVISOR)  # 6 waited 1 h; they reach CNC at 1 h
    at_hour(clock, 3)
    ledger.complete(job, "CUT", 4, actor=SUPERVISOR)  # 4 waited 3 h; at CNC at 3 h
    at_hour(clock, 4)
    ledger.complete(job, "CNC", 5, actor=SUPERVISOR)  # the first 5 to arrive (at 1 h) leave: 3 h each
    wrong = ledger.complete(job, "CNC", 2, actor=SUPERVISOR)
    ledger.void(wrong.uuid, actor=SUPERVISOR, note="counted twice")  # a voided entry never counts
    at_hour(clock, 6)

    stages = by_stage(reports.flow(T0, hours(6)))

    cut = stages["CUT"]
    assert (cut.units_in, cut.units_out) == (10, 10)
    assert cut.unit_hours == pytest.approx(6 * 1 + 4 * 3)  # 18
    assert cut.mean_wait_hours == pytest.approx(1.8)
    assert cut.p50_wait_hours == pytest.approx(1)  # the 5th of 10 units waited 1 h
    assert cut.p90_wait_hours == pytest.approx(3)  # the 9th waited 3 h
    cnc = stages["CNC"]
    # pending at CNC: 6 from 1 h to 3 h, 10 to 4 h, 5 to 6 h -> 12 + 10 + 10 unit-hours
    assert (cnc.units_in, cnc.units_out) == (10, 5)
    assert cnc.unit_hours == pytest.approx(32)
    assert cnc.mean_wait_hours == pytest.approx(32 / 5)
    assert (cnc.p50_wait_hours, cnc.p90_wait_hours) == (pytest.approx(3), pytest.approx(3))
    assert cnc.queue_hours is None and cnc.work_hours is None  # nobody recorded a start
    assert stages["FQC"].units_in == 5 and stages["FQC"].first_pass_yield is None  # nothing inspected yet
    assert stages["PACK"].unit_hours == 0 and stages["PACK"].mean_wait_hours is None


def test_a_period_counts_only_the_time_and_the_departures_inside_it(ledger, make_job, reports, clock):
    job = make_job("F-2", qty=10, routing="machined_part", release=10, materials=())
    at_hour(clock, 1)
    ledger.complete(job, "CUT", 6, actor=SUPERVISOR)
    at_hour(clock, 3)
    ledger.complete(job, "CUT", 4, actor=SUPERVISOR)
    at_hour(clock, 4)
    ledger.complete(job, "CNC", 5, actor=SUPERVISOR)
    at_hour(clock, 6)

    stages = by_stage(reports.flow(hours(2), hours(6)))

    cut = stages["CUT"]
    assert (cut.units_in, cut.units_out) == (0, 4)  # the release at 0 h is before the period
    assert cut.unit_hours == pytest.approx(4 * 1)  # 4 pending from 2 h to 3 h
    assert cut.mean_wait_hours == pytest.approx(1.0)  # Little's law over the period: 4 / 4
    assert cut.p50_wait_hours == pytest.approx(3)  # but each of those 4 waited 3 h in all
    cnc = stages["CNC"]
    assert (cnc.units_in, cnc.units_out) == (4, 5)
    assert cnc.unit_hours == pytest.approx(6 * 1 + 10 * 1 + 5 * 2)


def test_work_waiting_through_a_quiet_period_counts_open_or_closed_later(ledger, make_job, reports, clock):
    make_job("F-3", qty=3, routing="machined_part", release=3, materials=())  # still open
    later = make_job("F-4", qty=2, routing="machined_part", release=2, materials=())
    at_hour(clock, 72)
    for stage in ("CUT", "CNC"):  # F-4 goes through and ships only after the period
        ledger.complete(later, stage, 2, actor=SUPERVISOR)
    ledger.qc_pass(later, "FQC", 2, actor=SUPERVISOR)
    ledger.complete(later, "PACK", 2, actor=SUPERVISOR)
    ledger.dispatch(later, 2, actor=SUPERVISOR)
    at_hour(clock, 80)

    cut = by_stage(reports.flow(hours(24), hours(48)))["CUT"]

    # Neither job has an entry in the period; both waited through it at CUT.
    assert cut.unit_hours == pytest.approx((3 + 2) * 24)
    assert (cut.units_in, cut.units_out) == (0, 0)


def test_the_period_stops_at_now(ledger, make_job, reports, clock):
    make_job("F-5", qty=4, routing="machined_part", release=4, materials=())
    at_hour(clock, 2)

    cut = by_stage(reports.flow(T0, hours(24)))["CUT"]

    assert cut.unit_hours == pytest.approx(4 * 2)  # not 4 x 24: the rest has not happened yet


def test_percentile_is_the_nearest_rank_over_units():
    waits = [(3 * H, 4), (1 * H, 6)]
    assert percentile(waits, 0.5) == 1 * H
    assert percentile(waits, 0.6) == 1 * H
    assert percentile(waits, 0.61) == 3 * H
    assert percentile([], 0.5) is None


# -- queue and work time, delays -------------------------------------------------------------


def test_a_start_entry_splits_the_wait_into_queue_and_work(ledger, make_job, reports, clock):
    job = make_job("S-1", qty=4, routing="machined_part", release=2, materials=())  # 2 at CUT at 0 h
    at_hour(clock, 1)
    ledger.start(job, "CUT", actor=SUPERVISOR)  # the 2 queued 1 h
    at_hour(clock, 2)
    ledger.release(job, 2, actor=SUPERVISOR)  # these 2 reach a step in work: no queue
    at_hour(clock, 4)
    ledger.complete(job, "CUT", 4, actor=SUPERVISOR)
    other = make_job("S-2", qty=2, routing="machined_part", release=2, materials=())  # never started
    at_hour(clock, 5)
    ledger.complete(other, "CUT", 2, actor=SUPERVISOR)

    cut = by_stage(reports.flow(T0, hours(6)))["CUT"]

    # S-1: 2 units wait 4 h (queue 1, work 3), 2 wait 2 h (queue 0, work 2); S-2: 2 wait 1 h, no start
    assert cut.units_out == 6
    assert cut.queue_hours == pytest.approx((1 * 2 + 0 * 2) / 4)
    assert cut.work_hours == pytest.approx((3 * 2 + 2 * 2) / 4)
    assert cut.unit_hours == pytest.approx(2 * 4 + 2 * 2 + 2 * 1)
    assert cut.mean_wait_hours == pytest.approx(14 / 6)


def test_delay_hours_per_stage_and_a_pareto_of_reasons(ledger, make_job, reports, clock):
    job = make_job("D-1", qty=5, routing="machined_part", release=5, materials=())
    at_hour(clock, 1)
    ledger.delay(job, "CUT", "MACH", actor=SUPERVISOR)
    at_hour(clock, 3)
    ledger.resume(job, "CUT", actor=SUPERVISOR)  # 2 h of MACH at CUT
    ledger.complete(job, "CUT", 5, actor=SUPERVISOR)
    ledger.delay(job, "CNC", "MAT", actor=SUPERVISOR)  # still open at 6 h: 3 h of MAT at CNC
    at_hour(clock, 6)

    report = reports.flow(T0, hours(6))
    stages = by_stage(report)
    assert stages["CUT"].delay_hours == pytest.approx(2)
    assert stages["CNC"].delay_hours == pytest.approx(3)
    assert [(d.reason, d.label, d.count, d.hours) for d in report.delays] == [
        ("MAT", "Material shortage", 1, pytest.approx(3)),
        ("MACH", "Machine unavailable", 1, pytest.approx(2)),
    ]

    clipped = reports.flow(hours(2), hours(6))
    assert by_stage(clipped)["CUT"].delay_hours == pytest.approx(1)
    assert [(d.reason, d.hours) for d in clipped.delays] == [("MAT", pytest.approx(3)), ("MACH", pytest.approx(1))]
    assert [d.reason for d in reports.flow(hours(4), hours(6)).delays] == ["MAT"]  # MACH ended before 4 h


# -- a rework loop, first-pass yield, lead time and plan -------------------------------------


def rework_loop(ledger, make_job, clock, number="Q-1", product="Bracket"):
    """10 units through CUT and CNC; QC fails 3, they go back to CNC, 1 fails again and is redone at FQC."""
    job = make_job(
        number,
        qty=10,
        routing="machined_part",
        release=10,
        product=product,
        materials=(),
        planned_end=dt.date(2026, 11, 22),
    )
    at_hour(clock, 1)
    ledger.complete(job, "CUT", 10, actor=SUPERVISOR)
    at_hour(clock, 2)
    ledger.complete(job, "CNC", 10, actor=SUPERVISOR)  # 10 at FQC from 2 h
    at_hour(clock, 3)
    ledger.qc_fail(job, "FQC", 3, "DIM", actor=SUPERVISOR)  # waited 1 h
    at_hour(clock, 4)
    ledger.qc_pass(job, "FQC", 7, actor=SUPERVISOR)  # waited 2 h: first pass
    at_hour(clock, 5)
    ledger.rework(job, "FQC", 3, to_stage="CNC", actor=SUPERVISOR)  # back at CNC at 5 h
    at_hour(clock, 6)
    ledger.complete(job, "CNC", 3, actor=SUPERVISOR)  # at FQC again at 6 h
    at_hour(clock, 7)
    ledger.qc_pass(job, "FQC", 2, actor=SUPERVISOR)
    ledger.qc_fail(job, "FQC", 1, "VIS", actor=SUPERVISOR)
    at_hour(clock, 8)
    ledger.rework(job, "FQC", 1, actor=SUPERVISOR)  # redone at FQC itself
    at_hour(clock, 9)
    ledger.qc_pass(job, "FQC", 1, actor=SUPERVISOR)
    at_hour(clock, 10)
    ledger.complete(job, "PACK", 10, actor=SUPERVISOR)  # the last unit through the last work step
    return job


def test_a_rework_loop_times_each_pass_and_counts_first_pass_yield(ledger, make_job, reports, clock):
    rework_loop(ledger, make_job, clock)
    at_hour(clock, 12)

    stages = by_stage(reports.flow(T0, hours(12)))

    fqc = stages["FQC"]
    assert fqc.units_in == 10 + 3 + 1
    assert fqc.units_out == 3 + 7 + 2 + 1 + 1
    # Time spent awaiting a rework decision is not pending at the step.
    assert fqc.unit_hours == pytest.approx(3 * 1 + 7 * 2 + 2 * 1 + 1 * 1 + 1 * 1)
    assert fqc.mean_wait_hours == pytest.approx(21 / 14)
    assert fqc.first_pass_yield == pytest.approx(7 / 10)  # the 3 back from rework are not first inspections
    cnc = stages["CNC"]
    assert (cnc.units_in, cnc.units_out) == (13, 13)
    assert cnc.unit_hours == pytest.approx(10 * 1 + 3 * 1)
    assert stages["PACK"].units_out == 10 and stages["DISP"].units_in == 10
    assert stages["CNC"].first_pass_yield is None  # not a QC stage


def test_quality_per_qc_stage_and_product_and_jobs_failing_more_than_once(ledger, make_job, reports, clock):
    rework_loop(ledger, make_job, clock)
    good = make_job("Q-2", qty=5, routing="machined_part", release=5, product="Frame", materials=())
    ledger.complete(good, "CUT", 5, actor=SUPERVISOR)
    ledger.complete(good, "CNC", 5, actor=SUPERVISOR)
    ledger.qc_pass(good, "FQC", 5, actor=SUPERVISOR)
    once = make_job("Q-3", qty=2, routing="machined_part", release=2, product="Frame", materials=())
    ledger.complete(once, "CUT", 2, actor=SUPERVISOR)
    ledger.complete(once, "CNC", 2, actor=SUPERVISOR)
    ledger.qc_fail(once, "FQC", 2, "DIM", actor=SUPERVISOR)
    at_hour(clock, 12)

    quality = reports.quality(T0, hours(12))

    (fqc,) = quality.stages
    assert (fqc.code, fqc.inspected, fqc.passed, fqc.failed, fqc.fail_entries) == ("FQC", 14 + 5 + 2, 15, 3 + 1 + 2, 3)
    assert (fqc.inspected_first, fqc.passed_first) == (10 + 5 + 2, 7 + 5)
    assert fqc.first_pass_yield == pytest.approx(12 / 17)
    products = {p.code: p for p in quality.products}
    assert products["Bracket"].first_pass_yield == pytest.approx(7 / 10)
    assert products["Frame"].first_pass_yield == pytest.approx(5 / 7)
    assert [(r.number, r.fail_entries, r.failed_units) for r in quality.repeat_failures] == [("Q-1", 2, 4)]
    rows = quality.rows()
    assert rows[-1]["by"] == "repeat_failure" and rows[-1]["code"] == "Q-1"
    assert reports.quality(hours(11), hours(12)).repeat_failures == ()  # no fail in that period


def test_lead_time_and_a_late_job_and_an_early_job(ledger, make_job, reports, clock):
    late = rework_loop(ledger, make_job, clock)  # planned end 2026-11-22: due 2026-11-22 23:00 UTC
    early = make_job("E-1", qty=2, routing="machined_part", materials=(), planned_end=dt.date(2026, 11, 25))
    at_hour(clock, 11)
    ledger.release(early, 2, actor=SUPERVISOR)
    for stage in ("CUT", "CNC"):
        ledger.complete(early, stage, 2, actor=SUPERVISOR)
    ledger.qc_pass(early, "FQC", 2, actor=SUPERVISOR)
    at_hour(clock, 12)
    ledger.complete(early, "PACK", 2, actor=SUPERVISOR)
    open_job = make_job("O-1", qty=2, routing="machined_part", release=2, materials=())
    at_hour(clock, 13)

    jobs = {j.number: j for j in reports.flow(T0, hours(13)).jobs}

    assert set(jobs) == {late, early}  # O-1 has not gone through yet
    assert (jobs[late].actual_start, jobs[late].actual_end) == (T0, hours(10))
    assert jobs[late].lead_time_hours == pytest.approx(10)
    assert jobs[late].late_by_hours == pytest.approx(18)  # 17:00 on the 23rd against 23:00 on the 22nd
    assert jobs[early].lead_time_hours == pytest.approx(1)
    assert jobs[early].late_by_hours == pytest.approx(-52)  # 19:00 on the 23rd, due 23:00 on the 25th
    assert open_job not in jobs
    assert reports.flow(hours(10.5), hours(13)).jobs[0].number == early  # late ended before that period


def test_dispatch_is_the_departure_from_the_dispatch_step(ledger, make_job, reports, clock):
    job = make_job("X-1", qty=2, routing="machined_part", release=2, materials=())
    for stage in ("CUT", "CNC"):
        ledger.complete(job, stage, 2, actor=SUPERVISOR)
    ledger.qc_pass(job, "FQC", 2, actor=SUPERVISOR)
    ledger.complete(job, "PACK", 2, actor=SUPERVISOR)  # ready to ship at 0 h
    at_hour(clock, 5)
    ledger.dispatch(job, 2, actor=SUPERVISOR)
    at_hour(clock, 6)

    report = reports.flow(T0, hours(6))
    disp = by_stage(report)["DISP"]

    assert (disp.units_in, disp.units_out, disp.unit_hours) == (2, 2, pytest.approx(10))
    assert report.throughput["DISP"][5] == 2 and sum(report.throughput["DISP"]) == 2
    assert report.bucket_hours == 1 and report.buckets[5] == hours(5)


# -- material variance -----------------------------------------------------------------------


def test_material_variance_per_job_and_item_and_per_product(ledger, make_job, reports, clock):
    materials = (MaterialSpec("PLATE-8", 40, "Steel plate 8 mm"), MaterialSpec("BOLT-M12", 80, "Bolt M12x40"))
    over = make_job("V-1", qty=1, routing="machined_part", release=1, product="Hopper", materials=materials)
    ledger.material_issue(over, "PLATE-8", 40, actor=SUPERVISOR)
    ledger.material_scrap(over, "PLATE-8", 5, "HND", actor=SUPERVISOR)
    ledger.material_issue(over, "PLATE-8", 5, actor=SUPERVISOR)
    ledger.material_return(over, "PLATE-8", 2, actor=SUPERVISOR)  # used 45 - 2 = 43 of 40: +3
    ledger.material_issue(over, "BOLT-M12", 80, actor=SUPERVISOR)  # exactly as planned
    under = make_job(
        "V-2",
        qty=1,
        routing="machined_part",
        release=1,
        product="Hopper",
        materials=(MaterialSpec("PLATE-8", 40, "Steel plate 8 mm"),),
    )
    ledger.material_issue(under, "PLATE-8", 40, actor=SUPERVISOR)
    ledger.material_return(under, "PLATE-8", 4, actor=SUPERVISOR)  # used 36 of 40: -4
    unfinished = make_job("V-3", qty=1, routing="machined_part", release=1, product="Hopper", materials=materials)
    ledger.material_issue(unfinished, "PLATE-8", 10, actor=SUPERVISOR)
    at_hour(clock, 1)
    for job in (over, under):
        for stage in ("CUT", "CNC"):
            ledger.complete(job, stage, 1, actor=SUPERVISOR)
        ledger.qc_pass(job, "FQC", 1, actor=SUPERVISOR)
        ledger.complete(job, "PACK", 1, actor=SUPERVISOR)
    at_hour(clock, 2)

    report = reports.variance(T0, hours(2))

    lines = {(v.number, v.item): v for v in report.lines}
    assert set(lines) == {(over, "BOLT-M12"), (over, "PLATE-8"), (under, "PLATE-8")}  # V-3 is not through
    plate = lines[(over, "PLATE-8")]
    assert (plate.required, plate.issued, plate.returned, plate.scrapped, plate.used) == (40, 45, 2, 5, 43)
    assert (plate.variance, plate.variance_pct) == (3, pytest.approx(7.5))
    assert (lines[(over, "BOLT-M12")].variance, lines[(under, "PLATE-8")].variance) == (0, -4)
    products = {(p.product, p.item): p for p in report.products}
    assert (products[("Hopper", "PLATE-8")].jobs, products[("Hopper", "PLATE-8")].variance) == (2, -1)
    assert products[("Hopper", "PLATE-8")].over_consumption_pct == pytest.approx(-1 / 80 * 100)
    assert products[("Hopper", "BOLT-M12")].over_consumption_pct == 0
    rows = report.rows()
    assert rows[1] == {
        "by": "product",
        "job": 2,
        "product": "Hopper",
        "item": "PLATE-8",
        "unit": "pcs",
        "needed": 80,
        "issued": None,
        "returned": None,
        "used": 79,
        "variance": -1,
        "variance_pct": -1.2,
    }
    assert [r["by"] for r in rows] == ["product"] * 2 + ["job"] * 3
    assert reports.variance(hours(1.5), hours(2)).lines == ()


def test_a_substitution_moves_the_need_to_the_substitute(ledger, make_job, reports, clock):
    job = make_job("V-4", qty=1, routing="machined_part", release=1, materials=(MaterialSpec("PLATE-8", 40),))
    ledger.material_issue(job, "PLATE-8", 30, actor=SUPERVISOR)
    ledger.material_substitute(job, "PLATE-8", "PLATE-10", 10, actor=SUPERVISOR)
    for stage in ("CUT", "CNC"):
        ledger.complete(job, stage, 1, actor=SUPERVISOR)
    ledger.qc_pass(job, "FQC", 1, actor=SUPERVISOR)
    ledger.complete(job, "PACK", 1, actor=SUPERVISOR)
    at_hour(clock, 1)

    lines = {v.item: v for v in reports.variance(T0, hours(1)).lines}

    assert (lines["PLATE-8"].needed, lines["PLATE-8"].variance) == (30, 0)
    assert (lines["PLATE-10"].required, lines["PLATE-10"].needed, lines["PLATE-10"].variance) == (0, 10, 0)


# -- the job card's JSON ---------------------------------------------------------------------


def test_jobs_show_json_gains_the_flow_figures(ledger, make_job, queries, clock):
    job = rework_loop(ledger, make_job, clock)
    planned = make_job("P-1", qty=2, routing="machined_part", materials=())
    at_hour(clock, 12)

    data = queries.job_card_json(job)

    assert data["actual_start"] == "2026-11-23T07:00:00Z" and data["actual_end"] == "2026-11-23T17:00:00Z"
    assert (data["lead_time_hours"], data["late_by_hours"]) == (10.0, 18.0)
    steps = {s["stage"]: s for s in data["steps"]}
    assert steps["CUT"]["first_received_at"] == "2026-11-23T07:00:00Z"
    assert steps["FQC"]["first_received_at"] == "2026-11-23T09:00:00Z"
    assert steps["FQC"]["last_completed_at"] == "2026-11-23T16:00:00Z"
    assert (steps["FQC"]["unit_hours"], steps["FQC"]["mean_wait_hours"]) == (21.0, 1.5)
    assert steps["DISP"]["unit_hours"] == 20.0 and steps["DISP"]["mean_wait_hours"] is None  # 10 waiting 2 h
    assert steps["FQC"]["pending"] == 0  # the card's own keys stay
    json.dumps(data)

    empty = queries.job_card_json(planned)
    assert (empty["actual_start"], empty["lead_time_hours"]) == (None, None)
    assert {s["stage"]: s["unit_hours"] for s in empty["steps"]} == dict.fromkeys(
        ("CUT", "CNC", "FQC", "PACK", "DISP"), 0.0
    )
    assert "actual_start" not in queries.job_card(job).to_json()  # the kiosk's card does not pay for it


# -- plain tables and the printable page -----------------------------------------------------


def test_as_rows_gives_the_flow_reports_as_plain_tables(ledger, make_job, reports, clock):
    rework_loop(ledger, make_job, clock)
    at_hour(clock, 12)

    headers, rows = reports.as_rows("flow", since=T0, until=hours(12))
    assert headers == [
        "stage",
        "units_in",
        "units_out",
        "unit_hours",
        "mean_wait_hours",
        "p50_wait_hours",
        "p90_wait_hours",
        "queue_hours",
        "work_hours",
        "first_pass_yield",
        "delay_hours",
    ]
    fqc = dict(zip(headers, rows[[r[0] for r in rows].index("FQC")]))
    assert (fqc["unit_hours"], fqc["mean_wait_hours"], fqc["first_pass_yield"]) == (21.0, 1.5, 0.7)
    assert reports.as_rows("quality", since=T0, until=hours(12))[1][0][:3] == ["stage", "FQC", "Final QC"]
    assert reports.as_rows("variance", since=T0, until=hours(12))[0][0] == "by"
    assert set(FLOW_REPORTS) == {"flow", "variance", "quality"}
    json.dumps(reports.as_rows("flow")[1])  # the period defaults like the other reports


def test_the_html_page_is_self_contained_prints_on_a4_and_escapes_user_data(ledger, make_job, reports, clock, config):
    rework_loop(ledger, make_job, clock, number="H-1", product="<script>alert(1)</script>")
    stuck = make_job("H-2", qty=2, routing="machined_part", release=2, materials=())
    ledger.delay(stuck, "CUT", "MACH", actor=SUPERVISOR)
    at_hour(clock, 12)

    page = render_flow(reports.flow(T0, hours(12)), config)

    assert page.startswith("<!DOCTYPE html>") and "@page" in page and "size: A4" in page
    assert page.count("<svg") == 3  # waiting by stage, throughput by hour, delay Pareto
    assert "Machine unavailable" in page and "Final QC" in page and "H-1" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
    assert not any(ref in page for ref in ("src=", "href=", "@import", "url("))  # nothing fetched from elsewhere
    table = render_table("Quality", *reports.as_rows("quality", since=T0, until=hours(12)), config, T0, hours(12))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in table and "<script" not in table
    assert "size: A4" in table and "Final QC" in table
    assert render(reports, "variance", T0, hours(12)).count("<title>Material variance</title>") == 1
    assert "<svg" in render(reports, "flow", T0, hours(12))
