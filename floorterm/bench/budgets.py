"""`floorterm bench`: every budget of DESIGN.md §7 in one run, each beside its floor or peer.

On one throw-away store (built here: the demo plant of --jobs jobs, topped up to --open-jobs
open jobs) it measures, in this order:

  job card read          Queries.job_card            beside  raw SELECT of the same rows (driver)
  entry, 1 process       Ledger.complete p50         beside  raw one-row INSERT + COMMIT (driver)
  entry, 20 processes    Ledger.complete p95         beside  the same raw commit from 20 processes
  flow report, a week    Reports.flow                beside  raw SELECT of the week's events
  commit → board         a real board, headless      beside  the change feed's own wake-up (raw commit)
  board first paint      2,000 open jobs             beside  an empty Textual app's first paint
  kiosk scan → card      the real kiosk, headless    beside  an empty Textual app's key → paint
  kiosk Enter → confirm  the real kiosk, headless    beside  the same
  cold start             kiosk process → 1st screen  beside  an empty Textual app process → paint
  memory                 kiosk process RSS           beside  an empty Textual app process RSS
  plant                  `simulate` (small)          beside  the change feed's wake-up

Absolute times on a shared machine drift; the ratio to a floor taken in the same run holds.
This module loads Textual (through the kiosk and board benchmarks) only when it runs them.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from typing import Callable

from floorterm.bench.store import percentiles
from floorterm.config import Config
from floorterm.store import NOTIFY_CHANNEL, Store, init_store, sqlite_path_from_url

# key -> (what, unit, budget, "max" for an absolute ceiling or "ratio" for a ceiling on measured/floor)
BUDGETS = {
    "job_card_p95": ("scan → job card read, p95", "ms", 50.0, "max"),
    "entry_1_p50": ("record an entry, 1 process, p50 (≤ 3× raw commit)", "ms", 3.0, "ratio"),
    "entry_20_p95": ("record an entry, 20 processes at once, p95", "ms", 100.0, "max"),
    "flow_week": ("report flow for a week", "s", 2.0, "max"),
    "board_commit_p95": ("commit at a kiosk → visible on a board, p95", "s", 1.0, "max"),
    "board_first_paint": ("board first paint", "s", 1.0, "max"),
    "kiosk_card_p95": ("kiosk: Enter of a scan → card on screen, p95", "ms", 50.0, "max"),
    "kiosk_confirm_p95": ("kiosk: Enter on a quantity → confirmation, p95", "ms", 100.0, "max"),
    "cold_start": ("cold start to the first screen", "s", 1.0, "max"),
    "memory": ("memory per kiosk process (RSS)", "MB", 100.0, "max"),
    "plant_commit_board_p95": ("simulated plant: commit → board p95", "s", 1.0, "max"),
}


def run_budgets(
    url: str,
    config: Config,
    *,
    jobs: int = 20000,
    open_jobs: int = 2000,
    writers: int = 20,
    samples: int = 200,
    kiosk_iterations: int = 100,
    board_samples: int = 40,
    plant: tuple[int, int, float, float] = (30, 3, 20.0, 2.0),
    out: Callable[[str], None] = print,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Build the store at `url`, measure every budget, print the table through `out`, return it.

    `plant` is (terminals, boards, seconds, pace) of the small simulated plant.
    """
    if config.path is None:
        raise ValueError("the benchmark's processes need the config as a file")
    backend = "sqlite" if sqlite_path_from_url(url) is not None else "postgres"
    result: dict = {"store": url if backend == "sqlite" else _hide(url), "backend": backend, "budgets": {}}
    found = result["budgets"]
    started = time.perf_counter()

    out("Building the store ...")
    result.update(_build(url, config, jobs, open_jobs, out, progress))

    out("Job card reads, and the raw SELECT of the same rows ...")
    store = Store.open(url)
    try:
        card, raw = _job_cards(url, config, samples)
    finally:
        store.close()
    found["job_card_p95"] = _row("job_card_p95", card["p95"], raw["p95"], "raw SELECT of the same rows, p95")

    out(f"Entry writes from 1 and {writers} processes, and the raw driver's commit ...")
    from floorterm.bench.store import run_store_bench

    writes = run_store_bench(url, config, jobs=jobs, writers=(1, writers), samples=5, calls=50, out=lambda s: None)
    for stats in (*writes["record"].values(), *writes["floor"].values()):
        if stats["errors"]:
            raise RuntimeError(f"a benchmark write failed: {stats['first_error']}")
    found["entry_1_p50"] = _row(
        "entry_1_p50", writes["record"][1]["p50"], writes["floor"][1]["p50"], "raw one-row commit, p50"
    )
    found["entry_20_p95"] = _row(
        "entry_20_p95",
        writes["record"][writers]["p95"],
        writes["floor"][writers]["p95"],
        f"raw one-row commit from {writers} processes, p95",
    )

    out("Flow report for a week, and the raw read of the week's entries ...")
    found["flow_week"] = _flow(url, config)

    out("Change feed wake-up after a raw commit (the floor of every commit → screen) ...")
    wake = _feed_floor(url)
    result["feed_wake"] = wake

    out("Board: first paint and commit → board latency (a real board, headless) ...")
    board = _board(url, config, board_samples)
    empty = _empty_app_paint()
    found["board_commit_p95"] = _row(
        "board_commit_p95", board["latency_p95_s"], wake["p95"] / 1000, "change feed wake-up after a commit, p95"
    )
    found["board_first_paint"] = _row(
        "board_first_paint", board["first_paint_s"], empty["first_paint_s"], "an empty Textual app's first paint"
    )
    result["board"] = board

    out("Kiosk: scan → card and Enter → confirmation (the real kiosk, headless) ...")
    kiosk = _kiosk(url, config, kiosk_iterations)
    keys = empty["key_paint"]
    found["kiosk_card_p95"] = _row(
        "kiosk_card_p95", kiosk["card"]["p95"], keys["p95"], "an empty Textual app's key → paint, p95"
    )
    found["kiosk_confirm_p95"] = _row(
        "kiosk_confirm_p95", kiosk["confirm"]["p95"], keys["p95"], "an empty Textual app's key → paint, p95"
    )

    out("Cold start and memory (a new process each) ...")
    kiosk_start = _cold(url, config, "kiosk")
    empty_start = _cold(url, config, "empty")
    found["cold_start"] = _row(
        "cold_start", kiosk_start["seconds"], empty_start["seconds"], "an empty Textual app process to first paint"
    )
    found["memory"] = _row("memory", kiosk_start["rss_mb"], empty_start["rss_mb"], "an empty Textual app process")

    terminals, boards, seconds, pace = plant
    out(f"A small simulated plant: {terminals} terminals, {boards} boards, {seconds:g} s ...")
    from floorterm.bench.simulate import run_simulation

    sim = run_simulation(
        url, config, terminals=terminals, boards=boards, seconds=seconds, pace=pace, out=lambda s: None
    )
    if sim["errors"]:
        raise RuntimeError(f"the simulated plant had errors: {sim['first_errors'][0]}")
    lat = sim["board_latency"]["p95"]
    found["plant_commit_board_p95"] = _row(
        "plant_commit_board_p95",
        None if lat is None else lat / 1000,
        wake["p95"] / 1000,
        "change feed wake-up after a commit, p95",
    )
    found["plant_commit_board_p95"]["detail"] = (
        f"{terminals} terminals, {boards} boards, {sim['entries']} entries, {sim['refusals']} refusals, "
        f"{sim['errors']} errors, {sim['board_missed']} not seen"
    )
    result["seconds"] = round(time.perf_counter() - started, 1)
    for line in format_budgets(result):
        out(line)
    return result


def _row(key: str, measured, floor, floor_what: str) -> dict:
    what, unit, budget, kind = BUDGETS[key]
    ratio = round(measured / floor, 2) if measured is not None and floor else None
    if kind == "ratio":
        ok = ratio is not None and ratio <= budget
    else:
        ok = measured is not None and measured < budget
    return {
        "what": what,
        "unit": unit,
        "measured": None if measured is None else round(measured, 6),
        "floor": None if floor is None else round(floor, 6),
        "floor_what": floor_what,
        "ratio": ratio,
        "budget": budget,
        "budget_kind": kind,
        "ok": ok,
    }


def format_budgets(result: dict) -> list[str]:
    lines = [
        f"store: {result['store']} ({result['backend']}), {result['jobs']:,} jobs, {result['events']:,} entries, "
        f"{result['open_jobs']:,} open",
        f"{'budget (DESIGN.md §7)':<52} {'measured':>10} {'floor':>10} {'ratio':>7} {'budget':>10}  ",
    ]
    for row in result["budgets"].values():
        unit = row["unit"]
        budget = f"≤ {row['budget']:g}×" if row["budget_kind"] == "ratio" else f"< {row['budget']:g} {unit}"
        ratio = "" if row["ratio"] is None else f"{row['ratio']:.1f}×"
        lines.append(
            f"{row['what']:<52} {_num(row['measured'], unit):>10} {_num(row['floor'], unit):>10} "
            f"{ratio:>7} {budget:>10}  {'ok' if row['ok'] else 'OVER'}"
        )
        lines.append(f"    floor: {row['floor_what']}" + (f"; {row['detail']}" if row.get("detail") else ""))
    over = [k for k, r in result["budgets"].items() if not r["ok"]]
    lines.append("all budgets met" if not over else f"over budget: {', '.join(over)}")
    lines.append("Times on a shared machine drift; compare the ratios.")
    return lines


def _num(value, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("ms", "MB"):
        return f"{value:.2f} {unit}" if value < 1 else f"{value:.1f} {unit}"
    return f"{value:.2f} {unit}"


def _hide(url: str) -> str:
    import re

    return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


# -- the store ----------------------------------------------------------------------------------


def _build(url: str, config: Config, jobs: int, open_jobs: int, out, progress) -> dict:
    from floorterm import models as m
    from floorterm.bulk import import_history
    from floorterm.clock import utcnow
    from floorterm.demo import build_demo

    store, _ = init_store(url)
    try:
        if m.Job.select().exists():
            out(f"Reusing the store's {m.Job.select().count():,} jobs")
        else:
            now = utcnow().replace(microsecond=0)
            summary = build_demo(store, config, jobs=jobs, now=now, progress=progress)
            out(f"  demo plant: {summary.jobs:,} jobs, {summary.events:,} entries in {summary.seconds:.0f} s")
            have = m.Job.select().where(m.Job.is_open).count()
            if have < open_jobs:
                out(f"  topping up to {open_jobs:,} open jobs ...")
                import_history(store, config, _extra_open_jobs(config, open_jobs - have, now), now=now)
                if store.backend == "postgres":
                    store.db.execute_sql("ANALYZE")
        return {
            "jobs": m.Job.select().count(),
            "events": m.Event.select().count(),
            "open_jobs": m.Job.select().where(m.Job.is_open).count(),
        }
    finally:
        store.close()


def _extra_open_jobs(config: Config, count: int, now: dt.datetime):
    from floorterm.bench.board import extra_open_jobs

    return extra_open_jobs(config, count, now=now)


# -- reads --------------------------------------------------------------------------------------


def _job_cards(url: str, config: Config, samples: int) -> tuple[dict, dict]:
    from floorterm import models as m
    from floorterm.queries import Queries

    rng = random.Random(3)
    numbers = [n for (n,) in m.Job.select(m.Job.number).tuples()]
    picks = [rng.choice(numbers) for _ in range(samples)]
    queries = Queries(config)
    for number in picks[:5]:
        queries.job_card(number)
    times = []
    for number in picks:
        t0 = time.perf_counter()
        queries.job_card(number)
        times.append(time.perf_counter() - t0)
    conn, param = _raw_connect(url)
    statements = [
        f"SELECT * FROM job WHERE number = {param}",
        f"SELECT s.*, b.* FROM job_step s JOIN step_balance b ON b.step_id = s.id WHERE s.job_id = {param}",
        f"SELECT * FROM material_line WHERE job_id = {param}",
    ]
    ids = dict(m.Job.select(m.Job.number, m.Job.id).tuples())
    raw = []
    try:
        for number in picks[:5] + picks:
            t0 = time.perf_counter()
            _raw_read(conn, statements, (number, ids[number], ids[number]))
            raw.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return percentiles(times), percentiles(raw[5:])


def _raw_connect(url: str):
    path = sqlite_path_from_url(url)
    if path is None:
        import psycopg

        from floorterm.bench.store import _pg_url

        return psycopg.connect(_pg_url(url), autocommit=True), "%s"
    import sqlite3

    return sqlite3.connect(str(path), isolation_level=None), "?"


def _raw_read(conn, statements: list[str], args: tuple) -> None:
    """The statements in one read transaction, as the card's read is."""
    if hasattr(conn, "transaction"):  # psycopg
        with conn.transaction():
            for sql, arg in zip(statements, args):
                conn.execute(sql, (arg,)).fetchall()
        return
    conn.execute("BEGIN")
    try:
        for sql, arg in zip(statements, args):
            conn.execute(sql, (arg,)).fetchall()
    finally:
        conn.execute("COMMIT")


def _flow(url: str, config: Config) -> dict:
    from floorterm import models as m
    from floorterm.bench.flow import measure

    store = Store.open(url)
    try:
        flow = measure(config, days=7, runs=3)
        since = dt.datetime.fromisoformat(flow["since"])
    finally:
        store.close()
    conn, param = _raw_connect(url)
    sql = f"SELECT * FROM {m.Event._meta.table_name} WHERE committed_at >= {param}"
    times = []
    try:
        for _ in range(3):
            t0 = time.perf_counter()
            conn.execute(sql, (since,)).fetchall()
            times.append(time.perf_counter() - t0)
    finally:
        conn.close()
    return _row("flow_week", flow["wall_s_median"], statistics.median(times), "raw SELECT of the week's entries")


# -- the change feed's floor --------------------------------------------------------------------


def _feed_floor(url: str, samples: int = 30) -> dict:
    """Raw commit (with the ledger's notify on PostgreSQL) → the change feed wakes a waiting reader, in ms."""
    from floorterm.feed import open_feed

    conn, param = _raw_connect(url)
    table = "bench_feed_floor"
    conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY, at TEXT)")
    woke: list[float] = []
    wake = threading.Event()
    halt = threading.Event()

    def reader() -> None:
        with open_feed(url) as feed:
            ready.set()
            while not halt.is_set():
                if feed.wait(0.5):
                    woke.append(time.perf_counter())
                    wake.set()

    ready = threading.Event()
    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    ready.wait(10)
    times = []
    try:
        for i in range(samples):
            time.sleep(random.uniform(0.05, 0.15))
            wake.clear()
            t0 = time.perf_counter()
            if hasattr(conn, "transaction"):
                with conn.transaction():
                    conn.execute(f"INSERT INTO {table} (id, at) VALUES ({param}, {param})", (i, str(t0)))
                    conn.execute(f"SELECT pg_notify('{NOTIFY_CHANNEL}', '')")
            else:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(f"INSERT INTO {table} (id, at) VALUES ({param}, {param})", (i, str(t0)))
                conn.execute("COMMIT")
            if wake.wait(5):
                times.append(woke[-1] - t0)
    finally:
        halt.set()
        thread.join(5)
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.close()
    return percentiles(times)


# -- the screens (Textual loads here) -----------------------------------------------------------


def _board(url: str, config: Config, samples: int) -> dict:
    from floorterm.bench.board import _measure

    store = Store.open(url)
    try:
        got = asyncio.run(_measure(config, str(config.path), url, store, samples, 5))
    finally:
        store.close()
    return {
        "first_paint_s": got["first_paint_s"],
        "all_rows_s": got["all_rows_s"],
        "latency_p50_s": got["latency_p50_s"],
        "latency_p95_s": got["latency_p95_s"],
        "latency_entries": got["latency_entries"],
        "latency_not_shown": got["latency_not_shown"],
        "open_jobs": got["open_jobs"],
    }


def _kiosk(url: str, config: Config, iterations: int) -> dict:
    from floorterm.bench.kiosk import run

    got = asyncio.run(run(url, config, terminal="WELD-1", iterations=iterations, size=(80, 24), writers=0, interval=1))
    return {"card": got["card"], "confirm": got["confirm"]}


def _empty_app_paint(samples: int = 100) -> dict:
    """The Textual peer, in this process: an empty app's first paint and a key → repaint."""
    from textual import events
    from textual.app import App, ComposeResult
    from textual.widgets import Static

    marks: dict[str, float] = {}

    class Empty(App):
        def compose(self) -> ComposeResult:
            yield Static("0", id="n")

        def on_mount(self) -> None:
            self.call_after_refresh(lambda: marks.setdefault("painted", time.perf_counter()))

        def on_key(self, event) -> None:
            self.query_one("#n", Static).update(event.character or "")

    async def measure() -> dict:
        app = Empty()
        t0 = time.perf_counter()
        times = []
        async with app.run_test(size=(80, 24)):
            while "painted" not in marks:
                await asyncio.sleep(0.0005)
            first = marks["painted"] - t0
            static = app.query_one("#n", Static)
            for i in range(samples):
                char = str(i % 10)
                if str(static.render()) == char:
                    char = "x"
                event = events.Key(char, char)
                event.set_sender(app)
                t = time.perf_counter()
                app._driver.send_message(event)
                while str(static.render()) != char:
                    await asyncio.sleep(0.0002)
                app.screen._on_timer_update()  # lay out and render, as the kiosk benchmark does
                times.append(time.perf_counter() - t)
        return {"first_paint_s": first, "key_paint": percentiles(times)}

    return asyncio.run(measure())


_COLD_CHILD = r"""
import asyncio, json, resource, sys, time
t0 = float(sys.argv[1]); what = sys.argv[2]
async def main():
    if what == "kiosk":
        from floorterm.config import load_config
        from floorterm.screens.app import FloortermApp
        from floorterm.screens.kiosk import KioskScreen
        app = FloortermApp(load_config(sys.argv[3]), sys.argv[4], mode="kiosk", terminal="WELD-1", unlocked=True)
        up = lambda: isinstance(app.screen, KioskScreen)
    else:
        from textual.app import App
        from textual.widgets import Static
        class Empty(App):
            def compose(self):
                yield Static("floorterm")
        app = Empty()
        up = lambda: True
    async with app.run_test(size=(80, 24)) as pilot:
        while not up():
            await asyncio.sleep(0.001)
        await pilot.pause()
        app.screen._on_timer_update()
        seconds = time.time() - t0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # may carry the parent's peak over exec
    try:
        with open("/proc/self/status") as f:  # the peak of this process's own memory (Linux)
            rss = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        pass
    print(json.dumps({"seconds": seconds, "rss_mb": rss}))
asyncio.run(main())
"""


def _cold(url: str, config: Config, what: str, runs: int = 3) -> dict:
    """Median of `runs` fresh processes: from process start to the first screen painted; peak RSS."""
    got = []
    for _ in range(runs):
        t0 = time.time()
        done = subprocess.run(
            [sys.executable, "-c", _COLD_CHILD, repr(t0), what, str(config.path), url],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        )
        if done.returncode != 0:
            raise RuntimeError(f"the {what} cold start failed: {done.stderr.strip().splitlines()[-1:]}")
        got.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return {
        "seconds": statistics.median(g["seconds"] for g in got),
        "rss_mb": statistics.median(g["rss_mb"] for g in got),
    }
