"""Several OS processes writing to one store at once (DESIGN §4, §8): nothing lost, nothing
doubled, the last units of a step go to exactly one terminal, a retried UUID lands once.

Each child opens its own Store and Ledger from the URL and the repo's config, like a
terminal does. On PostgreSQL some tests hold the job's row lock in the parent until every
child is queued behind it, so the interleaving under test happens every run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import time

import pytest

from conftest import REPO, SUPERVISOR, Actor, at
from floorterm import models as m
from floorterm.errors import DomainError
from floorterm.ledger import new_uuid
from floorterm.verify import verify_store

SPAWN = multiprocessing.get_context("spawn")
CONFIG = REPO / "config.toml"
WAIT = 120  # seconds a test waits for its children before it fails


def _open_ledger(url: str):
    from floorterm.config import load_config
    from floorterm.ledger import Ledger
    from floorterm.store import Store

    return Ledger(Store.open(url), load_config(CONFIG))


def _drain_worker(url: str, jobs: list[str], barrier, results) -> None:
    """Complete single units at CUT on every job until none is pending; report the count."""
    done = {job: 0 for job in jobs}
    problems: list[str] = []
    try:
        ledger = _open_ledger(url)
        barrier.wait(timeout=WAIT)
        active = list(jobs)
        while active:
            for job in list(active):
                try:
                    ledger.complete(job, "CUT", 1, actor=at("CUT-1", "C1"))
                    done[job] += 1
                except DomainError as exc:
                    if not str(exc).startswith("Only 0 pending at Cutting; cannot complete 1"):
                        problems.append(f"{job}: DomainError: {exc}")
                    active.remove(job)
                except Exception as exc:  # StoreError, "database is locked", ...: the test fails
                    problems.append(f"{job}: {type(exc).__name__}: {exc}")
                    active.remove(job)
    except Exception as exc:
        problems.append(f"{type(exc).__name__}: {exc}")
    results.put((done, problems))


def _record_worker(url: str, calls: list[tuple], barrier, results) -> None:
    """Run ledger calls (method name, args, kwargs) one by one, each after a barrier if given."""
    outcomes = []
    try:
        ledger = _open_ledger(url)
        for name, args, kwargs in calls:
            if barrier is not None:
                barrier.wait(timeout=WAIT)
            try:
                receipt = getattr(ledger, name)(*args, **kwargs)
                outcomes.append(("ok", receipt.event_id, receipt.duplicate))
            except DomainError as exc:
                outcomes.append(("refused", type(exc).__name__, str(exc)))
            except Exception as exc:
                outcomes.append(("error", type(exc).__name__, str(exc)))
    except Exception as exc:
        outcomes.append(("error", type(exc).__name__, str(exc)))
    results.put(outcomes)


def run_children(target, args_list: list[tuple], after_start=None) -> list:
    """Start one spawned process per args tuple, gather what each puts on the queue."""
    results = SPAWN.Queue()
    procs = [SPAWN.Process(target=target, args=(*args, results), daemon=True) for args in args_list]
    for proc in procs:
        proc.start()
    try:
        if after_start is not None:
            after_start()
        gathered = [results.get(timeout=WAIT) for _ in procs]
    finally:
        for proc in procs:
            proc.join(timeout=WAIT)
            if proc.is_alive():
                proc.kill()
    assert [proc.exitcode for proc in procs] == [0] * len(procs)
    return gathered


@contextlib.contextmanager
def job_row_locked(store, job: str, waiters: int):
    """PostgreSQL: hold the job's row lock; release() waits until `waiters` sessions queue behind it."""
    psycopg = pytest.importorskip("psycopg")
    conn = psycopg.connect(store.url)
    job_id = m.Job.get(m.Job.number == job).id
    conn.execute("SELECT id FROM job WHERE id = %s FOR UPDATE", (job_id,))
    watcher = psycopg.connect(store.url, autocommit=True)

    def release():
        give_up = time.monotonic() + WAIT
        while True:
            queued = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if queued >= waiters:
                break
            assert time.monotonic() < give_up, f"only {queued} of {waiters} writers queued behind the lock"
            time.sleep(0.02)
        conn.rollback()

    try:
        yield release
    finally:
        conn.close()
        watcher.close()


# -----------------------------------------------------------------------------------------


@pytest.mark.slow  # about 20 s: 800 committed entries from 8 processes
def test_many_processes_complete_single_units_without_loss(store, ledger, queries, make_job):
    jobs = [make_job(qty=200, release=200) for _ in range(4)]
    barrier = SPAWN.Barrier(8)
    # Each child starts on a different job so all four are written at once.
    args = [(store.url, jobs[i % 4 :] + jobs[: i % 4], barrier) for i in range(8)]
    gathered = run_children(_drain_worker, args)

    problems = [p for _, child_problems in gathered for p in child_problems]
    assert problems == []
    for job in jobs:
        reported = sum(done[job] for done, _ in gathered)
        stored = m.Event.select().join(m.Job).where((m.Job.number == job) & (m.Event.kind == "complete")).count()
        card = queries.job_card(job)
        assert (reported, stored) == (200, 200), job
        assert (card.step("CUT").completed, card.step("CUT").pending, card.step("CNC").pending) == (200, 0, 200)
    assert m.StepBalance.select().where((m.StepBalance.pending < 0) | (m.StepBalance.awaiting < 0)).count() == 0
    assert verify_store() == []


def test_last_units_go_to_exactly_one_terminal(store, ledger, queries, make_job):
    jobs = []
    for _ in range(5):
        job = make_job(qty=10, release=10)
        ledger.complete(job, "CUT", 5, actor=SUPERVISOR)
        jobs.append(job)
    barrier = SPAWN.Barrier(2)
    calls = [("complete", (job, "CUT", 5), {"actor": at("CUT-1", "C1")}) for job in jobs]
    first, second = run_children(_record_worker, [(store.url, calls, barrier), (store.url, calls, barrier)])

    for job, a, b in zip(jobs, first, second):
        outcomes = sorted([a[0], b[0]])
        assert outcomes == ["ok", "refused"], (job, a, b)
        refusal = a if a[0] == "refused" else b
        assert refusal[2] == "Only 0 pending at Cutting; cannot complete 5"
        card = queries.job_card(job)
        assert (card.step("CUT").pending, card.step("CUT").completed, card.step("CNC").pending) == (0, 10, 10)
    assert verify_store() == []


def test_same_uuid_from_many_processes_lands_once(request, store, ledger, queries, make_job):
    job = make_job(qty=5, release=5)
    entry = new_uuid()
    call = ("complete", (job, "CUT", 5), {"actor": at("CUT-1", "C1"), "uuid": entry})
    children = 4
    if store.backend == "postgres":
        with job_row_locked(store, job, waiters=children) as release:
            gathered = run_children(_record_worker, [(store.url, [call], None)] * children, after_start=release)
    else:
        barrier = SPAWN.Barrier(children)
        gathered = run_children(_record_worker, [(store.url, [call], barrier)] * children)

    outcomes = [child[0] for child in gathered]
    assert all(o[0] == "ok" for o in outcomes), outcomes
    assert len({o[1] for o in outcomes}) == 1, "every retry must get the first entry's id"
    assert sorted(o[2] for o in outcomes) == [False] + [True] * (children - 1)
    assert m.Event.select().where(m.Event.uuid == entry).count() == 1
    assert queries.job_card(job).step("CNC").pending == 5
    assert verify_store() == []


def test_same_uuid_with_plenty_pending_lands_once(store, ledger, queries, make_job):
    job = make_job(qty=100, release=100)
    entry = new_uuid()
    call = ("complete", (job, "CUT", 3), {"actor": at("CUT-1", "C1"), "uuid": entry})
    barrier = SPAWN.Barrier(4)
    gathered = run_children(_record_worker, [(store.url, [call], barrier)] * 4)
    outcomes = [child[0] for child in gathered]
    assert all(o[0] == "ok" for o in outcomes), outcomes
    assert len({o[1] for o in outcomes}) == 1
    assert m.Event.select().where(m.Event.uuid == entry).count() == 1
    assert queries.job_card(job).step("CNC").pending == 3


def test_two_supervisors_void_the_same_entry_at_once(request, store, ledger, queries, make_job):
    job = make_job(qty=10, release=10)
    entry = ledger.complete(job, "CUT", 4, actor=SUPERVISOR)
    call = ("void", (entry.uuid,), {"actor": Actor("S1"), "note": "wrong job"})
    if store.backend == "postgres":
        with job_row_locked(store, job, waiters=2) as release:
            gathered = run_children(_record_worker, [(store.url, [call], None)] * 2, after_start=release)
    else:
        barrier = SPAWN.Barrier(2)
        gathered = run_children(_record_worker, [(store.url, [call], barrier)] * 2)

    outcomes = sorted(child[0] for child in gathered)
    assert [o[0] for o in outcomes] == ["ok", "refused"], outcomes
    assert outcomes[1][2] == "That entry is already voided"
    assert m.Event.select().where(m.Event.voids == entry.uuid).count() == 1
    assert queries.job_card(job).step("CUT").pending == 10
    assert verify_store() == []
