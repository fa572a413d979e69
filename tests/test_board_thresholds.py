"""Per-stage ageing thresholds: [thresholds.ageing_hours_by_stage] STAGE = [hours, ...].

Checked at config load (unknown stage codes and wrong shapes named with their key); a listed
stage's own hours decide its WIP ageing list entries, its cell colours and its TV tile."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from floorterm.config import ConfigError, load_config, parse_config
from floorterm.reports import Reports

from conftest import SUPERVISOR
from test_board_support import board, board_app, settle

REPO = Path(__file__).resolve().parent.parent
BY_STAGE = "\n[thresholds.ageing_hours_by_stage]\n"


def with_thresholds(extra: str):
    text = (REPO / "config.toml").read_text()
    return parse_config(text + BY_STAGE + extra, source="config.toml", base_dir=REPO)


def error_of(extra: str) -> str:
    with pytest.raises(ConfigError) as info:
        with_thresholds(extra)
    return str(info.value)


def test_a_stage_gets_its_own_ageing_hours_and_the_others_keep_the_default():
    config = with_thresholds('DISP = [24, 72, 168]\nPAINT = [12, 48, 120]\n')
    t = config.thresholds
    assert t.ageing_for("DISP") == (24, 72, 168) and t.ageing_for("PAINT") == (12, 48, 120)
    assert t.ageing_for("CUT") == t.ageing_hours == (4, 24, 72)


@pytest.mark.parametrize(
    "extra, message",
    [
        (
            'XRAY = [1, 2, 3]\n',
            'thresholds.ageing_hours_by_stage.XRAY: unknown stage "XRAY"; the stages are: CUT, CNC, BEND',
        ),
        ('DISP = [24, 72]\n', "thresholds.ageing_hours_by_stage.DISP must give 3 hours like thresholds.ageing_hours"),
        ('DISP = 24\n', "thresholds.ageing_hours_by_stage.DISP must be an array of 3 hours"),
        ('DISP = [72, 24, 168]\n', "thresholds.ageing_hours_by_stage.DISP"),
        ('DISP = [0, 24, 168]\n', "must be a positive number of hours"),
    ],
)
def test_a_wrong_per_stage_threshold_is_refused_at_load_naming_the_key(extra, message):
    assert message in error_of(extra)


def test_the_repo_config_documents_the_section(tmp_path):
    text = (REPO / "config.toml").read_text()
    commented = "\n# [thresholds.ageing_hours_by_stage]\n# PAINT = [12, 48, 120]\n# DISP = [24, 72, 168]\n"
    assert commented in text  # the example, ready to uncomment
    example = tmp_path / "config.toml"
    example.write_text(text.replace(commented, commented.replace("# ", "")))
    assert load_config(example).thresholds.ageing_for("DISP") == (24, 72, 168)


@pytest.fixture
def waiting(ledger, make_job, clock):
    """J-1: 5 units waiting 6 h at CUT; J-2: 5 units waiting 6 h at DISP (finished, for the truck)."""
    make_job("J-1", qty=5, release=5, materials=())
    make_job("J-2", qty=5, routing="machined_part", release=5, materials=())
    for stage in ("CUT", "CNC"):
        ledger.complete("J-2", stage, 5, actor=SUPERVISOR)
    ledger.qc_pass("J-2", "FQC", 5, actor=SUPERVISOR)
    ledger.complete("J-2", "PACK", 5, actor=SUPERVISOR)
    clock.advance(hours=6)


def test_the_ageing_list_uses_each_stages_own_hours(config, store, clock, waiting):
    default = Reports(config, clock=clock).exceptions().ageing
    assert {(i.number, i.stage) for i in default} == {("J-1", "CUT"), ("J-2", "DISP")}
    calm = dataclasses.replace(
        config, thresholds=dataclasses.replace(config.thresholds, ageing_hours_by_stage=(("DISP", (24, 72, 168)),))
    )
    items = Reports(calm, clock=clock).exceptions().ageing
    assert [(i.number, i.stage, i.label) for i in items] == [("J-1", "CUT", "4–24 h")]
    ageing = Reports(calm, clock=clock).ageing()
    assert ageing.buckets[0].by_stage["DISP"].jobs == 1 and ageing.buckets[1].by_stage["CUT"].jobs == 1


async def test_wip_cells_are_coloured_by_their_stages_own_hours(config, store, clock, waiting):
    calm = dataclasses.replace(
        config, thresholds=dataclasses.replace(config.thresholds, ageing_hours_by_stage=(("DISP", (24, 72, 168)),))
    )
    for cfg, disp_style in ((config, "black on #ffd700"), (calm, "#40c040")):
        app = board_app(cfg, store, clock)
        async with app.run_test(size=(160, 48)) as pilot:
            await settle(pilot)
            table = board(app).table
            assert table.get_cell("J-1", "CUT").text.spans[0].style == "black on #ffd700"  # 6 h > 4 h
            assert table.get_cell("J-2", "DISP").plain == "5 W 6h"
            assert table.get_cell("J-2", "DISP").text.spans[0].style == disp_style
