"""What a kiosk may record: actions per terminal kind and role, their keys, and the checks
made against the job card BEFORE anything is written (the ledger checks again).

Pure functions of the config, the operator's role and a JobCard; no Textual here, so the
rules are easy to test and to read in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from floorterm.config import Config, Terminal
from floorterm.errors import InputError
from floorterm.inputs import parse_qty
from floorterm.ledger import KIND_WORDS, ROLE_KINDS
from floorterm.queries import JobCard, MaterialView, StepView

# Slots are fixed places on the keyboard; what a slot does depends on the terminal.
# (function key, keypad key). The keypad keys act only when nothing is typed.
SLOT_KEYS: dict[str, tuple[str, str | None]] = {
    "main": ("f1", "+"),
    "minus": ("f2", "-"),
    "star": ("f3", "*"),
    "start": ("f4", None),
    "dispose": ("f5", None),
    "note": ("f6", None),
    "undo": ("f7", None),
    "signout": ("f9", None),
    "back": ("escape", "/"),
}
FKEY_SLOTS = {fkey: slot for slot, (fkey, _) in SLOT_KEYS.items()}
SYMBOL_SLOTS = {symbol: slot for slot, (_, symbol) in SLOT_KEYS.items() if symbol}

# What each slot records, per mode. Modes: work (a kiosk at a work or pack step), qc,
# dispatch (a kiosk at the dispatch step), stores (the job), material (stores, one line).
SLOT_KINDS: dict[str, dict[str, str]] = {
    "work": {
        "main": "complete",
        "minus": "reject",
        "star": "delay",
        "start": "start",
        "dispose": "rework",
        "note": "note",
        "undo": "void",
    },
    "qc": {
        "main": "qc_pass",
        "minus": "qc_fail",
        "star": "delay",
        "start": "start",
        "dispose": "rework",
        "note": "note",
        "undo": "void",
    },
    "dispatch": {"main": "dispatch", "star": "delay", "note": "note", "undo": "void"},
    # An outside step (galvanising, plating): units leave for a supplier and come back.
    "outside": {
        "main": "send",
        "minus": "receive",
        "star": "delay",
        "dispose": "rework",
        "note": "note",
        "undo": "void",
    },
    "stores": {"main": "release", "note": "note", "undo": "void"},
    "material": {
        "main": "material_issue",
        "minus": "material_return",
        "star": "material_scrap",
        "start": "material_substitute",
        "note": "note",
        "undo": "void",
    },
}
LABELS = {
    "complete": "Complete",
    "qc_pass": "Pass",
    "dispatch": "Dispatch",
    "send": "Send",
    "receive": "Receive",
    "release": "Release",
    "reject": "Reject",
    "qc_fail": "Fail",
    "delay": "Delay",
    "resume": "Resume",
    "start": "Start",
    "rework": "Rework/scrap",
    "scrap": "Scrap",
    "note": "Note",
    "void": "Undo last",
    "material_issue": "Issue",
    "material_return": "Return",
    "material_scrap": "Scrap",
    "material_substitute": "Substitute",
}
# Kinds that take a quantity, and which balance caps it.
QTY_KINDS = frozenset(
    {
        "complete",
        "qc_pass",
        "dispatch",
        "send",
        "receive",
        "release",
        "reject",
        "qc_fail",
        "rework",
        "scrap",
        "material_issue",
        "material_return",
        "material_scrap",
        "material_substitute",
    }
)
# Kinds where Enter on an empty quantity means "all of it".
ALL_BY_DEFAULT = frozenset(
    {"complete", "qc_pass", "dispatch", "send", "receive", "release", "rework", "scrap", "material_issue"}
)
# Kinds refused while the job is on hold (rules.HELD_KINDS).
HELD = frozenset({"start", "complete", "reject", "qc_pass", "qc_fail", "dispatch", "release", "send", "receive"})


@dataclass(frozen=True)
class Action:
    slot: str
    kind: str
    label: str

    @property
    def keys(self) -> tuple[str, str | None]:
        return SLOT_KEYS[self.slot]


def mode_for(config: Config, terminal: Terminal, stage: str | None) -> str:
    """How this terminal records at `stage`: work, qc, dispatch, outside or stores."""
    if terminal.kind == "stores":
        return "stores"
    kind = config.stage(stage).kind if stage else "work"
    if kind == "outside":
        return "outside"
    if terminal.kind == "qc" or kind == "qc":
        return "qc"
    return "dispatch" if kind == "dispatch" else "work"


def stage_for(terminal: Terminal, card: JobCard) -> str | None:
    """This terminal's step on the job: the first of its stages with quantity there, else the
    first of its stages on the job's route; None if the route has none of them."""
    on_route = [s for s in card.steps if s.stage in terminal.stages]
    busy = [s for s in on_route if s.pending or s.awaiting]
    chosen = (busy or on_route or [None])[0]
    return chosen.stage if chosen else None


def blocked(mode: str, card: JobCard, stage: str | None, where: str) -> str | None:
    """Why nothing at all can be recorded on this job at this terminal, in words; None if
    something can. A blocked job opens with a banner and no record keys (`where` names the
    terminal's stages)."""
    if card.status in ("dispatched", "closed"):
        return f"Job {card.number} is {card.status_text}: nothing more to record"
    if mode in ("stores", "material"):
        # Material may move while a job is on hold (the hold is often for the material).
        if card.released >= card.qty and not card.material:
            return f"Job {card.number} is fully released and lists no material: nothing to do at stores"
        return None
    if "on hold" in card.flags:
        return f"Job {card.number} is ON HOLD: nothing may be recorded until a supervisor takes it off hold"
    if stage is None:
        route = " → ".join(s.name for s in card.steps)
        return f"Job {card.number} does not pass {where} (its route: {route}): nothing to record here"
    step = card.step(stage)
    if step.open_delay:
        return None  # the delay can be resumed
    if mode == "dispatch" and card.ready_for_dispatch <= 0:
        return f"Nothing of job {card.number} is ready for dispatch"
    if step.pending <= 0 and step.awaiting <= 0:
        return (
            f"Nothing is pending at {step.name} for job {card.number} "
            f"(received {step.received}, done {step.completed}): nothing to record here but a delay"
        )
    return None


def delay_anyway(mode: str, card: JobCard, stage: str | None) -> bool:
    """A card blocked only because nothing is pending at this step yet still takes a delay there
    (a drawing, an approval or material holding the job before it arrives: rules._delay)."""
    if mode not in ("work", "qc", "dispatch", "outside") or stage is None or "on hold" in card.flags:
        return False
    if card.status in ("dispatched", "closed"):
        return False
    step = _step(card, stage)
    return step is not None and not step.open_delay and step.pending <= 0 and step.awaiting <= 0


def role_may(role: str | None, kind: str) -> bool:
    if role is None:
        return True  # nobody signed in yet: the badge is asked for when recording
    if kind == "void":
        return role != "viewer"
    if kind == "rework":  # the rework-or-scrap decision
        return bool({"rework", "scrap"} & ROLE_KINDS.get(role, frozenset()))
    return kind in ROLE_KINDS.get(role, frozenset())


def role_refusal(name: str, role: str, kind: str) -> str:
    words = "decide rework or scrap" if kind == "rework" else KIND_WORDS.get(kind, kind)
    return f"{name} ({role}) may not {words}"


def actions(mode: str, role: str | None, card: JobCard | None, stage: str | None) -> list[Action]:
    """The actions to offer now: allowed by terminal and role, and meaningful for the card."""
    step = _step(card, stage)
    out = []
    for slot, kind in SLOT_KINDS[mode].items():
        if kind in ("delay",) and step is not None and step.open_delay:
            kind = "resume"
        if not role_may(role, kind):
            continue
        if card is None and kind != "void":
            continue
        if kind == "start" and (step is None or step.state != "waiting"):
            continue
        if kind == "rework" and (step is None or not step.awaiting):
            continue
        if kind == "release" and card is not None and card.released >= card.qty:
            continue
        if kind in ("send", "receive") and (step is None or available(kind, card, stage) <= 0):
            continue  # send while units wait in the plant, receive while units are out
        out.append(Action(slot, kind, LABELS[kind]))
    return out


def _step(card: JobCard | None, stage: str | None) -> StepView | None:
    if card is None or stage is None:
        return None
    try:
        return card.step(stage)
    except KeyError:
        return None


def available(kind: str, card: JobCard, stage: str | None, line: MaterialView | None = None) -> int:
    """How much of `kind` the card allows now (pending, awaiting, ready, short, ...)."""
    if kind in ("complete", "qc_pass", "reject", "qc_fail"):
        return card.step(stage).pending
    if kind in ("rework", "scrap"):
        return card.step(stage).awaiting
    if kind == "send":  # units at the step still in the plant
        step = card.step(stage)
        return step.pending - step.out
    if kind == "receive":  # units at a supplier
        return card.step(stage).out
    if kind == "dispatch":
        return card.ready_for_dispatch
    if kind == "release":
        return card.qty - card.released
    if kind in ("material_issue", "material_substitute"):
        return line.short if line else 0
    if kind in ("material_return", "material_scrap"):
        return line.net_issued if line else 0
    raise ValueError(kind)


def refusal(kind: str, card: JobCard, stage: str | None, line: MaterialView | None = None) -> str | None:
    """Why `kind` cannot be recorded on this card at all right now, in words; None if it can."""
    if "on hold" in card.flags and kind in HELD:
        return f"Job {card.number} is on hold; a supervisor must take it off hold first"
    if kind in ("release", "dispatch", "note", "void") or kind.startswith("material_"):
        if kind.startswith("material_") and line is None:
            return "Pick a material line first"
        # Nothing short is no refusal for an issue: more is an extra issue, with a reason.
        if kind in QTY_KINDS and kind != "material_issue" and available(kind, card, stage, line) <= 0:
            return _none_left(kind, card, stage, line)
        return None
    if stage is None:
        return f"Job {card.number} does not pass this terminal"
    step = card.step(stage)
    if kind == "start":
        if step.pending <= 0:
            return f"Nothing is pending at {step.name} to start"
        if step.open_delay:
            return f"{step.name} is delayed; resume it before starting"
        if step.state == "in work":
            return f"{step.name} is already in work"
    if kind == "delay" and step.open_delay:
        return f"{step.name} already has an open delay ({step.open_delay.label}); resume it first"
    if kind == "resume" and not step.open_delay:
        return f"{step.name} has no open delay to resume"
    if kind in QTY_KINDS and available(kind, card, stage, line) <= 0:
        return _none_left(kind, card, stage, line)
    return None


def _none_left(kind: str, card: JobCard, stage: str | None, line: MaterialView | None) -> str:
    if kind in ("complete", "qc_pass", "reject", "qc_fail"):
        step = card.step(stage)
        return f"Nothing is pending at {step.name} (received {step.received}, done {step.completed})"
    if kind in ("rework", "scrap"):
        return f"No rejected quantity is waiting for a decision at {card.step(stage).name}"
    if kind == "send":
        step = card.step(stage)
        return f"Nothing at {step.name} is waiting to be sent ({step.out} already at a supplier)"
    if kind == "receive":
        return f"Nothing of job {card.number} is at a supplier from {card.step(stage).name}"
    if kind == "dispatch":
        return f"Nothing of job {card.number} is ready for dispatch"
    if kind == "release":
        return f"Job {card.number} is fully released ({card.released} of {card.qty})"
    if kind == "material_issue":
        return (
            f"Nothing of {line.item} is still to issue ({line.needed} {line.unit} needed): type a quantity "
            "for an extra issue, a reason is asked next"
        )
    if kind == "material_substitute":
        return f"Nothing of {line.item} is short: {line.needed} {line.unit} needed, all issued"
    return f"Nothing of {line.item} is issued to job {card.number}"


def check_qty(kind: str, text: str, card: JobCard, stage: str | None, line: MaterialView | None = None) -> int:
    """The quantity typed for `kind`, checked against the card; InputError in words if refused.

    Empty text means "all" for the kinds in ALL_BY_DEFAULT.
    """
    most = available(kind, card, stage, line)
    if not text.strip():
        if kind in ALL_BY_DEFAULT:
            if most <= 0:
                raise InputError(_none_left(kind, card, stage, line))
            return most
        raise InputError(f"Type how many to {KIND_WORDS[kind]}, then Enter")
    qty = parse_qty(text, allow_zero=kind == "receive")  # 0 good back: all of them rejected
    if qty > most and not is_extra_issue(kind, qty, line):
        raise InputError(_too_many(kind, qty, most, card, stage, line))
    return qty


def is_extra_issue(kind: str, qty: int, line: MaterialView | None) -> bool:
    """An issue beyond what is still to issue: allowed, with an extra-issue reason (asked next)."""
    return kind == "material_issue" and line is not None and qty > line.short


def release_warning(config: Config, card: JobCard) -> str:
    """What stores are told before releasing a job whose material is not all issued
    ([materials] release_without_issue = "warn"; "refuse" is the ledger's to say); "" if nothing."""
    if getattr(config, "materials", None) is None or config.materials.release_without_issue != "warn":
        return ""
    short = [m for m in card.material if m.short > 0]
    if not short:
        return ""
    words = ", ".join(f"{m.item} {m.short} {m.unit}" for m in short[:3])
    more = f" and {len(short) - 3} more" if len(short) > 3 else ""
    return f"Material not issued: {words}{more} still to issue. Release anyway, or Esc and issue first"


def _too_many(kind: str, qty: int, most: int, card: JobCard, stage: str | None, line: MaterialView | None) -> str:
    verb = KIND_WORDS[kind]
    if kind in ("complete", "qc_pass", "reject", "qc_fail"):
        verb = {"qc_pass": "pass", "qc_fail": "fail"}.get(kind, verb)
        return f"Only {most} pending at {card.step(stage).name}; cannot {verb} {qty}"
    if kind in ("rework", "scrap"):
        return f"Only {most} rejected at {card.step(stage).name} waiting for a decision; cannot {verb} {qty}"
    if kind == "send":
        step = card.step(stage)
        out = f" ({step.out} already at a supplier)" if step.out else ""
        return f"Only {most} pending at {step.name} to send{out}; cannot send {qty}"
    if kind == "receive":
        return f"Only {most} at a supplier from {card.step(stage).name}; cannot receive {qty}"
    if kind == "dispatch":
        return f"Only {most} of job {card.number} ready for dispatch; cannot dispatch {qty}"
    if kind == "release":
        return f"Job {card.number} is for {card.qty}; {card.released} already released, so at most {most} more"
    if kind in ("material_issue", "material_substitute"):
        return f"Only {most} {line.unit} of {line.item} still to issue; cannot {verb.split()[0]} {qty} {line.unit}"
    return (
        f"Only {most} {line.unit} of {line.item} issued to job {card.number}; "
        f"cannot {verb.split()[0]} {qty} {line.unit}"
    )


def check_rejected(text: str, good: int, most: int, where: str) -> int:
    """The units rejected on receipt, typed after the good ones (empty = none); InputError in
    words when good + rejected is more than is out (`most`, `where`: 'at a supplier from X')."""
    rejected = parse_qty(text, field="rejected quantity", allow_zero=True) if text.strip() else 0
    if not good and not rejected:
        raise InputError("Say how many came back: a good quantity, rejected ones, or both")
    if good + rejected > most:
        raise InputError(f"Only {most} {where}; cannot receive {good} good and {rejected} rejected")
    return rejected
