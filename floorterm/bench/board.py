"""Benchmark of the live WIP board (DESIGN.md §7).

    python -m floorterm.bench.board --db URL [--open-jobs 2000] [--samples 60] [--burst 100] [--config PATH]

URL must be an EMPTY store (a throw-away SQLite file or PostgreSQL database; it is initialised
and filled here). A real board (Textual, headless, 160x48) runs in this process. Measured:

- board read: `Reports.board()` at N open jobs, and one row's re-read (`wip_rows`);
- first paint: from creating the app until the top rows and stage summaries are painted, and
  until every row is in the table;
- commit-to-board latency: a separate writer PROCESS commits entries one at a time (then a
  burst, as fast as it can); the board records when its table shows each new value (the real
  change feed wakes it). Both clocks are `time.time()` on one machine; p50 / p95 / max;
- UI cost: time to apply one update in place, and how long the event loop was blocked (a 10 ms
  sleep's overshoot) while the entries arrived.

The store is filled with `floorterm.demo.build_demo` and then topped up with extra open jobs
written through the ledger's bulk path (`floorterm.bulk.import_history`) until N are open.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import multiprocessing
import random
import statistics
import sys
import time
from pathlib import Path

from floorterm.bulk import HistoricEntry, import_history
from floorterm.clock import utcnow
from floorterm.config import Config, load_config
from floorterm.ledger import JobSpec

SUPERVISOR_BADGE = "B1001"  # a supervisor of the demo's cast: may record at any stage


def extra_open_jobs(config: Config, count: int, *, now: dt.datetime, seed: int = 11, prefix: str = "B-"):
    """`count` open jobs with believable partial progress, as (JobSpec, entries) for import_history."""
    rng = random.Random(seed)
    routings = [r for r in config.routings]
    reasons = [r.code for r in config.reasons("delay")]
    for i in range(count):
        routing = rng.choice(routings)
        qty = rng.choice((5, 10, 12, 20, 25, 40, 50, 100))
        spec = JobSpec(
            number=f"{prefix}{i + 1:05d}",
            qty=qty,
            routing=routing.name,
            customer=f"Bench customer {i % 37}",
            product=f"Bench part {i % 53}",
            priority=rng.choices((5, 3, 1, 7), (80, 10, 5, 5))[0],
            planned_end=(now + dt.timedelta(days=rng.randint(-3, 20))).date(),
        )
        at = now - dt.timedelta(hours=rng.uniform(1, 120))
        entries = [HistoricEntry("release", at, SUPERVISOR_BADGE, qty=qty)]
        moving = qty
        # Push part of the quantity through the first steps; never dispatch, so the job stays open.
        for code in routing.stages[: rng.randint(0, max(0, len(routing.stages) - 2))]:
            moving = max(1, moving - rng.randint(0, moving // 3))
            at += dt.timedelta(minutes=rng.uniform(5, 300))
            kind = "qc_pass" if config.stage(code).kind == "qc" else "complete"
            entries.append(HistoricEntry(kind, min(at, now), SUPERVISOR_BADGE, stage=code, qty=moving))
        entries.sort(key=lambda e: e.at)
        current = routing.stages[len(entries) - 1]
        roll = rng.random()
        if roll < 0.08:
            entries.append(
                HistoricEntry(
                    "delay",
                    max(entries[-1].at, now - dt.timedelta(hours=rng.uniform(0.2, 30))),
                    SUPERVISOR_BADGE,
                    stage=current,
                    reason=rng.choice(reasons),
                )
            )
        elif roll < 0.35:
            entries.append(
                HistoricEntry(
                    "start",
                    max(entries[-1].at, now - dt.timedelta(hours=rng.uniform(0.1, 6))),
                    SUPERVISOR_BADGE,
                    stage=current,
                )
            )
        yield spec, entries


# -- filling the store -----------------------------------------------------------------------------


def fill_store(store, config: Config, open_jobs: int, *, now: dt.datetime, say=print) -> int:
    """Demo plant plus extra open jobs until `open_jobs` are open; returns how many are open."""
    from floorterm import models as m
    from floorterm.demo import build_demo

    demo_jobs = 1000
    started = time.perf_counter()
    build_demo(store, config, jobs=demo_jobs, now=now)
    have = m.Job.select().where(m.Job.is_open).count()
    if have < open_jobs:
        import_history(store, config, extra_open_jobs(config, open_jobs - have, now=now), now=now)
    have = m.Job.select().where(m.Job.is_open).count()
    say(
        f"store filled: demo ({demo_jobs} jobs) + extra open jobs = {have} open, "
        f"{m.Event.select().count()} entries ({time.perf_counter() - started:.1f} s)"
    )
    return have


# -- the writer: another OS process, as a kiosk ------------------------------------------------------


def _writer(
    url: str, config_path: str, entries: list[tuple[str, str, str]], pause: tuple[float, float], ready, go, done_queue
) -> None:
    """Child process: says `ready` once started, then when `go` is set, completes 1 unit for each
    (job, stage, kind) and reports (job, commit wall time) after each commit."""
    from floorterm.ledger import Actor, Ledger
    from floorterm.store import Store

    config = load_config(config_path)
    store = Store.open(url)
    ledger = Ledger(store, config)
    actor = Actor(SUPERVISOR_BADGE)
    rng = random.Random(5)
    ready.set()
    go.wait(120)
    for job, stage, kind in entries:
        ledger.record(kind, job, stage=stage, qty=1, actor=actor)
        done_queue.put((job, time.time()))
        if pause[1] > 0:
            time.sleep(rng.uniform(*pause))
    done_queue.put(None)
    store.close()


def _targets(config: Config, rows, count: int, skip: set[str]) -> list[tuple[str, str, str, str]]:
    """(job, stage, kind, what the cell starts with once 1 more is done) for `count` jobs that have
    at least 2 waiting or in work at a work or QC stage."""
    kinds = {s.code: s.kind for s in config.stages}
    out = []
    for row in rows:
        if row.number in skip or "on hold" in row.flags:
            continue
        for code, cell in row.cells.items():
            if kinds.get(code) in ("work", "qc", "pack") and cell.state in ("waiting", "in work") and cell.pending >= 2:
                out.append((row.number, code, "qc_pass" if kinds[code] == "qc" else "complete", f"{cell.pending - 1} "))
                break
        if len(out) == count:
            break
    return out


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0..100) with linear interpolation; nan for no values."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    low, high = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (k - low)


async def _loop_lag(gaps: list[float], stop: asyncio.Event, every: float = 0.01) -> None:
    """How late a 10 ms sleep wakes up: the longest time the UI's event loop was blocked."""
    while not stop.is_set():
        started = time.perf_counter()
        await asyncio.sleep(every)
        gaps.append(time.perf_counter() - started - every)


async def _measure(config: Config, config_path: str, url: str, store, samples: int, burst: int) -> dict:
    """Run a headless board in this process while writer processes commit; see the module doc."""

    from floorterm import board_feed
    from floorterm.reports import Reports
    from floorterm.screens import board_views
    from floorterm.screens.app import FloortermApp
    from floorterm.screens.board import BoardScreen

    class BenchApp(FloortermApp):
        def first_screen(self):
            return BoardScreen(self.services)

    rows = Reports(config).board().wip.rows
    phases = {"latency": _targets(config, rows, samples, set())}
    phases["burst"] = _targets(config, rows, burst, {t[0] for t in phases["latency"]})
    context = multiprocessing.get_context("spawn")
    results: dict = {"open_jobs": len(rows)}

    # The writers start before the app: a running Textual app has replaced the std streams.
    writers = {}
    readies = []
    for name, pause in (("latency", (0.15, 0.35)), ("burst", (0.0, 0.0))):
        queue, ready, go = context.Queue(), context.Event(), context.Event()
        entries = [(job, stage, kind) for job, stage, kind, _ in phases[name]]
        process = context.Process(target=_writer, args=(url, config_path, entries, pause, ready, go, queue))
        process.start()
        writers[name] = (process, queue, go)
        readies.append(ready)
    for ready in readies:  # their start-up (imports) must not share the CPU with the board's first paint
        ready.wait(60)

    shown: dict[str, float] = {}
    expected = {job: (stage, prefix) for targets in phases.values() for job, stage, _, prefix in targets}
    costs: dict[str, list[float]] = {"apply": [], "changed_jobs": [], "wip_rows": []}
    marks: dict[str, float] = {}
    originals = (board_views.WipTable.apply, board_feed.changed_jobs, BoardScreen.on_mount, board_views.WipTable.load)

    def apply(table, rows_, asked, read_at, now):
        started = time.perf_counter()
        changed = originals[0](table, rows_, asked, read_at, now)
        costs["apply"].append(time.perf_counter() - started)
        for number in asked:
            want = expected.get(number)
            if (
                want
                and number not in shown
                and number in table.models
                and table.cell_plain(number, want[0]).startswith(want[1])
            ):
                shown[number] = time.time()
        return changed

    def changed_jobs(since):
        started = time.perf_counter()
        out = originals[1](since)
        costs["changed_jobs"].append(time.perf_counter() - started)
        return out

    def on_mount(screen):
        marks["screen_mounted"] = time.perf_counter()
        return originals[2](screen)

    def load(table, *args, **kwargs):
        marks["board_read"] = time.perf_counter()
        # Called back after the next refresh: the top of the board is on the screen.
        table.call_after_refresh(lambda: marks.setdefault("first_paint", time.perf_counter()))
        return originals[3](table, *args, **kwargs)

    board_views.WipTable.apply = apply
    board_feed.changed_jobs = changed_jobs
    BoardScreen.on_mount = on_mount
    board_views.WipTable.load = load
    gaps: list[float] = []
    stop = asyncio.Event()
    try:
        app = BenchApp(config, url, mode="board", store=store)
        started = time.perf_counter()
        async with app.run_test(size=(160, 48)):
            give_up = time.monotonic() + 120
            while not (
                isinstance(app.screen, BoardScreen)
                and app.screen.loaded
                and not app.screen._busy
                and len(app.screen.table.models) == len(rows)
            ):
                if time.monotonic() > give_up:
                    shown = len(app.screen.table.models) if isinstance(app.screen, BoardScreen) else 0
                    raise RuntimeError(f"the board did not show its {len(rows)} rows within 120 s ({shown} shown)")
                await asyncio.sleep(0.005)
            marks["all_rows"] = time.perf_counter()
            results["app_start_to_board_screen_s"] = marks["screen_mounted"] - started
            results["board_screen_to_first_rows_read_s"] = marks["board_read"] - marks["screen_mounted"]
            results["first_paint_s"] = marks.get("first_paint", marks["all_rows"]) - started
            results["all_rows_s"] = marks["all_rows"] - started
            lag = asyncio.ensure_future(_loop_lag(gaps, stop))
            for name, (process, queue, go) in writers.items():
                gaps.clear()
                go.set()
                committed: dict[str, float] = {}
                finished = False
                deadline = time.monotonic() + 180
                while time.monotonic() < deadline and not (finished and all(j in shown for j in committed)):
                    while not queue.empty():
                        item = queue.get()
                        if item is None:
                            finished = True
                        else:
                            committed[item[0]] = item[1]
                    await asyncio.sleep(0.01)
                latencies = [shown[j] - committed[j] for j in committed if j in shown]
                results[f"{name}_entries"] = len(committed)
                results[f"{name}_not_shown"] = len(committed) - len(latencies)
                results[f"{name}_p50_s"] = percentile(latencies, 50)
                results[f"{name}_p95_s"] = percentile(latencies, 95)
                results[f"{name}_max_s"] = max(latencies, default=float("nan"))
                results[f"{name}_ui_blocked_max_s"] = max(gaps, default=float("nan"))
                results[f"{name}_ui_blocked_p95_s"] = percentile(gaps, 95)
                if name == "burst" and latencies:
                    results["burst_first_commit_to_all_shown_s"] = max(shown[j] for j in committed if j in shown) - min(
                        committed.values()
                    )
            stop.set()
            await lag
    finally:
        board_views.WipTable.apply, board_feed.changed_jobs, BoardScreen.on_mount, board_views.WipTable.load = originals
        for process, _, _ in writers.values():
            process.join(30)
            if process.is_alive():
                process.terminate()
    results["apply_ms_p50"] = percentile(costs["apply"], 50) * 1000
    results["apply_ms_p95"] = percentile(costs["apply"], 95) * 1000
    results["changed_jobs_ms_p50"] = percentile(costs["changed_jobs"], 50) * 1000
    return results


def measure_reads(config: Config, repeat: int = 5) -> dict:
    """Store-side costs: the first paint's read and one affected row's re-read."""
    from floorterm.reports import Reports

    reports = Reports(config)
    board_times, row_times = [], []
    rows = []
    for _ in range(repeat):
        started = time.perf_counter()
        rows = reports.board().wip.rows
        board_times.append(time.perf_counter() - started)
    for row in rows[:: max(1, len(rows) // 20)][:20]:
        started = time.perf_counter()
        reports.wip_rows([row.number])
        row_times.append(time.perf_counter() - started)
    return {
        "board_read_s_median": statistics.median(board_times),
        "board_read_s_min": min(board_times),
        "row_read_ms_median": statistics.median(row_times) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m floorterm.bench.board", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="an EMPTY store URL (sqlite:///PATH or postgresql://...)")
    parser.add_argument("--config", default=None, help="config file (default: the repository's config.toml)")
    parser.add_argument("--open-jobs", type=int, default=2000)
    parser.add_argument("--samples", type=int, default=60, help="entries for the commit-to-board latency")
    parser.add_argument("--burst", type=int, default=100, help="entries written as fast as possible")
    args = parser.parse_args(argv)

    from floorterm import models as m
    from floorterm.store import init_store

    config_path = args.config or str(Path(__file__).resolve().parents[2] / "config.toml")
    config = load_config(config_path)
    store, _ = init_store(args.db)
    if m.Job.select().exists():
        print(f"{args.db} already holds jobs; give an empty store", file=sys.stderr)
        return 2
    now = utcnow().replace(microsecond=0)
    fill_store(store, config, args.open_jobs, now=now)
    results = {"backend": store.backend, "stages": len(config.stages)}
    results.update(measure_reads(config))
    results.update(asyncio.run(_measure(config, config_path, store.url, store, args.samples, args.burst)))
    store.close()
    width = max(len(k) for k in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value:.3f}" if isinstance(value, float) else f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
