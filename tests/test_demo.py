"""The demo data and the ledger's bulk path it is written through (floorterm.demo, floorterm.bulk)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import importlib.util
import re
import subprocess
import sys
from collections import Counter

import pytest
from conftest import REPO, at

from floorterm import models as m
from floorterm.bulk import HistoricEntry, import_history
from floorterm.clock import plant_today
from floorterm.demo import DemoSummary, build_demo, demo_operators
from floorterm.errors import DomainError, InputError, PermissionDenied
from floorterm.importer import read_jobs_csv, read_operators_csv
from floorterm.ledger import SYSTEM_BADGE, SYSTEM_NAME, JobSpec, Ledger, MaterialSpec
from floorterm.queries import Queries
from floorterm.reports import Reports
from floorterm.store import init_store
from floorterm.verify import verify_store

NOW = dt.datetime(2026, 3, 10, 9, 30)
SITUATIONS = (
    "delayed",
    "QC pending",
    "QC rework pending",
    "ready for dispatch",
    "partly dispatched",
    "late",
    "material short",
    "scrapped",
    "on hold",
    "priority changed",
    "voided entry",
    "partial quantities",
    "planned",
    "released",
    "partly released",
    "dispatched",
)


def fixed_now():
    return NOW


@pytest.fixture
def demo(store, config) -> DemoSummary:
    return build_demo(store, config, jobs=60, seed=7, now=NOW)


# -- the demo ------------------------------------------------------------------------------


def test_demo_store_verifies_and_counts_add_up(demo, store):
    assert verify_store() == []
    assert demo.jobs == 60 == m.Job.select().count()
    assert demo.events == m.Event.select().count()
    assert demo.events > 60 * 10
    assert all(e.committed_at <= NOW for e in m.Event.select(m.Event.committed_at))
    assert [n for (n,) in m.Job.select(m.Job.number).order_by(m.Job.id).limit(2).tuples()] == ["J-24001", "J-24002"]


def test_demo_samples_show_what_they_say(demo, config):
    queries = Queries(config, clock=fixed_now)
    today = plant_today(NOW, config.tz)
    assert set(SITUATIONS) <= set(demo.samples), set(SITUATIONS) - set(demo.samples)
    card = {key: queries.job_card(number) for key, number in demo.samples.items()}

    assert card["delayed"].delay is not None and "delayed" in card["delayed"].flags
    assert card["QC pending"].status == "QC pending"
    qc = card["QC rework pending"]
    assert "rework pending" in qc.flags and any(s.kind == "qc" and s.rejected for s in qc.steps)
    ready = card["ready for dispatch"]
    assert ready.status == "ready for dispatch" and ready.ready_for_dispatch > 0
    part = card["partly dispatched"]
    assert 0 < part.dispatched < part.qty and part.status != "dispatched"
    assert "late" in card["late"].flags and card["late"].planned_end < today
    assert any(line.short > 0 for line in card["material short"].material)
    assert card["scrapped"].scrapped > 0
    assert "on hold" in card["on hold"].flags
    moved = card["priority changed"]
    assert "priority changed" in moved.flags and moved.priority != moved.initial_priority
    assert sum(1 for s in card["partial quantities"].steps if s.completed > 0 and s.pending > 0) >= 2
    assert card["planned"].status == "planned" and card["planned"].released == 0
    assert card["released"].status == "released"
    assert 0 < card["partly released"].released < card["partly released"].qty
    assert card["dispatched"].status == "dispatched"
    voided = [row for row in queries.history(demo.samples["voided entry"]) if row["voided"]]
    assert voided and all(row["void_reason"] for row in voided)
    for key, number in demo.samples.items():
        if key.startswith("waiting at "):
            step = next(s for s in card[key].steps if s.name == key[len("waiting at ") :])
            assert step.state == "waiting" and step.pending > 0, (key, number)
    assert "waiting at Welding" in demo.samples


def test_demo_board_has_every_kind_of_exception(demo, config):
    exceptions = Reports(config, clock=fixed_now).exceptions()
    for name in (
        "delayed",
        "late",
        "pending_qc",
        "pending_rework",
        "ready_for_dispatch",
        "material_short",
        "priority_changed",
        "on_hold",
    ):
        assert getattr(exceptions, name), f"no {name} job on the demo board"
    assert len({item.reason for item in exceptions.delayed}) >= 3
    assert any(item.what == "decision" for item in exceptions.pending_rework)


def test_demo_history_has_the_floor_s_usual_entries(demo, config):
    kinds = Counter(kind for (kind,) in m.Event.select(m.Event.kind).tuples())
    for kind in (
        "release",
        "start",
        "complete",
        "reject",
        "rework",
        "scrap",
        "delay",
        "resume",
        "qc_pass",
        "qc_fail",
        "material_issue",
        "dispatch",
        "priority",
        "hold",
        "note",
        "void",
    ):
        assert kinds[kind] > 0, kind
    # QC failures go both ways: back to an earlier step for rework, and to scrap.
    qc_steps = m.JobStep.select(m.JobStep.id).where(m.JobStep.kind == "qc")
    assert (
        m.Event.select()
        .where((m.Event.kind == "rework") & m.Event.step.in_(qc_steps) & (m.Event.to_step != m.Event.step))
        .exists()
    )
    assert m.Event.select().where((m.Event.kind == "scrap") & m.Event.step.in_(qc_steps)).exists()
    # Shortages are real: issued less than required.
    assert m.MaterialLine.select().where(m.MaterialLine.issued < m.MaterialLine.required).exists()
    # Entries come a few minutes to hours apart, in the order they happened.
    job = m.Job.get(m.Job.number == demo.samples["dispatched"])
    times = [t for (t,) in m.Event.select(m.Event.committed_at).where(m.Event.job == job).order_by(m.Event.id).tuples()]
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0 and max(gaps) < 3 * 86400 and sum(gaps) / len(gaps) > 60


def test_demo_operators_cover_every_role(demo, config):
    rows = demo_operators()
    roles = Counter(role for _, _, role, _ in rows)
    assert roles["supervisor"] >= 2 and roles["planner"] >= 1 and roles["operator"] >= 8
    assert roles["qc"] >= 2 and roles["stores"] >= 2 and roles["viewer"] >= 1
    stages = {s for _, _, role, home in rows if role == "operator" for s in config.terminal(home).stages}
    assert len(stages) >= 6
    stored = {op.badge: (op.name, op.role, op.active) for op in m.Operator.select()}
    # The demo jobs were created by the store's own actor, which nobody can sign in as.
    assert stored == {
        **{badge: (name, role, True) for badge, name, role, _ in rows},
        SYSTEM_BADGE: (SYSTEM_NAME, "planner", False),
    }
    assert demo.operators == len(rows)
    # Every role has recorded something, except the viewer who only reads.
    active_roles = {role for (role,) in m.Event.select(m.Operator.role).join(m.Operator).distinct().tuples()}
    assert active_roles == {"supervisor", "planner", "operator", "qc", "stores"}


def test_demo_refuses_a_store_that_has_jobs(demo, store, config):
    with pytest.raises(DomainError, match="already has 60 jobs"):
        build_demo(store, config, jobs=5, now=NOW)


def _cards(url: str, config, seed: int) -> list[dict]:
    store, _ = init_store(url)
    try:
        build_demo(store, config, jobs=40, seed=seed, now=NOW)
        queries = Queries(config, clock=fixed_now)
        numbers = [n for (n,) in m.Job.select(m.Job.number).order_by(m.Job.number).tuples()]
        return [queries.job_card(n).to_json() for n in numbers]
    finally:
        store.close()


def test_demo_is_the_same_for_the_same_seed(tmp_path, config):
    first = _cards(f"sqlite:///{tmp_path / 'a.db'}", config, seed=11)
    again = _cards(f"sqlite:///{tmp_path / 'b.db'}", config, seed=11)
    other = _cards(f"sqlite:///{tmp_path / 'c.db'}", config, seed=12)
    assert first == again
    assert first != other


def test_sample_import_files_load_through_the_importer(ledger, config):
    specs = read_jobs_csv(REPO / "data" / "jobs.csv", REPO / "data" / "materials.csv", config=config)
    assert len(specs) == 10 and all(1 <= len(s.materials) <= 4 for s in specs)
    assert {s.routing for s in specs} == {r.name for r in config.routings}
    assert ledger.create_jobs(specs) == (10, 0)
    # The sample crew is the demo's: importing it into a demo store changes nothing.
    assert read_operators_csv(REPO / "data" / "operators.csv") == [(b, n, r) for b, n, r, _ in demo_operators()]


# -- the bulk path ---------------------------------------------------------------------------

T0 = dt.datetime(2026, 3, 2, 6, 0)


def t(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def spec(number: str, qty: int = 20, routing: str = "weldment") -> JobSpec:
    return JobSpec(
        number=number,
        qty=qty,
        routing=routing,
        customer="Nordwerk",
        product="Stair stringer",
        materials=(MaterialSpec("PL-10", 40, "Plate 10 mm", "kg"),),
    )


# (minutes, kind, badge, terminal, fields) - a job's day, as the ledger would have recorded it.
STORY = (
    (0, "material_issue", "ST1", "STORES-1", dict(item="PL-10", qty=30)),
    (5, "release", "ST1", "STORES-1", dict(qty=20)),
    (20, "start", "C1", "CUT-1", dict(stage="CUT")),
    (60, "complete", "C1", "CUT-1", dict(stage="CUT", qty=12)),
    (61, "complete", "C1", "CUT-1", dict(stage="CUT", qty=5)),
    (63, "void", "C1", "CUT-1", dict(voids=4, note="Typo")),
    (90, "reject", "C1", "CUT-1", dict(stage="CUT", qty=2, reason="DIM")),
    (95, "scrap", "C1", "CUT-1", dict(stage="CUT", qty=1, reason="SETUP")),
    (96, "rework", "C1", "CUT-1", dict(stage="CUT", qty=1)),
    (120, "delay", "W1", "WELD-1", dict(stage="WELD", reason="MACH")),
    (180, "resume", "W1", "WELD-1", dict(stage="WELD")),
    (200, "complete", "W1", "WELD-1", dict(stage="WELD", qty=10)),
    (230, "priority", "P1", None, dict(qty=2, note="Customer escalation")),
    (240, "delay", "W2", "WELD-2", dict(stage="WELD", reason="TOOL")),
    # PL-10B is no allowed substitute in config.toml: a supervisor's decision.
    (250, "material_substitute", "S1", "STORES-1", dict(item="PL-10", item2="PL-10B", qty=4)),
)


def story_entries(entries=STORY) -> list[HistoricEntry]:
    return [
        HistoricEntry(kind, t(minutes), badge, terminal, **fields) for minutes, kind, badge, terminal, fields in entries
    ]


def record_live(ledger: Ledger, clock, number: str) -> None:
    """The same story through the ledger's normal one-entry-at-a-time path."""
    receipts = []
    for minutes, kind, badge, terminal, fields in STORY:
        clock.now = t(minutes)
        fields = dict(fields)
        if kind == "void":
            fields["voids"] = receipts[fields["voids"]].uuid
        receipts.append(ledger.record(kind, number, actor=at(terminal, badge), **fields))


def comparable(card) -> dict:
    data = card.to_json()
    for key in ("number", "last_event_id", "as_of"):
        data.pop(key)
    return data


def test_bulk_import_matches_the_live_ledger(ledger, clock, config, store):
    ledger.create_jobs([spec("J-LIVE")])
    record_live(ledger, clock, "J-LIVE")
    jobs, events = import_history(store, config, [(spec("J-BULK"), story_entries()), (spec("J-EMPTY"), [])], now=NOW)
    assert (jobs, events) == (2, len(STORY) + 2)  # each job's creation, and its story
    clock.now = t(300)
    queries = Queries(config, clock=clock)
    assert comparable(queries.job_card("J-BULK")) == comparable(queries.job_card("J-LIVE"))
    assert verify_store() == []
    bulk = m.Job.get(m.Job.number == "J-BULK")
    ids = [e.id for e in m.Event.select(m.Event.id).where(m.Event.job == bulk).order_by(m.Event.id)]
    assert bulk.last_event_id == ids[-1]
    delay = m.Event.get((m.Event.job == bulk) & (m.Event.kind == "delay") & (m.Event.reason == "TOOL"))
    balance = m.StepBalance.get((m.StepBalance.job == bulk) & (m.StepBalance.stage == "WELD"))
    assert balance.delay_event_id == delay.id
    history = queries.history("J-BULK")
    assert [r["kind"] for r in history if r["voided"]] == ["complete"]
    assert m.Job.get(m.Job.number == "J-BULK").created_at == t(0)
    assert m.Job.get(m.Job.number == "J-EMPTY").created_at == NOW
    # Both paths start a job's history with its creation, at the job's created_at, by the same actor.
    for number in ("J-BULK", "J-LIVE", "J-EMPTY"):
        first = queries.history(number)[-1]
        assert (first["kind"], first["qty"], first["badge"], first["note"]) == ("job_created", 20, SYSTEM_BADGE, "")
        assert first["committed_at"] == m.Job.get(m.Job.number == number).created_at
    empty = m.Job.get(m.Job.number == "J-EMPTY")
    assert [e.id for e in m.Event.select().where(m.Event.job == empty)] == [empty.last_event_id]


def test_ledger_keeps_writing_after_a_bulk_import(ledger, clock, config, store):
    import_history(store, config, [(spec("J-1"), story_entries())], now=NOW)
    clock.now = t(400)
    resumed = ledger.resume("J-1", "WELD", actor=at("WELD-2", "W2"))
    done = ledger.complete("J-1", "WELD", 2, actor=at("WELD-2", "W2"))
    assert resumed.event_id < done.event_id
    assert done.event_id > max(e.id for e in m.Event.select(m.Event.id).where(m.Event.id != done.event_id))
    ledger.create_jobs([spec("J-2")])
    import_history(store, config, [(spec("J-3"), story_entries()[:3])], now=NOW)
    assert verify_store() == []
    card = Queries(config, clock=clock).job_card("J-1")
    assert card.delay is None and card.step("WELD").completed == 12


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (
            (200, "complete", "W1", "WELD-1", dict(stage="WELD", qty=50)),
            DomainError,
            "Only 12 pending at Welding; cannot complete 50",
        ),
        ((200, "delay", "W1", "WELD-1", dict(stage="CUT", reason="MACH")), PermissionDenied, "records Welding only"),
        ((200, "reject", "C1", "CUT-1", dict(stage="CUT", qty=1, reason="NOPE")), DomainError, "not a reject reason"),
        ((200, "complete", "X9", "CUT-1", dict(stage="CUT", qty=1)), PermissionDenied, "Unknown badge X9"),
        ((200, "hold", "S1", None, dict()), InputError, "Give a reason"),
        ((200, "void", "S1", None, dict(voids=1, note="wrong")), DomainError, "later entries depend on it"),
        ((200, "void", "C1", "CUT-1", dict(voids=3, note="mine")), PermissionDenied, "own last entry"),
        ((1, "release", "ST1", "STORES-1", dict(qty=1)), InputError, "before the entry above"),
    ],
)
def test_bulk_import_refuses_what_the_ledger_refuses(ledger, config, store, bad, error, message):
    good = [(spec("J-OK"), story_entries()[:6])]
    broken = story_entries()[:6] + story_entries([bad])
    with pytest.raises(error, match=message) as info:
        import_history(store, config, good + [(spec("J-BAD"), broken)], now=NOW)
    assert "J-BAD, entry 7" in str(info.value)
    assert m.Job.select().count() == 0 and m.Event.select().count() == 0  # same batch: nothing written


def test_bulk_import_refuses_existing_jobs_and_entry_ids(ledger, config, store):
    import_history(store, config, [(spec("J-1"), story_entries()[:2])], now=NOW)
    with pytest.raises(DomainError, match="already exist: J-1"):
        import_history(store, config, [(spec("J-1"), [])], now=NOW)
    entry = dataclasses.replace(story_entries()[0], uuid="0b0e4bb6-64f8-4a48-9d0f-3a8f5f4d2c11")
    with pytest.raises(DomainError, match="used twice"):
        import_history(store, config, [(spec("J-2"), [entry]), (spec("J-3"), [entry])], now=NOW)
    import_history(store, config, [(spec("J-5"), [entry])], now=NOW)
    with pytest.raises(DomainError, match="already in the store"):
        import_history(store, config, [(spec("J-6"), [entry])], now=NOW)
    with pytest.raises(DomainError, match="appears twice"):
        import_history(store, config, [(spec("J-4"), []), (spec("J-4"), [])], now=NOW)
    assert sorted(n for (n,) in m.Job.select(m.Job.number).tuples()) == ["J-1", "J-5"]


def test_bulk_import_writes_in_batches_and_reports_progress(ledger, config, store):
    seen = []
    histories = ((spec(f"J-{i}"), story_entries()[:2]) for i in range(7))
    assert import_history(
        store, config, histories, lambda jobs, events: seen.append((jobs, events)), now=NOW, batch_jobs=3
    ) == (7, 21)
    assert seen == [(3, 9), (6, 18), (7, 21)]  # each job: its creation and two entries
    # Within a batch newer entries get higher ids, across jobs; each job keeps its own order.
    rows = list(m.Event.select(m.Event.id, m.Event.committed_at).order_by(m.Event.id).tuples())
    assert [at for _, at in rows[:6]] == sorted(at for _, at in rows[:6])
    assert verify_store() == []


# -- the demo launcher at 80x24 ------------------------------------------------------------


async def test_the_launcher_at_80x24_shows_every_badge_and_job_it_lists(demo, config, store_url, store):
    """Issue 12: at 80x24 every choice's badges and jobs to try can be reached by scrolling
    (PgDn, while the terminal list keeps the focus), nothing is cut off at the right, and a
    terminal lists only badges that can record there."""
    from floorterm.screens.app import FloortermApp
    from floorterm.screens.launcher import KIND_ROLES, LauncherScreen

    roles = {op.badge: op.role for op in Queries(config).operators()}
    app = FloortermApp(config, store_url, mode="launcher", clock=fixed_now, store=store)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LauncherScreen)
        choices = screen.query_one("#terminals")
        assert choices.max_scroll_y == 0  # every terminal shows without scrolling
        right = screen.query_one("#launcher-try")
        for index in range(choices.option_count):
            choice = choices.get_option_at_index(index).id
            choices.highlighted = index
            await app.workers.wait_for_complete()
            await pilot.pause()
            listed = screen.query_one("#try").content.plain
            jobs = set(re.findall(r"J-\d{5}", listed))
            badges = set(re.findall(r"^  (B\d{4}) ", listed, flags=re.MULTILINE))
            assert jobs and badges, (choice, listed)
            if choice.startswith("kiosk:"):
                kind = config.terminal(choice.split(":", 1)[1]).kind
                assert {roles[b] for b in badges} <= set(KIND_ROLES[kind]), (choice, listed)
                assert "viewer" not in listed
            seen = ""
            for _ in range(20):  # page down until the end
                seen += screen_text(app) + "\n"
                if right.scroll_y >= right.max_scroll_y:
                    break
                await pilot.press("pagedown")
                await pilot.pause()
            else:
                raise AssertionError(f"{choice}: PgDn never reached the end")
            assert app.screen is screen and choices.highlighted == index  # PgDn scrolled, picked nothing
            for word in jobs | badges:
                assert word in seen, f"{choice}: {word} is listed but never shows at 80x24"
            right.scroll_home(animate=False)


def screen_text(app) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


# -- dev.py: a newcomer's first minute ------------------------------------------------------


def _dev_module():
    spec = importlib.util.spec_from_file_location("dev_script", REPO / "dev.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dev_setup_says_nothing_when_already_installed():
    """`python3 dev.py setup` on an installed checkout: no pip run, not a line printed."""
    dev = _dev_module()
    wanted = hashlib.sha256((REPO / "pyproject.toml").read_bytes()).hexdigest()
    if not (dev.STAMP.exists() and dev.STAMP.read_text() == wanted):
        pytest.skip("pyproject.toml changed since .venv was installed: dev.py setup would reinstall (slow)")
    done = subprocess.run(
        [sys.executable, "dev.py", "setup"], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_dev_runs_pip_quietly_and_shows_its_output_only_when_it_fails(capsys):
    """dev.py's install steps print one line each; pip's own output (progress, setuptools
    warnings) appears only when pip fails. Real pip runs here, not a stand-in."""
    dev = _dev_module()
    pip = [sys.executable, "-m", "pip"]
    dev.run_quietly("asking pip its version", [*pip, "--version"])
    assert capsys.readouterr().out == "dev.py: asking pip its version\n"
    with pytest.raises(SystemExit) as stopped:
        dev.run_quietly("installing nothing", [*pip, "install", "--no-index", str(REPO / "no-such-project")])
    out = capsys.readouterr().out
    assert out.startswith("dev.py: installing nothing\n")
    assert "no-such-project" in out  # pip's own words, shown because it failed
    assert "installing nothing failed" in str(stopped.value)
