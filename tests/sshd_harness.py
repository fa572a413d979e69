"""A throw-away OpenSSH server on 127.0.0.1 and tmux terminals that log in to it.

The server is the system's /usr/sbin/sshd, run in the foreground (`-D -e`) with its own host
key, config, pid file and authorized_keys in a temporary folder: no system config is
touched. Every session runs in its own tmux server (`-L` socket), so nothing here can
disturb a tmux the developer uses. Every wait is bounded.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

SSHD = "/usr/sbin/sshd"
CLIENT_PROGRAMS = ("ssh", "ssh-keygen", "sftp", "scp")
PACKAGES = ("openssh-server", "openssh-client")


def ensure_openssh() -> str | None:
    """Install OpenSSH (Debian packages) where missing and we are root; None if ready, else why not."""
    missing = not os.path.exists(SSHD) or any(shutil.which(p) is None for p in CLIENT_PROGRAMS)
    if not missing:
        _privilege_separation_dir()
        return None
    if not (shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0):
        return f"OpenSSH is not installed and cannot be installed here (needs root and apt-get): {' '.join(PACKAGES)}"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=300, check=False)
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0 or not os.path.exists(SSHD):
        return f"could not install {' '.join(PACKAGES)}: {done.stderr.strip()[-300:]}"
    _privilege_separation_dir()
    return None


def _privilege_separation_dir() -> None:
    """sshd refuses to start without /run/sshd, which only systemd's tmpfiles would make after
    a boot; /run is emptied on every boot, so a machine without systemd may lack it."""
    if hasattr(os, "geteuid") and os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll check() until it returns something truthy; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


def keygen(path: Path, comment: str = "") -> Path:
    """A new ed25519 key pair without passphrase; returns the private key path."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path


def key_fingerprint(pub: Path) -> str:
    out = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)], check=True, capture_output=True, text=True, timeout=30
    ).stdout
    return out.split()[1]


@dataclass
class Sshd:
    """sshd on 127.0.0.1:port with everything in `folder`. `extra` goes at the end of the config."""

    folder: Path
    login_user: str
    extra: str = ""
    port: int = 0
    proc: subprocess.Popen | None = None
    authorized_keys: Path = field(init=False)
    log: Path = field(init=False)

    def __post_init__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        self.authorized_keys = self.folder / "authorized_keys"
        self.log = self.folder / "sshd.log"
        self.config = self.folder / "sshd_config"
        self.host_key = self.folder / "host_ed25519"
        self.known_hosts = self.folder / "known_hosts"

    def write_config(self) -> None:
        if not self.host_key.exists():
            keygen(self.host_key)
        self.port = self.port or free_port()
        self.config.write_text(
            f"ListenAddress 127.0.0.1:{self.port}\n"
            f"HostKey {self.host_key}\n"
            f"PidFile {self.folder / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.authorized_keys}\n"
            "UsePAM no\n"
            "StrictModes no\n"  # the temporary folder is not root-only like a real home
            "PermitRootLogin forced-commands-only\n"  # root may log in only through a key's command=
            "LogLevel DEBUG1\n"
            "PrintMotd no\n"
            "PrintLastLog no\n"
            "Subsystem sftp internal-sftp\n" + self.extra  # so sftp would work if the forced command did not stop it
        )

    def start(self, timeout: float = 15.0) -> None:
        self.write_config()
        check = subprocess.run([SSHD, "-t", "-f", str(self.config)], capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise RuntimeError(f"sshd refused the test config: {check.stderr.strip()}")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation folder
        handle = self.log.open("ab")
        self.proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(self.config)],
            stdout=handle,
            stderr=handle,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        handle.close()

        def listening():
            if self.proc.poll() is not None:
                raise RuntimeError(f"sshd exited at start: {self.log.read_text(errors='replace')[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return True
            except OSError:
                return False

        wait_until(listening, timeout, what=f"sshd on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            # sshd's own group: the listener and any session processes it started.
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def client_args(self, key: Path, *options: str) -> list[str]:
        """ssh options for this server with this key (BatchMode: never a prompt)."""
        return [
            "-i",
            str(key),
            "-p",
            str(self.port),
            "-o",
            f"UserKnownHostsFile={self.known_hosts}",
            "-o",
            "StrictHostKeyChecking=accept-new",
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "LogLevel=ERROR",
            "-F",
            "/dev/null",
            *options,
        ]

    def ssh(self, key: Path, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run the ssh client without a terminal to completion (args: the target, then a command)."""
        return subprocess.run(
            ["ssh", *self.client_args(key), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    @property
    def target(self) -> str:
        return f"{self.login_user}@127.0.0.1"


class Tmux:
    """One command in a detached tmux session of its own server, with a fixed window size."""

    def __init__(self, command: list[str], *, width: int = 120, height: int = 40, env: dict | None = None):
        self.socket = f"ft-ssh-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.name = "office"
        line = " ".join(shlex.quote(part) for part in command)
        self._tmux("new-session", "-d", "-s", self.name, "-x", str(width), "-y", str(height), line, env=env)
        # Keep the pane after the command exits, so its last words can be read.
        self._tmux("set-option", "-t", self.name, "remain-on-exit", "on")

    def _tmux(self, *args: str, env: dict | None = None, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=15, check=check, env=env
        )

    def capture(self) -> str:
        done = self._tmux("capture-pane", "-p", "-t", self.name, check=False)
        return done.stdout if done.returncode == 0 else ""

    def wait_for(self, text: str | re.Pattern, timeout: float = 20.0) -> str:
        def found():
            screen = self.capture()
            hit = text.search(screen) if isinstance(text, re.Pattern) else text in screen
            return screen if hit else None

        try:
            return wait_until(found, timeout, interval=0.1, what=f"{text!r} on the screen")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen shows:\n{self.capture()}") from None

    def keys(self, *keys: str) -> None:
        """tmux key names (Enter, Escape, C-q, ...) or literal text (use `type` for text)."""
        self._tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self._tmux("send-keys", "-t", self.name, "-l", text)

    def pane_pid(self) -> int:
        return int(self._tmux("display-message", "-p", "-t", self.name, "#{pane_pid}").stdout.strip())

    def pane_dead(self) -> bool:
        done = self._tmux("display-message", "-p", "-t", self.name, "#{pane_dead}", check=False)
        return done.stdout.strip() == "1"

    def resize(self, width: int, height: int) -> None:
        self._tmux("resize-window", "-t", self.name, "-x", str(width), "-y", str(height))

    def kill(self) -> None:
        self._tmux("kill-server", check=False)


def processes_with(text: str) -> list[int]:
    """Pids of processes whose command line contains `text` (read from /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            found.append(int(entry))
    return found


def process_environ(pid: int) -> dict[str, str]:
    """The environment a process started with (as sshd gave it)."""
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode(errors="replace"): v.decode(errors="replace") for k, v in pairs}
