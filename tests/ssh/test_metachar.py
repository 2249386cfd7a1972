"""Shell metacharacters in inventory names, users and addresses never reach a shell unquoted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.lab.sshlab import SshLab
from tests.ssh.conftest import Fleet

pytestmark = pytest.mark.lab


def test_metacharacters_stay_inert(fleet: Fleet, lab: SshLab) -> None:
    """Names, users and addresses built to run `touch` do nothing but fail (or pass) as data."""
    markers = {n: lab.root / f"ran-{n}" for n in ("name", "user", "addr", "port")}
    meta = lab.hosts["meta"].address
    evil_name = f"web$(touch {markers['name']});`touch {markers['name']}`"
    inv = fleet.inventory({
        evil_name: fleet.vars("meta"),
        "evil-user": fleet.vars("meta", user=f"fcops;touch {markers['user']}"),
        "evil-addr": {"ansible_host": f"{meta};touch {markers['addr']}",
                      "ansible_user": "fcops"},
        "evil-args": fleet.vars("meta", ansible_ssh_common_args=f"-p '22;touch {markers['port']}'"),
    })
    scan = fleet.scan(inv)
    host = scan.host(evil_name)
    assert host["status"] == "compliant"
    assert evil_name not in host["commands"][0]["command"]  # host names never go remote
    assert evil_name in scan.text
    # refused before any connection, as OpenSSH 9.6+ refuses them (tests/ssh/test_injection.py)
    assert scan.kind("evil-user") == "inventory"
    assert scan.kind("evil-addr") == "inventory"
    assert scan.kind("evil-args") == "inventory"
    for marker in markers.values():
        assert not marker.exists(), marker


def test_proxycommand_tokens_as_openssh_substitutes_them(fleet: Fleet, lab: SshLab,
                                                          tmp_path: Path) -> None:
    """%h, %r, %n, %p arrive as the inventory wrote them, in the template's own quoting."""
    capture = tmp_path / "argv"
    proxy = f"printf '[%%s]' '%h' \"%r\" %n %p > {capture}; exit 1"
    address = "10.77.0.99"
    user = "DOMAIN\\op.erator"
    inv = fleet.inventory({"odd": {"ansible_host": address, "ansible_user": user,
                                   "ansible_ssh_common_args": f"-o 'ProxyCommand={proxy}'"}})
    scan = fleet.scan(inv)
    assert scan.host("odd")["error"]["kind"] == "ssh_error"
    assert capture.read_text() == f"[{address}][{user}][{address}][22]"
