"""Which listeners a waiver covers: reports show them as waived, never as open violations.

A listener's findings carry its proto, port and bind address; when every finding about a
listener is waived, the listener itself is shown waived (with the waivers' ids) in the host
tables and counted apart in the fleet view, so a compliant host never shows a red stray.
"""

from __future__ import annotations

from fleetcheck.model import HostResult, Listener

ListenerKey = tuple[str, int, str]  # (proto, port, bind address), as findings name them


def key(listener: Listener) -> ListenerKey:
    """How the findings about `listener` name it."""
    return listener.proto, listener.port, listener.address


def listener_waivers(host: HostResult) -> dict[ListenerKey, str]:
    """The listeners of `host` whose every finding is waived -> the waivers' ids ('W-1, W-2')."""
    findings: dict[ListenerKey, list[tuple[bool, str]]] = {}
    for f in host.findings:
        if f.port is not None and f.address is not None:
            findings.setdefault((f.proto, f.port, f.address), []).append(
                (f.waived, f.waiver or "?"))
    return {k: ", ".join(sorted({w for _, w in fs})) for k, fs in findings.items()
            if all(waived for waived, _ in fs)}

