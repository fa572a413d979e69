"""`floorterm print`: job cards, badges and command sheets."""

from __future__ import annotations

from floorterm.cli.common import EXIT_OK, Context, _needs_subcommand, _sub

PRINT_SIZES = ("a4", "letter", "label-100x150")


def add_commands(commands) -> None:
    printing = _sub(commands, "print", "print job cards, badges and command sheets (see docs/printing.md)")
    what = printing.add_subparsers(title="what", metavar="WHAT")

    def page_options(parser):
        parser.add_argument(
            "--out",
            metavar="DIR",
            default=".",
            help="folder to write into, created if missing (default: .); the files appear "
            "only once all are on the disk",
        )
        parser.add_argument(
            "--format",
            choices=("html", "svg", "png"),
            default="html",
            help="html (default: one self-contained file, prints from any browser), svg, or png for label printers",
        )
        parser.add_argument("--size", choices=PRINT_SIZES, default="a4", help="page size (default: a4)")
        parser.set_defaults(func=cmd_print)

    from floorterm.queries import STATUSES

    card = _sub(what, "card", "job cards to travel with the work, one page per job")
    card.add_argument("jobs", nargs="*", metavar="JOB", help="job numbers")
    card.add_argument("--all-released", action="store_true", help="also every open job that has been released")
    card.add_argument(
        "--status", choices=STATUSES, metavar="STATUS", help=f"also every job with this status: {', '.join(STATUSES)}"
    )
    card.add_argument("--one-file", action="store_true", help="html: all cards in one file, cards.html")
    page_options(card)
    card.set_defaults(what="card")
    badges = _sub(what, "badges", "operator badges with the barcode the kiosk signs in with")
    badges.add_argument("badges", nargs="*", metavar="BADGE", help="only these badges (default: every active operator)")
    page_options(badges)
    badges.set_defaults(what="badges")
    sheets = _sub(what, "commands", "command sheets: the barcodes a workstation scans instead of typing")
    sheets.add_argument("--terminal", metavar="ID", help="one terminal (default: every terminal that records)")
    page_options(sheets)
    sheets.set_defaults(what="commands")
    printing.set_defaults(func=_needs_subcommand(printing))


def cmd_print(ctx: Context, args) -> int:
    from floorterm import labels

    with ctx.store():
        for path in labels.print_command(args, ctx.queries()):
            print(path)
    return EXIT_OK
