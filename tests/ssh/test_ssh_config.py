"""ssh_config lookup and target resolution, with OpenSSH's `ssh -G` as the oracle."""

from __future__ import annotations

import getpass
import hashlib
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from fleetcheck.errors import ErrorKind, HostFailure, InputError
from fleetcheck.transport.ssh.cmdline import parse_jump, parse_ssh_args
from fleetcheck.transport.ssh.config import SshConfig
from fleetcheck.transport.ssh.target import Resolver, Target
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
    assert t.known_hosts_name == "from-args"  # ssh adds no port to a HostKeyAlias


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
    t = _resolver(config_file).resolve("pc", ssh_args=["-o", "HostName=fd00::9%%eth0"],
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


def test_a_hosts_strict_host_key_checking_sets_its_mode_unless_the_run_forces_one(
        tmp_path: Path) -> None:
    """StrictHostKeyChecking from a host's ssh arguments (first) or ssh_config decides its host
    key mode, as ssh does under Ansible's host_key_checking=True; a run that is `off`, or
    whose mode was given on the command line, decides for every host. A value ssh refuses
    in `-o` is the host's inventory error."""
    config = tmp_path / "config"
    config.write_text("Host lax\n  StrictHostKeyChecking no\n"
                      "Host tofu\n  StrictHostKeyChecking accept-new\n"
                      "Host asks\n  StrictHostKeyChecking ask\n")
    resolver = _resolver(config)
    modes = {alias: resolver.resolve(alias).host_key_mode("strict", False)
             for alias in ("lax", "tofu", "asks", "plain")}
    assert modes == {"lax": "off", "tofu": "accept-new", "asks": "strict", "plain": "strict"}
    args = ["-o", "StrictHostKeyChecking=YES"]  # the command line's comes first, any case
    assert resolver.resolve("lax", ssh_args=args).host_key_mode("accept-new", False) == "strict"
    lax = resolver.resolve("lax")
    assert lax.host_key_mode("strict", True) == "strict"
    assert lax.host_key_mode("accept-new", True) == "accept-new"
    assert resolver.resolve("tofu").host_key_mode("off", False) == "off"
    with pytest.raises(HostFailure) as exc:
        resolver.resolve("plain", ssh_args=["-o", "StrictHostKeyChecking=maybe"])
    assert exc.value.kind is ErrorKind.INVENTORY
    assert "StrictHostKeyChecking 'maybe'" in exc.value.message


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


def _target(tmp_path: Path, text: str, alias: str) -> Target:
    path = tmp_path / "config"
    path.write_text(text)
    return Resolver(config=SshConfig.load([path], include_base=tmp_path), home=tmp_path,
                    local_user="me", agent="/agent.sock").resolve(alias)


# Each as `ssh -G` (OpenSSH 9.2) resolves it; found by tests/ssh/test_ssh_config_random.py.
@pytest.mark.parametrize(("text", "alias", "field", "expected"), [
    # Host patterns are case-sensitive against the name as given; Match host is not.
    ("Host WEB\n Port 2\nHost web\n Port 3\n", "web", "port", 3),
    ("Match host WEB\n Port 2\n", "web", "port", 2),
    # Match user: case-sensitive, and the local user when no User is set.
    ("Host x\n User Bob\nMatch user bob\n Port 2\nMatch user Bob\n Port 3\n", "x", "port", 3),
    ("Match user me\n Port 4\n", "x", "port", 4),
    # Match host sees HostName with %h expanded; %% is a literal %.
    ("Host x\n HostName %h.ex\nMatch host x.ex\n Port 5\n", "x", "port", 5),
    ("Host x\n HostName h%%h\n", "x", "hostname", "h%h"),
    # Match final: a second pass in which Host lines match the resolved HostName.
    ("Host x\n HostName Y\nHost y\n Port 6\nMatch final\n User fin\n", "x", "port", 6),
    ("Match canonical\n User c\nMatch final\n Port 7\n", "x", "user", "c"),
    # ssh's word splitting: a word starting with # ends the line; quotes join.
    ("Host x\n User bob # the admin\n HostName a\"b\"c\n", "x", "hostname", "abc"),
    # A port may be a service name.
    ("Host x\n Port ssh\n", "x", "port", 22),
    # A key file named twice is tried once.
    ("Host x\n IdentityFile /k1\n IdentityFile \"/k1\"\nHost *\n IdentityFile /k1\n",
     "x", "identity_files", ("/k1",)),
    # `ProxyJump none` lets a later ProxyCommand through; `ProxyCommand none` stops ProxyJump.
    ("Host x\n ProxyJump none\n ProxyCommand nc %h %p\n", "x", "proxy_command", "nc x 22"),
    ("Host x\n ProxyCommand none\n ProxyJump b\n", "x", "via", None),
    # `ConnectTimeout none` leaves the option unset; times take ssh's units.
    ("Host x\n ConnectTimeout none\nHost *\n ConnectTimeout 1m30s\n", "x", "connect_timeout",
     90.0),
    # HostKeyAlias is lower-cased; `UserKnownHostsFile none` names no file.
    ("Host x\n HostKeyAlias Alias-One\n", "x", "host_key_alias", "alias-one"),
    ("Host x\n UserKnownHostsFile none\n GlobalKnownHostsFile /g\n", "x",
     "known_hosts_files", ("/g",)),
    ("Host x\n UserKnownHostsFile \"/a b\" /c\n", "x", "user_known_hosts", "/a b"),
    ("Host x\n PubkeyAuthentication false\n", "x", "pubkey_auth", False),
    ("Host x\n IdentityAgent $FC_TEST_SOCK\n", "x", "agent", "/run/from-env.sock"),
    ("Host x\n IdentityFile /k/${FC_TEST_DIR}/%h\n", "x", "identity_files", ("/k/d/x",)),
])
def test_lookup_as_openssh_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str,
                                alias: str, field: str, expected: object) -> None:
    """The rules ssh follows that fleetcheck once did not (one case each)."""
    monkeypatch.setenv("FC_TEST_SOCK", "/run/from-env.sock")
    monkeypatch.setenv("FC_TEST_DIR", "d")
    assert getattr(_target(tmp_path, text, alias), field) == expected


@pytest.mark.parametrize("text", [
    "Host x\n HostName %h-%p\n",  # ssh expands only %h (and %%) in HostName
    "Host x\n ProxyJump x\n",  # the last hop is the destination itself
    "Host x\n IdentityFile /k/${FC_UNSET_VARIABLE}\n",
])
def test_hosts_ssh_refuses_fail(tmp_path: Path, text: str) -> None:
    """What ssh refuses for one host fails that host (the file itself is fine)."""
    with pytest.raises(HostFailure):
        _target(tmp_path, text, "x")
    assert _target(tmp_path, text, "other").hostname == "other"


@pytest.mark.parametrize(("text", "line"), [
    ("Host nomatch\n Port 0\n", 2),  # in a block that never applies: ssh refuses it anyway
    ("Host x\n ConnectTimeout 5x\n", 2),
    ("Host x\n IdentitiesOnly maybe\n", 2),
    ("Host x\n UserKnownHostsFile none /x\n", 2),
    ("Host x\n ProxyJump host:0\n", 2),
    ("Match all host x\n", 1),
    ('Host ""\n', 1),
    ("Host x\n ConnectionAttempts x\n", 2),
])
def test_values_ssh_refuses_are_input_errors(tmp_path: Path, text: str, line: int) -> None:
    """A value ssh refuses is bad input wherever it is, naming the file and line."""
    path = tmp_path / "config"
    path.write_text(text)
    with pytest.raises(InputError) as exc:
        SshConfig.load([path], include_base=tmp_path)
    assert (exc.value.path, exc.value.line) == (str(path), line)


def test_connection_hash_uses_the_full_local_name(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """%C is SHA-1 of %l%h%p%r, %l being the local host name with its domain."""
    monkeypatch.setattr(os, "uname", lambda: os.uname_result(
        ("Linux", "box.example.org", "6", "1", "x86_64")))
    t = _target(tmp_path, "Host x\n IdentityFile /k/%C\n", "x")
    digest = hashlib.sha1(b"box.example.orgx22me", usedforsecurity=False).hexdigest()
    assert t.identity_files == (f"/k/{digest}",)
