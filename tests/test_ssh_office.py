"""Office mode screens (screens/office.py) driven with Textual's Pilot: who may do what, what is
recorded, exports, and the lock-down of a forced command. The real-SSH tests are in
test_ssh_sshd.py."""

from __future__ import annotations

import asyncio
import csv
import io
import os
import threading
from contextlib import asynccontextmanager

import pytest
from rich.console import Console
from rich.text import Text
from textual.keys import _character_to_key
from textual.widgets import DataTable, Static

from conftest import SUPERVISOR
from floorterm.clock import to_plant
from floorterm.errors import PermissionDenied
from floorterm.ledger import Actor
from floorterm.queries import Queries
from floorterm.reports import Reports
from floorterm.screens.widgets import JobCardView
from floorterm.shift import render_html, shift_report, shift_window
from floorterm.screens.office import (
    ExportCancelled,
    OfficeApp,
    OfficeForm,
    OfficeHeader,
    OfficeHome,
    OfficeJobScreen,
    OfficeReportsScreen,
    office_actions,
    write_export,
)
from floorterm.ssh import OfficeSession

SETTLE_GROUPS = ("store", "board-read", "board-oneoff")
KEY = "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"


def plain(widget: Static) -> str:
    """What a Static shows, as plain text (Text, str or any Rich renderable)."""
    content = widget.content
    if isinstance(content, Text):
        return content.plain
    if isinstance(content, str):
        return content
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(content)
    return console.export_text()


class Office:
    def __init__(self, app: OfficeApp, pilot):
        self.app = app
        self.pilot = pilot

    @property
    def screen(self):
        return self.app.screen

    async def settle(self) -> None:
        """Wait for the store work the screens started (not the board's endless feed watcher)."""
        for _ in range(20):  # store work may start more store work (a save, then the card re-read)
            await self.pilot.pause()
            pending = [w for w in self.app.workers if w.group in SETTLE_GROUPS and not w.is_finished]
            if not pending:  # (an empty list given to wait_for_complete would mean: every worker)
                return
            await asyncio.wait_for(self.app.workers.wait_for_complete(pending), 15)
        raise AssertionError("the office screens kept starting store work")

    async def press(self, *keys: str) -> None:
        await self.pilot.press(*keys)
        await self.settle()

    async def type(self, text: str) -> None:
        await self.pilot.press(*(_character_to_key(ch) for ch in text))
        await self.settle()

    def message(self) -> str:
        return plain(self.screen.query_one("#office-message", Static))

    def footer_keys(self) -> set[str]:
        return {
            b.binding.action
            for b in self.screen.active_bindings.values()
            if self.screen.check_action(b.binding.action, ()) is not False
        }

    async def open_job(self, number: str) -> None:
        await self.press("2")
        assert isinstance(self.screen, OfficeJobScreen)
        await self.type(number)
        await self.press("enter")
        assert self.screen.card is not None and self.screen.card.number == number, self.message()


@pytest.fixture
def open_office(config, store, store_url, ledger, clock, tmp_path):
    """`async with open_office("s1", "supervisor") as o:` the office app for that person."""

    @asynccontextmanager
    async def opener(user: str, role: str, *, size=(100, 32)):
        session = OfficeSession(user, role, KEY, client="192.0.2.7")
        operator = Queries(config).operator(session.badge)
        app = OfficeApp(config, store_url, session, operator, export_dir=tmp_path / "exports", clock=clock, store=store)
        app.HANGUP_GRACE_SECONDS = None  # never os._exit the test run
        async with app.run_test(size=size) as pilot:
            office = Office(app, pilot)
            await office.settle()
            yield office
        assert not app.unexpected, app.unexpected

    return opener


@pytest.fixture
def delayed_job(ledger, make_job):
    number = make_job(release=20)
    ledger.delay(number, "CUT", "MAT", actor=SUPERVISOR)
    return number


def events(queries, number: str, kind: str | None = None) -> list[dict]:
    return [e for e in queries.history(number) if kind is None or e["kind"] == kind]


# --------------------------------------------------------------------------- who may do what


def test_office_actions_follow_the_ledger_roles():
    assert office_actions("supervisor") == ("resume", "priority", "hold", "note")
    assert office_actions("planner") == ("priority", "hold", "note")
    for role in ("viewer", "operator", "qc", "stores", None):
        assert office_actions(role) == ()


async def test_home_shows_who_and_the_stages_once(open_office, delayed_job):
    async with open_office("v1", "viewer") as o:
        assert isinstance(o.screen, OfficeHome)
        # One home screen on top of Textual's default screen: on_mount ran once.
        assert len(o.app.screen_stack) == 2
        header = plain(o.screen.query_one("#office-header", Static))
        assert "Vic Viewer (v1, viewer)" in header
        assert "Read only" in plain(o.screen.query_one("#office-who", Static))
        text = o.screen.summary_text()
        assert "Cutting" in text and "Dispatch" in text


async def test_the_home_summary_redraws_only_the_lines_that_changed(open_office, delayed_job, make_job, clock):
    """Over SSH every redraw is sent: a re-read that finds the same figures draws nothing."""
    async with open_office("v1", "viewer", size=(80, 24)) as o:
        home = o.screen

        def contents() -> dict[str, object]:
            return {line.id: line.content for line in home.query("#office-summary Static").results(Static)}

        before = contents()
        assert "summary-CUT" in before and "summary-counts" in before
        home.reload()
        await o.settle()
        assert all(contents()[key] is value for key, value in before.items())  # not one line redrawn
        make_job(release=5)  # Cutting gets 5 more pieces in one more job; no other stage changes
        home.reload()
        await o.settle()
        after = contents()
        changed = {key for key, value in before.items() if after[key] is not value}
        assert "summary-CUT" in changed and changed <= {"summary-CUT", "summary-counts"}, changed
        assert "25" in after["summary-CUT"].plain
        # The whole home screen fits 80x24: no line is cut, nothing needs scrolling.
        summary = home.query_one("#office-summary")
        assert summary.max_scroll_y == 0
        assert not summary.vertical_scrollbar.display or not summary.show_vertical_scrollbar


async def test_the_header_clock_changes_on_the_minute_only(open_office, clock):
    async with open_office("v1", "viewer") as o:
        header = o.screen.query_one("#office-header", OfficeHeader)
        shown = header.content
        assert to_plant(clock(), o.app.config.tz).strftime("%H:%M") in plain(header)
        clock.advance(seconds=59 - clock().second)
        header.draw()
        assert header.content is shown  # the same minute: nothing redrawn
        clock.advance(seconds=1)
        header.draw()
        assert header.content is not shown
        assert to_plant(clock(), o.app.config.tz).strftime("%H:%M") in plain(header)


async def test_viewer_gets_no_actions_and_the_ledger_refuses_a_forced_one(open_office, delayed_job, queries):
    async with open_office("v1", "viewer") as o:
        await o.open_job(delayed_job)
        assert not {"resume", "priority", "hold", "note"} & o.footer_keys()
        await o.press("r")
        assert not isinstance(o.screen, OfficeForm)
        # Forced past the hidden keys: the ledger still says no.
        o.screen.action_resume()
        await o.settle()
        assert isinstance(o.screen, OfficeForm)
        await o.press("enter")
        assert "may not resume" in o.message()
    assert events(queries, delayed_job, "resume") == []


async def test_supervisor_resumes_and_the_entry_names_person_login_and_key(open_office, delayed_job, queries):
    async with open_office("s1", "supervisor") as o:
        await o.open_job(delayed_job)
        assert {"resume", "priority", "hold", "note"} <= o.footer_keys()
        await o.press("r")
        assert isinstance(o.screen, OfficeForm)
        await o.type("parts arrived")
        await o.press("enter")
        assert "resumed" in o.message().lower()
        assert o.screen.card.delay is None  # the card was read again
    (entry,) = events(queries, delayed_job, "resume")
    assert (entry["badge"], entry["login_user"], entry["terminal"], entry["note"]) == (
        "S1",
        "s1",
        None,
        "parts arrived",
    )
    stored = [e for e in queries.export_events() if e["uuid"] == entry["uuid"]]
    assert stored and stored[0]["login_user"] == "s1"
    from floorterm import models as m

    assert m.Event.get(m.Event.uuid == entry["uuid"]).login_key == KEY


async def test_resume_asks_which_step_when_several_are_delayed(open_office, ledger, make_job, queries, config):
    number = make_job(release=20)
    ledger.complete(number, "CUT", 10, actor=SUPERVISOR)
    ledger.delay(number, "CUT", "MAT", actor=SUPERVISOR)
    ledger.delay(number, "CNC", "MACH", actor=SUPERVISOR)
    async with open_office("s1", "supervisor") as o:
        await o.open_job(number)
        await o.press("r")
        await o.type("7")
        await o.press("enter")
        assert "number from 1 to 2" in plain(o.screen.query_one("#office-form-error", Static))
        await o.press("backspace", "2", "enter")
        assert not o.screen.query_one("#office-form-error", Static).has_class("-shown")
        await o.press("enter")
    (entry,) = events(queries, number, "resume")
    assert entry["step"] == config.stage("CNC").name


async def test_escape_cancels_a_half_filled_form_and_writes_nothing(open_office, make_job, queries):
    number = make_job(release=5)
    before = events(queries, number)
    async with open_office("p1", "planner") as o:
        await o.open_job(number)
        assert "resume" not in o.footer_keys()  # planners do not resume delays
        await o.press("p")
        await o.type("1")
        await o.press("enter")
        await o.type("cust")
        await o.press("escape")
        assert isinstance(o.screen, OfficeJobScreen)
        assert "nothing was written" in o.message()
    assert events(queries, number) == before


async def test_planner_changes_priority_and_holds_with_reasons(open_office, make_job, queries):
    number = make_job(release=5)
    async with open_office("p1", "planner") as o:
        await o.open_job(number)
        await o.press("p")
        await o.type("0")
        await o.press("enter")
        assert "Priority must be" in plain(o.screen.query_one("#office-form-error", Static))
        await o.press("backspace")
        await o.type("2")
        await o.press("enter", "enter")
        assert "Give a reason" in plain(o.screen.query_one("#office-form-error", Static))
        await o.type("rang")
        await o.press("enter")
        assert o.screen.card.priority == 2
        await o.press("h")
        await o.type("query")
        await o.press("enter")
        assert "on hold" in o.screen.card.flags
        await o.press("n")
        await o.type("[b]x[/b]")
        await o.press("enter")
    kinds = [e["kind"] for e in events(queries, number)]
    assert kinds[:3] == ["note", "hold", "priority"]
    assert events(queries, number, "note")[0]["note"] == "[b]x[/b]"  # as typed, not markup
    assert {e["login_user"] for e in events(queries, number)[:3]} == {"p1"}


async def test_an_open_card_is_redrawn_only_when_it_shows_something_new(open_office, delayed_job, clock):
    async with open_office("v1", "viewer") as o:
        await o.open_job(delayed_job)
        view = o.screen.query_one("#office-card", JobCardView)
        shown = view.content
        o.screen.refresh_card()  # the 15 s re-read: the same card
        await o.settle()
        assert view.content is shown
        clock.advance(minutes=5)  # the delay has lasted 5 minutes longer: the card says so
        o.screen.refresh_card()
        await o.settle()
        assert view.content is not shown


async def test_unknown_job_says_so_and_a_unique_partial_number_opens(open_office, make_job):
    number = make_job(number="J-7777", release=5)
    async with open_office("v1", "viewer") as o:
        await o.press("2")
        await o.type("NOPE-1")
        await o.press("enter")
        assert "No job matches" in o.message() and o.screen.card is None
        await o.type("7777")
        await o.press("enter")
        assert o.screen.card.number == number


# --------------------------------------------------------------------------- board in office mode


async def test_the_live_board_cannot_be_signed_into_with_a_badge(open_office, delayed_job, queries):
    pytest.importorskip("floorterm.screens.board")
    async with open_office("v1", "viewer") as o:
        await o.press("1")
        await o.pilot.pause(0.3)
        await o.settle()
        board = o.screen
        assert type(board).__name__ == "OfficeBoardScreen"
        board._sign_in_badge("S1")  # a supervisor's badge typed or scanned at the board
        await o.settle()
        board.action_sign_in()
        await o.settle()
        assert board.operator is None
        board.action_act("resume")
        await o.settle()
    assert events(queries, delayed_job, "resume") == []


async def test_the_live_board_acts_as_the_office_person(open_office, delayed_job):
    pytest.importorskip("floorterm.screens.board")
    async with open_office("s1", "supervisor") as o:
        await o.press("1")
        await o.settle()
        board = o.screen
        assert board.operator is not None and board.operator.badge == "S1"
        assert board._actor() == Actor("S1", None, "s1", KEY)


# --------------------------------------------------------------------------- reports and exports


async def test_reports_show_and_export_a_whole_csv(open_office, delayed_job, tmp_path, config, clock):
    async with open_office("v1", "viewer") as o:
        await o.press("4")
        assert isinstance(o.screen, OfficeReportsScreen)
        await o.press("3")  # exceptions
        table = o.screen.query_one(DataTable)
        assert table.row_count >= 1
        await o.press("e")
        message = o.message()
        assert message.startswith("Exported")
    folder = tmp_path / "exports"
    files = sorted(folder.iterdir())
    assert [f.name for f in files if f.name.endswith(".part")] == []  # no temporary left behind
    (export,) = files
    assert export.name.startswith("exceptions-") and export.name.endswith("-v1.csv")
    assert str(export) in message
    headers, rows = Reports(config, clock=clock).as_rows("exceptions")
    with export.open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle)) == [headers] + [[str(v) for v in row] for row in rows]


async def test_an_export_that_cannot_be_written_says_so(open_office, tmp_path, make_job):
    make_job(release=5)
    async with open_office("v1", "viewer") as o:
        o.app.export_dir = tmp_path / "blocked" / "exports"
        (tmp_path / "blocked").touch()  # a file where a folder would have to be
        await o.press("4", "e")
        assert "Export failed, no file was written" in o.message()


async def test_the_shift_handover_is_saved_as_the_report_shift_page(open_office, delayed_job, tmp_path, config, clock):
    async with open_office("v1", "viewer") as o:
        await o.press("5")
        message = o.message()
        assert message.startswith("Handover of shift"), message
    files = sorted((tmp_path / "exports").iterdir())
    (page,) = files  # and no temporary file left beside it
    assert page.name.startswith("handover-") and page.name.endswith("-v1.html")
    assert str(page) in message
    window = shift_window(config, clock())
    assert f"shift {window.name}" in message
    # The very page `floorterm report shift --format html` prints for that moment.
    assert page.read_text(encoding="utf-8") == render_html(shift_report(config, window, clock()), config)
    assert delayed_job in page.read_text(encoding="utf-8")  # its open delay waits for the next shift


async def test_a_handover_that_cannot_be_written_says_so(open_office, tmp_path, make_job):
    make_job(release=5)
    async with open_office("s1", "supervisor") as o:
        o.app.export_dir = tmp_path / "blocked" / "exports"
        (tmp_path / "blocked").touch()  # a file where a folder would have to be
        await o.press("5")
        assert "Export failed, no file was written" in o.message()
    assert (tmp_path / "blocked").is_file()


def test_write_export_is_whole_or_absent(tmp_path):
    folder = tmp_path / "out"
    cancel = threading.Event()

    def rows():
        yield ["a", 1]
        cancel.set()  # the connection drops in the middle of the export
        yield ["b", 2]

    with pytest.raises(ExportCancelled):
        write_export(folder, "wip.csv", ["name", "n"], rows(), cancel)
    assert list(folder.iterdir()) == []
    first, count = write_export(folder, "wip.csv", ["name", "n"], [["a", 1]])
    second, _ = write_export(folder, "wip.csv", ["name", "n"], [["b", 2]])
    assert (first.name, second.name, count) == ("wip.csv", "wip-2.csv", 1)
    assert first.read_text() == "name,n\na,1\n"


# --------------------------------------------------------------------------- lock-down and hang-up


async def test_no_palette_screenshot_or_suspend(open_office, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    async with open_office("s1", "supervisor") as o:
        before = set(os.listdir(tmp_path))
        await o.press("ctrl+p", "ctrl+s", "ctrl+z")
        o.app.action_screenshot()
        o.app.action_suspend_process()
        await o.settle()
        assert o.app.is_running and isinstance(o.screen, OfficeHome)
        with pytest.raises(PermissionError):
            o.app.save_screenshot()
        assert set(os.listdir(tmp_path)) == before
        assert not o.app.ENABLE_COMMAND_PALETTE


async def test_hang_up_waits_for_a_save_in_progress_then_exits(open_office, delayed_job, queries, monkeypatch):
    async with open_office("s1", "supervisor") as o:
        await o.open_job(delayed_job)
        ledger = o.app.services.ledger
        started, release = threading.Event(), threading.Event()
        real_resume = ledger.resume

        def slow_resume(*args, **kwargs):
            started.set()
            release.wait(10)
            return real_resume(*args, **kwargs)

        monkeypatch.setattr(ledger, "resume", slow_resume)
        await o.pilot.press("r", "enter")  # the save starts on the store thread
        assert started.wait(10)
        o.app.hang_up()
        release.set()
        await o.pilot.pause(0.2)
    assert o.app.return_code == 129 and o.app.export_cancel.is_set()
    assert len(events(queries, delayed_job, "resume")) == 1  # committed whole before the exit


def test_viewer_ledger_refusal_is_in_the_ledger_itself(ledger, delayed_job):
    with pytest.raises(PermissionDenied):
        ledger.resume(delayed_job, "CUT", actor=Actor("V1", login_user="v1", login_key=KEY))
