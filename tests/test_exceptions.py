"""The exception lists of floorterm.exceptions (docs/exceptions.md): priority changes in a period,
material issued but not started, steps not updated (working time), late entries per terminal.

Every store test runs on SQLite and PostgreSQL (the conftest `store_url` fixture behind `ledger`
and `run`). Histories are built with the clock the test moves (core) or with `floorterm entries
import`, whose entries carry their own times (CLI)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from floorterm.config import parse_config
from floorterm.errors import ConfigError, InputError
from floorterm.exceptions import COLUMNS, WorkingTime
from floorterm.reports import EXCEPTION_VIEWS, Reports

from conftest import PLANNER, REPO, STORES, SUPERVISOR, at
from test_cli import run, write  # noqa: F401 (fixture)

T0 = dt.datetime(2026, 11, 23, 7, 0)  # the FakeClock's start: Monday 08:00 in Berlin
CUTTER = at("CUT-1", "C1")


def with_thresholds(config, **values):
    return dataclasses.replace(config, thresholds=dataclasses.replace(config.thresholds, **values))


def reports_for(config, clock, **values) -> Reports:
    return Reports(with_thresholds(config, **values) if values else config, clock=clock)


# -- priority changed ----------------------------------------------------------------------------


def test_priority_changes_list_every_change_in_the_period_even_a_change_back(ledger, make_job, clock, config):
    job = make_job("P-1", materials=())
    clock.advance(hours=1)
    ledger.change_priority(job, 2, actor=SUPERVISOR, note="customer called")
    clock.advance(hours=1)
    ledger.change_priority(job, 5, actor=PLANNER, note="back to plan")
    clock.advance(hours=1)
    typo = ledger.change_priority(job, 3, actor=PLANNER, note="typo")
    ledger.void(typo.uuid, actor=SUPERVISOR, note="wrong job")
    reports = Reports(config, clock=clock)

    ex = reports.exceptions(since=T0, until=T0 + dt.timedelta(days=1))
    # The board's first list compares the current priority with the planned one: "5 → 5", no history.
    assert [(i.initial_priority, i.priority) for i in ex.priority_changed] == [(5, 5)]
    got = [(c.number, c.from_priority, c.to_priority, c.badge, c.operator, c.note) for c in ex.priority_changes]
    assert got == [
        ("P-1", 5, 2, "S1", "Sam Supervisor", "customer called"),
        ("P-1", 2, 5, "P1", "Pat Planner", "back to plan"),
    ]  # the voided change is left out
    assert [c.at for c in ex.priority_changes] == [T0 + dt.timedelta(hours=1), T0 + dt.timedelta(hours=2)]
    assert all(c.job_open for c in ex.priority_changes)

    # A period holding only the change back still knows what it changed from.
    later = reports.exceptions(since=T0 + dt.timedelta(hours=1, minutes=30), until=T0 + dt.timedelta(days=1))
    assert [(c.from_priority, c.to_priority) for c in later.priority_changes] == [(2, 5)]
    # The board's default period: the last 24 h.
    clock.advance(hours=23)
    assert [(c.from_priority, c.to_priority) for c in reports.exceptions().priority_changes] == [(2, 5)]

    headers, rows = reports.as_rows("exceptions", since=T0, until=T0 + dt.timedelta(days=1), kind="priority_changed")
    assert headers == COLUMNS["priority_changes"]
    assert [dict(zip(headers, r))["note"] for r in rows] == ["customer called", "back to plan"]
    _, every = reports.as_rows("exceptions", since=T0, until=T0 + dt.timedelta(days=1))
    assert [r[1] for r in every if r[0] == "priority_changed"] == ["P-1", "P-1"]


# -- material issued, not started ------------------------------------------------------------------


def test_material_idle_lists_planned_and_released_jobs_nobody_started(ledger, make_job, clock, config):
    planned = make_job("M-1")  # PLATE-8 40 and BOLT-M12 80 on its bill of materials
    held = make_job("M-2")
    make_job("M-3")  # no material issued: not listed
    ledger.material_issue(planned, "PLATE-8", 40, actor=STORES)
    ledger.material_issue(held, "PLATE-8", 10, actor=STORES)
    ledger.hold(held, actor=SUPERVISOR, note="drawing revision")
    reports = Reports(config, clock=clock)  # idle_after_issue_hours = 4 (the default)
    assert config.thresholds.idle_after_issue_hours == 4

    clock.advance(hours=3, minutes=59)
    assert reports.exceptions().material_idle == []
    clock.advance(hours=1, minutes=1)
    [item] = reports.exceptions().material_idle
    assert (item.number, item.status, item.idle_hours, item.last_issue_at) == ("M-1", "planned", 5.0, T0)
    assert item.items == ("PLATE-8 40 pcs",)

    ledger.release(planned, 20, actor=SUPERVISOR)  # the clock starts again at the release
    release_at = clock()
    clock.advance(hours=1)
    assert reports.exceptions().material_idle == []
    clock.advance(hours=4)
    [item] = reports.exceptions().material_idle
    assert (item.status, item.idle_since, item.idle_hours) == ("released", release_at, 5.0)
    headers, rows = reports.as_rows("exceptions", kind="material_idle")
    assert headers == ["job", "status", "items", "last_issue_at", "idle_since", "idle_hours"]
    assert rows == [["M-1", "released", ["PLATE-8 40 pcs"], T0, release_at, 5.0]]

    ledger.start(planned, "CUT", actor=CUTTER)  # movement: no longer idle
    assert reports.exceptions().material_idle == []


# -- not updated ----------------------------------------------------------------------------------


def test_not_updated_counts_working_hours_inside_working_shifts_only(ledger, make_job, clock, config):
    clock.now = dt.datetime(2026, 11, 23, 19, 0)  # Monday 20:00 in Berlin, in the Late shift
    job = make_job("N-1", release=10, materials=())
    released = clock()
    day_only = reports_for(config, clock, stale_hours=8, working_shifts=("Early", "Late"))  # 06:00-22:00
    round_the_clock = reports_for(config, clock, stale_hours=8)

    clock.now = dt.datetime(2026, 11, 24, 6, 30)  # Tuesday 07:30: 11.5 h later, 2 + 1.5 of them worked
    assert day_only.exceptions().not_updated == []
    [item] = round_the_clock.exceptions().not_updated
    assert (item.number, item.stage, item.pending, item.state, item.idle_hours) == ("N-1", "CUT", 10, "waiting", 11.5)

    clock.now = dt.datetime(2026, 11, 24, 12, 0)  # Tuesday 13:00: 2 + 7 h worked
    [item] = day_only.exceptions().not_updated
    assert (item.idle_since, item.last_entry_at, item.idle_hours) == (released, None, 9.0)

    ledger.start(job, "CUT", actor=CUTTER)  # an entry at the step: recording again
    started = clock()
    assert day_only.exceptions().not_updated == []
    clock.now = dt.datetime(2026, 11, 24, 20, 30)  # 21:30: 8.5 h of the Late and Early shifts later
    [item] = day_only.exceptions().not_updated
    assert (item.state, item.last_entry_at, item.idle_hours) == ("in work", started, 8.5)
    headers, rows = day_only.as_rows("exceptions", kind="not_updated")
    assert headers == COLUMNS["not_updated"]
    assert rows == [["N-1", "CUT", "Cutting", 10, "in work", started, started, 8.5]]

    ledger.delay(job, "CUT", "MAT", actor=CUTTER)  # an open delay says why: it is in the delayed list
    clock.advance(hours=9)
    assert day_only.exceptions().not_updated == []


def test_not_updated_leaves_out_held_jobs_and_finished_goods(ledger, make_job, clock, config):
    held = make_job("N-2", release=5, materials=())
    ledger.hold(held, actor=SUPERVISOR, note="customer query")
    ready = make_job("N-3", qty=2, routing="machined_part", release=2, materials=())
    for stage in ("CUT", "CNC"):
        ledger.complete(ready, stage, 2, actor=SUPERVISOR)
    ledger.qc_pass(ready, "FQC", 2, actor=SUPERVISOR)
    ledger.complete(ready, "PACK", 2, actor=SUPERVISOR)
    clock.advance(hours=30)
    ex = Reports(config, clock=clock).exceptions()
    assert [i.number for i in ex.ready_for_dispatch] == ["N-3"]
    assert ex.not_updated == []  # the units at the dispatch step wait for a truck, not for an entry


def test_working_time_skips_weekends_nights_and_follows_daylight_saving(config):
    week = WorkingTime(with_thresholds(config, working_shifts=("Early", "Late"), working_days=(0, 1, 2, 3, 4)))
    friday_evening = dt.datetime(2026, 11, 27, 19, 0)  # 20:00 in Berlin
    monday_morning = dt.datetime(2026, 11, 30, 6, 0)  # 07:00
    assert week.seconds(friday_evening, monday_morning) == 3 * 3600  # 20:00-22:00 and 06:00-07:00
    assert week.cutoff(monday_morning, 3) == friday_evening
    nights = WorkingTime(with_thresholds(config, working_shifts=("Night",)))
    # 25 October 2026: the clocks go back at 03:00, so that night's shift (22:00-06:00) lasts 9 hours.
    assert nights.seconds(dt.datetime(2026, 10, 24, 12), dt.datetime(2026, 10, 25, 12)) == 9 * 3600
    assert WorkingTime(config).always  # no working_shifts/days: plain clock time


# -- late entries --------------------------------------------------------------------------------


def test_late_entries_counted_per_terminal(ledger, make_job, clock, config):
    job = make_job("L-1", release=20)  # by the supervisor, at no terminal: not counted
    clock.advance(hours=1)
    ledger.start(job, "CUT", actor=CUTTER, client_time=clock() - dt.timedelta(minutes=45))
    clock.advance(minutes=1)
    ledger.complete(job, "CUT", 5, actor=CUTTER, client_time=clock() - dt.timedelta(minutes=31))
    last_late = clock()
    clock.advance(minutes=1)
    ledger.complete(job, "CUT", 5, actor=CUTTER, client_time=clock() - dt.timedelta(minutes=29))
    ledger.material_issue(job, "BOLT-M12", 80, actor=STORES, client_time=clock() - dt.timedelta(hours=2))
    ledger.material_issue(job, "PLATE-8", 40, actor=STORES)  # on time
    reports = Reports(config, clock=clock)  # late_entry_minutes = 30 (the default)

    got = [(t.terminal, t.late, t.entries, t.worst_minutes) for t in reports.exceptions().late_entries]
    assert got == [("CUT-1", 2, 3, 45.0), ("STORES-1", 1, 2, 120.0)]
    assert reports.exceptions().late_entries[0].last_late_at == last_late
    strict = reports_for(config, clock, late_entry_minutes=60)
    assert [(t.terminal, t.late) for t in strict.exceptions().late_entries] == [("STORES-1", 1)]
    # Counted by arrival: a period that ends before them holds none.
    assert reports.exceptions(since=T0, until=T0 + dt.timedelta(minutes=30)).late_entries == []

    headers, rows = reports.as_rows("exceptions", kind="late_entries")
    assert headers == COLUMNS["late_entries"]
    assert rows[0][:5] == ["CUT-1", 2, 3, 45.0, 30]


# -- refusals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, message",
    [
        ("stale_hours = 0", "thresholds.stale_hours must be between 1 and 8760, got 0"),
        ("idle_after_issue_hours = 1.5", "thresholds.idle_after_issue_hours must be an integer, not float"),
        ('late_entry_minutes = "30"', "thresholds.late_entry_minutes must be an integer, not string"),
        ('working_shifts = ["Day"]', 'thresholds.working_shifts names unknown shift "Day"'),
        ("working_shifts = []", "thresholds.working_shifts must name at least one shift"),
        ('working_days = ["Mon", "Funday"]', 'thresholds.working_days has "Funday"'),
        ("stale_hour = 8", 'unknown key "stale_hour" in [thresholds] (did you mean "stale_hours"?)'),
    ],
)
def test_bad_thresholds_are_refused_at_load_naming_the_key(line, message):
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    assert "late_warning_hours = 24\n" in text
    with pytest.raises(ConfigError) as info:
        parse_config(text.replace("late_warning_hours = 24\n", f"late_warning_hours = 24\n{line}\n"))
    assert message in str(info.value)


def test_good_thresholds_load(config):
    text = (REPO / "config.toml").read_text(encoding="utf-8")
    extra = 'stale_hours = 6\nworking_shifts = ["Early", "Late"]\nworking_days = ["Fri", "Mon"]\n'
    loaded = parse_config(text.replace("late_warning_hours = 24\n", f"late_warning_hours = 24\n{extra}"))
    th = loaded.thresholds
    assert (th.stale_hours, th.working_shifts, th.working_days) == (6, ("Early", "Late"), (0, 4))
    assert (th.idle_after_issue_hours, th.late_entry_minutes) == (4, 30)


def test_unknown_kind_refused_by_the_core(ledger, clock, config):
    reports = Reports(config, clock=clock)
    with pytest.raises(InputError, match="Unknown exception list 'nope'; choose one of: delayed"):
        reports.as_rows("exceptions", kind="nope")
    with pytest.raises(InputError, match="for report exceptions only"):
        reports.as_rows("wip", kind="delayed")
    assert "material_idle" not in EXCEPTION_VIEWS  # the board lists only the names it knows


# -- the command line ------------------------------------------------------------------------------


def test_report_exceptions_from_an_imported_history(run, tmp_path):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    def ago(hours: float) -> str:
        return (now - dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")

    assert run("operators", "add", "S1", "Sam Supervisor", "--role", "supervisor").code == 0
    assert run("jobs", "add", "J-7001", "--qty", "10", "--routing", "weldment").code == 0
    entries = (
        "at,action,job,qty,note\n"
        f"{ago(30)},release,J-7001,10,\n"
        f"{ago(29)},priority,J-7001,2,customer called\n"
        f"{ago(28)},priority,J-7001,5,back to plan\n"
    )
    done = run("entries", "import", write(tmp_path / "entries.csv", entries), "--by", "S1")
    assert done.code == 0, done.err
    window = ["--since", (now - dt.timedelta(days=2)).date().isoformat()]

    result = run("report", "exceptions", "--kind", "priority_changed", *window, "--format", "json")
    assert result.code == 0, result.err
    changes = json.loads(result.out)
    assert [list(c) for c in changes] == [COLUMNS["priority_changes"]] * 2
    assert [(c["job"], c["from_priority"], c["to_priority"], c["badge"], c["note"]) for c in changes] == [
        ("J-7001", 5, 2, "S1", "customer called"),
        ("J-7001", 2, 5, "S1", "back to plan"),
    ]
    assert changes[0]["at"] == ago(29)

    result = run("report", "exceptions", "--kind", "not_updated", "--format", "json")
    [stale] = json.loads(result.out)
    assert (stale["job"], stale["stage"], stale["pending"], stale["last_entry_at"]) == ("J-7001", "CUT", 10, None)
    assert stale["idle_since"] == ago(30) and stale["idle_hours"] == pytest.approx(30, abs=0.2)

    result = run("report", "exceptions", *window, "--format", "csv")
    lists = [line.split(",")[0] for line in result.out.splitlines()[1:]]
    assert lists.count("priority_changed") == 2 and "not_updated" in lists

    result = run("report", "exceptions", "--kind", "late_entries", "--format", "csv")
    assert result.code == 0 and result.out.splitlines() == [",".join(COLUMNS["late_entries"])]


@pytest.mark.parametrize(
    "args, message",
    [
        (["exceptions", "--kind", "nope"], "argument --kind: invalid choice: 'nope'"),
        (["exceptions", "--period", "month"], "argument --period: invalid choice: 'month'"),
        (["wip", "--kind", "delayed"], "--kind is for report exceptions, not report wip"),
        (["exceptions", "--period", "week", "--since", "2026-11-01"], "Give either --period or --since/--until"),
    ],
)
def test_report_exceptions_refuses_bad_arguments(run, args, message):
    result = run("report", *args)
    assert result.code == 2
    assert message in result.err
