"""Job lookup: scan or type a job number and see its card (read only)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Static

from floorterm.errors import FloortermError
from floorterm.screens.widgets import JobCardView


class LookupScreen(Screen):
    """Find any job by number; shows the card of the job with this terminal's steps marked."""

    BINDINGS = [("escape", "app.pop_screen", "Back")]

    def __init__(self, services, terminal: str | None = None):
        super().__init__()
        self.services = services
        self.terminal = services.config.terminal(terminal) if terminal else None

    def compose(self) -> ComposeResult:
        yield Header(show_clock=True)
        yield Input(placeholder="Scan or type job number, then Enter", id="job-input")
        yield Static("", id="message")
        with VerticalScroll():
            yield JobCardView(self.services.config.tz, id="card")
        yield Footer()

    def on_mount(self) -> None:
        where = self.terminal.name if self.terminal else "any stage"
        self.title = f"Job lookup — {where}"
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        message = self.query_one("#message", Static)
        try:
            card = self.services.queries.job_card(event.value)
        except FloortermError as exc:
            message.update(Text(str(exc)))  # may echo what was typed: never markup
            message.set_classes("error")
            return
        message.update("")
        message.set_classes("")
        highlight = self.terminal.stages if self.terminal else ()
        self.query_one("#card", JobCardView).show(card, highlight)
        event.input.value = ""
