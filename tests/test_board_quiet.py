"""Quiet over SSH (issue 12): while nothing changes, the board sends nothing to the terminal.
The header shows the time to the minute and "live" rather than a seconds counter; timers
that find nothing new repaint nothing; a changed age repaints its cell, not the table."""

from __future__ import annotations

import pytest
from textual.coordinate import Coordinate
from textual.widgets import DataTable

from test_board_support import board, board_app, build_plant, settle


@pytest.fixture
def store_url(sqlite_url):
    return sqlite_url


@pytest.fixture
def plant(ledger, make_job, clock):
    return build_plant(ledger, make_job, clock)


def record_updates(app) -> list:
    """Every screen update the app hands to the terminal driver (headless: recorded, not sent)."""
    updates: list = []
    display = app._display

    def recording(screen, renderable):
        if renderable is not None:
            updates.append(renderable)
        display(screen, renderable)

    app._display = recording
    return updates


@pytest.mark.parametrize("view", ["1", "2", "3", "4", "6"])
async def test_an_unchanged_board_sends_nothing_to_the_terminal(config, store, clock, plant, view):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        await pilot.press(view)
        await settle(pilot)
        await pilot.pause(0.5)  # the waiting history (bottlenecks) arrives and is painted
        await settle(pilot)
        updates = record_updates(app)
        for _ in range(5):  # 25 s of a board nobody writes to: clock, heartbeat, age tick, reconcile
            clock.advance(seconds=5)
            screen._tick()
            screen._age_tick()
            screen.store_changed()
            screen._want.update({"reconcile", "exceptions", "summary"})
            screen._pump()
            await settle(pilot)
            await pilot.pause(0.05)
        assert updates == []
        clock.advance(minutes=1)  # the minute changes: the header (and only what changed) is sent
        screen._tick()
        await pilot.pause(0.1)
        assert updates


async def test_a_changed_cell_repaints_that_cell_not_the_table(config, store, clock, plant, monkeypatch):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = board(app).table
        refreshed = []
        monkeypatch.setattr(DataTable, "refresh", lambda self, *regions, **kw: refreshed.append(regions), raising=False)
        table._set_cells([("J-1001", "CUT", table.get_cell("J-1002", "CUT"))])
        assert refreshed == [(table._get_cell_region(Coordinate(table.get_row_index("J-1001"), 1)),)]
        refreshed.clear()
        table.scroll_to(x=200, animate=False, immediate=True)  # CUT is off screen now
        refreshed.clear()
        table._set_cells([("J-1001", "CUT", table.get_cell("J-1003", "CUT"))])
        assert refreshed == []
