"""The store: opening SQLite or PostgreSQL safely, schema migrations, write transactions.

DESIGN.md §4. SQLite runs in WAL mode with synchronous=FULL, a busy timeout, foreign keys,
and every write in BEGIN IMMEDIATE; it is refused on a network filesystem. PostgreSQL is
reached with psycopg 3 (an optional extra) and writers lock the job row. Schema changes are
numbered scripts in `floorterm/migrations/`, applied by peewee's migration runner.
"""

from __future__ import annotations

import contextlib
import errno
import getpass
import os
import random
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

from floorterm._peewee import import_without_drivers, load_psycopg, peewee
from floorterm.errors import StoreError
from floorterm import models

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
HISTORY_TABLE = "schema_migration"
NOTIFY_CHANNEL = "floorterm_events"

# How long a write keeps retrying a busy or briefly unreachable store before it gives up.
# Generous on purpose: SQLite's busy handler polls rather than queues, so under a burst
# from many terminals on a loaded machine one writer can lose the race for seconds; the
# kiosk shows "saving…" meanwhile, and giving up loses the operator's entry.
WRITE_DEADLINE_SECONDS = 30.0
SQLITE_BUSY_TIMEOUT_MS = 5000
# How long connecting to a PostgreSQL server may take: a kiosk whose server is away must
# learn it in seconds (and queue the entry), not wait for the network stack's minutes.
PG_CONNECT_TIMEOUT_SECONDS = 3
PG_DISK_FULL = "53100"  # SQLSTATE disk_full

# Filesystems where SQLite's locking is unreliable and a power cut can lose commits.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb",
        "smb2",
        "smb3",
        "smbfs",
        "ncpfs",
        "afs",
        "9p",
        "ceph",
        "glusterfs",
        "fuse.sshfs",
        "fuse.glusterfs",
        "fuse.cephfs",
        "lustre",
        "gpfs",
        "davfs",
        "fuse.davfs2",
        "fuse.rclone",
        "fuse.s3fs",
        "virtiofs",
    }
)


@dataclass(frozen=True)
class SchemaStatus:
    applied: tuple[str, ...]
    pending: tuple[str, ...]
    unknown: tuple[str, ...]  # applied by a newer floorterm; this code does not know them

    @property
    def initialised(self) -> bool:
        return bool(self.applied)


def sqlite_path_from_url(url: str) -> Path | None:
    """The file path of a sqlite URL (or plain path); None for a PostgreSQL URL."""
    if url.startswith(("postgresql://", "postgres://")):
        return None
    if url.startswith("sqlite:///"):
        return Path(url[len("sqlite:///") :])  # sqlite:////abs/path keeps its leading slash
    if "://" in url:
        raise StoreError(f"Unknown store URL {url!r}: use a file path, sqlite:///PATH or postgresql://...")
    return Path(url)


def filesystem_type(path: Path, mounts_text: str | None = None) -> str | None:
    """The filesystem type holding `path` (Linux /proc/mounts), or None when unknown."""
    if mounts_text is None:
        try:
            mounts_text = Path("/proc/mounts").read_text()
        except OSError:
            return None
    target = str(path.resolve())
    best, best_type = "", None
    for line in mounts_text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        mount_point = parts[1].replace("\\040", " ")
        prefix = mount_point.rstrip("/") + "/"
        if (target == mount_point or target.startswith(prefix) or mount_point == "/") and len(mount_point) >= len(best):
            best, best_type = mount_point, parts[2]
    return best_type


def refuse_network_filesystem(path: Path, mounts_text: str | None = None) -> None:
    """Raise StoreError if the SQLite file would live on a network filesystem."""
    fstype = filesystem_type(path.parent if not path.exists() else path, mounts_text)
    if fstype is not None and (fstype in NETWORK_FILESYSTEMS or fstype.startswith(("nfs", "cifs", "smb"))):
        raise StoreError(
            f"Refusing to open the SQLite store {path} on a network filesystem ({fstype}): "
            "SQLite needs a local disk to keep entries safe. Move the file to a local disk "
            "or use PostgreSQL (store url = postgresql://...)."
        )


class Store:
    """An open store: the peewee database bound to the models, plus write helpers."""

    def __init__(self, database: peewee.Database, url: str, backend: str):
        self.db = database
        self.url = url
        self.backend = backend
        self._local = threading.local()
        self.away = False  # opened with allow_away while the server could not be reached

    # -- opening ---------------------------------------------------------------------

    @classmethod
    def open(
        cls, url: str, *, check_schema: bool = True, create_dir: bool = False, allow_away: bool = False
    ) -> "Store":
        """Open the store at `url` and bind the models to it.

        With check_schema (the default) the store must be initialised and at exactly this
        code's schema; otherwise a StoreError says what to run. With allow_away a PostgreSQL
        server that cannot be reached still gives a store, marked `away` (a kiosk then starts
        from its offline copy; the schema is checked once the server answers).
        """
        path = sqlite_path_from_url(url)
        if path is None:
            store = cls._open_postgres(url, allow_away=allow_away)
        else:
            store = cls._open_sqlite(path, create_dir=create_dir)
        if check_schema and not store.away:
            try:
                store.require_current_schema()
            except Exception:
                store.close()
                raise
        return store

    @classmethod
    def _open_sqlite(cls, path: Path, *, create_dir: bool) -> "Store":
        path = path.expanduser()
        if create_dir:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"Cannot create the folder for the store {path.parent} ({exc.strerror or exc}): "
                    f"create it, or let user {_user_name()} write the folder it goes in"
                ) from exc
        if not path.parent.is_dir():
            raise StoreError(f"The folder for the store does not exist: {path.parent}")
        refuse_network_filesystem(path)
        if not create_dir and not path.exists():
            # Connecting would create an empty file at a mistyped path.
            raise StoreError(f"There is no store at {path}: check the path, or run `floorterm db init`.")
        database = _SqliteDatabase(
            str(path),
            pragmas={
                "journal_mode": "wal",
                "synchronous": 2,  # FULL: an acknowledged entry survives a power cut
                "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
                "foreign_keys": 1,
                "cache_size": -16000,
            },
        )
        store = cls(database, f"sqlite:///{path}", "sqlite")
        store._bind()
        try:
            database.connect(reuse_if_open=True)
        except peewee.OperationalError as exc:
            advice = _sqlite_advice(path, exc)
            raise StoreError(
                f"Cannot open the SQLite store {path} ({exc}): {advice}."
                if advice
                else f"Cannot open the SQLite store {path}: {exc}"
            ) from exc
        return store

    @classmethod
    def _open_postgres(cls, url: str, *, allow_away: bool = False) -> "Store":
        if url.startswith("postgres://"):
            url = "postgresql://" + url[len("postgres://") :]
        try:
            load_psycopg()
        except ImportError as exc:
            raise StoreError(
                "This store is PostgreSQL but the driver is not installed: pip install 'floorterm[postgres]'"
            ) from exc
        options = {} if "connect_timeout=" in url else {"connect_timeout": PG_CONNECT_TIMEOUT_SECONDS}
        database = _reconnecting_pg_database()(url, autoconnect=True, **options)
        store = cls(database, url, "postgres")
        store._bind()
        try:
            database.connect(reuse_if_open=True)
        except peewee.OperationalError as exc:
            if allow_away:
                store.away = True
                return store
            raise StoreError(f"Cannot reach the PostgreSQL store: {_first_line(exc)}") from exc
        return store

    def _bind(self) -> None:
        models.database.initialize(self.db)

    def close(self) -> None:
        if not self.db.is_closed():
            self.db.close()
        fd = getattr(self._local, "queue_fd", None)
        if fd is not None:
            os.close(fd)
            self._local.queue_fd = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- schema ----------------------------------------------------------------------

    def _runner(self):
        Runner = import_without_drivers("playhouse.migrations").Runner
        return Runner(self.db, directory=str(MIGRATIONS_DIR), table_name=HISTORY_TABLE)

    def schema_status(self) -> SchemaStatus:
        rows = self._runner().status()
        return SchemaStatus(
            applied=tuple(m.name for m in rows if m.applied and m.path),
            pending=tuple(m.name for m in rows if not m.applied),
            unknown=tuple(m.name for m in rows if m.applied and not m.path),
        )

    def require_current_schema(self) -> None:
        status = self.schema_status()
        if status.unknown:
            raise StoreError(
                f"This store was upgraded by a newer floorterm (schema steps {', '.join(status.unknown)} "
                "are unknown here). Install the newer floorterm; this one will not touch the store."
            )
        if not status.initialised:
            raise StoreError(f"The store {self.display_url} is not set up yet: run `floorterm db init`.")
        if status.pending:
            raise StoreError(
                f"The store {self.display_url} needs a schema upgrade ({', '.join(status.pending)}): "
                "run `floorterm db upgrade`."
            )

    def upgrade(self) -> list[str]:
        """Apply pending migrations in order; refuse a store from a newer floorterm."""
        status = self.schema_status()
        if status.unknown:
            self.require_current_schema()
        with self.write_lock_for_schema():
            return self._runner().up()

    @contextlib.contextmanager
    def write_lock_for_schema(self):
        """Serialise two `db upgrade` runs on PostgreSQL; SQLite migrations lock the file."""
        if self.backend == "postgres":
            self.db.execute_sql("SELECT pg_advisory_lock(774411)")
            try:
                yield
            finally:
                self.db.execute_sql("SELECT pg_advisory_unlock(774411)")
        else:
            yield

    @property
    def display_url(self) -> str:
        """The URL without any password, for messages."""
        if self.backend == "postgres" and "@" in self.url:
            scheme, rest = self.url.split("://", 1)
            creds, host = rest.rsplit("@", 1)
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}@{host}"
        return self.url

    # -- writing ---------------------------------------------------------------------

    def run_write(self, fn, *, deadline: float | None = None, batched: bool = False):
        """Run fn() in one write transaction, retrying while the store is busy or away.

        fn must be safe to run again from the start (the ledger makes it so with the
        event UUID). After `deadline` seconds a StoreError says the entry was not saved.
        `batched` (PostgreSQL): run the transaction in psycopg's pipeline mode, so the
        statements whose results fn does not read (BEGIN, its UPDATEs, NOTIFY, COMMIT) go to
        the server together instead of a round trip each; the ledger's entries use it.
        """
        give_up = time.monotonic() + (WRITE_DEADLINE_SECONDS if deadline is None else deadline)
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._transaction(batched):
                    return fn()
            except (peewee.OperationalError, peewee.InterfaceError) as exc:
                if not self._is_transient(exc) or time.monotonic() >= give_up:
                    raise StoreError(
                        f"The store could not save this entry ({_first_line(exc)}). "
                        f"Nothing was written; {self._write_advice(exc) or 'try again'}."
                    ) from exc
                self._recover_connection()
                time.sleep(min(0.5, 0.01 * attempt) + random.random() * 0.02)

    @contextlib.contextmanager
    def _transaction(self, batched: bool = False):
        if self.backend != "sqlite":
            with self._pipeline() if batched else contextlib.nullcontext(), self.db.atomic():
                yield
            return
        # Writers queue on a lock file first: SQLite's busy handler polls, so under a
        # burst a waiting writer can lose the race again and again for seconds, while
        # the kernel hands a blocking flock to waiters in turn. Then IMMEDIATE takes
        # the database's write lock at BEGIN (no deadlock upgrading a read lock).
        with self._write_queue(), self.db.atomic("IMMEDIATE"):
            yield

    @contextlib.contextmanager
    def _write_queue(self):
        if fcntl is None:  # Windows: SQLite's busy timeout alone
            yield
            return
        fd = getattr(self._local, "queue_fd", None)
        if fd is None:  # one open file per thread, so threads of one process queue too
            lock = f"{sqlite_path_from_url(self.url)}.writelock"
            try:
                fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o664)
            except OSError as exc:
                advice = _sqlite_advice(sqlite_path_from_url(self.url), exc) or "try again"
                raise StoreError(
                    f"Cannot open the store's lock file {lock} ({exc.strerror or exc}). Nothing was written; {advice}."
                ) from exc
            self._local.queue_fd = fd
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def _pipeline(self):
        """psycopg's pipeline mode for one transaction; its errors arrive as peewee's, like any statement's.

        A statement's error may surface only when the pipeline syncs (at COMMIT), where
        peewee's own ROLLBACK is skipped with the rest of the aborted pipeline: the
        transaction is rolled back here, so the connection is clean for the retry or the
        next write.
        """
        self.db.connect(reuse_if_open=True)
        conn = self.db.connection()
        pipeline = conn.pipeline()
        with peewee.__exception_wrapper__:
            pipeline.__enter__()
        try:
            # In a pipeline a statement's error is raised where its result is fetched, outside
            # peewee's own mapping: map it here (run_write retries what is transient).
            with peewee.__exception_wrapper__:
                yield
        except BaseException as exc:
            with contextlib.suppress(Exception):
                pipeline.__exit__(type(exc), exc, exc.__traceback__)
            self._end_aborted(conn)
            raise
        try:
            with peewee.__exception_wrapper__:
                pipeline.__exit__(None, None, None)
        except BaseException:
            self._end_aborted(conn)
            raise

    @staticmethod
    def _end_aborted(conn) -> None:
        """Roll back what a failed pipeline left open (a no-op when the transaction already ended)."""
        with contextlib.suppress(Exception):
            if not conn.closed and conn.info.transaction_status != 0:  # 0: IDLE
                conn.execute("ROLLBACK")

    def _is_transient(self, exc: Exception) -> bool:
        text = str(exc).lower()
        if self.backend == "sqlite":
            return "locked" in text or "busy" in text
        if _pg_disk_full(exc):
            return False  # waiting does not free the disk; the operator must hear it now
        # Connection lost, server restarting, serialisation failure or deadlock.
        return True

    def _write_advice(self, exc: Exception) -> str | None:
        """What a person can do about a failed write: a full disk or missing permission, named; else None."""
        if self.backend == "sqlite":
            return _sqlite_advice(sqlite_path_from_url(self.url), exc)
        if _pg_disk_full(exc):
            return (
                f"the disk of the PostgreSQL server ({self.display_url}) is full: free some space there, then try again"
            )
        return None

    def _recover_connection(self) -> None:
        if self.backend == "postgres":
            with contextlib.suppress(Exception):
                self.db.close()

    def drop_connection(self) -> None:
        """Close a PostgreSQL connection that failed, so the next use connects afresh."""
        self._recover_connection()

    def reconnect(self) -> None:
        """Drop the connection and connect again now; StoreError if the server is still away.

        Reads reconnect by themselves after a lost connection (the first read fails); this
        lets a kiosk find out at once whether the store is back.
        """
        if self.backend != "postgres":
            return  # a SQLite file does not go away under an open connection
        self._recover_connection()
        try:
            self.db.connect(reuse_if_open=True)
        except (peewee.OperationalError, peewee.InterfaceError) as exc:
            raise StoreError(f"Cannot reach the PostgreSQL store: {_first_line(exc)}") from exc

    def locked(self, query):
        """The query with FOR UPDATE on PostgreSQL (locks the rows it reads for this transaction).

        SQLite needs no row lock: BEGIN IMMEDIATE already holds the database's write lock.
        """
        return query.for_update() if self.backend == "postgres" else query

    def notify(self, event_id: int, job_id: int) -> None:
        """Wake boards listening on PostgreSQL; delivered only if the transaction commits."""
        if self.backend == "postgres":
            self.db.execute_sql("SELECT pg_notify(%s, %s)", (NOTIFY_CHANNEL, f"{event_id}:{job_id}"))


class _SqliteDatabase(peewee.SqliteDatabase):
    """peewee's SQLite database that does not roll back what SQLite already rolled back."""

    def rollback(self):
        # After "database or disk is full" (and some I/O errors) SQLite ends the transaction
        # itself; a second ROLLBACK would fail, and its error would hide the one that matters.
        if not self.is_closed() and not self.connection().in_transaction:
            return
        super().rollback()


_PG_DATABASE = None


def _reconnecting_pg_database():
    """peewee's psycopg 3 database, made to reconnect (outside a transaction) once the server dropped it.

    Without this a connection the server closed (restart, failover, network) stays dead and
    every later read fails with "the connection is closed" until the process restarts.
    """
    global _PG_DATABASE
    if _PG_DATABASE is None:
        from playhouse.postgres_ext import Psycopg3Database

        class ReconnectingPsycopg3Database(Psycopg3Database):
            def cursor(self, named_cursor=None):
                conn = None if self.is_closed() else self._state.conn
                if conn is not None and conn.closed and not self.in_transaction():
                    self.close()  # autoconnect opens a new connection below
                return super().cursor(named_cursor)

        _PG_DATABASE = ReconnectingPsycopg3Database
    return _PG_DATABASE


# What a store that is away (server down, network gone, a lock outlasting the retry) raises.
STORE_AWAY = (StoreError, peewee.OperationalError, peewee.InterfaceError)


def _sqlite_advice(path: Path, exc: BaseException) -> str | None:
    """What to do when SQLite cannot write at `path` for want of disk space or permission; else None."""
    folder, text = path.parent, str(exc)
    # SQLite says "database or disk is full"; a file it cannot create on a full disk is a "disk I/O error".
    if "disk is full" in text or (("I/O" in text or isinstance(exc, OSError)) and _free_bytes(folder) == 0):
        return f"the disk holding the store's folder {folder} is full: free some space there, then try again"
    refused = (
        (isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS))
        or "readonly" in text
        or "unable to open" in text
    )
    if not refused:
        return None
    if _read_only_filesystem(folder):
        return f"the store's folder {folder} is on a read-only filesystem: mount it read-write"
    files = [Path(f"{path}{suffix}") for suffix in ("", "-wal", "-shm", ".writelock")]
    if not os.access(folder, os.W_OK | os.X_OK) or any(f.exists() and not os.access(f, os.W_OK) for f in files):
        return (
            f"let user {_user_name()} write the folder {folder} and the store's files in it, "
            "or run floorterm as the user who owns them"
        )
    return None


def _pg_disk_full(exc: BaseException) -> bool:
    return getattr(getattr(exc, "orig", None), "sqlstate", None) == PG_DISK_FULL


def _free_bytes(folder: Path) -> int | None:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def _read_only_filesystem(folder: Path) -> bool:
    try:
        return bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False


def _user_name() -> str:
    """This process's user as the system knows it ($USER may be the one who ran su or setpriv)."""
    try:
        import pwd
    except ImportError:  # Windows
        return getpass.getuser()
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:  # a uid with no name (a container)
        return f"uid {os.geteuid()}"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def init_store(url: str) -> tuple[Store, list[str]]:
    """Create (or bring up to date) the store at url; returns the store and steps applied."""
    store = Store.open(url, check_schema=False, create_dir=True)
    applied = store.upgrade()
    return store, applied


__all__ = [
    "Store",
    "StoreError",
    "STORE_AWAY",
    "SchemaStatus",
    "init_store",
    "refuse_network_filesystem",
    "filesystem_type",
    "sqlite_path_from_url",
    "NOTIFY_CHANNEL",
]
