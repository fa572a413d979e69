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
from textual.containers import Horizontal, Vertical
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Digits, Sparkline, Static

from floorterm import exceptions as seed_lists
from floorterm.clock import plant_today, to_plant
from floorterm.reports import (
    JOB_ROW,
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

# The board's exception lists, in the picker's order: the first lists of floorterm.reports and
# the four of floorterm.exceptions (docs/exceptions.md). "priority_changes" (every change: who,
# when, from → to, why) replaces the first "priority_changed" (only planned → current).
EXCEPTION_VIEWS = (
    "delayed",
    "late",
    "due_soon",
    "ageing",
    "not_updated",
    "pending_qc",
    "pending_rework",
    "ready_for_dispatch",
    "material_short",
    "material_idle",
    "priority_changes",
    "on_hold",
    "replay_refused",
    "late_entries",
)
EXCEPTION_TITLES = {
    "delayed": "Delayed",
    "late": "Late",
    "due_soon": "Due soon",
    "ageing": "WIP ageing",
    "pending_qc": "Pending QC",
    "pending_rework": "Pending rework",
    "ready_for_dispatch": "Ready to dispatch",
    "material_short": "Material short",
    "on_hold": "On hold",
    "replay_refused": "Refused on replay",
    **seed_lists.TITLES,
}
# The picker and the TV tiles are narrow: titles longer than MENU_TITLE_WIDTH get a short form there.
MENU_TITLE_WIDTH = 18
MENU_TITLES = {"material_idle": "Issued not started"}
# What each list holds, said once above its items.
EXCEPTION_HELP = {
    "delayed": "open delays, longest first, with the reason",
    "late": "open jobs past their planned completion date",
    "due_soon": "due within the warning time and not ready for dispatch",
    "ageing": "stage steps waiting longer than their stage's first ageing threshold, oldest first",
    "pending_qc": "quantity waiting for inspection",
    "pending_rework": "rejected quantity awaiting a rework or scrap decision, and rework sent back",
    "ready_for_dispatch": "finished quantity waiting to be dispatched",
    "material_short": "released jobs blocked by a material shortage",
    "on_hold": "jobs on hold, with why",
    "replay_refused": "entries queued offline that the store refused: floorterm outbox retry or discard",
    **seed_lists.HELP,
}


# -- WIP by stage ------------------------------------------------------------------------------


class WipTable(DataTable):
    """Open jobs x stages, four fixed summary rows on top, the job column fixed on the left."""

    _hold_refresh = False  # _set_cells: repaint the changed cells, not the whole table

    def __init__(self, stages: tuple[str, ...], hours: tuple[int, ...], **kwargs):
        # fixed_rows is set once the summary rows exist: an empty table with fixed rows cannot render.
        super().__init__(fixed_columns=1, cursor_type="cell", **kwargs)
        self.stages = stages
        self.hours = hours
        self.age_styles = age_styles(len(hours) + 1)
        self.limits = age_limits(hours)
        self.stage_limits: dict[str, tuple[float, ...]] = {}  # stages with their own ageing hours
        self._unloaded: list[tuple[WipRow, dt.datetime]] = []
        self.models: dict[str, tuple[WipRow, dt.datetime]] = {}
        self.number_width = 8
        self.columns_keys: tuple[str, ...] = ("job", *stages, "status")
        self.loaded = False

    def limits_for(self, stage: str) -> tuple[float, ...]:
        return self.stage_limits.get(stage, self.limits)

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
                Cell(cell_text(row.cells.get(code, OFF_ROUTE), later, self.limits_for(code), self.age_styles))
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
        changes = [
            (number, key, cell) for key, cell in zip(self.columns_keys, cells) if self.get_cell(number, key) != cell
        ]
        self._set_cells(changes)
        return bool(changes)

    def _set_cells(self, changes: list[tuple[str, str, Cell]]) -> None:
        """Change cells and repaint just those on screen.

        DataTable.update_cell repaints the whole table; over SSH that is ~8-18 KB for a cell
        that changed off screen (an age ticking on row 300). Cells of the scrolling part are
        repainted one by one, and not at all when off screen; a change in a fixed row or the
        job column repaints the table as before.
        """
        if not changes:
            return
        whole = any(number in SUMMARY_KEYS or key == "job" for number, key, _ in changes)
        self._hold_refresh = not whole
        try:
            for number, key, cell in changes:
                self.update_cell(number, key, cell)
        finally:
            self._hold_refresh = False
        if not whole:
            for number, key, _ in changes:
                self.refresh_coordinate(Coordinate(self.get_row_index(number), self.get_column_index(key)))

    def refresh(self, *regions, **kwargs):
        if self._hold_refresh and not regions:
            return self  # _set_cells repaints the changed cells itself
        return super().refresh(*regions, **kwargs)

    def set_summary(self, summary: dict[str, StageSummary], shift: str) -> None:
        per_stage = [summary_cells(summary.get(code)) for code in self.stages]
        labels = [summary_label(label, i) for i, label in enumerate(SUMMARY_LABELS)]
        for index, key in enumerate(SUMMARY_KEYS):
            self._update_row(key, [labels[index], *(Cell(cells[index]) for cells in per_stage), Cell(Text(""))])

    def tick(self, now: dt.datetime) -> int:
        """Re-draw waiting ages as time passes (no store read); returns how many cells changed.
        Only the changed cells that are on screen are repainted."""
        changes = []
        for number, (row, read_at) in self.models.items():
            later = (now - read_at).total_seconds()
            for code in self.stages:
                cell = row.cells.get(code, OFF_ROUTE)
                if cell.pending <= 0:
                    continue
                text = Cell(cell_text(cell, later, self.limits_for(code), self.age_styles))
                if self.get_cell(number, code) != text:
                    changes.append((number, code, text))
        self._set_cells(changes)
        return len(changes)

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

    # -- stage columns that fit (80x24 shows about 5 of 9)

    def stage_spans(self) -> list[tuple[str, int, int]]:
        """(stage code, start, end) of each stage column, x in the scrolled part (after the job column)."""
        out, x = [], 0
        for key in self.columns_keys[1:]:
            column = self.columns.get(key)
            if column is None:
                return []
            width = column.get_render_width(self)
            if key in self.stages:
                out.append((key, x, x + width))
            x += width
        return out

    def scroll_room(self) -> int:
        """Columns of the screen the stage columns scroll in (the job column stays)."""
        job = self.columns.get("job")
        fixed = job.get_render_width(self) if job is not None else 0
        return max(1, self.scrollable_content_region.width - fixed)

    def visible_stages(self) -> list[str]:
        """The stage codes whose column is wholly on screen now."""
        left = int(self.scroll_x)
        right = left + self.scroll_room()
        return [code for code, start, end in self.stage_spans() if start >= left and end <= right]

    def stage_pages(self) -> list[tuple[int, list[str]]]:
        """The screenfuls of whole stage columns, left to right: (scroll x, stage codes) each
        (the TV shows them in turn; one page when every stage fits)."""
        spans = self.stage_spans()
        room = self.scroll_room()
        pages: list[tuple[int, list[str]]] = []
        i = 0
        while i < len(spans):
            start = spans[i][1]
            j = i + 1  # at least one column a page, even one wider than the screen
            while j < len(spans) and spans[j][2] - start <= room:
                j += 1
            pages.append((start, [code for code, _, _ in spans[i:j]]))
            i = j
        if len(pages) > 1:  # the last page: a full screenful ending at the last stage
            end = spans[-1][2]
            first = next(k for k, (_, start, _) in enumerate(spans) if end - start <= room or k == len(spans) - 1)
            pages[-1] = (spans[first][1], [code for code, _, _ in spans[first:]])
        return pages or [(0, list(self.stages))]

    def page_stages(self, step: int) -> None:
        """Scroll the stage columns a screen to the right (+1) or left (-1); the cursor follows."""
        spans = self.stage_spans()
        if not spans:
            return
        shown = self.visible_stages() or [spans[0][0]]
        codes = [code for code, _, _ in spans]
        starts = {code: start for code, start, _ in spans}
        if step > 0:
            first = codes[min(len(codes) - 1, codes.index(shown[-1]) + 1)]
        else:
            target = max(0, starts[shown[0]] - self.scroll_room())
            first = next(code for code in codes if starts[code] >= target)
        x = starts[first]
        self.scroll_to(x=x, animate=False, immediate=True)
        if self.show_cursor and self.row_count:
            column = self.columns_keys.index(first)
            self.move_cursor(column=column, scroll=False)

    def show_job(self, number: str) -> bool:
        """Put the cursor on this job's row (same column) and scroll it into view; False if not shown."""
        if number not in self.models:
            return False
        column = max(1, self.cursor_column)
        self.move_cursor(row=self.get_row_index(number), column=column, scroll=False)
        # After a re-sort the row may be anywhere: once the table has its new size, bring it into view.
        self.call_after_refresh(self._into_view, number)
        return True

    def _into_view(self, number: str) -> None:
        if number not in self.models:
            return
        row = self.get_row_index(number)
        shown = self.scrollable_content_region.height - self.header_height - self.fixed_rows
        top = int(self.scroll_y)
        if not top <= row - self.fixed_rows < top + max(1, shown):
            self.scroll_to(y=max(0, row - self.fixed_rows - shown // 2), animate=False, immediate=True)

    def cell_plain(self, number: str, stage: str) -> str:
        """What a cell says, as text (for tests and the benchmark)."""
        return self.get_cell(number, stage).plain


# -- exceptions --------------------------------------------------------------------------------


def exception_items(
    ex: Exceptions, tz, now: dt.datetime, hours: tuple[int, ...], config=None
) -> list[tuple[str, list[tuple[str, str, str, Text]]]]:
    """Per exception list: (name, items as (job, stage, qty, detail)), in EXCEPTION_VIEWS' order.
    An item's job is "" where the list is not about a job (late entries: per terminal).
    config: the plant's (floorterm.exceptions.summary_rows words the four lists it adds)."""
    today = plant_today(now, tz)
    styles = age_styles(len(hours) + 1)
    later = (now - ex.as_of).total_seconds() if ex.as_of else 0.0
    found: dict[str, list] = {}

    def add(name: str, items: list) -> None:
        found[name] = items

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
    add("material_short", [short_item(i) for i in ex.material_short])
    for kind in seed_lists.SEED_KINDS:
        items = getattr(ex, kind, None) or []
        rows = seed_lists.summary_rows(kind, items, config) if config is not None and items else []
        add(
            kind,
            [
                # stage: the step's name where the item has one (the list shows names, not codes)
                (str(job), getattr(item, "stage_name", stage) or "", str(qty), Text(str(detail)))
                for item, (_, job, stage, qty, detail) in zip(items, rows)
            ],
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
    return [(name, found.get(name, [])) for name in EXCEPTION_VIEWS]


def short_item(i) -> tuple[str, str, str, Text]:
    """A job blocked by a material shortage: its short lines, and the open material-shortage
    delay if there is one. Without short lines (a delay only) the quantity is empty, not 0."""
    short = sum(line.short for line in i.lines)
    parts = [f"{line.item} short {line.short} {line.unit}" for line in i.lines]
    detail = Text(", ".join(parts))
    if i.delay_label:
        where = i.delay_stage_name or JOB_ROW
        took = f" for {duration(i.delay_seconds)}" if i.delay_seconds is not None else ""
        detail.append(("; " if parts else "") + f"delayed ({i.delay_label}) at {where}{took}")
    if i.units:
        detail.append(f" · {i.units} units held up")
    return i.number, "", str(short) if i.lines else "", detail


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

    def show(self, lists: list[tuple[str, list]], stage_codes: dict[str, str]) -> bool:
        """New data for every list; the list on screen is redrawn, keeping the cursor's job.
        False when nothing changed (then nothing is redrawn)."""
        first = not self.lists
        if not first and dict(lists) == self.lists:
            return False  # nothing new: keep the table as it is (a rebuild costs the UI thread time)
        self.lists = dict(lists)
        self.stage_codes = stage_codes
        if first:
            self.current = next((name for name, items in lists if items), EXCEPTION_VIEWS[0])
        self.choose(self.current, keep=not first)
        return True

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
        title = MENU_TITLES.get(name, EXCEPTION_TITLES[name])[:MENU_TITLE_WIDTH]
        line.append(f"{title:<{MENU_TITLE_WIDTH}}", style="bold" if items else "")
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
    headline: bool = True,
) -> Group:
    """The worst stage named plainly, then stages ranked by expected wait and by longest wait.
    headline=False: just the two tables (the board names the worst stage over a period above)."""
    parts = []
    worst = ranked[0] if ranked and ranked[0].jobs_waiting else None
    if not headline:
        parts.append(Text("Right now", style="bold underline"))
    elif worst is None:
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


# -- bottlenecks over a period: waiting history, trends, ready to ship -------------------------------

TREND_HEADER = f"{'#':>2} {'Stage':<12} {'Unit-h':>7} {'p90':>6} {'Now':>5} {'Jobs':>4} {'Oldest':>6}"
TREND_TEXT_WIDTH = len(TREND_HEADER)  # board.tcss .trend-text has this width (48)


def unit_hours_text(hours: float | None) -> str:
    """'12,345', '12.5', '—': unit-hours of waiting, whole above 100."""
    if hours is None:
        return "…"
    return f"{hours:,.0f}" if hours >= 100 else f"{hours:.1f}"


def wait_text(hours: float | None) -> str:
    return short_age(hours * 3600) if hours is not None else "—"


def rank_by_history(snapshot: list[Bottleneck], flows: dict | None, ready: set[str]) -> list[tuple]:
    """(bottleneck now, StageFlow or None) of the stages that can be bottlenecks, worst first:
    most unit-hours of waiting over the period (the period's history), then the snapshot's order.
    Dispatch stages (`ready`) are left out: finished work waiting for the truck is shown apart."""
    rows = [(b, flows.get(b.stage) if flows else None) for b in snapshot if b.stage not in ready]
    if flows:
        order = {b.stage: i for i, (b, _) in enumerate(rows)}
        rows.sort(key=lambda r: (-(r[1].unit_hours if r[1] else 0.0), order[r[0].stage]))
    return rows


def trend_row_text(rank: int, b: Bottleneck, f) -> Text:
    """The words of one ranked stage: rank, name, unit-hours and p90 wait over the period, now."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{rank:>2} ")
    name = b.name if len(b.name) <= 12 else b.name[:11] + "…"
    text.append(f"{name:<12}", style="bold" if rank == 1 and f and f.unit_hours > 0 else "")
    text.append(f" {unit_hours_text(f.unit_hours if f else None):>7}")
    text.append(f" {wait_text(f.p90_wait_hours) if f else '…':>6}")
    text.append(f" {b.pending:>5} {b.jobs_waiting:>4} {short_age(b.oldest_seconds) or '—':>6}")
    return text


def bottleneck_head(ranked: list[tuple], ready: list[Bottleneck], period: str, reading: bool, trend_hours: int) -> Text:
    """The worst stage over the period in words, what is ready to ship, how to read the rows."""
    text = Text()
    top = ranked[0] if ranked else None
    if top is None or (top[1] is None and not top[0].jobs_waiting):
        text.append("Nothing is waiting at any stage.", style="bold")
    elif top[1] is not None and top[1].unit_hours > 0:
        b, f = top
        text.append("WORST ", style="bold")
        text.append(f"{period}: ", style="bold")
        text.append(f" {b.name} ", style="bold reverse")
        text.append(
            f" {unit_hours_text(f.unit_hours)} unit-hours of waiting; 9 in 10 units waited under "
            f"{duration((f.p90_wait_hours or 0) * 3600)}"
        )
        text.append(f". Now {b.jobs_waiting} jobs waiting, oldest {duration(b.oldest_seconds)}")
    else:
        text.append("WORST NOW: ", style="bold")
        text.append(top[0].headline or top[0].name, style="bold reverse")
        if reading:
            text.append(f"  (reading the waiting history of {period}…)", style="italic")
    for r in ready:
        text.append("\nREADY TO SHIP ", style="bold")
        text.append(f"({r.name}): ")
        if r.pending:
            text.append(
                f"{r.pending} units in {r.jobs_waiting} jobs, oldest {duration(r.oldest_seconds)} — finished, "
                "waiting for dispatch (not a bottleneck)"
            )
        else:
            text.append("nothing waiting")
    text.append(
        f"\nRanked by unit-hours of waiting over {period}; Now = units pending, Jobs waiting, Oldest now. "
        f"Sparklines: last {trend_hours} h by hour.",
        style="dim",
    )
    return text


class TrendRow(Horizontal):
    """One ranked stage: its words, then units done and units waiting per hour as sparklines."""

    def compose(self) -> ComposeResult:
        yield Static("", classes="trend-text")
        yield Sparkline([], classes="trend-done")
        yield Static("", classes="trend-done-n")
        yield Sparkline([], classes="trend-wait")
        yield Static("", classes="trend-wait-n")

    def show(self, text: Text, done: tuple[int, ...], waiting: tuple[int, ...]) -> None:
        """Repaint only what changed (an unchanged board sends nothing to the terminal)."""
        shown = getattr(self, "_shown", None)
        done_n = Text(f"{sum(done):>4}" if done else "   …", no_wrap=True)  # units done in the hours shown
        change = waiting[-1] - waiting[0] if waiting else None
        wait_n = Text("    …" if change is None else f"{change:>+5}", no_wrap=True)  # waiting now vs. then
        key = (text.plain, str(text.spans), done, waiting)
        if shown == key:
            return
        self._shown = key
        self.query_one(".trend-text", Static).update(text)
        self.query_one(".trend-done", Sparkline).data = list(done)
        self.query_one(".trend-done-n", Static).update(done_n)
        self.query_one(".trend-wait", Sparkline).data = list(waiting)
        self.query_one(".trend-wait-n", Static).update(wait_n)


def trend_header(hours: int) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis", style="bold")
    text.append(TREND_HEADER)
    text.append(f" {'Done ' + str(hours) + 'h':<12} {'Waiting ' + str(hours) + 'h'}")
    return text


# -- the shift handover ------------------------------------------------------------------------------


def shift_renderable(report, tz, now: dt.datetime, *, side_by_side: bool = False) -> Group:
    """The running shift so far (floorterm.shift): per stage what was completed, rejected,
    scrapped, delays opened / closed / still open, what waits now and the oldest waiting job;
    then the shift's delays, holds and notes."""
    w = report.window
    today = plant_today(now, tz)
    start, end = plant_stamp(w.start, tz, today=today), to_plant(w.end, tz).strftime("%H:%M")
    title = Text()
    title.append(f" SHIFT {w.name.upper()} ", style="bold reverse")
    title.append(f" {start} to {end}")
    title.append(
        f" · running, up to {to_plant(report.now, tz):%H:%M}" if w.running(report.now) else " · ended",
        style="bold",
    )
    stages = Table(
        title=Text("What each stage did this shift, and what waits for the next", style="bold"),
        title_justify="left",
        expand=True,
        box=None,
        padding=(0, 1),
    )
    for name, justify in (
        ("Stage", "left"),
        ("Done", "right"),
        ("Rej", "right"),
        ("Scrap", "right"),
        ("Delays new/ended/open", "right"),
        ("Waiting", "right"),
        ("Oldest", "left"),
    ):
        stages.add_column(name, justify=justify, no_wrap=True, ratio=1 if name == "Oldest" else None)
    for st in report.stages:
        oldest = Text("")
        if st.oldest_job:
            oldest = Text(st.oldest_job, style="bold")  # a job number is user data: plain text
            waited = (now - st.oldest_since).total_seconds() if st.oldest_since else None
            oldest.append(f" {short_age(waited)}")
        delays = f"{st.delays_opened}/{st.delays_closed}/{st.delays_open}"
        stages.add_row(
            Text(st.name),
            str(st.completed + st.qc_passed) if st.completed or st.qc_passed else "·",
            str(st.rejected + st.qc_failed) if st.rejected or st.qc_failed else "·",
            str(st.scrapped) if st.scrapped else "·",
            Text(delays, style="bold" if st.delays_open else "dim" if delays == "0/0/0" else ""),
            Text(f"{st.pending}" + (f" +{st.awaiting}R" if st.awaiting else ""), style="bold" if st.pending else ""),
            oldest,
        )
    delays = Table(
        title=Text(f"Delays during the shift ({len(report.delays)})", style="bold"),
        title_justify="left",
        expand=True,
        box=None,
        padding=(0, 1),
    )
    for name in ("Job", "Stage", "Reason", "Opened", "Closed"):
        delays.add_column(name, no_wrap=True, ratio=1 if name == "Reason" else None)
    open_first = sorted(report.delays, key=lambda d: (d.closed_at is not None, d.opened_at))
    for d in open_first[:40]:
        delays.add_row(
            Text(d.job),
            Text(d.stage),
            Text(d.reason_label),
            plant_stamp(d.opened_at, tz, today=today),
            Text("OPEN", style="bold") if d.closed_at is None else Text(plant_stamp(d.closed_at, tz, today=today)),
        )
    if not report.delays:
        delays.add_row(Text("none", style="italic"), "", "", "", "")
    elif len(report.delays) > 40:
        delays.add_row(
            Text(f"… and {len(report.delays) - 40} more: floorterm report shift", style="italic"), "", "", "", ""
        )
    other = Text()
    other.append("Holds: ", style="bold")
    other.append(f"{report.holds_on} put on, {report.holds_off} released")
    other.append("   Notes: ", style="bold")
    other.append(str(len(report.notes)))
    for n in report.notes[-5:]:
        other.append(f"\n  {plant_stamp(n.at, tz, today=today)} ")
        other.append(n.job, style="bold")
        other.append(" ")
        other.append(n.note)  # typed by people: plain text
    if side_by_side:
        both = Table.grid(expand=True, padding=(0, 2))
        both.add_column(ratio=3)
        both.add_column(ratio=2)
        both.add_row(stages, Group(delays, Text(""), other))
        return Group(title, Text(""), both)
    return Group(title, Text(""), stages, Text(""), delays, Text(""), other)


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
