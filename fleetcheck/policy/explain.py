"""Explaining one host's port: which rules and waivers were weighed, which decided, and why.

Works on a RunResult alone (saved or just made): the run records the policy
definitions and waiver conditions it used, so the explanation needs no files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import field
from typing import Any

from fleetcheck.addresses import bind_scope
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen, replace
from fleetcheck.model import Container, Finding, HostResult, JudgedListener, Listener, RunResult
from fleetcheck.policy import Action, Policy, Rule
from fleetcheck.policy.judge import Considered, HostRules, decide, requirement
from fleetcheck.policy.match import (
    Match,
    MatchResult,
    container_value,
    exposures,
    format_ports,
    holders,
    unsure_dual,
)
from fleetcheck.policy.serialize import policy_from_dict
from fleetcheck.policy.waivers import Waiver, waiver_from_record
from fleetcheck.policy.wording import UNSHOWN_DEVICE


@frozen
class RuleStep:
    """One rule weighed against the listener, in words."""

    rule: Rule
    result: MatchResult
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        """The step as JSON."""
        return {"rule": self.rule.ref, "action": self.rule.action.value,
                "result": self.result.value, "why": self.sentence,
                "where": _where(self.rule)}


@frozen
class WaiverStep:
    """One waiver weighed against the finding: 'waives', 'also covers', 'expired', 'no'."""

    waiver: str
    outcome: str
    sentence: str

    def to_dict(self) -> dict[str, Any]:
        """The step as JSON."""
        return {"waiver": self.waiver, "outcome": self.outcome, "why": self.sentence}


@frozen
class ListenerStory:
    """How one listener was judged, with the run's own record beside the recomputation."""

    listener: Listener
    verdict: str
    rule: str | None
    recorded: JudgedListener | None
    steps: tuple[RuleStep, ...]
    finding: Finding | None
    waivers: tuple[WaiverStep, ...] = ()

    @property
    def consistent(self) -> bool:
        """True when recomputing gives the verdict and rule the run recorded."""
        return self.recorded is None or (self.recorded.verdict.value, self.recorded.rule) == (
            self.verdict, self.rule)


@frozen
class Explanation:
    """Everything said about one host and port."""

    host: str
    port: int
    proto: str | None
    policies: tuple[Policy, ...]
    default: str
    default_why: str
    listeners: tuple[ListenerStory, ...]
    requirements: tuple[tuple[Rule, Finding | None], ...]
    notes: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The explanation as JSON."""
        return {
            "host": self.host, "port": self.port, "proto": self.proto,
            "policies": [{"name": p.name, "hosts": p.hosts or "all", "default": p.default}
                         for p in self.policies],
            "default": self.default, "default_why": self.default_why,
            "listeners": [{
                "listener": s.listener.to_dict(), "verdict": s.verdict, "rule": s.rule,
                "consistent_with_run": s.consistent,
                "rules": [st.to_dict() for st in s.steps],
                "finding": s.finding.to_dict() if s.finding else None,
                "waivers": [w.to_dict() for w in s.waivers]} for s in self.listeners],
            "requirements": [{"rule": r.ref, "satisfied": f is None,
                              "finding": f.to_dict() if f else None}
                             for r, f in self.requirements],
            "notes": list(self.notes),
        }


def _where(rule: Rule) -> str | None:
    return f"{rule.where.path}:{rule.where.line}" if rule.where else None


def run_policies(run: RunResult) -> dict[str, Policy]:
    """The policies a run recorded, by name."""
    return {d["name"]: policy_from_dict(d) for d in run.policy_definitions}


def find_host(run: RunResult, name: str) -> HostResult:
    """The host called `name` in `run`; InputError naming the hosts when it is not there."""
    for h in run.hosts:
        if h.name == name:
            return h
    names = ", ".join(h.name for h in run.hosts[:10])
    raise InputError(f"host {name!r} is not in this run (hosts: {names}"
                     f"{', ...' if len(run.hosts) > 10 else ''})")


def explain(run: RunResult, host_name: str, port: int, proto: str | None = None) -> Explanation:
    """Explain how `run` judged `port` (and `proto`, if given) on `host_name`."""
    host = find_host(run, host_name)
    if not host.checked:
        raise InputError(f"host {host_name!r} was not checked in this run ({host.status.value}"
                         f": {host.error.message if host.error else 'no listeners read'})")
    known = run_policies(run)
    # A host no policy applies to needs no definition (its listeners are stray); one whose
    # policies the run does not define was judged by a fleetcheck that did not record them.
    missing = [n for n in host.policies if n not in known]
    if missing and not known:
        raise InputError("this run does not record its policy definitions (it was made by an "
                         "older fleetcheck); explain the host live with -i/-p instead")
    if missing:
        raise InputError(f"host {host_name!r} was judged by policy {missing[0]!r}, which this "
                         "run does not define (an edited or damaged run file); explain the "
                         "host live with -i/-p instead")
    policies = tuple(known[n] for n in host.policies)
    ctx = HostRules.of(policies)
    listeners = [jl.listener for jl in host.listeners]
    waivers = [waiver_from_record(r, [host.name] if r.id in host.waivers else [])
               for r in run.waivers]
    today = run.meta.get("waiver_date")
    stories = []
    for jl in host.listeners:
        li = jl.listener
        if li.port != port or (proto is not None and li.proto != proto):
            continue
        trace: list[Considered] = []
        decision = decide(host.name, li, ctx, trace)
        recorded = next((f for f in host.findings
                         if decision.finding and f.id == decision.finding.id), decision.finding)
        steps = tuple(RuleStep(c.rule, c.result, _sentence(c, li)) for c in trace)
        stories.append(ListenerStory(
            li, decision.verdict.value, decision.rule.ref if decision.rule else None, jl,
            steps, recorded,
            _waiver_steps(host.name, recorded, waivers, today) if recorded else ()))
    reqs = tuple((r, requirement(host.name, r, listeners, ctx)) for r in ctx.requires
                 if _about_port(r, port, proto))
    notes = []
    if not stories:
        what = f"{proto.upper()} {port}" if proto else f"port {port}"
        notes.append(f"nothing listens on {what} on {host.name} in this run")
    if any(not s.consistent for s in stories):
        notes.append("recomputing gives a different verdict than the run recorded: the run was "
                     "made by another fleetcheck version")
    return Explanation(host.name, port, proto, policies, ctx.default, ctx.default_why,
                       tuple(stories), reqs, tuple(notes))


def _about_port(rule: Rule, port: int, proto: str | None) -> bool:
    """True when `rule` names `port` (for `proto`, or either proto)."""
    protos = (proto,) if proto else ("tcp", "udp")
    return rule.match.claims_port and any(rule.match.port_matches(p, port) for p in protos)


def _sentence(c: Considered, li: Listener) -> str:
    """Why one rule did or did not match, in words."""
    m, rule = c.rule.match, c.rule
    if c.result is MatchResult.YES:
        verb = {Action.FORBID: "forbids it", Action.ALLOW: "allows it",
                Action.REQUIRE: "satisfies this requirement (which does not allow it)"}[rule.action]
        return f"matches ({m.describe()}): {verb}"
    cond = c.condition
    if cond == "proto":
        why = f"proto {li.proto} is not {'/'.join(sorted(m.protos or ()))}"
    elif cond == "port":
        wants = [format_ports(m.ports)] if m.ports else []
        wants += [f"service {s}" for s in m.services or ()]
        why = f"port {li.port} is not {' or '.join(wants)}"
    elif cond == "family":
        wide = replace(li, dual_stack=True) if unsure_dual(li) else li  # as Match judged it
        fams = "/".join(str(f) for f, _ in exposures(wide))
        why = f"family IPv{fams} is not IPv{'/'.join(str(f) for f in sorted(m.families or ()))}"
    elif cond == "dual_stack" and c.result is MatchResult.UNKNOWN_OWNER:
        why = ("the rule holds one way and not the other, and the tool did not show whether "
               "this [::] also accepts IPv4 (dual-stack)")
    elif cond == "dual_stack":
        why = f"dual_stack is {str(li.dual_stack).lower()}, the rule wants " \
              f"{str(m.dual_stack).lower()}"
    elif cond == "interface":
        names = " or ".join(i.text for i in m.interfaces or ())
        why = (f"bound to device {li.iface}, the rule wants {names}" if li.iface else
               f"bound to no device, the rule wants {names}" if li.device_shown else
               f"the rule wants {names}, and {UNSHOWN_DEVICE}")
    elif cond == "address":
        scope = bind_scope(li.address, li.iface) or "a name"
        if li.iface:
            scope += f", bound to device {li.iface}"
        if li.route_localnet:
            scope += f", reachable from the network through route_localnet on " \
                     f"{', '.join(li.route_localnet)}"
        why = f"bound to {li.address} ({scope}), the rule " \
              f"wants {' or '.join(a.text for a in m.addresses or ())}"
    elif cond in _PLACES:
        why = _place_why(cond, m, li, c.result)
    elif c.result is MatchResult.UNKNOWN_OWNER:
        why = f"the owning {cond} could not be seen, and the rule depends on it"
    elif cond == "process":
        why = f"held by {', '.join(holders(li) or [])}, the rule wants " \
              f"{' or '.join(s.text for s in m.processes or ())}"
    else:
        who = li.user or (f"uid {li.uid}" if li.uid is not None else "?")
        why = f"owned by {who}, the rule wants {' or '.join(s.text for s in m.users or ())}"
    if c.result in (MatchResult.WRONG_BIND, MatchResult.WRONG_PROCESS):
        return f"near miss ({c.result.value}): names this port, but {why}"
    if c.result is MatchResult.UNKNOWN_OWNER:
        return f"cannot tell: {why}"
    return f"no: {why}"


_PLACES = ("namespace", "exposure", "container", "image", "pod", "k8s_namespace")


def _place(netns: int | None, exposure: str | None, container: Container | None,
           condition: str) -> str | None:
    """A listener's (or finding's) side of a namespace/container condition."""
    if condition == "namespace":
        return "host" if netns is None else "container"
    if condition == "exposure":
        return exposure
    return container_value(container, condition)


def _place_why(cond: str, m: Match, li: Listener, result: MatchResult) -> str:
    """Why a namespace or container condition did not hold, in words."""
    wants = {"namespace": sorted(m.namespaces or ()), "exposure": sorted(m.exposures or ()),
             "container": [s.text for s in m.containers or ()],
             "image": [s.text for s in m.images or ()], "pod": [s.text for s in m.pods or ()],
             "k8s_namespace": [s.text for s in m.k8s_namespaces or ()]}[cond]
    if result is MatchResult.UNKNOWN_OWNER:
        return f"the container's {cond} is not known, and the rule depends on it"
    value = _place(li.netns, li.exposure, li.container, cond)
    none = "none (not in a container)" if li.container is None else "none"
    return f"{cond} is {value or none}, the rule wants " \
           f"{' or '.join(wants)}"


def _finding_value(f: Finding, condition: str) -> str:
    """The finding's side of a waiver condition, in words."""
    if condition in _PLACES:
        place = _place(f.netns, f.exposure, f.container, condition)
        return f"{condition} {place}" if place is not None else f"{condition} (not known)"
    value = {"finding": f.id, "kind": f.kind.value, "rule": f.rule, "proto": f.proto,
             "port": f"{f.proto}/{f.port}" if f.port is not None else None,
             "process": f.process}.get(condition)
    return f"{condition} {value}" if value is not None else f"{condition} (not known)"


def _waiver_steps(host: str, finding: Finding, waivers: list[Waiver],
                  today: str | None) -> tuple[WaiverStep, ...]:
    steps = []
    for w in waivers:
        who = f"owner {w.owner}" + (f", ticket {w.ticket}" if w.ticket else "") + \
            f", expires {w.expires.isoformat()}"
        miss = w.mismatch(finding)
        if not w.selects(host):
            steps.append(WaiverStep(w.id, "no", f"does not select {host} "
                                    f"(hosts: {w.hosts or 'all'})"))
        elif miss is not None:
            wants = w.conditions().get(miss)
            shown = ", ".join(map(str, wants)) if isinstance(wants, list) else wants
            steps.append(WaiverStep(w.id, "no", f"does not cover it: {miss} {shown} does not "
                                    f"match the finding's {_finding_value(finding, miss)}"))
        elif today is not None and w.expired(dt.date.fromisoformat(today)):
            steps.append(WaiverStep(w.id, "expired", f"covers it, but expired on "
                                    f"{w.expires.isoformat()} ({who}), so it does not waive"))
        elif finding.waiver == w.id:
            steps.append(WaiverStep(w.id, "waives", f"waives it ({who}): {w.reason}"))
        else:
            steps.append(WaiverStep(w.id, "also covers", f"also covers it ({who}); "
                                    f"{finding.waiver or 'no waiver'} was applied"))
    return tuple(steps)
