"""The kiosk's offline copy (DESIGN.md §9): the same job cards as the store, entries checked by the
ledger's own rules, kept in the outbox file. Real stores on both backends."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from conftest import SUPERVISOR, at, refused
from floorterm.errors import DomainError, InputError, PermissionDenied
from floorterm.kiosk_snapshot import KioskSnapshot, snapshot_with_waiting, take_snapshot
from floorterm.ledger import Actor
from floorterm.outbox import Outbox, QueuedEntry

WELDER = at("WELD-1")


@pytest.fixture
def plant(ledger, make_job, clock):
    """Jobs in the states a card shows: at welding, delayed, rejected, short of material, done, elsewhere."""
    at_weld = make_job("J-1", qty=20, release=20)
    for stage in ("CUT", "CNC", "BEND"):
        ledger.complete(at_weld, stage, 20, actor=SUPERVISOR)
    clock.advance(minutes=30)
    ledger.complete(at_weld, "WELD", 5, actor=WELDER)
    ledger.reject(at_weld, "WELD", 2, "POR", actor=WELDER)
    ledger.material_issue(at_weld, "PLATE-8", 10, actor=Actor("ST1", terminal="STORES-1"))
    delayed = make_job("J-2", qty=10, routing="weldment", release=10, planned_end=clock.now.date())
    ledger.complete(delayed, "CUT", 10, actor=SUPERVISOR)
    ledger.delay(delayed, "WELD", "MAT", actor=WELDER)
    make_job("J-3", qty=5, routing="weldment")  # planned, not released
    make_job("S-1", qty=5, routing="sheet_metal", release=5)  # no welding step
    done = make_job("J-4", qty=2, routing="weldment", release=2)
    for stage in ("CUT", "WELD", "PAINT", "FQC", "PACK"):
        ledger.record("qc_pass" if stage == "FQC" else "complete", done, stage=stage, qty=2, actor=SUPERVISOR)
    ledger.dispatch(done, 2, actor=SUPERVISOR)
    clock.advance(hours=2)
    return ["J-1", "J-2", "J-3"]


def entry(kind: str, job: str = "J-1", **fields) -> QueuedEntry:
    fields.setdefault("badge", "W1")
    fields.setdefault("terminal", "WELD-1")
    return QueuedEntry(kind=kind, job=job, **fields)


def test_snapshot_holds_the_open_jobs_at_the_terminals_stages_and_active_operators(plant, ledger, queries, config):
    ledger.set_operator_active("W2", False)
    snapshot = take_snapshot(queries, config, "WELD-1")
    assert sorted(snapshot.jobs) == plant  # not the dispatched job, not the one without welding
    assert snapshot.operator("W1").role == "operator"
    assert snapshot.operator("W2") is None
    assert snapshot.taken_at == queries.clock()
    stores = take_snapshot(queries, config, "STORES-1")
    assert sorted(stores.jobs) == ["J-1", "J-2", "J-3", "S-1"]  # every open job, planned ones too
    with pytest.raises(InputError, match="Unknown terminal NOPE"):
        take_snapshot(queries, config, "NOPE")


def test_card_is_the_stores_card(plant, queries, config, clock):
    snapshot = take_snapshot(queries, config, "WELD-1")
    clock.advance(minutes=7)  # the card's waiting times count on from the snapshot
    for number in plant:
        assert snapshot.card(number, clock.now).to_json() == queries.job_card(number).to_json()
    card = snapshot.card("j-2", clock.now)
    assert card.delay.label == "Material shortage" and "late" not in card.flags
    with pytest.raises(DomainError) as info:
        snapshot.card("S-1", clock.now)
    assert str(info.value) == "Job S-1 is not in this terminal's offline copy"


def test_json_round_trip_keeps_everything(plant, queries, config, clock):
    snapshot = take_snapshot(queries, config, "WELD-1")
    text = json.dumps(snapshot.to_json())
    again = KioskSnapshot.from_json(text)
    assert again == snapshot
    assert again.to_json() == snapshot.to_json()
    for number in plant:
        assert again.card(number, clock.now) == snapshot.card(number, clock.now)
    with pytest.raises(DomainError, match="format"):
        KioskSnapshot.from_json({**snapshot.to_json(), "version": 99})


def test_apply_moves_the_copy_as_the_ledger_moves_the_store(plant, ledger, queries, config, clock):
    snapshot = take_snapshot(queries, config, "WELD-1")
    entries = [
        entry("start", stage="WELD"),
        entry("complete", stage="WELD", qty=8),
        entry("scrap", stage="WELD", qty=1, reason="CRK"),
        entry("rework", stage="WELD", qty=1),
        entry("delay", stage="WELD", reason="MACH"),
        entry("resume", "J-2", stage="WELD"),
        entry("complete", "J-2", stage="WELD", qty=4),
        entry("note", stage="WELD", note="seam ground twice"),
    ]
    for e in entries:
        clock.advance(minutes=3)
        e = replace(e, client_time=clock.now)
        snapshot.apply(e)
        ledger.record(e.kind, e.job, **e.record_arguments())
    for number in ("J-1", "J-2"):
        mine, store = snapshot.card(number, clock.now).to_json(), queries.job_card(number).to_json()
        assert mine.pop("last_event_id") < store.pop("last_event_id")  # the copy does not know the new ids
        assert mine == store
    assert snapshot.card("J-3", clock.now) == queries.job_card("J-3")


def test_apply_refuses_what_the_ledger_refuses_in_its_words(plant, ledger, queries, config, clock):
    snapshot = take_snapshot(queries, config, "WELD-1")
    before = snapshot.card("J-1", clock.now)
    cases = [
        (entry("complete", stage="WELD", qty=14), DomainError),  # 13 pending
        (entry("reject", stage="WELD", qty=1, reason="NOPE"), DomainError),
        (entry("complete", stage="CUT", qty=1), PermissionDenied),  # not this terminal's stage
        (entry("complete", stage="WELD", qty=0), InputError),
        (entry("delay", "J-2", stage="WELD", reason="MAT"), DomainError),  # already delayed
    ]
    for e, error in cases:
        with pytest.raises(error) as mine:
            snapshot.apply(e)
        theirs = refused(queries, e.job, lambda: ledger.record(e.kind, e.job, **e.record_arguments()), error)
        assert str(mine.value) == theirs
    with pytest.raises(PermissionDenied, match="Unknown badge W9"):
        snapshot.apply(entry("complete", stage="WELD", qty=1, badge="W9"))
    with pytest.raises(DomainError, match="Only 13 pending at Welding; cannot complete 14"):
        snapshot.apply(entry("complete", stage="WELD", qty=14))
    assert snapshot.card("J-1", clock.now) == before  # nothing refused moved the copy


def test_without_config_the_rules_still_check(plant, queries, config, clock):
    snapshot = KioskSnapshot.from_json(take_snapshot(queries, config, "WELD-1").to_json())
    with pytest.raises(DomainError, match="Only 13 pending at Welding; cannot complete 20"):
        snapshot.apply(entry("complete", stage="WELD", qty=20))
    snapshot.apply(entry("complete", stage="WELD", qty=13))
    assert snapshot.card("J-1", clock.now).step("WELD").pending == 0


def test_find_jobs_and_operators(plant, queries, config):
    snapshot = take_snapshot(queries, config, "WELD-1")
    assert snapshot.find_jobs("j-") == ["J-1", "J-2", "J-3"]
    assert snapshot.find_jobs("2") == ["J-2"]
    assert snapshot.find_jobs("J", stages=("WELD",)) == ["J-1", "J-2"]  # J-3 has nothing at welding
    assert snapshot.find_jobs("X") == []


def test_snapshot_in_the_outbox_with_the_waiting_entries_applied(plant, queries, config, clock, tmp_path):
    snapshot = take_snapshot(queries, config, "WELD-1")
    with Outbox.open("WELD-1", tmp_path / "WELD-1.sqlite") as outbox:
        assert outbox.load_snapshot() is None and snapshot_with_waiting(outbox) is None
        outbox.save_snapshot(snapshot)
        outbox.queue(entry("complete", stage="WELD", qty=10))
        outbox.queue(entry("complete", stage="WELD", qty=2))
    with Outbox.open("WELD-1", tmp_path / "WELD-1.sqlite") as outbox:
        assert outbox.load_snapshot() == snapshot
        copy = snapshot_with_waiting(outbox, config)
    assert copy.card("J-1", clock.now).step("WELD").pending == 1
    assert copy.age_seconds(clock.now) == 0
    with pytest.raises(DomainError, match="Only 1 pending at Welding; cannot complete 2"):
        copy.apply(entry("complete", stage="WELD", qty=2))
