"""How a listener stands once waivers and --fail-on are applied to its findings.

A listener's findings carry its proto, port and bind address. When every finding about a
listener is waived, the listener is shown waived (with the waivers' ids); when none of
its open findings reaches the run's --fail-on, it is shown "below fail-on". Either way it
is never painted as an open violation, so a compliant host never shows a red stray.
"""

from __future__ import annotations

import datetime as dt

from fleetcheck.engine.summary import is_violation
from fleetcheck.frozen import frozen
from fleetcheck.model import (
    HostResult,
    Listener,
    RunResult,
    Severity,
    WaiverRecord,
    container_identity,
)

# Waivers expiring within this many days of the date they were judged on are warned about
# (scan --waiver-warning-days changes it; the run records the value used). The same window
# as validate's (policy.lint.WARN_EXPIRING_DAYS, a test keeps them equal), not imported:
# rendering a saved run needs no inventory or policy code.
WARN_DAYS = 14

# (proto, port, bind address, device or '', container identity or ''), as findings name them
ListenerKey = tuple[str, int, str, str, str]


def key(listener: Listener) -> ListenerKey:
    """How the findings about `listener` name it (a container's, by its container too)."""
    return (listener.proto, listener.port, listener.address, listener.iface or "",
            container_identity(listener) or "")


@frozen
class Standing:
    """Why a listener with findings is not an open violation: waived by whom, or below."""

    waiver: str | None  # 'W-1, W-2' when every finding is waived
    below: bool  # some finding is open, but none reaches --fail-on


def listener_standing(host: HostResult, fail_on: Severity) -> dict[ListenerKey, Standing]:
    """The listeners of `host` with findings, none of them a violation -> how they stand."""
    findings: dict[ListenerKey, list[tuple[bool, bool, str]]] = {}
    for f in host.findings:
        if f.port is not None and f.address is not None:
            findings.setdefault((f.proto, f.port, f.address, f.iface or "",
                                 container_identity(f) or ""), []).append(
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


def warning_window(run: RunResult) -> int:
    """The days before expiry the run warned about waivers (--waiver-warning-days)."""
    days = run.meta.get("waiver_warning_days", WARN_DAYS)
    return days if isinstance(days, int) else WARN_DAYS


def expiring_waivers(run: RunResult) -> list[tuple[WaiverRecord, int]]:
    """Active (or unused) waivers expiring within the run's warning window, with the days
    left, soonest first. Judged on the date the run judged waivers on, so a saved run
    re-rendered later says what it said then."""
    judged = run.meta.get("waiver_date")
    try:
        today = dt.date.fromisoformat(str(judged))
    except ValueError:
        return []
    window = warning_window(run)
    out = []
    for w in run.waivers:
        if w.status == "expired" or not w.expires:
            continue
        try:
            left = (dt.date.fromisoformat(w.expires) - today).days
        except ValueError:
            continue
        if 0 <= left < window:
            out.append((w, left))
    return sorted(out, key=lambda x: (x[1], x[0].id))


def expiry_sentence(w: WaiverRecord, days: int) -> str:
    """'waiver W-1 (alice@example.net) expires on 2026-12-10, in 6 days: renew it or fix ...'."""
    when = "today" if days == 0 else f"in {days} day{'s' if days != 1 else ''}"
    return (f"waiver {w.id} ({w.owner}) expires on {w.expires}, {when}: renew it or fix what "
            "it covers before then")
