"""Generated ssh_config files (seeded, so reproducible): fleetcheck resolves what `ssh -G` does.

Each seed writes a random but valid config — Host lines with several patterns,
wildcards, negations, case differences, `Keyword=value` spellings, quotes, comments,
Match lines, Includes (relative, absolute, globs, nested, inside blocks) — and
sometimes one invalid line. For every alias, every value a Target carries must be
what `ssh -G -F FILE alias` prints (jump hosts followed hop by hop as ssh would run
them); where ssh refuses the file fleetcheck raises an InputError naming the same
file and line, and where ssh refuses one host fleetcheck fails that host.

Left out on purpose (fleetcheck's documented choices, not disagreements):
`Match exec/localnetwork/tagged` (refused per host; 9.2 does not know the last two),
keywords fleetcheck does not use and does not know (ignored, so that a newer ssh's
keyword never makes fleetcheck refuse a file), `CanonicalizeHostname` (off),
`ConnectTimeout 0` (ssh waits forever; fleetcheck keeps its default), `ConnectionAttempts
0` (ssh refuses the host; fleetcheck does not use the option, it has --retries), OpenSSH's
`id_xmss`/`id_dsa` default keys (paramiko does not use them), bare IPv6 ProxyJump hops.

FLEETCHECK_RANDOM_SEED=N replays one seed; FLEETCHECK_SSH_CONFIG_SEEDS=N runs N of them.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import random
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleetcheck.errors import HostFailure, InputError
from fleetcheck.transport.ssh.config import SshConfig
from fleetcheck.transport.ssh.target import Resolver, Target
from tests.lab.prereq import require

_ONE = os.environ.get("FLEETCHECK_RANDOM_SEED")
SEEDS = [int(_ONE)] if _ONE else list(range(int(os.environ.get("FLEETCHECK_SSH_CONFIG_SEEDS",
                                                                  "40"))))
ENV_DIR = "fcdir"  # ${FCTEST_DIR} in generated paths
ALIASES = ["web1", "Web2", "db.example", "db2.example", "10.0.0.5", "bastion", "jump2",
           "a.inner", "skip.inner", "Mixed.Case", "plain"]
PATTERNS = ["web*", "web?", "Web*", "*.example", "!db2.example", "db*", "*", "10.0.0.*",
            "Mixed.*", "mixed.case", "jump?", "*.inner", "!skip.inner", "nomatch", "bastion"]
VALUES: dict[str, list[str]] = {
    "HostName": ["%h.example", "10.1.2.3", "Real-%h", "h%%x", "%h", "bastion", "Srv.Example",
                 "%h-%p"],
    "Port": ["2222", "22", "ssh", "2200"],
    "User": ["alice", "Bob", "deploy", "root"],
    "IdentityFile": ["~/.ssh/id_%h", "/keys/%r@%h:%p", "%d/k_%n", "/keys/k_%C", "/keys/%k",
                     '"/keys/with space"', "/keys/%l-%L-%i-%u", "/keys/${FCTEST_DIR}/k",
                     "~/.ssh/id_%h"],
    "ProxyJump": ["bastion", "alice@jump2:2200", "jump2,bastion", "none", "ssh://bob@jump2:2022",
                  "[10.0.0.9]:2201", "carol@bastion"],
    "ProxyCommand": ["nc %h %p", "ssh -W %h:%p bastion", "none", "connect %r@%n %%",
                     "sh -c 'nc %h %p'", "proxy %k"],
    "HostKeyAlias": ["Alias-One", "kalias"],
    "UserKnownHostsFile": ["~/.ssh/kh_%h /dev/null", "none", "%d/kh1 %d/kh2",
                           "/kh/${FCTEST_DIR}/%C", "/dev/null"],
    "GlobalKnownHostsFile": ["/etc/kh/global", "none", "/g1 /g2"],
    "IdentitiesOnly": ["yes", "no", "YES", "true", "False"],
    "IdentityAgent": ["none", "SSH_AUTH_SOCK", "~/agent_%h.sock", "/run/agent_%r",
                      "$FCTEST_SOCK"],
    "ConnectTimeout": ["5", "1m", "none", "2m30s"],
    "StrictHostKeyChecking": ["yes", "no", "ask", "accept-new", "off"],
    "ConnectionAttempts": ["1", "3"],
    "BatchMode": ["yes", "no"],
    "HashKnownHosts": ["yes", "no"],
    "PubkeyAuthentication": ["yes", "no", "false", "unbound"],
    "PasswordAuthentication": ["yes", "no", "True"],
}
# One of these, sometimes: a line ssh refuses wherever it is.
INVALID = ["Port 0", "Port abc", "ConnectTimeout 5x", "IdentitiesOnly maybe",
           "BatchMode perhaps", "StrictHostKeyChecking sometimes", "ConnectionAttempts x",
           "HostName a b", "User", 'IdentityFile "unclosed', "UserKnownHostsFile none /x",
           "ProxyJump host:0", "ProxyJump @host", "Match nosuch x", "Match host",
           "Match all host x", 'Host ""', 'HostName ""', "Port 70000", "Match user a b"]
CRITERIA = ["host", "originalhost", "user", "localuser", "all", "final", "canonical"]


@dataclass(frozen=True)
class Case:
    """One generated config: its main file, the home ssh reads Includes under, aliases."""

    config: Path
    home: Path
    aliases: list[str]


def _spell(rng: random.Random, keyword: str, value: str) -> str:
    key = rng.choice([keyword, keyword.lower(), keyword.upper()])
    sep = rng.choice([" ", "=", " = ", "\t", "  "])
    if rng.random() < 0.15 and " " not in value and keyword not in ("ProxyCommand",
                                                                      "ProxyJump"):
        value = f'"{value}"'
    tail = " # trailing comment" if rng.random() < 0.1 and keyword not in (
        "ProxyCommand", "ProxyJump") else ""
    return f"{rng.choice(['', '  ', chr(9)])}{key}{sep}{value}{tail}"


def _options(rng: random.Random, n: int) -> list[str]:
    return [_spell(rng, k, rng.choice(VALUES[k]))
            for k in rng.sample(sorted(VALUES), k=min(n, len(VALUES)))]


def _match(rng: random.Random) -> str:
    names = rng.sample(CRITERIA, k=rng.randint(1, 3))
    if "all" in names:  # ssh: `all` alone, or last after one other criterion
        names = rng.choice([["all"], [*[n for n in names if n != "all"][:1], "all"]])
    words = []
    for name in names:
        neg = "!" if rng.random() < 0.25 else ""
        spelled = rng.choice([name, name.upper()])
        if name in ("host", "originalhost"):
            arg = ",".join(rng.sample(PATTERNS, k=rng.randint(1, 3)))
        elif name in ("user", "localuser"):
            arg = ",".join(rng.sample(["alice", "Bob", "bob", "root", "!deploy", "r*"],
                                      k=rng.randint(1, 2)))
        else:
            arg = ""
        words.append(f"{neg}{spelled} {arg}".rstrip())
    return "Match " + " ".join(words)


def _block_header(rng: random.Random) -> str:
    if rng.random() < 0.3:
        return _match(rng)
    if rng.random() < 0.1:
        return "Host " + rng.choice(["!web1", "!skip.inner"])  # only a negation: never on
    return "Host " + " ".join(rng.sample(PATTERNS, k=rng.randint(1, 3)))


def _file(rng: random.Random, root: Path, includes: list[str], blocks: int) -> list[str]:
    lines = ["# generated", "", *_options(rng, rng.randint(0, 2))]
    for _ in range(blocks):
        lines.append(_block_header(rng))
        lines += _options(rng, rng.randint(1, 4))
        if includes and rng.random() < 0.3:
            lines.append(_spell(rng, "Include", includes.pop()))
        if rng.random() < 0.2:
            lines.append("")
    for inc in includes:
        lines.append(_spell(rng, "Include", inc))
    return lines


def _case(seed: int, root: Path) -> Case:
    rng = random.Random(seed)  # noqa: S311 - reproducible fixtures, not secrets
    home = root / "home"
    (home / ".ssh" / "conf.d").mkdir(parents=True)
    (root / "inc").mkdir()
    nested = _file(rng, root, [], rng.randint(0, 2))
    (root / "inc" / "nested.conf").write_text("\n".join(nested) + "\n")
    (root / "inc" / "a.conf").write_text(
        "\n".join(_file(rng, root, [str(root / "inc" / "nested.conf")], 1)) + "\n")
    (root / "inc" / "b.conf").write_text("\n".join(_file(rng, root, [], 2)) + "\n")
    (home / ".ssh" / "conf.d" / "x.conf").write_text("\n".join(_file(rng, root, [], 1)) + "\n")
    (home / ".ssh" / "other.conf").write_text("\n".join(_file(rng, root, [], 1)) + "\n")
    includes = rng.sample(["conf.d/*.conf", str(root / "inc" / "a.conf"),
                           str(root / "inc" / "*.conf"), "~/.ssh/other.conf", "missing.conf"],
                          k=rng.randint(0, 3))
    config = root / "config"
    config.write_text("\n".join(_file(rng, root, includes, rng.randint(2, 6))) + "\n")
    if rng.random() < 0.3:  # anywhere: in a block that is off, in an included file
        bad = rng.choice([config, config, root / "inc" / "a.conf", root / "inc" / "nested.conf",
                          home / ".ssh" / "conf.d" / "x.conf"])
        lines = bad.read_text().splitlines()
        lines.insert(rng.randint(0, len(lines)), rng.choice(INVALID))
        bad.write_text("\n".join(lines) + "\n")
    return Case(config, home, rng.sample(ALIASES, k=6))


def _ssh(case: Case, alias: str, user: str | None = None, port: int | None = None,
         jump: str | None = None) -> tuple[int, dict[str, str], str]:
    args = ["ssh", "-G", "-F", str(case.config)]
    args += ["-l", user] if user else []
    args += ["-p", str(port)] if port else []
    args += ["-J", jump] if jump else []
    env = {**os.environ, "HOME": str(case.home)}  # ssh's Include ~ and relative paths
    run = subprocess.run([*args, alias], capture_output=True, text=True, env=env,
                         stdin=subprocess.DEVNULL, check=False)
    values: dict[str, str] = {}
    for line in run.stdout.splitlines():
        key, _, value = line.partition(" ")
        values[key] = f"{values[key]}\n{value}" if key in values else value
    return run.returncode, values, run.stderr


def _hop(text: str) -> tuple[str | None, str, int | None]:
    text = text.removeprefix("ssh://").rstrip("/")
    user, _, rest = text.rpartition("@")
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port = tail[1:]
    else:
        host, _, port = rest.partition(":")
    return user or None, host, int(port) if port else None


def _expand(value: str, ssh: dict[str, str], alias: str) -> str:
    """ssh's expansion of a path it printed unexpanded: ~, %-tokens, ${VARIABLE}."""
    home = os.path.expanduser("~" + getpass.getuser())
    local = socket.gethostname()
    tokens = {"h": ssh["hostname"], "p": ssh["port"], "r": ssh["user"], "n": alias,
              "u": getpass.getuser(), "d": home, "l": local, "L": local.split(".")[0],
              "i": str(os.getuid()), "k": ssh.get("hostkeyalias", alias),
              "C": hashlib.sha1(f"{local}{ssh['hostname']}{ssh['port']}{ssh['user']}".encode(),
                                usedforsecurity=False).hexdigest(), "%": "%"}
    value = home + value[1:] if value.startswith("~/") else value
    value = re.sub(r"\$\{(\w+)\}", lambda m: os.environ[m.group(1)], value)
    return re.sub(r"%(.)", lambda m: tokens[m.group(1)], value)


def _compare(case: Case, ours: Target, alias: str, where: str, user: str | None = None,
             port: int | None = None, jump: str | None = None, depth: int = 0) -> None:
    rc, ssh, err = _ssh(case, alias, user, port, jump)
    assert rc == 0, (where, alias, err)
    assert (ours.hostname, ours.port, ours.user) == \
        (ssh["hostname"], int(ssh["port"]), ssh["user"]), (where, alias)
    assert ours.host_key_alias == ssh.get("hostkeyalias"), (where, alias)
    ids = ssh["identityfile"].split("\n")
    if all(i.startswith("~/.ssh/id_") for i in ids) and len(ids) == 7:
        assert ours.default_identities, (where, alias)
    else:
        assert list(ours.identity_files) == [_expand(i, ssh, alias) for i in ids], (where, alias)
    assert ours.identities_only == (ssh["identitiesonly"] == "yes"), (where, alias)
    user_files = [] if ssh["userknownhostsfile"] == "none" else \
        ssh["userknownhostsfile"].split()
    global_files = [] if ssh["globalknownhostsfile"] == "none" else \
        ssh["globalknownhostsfile"].split()
    assert list(ours.known_hosts_files) == \
        user_files + [g for g in global_files if g != "/dev/null"], (where, alias)
    assert ours.user_known_hosts == next((f for f in user_files if f != "/dev/null"), None)
    timeout = ssh["connecttimeout"]
    assert ours.connect_timeout == (None if timeout in ("none", "0") else float(timeout)), \
        (where, alias)
    agent = ssh.get("identityagent", "SSH_AUTH_SOCK")
    wanted_agent = {"SSH_AUTH_SOCK": "/agent.sock", "none": None}.get(
        agent, os.environ.get(agent[1:]) if agent.startswith("$") else agent)
    assert ours.agent == wanted_agent, (where, alias)
    assert ours.pubkey_auth == (ssh["pubkeyauthentication"] not in ("no", "false")), \
        (where, alias)
    assert ours.password_auth == (ssh["passwordauthentication"] != "no"), (where, alias)
    assert ours.hash_known_hosts == (ssh["hashknownhosts"] == "yes"), (where, alias)
    command = ssh.get("proxycommand")
    assert ours.proxy_command == (command and _expand(command, ssh, alias)), (where, alias)
    if "proxyjump" not in ssh:
        assert ours.via is None, (where, alias)
        return
    extra, _, last = ssh["proxyjump"].rpartition(",")
    hop_user, hop_host, hop_port = _hop(last)
    assert ours.via is not None and depth < 8, (where, alias, "jump chain")
    _compare(case, ours.via, hop_host, where, hop_user, hop_port, extra or None, depth + 1)


def _refused(case: Case, alias: str, user: str | None = None, port: int | None = None,
             jump: str | None = None, seen: frozenset[tuple[object, ...]] = frozenset()) -> bool:
    """ssh would refuse this host, or one of its jump hosts, or they go round in a loop."""
    key = (alias, user, port, jump)
    if key in seen:
        return True
    rc, ssh, _ = _ssh(case, alias, user, port, jump)
    if rc != 0:
        return True
    if "proxyjump" not in ssh:
        return False
    extra, _, last = ssh["proxyjump"].rpartition(",")
    hop_user, hop_host, hop_port = _hop(last)
    return _refused(case, hop_host, hop_user, hop_port, extra or None, seen | {key})


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_config_agrees_with_openssh(seed: int, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Every alias of a generated config resolves as `ssh -G` resolves it, or fails alike."""
    require(shutil.which("ssh") is not None, "OpenSSH client (ssh -G)")
    where = f"seed {seed} (FLEETCHECK_RANDOM_SEED={seed} replays it)"
    case = _case(seed, tmp_path)
    monkeypatch.setenv("HOME", str(case.home))  # fleetcheck's Include ~, as ssh's
    monkeypatch.setenv("FCTEST_DIR", ENV_DIR)
    monkeypatch.setenv("FCTEST_SOCK", "/run/fctest.sock")
    # A file ssh refuses names a line for every alias whose lookup gets that far (a host's
    # own failure, such as an unknown %-token in its HostName, can stop ssh before it).
    runs = [_ssh(case, alias) for alias in case.aliases]
    errors = [err for _, _, err in runs]
    lines = {m.groups() for m in (re.search(r"(/\S+?):? line (\d+)", e) for e in errors) if m}
    assert len(lines) <= 1, (where, lines)
    located = next(iter(lines), None)
    try:
        config = SshConfig.load([case.config], include_base=case.home / ".ssh")
        resolver = Resolver(config=config, home=Path(os.path.expanduser("~" + getpass.getuser())),
                            local_user=getpass.getuser(), agent="/agent.sock")
    except InputError as exc:
        if located is None:  # then every alias must have stopped ssh before the bad line
            assert all(rc for rc, _, _ in runs), (where, "fleetcheck refused a file ssh reads",
                                                  exc.message)
            return
        assert (exc.path, exc.line) == (located[0], int(located[1])), (where, str(exc), errors)
        return
    assert not located, (where, "ssh refused the file, fleetcheck read it", errors)
    for alias in case.aliases:
        try:
            ours = resolver.resolve(alias)
        except HostFailure as exc:
            assert _refused(case, alias), (where, alias, "fleetcheck failed it", exc.message)
            continue
        assert not _refused(case, alias), (where, alias, "ssh refuses it, fleetcheck does not")
        _compare(case, ours, alias, where)
