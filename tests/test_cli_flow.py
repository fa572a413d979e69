"""`floorterm entries import`, `report flow|variance|quality` and `jobs show --json` flow
figures through the command line, on both backends, with a history whose times the test
chooses (entries import) and figures worked out by hand."""

from __future__ import annotations

import json

import pytest

from test_cli import run, write  # noqa: F401 (fixture)

ENTRIES = """at,action,job,step,qty,reason,item,note,operator,terminal,uuid
2026-11-20T08:00:00+01:00,release,J-5001,,10,,,,S1,,a1b2c3d4-0000-4000-8000-000000000001
2026-11-20T09:00:00+01:00,complete,J-5001,CUT,10,,,,S1,,a1b2c3d4-0000-4000-8000-000000000002
2026-11-20T11:00:00+01:00,complete,J-5001,WELD,4,,,,S1,,a1b2c3d4-0000-4000-8000-000000000003
2026-11-20T13:00:00+01:00,complete,J-5001,WELD,6,,,,S1,,a1b2c3d4-0000-4000-8000-000000000004
"""


@pytest.fixture
def history(run, tmp_path):
    """J-5001 (10, weldment): released 08:00, cut 09:00, 4 welded 11:00 and 6 at 13:00 (plant time)."""
    assert run("operators", "add", "S1", "Sam Supervisor", "--role", "supervisor").code == 0
    assert run("jobs", "add", "J-5001", "--qty", "10", "--routing", "weldment", "--planned-end", "2026-11-21").code == 0
    path = write(tmp_path / "entries.csv", ENTRIES)
    done = run("entries", "import", str(path), "--by", "S1")
    assert done.code == 0, done.err
    assert "4 entries written, 0 already in the store (4 rows)" in done.out
    return path


def test_entries_import_twice_writes_nothing_twice(run, history):
    again = run("entries", "import", str(history), "--by", "S1")
    assert again.code == 0, again.err
    assert "0 entries written, 4 already in the store" in again.out


def test_entries_import_refuses_a_bad_file_naming_the_line(run, tmp_path):
    assert run("operators", "add", "S1", "Sam Supervisor", "--role", "supervisor").code == 0
    assert run("jobs", "add", "J-5002", "--qty", "5", "--routing", "weldment").code == 0
    path = write(tmp_path / "bad.csv", ENTRIES.replace("J-5001", "J-5002").replace(",4,,,,S1", ",4x,,,,S1"))
    result = run("entries", "import", str(path), "--by", "S1")
    assert result.code == 1
    assert "line 4" in result.err and "qty" in result.err and "Nothing was imported" in result.err
    card = json.loads(run("jobs", "show", "J-5002", "--json").out)
    assert card["released"] == 0  # all or nothing


def test_report_flow_from_imported_history(run, history):
    result = run("report", "flow", "--since", "2026-11-20", "--until", "2026-11-20", "--format", "json")
    assert result.code == 0, result.err
    weld = next(row for row in json.loads(result.out) if row["stage"] == "WELD")
    # 10 arrive at 09:00; 4 leave after 2 h, 6 after 4 h: 8 + 24 = 32 unit-hours, 32 / 10 = 3.2 h.
    assert (weld["units_in"], weld["units_out"]) == (10, 10)
    assert weld["unit_hours"] == pytest.approx(32.0)
    assert weld["mean_wait_hours"] == pytest.approx(3.2)


def test_report_flow_as_a_printable_page_and_html_refused_elsewhere(run, history):
    page = run("report", "flow", "--since", "2026-11-20", "--until", "2026-11-20", "--format", "html")
    assert page.code == 0, page.err
    assert page.out.startswith("<!DOCTYPE html>") and "<svg" in page.out and "size: A4" in page.out
    refused = run("report", "wip", "--format", "html")
    assert refused.code == 2 and "--format html is for flow, variance, quality" in refused.err


def test_jobs_show_json_carries_the_flow_figures(run, history):
    card = json.loads(run("jobs", "show", "J-5001", "--json").out)
    assert card["actual_start"] == "2026-11-20T07:00:00Z"  # 08:00 plant time (UTC+1)
    weld = next(step for step in card["steps"] if step["stage"] == "WELD")
    assert weld["unit_hours"] == pytest.approx(32.0) and weld["mean_wait_hours"] == pytest.approx(3.2)
    assert weld["first_received_at"] == "2026-11-20T08:00:00Z"
    assert weld["last_completed_at"] == "2026-11-20T12:00:00Z"
