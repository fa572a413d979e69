"""floorterm.importer: jobs, materials and operators CSV files, all problems named, nothing half-read."""

from __future__ import annotations

import datetime as dt

import pytest

from floorterm.errors import InputError
from floorterm.importer import job_spec, read_jobs_csv, read_operators_csv
from floorterm.ledger import MaterialSpec

HEADER = "job,order_ref,customer,product,qty,planned_start,planned_end,priority,routing"


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def problems(func, *args, **kwargs) -> list[str]:
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    return str(info.value).splitlines()


def test_reads_every_column(tmp_path, config):
    jobs = write(
        tmp_path / "jobs.csv",
        HEADER + ",inspection,notes\n"
        "J-1001,PO-77,Acme GmbH,Frame,20,2026-11-02,2026-11-20,3,standard,Check welds,Rush\n"
        "j-1002,,,,5,,,,weldment,,\n",
    )
    specs = read_jobs_csv(jobs, config=config)
    assert [s.number for s in specs] == ["J-1001", "J-1002"]
    first, second = specs
    assert (first.order_ref, first.customer, first.product, first.qty) == ("PO-77", "Acme GmbH", "Frame", 20)
    assert (first.planned_start, first.planned_end) == (dt.date(2026, 11, 2), dt.date(2026, 11, 20))
    assert (first.priority, first.routing, first.inspection, first.notes) == (3, "standard", "Check welds", "Rush")
    assert (second.priority, second.planned_start, second.planned_end, second.materials) == (5, None, None, ())


def test_bom_crlf_semicolons_and_header_spelling(tmp_path, config):
    text = (
        "Job;Order Ref;CUSTOMER;product;qty;planned-start;planned_end;priority;Routing\r\n"
        "J-1;;Müller;Träger;7;;;;Standard\r\n\r\n"
    )
    jobs = write(tmp_path / "jobs.csv", "\ufeff" + text)
    (spec,) = read_jobs_csv(jobs, config=config)
    assert (spec.number, spec.customer, spec.product, spec.qty, spec.routing) == (
        "J-1",
        "Müller",
        "Träger",
        7,
        "standard",
    )


def test_materials_attach_to_their_jobs(tmp_path, config):
    jobs = write(tmp_path / "jobs.csv", HEADER + "\nJ-1,,,,10,,,,standard\nJ-2,,,,4,,,,weldment\n")
    mats = write(
        tmp_path / "materials.csv",
        "job,item,description,unit,required_qty\r\n"
        "J-1,plate-8,Plate 8 mm,,20\r\nJ-1,BOLT-M12,Bolt,pcs,40\r\nJ-2,TUBE,Tube,m,3\r\n",
    )
    specs = {s.number: s for s in read_jobs_csv(jobs, mats, config=config)}
    assert specs["J-1"].materials == (
        MaterialSpec("PLATE-8", 20, "Plate 8 mm", "pcs"),
        MaterialSpec("BOLT-M12", 40, "Bolt", "pcs"),
    )
    assert specs["J-2"].materials == (MaterialSpec("TUBE", 3, "Tube", "m"),)


def test_every_bad_cell_is_named_with_line_and_column(tmp_path, config):
    jobs = write(
        tmp_path / "jobs.csv",
        HEADER + "\n"
        "J-1,,,,10,,,,standard\n"
        "J-2,,,,1e3,,,,standard\n"
        "J-3,,,,٣,,,,standard\n"
        "J-4,,,,5,2026-02-30,14/03/2026,0,standard\n"
        "J-5,,,,5,2026-03-10,2026-03-01,,standard\n"
        "J-6,,,,,,,,\n"
        "$X,,,,-5,,,,standard\n",
    )
    lines = problems(read_jobs_csv, jobs, config=config)
    assert lines == [
        "jobs.csv line 3, column qty: '1e3' — Quantity must be a whole number made of the digits 0-9 only, "
        "like 12 (not '1e3')",
        "jobs.csv line 4, column qty: '٣' — Quantity must be typed with the digits 0-9",
        "jobs.csv line 5, column planned_start: '2026-02-30' — Planned start '2026-02-30' is not a real date",
        "jobs.csv line 5, column planned_end: '14/03/2026' — Planned end must be written as YYYY-MM-DD, "
        "like 2025-03-14 (not '14/03/2026')",
        "jobs.csv line 5, column priority: '0' — Priority must be a whole number from 1 (most urgent) to 9",
        "jobs.csv line 6, column planned_end: '2026-03-01' — planned end is before planned start 2026-03-10",
        "jobs.csv line 7, column qty: empty; every line needs a qty",
        "jobs.csv line 7, column routing: empty; every line needs a routing",
        "jobs.csv line 8, column job: '$X' — Job number '$X' has characters that are not allowed "
        "(only letters, digits, - _ / .)",
        "jobs.csv line 8, column qty: '-5' — Quantity cannot be negative",
    ]


def test_missing_unknown_and_repeated_columns(tmp_path, config):
    jobs = write(tmp_path / "jobs.csv", "job,customer,qty,qty,routng,colour\nJ-1,,5,5,standard,red\n")
    lines = problems(read_jobs_csv, jobs, config=config)
    assert "jobs.csv line 1: column qty appears twice" in lines
    assert any(line.startswith("jobs.csv line 1: unknown column 'routng' (did you mean routing?)") for line in lines)
    assert any(line.startswith("jobs.csv line 1: unknown column 'colour'") for line in lines)
    assert (
        "jobs.csv line 1: missing columns: order_ref, product, planned_start, planned_end, priority, routing" in lines
    )


def test_short_and_long_lines(tmp_path, config):
    jobs = write(tmp_path / "jobs.csv", HEADER + "\nJ-1,,,,5,,,standard\nJ-2,,,,5,,,,standard,extra\n")
    assert problems(read_jobs_csv, jobs, config=config) == [
        "jobs.csv line 2: 8 values, but the header has 9 columns",
        "jobs.csv line 3: 10 values, but the header has 9 columns",
    ]


def test_line_numbers_count_quoted_newlines_and_blank_lines(tmp_path, config):
    jobs = write(tmp_path / "jobs.csv", HEADER + ',notes\n\nJ-1,,,,5,,,,standard,"two\nlines"\nJ-2,,,,x,,,,standard,\n')
    assert problems(read_jobs_csv, jobs, config=config) == [
        "jobs.csv line 5, column qty: 'x' — Quantity must be a whole number made of the digits 0-9 only, "
        "like 12 (not 'x')",
    ]


def test_duplicate_job_numbers_in_the_file(tmp_path, config):
    jobs = write(tmp_path / "jobs.csv", HEADER + "\nJ-1,,,,5,,,,standard\nJ-2,,,,5,,,,standard\nj-1,,,,6,,,,standard\n")
    assert problems(read_jobs_csv, jobs, config=config) == [
        "jobs.csv line 4, column job: 'j-1' — job J-1 is already on line 2",
    ]


def test_unknown_routing_lists_the_known_ones(tmp_path, config):
    jobs = write(tmp_path / "jobs.csv", HEADER + "\nJ-1,,,,5,,,,welded\n")
    (line,) = problems(read_jobs_csv, jobs, config=config)
    assert line == (
        "jobs.csv line 2, column routing: 'welded' — unknown routing; the routings are: standard, "
        "no_machining, sheet_metal, weldment, machined_part"
    )


def test_materials_problems(tmp_path, config):
    jobs = write(tmp_path / "jobs.csv", HEADER + "\nJ-1,,,,5,,,,standard\n")
    mats = write(
        tmp_path / "materials.csv",
        "job,item,description,unit,required_qty\n"
        "J-1,PLATE,,,2\nJ-1,plate,,,3\nJ-9,BOLT,,,1\nJ-OLD,BOLT,,,1\nJ-1,BOLT,,,1.5\n",
    )
    lines = problems(read_jobs_csv, jobs, mats, config=config, job_exists=lambda number: number == "J-OLD")
    assert lines == [
        "materials.csv line 3, column item: 'plate' — item PLATE of job J-1 is already on line 2",
        "materials.csv line 4, column job: 'J-9' — job J-9 is not in jobs.csv nor in the store",
        "materials.csv line 5, column job: 'J-OLD' — job J-OLD is already in the store but not in jobs.csv; "
        "a material list can only be imported together with its job",
        "materials.csv line 6, column required_qty: '1.5' — Required quantity must be a whole number made of the "
        "digits 0-9 only, like 12 (not '1.5')",
    ]


def test_problems_in_both_files_come_together(tmp_path, config):
    jobs = write(tmp_path / "jobs.csv", HEADER + "\nJ-1,,,,zero,,,,standard\n")
    mats = write(tmp_path / "materials.csv", "job,item,unit,required_qty\nJ-1,PLATE,,2\n")
    lines = problems(read_jobs_csv, jobs, mats, config=config)
    assert lines[0].startswith("jobs.csv line 2, column qty: 'zero'")
    assert lines[1] == "materials.csv line 1: missing column: description"


def test_file_level_problems(tmp_path, config):
    assert problems(read_jobs_csv, tmp_path / "nope.csv", config=config)[0].startswith("nope.csv: file not found")
    empty = write(tmp_path / "empty.csv", "")
    assert problems(read_jobs_csv, empty, config=config)[0].startswith("empty.csv: the file is empty")
    header_only = write(tmp_path / "jobs.csv", HEADER + "\n")
    assert problems(read_jobs_csv, header_only, config=config) == ["jobs.csv: has a header but no jobs"]
    latin1 = write(tmp_path / "latin.csv", HEADER + "\nJ-1,,Müller,,5,,,,standard\n", encoding="latin-1")
    assert problems(read_jobs_csv, latin1, config=config) == [
        "latin.csv line 2: not UTF-8 text; save the file as 'CSV UTF-8' and import it again"
    ]


def test_control_characters_are_cleaned_and_quoted_safely(tmp_path, config):
    jobs = write(
        tmp_path / "jobs.csv", HEADER + "\nJ-1,,\x1b[31mAcme\x1b[0m,[red]X,5,,,,standard\nJ-2,,,,\x1b[2J,,,,standard\n"
    )
    lines = problems(read_jobs_csv, jobs, config=config)
    assert lines == [
        "jobs.csv line 3, column qty: '?[2J' — Quantity must be a whole number made of the digits 0-9 "
        "only, like 12 (not '?[2J')"
    ]
    jobs.write_text(HEADER + "\nJ-1,,\x1b[31mAcme\x1b[0m,[red]X,5,,,,standard\n")
    (spec,) = read_jobs_csv(jobs, config=config)
    assert (spec.customer, spec.product) == ("Acme", "[red]X")


def test_control_characters_in_codes_are_refused_with_line_and_column(tmp_path, config):
    """A NUL or ESC in a job number, item, badge or routing means a damaged cell: never stripped to 'JOB'."""
    jobs = write(
        tmp_path / "jobs.csv",
        HEADER + "\nJOB\x00,,,,5,,,,standard\nJ-2,,,,5,,,,standard\x1b\n\x1b[1mJ-3,,,,5,,,,standard\n",
    )
    mats = write(tmp_path / "bom.csv", "job,item,description,unit,required_qty\nJ-2,PLATE\u200b,,,2\n")
    assert problems(read_jobs_csv, jobs, mats, config=config) == [
        "jobs.csv line 2, column job: 'JOB?' — has a control character (U+0000 NUL); fix this cell in the file",
        "jobs.csv line 3, column routing: 'standard?' — has a control character (U+001B ESC); fix this cell in "
        "the file",
        "jobs.csv line 4, column job: '?[1mJ-3' — has a control character (U+001B ESC); fix this cell in the file",
        "bom.csv line 2, column item: 'PLATE?' — has a control character (U+200B ZERO WIDTH SPACE); fix this cell "
        "in the file",
    ]
    header = write(tmp_path / "jobs.csv", HEADER.replace("qty", "qty\x00") + "\nJ-1,,,,5,,,,standard\n")
    assert problems(read_jobs_csv, header, config=config) == [
        "jobs.csv line 1: the column name 'qty?' has a control character (U+0000 NUL); fix the header line"
    ]
    operators = write(
        tmp_path / "operators.csv",
        "badge,name,role\nW1\x00,Wanda,operator\nW2,Walt,operator\x07\nW3,\x1b[0m,operator\n",
    )
    assert problems(read_operators_csv, operators) == [
        "operators.csv line 2, column badge: 'W1?' — has a control character (U+0000 NUL); fix this cell in the file",
        "operators.csv line 3, column role: 'operator?' — has a control character (U+0007 BEL); fix this cell in "
        "the file",
        "operators.csv line 4, column name: '?[0m' — has only control characters, which are never stored",
    ]
    # Spaces and tabs around a code are only trimmed, as ever.
    fine = write(tmp_path / "jobs.csv", HEADER + "\n J-1\t,,,,5,,,,standard\n")
    assert [s.number for s in read_jobs_csv(fine, config=config)] == ["J-1"]


def test_control_characters_removed_from_text_are_noticed(tmp_path, config):
    jobs = write(
        tmp_path / "jobs.csv",
        HEADER + ",notes\nJ-1,,\x1b[31mAcme\x1b[0m,Frame,5,,,,standard,Rush\n"
        "J-2,,Beta,,5,,,,standard,see \x1b]0;pwned\x07drawing\n",
    )
    mats = write(tmp_path / "bom.csv", "job,item,description,unit,required_qty\nJ-2,PLATE,Plate\x00 8,,2\n")
    notices = []
    first, second = read_jobs_csv(jobs, mats, config=config, notices=notices)
    assert (first.customer, second.notes, second.materials[0].description) == ("Acme", "see drawing", "Plate 8")
    assert [str(n) for n in notices] == [
        "jobs.csv line 2, column customer: control characters removed (U+001B ESC)",
        "jobs.csv line 3, column notes: control characters removed (U+001B ESC)",
        "bom.csv line 2, column description: control characters removed (U+0000 NUL)",
    ]
    operators = write(tmp_path / "operators.csv", "badge,name,role\nW1,Wanda\x1b[0m,operator\n")
    notices = []
    assert read_operators_csv(operators, notices) == [("W1", "Wanda", "operator")]
    assert [str(n) for n in notices] == ["operators.csv line 2, column name: control characters removed (U+001B ESC)"]
    typed = []
    spec = job_spec({"job": "J-7", "qty": "1", "routing": "standard", "notes": "\x1b[2Jhello"}, config, notices=typed)
    assert (spec.notes, typed) == ("hello", ["--notes: control characters removed (U+001B ESC)"])


def test_each_job_knows_its_file_and_line(tmp_path, config):
    jobs = write(
        tmp_path / "erp-jobs.csv",
        HEADER + "\nJ-1,,,,5,,,,standard\n\n\"J-2\",,\"two\nlines\",,5,,,,standard\nJ-3,,,,5,,,,standard\n",
    )
    assert [(s.number, s.origin) for s in read_jobs_csv(jobs, config=config)] == [
        ("J-1", "erp-jobs.csv line 2"),
        ("J-2", "erp-jobs.csv line 4"),
        ("J-3", "erp-jobs.csv line 6"),
    ]


def test_job_spec_names_the_options(config):
    spec = job_spec({"job": "j-7", "qty": "12", "routing": "weldment", "priority": ""}, config)
    assert (spec.number, spec.qty, spec.routing, spec.priority) == ("J-7", 12, "weldment", 5)
    lines = problems(job_spec, {"job": "J-7", "qty": "1e3", "routing": "x", "planned_end": "tomorrow"}, config)
    # A message that shows the value already does not get it again in front (issue 13, item 8).
    assert lines[0] == "--qty: Quantity must be a whole number made of the digits 0-9 only, like 12 (not '1e3')"
    assert lines[1] == "--planned-end: Planned end must be written as YYYY-MM-DD, like 2025-03-14 (not 'tomorrow')"
    assert lines[2].startswith("--routing: 'x' — unknown routing")


def test_operators_csv(tmp_path):
    good = write(tmp_path / "operators.csv", "\ufeffbadge,name,role\r\nw1,Wanda Welder,operator\r\nQ1,Quinn,QC\r\n")
    assert read_operators_csv(good) == [("W1", "Wanda Welder", "operator"), ("Q1", "Quinn", "qc")]
    bad = write(tmp_path / "operators.csv", "badge,name,role\nW1,Wanda,operator\nw1,Walt,operator\nX2,,boss\n")
    assert problems(read_operators_csv, bad) == [
        "operators.csv line 3, column badge: 'w1' — badge W1 is already on line 2",
        "operators.csv line 4, column name: empty; every line needs a name",
        "operators.csv line 4, column role: 'boss' — unknown role; the roles are: operator, qc, stores, "
        "supervisor, planner, viewer",
    ]
    missing = write(tmp_path / "operators.csv", "badge,name\nW1,Wanda\n")
    assert problems(read_operators_csv, missing) == ["operators.csv line 1: missing column: role"]


# -- ERP files as they come: priority words, [import.*] column names and date formats ---------

ERP_SECTION = """
[import.jobs]
ignore_columns = ["Plant", "Status"]
priorities = { Eilt = 1, "sehr hoch" = 2 }
date_formats = ["%d.%m.%Y"]

[import.jobs.columns]
job = "Work Order"
order_ref = "Sales Order"
customer = "Customer"
product = "Material Text"
qty = "Quantity"
planned_start = "Start"
planned_end = "Due Date"
priority = "Prio"
routing = "Routing"

[import.materials]
columns = { job = "Work Order", item = "Component", description = "Text", unit = "UoM", required_qty = "Req Qty" }

[import.operators]
columns = { badge = "Personnel No", name = "Name", role = "Function" }
roles = { Werker = "operator", "Prüfer" = "qc" }
"""
ERP_HEADER = "Work Order;Plant;Sales Order;Customer;Material Text;Quantity;Start;Due Date;Prio;Routing;Status"


def erp_config(extra: str = ERP_SECTION):
    from conftest import REPO
    from floorterm.config import parse_config

    return parse_config((REPO / "config.toml").read_text(encoding="utf-8") + extra, base_dir=REPO)


def test_priority_words_work_out_of_the_box(tmp_path, config):
    jobs = write(
        tmp_path / "jobs.csv",
        HEADER + "\nJ-1,,,,1,,,URGENT,standard\nJ-2,,,,1,,,High,standard\nJ-3,,,,1,,,normal,standard\n"
        "J-4,,,,1,,,low,standard\nJ-5,,,,1,,,,standard\nJ-6,,,,1,,,2,standard\n",
    )
    assert [s.priority for s in read_jobs_csv(jobs, config=config)] == [1, 3, 5, 7, 5, 2]
    bad = write(tmp_path / "jobs.csv", HEADER + "\nJ-1,,,,1,,,asap,standard\n")
    assert problems(read_jobs_csv, bad, config=config) == [
        "jobs.csv line 2, column priority: 'asap' — Priority must be a whole number from 1 (most urgent) to 9 "
        "or a word: urgent (1), high (3), normal (5), low (7)"
    ]


def test_an_erp_export_read_through_import_jobs(tmp_path):
    config = erp_config()
    jobs = write(
        tmp_path / "jobs.csv",
        ERP_HEADER + "\n"
        "4711;W2;SO-1;Acme;Frame;20;02.11.2026;20.11.2026;eilt;Standard;REL\n"
        "4712;W2;SO-2;Acme;Beam;5;2026-11-03;;Sehr-Hoch;weldment;REL\n"
        "4713;W2;;;Plate;7;;;LOW;standard;CRTD\n",
    )
    mats = write(tmp_path / "bom.csv", "Work Order,Component,Text,UoM,Req Qty\n4711,PLATE-8,Plate,pcs,40\n")
    specs = read_jobs_csv(jobs, mats, config=config)
    assert [(s.number, s.order_ref, s.product, s.qty, s.priority, s.routing) for s in specs] == [
        ("4711", "SO-1", "Frame", 20, 1, "standard"),
        ("4712", "SO-2", "Beam", 5, 2, "weldment"),
        ("4713", "", "Plate", 7, 7, "standard"),
    ]
    assert (specs[0].planned_start, specs[0].planned_end) == (dt.date(2026, 11, 2), dt.date(2026, 11, 20))
    assert specs[1].planned_start == dt.date(2026, 11, 3)  # YYYY-MM-DD always works
    assert specs[0].materials == (MaterialSpec("PLATE-8", 40, "Plate", "pcs"),)


def test_a_mapped_file_that_does_not_fit_names_its_own_columns(tmp_path):
    config = erp_config()
    jobs = write(
        tmp_path / "jobs.csv",
        ERP_HEADER + "\n4711;W2;;;;1e3;31.11.2026;;soon;standard;\n4712;W2;;;;5;;11/20/2026;;standard;\n",
    )
    assert problems(read_jobs_csv, jobs, config=config) == [
        "jobs.csv line 2, column Quantity (qty): '1e3' — Quantity must be a whole number made of the digits 0-9 "
        "only, like 12 (not '1e3')",
        "jobs.csv line 2, column Start (planned_start): '31.11.2026' — Planned start '31.11.2026' is not a real date",
        "jobs.csv line 2, column Prio (priority): 'soon' — Priority must be a whole number from 1 (most urgent) "
        "to 9 or a word: urgent (1), eilt (1), sehr_hoch (2), high (3), normal (5), low (7)",
        "jobs.csv line 3, column Due Date (planned_end): '11/20/2026' — Planned end must be written as "
        "YYYY-MM-DD or %d.%m.%Y",
    ]
    no_qty = write(tmp_path / "jobs.csv", ERP_HEADER.replace("Quantity", "Menge") + "\n1;;;;;5;;;;standard;\n")
    lines = problems(read_jobs_csv, no_qty, config=config)
    assert "jobs.csv line 1: missing column: Quantity (qty)" in lines
    assert any(line.startswith("jobs.csv line 1: unknown column 'Menge'") for line in lines)


def test_two_date_formats_that_read_a_date_two_ways_refuse_it(tmp_path):
    config = erp_config('\n[import.jobs]\ndate_formats = ["%d/%m/%Y", "%m/%d/%Y"]\n')
    jobs = write(tmp_path / "jobs.csv", HEADER + "\nJ-1,,,,1,13/04/2026,03/04/2026,,standard\n")
    assert problems(read_jobs_csv, jobs, config=config) == [
        "jobs.csv line 2, column planned_end: '03/04/2026' — Planned end is ambiguous (%d/%m/%Y reads "
        "2026-04-03; %m/%d/%Y reads 2026-03-04); keep one of these date_formats"
    ]


def test_operators_with_their_erp_names(tmp_path):
    config = erp_config()
    people = write(
        tmp_path / "people.csv", "Personnel No,Name,Function\n1001,Anna Berg,Werker\n1002,Otto Kern,prüfer\n"
    )
    assert read_operators_csv(people, config=config) == [
        ("1001", "Anna Berg", "operator"),
        ("1002", "Otto Kern", "qc"),
    ]
    bad = write(tmp_path / "people.csv", "Personnel No,Name,Function\n1001,Anna Berg,Chef\n")
    assert problems(read_operators_csv, bad, config=config) == [
        "people.csv line 2, column Function (role): 'Chef' — unknown role; the roles are: operator, qc, stores, "
        "supervisor, planner, viewer (or the words werker, prüfer)"
    ]


def test_a_wrong_import_section_is_a_config_error_naming_its_key():
    from floorterm.errors import ConfigError

    bad = """
[import.jobs]
columns = { jobb = "Work Order", qty = "Quantity", priority = "quantity" }
priorities = { rush = 12 }
date_formats = ["%d.%m", "%Q"]
formats = []
[import.material]
"""
    with pytest.raises(ConfigError) as info:
        erp_config(bad)
    lines = [line.split(": ", 1)[1] for line in str(info.value).splitlines()]
    assert lines == [
        'unknown key "material" in [import] (did you mean "materials"?)',
        'unknown key "formats" in [import.jobs] (did you mean "date_formats"?)',
        'import.jobs.columns.jobb: unknown jobs column "jobb" (did you mean "job"?); the columns are: job, '
        "order_ref, customer, product, qty, planned_start, planned_end, priority, routing, inspection, notes",
        'import.jobs.columns.priority: the file column "quantity" is already given for "qty"',
        'import.jobs.priorities.rush must be a priority from 1 (most urgent) to 9, got 12',
        'import.jobs.date_formats item 1 "%d.%m" is not a date format with day, month and year (strftime '
        'codes, e.g. "%d.%m.%Y" or "%m/%d/%Y")',
        'import.jobs.date_formats item 2 "%Q" is not a date format with day, month and year (strftime '
        'codes, e.g. "%d.%m.%Y" or "%m/%d/%Y")',
    ]


def test_the_import_columns_of_the_config_are_the_importers():
    from floorterm import importer
    from floorterm.config import IMPORT_COLUMNS

    assert IMPORT_COLUMNS == {
        "jobs": importer.JOB_COLUMNS + importer.JOB_OPTIONAL_COLUMNS,
        "materials": importer.MATERIAL_COLUMNS,
        "operators": importer.OPERATOR_COLUMNS,
    }


# -- the commands: a wrong config exits 2; --dry-run writes nothing ------------------------


def _snapshot(url: str) -> dict:
    from floorterm import models as m
    from floorterm.store import Store

    with Store.open(url):
        return {
            model.__name__: [
                tuple(row.values()) for row in model.select().order_by(*model._meta.get_primary_keys()).dicts()
            ]
            for model in m.ALL_MODELS
        }


def _cli(url: str, config_path, *args: str, capsys) -> tuple[int, str, str]:
    from floorterm.cli import main

    code = main(["--config", str(config_path), "--db", url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_wrong_import_section_stops_the_import_with_exit_2(tmp_path, sqlite_url, capsys):
    from conftest import REPO

    cfg = tmp_path / "config.toml"
    cfg.write_text((REPO / "config.toml").read_text(encoding="utf-8") + '\n[import.jobs]\ncolumns = { qtty = "Q" }\n')
    jobs = write(tmp_path / "jobs.csv", HEADER + "\nJ-1,,,,1,,,,standard\n")
    before = _snapshot(sqlite_url)
    code, _, err = _cli(sqlite_url, cfg, "jobs", "import", str(jobs), capsys=capsys)
    assert code == 2
    assert 'import.jobs.columns.qtty: unknown jobs column "qtty" (did you mean "qty"?)' in err
    assert _snapshot(sqlite_url) == before


def test_dry_run_shows_what_would_happen_and_writes_nothing(store_url, ledger, tmp_path, capsys):
    from conftest import REPO

    cfg = tmp_path / "config.toml"
    cfg.write_text((REPO / "config.toml").read_text(encoding="utf-8") + ERP_SECTION, encoding="utf-8")
    jobs = write(
        tmp_path / "jobs.csv",
        ERP_HEADER + "\n4711;W2;SO-1;Acme;Frame;20;02.11.2026;20.11.2026;eilt;Standard;REL\n"
        "4712;W2;SO-2;Acme;Beam;5;;;;weldment;REL\n",
    )
    code, out, err = _cli(store_url, cfg, "jobs", "import", str(jobs), "--dry-run", capsys=capsys)
    assert code == 0, err
    assert out.splitlines() == [
        "Dry run: nothing was written.",
        "would create 4711: 20 × standard, priority 1, planned end 2026-11-20 (jobs.csv line 2)",
        "would create 4712: 5 × weldment, priority 5 (jobs.csv line 3)",
        "2 would be created, 0 unchanged, 0 conflicts",
    ]
    before = _snapshot(store_url)
    assert before["Job"] == []
    code, out, err = _cli(store_url, cfg, "jobs", "import", str(jobs), "--dry-run", capsys=capsys)
    assert _snapshot(store_url) == before
    # Import one of them for real; then the dry run finds it unchanged, or in conflict.
    one = write(tmp_path / "one.csv", ERP_HEADER + "\n4712;W2;SO-2;Acme;Beam;5;;;;weldment;REL\n")
    assert _cli(store_url, cfg, "jobs", "import", str(one), capsys=capsys)[0] == 0
    before = _snapshot(store_url)
    code, out, err = _cli(store_url, cfg, "jobs", "import", str(jobs), "--dry-run", capsys=capsys)
    assert code == 0 and "unchanged 4712: already in the store with the same data" in out
    changed = write(tmp_path / "changed.csv", ERP_HEADER + "\n4712;W2;SO-2;Acme;Beam;6;;;;weldment;REL\n")
    code, out, err = _cli(store_url, cfg, "jobs", "import", str(changed), "--dry-run", capsys=capsys)
    assert code == 1
    assert "conflict: changed.csv line 2, column qty: job 4712 is already in the store with qty '5', not '6'" in out
    assert "The import would be refused" in err
    assert _snapshot(store_url) == before
    # The same for operators.
    people = write(
        tmp_path / "people.csv", "Personnel No,Name,Function\n1001,Anna Berg,Werker\nW1,Wanda Welder,Werker\n"
    )
    code, out, err = _cli(store_url, cfg, "operators", "import", str(people), "--dry-run", capsys=capsys)
    assert code == 0, err
    assert out.splitlines() == [
        "Dry run: nothing was written.",
        "would add 1001: Anna Berg (operator)",
        "unchanged W1",
        "1 would be added, 1 unchanged, 0 conflicts",
    ]
    assert _snapshot(store_url) == before


def test_a_300_row_erp_export_imports_whole(tmp_path, store_url, capsys):
    """The issue's file: 300 jobs with priority words and the ERP's dates, imported for real."""
    from conftest import REPO

    cfg = tmp_path / "config.toml"
    cfg.write_text((REPO / "config.toml").read_text(encoding="utf-8") + ERP_SECTION, encoding="utf-8")
    words = ["urgent", "High", "NORMAL", "low", "Eilt"]
    lines = [ERP_HEADER] + [
        f"WO-{n};W2;SO-{n};Acme;Frame;{n % 40 + 1};{n % 28 + 1:02d}.11.2026;{n % 28 + 1:02d}.12.2026;"
        f"{words[n % 5]};standard;REL"
        for n in range(300)
    ]
    jobs = write(tmp_path / "erp-jobs.csv", "\n".join(lines) + "\n")
    code, out, err = _cli(store_url, cfg, "jobs", "import", str(jobs), capsys=capsys)
    assert code == 0, err
    assert out.splitlines()[0] == "300 created, 0 unchanged"
    jobs_now = _snapshot(store_url)["Job"]
    assert len(jobs_now) == 300
    code, out, _ = _cli(store_url, cfg, "jobs", "import", str(jobs), "--dry-run", capsys=capsys)
    assert (code, out.splitlines()[-1]) == (0, "0 would be created, 300 unchanged, 0 conflicts")
