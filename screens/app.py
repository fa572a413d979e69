"""The one Textual app: launcher, kiosk and board are screens of it.

The app opens the store and hands screens a `Services` bundle (ledger, queries, config).
Screens call the ledger and the queries; they never touch the peewee models.

Store work from screens runs on ONE store thread (`Services.executor`): the screen stays
live ("saving…") while the ledger retries a busy store, and the kiosk uses one database
connection for its whole life instead of one per worker thread.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from textual.app import App
from textual.binding import Binding

from floorterm.clock import utcnow
from floorterm.config import Config
from floorterm.ledger import Ledger
from floorterm.queries import Queries
from floorterm.store import Store


@dataclass
class Services:
    """What a screen needs from the core."""

    config: Config
    store_url: str
    ledger: Ledger
    queries: Queries
    clock: Callable[[], dt.datetime]
    executor: ThreadPoolExecutor | None = None  # the store thread: run reads and writes here
    store: Store | None = None  # handed on to the core (the kiosk's link to the store); screens never query it


class FloortermApp(App):
    """floorterm's screens. `mode` picks the first screen: launcher, kiosk or board."""

    # Absolute, so subclasses in other modules (office mode, tests, benches) find it too.
    CSS_PATH = str(Path(__file__).with_name("floorterm.tcss"))
    TITLE = "floorterm"
    # Shop-floor terminals are locked down: no command palette, no screenshots to files.
    ENABLE_COMMAND_PALETTE = False
    ESCAPE_TO_MINIMIZE = False
    # Textual 8.2.8's own bindings are ctrl+q (quit, priority) and ctrl+c (a "press ctrl+q"
    # hint); the Screen adds tab / shift+tab (focus) and ctrl+c (copy). Quitting goes through
    # request_quit, which on a locked kiosk asks for a supervisor's badge. Suspend (ctrl+z)
    # has no binding, and Textual turns the terminal's signal keys off (unless
    # TEXTUAL_ALLOW_SIGNALS is set, which run_app clears for a locked kiosk).
    BINDINGS = [
        Binding("ctrl+q", "request_quit", "Quit", show=False, priority=True),
        Binding("ctrl+c", "request_quit", show=False, system=True),
    ]

    def __init__(
        self,
        config: Config,
        store_url: str,
        *,
        mode: str = "launcher",
        terminal: str | None = None,
        unlocked: bool = False,
        tv: bool = False,
        clock: Callable[[], dt.datetime] = utcnow,
        store: Store | None = None,
    ):
        super().__init__()
        self.config = config
        self.store_url = store_url
        self.mode = mode
        self.terminal_id = terminal.strip().upper() if terminal else None
        self.unlocked = unlocked
        self.tv = tv
        self._store = store
        self._owns_store = store is None
        self.clock = clock
        self.services: Services | None = None
        self._executor: ThreadPoolExecutor | None = None

    @property
    def locked(self) -> bool:
        """A kiosk or a TV board on the floor: quitting needs a supervisor's badge."""
        return (self.mode == "kiosk" or (self.mode == "board" and self.tv)) and not self.unlocked

    def on_mount(self) -> None:
        if self._store is None:
            # A kiosk starts even while its PostgreSQL server is away: it has an offline copy.
            self._store = Store.open(self.store_url, allow_away=self.mode == "kiosk")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="floorterm-store")
        self.services = Services(
            config=self.config,
            store_url=self.store_url,
            ledger=Ledger(self._store, self.config, clock=self.clock),
            queries=Queries(self.config, clock=self.clock),
            clock=self.clock,
            executor=self._executor,
            store=self._store,
        )
        self.push_screen(self.first_screen())

    def first_screen(self):
        if self.mode == "kiosk":
            from floorterm.screens.kiosk import KioskScreen

            return KioskScreen(self.services, self.terminal_id, unlocked=self.unlocked)
        if self.mode == "board":
            return board_screen(self.services, terminal=self.terminal_id, tv=self.tv)
        from floorterm.screens.launcher import LauncherScreen

        return LauncherScreen(self.services)

    # -- lock-down ------------------------------------------------------------------------

    def action_request_quit(self) -> None:
        """Quit, or on a locked kiosk or TV board ask for a supervisor's badge first."""
        if not self.locked:
            self.exit()
            return
        ask_quit = getattr(self.screen, "ask_quit", None)  # KioskScreen and BoardScreen have one
        if ask_quit is not None:
            ask_quit()

    async def action_quit(self) -> None:
        self.action_request_quit()

    def action_suspend_process(self) -> None:
        if not self.locked:
            super().action_suspend_process()

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        if not self.locked:
            super().action_screenshot(filename, path)

    def action_command_palette(self) -> None:
        return None

    def on_unmount(self) -> None:
        if self._executor is not None:
            if self._store is not None:
                self._executor.submit(self._store.close)  # the store thread's own connection
            # No waiting here: a store job that needs the event loop would deadlock. The thread
            # finishes what it has (a write in flight lands whole); Python waits for it at exit.
            self._executor.shutdown(wait=False)
        if self._owns_store and self._store is not None:
            self._store.close()


def board_screen(services: Services, *, terminal: str | None = None, tv: bool = False):
    """The live WIP board."""
    from floorterm.screens.board import BoardScreen

    return BoardScreen(services, terminal=terminal, tv=tv)


def run_app(
    config: Config,
    store_url: str,
    *,
    mode: str = "launcher",
    terminal: str | None = None,
    unlocked: bool = False,
    tv: bool = False,
) -> int:
    """Run the app in this terminal until it exits; returns the exit code."""
    if mode == "kiosk":
        terminal = terminal.strip().upper() if terminal else None
        problem = kiosk_problem(config, terminal)
        if problem:
            print(problem, file=sys.stderr)
            return 2
    app = FloortermApp(config, store_url, mode=mode, terminal=terminal, unlocked=unlocked, tv=tv)
    if app.locked:
        os.environ.pop("TEXTUAL_ALLOW_SIGNALS", None)  # ctrl+z / ctrl+c must stay plain keys (read at run)
    app.run()
    return app.return_code or 0


def kiosk_problem(config: Config, terminal: str | None) -> str | None:
    """Why this terminal cannot run as a kiosk, in words; None if it can."""
    if not terminal:
        return "Say which terminal this is: floorterm kiosk --terminal ID"
    try:
        found = config.terminal(terminal)
    except KeyError:
        known = ", ".join(t.id for t in config.terminals if t.kind != "board") or "none"
        return f"Unknown terminal {terminal}; the configuration has: {known}"
    if found.kind == "board":
        return f"{found.id} is a board terminal: run floorterm board"
    return None
