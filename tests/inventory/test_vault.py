"""Ansible Vault: data made by the real `ansible-vault` at test time, read by fleetcheck.

`!vault` values load without a password (they stay encrypted; `--list` prints
them as ansible-inventory does); a host whose connection needs one is a located
per-variable error unless a password file is given. Whole-file vaults need it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleetcheck.errors import InputError
from fleetcheck.inventory import load
from fleetcheck.inventory.values import Origin, VaultValue
from fleetcheck.inventory.vault import Keyring, read_password_file
from fleetcheck.plan import plan
from tests.conftest import run_cli
from tests.inventory.oracle import Oracle, Run, require_ansible

# Test-only secrets, encrypted at test time by ansible-vault.
PASSWORD = "correct horse battery staple"  # noqa: S105
SSH_SECRET = "hunter2-ssh"  # noqa: S105
BECOME_SECRET = "s3cr3t-become"  # noqa: S105


@dataclass(frozen=True)
class VaultLab:
    """Inventories holding vaulted data, the password file, and ansible's view of them."""

    root: Path
    password_file: Path
    inline: Path  # !vault values only
    whole: Path  # plus a vault-encrypted group_vars file
    labelled_text: str  # an encrypt_string result in vault format 1.2 (with a vault id)
    oracle: dict[str, Run]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> VaultLab:
    require_ansible()
    root = tmp_path_factory.mktemp("vault")
    oracle = Oracle(root / "oracle")
    password_file = root / "vault-pass.txt"
    password_file.write_text(PASSWORD + "\n")
    pw = ["--vault-password-file", str(password_file)]
    made = oracle.many([
        ("ansible-vault", ["encrypt_string", *pw, SSH_SECRET, "--name", "ansible_password"]),
        ("ansible-vault", ["encrypt_string", "--vault-id", f"prod@{password_file}",
                           "labelled", "--name", "x"]),
    ])
    assert all(r.code == 0 for r in made), [r.err for r in made]
    inline = root / "inline"
    (inline / "host_vars").mkdir(parents=True)
    (inline / "hosts.ini").write_text("[db]\ndb1\ndb2 ansible_password=plain-pw\n")
    (inline / "host_vars" / "db1.yml").write_text(made[0].out)
    whole = root / "whole"
    (whole / "group_vars" / "db").mkdir(parents=True)
    (whole / "host_vars").mkdir()
    (whole / "hosts.ini").write_text("[db]\ndb1\n")
    (whole / "host_vars" / "db1.yml").write_text(made[0].out)
    secret_file = whole / "group_vars" / "db" / "vault.yml"
    secret_file.write_text(f"ansible_become_password: {BECOME_SECRET}\nansible_become: true\n")
    encrypted = oracle.many([("ansible-vault", ["encrypt", *pw, str(secret_file)])])
    assert encrypted[0].code == 0, encrypted[0].err
    views = {"inline": ["-i", str(inline), "--list"],
             "whole": ["-i", str(whole), "--list", *pw],
             "host": ["-i", str(whole), "--host", "db1", *pw],
             "graph-vars": ["-i", str(inline), "--graph", "--vars", *pw],
             "graph-vars-locked": ["-i", str(inline), "--graph", "--vars"]}
    runs = oracle.many([("ansible-inventory", args) for args in views.values()])
    labelled = made[1].out.split("|", 1)[1]
    return VaultLab(root, password_file, inline, whole, labelled,
                    dict(zip(views, runs, strict=True)))


def _ciphertext(lab: VaultLab) -> str:
    value = load([str(lab.inline)]).select("db1")[0].vars["ansible_password"]
    assert isinstance(value, VaultValue)
    return value.ciphertext


def test_decrypts_what_ansible_vault_encrypted(lab: VaultLab) -> None:
    keyring = Keyring([read_password_file(str(lab.password_file))])
    assert keyring.decrypt_text(_ciphertext(lab), Origin("x")) == SSH_SECRET
    assert keyring.decrypt_text(lab.labelled_text, Origin("x")) == "labelled"  # format 1.2


def test_list_prints_vault_values_as_ansible_does(lab: VaultLab) -> None:
    for view, inventory, extra in (("inline", lab.inline, []),
                                   ("whole", lab.whole,
                                    ["--vault-password-file", str(lab.password_file)])):
        res = run_cli(["inventory", "-i", str(inventory), "--list", *extra], cwd=lab.root)
        assert res.code == 0, res.err
        assert res.out == lab.oracle[view].out
    hostvars = json.loads(lab.oracle["inline"].out)["_meta"]["hostvars"]
    assert "__ansible_vault" in hostvars["db1"]["ansible_password"]


def test_host_view_matches_ansible(lab: VaultLab) -> None:
    res = run_cli(["inventory", "-i", str(lab.whole), "--host", "db1", "--vault-password-file",
                   str(lab.password_file)], cwd=lab.root)
    assert res.out == lab.oracle["host"].out


def test_graph_vars_shows_values_decrypted_or_marked(lab: VaultLab) -> None:
    opened = run_cli(["inventory", "-i", str(lab.inline), "--graph", "--vars",
                      "--vault-password-file", str(lab.password_file)], cwd=lab.root)
    assert opened.out == lab.oracle["graph-vars"].out
    assert f"  |  |  |--{{ansible_password = {SSH_SECRET}}}" in opened.out.splitlines()
    # without the password ansible-inventory stops; fleetcheck marks the value instead
    locked = lab.oracle["graph-vars-locked"]
    assert locked.code != 0 and "no vault secrets found" in locked.err
    res = run_cli(["inventory", "-i", str(lab.inline), "--graph", "--vars"], cwd=lab.root)
    assert res.code == 0, res.err
    assert res.out == opened.out.replace(SSH_SECRET, "<vault-encrypted>")


def test_no_password_is_a_per_variable_error_naming_host_variable_and_place(
        lab: VaultLab) -> None:
    inventory = load([str(lab.inline)])
    with pytest.raises(InputError) as caught:
        plan(inventory, [], limit="db1")
    assert str(caught.value) == (
        f"{lab.inline / 'host_vars' / 'db1.yml'}:1:19: host 'db1': variable ansible_password "
        "is vault-encrypted and no vault password was given (use --vault-password-file)")
    assert plan(inventory, [], limit="db2")[0].password == "plain-pw"  # noqa: S105


def test_password_file_opens_values_for_the_connection(lab: VaultLab) -> None:
    inventory = load([str(lab.whole)], vault_password_file=str(lab.password_file))
    host = plan(inventory, [], limit="db1")[0]
    assert host.password == SSH_SECRET
    assert host.become is not None and host.become.password == BECOME_SECRET
    shown = repr(host) + repr(inventory.select("db1")) + repr(host.become)
    assert SSH_SECRET not in shown and BECOME_SECRET not in shown


def test_wrong_password_is_a_located_error(lab: VaultLab, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong.txt"
    wrong.write_text("not the password\n")
    inventory = load([str(lab.inline)], vault_password_file=str(wrong))
    with pytest.raises(InputError, match=r"db1\.yml:1:19: host 'db1': variable "
                                         r"ansible_password: cannot decrypt vault data: "
                                         r"no vault password given opens it"):
        plan(inventory, [], limit="db1")
    res = run_cli(["inventory", "-i", str(lab.whole), "--list", "--vault-password-file",
                   str(wrong)], cwd=tmp_path)
    assert res.code == 2
    assert res.err == (f"fleetcheck: error: {lab.whole / 'group_vars' / 'db' / 'vault.yml'}:1: "
                       "cannot decrypt vault data: no vault password given opens it "
                       "(HMAC mismatch)\n")


def test_vaulted_file_without_password_stops(lab: VaultLab) -> None:
    res = run_cli(["inventory", "-i", str(lab.whole), "--list"], cwd=lab.root)
    assert res.code == 2
    assert res.err == (f"fleetcheck: error: {lab.whole / 'group_vars' / 'db' / 'vault.yml'}:1: "
                       "vault-encrypted data and no vault password was given "
                       "(use --vault-password-file)\n")
    res = run_cli(["validate", "-i", str(lab.whole)], cwd=lab.root)
    assert res.code == 2
    assert res.out.startswith(f"{lab.whole / 'group_vars' / 'db' / 'vault.yml'}:1: error: "
                              "vault-encrypted data and no vault password was given")


def test_password_from_executable_and_from_environment(lab: VaultLab, tmp_path: Path) -> None:
    script = tmp_path / "vault-pass.sh"
    script.write_text(f"#!/bin/sh\necho '{PASSWORD}'\n")
    script.chmod(0o755)
    res = run_cli(["validate", "-i", str(lab.whole), "--vault-password-file", str(script)],
                  cwd=tmp_path)
    assert (res.code, res.err) == (0, "")
    res = run_cli(["validate", "-i", str(lab.whole)], cwd=tmp_path,
                  environ={"ANSIBLE_VAULT_PASSWORD_FILE": str(lab.password_file)})
    assert (res.code, res.err) == (0, "")
    assert SSH_SECRET not in res.out and BECOME_SECRET not in res.out



@pytest.mark.parametrize("command", [["scan", "--list-hosts"], ["inventory", "--list"],
                                     ["validate"]])
def test_a_password_script_runs_once_per_command(lab: VaultLab, tmp_path: Path,
                                                 command: list[str]) -> None:
    """The vault password script runs once, as in Ansible, though the inventory and -e
    (a vault-encrypted @file) both need it; a script that asks a person would ask twice."""
    calls = tmp_path / "calls"
    script = tmp_path / "vault-pass.sh"
    script.write_text(f"#!/bin/sh\necho run >> '{calls}'\necho '{PASSWORD}'\n")
    script.chmod(0o755)
    extra = tmp_path / "extra.yml"
    extra.write_bytes((lab.whole / "group_vars" / "db" / "vault.yml").read_bytes())
    res = run_cli([*command, "-i", str(lab.whole), "--vault-password-file", str(script),
                   *(["-e", f"@{extra}"] if command[0] != "validate" else [])], cwd=tmp_path)
    assert res.code == 0, res.err
    assert calls.read_text().splitlines() == ["run"]
    if command[0] == "inventory":
        assert json.loads(res.out)["_meta"]["hostvars"]["db1"]["ansible_become"] is True


def test_unusable_password_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_text("\n")
    for path, message in ((tmp_path / "missing", "vault password file not found"),
                          (empty, "vault password file is empty"),
                          (tmp_path, "vault password file is a directory")):
        with pytest.raises(InputError, match=message):
            read_password_file(str(path))
