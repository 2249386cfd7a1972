"""PowerShell `Get-NetTCPConnection` / `Get-NetUDPEndpoint` objects as `ConvertTo-Json` prints them
(or, read by powershell_text, as a console table or Format-List shows them).

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

from fleetcheck.frozen import replace
from fleetcheck.jsontext import loads_text
from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import ParseError, lines, split_scope, unshown_dual
from fleetcheck.parsers.powershell_text import looks_like_text, objects

_LISTEN = 2
_BOUND = 100
_STATES = {"closed": 1, "listen": 2, "synsent": 3, "synreceived": 4, "established": 5,
           "finwait1": 6, "finwait2": 7, "closewait": 8, "closing": 9, "lastack": 10,
           "timewait": 11, "deletetcb": 12, "bound": 100}


def parse(text: str) -> list[Listener]:
    """Listening TCP and bound UDP endpoints from the JSON of one or several objects."""
    body = text.lstrip("\ufeff")
    if not body.strip():
        raise ParseError("empty output, expected ConvertTo-Json output")
    if body.lstrip()[:1] not in ("[", "{") and looks_like_text(body):
        return _from_text(body)
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
    _check_shows_listeners(out, items)
    return out


def _check_shows_listeners(found: list[Listener], items: list[Any]) -> None:
    """ParseError for objects that are all TCP connections (no Listen or Bound socket, no
    UDP endpoint): a listing filtered so (-State Established) cannot show listeners, and
    must not read as 'nothing listens'."""
    if found or not items:
        return
    if all(_protocol(item) == "tcp" and _state(item.get("State")) not in (_LISTEN, _BOUND)
           for item in items):
        raise ParseError("lists only TCP connections, no listening socket and no UDP "
                         "endpoint (filtered with -State?); list Get-NetTCPConnection "
                         "-State Listen and Get-NetUDPEndpoint")


def _from_text(body: str) -> list[Listener]:
    """Listeners of the objects a table or Format-List printed, judged as JSON objects."""
    out: list[Listener] = []
    # A capture that kept its prompt names the cmdlet, and so the class of objects that
    # show no property of their own (Get-NetUDPEndpoint's default table).
    named = {kind for kind, cmdlet in (("tcp", "get-nettcpconnection"),
                                       ("udp", "get-netudpendpoint")) if cmdlet in body.lower()}
    seen: list[dict[str, str]] = []
    for obj in objects(body):
        if "LocalAddress" not in obj.values or "LocalPort" not in obj.values:
            raise ParseError("object with no LocalAddress or no LocalPort", obj.line_no, obj.line)
        values = dict(obj.values)
        if len(named) == 1 and not set(values) & {"Protocol", "State", "RemoteAddress",
                                                  "RemotePort"}:
            values["Protocol"] = next(iter(named))
        try:
            listener = _item(values)
            if listener is not None and obj.cut:
                listener = _cut(listener, obj.cut)
        except (ValueError, TypeError) as exc:
            raise ParseError(str(exc), obj.line_no, obj.line) from None
        if listener is not None:
            out.append(listener)
        seen.append(values)
    _check_shows_listeners(out, seen)
    return out


def _cut(listener: Listener, cut: frozenset[str]) -> Listener:
    """A listener whose address PowerShell cut to its column, marked so; ValueError when a
    port, process or state was cut (no such value can be trusted)."""
    if cut - {"LocalAddress", "RemoteAddress", "AppliedSetting"}:
        raise ValueError(f"{', '.join(sorted(cut))} cut to fit the console; widen it, or "
                         "use Format-Table -AutoSize or ConvertTo-Json")
    if "LocalAddress" not in cut:
        return listener
    return replace(listener, truncated=True)


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
