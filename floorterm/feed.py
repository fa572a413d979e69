"""The change feed: wakes a reader (the board) soon after any terminal commits an entry.

SQLite: one long-lived connection polls `PRAGMA data_version`, which changes whenever
another connection commits. PostgreSQL: `LISTEN` on a dedicated connection; the ledger
sends `pg_notify` inside the writing transaction, so the wake-up arrives only once the
entry is committed. Either way the reader then re-reads by event id: a missed wake-up
costs latency, never data. The feed never holds a read transaction open.
"""

from __future__ import annotations

import sqlite3
import time

from floorterm.store import NOTIFY_CHANNEL, sqlite_path_from_url

POLL_SECONDS = 0.1


class ChangeFeed:
    """Base: `wait(timeout)` returns True when the store may have changed."""

    def wait(self, timeout: float) -> bool:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class SqliteFeed(ChangeFeed):
    def __init__(self, path):
        # Autocommit mode: each PRAGMA is its own statement, no transaction stays open.
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.version = self._read()

    def _read(self) -> int:
        return self.conn.execute("PRAGMA data_version").fetchone()[0]

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while True:
            try:
                current = self._read()
            except sqlite3.Error:
                return True  # let the reader find out what is wrong
            if current != self.version:
                self.version = current
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(POLL_SECONDS, left))

    def close(self) -> None:
        self.conn.close()


class PostgresFeed(ChangeFeed):
    def __init__(self, url: str):
        from floorterm._peewee import load_psycopg

        self.psycopg = load_psycopg()
        self.url = url
        self.conn = None
        self._connect()

    def _connect(self) -> None:
        self.conn = self.psycopg.connect(self.url, autocommit=True, connect_timeout=5)
        self.conn.execute(f"LISTEN {NOTIFY_CHANNEL}")

    def wait(self, timeout: float) -> bool:
        try:
            if self.conn is None or self.conn.closed:
                self._connect()
                return True  # we may have missed notifications while away
            for _ in self.conn.notifies(timeout=timeout, stop_after=1):
                return True
            return False
        except self.psycopg.Error:
            if self.conn is not None:
                self.conn.close()
            self.conn = None
            time.sleep(min(timeout, 1.0))
            return True

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def open_feed(url: str) -> ChangeFeed:
    """The change feed for a store URL."""
    path = sqlite_path_from_url(url)
    if path is None:
        return PostgresFeed(url)
    return SqliteFeed(path)
