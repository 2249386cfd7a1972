"""A reference judge written from docs/policies.md and docs/cli.md alone, for differential hunts.

It takes the policies and waivers as the plain YAML data a generator wrote (in load
order), an inventory as group -> hosts, each host's listeners, the waiver date and the
`--fail-on` threshold, and returns every finding (kind, severity, rule, waived by whom),
each host's status, each waiver's status and the exit code, as the documentation says
they must be.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from fleetcheck.model import Listener
from tests.policy.oracle_match import (
    CONTAINER_KEYS,
    Tri,
    as_list,
    bind_ok,
    container_field,
    full_match,
    names_port,
    owner_ok,
    place_ok,
    port_ranges,
    protos,
    service_pairs,
    text_ok,
)

SEVERITIES = ("info", "low", "medium", "high", "critical")
Doc = Mapping[str, Any]


def rank(severity: str) -> int:
    """Severities in order, larger is worse."""
    return SEVERITIES.index(severity)


@dataclass(frozen=True)
class ORule:
    """A rule as written, with its policy's name and its action."""

    policy: str
    action: str
    data: Doc

    @property
    def ref(self) -> str:
        """`policy/id`."""
        return f"{self.policy}/{self.data['id']}"

    @property
    def severity(self) -> str:
        """The rule's severity (default high)."""
        return str(self.data.get("severity", "high"))


@dataclass
class OFinding:
    """A finding as the documentation says it must be."""

    kind: str
    severity: str
    rule: str | None
    proto: str
    port: int | None
    listener: Listener | None = None
    waiver: str | None = None
    id: str | None = None  # borrowed from the real finding it pairs with (waiver `finding`)


@dataclass
class OHost:
    """One host's findings, each listener's verdict, and its status."""

    name: str
    verdicts: list[tuple[Listener, str, str | None]] = field(default_factory=list)
    findings: list[OFinding] = field(default_factory=list)
    status: str = "compliant"


def select(pattern: Any, groups: Mapping[str, set[str]], hosts: Sequence[str]) -> set[str]:
    """The hosts an Ansible pattern (or a list of groups) selects; omitted, all or *: every."""
    if pattern is None:
        return set(hosts)
    if isinstance(pattern, list):
        return set().union(*(select(str(p), groups, hosts) for p in pattern))
    terms = [t for t in str(pattern).replace(",", ":").split(":") if t]
    plain, inter, excl = set(), [], []

    def one(term: str) -> set[str]:
        if term in ("all", "*"):
            return set(hosts)
        if term.startswith("~"):  # a regular expression on host names (Ansible: search)
            return {h for h in hosts if re.search(term[1:], h)}
        if term in groups:
            return set(groups[term])
        if term in hosts:
            return {term}
        got = {h for h in hosts if fnmatch.fnmatchcase(h, term)}
        for g, members in groups.items():
            if fnmatch.fnmatchcase(g, term):
                got |= members
        return got

    for t in terms:
        if t.startswith("!"):
            excl.append(one(t[1:]))
        elif t.startswith("&"):
            inter.append(one(t[1:]))
        else:
            plain |= one(t)
    for s in inter:
        plain &= s
    for s in excl:
        plain -= s
    return plain


def resolve_default(pols: Sequence[Doc]) -> str:
    """deny if any says deny; allow only if every one that speaks says allow; else deny."""
    said = {p.get("default") for p in pols} - {None}
    return "allow" if said == {"allow"} else "deny"


def stray_severity(pols: Sequence[Doc]) -> str:
    """Highest stray_severity of the deny voters, else of the silent ones (else medium)."""
    deny = [p for p in pols if p.get("default") == "deny"]
    voters = deny or [p for p in pols if p.get("default") is None]
    return max((str(p.get("stray_severity", "medium")) for p in voters), key=rank,
               default="medium")


def undetermined_severity(pols: Sequence[Doc]) -> str:
    """Highest undetermined_severity of the applicable policies."""
    return max((str(p.get("undetermined_severity", "low")) for p in pols), key=rank,
               default="low")


def policy_rules(pols: Sequence[tuple[str, Doc]], action: str) -> list[ORule]:
    """Every rule of one action, in load order (files, then file order)."""
    return [ORule(name, action, r) for name, p in pols for r in p.get(action) or []]


def judge_listener(li: Listener, pols: Sequence[tuple[str, Doc]], default: str,
                   containers: str) -> tuple[str, ORule | None]:
    """The verdict and deciding rule of one listener."""
    forbids = policy_rules(pols, "forbid")
    allows = policy_rules(pols, "allow")
    hits = [r for r in forbids if full_match(r.data, li, allow=False) is True]
    if hits:
        worst = max(rank(r.severity) for r in hits)
        return "forbidden", next(r for r in hits if rank(r.severity) == worst)
    unsure_forbid = [r for r in forbids if full_match(r.data, li, allow=False) is None]
    verdict: str
    rule: ORule | None = None
    # An address the tool cut never matches an allow (docs: `truncated`).
    allowed = None if li.truncated else next(
        (r for r in allows if full_match(r.data, li, allow=True) is True), None)
    if allowed is not None:
        verdict, rule = "allowed", allowed
    else:
        verdict, rule = near_miss(li, allows)
        if verdict == "" or default == "allow":
            verdict, rule = ("allowed", None) if default == "allow" else ("stray", None)
            if containers == "list" and li.exposure == "container-only":
                verdict = "listed"
    if verdict in ("allowed", "listed") and unsure_forbid:
        return "undetermined", unsure_forbid[0]
    return verdict, rule


def near_miss(li: Listener, allows: Sequence[ORule]) -> tuple[str, ORule | None]:
    """An allow rule naming the port but not the rest: undetermined, wrong_bind or
    wrong_process ('' when none)."""
    unsure: ORule | None = None
    first: tuple[str, ORule] | None = None
    for r in allows:
        if full_match(r.data, li, allow=True) is None:
            # It might allow the listener, whether it names the port or not (the code's
            # reading; docs/policies.md step 3 said "names the port" only).
            unsure = unsure or r
            continue
        if not names_port(r.data, li.proto, li.port):
            continue
        bind: Tri = bind_ok(r.data, li, allow=True)
        owner: Tri = owner_ok(r.data, li, allow=True)
        if place_ok(r.data, li) is False:
            continue  # another place (namespace, container, exposure): not about this one
        if bind is False:
            first = first or ("wrong_bind", r)
        elif owner is False:
            first = first or ("wrong_process", r)
    if unsure is not None:
        return "undetermined", unsure
    return first if first is not None else ("", None)


def requirement(r: ORule, listeners: Sequence[Listener], und_sev: str) -> OFinding | None:
    """None when some listener satisfies it; else missing, or undetermined when one might."""
    got = [full_match(r.data, li, allow=False) for li in listeners]
    if any(g is True for g in got):
        return None
    proto = sorted(protos(r.data))[0]
    ports = port_ranges(r.data["port"]) if "port" in r.data else []
    port = ports[0][0] if ports else (min(p for _, p in service_pairs(r.data))
                                      if "service" in r.data else None)
    if any(g is None for g in got):
        return OFinding("undetermined", und_sev, r.ref, proto, port)
    return OFinding("missing", r.severity, r.ref, proto, port)


def judge_host(name: str, listeners: Sequence[Listener], pols: Sequence[tuple[str, Doc]],
               today: dt.date) -> OHost:
    """Every listener's verdict and the host's findings, before waivers."""
    docs = [p for _, p in pols]
    default = resolve_default(docs)
    containers = "judge" if any(p.get("containers") == "judge" for p in docs) else "list"
    stray_sev, und_sev = stray_severity(docs), undetermined_severity(docs)
    host = OHost(name)
    for li in listeners:
        verdict, rule = judge_listener(li, pols, default, containers)
        host.verdicts.append((li, verdict, rule.ref if rule else None))
        if verdict in ("allowed", "listed"):
            continue
        sev = {"forbidden": rule.severity if rule else "", "stray": stray_sev,
               "undetermined": und_sev}.get(verdict, rule.severity if rule else "")
        host.findings.append(OFinding(verdict, sev, rule.ref if rule else None, li.proto,
                                      li.port, li))
    for r in policy_rules(pols, "require"):
        missing = requirement(r, listeners, und_sev)
        if missing is not None:
            host.findings.append(missing)
    for _, p in pols:
        if "review_every" in p:
            host.findings += overdue(p, pols, today)
    return host


def period_after(start: dt.date, every: str) -> dt.date:
    """`start` plus '6 months', '90 days', '2 weeks', '1 year' (month ends clamp)."""
    count, unit = every.split()
    n, unit = int(count), unit.rstrip("s")
    if unit in ("day", "week"):
        return start + dt.timedelta(days=n * (7 if unit == "week" else 1))
    months = start.month - 1 + n * (12 if unit == "year" else 1)
    year, month = start.year + months // 12, months % 12 + 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(start.day, last))


def overdue(p: Doc, pols: Sequence[tuple[str, Doc]], today: dt.date) -> list[OFinding]:
    """overdue_review findings: allow and require rules last reviewed (else approved) more
    than a period ago, or never."""
    name = next(n for n, q in pols if q is p)
    out = []
    for action in ("allow", "require"):
        for data in p.get(action) or []:
            r = ORule(name, action, data)
            last = data.get("reviewed_on") or data.get("approved_on")
            if last is not None and today <= period_after(
                    dt.date.fromisoformat(str(last)), str(p["review_every"])):
                continue
            # How a finding about a rule names proto and port is not documented: the run's
            # convention (protocols joined by '/', the port when the rule names one).
            words = {str(w).lower() for w in as_list(data.get("proto", "any"))}
            pr = "/".join(sorted(words)) if "any" not in words else \
                "/".join(sorted({q for q, _ in service_pairs(data)})) or "any"
            ports = sorted({n for lo, hi in port_ranges(data.get("port", [])) for n in (lo, hi)}
                           | {n for _, n in service_pairs(data)})
            out.append(OFinding("overdue_review", str(p.get("review_severity", "medium")),
                                r.ref, pr,
                                ports[0] if len(ports) == 1 else None))
    return out


def waiver_covers(w: Doc, f: OFinding) -> bool:
    """Every condition the waiver states holds for the finding (hosts checked apart)."""
    li = f.listener
    checks: list[bool] = []
    if "proto" in w and protos(w) != {"tcp", "udp"}:  # `any` (or both) covers every proto
        checks.append(set(f.proto.split("/")) <= protos(w))
    if "port" in w or "service" in w:
        in_port = f.port is not None and "port" in w and any(
            lo <= f.port <= hi for lo, hi in port_ranges(w["port"]))
        in_svc = f.port is not None and (f.proto, f.port) in service_pairs(w)
        checks.append(in_port or in_svc)
    if "process" in w:
        checks.append(li is not None and li.process is not None
                      and any(text_ok(str(p), li.process) for p in as_list(w["process"])))
    if "kind" in w:
        checks.append(f.kind in as_list(w["kind"]))
    if "rule" in w:
        checks.append(f.rule is not None
                      and any(text_ok(str(p), f.rule) for p in as_list(w["rule"])))
    if "finding" in w:
        checks.append(f.id in as_list(w["finding"]))
    if "namespace" in w:
        here = None if li is None else ("host" if li.netns is None else "container")
        checks.append(here in as_list(w["namespace"]))
    for key in CONTAINER_KEYS:
        if key in w:
            value = None if li is None or li.container is None else container_field(li, key)
            checks.append(value is not None
                          and any(text_ok(str(p), value) for p in as_list(w[key])))
    if "exposure" in w:
        checks.append(li is not None and li.exposure in as_list(w["exposure"]))
    return all(checks)


@dataclass
class OResult:
    """The whole run as the documentation says it must come out."""

    hosts: list[OHost]
    waivers: dict[str, str]  # id -> 'active|expired|unused N' (N: findings it covers)
    exit_code: int


def judge_run(hosts: Mapping[str, Sequence[Listener]], groups: Mapping[str, set[str]],
              policies: Sequence[tuple[str, Doc]], waivers: Sequence[Doc], today: dt.date,
              fail_on: str, id_of: Callable[[str, OFinding], str | None] | None = None,
              unreachable: Sequence[str] = ()) -> OResult:
    """The run: policies are (name, data) in load order; `id_of` lends each finding the
    real finding's id (ids are not documented), for waivers that name findings."""
    names = [*hosts, *unreachable]
    out = OResult([], {}, 0)
    matched = {str(w["id"]): 0 for w in waivers}
    for name in hosts:
        pols = [(pn, p) for pn, p in policies if name in select(p.get("hosts"), groups, names)]
        host = judge_host(name, hosts[name], pols, today)
        for f in host.findings:
            f.id = id_of(name, f) if id_of else None
            for w in waivers:
                if name not in select(w["hosts"], groups, names) or not waiver_covers(w, f):
                    continue
                matched[str(w["id"])] += 1
                if f.waiver is None and dt.date.fromisoformat(str(w["expires"])) >= today:
                    f.waiver = str(w["id"])
        violating = any(f.waiver is None and rank(f.severity) >= rank(fail_on)
                        for f in host.findings)
        host.status = "noncompliant" if violating else "compliant"
        out.hosts.append(host)
    for w in waivers:
        wid = str(w["id"])
        expired = dt.date.fromisoformat(str(w["expires"])) < today
        status = "expired" if expired else ("active" if matched[wid] else "unused")
        out.waivers[wid] = f"{status} {matched[wid]}"  # the findings it covers, credited or not
    # A host that could not be checked is never compliant: exit 3 unless there are
    # violations (exit 1).
    out.hosts += [OHost(name, status="unreachable") for name in unreachable]
    out.exit_code = 1 if any(h.status == "noncompliant" for h in out.hosts) else \
        3 if unreachable else 0
    return out
