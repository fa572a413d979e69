"""Printing what the floor scans: job cards, operator badges and command sheets.

Three kinds of sheet, each in three formats:

* ``html`` (default): one self-contained file per sheet, barcodes inline as SVG, ``@page``
  size and margins and explicit page breaks, so any browser prints it right.
* ``svg`` / ``png``: one file per printed page, laid out here in millimetres; PNG (300 dpi,
  grey scale) is for label printers and needs Pillow.

Every barcode is Code 128 made by python-barcode from the text of :mod:`floorterm.scan`'s
``encode_*`` functions (job cards carry the bare job number), so what is printed is exactly
what the kiosk parses.  Data is read through :class:`floorterm.queries.Queries` only.

Nothing is written until every page of every sheet has been rendered; then all files are
written under temporary names in the output folder and renamed at the end, so an error
(unknown job, a job number too long for a scannable barcode on the chosen size) leaves the
folder as it was.  ``docs/printing.md`` is the guide for people.

Core code: no Textual.  python-barcode (which loads Pillow when it is installed) is imported
only when something is printed, so importing this module stays cheap for the CLI.
"""

from __future__ import annotations

import html
import io
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from floorterm.clock import to_plant
from floorterm.config import Config, Terminal
from floorterm.errors import FloortermError, InputError
from floorterm.inputs import parse_badge, parse_code, parse_job_number
from floorterm.outfiles import OutputFiles, make_folder
from floorterm.queries import STATUSES, JobCard, OperatorView, Queries
from floorterm.scan import encode_action, encode_badge, encode_qty, encode_reason

__all__ = [
    "FORMATS",
    "SIZES",
    "MODE_SHEETS",
    "PageSize",
    "print_badges",
    "print_cards",
    "print_command",
    "print_commands",
    "select_jobs",
    "terminal_modes",
]

FORMATS = ("html", "svg", "png")
DEFAULT_DPI = 300


@dataclass(frozen=True)
class PageSize:
    name: str
    width: float  # mm
    height: float  # mm
    margin: float  # mm, all four sides

    @property
    def inner_width(self) -> float:
        return self.width - 2 * self.margin

    @property
    def small(self) -> bool:
        return self.width < 150


SIZES: dict[str, PageSize] = {
    "a4": PageSize("a4", 210.0, 297.0, 12.0),
    "letter": PageSize("letter", 215.9, 279.4, 12.7),
    "label-100x150": PageSize("label-100x150", 100.0, 150.0, 4.0),
}

# Bar width (the narrowest bar, "X") in mm: preferred / smallest allowed.  A job card is
# scanned from arm's length with a cheap scanner, so its bars are wide; badges and command
# sheets are scanned close up at the terminal.
CARD_MODULE = (0.6, 0.4)
COMMAND_MODULE = (0.4, 0.33)
BADGE_MODULE = (0.33, 0.25)
QUIET_MODULES = 10  # Code 128 needs a quiet zone of at least 10 X on either side

# What a command sheet offers, per way of recording (the kiosk's modes, see
# floorterm/screens/kiosk_actions.py): the actions with their words, in sheet order, and
# the reason pick-lists the kiosk asks from.  A terminal gets the modes of its stages
# (work and pack steps: "work"; QC: "qc"; the dispatch step: "dispatch"); a stores terminal
# gets "stores".  The actions stay within floorterm.ledger.ROLE_KINDS for the role that
# works there (operator / qc / stores).  Board terminals record nothing: no sheet.
_COMMON = (
    ("NOTE", "Add a note"),
    ("UNDO", "Undo my last entry"),
    ("CANCEL", "Cancel / back"),
    ("ENTER", "OK / confirm"),
    ("SIGNOUT", "Sign out"),
)
_SCRAP = ("SCRAP", "Scrap (when asked: rework or scrap)")
_DELAY = (("DELAY", "Delay: work is held up"), ("RESUME", "Resume after a delay"))
MODE_SHEETS: dict[str, tuple[tuple[tuple[str, str], ...], tuple[str, ...]]] = {
    "work": (
        (
            ("START", "Start work"),
            ("COMPLETE", "Complete: quantity done"),
            ("REJECT", "Reject: quantity rejected"),
            ("REWORK", "Rework or scrap rejected parts"),
            _SCRAP,
            *_DELAY,
            *_COMMON,
        ),
        ("reject", "scrap", "delay"),
    ),
    "qc": (
        (
            ("START", "Start inspection"),
            ("PASS", "Pass: quantity passed"),
            ("FAIL", "Fail: quantity failed"),
            ("REWORK", "Rework or scrap failed parts"),
            _SCRAP,
            *_DELAY,
            *_COMMON,
        ),
        ("qc_fail", "scrap", "delay"),
    ),
    "dispatch": (
        (("COMPLETE", "Dispatch: quantity shipped"), *_DELAY, *_COMMON),
        ("delay",),
    ),
    "stores": (
        (("SCRAP", "Scrap material"), *_COMMON),
        ("material_scrap", "extra_issue"),
    ),
}
REASON_TITLES = {
    "reject": "Reject reasons",
    "qc_fail": "QC fail reasons",
    "scrap": "Scrap reasons",
    "delay": "Delay reasons",
    "material_scrap": "Material scrap reasons",
    "extra_issue": "Extra issue reasons",
}
SHEET_TERMINAL_KINDS = ("kiosk", "qc", "stores")


def terminal_modes(config: Config, terminal: Terminal) -> list[str]:
    """The kiosk modes a terminal records in, in the order of its stages."""
    if terminal.kind == "stores":
        return ["stores"]
    modes: list[str] = []
    for code in terminal.stages:
        kind = config.stage(code).kind
        mode = "qc" if terminal.kind == "qc" or kind == "qc" else "dispatch" if kind == "dispatch" else "work"
        if mode not in modes:
            modes.append(mode)
    return modes


ROLE_WORDS = {
    "operator": "Operator",
    "qc": "QC inspector",
    "stores": "Stores",
    "supervisor": "Supervisor",
    "planner": "Planner",
    "viewer": "Viewer",
}

QUANTITIES = range(1, 11)


# --------------------------------------------------------------------------- barcodes


@dataclass(frozen=True)
class Barcode:
    """One Code 128 symbol, sized: ``text`` is exactly what the scanner will send."""

    text: str
    module: float  # mm, the narrowest bar
    height: float  # mm
    modules: int  # symbol width in modules, without the quiet zones

    @property
    def quiet(self) -> float:
        return QUIET_MODULES * self.module

    @property
    def width(self) -> float:
        """Width on paper including both quiet zones, mm."""
        return (self.modules + 2 * QUIET_MODULES) * self.module


def _symbol_modules(text: str, what: str) -> int:
    from barcode import Code128
    from barcode.errors import BarcodeError

    try:
        # A fresh Code128 per build: python-barcode keeps charset state on the instance.
        return len(Code128(text).build()[0])
    except BarcodeError:
        raise InputError(f"{what}: Code 128 cannot encode {text!r}") from None


def _dot(dpi: int) -> float:
    return 25.4 / dpi


def fit_barcode(
    text: str,
    max_width: float,
    *,
    module: tuple[float, float],
    height: float,
    what: str,
    where: str,
    dpi: int = DEFAULT_DPI,
) -> Barcode:
    """The barcode for ``text`` at the widest bars up to the preferred width that fit
    ``max_width`` mm; InputError naming ``what`` if even the smallest allowed bars do not fit.

    Bar widths are whole printer dots at ``dpi`` so every bar prints the same width.
    """
    prefer, smallest = module
    total = _symbol_modules(text, what) + 2 * QUIET_MODULES
    dot = _dot(dpi)
    least = math.ceil(smallest / dot - 0.5)  # the smallest bar rounded to the nearest dot
    dots = min(round(prefer / dot), int(max_width / total / dot + 1e-9))
    if dots < least:
        raise InputError(
            f"{what} is too long for a barcode that scans well on {where}: it needs {total * least * dot:.0f} mm, "
            f"and {max_width:.0f} mm are available"
        )
    return Barcode(text, dots * dot, height, total - 2 * QUIET_MODULES)


_SVG_HEAD = re.compile(r"^.*?(<svg\b)", re.S)
_SVG_COMMENT = re.compile(r"<!--.*?-->", re.S)


def barcode_svg(bc: Barcode, *, x: float | None = None, y: float | None = None) -> str:
    """The barcode as an ``<svg>`` element from python-barcode's SVGWriter (no XML prolog).

    Sizes are absolute millimetres, so it prints at its real size inline in HTML, and with
    ``x``/``y`` (mm) it nests inside a page SVG that also works in millimetres.
    """
    from barcode import Code128
    from barcode.writer import SVGWriter

    raw = (
        Code128(bc.text, writer=SVGWriter())
        .render(
            {
                "module_width": bc.module,
                "module_height": bc.height,
                "quiet_zone": bc.quiet,
                "write_text": False,
                "margin_top": 0,
                "margin_bottom": 0,
                "compress": True,
                "with_doctype": False,
            }
        )
        .decode("utf-8")
    )
    svg = _SVG_COMMENT.sub("", _SVG_HEAD.sub(r"\1", raw, count=1))
    label = f'role="img" aria-label="barcode {_esc(bc.text)}"'
    where = "" if x is None else f'x="{x:.3f}mm" y="{y:.3f}mm" '
    return svg.replace("<svg ", f'<svg class="bc" {where}{label} ', 1)


def barcode_image(bc: Barcode, dpi: int):
    """The barcode as a Pillow image (python-barcode's ImageWriter), bars exact to the pixel."""
    from barcode import Code128
    from barcode.writer import ImageWriter

    module_px = round(bc.module / _dot(dpi))
    # ImageWriter works in mm and converts with dpi; at dpi 25.4 one "mm" is one pixel, so
    # giving sizes in pixels makes every bar a whole number of pixels (no rounding seams).
    writer = ImageWriter(format="PNG", mode="L", dpi=25.4)
    return Code128(bc.text, writer=writer).render(
        {
            "module_width": module_px,
            "module_height": round(bc.height / _dot(dpi)),
            "quiet_zone": QUIET_MODULES * module_px,
            "write_text": False,
            "margin_top": 0,
            "margin_bottom": 0,
        }
    )


# --------------------------------------------------------------------------- content


@dataclass(frozen=True)
class CardContent:
    card: JobCard
    plant: str
    printed: str
    barcode: Barcode


@dataclass(frozen=True)
class Command:
    words: str
    barcode: Barcode


@dataclass(frozen=True)
class CommandGroup:
    title: str
    columns: int
    items: tuple[Command, ...]


@dataclass(frozen=True)
class CommandSheet:
    terminal: Terminal
    plant: str
    stage_names: str
    groups: tuple[CommandGroup, ...]


@dataclass(frozen=True)
class Badge:
    name: str
    role: str
    badge: str
    barcode: Barcode


BADGE_W, BADGE_H, BADGE_GAP = 85.6, 54.0, 4.0  # ID-1 card size, fits a standard badge holder
COLUMN_GAP = 6.0
CMD_BAR_HEIGHT = 11.0  # at least 15 % of the widest command barcode


def _card_content(queries: Queries, number: str, size: PageSize, dpi: int) -> CardContent:
    card = queries.job_card(number)
    config = queries.config
    bar_height = 15.0 if size.small else 25.0
    # A4 and letter fit any valid job number (32 characters); a label may not.
    where = f"{size.name} (print it on a4 or letter)" if size.small else size.name
    bc = fit_barcode(
        parse_job_number(card.number),
        size.inner_width,
        module=CARD_MODULE,
        height=bar_height,
        what=f"Job {card.number}",
        where=where,
        dpi=dpi,
    )
    printed = to_plant(card.as_of, config.tz).strftime("%Y-%m-%d %H:%M")
    return CardContent(card, config.plant_name, printed, bc)


def _badge_content(op: OperatorView, dpi: int) -> Badge:
    text = encode_badge(op.badge)
    bc = fit_barcode(
        text, BADGE_W - 8, module=BADGE_MODULE, height=12.0, what=f"Badge {op.badge}", where="a badge card", dpi=dpi
    )
    return Badge(op.name, ROLE_WORDS.get(op.role, op.role), op.badge, bc)


def _group(title: str, entries: list[tuple[str, str]], size: PageSize, dpi: int) -> CommandGroup:
    """A group of (words, barcode text) in as many columns (up to 4) as fit its widest barcode at full bar width."""
    inner = size.inner_width
    full = round(COMMAND_MODULE[0] / _dot(dpi)) * _dot(dpi)
    widest = max(_symbol_modules(text, f"Command {text}") for _, text in entries) + 2 * QUIET_MODULES
    columns = next((n for n in (4, 3, 2) if widest * full <= (inner - (n - 1) * COLUMN_GAP) / n), 1)
    cell = (inner - (columns - 1) * COLUMN_GAP) / columns
    items = tuple(
        Command(
            words,
            fit_barcode(
                text,
                cell,
                module=COMMAND_MODULE,
                height=CMD_BAR_HEIGHT,
                what=f"Command {text} ({words})",
                where=size.name,
                dpi=dpi,
            ),
        )
        for words, text in entries
    )
    return CommandGroup(title, columns, items)


def _command_sheet(config: Config, terminal: Terminal, size: PageSize, dpi: int) -> CommandSheet:
    words: dict[str, list[str]] = {}
    lists: list[str] = []
    for mode in terminal_modes(config, terminal):
        actions, reason_kinds = MODE_SHEETS[mode]
        for action, said in actions:
            if said not in words.setdefault(action, []):
                words[action].append(said)
        lists += [kind for kind in reason_kinds if kind not in lists]
    # One barcode per action; a terminal with two modes shows both meanings ("... / ...").
    groups = [_group("Actions", [(" / ".join(said), encode_action(a)) for a, said in words.items()], size, dpi)]
    order = list(REASON_TITLES)
    for kind in sorted(lists, key=order.index):
        reasons = [(r.label, encode_reason(r.code)) for r in config.reasons(kind)]
        groups.append(_group(REASON_TITLES[kind], reasons, size, dpi))
    groups.append(_group("Quantities", [(str(n), encode_qty(n)) for n in QUANTITIES], size, dpi))
    stages = ", ".join(f"{code} {config.stage(code).name}" for code in terminal.stages)
    return CommandSheet(terminal, config.plant_name, stages, tuple(groups))


# --------------------------------------------------------------------------- text helpers

_XML_BAD = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _esc(text: object) -> str:
    """Text for HTML or SVG: markup characters escaped, characters XML forbids removed."""
    return html.escape(_XML_BAD.sub("", str(text)), quote=True)


def _date(value) -> str:
    return value.isoformat() if value else "—"


MONO_ADVANCE = 0.6  # width of one character of a monospace font, in em


def _fit(text: str, width: float, size: float) -> str:
    """Cut ``text`` with '…' so it fits ``width`` mm at font ``size`` mm (monospace)."""
    most = max(1, int(width / (MONO_ADVANCE * size)))
    return text if len(text) <= most else text[: most - 1] + "…"


def _wrap(text: str, width: float, size: float, lines: int) -> list[str]:
    """Break ``text`` into at most ``lines`` lines of ``width`` mm (monospace), '…' if cut."""
    most = max(1, int(width / (MONO_ADVANCE * size)))
    out: list[str] = []
    rest = " ".join(text.split())
    while rest and len(out) < lines:
        if len(rest) <= most:
            out.append(rest)
            rest = ""
            break
        cut = rest.rfind(" ", 0, most + 1)
        cut = cut if cut > 0 else most
        out.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        out[-1] = _fit(out[-1] + " " + rest, width, size)
    return out


# --------------------------------------------------------------------------- HTML

_CSS = """
* { box-sizing: border-box; }
html { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; color: #000; }
body { margin: 0; }
@page { size: %(page)s; margin: %(margin)smm; }
.page { break-after: page; page-break-after: always; }
.page:last-child { break-after: auto; page-break-after: auto; }
@media screen {
  body { background: #ddd; }
  .page { background: #fff; width: %(width)smm; min-height: %(height)smm; padding: %(margin)smm;
          margin: 8mm auto; box-shadow: 0 1mm 4mm rgba(0,0,0,.3); }
}
svg.bc { display: block; }
h1 { font-size: 15pt; margin: 0 0 1mm; }
h2 { font-size: 11pt; margin: 4mm 0 1.5mm; break-after: avoid; page-break-after: avoid; }
.head { display: flex; justify-content: space-between; font-size: 8.5pt; border-bottom: 0.3mm solid #000;
        padding-bottom: 1mm; }
.card .code { display: flex; justify-content: center; margin-top: 4mm; }
.card .number { text-align: center; font: bold %(number)spt/1.15 "DejaVu Sans Mono", "Courier New", monospace;
                margin-bottom: 3mm; }
table { border-collapse: collapse; width: 100%%; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
table.facts th { text-align: left; font-weight: normal; font-size: 8.5pt; color: #333; white-space: nowrap;
                 padding: 0.8mm 2mm 0.8mm 0; width: 1%%; vertical-align: baseline; }
table.facts td { font-size: 11pt; font-weight: bold; padding: 0.8mm 4mm 0.8mm 0; vertical-align: baseline; }
.box { border: 0.6mm solid #000; padding: 1.5mm 2.5mm; margin-top: 3mm; font-size: 10.5pt; }
.box b { margin-right: 2mm; }
table.grid th, table.grid td { border: 0.3mm solid #000; padding: 1mm 1.5mm; text-align: left;
                               vertical-align: top; }
table.grid th { font-size: 8.5pt; background: #eee; }
table.grid td.n { text-align: right; white-space: nowrap; }
table.steps td { height: %(row)smm; }
table.steps .wc { display: block; font-size: 8pt; color: #333; }
.muted { color: #333; font-size: 8.5pt; }
.cmds { display: grid; gap: 3mm %(gap)smm; margin-bottom: 2mm; }
.cmd { break-inside: avoid; page-break-inside: avoid; }
.cmd .words { font-weight: bold; font-size: 11pt; min-height: 1.3em; }
.cmd .note { font: 8pt "DejaVu Sans Mono", "Courier New", monospace; }
.badges { display: grid; grid-template-columns: repeat(%(badge_cols)s, %(bw)smm); gap: %(bgap)smm; }
.badge { width: %(bw)smm; height: %(bh)smm; border: 0.2mm dashed #888; padding: 3mm 4mm; overflow: hidden;
         break-inside: avoid; page-break-inside: avoid; }
.badge .name { font-weight: bold; font-size: 13pt; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.badge .role { font-size: 9pt; margin-bottom: 2mm; }
.badge .plant { font-size: 7pt; color: #333; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.badge .code { font: bold 11pt "DejaVu Sans Mono", "Courier New", monospace; text-align: center; }
.badge svg.bc { margin: 0 auto; }
.nowrap { white-space: nowrap; }
body.small .head { font-size: 6.5pt; }
body.small h1 { font-size: 11pt; }
body.small h2 { font-size: 9pt; margin: 2mm 0 1mm; }
body.small table.facts th { font-size: 6.5pt; }
body.small table.facts td { font-size: 8.5pt; padding-right: 2mm; }
body.small .box { font-size: 7.5pt; margin-top: 1.5mm; padding: 1mm 1.5mm; }
body.small table.grid th { font-size: 6.5pt; }
body.small table.grid th, body.small table.grid td { font-size: 8pt; padding: 0.6mm 1mm; }
body.small table.steps .wc, body.small table.steps .seq { display: none; }
body.small .cmd .words { font-size: 9pt; }
"""


def _html_document(title: str, size: PageSize, body: str, *, badge_cols: int = 2) -> str:
    page = "A4" if size.name == "a4" else "letter" if size.name == "letter" else f"{size.width:g}mm {size.height:g}mm"
    css = _CSS % {
        "page": page,
        "margin": f"{size.margin:g}",
        "width": f"{size.width:g}",
        "height": f"{size.height:g}",
        "number": 22 if size.small else 30,
        "row": 7 if size.small else 9,
        "gap": f"{COLUMN_GAP:g}",
        "badge_cols": badge_cols,
        "bw": f"{BADGE_W:g}",
        "bh": f"{BADGE_H:g}",
        "bgap": f"{BADGE_GAP:g}",
    }
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{_esc(title)}</title>\n<style>{css}</style>\n</head>\n"
        f"<body class=\"{'small' if size.small else 'full'}\">\n{body}</body>\n</html>\n"
    )


def _card_facts(card: JobCard) -> list[list[tuple[str, str]]]:
    """The card's header facts in rows: short ones two to a row, customer and product alone."""
    return [
        [("Order", card.order_ref), ("Quantity", str(card.qty))],
        [("Customer", card.customer)],
        [("Product", card.product)],
        [("Planned start", _date(card.planned_start)), ("Planned end", _date(card.planned_end))],
        [("Priority", str(card.priority)), ("Routing", card.routing)],
    ]


def _card_html(c: CardContent) -> str:
    card = c.card
    rows = []
    for pairs in _card_facts(card):
        span = "" if len(pairs) > 1 else " colspan=\"3\""
        # Short values never break (a date split at its hyphens reads wrong); long ones wrap.
        wrap = "" if span else " class=\"nowrap\""
        cells = "".join(f"<th>{_esc(k)}</th><td{span}{wrap}>{_esc(v or '—')}</td>" for k, v in pairs)
        rows.append(f"<tr>{cells}</tr>")
    steps = "".join(
        f"<tr><td class=\"n seq\">{s.seq}</td><td><b>{_esc(s.stage)}</b> {_esc(s.name)}"
        + (f"<span class=\"wc\">{_esc(s.work_centre)}</span>" if s.work_centre else "")
        + f"</td><td class=\"n\">{card.qty}</td><td></td><td></td><td></td></tr>"
        for s in card.steps
    )
    material = "".join(
        f"<tr><td>{_esc(l.item)}</td><td>{_esc(l.description)}"
        + (f" <span class=\"muted\">(substitute for {_esc(l.substitute_for)})</span>" if l.substitute_for else "")
        + f"</td><td class=\"n\">{l.required} {_esc(l.unit)}</td></tr>"
        for l in card.material
    )
    material_part = (
        "<h2>Material</h2>\n<table class=\"grid material\"><thead><tr><th>Item</th><th>Description</th>"
        f"<th>Required</th></tr></thead><tbody>{material}</tbody></table>\n"
        if card.material
        else "<h2>Material</h2>\n<p class=\"muted\">No material list.</p>\n"
    )
    notes = f"<div class=\"box notes\"><b>Notes</b>{_esc(card.notes)}</div>\n" if card.notes else ""
    inspection = _esc(card.inspection or "no special requirement")
    return (
        f"<section class=\"page card\" data-job=\"{_esc(card.number)}\">\n"
        f"<div class=\"head\"><span>{_esc(c.plant)}</span>"
        f"<span><b>JOB CARD</b> · printed {_esc(c.printed)}</span></div>\n"
        f"<div class=\"code\">{barcode_svg(c.barcode)}</div>\n"
        f"<div class=\"number\">{_esc(card.number)}</div>\n"
        f"<table class=\"facts\">{''.join(rows)}</table>\n"
        f"<div class=\"box inspection\"><b>Inspection</b>{inspection}</div>\n"
        f"{notes}"
        "<h2>Routing</h2>\n<table class=\"grid steps\"><colgroup><col class=\"seq\" style=\"width:6%\">"
        "<col style=\"width:34%\"><col style=\"width:11%\"><col style=\"width:12%\"><col style=\"width:12%\">"
        "<col></colgroup><thead><tr><th class=\"seq\">#</th><th>Stage</th><th>Planned</th><th>Done</th>"
        f"<th>Rejected</th><th>Signature / date</th></tr></thead><tbody>{steps}</tbody></table>\n"
        f"{material_part}"
        "</section>\n"
    )


def _commands_html(sheet: CommandSheet) -> str:
    t = sheet.terminal
    parts = [
        "<section class=\"page commands\">\n",
        f"<div class=\"head\"><span>{_esc(sheet.plant)}</span><span><b>COMMAND SHEET</b></span></div>\n",
        f"<h1>{_esc(t.id)} · {_esc(t.name)}</h1>\n",
        f"<p class=\"muted\">{_esc(t.kind)} terminal · stages {_esc(sheet.stage_names)} · "
        "scan your badge, the job card, then the commands below</p>\n",
    ]
    for group in sheet.groups:
        parts.append(f"<h2>{_esc(group.title)}</h2>\n")
        parts.append(f"<div class=\"cmds\" style=\"grid-template-columns: repeat({group.columns}, 1fr)\">\n")
        for item in group.items:
            note = f"<div class=\"note\">{_esc(item.barcode.text)}</div>"
            parts.append(
                f"<div class=\"cmd\"><div class=\"words\">{_esc(item.words)}</div>"
                f"{barcode_svg(item.barcode)}{note}</div>\n"
            )
        parts.append("</div>\n")
    parts.append("</section>\n")
    return "".join(parts)


def _badge_grid(size: PageSize) -> tuple[int, int]:
    cols = max(1, int((size.inner_width + BADGE_GAP) / (BADGE_W + BADGE_GAP)))
    rows = max(1, int((size.height - 2 * size.margin + BADGE_GAP) / (BADGE_H + BADGE_GAP)))
    return cols, rows


def _badges_html(badges: list[Badge], plant: str, size: PageSize) -> str:
    cols, rows = _badge_grid(size)
    per_page = cols * rows
    pages = []
    for start in range(0, len(badges), per_page):
        cells = "".join(
            f"<div class=\"badge\"><div class=\"plant\">{_esc(plant)}</div>"
            f"<div class=\"name\">{_esc(b.name)}</div><div class=\"role\">{_esc(b.role)}</div>"
            f"{barcode_svg(b.barcode)}<div class=\"code\">{_esc(b.badge)}</div></div>"
            for b in badges[start : start + per_page]
        )
        pages.append(f"<section class=\"page badges-page\"><div class=\"badges\">{cells}</div></section>\n")
    return "".join(pages)


# --------------------------------------------------------------------------- drawn pages (SVG, PNG)


class _SvgPage:
    """A page drawn in millimetres, as an SVG document."""

    def __init__(self, size: PageSize, dpi: int):
        self.size = size
        self.parts: list[str] = []

    def text(
        self, x: float, y: float, s: str, size: float, *, bold: bool = False, anchor: str = "start", grey: bool = False
    ) -> None:
        weight = "font-weight:bold;" if bold else ""
        fill = "#444" if grey else "#000"
        self.parts.append(
            f'<text x="{x:.2f}mm" y="{y:.2f}mm" style="font-size:{size:.2f}mm;{weight}fill:{fill};'
            f'text-anchor:{anchor}">{_esc(s)}</text>'
        )

    def rect(
        self, x: float, y: float, w: float, h: float, *, line: float = 0.3, dashed: bool = False, shaded: bool = False
    ) -> None:
        dash = "stroke-dasharray:1.5mm,1mm;" if dashed else ""
        stroke = f"stroke:#000;stroke-width:{line:.2f}mm;{dash}" if line else ""
        colour = "#e6e6e6" if shaded else "none"
        self.parts.append(
            f'<rect x="{x:.2f}mm" y="{y:.2f}mm" width="{w:.2f}mm" height="{h:.2f}mm" style="fill:{colour};{stroke}"/>'
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, *, width: float = 0.3) -> None:
        self.parts.append(
            f'<line x1="{x1:.2f}mm" y1="{y1:.2f}mm" x2="{x2:.2f}mm" y2="{y2:.2f}mm" '
            f'style="stroke:#000;stroke-width:{width:.2f}mm"/>'
        )

    def barcode(self, x: float, y: float, bc: Barcode) -> None:
        self.parts.append(barcode_svg(bc, x=x, y=y))

    def finish(self) -> bytes:
        w, h = self.size.width, self.size.height
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{w:g}mm" height="{h:g}mm" '
            'style="font-family:\'DejaVu Sans Mono\',\'Courier New\',monospace">\n'
            f'<rect width="100%" height="100%" style="fill:#fff"/>\n' + "\n".join(self.parts) + "\n</svg>\n"
        ).encode("utf-8")


class _PngPage:
    """A page drawn in millimetres, as a grey-scale PNG at ``dpi``."""

    def __init__(self, size: PageSize, dpi: int):
        try:
            from PIL import Image, ImageDraw, ImageFont
        except ImportError:
            raise FloortermError("PNG output needs Pillow: install it with 'pip install pillow'") from None
        from barcode.writer import ImageWriter

        self.size, self.dpi = size, dpi
        self._font_path = ImageWriter().font_path  # DejaVu Sans Mono, shipped with python-barcode
        self._font_module = ImageFont
        self._fonts: dict[int, object] = {}
        self.image = Image.new("L", (self.px(size.width), self.px(size.height)), 255)
        self.draw = ImageDraw.Draw(self.image)

    def px(self, mm: float) -> int:
        return round(mm * self.dpi / 25.4)

    def _font(self, size: float):
        px = max(6, self.px(size))
        if px not in self._fonts:
            self._fonts[px] = self._font_module.truetype(self._font_path, px)
        return self._fonts[px]

    def text(
        self, x: float, y: float, s: str, size: float, *, bold: bool = False, anchor: str = "start", grey: bool = False
    ) -> None:
        font = self._font(size)
        stroke = max(1, self.px(size) // 22) if bold else 0
        fill = 70 if grey else 0
        where = {"start": "ls", "middle": "ms", "end": "rs"}[anchor]
        self.draw.text(
            (self.px(x), self.px(y)), s, font=font, fill=fill, anchor=where, stroke_width=stroke, stroke_fill=fill
        )

    def rect(
        self, x: float, y: float, w: float, h: float, *, line: float = 0.3, dashed: bool = False, shaded: bool = False
    ) -> None:
        box = (self.px(x), self.px(y), self.px(x + w), self.px(y + h))
        if shaded:
            self.draw.rectangle(box, fill=230)
        if not line:
            return
        width = max(1, self.px(line))
        if not dashed:
            self.draw.rectangle(box, outline=0, width=width)
            return
        x0, y0, x1, y1 = box
        step, on = self.px(2.5), self.px(1.5)
        for a in range(x0, x1, step):
            self.draw.line((a, y0, min(a + on, x1), y0), fill=110, width=width)
            self.draw.line((a, y1, min(a + on, x1), y1), fill=110, width=width)
        for b in range(y0, y1, step):
            self.draw.line((x0, b, x0, min(b + on, y1)), fill=110, width=width)
            self.draw.line((x1, b, x1, min(b + on, y1)), fill=110, width=width)

    def line(self, x1: float, y1: float, x2: float, y2: float, *, width: float = 0.3) -> None:
        self.draw.line((self.px(x1), self.px(y1), self.px(x2), self.px(y2)), fill=0, width=max(1, self.px(width)))

    def barcode(self, x: float, y: float, bc: Barcode) -> None:
        self.image.paste(barcode_image(bc, self.dpi), (self.px(x), self.px(y)))

    def finish(self) -> bytes:
        out = io.BytesIO()
        self.image.save(out, format="PNG", dpi=(self.dpi, self.dpi))
        return out.getvalue()


@dataclass
class _Pages:
    """Pages of one sheet being drawn, with a cursor ``y`` that starts a new page when full."""

    size: PageSize
    new_page: Callable[[], object]
    on_new_page: Callable[["_Pages"], None] = lambda pages: None
    pages: list = field(default_factory=list)
    y: float = 0.0

    def __post_init__(self):
        self._start()

    def _start(self) -> None:
        self.pages.append(self.new_page())
        self.y = self.size.margin
        self.on_new_page(self)

    @property
    def page(self):
        return self.pages[-1]

    @property
    def bottom(self) -> float:
        return self.size.height - self.size.margin

    def need(self, height: float) -> bool:
        """Make room for ``height`` mm (new page if it does not fit); True if a page was started."""
        if self.y + height <= self.bottom + 1e-6:
            return False
        self._start()
        return True


def _draw_card(c: CardContent, size: PageSize, new_page: Callable[[], object]) -> list:
    card = c.card
    x0, inner = size.margin, size.inner_width
    x1 = x0 + inner
    small = size.small

    def continued(pages: _Pages) -> None:
        if len(pages.pages) > 1:
            pages.page.text(x0, pages.y + 4, _fit(f"{card.number} · job card continued", inner, 4), 4, bold=True)
            pages.y += 7

    pages = _Pages(size, new_page, continued)
    pg = pages.page
    head = 2.8 if small else 3.2
    right = f"JOB CARD · {c.printed}" if small else f"JOB CARD · printed {c.printed}"
    pg.text(x1, pages.y + head, right, head, bold=True, anchor="end")
    pg.text(x0, pages.y + head, _fit(c.plant, inner - len(right) * MONO_ADVANCE * head - 3, head), head)
    pages.y += head + 1.2
    pg.line(x0, pages.y, x1, pages.y, width=0.25)
    pages.y += 3

    bc = c.barcode
    pg.barcode(x0 + (inner - bc.width) / 2, pages.y, bc)
    pages.y += bc.height + 2.5
    number_size = min(8.0 if small else 12.0, inner / (MONO_ADVANCE * len(card.number)))
    pages.y += number_size * 0.75
    pg.text(x0 + inner / 2, pages.y, card.number, number_size, bold=True, anchor="middle")
    pages.y += 2.5 if small else 4

    # Short facts two to a row, long ones (customer, product) across the page.
    facts = _card_facts(card)
    label_w, label_size, value_size = (21.0, 2.4, 3.2) if small else (27.0, 3.0, 4.2)
    line_h = value_size * 1.3
    for pairs in facts:
        col_w = (inner - (len(pairs) - 1) * COLUMN_GAP) / len(pairs)
        lines = [_wrap(value or "—", col_w - label_w, value_size, 1 if len(pairs) > 1 else 2) for _, value in pairs]
        pages.y += line_h
        for j, ((label, _), wrapped) in enumerate(zip(pairs, lines)):
            x = x0 + j * (col_w + COLUMN_GAP)
            pg.text(x, pages.y, label, label_size, grey=True)
            for k, text in enumerate(wrapped):
                pg.text(x + label_w, pages.y + k * line_h, text, value_size, bold=True)
        pages.y += (max(len(w) for w in lines) - 1) * line_h + (0.6 if small else 1.2)
    pages.y += 2.5

    def boxed(title: str, text: str, lines: int) -> None:
        """A framed paragraph; the title (bold) starts the first line."""
        text_size = 3.0 if small else 3.6
        lead = f"{title}: "
        wrapped = _wrap(lead + text, inner - 5, text_size, lines)
        height = len(wrapped) * text_size * 1.35 + 2.5
        pages.need(height + 2)
        page = pages.page
        page.rect(x0, pages.y, inner, height, line=0.5)
        y = pages.y + 1.2
        for k, line in enumerate(wrapped):
            y += text_size * 1.35
            if k == 0:
                page.text(x0 + 2.5, y - 0.35 * text_size, lead.strip(), text_size, bold=True)
                page.text(
                    x0 + 2.5 + len(lead) * MONO_ADVANCE * text_size, y - 0.35 * text_size, line[len(lead) :], text_size
                )
            else:
                page.text(x0 + 2.5, y - 0.35 * text_size, line, text_size)
        pages.y += height + 2

    boxed("Inspection", card.inspection or "no special requirement", 3)
    if card.notes:
        boxed("Notes", card.notes, 3)

    # Routing: a row per step, with boxes to write in.
    if small:
        widths = [("Stage", 34.0), ("Planned", 13.0), ("Done", 13.0), ("Rejected", 15.0)]
    else:
        widths = [("#", 8.0), ("Stage", 62.0), ("Planned", 20.0), ("Done", 24.0), ("Rejected", 24.0)]
    widths.append(("Sign" if small else "Signature / date", inner - sum(w for _, w in widths)))
    step_h = 6.5 if small else 10.0
    head_h = 5.0
    th_size = 2.5 if small else 3.0

    def table_head(columns: list[tuple[str, float]]) -> None:
        page = pages.page
        top, bottom = pages.y, pages.y + head_h
        page.rect(x0, top, inner, head_h, line=0, shaded=True)
        for a, b, c, d in ((x0, top, x1, top), (x0, bottom, x1, bottom), (x0, top, x0, bottom), (x1, top, x1, bottom)):
            page.line(a, b, c, d)
        x = x0
        for title, w in columns:
            page.text(x + 1.2, pages.y + head_h - 1.5, _fit(title, w - 1.5, th_size), th_size, bold=True)
            x += w
            if x < x1 - 0.1:
                page.line(x, pages.y, x, pages.y + head_h)
        pages.y += head_h

    def section(title: str, columns: list[tuple[str, float]], first_row: float) -> None:
        pages.need(7 + head_h + first_row)
        pages.y += 5
        pages.page.text(x0, pages.y, title, 4.0, bold=True)
        pages.y += 1.5
        table_head(columns)

    def row(columns: list[tuple[str, float]], cells: list[tuple[str, str, bool]], height: float) -> None:
        """cells: (text, small second line, right-aligned)."""
        if pages.need(height):
            table_head(columns)
        page = pages.page
        bottom = pages.y + height
        page.line(x0, pages.y, x0, bottom)
        page.line(x1, pages.y, x1, bottom)
        page.line(x0, bottom, x1, bottom)
        x = x0
        size_1 = 3.0 if small else 3.6
        for (title, w), (text, second, right) in zip(columns, cells):
            if right:
                page.text(x + w - 1.5, pages.y + size_1 + 1.2, _fit(text, w - 2.5, size_1), size_1, anchor="end")
            elif text:
                page.text(x + 1.2, pages.y + size_1 + 1.2, _fit(text, w - 2.5, size_1), size_1)
            if second:
                page.text(x + 1.2, pages.y + height - 1.3, _fit(second, w - 2.5, 2.6), 2.6, grey=True)
            x += w
            if x < x1 - 0.1:
                page.line(x, pages.y, x, pages.y + height)
        pages.y += height

    section("Routing", widths, step_h)
    for s in card.steps:
        stage = f"{s.stage} {s.name}"
        cells = [
            (stage, s.work_centre if step_h >= 9 else "", False),
            (str(card.qty), "", True),
            ("", "", False),
            ("", "", False),
            ("", "", False),
        ]
        if not small:
            cells.insert(0, (str(s.seq), "", True))
        row(widths, cells, step_h)

    mat_cols = [("Item", 26.0 if small else 40.0), ("Description", 0.0), ("Required", 24.0 if small else 32.0)]
    mat_cols[1] = ("Description", inner - mat_cols[0][1] - mat_cols[2][1])
    mat_h = 5.5 if small else 6.5
    if card.material:
        section("Material", mat_cols, mat_h)
        for line in card.material:
            desc = line.description + (f" (substitute for {line.substitute_for})" if line.substitute_for else "")
            row(
                mat_cols, [(line.item, "", False), (desc, "", False), (f"{line.required} {line.unit}", "", True)], mat_h
            )
    else:
        pages.need(10)
        pages.y += 6
        pages.page.text(x0, pages.y, "Material: no material list", 3.4)
    return pages.pages


def _draw_commands(sheet: CommandSheet, size: PageSize, new_page: Callable[[], object]) -> list:
    t = sheet.terminal
    x0, inner = size.margin, size.inner_width
    x1 = x0 + inner

    def continued(pages: _Pages) -> None:
        if len(pages.pages) > 1:
            pages.page.text(x0, pages.y + 4, _fit(f"{t.id} · command sheet continued", inner, 4), 4, bold=True)
            pages.y += 7

    pages = _Pages(size, new_page, continued)
    pg = pages.page
    pg.text(x0, pages.y + 3, _fit(sheet.plant, inner * 0.6, 3), 3)
    pg.text(x1, pages.y + 3, "COMMAND SHEET", 3, bold=True, anchor="end")
    pages.y += 4.2
    pg.line(x0, pages.y, x1, pages.y, width=0.25)
    title_size = 5.0 if size.small else 6.5
    pages.y += title_size + 2
    pg.text(x0, pages.y, _fit(f"{t.id} · {t.name}", inner, title_size), title_size, bold=True)
    pages.y += 5
    pg.text(x0, pages.y, _fit(f"{t.kind} terminal · stages {sheet.stage_names}", inner, 3), 3, grey=True)
    pages.y += 2

    words_size = 3.4 if size.small else 3.8
    for group in sheet.groups:
        cell = (inner - (group.columns - 1) * COLUMN_GAP) / group.columns
        lines = max(len(_wrap(item.words, cell, words_size, 2)) for item in group.items)
        item_h = lines * words_size * 1.25 + 1.2 + CMD_BAR_HEIGHT + 4.6
        pages.need(11 + item_h)
        pages.y += 8
        pages.page.text(x0, pages.y, group.title, 4.5, bold=True)
        pages.y += 1.2
        pages.page.line(x0, pages.y, x1, pages.y, width=0.2)
        pages.y += 1.5
        for start in range(0, len(group.items), group.columns):
            pages.need(item_h)
            page = pages.page
            for k, item in enumerate(group.items[start : start + group.columns]):
                x = x0 + k * (cell + COLUMN_GAP)
                y = pages.y
                for line in _wrap(item.words, cell, words_size, 2):
                    y += words_size * 1.25
                    page.text(x, y - 0.3 * words_size, line, words_size, bold=True)
                y = pages.y + lines * words_size * 1.25 + 1.2
                page.barcode(x, y, item.barcode)
                page.text(x + item.barcode.quiet, y + CMD_BAR_HEIGHT + 2.9, item.barcode.text, 2.5, grey=True)
            pages.y += item_h
    return pages.pages


def _draw_badge(page, x: float, y: float, b: Badge, plant: str) -> None:
    page.rect(x, y, BADGE_W, BADGE_H, line=0.2, dashed=True)
    inner = BADGE_W - 8
    page.text(x + 4, y + 5.5, _fit(plant, inner, 2.4), 2.4, grey=True)
    page.text(x + 4, y + 12.5, _fit(b.name, inner, 5.0), 5.0, bold=True)
    page.text(x + 4, y + 18, _fit(b.role, inner, 3.4), 3.4)
    page.barcode(x + (BADGE_W - b.barcode.width) / 2, y + 22, b.barcode)
    page.text(x + BADGE_W / 2, y + 22 + b.barcode.height + 6, b.badge, 4.5, bold=True, anchor="middle")


def _draw_badges(badges: list[Badge], plant: str, size: PageSize, new_page: Callable[[], object]) -> list:
    cols, rows = _badge_grid(size)
    per_page = cols * rows
    pages = []
    for start in range(0, len(badges), per_page):
        page = new_page()
        for k, b in enumerate(badges[start : start + per_page]):
            r, col = divmod(k, cols)
            _draw_badge(
                page, size.margin + col * (BADGE_W + BADGE_GAP), size.margin + r * (BADGE_H + BADGE_GAP), b, plant
            )
        pages.append(page)
    return pages


# --------------------------------------------------------------------------- files


def _check_choice(value: str, choices: Iterable[str], what: str) -> str:
    choices = tuple(choices)
    if value not in choices:
        raise InputError(f"Unknown {what} {value!r}; choose one of: {', '.join(choices)}")
    return value


def _file_stem(text: str) -> str:
    # Job numbers may hold '/', which no file name can; '+' is never part of a job number,
    # so two jobs can never end up with the same file name.
    return text.replace("/", "+")


def _paged_files(stem: str, ext: str, pages: list) -> dict[str, bytes]:
    if len(pages) == 1:
        return {f"{stem}.{ext}": pages[0].finish()}
    # '~' is in no job number, badge or terminal id: 'card-J-1~2' cannot be another card's name.
    return {f"{stem}~{n}.{ext}": page.finish() for n, page in enumerate(pages, start=1)}


def _page_factory(fmt: str, size: PageSize, dpi: int) -> Callable[[], object]:
    cls = _PngPage if fmt == "png" else _SvgPage
    return lambda: cls(size, dpi)


def _write_files(out: str | os.PathLike[str], files: dict[str, bytes]) -> list[Path]:
    """Write all ``files`` into ``out`` or none: temporary names first, renamed at the end."""
    folder = make_folder(out)
    with OutputFiles() as output:
        for name, data in files.items():
            output.open(folder / name, "wb").write(data)
    return [folder / name for name in files]


class _NothingWritten:
    """Context: a FloortermError raised while rendering says that nothing was written."""

    def __enter__(self):
        return self

    def __exit__(self, kind, err, tb):
        if isinstance(err, FloortermError) and "nothing was written" not in str(err):
            raise type(err)(f"{err}; nothing was written") from err
        return False


# --------------------------------------------------------------------------- public API


def select_jobs(
    queries: Queries, jobs: Sequence[str] = (), *, all_released: bool = False, status: str | None = None
) -> list[str]:
    """Job numbers to print: ``jobs`` as given, then (without repeats) every open job that has
    been released (``all_released``, any status but planned) and every job with ``status``."""
    chosen: list[str] = []
    for number in jobs:
        number = parse_job_number(number)
        if number not in chosen:
            chosen.append(number)
    if status is not None:
        _check_choice(status, STATUSES, "status")
        chosen += [j.number for j in queries.list_jobs(status=status) if j.number not in chosen]
    if all_released:
        chosen += [j.number for j in queries.list_jobs() if j.status != "planned" and j.number not in chosen]
    return chosen


def print_cards(
    queries: Queries,
    jobs: Sequence[str],
    out: str | os.PathLike[str],
    *,
    fmt: str = "html",
    size: str = "a4",
    one_file: bool = False,
    dpi: int = DEFAULT_DPI,
) -> list[Path]:
    """Write a job card per job into ``out``; returns the files written.

    HTML: ``card-<JOB>.html`` per job, or with ``one_file`` all of them in ``cards.html`` (one
    page per job).  SVG/PNG: ``card-<JOB>.png``, or ``card-<JOB>~1.png``, ``~2``... when a
    long routing needs more pages.  A '/' in a job number becomes '+' in the file name.
    Unknown job or a number too long for the size: InputError/DomainError, nothing written.
    """
    _check_choice(fmt, FORMATS, "format")
    page = SIZES[_check_choice(size, SIZES, "size")]
    with _NothingWritten():
        numbers = select_jobs(queries, jobs)
        if not numbers:
            raise InputError("No jobs to print: name the jobs, or use --all-released or --status")
        contents = [_card_content(queries, n, page, dpi) for n in numbers]
        files: dict[str, bytes] = {}
        if fmt == "html":
            if one_file:
                body = "".join(_card_html(c) for c in contents)
                files["cards.html"] = _html_document(f"Job cards ({len(contents)})", page, body).encode("utf-8")
            else:
                for c in contents:
                    doc = _html_document(f"Job card {c.card.number}", page, _card_html(c))
                    files[f"card-{_file_stem(c.card.number)}.html"] = doc.encode("utf-8")
        else:
            for c in contents:
                pages = _draw_card(c, page, _page_factory(fmt, page, dpi))
                files.update(_paged_files(f"card-{_file_stem(c.card.number)}", fmt, pages))
    return _write_files(out, files)


def print_badges(
    queries: Queries,
    out: str | os.PathLike[str],
    *,
    fmt: str = "html",
    size: str = "a4",
    badges: Sequence[str] = (),
    dpi: int = DEFAULT_DPI,
) -> list[Path]:
    """Write a badge per active operator (or only ``badges``) into ``out``.

    HTML: ``badges.html``, badge cards (85.6 x 54 mm) in a grid, cut lines dashed.
    SVG/PNG: ``badges.png`` per page (``badges~2.png``...).  The barcode is ``$B:<badge>``.
    """
    _check_choice(fmt, FORMATS, "format")
    page = SIZES[_check_choice(size, SIZES, "size")]
    with _NothingWritten():
        operators = queries.operators()
        if badges:
            wanted = [parse_badge(b) for b in badges]
            known = {op.badge: op for op in queries.operators(include_disabled=True)}
            missing = [b for b in wanted if b not in known]
            if missing:
                raise InputError(f"Unknown badge {', '.join(missing)}")
            operators = [known[b] for b in dict.fromkeys(wanted)]
        if not operators:
            raise InputError("There are no active operators to print badges for")
        cards = [_badge_content(op, dpi) for op in operators]
        plant = queries.config.plant_name
        if fmt == "html":
            cols, _ = _badge_grid(page)
            doc = _html_document("Operator badges", page, _badges_html(cards, plant, page), badge_cols=cols)
            files = {"badges.html": doc.encode("utf-8")}
        else:
            files = _paged_files("badges", fmt, _draw_badges(cards, plant, page, _page_factory(fmt, page, dpi)))
    return _write_files(out, files)


def print_commands(
    config: Config,
    out: str | os.PathLike[str],
    *,
    terminal: str | None = None,
    fmt: str = "html",
    size: str = "a4",
    dpi: int = DEFAULT_DPI,
) -> list[Path]:
    """Write the command sheet of ``terminal`` (default: every terminal that records) into ``out``.

    One sheet per terminal: ``commands-<ID>.html`` (SVG/PNG: per page, ``commands-<ID>~2.png``).
    """
    _check_choice(fmt, FORMATS, "format")
    page = SIZES[_check_choice(size, SIZES, "size")]
    with _NothingWritten():
        if terminal is not None:
            code = parse_code(terminal, field="terminal id")
            try:
                chosen = [config.terminal(code)]
            except KeyError:
                known = ", ".join(t.id for t in config.terminals) or "none configured"
                raise InputError(f"Unknown terminal {code}; terminals: {known}") from None
            if chosen[0].kind not in SHEET_TERMINAL_KINDS:
                raise InputError(
                    f"Terminal {code} is a {chosen[0].kind}: it records nothing, so it has no command sheet"
                )
        else:
            chosen = [t for t in config.terminals if t.kind in SHEET_TERMINAL_KINDS]
            if not chosen:
                raise InputError("No terminal in the configuration records entries: no command sheets to print")
        files: dict[str, bytes] = {}
        for t in chosen:
            sheet = _command_sheet(config, t, page, dpi)
            if fmt == "html":
                doc = _html_document(f"Command sheet {t.id}", page, _commands_html(sheet))
                files[f"commands-{t.id}.html"] = doc.encode("utf-8")
            else:
                pages = _draw_commands(sheet, page, _page_factory(fmt, page, dpi))
                files.update(_paged_files(f"commands-{t.id}", fmt, pages))
    return _write_files(out, files)


def print_command(args, queries: Queries) -> list[Path]:
    """Run ``floorterm print card|badges|commands`` from its argparse namespace; returns the files written.

    Reads ``args.what`` (card, badges, commands) and, where present, ``jobs``,
    ``all_released``, ``status``, ``one_file``, ``badges``, ``terminal``, ``out``, ``format``
    and ``size``.  The CLI prints the paths; a FloortermError's message is for the person.
    """
    what = args.what
    out = getattr(args, "out", ".") or "."
    fmt = getattr(args, "format", "html") or "html"
    size = getattr(args, "size", "a4") or "a4"
    if what == "card":
        with _NothingWritten():
            numbers = select_jobs(
                queries,
                getattr(args, "jobs", ()) or (),
                all_released=getattr(args, "all_released", False),
                status=getattr(args, "status", None),
            )
            status = getattr(args, "status", None)
            if not numbers and (getattr(args, "all_released", False) or status):
                asked = " or ".join(
                    filter(
                        None,
                        [
                            "--all-released" if getattr(args, "all_released", False) else "",
                            f"--status {status!r}" if status else "",
                        ],
                    )
                )
                raise InputError(f"No jobs match {asked}")
        return print_cards(queries, numbers, out, fmt=fmt, size=size, one_file=getattr(args, "one_file", False))
    if what == "badges":
        return print_badges(queries, out, fmt=fmt, size=size, badges=getattr(args, "badges", ()) or ())
    if what == "commands":
        return print_commands(queries.config, out, terminal=getattr(args, "terminal", None), fmt=fmt, size=size)
    raise InputError(f"Unknown print command {what!r}; choose one of: card, badges, commands")
