"""The kiosk's one line editor: shows the prompt and what is being typed or scanned.

It is not a focused Input: the kiosk screen feeds it every printable key, Backspace and
Enter, so a scan lands here whatever the screen is showing. A `ScanBuffer` (the core's
scan grammar, with the configured prefix and suffix) decides when a line is complete.
What is typed is untrusted: it is shown as plain text, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from floorterm.scan import MAX_SCAN_LEN, Scan, ScanBuffer
from floorterm.screens.glyphs import glyph


class LineEditor(Static):
    """Prompt, hint and the line being typed, with a steady (non-blinking) cursor."""

    def __init__(self, *, prefix: str = "", suffix: str = "enter", **kwargs):
        super().__init__("", **kwargs)
        self.buffer = ScanBuffer(prefix=prefix, suffix=suffix)
        self.prompt = ""
        self.hint = ""
        self.aside = ""  # a half-entered quantity kept while something else is scanned

    @property
    def text(self) -> str:
        return self.buffer.pending

    def ask(self, prompt: str, hint: str = "", *, keep: bool = False) -> None:
        """Show a new prompt; the typed line is cleared unless `keep`."""
        self.prompt, self.hint = prompt, hint
        if not keep:
            self.buffer.reset()
        self.refresh_line()

    def feed(self, char: str, at: float) -> Scan | None:
        """Take one character; return the completed Scan or None (InputError if invalid)."""
        if char not in "\r\n\t\b\x7f" and len(self.buffer.pending) >= MAX_SCAN_LEN:
            return None  # a stuck key must not grow the line without end
        try:
            return self.buffer.feed(char, at)
        finally:
            self.refresh_line()

    def set_text(self, text: str) -> None:
        """Put `text` back on the line (e.g. a kept quantity), as if typed."""
        self.buffer.reset()
        for ch in text:
            self.buffer.feed(ch, 0.0)
        self.refresh_line()

    def clear(self) -> None:
        self.buffer.reset()
        self.refresh_line()

    def refresh_line(self) -> None:
        line = Text(no_wrap=False)
        line.append(self.prompt, style="bold")
        if self.hint:
            line.append("  " + self.hint)
        line.append(f"\n{glyph('prompt')} ", style="bold")
        line.append(self.buffer.pending)  # user input: plain text
        line.append("█")  # a steady cursor: snapshots and slow terminals stay calm
        if self.aside:
            line.append(f"   (quantity {self.aside} kept aside)", style="italic")
        self.update(line)
