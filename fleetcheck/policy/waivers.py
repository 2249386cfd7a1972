"""Waivers: granted, owned, dated exceptions that mark findings as waived without hiding them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import field
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen, replace
from fleetcheck.hostindex import HostIndex
from fleetcheck.model import Finding, FindingKind, HostResult, WaiverRecord
from fleetcheck.policy.match import Match, TextSpec, container_value
from fleetcheck.policy.serialize import match_from_dict, match_to_dict
from fleetcheck.words import plural
from fleetcheck.yamlsrc import Mark

ACTIVE, EXPIRED, UNUSED = "active", "expired", "unused"


@frozen
class Waiver:
    """One exception: which findings on which hosts, why, whose, approved by whom, until when."""

    id: str
    reason: str
    owner: str
    approved_by: str
    created: dt.date
    expires: dt.date  # the last day the waiver applies
    hosts: str | None = None  # Ansible pattern or group; None: every host
    ticket: str | None = None
    # proto, port, service and process, as a rule would state them
    match: Match = field(default_factory=Match)
    kinds: frozenset[FindingKind] | None = None
    rules: tuple[TextSpec, ...] | None = None  # rule refs `policy/id`, globs allowed
    findings: frozenset[str] | None = None  # finding ids
    host_names: frozenset[str] | None = None  # the hosts `hosts` selected, once bound
    # The register's approval trail (PCI DSS 1.2.5) beyond reason, approver and dates.
    justification: str | None = None
    reviewed_on: dt.date | None = None
    path: str | None = None
    where: Mark | None = field(default=None, compare=False)
    value_marks: Mapping[str, Mark] = field(default_factory=dict, compare=False)

    def mark(self, key: str) -> Mark:
        """Where `key`'s value was written, else where the waiver starts."""
        return self.value_marks.get(key) or self.where or Mark(self.path or "<waiver>", 1, 1)

    def expired(self, today: dt.date) -> bool:
        """True from the day after `expires`."""
        return today > self.expires

    def selects(self, host: str) -> bool:
        """True when `host` is one of the waiver's hosts (an unbound pattern selects none)."""
        if self.host_names is not None:
            return host in self.host_names
        return self.hosts is None

    def covers(self, host: str, finding: Finding) -> bool:
        """True when every condition of the waiver holds for `finding` on `host`."""
        return self.selects(host) and self.mismatch(finding) is None

    def mismatch(self, finding: Finding) -> str | None:
        """The first condition `finding` fails ('port', 'process'...), or None if all hold."""
        if self.findings is not None and finding.id not in self.findings:
            return "finding"
        if self.kinds is not None and finding.kind not in self.kinds:
            return "kind"
        if self.rules is not None and (finding.rule is None
                                       or not any(r.matches(finding.rule) for r in self.rules)):
            return "rule"
        m = self.match
        if m.protos is not None and not set(finding.proto.split("/")) <= m.protos:
            return "proto"
        if m.claims_port and (finding.port is None
                              or not m.port_matches(finding.proto, finding.port)):
            return "port"
        if m.processes is not None and (
                finding.process is None
                or not any(p.matches(finding.process) for p in m.processes)):
            return "process"
        return _place_mismatch(m, finding)

    def conditions(self) -> dict[str, Any]:
        """What the waiver covers, in the words of a waiver file (for the run record)."""
        out = match_to_dict(self.match)
        if self.rules is not None:
            out["rule"] = [s.text for s in self.rules]
        if self.kinds is not None:
            out["kind"] = sorted(k.value for k in self.kinds)
        if self.findings is not None:
            out["finding"] = sorted(self.findings)
        return out

    def record(self, status: str, matched: int) -> WaiverRecord:
        """The waiver as the run reports it."""
        cond = self.conditions()
        return WaiverRecord(
            id=self.id, status=status, reason=self.reason, owner=self.owner,
            ticket=self.ticket, approved_by=self.approved_by,
            created=self.created.isoformat(), expires=self.expires.isoformat(),
            justification=self.justification,
            reviewed_on=self.reviewed_on.isoformat() if self.reviewed_on else None,
            hosts=self.hosts or "all",
            proto="/".join(cond["proto"]) if "proto" in cond else None,
            port=cond.get("port") or (",".join(self.match.services or ()) or None),
            process=", ".join(cond["process"]) if "process" in cond else None,
            matched=matched, path=self.path, line=self.where.line if self.where else None,
            conditions=cond,
        )


def _place_mismatch(m: Match, finding: Finding) -> str | None:
    """The first namespace/container condition `finding` fails (a finding about no listener,
    or about a container the host did not name, fails every one it states)."""
    if m.namespaces is not None and (finding.address is None or (
            "host" if finding.netns is None else "container") not in m.namespaces):
        return "namespace"
    if m.exposures is not None and finding.exposure not in m.exposures:
        return "exposure"
    for key, specs in (("container", m.containers), ("image", m.images), ("pod", m.pods),
                       ("k8s_namespace", m.k8s_namespaces)):
        value = container_value(finding.container, key)
        if specs is not None and (value is None or not any(s.matches(value) for s in specs)):
            return key
    return None


def waiver_from_record(record: WaiverRecord, host_names: Iterable[str]) -> Waiver:
    """Rebuild a waiver from a saved run's record, selecting `host_names`."""
    cond = record.conditions or {}
    if not record.created or not record.expires:
        raise InputError(f"waiver {record.id!r} in the run has no dates")

    return Waiver(
        id=record.id, reason=record.reason, owner=record.owner,
        approved_by=record.approved_by or "", ticket=record.ticket,
        created=dt.date.fromisoformat(record.created),
        expires=dt.date.fromisoformat(record.expires),
        hosts=None if record.hosts in (None, "all") else record.hosts,
        match=match_from_dict(cond),
        rules=tuple(TextSpec(t) for t in cond["rule"]) if "rule" in cond else None,
        kinds=frozenset(FindingKind(k) for k in cond["kind"]) if "kind" in cond else None,
        findings=frozenset(cond["finding"]) if "finding" in cond else None,
        host_names=frozenset(host_names), path=record.path,
    )


def selection(waivers: Sequence[Waiver]) -> HostIndex:
    """Which of `waivers` select each host (`Waiver.selects`: a waiver bound to no hosts
    selects every host only when it names none)."""
    return HostIndex((i for i, w in enumerate(waivers) if w.host_names is None and w.hosts is None),
                     ((i, w.host_names) for i, w in enumerate(waivers) if w.host_names is not None))


def apply_waivers(host: str, findings: Sequence[Finding], waivers: Sequence[Waiver],
                  today: dt.date) -> tuple[Finding, ...]:
    """Mark each finding the first active waiver (in load order) covers; expired ones never do."""
    active = [w for w in waivers if not w.expired(today) and w.selects(host)]
    out = []
    for f in findings:
        waiver = next((w for w in active if w.mismatch(f) is None), None)
        out.append(replace(f, waived=True, waiver=waiver.id) if waiver and not f.waived else f)
    return tuple(out)


def waiver_records(waivers: Sequence[Waiver], hosts: Sequence[HostResult], today: dt.date,
                   index: HostIndex | None = None,
                   ) -> tuple[tuple[WaiverRecord, ...], list[str]]:
    """Each waiver's status over the run, and the sentences every report must show."""
    selected_by: list[list[HostResult]] = [[] for _ in waivers]
    index = index or selection(waivers)
    for h in hosts:
        for i in index.of(h.name):
            selected_by[i].append(h)
    records, warnings = [], []
    for w, selected in zip(waivers, selected_by, strict=True):
        matched = sum(1 for h in selected for f in h.findings if w.mismatch(f) is None)
        who = f"owner {w.owner}" + (f", ticket {w.ticket}" if w.ticket else "")
        if w.expired(today):
            status = EXPIRED
            tail = (f"{plural(matched, 'finding')} it covers "
                    f"{'are' if matched != 1 else 'is'} reported as open again"
                    if matched else "it matched nothing in this run")
            warnings.append(f"waiver {w.id} ({who}) expired on {w.expires.isoformat()} and no "
                            f"longer waives anything: {tail}")
        elif matched == 0:
            status = UNUSED
            checked = [h for h in selected if h.checked]
            why = "none of its hosts could be checked" if selected and not checked else \
                "it selects no host of this run" if not selected else \
                "remove it or correct what it covers"
            warnings.append(f"waiver {w.id} ({who}) matched no finding: {why}")
        else:
            status = ACTIVE
        records.append(w.record(status, matched))
    return tuple(records), warnings


@frozen
class WaiverBook:
    """The waivers of a run and the day their expiry is judged on: what `scan` applies."""

    waivers: tuple[Waiver, ...]
    today: dt.date
    index: HostIndex = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "index", selection(self.waivers))

    def selecting_waivers(self, host: str) -> list[Waiver]:
        """The waivers whose hosts include `host`, in load order."""
        return [self.waivers[i] for i in self.index.of(host)]

    def apply(self, host: str, findings: Sequence[Finding]) -> tuple[Finding, ...]:
        """`findings` of `host` with those an active waiver covers marked waived."""
        return apply_waivers(host, findings, self.selecting_waivers(host), self.today)

    def selecting(self, host: str) -> tuple[str, ...]:
        """Ids of the waivers whose hosts include `host`."""
        return tuple(w.id for w in self.selecting_waivers(host))

    def records(self, hosts: Sequence[HostResult]) -> tuple[tuple[WaiverRecord, ...], list[str]]:
        """Each waiver's status over the run, and the warnings every report must show."""
        return waiver_records(self.waivers, hosts, self.today, self.index)
