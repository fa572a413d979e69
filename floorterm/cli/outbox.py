"""`floorterm outbox`: a kiosk's offline entries: list, replay, retry, discard."""

from __future__ import annotations

import contextlib

from floorterm.cli.common import (
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_STORE,
    Context,
    UsageError,
    _format_option,
    _needs_subcommand,
    _say_error,
    _sub,
    _terminal_arg,
    emit,
)
from floorterm.errors import StoreError


def add_commands(commands) -> None:
    outbox = _sub(
        commands,
        "outbox",
        "list, replay, retry and discard a kiosk's offline entries",
        "A kiosk that cannot reach the store keeps its entries in its outbox, a file on the "
        "kiosk's own disk ($FLOORTERM_OUTBOX_DIR/TERMINAL.sqlite, else floorterm/outbox/ in the "
        "user data folder), and replays them in order once the store answers. An entry the store "
        "refuses on replay stays there, and the board lists it under 'Refused on replay' until a "
        "supervisor retries or discards it. Run these commands on the kiosk's machine.",
    )
    what = outbox.add_subparsers(title="what", metavar="WHAT")

    def terminal_option(parser):
        parser.add_argument("--terminal", metavar="ID", required=True, help="the kiosk's terminal id, e.g. WELD-1")

    listing = _sub(what, "list", "list the waiting and refused entries of a terminal's outbox")
    terminal_option(listing)
    listing.add_argument("--all", action="store_true", help="also the entries already replayed or discarded")
    _format_option(listing)
    listing.set_defaults(func=cmd_outbox_list)
    replay = _sub(
        what,
        "replay",
        "send a terminal's waiting entries to the store now, in order",
        "Send the waiting entries to the store now, in the order they were queued (the kiosk "
        "does this by itself when the store answers). Each entry keeps its id, so one the "
        "store already holds is not written twice. Exits 3 if the store is away, 1 if the store "
        "refused an entry.",
    )
    terminal_option(replay)
    replay.set_defaults(func=cmd_outbox_replay)
    retry = _sub(
        what,
        "retry",
        "send refused entries again (all, or the one given), then replay",
        "Put refused entries back in the queue at their old place (all of them, or the one "
        "given with --entry) and replay now. Says how many were saved, refused again and "
        "still waiting. Exits 3 if the store is away, 1 if an entry was refused again.",
    )
    terminal_option(retry)
    retry.add_argument("--entry", metavar="UUID", help="only this entry (its id from `floorterm outbox list`)")
    retry.set_defaults(func=cmd_outbox_retry)
    discard = _sub(
        what,
        "discard",
        "give up a refused entry, with a supervisor's badge and why",
        "Give up an entry the store refused on replay. A supervisor's (or planner's) badge "
        "is checked in the store; the entry is marked discarded in the outbox, taken off the "
        "board's 'Refused on replay' list, and a note on the job says what was discarded and why.",
    )
    terminal_option(discard)
    discard.add_argument("--entry", metavar="UUID", required=True, help="the refused entry's id")
    discard.add_argument("--supervisor", metavar="BADGE", required=True, help="the supervisor's or planner's badge")
    discard.add_argument("--note", metavar="TEXT", required=True, help="why it is discarded (kept on the job)")
    discard.set_defaults(func=cmd_outbox_discard)
    outbox.set_defaults(func=_needs_subcommand(outbox))


@contextlib.contextmanager
def _outbox(ctx: Context, args):
    """The terminal's outbox, or None when it never queued anything (no file is made for a look)."""
    from floorterm.outbox import Outbox, outbox_path

    terminal = _terminal_arg(ctx.config, args.terminal)
    path = outbox_path(terminal)
    if not path.exists():
        yield None
        return
    with Outbox.open(terminal, path) as outbox:
        yield outbox


def _outbox_entry(outbox, args):
    entry = outbox.get(args.entry) if outbox is not None else None
    if entry is None:
        raise UsageError(
            f"No entry {args.entry} in the outbox of {args.terminal.upper()}; "
            f"see `floorterm outbox list --terminal {args.terminal.upper()} --all`"
        )
    return entry


def cmd_outbox_list(ctx: Context, args) -> int:
    with _outbox(ctx, args) as outbox:
        entries = outbox.entries(include_done=args.all) if outbox is not None else []
    columns = ["seq", "status", "queued_at", "job", "words", "badge", "uuid", "refusal"]
    if args.format != "table":
        columns = [
            "seq",
            "uuid",
            "status",
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
            "client_time",
            "queued_at",
            "words",
            "refusal",
            "event_id",
            "resolved_by",
        ]
    rows = [{c: getattr(e, c) for c in columns} for e in entries]
    emit(
        rows,
        args.format,
        columns,
        ctx.config.tz,
        empty=f"nothing waiting or refused at {args.terminal.upper()}",
        headers={"words": "ENTRY", "queued_at": "QUEUED"},
    )
    return EXIT_OK


def cmd_outbox_replay(ctx: Context, args) -> int:
    with _outbox(ctx, args) as outbox:
        return _replay_now(ctx, outbox, args.terminal.upper())


def cmd_outbox_retry(ctx: Context, args) -> int:
    from floorterm.errors import DomainError

    with _outbox(ctx, args) as outbox:
        if args.entry:
            entry = _outbox_entry(outbox, args)
            if entry.status == "refused":
                outbox.retry(entry.uuid)
            elif entry.status != "waiting":
                raise DomainError(f"Entry {entry.uuid} is {entry.status}: there is nothing to retry")
        elif outbox is not None:
            for entry in outbox.refused():
                outbox.retry(entry.uuid)
        return _replay_now(ctx, outbox, args.terminal.upper())


def _replay_now(ctx: Context, outbox, terminal: str) -> int:
    from floorterm.outbox import REPLAY_DEADLINE_SECONDS, ReplayReport, replay

    if outbox is None or (not outbox.waiting() and not outbox.unsynced()):
        print(f"Nothing waiting in the outbox of {terminal}")
        return EXIT_OK
    try:
        with ctx.store() as store:
            report = replay(outbox, ctx.ledger(store), deadline=REPLAY_DEADLINE_SECONDS)
    except StoreError as exc:  # the store cannot even be opened
        report = ReplayReport(saved=[], refused=[], offline=True, error=str(exc))
    waiting, _ = outbox.counts()
    if report.offline:
        _say_error(
            StoreError(
                f"The store is away ({report.error}): saved {len(report.saved)}, "
                f"{waiting} still waiting in the outbox of {terminal}"
            )
        )
        return EXIT_STORE
    print(f"Saved {len(report.saved)}, refused {len(report.refused)}, still waiting {waiting}")
    for entry in report.refused:
        print(f"refused: {entry.uuid} job {entry.job}: {entry.words}: {entry.refusal}")
    return EXIT_REFUSED if report.refused else EXIT_OK


def cmd_outbox_discard(ctx: Context, args) -> int:
    from floorterm.errors import DomainError
    from floorterm.ledger import Actor

    with _outbox(ctx, args) as outbox:
        entry = _outbox_entry(outbox, args)
        if entry.status not in ("refused", "discarded"):
            raise DomainError(f"Entry {entry.uuid} is {entry.status}: only an entry refused on replay can be discarded")
        with ctx.store() as store:
            ledger = ctx.ledger(store)
            # The store may not have heard of the refusal yet (it was away); once per entry.
            ledger.report_replay_refusal(entry, entry.refusal or "refused")
            ledger.resolve_replay_refusal(entry.uuid, actor=Actor(args.supervisor), how="discarded", note=args.note)
        outbox.discard(entry.uuid, args.supervisor)
    print(f"Discarded from {entry.terminal}: {entry.words} (job {entry.job}); {args.note}")
    return EXIT_OK
