"""What the kiosk draws, as Rich renderables built from plain values: the header, the big
banner, the idle panel, the keypad legend and the action bar. No state and no Textual here;
the screen (screens/kiosk.py) decides what to show and when.

User data (names, job numbers, messages that quote input) always goes in as plain Text.
"""

from __future__ import annotations

from rich.console import Group
from rich.style import Style
from rich.table import Table
from rich.text import Text

from floorterm.screens import kiosk_actions as ka
from floorterm.screens.glyphs import glyph
from floorterm.screens.widgets import job_delay_line, rework_line  # noqa: F401 (kiosk.py: view.job_delay_line)


def header(terminal_id: str, terminal_line: str, operator, now_text: str, link: str = "") -> Table:
    """Terminal on the left; OFFLINE / entries waiting, who is signed in (or NOT SIGNED IN)
    and the time on the right."""
    grid = Table.grid(expand=True)
    grid.add_column(ratio=1)
    grid.add_column(justify="right")
    left = Text()
    left.append(f" {terminal_id} ", style="bold reverse")
    left.append(f" {terminal_line}")
    right = Text()
    if link:
        right.append(f" {link} ", style="bold reverse")
        right.append(" ")
    if operator is None:
        right.append(" NOT SIGNED IN ", style="bold reverse")
    else:
        right.append(f" {operator.name} ", style="bold reverse")
        right.append(f" {operator.badge} · {operator.role}")
    right.append(f"  {now_text} ")
    grid.add_row(left, right)
    return grid


# The big box's first words, by outcome: state in words, never by colour alone.
BANNER_WORDS = {
    "saved": ("ok", "SAVED"),
    "not_saved": ("refused", "NOT SAVED"),
    "refused": ("refused", "REFUSED"),
    "blocked": ("refused", "CANNOT RECORD HERE"),
    "queued": ("queued", "QUEUED — OFFLINE"),
}


def banner(kind: str, message: str, detail: str, footer: str) -> Text:
    """The large box: SAVED / NOT SAVED / REFUSED / CANNOT RECORD HERE / QUEUED, then why."""
    symbol, words = BANNER_WORDS[kind]
    text = Text()
    text.append(f"{glyph(symbol)} {words}  ", style="bold")
    text.append(message, style="bold")
    if detail:
        text.append("\n" + detail)
    if footer:
        text.append("\n" + footer)
    return text


def message(text: str, kind: str) -> Text:
    """The message line; a refusal ("error") is a box of its own, as large as a success."""
    if not text:
        return Text("")
    if kind == "error":
        out = Text(f"{glyph('refused')} REFUSED  ", style="bold")
        out.append(text, style="bold")
        out.append("\nNothing was written.")
        return out
    label = {"ok": glyph("ok") + " ", "warn": "! "}.get(kind, "")
    return Text(label + text)


def panel(
    step: str,
    terminal_name: str,
    terminal_id: str,
    *,
    badge_for_entry: bool,
    signed_in: bool,
    recent: list[tuple[str, str]],
) -> Group:
    """The body when no card is shown: what to do next, and this operator's last entries."""
    big = Text(justify="center")
    if step == "signin":
        big.append("\nScan your badge\n", style="bold")
        big.append(f"{terminal_name} · {terminal_id}\n")
        if badge_for_entry:
            big.append("Your badge is needed to record this entry\n")
    elif step == "quit":
        big.append("\nClosing the kiosk needs a supervisor's badge\n", style="bold")
    else:
        big.append("\nScan or type job number\n", style="bold")
        if not signed_in:
            big.append("(you will be asked for your badge when you record)\n")
    parts = [big]
    if recent and step == "job":
        lines = Text("Your last entries here\n", style="bold")
        for stamp, message in recent[:5]:
            lines.append(f"{stamp}  {message}\n")
        parts.append(lines)
    return Group(*parts)


def keypad_legend(mode: str) -> list[tuple[str, str]]:
    """What the numeric keypad's keys do at a terminal of this mode (docs/kiosk.md has the same)."""
    kinds = ka.SLOT_KINDS[mode]
    main = ka.LABELS[kinds["main"]]
    rows = [("Enter", f"{main} typed qty, or all / OK"), ("+", f"{main} all / yes")]
    if "minus" in kinds:
        rows.append(("-", ka.LABELS[kinds["minus"]]))
    if "star" in kinds:
        rows.append(("*", "Delay / Resume" if kinds["star"] == "delay" else ka.LABELS[kinds["star"]]))
    if mode == "stores":
        rows.append(("1-9", "material line"))
    rows += [("/", "back / cancel / no"), ("0-9", "quantity or choice"), (glyph("backspace"), "delete a digit")]
    return rows


def side(mode: str, recent: list[tuple[str, str]]) -> Text:
    """The wide screen's side panel: the keypad map and this terminal's entries."""
    text = Text()
    text.append("Keypad\n", style="bold")
    for key, what in keypad_legend(mode):
        text.append(f" {key:<5}", style="bold reverse")
        text.append(f" {what}\n")
    if recent:
        text.append("\nEntries at this terminal\n", style="bold")
        for stamp, message in recent:
            text.append(f"{stamp} {message}\n")
    return text


def action_bar(items: list[tuple[str, str]], width: int) -> Text:
    """Key caps and labels, wrapped between items (never inside one); a click presses the key."""
    text = Text(no_wrap=True, overflow="crop")
    used = 0
    for keys, label in items:
        first = keys.split()[0].lower()
        click = {"enter": "enter", "esc": "escape", "any": "enter"}.get(first, first)
        size = len(keys) + len(label) + 5
        if used and used + size > width:
            text.append("\n")
            used = 0
        start = len(text)
        text.append(f" {keys} ", style="bold reverse")
        text.append(f" {label}  ")
        used += size
        if not first[0].isdigit() and first != "ctrl+q":
            text.stylize(Style(meta={"@click": f"screen.kiosk_key('{click}')"}), start, len(text))
    return text


def pick_list(pick, height: int) -> Group:
    """A pick-list with its title; two columns when one would not fit the height."""
    columns = 1 if len(pick.choices) + 2 <= height else 2
    title = Text(pick.title, style="bold")
    if pick.typed:
        title.append(f"   typed: {pick.typed}_  (Enter = {pick.typed}, or a second digit)")
    return Group(title, pick.renderable(columns))
