"""Helpers for the kiosk tests (no tests here): run a kiosk under the Pilot, type, scan, read.

Import the fixtures into a test module with `from test_kiosk_helpers import open_kiosk, job_at, ...`.
The tests run on SQLite (`kiosk_url`); a module that overrides `kiosk_url` with `store_url`
runs on PostgreSQL too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from contextlib import asynccontextmanager

import pytest

from textual import events
from textual.keys import _character_to_key

from floorterm.ledger import Ledger
from floorterm.screens.app import FloortermApp
from floorterm.store import Store

from conftest import OPERATORS, SUPERVISOR, job_factory


_KEY_NAMES = {ch: _character_to_key(ch) for ch in " -+*/$:.[]_#~"}


class Kiosk:
    """A running kiosk app: press keys, type, scan, and read what the screen shows."""

    def __init__(self, app: FloortermApp, pilot):
        self.app = app
        self.pilot = pilot
        self.keystrokes = 0  # keys pressed by a person (a scan counts as one)

    @property
    def screen(self):
        return self.app.screen

    async def settle(self, timeout: float = 15.0) -> None:
        """Wait until the kiosk has no store work in flight and no queued keys."""
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while True:
            await self.pilot.pause()
            screen = self.app.screen
            if not getattr(screen, "busy", None) and not getattr(screen, "_queued", None):
                break
            if loop.time() > end:
                raise AssertionError(f"the kiosk is still busy ({screen.busy}) after {timeout} s")
            await asyncio.sleep(0.005)
        await self.pilot.pause()

    async def press(self, *keys: str) -> None:
        """Keys one at a time through the Pilot, each handled before the next (a person)."""
        self.keystrokes += len(keys)
        await self.pilot.press(*keys)
        await self.settle()

    async def burst(self, *keys: str) -> None:
        """Keys sent back to back without waiting, as a scanner or a fast typist sends them."""
        for key in keys:
            name = _KEY_NAMES.get(key, key)
            char = key if len(key) == 1 else ("\r" if key == "enter" else None)
            event = events.Key(name, char)
            event.set_sender(self.app)
            self.app._driver.send_message(event)
        await self.settle()

    async def type(self, text: str) -> None:
        """Type characters (each is a keystroke)."""
        self.keystrokes += len(text)
        await self.burst(*text)

    async def scan(self, text: str) -> None:
        """A barcode scan: the characters and the Enter suffix, counted as one action."""
        self.keystrokes += 1
        await self.burst(*text, "enter")

    def text(self) -> str:
        """What the terminal shows, as plain text lines."""
        strips = self.app.screen._compositor.render_strips()
        return "\n".join(strip.text for strip in strips)

    def flat(self) -> str:
        """The screen text with borders removed and all whitespace (line wraps too) as one space."""
        text = re.sub(r"[┃┏┓┗┛━│║╔╗╚╝═▌▐█▊▎▔▁]", " ", self.text())
        return " ".join(text.split())

    def message(self) -> str:
        return str(self.app.screen.query_one("#kiosk-message").render())

    @property
    def line(self) -> str:
        return self.app.screen.editor.text

    @property
    def step(self) -> str:
        return self.app.screen.step


async def signed_in(k: Kiosk, badge: str = "W1") -> None:
    """Sign in with a badge and check the kiosk is at the job prompt."""
    await k.scan(badge)
    assert k.step == "job", k.text()


async def synced(k: Kiosk, timeout: float = 30.0) -> None:
    """Run the kiosk's background outbox replay now (after any already running) and wait for it."""

    async def idle() -> None:
        end = asyncio.get_running_loop().time() + timeout
        while k.screen._syncing:
            assert asyncio.get_running_loop().time() < end, "the outbox replay did not finish"
            await k.pilot.pause(0.01)

    await idle()
    k.screen.sync_outbox()
    await idle()
    await k.settle()


@pytest.fixture
def kiosk_url(sqlite_url):
    """The store the kiosk tests use: SQLite; a module overrides this with `store_url` to run
    on both backends (the kiosk's logic does not depend on the backend, its store use does)."""
    return sqlite_url


@pytest.fixture
def kstore(kiosk_url):
    store = Store.open(kiosk_url)
    yield store
    store.close()


@pytest.fixture
def kledger(kstore, config, clock):
    """A ledger on the kiosk tests' store, with the demo badges of conftest.OPERATORS."""
    led = Ledger(kstore, config, clock=clock)
    led.import_operators(list(OPERATORS))
    return led


@pytest.fixture
def new_job(kledger):
    """Create a job (default: 20 of the standard routing, two material lines), maybe released."""
    return job_factory(kledger)


@pytest.fixture
def job_at(kledger, new_job, config):
    """A released job whose steps before `stage` are all complete: `job_at("WELD", qty=20)`."""

    def make(stage: str, qty: int = 20, routing: str = "standard", **fields) -> str:
        number = new_job(qty=qty, routing=routing, release=qty, **fields)
        for code in config.routing(routing).stages:
            if code == stage:
                break
            if config.stage(code).kind == "qc":
                kledger.qc_pass(number, code, qty, actor=SUPERVISOR)
            else:
                kledger.complete(number, code, qty, actor=SUPERVISOR)
        return number

    return make


@pytest.fixture
def open_kiosk(config, kstore, kiosk_url, clock, kledger):
    """`async with open_kiosk("WELD-1") as k:` a kiosk on the test store with the fake clock."""

    @asynccontextmanager
    async def opener(terminal: str = "WELD-1", *, size=(80, 24), unlocked: bool = True, cfg=None):
        app = FloortermApp(
            cfg or config, kiosk_url, mode="kiosk", terminal=terminal, unlocked=unlocked, clock=clock, store=kstore
        )
        async with app.run_test(size=size) as pilot:
            kiosk = Kiosk(app, pilot)
            await kiosk.settle()
            yield kiosk
            screen = app.screen
            assert not getattr(screen, "unexpected", []), f"unexpected errors: {screen.unexpected}"

    return opener


def with_terminal(config, terminal_id: str, **changes):
    """A copy of the config with one terminal changed (e.g. badge_required=False)."""
    terminals = tuple(dataclasses.replace(t, **changes) if t.id == terminal_id else t for t in config.terminals)
    return dataclasses.replace(config, terminals=terminals)


def events_of(queries, job: str, kind: str | None = None) -> list[dict]:
    """The job's entries (newest first), optionally of one kind, voided ones included."""
    return [e for e in queries.history(job) if kind is None or e["kind"] == kind]
