"""The scale-out scenario: lab hosts split across two sites, a policy, waivers (one used,
one expired, one unused), and runs of them by shards, merge and the celery engine."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import run_cli, run_files
from tests.lab.netns import in_netns
from tests.runschema import commands_written_out
from tests.ssh.conftest import Fleet

# site -> hosts: healthy, noncompliant, unreachable and unparseable hosts on both sites.
SITES = {"a": ("web1", "web2", "db1", "nosshd"), "b": ("web3", "web4", "p2222", "notools",
                                                     "garbled")}
WAIVERS = {"waivers": [
    {"id": "W-SPICE", "hosts": "web2", "proto": "tcp", "port": 1923, "process": "spiceproxy",
     "reason": "SPICE proxy for the VDI pilot.", "ticket": "CHG-1", "owner": "ops@example.net",
     "approved_by": "sec-team", "created": "2026-01-01", "expires": "2099-12-31"},
    {"id": "W-MYSQL", "hosts": "db1", "proto": "tcp", "port": 3306,
     "reason": "Replication until the move.", "owner": "dba@example.net",
     "approved_by": "sec-team", "created": "2025-01-01", "expires": "2025-06-30"},
    {"id": "W-IDLE", "hosts": "web3", "proto": "tcp", "port": 10050,
     "reason": "Monitoring agent, never installed.", "owner": "mon@example.net",
     "approved_by": "sec-team", "created": "2026-01-01", "expires": "2099-12-31"},
]}
TODAY = "2026-06-01"


def write_inputs(fleet: Fleet, sites: Mapping[str, Sequence[str]] | None = None, *,
                 aliases: Mapping[str, str] | None = None) -> tuple[Path, Path]:
    """The scenario's inventory (with `site` per host) and waiver file; an alias is one
    more inventory name for a lab host."""
    hosts: dict[str, dict[str, Any]] = {}
    for site, names in (sites or SITES).items():
        for name in names:
            lab_host = (aliases or {}).get(name, name)
            hosts[name] = fleet.vars(lab_host, site=site, ansible_become=True)
    inv = fleet.inventory(hosts)
    waivers = fleet.tmp / "waivers.yml"
    waivers.write_text(yaml.safe_dump(WAIVERS, sort_keys=False))
    return inv, waivers


def cli(fleet: Fleet, argv: list[str]) -> tuple[int, str, dict[str, Any]]:
    """The in-process CLI in the lab's controller namespace: exit, stderr, the JSON report."""
    fleet.runs += 1
    out = fleet.tmp / f"run{fleet.runs}"
    with in_netns(fleet.lab.controller.name):
        res = run_cli([*argv, "-o", str(out), "--format", "json,text"], cwd=fleet.tmp,
                      environ={"HOME": str(fleet.home)})
    reports = run_files(out)
    assert len(reports) == 1, f"exit {res.code}: {res.err}"
    return res.code, res.err, commands_written_out(json.loads(reports[0].read_text()))


def local_args(fleet: Fleet) -> list[str]:
    """What a local scan of the lab needs besides its inputs."""
    return ["--known-hosts", str(fleet.lab.known_hosts), "--connect-timeout", "3",
            "--workers", "1"]
