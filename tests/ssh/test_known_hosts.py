"""The known_hosts index against OpenSSH itself: `ssh-keygen -F` is the oracle for matching."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import threading
from pathlib import Path

import pytest

from fleetcheck.transport.ssh.known_hosts import KnownHosts, Verdict, append_line, host_port_name
from tests.lab.prereq import require


def _key(tmp: Path, name: str, key_type: str = "ed25519") -> tuple[str, bytes]:
    path = tmp / name
    size = ["-b", "1024"] if key_type == "rsa" else []  # small: only its type matters here
    subprocess.run(["ssh-keygen", "-q", "-t", key_type, *size, "-N", "", "-C", "", "-f",
                    str(path)], check=True)
    kt, b64 = path.with_suffix(".pub").read_text().split()[:2]
    return f"{kt} {b64}", base64.b64decode(b64)


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, bytes]]:
    """Three real ed25519 public keys and one RSA key."""
    require(shutil.which("ssh-keygen") is not None, "ssh-keygen (OpenSSH)")
    tmp = tmp_path_factory.mktemp("keys")
    return {n: _key(tmp, n) for n in ("a", "b", "c")} | {"r": _key(tmp, "r", "rsa")}


def _file(tmp: Path, keys: dict[str, tuple[str, bytes]]) -> Path:
    a, b, c, r = keys["a"][0], keys["b"][0], keys["c"][0], keys["r"][0]
    lines = [
        "# comment line",
        f"web1.example.org,10.0.0.1 {a}",
        f"[web2.example.org]:2222 {b}",
        f"10.1.0.*,!10.1.0.5 {c}",
        f"db?.example.org {a}",
        f"*.corp.example {b}",
        f"!*.dmz.corp.example,*.corp.example {c}",
        f"@revoked bad.example.org {a}",
        f"@cert-authority *.ca.example {b}",
        f"web1.example.org {r}",
        "this line is malformed",
        f"[10.2.0.7]:22 {a}",
        f"UPPER.Example.ORG {b}",
        "",
        f"web3.example.org {c} a trailing comment",
    ]
    path = tmp / "known_hosts"
    path.write_text("\n".join(lines) + "\n")
    return path


NAMES = ["web1.example.org", "10.0.0.1", "[web2.example.org]:2222", "web2.example.org",
         "10.1.0.4", "10.1.0.5", "db1.example.org", "db12.example.org", "x.corp.example",
         "a.dmz.corp.example", "bad.example.org", "h.ca.example", "[10.2.0.7]:22",
         "upper.example.org", "web3.example.org", "nowhere.example.org", "[10.1.0.4]:2200"]


def _oracle_lines(path: Path, name: str) -> set[int]:
    """The line numbers OpenSSH's own lookup (`ssh-keygen -F`) finds for `name`."""
    out = subprocess.run(["ssh-keygen", "-F", name, "-f", str(path)], capture_output=True,
                         text=True, check=False).stdout
    return {int(m) for m in re.findall(r"found: line (\d+)", out)}


def _our_lines(index: KnownHosts, name: str) -> set[int]:
    return {int(e.origin.rsplit(":", 1)[1]) for e in index.entries_for(name)}


def test_plain_file_matches_like_openssh(tmp_path: Path,
                                         keys: dict[str, tuple[str, bytes]]) -> None:
    """Plain names, [host]:port, wildcards, negation, markers: the same lines as ssh-keygen -F."""
    path = _file(tmp_path, keys)
    index = KnownHosts.load([path])
    for name in NAMES:
        assert _our_lines(index, name.lower()) == _oracle_lines(path, name), name
    assert len(index.skipped) == 1 and ":11:" in index.skipped[0] + ":"


def test_hashed_file_matches_like_openssh(tmp_path: Path,
                                          keys: dict[str, tuple[str, bytes]]) -> None:
    """After `ssh-keygen -H` hashed every literal name, lookups still find the same keys."""
    path = _file(tmp_path, keys)
    # ssh-keygen -H refuses a file with a malformed line; everything else it hashes.
    path.write_text(path.read_text().replace("this line is malformed\n", ""))
    plain = KnownHosts.load([path])
    subprocess.run(["ssh-keygen", "-H", "-f", str(path)], capture_output=True, check=True)
    assert "|1|" in path.read_text()
    hashed = KnownHosts.load([path])
    for name in NAMES:
        ours = sorted((e.marker or "", e.blob) for e in hashed.entries_for(name.lower()))
        before = sorted((e.marker or "", e.blob) for e in plain.entries_for(name.lower()))
        assert ours == before, name
        assert _our_lines(hashed, name.lower()) == _oracle_lines(path, name), name


def test_verdicts(tmp_path: Path, keys: dict[str, tuple[str, bytes]]) -> None:
    """Known, changed, other type only, revoked, unknown, and a CA that cannot be used."""
    index = KnownHosts.load([_file(tmp_path, keys)])
    a, b, c, r = (keys[k][1] for k in "abcr")
    assert index.check("web1.example.org", "ssh-ed25519", a).verdict is Verdict.KNOWN
    assert index.check("web1.example.org", "ssh-rsa", r).verdict is Verdict.KNOWN
    assert index.check("web1.example.org", "ssh-ed25519", b).verdict is Verdict.CHANGED
    assert index.check("10.0.0.1", "ssh-rsa", r).verdict is Verdict.OTHER_TYPE
    assert index.check("bad.example.org", "ssh-ed25519", a).verdict is Verdict.REVOKED
    assert index.check("nowhere.example.org", "ssh-ed25519", a).verdict is Verdict.UNKNOWN
    ca = index.check("h.ca.example", "ssh-ed25519", c)
    assert ca.verdict is Verdict.UNKNOWN and ca.cert_authorities
    assert "@cert-authority" in ca.explain("h.ca.example", "ssh-ed25519", "SHA256:x")
    # Negation beats a positive match of the same line; another line may still match.
    assert index.check("a.dmz.corp.example", "ssh-ed25519", b).verdict is Verdict.KNOWN
    assert index.check("a.dmz.corp.example", "ssh-ed25519", c).verdict is Verdict.CHANGED
    assert index.known_types("web1.example.org") == {"ssh-ed25519", "ssh-rsa"}


def test_host_port_name() -> None:
    """Port 22 is the bare name; any other port is [host]:port; names are lower-cased."""
    assert host_port_name("Web1.Example", 22) == "web1.example"
    assert host_port_name("10.0.0.1", 2222) == "[10.0.0.1]:2222"
    assert host_port_name("fd00::1", 2200) == "[fd00::1]:2200"


@pytest.mark.parametrize("hashed", [False, True])
def test_accept_appends_a_line_openssh_reads(tmp_path: Path, keys: dict[str, tuple[str, bytes]],
                                            hashed: bool) -> None:
    """accept-new's line (plain or hashed) is found by ssh-keygen -F; a torn last line is kept."""
    path = tmp_path / "kh"
    path.write_text(f"other.example {keys['a'][0]}")  # no newline at the end
    index = KnownHosts.load([path])
    check = index.accept("[new.example]:2222", "ssh-ed25519", keys["b"][1], path, hashed=hashed)
    assert check.verdict is Verdict.KNOWN
    assert _oracle_lines(path, "[new.example]:2222") == {2}
    assert _oracle_lines(path, "other.example") == {1}
    assert path.read_text().splitlines()[1].startswith("|1|" if hashed else "[new.example]")
    again = KnownHosts.load([path])
    assert again.check("[new.example]:2222", "ssh-ed25519", keys["b"][1]).verdict is Verdict.KNOWN


def test_concurrent_appends_never_interleave(tmp_path: Path) -> None:
    """Many threads appending at once: every line arrives whole."""
    path = tmp_path / "kh"
    lines = [f"host{i}.example ssh-ed25519 {'A' * 68}{i:04d}\n" for i in range(200)]
    threads = [threading.Thread(target=append_line, args=(path, line)) for line in lines]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(path.read_text().splitlines(keepends=True)) == sorted(lines)
    assert oct(path.stat().st_mode & 0o777) == oct(0o600)


def _parsed_lines(path: Path, name: str) -> set[int]:
    """The lines `ssh-keygen -l -F` finds for `name`: it reads the keys too, as ssh does."""
    out = subprocess.run(["ssh-keygen", "-l", "-F", name, "-f", str(path)],
                         capture_output=True, text=True, check=False).stdout
    return {int(m) for m in re.findall(r"found: line (\d+)", out)}


def test_lines_are_read_as_openssh_reads_them(tmp_path: Path,
                                              keys: dict[str, tuple[str, bytes]]) -> None:
    """Only newline ends a line, only space and tab separate fields, a marker needs a space
    after it, the key type must be the key's own, the key must decode whole (seeds 15, 44)."""
    a, r = keys["a"][0], keys["r"][0]
    a64, r64 = a.split()[1], r.split()[1]
    extra = base64.b64encode(keys["a"][1] + b"\0").decode()
    lines = [
        f"# note\u2028h1 {a}", f"# note\x0ch1 {a}", f"# note\rh1 {a}",  # one comment each
        f"h1\u3000{a}", f"h1\xa0ssh-ed25519 {a64}", f"h1 ssh-ed25519\x0b{a64}",
        f"#x\0h1 {a}", f"h1 {a}\0junk",  # a NUL ends the line
        f"@revoked\th1 {a}", f"@revoked @revoked h1 {a}", f"@Revoked h1 {a}",
        f"h1 ssh-rsa {a64}", f"h1 ED25519 {a64}", f"h1 rsa-sha2-256 {r64}",
        f"h1 ssh-ed25519 {extra}", f"h1 ssh-ed25519 {a64[:20]}\r{a64[20:]}", f"h1 {a}\r",
        f"|1|{base64.b64encode(b'x' * 16).decode()}|{base64.b64encode(b'y' * 20).decode()} {a}",
    ]
    path = tmp_path / "known_hosts"
    path.write_bytes("".join(f"{line}\n" for line in lines).encode())
    index = KnownHosts.load([path])
    assert _our_lines(index, "h1") == _parsed_lines(path, "h1") == {8, 14, 16, 17}
    (rsa,) = [e for e in index.entries_for("h1") if e.origin.endswith(":14")]
    assert rsa.key_type == "ssh-rsa"  # rsa-sha2-256 names an RSA key


def test_other_types_and_the_bare_name(tmp_path: Path, keys: dict[str, tuple[str, bytes]]) -> None:
    """Only another type known is ssh's 'changed'; a port other than 22 falls back to the
    bare name for the same key or its revocation only; a revoked first key is not asked for."""
    a, b, r = keys["a"], keys["b"], keys["r"]
    path = tmp_path / "known_hosts"
    path.write_text(f"h1 {r[0]}\nh2 {a[0]}\n@revoked h2 {b[0]}\nh3 {a[0]}\n@revoked h3 {a[0]}\n"
                    f"h3 {r[0]}\n")
    index = KnownHosts.load([path])
    assert index.check("h1", "ssh-ed25519", a[1]).verdict is Verdict.OTHER_TYPE
    assert index.check_host("[h2]:2222", "h2", "ssh-ed25519", a[1]).verdict is Verdict.KNOWN
    assert index.check_host("[h2]:2222", "h2", "ssh-ed25519", b[1]).verdict is Verdict.REVOKED
    assert index.check_host("[h1]:2222", "h1", "ssh-ed25519", a[1]).verdict is Verdict.UNKNOWN
    assert index.check_host("[h2]:2222", None, "ssh-ed25519", a[1]).verdict is Verdict.UNKNOWN
    assert index.known_types("h3") == {"ssh-rsa"}


def test_an_unreadable_file_is_absent_and_noted_as_in_ssh(
        tmp_path: Path, keys: dict[str, tuple[str, bytes]]) -> None:
    loop, good = tmp_path / "loop", tmp_path / "good"
    loop.symlink_to(loop)  # ELOOP: was an OSError out of every connection
    good.write_text(f"web1 {keys['a'][0]}\n")
    index = KnownHosts.load([loop, tmp_path / "missing", good])
    assert len(index) == 1
    assert index.skipped == [f"{loop}: cannot read (Too many levels of symbolic links)"]
