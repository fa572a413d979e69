"""Reaching things on the board: every stage column at 80x24, the job's history focused after a
find, the acted-on job kept selected and in view after the table re-sorts (issue 11)."""

from __future__ import annotations

import pytest
from textual import events
from textual.keys import _character_to_key

from floorterm import models as m
from floorterm.screens.board_views import HistoryTable

from test_board import fill_form, sign_in
from test_board_support import board, board_app, build_plant, press_text, settle, text_of, until


@pytest.fixture
def store_url(sqlite_url):
    return sqlite_url


@pytest.fixture
def plant(ledger, make_job, clock):
    return build_plant(ledger, make_job, clock)


async def test_find_focuses_the_jobs_history_so_arrows_scroll_it_at_once(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        await pilot.press("slash")
        await press_text(pilot, "J-1001")
        await pilot.press("enter")
        await until(pilot, lambda: screen.view == "job" and screen.card is not None)
        await settle(pilot)
        history = screen.query_one("#job-history", HistoryTable)
        assert not screen.query_one("#board-find").display
        assert history.has_focus
        assert history.cursor_row == 0
        await pilot.press("down", "down")
        assert history.cursor_row == 2


def visible_rows(table) -> tuple[int, int]:
    """The first and last row index (summary rows counted) shown between the fixed rows and the bottom."""
    fixed = table.fixed_rows
    first = fixed + int(table.scroll_y)
    shown = table.scrollable_content_region.height - table.header_height - fixed
    return first, first + shown - 1


async def test_raising_a_priority_keeps_the_job_selected_and_in_view(config, store, clock, ledger, make_job):
    for i in range(40):
        make_job(f"J-2{i:03d}", qty=5, priority=5, release=5, materials=())
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        table = screen.table
        await sign_in(pilot, "S1")
        table.move_cursor(row=table.get_row_index("J-2035"), column=1)
        await settle(pilot)
        assert table.scroll_y > 10  # the job is far down the board
        await pilot.press("p")
        await fill_form(pilot, "1", "Truck leaves at noon")
        await until(pilot, lambda: table.get_cell("J-2035", "job").plain.startswith("1 J-2035"))
        await settle(pilot)
        await pilot.pause(0.1)
        assert m.Event.select().order_by(m.Event.id.desc()).get().kind == "priority"
        assert table.selected()[0] == "J-2035"
        first, last = visible_rows(table)
        assert first <= table.get_row_index("J-2035") <= last
        # And down the board again: lowering it to 9 takes it to the end, still on screen.
        await pilot.press("p")
        await fill_form(pilot, "9", "Not needed this week")
        await until(pilot, lambda: table.get_cell("J-2035", "job").plain.startswith("9 J-2035"))
        await settle(pilot)
        await pilot.pause(0.1)
        assert table.selected()[0] == "J-2035"
        first, last = visible_rows(table)
        assert first <= table.get_row_index("J-2035") <= last


async def test_a_priority_changed_from_the_job_view_selects_the_job_back_on_the_wip_table(
    config, store, clock, ledger, make_job
):
    for i in range(40):
        make_job(f"J-2{i:03d}", qty=5, priority=5, release=5, materials=())
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        table = screen.table
        await sign_in(pilot, "S1")
        await pilot.press("slash")
        await press_text(pilot, "J-2030")
        await pilot.press("enter")
        await until(pilot, lambda: screen.view == "job" and screen.card is not None)
        await pilot.press("p")
        await fill_form(pilot, "1", "Truck leaves at noon")
        await until(pilot, lambda: table.get_cell("J-2030", "job").plain.startswith("1 J-2030"))
        await pilot.press("escape")
        await settle(pilot)
        await pilot.pause(0.1)
        assert screen.view == "wip"
        assert table.selected()[0] == "J-2030"
        first, last = visible_rows(table)
        assert first <= table.get_row_index("J-2030") <= last


async def test_every_stage_column_is_reachable_at_80x24_with_the_keys_in_the_footer(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.pause(0.1)
        screen = board(app)
        table = screen.table
        footer = text_of(screen.query_one("#board-keys"))
        shown = len(table.visible_stages())
        assert 3 <= shown < 9 and f"< >  stages 1-{shown}/9" in footer  # the cue: more stages than fit
        reached = set(table.visible_stages())
        for _ in range(3):
            await pilot.press("greater_than_sign")
            await pilot.pause()
            reached |= set(table.visible_stages())
        assert reached == set(screen.stages)
        assert table.visible_stages()[-1] == "DISP"
        shown = len(table.visible_stages())
        assert (f"stages {10 - shown}-9/9" if shown > 1 else "stage 9/9") in text_of(screen.query_one("#board-keys"))
        assert table.selected()[1] in table.visible_stages()  # the cursor went along
        for _ in range(3):
            await pilot.press("less_than_sign")
            await pilot.pause()
        assert table.visible_stages()[0] == "CUT"


async def test_a_wide_board_needs_no_stage_keys(config, store, clock, plant):
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.pause(0.1)
        assert "stages" not in text_of(board(app).query_one("#board-keys"))


async def test_the_office_board_offers_no_badge_sign_in(config, store, clock, plant, tmp_path):
    """Over SSH the session is the person: the s key cannot work there, so it is not offered."""
    from floorterm.queries import Queries
    from floorterm.screens.office import OfficeApp, board_screen_class
    from floorterm.ssh import OfficeSession

    session = OfficeSession("s1", "supervisor", "SHA256:x", client="192.0.2.7")
    app = OfficeApp(
        config,
        store.url,
        session,
        Queries(config).operator(session.badge),
        export_dir=tmp_path,
        clock=clock,
        store=store,
    )
    app.HANGUP_GRACE_SECONDS = None
    async with app.run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        app.push_screen(board_screen_class()(app.services))
        await until(pilot, lambda: isinstance(app.screen, board_screen_class()) and app.screen.loaded)
        await settle(pilot)
        footer = text_of(app.screen.query_one("#board-keys"))
        assert "sign in" not in footer and "sign out" not in footer
        assert " p prio" in footer  # the office person acts as themselves (short words below 100 columns)
    # On the floor the board still offers it.
    floor = board_app(config, store, clock)
    async with floor.run_test(size=(100, 32)) as pilot:
        await settle(pilot)
        assert "s  sign in" in text_of(board(floor).query_one("#board-keys"))


async def test_a_burst_of_slash_number_enter_opens_the_job_and_leaves_the_find_line_closed(config, store, clock, plant):
    """Over SSH or from a scanner "/J-1004⏎" arrives at once: the job opens, its history has the
    keys, and the find line does not open again afterwards."""
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        for ch in "/J-1004\r":
            key = "enter" if ch == "\r" else _character_to_key(ch)
            app.post_message(events.Key(key, None if ch == "\r" else ch))
        await until(pilot, lambda: screen.card is not None and screen.view == "job")
        await settle(pilot)
        await pilot.pause(0.2)
        assert screen.card.number == "J-1004"
        assert not screen.query_one("#board-find").display
        assert screen.query_one("#job-history", HistoryTable).has_focus


def test_the_footer_fits_one_line_and_never_splits_a_key_from_its_words():
    from floorterm.screens.board_format import fit_keys

    keys = [
        ("1-6", "views"),
        ("< >", "stages 1-4/9"),
        ("/", "find job"),
        ("⏎", "open job"),
        ("r", "resume"),
        ("p", "priority"),
        ("h", "hold/release"),
        ("s", "sign out"),
        ("?", "legend"),
    ]
    wide, left_out = fit_keys(keys, 160)
    assert left_out == [] and " p  priority " in wide.plain
    narrow, left_out = fit_keys(keys, 80)
    assert narrow.cell_len <= 80 and narrow.no_wrap
    assert " p prio " in narrow.plain and " r resume " in narrow.plain  # short words, keys kept
    assert narrow.plain.rstrip().endswith("? keys") and left_out  # and `?` lists what had no room
    tiny, left_out = fit_keys(keys, 40)
    assert tiny.cell_len <= 40 and tiny.plain.rstrip().endswith("? keys")
    assert ("1-6", "views") in left_out  # the tabs show the view numbers anyway: left out first


@pytest.mark.parametrize("view", ["wip", "job", "exceptions"])
async def test_the_office_board_footer_is_one_line_at_80x24(config, store, clock, plant, tmp_path, view):
    """Over SSH at 80x24 the supervisor's footer wrapped, splitting "p / priority" and "v / void
    entry"; and the WIP table's scrollbars left stray blocks above the footer."""
    from floorterm.queries import Queries
    from floorterm.screens.office import OfficeApp, board_screen_class
    from floorterm.ssh import OfficeSession

    session = OfficeSession("s1", "supervisor", "SHA256:x", client="192.0.2.7")
    app = OfficeApp(
        config,
        store.url,
        session,
        Queries(config).operator(session.badge),
        export_dir=tmp_path,
        clock=clock,
        store=store,
    )
    app.HANGUP_GRACE_SECONDS = None
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        app.push_screen(board_screen_class()(app.services))
        await until(pilot, lambda: isinstance(app.screen, board_screen_class()) and app.screen.loaded)
        await settle(pilot)
        screen = app.screen
        if view == "job":
            await pilot.press("enter")
            await until(pilot, lambda: screen.view == "job" and screen.card is not None)
        elif view == "exceptions":
            await pilot.press("3")
        await settle(pilot)
        await pilot.pause(0.1)
        footer = screen.query_one("#board-keys")
        assert footer.size.height == 1
        line = text_of(footer).strip("\n")
        assert len(line) <= 80 and "\n" not in line
        for key, words in [("p", "prio"), ("r", "resume"), ("h", "hold")] + ([("v", "void")] if view == "job" else []):
            assert f" {key} {words}" in line
        table = screen.table
        assert not table.show_vertical_scrollbar or table.styles.scrollbar_size_vertical == 0
        assert not table.show_horizontal_scrollbar or table.styles.scrollbar_size_horizontal == 0
        if line.rstrip().endswith("? keys") or view != "wip":  # ? lists every key of the view
            await pilot.press("question_mark")
            await until(pilot, lambda: "Keys:" in text_of(screen.query_one("#board-message")), what="the key list")
