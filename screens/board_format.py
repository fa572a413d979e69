"""How the board writes things: cells, ages, bars, history lines. Plain functions, Rich Text out.

State is always in words or letters (W, ▶, DLY, LATE, HOLD, VOIDED); colour only repeats
what the text says. User data (job numbers, customers, notes, reasons typed by people) is
appended as plain text, never parsed as markup.
"""

from __future__ import annotations

import bisect
import datetime as dt

from rich.text import Text

from floorterm.clock import entered_at_terminal, format_duration, to_plant
from floorterm.reports import StageSummary, WipCell, WipRow

# One style per waiting-age bucket (config thresholds.ageing_hours give len+1 buckets). Exact
# colours, not ANSI names: a terminal theme may show "yellow" as orange, and then two buckets
# look alike. Black or white on a strong background reads from across a hall.
_AGE_PALETTE = ("#40c040", "black on #ffd700", "black on #ff8000", "bold white on #c00000")

HISTORY_WORDS = {
    "release": "Released",
    "start": "Started",
    "complete": "Completed",
    "reject": "Rejected",
    "rework": "Sent to rework",
    "scrap": "Scrapped",
    "delay": "Delay",
    "resume": "Resumed",
    "qc_pass": "QC passed",
    "qc_fail": "QC failed",
    "material_issue": "Material issued",
    "material_return": "Material returned",
    "material_scrap": "Material scrapped",
    "material_substitute": "Material substituted",
    "dispatch": "Dispatched",
    "priority": "Priority set",
    "hold": "Put on hold",
    "unhold": "Hold released",
    "note": "Note",
    "void": "Void",
    "job_created": "Job created",
}


class Cell:
    """A WIP table cell: one line of Text in a column of fixed width.

    It has no Rich measure on purpose: the table gives every column a fixed width, and
    measuring 20,000 cells (Rich asks the terminal for its size on each) cost the first paint
    most of a second. `sort_key` (job column) keeps the table in board order.
    """

    __slots__ = ("text", "sort_key", "_segments")

    def __init__(self, text: Text, sort_key: tuple = ()):
        self.text = text
        self.sort_key = sort_key
        self._segments = None

    def __rich_console__(self, console, options):
        # One line, no wrapping: the segments straight from the Text (the table crops them to the
        # column), made once per cell. A full Text render per cell made every table refresh slow.
        if self._segments is None:
            self._segments = list(self.text.render(console, end=""))
        return self._segments

    def __eq__(self, other) -> bool:
        # Text's own == ignores the base style; a cell that only changed colour is a change.
        return (
            isinstance(other, Cell)
            and self.text.plain == other.text.plain
            and self.text.style == other.text.style
            and self.text.spans == other.text.spans
        )

    def __hash__(self) -> int:
        return hash(self.text.plain)

    @property
    def plain(self) -> str:
        return self.text.plain


def age_styles(buckets: int) -> tuple[str, ...]:
    """A style per age bucket: the first plain green, the last red, the ones between warmer."""
    if buckets <= 1:
        return (_AGE_PALETTE[0],)
    middle = list(_AGE_PALETTE[1:-1])
    between = [middle[min(len(middle) - 1, i * len(middle) // max(1, buckets - 2))] for i in range(buckets - 2)]
    return (_AGE_PALETTE[0], *between, _AGE_PALETTE[3])


def short_age(seconds: float | None) -> str:
    """An age in at most 4 characters: '<1m', '45m', '3h', '2d', '12d'."""
    if seconds is None:
        return ""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return "<1m"
    if seconds < 3600:
        return f"{int(seconds // 60)}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def age_limits(hours: tuple[int, ...]) -> tuple[float, ...]:
    """The ageing thresholds in seconds, for `cell_text` (same buckets as reports.age_bucket)."""
    return tuple(h * 3600.0 for h in hours)


_BLANK, _DONE, _NOT_YET = Text(""), Text("✓", style="dim"), Text("·", style="dim")


def cell_text(cell: WipCell, later: float, limits: tuple[float, ...], styles: tuple[str, ...]) -> Text:
    """One job at one stage, `later` seconds after the cell was read.

    '12 W 3h' waiting, '5 ▶ 3h' in work, '8 DLY MAT' delayed, '+3R' rejected units awaiting a
    decision, '✓' done, '·' not reached yet, blank when the stage is not on the job's routing.
    Called 20,000 times for a first paint, so it stays lean. The shared constants are never changed.
    """
    if not cell.state:
        return _BLANK
    if cell.pending <= 0 and cell.awaiting <= 0:
        return _DONE if cell.state == "done" else _NOT_YET
    text = Text()
    if cell.pending > 0:
        waited = (cell.waiting_seconds or 0.0) + later
        style = styles[min(bisect.bisect_right(limits, waited), len(styles) - 1)]
        if cell.state == "delayed":
            # With rejects awaiting a decision the reason code makes way for '+3R' (the cell is
            # 11 wide); the Delays view and the job view name the reason.
            code = "" if cell.awaiting > 0 else cell.delay_code or ""
            text.append(f"{cell.pending} DLY {code}".rstrip(), style=f"{style} bold underline")
        elif cell.state == "in work":
            text.append(f"{cell.pending} ▶ {short_age(waited)}", style=style)
        else:
            text.append(f"{cell.pending} W {short_age(waited)}", style=style)
    elif cell.state == "delayed":
        code = "" if cell.awaiting > 0 else cell.delay_code or ""
        text.append(f"DLY {code}".rstrip(), style="bold underline")
    if cell.awaiting > 0:
        text.append(f"{' ' if text else ''}+{cell.awaiting}R", style="bold magenta")
    return text


def job_cell(row: WipRow, width: int) -> Cell:
    """Priority, number and the two marks a supervisor must see without scrolling: LATE, HOLD."""
    text = Text()
    text.append(f"{row.priority} ", style="bold" if row.priority < 5 else "")
    text.append(row.number.ljust(width), style="bold")  # a job number is user data: plain text
    if "on hold" in row.flags:
        text.append(" HOLD", style="bold black on bright_white")
    if "late" in row.flags:
        text.append(" LATE", style="bold white on red")
    return Cell(text, row_sort_key(row))


def row_sort_key(row: WipRow) -> tuple:
    """Board order: priority, planned completion (blank last), number; summary rows before jobs."""
    return (1, row.priority, row.planned_end is None, row.planned_end or dt.date.min, row.number)


# The flags in a few letters, first in the Status cell: the column gets what is left of the
# screen's width, and 'in progress · LATE, MA' hid the flags a supervisor looks for.
FLAG_CODES = {
    "delayed": "DLY",
    "late": "LATE",
    "material short": "MAT",
    "rework pending": "RWK",
    "priority changed": "PRIO",
    "on hold": "HOLD",
}


def status_text(row: WipRow) -> Text:
    """'LATE RWK · in progress': the flags' short codes (docs/board.md), then the status in words."""
    text = Text()
    if row.flags:
        text.append(" ".join(FLAG_CODES.get(flag, flag.upper()) for flag in row.flags), style="bold")
        text.append(" · ")
    text.append(row.status)
    return text


def summary_label(text: str, index: int) -> Cell:
    return Cell(Text(text, style="bold"), (0, index))


SUMMARY_LABELS = ("Pending qty", "Jobs waiting", "Oldest / avg", "Done this shift")


def summary_cells(s: StageSummary | None) -> tuple[Text, Text, Text, Text]:
    """(pending quantity, jobs waiting with delayed ones, oldest / average wait, done this shift)."""
    if s is None:
        return Text(""), Text(""), Text(""), Text("")
    jobs = Text(str(s.jobs_waiting), style="bold")
    if s.jobs_delayed:
        jobs.append(" ")
        jobs.append(f"{s.jobs_delayed}DLY", style="bold underline")
    waits = Text(f"{short_age(s.oldest_seconds) or '—'} / {short_age(s.average_seconds) or '—'}")
    return Text(str(s.pending), style="bold"), jobs, waits, Text(str(s.completed_this_shift))


def bar(value: float, maximum: float, width: int, style: str = "") -> Text:
    """A horizontal bar of `width` cells at most, in eighths of a cell."""
    if maximum <= 0 or value <= 0 or width <= 0:
        return Text("")
    eighths = max(1, round(value / maximum * width * 8))
    full, part = divmod(eighths, 8)
    return Text("█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else ""), style=style)


def plant_stamp(moment: dt.datetime | None, tz, *, today: dt.date | None = None) -> str:
    """'today 14:02', else 'Mon 23 Nov 14:02', in plant time."""
    local = to_plant(moment, tz)
    if local is None:
        return "—"
    if today is not None and local.date() == today:
        return local.strftime("today %H:%M")
    return local.strftime("%a %d %b %H:%M")


def history_cells(
    entry: dict, labels: dict[tuple[str, str], str], tz, today: dt.date, voided_kind: str | None = None
) -> list[Text]:
    """One history entry as table cells: when, what, qty, step, reason, who, terminal, note.

    Voided entries are struck through and say why; a void says which entry it cancelled.
    """
    kind = entry["kind"]
    what = HISTORY_WORDS.get(kind, kind)
    qty = str(entry["qty"]) if entry["qty"] and kind not in ("delay", "resume", "note", "hold", "unhold") else ""
    step = entry["step"] or ""
    if entry.get("to_step") and kind == "rework":
        step = f"{step} → {entry['to_step']}"
    reason = ""
    if entry["reason"]:
        reason = labels.get((kind, entry["reason"]), entry["reason"])
    elif entry["item"]:
        reason = entry["item"] + (f" → {entry['item2']}" if entry.get("item2") else "")
    who = f"{entry['operator']} ({entry['badge']})"
    if entry.get("login_user"):
        who += f" via {entry['login_user']}"
    note = entry["note"] or ""
    if kind == "priority":
        qty = ""
        what = f"Priority → {entry['qty']}"
    if entry.get("reference"):
        what += f" · ref {entry['reference']}"
    when = plant_stamp(entry["committed_at"], tz, today=today)
    entered = entered_at_terminal(entry.get("client_time"), entry["committed_at"], tz)
    if entered:  # queued offline and replayed later, or the terminal's clock is off
        when += f" ({entered})"
    cells = [
        Text(when),
        Text(what),
        Text(qty),
        Text(step),
        Text(reason),
        Text(who),
        Text(entry["terminal"] or "—"),
        Text(note),
    ]
    if entry["voided"]:
        for cell in cells:
            cell.stylize("strike dim")
        cells[7] = Text("VOIDED: ", style="bold") + Text(entry["void_reason"] or "")
        if note:
            cells[7].append(f" (was: {note})", style="strike dim")
    elif kind == "void":
        cells[1] = Text(f"VOID: {HISTORY_WORDS.get(voided_kind or '', 'an entry')}", style="bold")
    return cells


def duration(seconds: float | None) -> str:
    """Long form for lists: '2 d 3 h'; '—' when unknown."""
    return format_duration(seconds) or "—"


# The footer's words below ~100 columns, and the order keys are left out when even those do not
# fit (the least needed first: the tabs already show the view numbers; `?` lists every key).
SHORT_KEY_WORDS = {
    "find job": "find",
    "open job": "open",
    "priority": "prio",
    "hold/release": "hold",
    "void entry": "void",
    "yesterday": "yday",
}
DROP_FIRST = ("views", "find", "find job", "range", "yesterday", "yday", "legend", "lists")


def key_items_text(keys: list[tuple[str, str]], compact: bool = False) -> Text:
    """Footer keys: each key in reverse video with its words beside it, never wrapped."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for key, words in keys:
        if key:
            text.append(f" {key} ", style="bold reverse")
        text.append(f"{words} " if compact and key else f" {words} ")
    return text


def fit_keys(keys: list[tuple[str, str]], width: int) -> tuple[Text, list[tuple[str, str]]]:
    """The footer on one line of `width` columns: full words; else short ones with less space;
    else without the least needed keys and with "? keys" (the `?` key lists them all).
    Returns the line and the keys left out (empty when every key is shown)."""
    text = key_items_text(keys)
    if text.cell_len <= width:
        return text, []
    short = [(key, SHORT_KEY_WORDS.get(words, words)) for key, words in keys]
    text = key_items_text(short, compact=True)
    if text.cell_len <= width:
        return text, []
    kept = [item for item in short if item[0] != "?"]
    dropped: list[tuple[str, str]] = []
    order = [item for name in DROP_FIRST for item in kept if item[1] == name] + kept[::-1]
    for item in order:
        if key_items_text([*kept, ("?", "keys")], compact=True).cell_len <= width:
            break
        if item in kept:
            kept.remove(item)
            dropped.append(item)
    # Left out: the keys dropped, and the words of a `?` key that now says "keys".
    left_out = {d[0] for d in dropped} | {"?"}
    return key_items_text([*kept, ("?", "keys")], compact=True), [k for k in keys if k[0] in left_out]
