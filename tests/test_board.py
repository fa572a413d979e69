"""The WIP board (screens/board.py) driven with Textual's Pilot: every view, search, drill-down,
supervisor actions and their refusals, the store going away, TV mode.

These run on SQLite; tests/test_board_live.py runs the live-update path on both backends.
"""

from __future__ import annotations

import pytest
from rich.text import Text
from textual import events
from textual.keys import _character_to_key

from floorterm import board_feed
from floorterm import models as m
from floorterm._peewee import peewee
from floorterm.ledger import Actor
from floorterm.screens import board as board_module
from floorterm.reports import WipCell
from floorterm.screens.board_actions import BoardForm
from floorterm.screens.board_format import age_limits, cell_text
from floorterm.screens.board_views import CELL_WIDTH

from test_board_support import board, board_app, build_plant, press_text, settle, text_of, until


SUPERVISOR_AT_CUT = Actor("S1", terminal="BOARD-1")


@pytest.fixture
def store_url(sqlite_url):
    """The board's screen tests use SQLite; the live tests cover PostgreSQL."""
    return sqlite_url


@pytest.fixture
def plant(ledger, make_job, clock):
    return build_plant(ledger, make_job, clock)


def event_count() -> int:
    return m.Event.select().count()


async def sign_in(pilot, badge: str) -> None:
    await pilot.press("s")
    await until(pilot, lambda: isinstance(pilot.app.screen, BoardForm), what="the badge form")
    await press_text(pilot, badge)
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(pilot.app.screen, BoardForm), what="the form to close")
    await settle(pilot)


async def fill_form(pilot, *lines: str) -> None:
    """Type each line of the open form and press Enter after it."""
    await until(pilot, lambda: isinstance(pilot.app.screen, BoardForm), what="a form")
    for line in lines:
        await press_text(pilot, line)
        await pilot.press("enter")
    await until(pilot, lambda: not isinstance(pilot.app.screen, BoardForm), what="the form to close")


def job_order(table) -> list[str]:
    """Job numbers in the order the table shows them."""
    return [row.key.value for row in table.ordered_rows if not row.key.value.startswith("__")]


def message(app) -> str:
    return text_of(app.screen.query_one("#board-message"))


def keys(app) -> str:
    return text_of(app.screen.query_one("#board-keys"))


# -- WIP ------------------------------------------------------------------------------------------


async def test_wip_view_lists_open_jobs_in_board_order_with_state_in_words(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        table = screen.table
        # Priority first (1, 2, 3 after the change), then planned completion, then number.
        assert job_order(table) == ["J-1004", "J-1001", "J-1003", "J-1002", "J-1006", "J-1007", "J-1005"]
        assert table.cell_plain("J-1001", "CUT") == "8 W 5h"  # 20 released, 12 done; voided 3 do not count
        assert table.cell_plain("J-1001", "CNC") == "12 ▶ 5h"
        assert table.cell_plain("J-1002", "CNC") == "10 DLY MACH"
        assert table.cell_plain("J-1007", "CUT") == "10 W 5h +2R"
        assert table.cell_plain("J-1004", "CUT") == "✓"
        assert table.cell_plain("J-1004", "BEND") == ""  # not on the machined_part routing
        assert table.cell_plain("J-1005", "CUT") == "·"  # planned, nothing released
        assert "HOLD" in table.get_cell("J-1006", "job").plain and "LATE" in table.get_cell("J-1003", "job").plain
        # Colour repeats the age: past the first threshold (4 h) the cell is no longer the calm style.
        assert table.get_cell("J-1001", "CUT").text.spans[0].style == "black on #ffd700"
        # Summary rows per stage: pending, jobs waiting, oldest / average, done this shift.
        assert table.get_cell("__sum_pending", "CUT").plain == str(8 + 5 + 6 + 10)
        assert table.get_cell("__sum_jobs", "CNC").plain == "2 1DLY"
        assert table.get_cell("__sum_wait", "CUT").plain == "5h / 5h"
        assert table.get_cell("__sum_done", "CUT").plain == "30"  # 12 + 10 + 8, the voided 3 left out
        assert table.get_cell("__sum_done", "job").plain == "Done this shift"
        assert "live" in text_of(screen.query_one("#board-header"))


async def test_enter_on_a_row_drills_down_to_the_job_and_escape_comes_back(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        await pilot.press("down")  # from J-1004 to J-1001
        assert screen.table.selected() == ("J-1001", "CUT")
        await pilot.press("enter")
        await until(pilot, lambda: screen.view == "job" and screen.card is not None)
        assert screen.card.number == "J-1001"
        assert "Job J-1001" in text_of(screen.query_one("#job-card"))
        await pilot.press("escape")
        assert screen.view == "wip" and screen.table.selected() == ("J-1001", "CUT")


# -- bottlenecks, exceptions, delays ------------------------------------------------------------------


async def test_bottlenecks_view_names_the_worst_stage_plainly(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("2")
        screen = board(app)
        await until(pilot, lambda: screen.flows and screen.trends is not None, what="the waiting history")
        await settle(pilot)
        head = text_of(screen.query_one("#bottlenecks-head"))
        # Today since 00:00: Cutting held 65 units for up to 5 h 30 min, more unit-hours than any other.
        assert head.startswith("WORST Today (Mon 23 Nov):  Cutting  "), head
        assert "unit-hours of waiting; 9 in 10 units waited under" in head
        body = text_of(screen.query_one("#bottlenecks-body"))
        assert body.startswith("Right now")
        assert "Ranked by expected wait" in body and "Ranked by longest waiting job" in body
        assert "█" in body  # bars, not only numbers


async def test_exceptions_view_has_one_list_per_view_with_counts_and_opens_jobs(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await exceptions_view(pilot)
        menu = [" ".join(text_of_option(screen, i).split()) for i in range(14)]
        assert menu == [
            "▶ Delayed 1",
            "Late 1",
            "Due soon 0",
            "WIP ageing 7",
            "Not updated 0",
            "Pending QC 1",
            "Pending rework 1",
            "Ready to dispatch 0",
            "Material short 0",
            "Issued not started 0",
            "Priority changed 1",
            "On hold 1",
            "Refused on replay 0",
            "Late entries 0",
        ]
        title = text_of(screen.query_one("#exceptions-title"))
        assert title.strip().startswith("DELAYED (1)")
        table = screen.query_one("#exceptions-table")
        assert table.selected() == ("J-1002", "CNC")
        assert table.get_cell_at((0, 3)).plain == "Machine unavailable for 4 h (since today 09:30)"
        for _ in range(11):  # ] eleven times: on hold
            await pilot.press("right_square_bracket")
        assert text_of(screen.query_one("#exceptions-title")).strip().startswith("ON HOLD (1)")
        detail = table.get_cell_at((0, 3))
        assert detail.plain.endswith("[bold]Customer stop[/bold]")  # what was typed, never markup
        await pilot.press("enter")
        await until(pilot, lambda: screen.view == "job" and screen.card is not None)
        assert screen.card.number == "J-1006"


async def exceptions_view(pilot):
    """Open the exceptions view once the board is loaded; returns the board screen."""
    await settle(pilot)
    await pilot.press("3")
    await settle(pilot)
    return board(pilot.app)


def text_of_option(screen, index: int) -> str:
    menu = screen.query_one("#exception-lists")
    return str(menu.get_option_at_index(index).prompt).strip("\n")


async def test_delays_view_shows_bars_for_today_this_week_and_a_chosen_range(config, store, clock, plant, ledger):
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        await pilot.press("4")
        await settle(pilot)
        body = text_of(screen.query_one("#delays-body"))
        assert body.startswith("Today (Mon 23 Nov)")
        assert "Machine unavailable" in body and "Dimension out of tolerance" in body and "Cutting" in body
        assert "█" in body
        await pilot.press("w")
        await until(pilot, lambda: text_of(screen.query_one("#delays-body")).startswith("This week"))
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, BoardForm))
        form = app.screen
        form.query_one("#form-since").value = "2026-11-01"
        form.query_one("#form-until").value = "2026-11-10"
        form.query_one("#form-until").focus()
        await pilot.press("enter")
        await until(
            pilot, lambda: text_of(screen.query_one("#delays-body")).startswith("Sun 01 Nov 2026 to Tue 10 Nov")
        )
        body = text_of(screen.query_one("#delays-body"))
        assert "no delays in this period" in body and "no rejections in this period" in body


async def test_range_form_refuses_an_end_before_the_start(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("4", "g")
        await until(pilot, lambda: isinstance(app.screen, BoardForm))
        form = app.screen
        form.query_one("#form-since").value = "2026-11-10"
        form.query_one("#form-until").value = "2026-11-01"
        form.query_one("#form-until").focus()
        await pilot.press("enter")
        assert isinstance(app.screen, BoardForm)
        assert "before the start" in text_of(form.query_one("#form-error"))
        await pilot.press("escape")
        assert not isinstance(app.screen, BoardForm)


# -- job: search, scan, history -----------------------------------------------------------------------


async def test_a_job_number_typed_anywhere_opens_its_card_and_full_history(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        await pilot.press("2")
        await press_text(pilot, "J-1001")  # as a scanner types it: no key first
        await pilot.press("enter")
        await until(pilot, lambda: screen.view == "job" and screen.card is not None)
        history = screen.query_one("#job-history")
        rows = [[c.plain for c in history.get_row_at(i)] for i in range(history.row_count)]
        # Newest first: start, the void, the voided complete, the complete, the release, the job's creation.
        assert [r[1] for r in rows] == [
            "Started",
            "VOID: Completed",
            "Completed",
            "Completed",
            "Released",
            "Job created",
        ]
        voided = history.get_row_at(2)
        assert rows[2][2] == "3" and rows[2][3] == "Cutting"
        assert "strike" in str(voided[1].spans[0].style)
        assert rows[2][7] == "VOIDED: Booked on the wrong job"
        assert rows[4][5] == "Sam Supervisor (S1)" and rows[4][0] == "today 08:00"
        assert rows[3][6] == "—"  # recorded without a terminal (the office)
        assert "Job J-1001" in text_of(screen.query_one("#job-card"))


async def test_a_fast_scan_lands_whole_in_the_find_line_even_its_digits(config, store, clock, plant):
    """A scanner sends all its keys at once, before focus reaches the find line: no digit of the
    scan may switch views, no character may be lost."""
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        for ch in "J-1004\r":
            key = "enter" if ch == "\r" else _character_to_key(ch)
            app.post_message(events.Key(key, None if ch == "\r" else ch))
        await until(pilot, lambda: screen.card is not None)
        assert screen.card.number == "J-1004" and screen.view == "job"


async def test_search_by_part_of_a_number_lists_matches_and_opens_the_chosen_one(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        await pilot.press("slash")
        await press_text(pilot, "100")
        await pilot.press("enter")
        matches = screen.query_one("#job-matches")
        await until(pilot, lambda: matches.display and matches.option_count == 7)
        assert "7 open jobs match '100'" in text_of(screen.query_one("#job-title"))
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: screen.card is not None)
        assert screen.card.number == matches.get_option_at_index(2).id


async def test_an_unknown_job_is_said_in_words(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("slash")
        await press_text(pilot, "X-9")
        await pilot.press("enter")
        await until(pilot, lambda: "No job matches X-9" in message(app))
        assert board(app).view == "wip"


# -- supervisor actions ------------------------------------------------------------------------------


async def test_supervisor_resumes_a_delay_from_the_wip_cell(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        await sign_in(pilot, "S1")
        assert "Sam Supervisor (supervisor)" in text_of(screen.query_one("#board-header"))
        assert " r  resume" in keys(app) and " p  priority" in keys(app) and " h  hold/release" in keys(app)
        screen.table.move_cursor(row=screen.table.get_row_index("J-1002"), column=2)  # CNC
        await pilot.press("r")
        await fill_form(pilot, "")  # the note is optional
        await until(pilot, lambda: screen.table.cell_plain("J-1002", "CNC") == "10 W 5h")
        last = m.Event.select().order_by(m.Event.id.desc()).get()
        assert (last.kind, last.terminal, last.operator.badge) == ("resume", "BOARD-1", "S1")
        assert "✓" in message(app)


async def test_supervisor_changes_priority_with_a_reason_and_the_row_moves(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        await sign_in(pilot, "S1")
        screen.table.move_cursor(row=screen.table.get_row_index("J-1007"), column=1)
        await pilot.press("p")
        await fill_form(pilot, "1", "Truck leaves at noon")
        await until(pilot, lambda: screen.table.get_cell("J-1007", "job").plain.startswith("1 J-1007"))
        order = job_order(screen.table)
        assert order.index("J-1007") < order.index("J-1001")
        assert screen.table.selected()[0] == "J-1007"  # the cursor went with its job
        last = m.Event.select().order_by(m.Event.id.desc()).get()
        assert (last.kind, last.qty, last.note) == ("priority", 1, "Truck leaves at noon")


async def test_priority_form_needs_a_reason_and_a_priority_from_1_to_9(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await sign_in(pilot, "S1")
        before = event_count()
        await pilot.press("p")
        await until(pilot, lambda: isinstance(app.screen, BoardForm))
        form = app.screen
        await press_text(pilot, "12")
        await pilot.press("enter", "enter")
        assert isinstance(app.screen, BoardForm) and "priority" in text_of(form.query_one("#form-error")).lower()
        form.query_one("#form-priority").value = "2"
        form.query_one("#form-reason").focus()
        await pilot.press("enter")
        assert "reason" in text_of(form.query_one("#form-error")).lower()
        await pilot.press("escape")
        assert event_count() == before


async def test_supervisor_puts_a_job_on_hold_and_releases_it(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        await sign_in(pilot, "S1")
        screen.table.move_cursor(row=screen.table.get_row_index("J-1001"), column=1)
        await pilot.press("h")
        await fill_form(pilot, "Waiting for the customer's drawing")
        await until(pilot, lambda: "HOLD" in screen.table.get_cell("J-1001", "job").plain)
        await settle(pilot)
        await pilot.press("h")
        await until(pilot, lambda: isinstance(app.screen, BoardForm))
        assert "Release the hold on J-1001" in text_of(app.screen.query_one("#form-title"))
        await fill_form(pilot, "Drawing arrived")
        await until(pilot, lambda: "HOLD" not in screen.table.get_cell("J-1001", "job").plain)
        kinds = [e.kind for e in m.Event.select().order_by(m.Event.id.desc()).limit(2)]
        assert kinds == ["unhold", "hold"]


async def test_supervisor_voids_an_entry_from_the_job_history(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        await sign_in(pilot, "S1")
        screen.table.move_cursor(row=screen.table.get_row_index("J-1007"), column=1)
        await pilot.press("enter")
        await until(pilot, lambda: screen.view == "job" and screen.card is not None)
        assert " v  void entry" in keys(app)
        history = screen.query_one("#job-history")
        # Newest first: the reject of 2 at Cutting, then the release, then the job's creation.
        assert history.selected()["kind"] == "reject"
        await pilot.press("v")
        await fill_form(pilot, "Parts were fine after all")
        await until(pilot, lambda: history.row_count == 4, what="the void in the history")
        assert history.get_row_at(1)[7].plain == "VOIDED: Parts were fine after all"
        assert history.get_row_at(0)[1].plain == "VOID: Rejected"
        await pilot.press("escape")
        await until(pilot, lambda: screen.table.cell_plain("J-1007", "CUT") == "12 W 5h")


async def test_void_of_a_void_or_voided_entry_is_refused_before_writing(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        await sign_in(pilot, "S1")
        screen.open_job("J-1001")
        await until(pilot, lambda: screen.view == "job" and screen.card is not None)
        before = event_count()
        history = screen.query_one("#job-history")
        history.move_cursor(row=1)  # the void
        await pilot.press("v")
        assert "cannot be voided" in message(app)
        history.move_cursor(row=2)  # the voided complete
        await pilot.press("v")
        assert "already voided" in message(app)
        history.move_cursor(row=history.row_count - 1)  # the job's creation
        await pilot.press("v")
        assert "A job's creation cannot be voided" in message(app)
        assert not isinstance(app.screen, BoardForm) and event_count() == before


# -- refusals -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["r", "p", "h", "v"])
async def test_a_board_nobody_signed_in_to_is_read_only(config, store, clock, plant, key):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        assert all(word not in keys(app) for word in ("resume", "priority", "hold", "void"))
        screen.table.move_cursor(row=screen.table.get_row_index("J-1002"), column=2)
        before = event_count()
        await pilot.press(key)
        await pilot.pause()
        assert not isinstance(app.screen, BoardForm)
        assert "Sign in with a supervisor's badge" in message(app)
        assert event_count() == before


@pytest.mark.parametrize("key", ["r", "p", "h", "v"])
async def test_a_viewer_cannot_sign_in_to_act_and_sees_no_action_keys(config, store, clock, plant, key):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        await sign_in(pilot, "V1")
        assert "Vic Viewer (viewer) may look but not act" in message(app)
        assert screen.operator is None and "read-only" in text_of(screen.query_one("#board-header"))
        assert all(word not in keys(app) for word in ("resume", "priority", "hold", "void"))
        before = event_count()
        screen.table.move_cursor(row=screen.table.get_row_index("J-1002"), column=2)
        await pilot.press(key)
        await pilot.pause()
        assert not isinstance(app.screen, BoardForm) and event_count() == before


async def test_the_ledger_refuses_what_the_role_may_not_do_even_if_the_screen_asked(
    config, store, clock, plant, ledger
):
    """A planner may change priorities but not resume a delay; the key is hidden, and if the
    supervisor loses the role while signed in, the ledger's refusal is shown and nothing is written."""
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        await sign_in(pilot, "P1")
        assert " p prio " in keys(app) and "resume" not in keys(app)  # short words at 80 columns
        await pilot.press("r")
        assert "Pat Planner (planner) may not resume a delay" in message(app)
        await pilot.press("s")  # signs the planner out
        assert "Pat Planner signed out" in message(app)
        await sign_in(pilot, "S1")
        ledger.set_operator_active("S1", False)
        before = event_count()
        screen.table.move_cursor(row=screen.table.get_row_index("J-1002"), column=2)
        await pilot.press("r")
        await fill_form(pilot, "")
        await until(pilot, lambda: message(app).startswith("Not saved:"))
        assert "disabled" in message(app) and event_count() == before


async def test_idle_supervisor_is_signed_out(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        await sign_in(pilot, "S1")
        assert screen.operator is not None
        clock.advance(seconds=config.kiosk.idle_signout_seconds + 1)
        await until(pilot, lambda: screen.operator is None, what="the idle sign-out")
        assert "signed out" in message(app) and "resume" not in keys(app)


async def test_scanning_a_badge_barcode_anywhere_signs_in(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await press_text(pilot, "$B:S1")
        await pilot.press("enter")
        await until(pilot, lambda: board(app).operator is not None)
        assert board(app).operator.name == "Sam Supervisor"


# -- live changes, the store going away, TV ------------------------------------------------------------


async def test_an_entry_changes_only_its_row_and_keeps_cursor_and_scroll(config, store, clock, ledger, make_job):
    for i in range(60):
        make_job(f"J-{2000 + i}", qty=10, release=10, materials=())
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        table = screen.table
        table.move_cursor(row=table.get_row_index("J-2030"), column=1)
        await pilot.pause()
        scroll = table.scroll_y
        assert scroll > 0
        untouched = table.get_cell("J-2031", "CUT")
        table.clear = lambda *a, **k: pytest.fail("the board must not clear and reload")
        # A change below the cursor: nothing moves.
        ledger.complete("J-2045", "CUT", 4, actor=SUPERVISOR_AT_CUT)
        await until(pilot, lambda: table.cell_plain("J-2045", "CUT").startswith("6 W"))
        assert table.cell_plain("J-2045", "CNC").startswith("4 W")
        assert table.get_cell("J-2031", "CUT") is untouched  # other rows are not rebuilt
        assert table.selected() == ("J-2030", "CUT") and table.scroll_y == scroll
        # A job jumps from below to the top: the cursor's job stays on its screen line.
        line = table.cursor_row - table.scroll_y
        ledger.change_priority("J-2050", 1, actor=SUPERVISOR_AT_CUT, note="rush")
        await until(pilot, lambda: table.get_row_index("J-2050") == 4)
        await pilot.pause()
        assert table.selected() == ("J-2030", "CUT")
        assert table.cursor_row - table.scroll_y == line


async def test_a_new_released_job_and_a_closed_job_come_and_go(config, store, clock, ledger, make_job):
    make_job("J-3001", qty=1, routing="machined_part", release=1, materials=())
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = board(app).table
        make_job("J-3002", qty=4, release=4, materials=())
        for code in ("CUT", "CNC"):
            ledger.complete("J-3001", code, 1, actor=SUPERVISOR_AT_CUT)
        ledger.qc_pass("J-3001", "FQC", 1, actor=SUPERVISOR_AT_CUT)
        ledger.complete("J-3001", "PACK", 1, actor=SUPERVISOR_AT_CUT)
        ledger.dispatch("J-3001", 1, actor=SUPERVISOR_AT_CUT)
        await until(pilot, lambda: "J-3002" in table.models and "J-3001" not in table.models)


async def test_the_first_paint_shows_the_top_rows_then_the_rest_follow_in_order(
    config, store, clock, ledger, make_job, monkeypatch
):
    monkeypatch.setattr(board_module, "FIRST_ROWS", 3)
    monkeypatch.setattr(board_module, "LOAD_CHUNK", 4)
    for i in range(12):
        make_job(f"J-{5000 + i}", qty=5, priority=9 - (i % 3), release=5, materials=())
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        order = job_order(board(app).table)
        assert len(order) == 12
        assert order[:4] == ["J-5002", "J-5005", "J-5008", "J-5011"]  # priority 7 first
        assert board(app).table.get_row_index(order[0]) == 4  # right under the summary rows


async def test_a_job_created_without_any_entry_appears_at_the_next_reconcile(
    config, store, clock, ledger, make_job, monkeypatch
):
    monkeypatch.setattr(board_module, "RECONCILE_SECONDS", 0.5)
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        make_job("J-4001", qty=3, materials=())  # planned: no entry, so no last_event_id change
        await until(pilot, lambda: "J-4001" in board(app).table.models)


async def test_when_the_store_cannot_be_reached_the_board_says_so_and_keeps_its_data(
    config, store, clock, plant, monkeypatch
):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        real = board_feed.changed_jobs

        def unreachable(since):
            raise peewee.OperationalError("unable to open database file")

        monkeypatch.setattr(board_feed, "changed_jobs", unreachable)
        screen.store_changed()
        header = screen.query_one("#board-header")
        await until(pilot, lambda: "NO CONNECTION TO THE STORE" in text_of(header))
        assert "unable to open database file" in text_of(header)
        assert screen.table.cell_plain("J-1002", "CNC") == "10 DLY MACH"  # the last data stays
        monkeypatch.setattr(board_feed, "changed_jobs", real)
        screen.store_changed()
        await until(pilot, lambda: "NO CONNECTION" not in text_of(header))
        assert "The store answers again" in message(app)


async def test_tv_mode_cycles_the_views_without_a_key(config, store, clock, plant, monkeypatch):
    monkeypatch.setattr(board_module, "TV_SECONDS", 0.3)
    app = board_app(config, store, clock, tv=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        seen = []
        await until(
            pilot,
            lambda: seen.append(screen.view) or {"bottlenecks", "exceptions", "delays"} <= set(seen),
            what="every TV view",
        )
        tiles = screen.query_one("#tile-CUT")
        assert tiles.display and "Cutting" in text_of(tiles.query_one(".tile-title"))
        assert screen.query_one("#xtile-delayed").query_one(".tile-value").value == "1"


async def test_user_data_is_shown_as_typed_never_as_markup(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        screen.open_job("J-1006")
        await until(pilot, lambda: screen.card is not None)
        assert "[red]Elbe[/red]" in text_of(screen.query_one("#job-card"))
        history = screen.query_one("#job-history")
        assert history.get_row_at(0)[7].plain == "[bold]Customer stop[/bold]"
        assert isinstance(history.get_row_at(0)[7], Text)


async def test_an_entry_refused_on_replay_is_listed_with_terminal_job_entry_and_reason(
    config, store, clock, plant, ledger
):
    from floorterm.outbox import QueuedEntry

    queued = QueuedEntry(
        kind="complete",
        job="J-1002",
        stage="CNC",
        qty=30,
        badge="W1",
        terminal="CNC-1",
        words="complete 30 at CNC machining",
        client_time=clock.now,
    )
    ledger.report_replay_refusal(queued, "Only 8 pending at CNC machining; cannot complete 30")
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await exceptions_view(pilot)
        assert " ".join(text_of_option(screen, 12).split()) == "Refused on replay 1"
        for _ in range(12):  # ] twelve times: refused on replay
            await pilot.press("right_square_bracket")
        assert text_of(screen.query_one("#exceptions-title")).strip().startswith("REFUSED ON REPLAY (1)")
        table = screen.query_one("#exceptions-table")
        assert table.selected()[0] == "J-1002"
        assert table.get_cell_at((0, 3)).plain == (
            "CNC-1: complete 30 at CNC machining — Only 8 pending at CNC machining; cannot complete 30"
        )


@pytest.mark.parametrize(
    "cell, shown",
    [
        (WipCell(pending=28, state="delayed", delay_code="MAT", waiting_seconds=60), "28 DLY MAT"),
        (WipCell(pending=28, awaiting=3, state="delayed", delay_code="MAT", waiting_seconds=60), "28 DLY +3R"),
        (WipCell(awaiting=3, state="delayed", delay_code="MACH"), "DLY +3R"),
        (WipCell(pending=10, awaiting=2, state="waiting", waiting_seconds=5 * 3600), "10 W 5h +2R"),
    ],
)
def test_a_delayed_cell_never_hides_rejects_awaiting_a_decision(cell, shown):
    """J-24088 at WELD showed '28 DLY MAT' while 3 awaited a decision: '+3R' was cut off."""
    text = cell_text(cell, 0.0, age_limits((4, 24)), ("", "yellow", "red")).plain
    assert text == shown and len(text) <= CELL_WIDTH
