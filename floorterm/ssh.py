"""Office access over SSH: the authorized_keys line, the sshd Match block, and who is logged in.

OpenSSH is the server. floorterm's part is small and strict:

- `authorized_key_line` turns a person's public key into one `authorized_keys` line whose
  forced command (`restrict,pty,command="floorterm --config C office --user NAME --role ROLE"`)
  names the person. The identity is whatever the administrator wrote there, never anything
  the SSH client sends.
- `sshd_match_block` prints the `Match User` block for the dedicated account.
- `begin_office_session` runs first in `floorterm office`: it checks the arguments, throws
  away every environment variable the client might have smuggled in (before Textual reads
  its settings from the environment), sets what makes a session look right over SSH, and
  reads which key logged in from sshd's `ExposeAuthInfo` file.

This module is core: it never imports Textual or the store.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, MutableMapping

from floorterm.errors import FloortermError, InputError

# = floorterm.models.ROLES (not imported: that would load peewee for `floorterm ssh ...`).
ROLES = ("operator", "qc", "stores", "supervisor", "planner", "viewer")

# A person's name in the forced command: it becomes the login user of every entry and,
# upper-cased, the badge (see floorterm.inputs.parse_badge). Plain ASCII that no shell,
# sshd option parser or argparse can read as anything but a name.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,23}", re.ASCII)
# A Unix account name for the Match block.
_ACCOUNT = re.compile(r"[a-z_][a-z0-9_-]{0,31}", re.ASCII)
# A TERM value worth passing on; anything else becomes "xterm".
_TERM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,63}", re.ASCII)
# Path characters that never need more than single quotes in the shell and that sshd's
# option parser takes literally inside command="...".
_PATH_CHARS = re.compile(r"[A-Za-z0-9 /._+@%=:,~-]+", re.ASCII)
_COMMENT_CHARS = re.compile(r"[A-Za-z0-9@._+:-]{1,64}", re.ASCII)

KEY_TYPES = (
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
)
RSA_MIN_BITS = 2048
KEY_FILE_MAX_BYTES = 16 * 1024
AUTH_INFO_MAX_BYTES = 64 * 1024

# What `begin_office_session` sets for Textual (read by textual.constants at import time).
ESCDELAY_MS = 200  # Esc vs. the start of an arrow key's sequence; SSH delivers a key's bytes together
SESSION_SETTINGS = {
    "TEXTUAL_ANIMATIONS": "none",  # no animation frames over a slow link
    "TEXTUAL_SMOOTH_SCROLL": "0",
    "TEXTUAL_FPS": "30",
    "ESCDELAY": str(ESCDELAY_MS),
    "LANG": "C.UTF-8",  # the client's LANG/LC_* are dropped: the screens always write UTF-8
}
SAFE_PATH = "/usr/local/bin:/usr/bin:/bin"
# Variables kept from the environment sshd gives the forced command. Everything else
# (FLOORTERM_*, TEXTUAL_*, PYTHON*, LC_*, SSH_ORIGINAL_COMMAND, SSH_AUTH_SOCK, DISPLAY...)
# is dropped: none of it may steer the session.
KEEP = ("HOME", "USER", "LOGNAME", "SHELL", "SSH_CONNECTION", "SSH_CLIENT", "SSH_TTY", "SSH_USER_AUTH")


class OfficeRefused(FloortermError):
    """`floorterm office` will not start for this person or this connection (message says why)."""


@dataclass(frozen=True)
class PublicKey:
    """One OpenSSH public key: its type, base64 body, original comment and SHA256 fingerprint."""

    type: str
    body: str
    comment: str
    fingerprint: str
    bits: int | None = None


@dataclass(frozen=True)
class OfficeSession:
    """Who is at this office session: from the forced command, plus the key sshd saw."""

    user: str  # NAME from --user: recorded as each entry's login user
    role: str  # the role the administrator gave this key; must match the operator's role
    login_key: str | None  # "SHA256:..." of the key that logged in (ExposeAuthInfo), if known
    client: str | None = None  # the client's address, from SSH_CONNECTION

    @property
    def badge(self) -> str:
        """The operator badge of this person (badges are upper case)."""
        return self.user.upper()


# --------------------------------------------------------------------------- names


def check_name(value: str) -> str:
    """A person's NAME for --user: 1-24 of A-Z a-z 0-9 . _ -, starting with a letter or digit."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise InputError(
            f"User name {_show(value)} is not allowed: use 1-24 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (the person's operator badge, e.g. alice)"
        )
    return value


def check_role(value: str) -> str:
    """A role for --role: exactly one of ROLES (lower case)."""
    if value not in ROLES:
        raise InputError(f"Role {_show(value)} is not a role; choose one of: {', '.join(ROLES)}")
    return value


def check_account(value: str) -> str:
    """The Unix account for the Match block: a plain lower-case user name."""
    if not isinstance(value, str) or not _ACCOUNT.fullmatch(value):
        raise InputError(f"Account {_show(value)} is not a plain Unix user name (e.g. floorterm)")
    return value


def _show(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _check_path(value: str | os.PathLike, what: str) -> str:
    text = os.fspath(value)
    if not os.path.isabs(text):
        raise InputError(f"The {what} path must be absolute: {text}")
    if not _PATH_CHARS.fullmatch(text):
        raise InputError(
            f"The {what} path {_show(text)} has characters that cannot go safely into a forced "
            "command (quotes, backslashes, $, `, control or non-ASCII characters); move it to a plain path"
        )
    return os.path.normpath(text)


# --------------------------------------------------------------------------- public keys


def _ssh_string(blob: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(blob):
        raise ValueError("truncated")
    size = int.from_bytes(blob[at : at + 4], "big")
    end = at + 4 + size
    if size > len(blob) or end > len(blob):
        raise ValueError("truncated")
    return blob[at + 4 : end], end


def fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a key blob, as `ssh-keygen -l` prints it."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")


def _decode_key(key_type: str, body: str) -> tuple[bytes, int | None]:
    """The key blob of a base64 body, checked against its type; (blob, RSA bits or None)."""
    try:
        blob = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise InputError("The key is damaged: its body is not base64") from None
    try:
        inner_type, at = _ssh_string(blob, 0)
        if inner_type != key_type.encode("ascii"):
            raise InputError(
                f"The key is damaged: it says {key_type} outside but "
                f"{inner_type.decode('ascii', 'replace')[:40]} inside"
            )
        bits = None
        if key_type == "ssh-ed25519":
            point, at = _ssh_string(blob, at)
            if len(point) != 32:
                raise ValueError("bad ed25519 key")
        elif key_type == "ssh-rsa":
            _exponent, at = _ssh_string(blob, at)
            modulus, at = _ssh_string(blob, at)
            bits = int.from_bytes(modulus, "big").bit_length()
        elif key_type.startswith("ecdsa-sha2-"):
            curve, at = _ssh_string(blob, at)
            if curve.decode("ascii", "replace") != key_type.rsplit("-", 1)[1]:
                raise ValueError("curve does not match")
            _point, at = _ssh_string(blob, at)
        else:  # security-key types: key data, then the application string
            while at < len(blob):
                _part, at = _ssh_string(blob, at)
        if at != len(blob):
            raise ValueError("trailing data")
    except ValueError:
        raise InputError(f"The key is damaged: its {key_type} body does not decode") from None
    return blob, bits


def parse_public_key(text: str) -> PublicKey:
    """The one public key in the text of a .pub file; InputError if it is anything else."""
    if "PRIVATE KEY" in text:
        raise InputError("This is a PRIVATE key: never hand it out. Give the person's .pub file instead")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise InputError("The key file is empty: give the person's public key file (.pub)")
    if len(lines) > 1:
        raise InputError(f"The key file has {len(lines)} lines: give a file with exactly one public key line")
    line = lines[0]
    if "BEGIN SSH2 PUBLIC KEY" in line or line.startswith("----"):
        raise InputError(
            "This key is in the SSH2 (PuTTY) format: convert it with "
            "`ssh-keygen -i -f KEY.pub` (or PuTTYgen's OpenSSH line) and give that"
        )
    if not line.isascii() or any(not ch.isprintable() for ch in line):
        raise InputError("The key line has control or non-ASCII characters: it is not a public key line")
    fields = line.split(None, 2)
    if fields[0] not in KEY_TYPES:
        if "=" in fields[0] or "," in fields[0] or fields[0].startswith(("restrict", "command", "from")):
            raise InputError("The key line already has options in front of the key: give the plain .pub line")
        if fields[0].endswith("-cert-v01@openssh.com"):
            raise InputError("This is an SSH certificate, not a plain public key: give the .pub key line")
        raise InputError(f"Unknown key type {_show(fields[0])}; floorterm takes: {', '.join(KEY_TYPES)}")
    if len(fields) < 2:
        raise InputError("The key line has no key after its type")
    key_type, body = fields[0], fields[1]
    comment = fields[2].strip() if len(fields) > 2 else ""
    blob, bits = _decode_key(key_type, body)
    if bits is not None and bits < RSA_MIN_BITS:
        raise InputError(f"This RSA key has only {bits} bits; make a new key (ssh-keygen -t ed25519)")
    return PublicKey(key_type, body, comment, fingerprint(blob), bits)


def read_public_key_file(path: str | os.PathLike) -> PublicKey:
    """Read and check a .pub file (small, one line)."""
    p = Path(path)
    try:
        with p.open("rb") as handle:
            data = handle.read(KEY_FILE_MAX_BYTES + 1)
    except OSError as exc:
        raise InputError(f"Cannot read the key file {p}: {exc.strerror or exc}") from None
    if len(data) > KEY_FILE_MAX_BYTES:
        raise InputError(f"The key file {p} is too large to be one public key")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise InputError(f"The key file {p} is not a text public key (non-ASCII bytes)") from None
    return parse_public_key(text)


# --------------------------------------------------------------------------- authorized_keys


def office_command(*, user: str, role: str, floorterm: str | os.PathLike, config: str | os.PathLike) -> str:
    """The forced command for one person, quoted for the account's shell."""
    user, role = check_name(user), check_role(role)
    program = _check_path(floorterm, "floorterm program")
    config_path = _check_path(config, "config file")
    return " ".join(
        shlex.quote(part) for part in (program, "--config", config_path, "office", "--user", user, "--role", role)
    )


def authorized_key_line(
    key: PublicKey | str, *, user: str, role: str, floorterm: str | os.PathLike, config: str | os.PathLike
) -> str:
    """The `authorized_keys` line that lets this key in as NAME in office mode, and nothing else.

    `restrict` turns off every forwarding, the agent, X11, ~/.ssh/rc and the pty (and any
    restriction a later OpenSSH adds); `pty` gives the pty back: the screens need a terminal.
    """
    if isinstance(key, str):
        key = parse_public_key(key)
    command = office_command(user=user, role=role, floorterm=floorterm, config=config)
    # sshd takes command="..." literally except for \" ; office_command never contains " or \.
    assert '"' not in command and "\\" not in command
    comment = f"floorterm-office:{user}"
    if _COMMENT_CHARS.fullmatch(key.comment or ""):
        comment += f" {key.comment}"
    return f'restrict,pty,command="{command}" {key.type} {key.body} {comment}'


def default_floorterm_program() -> str:
    """The absolute path of the running `floorterm` console script (else the one beside python)."""
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    if argv0 and os.path.basename(argv0) == "floorterm":
        return os.path.abspath(argv0)
    return os.path.join(os.path.dirname(os.path.abspath(sys.executable)), "floorterm")


# --------------------------------------------------------------------------- sshd Match block

MATCH_SETTINGS = (
    ("Only keys from the account's root-owned authorized_keys; every line there has command=.", None),
    ("AuthorizedKeysFile", None),  # filled in by sshd_match_block
    ("AuthorizedKeysCommand", "none"),
    ("AuthorizedPrincipalsFile", "none"),
    ("TrustedUserCAKeys", "none"),
    ("PubkeyAuthentication", "yes"),
    ("AuthenticationMethods", "publickey"),
    ("PasswordAuthentication", "no"),
    ("KbdInteractiveAuthentication", "no"),
    ("HostbasedAuthentication", "no"),
    ("PermitEmptyPasswords", "no"),
    ("The screens need a terminal; nothing else is allowed through the connection.", None),
    ("PermitTTY", "yes"),
    ("DisableForwarding", "yes"),
    ("AllowTcpForwarding", "no"),
    ("AllowStreamLocalForwarding", "no"),
    ("AllowAgentForwarding", "no"),
    ("X11Forwarding", "no"),
    ("PermitTunnel", "no"),
    ("GatewayPorts", "no"),
    ("PermitOpen", "none"),
    ("PermitListen", "none"),
    ("PermitUserRC", "no"),
    ("One session per connection: no second channel multiplexed beside the screens.", None),
    ("MaxSessions", "1"),
    ("Replaces the global AcceptEnv list (floorterm office drops LANG and every other variable anyway).", None),
    ("AcceptEnv", "LANG"),
    ("Tell floorterm which key logged in ($SSH_USER_AUTH): recorded with every entry.", None),
    ("ExposeAuthInfo", "yes"),
    ("A dead connection ends the session (and the floorterm process) within about two minutes.", None),
    ("ClientAliveInterval", "30"),
    ("ClientAliveCountMax", "4"),
    ("Banner", "none"),
)


_KEYS_FILE = re.compile(r"[A-Za-z0-9/._%+-]+", re.ASCII)


def sshd_match_block(
    account: str = "floorterm",
    *,
    floorterm: str | os.PathLike | None = None,
    config: str | os.PathLike | None = None,
    authorized_keys: str = ".ssh/authorized_keys",
) -> str:
    """The `Match User ACCOUNT` block for sshd_config, with comments saying why.

    `authorized_keys` is the account's key file as sshd_config writes it (relative to the
    home folder, or absolute, %u for the account allowed); it must be root-owned.
    """
    account = check_account(account)
    if not _KEYS_FILE.fullmatch(authorized_keys or ""):
        raise InputError(f"Authorized keys file {_show(authorized_keys)} must be a plain path (no spaces)")
    program = _check_path(floorterm, "floorterm program") if floorterm else "/PATH/TO/floorterm"
    add = f"{program}" + (f" --config {_check_path(config, 'config file')}" if config else "")
    lines = [
        f"# floorterm office access for the account {account!r} (from `floorterm ssh sshd-config`).",
        "# Put this at the END of /etc/ssh/sshd_config: a Match block lasts until the next Match.",
        "# No ForceCommand on purpose: it would override each key's command=, and that command is",
        "# what says who the person is (--user). Every key line must come from:",
        f"#   {add} ssh authorized-key --user NAME --role ROLE KEY.pub",
        "# Keep PermitUserEnvironment no (the default) in the global part: it is not allowed in Match.",
        f"Match User {account}",
    ]
    for name, value in MATCH_SETTINGS:
        if name == "AuthorizedKeysFile":
            value = authorized_keys
        lines.append(f"    # {name}" if value is None else f"    {name} {value}")
    lines.append("Match all")
    lines.append("# (end of the floorterm block)")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the session


def login_key_from_auth_info(text: str) -> str | None:
    """The SHA256 fingerprint of the public key in sshd's ExposeAuthInfo text, or None.

    The file lists one method a line, e.g. `publickey ssh-ed25519 AAAA...`.
    """
    found = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[0] == "publickey" and parts[1] in KEY_TYPES:
            try:
                blob, _bits = _decode_key(parts[1], parts[2])
            except InputError:
                continue
            found = fingerprint(blob)  # with several publickey steps, the last one decided
    return found


def read_login_key(environ: Mapping[str, str]) -> str | None:
    """The fingerprint of the key sshd accepted for this session, from $SSH_USER_AUTH; None if unknown."""
    path = environ.get("SSH_USER_AUTH", "")
    if not path or not os.path.isabs(path):
        return None
    try:
        with open(path, "rb") as handle:
            data = handle.read(AUTH_INFO_MAX_BYTES)
    except OSError:
        return None
    return login_key_from_auth_info(data.decode("ascii", "replace"))


def color_system(environ: Mapping[str, str]) -> str:
    """The colour depth to draw with: truecolor only when the terminal says so, else by TERM.

    SSH passes TERM but not COLORTERM, so most sessions get 256 colours (xterm-256color:
    Windows Terminal, the Windows OpenSSH client, macOS Terminal) or 16 (PuTTY's "xterm").
    """
    colorterm = environ.get("COLORTERM", "").strip().lower()
    term = environ.get("TERM", "").strip().lower()
    if colorterm in ("truecolor", "24bit") or term.endswith("-direct"):
        return "truecolor"
    if term.endswith("256color") or term.endswith("-256"):
        return "256"
    return "standard"


def session_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment floorterm office runs with: a few kept variables, and floorterm's own settings."""
    env = {name: environ[name] for name in KEEP if name in environ}
    term = environ.get("TERM", "")
    env["TERM"] = term if _TERM.fullmatch(term or "") else "xterm"
    colorterm = environ.get("COLORTERM", "").strip().lower()
    if colorterm in ("truecolor", "24bit"):
        env["COLORTERM"] = colorterm
    if "NO_COLOR" in environ:
        env["NO_COLOR"] = "1"
    env["PATH"] = SAFE_PATH
    env.update(SESSION_SETTINGS)
    env["TEXTUAL_COLOR_SYSTEM"] = color_system(env)
    return env


def _use_environment(env: Mapping[str, str], target: MutableMapping[str, str]) -> None:
    target.clear()
    target.update(env)


def begin_office_session(
    user: str,
    role: str,
    *,
    config_given: bool,
    environ: MutableMapping[str, str] | None = None,
    need_terminal: bool = True,
) -> OfficeSession:
    """Check the forced command's arguments and the connection; clean the environment; who is this.

    Must run before Textual is imported: Textual reads ESCDELAY, TEXTUAL_* once, at import.
    Raises InputError for a bad NAME/ROLE and OfficeRefused when the session cannot start.
    """
    environ = os.environ if environ is None else environ
    user, role = check_name(user), check_role(role)
    over_ssh = bool(environ.get("SSH_CONNECTION"))
    if over_ssh and not config_given:
        # Without --config the config would come from $FLOORTERM_CONFIG or the current
        # folder: both things the connection could influence.
        raise OfficeRefused(
            "The forced command must name the config file: floorterm --config PATH office ...; "
            "make the key line with `floorterm ssh authorized-key`"
        )
    login_key = read_login_key(environ)
    client = environ.get("SSH_CONNECTION", "").split(" ")[0] or None
    _use_environment(session_environment(environ), environ)
    if need_terminal and not (_isatty(0) and _isatty(1)):
        raise OfficeRefused(
            "floorterm office needs a terminal: connect with `ssh -t` "
            "(PuTTY and Windows Terminal do this by themselves); nothing else can run here"
        )
    for stream in (sys.stdout, sys.stderr, sys.__stdout__):
        try:
            stream.reconfigure(encoding="utf-8", errors="replace")  # the client's locale is not ours to trust
        except (AttributeError, ValueError):
            pass
    return OfficeSession(user=user, role=role, login_key=login_key, client=client)


def _isatty(fd: int) -> bool:
    try:
        return os.isatty(fd)
    except OSError:
        return False


def office_refusal(operator, session: OfficeSession) -> str | None:
    """Why this person may not open the office screens (operator: an OperatorView or None); None if they may."""
    if operator is None:
        return (
            f"{session.user} is not a floorterm user yet. The administrator adds them with: "
            f"floorterm operators add {session.user} \"Full Name\" --role {session.role}"
        )
    if not operator.active:
        return f"{operator.name} ({session.user}) is disabled in floorterm; ask the administrator"
    if operator.role != session.role:
        return (
            f"{operator.name} ({session.user}) is a {operator.role} in floorterm, but this SSH key was "
            f"set up for a {session.role}; ask the administrator to make them agree"
        )
    return None


def default_export_dir() -> Path:
    """Where office exports go unless the configuration names a folder."""
    import platformdirs

    return Path(platformdirs.user_data_path("floorterm")) / "exports"
