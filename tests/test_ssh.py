"""floorterm.ssh: key lines, the sshd block, identity and the session environment (no sshd needed)."""

from __future__ import annotations

import base64
import json
import shlex
import subprocess
import sys

import pytest

from conftest import REPO
from floorterm import models
from floorterm.errors import InputError
from floorterm.queries import OperatorView
from floorterm.ssh import (
    ROLES,
    OfficeRefused,
    OfficeSession,
    authorized_key_line,
    begin_office_session,
    check_name,
    check_role,
    color_system,
    login_key_from_auth_info,
    office_command,
    office_refusal,
    parse_public_key,
    read_login_key,
    read_public_key_file,
    session_environment,
    sshd_match_block,
)

ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKX2HdoUn+USMJaxjpRgwshmMz1rnSNQJVpt4Epi+Jr2 alice@office-pc"
ED25519_FP = "SHA256:wzdN+KSZOilGGWhupdq+W2mOxArtPIKJBZWmv3zUcfg"  # ssh-keygen -lf
ECDSA = (
    "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBNCb+2IGmMTx91LythBLWcM5w4irbD2zw3ZV"
    "iD9BNWXu1Cc3+F9+1e4qR1j+XdWv3iYaVQh41YvE4UJubwj7KXU= bob@mac"
)
ECDSA_FP = "SHA256:6SjejSxUkAEQ36Q2lcsagIr0gn1cEGj4HhoQukDoP3o"
RSA3072 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQC1z8eD91jJSy9vIItH6u02dbGhBMDPAOLiZ6cWqRx8nlpPWMU2cj/54K5DC7bB4NoOqD599j"
    "Mg14xcqcoz6hybx8XnT9x83Z3dXkaYQmDDYM1hk70TYpNeqp1aURhu+e1X3+q2CbDI4U76GsO5DZus5LZtPaKU7erV5yqG/80II5+D+fYIGH4n"
    "oM4I6EbqHpi0pn0uQ/zE5uVaj9iL4M78I6GkYUfwyrqSNaz9RmCT1qC+O3t5Azq75eKp/TvDCnI/8XnGsYUD+rVAdKGQusA8gM8x6L5+ZZ1vL8"
    "clVcjoMuOoX31oSzhS/qs6Q7YCsSqh+Jiqjj87RJtZ7WI4NyusTr96MLNqRw7IrJfRq4+/xk7yjDjiwx0RqJbn6Qvev5sH9OWOU4yLy6lH8taLO"
    "lSO43yLIgEsDfQywizQc84FaAWdGv9GcgyuyEwwG37VtcGb9SwdVa+/4gN6p/f7BbH5TemjEJ9g4l7IQlHVNIw+6MEyMRErJiVxkmHoXWjBCZ8="
    " carol@win"
)
RSA3072_FP = "SHA256:iQPFm2zjehzFMuxOiCvYRbwPGZ/V2j5FgHyy6De0GCU"
RSA1024 = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC69/k3pJA+h5GdE7+ivIAwVvL8zVvKIUboDsILS8ThG2I9iIqKoBWAKURAT80Rk+ZVJHJX"
    "pubi+qqjQzgHtKOWY8/Pg11P7q7+FzJ9hqSm0RcAQz7D180UtGGL0g1hj/3MM7gs/BDeSgmMiTZPPHJmOy06kBpHxL4goIk9q8Fd3w== old"
)

PROGRAM = "/opt/floorterm/bin/floorterm"
CONFIG = "/etc/floorterm/config.toml"


# --------------------------------------------------------------------------- names and roles


@pytest.mark.parametrize("name", ["alice", "A1", "j.smith", "anne-marie_2", "x" * 24])
def test_plain_names_are_accepted(name):
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "-alice",
        ".alice",
        "al ice",
        "al;ice",
        "$(id)",
        "a`id`",
        "al/ice",
        "alice\n",
        "älice",
        "x" * 25,
        "a'b",
        'a"b',
        "a\\b",
        "--config=/tmp/x",
    ],
)
def test_names_that_could_be_read_as_anything_else_are_refused(name):
    with pytest.raises(InputError, match="not allowed"):
        check_name(name)


def test_roles_are_exactly_the_stores_roles():
    assert ROLES == models.ROLES
    for role in ROLES:
        assert check_role(role) == role
    for wrong in ("Viewer", "admin", "", "viewer "):
        with pytest.raises(InputError, match="choose one of"):
            check_role(wrong)


# --------------------------------------------------------------------------- public keys


@pytest.mark.parametrize("line, fingerprint", [(ED25519, ED25519_FP), (ECDSA, ECDSA_FP), (RSA3072, RSA3072_FP)])
def test_public_keys_are_read_with_ssh_keygens_fingerprint(line, fingerprint):
    key = parse_public_key(line + "\n")
    assert key.fingerprint == fingerprint
    assert line.startswith(f"{key.type} {key.body} ")


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "empty"),
        ("\n\n", "empty"),
        (ED25519 + "\n" + ECDSA + "\n", "2 lines"),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n",
            "PRIVATE",
        ),
        ('restrict,command="bash" ' + ED25519, "options"),
        ('command="bash" ' + ED25519, "options"),
        ("ssh-ed25519-cert-v01@openssh.com AAAA", "certificate"),
        ("ssh-dss AAAAB3NzaC1kc3MAAACBAP", "Unknown key type"),
        ("ssh-ed25519", "no key"),
        ("ssh-ed25519 not*base64", "not base64"),
        ("ssh-ed25519 " + ECDSA.split()[1], "inside"),
        (
            "ssh-ed25519 " + base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x05short").decode(),
            "does not decode",
        ),
        (RSA1024, "1024 bits"),
        ("---- BEGIN SSH2 PUBLIC KEY ----", "SSH2"),
        (ED25519 + "\x1b[2J", "control"),
    ],
)
def test_anything_but_one_good_public_key_line_is_refused(text, words):
    with pytest.raises(InputError, match=words):
        parse_public_key(text)


def test_key_file_is_read_as_one_line(tmp_path):
    good = tmp_path / "alice.pub"
    good.write_text(ED25519 + "\n")
    assert read_public_key_file(good).fingerprint == ED25519_FP
    big = tmp_path / "big.pub"
    big.write_text(ED25519 + " " + "x" * 20000)
    with pytest.raises(InputError, match="too large"):
        read_public_key_file(big)
    binary = tmp_path / "key.ppk"
    binary.write_bytes(b"\xff\xfe PuTTY")
    with pytest.raises(InputError, match="non-ASCII"):
        read_public_key_file(binary)
    with pytest.raises(InputError, match="Cannot read"):
        read_public_key_file(tmp_path / "missing.pub")


# --------------------------------------------------------------------------- authorized_keys line


def _command_of(line: str) -> list[str]:
    """The forced command as sshd hands it to the shell, split as the shell would."""
    assert line.startswith('restrict,pty,command="')
    inner = line[len('restrict,pty,command="') :]
    command, rest = inner.split('" ', 1)
    return shlex.split(command)


def test_key_line_forces_office_mode_for_that_person():
    line = authorized_key_line(ED25519, user="alice", role="viewer", floorterm=PROGRAM, config=CONFIG)
    assert _command_of(line) == [PROGRAM, "--config", CONFIG, "office", "--user", "alice", "--role", "viewer"]
    assert line.endswith(
        " ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKX2HdoUn+USMJaxjpRgwshmMz1rnSNQJVpt4Epi+Jr2 "
        "floorterm-office:alice alice@office-pc"
    )
    assert "\n" not in line


def test_paths_with_spaces_are_quoted_for_the_shell():
    line = authorized_key_line(
        ED25519, user="bob", role="supervisor", floorterm="/opt/floor term/floorterm", config="/srv/Plant 1/config.toml"
    )
    assert _command_of(line)[:3] == ["/opt/floor term/floorterm", "--config", "/srv/Plant 1/config.toml"]
    assert '\\' not in line and line.count('"') == 2


@pytest.mark.parametrize(
    "program, config, words",
    [
        ("floorterm", CONFIG, "absolute"),
        (PROGRAM, "config.toml", "absolute"),
        ('/opt/x"; rm -rf /; "/floorterm', CONFIG, "cannot go safely"),
        ("/opt/$(id)/floorterm", CONFIG, "cannot go safely"),
        ("/opt/x\\/floorterm", CONFIG, "cannot go safely"),
        (PROGRAM, "/etc/floorterm/conf\n.toml", "cannot go safely"),
        (PROGRAM, "/etc/floortérm/config.toml", "cannot go safely"),
    ],
)
def test_unsafe_paths_are_refused(program, config, words):
    with pytest.raises(InputError, match=words):
        office_command(user="alice", role="viewer", floorterm=program, config=config)


def test_an_unsafe_comment_is_dropped_and_a_bad_name_refused():
    line = authorized_key_line(
        ED25519.replace("alice@office-pc", 'x" y'), user="alice", role="viewer", floorterm=PROGRAM, config=CONFIG
    )
    assert line.endswith("floorterm-office:alice")
    with pytest.raises(InputError):
        authorized_key_line(ED25519, user="alice --role supervisor", role="viewer", floorterm=PROGRAM, config=CONFIG)
    with pytest.raises(InputError):
        authorized_key_line(ED25519, user="alice", role="root", floorterm=PROGRAM, config=CONFIG)


# --------------------------------------------------------------------------- sshd block


def test_match_block_locks_the_account_down_without_forcecommand():
    block = sshd_match_block("floorterm", floorterm=PROGRAM, config=CONFIG)
    settings = [
        line.split(None, 1)
        for line in block.splitlines()
        if line.startswith("    ") and not line.strip().startswith("#")
    ]
    names = {name: value for name, value in settings}
    assert "Match User floorterm" in block.splitlines()
    assert "ForceCommand" not in names  # it would override the per-key command= that names the person
    for name, value in {
        "DisableForwarding": "yes",
        "AllowTcpForwarding": "no",
        "AllowAgentForwarding": "no",
        "X11Forwarding": "no",
        "PermitTunnel": "no",
        "PermitUserRC": "no",
        "ExposeAuthInfo": "yes",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "AuthenticationMethods": "publickey",
        "PermitTTY": "yes",
        "GatewayPorts": "no",
        "AllowStreamLocalForwarding": "no",
        "AuthorizedKeysFile": ".ssh/authorized_keys",
    }.items():
        assert names.get(name) == value, name
    assert f"{PROGRAM} --config {CONFIG} ssh authorized-key" in block
    assert block.splitlines()[-2] == "Match all"


def test_match_block_refuses_odd_accounts_and_key_files():
    for account in ("root; ForceCommand x", "Floorterm", "", "a b"):
        with pytest.raises(InputError):
            sshd_match_block(account)
    with pytest.raises(InputError):
        sshd_match_block("floorterm", authorized_keys="/etc/ssh/keys file")
    assert "AuthorizedKeysFile /etc/ssh/floorterm_keys/%u" in sshd_match_block(
        "floorterm", authorized_keys="/etc/ssh/floorterm_keys/%u"
    )


# --------------------------------------------------------------------------- identity and environment


def test_login_key_comes_from_sshds_auth_info(tmp_path):
    body = ED25519.split()[1]
    assert login_key_from_auth_info(f"publickey ssh-ed25519 {body}\n") == ED25519_FP
    assert login_key_from_auth_info("password\nkeyboard-interactive\n") is None
    assert login_key_from_auth_info("publickey ssh-ed25519 garbage\n") is None
    info = tmp_path / "sshauth.abc"
    info.write_text(f"publickey ssh-ed25519 {body}\n")
    assert read_login_key({"SSH_USER_AUTH": str(info)}) == ED25519_FP
    assert read_login_key({"SSH_USER_AUTH": "relative/file"}) is None
    assert read_login_key({"SSH_USER_AUTH": str(tmp_path / "gone")}) is None
    assert read_login_key({}) is None


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"TERM": "xterm-256color"}, "256"),  # Windows Terminal, Windows OpenSSH, macOS Terminal
        ({"TERM": "xterm"}, "standard"),  # PuTTY's default
        ({"TERM": "screen-256color"}, "256"),
        ({"TERM": "xterm-256color", "COLORTERM": "truecolor"}, "truecolor"),
        ({"TERM": "xterm-direct"}, "truecolor"),
        ({"TERM": "linux"}, "standard"),
        ({}, "standard"),
    ],
)
def test_colour_depth_follows_the_terminal_and_never_assumes_true_colour(env, expected):
    assert color_system(env) == expected


def test_session_environment_drops_what_the_client_could_send():
    sent = {
        "TERM": "xterm-256color",
        "HOME": "/home/floorterm",
        "USER": "floorterm",
        "SSH_CONNECTION": "192.0.2.7 5 1 22",
        "SSH_USER_AUTH": "/tmp/sshauth.x",
        "FLOORTERM_DB": "sqlite:////tmp/evil.db",
        "FLOORTERM_CONFIG": "/tmp/e",
        "TEXTUAL_SCREENSHOT": "0",
        "TEXTUAL_DRIVER": "evil:Driver",
        "TEXTUAL_ALLOW_SIGNALS": "1",
        "PYTHONPATH": "/tmp",
        "LC_ALL": "de_DE.ISO-8859-1",
        "LANG": "de_DE.ISO-8859-1",
        "SSH_ORIGINAL_COMMAND": "bash",
        "SSH_AUTH_SOCK": "/tmp/agent",
        "DISPLAY": ":0",
        "ESCDELAY": "5000",
        "PATH": "/tmp/evil:/usr/bin",
    }
    env = session_environment(sent)
    for name in (
        "FLOORTERM_DB",
        "FLOORTERM_CONFIG",
        "TEXTUAL_SCREENSHOT",
        "TEXTUAL_DRIVER",
        "TEXTUAL_ALLOW_SIGNALS",
        "PYTHONPATH",
        "LC_ALL",
        "SSH_ORIGINAL_COMMAND",
        "SSH_AUTH_SOCK",
        "DISPLAY",
    ):
        assert name not in env, name
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"
    assert env["LANG"] == "C.UTF-8"
    assert (env["TEXTUAL_ANIMATIONS"], env["ESCDELAY"], env["TEXTUAL_COLOR_SYSTEM"]) == ("none", "200", "256")
    assert (env["HOME"], env["SSH_CONNECTION"], env["SSH_USER_AUTH"]) == (
        "/home/floorterm",
        "192.0.2.7 5 1 22",
        "/tmp/sshauth.x",
    )
    assert session_environment({"TERM": "xterm\x1b]0;x"})["TERM"] == "xterm"


def test_begin_session_cleans_the_environment_in_place_and_knows_the_key(tmp_path):
    info = tmp_path / "sshauth.x"
    info.write_text(f"publickey ssh-ed25519 {ED25519.split()[1]}\n")
    environ = {
        "SSH_CONNECTION": "192.0.2.7 51000 10.0.0.5 22",
        "SSH_USER_AUTH": str(info),
        "TERM": "xterm",
        "FLOORTERM_DB": "sqlite:////tmp/evil.db",
    }
    session = begin_office_session("alice", "viewer", config_given=True, environ=environ, need_terminal=False)
    assert session == OfficeSession("alice", "viewer", ED25519_FP, client="192.0.2.7")
    assert session.badge == "ALICE"
    assert "FLOORTERM_DB" not in environ and environ["TEXTUAL_ANIMATIONS"] == "none"


def test_begin_session_refuses_without_config_or_terminal(monkeypatch):
    with pytest.raises(OfficeRefused, match="must name the config"):
        begin_office_session(
            "alice", "viewer", config_given=False, environ={"SSH_CONNECTION": "a b c d"}, need_terminal=False
        )
    monkeypatch.setattr("floorterm.ssh._isatty", lambda fd: False)
    with pytest.raises(OfficeRefused, match="needs a terminal"):
        begin_office_session("alice", "viewer", config_given=True, environ={})
    with pytest.raises(InputError):
        begin_office_session("alice;id", "viewer", config_given=True, environ={}, need_terminal=False)


def test_office_refusal_names_the_fix():
    session = OfficeSession("alice", "viewer", None)
    assert "floorterm operators add alice" in office_refusal(None, session)
    assert "disabled" in office_refusal(OperatorView("ALICE", "Alice Berg", "viewer", False), session)
    assert "is a supervisor in floorterm, but this SSH key was set up for a viewer" in office_refusal(
        OperatorView("ALICE", "Alice Berg", "supervisor", True), session
    )
    assert office_refusal(OperatorView("ALICE", "Alice Berg", "viewer", True), session) is None


def test_the_ssh_module_is_core_light():
    code = (
        "import floorterm.ssh, json, sys; "
        "print(json.dumps(sorted(m for m in ('textual', 'peewee', 'psycopg') if m in sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert json.loads(done.stdout) == []


# ----------------------------------------------------------- the commands (cli.py, or the proposed wiring)


def _floorterm_main():
    from floorterm import cli

    return cli.main


def test_authorized_key_command_prints_the_line(tmp_path, capsys):
    key = tmp_path / "alice.pub"
    key.write_text(ED25519 + "\n")
    program = tmp_path / "floorterm"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    main = _floorterm_main()
    code = main(
        [
            "--config",
            str(REPO / "config.toml"),
            "ssh",
            "authorized-key",
            "--user",
            "alice",
            "--role",
            "viewer",
            "--floorterm",
            str(program),
            str(key),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert (
        out
        == authorized_key_line(
            ED25519, user="alice", role="viewer", floorterm=str(program), config=str(REPO / "config.toml")
        )
        + "\n"
    )
    assert ED25519_FP in err
    key.write_text("-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n")
    assert (
        main(
            [
                "--config",
                str(REPO / "config.toml"),
                "ssh",
                "authorized-key",
                "--user",
                "alice",
                "--role",
                "viewer",
                "--floorterm",
                str(program),
                str(key),
            ]
        )
        == 1
    )
    out, err = capsys.readouterr()
    assert out == "" and "PRIVATE key" in err
    assert (
        main(
            [
                "--config",
                str(REPO / "config.toml"),
                "ssh",
                "authorized-key",
                "--user",
                "alice",
                "--role",
                "viewer",
                "--floorterm",
                str(tmp_path / "nothing"),
                str(key),
            ]
        )
        == 2
    )


def test_sshd_config_command_prints_the_block(tmp_path, capsys):
    program = tmp_path / "floorterm"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    code = _floorterm_main()(
        [
            "--config",
            str(REPO / "config.toml"),
            "ssh",
            "sshd-config",
            "--account",
            "office",
            "--floorterm",
            str(program),
        ]
    )
    out, err = capsys.readouterr()
    assert code == 0, err
    assert out == sshd_match_block("office", floorterm=str(program), config=str(REPO / "config.toml"))


def test_office_command_without_a_terminal_refuses_and_runs_nothing(tmp_path):
    script = (
        "import sys; sys.path.insert(0, {tests!r}); "
        "from test_ssh import _floorterm_main; sys.exit(_floorterm_main()(sys.argv[1:]))"
    ).format(tests=str(REPO / "tests"))
    base = [sys.executable, "-c", script, "--config", str(REPO / "config.toml"), "office"]
    done = subprocess.run(
        [*base, "--user", "alice", "--role", "viewer"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    assert done.returncode == 1 and "needs a terminal" in done.stderr
    done = subprocess.run(
        [*base, "--user", "al ice", "--role", "viewer"],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        cwd=tmp_path,
    )
    assert done.returncode == 1 and "not allowed" in done.stderr
    assert list(tmp_path.iterdir()) == []
