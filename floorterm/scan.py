"""The scan grammar: what a barcode (or the same text typed) means.

Shared by the kiosk, which reads scans, and the label printer, which prints them, so what is
printed is exactly what is parsed.  ``docs/scanning.md`` explains the same for people who
set up scanners and print cards.

Grammar
=======

::

    scan     = [prefix] ( command | plain ) [suffix]
    command  = "$" letter ":" value
    letter   = "A" | "R" | "Q" | "B" | "J"          (either case)
    plain    = any text that does not start with "$"

=========  ================  ==============================================  ============
letter     meaning           value                                           Scan.kind
=========  ================  ==============================================  ============
``$A:``    action            one of :data:`ACTIONS` (either case)            ``action``
``$R:``    reason            a code, :func:`floorterm.inputs.parse_code`     ``reason``
``$Q:``    quantity          digits, :func:`floorterm.inputs.parse_qty`      ``qty`` (int)
``$B:``    operator badge    :func:`floorterm.inputs.parse_badge`            ``badge``
``$J:``    job (explicit)    :func:`floorterm.inputs.parse_job_number`       ``job``
=========  ================  ==============================================  ============

A value without the ``$`` is *plain*: a job number at the job prompt, a badge at the
sign-in prompt, a quantity at a quantity prompt.  The caller knows the prompt, so it decides
and runs the matching parser (``parse_job_number``, ``parse_badge``, ``parse_qty``) on
``Scan.value``; ``parse_scan`` only strips it.  Job numbers, badges and codes can never start
with ``$`` (their alphabet is letters, digits and ``- _ / .``, starting with a letter or
digit), so a scan is either a command or plain, never both.

Everything is case-insensitive (letters are upper-cased): a keyboard-wedge scanner on a
terminal with Caps Lock on sends ``$a:complete`` for ``$A:COMPLETE``, and it still works.

Prefix and suffix
-----------------

Scanners can be set to send a *prefix* before every scan and a *suffix* after it.  The
prefix is optional in the input (typed text has none): :func:`parse_scan` removes it when
present.  Choose a prefix that cannot begin a job number or badge (for example ``~``, ``]``
or a control character), otherwise typed job numbers starting with the same text would lose
it.  The suffix ends a scan: Enter (the default), Tab, or a literal string such as ``#``;
see :class:`ScanBuffer`.  Enter always ends input too, so typing a job number and pressing
Enter works whatever the scanner sends.

Surrounding whitespace and control characters (a scanner's STX/ETX, CR/LF) are stripped;
control characters *inside* a value are not removed silently - the value parser refuses
them, because a damaged scan must not become a different job.

Timing (how fast the characters arrived) is only ever a hint, :meth:`ScanBuffer.looks_scanned`.
Nothing depends on it: over SSH keys arrive in bursts and typed input must work the same.

Standard library only (no Textual): this is part of the core.
"""

from __future__ import annotations

from dataclasses import dataclass

from floorterm.errors import InputError
from floorterm.inputs import _show, _strip_edges, parse_badge, parse_code, parse_job_number, parse_qty

__all__ = [
    "ACTIONS",
    "MAX_SCAN_LEN",
    "Scan",
    "ScanBuffer",
    "encode_action",
    "encode_badge",
    "encode_job",
    "encode_qty",
    "encode_reason",
    "parse_scan",
]

#: Actions a ``$A:`` barcode can carry, in the order they appear on the action sheet.
ACTIONS: tuple[str, ...] = (
    "COMPLETE",
    "REJECT",
    "DELAY",
    "RESUME",
    "START",
    "CANCEL",
    "SIGNOUT",
    "PASS",
    "FAIL",
    "REWORK",
    "SCRAP",
    "NOTE",
    "UNDO",
    "ENTER",
)

#: Longest scan accepted, after the prefix and surrounding whitespace are removed.
MAX_SCAN_LEN = 256

_KINDS = {"A": "action", "R": "reason", "Q": "qty", "B": "badge", "J": "job"}


@dataclass(frozen=True)
class Scan:
    """One complete scan (or typed entry), understood.

    ``kind`` is ``'action'``, ``'reason'``, ``'qty'``, ``'badge'``, ``'job'`` or ``'plain'``.
    ``value`` is normalised for its kind: an action name from :data:`ACTIONS`, an upper-case
    code / badge / job number, an ``int`` quantity, or for ``plain`` the text with the prefix
    and surrounding whitespace removed (still untrusted: run the parser for the prompt).
    ``raw`` is exactly what was received, for logs; never show it as markup.
    """

    kind: str
    value: str | int
    raw: str


def _unknown_command(text: str) -> InputError:
    return InputError(f"Unknown command barcode '{_show(text)}'")


def parse_scan(raw: str, *, prefix: str = "") -> Scan:
    """Understand one scan or typed entry; raise InputError with an operator message if it
    cannot be used.

    ``prefix`` is the scanner's configured prefix: removed if present, fine if absent.
    Surrounding whitespace and control characters are stripped first.
    """
    if not isinstance(raw, str):
        raise TypeError(f"parse_scan() needs a str, not {type(raw).__name__}")
    text = _strip_edges(raw)
    wanted = _strip_edges(prefix) if prefix else ""
    if wanted and text.startswith(wanted):
        text = _strip_edges(text[len(wanted) :])
    if not text:
        raise InputError("Nothing was scanned: scan again or type the number")
    if len(text) > MAX_SCAN_LEN:
        raise InputError(f"The scan is too long ({len(text)} characters, at most {MAX_SCAN_LEN})")

    if not text.startswith("$"):
        return Scan("plain", text, raw)

    if len(text) < 3 or text[2] != ":" or text[1].upper() not in _KINDS:
        raise _unknown_command(text)
    kind = _KINDS[text[1].upper()]
    body = text[3:]
    value: str | int
    if kind == "action":
        value = _strip_edges(body).upper()
        if value not in ACTIONS:
            if not value:
                raise InputError("The action barcode is empty: scan the action again")
            raise InputError(f"Unknown action '{_show(value)}' (barcode '{_show(text)}')")
    elif kind == "reason":
        value = parse_code(body, field="reason code")
    elif kind == "qty":
        value = parse_qty(body, field="quantity")
    elif kind == "badge":
        value = parse_badge(body)
    else:
        value = parse_job_number(body)
    return Scan(kind, value, raw)


def encode_action(action: str) -> str:
    """Barcode text for an action, e.g. ``encode_action('complete') == '$A:COMPLETE'``."""
    name = _strip_edges(action).upper() if isinstance(action, str) else ""
    if name not in ACTIONS:
        raise InputError(f"Unknown action '{_show(action)}'")
    return "$A:" + name


def encode_reason(code: str) -> str:
    """Barcode text for a reason code, e.g. ``'$R:WELD-POROSITY'``."""
    return "$R:" + parse_code(code, field="reason code")


def encode_qty(n: int | str) -> str:
    """Barcode text for a quantity, e.g. ``encode_qty(25) == '$Q:25'`` (1..1,000,000)."""
    return "$Q:" + str(parse_qty(n))


def encode_badge(badge: str) -> str:
    """Barcode text for an operator badge, e.g. ``'$B:OP-0042'``."""
    return "$B:" + parse_badge(badge)


def encode_job(job: str) -> str:
    """Barcode text for an explicit job, e.g. ``'$J:J-1001'``.

    The bare job number (``'J-1001'``) is also valid at the job prompt; the ``$J:`` form says
    "this is a job" at any prompt.
    """
    return "$J:" + parse_job_number(job)


_ENTER = frozenset("\r\n")
_BACKSPACE = frozenset("\b\x7f")


class ScanBuffer:
    """Turns a stream of key characters (scanner or keyboard) into complete scans.

    Feed every character with the time it arrived::

        buf = ScanBuffer(prefix="~", suffix="enter")
        for ch in "~$A:COMPLETE\\r":
            scan = buf.feed(ch, time.monotonic())
        # scan == Scan('action', 'COMPLETE', '~$A:COMPLETE')

    A scan is complete when

    * Enter arrives (``'\\r'`` or ``'\\n'``) - always, so typed input works with any scanner
      setting; or
    * ``suffix="tab"``: a Tab (``'\\t'``) arrives; or
    * ``suffix`` is a literal string (e.g. ``"#"``): the buffer ends with it (it is removed).

    Then :meth:`feed` returns :func:`parse_scan`'s :class:`Scan`.  If the completed text is
    not a valid scan, the buffer is reset first and :meth:`feed` raises InputError, so the
    next character starts a fresh scan.  Enter on an empty buffer returns None (a scanner
    sending CR LF completes on CR; the LF is ignored).  Otherwise :meth:`feed` returns None.

    Backspace (``'\\b'`` or DEL ``'\\x7f'``) removes the last character, for typing.  When the
    configured prefix arrives, anything before it is discarded: a half-typed number is
    replaced by the scan that interrupted it.

    ``at`` is a time in seconds (``time.monotonic()``); it only feeds the
    :meth:`looks_scanned` hint, never the result.
    """

    def __init__(self, *, prefix: str = "", suffix: str = "enter", burst_ms: float = 40.0) -> None:
        if not isinstance(suffix, str):
            raise TypeError("suffix must be a str")
        named = suffix.strip().lower()
        if named in ("", "enter", "return", "cr", "lf", "crlf") or suffix in ("\r", "\n", "\r\n"):
            self._mode, self._literal = "enter", ""
        elif named == "tab" or suffix == "\t":
            self._mode, self._literal = "tab", ""
        else:
            self._mode, self._literal = "literal", suffix
        self.prefix = prefix
        self.suffix = suffix
        self.burst_ms = float(burst_ms)
        self._chars: list[str] = []
        self._times: list[float] = []
        self._last_burst = False

    @property
    def pending(self) -> str:
        """The characters received so far for the scan in progress (untrusted text)."""
        return "".join(self._chars)

    def reset(self) -> None:
        """Forget the scan in progress and the timing hint."""
        self._chars.clear()
        self._times.clear()
        self._last_burst = False

    def looks_scanned(self) -> bool:
        """Timing hint: True if the last completed input arrived as one fast burst (every gap
        between its keys, terminator included, shorter than ``burst_ms``).

        Only a hint for the UI (e.g. a "scanned" badge); never required for correctness - a
        typed entry and a scanned one give the same result, and over SSH timing is unreliable.
        """
        return self._last_burst

    def feed(self, char: str, at: float) -> Scan | None:
        """Take one character; return the Scan it completes, or None.

        Raises InputError (after resetting the buffer) if it completes an invalid scan.
        """
        if not isinstance(char, str) or len(char) != 1:
            raise ValueError(f"feed() takes exactly one character, not {char!r}")

        if char in _BACKSPACE and self._literal != char:
            if self._chars:
                self._chars.pop()
                self._times.append(at)
            return None

        if char in _ENTER or (self._mode == "tab" and char == "\t"):
            text = "".join(self._chars)
            times = self._times + [at]
            return self._complete(text, times)

        self._chars.append(char)
        self._times.append(at)

        if self._literal:
            pending = "".join(self._chars[-len(self._literal) :])
            if pending == self._literal:
                text = "".join(self._chars[: -len(self._literal)])
                return self._complete(text, list(self._times))

        if self.prefix and len(self._chars) > len(self.prefix):
            if "".join(self._chars[-len(self.prefix) :]) == self.prefix:
                # A scan interrupted whatever was being typed: keep only the scan.
                del self._chars[: -len(self.prefix)]
                del self._times[: -len(self.prefix)]
        return None

    def _complete(self, text: str, times: list[float]) -> Scan | None:
        self._chars.clear()
        self._times.clear()
        if not _strip_edges(text):
            # Enter (or the suffix) on its own: nothing to report, keep the last hint.
            return None
        limit = self.burst_ms / 1000.0
        gaps = [later - earlier for earlier, later in zip(times, times[1:])]
        self._last_burst = bool(gaps) and all(gap < limit for gap in gaps)
        return parse_scan(text, prefix=self.prefix)
