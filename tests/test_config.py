"""Tests for floorterm.config: the example file, every validation rule, store URLs,
config discovery and shifts."""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest

from floorterm import config as config_mod
from floorterm.config import (
    Config,
    KioskSettings,
    Scanner,
    Shift,
    Thresholds,
    find_config_path,
    load_config,
    parse_config,
)
from floorterm.errors import ConfigError

REPO = Path(__file__).resolve().parent.parent
UTC = dt.timezone.utc

# A minimal valid configuration. Every snippet a test replaces occurs exactly once.
BASE = """\
[plant]
name = "Test plant"
timezone = "Europe/Berlin"

[[stages]]
code = "CUT"
name = "Cutting"
kind = "work"

[[stages]]
code = "WELD"
name = "Welding"
kind = "work"
work_centre = "Bay 1"

[[stages]]
code = "FQC"
name = "Final QC"
kind = "qc"

[[stages]]
code = "DISP"
name = "Dispatch"
kind = "dispatch"

[routings]
standard = ["CUT", "WELD", "FQC", "DISP"]

[reasons]
delay = [{ code = "MAT", label = "Material shortage" }]
reject = [{ code = "DIM", label = "Dimension out of tolerance" }]
scrap = [{ code = "DMG", label = "Damaged" }]
qc_fail = [{ code = "VIS", label = "Visual defect" }]
material_scrap = [{ code = "HND", label = "Damaged in handling" }]

[[terminals]]
id = "WELD-1"
name = "Welding bay 1"
kind = "kiosk"
stages = ["WELD"]
"""


def variant(*replacements: tuple[str, str], append: str = "", prepend: str = "") -> str:
    """BASE with each (old, new) applied; ``old`` must occur exactly once, so a test can
    never silently check the unchanged base."""
    text = BASE
    for old, new in replacements:
        count = text.count(old)
        assert count == 1, f"{old!r} occurs {count} times in BASE"
        text = text.replace(old, new)
    # top-level keys must be prepended: after a [table] header they would belong to it
    return (prepend + "\n" if prepend else "") + text + ("\n" + append if append else "")


def error_of(text: str, source: str = "config.toml") -> str:
    with pytest.raises(ConfigError) as info:
        parse_config(text, source=source)
    return str(info.value)


def parse(text: str, **kw) -> Config:
    return parse_config(text, **kw)


# --------------------------------------------------------------------------- the example file


def test_repo_config_loads_and_is_complete():
    cfg = load_config(REPO / "config.toml")
    assert cfg.path == REPO / "config.toml"
    assert [s.code for s in cfg.stages] == ["CUT", "CNC", "BEND", "WELD", "ASSY", "PAINT", "FQC", "PACK", "DISP"]
    assert {s.code: s.kind for s in cfg.stages}["FQC"] == "qc"
    assert cfg.stage("PACK").kind == "pack"
    assert cfg.stage("DISP").kind == "dispatch"
    assert all(s.work_centre for s in cfg.stages)
    assert {r.code for r in cfg.delay_reasons} >= {
        "MAT",
        "MACH",
        "TOOL",
        "OPR",
        "QCH",
        "RWK",
        "DRW",
        "CUST",
        "OUTS",
        "PRIO",
    }
    assert len(cfg.delay_reasons) >= 10
    assert cfg.reason_label("delay", "CUST") == "Customer approval pending"
    for kind in ("reject", "scrap", "qc_fail", "material_scrap"):
        assert len(cfg.reasons(kind)) >= 3, kind
    assert cfg.routing("standard").stages == tuple(s.code for s in cfg.stages)
    assert "CNC" not in cfg.routing("no_machining").stages
    assert cfg.routing("sheet_metal").stages == ("CUT", "BEND", "PAINT", "FQC", "PACK", "DISP")
    assert cfg.routing("weldment").stages == ("CUT", "WELD", "PAINT", "FQC", "PACK", "DISP")
    assert cfg.routing("machined_part").stages == ("CUT", "CNC", "FQC", "PACK", "DISP")
    assert cfg.timezone == "Europe/Berlin"
    assert 2 <= len(cfg.shifts) <= 3


def test_repo_config_every_routing_valid():
    cfg = load_config(REPO / "config.toml")
    codes = {s.code for s in cfg.stages}
    for routing in cfg.routings:
        assert routing.stages, routing.name
        assert set(routing.stages) <= codes
        assert len(set(routing.stages)) == len(routing.stages)
        assert cfg.stage(routing.stages[-1]).kind == "dispatch", routing.name


def test_repo_config_terminals():
    cfg = load_config(REPO / "config.toml")
    ids = [t.id for t in cfg.terminals]
    for tid in (
        "CUT-1",
        "CNC-1",
        "BEND-1",
        "WELD-1",
        "WELD-2",
        "ASSY-1",
        "PAINT-1",
        "QC-1",
        "STORES-1",
        "PACK-1",
        "DISP-1",
        "BOARD-1",
    ):
        assert tid in ids
    assert cfg.terminal("QC-1").kind == "qc" and cfg.terminal("QC-1").stages == ("FQC",)
    assert cfg.terminal("STORES-1").kind == "stores" and cfg.terminal("STORES-1").stages == ("CUT",)
    assert cfg.terminal("BOARD-1").kind == "board"
    assert set(cfg.terminal("BOARD-1").stages) == {s.code for s in cfg.stages}
    assert cfg.terminal("DISP-1").stages == ("DISP",)
    # the store is the data/ folder next to the config file, whatever the working dir
    assert cfg.resolve_store_url() == "sqlite:///" + (REPO / "data" / "floorterm.db").as_posix()


# --------------------------------------------------------------------------- the base and defaults


def test_minimal_base_parses_with_defaults(tmp_path):
    cfg = parse(BASE, base_dir=tmp_path)
    assert cfg.path is None
    assert cfg.plant_name == "Test plant"
    assert cfg.void_window_minutes == 5
    assert cfg.thresholds == Thresholds(ageing_hours=(4, 24, 72), late_warning_hours=24)
    assert cfg.scanner == Scanner(prefix="", suffix="enter")
    assert cfg.kiosk == KioskSettings(idle_signout_seconds=300, confirm_seconds=4)
    assert cfg.shifts == (Shift("Day", dt.time(0, 0)),)
    assert cfg.store_url == "data/floorterm.db"
    assert cfg.resolve_store_url() == "sqlite:///" + (tmp_path / "data" / "floorterm.db").as_posix()
    assert cfg.stage("WELD").work_centre == "Bay 1"
    assert cfg.stage("CUT").work_centre == ""
    assert cfg.terminal("WELD-1").badge_required is True


def test_config_is_immutable():
    cfg = parse(BASE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.plant_name = "x"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.stages[0].code = "X"  # type: ignore[misc]
    assert isinstance(cfg.stages, tuple) and isinstance(cfg.routing("standard").stages, tuple)


def test_lookup_helpers_raise_key_error():
    cfg = parse(BASE)
    assert cfg.stage("FQC").name == "Final QC"
    assert cfg.routing("standard").stages == ("CUT", "WELD", "FQC", "DISP")
    assert cfg.terminal("WELD-1").stages == ("WELD",)
    assert [r.code for r in cfg.reasons("qc_fail")] == ["VIS"]
    assert cfg.reason_label("material_scrap", "HND") == "Damaged in handling"
    with pytest.raises(KeyError):
        cfg.stage("NOPE")
    with pytest.raises(KeyError):
        cfg.routing("nope")
    with pytest.raises(KeyError):
        cfg.terminal("NOPE-1")
    with pytest.raises(KeyError):
        cfg.reasons("bogus")
    with pytest.raises(KeyError):
        cfg.reason_label("delay", "DIM")  # a reject code, not a delay code


def test_optional_sections_are_read():
    cfg = parse(
        variant(
            append="""
[ledger]
void_window_minutes = 0
[thresholds]
ageing_hours = [2, 8]
late_warning_hours = 48
[scanner]
prefix = "J:"
suffix = "tab"
[kiosk]
idle_signout_seconds = 60
confirm_seconds = 2
[[shifts]]
name = "Night"
start = "22:00"
[[shifts]]
name = "Day"
start = 07:30:00
"""
        )
    )
    assert cfg.void_window_minutes == 0
    assert cfg.thresholds == Thresholds((2, 8), 48)
    assert cfg.scanner == Scanner("J:", "tab")
    assert cfg.kiosk == KioskSettings(60, 2)
    # sorted by start; TOML local time accepted
    assert cfg.shifts == (Shift("Day", dt.time(7, 30)), Shift("Night", dt.time(22, 0)))


# --------------------------------------------------------------------------- TOML syntax


def test_toml_syntax_error_names_file_and_line():
    msg = error_of(variant(('name = "Test plant"', 'name = "Test plant')), source="plant.toml")
    assert msg.startswith("plant.toml: not valid TOML")
    assert "line 2" in msg


def test_duplicate_routing_name_is_a_toml_error_with_line():
    text = variant(
        (
            'standard = ["CUT", "WELD", "FQC", "DISP"]',
            'standard = ["CUT", "WELD", "FQC", "DISP"]\nstandard = ["CUT", "DISP"]',
        )
    )
    msg = error_of(text)
    assert msg.startswith("config.toml: not valid TOML")
    assert "line 28" in msg


def test_load_config_missing_file_names_path(tmp_path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="not found") as info:
        load_config(missing)
    assert str(missing) in str(info.value)


def test_load_config_not_utf8(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(BASE.replace("Test plant", "Pr\xfcfstand").encode("latin-1"))
    with pytest.raises(ConfigError, match="UTF-8") as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_load_config_errors_name_the_file(tmp_path):
    path = tmp_path / "plant.toml"
    path.write_text(variant(('kind = "qc"', 'kind = "inspection"')), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}: ")


def test_load_config_accepts_utf8_bom(tmp_path):
    path = tmp_path / "config.toml"
    path.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    assert load_config(path).plant_name == "Test plant"


# --------------------------------------------------------------------------- unknown keys


def test_unknown_top_level_key():
    msg = error_of(variant(prepend='stagez = ["CUT"]'))
    assert msg == 'config.toml: unknown key "stagez" at top level (did you mean "stages"?)'


def test_top_level_key_written_inside_a_table_gets_a_hint():
    msg = error_of(variant(append='scanner = "enter"'))
    assert msg == (
        'config.toml: unknown key "scanner" in [[terminals]] #1 (id "WELD-1") '
        '("scanner" is a top-level key: move it above the first [section])'
    )


@pytest.mark.parametrize(
    "old, new, expected",
    [
        (
            'timezone = "Europe/Berlin"',
            'timezone = "Europe/Berlin"\ntimezon = "UTC"',
            'unknown key "timezon" in [plant]',
        ),
        ('code = "FQC"', 'code = "FQC"\ncolour = "red"', 'unknown key "colour" in [[stages]] #3 (code "FQC")'),
        (
            'stages = ["WELD"]',
            'stages = ["WELD"]\nbadge = true',
            'unknown key "badge" in [[terminals]] #1 (id "WELD-1")',
        ),
        (
            '{ code = "VIS", label = "Visual defect" }',
            '{ code = "VIS", label = "Visual defect", lable = "x" }',
            'unknown key "lable" in reasons.qc_fail #1 (code "VIS")',
        ),
        (
            'material_scrap = [',
            'rejects = [{ code = "X", label = "x" }]\nmaterial_scrap = [',
            'unknown key "rejects" in [reasons]',
        ),
    ],
)
def test_unknown_key_in_core_tables(old, new, expected):
    assert expected in error_of(variant((old, new)))


def test_key_in_the_wrong_section_points_to_its_home():
    msg = error_of(variant(('timezone = "Europe/Berlin"', 'timezone = "Europe/Berlin"\nvoid_window_minutes = 3')))
    assert (
        msg == 'config.toml: unknown key "void_window_minutes" in [plant] ("void_window_minutes" belongs in [ledger])'
    )


@pytest.mark.parametrize(
    "section, expected",
    [
        ("[store]\npath = 'x.db'", 'unknown key "path" in [store]'),
        ("[ledger]\nvoid_minutes = 5", 'unknown key "void_minutes" in [ledger]'),
        ("[thresholds]\nageing = [1]", 'unknown key "ageing" in [thresholds]'),
        ("[scanner]\nsufix = 'tab'", 'unknown key "sufix" in [scanner] (did you mean "suffix"?)'),
        ("[kiosk]\nidle_seconds = 5", 'unknown key "idle_seconds" in [kiosk]'),
        (
            "[[shifts]]\nname = 'Early'\nstart = '06:00'\nend = '14:00'",
            'unknown key "end" in [[shifts]] #1 (name "Early")',
        ),
    ],
)
def test_unknown_key_in_optional_tables(section, expected):
    assert expected in error_of(variant(append=section))


# --------------------------------------------------------------------------- wrong types


@pytest.mark.parametrize(
    "change, expected",
    [
        (('timezone = "Europe/Berlin"', "timezone = 1"), "plant.timezone must be a string, not integer"),
        (('name = "Test plant"', "name = true"), "plant.name must be a string, not boolean"),
        (
            ('stages = ["WELD"]', 'stages = ["WELD"]\nbadge_required = "yes"'),
            '[[terminals]] #1 (id "WELD-1"): "badge_required" must be true or false, not string',
        ),
        (
            ('stages = ["WELD"]', 'stages = "WELD"'),
            '[[terminals]] #1 (id "WELD-1"): "stages" must be an array, not string',
        ),
        (
            ('standard = ["CUT", "WELD", "FQC", "DISP"]', 'standard = ["CUT", 2]'),
            "routings.standard item 2 must be a string, not integer",
        ),
        (
            ('delay = [{ code = "MAT", label = "Material shortage" }]', 'delay = "MAT"'),
            "reasons.delay must be an array of tables ([[reasons.delay]]), not string",
        ),
        (('code = "CUT"', "code = 7"), '[[stages]] #1: "code" must be a string, not integer'),
        (("[plant]", "plant = 'x'\n[plantx]"), "plant must be a table ([plant]), not string"),
    ],
)
def test_wrong_types_in_core_tables(change, expected):
    assert expected in error_of(variant(change))


@pytest.mark.parametrize(
    "section, expected",
    [
        ("[ledger]\nvoid_window_minutes = true", "ledger.void_window_minutes must be an integer, not boolean"),
        ("[ledger]\nvoid_window_minutes = 5.0", "ledger.void_window_minutes must be an integer, not float"),
        ("[kiosk]\nconfirm_seconds = false", "kiosk.confirm_seconds must be an integer, not boolean"),
        ("[kiosk]\nidle_signout_seconds = '300'", "kiosk.idle_signout_seconds must be an integer, not string"),
        ("[thresholds]\nageing_hours = [4, true]", "thresholds.ageing_hours item 2 must be an integer, not boolean"),
        ("[thresholds]\nageing_hours = 4", "thresholds.ageing_hours must be an array, not integer"),
        ("[thresholds]\nlate_warning_hours = 1.5", "thresholds.late_warning_hours must be an integer, not float"),
        ("[scanner]\nsuffix = 13", "scanner.suffix must be a string, not integer"),
        ("[store]\nurl = 5", "store.url must be a string, not integer"),
    ],
)
def test_wrong_types_in_optional_tables(section, expected):
    assert expected in error_of(variant(append=section))


@pytest.mark.parametrize(
    "line, expected",
    [
        ("scanner = 'enter'", "scanner must be a table ([scanner]), not string"),
        ("shifts = 'Early'", "shifts must be an array of tables ([[shifts]]), not string"),
        ("kiosk = 5", "kiosk must be a table ([kiosk]), not integer"),
    ],
)
def test_wrong_types_of_top_level_sections(line, expected):
    assert expected in error_of(variant(prepend=line))


# --------------------------------------------------------------------------- missing keys


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ('name = "Test plant"\n', "", "plant.name is required"),
        ('timezone = "Europe/Berlin"\n', "", "plant.timezone is required"),
        ('[plant]\nname = "Test plant"\ntimezone = "Europe/Berlin"\n', "", "missing required table [plant]"),
        ('name = "Final QC"\nkind = "qc"\n', 'name = "Final QC"\n', '[[stages]] #3 (code "FQC"): "kind" is required'),
        ('name = "Dispatch"\n', "", '[[stages]] #4 (code "DISP"): "name" is required'),
        ('stages = ["WELD"]\n', "", '[[terminals]] #1 (id "WELD-1"): "stages" is required'),
        ('qc_fail = [{ code = "VIS", label = "Visual defect" }]\n', "", "reasons.qc_fail is required"),
        (
            '{ code = "HND", label = "Damaged in handling" }',
            '{ code = "HND" }',
            'reasons.material_scrap #1 (code "HND"): "label" is required',
        ),
        ('[routings]\nstandard = ["CUT", "WELD", "FQC", "DISP"]\n', "", "missing required table [routings]"),
    ],
)
def test_missing_required_keys(old, new, expected):
    assert expected in error_of(variant((old, new)))


def test_missing_stages_and_reasons():
    no_stages = BASE.split("[[stages]]")[0] + "[routings]" + BASE.split("[routings]")[1]
    assert "code =" not in no_stages.split("[routings]")[0]
    msg = error_of(no_stages)
    assert "missing required [[stages]] blocks" in msg
    no_reasons = BASE.split("[reasons]")[0] + "[[terminals]]" + BASE.split("[[terminals]]")[1]
    assert "missing required table [reasons]" in error_of(no_reasons)


# --------------------------------------------------------------------------- duplicates


def test_duplicate_stage_code():
    msg = error_of(variant(append='[[stages]]\ncode = "CUT"\nname = "Cutting again"\nkind = "work"'))
    assert 'duplicate stage code "CUT"' in msg


def test_duplicate_reason_code_within_one_list():
    msg = error_of(
        variant(
            (
                '{ code = "MAT", label = "Material shortage" }',
                '{ code = "MAT", label = "Material shortage" }, { code = "MAT", label = "Material late" }',
            )
        )
    )
    assert 'duplicate reason code "MAT" in reasons.delay' in msg


def test_same_reason_code_in_two_lists_is_fine():
    cfg = parse(variant(('{ code = "DMG", label = "Damaged" }', '{ code = "DIM", label = "Damaged" }')))
    assert cfg.reason_label("scrap", "DIM") == "Damaged"
    assert cfg.reason_label("reject", "DIM") == "Dimension out of tolerance"


def test_duplicate_terminal_id():
    msg = error_of(variant(append='[[terminals]]\nid = "WELD-1"\nname = "Other"\nkind = "kiosk"\nstages = ["CUT"]'))
    assert 'duplicate terminal id "WELD-1"' in msg


def test_duplicate_shift_name_and_start():
    msg = error_of(variant(append='[[shifts]]\nname = "A"\nstart = "06:00"\n[[shifts]]\nname = "A"\nstart = "14:00"'))
    assert 'duplicate shift name "A"' in msg
    msg = error_of(variant(append='[[shifts]]\nname = "A"\nstart = "06:00"\n[[shifts]]\nname = "B"\nstart = "06:00"'))
    assert '[[shifts]] #2 (name "B"): "start" 06:00 is also the start of shift "A"' in msg


# --------------------------------------------------------------------------- routings


def test_routing_unknown_stage():
    msg = error_of(variant(('standard = ["CUT", "WELD", "FQC", "DISP"]', 'standard = ["CUT", "WLD", "FQC", "DISP"]')))
    assert msg == 'config.toml: routings.standard names unknown stage "WLD"'


def test_empty_routing():
    msg = error_of(variant(append_routing('empty = []')))
    assert "routings.empty must list at least one stage" in msg


def append_routing(line: str) -> tuple[str, str]:
    anchor = 'standard = ["CUT", "WELD", "FQC", "DISP"]'
    return anchor, anchor + "\n" + line


def test_dispatch_must_be_last():
    msg = error_of(variant(append_routing('early_ship = ["CUT", "DISP", "FQC"]')))
    assert 'routings.early_ship: dispatch stage "DISP" must be the last step, but it is step 2 of 3' in msg


def test_routing_may_end_without_dispatch():
    cfg = parse(variant(append_routing('cut_only = ["CUT"]')))
    assert cfg.routing("cut_only").stages == ("CUT",)


def test_routing_same_stage_twice():
    msg = error_of(variant(append_routing('twice = ["CUT", "WELD", "CUT", "DISP"]')))
    assert 'routings.twice lists stage "CUT" more than once' in msg


def test_at_least_one_routing():
    msg = error_of(variant(('standard = ["CUT", "WELD", "FQC", "DISP"]\n', "")))
    assert "[routings] must define at least one routing" in msg


def test_bad_routing_name():
    msg = error_of(variant(append_routing('"std route" = ["CUT"]')))
    assert 'routing name "std route" must be 1-32 characters' in msg


# --------------------------------------------------------------------------- terminals


def test_terminal_with_no_stages():
    msg = error_of(variant(('stages = ["WELD"]', "stages = []")))
    assert msg == 'config.toml: [[terminals]] #1 (id "WELD-1"): "stages" must not be empty'


def test_terminal_unknown_stage():
    msg = error_of(variant(('stages = ["WELD"]', 'stages = ["WELD", "PAINT"]')))
    assert '[[terminals]] #1 (id "WELD-1"): "stages" names unknown stage "PAINT"' in msg


def test_terminal_stage_twice():
    msg = error_of(variant(('stages = ["WELD"]', 'stages = ["WELD", "WELD"]')))
    assert 'lists stage "WELD" more than once' in msg


def test_unknown_terminal_kind():
    msg = error_of(variant(('kind = "kiosk"', 'kind = "tablet"')))
    assert '[[terminals]] #1 (id "WELD-1"): "kind" must be one of kiosk, qc, stores, board; got "tablet"' in msg


def test_unknown_stage_kind():
    msg = error_of(variant(('kind = "qc"', 'kind = "inspection"')))
    expected = '[[stages]] #3 (code "FQC"): "kind" must be one of work, qc, pack, dispatch, outside; got "inspection"'
    assert expected in msg


# --------------------------------------------------------------------------- values


@pytest.mark.parametrize("tz", ["Europe/Berlln", "Europe", "../etc/passwd", "/etc/localtime", "CET+1", ""])
def test_invalid_timezone(tz):
    msg = error_of(variant(('timezone = "Europe/Berlin"', f'timezone = "{tz}"')))
    assert "plant.timezone" in msg
    assert "not a known IANA time zone" in msg or "must not be empty" in msg


@pytest.mark.parametrize("start", ["6:00", "24:00", "06:60", "0600", "06:00:00", "noon", " 06:00"])
def test_shift_start_must_be_hh_mm(start):
    msg = error_of(variant(append=f'[[shifts]]\nname = "Early"\nstart = "{start}"'))
    assert '[[shifts]] #1 (name "Early"): "start" must be "HH:MM"' in msg


def test_shift_start_toml_time_must_be_whole_minute():
    msg = error_of(variant(append='[[shifts]]\nname = "Early"\nstart = 06:00:30'))
    assert '"start" must be a whole minute' in msg


@pytest.mark.parametrize(
    "old, new, label",
    [
        ('code = "CUT"', 'code = "cut"', '[[stages]] #1 (code "cut"): "code"'),
        ('code = "CUT"', 'code = "CUTTING-LASER-BAY1"', '"code"'),  # 18 chars
        ('code = "CUT"', 'code = "CU T"', '"code"'),
        ('code = "CUT"', 'code = ""', '[[stages]] #1: "code"'),
        ('code = "CUT"', 'code = "CÜT"', '"code"'),
        ('id = "WELD-1"', 'id = "weld 1"', '[[terminals]] #1 (id "weld 1"): "id"'),
        ('code = "MAT"', 'code = "mat"', 'reasons.delay #1 (code "mat"): "code"'),
        ('code = "DMG"', 'code = "DMG!"', 'reasons.scrap #1 (code "DMG!"): "code"'),
    ],
)
def test_code_format(old, new, label):
    msg = error_of(variant((old, new)))
    assert f"{label} must be 1-16 characters of A-Z 0-9 - _ (uppercase)" in msg


def test_code_of_16_chars_is_fine():
    cfg = parse(
        variant(
            ('code = "CUT"', 'code = "ABCDEFGHIJ-_0123"'), ('"CUT", "WELD", "FQC"', '"ABCDEFGHIJ-_0123", "WELD", "FQC"')
        )
    )
    assert cfg.stage("ABCDEFGHIJ-_0123").name == "Cutting"


@pytest.mark.parametrize(
    "old, new, expected",
    [
        ('label = "Visual defect"', 'label = ""', 'reasons.qc_fail #1 (code "VIS"): "label" must not be empty'),
        ('label = "Visual defect"', 'label = "   "', 'reasons.qc_fail #1 (code "VIS"): "label" must not be empty'),
        ('name = "Cutting"', 'name = ""', '[[stages]] #1 (code "CUT"): "name" must not be empty'),
        ('name = "Welding bay 1"', 'name = ""', '[[terminals]] #1 (id "WELD-1"): "name" must not be empty'),
        ('name = "Test plant"', 'name = ""', "plant.name must not be empty"),
        (
            'label = "Damaged"',
            'label = "Dam\\u001b[31maged"',
            'reasons.scrap #1 (code "DMG"): "label" must not contain control characters',
        ),
    ],
)
def test_labels_non_empty_and_printable(old, new, expected):
    assert expected in error_of(variant((old, new)))


def test_at_least_one_stage():
    text = "stages = []\n" + BASE.split("[[stages]]")[0] + "[routings]" + BASE.split("[routings]")[1]
    msg = error_of(text)
    assert "stages must list at least one stage" in msg


@pytest.mark.parametrize("kind", ["delay", "reject", "scrap", "qc_fail", "material_scrap"])
def test_each_reason_list_non_empty(kind):
    line = next(l for l in BASE.splitlines() if l.startswith(f"{kind} = "))
    msg = error_of(variant((line, f"{kind} = []")))
    assert f"reasons.{kind} must list at least one reason" in msg


@pytest.mark.parametrize("value, ok", [(-1, False), (0, True), (1440, True), (1441, False)])
def test_void_window_range(value, ok):
    text = variant(append=f"[ledger]\nvoid_window_minutes = {value}")
    if ok:
        assert parse(text).void_window_minutes == value
    else:
        assert f"ledger.void_window_minutes must be between 0 and 1440, got {value}" in error_of(text)


@pytest.mark.parametrize("key", ["idle_signout_seconds", "confirm_seconds"])
@pytest.mark.parametrize("value", [0, -3])
def test_kiosk_seconds_positive(key, value):
    msg = error_of(variant(append=f"[kiosk]\n{key} = {value}"))
    assert f"kiosk.{key} must be between 1 and" in msg


def test_kiosk_settings_defaults_and_values():
    kiosk = parse(BASE).kiosk
    assert (kiosk.bell, kiosk.dispatch_reference, kiosk.offline_snapshot_max_age_minutes) == (True, "optional", 60)
    cfg = parse(
        variant(
            append="[kiosk]\nbell = false\ndispatch_reference = \"required\"\noffline_snapshot_max_age_minutes = 10080"
        )
    )
    assert (cfg.kiosk.bell, cfg.kiosk.dispatch_reference, cfg.kiosk.offline_snapshot_max_age_minutes) == (
        False,
        "required",
        10080,
    )
    assert parse(variant(append='[kiosk]\ndispatch_reference = "off"')).kiosk.dispatch_reference == "off"
    repo = load_config(REPO / "config.toml").kiosk
    assert (repo.bell, repo.dispatch_reference, repo.offline_snapshot_max_age_minutes) == (True, "optional", 60)


@pytest.mark.parametrize(
    "line, expected",
    [
        ("bell = 'yes'", "kiosk.bell must be true or false, not string"),
        ("bell = 1", "kiosk.bell must be true or false, not integer"),
        (
            "dispatch_reference = 'always'",
            'kiosk.dispatch_reference must be one of required, optional, off; got "always"',
        ),
        (
            "dispatch_reference = 'Required'",
            'kiosk.dispatch_reference must be one of required, optional, off; got "Required"',
        ),
        ("dispatch_reference = false", "kiosk.dispatch_reference must be a string, not boolean"),
        ("dispatch_reference = ''", "kiosk.dispatch_reference must not be empty"),
        (
            "offline_snapshot_max_age_minutes = 0",
            "kiosk.offline_snapshot_max_age_minutes must be between 1 and 10080, got 0",
        ),
        (
            "offline_snapshot_max_age_minutes = 10081",
            "kiosk.offline_snapshot_max_age_minutes must be between 1 and 10080, got 10081",
        ),
        (
            "offline_snapshot_max_age_minutes = '60'",
            "kiosk.offline_snapshot_max_age_minutes must be an integer, not string",
        ),
        (
            "offline_snapshot_max_age_minutes = 1.5",
            "kiosk.offline_snapshot_max_age_minutes must be an integer, not float",
        ),
        (
            "offline_snapshot_max_age = 60",
            'kiosk.offline_snapshot_max_age: write the age in minutes as "offline_snapshot_max_age_minutes" (1..10080)',
        ),
    ],
)
def test_kiosk_settings_bad_values_give_one_line_naming_the_key(line, expected):
    assert error_of(variant(append=f"[kiosk]\n{line}")) == f"config.toml: {expected}"


def test_kiosk_keys_outside_kiosk_point_to_it():
    msg = error_of(variant(append="[scanner]\nbell = true"))
    assert msg == 'config.toml: unknown key "bell" in [scanner] ("bell" belongs in [kiosk])'


def test_bad_kiosk_setting_exits_2_at_the_command_line(tmp_path, capsys):
    from floorterm.cli import main

    bad = tmp_path / "config.toml"
    bad.write_text(
        (REPO / "config.toml")
        .read_text()
        .replace('dispatch_reference = "optional"', 'dispatch_reference = "sometimes"')
    )
    db = tmp_path / "plant.db"
    assert main(["--config", str(bad), "--db", str(db), "db", "init"]) == 2
    err = capsys.readouterr().err
    assert err == (
        f'floorterm: {bad}: kiosk.dispatch_reference must be one of required, optional, off; got "sometimes"\n'
    )
    assert not db.exists()


@pytest.mark.parametrize(
    "hours, expected",
    [
        ("[4, 4, 72]", "thresholds.ageing_hours must be strictly increasing, but 4 follows 4"),
        ("[24, 4]", "thresholds.ageing_hours must be strictly increasing, but 4 follows 24"),
        ("[0, 4]", "thresholds.ageing_hours item 1 must be a positive number of hours, got 0"),
        ("[-4]", "thresholds.ageing_hours item 1 must be a positive number of hours, got -4"),
        ("[]", "thresholds.ageing_hours must list at least one number of hours"),
    ],
)
def test_ageing_hours(hours, expected):
    assert expected in error_of(variant(append=f"[thresholds]\nageing_hours = {hours}"))


@pytest.mark.parametrize(
    "suffix, ok",
    [
        ('"enter"', True),
        ('"tab"', True),
        ('"#"', True),
        ('"$$$"', True),
        ('"abcd"', False),
        ('""', False),
        ('"\\u0003"', False),
        ('"\\r"', False),
    ],
)
def test_scanner_suffix(suffix, ok):
    text = variant(append=f"[scanner]\nsuffix = {suffix}")
    if ok:
        assert parse(text).scanner.suffix == suffix.strip('"')
    else:
        assert 'scanner.suffix must be "enter", "tab" or 1-3 printable characters' in error_of(text)


def test_scanner_prefix_printable():
    assert "scanner.prefix" in error_of(variant(append='[scanner]\nprefix = "\\u0002"'))
    assert "scanner.prefix" in error_of(variant(append='[scanner]\nprefix = "123456789"'))
    assert parse(variant(append='[scanner]\nprefix = "]C1"')).scanner.prefix == "]C1"


def test_several_problems_are_reported_one_per_line():
    msg = error_of(
        variant(
            ('timezone = "Europe/Berlin"', 'timezone = "Mars/Olympus"'),
            ('kind = "kiosk"', 'kind = "tablet"'),
            prepend="bogus = 1",
        )
    )
    lines = msg.splitlines()
    assert len(lines) == 3
    assert all(line.startswith("config.toml: ") for line in lines)
    assert any("plant.timezone" in line for line in lines)
    assert any('"kind"' in line for line in lines)
    assert any('unknown key "bogus"' in line for line in lines)


def test_broken_stage_does_not_cascade_into_unknown_stage_errors():
    msg = error_of(variant(('kind = "qc"', 'kind = "inspection"')))
    assert msg.count("\n") == 0  # only the kind error, not "routings.standard names unknown stage FQC"


# --------------------------------------------------------------------------- store URL


@pytest.mark.parametrize(
    "url, expected",
    [
        ("data/floorterm.db", "sqlite:///{base}/data/floorterm.db"),
        ("floorterm.db", "sqlite:///{base}/floorterm.db"),
        ("../shared/floorterm.db", "sqlite:///{parent}/shared/floorterm.db"),
        ("/srv/floorterm/store.db", "sqlite:////srv/floorterm/store.db"),
        ("sqlite:///data/x.db", "sqlite:///{base}/data/x.db"),
        ("sqlite:////var/lib/floorterm/x.db", "sqlite:////var/lib/floorterm/x.db"),
        ("sqlite:///:memory:", "sqlite:///:memory:"),
        ("postgresql://ft:secret@db.local:5432/floorterm", "postgresql://ft:secret@db.local:5432/floorterm"),
        ("postgres://ft@db.local/floorterm", "postgresql://ft@db.local/floorterm"),
    ],
)
def test_resolve_store_url(tmp_path, url, expected):
    base = tmp_path / "plant"
    cfg = parse(variant(append=f'[store]\nurl = "{url}"'), base_dir=base)
    assert cfg.store_url == url  # kept as written
    want = expected.format(base=base.as_posix(), parent=tmp_path.as_posix())
    assert cfg.resolve_store_url() == want


@pytest.mark.parametrize("url", ["mysql://x@y/z", "http://example.com/db", "sqlite://relative.db", "sqlite:///"])
def test_store_url_unknown_scheme_or_malformed(url):
    msg = error_of(variant(append=f'[store]\nurl = "{url}"'))
    assert msg.startswith("config.toml: store.url")


def test_store_url_relative_to_config_file_not_cwd(tmp_path, monkeypatch):
    plant = tmp_path / "plant"
    plant.mkdir()
    (plant / "config.toml").write_text(variant(append='[store]\nurl = "sqlite:///db/ft.db"'), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = load_config("../plant/config.toml")
    assert cfg.resolve_store_url() == "sqlite:///" + (plant / "db" / "ft.db").as_posix()
    assert cfg.path == plant / "config.toml"


def test_parse_config_without_base_dir_uses_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = parse(BASE)
    assert cfg.resolve_store_url() == "sqlite:///" + (tmp_path / "data" / "floorterm.db").as_posix()


# --------------------------------------------------------------------------- find_config_path


@pytest.fixture
def places(tmp_path, monkeypatch):
    """Separate cwd, env-named file and user config dir, none existing yet."""
    import platformdirs

    cwd = tmp_path / "cwd"
    cwd.mkdir()
    user_dir = tmp_path / "user" / "floorterm"
    monkeypatch.chdir(cwd)
    monkeypatch.delenv("FLOORTERM_CONFIG", raising=False)
    monkeypatch.setattr(platformdirs, "user_config_path", lambda appname=None, *a, **k: tmp_path / "user" / appname)
    return {"tmp": tmp_path, "cwd": cwd, "user": user_dir}


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(BASE, encoding="utf-8")
    return path


def test_find_config_cli_wins(places, monkeypatch):
    cli = _touch(places["tmp"] / "cli.toml")
    env = _touch(places["tmp"] / "env.toml")
    _touch(places["cwd"] / "config.toml")
    _touch(places["user"] / "config.toml")
    monkeypatch.setenv("FLOORTERM_CONFIG", str(env))
    assert find_config_path(str(cli)) == cli


def test_find_config_env_beats_cwd(places, monkeypatch):
    env = _touch(places["tmp"] / "env.toml")
    _touch(places["cwd"] / "config.toml")
    _touch(places["user"] / "config.toml")
    monkeypatch.setenv("FLOORTERM_CONFIG", str(env))
    assert find_config_path() == env
    assert find_config_path(None) == env


def test_find_config_cwd_beats_user_dir(places):
    here = _touch(places["cwd"] / "config.toml")
    _touch(places["user"] / "config.toml")
    assert find_config_path() == here


def test_find_config_user_dir_last(places):
    user = _touch(places["user"] / "config.toml")
    assert find_config_path() == user


def test_find_config_relative_cli_value_is_made_absolute(places):
    _touch(places["cwd"] / "sub" / "plant.toml")
    found = find_config_path("sub/plant.toml")
    assert found.is_absolute() and found == places["cwd"] / "sub" / "plant.toml"


def test_find_config_missing_cli_file_does_not_fall_back(places):
    _touch(places["cwd"] / "config.toml")
    with pytest.raises(ConfigError, match="--config") as info:
        find_config_path(str(places["tmp"] / "typo.toml"))
    assert "typo.toml" in str(info.value)


def test_find_config_missing_env_file_does_not_fall_back(places, monkeypatch):
    _touch(places["cwd"] / "config.toml")
    monkeypatch.setenv("FLOORTERM_CONFIG", str(places["tmp"] / "gone.toml"))
    with pytest.raises(ConfigError, match="FLOORTERM_CONFIG") as info:
        find_config_path()
    assert "gone.toml" in str(info.value)


def test_find_config_nothing_found_names_what_was_tried(places):
    with pytest.raises(ConfigError) as info:
        find_config_path()
    msg = str(info.value)
    assert str(places["cwd"] / "config.toml") in msg
    assert str(places["user"] / "config.toml") in msg
    assert "FLOORTERM_CONFIG" in msg


# --------------------------------------------------------------------------- shifts


THREE_SHIFTS = """
[[shifts]]
name = "Night"
start = "22:00"
[[shifts]]
name = "Early"
start = "06:00"
[[shifts]]
name = "Late"
start = "14:00"
"""


@pytest.fixture
def shifts_cfg() -> Config:
    return parse(variant(append=THREE_SHIFTS))


def berlin(*args) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return dt.datetime(*args, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)


@pytest.mark.parametrize(
    "local, shift, start_local",
    [
        ((2024, 1, 15, 21, 59), "Late", (2024, 1, 15, 14, 0)),
        ((2024, 1, 15, 22, 0), "Night", (2024, 1, 15, 22, 0)),
        ((2024, 1, 15, 23, 59), "Night", (2024, 1, 15, 22, 0)),
        ((2024, 1, 16, 0, 0), "Night", (2024, 1, 15, 22, 0)),
        ((2024, 1, 16, 0, 1), "Night", (2024, 1, 15, 22, 0)),
        ((2024, 1, 16, 5, 59), "Night", (2024, 1, 15, 22, 0)),
        ((2024, 1, 16, 6, 0), "Early", (2024, 1, 16, 6, 0)),
        ((2024, 1, 1, 1, 0), "Night", (2023, 12, 31, 22, 0)),  # across a year end
    ],
)
def test_shift_at_around_midnight(shifts_cfg, local, shift, start_local):
    name_and_start = shifts_cfg.shift_at(berlin(*local))
    assert name_and_start[0].name == shift
    assert name_and_start[1] == berlin(*start_local)
    assert name_and_start[1].tzinfo == UTC


def test_shift_at_returns_utc_not_local(shifts_cfg):
    # 00:30 UTC in January is 01:30 in Berlin: the Night shift began 21:00 UTC the day before
    shift, start = shifts_cfg.shift_at(dt.datetime(2024, 1, 16, 0, 30, tzinfo=UTC))
    assert shift.name == "Night"
    assert start == dt.datetime(2024, 1, 15, 21, 0, tzinfo=UTC)
    assert start.utcoffset() == dt.timedelta(0)


def test_shift_at_naive_is_utc(shifts_cfg):
    aware = shifts_cfg.shift_at(dt.datetime(2024, 7, 1, 4, 30, tzinfo=UTC))
    naive = shifts_cfg.shift_at(dt.datetime(2024, 7, 1, 4, 30))
    assert aware == naive
    assert aware[0].name == "Early"  # 06:30 CEST
    assert aware[1] == dt.datetime(2024, 7, 1, 4, 0, tzinfo=UTC)


def test_shift_at_across_dst_changes(shifts_cfg):
    # Night shift starting before the spring-forward night is 21:00 UTC (CET) and runs
    # until Early at 06:00 CEST = 04:00 UTC.
    shift, start = shifts_cfg.shift_at(dt.datetime(2024, 3, 31, 3, 59, tzinfo=UTC))
    assert (shift.name, start) == ("Night", dt.datetime(2024, 3, 30, 21, 0, tzinfo=UTC))
    shift, start = shifts_cfg.shift_at(dt.datetime(2024, 3, 31, 4, 0, tzinfo=UTC))
    assert (shift.name, start) == ("Early", dt.datetime(2024, 3, 31, 4, 0, tzinfo=UTC))
    # autumn: Early on 27 Oct 2024 starts 06:00 CET = 05:00 UTC
    shift, start = shifts_cfg.shift_at(dt.datetime(2024, 10, 27, 4, 59, tzinfo=UTC))
    assert (shift.name, start) == ("Night", dt.datetime(2024, 10, 26, 20, 0, tzinfo=UTC))
    shift, start = shifts_cfg.shift_at(dt.datetime(2024, 10, 27, 5, 0, tzinfo=UTC))
    assert (shift.name, start) == ("Early", dt.datetime(2024, 10, 27, 5, 0, tzinfo=UTC))


def test_shift_starting_inside_dst_gap_never_starts_in_the_future():
    cfg = parse(variant(append='[[shifts]]\nname = "A"\nstart = "02:30"\n[[shifts]]\nname = "B"\nstart = "12:00"'))
    t = dt.datetime(2024, 3, 30, 20, 0, tzinfo=UTC)
    previous = None
    while t < dt.datetime(2024, 4, 1, 12, 0, tzinfo=UTC):
        shift, start = cfg.shift_at(t)
        assert start <= t
        assert t - start < dt.timedelta(hours=24)
        if previous is not None and previous[0] != shift:
            assert start > previous[1]  # shifts move forward
        previous = (shift, start)
        t += dt.timedelta(minutes=10)
    # 02:30 does not exist on 31 March in Berlin: shift A starts when the clock jumps
    assert cfg.shift_at(dt.datetime(2024, 3, 31, 1, 10, tzinfo=UTC)) == (
        Shift("A", dt.time(2, 30)),
        dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC),
    )


def test_single_default_shift_covers_the_day():
    cfg = parse(BASE)
    shift, start = cfg.shift_at(dt.datetime(2024, 7, 1, 12, 0, tzinfo=UTC))
    assert shift.name == "Day"
    assert start == dt.datetime(2024, 6, 30, 22, 0, tzinfo=UTC)  # local midnight, CEST


def test_tz_property():
    cfg = parse(BASE)
    assert cfg.tz.key == "Europe/Berlin"


# --------------------------------------------------------------------------- import isolation


def test_import_config_does_not_import_textual_or_drivers():
    code = (
        "import sys, floorterm.config; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'psycopg', 'psycopg2')); "
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_module_public_names():
    for name in (
        "Config",
        "Reason",
        "Stage",
        "Routing",
        "Terminal",
        "Shift",
        "Thresholds",
        "Scanner",
        "KioskSettings",
        "load_config",
        "parse_config",
        "find_config_path",
    ):
        assert hasattr(config_mod, name), name
