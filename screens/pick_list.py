"""A numbered pick-list: a digit picks; two digits when the list is longer than nine.

A digit picks at once when no longer number starts with it ("3" in a list of 12 picks 3;
"1" waits for a second digit, or Enter to take 1). Reason codes typed or scanned ($R:)
pick by code. Labels are user-configured text: always rendered as plain text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.style import Style
from rich.table import Table
from rich.text import Text

from floorterm.errors import InputError


@dataclass(frozen=True)
class Choice:
    value: str  # what the caller gets back: a reason code, a stage code, a job number
    label: str  # what the person reads
    code: str = ""  # shown beside the label and accepted when typed or scanned


@dataclass
class PickList:
    """The choices and the digits typed so far."""

    title: str
    choices: list[Choice]
    typed: str = field(default="")

    def digit(self, char: str) -> Choice | None:
        """Take one typed digit; return the choice it completes, or None while waiting."""
        typed = self.typed + char
        number = int(typed)
        if number == 0 or number > len(self.choices):
            self.typed = ""
            raise InputError(f"There is no choice {typed}: type a number from 1 to {len(self.choices)}")
        if number * 10 <= len(self.choices):
            self.typed = typed  # "1" in a list of 12: 10, 11 or 12 may follow
            return None
        self.typed = ""
        return self.choices[number - 1]

    def enter(self) -> Choice | None:
        """Enter after a waiting digit takes it; Enter alone picks nothing."""
        if not self.typed:
            return None
        number, self.typed = int(self.typed), ""
        return self.choices[number - 1]

    def backspace(self) -> bool:
        if not self.typed:
            return False
        self.typed = self.typed[:-1]
        return True

    def by_code(self, code: str) -> Choice | None:
        wanted = code.strip().upper()
        return next((c for c in self.choices if c.code and c.code.upper() == wanted), None)

    def renderable(self, columns: int = 1) -> Table:
        """The list as a table: '1  Dimension out of tolerance  DIM', in one or two columns."""
        grid = Table.grid(padding=(0, 2), expand=True)
        for _ in range(columns):
            grid.add_column(ratio=1)
        cells = [self._cell(i, c) for i, c in enumerate(self.choices, start=1)]
        rows = -(-len(cells) // columns)
        for r in range(rows):
            grid.add_row(*[cells[r + k * rows] if r + k * rows < len(cells) else Text("") for k in range(columns)])
        return grid

    def _cell(self, number: int, choice: Choice) -> Text:
        text = Text(no_wrap=True, overflow="ellipsis")
        waiting = bool(self.typed) and str(number).startswith(self.typed)
        key_style = Style(bold=True, reverse=True)
        text.append(f" {number:>2} ", style=key_style)
        text.append(" ")
        text.append(choice.label, style=Style(bold=waiting, underline=waiting))
        if choice.code:
            text.append(f"  {choice.code}", style=Style(dim=True))
        text.stylize(Style(meta={"@click": f"screen.pick({number})"}))
        return text
