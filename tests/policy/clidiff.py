"""The judge hunt through the command line: real sockets in a lab namespace, `fleetcheck
scan` and `explain` over the local connection, the run JSON against the reference oracle.

A generated case's plantable listeners (host namespace, a process name, an address the
namespace can hold) become real sockets; every inventory host reaches that one namespace
locally, so the listeners `ss` reports are judged under each host's policy stack. The
oracle is given the listeners as the run recorded them (`Listener.from_dict`).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from fleetcheck.model import HOST, Listener
from tests.conftest import CliResult, run_cli
from tests.lab.netns import Namespace, Sock, in_netns
from tests.policy import oracle
from tests.policy.judgediff import Files, write_case
from tests.policy.lab import lab_namespace, plant
from tests.policy.polgen import HOSTS, Case

UNREACHABLE = "h5"  # an SSH host on a closed port: unreachable, exit 3 when nothing violates
_UNPLANTABLE = ("224.", "169.254.", "fe80", "ff02", "::ffff:10.")


def plantable(listeners: Sequence[Listener]) -> list[Sock]:
    """The listeners a lab namespace can hold for real: one per proto and port."""
    socks: dict[tuple[str, int], Sock] = {}
    for li in listeners:
        if (li.container is not None or li.netns is not None or li.route_localnet
                or li.truncated or li.process is None or li.other_processes
                or li.address.startswith(_UNPLANTABLE)):
            continue
        v6only = li.dual_stack is False or li.address != "::"
        if li.address.startswith("::ffff:"):
            v6only = False
        socks.setdefault((li.proto, li.port), Sock(li.proto, li.address, li.port,
                                                    process=li.process, v6only=v6only))
    return list(socks.values())


def scan_argv(case: Case, files: Files, out: Path) -> list[str]:
    """`scan` with the case's inputs, its date and threshold, a JSON report into `out`."""
    argv = ["scan", "-i", str(files.inventory), "--today", case.today.isoformat(),
            "--fail-on", case.fail_on, "--format", "json", "-o", str(out), "-q"]
    for p in files.policies:
        argv += ["-p", str(p)]
    for w in files.waivers:
        argv += ["-w", str(w)]
    return argv


def _key(kind: str, proto: str, port: int | None, rule: str | None,
         where: tuple[Any, ...] | None) -> tuple[Any, ...]:
    return (kind, proto, port, rule, where)


def compare_run(case: Case, run: dict[str, Any], code: int) -> list[str]:
    """The run JSON against the oracle's judgement of the listeners it recorded."""
    seen = {h["name"]: [Listener.from_dict(li) for li in h["listeners"]] for h in run["hosts"]}
    ids = {h["name"]: {_key(f["kind"], f["proto"], f["port"], f["rule"],
                            (f["address"], f.get("netns"), f["family"])
                            if f["address"] is not None else None): f["id"]
                       for f in h["findings"]} for h in run["hosts"]}

    def id_of(host: str, f: oracle.OFinding) -> str | None:
        li = f.listener
        where = (li.address, li.netns, li.family) if li is not None else None
        return ids[host].get(_key(f.kind, f.proto, f.port, f.rule, where))

    policies = [(str(data.get("name", stem)), data) for stem, data in case.policies]
    waivers = [w for _, items in case.waivers for w in items]
    checked = {n: lis for n, lis in seen.items() if n != UNREACHABLE}
    want = oracle.judge_run(checked, case.groups, policies, waivers, case.today, case.fail_on,
                            id_of, [UNREACHABLE])
    diffs = []
    by_name = {h.name: h for h in want.hosts}
    for host in run["hosts"]:
        expected = by_name[host["name"]]
        got = Counter((f["kind"], f["severity"], f["rule"], f["proto"], f["port"], f["address"],
                       f["waiver"] if f["waived"] else None) for f in host["findings"])
        exp = Counter((f.kind, f.severity, f.rule, f.proto, f.port,
                       f.listener.address if f.listener else None, f.waiver)
                      for f in expected.findings)
        diffs += [f"{host['name']}: only scan {x}" for x in got - exp]
        diffs += [f"{host['name']}: only oracle {x}" for x in exp - got]
        if host["status"] != expected.status:
            diffs.append(f"{host['name']}: status scan {host['status']} oracle "
                         f"{expected.status}")
    statuses = {w["id"]: f"{w['status']} {w['matched']}" for w in run.get("waivers", [])}
    if statuses != want.waivers:
        diffs.append(f"waivers scan {statuses} oracle {want.waivers}")
    if code != want.exit_code:
        diffs.append(f"exit scan {code} oracle {want.exit_code}")
    return diffs


_VERDICT = re.compile(r"^TCP|^UDP|^\s+verdict: (\w+)(?:, decided by (\S+))?", re.M)


def explain_verdicts(text: str) -> list[tuple[str, str | None]]:
    """(verdict, deciding rule) of each listener `explain` printed, in order."""
    return [(m.group(1).lower(), m.group(2)) for m in _VERDICT.finditer(text) if m.group(1)]


def compare_explain(case: Case, files: Files, ns: Namespace, run_path: Path,
                    run: dict[str, Any]) -> list[str]:
    """`explain` live and `explain --run` on one host's ports against the run's verdicts."""
    diffs = []
    host = next(h for h in run["hosts"] if h["name"] == HOSTS[0])
    ports = sorted({(li["proto"], li["port"]) for li in host["listeners"]})[:3]
    for proto, port in ports:
        want = sorted((li["verdict"], li["rule"]) for li in host["listeners"]
                      if (li["proto"], li["port"]) == (proto, port))
        argv = ["explain", "-i", str(files.inventory), "--today", case.today.isoformat()]
        for p in files.policies:
            argv += ["-p", str(p)]
        for w in files.waivers:
            argv += ["-w", str(w)]
        for name, args in (("live", [*argv, HOSTS[0], f"{port}/{proto}"]),
                           ("--run", ["explain", "--run", str(run_path), HOSTS[0],
                                      f"{port}/{proto}"])):
            with in_netns(ns.name):
                res = run_cli(args, cwd=run_path.parent)
            got = sorted(explain_verdicts(res.out))
            if got != want:
                diffs.append(f"explain {name} {port}/{proto}: {got} run {want} "
                             f"(exit {res.code}) {res.err.strip()[:200]}")
    return diffs


def check_cli_seed(case: Case, root: Path) -> list[str]:
    """Plant the case's first host's listeners in a namespace of their own, scan, explain,
    compare; the namespace is removed afterwards."""
    socks = plantable(case.listeners[HOSTS[0]])
    case = replace(case, listeners={h: [] for h in HOSTS})
    files = write_case(case, root)
    inventory = yaml.safe_load(files.inventory.read_text())
    inventory["all"]["hosts"][UNREACHABLE] = {"ansible_host": "127.0.0.1", "ansible_port": 1}
    files.inventory.write_text(yaml.safe_dump(inventory))
    with lab_namespace() as (ns, holders):
        plant(ns, holders, socks)
        with in_netns(ns.name):
            res: CliResult = run_cli(scan_argv(case, files, root / "out"), cwd=root)
        runs = [p for p in (root / "out").glob("fleetcheck-*.json")
                if not p.name.startswith("fleetcheck-latest")]
        if len(runs) != 1:
            return [f"scan exit {res.code}: {res.err.strip()[:300]}"]
        run = json.loads(runs[0].read_text())
        diffs = compare_run(case, run, res.code)
        if not diffs:
            diffs = compare_explain(case, files, ns, runs[0], run)
        for h in run["hosts"]:
            if h["error"] is not None and h["name"] != UNREACHABLE:
                diffs.append(f"{h['name']}: error {h['error']}")
            if any(li["exposure"] != HOST for li in h["listeners"]):
                diffs.append(f"{h['name']}: a listener outside the host's namespace")
        return diffs
