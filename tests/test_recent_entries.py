"""A terminal's latest entries (the kiosk's "your last entries" list) and how a job's history
shows an entry made at the terminal long before it reached the store (queued offline)."""

from __future__ import annotations

import datetime as dt

from rich.console import Console

from conftest import SUPERVISOR, at
from floorterm.queries import RecentEntry
from floorterm.screens.board_format import history_cells
from floorterm.screens.widgets import history_renderable
from test_ledger import advance


def summary(entries: list[RecentEntry]) -> list[tuple]:
    return [(e.job, e.words, e.voided, e.voided_by) for e in entries]


def test_recent_entries_are_this_terminals_newest_first_with_voids_marked(ledger, queries, make_job, clock):
    first, second = make_job(release=20), make_job(release=20)
    advance(ledger, first, "WELD", 20)
    advance(ledger, second, "WELD", 20)
    ledger.start(first, "WELD", actor=at("WELD-1", "W1"))
    clock.advance(minutes=1)
    ledger.complete(first, "WELD", 3, actor=at("WELD-1", "W1"))
    ledger.complete(second, "WELD", 2, actor=at("WELD-2", "W2"))  # another terminal
    ledger.reject(second, "WELD", 1, "POR", actor=at("WELD-1", "W2"))  # another operator here
    clock.advance(minutes=1)
    mistake = ledger.complete(second, "WELD", 4, actor=at("WELD-1", "W1"))
    ledger.void(mistake.uuid, actor=at("WELD-1", "W1"), note="wrong job")  # undo at the kiosk
    queued = clock.now - dt.timedelta(minutes=25)
    ledger.complete(first, "WELD", 5, actor=at("WELD-1", "W1"), client_time=queued)

    everyone = queries.recent_entries("WELD-1")
    assert summary(everyone) == [
        (first, "complete 5 at Welding", False, None),
        (second, "complete 4 at Welding", True, "Wanda Welder"),
        (second, "reject 1 at Welding (POR)", False, None),
        (first, "complete 3 at Welding", False, None),
        (first, "start at Welding", False, None),
    ]
    assert (everyone[0].client_time, everyone[0].committed_at) == (queued, clock.now)
    assert everyone[0].kind == "complete" and everyone[1].uuid == mistake.uuid
    assert [e.words for e in queries.recent_entries("WELD-1", badge="W1", limit=3)] == [
        "complete 5 at Welding",
        "complete 4 at Welding",
        "complete 3 at Welding",
    ]
    assert summary(queries.recent_entries("WELD-1", badge="W2")) == [(second, "reject 1 at Welding (POR)", False, None)]
    assert summary(queries.recent_entries("WELD-2")) == [(second, "complete 2 at Welding", False, None)]
    assert queries.recent_entries("CUT-1") == []
    assert queries.recent_entries("WELD-1", badge="NOBODY") == []


def test_recent_entries_of_a_dispatch_name_its_reference_and_a_supervisors_void(ledger, queries, make_job):
    job = make_job(release=20)
    advance(ledger, job, "DISP", 20)
    shipped = ledger.dispatch(job, 5, actor=at("DISP-1", "W1"), reference="DN-4411")
    ledger.void(shipped.uuid, actor=SUPERVISOR, note="wrong truck")
    (entry,) = queries.recent_entries("DISP-1")
    assert (entry.kind, entry.words, entry.voided, entry.voided_by) == (
        "dispatch",
        "dispatch 5 · ref DN-4411",
        True,
        "Sam Supervisor",
    )


def plain(renderable, width: int = 160) -> str:
    console = Console(width=width, record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_job_history_shows_an_entry_made_long_before_it_was_recorded(ledger, queries, make_job, clock, config):
    job = make_job(number="J-77", release=20)  # 07:00 UTC = 08:00 in the plant (Berlin, winter)
    clock.advance(minutes=38)
    ledger.complete(job, "CUT", 2, actor=at("CUT-1", "C1"), client_time=clock.now - dt.timedelta(minutes=38))
    clock.advance(minutes=1)
    ledger.complete(job, "CUT", 1, actor=at("CUT-1", "C1"), client_time=clock.now - dt.timedelta(seconds=60))
    on_time, late, release, _created = queries.history(job)  # newest first
    today = dt.date(2026, 11, 23)

    late_cells = [c.plain for c in history_cells(late, {}, config.tz, today)]
    assert late_cells[0] == "today 08:38 (entered 08:00 at the terminal)"
    assert [c.plain for c in history_cells(on_time, {}, config.tz, today)][0] == "today 08:39"
    assert [c.plain for c in history_cells(release, {}, config.tz, today)][0] == "today 08:00"

    text = plain(history_renderable([on_time, late, release], config.tz))
    lines = [line for line in text.splitlines() if "complete" in line]
    assert "entered" not in lines[0]
    assert "complete · entered 08:00 at the terminal" in lines[1]


def test_job_history_entered_on_another_day_names_the_day(ledger, queries, make_job, clock, config):
    job = make_job(release=20)
    clock.advance(hours=30)
    ledger.complete(job, "CUT", 2, actor=at("CUT-1", "C1"), client_time=clock.now - dt.timedelta(hours=26))
    cells = history_cells(queries.history(job)[0], {}, config.tz, dt.date(2026, 11, 24))
    assert cells[0].plain == "today 14:00 (entered Mon 23 Nov 12:00 at the terminal)"


def test_job_history_shows_a_dispatch_reference(ledger, queries, make_job, config):
    job = make_job(release=20)
    advance(ledger, job, "DISP", 20)
    ledger.dispatch(job, 5, actor=at("DISP-1"), reference="DN-4411")
    entry = queries.history(job)[0]
    assert history_cells(entry, {}, config.tz, dt.date(2026, 11, 23))[1].plain == "Dispatched · ref DN-4411"
    assert "dispatch · ref DN-4411" in plain(history_renderable([entry], config.tz))
