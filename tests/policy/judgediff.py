"""Run a generated case through fleetcheck's real judge and the reference oracle; compare.

The real side is the path `scan` takes for a host once its listeners are read
(`engine/check.py`): inventory loaded, policies and waivers checked together
(`check_all`), hosts planned, `evaluate`, the waiver book, `--fail-on`, the host
status, the run summary and the waiver records. Only the collection is left out: the
listeners are the generated ones.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fleetcheck import inventory as inv
from fleetcheck.engine.summary import host_status, summarize, with_threshold
from fleetcheck.model import Finding, HostResult, Listener, Severity
from fleetcheck.plan import plan
from fleetcheck.policy.judge import evaluate
from fleetcheck.policy.lint import check_all
from fleetcheck.policy.problems import Problems
from fleetcheck.policy.waivers import WaiverBook
from tests.policy import oracle
from tests.policy.polgen import HOSTS, Case, gen_case


@dataclass(frozen=True)
class Files:
    """A case written out as a user would: paths in load order."""

    inventory: Path
    policies: list[Path]
    waivers: list[Path]


def write_case(case: Case, root: Path) -> Files:
    """The inventory, policy and waiver files of `case` under `root`."""
    root.mkdir(parents=True, exist_ok=True)
    children = {g: {"hosts": dict.fromkeys(sorted(m))} for g, m in case.groups.items() if m}
    hosts = {h: {"ansible_connection": "local"} for h in HOSTS}
    text = yaml.safe_dump({"all": {"hosts": hosts, "children": children}}, sort_keys=False)
    (root / "inventory.yml").write_text(text)
    pols = []
    for stem, data in case.policies:
        path = root / f"{stem}.yml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        pols.append(path)
    wvs = []
    for stem, items in case.waivers:
        path = root / f"{stem}.yml"
        path.write_text(yaml.safe_dump({"waivers": items}, sort_keys=False))
        wvs.append(path)
    return Files(root / "inventory.yml", pols, wvs)


@dataclass
class Real:
    """What fleetcheck made of a case."""

    errors: list[str]
    hosts: list[HostResult]
    waivers: dict[str, str]
    exit_code: int


def run_real(case: Case, files: Files) -> Real:
    """The case through fleetcheck's own loading, planning, judging, waiving and summary."""
    inventory = inv.load([str(files.inventory)])
    problems = Problems()
    today = case.today
    checked = check_all(inventory, files.policies, files.waivers, problems, today=today)
    if problems.errors:
        return Real([str(p) for p in problems.errors], [], {}, 2)
    book = WaiverBook(tuple(checked.waivers), today)
    fail_on = Severity.parse(case.fail_on)
    results = []
    for host in plan(inventory, checked.policies):
        judged = evaluate(host.name, case.listeners[host.name], host.policies)
        findings = with_threshold(book.apply(host.name, judged.findings), fail_on)
        results.append(HostResult(name=host.name, address=host.address, groups=host.groups,
                                  status=host_status(findings, None, fail_on),
                                  listeners=judged.listeners, findings=findings))
    summary = summarize(results, fail_on, complete=True)
    records, _ = book.records(results)
    return Real([], results, {r.id: f"{r.status} {r.matched}" for r in records},
                summary.exit_code)


def _key(kind: str, proto: str, port: int | None, rule: str | None, li: Listener | None
         ) -> tuple[Any, ...]:
    where = (li.address, li.netns, li.family) if li is not None else None
    return (kind, proto, port, rule, where)


def _real_key(f: Finding) -> tuple[Any, ...]:
    where = (f.address, f.netns, f.family) if f.address is not None else None
    return (f.kind.value, f.proto, f.port, f.rule, where)


def compare(case: Case, real: Real, expected: oracle.OResult) -> list[str]:
    """Every difference between the real run and the oracle's, as readable lines."""
    diffs: list[str] = []
    for host, want in zip(real.hosts, expected.hosts, strict=True):
        got_v = Counter((jl.listener, jl.verdict.value, jl.rule) for jl in host.listeners)
        want_v = Counter(want.verdicts)
        for item in (got_v - want_v):
            diffs.append(f"{host.name}: verdict real {item[1]}/{item[2]} for {_li(item[0])}")
        for item in (want_v - got_v):
            diffs.append(f"{host.name}: verdict oracle {item[1]}/{item[2]} for {_li(item[0])}")
        got_f = Counter((*_real_key(f), f.severity.label, f.waiver) for f in host.findings)
        want_f = Counter((*_key(f.kind, f.proto, f.port, f.rule, f.listener), f.severity,
                          f.waiver) for f in want.findings)
        for item in (got_f - want_f):
            diffs.append(f"{host.name}: finding only real {item}")
        for item in (want_f - got_f):
            diffs.append(f"{host.name}: finding only oracle {item}")
        if host.status.value != want.status:
            diffs.append(f"{host.name}: status real {host.status.value} oracle {want.status}")
    if real.waivers != expected.waivers:
        diffs.append(f"waivers real {real.waivers} oracle {expected.waivers}")
    if real.exit_code != expected.exit_code:
        diffs.append(f"exit real {real.exit_code} oracle {expected.exit_code}")
    return diffs


def _li(li: Listener) -> str:
    return json.dumps(li.to_dict(), sort_keys=True)


def oracle_of(case: Case, real: Real) -> oracle.OResult:
    """The oracle's run of `case`, borrowing real finding ids for `finding` waivers."""
    ids: dict[str, dict[tuple[Any, ...], str]] = {
        h.name: {_real_key(f): f.id for f in h.findings} for h in real.hosts}

    def id_of(host: str, f: oracle.OFinding) -> str | None:
        return ids.get(host, {}).get(_key(f.kind, f.proto, f.port, f.rule, f.listener))

    policies = [(str(data.get("name", stem)), data) for stem, data in case.policies]
    waivers = [w for _, items in case.waivers for w in items]
    return oracle.judge_run(case.listeners, case.groups, policies, waivers, case.today,
                            case.fail_on, id_of)


def check_seed(seed: int, root: Path) -> tuple[Case, list[str]]:
    """Generate, run both ways, compare; a generated case fleetcheck refuses is a difference."""
    first = gen_case(seed)
    real = run_real(first, write_case(first, root / "a"))
    if real.errors:
        return first, [f"refused: {e}" for e in real.errors]
    ids = sorted({f.id for h in real.hosts for f in h.findings})
    case = gen_case(seed, ids)
    real = run_real(case, write_case(case, root / "b"))
    if real.errors:
        return case, [f"refused: {e}" for e in real.errors]
    return case, compare(case, real, oracle_of(case, real))
