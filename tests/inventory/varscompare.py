"""Comparing fleetcheck with ansible-core on a layout: `--list`, and each host's connection.

The oracle runs are `ansible-inventory --list` and `ansible all -m debug -o` printing the
connection variables each host resolves to (the debug action runs on the controller:
nothing is contacted), with `--playbook-dir` at the layout's working directory (where the
ad-hoc `ansible` reads play-adjacent group_vars). fleetcheck's connection values are the
hosts `scan --list-hosts` plans, run in that working directory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from fleetcheck.booleans import ansible_boolean
from fleetcheck.plan import PlannedHost
from tests.conftest import run_cli
from tests.inventory.oracle import Run
from tests.inventory.varsgen import Layout

_FIELDS = {"host": "ansible_host | default(inventory_hostname)",
           "port": "ansible_port | default(None)", "user": "ansible_user | default(None)",
           "become": "ansible_become | default(False)",
           "buser": "ansible_become_user | default('root')"}
DEBUG = "msg={{ {" + ", ".join(f"'{k}': {v}" for k, v in _FIELDS.items()) + "} }}"


def oracle_jobs(lay: Layout) -> list[tuple[str, list[str]]]:
    """The two oracle runs of a layout."""
    return [("ansible-inventory", [*lay.args(), "--list"]),
            ("ansible", ["all", *lay.args(), "--playbook-dir", str(lay.cwd), "-o", "-m",
                         "debug", "-a", DEBUG])]


def _debugged(run: Run) -> dict[str, dict[str, Any] | str]:
    """Each host's debug answer, or the message of its failure (a bad template's)."""
    out: dict[str, dict[str, Any] | str] = {}
    for line in run.out.splitlines():
        for mark in (" | SUCCESS => ", " | FAILED! => "):
            if mark in line:
                name, body = line.split(mark, 1)
                out[name] = json.loads(body)["msg"]
    return out


# Ansible renders become_user on every host, fleetcheck only on a host that becomes: a bad
# template there fails the host in Ansible and is never read by fleetcheck.
_UNREAD = "Error processing keyword 'become_user'"
# What fleetcheck refuses, where Ansible renders a value: a name only a play has.
RUNTIME_ERROR = "is set by Ansible while a play runs"


@contextmanager
def _capture() -> Iterator[list[PlannedHost]]:
    planned: list[PlannedHost] = []

    def record(hosts: list[PlannedHost], env: Any) -> int:
        planned.extend(hosts)
        return 0

    with mock.patch("fleetcheck.cli.scan_cmd.list_hosts", record):
        yield planned


def _ours(host: PlannedHost) -> dict[str, Any]:
    become = host.become
    return {"host": host.address, "port": str(host.port) if host.port else None,
            "user": host.user, "become": become is not None,
            "buser": become.user if become else None}


def _theirs(answer: dict[str, Any]) -> dict[str, Any]:
    becoming = ansible_boolean(answer["become"])
    user = answer["user"]
    return {"host": str(answer["host"]),
            "port": str(answer["port"]) if answer["port"] not in (None, "") else None,
            "user": str(user) if user not in (None, "") else None, "become": bool(becoming),
            "buser": str(answer["buser"]) if becoming else None}


def differences(lay: Layout, listing: Run, debug: Run) -> list[str]:
    """What fleetcheck does otherwise than ansible-core on `lay` (empty: they agree)."""
    env = {"ANSIBLE_CONFIG": str(lay.root / "ansible.cfg"), "HOME": str(lay.root / "home")}
    (lay.root / "ansible.cfg").write_text(lay.config)
    problems: list[str] = []
    ours = run_cli(["inventory", *lay.args(), "--list"], cwd=lay.cwd, environ=env)
    if listing.code != 0 or ours.code != 0:
        if (listing.code == 0) != (ours.code == 0):
            problems.append(f"list: ansible {listing.code}, fleetcheck {ours.code}: "
                            f"{ours.err.strip()[:300]} | {listing.err.strip()[-300:]}")
        return problems
    if ours.out != listing.out:
        problems.append("list: " + _json_diff(json.loads(listing.out), json.loads(ours.out)))
    theirs = _debugged(debug)
    with _capture() as planned:
        scan = run_cli(["scan", *lay.args(), "--list-hosts"], cwd=lay.cwd, environ=env)
    failed = sorted(h for h, a in theirs.items() if isinstance(a, str))
    if scan.code != 0:
        error = [x for x in scan.err.splitlines() if "error:" in x] or [scan.err]
        if not failed and (scan.code != 2 or RUNTIME_ERROR not in error[0]):
            problems.append(f"scan: exit {scan.code} where ansible resolves every host: "
                            f"{error[0][:300]}")
        return problems
    for host in planned:
        answer = theirs.get(host.name)
        if isinstance(answer, str):
            if _UNREAD not in answer or host.become is not None:
                problems.append(f"scan: ansible fails on {host.name} ({answer[:200]}), "
                                "fleetcheck plans it")
            continue
        if answer is None:
            continue
        mine, want = _ours(host), _theirs(answer)
        if want["host"] == "":  # ansible-core would connect to no name and fail the host
            if host.refused is None:
                problems.append(f"scan: ansible has no address for {host.name}, fleetcheck "
                                f"plans it at {host.address!r}")
            continue
        if mine != want:
            problems.append(f"conn {host.name}: fleetcheck {mine} ansible {want}")
    return problems


def _json_diff(theirs: Any, ours: Any, path: str = "") -> str:
    """The first place two JSON documents differ."""
    if isinstance(theirs, dict) and isinstance(ours, dict):
        for key in sorted(set(theirs) | set(ours)):
            if theirs.get(key, "<missing>") != ours.get(key, "<missing>"):
                return _json_diff(theirs.get(key, "<missing>"), ours.get(key, "<missing>"),
                                  f"{path}/{key}")
        return f"{path}: same data, other text"
    return f"{path}: ansible {json.dumps(theirs)[:200]} fleetcheck {json.dumps(ours)[:200]}"
