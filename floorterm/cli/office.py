"""`floorterm office` (an SSH key's forced command) and `floorterm ssh` (setting it up)."""

from __future__ import annotations

import os
import sys

from floorterm.cli.common import EXIT_OK, ROLES, UsageError, _info, _needs_subcommand, _sub


def add_commands(commands) -> None:
    office = _sub(
        commands,
        "office",
        "the office screens for one person: run by sshd as an SSH key's forced command",
        "The board summary, job lookup, reports, exports and the shift handover for the person named "
        "by --user. Meant as the forced command of an SSH key (make the line with `floorterm ssh authorized-key`; "
        "see docs/ssh.md): the person is who the administrator wrote there, never anything the SSH "
        "client sends. Viewers only look; supervisors and planners get their actions, and every "
        "entry records the person and the key that logged in.",
    )
    office.add_argument(
        "--user",
        metavar="NAME",
        required=True,
        help="the person: their operator badge, added with `floorterm operators add NAME ...`; "
        "recorded as the login user of every entry",
    )
    office.add_argument(
        "--role",
        metavar="ROLE",
        required=True,
        help=f"the role this key was given ({', '.join(ROLES)}); it must be the operator's role",
    )
    office.set_defaults(func=cmd_office)

    ssh = _sub(commands, "ssh", "set up office access over SSH (OpenSSH): key lines and the sshd block", db=False)
    what = ssh.add_subparsers(title="what", metavar="WHAT")
    key = _sub(
        what,
        "authorized-key",
        "print the authorized_keys line that lets one person's key into office mode",
        "Print one authorized_keys line for the public key in KEYFILE.pub: restrict,pty and a forced "
        "command running `floorterm --config CONFIG office --user NAME --role ROLE`, with this "
        "floorterm and the absolute path of this config. Append it to the floorterm account's "
        "root-owned ~/.ssh/authorized_keys (docs/ssh.md).",
        db=False,
    )
    key.add_argument("keyfile", metavar="KEYFILE.pub", help="the person's public key file (one line)")
    key.add_argument(
        "--user",
        metavar="NAME",
        required=True,
        help="the person's operator badge: 1-24 of A-Z a-z 0-9 . _ - (e.g. alice)",
    )
    key.add_argument(
        "--role",
        metavar="ROLE",
        required=True,
        help=f"their role ({', '.join(ROLES)}); must match `floorterm operators list`",
    )
    key.add_argument(
        "--floorterm", metavar="PATH", help="the floorterm program the key runs (default: the one running this command)"
    )
    key.set_defaults(func=cmd_ssh_authorized_key)
    conf = _sub(
        what,
        "sshd-config",
        "print the sshd_config Match block for the dedicated floorterm account",
        "Print a `Match User ACCOUNT` block for the end of /etc/ssh/sshd_config: public keys only, no "
        "forwarding of any kind, no agent, no X11, no tunnels, no ~/.ssh/rc, ExposeAuthInfo on.",
        db=False,
    )
    conf.add_argument(
        "--account",
        metavar="NAME",
        default="floorterm",
        help="the Unix account office users log in as (default: floorterm)",
    )
    conf.add_argument(
        "--floorterm",
        metavar="PATH",
        help="the floorterm program, for the comment that shows how to add a key "
        "(default: the one running this command)",
    )
    conf.set_defaults(func=cmd_ssh_sshd_config)
    ssh.set_defaults(func=_needs_subcommand(ssh))


def cmd_office(ctx, args) -> int:
    from floorterm.ssh import begin_office_session

    # First: check NAME/ROLE, drop the client's environment (FLOORTERM_DB too) and set the
    # session's terminal settings, all before Textual is imported.
    session = begin_office_session(args.user, args.role, config_given=bool(getattr(args, "config", None)))
    ctx.require_store_file()
    from floorterm.screens.office import run_office

    return run_office(ctx.config, ctx.store_url, session)


def _floorterm_program(value: str | None) -> str:
    from floorterm.ssh import default_floorterm_program

    program = os.path.abspath(os.path.expanduser(value)) if value else default_floorterm_program()
    if not (os.path.isfile(program) and os.access(program, os.X_OK)):
        raise UsageError(f"{program} is not an executable floorterm program; give --floorterm PATH")
    return program


def cmd_ssh_authorized_key(ctx, args) -> int:
    from floorterm.ssh import authorized_key_line, read_public_key_file

    program = _floorterm_program(args.floorterm)
    key = read_public_key_file(args.keyfile)
    line = authorized_key_line(
        key, user=args.user, role=args.role, floorterm=program, config=os.path.abspath(ctx.config.path)
    )
    print(line)
    _info(
        f"{key.type} key {key.fingerprint} for {args.user} ({args.role}): append this line to the "
        "floorterm account's authorized_keys"
    )
    return EXIT_OK


def cmd_ssh_sshd_config(ctx, args) -> int:
    from floorterm.ssh import sshd_match_block

    sys.stdout.write(
        sshd_match_block(
            args.account, floorterm=_floorterm_program(args.floorterm), config=os.path.abspath(ctx.config.path)
        )
    )
    return EXIT_OK
