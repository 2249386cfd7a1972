"""PowerShell `Get-NetTCPConnection` / `Get-NetUDPEndpoint` objects as `ConvertTo-Json` prints them.

ConvertTo-Json turns one object into a JSON object and several into an array.
`State` is the MSFT_NetTCPConnection enum: a number (2 = Listen) in Windows
PowerShell 5.1, a word where the script converted it. fleetcheck's own Windows probe
adds `Protocol`, `OwningProcess`, `ProcessName` and `Service`; other captures
(without them) are read as TCP when they carry a State or a RemoteAddress, as UDP when
they name the MSFT_NetUDPEndpoint class, and refused when they show neither.
"""

from __future__ import annotations

import json
from typing import Any

from fleetcheck.jsontext import loads_text
from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import ParseError, lines, split_scope, unshown_dual

_LISTEN = 2
_STATES = {"closed": 1, "listen": 2, "synsent": 3, "synreceived": 4, "established": 5,
           "finwait1": 6, "finwait2": 7, "closewait": 8, "closing": 9, "lastack": 10,
           "timewait": 11, "deletetcb": 12, "bound": 100}


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound UDP endpoints from the JSON of one or several objects."""
    body = text.lstrip("\ufeff")
    if not body.strip():
        raise ParseError("empty output, expected ConvertTo-Json output")
    try:
        data = loads_text(body)
    except json.JSONDecodeError as exc:
        rows = lines(body)
        line = rows[exc.lineno - 1] if exc.lineno <= len(rows) else ""
        raise ParseError(f"not JSON ({exc.msg})", exc.lineno, line) from None
    except RecursionError:  # arrays nested thousands deep: no ConvertTo-Json prints that
        raise ParseError("not ConvertTo-Json output (nested too deeply)") from None
    items = data if isinstance(data, list) else [data]
    out: list[Listener] = []
    for i, item in enumerate(items, 1):
        if not isinstance(item, dict) or "LocalAddress" not in item or "LocalPort" not in item:
            raise ParseError(f"JSON item {i} is not a TCP connection or UDP endpoint "
                             "(no LocalAddress/LocalPort)", None, json.dumps(item)[:200])
        try:
            listener = _item(item)
        except (ValueError, TypeError) as exc:
            raise ParseError(f"JSON item {i}: {exc}", None, json.dumps(item)[:200]) from None
        if listener is not None:
            out.append(listener)
    return out


def _item(item: dict[str, Any]) -> Listener | None:
    kind = _protocol(item)
    if kind == "tcp" and _state(item.get("State")) != _LISTEN:
        return None
    port = int(item["LocalPort"])
    if not 0 < port <= 65535:
        return None  # port 0: not bound
    address, iface = split_scope(str(item["LocalAddress"]))
    pid = item.get("OwningProcess")
    services = item.get("Service")
    family = 6 if ":" in address else 4
    return Listener(
        proto=kind, family=family, address=address, port=port,
        process=item.get("ProcessName") or None, pid=int(pid) if pid is not None else None,
        iface=iface, service=services or None,
        dual_stack=unshown_dual(family, address),  # a dual-mode socket shows as :: alone
    )


def _protocol(item: dict[str, Any]) -> str:
    """'tcp' or 'udp': the Protocol fleetcheck's probe adds, else what the object shows.

    Only a TCP connection has State, RemoteAddress and RemotePort; an unselected object
    names its CIM class (MSFT_NetUDPEndpoint). An object cut down by Select-Object to
    LocalAddress, LocalPort and OwningProcess may be either, so it is refused rather
    than guessed (`Get-NetTCPConnection -State Listen | Select ...` was taken for UDP).
    """
    if item.get("Protocol"):
        kind = str(item["Protocol"]).lower()
        if kind not in ("tcp", "udp"):
            raise ValueError(f"unknown Protocol {item['Protocol']!r}")
        return kind
    if any(key in item for key in ("State", "RemoteAddress", "RemotePort")):
        return "tcp"
    text = json.dumps(item)
    if "MSFT_NetUDPEndpoint" in text:
        return "udp"
    if "MSFT_NetTCPConnection" in text:
        return "tcp"
    raise ValueError("cannot tell a TCP connection from a UDP endpoint: select State (TCP) "
                     "or add a Protocol property")


def _state(value: Any) -> int:
    """The TCP state as its enum number, whether printed as a number or a word."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"State {value!r} is not a TCP state")
    if isinstance(value, int):
        return value
    word = str(value).strip()
    if is_number(word):
        return int(word)
    try:
        return _STATES[word.lower()]
    except KeyError:
        raise ValueError(f"unknown State {value!r}") from None
