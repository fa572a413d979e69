"""Benchmark of `report flow` for a week (DESIGN.md §7: < 2 s on the 20,000-job / 1M-event store).

    python -m floorterm.bench.flow --db URL [--days 7] [--runs 5] [--config PATH]

Reads only: point it at a filled store (e.g. one built by `floorterm demo --seed-only --jobs
20000`). The period is the last `--days` of the store's own data (up to its newest entry), and
"now" is just after that entry, as if the report ran the moment the data ended. Each run is one
`Reports.flow` call, timed with perf_counter (wall) and process_time (this process's CPU; on
PostgreSQL the server's share shows only in the wall time). A PostgreSQL store that was never
ANALYZEd (autovacuum off, as on test servers) gets sequential scans: run ANALYZE first.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from pathlib import Path

from floorterm.config import load_config


def measure(config, days: float = 7, runs: int = 5) -> dict:
    """Time Reports.flow over the store's last `days`; the store must be open."""
    from floorterm import models as m
    from floorterm.reports import Reports

    newest = m.Event.select(m.Event.committed_at).order_by(m.Event.committed_at.desc()).limit(1).scalar()
    now = newest + dt.timedelta(seconds=1)
    since = now - dt.timedelta(days=days)
    reports = Reports(config, clock=lambda: now)
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = time.perf_counter(), time.process_time()
        report = reports.flow(since, now)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    moved = sum(s.units_out for s in report.stages)
    return {
        "since": since.isoformat(" ", "seconds"),
        "until": now.isoformat(" ", "seconds"),
        "units_out": moved,
        "jobs_through": len(report.jobs),
        "wall_s_median": statistics.median(walls),
        "wall_s_max": max(walls),
        "cpu_s_median": statistics.median(cpus),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m floorterm.bench.flow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", required=True, help="a filled store URL (sqlite:///PATH or postgresql://...)")
    parser.add_argument("--config", default=None, help="config file (default: the repository's config.toml)")
    parser.add_argument("--days", type=float, default=7)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)

    from floorterm.store import Store

    config = load_config(args.config or Path(__file__).resolve().parents[2] / "config.toml")
    store = Store.open(args.db)
    try:
        r = measure(config, args.days, args.runs)
    finally:
        store.close()
    print(
        f"{store.backend}: report flow for {args.days:g} days ({r['since']} to {r['until']} UTC), {args.runs} runs: "
        f"median {r['wall_s_median']:.2f} s, max {r['wall_s_max']:.2f} s (budget 2 s); "
        f"{r['cpu_s_median']:.2f} s CPU in this process; "
        f"{r['units_out']} units moved, {r['jobs_through']} jobs through"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
