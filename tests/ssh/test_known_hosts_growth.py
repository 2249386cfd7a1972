"""Naming the other holders of an unknown host's key costs the same whatever known_hosts holds.

Found: each host whose key was unknown walked every known_hosts entry to say which names
hold that key ("the same key is known for ..."): a fleet of new hosts checked against a
large file was quadratic (16,000 of each: 19 s of CPU). Keys here are ed25519 public keys
in OpenSSH's wire format, their 32 key bytes numbered.
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Callable
from pathlib import Path

from fleetcheck.transport.ssh.known_hosts import KnownHosts, Verdict
from tests.growth import FACTOR, LIMIT, growth


def _blob(i: int) -> bytes:
    return b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + i.to_bytes(32, "big")


def _key(i: int) -> str:
    return "ssh-ed25519 " + base64.b64encode(_blob(i)).decode()


def _hashed(name: str, salt: bytes) -> str:
    digest = hmac.digest(salt, name.encode(), "sha1")
    return f"|1|{base64.b64encode(salt).decode()}|{base64.b64encode(digest).decode()}"


def test_holders_are_every_plain_entry_of_the_key_in_file_order(tmp_path: Path) -> None:
    """Named entries first (both names of a line), then hashed ones, then patterns; never a
    revoked key or a CA; and a key accepted later is among them at once."""
    path = tmp_path / "known_hosts"
    path.write_text("\n".join([
        f"old-web4,10.0.0.4 {_key(1)}",
        f"{_hashed('old-web5', b's' * 20)} {_key(1)}",
        f"db1 {_key(2)}",
        f"*.lab {_key(1)}",
        f"@revoked bad1 {_key(1)}",
        f"@cert-authority *.example.net {_key(1)}",
        f"[old-web6]:2222 {_key(1)}",
    ]) + "\n")
    index = KnownHosts.load([path])
    assert index.holders(_blob(1)) == [
        ("old-web4", f"{path}:1"), ("10.0.0.4", f"{path}:1"), ("[old-web6]:2222", f"{path}:7"),
        ("a hashed name", f"{path}:2"), ("a host pattern", f"{path}:4")]
    assert index.holders(_blob(3)) == []
    added = index.accept("new-web7", "ssh-ed25519", _blob(3), tmp_path / "mine")
    assert added.verdict is Verdict.KNOWN and added.added
    assert index.holders(_blob(3)) == [("new-web7", f"{tmp_path / 'mine'}:(added)")]
    assert index.holders(_blob(2)) == [("db1", f"{path}:3")]


def _new_fleet(tmp_path: Path, n: int) -> Callable[[], None]:
    """n known hosts; then n hosts whose keys are unknown, checked as a scan checks them."""
    path = tmp_path / f"known_hosts{n}"
    path.write_text("".join(f"10.{i >> 16}.{i >> 8 & 255}.{i & 255} {_key(i)}\n"
                            for i in range(n)))

    def check() -> None:
        index = KnownHosts.load([path])
        for j in range(n):
            blob = _blob(10**9 + j)
            assert index.check(f"new{j}", "ssh-ed25519", blob).verdict is Verdict.UNKNOWN
            assert not index.holders(blob)
    return check


def test_unknown_hosts_against_a_large_file_cost_linear_time(tmp_path: Path) -> None:
    assert growth(_new_fleet(tmp_path, 300), _new_fleet(tmp_path, 300 * FACTOR)) < LIMIT

