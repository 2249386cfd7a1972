"""ansible-core's host_pattern_mismatch ([inventory] host_pattern_mismatch,
ANSIBLE_HOST_PATTERN_MISMATCH): a --limit term that matches no host is a warning (the
default), bad input (exit 2, before any host is contacted) or passed over in silence.
ansible-inventory under the same setting is the oracle where it answers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.inventory.oracle import Oracle, require_ansible

INVENTORY = "[web]\nw1 ansible_connection=local\nw2 ansible_connection=local\n[db]\nd1\n"
WARNING = "fleetcheck: warning: could not match supplied host pattern, ignoring: nosuch\n"
ERROR = ("fleetcheck: error: could not match supplied host pattern: nosuch "
         "(host_pattern_mismatch is error)\n")


@pytest.mark.parametrize(("mode", "code", "err"), [
    ("warning", 0, WARNING), ("ignore", 0, ""), ("error", 2, ERROR)])
def test_a_term_matching_nothing_is_as_the_setting_says(tmp_path: Path, mode: str, code: int,
                                                        err: str) -> None:
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    environ = {"ANSIBLE_HOST_PATTERN_MISMATCH": mode}
    for command in (["inventory", "--list-hosts"], ["scan", "--list-hosts"]):
        res = run_cli([command[0], "-i", "hosts.ini", "--limit", "web:nosuch", *command[1:]],
                      cwd=tmp_path, environ=environ)
        assert (res.code, res.err) == (code, err), command
        assert res.out == ("" if code else "w1\nw2\n"), command


def test_the_setting_comes_from_ansible_cfg_and_strict_still_wins(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    (tmp_path / "ansible.cfg").write_text("[inventory]\nhost_pattern_mismatch = ignore\n")
    argv = ["inventory", "-i", "hosts.ini", "--limit", "nosuch:db", "--list-hosts"]
    res = run_cli(argv, cwd=tmp_path)
    assert (res.code, res.out, res.err) == (0, "d1\n", "")
    res = run_cli(["scan", "-i", "hosts.ini", "--limit", "nosuch:db", "--list-hosts"],
                  cwd=tmp_path)
    assert (res.code, res.out, res.err) == (0, "d1\n", "")
    (tmp_path / "ansible.cfg").write_text("[inventory]\nhost_pattern_mismatch = warning\n")
    res = run_cli([*argv, "--strict-inventory"], cwd=tmp_path)
    assert res.code == 2 and "could not match supplied host pattern" in res.err


@pytest.mark.parametrize("mode", ["warning", "ignore", "error"])
def test_list_with_a_limit_answers_as_ansible_inventory(tmp_path: Path, mode: str) -> None:
    require_ansible()
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    oracle = Oracle(tmp_path / "oracle")
    oracle.env["ANSIBLE_HOST_PATTERN_MISMATCH"] = mode
    argv = ["-i", str(tmp_path / "hosts.ini"), "--list", "--limit", "web:nosuch"]
    theirs = oracle.run("ansible-inventory", argv)
    ours = run_cli(["inventory", *argv], cwd=tmp_path,
                   environ={"ANSIBLE_HOST_PATTERN_MISMATCH": mode})
    assert (ours.code == 0) == (theirs.code == 0), theirs.err
    assert ours.out == (theirs.out if theirs.code == 0 else "")
    said = "Could not match supplied host pattern" in theirs.err
    assert ("could not match supplied host pattern" in ours.err) == said
