"""`floorterm serve`: the board, the office or a kiosk in a web browser (textual-serve).

The same Textual screens, not a second UI: textual-serve starts one `floorterm board|kiosk ...`
process per browser tab and relays the terminal over a websocket to xterm.js in the page.
Everything inside is exactly as at a terminal: supervisors sign in on the board with their
badge, a kiosk asks for the operator's badge. The office has no badge sign-in, so a browser
session is the least privileged person, a viewer named with --user, unless a reverse proxy in
front (TLS and a login, docs/serve.md) names the person in a request header (--user-header).

textual-serve, aiohttp and asyncio are imported only when serving; the checks before that (screen,
terminal, port, store, the office person) fail with one line and exit status 2 or 3.
"""

from __future__ import annotations

import argparse
import copy
import errno
import os
import shlex

from floorterm.cli.common import EXIT_OK, UsageError, _Formatter, _global_options, _info, _sub, _terminal_arg
from floorterm.errors import InputError

SCREENS = ("board", "office", "kiosk")
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def add_commands(commands) -> None:
    serve = _sub(
        commands,
        "serve",
        "serve the board, the office or a kiosk to web browsers (tablets, a TV)",
        "Serve one screen over HTTP to web browsers with textual-serve: every browser tab runs its "
        "own `floorterm board`, `kiosk` or office session on this machine and shows it in the page. "
        "Listens on 127.0.0.1 unless --host says otherwise; put a reverse proxy with TLS and a login "
        "in front for other machines (docs/serve.md). Inside, the board and the kiosk need a badge "
        "exactly as at a terminal. The office in a browser is the viewer named by --user (read-only), or the person "
        "the reverse proxy names in --user-header.",
    )
    serve.add_argument("screen", metavar="SCREEN", help=f"what to serve: {', '.join(SCREENS)}")
    serve.add_argument(
        "--terminal",
        metavar="ID",
        help="the terminal id from the config: a board terminal for `board`, a kiosk, qc or stores "
        "terminal for `kiosk` (required for both; the office has none)",
    )
    serve.add_argument(
        "--host",
        metavar="ADDR",
        default=DEFAULT_HOST,
        help=f"the address to listen on (default {DEFAULT_HOST}: this machine only, for a reverse proxy "
        "here); anything else is reachable from the network without TLS or a login",
    )
    serve.add_argument(
        "--port", metavar="N", type=_port, default=DEFAULT_PORT, help=f"the TCP port (default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--public-url",
        metavar="URL",
        help="the address browsers use, when it is not http://HOST:PORT (behind a reverse proxy: "
        "e.g. https://board.example.com); the page loads its scripts and websocket from there",
    )
    serve.add_argument("--tv", action="store_true", help="board only: large text for a TV on the shop floor")
    serve.add_argument(
        "--user",
        metavar="NAME",
        help="office only: the viewer every browser session is (an operator with role viewer, e.g. "
        "the floor TV's account); sessions can look but never act",
    )
    serve.add_argument(
        "--user-header",
        metavar="HEADER",
        help="office only: take the person from this request header, set by the reverse proxy after "
        "its login (e.g. X-Remote-User); they act with their own role. Only with a loopback --host, "
        "so that nothing but the proxy can set it",
    )
    serve.set_defaults(func=cmd_serve)

    # One browser tab's office session, started by the server (hidden: not listed in --help).
    session = commands.add_parser(
        "serve-session",
        formatter_class=_Formatter,
        description="One browser tab's office session, started by `floorterm serve office` (not for people).",
    )
    session.add_argument("screen", choices=("office",), help="the screen: office")
    session.add_argument("--user", metavar="NAME", required=True, help="the person (their badge)")
    session.add_argument("--role", metavar="ROLE", help="the role they must have (default: their own)")
    _global_options(session, top=False)
    session.set_defaults(func=cmd_serve_session)


def _port(text: str) -> int:
    """argparse type for --port: 1-65535 in ASCII digits."""
    if not (text.isascii() and text.isdigit() and 1 <= int(text) <= 65535):
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port: give a number from 1 to 65535")
    return int(text)


def is_loopback(host: str) -> bool:
    """True when HOST is this machine only (localhost, 127.x.x.x, ::1)."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_listen(host: str, port: int) -> None:
    """Refuse (UsageError) when HOST:PORT cannot be listened on: in use, or not an address of this machine."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(f"Cannot listen on {host}: {exc.strerror or exc}") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        if os.name != "nt":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server itself does
        try:
            probe.bind(address)
            probe.listen(1)
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, 10048):
                raise UsageError(
                    f"Cannot listen on {host} port {port}: the port is in use; choose another --port"
                ) from None
            raise UsageError(f"Cannot listen on {host} port {port}: {exc.strerror or exc}") from None


def _check_public_url(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise UsageError(f"--public-url {url} is not an http:// or https:// address such as https://board.example.com")
    return url.rstrip("/")


def _check_header(name: str) -> str:
    import re

    if not re.fullmatch(r"[A-Za-z0-9-]{1,64}", name or ""):
        raise UsageError(f"--user-header {name!r} is not a header name such as X-Remote-User")
    return name


def session_command(ctx, args, *, user: str | None = None, role: str | None = None) -> list[str]:
    """The command one browser tab runs: the screen's own `floorterm` command, same config and store."""
    from floorterm.ssh import default_floorterm_program

    command = [default_floorterm_program(), "--config", os.path.abspath(ctx.config.path)]
    if getattr(args, "db", None):  # as given; a $FLOORTERM_DB reaches the sessions through the environment
        command += ["--db", ctx.store_url]
    if args.screen == "board":
        command += ["board", "--terminal", args.terminal] + (["--tv"] if args.tv else [])
    elif args.screen == "kiosk":
        command += ["kiosk", "--terminal", args.terminal]
    else:
        command += ["serve-session", "office", "--user", user or ""] + (["--role", role] if role else [])
    return command


def _check_arguments(ctx, args) -> None:
    """Everything that can be wrong, said before anything listens (UsageError: exit status 2)."""
    if args.screen not in SCREENS:
        raise UsageError(f"Unknown screen {args.screen!r}; floorterm serve serves: {', '.join(SCREENS)}")
    office_only = [name for name in ("user", "user_header") if getattr(args, name)]
    if args.screen != "office" and office_only:
        raise UsageError(f"--{office_only[0].replace('_', '-')} is for `floorterm serve office` only")
    if args.tv and args.screen != "board":
        raise UsageError("--tv is for `floorterm serve board` only")
    if args.screen == "office":
        if args.terminal:
            raise UsageError("The office has no terminal: leave out --terminal (the person comes from --user)")
        if not args.user and not args.user_header:
            raise UsageError(
                "Say who the office in a browser is: --user NAME (a viewer: read-only), or --user-header "
                "HEADER behind a reverse proxy that logs people in (docs/serve.md)"
            )
        if args.user_header:
            _check_header(args.user_header)
            if not is_loopback(args.host):
                raise UsageError(
                    "--user-header trusts a request header: listen on loopback only (--host 127.0.0.1) so that "
                    "nothing but the reverse proxy on this machine can set it"
                )
    else:
        if not args.terminal:
            raise UsageError(f"Say which terminal the {args.screen} is: floorterm serve {args.screen} --terminal ID")
        args.terminal = _terminal_arg(ctx.config, args.terminal)
        kind = ctx.config.terminal(args.terminal).kind
        if args.screen == "board" and kind != "board":
            boards = ", ".join(t.id for t in ctx.config.terminals if t.kind == "board") or "none"
            raise UsageError(f"{args.terminal} is a {kind} terminal, not a board; the board terminals: {boards}")
        if args.screen == "kiosk" and kind == "board":
            raise UsageError(f"{args.terminal} is a board terminal: serve it with floorterm serve board")
    if args.public_url:
        args.public_url = _check_public_url(args.public_url)
    check_listen(args.host, args.port)


def _check_store(ctx, args) -> None:
    """The store opens now (a session that cannot start shows nothing useful in a browser)."""
    from floorterm.ssh import check_name

    if args.screen == "kiosk":
        from floorterm.store import Store

        ctx.require_store_file()
        Store.open(ctx.store_url, allow_away=True).close()  # a kiosk works on through an outage
        return
    with ctx.store():
        if args.screen != "office" or not args.user:
            return
        try:
            name = check_name(args.user)
        except InputError as exc:
            raise UsageError(str(exc)) from None
        operator = ctx.queries().operator(name.upper())
        if operator is None or not operator.active:
            raise UsageError(
                f"{name} is not an active floorterm user; add the viewer with: "
                f'floorterm operators add {name} "Floor TV" --role viewer'
            )
        if operator.role != "viewer":
            raise UsageError(
                f"{operator.name} ({name}) is a {operator.role}: every browser session would act as them without "
                "logging in. --user must be a viewer; give people their own login with --user-header (docs/serve.md)"
            )


def cmd_serve(ctx, args) -> int:
    _check_arguments(ctx, args)
    _check_store(ctx, args)
    if not is_loopback(args.host):
        _info(
            f"floorterm: WARNING: listening on {args.host}, not loopback: anyone who can reach port {args.port} "
            "gets this screen, unencrypted and without a login. Put a reverse proxy with TLS and a login in "
            "front instead (docs/serve.md)."
        )
    server = make_server(ctx, args)
    host = f"[{args.host}]" if ":" in args.host else args.host
    _info(f"floorterm: serving the {args.screen} on {server.public_url or f'http://{host}:{args.port}'}")
    server.serve()
    return EXIT_OK


def make_server(ctx, args):
    """The textual-serve Server for these arguments (imported here: only `serve` needs aiohttp)."""
    import asyncio

    from aiohttp import web
    from textual_serve.server import Server

    from floorterm.ssh import check_name

    fixed_user = args.user if args.screen == "office" else None
    header = args.user_header if args.screen == "office" else None

    def shell(command: list[str]) -> str:
        return "exec " + shlex.join(command)  # textual-serve runs it with /bin/sh: no shell left in between

    default_command = shell(session_command(ctx, args, user=fixed_user, role="viewer" if fixed_user else None))
    title = f"floorterm {args.screen}" + (f" {args.terminal}" if args.terminal else "")

    sessions: set[asyncio.Task] = set()  # the websocket handlers, one per browser tab

    class FloortermServer(Server):
        """textual-serve's Server, plus: a per-request address, the Origin check, the proxy's person."""

        def _for_request(self, request, command: str | None = None):
            view = copy.copy(self)  # the same server seen with this request's address (and command)
            if not args.public_url:
                view.public_url = f"{request.scheme}://{request.host}"
            if command is not None:
                view.command = command
            return view

        async def on_startup(self, app) -> None:
            pass  # textual-serve would print its logo and the command (which may hold a store password)

        async def handle_index(self, request):
            return await Server.handle_index(self._for_request(request), request)

        async def handle_websocket(self, request):
            origin = request.headers.get("Origin")
            allowed = {request.host.lower()}
            if args.public_url:
                from urllib.parse import urlsplit

                allowed.add(urlsplit(args.public_url).netloc.lower())
            if origin and origin.split("://", 1)[-1].rstrip("/").lower() not in allowed:
                # Another web site's page opening our websocket with the visitor's login: refused.
                raise web.HTTPForbidden(text="floorterm: this screen is served to its own page only\n")
            command = default_command
            if header:
                person = request.headers.get(header, "").strip()
                try:
                    person = check_name(person)
                except InputError:
                    raise web.HTTPForbidden(
                        text=f"floorterm: the reverse proxy did not name the person in {header}\n"
                    ) from None
                command = shell(session_command(ctx, args, user=person))
            task = asyncio.current_task()
            sessions.add(task)
            try:
                return await Server.handle_websocket(self._for_request(request, command), request)
            finally:
                sessions.discard(task)

        async def on_shutdown(self, app) -> None:
            # Ctrl-C or SIGTERM: end every tab's session now (textual-serve asks each app to quit and
            # waits for it), rather than leaving aiohttp to wait for browsers to hang up.
            for task in list(sessions):
                task.cancel()
            await asyncio.gather(*sessions, return_exceptions=True)

    server = FloortermServer(default_command, host=args.host, port=args.port, title=title, public_url=args.public_url)
    if not args.public_url:
        server.public_url = None  # per request, from the address the browser used
    return server


def cmd_serve_session(ctx, args) -> int:
    """One browser tab's office session: the office screens for --user, without SSH's terminal checks."""
    from floorterm.ssh import OfficeSession, check_name, check_role

    user = check_name(args.user)
    role = check_role(args.role) if args.role else None
    if role is None:  # the reverse proxy's person acts with their own role
        with ctx.store():
            operator = ctx.queries().operator(user.upper())
        role = operator.role if operator is not None else "viewer"  # unknown: refused by run_office
    session = OfficeSession(user=user, role=role, login_key=None, client=None)
    ctx.require_store_file()
    from floorterm.screens.office import run_office

    return run_office(ctx.config, ctx.store_url, session)
