"""The entries of an inventory directory that are not read, as ansible-core's settings say:
`inventory_ignore_extensions` (ANSIBLE_INVENTORY_IGNORE) replaces the default extensions,
`inventory_ignore_patterns` (ANSIBLE_INVENTORY_IGNORE_REGEX) adds regular expressions
searched in each name. ansible-inventory, under the same settings, is the oracle.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.inventory.oracle import Oracle, require_ansible

# Every file here is a valid inventory, so that which ones are read shows in the listing.
FILES = {
    "10-web.ini": "[web]\nw1\n",
    "20-web.ini.j2": "[templated]\nt1\n",
    "30-db.ini": "[db]\nd1\n",
    "40-extra.orig": "[orig]\no1\n",
    "old-site.yml": "all:\n  hosts:\n    old1:\n",
    "draft.yaml": "all:\n  children:\n    drafts:\n      hosts:\n        dr1:\n",
}

SETTINGS = [
    {},
    {"ANSIBLE_INVENTORY_IGNORE": ".j2, .orig"},
    {"ANSIBLE_INVENTORY_IGNORE": ".j2", "ANSIBLE_INVENTORY_IGNORE_REGEX": "^old-,ft\\.y"},
    {"ANSIBLE_INVENTORY_IGNORE_REGEX": "^[0-9]+-(web|db)"},
    {"ansible.cfg": "[defaults]\ninventory_ignore_extensions = .j2\n"
                    "inventory_ignore_patterns = ^old-, ^draft\n"},
]


@pytest.mark.parametrize("settings", SETTINGS, ids=["default", "extensions", "both",
                                                    "patterns", "ansible.cfg"])
def test_a_directory_is_read_as_ansible_inventory_reads_it(tmp_path: Path,
                                                           settings: dict[str, str]) -> None:
    require_ansible()
    inv = tmp_path / "inv"
    inv.mkdir()
    for name, text in FILES.items():
        (inv / name).write_text(text)
    oracle = Oracle(tmp_path / "oracle")
    environ = {k: v for k, v in settings.items() if k != "ansible.cfg"}
    if "ansible.cfg" in settings:
        config = tmp_path / "site.cfg"
        config.write_text(settings["ansible.cfg"])
        environ["ANSIBLE_CONFIG"] = str(config)
    oracle.env.update(environ)
    theirs = oracle.run("ansible-inventory", ["-i", str(inv), "--list"])
    assert theirs.code == 0, theirs.err
    ours = run_cli(["inventory", "-i", str(inv), "--list"], cwd=tmp_path, environ=environ)
    assert (ours.code, ours.err) == (0, "")
    assert ours.out == theirs.out


def test_a_pattern_that_is_no_regular_expression_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("[web]\nw1\n")
    res = run_cli(["inventory", "-i", str(tmp_path), "--list"], cwd=tmp_path,
                  environ={"ANSIBLE_INVENTORY_IGNORE_REGEX": "^ok,[bad"})
    assert (res.code, res.out) == (2, "")
    assert res.err == ("fleetcheck: error: inventory_ignore_patterns (env "
                       "ANSIBLE_INVENTORY_IGNORE_REGEX): '[bad' is no regular expression: "
                       "unterminated character set at position 0\n")


def test_a_file_named_with_i_is_read_whatever_its_name(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini.j2").write_text("[web]\nw1\n")
    res = run_cli(["inventory", "-i", str(tmp_path / "hosts.ini.j2"), "--list-hosts"],
                  cwd=tmp_path, environ={"ANSIBLE_INVENTORY_IGNORE": ".j2"})
    assert (res.code, res.out) == (0, "w1\n")
