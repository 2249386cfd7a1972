"""Generated known_hosts files (seeded): fleetcheck's host key verdicts against real `ssh`.

A few real sshd hosts serve several host key types each (one only ed25519, one no
ed25519, two on ports other than 22). Each seed writes a random known_hosts file, at
times split over two user files and a global file: plain names, IPv4 and IPv6
addresses, `[addr]:port` and bare names on both kinds of port, `*`/`?` patterns,
negations, comma lists, hashed names (own `|1|salt|hash`, some with a bad salt, or
`ssh-keygen -H`), `@revoked` and `@cert-authority` lines for the right key and others,
keys of every type (right and wrong, ECDSA of other curves), comments, blank lines and
broken lines (bad markers, a key type that does not match the key, damaged base64, a
key with bytes after it, separators other than space and tab, NUL, CR, other line
breaks), and a `HostKeyAlias` for some destinations. For each destination the oracle
is OpenSSH itself (`ssh -o StrictHostKeyChecking=yes ... true` from the lab's
controller), and one `fleetcheck scan` of every destination must decide alike:
accepted, or refused as unknown, changed or revoked as ssh's message says.

FLEETCHECK_RANDOM_SEED=N replays one seed; FLEETCHECK_KNOWN_HOSTS_SEEDS=N runs N of them.
"""

from __future__ import annotations

import base64
import hmac
import os
import random
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.lab.prereq import require_sshd_lab
from tests.lab.sshd import keygen
from tests.lab.sshlab import HostSpec, LabHost, SshLab, running_lab
from tests.ssh.conftest import Fleet

pytestmark = pytest.mark.lab

_ONE = os.environ.get("FLEETCHECK_RANDOM_SEED")
SEEDS = [int(_ONE)] if _ONE else list(range(int(os.environ.get("FLEETCHECK_KNOWN_HOSTS_SEEDS",
                                                                  "24"))))
_ALL = ("ed25519", "ecdsa", "rsa")
SPECS = [HostSpec("kh22", key_types=_ALL), HostSpec("kh2222", port=2222, key_types=_ALL),
         # Only ed25519: a remembered ECDSA or RSA key is of another type than the one served.
         HostSpec("khed"),
         # No ed25519: ssh's first choice is not on offer, the remembered types decide.
         HostSpec("khnoed", port=2200, key_types=("ecdsa", "rsa"))]
ALIASES = ["web.example", "Db1.Example", "h-alias"]
OTHER_NAMES = ["web1.example", "*.example", "db?.example", "10.0.0.1", "fd00::1"]
# Separators sshd's known_hosts reader does not take for one (only space and tab are).
ODD_SPACES = ["\xa0", "\x0b", "\x0c", "\x1c", "\x85", "\u2028", "\u3000"]
ODD_BREAKS = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@dataclass(frozen=True)
class World:
    """The running hosts and public keys no host serves (the wrong keys)."""

    lab: SshLab
    strangers: tuple[str, ...]  # "type base64"


@dataclass(frozen=True)
class Dest:
    """One destination of a seed: a lab host by an address, on its port, maybe an alias."""

    name: str  # inventory name
    host: LabHost
    address: str
    alias: str | None

    @property
    def port(self) -> int:
        """The port its sshd listens on."""
        return self.host.spec.port


@dataclass(frozen=True)
class Case:
    """One seed's files and destinations."""

    user_files: tuple[Path, ...]
    global_file: Path | None
    dests: tuple[Dest, ...]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Four sshd hosts for this module, and keys of every type and curve that none serves."""
    require_sshd_lab()
    tmp = tmp_path_factory.mktemp("khkeys")
    strangers = [keygen(tmp / f"k{i}", t) for i, t in enumerate(("ed25519", "ed25519",
                                                                 "ecdsa", "rsa"))]
    for bits in ("384", "521"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-b", bits, "-N", "", "-C", "",
                        "-f", str(tmp / f"p{bits}")], check=True)
        strangers.append(" ".join((tmp / f"p{bits}.pub").read_text().split()[:2]))
    with running_lab(SPECS) as lab:
        yield World(lab, tuple(strangers))


def _bracket(host: str, port: object) -> str:
    return f"[{host}]:{port}"


def _literal(rng: random.Random, d: Dest) -> str:
    a = d.address
    names = [a, a, _bracket(a, d.port), _bracket(a, d.port), _bracket(a, 22), a.upper()]
    if d.alias:
        names += [d.alias, d.alias.lower(), d.alias.upper(), _bracket(d.alias, d.port)]
    return rng.choice(names)


def _pattern(rng: random.Random, d: Dest) -> str:
    a = d.address
    sep = ":" if ":" in a else "."
    names = ["*", a[:-1] + "?", a[:-1] + "*", a.rsplit(sep, 1)[0] + sep + "*",
             _bracket(a, "*"), _bracket(a[:-1] + "?", d.port), _bracket("*", d.port),
             "*:22*", a + "?", "?" + a[1:]]
    if d.alias:
        names += [d.alias[:3] + "*", "*" + d.alias[-3:].upper(), d.alias.lower()[:-1] + "?"]
    return rng.choice(names)


def _hosts(rng: random.Random, d: Dest, dests: tuple[Dest, ...]) -> str:
    """A host field naming `d` (mostly), maybe with other destinations or names beside it."""
    items = []
    for i in range(rng.choice([1, 1, 1, 2, 2, 3])):
        about = d if i == 0 or rng.random() < 0.5 else rng.choice(dests)
        roll = rng.random()
        item = (_literal(rng, about) if roll < 0.6 else _pattern(rng, about) if roll < 0.9
                else rng.choice(OTHER_NAMES))
        if rng.random() < 0.15:
            item = "!" + item
        items.append(item)
    field = ",".join(items)
    if len(items) == 1 and not any(c in field for c in "*?!") and rng.random() < 0.3:
        salt = rng.randbytes(20 if rng.random() < 0.85 else rng.choice([16, 19, 21]))
        digest = hmac.digest(salt, field.encode(), "sha1")
        field = f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"
    return field


def _key(rng: random.Random, d: Dest, world: World) -> str:
    """'type base64' of the host's own key or another, now and then damaged or mislabelled."""
    if rng.random() < 0.55:
        key = rng.choice(d.host.host_keys)
    else:
        served = [k for h in world.lab.hosts.values() for k in h.host_keys]
        key = rng.choice([*world.strangers, *served])
    key_type, b64 = key.split()
    roll = rng.random()
    if roll < 0.05:  # a type name that is not the key's
        key_type = rng.choice(["ssh-rsa", "ssh-ed25519", "ecdsa-sha2-nistp384", "ED25519",
                               "ed25519", "ssh-dss"])
    elif roll < 0.10 and key_type == "ssh-rsa":  # signature names ssh also reads
        key_type = rng.choice(["rsa-sha2-256", "rsa-sha2-512"])
    elif roll < 0.12:  # bytes after the key
        b64 = base64.b64encode(base64.b64decode(b64) + b"\0").decode()
    elif roll < 0.14:
        b64 = b64[:-rng.randint(1, 6)]
    elif roll < 0.15:
        b64 = rng.choice(["AAAA", "not-base64!", ""])
    elif roll < 0.17:  # whitespace inside the base64 (C's isspace, not space or tab)
        cut = rng.randint(1, len(b64) - 1)
        b64 = b64[:cut] + rng.choice(["\r", "\x0b", "\x0c"]) + b64[cut:]
    return f"{key_type} {b64}"


def _line(rng: random.Random, d: Dest, case_dests: tuple[Dest, ...], world: World) -> str:
    sep = rng.choice([" "] * 8 + ["\t", "  ", " \t"])
    marker = ""
    roll = rng.random()
    if roll < 0.14:
        marker = "@revoked" + sep
    elif roll < 0.20:
        marker = "@cert-authority" + sep
    elif roll < 0.22:
        marker = rng.choice(["@revoked\t", "@bogus ", "@revoked @revoked ", "@Revoked "])
    hosts = _hosts(rng, d, case_dests)
    if rng.random() < 0.04:
        sep = rng.choice(ODD_SPACES)
    key_type, _, b64 = _key(rng, d, world).partition(" ")
    tail = rng.choice([""] * 6 + [" a comment", "\tx@y", "\r"])
    lead = rng.choice([""] * 8 + ["  ", "\t"])
    return f"{lead}{marker}{hosts}{sep}{key_type}{rng.choice([' ', chr(9)])}{b64}{tail}"


def _noise(rng: random.Random, real: str) -> str:
    return rng.choice(["# a comment", "", "   ", "garbage", "only-a-host", "h ssh-ed25519",
                       f"# hidden{rng.choice(ODD_BREAKS)}{real}", f"{real}\0junk",
                       f"#x\0{real}"])


def _case(rng: random.Random, world: World, tmp: Path) -> Case:
    dests = []
    for i, host in enumerate(world.lab.hosts.values()):
        address = host.address6 if host.address6 and rng.random() < 0.3 else host.address
        alias = rng.choice(ALIASES) if rng.random() < 0.25 else None
        dests.append(Dest(f"d{i}", host, address, alias))
    if rng.random() < 0.5:  # the same host twice: by the other address family, or an alias
        host = rng.choice(list(world.lab.hosts.values()))
        dests.append(Dest(f"d{len(dests)}", host, host.address6 or host.address,
                          rng.choice([None, *ALIASES])))
    case_dests = tuple(dests)
    lines = []
    for _ in range(rng.randint(2, 12)):
        real = _line(rng, rng.choice(case_dests), case_dests, world)
        lines.append(_noise(rng, real) if rng.random() < 0.15 else real)
    files = [tmp / "known_hosts"]
    if rng.random() < 0.3:
        files.append(tmp / "known_hosts2")
    global_file = tmp / "global" if rng.random() < 0.3 else None
    parts: dict[Path, list[str]] = {p: [] for p in [*files, *([global_file] if global_file
                                                                else [])]}
    for line in lines:
        parts[rng.choice(list(parts))].append(line)
    for path, text in parts.items():
        path.write_bytes("".join(f"{line}\n" for line in text).encode())
    if rng.random() < 0.15:  # OpenSSH's own hashing (it refuses some broken files: kept)
        subprocess.run(["ssh-keygen", "-H", "-f", str(files[0])], capture_output=True,
                       check=False)
    return Case(tuple(files), global_file, case_dests)


def _openssh(world: World, case: Case, d: Dest) -> str:
    """What real ssh decides: accepted, unknown, changed or revoked (else its error)."""
    lab = world.lab
    alias = ["-o", f"HostKeyAlias={d.alias}"] if d.alias else []
    proc = subprocess.run(lab.controller.exec_argv([
        "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", "UserKnownHostsFile=" + " ".join(map(str, case.user_files)),
        "-o", f"GlobalKnownHostsFile={case.global_file or '/dev/null'}", *alias,
        "-o", "ConnectTimeout=10", "-i", str(lab.key), "-p", str(d.port),
        f"fcops@{d.address}", "true"]), capture_output=True, text=True, timeout=30,
        check=False)
    err = proc.stderr
    if "REVOKED HOST KEY" in err:
        return "revoked"
    if "REMOTE HOST IDENTIFICATION HAS CHANGED" in err:
        return "changed"
    if "host key is known for" in err or "Host key verification failed" in err:
        return "unknown"
    if proc.returncode == 0 or "Permission denied" in err:
        return "accepted"
    return f"ssh failed: {err.strip()}"


_KINDS = {"host_key_unknown": "unknown", "host_key_changed": "changed",
          "host_key_revoked": "revoked", None: "accepted", "auth_failed": "accepted"}


def _fleetcheck(world: World, case: Case, tmp: Path) -> dict[str, tuple[str, str]]:
    """One scan of every destination: name -> (outcome as `_openssh` words it, message)."""
    fleet = Fleet(world.lab, tmp)
    hosts: dict[str, dict[str, Any]] = {}
    for d in case.dests:
        v: dict[str, Any] = {"ansible_host": d.address, "ansible_user": "fcops",
                             "ansible_ssh_private_key_file": str(world.lab.key),
                             "ansible_port": d.port}
        if d.alias:
            v["ansible_ssh_common_args"] = f"-o HostKeyAlias={d.alias}"
        hosts[d.name] = v
    config = tmp / "ssh_config"
    config.write_text(f"GlobalKnownHostsFile {case.global_file or '/dev/null'}\n")
    more = [a for p in case.user_files[1:] for a in ("--known-hosts", str(p))]
    scan = fleet.scan(fleet.inventory(hosts), "-F", str(config), *more, "--workers", "1",
                      known_hosts=case.user_files[0])
    out = {}
    for d in case.dests:
        error = scan.host(d.name)["error"]
        kind = error["kind"] if error else None
        out[d.name] = (_KINDS.get(kind, f"error {kind}"), error["message"] if error else "")
    return out


def _show(case: Case) -> str:
    files = [*case.user_files, *([case.global_file] if case.global_file else [])]
    return "\n".join(f"--- {p.name}\n{p.read_bytes().decode(errors='replace')!r}" for p in files)


@pytest.mark.parametrize("seed", SEEDS)
def test_host_key_verdicts_agree_with_openssh(seed: int, world: World, tmp_path: Path) -> None:
    """Every destination of a generated known_hosts is accepted or refused as ssh decides."""
    assert shutil.which("ssh")
    where = f"seed {seed} (FLEETCHECK_RANDOM_SEED={seed} replays it)"
    rng = random.Random(seed)  # noqa: S311 - reproducible fixtures, not secrets
    case = _case(rng, world, tmp_path)
    with ThreadPoolExecutor(len(case.dests)) as pool:
        theirs = dict(zip([d.name for d in case.dests],
                          pool.map(lambda d: _openssh(world, case, d), case.dests),
                          strict=True))
    ours = _fleetcheck(world, case, tmp_path)
    wrong = [f"{d.name} ({d.host.name} at {d.address} port {d.port}, alias {d.alias}): "
             f"ssh {theirs[d.name]}, fleetcheck {ours[d.name][0]} {ours[d.name][1]}"
             for d in case.dests if ours[d.name][0] != theirs[d.name]]
    assert not wrong, f"{where}:\n" + "\n".join(wrong) + "\n" + _show(case)
