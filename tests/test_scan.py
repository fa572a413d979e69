"""floorterm.scan: the barcode grammar and the key-stream buffer."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from floorterm.errors import InputError
from floorterm.inputs import parse_job_number
from floorterm.scan import (
    ACTIONS,
    Scan,
    ScanBuffer,
    encode_action,
    encode_badge,
    encode_job,
    encode_qty,
    encode_reason,
    parse_scan,
)

JOB_NUMBERS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,31}", fullmatch=True)


def refused(func, *args, **kwargs) -> str:
    with pytest.raises(InputError) as info:
        func(*args, **kwargs)
    return str(info.value)


# ---------------------------------------------------------------------------- parse_scan


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        ("$A:COMPLETE", "action", "COMPLETE"),
        ("$a:complete", "action", "COMPLETE"),  # Caps Lock inverts a wedge scanner's case
        ("$A: delay \r\n", "action", "DELAY"),
        ("$R:no-material", "reason", "NO-MATERIAL"),
        ("$Q:25", "qty", 25),
        ("$q:007", "qty", 7),
        ("$B:op-0042", "badge", "OP-0042"),
        ("$J:j-1001", "job", "J-1001"),
        ("J-1001", "plain", "J-1001"),
        ("  j-1001\r\n", "plain", "j-1001"),  # plain values are stripped, not interpreted
        ("\x02OP-7\x03", "plain", "OP-7"),
        ("12", "plain", "12"),
    ],
)
def test_parse_scan(raw, kind, value):
    assert parse_scan(raw) == Scan(kind, value, raw)


def test_every_action_is_understood():
    assert len(ACTIONS) == 14 and len(set(ACTIONS)) == 14
    assert "COMPLETE" in ACTIONS and "SIGNOUT" in ACTIONS and "ENTER" in ACTIONS
    for action in ACTIONS:
        assert parse_scan(f"$A:{action}") == Scan("action", action, f"$A:{action}")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "Nothing was scanned: scan again or type the number"),
        ("  \r\n", "Nothing was scanned: scan again or type the number"),
        ("\x1b", "Nothing was scanned: scan again or type the number"),
        ("$X:12", "Unknown command barcode '$X:12'"),
        ("$", "Unknown command barcode '$'"),
        ("$A", "Unknown command barcode '$A'"),
        ("$AB:C", "Unknown command barcode '$AB:C'"),
        ("$1:C", "Unknown command barcode '$1:C'"),
        ("$ A:COMPLETE", "Unknown command barcode '$ A:COMPLETE'"),
        ("$X:\x1b[2J", "Unknown command barcode '$X:?[2J'"),
        ("$A:FINISH", "Unknown action 'FINISH' (barcode '$A:FINISH')"),
        ("$A:", "The action barcode is empty: scan the action again"),
        ("$A:COMP\x00LETE", "Unknown action 'COMP?LETE' (barcode '$A:COMP?LETE')"),
        ("$Q:", "Enter a quantity"),
        ("$Q:0", "Quantity must be at least 1"),
        ("$Q:-5", "Quantity cannot be negative"),
        ("$Q:٣", "Quantity must be typed with the digits 0-9"),
        ("$Q:1_0", "Quantity must be a whole number made of the digits 0-9 only, like 12 (not '1_0')"),
        ("$Q:1e3", "Quantity must be a whole number made of the digits 0-9 only, like 12 (not '1e3')"),
        ("$Q:9223372036854775808", "Quantity 9223372036854775808 is too large (at most 1000000)"),
        ("$J:[red]X", "Job number '[red]X' has characters that are not allowed (only letters, digits, - _ / .)"),
        ("$J:", "Enter a job number"),
        ("$B:" + "B" * 25, "Badge is too long (at most 24 characters)"),
        (
            "$R:no material",
            "Reason code 'no material' has characters that are not allowed (only letters, digits, - _ / .)",
        ),
        ("J" * 257, "The scan is too long (257 characters, at most 256)"),
    ],
)
def test_parse_scan_refuses(raw, message):
    assert refused(parse_scan, raw) == message


def test_plain_value_keeps_inner_control_characters_for_the_parser_to_refuse():
    # A damaged scan must not silently become another job number.
    scan = parse_scan("J-10\x1d01")
    assert scan.kind == "plain" and scan.value == "J-10\x1d01"


# -------------------------------------------------------------------------------- prefix


@pytest.mark.parametrize(
    ("raw", "kind", "value"),
    [
        ("~J-1001", "plain", "J-1001"),
        ("J-1001", "plain", "J-1001"),  # typed: no prefix, fine
        ("~$A:COMPLETE", "action", "COMPLETE"),
        ("$A:COMPLETE", "action", "COMPLETE"),
        (" ~ $Q:3 \r", "qty", 3),
        ("~~J-1", "plain", "~J-1"),  # only one prefix is removed
    ],
)
def test_prefix_is_stripped_when_present(raw, kind, value):
    scan = parse_scan(raw, prefix="~")
    assert (scan.kind, scan.value, scan.raw) == (kind, value, raw)


def test_multi_character_and_control_prefixes():
    assert parse_scan("]C0J-7", prefix="]C0").value == "J-7"  # AIM symbology identifier
    assert parse_scan("\x02J-7", prefix="\x02").value == "J-7"  # STX
    assert parse_scan("]C0$J:j-7", prefix="]C0") == Scan("job", "J-7", "]C0$J:j-7")
    assert refused(parse_scan, "~", prefix="~") == "Nothing was scanned: scan again or type the number"


def test_without_configured_prefix_the_prefix_text_stays():
    assert parse_scan("~J-1001").value == "~J-1001"


# --------------------------------------------------------------------------- encode_*


def test_encode_exact_text():
    assert encode_action("complete") == "$A:COMPLETE"
    assert encode_reason("no-material") == "$R:NO-MATERIAL"
    assert encode_qty(25) == "$Q:25"
    assert encode_qty("007") == "$Q:7"
    assert encode_badge("op-0042") == "$B:OP-0042"
    assert encode_job(" j-1001 ") == "$J:J-1001"


def test_encode_refuses_what_parse_would_refuse():
    assert refused(encode_action, "FINISH") == "Unknown action 'FINISH'"
    assert refused(encode_qty, 0) == "Quantity must be at least 1"
    assert refused(encode_qty, True).startswith("Quantity must be a whole number")
    assert refused(encode_job, "$J:1").startswith("Job number '$J:1' has characters")
    assert refused(encode_badge, "") == "Enter a badge"
    assert refused(encode_reason, "a b").startswith("Reason code 'a b' has characters")


@pytest.mark.parametrize("action", ACTIONS)
def test_encode_action_round_trips(action):
    text = encode_action(action.lower())
    assert parse_scan(text) == Scan("action", action, text)


@given(st.integers(min_value=1, max_value=1_000_000))
def test_encode_qty_round_trips(n):
    text = encode_qty(n)
    assert text == f"$Q:{n}"
    assert parse_scan(text) == Scan("qty", n, text)
    assert parse_scan("~" + text + "\r", prefix="~").value == n


@given(JOB_NUMBERS)
def test_encode_job_round_trips(job):
    text = encode_job(job)
    assert parse_scan(text) == Scan("job", job.upper(), text)
    # The bare job number, typed in any case, is the same job at the job prompt.
    plain = parse_scan(job.lower())
    assert plain.kind == "plain"
    assert parse_job_number(plain.value) == job.upper()


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,23}", fullmatch=True))
def test_encode_badge_round_trips(badge):
    text = encode_badge(badge)
    assert parse_scan(text) == Scan("badge", badge.upper(), text)


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_./-]{0,31}", fullmatch=True))
def test_encode_reason_round_trips(code):
    text = encode_reason(code)
    assert parse_scan(text) == Scan("reason", code.upper(), text)


@given(st.text(max_size=60))
def test_parse_scan_only_ever_raises_input_error(text):
    try:
        scan = parse_scan(text, prefix="~")
    except InputError as err:
        assert "\x1b" not in str(err)
        return
    assert scan.kind in ("action", "reason", "qty", "badge", "job", "plain")
    assert scan.raw == text
    if scan.kind == "plain":
        assert not scan.value.startswith("$")


# --------------------------------------------------------------------------- ScanBuffer


def feed_all(buffer: ScanBuffer, text: str, *, start: float = 100.0, gap: float = 0.005):
    """Feed text one character at a time, `gap` seconds apart; return non-None results."""
    results = []
    for i, ch in enumerate(text):
        result = buffer.feed(ch, start + i * gap)
        if result is not None:
            results.append(result)
    return results


def test_buffer_enter_suffix():
    buffer = ScanBuffer()
    assert buffer.feed("J", 1.0) is None
    assert buffer.pending == "J"
    assert feed_all(buffer, "-1001") == []
    assert buffer.feed("\r", 2.0) == Scan("plain", "J-1001", "J-1001")
    assert buffer.pending == ""
    assert feed_all(buffer, "$A:COMPLETE\n") == [Scan("action", "COMPLETE", "$A:COMPLETE")]


def test_buffer_cr_lf_gives_one_scan():
    buffer = ScanBuffer()
    assert feed_all(buffer, "$Q:5\r\n$Q:6\r\n") == [Scan("qty", 5, "$Q:5"), Scan("qty", 6, "$Q:6")]


def test_buffer_enter_alone_returns_none():
    buffer = ScanBuffer()
    assert buffer.feed("\r", 1.0) is None
    assert buffer.feed(" ", 1.1) is None
    assert buffer.feed("\r", 1.2) is None


def test_buffer_tab_suffix():
    buffer = ScanBuffer(suffix="tab")
    assert feed_all(buffer, "$B:op-1\t$J:j-2\t") == [Scan("badge", "OP-1", "$B:op-1"), Scan("job", "J-2", "$J:j-2")]
    # Enter still ends typed input.
    assert feed_all(buffer, "J-3\r") == [Scan("plain", "J-3", "J-3")]


def test_tab_is_ordinary_input_with_enter_suffix():
    buffer = ScanBuffer(suffix="enter")
    assert feed_all(buffer, "J-1\t") == []
    assert buffer.pending == "J-1\t"
    assert buffer.feed("\r", 9.0) == Scan("plain", "J-1", "J-1\t")


def test_buffer_literal_suffix():
    buffer = ScanBuffer(suffix="#")
    assert feed_all(buffer, "$Q:12#J-1#") == [Scan("qty", 12, "$Q:12"), Scan("plain", "J-1", "J-1")]
    assert feed_all(buffer, "J-2\r") == [Scan("plain", "J-2", "J-2")]  # typed + Enter works too


def test_buffer_multi_character_literal_suffix():
    buffer = ScanBuffer(suffix="//")
    assert feed_all(buffer, "WO/1") == []  # a single '/' inside the value does not end it
    assert feed_all(buffer, "//") == [Scan("plain", "WO/1", "WO/1")]


def test_buffer_with_prefix():
    buffer = ScanBuffer(prefix="~")
    assert feed_all(buffer, "~$A:START\r") == [Scan("action", "START", "~$A:START")]
    assert feed_all(buffer, "J-5\r") == [Scan("plain", "J-5", "J-5")]  # typed, no prefix


def test_scan_interrupting_typing_wins_when_prefix_is_configured():
    buffer = ScanBuffer(prefix="~")
    assert feed_all(buffer, "J-10") == []
    assert feed_all(buffer, "~$J:J-2002\r") == [Scan("job", "J-2002", "~$J:J-2002")]


def test_backspace_edits_typed_input():
    buffer = ScanBuffer()
    assert feed_all(buffer, "J-10O\x7f01\x08\x081\r") == [Scan("plain", "J-101", "J-101")]
    assert buffer.feed("\b", 1.0) is None  # backspace on nothing is harmless
    assert buffer.pending == ""


def test_invalid_scan_raises_then_buffer_is_clean():
    buffer = ScanBuffer()
    feed_all(buffer, "$X:1")
    with pytest.raises(InputError, match=r"Unknown command barcode '\$X:1'"):
        buffer.feed("\r", 5.0)
    assert buffer.pending == ""
    assert feed_all(buffer, "$Q:3\r") == [Scan("qty", 3, "$Q:3")]


def test_invalid_quantity_in_buffer():
    buffer = ScanBuffer(suffix="#")
    feed_all(buffer, "$Q:1e3")
    with pytest.raises(InputError) as info:
        buffer.feed("#", 5.0)
    assert "'1e3'" in str(info.value)
    assert buffer.pending == ""


def test_feed_takes_one_character():
    buffer = ScanBuffer()
    with pytest.raises(ValueError):
        buffer.feed("ab", 1.0)
    with pytest.raises(ValueError):
        buffer.feed("", 1.0)


# ------------------------------------------------------------------------ timing hint


def test_fast_burst_looks_scanned():
    buffer = ScanBuffer(burst_ms=40)
    assert not buffer.looks_scanned()
    [scan] = feed_all(buffer, "J-1001\r", gap=0.004)
    assert scan.value == "J-1001"
    assert buffer.looks_scanned()


def test_human_typing_does_not_look_scanned_but_gives_the_same_scan():
    scanned, typed = ScanBuffer(), ScanBuffer()
    assert feed_all(scanned, "$A:COMPLETE\r", gap=0.003) == feed_all(typed, "$A:COMPLETE\r", gap=0.180)
    assert scanned.looks_scanned() and not typed.looks_scanned()


def test_one_slow_gap_breaks_the_burst():
    buffer = ScanBuffer(burst_ms=40)
    times = [10.000, 10.010, 10.020, 10.070, 10.080]  # 50 ms pause before the 4th key
    for ch, at in zip("J-12", times):
        assert buffer.feed(ch, at) is None
    buffer.feed("\r", times[-1])
    assert not buffer.looks_scanned()


def test_slow_enter_after_fast_keys_is_not_a_burst():
    buffer = ScanBuffer(burst_ms=40)
    feed_all(buffer, "J-12", gap=0.002)
    assert buffer.feed("\r", 100.0 + 0.006 + 0.5).value == "J-12"
    assert not buffer.looks_scanned()


def test_threshold_is_configurable():
    buffer = ScanBuffer(burst_ms=10)
    feed_all(buffer, "J-1\r", gap=0.0105)
    assert not buffer.looks_scanned()
    feed_all(buffer, "J-1\r", gap=0.0095)
    assert buffer.looks_scanned()


def test_hint_set_even_when_scan_is_invalid_and_cleared_by_reset():
    buffer = ScanBuffer()
    with pytest.raises(InputError):
        feed_all(buffer, "$X:1\r", gap=0.001)
    assert buffer.looks_scanned()
    buffer.reset()
    assert not buffer.looks_scanned()


def test_reset_discards_pending_input():
    buffer = ScanBuffer()
    feed_all(buffer, "J-99")
    buffer.reset()
    assert buffer.pending == ""
    assert feed_all(buffer, "J-1\r") == [Scan("plain", "J-1", "J-1")]
