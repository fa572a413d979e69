"""Which jobs changed since the board last looked: the board's half of the change feed.

The change feed (`floorterm.feed`) only says "something was committed". The board then asks
which jobs changed: every event updates its job's `last_event_id` in the same transaction, so
a job changed if its `last_event_id` differs from the one the board shows. Each read is one
indexed statement in a short transaction: nothing here holds a read transaction open.

`changed_jobs`, `top_open_jobs` and `open_job_versions` are stand-ins for reads proposed for
`Queries`; `ChangeTracker` is plain Python and decides what to re-read.
"""

from __future__ import annotations

from typing import Iterable

from floorterm import models as m

# On PostgreSQL event ids are taken when an entry is inserted, not when it commits, so a
# smaller id can become visible after a larger one. Re-reading this many ids below the
# highest seen catches such late commits (a missed one is caught by the periodic reconcile).
SLACK_IDS = 500


def changed_jobs(since_event_id: int) -> list[tuple[str, int]]:
    """(number, last_event_id) of every job, open or not, whose last_event_id > since_event_id."""
    j = m.Job
    with m.database.atomic():  # a short transaction that ends here, on either backend
        return list(j.select(j.number, j.last_event_id).where(j.last_event_id > since_event_id).tuples())


def top_open_jobs(limit: int) -> list[str]:
    """The first `limit` open jobs in board order (priority, planned end with blanks last, number),
    so the board can paint its top rows before it has read all the others."""
    j = m.Job
    with m.database.atomic():
        query = (
            j.select(j.number)
            .where(j.is_open)
            .order_by(j.priority, j.planned_end.asc(nulls="LAST"), j.number)
            .limit(limit)
        )
        return [number for (number,) in query.tuples()]


def open_job_versions() -> dict[str, int]:
    """number -> last_event_id of every open job (one indexed read; for the periodic reconcile)."""
    j = m.Job
    with m.database.atomic():
        return dict(j.select(j.number, j.last_event_id).where(j.is_open).tuples())


class ChangeTracker:
    """Remembers the last_event_id the board shows per job and picks the jobs to re-read.

    Not thread-safe: use it from one thread (the board's UI thread).
    """

    def __init__(self, versions: Iterable[tuple[str, int]] = (), slack: int = SLACK_IDS):
        self.slack = slack
        self.known: dict[str, int] = {}
        self.watermark = 0
        self.seen(versions)

    def since(self) -> int:
        """The event id to ask changed_jobs() from: the watermark less the slack."""
        return max(0, self.watermark - self.slack)

    def affected(self, changed: Iterable[tuple[str, int]]) -> list[str]:
        """Jobs among `changed` whose last_event_id differs from what the board knows."""
        return [number for number, event_id in changed if self.known.get(number) != event_id]

    def reconcile(self, open_versions: dict[str, int], shown: Iterable[str]) -> list[str]:
        """Jobs to re-read so the board matches `open_versions`: open ones the board does not
        know at that version, and shown ones that are no longer open."""
        stale = [number for number, event_id in open_versions.items() if self.known.get(number) != event_id]
        gone = [number for number in shown if number not in open_versions]
        return list(dict.fromkeys(stale + gone))

    def seen(self, versions: Iterable[tuple[str, int]]) -> None:
        """Record that the board now shows these jobs at these versions (or knows they are closed)."""
        for number, event_id in versions:
            self.known[number] = event_id
            if event_id > self.watermark:
                self.watermark = event_id
