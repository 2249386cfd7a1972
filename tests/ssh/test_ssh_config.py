"""ssh_config lookup and target resolution, with OpenSSH's `ssh -G` as the oracle."""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from fleetcheck.errors import ErrorKind, HostFailure, InputError
from fleetcheck.transport.ssh.config import SshConfig
from fleetcheck.transport.ssh.target import Resolver, Target, parse_jump, parse_ssh_args
from tests.lab.prereq import require

CONFIG = """\
# a config exercising what fleetcheck honours
Include {top}

Host alias1
    HostName 10.9.9.9
    Port 2222
    User alice
    IdentityFile ~/.ssh/k_%h_%r

Host *.inner !skip.inner
    ProxyJump bob@bastion:2200,carol@[fd00::1]:22
    User inner

Host bastion
    HostName 10.0.0.254
    IdentityFile /keys/bastion

Host 10.*
    User=ten
    IdentityFile "/keys/ten"

Match host 10.9.9.9 user alice
    HostKeyAlias matched-alias

Host pc
    ProxyCommand nc %h %p
    ProxyJump ignored-because-second

Host cased
    HOSTNAME Cased.Example.ORG

    # inside `Host cased`: the included blocks apply only where `cased` does
    Include {include}

Host *
    IdentityFile /keys/all
    UserKnownHostsFile ~/.ssh/kh_%h /dev/null
    Port 22
"""
ALIASES = ["alias1", "a.inner", "skip.inner", "pc", "10.1.1.1", "cased", "included",
           "bastion", "plain.example", "topinc"]


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    """The config above, including one file by name and others by a glob."""
    inc = tmp_path / "conf.d"
    inc.mkdir()
    (inc / "10-included.conf").write_text("Host included\n    HostName 192.0.2.7\n    Port 2200\n")
    path = tmp_path / "config"
    (tmp_path / "top.conf").write_text("Host topinc\n    HostName 192.0.2.8\n    User top\n")
    path.write_text(CONFIG.format(include=inc / "*.conf", top=tmp_path / "top.conf"))
    return path


def _ssh_g(config: Path, alias: str) -> dict[str, list[str]]:
    out = subprocess.run(["ssh", "-G", "-F", str(config), alias], capture_output=True,
                         text=True, check=True, stdin=subprocess.DEVNULL).stdout
    result: dict[str, list[str]] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        result.setdefault(key, []).append(value)
    return result


def _resolver(config: Path, **kw: object) -> Resolver:
    home = Path(pwd.getpwuid(os.getuid()).pw_dir)  # where ssh expands ~
    return Resolver(config=SshConfig.load([config], include_base=config.parent), home=home,
                    local_user=getpass.getuser(), **kw)  # type: ignore[arg-type]


def _chain(target: Target) -> list[str]:
    hops = []
    via = target.via
    while via is not None:
        hops.append(f"{via.user}@{via.hostname}:{via.port}")
        via = via.via
    return hops[::-1]


def test_lookup_agrees_with_openssh(config_file: Path) -> None:
    """HostName, User, Port, IdentityFile order, HostKeyAlias, UserKnownHostsFile, ProxyJump."""
    require(shutil.which("ssh") is not None, "OpenSSH client (ssh -G)")
    resolver = _resolver(config_file)
    for alias in ALIASES:
        ssh = _ssh_g(config_file, alias)
        ours = resolver.resolve(alias)
        assert ours.hostname == ssh["hostname"][0], alias
        assert ours.user == ssh["user"][0], alias
        assert ours.port == int(ssh["port"][0]), alias
        assert ours.host_key_alias == ssh.get("hostkeyalias", [None])[0], alias
        expected_ids = [p.replace("~", str(resolver.home), 1).replace("%h", ours.hostname)
                        .replace("%r", ours.user) for p in ssh["identityfile"]]
        assert list(ours.identity_files) == expected_ids, alias
        user_files = ssh["userknownhostsfile"][0].split()
        assert list(ours.known_hosts_files[:len(user_files) - 1]) == \
            [f for f in user_files if f != "/dev/null"], alias
        if "proxyjump" in ssh:
            hops = []
            for hop in ssh["proxyjump"][0].split(","):
                user, host, port = parse_jump(hop)
                hop_target = resolver.resolve(host)
                hops.append(f"{user or hop_target.user}@{hop_target.hostname}:"
                            f"{port or hop_target.port}")
            assert _chain(ours) == hops, alias
        else:
            assert ours.via is None, alias
        assert (ours.proxy_command is not None) == ("proxycommand" in ssh), alias


def test_relative_include_is_under_the_include_base(tmp_path: Path) -> None:
    """A relative Include names a file in ~/.ssh (user config) or /etc/ssh (system config)."""
    base = tmp_path / "dot-ssh"
    base.mkdir()
    (base / "extra.conf").write_text("Host x\n    Port 2345\n")
    path = tmp_path / "config"
    path.write_text("Include extra.conf\n")
    config = SshConfig.load([path], include_base=base)
    assert config.lookup("x")["port"] == "2345"


def test_inventory_values_win_over_the_config(config_file: Path) -> None:
    """ansible_port/user/key and ssh args act like ssh's command line: they come first."""
    resolver = _resolver(config_file)
    t = resolver.resolve("alias1", port=2022, user="deploy", key_file="/keys/inv",
                         ssh_args=["-o", "HostKeyAlias=from-args"])
    assert (t.hostname, t.port, t.user, t.host_key_alias) == \
        ("10.9.9.9", 2022, "deploy", "from-args")
    assert t.identity_files[0] == "/keys/inv"
    assert t.known_hosts_name == "[from-args]:2022"


def test_defaults_without_a_config(tmp_path: Path) -> None:
    """No config: the address, port 22, the local user, OpenSSH's default key files."""
    resolver = Resolver(config=SshConfig(), home=tmp_path, local_user="me",
                        known_hosts=("/kh/one",), agent="/agent.sock")
    t = resolver.resolve("web.example")
    assert (t.hostname, t.port, t.user) == ("web.example", 22, "me")
    assert t.identity_files == tuple(str(tmp_path / ".ssh" / n) for n in
                                     ("id_rsa", "id_ecdsa", "id_ecdsa_sk", "id_ed25519",
                                      "id_ed25519_sk"))
    assert t.known_hosts_files[0] == "/kh/one" and t.user_known_hosts == "/kh/one"
    assert t.agent == "/agent.sock"


def test_proxycommand_tokens_as_ssh_expands_them(config_file: Path) -> None:
    """%h and friends are substituted as ssh substitutes them (the values were checked)."""
    t = _resolver(config_file).resolve("pc", ssh_args=["-o", "HostName=fd00::9%eth0"],
                                       user="dom\\op")
    assert t.proxy_command == "nc fd00::9%eth0 22"
    with pytest.raises(HostFailure) as exc:
        _resolver(config_file).resolve("pc", ssh_args=["-o", "HostName=a b;c"])
    assert exc.value.kind is ErrorKind.INVENTORY
    assert "HostName 'a b;c' holds ' ' ';'" in exc.value.message


def test_ssh_args_parsing() -> None:
    """The options of ansible_ssh_common_args that matter, in ssh's spellings."""
    args = ["-o", "ProxyCommand=ssh -W %h:%p -o X=Y bastion", "-J", "a,b", "-i", "k1", "-ik2",
            "-p", "2222", "-q", "-C", "-o", "StrictHostKeyChecking no", "-oUser=bob"]
    assert parse_ssh_args(args) == {
        "proxycommand": "ssh -W %h:%p -o X=Y bastion", "proxyjump": "a,b",
        "identityfile": ["k1", "k2"], "port": "2222", "stricthostkeychecking": "no",
        "user": "bob"}


@pytest.mark.parametrize(("hop", "parsed"), [
    ("bastion", (None, "bastion", None)),
    ("ops@bastion:2200", ("ops", "bastion", 2200)),
    ("ops@[fd00::1]:22", ("ops", "fd00::1", 22)),
    ("ssh://ops@bastion:2201/", ("ops", "bastion", 2201)),
    ("fd00::2", (None, "fd00::2", None)),
])
def test_parse_jump(hop: str, parsed: tuple[str | None, str, int | None]) -> None:
    """ProxyJump hops: [user@]host[:port], bracketed IPv6, ssh:// URIs."""
    assert parse_jump(hop) == parsed


@pytest.mark.parametrize(("text", "line", "words"), [
    ("Host a\n  HostName\n", 2, "hostname: missing argument"),
    ("Host a\n  ProxyCommand 'unbalanced\n", 2, "unbalanced quotes"),
    ("Host a\n  HostName \"x y\" z\n", 2, "hostname: expects one argument"),
    ("Match nosuchthing x\n", 1, "unknown criterion"),
    ("Host a\nIdentityFile \"x\n", 2, "unbalanced quotes"),
])
def test_bad_config_is_input_error(tmp_path: Path, text: str, line: int,
                                   words: str | None) -> None:
    """Syntax errors name file:line."""
    path = tmp_path / "config"
    path.write_text(text)
    try:
        config = SshConfig.load([path], include_base=tmp_path)
        Resolver(config=config, home=tmp_path, local_user="me").resolve("a")
    except InputError as exc:
        assert exc.path == str(path) and exc.line == line
        assert words is None or words in exc.message
    else:
        pytest.fail("no InputError")


def test_match_exec_is_refused_per_host(tmp_path: Path) -> None:
    """Match exec cannot be honoured: the hosts it concerns fail, saying where and why."""
    path = tmp_path / "config"
    path.write_text("Match host special exec \"test -e /x\"\n  User other\n")
    resolver = Resolver(config=SshConfig.load([path], include_base=tmp_path), home=tmp_path,
                        local_user="me")
    assert resolver.resolve("ordinary").user == "me"  # `host` fails first: exec never asked
    with pytest.raises(HostFailure) as exc:
        resolver.resolve("special")
    assert exc.value.kind is ErrorKind.UNSUPPORTED and f"{path}:1" in exc.value.message
