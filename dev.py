#!/usr/bin/env python3
"""Set up floorterm in ./.venv and run it: `python3 dev.py demo` or `python3 dev.py test`.

Needs only Python 3.11+. The first run creates the virtual environment and installs
floorterm with its test tools; later runs reinstall only when pyproject.toml changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".floorterm-installed"
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"


def say(text: str) -> None:
    print(f"dev.py: {text}", flush=True)


def ensure_venv() -> None:
    if sys.version_info < (3, 11):
        sys.exit(f"dev.py: floorterm needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    if not PYTHON.exists():
        say(f"creating the virtual environment {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)  # ensurepip's own output is captured by venv
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    run_quietly("updating pip", [PYTHON, "-m", "pip", "install", "--upgrade", "pip"])
    run_quietly(
        "installing floorterm and its test tools (the first time takes a minute)",
        [PYTHON, "-m", "pip", "install", "-e", f"{ROOT}[dev]"],
    )
    STAMP.write_text(wanted)


def run_quietly(step: str, command: list) -> None:
    """One line saying what runs; the command's own output (pip's progress and warnings) only if it fails."""
    say(step)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    done = subprocess.run(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace", env=env
    )
    if done.returncode != 0:
        sys.stdout.write(done.stdout)
        sys.exit(f"dev.py: {step} failed (exit status {done.returncode}); its output is above")


# Programs some tests drive for real; installed from Debian packages where we can.
TEST_PROGRAMS = {
    "tmux": "tmux",
    "zbarimg": "zbar-tools",
    "ssh": "openssh-client",
    "/usr/sbin/sshd": "openssh-server",
    "chromium": "chromium",  # `floorterm serve` in a real browser (tests/test_serve.py)
    "chromedriver": "chromium-driver",
    "pdftoppm": "poppler-utils",  # printed HTML job cards turned into pictures (tests/test_labels.py)
}


def ensure_test_programs() -> None:
    """Install missing test programs with apt-get when running as root; else their tests skip."""
    missing = {
        prog: pkg for prog, pkg in TEST_PROGRAMS.items() if shutil.which(prog) is None and not os.path.exists(prog)
    }
    if not missing:
        return
    names = ", ".join(missing)
    can_install = shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0
    if not can_install:
        say(f"{names} not found and cannot be installed here: the tests that need them will be skipped")
        return
    say(f"installing {', '.join(missing.values())} for the tests that drive them")
    quiet = {"stdout": subprocess.DEVNULL, "env": {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}}
    subprocess.run(["apt-get", "update", "-qq"], check=False, **quiet)
    result = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing.values()], check=False, **quiet
    )
    if result.returncode != 0:
        say(f"could not install {names}: the tests that need them will be skipped")


def postgres_answers(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("demo", "test", "setup"):
        print(__doc__.strip())
        print("\nusage: python3 dev.py demo [floorterm demo options] | test [pytest options] | setup")
        return 2
    ensure_venv()
    command, rest = argv[0], argv[1:]
    if command == "setup":
        return 0
    if command == "demo":
        return subprocess.call([BIN / "floorterm", "demo", *rest], cwd=ROOT)
    ensure_test_programs()
    env = dict(os.environ)
    if not env.get("FLOORTERM_TEST_PG"):
        if postgres_answers():
            env["FLOORTERM_TEST_PG"] = LOCAL_PG
            say(f"PostgreSQL answers on 127.0.0.1:5432: its tests run too ({LOCAL_PG})")
        else:
            say("no PostgreSQL on 127.0.0.1:5432: its tests will be skipped (set FLOORTERM_TEST_PG to a server URL)")
    return subprocess.call([PYTHON, "-m", "pytest", *rest], cwd=ROOT, env=env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
