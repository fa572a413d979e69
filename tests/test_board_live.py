"""Live updates on a running board from another OS process, on both backends.

A kiosk is another process (often another machine): the board must see its commits through
the change feed (SQLite data_version / PostgreSQL LISTEN) and re-read only the affected rows.
The tests wait by polling the board, never by fixed sleeps.
"""

from __future__ import annotations

import multiprocessing

from floorterm.clock import utcnow

from conftest import REPO
from test_board_support import board, board_app, settle, until


def _record(url: str, entries: list[tuple[str, str, str, int]], go) -> None:
    """Child process: once `go` is set, record (kind, job, stage, qty) entries one by one, as a
    kiosk at CUT-1 would."""
    from floorterm.config import load_config
    from floorterm.ledger import Actor, Ledger
    from floorterm.store import Store

    if not go.wait(60):
        raise SystemExit("never told to start")
    store = Store.open(url)
    ledger = Ledger(store, load_config(REPO / "config.toml"))
    for kind, job, stage, qty in entries:
        ledger.record(kind, job, stage=stage, qty=qty, actor=Actor("C1", terminal="CUT-1"))
    store.close()


def _spawn(url: str, entries):
    """Start the writer before the app runs (a headless Textual app replaces the std streams, which
    spawning cannot pass on); it writes when the returned event is set."""
    context = multiprocessing.get_context("spawn")
    go = context.Event()
    child = context.Process(target=_record, args=(url, entries, go))
    child.start()
    return child, go


async def test_an_entry_from_another_process_shows_on_the_running_board(config, store, ledger, make_job):
    for i in range(5):
        make_job(f"J-{500 + i}", qty=10, release=10, materials=())
    child, go = _spawn(store.url, [("complete", "J-502", "CUT", 4)])
    app = board_app(config, store, utcnow)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = board(app).table
        assert table.cell_plain("J-502", "CUT").startswith("10 W")
        go.set()
        try:
            await until(
                pilot,
                lambda: table.cell_plain("J-502", "CUT").startswith("6 W"),
                what="the other process's entry on the board",
            )
        finally:
            _finish(child)
        assert table.cell_plain("J-502", "CNC").startswith("4 W")
        assert table.cell_plain("J-501", "CUT").startswith("10 W")
        assert child.exitcode == 0


async def test_a_burst_of_100_entries_lands_while_the_board_keeps_taking_keys(config, store, ledger, make_job):
    jobs = [make_job(f"J-{700 + i}", qty=10, release=10, materials=()) for i in range(10)]
    burst = [("complete", job, "CUT", 1) for _ in range(10) for job in jobs]
    child, go = _spawn(store.url, burst)
    app = board_app(config, store, utcnow)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = board(app)
        table = screen.table
        go.set()
        try:
            await _switch_views_until(
                pilot, screen, lambda: all(table.cell_plain(job, "CNC").startswith("10 W") for job in jobs)
            )
        finally:
            _finish(child)
        assert child.exitcode == 0
        assert all(table.cell_plain(job, "CUT") == "✓" for job in jobs)


async def _switch_views_until(pilot, screen, done, *, limit: int = 2000) -> None:
    """Switch views back and forth until done(); every key must take effect at once."""
    for _ in range(limit):
        if done():
            return
        wanted = "bottlenecks" if screen.view == "wip" else "wip"
        await pilot.press("2" if wanted == "bottlenecks" else "1")
        assert screen.view == wanted
        await pilot.pause(0.05)
    raise AssertionError("the burst never showed completely on the board")


def _finish(child) -> None:
    """Wait for the writer; end it (only it) if a failed test left it running."""
    child.join(60)
    if child.is_alive():
        child.terminate()
        child.join(5)
