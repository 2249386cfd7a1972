"""The words of the judge's findings: what a rule wants, what could not be seen."""

from __future__ import annotations

from fleetcheck.model import Listener
from fleetcheck.policy import Rule

PLACE = ("container", "image", "pod", "k8s_namespace")
# Why a socket is on no device an `interface` rule names, when its tool does not show it.
UNSHOWN_DEVICE = ("the tool that listed it does not show which device a socket is bound to "
                  "(ss does), so no rule naming an interface matches it")
# Why a rule on an [::] could not be settled by a tool that does not show IPV6_V6ONLY.
UNSURE_DUAL = ("on whether it also accepts IPv4 (dual-stack), which the tool that listed it "
               "does not show (ss does)")


def unseen(rule: Rule, condition: str | None) -> str:
    """What could not be seen: 'process', 'user', or "container's image"."""
    if condition in PLACE:
        return f"container's {'name' if condition == 'container' else condition}"
    return "process" if rule.match.processes is not None else "user"


def bind_specs(rule: Rule, condition: str | None) -> str:
    """What the rule wants of the bind condition the listener missed, in its words."""
    m = rule.match
    if condition == "family":
        return "family " + " or ".join(str(f) for f in sorted(m.families or ()))
    if condition == "dual_stack":
        return f"dual_stack {str(m.dual_stack).lower()}"
    if condition == "interface":
        return "interface " + " or ".join(i.text for i in m.interfaces or ())
    return f"address {specs(rule, 'address')}"


def owner_of(listener: Listener, rule: Rule | None = None) -> str:
    """'nginx (user www-data)': the listener's process and user, as far as they were seen,
    and the other processes holding the socket ("... and by php-fpm/12, nginx/13"), those
    `rule`'s process conditions refuse first."""
    user = listener.user or (f"uid {listener.uid}" if listener.uid is not None else None)
    others = list(listener.other_processes)
    wanted = rule.match.processes if rule is not None else None
    if wanted is not None:  # the holder a rule refused may be any of them: those first
        others.sort(key=lambda o: any(p.matches(o.rsplit("/", 1)[0]) for p in wanted))
    # A pre-fork server's workers are many: five are named, the rest counted.
    held, more = others[:5], len(others) - 5
    tail = (f" and by {', '.join(held)}" + (f" and {more} more" if more > 0 else "")
            if held else "")
    return f"{listener.process or 'an unknown process'}" + (f" (user {user})" if user else "") \
        + tail


def specs(rule: Rule, what: str) -> str:
    """What the rule wants of 'address', a place condition, or (else) the owner, in words."""
    m = rule.match
    if what == "address":
        return " or ".join(a.text for a in m.addresses or ())
    if what in PLACE:
        given = {"container": m.containers, "image": m.images, "pod": m.pods,
                 "k8s_namespace": m.k8s_namespaces}[what]
        return " or ".join(s.text for s in given or ())
    parts = []
    if m.processes is not None:
        parts.append("process " + " or ".join(s.text for s in m.processes))
    if m.users is not None:
        parts.append("user " + " or ".join(s.text for s in m.users))
    return " and ".join(parts)
