"""Inventories ansible-core accepts with a warning (or silently): read as it reads them.

For every fixture under `warns/`, `fleetcheck inventory --list` (and `--export`) equals
`ansible-inventory`'s output byte for byte, fleetcheck prints each warning once with
its file:line, Ansible's own warning says the same thing, and `--strict-inventory`
turns the first warning into a located error (exit 2).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from html import unescape as html_unescape
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests import ahead
from tests.conftest import REPO, run_cli
from tests.inventory.oracle import Oracle, Run, require_ansible
from tests.yamlmerge import pyyaml_merges_follow_the_spec

WARNS = REPO / "tests" / "fixtures" / "inventories" / "warns"
HINT = " (an error under --strict-inventory)"
NAMES = ("(Ansible deprecates this; variable names start with a letter or underscore and "
         "hold only letters, digits and underscores)")
SECTIONS = 'only "vars", "children" and "hosts" are valid'
TEMPLATED = "Conditionals should not be surrounded by templating delimiters such as {{ }} or {% %}."

# fixture -> [(what Ansible's stderr says, or None when it is silent,
#              "where: message" as fleetcheck prints it, `where` relative to warns/)]
EXPECTED: dict[str, list[tuple[str | None, str]]] = {
    # groups conditions: a YAML boolean is itself; one wholly in {{ }} is rendered first
    # (deprecated where it gives a value, an expression where it gives a variable's text)
    "constructed-conditions": [
        (TEMPLATED, f"constructed-conditions/02-groups.yml:{line}: constructed: groups {name}: "
                    "conditionals should not be surrounded by templating delimiters such as "
                    "{{ }} or {% %} (Ansible deprecates this; ansible-core 2.23 removes it)")
        for line, name in ((8, "tier_one"), (9, "in_app"), (10, "is_up"))],
    "empty-inventory": [
        (None, "empty-inventory: provided hosts list is empty, only localhost is available "
               "(the implicit localhost does not match 'all')")],
    "host-vars-bad-name": [],
    "ini-host-group-clash.ini": [
        (None, "ini-host-group-clash.ini:8: variable 'x' of host 'db' is set on group 'db' "
               "instead, as ansible-core does when a host and a group share a name"),
        ("Found both group and host with same name: db",
         "ini-host-group-clash.ini:4: found both group and host with same name: db (group "
         "defined at {warns}/ini-host-group-clash.ini:5; a pattern naming it selects the host)")],
    # '=5' and 'h1 =5' name a variable '' (Ansible accepts it, deprecated)
    "ini-empty-name.ini": [
        ("Accepting inventory variable with invalid name ''",
         f"ini-empty-name.ini:3: accepting inventory variable with invalid name '' {NAMES}"),
        ("Accepting inventory variable with invalid name ''",
         f"ini-empty-name.ini:5: accepting inventory variable with invalid name '' {NAMES}")],
    "ini-localhost-twice.ini": [
        ("A duplicate localhost-like entry was found (127.0.0.1). First found localhost was "
         "localhost", "ini-localhost-twice.ini:2: a duplicate localhost-like entry was found "
                      "(127.0.0.1); first found localhost was localhost")],
    "ini-range-empty.ini": [
        (None, "ini-range-empty.ini:3: host range 'web[5:1]' yields no hosts (Ansible skips it "
               "silently)")],
    # A bytes literal is untrusted text to ansible-core; text that is no UTF-8 shows as '?'.
    "ini-undecodable.ini": [
        ('Non UTF-8 encoded data replaced with "?"',
         "ini-undecodable.ini:5: variable 'w': non UTF-8 encoded data replaced with \"?\", as "
         "Ansible displays it"),
        (None, "ini-undecodable.ini:6: variable 'z': non UTF-8 encoded data replaced with "
               "\"?\", as Ansible displays it")],
    "ini-var-names.ini": [
        ("Accepting inventory variable with invalid name 'my-var'",
         f"ini-var-names.ini:2: accepting inventory variable with invalid name 'my-var' {NAMES}"),
        ("Accepting inventory variable with invalid name 'not'",
         f"ini-var-names.ini:4: accepting inventory variable with invalid name 'not' {NAMES}")],
    "host-named-all.ini": [
        ("Found both group and host with same name: all",
         "host-named-all.ini:3: found both group and host with same name: all ('all' is "
         "Ansible's implicit group; a pattern naming it selects the host)"),
        ("Found both group and host with same name: ungrouped",
         "host-named-all.ini:4: found both group and host with same name: ungrouped "
         "('ungrouped' is Ansible's implicit group; a pattern naming it selects the host)")],
    "json-duplicate-key.json": [
        (None, "json-duplicate-key.json:5:7: found duplicate mapping key 'web1', using last "
               "defined value only")],
    # Names Ansible reserves (play keywords, templating), wherever the variable is written.
    "reserved-names": [
        ("Found variable using reserved name 'name'.",
         "reserved-names/hosts:5: found variable using reserved name 'name'"),
        ("Found variable using reserved name 'timeout'.",
         "reserved-names/group_vars/web.yml:1:1: found variable using reserved name 'timeout'"),
        ("Found variable using reserved name 'tags'.",
         "reserved-names/hosts:2: found variable using reserved name 'tags'"),
        ("Found variable using reserved name 'port'.",
         "reserved-names/hosts:2: found variable using reserved name 'port'")],
    "script-shapes": [
        ("Inventory scripts should always provide 'meta.hostvars'",
         "script-shapes/legacy.py --list: inventory scripts should always provide "
         "'_meta.hostvars' (Ansible deprecates their absence); running the script with "
         "'--host' for each host"),
        ("Group 'web' was converted to 'dict' from 'list'",
         "script-shapes/legacy.py --list: group 'web' was converted to 'dict' from 'list' "
         "(Ansible deprecates a group written as a list of hosts)"),
        ("Treating malformed group 'solo' as the sole host of that group",
         "script-shapes/legacy.py --list: treating malformed group 'solo' as the sole host of "
         "that group (it has none of hosts, children, vars; Ansible deprecates this); variables "
         "provided in this manner cannot be templated"),
        (None, f"script-shapes/legacy.py --list: skipping unexpected key (extra) in group (db), "
               f"{SECTIONS}"),
        (None, "script-shapes/legacy.py --list: variable 'from_host_call' of host 'solo' is set "
               "on group 'solo' instead, as ansible-core does when a host and a group share a "
               "name"),
        ("Found both group and host with same name: solo",
         "script-shapes/legacy.py --list: found both group and host with same name: solo "
         "(group defined at {warns}/script-shapes/legacy.py --list; a pattern naming it "
         "selects the host)")],
    "toml-skips": [
        ("Skipping 'cache' as this is not a valid group definition",
         "toml-skips/inventory.toml: skipping 'cache' as this is not a valid group definition "
         "(not a table)"),
        ('Skipping unexpected key "extra" in group "web"',
         f"toml-skips/inventory.toml: skipping unexpected key 'extra' in group 'web', "
         f"{SECTIONS}")],
    "vars-not-dir": [
        ("Found group_vars that is not a directory, skipping",
         "vars-not-dir/group_vars: found group_vars that is not a directory, skipping it")],
    "yaml-duplicate-key.yml": [
        ("Found duplicate mapping key 'web1'.",
         "yaml-duplicate-key.yml:5:5: found duplicate mapping key 'web1', using last defined "
         "value only")],
    "yaml-group-shapes.yml": [
        (f"Skipping unexpected key (hostz) in group (web), {SECTIONS}",
         f"yaml-group-shapes.yml:6:3: skipping unexpected key (hostz) in group (web) (did you "
         f"mean 'hosts'?), {SECTIONS}"),
        ("Skipping key (vars_extra) in group (web) as it is not a mapping",
         "yaml-group-shapes.yml:8:3: skipping key (vars_extra) in group (web) as it is not a "
         "mapping, it is a string"),
        ("Skipping key (other) in group (web) as it is not a mapping",
         "yaml-group-shapes.yml:9:3: skipping key (other) in group (web) as it is not a "
         "mapping, it is a list"),
        ("Skipping 'db' as this is not a valid group definition",
         "yaml-group-shapes.yml:11:1: skipping 'db' as this is not a valid group definition (a "
         "list, not a mapping of hosts/children/vars)"),
        ("Skipping 'cache' as this is not a valid group definition",
         "yaml-group-shapes.yml:12:1: skipping 'cache' as this is not a valid group definition "
         "(a string, not a mapping of hosts/children/vars)"),
        ("Skipping 'web' as this is not a valid group definition",
         "yaml-group-shapes.yml:15:5: skipping 'web' as this is not a valid group definition (a "
         "list, not a mapping of hosts/children/vars)"),
        # a name YAML reads as a number is quoted as any other
        ("Skipping '2' as this is not a valid group definition",
         "yaml-group-shapes.yml:16:1: skipping '2' as this is not a valid group definition (a "
         "list, not a mapping of hosts/children/vars)")],
    "yaml-host-group-clash.yml": [
        ("Found both group and host with same name: db",
         "yaml-host-group-clash.yml:3:5: found both group and host with same name: db (group "
         "defined at {warns}/yaml-host-group-clash.yml:5:1; a pattern naming it selects the "
         "host)")],
    # Ansible also warns about keys overriding merged ones; they are no duplicates (YAML 1.1).
    # host 'web' is in no group but all: its name files the group 'web' under ungrouped
    "yaml-host-group-in-all.yml": [
        ("Found both group and host with same name: web",
         "yaml-host-group-in-all.yml:4:5: found both group and host with same name: web (group "
         "defined at {warns}/yaml-host-group-in-all.yml:10:9; a pattern naming it selects the "
         "host)")],
    "yaml-merge.yml": [
        ("Found duplicate mapping key 'ansible_user'.",
         "yaml-merge.yml:21:7: found duplicate mapping key 'ansible_user', using last defined "
         "value only")],
    "yaml-names.yml": [
        ("Invalid characters were found in group names but not replaced",
         "yaml-names.yml:2:1: invalid characters were found in group name 'web-servers' but not "
         "replaced (Ansible keeps them, but they cannot be used as variable names)"),
        ("Accepting inventory variable with invalid name 'my-var'",
         f"yaml-names.yml:5:7: accepting inventory variable with invalid name 'my-var' {NAMES}"),
        ("Accepting inventory variable with invalid name '1abc'",
         f"yaml-names.yml:7:5: accepting inventory variable with invalid name '1abc' {NAMES}")],
    "yaml-range-empty.yml": [
        (None, "yaml-range-empty.yml:4:5: host range 'web[9:3]' yields no hosts (Ansible skips "
               "it silently)")],
    "yaml-tags.yml": [
        ("Use of the YAML `!!omap` tag is deprecated.",
         "yaml-tags.yml:5:14: use of the YAML `!!omap` tag is deprecated (Ansible); use a "
         "standard mapping instead"),
        ("Use of the YAML `!!pairs` tag is deprecated.",
         "yaml-tags.yml:6:14: use of the YAML `!!pairs` tag is deprecated (Ansible); use a "
         "standard mapping instead"),
        ("Found variable using reserved name 'order'.",
         "yaml-tags.yml:5:7: found variable using reserved name 'order'")],
    "yaml-unknown-key.yml": [
        (f"Skipping unexpected key (hostz) in group (web), {SECTIONS}",
         f"yaml-unknown-key.yml:4:7: skipping unexpected key (hostz) in group (web) (did you "
         f"mean 'hosts'?), {SECTIONS}"),
        (None, "yaml-unknown-key.yml: provided hosts list is empty, only localhost is available "
               "(the implicit localhost does not match 'all')")],
}

Results = dict[tuple[str, str], Run]


# Said where hosts' variables are worked out (--list, a scan), not by --export, as Ansible.
PER_HOST = "found variable using reserved name"


def _lines(name: str, view: str = "list") -> list[str]:
    return [f"{WARNS}/{ours.replace('{warns}', str(WARNS))}" for _, ours in EXPECTED[name]
            if view == "list" or PER_HOST not in ours]


def _as_the_merge_type_says(name: str, listed: str) -> str:
    """Ansible's listing of `name`, with web2's port as the merge type gives it where the
    installed PyYAML has the merge-precedence regression (tests/yamlmerge.py): web2 merges
    [*more, {ansible_port: 2200}], and the earlier mapping's 22 wins."""
    if name != "yaml-merge.yml" or pyyaml_merges_follow_the_spec():
        return listed
    regressed = '"ansible_port": 2200'
    assert listed.count(regressed) == 1, listed
    return listed.replace(regressed, '"ansible_port": 22')


def ask_ahead(root: Path) -> Callable[[], Results]:
    """ansible-inventory --list and --list --export of every fixture, run concurrently and
    started in the background (tests/ahead.py)."""
    jobs = [(name, view) for name in sorted(EXPECTED) for view in ("list", "export")]
    pending = Oracle(root).start([("ansible-inventory",
                                   ["-i", str(WARNS / name), "--list",
                                    *(["--export"] if view == "export" else [])])
                                  for name, view in jobs], [], background=True)
    return lambda: dict(zip(jobs, pending.result()[0], strict=True))


@pytest.fixture(scope="module")
def oracle(tmp_path_factory: pytest.TempPathFactory) -> Results:
    """Ansible's answers for every fixture (ask_ahead)."""
    require_ansible()
    results: Results = ahead.take(__name__, tmp_path_factory, ask_ahead)
    return results


def test_every_fixture_is_expected() -> None:
    assert sorted(p.name for p in WARNS.iterdir()) == sorted(EXPECTED)


@pytest.mark.parametrize("view", ["list", "export"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_list_equals_ansible_and_warns_as_it_does(oracle: Results, name: str, view: str) -> None:
    theirs = oracle[(name, view)]
    assert theirs.code == 0, theirs.err
    res = run_cli(["inventory", "-i", str(WARNS / name), "--list",
                   *(["--export"] if view == "export" else [])], cwd=REPO)
    assert res.code == 0, res.err
    assert res.out == _as_the_merge_type_says(name, theirs.out)
    assert res.err == "".join(f"fleetcheck: warning: {line}\n" for line in _lines(name, view))
    said = " ".join(theirs.err.split())  # Ansible wraps long warnings
    for phrase, ours in EXPECTED[name]:
        if phrase is not None and (view == "list" or PER_HOST not in ours):
            assert phrase in said, phrase


@pytest.mark.parametrize("name", [n for n in sorted(EXPECTED) if EXPECTED[n]])
def test_strict_inventory_makes_the_first_warning_an_error(name: str) -> None:
    for command in (["inventory", "--list"], ["validate"]):
        res = run_cli([command[0], "-i", str(WARNS / name), "--strict-inventory",
                       *command[1:]], cwd=REPO)
        assert res.code == 2, res.out
        first = _lines(name)[0]
        if command[0] == "inventory":
            assert (res.out, res.err) == ("", f"fleetcheck: error: {first}{HINT}\n")
        else:
            where, message = first.split(": ", 1)
            # validate lists problems by file: the error stands among them
            assert f"{where}: error: {message}{HINT}" in res.out.splitlines()


def test_validate_lists_inventory_warnings_and_strict_fails_on_them() -> None:
    inventory = WARNS / "ini-localhost-twice.ini"
    res = run_cli(["validate", "-i", str(inventory)], cwd=REPO)
    assert res.code == 0, res.out
    where, message = _lines("ini-localhost-twice.ini")[0].split(": ", 1)
    assert f"{where}: warning: {message}" in res.out.splitlines()
    assert run_cli(["validate", "-i", str(inventory), "--strict"], cwd=REPO).code == 2


def test_scan_of_an_empty_inventory_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    res = run_cli(["scan", "-i", str(WARNS / "empty-inventory"), "-o", str(tmp_path)],
                  cwd=tmp_path)
    assert res.code == 2
    assert res.err.endswith("fleetcheck: error: inventory defines no hosts\n")


def _report(out: Path, extension: str) -> Path:
    """The run's own report with this extension ('csv' is not '.groups.csv' or the latest)."""
    (path,) = [p for p in out.glob("fleetcheck-2*") if p.name.split(".", 1)[1] == extension]
    return path


def test_a_scan_records_inventory_warnings_in_every_report(tmp_path: Path) -> None:
    """The warnings reach stderr once and the run's reports (this machine, scanned locally)."""
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    box: {ansible_connection: local}\n"
                                      "  hostz:\n    typo1:\n")
    res = run_cli(["scan", "-i", "inv.yml", "-l", "box,nosuch", "-o", "out", "--format",
                   "text,html,json,junit,csv"], cwd=tmp_path)
    assert res.code in (0, 1, 3), res.err
    expected = [f"inv.yml:4:3: skipping unexpected key (hostz) in group (all) (did you mean "
                f"'hosts'?), {SECTIONS}",
                "could not match supplied host pattern, ignoring: nosuch"]
    for line in expected:
        assert res.err.count(f"fleetcheck: warning: {line}\n") == 1, res.err
    run = json.loads(_report(tmp_path / "out", "json").read_text())
    assert [w for w in run["meta"]["warnings"] if w.startswith("inventory: ")] == [
        f"inventory: {line}" for line in expected]
    text = " ".join(_report(tmp_path / "out", "txt").read_text().split())  # unwrapped
    html = html_unescape(_report(tmp_path / "out", "html").read_text())
    junit = ElementTree.parse(_report(tmp_path / "out", "xml"))  # noqa: S314 -- ours
    properties = [p.get("value") for p in junit.iter("property") if p.get("name") == "warning"]
    rows = list(csv.DictReader(_report(tmp_path / "out", "csv").open(newline="")))
    for line in expected:
        assert f"WARNING: inventory: {line}" in text
        assert f"inventory: {line}" in html
        assert f"inventory: {line}" in properties
        assert {"kind": "input_warning", "message": f"inventory: {line}"}.items() <= next(
            r for r in rows if r["message"] == f"inventory: {line}").items()
    strict = run_cli(["scan", "-i", "inv.yml", "-o", "strict", "--strict-inventory"],
                     cwd=tmp_path)
    assert (strict.code, strict.err) == (2, f"fleetcheck: error: {expected[0]}{HINT}\n")
    assert not (tmp_path / "strict").exists()
