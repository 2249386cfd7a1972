"""Windows `netstat -an`, `-ano`, `-anob`, `-anot` (also via Select-String) and `tasklist /fo csv`.

Headers and state words are localised ('LISTENING', 'ABHÖREN', 'IN ASCOLTO'), so rows
are recognised by their 'TCP'/'UDP' first word and a TCP socket is taken as listening
by its foreign address (port 0). Only `-q` puts a second word on such sockets: BOUND
(bound, never listening), itself localised ('GEBUNDEN'). So an output whose unconnected
TCP sockets carry one state word is read as listening whatever the word; with several,
the word for listening must be one this module knows, else the output is refused.
`-b` adds owner lines under each row: an optional service name, then '[image.exe]', or
a (localised) sentence saying the owner is not known.
"""

from __future__ import annotations

import csv
import re

from fleetcheck.frozen import replace
from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import ParseError, UnknownServiceName, lines, unshown_dual
from fleetcheck.parsers.inet import split_colon

_ROW = re.compile(r"^\s*(?:>\s+)?(TCP|UDP|TCPv6|UDPv6)\s+(\S+)\s+(\S+)(.*)$")
# States of TCP sockets that are not listening although their peer is 0: BOUND
# appears with `netstat -q` (German Windows prints it GEBUNDEN).
_NOT_LISTENING = {"BOUND", "CLOSED", "SYN_SENT", "GEBUNDEN"}
# The listening state as Windows prints it in its languages (Japanese, Chinese,
# Russian, French and others keep the English word), read only to tell it from a
# -q BOUND whose translation this module does not know.
_LISTENING = {"LISTENING", "ABHÖREN", "IN ASCOLTO", "ESCUCHANDO", "OUVINDO", "NASŁUCHIWANIE"}
# -t adds an Offload State column after the state (and after -o's PID): the words of
# the TCP_CONNECTION_OFFLOAD_STATE enum, printed in English whatever the language.
_OFFLOAD = {"InHost", "Offloading", "Offloaded", "Uploading"}
_SERVICE = re.compile(r"[A-Za-z0-9_$][A-Za-z0-9_$.-]*")  # a Windows service's key name


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound UDP sockets, with pid, image and service where printed."""
    out: list[tuple[Listener, str]] = []  # each with its state word ('' for UDP)
    header = False
    current: tuple[Listener, str] | None = None
    owner_lines: list[str] = []
    first: tuple[int, str] | None = None  # the first socket row
    open_rows = False  # a UDP row or an unconnected TCP one: the output shows listeners

    def flush() -> None:
        if current is not None:
            out.append((_with_owner(current[0], owner_lines), current[1]))

    for no, raw in enumerate(lines(text.lstrip("\ufeff")), 1):
        line = raw.rstrip()
        if not line.strip():
            continue
        m = _ROW.match(line)
        if m:
            flush()
            owner_lines = []
            try:
                current = _row(m.group(1), m.group(2), m.group(3), m.group(4).split())
            except (ValueError, IndexError) as exc:
                raise ParseError(f"not a Windows netstat line ({exc})", no, line) from None
            header = True
            first = first or (no, line)
            open_rows = open_rows or m.group(1).startswith("UDP") or _unconnected(m.group(3))
        elif line.split()[0] == "Proto" and not header:
            header = True
        elif not header:
            continue  # the localised 'Active Connections' title and blank lines
        elif line[0].isspace():
            owner_lines.append(line.strip())  # -b owner lines belong to the row above
        else:
            raise ParseError("not a Windows netstat line", no, line)
    flush()
    if not header:
        raise ParseError("no 'Proto' header and no TCP/UDP socket lines")
    if first is not None and not open_rows:
        # Without -a netstat lists connections only: no listening socket and no UDP one,
        # which must not read as 'nothing listens'.
        raise ParseError("lists only connections, no listening or UDP socket: netstat was "
                         "run without -a (or its rows filtered); capture with netstat -ano",
                         *first)
    listening = _listening_word({state for li, state in out if li.proto == "tcp"})
    return [li for li, state in out if li.proto == "udp" or state == listening]


def _unconnected(foreign: str) -> bool:
    """Whether a foreign address is no peer: port 0 ('0.0.0.0:0', '[::]:0', 'HOST:0')."""
    return foreign == "*:*" or foreign.endswith(":0")


def _listening_word(states: set[str]) -> str | None:
    """Which state word of the unconnected TCP sockets means listening (None: no TCP).

    Without -q they all carry one word, listening in the capture's language. With -q
    BOUND is a second one: the listening word is then the one known as such, and an
    output with two words neither of them known is refused rather than guessed at.
    """
    if len(states) <= 1:
        return next(iter(states), None)
    known = states & _LISTENING
    if len(known) == 1:
        return known.pop()
    shown = ", ".join(sorted(states))
    raise ParseError(f"unconnected TCP sockets carry several state words ({shown}) and "
                     "none is known to mean listening (as with -q, which adds BOUND); "
                     "capture with netstat -ano, without -q")


def _row(kind: str, local: str, foreign: str,
         rest: list[str]) -> tuple[Listener, str] | None:
    proto = kind[:3].lower()
    if rest and rest[-1] in _OFFLOAD:
        rest.pop()
    pid = int(rest.pop()) if rest and is_number(rest[-1]) else None
    state = " ".join(rest)
    try:
        ep = split_colon(local, proto)
        peer = split_colon(foreign, proto) if foreign != "*:*" else None
    except UnknownServiceName:
        # netstat -a without -n names ports: a row the rule below passes over whatever its
        # ports are is no listener, whatever port its name stands for
        if _no_listener(proto, foreign, state):
            return None
        raise
    if ep.port is None:
        raise ValueError(f"local address {local!r} has no port")
    if proto == "tcp" and (peer is None or peer.port not in (0, None) or state in _NOT_LISTENING):
        return None
    if proto == "udp" and peer is not None:
        return None  # connected UDP
    family = 6 if ":" in ep.address else 4
    # A dual-mode socket (IPV6_V6ONLY off) is listed as [::] alone, like an IPv6-only one.
    return Listener(proto=proto, family=family, address=ep.address, port=ep.port, pid=pid,
                    iface=ep.iface, dual_stack=unshown_dual(family, ep.address),
                    port_name=ep.port_name), state


def _no_listener(proto: str, foreign: str, state: str) -> bool:
    """`_row`'s rule read from the row's text, for a row whose ports are named: a TCP
    socket listens only with a peer port of 0 or '*' and a listening state, a UDP one
    only without a peer."""
    if proto == "udp":
        return foreign != "*:*"
    return (foreign == "*:*" or state in _NOT_LISTENING
            or foreign.rpartition(":")[2] not in ("0", "*"))


def _with_owner(listener: Listener, lines: list[str]) -> Listener:
    """The row's listener with the image ('[x.exe]') and service from its -b lines.

    A service is a bare ASCII name ('RpcSs', 'TermService'), printed above the image or,
    piped through Select-String, alone. No other line is one: a localised 'no owner'
    sentence (Chinese and Japanese write it without spaces), -v's module paths
    ('c:\\windows\\system32\\ws2_32.dll') and '-- unknown component(s) --'.
    """
    process = service = None
    for text in lines:
        if text.startswith("[") and text.endswith("]"):
            process = text[1:-1]
        elif _SERVICE.fullmatch(text):
            service = text
    return replace(listener, process=process, service=service)


def parse_tasklist(text: str) -> dict[int, str]:
    """pid -> image name from `tasklist /fo csv` (with or without its localised header)."""
    names: dict[int, str] = {}
    try:
        rows = [r for r in csv.reader(lines(text.lstrip("\ufeff"))) if r]
    except csv.Error as exc:  # e.g. a field over the csv module's size limit
        raise ParseError(f"not tasklist /fo csv output ({exc})") from None
    for no, row in enumerate(rows, 1):
        if len(row) < 2 or not is_number(row[1].strip()):
            if no == 1 and len(row) >= 2:
                continue  # the header row
            raise ParseError("not a tasklist /fo csv row", no, ",".join(row))
        names[int(row[1].strip())] = row[0]
    if not names:
        raise ParseError("no tasklist rows")
    return names
