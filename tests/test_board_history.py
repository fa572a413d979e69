"""The board's bottlenecks over a period (waiting history from floorterm.flow, Dispatch apart as
ready to ship, sparklines of the last hours) and the running shift's handover as a view.
Both store backends: the history is read on its own thread with its own connection."""

from __future__ import annotations

import datetime as dt

import pytest

from floorterm import flow
from floorterm.screens.board_views import TrendRow

from conftest import SUPERVISOR
from test_board_support import T0, board, board_app, settle, text_of, until


@pytest.fixture
def floor(ledger, make_job, clock):
    """CUT: 20 units waiting 3 h (J-A); CNC: 4 (J-C); DISP: 6 finished units waiting for the truck (J-B)."""
    make_job("J-A", qty=20, release=20, materials=())
    make_job("J-B", qty=6, routing="machined_part", release=6, materials=())
    make_job("J-C", qty=4, release=4, materials=())
    clock.advance(minutes=10)
    for stage in ("CUT", "CNC"):
        ledger.complete("J-B", stage, 6, actor=SUPERVISOR)
    ledger.qc_pass("J-B", "FQC", 6, actor=SUPERVISOR)
    ledger.complete("J-B", "PACK", 6, actor=SUPERVISOR)
    ledger.complete("J-C", "CUT", 4, actor=SUPERVISOR)
    ledger.delay("J-A", "CUT", "MACH", actor=SUPERVISOR)
    clock.advance(hours=3)  # now 10:10 UTC, 11:10 in Berlin: the Early shift


def test_stage_trends_count_units_done_and_waiting_hour_by_hour(config, store, floor, clock):
    now = clock()
    trends = flow.stage_trends(config, T0, T0 + dt.timedelta(hours=4), now)
    by = {t.stage: t for t in trends.stages}
    assert len(trends.buckets) == 4 and trends.buckets[0] == T0
    assert by["CUT"].done == (10, 0, 0, 0)  # J-B's 6 and J-C's 4 at 07:10
    assert by["CUT"].waiting == (20, 20, 20, 20)  # J-A's 20 from the start
    assert by["CNC"].waiting == (4, 4, 4, 4) and by["CNC"].done == (6, 0, 0, 0)
    assert by["DISP"].waiting == (6, 6, 6, 6) and by["DISP"].done == (0, 0, 0, 0)
    assert by["WELD"].waiting == (0, 0, 0, 0)


def trend_texts(screen) -> list[str]:
    return [text_of(row.query_one(".trend-text")).strip() for row in screen.query(TrendRow) if row.display]


async def test_bottlenecks_rank_by_waiting_history_and_show_dispatch_apart(config, store, floor, clock, ledger):
    app = board_app(config, store, clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        calls = []
        read_flow = screen.reports.flow
        screen.reports.flow = lambda since, until: calls.append((since, until)) or read_flow(since, until)
        await pilot.press("2")
        await until(pilot, lambda: screen.flows and screen.trends is not None, what="the waiting history")
        await settle(pilot)
        rows = trend_texts(screen)
        assert rows[0].split()[:2] == ["1", "Cutting"]  # 20 units x 3 h: most unit-hours
        assert rows[1].split()[:3] == ["2", "CNC", "machini…"]
        assert not any("Dispatch" in r for r in rows)  # not a bottleneck: ready to ship
        head = text_of(screen.query_one("#bottlenecks-head"))
        assert "WORST Today (Mon 23 Nov):  Cutting" in head
        assert "READY TO SHIP (Dispatch): 6 units in 1 jobs" in head
        cut = screen.query(TrendRow).first()
        assert sum(cut.query_one(".trend-done").data) == 10 and cut.query_one(".trend-wait").data[-1] == 20
        assert len(calls) == 1
        # A commit re-reads the snapshot, never the history (a week on 1M events takes ~1 s).
        ledger.complete("J-A", "CUT", 5, actor=SUPERVISOR)
        screen.store_changed()
        await until(pilot, lambda: "15" in trend_texts(screen)[0].split(), what="the snapshot to follow the commit")
        screen._pump_history()
        await settle(pilot)
        assert len(calls) == 1
        # Another period: its own history, read once and kept.
        await pilot.press("w")
        await until(pilot, lambda: len(calls) == 2 and len(screen.flows) == 2, what="the week's history")
        await settle(pilot)
        assert "WORST This week (Mon 23 Nov to Sun 29 Nov)" in text_of(screen.query_one("#bottlenecks-head"))
        await pilot.press("t")
        await settle(pilot)
        assert len(calls) == 2 and "WORST Today" in text_of(screen.query_one("#bottlenecks-head"))
        assert "t  today" in text_of(screen.query_one("#board-keys"))


async def test_the_running_shifts_handover_is_a_board_view(config, store, floor, clock):
    app = board_app(config, store, clock)
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        screen = board(app)
        await pilot.press("6")
        await until(pilot, lambda: screen.shift_report is not None, what="the shift's figures")
        await settle(pilot)
        assert screen.view == "shift" and "[6 Shift]" in text_of(screen.query_one("#board-tabs"))
        body = text_of(screen.query_one("#shift-body"))
        assert "SHIFT EARLY" in body and "running, up to 11:10" in body
        lines = {line.split()[0]: line.split() for line in body.splitlines() if line.strip()}
        assert lines["Cutting"][1:5] == ["10", "·", "·", "1/0/1"]  # done, rejected, scrapped, delays
        assert lines["Cutting"][5:7] == ["20", "J-A"]  # waiting now, the oldest waiting job
        assert lines["Final"][2] == "6"  # QC passed counts as done
        assert "J-A" in body and "Machine unavailable" in body and "OPEN" in body
