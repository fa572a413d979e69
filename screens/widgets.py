"""Widgets shared by the kiosk and the board. User data is always plain text, never markup."""

from __future__ import annotations

import io

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.style import Style
from rich.text import Text
from textual.widgets import Static

from floorterm.clock import entered_at_terminal, format_duration, to_plant
from floorterm.queries import JobCard
from floorterm.screens.glyphs import glyph

STATE_STYLE = {
    "waiting": "bold yellow",
    "in work": "bold cyan",
    "delayed": "bold white on red",
    "done": "green",
    "idle": "dim",
    "at supplier": "bold magenta",
}


class Columns:
    """Rows of Text cells in aligned columns; the `flex` column takes the rest of the width
    and wraps. A plain replacement for rich.table.Table, which costs ~10 ms for a job card;
    this costs well under 1 ms, and the card is redrawn on every scan."""

    def __init__(
        self,
        headers: list[str],
        rows: list[list[Text]],
        *,
        right: frozenset[int] = frozenset(),
        flex: int = -1,
        row_styles: list[str] | None = None,
        title: Text | None = None,
        gap: int = 2,
    ):
        self.headers = headers
        self.rows = rows
        self.right = right
        self.flex = flex % len(headers)
        self.row_styles = row_styles or [""] * len(rows)
        self.title = title
        self.gap = gap

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        widths = [
            max([cell_len(self.headers[i])] + [cell_len(row[i].plain) for row in self.rows])
            for i in range(len(self.headers))
        ]
        fixed = sum(w for i, w in enumerate(widths) if i != self.flex) + self.gap * (len(widths) - 1)
        widths[self.flex] = max(8, width - fixed)
        if self.title is not None:
            yield self.title
        yield self._line([Text(h, style="bold") for h in self.headers], widths, "")
        for row, style in zip(self.rows, self.row_styles):
            wrapped = row[self.flex].wrap(console, widths[self.flex], overflow="fold")
            first = [*row]
            first[self.flex] = wrapped[0] if wrapped else Text("")
            yield self._line(first, widths, style)
            for more in list(wrapped)[1:]:
                yield self._line([more if i == self.flex else Text("") for i in range(len(row))], widths, style)

    def _line(self, cells: list[Text], widths: list[int], style: str) -> Text:
        line = Text(no_wrap=True, overflow="crop", end="\n")
        for i, (cell, w) in enumerate(zip(cells, widths)):
            cell = cell.copy()
            cell.truncate(w, overflow="ellipsis")
            pad = " " * (w - cell.cell_len)
            if i in self.right:
                line.append(pad)
                line.append_text(cell)
            else:
                line.append_text(cell)
                line.append(pad)
            if i < len(widths) - 1:
                line.append(" " * self.gap)
        if style:
            line.stylize(style)
        return line


def card_renderable(
    card: JobCard,
    tz,
    highlight: tuple[str, ...] = (),
    *,
    material_lines: bool = False,
    selected_item: str | None = None,
) -> Group:
    """The job card: header lines, then one row per step of the routing, then QC, material,
    inspection and notes. `material_lines` puts the numbered material list (for stores)
    right under the header, `selected_item` marks one of its lines."""
    head = Text()
    head.append(f"Job {card.number}", style="bold reverse")
    head.append(f"  {card.status_text}", style="bold")
    if card.flags:
        head.append(f"  {glyph('flag')} " + ", ".join(card.flags).upper(), style="bold red")
    parts = [head, _info(card)]
    if material_lines:
        parts.append(material_renderable(card, selected=selected_item))
    parts.append(_steps(card, highlight))
    parts.append(_extra(card, material_summary=not material_lines))
    return Group(*parts)


def job_delay_line(card: JobCard) -> Text | None:
    """Above the job card (kiosk and board): an open delay of the whole job (information: entries at steps go on)."""
    if card.job_delay is None:
        return None
    text = Text()
    text.append(f"{glyph('flag')} JOB DELAYED ", style="bold red")
    text.append(f"{card.job_delay.label} {format_duration(card.job_delay.seconds)}")
    text.append(" · whole job, entries go on")
    return text


def rework_line(card: JobCard) -> Text | None:
    """Under the job card (kiosk and board), beside its QC line: where the reworked units went."""
    if not card.rework:
        return None
    return Text(card.rework[:1].upper() + card.rework[1:])


def _info(card: JobCard) -> Text:
    info = Text()
    who = [part for part in (card.customer, card.product) if part]
    who.append(f"order {card.order_ref}" if card.order_ref else "no order ref")
    info.append(" · ".join(who) + "\n")
    if card.planned_start or card.planned_end:
        start = card.planned_start.isoformat() if card.planned_start else "—"
        end = card.planned_end.isoformat() if card.planned_end else "—"
        planned = f"planned {start} → {end}"
    else:
        planned = "no planned dates"
    info.append(f"Qty {card.qty}  released {card.released}  priority {card.priority}  {planned}")
    if "late" in card.flags:
        info.append(" LATE", style="bold red")
    where = owner_line(card)
    if where:
        info.append("\n" + where)
    return info


def owner_line(card: JobCard) -> str:
    """Where the job waits and who answers for it, e.g. 'Now at Welding · Welding bays 1-2 · Fabrication, S-0042'.

    Shown when the config names an owner or supervisor for that stage ([[stages]] owner, supervisor).
    """
    if not card.current_stage or not (card.owner or card.supervisor):
        return ""
    step = card.step(card.current_stage)
    who = ", ".join(part for part in (card.owner, card.supervisor and f"supervisor {card.supervisor}") if part)
    return " · ".join(part for part in (f"Now at {step.name}", card.work_centre, who) if part)


def _steps(card: JobCard, highlight: tuple[str, ...]) -> Columns:
    rows, styles = [], []
    for s in card.steps:
        here = s.stage in highlight
        state = s.state
        if s.open_delay:
            state = f"DELAYED {s.open_delay.label} {format_duration(s.open_delay.seconds)}"
        elif s.state == "waiting" and s.waiting_seconds is not None:
            state = f"waiting {format_duration(s.waiting_seconds)}"
        if s.outside is not None:  # units of an outside step at a supplier
            state = s.outside.text if s.state == "at supplier" else f"{state} · {s.outside.text}"
        if s.awaiting:
            state += f" · {s.awaiting} rejected await decision"
        rows.append(
            [
                Text((glyph("here") + " " if here else "  ") + s.name),
                Text(str(s.received)),
                Text(str(s.completed)),
                Text(str(s.rejected)),
                Text(str(s.pending)),
                Text(state, style=STATE_STYLE.get(s.state, "")),
            ]
        )
        styles.append("reverse" if here else "")
    return Columns(
        ["  Step", "Recv", "Done", "Rej", "Pend", "State"],
        rows,
        right=frozenset({1, 2, 3, 4}),
        row_styles=styles,
        gap=1,
    )


def _extra(card: JobCard, *, material_summary: bool) -> Text:
    extra = Text()
    extra.append(f"QC: {card.qc}   Dispatch: {card.dispatch_status}")
    if material_summary:
        short = [f"{m.item} short {m.short} {m.unit}" for m in card.material if m.short]
        if short:
            extra.append("\nMaterial SHORT: " + "; ".join(short), style="bold red")
        else:
            extra.append("\nMaterial: complete" if card.material else "\nMaterial: none listed")
        more = [f"{m.item} +{m.extra} {m.unit} extra" for m in card.material if m.extra]
        more += [f"{m.substitute_for} → {m.item} (substitute)" for m in card.material if m.substitute_for]
        if more:
            extra.append(" · " + "; ".join(more))
    if card.inspection:
        extra.append(f"\nInspection: {card.inspection}")
    if card.notes:
        extra.append(f"\nNotes: {card.notes}")
    return extra


def material_renderable(card: JobCard, *, selected: str | None = None) -> Columns | Text:
    """The job's material lines, numbered for picking, with the shortfall against the requirement."""
    if not card.material:
        return Text("This job lists no material")
    rows, styles = [], []
    for number, m in enumerate(card.material, start=1):
        if m.short:
            status = Text(f"SHORT {m.short} {m.unit}", style="bold red")
        else:
            status = Text("complete", style="green")
        if m.extra:  # issued beyond the bill of materials, with a reason
            status.append(f" +{m.extra} {m.unit} extra", style="bold")
        # The description column wraps: substitutions go there, the item column stays narrow.
        description = m.description
        if m.substitute_for:
            description = f"{m.substitute_for} → {m.item} (substitute)"
        elif m.substituted:
            description += f" ({m.substituted} {m.unit} by substitute)"
        marker = glyph("here") if m.item == selected else " "
        rows.append(
            [
                Text(f"{marker}{number}", style="bold"),
                Text(m.item),
                Text(description),
                Text(f"{m.needed} {m.unit}"),
                Text(f"{m.net_issued} {m.unit}"),
                status,
            ]
        )
        styles.append("reverse" if m.item == selected else "")
    return Columns(
        [" #", "Item", "Description", "Need", "Issued", "Status"],
        rows,
        right=frozenset({0, 3, 4}),
        flex=2,
        row_styles=styles,
        gap=1,
    )


def history_renderable(rows: list[dict], tz) -> Columns:
    """A job's latest entries (newest first), as Queries.history gives them."""
    cells = []
    for e in rows:
        when = to_plant(e["committed_at"], tz)
        what = Text(e["kind"].replace("_", " "))
        if e["voided"]:
            what.append(" (VOIDED)", style="bold")
        if e["note"]:
            what.append(f": {e['note']}")
        if e.get("reference"):
            what.append(f" · ref {e['reference']}")
        entered = entered_at_terminal(e.get("client_time"), e["committed_at"], tz)
        if entered:
            what.append(f" · {entered}", style="italic")
        cells.append(
            [
                Text(when.strftime("%d.%m %H:%M") if when else ""),
                what,
                Text(str(e["qty"] or "")),
                Text(e["step"] or ""),
                Text(e["reason"] or ""),
                Text(e["operator"]),
                Text(e["terminal"] or ""),
            ]
        )
    return Columns(
        ["When", "What", "Qty", "Step", "Reason", "Who", "Where"],
        cells,
        right=frozenset({2}),
        flex=1,
        title=Text("\nLatest entries on this job", style=Style(bold=True)),
    )


class JobCardView(Static):
    """Shows one job card; `show(card)` replaces it, and redraws only when what it shows changed
    (a card re-read every few seconds over SSH sends nothing while the job stands still)."""

    def __init__(self, tz, **kwargs):
        super().__init__("", **kwargs)
        self.tz = tz
        self._shown: str | None = None

    def show(self, card: JobCard, highlight: tuple[str, ...] = ()) -> None:
        renderable = card_renderable(card, self.tz, highlight)
        seen = rendered_text(renderable, self.size.width or 80)
        if seen == self._shown:
            return
        self._shown = seen
        self.update(renderable)


def rendered_text(renderable, width: int) -> str:
    """A renderable as the terminal would get it at this width, styles included (to compare two)."""
    console = Console(
        width=width, file=io.StringIO(), force_terminal=True, color_system="standard", legacy_windows=False
    )
    console.print(renderable)
    return console.file.getvalue()


def plant_time(moment, tz) -> str:
    local = to_plant(moment, tz)
    return local.strftime("%a %H:%M") if local else "—"
