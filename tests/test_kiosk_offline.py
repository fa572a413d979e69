"""The kiosk when its PostgreSQL store goes away (DESIGN.md §9), against a real server that the
test itself stops and starts (tests/pg_server.py): entries are QUEUED in the durable outbox,
survive the kiosk being killed, and are replayed exactly once when the store is back; an
entry the ledger refuses on replay is kept and shown on the kiosk and the board."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

import floorterm.screens.kiosk as kiosk_screen
from floorterm.ledger import Actor, JobSpec, Ledger
from floorterm.outbox import Outbox
from floorterm.queries import Queries
from floorterm.reports import Reports
from floorterm.store import Store, init_store

from conftest import OPERATORS, REPO, SUPERVISOR
from pg_server import own_pg  # noqa: F401 (fixture)
from test_kiosk_helpers import Kiosk, synced

pytestmark = pytest.mark.slow


def floorterm_command() -> list[str]:
    script = Path(sys.executable).with_name("floorterm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "floorterm"]


@pytest.fixture
def pg_shop(own_pg, config):
    """A fresh store database on the private server, with the test badges and J-8001 at Welding."""
    url = own_pg.create_database(f"offline_{uuid.uuid4().hex[:8]}")
    store, _ = init_store(url)
    ledger = Ledger(store, config)
    ledger.import_operators(list(OPERATORS))
    ledger.create_jobs([JobSpec(number="J-8001", qty=20, routing="weldment")])
    ledger.release("J-8001", 20, actor=SUPERVISOR)
    ledger.complete("J-8001", "CUT", 20, actor=SUPERVISOR)
    store.close()
    return url


class Driven:
    """tests/kiosk_driver.py in its own process."""

    def __init__(self, url: str, outbox_dir: Path, terminal: str = "WELD-1"):
        env = {**os.environ, "FLOORTERM_OUTBOX_DIR": str(outbox_dir), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "kiosk_driver.py"), url, terminal],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=REPO,
        )

    def send(self, line: str) -> dict:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline()
        if not reply:
            raise AssertionError(f"the kiosk process ended: {self.proc.stderr.read()[-3000:]}")
        return json.loads(reply)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=20)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill()


def kiosk_events(url: str, config) -> list[dict]:
    store = Store.open(url)
    try:
        return [e for e in Queries(config).history("J-8001") if e["terminal"] == "WELD-1"]
    finally:
        store.close()


def test_queued_while_the_server_is_down_survive_a_killed_kiosk_and_land_exactly_once(
    pg_shop, own_pg, config, tmp_path
):
    outbox_dir = tmp_path / "outbox"
    kiosk = Driven(pg_shop, outbox_dir)
    try:
        kiosk.send("ready")
        kiosk.send("scan W1")
        own_pg.stop()
        shown = []
        for qty in (2, 3, 4):
            kiosk.send("scan J-8001")
            kiosk.send(f"type {qty}")
            started = time.monotonic()
            reply = kiosk.send("press enter")
            shown.append((reply, time.monotonic() - started))
            kiosk.send("press enter")  # next job
        for (reply, seconds), waiting in zip(shown, (1, 2, 3)):
            assert "QUEUED — OFFLINE" in reply["screen"] and f"({waiting} waiting)" in reply["screen"], reply
            assert "SAVED" not in reply["screen"].replace("QUEUED", ""), reply
            assert reply["link"][:2] == [True, waiting]
        assert shown[1][1] < 2.0, "once offline, an entry is queued without waiting for the store again"
        kiosk.kill()  # power cut at the terminal while offline
    finally:
        kiosk.close()
    with Outbox.open("WELD-1", outbox_dir / "WELD-1.sqlite") as outbox:
        waiting = outbox.waiting()
    assert [e.qty for e in waiting] == [2, 3, 4]

    # Started again while the server is still down: it works from its offline copy.
    kiosk = Driven(pg_shop, outbox_dir)
    try:
        reply = kiosk.send("synced")
        assert reply["link"] == [True, 3, 0], reply
        kiosk.send("scan W1")
        reply = kiosk.send("scan J-8001")
        assert "OFFLINE: numbers as of" in reply["screen"] and "Enter = all 11 pending" in reply["screen"], reply
        own_pg.start()
        reply = kiosk.send("synced")  # the store answers: the outbox is replayed by itself
        assert reply["link"] == [False, 0, 0], reply
        reply = kiosk.send("synced")  # and once more: nothing is written twice
        assert reply["link"] == [False, 0, 0], reply
    finally:
        kiosk.close()
    events = kiosk_events(pg_shop, config)
    assert sorted(e["uuid"] for e in events) == sorted(e.uuid for e in waiting)
    assert [e["qty"] for e in reversed(events)] == [2, 3, 4]  # in queue order
    verify = subprocess.run(
        [*floorterm_command(), "--config", str(REPO / "config.toml"), "--db", pg_shop, "db", "verify"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.fixture
def open_pg_kiosk(pg_shop, config, monkeypatch):
    """A kiosk in this process on the private server; its background replay only when the test says."""
    from contextlib import asynccontextmanager

    from floorterm.screens.app import FloortermApp

    monkeypatch.setattr(kiosk_screen, "SYNC_SECONDS", 3600)

    @asynccontextmanager
    async def opener(terminal: str = "WELD-1", mode: str = "kiosk"):
        app = FloortermApp(config, pg_shop, mode=mode, terminal=terminal, unlocked=True)
        async with app.run_test(size=(80, 24)) as pilot:
            k = Kiosk(app, pilot)
            await k.settle()
            yield k

    return opener


async def test_an_entry_refused_on_replay_is_kept_and_shown_on_kiosk_and_board(open_pg_kiosk, own_pg, pg_shop, config):
    async with open_pg_kiosk() as k:
        await synced(k)  # the offline copy is taken
        await k.scan("W1")
        own_pg.stop()
        await k.scan("J-8001")
        await k.press("enter")  # complete all 20: queued
        assert "QUEUED — OFFLINE" in k.flat()
        own_pg.start()
        # Meanwhile another welder completed 15 of them at WELD-2, with the store up.
        store = Store.open(pg_shop)
        Ledger(store, config).complete("J-8001", "WELD", 15, actor=Actor("W2", terminal="WELD-2"))
        await k.press("enter")
        await synced(k)
        assert "refused by the store" in k.flat()
        assert k.screen.link_state[2] == 1
        await k.press("f9")
        await k.scan("S1")  # the next supervisor signing in here sees it
        shown = k.flat()
        assert "NOT SAVED" in shown and "1 entry queued here was refused by the store" in shown
        assert "J-8001" in shown and "Only 5 pending at Welding" in shown
        assert "floorterm outbox retry|discard --terminal WELD-1" in shown
    with Outbox.open("WELD-1", Path(os.environ["FLOORTERM_OUTBOX_DIR"]) / "WELD-1.sqlite") as outbox:
        [kept] = outbox.refused()
    assert kept.qty == 20 and "Only 5 pending" in kept.refusal
    refused = Reports(config).exceptions().replay_refused
    assert [(r.number, r.terminal) for r in refused] == [("J-8001", "WELD-1")]
    store.close()
