"""Connection variables: from real inventory files to the PlannedHost the transport uses."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.errors import InputError
from fleetcheck.inventory import load
from fleetcheck.plan import Become, PlannedHost, plan
from fleetcheck.plan.variables import HONOURED_VARIABLES
from tests.conftest import REPO, run_cli


def _planned(tmp_path: Path, text: str, name: str = "h1", *, ext: str = "yml",
             **options: Any) -> PlannedHost:
    path = tmp_path / f"inventory.{ext}"
    path.write_text(text)
    return plan(load([str(path)]), [], limit=name, **options)[0]


def test_every_honoured_variable_reaches_the_planned_host(tmp_path: Path) -> None:
    host = _planned(tmp_path, """
all:
  hosts:
    h1:
      ansible_connection: paramiko
      ansible_host: 192.0.2.10
      ansible_port: "2222"
      ansible_user: deploy
      ansible_password: pw-1
      ansible_ssh_private_key_file: ~/.ssh/id_fleet
      ansible_ssh_common_args: -o ProxyJump=jump@bastion.example.net:2200
      ansible_ssh_extra_args: '-o ProxyCommand="ssh -W %h:%p gw" -4'
      ansible_shell_type: csh
      ansible_become: "yes"
      ansible_become_method: doas
      ansible_become_user: auditor
      ansible_become_password: pw-2
      fleetcheck_os: freebsd
      fleetcheck_tool: sockstat
""")
    assert host == PlannedHost(
        name="h1", address="192.0.2.10", groups=(), policies=(), connection="paramiko",
        port=2222, user="deploy", password="pw-1",  # noqa: S106
        private_key_file=str(Path("~/.ssh/id_fleet").expanduser()),
        ssh_args=("-o", "ProxyJump=jump@bastion.example.net:2200",
                  "-o", "ProxyCommand=ssh -W %h:%p gw", "-4"),
        become=Become("doas", "auditor", "pw-2"), shell_type="csh", os="freebsd",
        tool="sockstat")


def test_older_spellings_are_honoured_too(tmp_path: Path) -> None:
    host = _planned(tmp_path, "h1 ansible_ssh_host=h1.mgmt ansible_ssh_port=2200 "
                              "ansible_ssh_user=u ansible_ssh_pass=p ansible_private_key_file=k "
                              "ansible_connection=smart ansible_become=1 "
                              "ansible_become_pass=b\n", ext="ini")
    assert (host.address, host.port, host.user, host.password, host.private_key_file,
            host.connection) == ("h1.mgmt", 2200, "u", "p", "k", "ssh")
    assert host.become == Become("sudo", "root", "b")


def test_defaults_and_command_line_fallbacks(tmp_path: Path) -> None:
    host = _planned(tmp_path, "h1\n", ext="ini", user="cli-user", become=True)
    assert (host.address, host.port, host.user, host.connection) == ("h1", None, "cli-user",
                                                                      "ssh")
    assert host.become == Become()


@pytest.mark.parametrize(("text", "message"), [
    ("h1 ansible_port=http\n",
     ":1: host 'h1': ansible_port must be a port number (1-65535), not 'http'"),
    ("h1 ansible_port=70000\n",
     ":1: host 'h1': ansible_port must be a port number (1-65535), not 70000"),
    ("h1 ansible_become=maybe\n",
     ":1: host 'h1': ansible_become must be a boolean (yes/no, true/false), not 'maybe'"),
    ("h1 ansible_ssh_common_args='-o \"ProxyJump=x'\n",
     ":1: host 'h1': ansible_ssh_common_args cannot be split into arguments: "
     "No closing quotation"),
    ("h1 ansible_host=\"{{ missing_var }}.example.net\"\n",
     ":1: host 'h1': ansible_host cannot render '{{ missing_var }}.example.net': "
     "'missing_var' is undefined"),
    ("h1 ansible_host=\"{{ inventory_hostname | to_json }}\"\n",
     ":1: host 'h1': ansible_host cannot render '{{ inventory_hostname | to_json }}': "
     "No filter named 'to_json'."),
])
def test_bad_connection_values_are_located_errors(tmp_path: Path, text: str,
                                                  message: str) -> None:
    with pytest.raises(InputError) as caught:
        _planned(tmp_path, text, ext="ini")
    assert str(caught.value) == f"{tmp_path / 'inventory.ini'}{message}"


def test_error_points_at_the_winning_definition(tmp_path: Path) -> None:
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "web.yml").write_text("# ports\nansible_port: ssh\n")
    (tmp_path / "hosts.ini").write_text("[web]\nweb1 ansible_user=u\n")
    with pytest.raises(InputError) as caught:
        plan(load([str(tmp_path / "hosts.ini")]), [])
    assert str(caught.value) == (f"{tmp_path / 'group_vars' / 'web.yml'}:2:1: host 'web1': "
                                 "ansible_port must be a port number (1-65535), not 'ssh'")


def test_templates_render_with_host_variables(tmp_path: Path) -> None:
    host = _planned(tmp_path, """
all:
  vars:
    mgmt_domain: mgmt.example.net
    jump: "bastion.{{ mgmt_domain }}"
  hosts:
    web-01.example.net:
      ansible_host: "{{ inventory_hostname_short }}.{{ mgmt_domain }}"
      ansible_ssh_common_args: "-o ProxyJump={{ jump }}"
      ansible_user: !unsafe "{{ not rendered }}"
""", "web-01.example.net")
    assert host.address == "web-01.mgmt.example.net"
    assert host.ssh_args == ("-o", "ProxyJump=bastion.mgmt.example.net")
    assert host.user == "{{ not rendered }}"


def test_templates_have_ansibles_common_filters(tmp_path: Path) -> None:
    host = _planned(tmp_path, """
all:
  hosts:
    web-01.example.net:
      ansible_host: "{{ inventory_hostname | regex_replace('^web-', 'w') }}"
      ansible_port: "{{ (inventory_hostname is search('example')) | ternary(2222, 22) }}"
""", "web-01.example.net")
    assert (host.address, host.port) == ("w01.example.net", 2222)


def test_templates_chain_undefined_values_and_list_iterators(tmp_path: Path) -> None:
    # what `ansible h1 -m debug -a var=...` gives for each (ansible-core 2.19): an attribute
    # of a variable the host lacks is undefined, so default() applies; map() gives a list
    host = _planned(tmp_path, """
all:
  hosts:
    h1:
      ports: ["2200", "22"]
      ansible_host: "{{ net.mgmt.ip | default(inventory_hostname ~ '.lab') }}"
      ansible_user: "{{ accounts.ops.name | default('ops') }}"
      ansible_port: "{{ ports | map('int') | first }}"
      ansible_ssh_common_args: "{{ ['-o', 'ProxyJump=' ~ jump.host | d('bastion')] | join(' ') }}"
""")
    assert (host.address, host.user, host.port) == ("h1.lab", "ops", 2200)
    assert host.ssh_args == ("-o", "ProxyJump=bastion")


def test_secret_that_looks_like_a_template_is_not_quoted(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        _planned(tmp_path, "h1 ansible_password='pa{{ss}}wo{%rd'\n", ext="ini")
    assert "pa{{ss" not in str(caught.value)
    assert str(caught.value).endswith(":1: host 'h1': ansible_password looks like a template "
                                      "and cannot be rendered (write it as !unsafe if the "
                                      "braces belong to it)")


def test_template_loops_are_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="templates refer to each other in a loop"):
        _planned(tmp_path, "all:\n  hosts:\n    h1:\n      ansible_host: '{{ a }}'\n"
                           "      a: '{{ b }}'\n      b: '{{ a }}'\n")


def test_unsupported_connection_is_reported_for_that_host_only(tmp_path: Path) -> None:
    (tmp_path / "inventory.ini").write_text(
        "box ansible_connection=local\nwin1 ansible_connection=winrm ansible_port=5986\n")
    res = run_cli(["scan", "-i", "inventory.ini", "--format", "json", "-o", "out"],
                  cwd=tmp_path)
    hosts = {h["name"]: h for h in json.loads(res.out)["hosts"]}
    assert hosts["win1"]["status"] == "error"
    assert hosts["win1"]["error"] == {
        "kind": "unsupported_connection",
        "message": "ansible_connection=winrm is not supported "
                   "(fleetcheck connects with ssh, paramiko, local)"}
    assert hosts["box"]["error"] is None
    assert res.code in (1, 3)  # never 0 while a host could not be checked


def test_fleet_example_plans(tmp_path: Path) -> None:
    inventory = load([str(REPO / "inventories" / "fleet")])
    hosts = {h.name: h for h in plan(inventory, [])}
    assert len(hosts) == 40
    db = hosts["db-fra-04.example.net"]
    assert (db.port, db.user, db.tool, db.become) == (2200, "ops", "netstat",
                                                      Become("su", "root"))
    assert db.ssh_args == ("-o", "ProxyJump=ops@bastion-fra.example.net:2222")
    assert hosts["bastion-fra.example.net"].ssh_args == ()
    assert hosts["edge-ams-01.example.net"].address == "2001:db8:100::11"
    refused = hosts["win-jump-iad.example.net"].refused
    assert refused is not None and refused.kind == "unsupported_connection"


def test_secrets_stay_out_of_reprs_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "inventory.ini"
    path.write_text("box ansible_connection=local ansible_password=Sekr1t-A "
                    "ansible_become_password=Sekr1t-B\n")
    inventory = load([str(path)])
    planned = plan(inventory, [], become=True)
    shown = repr(inventory) + repr(planned) + repr(inventory.hosts)
    res = run_cli(["scan", "-i", str(path), "--format", "json,text", "-o", "out", "-b"],
                  cwd=tmp_path)
    # every file written, the history database (and its WAL) included
    written = "".join(p.read_bytes().decode("utf-8", "replace")
                      for p in (tmp_path / "out").iterdir())
    for text in (shown, res.out, res.err, written):
        assert "Sekr1t" not in text


def test_docs_cover_every_honoured_variable() -> None:
    doc = (REPO / "docs" / "inventory.md").read_text()
    documented = set(re.findall(r"`((?:ansible|fleetcheck)_[a-z_]+)`", doc))
    assert set(HONOURED_VARIABLES) <= documented, set(HONOURED_VARIABLES) - documented
