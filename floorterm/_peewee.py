"""peewee, imported without its eager import of the PostgreSQL drivers.

peewee imports psycopg (and psycopg2) at import time when they are installed. A SQLite
terminal must start fast and never load a Postgres driver (DESIGN.md §7), so the core
imports peewee through this module, which hides the drivers during that import, and
`load_psycopg()` hands psycopg to peewee only when a PostgreSQL store is opened.
"""

import sys

_DRIVERS = ("psycopg", "psycopg2", "psycopg2cffi")

if "peewee" in sys.modules:  # pragma: no cover - someone imported peewee first
    import peewee
else:
    _saved = {name: sys.modules.get(name) for name in _DRIVERS}
    for _name in _DRIVERS:
        if _saved[_name] is None:
            sys.modules[_name] = None  # makes "import psycopg" raise ImportError
    try:
        import peewee
    finally:
        for _name, _module in _saved.items():
            if _module is None:
                sys.modules.pop(_name, None)


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


__all__ = ["peewee", "load_psycopg"]
