"""The demo launcher: pick a terminal to run as a kiosk, or the board; badges and jobs to try.

Highlighting a terminal shows the badges that may record there and jobs that have work
there, so a newcomer can try every flow without reading anything first.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

# Which roles can record at a terminal of each kind (supervisors anywhere).
KIND_ROLES = {"kiosk": ("operator", "supervisor"), "qc": ("qc", "supervisor"), "stores": ("stores", "supervisor")}


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
                yield Static(
                    "Pick a terminal: ↑↓ then Enter.  In a kiosk: scan or type a badge, Enter; "
                    "a job number, Enter; Enter again records 'complete all'.  Esc at the badge "
                    "prompt comes back here.",
                    classes="title",
                )
                options = [Option(Text("Board — live WIP board"), id="board")]
                for t in config.terminals:
                    if t.kind == "board":
                        continue
                    stages = ", ".join(config.stage(code).name for code in t.stages)
                    options.append(Option(Text(f"{t.id:<9} {t.name} ({t.kind}: {stages})"), id=f"kiosk:{t.id}"))
                yield OptionList(*options, id="terminals")
            with Vertical(id="launcher-right"):
                yield Static(Text("Highlight a terminal to see badges and jobs to try"), id="try")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"floorterm — {self.services.config.plant_name}"
        self.query_one("#terminals").focus()

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        choice = event.option.id or ""
        self.run_worker(self._show_try(choice), exclusive=True, group="try")

    async def _show_try(self, choice: str) -> None:
        loop = asyncio.get_running_loop()
        text = await loop.run_in_executor(self.services.executor, lambda: self._try_text(choice))
        self.query_one("#try", Static).update(text)

    def _try_text(self, choice: str) -> Text:
        """On the store thread: badges and jobs for the highlighted choice, as plain text."""
        config, queries = self.services.config, self.services.queries
        operators = queries.operators()
        text = Text()
        if not choice.startswith("kiosk:"):
            text.append("Board: every open job, where it waits and why\n\n", style="bold")
            text.append("Supervisor badges (to resume, hold, void on the board)\n", style="bold")
            for op in operators:
                if op.role == "supervisor":
                    text.append(f"  {op.badge:<8} {op.name}\n")
            return text
        terminal = config.terminal(choice.split(":", 1)[1])
        roles = KIND_ROLES.get(terminal.kind, ())
        text.append(f"{terminal.id} · {terminal.name}\n\n", style="bold")
        text.append("Badges that record here\n", style="bold")
        fitting = [op for op in operators if op.role in roles]
        for op in sorted(fitting, key=lambda o: roles.index(o.role))[:6]:
            text.append(f"  {op.badge:<8} {op.name:<20} {op.role}\n")
        viewer = next((op for op in operators if op.role == "viewer"), None)
        if viewer:
            text.append(f"  {viewer.badge:<8} {viewer.name:<20} viewer (looks only)\n")
        text.append("\nJobs with work here\n", style="bold")
        jobs = []
        if terminal.kind == "stores":
            jobs = queries.list_jobs(status="planned", limit=3) + queries.list_jobs(stage=terminal.stages[0], limit=3)
        else:
            for stage in terminal.stages:
                jobs += queries.list_jobs(stage=stage, limit=6)
        for job in jobs[:6]:
            flags = f" ({', '.join(job.flags)})" if job.flags else ""
            text.append(f"  {job.number:<10} {job.status}{flags}\n")
        if not jobs:
            text.append("  none at the moment\n")
        return text

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        choice = event.option.id or ""
        if choice.startswith("kiosk:"):
            from floorterm.screens.kiosk import KioskScreen

            # Run from the demo: unlocked, and Esc at the badge prompt comes back here.
            self.app.push_screen(KioskScreen(self.services, choice.split(":", 1)[1], unlocked=True, from_launcher=True))
        else:
            from floorterm.screens.app import board_screen

            self.app.push_screen(board_screen(self.services))
