"""Linting policies and waivers together against an inventory, without contacting any host.

Errors (scan refuses to run): anything malformed, unknown keys, duplicate ids,
rules that can never match, waivers naming rules that do not exist.
Warnings (the run goes on): overlapping allow and forbid, policies or waivers
selecting no host, hosts no policy covers, conflicting defaults, repeated rules,
expired, soon-expiring or self-approved waivers, rules whose review is overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from fleetcheck.clock import LOCAL_AHEAD
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen, replace
from fleetcheck.inventory import Inventory
from fleetcheck.policy import Action, Policy, resolve_default, review
from fleetcheck.policy.load import collect_policies
from fleetcheck.policy.match import Match
from fleetcheck.policy.problems import Level, Problems
from fleetcheck.policy.rulecheck import PortIndex, could_allow, overlap, port_pieces
from fleetcheck.policy.waiver_load import collect_waivers
from fleetcheck.policy.waivers import Waiver
from fleetcheck.words import did_you_mean, plural

WARN_EXPIRING_DAYS = 14
_SHOWN = 5  # hosts named in a warning before "and N more"


@frozen(slots=False)
class Checked:
    """What loaded: the policies, the waivers (bound to the inventory's hosts), and who is who."""

    policies: list[Policy]
    waivers: list[Waiver]
    selected: dict[str, frozenset[str]] | None  # policy name -> hosts; None: no inventory


def check_all(inventory: Inventory | None, policy_paths: Sequence[str | Path],
              waiver_paths: Sequence[str | Path], problems: Problems, *, today: dt.date,
              warn_days: int = WARN_EXPIRING_DAYS) -> Checked:
    """Load and cross-check everything, recording every problem found in `problems`."""
    before = len(problems.errors)
    policies = review.judge(collect_policies(policy_paths, problems), today, problems)
    memo: dict[str | None, frozenset[str]] = {}  # policies and waivers share patterns

    def pick(pattern: str | None) -> frozenset[str]:
        assert inventory is not None
        if pattern not in memo:
            memo[pattern] = select(inventory, pattern)
        return memo[pattern]

    selected = None if inventory is None else {p.name: pick(p.hosts) for p in policies}
    # Coverage is only meaningful when every policy file loaded.
    complete = len(problems.errors) == before
    _lint_policies(policies, selected, inventory if complete else None, problems)
    waivers = [w if inventory is None else replace(w, host_names=pick(w.hosts))
               for w in collect_waivers(waiver_paths, problems)]
    _lint_waivers(waivers, policies, inventory, problems, today, warn_days)
    return Checked(policies, waivers, selected)


def select(inventory: Inventory, pattern: str | None) -> frozenset[str]:
    """Names of the hosts `pattern` selects (every host for None; none when nothing matches)."""
    try:
        return frozenset(h.name for h in inventory.select(pattern, quiet=True))
    except InputError:
        return frozenset()


def _names(hosts: set[str] | frozenset[str]) -> str:
    shown = sorted(hosts)[:_SHOWN]
    more = len(hosts) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def _lint_policies(policies: list[Policy], selected: dict[str, frozenset[str]] | None,
                   inventory: Inventory | None, problems: Problems) -> None:
    for p in policies:
        if not p.rules:
            problems.warn(p.mark("name"), f"policy {p.name!r} has no rules")
        if selected is not None and p.hosts is not None and not selected[p.name]:
            problems.warn(p.mark("hosts"), f"policy {p.name!r} selects no host: {p.hosts!r} "
                          "matches nothing in the inventory")
        seen: dict[tuple[Action, Match], str] = {}
        for r in p.rules:
            if r.action is Action.ALLOW and r.match == Match():
                problems.warn(r.where or p.mark("allow"), f"allow rule {r.id!r} has no "
                              "conditions and allows every listener (as default: allow would)")
            first = seen.setdefault((r.action, r.match), r.id)
            if first != r.id:
                problems.warn(r.where or p.mark(r.action.value), f"{r.action.value} rule "
                              f"{r.id!r} repeats the conditions of rule {first!r}")
    if inventory is not None and selected is not None:
        covered = set().union(*selected.values()) if selected else set()
        bare = {h.name for h in inventory.hosts} - covered
        if bare:
            problems.add(InputError(f"no policy applies to {plural(len(bare), 'host')} "
                                    f"({_names(bare)}): every "
                                    "listener there will be stray",
                                    inventory.sources[0] if inventory.sources else None),
                         Level.WARNING)
    _conflicting_defaults(policies, selected, problems)
    _overlaps(policies, selected, problems)
    _unallowed_requirements(policies, selected, problems)


def _hosts_phrase(hosts: frozenset[str] | None) -> str:
    if hosts is None:
        return "hosts"
    return f"host{'s' * (len(hosts) != 1)} ({_names(hosts)})"


def _shared(a: Policy, b: Policy, selected: dict[str, frozenset[str]] | None,
            ) -> tuple[bool, frozenset[str] | None]:
    """Whether both policies apply to some host, and which (None: unknown, no inventory)."""
    if selected is None:
        return True, None
    common = selected[a.name] & selected[b.name]
    return bool(common), common


def _conflicting_defaults(policies: list[Policy], selected: dict[str, frozenset[str]] | None,
                          problems: Problems) -> None:
    """Warn about each default: allow policy sharing hosts with a default: deny one."""
    allowing = [p for p in policies if p.default == "allow"]
    denying = [p for p in policies if p.default == "deny"]
    for allow in allowing:
        for deny in denying:
            shared, common = _shared(allow, deny, selected)
            if shared:
                problems.warn(allow.mark("default"), f"policy {allow.name!r} says default: "
                              f"allow, but {deny.name!r} says default: deny for the same "
                              f"{_hosts_phrase(common)}; deny wins there, so listeners no rule "
                              "allows are stray")


def _overlaps(policies: list[Policy], selected: dict[str, frozenset[str]] | None,
              problems: Problems) -> None:
    """Warn about each allow or require rule a forbid rule (of a policy sharing hosts, the
    same one included) overlaps on ports. Only forbids sharing a port are tried (PortIndex):
    trying every pair was quadratic in rules."""
    forbids = [(i, f) for i, p in enumerate(policies) for f in p.rules_for(Action.FORBID)]
    index = PortIndex([port_pieces(f.match) for _, f in forbids])
    sharing: dict[tuple[int, int], bool] = {}
    for i, p in enumerate(policies):
        for a in p.rules if forbids else ():
            pieces = None if a.action is Action.FORBID else port_pieces(a.match)
            for at in sorted(index.sharing(pieces)) if pieces is not None else ():
                j, f = forbids[at]
                if (i, j) not in sharing:
                    sharing[i, j] = _shared(p, policies[j], selected)[0]
                sentence = overlap(a, f) if sharing[i, j] else None
                if sentence is not None:
                    problems.warn(a.where or p.mark("allow"), sentence)


def _unallowed_requirements(policies: list[Policy], selected: dict[str, frozenset[str]] | None,
                            problems: Problems) -> None:
    """Warn about require rules no allow rule (of a policy sharing hosts) could allow."""
    allows = [(i, a) for i, p in enumerate(policies) for a in p.rules_for(Action.ALLOW)]
    pieces = [port_pieces(a.match) for _, a in allows]
    index = PortIndex(pieces)
    portless = {at for at, piece in enumerate(pieces) if piece is None}
    of_host: dict[str, set[int]] = {}
    for i, p in enumerate(policies):
        for host in selected[p.name] if selected is not None else ():
            of_host.setdefault(host, set()).add(i)
    for p in policies:
        reqs = p.rules_for(Action.REQUIRE)
        if not reqs or (selected is not None and not selected[p.name]):
            continue  # nothing to check, or it applies nowhere (reported as selecting no host)
        peers = set(range(len(policies))) if selected is None \
            else set().union(*(of_host[h] for h in selected[p.name]))
        if resolve_default([policies[i] for i in sorted(peers)])[0] == "allow":
            continue
        for req in reqs:
            wanted = port_pieces(req.match)
            # could_allow is False for an allow whose ports miss the requirement's
            tried = range(len(allows)) if wanted is None else index.sharing(wanted) | portless
            if not any(allows[at][0] in peers and could_allow(allows[at][1], req)
                       for at in tried):
                problems.warn(req.where or p.mark("require"), f"require rule {req.id!r} asks "
                              "for a listener that no allow rule allows: a requirement never "
                              "allows by itself, so under default deny the listener it "
                              "requires is stray; add an allow rule for it")


# A creation date one day ahead can be right where the author's day has begun already.
CREATED_SLACK = LOCAL_AHEAD


def _lint_waivers(waivers: list[Waiver], policies: list[Policy], inventory: Inventory | None,
                  problems: Problems, today: dt.date, warn_days: int) -> None:
    refs = [r.ref for p in policies for r in p.rules]
    for w in waivers:
        for spec in w.rules or ():
            if not any(c in spec.text for c in "*?[~"):
                if spec.text not in refs:
                    problems.error(w.mark("rule"), f"waiver {w.id!r} names rule "
                                   f"{spec.text!r}, which no loaded policy has"
                                   f"{did_you_mean(spec.text, refs)}")
            elif not any(spec.matches(ref) for ref in refs):
                # a pattern is as much a typo as a name when it finds nothing to waive
                problems.error(w.mark("rule"), f"waiver {w.id!r} names rules {spec.text!r}, "
                               "which match no rule of the loaded policies")
        if w.expired(today):
            days = (today - w.expires).days
            problems.warn(w.mark("expires"), f"waiver {w.id!r} expired on "
                          f"{w.expires.isoformat()} ({plural(days, 'day')} ago): it "
                          "waives nothing any more; renew it or remove it")
        elif (w.expires - today).days < warn_days:
            days = (w.expires - today).days
            problems.warn(w.mark("expires"), f"waiver {w.id!r} expires on "
                          f"{w.expires.isoformat()}, in {plural(days, 'day')}")
        if w.created - today > CREATED_SLACK:  # no date past 9999-12-31 to add a day to
            problems.error(w.mark("created"), f"waiver {w.id!r} is created "
                           f"{w.created.isoformat()}, in the future (today is "
                           f"{today.isoformat()}): a waiver cannot be approved before it is "
                           "written; fix the date")
        if w.owner == w.approved_by:
            problems.warn(w.mark("approved_by"), f"waiver {w.id!r} is approved by its own "
                          f"owner ({w.owner})")
        if inventory is not None and w.hosts is not None and not w.host_names:
            problems.warn(w.mark("hosts"), f"waiver {w.id!r} selects no host: {w.hosts!r} "
                          "matches nothing in the inventory")
