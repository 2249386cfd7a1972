"""Judging: listeners + the policies that apply to a host -> verdicts and findings. Pure.

How several policies combine on one host (docs/policies.md says the same):
allows add up; a forbid beats any allow; requirements add up (a requirement
says what must listen, never what may: only allow rules and the default allow);
the default is deny if any applicable policy says deny, allow only if every
policy stating a default says allow, and deny when none states one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from fleetcheck import services
from fleetcheck.addresses import bind_text
from fleetcheck.frozen import frozen
from fleetcheck.model import (
    CONTAINER_ONLY,
    Finding,
    FindingKind,
    JudgedListener,
    Listener,
    Namespaces,
    Severity,
    Verdict,
    container_identity,
)
from fleetcheck.policy import Action, Policy, Rule, resolve_containers, resolve_default, review
from fleetcheck.policy.match import MatchResult
from fleetcheck.policy.wording import (
    PLACE,
    UNSHOWN_DEVICE,
    UNSURE_DUAL,
    bind_specs,
    owner_of,
    specs,
    unseen,
)


@frozen
class Judgement:
    """What the policies made of one host's listeners."""

    listeners: tuple[JudgedListener, ...]
    findings: tuple[Finding, ...]


@frozen
class Considered:
    """One rule weighed against one listener: its result and the condition that decided it."""

    rule: Rule
    result: MatchResult
    condition: str | None


@frozen
class Decision:
    """The verdict on one listener, the rule that decided it and the finding it raises."""

    verdict: Verdict
    rule: Rule | None
    finding: Finding | None


@frozen
class HostRules:
    """The rules of every policy applying to one host, and how their defaults resolved."""

    policies: tuple[Policy, ...]
    forbids: tuple[Rule, ...]
    allows: tuple[Rule, ...]
    requires: tuple[Rule, ...]
    default: str
    default_why: str
    stray_severity: Severity
    undetermined_severity: Severity
    # Allowances whose review is overdue: (rule, severity, why), judged on the load date.
    overdue: tuple[tuple[Rule, Severity, str], ...] = ()
    containers: str = "list"  # container-only listeners no rule decides: judge | list

    @classmethod
    def of(cls, policies: Sequence[Policy]) -> HostRules:
        """Combine `policies` (in load order) for one host."""
        pols = tuple(policies)
        rules = [r for p in pols for r in p.rules]
        default, why = resolve_default(pols)
        deny = [p for p in pols if p.default == "deny"] or [p for p in pols if p.default is None]
        return cls(
            policies=pols,
            forbids=tuple(r for r in rules if r.action is Action.FORBID),
            allows=tuple(r for r in rules if r.action is Action.ALLOW),
            requires=tuple(r for r in rules if r.action is Action.REQUIRE),
            default=default, default_why=why,
            stray_severity=max((p.stray_severity for p in deny), default=Severity.MEDIUM),
            undetermined_severity=max((p.undetermined_severity for p in pols),
                                      default=Severity.LOW),
            overdue=tuple((r, p.review_severity, why) for p in pols
                          for r, why in review.overdue(p)),
            containers=resolve_containers(pols)[0],
        )


def finding_id(host: str, kind: FindingKind, proto: str, port: int | None,
               address: str | None, rule: str | None, place: str | None = None,
               iface: str | None = None) -> str:
    """A stable id: the same problem on the same host gets the same id in every run.

    `place` is the container's identity (`container_identity`: name and image, never its
    random id) for a listener in a container; a host listener's id is as it always was.
    `iface` is the device the socket is bound to: `0.0.0.0%virbr0:67` and
    `0.0.0.0%virbr1:67` are two sockets (a listener bound to none keeps its id).
    """
    parts = (host, kind.value, proto, str(port), bind_text(address, iface), rule or "")
    key = "\x1f".join(parts if place is None else (*parts, place))
    return "FC-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def describe(listener: Listener) -> str:
    """'TCP 1923 (spice) on 0.0.0.0 (spiced, pid 42)': how reports name a listener."""
    addr = f"[{listener.address}]" if ":" in listener.address else listener.address
    name = services.shipped_table().by_port.get((listener.port, listener.proto))
    text = f"{listener.proto.upper()} {listener.port}{f' ({name})' if name else ''} on {addr}"
    if listener.iface:
        text += f"%{listener.iface}"
    stack = {True: "dual-stack", None: "may take IPv4 too", False: None}[
        listener.dual_stack] if listener.family == 6 else None
    extra = [p for p in (stack, listener.process,
                         f"pid {listener.pid}" if listener.pid else None) if p]
    text += f" ({', '.join(extra)})" if extra else ""
    if listener.route_localnet:
        text += f", reachable from the network through route_localnet on " \
                f"{', '.join(listener.route_localnet)}"
    if listener.container is not None:
        text += f" in {listener.container.label()}"
    elif listener.netns is not None:
        text += f" in network namespace {listener.netns}"
    if listener.published_port is not None:
        text += f", published on host port {listener.published_port}"
    return text


def unread_namespaces(namespaces: Namespaces | None, policies: Sequence[Policy]) -> str | None:
    """Why a host cannot be judged when its other network namespaces were not read and its
    policies judge container listeners (`containers: judge`); None when it can be."""
    if namespaces is None or namespaces.unread is None:
        return None
    mode, why = resolve_containers(policies)
    if mode != "judge":
        return None
    return (f"incomplete collection: {namespaces.unread}; {why}, so a host whose containers "
            "could not be seen is never judged")


def evaluate(host: str, listeners: Iterable[Listener], policies: Sequence[Policy]) -> Judgement:
    """Judge every listener of `host` and check requirements (see the module docstring)."""
    ctx = HostRules.of(policies)
    judged: list[JudgedListener] = []
    findings: list[Finding] = []
    ordered = sorted(listeners, key=_total_order)
    for listener in ordered:
        decision = decide(host, listener, ctx)
        judged.append(JudgedListener(listener, decision.verdict,
                                     decision.rule.ref if decision.rule else None))
        if decision.finding is not None:
            findings.append(decision.finding)
    for rule in ctx.requires:
        finding = requirement(host, rule, ordered, ctx)
        if finding is not None:
            findings.append(finding)
    findings += [overdue_review(host, rule, severity, why) for rule, severity, why in ctx.overdue]
    return Judgement(tuple(judged), tuple(sorted(_dedupe(findings), key=Finding.sort_key)))


_STACK_ORDER = {False: 0, None: 1, True: 2}  # None (not shown) sorts between the two


def _total_order(li: Listener) -> tuple[Any, ...]:
    """Report order, made total so that the input order never shows in the output."""
    return (li.sort_key(), li.other_processes, li.user or "", -1 if li.uid is None else li.uid,
            li.iface or "", _STACK_ORDER[li.dual_stack], li.truncated, li.inode or 0,
            li.port_name or "",
            li.service or "", li.netns or 0, container_identity(li) or "", li.exposure,
            li.published_port or 0)


def decide(host: str, listener: Listener, ctx: HostRules,
           trace: list[Considered] | None = None) -> Decision:
    """Decide one listener: a forbid, else an allow, else a near miss, else the default.

    With `trace`, every rule is weighed and recorded (for `explain`); the decision
    is the same either way.
    """
    forbid: Rule | None = None
    forbid_unknown: tuple[Rule, str | None] | None = None
    for rule in ctx.forbids:
        result, condition = rule.match.check_detail(listener, covering=False)
        if trace is not None:
            trace.append(Considered(rule, result, condition))
        if result is MatchResult.YES and (forbid is None or rule.severity > forbid.severity):
            forbid = rule
            if trace is None and rule.severity is Severity.CRITICAL:
                break
        elif result is MatchResult.UNKNOWN_OWNER and forbid_unknown is None:
            forbid_unknown = (rule, condition)
    if forbid is not None and trace is None:
        return _forbidden(host, listener, forbid)
    allowed: Rule | None = None
    unknown: tuple[Rule, str | None] | None = None
    near: tuple[Rule, MatchResult, str | None] | None = None
    for rule in ctx.allows:
        result, condition = rule.match.check_detail(listener, covering=True)
        if trace is not None:
            trace.append(Considered(rule, result, condition))
        if result is MatchResult.YES and not listener.truncated:
            allowed = allowed or rule
            if trace is None:
                break
        elif result is MatchResult.UNKNOWN_OWNER:
            unknown = unknown or (rule, condition)
        elif result in (MatchResult.WRONG_BIND, MatchResult.WRONG_PROCESS) and near is None:
            near = (rule, result, condition)
    if trace is not None:  # shown by `explain`; a requirement never allows by itself
        for rule in ctx.requires:
            result, condition = rule.match.check_detail(listener, covering=False)
            trace.append(Considered(rule, result, condition))
    if forbid is not None:
        return _forbidden(host, listener, forbid)
    # Under default allow an allow rule's near miss stays allowed: allows only ever allow.
    if allowed is None and ctx.default != "allow":
        missed = _missed(host, listener, ctx, unknown, near)
        if missed is not None:
            return missed
    if allowed is not None:
        passing = Decision(Verdict.ALLOWED, allowed, None)
    elif listener.exposure == CONTAINER_ONLY and ctx.containers == "list":
        passing = Decision(Verdict.LISTED, None, None)  # only reachable from the host itself
    elif ctx.default == "allow":
        passing = Decision(Verdict.ALLOWED, None, None)
    else:
        why = " (the tool truncated its address, so no allow rule can vouch for it)" \
            if listener.truncated else ""
        return _finding(host, listener, Verdict.STRAY, None, ctx.stray_severity,
                        f"{describe(listener)} is not allowed by any rule{why}; "
                        f"{ctx.default_why}")
    if forbid_unknown is None:
        return passing
    # A listener that would pass (allowed, listed, or the default's) is undetermined
    # while a forbid that may match it cannot be settled.
    rule, condition = forbid_unknown
    if condition == "dual_stack":
        why = f"whether {rule.ref} forbids it depends {UNSURE_DUAL}"
    else:
        why = (f"{rule.ref} forbids it if its {unseen(rule, condition)} matches, "
               "which could not be seen")
    verb = "be listed" if passing.verdict is Verdict.LISTED else "be allowed"
    return _finding(host, listener, Verdict.UNDETERMINED, rule, ctx.undetermined_severity,
                    f"{describe(listener)} would {verb}, but {why}")


def _missed(host: str, listener: Listener, ctx: HostRules,
            unknown: tuple[Rule, str | None] | None,
            near: tuple[Rule, MatchResult, str | None] | None) -> Decision | None:
    """Under default deny, what an allow rule that may match (undetermined) or names the
    port but not the rest (wrong_bind, wrong_process) makes of a listener no rule allows."""
    if unknown is not None:
        rule, condition = unknown
        if condition == "dual_stack":
            why = f"whether {rule.ref} allows it depends {UNSURE_DUAL}"
        elif condition in PLACE:
            why = (f"{rule.ref} allows it only for {condition} {specs(rule, condition)}, "
                   f"and the host did not tell the {unseen(rule, condition)}")
        else:
            why = (f"{rule.ref} allows it only for {specs(rule, 'owner')}, and the owner "
                   "could not be seen (collect with --become)")
        return _finding(host, listener, Verdict.UNDETERMINED, rule, ctx.undetermined_severity,
                        f"{describe(listener)}: {why}")
    if near is None:
        return None
    rule, result, condition = near
    if result is MatchResult.WRONG_BIND:
        unshown = f": {UNSHOWN_DEVICE}" if condition == "interface" \
            and not listener.device_shown else ""
        return _finding(host, listener, Verdict.WRONG_BIND, rule, rule.severity,
                        f"{describe(listener)} is bound beyond what {rule.ref} allows "
                        f"on this port ({bind_specs(rule, condition)}){unshown}")
    return _finding(host, listener, Verdict.WRONG_PROCESS, rule, rule.severity,
                    f"{describe(listener)} is held by {owner_of(listener, rule)}, but "
                    f"{rule.ref} allows only {specs(rule, 'owner')} on this port")


def _forbidden(host: str, listener: Listener, rule: Rule) -> Decision:
    reason = f": {rule.reason}" if rule.reason else ""
    return _finding(host, listener, Verdict.FORBIDDEN, rule, rule.severity,
                    f"{describe(listener)} is forbidden by {rule.ref}{reason}")


def _finding(host: str, listener: Listener, verdict: Verdict, rule: Rule | None,
             severity: Severity, message: str) -> Decision:
    kind = FindingKind(verdict.value)
    ref = rule.ref if rule else None
    finding = Finding(
        id=finding_id(host, kind, listener.proto, listener.port, listener.address, ref,
                      container_identity(listener), listener.iface),
        kind=kind, severity=severity, proto=listener.proto, port=listener.port,
        address=listener.address, iface=listener.iface, process=listener.process, rule=ref,
        message=message,
        pid=listener.pid, family=listener.family, netns=listener.netns,
        container=listener.container, exposure=listener.exposure,
    )
    return Decision(verdict, rule, finding)


def rule_proto_port(rule: Rule) -> tuple[str, int | None]:
    """How findings about a rule (not a listener) name its protocol and port: 'tcp/udp' or
    'any'; the port when the rule names exactly one."""
    m = rule.match
    protos = sorted(m.protos) if m.protos else sorted({p for p, _ in m.service_ports or ()}) \
        or ["any"]
    ports = sorted({n for _, n in m.service_ports or ()} | {
        p for lo, hi in m.ports or () for p in (lo, hi)})
    return "/".join(protos), ports[0] if len(ports) == 1 else None


def overdue_review(host: str, rule: Rule, severity: Severity, why: str) -> Finding:
    """The finding of an allowance whose periodic review is overdue, on a host it applies to."""
    proto, port = rule_proto_port(rule)
    kind = FindingKind.OVERDUE_REVIEW
    return Finding(id=finding_id(host, kind, proto, port, None, rule.ref), kind=kind,
                   severity=severity, proto=proto, port=port, address=None, process=None,
                   rule=rule.ref, message=why)


def requirement(host: str, rule: Rule, listeners: Sequence[Listener],
                ctx: HostRules) -> Finding | None:
    """A finding when nothing satisfies a require rule (undetermined if owners were hidden)."""
    details = [rule.match.check_detail(li, covering=False) for li in listeners]
    results = [r for r, _ in details]
    if MatchResult.YES in results:
        return None
    m = rule.match
    proto, port = rule_proto_port(rule)
    reason = f": {rule.reason}" if rule.reason else ""
    if MatchResult.UNKNOWN_OWNER in results:
        unseen = {c for r, c in details if r is MatchResult.UNKNOWN_OWNER}
        lacks = "tool does not show whether it also accepts IPv4 (ss does)" \
            if unseen == {"dual_stack"} else "owner could not be seen (collect with --become)"
        return Finding(
            id=finding_id(host, FindingKind.UNDETERMINED, proto, port, None, rule.ref),
            kind=FindingKind.UNDETERMINED, severity=ctx.undetermined_severity, proto=proto,
            port=port, address=None, process=None, rule=rule.ref,
            message=f"{rule.ref} requires a listener with {m.describe()}; one listens but its "
                    f"{lacks}",
        )
    near = [describe(li) for li, r in zip(listeners, results, strict=True)
            if r in (MatchResult.WRONG_BIND, MatchResult.WRONG_PROCESS)]
    instead = f" (found instead: {'; '.join(near)})" if near else ""
    return Finding(
        id=finding_id(host, FindingKind.MISSING, proto, port, None, rule.ref),
        kind=FindingKind.MISSING, severity=rule.severity, proto=proto, port=port,
        address=None, process=None, rule=rule.ref,
        message=f"nothing satisfies {rule.ref}: a listener with {m.describe()} is "
                f"required{reason}{instead}",
    )


# Verdicts on a socket reached knowing what "undetermined" lacked (its process or user).
_DECIDED = frozenset({FindingKind.STRAY, FindingKind.FORBIDDEN, FindingKind.WRONG_PROCESS,
                      FindingKind.WRONG_BIND})


def _dedupe(findings: list[Finding]) -> list[Finding]:
    """One finding per id: e.g. several processes sharing a socket give one finding.

    A socket listed twice, once with its owner and once without, is one socket with a
    known owner: the verdict reached knowing it stands, and "undetermined" for the other
    listing adds nothing (nor may an allow rule turn one finding into two that way)."""
    seen: dict[str, Finding] = {}
    for f in findings:
        seen.setdefault(f.id, f)
    decided = {_socket(f) for f in seen.values() if f.kind in _DECIDED}
    return [f for f in seen.values()
            if not (f.kind is FindingKind.UNDETERMINED and _socket(f) in decided)]


def _socket(f: Finding) -> tuple[object, ...]:
    """The socket a finding is about, in its namespace and container."""
    return (f.proto, f.family, f.address, f.iface, f.port, f.netns,
            f.container and f.container.id)
