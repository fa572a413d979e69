"""The kiosk benchmark (DESIGN.md §7): scan → card on screen, and Enter on a quantity →
confirmation on screen, measured through the real kiosk screen, plus the keystrokes of the
common paths.

    python -m floorterm.bench.kiosk --db sqlite:////tmp/bench.db [--iterations 200]
                                    [--terminal WELD-1] [--size 80x24] [--writers 19]

How it measures: the kiosk app runs headless (Textual's test driver, the same screen code
as on a terminal) on the store given. For each job it types the job number, then times from
the Enter key event being posted to the moment the kiosk shows that job's card AND the screen
has been laid out and rendered (Screen._on_timer_update forces the render the terminal would
get); then it types "1" and times Enter → the green confirmation rendered the same way. Each
job gets one complete of 1 unit at the terminal's step, so a job is used once.

It writes entries. A SQLite store is copied to a temporary file first (--in-place to write to
the store itself); never point it at the plant's store. Without --db it builds a small demo
store (floorterm.demo.build_demo) in a temporary folder and says so. --writers N starts N
processes that each record a note every --writer-interval seconds on other jobs, as other
terminals would, while the kiosk is measured.

This module imports Textual only inside its functions: importing floorterm.* stays light.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from floorterm.bench.store import percentiles
from floorterm.config import Config, find_config_path, load_config
from floorterm.ledger import Actor, Ledger
from floorterm.queries import Queries
from floorterm.store import Store, init_store, sqlite_path_from_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m floorterm.bench.kiosk", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", metavar="URL", help="the store (default: build a small demo store)")
    parser.add_argument("--config", metavar="PATH", help="the config file (default as for floorterm)")
    parser.add_argument("--terminal", default="WELD-1", help="the kiosk terminal to run as (default WELD-1)")
    parser.add_argument("--iterations", type=int, default=200, help="jobs to scan and complete (default 200)")
    parser.add_argument("--size", default="80x24", help="terminal size WxH (default 80x24)")
    parser.add_argument("--writers", type=int, default=0, help="other terminals writing meanwhile (default 0)")
    parser.add_argument("--writer-interval", type=float, default=0.5, help="seconds between their entries")
    parser.add_argument("--in-place", action="store_true", help="write to the SQLite store itself, not a copy")
    parser.add_argument("--demo-jobs", type=int, default=2000, help="jobs in the demo store built without --db")
    args = parser.parse_args(argv)
    config = load_config(find_config_path(args.config))
    width, height = (int(n) for n in args.size.lower().split("x"))
    with tempfile.TemporaryDirectory(prefix="floorterm-kiosk-bench-") as folder:
        url = prepare_store(args, config, Path(folder))
        result = asyncio.run(
            run(
                url,
                config,
                terminal=args.terminal,
                iterations=args.iterations,
                size=(width, height),
                writers=args.writers,
                interval=args.writer_interval,
            )
        )
    report(result)
    return 0


def prepare_store(args, config: Config, folder: Path) -> str:
    if not args.db:
        from floorterm.demo import build_demo

        url = f"sqlite:///{folder / 'demo.db'}"
        store, _ = init_store(url)
        summary = build_demo(store, config, jobs=args.demo_jobs)
        store.close()
        print(
            f"No --db given: built a demo store with {summary.jobs} jobs and {summary.events} entries "
            f"(not the 20,000-job store of DESIGN.md §7)"
        )
        return url
    path = sqlite_path_from_url(args.db)
    if path is None or args.in_place:
        return args.db
    copy = folder / "copy.db"
    print(f"Copying {path} to a temporary file (the benchmark writes entries)…", flush=True)
    source = sqlite3.connect(str(path))
    target = sqlite3.connect(str(copy))
    with target:
        source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{copy}"


def _writer(url: str, config_path: str, jobs: list[str], badge: str, interval: float, stop) -> None:
    """Another terminal: a note on a random job every `interval` seconds until stopped."""
    config = load_config(config_path)
    store = Store.open(url)
    ledger = Ledger(store, config)
    rng = random.Random(os.getpid())
    while not stop.is_set():
        try:
            ledger.add_note(rng.choice(jobs), "bench: another terminal", actor=Actor(badge))
        except Exception:  # the measurement goes on; a writer's error is not the kiosk's
            pass
        stop.wait(interval * (0.5 + rng.random()))
    store.close()


async def run(
    url: str, config: Config, *, terminal: str, iterations: int, size: tuple[int, int], writers: int, interval: float
) -> dict:
    from textual import events

    from floorterm.screens.app import FloortermApp

    store = Store.open(url)
    queries = Queries(config)
    stage = config.terminal(terminal).stages[0]
    jobs_count = store.db.execute_sql("SELECT COUNT(*) FROM job").fetchone()[0]
    events_count = store.db.execute_sql("SELECT COUNT(*) FROM event").fetchone()[0]
    started = time.perf_counter()
    candidates, roomy = [], []  # pending at the step; and with 3+ pending and no delay, for the paths
    for job in queries.list_jobs(stage=stage):
        step = queries.job_card(job.number).step(stage)
        if "on hold" not in job.flags and step.pending >= 1:
            (roomy if step.pending >= 3 and step.open_delay is None and len(roomy) < 3 else candidates).append(
                job.number
            )
    found = time.perf_counter() - started
    operators = queries.operators()
    badge = next(o.badge for o in operators if o.role in ("operator", "supervisor"))
    boss = next(o.badge for o in operators if o.role == "supervisor")
    paths_jobs, jobs = roomy, candidates[:iterations]
    if len(jobs) < iterations:
        print(f"Only {len(jobs)} open jobs have work at {stage}: measuring {len(jobs)} iterations")
    others = [j.number for j in queries.list_jobs(limit=500)] or jobs
    print(
        f"Store: {jobs_count} jobs, {events_count} entries; "
        f"{len(candidates) + len(roomy)} jobs with work pending at {stage} "
        f"(found in {found:.1f} s); kiosk {terminal} at {size[0]}x{size[1]}, badge {badge}",
        flush=True,
    )

    stop = multiprocessing.get_context("spawn").Event()
    procs = [
        multiprocessing.get_context("spawn").Process(
            target=_writer, args=(url, str(config.path), others, boss, interval, stop), daemon=True
        )
        for _ in range(writers)
    ]
    for proc in procs:
        proc.start()

    app = FloortermApp(config, url, mode="kiosk", terminal=terminal, unlocked=True, store=store)
    card_times: list[float] = []
    confirm_times: list[float] = []
    keys: dict[str, int] = {}
    try:
        async with app.run_test(size=size):
            screen = app.screen

            def send(*names: str) -> None:
                for name in names:
                    char = "\r" if name == "enter" else (name if len(name) == 1 else None)
                    event = events.Key(_key_name(name), char)
                    event.set_sender(app)
                    app._driver.send_message(event)

            async def until(done, settled: bool = True) -> None:
                """Wait for done() (and, if settled, for no store work in flight), then render."""
                end = time.perf_counter() + 30
                while not (done() and not (settled and (screen.busy or screen._queued))):
                    if time.perf_counter() > end:
                        raise RuntimeError(f"the kiosk did not get there: step {screen.step}")
                    await asyncio.sleep(0.0002)
                screen._on_timer_update()  # lay out and render now, as the terminal would get it

            send(*badge, "enter")
            await until(lambda: screen.step == "job")
            if writers:
                await asyncio.sleep(2.0)  # let the writers start
            for number in jobs:
                send(*number)
                await until(lambda: screen.editor.text == number)
                t0 = time.perf_counter()
                send("enter")
                await until(lambda: screen.step == "card" and screen.card is not None and screen.card.number == number)
                card_times.append(time.perf_counter() - t0)
                send("1")
                await until(lambda: screen.editor.text == "1")
                t0 = time.perf_counter()
                send("enter")
                # The banner is up once the entry is saved; the card's re-read may still run.
                await until(lambda: screen.step == "result", settled=False)
                confirm_times.append(time.perf_counter() - t0)
                if not screen.outcome.ok:
                    raise RuntimeError(f"{number}: {screen.outcome.message}")
                await until(lambda: True)
                send("enter")  # dismiss
                await until(lambda: screen.step == "job")
            keys = await count_paths(screen, send, until, paths_jobs)
    finally:
        stop.set()
        for proc in procs:
            proc.join(10)
        store.close()
    return {
        "jobs": jobs_count,
        "events": events_count,
        "terminal": terminal,
        "size": size,
        "writers": writers,
        "interval": interval,
        "card": percentiles(card_times),
        "confirm": percentiles(confirm_times),
        "keys": keys,
    }


async def count_paths(screen, send, until, jobs: list[str]) -> dict[str, int]:
    """Run the common paths once each and count what the operator presses (a scan is one)."""
    counts: dict[str, int] = {}
    if len(jobs) < 3:
        return counts

    async def path(name: str, number: str, *keys: str) -> None:
        send(*number, "enter")  # the job card's barcode: one scan
        await until(lambda: screen.step == "card" and screen.card is not None and screen.card.number == number)
        send(*keys)
        await until(lambda: screen.step == "result")
        if not screen.outcome.ok:
            raise RuntimeError(f"{name}: {screen.outcome.message}")
        counts[name] = 1 + len(keys)
        send("enter")
        await until(lambda: screen.step == "job")

    await path("complete all pending", jobs[0], "enter")
    # The demo plant has 12 reject and 10 delay reasons: a list of ten or more takes the
    # reason's number, then Enter.
    await path("reject 3 with a reason", jobs[1], "3", "-", "4", "enter")
    await path("open a delay", jobs[2], "*", "2", "enter")
    return counts


def _key_name(name: str) -> str:
    from textual.keys import _character_to_key

    return _character_to_key(name) if len(name) == 1 and not name.isalnum() else name


def report(result: dict) -> None:
    print()
    load = (
        f"{result['writers']} other terminals each writing every ~{result['interval']} s"
        if result["writers"]
        else "no other writers"
    )
    print(
        f"Kiosk {result['terminal']} at {result['size'][0]}x{result['size'][1]}, "
        f"{result['jobs']} jobs / {result['events']} entries, {load}"
    )
    print(f"{'what':<44}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for key, label in (
        ("card", "Enter of a job-number scan → card on screen"),
        ("confirm", "Enter on a quantity → confirmation shown"),
    ):
        stats = result[key]
        print(f"{label:<44}{stats['calls']:>5}{_ms(stats['p50'])}{_ms(stats['p95'])}{_ms(stats['max'])}")
    if result["keys"]:
        print("\nKeystrokes (a scan counts as one; signing in is once per shift):")
        for name, count in result["keys"].items():
            print(f"  {name:<26}{count}")


def _ms(value) -> str:
    return f"{value:>9.1f}" if value is not None else f"{'—':>9}"


if __name__ == "__main__":
    sys.exit(main())
