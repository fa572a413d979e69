"""Office access through a real OpenSSH server on 127.0.0.1 (issue 6).

The test setup starts its own sshd (tests/sshd_harness.py) with a throw-away authorized_keys
made by floorterm.ssh.authorized_key_line and the Match block of floorterm.ssh, logs in
with `ssh -tt` inside tmux (a real terminal) and reads the screen. The forced command is
the real `floorterm office` console script.
"""

from __future__ import annotations

import getpass
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import REPO
from floorterm.config import load_config
from floorterm.ledger import Actor, JobSpec, Ledger
from floorterm.ssh import authorized_key_line, read_public_key_file, sshd_match_block
from floorterm.store import init_store
from sshd_harness import (
    Sshd,
    Tmux,
    ensure_openssh,
    free_port,
    key_fingerprint,
    keygen,
    process_environ,
    processes_with,
    wait_until,
)

pytestmark = pytest.mark.slow

FLOORTERM = Path(sys.executable).with_name("floorterm")
PEOPLE = {  # key name -> (--user, --role); "ghost" is not an operator in the store
    "alice": ("alice", "viewer"),
    "bob": ("bob", "supervisor"),
    "ghost": ("ghost", "viewer"),
}
OPERATORS = (
    ("alice", "Alice Berg", "viewer"),
    ("bob", "Bob Boss", "supervisor"),
    ("S1", "Sam Supervisor", "supervisor"),
)


def office_program(folder: Path) -> str:
    """The program the keys run: the real console script of this checkout."""
    if not FLOORTERM.exists():
        pytest.skip(f"{FLOORTERM} is missing: install floorterm into .venv (python3 dev.py setup)")
    return str(FLOORTERM)


@dataclass
class Site:
    folder: Path
    config_path: Path
    db_path: Path
    sshd: Sshd
    keys: dict[str, Path]
    program: str
    terminals: list[Tmux] = field(default_factory=list)

    def fingerprint(self, name: str) -> str:
        return key_fingerprint(self.keys[name].with_suffix(".pub"))

    def events(self) -> list[dict]:
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True) as conn:
            conn.row_factory = sqlite3.Row
            rows = conn.execute(
                "SELECT e.*, o.badge FROM event e JOIN operator o ON o.id = e.operator_id ORDER BY e.id"
            ).fetchall()
        return [dict(r) for r in rows]

    def login(self, name: str, *options: str, width: int = 120, height: int = 40) -> Tmux:
        term = Tmux(
            ["ssh", "-tt", *self.sshd.client_args(self.keys[name], *options), self.sshd.target],
            width=width,
            height=height,
        )
        self.terminals.append(term)
        return term

    def office_processes(self) -> list[int]:
        # The forced command names this site's config file: only our sessions match.
        return processes_with(f"{self.config_path} office --user")

    def wait_no_office(self, timeout: float = 15.0) -> None:
        wait_until(lambda: not self.office_processes(), timeout, what="the server-side floorterm process to exit")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    why = ensure_openssh()
    if why:
        pytest.skip(why)
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed: the SSH sessions need a real terminal")
    folder = tmp_path_factory.mktemp("ssh-site")
    program = office_program(folder)
    config_path = folder / "config.toml"
    shutil.copy(REPO / "config.toml", config_path)  # store: data/floorterm.db beside it
    config = load_config(config_path)
    url = config.resolve_store_url()
    store, _ = init_store(url)
    try:
        ledger = Ledger(store, config)
        for badge, name, role in OPERATORS:
            ledger.add_operator(badge, name, role)
        ledger.create_jobs([JobSpec("J-2001", 10, "standard"), JobSpec("J-2002", 5, "standard", priority=5)])
        boss = Actor("S1")
        for number in ("J-2001", "J-2002"):
            ledger.release(number, 5, actor=boss)
        ledger.delay("J-2001", "CUT", "MAT", actor=boss)
    finally:
        store.close()
    keys = {name: keygen(folder / f"key_{name}", f"{name}@office-pc") for name in PEOPLE}
    sshd = Sshd(folder / "sshd", login_user=getpass.getuser())
    # A lax global part (accept every variable) shows that the Match block narrows it.
    sshd.extra = "AcceptEnv *\n" + sshd_match_block(sshd.login_user, authorized_keys=str(sshd.authorized_keys))
    lines = [
        authorized_key_line(
            read_public_key_file(keys[name].with_suffix(".pub")),
            user=user,
            role=role,
            floorterm=program,
            config=config_path,
        )
        for name, (user, role) in PEOPLE.items()
    ]
    sshd.authorized_keys.write_text("\n".join(lines) + "\n")
    sshd.start()
    site = Site(folder, config_path, Path(url.removeprefix("sqlite:///")), sshd, keys, program)
    yield site
    for term in site.terminals:
        term.kill()
    sshd.stop()


@pytest.fixture
def clean(site):
    """Each test starts and ends with no office session left on the server."""
    site.wait_no_office()
    yield site
    for term in site.terminals:
        term.kill()
    site.terminals.clear()
    site.wait_no_office()


def ledger_unchanged(site: Site, before: list[dict]) -> None:
    assert site.events() == before, "something was written to the store"


# --------------------------------------------------------------------------- the screens over SSH


def test_viewer_sees_the_board_and_cannot_act(clean):
    site = clean
    before = site.events()
    term = site.login("alice")
    term.wait_for("Alice Berg (alice, viewer)")
    # The plant at a glance: every stage of the config with its numbers.
    screen = term.wait_for(re.compile(r"Cutting\s+10\s+2\s+\d+\s+1\s"))  # 10 pending in 2 jobs, 1 delayed
    assert "Read only" in screen
    for stage in ("Welding", "Final QC", "Dispatch"):
        assert stage in screen
    # The live board, read-only: both jobs in their rows.
    term.keys("1")
    screen = term.wait_for("J-2002")
    assert "J-2001" in screen
    term.keys("Escape")
    term.wait_for("Reports and exports")
    term.keys("2")
    term.wait_for("Job number, then Enter")
    term.type("J-2001")
    term.keys("Enter")
    term.wait_for("DELAYED Material shortage")
    term.keys("r")
    term.keys("p")
    time.sleep(1.0)  # time for a (wrong) form to open or action keys to show; absence cannot be polled
    screen = term.capture()
    assert "Resume work" not in screen and "Change the priority" not in screen
    footer = screen.rstrip("\n").splitlines()[-1]
    assert "New job" in footer and "Resume" not in footer and "Priority" not in footer
    term.keys("C-q")
    wait_until(term.pane_dead, 15, what="the ssh session to end after Ctrl-Q")
    site.wait_no_office()
    ledger_unchanged(site, before)


def test_supervisor_resumes_a_delay_and_the_entry_names_user_and_key(clean):
    site = clean
    term = site.login("bob")
    term.wait_for("Bob Boss (bob, supervisor)")
    term.keys("2")
    term.wait_for("Job number, then Enter")
    term.type("J-2001")
    term.keys("Enter")
    term.wait_for("DELAYED Material shortage")
    term.wait_for("r Resume delay")  # the supervisor's action keys in the footer
    term.keys("r")
    term.wait_for("Resume work on job J-2001")
    term.type("material came")
    term.keys("Enter")
    term.wait_for(re.compile(r"(?i)resumed"))
    last = site.events()[-1]
    assert (last["kind"], last["badge"], last["login_user"]) == ("resume", "BOB", "bob")
    assert last["login_key"] == site.fingerprint("bob")
    assert last["note"] == "material came"
    assert last["terminal"] is None
    term.keys("Escape")
    term.wait_for("Reports and exports")  # the menu again
    term.keys("q")
    wait_until(term.pane_dead, 15, what="the ssh session to end")


def test_a_person_who_is_not_an_operator_is_refused(clean):
    site = clean
    before = site.events()
    term = site.login("ghost")
    screen = term.wait_for("not a floorterm user yet")
    assert "floorterm operators add ghost" in screen
    wait_until(term.pane_dead, 15, what="the refused session to end")
    ledger_unchanged(site, before)


def test_the_screen_follows_a_terminal_resize(clean):
    site = clean
    term = site.login("alice", width=120, height=40)
    term.wait_for("Alice Berg")
    term.resize(80, 24)
    # The footer moves to the new last line.
    wait_until(lambda: "Quit" in term.capture().rstrip("\n").splitlines()[-1], 10, what="the footer on line 24")
    assert len(term.capture().rstrip("\n").splitlines()) <= 24
    term.keys("C-q")
    wait_until(term.pane_dead, 15, what="the session to end")


# --------------------------------------------------------------------------- a quiet session

IDLE_SECONDS = 20.0  # the measured window: longer than the 15 s re-read, so a repaint on every read shows
IDLE_BOUND = 50.0  # bytes a second the client may receive while nothing changes (before: ~500 B/s)
# The board's jobs here are minutes old, so when the minute turns inside the window their age
# cells and the stage summaries are redrawn (measured 4,468 bytes once); a window without that
# sends 0. The old full repaint sent ~18 KB on every 15 s re-read: at least 900 B/s over 20 s.
BOARD_IDLE_BOUND = 300.0


class CountingRelay:
    """127.0.0.1:port -> sshd: passes one SSH connection through and counts what the server sends.

    The count is of the encrypted SSH stream the client receives: screen output, SSH framing,
    keep-alives: what the office PC's link carries."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.received = 0  # bytes server -> client
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                continue
            server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            for src, dst, counted in ((client, server, False), (server, client, True)):
                thread = threading.Thread(target=self._pipe, args=(src, dst, counted), daemon=True)
                thread.start()
                self.threads.append(thread)

    def _pipe(self, src: socket.socket, dst: socket.socket, counted: bool) -> None:
        src.settimeout(0.2)
        while not self.stop.is_set():
            try:
                data = src.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            if counted:
                with self.lock:
                    self.received += len(data)
            try:
                dst.sendall(data)
            except OSError:
                break
        for end in (src, dst):
            try:
                end.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def count(self) -> int:
        with self.lock:
            return self.received

    def close(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.sock.close()


def test_an_idle_home_screen_sends_next_to_nothing(clean):
    """Issue 12: while nobody types and nothing changes, the home screen sends (almost) nothing.

    Before: the whole summary was redrawn on every 15 s re-read (~7 KB of screen each time,
    over 500 B/s on the link at 80x24). Now only a changed line is redrawn, and the header
    clock changes once a minute. Measured here: the bytes the SSH client receives (the
    encrypted stream, keep-alives included) over IDLE_SECONDS on the home screen at 80x24."""
    site = clean
    relay = CountingRelay(site.sshd.port)
    try:
        args = site.sshd.client_args(site.keys["alice"])
        args[args.index("-p") + 1] = str(relay.port)
        term = Tmux(["ssh", "-tt", *args, site.sshd.target], width=80, height=24)
        site.terminals.append(term)
        term.wait_for(re.compile(r"replay\srefused"))  # the summary has been read and drawn (\s: a no-break space)
        time.sleep(3.0)  # the first frames and the terminal's answers are through
        start, began = relay.count(), time.monotonic()
        time.sleep(IDLE_SECONDS)
        received, seconds = relay.count() - start, time.monotonic() - began
        rate = received / seconds
        print(f"idle home screen over SSH at 80x24: {received} bytes in {seconds:.1f} s = {rate:.1f} B/s")
        assert rate < IDLE_BOUND, f"{received} bytes in {seconds:.1f} s while nothing changed"
        # And the session is alive: a key still gets an answer.
        before = relay.count()
        term.keys("2")
        term.wait_for("Job number, then Enter")
        assert relay.count() > before
        term.keys("C-q")
        wait_until(term.pane_dead, 15, what="the session to end")
    finally:
        relay.close()


def test_an_idle_live_board_sends_next_to_nothing(clean):
    """The office board at 80x24 while nothing changes: only what changed is redrawn (a minute
    of the header clock, an age that ticks over). Before, every 15 s re-read repainted the whole
    board, about 18 KB a time (~1.2 KB/s), which BOARD_IDLE_BOUND fails by far. Measured like the home
    screen: the bytes the SSH client receives over IDLE_SECONDS once the board has settled."""
    site = clean
    relay = CountingRelay(site.sshd.port)
    try:
        args = site.sshd.client_args(site.keys["alice"])
        args[args.index("-p") + 1] = str(relay.port)
        term = Tmux(["ssh", "-tt", *args, site.sshd.target], width=80, height=24)
        site.terminals.append(term)
        term.wait_for(re.compile(r"replay\srefused"))
        term.keys("1")
        term.wait_for("J-2002")
        time.sleep(5.0)  # the first paint, the rest of the rows and the terminal's answers are through
        start, began = relay.count(), time.monotonic()
        time.sleep(IDLE_SECONDS)
        received, seconds = relay.count() - start, time.monotonic() - began
        rate = received / seconds
        print(f"idle live board over SSH at 80x24: {received} bytes in {seconds:.1f} s = {rate:.1f} B/s")
        assert rate < BOARD_IDLE_BOUND, f"{received} bytes in {seconds:.1f} s while nothing changed"
        before = relay.count()
        term.keys("3")  # alive: a key still gets an answer
        term.wait_for("DELAYED (")
        assert relay.count() > before
        term.keys("C-q")
        wait_until(term.pane_dead, 15, what="the session to end")
    finally:
        relay.close()


# --------------------------------------------------------------------------- no way out


def test_a_requested_remote_command_does_not_run(clean, tmp_path):
    site = clean
    before = site.events()
    marker = tmp_path / "escaped"
    done = site.sshd.ssh(site.keys["bob"], site.sshd.target, "bash", "-c", f"'touch {marker}'")
    assert done.returncode != 0
    assert "needs a terminal" in done.stderr  # the forced command ran instead, and refused without a terminal
    # With a terminal the office screens come up instead of the command.
    term = Tmux(["ssh", "-tt", *site.sshd.client_args(site.keys["bob"]), site.sshd.target, "touch", str(marker)])
    site.terminals.append(term)
    term.wait_for("Bob Boss (bob, supervisor)")
    term.keys("C-q")
    wait_until(term.pane_dead, 15, what="the session to end")
    assert not marker.exists()
    ledger_unchanged(site, before)


class EchoServer:
    """A TCP server on 127.0.0.1 (the target of forwarding attempts): counts connections, greets each."""

    GREETING = b"reached the target\n"

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            try:
                conn.sendall(self.GREETING)
            finally:
                conn.close()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=5)
        self.sock.close()


@pytest.fixture
def echo():
    server = EchoServer()
    # The target answers when reached directly: so a forward that got through would show.
    assert _gets_data_through(server.port) == EchoServer.GREETING
    wait_until(lambda: server.connections == 1, 5, what="the direct connection to be counted")
    server.connections = 0
    yield server
    server.close()


def _gets_data_through(port: int, payload: bytes = b"hello\n", timeout: float = 3.0) -> bytes:
    """Connect to 127.0.0.1:port, send, read what comes back ('' if refused or closed)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
            conn.settimeout(timeout)
            conn.sendall(payload)
            return conn.recv(100)
    except OSError:
        return b""


def _background_ssh(site: Site, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        ["ssh", "-N", *site.sshd.client_args(site.keys["bob"], *options), site.sshd.target],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(proc: subprocess.Popen) -> str:
    """End a background ssh client (it sometimes ignores SIGTERM mid-handshake: then SIGKILL)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        _, err = proc.communicate(timeout=2)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=10)
    return err


def test_local_forwarding_is_refused(clean, echo):
    site = clean
    before = site.events()
    local = free_port()
    proc = _background_ssh(site, "-L", f"127.0.0.1:{local}:127.0.0.1:{echo.port}")
    try:
        wait_until(lambda: _listening(local), 15, what="ssh to listen for -L")
        assert _gets_data_through(local) != EchoServer.GREETING
    finally:
        _stop(proc)
    assert echo.connections == 0
    ledger_unchanged(site, before)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def test_remote_forwarding_is_refused(clean, echo):
    site = clean
    before = site.events()
    remote = free_port()
    proc = _background_ssh(site, "-o", "ExitOnForwardFailure=yes", "-R", f"127.0.0.1:{remote}:127.0.0.1:{echo.port}")
    try:
        proc.wait(timeout=20)  # the client gives up: the server refused the forward
    finally:
        err = _stop(proc)
    assert proc.returncode != 0
    assert "remote port forwarding failed" in err.lower() or "forwarding" in err.lower()
    assert not _listening(remote)
    assert echo.connections == 0
    ledger_unchanged(site, before)


def test_dynamic_forwarding_is_refused(clean, echo):
    site = clean
    before = site.events()
    socks = free_port()
    proc = _background_ssh(site, "-D", f"127.0.0.1:{socks}")
    try:
        wait_until(lambda: _listening(socks), 15, what="ssh to listen for -D")
        reply = b""
        with socket.create_connection(("127.0.0.1", socks), timeout=5) as conn:
            conn.settimeout(5)
            conn.sendall(b"\x05\x01\x00")  # SOCKS5, one method: no authentication
            assert conn.recv(2) == b"\x05\x00"
            conn.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") + echo.port.to_bytes(2, "big"))
            try:
                reply = conn.recv(10)
            except OSError:
                reply = b""
        assert not reply or reply[1] != 0, "the SOCKS connect succeeded"
    finally:
        _stop(proc)
    assert echo.connections == 0
    ledger_unchanged(site, before)


def test_sftp_and_scp_get_nowhere(clean, tmp_path):
    site = clean
    before = site.events()
    source = tmp_path / "payload.txt"
    source.write_text("not for the server\n")
    target = tmp_path / "copied.txt"
    key = site.keys["bob"]
    base = [
        "-i",
        str(key),
        "-o",
        f"UserKnownHostsFile={site.sshd.known_hosts}",
        "-o",
        "StrictHostKeyChecking=accept-new",
        "-o",
        "BatchMode=yes",
        "-o",
        "IdentitiesOnly=yes",
        "-o",
        "ConnectTimeout=10",
        "-F",
        "/dev/null",
        "-P",
        str(site.sshd.port),
    ]
    sftp = subprocess.run(
        ["sftp", *base, "-b", "-", site.sshd.target],
        input=f"put {source} {target}\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert sftp.returncode != 0
    for legacy in ([], ["-O"]):  # scp over sftp (the default) and the old scp protocol
        scp = subprocess.run(
            ["scp", *legacy, *base, str(source), f"{site.sshd.target}:{target}"],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        assert scp.returncode != 0, scp.stderr
    assert not target.exists()
    ledger_unchanged(site, before)


def test_agent_forwarding_is_refused(clean, tmp_path):
    site = clean
    before = site.events()
    agent_sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(
        ["ssh-agent", "-D", "-a", str(agent_sock)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_until(agent_sock.exists, 10, what="ssh-agent")
        env = dict(os.environ, SSH_AUTH_SOCK=str(agent_sock))
        term = Tmux(["ssh", "-tt", "-A", *site.sshd.client_args(site.keys["bob"]), site.sshd.target], env=env)
        site.terminals.append(term)
        term.wait_for("Bob Boss (bob, supervisor)")
        (pid,) = wait_until(site.office_processes, 10, what="the office process")
        environ = process_environ(pid)
        assert "SSH_AUTH_SOCK" not in environ  # sshd gave the session no agent
        assert "SSH_USER_AUTH" in environ  # (and the environment was read at all)
        term.keys("C-q")
        wait_until(term.pane_dead, 15, what="the session to end")
    finally:
        agent.terminate()
        agent.wait(timeout=10)
    ledger_unchanged(site, before)


def test_sent_environment_variables_change_nothing(clean, tmp_path):
    site = clean
    before = site.events()
    evil_db = tmp_path / "evil.db"
    evil_config = tmp_path / "evil.toml"
    term = site.login(
        "bob",
        "-o",
        f"SetEnv=FLOORTERM_DB=sqlite:///{evil_db} FLOORTERM_CONFIG={evil_config} "
        "TEXTUAL_SCREENSHOT=0 LC_ALL=C PYTHONINSPECT=1",
    )
    term.wait_for("Bob Boss (bob, supervisor)")
    (pid,) = wait_until(site.office_processes, 10, what="the office process")
    environ = process_environ(pid)
    for name in ("FLOORTERM_DB", "FLOORTERM_CONFIG", "TEXTUAL_SCREENSHOT", "LC_ALL", "PYTHONINSPECT"):
        assert name not in environ, name
    # Act: the entry lands in the site's store, not in the one the client named.
    term.keys("2")
    term.wait_for("Job number, then Enter")
    term.type("J-2002")
    term.keys("Enter")
    term.wait_for("Job J-2002")
    term.keys("n")
    term.wait_for("Add a note to job J-2002")
    term.type("checked from the office")
    term.keys("Enter")
    wait_until(lambda: len(site.events()) == len(before) + 1, 10, what="the note in the site's store")
    assert site.events()[-1]["note"] == "checked from the office"
    assert not evil_db.exists()
    term.keys("C-q")
    wait_until(term.pane_dead, 15, what="the session to end")


def test_disconnect_mid_entry_writes_nothing_and_the_process_exits(clean):
    site = clean
    before = site.events()
    term = site.login("bob")
    term.wait_for("Bob Boss (bob, supervisor)")
    term.keys("2")
    term.wait_for("Job number, then Enter")
    term.type("J-2002")
    term.keys("Enter")
    term.wait_for("Job J-2002")
    term.keys("p")
    term.wait_for("Change the priority of job J-2002")
    term.type("1")
    term.keys("Enter")
    term.type("customer rang, half a reas")  # never confirmed
    assert site.office_processes()
    client = term.pane_pid()  # the ssh client itself
    assert Path(f"/proc/{client}/cmdline").read_bytes().split(b"\0")[0] == b"ssh"
    os.kill(client, 9)  # the office PC loses its connection
    site.wait_no_office(timeout=15)
    ledger_unchanged(site, before)


# --------------------------------------------------------------------------- the config itself


def test_sshd_accepts_the_match_block_and_applies_it(tmp_path):
    why = ensure_openssh()
    if why:
        pytest.skip(why)
    account = getpass.getuser()
    server = Sshd(tmp_path / "sshd", login_user=account)
    # A lax global part (accept every variable) that the block must narrow for the account.
    server.extra = "AcceptEnv *\n" + sshd_match_block(account, authorized_keys=str(server.authorized_keys))
    server.write_config()
    config = server.config
    check = subprocess.run(["/usr/sbin/sshd", "-t", "-f", str(config)], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    effective = subprocess.run(
        ["/usr/sbin/sshd", "-T", "-f", str(config), "-C", f"user={account},host=office-pc,addr=127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert effective.returncode == 0, effective.stderr
    settings = {}
    for line in effective.stdout.splitlines():
        name, _, value = line.partition(" ")
        settings.setdefault(name, []).append(value)
    expect = {
        "disableforwarding": "yes",
        "allowtcpforwarding": "no",
        "allowagentforwarding": "no",
        "x11forwarding": "no",
        "permittunnel": "no",
        "permituserrc": "no",
        "exposeauthinfo": "yes",
        "passwordauthentication": "no",
        "kbdinteractiveauthentication": "no",
        "authenticationmethods": "publickey",
        "permittty": "yes",
        "maxsessions": "1",
        "permituserenvironment": "no",
        "allowstreamlocalforwarding": "no",
        "gatewayports": "no",
    }
    for name, value in expect.items():
        assert settings.get(name) == [value], (name, settings.get(name))
    assert settings["acceptenv"] == ["LANG"]  # the global `AcceptEnv *` is replaced for the account
    other = subprocess.run(
        ["/usr/sbin/sshd", "-T", "-f", str(config), "-C", "user=somebody-else,host=x,addr=127.0.0.1"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert "disableforwarding no" in other.stdout  # the block touches only the office account
