"""The core starts fast and lean (DESIGN §2, §7): no Textual, and no PostgreSQL driver
unless a PostgreSQL store is opened. Checked in a fresh interpreter each time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO

CORE = (
    "floorterm.ledger",
    "floorterm.queries",
    "floorterm.store",
    "floorterm.config",
    "floorterm.rules",
    "floorterm.models",
    "floorterm.inputs",
    "floorterm.scan",
    "floorterm.verify",
    "floorterm.clock",
    "floorterm.outbox",
    "floorterm.kiosk_snapshot",
)
HEAVY = ("textual", "psycopg", "psycopg2", "psycopg_binary", "psycopg_c")


def loaded_after(code: str) -> list[str]:
    """Run `code` in a new interpreter; return which HEAVY modules it ended up importing."""
    script = code + f"\nimport json, sys\nprint(json.dumps(sorted(n for n in {HEAVY!r} if n in sys.modules)))\n"
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_importing_the_core_loads_neither_textual_nor_psycopg():
    assert loaded_after("\n".join(f"import {name}" for name in CORE)) == []


def test_each_core_module_alone_is_clean():
    for name in CORE:
        assert loaded_after(f"import {name}") == [], name


def test_using_a_sqlite_store_does_not_load_psycopg(tmp_path):
    code = f"""
from floorterm.config import load_config
from floorterm.ledger import Actor, JobSpec, Ledger
from floorterm.queries import Queries
from floorterm.store import Store, init_store
from floorterm.verify import verify_store

url = "sqlite:///{tmp_path / 'floorterm.db'}"
store, _ = init_store(url)
store.close()
store = Store.open(url)
config = load_config({str(REPO / 'config.toml')!r})
ledger = Ledger(store, config)
ledger.add_operator("S1", "Sam", "supervisor")
ledger.create_jobs([JobSpec(number="J-1", qty=5, routing="standard")])
ledger.release("J-1", 5, actor=Actor("S1"))
Queries(config).job_card("J-1")
assert verify_store() == []
"""
    assert loaded_after(code) == []
