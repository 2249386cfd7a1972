"""Port policies: what may, must and must not listen. Loaded from YAML, judged by `evaluate`."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import TYPE_CHECKING

from fleetcheck.frozen import frozen
from fleetcheck.model import Severity
from fleetcheck.policy.match import Match
from fleetcheck.yamlsrc import Mark

if TYPE_CHECKING:
    from fleetcheck.policy.review import Period


class Action(enum.StrEnum):
    """What a rule does with the listeners it matches."""

    ALLOW = "allow"
    FORBID = "forbid"
    REQUIRE = "require"


@frozen
class Rule:
    """One allow, forbid or require rule of a policy."""

    policy: str
    id: str
    action: Action
    match: Match
    severity: Severity
    reason: str | None = None
    where: Mark | None = field(default=None, compare=False)  # where it was written
    # The approval trail the ports register shows (PCI DSS 1.2.5): why, who, when.
    justification: str | None = None
    approved_by: str | None = None
    approved_on: dt.date | None = None
    reviewed_on: dt.date | None = None

    @property
    def ref(self) -> str:
        """The name reports use for this rule: `policy/id`."""
        return f"{self.policy}/{self.id}"

    @property
    def line(self) -> int | None:
        """The line the rule starts on, if known."""
        return self.where.line if self.where else None


@frozen
class Policy:
    """A named set of rules applying to the hosts its `hosts` pattern selects."""

    name: str
    path: str
    rules: tuple[Rule, ...]
    default: str | None = None  # "deny" | "allow" | None: this policy does not say
    hosts: str | None = None  # Ansible pattern or group; None: every host
    stray_severity: Severity = Severity.MEDIUM
    undetermined_severity: Severity = Severity.LOW
    description: str | None = None
    where: Mark | None = field(default=None, compare=False)  # the file's top mapping
    # Where each top-level value was written (`hosts`, `default`...), for lint messages.
    value_marks: Mapping[str, Mark] = field(default_factory=dict, compare=False)
    review_every: Period | None = None  # allowances must be reviewed this often
    review_severity: Severity = Severity.MEDIUM  # of overdue_review findings
    review_date: dt.date | None = None  # the day reviews are judged on (review.judge sets it)
    # Container-only listeners no rule decides: "judge" (stray under deny), "list" (listed,
    # never stray), None (this policy does not say).
    containers: str | None = None

    def mark(self, key: str) -> Mark:
        """Where `key`'s value was written, else the top of the file."""
        return self.value_marks.get(key) or self.where or Mark(self.path, 1, 1)

    def rules_for(self, action: Action) -> tuple[Rule, ...]:
        """This policy's rules of one action, in file order."""
        return tuple(r for r in self.rules if r.action is action)


def resolve_default(policies: tuple[Policy, ...] | list[Policy]) -> tuple[str, str]:
    """The default for a host the policies share, and why: a deny anywhere wins.

    Policies that state no default do not vote; when none states one the default
    is deny, so a host no policy speaks for never passes silently.
    """
    deny = [p.name for p in policies if p.default == "deny"]
    allow = [p.name for p in policies if p.default == "allow"]
    if deny:
        why = f"default: deny in {', '.join(deny)}"
        if allow:
            why += f", which wins over default: allow in {', '.join(allow)}"
        return "deny", why
    if allow:
        return "allow", f"default: allow in {', '.join(allow)}"
    if policies:
        return "deny", "no applicable policy states a default, so deny"
    return "deny", "no policy applies to this host, so every listener is stray"


def resolve_containers(policies: Sequence[Policy]) -> tuple[str, str]:
    """How container-only listeners no rule decides are treated on a host, and why.

    `judge` if any applicable policy says `containers: judge` (judging wins, as deny
    does); otherwise `list`: they are listed, never stray. Forbid and allow rules judge
    every listener either way.
    """
    judge = [p.name for p in policies if p.containers == "judge"]
    if judge:
        return "judge", f"containers: judge in {', '.join(judge)}"
    said = [p.name for p in policies if p.containers == "list"]
    if said:
        return "list", f"containers: list in {', '.join(said)}"
    return "list", "no applicable policy says containers: judge"
