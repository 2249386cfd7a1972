"""How a listener stands once waivers and --fail-on are applied to its findings.

A listener's findings carry its proto, port and bind address. When every finding about a
listener is waived, the listener is shown waived (with the waivers' ids); when none of
its open findings reaches the run's --fail-on, it is shown "below fail-on". Either way it
is never painted as an open violation, so a compliant host never shows a red stray.
"""

from __future__ import annotations

from dataclasses import dataclass

from fleetcheck.engine.summary import is_violation
from fleetcheck.model import HostResult, Listener, Severity, container_identity

# (proto, port, bind address, container identity or ''), as findings name them
ListenerKey = tuple[str, int, str, str]


def key(listener: Listener) -> ListenerKey:
    """How the findings about `listener` name it (a container's, by its container too)."""
    return listener.proto, listener.port, listener.address, container_identity(listener) or ""


@dataclass(frozen=True, slots=True)
class Standing:
    """Why a listener with findings is not an open violation: waived by whom, or below."""

    waiver: str | None  # 'W-1, W-2' when every finding is waived
    below: bool  # some finding is open, but none reaches --fail-on


def listener_standing(host: HostResult, fail_on: Severity) -> dict[ListenerKey, Standing]:
    """The listeners of `host` with findings, none of them a violation -> how they stand."""
    findings: dict[ListenerKey, list[tuple[bool, bool, str]]] = {}
    for f in host.findings:
        if f.port is not None and f.address is not None:
            findings.setdefault((f.proto, f.port, f.address, container_identity(f) or ""),
                                []).append(
                (f.waived, is_violation(f, fail_on), f.waiver or "?"))
    out: dict[ListenerKey, Standing] = {}
    for k, fs in findings.items():
        if any(violation for _, violation, _ in fs):
            continue
        if all(waived for waived, _, _ in fs):
            out[k] = Standing(", ".join(sorted({w for _, _, w in fs})), below=False)
        else:
            out[k] = Standing(None, below=True)
    return out


def listener_waivers(host: HostResult) -> dict[ListenerKey, str]:
    """The listeners of `host` whose every finding is waived -> the waivers' ids ('W-1, W-2')."""
    return {k: s.waiver for k, s in listener_standing(host, Severity.INFO).items()
            if s.waiver is not None}
