"""The virtual plant (floorterm.bench.simulate, `floorterm simulate`) on both backends."""

from __future__ import annotations

import pytest

from floorterm import models as m
from floorterm.bench.simulate import HeadlessBoard, plan_seats, refusal_key, run_simulation
from floorterm.cli import main
from floorterm.errors import DomainError
from floorterm.ledger import Actor, Ledger
from floorterm.store import Store
from floorterm.verify import verify_store


def test_seats_follow_the_demo_plants_terminals_and_crews(config):
    seats = plan_seats(config, 24)
    assert [s.index for s in seats] == list(range(24))
    by_terminal = {s.terminal: s for s in seats}
    assert by_terminal["QC-1"].kind == "qc" and by_terminal["QC-1"].stages == ("FQC",)
    assert by_terminal["STORES-1"].kind == "stores"
    assert by_terminal["DISP-1"].kind == "dispatch"
    assert "BOARD-1" not in by_terminal
    # Two operators share WELD-1's seats in turn; both are the demo's welders there.
    assert {s.badge for s in seats if s.terminal == "CUT-1"} == {"B1042", "B1043"}


def test_refusals_are_counted_by_their_message_without_numbers():
    assert refusal_key("Only 12 pending at Welding; cannot complete 20") == refusal_key(
        "Only 3 pending at Welding; cannot complete 4"
    )
    assert refusal_key("Job 'J-24001' is on hold") == "Job '…' is on hold"


@pytest.mark.slow
def test_a_short_plant_run_records_and_every_board_sees_every_commit(store_url, config):
    from floorterm.bench.simulate import prepare_store

    prepare_store(store_url, config, jobs=120, out=lambda line: None)
    store = Store.open(store_url)
    before = m.Event.select().count()
    store.close()
    result = run_simulation(store_url, config, terminals=4, boards=2, seconds=10, pace=0.5, out=lambda line: None)
    assert result["entries"] > 0
    assert result["errors"] == 0, result["first_errors"]
    assert result["board_missed"] == 0
    assert result["board_samples"] == result["entries"] * 2  # every board saw every commit
    lat = result["board_latency"]
    assert 0 <= lat["p50"] <= lat["p95"] <= lat["max"]
    if result["backend"] == "postgres":
        assert result["store_connections_max"] >= 4 and result["store_cpu_s"] >= 0
    store = Store.open(store_url)
    try:
        # Every entry the terminals counted is one event in the store, none more, and the ledger balances.
        assert m.Event.select().count() - before == result["entries"]
        assert verify_store() == []
    finally:
        store.close()


def test_a_headless_board_rereads_only_the_jobs_a_commit_touched(sqlite_url, config):
    from floorterm.bench.simulate import prepare_store

    prepare_store(sqlite_url, config, jobs=30, out=lambda line: None)
    store = Store.open(sqlite_url)
    try:
        board = HeadlessBoard(config)
        shown = len(board.rows)
        number = next(n for n, r in board.rows.items() if "on hold" not in r.flags)
        receipt = Ledger(store, config).add_note(number, "simulate test", actor=Actor("B1001"))
        board.refresh()
        assert board.rows_read == 1 and len(board.rows) == shown
        assert board.seen[number] == [(receipt.event_id, board.seen[number][0][1])]
        board.refresh()  # nothing new: nothing re-read
        assert board.rows_read == 1
    finally:
        store.close()


def test_simulate_refuses_a_store_that_is_not_a_demo_plant(store, ledger, config):
    from conftest import OPERATORS  # the test store's operators, not the demo's

    ledger.import_operators(list(OPERATORS))
    from floorterm.ledger import JobSpec

    ledger.create_jobs([JobSpec(number="J-1", qty=5, routing="standard")])
    url = store.url
    store.close()
    with pytest.raises(DomainError, match="not a demo plant"):
        run_simulation(url, config, terminals=1, boards=0, seconds=1, out=lambda line: None)
    Store.open(url)  # the fixture closes it again


def test_simulate_command_refuses_the_plant_store_and_bad_numbers(tmp_path, capsys, monkeypatch):
    plant = f"sqlite:///{tmp_path / 'plant.db'}"
    monkeypatch.setenv("FLOORTERM_DB", plant)
    assert main(["simulate", "--db", plant, "--terminals", "1"]) == 2
    assert "Refusing to simulate on the plant's store" in capsys.readouterr().err
    assert main(["simulate", "--terminals", "0"]) == 2
    assert "--terminals must be at least 1" in capsys.readouterr().err
    assert main(["simulate", "--minutes", "-1"]) == 2
    assert "must be a positive number" in capsys.readouterr().err
    assert not (tmp_path / "plant.db").exists()


@pytest.mark.slow
def test_simulate_command_prints_the_plant_and_json(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    code = main(
        ["simulate", "--db", url, "--terminals", "3", "--boards", "1", "--minutes", "0.1", "--pace", "1", "--json"]
    )
    captured = capsys.readouterr()
    import json

    result = json.loads(captured.out)
    assert code == 0 and result["errors"] == 0 and result["entries"] > 0
    assert result["board_samples"] == result["entries"]
    assert "commit → board: p50" in captured.err and "errors: 0" in captured.err
    assert main(["db", "verify", "--db", url]) == 0


@pytest.mark.slow
def test_demo_live_runs_a_plant_beside_the_board_and_stops_it(tmp_path, monkeypatch, capsys):
    """The board opens while a simulated plant records in the background; leaving ends the plant."""
    import time

    import floorterm.screens.app as app
    from conftest import REPO

    db = tmp_path / "live.db"
    seen = {}

    def board(config, url, **options):  # stands in for the screen: watch the store move meanwhile
        import sqlite3

        def count():
            conn = sqlite3.connect(str(db))
            try:
                return conn.execute("SELECT count(*) FROM event").fetchone()[0]
            finally:
                conn.close()

        seen["options"], seen["before"] = options, count()
        deadline = time.monotonic() + 60
        while count() <= seen["before"] and time.monotonic() < deadline:
            time.sleep(0.5)
        seen["after"] = count()
        seen["plants"] = _plants(str(db))
        return 0

    monkeypatch.setattr(app, "run_app", board)
    code = main(["--config", str(REPO / "config.toml"), "--db", str(db), "demo", "--live", "--jobs", "40"])
    capsys.readouterr()
    assert code == 0
    assert seen["options"] == {"mode": "board"}
    assert seen["after"] > seen["before"]  # the plant recorded while the board was open
    assert seen["plants"]  # ... from its own process
    deadline = time.monotonic() + 20
    while _plants(str(db)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _plants(str(db)) == []  # leaving the board ended the plant and its terminal processes
    assert main(["--db", str(db), "--config", str(REPO / "config.toml"), "db", "verify"]) == 0


def _plants(db: str) -> list[int]:
    """Processes of the background plant on this store (by their command line)."""
    import os

    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "floorterm.bench.simulate" in cmd and db in cmd:
            found.append(int(pid))
    return found


def test_demo_live_and_seed_only_do_not_go_together(tmp_path, capsys):
    assert main(["--db", str(tmp_path / "x.db"), "demo", "--live", "--seed-only"]) == 2
    assert "--live opens the board; --seed-only opens nothing" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()
