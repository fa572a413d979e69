"""`floorterm serve`: the board, a kiosk and the office in a real headless Chromium.

The server runs as a subprocess on a free loopback port over a demo store; Chromium is driven
through chromedriver's W3C WebDriver HTTP API with urllib (no selenium: a dozen plain calls).
textual-serve draws with xterm.js on a canvas, so the page's DOM holds no screen text. A script
installed before the page's own (chromedriver's CDP passthrough, Page.addScriptToEvaluateOnNewDocument)
keeps a handle on the xterm Terminal when it is built, and the test reads the terminal's buffer
rows: the characters on the screen, as a person sees them. Each screen is kept as a screenshot
under test-artifacts/ (git-ignored; the path is printed).

Needs Debian's chromium and chromium-driver (dev.py installs them for the tests); the browser
tests skip, saying so, when they are missing. The refusals run everywhere.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from floorterm.cli import main
from conftest import REPO

FLOORTERM = str(Path(sys.executable).with_name("floorterm"))
CONFIG = str(REPO / "config.toml")
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
NO_BROWSER = (
    None
    if CHROMIUM and CHROMEDRIVER
    else "browser tests skipped: Debian's chromium and chromium-driver are not installed "
    "(`apt-get install chromium chromium-driver`; `python3 dev.py test` installs them as root)"
)
needs_browser = pytest.mark.skipif(NO_BROWSER is not None, reason=NO_BROWSER or "")

# Installed before the page's scripts: xterm's public Terminal sets `this._core = ...` in its
# constructor; an Object.prototype setter of that name sees the instance, keeps it and puts
# the value back as a plain property. Nothing else of the page is touched.
XTERM_HOOK = """
window.__floortermTerminals = [];
Object.defineProperty(Object.prototype, "_core", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "_core", {value, writable: true, configurable: true, enumerable: true});
    if (typeof this.loadAddon === "function") window.__floortermTerminals.push(this);
  },
});
"""
SCREEN_TEXT = """
const term = (window.__floortermTerminals || [])[0];
if (!term) return null;
const buffer = term.buffer.active, rows = [];
for (let y = 0; y < term.rows; y++) {
  const line = buffer.getLine(buffer.viewportY + y);
  rows.push(line ? line.translateToString(true) : "");
}
return rows.join("\\n");
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def answers(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def serve_command(db_url: str, *args: str) -> list[str]:
    return [FLOORTERM, "--config", CONFIG, "--db", db_url, "serve", *args]


# --------------------------------------------------------------------------- refusals


@pytest.fixture
def demo_url(tmp_path) -> str:
    """A small demo store (SQLite), built by `floorterm demo --seed-only`."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    seed_demo(url)
    return url


def seed_demo(url: str) -> None:
    done = subprocess.run(
        [FLOORTERM, "--config", CONFIG, "--db", url, "demo", "--seed-only", "--jobs", "20"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope", "--terminal", "BOARD-1"], "Unknown screen 'nope'; floorterm serve serves: board, office, kiosk"),
        (["board"], "Say which terminal the board is"),
        (["board", "--terminal", "NOPE"], "Unknown terminal NOPE; the config has: CUT-1"),
        (["board", "--terminal", "WELD-1"], "WELD-1 is a kiosk terminal, not a board; the board terminals: BOARD-1"),
        (["kiosk", "--terminal", "BOARD-1"], "BOARD-1 is a board terminal: serve it with floorterm serve board"),
        (["kiosk", "--terminal", "WELD-1", "--tv"], "--tv is for `floorterm serve board` only"),
        (["board", "--terminal", "BOARD-1", "--port", "0"], "'0' is not a TCP port: give a number from 1 to 65535"),
        (["board", "--terminal", "BOARD-1", "--port", "65536"], "'65536' is not a TCP port"),
        (["board", "--terminal", "BOARD-1", "--port", "80a"], "'80a' is not a TCP port"),
        (["board", "--terminal", "BOARD-1", "--public-url", "ftp://x"], "is not an http:// or https:// address"),
        (["board", "--terminal", "BOARD-1", "--user", "B1200"], "--user is for `floorterm serve office` only"),
        (["office"], "Say who the office in a browser is: --user NAME"),
        (["office", "--terminal", "BOARD-1", "--user", "B1200"], "The office has no terminal"),
        (["office", "--user", "B1001"], "Katrin Vogel (B1001) is a supervisor: every browser session would act"),
        (["office", "--user", "nobody"], "nobody is not an active floorterm user"),
        (["office", "--user", "no body"], "User name 'no body' is not allowed"),
        (["office", "--user-header", "X-Remote-User", "--host", "0.0.0.0"], "--user-header trusts a request header"),
        (["office", "--user-header", "X Remote"], "is not a header name"),
    ],
)
def test_serve_refuses_before_listening(demo_url, capsys, args, message):
    port = free_port()
    if "--port" not in args:
        args = [*args, "--port", str(port)]
    assert main(["--config", CONFIG, "--db", demo_url, "serve", *args]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert err.startswith(("floorterm: ", "usage: ")), err
    assert not answers(port)  # nothing was left listening


def test_serve_refuses_a_port_in_use(demo_url, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        code = main(
            ["--config", CONFIG, "--db", demo_url, "serve", "board", "--terminal", "BOARD-1"] + ["--port", str(port)]
        )
    assert code == 2
    assert (
        f"Cannot listen on 127.0.0.1 port {port}: the port is in use; choose another --port" in capsys.readouterr().err
    )


def test_serve_refuses_a_store_needing_setup(tmp_path, capsys):
    missing = tmp_path / "none.db"
    code = main(
        [
            "--config",
            CONFIG,
            "--db",
            str(missing),
            "serve",
            "board",
            "--terminal",
            "BOARD-1",
            "--port",
            str(free_port()),
        ]
    )
    assert code == 3
    assert f"There is no store at {missing}" in capsys.readouterr().err
    assert not missing.exists()


def test_serve_session_command_keeps_config_and_store(demo_url):
    """Each browser tab runs the screen's own command, with the config and store the server was given."""
    from floorterm.cli import build_parser
    from floorterm.cli.common import Context
    from floorterm.cli.serve import session_command

    args = build_parser().parse_args(
        ["--config", CONFIG, "--db", demo_url, "serve", "board", "--terminal", "BOARD-1", "--tv"]
    )
    assert session_command(Context(args), args) == [
        FLOORTERM,
        "--config",
        CONFIG,
        "--db",
        demo_url,
        "board",
        "--terminal",
        "BOARD-1",
        "--tv",
    ]
    args = build_parser().parse_args(["--config", CONFIG, "serve", "office", "--user", "B1200"])
    assert session_command(Context(args), args, user="B1200", role="viewer")[3:] == [
        "serve-session",
        "office",
        "--user",
        "B1200",
        "--role",
        "viewer",
    ]


def test_serve_help_is_listed_and_session_is_hidden(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "serve the board, the office or a kiosk to web browsers" in out
    assert "serve-session" not in out


def test_serve_warns_when_not_on_loopback(demo_url):
    port = free_port()
    process = subprocess.Popen(
        serve_command(demo_url, "board", "--terminal", "BOARD-1", "--host", "0.0.0.0", "--port", str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not answers(port):  # it serves all the same
            assert time.monotonic() < deadline and process.poll() is None, "floorterm serve did not start"
            time.sleep(0.1)
    finally:
        process.terminate()
        _, err = process.communicate(timeout=20)
    assert process.returncode == 0
    lines = err.splitlines()
    assert lines[0].startswith(
        f"floorterm: WARNING: listening on 0.0.0.0, not loopback: anyone who can reach port {port} gets this screen"
    ), err
    assert "Put a reverse proxy with TLS and a login in front instead (docs/serve.md)." in lines[0]
    assert lines[1] == f"floorterm: serving the board on http://0.0.0.0:{port}"


# --------------------------------------------------------------------------- the browser


class Browser:
    """Headless Chromium through chromedriver's W3C WebDriver HTTP API (plain urllib)."""

    def __init__(self):
        self.port = free_port()
        self.driver = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.session = None
        deadline = time.monotonic() + 20
        while True:
            try:
                if self.call("GET", "/status").get("ready"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or self.driver.poll() is not None:
                raise RuntimeError("chromedriver did not start")
            time.sleep(0.1)
        options = {
            "binary": CHROMIUM,
            "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,800"],
        }
        created = self.call(
            "POST",
            "/session",
            {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": options}}},
        )
        self.session = f"/session/{created['sessionId']}"
        self.cdp("Page.addScriptToEvaluateOnNewDocument", source=XTERM_HOOK)

    def call(self, method: str, path: str, body: dict | None = None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())["value"]

    def cdp(self, command: str, **params):
        return self.call("POST", f"{self.session}/goog/cdp/execute", {"cmd": command, "params": params})

    def open(self, url: str) -> None:
        self.call("POST", f"{self.session}/url", {"url": url})

    def screen_text(self) -> str:
        return self.call("POST", f"{self.session}/execute/sync", {"script": SCREEN_TEXT, "args": []}) or ""

    def wait_for(self, *texts: str, timeout: float = 25.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen_text()
            if all(text in screen for text in texts):
                return screen
            if time.monotonic() > deadline:
                missing = [text for text in texts if text not in screen]
                raise AssertionError(f"not on the screen after {timeout:g} s: {missing}\n{screen}")
            time.sleep(0.2)

    def type(self, text: str) -> None:
        """Keys into the terminal (xterm's hidden textarea has the focus), as a person types them."""
        found = self.call(
            "POST", f"{self.session}/element", {"using": "css selector", "value": ".xterm-helper-textarea"}
        )
        element = next(iter(found.values()))
        self.call("POST", f"{self.session}/element/{element}/value", {"text": text})

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        path.write_bytes(base64.b64decode(self.call("GET", f"{self.session}/screenshot")))
        print(f"screenshot: {path}")
        return path

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.session:
                self.call("DELETE", self.session)
        self.driver.terminate()
        try:
            self.driver.wait(10)
        except subprocess.TimeoutExpired:
            self.driver.kill()


@pytest.fixture(scope="module")
def browser():
    if NO_BROWSER:
        pytest.skip(NO_BROWSER)
    b = Browser()
    yield b
    b.close()


@contextlib.contextmanager
def served(db_url: str, *args: str):
    """`floorterm serve ARGS` on a free loopback port until the block ends; its base URL."""
    port = free_port()
    log = open(os.devnull, "w")
    process = subprocess.Popen(
        serve_command(db_url, *args, "--port", str(port)),
        stdout=log,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the tabs' sessions are in it too
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(base + "/", timeout=5) as response:
                    page = response.read().decode()
                break
            except OSError:
                if process.poll() is not None:
                    raise AssertionError(f"floorterm serve stopped: {process.stderr.read()}") from None
                if time.monotonic() > deadline:
                    raise AssertionError("floorterm serve did not answer in 20 s") from None
                time.sleep(0.1)
        assert db_url not in page  # the page title is the screen, never the command with the store URL
        yield base
    finally:
        process.terminate()  # SIGTERM to the server alone: it ends every tab's session itself
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        left = session_processes(process.pid)
        if left:
            os.killpg(process.pid, signal.SIGKILL)
        process.stderr.close()
        log.close()
    assert process.returncode == 0, process.returncode
    assert not left, f"sessions outlived floorterm serve: {left}"


def session_processes(group: int, wait: float = 5.0) -> list[int]:
    """The processes still in this process group after up to `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        left = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _group_of(int(pid)) == group]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def _group_of(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def websocket_handshake(base: str, headers: dict[str, str]) -> int:
    """The status of a websocket upgrade request to /ws (101 = a session would start)."""
    host = base.split("://", 1)[1]
    connection = http.client.HTTPConnection(host, timeout=10)
    try:
        connection.request(
            "GET",
            "/ws?width=80&height=24",
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
                "Sec-WebSocket-Version": "13",
                **headers,
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


@needs_browser
def test_board_in_a_browser_shows_the_stages(browser, store_url, config):
    seed_demo(store_url)
    backend = store_url.split(":", 1)[0]
    stages = config.terminal("BOARD-1").stages
    with served(store_url, "board", "--terminal", "BOARD-1") as base:
        browser.open(base + "/")
        screen = browser.wait_for("WIP BOARD", "Shop floor board", "read-only", *stages)
        browser.screenshot(f"serve-board-{backend}")
        browser.type("s")  # acting on the board needs a badge, as at the terminal
        browser.wait_for("your badge")
    header = next(line for line in screen.splitlines() if "Pri Job" in line)
    assert [code for code in header.split() if code in stages] == list(stages)  # in the configured order


@needs_browser
def test_kiosk_in_a_browser_asks_for_a_badge(browser, demo_url):
    with served(demo_url, "kiosk", "--terminal", "WELD-1") as base:
        browser.open(base + "/")
        browser.wait_for("WELD-1", "NOT SIGNED IN", "Scan your badge")
        browser.screenshot("serve-kiosk")
        browser.type("B9999\n")  # the keys reach the kiosk: an unknown badge is refused there
        browser.wait_for("Unknown badge B9999")
        browser.type("B1057\n")
        browser.wait_for("Signed in: Lena Hartmann")


@needs_browser
def test_office_in_a_browser_is_the_viewer(browser, demo_url):
    with served(demo_url, "office", "--user", "B1200") as base:
        browser.open(base + "/")
        screen = browser.wait_for("Werner Brandt (B1200, viewer)")
        assert "read only" in screen.lower()  # the office's own words for a viewer
        browser.screenshot("serve-office-viewer")
        # Another site's page cannot open the session with the visitor's browser.
        assert websocket_handshake(base, {"Origin": "http://evil.example"}) == 403
        assert websocket_handshake(base, {"Origin": base}) == 101
    assert "Katrin" not in screen


@needs_browser
def test_office_in_a_browser_takes_the_person_from_the_proxy_header(browser, demo_url):
    with served(demo_url, "office", "--user-header", "X-Remote-User") as base:
        assert websocket_handshake(base, {"Origin": base}) == 403  # no person named: no session
        browser.cdp("Network.enable")
        browser.cdp("Network.setExtraHTTPHeaders", headers={"X-Remote-User": "B1001"})
        try:
            browser.open(base + "/")
            browser.wait_for("Katrin Vogel (B1001, supervisor)")
            browser.screenshot("serve-office-proxy-user")
        finally:
            browser.cdp("Network.setExtraHTTPHeaders", headers={})
