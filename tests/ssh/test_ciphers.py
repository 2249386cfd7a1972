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


# sshd at DEBUG1: "kex: algorithm: curve25519-sha256"
_KEX_ALGORITHM = re.compile(r"kex: algorithm: (\S+)")
# fleetcheck at -vv: "... SSH handshake in 9 ms with ...: kex K, host key ..., cipher C, mac M"
_HANDSHAKE = re.compile(r"SSH handshake in .*: kex (\S+), host key .*, cipher (\S+), mac (\S+)")


def test_the_vv_log_names_what_sshd_negotiated(fleet: Fleet, lab: SshLab) -> None:
    """-vv's key exchange, cipher and MAC are the ones sshd logged (AES-GCM's MAC is implicit)."""
    for name in ("kexlog", "nogcm"):
        scan = fleet.scan(fleet.inventory({name: fleet.vars(name)}), "-vv")
        assert scan.code == 0, scan.err
        logged = _HANDSHAKE.findall(scan.err)
        assert len(logged) == 1, scan.err
        kex = _KEX_ALGORITHM.findall((lab.hosts[name].dir / "sshd.log").read_text())[-1]
        assert logged[0] == (kex, *_negotiated(lab, name)[-1])
