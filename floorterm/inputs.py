"""Untrusted input, checked in one place.

Everything an operator types or scans, and every field of an imported file, passes through
one of these functions before it is stored or compared.  Each either returns a clean,
normalised value or raises :class:`floorterm.errors.InputError` with a message that can be
shown to the person at the machine as is ("Quantity cannot be negative").

Rules (DESIGN.md §6):

* Text (notes, names) loses control characters - C0, DEL, ESC (with the escape sequence it
  starts), C1 - and invisible formatting characters such as bidi overrides and zero-width
  spaces; whitespace is collapsed.  See :func:`clean_text`.
* Quantities are plain ASCII digits in range.  ``int()`` is never applied to raw text before
  the digit check, because ``int('٣') == 3`` and ``int('1_0') == 10``.  See :func:`parse_qty`.
* Job numbers, badges and codes use a small ASCII alphabet and are upper-cased, so what is
  typed on the floor finds what the office imported ('j-1001' finds 'J-1001').

Nothing here escapes Rich markup.  The display layer always renders user data as plain
text (``rich.text.Text`` / ``markup=False``), so a job numbered ``[red]X`` shows as typed.
User values quoted in error messages are made safe (control characters shown as ``?``,
long values shortened) but are not markup-escaped either: error messages are user data too.

This module is part of the core: standard library only (no Textual, no Rich, no database).
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata

from floorterm.errors import InputError

__all__ = [
    "clean_text",
    "hidden_character",
    "describe_character",
    "parse_qty",
    "parse_job_number",
    "parse_badge",
    "parse_code",
    "parse_date",
    "parse_priority",
    "JOB_NUMBER_MAX_LEN",
    "BADGE_MAX_LEN",
    "CODE_MAX_LEN",
]

JOB_NUMBER_MAX_LEN = 32
BADGE_MAX_LEN = 24
CODE_MAX_LEN = 32

# Longest user value quoted back in an error message.
_SHOW_MAX = 40

_ASCII_DIGITS = frozenset("0123456789")

# 7-bit escape sequences are removed whole, as a terminal would consume them, so that
# "\x1b[31mRED\x1b[0m" becomes "RED" rather than "[31mRED[0m":
#   1. string sequences (ESC ] OSC, ESC P DCS, ESC X, ESC ^, ESC _), only when terminated
#      by BEL or ST (ESC backslash);
#   2. CSI sequences: ESC [ parameters intermediates final;
#   3. any other ESC + intermediates + final byte.
# Whatever is left over (a lone ESC, an unterminated OSC introducer) is then removed as a
# single control character.  8-bit C1 controls (U+009B CSI...) are removed on their own and
# do not take the following characters with them: in real data they are far more often a
# Windows-1252 character decoded as Latin-1 ('›' is 0x9B) than an attack, and without the
# C1 byte the rest is harmless text.
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b[P\]X^_][^\x07\x1b]*(?:\x07|\x1b\\)"
    r"|\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]"
)

# Control characters that stand for a gap between words: they become a space.
_WHITESPACE_CONTROLS = frozenset("\t\n\r\x0b\x0c")


def _cap(field: str) -> str:
    """'note' -> 'Note', 'QC note' -> 'QC note' (only the first letter is touched)."""
    return field[:1].upper() + field[1:]


def _a(noun: str) -> str:
    """'quantity' -> 'a quantity', 'item code' -> 'an item code'."""
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def _is_removed(ch: str) -> bool:
    """True for characters clean_text drops: controls (Cc), format (Cf), lone surrogates (Cs).

    Cc covers C0, DEL and C1 (U+0080-U+009F); Cf covers the bidi embeddings, overrides and
    isolates (U+202A-U+202E, U+2066-U+2069), the marks U+200E/U+200F/U+061C, zero-width
    characters (U+200B-U+200D, U+2060, U+FEFF), the soft hyphen and Unicode tag characters.
    Lone surrogates cannot be stored as UTF-8 at all.
    """
    return unicodedata.category(ch) in ("Cc", "Cf", "Cs")


def _translation_for(text: str) -> dict[int, str | None]:
    """A str.translate table for the unsafe characters that actually occur in ``text``.

    Only characters that are not printable are looked at, so ordinary text costs one pass of
    C code (``set``) and no per-character Python work.
    """
    table: dict[int, str | None] = {}
    for ch in set(text):
        if ch.isprintable():
            continue
        if ch in _WHITESPACE_CONTROLS:
            table[ord(ch)] = " "
        elif _is_removed(ch):
            table[ord(ch)] = None
        # Other non-printables (no-break space, line/paragraph separators, unassigned code
        # points) are left alone here; whitespace among them is collapsed by split() below.
    return table


def clean_text(value: str, *, max_len: int = 500, field: str = "text") -> str:
    """Return ``value`` made safe to store and show, or raise InputError if too long.

    * 7-bit escape sequences (ESC [ 31 m, ESC ] ... BEL) are removed whole.
    * Tab, newline, carriage return, vertical tab and form feed become a space.
    * Every other control character is removed: C0, DEL, ESC, C1 (U+0080-U+009F).
    * Invisible formatting characters are removed: bidi embeddings/overrides/isolates
      (U+202A-U+202E, U+2066-U+2069) and marks, zero-width space/joiners (U+200B-U+200D),
      the byte order mark U+FEFF, and the rest of Unicode category Cf.  Lone surrogates go too.
    * Runs of whitespace (any Unicode whitespace) collapse to one space; the ends are stripped.

    If the cleaned text is longer than ``max_len`` characters, InputError is raised, e.g.
    "Note is too long: 612 characters, at most 500" for ``field="note"``.

    Rich markup is NOT escaped: ``clean_text('[red]X') == '[red]X'``.  Showing user text
    safely is the display layer's job - it always renders user data with
    ``rich.text.Text`` / ``markup=False``, never as markup.
    """
    if not isinstance(value, str):
        raise TypeError(f"clean_text() needs a str, not {type(value).__name__}")
    text = value
    if "\x1b" in text:
        text = _ESCAPE_SEQUENCE.sub("", text)
    if not text.isprintable():
        table = _translation_for(text)
        if table:
            text = text.translate(table)
    text = " ".join(text.split())
    if len(text) > max_len:
        raise InputError(f"{_cap(field)} is too long: {len(text)} characters, at most {max_len}")
    return text


def hidden_character(value: str) -> str | None:
    """The first character clean_text drops outright (a control or invisible formatting
    character, ESC included; whitespace aside), or None when there is none."""
    if value.isprintable():
        return None
    return next((ch for ch in value if ch not in _WHITESPACE_CONTROLS and _is_removed(ch)), None)


def describe_character(ch: str) -> str:
    """A character people cannot see, named: 'U+0000 NUL', 'U+001B ESC', 'U+200B ZERO WIDTH SPACE'."""
    name = _CONTROL_NAMES.get(ch) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


# Control characters have no Unicode name; these are the ones people meet in files.
_CONTROL_NAMES = {"\x00": "NUL", "\x07": "BEL", "\x08": "BS", "\x1b": "ESC", "\x7f": "DEL"}


def _show(value: object, limit: int = _SHOW_MAX) -> str:
    """A user value made safe to quote in a message: whitespace controls shown as a space,
    any other non-printable character (ESC, C1, bidi, zero-width...) as '?', long values cut
    with '…'.  No quotes are added and Rich markup is left as literal text."""
    text = value if isinstance(value, str) else repr(value)
    if not text.isprintable():
        text = "".join(ch if ch.isprintable() else " " if ch.isspace() else "?" for ch in text[: limit + 1])
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _quoted(value: object) -> str:
    return "'" + _show(value) + "'"


def _strip_edges(value: str) -> str:
    """Strip whitespace and control/format characters from both ends (not the middle)."""
    start, end = 0, len(value)
    while start < end and (value[start].isspace() or _is_removed(value[start])):
        start += 1
    while end > start and (value[end - 1].isspace() or _is_removed(value[end - 1])):
        end -= 1
    return value[start:end]


# --------------------------------------------------------------------------- quantities


def _too_large(field: str, shown: str, maximum: int) -> InputError:
    return InputError(f"{_cap(field)} {shown} is too large (at most {maximum})")


def _show_digits(digits: str) -> str:
    if len(digits) > 30:
        return f"{digits[:12]}… ({len(digits)} digits)"
    return digits


def parse_qty(
    value: str | int,
    *,
    field: str = "quantity",
    allow_zero: bool = False,
    maximum: int = 1_000_000,
) -> int:
    """Parse a quantity typed, scanned or imported: plain ASCII digits only, in range.

    Accepted: ``'12'``, ``' 12 '``, ``'007'`` (= 7), and Python ints (not bools).
    Refused with a message naming ``field``:

    * ``''`` / ``'  '`` - "Enter a quantity"
    * ``'-5'`` / ``-5`` - "Quantity cannot be negative"
    * ``'٣'``, ``'３'`` - "Quantity must be typed with the digits 0-9"
    * ``'+5'``, ``'1_0'``, ``'1e3'``, ``'1.5'``, ``'1,000'`` - "Quantity must be a whole
      number made of the digits 0-9 only, like 12 (not '1e3')"
    * more than ``maximum`` - "Quantity 9223372036854775808 is too large (at most 1000000)"
    * ``0`` unless ``allow_zero`` - "Quantity must be at least 1"
    """
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        if value is None:
            raise InputError(f"Enter {_a(field)}")
        raise InputError(f"{_cap(field)} must be a whole number made of the digits 0-9 only, like 12")

    if isinstance(value, int):
        number = value
        if number < 0:
            raise InputError(f"{_cap(field)} cannot be negative")
        if number > maximum:
            # str() of a huge int is slow (and refused past 4300 digits): only show sane ones.
            shown = _show_digits(str(number)) if number.bit_length() <= 4096 else "(over 1000 digits)"
            raise _too_large(field, shown, maximum)
    else:
        text = value.strip()
        if not text:
            raise InputError(f"Enter {_a(field)}")
        if text[0] == "-" and len(text) > 1 and text[1:].isdigit():
            raise InputError(f"{_cap(field)} cannot be negative")
        if not _ASCII_DIGITS.issuperset(text):
            if all(ch.isdigit() for ch in text.lstrip("-")):
                # '٣', '３', '²': digits, but not the ones a terminal should send.
                raise InputError(f"{_cap(field)} must be typed with the digits 0-9")
            raise InputError(
                f"{_cap(field)} must be a whole number made of the digits 0-9 only, like 12 (not {_quoted(text)})"
            )
        # Only ASCII digits from here on.  Never hand int() an absurdly long string.
        significant = text.lstrip("0")
        if len(significant) > max(12, len(str(maximum)) + 1):
            raise _too_large(field, _show_digits(significant), maximum)
        number = int(significant or "0")
        if number > maximum:
            raise _too_large(field, significant, maximum)

    if number < low:
        raise InputError(f"{_cap(field)} must be at least {low}")
    return number


# --------------------------------------------------------------- job numbers, badges, codes

_IDENT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_/.")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def _parse_ident(value: str, *, label: str, noun: str, max_len: int) -> str:
    """Shared rules for job numbers, badges and codes.

    ``label`` starts a sentence ('Job number'), ``noun`` is used inside one ('job number').
    """
    if value is None:
        raise InputError(f"Enter {_a(noun)}")
    if not isinstance(value, str):
        raise TypeError(f"expected a str, not {type(value).__name__}")
    text = _strip_edges(value)
    if not text:
        raise InputError(f"Enter {_a(noun)}")
    if len(text) > max_len:
        raise InputError(f"{label} is too long (at most {max_len} characters)")
    if not _IDENT_CHARS.issuperset(text):
        raise InputError(f"{label} {_quoted(text)} has characters that are not allowed (only letters, digits, - _ / .)")
    if text[0] not in _ALNUM:
        raise InputError(f"{label} {_quoted(text)} must start with a letter or a digit")
    return text.upper()


def parse_job_number(value: str) -> str:
    """Normalise a job number: 1-32 of ``A-Z a-z 0-9 - _ / .``, starting with a letter or
    digit; surrounding whitespace and control characters are stripped; returned upper-cased
    ('j-1001' -> 'J-1001').  A job number can never start with '$' (see floorterm.scan)."""
    return _parse_ident(value, label="Job number", noun="job number", max_len=JOB_NUMBER_MAX_LEN)


def parse_badge(value: str) -> str:
    """Normalise an operator badge: the job-number rules, at most 24 characters."""
    return _parse_ident(value, label="Badge", noun="badge", max_len=BADGE_MAX_LEN)


def parse_code(value: str, *, field: str) -> str:
    """Normalise a reason / stage / item code: 1-32 of ``A-Z 0-9 - _ . /`` (letters are
    upper-cased), starting with a letter or digit.  ``field`` names it in messages
    ('reason code' -> "Enter a reason code")."""
    return _parse_ident(value, label=_cap(field), noun=field, max_len=CODE_MAX_LEN)


# ------------------------------------------------------------------- dates and priority

_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def parse_date(value: str, *, field: str) -> _dt.date:
    """Parse an ISO date ``YYYY-MM-DD`` (nothing else: '14/03/2025' is ambiguous).

    A ``datetime.date`` passed in is returned as is (a ``datetime`` is refused)."""
    if isinstance(value, _dt.datetime):
        raise InputError(f"{_cap(field)} must be a date, without a time")
    if isinstance(value, _dt.date):
        return value
    if value is None or not isinstance(value, str):
        raise InputError(f"Enter {_a(field)}")
    text = value.strip()
    if not text:
        raise InputError(f"Enter {_a(field)}")
    if not _ISO_DATE.fullmatch(text):
        raise InputError(f"{_cap(field)} must be written as YYYY-MM-DD, like 2025-03-14 (not {_quoted(text)})")
    try:
        return _dt.date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{_cap(field)} {_quoted(text)} is not a real date") from None


_PRIORITY_MESSAGE = "Priority must be a whole number from 1 (most urgent) to 9"


def parse_priority(value: str | int) -> int:
    """Parse a priority: a whole number 1..9, 1 = most urgent.  Leading zeros are fine."""
    if isinstance(value, bool):
        raise InputError(_PRIORITY_MESSAGE)
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        if not text or not _ASCII_DIGITS.issuperset(text):
            raise InputError(_PRIORITY_MESSAGE)
        text = text.lstrip("0") or "0"
        if len(text) > 1:
            raise InputError(_PRIORITY_MESSAGE)
        number = int(text)
    else:
        raise InputError(_PRIORITY_MESSAGE)
    if not 1 <= number <= 9:
        raise InputError(_PRIORITY_MESSAGE)
    return number
