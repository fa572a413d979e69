"""The operator kiosk: who (badge) → which job → job card → record → confirmation.

One screen owns the keyboard. Every printable key, Backspace and Enter goes to one line
editor (a scan buffer with the configured prefix and suffix), and every completed line is
read by the step the flow is in; command barcodes ($A: $R: $Q: $B: $J:) work anywhere.
Function keys and the keypad's + - * / (when nothing is typed) pick actions, so a
scanner and a numeric keypad are enough for everything but notes.

Reads and writes run on the app's single store thread, so the screen stays live and shows
"saving…" while the ledger retries a busy store; an entry's UUID is made when its form opens
and reused on retry, so nothing is written twice. docs/kiosk.md describes the flow and keys.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import getpass
import os
import time
from dataclasses import dataclass, field
from typing import Callable

from rich.console import Group
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from floorterm.clock import format_duration, to_plant
from floorterm.errors import DomainError, FloortermError, InputError, StoreError
from floorterm.inputs import clean_text, parse_badge, parse_code, parse_job_number
from floorterm.kiosk_link import KioskLink, Queued
from floorterm.ledger import REASON_LISTS, Actor, Receipt, new_uuid
from floorterm.queries import JobCard, MaterialView, OperatorView
from floorterm.reports import Reports
from floorterm.scan import Scan
from floorterm.screens import kiosk_actions as ka
from floorterm.screens import kiosk_view as view
from floorterm.screens.store_watch import StoreChanged, watch_store
from floorterm.screens.glyphs import plain_console
from floorterm.screens.line_input import LineEditor
from floorterm.screens.pick_list import Choice, PickList
from floorterm.screens.widgets import card_renderable, history_renderable
from floorterm.store import STORE_AWAY

SYNC_SECONDS = 3.0  # how often the outbox is replayed (and the store looked for) in the background
SCRAP = "$SCRAP"  # the "scrap instead of rework" choice; cannot clash with a stage code
TEXT_FIELDS = ("note", "note?", "item2", "ref", "ref?")
PICK_FIELDS = ("reason", "target", "line", "supplier")
QTY_FIELDS = ("qty", "rejected?")  # digits, then Enter (Enter alone on rejected? = none)
QTY_PROMPTS = {
    "complete": "Complete how many at {step}?",
    "qc_pass": "Pass how many at {step}?",
    "dispatch": "Dispatch how many?",
    "send": "Send how many from {step} to a supplier?",
    "receive": "Receive how many good ones back at {step}?",
    "release": "Release how many to {first}?",
    "reject": "Reject how many at {step}?",
    "qc_fail": "Fail how many at {step}?",
    "rework": "Rework or scrap how many of the rejected at {step}?",
    "scrap": "Scrap how many at {step}?",
    "material_issue": "Issue how many {item}?",
    "material_return": "Return how many {item}?",
    "material_scrap": "Scrap how many {item}?",
    "material_substitute": "Substitute how many {item}?",
}
ALL_WORDS = {
    "complete": "all {n} pending",
    "qc_pass": "all {n} to inspect",
    "dispatch": "all {n} ready",
    "send": "all {n} waiting to be sent",
    "receive": "all {n} out",
    "release": "all {n} not yet released",
    "rework": "all {n}",
    "scrap": "all {n}",
    "material_issue": "all {n} {unit} still to issue",
}


@dataclass
class Form:
    """One entry being filled in. Its UUID is made when it opens and kept for every retry."""

    kind: str
    fields: list[str]
    stage: str | None = None
    item: str | None = None
    main: bool = False  # the card's default form: Esc leaves the job
    uuid: str = field(default_factory=new_uuid)
    values: dict = field(default_factory=dict)
    index: int = 0
    lines: dict = field(default_factory=dict)  # what was typed per field, kept after a failure
    out: list = field(default_factory=list)  # a receive: (supplier, name, qty, since) at suppliers now

    @property
    def field(self) -> str | None:
        return self.fields[self.index] if self.index < len(self.fields) else None

    @property
    def started(self) -> bool:
        return self.index > 0


@dataclass
class Question:
    text: str
    on_yes: Callable[[], None]
    on_no: Callable[[], None]


@dataclass
class Outcome:
    """What the big banner shows after an entry: saved, queued (offline) or not saved."""

    kind: str  # "saved" | "queued" | "not_saved" (kiosk_view.BANNER_WORDS)
    message: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.kind != "not_saved"


class KioskScreen(Screen):
    """The kiosk for one terminal."""

    AUTO_FOCUS = ""  # nothing takes focus: the screen reads every key itself

    def __init__(self, services, terminal_id: str, *, unlocked: bool = False, from_launcher: bool = False):
        super().__init__()
        self.services = services
        self.config = services.config
        self.terminal = self.config.terminal(terminal_id)
        self.unlocked = unlocked
        self.from_launcher = from_launcher
        self.operator: OperatorView | None = None
        self.step = "signin"
        self.card: JobCard | None = None
        self.stage: str | None = None
        self.material: str | None = None  # stores: the material line being worked on
        self.form: Form | None = None
        self.pick: PickList | None = None
        self.question: Question | None = None
        self.outcome: Outcome | None = None
        self.outcome_until = None
        self.busy: str | None = None  # "saving" / "reading" while the store thread works for us
        self.last_input = services.clock()
        self.last_receipts: dict[str, Receipt] = {}
        self.recent: list[tuple[str, str]] = []  # (plant time, message) of this terminal's entries
        self.last_entries: list[tuple[str, str]] = []  # the signed-in operator's, read from the store
        self.unexpected: list[BaseException] = []
        self._queued: list[tuple[str, str | None]] = []
        self._after_signin: Callable[[], None] | None = None
        self._before_quit: str | None = None
        self._message = ("", "")
        self._own_event_ids: set[int] = set()
        self._last_write: tuple[Callable[[], Receipt], Callable[[Receipt], None]] | None = None
        self._shown: dict[str, object] = {}  # widget → what it shows now (see _put)
        self._histories: dict[str, list[dict]] = {}  # job → latest entries, for wide screens
        self.link = KioskLink(
            services.store, services.ledger, services.queries, self.config, self.terminal.id, clock=services.clock
        )
        self.link_state = (False, 0, 0)  # (offline, waiting, refused on replay), for the header
        self._link_ready = False
        self._syncing = False

    # -- layout ---------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static("", id="kiosk-header")
        yield Static("", id="banner")
        with Horizontal(id="kiosk-main"):
            with VerticalScroll(id="body", can_focus=False):
                yield Static("", id="panel")
                yield Static("", id="picklist")
                yield Static("", id="card")
            yield Static("", id="side")
        yield Static("", id="kiosk-message")
        yield LineEditor(prefix=self.config.scanner.prefix, suffix=self.config.scanner.suffix, id="line")
        yield Static("", id="actions")

    @property
    def editor(self) -> LineEditor:
        return self.query_one("#line", LineEditor)

    def on_mount(self) -> None:
        self.title = f"{self.terminal.id} — {self.terminal.name}"
        self.set_class(plain_console(), "-console")
        self._wide(self.size.width)
        if self.terminal.badge_required:
            self._to_signin()
        else:
            self._to_job()
        self.set_interval(0.5, self.tick)
        self.run_worker(self._watch_store, thread=True, group="feed", exit_on_error=False)
        self._db(self.link.open, self._link_opened, self._read_failed, busy="reading")
        self.set_interval(SYNC_SECONDS, self.sync_outbox)

    def on_unmount(self) -> None:
        if self.services.executor is not None:
            self.services.executor.submit(self.link.close)  # the outbox belongs to the store thread

    def _link_opened(self, _result) -> None:
        self._link_ready = True
        self.sync_outbox(refresh=True)  # entries left by an earlier run go first

    def sync_outbox(self, refresh: bool = False) -> None:
        """Replay the outbox and refresh the offline copy, on the store thread, without blocking keys."""
        if not self._link_ready or self._syncing:
            return
        self._syncing = True

        async def run() -> None:
            loop = asyncio.get_running_loop()
            try:
                report = await loop.run_in_executor(self.services.executor, lambda: self.link.sync(refresh=refresh))
            except Exception as exc:  # an outbox that cannot be read: say so, keep working
                self.log_error(exc)
                self._say(f"The outbox could not be read ({type(exc).__name__}: {exc})", "warn")
                return
            finally:
                self._syncing = False
            self._synced(report)

        self.run_worker(run(), group="sync")

    def _synced(self, report) -> None:
        was_offline = self.link_state[0]
        self.link_state = (report.offline, report.waiting, report.refused_total)
        if report.refused and self.step not in ("result", "failed", "question"):
            n = len(report.refused)
            self._say(
                f"{n} queued entr{'y was' if n == 1 else 'ies were'} refused by the store: "
                "a supervisor sees the reason when signing in here",
                "warn",
            )
        elif report.saved and not report.offline and self.step not in ("result", "failed", "question"):
            self._say(f"Back online: {report.saved} queued entr{'y' if report.saved == 1 else 'ies'} saved", "ok")
        elif was_offline and not report.offline and self._message[0].startswith("OFFLINE"):
            self._say("")
        self._header()

    def on_resize(self, event: events.Resize) -> None:
        self._wide(event.size.width)
        self._show()

    def _wide(self, width: int) -> None:
        self.set_class(width >= 120, "-wide")

    # -- keys -------------------------------------------------------------------------------

    def on_key(self, event: events.Key) -> None:
        event.stop()
        event.prevent_default()
        self.key(event.key, event.character)

    def on_paste(self, event: events.Paste) -> None:
        event.stop()
        for ch in event.text:
            self.key("enter" if ch in "\r\n" else ch, ch if ch not in "\r\n" else None)

    def action_kiosk_key(self, key: str) -> None:
        """A click or touch on a key shown in the action bar."""
        self.key(key, key if len(key) == 1 else None)

    def action_pick(self, number: int) -> None:
        """A click or touch on a pick-list line."""
        for ch in str(number):
            self.key(ch, ch)
        if self.pick is not None and (self.pick.typed or (self._long_pick() and self.editor.text.isdigit())):
            self.key("enter", None)

    def key(self, key: str, char: str | None) -> None:
        """Handle one key from the keyboard, the scanner, a paste or a click."""
        self.last_input = self.services.clock()
        if self.busy:
            self._queued.append((key, char))  # replayed in order once the store answers
            return
        if self.step == "result":
            self._dismiss_outcome()
            if not (char and (char.isalnum() or char == "$" or char in self.config.scanner.prefix)):
                return  # the key only dismissed the banner; a scan's first character goes on
        if key in ka.FKEY_SLOTS:
            self._slot(ka.FKEY_SLOTS[key])
        elif key == "escape":
            self._slot("back")
        elif key in ("pageup", "pagedown", "up", "down", "home", "end"):
            self._scroll(key)
        elif key == "backspace":
            if self.pick is not None and not self.editor.text and self.pick.backspace():
                self._show()
            else:
                self.editor.feed("\b", time.monotonic())
        elif key == "enter":
            self._feed("\r")
        elif key == "tab":
            if self.config.scanner.suffix == "tab":
                self._feed("\t")
        elif char and len(char) == 1 and char.isprintable():
            self._printable(char)
        self._actions()  # e.g. "Enter Complete 12" once 12 is typed

    def _printable(self, char: str) -> None:
        text = self.editor.text
        field = self._field()
        if not text and char in ka.SYMBOL_SLOTS and field not in TEXT_FIELDS:
            self._slot(ka.SYMBOL_SLOTS[char])
            return
        if field == "rejected?" and text.isdigit() and char == "+":
            self.editor.clear()
            self._submit_field(text)  # "3" then "+": 3 rejected on receipt, as Enter
            return
        if field == "qty" and text.isdigit() and char in ka.SYMBOL_SLOTS:
            # "3" then "-": reject 3, as the key bar says (a keypad has no F2).
            self.editor.aside = text
            self.editor.clear()
            self._slot(ka.SYMBOL_SLOTS[char])
            return
        if not text and char.isdigit() and self.pick is not None and field != "qty" and not self._long_pick():
            self._pick_digit(char)
            return
        if not text and char.isdigit() and self.step == "card" and self.form is None:
            self._nothing_to_record()
            return
        prefix = self.config.scanner.prefix
        if field == "qty" and text.isdigit() and (char == "$" or (prefix and char == prefix[0])):
            # A quantity was half typed and a command scan is arriving: keep the quantity
            # aside; the scan decides what happens to it ($A:REJECT rejects it, $J: asks).
            self.editor.aside = text
            self.editor.clear()
        self._feed(char)

    def _feed(self, char: str) -> None:
        try:
            scan = self.editor.feed(char, time.monotonic())
        except InputError as exc:
            if self.card is not None and self.step in ("card", "form"):
                dropped = self._half_entry_words()
                self._to_job()  # an unreadable scan never leaves the job armed
                self._say(str(exc) + dropped, "error")
            else:
                self._say(str(exc), "error")
            return
        if char in "\r\t" or scan is not None:
            if scan is None:
                self._empty_enter()
            else:
                self._say("")
                self._line(scan)

    def _long_pick(self) -> bool:
        """A pick-list of 10 or more: its number is typed on the line, then Enter."""
        return self.pick is not None and len(self.pick.choices) >= 10

    def _pick_number(self, text: str) -> None:
        """A number typed on the line for a long pick-list, then Enter."""
        number = int(text)
        if not 1 <= number <= len(self.pick.choices):
            self._refuse(f"There is no choice {text}: type a number from 1 to {len(self.pick.choices)}")
            return
        self._picked(self.pick.choices[number - 1])

    def _field(self) -> str | None:
        if self.step in ("card", "form") and self.form is not None:
            return self.form.field
        if self.step == "pickjob":
            return "job"
        return None

    # -- completed lines ---------------------------------------------------------------------

    def _line(self, scan: Scan) -> None:
        """A completed scan or typed line."""
        if scan.kind == "badge":
            self._badge(scan.value)
        elif scan.kind == "action":
            self._scan_action(scan.value)
        elif scan.kind == "job":
            self._switch_job(scan.value)
        elif scan.kind == "qty":
            self._scan_qty(scan.value)
        elif scan.kind == "reason":
            self._scan_reason(scan.value)
        else:
            self._plain(scan.value)

    def _plain(self, text: str) -> None:
        step = self.step
        if step in ("signin", "quit"):
            self._badge(text)
        elif step == "pickjob" and text.isdigit() and self._long_pick():
            self._pick_number(text)
        elif step in ("job", "pickjob"):
            self._open_job(text)
        elif step == "question":
            self._say("Enter = yes, Esc = no", "error")
        elif step == "failed":
            self._say("Enter = try again, Esc = change the entry", "error")
        elif step == "card" and self.form is None:
            if text.isdigit():
                self._nothing_to_record()
            else:
                self._switch_job(text)
        elif step in ("card", "form"):
            field = self._field()
            if field in QTY_FIELDS and text.isdigit():
                self._submit_field(text)
            elif field in TEXT_FIELDS:
                self._submit_field(text)
            elif field in PICK_FIELDS and self.pick is not None and self.pick.by_code(text):
                self._picked(self.pick.by_code(text))
            elif field in PICK_FIELDS and text.isdigit() and self._long_pick():
                self._pick_number(text)
            else:
                self._qty_or_job(text)

    def _empty_enter(self) -> None:
        step = self.step
        if step == "question":
            self._answer(True)
        elif step == "failed":
            self._retry()
        elif self.pick is not None and self.pick.typed:
            choice = self.pick.enter()
            self._picked(choice)
        elif step == "card" and self.form is None:
            self._nothing_to_record()
        elif step in ("card", "form") and self.form is not None:
            field = self.form.field
            if field in ("qty", "rejected?", "note?", "note", "item2", "ref", "ref?"):
                self._submit_field("")
            elif field in PICK_FIELDS:
                self._say(f"Type the number of your choice (1-{len(self.pick.choices)})", "error")
        elif step == "signin":
            self._say("Scan your badge (or type it and press Enter)", "error")
        elif step == "job":
            self._say("Scan or type a job number, then Enter", "error")

    def _scan_action(self, action: str) -> None:
        slot = {
            "COMPLETE": "main",
            "PASS": "main",
            "REJECT": "minus",
            "FAIL": "minus",
            "DELAY": "star",
            "RESUME": "star",
            "START": "start",
            "REWORK": "dispose",
            "SCRAP": "dispose",
            "NOTE": "note",
            "UNDO": "undo",
            "SIGNOUT": "signout",
            "CANCEL": "back",
        }.get(action)
        if action == "ENTER":
            kept, self.editor.aside = self.editor.aside, ""
            if kept:  # "12" typed, then the ENTER barcode: as if Enter was pressed after 12
                self.editor.set_text(kept)
                self._feed("\r")
            else:
                self._empty_enter()
        elif action == "SCRAP" and self.form is not None and self.form.field == "target":
            self._picked(self.pick.choices[1])
        elif slot is not None:
            self._slot(slot)

    def _scan_qty(self, qty: int) -> None:
        if self._field() == "qty":
            self.editor.aside = ""
            self._submit_field(str(qty))
        else:
            self._say(f"A quantity ({qty}) was scanned, but no quantity is asked for now", "error")

    def _scan_reason(self, code: str) -> None:
        if self.form is not None and self.form.field == "reason" and self.pick is not None:
            choice = self.pick.by_code(code)
            if choice is None:
                self._say(f"{code} is not on this list: pick one of the numbers shown", "error")
            else:
                self._picked(choice)
        else:
            self._say(
                f"Reason {code} was scanned, but no reason is asked for now: choose Reject (-) or Delay (*) first",
                "error",
            )

    # -- slots (actions on keys) ---------------------------------------------------------------

    def _slot(self, slot: str) -> None:
        self._say("")
        if slot == "back":
            self._back()
            return
        if self.step == "question":
            if slot == "main":
                self._answer(True)
            return
        if self.step == "failed":
            if slot == "main":
                self._retry()
            return
        if slot == "signout":
            if self.operator is not None:
                self._sign_out("Signed out")
            return
        if slot == "undo":
            self._undo()
            return
        if self.step not in ("card", "form") or self.card is None:
            if self.step in ("job", "pickjob"):
                self._say("Scan or type a job number first", "error")
            return
        if self.step == "form" and self.form is not None and not self.form.main:
            # An entry is being filled in: + confirms its quantity; other actions wait.
            if slot == "main" and self.form.field == "qty":
                typed = self.editor.aside or self.editor.text
                self.editor.aside = ""
                self._submit_field(typed)
            else:
                if self.editor.aside:
                    self.editor.set_text(self.editor.aside)
                    self.editor.aside = ""
                what = ka.LABELS.get(self.form.kind, self.form.kind).lower()
                self._say(f"Finish this {what} first, or Esc to cancel it", "error")
            return
        mode = self._mode()
        kind = ka.SLOT_KINDS[mode].get(slot)
        why_not = self._blocked()
        if why_not and not (kind == "delay" and ka.delay_anyway(mode, self.card, self.stage)):
            self._refuse(why_not)
            return
        if kind is None:
            self._say(f"{ka.SLOT_KEYS[slot][0].upper()} does nothing at this terminal", "error")
            return
        step = self.card.step(self.stage) if self.stage else None
        if kind == "delay" and step is not None and step.open_delay:
            kind = "resume"
        role = self.operator.role if self.operator else None
        if not ka.role_may(role, kind):
            self._say(ka.role_refusal(self.operator.name, role, kind), "error")
            return
        if slot == "main" and self.form is not None and self.form.main and self.form.kind == kind:
            typed = self.editor.aside or self.editor.text
            self.editor.aside = ""
            self._submit_field(typed)
            return
        self._start(kind)

    def _start(self, kind: str) -> None:
        """Open the form for `kind` on the current card."""
        line = self._material_line()
        why = ka.refusal(kind, self.card, self.stage, line)
        if why:
            self._say(why, "error")
            return
        typed = self.editor.aside or (self.editor.text if self.editor.text.isdigit() else "")
        self.editor.aside = ""
        fields = {
            "complete": ["qty"],
            "qc_pass": ["qty", "note?"],
            "dispatch": ["qty", *self._reference_fields()],
            "send": self._outside_fields("send"),
            "receive": self._outside_fields("receive"),  # + supplier when several have units, + reason
            "release": ["qty"],
            "reject": ["qty", "reason"],
            "qc_fail": ["qty", "reason", "note?"],
            "rework": ["qty", "target", "note?"],
            "delay": ["reason"],
            "resume": [],
            "start": [],
            "note": ["note"],
            "material_issue": ["qty"],
            "material_return": ["qty"],
            "material_scrap": ["qty", "reason"],
            "material_substitute": ["qty", "item2"],
        }[kind]
        stage = None if kind in ("release", "dispatch") or kind.startswith("material_") else self.stage
        if kind == "note" and self._mode() in ("stores", "material"):
            stage = None
        self.form = Form(
            kind,
            fields,
            stage=stage,
            item=self.material if kind.startswith("material_") else None,
            main=kind == "material_issue",
        )
        self.step = "form"
        if not fields:
            self._submit()
            return
        self._open_field()
        if typed and self.form.field == "qty":
            self._submit_field(typed)
        elif typed:
            self._say(f"{ka.LABELS[kind]} takes no quantity: the {typed} typed is not used", "warn")
        warning = ka.release_warning(self.config, self.card) if kind == "release" else ""
        if warning and self.form is not None and self.form.kind == "release" and self.step == "form":
            self._say(warning, "warn")

    def _back(self) -> None:
        step = self.step
        if step == "question":
            self._answer(False)
        elif step == "failed":
            self._edit_failed()
        elif step == "quit":
            self.step = self._before_quit or "signin"
            self._to_step()
        elif self.pick is not None and self.pick.typed:
            self.pick.typed = ""
            self._show()
        elif self.editor.text or self.editor.aside:
            self.editor.aside = ""
            self.editor.clear()
        elif step in ("card", "form") and self.form is not None and (not self.form.main or self.form.started):
            self._to_card()  # leave the entry (or a main entry half filled in, e.g. at its notes)
        elif step in ("card", "form") and self.material is not None:
            self.material = None  # stores: leave the material line, back to picking one
            self._to_card()
        elif step in ("card", "form", "pickjob"):
            self._to_job()
        elif step == "job" and self.operator is not None and not self.from_launcher:
            self._say("Esc does not sign you out: F9 signs out", "info")
        elif step in ("job", "signin") and self.from_launcher:
            self.app.pop_screen()
        elif step == "signin" and self._after_signin is not None:
            self._after_signin = None
            self.step = "card" if self.card else "job"
            self._to_step()

    # -- sign in / out -------------------------------------------------------------------------

    def _badge(self, text: str) -> None:
        try:
            badge = parse_badge(text)
        except InputError as exc:
            self._say(str(exc), "error")
            return

        def read():
            op = self.link.operator(badge)
            return op, op is None and self._is_job(badge)

        self._read(read, lambda found: self._signed_in(badge, *found))

    def _is_job(self, number: str) -> bool:
        """On the store thread: is this a job number (to say so when it is scanned as a badge)?"""
        try:
            self.link.job_card(number)
            return True
        except FloortermError:
            return False

    def _signed_in(self, badge: str, op: OperatorView | None, is_job: bool = False) -> None:
        if op is None:
            if is_job:
                self._say(f"{badge} is a job: scan your badge first, then the job", "error")
            else:
                self._say(f"Unknown badge {badge}: ask your supervisor to add it", "error")
            return
        if not op.active:
            self._say(f"Badge {badge} ({op.name}) is disabled: ask your supervisor", "error")
            return
        if self.step == "quit":
            if op.role == "supervisor":
                self.app.exit()
            else:
                self._say(f"{op.name} is not a supervisor: only a supervisor's badge closes the kiosk", "error")
            return
        switching = self.operator is not None and self.operator.badge != op.badge
        self.operator = op
        if op.role == "viewer":
            self._say(f"Signed in: {op.name} (viewer) — you may look jobs up but not record", "info")
        else:
            self._say(f"Signed in: {op.name}" if not switching else f"Now signed in: {op.name} ({op.role})", "ok")
        if self.step == "signin" and self._after_signin is not None:
            then, self._after_signin = self._after_signin, None
            then()
            return
        if self.step == "signin":
            self._to_job()
            if op.role == "supervisor" and self.link_state[2]:
                self._read(self.link.refused, self._show_refusals)
            return
        if self.form is not None and not ka.role_may(op.role, self.form.kind) and self.form.kind != "material_pick":
            if self.form.started or not self.form.main or self.editor.aside:
                self._say(ka.role_refusal(op.name, op.role, self.form.kind) + " — the entry is dropped", "error")
            self.editor.aside = ""
            self._to_card()
            return
        if self.step == "card":
            self._to_card(keep_line=True)
        if self.editor.aside:  # a badge scanned mid-entry: the quantity stays
            self.editor.set_text(self.editor.aside)
            self.editor.aside = ""
        self._show()

    def _show_refusals(self, entries) -> None:
        """Entries queued here that the store refused on replay: shown to a supervisor, kept until handled."""
        if not entries:
            return
        n = len(entries)
        lines = [
            f"{e.job}  {e.words} ({e.badge}, {to_plant(e.client_time, self.config.tz):%a %H:%M}): {e.refusal}"
            for e in entries[:6]
        ]
        if n > 6:
            lines.append(f"… and {n - 6} more")
        lines.append(
            f"Retry or discard: floorterm outbox retry|discard --terminal {self.terminal.id} "
            "(the board lists them under Exceptions)"
        )
        self._show_outcome(
            Outcome(
                "not_saved",
                f"{n} entr{'y' if n == 1 else 'ies'} queued here {'was' if n == 1 else 'were'} refused by the store",
                "\n".join(lines),
            )
        )
        self.outcome_until = None  # stays until the supervisor presses a key

    def _sign_out(self, why: str) -> None:
        self.operator = None
        self.last_entries = []
        self.card = None
        self.form = None
        self.pick = None
        self.material = None
        self.question = None
        self._after_signin = None
        self.editor.aside = ""
        if self.terminal.badge_required:
            self._to_signin()
        else:
            self._to_job()
        self._say(why, "info")

    def ask_quit(self) -> None:
        """The quit key on a locked kiosk: a supervisor's badge is needed."""
        if self.step != "quit":
            self._before_quit = self.step if self.step in ("signin", "job") else "job"
            if self._before_quit == "job" and self.operator is None and self.terminal.badge_required:
                self._before_quit = "signin"
        self.step = "quit"
        self.form = self.pick = None
        self.card = None
        self.editor.ask("Supervisor: scan your badge to close the kiosk", "Esc = cancel")
        self._show()

    # -- which job ------------------------------------------------------------------------------

    def _open_job(self, text: str) -> None:
        if self.operator is None and self.terminal.badge_required:
            self._say("Scan your badge first, then the job", "error")
            return
        try:
            number = parse_job_number(text)
        except InputError as exc:
            self._to_job()  # whatever was scanned, no job stays armed
            self._say(str(exc), "error")
            return
        stages = self.terminal.stages if self.terminal.kind != "stores" else None

        def read():
            try:
                return self._fetch_card(number), []
            except DomainError:
                return None, self.link.find_jobs(number, stages=stages)

        self._read(read, lambda found: self._found(number, *found))

    def _found(self, number: str, card: JobCard | None, matches) -> None:
        if card is not None:
            if card.status in ("dispatched", "closed"):
                self._to_job()
                self._say(f"Job {card.number} is closed ({card.status_text}): nothing more to record", "error")
                return
            self._show_card(card)
            return
        where = ", ".join(self.config.stage(s).name for s in self.terminal.stages)
        if not matches:
            self._to_job()
            offline = (
                " (the store is away: only this terminal's open jobs are known offline)" if self.link.offline else ""
            )
            self._say(f"No job {number}, and no open job at {where} has {number} in its number{offline}", "error")
            return
        if len(matches) == 1:
            self._say(f"{matches[0].number} is the only open job at {where} matching {number}", "info")
            self._open_job(matches[0].number)
            return
        choices = [
            Choice(
                j.number,
                f"{j.number}  {j.customer} · {j.product} · {j.status}"
                + (f" at {self.config.stage(j.current_stage).name}" if j.current_stage else ""),
            )
            for j in matches
        ]
        self.pick = PickList(f"Open jobs at {where} matching {number}", choices)
        self.step = "pickjob"
        self.card = None
        self.editor.ask("Which job? Type its number in the list", f"{len(choices)} match {number} · Esc = back")
        self._show()

    def _qty_or_job(self, text: str) -> None:
        """A line that is not a plain quantity, on a card: another job (maybe scanned right
        after a half-typed quantity, '12J-1002'), else a mistyped quantity ('1e3')."""
        field = self._field()
        head = text[: len(text) - len(text.lstrip("0123456789"))]
        candidates = [text] + ([text[len(head) :]] if head and field == "qty" else [])

        def read():
            for candidate in candidates:
                try:
                    return candidate, self._fetch_card(candidate)
                except FloortermError:
                    continue
            return None, None

        def done(found) -> None:
            number, card = found
            if card is not None:
                if number != text:
                    self.editor.aside = head
                self._switch_job(number)
                return
            if field == "qty" and text[:1].isdigit():
                # A mistyped quantity ("1O", "1e3"): the job stays, the line is cleared.
                try:
                    ka.check_qty(self.form.kind, text, self.card, self.stage, self._material_line())
                    self._refuse(f"{text} is not a quantity: type digits only")
                except InputError as exc:
                    self._refuse(f"You typed {text}: {exc}")
            elif field in PICK_FIELDS and not any(ch.isdigit() for ch in text):
                self._refuse(f"{text} is not one of the choices: type the number of a choice")
            else:
                # Not a quantity and not a job: most likely a wrong barcode. Nothing stays armed.
                dropped = self._half_entry_words()
                self._to_job()
                self._say(f"No job {text}: scan or type the whole job number" + dropped, "error")

        self._read(read, done)

    def _half_entry_words(self) -> str:
        """' — the reject entry for J-1 was dropped, nothing saved' when a form was half done."""
        form = self.form
        if form is None or self.card is None or (form.main and not form.started):
            return ""
        what = ka.LABELS.get(form.kind, form.kind).lower()
        return f" — the {what} entry for {self.card.number} was dropped, nothing saved"

    def _switch_job(self, text: str) -> None:
        """Another job scanned while a card is open: ask first if an entry is half done."""
        if self.step not in ("card", "form"):
            self._open_job(text)
            return
        try:
            parse_job_number(text)
        except InputError as exc:
            self._to_job()  # a bad scan never leaves the old job armed
            self._say(str(exc), "error")
            return
        half = self.editor.aside
        form = self.form
        if not half and not (form is not None and not form.main and form.started):
            self._open_job(text)
            return
        what = f"quantity {half}" if half else f"{ka.LABELS.get(form.kind, form.kind).lower()} entry"
        current = self.card.number if self.card else "this job"

        def yes():
            self.editor.aside = ""
            self._open_job(text)

        def no():
            self.editor.aside = ""
            self.step = "form" if not (self.form and self.form.main) else "card"
            self._open_field(keep=True)
            if half:
                self.editor.set_text(half)

        self._ask(f"Discard the half-entered {what} for {current}?", yes, no)

    # -- the card -----------------------------------------------------------------------------

    def _show_card(self, card: JobCard) -> None:
        same_job = self.card is not None and self.card.number == card.number
        self.card = card
        if not same_job:
            self.material = None
        self.stage = ka.stage_for(self.terminal, card)
        self._to_card()
        if self._blocked() and getattr(self.config.kiosk, "bell", True):
            self.app.bell()  # as loud as any refusal: the banner says why
        if self.link.offline:
            self._say_offline_copy()

    def _say_offline_copy(self) -> None:
        """Working from the offline copy: say how old its numbers are, and warn when too old."""
        taken = self.link.snapshot_taken_at()
        if taken is None:
            return
        at = to_plant(taken, self.config.tz)
        age = (self.services.clock() - taken).total_seconds()
        limit = getattr(self.config.kiosk, "offline_snapshot_max_age_minutes", 60) * 60
        words = f"OFFLINE: numbers as of {at:%H:%M}; entries are queued and sent when the store answers"
        if age > limit:
            words = (
                f"OFFLINE: numbers as of {at:%a %H:%M}, {format_duration(age)} old — "
                "they may be out of date; entries are queued"
            )
        self._say(words, "warn")

    def _blocked(self) -> str | None:
        """Why nothing can be recorded on the open card at this terminal; None if something can."""
        if self.card is None:
            return None
        where = ", ".join(self.config.stage(s).name for s in self.terminal.stages)
        return ka.blocked(self._mode(), self.card, self.stage, where)

    def _nothing_to_record(self) -> None:
        """A quantity or Enter on a card where this operator has no main entry: say why."""
        mode = self._mode()
        kind = "material_issue" if mode == "stores" else ka.SLOT_KINDS[mode]["main"]
        role = self.operator.role if self.operator else None
        why_not = self._blocked()
        if why_not:
            self._refuse(why_not)
        elif self.operator is not None and not ka.role_may(role, kind):
            self._say(ka.role_refusal(self.operator.name, role, kind), "error")
        elif self.stage is None and mode != "stores":
            where = ", ".join(self.config.stage(s).name for s in self.terminal.stages)
            self._say(f"Job {self.card.number} does not pass {where}: nothing to record here", "error")
        else:
            self._say(f"Job {self.card.number} lists no material", "error")

    def _mode(self) -> str:
        if self.material is not None:
            return "material"
        return ka.mode_for(self.config, self.terminal, self.stage)

    def _material_line(self) -> MaterialView | None:
        if self.card is None or self.material is None:
            return None
        return next((m for m in self.card.material if m.item == self.material), None)

    def _main_form(self) -> Form | None:
        """The form a card opens with: the main quantity (or, at stores, the material line)."""
        role = self.operator.role if self.operator else None
        mode = self._mode()
        if self._blocked():
            return None
        if mode == "stores":
            if not self.card.material or not ka.role_may(role, "material_issue"):
                return None
            return Form("material_pick", ["line"], main=True)
        if mode == "material":
            if not ka.role_may(role, "material_issue"):
                return None
            return Form("material_issue", ["qty"], item=self.material, main=True)
        if self.stage is None:
            return None
        kind = ka.SLOT_KINDS[mode]["main"]
        if mode == "outside" and ka.available("send", self.card, self.stage) <= 0:
            kind = "receive"  # everything here is at a supplier: Enter receives
        if not ka.role_may(role, kind):
            return None
        if mode == "outside":
            return Form(kind, self._outside_fields(kind), stage=self.stage, main=True)
        stage = None if kind == "dispatch" else self.stage
        fields = ["qty", *self._reference_fields()] if kind == "dispatch" else ["qty"]
        if kind == "qc_pass":
            fields.append("note?")  # inspection notes, Enter alone skips
        return Form(kind, fields, stage=stage, main=True)

    def _outside_fields(self, kind: str) -> list[str]:
        if kind == "send":
            return ["qty", "supplier", *self._reference_fields()]
        return ["qty", "rejected?"]

    def _reference_fields(self) -> list[str]:
        """The delivery note / shipment reference asked on dispatch: [kiosk] dispatch_reference."""
        wanted = getattr(self.config.kiosk, "dispatch_reference", "optional")
        return {"required": ["ref"], "optional": ["ref?"]}.get(wanted, [])

    def _to_card(self, keep_line: bool = False) -> None:
        self.step = "card"
        self.question = None
        self.form = self._main_form()
        self.pick = None
        if self.form is None:
            role = self.operator.role if self.operator else None
            hint = "you may look only" if role == "viewer" else "Esc = back"
            if self._blocked():
                hint = "nothing to record here · Esc = back"
            self.editor.ask("Scan another job number", hint, keep=keep_line)
        else:
            self._open_field(keep=keep_line)
        self._show()

    def _open_field(self, keep: bool = False) -> None:
        """Ask for the form's current field."""
        form = self.form
        field = form.field
        self.pick = None
        if field == "qty":
            prompt, hint = self._qty_prompt(form)
            self.editor.ask(prompt, hint, keep=keep)
        elif field == "reason":
            reasons = self.config.reasons(REASON_LISTS.get(form.kind, "reject"))
            title = "Why? Pick the reason"
            qty = form.values.get("qty")
            what = f"{ka.LABELS[form.kind].lower()} {qty}" if qty else ka.LABELS[form.kind].lower()
            if form.kind == "receive":
                title = "Why were they rejected on receipt? Pick the reason"
                what = f"the {form.values.get('rejected')} rejected on receipt"
            line = self._material_line()
            if form.kind == "material_issue" and line is not None:
                extra = (qty or 0) - line.short
                title = f"Extra issue: {extra} {line.unit} of {line.item} beyond the bill of materials. Why?"
                what = f"the extra {extra} {line.unit}"
            self.pick = PickList(title, [Choice(r.code, r.label, r.code) for r in reasons])
            then = ", then Enter" if len(reasons) >= 10 else ""
            self.editor.ask(
                f"Reason for {what}: type its number{then}", "or scan the reason barcode · Esc = back", keep=keep
            )
        elif field == "target":
            here = self.card.step(form.stage)
            qty = form.values["qty"]
            choices = [Choice(here.stage, f"Rework here at {here.name}"), Choice(SCRAP, "Scrap (pick a reason next)")]
            for s in reversed([s for s in self.card.steps if s.seq < here.seq and s.kind != "dispatch"]):
                choices.append(Choice(s.stage, f"Rework at {s.name}"))
            self.pick = PickList(f"What happens to the {qty} rejected at {here.name}?", choices)
            self.editor.ask(f"Rework or scrap {qty}: type its number", "Esc = decide later", keep=keep)
        elif field == "supplier":
            self._open_supplier(form, keep)
        elif field == "rejected?":
            good = form.values.get("qty", 0)
            self.editor.ask(
                f"{good} good back. Any rejected on receipt? Type how many, then Enter",
                "Enter alone = none · Esc = back",
                keep=keep,
            )
        elif field == "line":
            lines = self.card.material
            self.pick = PickList("Material line", [Choice(m.item, m.item, m.item) for m in lines])
            release = "+ release job" if self._may("release") and self.card.released < self.card.qty else ""
            self.editor.ask(f"Material line? Type its number (1-{len(lines)})", release, keep=keep)
        elif field in ("note", "note?"):
            optional = field == "note?"
            what = "Inspection notes" if form.kind in ("qc_pass", "qc_fail") else "Note"
            self.editor.ask(
                f"{what} (optional): type, then Enter" if optional else "Type the note, then Enter",
                "Enter alone = no notes" if optional else "Esc = cancel",
                keep=keep,
            )
        elif field in ("ref", "ref?"):
            qty = form.values.get("qty")
            hint = "Enter alone = none · Esc = back" if field == "ref?" else "required here · Esc = back"
            what = f"sending {qty}" if form.kind == "send" else f"dispatching {qty}"
            self.editor.ask(f"Delivery note or shipment reference for {what}? Scan or type it", hint, keep=keep)
        elif field == "item2":
            self.editor.ask(
                f"Scan or type the item issued instead of {form.item}", "then Enter · Esc = cancel", keep=keep
            )
        self._show()

    def _open_supplier(self, form: Form, keep: bool) -> None:
        """The supplier pick-list: to send, the stage's usual suppliers first, then the rest;
        to receive, the suppliers that have units of this step now."""
        qty = form.values.get("qty")
        tz = self.config.tz
        if form.kind == "send":
            usual = set(self.config.stage(form.stage).suppliers)
            choices = [
                Choice(s.code, s.name + ("  (usual)" if s.code in usual else ""), s.code)
                for s in self.config.stage_suppliers(form.stage)
            ]
            title = f"Send {qty} to which supplier?"
        else:
            choices = [
                Choice(code, f"{name} — {n} out since {to_plant(since, tz):%a %H:%M}", code)
                for code, name, n, since in form.out
            ]
            title = f"Receive {qty} from which supplier?"
        self.pick = PickList(title, choices)
        then = ", then Enter" if len(choices) >= 10 else ""
        self.editor.ask(f"Supplier: type its number{then}", "or scan or type its code · Esc = back", keep=keep)

    def _qty_prompt(self, form: Form) -> tuple[str, str]:
        card = self.card
        line = self._material_line()
        step_name = card.step(self.stage).name if self.stage else ""
        first = card.steps[0].name
        prompt = QTY_PROMPTS[form.kind].format(step=step_name, first=first, item=form.item or "")
        try:
            n = ka.available(form.kind, card, self.stage, line)
        except (KeyError, ValueError):
            n = 0
        unit = f" {line.unit}" if line is not None and form.kind.startswith("material_") else ""
        if form.kind == "material_issue" and n <= 0:
            hint = "all issued · a number = an extra issue, with a reason"
        elif form.kind in ALL_WORDS:
            words = ALL_WORDS[form.kind].format(n=n, unit=unit.strip())
            hint = f"Enter = {words}" if n > 0 else "nothing left to record here"
        else:
            what = {"reject": "pending", "qc_fail": "to inspect", "material_substitute": "short"}.get(
                form.kind, "issued"
            )
            hint = f"{n}{unit} {what} · type a number, then Enter"
        return prompt, hint

    def _may(self, kind: str) -> bool:
        return ka.role_may(self.operator.role if self.operator else None, kind)

    # -- filling in a form -----------------------------------------------------------------------

    def _submit_field(self, text: str) -> None:
        form = self.form
        if form is None:
            return
        field = form.field
        try:
            if field == "qty":
                value = ka.check_qty(form.kind, text, self.card, self.stage, self._material_line())
            elif field == "note":
                value = clean_text(text, field="note")
                if not value:
                    raise InputError("The note is empty: type it, or Esc to cancel")
            elif field == "note?":
                value = clean_text(text, field="note")
            elif field == "rejected?":
                most, where = self._receivable(form)
                value = ka.check_rejected(text, form.values.get("qty", 0), most, where)
            elif field == "item2":
                value = parse_code(text, field="substitute item")
            elif field in ("ref", "ref?"):
                value = clean_text(text, field="delivery note")
                if field == "ref" and not value:
                    raise InputError("A delivery note or shipment reference is required here: scan or type it")
                if len(value) > 64:
                    raise InputError(f"The reference is {len(value)} characters long; at most 64")
            else:
                return
        except InputError as exc:
            if field in QTY_FIELDS:
                said = str(exc) if not text.strip() or text.strip() in str(exc) else f"You typed {text}: {exc}"
                self._refuse(said)  # cleared: the prompt's "Enter = all" must not sit beside a bad number
            else:
                self._say(str(exc), "error")
                self.editor.set_text(text)  # a note or item code: keep it so it can be corrected
            return
        form.values[field.rstrip("?")] = value
        form.lines[field] = text
        if field == "qty" and ka.is_extra_issue(form.kind, value, self._material_line()):
            if "reason" not in form.fields:  # an extra issue says why: the extra_issue pick-list
                form.fields.insert(form.index + 1, "reason")
        elif field == "qty" and form.kind == "material_issue" and "reason" in form.fields:
            form.fields.remove("reason")  # typed again, and no longer beyond what is still to issue
            form.values.pop("reason", None)
        elif field == "qty" and form.kind == "receive":
            step = self.card.step(form.stage)
            if step.outside is not None and step.outside.suppliers > 1 and "supplier" not in form.fields:
                self._read_out(form)  # which supplier: asked only when several have units
                return
        elif field == "rejected?":
            if value and "reason" not in form.fields:
                form.fields.insert(form.index + 1, "reason")
            elif not value and "reason" in form.fields:
                form.fields.remove("reason")
                form.values.pop("reason", None)
        self._next_field()

    def _receivable(self, form: Form) -> tuple[int, str]:
        """How many may come back on this receive, and from where in words."""
        step = self.card.step(form.stage)
        supplier = form.values.get("supplier")
        if supplier:
            there = sum(n for code, _, n, _ in form.out if code == supplier)
            return there, f"of this job at supplier {self.config.supplier_name(supplier)} from {step.name}"
        return step.out, f"at a supplier from {step.name}"

    def _read_out(self, form: Form) -> None:
        """On the store thread: the suppliers with units of this step now, then ask which one."""
        number, stage = self.card.number, form.stage
        reports = Reports(self.config, clock=self.services.clock)

        def read():
            by_supplier: dict[str, list] = {}
            for item in reports.outside():
                if item.number == number and item.stage == stage:
                    row = by_supplier.setdefault(item.supplier, [item.supplier, item.supplier_name, 0, item.sent_at])
                    row[2] += item.qty
            return [tuple(row) for row in by_supplier.values()]

        def done(rows) -> None:
            if self.form is not form:
                return
            form.out = rows
            if len(rows) > 1:
                form.fields.insert(form.index + 1, "supplier")
            self._next_field()

        self._read(read, done)

    def _picked(self, choice: Choice | None) -> None:
        if choice is None:
            return
        if self.step == "pickjob":
            self.pick = None
            self._open_job(choice.value)
            return
        form = self.form
        if form.field == "reason":
            form.values["reason"] = choice.value
        elif form.field == "target":
            if choice.value == SCRAP:
                form.kind = "scrap"  # a scrap names its reason instead of the rework's note
                form.fields[form.index + 1 :] = ["reason"]
            else:
                form.values["to_stage"] = choice.value
        elif form.field == "line":
            self.material = choice.value
            self._to_card()
            return
        elif form.field == "supplier":
            if form.kind == "receive":
                there = sum(n for code, _, n, _ in form.out if code == choice.value)
                if form.values.get("qty", 0) > there:
                    self._say(
                        f"Only {there} of this job at {self.config.supplier_name(choice.value)}; "
                        f"cannot receive {form.values['qty']} from there: pick another, or Esc",
                        "error",
                    )
                    return
            form.values["supplier"] = choice.value
        form.lines[form.field] = choice.value
        self._next_field()

    def _pick_digit(self, char: str) -> None:
        try:
            choice = self.pick.digit(char)
        except InputError as exc:
            self._say(str(exc), "error")
            self._show()
            return
        if choice is None:
            self._show()  # waiting for a second digit
        else:
            self._picked(choice)

    def _next_field(self) -> None:
        form = self.form
        form.index += 1
        if form.field is None:
            self._submit()
        else:
            self.step = "form" if not form.main else "card"
            self._open_field()

    # -- writing ---------------------------------------------------------------------------------

    def _submit(self) -> None:
        form = self.form
        if self.operator is None:
            # Badge not required to look: it is to record. Ask, then carry on with this entry.
            self._after_signin = self._submit_after_signin
            self.step = "signin"
            self.editor.ask("Scan your badge to record this entry", "Esc = cancel")
            self._show()
            return
        if self.operator.role == "viewer" or not ka.role_may(self.operator.role, form.kind):
            self._say(ka.role_refusal(self.operator.name, self.operator.role, form.kind), "error")
            self._to_card()
            return
        actor = self._actor()
        values = dict(form.values)
        number = self.card.number
        kind = form.kind
        link = self.link
        words = self._entry_words(form)
        client_time = self.services.clock()
        if kind in ("send", "receive"):
            self.step = "form"
            self._write(self._outside_write(form, actor, client_time), self._saved)
            return

        def write() -> Receipt | Queued:
            return link.record(
                kind,
                number,
                actor=actor,
                stage=form.stage,
                to_stage=values.get("to_stage"),
                qty=values.get("qty"),
                reason=values.get("reason"),
                item=form.item,
                item2=values.get("item2"),
                note=values.get("note", ""),
                reference=values.get("ref") or None,
                uuid=form.uuid,
                client_time=client_time,
                words=words,
            )

        self.step = "form"
        self._write(write, self._saved)

    def _outside_write(self, form: Form, actor: Actor, client_time) -> Callable[[], list[Receipt]]:
        """A send or a receive goes straight to the store, never to the outbox: the ledger checks
        it against the job's batches at suppliers, which only a replay of the job's entries
        knows (the offline copy keeps balances), and a receive with rejects is two entries
        that land together or not at all. Offline it is refused, kept on screen for a retry."""
        link, ledger, number = self.link, self.services.ledger, self.card.number
        values, kind = dict(form.values), form.kind
        verb = "Sending to" if kind == "send" else "Receiving from"

        def write() -> list[Receipt]:
            waiting = link.counts()[0] if link.outbox is not None else 0
            if link.offline or waiting:
                why = (
                    "the store cannot be reached now"
                    if link.offline
                    else f"{waiting} queued entr{'y waits' if waiting == 1 else 'ies wait'} to be sent first"
                )
                raise StoreError(f"{verb} a supplier needs the store, and {why}: nothing was queued")
            common = dict(actor=actor, uuid=form.uuid, client_time=client_time, deadline=link.write_deadline)
            try:
                if kind == "send":
                    receipts = [
                        ledger.record(
                            "send",
                            number,
                            stage=form.stage,
                            qty=values["qty"],
                            supplier=values["supplier"],
                            reference=values.get("ref") or None,
                            **common,
                        )
                    ]
                else:
                    receipts = ledger.receive(
                        number,
                        form.stage,
                        values.get("qty", 0),
                        rejected=values.get("rejected", 0),
                        reason=values.get("reason"),
                        supplier=values.get("supplier"),
                        **common,
                    )
            except STORE_AWAY as exc:
                if isinstance(exc, StoreError):
                    raise
                raise StoreError(f"{verb} a supplier needs the store, and it did not answer: {exc}") from exc
            if link.snapshot is not None:  # the offline copy cannot follow a batch: better unknown than wrong
                link.snapshot.jobs.pop(number, None)
            return receipts

        return write

    def _write(self, write: Callable[[], Receipt], done: Callable[[Receipt], None]) -> None:
        """Save on the store thread. Kept for a retry: same entry, same UUID, same operator."""
        self._last_write = (write, done)
        self._db(write, done, self._refused, busy="saving")

    def _submit_after_signin(self) -> None:
        self.step = "form"
        self._submit()

    def _actor(self) -> Actor:
        login = None
        if os.environ.get("SSH_CONNECTION") or os.environ.get("SSH_CLIENT"):
            try:
                login = getpass.getuser()
            except Exception:  # no user name known: record without it
                login = None
        return Actor(self.operator.badge, terminal=self.terminal.id, login_user=login)

    def _saved(self, receipt: Receipt | Queued | list[Receipt]) -> None:
        if isinstance(receipt, Queued):
            self._queued_entry(receipt)
            return
        form = self.form
        headline = ""
        if isinstance(receipt, list):  # a send, or a receive (and its reject on receipt)
            self._own_event_ids.update(r.event_id for r in receipt)
            headline = self._outside_headline(form, receipt)
            receipt = dataclasses.replace(receipt[0], message=" · ".join(r.message for r in receipt))
        self._own_event_ids.add(receipt.event_id)
        if receipt.kind != "void":
            self.last_receipts[self.operator.badge] = receipt
        self._log(receipt.job, receipt.message)
        if receipt.kind == "qc_fail":
            # The failed quantity now waits for a decision: ask it straight away.
            self._say(f"Saved: {receipt.message}", "ok")
            self._read(lambda: self._fetch_card(receipt.job), lambda card: self._decide_after_fail(card, form))
            return
        detail = self._who_line(receipt)
        if headline:
            detail = f"{receipt.message}\n{detail}"
        if receipt.warning:  # saved, but stores should know (a release while material is still to issue)
            detail = f"! {receipt.warning}\n{detail}"
        self._show_outcome(Outcome("saved", headline or receipt.message, detail))
        self._refresh_card_quietly()

    def _outside_headline(self, form: Form | None, receipts: list[Receipt]) -> str:
        """'SENT 15 to Zinko Feuerverzinkung (DN 4711)' / 'RECEIVED 12 from Zinko …, 3 rejected'."""
        if form is None:
            return ""
        values = form.values
        if form.kind == "send":
            ref = f" (DN {values['ref']})" if values.get("ref") else ""
            return f"SENT {values['qty']} to {self.config.supplier_name(values['supplier'])}{ref}"
        name = self.config.supplier_name(values.get("supplier"))
        if not name:
            step = self.card.step(form.stage) if self.card is not None else None
            out = step.outside if step is not None else None
            name = out.supplier_name if out is not None else ""
        frm = f" from {name}" if name else ""
        rejected = values.get("rejected", 0)
        why = ""
        if rejected:
            label = next((r.label for r in self.config.reasons("reject") if r.code == values.get("reason")), "")
            why = f", {rejected} rejected" + (f" ({label})" if label else "")
        return f"RECEIVED {values.get('qty', 0)}{frm}{why}"

    def _queued_entry(self, queued: Queued) -> None:
        """Kept in the outbox while the store is away: say QUEUED, never SAVED."""
        form = self.form
        self.link_state = (True, queued.waiting, self.link_state[2])
        self._log(queued.entry.job, f"{queued.entry.words} (QUEUED)")
        why = self.link.away_reason
        why = f" ({why[:117] + '…' if len(why) > 120 else why})" if why else ""
        detail = (
            f"Not in the store yet{why}: {queued.waiting} waiting at this terminal, sent by itself when the "
            f"store takes it. Job {queued.entry.job} · {self.operator.name}"
        )
        if queued.entry.kind == "qc_fail":
            self._say(f"Queued: {queued.entry.words}", "warn")
            self._read(lambda: self._fetch_card(queued.entry.job), lambda card: self._decide_after_fail(card, form))
            return
        self._show_outcome(Outcome("queued", f"{queued.entry.words} ({queued.waiting} waiting)", detail))
        self._refresh_card_quietly()

    def _decide_after_fail(self, card: JobCard, failed: Form) -> None:
        self.card = card
        qty = failed.values["qty"]
        if not self._may("rework") or card.step(failed.stage).awaiting < 1:
            self._to_card()
            return
        self.form = Form("rework", ["qty", "target", "note?"], stage=failed.stage, values={"qty": qty}, index=1)
        self.step = "form"
        self._open_field()

    def _who_line(self, receipt: Receipt) -> str:
        at = to_plant(receipt.committed_at, self.config.tz)
        stamp = at.strftime("%H:%M") if at else ""
        extra = " · nothing written twice" if receipt.duplicate else ""  # the message says it was saved before
        return f"Job {receipt.job} · {self.operator.name} · {stamp}{extra}"

    def _refused(self, exc: BaseException) -> None:
        form = self.form
        if isinstance(exc, StoreError):
            self.step = "failed"
            self.outcome = Outcome("not_saved", str(exc), f"Your entry is kept: {self._entry_words(form)}.")
            self.outcome_until = None
            self.editor.ask("Not saved: Enter = try again", "Esc = change the entry")
            self._show()
            return
        if isinstance(exc, FloortermError):
            self._show_outcome(
                Outcome("not_saved", str(exc), "Nothing was written. The card shows the latest numbers.")
            )
            self._refresh_card_quietly()
            return
        self._show_outcome(
            Outcome(
                "not_saved",
                f"Unexpected error: {type(exc).__name__}: {exc}",
                "Nothing was written. Tell your supervisor.",
            )
        )

    def _entry_words(self, form: Form | None) -> str:
        """The entry in words, e.g. 'reject 3 at Welding, Weld porosity'."""
        if form is None or form.kind == "void":
            return "undo of your last entry"
        words = [ka.LABELS.get(form.kind, form.kind).lower()]
        if form.item:
            words.append(form.item)
        if "qty" in form.values:
            words.append(str(form.values["qty"]))
        if form.stage:
            words.append(f"at {self.config.stage(form.stage).name}")
        text = " ".join(words)
        if form.values.get("supplier"):
            text += f" {'to' if form.kind == 'send' else 'from'} {self.config.supplier_name(form.values['supplier'])}"
        if form.values.get("ref"):
            text += f", ref {form.values['ref']}"
        if form.values.get("rejected"):
            text += f", {form.values['rejected']} rejected"
        reason = form.values.get("reason")
        if reason:
            list_kind = REASON_LISTS.get(form.kind, "reject")
            label = next((r.label for r in self.config.reasons(list_kind) if r.code == reason), reason)
            text += f", {label}"
        return text

    def _retry(self) -> None:
        if self._last_write is None:
            return
        self.outcome = None
        self.step = "form"
        self._write(*self._last_write)

    def _edit_failed(self) -> None:
        """Esc after a store failure: back to the entry's last field, with what was typed."""
        form = self.form
        self.outcome = None
        if form is None or not form.fields:  # an undo: nothing was typed
            self._to_card() if self.card is not None else self._to_job()
            return
        form.index = len(form.fields) - 1
        last = form.fields[form.index]
        self.step = "card" if form.main else "form"
        self._open_field()
        if last not in PICK_FIELDS:
            self.editor.set_text(form.lines.get(last, ""))

    def _undo(self) -> None:
        if self.operator is None:
            self._say("Sign in first: undo works on your own last entry", "error")
            return
        if self.operator.role == "viewer":
            self._say(ka.role_refusal(self.operator.name, "viewer", "void"), "error")
            return
        # An entry made here since start, else the newest in the store (the kiosk may have restarted).
        last = self.last_receipts.get(self.operator.badge)
        if last is None:
            badge = self.operator.badge
            self._read(lambda: self.link.last_entry(badge), self._undo_entry)
            return
        self._undo_entry(last)

    def _undo_entry(self, last) -> None:
        if last is None:
            self._say("Nothing to undo: you have no entry to undo", "error")
            return
        previous = (self.step, self.form)

        def yes():
            self.form = Form("void", [], values={"voids": last.uuid})
            actor = self._actor()
            form = self.form

            def write() -> Receipt:
                return self.services.ledger.void(last.uuid, actor=actor, note="undone at terminal", uuid=form.uuid)

            def done(receipt: Receipt) -> None:
                self.last_receipts.pop(self.operator.badge, None)
                self._saved(receipt)

            self._write(write, done)

        def no():
            self.step, self.form = previous
            self._to_step()

        self._ask(f"Undo your last entry? Job {last.job}: {last.message}", yes, no)

    # -- questions and outcomes ---------------------------------------------------------------

    def _ask(self, text: str, on_yes: Callable[[], None], on_no: Callable[[], None]) -> None:
        self.question = Question(text, on_yes, on_no)
        self.step = "question"
        self.editor.ask(text, "Enter or + = yes · Esc or / = no")
        self._show()

    def _answer(self, yes: bool) -> None:
        question, self.question = self.question, None
        self.step = "form"
        (question.on_yes if yes else question.on_no)()

    def _show_outcome(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.step = "result"
        self.outcome_until = self.services.clock() + _seconds(self.config.kiosk.confirm_seconds)
        self.editor.ask("", "")
        self._show()

    def _dismiss_outcome(self) -> None:
        outcome, self.outcome = self.outcome, None
        self.outcome_until = None
        if outcome is not None and not outcome.ok and self.card is not None and self.operator is not None:
            self._to_card()  # refused: stay on the job, with its latest numbers
        else:
            self._to_job()

    # -- steps ------------------------------------------------------------------------------------

    def _to_signin(self) -> None:
        self.step = "signin"
        self.card = self.form = self.pick = None
        self.editor.ask("Scan your badge", "or type it, then Enter")
        self._show()

    def _to_job(self) -> None:
        self.step = "job"
        self.card = None
        self.form = None
        self.pick = None
        self.material = None
        self.question = None
        self.editor.aside = ""
        self.editor.ask("Scan or type job number", "then Enter · a part of the number lists matches")
        self._show()
        if self.operator is not None and self._link_ready:
            badge = self.operator.badge
            self._db(lambda: self.link.recent(badge), self._got_last_entries, lambda exc: None, busy="reading")

    def _got_last_entries(self, rows) -> None:
        """'Your last entries' from the store and the outbox: voided, queued and refused ones marked."""
        tz = self.config.tz
        self.last_entries = [
            (f"{to_plant(at, tz):%H:%M}", f"{job}  {words}" + (f"  [{mark}]" if mark else ""))
            for at, job, words, mark in rows
        ]
        self._show()

    def _to_step(self) -> None:
        if self.step == "signin":
            self._to_signin()
        elif self.step == "job" or self.card is None:
            self._to_job()
        elif self.form is not None and not self.form.main:
            self.step = "form"
            self._open_field()
        else:
            self._to_card()

    # -- the store thread ----------------------------------------------------------------------

    def _read(self, fn, done) -> None:
        self._db(fn, done, self._read_failed, busy="reading")

    def _read_failed(self, exc: BaseException) -> None:
        self._say(
            str(exc)
            if isinstance(exc, FloortermError)
            else f"The store could not be read ({type(exc).__name__}: {exc}); try again",
            "error",
        )

    def _db(self, fn, done, failed, *, busy: str) -> None:
        """Run fn on the store thread; then done(result) or failed(exc) here, then replay keys."""
        self.busy = busy
        self._show_busy()

        async def run() -> None:
            loop = asyncio.get_running_loop()
            try:
                result = await loop.run_in_executor(self.services.executor, fn)
            except Exception as exc:  # shown to the operator; never lets the kiosk die
                if not isinstance(exc, FloortermError):
                    self.unexpected.append(exc)
                    self.log_error(exc)
                self.busy = None
                failed(exc)
            else:
                self.busy = None
                done(result)
            self._show_busy()
            self._drain()

        self.run_worker(run(), group="db")

    def log_error(self, exc: BaseException) -> None:
        self.app.log.error(f"kiosk: {type(exc).__name__}: {exc}")

    def _drain(self) -> None:
        while self._queued and not self.busy:
            key, char = self._queued.pop(0)
            self.key(key, char)

    def _refresh_card_quietly(self) -> None:
        if self.card is None:
            return
        number = self.card.number

        def read():
            return self._fetch_card(number)

        def done(card: JobCard) -> None:
            if self.card is not None and self.card.number == card.number:
                self.card = card
                self._show()

        self._db(read, done, lambda exc: None, busy="reading")

    def _fetch_card(self, number: str) -> JobCard:
        """On the store thread: the job card, and on a wide screen the job's latest entries."""
        card = self.link.job_card(number)
        if self.has_class("-wide"):
            self._histories[card.number] = self.link.history(card.number)[:12]
        return card

    def _watch_store(self) -> None:
        watch_store(self, self.services.store_url, poll_without_feed=1.0, changed_without_feed=True)

    def on_store_changed(self, message: StoreChanged) -> None:
        self.store_changed()

    def store_changed(self) -> None:
        """Something was committed: re-read the open card; say so if another terminal changed it."""
        if self.card is None or self.busy or self.step in ("failed",):
            return
        number, seen = self.card.number, self.card.last_event_id

        def read():
            return self._fetch_card(number)

        def done(card: JobCard) -> None:
            if self.card is None or self.card.number != card.number or card.last_event_id == seen:
                return
            was_blocked = self._blocked()
            self.card = card
            idle_card = self.step == "card" and not self.editor.text and (self.form is None or self.form.main)
            if idle_card and bool(was_blocked) != bool(self._blocked()):
                self._to_card()  # e.g. taken off hold elsewhere: offer the keys; put on hold: take them away
            if card.last_event_id not in self._own_event_ids and self.step in ("card", "form", "question"):
                self._say(f"Job {card.number} was just changed at another terminal: the numbers are updated", "warn")
            if self.form is not None and self.form.field == "qty" and self.step in ("card", "form"):
                prompt, hint = self._qty_prompt(self.form)
                self.editor.ask(prompt, hint, keep=True)
            self._show()

        self._db(read, done, lambda exc: None, busy="reading")

    # -- time ---------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Every half second: the clock in the header, the banner's time, idle sign-out."""
        now = self.services.clock()
        if self.busy:
            return
        if self.step == "result" and self.outcome_until is not None and now >= self.outcome_until:
            self._dismiss_outcome()
        idle = (now - self.last_input).total_seconds()
        if self.operator is not None and idle >= self.config.kiosk.idle_signout_seconds:
            self._sign_out(f"Signed out after {format_duration(idle)} without input")
        self._header()

    # -- drawing ------------------------------------------------------------------------------------

    def _say(self, text: str, kind: str = "info") -> None:
        """The message box; "error" is a refusal: a large box and the bell."""
        self._message = (text, kind)
        self._put("#kiosk-message", view.message(text, kind), (text, kind))
        self.query_one("#kiosk-message", Static).set_classes(kind if text else "")
        if text and kind == "error" and getattr(self.config.kiosk, "bell", True):
            self.app.bell()

    def _refuse(self, text: str) -> None:
        """Refuse what was typed or scanned: say why, loudly, and clear the line."""
        self.editor.aside = ""
        self.editor.clear()
        if self.form is not None and self.form.field == "qty" and self.step in ("card", "form"):
            prompt, hint = self._qty_prompt(self.form)
            self.editor.ask(prompt, hint)
        self._say(text, "error")

    def _show_busy(self) -> None:
        if self.busy == "saving":
            self._say("Saving… please wait", "warn")
        elif self._message[0] == "Saving… please wait":
            self._say("")

    def _scroll(self, key: str) -> None:
        body = self.query_one("#body", VerticalScroll)
        {
            "pageup": body.scroll_page_up,
            "pagedown": body.scroll_page_down,
            "up": body.scroll_up,
            "down": body.scroll_down,
            "home": body.scroll_home,
            "end": body.scroll_end,
        }[key](animate=False)

    def _log(self, job: str, message: str) -> None:
        at = to_plant(self.services.clock(), self.config.tz)
        self.recent.insert(0, (at.strftime("%H:%M") if at else "", f"{job}  {message}"))
        del self.recent[8:]

    def _put(self, selector: str, renderable, key) -> None:
        """Update a widget only when what it shows changed: every update costs a layout."""
        if self._shown.get(selector) == key:
            return
        self._shown[selector] = key
        self.query_one(selector, Static).update(renderable)

    def _show(self) -> None:
        """Draw everything from the state."""
        if not self.is_mounted:
            return
        self._header()
        self._banner()
        self.editor.display = self.step != "result"
        self._body()
        if self.has_class("-wide"):
            mode = (
                self._mode()
                if self.card is not None
                else ka.mode_for(self.config, self.terminal, self.terminal.stages[0])
            )
            text = view.side(mode, self.recent)
            self._put("#side", text, text)
        self._actions()

    def _header(self) -> None:
        now = to_plant(self.services.clock(), self.config.tz)
        stages = ", ".join(self.config.stage(s).name for s in self.terminal.stages)
        op = self.operator
        link = self._link_words()
        key = (op, f"{now:%a %H:%M}" if now else "", link)
        self._put(
            "#kiosk-header", view.header(self.terminal.id, f"{self.terminal.name} · {stages}", op, key[1], link), key
        )

    def _link_words(self) -> str:
        """'OFFLINE · 3 waiting' in the header while the store is away or entries wait."""
        offline, waiting, refused = self.link_state
        words = ["OFFLINE"] if offline else []
        if waiting:
            words.append(f"{waiting} waiting")
        if refused:
            words.append(f"{refused} refused")
        return " · ".join(words)

    def _banner(self) -> None:
        banner = self.query_one("#banner", Static)
        outcome = self.outcome
        why_not = self._blocked() if self.step == "card" else None
        if why_not:
            text = view.banner("blocked", why_not, "", "Scan another job · Esc = back")
            self._put("#banner", text, text)
            banner.set_classes("error")
            banner.display = True
            return
        if outcome is None or self.step not in ("result", "failed"):
            banner.display = False
            return
        banner.display = True
        footer = f"Any key or wait {self.config.kiosk.confirm_seconds} s → next job" if self.step == "result" else ""
        text = view.banner(outcome.kind, outcome.message, outcome.detail, footer)
        self._put("#banner", text, text)
        banner.set_classes({"saved": "ok", "queued": "queued"}.get(outcome.kind, "error"))

    def _body(self) -> None:
        show_card = self.card is not None and self.step in ("card", "form", "question", "result", "failed")
        show_pick = (
            self.pick is not None
            and self.step in ("pickjob", "form", "card")
            and (self.form is None or self.form.field != "line")
        )
        body = self.query_one("#body")
        body.set_class(not show_card and not show_pick, "-panel")
        body.set_class(show_card, "-card")
        body.set_class(show_pick, "-pick")
        if not show_card and not show_pick:
            recent = self.last_entries if self.step == "job" and self.operator is not None else []
            key = (self.step, self._after_signin is not None, self.operator is not None, tuple(recent))
            self._put(
                "#panel",
                view.panel(
                    self.step,
                    self.terminal.name,
                    self.terminal.id,
                    badge_for_entry=self._after_signin is not None,
                    signed_in=self.operator is not None,
                    recent=recent,
                ),
                key,
            )
        if show_card:
            highlight = (self.stage,) if self.stage and self.terminal.kind != "stores" else ()
            stores = self._mode() in ("stores", "material")
            history = self._histories.get(self.card.number) if self.has_class("-wide") else None
            key = (id(self.card), highlight, stores, self.material, id(history))
            if self._shown.get("#card") != key:
                shown = card_renderable(
                    self.card, self.config.tz, highlight, material_lines=stores, selected_item=self.material
                )
                above, below = view.job_delay_line(self.card), view.rework_line(self.card)
                if above is not None or below is not None:
                    shown = Group(*(part for part in (above, shown, below) if part is not None))
                self._put("#card", Group(shown, history_renderable(history, self.config.tz)) if history else shown, key)
        if show_pick:
            height = max(self.query_one("#body").size.height, 8)
            self._put("#picklist", view.pick_list(self.pick, height), (id(self.pick), self.pick.typed, height))

    def _actions(self) -> None:
        items = self._action_items()
        width = max(self.size.width, 40)
        self._put("#actions", view.action_bar(items, width), (tuple(items), width))

    def _pick_keys(self) -> tuple[str, str]:
        n = len(self.pick.choices) if self.pick is not None else 9
        return (f"1-{n} Enter", "Pick") if n >= 10 else (f"1-{n}", "Pick")

    def _action_items(self) -> list[tuple[str, str]]:
        """(keys, label) for the action bar: what may be pressed now."""
        items: list[tuple[str, str]] = []
        step = self.step
        if step == "question":
            items = [("Enter +", "Yes"), ("Esc /", "No")]
        elif step == "failed":
            items = [("Enter +", "Try again"), ("Esc /", "Change the entry")]
        elif step == "result":
            items = [("any key", "Next job")]
        elif (step == "form" and self.form is not None and not self.form.main) or (
            step == "card" and self.form is not None and self.form.main and self.form.started
        ):  # an entry being filled in (a main one past its quantity: its notes or reference)
            field = self.form.field
            if field == "qty":
                items = [("Enter +", "OK")]
            elif field in PICK_FIELDS and self.pick is not None:
                items = [self._pick_keys()]
            else:
                items = [("Enter", "OK")]
            items.append(("Esc /", "Back" if self.form.started else "Cancel"))
        elif step == "card" and self._blocked():
            items = [("F7", "Undo last"), ("Esc /", "Back")]
            role = self.operator.role if self.operator else None
            if ka.delay_anyway(self._mode(), self.card, self.stage) and ka.role_may(role, "delay"):
                items.insert(0, ("F3 *", "Delay"))  # the one entry a step with nothing pending takes
        elif step in ("card", "form") and self.card is not None:
            role = self.operator.role if self.operator else None
            for action in ka.actions(self._mode(), role, self.card, self.stage):
                fkey, symbol = action.keys
                label = action.label
                keys = f"{fkey.upper()} {symbol}" if symbol else fkey.upper()
                if action.kind == getattr(self.form, "kind", None) and self.form.main and self.form.field == "qty":
                    typed = self.editor.text
                    if typed:
                        label, keys = f"{label} {typed}", f"Enter {fkey.upper()}"
                    else:
                        n = ka.available(action.kind, self.card, self.stage, self._material_line())
                        label = f"{label} all {n}" if n > 0 else label
                        keys = "Enter " + keys
                items.append((keys, label))
            items.append(("Esc /", "Back"))
        elif step == "pickjob":
            items = [self._pick_keys(), ("Esc /", "Back")]
        elif step == "job":
            if self.operator is not None:
                items = [("F7", "Undo last")]
            elif self.from_launcher:
                items = [("Esc", "Launcher")]
        elif step == "signin":
            if self.from_launcher:
                items = [("Esc", "Launcher")]
            elif self._after_signin is not None:
                items = [("Esc", "Cancel")]
        elif step == "quit":
            items = [("Esc /", "Cancel")]
        if self.operator is not None and step not in ("result", "quit", "question", "failed"):
            items.append(("F9", "Sign out"))
        if step in ("signin", "job"):
            items.append(("Ctrl+Q", "Quit" if self.unlocked else "Close (supervisor)"))
        return items


def _seconds(n: int) -> dt.timedelta:
    return dt.timedelta(seconds=n)
