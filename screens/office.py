"""Office mode (over SSH): the board summary, job lookup, reports and exports for one named person.

Who the person is comes from the forced command (`floorterm office --user NAME --role ROLE`,
see floorterm.ssh); every entry made here is recorded with their badge, their name as the
login user and the key that logged in. Viewers only look; supervisors and planners get
their actions, which the ledger checks again like everywhere else.

Locked down for a forced command: no command palette, no screenshots, no suspend, no shell,
no mouse (slow links), and no file written except the exports the person asks for, into
one folder, each complete or not at all (temporary name, then renamed).
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import functools
import os
import signal
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from floorterm.clock import format_duration, to_plant, utcnow
from floorterm.config import Config
from floorterm.errors import DomainError, FloortermError, InputError, OutputError
from floorterm.inputs import clean_text, parse_priority
from floorterm.ledger import ANYWHERE_ROLES, ROLE_KINDS, Actor, new_uuid
from floorterm.outfiles import OutputFiles
from floorterm.queries import JobCard
from floorterm.reports import PERIODS, REPORTS, Reports
from floorterm.screens.app import FloortermApp
from floorterm.screens.widgets import JobCardView
from floorterm.ssh import OfficeSession, default_export_dir, office_refusal

# Office action -> the ledger kinds it records (the ledger's role table decides who may).
OFFICE_ACTIONS = {"resume": ("resume",), "priority": ("priority",), "hold": ("hold", "unhold"), "note": ("note",)}
REPORT_TITLES = {
    "wip": "WIP by job",
    "stages": "Stages",
    "exceptions": "Exceptions",
    "delays": "Delays by reason",
    "rejections": "Rejections",
    "ageing": "WIP ageing",
    "bottlenecks": "Bottlenecks",
    "outside": "At outside suppliers",
}
PERIOD_REPORTS = ("delays", "rejections")
REPORT_KEYS = {  # the report bar's short names: all eight fit one line at 80 columns
    "wip": "WIP",
    "stages": "Stages",
    "exceptions": "Exceptions",
    "delays": "Delays",
    "rejections": "Rejections",
    "ageing": "Ageing",
    "bottlenecks": "Bottlenecks",
    "outside": "Out",
}
REFRESH_SECONDS = 15.0  # the home summary and an open card re-read this often (cheap; little traffic)
HANGUP_GRACE_SECONDS = 5.0  # after SIGHUP: time for a write in progress to commit before the process ends


def office_actions(role: str | None) -> tuple[str, ...]:
    """The office actions this role may take: none for viewers (and for terminal roles, which need a terminal)."""
    if role not in ANYWHERE_ROLES:
        return ()
    kinds = ROLE_KINDS.get(role, frozenset())
    return tuple(action for action, needs in OFFICE_ACTIONS.items() if all(k in kinds for k in needs))


# --------------------------------------------------------------------------- exports


class ExportCancelled(Exception):
    """The session ended while an export was being written; nothing was left behind."""


def export_name(report: str, user: str, now_local: dt.datetime, suffix: str = ".csv") -> str:
    return f"{report}-{now_local:%Y%m%d-%H%M%S}-{user}{suffix}"


def _free_name(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    stem, n = target.stem, 1
    while target.exists():  # two exports in one second: never overwrite
        n += 1
        target = folder / f"{stem}-{n}{target.suffix}"
    return target


def write_export(
    folder: Path, name: str, headers: list[str], rows: Iterable[list], cancel: threading.Event | None = None
) -> tuple[Path, int]:
    """Write a CSV into `folder` under a temporary name, then rename it: the file is whole or absent."""
    target = _free_name(folder, name)
    count = 0
    with OutputFiles() as output:
        writer = csv.writer(output.open(target, "w", encoding="utf-8", newline=""), lineterminator="\n")
        writer.writerow(headers)
        for row in rows:
            if cancel is not None and cancel.is_set():
                raise ExportCancelled()
            writer.writerow(["" if v is None else v for v in row])
            count += 1
        if cancel is not None and cancel.is_set():
            raise ExportCancelled()
    return target, count


def write_handover(folder: Path, name: str, page: str, cancel: threading.Event | None = None) -> Path:
    """Write the shift handover page into `folder`, whole or not at all (like write_export)."""
    target = _free_name(folder, name)
    with OutputFiles() as output:
        output.open(target, "w", encoding="utf-8").write(page)
        if cancel is not None and cancel.is_set():
            raise ExportCancelled()
    return target


def shift_handover(config: Config, now: dt.datetime) -> tuple[str, str]:
    """The running shift's handover as an HTML page (as `floorterm report shift --format html`), and its name.

    On the store thread: it reads the ledger."""
    from floorterm.shift import render_html, shift_report, shift_window

    window = shift_window(config, now)
    return window.name, render_html(shift_report(config, window, now), config)


# --------------------------------------------------------------------------- the app


class OfficeApp(FloortermApp):
    """FloortermApp for one office session: identity fixed at start, locked down, no mouse."""

    HANGUP_GRACE_SECONDS: float | None = HANGUP_GRACE_SECONDS

    def __init__(
        self,
        config: Config,
        store_url: str,
        session: OfficeSession,
        operator,
        *,
        export_dir: Path | None = None,
        clock: Callable[[], dt.datetime] = utcnow,
        store=None,
    ):
        super().__init__(config, store_url, mode="office", clock=clock, store=store)
        self.session = session
        self.operator = operator  # the OperatorView of session.badge, checked by run_office
        self.operator_name = operator.name
        self.export_dir = Path(export_dir) if export_dir else default_export_dir()
        self.actor = Actor(session.badge, terminal=None, login_user=session.user, login_key=session.login_key)
        self.allowed = office_actions(session.role)
        self.export_cancel = threading.Event()
        self.hung_up = False
        self.unexpected: list[BaseException] = []

    @property
    def who(self) -> str:
        return f"{self.operator_name} ({self.session.user}, {self.session.role})"

    def first_screen(self):
        return OfficeHome(self.services)

    def on_mount(self) -> None:
        # Textual calls every class's on_mount (this one first): no super() call here.
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGHUP, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, self.hang_up)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
                pass

    def hang_up(self) -> None:
        """The connection is gone: stop exports, let a write in progress commit, and end the process."""
        if self.hung_up:
            return
        self.hung_up = True
        self.export_cancel.set()

        def last_resort() -> None:
            # A store write that is still retrying after the grace time is abandoned: its
            # transaction never committed, so nothing of it is in the store.
            os._exit(129)

        if self.HANGUP_GRACE_SECONDS is not None:
            watchdog = threading.Timer(self.HANGUP_GRACE_SECONDS, last_resort)
            watchdog.daemon = True
            watchdog.start()
        self.exit(return_code=129)

    # -- lock-down: a forced command offers nothing but its screens --------------------------

    def action_request_quit(self) -> None:
        self.exit()

    def action_suspend_process(self) -> None:
        return None

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        return None

    def save_screenshot(self, *args, **kwargs):
        raise PermissionError("floorterm office writes no screenshots")

    def action_command_palette(self) -> None:
        return None

    def open_url(self, *args, **kwargs) -> None:
        return None

    def deliver_text(self, *args, **kwargs):
        return None

    def deliver_binary(self, *args, **kwargs):
        return None

    def action_show_help_panel(self) -> None:
        return None

    def on_unmount(self) -> None:
        self.export_cancel.set()  # FloortermApp.on_unmount then waits for the store thread


def run_office(config: Config, store_url: str, session: OfficeSession, *, export_dir: Path | None = None) -> int:
    """Check the person against the store, then run the office screens until they quit or hang up."""
    from floorterm.queries import Queries
    from floorterm.store import Store

    store = Store.open(store_url)
    try:
        operator = Queries(config).operator(session.badge)
        problem = office_refusal(operator, session)
        if problem:
            print(f"floorterm: {problem}", file=sys.stderr)
            return 1
        app = OfficeApp(config, store_url, session, operator, export_dir=export_dir, store=store)
        app.run(mouse=False)  # mouse tracking floods a slow link; everything works from the keyboard
        return app.return_code or 0
    finally:
        store.close()


# --------------------------------------------------------------------------- shared bits


class StoreWork:
    """Mixin for screens: run store work on the app's store thread, then a callback here."""

    def store_call(self, fn, done, failed=None) -> None:
        async def run() -> None:
            loop = asyncio.get_running_loop()
            try:
                result = await loop.run_in_executor(self.services.executor, fn)
            except Exception as exc:  # shown to the person; the session never dies of it
                (failed or self.say_failure)(exc)
            else:
                done(result)

        self.run_worker(run(), group="store")

    def say_failure(self, exc: BaseException) -> None:
        if isinstance(exc, FloortermError):
            self.say(str(exc), "error")
        else:
            self.app.unexpected.append(exc)
            self.say(f"Nothing was saved or read: {type(exc).__name__}: {exc}", "error")

    def say(self, message: str, level: str = "") -> None:
        box = self.query_one("#office-message", Static)
        box.update(Text(message))  # may repeat what was typed: never markup
        box.set_classes(level)
        box.display = bool(message)  # an empty message takes no line


def export_failed(screen: StoreWork, exc: BaseException, folder: Path) -> None:
    """Say why an export or a saved handover did not land; nothing was left behind."""
    if isinstance(exc, OSError):  # the folder cannot be made
        screen.say(f"Export failed, no file was written: {exc.strerror or exc} ({folder})", "error")
    elif isinstance(exc, OutputError):
        screen.say(f"Export failed: {exc}", "error")
    elif isinstance(exc, ExportCancelled):
        screen.say("Export cancelled, no file was written", "error")
    else:
        screen.say_failure(exc)


def identity_line(app: OfficeApp) -> Text:
    """What the person may do here (who they are is in the header line above)."""
    text = Text()
    if app.allowed:
        text.append("May: ", style="bold")
        text.append(", ".join(app.allowed))
        if "void" in ROLE_KINDS.get(app.session.role, ()) and board_screen_class() is not None:
            text.append("; void entries on the board")
    else:
        text.append("Read only", style="bold")
        text.append(": look up and export, record nothing")
    return text


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    parse: Callable[[str], object]
    placeholder: str = ""


def required_text(label: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        value = clean_text(text, field=label)
        if not value:
            raise InputError(f"Give {label}: it is kept with the entry")
        return value

    return parse


def optional_text(text: str) -> str:
    return clean_text(text, field="note")


class OfficeForm(ModalScreen):
    """Context lines and fields; Enter moves on and on the last field submits; Esc cancels (writes nothing)."""

    DEFAULT_CSS = """
    OfficeForm { align: center middle; }
    #office-form { width: 72; max-width: 100%; height: auto; border: heavy $accent; background: $panel; padding: 0 1; }
    #office-form-error { color: $text; background: $error; height: auto; display: none; }
    #office-form-error.-shown { display: block; }
    .office-form-label { margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, title: str, context: Text | None, fields: list[Field], *, submit: str = "save"):
        super().__init__()
        self.form_title = title
        self.context = context
        self.fields = fields
        self.submit = submit

    def compose(self) -> ComposeResult:
        with Vertical(id="office-form"):
            yield Static(Text(self.form_title, style="bold"))
            if self.context is not None:
                yield Static(self.context)
            for field in self.fields:
                yield Static(Text(field.label), classes="office-form-label")
                yield Input(placeholder=field.placeholder, id=f"office-field-{field.name}", select_on_focus=False)
            yield Static("", id="office-form-error")
            yield Static(Text(f"Enter = next / {self.submit}    Esc = cancel, nothing is written"))

    def on_mount(self) -> None:
        boxes = list(self.query(Input))
        for box in boxes:
            box.cursor_blink = False  # no blinking cursor traffic over a slow link
        if boxes:
            boxes[0].focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        boxes = list(self.query(Input))
        index = boxes.index(event.input)
        # Each line is checked on its Enter, so a mistake is shown where it was made.
        for field, box in list(zip(self.fields, boxes))[: index + 1]:
            try:
                field.parse(box.value)
            except InputError as exc:
                self._error(str(exc))
                box.focus()
                return
        self.query_one("#office-form-error", Static).remove_class("-shown")
        if index < len(boxes) - 1:
            boxes[index + 1].focus()
            return
        self.dismiss({field.name: field.parse(box.value) for field, box in zip(self.fields, boxes)})

    def _error(self, message: str) -> None:
        error = self.query_one("#office-form-error", Static)
        error.update(Text(message))  # may repeat what was typed: plain text
        error.add_class("-shown")

    def action_cancel(self) -> None:
        self.dismiss(None)


# --------------------------------------------------------------------------- home


MENU = (
    ("board", "1", "Live board"),
    ("job", "2", "Job lookup"),
    ("exceptions", "3", "Exceptions"),
    ("reports", "4", "Reports and exports"),
    ("handover", "5", "Shift handover: save it as a page to print or mail"),
    ("quit", "q", "Quit"),
)


@functools.lru_cache(maxsize=None)
def board_screen_class():
    """The live board as an office screen (the person fixed, no badge sign-in); None if not installed."""
    try:
        from floorterm.screens.board import BoardScreen
    except ImportError:
        return None

    class OfficeBoardScreen(BoardScreen):
        """The live board for the office person: they act as themselves, never through a badge.

        On the floor anyone may sign in on the board by scanning a badge; over SSH that would
        let a viewer act with a supervisor's (printed, not secret) badge. Here the person is the
        one the forced command names, for the whole session, and every entry carries their login.
        """

        def __init__(self, services):
            super().__init__(services)
            self.operator = self.app.operator if self.app.allowed else None

        def _refuse_sign_in(self) -> None:
            self._say(f"Office mode: you act as {self.app.who}; badges cannot be used here", "error")

        def action_sign_in(self) -> None:
            self._refuse_sign_in()

        def _sign_in_badge(self, badge: str) -> None:
            self._refuse_sign_in()

        def _actor(self) -> Actor:
            return self.app.actor

        def _tick(self) -> None:
            self.last_key_at = self.clock()  # no idle sign-out: the session is the sign-in
            super()._tick()

        def action_back(self) -> None:
            find = self.query_one("#board-find", Input)
            if not find.display and self.view != "job":
                self.app.pop_screen()  # Esc on a board view: back to the office menu
                return
            super().action_back()

        def action_act(self, action: str) -> None:
            if self.operator is None:
                self._say(f"{self.app.who} may look but not act", "error")
                return
            super().action_act(action)

    return OfficeBoardScreen


SUMMARY_COLUMNS = (  # header, minimum width; the stage name column comes first and is as wide as the longest
    ("Pending", 7),
    ("Jobs", 4),
    ("In work", 7),
    ("Delayed", 7),
    ("Oldest", 8),
    ("Done/shift", 10),
)


def summary_age(seconds: float | None) -> str:
    """How long the oldest waits, to the minute: the summary changes at most once a minute."""
    if seconds is None:
        return "—"
    return "<1 min" if seconds < 60 else format_duration(seconds)


def summary_lines(summary: dict, counts: dict[str, int], line_width: int = 78) -> dict[str, Text]:
    """The home summary as one Text per line (header, a line per stage, the exception counts).

    Each line is its own widget, redrawn only when its text changed: an idle office session
    over SSH sends nothing while nothing changes."""
    cells = {
        code: [
            str(s.pending),
            str(s.jobs_waiting),
            str(s.jobs_in_work),
            str(s.jobs_delayed),
            summary_age(s.oldest_seconds),
            str(s.completed_this_shift),
        ]
        for code, s in summary.items()
    }
    name_width = max([len("Stage"), *(len(s.name) for s in summary.values())])
    widths = [
        max([minimum, *(len(row[i]) for row in cells.values())]) for i, (_, minimum) in enumerate(SUMMARY_COLUMNS)
    ]
    head = Text("Stage".ljust(name_width), style="bold", no_wrap=True, overflow="ellipsis")
    for (title, _), width in zip(SUMMARY_COLUMNS, widths):
        head.append("  " + title.rjust(width), style="bold")
    lines = {"summary-head": head}
    for code, s in summary.items():
        line = Text(s.name.ljust(name_width), no_wrap=True, overflow="ellipsis")
        for i, (value, width) in enumerate(zip(cells[code], widths)):
            style = "bold red" if i == 3 and s.jobs_delayed else ""
            line.append("  ")
            line.append(value.rjust(width), style=style)
        lines[f"summary-{code}"] = line
    # The exception counts, wrapped here (to `line_width`) so a name never parts from its number.
    counts_text, used = Text(no_wrap=True, overflow="ellipsis"), 0
    for name, count in counts.items():
        label = name.replace("_", " ")
        size = len(label) + 1 + len(str(count))
        if used and used + 2 + size > line_width:
            counts_text.append("\n")
            used = 0
        elif used:
            counts_text.append("  ")
            used += 2
        counts_text.append(f"{label} ", style="bold" if count else "dim")
        counts_text.append(f"{count}", style="bold reverse" if count else "dim")
        used += size
    lines["summary-counts"] = counts_text
    return lines


class OfficeHeader(Static):
    """The office screens' top line: the screen's title, and the plant's time as HH:MM.

    Redrawn on the minute (and when the title changes), never every second: over SSH a
    ticking clock would be the only thing sent by a session where nothing happens."""

    DEFAULT_CSS = """
    OfficeHeader { height: 1; background: $panel; color: $foreground; text-style: bold; padding: 0 1; }
    """

    def __init__(self, title: str = "", **kwargs):
        super().__init__("", **kwargs)
        self.header_title = title
        self._shown: tuple | None = None

    def on_mount(self) -> None:
        self.draw()
        self._next_minute()

    def _now(self) -> dt.datetime:
        services = self.app.services
        return to_plant(services.clock(), services.config.tz)

    def _next_minute(self) -> None:
        now = dt.datetime.now()  # the timer runs on the machine's clock; the shown time is the plant's
        wait = 60.0 - now.second - now.microsecond / 1e6
        self.set_timer(wait + 0.05, self._on_minute)

    def _on_minute(self) -> None:
        self.draw()
        self._next_minute()

    def set_title(self, title: str) -> None:
        self.header_title = title
        self.draw()

    def draw(self) -> None:
        time = self._now().strftime("%H:%M")
        if self._shown == (self.header_title, time):
            return
        self._shown = (self.header_title, time)
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        grid.add_row(Text(self.header_title), Text(time))
        self.update(grid, layout=False)


class OfficeHome(StoreWork, Screen):
    """The menu and the plant at a glance (stage summary, exception counts)."""

    DEFAULT_CSS = """
    #office-who { padding: 0 1; height: auto; }
    #office-menu { height: auto; max-height: 6; margin: 0 1; border: none; padding: 0; }
    #office-summary { height: 1fr; padding: 0 1; margin-top: 1; scrollbar-size-vertical: 1; }
    #office-summary Static { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    #office-message { padding: 0 1; height: auto; display: none; }
    #office-message.error { background: $error; color: $text; text-style: bold; }
    #office-message.ok { background: $success; color: $text; text-style: bold; }
    """
    BINDINGS = [
        Binding("1", "open('board')", "Board", show=False),
        Binding("2", "open('job')", "Job", show=False),
        Binding("3", "open('exceptions')", "Exceptions", show=False),
        Binding("4", "open('reports')", "Reports", show=False),
        Binding("5", "open('handover')", "Handover", show=False),
        Binding("q", "open('quit')", "Quit"),
    ]

    def __init__(self, services):
        super().__init__()
        self.services = services
        self.shown_lines: dict[str, Text] = {}
        self.last_read: tuple[dict, dict] | None = None
        self.exporting = False

    def compose(self) -> ComposeResult:
        yield OfficeHeader(f"{self.app.who} · {self.services.config.plant_name}", id="office-header")
        yield Static(identity_line(self.app), id="office-who")
        options = []
        for key, digit, label in MENU:
            if key == "board" and board_screen_class() is None:
                label += " (not installed: the summary below is the board)"
            options.append(Option(Text(f"{digit}  {label}"), id=key))
        yield OptionList(*options, id="office-menu")
        yield Static("", id="office-message")
        with VerticalScroll(id="office-summary"):
            yield Static(Text("Reading the store…"), id="summary-wait")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#office-menu", OptionList).focus()
        self.reload()
        self.refresh_timer = self.set_interval(REFRESH_SECONDS, self.reload)

    def on_screen_suspend(self) -> None:
        # Covered by the board or a report: a re-read now would make Textual repaint the screen
        # on top of it too (≈650 B/s of idle traffic over SSH), for lines nobody can see.
        self.refresh_timer.pause()

    def on_screen_resume(self) -> None:
        self.reload()
        if hasattr(self, "refresh_timer"):
            self.refresh_timer.resume()

    def on_resize(self) -> None:
        if self.last_read is not None:
            self.call_after_refresh(lambda: self.show_summary(*self.last_read))  # the counts wrap anew

    def reload(self) -> None:
        reports = Reports(self.services.config, clock=self.services.clock)

        def read():
            return reports.stage_summaries(), reports.counts()

        self.store_call(read, lambda result: self.show_summary(*result))

    def show_summary(self, summary: dict, counts: dict[str, int]) -> None:
        """Redraw only the lines whose text changed; add or remove lines when the stages changed."""
        self.last_read = (summary, counts)
        width = self.app.size.width - 4  # the summary's padding, a scrollbar should it need one, a spare column
        lines = summary_lines(summary, counts, max(20, width))
        if list(lines) != list(self.shown_lines):
            self.shown_lines = lines
            self.run_worker(self._rebuild(lines), group="store")
            return
        for key, text in lines.items():
            if text != self.shown_lines[key]:
                for line in self.query(f"#{key}").results(Static):
                    line.update(text, layout=key == "summary-counts")  # only the counts may wrap
        self.shown_lines = lines

    async def _rebuild(self, lines: dict[str, Text]) -> None:
        box = self.query_one("#office-summary", VerticalScroll)
        await box.remove_children()
        await box.mount_all(Static(text, id=key) for key, text in lines.items())

    def summary_text(self) -> str:
        """The summary as plain text, a line per stage (for tests and for reading aloud)."""
        return "\n".join(text.plain for text in self.shown_lines.values())

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.action_open(event.option.id or "")

    def action_open(self, what: str) -> None:
        if what == "quit":
            self.app.exit()
        elif what == "job":
            self.app.push_screen(OfficeJobScreen(self.services))
        elif what == "exceptions":
            self.app.push_screen(OfficeReportsScreen(self.services, "exceptions"))
        elif what == "reports":
            self.app.push_screen(OfficeReportsScreen(self.services, "wip"))
        elif what == "handover":
            self.save_handover()
        elif what == "board":
            board = board_screen_class()
            if board is None:
                self.say("The live board is not installed in this floorterm; the summary below shows the stages")
                return
            self.app.push_screen(board(self.services))

    def save_handover(self) -> None:
        """Write the running shift's handover (`floorterm report shift --format html`) into the export folder."""
        app: OfficeApp = self.app
        if self.exporting:
            return
        config, folder, cancel = self.services.config, app.export_dir, app.export_cancel
        now = self.services.clock()
        self.exporting = True
        self.say("Writing the shift handover…")

        def write():
            shift, page = shift_handover(config, now)
            name = export_name(f"handover-{shift}", app.session.user, to_plant(now, config.tz), ".html")
            return shift, write_handover(folder, name, page, cancel)

        def done(result) -> None:
            self.exporting = False
            shift, path = result
            self.say(f"Handover of shift {shift} saved: {path}", "ok")

        def failed(exc: BaseException) -> None:
            self.exporting = False
            export_failed(self, exc, folder)

        self.store_call(write, done, failed)


# --------------------------------------------------------------------------- job lookup and actions


class OfficeJobScreen(StoreWork, Screen):
    """Type a job number, see its card; supervisors and planners act on it."""

    DEFAULT_CSS = """
    #office-job-input { margin: 0 1; }
    #office-message { padding: 0 1; height: auto; display: none; }
    #office-message.error { background: $error; color: $text; text-style: bold; }
    #office-message.ok { background: $success; color: $text; text-style: bold; }
    #office-card-scroll { height: 1fr; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Menu"),
        Binding("slash", "new_job", "New job"),
        Binding("r", "resume", "Resume delay"),
        Binding("p", "priority", "Priority"),
        Binding("h", "hold", "Hold / release"),
        Binding("n", "note", "Note"),
    ]

    def __init__(self, services, number: str | None = None):
        super().__init__()
        self.services = services
        self.card: JobCard | None = None
        self.first_number = number

    def compose(self) -> ComposeResult:
        yield OfficeHeader(f"Job lookup · {self.app.who}", id="office-header")
        yield Input(placeholder="Job number, then Enter", id="office-job-input", select_on_focus=False)
        yield Static("", id="office-message")
        with VerticalScroll(id="office-card-scroll"):
            yield JobCardView(self.services.config.tz, id="office-card")
        yield Footer()

    def on_mount(self) -> None:
        box = self.query_one(Input)
        box.cursor_blink = False
        box.focus()
        self.set_interval(REFRESH_SECONDS, self.refresh_card)
        if self.first_number:
            self.look_up(self.first_number)

    def check_action(self, action: str, parameters) -> bool | None:
        if action in OFFICE_ACTIONS:
            if action not in self.app.allowed:
                return False  # not offered at all; the ledger would refuse it anyway
            return True if self.card is not None else None
        return True

    # -- lookup

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.look_up(event.value)

    def look_up(self, text: str) -> None:
        queries = self.services.queries

        def read():
            try:
                return queries.job_card(text), None
            except DomainError:
                matches = queries.find_jobs(text, limit=8)
                if len(matches) == 1:
                    return queries.job_card(matches[0].number), None
                return None, matches

        def done(result) -> None:
            card, matches = result
            box = self.query_one(Input)
            box.value = ""
            if card is None:
                if matches:
                    self.say("Several open jobs match: " + ", ".join(m.number for m in matches), "error")
                else:
                    self.say(f"No job matches {clean_text(text, field='job number')[:32]!r}", "error")
                return
            self.show_card(card)
            self.say("")
            self.query_one("#office-card-scroll").focus()  # so the action keys work

        self.store_call(read, done)

    def show_card(self, card: JobCard) -> None:
        self.card = card
        self.query_one("#office-card", JobCardView).show(card)
        self.refresh_bindings()

    def refresh_card(self) -> None:
        if self.card is None or self.app.screen is not self:
            return
        number = self.card.number
        queries = self.services.queries

        def done(card: JobCard) -> None:
            if self.card is not None and self.card.number == card.number:
                self.show_card(card)

        self.store_call(lambda: queries.job_card(number), done, failed=lambda exc: None)

    def action_new_job(self) -> None:
        self.query_one(Input).focus()

    def action_back(self) -> None:
        self.app.pop_screen()

    # -- actions: each opens a form; the ledger decides

    def action_resume(self) -> None:
        card = self.card
        if card is None:
            return
        delayed = [s for s in card.steps if s.open_delay]
        if not delayed:
            self.say(f"Job {card.number} has no open delay", "error")
            return
        context = Text()
        for i, s in enumerate(delayed, start=1):
            prefix = f"{i}  " if len(delayed) > 1 else ""
            context.append(f"{prefix}{s.name}: {s.open_delay.label}, delayed {format_duration(s.open_delay.seconds)}\n")
        fields = []
        if len(delayed) > 1:

            def which(text: str) -> str:
                text = text.strip()
                if text.isdigit() and text.isascii() and 1 <= int(text) <= len(delayed):
                    return delayed[int(text) - 1].stage
                raise InputError(f"Type a number from 1 to {len(delayed)}")

            fields.append(Field("stage", "Which step? (number)", which))
        fields.append(Field("note", "Note (optional)", optional_text))

        def write(values):
            stage = values.get("stage", delayed[0].stage)
            return lambda uuid: self.services.ledger.resume(
                card.number, stage, actor=self.app.actor, note=values["note"], uuid=uuid
            )

        self.ask(f"Resume work on job {card.number}", context, fields, "resume", write)

    def action_priority(self) -> None:
        card = self.card
        if card is None:
            return
        fields = [
            Field("priority", f"New priority, 1 (most urgent) .. 9 (now {card.priority})", parse_priority),
            Field("why", "Why (kept with the entry)", required_text("a reason")),
        ]

        def write(values):
            return lambda uuid: self.services.ledger.change_priority(
                card.number, values["priority"], actor=self.app.actor, note=values["why"], uuid=uuid
            )

        self.ask(f"Change the priority of job {card.number}", None, fields, "save", write)

    def action_hold(self) -> None:
        card = self.card
        if card is None:
            return
        on_hold = "on hold" in card.flags
        verb = "Release job {} from hold" if on_hold else "Put job {} on hold"
        fields = [Field("why", "Why (kept with the entry)", required_text("a reason"))]

        def write(values):
            method = self.services.ledger.unhold if on_hold else self.services.ledger.hold
            return lambda uuid: method(card.number, actor=self.app.actor, note=values["why"], uuid=uuid)

        self.ask(verb.format(card.number), None, fields, "save", write)

    def action_note(self) -> None:
        card = self.card
        if card is None:
            return
        fields = [Field("note", "Note", required_text("the note"))]

        def write(values):
            return lambda uuid: self.services.ledger.add_note(
                card.number, values["note"], actor=self.app.actor, uuid=uuid
            )

        self.ask(f"Add a note to job {card.number}", None, fields, "save", write)

    def ask(self, title: str, context: Text | None, fields: list[Field], submit: str, make_write) -> None:
        def answered(values) -> None:
            if values is None:
                self.say("Cancelled: nothing was written")
                return
            uuid = new_uuid()  # one id per confirmed entry: a retry can never write it twice
            self.save(make_write(values), uuid)

        self.app.push_screen(OfficeForm(title, context, fields, submit=submit), answered)

    def save(self, write, uuid: str) -> None:
        self.say("Saving…")

        def done(receipt) -> None:
            self.say(receipt.message, "ok")
            self.refresh_card()

        self.store_call(lambda: write(uuid), done)


# --------------------------------------------------------------------------- reports and exports


class OfficeReportsScreen(StoreWork, Screen):
    """The CLI's reports as tables; `e` exports the one shown as CSV into the export folder."""

    DEFAULT_CSS = """
    #office-report-bar { padding: 0 1; height: auto; }
    #office-message { padding: 0 1; height: auto; display: none; }
    #office-message.error { background: $error; color: $text; text-style: bold; }
    #office-message.ok { background: $success; color: $text; text-style: bold; }
    #office-report-table { height: 1fr; }
    """
    BINDINGS = [
        *(Binding(str(i), f"show('{name}')", REPORT_TITLES[name], show=False) for i, name in enumerate(REPORTS, 1)),
        Binding("t", "period", "Period"),
        Binding("e", "export", "Export CSV"),
        Binding("escape", "back", "Menu"),
    ]

    def __init__(self, services, report: str = "wip"):
        super().__init__()
        self.services = services
        self.report = report
        self.period = "today"
        self.exporting = False

    def compose(self) -> ComposeResult:
        yield OfficeHeader(id="office-header")
        yield Static("", id="office-report-bar")
        yield Static("", id="office-message")
        yield DataTable(id="office-report-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).focus()
        self.action_show(self.report)

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "period":
            return self.report in PERIOD_REPORTS
        return True

    def bar(self) -> Text:
        text = Text()
        gap = "  " if self.app.size.width >= 90 else " "  # all eight on one line at 80 columns
        for i, name in enumerate(REPORTS, 1):
            if i > 1:
                text.append(gap)
            text.append(f"{i} {REPORT_KEYS[name]}", style="bold reverse" if name == self.report else "")
        if self.report in PERIOD_REPORTS:
            text.append(f"\nperiod: {self.period} (t changes it)")
        return text

    def rows(self) -> tuple[list[str], list[list]]:
        reports = Reports(self.services.config, clock=self.services.clock)
        return reports.as_rows(self.report, period=self.period)

    def action_show(self, report: str) -> None:
        self.report = report
        self.query_one(OfficeHeader).set_title(f"{REPORT_TITLES[report]} · {self.app.who}")
        self.query_one("#office-report-bar", Static).update(self.bar())
        self.refresh_bindings()

        def done(result) -> None:
            headers, rows = result
            if report != self.report:
                return  # another report was asked for meanwhile
            table = self.query_one(DataTable)
            table.clear(columns=True)
            table.add_columns(*(Text(h) for h in headers))
            # Text, never str: DataTable reads a str as markup, and rows carry names people typed.
            table.add_rows([[Text("" if v is None else str(v)) for v in row] for row in rows])
            self.say(f"{len(rows)} row{'s' if len(rows) != 1 else ''}" if rows else "Nothing to show")

        self.store_call(self.rows, done)

    def action_period(self) -> None:
        self.period = PERIODS[(PERIODS.index(self.period) + 1) % len(PERIODS)]
        self.action_show(self.report)

    def action_export(self) -> None:
        if self.exporting:
            return
        app: OfficeApp = self.app
        report, folder, cancel = self.report, app.export_dir, app.export_cancel
        name = export_name(report, app.session.user, to_plant(self.services.clock(), self.services.config.tz))
        self.exporting = True
        self.say("Exporting…")

        def write():
            headers, rows = self.rows()
            return write_export(folder, name, headers, rows, cancel)

        def done(result) -> None:
            self.exporting = False
            path, count = result
            self.say(f"Exported {count} row{'s' if count != 1 else ''} to {path}", "ok")

        def failed(exc: BaseException) -> None:
            self.exporting = False
            export_failed(self, exc, folder)

        self.store_call(write, done, failed)

    def action_back(self) -> None:
        self.app.pop_screen()
