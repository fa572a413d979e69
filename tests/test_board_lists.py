"""The board's newer lists and lines, on both backends: the exception lists of floorterm.exceptions
(priority changes, material issued not started, not updated, late entries), job-level delays
(listed, resumed, shown as material shortage) and the job view's job-delay and rework lines.
"""

from __future__ import annotations

import datetime as dt

from floorterm import models as m
from floorterm.ledger import Actor
from floorterm.screens.board_actions import BoardForm
from floorterm.screens.board_views import EXCEPTION_TITLES, EXCEPTION_VIEWS, short_item
from floorterm.reports import ShortItem

from conftest import STORES, SUPERVISOR
from test_board_support import board, board_app, press_text, settle, text_of, until

AT_CUT = Actor("C1", terminal="CUT-1")


def build(ledger, make_job, clock) -> None:
    """A priority changed and changed back, an entry typed long after it happened, material issued
    to a job nobody starts, a job-level material-shortage delay, and a day with no entries."""
    make_job("J-2001", qty=10, release=10, materials=())
    ledger.change_priority("J-2001", 3, actor=SUPERVISOR, note="Customer escalation")
    clock.advance(minutes=10)
    ledger.change_priority("J-2001", 5, actor=SUPERVISOR, note="Back to plan")
    make_job("J-2002", qty=5, release=5)
    ledger.material_issue("J-2002", "PLATE-8", 10, actor=STORES)
    make_job("J-2003", qty=4, release=4, materials=())
    ledger.delay("J-2003", None, "MAT", actor=SUPERVISOR)
    clock.advance(hours=9)  # past stale_hours (8) and idle_after_issue_hours (4)
    ledger.complete("J-2001", "CUT", 2, actor=AT_CUT, client_time=clock() - dt.timedelta(hours=2))


async def open_list(pilot, name: str):
    """The exceptions view with list `name` chosen; returns the board screen."""
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    screen = board(pilot.app)
    table = screen.query_one("#exceptions-table")
    await until(pilot, lambda: bool(table.lists), what="the exception lists")
    while table.current != name:
        await pilot.press("right_square_bracket")
    return screen


def details(table, name: str) -> list[tuple[str, str, str, str]]:
    return [(job, stage, qty, detail.plain) for job, stage, qty, detail in table.lists[name]]


def test_every_exception_list_of_the_board_has_a_title_and_help():
    assert "priority_changed" not in EXCEPTION_VIEWS  # replaced by the per-change history
    for name in ("priority_changes", "material_idle", "not_updated", "late_entries"):
        assert name in EXCEPTION_VIEWS
    assert set(EXCEPTION_TITLES) >= set(EXCEPTION_VIEWS)


def test_a_material_shortage_without_short_lines_shows_no_quantity_and_the_delay():
    item = ShortItem(
        "J-9", (), units=7, delay_label="Material shortage", delay_stage_name="(job)", delay_seconds=7200.0
    )
    job, stage, qty, detail = short_item(item)
    assert (job, stage, qty) == ("J-9", "", "")
    assert detail.plain == "delayed (Material shortage) at (job) for 2 h · 7 units held up"


async def test_the_new_lists_show_who_changed_priority_and_what_went_quiet(config, store, clock, ledger, make_job):
    build(ledger, make_job, clock)
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_list(pilot, "priority_changes")
        table = screen.query_one("#exceptions-table")
        changes = details(table, "priority_changes")
        # Every change with who, when, from → to and why; a change back is no longer "5 → 5".
        assert sorted((job, d.split(" by ")[0]) for job, _, _, d in changes) == [
            ("J-2001", "priority 3 → 5"),
            ("J-2001", "priority 5 → 3"),
        ]
        assert any("Sam Supervisor (S1)" in d and d.endswith(": Customer escalation") for *_, d in changes)
        assert any(d.endswith(": Back to plan") for *_, d in changes)
        assert text_of(screen.query_one("#exceptions-title")).strip().startswith("PRIORITY CHANGED (2)")
        idle = details(table, "material_idle")
        assert [job for job, *_ in idle] == ["J-2002"] and "PLATE-8 10" in idle[0][3]
        stale = details(table, "not_updated")
        # The step's name, not its code; J-2001 had an entry just now.
        assert [(j, s, q) for j, s, q, _ in stale] == [("J-2002", "Cutting", "5"), ("J-2003", "Cutting", "4")]
        short = details(table, "material_short")
        assert short == [
            ("J-2002", "", "110", "PLATE-8 short 30 pcs, BOLT-M12 short 80 pcs · 5 units held up"),
            ("J-2003", "", "", "delayed (Material shortage) at (job) for 9 h · 4 units held up"),
        ]
        delayed = details(table, "delayed")
        assert [(j, s) for j, s, *_ in delayed] == [("J-2003", "(job)")]

        # Late entries are per terminal, not per job: Enter on one opens no job card.
        while table.current != "late_entries":
            await pilot.press("right_square_bracket")
        late = details(table, "late_entries")
        assert late == [("", "", "1", late[0][3])]
        assert late[0][3].startswith("CUT-1: 1 of 1 entries arrived over 30 min")
        table.focus()
        await pilot.press("enter")
        await settle(pilot)
        assert screen.view == "exceptions" and screen.card is None
        # Nor does an action key try to act on a job named "".
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BoardForm), what="the badge form")
        await press_text(pilot, "S1")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, BoardForm), what="the badge form to close")
        table.focus()
        await pilot.press("p")
        await pilot.pause(0.2)
        assert not isinstance(app.screen, BoardForm)
        assert "Put the cursor on a job first" in text_of(screen.query_one("#board-message"))


async def test_a_job_level_delay_is_resumed_from_the_delayed_list(config, store, clock, ledger, make_job):
    build(ledger, make_job, clock)
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_list(pilot, "delayed")
        await pilot.press("s")
        await until(pilot, lambda: isinstance(app.screen, BoardForm), what="the badge form")
        await press_text(pilot, "S1")
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, BoardForm), what="the badge form to close")
        table = screen.query_one("#exceptions-table")
        assert table.selected() == ("J-2003", "")
        table.focus()
        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, BoardForm), what="the resume form")
        assert "(the whole job)" in text_of(app.screen.query_one("#form-context"))
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, BoardForm), what="the form to close")
        last = lambda: m.Event.select().order_by(m.Event.id.desc()).get()  # noqa: E731
        await until(pilot, lambda: last().kind == "resume", what="the resume entry")
        assert last().step is None and last().job.number == "J-2003"
        await until(pilot, lambda: not table.lists.get("delayed"), what="the delay to leave the list")


async def test_the_job_view_shows_a_job_delay_and_where_rework_went(config, store, clock, ledger, make_job):
    make_job("J-3001", qty=6, release=6, materials=())
    ledger.complete("J-3001", "CUT", 6, actor=AT_CUT)
    ledger.reject("J-3001", "CNC", 2, "DIM", actor=SUPERVISOR)
    ledger.rework("J-3001", "CNC", 2, actor=SUPERVISOR)
    ledger.delay("J-3001", None, "MAT", actor=SUPERVISOR)
    clock.advance(hours=2)
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        await pilot.press("slash")
        await press_text(pilot, "J-3001")
        await pilot.press("enter")
        await until(pilot, lambda: screen.view == "job" and screen.card is not None, what="the job view")
        await settle(pilot)
        shown = text_of(screen.query_one("#job-card"))
        lines = [line.strip() for line in shown.splitlines() if line.strip()]
        assert lines[0] == "⚑ JOB DELAYED Material shortage 2 h · whole job, entries go on"
        assert "Rework: 2 sent back → 0 passed, 2 at CNC machining" in lines
