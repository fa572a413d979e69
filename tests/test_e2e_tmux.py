"""End to end in a real terminal: `floorterm kiosk` in tmux at 80x24; type a badge and a job
number with send-keys, record a completion, then check the screen text and the store."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from floorterm.ledger import JobSpec, Ledger
from floorterm.queries import Queries
from floorterm.store import Store, init_store

from conftest import OPERATORS, REPO, SUPERVISOR

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed: the end-to-end kiosk test needs a real terminal"
)


def floorterm_command() -> list[str]:
    script = Path(sys.executable).with_name("floorterm")
    return [str(script)] if script.exists() else [sys.executable, "-m", "floorterm"]


class Tmux:
    """One tmux session on a private server socket, so a developer's own sessions are untouched."""

    def __init__(self, socket: str):
        self.socket = socket
        self.session = "kiosk"

    def run(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=20)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, command: list[str], width: int = 80, height: int = 24) -> None:
        line = " ".join(_quote(part) for part in command)
        self.run("new-session", "-d", "-s", self.session, "-x", str(width), "-y", str(height), line)
        self.run("set-option", "-t", self.session, "remain-on-exit", "on")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", self.session, *keys)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.session)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        end = time.monotonic() + timeout
        while True:
            shown = self.screen()
            if text in " ".join(shown.split()):
                return shown
            if time.monotonic() > end:
                raise AssertionError(f"{text!r} never appeared on the screen:\n{shown}")
            time.sleep(0.1)

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=20)


def _quote(part: str) -> str:
    return "'" + part.replace("'", "'\\''") + "'"


@pytest.fixture
def shop(tmp_path, config, clock):
    """A store file with the test badges and job J-7001 waiting at Welding (20 pending)."""
    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    store, _ = init_store(url)
    ledger = Ledger(store, config, clock=clock)
    ledger.import_operators(list(OPERATORS))

    ledger.create_jobs([JobSpec(number="J-7001", qty=20, routing="weldment", customer="E2E [red]Customer")])
    ledger.release("J-7001", 20, actor=SUPERVISOR)
    ledger.complete("J-7001", "CUT", 20, actor=SUPERVISOR)
    store.close()
    return url


def test_kiosk_in_a_real_terminal_records_a_completion(shop, config):
    tmux = Tmux(f"floorterm-e2e-{uuid.uuid4().hex[:8]}")
    try:
        tmux.start(
            [
                *floorterm_command(),
                "kiosk",
                "--terminal",
                "WELD-1",
                "--unlocked",
                "--db",
                shop,
                "--config",
                str(REPO / "config.toml"),
            ]
        )
        tmux.wait_for("Scan your badge")
        assert "NOT SIGNED IN" in tmux.screen()
        tmux.keys("W1", "Enter")
        tmux.wait_for("Scan or type job number")
        assert "Wanda Welder" in tmux.screen()
        tmux.keys("J-7001", "Enter")
        shown = tmux.wait_for("Complete how many at Welding? Enter = all 20 pending")
        assert "E2E [red]Customer" in shown  # user data shown as typed
        assert "▶ Welding" in shown
        tmux.keys("Enter")
        shown = tmux.wait_for("SAVED")
        assert "Welding: 20 done → Painting (0 still pending)" in " ".join(shown.split())
        assert "NOT SAVED" not in shown
        tmux.keys("C-q")
        end = time.monotonic() + 20
        while "1" not in tmux.run("display-message", "-p", "-t", tmux.session, "#{pane_dead}"):
            assert time.monotonic() < end, "the unlocked kiosk did not quit on Ctrl+Q"
            time.sleep(0.1)
    finally:
        tmux.kill()
    store = Store.open(shop)
    try:
        card = Queries(config).job_card("J-7001")
        assert card.step("WELD").completed == 20 and card.step("PAINT").pending == 20
        [done] = [e for e in Queries(config).history("J-7001") if e["kind"] == "complete" and e["terminal"] == "WELD-1"]
        assert (done["badge"], done["qty"]) == ("W1", 20)
    finally:
        store.close()


def test_unknown_job_scanned_on_an_armed_card_leaves_nothing_to_record(shop, config, tmp_path):
    """Issue 9's wrong-scan case in a real terminal at 80x24: J-7001 open with "Enter = all 20",
    then an unknown job scanned: the card is cleared, and Enter, Esc, Enter record nothing."""
    tmux = Tmux(f"floorterm-e2e-{uuid.uuid4().hex[:8]}")
    try:
        tmux.start(
            [
                "env",
                f"FLOORTERM_OUTBOX_DIR={tmp_path / 'outbox'}",
                *floorterm_command(),
                "kiosk",
                "--terminal",
                "WELD-1",
                "--unlocked",
                "--db",
                shop,
                "--config",
                str(REPO / "config.toml"),
            ]
        )
        tmux.wait_for("Scan your badge")
        tmux.keys("W1", "Enter")
        tmux.wait_for("Scan or type job number")
        tmux.keys("J-7001", "Enter")
        tmux.wait_for("Enter = all 20 pending")
        tmux.keys("J-99999", "Enter")
        shown = tmux.wait_for("No job J-99999")
        flat = " ".join(shown.split())
        assert "REFUSED" in flat and "Scan or type job number" in flat
        assert "Enter = all 20 pending" not in flat and "J-7001" not in flat
        for key in ("Enter", "Escape", "Enter", "+"):
            tmux.keys(key)
            time.sleep(0.3)
        flat = " ".join(tmux.screen().split())
        assert "SAVED" not in flat.replace("NOT SAVED", "") and "Wanda Welder" in flat
    finally:
        tmux.kill()
    store = Store.open(shop)
    try:
        assert not [e for e in Queries(config).history("J-7001") if e["terminal"] == "WELD-1"]
    finally:
        store.close()
