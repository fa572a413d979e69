"""The kiosk's durable outbox: entries made while the store is away, replayed in order exactly once.

DESIGN.md §9. One SQLite file per terminal, written with the standard library's sqlite3 (never
the store's peewee models, which are bound to the store). synchronous=FULL and every write is
committed before the method returns: the screen says QUEUED only after `queue()` returned, and
a power cut after that loses nothing. The kiosk and `floorterm outbox` may open one file at
the same time: every write takes BEGIN IMMEDIATE and waits on a busy timeout.

`replay()` sends the waiting entries to the ledger in queue order, each with its own UUID, so
an entry that already landed (the answer was lost, the kiosk restarted) is recognised, never
written twice. An entry the ledger refuses is kept here as refused and reported to the store,
where the board lists it until a supervisor retries or discards it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import threading
import uuid as uuidlib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from floorterm import rules
from floorterm.clock import utcnow
from floorterm.errors import DomainError, InputError, StoreError
from floorterm.ledger import Actor, Ledger, Receipt, new_uuid
from floorterm.store import STORE_AWAY, refuse_network_filesystem

STATUSES = ("waiting", "refused", "replayed", "discarded")
SCHEMA_VERSION = 1
BUSY_TIMEOUT_SECONDS = 10.0
# How long one replay waits for the store per entry before it says "offline": a kiosk keeps
# queueing meanwhile, so finding out fast matters more than waiting for a slow store.
REPLAY_DEADLINE_SECONDS = 5.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entry (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    job TEXT, stage TEXT, to_stage TEXT, qty INTEGER, reason TEXT, item TEXT, item2 TEXT,
    note TEXT NOT NULL DEFAULT '',
    reference TEXT NOT NULL DEFAULT '',
    badge TEXT NOT NULL,
    terminal TEXT NOT NULL,
    login_user TEXT,
    client_time TEXT NOT NULL,
    queued_at TEXT NOT NULL,
    words TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'waiting',
    refusal TEXT,
    event_id INTEGER,
    resolved_by TEXT,
    -- 1 while the store holds an open refusal of this entry (the board lists it)
    reported INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entry_status ON entry (status, seq);
CREATE TABLE IF NOT EXISTS snapshot (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    taken_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

# What makes two queued entries "the same entry" (times and words may differ on a retry).
_SAME = (
    "kind",
    "job",
    "stage",
    "to_stage",
    "qty",
    "reason",
    "item",
    "item2",
    "note",
    "reference",
    "badge",
    "terminal",
    "login_user",
)
_TIMES = ("client_time", "queued_at")

# Verbs for an entry in words: "complete 5 at Welding".
_VERBS = {
    "qc_pass": "QC pass",
    "qc_fail": "QC fail",
    "rework": "rework",
    "delay": "delay",
    "material_issue": "issue",
    "material_return": "return",
    "material_scrap": "scrap material",
    "material_substitute": "substitute",
    "priority": "priority",
    "hold": "hold",
    "unhold": "unhold",
}


def outbox_path(terminal_id: str) -> Path:
    """$FLOORTERM_OUTBOX_DIR/<TERMINAL>.sqlite, else the user data folder's floorterm/outbox/<TERMINAL>.sqlite."""
    folder = os.environ.get("FLOORTERM_OUTBOX_DIR", "").strip()
    if folder:
        return Path(folder).expanduser() / f"{terminal_id}.sqlite"
    import platformdirs

    return platformdirs.user_data_path("floorterm") / "outbox" / f"{terminal_id}.sqlite"


def entry_words(
    kind: str,
    *,
    qty: int | None = None,
    stage: str | None = None,
    to_stage: str | None = None,
    reason: str | None = None,
    item: str | None = None,
    item2: str | None = None,
) -> str:
    """An entry as people read it, e.g. 'complete 5 at Welding' (pass stage and reason names or codes)."""
    parts = [_VERBS.get(kind, kind.replace("_", " "))]
    if qty and kind not in ("delay", "resume", "start", "note", "hold", "unhold"):
        parts.append(str(qty))
    if kind == "material_substitute" and item and item2:
        parts.append(f"{item2} for {item}")
    elif item:
        parts.append(item)
    if stage:
        parts.append(f"at {stage}")
    if to_stage and to_stage != stage:
        parts.append(f"→ {to_stage}")
    if reason:
        parts.append(f"({reason})")
    return " ".join(parts)


@dataclass(frozen=True, kw_only=True)
class QueuedEntry:
    """One entry in the outbox. Build one without seq (or pass the same fields to `Outbox.queue`)."""

    seq: int = 0  # order in the outbox; 0 until queued
    uuid: str = field(default_factory=new_uuid)
    kind: str
    job: str | None = None
    stage: str | None = None
    to_stage: str | None = None
    qty: int | None = None
    reason: str | None = None
    item: str | None = None
    item2: str | None = None
    note: str = ""
    reference: str = ""
    badge: str
    terminal: str = ""  # the outbox's terminal when left empty
    login_user: str | None = None
    client_time: dt.datetime = field(default_factory=utcnow)  # naive UTC
    queued_at: dt.datetime | None = None  # naive UTC; set by queue()
    words: str = ""  # the entry in words; queue() makes one from the codes when empty
    status: str = "waiting"
    refusal: str | None = None
    event_id: int | None = None
    resolved_by: str | None = None
    reported: bool = False  # the store holds an open refusal of it (the board lists it)

    def same_entry(self, other: "QueuedEntry") -> bool:
        return all(getattr(self, name) == getattr(other, name) for name in _SAME)

    def record_arguments(self) -> dict:
        """The keyword arguments of Ledger.record for this entry (after kind and job)."""
        args = dict(
            actor=Actor(self.badge, self.terminal, self.login_user),
            stage=self.stage,
            to_stage=self.to_stage,
            qty=self.qty,
            reason=self.reason,
            item=self.item,
            item2=self.item2,
            note=self.note,
            uuid=self.uuid,
            client_time=self.client_time,
        )
        if self.reference:  # only when given, so this works with a ledger that has no references
            args["reference"] = self.reference
        return args


_COLUMNS = tuple(f.name for f in fields(QueuedEntry))


def _stamp(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _naive_utc(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment


def _from_row(row: sqlite3.Row) -> QueuedEntry:
    values = {name: row[name] for name in _COLUMNS}
    for name in _TIMES:
        values[name] = dt.datetime.fromisoformat(values[name]) if values[name] else None
    values["reported"] = bool(values["reported"])
    return QueuedEntry(**values)


class Outbox:
    """The outbox file of one terminal. Every method is one short transaction; thread-safe."""

    def __init__(self, conn: sqlite3.Connection, terminal: str, path: Path, clock=utcnow):
        self.conn = conn
        self.terminal = terminal
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()  # one connection shared by the UI and the replay thread

    @classmethod
    def open(cls, terminal_id: str, path: Path | str | None = None, *, clock=utcnow) -> "Outbox":
        """Open (creating the folder and file if needed) the outbox of `terminal_id`; `clock` stamps queued_at."""
        path = Path(path).expanduser() if path is not None else outbox_path(terminal_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        refuse_network_filesystem(path)
        try:
            conn = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            raise StoreError(f"Cannot open the outbox {path}: {exc}") from exc
        conn.row_factory = sqlite3.Row
        outbox = cls(conn, terminal_id, path, clock)
        try:
            outbox._set_up()
        except BaseException:
            conn.close()
            raise
        return outbox

    def _set_up(self) -> None:
        self.conn.execute("PRAGMA synchronous = FULL")  # a queued entry survives a power cut
        if self.conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
            with self._write() as conn:  # a new file (or one to upgrade): opening a set-up one writes nothing
                if conn.execute("PRAGMA user_version").fetchone()[0] > SCHEMA_VERSION:
                    raise StoreError(f"The outbox {self.path} was written by a newer floorterm; install that version")
                for statement in _SCHEMA.split(";"):  # not executescript: it would COMMIT our transaction
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                conn.execute("INSERT OR IGNORE INTO info (key, value) VALUES ('terminal', ?)", (self.terminal,))
        owner = self.conn.execute("SELECT value FROM info WHERE key = 'terminal'").fetchone()[0]
        if owner != self.terminal:
            raise StoreError(f"The outbox {self.path} belongs to terminal {owner}, not {self.terminal}")

    def close(self) -> None:
        with self._lock:
            self.conn.close()

    def __enter__(self) -> "Outbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- transactions -------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self):
        """BEGIN IMMEDIATE ... COMMIT under the outbox's lock (ROLLBACK on any error); yields the connection."""
        with self._lock:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _select(self, where: str = "1", params: tuple = ()) -> list[QueuedEntry]:
        with self._lock:
            rows = self.conn.execute(f"SELECT * FROM entry WHERE {where} ORDER BY seq", params).fetchall()
        return [_from_row(row) for row in rows]

    # -- queueing -----------------------------------------------------------------------------

    def queue(self, entry: QueuedEntry | None = None, /, **fields) -> QueuedEntry:
        """Keep an entry for replay: pass a QueuedEntry, or its fields as keywords. Returns it as stored.

        The entry is on disk when this returns. The same UUID with the same entry again is a
        no-op returning the stored one; the same UUID with a different entry is refused.
        """
        if entry is None:
            entry = QueuedEntry(**fields)
        elif fields:
            entry = replace(entry, **fields)
        entry = self._clean(entry)
        with self._write() as conn:
            row = conn.execute("SELECT * FROM entry WHERE uuid = ?", (entry.uuid,)).fetchone()
            if row is not None:
                stored = _from_row(row)
                if not stored.same_entry(entry):
                    raise DomainError(f"Entry id {entry.uuid} is already queued for a different entry")
                return stored
            values = {name: getattr(entry, name) for name in _COLUMNS if name != "seq"}
            values.update(
                status="waiting",
                refusal=None,
                event_id=None,
                resolved_by=None,
                reported=0,
                client_time=_stamp(entry.client_time),
                queued_at=_stamp(self.clock()),
            )
            names = ", ".join(values)
            conn.execute(f"INSERT INTO entry ({names}) VALUES ({', '.join('?' * len(values))})", tuple(values.values()))
            return _from_row(conn.execute("SELECT * FROM entry WHERE uuid = ?", (entry.uuid,)).fetchone())

    def _clean(self, entry: QueuedEntry) -> QueuedEntry:
        """The entry checked for what the outbox itself needs; the ledger checks the rest on replay."""
        if entry.kind not in rules.KINDS or entry.kind == "void":
            raise InputError(f"A {entry.kind!r} entry cannot be queued offline")
        try:
            entry_uuid = str(uuidlib.UUID(str(entry.uuid).strip()))
        except ValueError:
            raise InputError(f"Entry id {entry.uuid!r} is not a UUID") from None
        if not entry.badge:
            raise InputError("A queued entry needs the operator's badge")
        if entry.qty is not None and (isinstance(entry.qty, bool) or not isinstance(entry.qty, int)):
            raise InputError(f"Quantity {entry.qty!r} is not a whole number")
        terminal = entry.terminal or self.terminal
        if terminal != self.terminal:
            raise DomainError(f"This outbox belongs to terminal {self.terminal}, not {terminal}")
        words = entry.words or entry_words(
            entry.kind,
            qty=entry.qty,
            stage=entry.stage,
            to_stage=entry.to_stage,
            reason=entry.reason,
            item=entry.item,
            item2=entry.item2,
        )
        return replace(
            entry,
            uuid=entry_uuid,
            terminal=terminal,
            words=words,
            note=entry.note or "",
            reference=entry.reference or "",
            client_time=_naive_utc(entry.client_time),
        )

    # -- reading ------------------------------------------------------------------------------

    def waiting(self) -> list[QueuedEntry]:
        """Entries still to be replayed, in queue order."""
        return self._select("status = 'waiting'")

    def refused(self) -> list[QueuedEntry]:
        """Entries the ledger refused on replay, waiting for a supervisor, in queue order."""
        return self._select("status = 'refused'")

    def entries(self, include_done: bool = False) -> list[QueuedEntry]:
        """Waiting and refused entries (with include_done also replayed and discarded ones), in queue order."""
        return self._select() if include_done else self._select("status IN ('waiting', 'refused')")

    def get(self, uuid: str) -> QueuedEntry | None:
        found = self._select("uuid = ?", (str(uuid).strip().lower(),))
        return found[0] if found else None

    def counts(self) -> tuple[int, int]:
        """(waiting, refused)."""
        with self._lock:
            rows = dict(
                self.conn.execute(
                    "SELECT status, COUNT(*) FROM entry WHERE status IN ('waiting', 'refused') GROUP BY status"
                ).fetchall()
            )
        return rows.get("waiting", 0), rows.get("refused", 0)

    def unsynced(self) -> list[QueuedEntry]:
        """Entries whose refusal the store does not know yet, or still lists though it was replayed."""
        return self._select("(status = 'refused' AND reported = 0) OR (status = 'replayed' AND reported = 1)")

    # -- changing an entry's status -------------------------------------------------------------

    def _change(self, uuid: str, allowed: tuple[str, ...], sets: str, params: tuple) -> QueuedEntry:
        with self._write() as conn:
            row = conn.execute("SELECT * FROM entry WHERE uuid = ?", (uuid,)).fetchone()
            if row is None:
                raise DomainError(f"No entry {uuid} in the outbox of {self.terminal}")
            if row["status"] not in allowed:
                raise DomainError(f"Entry {uuid} is {row['status']}, not {' or '.join(allowed)}")
            conn.execute(f"UPDATE entry SET {sets} WHERE uuid = ?", (*params, uuid))
            return _from_row(conn.execute("SELECT * FROM entry WHERE uuid = ?", (uuid,)).fetchone())

    def mark_replayed(self, uuid: str, event_id: int) -> QueuedEntry:
        """The ledger holds the entry (now, or from an earlier replay whose answer was lost).

        Allowed from any status: the ledger is the truth, e.g. when two replays of this outbox
        ran at once and one was refused before the other saved the entry.
        """
        return self._change(uuid, STATUSES, "status = 'replayed', event_id = ?", (event_id,))

    def mark_refused(self, uuid: str, reason: str) -> QueuedEntry:
        """The ledger refused the entry: keep it for a supervisor; the store is told on the next replay.

        An entry already marked replayed stays so (another replay saved it after a change).
        """
        found = self.get(uuid)
        if found is not None and found.status == "replayed":
            return found
        return self._change(uuid, ("waiting", "refused"), "status = 'refused', refusal = ?, reported = 0", (reason,))

    def mark_reported(self, uuid: str, reported: bool = True) -> QueuedEntry:
        """Whether the store now holds an open refusal of this entry."""
        return self._change(uuid, STATUSES, "reported = ?", (int(reported),))

    def retry(self, uuid: str) -> QueuedEntry:
        """Send a refused entry again on the next replay, in its old place in the queue order."""
        return self._change(uuid, ("refused",), "status = 'waiting'", ())

    def discard(self, uuid: str, by_badge: str) -> QueuedEntry:
        """Give up a refused entry (after the store accepted the discard: Ledger.resolve_replay_refusal).

        Discarding it again changes nothing.
        """
        found = self.get(uuid)
        if found is not None and found.status == "discarded":
            return found
        return self._change(uuid, ("refused",), "status = 'discarded', resolved_by = ?, reported = 0", (by_badge,))

    # -- the kiosk's offline copy ---------------------------------------------------------------

    def save_snapshot(self, snapshot) -> None:
        """Keep the kiosk's read snapshot (a KioskSnapshot) in this file, replacing the last one."""
        body = json.dumps(snapshot.to_json(), separators=(",", ":"), ensure_ascii=False)
        with self._write() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO snapshot (id, taken_at, body) VALUES (1, ?, ?)",
                (_stamp(snapshot.taken_at), body),
            )

    def load_snapshot(self, config=None):
        """The last saved KioskSnapshot, or None. With the config, it also checks entries as the ledger would."""
        from floorterm.kiosk_snapshot import KioskSnapshot

        with self._lock:
            row = self.conn.execute("SELECT body FROM snapshot WHERE id = 1").fetchone()
        return None if row is None else KioskSnapshot.from_json(row["body"], config=config)


# -- replay --------------------------------------------------------------------------------------

# What "the store is away" looks like: the ledger's own error after its deadline, or a driver
# error that escaped it (a read outside the write retry).


@dataclass
class ReplayReport:
    saved: list[Receipt]
    refused: list[QueuedEntry]
    offline: bool
    error: str | None


def replay(outbox: Outbox, ledger: Ledger, *, deadline: float | None = None) -> ReplayReport:
    """Send the waiting entries to the ledger in queue order; stop at the first sign the store is away.

    `deadline`: seconds each write may keep trying a busy or absent store before replay stops
    as offline (default REPLAY_DEADLINE_SECONDS; the entries wait for the next replay).
    An entry the ledger already holds (same UUID) counts as saved and is not written again.
    A refused one is kept as refused and reported to the store for the board. Refusals the
    store has not heard of yet (it went away in between) are reported first.
    """
    report = ReplayReport(saved=[], refused=[], offline=False, error=None)
    deadline = REPLAY_DEADLINE_SECONDS if deadline is None else deadline
    try:
        for entry in outbox.unsynced():
            _sync(outbox, ledger, entry, deadline)
        for entry in outbox.waiting():
            try:
                receipt = ledger.record(entry.kind, entry.job, **entry.record_arguments(), deadline=deadline)
            except (DomainError, InputError) as exc:
                refused = outbox.mark_refused(entry.uuid, str(exc))
                if refused.status == "refused":
                    report.refused.append(refused)
                    _sync(outbox, ledger, refused, deadline)
                continue
            report.saved.append(receipt)
            _sync(outbox, ledger, outbox.mark_replayed(entry.uuid, receipt.event_id), deadline)
    except STORE_AWAY as exc:
        report.offline = True
        text = str(exc).strip()
        report.error = text.splitlines()[0] if text else type(exc).__name__
    return report


def _sync(outbox: Outbox, ledger: Ledger, entry: QueuedEntry, deadline: float | None) -> None:
    """Tell the store about a refusal, or that a refused entry has landed after a retry."""
    if entry.status == "refused" and not entry.reported:
        if ledger.report_replay_refusal(entry, entry.refusal or "refused", deadline=deadline) is None:
            outbox.retry(entry.uuid)  # another replay saved it meanwhile: the next send finds it there
        else:
            outbox.mark_reported(entry.uuid, True)
    elif entry.status == "replayed" and entry.reported:
        try:
            ledger.resolve_replay_refusal(
                entry.uuid, actor=Actor(entry.badge, entry.terminal), how="retried", deadline=deadline
            )
        except DomainError:
            pass  # nothing open on the board any more (a supervisor closed it meanwhile)
        outbox.mark_reported(entry.uuid, False)


__all__ = [
    "Outbox",
    "QueuedEntry",
    "ReplayReport",
    "replay",
    "outbox_path",
    "entry_words",
    "STATUSES",
    "REPLAY_DEADLINE_SECONDS",
]
