"""A kiosk's way to the store: straight through the ledger and the queries while the store
answers, through its offline copy and its outbox while it does not (DESIGN.md §9).

Every method runs on the kiosk's one store thread (the outbox's SQLite connection belongs
to it). Nothing here imports Textual; the kiosk screen decides what to show.

- Reads try the store; when it is away they answer from the offline copy (badges, the open
  jobs at this terminal's stages, reasons), and the link stays `offline` (no more waiting on
  a dead store) until `sync()` finds the store again.
- An entry is written through the ledger. When the store is away (or entries are already
  waiting, so order is kept) it is checked against the offline copy and queued in the
  outbox, durable before `record` returns: the screen says QUEUED, never SAVED.
- `sync()`, called every few seconds, replays the outbox in order, exactly once (the entry's
  UUID is the ledger's idempotency key), and refreshes the offline copy while online.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from floorterm.config import Config
from floorterm.errors import DomainError, InputError, StoreError
from floorterm.kiosk_snapshot import KioskSnapshot, snapshot_with_waiting, take_snapshot
from floorterm.ledger import Actor, Ledger, Receipt
from floorterm.outbox import Outbox, QueuedEntry, outbox_path, replay
from floorterm.queries import JobCard, OperatorView, Queries
from floorterm.store import STORE_AWAY, Store

# How long one write may wait for the store before the entry is queued instead: long enough
# for a busy SQLite burst (p99 well under 1 s), short enough for an operator standing there.
WRITE_DEADLINE_SECONDS = 3.0
REPLAY_DEADLINE_SECONDS = 1.5
SNAPSHOT_REFRESH_SECONDS = 300


@dataclass(frozen=True)
class Queued:
    """An entry kept in the outbox: not in the store yet."""

    entry: QueuedEntry
    waiting: int  # entries waiting at this terminal, this one included


@dataclass
class SyncReport:
    saved: int = 0
    refused: list[QueuedEntry] = field(default_factory=list)
    offline: bool = False
    waiting: int = 0
    refused_total: int = 0
    error: str | None = None


class KioskLink:
    """The kiosk's reads and writes, online or from its offline copy and outbox."""

    def __init__(
        self,
        store: Store,
        ledger: Ledger,
        queries: Queries,
        config: Config,
        terminal: str,
        *,
        clock: Callable[[], dt.datetime],
        outbox_file: Path | None = None,
        write_deadline: float | None = None,
        replay_deadline: float | None = None,
        refresh_seconds: float = SNAPSHOT_REFRESH_SECONDS,
    ):
        self.store, self.ledger, self.queries, self.config = store, ledger, queries, config
        self.terminal = terminal
        self.clock = clock
        self.outbox_file = outbox_file or outbox_path(terminal)
        self.write_deadline = WRITE_DEADLINE_SECONDS if write_deadline is None else write_deadline
        self.replay_deadline = REPLAY_DEADLINE_SECONDS if replay_deadline is None else replay_deadline
        self.refresh_seconds = refresh_seconds
        self.outbox: Outbox | None = None
        self.snapshot: KioskSnapshot | None = None
        self.offline = False
        self.away_reason = ""
        self._refreshed_at = 0.0  # monotonic time of the last snapshot taken from the store

    # -- life ---------------------------------------------------------------------------------

    def open(self) -> None:
        """Open the outbox and the saved offline copy (with the waiting entries applied)."""
        self.outbox = Outbox.open(self.terminal, self.outbox_file, clock=self.clock)
        self.snapshot = snapshot_with_waiting(self.outbox, self.config)
        if self.store.away:  # started while the server could not be reached
            self.offline = True
            self.away_reason = "the store could not be reached when the kiosk started"

    def close(self) -> None:
        if self.outbox is not None:
            self.outbox.close()
            self.outbox = None

    def counts(self) -> tuple[int, int]:
        """(waiting, refused on replay) in this terminal's outbox."""
        return self.outbox.counts()

    def refused(self) -> list[QueuedEntry]:
        return self.outbox.refused()

    def snapshot_taken_at(self) -> dt.datetime | None:
        return self.snapshot.taken_at if self.snapshot is not None else None

    # -- reads --------------------------------------------------------------------------------

    def _read(self, online: Callable, offline: Callable):
        if not self.offline:
            try:
                return online()
            except STORE_AWAY as exc:
                self._went_away(exc)
        return offline()

    def operator(self, badge: str) -> OperatorView | None:
        return self._read(lambda: self.queries.operator(badge), lambda: self._copy().operator(badge))

    def job_card(self, number: str) -> JobCard:
        """The job card; offline from the copy (DomainError in words when the job is not in it)."""
        return self._read(lambda: self.queries.job_card(number), lambda: self._copy_card(number))

    def history(self, number: str) -> list[dict]:
        return self._read(lambda: self.queries.history(number), lambda: [])

    def find_jobs(self, text: str, *, stages: tuple[str, ...] | None = None) -> list:
        """Open jobs whose number contains `text` (JobSummary online, JobCard from the copy)."""

        def from_copy():
            if self.snapshot is None:
                return []
            now = self.clock()
            return [self.snapshot.card(n, now) for n in self.snapshot.find_jobs(text, stages=stages)]

        return self._read(lambda: self.queries.find_jobs(text, stages=stages), from_copy)

    def recent(self, badge: str, limit: int = 5) -> list[tuple[dt.datetime, str, str, str]]:
        """This operator's latest entries here, newest first: (time, job, words, mark) where mark
        is "" (saved), "VOIDED", "QUEUED" (waiting in the outbox) or "REFUSED" (on replay)."""
        kept = [
            (e.client_time, e.job or "", e.words, "QUEUED" if e.status == "waiting" else "REFUSED")
            for e in self.outbox.entries()
            if e.badge == badge and e.status in ("waiting", "refused")
        ]
        saved = self._read(
            lambda: [
                (r.committed_at, r.job, r.words, "VOIDED" if r.voided else "")
                for r in self.queries.recent_entries(self.terminal, badge, limit)
            ],
            lambda: [],
        )
        return sorted(kept + saved, key=lambda row: row[0], reverse=True)[:limit]

    def last_entry(self, badge: str):
        """The operator's last entry in the store (what undo would void); StoreError offline."""
        if self.offline:
            raise StoreError("Undo needs the store, and it cannot be reached now")
        try:
            return self.queries.last_entry(badge)
        except STORE_AWAY as exc:
            self._went_away(exc)
            raise StoreError("Undo needs the store, and it cannot be reached now") from exc

    def _copy_card(self, number: str) -> JobCard:
        return self._copy().card(number, self.clock())

    def _copy(self) -> KioskSnapshot:
        if self.snapshot is None:
            raise StoreError(
                "The store cannot be reached and this terminal has no offline copy yet: "
                "nothing can be looked up until it answers"
            )
        return self.snapshot

    # -- writes -------------------------------------------------------------------------------

    def record(self, kind: str, job: str, *, actor: Actor, uuid: str, words: str = "", **fields) -> Receipt | Queued:
        """Write one entry, or queue it when the store is away (or others wait before it)."""
        waiting, _ = self.outbox.counts()
        if not self.offline and waiting == 0:
            try:
                receipt = self.ledger.record(kind, job, actor=actor, uuid=uuid, deadline=self.write_deadline, **fields)
            except STORE_AWAY as exc:
                self._went_away(exc)
            else:
                self._follow(kind, job, actor, uuid, fields)
                return receipt
        entry = QueuedEntry(
            kind=kind,
            job=job,
            badge=actor.badge,
            terminal=actor.terminal or self.terminal,
            login_user=actor.login_user,
            uuid=uuid,
            words=words,
            client_time=fields.pop("client_time", None) or self.clock(),
            **{k: v for k, v in fields.items() if v is not None},
        )
        if self.snapshot is not None and job in self.snapshot.jobs:
            self.snapshot.check(entry)  # refused as the ledger would: nothing is queued
        stored = self.outbox.queue(entry)
        if self.snapshot is not None and job in self.snapshot.jobs:
            self.snapshot.apply(stored)
        if not self.offline:  # others were waiting: send them and this one now, in order
            report = self._replay()
            for receipt in report.saved:
                if receipt.uuid == stored.uuid:
                    return receipt
        return Queued(stored, self.outbox.counts()[0])

    def _follow(self, kind, job, actor, uuid, fields) -> None:
        """Keep the offline copy in step with this terminal's own saved entries."""
        if self.snapshot is None or job not in self.snapshot.jobs:
            return
        entry = QueuedEntry(
            kind=kind,
            job=job,
            badge=actor.badge,
            terminal=actor.terminal or self.terminal,
            uuid=uuid,
            **{k: v for k, v in fields.items() if v is not None and k != "client_time"},
        )
        try:
            self.snapshot.apply(entry)
        except (DomainError, InputError):
            self.snapshot.jobs.pop(job, None)  # out of step: better unknown than wrong

    # -- sync ---------------------------------------------------------------------------------

    def sync(self, *, refresh: bool = False) -> SyncReport:
        """Find the store again if away, replay the outbox, refresh the offline copy when due."""
        if self.offline:
            try:
                self.store.reconnect()
                self.store.db.execute_sql("SELECT 1")
                if self.store.away:  # never checked: the kiosk started offline
                    self.store.require_current_schema()
                    self.store.away = False
            except STORE_AWAY as exc:
                self._went_away(exc)
                return self._report(SyncReport(offline=True, error=self.away_reason))
            self.offline = False
        report = self._replay()
        out = SyncReport(saved=len(report.saved), refused=report.refused, offline=report.offline, error=report.error)
        due = time.monotonic() - self._refreshed_at >= self.refresh_seconds
        if not self.offline and (refresh or due or report.saved or report.refused or self.snapshot is None):
            try:
                self.refresh_snapshot()
            except STORE_AWAY as exc:
                self._went_away(exc)
                out.offline = True
        return self._report(out)

    def refresh_snapshot(self) -> None:
        """Take the offline copy from the store, save it, and apply what still waits."""
        snapshot = take_snapshot(self.queries, self.config, self.terminal)
        self.outbox.save_snapshot(snapshot)
        self.snapshot = snapshot_with_waiting(self.outbox, snapshot=snapshot)
        self._refreshed_at = time.monotonic()

    def _replay(self):
        report = replay(self.outbox, self.ledger, deadline=self.replay_deadline)
        if report.offline:
            self.offline = True
            self.away_reason = report.error or "the store does not answer"
            self.store.drop_connection()
        return report

    def _report(self, report: SyncReport) -> SyncReport:
        report.waiting, report.refused_total = self.outbox.counts()
        report.offline = report.offline or self.offline
        return report

    def _went_away(self, exc: BaseException) -> None:
        self.offline = True
        exc = exc.__cause__ or exc  # the store's own words ("database is locked"), not our wrapper's
        text = str(exc).strip()
        self.away_reason = text.splitlines()[0] if text else type(exc).__name__
        self.store.drop_connection()
