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
