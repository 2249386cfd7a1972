"""Every malformed inventory fixture: one precise `file:line: message` error and exit 2.

ansible-core rejects each of these too (it warns "unable to parse" and goes on with
what is left, often nothing); fleetcheck stops before any host is contacted. The
inventories Ansible accepts with a warning are under `warns/` (test_warnings.py).
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO, run_cli

BAD = REPO / "tests" / "fixtures" / "inventories" / "malformed"

# fixture -> (file inside the fixture or "" for the fixture itself, line:col, message);
# {bad} in a message stands for the malformed fixtures' directory.
EXPECTED: dict[str, tuple[str, str, str]] = {
    "dir-bad-file": ("NOTES", "1", "expected key=value after host 'Notes', got 'about'"),
    "ini-bad-literal.ini": ("", "2", "cannot read value '{[1]: 2}': unhashable type: 'list'"),
    "ini-children-bad-name.ini": ("", "2", "expected a group name in [p:children], "
                                           "got 'web servers'"),
    "ini-children-undefined.ini": ("", "3", "section [site:children] names group 'missing', "
                                            "which is not defined"),
    "ini-cycle.ini": ("", "4", "making 'a' a child of 'b' creates a cycle"),
    "ini-host-no-equals.ini": ("", "2", "expected key=value after host 'web1', "
                                        "got 'ansible_port'"),
    "ini-priority-inf.ini": ("", "5", "ansible_group_priority of group 'g' must be an integer, "
                                     "not inf"),
    "ini-port-colon.ini": ("", "2", "host 'web1:' ends in ':' (a port number must follow it)"),
    "ini-quote.ini": ("", "2", "cannot split host line 'web1 motd=\"unterminated': "
                               "No closing quotation"),
    "ini-range-mixed.ini": ("", "2", "host range 'web[a:3]' must run between two numbers or "
                                     "two letters"),
    "ini-range-no-end.ini": ("", "2", "host range 'web[1:]' has no end"),
    "ini-range-step.ini": ("", "2", "host range 'web[1:4:0]': the step must be a non-zero "
                                    "whole number"),
    "ini-range-width.ini": ("", "3", "host range 'web[01:100]': zero-padded begin and end "
                                     "must have the same width"),
    "ini-section-space.ini": ("", "3", "invalid section header '[web servers]' (no spaces "
                                       "allowed; use [group], [group:children] or [group:vars])"),
    "ini-section-type.ini": ("", "4", "section '[web:child]' has unknown type 'child' "
                                      "(use hosts, children or vars)"),
    "ini-vars-no-equals.ini": ("", "2", "expected key=value in [web:vars], "
                                        "got 'no_equals_here'"),
    "ini-vars-undefined.ini": ("", "3", "section [ghost:vars] is for group 'ghost', "
                                        "which is not defined"),
    "json-list-hosts-string.json": ("", "1:10", "'hosts' of group 'web' must be a list"),
    "json-syntax.json": ("", "2:1", "invalid JSON: Expecting ',' delimiter"),
    "script-fails": ("cmdb.sh", "", "inventory script '--list' exited 3: cannot reach the CMDB"),
    "script-latin1": ("cmdb.sh", "", "inventory script '--list' printed non-UTF-8 output "
                                     "(byte 0xE9 at line 1, column 24 of its output)"),
    "script-not-json": ("print.sh --list", "", "output is not JSON: Expecting value at line 1 "
                                               "column 1"),
    "toml-syntax": ("inventory.toml", "2:19", "invalid TOML: Unclosed inline table"),
    "vars-list": ("group_vars/web.yml", "1:1", "a vars file holds a mapping of variables, "
                                               "not a list"),
    "vars-syntax": ("group_vars/all.yml", "3:1", "invalid YAML: did not find expected ',' "
                                                 "or ']'"),
    "yaml-bad-priority.yml": ("", "3:5", "ansible_group_priority of group 'web' must be an "
                                         "integer, not 'high'"),
    "yaml-cycle.yml": ("", "3:5", "making 'db' a child of 'web' creates a cycle"),
    "yaml-vault-key.yml": ("", "4:9", "a mapping key cannot be vault-encrypted"),
    "yaml-group-list.yml": ("", "3:5", "group 'web' must be a mapping of hosts/children/vars, "
                                       "not a list"),
    "yaml-host-vars-list.yml": ("", "3:5", "variables of host 'web1' must be a mapping, "
                                           "not a list"),
    # libyaml counts its position in bytes: the column is still in characters.
    "yaml-control-char.yml": ("", "4:18", "invalid YAML: character U+0000 is not allowed "
                                          "(control characters are not allowed)"),
    "yaml-hosts-list.yml": ("", "2:3", "'hosts' of group 'web' must be a mapping, not a list"),
    "yaml-host-named-ungrouped.yml": ("", "4:5", "host 'ungrouped' is in no group but 'all' and "
                                      "shares its name with a group, which ansible-core puts "
                                      "under 'ungrouped' instead: group 'ungrouped' cannot be "
                                      "a child of itself"),
    "yaml-int-host.yml": ("", "3:5", "host entry 10 must be a string (quote numbers)"),
    "yaml-plugin.yml": ("", "1", "inventory plugin 'amazon.aws.aws_ec2' is not supported; "
                                 "export it with 'ansible-inventory -i {bad}/yaml-plugin.yml "
                                 "--list > inventory.json' and read that file"),
    "yaml-syntax.yml": ("", "4:4", "invalid YAML: did not find expected key"),
    "yaml-top-list.yml": ("", "1:1", "a YAML inventory is a mapping of groups, not a list"),
}


def test_every_malformed_fixture_has_an_expected_error() -> None:
    assert sorted(p.name for p in BAD.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
@pytest.mark.parametrize("command", ["inventory", "validate"])
def test_malformed_inventory_is_one_located_error(name: str, command: str) -> None:
    inner, where, message = EXPECTED[name]
    path = BAD / name / inner if inner else BAD / name
    located = f"{path}:{where}" if where else str(path)
    message = message.replace("{bad}", str(BAD))
    if command == "inventory":
        res = run_cli(["inventory", "-i", str(BAD / name), "--list"], cwd=REPO)
        assert (res.code, res.out) == (2, "")
        assert res.err == f"fleetcheck: error: {located}: {message}\n"
    else:  # validate lists every problem on stdout, then a summary line
        res = run_cli(["validate", "-i", str(BAD / name)], cwd=REPO)
        assert res.code == 2
        assert res.out.splitlines()[0] == f"{located}: error: {message}"
