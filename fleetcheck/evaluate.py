"""Judging: listeners + the policies that apply to a host -> verdicts and findings. Pure."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from fleetcheck.model import Finding, FindingKind, JudgedListener, Listener, Severity, Verdict
from fleetcheck.policy import Action, Policy, Rule
from fleetcheck.policy.match import MatchResult


@dataclass(frozen=True, slots=True)
class Judgement:
    """What the policies made of one host's listeners."""

    listeners: tuple[JudgedListener, ...]
    findings: tuple[Finding, ...]


def finding_id(host: str, kind: FindingKind, proto: str, port: int | None,
               address: str | None, rule: str | None) -> str:
    """A stable id: the same problem on the same host gets the same id in every run."""
    key = "\x1f".join((host, kind.value, proto, str(port), address or "", rule or ""))
    return "FC-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def describe(listener: Listener) -> str:
    """'TCP 1923 on 0.0.0.0 (spiced, pid 42)': how reports name a listener."""
    addr = f"[{listener.address}]" if ":" in listener.address else listener.address
    text = f"{listener.proto.upper()} {listener.port} on {addr}"
    if listener.iface:
        text += f"%{listener.iface}"
    owner = [p for p in (listener.process, f"pid {listener.pid}" if listener.pid else None) if p]
    return text + (f" ({', '.join(owner)})" if owner else "")


def evaluate(host: str, listeners: Iterable[Listener], policies: Sequence[Policy]) -> Judgement:
    """Judge every listener of `host` and check requirements.

    Combination over several policies: allows add up; a forbid beats any allow;
    requirements add up; `default: deny` in any applicable policy makes unmatched
    listeners stray (a deny is never weakened by another policy's allow-all default).
    """
    rules = [r for p in policies for r in p.rules]
    deny = any(p.default == "deny" for p in policies)
    stray_severity = max((p.stray_severity for p in policies if p.default == "deny"),
                         default=Severity.MEDIUM)
    undetermined_severity = max((p.undetermined_severity for p in policies),
                                default=Severity.LOW)
    judged: list[JudgedListener] = []
    findings: list[Finding] = []
    ordered = sorted(listeners, key=Listener.sort_key)
    for listener in ordered:
        jl, finding = _judge(host, listener, rules, deny, stray_severity, undetermined_severity)
        judged.append(jl)
        if finding is not None:
            findings.append(finding)
    for rule in (r for r in rules if r.action is Action.REQUIRE):
        finding = _requirement(host, rule, ordered, undetermined_severity)
        if finding is not None:
            findings.append(finding)
    return Judgement(tuple(judged), tuple(sorted(_dedupe(findings), key=Finding.sort_key)))


def _judge(host: str, listener: Listener, rules: list[Rule], deny: bool,
           stray_severity: Severity, undetermined_severity: Severity,
           ) -> tuple[JudgedListener, Finding | None]:
    """Decide one listener: forbid, then allow, then near-misses, then the default."""
    for rule in rules:
        if rule.action is Action.FORBID and rule.match.check(listener) is MatchResult.YES:
            reason = f": {rule.reason}" if rule.reason else ""
            return _verdict(host, listener, Verdict.FORBIDDEN, FindingKind.FORBIDDEN, rule,
                            rule.severity,
                            f"{describe(listener)} is forbidden by {rule.ref}{reason}")
    near: tuple[Rule, MatchResult] | None = None
    for rule in rules:
        if rule.action is not Action.ALLOW:
            continue
        result = rule.match.check(listener)
        if result is MatchResult.YES and not listener.truncated:
            return JudgedListener(listener, Verdict.ALLOWED, rule.ref), None
        if result not in (MatchResult.NO, MatchResult.YES) and near is None:
            near = (rule, result)
    if near is not None:
        rule, result = near
        if result is MatchResult.WRONG_BIND:
            return _verdict(host, listener, Verdict.WRONG_BIND, FindingKind.WRONG_BIND, rule,
                            rule.severity, f"{describe(listener)} is bound beyond what "
                            f"{rule.ref} allows for this port")
        if result is MatchResult.WRONG_PROCESS:
            return _verdict(host, listener, Verdict.WRONG_PROCESS, FindingKind.WRONG_PROCESS,
                            rule, rule.severity, f"{describe(listener)} is held by a process "
                            f"{rule.ref} does not allow on this port")
        return _verdict(host, listener, Verdict.UNDETERMINED, FindingKind.UNDETERMINED, rule,
                        undetermined_severity, f"{describe(listener)}: {rule.ref} depends on "
                        "the owning process or user, which could not be seen")
    if not deny:
        return JudgedListener(listener, Verdict.ALLOWED, None), None
    why = " (the tool truncated its address, so no allow rule can vouch for it)" \
        if listener.truncated else ""
    return _verdict(host, listener, Verdict.STRAY, FindingKind.STRAY, None, stray_severity,
                    f"{describe(listener)} is not allowed by any rule{why}")


def _verdict(host: str, listener: Listener, verdict: Verdict, kind: FindingKind,
             rule: Rule | None, severity: Severity, message: str,
             ) -> tuple[JudgedListener, Finding]:
    ref = rule.ref if rule else None
    finding = Finding(
        id=finding_id(host, kind, listener.proto, listener.port, listener.address, ref),
        kind=kind, severity=severity, proto=listener.proto, port=listener.port,
        address=listener.address, process=listener.process, rule=ref, message=message,
        pid=listener.pid, family=listener.family,
    )
    return JudgedListener(listener, verdict, ref), finding


def _requirement(host: str, rule: Rule, listeners: list[Listener],
                 undetermined_severity: Severity) -> Finding | None:
    """A finding when nothing satisfies a require rule (undetermined if owners were hidden)."""
    results = [rule.match.check(listener) for listener in listeners]
    if MatchResult.YES in results:
        return None
    proto = "/".join(sorted(rule.match.protos)) if rule.match.protos else "any"
    port = rule.match.ports[0][0] if rule.match.ports and len(rule.match.ports) == 1 \
        and rule.match.ports[0][0] == rule.match.ports[0][1] else None
    what = f"{proto.upper()} {port}" if port is not None else "a listener"
    reason = f": {rule.reason}" if rule.reason else ""
    if MatchResult.UNKNOWN_OWNER in results:
        return Finding(
            id=finding_id(host, FindingKind.UNDETERMINED, proto, port, None, rule.ref),
            kind=FindingKind.UNDETERMINED, severity=undetermined_severity, proto=proto,
            port=port, address=None, process=None, rule=rule.ref,
            message=f"{rule.ref} requires {what}; one listens but its owner could not be seen",
        )
    return Finding(
        id=finding_id(host, FindingKind.MISSING, proto, port, None, rule.ref),
        kind=FindingKind.MISSING, severity=rule.severity, proto=proto, port=port,
        address=None, process=None, rule=rule.ref,
        message=f"nothing satisfies {rule.ref}: {what} is required{reason}",
    )


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per id: e.g. several processes sharing a socket give one finding."""
    seen: dict[str, Finding] = {}
    for f in findings:
        seen.setdefault(f.id, f)
    return list(seen.values())
