"""Shared fixtures: a real store on both backends, the repo's config, a controllable clock.

PostgreSQL tests run when FLOORTERM_TEST_PG is set to a server URL (the README's test
command sets it when a server answers on 127.0.0.1:5432; .ci/run always sets it). Each
test run creates its own throw-away databases there and drops them afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from pathlib import Path

import pytest

from floorterm import models as m
from floorterm.config import load_config
from floorterm.errors import DomainError
from floorterm.ledger import Actor, JobSpec, Ledger, MaterialSpec
from floorterm.queries import Queries
from floorterm.store import Store, init_store

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("FLOORTERM_TEST_PG", "").strip()
PG_SKIP_REASON = (
    "PostgreSQL tests skipped: FLOORTERM_TEST_PG is not set (the README's test command sets it "
    "when a server answers on 127.0.0.1:5432; .ci/run always does)"
)

# The demo badges every test store starts with: (badge, name, role).
OPERATORS = (
    ("S1", "Sam Supervisor", "supervisor"),
    ("P1", "Pat Planner", "planner"),
    ("W1", "Wanda Welder", "operator"),
    ("W2", "Walt Welder", "operator"),
    ("C1", "Carl Cutter", "operator"),
    ("Q1", "Quinn Inspector", "qc"),
    ("ST1", "Stacy Stores", "stores"),
    ("V1", "Vic Viewer", "viewer"),
)


class FakeClock:
    """A clock tests move by hand; naive UTC like the store."""

    def __init__(self, start: dt.datetime = dt.datetime(2026, 11, 23, 7, 0, 0)):
        self.now = start

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta) -> dt.datetime:
        self.now += dt.timedelta(**delta)
        return self.now


def _pg_admin_url(dbname: str) -> str:
    base, _, _ = PG_URL.rpartition("/")
    return f"{base}/{dbname}"


class PgDatabases:
    """Creates throw-away databases on the test server and drops them at the end."""

    def __init__(self):
        from floorterm._peewee import load_psycopg

        self.psycopg = load_psycopg()
        try:
            self.admin = self.psycopg.connect(PG_URL, autocommit=True, connect_timeout=5)
        except self.psycopg.OperationalError as exc:
            pytest.exit(f"FLOORTERM_TEST_PG={PG_URL} is set but PostgreSQL is unreachable: {exc}", returncode=3)
        self.prefix = f"ft_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.created: list[str] = []
        self.template: str | None = None

    def _template(self) -> str:
        if self.template is None:
            name = f"{self.prefix}_tmpl"
            self.admin.execute(f'CREATE DATABASE "{name}"')
            self.created.append(name)
            store, _ = init_store(_pg_admin_url(name))
            store.close()
            self.template = name
        return self.template

    def new(self, migrated: bool = True) -> str:
        name = f"{self.prefix}_{len(self.created)}"
        if migrated:
            self.admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template()}"')
        else:
            self.admin.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return _pg_admin_url(name)

    def drop_all(self):
        for name in reversed(self.created):
            self.admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            self.admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        self.admin.close()


@pytest.fixture(scope="session")
def pg_databases():
    if not PG_URL:
        pytest.skip(PG_SKIP_REASON)
    dbs = PgDatabases()
    yield dbs
    dbs.drop_all()


def pytest_report_header(config):
    if PG_URL:
        return f"floorterm: PostgreSQL tests ON against {PG_URL}"
    return f"floorterm: {PG_SKIP_REASON}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not PG_URL:
        terminalreporter.write_line(PG_SKIP_REASON, yellow=True)


@pytest.fixture(scope="session")
def config():
    return load_config(REPO / "config.toml")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request, tmp_path):
    """An empty, initialised store on each backend (URL only; not opened in this process)."""
    if request.param == "sqlite":
        return new_sqlite_store(tmp_path / "floorterm.db")
    return request.getfixturevalue("pg_databases").new()


@pytest.fixture
def sqlite_url(tmp_path):
    return new_sqlite_store(tmp_path / "floorterm.db")


def new_sqlite_store(path) -> str:
    """An empty, initialised SQLite store at path (not left open); its URL."""
    url = f"sqlite:///{path}"
    store, _ = init_store(url)
    store.close()
    return url


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(store_url):
    s = Store.open(store_url)
    yield s
    s.close()


@pytest.fixture
def ledger(store, config, clock):
    led = Ledger(store, config, clock=clock)
    for badge, name, role in OPERATORS:
        led.add_operator(badge, name, role)
    return led


@pytest.fixture
def queries(config, clock):
    return Queries(config, clock=clock)


SUPERVISOR = Actor("S1")
PLANNER = Actor("P1")
VIEWER = Actor("V1", terminal="BOARD-1")
QC = Actor("Q1", terminal="QC-1")
STORES = Actor("ST1", terminal="STORES-1")


def at(stage_terminal: str, badge: str = "W1") -> Actor:
    """An operator at a terminal, e.g. at('WELD-1')."""
    return Actor(badge, terminal=stage_terminal)


def event_count() -> int:
    return m.Event.select().count()


def refused(queries, job: str, call, error=DomainError, message: str | None = None) -> str:
    """Run a call that must be refused; check the message and that nothing was written."""
    before = (event_count(), queries.job_card(job).to_json())
    with pytest.raises(error) as info:
        call()
    if message is not None:
        assert str(info.value) == message
    assert (event_count(), queries.job_card(job).to_json()) == before, "a refused entry changed the store"
    return str(info.value)


def job_factory(ledger):
    """make(number=None, qty=20, routing='standard', release=None, **fields): create a job on `ledger`."""
    counter = {"n": 0}

    def make(
        number: str | None = None, qty: int = 20, routing: str = "standard", release: int | None = None, **fields
    ) -> str:
        counter["n"] += 1
        number = number or f"J-{1000 + counter['n']}"
        materials = fields.pop(
            "materials", (MaterialSpec("PLATE-8", 40, "Steel plate 8 mm"), MaterialSpec("BOLT-M12", 80, "Bolt M12x40"))
        )
        ledger.create_jobs([JobSpec(number=number, qty=qty, routing=routing, materials=materials, **fields)])
        if release:
            ledger.release(number, release, actor=SUPERVISOR)
        return number

    return make


@pytest.fixture
def make_job(ledger):
    """Create a job (default: 20 of the standard routing, two material lines) and optionally release it."""
    return job_factory(ledger)


@pytest.fixture(autouse=True)
def private_outbox(tmp_path, monkeypatch):
    """Each test's kiosks keep their outbox and offline copy in its own folder, never the user's."""
    monkeypatch.setenv("FLOORTERM_OUTBOX_DIR", str(tmp_path / "outbox"))
