"""The demo launcher: pick a terminal to run as a kiosk, or the board; badges and jobs to try.

Highlighting a terminal shows the badges that may record there and jobs that have work
there (the board: jobs by situation), so a newcomer can try every flow without reading
anything first. The list on the right scrolls (PgUp / PgDn, or Tab into it): at 80x24 it
is longer than the screen.
"""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from floorterm.queries import FLAGS

# Which roles can record at a terminal of each kind (supervisors anywhere).
KIND_ROLES = {"kiosk": ("operator", "supervisor"), "qc": ("qc", "supervisor"), "stores": ("stores", "supervisor")}
# Situations worth a look on the board, besides the flags: the first open job in each status.
TRY_STATUSES = ("planned", "released", "QC pending", "ready for dispatch")
JOBS_HERE = 8  # jobs listed for one terminal


class LauncherScreen(Screen):
    """First screen of `floorterm demo`."""

    DEFAULT_CSS = """
    #launcher-body { height: 1fr; }
    #launcher-pick { width: 40; }
    #launcher-try { width: 1fr; height: 1fr; padding: 0 1; border-left: solid $primary; scrollbar-size-vertical: 1; }
    #try { height: auto; }
    """
    BINDINGS = [
        ("q", "app.quit", "Quit"),
        # Priority: the terminal list keeps the focus (and would page itself); the right side scrolls.
        Binding("pagedown", "scroll_try(1)", "Scroll the list", priority=True),
        Binding("pageup", "scroll_try(-1)", "Back", show=False, priority=True),
    ]

    def __init__(self, services):
        super().__init__()
        self.services = services

    def compose(self) -> ComposeResult:
        config = self.services.config
        yield Header(show_clock=False)
        with Horizontal(id="launcher-body"):
            with Vertical(id="launcher-pick"):
                yield Static(
                    "↑↓ pick, Enter opens. In a kiosk: a badge, Enter; a job number, Enter. "
                    "Esc at the badge prompt comes back here.",
                    classes="title",
                )
                options = [Option(Text("Board    live WIP board"), id="board")]
                for t in config.terminals:
                    if t.kind == "board":
                        continue
                    options.append(Option(Text(f"{t.id:<9}{t.name}"), id=f"kiosk:{t.id}"))
                yield OptionList(*options, id="terminals")
            with VerticalScroll(id="launcher-try"):
                yield Static(Text("Highlight a terminal to see badges and jobs to try"), id="try")
        yield Footer()

    def on_mount(self) -> None:
        self.title = f"floorterm demo — {self.services.config.plant_name}"
        self.query_one("#terminals").focus()

    def action_scroll_try(self, pages: int) -> None:
        """PgDn / PgUp scroll the badges and jobs on the right while the terminal list keeps the focus."""
        right = self.query_one("#launcher-try", VerticalScroll)
        if pages > 0:
            right.scroll_page_down(animate=False)
        else:
            right.scroll_page_up(animate=False)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        choice = event.option.id or ""
        self.run_worker(self._show_try(choice), exclusive=True, group="try")

    async def _show_try(self, choice: str) -> None:
        loop = asyncio.get_running_loop()
        text = await loop.run_in_executor(self.services.executor, lambda: self._try_text(choice))
        self.query_one("#try", Static).update(text)
        self.query_one("#launcher-try", VerticalScroll).scroll_home(animate=False)

    def _try_text(self, choice: str) -> Text:
        """On the store thread: badges and jobs for the highlighted choice, as plain text."""
        config, queries = self.services.config, self.services.queries
        operators = queries.operators()
        text = Text()
        if not choice.startswith("kiosk:"):
            text.append("Board: every open job, where it waits and why\n", style="bold")
            text.append("/ finds a job; 1-6 switch views\n\n")
            text.append("Jobs to try\n", style="bold")
            jobs = queries.list_jobs()
            for situation in (*FLAGS, *TRY_STATUSES):
                job = next((j for j in jobs if situation in j.flags or j.status == situation), None)
                if job is not None:
                    text.append(f"  {situation:<18} {job.number}\n")
            text.append("\nSupervisor badges\n", style="bold")
            text.append("(resume, hold, void on the board)\n")
            for op in operators:
                if op.role == "supervisor":
                    text.append(f"  {op.badge:<6} {op.name}\n")
            return text
        terminal = config.terminal(choice.split(":", 1)[1])
        roles = KIND_ROLES.get(terminal.kind, ())
        stages = ", ".join(config.stage(code).name for code in terminal.stages)
        text.append(f"{terminal.id} · {terminal.name}\n", style="bold")
        text.append(f"{terminal.kind} for {stages}\n\n")
        jobs = []
        if terminal.kind == "stores":
            jobs = queries.list_jobs(status="planned", limit=4) + queries.list_jobs(stage=terminal.stages[0], limit=4)
        else:
            for stage in terminal.stages:
                jobs += queries.list_jobs(stage=stage, limit=JOBS_HERE)
        first = next((op for role in roles for op in operators if op.role == role), None)
        if first is not None and jobs:
            text.append("Try: ", style="bold")
            text.append(f"badge {first.badge}, Enter; job {jobs[0].number}, Enter\n\n")
        text.append("Badges that record here\n", style="bold")
        for role in roles:
            fitting = sorted((op for op in operators if op.role == role), key=lambda o: o.name)
            text.append(f" {role}{' (anywhere)' if role == 'supervisor' else ''}\n", style="italic")
            for op in fitting:
                text.append(f"  {op.badge:<6} {op.name}\n")
            if not fitting:
                text.append("  none: floorterm operators add …\n")
        text.append("\nJobs with work here\n", style="bold")
        for job in jobs[:JOBS_HERE]:
            text.append(f"  {job.number:<9} {job.status}\n")
            if job.flags:
                text.append(f"  {'':<9} {', '.join(job.flags)}\n")
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
