"""The demo launcher: pick a terminal to run as a kiosk, or the board; badges and jobs to try."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option


class LauncherScreen(Screen):
    """First screen of `floorterm demo`."""

    BINDINGS = [("q", "app.quit", "Quit")]

    def __init__(self, services):
        super().__init__()
        self.services = services

    def compose(self) -> ComposeResult:
        config = self.services.config
        yield Header(show_clock=False)
        with Horizontal(id="launcher"):
            with Vertical(id="launcher-left"):
                yield Static("Pick a terminal (↑↓ then Enter)", classes="title")
                options = [Option(Text("Board — live WIP board"), id="board")]
                for t in config.terminals:
                    if t.kind == "board":
                        continue
                    stages = ", ".join(config.stage(code).name for code in t.stages)
                    options.append(Option(Text(f"{t.id:<9} {t.name} ({t.kind}: {stages})"), id=f"kiosk:{t.id}"))
                yield OptionList(*options, id="terminals")
            with Vertical(id="launcher-right"):
                yield Static(self._badges(), id="badges")
                yield Static(self._jobs(), id="jobs")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"floorterm — {self.services.config.plant_name}"
        self.query_one("#terminals").focus()

    def _badges(self) -> Text:
        text = Text("Demo badges\n", style="bold")
        for op in self.services.queries.operators():
            text.append(f"{op.badge:<7} {op.name:<18} {op.role}\n")
        return text

    def _jobs(self) -> Text:
        text = Text("Jobs to try\n", style="bold")
        for job in self.services.queries.list_jobs(limit=8):
            where = job.current_stage or "—"
            text.append(f"{job.number:<9} {job.status:<18} at {where}\n")
        return text

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        from floorterm.screens.lookup import LookupScreen

        choice = event.option.id or ""
        terminal = choice.split(":", 1)[1] if choice.startswith("kiosk:") else None
        self.app.push_screen(LookupScreen(self.services, terminal=terminal))
