"""Which jobs changed since the board looked (floorterm.board_feed), on both backends."""

from __future__ import annotations

from floorterm import board_feed
from floorterm.board_feed import ChangeTracker

from conftest import SUPERVISOR


def test_changed_jobs_returns_jobs_with_newer_events_open_or_closed(ledger, make_job, config):
    a = make_job("J-A", qty=2, routing="machined_part", release=2, materials=())
    b = make_job("J-B", release=5, materials=())
    since = max(e for _, e in board_feed.changed_jobs(0))
    ledger.complete(b, "CUT", 1, actor=SUPERVISOR)
    for code in ("CUT", "CNC"):
        ledger.complete(a, code, 2, actor=SUPERVISOR)
    ledger.qc_pass(a, "FQC", 2, actor=SUPERVISOR)
    ledger.complete(a, "PACK", 2, actor=SUPERVISOR)
    last = ledger.dispatch(a, 2, actor=SUPERVISOR)  # closes J-A

    changed = dict(board_feed.changed_jobs(since))

    assert changed == {"J-B": since + 1, "J-A": last.event_id}
    assert "J-A" not in board_feed.open_job_versions()
    assert board_feed.open_job_versions()["J-B"] == since + 1
    assert board_feed.changed_jobs(last.event_id) == []


def test_top_open_jobs_follow_board_order(ledger, make_job, config):
    import datetime as dt

    make_job("J-C", priority=5, planned_end=dt.date(2026, 11, 30), materials=())
    make_job("J-A", priority=5, materials=())  # no planned end: after the dated ones
    make_job("J-B", priority=2, materials=())
    make_job("J-D", priority=5, planned_end=dt.date(2026, 11, 29), materials=())
    assert board_feed.top_open_jobs(10) == ["J-B", "J-D", "J-C", "J-A"]
    assert board_feed.top_open_jobs(2) == ["J-B", "J-D"]


def test_tracker_picks_only_jobs_whose_version_differs():
    tracker = ChangeTracker([("J-1", 10), ("J-2", 12)], slack=5)
    assert tracker.watermark == 12 and tracker.since() == 7

    # J-2 unchanged (seen again inside the slack), J-1 changed, J-3 new.
    assert tracker.affected([("J-2", 12), ("J-1", 14), ("J-3", 13)]) == ["J-1", "J-3"]
    tracker.seen([("J-1", 14), ("J-3", 13)])
    assert tracker.watermark == 14
    assert tracker.affected([("J-1", 14), ("J-3", 13)]) == []


def test_tracker_catches_a_late_commit_below_the_watermark():
    """PostgreSQL: id 11 may become visible after id 12; the slack re-reads it."""
    tracker = ChangeTracker([("J-1", 5)], slack=500)
    tracker.seen([("J-2", 12)])
    assert tracker.since() == 0  # 12 - 500, never below 0
    assert tracker.affected([("J-2", 12), ("J-1", 11)]) == ["J-1"]


def test_reconcile_finds_new_jobs_without_entries_and_jobs_no_longer_open():
    tracker = ChangeTracker([("J-1", 5), ("J-2", 6)])
    assert tracker.reconcile({"J-1": 5, "J-NEW": 0}, shown=["J-1", "J-2"]) == ["J-NEW", "J-2"]
