"""A throw-away PostgreSQL server for tests that stop and start the store's server.

The machine's own server (127.0.0.1:5432) is never touched: this one lives in a temporary
folder, listens on a free loopback port and is removed at the end. PostgreSQL refuses to run
as root, so as root the server runs as a system user made for it (`floorterm-pg`).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

PG_USER = "floorterm-pg"


def find_pg_bin() -> Path | None:
    """The newest /usr/lib/postgresql/*/bin holding initdb and pg_ctl, else the PATH's, else None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as_user() -> list[str]:
    """The command prefix that runs a program as the server's owner ([] when we are not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        )
    return ["runuser", "-u", PG_USER, "--"]


class PgServer:
    """initdb in a temporary folder; start(), stop() (immediate), url(db), close() (stop and remove)."""

    def __init__(self, bin_dir: Path):
        self.bin_dir = bin_dir
        self.prefix = _run_as_user()
        self.folder = Path(tempfile.mkdtemp(prefix="floorterm-pg-"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        if self.prefix:
            owner = pwd.getpwnam(PG_USER)
            os.chown(self.folder, owner.pw_uid, owner.pw_gid)
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")
        with open(self.data / "postgresql.conf", "a") as conf:
            # Its own socket folder: /var/run/postgresql belongs to the machine's server.
            conf.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.folder}'\nfsync = off\n"
            )
        self.running = False

    def _run(self, program: str, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [*self.prefix, str(self.bin_dir / program), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.folder,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "30", "start")
        self.running = True

    def stop(self) -> None:
        """Stop at once, like a server that crashed or lost power (clients see the connection drop)."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        self.running = False

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        from floorterm._peewee import load_psycopg

        with load_psycopg().connect(self.url(), autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        if self.running:
            try:
                self.stop()
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture(scope="module")
def own_pg():
    """A private, running PostgreSQL server for this test module; skipped when it cannot be made."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip("own PostgreSQL server: initdb/pg_ctl not found (/usr/lib/postgresql/*/bin or PATH)")
    try:
        from floorterm._peewee import load_psycopg

        load_psycopg()
    except ImportError:
        pytest.skip("own PostgreSQL server: psycopg is not installed")
    try:
        server = PgServer(bin_dir)
    except (OSError, subprocess.SubprocessError, RuntimeError) as exc:
        pytest.skip(f"own PostgreSQL server: cannot set one up as this user ({str(exc).strip()[:200]})")
    try:
        server.start()
        yield server
    finally:
        server.close()
