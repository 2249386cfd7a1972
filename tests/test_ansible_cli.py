"""Ansible's flags on the command line: --list-hosts, -c, -T and --command-timeout, what
configuration gives them, and what is refused before any host is contacted."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from fleetcheck.cli.common import load_inputs, plan_hosts
from fleetcheck.cli.config_cmd import configure
from fleetcheck.cli.env import Env
from fleetcheck.cli.main import build_parser
from fleetcheck.cli.scan_args import scan_options
from fleetcheck.engine.options import ScanOptions
from tests.conftest import run_cli

INVENTORY = """\
[web]
web1 ansible_host=192.0.2.1
web2 ansible_host=192.0.2.2
win1 ansible_host=192.0.2.3 ansible_connection=winrm
pb1 ansible_host=192.0.2.4 ansible_become=true ansible_become_method=pbrun
box ansible_connection=local
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    (tmp_path / "hosts.ini").write_text(INVENTORY)
    return tmp_path


def test_list_hosts_prints_what_would_be_contacted_and_contacts_nothing(site: Path) -> None:
    res = run_cli(["scan", "-i", "hosts.ini", "--list-hosts", "-o", "reports"], cwd=site)
    assert (res.code, res.out) == (0, "web1\nweb2\nbox\n")
    assert res.err == (
        "fleetcheck: win1 would not be contacted: ansible_connection=winrm is not supported "
        "(fleetcheck connects with ssh, paramiko, local)\n"
        "fleetcheck: pb1 would not be contacted: become method 'pbrun' is not supported "
        "(fleetcheck becomes with sudo, su, doas)\n")
    assert not (site / "reports").exists()  # no report, no directory


def test_an_empty_address_is_no_address(tmp_path: Path) -> None:
    # '' is set (ansible-core connects to the empty name and fails the host); null is not
    (tmp_path / "hosts.yml").write_text(
        "all:\n  vars:\n    empty: ''\n  hosts:\n    a:\n      ansible_host: ''\n"
        "    b:\n      ansible_ssh_host: '{{ empty }}'\n      ansible_host: 192.0.2.9\n"
        "    c:\n      ansible_host: null\n"
        "    d:\n      ansible_host: ''\n      ansible_connection: local\n")
    res = run_cli(["scan", "-i", "hosts.yml", "--list-hosts"], cwd=tmp_path)
    assert (res.code, res.out) == (0, "c\nd\n")
    assert res.err == "".join(
        f"fleetcheck: {h} would not be contacted: its address ({var}) is empty: there is "
        "nothing to connect to (ansible-core fails such a host too)\n"
        for h, var in (("a", "ansible_host"), ("b", "ansible_ssh_host")))


def test_list_hosts_follows_limit_and_shard(site: Path) -> None:
    res = run_cli(["scan", "-i", "hosts.ini", "--list-hosts", "-l", "web?:!web1"], cwd=site)
    assert res.out == "web2\n"
    shards = [run_cli(["scan", "-i", "hosts.ini", "--list-hosts", "-l", "web1,web2,box",
                       "--shard", f"{k}/2"], cwd=site).out.split() for k in (1, 2)]
    assert sorted(shards[0] + shards[1]) == ["box", "web1", "web2"]


def test_list_hosts_still_refuses_bad_input(site: Path) -> None:
    (site / "policy.yml").write_text("policies: [\n")
    res = run_cli(["scan", "-i", "hosts.ini", "-p", "policy.yml", "--list-hosts"], cwd=site)
    assert res.code == 2 and res.out == ""


@pytest.mark.parametrize(("argv", "environ", "error"), [
    (["--private-key", "gone"], {}, "gone: --private-key: key file not found"),
    ([], {"ANSIBLE_PRIVATE_KEY_FILE": "gone"},
     "gone: key file not found (private_key_file from env ANSIBLE_PRIVATE_KEY_FILE)"),
    (["--known-hosts", "gone"], {}, "gone: --known-hosts: known_hosts file not found"),
    # a directory is no file in any mode: accept-new could not record a key in it either
    (["--known-hosts", ".", "--host-key-checking", "accept-new"], {},
     ": --known-hosts names a directory, not a known_hosts file"),
    (["--private-key", "."], {}, ": --private-key: is a directory, not a key file"),
    (["-T", "0"], {}, "-T/--timeout must be positive"),
    (["-f", "0"], {}, "--forks must be at least 1"),
])
def test_list_hosts_checks_the_connection_options_as_a_scan_does(
        site: Path, argv: list[str], environ: dict[str, str], error: str) -> None:
    res = run_cli(["scan", "-i", "hosts.ini", "--list-hosts", *argv], cwd=site,
                  environ=environ)
    assert res.code == 2 and res.out == "" and error in res.err, res.err


def test_list_hosts_asks_for_no_password(site: Path) -> None:
    """-k and -K are checked, never prompted for: stdin is empty, and the list is printed."""
    res = run_cli(["scan", "-i", "hosts.ini", "--list-hosts", "-k", "-K", "-l", "web1"],
                  cwd=site)
    assert (res.code, res.out) == (0, "web1\n"), res.err


def test_connection_from_the_command_line_is_one_fleetcheck_serves(site: Path) -> None:
    res = run_cli(["scan", "-i", "hosts.ini", "-c", "winrm"], cwd=site)
    assert (res.code, res.err) == (
        2, "fleetcheck: error: argument -c/--connection: fleetcheck connects with ssh, "
           "paramiko, local, not 'winrm'\n")
    res = run_cli(["scan", "-i", "hosts.ini", "-c", "local", "-l", "web1", "--format", "json",
                   "-o", "-"], cwd=site)
    host = json.loads(res.out)["hosts"][0]
    assert host["error"] is None and host["collector"]  # checked here, through local


def test_an_unsupported_transport_in_configuration_marks_each_host(site: Path) -> None:
    res = run_cli(["scan", "-i", "hosts.ini", "-l", "web1,box", "--format", "json", "-o", "-"],
                  cwd=site, environ={"ANSIBLE_TRANSPORT": "docker"})
    hosts = {h["name"]: h for h in json.loads(res.out)["hosts"]}
    assert hosts["web1"]["error"] == {
        "kind": "unsupported_connection",
        "message": "transport=docker is not supported (fleetcheck connects with "
                   "ssh, paramiko, local)"}
    assert hosts["box"]["error"] is None
    assert res.code in (1, 3)


def _options(root: Path, argv: list[str], environ: dict[str, str]) -> ScanOptions:
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(),
              environ={"HOME": str(root / "home"), **environ}, cwd=root)
    args = build_parser().parse_args(["scan", "-i", "hosts.ini", "-l", "box", *argv])
    args.settings = configure(args, env)
    return scan_options(args, env, plan_hosts(load_inputs(args, env), args, env))[1]


def test_T_is_the_connection_timeout_and_the_command_has_its_own(site: Path) -> None:
    options = _options(site, ["-T", "4"], {})
    assert (options.ssh.connect_timeout, options.command_timeout) == (4.0, 60.0)
    options = _options(site, ["--timeout", "5", "--command-timeout", "90"], {})
    assert (options.ssh.connect_timeout, options.command_timeout) == (5.0, 90.0)
    options = _options(site, [], {"ANSIBLE_TIMEOUT": "6", "FLEETCHECK_COMMAND_TIMEOUT": "120"})
    assert (options.ssh.connect_timeout, options.command_timeout) == (6.0, 120.0)
    (site / "fleetcheck.yml").write_text("command_timeout: 33\n")
    options = _options(site, ["--connect-timeout", "8"], {})
    assert (options.ssh.connect_timeout, options.command_timeout) == (8.0, 33.0)
    assert options.deadline == 180.0  # enough for both, at least 180


def test_become_password_from_the_environment_is_never_shown(site: Path) -> None:
    environ = {"HOME": str(site), "ANSIBLE_BECOME_PASS": "env-Secr3t"}
    text = run_cli(["config"], cwd=site, environ=environ)
    shown = run_cli(["config", "--format", "json"], cwd=site, environ=environ)
    assert "env-Secr3t" not in text.out + shown.out
    assert 'become_password = "[REDACTED]"  (env ANSIBLE_BECOME_PASS)' in text.out
    res = run_cli(["scan", "-i", "hosts.ini", "-l", "box", "-b", "--format", "json,text",
                   "-o", "out"], cwd=site, environ=environ)
    # every file written, the history database (and its WAL) included
    written = "".join(p.read_bytes().decode("utf-8", "replace") for p in (site / "out").iterdir())
    assert "env-Secr3t" not in res.out + res.err + written


@pytest.mark.parametrize(("argv", "environ", "message"), [
    ([], {"ANSIBLE_REMOTE_PORT": "70000"},
     "remote_port (env ANSIBLE_REMOTE_PORT) must be a port number (1-65535), not 70000"),
    (["-e", "ansible_ssh_timeout=soon"], {},
     "-e #1: host 'web1': ansible_ssh_timeout must be a number of seconds, not 'soon'"),
    (["--ssh-common-args=-o 'ProxyJump=x"], {},
     "ssh_common_args (command line (--ssh-common-args)) cannot be split into arguments: "
     "No closing quotation"),
    (["--command-timeout", "0"], {}, "--command-timeout must be positive"),
])
def test_bad_values_are_bad_input_before_any_contact(site: Path, argv: list[str],
                                                     environ: dict[str, str],
                                                     message: str) -> None:
    res = run_cli(["scan", "-i", "hosts.ini", "-l", "web1", *argv], cwd=site, environ=environ)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {message}\n")


def test_ssh_args_take_their_dashed_value_spaced_as_documented(tmp_path: Path) -> None:
    """`--ssh-common-args '-o ProxyJump=ops@bastion'` (docs/cli.md's example, as
    ansible-playbook takes it): argparse alone reads the '-o' as --output-dir and stops."""
    (tmp_path / "hosts.ini").write_text("h1 ansible_host=127.0.0.1 ansible_port=1\n")
    res = run_cli(["scan", "-i", "hosts.ini", "--ssh-common-args", "-o ProxyJump=ops@bastion",
                   "--list-hosts"], cwd=tmp_path)
    assert (res.code, res.out) == (0, "h1\n"), res.err
    res = run_cli(["scan", "-i", "hosts.ini", "--ssh-extra-args", "-A", "--retries", "0",
                   "--no-history", "-o", "-", "--format", "json"], cwd=tmp_path)
    assert res.code == 3 and "fleetcheck's SSH ignores -A" in res.err, res.err
    forgot = run_cli(["scan", "--ssh-extra-args", "--list-hosts"], cwd=tmp_path)
    assert forgot.code == 2 and "--ssh-extra-args: expected one argument" in forgot.err
