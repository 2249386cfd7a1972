"""Building policies, waivers and listeners for policy tests (reusable by lab tests)."""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

from fleetcheck.model import Finding, Listener
from fleetcheck.policy import Policy, Rule
from fleetcheck.policy.load import policy_from_text


def policy(text: str, path: str = "test.yml") -> Policy:
    """A policy from (dedented) YAML text."""
    return policy_from_text(textwrap.dedent(text), path)


def rule(conditions: str, action: str = "allow", rule_id: str = "r") -> Rule:
    """One rule with `conditions` (YAML lines), in a policy of its own."""
    body = textwrap.indent(f"id: {rule_id}\n{conditions}", "    ")
    body = "  - " + body.lstrip()
    return policy(f"name: p\n{action}:\n{body}\n").rules[0]


def listener(spec: str, **kw: Any) -> Listener:
    """'tcp 0.0.0.0:80 nginx' -> a Listener ('[::]:80' for IPv6; '-' for no process)."""
    words = spec.split()
    proto, endpoint = words[0], words[1]
    address, _, port = endpoint.rpartition(":")
    address = address.strip("[]")
    process = words[2] if len(words) > 2 and words[2] != "-" else None
    return Listener(proto=proto, family=6 if ":" in address else 4, address=address,
                    port=int(port), process=process, **kw)


def kinds(findings: Iterable[Finding]) -> set[tuple[Any, ...]]:
    """Findings as (kind, severity, proto, port, rule) tuples, for exact comparisons."""
    return {(f.kind.value, f.severity.label, f.proto, f.port, f.rule) for f in findings}


def listeners(specs: Sequence[str]) -> list[Listener]:
    """Several listeners from `listener` specs."""
    return [listener(s) for s in specs]
