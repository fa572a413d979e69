"""Snapshots of every board view at 80x24 and 160x48 (and TV mode), with the clock fixed.

Update with `pytest tests/test_board_snapshots.py --snapshot-update` after LOOKING at the
new SVGs (tests/__snapshots__/test_board_snapshots/).
"""

from __future__ import annotations

import pytest

from floorterm.screens import board as board_module

from test_board_support import board, board_app, build_plant, settle, until

SIZES = {"80x24": (80, 24), "160x48": (160, 48)}


@pytest.fixture
def store_url(sqlite_url):
    return sqlite_url


@pytest.fixture
def plant(ledger, make_job, clock):
    return build_plant(ledger, make_job, clock)


def run_view(keys: tuple[str, ...], job: str | None = None):
    async def run_before(pilot) -> None:
        await settle(pilot)
        if job is not None:
            board(pilot.app).open_job(job)
            await until(pilot, lambda: board(pilot.app).card is not None)
        for key in keys:
            await pilot.press(key)
        await settle(pilot)
        screen = board(pilot.app)
        if screen.view == "bottlenecks":  # the waiting history and the sparklines, read on their own thread
            await until(pilot, lambda: screen.flows and screen.trends is not None and not screen._history_busy)
        if screen.view == "shift":
            await until(pilot, lambda: screen.shift_report is not None)
        await settle(pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(
    "view, keys",
    [
        ("wip", ()),
        ("bottlenecks", ("2",)),
        ("exceptions", ("3",)),
        ("delays", ("4",)),
        ("shift", ("6",)),
    ],
)
def test_board_view(snap_compare, config, store, clock, plant, view, keys, size):
    assert snap_compare(board_app(config, store, clock), terminal_size=SIZES[size], run_before=run_view(keys))


@pytest.mark.parametrize("size", SIZES)
def test_board_job_view(snap_compare, config, store, clock, plant, size):
    """The job card and its history newest first; the voided entry struck through with the reason."""
    assert snap_compare(
        board_app(config, store, clock), terminal_size=SIZES[size], run_before=run_view((), job="J-1001")
    )


@pytest.mark.parametrize("size", SIZES)
def test_board_wip_stages_paged_right(snap_compare, config, store, clock, plant, size):
    """> shows the next screenful of stage columns; the bottom line says which are on screen."""
    assert snap_compare(
        board_app(config, store, clock),
        terminal_size=SIZES[size],
        run_before=run_view(("greater_than_sign",)),
    )


@pytest.mark.parametrize("size", SIZES)
def test_board_wip_cursor_scrolled_right(snap_compare, config, store, clock, plant, size):
    """At 80 columns the stage columns scroll; the job column stays."""
    assert snap_compare(
        board_app(config, store, clock),
        terminal_size=SIZES[size],
        run_before=run_view(("down", "right", "right", "right", "right", "right", "right", "right")),
    )


def test_board_priority_form(snap_compare, config, store, clock, plant):
    async def run_before(pilot) -> None:
        await settle(pilot)
        screen = board(pilot.app)
        screen._sign_in_badge("S1")
        await until(pilot, lambda: screen.operator is not None)
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()

    assert snap_compare(board_app(config, store, clock), terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("view, keys", [("wip", ()), ("exceptions", ("3",))])
def test_board_tv(snap_compare, config, store, clock, plant, view, keys, monkeypatch):
    monkeypatch.setattr(board_module, "TV_SECONDS", 3600.0)  # the snapshot shows the view asked for
    assert snap_compare(board_app(config, store, clock, tv=True), terminal_size=(160, 48), run_before=run_view(keys))
