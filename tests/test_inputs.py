"""floorterm.inputs: every piece of untrusted input is refused or normalised (DESIGN §6)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import unicodedata

import pytest
from hypothesis import given, strategies as st

from floorterm.errors import InputError
from floorterm.inputs import (
    clean_text,
    parse_badge,
    parse_code,
    parse_date,
    parse_job_number,
    parse_priority,
    parse_qty,
)

NOT_DIGITS = "Quantity must be a whole number made of the digits 0-9 only, like 12"


def refused(func, *args, **kwargs) -> str:
    """Call func, expect InputError, return its message."""
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    return str(info.value)


# --------------------------------------------------------------------------- quantities


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1), ("12", 12), (" 12 ", 12), ("\t40\r\n", 40), ("007", 7), ("1000000", 1_000_000), (5, 5)],
)
def test_parse_qty_accepts_plain_ascii_digits(value, expected):
    assert parse_qty(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter a quantity"),
        (" ", "Enter a quantity"),
        ("٣", "Quantity must be typed with the digits 0-9"),  # Arabic-Indic three: int() says 3
        ("３", "Quantity must be typed with the digits 0-9"),  # full-width three
        ("1٣", "Quantity must be typed with the digits 0-9"),
        ("²", "Quantity must be typed with the digits 0-9"),
        ("1_0", f"{NOT_DIGITS} (not '1_0')"),  # int() says 10
        ("1e3", f"{NOT_DIGITS} (not '1e3')"),
        ("1.5", f"{NOT_DIGITS} (not '1.5')"),
        ("1,000", f"{NOT_DIGITS} (not '1,000')"),
        ("1 000", f"{NOT_DIGITS} (not '1 000')"),
        ("+5", f"{NOT_DIGITS} (not '+5')"),
        ("0x10", f"{NOT_DIGITS} (not '0x10')"),
        ("five", f"{NOT_DIGITS} (not 'five')"),
        ("-5", "Quantity cannot be negative"),
        (-5, "Quantity cannot be negative"),
        ("0", "Quantity must be at least 1"),
        ("000", "Quantity must be at least 1"),
        (0, "Quantity must be at least 1"),
        ("1000001", "Quantity 1000001 is too large (at most 1000000)"),
        (str(2**63), "Quantity 9223372036854775808 is too large (at most 1000000)"),
        (2**63, "Quantity 9223372036854775808 is too large (at most 1000000)"),
        (True, NOT_DIGITS),
        (False, NOT_DIGITS),
        (1.0, NOT_DIGITS),
        (None, "Enter a quantity"),
    ],
)
def test_parse_qty_refuses_with_clear_message(value, message):
    assert refused(parse_qty, value) == message


def test_parse_qty_escape_in_message_is_neutralised():
    message = refused(parse_qty, "5\x1b[2J")
    assert "\x1b" not in message
    assert message == f"{NOT_DIGITS} (not '5?[2J')"


def test_parse_qty_huge_input_is_refused_without_int():
    # int() of more than 4300 digits raises ValueError, and would be slow anyway.
    message = refused(parse_qty, "9" * 100_000)
    assert message == "Quantity 999999999999… (100000 digits) is too large (at most 1000000)"
    assert refused(parse_qty, 10**5000).endswith("is too large (at most 1000000)")


def test_parse_qty_leading_zeros_do_not_count_towards_length():
    assert parse_qty("0" * 50 + "12") == 12


def test_parse_qty_options():
    assert parse_qty("0", allow_zero=True) == 0
    assert parse_qty(0, allow_zero=True) == 0
    assert parse_qty("50", maximum=50) == 50
    assert refused(parse_qty, "51", maximum=50) == "Quantity 51 is too large (at most 50)"
    assert refused(parse_qty, "", field="rejected quantity") == "Enter a rejected quantity"
    assert refused(parse_qty, "-1", field="rejected quantity") == "Rejected quantity cannot be negative"
    assert parse_qty("10000000000000", maximum=10**15) == 10**13


@given(st.text(max_size=20))
def test_parse_qty_accepts_only_ascii_digits(text):
    try:
        result = parse_qty(text)
    except InputError:
        return
    stripped = text.strip()
    assert stripped and all(ch in "0123456789" for ch in stripped)
    assert result == int(stripped)
    assert 1 <= result <= 1_000_000


@given(st.integers(min_value=1, max_value=1_000_000))
def test_parse_qty_int_and_text_agree(n):
    assert parse_qty(n) == parse_qty(str(n)) == parse_qty(f" 000{n} ") == n


# --------------------------------------------------------------------------- clean_text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  hello   world  ", "hello world"),
        ("line one\nline two\ttabbed\r\nend", "line one line two tabbed end"),
        ("\x1b[31mRED\x1b[0m", "RED"),  # whole CSI sequences go
        ("\x1b]0;pwned title\x07after", "after"),  # terminated OSC (window title) goes
        ("\x1b]2;x\x1b\\after", "after"),  # OSC terminated by ST
        ("a\x1bb", "a"),  # ESC b is a 2-character escape sequence
        ("lone escape\x1b", "lone escape"),
        ("a\x9bb", "ab"),  # 8-bit CSI (C1) removed on its own
        ("a\x9b31mb", "a31mb"),
        ("a\x85b\x9fc\x80d", "abcd"),  # other C1 controls
        ("bell\x07 null\x00 del\x7f", "bell null del"),
        ("abc\u202eevil\u202c", "abcevil"),  # right-to-left override
        ("x\u2066y\u2067z\u2068w\u2069", "xyzw"),  # bidi isolates
        ("\u202a\u202b\u202c\u202d", ""),
        ("zero\u200bwidth\u200c\u200djoin\ufeff", "zerowidthjoin"),
        ("\ufeffBOM at start", "BOM at start"),
        ("no\u00a0break", "no break"),  # no-break space collapses like a space
        ("surrogate\ud800", "surrogate"),  # cannot be stored as UTF-8
        ("[red]X[/red]", "[red]X[/red]"),  # markup is kept as literal text
        ("Ünïcödé ✓ 日本語", "Ünïcödé ✓ 日本語"),
        ("", ""),
    ],
)
def test_clean_text(raw, expected):
    assert clean_text(raw) == expected


def test_clean_text_too_long_names_the_field():
    assert refused(clean_text, "x" * 612, field="note") == "Note is too long: 612 characters, at most 500"
    assert refused(clean_text, "abcdef", max_len=5) == "Text is too long: 6 characters, at most 5"
    assert refused(clean_text, "abcdef", max_len=5, field="QC note").startswith("QC note is too long")
    # Length is counted after cleaning.
    assert clean_text("a" * 500 + "\x1b[31m" + "   ") == "a" * 500


@given(st.text())
def test_clean_text_output_is_safe(text):
    out = clean_text(text, max_len=10**9)
    assert out == out.strip()
    assert "  " not in out
    for ch in out:
        assert unicodedata.category(ch) not in ("Cc", "Cf", "Cs"), repr(ch)
        assert ch == " " or not ch.isspace()
    assert clean_text(out, max_len=10**9) == out  # idempotent


# --------------------------------------------------------------------- job numbers, badges


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("J-1001", "J-1001"),
        ("j-1001", "J-1001"),
        ("  j-1001 \r\n", "J-1001"),
        ("\x02J-1001\x03", "J-1001"),  # scanner STX / ETX
        ("\ufeffwo/2025.07_a", "WO/2025.07_A"),
        ("7", "7"),
        ("A" * 32, "A" * 32),
    ],
)
def test_parse_job_number_normalises(raw, expected):
    assert parse_job_number(raw) == expected


def test_job_numbers_are_case_insensitive():
    assert parse_job_number("j-1001") == parse_job_number("J-1001")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Enter a job number"),
        ("   ", "Enter a job number"),
        ("\x1b", "Enter a job number"),
        ("A" * 33, "Job number is too long (at most 32 characters)"),
        ("[red]X", "Job number '[red]X' has characters that are not allowed (only letters, digits, - _ / .)"),
        ("$J:J-1", "Job number '$J:J-1' has characters that are not allowed (only letters, digits, - _ / .)"),
        ("J 1001", "Job number 'J 1001' has characters that are not allowed (only letters, digits, - _ / .)"),
        ("J\x1b1", "Job number 'J?1' has characters that are not allowed (only letters, digits, - _ / .)"),
        ("J\u202e1", "Job number 'J?1' has characters that are not allowed (only letters, digits, - _ / .)"),
        ("Ĵ-1", "Job number 'Ĵ-1' has characters that are not allowed (only letters, digits, - _ / .)"),
        ("J-１", "Job number 'J-１' has characters that are not allowed (only letters, digits, - _ / .)"),
        ("-J1", "Job number '-J1' must start with a letter or a digit"),
        ("/etc", "Job number '/etc' must start with a letter or a digit"),
        ("..", "Job number '..' must start with a letter or a digit"),
    ],
)
def test_parse_job_number_refuses(raw, message):
    assert refused(parse_job_number, raw) == message


def test_markup_job_number_is_refused_only_for_its_characters():
    message = refused(parse_job_number, "[red]X")
    assert "'[red]X'" in message  # shown literally, not interpreted or escaped
    assert "not allowed" in message


def test_long_bad_job_number_message_is_short():
    message = refused(parse_job_number, "\x1b[31m" + "é" * 20)
    assert "\x1b" not in message
    assert len(message) < 120


def test_parse_badge():
    assert parse_badge(" op-0042 ") == "OP-0042"
    assert parse_badge("B" * 24) == "B" * 24
    assert refused(parse_badge, "B" * 25) == "Badge is too long (at most 24 characters)"
    assert refused(parse_badge, "") == "Enter a badge"
    assert refused(parse_badge, "op 42") == (
        "Badge 'op 42' has characters that are not allowed (only letters, digits, - _ / .)"
    )


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,31}", fullmatch=True))
def test_valid_job_numbers_round_trip(job):
    assert parse_job_number(job) == job.upper()
    assert parse_job_number(f" {job.lower()}\n") == job.upper()


@given(st.text(max_size=40))
def test_parse_job_number_result_is_always_in_alphabet(text):
    try:
        job = parse_job_number(text)
    except InputError:
        return
    assert 1 <= len(job) <= 32
    assert job[0].isascii() and job[0].isalnum()
    assert all(ch in "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/." for ch in job)


# --------------------------------------------------------------------------------- codes


def test_parse_code():
    assert parse_code(" weld-porosity ", field="reason code") == "WELD-POROSITY"
    assert parse_code("st.10/a_b", field="stage code") == "ST.10/A_B"
    assert refused(parse_code, "", field="reason code") == "Enter a reason code"
    assert refused(parse_code, " ", field="item code") == "Enter an item code"
    assert refused(parse_code, "X" * 33, field="reason code") == "Reason code is too long (at most 32 characters)"
    assert refused(parse_code, "no material", field="reason code") == (
        "Reason code 'no material' has characters that are not allowed (only letters, digits, - _ / .)"
    )
    assert refused(parse_code, "$R", field="stage code").startswith("Stage code '$R' has characters")


# ------------------------------------------------------------------------ date, priority


def test_parse_date():
    assert parse_date("2025-03-14", field="due date") == dt.date(2025, 3, 14)
    assert parse_date(" 2024-02-29 ", field="due date") == dt.date(2024, 2, 29)
    assert parse_date(dt.date(2025, 1, 2), field="due date") == dt.date(2025, 1, 2)
    assert refused(parse_date, "", field="due date") == "Enter a due date"
    assert refused(parse_date, "2025-02-30", field="due date") == "Due date '2025-02-30' is not a real date"
    for bad in ("14/03/2025", "2025-3-14", "20250314", "2025-03-14T10:00", "٢٠٢٥-٠٣-١٤"):
        assert refused(parse_date, bad, field="due date").startswith(
            "Due date must be written as YYYY-MM-DD, like 2025-03-14"
        ), bad
    assert refused(parse_date, dt.datetime(2025, 1, 2, 3, 4), field="due date") == (
        "Due date must be a date, without a time"
    )


PRIORITY = "Priority must be a whole number from 1 (most urgent) to 9"


@pytest.mark.parametrize(("value", "expected"), [("1", 1), (" 9 ", 9), ("05", 5), (3, 3)])
def test_parse_priority_accepts(value, expected):
    assert parse_priority(value) == expected


@pytest.mark.parametrize("value", ["0", "10", "", "-1", "+1", "٣", "1.0", "high", 0, 10, True, None, 2.0])
def test_parse_priority_refuses(value):
    assert refused(parse_priority, value) == PRIORITY


# --------------------------------------------------------------------------------- core


def test_core_modules_import_without_ui_or_database():
    code = (
        "import sys, floorterm.inputs, floorterm.scan\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich', 'psycopg', 'peewee'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
