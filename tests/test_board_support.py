"""Helpers for the board's tests: an app that opens the board, a small plant, waiting by polling.

Imported by tests/test_board*.py (`from test_board_support import ...`); its one test checks the
plant it builds, so a change there shows up here first.
"""

from __future__ import annotations

import datetime as dt
import time

from rich.console import Console

from floorterm.screens.app import FloortermApp
from floorterm.screens.board import BoardScreen

from conftest import SUPERVISOR

T0 = dt.datetime(2026, 11, 23, 7, 0)  # the FakeClock's start: Monday 08:00 in Berlin, Early shift


class BoardApp(FloortermApp):
    """The app with the board as its first screen (what `floorterm board` runs)."""

    def first_screen(self):
        return BoardScreen(self.services, terminal=self.terminal_id, tv=self.tv)


def board_app(config, store, clock, *, tv: bool = False) -> BoardApp:
    return BoardApp(config, store.url, mode="board", tv=tv, clock=clock, store=store)


def build_plant(ledger, make_job, clock) -> dict[str, str]:
    """Seven jobs that show every cell state and most exception lists; returns name -> job number."""
    nov = lambda day: dt.date(2026, 11, day)  # noqa: E731
    jobs = {
        "working": make_job(
            "J-1001",
            qty=20,
            priority=2,
            planned_end=nov(30),
            customer="Hansa",
            product="Frame",
            release=20,
            materials=(),
        ),
        "delayed": make_job(
            "J-1002", qty=10, planned_end=nov(28), customer="Nordwerk", product="Door", release=10, materials=()
        ),
        "late": make_job(
            "J-1003",
            qty=5,
            routing="weldment",
            planned_end=nov(20),
            customer="Meyer",
            product="Stair",
            release=5,
            materials=(),
        ),
        "urgent": make_job(
            "J-1004",
            qty=8,
            routing="machined_part",
            priority=1,
            planned_end=nov(27),
            customer="Rheinland",
            product="Bracket",
            release=8,
            materials=(),
        ),
        "planned": make_job("J-1005", qty=12, planned_end=nov(30), customer="Alpen", product="Guard", materials=()),
        "held": make_job(
            "J-1006",
            qty=6,
            routing="sheet_metal",
            planned_end=nov(29),
            customer="[red]Elbe[/red]",
            product="Tray",
            release=6,
            materials=(),
        ),
        "rejects": make_job(
            "J-1007",
            qty=12,
            routing="weldment",
            planned_end=nov(29),
            customer="Vogt",
            product="Rail",
            release=12,
            materials=(),
        ),
    }
    clock.advance(minutes=30)
    ledger.complete(jobs["working"], "CUT", 12, actor=SUPERVISOR)
    wrong = ledger.complete(jobs["working"], "CUT", 3, actor=SUPERVISOR)
    ledger.void(wrong.uuid, actor=SUPERVISOR, note="Booked on the wrong job")
    ledger.start(jobs["working"], "CNC", actor=SUPERVISOR)
    ledger.complete(jobs["delayed"], "CUT", 10, actor=SUPERVISOR)
    ledger.complete(jobs["urgent"], "CUT", 8, actor=SUPERVISOR)
    ledger.complete(jobs["urgent"], "CNC", 8, actor=SUPERVISOR)
    ledger.reject(jobs["rejects"], "CUT", 2, "DIM", actor=SUPERVISOR)
    ledger.hold(jobs["held"], actor=SUPERVISOR, note="[bold]Customer stop[/bold]")
    clock.advance(hours=1)
    ledger.delay(jobs["delayed"], "CNC", "MACH", actor=SUPERVISOR)
    ledger.change_priority(jobs["late"], 3, actor=SUPERVISOR, note="Customer escalation")
    clock.advance(hours=4)  # now T0 + 5 h 30 min: ages cross the first threshold (4 h)
    return jobs


def loaded(app) -> bool:
    screen = app.screen
    return isinstance(screen, BoardScreen) and screen.loaded and not screen._busy


async def until(pilot, predicate, *, timeout: float = 20.0, what: str = "the board to catch up") -> None:
    """Poll until predicate() is true (no fixed sleeps); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def settle(pilot, *, timeout: float = 20.0) -> None:
    """Wait until the first paint is done and no read for the view on screen is queued or running."""
    app = pilot.app

    def quiet() -> bool:
        if not loaded(app):
            return False
        screen = app.screen
        pending = {"top", "full", "rows", "job", screen.view} & screen._want
        return (
            not screen._busy
            and not pending
            and not any(w.is_running for w in screen.workers if w.group in ("board-read", "board-oneoff"))
        )

    await until(pilot, quiet, timeout=timeout, what="the board to settle")
    await pilot.pause()


def text_of(widget, width: int = 200) -> str:
    """What a Static shows, as plain text."""
    console = Console(width=width, record=True, file=open("/dev/null", "w"), color_system=None)
    console.print(widget.content)
    return console.export_text()


def board(app) -> BoardScreen:
    screen = app.screen
    assert isinstance(screen, BoardScreen)
    return screen


async def press_text(pilot, text: str) -> None:
    """Type text as keys (a scanner types too)."""
    for ch in text:
        await pilot.press(
            ch
            if ch.isalnum()
            else {"-": "minus", "/": "slash", "$": "dollar_sign", ":": "colon", " ": "space", ".": "full_stop"}.get(
                ch, ch
            )
        )


def test_build_plant_makes_the_situations_the_board_tests_rely_on(ledger, make_job, clock, queries):
    jobs = build_plant(ledger, make_job, clock)
    assert queries.job_card(jobs["delayed"]).delay.reason == "MACH"
    assert "late" in queries.job_card(jobs["late"]).flags
    assert "on hold" in queries.job_card(jobs["held"]).flags
    history = queries.history(jobs["working"])
    assert [e["voided"] for e in history if e["kind"] == "complete"] == [True, False]
    assert clock() == T0 + dt.timedelta(hours=5, minutes=30)
