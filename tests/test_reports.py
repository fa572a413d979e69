"""Reports for the WIP board and `floorterm report`: numbers a supervisor reads, on both backends.

The FakeClock starts Monday 2026-11-23 07:00 UTC = 08:00 in Berlin (the example plant), inside
the Early shift that began at 05:00 UTC; the Late shift begins at 13:00 UTC.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from floorterm import models as m
from floorterm.errors import InputError
from floorterm.reports import EXCEPTION_VIEWS, REPORTS, Reports, age_bucket, age_labels

from conftest import FakeClock, SUPERVISOR

HOUR = 3600.0
T0 = dt.datetime(2026, 11, 23, 7, 0)


@pytest.fixture
def reports(config, clock):
    return Reports(config, clock=clock)


def move_to(ledger, config, job: str, stage: str, qty: int) -> None:
    """Push `qty` of a released job through every step before `stage` (as a supervisor)."""
    routing = [s.stage for s in m.JobStep.select().join(m.Job).where(m.Job.number == job).order_by(m.JobStep.seq)]
    for code in routing[: routing.index(stage)]:
        if config.stage(code).kind == "qc":
            ledger.qc_pass(job, code, qty, actor=SUPERVISOR)
        else:
            ledger.complete(job, code, qty, actor=SUPERVISOR)


def test_age_labels_and_buckets_follow_the_thresholds():
    hours = (4, 24, 72)
    assert age_labels(hours) == ("< 4 h", "4–24 h", "24–72 h", "> 72 h")
    assert [age_bucket(s * HOUR, hours) for s in (0, 3.99, 4, 23.9, 24, 71, 72, 500)] == [0, 0, 1, 1, 2, 2, 3, 3]


# -- WIP --------------------------------------------------------------------------------------


def test_wip_rows_sorted_by_priority_then_planned_end_then_number_open_jobs_only(ledger, make_job, reports, config):
    nov = lambda day: dt.date(2026, 11, day)  # noqa: E731
    make_job("J-A", priority=5, planned_end=nov(30), materials=())
    make_job("J-B", priority=2, materials=())
    make_job("J-C", priority=2, planned_end=nov(29), materials=())
    make_job("J-D", priority=5, materials=())
    make_job("J-E", priority=5, planned_end=nov(30), materials=())
    make_job("J-F", priority=7, materials=())
    ledger.change_priority("J-F", 1, actor=SUPERVISOR, note="customer called")
    done = make_job("J-DONE", qty=3, routing="machined_part", release=3, priority=1, materials=())
    move_to(ledger, config, done, "DISP", 3)
    ledger.dispatch(done, 3, actor=SUPERVISOR)

    board = reports.wip()

    assert [r.number for r in board.rows] == ["J-F", "J-C", "J-B", "J-A", "J-E", "J-D"]
    assert board.rows[0].priority == 1 and "priority changed" in board.rows[0].flags
    assert board.stages == tuple(s.code for s in config.stages)
    assert [r.number for r in reports.wip(include_planned=False).rows] == []


def test_wip_cells_show_quantity_state_waiting_time_age_and_delay(ledger, make_job, reports, clock):
    job = make_job("W-1", qty=20, release=20, materials=())
    clock.advance(hours=1)
    ledger.complete(job, "CUT", 8, actor=SUPERVISOR)
    ledger.start(job, "CNC", actor=SUPERVISOR)
    clock.advance(hours=1)
    ledger.delay(job, "CUT", "MACH", actor=SUPERVISOR)
    other = make_job("W-2", qty=5, routing="weldment", release=5, materials=())
    clock.advance(hours=3)  # now T0 + 5 h

    row = reports.wip().rows[0]
    assert row.number == job and row.status == "in progress" and "delayed" in row.flags
    cut, cnc, bend = row.cells["CUT"], row.cells["CNC"], row.cells["BEND"]
    assert (cut.pending, cut.state, cut.waiting_seconds, cut.age_bucket) == (12, "delayed", 5 * HOUR, 1)
    assert (cut.delay_reason, cut.delay_code, cut.delay_seconds) == ("Machine unavailable", "MACH", 3 * HOUR)
    # Exactly four hours waiting falls in the "4–24 h" bucket.
    assert (cnc.pending, cnc.state, cnc.waiting_seconds, cnc.age_bucket) == (8, "in work", 4 * HOUR, 1)
    assert (bend.pending, bend.state, bend.waiting_seconds, bend.age_bucket) == (0, "idle", None, None)
    assert row.current_stage == "CUT"

    weld_row = reports.wip_rows([other])[0]
    assert weld_row.cells["CNC"].state == ""  # not on the weldment routing
    assert weld_row.cells["CUT"].state == "waiting" and weld_row.cells["CUT"].age_bucket == 0


def test_stage_summary_pending_jobs_waiting_oldest_average_and_completed_this_shift(ledger, make_job, reports, clock):
    first = make_job("S-1", qty=20, release=20, materials=())
    clock.advance(hours=1)
    ledger.complete(first, "CUT", 8, actor=SUPERVISOR)
    ledger.delay(first, "CUT", "MAT", actor=SUPERVISOR)
    clock.advance(hours=2)
    second = make_job("S-2", qty=10, release=10, materials=())
    ledger.start(second, "CUT", actor=SUPERVISOR)
    mistake = ledger.complete(second, "CUT", 4, actor=SUPERVISOR)
    ledger.void(mistake.uuid, actor=SUPERVISOR, note="wrong job")
    clock.advance(hours=2)  # now T0 + 5 h, still the Early shift

    board = reports.wip()
    cut = board.summary["CUT"]
    assert (cut.name, cut.pending, cut.jobs_waiting, cut.jobs_in_work, cut.jobs_delayed) == ("Cutting", 22, 2, 1, 1)
    assert cut.oldest_seconds == 5 * HOUR
    assert cut.average_seconds == (5 + 2) / 2 * HOUR
    assert cut.completed_this_shift == 8  # the voided 4 do not count
    assert board.summary["CNC"].pending == 8 and board.summary["CNC"].oldest_seconds == 4 * HOUR
    assert board.summary["BEND"].jobs_waiting == 0 and board.summary["BEND"].oldest_seconds is None
    assert board.shift == "Early" and board.shift_start == dt.datetime(2026, 11, 23, 5, 0)
    assert reports.stage_summaries() == board.summary


def test_completed_this_shift_counts_complete_qc_pass_and_dispatch_since_the_shift_began(
    ledger, make_job, reports, clock
):
    job = make_job("Q-1", qty=10, routing="machined_part", release=10, materials=())
    ledger.complete(job, "CUT", 10, actor=SUPERVISOR)
    clock.advance(hours=5, minutes=30)  # 12:30 UTC, Early shift
    ledger.complete(job, "CNC", 10, actor=SUPERVISOR)
    ledger.qc_pass(job, "FQC", 6, actor=SUPERVISOR)
    extra = ledger.qc_pass(job, "FQC", 2, actor=SUPERVISOR)
    ledger.void(extra.uuid, actor=SUPERVISOR, note="miscounted")
    ledger.complete(job, "PACK", 6, actor=SUPERVISOR)
    ledger.dispatch(job, 4, actor=SUPERVISOR)

    done = {code: s.completed_this_shift for code, s in reports.wip().summary.items()}
    assert done == {"CUT": 10, "CNC": 10, "BEND": 0, "WELD": 0, "ASSY": 0, "PAINT": 0, "FQC": 6, "PACK": 6, "DISP": 4}

    clock.advance(minutes=30)  # 13:00 UTC = 14:00 Berlin: the Late shift starts from zero
    ledger.qc_pass(job, "FQC", 1, actor=SUPERVISOR)
    board = reports.wip()
    assert board.shift == "Late"
    assert {code: s.completed_this_shift for code, s in board.summary.items() if s.completed_this_shift} == {"FQC": 1}


def test_wip_rows_returns_only_the_asked_open_jobs(ledger, make_job, reports, config):
    a = make_job("R-1", release=5, materials=())
    b = make_job("R-2", release=5, priority=1, materials=())
    c = make_job("R-3", qty=2, routing="machined_part", release=2, materials=())
    move_to(ledger, config, c, "DISP", 2)
    ledger.dispatch(c, 2, actor=SUPERVISOR)

    rows = reports.wip_rows([a, "NO-SUCH", c, b])
    assert [r.number for r in rows] == [b, a]  # board order; closed and unknown jobs left out
    assert rows == [r for r in reports.wip().rows if r.number in (a, b)]
    assert reports.wip_rows([]) == []


def test_wip_reads_in_a_fixed_number_of_queries(ledger, make_job, reports, store, monkeypatch):
    """The board must never query per job: ten times the jobs, the same number of queries."""
    db = m.database.obj
    calls = []
    real = db.execute_sql

    def counting(sql, params=None, *args, **kwargs):
        calls.append(sql)
        return real(sql, params, *args, **kwargs)

    def count(fn):
        calls.clear()
        monkeypatch.setattr(db, "execute_sql", counting)
        try:
            fn()
        finally:
            monkeypatch.setattr(db, "execute_sql", real)
        return len([c for c in calls if c.lstrip().upper().startswith("SELECT")])

    for i in range(3):
        make_job(f"N-{i}", release=2)
    few = (count(reports.wip), count(reports.exceptions), count(reports.board))
    for i in range(3, 30):
        make_job(f"N-{i}", release=2)
    many = (count(reports.wip), count(reports.exceptions), count(reports.board))
    assert few == many


# -- bottlenecks ------------------------------------------------------------------------------


def test_bottlenecks_ranked_by_expected_wait_and_by_waiting_time(ledger, make_job, reports, clock, config):
    j1 = make_job("B-1", qty=10, release=10, materials=())
    move_to(ledger, config, j1, "WELD", 10)  # waits at Welding from T0
    clock.advance(hours=45)
    j2 = make_job("B-2", qty=10, release=10, materials=())
    move_to(ledger, config, j2, "WELD", 10)  # CNC completes 10 at T0 + 45 h
    clock.advance(hours=5)
    j3 = make_job("B-3", qty=200, release=200, materials=())
    ledger.complete(j3, "CUT", 200, actor=SUPERVISOR)  # 200 wait at CNC from T0 + 50 h
    clock.advance(hours=1)  # now T0 + 51 h

    ranked = reports.bottlenecks(window_hours=8)
    cnc, weld = ranked[0], ranked[1]
    assert (cnc.stage, cnc.pending, cnc.jobs_waiting, cnc.completed) == ("CNC", 200, 1, 10)
    assert cnc.throughput_per_hour == pytest.approx(1.25)
    assert cnc.expected_wait_hours == pytest.approx(160.0)
    # Welding finished nothing in the window: no expected wait, ranked by its oldest job instead.
    assert (weld.stage, weld.pending, weld.jobs_waiting, weld.expected_wait_hours) == ("WELD", 20, 2, None)
    assert weld.oldest_seconds == 51 * HOUR
    assert weld.headline == "Welding: 2 jobs waiting, oldest 2 d 3 h"
    assert cnc.headline == "CNC machining: 1 job waiting, oldest 1 h"
    assert all(b.pending == 0 for b in ranked[2:])
    assert reports.worst_headline() == cnc.headline

    assert [b.stage for b in reports.bottlenecks(rank_by="waiting")][:2] == ["WELD", "CNC"]
    # Over the last two hours CNC completed nothing either, so Welding's long wait is worst.
    assert reports.bottlenecks(window_hours=2)[0].stage == "WELD"
    with pytest.raises(InputError):
        reports.bottlenecks(rank_by="colour")


def test_worst_headline_is_none_when_nothing_waits(ledger, make_job, reports):
    make_job("H-1", materials=())  # planned, nothing released
    assert reports.worst_headline() is None


# -- exceptions -------------------------------------------------------------------------------


def test_exceptions_lists(ledger, make_job, reports, clock, config):
    from floorterm.ledger import MaterialSpec

    late = make_job("E-LATE", release=5, planned_end=dt.date(2026, 11, 20), materials=())
    due = make_job("E-DUE", release=5, planned_end=dt.date(2026, 11, 23), materials=())
    make_job("E-LATER", release=5, planned_end=dt.date(2026, 11, 26), materials=())
    held = make_job("E-HOLD", release=5, materials=())
    ledger.hold(held, actor=SUPERVISOR, note="customer query")
    prio = make_job("E-PRIO", release=5, materials=())
    ledger.change_priority(prio, 1, actor=SUPERVISOR, note="rush")
    qc = make_job("E-QC", qty=4, routing="machined_part", release=4, materials=())
    move_to(ledger, config, qc, "FQC", 4)
    ready = make_job("E-READY", qty=3, routing="machined_part", release=3, materials=())
    move_to(ledger, config, ready, "DISP", 3)
    rework = make_job("E-RWK", release=10, materials=())
    ledger.reject(rework, "CUT", 2, "DIM", actor=SUPERVISOR)
    ledger.reject(rework, "CUT", 3, "BURR", actor=SUPERVISOR)
    ledger.rework(rework, "CUT", 3, actor=SUPERVISOR)  # 2 still await a decision, 3 back in the queue
    short = make_job("E-SHORT", release=5, materials=(MaterialSpec("PLATE-8", 40), MaterialSpec("BOLT-M12", 80)))
    ledger.material_issue(short, "PLATE-8", 40, actor=SUPERVISOR)
    make_job("E-PLANNED", materials=(MaterialSpec("PLATE-8", 10),))  # not released: not blocked
    delayed = make_job("E-DELAY", release=5, materials=())
    clock.advance(hours=1)
    ledger.delay(delayed, "CUT", "TOOL", actor=SUPERVISOR)
    clock.advance(hours=5)  # now 13:00 UTC; everything released has waited 5-6 h

    ex = reports.exceptions()

    assert [(i.number, i.stage, i.label, i.seconds) for i in ex.delayed] == [
        (delayed, "CUT", "Tool unavailable", 5 * HOUR)
    ]
    assert [(i.number, i.days_late) for i in ex.late] == [(late, 3)]
    # Planned for today: due at midnight Berlin (23:00 UTC), ten hours from now.
    assert [(i.number, i.hours_left) for i in ex.due_soon] == [(due, pytest.approx(10.0))]
    assert [(i.number, i.note) for i in ex.on_hold] == [(held, "customer query")]
    assert ex.on_hold[0].since == T0
    assert [(i.number, i.initial_priority, i.priority) for i in ex.priority_changed] == [(prio, 5, 1)]
    assert [(i.number, i.stage, i.pending) for i in ex.pending_qc] == [(qc, "FQC", 4)]
    assert [(i.number, i.qty) for i in ex.ready_for_dispatch] == [(ready, 3)]
    assert sorted((i.stage, i.qty, i.what) for i in ex.pending_rework if i.number == rework) == [
        ("CUT", 2, "decision"),
        ("CUT", 3, "rework"),
    ]
    assert [(i.number, [(line.item, line.short) for line in i.lines]) for i in ex.material_short] == [
        (short, [("BOLT-M12", 80)])
    ]
    # Every released step has waited past the first threshold (4 h), oldest first.
    assert len(ex.ageing) >= 8 and all(i.bucket == 1 and i.label == "4–24 h" for i in ex.ageing)
    assert [i.seconds for i in ex.ageing] == sorted((i.seconds for i in ex.ageing), reverse=True)

    counts = reports.counts()
    assert list(counts) == list(EXCEPTION_VIEWS)
    assert counts == {name: len(getattr(ex, name)) for name in EXCEPTION_VIEWS}
    assert counts["late"] == 1 and counts["on_hold"] == 1


# -- ageing -----------------------------------------------------------------------------------


def test_ageing_counts_waiting_steps_and_quantity_per_bucket_and_stage(ledger, make_job, reports, clock):
    a = make_job("A-1", qty=5, release=5, materials=())
    clock.advance(hours=50)
    make_job("A-2", qty=6, release=6, materials=())
    clock.advance(hours=26)
    make_job("A-3", qty=7, release=7, materials=())
    clock.advance(hours=3)
    make_job("A-4", qty=8, release=8, materials=())
    ledger.complete(a, "CUT", 2, actor=SUPERVISOR)  # 2 of A-1 start waiting at CNC
    clock.advance(hours=1)  # ages at CUT: 80 h, 30 h, 4 h, 1 h; at CNC: 1 h

    report = reports.ageing()
    assert [b.label for b in report.buckets] == ["< 4 h", "4–24 h", "24–72 h", "> 72 h"]
    table = {b.label: {code: (c.jobs, c.qty) for code, c in b.by_stage.items() if c.jobs} for b in report.buckets}
    assert table == {
        "< 4 h": {"CUT": (1, 8), "CNC": (1, 2)},
        "4–24 h": {"CUT": (1, 7)},
        "24–72 h": {"CUT": (1, 6)},
        "> 72 h": {"CUT": (1, 3)},
    }
    assert [(b.jobs, b.qty) for b in report.buckets] == [(2, 10), (1, 7), (1, 6), (1, 3)]
    assert [i.number for i in reports.exceptions().ageing] == ["A-1", "A-2", "A-3"]


# -- delays and rejections over a range ---------------------------------------------------------


def test_delays_by_reason_counts_closed_and_open_delays_and_skips_voided_ones(ledger, make_job, reports, clock):
    a = make_job("D-1", release=5, materials=())
    b = make_job("D-2", release=5, materials=())
    c = make_job("D-3", release=5, materials=())
    d = make_job("D-4", release=5, materials=())
    ledger.delay(a, "CUT", "MAT", actor=SUPERVISOR)  # T0 .. T0+2h, closed
    clock.advance(hours=1)
    ledger.delay(b, "CUT", "MACH", actor=SUPERVISOR)  # T0+1h .. T0+1.5h, closed
    wrong = ledger.delay(c, "CUT", "TOOL", actor=SUPERVISOR)
    ledger.void(wrong.uuid, actor=SUPERVISOR, note="wrong job")  # never happened
    ledger.delay(d, "CUT", "OPR", actor=SUPERVISOR)  # T0+1h, its resume is voided: still open
    clock.advance(minutes=30)
    ledger.resume(b, "CUT", actor=SUPERVISOR)
    clock.advance(minutes=30)
    ledger.resume(a, "CUT", actor=SUPERVISOR)
    undone = ledger.resume(d, "CUT", actor=SUPERVISOR)
    ledger.void(undone.uuid, actor=SUPERVISOR, note="not fixed yet")
    clock.advance(hours=1)
    ledger.delay(a, "CUT", "MAT", actor=SUPERVISOR)  # T0+3h, still open
    clock.advance(hours=1)  # now T0 + 4 h

    since, until = reports.period("today")
    result = [(r.reason, r.label, r.count, r.seconds) for r in reports.delays_by_reason(since, until)]
    assert result == [
        ("MAT", "Material shortage", 2, 3 * HOUR),
        ("OPR", "Operator unavailable", 1, 3 * HOUR),
        ("MACH", "Machine unavailable", 1, 0.5 * HOUR),
    ]

    # Only the part inside the range counts.
    clipped = {
        r.reason: (r.count, r.seconds)
        for r in reports.delays_by_reason(T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=3, minutes=30))
    }
    assert clipped == {"MAT": (2, 1.5 * HOUR), "MACH": (1, 0.5 * HOUR), "OPR": (1, 2.5 * HOUR)}
    gap = reports.delays_by_reason(T0 + dt.timedelta(hours=2, minutes=10), T0 + dt.timedelta(hours=2, minutes=50))
    assert [(r.reason, r.seconds) for r in gap] == [("OPR", 40 * 60.0)]


def test_rejections_by_reason_and_stage_without_voided_ones(ledger, make_job, reports, clock):
    job = make_job("X-1", qty=20, routing="machined_part", release=20, materials=())
    ledger.reject(job, "CUT", 2, "DIM", actor=SUPERVISOR)
    ledger.reject(job, "CUT", 1, "BURR", actor=SUPERVISOR)
    wrong = ledger.reject(job, "CUT", 4, "SCR", actor=SUPERVISOR)
    ledger.void(wrong.uuid, actor=SUPERVISOR, note="typed 4 for 0")
    ledger.complete(job, "CUT", 17, actor=SUPERVISOR)
    ledger.reject(job, "CNC", 3, "DIM", actor=SUPERVISOR)
    ledger.reject(job, "CNC", 1, "DFT", actor=SUPERVISOR)
    ledger.complete(job, "CNC", 13, actor=SUPERVISOR)
    ledger.qc_fail(job, "FQC", 2, "DIM", actor=SUPERVISOR)
    ledger.qc_fail(job, "FQC", 1, "DFT", actor=SUPERVISOR)
    clock.advance(minutes=5)

    since, until = reports.period("today")
    rej = reports.rejections(since, until)
    # DIM means the same in both lists and is merged; DFT is labelled differently, so it is not.
    assert [(r.code, r.label, r.qty, r.count) for r in rej.by_reason] == [
        ("DIM", "Dimension out of tolerance", 7, 3),
        ("BURR", "Burrs / sharp edges", 1, 1),
        ("DFT", "Coating thickness out of spec", 1, 1),
        ("DFT", "Paint thickness out of spec", 1, 1),
    ]
    assert [(s.stage, s.name, s.qty) for s in rej.by_stage] == [
        ("CNC", "CNC machining", 4),
        ("CUT", "Cutting", 3),
        ("FQC", "Final QC", 3),
    ]
    assert rej.qty == 10

    later = reports.rejections(clock.now, clock.now + dt.timedelta(hours=1))
    assert (later.by_reason, later.by_stage, later.qty) == ([], [], 0)


# -- periods and plain rows ---------------------------------------------------------------------


def test_period_boundaries_are_plant_days_weeks_and_shifts_in_utc(config):
    reports = Reports(config, clock=FakeClock(T0))  # Monday 08:00 Berlin (UTC+1)
    assert reports.period("today") == (dt.datetime(2026, 11, 22, 23, 0), dt.datetime(2026, 11, 23, 23, 0))
    assert reports.period("yesterday") == (dt.datetime(2026, 11, 21, 23, 0), dt.datetime(2026, 11, 22, 23, 0))
    assert reports.period("week") == (dt.datetime(2026, 11, 22, 23, 0), dt.datetime(2026, 11, 29, 23, 0))
    assert reports.period("shift") == (dt.datetime(2026, 11, 23, 5, 0), dt.datetime(2026, 11, 23, 13, 0))
    # The night shift runs past midnight; on Wednesday 00:30 Berlin it began Tuesday 22:00 Berlin.
    night = Reports(config, clock=FakeClock(dt.datetime(2026, 11, 24, 23, 30)))
    assert night.period("shift") == (dt.datetime(2026, 11, 24, 21, 0), dt.datetime(2026, 11, 25, 5, 0))
    # The week after clocks went forward (29 March 2026) starts at midnight summer time.
    spring = Reports(config, clock=FakeClock(dt.datetime(2026, 4, 1, 12, 0)))
    assert spring.period("week") == (dt.datetime(2026, 3, 29, 22, 0), dt.datetime(2026, 4, 5, 22, 0))
    with pytest.raises(InputError, match="today"):
        reports.period("fortnight")


def test_as_rows_gives_plain_tables_for_every_report(ledger, make_job, reports, clock):
    job = make_job("T-1", release=10, materials=())
    make_job("T-2", routing="weldment", release=4, materials=())
    ledger.reject(job, "CUT", 2, "DIM", actor=SUPERVISOR)
    ledger.delay(job, "CUT", "MAT", actor=SUPERVISOR)
    clock.advance(hours=5)

    for name in REPORTS:
        headers, rows = reports.as_rows(name)
        assert headers and all(isinstance(h, str) for h in headers), name
        assert all(len(row) == len(headers) for row in rows), name
        assert all(isinstance(v, (str, int)) for row in rows for v in row), name
        json.dumps({"headers": headers, "rows": rows})

    headers, rows = reports.as_rows("wip")
    t2 = dict(zip(headers, next(r for r in rows if r[0] == "T-2")))
    assert (t2["CUT"], t2["CNC"], t2["WELD"]) == (4, "", 0)  # CNC is not on the weldment routing
    assert reports.as_rows("delays") == (
        ["reason", "label", "count", "total", "total_seconds"],
        [["MAT", "Material shortage", 1, "5 h", 18000]],
    )
    assert reports.as_rows("rejections")[1] == [
        ["reason", "DIM", "Dimension out of tolerance", 2, 1],
        ["stage", "CUT", "Cutting", 2, 1],
    ]
    assert reports.as_rows("delays", since=T0 + dt.timedelta(hours=6), until=T0 + dt.timedelta(hours=7))[1] == []
    assert reports.as_rows("ageing")[1] == [["4–24 h", "CUT", 2, 12]]
    exceptions = reports.as_rows("exceptions")[1]
    assert ["delayed", "T-1", "CUT", "", "Material shortage for 5 h"] in exceptions
    bottleneck = dict(zip(*[reports.as_rows("bottlenecks")[0], reports.as_rows("bottlenecks")[1][0]]))
    assert bottleneck["headline"] == "Cutting: 2 jobs waiting, oldest 5 h"
    with pytest.raises(InputError, match="bottlenecks"):
        reports.as_rows("nonsense")


def test_board_is_wip_exceptions_and_bottlenecks_from_one_read(ledger, make_job, reports, clock):
    make_job("O-1", release=10, planned_end=dt.date(2026, 11, 1), materials=())
    other = make_job("O-2", release=6, materials=())
    ledger.complete(other, "CUT", 6, actor=SUPERVISOR)
    clock.advance(hours=2)

    board = reports.board()
    assert board.wip == reports.wip()
    assert board.exceptions == reports.exceptions()
    assert board.bottlenecks == reports.bottlenecks()
