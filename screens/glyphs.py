"""The symbols the screens draw, with plain stand-ins for the Linux console.

The Linux console's font (TERM=linux) lacks ✔ ✘ ⚑ ▶ › ⌫ and shows them as blobs; there
the screens draw OK, X, !, > instead. Looked up at draw time, so TERM decides per session.
"""

from __future__ import annotations

import os

UNICODE = {"ok": "✔", "refused": "✘", "flag": "⚑", "here": "▶", "prompt": "›", "backspace": "⌫", "queued": "■"}
PLAIN = {"ok": "OK", "refused": "X", "flag": "!", "here": ">", "prompt": ">", "backspace": "BkSp", "queued": "*"}


def plain_console() -> bool:
    """True on the Linux text console, whose font has no symbols beyond code page 437."""
    return os.environ.get("TERM", "") == "linux"


def glyph(name: str) -> str:
    """The symbol `name` (ok, refused, flag, here, prompt, backspace, queued) for this terminal."""
    return (PLAIN if plain_console() else UNICODE)[name]
