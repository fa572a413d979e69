"""Importing past entries with their own times (`floorterm entries import FILE.csv --by BADGE`).

For migrating history from another system, and for a supervisor typing in the paper
travellers of a shift. Each line is one entry, as `floorterm record ACTION` would record it,
but at the time in its `at` column: that time becomes the event's commit time and terminal
time, so waiting times and flow figures come out as they happened on the floor.

entries.csv - one line per entry, in any order (they are checked and written in time order;
entries with the same time keep the file's order):

    column      required  meaning
    at          yes       when it happened: ISO 8601 with an offset (2026-11-23T07:30+01:00,
                          ...Z), or plant local time without one (2026-11-23 07:30, the
                          config's [plant] timezone). Not in the future, and not before the
                          job's newest entry already in the store
    action      yes       a `floorterm record` action: release, start, complete, reject, rework,
                          scrap, delay, resume, qc-pass, qc-fail, issue, return, material-scrap,
                          substitute, dispatch, priority, hold, unhold, note (not void)
    job         yes       a job number in the store
    step        optional  the stage code, for the actions at a step (and a note about one)
    qty         optional  the quantity; for priority, the new priority 1..9
    reason      optional  a reason code from the config's list for the action
    item        optional  the material item, for issue, return, material-scrap, substitute
    note        optional  a note (required for priority, hold, unhold and note)
    operator    optional  the badge of who did it; empty = the --by badge
    terminal    optional  the terminal it was done at (operators, QC and stores need one)
    uuid        optional  the entry's id: importing the file again writes nothing twice
    to_step     optional  rework: the step that reworks it (default: the same step)
    substitute  optional  substitute: the item issued instead
    reference   optional  dispatch: the delivery note or shipment reference

A value in a column the action does not take is refused rather than dropped. `--by` must be
a supervisor's or planner's badge; it is stored on every event it imports (Event.recorded_by).
Each entry is checked like a live one - input, reason lists, the operator's role and terminal,
and the quantity rules against the job's balances as the earlier lines leave them - by the
ledger's own code (`Ledger._normalise`, `Ledger._authorise`, `floorterm.rules.apply`).
A file is all or nothing: every problem is reported with its line (and column where one
column is wrong) and nothing is written, else all of it is written in one transaction.
A job's creation entry does not count as its newest entry: history moved over from another
system happened before the job was created here.

The lines are checked outside any write transaction, against the balances as stored; then,
in one write transaction, the jobs' rows are locked (PostgreSQL) and, if any of them got an
entry meanwhile, the file is checked again under the lock. The events are appended with ids
in time order and each job's balances saved once with `ledger.save_state`, as `floorterm.bulk`
does: `Ledger.record` line by line costs about 1.5 ms a line (30 s for 20,000 lines, against
about 4 s this way).
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import tempfile
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable
from zoneinfo import ZoneInfo

from floorterm import models as m
from floorterm import rules
from floorterm._peewee import peewee
from floorterm.bulk import _EVENT_FIELDS as BULK_EVENT_FIELDS
from floorterm.bulk import _insert, _operator, _reserve_ids
from floorterm.clock import to_plant
from floorterm.config import Config
from floorterm.errors import DomainError, InputError, PermissionDenied
from floorterm.importer import Problem, Row, _Checker, read_rows
from floorterm.inputs import clean_text, parse_badge, parse_code, parse_job_number, parse_priority, parse_qty
from floorterm.ledger import (
    ANYWHERE_ROLES,
    NOTE_REQUIRED,
    REASON_LISTS,
    REFERENCE_MAX,
    Actor,
    Ledger,
    _check_uuid,
    _Entry,
    load_states,
    replay,
    save_state,
    snapshot,
)
from floorterm.rules import Fact, JobState
from floorterm.store import Store

# The `floorterm record` actions -> (ledger kind, the columns the action takes besides at, job,
# note, operator, terminal and uuid). The same names as the CLI's ACTIONS (a test holds them
# together); void is left out: an import adds entries, it never cancels one.
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "release": ("release", ("qty",)),
    "start": ("start", ("step",)),
    "complete": ("complete", ("step", "qty")),
    "reject": ("reject", ("step", "qty", "reason")),
    "rework": ("rework", ("step", "qty", "to_step")),
    "scrap": ("scrap", ("step", "qty", "reason")),
    "delay": ("delay", ("step", "reason")),
    "resume": ("resume", ("step",)),
    "qc-pass": ("qc_pass", ("step", "qty")),
    "qc-fail": ("qc_fail", ("step", "qty", "reason")),
    "issue": ("material_issue", ("item", "qty", "reason")),  # reason: only for an extra issue
    "return": ("material_return", ("item", "qty")),
    "material-scrap": ("material_scrap", ("item", "qty", "reason")),
    "substitute": ("material_substitute", ("item", "substitute", "qty")),
    "send": ("send", ("step", "qty", "supplier", "reference")),
    # Units rejected on receipt from a supplier: a reject line at the outside step.
    "receive": ("receive", ("step", "qty", "supplier", "reference")),
    "dispatch": ("dispatch", ("qty", "reference")),
    "priority": ("priority", ("qty",)),
    "hold": ("hold", ()),
    "unhold": ("unhold", ()),
    "note": ("note", ("step",)),
}
COLUMNS = ("at", "action", "job")
OPTIONAL_COLUMNS = (
    "step",
    "qty",
    "reason",
    "item",
    "note",
    "operator",
    "terminal",
    "uuid",
    "to_step",
    "substitute",
    "reference",
    "supplier",
)
# Columns an action takes but may leave empty (a note may be about a step, or about the job).
MAY_BE_EMPTY = {
    "rework": ("to_step",),
    "dispatch": ("reference",),
    "note": ("step",),
    "issue": ("reason",),
    "send": ("reference",),
    "receive": ("supplier", "reference"),
}
NEEDS_NOTE = NOTE_REQUIRED | {"note"}
COLUMN_WORDS = {
    "step": "step",
    "qty": "quantity",
    "reason": "reason",
    "item": "item",
    "to_step": "rework step",
    "substitute": "substitute item",
    "reference": "reference",
    "supplier": "supplier",
}

PROGRESS_EVERY = 250  # rows between two progress calls

_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?"
    r"(Z|[+-][0-9]{2}:?[0-9]{2})?",
    re.ASCII,
)
_TIME_FORMS = "write it like 2026-11-23 07:30 (plant time) or 2026-11-23T07:30+01:00"


@dataclass(frozen=True)
class ImportResult:
    """What an import did: data rows in the file, events written, rows already in the store."""

    rows: int
    written: int
    skipped_duplicates: int


@dataclass(frozen=True)
class _Line:
    """One good line of the file: when, and the entry as the ledger normalised it."""

    row: Row
    at: dt.datetime  # naive UTC
    entry: _Entry


@dataclass
class _Plan:
    """The checked file, ready to write: entries in time order and the balances they leave."""

    accepted: list[tuple[_Line, int, m.Job]]  # (line, operator id, job)
    jobs: dict[int, m.Job]
    before: dict[int, dict]  # job id -> snapshot of its stored balances
    after: dict[int, JobState]  # job id -> balances after the file's entries
    skipped: int


def parse_time(value: str, tz: ZoneInfo) -> dt.datetime:
    """A time as written in the file, as naive UTC; plant local time when it has no offset.

    A local time the plant clock showed twice (the hour the clocks go back) or never (the
    hour they go forward) is refused: only an offset says which moment it was.
    """
    text = value.strip()
    if not _TIME.fullmatch(text):
        raise InputError(f"not a time; {_TIME_FORMS}")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError("not a real date and time") from None
    if moment.tzinfo is None:
        first, second = moment.replace(tzinfo=tz, fold=0), moment.replace(tzinfo=tz, fold=1)
        if first.utcoffset() != second.utcoffset():
            wall = first.astimezone(dt.timezone.utc).astimezone(tz).replace(tzinfo=None)
            if wall != moment:
                raise InputError(
                    f"the plant clock never showed this time (the clocks went forward); "
                    f"give its offset, e.g. {text}{_offset(first)}"
                )
            raise InputError(
                f"the plant clock showed this time twice (the clocks went back); give its offset: "
                f"{text}{_offset(first)} or {text}{_offset(second)}"
            )
        moment = first
    return moment.astimezone(dt.timezone.utc).replace(tzinfo=None)


def _offset(moment: dt.datetime) -> str:
    text = moment.strftime("%z")
    return f"{text[:3]}:{text[3:]}"


def import_entries(
    ledger: Ledger,
    config: Config,
    path_or_text: str | Path,
    *,
    by_badge: str,
    progress: Callable[[int, int], None] | None = None,
    now: dt.datetime | None = None,
    login_user: str | None = None,
) -> ImportResult:
    """Check every line of an entries file, then write them all in one transaction.

    `path_or_text`: a file path, or the CSV text itself (a str with a line break).
    `progress(done, total)`: called every few hundred rows; `total` is the file's rows and `done`
    counts them half for checking and half for writing, so it reaches `total` once all is written.
    `now` (naive UTC, default the ledger's clock): no entry may be later.
    Raises PermissionDenied if `by_badge` is not an active supervisor or planner, and
    InputError naming every bad line ("entries.csv line 7, column qty: ...") with nothing written.
    """
    by = _importer(by_badge)
    run = _Import(ledger, config, by, now or ledger.clock(), login_user, progress)
    name, rows, problems = _read(path_or_text)
    run.rows = len(rows)
    lines = [line for line in (run.parse(name, row, problems) for row in rows) if line is not None]
    if not rows and not problems:
        problems.append(Problem(name, None, None, None, "has a header but no entries"))
    plan = run.check(name, lines, problems)
    _raise(problems)

    def write() -> _Plan:
        checked = plan
        if not _unchanged(ledger, plan):  # someone recorded on these jobs since: check again, now locked
            again: list[Problem] = []
            checked = run.check(name, lines, again)
            _raise(again)
        _write(ledger, checked, by.id, run.report)
        return checked

    written = plan
    if plan.accepted:
        try:
            written = ledger.store.run_write(write, deadline=120.0)
        except peewee.IntegrityError as exc:
            raise DomainError(
                f"Nothing was imported: an entry id of the file was recorded meanwhile ({exc}); import the file again"
            ) from None
    run.report(1.0)
    return ImportResult(rows=len(rows), written=len(written.accepted), skipped_duplicates=written.skipped)


def _importer(by_badge: str) -> m.Operator:
    """The --by operator: an active supervisor or planner."""
    badge = parse_badge(by_badge)
    operator = _operator({o.badge: o for o in m.Operator.select().where(m.Operator.badge == badge)}, badge)
    if operator.role not in ANYWHERE_ROLES:
        raise PermissionDenied(
            f"{operator.name} ({operator.role}) may not import entries; a supervisor or planner must (--by)"
        )
    return operator


def _read(path_or_text: str | Path) -> tuple[str, list[Row], list[Problem]]:
    """The file's name for messages, its data rows, and the problems of its header and lines."""
    problems: list[Problem] = []
    if isinstance(path_or_text, str) and "\n" in path_or_text:
        # read_rows reads files: hand it the text as one, named as the messages should say.
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "entries.csv"
            path.write_text(path_or_text, encoding="utf-8")
            return path.name, read_rows(path, COLUMNS, OPTIONAL_COLUMNS, problems), problems
    path = Path(path_or_text)
    return path.name, read_rows(path, COLUMNS, OPTIONAL_COLUMNS, problems), problems


def _raise(problems: list[Problem]) -> None:
    if problems:
        ordered = sorted(problems, key=lambda p: p.line or 0)  # stable: a line's problems keep their order
        raise InputError("\n".join(str(p) for p in ordered))


class _Import:
    """The checks of one import: by line in file order, then against the store in time order."""

    def __init__(
        self,
        ledger: Ledger,
        config: Config,
        by: m.Operator,
        now: dt.datetime,
        login_user: str | None,
        progress: Callable[[int, int], None] | None,
    ):
        self.ledger, self.config, self.by, self.now = ledger, config, by, now
        self.login_user, self.progress = login_user, progress
        self.uuid_lines: dict[str, int] = {}  # an id given in the file -> its first line
        self.rows = 0

    def report(self, fraction: float) -> None:
        """Tell the progress callback how far the import is, in rows of the file."""
        if self.progress is not None:
            self.progress(int(self.rows * fraction), self.rows)

    # -- one line by itself ------------------------------------------------------------

    def parse(self, name: str, row: Row, problems: list[Problem]) -> _Line | None:
        """The line as an entry; None (with its problems added) if it cannot be one."""
        check = _Checker(name, problems)
        check.next_row()
        for column, value in row.values.items():
            if "\x00" in value:  # a NUL byte: a binary or UTF-16 file, or a damaged one
                check.problem(row, column, value, "has a NUL byte; save the file as 'CSV UTF-8' and import it again")
        if check.row_bad:
            return None
        at = check.cell(row, "at", lambda v: parse_time(v, self.config.tz), required=True)
        action = check.cell(row, "action", _action, required=True)
        number = check.cell(row, "job", parse_job_number, required=True)
        values = self._values(row, check, action)
        note = check.cell(row, "note", lambda v: clean_text(v, field="note"), optional_column=True, default="")
        badge = check.cell(row, "operator", parse_badge, optional_column=True) or self.by.badge
        terminal = check.cell(row, "terminal", self._terminal, optional_column=True)
        uuid = check.cell(row, "uuid", _check_uuid, optional_column=True)
        if uuid in self.uuid_lines:
            check.problem(row, "uuid", row.values["uuid"], f"entry id already on line {self.uuid_lines[uuid]}")
        elif uuid is not None:
            self.uuid_lines[uuid] = row.line
        if action is not None and ACTIONS[action][0] in NEEDS_NOTE and not row.values.get("note", "").strip():
            check.problem(row, "note", None, f"empty; {action} needs a note (why)")
        if check.row_bad:
            return None
        kind = ACTIONS[action][0]
        try:
            entry = self.ledger._normalise(
                kind,
                number,
                actor=Actor(badge, terminal, self.login_user),
                note=note,
                voids=None,
                uuid=uuid,
                client_time=at,
                **values,
            )
        except (InputError, DomainError) as exc:  # the ledger's own input checks, beyond the columns
            check.problem(row, None, None, str(exc))
            return None
        return _Line(row, at, entry)

    def _values(self, row: Row, check: _Checker, action: str | None) -> dict:
        """The action's own columns, parsed; a value in a column it does not take is a problem."""
        if action is None:
            return {}
        kind, takes = ACTIONS[action]
        parsers = {
            "step": lambda v: parse_code(v, field="step"),
            "qty": parse_priority if kind == "priority" else parse_qty,
            "reason": lambda v: self._reason(kind, v),
            "item": lambda v: parse_code(v, field="item"),
            "to_step": lambda v: parse_code(v, field="rework step"),
            "substitute": lambda v: parse_code(v, field="substitute item"),
            "reference": lambda v: clean_text(v, max_len=REFERENCE_MAX, field="reference"),
            "supplier": lambda v: parse_code(v, field="supplier"),
        }
        values = {}
        for column, parse in parsers.items():
            given = row.values.get(column, "").strip()
            if column not in takes:
                if given:
                    check.problem(
                        row, column, row.values[column], f"{action} takes no {COLUMN_WORDS[column]}; leave it empty"
                    )
            elif given:
                values[column] = check.cell(row, column, parse)
            elif column not in MAY_BE_EMPTY.get(action, ()):
                check.problem(row, column, None, f"empty; {action} needs {_a(COLUMN_WORDS[column])}")
        return dict(
            stage=values.get("step"),
            to_stage=values.get("to_step"),
            qty=values.get("qty"),
            reason=values.get("reason"),
            item=values.get("item"),
            item2=values.get("substitute"),
            reference=values.get("reference"),
            supplier=values.get("supplier"),
        )

    def _reason(self, kind: str, value: str) -> str:
        code = parse_code(value, field="reason")
        try:
            self.ledger._check_reason(REASON_LISTS[kind], code)
        except DomainError as exc:
            raise InputError(str(exc)) from None
        return code

    def _terminal(self, value: str) -> str:
        terminal = parse_code(value, field="terminal")
        try:
            self.config.terminal(terminal)
        except KeyError:
            known = ", ".join(t.id for t in self.config.terminals) or "none"
            raise InputError(f"unknown terminal; the config has: {known}") from None
        return terminal

    # -- all lines against the store, in time order ----------------------------------------

    def check(self, name: str, lines: list[_Line], problems: list[Problem]) -> _Plan:
        """Apply the lines in time order to the stored balances; problems for those the ledger refuses."""
        jobs = _jobs({line.entry.number for line in lines})
        states = load_states(list(jobs.values()))
        outside = {s.code for s in self.config.stages if s.kind == "outside"}
        for job_id in {job.id for job in jobs.values() if job.number in self._numbers_at(lines, outside)}:
            states[job_id] = replay(jobs[job_id])  # the batches at suppliers live in the ledger
        before = {job_id: snapshot(state) for job_id, state in states.items()}
        newest = _newest_times(list(jobs.values()))
        stored = _stored_events(self.ledger.store, [line.entry.uuid for line in lines])
        operators = {o.badge: o for o in m.Operator.select()}
        by_number = {job.number: job for job in jobs.values()}
        plan = _Plan(accepted=[], jobs={}, before=before, after=states, skipped=0)
        tz = self.config.tz

        def refuse(line: _Line, column: str | None, message: str) -> None:
            value = line.row.values.get(column) if column else None
            problems.append(Problem(name, line.row.line, column, value, message))

        for done, line in enumerate(sorted(lines, key=lambda ln: (ln.at, ln.row.line)), start=1):
            if done % PROGRESS_EVERY == 0:
                self.report(done / len(lines) / 2)
            entry = line.entry
            job = by_number.get(entry.number)
            if job is None:
                refuse(line, "job", f"no job {entry.number} in the store")
                continue
            if entry.uuid in stored:
                why = self._same(line, stored[entry.uuid])
                if why:
                    refuse(line, "uuid", why)
                else:
                    plan.skipped += 1
                continue
            try:
                operator = _operator(operators, entry.actor.badge)
            except PermissionDenied as exc:
                refuse(line, "operator", str(exc))  # the --by badge is known good: the column named another
                continue
            if line.at > self.now:
                refuse(line, "at", f"is in the future (now {_plant(self.now, tz)}, plant time)")
                continue
            if job.id in newest and line.at < newest[job.id]:
                refuse(
                    line,
                    "at",
                    f"is before the newest entry of job {job.number} ({_plant(newest[job.id], tz)}, "
                    "plant time); entries can only be added after it",
                )
                continue
            state = states[job.id]
            try:
                self.ledger._authorise(entry, operator)
            except PermissionDenied as exc:
                refuse(line, None, str(exc))
                continue
            column = _unknown_on_job(state, entry)
            if column is not None:
                refuse(line, *column)
                continue
            trial = _copied(state)  # a refused line leaves the balances as the lines before it left them
            fact = Fact(
                kind=entry.kind,
                at=line.at,
                stage=entry.stage,
                to_stage=entry.to_stage,
                qty=entry.qty,
                reason=entry.reason,
                item=entry.item,
                item2=entry.item2,
                event_id=-(len(plan.accepted) + 1),
                reference=entry.reference,
            )  # the event's place in the file, until it has an id
            try:
                rules.apply(trial, fact)
            except DomainError as exc:
                refuse(line, "qty" if _too_many(state, fact) else None, str(exc))
                continue
            states[job.id] = trial
            newest[job.id] = line.at
            plan.accepted.append((line, operator.id, job))
            plan.jobs[job.id] = job
        for job_id, job in plan.jobs.items():
            errors = states[job_id].conservation_errors()
            if errors:  # a rule let something through: refuse, as save_state would
                problems.append(
                    Problem(
                        name,
                        None,
                        None,
                        None,
                        f"job {job.number}: its entries would break the ledger ({'; '.join(errors)})",
                    )
                )
        return plan

    @staticmethod
    def _numbers_at(lines: list[_Line], stages: set[str]) -> set[str]:
        """The jobs with a line at one of `stages`."""
        return {line.entry.number for line in lines if line.entry.stage in stages}

    def _same(self, line: _Line, stored: _Stored) -> str:
        """Why a line cannot be the stored entry with its id, or '' when it is that entry."""
        e, existing = line.entry, stored.event
        wanted_to = (e.to_stage or e.stage) if e.kind == "rework" else None
        if (
            existing.kind,
            stored.number,
            stored.stage,
            stored.to_stage,
            existing.qty,
            existing.reason,
            existing.item,
            existing.item2,
            existing.reference,
            existing.note,
            stored.badge,
            existing.committed_at,
        ) == (
            e.kind,
            e.number,
            e.stage,
            wanted_to,
            e.qty,
            e.reason,
            e.item,
            e.item2,
            e.reference,
            e.note,
            e.actor.badge,
            line.at,
        ):
            # Every field alike: the same entry, known without the ledger's queries per line (a
            # file of 20,000 imported again took 20 s on PostgreSQL with them, 3 s without).
            return ""
        differs = self.ledger._differences(existing, e, stored.number, stored.stage)
        if existing.committed_at != line.at:  # an import's time is part of the entry
            tz = self.config.tz
            differs.append(f"time was {_plant(existing.committed_at, tz)}, now {_plant(line.at, tz)} (plant time)")
        if differs:
            return f"entry id {line.entry.uuid} is already used for a different entry ({'; '.join(differs)})"
        return ""


def _action(value: str) -> str:
    action = value.strip().lower().replace("_", "-")
    if action in ACTIONS:
        return action
    if action == "void":
        raise InputError("an import adds entries and cannot void one; use `floorterm record void`")
    hint = difflib.get_close_matches(action, ACTIONS, n=1)
    more = f" (did you mean {hint[0]}?)" if hint else ""
    raise InputError(f"unknown action{more}; the actions are: {', '.join(ACTIONS)}")


def _a(noun: str) -> str:
    return f"an {noun}" if noun[0] in "aeiou" else f"a {noun}"


def _plant(moment: dt.datetime, tz: ZoneInfo) -> str:
    return to_plant(moment, tz).strftime("%Y-%m-%d %H:%M:%S")


def _copied(state: JobState) -> JobState:
    """A copy the rules can move without touching `state`."""
    trial = _shallow(state)
    trial.steps = [_shallow(s) for s in state.steps]
    trial.materials = {item: _shallow(line) for item, line in state.materials.items()}
    return trial


def _shallow(obj):
    # copy.copy, without its generic protocol: a third of the checking time of a large file.
    twin = object.__new__(type(obj))
    twin.__dict__.update(obj.__dict__)
    return twin


def _too_many(state: JobState, fact: Fact) -> bool:
    """Whether a refused entry would pass with a quantity of 1: then its quantity is what is wrong."""
    if fact.kind == "priority" or fact.qty <= 1:
        return False
    try:
        rules.apply(_copied(state), replace(fact, qty=1))
    except DomainError:
        return False
    return True


def _unknown_on_job(state: JobState, entry: _Entry) -> tuple[str, str] | None:
    """(column, message) when the line names a step or item the job does not have."""
    try:
        if entry.stage:
            state.step(entry.stage)
    except DomainError as exc:
        return "step", str(exc)
    try:
        if entry.to_stage:
            state.step(entry.to_stage)
    except DomainError as exc:
        return "to_step", str(exc)
    try:
        if entry.kind in rules.MATERIAL_KINDS:
            rules.material_line(state, entry.item)
    except DomainError as exc:
        return "item", str(exc)
    return None


def _chunks(values: list, size: int = 500):
    return (values[i : i + size] for i in range(0, len(values), size))


def _jobs(numbers: set[str]) -> dict[int, m.Job]:
    j = m.Job
    jobs = {}
    for chunk in _chunks(sorted(numbers)):
        for job in j.select(
            j.id,
            j.number,
            j.qty,
            j.initial_priority,
            j.released,
            j.dispatched,
            j.priority,
            j.priority_changed,
            j.on_hold,
            j.last_event_id,
        ).where(j.number.in_(chunk)):
            jobs[job.id] = job
    return jobs


def _newest_times(jobs: list[m.Job]) -> dict[int, dt.datetime]:
    """Job id -> the time of its newest entry, for the jobs that have any."""
    e = m.Event
    newest = {}
    for chunk in _chunks([job.id for job in jobs]):
        # A job's creation entry says when it was entered, not when anything happened to it: history
        # migrated from another system comes after the job is created here but happened before.
        query = (
            e.select(e.job, peewee.fn.MAX(e.committed_at).alias("newest"))
            .where(e.job.in_(chunk) & e.kind.not_in(rules.PLANNING_KINDS))
            .group_by(e.job)
        )
        for row in query:
            newest[row.job_id] = row.newest
    return newest


@dataclass(frozen=True)
class _Stored:
    """An entry already in the store under an id the file gives, with the names it is compared by."""

    event: m.Event
    number: str
    stage: str | None
    to_stage: str | None
    badge: str


def _stored_events(store: Store, uuids: list[str]) -> dict[str, _Stored]:
    """The entries already in the store under these ids."""
    with store.db.atomic():  # one short read transaction, for the setting below
        if store.backend == "postgres":
            # psycopg prepares a statement run five times, and PostgreSQL then plans `uuid IN (...)`
            # once for any ids: a scan comparing every event with 500 ids, 0.4 s a chunk (a 20,000-line
            # file imported again took 14 s instead of 0.7 s). Plan each chunk for its own ids.
            store.db.execute_sql("SET LOCAL plan_cache_mode = force_custom_plan")
        events = [event for chunk in _chunks(uuids) for event in m.Event.select().where(m.Event.uuid.in_(chunk))]
    step_ids = sorted({i for event in events for i in (event.step_id, event.to_step_id) if i is not None})
    stages = {
        i: stage
        for chunk in _chunks(step_ids)
        for i, stage in m.JobStep.select(m.JobStep.id, m.JobStep.stage).where(m.JobStep.id.in_(chunk)).tuples()
    }
    job_ids = sorted({event.job_id for event in events})
    numbers = {
        i: number
        for chunk in _chunks(job_ids)
        for i, number in m.Job.select(m.Job.id, m.Job.number).where(m.Job.id.in_(chunk)).tuples()
    }
    badges = dict(m.Operator.select(m.Operator.id, m.Operator.badge).tuples())
    return {
        event.uuid: _Stored(
            event,
            numbers[event.job_id],
            stages.get(event.step_id),
            stages.get(event.to_step_id),
            badges[event.operator_id],
        )
        for event in events
    }


def _unchanged(ledger: Ledger, plan: _Plan) -> bool:
    """Whether the jobs are as checked; locks their rows on PostgreSQL for the rest of the write."""
    j = m.Job
    for chunk in _chunks(sorted(plan.jobs)):
        query = ledger.store.locked(j.select(j.id, j.last_event_id).where(j.id.in_(chunk)).order_by(j.id))
        for job_id, last_event_id in query.tuples():
            if plan.jobs[job_id].last_event_id != last_event_id:
                return False
    return True


# The bulk writer's event columns, without voids (a file cannot void) and with what an
# imported entry carries besides: the dispatch reference and who loaded the file.
_EVENT_FIELDS = [field for field in BULK_EVENT_FIELDS if field is not m.Event.voids] + [
    m.Event.reference,
    m.Event.recorded_by,
]


def _write(ledger: Ledger, plan: _Plan, by_id: int, report: Callable[[float], None]) -> None:
    """Append the plan's events (ids in time order) and store the balances they leave."""
    store = ledger.store
    ids = _reserve_ids(store, m.Event, len(plan.accepted))
    rows = []
    last: dict[int, int] = {}
    for event_id, (line, operator_id, job) in zip(ids, plan.accepted):
        e = line.entry
        steps = {s.stage: s.step_id for s in plan.after[job.id].steps}
        to_step = steps.get(e.to_stage or e.stage) if e.kind == "rework" else None
        rows.append(
            (
                event_id,
                e.uuid,
                job.id,
                steps.get(e.stage),
                to_step,
                e.kind,
                e.qty,
                e.reason,
                e.item,
                e.item2,
                e.note,
                operator_id,
                e.actor.terminal,
                e.actor.login_user,
                e.actor.login_key,
                line.at,
                line.at,
                e.reference,
                by_id,
            )
        )
        last[job.id] = event_id
    _insert(store, m.Event, _EVENT_FIELDS, rows)
    counts = Counter(job.id for _, _, job in plan.accepted)
    saved = 0
    for job_id, job in plan.jobs.items():
        state = _copied(plan.after[job_id])  # a retried transaction starts again from the plan
        for step in state.steps:
            if step.delay_event_id is not None and step.delay_event_id < 0:
                step.delay_event_id = ids[-step.delay_event_id - 1]
        save_state(job, state, plan.before[job_id], last[job_id])
        saved += counts[job_id]  # saving the balances is most of the writing
        if saved // PROGRESS_EVERY != (saved - counts[job_id]) // PROGRESS_EVERY:
            report(0.5 + saved / len(plan.accepted) / 2)
    store.notify(ids[-1], plan.accepted[-1][2].id)


__all__ = ["import_entries", "parse_time", "ImportResult", "ACTIONS", "COLUMNS", "OPTIONAL_COLUMNS"]
