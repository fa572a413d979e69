"""`floorterm simulate`: a virtual plant of kiosk terminals and live boards on one store.

N virtual terminals, spread over a few OS processes, record entries through the Ledger at
floor pace (each one entry every `pace` seconds on average, uniformly 0.5..1.5 × pace): they
look a job up as a kiosk does (the job card), then complete, reject with a reason, open or
end a delay, pass or fail QC, issue material or dispatch, following the demo plant's
terminals, crews and routings. Refusals (two terminals racing for the last units, a stale
job list) are expected and counted by their message; anything else is an error.

M boards follow the change feed headless: the board's own refresh path without a screen
(floorterm.feed wakes them; board_feed.changed_jobs / ChangeTracker pick the touched jobs by
event id; Reports.wip_rows re-reads only those; stage summaries at most every 2 s; a
periodic reconcile), with the board's minimum interval between reads. The boards of one OS
process share one change-feed connection; each board reads on its own connection.

Measured: entries, refusals by reason, errors, commit → board latency (wall clock of one
machine: from the writer's return to the moment a board's tracker holds the job at that
event id or later), every board × every commit; the store's connections and CPU.

It writes real entries: give it a throw-away store (an empty one gets the demo plant).
"""

from __future__ import annotations

import dataclasses
import heapq
import math
import multiprocessing
import os
import random
import re
import threading
import time
from collections import Counter
from queue import Empty
from typing import Callable

from floorterm.config import Config
from floorterm.errors import DomainError, FloortermError, InputError, StoreError
from floorterm.store import sqlite_path_from_url

# The board's own intervals (screens/board.py): re-read rows at most every 0.25 s, the stage
# summaries at most every 2 s, a heartbeat read every 5 s, a full reconcile every 60 s.
ROWS_INTERVAL = 0.25
SUMMARY_INTERVAL = 2.0
HEARTBEAT_SECONDS = 5.0
RECONCILE_SECONDS = 60.0
GRACE_SECONDS = 15.0  # after the terminals stop: how long the boards may take to catch up
START_TIMEOUT = 300.0
TERMINALS_PER_PROCESS = 50
THREADS_PER_PROCESS = 3  # store connections per terminal process: its terminals take turns on them
BOARDS_PER_PROCESS = 10


@dataclasses.dataclass
class Seat:
    """One virtual terminal: a config terminal, its stages, and the badge signed in there."""

    index: int
    terminal: str
    kind: str  # work | qc | pack | dispatch | stores
    stages: tuple[str, ...]
    badge: str


def plan_seats(config: Config, count: int) -> list[Seat]:
    """`count` terminals dealt over the demo plant's kiosk, QC and stores terminals in turn."""
    from floorterm.demo import demo_operators

    crews: dict[str, list[str]] = {}
    for badge, _, role, home in demo_operators():
        if home and role in ("operator", "qc", "stores"):
            crews.setdefault(home, []).append(badge)
    seats = []
    usable = [t for t in config.terminals if t.kind != "board" and crews.get(t.id)]
    if not usable:
        raise DomainError("The config has no kiosk terminals with demo operators to simulate")
    for i in range(count):
        t = usable[i % len(usable)]
        kind = "stores" if t.kind == "stores" else config.stage(t.stages[0]).kind
        badges = crews[t.id]
        seats.append(Seat(i, t.id, kind, tuple(t.stages), badges[(i // len(usable)) % len(badges)]))
    return seats


def refusal_key(message: str) -> str:
    """A refusal's message with its numbers and job numbers blanked, to count alike ones together."""
    text = re.sub(r"'[^']*'", "'…'", message.splitlines()[0] if message else "")
    text = re.sub(r"\b[A-Z]*-?\d[\w.-]*", "N", text)
    return text[:90]


# -- terminals ----------------------------------------------------------------------------------


class _Terminal:
    """What one operator does next, decided from the job card as the kiosk shows it."""

    def __init__(self, seat: Seat, config: Config, ledger, queries, rng: random.Random, pool):
        from floorterm.ledger import Actor

        self.seat, self.config, self.rng, self.pool = seat, config, rng, pool
        self.ledger, self.queries = ledger, queries
        self.actor = Actor(seat.badge, terminal=seat.terminal)
        self.reject_reasons = [r.code for r in config.reasons("reject")]
        self.qc_reasons = [r.code for r in config.reasons("qc_fail")]
        self.delay_reasons = [r.code for r in config.reasons("delay")]

    def act(self) -> tuple[str, object] | None:
        """One entry; returns (kind, receipt) or None when this terminal found nothing to do."""
        seat, rng = self.seat, self.rng
        stage = rng.choice(seat.stages)
        number = self.pool.pick(stage, rng)
        if number is None:
            return None
        card = self.queries.job_card(number)  # the scan: the kiosk shows the card first
        if seat.kind == "stores":
            short = [mv for mv in card.material if mv.needed - mv.net_issued > 0]
            if not short:
                return None
            mv = rng.choice(short)
            qty = max(1, min(mv.needed - mv.net_issued, rng.randint(1, 20)))
            return "material_issue", self.ledger.material_issue(number, mv.item, qty, actor=self.actor)
        step = card.step(stage)
        if seat.kind == "dispatch":
            if card.ready_for_dispatch <= 0:
                return None
            qty = rng.randint(1, card.ready_for_dispatch)
            return "dispatch", self.ledger.dispatch(number, qty, actor=self.actor, reference=f"SIM-{seat.index}")
        if step.open_delay is not None:
            return "resume", self.ledger.resume(number, stage, actor=self.actor)
        if step.pending <= 0:
            return None
        roll = rng.random()
        if roll < 0.04:
            return "delay", self.ledger.delay(number, stage, rng.choice(self.delay_reasons), actor=self.actor)
        qty = rng.randint(1, min(step.pending, 5))
        if seat.kind == "qc":
            if roll < 0.12:
                return "qc_fail", self.ledger.qc_fail(number, stage, 1, rng.choice(self.qc_reasons), actor=self.actor)
            return "qc_pass", self.ledger.qc_pass(number, stage, qty, actor=self.actor)
        if roll < 0.10:
            return "reject", self.ledger.reject(number, stage, 1, rng.choice(self.reject_reasons), actor=self.actor)
        if roll < 0.12:  # a miscount: more than is pending there (the ledger refuses it)
            qty = step.pending + rng.randint(1, 5)
        return "complete", self.ledger.complete(number, stage, qty, actor=self.actor)


class _JobPool:
    """Per process: the open jobs with work at each stage, re-listed every few seconds (as an
    operator sees the jobs at the machine), and the jobs that need material or can ship."""

    def __init__(self, queries, every: float = 5.0):
        self.queries, self.every = queries, every
        self.lock = threading.Lock()
        self.lists: dict[str, tuple[float, list[str]]] = {}

    def pick(self, stage: str, rng: random.Random) -> str | None:
        now = time.monotonic()
        with self.lock:
            got = self.lists.get(stage)
            if got is None or now - got[0] > self.every:
                got = (now, [j.number for j in self.queries.list_jobs(stage=stage) if "on hold" not in j.flags])
                self.lists[stage] = got
        return rng.choice(got[1]) if got[1] else None


def _terminal_process(url: str, config_path: str, seats: list[Seat], pace: float, seconds: float, threads: int, seed,
                      ready, go, done) -> None:  # fmt: skip
    from floorterm.config import load_config
    from floorterm.ledger import Ledger
    from floorterm.queries import Queries
    from floorterm.store import Store

    config = load_config(config_path)
    store = Store.open(url)
    ledger, queries = Ledger(store, config), Queries(config)
    pool = _JobPool(queries)
    commits: list[tuple[str, int, float]] = []
    refusals: Counter = Counter()
    errors: list[str] = []
    kinds: Counter = Counter()
    lags: list[float] = []
    acts: list[float] = []  # one terminal action: the card read (the scan) and the entry
    idle = [0]
    lock = threading.Lock()
    cpu0 = time.process_time()
    ready.put(os.getpid())
    start = go.get()  # the wall-clock start, the same for every process

    def worker(mine: list[Seat], wseed: int) -> None:
        rng = random.Random(wseed)
        terminals = [_Terminal(s, config, ledger, queries, random.Random(wseed * 1000 + s.index), pool) for s in mine]
        heap = [(start + rng.uniform(0, pace), i) for i in range(len(terminals))]
        heapq.heapify(heap)
        end = start + seconds
        try:
            while heap:
                due, i = heapq.heappop(heap)
                if due >= end:
                    break
                wait = due - time.time()
                if wait > 0:
                    time.sleep(wait)
                late = time.time() - due
                t0 = time.perf_counter()
                try:
                    got = terminals[i].act()
                except (DomainError, InputError) as exc:
                    with lock:
                        refusals[refusal_key(str(exc))] += 1
                except FloortermError as exc:  # the store failed: an error
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                except Exception as exc:  # noqa: BLE001 - every unexpected failure is counted, none hidden
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                else:
                    now = time.time()
                    with lock:
                        lags.append(late)
                        acts.append(time.perf_counter() - t0)
                        if got is None:
                            idle[0] += 1
                        else:
                            kind, receipt = got
                            kinds[kind] += 1
                            commits.append((receipt.job, receipt.event_id, now))
                heapq.heappush(heap, (due + pace * rng.uniform(0.5, 1.5), i))
        finally:
            store.db.close()

    groups = [seats[i::threads] for i in range(threads)]
    pool_threads = [
        threading.Thread(target=worker, args=(g, seed * 100 + k), daemon=True) for k, g in enumerate(groups) if g
    ]
    for t in pool_threads:
        t.start()
    for t in pool_threads:
        t.join()
    done.put(
        {
            "commits": commits,
            "refusals": dict(refusals),
            "errors": errors,
            "kinds": dict(kinds),
            "idle": idle[0],
            "lags": lags,
            "acts": acts,
            "cpu": time.process_time() - cpu0,
            "connections": len(pool_threads),
        }
    )
    store.close()


# -- boards -------------------------------------------------------------------------------------


class HeadlessBoard:
    """The board's refresh path without a screen: what BoardScreen._read_rows / _apply_rows do."""

    def __init__(self, config: Config):
        from floorterm import board_feed
        from floorterm.reports import Reports

        self.feed_reads = board_feed
        self.reports = Reports(config)
        versions = board_feed.open_job_versions()
        self.rows = {r.number: r for r in self.reports.wip_rows(list(versions))}  # the first paint's read
        self.tracker = board_feed.ChangeTracker((r.number, r.last_event_id) for r in self.rows.values())
        self.tracker.seen(versions.items())
        self.summaries = self.reports.stage_summaries()
        self.seen: dict[str, list[tuple[int, float]]] = {}
        self.reads = 0
        self.rows_read = 0
        self.changed_rows = 0  # rows changed_jobs() returned: the watermark's slack is read again each time
        self.read_times: list[float] = []
        self.summary_times: list[float] = []
        self.summary_at = time.monotonic()
        self.reconcile_at = time.monotonic()

    def refresh(self) -> None:
        """One `rows` read: the jobs changed since the watermark, only the affected ones re-read."""
        t0 = time.perf_counter()
        changed = self.feed_reads.changed_jobs(self.tracker.since())
        affected = self.tracker.affected(changed)
        self.reads += 1
        self.changed_rows += len(changed)
        if affected:
            self._apply(affected, self.reports.wip_rows(affected), dict(changed))
        self.read_times.append(time.perf_counter() - t0)
        now = time.monotonic()
        if now - self.reconcile_at >= RECONCILE_SECONDS:
            self.reconcile_at = now
            versions = self.feed_reads.open_job_versions()
            stale = self.tracker.reconcile(versions, list(self.rows))
            if stale:
                self._apply(stale, self.reports.wip_rows(stale), versions)

    def _apply(self, affected: list[str], rows: list, versions: dict[str, int]) -> None:
        at = time.time()
        self.rows_read += len(rows)
        got = {r.number: r for r in rows}
        for number in affected:
            if number in got:
                self.rows[number] = got[number]
            else:
                self.rows.pop(number, None)  # closed: off the board
        marks = [(n, got[n].last_event_id if n in got else versions.get(n, -1)) for n in affected]
        self.tracker.seen(marks)
        for number, version in marks:
            self.seen.setdefault(number, []).append((version, at))
        if time.monotonic() - self.summary_at >= SUMMARY_INTERVAL:
            self.summary_at = time.monotonic()
            t0 = time.perf_counter()
            self.summaries = self.reports.stage_summaries()
            self.summary_times.append(time.perf_counter() - t0)


def _board_process(url: str, config_path: str, boards: int, ready, go, stop, done) -> None:
    """`boards` headless boards; `stop` brings {job: last committed event id}: each board stops once
    it holds every one of them (or after GRACE_SECONDS)."""
    from floorterm.config import load_config
    from floorterm.feed import open_feed
    from floorterm.store import Store

    config = load_config(config_path)
    store = Store.open(url)
    wakes = [threading.Event() for _ in range(boards)]
    halt = threading.Event()
    results: list[dict] = [{} for _ in range(boards)]
    opened = threading.Barrier(boards + 1)
    errors: list[str] = []
    cpu0 = time.process_time()

    target: dict[str, int] = {}
    deadline = [math.inf]

    def caught_up(b: HeadlessBoard) -> bool:
        known = b.tracker.known
        return bool(target) and all(known.get(j, -1) >= v for j, v in target.items())

    def feed() -> None:
        with open_feed(url) as f:
            while not halt.is_set():
                if f.wait(0.5):
                    for w in wakes:
                        w.set()

    def board(k: int) -> None:
        try:
            b = HeadlessBoard(config)
        except Exception as exc:  # noqa: BLE001
            errors.append(f"board start: {type(exc).__name__}: {exc}")
            opened.wait()
            return
        opened.wait()
        last = 0.0
        while not halt.is_set() and time.monotonic() < deadline[0]:
            woke = wakes[k].wait(HEARTBEAT_SECONDS)
            if halt.is_set() or (target and caught_up(b)):
                break
            wakes[k].clear()
            pause = ROWS_INTERVAL - (time.monotonic() - last)
            if woke and pause > 0:
                time.sleep(pause)
            last = time.monotonic()
            try:
                b.refresh()
            except Exception as exc:  # noqa: BLE001 - counted; the board goes on as the real one does
                errors.append(f"board read: {type(exc).__name__}: {exc}")
            if target and caught_up(b):
                break
        store.db.close()
        results[k] = {
            "seen": b.seen,
            "reads": b.reads,
            "rows_read": b.rows_read,
            "changed_rows": b.changed_rows,
            "read_times": b.read_times,
            "summary_times": b.summary_times,
        }

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    workers = [threading.Thread(target=board, args=(k,), daemon=True) for k in range(boards)]
    for t in workers:
        t.start()
    opened.wait()
    ready.put(os.getpid())
    go.wait()
    got = stop.get()
    target.update(got or {})
    deadline[0] = time.monotonic() + GRACE_SECONDS
    for w in wakes:
        w.set()  # look once more now: a board already caught up stops here
    for t in workers:
        t.join(GRACE_SECONDS + 30)
    halt.set()
    feeder.join(5)
    done.put({"boards": results, "errors": errors, "cpu": time.process_time() - cpu0, "connections": boards + 1})
    store.close()


# -- the store's side ---------------------------------------------------------------------------


class _StoreMonitor(threading.Thread):
    """Samples the store's connections and backend CPU once a second (PostgreSQL on this machine)."""

    def __init__(self, url: str):
        super().__init__(daemon=True)
        self.url = url
        self.halt = threading.Event()
        self.counts: list[int] = []
        self.cpu: dict[int, tuple[int, int]] = {}  # pid -> (first ticks, last ticks)
        self.error: str | None = None

    def run(self) -> None:
        from floorterm._peewee import load_psycopg

        psycopg = load_psycopg()
        try:
            conn = psycopg.connect(self.url, autocommit=True)
        except Exception as exc:  # noqa: BLE001
            self.error = str(exc)
            return
        try:
            while not self.halt.is_set():
                rows = conn.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchall()
                pids = [p for (p,) in rows]
                self.counts.append(len(pids))
                for pid in pids:
                    ticks = _proc_ticks(pid)
                    if ticks is not None:
                        first = self.cpu.get(pid, (ticks, ticks))[0]
                        self.cpu[pid] = (first, ticks)
                self.halt.wait(1.0)
        finally:
            conn.close()

    def cpu_seconds(self) -> float:
        return sum(last - first for first, last in self.cpu.values()) / os.sysconf("SC_CLK_TCK")


def _proc_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return None


# -- the run ------------------------------------------------------------------------------------


def prepare_store(url: str, config: Config, *, jobs: int, out: Callable[[str], None]) -> None:
    """An empty store gets the demo plant; a store without the demo's operators is refused."""
    from floorterm import models as m
    from floorterm.demo import build_demo, demo_operators
    from floorterm.store import init_store

    store, _ = init_store(url)
    try:
        if not m.Job.select().exists():
            out(f"Building the demo plant ({jobs:,} jobs) in {store.display_url} ...")
            summary = build_demo(store, config, jobs=jobs)
            out(f"  {summary.jobs:,} jobs, {summary.events:,} entries in {summary.seconds:.0f} s")
        badges = {b for b, _, _, _ in demo_operators()}
        have = {o.badge for o in m.Operator.select(m.Operator.badge)}
        if not badges <= have:
            raise DomainError(
                f"{store.display_url} is not a demo plant (its operators are not the demo's): "
                "give simulate an empty throw-away store or one built by `floorterm demo`"
            )
    finally:
        store.close()


def run_simulation(
    url: str,
    config: Config,
    *,
    terminals: int,
    boards: int,
    seconds: float,
    pace: float = 30.0,
    processes: int | None = None,
    jobs: int | None = None,
    seed: int = 1,
    out: Callable[[str], None] = print,
    stop_event=None,
) -> dict:
    """Run the virtual plant on `url`; print a summary through `out` and return the numbers."""
    if terminals < 1 or boards < 0 or seconds <= 0 or pace <= 0:
        raise InputError("simulate needs at least 1 terminal, 0 or more boards, and a positive time and pace")
    if config.path is None:
        raise InputError("simulate needs a config file its processes can read")
    prepare_store(url, config, jobs=jobs or max(120, terminals * 2), out=out)
    seats = plan_seats(config, terminals)
    nproc = processes or max(1, min(8, math.ceil(terminals / TERMINALS_PER_PROCESS)))
    threads = max(1, min(THREADS_PER_PROCESS, math.ceil(terminals / nproc)))
    ctx = multiprocessing.get_context("spawn")
    ready, done, board_done = ctx.Queue(), ctx.Queue(), ctx.Queue()
    go_terms = ctx.Queue()
    go_boards = ctx.Event()
    config_path = str(config.path)
    procs = []
    for p in range(nproc):
        mine = seats[p::nproc]
        if mine:
            args = (url, config_path, mine, pace, seconds, threads, seed + p, ready, go_terms, done)
            procs.append(ctx.Process(target=_terminal_process, args=args, daemon=True))
    term_procs = list(procs)
    nboard_procs = math.ceil(boards / BOARDS_PER_PROCESS) if boards else 0
    board_counts = [len(range(k, boards, nboard_procs)) for k in range(nboard_procs)]
    stops = [ctx.Queue() for _ in board_counts]
    board_procs = [
        ctx.Process(target=_board_process, args=(url, config_path, n, ready, go_boards, q, board_done), daemon=True)
        for n, q in zip(board_counts, stops)
    ]
    procs += board_procs
    out(
        f"Simulating {terminals} terminals in {len(term_procs)} processes ({threads} store connections each) "
        f"and {boards} boards in {len(board_procs)} processes for {seconds:g} s; "
        f"each terminal records about every {pace:g} s"
    )
    monitor = _StoreMonitor(url) if sqlite_path_from_url(url) is None else None
    for p in procs:
        p.start()
    try:
        _collect(ready, procs, len(procs), "start")
        if monitor is not None:
            monitor.start()
        go_boards.set()
        start = time.time() + 0.5
        for _ in term_procs:
            go_terms.put(start)
        terms = _collect(done, term_procs, len(term_procs), "finish", timeout=seconds + START_TIMEOUT)
        commits = [c for r in terms for c in r["commits"]]
        # Each board stops once it holds every job at its last committed event id.
        target: dict[str, int] = {}
        for job, event_id, _ in commits:
            target[job] = max(event_id, target.get(job, -1))
        for q in stops:
            q.put(target)
        boards_out = _collect(board_done, board_procs, len(board_procs), "finish", timeout=GRACE_SECONDS + 90)
        wall = time.time() - start
    finally:
        go_boards.set()
        for q in stops:
            q.put({})
        for _ in term_procs:
            go_terms.put(time.time())
        if monitor is not None:
            monitor.halt.set()
            monitor.join(5)
        for p in procs:
            p.join(30)
            if p.is_alive():
                p.terminate()
    return _summarise(
        url, terminals, boards, seconds, pace, terms, boards_out, commits, monitor, wall, len(term_procs), threads, out
    )


def _collect(queue, procs, count: int, what: str, timeout: float = START_TIMEOUT) -> list:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        try:
            got.append(queue.get(timeout=0.5))
        except Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                raise StoreError(
                    f"A simulation process failed to {what} (exit code "
                    f"{dead[0].exitcode if dead else 'none: timed out'})"
                ) from None
    return got


def _latencies(commits: list[tuple[str, int, float]], seen: dict[str, list[tuple[int, float]]]) -> tuple[list, int]:
    """Per commit: first time the board held its job at that event id or later."""
    out, missed = [], 0
    for job, event_id, at in commits:
        when = next((t for v, t in seen.get(job, ()) if v >= event_id), None)
        if when is None:
            missed += 1
        else:
            out.append(max(0.0, when - at))
    return out, missed


def _summarise(url, terminals, boards, seconds, pace, terms, boards_out, commits, monitor, wall, nproc, threads, out):
    from floorterm.bench.store import percentiles

    refusals: Counter = Counter()
    kinds: Counter = Counter()
    for r in terms:
        refusals.update(r["refusals"])
        kinds.update(r["kinds"])
    errors = [e for r in terms for e in r["errors"]] + [e for b in boards_out for e in b["errors"]]
    samples, missed, reads, rows_read, changed_rows = [], 0, 0, 0, 0
    read_times, summary_times = [], []
    per_board_missed = []
    for proc in boards_out:
        for b in proc["boards"]:
            if not b:
                per_board_missed.append(len(commits))
                missed += len(commits)
                continue
            lat, miss = _latencies(commits, b["seen"])
            samples += lat
            missed += miss
            per_board_missed.append(miss)
            reads += b["reads"]
            rows_read += b["rows_read"]
            changed_rows += b["changed_rows"]
            read_times += b["read_times"]
            summary_times += b["summary_times"]
    lags = sorted(x for r in terms for x in r["lags"])
    result = {
        "store": url if sqlite_path_from_url(url) is not None else _hide_password(url),
        "backend": "sqlite" if sqlite_path_from_url(url) is not None else "postgres",
        "terminals": terminals,
        "boards": boards,
        "seconds": seconds,
        "pace_s": pace,
        "terminal_processes": nproc,
        "terminal_connections": sum(r["connections"] for r in terms),
        "entries": len(commits),
        "entries_per_s": round(len(commits) / seconds, 2),
        "by_kind": dict(kinds.most_common()),
        "idle": sum(r["idle"] for r in terms),
        "refusals": sum(refusals.values()),
        "refusals_by_reason": dict(refusals.most_common()),
        "errors": len(errors),
        "first_errors": errors[:5],
        "board_latency": percentiles(samples),
        "board_samples": len(samples),
        "board_missed": missed,
        "board_reads": reads,
        "board_rows_read": rows_read,
        "board_changed_rows": changed_rows,
        "board_read": percentiles(read_times),  # one refresh (including the wall time the rows wait on CPU)
        "board_summary": percentiles(summary_times),
        "terminal_action": percentiles([x for r in terms for x in r["acts"]]),
        "terminal_late_p95_ms": round(lags[max(0, math.ceil(0.95 * len(lags)) - 1)] * 1000, 1) if lags else None,
        "cpu_terminal_processes_s": round(sum(r["cpu"] for r in terms), 2),
        "cpu_board_processes_s": round(sum(b["cpu"] for b in boards_out), 2),
        "wall_s": round(wall, 1),
    }
    if monitor is not None:
        result["store_connections_max"] = max(monitor.counts, default=None)
        result["store_connections_mean"] = (
            round(sum(monitor.counts) / len(monitor.counts), 1) if monitor.counts else None
        )
        result["store_cpu_s"] = round(monitor.cpu_seconds(), 2)
        result["store_cpu_percent_of_one_core"] = round(100 * monitor.cpu_seconds() / wall, 1) if wall else None
        result["store_monitor_error"] = monitor.error
    else:
        result["store_connections"] = result["terminal_connections"] + sum(b["connections"] for b in boards_out)
    for line in format_summary(result):
        out(line)
    return result


def _hide_password(url: str) -> str:
    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def format_summary(r: dict) -> list[str]:
    lat = r["board_latency"]

    def ms(v):
        return "-" if v is None else f"{v / 1000:.2f} s"

    lines = [
        f"store: {r['store']} ({r['backend']}); {r['terminals']} terminals, {r['boards']} boards, {r['seconds']:g} s, "
        f"one entry per terminal every ~{r['pace_s']:g} s",
        f"entries recorded: {r['entries']} ({r['entries_per_s']}/s): "
        + ", ".join(f"{k} {v}" for k, v in r["by_kind"].items()),
        f"refusals: {r['refusals']}"
        + (" (expected: miscounts, and terminals racing for the same units)" if r["refusals"] else ""),
    ]
    lines += [f"  {n:>5}  {reason}" for reason, n in list(r["refusals_by_reason"].items())[:8]]
    lines.append(f"errors: {r['errors']}" + (f" — first: {r['first_errors'][0]}" if r["errors"] else ""))
    lines.append(f"nothing to do at the terminal (no job with work there): {r['idle']}")
    act = r["terminal_action"]
    lines.append(f"a terminal's job card read + entry: p50 {act['p50']} ms, p95 {act['p95']} ms, max {act['max']} ms")
    if r["boards"]:
        lines.append(
            f"commit → board: p50 {ms(lat['p50'])}, p95 {ms(lat['p95'])}, max {ms(lat['max'])} over "
            f"{r['board_samples']} board × commit samples ({r['board_missed']} not seen); "
            f"{r['board_reads']} board reads, {r['board_rows_read']} rows re-read"
        )
        lines.append(
            f"per board read: p50 {r['board_read']['p50']} ms, p95 {r['board_read']['p95']} ms "
            f"({r['board_changed_rows']} version rows read by changed_jobs); stage summaries "
            f"p50 {r['board_summary']['p50']} ms, p95 {r['board_summary']['p95']} ms"
        )
    lines.append(
        f"terminals acted p95 {r['terminal_late_p95_ms']} ms after their planned time (simulator keeping pace); "
        f"CPU: terminal processes {r['cpu_terminal_processes_s']} s, board processes {r['cpu_board_processes_s']} s"
    )
    if r["backend"] == "postgres":
        lines.append(
            f"store: {r.get('store_connections_max')} connections at most (mean {r.get('store_connections_mean')}, "
            f"pg_stat_activity); backends' CPU {r.get('store_cpu_s')} s = {r.get('store_cpu_percent_of_one_core')}% "
            f"of one core over {r['wall_s']} s (/proc of the backends)"
        )
    else:
        lines.append(
            f"store: SQLite runs inside each process, so its CPU is in the processes' CPU above; "
            f"{r['store_connections']} connections (the terminal threads', one per board, "
            "one change feed per board process)"
        )
    lines.append("budget (DESIGN.md §7): commit → board p95 < 1 s, 0 errors")
    return lines


def main(argv: list[str] | None = None) -> int:
    """`python -m floorterm.bench.simulate`: the plant alone, e.g. behind `floorterm demo --live`."""
    import argparse
    import signal

    from floorterm.config import find_config_path, load_config

    parser = argparse.ArgumentParser(prog="python -m floorterm.bench.simulate", description=main.__doc__)
    parser.add_argument("--db", required=True, help="a throw-away or demo store URL")
    parser.add_argument("--config", default=None, help="the config file (default as for floorterm)")
    parser.add_argument("--terminals", type=int, default=9)
    parser.add_argument("--boards", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=8 * 3600)
    parser.add_argument("--pace", type=float, default=4.0)
    args = parser.parse_args(argv)

    # A stop by signal runs the clean-up (the terminal processes are ended with this one).
    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    config = load_config(find_config_path(args.config))
    result = run_simulation(
        args.db, config, terminals=args.terminals, boards=args.boards, seconds=args.seconds, pace=args.pace
    )
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
