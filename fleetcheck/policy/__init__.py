"""Port policies: what may, must and must not listen. Loaded from YAML, judged by `evaluate`."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from fleetcheck.model import Severity
from fleetcheck.policy.match import Match


class Action(enum.StrEnum):
    """What a rule does with the listeners it matches."""

    ALLOW = "allow"
    FORBID = "forbid"
    REQUIRE = "require"


@dataclass(frozen=True, slots=True)
class Rule:
    """One allow, forbid or require rule of a policy."""

    policy: str
    id: str
    action: Action
    match: Match
    severity: Severity
    reason: str | None = None
    line: int | None = field(default=None, compare=False)  # where it was written

    @property
    def ref(self) -> str:
        """The name reports use for this rule: `policy/id`."""
        return f"{self.policy}/{self.id}"


@dataclass(frozen=True, slots=True)
class Policy:
    """A named set of rules applying to the hosts its `hosts` pattern selects."""

    name: str
    path: str
    rules: tuple[Rule, ...]
    default: str = "deny"  # "deny": unmatched listeners are stray; "allow": they pass
    hosts: str | None = None  # Ansible pattern or group; None: every host
    stray_severity: Severity = Severity.MEDIUM
    undetermined_severity: Severity = Severity.LOW
    description: str | None = None

    def rules_for(self, action: Action) -> tuple[Rule, ...]:
        """This policy's rules of one action, in file order."""
        return tuple(r for r in self.rules if r.action is action)
