"""Which tool printed this text? A pure guess from the text's shape, for `parse --tool auto`."""

from __future__ import annotations

import re

from fleetcheck.frozen import frozen
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import ParseError
from fleetcheck.parsers.common import lines as split_lines
from fleetcheck.parsers.lsof import messages
from fleetcheck.parsers.lsof_fields import field_lines
from fleetcheck.parsers.powershell_text import looks_like_text
from fleetcheck.parsers.ss import is_message as ss_message


@frozen
class Guess:
    """The dialect a text looks like and the evidence, to tell the user."""

    tool: str
    reason: str


# Matched line by line (never over the whole text with re.M: a \s* there spans lines, and
# each line start would rescan all that follow).
_SOLARIS_TITLE = re.compile(r"(TCP|UDP|SCTP): IPv[46]\s*")
_WINDOWS_ROW = re.compile(r"[ \t]*(?:>[ \t]+)?(TCP|UDP)[ \t]+(\[[^\]]*\]|[\d.]+):\d+\s")
_LSOF_FIELD = re.compile(r"^[a-zA-Z]")
_SS_STATES = {"LISTEN", "UNCONN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2",
              "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK", "CLOSING", "CLOSED", "UNKNOWN"}
_PROTO = re.compile(r"^(tcp|udp)(4|6|46)?$")
_DOTTED = re.compile(r"\.(\d+|\*|[A-Za-z][\w-]*)$")  # BSD '*.22', 'localhost.smtp'
_COLON = re.compile(r":(\d+|\*|[A-Za-z][\w-]*)$")  # Linux '0.0.0.0:22', ':::22'


def guess(text: str) -> Guess:
    """The most likely tool for `text`; ParseError when it looks like none of them."""
    body = text.lstrip("\ufeff")
    # lsof -F0 ends fields with NULs: read as one field a line (no other tool prints NULs).
    every = field_lines(body) if re.match(r"p\d+\0", body) else split_lines(body)
    skip = messages(every)  # lsof's warnings (2>&1) come before its header or fields
    lines = [line for i, line in enumerate(every)
             if line.strip() and i not in skip and not ss_message(line)]
    if not lines:
        raise ParseError("the text is empty: nothing to guess the tool from")
    first = lines[0].split()
    for check in (_structured, _headed, _netstat_family):
        found = check(body, lines, first)
        if found is not None:
            return found
    raise ParseError("cannot tell which tool printed this text; name it with --tool",
                     1, lines[0])


def _structured(body: str, lines: list[str], first: list[str]) -> Guess | None:
    """Formats with an unmistakable shape: JSON, lsof fields, Solaris titles, Windows rows."""
    if body.lstrip()[:1] in ("[", "{") and "LocalPort" in body:
        return Guess("powershell", "JSON objects with LocalAddress/LocalPort")
    if looks_like_text(body):
        return Guess("powershell", "a PowerShell table or list with LocalAddress and LocalPort")
    if re.fullmatch(r"p\d+", lines[0].strip()) and all(_LSOF_FIELD.match(x) for x in lines):
        return Guess("lsof-fields", "one-letter field lines starting with a 'p<pid>' line")
    if any(_SOLARIS_TITLE.fullmatch(line) for line in lines):
        return Guess("solaris-netstat", "'TCP: IPv4' style section titles")
    if any(_WINDOWS_ROW.match(line + "\n") for line in lines):
        return Guess("windows-netstat", "upper-case 'TCP'/'UDP' rows with 'address:port'")
    return None


def _headed(body: str, lines: list[str], first: list[str]) -> Guess | None:
    """Tools recognised by their header line."""
    if first[:5] == ["USER", "COMMAND", "PID", "FD", "PROTO"]:
        return Guess("sockstat", "a 'USER COMMAND PID FD PROTO' header")
    if first[:4] == ["USER", "PROCESS", "PID", "PROTO"]:
        return Guess("sockstat", "a Linux sockstat 'USER PROCESS PID PROTO' header")
    if first[:2] == ["sl", "local_address"]:
        return Guess("proc-net", "a /proc/net 'sl local_address' header")
    if first[:2] == ["COMMAND", "PID"] and "NAME" in first:
        return Guess("lsof", "an lsof 'COMMAND PID ... NAME' header")
    if first[:1] in (["Netid"], ["State"]) and "Recv-Q" in first:
        return Guess("ss", "an ss 'Netid/State Recv-Q' header")
    if first[:2] == ["Recv-Q", "Send-Q"] and "Address:Port" in lines[0]:
        return Guess("ss", "an ss 'Recv-Q Send-Q' header (no Netid and no State column)")
    # Rows only (ss -H, or piped through grep); ss indents -e/-i/-m details with a tab.
    words = [line.split() for line in lines[:20] if not line.startswith("\t")]
    if words and all(len(w) > 3 and w[1] in _SS_STATES and is_number(w[2]) for w in words):
        return Guess("ss", "headerless rows of netid, state and queues")
    if words and all(len(w) > 7 and is_number(w[1]) and any(t in ("IPv4", "IPv6") for t in w[4:7])
                     and ("TCP" in w or "UDP" in w) for w in words):
        return Guess("lsof", "headerless lsof rows of IPv4/IPv6 TCP/UDP sockets")
    if words and all(len(w) > 4 and w[0] in _SS_STATES and is_number(w[1]) and is_number(w[2])
                     for w in words):
        return Guess("ss", "headerless rows of state and queues (one protocol, no Netid)")
    if words and all(_sockstat_row(w) for w in words):
        return Guess("sockstat", "headerless sockstat rows (tcp4/udp6... then host:port)")
    return None


def _sockstat_row(words: list[str]) -> bool:
    """Whether a line's words are a BSD sockstat row (`sockstat -q`, or grep): a protocol
    word naming its family after user, command, pid and fd, then a 'host:port' address
    (netstat prints queues there). Linux sockstat's rows (no FD column, a state last)
    look like BSD rows whose user ran into the command, so they are not guessed."""
    i = next((k for k in range(3, min(len(words), 8)) if _PROTO.match(words[k])), None)
    if i is None or i + 1 >= len(words) or not words[i].endswith(("4", "6")):
        return False
    if i == 3 and len(words) == 7 and words[6].isupper():
        return False  # Linux: user, process, pid, proto, local, foreign, state
    if words[i + 1] == "6" and words[i].endswith("4") and i + 2 < len(words):
        i += 1  # older sockstat printed tcp46 as 'tcp4 6'
    return ":" in words[i + 1] and not is_number(words[i + 1])


def _netstat_family(body: str, lines: list[str], first: list[str]) -> Guess | None:
    """netstat rows: BSD-style 'host.port' addresses versus Linux 'host:port'."""
    bsd = linux = 0
    for line in lines:
        words = line.split()
        i = next((k for k, w in enumerate(words[:4]) if _PROTO.match(w)), None)
        if i is not None and words[i].endswith(("4", "46")):
            bsd += 1  # tcp4, udp46...: only BSD-derived netstats name the family so
            continue
        if i is None or len(words) < i + 5:
            continue
        local = words[i + 3]
        if _COLON.search(local) and ":" in local:
            linux += 1
        elif _DOTTED.search(local):
            bsd += 1
    if bsd > linux:
        return Guess("bsd-netstat", "netstat rows with BSD-style 'host.port' addresses")
    if linux:
        return Guess("netstat", "netstat rows with Linux-style 'host:port' addresses")
    if any(line.startswith("Current listen queue sizes") for line in lines):
        return Guess("bsd-netstat", "a netstat -L 'Current listen queue sizes' title")
    if any(line.startswith("Active Internet connections") for line in lines):
        return Guess("bsd-netstat" if "(state)" in body else "netstat",
                     "a netstat title with no socket rows")
    return None
