"""The benchmarks (floorterm.bench): the store benchmark and `floorterm bench`, every budget, on tiny stores."""

from __future__ import annotations

import sqlite3

import pytest

from floorterm import models as m
from floorterm.bench.store import format_table, percentiles, run_store_bench
from floorterm.store import Store, sqlite_path_from_url
from floorterm.verify import verify_store


def test_percentiles_use_nearest_rank_in_milliseconds():
    stats = percentiles([i / 1000 for i in range(1, 101)])  # 1..100 ms
    assert (stats["calls"], stats["p50"], stats["p95"], stats["p99"], stats["max"]) == (100, 50.0, 95.0, 99.0, 100.0)
    assert percentiles([])["p95"] is None


def test_store_bench_measures_writes_floor_and_job_cards(sqlite_url, config):
    lines = []
    result = run_store_bench(sqlite_url, config, jobs=30, writers=(1, 3), samples=20, calls=10, out=lines.append)
    assert result["jobs"] == 30 and result["events"] > 300
    measured = [(f"record {n}", s) for n, s in result["record"].items()]
    measured += [(f"floor {n}", s) for n, s in result["floor"].items()]
    measured.append(("job card", result["job_card"]))
    for name, stats in measured:
        assert stats["errors"] == 0, (name, stats["first_error"])
        assert 0 < stats["p50"] <= stats["p95"] <= stats["p99"] <= stats["max"], (name, stats)
        assert stats["per_second"] > 0
    assert {n: s["calls"] for n, s in result["record"].items()} == {1: 10, 3: 30}
    assert {n: s["calls"] for n, s in result["floor"].items()} == {1: 10, 3: 30}
    assert result["job_card"]["calls"] == 20
    assert lines[0].startswith("Building a demo store of 30 jobs")
    assert lines[-len(format_table(result)) :] == format_table(result)
    assert any(line.startswith("record entry (Ledger.complete)") and "     3     30" in line for line in lines)

    store = Store.open(sqlite_url)
    try:
        # Every timed write really landed through the ledger, and the ledger still balances.
        assert (
            m.Event.select()
            .where(m.Event.kind == "complete")
            .join(m.Operator)
            .where(m.Operator.badge == "BENCH")
            .count()
            == 40
        )
        assert m.Event.select().count() == result["events"] + 40
        assert verify_store() == []
    finally:
        store.close()
    # The floor's scratch table is gone again.
    conn = sqlite3.connect(sqlite_path_from_url(sqlite_url))
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'bench_floor'").fetchone()[0] == 0
    conn.close()

    again = []
    second = run_store_bench(
        sqlite_url, config, jobs=30, writers=(1,), samples=3, calls=2, pause=0.01, out=again.append
    )
    assert again[0] == "Reusing the store's 30 jobs"
    assert "writers pause 10 ms on average" in again[-6] and second["record"][1]["calls"] == 2
    assert second["events"] == result["events"] + 40


def test_importing_the_bench_package_loads_nothing_heavy():
    import json
    import subprocess
    import sys

    from conftest import REPO

    code = (
        "import sys, json, floorterm.bench, floorterm.bench.store, floorterm.bench.simulate, floorterm.bench.flow\n"
        "print(json.dumps(sorted(n for n in ('textual', 'floorterm.screens', 'psycopg') if n in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


@pytest.mark.slow
def test_bench_measures_every_budget_beside_its_floor(store_url, config):
    from floorterm.bench.budgets import BUDGETS, run_budgets

    lines = []
    result = run_budgets(
        store_url,
        config,
        jobs=30,
        open_jobs=40,
        writers=3,
        samples=20,
        kiosk_iterations=5,
        board_samples=5,
        plant=(3, 1, 4.0, 0.5),
        out=lines.append,
    )
    assert result["jobs"] >= 30 and result["open_jobs"] >= 40
    assert set(result["budgets"]) == set(BUDGETS)
    for key, row in result["budgets"].items():
        assert row["measured"] is not None and row["measured"] > 0, key
        assert row["floor"] is not None and row["floor"] > 0, key
        assert row["ratio"] == pytest.approx(row["measured"] / row["floor"], rel=0.02, abs=0.01), key
        assert row["budget"] == BUDGETS[key][2] and row["floor_what"], key
        assert isinstance(row["ok"], bool)
    assert "0 errors, 0 not seen" in result["budgets"]["plant_commit_board_p95"]["detail"]
    table = "\n".join(lines)
    assert "budget (DESIGN.md §7)" in table and "floor: raw one-row commit, p50" in table
    store = Store.open(store_url)
    try:
        assert verify_store() == []
    finally:
        store.close()


def test_bench_command_refuses_postgres_without_a_url_and_the_plant_store(tmp_path, capsys, monkeypatch):
    from floorterm.cli import main

    plant = f"sqlite:///{tmp_path / 'plant.db'}"
    monkeypatch.setenv("FLOORTERM_DB", plant)
    assert main(["bench", "--backend", "postgres"]) == 2
    assert "bench --backend postgres needs --db postgresql://" in capsys.readouterr().err
    assert main(["bench", "--db", plant]) == 2
    assert "Refusing to benchmark the plant's store" in capsys.readouterr().err
    assert not (tmp_path / "plant.db").exists()
