"""`floorterm board --tv`: pages through every open job with labelled tiles, and stays up
(Ctrl+C / Ctrl+Q do not close a TV on the wall; a supervisor's badge does)."""

from __future__ import annotations

import pytest

from floorterm.screens import board as board_module
from floorterm.screens.app import FloortermApp
from floorterm.screens.board import BoardScreen
from floorterm.screens.board_actions import BoardForm

from test_board_support import board, board_app, press_text, settle, text_of, until


@pytest.fixture
def store_url(sqlite_url):
    return sqlite_url


@pytest.fixture
def many_jobs(make_job):
    return [make_job(f"J-3{i:03d}", qty=5, priority=1 + i % 9, release=5, materials=()) for i in range(45)]


async def test_tv_pages_through_every_open_job_then_the_other_views(config, store, clock, many_jobs, monkeypatch):
    monkeypatch.setattr(board_module, "TV_SECONDS", 3600)  # the test turns the pages itself
    app = board_app(config, store, clock, tv=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        await pilot.pause(0.2)
        per = screen._tv_rows()
        pages = screen._tv_pages()
        assert pages == -(-45 // per) and pages >= 2
        seen: list[str] = []
        table = screen.table
        for page in range(pages):
            caption = text_of(screen.query_one("#wip-caption"))
            first, last = page * per + 1, min(45, (page + 1) * per)
            assert f"OPEN JOBS {first}–{last} OF 45" in caption and f"page {page + 1}/{pages}" in caption
            top = int(table.scroll_y)
            seen += [row.key.value for row in table.ordered_rows[table.fixed_rows + top :][:per]]
            screen._tv_next()
            await pilot.pause()
        assert sorted(set(seen)) == sorted(many_jobs)  # every job was on a page
        assert screen.view == "bottlenecks"  # after the last page: the next view
        assert "STAGES" in text_of(screen.query_one("#wip-tiles-caption"))
        for view in ("exceptions", "delays", "shift", "wip"):
            screen._tv_next()
            await pilot.pause()
            assert screen.view == view
        assert "page 1/" in text_of(screen.query_one("#wip-caption"))  # round again from the first page
        keys = text_of(screen.query_one("#board-keys"))
        assert "quit" not in keys and "pages of jobs" in keys


async def test_a_small_tv_pages_the_stage_columns_too_and_says_which(config, store, clock, many_jobs, monkeypatch):
    """At 80x24 about 5 of 9 stage columns fit: each page of jobs is shown in every screenful of
    stages in turn, and the caption says which stages are on screen."""
    monkeypatch.setattr(board_module, "TV_SECONDS", 3600)
    app = board_app(config, store, clock, tv=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        await pilot.pause(0.2)
        table = screen.table
        stage_pages = table.stage_pages()
        assert len(stage_pages) >= 2
        job_pages = -(-45 // screen._tv_rows())
        assert screen._tv_pages() == job_pages * len(stage_pages)
        seen: set[tuple[str, str]] = set()
        for page in range(screen._tv_pages()):
            caption = text_of(screen.query_one("#wip-caption"))
            x, codes = stage_pages[page % len(stage_pages)]
            index = {code: i for i, code in enumerate(screen.stages, start=1)}
            span = f"{index[codes[0]]}–{index[codes[-1]]}" if len(codes) > 1 else f"{index[codes[0]]}"
            assert f"STAGES {span} OF {len(screen.stages)}" in caption
            assert f"page {page + 1}/{screen._tv_pages()}" in caption
            assert int(table.scroll_x) == x and table.visible_stages() == codes
            top = int(table.scroll_y)
            rows = [row.key.value for row in table.ordered_rows[table.fixed_rows + top :][: screen._tv_rows()]]
            seen |= {(job, code) for job in rows for code in codes}
            screen._tv_next()
            await pilot.pause()
        assert seen == {(job, code) for job in many_jobs for code in screen.stages}  # every cell was on a page
        assert screen.view == "bottlenecks"


async def test_a_supervisors_badge_closes_the_tv_board_and_nothing_else_does(config, store, clock, many_jobs):
    app = board_app(config, store, clock, tv=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = board(app)
        screen.ask_quit()
        await until(pilot, lambda: isinstance(app.screen, BoardForm), what="the badge form")
        await press_text(pilot, "W1")  # an operator
        await pilot.press("enter")
        await until(
            pilot,
            lambda: "only a supervisor's badge closes the TV board" in text_of(screen.query_one("#board-message")),
        )
        assert app.is_running
        screen.ask_quit()
        await until(pilot, lambda: isinstance(app.screen, BoardForm), what="the badge form")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, what="the board again")
        assert app.is_running
        screen.ask_quit()
        await until(pilot, lambda: isinstance(app.screen, BoardForm), what="the badge form")
        await press_text(pilot, "S1")
        await pilot.press("enter")
        await until(pilot, lambda: not app.is_running, what="the board to close")


async def test_ctrl_c_and_ctrl_q_do_not_quit_the_tv_board(config, store, clock, many_jobs):
    app = FloortermApp(config, store.url, mode="board", tv=True, clock=clock, store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, BoardScreen) and app.screen.loaded)
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running
        await pilot.press("ctrl+q")
        await pilot.pause()
        assert app.is_running and isinstance(app.screen, BoardForm)  # asks for a supervisor's badge
