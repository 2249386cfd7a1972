"""The ssh arguments configuration gives: what fleetcheck's SSH honours, the rest reported once."""

from __future__ import annotations

import re
from pathlib import Path

from fleetcheck.config.sshargs import HONOURED_OPTIONS, ignored
from tests.conftest import REPO, run_cli


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
