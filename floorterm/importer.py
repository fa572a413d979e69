"""Reading jobs, bills of materials and operators from CSV files (`floorterm jobs import`).

Files are UTF-8 (a byte order mark, as Excel writes for "CSV UTF-8", is fine), with Windows
or Unix line endings. The first line names the columns, in any order; names are not case
sensitive and a space or hyphen counts as an underscore ("Order Ref" = order_ref). The
separator is a comma, or a semicolon or tab when the header line uses that instead (as
Excel does in many European locales). Blank lines are skipped.

jobs.csv - one line per job:

    column          required  meaning
    job             yes       job number: 1-32 of A-Z a-z 0-9 - _ / . (stored upper-case)
    order_ref       column    customer order / ERP reference, may be empty
    customer        column    customer name, may be empty
    product         column    what is made, may be empty
    qty             yes       quantity ordered: a whole number 1..1000000, digits 0-9 only
    planned_start   column    YYYY-MM-DD (or a format of [import.jobs] date_formats), may be empty
    planned_end     column    YYYY-MM-DD, may be empty; not before planned_start. The job
                              is flagged late after this day
    priority        column    1 (most urgent) .. 9, or urgent / high / normal / low (any
                              case: 1 / 3 / 5 / 7); empty = 5
    routing         yes       a routing name from the config's [routings], e.g. standard
    inspection      optional  inspection instructions shown at QC, may be empty
    notes           optional  notes shown on the job card, may be empty

"yes" = the column must be there and every line must have a value; "column" = the column
must be there but a value may be left empty; "optional" = the column may be left out.

materials.csv - the bill of materials, one line per item of a job (optional file):

    job             yes       a job number from jobs.csv
    item            yes       item code: 1-32 of A-Z 0-9 - _ / . (stored upper-case)
    description     column    what the item is, may be empty
    unit            column    unit of measure, e.g. pcs, m, kg; empty = pcs
    required_qty    yes       how many units the job needs: a whole number 1..1000000

operators.csv (`floorterm operators import`):

    badge           yes       the badge code: 1-24 of A-Z a-z 0-9 - _ / .
    name            yes       the person's name as shown on screens
    role            yes       operator, qc, stores, supervisor, planner or viewer

An import is all or nothing: every problem in the files is reported - file, line, column,
the value and what is wrong - and nothing is imported until the files are right. A job
number may appear once in jobs.csv; an item once per job in materials.csv; materials.csv
may only name jobs that are in jobs.csv. Importing the same files again changes nothing.
A job that is already in the store with different data is reported, never overwritten.

An ERP's own names: a `[import.jobs]` (`[import.materials]`, `[import.operators]`) section
of config.toml maps the file's column names to these (`columns = { job = "Work Order" }`),
names columns to skip (`ignore_columns`), adds priority words (`priorities = { rush = 1 }`),
date formats (`date_formats = ["%d.%m.%Y"]`) and role words (`roles = { Werker = "operator" }`).
Messages then name a column the way the file does: "column Quantity (qty)". docs/erp.md.

Control characters (NUL, ESC and the like): a code - job, item, badge, routing, role, a
column name - with one anywhere is refused, since the cell is damaged. Free text (customer,
notes, ...) loses them, escape sequences whole, and the import says which line and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from floorterm.config import Config, ImportSettings
from floorterm.errors import InputError
from floorterm.inputs import (
    clean_text,
    describe_character,
    hidden_character,
    parse_badge,
    parse_code,
    parse_date,
    parse_job_number,
    parse_priority,
    parse_qty,
)
from floorterm.ledger import JobSpec, MaterialSpec
from floorterm.models import ROLES

JOB_COLUMNS = ("job", "order_ref", "customer", "product", "qty", "planned_start", "planned_end", "priority", "routing")
JOB_OPTIONAL_COLUMNS = ("inspection", "notes")
MATERIAL_COLUMNS = ("job", "item", "description", "unit", "required_qty")
OPERATOR_COLUMNS = ("badge", "name", "role")

# Longest value of each free-text field (the store's column sizes).
TEXT_LIMITS = {
    "order_ref": 64,
    "customer": 120,
    "product": 120,
    "inspection": 2000,
    "notes": 2000,
    "description": 120,
    "unit": 16,
    "name": 80,
}

_SHOW_MAX = 40

# Priority words every import understands, in any case; [import.jobs] priorities adds more.
PRIORITY_WORDS = {"urgent": 1, "high": 3, "normal": 5, "low": 7}


@dataclass(frozen=True)
class Row:
    """One data line of a CSV file: its line number and its values by column name."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, said the way the error message prints it."""

    file: str
    line: int | None
    column: str | None
    value: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" line {self.line}"
        if self.column is not None:
            where += f", column {self.column}" if self.line is not None else f" column {self.column}"
        if self.value is not None:
            return f"{where}: {_quote(self.value)} — {self.message}"
        return f"{where}: {self.message}"


def _quote(value: str) -> str:
    """A cell value made safe to show in a message: control characters as '?', long values cut."""
    text = "".join(ch if ch.isprintable() else "?" for ch in value[: _SHOW_MAX + 1])
    if len(text) > _SHOW_MAX:
        text = text[: _SHOW_MAX - 1] + "…"
    return f"'{text}'"


def _header_key(name: str) -> str:
    return "_".join(clean_text(name, max_len=len(name)).lower().replace("-", " ").split())


def _raise(problems: list[Problem]) -> None:
    if problems:
        raise InputError("\n".join(str(p) for p in problems))


def read_rows(
    path: str | Path,
    columns: tuple[str, ...],
    optional: tuple[str, ...] = (),
    problems: list[Problem] | None = None,
    settings: ImportSettings | None = None,
) -> list[Row]:
    """The data lines of a CSV file whose header must hold `columns` (and may hold `optional`).

    Problems with the file itself, its header or a line's number of cells are appended to
    `problems` (or raised as one InputError when no list is given); lines with the wrong
    number of cells are left out of the result. `settings` ([import.KIND] of the config)
    renames the file's columns to floorterm's and names columns to skip; the rows are keyed
    by floorterm's names.
    """
    own = problems is None
    problems = [] if problems is None else problems
    path = Path(path)
    name = path.name
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{name}: file not found ({path})") from None
    except IsADirectoryError:
        raise InputError(f"{name}: is a folder, not a CSV file ({path})") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read it ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            f"{name} line {line}: not UTF-8 text; save the file as 'CSV UTF-8' and import it again"
        ) from None
    first = text.split("\n", 1)[0]
    delimiter = ","
    if "," not in first:
        if ";" in first:
            delimiter = ";"
        elif "\t" in first:
            delimiter = "\t"
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False)
    lines = _numbered(reader)
    try:
        header_line, header = next(lines)
    except StopIteration:
        raise InputError(
            f"{name}: the file is empty; the first line must name the columns: {', '.join(columns)}"
        ) from None
    except csv.Error as exc:
        raise InputError(f"{name} line 1: cannot read the header ({exc})") from None
    renamed = {_header_key(source): target for target, source in (settings.columns if settings else ())}
    skipped = {_header_key(column) for column in (settings.ignore_columns if settings else ())}
    labels = column_labels(settings)
    keys = [renamed.get(_header_key(h), _header_key(h)) for h in header]
    keys = ["" if _header_key(h) in skipped and _header_key(h) not in renamed else k for k, h in zip(keys, header)]
    known = columns + optional
    seen: set[str] = set()
    for key, raw in zip(keys, header):
        if not key and _header_key(raw) in skipped:
            continue  # [import.*] ignore_columns
        hidden = hidden_character(raw)
        if hidden is not None:
            problems.append(
                Problem(
                    name,
                    header_line,
                    None,
                    None,
                    f"the column name {_quote(raw)} has a control character "
                    f"({describe_character(hidden)}); fix the header line",
                )
            )
        elif not key:
            problems.append(Problem(name, header_line, None, None, "the header has an empty column name"))
        elif key not in known:
            names = [labels.get(c, c) for c in known]
            hint = difflib.get_close_matches(key, known, n=1)
            more = f" (did you mean {labels.get(hint[0], hint[0])}?)" if hint else ""
            problems.append(
                Problem(
                    name,
                    header_line,
                    None,
                    None,
                    f"unknown column {_quote(raw.strip())}{more}; the columns are: {', '.join(names)}",
                )
            )
        elif key in seen:
            problems.append(Problem(name, header_line, None, None, f"column {labels.get(key, key)} appears twice"))
        seen.add(key)
    missing = [labels.get(c, c) for c in columns if c not in seen]
    if missing:
        problems.append(
            Problem(
                name, header_line, None, None, f"missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
            )
        )
    rows = []
    try:
        for line, cells in lines:
            if len(cells) != len(keys):
                problems.append(
                    Problem(name, line, None, None, f"{len(cells)} values, but the header has {len(keys)} columns")
                )
                continue
            rows.append(Row(line, {k: v for k, v in zip(keys, cells) if k in known}))
    except csv.Error as exc:
        problems.append(Problem(name, reader.line_num, None, None, f"cannot read this line ({exc})"))
    if own:
        _raise(problems)
    return rows


def column_labels(settings: ImportSettings | None) -> dict[str, str]:
    """How messages name a renamed column: 'Quantity (qty)'; columns not renamed keep their name."""
    return {target: f"{source} ({target})" for target, source in (settings.columns if settings else ())}


def _numbered(reader) -> Iterator[tuple[int, list[str]]]:
    """(first line number, cells) for each CSV record, skipping blank lines."""
    start = 1
    for cells in reader:
        if any(c.strip() for c in cells):
            yield start, cells
        start = reader.line_num + 1


class _Checker:
    """Parses the cells of one file, collecting every problem instead of stopping at the first.

    `row_bad` says whether the current line had a problem (or lacks a required column, which
    is reported once, with the header); call `next_row()` before each line.
    """

    def __init__(
        self,
        file: str,
        problems: list[Problem],
        notices: list[Problem] | None = None,
        labels: dict[str, str] | None = None,
    ):
        self.file = file
        self.problems = problems
        self.notices = notices
        self.labels = labels or {}
        self.row_bad = False

    def next_row(self) -> None:
        self.row_bad = False

    def cell(
        self,
        row: Row,
        column: str,
        parse: Callable[[str], object],
        *,
        required: bool = False,
        optional_column: bool = False,
        default: object = None,
    ):
        value = row.values.get(column)
        if value is None:
            if not optional_column:
                self.row_bad = True
            return default
        if not value.strip():
            if required:
                self.problem(row, column, None, f"empty; every line needs a {column.replace('_', ' ')}")
            return default
        try:
            return parse(value)
        except InputError as exc:
            self.problem(row, column, value, str(exc))
            return default

    def text(self, row: Row, column: str, *, required: bool = False, optional_column: bool = False) -> str:
        """A free-text cell, cleaned; a notice says where control characters were taken out."""
        value = self.cell(row, column, _text(column), required=required, optional_column=optional_column, default="")
        raw = row.values.get(column) or ""
        hidden = hidden_character(raw)
        if hidden is None:
            return value
        if required and not value:
            self.problem(row, column, raw, "has only control characters, which are never stored")
        elif self.notices is not None:
            self.notices.append(
                Problem(
                    self.file,
                    row.line,
                    self.labels.get(column, column),
                    None,
                    f"control characters removed ({describe_character(hidden)})",
                )
            )
        return value

    def problem(self, row: Row, column: str | None, value: str | None, message: str) -> None:
        self.row_bad = True
        self.problems.append(Problem(self.file, row.line, self.labels.get(column, column), value, message))


def _text(column: str) -> Callable[[str], str]:
    return lambda value: clean_text(value, max_len=TEXT_LIMITS[column], field=column.replace("_", " "))


def _plain(parse: Callable[[str], object]) -> Callable[[str], object]:
    """`parse` for a code cell (job, item, badge...), refusing any control character in it.

    The parsers strip control characters at a value's ends, as a scanner's STX/ETX; in a
    file a NUL or ESC means the cell is damaged, and `JOB\\0` must not quietly become `JOB`.
    """

    def parse_plain(value: str):
        hidden = hidden_character(value)
        if hidden is not None:
            raise InputError(f"has a control character ({describe_character(hidden)}); fix this cell in the file")
        return parse(value)

    return parse_plain


def routing_name(value: str, config: Config) -> str:
    """The config's routing called `value` (case does not matter); InputError listing the known ones."""
    text = value.strip()
    parse_code(text, field="routing")  # refuses control characters and odd punctuation
    names = [r.name for r in config.routings]
    if text in names:
        return text
    same = [n for n in names if n.lower() == text.lower()]
    if len(same) == 1:
        return same[0]
    raise InputError(f"unknown routing; the routings are: {', '.join(names)}")


def job_fields(row: Row, config: Config, check: _Checker) -> JobSpec | None:
    """A JobSpec from one line of jobs.csv (or the options of `jobs add`); None if it has problems."""
    check.next_row()
    # Parsed in the documented column order, so the problems of a line come out in that order.
    settings = config.import_settings("jobs")
    number = check.cell(row, "job", _plain(parse_job_number), required=True)
    texts = {c: check.text(row, c) for c in ("order_ref", "customer", "product")}
    qty = check.cell(row, "qty", lambda v: parse_qty(v), required=True)
    start = check.cell(row, "planned_start", lambda v: import_date(v, "planned start", settings.date_formats))
    end = check.cell(row, "planned_end", lambda v: import_date(v, "planned end", settings.date_formats))
    priority = check.cell(row, "priority", lambda v: import_priority(v, settings.priorities), default=5)
    routing = check.cell(row, "routing", _plain(lambda v: routing_name(v, config)), required=True)
    for c in JOB_OPTIONAL_COLUMNS:
        texts[c] = check.text(row, c, optional_column=True)
    if start and end and end < start:
        check.problem(
            row, "planned_end", row.values["planned_end"], f"planned end is before planned start {start.isoformat()}"
        )
    if check.row_bad:
        return None
    return JobSpec(
        number=number, qty=qty, routing=routing, planned_start=start, planned_end=end, priority=priority, **texts
    )


def import_priority(value: str, words: tuple[tuple[str, int], ...] = ()) -> int:
    """A priority 1..9, or a word: urgent / high / normal / low (1 / 3 / 5 / 7) or one of `words`, any case."""
    known = {**PRIORITY_WORDS, **dict(words)}
    word = _header_key(value)
    if word in known:
        return known[word]
    if value.strip().isdigit():
        return parse_priority(value)  # a number out of range: its own message
    try:
        return parse_priority(value)
    except InputError:
        spelled = ", ".join(f"{w} ({n})" for w, n in sorted(known.items(), key=lambda item: item[1]))
        raise InputError(f"Priority must be a whole number from 1 (most urgent) to 9 or a word: {spelled}") from None


def import_date(value: str, field: str, formats: tuple[str, ...] = ()) -> dt.date:
    """A date as YYYY-MM-DD or in one of `formats` (strptime); refused when two formats read it as different days."""
    if not formats:
        return parse_date(value, field=field)
    text = value.strip()
    days = {}
    try:
        days["YYYY-MM-DD"] = parse_date(text, field=field)
    except InputError as exc:
        if "not a real date" in str(exc):
            raise  # written as YYYY-MM-DD, but 2026-02-30: say so, not "use a format"
    unreal = False
    for fmt in formats:
        try:
            days[fmt] = dt.datetime.strptime(text, fmt).date()
        except ValueError as exc:
            unreal = unreal or "out of range" in str(exc)  # 31.11.2026: the form fits, the day does not exist
    found = set(days.values())
    if len(found) == 1:
        return found.pop()
    if not found and unreal:
        raise InputError(f"{field.capitalize()} '{text}' is not a real date")
    if not found:
        raise InputError(f"{field.capitalize()} must be written as YYYY-MM-DD or {' or '.join(formats)}")
    readings = "; ".join(f"{fmt} reads {day.isoformat()}" for fmt, day in days.items())
    raise InputError(f"{field.capitalize()} is ambiguous ({readings}); keep one of these date_formats")


def job_spec(
    values: dict[str, str | None], config: Config, *, source: str = "job", notices: list[str] | None = None
) -> JobSpec:
    """A JobSpec from named values (as `jobs add` has them); InputError naming every bad one.

    `notices` collects, in words, the fields that had control characters removed.
    """
    problems: list[Problem] = []
    removed: list[Problem] = []
    row = Row(0, {k: ("" if v is None else str(v)) for k, v in values.items()})
    for column in JOB_COLUMNS + JOB_OPTIONAL_COLUMNS:
        row.values.setdefault(column, "")
    spec = job_fields(row, config, _Checker(source, problems, removed))
    if notices is not None:
        notices.extend(f"{_OPTION_NAMES.get(p.column, p.column)}: {p.message}" for p in removed)
    if spec is None:
        raise InputError("\n".join(_option_problem(p) for p in problems))
    return spec


def _option_problem(problem: Problem) -> str:
    """One `jobs add` problem: the option and the value as typed, each said once."""
    label = _OPTION_NAMES.get(problem.column, problem.column)
    value = problem.value
    if value is not None and (f"'{value}'" in problem.message or _quote(value) in problem.message):
        value = None  # the message shows the value already
    text = f"{_quote(value)} — {problem.message}" if value is not None else problem.message
    if not label.startswith("--") and problem.message.lower().startswith(label.lower()):
        return text  # "Job number 'J 1' has ...": the message names the field
    return f"{label}: {text}"


# How `jobs add` names the fields in its messages.
_OPTION_NAMES = {"job": "job number", **{c: "--" + c.replace("_", "-") for c in JOB_COLUMNS[1:] + JOB_OPTIONAL_COLUMNS}}


def read_jobs_csv(
    path: str | Path,
    materials_path: str | Path | None = None,
    *,
    config: Config,
    job_exists: Callable[[str], bool] | None = None,
    notices: list[Problem] | None = None,
) -> list[JobSpec]:
    """The jobs of a jobs.csv (and their bill of materials from materials.csv).

    Raises InputError listing every problem in both files, one per line
    ("jobs.csv line 7, column qty: '1e3' — Quantity must be ..."). `job_exists` tells
    whether a job number is already in the store, for a clearer message when
    materials.csv names a job that jobs.csv does not. `notices` collects the cells that had
    control characters removed ("jobs.csv line 4, column notes: control characters removed").
    Each job carries its file name and line (JobSpec.source, .line).
    """
    problems: list[Problem] = []
    name = Path(path).name
    settings = config.import_settings("jobs")
    rows = read_rows(path, JOB_COLUMNS, JOB_OPTIONAL_COLUMNS, problems, settings)
    check = _Checker(name, problems, notices, column_labels(settings))
    specs: dict[str, JobSpec] = {}
    first_line: dict[str, int] = {}
    for row in rows:
        spec = job_fields(row, config, check)
        if spec is None:
            number = _try(parse_job_number, row.values.get("job", ""))
            if number and number not in first_line:
                first_line[number] = row.line  # still catch a later duplicate of a bad line
            continue
        if spec.number in first_line:
            check.problem(
                row, "job", row.values["job"], f"job {spec.number} is already on line {first_line[spec.number]}"
            )
            continue
        first_line[spec.number] = row.line
        specs[spec.number] = replace(spec, source=name, line=row.line)
    if not rows and not problems:
        problems.append(Problem(name, None, None, None, "has a header but no jobs"))

    materials: dict[str, list[MaterialSpec]] = {}
    if materials_path is not None:
        materials = _read_materials(
            Path(materials_path), name, first_line, job_exists, problems, notices, config.import_settings("materials")
        )
    _raise(problems)
    return [
        JobSpec(**{**spec.__dict__, "materials": tuple(materials.get(number, ()))}) for number, spec in specs.items()
    ]


def _read_materials(
    path: Path, jobs_name: str, jobs: dict[str, int], job_exists, problems, notices, settings: ImportSettings
) -> dict:
    name = path.name
    rows = read_rows(path, MATERIAL_COLUMNS, (), problems, settings)
    check = _Checker(name, problems, notices, column_labels(settings))
    out: dict[str, list[MaterialSpec]] = {}
    seen: dict[tuple[str, str], int] = {}
    for row in rows:
        check.next_row()
        number = check.cell(row, "job", _plain(parse_job_number), required=True)
        item = check.cell(row, "item", _plain(lambda v: parse_code(v, field="item")), required=True)
        description = check.text(row, "description")
        unit = check.text(row, "unit") or "pcs"
        required = check.cell(row, "required_qty", lambda v: parse_qty(v, field="required quantity"), required=True)
        if number and number not in jobs:
            if job_exists is not None and job_exists(number):
                check.problem(
                    row,
                    "job",
                    row.values["job"],
                    f"job {number} is already in the store but not in {jobs_name}; a material "
                    "list can only be imported together with its job",
                )
            else:
                check.problem(
                    row,
                    "job",
                    row.values["job"],
                    f"job {number} is not in {jobs_name}" + (" nor in the store" if job_exists is not None else ""),
                )
        if number and item:
            key = (number, item)
            if key in seen:
                check.problem(
                    row, "item", row.values["item"], f"item {item} of job {number} is already on line {seen[key]}"
                )
            else:
                seen[key] = row.line
        if not check.row_bad:
            out.setdefault(number, []).append(
                MaterialSpec(item=item, required=required, description=description, unit=unit)
            )
    return out


def _try(parse, value: str):
    try:
        return parse(value)
    except InputError:
        return None


def read_operators_csv(
    path: str | Path, notices: list[Problem] | None = None, *, config: Config | None = None
) -> list[tuple[str, str, str]]:
    """(badge, name, role) rows of an operators.csv; InputError listing every problem.

    `notices` collects the names that had control characters removed. `config` brings the
    [import.operators] column names and role words.
    """
    problems: list[Problem] = []
    name = Path(path).name
    settings = config.import_settings("operators") if config is not None else ImportSettings("operators")
    rows = read_rows(path, OPERATOR_COLUMNS, (), problems, settings)
    check = _Checker(name, problems, notices, column_labels(settings))
    role_words = dict(settings.roles)
    out = []
    first_line: dict[str, int] = {}
    for row in rows:
        check.next_row()
        badge = check.cell(row, "badge", _plain(parse_badge), required=True)
        person = check.text(row, "name", required=True)
        role = check.cell(row, "role", _plain(lambda v: _role(v, role_words)), required=True)
        if badge and badge in first_line:
            check.problem(row, "badge", row.values["badge"], f"badge {badge} is already on line {first_line[badge]}")
        elif badge:
            first_line[badge] = row.line
        if not check.row_bad:
            out.append((badge, person, role))
    if not rows and not problems:
        problems.append(Problem(name, None, None, None, "has a header but no operators"))
    _raise(problems)
    return out


def _role(value: str, words: dict[str, str] | None = None) -> str:
    role = value.strip().lower()
    if words and _header_key(value) in words:
        return words[_header_key(value)]
    if role not in ROLES:
        more = f" (or the words {', '.join(words)})" if words else ""
        raise InputError(f"unknown role; the roles are: {', '.join(ROLES)}{more}")
    return role


__all__ = [
    "read_jobs_csv",
    "read_operators_csv",
    "job_spec",
    "read_rows",
    "import_date",
    "import_priority",
    "PRIORITY_WORDS",
    "routing_name",
    "Problem",
    "JOB_COLUMNS",
    "JOB_OPTIONAL_COLUMNS",
    "MATERIAL_COLUMNS",
    "OPERATOR_COLUMNS",
    "ROLES",
]
