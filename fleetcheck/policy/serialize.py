"""Policies as JSON for the run record, and back: what a saved run needs to be explained."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from typing import Any, Protocol

from fleetcheck.model import Severity
from fleetcheck.policy import Action, Policy, Rule, review
from fleetcheck.policy.fields import ports
from fleetcheck.policy.load import APPROVAL_KEYS
from fleetcheck.policy.match import SCOPES, AddressSpec, Match, TextSpec, format_ports
from fleetcheck.yamlsrc import Mark


class HasPolicies(Protocol):
    """Anything carrying the policies that apply to it (a planned host)."""

    @property
    def policies(self) -> tuple[Policy, ...]: ...


def match_to_dict(m: Match) -> dict[str, Any]:
    """The conditions in a policy file's words; resolved service ports kept beside the names."""
    out: dict[str, Any] = {}
    if m.protos is not None:
        out["proto"] = sorted(m.protos)
    if m.ports is not None:
        out["port"] = format_ports(m.ports)
    if m.services is not None:
        out["service"] = list(m.services)
        out["service_ports"] = sorted([p, n] for p, n in m.service_ports or ())
    if m.addresses is not None:
        out["address"] = [a.text for a in m.addresses]
    if m.families is not None:
        out["family"] = sorted(m.families)
    if m.dual_stack is not None:
        out["dual_stack"] = m.dual_stack
    for key, specs in (("interface", m.interfaces), ("process", m.processes),
                       ("user", m.users), ("container", m.containers), ("image", m.images),
                       ("pod", m.pods), ("k8s_namespace", m.k8s_namespaces)):
        if specs is not None:
            out[key] = [s.text for s in specs]
    for key, words in (("namespace", m.namespaces), ("exposure", m.exposures)):
        if words is not None:
            out[key] = sorted(words)
    return out


def _address(text: str) -> AddressSpec:
    if text in SCOPES:
        return AddressSpec(scope=text)
    if "/" in text:
        return AddressSpec(network=ipaddress.ip_network(text, strict=False))
    return AddressSpec(literal=text)


def match_from_dict(d: dict[str, Any]) -> Match:
    """Inverse of `match_to_dict`."""
    def specs(key: str) -> tuple[TextSpec, ...] | None:
        return tuple(TextSpec(t) for t in d[key]) if key in d else None

    return Match(
        protos=frozenset(d["proto"]) if "proto" in d else None,
        ports=ports(d["port"], Mark("<run>", 0, 0)) if "port" in d else None,
        services=tuple(d["service"]) if "service" in d else None,
        service_ports=frozenset((p, int(n)) for p, n in d["service_ports"])
        if "service" in d else None,
        addresses=tuple(_address(a) for a in d["address"]) if "address" in d else None,
        families=frozenset(int(f) for f in d["family"]) if "family" in d else None,
        dual_stack=d.get("dual_stack"),
        processes=specs("process"),
        users=specs("user"),
        namespaces=frozenset(d["namespace"]) if "namespace" in d else None,
        containers=specs("container"),
        images=specs("image"),
        pods=specs("pod"),
        k8s_namespaces=specs("k8s_namespace"),
        exposures=frozenset(d["exposure"]) if "exposure" in d else None,
        interfaces=specs("interface"),
    )


def _trail(policy: Policy, rule: Rule) -> dict[str, Any]:
    """A rule's approval trail and review state, only the keys that say something."""
    out: dict[str, Any] = {k: v.isoformat() if isinstance(v, dt.date) else v
                           for k in APPROVAL_KEYS if (v := getattr(rule, k)) is not None}
    st = review.state(policy, rule)
    if st is not None:
        out["review_due"] = st.due.isoformat() if st.due else None
        out["review_overdue"] = st.overdue
    return out


def policy_to_dict(p: Policy) -> dict[str, Any]:
    """A policy as the run understood it, with where each rule was written."""
    out = {
        "name": p.name, "path": p.path, "description": p.description,
        "hosts": p.hosts or "all", "default": p.default,
        "stray_severity": p.stray_severity.label,
        "undetermined_severity": p.undetermined_severity.label,
        "rules": [{"id": r.id, "action": r.action.value, "severity": r.severity.label,
                   "reason": r.reason, "line": r.where.line if r.where else None,
                   "column": r.where.column if r.where else None,
                   **match_to_dict(r.match), **_trail(p, r)} for r in p.rules],
    }
    if p.containers is not None:
        out["containers"] = p.containers
    if p.review_every is not None:
        out["review_every"] = str(p.review_every)
        out["review_severity"] = p.review_severity.label
        out["review_date"] = p.review_date.isoformat() if p.review_date else None
    return out


def _day(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def policy_from_dict(d: dict[str, Any]) -> Policy:
    """Inverse of `policy_to_dict`."""
    rules = []
    for r in d.get("rules", ()):
        line = r.get("line")
        where = Mark(d["path"], line, r.get("column") or 1) if line else None
        rules.append(Rule(policy=d["name"], id=r["id"], action=Action(r["action"]),
                          match=match_from_dict(r), severity=Severity.parse(r["severity"]),
                          reason=r.get("reason"), where=where,
                          justification=r.get("justification"), approved_by=r.get("approved_by"),
                          approved_on=_day(r.get("approved_on")),
                          reviewed_on=_day(r.get("reviewed_on"))))
    return Policy(
        name=d["name"], path=d["path"], rules=tuple(rules), default=d.get("default"),
        hosts=None if d.get("hosts") in (None, "all") else d["hosts"],
        stray_severity=Severity.parse(d.get("stray_severity", "medium")),
        undetermined_severity=Severity.parse(d.get("undetermined_severity", "low")),
        description=d.get("description"),
        review_every=review.parse_period(d["review_every"]) if d.get("review_every") else None,
        review_severity=Severity.parse(d.get("review_severity", "medium")),
        review_date=_day(d.get("review_date")),
        containers=d.get("containers"),
    )


def policy_definitions(hosts: Sequence[HasPolicies]) -> tuple[dict[str, Any], ...]:
    """The definitions of every policy applying to some host, in first-seen order."""
    seen: dict[str, Policy] = {}
    for h in hosts:
        for p in h.policies:
            seen.setdefault(p.name, p)
    return tuple(policy_to_dict(p) for p in seen.values())
