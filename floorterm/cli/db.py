"""`floorterm db`: set up, upgrade, check the store."""

from __future__ import annotations

from floorterm.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    Context,
    _info,
    _needs_subcommand,
    _stderr_is_tty,
    _sub,
    progress_bar,
)
from floorterm.errors import StoreError


def add_commands(commands) -> None:
    db = _sub(commands, "db", "set up, upgrade and check the store")
    what = db.add_subparsers(title="what", metavar="WHAT")
    init = _sub(
        what,
        "init",
        "create the store, or bring its schema up to date; says what was applied",
        "Create the store (a SQLite file and its folder, or the tables in an existing PostgreSQL "
        "database) or apply pending schema steps. Safe to run again.",
    )
    init.set_defaults(func=cmd_db_init)
    upgrade = _sub(
        what, "upgrade", "apply pending schema steps to an existing store (after installing a new floorterm)"
    )
    upgrade.set_defaults(func=cmd_db_upgrade)
    status = _sub(what, "status", "show applied, pending and unknown schema steps (exit 1 if any are pending)")
    status.set_defaults(func=cmd_db_status)
    verify = _sub(
        what,
        "verify",
        "check the store: its integrity, every balance against the ledger, entry ids and voids (exit 1 on any finding)",
        "Run the store's own integrity check (SQLite: PRAGMA integrity_check; PostgreSQL: every index "
        "of floorterm's tables is valid) and check that the unique indexes are there; replay every "
        "job's entries and compare with the stored balances; check that every entry id appears once "
        "and every void names an existing entry. Prints each finding and exits 1, or prints "
        "'OK: N jobs verified'.",
    )
    verify.set_defaults(func=cmd_db_verify)
    db.set_defaults(func=_needs_subcommand(db))


def cmd_db_init(ctx: Context, args) -> int:
    from floorterm.store import init_store

    store, applied = init_store(ctx.store_url)
    try:
        if applied:
            print(f"Store {store.display_url}: applied {', '.join(applied)}")
        else:
            print(f"Store {store.display_url}: already up to date, nothing to apply")
    finally:
        store.close()
    return EXIT_OK


def _open_unchecked(ctx: Context):
    from floorterm.store import Store

    ctx.require_store_file()
    return Store.open(ctx.store_url, check_schema=False)


def cmd_db_upgrade(ctx: Context, args) -> int:
    store = _open_unchecked(ctx)
    try:
        status = store.schema_status()
        if not status.initialised:
            raise StoreError(f"The store {store.display_url} is not set up yet: run `floorterm db init`")
        applied = store.upgrade()
        if applied:
            print(f"Store {store.display_url}: applied {', '.join(applied)}")
        else:
            print(f"Store {store.display_url}: already up to date, nothing to apply")
    finally:
        store.close()
    return EXIT_OK


def cmd_db_status(ctx: Context, args) -> int:
    path = ctx.sqlite_path()
    if path is not None and not path.exists():
        print(f"store: {path}")
        print("not set up: run `floorterm db init`")
        return EXIT_REFUSED
    store = _open_unchecked(ctx)
    try:
        status = store.schema_status()
        print(f"store: {store.display_url}")
    finally:
        store.close()
    print(f"applied: {', '.join(status.applied) or '(none)'}")
    print(f"pending: {', '.join(status.pending) or '(none)'}")
    print(f"unknown: {', '.join(status.unknown) or '(none)'}")
    if status.unknown:
        _info("floorterm: this store was upgraded by a newer floorterm; install that version")
        return EXIT_REFUSED
    if not status.initialised:
        _info("floorterm: the store is not set up: run `floorterm db init`")
        return EXIT_REFUSED
    if status.pending:
        _info("floorterm: schema steps are pending: run `floorterm db upgrade`")
        return EXIT_REFUSED
    return EXIT_OK


def cmd_db_verify(ctx: Context, args) -> int:
    from floorterm import models as m
    from floorterm.verify import verify_store

    with ctx.store():
        total = m.Job.select().count()
        with progress_bar("Verifying", total, show=_stderr_is_tty() and total > 0) as update:
            problems = verify_store(progress=lambda done, _total: update(done))
    for problem in problems:
        print(problem)
    if problems:
        _info(f"floorterm: {len(problems)} problem{'s' if len(problems) != 1 else ''} found in the store")
        return EXIT_REFUSED
    print(f"OK: {total} job{'s' if total != 1 else ''} verified")
    return EXIT_OK
