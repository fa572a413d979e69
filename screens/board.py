"""The live WIP board: `floorterm board [--tv]`.

Six views, one key each: 1 WIP by stage, 2 bottlenecks (waiting history over a period,
sparklines of the last hours, Dispatch apart as ready to ship), 3 exceptions, 4 delays and
rejections, 5 a job (card and full history), 6 the running shift's handover. A job number
typed or scanned anywhere opens it. A supervisor signs in with a badge (s) to resume delays, change priorities, hold and
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
from concurrent.futures import ThreadPoolExecutor
import datetime as dt
import time
from typing import Callable

from rich.console import Group
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Grid, Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Input, OptionList, Static
from textual.widgets.option_list import Option

from floorterm import board_feed
from floorterm import flow as flows
from floorterm.clock import format_duration, plant_today, to_plant
from floorterm.errors import DomainError, FloortermError, InputError, PermissionDenied
from floorterm.inputs import parse_job_number
from floorterm.ledger import REASON_LISTS, Actor
from floorterm.reports import Reports, age_labels
from floorterm.rules import PLANNING_KINDS
from floorterm.scan import parse_scan
from floorterm.shift import current_shift
from floorterm.screens import board_actions as ba
from floorterm.screens.store_watch import StoreChanged, watch_store
from floorterm.screens.board_format import age_limits, age_styles, fit_keys, history_cells
from floorterm.screens.board_views import (
    EXCEPTION_HELP,
    EXCEPTION_VIEWS,
    EXCEPTION_TITLES,
    MENU_TITLES,
    ExceptionsTable,
    HistoryTable,
    Tile,
    TrendRow,
    WipTable,
    bottlenecks_renderable,
    delays_renderable,
    exception_items,
    exception_menu,
    exception_tile_text,
    rank_by_history,
    shift_renderable,
    stage_tile_text,
    trend_header,
    trend_row_text,
    bottleneck_head,
)
from floorterm.screens.widgets import card_renderable, job_delay_line, rework_line

VIEWS = ("wip", "bottlenecks", "exceptions", "delays", "job", "shift")
VIEW_NAMES = {
    "wip": "WIP by stage",
    "bottlenecks": "Bottlenecks",
    "exceptions": "Exceptions",
    "delays": "Delays/rejects",
    "job": "Job",
    "shift": "Shift",
}
VIEW_FOCUS = {
    "wip": "#wip-table",
    "exceptions": "#exceptions-table",
    "job": "#job-history",
    "bottlenecks": "#bottlenecks",
    "delays": "#delays",
    "shift": "#shift",
}
TV_VIEWS = ("wip", "bottlenecks", "exceptions", "delays", "shift")
TV_SECONDS = 15.0
WINDOW_HOURS = 8.0  # bottleneck throughput window: about one shift
HEARTBEAT_SECONDS = 5.0  # with no wake-up, check anyway: catches a missed wake-up or a lost store
RECONCILE_SECONDS = 60.0  # compare every open job's version: catches jobs created without an entry
AGE_TICK_SECONDS = 30.0
FLOW_MAX_AGE = 300.0  # the bottlenecks' waiting history of a period that includes now is re-read this often (s)
TREND_HOURS = 8  # the sparklines: the last 8 hours (about a shift), one bar an hour
STALE_SECONDS = 60  # no successful read for this long: the header says since when (in minutes)
FIRST_ROWS = 100  # rows of the first paint: more than a 160x48 screen shows
LOAD_CHUNK = 250  # rows added per frame after the first paint
OFFLINE_RETRY_SECONDS = 2.0
# The most often a derived view is re-read while entries keep arriving (seconds).
# "rows" too: during a burst the table is re-drawn at most 4 times a second (each full re-draw of
# a 160x48 table costs ~50 ms of the UI thread), at a cost of at most 0.25 s of latency.
MIN_INTERVAL = {
    "rows": 0.25,
    "summary": 2.0,
    "bottlenecks": 3.0,
    "exceptions": 4.0,
    "delays": 4.0,
    "shift": 5.0,
    "job": 0.3,
}
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
        Binding("less_than_sign", "stages(-1)", show=False),
        Binding("greater_than_sign", "stages(1)", show=False),
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
        # The routing's final dispatch step: finished work waiting for the truck, shown apart
        # from the bottlenecks as "ready to ship".
        self.ready_codes = {s.code for s in self.config.stages if s.kind == "dispatch"}
        # Waiting history (floorterm.flow) for the bottlenecks: read on its own thread, cached per
        # period, re-read at most every FLOW_MAX_AGE s (never per commit: a week on 1M events ~1.2 s).
        self.flows: dict[tuple, tuple[float, dict]] = {}  # (period, range) -> (monotonic read, stage -> StageFlow)
        self.trends = None  # floorterm.flow.Trends of the last TREND_HOURS hours
        self._trends_at = -1e9
        self._history_busy = False
        self._history_retry_at = 0.0
        self._history_pool: ThreadPoolExecutor | None = None
        self.labels = {
            (kind, r.code): r.label for kind, list_kind in REASON_LISTS.items() for r in self.config.reasons(list_kind)
        }
        self.view = "wip"
        self.tv_page = 0  # TV: the page of open jobs on screen
        self.back_to = "wip"
        self.tracker = board_feed.ChangeTracker()
        self.loaded = False
        self.summary: dict = {}
        self.shift = ""
        self.exceptions = None
        self.bottlenecks: list = []
        self.period = "today"
        self.delays_data = None
        self.shift_report = None
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
        self._keys_all: list[tuple[str, str]] = []  # the footer's keys, and those it had no room for
        self._keys_left_out: list[tuple[str, str]] = []
        self._header_offline = True  # the first paint lays the header out
        # The read pump: what to read next, whether a read runs, when each kind last ran.
        self._want: set[str] = set()
        self._busy = False
        self._last_read: dict[str, float] = {}
        self._last_wake = time.monotonic()
        self._last_reconcile = time.monotonic()
        self.unexpected: list[BaseException] = []
        self._shown: dict[str, tuple] = {}  # what each Static shows, so unchanged text is not sent again
        self._follow: str | None = None  # the job a supervisor just acted on: selected when its row changes

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
                yield Static("", id="wip-tiles-caption", classes="tv-caption")
                yield Grid(id="wip-tiles")  # tiles are mounted when first shown (TV, big screens)
                yield Static("", id="wip-caption", classes="tv-caption")
                yield WipTable(self.stages, self.hours, id="wip-table")
                yield Static(self._legend(), id="wip-legend")
            with VerticalScroll(id="bottlenecks"):
                yield Static("", id="bottlenecks-head")
                yield Static(trend_header(TREND_HOURS), id="trend-header")
                with Vertical(id="trend-rows"):
                    for i in range(len(self.config.stages) - len(self.ready_codes)):
                        yield TrendRow(id=f"trend-{i}", classes="trend-row")
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
            with VerticalScroll(id="shift"):
                yield Static("", id="shift-body")
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
        thresholds = self.config.thresholds
        self.table.stage_limits = {code: age_limits(hours) for code, hours in thresholds.ageing_hours_by_stage}
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
        self.watch(self.table, "scroll_x", lambda _: self._show_keys(), init=False)

    def on_resize(self, event: events.Resize) -> None:
        self._layout_classes(event.size.width, event.size.height)
        self._show_tabs()
        self._show_keys()
        if self.loaded:
            self._show_bottlenecks()
            self._show_delays()
            self._show_shift()
            self.call_after_refresh(self._show_tv_page)

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
        visible = {"bottlenecks": "bottlenecks", "exceptions": "exceptions", "delays": "delays", "shift": "shift"}.get(
            self.view
        )
        if visible:
            order.append(visible)
        if self.tv:
            order += ["bottlenecks", "exceptions", "delays", "shift"]
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
            self.call_after_refresh(self._show_keys)  # the stage columns are known now
            self.call_after_refresh(self._show_tv_page)

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
            if self.tv:
                self._want.add("shift")
                self.call_after_refresh(self._show_tv_page)

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
        if self._follow is not None and self._follow in affected:
            self.table.show_job(self._follow)
            if self.view == "wip":
                self._follow = None  # else again when the WIP view is shown (a hidden table cannot scroll)
        got = {r.number: r.last_event_id for r in rows}
        self.tracker.seen((n, got.get(n, versions.get(n, -1))) for n in affected)
        self._want.update({"summary", "bottlenecks", "exceptions", "delays", "shift"})
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

    def _read_shift(self):
        config = self.config

        def read():
            return current_shift(config, self.clock())

        def done(report) -> None:
            self.shift_report = report
            self._show_shift()

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
        self._pump_history()

    def _age_tick(self) -> None:
        if self.loaded:
            self.table.tick(self.clock())

    def _tv_next(self) -> None:
        """Every TV_SECONDS: the next page of open jobs (each in every screenful of stage columns
        in turn), after the last page the next view."""
        if self.view == "wip" and self.tv_page + 1 < self._tv_pages():
            self.tv_page += 1
            self._show_tv_page()
            return
        index = (TV_VIEWS.index(self.view) + 1) % len(TV_VIEWS) if self.view in TV_VIEWS else 0
        if TV_VIEWS[index] == "wip":
            self.tv_page = 0
        self.action_view(TV_VIEWS[index])
        if self.view == "wip":
            self._show_tv_page()

    def _tv_rows(self) -> int:
        """Job rows one TV page shows: the table's height less its header and the summary rows."""
        table = self.table
        scrollbar = table.scrollbar_size_horizontal if table.show_horizontal_scrollbar else 0
        return max(1, table.content_region.height - scrollbar - table.header_height - table.fixed_rows)

    def _tv_job_pages(self) -> int:
        jobs = len(self.table.models)
        return max(1, -(-jobs // self._tv_rows()))

    def _tv_pages(self) -> int:
        """TV pages of the WIP view: each page of jobs in each screenful of stage columns."""
        return self._tv_job_pages() * len(self.table.stage_pages())

    def _show_tv_page(self) -> None:
        """Scroll the TV's table to its page and say which jobs and stages it shows."""
        if not self.tv:
            return
        pages = self._tv_pages()
        self.tv_page = min(self.tv_page, pages - 1)
        stage_pages = self.table.stage_pages()
        job_page, stage_page = divmod(self.tv_page, len(stage_pages))
        per = self._tv_rows()
        jobs = len(self.table.models)
        x, codes = stage_pages[stage_page]
        self.table.scroll_to(x=x, y=job_page * per, animate=False, immediate=True)
        first, last = job_page * per + 1, min(jobs, (job_page + 1) * per)
        caption = Text()
        caption.append(f" OPEN JOBS {first}–{last} OF {jobs} ", style="bold reverse")
        if len(stage_pages) > 1:  # not every stage fits: say which are on screen
            index = {code: i for i, code in enumerate(self.stages, start=1)}
            span = f"{index[codes[0]]}" if len(codes) == 1 else f"{index[codes[0]]}–{index[codes[-1]]}"
            caption.append(" ")
            caption.append(f" STAGES {span} OF {len(self.stages)} ", style="bold reverse")
        caption.append(f"  page {self.tv_page + 1}/{pages}", style="bold")
        caption.append(
            "  · most urgent first · one row a job, one column a stage: pending qty, W waiting / ▶ in work, age"
        )
        self._update("#wip-caption", caption)
        tiles = Text()
        tiles.append(" STAGES ", style="bold reverse")
        tiles.append(
            "  big number: units waiting at the stage · jobs waiting (delayed) · oldest wait · done this shift"
        )
        self._update("#wip-tiles-caption", tiles)

    # -- leaving a TV board (a TV on the wall is locked down like a kiosk)

    def ask_quit(self) -> None:
        """Ctrl+Q on a locked TV board: a supervisor's badge closes it; anything else leaves it running.
        (The app sends the quit keys here when the board runs with --tv; see screens/app.py.)"""
        if not self.tv or self.app.screen is not self:
            return

        def chosen(values: dict | None) -> None:
            if values:
                self._close_with_badge(values["badge"])

        self.app.push_screen(
            ba.BoardForm(
                "Close the TV board",
                Text("Supervisor: scan your badge to close the board. Esc: the board carries on."),
                [ba.Field("badge", "Badge", lambda text: ba.badge_from_scan(text, self.config.scanner.prefix))],
                submit="close",
            ),
            chosen,
        )

    def _close_with_badge(self, badge: str) -> None:
        def read():
            return self.services.queries.operator(badge)

        def done(op) -> None:
            if op is None or not op.active or op.role != "supervisor":
                who = "Unknown badge" if op is None else f"{op.name} ({op.role}{'' if op.active else ', disabled'})"
                self._say(f"{who}: only a supervisor's badge closes the TV board", "error")
                return
            self.app.exit()

        self._oneoff(read, done)

    # -- painting -------------------------------------------------------------------------------------

    def _show_header(self) -> None:
        """The top line: where, who, live or not, the plant time to the minute.

        Called every second, but it changes at most once a minute while the board is live
        (no seconds, no "updated N s ago" counter): an unchanged board sends nothing.
        """
        now = self.clock()
        local = to_plant(now, self.config.tz)
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
            if ago < STALE_SECONDS:
                right.append("live  ")
            else:
                right.append(f"updated {ago // 60} min ago  ", style="bold")
        right.append(local.strftime("%a %d %b %H:%M"), style="bold")
        width = max(1, self.size.width)
        left.truncate(max(0, width - right.cell_len - 1), overflow="ellipsis")
        content = left + Text(" " * max(1, width - left.cell_len - right.cell_len)) + right
        offline = self.offline_since is not None
        if offline:
            since = to_plant(self.offline_since, self.config.tz).strftime("%H:%M:%S")
            shown = to_plant(self.last_ok, self.config.tz).strftime("%H:%M:%S") if self.last_ok else "—"
            content.append("\n")
            content.append(
                f" The board cannot reach the store since {since} ({self.offline_reason}). "
                f"Showing what was known at {shown}; retrying. ",
                style="bold white on red",
            )
        key = _content_key(content)
        if self._shown.get("#board-header") == key:
            return
        self._shown["#board-header"] = key
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
        self._update("#board-tabs", text)

    def _show_keys(self) -> None:
        keys: list[tuple[str, str]] = []
        if self.tv:
            keys = [
                ("", f"TV: pages of jobs, then the other views, every {TV_SECONDS:g} s"),
                (f"1-{len(VIEWS)}", "view"),
            ]
        else:
            narrow = self.size.width < 100  # one line at 80 columns: the short words
            keys.append((f"1-{len(VIEWS)}", "views"))
            if self.view not in ("delays", "bottlenecks"):
                keys.append(("/", "find" if narrow else "find job"))
            if self.view in ("wip", "exceptions"):
                keys.append(("⏎", "open" if narrow else "open job"))
            if self.view == "exceptions":
                keys.append(("[ ]", "lists"))
            if self.view in ("delays", "bottlenecks"):
                keys += [("t", "today"), ("w", "week"), ("y", "yesterday"), ("g", "range")]
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
            if self._badge_sign_in():
                keys.append(("s", "sign out" if self.operator else "sign in"))
            if self.view == "wip" and not self.has_class("-tall"):
                keys.append(("?", "legend"))
            if self.view == "wip":
                cue = self._stage_cue()
                if cue:
                    keys.insert(1, ("< >", cue))
        # One line, never a key split from its words: short words, then fewer keys ("? keys").
        text, self._keys_left_out = fit_keys(keys, max(self.size.width, 20))
        self._keys_all = keys
        self._update("#board-keys", text)

    def _badge_sign_in(self) -> bool:
        """Whether a badge can sign in here: a screen that replaces the sign-in (the office board
        over SSH, where the session is the person) offers no s key."""
        return type(self).action_sign_in is BoardScreen.action_sign_in

    def _stage_cue(self) -> str:
        """'stages 1-5 of 9' when not every stage column fits the screen; '' when all do."""
        if not self.table.loaded or not self.table.region.width:
            return ""  # not laid out (another view on screen): said when the table is shown
        spans = [code for code, _, _ in self.table.stage_spans()]
        shown = self.table.visible_stages()
        if not spans or len(shown) == len(spans):
            return ""
        if not shown:
            return f"stages: {len(spans)}"
        first, last = spans.index(shown[0]) + 1, spans.index(shown[-1]) + 1
        return f"stage {first}/{len(spans)}" if first == last else f"stages {first}-{last}/{len(spans)}"

    def _update(self, selector: str, content, key=None) -> None:
        """Update a Static only when what it shows changes: an unchanged board sends nothing to
        the terminal (over SSH every repaint costs bytes). `key`: what the content was made from,
        for renderables that are not plain Text."""
        widget = self.query_one(selector, Static)
        key = _content_key(content) if key is None else ("key", key)
        if self._shown.get(selector) == key:
            return
        self._shown[selector] = key
        widget.update(content)

    def action_stages(self, step: int) -> None:
        """< and >: the previous or next screenful of stage columns (80x24 shows about 5 of 9)."""
        if self.view != "wip":
            return
        self.table.page_stages(step)
        self.call_after_refresh(self._show_keys)

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
            detail, level = stage_tile_text(s, self.config.thresholds.ageing_for(code))
            self.query_one(f"#tile-{code}", Tile).show(s.name, s.pending, detail, level)

    def _side_by_side(self) -> bool:
        return self.size.width >= 140

    def _bar_width(self, used: int) -> int:
        """Room left for a bar on this screen after `used` columns of text."""
        return max(8, min(50, self.size.width - used))

    def _show_bottlenecks(self) -> None:
        """Stages ranked by waiting history over the chosen period, with sparklines of the last
        hours; Dispatch apart as ready to ship; below, the snapshot rankings of right now."""
        since, until, label = self._period_window()
        cached = self.flows.get(self._period_key())
        stage_flows = cached[1] if cached else None
        ranked = rank_by_history(self.bottlenecks, stage_flows, self.ready_codes)
        ready = [b for b in self.bottlenecks if b.stage in self.ready_codes]
        head = bottleneck_head(ranked, ready, label, stage_flows is None, TREND_HOURS)
        self._update("#bottlenecks-head", head)
        trends = {t.stage: t for t in self.trends.stages} if self.trends is not None else {}
        for i, row in enumerate(self.query(TrendRow)):
            if i >= len(ranked):
                row.display = False
                continue
            row.display = True
            b, f = ranked[i]
            t = trends.get(b.stage)
            row.show(trend_row_text(i + 1, b, f), t.done if t else (), t.waiting if t else ())
        wide = self._side_by_side()
        width = self.size.width - 4
        left, right = (width * 3 // 5, width * 2 // 5) if wide else (width, width)
        now = [b for b in self.bottlenecks if b.stage not in self.ready_codes]
        key = (tuple(now), self.size.width, self.tv)
        self._update(
            "#bottlenecks-body",
            bottlenecks_renderable(
                now,
                WINDOW_HOURS,
                big=self.tv,
                side_by_side=wide,
                bar_width=max(8, min(50, left - 72)),
                wait_bar_width=max(8, min(50, right - 40)),
                headline=False,
            ),
            key=key,
        )

    # -- the waiting history (its own thread: a long read must not hold up live updates)

    def _period_key(self) -> tuple:
        return (self.period, self.range)

    def _pump_history(self) -> None:
        """Read the period's flow figures or the hourly trends when the bottlenecks are on screen
        (TV: always) and what is cached is missing or old; one read at a time."""
        if self._history_busy or not self.loaded or not (self.view == "bottlenecks" or self.tv):
            return
        now = time.monotonic()
        if now < self._history_retry_at:
            return
        key = self._period_key()
        cached = self.flows.get(key)
        since, until, _ = self._period_window()
        current = self.clock() < _naive_utc(until)  # a period that includes now keeps changing
        if cached is None or (current and now - cached[0] >= FLOW_MAX_AGE):
            reports = self.reports

            def read_flow():
                return {f.stage: f for f in reports.flow(since, until).stages}

            self._run_history(read_flow, lambda result: self._flow_read(key, result))
        elif now - self._trends_at >= FLOW_MAX_AGE:
            config, end = self.config, self.clock()
            start = end.replace(minute=0, second=0, microsecond=0) - dt.timedelta(hours=TREND_HOURS - 1)
            self._run_history(lambda: flows.stage_trends(config, start, end, end), self._trends_read)

    def _flow_read(self, key: tuple, result: dict) -> None:
        self.flows[key] = (time.monotonic(), result)
        self._show_bottlenecks()

    def _trends_read(self, result) -> None:
        self.trends = result
        self._trends_at = time.monotonic()
        self._show_bottlenecks()

    def _run_history(self, read, done) -> None:
        if self._history_pool is None:
            self._history_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="board-history")
        store = self.services.ledger.store
        self._history_busy = True

        def run():
            try:
                return read()
            finally:
                with contextlib.suppress(Exception):
                    store.close()  # this thread's own connection: nothing stays open between reads

        async def work() -> None:
            loop = asyncio.get_running_loop()
            try:
                result = await loop.run_in_executor(self._history_pool, run)
            except Exception as exc:  # the store away, or a bug: keep what was known, try again later
                if not isinstance(exc, FloortermError):
                    self.unexpected.append(exc)
                self.app.log.error(f"board history: {type(exc).__name__}: {exc}")
                self._history_retry_at = time.monotonic() + OFFLINE_RETRY_SECONDS * 15
            else:
                done(result)
            finally:
                self._history_busy = False

        self.run_worker(work(), group="board-history", exit_on_error=False)

    def on_unmount(self) -> None:
        if self._history_pool is not None:
            self._history_pool.shutdown(wait=False)

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

    def _show_shift(self) -> None:
        report = self.shift_report
        if report is None:
            return
        wide = self._side_by_side()
        self._update(
            "#shift-body",
            shift_renderable(report, self.config.tz, self.clock(), side_by_side=wide),
            key=(report.stages, report.delays, report.holds, report.notes, report.window, report.now, wide),
        )

    def _tiles(self) -> bool:
        """Exception tiles: in TV mode, and on a big screen above the lists."""
        return self.tv or (self.size.width >= 140 and self.size.height >= 40)

    def _show_exceptions(self) -> None:
        if self.exceptions is None or not (self.view == "exceptions" or self.tv):
            return  # painted when the view is opened: the first paint shows WIP only
        lists = exception_items(self.exceptions, self.config.tz, self.clock(), self.hours, self.config)
        table = self.query_one("#exceptions-table", ExceptionsTable)
        if not table.show(lists, self.stage_codes) and self._shown.get("exceptions") == self.view:
            return  # nothing new: nothing to repaint
        self._shown["exceptions"] = self.view
        self._show_exception_menu()
        if self._tiles():
            self._ensure_tiles("#exception-tiles", [f"xtile-{name}" for name in EXCEPTION_VIEWS], "tile exception-tile")
            self._fill_exception_tiles(lists)

    def _fill_exception_tiles(self, lists) -> None:
        for name, items in lists:
            bad = ("delayed", "late", "material_short", "replay_refused")
            level = "-bad" if items and name in bad else ("-warn" if items else "-ok")
            self.query_one(f"#xtile-{name}", Tile).show(
                MENU_TITLES.get(name, EXCEPTION_TITLES[name]), len(items), exception_tile_text(items), level
            )

    def _show_job(self) -> None:
        if self.card is None:
            return
        self.query_one("#job-matches").display = False
        self.query_one("#job-title").display = False
        # The kiosk's lines around the card: a delay of the whole job above, where rework went below.
        above, below = job_delay_line(self.card), rework_line(self.card)
        shown = card_renderable(self.card, self.config.tz)
        if above is not None or below is not None:
            shown = Group(*(part for part in (above, shown, below) if part is not None))
        self.query_one("#job-card", Static).update(shown)
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
        if not self.query_one("#board-find", Input).has_focus:
            self.query_one(self._focus_target()).focus()
        if name == "wip" and self._follow is not None and self._follow in self.table.models:
            self.call_after_refresh(self.table.show_job, self._follow)
            self._follow = None
        if name in ("bottlenecks", "exceptions", "delays", "shift"):
            self._want.add(name)
        if name == "bottlenecks":
            self.call_later(self._pump_history)
        if name == "exceptions":
            self._show_exceptions()  # what is known now; the re-read follows
        if name == "job" and self.job_number and self.card is None:
            self._want.add("job")
        self._show_tabs()
        self._show_keys()
        if name == "wip":
            self.call_after_refresh(self._show_keys)  # the stage cue needs the table laid out
        self._pump()

    def _focus_target(self) -> str:
        """The widget of the view on screen that takes the keys (arrows scroll it at once)."""
        if self.view == "job" and self.query_one("#job-matches").display:
            return "#job-matches"
        return VIEW_FOCUS[self.view]

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
        """?: the legend of the WIP table; and every key, when the footer has no room for all."""
        if self._keys_left_out or self.view != "wip":
            self._say("Keys: " + "  ".join(f"{key} {words}" for key, words in self._keys_all if key), "info")
        if self.view == "wip":
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
        """t, w, y: the period of the delays and of the bottlenecks' waiting history."""
        if self.view not in ("delays", "bottlenecks"):
            return
        self.period, self.range = name, None
        self._period_changed()

    def _period_changed(self) -> None:
        self._want.add("delays")
        self._last_read.pop("delays", None)
        self._pump()
        if self.view == "bottlenecks":
            self._show_bottlenecks()  # the snapshot at once, the period's history when read
            self._pump_history()

    def action_choose_range(self) -> None:
        if self.view not in ("delays", "bottlenecks"):
            return
        today = plant_today(self.clock(), self.config.tz)

        def check(values: dict) -> None:
            if "until" in values and values["until"] < values["since"]:
                raise InputError("The end date is before the start date")

        def chosen(values: dict | None) -> None:
            if values:
                self.period, self.range = "range", (values["since"], values["until"])
                self._period_changed()

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
        if event.key == "slash":
            # Here, not by the binding: a binding runs after the keys already queued, so in a
            # burst ("/J-1004⏎" over SSH) it would open the line again after the job opened.
            self._stop(event)
            self.action_find()
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
        # Focus moves now, not when the hidden line lets go of it: a job opened from the find
        # line must get the arrows at once (its history), not leave them with nobody.
        self.query_one(self._focus_target()).focus()
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
        if not job:  # None, or "" on a row that names no job (late entries are per terminal)
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
            if job is not None and what in ("priority", "hold", "resume"):
                self._follow = job  # when its row comes back (re-sorted), select it and show it
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
        """(stage code, delay label) of the job's open delays, from what the board shows; a delay
        of the whole job (recorded without a step) has stage code ""."""
        if self.card is not None and self.card.number == job and self.view == "job":
            out = [(s.stage, s.open_delay.label) for s in self.card.steps if s.open_delay]
            if self.card.job_delay is not None:
                out.append(("", self.card.job_delay.label))
            return out
        model = self.table.models.get(job)
        out = []
        if model is not None:
            out = [
                (code, cell.delay_reason or cell.delay_code or "")
                for code, cell in model[0].cells.items()
                if cell.state == "delayed"
            ]
        if self.exceptions is not None:  # a job-level delay is no cell: the Delayed list names it
            out += [("", i.label) for i in self.exceptions.delayed if i.number == job and not i.stage]
        return out

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
                names = ", ".join(self.reports.stage_name(c) if c else "the whole job" for c in codes)
                self._say(f"{job} is delayed at {names}: put the cursor on the stage to resume", "error")
                return
        label = dict(delayed)[stage]
        where = f"at {self.reports.stage_name(stage)}" if stage else "(the whole job)"
        context = Text(f"Job {job} {where}: delayed ({label}).")
        step = stage or None  # a job-level delay is resumed without a step

        def chosen(values: dict | None) -> None:
            if values is not None:
                self._write(
                    lambda: self.services.ledger.resume(job, step, actor=self._actor(), note=values["note"]),
                    "resume",
                    job,
                )

        self.app.push_screen(
            ba.BoardForm(
                f"Resume {job} {where}",
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


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _content_key(content) -> tuple:
    """What a renderable shows, comparable: text with its styles, else the object itself."""
    if isinstance(content, Text):
        return (
            "text",
            content.plain,
            str(content.style),
            tuple((sp.start, sp.end, str(sp.style)) for sp in content.spans),
        )
    return ("object", id(content))


def _entry_summary(entry: dict, labels: dict, tz, now: dt.datetime) -> list[Text]:
    return history_cells(entry, labels, tz, plant_today(now, tz))[:7]
