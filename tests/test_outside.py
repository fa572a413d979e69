"""Outside processing (issue 10, item 5): an outside stage (galvanising) sends units to a supplier
and receives them back. Quantity rules, supplier checks, void, verify, the card, `jobs show`,
`record send/receive`, `report outside`, the config. Both store backends."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from conftest import OPERATORS, SUPERVISOR, STORES, at, job_factory, refused
from floorterm import models as m
from floorterm.cli import main
from floorterm.errors import ConfigError, DomainError, InputError, PermissionDenied
from floorterm.ledger import Ledger
from floorterm.queries import Queries
from floorterm.reports import Reports
from floorterm.verify import verify_store
from outside_support import EXTRA, outside_config, outside_config_text

GALV = at("GALV-1", "W1")  # an operator at the goods-out terminal


@pytest.fixture(scope="module")
def oconfig():
    return outside_config()


@pytest.fixture
def oledger(store, oconfig, clock):
    led = Ledger(store, oconfig, clock=clock)
    for badge, name, role in OPERATORS:
        led.add_operator(badge, name, role)
    return led


@pytest.fixture
def oqueries(oconfig, clock):
    return Queries(oconfig, clock=clock)


@pytest.fixture
def galv_job(oledger):
    """A job of 20 on the galvanised routing, welded and waiting at GALV."""
    make = job_factory(oledger)

    def new(qty: int = 20) -> str:
        job = make(qty=qty, routing="galvanised", release=qty)
        oledger.complete(job, "CUT", qty, actor=SUPERVISOR)
        oledger.complete(job, "WELD", qty, actor=SUPERVISOR)
        return job

    return new


def galv(queries, job):
    return queries.job_card(job).step("GALV")


def test_send_and_receive_move_units_exactly(oledger, oqueries, galv_job, clock):
    job = galv_job()
    r = oledger.record("send", job, stage="GALV", qty=12, supplier="zinko", reference="DN-4411", actor=GALV)
    assert r.message == "Galvanising: 12 sent to Zinko Feuerverzinkung · DN-4411 (12 out, 8 still here)"
    step = galv(oqueries, job)
    assert (step.pending, step.out, step.state) == (20, 12, "waiting")  # 8 still in the plant
    assert step.outside.supplier == "ZINKO" and step.outside.since == clock.now
    # Only units pending and not yet sent can be sent.
    refused(
        oqueries,
        job,
        lambda: oledger.record("send", job, stage="GALV", qty=9, supplier="ZINKO", actor=GALV),
        message="Only 8 pending at Galvanising to send (12 already at a supplier); cannot send 9",
    )
    oledger.record("send", job, stage="GALV", qty=8, supplier="ZINKO", actor=GALV)
    clock.advance(hours=30)
    card = oqueries.job_card(job)
    assert card.step("GALV").state == "at supplier"
    assert card.outside == ("Galvanising: 20 at supplier Zinko Feuerverzinkung since Mon 23 Nov 08:00 (1 d 6 h)",)
    assert card.current_stage == "GALV" and card.work_centre == "Goods out / goods in"
    assert card.status == "in progress"
    # Only units out can come back; good ones move on like a completion.
    refused(
        oqueries,
        job,
        lambda: oledger.receive(job, "GALV", 21, actor=GALV),
        message="Only 20 at a supplier from Galvanising; cannot receive 21",
    )
    [back] = oledger.receive(job, "GALV", 15, actor=GALV, reference="LS-2291")
    assert back.message == "Galvanising: 15 received → Final QC (5 still out)"
    card = oqueries.job_card(job)
    assert (card.step("GALV").pending, card.step("GALV").out, card.step("FQC").pending) == (5, 5, 15)
    assert card.step("GALV").completed == 15
    # Rejected ones wait for a decision, with a reason from the reject list; both in one go.
    good, bad = oledger.receive(job, "GALV", 3, rejected=2, reason="DIM", actor=GALV)
    assert (
        bad.message == "Galvanising: 2 rejected on receipt (Dimension out of tolerance) — waiting for rework or scrap"
    )
    step = galv(oqueries, job)
    assert (step.pending, step.out, step.awaiting, step.outside, step.state) == (0, 0, 2, None, "done")
    assert oqueries.job_card(job).outside == ()
    oledger.scrap(job, "GALV", 1, "DMG", actor=SUPERVISOR)
    oledger.rework(job, "GALV", 1, actor=SUPERVISOR)  # back to GALV: to be sent again
    assert galv(oqueries, job).pending == 1
    assert verify_store() == []


def test_refusals_change_nothing(oledger, oqueries, galv_job):
    job = galv_job(10)
    refused(
        oqueries,
        job,
        lambda: oledger.record("send", job, stage="GALV", qty=1, actor=GALV),
        error=InputError,
        message="Say which supplier to send to; the suppliers: ZINKO (Zinko Feuerverzinkung), HEATX (HeatX Haerterei)",
    )
    refused(
        oqueries,
        job,
        lambda: oledger.record("send", job, stage="GALV", qty=1, supplier="NOPE", actor=GALV),
        message="NOPE is not a supplier; choose one of: ZINKO (Zinko Feuerverzinkung), HEATX (HeatX Haerterei)",
    )
    refused(
        oqueries,
        job,
        lambda: oledger.complete(job, "GALV", 1, actor=SUPERVISOR),
        message="Galvanising is done outside: record a send to the supplier and a receive there",
    )
    refused(
        oqueries,
        job,
        lambda: oledger.record("send", job, stage="FQC", qty=1, supplier="ZINKO", actor=SUPERVISOR),
        message="Final QC is not an outside step: nothing is sent to a supplier there",
    )
    refused(oqueries, job, lambda: oledger.receive(job, "GALV", 1, actor=GALV), message=None)
    refused(
        oqueries,
        job,
        lambda: oledger.receive(job, "GALV", 0, actor=GALV),
        error=InputError,
        message="Say how many came back: a good quantity, rejected ones, or both",
    )
    oledger.record("send", job, stage="GALV", qty=4, supplier="ZINKO", actor=GALV)
    refused(
        oqueries,
        job,
        lambda: oledger.receive(job, "GALV", 1, rejected=1, actor=GALV),
        error=InputError,
        message="Choose a reject reason for the units rejected on receipt",
    )
    # Both or neither: 3 good + 2 rejected is more than the 4 out.
    refused(
        oqueries,
        job,
        lambda: oledger.receive(job, "GALV", 3, rejected=2, reason="DIM", actor=GALV),
        message="Only 1 at a supplier from Galvanising; cannot reject 2",
    )
    refused(
        oqueries,
        job,
        lambda: oledger.receive(job, "GALV", 1, supplier="HEATX", actor=GALV),
        message="Only 0 of this job at supplier HEATX from Galvanising; cannot receive 1",
    )
    # The welding terminal records welding only; a viewer records nothing.
    refused(
        oqueries,
        job,
        lambda: oledger.record("send", job, stage="GALV", qty=1, supplier="ZINKO", actor=at("WELD-1")),
        error=PermissionDenied,
    )
    oledger.hold(job, actor=SUPERVISOR, note="customer query")
    refused(oqueries, job, lambda: oledger.receive(job, "GALV", 1, actor=GALV))


def test_stores_may_send_and_receive(oledger, oqueries, galv_job):
    job = galv_job(5)
    oledger.record("send", job, stage="GALV", qty=5, supplier="ZINKO", actor=STORES)
    oledger.receive(job, "GALV", 5, actor=STORES)
    assert oqueries.job_card(job).step("FQC").pending == 5


def test_two_suppliers_oldest_first_and_void(oledger, oqueries, galv_job, clock):
    job = galv_job()
    first = oledger.record("send", job, stage="GALV", qty=6, supplier="ZINKO", reference="DN-1", actor=GALV)
    clock.advance(hours=2)
    oledger.record("send", job, stage="GALV", qty=4, supplier="HEATX", actor=GALV)
    step = galv(oqueries, job)
    assert step.outside.suppliers == 2 and step.outside.supplier == "ZINKO"
    assert step.outside.text == "10 at 2 suppliers, oldest at Zinko Feuerverzinkung since 08:00 (2 h)"
    # Back from HEATX: the ZINKO batch stays the oldest out.
    [heat] = oledger.receive(job, "GALV", 4, supplier="HEATX", actor=GALV)
    step = galv(oqueries, job)
    assert (step.out, step.outside.supplier, step.outside.suppliers) == (6, "ZINKO", 1)
    # Back without a supplier: oldest batch first.
    clock.advance(hours=1)
    [back] = oledger.receive(job, "GALV", 6, actor=GALV)
    assert galv(oqueries, job).outside is None
    # A send cannot be voided while what came back depends on it; the receive can.
    with pytest.raises(DomainError, match="later entries depend on it"):
        oledger.void(first.uuid, actor=SUPERVISOR, note="wrong")
    oledger.void(back.uuid, actor=SUPERVISOR, note="counted wrong")
    step = galv(oqueries, job)
    assert (step.out, step.outside.supplier, step.outside.since) == (6, "ZINKO", clock.now - dt.timedelta(hours=3))
    oledger.void(heat.uuid, actor=SUPERVISOR, note="not back yet")
    assert galv(oqueries, job).outside.suppliers == 2
    assert verify_store() == []
    # verify recomputes the outside balances.
    m.StepBalance.update(sent=3, out_supplier="HEATX").where(m.StepBalance.stage == "GALV").execute()
    problems = verify_store()
    assert f"{job} GALV: sent stored 3, ledger says 10" in problems
    assert f"{job} GALV: out_supplier stored 'HEATX', ledger says 'ZINKO'" in problems


def test_retry_of_a_receive_with_rejects_records_nothing_twice(oledger, oqueries, galv_job):
    job = galv_job(10)
    oledger.record("send", job, stage="GALV", qty=10, supplier="ZINKO", actor=GALV)
    uuid = "5b0d4c3e-8a49-4a7e-9d2a-0d3f6f1e2a11"
    first = oledger.receive(job, "GALV", 7, rejected=3, reason="DIM", actor=GALV, uuid=uuid)
    again = oledger.receive(job, "GALV", 7, rejected=3, reason="DIM", actor=GALV, uuid=uuid)
    assert [r.duplicate for r in again] == [True, True]
    assert [r.event_id for r in again] == [r.event_id for r in first]
    assert (galv(oqueries, job).completed, galv(oqueries, job).awaiting) == (7, 3)


def test_report_outside(oledger, oconfig, galv_job, clock):
    job = galv_job()
    oledger.record("send", job, stage="GALV", qty=12, supplier="ZINKO", reference="DN-7", actor=GALV)
    clock.advance(hours=5)
    headers, rows = Reports(oconfig, clock=clock).as_rows("outside")
    assert headers[:8] == ["job", "customer", "product", "stage", "supplier", "supplier_name", "qty", "sent"]
    assert [dict(zip(headers, row)) for row in rows] == [
        {
            "job": job,
            "customer": "",
            "product": "",
            "stage": "GALV",
            "supplier": "ZINKO",
            "supplier_name": "Zinko Feuerverzinkung",
            "qty": 12,
            "sent": "2026-11-23 08:00",
            "out_for": "5 h",
            "out_seconds": 18000,
            "reference": "DN-7",
            "planned_end": "",
        }
    ]
    oledger.receive(job, "GALV", 12, actor=GALV)
    assert Reports(oconfig, clock=clock).as_rows("outside")[1] == []


def test_cli_send_receive_show_and_report(oledger, galv_job, store_url, tmp_path, capsys):
    job = galv_job(10)
    path = tmp_path / "config.toml"
    path.write_text(outside_config_text())
    cli = ["--config", str(path), "--db", store_url]
    base = ["--operator", "W1", "--terminal", "GALV-1"]
    assert main([*cli, "record", "send", job, "--qty", "10", "--supplier", "ZINKO", "--reference", "DN-9", *base]) == 0
    assert capsys.readouterr().out == f"{job}: Galvanising: 10 sent to Zinko Feuerverzinkung · DN-9 (10 out)\n"
    assert main([*cli, "jobs", "show", job]) == 0
    out = capsys.readouterr().out
    assert "Outside: Galvanising: 10 at supplier Zinko Feuerverzinkung since" in out
    assert "Now at: GALV (Goods out / goods in)    owner: Purchasing, supervisor S1" in out
    assert main([*cli, "jobs", "show", job, "--json"]) == 0
    card = json.loads(capsys.readouterr().out)
    galv_step = next(s for s in card["steps"] if s["stage"] == "GALV")
    assert galv_step["out"] == 10 and galv_step["outside"]["supplier"] == "ZINKO"
    assert galv_step["outside"]["supplier_name"] == "Zinko Feuerverzinkung"
    assert (card["owner"], card["supervisor"], card["work_centre"]) == ("Purchasing", "S1", "Goods out / goods in")
    assert main([*cli, "report", "outside", "--format", "json"]) == 0
    [row] = json.loads(capsys.readouterr().out)
    assert (row["job"], row["qty"], row["supplier"], row["reference"]) == (job, 10, "ZINKO", "DN-9")
    assert main([*cli, "report", "outside", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("job,customer,product,stage,supplier")
    code = main([*cli, "record", "receive", job, "--qty", "8", "--rejected", "2", "--reason", "DIM", *base, "--json"])
    assert code == 0
    receipt = json.loads(capsys.readouterr().out)
    assert [(e["kind"], e["qty"]) for e in receipt["entries"]] == [("receive", 8), ("reject", 2)]
    # Refused: nothing out any more.
    assert main([*cli, "record", "receive", job, "--qty", "1", *base]) == 1
    assert "Only 0 at a supplier from Galvanising; cannot receive 1" in capsys.readouterr().err
    assert main([*cli, "report", "outside"]) == 0
    assert "nothing to report for outside" in capsys.readouterr().err


# -- the config ----------------------------------------------------------------------------------


def test_config_suppliers_and_outside_stages(oconfig):
    stage = oconfig.stage("GALV")
    assert (stage.kind, stage.suppliers) == ("outside", ("ZINKO",))
    assert [s.code for s in oconfig.stage_suppliers("GALV")] == ["ZINKO", "HEATX"]
    assert oconfig.supplier_name("HEATX") == "HeatX Haerterei" and oconfig.supplier_name("GONE") == "GONE"


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            EXTRA.replace('suppliers = ["ZINKO"]', 'suppliers = ["NOPE"]'),
            '[[stages]] #10 (code "GALV"): "suppliers": unknown supplier "NOPE" '
            "(the [[suppliers]] codes: HEATX, ZINKO)",
        ),
        (
            EXTRA.split("[[suppliers]]")[0] + EXTRA.split("[[terminals]]")[1].join(["[[terminals]]", ""]),
            'in [[stages]] #10 (code "GALV"): an outside stage needs [[suppliers]] blocks (code, name) to send work to',
        ),
        (
            EXTRA.replace('code = "HEATX"', 'code = "ZINKO"'),
            'duplicate supplier code "ZINKO"',
        ),
    ],
)
def test_config_outside_mistakes_are_named(extra, message):
    if "an outside stage needs" in message:
        extra = extra.replace('suppliers = ["ZINKO"]\n', "")
    with pytest.raises(ConfigError) as info:
        outside_config(extra)
    assert message in str(info.value)


# -- entries import ------------------------------------------------------------------------------


def test_entries_import_sends_and_receives(oledger, oconfig, oqueries, galv_job, clock):
    from floorterm.entries_import import import_entries

    job = galv_job(10)
    clock.advance(hours=3)  # the file's times come after the job's entries
    header = "at,action,job,step,qty,reason,supplier,reference,operator,terminal"
    text = "\n".join(
        [
            header,
            f"2026-11-23 08:10,send,{job},GALV,6,,ZINKO,DN-1,W1,GALV-1",
            f"2026-11-23 08:20,send,{job},GALV,4,,HEATX,,W1,GALV-1",
            f"2026-11-23 09:00,receive,{job},GALV,3,,HEATX,LS-1,W1,GALV-1",
            f"2026-11-23 09:05,reject,{job},GALV,1,DIM,,,W1,GALV-1",  # rejected on receipt
        ]
    )
    assert import_entries(oledger, oconfig, text + "\n", by_badge="S1").written == 4
    step = oqueries.job_card(job).step("GALV")
    assert (step.out, step.completed, step.awaiting) == (6, 3, 1)
    # The reject names no supplier: it took the oldest batch's (ZINKO 5 and HEATX 1 left out).
    assert (step.outside.supplier, step.outside.suppliers) == ("ZINKO", 2)
    assert verify_store() == []
    bad = header + f"\n2026-11-23 09:10,receive,{job},GALV,7,,,,W1,GALV-1\n"
    with pytest.raises(InputError, match="Only 6 at a supplier from Galvanising; cannot receive 7"):
        import_entries(oledger, oconfig, bad, by_badge="S1")


def test_receipts_count_as_done_in_the_handover_and_confirm_good_units_to_the_erp(
    store, oledger, oconfig, galv_job, clock
):
    """Good units back from a supplier are the outside stage's output: the shift handover counts
    them as completed there and the ERP gets them as good quantity; rejects on receipt as rejects."""
    from floorterm import confirmations
    from floorterm.shift import shift_report, shift_window

    job = galv_job()
    window = shift_window(oconfig, clock.now)
    oledger.record("send", job, stage="GALV", qty=12, supplier="ZINKO", actor=GALV)
    clock.advance(hours=1)
    oledger.receive(job, "GALV", 7, actor=GALV, reference="LS-1")
    oledger.receive(job, "GALV", 3, rejected=2, reason="DIM", actor=GALV)
    report = shift_report(oconfig, window, clock.advance(minutes=1))
    galv_row = next(s for s in report.stages if s.stage == "GALV")
    assert (galv_row.completed, galv_row.rejected) == (10, 2)
    rows: list[dict] = []
    confirmations.export(store, "erp", rows.extend)
    at_galv = [(r["kind"], r["good_qty"], r["rejected_qty"]) for r in rows if r["stage"] == "GALV"]
    assert at_galv == [("receive", 7, 0), ("receive", 3, 0), ("reject", 0, 2)]
