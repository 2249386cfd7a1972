"""Host key checking against real sshd hosts: strict, accept-new, off, revoked, CA, patterns."""

from __future__ import annotations

import csv
import html
import io
import re
import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.lab.sshlab import SshLab
from tests.ssh.conftest import Fleet

pytestmark = pytest.mark.lab


def _fingerprint(lab: SshLab, name: str, key_type: str = "ed25519") -> str:
    """OpenSSH's fingerprint of the key a lab host serves (ssh-keygen -l is the oracle)."""
    pub = lab.hosts[name].dir / f"host_{key_type}.pub"
    return subprocess.run(["ssh-keygen", "-l", "-f", str(pub)], capture_output=True, text=True,
                          check=True).stdout.split()[1]


def _openssh_accepts(lab: SshLab, name: str, known_hosts: Path, *options: str) -> bool:
    """Does the real OpenSSH client, strict, accept the host with this known_hosts file?"""
    host = lab.hosts[name]
    proc = subprocess.run(lab.controller.exec_argv([
        "ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={known_hosts}", "-o", "GlobalKnownHostsFile=/dev/null",
        *options,
        "-i", str(lab.key), "-p", str(host.spec.port), f"fcops@{host.address}", "true"]),
        capture_output=True, text=True, timeout=30, check=False)
    return proc.returncode == 0


def test_unknown_host_refused_when_strict(fleet: Fleet, lab: SshLab) -> None:
    """Strict is the default: a host missing from known_hosts is refused, with its fingerprint."""
    scan = fleet.scan(fleet.inventory({"stranger": fleet.vars("stranger")}))
    error = scan.host("stranger")["error"]
    assert error["kind"] == "host_key_unknown"
    assert _fingerprint(lab, "stranger") in error["message"]
    assert scan.run["meta"]["host_key_checking"] == "strict"
    assert scan.run["meta"]["warnings"] == []
    assert scan.code == 3


@pytest.mark.parametrize("hashed", [False, True])
def test_accept_new_records_the_key_openssh_then_trusts(fleet: Fleet, lab: SshLab, tmp_path: Path,
                                                      hashed: bool) -> None:
    """accept-new trusts a new host once and appends its key; OpenSSH (strict) accepts it."""
    known = tmp_path / "known_hosts"
    known.write_text(lab.known_hosts.read_text())
    config = tmp_path / "ssh_config"
    config.write_text(f"HashKnownHosts {'yes' if hashed else 'no'}\n")
    inv = fleet.inventory({"stranger": fleet.vars("stranger"), "web3": fleet.vars("web3")})
    assert not _openssh_accepts(lab, "stranger", known)
    first = fleet.scan(inv, "--host-key-checking", "accept-new", "-F", str(config),
                       known_hosts=known)
    assert first.host("stranger")["status"] == "compliant"
    assert first.run["meta"]["host_key_checking"] == "accept-new"
    added = known.read_text().splitlines()[len(lab.known_hosts.read_text().splitlines()):]
    assert len(added) == 1  # web3 was known: nothing added for it
    assert added[0].startswith("|1|") == hashed
    assert _openssh_accepts(lab, "stranger", known)
    again = fleet.scan(inv, "-F", str(config), known_hosts=known)  # strict now knows it
    assert again.host("stranger")["status"] == "compliant"
    assert known.read_text().splitlines()[-1] == added[0]


def test_accept_new_never_accepts_a_changed_key(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """Trust on first use is not trust on every use: a changed key stays an error."""
    known = tmp_path / "known_hosts"
    known.write_text(lab.known_hosts.read_text())
    scan = fleet.scan(fleet.inventory({"rekeyed": fleet.vars("rekeyed")}),
                      "--host-key-checking", "accept-new", known_hosts=known)
    assert scan.kind("rekeyed") == "host_key_changed"
    assert known.read_text() == lab.known_hosts.read_text()


def test_off_checks_nothing_and_every_report_says_so(fleet: Fleet, lab: SshLab) -> None:
    """off connects to unknown and changed hosts, and the reports carry the warning."""
    inv = fleet.inventory({"stranger": fleet.vars("stranger"), "rekeyed": fleet.vars("rekeyed")})
    scan = fleet.scan(inv, "--host-key-checking", "off")
    assert {h["status"] for h in scan.run["hosts"]} == {"compliant"}
    assert scan.run["meta"]["host_key_checking"] == "off"
    (warning,) = scan.run["meta"]["warnings"]
    assert "NOT checked" in warning
    for shown in (scan.text, scan.out):  # wrapped to the width, every word kept
        assert f"WARNING: {warning}" in " ".join(shown.split())


def test_revoked_key_refused_even_when_off(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """A key under @revoked is never used, whatever the mode."""
    known = tmp_path / "known_hosts"
    key = lab.hosts["web3"].host_keys[0]
    known.write_text(lab.known_hosts.read_text() + f"@revoked * {key}\n")
    inv = fleet.inventory({"web3": fleet.vars("web3"), "web4": fleet.vars("web4")})
    for mode in ("strict", "off"):
        scan = fleet.scan(inv, "--host-key-checking", mode, known_hosts=known)
        assert scan.kind("web3") == "host_key_revoked"
        assert f"{known}:" in scan.host("web3")["error"]["message"]
        assert scan.host("web4")["status"] == "compliant"


def test_cert_authority_is_a_clear_error(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """Host certificates are not supported: the error says so instead of a bare 'unknown'."""
    known = tmp_path / "known_hosts"
    ca_key = lab.hosts["web1"].host_keys[0]  # any public key serves as the CA here
    known.write_text(f"@cert-authority 10.77.0.* {ca_key}\n")
    scan = fleet.scan(fleet.inventory({"web3": fleet.vars("web3")}), known_hosts=known)
    error = scan.host("web3")["error"]
    assert error["kind"] == "host_key_unknown"
    assert "@cert-authority" in error["message"] and "not supported" in error["message"]


def test_hashed_wildcard_and_port_entries(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """A hashed file (ssh-keygen -H), a wildcard with a negation, and [host]:port entries."""
    hashed = tmp_path / "hashed"
    hashed.write_text(lab.known_hosts.read_text())
    subprocess.run(["ssh-keygen", "-H", "-f", str(hashed)], capture_output=True, check=True)
    assert "|1|" in hashed.read_text() and lab.hosts["web3"].address not in hashed.read_text()
    inv = fleet.inventory({n: fleet.vars(n) for n in ("web3", "p2222")})
    scan = fleet.scan(inv, known_hosts=hashed)
    assert {h["status"] for h in scan.run["hosts"]} == {"compliant", "noncompliant"}
    assert all(h["error"] is None for h in scan.run["hosts"])
    # web3's key under a wildcard that excludes web4 by negation.
    web3, web4 = lab.hosts["web3"], lab.hosts["web4"]
    pattern = tmp_path / "pattern"
    pattern.write_text(f"10.77.0.*,!{web4.address} {web3.host_keys[0]}\n")
    scan = fleet.scan(fleet.inventory({"web3": fleet.vars("web3"), "web4": fleet.vars("web4")}),
                      known_hosts=pattern)
    assert scan.host("web3")["status"] == "compliant"
    assert scan.kind("web4") == "host_key_unknown"
    # p2222 listens on 2222: with nothing under [host]:2222, ssh tries the bare name for
    # the same key (random known_hosts seeds found it); a different key there stays unknown.
    p = lab.hosts["p2222"]
    bare = tmp_path / "bare"
    bare.write_text("".join(f"{p.address} {k}\n" for k in p.host_keys))
    assert _openssh_accepts(lab, "p2222", bare)
    scan = fleet.scan(fleet.inventory({"p2222": fleet.vars("p2222")}), known_hosts=bare)
    assert scan.host("p2222")["error"] is None
    other = tmp_path / "other"
    other.write_text(f"{p.address} {web3.host_keys[0]}\n")
    assert not _openssh_accepts(lab, "p2222", other)
    scan = fleet.scan(fleet.inventory({"p2222": fleet.vars("p2222")}), known_hosts=other)
    assert scan.kind("p2222") == "host_key_unknown"


def test_host_key_alias_names_no_port(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """HostKeyAlias is the known_hosts name as it is, on any port: '[alias]:2222' is not it
    (seed 17 of the random known_hosts test: fleetcheck accepted what ssh refused)."""
    p = lab.hosts["p2222"]
    inv = fleet.inventory({"p2222": fleet.vars(
        "p2222", ansible_ssh_common_args="-o HostKeyAlias=Keys.Example")})
    for text, accepted in ((f"keys.example {p.host_keys[0]}\n", True),
                           (f"[keys.example]:2222 {p.host_keys[0]}\n", False)):
        known = tmp_path / "known_hosts"
        known.write_text(text)
        assert _openssh_accepts(lab, "p2222", known, "-o", "HostKeyAlias=Keys.Example") \
            == accepted
        scan = fleet.scan(inv, known_hosts=known)
        assert scan.kind("p2222") == (None if accepted else "host_key_unknown")


def test_key_types_asked_for_in_openssh_order(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """A right RSA key listed before a wrong ed25519 key: ssh asks for ed25519 first and
    refuses the changed key, whatever the file's order (fleetcheck accepted it before);
    only an RSA key known for a host serving ed25519 first is a changed key too."""
    p, web3 = lab.hosts["p2222"], lab.hosts["web3"]
    name = f"[{p.address}]:2222"
    rsa = next(k for k in p.host_keys if k.startswith("ssh-rsa"))
    inv = fleet.inventory({"p2222": fleet.vars("p2222"), "web3": fleet.vars("web3")})
    known = tmp_path / "known_hosts"
    known.write_text(f"{name} {rsa}\n{name} {web3.host_keys[0]}\n"
                     f"{web3.address} {rsa}\n")
    assert not _openssh_accepts(lab, "p2222", known)
    assert not _openssh_accepts(lab, "web3", known)
    scan = fleet.scan(inv, known_hosts=known)
    assert scan.kind("p2222") == "host_key_changed"
    assert scan.kind("web3") == "host_key_changed"  # ssh: REMOTE HOST IDENTIFICATION HAS CHANGED
    assert "only ssh-rsa keys are known" in scan.host("web3")["error"]["message"]


@pytest.mark.parametrize("key_type", ["rsa", "ecdsa"])
def test_the_remembered_key_type_is_negotiated(fleet: Fleet, lab: SshLab, tmp_path: Path,
                                               key_type: str) -> None:
    """A host serving three key types, known by one: that type is asked for, as ssh does."""
    p = lab.hosts["p2222"]
    known = tmp_path / "known_hosts"
    known.write_text("".join(f"[{p.address}]:2222 {k}\n" for k in p.host_keys
                             if k.startswith("ssh-rsa" if key_type == "rsa" else "ecdsa")))
    scan = fleet.scan(fleet.inventory({"p2222": fleet.vars("p2222")}), known_hosts=known)
    assert scan.host("p2222")["error"] is None


def test_ipv6_address(fleet: Fleet, lab: SshLab) -> None:
    """An IPv6 literal as ansible_host: connected over IPv6, its known_hosts entry found."""
    web3 = lab.hosts["web3"]
    assert web3.address6
    scan = fleet.scan(fleet.inventory({"web3": {**fleet.vars("web3"),
                                                "ansible_host": web3.address6}}))
    assert scan.host("web3")["status"] == "compliant"


def test_missing_known_hosts_file_is_bad_input(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """A --known-hosts file that does not exist is a typo to report, not 'every host unknown'."""
    inv = fleet.inventory({"web3": fleet.vars("web3")})
    from tests.conftest import run_cli

    res = run_cli(["scan", "-i", str(inv), "--known-hosts", str(tmp_path / "nope"),
                   "-o", str(tmp_path / "o")], cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert res.code == 2 and "nope: --known-hosts: known_hosts file not found" in res.err


def _reports(fleet: Fleet) -> dict[str, str]:
    """Every report file of the fleet's last scan, by extension."""
    out = fleet.tmp / f"out{fleet.runs}"
    return {"." + p.name.split(".", 1)[1]: p.read_text() for p in out.glob("fleetcheck-2*")}


def test_off_is_flagged_in_every_format_junit_and_csv_included(fleet: Fleet, lab: SshLab) -> None:
    """Each JUnit suite carries the warning (property and system-err), the CSV has a row."""
    scan = fleet.scan(fleet.inventory({"web3": fleet.vars("web3"), "web4": fleet.vars("web4")}),
                      "--host-key-checking", "off", "--format", "all")
    (warning,) = scan.run["meta"]["warnings"]
    files = _reports(fleet)
    assert set(files) == {".txt", ".html", ".json", ".xml", ".csv", ".groups.csv", ".md",
                          ".register.csv", ".oscal.json"}
    suites = ET.fromstring(files[".xml"]).findall("testsuite")  # noqa: S314 -- our own output
    assert len(suites) == 2
    for suite in suites:
        props = {(p.get("name"), p.get("value")) for p in suite.iter("property")}
        assert ("warning", warning) in props
        assert f"WARNING: {warning}" in (suite.findtext("system-err") or "")
    rows = list(csv.DictReader(io.StringIO(files[".csv"], newline="")))
    assert [(r["kind"], r["message"]) for r in rows] == [("host_keys_not_checked", warning)]
    assert warning in html.unescape(files[".html"])
    assert warning in " ".join(files[".txt"].split())
    assert f"fleetcheck: warning: {warning}" in scan.err


def test_accept_new_leaves_evidence_in_every_format(fleet: Fleet, lab: SshLab,
                                                   tmp_path: Path) -> None:
    """Every key trusted on first use (a jump host's too, and one of a host that then failed)
    is recorded with ssh-keygen's fingerprint, in every report format and on stderr."""
    known = tmp_path / "known_hosts"
    known.write_text("".join(lab.known_hosts_lines("web3", "inner1")))  # bastion unknown
    jump, stranger = lab.hosts["jump"].address, lab.hosts["stranger"].address
    inv = fleet.inventory({
        "stranger": fleet.vars("stranger"),
        "inner1": fleet.vars("inner1", ansible_ssh_common_args=f"-J fcops@{jump}"),
        "web3": fleet.vars("web3"),  # a known key: nothing trusted
        "web4": fleet.vars("web4", user="nobody-here"),  # trusted, then authentication failed
    })
    (fleet.home / ".ssh" / "config").write_text(f"Host {jump}\n  IdentityFile {lab.key}\n")
    scan = fleet.scan(inv, "--host-key-checking", "accept-new", "--format", "all",
                      known_hosts=known)
    expected = {
        "stranger": [{"host": stranger, "type": "ssh-ed25519",
                      "fingerprint": _fingerprint(lab, "stranger"), "file": str(known)}],
        "inner1": [{"host": jump, "type": "ssh-ed25519",
                    "fingerprint": _fingerprint(lab, "jump"), "file": str(known)}],
        "web4": [{"host": lab.hosts["web4"].address, "type": "ssh-ed25519",
                  "fingerprint": _fingerprint(lab, "web4"), "file": str(known)}],
    }
    for name, keys in expected.items():
        assert scan.host(name).get("trusted_keys") == keys, name
    assert "trusted_keys" not in scan.host("web3")
    assert scan.host("stranger")["status"] == "compliant"
    assert scan.kind("web4") == "auth_failed"
    files = _reports(fleet)
    text, page = " ".join(files[".txt"].split()), html.unescape(files[".html"])
    rows = list(csv.DictReader(io.StringIO(files[".csv"], newline="")))
    trusted_rows = [r for r in rows if r["kind"] == "host_key_trusted"]
    assert sorted(r["host"] for r in trusted_rows) == ["inner1", "stranger", "web4"]
    junit = ET.fromstring(files[".xml"])  # noqa: S314 -- our own output
    suites = {s.get("name"): s for s in junit.findall("testsuite")}
    for name, (key,) in expected.items():
        sentence = (f"trusted on first use (accept-new): {key['host']} ssh-ed25519 "
                    f"{key['fingerprint']}, added to {known}")
        assert sentence in text and sentence in page, name
        assert any(sentence in r["message"] for r in trusted_rows if r["host"] == name)
        props = {(p.get("name"), p.get("value")) for p in suites[name].iter("property")}
        assert ("trusted_key", sentence) in props
        assert f"fleetcheck: warning: {name}: host key {sentence}" in scan.err
    again = fleet.scan(inv, "--host-key-checking", "accept-new", known_hosts=known)
    assert not any("trusted_keys" in h for h in again.run["hosts"])  # nothing new the 2nd time


def test_a_hosts_own_strict_host_key_checking_as_ansible_users_write_it(
        fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """`-o StrictHostKeyChecking=no` in ansible_ssh_common_args (or ssh_config) lets that host
    in with an unknown or changed key, as ssh under Ansible does; every key so accepted is
    named in the reports and on stderr; `accept-new` there trusts on first use; a mode given
    on fleetcheck's command line decides over the host's."""
    lax = "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    inv = fleet.inventory({
        "stranger": fleet.vars("stranger", ansible_ssh_common_args=lax),
        "rekeyed": fleet.vars("rekeyed", ansible_ssh_common_args="-o StrictHostKeyChecking=no"),
        "web3": fleet.vars("web3", ansible_ssh_common_args="-o StrictHostKeyChecking=no"),
    })
    scan = fleet.scan(inv)
    assert [h["status"] for h in scan.run["hosts"]] == ["compliant"] * 3
    assert scan.run["meta"]["host_key_checking"] == "strict"
    assert "trusted_keys" not in scan.host("web3")  # its key was known: nothing to record
    for name, why in (("stranger", "no key known for it"),
                      ("rekeyed", "known_hosts holds another key for it")):
        (key,) = scan.host(name)["trusted_keys"]
        assert key["fingerprint"] == _fingerprint(lab, name)
        assert key["unchecked"] == f"StrictHostKeyChecking no for this host; {why}"
        assert key["file"] == ""
        sentence = (f"{name}: host key NOT checked ({key['unchecked']}): {key['host']} "
                    f"ssh-ed25519 {key['fingerprint']} was accepted without comparing it with "
                    "known_hosts")
        assert f"fleetcheck: warning: {sentence}" in scan.err
        assert sentence in " ".join(scan.text.split())
    forced = fleet.scan(inv, "--host-key-checking", "strict")
    assert (forced.kind("stranger"), forced.kind("rekeyed")) == ("host_key_unknown",
                                                                 "host_key_changed")
    known = tmp_path / "known_hosts"
    known.write_text(lab.known_hosts.read_text())
    (fleet.home / ".ssh" / "config").write_text(
        f"Host {lab.hosts['stranger'].address}\n  StrictHostKeyChecking accept-new\n")
    tofu = fleet.scan(fleet.inventory({"stranger": fleet.vars("stranger")}), known_hosts=known)
    assert tofu.host("stranger")["trusted_keys"] == [{
        "host": lab.hosts["stranger"].address, "type": "ssh-ed25519",
        "fingerprint": _fingerprint(lab, "stranger"), "file": str(known)}]
    assert _openssh_accepts(lab, "stranger", known)


def test_the_keyscan_hint_works_as_printed(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """The host_key_unknown hint's ssh-keyscan commands, run as printed, make the next scan
    check both hosts: a host off port 22 gets `-p PORT` (ssh-keyscan asked port 22 before,
    and its key never matched the '[host]:2222' name ssh looks up)."""
    known = tmp_path / "known_hosts"
    known.write_text("")
    inv = fleet.inventory({n: fleet.vars(n) for n in ("web3", "p2222")})
    scan = fleet.scan(inv, known_hosts=known)
    assert (scan.kind("web3"), scan.kind("p2222")) == ("host_key_unknown", "host_key_unknown")
    out = " ".join(scan.out.split())
    commands = re.findall(r"`(ssh-keyscan [^`]*)`", out.split("(e.g. ", 1)[1])
    assert sorted(commands) == [f"ssh-keyscan -H {lab.hosts['web3'].address}",
                                f"ssh-keyscan -p 2222 -H {lab.hosts['p2222'].address}"], out
    for command in commands:
        keys = subprocess.run(lab.controller.exec_argv(shlex.split(command)), check=True,
                              capture_output=True, text=True, timeout=30).stdout
        with known.open("a") as f:
            f.write(keys)
    again = fleet.scan(inv, known_hosts=known)
    assert [h["error"] for h in again.run["hosts"]] == [None, None], again.err


def test_the_keygen_hint_removes_the_changed_entry(fleet: Fleet, lab: SshLab,
                                                   tmp_path: Path) -> None:
    """The host_key_changed hint names the entry and its file: `ssh-keygen -R NAME -f FILE`,
    run as printed, removes exactly it, and the host is then merely unknown."""
    known = tmp_path / "known_hosts"
    known.write_text(lab.known_hosts.read_text())
    inv = fleet.inventory({"rekeyed": fleet.vars("rekeyed")})
    scan = fleet.scan(inv, known_hosts=known)
    assert scan.kind("rekeyed") == "host_key_changed"
    out = " ".join(scan.out.split())
    command = f"ssh-keygen -R {lab.hosts['rekeyed'].address} -f {known}"
    assert f"(e.g. `{command}`)" in out, out
    subprocess.run(shlex.split(command), check=True, capture_output=True, timeout=30)
    assert fleet.scan(inv, known_hosts=known).kind("rekeyed") == "host_key_unknown"


def test_an_unknown_jump_host_key_is_the_jump_hosts_own(fleet: Fleet, lab: SshLab,
                                                        tmp_path: Path) -> None:
    """Behind a jump host whose key is unknown, the key (and the name it is known by) is
    the jump host's: said once, of the jump host, and its ssh-keyscan run as printed lets
    both hosts behind it be checked."""
    jump = lab.hosts["jump"].address
    known = tmp_path / "known_hosts"
    # The jump host's key stays known only under its IPv6 address: 'known for another name'.
    known.write_text("".join(line for line in lab.known_hosts.read_text().splitlines(True)
                             if not line.startswith(f"{jump} ")))
    (fleet.home / ".ssh" / "config").write_text(f"Host {jump}\n  IdentityFile {lab.key}\n")
    inv = fleet.inventory({n: fleet.vars(n, ansible_ssh_common_args=f"-J fcops@{jump}")
                           for n in ("inner1", "inner2")})
    scan = fleet.scan(inv, "--retries", "0", known_hosts=known)
    assert (scan.kind("inner1"), scan.kind("inner2")) == ("host_key_unknown",) * 2
    out = " ".join(scan.out.split())
    assert out.count("presents a key already known for another name") == 1, out
    assert f"jump host fcops@{jump}:22 presents a key already known" in out
    command = f"ssh-keyscan -H {jump}"
    assert f"(e.g. `{command}`)" in out, out
    keys = subprocess.run(lab.controller.exec_argv(shlex.split(command)), check=True,
                          capture_output=True, text=True, timeout=30).stdout
    with known.open("a") as f:
        f.write(keys)
    again = fleet.scan(inv, "--retries", "0", known_hosts=known)
    assert [h["error"] for h in again.run["hosts"]] == [None, None], again.err
