"""`floorterm entries import`: past entries with their own times, checked by the ledger's rules.

Runs on both store backends. The clock stands at 2026-11-23 07:00 UTC = 08:00 in the plant
(Europe/Berlin, UTC+1 in November); the files are written in plant time unless they say otherwise.
"""

from __future__ import annotations

import datetime as dt
import time
from zoneinfo import ZoneInfo

import pytest

from conftest import STORES, SUPERVISOR, event_count, refused
from floorterm import models as m
from floorterm.entries_import import ACTIONS, ImportResult, import_entries, parse_time
from floorterm.errors import InputError, PermissionDenied
from floorterm.ledger import JobSpec
from floorterm.verify import verify_store

BERLIN = ZoneInfo("Europe/Berlin")
HEADER = "at,action,job,step,qty,reason,item,note,operator,terminal,uuid,to_step,substitute,reference"


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def csv(*lines: str, header: str = HEADER) -> str:
    return "\n".join((header, *lines)) + "\n"


def imported(number: str) -> list[m.Event]:
    """The job's events other than its creation, in id order."""
    job = m.Job.get(m.Job.number == number)
    return list(m.Event.select().where((m.Event.job == job.id) & (m.Event.kind != "job_created")).order_by(m.Event.id))


def balance(number: str, stage: str) -> m.StepBalance:
    job = m.Job.get(m.Job.number == number)
    return m.StepBalance.get((m.StepBalance.job == job.id) & (m.StepBalance.stage == stage))


# -- a good file -------------------------------------------------------------------------------


def test_a_shift_of_paper_travellers_lands_in_time_order_with_its_own_times(ledger, queries, config, make_job):
    frame = make_job("J-1001", qty=20)
    weldment = make_job("J-1002", qty=10, routing="weldment", materials=())
    text = csv(
        "2026-11-23 06:40,complete,J-1001,CUT,12,,,,C1,CUT-1,,,,",
        "2026-11-23 06:00,release,J-1001,,20,,,,ST1,STORES-1,,,,",
        "2026-11-23 06:05,issue,J-1001,,40,,PLATE-8,,ST1,STORES-1,,,,",
        "2026-11-23 06:20,substitute,J-1001,,8,,BOLT-M12,,S1,STORES-1,,,BOLT-M12-ZN,",
        "2026-11-23T05:10:00Z,release,J-1002,,10,,,,,,,,,",
        "2026-11-23 06:10,complete,J-1002,CUT,10,,,,C1,CUT-1,,,,",  # same time as the release: after it
        "2026-11-23 06:50,reject,J-1001,CUT,2,DIM,,burr on the edge,C1,CUT-1,,,,",
        "2026-11-23 07:00,rework,J-1001,CUT,2,,,,,,,CUT,,",
        "2026-11-23 07:10,delay,J-1001,CNC,,MACH,,spindle,,,,,,",
        "2026-11-23T07:30+01:00,start,J-1002,WELD,,,,,W1,WELD-1,,,,",
    )
    result = import_entries(ledger, config, text, by_badge="S1")
    assert result == ImportResult(rows=10, written=10, skipped_duplicates=0)

    events = imported(frame)
    assert [(e.kind, e.qty, e.committed_at) for e in events] == [
        ("release", 20, utc("2026-11-23 05:00")),
        ("material_issue", 40, utc("2026-11-23 05:05")),
        ("material_substitute", 8, utc("2026-11-23 05:20")),
        ("complete", 12, utc("2026-11-23 05:40")),
        ("reject", 2, utc("2026-11-23 05:50")),
        ("rework", 2, utc("2026-11-23 06:00")),
        ("delay", 0, utc("2026-11-23 06:10")),
    ]
    assert all(e.client_time == e.committed_at for e in events), "the terminal time is the row's time too"
    supervisor = m.Operator.get(m.Operator.badge == "S1")
    assert {e.recorded_by_id for e in events + imported(weldment)} == {supervisor.id}
    badges = {o.id: o.badge for o in m.Operator.select()}
    assert [badges[e.operator_id] for e in events] == ["ST1", "ST1", "S1", "C1", "C1", "S1", "S1"]
    assert (events[2].item, events[2].item2, events[4].reason, events[4].note) == (
        "BOLT-M12",
        "BOLT-M12-ZN",
        "DIM",
        "burr on the edge",
    )
    # Ids follow the times across both jobs (the file had them out of order).
    everything = [e for e in m.Event.select().order_by(m.Event.id) if e.kind != "job_created"]
    assert [e.committed_at for e in everything] == sorted(e.committed_at for e in everything)
    assert [e.kind for e in imported(weldment)] == ["release", "complete", "start"]

    # Balances and their clocks follow the rows' times, not the clock of the import.
    cut, cnc = balance(frame, "CUT"), balance(frame, "CNC")
    assert (cut.pending, cut.awaiting, cut.rework_in, cut.waiting_since) == (8, 0, 2, utc("2026-11-23 05:00"))
    assert (cnc.pending, cnc.waiting_since, cnc.delay_reason, cnc.delay_since) == (
        12,
        utc("2026-11-23 05:40"),
        "MACH",
        utc("2026-11-23 06:10"),
    )
    assert cnc.delay_event_id == events[-1].id
    weld = balance(weldment, "WELD")
    assert (weld.pending, weld.started, weld.waiting_since) == (10, True, utc("2026-11-23 05:10"))
    assert balance(weldment, "CUT").waiting_since is None
    card = queries.job_card(frame)
    assert (card.released, card.step("CNC").pending, card.status) == (20, 12, "in progress")

    history = queries.history(frame)
    assert (history[0]["kind"], history[0]["recorded_by"], history[0]["committed_at"]) == (
        "delay",
        "S1",
        utc("2026-11-23 06:10"),
    )
    assert verify_store() == []
    # Live entries go on from there, and the store still verifies.
    ledger.complete(frame, "CUT", 8, actor=SUPERVISOR)
    assert queries.history(frame)[0]["recorded_by"] is None
    assert verify_store() == []


def test_a_file_on_disk_and_plant_time_against_offsets(ledger, config, make_job, tmp_path):
    first, second, third = make_job(), make_job(), make_job()
    path = tmp_path / "travellers.csv"
    path.write_text(
        csv(
            f"2026-11-23 07:30,release,{first},,5,,,,,,,,,",  # plant time: UTC+1 in November
            f"2026-11-23T07:30:00+01:00,release,{second},,5,,,,,,,,,",
            f"2026-11-23T01:30-05:00,release,{third},,5,,,,,,,,,",
        ),
        encoding="utf-8",
    )
    assert import_entries(ledger, config, path, by_badge="S1").written == 3
    assert {e.committed_at for number in (first, second, third) for e in imported(number)} == {utc("2026-11-23 06:30")}


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-11-23 07:30", "2026-11-23 06:30"),  # winter: UTC+1
        ("2026-07-01 07:30", "2026-07-01 05:30"),  # summer: UTC+2
        ("2026-11-23T07:30", "2026-11-23 06:30"),
        ("2026-11-23 07:30:15.5", "2026-11-23 06:30:15.5"),
        ("2026-11-23T06:30Z", "2026-11-23 06:30"),
        ("2026-11-23T07:30:00+0100", "2026-11-23 06:30"),
        ("2026-10-25 02:30+02:00", "2026-10-25 00:30"),  # the hour the clocks go back, with its offset
        ("2026-10-25 02:30+01:00", "2026-10-25 01:30"),
    ],
)
def test_parse_time(text, expected):
    assert parse_time(text, BERLIN) == utc(expected)


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "2026-10-25 02:30",
            "the plant clock showed this time twice (the clocks went back); give its offset: "
            "2026-10-25 02:30+02:00 or 2026-10-25 02:30+01:00",
        ),
        (
            "2026-03-29 02:30",
            "the plant clock never showed this time (the clocks went forward); give its offset, "
            "e.g. 2026-03-29 02:30+01:00",
        ),
        ("2026-11-23", "not a time; write it like 2026-11-23 07:30 (plant time) or 2026-11-23T07:30+01:00"),
        ("23.11.2026 07:30", "not a time; write it like 2026-11-23 07:30 (plant time) or 2026-11-23T07:30+01:00"),
        ("2026-11-31 07:30", "not a real date and time"),
        ("2026-11-23 25:00", "not a real date and time"),
    ],
)
def test_parse_time_refuses(text, message):
    with pytest.raises(InputError) as info:
        parse_time(text, BERLIN)
    assert str(info.value) == message


# -- ids: importing again writes nothing twice ------------------------------------------------


IDS = (
    "0b6a7f7e-8c1d-4a57-9b8e-3f3c2d1e0a01",
    "0b6a7f7e-8c1d-4a57-9b8e-3f3c2d1e0a02",
    "0b6a7f7e-8c1d-4a57-9b8e-3f3c2d1e0a03",
    "0b6a7f7e-8c1d-4a57-9b8e-3f3c2d1e0a04",
)


def test_importing_again_with_ids_writes_nothing_twice(ledger, queries, config, make_job):
    job = make_job()
    rows = [
        f"2026-11-23 06:00,release,{job},,20,,,,ST1,STORES-1,{IDS[0]},,,",
        f"2026-11-23 06:30,complete,{job},CUT,15,,,,C1,CUT-1,{IDS[1]},,,",
        f"2026-11-23 06:45,reject,{job},CUT,2,DIM,,,C1,CUT-1,{IDS[2]},,,",
    ]
    assert import_entries(ledger, config, csv(*rows), by_badge="S1") == ImportResult(3, 3, 0)
    card = queries.job_card(job).to_json()
    assert import_entries(ledger, config, csv(*rows), by_badge="S1") == ImportResult(3, 0, 3)
    assert (event_count(), queries.job_card(job).to_json()) == (4, card)
    # The next shift's file repeats the last lines and adds one: only the new one lands.
    later = rows + [f"2026-11-23 07:50,complete,{job},CUT,3,,,,C1,CUT-1,{IDS[3]},,,"]
    assert import_entries(ledger, config, csv(*later), by_badge="S1") == ImportResult(4, 1, 3)
    assert queries.job_card(job).step("CUT").pending == 0
    assert verify_store() == []


def test_an_id_already_used_for_another_entry_is_refused(ledger, queries, config, make_job):
    job = make_job()
    first = f"2026-11-23 06:00,release,{job},,20,,,,ST1,STORES-1,{IDS[0]},,,"
    import_entries(ledger, config, csv(first), by_badge="S1")
    changed_qty = f"2026-11-23 06:00,release,{job},,12,,,,ST1,STORES-1,{IDS[0]},,,"
    changed_time = f"2026-11-23 06:05,release,{job},,20,,,,ST1,STORES-1,{IDS[0]},,,"
    twice = f"2026-11-23 07:00,complete,{job},CUT,1,,,,C1,CUT-1,{IDS[1]},,,"
    message = refused(
        queries, job, lambda: import_entries(ledger, config, csv(changed_qty, twice, twice), by_badge="S1"), InputError
    )
    assert message.splitlines() == [
        f"entries.csv line 2, column uuid: '{IDS[0]}' — entry id {IDS[0]} is already used for a different entry "
        "(qty was 20, now 12)",
        f"entries.csv line 4, column uuid: '{IDS[1]}' — entry id already on line 3",
    ]
    message = refused(
        queries, job, lambda: import_entries(ledger, config, csv(changed_time), by_badge="S1"), InputError
    )
    assert message == (
        f"entries.csv line 2, column uuid: '{IDS[0]}' — entry id {IDS[0]} is already used for a "
        "different entry (time was 2026-11-23 06:00:00, now 2026-11-23 06:05:00 (plant time))"
    )


# -- refusals: every bad line named, nothing written ---------------------------------------------


def test_every_bad_line_is_named_and_nothing_is_written(ledger, queries, config, make_job, clock):
    live = make_job("J-2001")
    fresh = make_job("J-2002")
    ledger.release(live, 20, actor=STORES)  # a live entry at 08:00 plant time
    clock.advance(hours=2)  # now 10:00 plant time
    text = csv(
        "2026-11-23 10:30,release,J-2002,,5,,,,,,,,,",
        "2026-11-23 07:30,complete,J-2001,CUT,5,,,,C1,CUT-1,,,,",
        "2026-11-23 09:00,finish,J-2001,CUT,5,,,,C1,CUT-1,,,,",
        "2026-11-23 09:00,release,J-404,,5,,,,,,,,,",
        "2026-11-23 09:00,complete,J-2001,CUT,25,,,,C1,CUT-1,,,,",
        "2026-11-23 09:00,complete,J-2001,CUT,-5,,,,C1,CUT-1,,,,",
        "2026-11-23 09:00,complete,J-2001,CUT,٣,,,,C1,CUT-1,,,,",
        "2026-11-23 09:00,reject,J-2001,CUT,1,WELDX,,,C1,CUT-1,,,,",
        "2026-11-23 09:10,complete,J-2001,CUT,5,,,,C1,CUT-1,,,,",  # a good line: not written either
        "2026-11-23 09:15,void,J-2001,,,,,,,,,,,",
        "2026-11-23 09:20,complete,J-2001,CUT,1,,,,W1,WELD-1,,,,",
        "2026-11-23 09:20,complete,J-2001,WELD,1,,,,,,,,,",
        "2026-11-23 09:20,complete,J-2001,,1,DIM,,,,,,,,",
        "2026-11-23 09:25,issue,J-2001,,1,,PAINT-RAL,,ST1,STORES-1,,,,",
        "2026-11-23 09:30,priority,J-2001,,2,,,,,,,,,",
        "2026-11-23 09:30,complete,J-2001,CUT,1,,,,X9,CUT-1,,,,",
        "2026-11-23 09:30,complete,J-2001,CUT,1,,,,C1,SAW-7,,,,",
        "2026-11-23 9:30,release,J-2002,,1,,,,,,,,,",
    )
    before = queries.job_card(fresh).to_json()
    message = refused(queries, live, lambda: import_entries(ledger, config, text, by_badge="S1"), InputError)
    assert queries.job_card(fresh).to_json() == before
    reasons = (
        "DIM (Dimension out of tolerance), HOLE (Wrong hole position), BEND (Wrong bend angle), "
        "POR (Weld porosity), WCRK (Weld crack), UCUT (Weld undercut), DIST (Weld distortion), "
        "BURR (Burrs / sharp edges), SCR (Surface scratch), RUN (Paint run), "
        "DFT (Paint thickness out of spec), MISS (Missing part / hardware)"
    )
    actions = (
        "release, start, complete, reject, rework, scrap, delay, resume, qc-pass, qc-fail, issue, return, "
        "material-scrap, substitute, send, receive, dispatch, priority, hold, unhold, note"
    )
    assert message.splitlines() == [
        "entries.csv line 2, column at: '2026-11-23 10:30' — is in the future (now 2026-11-23 10:00:00, plant time)",
        "entries.csv line 3, column at: '2026-11-23 07:30' — is before the newest entry of job J-2001 "
        "(2026-11-23 08:00:00, plant time); entries can only be added after it",
        f"entries.csv line 4, column action: 'finish' — unknown action; the actions are: {actions}",
        "entries.csv line 5, column job: 'J-404' — no job J-404 in the store",
        "entries.csv line 6, column qty: '25' — Only 20 pending at Cutting; cannot complete 25",
        "entries.csv line 7, column qty: '-5' — Quantity cannot be negative",
        "entries.csv line 8, column qty: '٣' — Quantity must be typed with the digits 0-9",
        f"entries.csv line 9, column reason: 'WELDX' — WELDX is not a reject reason; choose one of: {reasons}",
        "entries.csv line 11, column action: 'void' — an import adds entries and cannot void one; "
        "use `floorterm record void`",
        "entries.csv line 12: Terminal WELD-1 records Welding only; it cannot record at Cutting",
        "entries.csv line 13: Only 0 pending at Welding; cannot complete 1",
        "entries.csv line 14, column step: empty; complete needs a step",
        "entries.csv line 14, column reason: 'DIM' — complete takes no reason; leave it empty",
        "entries.csv line 15, column item: 'PAINT-RAL' — Item PAINT-RAL is not on the material list of job "
        "J-2001 (listed: BOLT-M12, PLATE-8)",
        "entries.csv line 16, column note: empty; priority needs a note (why)",
        "entries.csv line 17, column operator: 'X9' — Unknown badge X9",
        "entries.csv line 18, column terminal: 'SAW-7' — unknown terminal; the config has: "
        + ", ".join(t.id for t in config.terminals),
        "entries.csv line 19, column at: '2026-11-23 9:30' — not a time; write it like 2026-11-23 07:30 "
        "(plant time) or 2026-11-23T07:30+01:00",
    ]
    assert verify_store() == []


@pytest.mark.parametrize(
    "badge, message",
    [
        ("W1", "Wanda Welder (operator) may not import entries; a supervisor or planner must (--by)"),
        ("V1", "Vic Viewer (viewer) may not import entries; a supervisor or planner must (--by)"),
        ("Q1", "Quinn Inspector (qc) may not import entries; a supervisor or planner must (--by)"),
        ("X9", "Unknown badge X9"),
    ],
)
def test_only_a_supervisor_or_planner_may_import(ledger, queries, config, make_job, badge, message):
    job = make_job()
    text = csv(f"2026-11-23 06:00,release,{job},,20,,,,ST1,STORES-1,,,,")
    refused(queries, job, lambda: import_entries(ledger, config, text, by_badge=badge), PermissionDenied, message)


def test_a_planner_may_import_and_a_disabled_supervisor_may_not(ledger, queries, config, make_job):
    job = make_job()
    text = csv(f"2026-11-23 06:00,release,{job},,20,,,,,,,,,")
    ledger.set_operator_active("S1", False)
    refused(
        queries,
        job,
        lambda: import_entries(ledger, config, text, by_badge="S1"),
        PermissionDenied,
        "Badge S1 (Sam Supervisor) is disabled",
    )
    assert import_entries(ledger, config, text, by_badge="p1").written == 1
    (event,) = imported(job)
    planner = m.Operator.get(m.Operator.badge == "P1")
    assert (event.operator_id, event.recorded_by_id) == (planner.id, planner.id)  # no operator column: --by did it


def test_a_file_with_a_nul_byte_is_refused(ledger, queries, config, make_job, tmp_path):
    job = make_job()
    path = tmp_path / "paper.csv"
    path.write_bytes(
        csv(
            f"2026-11-23 06:00,release,{job},,20,,,,ST1,STORES-1,,,,",
            f"2026-11-23 06:30,complete,{job},CUT,1\x000,,,,C1,CUT-1,,,,",
        ).encode()
    )
    message = refused(queries, job, lambda: import_entries(ledger, config, path, by_badge="S1"), InputError)
    assert message == (
        "paper.csv line 3, column qty: '1?0' — has a NUL byte; save the file as 'CSV UTF-8' and import it again"
    )


def test_an_entry_recorded_while_the_file_is_checked_is_not_overtaken(ledger, queries, config, make_job):
    jobs = [make_job() for _ in range(3)]
    lines = [f"2026-11-23 06:00,release,{job},,20,,,,,,,,," for job in jobs]
    lines += [
        f"2026-11-23 06:{minute:02},note,{jobs[minute % 3]},,,,,shift note {minute},,,,,," for minute in range(1, 60)
    ] * 5  # 300 lines: progress is reported during the check
    live = []

    def record_meanwhile(done, total):
        if not live:  # a kiosk completes units on the first job while the file is being checked
            live.append(ledger.release(jobs[0], 5, actor=STORES))

    before = event_count()
    with pytest.raises(InputError) as info:
        import_entries(ledger, config, csv(*lines), by_badge="S1", progress=record_meanwhile)
    message = str(info.value)
    assert live, "the progress callback ran during the check"
    assert message.splitlines()[0] == (
        f"entries.csv line 2, column at: '2026-11-23 06:00' — is before the newest entry of job {jobs[0]} "
        "(2026-11-23 08:00:00, plant time); entries can only be added after it"
    )
    assert event_count() == before + 1 and [e.kind for e in imported(jobs[0])] == ["release"]  # the live entry
    assert verify_store() == []


# -- a large file -------------------------------------------------------------------------------

LARGE_JOBS = 1000  # x 20 lines = 20,000 lines
WORK = [
    ("CUT", "C1", "CUT-1", "complete"),
    ("CNC", "", "", "complete"),
    ("BEND", "", "", "complete"),
    ("WELD", "W1", "WELD-1", "complete"),
    ("ASSY", "", "", "complete"),
    ("PAINT", "", "", "complete"),
    ("FQC", "Q1", "QC-1", "qc-pass"),
    ("PACK", "", "", "complete"),
]


def large_file() -> str:
    """Each job: released, through every step and dispatched in two batches of 10 over a week."""
    start = dt.datetime(2026, 11, 16, 6, 0)
    lines = []
    for i in range(LARGE_JOBS):
        rows = [("release", "", "ST1", "STORES-1")] * 2
        rows += [(action, stage, badge, terminal) for stage, badge, terminal, action in WORK for _ in range(2)]
        rows += [("dispatch", "", "", "")] * 2
        for k, (action, stage, badge, terminal) in enumerate(rows):
            at = start + dt.timedelta(minutes=i * 7 + k * 11)
            lines.append(f"{at:%Y-%m-%d %H:%M},{action},J-{i:05},{stage},10,,,,{badge},{terminal},,,,")
    return csv(*reversed(lines))  # newest first, as an export from another system might be


def test_a_20000_line_file_with_progress(ledger, queries, config, store_url, capsys):
    ledger.create_jobs([JobSpec(f"J-{i:05}", 20, "standard") for i in range(LARGE_JOBS)])
    text = large_file()
    calls = []
    started = time.perf_counter()
    result = import_entries(
        ledger, config, text, by_badge="S1", progress=lambda done, total: calls.append((done, total))
    )
    took = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n[entries import] 20,000 lines, {store_url.split(':')[0]}: {took:.1f} s")
    assert result == ImportResult(rows=20_000, written=20_000, skipped_duplicates=0)
    assert len(calls) > 40 and calls[-1] == (20_000, 20_000)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls) and {t for _, t in calls} == {20_000}
    assert any(10_000 < done < 20_000 for done, _ in calls), "progress goes on while writing"
    assert queries.job_card("J-00999").dispatched == 20
    assert m.Event.select().where(m.Event.kind == "dispatch").count() == 2 * LARGE_JOBS
    assert verify_store() == []


def test_the_actions_are_the_record_commands():
    from floorterm.cli import ACTIONS as RECORD

    columns = {"priority": "qty"}  # `record priority --priority N` is the qty column
    assert {
        # --whole-job (a delay of the whole job) is the CLI's; a file says it with an empty step,
        # which the import does not take yet.
        action: (kind, tuple(columns.get(o, o) for o in options if o != "whole_job"))
        for action, (kind, options, _) in RECORD.items()
        if action != "void"
    } == ACTIONS
