"""The cipher each connection negotiates, as the real sshd logged it: AES-GCM first, others kept."""

from __future__ import annotations

import re

import pytest

from tests.lab.sshlab import SshLab
from tests.ssh.conftest import Fleet

pytestmark = pytest.mark.lab

# sshd at DEBUG1: "kex: client->server cipher: aes128-gcm@openssh.com MAC: <implicit> ..."
_KEX = re.compile(r"kex: client->server cipher: (\S+) MAC: (\S+)")


def _negotiated(lab: SshLab, name: str) -> list[tuple[str, str]]:
    """(cipher, MAC) of every key exchange the host's sshd logged so far."""
    log = (lab.hosts[name].dir / "sshd.log").read_text()
    return [(m[1], m[2]) for m in _KEX.finditer(log)]


def test_aead_cipher_first_and_others_still_work(fleet: Fleet, lab: SshLab) -> None:
    """A server with AES-GCM gets it (no per-packet MAC); one without it still gets checked."""
    inv = fleet.inventory({"kexlog": fleet.vars("kexlog"), "nogcm": fleet.vars("nogcm")})
    scan = fleet.scan(inv)
    assert scan.code == 0, scan.err
    for name in ("kexlog", "nogcm"):
        host = scan.host(name)
        assert host["status"] == "compliant" and host["error"] is None, host
        assert any(row["port"] == 22 for row in host["listeners"]), host["listeners"]
    assert _negotiated(lab, "kexlog")[-1] == ("aes128-gcm@openssh.com", "<implicit>")
    cipher, mac = _negotiated(lab, "nogcm")[-1]
    assert cipher in ("aes128-ctr", "aes256-ctr") and mac.startswith("hmac-sha2-"), (cipher, mac)
