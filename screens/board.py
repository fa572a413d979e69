"""The live WIP board: `floorterm board [--tv]`.

Five views, one key each: 1 WIP by stage, 2 bottlenecks, 3 exceptions, 4 delays and
rejections, 5 a job (card and full history). A job number typed or scanned anywhere opens
it. A supervisor signs in with a badge (s) to resume delays, change priorities, hold and
release jobs and void entries; without sign-in the board is read-only.

Live: a thread waits on the change feed (`floorterm.feed`) and tells the screen; the screen
asks the store thread which jobs changed (`floorterm.board_feed`, by per-job last_event_id)
and re-reads only those rows, then updates them in place. Reads are serial and coalesced:
wake-ups that arrive while a read runs become one more read, so a burst of entries never
queues up work. Every read is a short transaction on the store thread; the UI thread only
applies results. docs/board.md describes the board for its users.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from typing import Callable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from floorterm import board_feed
from floorterm.clock import format_duration, plant_today, to_plant
from floorterm.errors import DomainError, FloortermError, InputError, PermissionDenied
from floorterm.inputs import parse_job_number
from floorterm.ledger import REASON_LISTS, Actor
from floorterm.reports import EXCEPTION_VIEWS, Reports, age_labels
from floorterm.rules import PLANNING_KINDS
from floorterm.scan import parse_scan
from floorterm.screens import board_actions as ba
from floorterm.screens.store_watch import StoreChanged, watch_store
from floorterm.screens.board_format import age_styles, history_cells
from floorterm.screens.board_views import (
    EXCEPTION_HELP,
    EXCEPTION_TITLES,
    ExceptionsTable,
    HistoryTable,
    Tile,
    WipTable,
    bottlenecks_renderable,
    delays_renderable,
    exception_items,
    exception_menu,
    exception_tile_text,
    stage_tile_text,
)
from floorterm.screens.widgets import card_renderable

VIEWS = ("wip", "bottlenecks", "exceptions", "delays", "job")
VIEW_NAMES = {
    "wip": "WIP by stage",
    "bottlenecks": "Bottlenecks",
    "exceptions": "Exceptions",
    "delays": "Delays/rejects",
    "job": "Job",
}
TV_VIEWS = ("wip", "bottlenecks", "exceptions", "delays")
TV_SECONDS = 15.0
WINDOW_HOURS = 8.0  # bottleneck throughput window: about one shift
HEARTBEAT_SECONDS = 5.0  # with no wake-up, check anyway: catches a missed wake-up or a lost store
RECONCILE_SECONDS = 60.0  # compare every open job's version: catches jobs created without an entry
AGE_TICK_SECONDS = 30.0
FIRST_ROWS = 100  # rows of the first paint: more than a 160x48 screen shows
LOAD_CHUNK = 250  # rows added per frame after the first paint
OFFLINE_RETRY_SECONDS = 2.0
# The most often a derived view is re-read while entries keep arriving (seconds).
# "rows" too: during a burst the table is re-drawn at most 4 times a second (each full re-draw of
# a 160x48 table costs ~50 ms of the UI thread), at a cost of at most 0.25 s of latency.
MIN_INTERVAL = {"rows": 0.25, "summary": 2.0, "bottlenecks": 3.0, "exceptions": 4.0, "delays": 4.0, "job": 0.3}
PERIOD_NAMES = {"today": "Today", "yesterday": "Yesterday", "week": "This week"}


class BoardScreen(Screen):
    """The WIP board. `terminal`: the board terminal id recorded with supervisor actions."""

    CSS_PATH = "board.tcss"
    AUTO_FOCUS = "#wip-table"
    BINDINGS = [
        *(Binding(str(i), f"view('{name}')", show=False) for i, name in enumerate(VIEWS, start=1)),
        Binding("tab", "cycle(1)", show=False, priority=True),
        Binding("shift+tab", "cycle(-1)", show=False, priority=True),
        Binding("slash", "find", show=False),
        Binding("escape", "back", show=False),
        Binding("s", "sign_in", show=False),
        Binding("r", "act('resume')", show=False),
        Binding("p", "act('priority')", show=False),
        Binding("h", "act('hold')", show=False),
        Binding("v", "act('void')", show=False),
        Binding("t", "period('today')", show=False),
        Binding("w", "period('week')", show=False),
        Binding("y", "period('yesterday')", show=False),
        Binding("g", "choose_range", show=False),
        Binding("left_square_bracket", "jump(-1)", show=False),
        Binding("right_square_bracket", "jump(1)", show=False),
        Binding("question_mark", "legend", show=False),
    ]

    def __init__(self, services, *, terminal: str | None = None, tv: bool = False):
        super().__init__()
        self.services = services
        self.config = services.config
        self.clock: Callable[[], dt.datetime] = services.clock
        self.reports = Reports(self.config, clock=self.clock)
        self.terminal = self._board_terminal(terminal)
        self.tv = tv
        shown = self.terminal.stages if self.terminal and self.terminal.stages else ()
        self.stages = tuple(s.code for s in self.config.stages if not shown or s.code in shown)
        self.hours = tuple(self.config.thresholds.ageing_hours)
        self.stage_codes = {s.name: s.code for s in self.config.stages}
        self.labels = {
            (kind, r.code): r.label for kind, list_kind in REASON_LISTS.items() for r in self.config.reasons(list_kind)
        }
        self.view = "wip"
        self.back_to = "wip"
        self.tracker = board_feed.ChangeTracker()
        self.loaded = False
        self.summary: dict = {}
        self.shift = ""
        self.exceptions = None
        self.bottlenecks: list = []
        self.period = "today"
        self.delays_data = None
        self.range: tuple[dt.date, dt.date] | None = None
        self.job_number: str | None = None
        self.card = None
        self.history: list[dict] = []
        self.operator = None  # the signed-in person who may act, an OperatorView
        self.last_key_at = self.clock()
        self.last_ok: dt.datetime | None = None  # when the board last knew it was current
        self.offline_since: dt.datetime | None = None
        self.offline_reason = ""
        self.show_legend = False
        self._header_offline = True  # the first paint lays the header out
        # The read pump: what to read next, whether a read runs, when each kind last ran.
        self._want: set[str] = set()
        self._busy = False
        self._last_read: dict[str, float] = {}
        self._last_wake = time.monotonic()
        self._last_reconcile = time.monotonic()
        self.unexpected: list[BaseException] = []

    def _board_terminal(self, terminal: str | None):
        """The named terminal if it is a board, else the config's first board terminal, else None."""
        if terminal:
            with contextlib.suppress(KeyError):
                found = self.config.terminal(terminal)
                if found.kind == "board":
                    return found
        return next((t for t in self.config.terminals if t.kind == "board"), None)

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="board-header")
        yield Static("", id="board-tabs")
        with ContentSwitcher(initial="wip", id="board-views"):
            with Vertical(id="wip"):
                yield Grid(id="wip-tiles")  # tiles are mounted when first shown (TV, big screens)
                yield WipTable(self.stages, self.hours, id="wip-table")
                yield Static(self._legend(), id="wip-legend")
            with VerticalScroll(id="bottlenecks"):
                yield Static("", id="bottlenecks-body")
            with Vertical(id="exceptions"):
                yield Grid(id="exception-tiles")
                with Horizontal(id="exceptions-main"):
                    yield OptionList(
                        *(Option(Text(EXCEPTION_TITLES[name]), id=name) for name in EXCEPTION_VIEWS),
                        id="exception-lists",
                    )
                    with Vertical(id="exceptions-right"):
                        yield Static("", id="exceptions-title")
                        yield ExceptionsTable(id="exceptions-table")
            with VerticalScroll(id="delays"):
                yield Static("", id="delays-body")
            with Container(id="job"):
                yield Static("", id="job-title")
                yield OptionList(id="job-matches")
                with Container(id="job-body"):
                    with VerticalScroll(id="job-card-box"):
                        yield Static("", id="job-card")
                    yield HistoryTable(id="job-history")
        yield Static("", id="board-message")
        yield Input(
            placeholder="Scan or type a job number (or scan a badge), then Enter; Esc closes",
            id="board-find",
            select_on_focus=False,
        )
        yield Static("", id="board-keys")

    @property
    def table(self) -> WipTable:
        return self.query_one("#wip-table", WipTable)

    def on_mount(self) -> None:
        self.set_class(self.tv, "-tv")
        self.table.show_cursor = not self.tv  # nobody moves a cursor on a TV
        self._layout_classes(self.size.width, self.size.height)
        find = self.query_one("#board-find", Input)
        find.cursor_blink = False
        find.display = False
        self.query_one("#job-matches").display = False
        self.query_one("#job-title").display = False
        self.query_one("#board-message").display = False
        self.title = "WIP board"
        self._say("Reading the board…", "info")
        self._show_tabs()
        self._show_keys()
        self._show_header()
        self.request("top", "full")
        self.set_interval(1.0, self._tick)
        self.set_interval(0.25, self._pump)
        self.set_interval(AGE_TICK_SECONDS, self._age_tick)
        if self.tv:
            self.set_interval(TV_SECONDS, self._tv_next)
        self.run_worker(self._watch_feed, thread=True, group="board-feed", exit_on_error=False)

    def on_resize(self, event: events.Resize) -> None:
        self._layout_classes(event.size.width, event.size.height)
        self._show_tabs()
        self._show_keys()
        if self.loaded:
            self._show_bottlenecks()
            self._show_delays()

    def _layout_classes(self, width: int, height: int) -> None:
        self.set_class(width >= 140, "-wide")
        self.set_class(height >= 40, "-tall")

    # -- the change feed (a thread) -----------------------------------------------------------------

    def _watch_feed(self) -> None:
        watch_store(self, self.services.store_url, poll_without_feed=0.5, changed_without_feed=False)

    def on_store_changed(self, message: StoreChanged) -> None:
        self.store_changed()

    def store_changed(self) -> None:
        """Something was committed somewhere: find and re-read the jobs it changed."""
        self._last_wake = time.monotonic()
        self.request("rows")

    # -- the read pump ------------------------------------------------------------------------------

    def request(self, *kinds: str) -> None:
        """Ask for reads; they run one at a time on the store thread, duplicates merged."""
        self._want.update(kinds)
        self._pump()

    def _next_read(self) -> str | None:
        now = time.monotonic()
        order = ["top", "full", "rows", "reconcile", "job", "summary"]
        # The view on screen first; the others only when they are on screen (TV: always).
        visible = {"bottlenecks": "bottlenecks", "exceptions": "exceptions", "delays": "delays"}.get(self.view)
        if visible:
            order.append(visible)
        if self.tv:
            order += ["bottlenecks", "exceptions", "delays"]
        for kind in order:
            if kind not in self._want:
                continue
            if not self.loaded and kind not in ("top", "full"):
                continue
            wait = MIN_INTERVAL.get(kind, 0.0)
            if self.offline_since is not None:
                wait = max(wait, OFFLINE_RETRY_SECONDS)  # a store that is away is asked again calmly
            if now - self._last_read.get(kind, -1e9) < wait:
                continue
            return kind
        return None

    def _pump(self) -> None:
        if self._busy:
            return
        kind = self._next_read()
        if kind is None:
            return
        self._want.discard(kind)
        self._last_read[kind] = time.monotonic()
        read, done = getattr(self, f"_read_{kind}")()
        self._busy = True
        self.run_worker(self._run_read(kind, read, done), group="board-read", exit_on_error=False)

    async def _run_read(self, kind: str, read, done) -> None:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self.services.executor, self._guarded(read))
        except FloortermError as exc:
            self._busy = False
            if kind == "job":
                self._say(str(exc), "error")
            else:
                self._offline(exc, kind)
        except Exception as exc:  # the store went away, or a bug: say so, keep the last data
            self._busy = False
            self.unexpected.append(exc)
            self.app.log.error(f"board read {kind}: {type(exc).__name__}: {exc}")
            self._offline(exc, kind)
        else:
            self._busy = False
            done(result)  # may set _busy again (the first paint's remaining rows)
            if kind != "job":
                self._online()
        self._pump()

    def _guarded(self, read):
        """Run `read` on the store thread; after a failure drop that thread's connection so the
        next read reconnects (PostgreSQL restarted, network back)."""
        store = self.services.ledger.store

        def run():
            try:
                return read()
            except FloortermError:
                raise  # an answer in words (no such job): the connection is fine
            except Exception:
                with contextlib.suppress(Exception):
                    store.close()
                raise

        return run

    def _offline(self, exc: BaseException, kind: str) -> None:
        if self.offline_since is None:
            self.offline_since = self.clock()
        self.offline_reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self._want.add("full" if not self.loaded else kind)
        self._show_header()

    def _online(self) -> None:
        was_offline = self.offline_since is not None
        self.offline_since = None
        self.last_ok = self.clock()
        if was_offline:
            self._say("The store answers again: the board is live.", "ok")
            self._want.update({"rows", "summary"})
        self._show_header()

    # -- reads: each returns (function for the store thread, what to do with its result here)

    def _read_top(self):
        """The first paint: the top rows and the stage summaries, without reading every job."""

        def read():
            numbers = board_feed.top_open_jobs(FIRST_ROWS)
            read_at = self.clock()
            return (
                self.reports.wip_rows(numbers),
                read_at,
                self.reports.stage_summaries(),
                self.config.shift_at(read_at)[0].name,
            )

        def done(result) -> None:
            rows, read_at, summary, shift = result
            self.summary, self.shift = summary, shift
            self.table.load(rows, summary, shift, read_at, self.clock(), first=len(rows))
            self.loaded = True
            self._say("Reading the other jobs…", "info")
            self._show_summary()

        return read, done

    def _read_full(self):
        def read():
            return self.reports.board(WINDOW_HOURS), self.clock()

        def done(result) -> None:
            board, read_at = result
            wip = board.wip
            self.tracker = board_feed.ChangeTracker((r.number, r.last_event_id) for r in wip.rows)
            self.summary, self.shift = wip.summary, wip.shift
            self.exceptions, self.bottlenecks = board.exceptions, board.bottlenecks
            if self.table.loaded:
                self.table.set_summary(wip.summary, wip.shift)
                more = self.table.merge(wip.rows, wip.as_of, self.clock())
            else:
                more = self.table.load(wip.rows, wip.summary, wip.shift, wip.as_of, self.clock())
            self.loaded = True
            if more:
                # The top of the board is on screen now; the other rows follow between frames,
                # and live updates wait until they are all in.
                self._busy = True
                self.call_after_refresh(self._load_more)
            self._last_read.update(
                {"summary": time.monotonic(), "exceptions": time.monotonic(), "bottlenecks": time.monotonic()}
            )
            self._say("", "")
            self._show_summary()
            self._show_exceptions()
            self._show_bottlenecks()
            if self.view == "delays" or self.tv:
                self._want.add("delays")

        return read, done

    def _load_more(self) -> None:
        if self.table.load_more(LOAD_CHUNK, self.clock()):
            self.call_after_refresh(self._load_more)
        else:
            self._busy = False
            self._pump()

    def _read_rows(self):
        tracker = self.tracker
        since = tracker.since()

        def read():
            changed = board_feed.changed_jobs(since)
            affected = tracker.affected(changed)
            if not affected:
                return changed, affected, [], None
            read_at = self.clock()
            return changed, affected, self.reports.wip_rows(affected), read_at

        def done(result) -> None:
            changed, affected, rows, read_at = result
            self._apply_rows(affected, rows, read_at, dict(changed))

        return read, done

    def _read_reconcile(self):
        tracker = self.tracker
        shown = list(self.table.models)

        def read():
            versions = board_feed.open_job_versions()
            affected = tracker.reconcile(versions, shown)
            read_at = self.clock()
            return versions, affected, self.reports.wip_rows(affected) if affected else [], read_at

        def done(result) -> None:
            versions, affected, rows, read_at = result
            self._last_reconcile = time.monotonic()
            self._apply_rows(affected, rows, read_at, versions)

        return read, done

    def _apply_rows(self, affected: list[str], rows: list, read_at, versions: dict[str, int]) -> None:
        if not affected:
            return
        self.table.apply(rows, affected, read_at, self.clock())
        got = {r.number: r.last_event_id for r in rows}
        self.tracker.seen((n, got.get(n, versions.get(n, -1))) for n in affected)
        self._want.update({"summary", "bottlenecks", "exceptions", "delays"})
        if self.job_number is not None and self.job_number in affected:
            self._want.add("job")

    def _read_summary(self):
        def read():
            return self.reports.stage_summaries(), self.config.shift_at(self.clock())[0].name

        def done(result) -> None:
            self.summary, self.shift = result
            self.table.set_summary(self.summary, self.shift)
            self._show_summary()

        return read, done

    def _read_bottlenecks(self):
        def read():
            return self.reports.bottlenecks(WINDOW_HOURS)

        def done(result) -> None:
            self.bottlenecks = result
            self._show_bottlenecks()

        return read, done

    def _read_exceptions(self):
        def read():
            return self.reports.exceptions()

        def done(result) -> None:
            self.exceptions = result
            self._show_exceptions()

        return read, done

    def _read_delays(self):
        since, until, label = self._period_window()

        def read():
            return self.reports.delays_by_reason(since, until), self.reports.rejections(since, until)

        def done(result) -> None:
            delays, rejections = result
            self.delays_data = (label, delays, rejections)
            self._show_delays()

        return read, done

    def _read_job(self):
        number = self.job_number

        def read():
            if number is None:
                return None
            return self.services.queries.job_card(number), self.services.queries.history(number)

        def done(result) -> None:
            if result is None or number != self.job_number:
                return
            self.card, self.history = result
            self._show_job()

        return read, done

    # -- timers --------------------------------------------------------------------------------------

    def _tick(self) -> None:
        now = time.monotonic()
        if self.loaded and now - self._last_wake >= HEARTBEAT_SECONDS:
            self._last_wake = now
            self._want.add("rows")
        if self.loaded and now - self._last_reconcile >= RECONCILE_SECONDS:
            self._last_reconcile = now
            # Exceptions too: an entry refused on replay changes no job, so no job wakes the board for it.
            self._want.update({"reconcile", "exceptions"})
        if self.operator is not None:
            idle = (self.clock() - self.last_key_at).total_seconds()
            if idle >= self.config.kiosk.idle_signout_seconds:
                name = self.operator.name
                self.operator = None
                idle_words = format_duration(self.config.kiosk.idle_signout_seconds)
                self._say(f"{name} was signed out after {idle_words} without a key: the board is read-only", "info")
                self._show_keys()
        self._show_header()
        self._pump()

    def _age_tick(self) -> None:
        if self.loaded:
            self.table.tick(self.clock())

    def _tv_next(self) -> None:
        index = (TV_VIEWS.index(self.view) + 1) % len(TV_VIEWS) if self.view in TV_VIEWS else 0
        self.action_view(TV_VIEWS[index])

    # -- painting -------------------------------------------------------------------------------------

    def _show_header(self) -> None:
        now = self.clock()
        local = to_plant(now, self.config.tz)
        grid = Table.grid(expand=True)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        grid.add_column(justify="right", no_wrap=True)
        left = Text()
        left.append(" WIP BOARD ", style="bold reverse")
        where = self.terminal.name if self.terminal else self.config.plant_name
        left.append(" ")
        left.append(where if self.size.width >= 100 else "")
        right = Text()
        if self.operator is not None:
            right.append(f" {self.operator.name} ({self.operator.role}) ", style="bold black on bright_green")
            right.append("  ")
        else:
            right.append("read-only", style="bold")
            right.append("  ")
        if self.offline_since is not None:
            right.append(" NO CONNECTION TO THE STORE ", style="bold white on red")
            right.append(" ")
        elif self.last_ok is not None:
            ago = max(0, int((now - self.last_ok).total_seconds()))
            right.append(
                f"updated {ago} s ago  " if ago < 120 else f"updated {ago // 60} min ago  ",
                style="" if ago < 30 else "bold",
            )
        right.append(local.strftime("%a %d %b %H:%M:%S"), style="bold")
        grid.add_row(left, right)
        content = grid
        offline = self.offline_since is not None
        if offline:
            since = to_plant(self.offline_since, self.config.tz).strftime("%H:%M:%S")
            shown = to_plant(self.last_ok, self.config.tz).strftime("%H:%M:%S") if self.last_ok else "—"
            line = Text(
                f" The board cannot reach the store since {since} ({self.offline_reason}). "
                f"Showing what was known at {shown}; retrying. ",
                style="bold white on red",
            )
            content = Group(grid, line)
        # A new layout only when the header may change its height (offline, or back): a full
        # layout of the screen with a 2,000-row table is the costliest thing the UI thread does.
        self.query_one("#board-header", Static).update(content, layout=offline or self._header_offline)
        self._header_offline = offline

    def _show_tabs(self) -> None:
        text = Text()
        for i, name in enumerate(VIEWS, start=1):
            label = VIEW_NAMES[name]
            if name == "wip" and self.size.width < 100:
                label = "WIP"
            if name == "job" and self.job_number:
                label = f"Job {self.job_number}"
            if name == self.view:
                text.append(f"[{i} {label}]", style="bold reverse")
            else:
                text.append(f" {i} {label} ")
            text.append(" ")
        self.query_one("#board-tabs", Static).update(text)

    def _show_keys(self) -> None:
        keys: list[tuple[str, str]] = []
        if self.tv:
            keys = [("", f"TV mode: the views change every {TV_SECONDS:g} s"), ("1-5", "view"), ("ctrl+q", "quit")]
        else:
            keys.append(("1-5", "views"))
            keys.append(("/", "find job"))
            if self.view in ("wip", "exceptions"):
                keys.append(("⏎", "open job"))
            if self.view == "exceptions":
                keys.append(("[ ]", "lists"))
            if self.view == "delays":
                keys += [("t", "today"), ("w", "week"), ("y", "yesterday"), ("g", "range")]
                keys.remove(("/", "find job"))
            if self.view == "job":
                keys.append(("esc", "back"))
            for action in ba.allowed_actions(self.operator.role if self.operator else None):
                if action == "void" and self.view != "job":
                    continue
                keys.append(
                    {
                        "resume": ("r", "resume"),
                        "priority": ("p", "priority"),
                        "hold": ("h", "hold/release"),
                        "void": ("v", "void entry"),
                    }[action]
                )
            keys.append(("s", "sign out" if self.operator else "sign in"))
            if self.view == "wip" and not self.has_class("-tall"):
                keys.append(("?", "legend"))
        text = Text()
        for key, words in keys:
            if key:
                text.append(f" {key} ", style="bold reverse")
            text.append(f" {words} ")
        self.query_one("#board-keys", Static).update(text)

    def _legend(self) -> Text:
        text = Text()
        text.append("W", style="bold")
        text.append(" waiting  ")
        text.append("▶", style="bold")
        text.append(" in work  ")
        text.append("DLY", style="bold underline")
        text.append(" delayed + reason  ")
        text.append("+nR", style="bold magenta")
        text.append(" rejected, awaiting decision  ✓ done  · not reached   waited: ")
        for label, style in zip(age_labels(self.hours), age_styles(len(self.hours) + 1)):
            text.append(f" {label} ", style=style)
            text.append(" ")
        return text

    def _ensure_tiles(self, grid_id: str, ids: list[str], classes: str) -> None:
        grid = self.query_one(grid_id, Grid)
        if not grid.children:
            grid.mount_all(Tile(id=tile_id, classes=classes) for tile_id in ids)

    def _show_summary(self) -> None:
        if not self.tv:
            return
        self._ensure_tiles("#wip-tiles", [f"tile-{code}" for code in self.stages], "tile stage-tile")
        self._fill_stage_tiles()

    def _fill_stage_tiles(self) -> None:
        for code in self.stages:
            s = self.summary.get(code)
            if s is None:
                continue
            detail, level = stage_tile_text(s, self.hours)
            self.query_one(f"#tile-{code}", Tile).show(s.name, s.pending, detail, level)

    def _side_by_side(self) -> bool:
        return self.size.width >= 140

    def _bar_width(self, used: int) -> int:
        """Room left for a bar on this screen after `used` columns of text."""
        return max(8, min(50, self.size.width - used))

    def _show_bottlenecks(self) -> None:
        wide = self._side_by_side()
        width = self.size.width - 4
        left, right = (width * 3 // 5, width * 2 // 5) if wide else (width, width)
        self.query_one("#bottlenecks-body", Static).update(
            bottlenecks_renderable(
                self.bottlenecks,
                WINDOW_HOURS,
                big=self.tv,
                side_by_side=wide,
                bar_width=max(8, min(50, left - 72)),
                wait_bar_width=max(8, min(50, right - 40)),
            )
        )

    def _show_delays(self) -> None:
        if self.delays_data is not None:
            label, delays, rejections = self.delays_data
            self.query_one("#delays-body", Static).update(
                delays_renderable(
                    label,
                    delays,
                    rejections,
                    side_by_side=self._side_by_side(),
                    bar_width=self._bar_width(50) // (2 if self._side_by_side() else 1),
                )
            )

    def _tiles(self) -> bool:
        """Exception tiles: in TV mode, and on a big screen above the lists."""
        return self.tv or (self.size.width >= 140 and self.size.height >= 40)

    def _show_exceptions(self) -> None:
        if self.exceptions is None or not (self.view == "exceptions" or self.tv):
            return  # painted when the view is opened: the first paint shows WIP only
        lists = exception_items(self.exceptions, self.config.tz, self.clock(), self.hours)
        table = self.query_one("#exceptions-table", ExceptionsTable)
        table.show(lists, self.stage_codes)
        self._show_exception_menu()
        if self._tiles():
            self._ensure_tiles("#exception-tiles", [f"xtile-{name}" for name in EXCEPTION_VIEWS], "tile exception-tile")
            self._fill_exception_tiles(lists)

    def _fill_exception_tiles(self, lists) -> None:
        for name, items in lists:
            bad = ("delayed", "late", "material_short", "replay_refused")
            level = "-bad" if items and name in bad else ("-warn" if items else "-ok")
            self.query_one(f"#xtile-{name}", Tile).show(
                EXCEPTION_TITLES[name], len(items), exception_tile_text(items), level
            )

    def _show_job(self) -> None:
        if self.card is None:
            return
        self.query_one("#job-matches").display = False
        self.query_one("#job-title").display = False
        self.query_one("#job-card", Static).update(card_renderable(self.card, self.config.tz))
        self.query_one("#job-history", HistoryTable).show(self.history, self.labels, self.config.tz, self.clock())
        self._show_tabs()

    def _say(self, message: str, kind: str) -> None:
        """One line under the views: 'ok', 'error' or 'info'. Messages may quote user data: plain text."""
        line = self.query_one("#board-message", Static)
        line.update(Text(message))
        if line.display != bool(message):
            line.display = bool(message)
        for name in ("ok", "error", "info"):
            line.set_class(name == kind, f"-{name}")

    # -- views and keys ---------------------------------------------------------------------------------

    def action_view(self, name: str) -> None:
        if name not in VIEWS:
            return
        if name != "job":
            self.back_to = name
        self.view = name
        self.query_one(ContentSwitcher).current = name
        focus = {
            "wip": "#wip-table",
            "exceptions": "#exceptions-table",
            "job": "#job-history",
            "bottlenecks": "#bottlenecks",
            "delays": "#delays",
        }[name]
        if name == "job" and self.query_one("#job-matches").display:
            focus = "#job-matches"
        if not self.query_one("#board-find", Input).has_focus:
            self.query_one(focus).focus()
        if name in ("bottlenecks", "exceptions", "delays"):
            self._want.add(name)
        if name == "exceptions":
            self._show_exceptions()  # what is known now; the re-read follows
        if name == "job" and self.job_number and self.card is None:
            self._want.add("job")
        self._show_tabs()
        self._show_keys()
        self._pump()

    def action_cycle(self, step: int) -> None:
        find = self.query_one("#board-find", Input)
        if find.has_focus:
            if self.config.scanner.suffix.strip().lower() == "tab":
                find.action_submit()
            return
        self.action_view(VIEWS[(VIEWS.index(self.view) + step) % len(VIEWS)])

    def action_back(self) -> None:
        find = self.query_one("#board-find", Input)
        if find.display:
            self._close_find()
            return
        if self.view == "job":
            self.action_view(self.back_to)

    def action_legend(self) -> None:
        self.show_legend = not self.show_legend
        self.set_class(self.show_legend, "-legend")

    def action_jump(self, step: int) -> None:
        """[ and ]: the previous or next exception list."""
        if self.view != "exceptions":
            return
        table = self.query_one("#exceptions-table", ExceptionsTable)
        index = (EXCEPTION_VIEWS.index(table.current) + step) % len(EXCEPTION_VIEWS)
        self._choose_exceptions(EXCEPTION_VIEWS[index])

    def _choose_exceptions(self, name: str) -> None:
        table = self.query_one("#exceptions-table", ExceptionsTable)
        if name != table.current:
            table.choose(name)
        self._show_exception_menu()

    def _show_exception_menu(self) -> None:
        table = self.query_one("#exceptions-table", ExceptionsTable)
        menu = self.query_one("#exception-lists", OptionList)
        lists = [(name, table.lists.get(name, [])) for name in EXCEPTION_VIEWS]
        for name, line in zip(EXCEPTION_VIEWS, exception_menu(lists, table.current)):
            menu.replace_option_prompt(name, line)
        menu.highlighted = EXCEPTION_VIEWS.index(table.current)
        count = len(table.lists.get(table.current, []))
        title = Text()
        title.append(f" {EXCEPTION_TITLES[table.current].upper()} ({count}) ", style="bold reverse")
        title.append(f"  {EXCEPTION_HELP[table.current]}")
        self.query_one("#exceptions-title", Static).update(title)

    def action_period(self, name: str) -> None:
        if self.view != "delays":
            return
        self.period, self.range = name, None
        self._want.add("delays")
        self._last_read.pop("delays", None)
        self._pump()

    def action_choose_range(self) -> None:
        if self.view != "delays":
            return
        today = plant_today(self.clock(), self.config.tz)

        def check(values: dict) -> None:
            if "until" in values and values["until"] < values["since"]:
                raise InputError("The end date is before the start date")

        def chosen(values: dict | None) -> None:
            if values:
                self.period, self.range = "range", (values["since"], values["until"])
                self._want.add("delays")
                self._last_read.pop("delays", None)
                self._pump()

        self.app.push_screen(
            ba.BoardForm(
                "Delays and rejections for a range of days",
                None,
                [
                    ba.Field(
                        "since",
                        "From (YYYY-MM-DD)",
                        ba.date_value("start date"),
                        value=(today - dt.timedelta(days=7)).isoformat(),
                    ),
                    ba.Field("until", "To, inclusive (YYYY-MM-DD)", ba.date_value("end date"), value=today.isoformat()),
                ],
                submit="show",
                check=check,
            ),
            chosen,
        )

    def _period_window(self) -> tuple[dt.datetime, dt.datetime, str]:
        tz = self.config.tz
        if self.period == "range" and self.range:
            first, last = self.range
            start = dt.datetime.combine(first, dt.time()).replace(tzinfo=tz)
            end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time()).replace(tzinfo=tz)
            return start, end, f"{first:%a %d %b %Y} to {last:%a %d %b %Y}"
        since, until = self.reports.period(self.period)
        first = to_plant(since, tz)
        label = f"{PERIOD_NAMES[self.period]} ({first:%a %d %b}"
        if self.period == "week":
            label += f" to {to_plant(until - dt.timedelta(seconds=1), tz):%a %d %b}"
        return since, until, label + ")"

    def on_key(self, event: events.Key) -> None:
        """Keys that reach the screen before any command binding does (Textual checks the
        screen's bindings after this): a job number typed or scanned starts the find line."""
        self.last_key_at = self.clock()
        find = self.query_one("#board-find", Input)
        if find.has_focus or self.app.screen is not self:
            return
        char = event.character
        if find.display:
            # The find line is open but focus has not moved yet (a scanner types fast): keep
            # every key for it, digits too, so nothing of a scan switches views.
            if event.key == "enter":
                self._stop(event)
                self._submit_find(find.value)
            elif event.key == "backspace":
                self._stop(event)
                find.value = find.value[:-1]
            elif char and char.isprintable() and len(char) == 1:
                self._stop(event)
                find.value += char
                find.cursor_position = len(find.value)
            return
        starts_scan = char is not None and (
            char == "$" or (self.config.scanner.prefix and char == self.config.scanner.prefix[0])
        )
        # A key that is no command starts the find line.
        if char and char.isprintable() and len(char) == 1 and (starts_scan or event.key not in self._keys()):
            self._stop(event)
            self.action_find(char)

    @staticmethod
    def _stop(event: events.Key) -> None:
        event.stop()
        event.prevent_default()

    def _keys(self) -> set[str]:
        return {b.key for b in self.BINDINGS if isinstance(b, Binding)} | {"space"}

    def action_find(self, initial: str = "") -> None:
        find = self.query_one("#board-find", Input)
        find.display = True
        find.value = initial
        find.cursor_position = len(initial)
        find.focus()

    def _close_find(self) -> None:
        find = self.query_one("#board-find", Input)
        find.value = ""
        find.display = False
        self.action_view(self.view)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "board-find":
            return
        event.stop()
        self._submit_find(event.value)

    def _submit_find(self, text: str) -> None:
        """A line typed or scanned: a badge signs in, a job number opens the job."""
        self._close_find()
        if not text.strip():
            return
        try:
            scan = parse_scan(text, prefix=self.config.scanner.prefix)
            if scan.kind == "badge":
                self._sign_in_badge(str(scan.value))
                return
            if scan.kind not in ("job", "plain"):
                raise InputError("That barcode is not a job or a badge")
            number = parse_job_number(str(scan.value))
        except InputError as exc:
            self._say(str(exc), "error")
            return
        self.open_job(number)

    def open_job(self, number: str) -> None:
        """Show this job (exact number), or the open jobs whose number contains it."""
        queries = self.services.queries

        def read():
            try:
                return "card", (queries.job_card(number), queries.history(number))
            except DomainError:
                return "matches", queries.find_jobs(number)

        def done(result) -> None:
            what, value = result
            if what == "card":
                self.job_number = value[0].number
                self.card, self.history = value
                self._say("", "")
                self._show_job()
                self.action_view("job")
                return
            if not value:
                self._say(f"No job matches {number}", "error")
                return
            if len(value) == 1:
                self.open_job(value[0].number)
                return
            self._show_matches(number, value)

        self._oneoff(read, done)

    def _show_matches(self, text: str, jobs: list) -> None:
        matches = self.query_one("#job-matches", OptionList)
        matches.clear_options()
        for job in jobs:
            line = Text(f"{job.number:<12} ")
            line.append(f"{job.status:<18} ")
            line.append(f"{job.customer} · {job.product}")
            matches.add_option(Option(line, id=job.number))
        matches.display = True
        self.query_one("#job-title").display = True
        self.query_one("#job-title", Static).update(
            Text(
                f"{len(jobs)} open jobs match '{text}'{' (first 20)' if len(jobs) >= 20 else ''}: "
                "↑↓ and Enter to open one",
                style="bold",
            )
        )
        self._say("", "")
        self.action_view("job")
        matches.highlighted = 0
        matches.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        if event.option_list.id == "job-matches" and event.option.id:
            self.open_job(event.option.id)
        elif event.option_list.id == "exception-lists" and event.option.id:
            self._choose_exceptions(event.option.id)
            self.query_one("#exceptions-table").focus()

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        if event.data_table.id == "wip-table":
            job, _ = self.table.selected()
            if job:
                self.open_job(job)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "exceptions-table":
            job, _ = self.query_one("#exceptions-table", ExceptionsTable).selected()
            if job:
                self.open_job(job)

    def _oneoff(self, read, done) -> None:
        """A read or write the user asked for, on the store thread; errors shown in words."""

        async def run() -> None:
            loop = asyncio.get_running_loop()
            try:
                result = await loop.run_in_executor(self.services.executor, self._guarded(read))
            except FloortermError as exc:
                self._say(str(exc), "error")
            except Exception as exc:
                self.unexpected.append(exc)
                self.app.log.error(f"board: {type(exc).__name__}: {exc}")
                self._say(
                    f"The store could not be reached ({type(exc).__name__}); nothing was changed. Try again.", "error"
                )
            else:
                done(result)

        self.run_worker(run(), group="board-oneoff", exit_on_error=False)

    # -- sign-in and supervisor actions -------------------------------------------------------------------

    def action_sign_in(self) -> None:
        if self.operator is not None:
            name = self.operator.name
            self.operator = None
            self._say(f"{name} signed out: the board is read-only", "info")
            self._show_keys()
            self._show_header()
            return
        prefix = self.config.scanner.prefix

        def chosen(values: dict | None) -> None:
            if values:
                self._sign_in_badge(values["badge"])

        self.app.push_screen(
            ba.BoardForm(
                "Sign in to act on the board",
                Text(
                    "Scan or type your badge. Supervisors resume delays, change priorities, hold and release jobs "
                    "and void entries; planners change priorities, hold jobs and void entries."
                ),
                [ba.Field("badge", "Badge", lambda text: ba.badge_from_scan(text, prefix))],
                submit="sign in",
            ),
            chosen,
        )

    def _sign_in_badge(self, badge: str) -> None:
        def read():
            return self.services.queries.operator(badge)

        def done(op) -> None:
            if op is None:
                self._say(f"Unknown badge {badge}", "error")
                return
            if not op.active:
                self._say(f"Badge {op.badge} ({op.name}) is disabled", "error")
                return
            if not ba.allowed_actions(op.role):
                self._say(f"{op.name} ({op.role}) may look but not act: the board stays read-only", "error")
                return
            self.operator = op
            self.last_key_at = self.clock()
            idle_words = format_duration(self.config.kiosk.idle_signout_seconds)
            self._say(f"Signed in: {op.name} ({op.role}). s signs out (so do {idle_words} without a key)", "ok")
            self._show_keys()
            self._show_header()

        self._oneoff(read, done)

    def _actor(self) -> Actor:
        return Actor(self.operator.badge, terminal=self.terminal.id if self.terminal else None)

    def _target(self) -> tuple[str | None, str | None]:
        if self.view == "wip":
            return self.table.selected()
        if self.view == "exceptions":
            return self.query_one("#exceptions-table", ExceptionsTable).selected()
        if self.view == "job" and self.card is not None:
            return self.card.number, None
        return None, None

    def action_act(self, action: str) -> None:
        if self.operator is None:
            self._say(
                f"Sign in with a supervisor's badge (s) to {ba.ACTION_WORDS[action]}; the board is read-only", "error"
            )
            return
        if action not in ba.allowed_actions(self.operator.role):
            self._say(f"{self.operator.name} ({self.operator.role}) may not {ba.ACTION_WORDS[action]}", "error")
            return
        if action == "void":
            self._void()
            return
        job, stage = self._target()
        if job is None:
            self._say("Put the cursor on a job first (or open one: / then its number)", "error")
            return
        getattr(self, f"_{action}")(job, stage)

    def _write(self, write, what: str, job: str | None) -> None:
        """Run a ledger write on the store thread; show the receipt or the refusal in words."""

        def done(receipt) -> None:
            self._say(
                f"✓ {receipt.message}" if receipt.job in receipt.message else f"✓ {receipt.job}: {receipt.message}",
                "ok",
            )
            self.request("rows")
            if job is not None and job == self.job_number:
                self._want.add("job")
                self._last_read.pop("job", None)
                self._pump()

        def refused(exc: Exception) -> None:
            self._say(f"Not saved: {exc}", "error")

        def read():
            try:
                return "ok", write()
            except (PermissionDenied, DomainError, InputError) as exc:
                return "refused", exc

        def finished(result) -> None:
            status, value = result
            (done if status == "ok" else refused)(value)

        self._oneoff(read, finished)

    def _delayed_stages(self, job: str) -> list[tuple[str, str]]:
        """(stage code, delay label) of the job's open delays, from what the board shows."""
        if self.card is not None and self.card.number == job and self.view == "job":
            return [(s.stage, s.open_delay.label) for s in self.card.steps if s.open_delay]
        model = self.table.models.get(job)
        if model is None:
            return []
        return [
            (code, cell.delay_reason or cell.delay_code or "")
            for code, cell in model[0].cells.items()
            if cell.state == "delayed"
        ]

    def _resume(self, job: str, stage: str | None) -> None:
        delayed = self._delayed_stages(job)
        codes = [code for code, _ in delayed]
        if stage not in codes:
            if len(delayed) == 1:
                stage = codes[0]
            elif not delayed:
                self._say(f"{job} has no open delay to resume", "error")
                return
            else:
                names = ", ".join(self.reports.stage_name(c) for c in codes)
                self._say(f"{job} is delayed at {names}: put the cursor on the stage to resume", "error")
                return
        label = dict(delayed)[stage]
        context = Text(f"Job {job} at {self.reports.stage_name(stage)}: delayed ({label}).")

        def chosen(values: dict | None) -> None:
            if values is not None:
                self._write(
                    lambda: self.services.ledger.resume(job, stage, actor=self._actor(), note=values["note"]),
                    "resume",
                    job,
                )

        self.app.push_screen(
            ba.BoardForm(
                f"Resume {job} at {self.reports.stage_name(stage)}",
                context,
                [ba.Field("note", "Note (optional)", ba.optional_note)],
                submit="resume",
            ),
            chosen,
        )

    def _priority(self, job: str, stage: str | None) -> None:
        current = self._current_priority(job)
        context = Text(
            f"Job {job}: priority now {current if current is not None else '?'} (1 = most urgent, 9 = least)."
        )

        def chosen(values: dict | None) -> None:
            if values is not None:
                self._write(
                    lambda: self.services.ledger.change_priority(
                        job, values["priority"], actor=self._actor(), note=values["reason"]
                    ),
                    "priority",
                    job,
                )

        self.app.push_screen(
            ba.BoardForm(
                f"Change the priority of {job}",
                context,
                [
                    ba.Field("priority", "New priority (1-9)", ba.priority_value),
                    ba.Field("reason", "Reason (kept with the entry)", ba.required_reason),
                ],
                submit="change",
            ),
            chosen,
        )

    def _current_priority(self, job: str) -> int | None:
        if self.card is not None and self.card.number == job:
            return self.card.priority
        model = self.table.models.get(job)
        return model[0].priority if model else None

    def _on_hold(self, job: str) -> bool | None:
        if self.card is not None and self.card.number == job and self.view == "job":
            return "on hold" in self.card.flags
        model = self.table.models.get(job)
        return ("on hold" in model[0].flags) if model else None

    def _hold(self, job: str, stage: str | None) -> None:
        held = self._on_hold(job)
        if held is None:
            self._say(f"{job} is not open on the board; open it with / to act on it", "error")
            return
        verb = "Release the hold on" if held else "Put on hold:"
        write = self.services.ledger.unhold if held else self.services.ledger.hold

        def chosen(values: dict | None) -> None:
            if values is not None:
                self._write(lambda: write(job, actor=self._actor(), note=values["reason"]), "hold", job)

        self.app.push_screen(
            ba.BoardForm(
                f"{verb} {job}",
                Text(
                    "The job stays on the board; everyone sees it marked HOLD."
                    if not held
                    else "Work on the job may continue after this."
                ),
                [
                    ba.Field("reason", "Reason (kept with the entry)", ba.required_reason),
                ],
                submit="release" if held else "hold",
            ),
            chosen,
        )

    def _void(self) -> None:
        if self.view != "job" or self.card is None:
            self._say(
                "To void an entry, open the job (/ then its number), put the cursor on the entry and press v", "error"
            )
            return
        entry = self.query_one("#job-history", HistoryTable).selected()
        if entry is None:
            self._say("Put the cursor on the entry to void", "error")
            return
        if entry["voided"]:
            self._say("That entry is already voided", "error")
            return
        if entry["kind"] == "void":
            self._say("A void cannot be voided; record the entry again instead", "error")
            return
        if entry["kind"] in PLANNING_KINDS:
            self._say("A job's creation cannot be voided; put the job on hold instead", "error")
            return
        job = self.card.number
        context = Text(f"Job {job}: ")
        context.append_text(
            Text(
                " · ".join(c.plain for c in _entry_summary(entry, self.labels, self.config.tz, self.clock()) if c.plain)
            )
        )

        def chosen(values: dict | None) -> None:
            if values is not None:
                self._write(
                    lambda: self.services.ledger.void(entry["uuid"], actor=self._actor(), note=values["reason"]),
                    "void",
                    job,
                )

        self.app.push_screen(
            ba.BoardForm(
                f"Void this entry of {job}?",
                context,
                [
                    ba.Field("reason", "Reason (shown with the struck-through entry)", ba.required_reason),
                ],
                submit="void",
            ),
            chosen,
        )


def _entry_summary(entry: dict, labels: dict, tz, now: dt.datetime) -> list[Text]:
    return history_cells(entry, labels, tz, plant_today(now, tz))[:7]
