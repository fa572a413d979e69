"""Stage owners and work centres (issue 10, item 6): each stage may name its owner (a department)
and supervisor badge; the card, `jobs show --json` and the kiosk card show them for the step a
job waits at; `report exceptions --owner` keeps the rows that owner answers for. Both backends."""

from __future__ import annotations

import json

import pytest

from conftest import OPERATORS, SUPERVISOR, job_factory
from floorterm.cli import main
from floorterm.errors import ConfigError, InputError
from floorterm.ledger import Ledger
from floorterm.queries import Queries
from floorterm.reports import Reports, stages_owned_by
from outside_support import outside_config, outside_config_text

OWNERS = {
    "CUT": ("Fabrication", "S1"),
    "WELD": ("Fabrication", "S-0042"),
    "FQC": ("Quality", "Q1"),
}


def owned_text() -> str:
    """config.toml with an owner and supervisor on CUT, WELD and FQC, and an outside stage."""
    text = outside_config_text()
    for code, (owner, badge) in OWNERS.items():
        marker = f'code = "{code}"\n'
        assert text.count(marker) == 1
        text = text.replace(marker, f'{marker}owner = "{owner}"\nsupervisor = "{badge}"\n', 1)
    return text


@pytest.fixture(scope="module")
def oconfig():
    from floorterm.config import parse_config
    from outside_support import REPO

    return parse_config(owned_text(), base_dir=REPO)


@pytest.fixture
def oledger(store, oconfig, clock):
    led = Ledger(store, oconfig, clock=clock)
    for badge, name, role in OPERATORS:
        led.add_operator(badge, name, role)
    return led


def test_config_reads_owners(oconfig):
    weld = oconfig.stage("WELD")
    assert (weld.owner, weld.supervisor, weld.work_centre) == ("Fabrication", "S-0042", "Welding bays 1-2")
    assert (oconfig.stage("PAINT").owner, oconfig.stage("PAINT").supervisor) == ("", "")
    assert stages_owned_by(oconfig, "fabrication") == {"CUT", "WELD"}
    assert stages_owned_by(oconfig, "s-0042") == {"WELD"}
    assert stages_owned_by(oconfig, "Purchasing") == {"GALV"}
    with pytest.raises(InputError, match="No stage is owned by 'Paint'; the owners and supervisors: Fabrication, "):
        stages_owned_by(oconfig, "Paint")


@pytest.mark.parametrize(
    "line, message",
    [
        ('supervisor = "s 42"', '"supervisor" must be a badge: 1-24 characters of A-Z 0-9 - _ . / (uppercase)'),
        ('supervisor = "S-0042-THIS-BADGE-IS-TOO-LONG"', '"supervisor" must be a badge'),
        ("supervisor = 42", '"supervisor" must be a string, not integer'),
        ('owner = "' + "x" * 81 + '"', '"owner" must be at most 80 characters, got 81'),
        ('work_centre = "' + "x" * 81 + '"', '"work_centre" must be at most 80 characters, got 81'),
        ('owner = "Fab\\u0007"', '"owner" must not contain control characters'),
        ('suppliers = ["ZINKO"]', '"suppliers" is only for stages of kind "outside"'),
    ],
)
def test_config_owner_mistakes_are_named(line, message):
    text = outside_config_text().replace('code = "CUT"\n', f'code = "CUT"\n{line}\n', 1)
    text = text.replace('work_centre = "Laser and saw bay"\n', "", 1) if "work_centre" in line else text
    from floorterm.config import parse_config

    with pytest.raises(ConfigError) as info:
        parse_config(text)
    assert '[[stages]] #1 (code "CUT")' in str(info.value) and message in str(info.value)


def test_card_shows_owner_of_the_step_the_job_waits_at(oledger, oconfig, clock):
    make = job_factory(oledger)
    job = make(qty=10, routing="galvanised", release=10)
    queries = Queries(oconfig, clock=clock)
    card = queries.job_card(job)
    assert (card.current_stage, card.work_centre, card.owner, card.supervisor) == (
        "CUT",
        "Laser and saw bay",
        "Fabrication",
        "S1",
    )
    assert card.step("WELD").supervisor == "S-0042" and card.step("CUT").owner == "Fabrication"
    oledger.complete(job, "CUT", 10, actor=SUPERVISOR)
    oledger.complete(job, "WELD", 10, actor=SUPERVISOR)
    card = queries.job_card(job)
    assert (card.current_stage, card.owner, card.supervisor) == ("GALV", "Purchasing", "S1")
    data = queries.job_card_json(job)
    assert (data["owner"], data["supervisor"], data["work_centre"]) == ("Purchasing", "S1", "Goods out / goods in")
    assert {s["stage"]: s["owner"] for s in data["steps"]}["FQC"] == "Quality"


def test_card_text_line_for_kiosk_and_board(oledger, oconfig, clock):
    from floorterm.screens.widgets import owner_line

    make = job_factory(oledger)
    job = make(qty=10, routing="galvanised", release=10)
    card = Queries(oconfig, clock=clock).job_card(job)
    assert owner_line(card) == "Now at Cutting · Laser and saw bay · Fabrication, supervisor S1"
    # A stage without owner or supervisor: no line (the card stays as it was).
    plain = Queries(outside_config(), clock=clock).job_card(job)
    assert owner_line(plain) == ""


def test_report_exceptions_by_owner(oledger, oconfig, clock, store_url, tmp_path, capsys):
    make = job_factory(oledger)
    at_cut = make(qty=10, routing="galvanised", release=10, materials=())
    at_weld = make(qty=10, routing="galvanised", release=10, materials=())
    oledger.complete(at_weld, "CUT", 10, actor=SUPERVISOR)
    oledger.delay(at_weld, "WELD", "MACH", actor=SUPERVISOR)
    oledger.delay(at_cut, None, "DRW", actor=SUPERVISOR)  # the whole job: counts where it waits (CUT)
    oledger.hold(at_cut, actor=SUPERVISOR, note="customer query")
    reports = Reports(oconfig, clock=clock)
    _, everything = reports.as_rows("exceptions")
    headers, rows = reports.as_rows("exceptions", owner="S-0042")
    assert {(r[0], r[1], r[2]) for r in rows} == {("delayed", at_weld, "WELD")}
    _, rows = reports.as_rows("exceptions", owner="Fabrication")
    assert {(r[0], r[1]) for r in rows} == {("delayed", at_weld), ("delayed", at_cut), ("on_hold", at_cut)}
    _, rows = reports.as_rows("exceptions", owner="Quality")
    assert rows == []
    assert len(everything) >= 3
    with pytest.raises(InputError, match="An owner filter is for report exceptions only"):
        reports.as_rows("wip", owner="Quality")
    path = tmp_path / "config.toml"
    path.write_text(owned_text())
    cli = ["--config", str(path), "--db", store_url]
    assert main([*cli, "report", "exceptions", "--owner", "s-0042", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)  # the CLI's clock is the real one: the work is old by now
    assert ("delayed", at_weld) in [(r["list"], r["job"]) for r in rows]
    assert {(r["job"], r["stage"]) for r in rows} == {(at_weld, "WELD")}
    assert main([*cli, "report", "exceptions", "--owner", "Nobody"]) == 1
    assert "No stage is owned by 'Nobody'" in capsys.readouterr().err
    assert main([*cli, "report", "wip", "--owner", "Quality"]) != 0
    assert "--owner is for report exceptions, not report wip" in capsys.readouterr().err
