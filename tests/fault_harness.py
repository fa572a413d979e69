"""Real faults for tests: a program run without root's powers, and a small disk that fills up.

Root ignores file permissions, so as root a permission test runs its program as user `nobody`
(setpriv, else runuser) in a folder that user owns; as any other user it runs the program as
itself. A full disk is a small tmpfs mounted for the test (root only), filled to the last byte.
Each fixture skips the test, saying why, when the machine does not allow it.
"""

from __future__ import annotations

import errno
import mmap
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from conftest import REPO

CONFIG = REPO / "config.toml"
UNPRIVILEGED_USER = "nobody"


def _switch_user_prefix() -> list[str]:
    """The command prefix that runs a program as UNPRIVILEGED_USER, or [] when this is not root."""
    if os.geteuid() != 0:
        return []  # permissions already apply to this user
    try:
        user = pwd.getpwnam(UNPRIVILEGED_USER)
    except KeyError:
        pytest.skip(f"permission test: running as root and there is no user {UNPRIVILEGED_USER} to run as")
    for prefix in (
        ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"],
        ["runuser", "-u", UNPRIVILEGED_USER, "--"],
    ):
        if shutil.which(prefix[0]) and subprocess.run([*prefix, "true"], capture_output=True).returncode == 0:
            return prefix
    pytest.skip(
        f"permission test: running as root, and neither setpriv nor runuser can switch to {UNPRIVILEGED_USER} here"
    )


class Unprivileged:
    """A folder the unprivileged user owns, and a way to run floorterm (or Python) as that user."""

    def __init__(self):
        self.prefix = _switch_user_prefix()
        # Not under pytest's tmp_path: root's is closed to other users.
        self.folder = Path(tempfile.mkdtemp(prefix="floorterm-perm-"))
        self.folder.chmod(0o755)
        if self.prefix:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)

    @property
    def user(self) -> str:
        """The name of the user the programs run as."""
        return UNPRIVILEGED_USER if self.prefix else pwd.getpwuid(os.geteuid()).pw_name

    def own(self, path: Path) -> None:
        """Give a file the test made (as root) to the unprivileged user, as if that user had made it."""
        if self.prefix:
            user = pwd.getpwnam(UNPRIVILEGED_USER)
            os.chown(path, user.pw_uid, user.pw_gid)

    def python(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [*self.prefix, sys.executable, *args],
            capture_output=True,
            text=True,
            cwd=self.folder,
            timeout=120,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )

    def floorterm(self, *args: str, db: Path) -> subprocess.CompletedProcess:
        """`floorterm --config config.toml --db DB ARGS…` as the unprivileged user."""
        return self.python("-m", "floorterm", "--config", str(CONFIG), "--db", str(db), *args)

    def close(self) -> None:
        for root, folders, _ in os.walk(self.folder):
            for name in folders:
                os.chmod(os.path.join(root, name), 0o755)  # a test may have closed a folder
        self.folder.chmod(0o755)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def unprivileged():
    runner = Unprivileged()
    yield runner
    runner.close()


class SmallDisk:
    """A small tmpfs on a folder of its own: `fill()` takes its last byte, `free()` gives it back."""

    def __init__(self, size_kib: int):
        self.folder = Path(tempfile.mkdtemp(prefix="floorterm-disk-"))
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs", str(self.folder)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            self.folder.rmdir()
            pytest.skip(
                f"disk-full test: this user may not mount a small tmpfs "
                f"({(done.stderr or done.stdout).strip() or 'mount failed'})"
            )
        self.filler = self.folder / "filler"

    def fill(self, leave: int = 0) -> None:
        """Write until the disk refuses, then give back `leave` bytes (in whole pages, as tmpfs counts).

        With leave=0 the next byte anyone writes there gets ENOSPC.
        """
        with open(self.filler, "ab", buffering=0) as handle:
            for chunk in (b"\0" * 65536, b"\0" * mmap.PAGESIZE, b"\0"):
                try:
                    while True:
                        handle.write(chunk)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC, exc
        if leave:
            pages = -(-leave // mmap.PAGESIZE)
            os.truncate(self.filler, self.filler.stat().st_size - pages * mmap.PAGESIZE)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def close(self) -> None:
        if subprocess.run(["umount", str(self.folder)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(self.folder)], capture_output=True)  # a file still open
        self.folder.rmdir()


@pytest.fixture
def small_disk():
    disk = SmallDisk(2048)
    yield disk
    disk.close()
