"""The ssh arguments configuration gives: what fleetcheck's SSH honours, the rest reported once."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fleetcheck.config.sshargs import HONOURED_OPTIONS, hosts_note, ignored
from tests.conftest import REPO, run_cli, run_files


def test_ignored_arguments_are_named_as_written() -> None:
    args = ["-C", "-o", "ControlMaster=auto", "-oControlPersist=60s", "-o", "ProxyJump=bastion",
            "-J", "jump", "-i", "key", "-p", "2222", "-l", "ops", "-o", "User ops",
            "-c", "aes128-ctr", "-4"]
    assert ignored(args) == ["-C", "-o ControlMaster=auto", "-oControlPersist=60s",
                             "-c aes128-ctr", "-4"]


def test_the_honoured_options_are_those_the_ssh_layer_reads() -> None:
    source = (REPO / "fleetcheck" / "transport" / "ssh" / "target.py").read_text()
    read = set(re.findall(r'(?:_str|_yes)\(opts, "(\w+)"\)|opts\.get\("(\w+)"\)', source))
    assert {a or b for a, b in read} == HONOURED_OPTIONS


def test_ignored_ssh_arguments_are_reported_once(tmp_path: Path) -> None:
    (tmp_path / "ansible.cfg").write_text("[ssh_connection]\nssh_args = -C -o ControlMaster=auto "
                                          "-o ProxyJump=bastion\n")
    res = run_cli(["config"], cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert res.err == (f"fleetcheck: warning: ssh_args ({tmp_path}/ansible.cfg:2 "
                       "[ssh_connection] ssh_args): fleetcheck's SSH ignores -C, -o "
                       "ControlMaster=auto (OpenSSH client features it does not use)\n")


def test_ignored_arguments_by_name_never_carry_a_value() -> None:
    """What a report may name: the flag or option, not its value (`SetEnv=TOKEN=...`)."""
    args = ["-C", "-o", "SetEnv=TOKEN=s3cret", "-oControlPersist=60s", "-o", "User=ops",
            "-c", "aes128-ctr", "stray"]
    assert ignored(args, names_only=True) == ["-C", "-o SetEnv", "-o ControlPersist", "-c",
                                              "(an argument)"]


def test_hosts_own_ignored_arguments_are_one_warning_per_set() -> None:
    hosts = [(f"web{i}", ["-o", "ControlMaster=auto", "-C"]) for i in range(1, 6)]
    hosts += [("db1", ["-o", "ProxyJump=bastion"]), ("db2", ["-C"])]
    assert hosts_note(hosts, given=["-C"]) == [
        "ssh arguments of web1, web2, web3 and 2 more: fleetcheck's SSH ignores "
        "-o ControlMaster (OpenSSH client features it does not use)"]


def test_a_scan_warns_of_the_ssh_arguments_a_host_variable_gives(tmp_path: Path) -> None:
    """Said on stderr and in the run (every report shows its warnings), values left out;
    the host (nothing listens on its port) fails as it would have anyway."""
    (tmp_path / "hosts.ini").write_text(
        "web1 ansible_host=127.0.0.1 ansible_port=9 "
        "ansible_ssh_common_args='-o ControlMaster=auto -o SetEnv=TOKEN=s3cret'\n")
    res = run_cli(["scan", "-i", "hosts.ini", "-o", "out", "--format", "json", "-T", "3"],
                  cwd=tmp_path, environ={"HOME": str(tmp_path)})
    note = ("ssh arguments of web1: fleetcheck's SSH ignores -o ControlMaster, -o SetEnv "
            "(OpenSSH client features it does not use)")
    assert f"fleetcheck: warning: {note}\n" in res.err
    (run,) = run_files(tmp_path / "out")
    data = json.loads(run.read_text())
    assert note in data["meta"]["warnings"] and "s3cret" not in run.read_text()
    assert res.code == 3 and data["hosts"][0]["error"]["kind"] == "connection_refused"
