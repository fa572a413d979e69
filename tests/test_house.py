"""The house rules, checked in every test run: ruff lint and format, and the layering
contracts of pyproject.toml ([tool.importlinter]) with import-linter."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from conftest import REPO

SOURCES = ["floorterm", "screens", "tests", "dev.py"]
# Modules outside the core contract: the commands and benchmarks that open a screen.
OPENS_SCREENS = {"floorterm.cli", "floorterm.bench.kiosk", "floorterm.bench.board", "floorterm.bench.budgets"}
# Packages placed module by module: some of their modules open a screen, the others are core.
SPLIT_PACKAGES = {"floorterm.bench"}


def tool(name: str) -> list[str]:
    """The command for a dev tool installed beside this Python, or skip saying how to get it."""
    script = Path(sys.executable).with_name(name)
    if script.exists():
        return [str(script)]
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed: `python3 dev.py test` installs the dev tools")
    return [found]


def run(command: list[str], **options) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, **options)


def test_ruff_finds_nothing_to_fix():
    done = run([*tool("ruff"), "check", *SOURCES], cwd=REPO)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_code_is_formatted_by_ruff():
    done = run([*tool("ruff"), "format", "--check", *SOURCES], cwd=REPO)
    assert done.returncode == 0, "run `ruff format`:\n" + done.stdout + done.stderr


def test_every_core_module_is_under_the_layering_contract():
    """A new module in floorterm/ must be placed: in the core contract, or among the screen openers."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["id"] == "core-without-screens")
    modules = {f"floorterm.{p.stem}" for p in (REPO / "floorterm").glob("*.py") if not p.stem.startswith("__")}
    modules |= {f"floorterm.{p.name}" for p in (REPO / "floorterm").iterdir() if (p / "__init__.py").exists()}
    for package in SPLIT_PACKAGES:
        modules.discard(package)
        folder = REPO.joinpath(*package.split("."))
        modules |= {f"{package}.{p.stem}" for p in folder.glob("*.py") if not p.stem.startswith("__")}
    assert modules - OPENS_SCREENS == set(contract["source_modules"])


def test_layering_contracts_hold(tmp_path):
    """lint-imports on the installed layout (screens/ is the package floorterm.screens)."""
    lint = tool("lint-imports")
    tree = tmp_path / "tree"
    shutil.copytree(REPO / "floorterm", tree / "floorterm", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "screens", tree / "floorterm" / "screens", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tree / "pyproject.toml")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = run([*lint, "--no-cache"], cwd=tree, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 kept, 0 broken" in done.stdout


# Writing a model: peewee's write calls on a model class (m.Event.insert(...)), the bulk
# writer's executemany (bulk._insert) and hand-written SQL that changes rows.
MODEL_WRITE = re.compile(
    r"\b(?:m|models)\.[A-Z]\w*\.(?:insert|insert_many|update|delete|create|replace|bulk_create|bulk_update)\("
    r"|\b_insert\(\s*store\s*,\s*m\."
    r"|execute_sql\(\s*f?[\"'](?:INSERT|UPDATE|DELETE)\b",
    re.IGNORECASE,
)
# The ledger, and its two bulk paths (history import for the demo, past entries) that apply
# the same rules; schema changes live in floorterm/migrations.
# confirmations.py writes only an export consumer's cursor (how far the ERP has read), never a
# ledger fact.
WRITERS = {"floorterm/ledger.py", "floorterm/bulk.py", "floorterm/entries_import.py", "floorterm/confirmations.py"}


def test_only_the_ledger_writes():
    """Import contracts cannot say 'only the ledger writes' (readers import the models too): look
    for model writes in every module of the core and the screens."""
    files = [p for p in (REPO / "floorterm").rglob("*.py") if "migrations" not in p.parts]
    files += list((REPO / "screens").rglob("*.py"))
    writing = {str(p.relative_to(REPO)) for p in files if MODEL_WRITE.search(p.read_text(encoding="utf-8"))}
    assert writing <= WRITERS, f"only the ledger writes; found writes in {sorted(writing - WRITERS)}"
    assert "floorterm/ledger.py" in writing  # the pattern still finds the ledger's own writes
