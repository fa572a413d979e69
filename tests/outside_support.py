"""A plant with an outside stage (galvanising), built on the repo's config.toml: shared by the
outside-processing and stage-owner tests."""

from __future__ import annotations

from pathlib import Path

from floorterm.config import parse_config

REPO = Path(__file__).resolve().parent.parent

EXTRA = """
[[stages]]
code = "GALV"
name = "Galvanising"
kind = "outside"
work_centre = "Goods out / goods in"
owner = "Purchasing"
supervisor = "S1"
suppliers = ["ZINKO"]

[[suppliers]]
code = "ZINKO"
name = "Zinko Feuerverzinkung"

[[suppliers]]
code = "HEATX"
name = "HeatX Haerterei"

[[terminals]]
id = "GALV-1"
name = "Goods out"
kind = "kiosk"
stages = ["GALV"]
"""


def outside_config_text(extra: str = EXTRA) -> str:
    text = (REPO / "config.toml").read_text()
    marker = "[routings]\n"
    assert marker in text
    text = text.replace(marker, marker + 'galvanised = ["CUT", "WELD", "GALV", "FQC", "PACK", "DISP"]\n', 1)
    return text + extra


def outside_config(extra: str = EXTRA):
    return parse_config(outside_config_text(extra), base_dir=REPO)
