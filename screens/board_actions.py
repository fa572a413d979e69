"""The board's small forms (badge, priority, reasons, date range) and who may do what.

Each form is a modal screen with one or more lines to fill in; Enter moves to the next line
and on the last one submits, Esc cancels. Values are checked with the core's parsers before
the form closes, so a mistake is shown right there. The ledger checks roles again on write.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from floorterm.errors import InputError
from floorterm.inputs import clean_text, parse_badge, parse_date, parse_priority
from floorterm.ledger import ROLE_KINDS
from floorterm.scan import parse_scan

# Board action -> the ledger kinds it records.
ACTION_KINDS = {"resume": ("resume",), "priority": ("priority",), "hold": ("hold", "unhold"), "void": ("void",)}
ACTION_WORDS = {
    "resume": "resume a delay",
    "priority": "change a job's priority",
    "hold": "put a job on hold or release it",
    "void": "void an entry",
}


def allowed_actions(role: str | None) -> tuple[str, ...]:
    """Board actions this role may take (the ledger's own role table decides)."""
    kinds = ROLE_KINDS.get(role or "", frozenset())
    return tuple(action for action, needs in ACTION_KINDS.items() if all(k in kinds for k in needs))


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    parse: Callable[[str], object]
    value: str = ""
    placeholder: str = ""


def badge_from_scan(text: str, prefix: str = "") -> str:
    """A badge typed, or scanned plain or as $B:..."""
    scan = parse_scan(text, prefix=prefix)
    if scan.kind == "badge":
        return str(scan.value)
    if scan.kind != "plain":
        raise InputError("That barcode is not a badge: scan your badge")
    return parse_badge(str(scan.value))


def required_reason(text: str) -> str:
    reason = clean_text(text, field="reason")
    if not reason:
        raise InputError("Give a reason: it is kept with the entry")
    return reason


def optional_note(text: str) -> str:
    return clean_text(text, field="note")


def priority_value(text: str) -> int:
    return parse_priority(text)


def date_value(label: str) -> Callable[[str], object]:
    return lambda text: parse_date(text, field=label)


class BoardForm(ModalScreen):
    """A title, context lines and fields; dismisses with {name: parsed value} or None on Esc."""

    CSS_PATH = "board.tcss"
    AUTO_FOCUS = "Input"
    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(
        self,
        title: str,
        context: Text | None,
        fields: list[Field],
        *,
        submit: str = "save",
        check: Callable[[dict], None] | None = None,
    ):
        super().__init__()
        self.form_title = title
        self.context = context
        self.fields = fields
        self.submit = submit
        self.check = check

    def compose(self) -> ComposeResult:
        with Vertical(id="form-box"):
            yield Static(Text(self.form_title, style="bold"), id="form-title")
            if self.context is not None:
                yield Static(self.context, id="form-context")
            for field in self.fields:
                yield Static(Text(field.label), classes="form-label")
                yield Input(
                    value=field.value, placeholder=field.placeholder, id=f"form-{field.name}", select_on_focus=False
                )
            yield Static("", id="form-error")
            yield Static(Text(f"Enter = next / {self.submit}   Esc = cancel, nothing is written"), id="form-help")

    def on_mount(self) -> None:
        for box in self.query(Input):
            box.cursor_blink = False  # calm on slow terminals and in snapshots

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        boxes = list(self.query(Input))
        index = boxes.index(event.input)
        if index < len(boxes) - 1:
            boxes[index + 1].focus()
            return
        values = {}
        for field, box in zip(self.fields, boxes):
            try:
                values[field.name] = field.parse(box.value)
                if self.check is not None and field is self.fields[-1]:
                    self.check(values)
            except InputError as exc:
                self._error(str(exc))
                box.focus()
                return
        self.dismiss(values)

    def _error(self, message: str) -> None:
        error = self.query_one("#form-error", Static)
        error.update(Text(message))  # may repeat what was typed: plain text
        error.add_class("-shown")

    def action_cancel(self) -> None:
        self.dismiss(None)
