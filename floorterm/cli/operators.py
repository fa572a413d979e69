"""`floorterm operators`: add, list, disable, enable and import badges."""

from __future__ import annotations

from floorterm.cli.common import (
    EXIT_OK,
    ROLES,
    Context,
    _format_option,
    _needs_subcommand,
    _print_notices,
    _sub,
    emit,
)
from floorterm.errors import FloortermError, InputError


def add_commands(commands) -> None:
    ops = _sub(commands, "operators", "add, list, disable and import operators (badges)")
    what = ops.add_subparsers(title="what", metavar="WHAT")
    add = _sub(what, "add", "add an operator")
    add.add_argument("badge", metavar="BADGE", help="the code on the badge: 1-24 of A-Z a-z 0-9 - _ / .")
    add.add_argument("name", metavar="NAME", help="the person's name as the screens show it (quote it)")
    add.add_argument(
        "--role",
        required=True,
        metavar="ROLE",
        help=f"one of: {', '.join(ROLES)}. operator and qc record at their terminal's stages; "
        "stores issues material and releases jobs; supervisor may do everything; planner "
        "releases, changes priority, holds and voids; viewer only looks",
    )
    add.set_defaults(func=cmd_operators_add)
    listing = _sub(what, "list", "list operators (active ones unless --all)")
    listing.add_argument("--all", action="store_true", help="include disabled operators")
    _format_option(listing)
    listing.set_defaults(func=cmd_operators_list)
    for name, active, text in (
        ("disable", False, "disable a badge: it can no longer record (history is kept)"),
        ("enable", True, "enable a disabled badge again"),
    ):
        sub = _sub(what, name, text)
        sub.add_argument("badge", metavar="BADGE", help="the operator's badge")
        sub.set_defaults(func=cmd_operators_active, active=active)
    imp = _sub(
        what,
        "import",
        "add operators from a CSV file (columns badge,name,role); all or nothing",
        "Add the operators of a CSV file with the columns badge, name, role. Badges already in the "
        "store with the same name and role are left alone; any problem in the file is reported "
        "and nothing is added. The config's [import.operators] maps other column names and role "
        "words (docs/erp.md).",
    )
    imp.add_argument("file", metavar="FILE.csv", help="the CSV file (UTF-8)")
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="show which badges would be added, which are unchanged and which conflict; write nothing",
    )
    imp.set_defaults(func=cmd_operators_import)
    ops.set_defaults(func=_needs_subcommand(ops))


def cmd_operators_add(ctx: Context, args) -> int:
    with ctx.store() as store:
        operator = ctx.ledger(store).add_operator(args.badge, args.name, args.role.strip().lower())
    print(f"Added {operator.badge}: {operator.name} ({operator.role})")
    return EXIT_OK


def cmd_operators_list(ctx: Context, args) -> int:
    from floorterm import models as m

    with ctx.store():
        query = m.Operator.select().order_by(m.Operator.badge)
        if not args.all:
            query = query.where(m.Operator.active == True)  # noqa: E712 - peewee expression
        rows = [
            {"badge": o.badge, "name": o.name, "role": o.role, "active": bool(o.active), "created_at": o.created_at}
            for o in query
        ]
    emit(
        rows,
        args.format,
        ["badge", "name", "role", "active", "created_at"],
        ctx.config.tz,
        empty="no operators",
        headers={"created_at": "ADDED"},
    )
    return EXIT_OK


def cmd_operators_active(ctx: Context, args) -> int:
    with ctx.store() as store:
        operator = ctx.ledger(store).set_operator_active(args.badge, args.active)
    print(f"{operator.badge} ({operator.name}) {'enabled' if args.active else 'disabled'}")
    return EXIT_OK


def cmd_operators_import(ctx: Context, args) -> int:
    from floorterm.importer import read_operators_csv

    notices = []
    try:
        rows = read_operators_csv(args.file, notices, config=ctx.config)
    except InputError as exc:
        raise InputError(f"{exc}\nNothing was imported.") from None
    if args.dry_run:
        return _operators_dry_run(ctx, rows, notices)
    with ctx.store() as store:
        try:
            added, unchanged = ctx.ledger(store).import_operators(rows)
        except FloortermError as exc:
            raise type(exc)(f"{exc}\nNothing was imported.") from None
    print(f"{added} added, {unchanged} unchanged")
    _print_notices(notices)
    return EXIT_OK


def _operators_dry_run(ctx: Context, rows, notices) -> int:
    """What `operators import` would do, read from the store; nothing is written."""
    import sys

    from floorterm import models as m
    from floorterm.cli.common import EXIT_REFUSED

    add, unchanged, conflicts = [], [], []
    with ctx.store():
        for badge, name, role in rows:
            existing = m.Operator.get_or_none(m.Operator.badge == badge)
            if existing is None:
                add.append(f"would add {badge}: {name} ({role})")
            elif (existing.name, existing.role) == (name, role):
                unchanged.append(badge)
            else:
                conflicts.append(
                    f"conflict: badge {badge} exists as {existing.name} ({existing.role}); "
                    f"the file says {name} ({role})"
                )
    print("Dry run: nothing was written.")
    for line in add + [f"unchanged {b}" for b in unchanged] + conflicts:
        print(line)
    print(f"{len(add)} would be added, {len(unchanged)} unchanged, {len(conflicts)} conflicts")
    _print_notices(notices)
    if conflicts:
        print("The import would be refused: nothing would be imported.", file=sys.stderr)
        return EXIT_REFUSED
    return EXIT_OK
