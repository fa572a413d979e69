"""The one Textual app: launcher, kiosk and board are screens of it.

The app opens the store and hands screens a `Services` bundle (ledger, queries, config).
Screens call the ledger and the queries; they never touch the peewee models.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from textual.app import App

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


class FloortermApp(App):
    """floorterm's screens. `mode` picks the first screen: launcher, kiosk or board."""

    CSS_PATH = "floorterm.tcss"
    TITLE = "floorterm"
    # Shop-floor terminals are locked down: no command palette, no screenshots to files.
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, config: Config, store_url: str, *, mode: str = "launcher", terminal: str | None = None,
                 unlocked: bool = False, tv: bool = False, clock: Callable[[], dt.datetime] = utcnow,
                 store: Store | None = None):
        super().__init__()
        self.config = config
        self.store_url = store_url
        self.mode = mode
        self.terminal_id = terminal
        self.unlocked = unlocked
        self.tv = tv
        self._store = store
        self._owns_store = store is None
        self.clock = clock
        self.services: Services | None = None

    def on_mount(self) -> None:
        if self._store is None:
            self._store = Store.open(self.store_url)
        self.services = Services(
            config=self.config, store_url=self.store_url,
            ledger=Ledger(self._store, self.config, clock=self.clock),
            queries=Queries(self.config, clock=self.clock), clock=self.clock,
        )
        self.push_screen(self.first_screen())

    def first_screen(self):
        from floorterm.screens.launcher import LauncherScreen

        return LauncherScreen(self.services)

    def on_unmount(self) -> None:
        if self._owns_store and self._store is not None:
            self._store.close()


def run_app(config: Config, store_url: str, *, mode: str = "launcher", terminal: str | None = None,
            unlocked: bool = False, tv: bool = False) -> int:
    """Run the app in this terminal until it exits; returns the exit code."""
    app = FloortermApp(config, store_url, mode=mode, terminal=terminal, unlocked=unlocked, tv=tv)
    app.run()
    return app.return_code or 0
