"""peewee, imported without its eager import of the PostgreSQL drivers.

peewee (and playhouse.migrations, through playhouse.postgres_ext) import psycopg at import
time when it is installed. A SQLite terminal must start fast and never load a Postgres
driver (DESIGN.md §7), so the core imports them through this module, which hides the
drivers during those imports, and `load_psycopg()` hands psycopg to peewee only when a
PostgreSQL store is opened.
"""

import contextlib
import importlib
import sys

_DRIVERS = ("psycopg", "psycopg2", "psycopg2cffi")


@contextlib.contextmanager
def _drivers_hidden():
    """Make `import psycopg` fail inside the block, unless it was already imported."""
    hidden = [name for name in _DRIVERS if sys.modules.get(name) is None]
    for name in hidden:
        sys.modules[name] = None
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


def import_without_drivers(module: str):
    """Import a peewee/playhouse module without letting it import a Postgres driver."""
    if module in sys.modules:
        return sys.modules[module]
    with _drivers_hidden():
        return importlib.import_module(module)


peewee = import_without_drivers("peewee")


def load_psycopg():
    """Import psycopg 3 and give it to peewee; raise ImportError if it is not installed."""
    import psycopg
    from psycopg.pq import TransactionStatus
    from psycopg.types.json import Json, Jsonb

    if peewee.psycopg is None:
        peewee.psycopg = psycopg
        peewee.TransactionStatus = TransactionStatus
        peewee.Json_pg3 = Json
        peewee.Jsonb_pg3 = Jsonb
        adapter = peewee.Psycopg3Adapter
        adapter.txn_idle = TransactionStatus.IDLE
        adapter.txn_inerror = TransactionStatus.INERROR
        adapter.txn_unknown = TransactionStatus.UNKNOWN
    return psycopg


__all__ = ["peewee", "load_psycopg", "import_without_drivers"]
