"""The board's views: WIP table, exceptions, bottlenecks, delays and rejections, job history, TV tiles.

Each widget takes the core's read models (floorterm.reports / floorterm.queries) and shows
them; none of them reads the store. The WIP table changes only the rows it is given and keeps
the cursor and the scroll position where the user left them.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Digits, Static

from floorterm.clock import plant_today
from floorterm.reports import (
    EXCEPTION_VIEWS,
    OFF_ROUTE,
    Bottleneck,
    DelayTotal,
    Exceptions,
    Rejections,
    StageSummary,
    WipRow,
    age_bucket,
    age_labels,
)
from floorterm.screens.board_format import (
    SUMMARY_LABELS,
    Cell,
    age_limits,
    age_styles,
    bar,
    cell_text,
    duration,
    history_cells,
    job_cell,
    plant_stamp,
    row_sort_key,
    short_age,
    status_text,
    summary_cells,
    summary_label,
)

CELL_WIDTH = 11  # '10 DLY MACH', '10 W 5h +2R'
STATUS_WIDTH = 40
SUMMARY_KEYS = ("__sum_pending", "__sum_jobs", "__sum_wait", "__sum_done")
EXCEPTION_LIMIT = 500  # items listed of one exception list; its count is always the full one

EXCEPTION_TITLES = {
    "delayed": "Delayed",
    "late": "Late",
    "due_soon": "Due soon",
    "ageing": "WIP ageing",
    "pending_qc": "Pending QC",
    "pending_rework": "Pending rework",
    "ready_for_dispatch": "Ready to dispatch",
    "material_short": "Material short",
    "priority_changed": "Priority changed",
    "on_hold": "On hold",
    "replay_refused": "Refused on replay",
}
# What each list holds, said once above its items.
EXCEPTION_HELP = {
    "delayed": "open delays, longest first, with the reason",
    "late": "open jobs past their planned completion date",
    "due_soon": "due within the warning time and not ready for dispatch",
    "ageing": "stage steps waiting longer than the first ageing threshold, oldest first",
    "pending_qc": "quantity waiting for inspection",
    "pending_rework": "rejected quantity awaiting a rework or scrap decision, and rework sent back",
    "ready_for_dispatch": "finished quantity waiting to be dispatched",
    "material_short": "released jobs blocked by a material shortage",
    "priority_changed": "jobs whose priority differs from the planned one",
    "on_hold": "jobs on hold, with why",
    "replay_refused": "entries queued offline that the store refused: floorterm outbox retry or discard",
}


# -- WIP by stage ------------------------------------------------------------------------------


class WipTable(DataTable):
    """Open jobs x stages, four fixed summary rows on top, the job column fixed on the left."""

    def __init__(self, stages: tuple[str, ...], hours: tuple[int, ...], **kwargs):
        # fixed_rows is set once the summary rows exist: an empty table with fixed rows cannot render.
        super().__init__(fixed_columns=1, cursor_type="cell", **kwargs)
        self.stages = stages
        self.hours = hours
        self.age_styles = age_styles(len(hours) + 1)
        self.limits = age_limits(hours)
        self._unloaded: list[tuple[WipRow, dt.datetime]] = []
        self.models: dict[str, tuple[WipRow, dt.datetime]] = {}
        self.number_width = 8
        self.columns_keys: tuple[str, ...] = ("job", *stages, "status")
        self.loaded = False

    # -- building

    def load(
        self,
        rows: list[WipRow],
        summary: dict[str, StageSummary],
        shift: str,
        read_at: dt.datetime,
        now: dt.datetime,
        first: int = 80,
    ) -> bool:
        """First paint: columns, summary rows and the first `first` rows; `load_more()` adds the
        rest in chunks so the screen shows the top of the board at once. True if more are left."""
        self.fixed_rows = 0
        self.clear(columns=True)
        self.models.clear()
        self.number_width = min(20, max([8, *(len(r.number) for r in rows)]))
        # Room for " HOLD LATE" on every row: a job may become both while the board runs, and a
        # mark cut off would hide that it is late.
        self.add_column(Text("Pri Job"), key="job", width=max(2 + self.number_width + 10, 15))
        for code in self.stages:
            self.add_column(Text(code), key=code, width=max(CELL_WIDTH, len(code)))
        self.add_column(Text("Status"), key="status", width=STATUS_WIDTH)
        for index, key in enumerate(SUMMARY_KEYS):
            self.add_row(summary_label("", index), *(Cell(Text("")) for _ in range(len(self.stages) + 1)), key=key)
        self.fixed_rows = len(SUMMARY_KEYS)
        self.set_summary(summary, shift)
        self._unloaded = [(row, read_at) for row in rows]
        self.load_more(first, now)
        self.loaded = True
        if rows:
            self.move_cursor(row=len(SUMMARY_KEYS), column=1, scroll=False)
        return bool(self._unloaded)

    def load_more(self, count: int, now: dt.datetime) -> bool:
        """Add the next `count` rows of the first paint; True while more are left."""
        chunk, self._unloaded = self._unloaded[:count], self._unloaded[count:]
        for row, read_at in chunk:
            if row.number in self.models:
                continue
            self.add_row(*self._cells(row, read_at, now), key=row.number)
            self.models[row.number] = (row, read_at)
        if not self._unloaded:
            self._sort_if_needed()
        return bool(self._unloaded)

    def merge(self, rows: list[WipRow], read_at: dt.datetime, now: dt.datetime) -> bool:
        """The full read after a first paint of the top rows: rows on screen change in place,
        closed ones go, the others are queued for load_more(). True if rows are queued."""
        fresh = {r.number: r for r in rows}
        shown = list(self.models)
        self.apply([fresh[n] for n in shown if n in fresh], shown, read_at, now)
        self._unloaded = [(r, read_at) for r in rows if r.number not in self.models]
        return bool(self._unloaded)

    def _sort_if_needed(self) -> None:
        """Rows were appended in board order; a change while they loaded may have broken it."""
        keys = [row.key.value for row in self.ordered_rows]
        cells = [self.get_cell(key, "job").sort_key for key in keys]
        if cells != sorted(cells):
            job, column, line = self._cursor_place()
            scroll = (self.scroll_x, self.scroll_y)
            self.sort("job", key=lambda cell: cell.sort_key)
            self._restore_place(job, column, line, scroll)

    def _cells(self, row: WipRow, read_at: dt.datetime, now: dt.datetime) -> list[Cell]:
        later = (now - read_at).total_seconds()
        return [
            job_cell(row, self.number_width),
            *(
                Cell(cell_text(row.cells.get(code, OFF_ROUTE), later, self.limits, self.age_styles))
                for code in self.stages
            ),
            Cell(status_text(row)),
        ]

    # -- live changes

    def apply(self, rows: list[WipRow], asked: Iterable[str], read_at: dt.datetime, now: dt.datetime) -> int:
        """Change, add or remove just these jobs' rows; returns how many rows changed.

        A job in `asked` but not in `rows` is closed (or gone): its row goes. The cursor stays
        on its job, on the same screen line (see _restore_place).
        """
        got = {r.number: r for r in rows}
        job, column, line = self._cursor_place()
        scroll = (self.scroll_x, self.scroll_y)
        reorder = False
        changed = 0
        for number in asked:
            row = got.get(number)
            if row is None:
                if number in self.models:
                    self.remove_row(number)
                    del self.models[number]
                    changed += 1
                continue
            cells = self._cells(row, read_at, now)
            old = self.models.get(number)
            if old is None:
                self.add_row(*cells, key=number)
                reorder = True
                changed += 1
            else:
                if self._update_row(number, cells):
                    changed += 1
                reorder = reorder or row_sort_key(old[0]) != row_sort_key(row)
            self.models[number] = (row, read_at)
        if reorder:
            self.sort("job", key=lambda cell: cell.sort_key)
        if changed:
            self._restore_place(job, column, line, scroll)
        return changed

    def _update_row(self, number: str, cells: list[Cell]) -> bool:
        changed = False
        for key, cell in zip(self.columns_keys, cells):
            if self.get_cell(number, key) != cell:
                self.update_cell(number, key, cell)
                changed = True
        return changed

    def set_summary(self, summary: dict[str, StageSummary], shift: str) -> None:
        per_stage = [summary_cells(summary.get(code)) for code in self.stages]
        labels = [summary_label(label, i) for i, label in enumerate(SUMMARY_LABELS)]
        for index, key in enumerate(SUMMARY_KEYS):
            self._update_row(key, [labels[index], *(Cell(cells[index]) for cells in per_stage), Cell(Text(""))])

    def tick(self, now: dt.datetime) -> int:
        """Re-draw waiting ages as time passes (no store read); returns how many cells changed."""
        changed = 0
        for number, (row, read_at) in self.models.items():
            later = (now - read_at).total_seconds()
            for code in self.stages:
                cell = row.cells.get(code, OFF_ROUTE)
                if cell.pending <= 0:
                    continue
                text = Cell(cell_text(cell, later, self.limits, self.age_styles))
                if self.get_cell(number, code) != text:
                    self.update_cell(number, code, text)
                    changed += 1
        return changed

    # -- the cursor

    def selected(self) -> tuple[str | None, str | None]:
        """(job number, stage code or None) under the cursor; (None, None) on a summary row."""
        if not self.loaded or self.row_count <= len(SUMMARY_KEYS):
            return None, None
        row_key, column_key = self.coordinate_to_cell_key(self.cursor_coordinate)
        if row_key.value in SUMMARY_KEYS:
            return None, None
        stage = column_key.value if column_key.value in self.stages else None
        return row_key.value, stage

    def _cursor_place(self) -> tuple[str | None, int, int]:
        if self.row_count == 0:
            return None, 0, 0
        row, column = self.cursor_coordinate
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value if row < self.row_count else None
        return key, column, row

    def _restore_place(self, job: str | None, column: int, line: int, scroll: tuple[float, float]) -> None:
        """Keep the cursor on its job and that job on the same screen line: the scroll moves only
        by as many rows as were added or removed above it (none, for changes below it)."""
        x, y = scroll
        target = min(line, max(0, self.row_count - 1))
        if job is not None and job in self.models:
            target = self.get_row_index(job)
            y = max(0.0, y + (target - line))
        if (target, column) != tuple(self.cursor_coordinate):
            self.move_cursor(row=target, column=column, scroll=False)
        if (self.scroll_x, self.scroll_y) != (x, y):
            self.scroll_to(x, y, animate=False, immediate=True)
        # Rows added or removed change the virtual size only on the next refresh: scroll again then.
        self.call_after_refresh(self._scroll_back, x, y)

    def _scroll_back(self, x: float, y: float) -> None:
        if (self.scroll_x, self.scroll_y) != (x, y):
            self.scroll_to(x, y, animate=False, immediate=True)

    def cell_plain(self, number: str, stage: str) -> str:
        """What a cell says, as text (for tests and the benchmark)."""
        return self.get_cell(number, stage).plain


# -- exceptions --------------------------------------------------------------------------------


def exception_items(
    ex: Exceptions, tz, now: dt.datetime, hours: tuple[int, ...]
) -> list[tuple[str, list[tuple[str, str, str, Text]]]]:
    """Per exception list: (name, items as (job, stage, qty, detail)), in the seed's order."""
    today = plant_today(now, tz)
    styles = age_styles(len(hours) + 1)
    later = (now - ex.as_of).total_seconds() if ex.as_of else 0.0
    out: list[tuple[str, list]] = []

    def add(name: str, items: list) -> None:
        out.append((name, items))

    add(
        "delayed",
        [
            (
                i.number,
                i.stage_name,
                "",
                Text(f"{i.label} for {duration(i.seconds + later)} (since {plant_stamp(i.since, tz, today=today)})"),
            )
            for i in ex.delayed
        ],
    )
    add(
        "late",
        [
            (
                i.number,
                "",
                "",
                Text(
                    f"{i.days_late} d late, planned {i.planned_end:%a %d %b} · {i.status}",
                    style="bold" if i.days_late > 2 else "",
                ),
            )
            for i in ex.late
        ],
    )
    add(
        "due_soon",
        [
            (
                i.number,
                "",
                "",
                Text(f"due {i.planned_end:%a %d %b}, {duration(i.hours_left * 3600 - later)} left · {i.status}"),
            )
            for i in ex.due_soon
        ],
    )
    add(
        "ageing",
        [
            (
                i.number,
                i.stage_name,
                str(i.pending),
                Text(
                    f"waiting {duration(i.seconds + later)} ({i.label})", style=styles[min(i.bucket, len(styles) - 1)]
                ),
            )
            for i in ex.ageing
        ],
    )
    add(
        "pending_qc",
        [
            (
                i.number,
                i.stage_name,
                str(i.pending),
                Text(f"{i.pending} to inspect, waiting {duration((i.seconds or 0) + later)}"),
            )
            for i in ex.pending_qc
        ],
    )
    add(
        "pending_rework",
        [
            (
                i.number,
                i.stage_name,
                str(i.qty),
                Text("rejected: awaiting rework or scrap decision" if i.what == "decision" else "sent back for rework"),
            )
            for i in ex.pending_rework
        ],
    )
    add(
        "ready_for_dispatch",
        [
            (
                i.number,
                "",
                str(i.qty),
                Text(f"{i.qty} ready for ")
                + Text(i.customer or "dispatch")
                + Text(f" · planned {i.planned_end:%a %d %b}" if i.planned_end else ""),
            )
            for i in ex.ready_for_dispatch
        ],
    )
    add(
        "material_short",
        [
            (
                i.number,
                "",
                str(sum(line.short for line in i.lines)),
                Text(", ".join(f"{line.item} short {line.short} {line.unit}" for line in i.lines)),
            )
            for i in ex.material_short
        ],
    )
    add(
        "priority_changed",
        [(i.number, "", "", Text(f"priority {i.initial_priority} → {i.priority}")) for i in ex.priority_changed],
    )
    add(
        "on_hold",
        [
            (i.number, "", "", Text(f"since {plant_stamp(i.since, tz, today=today)}: ") + Text(i.note))
            for i in ex.on_hold
        ],
    )
    add(
        "replay_refused",
        [
            (i.number, "", "", Text(f"{i.terminal}: ") + Text(i.words) + Text(" — ") + Text(i.reason, style="bold"))
            for i in ex.replay_refused
        ],
    )
    return out


class ExceptionsTable(DataTable):
    """The items of one exception list; `lists` holds them all, `choose(name)` shows one."""

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", **kwargs)
        self.lists: dict[str, list] = {}
        self.current = EXCEPTION_VIEWS[0]
        self.jobs: dict[str, tuple[str, str]] = {}  # row key -> (job, stage code)
        self.stage_codes: dict[str, str] = {}

    def on_mount(self) -> None:
        self.add_column(Text("Job"), key="job")
        self.add_column(Text("Stage"), key="stage")
        self.add_column(Text("Qty"), key="qty")
        self.add_column(Text("Detail"), key="detail")

    def show(self, lists: list[tuple[str, list]], stage_codes: dict[str, str]) -> None:
        """New data for every list; the list on screen is redrawn, keeping the cursor's job."""
        first = not self.lists
        if not first and dict(lists) == self.lists:
            return  # nothing new: keep the table as it is (a rebuild costs the UI thread time)
        self.lists = dict(lists)
        self.stage_codes = stage_codes
        if first:
            self.current = next((name for name, items in lists if items), EXCEPTION_VIEWS[0])
        self.choose(self.current, keep=not first)

    def choose(self, name: str, keep: bool = False) -> None:
        """Show the items of list `name` (keep: the cursor stays on its job, the scroll stays)."""
        old = self.selected() if keep else (None, None)
        line, scroll = (self.cursor_row, (self.scroll_x, self.scroll_y)) if keep else (0, (0, 0))
        self.current = name
        items = self.lists.get(name, [])
        self.clear()
        self.jobs = {}
        for i, (job, stage, qty, detail) in enumerate(items[:EXCEPTION_LIMIT]):
            key = f"{name}|{i}"
            self.add_row(Text(job), Text(stage), Text(qty, justify="right"), detail, key=key)
            self.jobs[key] = (job, self.stage_codes.get(stage, ""))
        if len(items) > EXCEPTION_LIMIT:
            self.add_row(
                Text(""),
                Text(""),
                Text(""),
                Text(
                    f"… and {len(items) - EXCEPTION_LIMIT} more: floorterm report exceptions lists all", style="italic"
                ),
                key=f"more|{name}",
            )
        if not items:
            self.add_row(Text(""), Text(""), Text(""), Text("none right now", style="italic"), key=f"none|{name}")
        target = line
        if old[0] is not None:
            target = next((self.get_row_index(k) for k, v in self.jobs.items() if v == old), line)
        self.move_cursor(row=min(target, max(0, self.row_count - 1)), scroll=False)
        self.scroll_to(*scroll, animate=False, immediate=True)

    def selected(self) -> tuple[str | None, str | None]:
        """(job, stage code) of the item under the cursor; (None, None) if there is none."""
        if not self.row_count:
            return None, None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.jobs.get(key, (None, None))


def exception_menu(lists: list[tuple[str, list]], current: str) -> list[Text]:
    """The list picker's lines: title and count, the chosen one marked."""
    out = []
    for name, items in lists:
        line = Text("▶ " if name == current else "  ", style="bold")
        line.append(f"{EXCEPTION_TITLES[name]:<18}", style="bold" if items else "")
        line.append(f"{len(items):>5}", style="bold" if items else "dim")
        out.append(line)
    return out


# -- bottlenecks --------------------------------------------------------------------------------


def bottlenecks_renderable(
    ranked: list[Bottleneck],
    window_hours: float,
    *,
    big: bool = False,
    bar_width: int = 30,
    wait_bar_width: int | None = None,
    side_by_side: bool = False,
) -> Group:
    """The worst stage named plainly, then stages ranked by expected wait and by longest wait."""
    parts = []
    worst = ranked[0] if ranked and ranked[0].jobs_waiting else None
    if worst is None:
        parts.append(Text("Nothing is waiting at any stage.", style="bold"))
    else:
        head = Text("WORST: " if not big else "BOTTLENECK NOW: ", style="bold")
        head.append(worst.headline, style="bold reverse")
        parts.append(head)
        if worst.expected_wait_hours is not None:
            parts.append(
                Text(
                    f"{worst.pending} pending ÷ {worst.throughput_per_hour:.1f} done per hour over the last "
                    f"{window_hours:g} h = about {duration(worst.expected_wait_hours * 3600)} to clear"
                )
            )
        elif worst.pending:
            parts.append(
                Text(
                    f"Nothing was completed there in the last {window_hours:g} h; {worst.pending} pending.",
                    style="bold",
                )
            )
    parts.append(Text(""))
    busy = [b for b in ranked if b.pending > 0]
    most_expected = max([b.expected_wait_hours or 0.0 for b in busy] + [0.0])
    table = Table(
        title=Text("Ranked by expected wait (pending ÷ recent throughput)", style="bold"),
        title_justify="left",
        expand=True,
        box=None,
        padding=(0, 1),
    )
    for name, justify in (
        ("#", "right"),
        ("Stage", "left"),
        ("Pending", "right"),
        ("Jobs", "right"),
        ("Oldest", "right"),
        (f"Done {window_hours:g}h", "right"),
        ("Per h", "right"),
        ("Exp. wait", "right"),
        ("", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=True, ratio=1 if name == "" else None)
    for rank, b in enumerate(ranked, start=1):
        expected = (
            "no output"
            if b.expected_wait_hours is None and b.pending
            else (duration(b.expected_wait_hours * 3600) if b.expected_wait_hours is not None else "—")
        )
        table.add_row(
            str(rank),
            Text(b.name, style="bold" if rank == 1 and worst else ""),
            str(b.pending),
            str(b.jobs_waiting),
            short_age(b.oldest_seconds) or "—",
            str(b.completed),
            f"{b.throughput_per_hour:.1f}",
            expected,
            bar(b.expected_wait_hours or 0.0, most_expected, bar_width, "bold"),
        )
    parts.append(table)
    parts.append(Text(""))
    by_wait = sorted(busy, key=lambda b: -(b.oldest_seconds or 0.0))
    longest = max([b.oldest_seconds or 0.0 for b in busy] + [0.0])
    waits = Table(
        title=Text("Ranked by longest waiting job", style="bold"),
        title_justify="left",
        expand=True,
        box=None,
        padding=(0, 1),
    )
    for name, justify in (("#", "right"), ("Stage", "left"), ("Oldest", "right"), ("Jobs", "right"), ("", "left")):
        waits.add_column(name, justify=justify, no_wrap=True, ratio=1 if name == "" else None)
    for rank, b in enumerate(by_wait, start=1):
        waits.add_row(
            str(rank),
            b.name,
            duration(b.oldest_seconds),
            str(b.jobs_waiting),
            bar(b.oldest_seconds or 0.0, longest, wait_bar_width or bar_width),
        )
    if side_by_side:
        parts.pop()  # the blank line between the two tables
        parts.pop()
        both = Table.grid(expand=True, padding=(0, 2))
        both.add_column(ratio=3)
        both.add_column(ratio=2)
        both.add_row(table, waits)
        parts.append(both)
    else:
        parts.append(waits)
    return Group(*parts)


# -- delays and rejections -------------------------------------------------------------------------


def delays_renderable(
    period: str, delays: list[DelayTotal], rejections: Rejections, *, bar_width: int = 40, side_by_side: bool = False
) -> Group:
    """Delay time and count by reason, rejected quantity by reason and by stage, as bars."""
    parts: list = [Text(period, style="bold"), Text("")]

    def table(title: str, columns: tuple[str, ...]) -> Table:
        t = Table(title=Text(title, style="bold"), title_justify="left", expand=True, box=None, padding=(0, 1))
        for i, name in enumerate(columns):
            t.add_column(
                name,
                justify="left" if i in (0, len(columns) - 1) else "right",
                no_wrap=True,
                ratio=1 if i == len(columns) - 1 else None,
            )
        return t

    count = sum(d.count for d in delays)
    t = table(f"Delay time by reason ({count} {'delay' if count == 1 else 'delays'})", ("Reason", "Time", "Delays", ""))
    most = max([d.seconds for d in delays] + [0.0])
    for d in delays:
        t.add_row(Text(d.label), duration(d.seconds), str(d.count), bar(d.seconds, most, bar_width, "bold red"))
    if not delays:
        t.add_row(Text("no delays in this period", style="italic"), "", "", "")
    delay_table = t
    parts += [t, Text("")]
    t = table(f"Rejected quantity by reason ({rejections.qty} rejected)", ("Reason", "Qty", "Entries", ""))
    most = max([r.qty for r in rejections.by_reason] + [0])
    for r in rejections.by_reason:
        t.add_row(
            Text(r.label or r.code or "no reason"), str(r.qty), str(r.count), bar(r.qty, most, bar_width, "bold yellow")
        )
    if not rejections.by_reason:
        t.add_row(Text("no rejections in this period", style="italic"), "", "", "")
    parts += [t, Text("")]
    t = table("Rejected quantity by stage", ("Stage", "Qty", "Entries", ""))
    most = max([s.qty for s in rejections.by_stage] + [0])
    for s in rejections.by_stage:
        t.add_row(Text(s.name), str(s.qty), str(s.count), bar(s.qty, most, bar_width, "bold yellow"))
    if not rejections.by_stage:
        t.add_row(Text("no rejections in this period", style="italic"), "", "", "")
    parts.append(t)
    if side_by_side:
        both = Table.grid(expand=True, padding=(0, 2))
        both.add_column(ratio=1)
        both.add_column(ratio=1)
        both.add_row(delay_table, Group(*parts[4:]))
        return Group(*parts[:2], both)
    return Group(*parts)


# -- a job's history ------------------------------------------------------------------------------


class HistoryTable(DataTable):
    """A job's entries newest first; voided ones struck through with the void's reason."""

    def __init__(self, **kwargs):
        super().__init__(cursor_type="row", **kwargs)
        self.entries: dict[str, dict] = {}

    def on_mount(self) -> None:
        for name in ("When", "What", "Qty", "Step", "Reason", "Who", "Terminal", "Note"):
            self.add_column(Text(name), key=name)

    def show(self, history: list[dict], labels: dict, tz, now: dt.datetime) -> None:
        keep = None
        if self.row_count:
            keep = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        self.clear()
        self.entries = {}
        today = plant_today(now, tz)
        kinds = {entry["uuid"]: entry["kind"] for entry in history}
        for entry in history:
            key = str(entry["id"])
            self.add_row(*history_cells(entry, labels, tz, today, kinds.get(entry["voids"] or "")), key=key)
            self.entries[key] = entry
        if keep in self.entries:
            self.move_cursor(row=self.get_row_index(keep), scroll=False)

    def selected(self) -> dict | None:
        if not self.row_count:
            return None
        key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        return self.entries.get(key)


# -- TV tiles ------------------------------------------------------------------------------------


class Tile(Vertical):
    """A big number with a title and a line or two of detail (TV mode, big screens)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.shown: tuple[str, int, Text, str] = ("", 0, Text(""), "")

    def compose(self) -> ComposeResult:
        yield Static("", classes="tile-title")
        yield Digits("", classes="tile-value")
        yield Static("", classes="tile-detail")

    def on_mount(self) -> None:
        self._paint()

    def show(self, title: str, value: int, detail: Text, level: str = "") -> None:
        """What to show; painted now, or when the tile is mounted."""
        self.shown = (title, value, detail, level)
        if self.is_mounted and self.children:
            self._paint()

    def _paint(self) -> None:
        title, value, detail, level = self.shown
        self.query_one(".tile-title", Static).update(Text(title))
        self.query_one(".tile-value", Digits).update(str(value))
        self.query_one(".tile-detail", Static).update(detail)
        for name in ("-ok", "-warn", "-bad"):
            self.set_class(name == level, name)


def stage_tile_text(s: StageSummary, hours: tuple[int, ...]) -> tuple[Text, str]:
    """Detail lines and level of a stage tile: jobs waiting, oldest wait in words, done this shift."""
    detail = Text(f"{s.jobs_waiting} waiting", no_wrap=True, overflow="ellipsis")
    if s.jobs_delayed:
        detail.append(f" · {s.jobs_delayed} DELAYED", style="bold")
    level = "-ok"
    if s.oldest_seconds is not None:
        labels = age_labels(hours)
        bucket = age_bucket(s.oldest_seconds, hours)
        detail.append(f"\noldest {duration(s.oldest_seconds)} ({labels[bucket]})")
        level = "-ok" if bucket == 0 else ("-bad" if bucket >= len(hours) else "-warn")
    detail.append(f"\ndone this shift {s.completed_this_shift}")
    return detail, level


def exception_tile_text(items: list, limit: int = 3) -> Text:
    """The first items of an exception list, one line each, for a TV tile."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for job, stage, qty, detail in items[:limit]:
        if text:
            text.append("\n")
        text.append(job, style="bold")
        text.append(" ")
        text.append_text(detail)
    text.append("\n" * (limit - min(limit, len(items))))  # every tile as tall as the others
    if len(items) > limit:
        text.append(f"\n… and {len(items) - limit} more", style="italic")
    else:
        text.append("\n")
    return text
