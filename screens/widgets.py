"""Widgets shared by the kiosk and the board. User data is always plain text, never markup."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from floorterm.clock import format_duration, to_plant
from floorterm.queries import JobCard

STATE_STYLE = {
    "waiting": "bold yellow",
    "in work": "bold cyan",
    "delayed": "bold white on red",
    "done": "green",
    "idle": "dim",
}


def card_renderable(card: JobCard, tz, highlight: tuple[str, ...] = ()) -> Table:
    """The job card as a Rich table: header lines, then one row per step of the routing."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(ratio=1)
    head = Text()
    head.append(f"Job {card.number}", style="bold reverse")
    head.append(f"  {card.status_text}", style="bold")
    if card.flags:
        head.append("  ⚑ " + ", ".join(card.flags).upper(), style="bold red")
    grid.add_row(head)
    info = Text()
    info.append(f"{card.customer} · {card.product} · order {card.order_ref or '—'}\n")
    planned_end = card.planned_end.isoformat() if card.planned_end else "—"
    late = " LATE" if "late" in card.flags else ""
    info.append(f"Qty {card.qty}  released {card.released}  priority {card.priority}  "
                f"planned {card.planned_start or '—'} → {planned_end}{late}")
    grid.add_row(info)
    steps = Table(expand=True, box=None, padding=(0, 1), show_edge=False)
    for name, justify in (("Step", "left"), ("Recv", "right"), ("Done", "right"), ("Rej", "right"),
                          ("Pend", "right"), ("State", "left")):
        steps.add_column(name, justify=justify, no_wrap=True)
    for s in card.steps:
        marker = "▶ " if s.stage in highlight else "  "
        state = s.state
        if s.open_delay:
            state = f"DELAYED {s.open_delay.label} {format_duration(s.open_delay.seconds)}"
        elif s.state == "waiting" and s.waiting_seconds is not None:
            state = f"waiting {format_duration(s.waiting_seconds)}"
        if s.awaiting:
            state += f" · {s.awaiting} rejected await decision"
        style = "reverse" if s.stage in highlight else ""
        steps.add_row(Text(marker + s.name), str(s.received), str(s.completed), str(s.rejected), str(s.pending),
                      Text(state, style=STATE_STYLE.get(s.state, "")), style=style)
    grid.add_row(steps)
    short = [f"{m.item} short {m.short} {m.unit}" for m in card.material if m.short]
    extra = Text()
    extra.append(f"QC: {card.qc}\nDispatch: {card.dispatch_status}\n")
    extra.append("Material: " + ("; ".join(short) if short else "complete"), style="bold red" if short else "")
    if card.inspection:
        extra.append(f"\nInspection: {card.inspection}")
    if card.notes:
        extra.append(f"\nNotes: {card.notes}")
    grid.add_row(extra)
    return grid


class JobCardView(Static):
    """Shows one job card; `show(card)` replaces it."""

    def __init__(self, tz, **kwargs):
        super().__init__("", **kwargs)
        self.tz = tz

    def show(self, card: JobCard, highlight: tuple[str, ...] = ()) -> None:
        self.update(card_renderable(card, self.tz, highlight))


def plant_time(moment, tz) -> str:
    local = to_plant(moment, tz)
    return local.strftime("%a %H:%M") if local else "—"
