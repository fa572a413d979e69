"""Material at stores (issue 10, items 1, 2 and 7): extra issues with a reason, returns of
surplus, substitutes only where the config allows them, the release policy, and what
"finished" means. Ledger, CLI and kiosk, on both store backends; `db verify` after each."""

from __future__ import annotations

import dataclasses
import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import PLANNER, STORES, SUPERVISOR, refused
from floorterm import rules
from floorterm.config import DEFAULT_EXTRA_ISSUE_REASONS, MaterialSettings, parse_config
from floorterm.errors import ConfigError, DomainError, InputError, PermissionDenied
from floorterm.kiosk_snapshot import take_snapshot
from floorterm.ledger import JobSpec, Ledger, MaterialSpec
from floorterm.outbox import QueuedEntry
from floorterm.verify import verify_store
from test_cli import jobs_files, operators_file, planned, run, seeded  # noqa: F401 (fixtures)
from test_kiosk_helpers import events_of, kledger, kstore, new_job, open_kiosk  # noqa: F401 (fixtures)

EXTRA_CHOICES = (
    "SETUP (Setup / first-off loss), BREAK (Breakage or damage), DRAWING (Drawing change), "
    "REISSUE (Re-issue after a return)"
)
STEEL = (MaterialSpec("RB-C45-60", 1000, "Round bar C45 60 mm", "kg"), MaterialSpec("BOLT-M12X40", 80, "Bolt", "pcs"))


def line(queries, job: str, item: str):
    return next(m for m in queries.job_card(job).material if m.item == item)


def with_materials(config, **settings):
    return dataclasses.replace(config, materials=MaterialSettings(**settings))


@pytest.fixture
def kiosk_url(store_url):
    """The kiosk tests here run on both backends."""
    return store_url


# -- 1. extra issue ------------------------------------------------------------------------------


def test_an_issue_beyond_the_bill_needs_an_extra_issue_reason(ledger, queries, make_job):
    job = make_job(materials=STEEL, release=20)
    ledger.material_issue(job, "RB-C45-60", 1000, actor=STORES)
    ledger.material_issue(job, "BOLT-M12X40", 80, actor=STORES)
    refused(
        queries,
        job,
        lambda: ledger.material_issue(job, "BOLT-M12X40", 10, actor=STORES),
        message=(
            f"Job {job} needs 80 pcs of BOLT-M12X40 and has 80 pcs issued; 0 pcs more can be issued, "
            f"10 pcs is an extra issue and needs an extra-issue reason: choose one of {EXTRA_CHOICES}"
        ),
    )
    refused(
        queries,
        job,
        lambda: ledger.record("material_issue", job, item="BOLT-M12X40", qty=10, reason="NOPE", actor=STORES),
        message=f"NOPE is not a extra issue reason; choose one of: {EXTRA_CHOICES}",
    )
    receipt = ledger.record("material_issue", job, item="BOLT-M12X40", qty=10, reason="setup", actor=STORES)
    assert receipt.message == "Issued 10 pcs of BOLT-M12X40 (Setup / first-off loss), 10 pcs extra"
    bolts = line(queries, job, "BOLT-M12X40")
    assert (bolts.issued, bolts.short, bolts.extra, bolts.needed) == (90, 0, 10, 80)
    assert "material short" not in queries.job_card(job).flags
    # The JSON card carries `extra` on every material line.
    as_json = {m["item"]: m for m in queries.job_card(job).to_json()["material"]}
    assert (as_json["BOLT-M12X40"]["extra"], as_json["RB-C45-60"]["extra"]) == (10, 0)
    [event] = [e for e in queries.history(job) if e["kind"] == "material_issue" and e["reason"]]
    assert (event["reason"], event["qty"]) == ("SETUP", 10)
    assert verify_store() == []


def test_an_issue_across_the_shortfall_counts_only_the_part_beyond_it_as_extra(ledger, queries, make_job):
    job = make_job(materials=STEEL, release=20)
    ledger.material_issue(job, "RB-C45-60", 990, actor=STORES)
    ledger.record("material_issue", job, item="RB-C45-60", qty=25, reason="DRAWING", actor=STORES)
    bar = line(queries, job, "RB-C45-60")
    assert (bar.short, bar.extra) == (0, 15)
    # Returning the surplus takes the extra back first; it never makes the line short.
    assert ledger.material_return(job, "RB-C45-60", 15, actor=STORES).message == "Returned 15 kg of RB-C45-60"
    bar = line(queries, job, "RB-C45-60")
    assert (bar.net_issued, bar.short, bar.extra) == (1000, 0, 0)
    assert verify_store() == []


def test_a_return_of_surplus_never_flags_material_short(ledger, queries, make_job):
    job = make_job(materials=STEEL, release=20)
    ledger.material_issue(job, "RB-C45-60", 1000, actor=STORES)
    ledger.material_issue(job, "BOLT-M12X40", 80, actor=STORES)
    receipt = ledger.material_return(job, "RB-C45-60", 250, actor=STORES, note="offcut back to stores")
    assert receipt.message == "Returned 250 kg of RB-C45-60"
    card = queries.job_card(job)
    bar = line(queries, job, "RB-C45-60")
    assert (bar.net_issued, bar.short, bar.extra) == (750, 0, 0)
    assert "material short" not in card.flags
    # Material lost (scrapped) is missing at the job, so the line is short again, and the
    # replacement needs no reason.
    ledger.material_scrap(job, "RB-C45-60", 30, "HND", actor=STORES)
    assert line(queries, job, "RB-C45-60").short == 30
    assert "material short" in queries.job_card(job).flags
    message = ledger.material_issue(job, "RB-C45-60", 30, actor=STORES).message
    assert message == "Issued 30 kg of RB-C45-60"
    assert "material short" not in queries.job_card(job).flags
    assert verify_store() == []


def test_every_material_quantity_in_a_message_carries_its_unit(ledger, queries, make_job):
    job = make_job(materials=STEEL, release=20)
    assert ledger.material_issue(job, "RB-C45-60", 963, actor=STORES).message == (
        "Issued 963 kg of RB-C45-60, still short 37 kg"
    )
    refused(
        queries,
        job,
        lambda: ledger.material_return(job, "RB-C45-60", 964, actor=STORES),
        message=f"Only 963 kg of RB-C45-60 are issued to job {job}; cannot return 964 kg",
    )
    # What "undo last" offers names the unit too.
    assert queries.last_entry("ST1").message == "material issue 963 kg RB-C45-60"


def test_replaying_an_old_history_does_not_ask_for_a_reason_again():
    """Entries already in the ledger (verify, void, reports) are not refused for a missing reason."""
    state = rules.JobState("J-1", 10, 5, [rules.StepState(1, "CUT", "Cutting", "work")])
    state.materials["BAR"] = rules.MaterialState("BAR", 10, unit="m")
    issue = rules.Fact("material_issue", at=None, qty=12, item="BAR")
    with pytest.raises(DomainError, match="needs an extra-issue reason"):
        rules.apply(state, issue)
    rules.apply(state, issue, history=True)
    assert (state.materials["BAR"].extra, state.materials["BAR"].short) == (2, 0)


# -- 2. substitutes ----------------------------------------------------------------------------


def test_stores_substitute_only_what_the_config_allows(store, config, clock, queries, make_job):
    allowed = with_materials(config, substitutes=(("RB-C45-60", ("RB-C45-65",)),))
    ledger = Ledger(store, allowed, clock=clock)
    job = make_job(materials=STEEL, release=20)
    receipt = ledger.material_substitute(job, "RB-C45-60", "RB-C45-65", 300, actor=STORES)
    assert receipt.message == "Issued 300 kg of RB-C45-65 in place of RB-C45-60 (substitute)"
    refused(
        queries,
        job,
        lambda: ledger.material_substitute(job, "RB-C45-60", "RB-C45-80", 10, actor=STORES),
        PermissionDenied,
        "RB-C45-60 may be replaced by RB-C45-65 only ([materials.substitutes]); Stacy Stores (stores) may not "
        "issue RB-C45-80 in its place: a supervisor or planner must",
    )
    refused(
        queries,
        job,
        lambda: ledger.material_substitute(job, "BOLT-M12X40", "BOLT-M12X45", 10, actor=STORES),
        PermissionDenied,
        "No substitute is allowed for BOLT-M12X40 ([materials.substitutes]); Stacy Stores (stores) may not "
        "issue BOLT-M12X45 in its place: a supervisor or planner must",
    )
    # A planner or supervisor decides the others.
    ledger.material_substitute(job, "RB-C45-60", "RB-C45-80", 10, actor=PLANNER, note="65 mm sold out")
    ledger.material_substitute(job, "BOLT-M12X40", "BOLT-M12X45", 10, actor=SUPERVISOR)
    lines = {m.item: m for m in queries.job_card(job).material}
    bar = lines["RB-C45-60"]
    assert (bar.required, bar.needed, bar.substituted, bar.short) == (1000, 690, 310, 690)
    assert (lines["RB-C45-65"].substitute_for, lines["RB-C45-65"].issued) == ("RB-C45-60", 300)
    as_json = {m["item"]: m for m in queries.job_card(job).to_json()["material"]}
    assert as_json["RB-C45-60"]["substituted"] == 310 and as_json["RB-C45-80"]["substitute_for"] == "RB-C45-60"
    assert verify_store() == []


# -- release without issue -----------------------------------------------------------------------


def test_release_without_issue_refuse_warn_allow(store, config, clock, queries, make_job):
    job = make_job(materials=STEEL)
    refusing = Ledger(store, with_materials(config, release_without_issue="refuse"), clock=clock)
    refused(
        queries,
        job,
        lambda: refusing.release(job, 5, actor=STORES),
        message=(
            f"Job {job} cannot be released before its material is issued ([materials] release_without_issue = "
            '"refuse"): still to issue RB-C45-60 1000 kg, BOLT-M12X40 80 pcs'
        ),
    )
    warning = Ledger(store, with_materials(config, release_without_issue="warn"), clock=clock)
    receipt = warning.release(job, 5, actor=STORES)
    assert receipt.warning == "Material not issued: RB-C45-60 1000 kg, BOLT-M12X40 80 pcs"
    allowing = Ledger(store, with_materials(config, release_without_issue="allow"), clock=clock)
    assert allowing.release(job, 5, actor=STORES).warning == ""
    refusing.material_issue(job, "RB-C45-60", 1000, actor=STORES)
    refusing.material_issue(job, "BOLT-M12X40", 80, actor=STORES)
    receipt = refusing.release(job, 10, actor=STORES)
    assert (receipt.warning, queries.job_card(job).released) == ("", 20)
    assert verify_store() == []


# -- 7. finished ----------------------------------------------------------------------------------


def test_finished_is_ready_plus_dispatched(ledger, queries, make_job):
    job = make_job(qty=10, routing="machined_part", materials=(), release=10)
    for stage in ("CUT", "CNC", "FQC", "PACK"):
        if stage == "FQC":
            ledger.qc_pass(job, stage, 10, actor=SUPERVISOR)
        else:
            ledger.complete(job, stage, 10, actor=SUPERVISOR)
    card = queries.job_card(job)
    assert (card.finished, card.ready_for_dispatch, card.dispatched) == (10, 10, 0)
    assert card.dispatch_status == "10 ready, none dispatched"
    ledger.dispatch(job, 4, actor=SUPERVISOR)
    card = queries.job_card(job)
    assert (card.finished, card.ready_for_dispatch, card.dispatched) == (10, 6, 4)
    assert card.to_json()["finished"] == 10
    assert verify_store() == []


def test_finished_without_a_dispatch_step_and_conservation_is_exact():
    steps = [rules.StepState(1, "CUT", "Cutting", "work"), rules.StepState(2, "PACK", "Packing", "pack")]
    state = rules.JobState("J-2", 10, 5, steps)
    for fact in (
        rules.Fact("release", at=None, qty=10),
        rules.Fact("complete", at=None, stage="CUT", qty=10),
        rules.Fact("complete", at=None, stage="PACK", qty=7),
        rules.Fact("dispatch", at=None, qty=3),
    ):
        rules.apply(state, fact)
    assert (state.finished, state.ready_for_dispatch, state.dispatched) == (7, 4, 3)
    assert state.conservation_errors() == []
    steps[0].completed -= 1  # a balance that does not add up is reported
    assert state.conservation_errors() == ["quantities add up to 11, released is 10"]


# -- config ---------------------------------------------------------------------------------------


def test_a_config_without_the_new_sections_still_loads_with_defaults(config):
    text = (config.path).read_text()
    start = text.index("extra_issue = [")
    old = text[:start] + text[text.index("]\n", start) + 2 :]
    old = old[: old.index("[materials]")]
    loaded = parse_config(old, base_dir=config.path.parent)
    assert loaded.reasons("extra_issue") == DEFAULT_EXTRA_ISSUE_REASONS
    assert loaded.materials == MaterialSettings(release_without_issue="warn", substitutes=())
    assert config.materials.allowed_substitutes("BOLT-M12X40") == ("BOLT-M12X45",)


def test_bad_material_settings_are_named(config):
    text = config.path.read_text()
    text = text[: text.index("[materials]")]
    bad = text + '[materials]\nrelease_without_issue = "maybe"\n[materials.substitutes]\n"rb-1" = ["X"]\nA = "B"\n'
    with pytest.raises(ConfigError) as info:
        parse_config(bad)
    assert str(info.value).splitlines() == [
        'config.toml: materials.release_without_issue must be one of warn, refuse, allow; got "maybe"',
        'config.toml: materials.substitutes."rb-1": an item code is 1-32 characters of A-Z 0-9 - _ . / '
        "(uppercase), starting with a letter or digit",
        'config.toml: materials.substitutes."A" must be a list of item codes, e.g. ["RB-C45-65"]',
    ]


# -- the CLI ----------------------------------------------------------------------------------------


def test_cli_extra_issue_substitute_and_card(planned):
    store = ("--operator", "ST1", "--terminal", "STORES-1")
    release = planned("record", "release", "M-1", "--qty", "10", *store)
    assert release.code == 0 and "Warning: Material not issued: PLATE-8 20 pcs" in release.err
    assert planned("record", "issue", "M-1", "--item", "PLATE-8", "--qty", "20", *store).code == 0
    missing = planned("record", "issue", "M-1", "--item", "PLATE-8", "--qty", "3", *store)
    assert missing.code == 1 and "needs an extra-issue reason: choose one of SETUP" in missing.err
    extra = planned("record", "issue", "M-1", "--item", "PLATE-8", "--qty", "3", "--reason", "BREAK", *store)
    assert (extra.code, extra.out) == (0, "M-1: Issued 3 pcs of PLATE-8 (Breakage or damage), 3 pcs extra\n")
    sub = planned("record", "substitute", "M-1", "--item", "PLATE-8", "--substitute", "PLATE-10", "--qty", "1", *store)
    assert sub.code == 1 and "No substitute is allowed for PLATE-8" in sub.err
    card = json.loads(planned("jobs", "show", "M-1", "--format", "json").out)
    plate = next(m for m in card["material"] if m["item"] == "PLATE-8")
    assert (plate["extra"], plate["short"], plate["substituted"]) == (3, 0, 0)
    text = planned("jobs", "show", "M-1").out
    row = next(r for r in text.splitlines() if r.startswith("PLATE-8"))
    assert "20 pcs" in row and "3 pcs" in row
    assert "finished 0 (ready 0 + dispatched 0)" in text
    assert planned("db", "verify").code == 0


# -- the kiosk at stores ---------------------------------------------------------------------------


async def sign_in(k, badge: str) -> None:
    await k.scan(badge)
    assert k.step == "job", k.flat()


async def test_kiosk_extra_issue_asks_why_and_the_line_shows_extra(open_kiosk, new_job, queries):
    job = new_job(release=20)
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        await k.press("1")
        await k.type("45")
        await k.press("enter")
        assert "Extra issue: 5 pcs of PLATE-8 beyond the bill of materials. Why?" in k.flat()
        await k.press("2")  # BREAK
        assert "Issued 45 pcs of PLATE-8 (Breakage or damage), 5 pcs extra" in k.flat()
        await k.press("enter")
        await k.scan(job)
        assert "+5 pcs extra" in k.flat()
        assert "40 pcs" in k.flat() and "45 pcs" in k.flat()  # need and issued, with their unit
    [event] = events_of(queries, job, "material_issue")
    assert (event["qty"], event["reason"]) == (45, "BREAK")
    assert verify_store() == []


async def test_kiosk_warns_stores_before_releasing_without_material(open_kiosk, new_job, queries):
    job = new_job()
    async with open_kiosk("STORES-1") as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        await k.press("+")
        text = k.flat()
        assert "Material not issued: PLATE-8 40 pcs, BOLT-M12 80 pcs still to issue" in text
        await k.press("enter")
        text = k.flat()
        assert "Released 20 of 20 → Cutting" in text and "Material not issued: PLATE-8 40 pcs" in text
    assert queries.job_card(job).released == 20


async def test_kiosk_release_refused_when_the_config_says_refuse(open_kiosk, new_job, queries, config):
    job = new_job()
    cfg = with_materials(config, release_without_issue="refuse")
    async with open_kiosk("STORES-1", cfg=cfg) as k:
        await sign_in(k, "ST1")
        await k.scan(job)
        await k.press("+")
        await k.press("enter")
        text = k.flat()
        assert "NOT SAVED" in text and "cannot be released before its material is issued" in text
    assert queries.job_card(job).released == 0


def test_missing_item_and_substitute_are_input_errors(ledger, queries, make_job):
    job = make_job(materials=STEEL)
    refused(
        queries, job, lambda: ledger.material_issue(job, "", 1, actor=STORES), InputError, "Say which material item"
    )


# -- property: random material entries on one line ------------------------------------------------

MATERIAL_OP = st.tuples(
    st.sampled_from(["issue", "extra", "return", "scrap", "substitute", "void"]),
    st.integers(min_value=1, max_value=60),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(MATERIAL_OP, min_size=1, max_size=12))
def test_random_material_entries_keep_the_line_rules(ledger, queries, ops):
    """Whatever stores do, a line is never both short and extra, a return never makes it
    shorter, refusals change nothing, and the stored line equals a replay of the ledger."""
    job = f"MP-{uuid.uuid4().hex[:8]}"
    ledger.create_jobs([JobSpec(number=job, qty=5, routing="weldment", materials=(MaterialSpec("BAR", 50, "", "m"),))])
    landed: list[str] = []
    for op, qty in ops:
        before = line(queries, job, "BAR")
        calls = {
            "issue": lambda: ledger.material_issue(job, "BAR", qty, actor=STORES),
            "extra": lambda: ledger.record("material_issue", job, item="BAR", qty=qty, reason="BREAK", actor=STORES),
            "return": lambda: ledger.material_return(job, "BAR", qty, actor=STORES),
            "scrap": lambda: ledger.material_scrap(job, "BAR", qty, "HND", actor=STORES),
            "substitute": lambda: ledger.material_substitute(job, "BAR", "BAR-2", qty, actor=SUPERVISOR),
            "void": lambda: ledger.void(landed[-1], actor=SUPERVISOR, note="wrong"),
        }
        if op == "void" and not landed:
            continue
        try:
            receipt = calls[op]()
        except (DomainError, InputError):
            assert line(queries, job, "BAR") == before, "a refused entry changed the line"
            continue
        if op != "void":
            landed.append(receipt.uuid)
        else:
            landed.pop()
        bar = line(queries, job, "BAR")
        assert bar.short >= 0 and bar.extra >= 0 and bar.net_issued >= 0
        assert not (bar.short and bar.extra), bar
        assert bar.short == max(0, bar.needed - (bar.issued - bar.scrapped))
        assert bar.extra == max(0, bar.net_issued - bar.needed)
        if op == "return":
            assert bar.short == before.short, "a return made the line shorter"
        if op == "issue":
            assert qty <= before.short and bar.extra == 0, "an issue without a reason went beyond the bill"
    assert verify_store() == []


# -- the kiosk's offline copy ---------------------------------------------------------------------


def test_the_offline_copy_checks_extra_issues_and_substitutes_as_the_ledger_does(ledger, queries, make_job, config):
    job = make_job(materials=STEEL, release=20)
    ledger.material_issue(job, "BOLT-M12X40", 80, actor=STORES)
    snapshot = take_snapshot(queries, config, "STORES-1")

    def queued(kind, **fields):
        return QueuedEntry(kind=kind, job=job, badge="ST1", terminal="STORES-1", **fields)

    with pytest.raises(DomainError, match="10 pcs is an extra issue and needs an extra-issue reason"):
        snapshot.apply(queued("material_issue", item="BOLT-M12X40", qty=10))
    substitute = queued("material_substitute", item="RB-C45-60", item2="RB-C45-99", qty=5)
    with pytest.raises(PermissionDenied) as offline:
        snapshot.apply(substitute)
    online = refused(queries, job, lambda: ledger.record(substitute.kind, job, **substitute.record_arguments()))
    assert str(offline.value) == online
    snapshot.apply(queued("material_issue", item="BOLT-M12X40", qty=10, reason="SETUP"))
    bolts = next(m for m in snapshot.card(job, queries.clock()).material if m.item == "BOLT-M12X40")
    assert (bolts.extra, bolts.short) == (10, 0)
