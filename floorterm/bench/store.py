"""`floorterm bench store`: how fast the store records an entry and shows a job card (DESIGN.md §7).

On a demo store (built here if the store is empty) it measures, per call and with
time.perf_counter:
  * recording an entry through the Ledger (complete 1 unit at a step with pending work)
    from 1 and from N writer processes at once, each process with its own connection;
  * beside it, the floor: a bare one-row INSERT in its own transaction through the raw
    driver (sqlite3 / psycopg) into a scratch table of the same database, same processes;
  * reading a job card (Queries.job_card) for random job numbers.

It writes real entries (completes) to the store: run it on a demo store, never on the plant's.
"""

from __future__ import annotations

import math
import multiprocessing
import random
import time
from queue import Empty
from typing import Callable

from floorterm import models as m
from floorterm.config import Config
from floorterm.errors import DomainError, FloortermError, StoreError
from floorterm.ledger import Actor, Ledger
from floorterm.queries import Queries
from floorterm.store import Store, init_store, sqlite_path_from_url

BENCH_BADGE = "BENCH"
FLOOR_TABLE = "bench_floor"
START_TIMEOUT = 300.0  # seconds for every process to start and open the store


def percentiles(seconds: list[float]) -> dict:
    """p50/p95/p99/max in milliseconds (nearest rank), with the call count."""
    if not seconds:
        return {"calls": 0, "p50": None, "p95": None, "p99": None, "max": None}
    ordered = sorted(seconds)

    def rank(p: float) -> float:
        return round(ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)] * 1000, 3)

    return {
        "calls": len(ordered),
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "max": round(ordered[-1] * 1000, 3),
    }


def run_store_bench(
    url: str,
    config: Config,
    *,
    jobs: int = 20000,
    writers: tuple[int, ...] = (1, 20),
    samples: int = 500,
    calls: int = 200,
    pause: float = 0.0,
    seed: int = 7,
    out: Callable[[str], None] = print,
) -> dict:
    """Build (or reuse) a demo store at `url`, measure, print a table through `out`, return the numbers.

    `calls` per writer process; `pause` is the mean think time in seconds a writer waits
    between its calls (uniform 0..2*pause; 0 = back to back, i.e. the store saturated).
    Returns {'store', 'backend', 'jobs', 'events', 'pause', 'record': {n: stats}, 'floor':
    {n: stats}, 'job_card': stats}; stats hold calls, errors, p50/p95/p99/max in ms, per_second.
    """
    rng = random.Random(seed)
    store, _ = init_store(url)
    try:
        count = m.Job.select().count()
        if count == 0:
            out(f"Building a demo store of {jobs:,} jobs (this takes a few minutes for 20,000) ...")
            _build(store, config, jobs, out)
        else:
            out(f"Reusing the store's {count:,} jobs" + ("" if count == jobs else f" (asked for {jobs:,})"))
        result = {
            "store": store.display_url,
            "backend": store.backend,
            "jobs": m.Job.select().count(),
            "events": m.Event.select().count(),
            "pause": pause,
            "record": {},
            "floor": {},
        }
        Ledger(store, config).import_operators([(BENCH_BADGE, "Store benchmark", "supervisor")])
        plan = _write_plan(rng, sum(writers) * calls)
        per_process = len(plan) // sum(writers)
        if per_process < calls:
            out(f"Only {len(plan)} units are pending at work steps: {per_process} calls per process")
        if per_process == 0:
            raise DomainError("The store has too little pending work to measure writes")
        store.close()  # the writers open their own connections; keep none here meanwhile
        for n in writers:
            mine, plan = plan[: n * per_process], plan[n * per_process :]
            chunks = [mine[i::n] for i in range(n)]
            result["record"][n] = _run_processes(
                _record_worker, [(url, config, chunk, pause, seed + i) for i, chunk in enumerate(chunks)]
            )
        _floor_table(url, create=True)
        try:
            for n in writers:
                result["floor"][n] = _run_processes(
                    _floor_worker, [(url, per_process, pause, seed + i) for i in range(n)]
                )
        finally:
            _floor_table(url, create=False)
        store = Store.open(url)
        result["job_card"] = _read_cards(config, rng, samples)
    finally:
        store.close()
    for line in format_table(result):
        out(line)
    return result


def _build(store: Store, config: Config, jobs: int, out) -> None:
    from floorterm.demo import build_demo

    step = max(1, jobs // 10)
    shown = [0]

    def progress(done: int, total: int) -> None:
        if done - shown[0] >= step or done == total:
            shown[0] = done
            out(f"  {done:,} / {total:,} jobs")

    summary = build_demo(store, config, jobs=jobs, progress=progress)
    out(f"  {summary.jobs:,} jobs, {summary.events:,} events in {summary.seconds:.0f} s")


def _write_plan(rng: random.Random, wanted: int) -> list[tuple[str, str]]:
    """(job, stage) pairs to complete 1 unit each: every pair names a unit pending there now."""
    rows = (
        m.StepBalance.select(m.Job.number, m.StepBalance.stage, m.StepBalance.pending)
        .join(m.Job, on=(m.StepBalance.job == m.Job.id))
        .join(m.JobStep, on=(m.StepBalance.step == m.JobStep.id), src=m.StepBalance)
        .where((m.StepBalance.pending > 0) & m.JobStep.kind.in_(("work", "pack")) & m.Job.is_open & ~m.Job.on_hold)
        .order_by(m.Job.number, m.StepBalance.stage)
        .tuples()
    )
    units = [(number, stage) for number, stage, pending in rows for _ in range(pending)]
    rng.shuffle(units)
    return units[:wanted]


def _run_processes(worker, args: list[tuple]) -> dict:
    """Start one process per args tuple, let them go together once all are ready, gather their call times."""
    ctx = multiprocessing.get_context("spawn")
    ready, go, done = ctx.Queue(), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(*a, ready, go, done), daemon=True) for a in args]
    for p in procs:
        p.start()
    try:
        _collect(ready, procs, "start")
        go.set()
        started = time.perf_counter()
        results = _collect(done, procs, "finish")
        wall = time.perf_counter() - started
    finally:
        go.set()
        for p in procs:
            p.join(timeout=30)
            if p.is_alive():
                p.terminate()
    times = [t for r in results for t in r["times"]]
    errors = [e for r in results for e in r["errors"]]
    stats = percentiles(times)
    stats.update(
        processes=len(args),
        errors=len(errors),
        first_error=errors[0] if errors else None,
        per_second=round(len(times) / wall, 1) if wall > 0 else None,
    )
    return stats


def _collect(queue, procs, what: str) -> list:
    """One message from each process; fail fast if one dies instead of answering."""
    got = []
    deadline = time.monotonic() + START_TIMEOUT
    while len(got) < len(procs):
        try:
            got.append(queue.get(timeout=0.5))
        except Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise StoreError(
                    f"A benchmark process failed to {what} (exit code "
                    f"{dead[0].exitcode if dead else 'none: timed out'})"
                ) from None
    return got


def _record_worker(
    url: str, config: Config, targets: list[tuple[str, str]], pause: float, seed: int, ready, go, done
) -> None:
    times, errors = [], []
    store = Store.open(url)
    ledger = Ledger(store, config)
    actor = Actor(BENCH_BADGE)
    m.Operator.select().count()  # connect and warm the cache before the clock starts
    ready.put(True)
    go.wait()
    think = random.Random(seed)
    for number, stage in targets:
        if pause:
            time.sleep(think.uniform(0, 2 * pause))
        started = time.perf_counter()
        try:
            ledger.complete(number, stage, 1, actor=actor)
        except FloortermError as exc:
            errors.append(str(exc))
            continue
        times.append(time.perf_counter() - started)
    store.close()
    done.put({"times": times, "errors": errors})


def _floor_table(url: str, *, create: bool) -> None:
    path = sqlite_path_from_url(url)
    if path is None:
        import psycopg

        with psycopg.connect(_pg_url(url), autocommit=True) as conn:
            if create:
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} (id BIGSERIAL PRIMARY KEY, "
                    "job TEXT NOT NULL, qty INTEGER NOT NULL, at TIMESTAMP NOT NULL)"
                )
            else:
                conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
        return
    import sqlite3

    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
    try:
        if create:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {FLOOR_TABLE} "
                "(id INTEGER PRIMARY KEY, job TEXT NOT NULL, qty INTEGER NOT NULL, at TEXT NOT NULL)"
            )
        else:
            conn.execute(f"DROP TABLE IF EXISTS {FLOOR_TABLE}")
    finally:
        conn.close()


def _pg_url(url: str) -> str:
    return "postgresql://" + url[len("postgres://") :] if url.startswith("postgres://") else url


def _floor_worker(url: str, calls: int, pause: float, seed: int, ready, go, done) -> None:
    """The same one-row write with nothing around it: the driver, one transaction, a durable commit."""
    times, errors = [], []
    path = sqlite_path_from_url(url)
    if path is None:
        import psycopg

        conn = psycopg.connect(_pg_url(url), autocommit=True)
        insert = f"INSERT INTO {FLOOR_TABLE} (job, qty, at) VALUES (%s, %s, now())"

        def write(i: int) -> None:
            with conn.transaction():
                conn.execute(insert, (f"J-{i}", 1))
    else:
        import sqlite3

        conn = sqlite3.connect(str(path), isolation_level=None, timeout=30)
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=5000")
        insert = f"INSERT INTO {FLOOR_TABLE} (job, qty, at) VALUES (?, ?, datetime('now'))"

        def write(i: int) -> None:
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.execute(insert, (f"J-{i}", 1))
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    ready.put(True)
    go.wait()
    think = random.Random(seed)
    for i in range(calls):
        if pause:
            time.sleep(think.uniform(0, 2 * pause))
        started = time.perf_counter()
        try:
            write(i)
        except Exception as exc:
            errors.append(str(exc))
            continue
        times.append(time.perf_counter() - started)
    conn.close()
    done.put({"times": times, "errors": errors})


def _read_cards(config: Config, rng: random.Random, samples: int) -> dict:
    numbers = [n for (n,) in m.Job.select(m.Job.number).tuples()]
    queries = Queries(config)
    for number in numbers[:5]:  # a terminal is a long-lived process: open the pages once first
        queries.job_card(number)
    times = []
    started_all = time.perf_counter()
    for _ in range(samples):
        number = rng.choice(numbers)
        started = time.perf_counter()
        queries.job_card(number)
        times.append(time.perf_counter() - started)
    wall = time.perf_counter() - started_all
    stats = percentiles(times)
    stats.update(processes=1, errors=0, first_error=None, per_second=round(len(times) / wall, 1) if wall else None)
    return stats


def format_table(result: dict) -> list[str]:
    """The benchmark's numbers as the lines of a plain table."""
    pace = (
        f"writers pause {result['pause'] * 1000:.0f} ms on average between calls"
        if result["pause"]
        else "writers write back to back"
    )
    lines = [
        f"store: {result['store']} ({result['backend']}), {result['jobs']:,} jobs, {result['events']:,} events; {pace}",
        f"{'what':<38} {'procs':>5} {'calls':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} "
        f"{'per s':>8} {'errors':>6}",
    ]
    driver = "sqlite3" if result["backend"] == "sqlite" else "psycopg"
    rows = []
    for n, stats in result["record"].items():
        rows.append(("record entry (Ledger.complete)", stats))
        if n in result["floor"]:
            rows.append((f"  floor: raw {driver} one-row commit", result["floor"][n]))
    rows.append(("job card (Queries.job_card)", result["job_card"]))
    for name, s in rows:
        lines.append(
            f"{name:<38} {s['processes']:>5} {s['calls']:>6} {_ms(s['p50'])} {_ms(s['p95'])} "
            f"{_ms(s['p99'])} {_ms(s['max'])} {s['per_second'] or 0:>8.0f} {s['errors']:>6}"
        )
    errors = [s["first_error"] for _, s in rows if s.get("first_error")]
    if errors:
        lines.append(f"first error: {errors[0]}")
    lines.append("budgets (DESIGN.md §7): job card p95 < 50 ms; record entry p95 < 100 ms with 20 writers")
    return lines


def _ms(value) -> str:
    return f"{value:>8.1f}" if value is not None else f"{'-':>8}"
