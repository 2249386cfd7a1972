"""Every malformed policy or waiver gives exactly one precise `file:line:column` error, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

TODAY = "2030-06-01"  # the waiver cases are dated around it

# (file content, "line:column", message): one mistake each, one error each.
POLICY_CASES = [
    ('name: p\nallow:\n  - id: ssh\n    reason: caf\u00e9 \x1b[31m\n',
     '4:18', "invalid YAML: character U+001B is not allowed (special characters are not "
     "allowed)"),
    ('name: p\nallow:\n  - id: ssh\n    prot: tcp\n    port: 22\n',
     '4:5', "unknown key 'prot' in allow rule (did you mean 'proto'?)"),
    ('name: p\nallows:\n  - id: ssh\n    port: 22\n',
     '2:1', "unknown key 'allows' in policy (did you mean 'allow'?)"),
    ('name: p\nallow:\n  - id: ssh\n    port: 70000\n',
     '4:11', 'port 70000 is out of range (0-65535)'),
    ('name: p\nallow:\n  - id: ssh\n    port: 90-80\n',
     '4:11', "port range '90-80' is backwards (90 > 80)"),
    ('name: p\nallow:\n  - id: web\n    port: http\n',
     '4:11', "port must be a number or a range 'LO-HI', not 'http'"),
    ('name: p\nallow:\n  - id: ssh\n    proto: tpc\n    port: 22\n',
     '4:12', "proto must be tcp, udp or any, not 'tpc' (did you mean 'tcp'?)"),
    ('name: p\nallow:\n  - id: lo\n    address: loopbak\n',
     '4:14', "unknown address scope 'loopbak' (expected an address, a CIDR or one of loopback,"
     " wildcard, link-local, private, public, multicast) (did you mean 'loopback'?)"),
    ('name: p\nallow:\n  - id: lan\n    address: 10.0.0.0/33\n',
     '4:14', "address '10.0.0.0/33' is not a valid network"),
    ('name: p\nallow:\n  - id: v5\n    family: 5\n    port: 80\n',
     '4:13', 'family must be 4 or 6, not 5'),
    ("name: p\nallow:\n  - id: re\n    process: '~(unclosed'\n",
     '4:14', "bad regular expression '(unclosed': missing ), unterminated subpattern at "
     "position 0"),
    ('name: p\nforbid:\n  - id: spice\n    port: 1923\n    severity: hgh\n',
     '5:15', "unknown severity 'hgh' (expected critical, high, medium, low or info) (did you "
     "mean 'high'?)"),
    ('name: p\nforbid:\n  - id: spice\n    service: spcie\n',
     '4:14', "unknown service 'spcie': neither the shipped port table nor the system's "
     "services database knows it (did you mean 'spice'?)"),
    ('name: p\nallow:\n  - id: ssh\n    port: 22\n  - id: ssh\n    port: 2222\n',
     '5:5', "duplicate rule id 'ssh' in policy 'p' (first used on line 3)"),
    ('name: p\nforbid:\n  - id: everything\n    severity: low\n',
     '3:5', "forbid rule 'everything' has no conditions and would match every listener"),
    ('name: p\nallow:\n  - port: 22\n',
     '3:5', "allow rule needs an 'id'"),
    ('name: p\nallow:\n  - id: dns\n    proto: udp\n    service: ssh\n',
     '3:5', "allow rule 'dns': service ssh is tcp only, but the rule says proto udp: the rule"
     " can never match"),
    ("name: p\nallow:\n  - id: v4\n    family: 4\n    address: '::1'\n",
     '3:5', "allow rule 'v4': address ::1 is IPv6, but family says 4: the rule can never match"),
    ('name: p\nallow:\n  - id: ds\n    dual_stack: true\n    family: 4\n    port: 80\n',
     '3:5', "allow rule 'ds': a dual-stack socket takes IPv4 and IPv6, so an allow rule "
     "limited to family 4 never covers it: the rule can never match"),
    ('name: p\ndefault: permit\nallow: []\n',
     '2:10', "default must be 'deny' or 'allow', not 'permit'"),
    ('name: p\nallow: [\n',
     '3:1', "invalid YAML: expected the node content, but found '<stream end>'"),
    ('- a\n- b\n',
     '1:1', "a policy file must be a YAML mapping with 'name' and 'allow'/'forbid'/'require' "
     "rules"),
    ('',
     '1:1', "a policy file must be a YAML mapping with 'name' and 'allow'/'forbid'/'require' "
     "rules (the file is empty)"),
    ('name: p\nallow: {id: x}\n',
     '2:8', "'allow' must be a list of rules"),
    ('name: p\nallow:\n  - ssh\n',
     '3:5', "each 'allow' rule must be a mapping with an 'id'"),
    ('name: p\nallow:\n  - id: x\n    port: 80\n    dual_stack: maybe\n',
     '5:17', "expected true or false, not 'maybe'"),
    ('name: p\nallow:\n  - id: x\n    port: 80\n    port: 81\n',
     '5:5', "duplicate key 'port'"),
    ('name: bad name\nallow: []\n',
     '1:7', "'bad name' is not a valid id (letters, digits, '-', '_' or '.')"),
    ('name: p\nallow:\n  - !!python/object:os.system {id: x}\n',
     '3:5', "invalid YAML: could not determine a constructor for the tag "
     "'tag:yaml.org,2002:python/object:os.system'"),
    ('name: p\nhosts: []\nallow: []\n',
     '2:8', 'hosts must be an Ansible pattern or a list of groups'),
    ("name: p\nallow:\n  - id: x\n    user: ''\n",
     '4:11', "expected a name, glob or ~regex, not ''"),
    # A key without a value would silently widen the policy or rule: an error, not absent.
    ('name: p\nhosts:\nallow:\n  - id: ssh\n    port: 22\n',
     '2:7', "'hosts' has no value (give it one, or remove the key)"),
    ('name: p\nallow:\n  - id: ssh\n    port: 22\n    process:\n',
     '5:13', "'process' has no value (give it one, or remove the key)"),
    ('name: p\nallow:\n  - id:\n    port: 22\n',
     '3:8', "'id' has no value (give it one, or remove the key)"),
    # interface: a device name as ss prints it after '%', never the address with it
    ("name: p\nallow:\n  - id: dhcp\n    port: 67\n    interface: '0.0.0.0%virbr0'\n",
     '5:16', "interface '0.0.0.0%virbr0' is not a device name (no spaces, '/' or '%': write "
     "the name alone, such as 'eth0')"),
    ("name: p\nallow:\n  - id: dhcp\n    port: 67\n    interface: [virbr0, 'br lan']\n",
     '5:16', "interface 'br lan' is not a device name (no spaces, '/' or '%': write the name "
     "alone, such as 'eth0')"),
    ('name: p\nallow:\n  - id: dhcp\n    port: 67\n    interface: []\n',
     '5:16', "list is empty"),
    ('name: p\nallow:\n  - id: dhcp\n    port: 67\n    interface: true\n',
     '5:16', "expected a name, glob or ~regex, not True"),
    ("name: p\nallow:\n  - id: v\n    interface: '~veth(('\n",
     '4:16', "bad regular expression 'veth((': missing ), unterminated subpattern at "
     "position 5"),
    ('name: p\nallow:\n  - id: dhcp\n    port: 67\n    interface:\n',
     '5:15', "'interface' has no value (give it one, or remove the key)"),
    ('name: p\nallow:\n  - id: dhcp\n    port: 67\n    interfce: virbr0\n',
     '5:5', "unknown key 'interfce' in allow rule (did you mean 'interface'?)"),
    ('name: p\nforbid:\n  - id: lo\n    interface: lo\n    address: [wildcard, public]\n',
     '3:5', "forbid rule 'lo': a socket bound to lo (the loopback device) is loopback "
     "whatever its address, never wildcard or public: the rule can never match"),
]

# A valid waiver; each case below breaks it in exactly one way.
GOOD = """\
waivers:
  - id: W1
    hosts: all
    port: 8080
    reason: r
    owner: o
    approved_by: a
    created: 2030-01-01
    expires: 2030-12-31
"""
NAMED = ("id: W1", "hosts: all", "port: 8080", "reason: r", "owner: o", "approved_by: a",
         "created: 2030-01-01", "expires: 2030-12-31")


def broken(old: str, new: str) -> str:
    """GOOD with the line `old` replaced by `new` (several lines with '\\n    ')."""
    assert old in NAMED and f"    {old}\n" in GOOD
    return GOOD.replace(f"    {old}\n", f"    {new}\n" if new else "")


WAIVER_CASES = [
    (broken("expires: 2030-12-31", "expire: 2030-12-31"),
     "9:5", "unknown key 'expire' in waiver (did you mean 'expires'?)"),
    (broken("owner: o", ""),
     "2:5", "waiver 'W1' lacks 'owner' (every waiver needs an id, hosts, reason, owner, "
     "approved_by, created and expires)"),
    (broken("port: 8080", "proto: tcp"),
     "2:5", "waiver 'W1' would cover every finding on its hosts: name a port, service, "
     "process, rule, finding, container, image, pod or k8s_namespace"),
    # waivers name no bind (no address, no family): no interface either
    (broken("port: 8080", "port: 8080\n    interface: virbr0"),
     "5:5", "unknown key 'interface' in waiver"),
    (broken("expires: 2030-12-31", "expires: next year"),
     "9:14", "expected a date (YYYY-MM-DD), not 'next year'"),
    (broken("expires: 2030-12-31", "expires: 2030-12-31 10:00:00"),
     "9:14", "expected a date (YYYY-MM-DD), not a time stamp 2030-12-31 10:00:00"),
    (broken("created: 2030-01-01", "created: 2031-01-01"),
     "8:14", "waiver 'W1' is created 2031-01-01, after it expires (2030-12-31)"),
    (broken("port: 8080", "port: 8080\n    kind: strays"),
     "5:11", "unknown finding kind 'strays' (expected one of forbidden, stray, missing, "
     "wrong_bind, wrong_process, undetermined, overdue_review) (did you mean 'stray'?)"),
    (broken("port: 8080", "rule: baseline-spice"),
     "4:11", "rule must be written 'policy/rule-id', not 'baseline-spice'"),
    (broken("port: 8080", "rule: baseline/spcie"),
     "4:11", "waiver 'W1' names rule 'baseline/spcie', which no loaded policy has "
     "(did you mean 'baseline/spice'?)"),
    # a pattern that finds no rule waives nothing, as a misspelt name does
    (broken("port: 8080", "rule: 'basline/*'"),
     "4:11", "waiver 'W1' names rules 'basline/*', which match no rule of the loaded "
     "policies"),
    (broken("port: 8080", "rule: '~baseline/(spcie|x)'"),
     "4:11", "waiver 'W1' names rules '~baseline/(spcie|x)', which match no rule of the "
     "loaded policies"),
    (broken("port: 8080", "finding: FC-xyz"),
     "4:14", "finding must be a finding id such as 'FC-0123456789ab', not 'FC-xyz'"),
    (broken("port: 8080", "port: 99999"),
     "4:11", "port 99999 is out of range (0-65535)"),
    (broken("port: 8080", "process: '~[z-a]'"),
     "4:14", "bad regular expression '[z-a]': bad character range z-a at position 1"),
    (GOOD + GOOD.removeprefix("waivers:\n"),
     "10:5", "duplicate waiver id 'W1' (first defined at w.yml:2)"),
    ("", "1:1", "waiver file is empty (expected a mapping with a 'waivers' list)"),
    ("- id: W1\n", "1:1", "a waiver file must be a mapping with a 'waivers' list"),
    ("waivers: {}\n", "1:10", "'waivers' must be a list of waivers"),
    ("waivers:\n  - W1\n", "2:5", "each waiver must be a mapping with an 'id'"),
    ("waiver:\n  - id: W1\n",
     "1:1", "unknown key 'waiver' in waiver file (did you mean 'waivers'?)"),
    ("waivers: [\n", "2:1", "invalid YAML: expected the node content, but found '<stream end>'"),
    # dates: a day that does not exist, and forms other than YYYY-MM-DD
    (broken("expires: 2030-12-31", "expires: 2030-02-30"),
     "9:14", "'2030-02-30' is not a valid date: day is out of range for month"),
    (broken("created: 2030-01-01", "created: 2030-13-01"),
     "8:14", "'2030-13-01' is not a valid date: month must be in 1..12"),
    (broken("expires: 2030-12-31", "expires: '2030-02-30'"),
     "9:14", "expected a date (YYYY-MM-DD), not '2030-02-30'"),
    (broken("expires: 2030-12-31", "expires: 20301231"),
     "9:14", "expected a date (YYYY-MM-DD), not 20301231"),
    (broken("expires: 2030-12-31", "expires: '2030-W52-1'"),
     "9:14", "expected a date (YYYY-MM-DD), not '2030-W52-1'"),
    (broken("expires: 2030-12-31", "expires: 31/12/2030"),
     "9:14", "expected a date (YYYY-MM-DD), not '31/12/2030'"),
    # keys: unknown (with and without a close match), empty, the wrong kind of value
    (broken("approved_by: a", "approver: a"),
     "7:5", "unknown key 'approver' in waiver (did you mean 'approved_by'?)"),
    (broken("port: 8080", "port: 8080\n    severity: high"),
     "5:5", "unknown key 'severity' in waiver"),
    (broken("expires: 2030-12-31", "expires:"),
     "9:13", "'expires' has no value (give it one, or remove the key)"),
    (broken("port: 8080", "process:"),
     "4:13", "'process' has no value (give it one, or remove the key)"),
    (broken("port: 8080", "port: 8080\n    kind: []"),
     "5:11", "kind list is empty"),
    (broken("port: 8080", "finding: []"),
     "4:14", "finding list is empty"),
    (broken("hosts: all", "hosts: []"),
     "3:12", "hosts must be an Ansible pattern or a list of groups"),
    (GOOD.replace("- id: W1", "- id: W 1"),
     "2:9", "'W 1' is not a valid id (letters, digits, '-', '_' or '.')"),
    (broken("port: 8080", "service: spcie"),
     "4:14", "unknown service 'spcie': neither the shipped port table nor the system's "
     "services database knows it (did you mean 'spice'?)"),
    (broken("owner: o", "owner: [o, p]"),
     "6:12", "expected a non-empty string, not ['o', 'p']"),
]


def _check(tmp_path: Path, name: str, content: str, flag: str, where: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    res = run_cli(["validate", flag, name, "--today", TODAY], cwd=tmp_path)
    assert res.code == 2, res.out
    problems = res.out.splitlines()[:-1]
    assert problems == [f"{name}:{where}: error: {message}"]
    assert res.out.splitlines()[-1].startswith("1 error, 0 warnings")
    # scan refuses the same input with the same sentence, before contacting any host
    res = run_cli(["scan", flag, name, "--today", TODAY, "-o", "out"], cwd=tmp_path)
    assert res.code == 2
    assert res.err == f"fleetcheck: error: {name}:{where}: {message}\n"
    assert not (tmp_path / "out").exists()
    # and so does a live explain, which reads the same inputs the same way
    res = run_cli(["explain", flag, name, "--today", TODAY, "localhost", "22"], cwd=tmp_path)
    assert (res.code, res.out) == (2, "")
    assert res.err == f"fleetcheck: error: {name}:{where}: {message}\n"


@pytest.mark.parametrize(("content", "where", "message"), POLICY_CASES)
def test_malformed_policy(tmp_path: Path, content: str, where: str, message: str) -> None:
    _check(tmp_path, "p.yml", content, "-p", where, message)


def test_policy_named_after_an_unusable_file_name(tmp_path: Path) -> None:
    _check(tmp_path, "my policy.yml", "allow:\n  - id: ssh\n    port: 22\n", "-p", "1:1",
           "the policy needs a 'name': its file name 'my policy' is not a valid name "
           "(letters, digits, '-', '_' or '.')")


@pytest.mark.parametrize(("content", "where", "message"), WAIVER_CASES)
def test_malformed_waiver(tmp_path: Path, content: str, where: str, message: str) -> None:
    _check(tmp_path, "w.yml", content, "-w", where, message)
