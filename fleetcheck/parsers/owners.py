"""Owner tables that name the processes behind another tool's listeners.

They list no listeners themselves: OpenBSD `fstat` (which process holds which
socket), AIX `rmsock` (which process holds a socket found by `netstat -Aan`);
Windows `tasklist` lives with the Windows netstat parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fleetcheck.parsers.common import ParseError
from fleetcheck.parsers.inet import resolve_host, split_colon


@dataclass(frozen=True, slots=True)
class Owner:
    """A process holding a socket."""

    pid: int
    process: str | None
    user: str | None = None


# OpenBSD: USER(8) CMD(10, may overflow) PID FD[*] internet[6] TYPE PROTO [pcb] ADDR[ arrow PEER]
_FSTAT = re.compile(
    r"^(?P<user>\S+)\s+(?P<cmd>.+?)\s+(?P<pid>\d+)\s+(?P<fd>\d+|text|wd|root|tr)\*?\s+"
    r"internet(?P<six>6?)\s+\S+\s+(?P<proto>\w+)(?P<rest>.*)$")
_FSTAT_OTHER = re.compile(r"^\S+\s+.+?\s+\d+\s+(\d+|text|wd|root|tr|jail|mmap)")
_RMSOCK = re.compile(r"^(?P<addr>\S+)\s+.*held by proc+ess\s+(?P<pid>\d+)\s+\((?P<name>[^)]*)\)")

SocketKey = tuple[str, int, str, int]  # proto, family, address, port


def parse_fstat(text: str) -> dict[SocketKey, list[Owner]]:
    """(proto, family, address, port) -> holders, for unconnected tcp/udp sockets in fstat."""
    owners: dict[SocketKey, list[Owner]] = {}
    header = False
    for no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.split()[:3] == ["USER", "CMD", "PID"]:
            header = True
            continue
        m = _FSTAT.match(line)
        if not m:
            if _FSTAT_OTHER.match(line):
                continue  # files, pipes, UNIX sockets...
            raise ParseError("not an fstat line", no, line)
        proto = m.group("proto")
        words = m.group("rest").split()
        if proto not in ("tcp", "udp"):
            continue
        if words and words[0].startswith("0x"):
            words = words[1:]  # the TCP control block address
        if not words or any(w in ("-->", "<--", "<->") for w in words[1:2]):
            continue  # connected: not a listener
        try:
            ep = split_colon(words[0], proto)
        except ValueError as exc:
            raise ParseError(f"not an fstat socket address ({exc})", no, line) from None
        if ep.port is None:
            continue
        address, family, _ = resolve_host(ep.address, 6 if m.group("six") else 4, False)
        owners.setdefault((proto, family, address, ep.port), []).append(
            Owner(int(m.group("pid")), m.group("cmd").strip(), m.group("user")))
    if not header and not owners:
        raise ParseError("no fstat header and no socket lines")
    return owners


def parse_rmsock(text: str) -> dict[str, Owner]:
    """netstat -A kernel address -> holder, from the probe's 'ADDR <rmsock message>' lines."""
    owners: dict[str, Owner] = {}
    for line in text.splitlines():
        m = _RMSOCK.match(line.strip())
        if m:  # sockets nobody holds, or rmsock errors, name nobody
            owners[m.group("addr")] = Owner(int(m.group("pid")), m.group("name") or None)
    return owners


def parse_passwd(text: str) -> dict[int, str]:
    """uid -> user name from passwd(5) lines (`getent passwd` or /etc/passwd); the first wins.

    Lines that are not passwd entries (NIS '+' escapes, comments, blanks) are skipped:
    names only enrich listeners, so an odd line costs a name, never the host.
    """
    names: dict[int, str] = {}
    for line in text.splitlines():
        fields = line.split(":")
        if len(fields) >= 7 and fields[0] and fields[2].isdigit() \
                and not fields[0].startswith(("+", "-", "#")):
            names.setdefault(int(fields[2]), fields[0])
    return names
