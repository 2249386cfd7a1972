"""Parsers: pure functions from one tool's output text to listeners, one module per dialect."""

from __future__ import annotations

from collections.abc import Callable

from fleetcheck.model import Listener
from fleetcheck.parsers import (
    bsd_netstat,
    lsof,
    lsof_fields,
    nettools,
    powershell,
    procnet,
    sockstat,
    solaris_netstat,
    ss,
    windows_netstat,
)
from fleetcheck.parsers.common import ParseError
from fleetcheck.parsers.guess import Guess, guess

Parser = Callable[[str], list[Listener]]

# Tool names as `fleetcheck parse --tool` and the collectors know them.
PARSERS: dict[str, Parser] = {
    # Linux
    "ss": ss.parse,
    "netstat": nettools.parse,
    "busybox-netstat": nettools.parse_busybox,
    "lsof": lsof.parse,
    "proc-net": procnet.parse,
    # Other operating systems (and lsof -F on any of them).
    "bsd-netstat": bsd_netstat.parse,  # macOS, FreeBSD, OpenBSD, NetBSD, AIX, HP-UX netstat -an
    "sockstat": sockstat.parse,  # FreeBSD, NetBSD, DragonFly; Linux sockstat
    "lsof-fields": lsof_fields.parse,  # lsof -F (field output)
    "solaris-netstat": solaris_netstat.parse,  # Solaris / illumos netstat -an -f inet -f inet6
    "windows-netstat": windows_netstat.parse,  # netstat -an / -ano / -anob
    "powershell": powershell.parse,  # Get-NetTCPConnection / Get-NetUDPEndpoint | ConvertTo-Json
}


# What a capture cannot show, though it parses: sentences `parse` says beside the listeners.
# The Linux and Windows netstats without -a or -l are refused instead (their tables then
# hold connections only); BSD-style tables without -a still list the UDP sockets.
CAVEATS: dict[str, Callable[[str], list[str]]] = {"bsd-netstat": bsd_netstat.caveats}


def caveats(tool: str, text: str) -> list[str]:
    """What `tool`'s capture `text` leaves out (usually nothing)."""
    found = CAVEATS.get(tool)
    return found(text) if found is not None else []


def parse(tool: str, text: str) -> list[Listener]:
    """Listeners in `text` as printed by `tool`; ParseError if the text is not that tool's."""
    try:
        parser = PARSERS[tool]
    except KeyError:
        raise ParseError(f"unknown tool {tool!r} (known: {', '.join(sorted(PARSERS))})") from None
    return parser(text)


__all__ = ["CAVEATS", "PARSERS", "Guess", "ParseError", "Parser", "caveats", "guess", "parse"]
