"""Printing: job cards, badges and command sheets.

Every barcode is checked with a real decoder (zbar's ``zbarimg``): PNG pages are decoded as
printed, and the inline SVG barcodes of the HTML files are drawn bar by bar into images and
decoded too.  Where Chromium is installed, the HTML is also printed to PDF by a real browser
and decoded from there.  Printing only reads, so these tests use the SQLite store only.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import REPO, SUPERVISOR
from fault_harness import small_disk  # noqa: F401 (fixture)
from floorterm import labels
from floorterm.errors import DomainError, InputError, OutputError
from floorterm.inputs import parse_job_number
from floorterm.ledger import ROLE_KINDS, MaterialSpec
from floorterm.scan import parse_scan

ZBARIMG = shutil.which("zbarimg")
ZBAR_SKIP = "zbarimg not found: install Debian's zbar-tools (python3 dev.py test does when it runs as root)"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
PDFTOPPM = shutil.which("pdftoppm")

# What each way of recording must offer, written out here independently of labels.py: the
# issue's lists, plus rework / scrap where the kiosk decides them (work and QC steps).
_COMMON = {"NOTE", "UNDO", "CANCEL", "ENTER", "SIGNOUT"}
SHEETS = {
    "WELD-1": (
        {"START", "COMPLETE", "REJECT", "REWORK", "SCRAP", "DELAY", "RESUME"} | _COMMON,
        ("reject", "scrap", "delay"),
    ),
    "QC-1": ({"START", "PASS", "FAIL", "REWORK", "SCRAP", "DELAY", "RESUME"} | _COMMON, ("qc_fail", "scrap", "delay")),
    "DISP-1": ({"COMPLETE", "DELAY", "RESUME"} | _COMMON, ("delay",)),
    "STORES-1": ({"SCRAP"} | _COMMON, ("material_scrap", "extra_issue")),
}
# The ledger kind an action records at each terminal, to check its role may record it.
ACTION_KIND = {
    "START": "start",
    "COMPLETE": "complete",
    "REJECT": "reject",
    "DELAY": "delay",
    "RESUME": "resume",
    "PASS": "qc_pass",
    "FAIL": "qc_fail",
    "REWORK": "rework",
    "SCRAP": "scrap",
    "NOTE": "note",
}
ACTION_KIND_AT = {"DISP-1": {"COMPLETE": "dispatch"}, "STORES-1": {"SCRAP": "material_scrap"}}
TERMINAL_ROLE = {"WELD-1": "operator", "DISP-1": "operator", "QC-1": "qc", "STORES-1": "stores"}


@pytest.fixture
def store_url(sqlite_url):
    # Printing only reads through Queries (tested on both backends elsewhere): SQLite is enough.
    return sqlite_url


@pytest.fixture
def jobs(make_job):
    """Three jobs: a full one, one with '/' in its number, and a released one."""
    full = make_job(
        "J-1001",
        qty=20,
        order_ref="SO-77812",
        customer="Müller Anlagenbau GmbH",
        product="Bracket welded frame 1200x800",
        planned_start=dt.date(2026, 11, 24),
        planned_end=dt.date(2026, 12, 4),
        priority=3,
        inspection="EN 1090 EXC2: MT 10% of welds",
        release=20,
    )
    slash = make_job("A/77-12", qty=5, routing="sheet_metal")
    other = make_job("J-1003", qty=8, routing="weldment", release=8)
    return [full, slash, other]


# --------------------------------------------------------------------------- decoding helpers


def zbar(paths: list[Path]) -> list[str]:
    """Decode Code 128 in each image with zbarimg, in file order (one line per symbol)."""
    if ZBARIMG is None:
        pytest.skip(ZBAR_SKIP)
    result = subprocess.run(
        [ZBARIMG, "--raw", "-q", "-Sdisable", "-Scode128.enable", *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 4), result.stderr  # 4: no symbol found in some image
    return result.stdout.splitlines()


_BAR = re.compile(r'<rect x="([\d.]+)mm" y="[\d.]+mm" width="([\d.]+)mm" height="[\d.]+mm" style="fill:black;"/>')
_INLINE_SVG = re.compile(r'<svg class="bc"[^>]*aria-label="barcode ([^"]*)"[^>]*>(.*?)</svg>', re.S)


def raster(svg_body: str, path: Path, px_per_mm: int = 12) -> Path:
    """Draw the bars of one python-barcode SVG into a PNG, as a printer would."""
    from PIL import Image, ImageDraw

    bars = [(float(x), float(w)) for x, w in _BAR.findall(svg_body)]
    assert bars, "no bars in the barcode SVG"
    width = max(x + w for x, w in bars) + 20
    image = Image.new("L", (round(width * px_per_mm), 15 * px_per_mm), 255)
    draw = ImageDraw.Draw(image)
    for x, w in bars:
        draw.rectangle((round(x * px_per_mm), 2 * px_per_mm, round((x + w) * px_per_mm) - 1, 13 * px_per_mm), fill=0)
    image.save(path)
    return path


def inline_barcodes(html_text: str, folder: Path) -> list[tuple[str, str]]:
    """(aria label, decoded text) for every inline barcode of an HTML file, in document order."""
    found = _INLINE_SVG.findall(html_text)
    folder.mkdir(exist_ok=True)
    images = [raster(body, folder / f"bc{i}.png") for i, (_, body) in enumerate(found)]
    decoded = zbar(images)
    assert len(decoded) == len(found), "a barcode of the HTML did not decode"
    return [(html_unescape(label), text) for (label, _), text in zip(found, decoded)]


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def expected_commands(config, terminal_id: str) -> collections.Counter:
    """The barcode texts a terminal's sheet must hold, from the config and SHEETS."""
    actions, lists = SHEETS[terminal_id]
    texts = [f"$A:{a}" for a in actions] + [f"$Q:{n}" for n in range(1, 11)]
    texts += [f"$R:{r.code}" for kind in lists for r in config.reasons(kind)]
    return collections.Counter(texts)


# --------------------------------------------------------------------------- PNG: decode everything


def test_card_png_barcode_is_the_job_number(queries, jobs, tmp_path):
    written = labels.print_cards(queries, ["j-1001", "a/77-12"], tmp_path, fmt="png")
    assert [p.name for p in written] == ["card-J-1001.png", "card-A+77-12.png"]
    decoded = zbar(written)
    assert decoded == ["J-1001", "A/77-12"]
    for text, job in zip(decoded, ("J-1001", "A/77-12")):
        scan = parse_scan(text)
        assert scan.kind == "plain" and parse_job_number(scan.value) == job  # what the job prompt runs


def test_card_png_on_a_label_decodes_and_continues_on_a_second_label(queries, jobs, tmp_path):
    written = labels.print_cards(queries, ["J-1001"], tmp_path, fmt="png", size="label-100x150")
    # Nine routing steps and the material list do not fit one 100 x 150 label.
    assert [p.name for p in written] == ["card-J-1001~1.png", "card-J-1001~2.png"]
    assert zbar(written[:1]) == ["J-1001"]
    from PIL import Image

    with Image.open(written[0]) as image:
        assert image.size == (1181, 1772)  # 100 x 150 mm at 300 dpi
        assert round(image.info["dpi"][0]) == 300


def test_badges_png_decode_to_badge_scans_of_active_operators(queries, ledger, tmp_path):
    ledger.set_operator_active("W2", False)
    written = labels.print_badges(queries, tmp_path, fmt="png")
    assert [p.name for p in written] == ["badges.png"]  # 7 badges fit one A4 page
    decoded = zbar(written)
    scans = [parse_scan(text) for text in decoded]
    assert all(s.kind == "badge" for s in scans)
    assert sorted(s.value for s in scans) == sorted(op.badge for op in queries.operators())
    assert "W2" not in {s.value for s in scans}
    assert len(scans) == 7


@pytest.mark.parametrize("terminal_id", ["WELD-1", "QC-1", "DISP-1", "STORES-1"])
def test_command_sheet_png_decodes_to_every_command_of_the_terminal(config, terminal_id, tmp_path):
    written = labels.print_commands(config, tmp_path, terminal=terminal_id, fmt="png")
    assert all(p.name.startswith(f"commands-{terminal_id}") for p in written)
    decoded = zbar(written)
    # zbar reports a symbol once per image even if it is printed twice (the QC sheet has
    # $R:MAT as a scrap and as a delay reason): compare sets here; the HTML test counts.
    assert set(decoded) == set(expected_commands(config, terminal_id))
    kinds = {**ACTION_KIND, **ACTION_KIND_AT.get(terminal_id, {})}
    for text in decoded:
        scan = parse_scan(text)  # never refused: every printed command is one the kiosk knows
        assert scan.kind in ("action", "reason", "qty")
        if scan.kind == "action" and scan.value in kinds:
            assert kinds[scan.value] in ROLE_KINDS[TERMINAL_ROLE[terminal_id]], (terminal_id, scan.value)
        if scan.kind == "qty":
            assert 1 <= scan.value <= 10


def test_command_sheet_png_on_labels_still_decodes(config, tmp_path):
    written = labels.print_commands(config, tmp_path, terminal="STORES-1", fmt="png", size="label-100x150")
    assert len(written) > 1
    assert set(zbar(written)) == set(expected_commands(config, "STORES-1"))


# --------------------------------------------------------------------------- HTML


def test_html_cards_one_page_per_job_with_page_rules(queries, jobs, tmp_path):
    written = labels.print_cards(queries, jobs, tmp_path, one_file=True)
    assert [p.name for p in written] == ["cards.html"]
    text = written[0].read_text("utf-8")
    pages = re.findall(r'<section class="page card" data-job="([^"]+)"', text)
    assert pages == ["J-1001", "A/77-12", "J-1003"]
    assert "@page { size: A4; margin: 12mm; }" in text
    assert ".page { break-after: page; page-break-after: always; }" in text
    assert "break-inside: avoid" in text
    assert "<script" not in text and "<link" not in text and "src=" not in text  # self-contained
    assert [decoded for _, decoded in inline_barcodes(text, tmp_path / "bars")] == ["J-1001", "A/77-12", "J-1003"]


def test_html_card_shows_the_job(queries, make_job, tmp_path):
    make_job(
        "J-1",
        qty=12,
        order_ref="SO-1",
        customer="ACME",
        product="Gate",
        routing="weldment",
        inspection="Visual 100%",
        planned_end=dt.date(2026, 12, 1),
        materials=(MaterialSpec("TUBE-40", 24, "Tube 40x40", "m"),),
    )
    [path] = labels.print_cards(queries, ["J-1"], tmp_path)
    assert path.name == "card-J-1.html"
    text = path.read_text("utf-8")
    for shown in ("SO-1", "ACME", "Gate", "Visual 100%", "2026-12-01", "Tube 40x40", "24 m", "weldment"):
        assert shown in text
    steps = re.findall(r'<tr><td class="n seq">(\d+)</td><td><b>([A-Z]+)</b>', text)
    assert steps == [("1", "CUT"), ("2", "WELD"), ("3", "PAINT"), ("4", "FQC"), ("5", "PACK"), ("6", "DISP")]
    # Each routing row has the planned quantity and three empty boxes to write in.
    assert text.count('<td class="n">12</td><td></td><td></td><td></td></tr>') == 6
    assert len(_INLINE_SVG.findall(text)) == 1


def test_card_barcode_is_big_enough_for_arms_length(queries, jobs, tmp_path):
    [path] = labels.print_cards(queries, ["J-1001"], tmp_path)
    [(_, body)] = _INLINE_SVG.findall(path.read_text("utf-8"))
    bars = [float(w) for _, w in _BAR.findall(body)]
    assert min(bars) >= 0.4  # the narrowest bar, mm
    height = float(re.search(r'height="([\d.]+)mm" style="fill:black', body).group(1))
    assert height >= 20


def test_store_text_is_escaped(queries, make_job, tmp_path):
    make_job("J-X", product="<script>alert(1)</script>", customer='Smith & "Sons" <i>', inspection="a < b > c")
    [html_file] = labels.print_cards(queries, ["J-X"], tmp_path)
    text = html_file.read_text("utf-8")
    assert "<script>" not in text and "<i>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "Smith &amp; &quot;Sons&quot; &lt;i&gt;" in text and "a &lt; b &gt; c" in text
    [svg_file] = labels.print_cards(queries, ["J-X"], tmp_path, fmt="svg")
    root = ET.fromstring(svg_file.read_bytes())  # well-formed XML despite the markup in the data
    shown = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "<script>alert(1)</script>" in shown


def test_badge_html_barcodes_are_badge_scans(queries, ledger, tmp_path):
    [path] = labels.print_badges(queries, tmp_path)
    text = path.read_text("utf-8")
    found = inline_barcodes(text, tmp_path / "bars")
    assert sorted(decoded for _, decoded in found) == sorted(f"$B:{op.badge}" for op in queries.operators())
    assert all(parse_scan(decoded).kind == "badge" for _, decoded in found)
    assert "Wanda Welder" in text and "QC inspector" in text
    assert text.count('<section class="page badges-page">') == 1


def test_command_sheet_html_groups_words_beside_their_barcodes(config, tmp_path):
    [path] = labels.print_commands(config, tmp_path, terminal="WELD-1")
    text = path.read_text("utf-8")
    assert [html_unescape(h) for h in re.findall(r"<h2>([^<]*)</h2>", text)] == [
        "Actions",
        "Reject reasons",
        "Scrap reasons",
        "Delay reasons",
        "Quantities",
    ]
    cells = re.findall(r'<div class="cmd"><div class="words">([^<]*)</div>(<svg.*?</svg>)', text, re.S)
    found = inline_barcodes(text, tmp_path / "bars")
    assert len(cells) == len(found)
    words = {decoded: html_unescape(w) for (w, _), (_, decoded) in zip(cells, found)}
    assert all(label == decoded for label, decoded in found)
    assert collections.Counter(decoded for _, decoded in found) == expected_commands(config, "WELD-1")
    assert words["$R:POR"] == "Weld porosity"
    assert words["$R:CUST"] == "Customer approval pending"
    assert words["$R:SETUP"] == "Machine setup error"  # a scrap reason
    assert words["$A:COMPLETE"].startswith("Complete")
    assert words["$Q:7"] == "7"


def test_dispatch_sheet_says_dispatch(config, tmp_path):
    [path] = labels.print_commands(config, tmp_path, terminal="DISP-1")
    text = path.read_text("utf-8")
    assert '<div class="words">Dispatch: quantity shipped</div>' in text
    assert "Reject reasons" not in text and "$A:REJECT" not in text


@pytest.mark.slow
@pytest.mark.skipif(
    CHROMIUM is None or PDFTOPPM is None,
    reason="needs chromium and pdftoppm (Debian: chromium, poppler-utils) to print HTML for real",
)
def test_browser_prints_one_page_per_job_and_the_barcodes_scan(queries, jobs, tmp_path):
    [path] = labels.print_cards(queries, jobs, tmp_path / "out", one_file=True)
    pdf = tmp_path / "cards.pdf"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--print-to-pdf={pdf}",
            path.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=True,
    )
    subprocess.run([PDFTOPPM, "-r", "300", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) == 3  # one page per job, no stray blank page
    assert zbar(pages) == ["J-1001", "A/77-12", "J-1003"]


# --------------------------------------------------------------------------- SVG pages


def test_svg_card_is_one_page_svg_with_the_barcode(queries, jobs, tmp_path):
    [path] = labels.print_cards(queries, ["J-1001"], tmp_path, fmt="svg")
    data = path.read_text("utf-8")
    root = ET.fromstring(data.encode())
    assert (root.get("width"), root.get("height")) == ("210mm", "297mm")
    [(label, body)] = _INLINE_SVG.findall(data)
    assert label == "J-1001"
    assert zbar([raster(body, tmp_path / "bar.png")]) == ["J-1001"]


# --------------------------------------------------------------------------- choosing jobs


def test_select_jobs(queries, jobs, make_job, ledger):
    planned = make_job("J-2000")
    ledger.start("J-1003", "CUT", actor=SUPERVISOR)
    assert labels.select_jobs(queries, all_released=True) == ["J-1001", "J-1003"]
    assert labels.select_jobs(queries, status="planned") == ["A/77-12", planned]
    assert labels.select_jobs(queries, ["j-1003", "J-1003"], status="in progress") == ["J-1003"]
    assert labels.select_jobs(queries, ["A/77-12"], all_released=True) == ["A/77-12", "J-1001", "J-1003"]
    with pytest.raises(InputError, match="Unknown status 'done'"):
        labels.select_jobs(queries, status="done")


def namespace(what, **options) -> argparse.Namespace:
    return argparse.Namespace(what=what, **options)


def test_print_command_runs_each_sheet(queries, jobs, tmp_path):
    out = tmp_path / "print"
    written = labels.print_command(
        namespace(
            "card", jobs=[], all_released=True, status=None, out=str(out), format="html", size="a4", one_file=False
        ),
        queries,
    )
    assert sorted(p.name for p in written) == ["card-J-1001.html", "card-J-1003.html"]
    written = labels.print_command(namespace("badges", out=str(out), format="svg", size="a4"), queries)
    assert [p.name for p in written] == ["badges.svg"]
    written = labels.print_command(
        namespace("commands", terminal="weld-2", out=str(out), format="html", size="letter"), queries
    )
    assert [p.name for p in written] == ["commands-WELD-2.html"]
    assert "@page { size: letter; margin: 12.7mm; }" in written[0].read_text("utf-8")
    every = labels.print_command(namespace("commands", terminal=None, out=str(out), format="html", size="a4"), queries)
    assert "commands-BOARD-1.html" not in {p.name for p in every}
    assert len(every) == 11


def test_nothing_matching_is_an_error_not_an_empty_folder(queries, jobs, tmp_path):
    with pytest.raises(InputError, match="No jobs match"):
        labels.print_command(namespace("card", jobs=[], status="QC pending", out=str(tmp_path / "o")), queries)
    with pytest.raises(InputError, match="No jobs to print"):
        labels.print_cards(queries, [], tmp_path / "o")
    assert not (tmp_path / "o").exists()


# --------------------------------------------------------------------------- errors: nothing written


def folder_state(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


def test_unknown_job_writes_nothing(queries, jobs, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("earlier print")
    before = folder_state(out)
    with pytest.raises(DomainError) as info:
        labels.print_cards(queries, ["J-1001", "J-9999"], out, fmt="png")
    assert str(info.value) == "No job J-9999; nothing was written"
    assert folder_state(out) == before


def test_job_number_too_long_for_a_label_names_the_job(queries, jobs, make_job, tmp_path):
    long = make_job("JOBNUMBER-ABCDEFGHIJK")  # 21 characters of Code 128 set B
    out = tmp_path / "labels"
    for fmt in labels.FORMATS:
        with pytest.raises(InputError) as info:
            labels.print_cards(queries, ["J-1001", long], out, fmt=fmt, size="label-100x150")
        message = str(info.value)
        assert message.startswith(f"Job {long} is too long for a barcode that scans well on label-100x150")
        assert message.endswith("nothing was written")
        assert not out.exists()
    # The same job fits an A4 card.
    assert [p.name for p in labels.print_cards(queries, [long], out, size="a4")] == [f"card-{long}.html"]


@pytest.mark.parametrize("size", ["a4", "letter"])
def test_the_longest_job_number_fits_a4_and_letter(queries, make_job, tmp_path, size):
    longest = make_job("JOB-" + "ABCDEFGHIJKLMNOPQRSTUVWXYZAB")  # 32 characters, none of them digits
    [path] = labels.print_cards(queries, [longest], tmp_path / "out", fmt="png", size=size)
    assert zbar([path]) == [longest]


def test_text_code_128_cannot_carry_is_refused():
    with pytest.raises(InputError, match="Job J-1é: Code 128 cannot encode 'J-1é'"):
        labels.fit_barcode("J-1é", 100, module=labels.CARD_MODULE, height=20, what="Job J-1é", where="a4")


def test_badge_too_long_for_a_badge_card(queries, ledger, tmp_path):
    ledger.add_operator("OPERATOR-ABCDEFGHIJKLMN", "Long Badge", "operator")  # 23 characters, the limit is 24
    with pytest.raises(InputError, match="Badge OPERATOR-ABCDEFGHIJKLMN is too long"):
        labels.print_badges(queries, tmp_path / "b")
    assert not (tmp_path / "b").exists()
    # Printing only the others works.
    assert labels.print_badges(queries, tmp_path / "b", badges=["w1", "Q1"])[0].name == "badges.html"


def test_bad_choices(config, queries, jobs, tmp_path):
    tmp_path = tmp_path / "out"
    with pytest.raises(InputError, match="Unknown format 'pdf'; choose one of: html, svg, png"):
        labels.print_cards(queries, ["J-1001"], tmp_path, fmt="pdf")
    with pytest.raises(InputError, match="Unknown size 'a3'; choose one of: a4, letter, label-100x150"):
        labels.print_badges(queries, tmp_path, size="a3")
    with pytest.raises(InputError, match="Terminal BOARD-1 is a board: it records nothing"):
        labels.print_commands(config, tmp_path, terminal="BOARD-1")
    with pytest.raises(InputError, match="Unknown terminal NOPE-1; terminals: CUT-1, "):
        labels.print_commands(config, tmp_path, terminal="nope-1")
    with pytest.raises(InputError, match="Unknown badge ZZ9"):
        labels.print_badges(queries, tmp_path, badges=["ZZ9"])
    with pytest.raises(InputError, match="has characters that are not allowed"):
        labels.print_cards(queries, ["J-1001é"], tmp_path)
    assert not tmp_path.exists()


def test_a_disk_that_fills_up_midway_leaves_no_file(queries, jobs, small_disk, tmp_path):
    first, _ = labels.print_cards(queries, ["J-1001", "J-1003"], tmp_path / "probe")
    out = small_disk.folder / "out"
    out.mkdir()
    small_disk.fill(leave=first.stat().st_size)  # room for the first card, not the second
    with pytest.raises(OutputError) as info:
        labels.print_cards(queries, ["J-1001", "J-1003"], out)
    assert str(info.value) == f"Cannot write {out / 'card-J-1003.html'}: No space left on device; nothing was written"
    assert list(out.iterdir()) == []  # not the first card either, nor a temporary file


def test_reprint_replaces_the_file(queries, jobs, tmp_path, clock):
    tmp_path = tmp_path / "out"
    [first] = labels.print_cards(queries, ["J-1001"], tmp_path)
    clock.advance(hours=2)
    [again] = labels.print_cards(queries, ["J-1001"], tmp_path)
    assert again == first and "printed 2026-11-23 10:00" in again.read_text("utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["card-J-1001.html"]  # no temporary files left


# --------------------------------------------------------------------------- core


def test_labels_import_needs_no_textual_and_no_pillow():
    code = (
        "import sys, floorterm.labels; "
        "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'PIL', 'psycopg'))))"
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
