"""QC bench, stores and dispatch terminals: their actions, defaults and refusals."""

from __future__ import annotations

import pytest

from test_kiosk_helpers import (
    events_of,
    job_at,
    kiosk_url,
    kledger,
    kstore,
    new_job,  # noqa: F401 (fixtures)
    open_kiosk,
)


async def sign_in(k, badge: str) -> None:
    await k.scan(badge)
    assert k.step == "job", k.flat()


# -- QC bench (QC-1, Final QC) ----------------------------------------------------------------


async def test_qc_scan_enter_passes_all_to_inspect(open_kiosk, job_at, queries):
    job = job_at("FQC", qty=8)
    async with open_kiosk("QC-1") as k:
        await sign_in(k, "Q1")
        await k.scan(job)
        assert "Pass how many at Final QC? Enter = all 8 to inspect" in k.flat()
        await k.press("enter")
        assert "Inspection notes (optional): type, then Enter" in k.flat()  # Enter alone skips
        await k.press("enter")
        assert "Final QC: 8 passed → Packing (0 still pending)" in k.flat()
        assert queries.job_card(job).step("PACK").pending == 8


async def test_qc_fail_with_reason_and_notes_then_rework_at_an_earlier_step(open_kiosk, job_at, queries):
    job = job_at("FQC", qty=8)
    async with open_kiosk("QC-1") as k:
        await sign_in(k, "Q1")
        await k.scan(job)
        await k.press("-")
        assert "Fail how many at Final QC?" in k.flat()
        await k.type("2")
        await k.press("enter")
        assert "Coating thickness out of spec" in k.flat()
        await k.press("4")  # DFT
        assert "Inspection notes (optional)" in k.flat()
        await k.type("DFT 45um at edge, spec 60-80")
        await k.press("enter")
        [fail] = events_of(queries, job, "qc_fail")
        assert (fail["qty"], fail["reason"], fail["note"]) == (2, "DFT", "DFT 45um at edge, spec 60-80")
        # The failed quantity waits for a decision, asked straight away.
        text = k.flat()
        assert "What happens to the 2 rejected at Final QC?" in text
        assert "Rework here at Final QC" in text and "Scrap" in text and "Rework at Painting" in text
        assert "Rework at Dispatch" not in text and "Rework at Packing" not in text
        await k.press("3")  # 1 here, 2 scrap, 3 the nearest earlier step: Painting
        assert "Note (optional): type, then Enter" in k.flat()
        await k.type("sand and recoat edge")
        await k.press("enter")
        assert "Final QC: 2 sent to rework at Painting" in k.flat()
        [rework] = events_of(queries, job, "rework")
        assert rework["note"] == "sand and recoat edge"
        card = queries.job_card(job)
        assert card.step("PAINT").pending == 2 and card.step("FQC").awaiting == 0


async def test_qc_fail_then_scrap_with_a_reason(open_kiosk, job_at, queries):
    job = job_at("FQC", qty=8)
    async with open_kiosk("QC-1") as k:
        await sign_in(k, "Q1")
        await k.scan(job)
        await k.press("-", "3", "enter", "1", "enter")  # 3 failed, DIM, no notes
        await k.press("2")  # scrap
        assert "Crack" in k.flat()
        await k.press("2")  # CRK
        assert "Final QC: 3 scrapped (Crack)" in k.flat()
        [scrap] = events_of(queries, job, "scrap")
        assert (scrap["qty"], scrap["reason"]) == (3, "CRK")
        assert queries.job_card(job).scrapped == 3


async def test_qc_failed_quantity_decided_later_from_the_card(open_kiosk, job_at, queries):
    job = job_at("FQC", qty=8)
    async with open_kiosk("QC-1") as k:
        await sign_in(k, "Q1")
        await k.scan(job)
        await k.press("-", "3", "enter", "1", "enter")
        await k.press("escape")  # decide later
        assert k.step == "card"
        assert "3 rejected await decision" in k.flat()
        assert "F5" in k.flat() and "Rework/scrap" in k.flat()
        await k.press("f5")
        assert "Rework or scrap how many of the rejected at Final QC? Enter = all 3" in k.flat()
        await k.type("1")
        await k.press("enter", "1", "enter")  # 1 reworked here, no note
        assert "Final QC: 1 sent to rework at Final QC" in k.flat()
        assert queries.job_card(job).step("FQC").awaiting == 2


async def test_qc_fail_more_than_to_inspect_is_refused(open_kiosk, job_at, queries):
    job = job_at("FQC", qty=4)
    async with open_kiosk("QC-1") as k:
        await sign_in(k, "Q1")
        await k.scan(job)
        await k.press("-", "5", "enter")
        assert "Only 4 pending at Final QC; cannot fail 5" in k.flat()
        assert not events_of(queries, job, "qc_fail")


async def test_operator_badge_may_not_record_qc(open_kiosk, job_at, queries):
    job = job_at("FQC", qty=4)
    async with open_kiosk("QC-1") as k:
        await sign_in(k, "W1")
        await k.scan(job)
        await k.press("enter")
        assert "Wanda Welder (operator) may not record a QC pass" in k.flat()
        assert queries.job_card(job).step("FQC").completed == 0


async def test_qc_bench_cannot_record_at_welding(open_kiosk, job_at, queries):
    job = job_at("WELD")
    async with open_kiosk("QC-1") as k:
        await sign_in(k, "Q1")
        await k.scan(job)
        await k.press("enter")
        assert "Nothing is pending at Final QC" in k.flat()
        assert queries.job_card(job).step("WELD").completed == 0


# -- stores (STORES-1) -------------------------------------------------------------------------


async def test_stores_releases_a_planned_job(open_kiosk, new_job, queries):
    job = new_job(qty=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        assert "F1 +" in k.flat() and "Release" in k.flat()
        await k.press("+")
        assert "Release how many to Cutting? Enter = all 20 not yet released" in k.flat()
        await k.press("enter")
        assert "Released 20 of 20 → Cutting" in k.flat()
        assert queries.job_card(job).released == 20


async def test_stores_release_more_than_ordered_is_refused(open_kiosk, new_job, queries):
    job = new_job(qty=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        await k.press("+")
        await k.type("25")
        await k.press("enter")
        assert f"Job {job} is for 20; 0 already released, so at most 20 more" in k.flat()
        assert queries.job_card(job).released == 0


async def test_stores_issues_a_material_line_with_the_shortfall_shown(open_kiosk, new_job, queries):
    job = new_job(release=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        text = k.flat()
        assert "PLATE-8" in text and "SHORT 40 pcs" in text and "SHORT 80 pcs" in text
        k.keystrokes = 0
        await k.press("1")
        assert "Issue how many PLATE-8? Enter = all 40 pcs still to issue" in k.flat()
        await k.press("enter")
        assert k.keystrokes == 2
        assert "Issued 40 pcs of PLATE-8" in k.flat()
        lines = {m.item: m for m in queries.job_card(job).material}
        assert lines["PLATE-8"].short == 0 and lines["BOLT-M12"].short == 80


async def test_stores_issue_part_return_and_scrap_material(open_kiosk, new_job, queries):
    job = new_job(release=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        await k.press("2")
        await k.type("50")
        await k.press("enter")
        assert "Issued 50 pcs of BOLT-M12, still short 30 pcs" in k.flat()
        await k.press("enter")  # dismiss
        await k.scan(job)
        await k.press("2", "-")
        assert "Return how many BOLT-M12?" in k.flat()
        await k.type("10")
        await k.press("enter")
        # A return is surplus going back: the line is no shorter than before.
        assert "Returned 10 pcs of BOLT-M12, still short 30 pcs" in k.flat()
        await k.press("enter")
        await k.scan(job)
        await k.press("2", "*")
        await k.type("5")
        await k.press("enter")
        assert "Damaged in handling" in k.flat()
        await k.press("1")
        assert "Scrapped 5 pcs of BOLT-M12 (Damaged in handling), still short 35 pcs" in k.flat()
    kinds = [e["kind"] for e in events_of(queries, job)]
    assert kinds[:3] == ["material_scrap", "material_return", "material_issue"]


async def test_stores_may_not_substitute_an_item_the_config_does_not_allow(open_kiosk, new_job, queries):
    job = new_job(release=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        await k.press("1", "f4")
        await k.type("40")
        await k.press("enter")
        await k.scan("PLATE-10")
        text = k.flat()
        assert "NOT SAVED" in text and "No substitute is allowed for PLATE-8" in text
        assert "a supervisor or planner must" in text
    assert events_of(queries, job, "material_substitute") == []


async def test_a_supervisor_substitutes_material_at_stores(open_kiosk, new_job, queries):
    job = new_job(release=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "S1")
        await k.scan(job)
        await k.press("1", "f4")
        assert "Substitute how many PLATE-8?" in k.flat()
        await k.type("40")
        await k.press("enter")
        assert "Scan or type the item issued instead of PLATE-8" in k.flat()
        await k.scan("PLATE-10")
        assert "Issued 40 pcs of PLATE-10 in place of PLATE-8 (substitute)" in k.flat()
        [event] = events_of(queries, job, "material_substitute")
        assert (event["item"], event["item2"], event["qty"]) == ("PLATE-8", "PLATE-10", 40)


async def test_stores_issue_beyond_the_bill_asks_why_and_return_more_than_issued_is_refused(
    open_kiosk, new_job, queries
):
    job = new_job(release=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        await k.press("1")
        await k.type("41")
        await k.press("enter")
        assert "Extra issue: 1 pcs of PLATE-8 beyond the bill of materials. Why?" in k.flat()
        assert "Setup / first-off loss" in k.flat()
        await k.press("escape")  # no reason, no entry
        assert not [e for e in events_of(queries, job) if e["kind"].startswith("material")]
        await k.press("-")
        assert "Nothing of PLATE-8 is issued to job" in k.flat()
        assert k.step == "card"  # still asking how many to issue
    assert not [e for e in events_of(queries, job) if e["kind"].startswith("material")]


async def test_stores_esc_leaves_the_material_line_then_the_job(open_kiosk, new_job):
    job = new_job(release=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        await k.press("2")
        assert "Issue how many BOLT-M12?" in k.flat()
        await k.press("escape")
        assert "Material line? Type its number (1-2)" in k.flat()
        await k.press("escape")
        assert k.step == "job"


async def test_stores_material_line_out_of_range(open_kiosk, new_job):
    job = new_job(release=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        await k.press("7")
        assert "There is no choice 7: type a number from 1 to 2" in k.flat()


async def test_operator_badge_at_stores_may_not_issue(open_kiosk, new_job, queries):
    job = new_job(release=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "W1")
        await k.scan(job)
        await k.press("1")
        assert "Wanda Welder (operator) may not issue material" in k.flat()
        await k.press("+")
        assert "Wanda Welder (operator) may not release" in k.flat()


# -- dispatch (DISP-1, a kiosk at the dispatch step) ----------------------------------------------


async def test_dispatch_scan_enter_dispatches_all_ready(open_kiosk, job_at, queries):
    job = job_at("DISP", qty=6, routing="machined_part")
    async with open_kiosk("DISP-1") as k:
        await sign_in(k, "W1")
        await k.scan(job)
        assert "Dispatch how many? Enter = all 6 ready" in k.flat()
        await k.press("enter")
        assert "Delivery note or shipment reference for dispatching 6?" in k.flat()
        await k.press("enter")  # optional (the default): Enter alone = none
        assert "Dispatched 6 (6 of 6 dispatched in all)" in k.flat()
        assert queries.job_card(job).status == "dispatched"


async def test_dispatch_stores_the_delivery_note_scanned(open_kiosk, job_at, queries):
    job = job_at("DISP", qty=6, routing="machined_part")
    async with open_kiosk("DISP-1") as k:
        await sign_in(k, "W1")
        await k.scan(job)
        await k.press("enter")
        await k.scan("DN-4411")
        assert "Dispatched 6" in k.flat()
    [event] = events_of(queries, job, "dispatch")
    assert event["reference"] == "DN-4411"


@pytest.mark.parametrize("setting, asked", [("required", True), ("off", False)])
async def test_dispatch_reference_required_or_off(open_kiosk, job_at, queries, config, setting, asked):
    import dataclasses

    cfg = dataclasses.replace(config, kiosk=dataclasses.replace(config.kiosk, dispatch_reference=setting))
    job = job_at("DISP", qty=6, routing="machined_part")
    async with open_kiosk("DISP-1", cfg=cfg) as k:
        await sign_in(k, "W1")
        await k.scan(job)
        await k.press("enter")
        if asked:
            assert "required here" in k.flat()
            await k.press("enter")
            assert "REFUSED" in k.flat() and "is required here" in k.flat()
            assert not events_of(queries, job, "dispatch")
            await k.scan("SHIP-77")
        assert "Dispatched 6" in k.flat()
    [event] = events_of(queries, job, "dispatch")
    assert event["reference"] == ("SHIP-77" if asked else None)


async def test_dispatch_more_than_ready_is_refused(open_kiosk, job_at, queries):
    job = job_at("DISP", qty=6, routing="machined_part")
    async with open_kiosk("DISP-1") as k:
        await sign_in(k, "W1")
        await k.scan(job)
        await k.type("7")
        await k.press("enter")
        assert f"Only 6 of job {job} ready for dispatch; cannot dispatch 7" in k.flat()
        assert queries.job_card(job).dispatched == 0


async def test_dispatch_part_then_the_rest(open_kiosk, job_at, queries):
    job = job_at("DISP", qty=6, routing="machined_part")
    async with open_kiosk("DISP-1") as k:
        await sign_in(k, "W1")
        await k.scan(job)
        await k.type("4")
        await k.press("enter", "enter")
        assert "Dispatched 4 (4 of 6 dispatched in all)" in k.flat()
        await k.press("enter")
        await k.scan(job)
        assert "Enter = all 2 ready" in k.flat()


async def test_packing_kiosk_completes_like_a_work_step(open_kiosk, job_at, queries):
    job = job_at("PACK", qty=3, routing="machined_part")
    async with open_kiosk("PACK-1") as k:
        await sign_in(k, "W1")
        await k.scan(job)
        await k.press("enter")
        assert "Packing: 3 done → Dispatch (0 still pending)" in k.flat()
