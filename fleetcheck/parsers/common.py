"""What every dialect parser shares: the parse error and address/port normalisation."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache
from itertools import islice
from typing import NamedTuple

from fleetcheck import services
from fleetcheck.frozen import frozen
from fleetcheck.numbers import is_number


class ParseError(Exception):
    """Output a parser does not recognise; names the first offending line."""

    def __init__(self, message: str, line_no: int | None = None, line: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line_no = line_no
        self.line = line

    def __str__(self) -> str:
        if self.line_no is None:
            return self.message
        shown = (self.line or "").strip()
        if len(shown) > 120:
            shown = shown[:117] + "..."
        return f"line {self.line_no}: {self.message}: {shown!r}"


@frozen
class Endpoint:
    """A local address as printed, split into its normalised parts."""

    address: str
    port: int | None  # None: the port was '*' (an unbound socket)
    iface: str | None
    port_name: str | None


class Token(NamedTuple):
    """One whitespace-separated word of a line and where it starts and ends (a named tuple:
    every row of every listing is cut into these; as a frozen dataclass a row cost ~1.5x)."""

    text: str
    start: int
    end: int


def lines(text: str) -> list[str]:
    """The lines of `text`, split at newlines only, each without its newline (and CR).

    Never `str.splitlines()` on remote text: it also breaks at U+2028, U+0085, form
    feeds and other characters a process name may hold, so one name could split a row.
    A byte order mark before the first line (a capture saved by a Windows editor or
    PowerShell) is no part of it.
    """
    text = text.removeprefix("\ufeff")
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


_WORD = re.compile(r"\S+")


def tokens(line: str, limit: int | None = None) -> list[Token]:
    """The words of `line` with their spans (only the first `limit`, when given), so that the
    rest of a line can be cut verbatim."""
    found: Iterable[re.Match[str]] = _WORD.finditer(line)
    if limit is not None:  # a row's own columns, not the many words of what follows them
        found = islice(found, limit)
    return [Token(m.group(), m.start(), m.end()) for m in found]


def split_scope(address: str) -> tuple[str, str | None]:
    """'fe80::1%eth0', '[fe80::1%eth0]' or '[fe80::1]%eth0' -> ('fe80::1', 'eth0')."""
    scope = None
    if "%" in address:
        address, scope = address.split("%", 1)
        scope = scope.strip("[]") or None
    return address.strip("[]"), scope


# What is left of an IPv6 address that a tool cut to fit its column.
_CUT_IPV6 = re.compile(r"[0-9A-Fa-f:.]+")


def check_host(host: str, *, cut: bool) -> None:
    """ValueError unless `host`, as printed (scope and all), is '*', an IP address, an
    address the tool bracketed ('[...]'), a host name (no ':' and no brackets) or, where
    the tool cuts addresses (`cut`), what is left of an IPv6 address so cut (hex digits,
    colons and dots)."""
    if host.startswith("["):  # '[v6]', '[v6%scope]' or '[v6]%scope'
        inner, close, rest = host[1:].partition("]")
        if close and "[" not in inner and (not rest or rest.startswith("%")) \
                and "[" not in rest and "]" not in rest:
            return  # the tool says it is an IPv6 address (a capture may have masked digits)
        raise ValueError(f"{host!r} is no address and no host name")
    address = host.partition("%")[0]
    if address == "*" or is_ip(address):
        return
    if "[" in address or "]" in address or (
            ":" in address and not (cut and _CUT_IPV6.fullmatch(address))):
        raise ValueError(f"{host!r} is no address and no host name")


class UnknownServiceName(ValueError):
    """A port printed as a service name the port table does not hold (a capture without -n).

    Fatal for a listener (its port cannot be known); a connection's row, which is no
    listener whatever its port, is passed over instead by the parsers that can tell."""


def parse_port(text: str, proto: str) -> tuple[int | None, str | None]:
    """A port as printed: number, '*', or a service name (mapped through the port table);
    UnknownServiceName for a name the table does not hold."""
    if text == "*":
        return None, None
    if is_number(text):
        port = int(text)
        if port > 65535:
            raise ValueError(f"port {port} out of range")
        return port, None
    number = services.port_for_name(text, proto)
    if number is None:
        raise UnknownServiceName(f"unknown service name {text!r} "
                                 "(capture with numeric ports: -n, or -P for lsof)")
    return number, text


def split_endpoint(text: str, proto: str, sep: str = ":") -> Endpoint:
    """Split 'addr:port' (or BSD 'addr.port' with sep='.') into an Endpoint; ValueError if bad."""
    if sep not in text:
        raise ValueError(f"no port in {text!r}")
    addr, _, port_text = text.rpartition(sep)
    port, port_name = parse_port(port_text, proto)
    check_host(addr, cut=False)  # ss prints whole addresses
    address, iface = split_scope(addr)
    if not address:
        raise ValueError(f"no address in {text!r}")
    return Endpoint(address, port, iface, port_name)


def family_of(address: str) -> int:
    """6 for anything with a colon (IPv6, IPv4-mapped), else 4."""
    return 6 if ":" in address else 4


def family_for(address: str, hint: int) -> int:
    """The family an address shows (colon: 6, dotted quad: 4); `hint` for host names and '*'."""
    if ":" in address:
        return 6
    if re.fullmatch(r"[0-9]{1,3}(\.[0-9]{1,3}){3}", address):
        return 4
    return hint


def peer_family(peer: str, default: int) -> int:
    """The family a not-connected peer column shows ('0.0.0.0:*' 4, '[::]:*' or ':::*' 6),
    `default` when it shows none ('*:*'): what tells a host name's family where the row's
    protocol does not (BusyBox prints 'tcp' for both, ss -r 'tcp')."""
    host = peer.rpartition(":")[0].strip("[]")
    return family_for(split_scope(host)[0], default) if host not in ("", "*") else default


def any_address(family: int) -> str:
    """The wildcard address of a family, as the listeners spell it."""
    return "::" if family == 6 else "0.0.0.0"


def unshown_dual(family: int, address: str) -> bool | None:
    """`dual_stack` for a tool that does not show IPV6_V6ONLY: None (not shown) for an IPv6
    wildcard, which takes IPv4 too unless it is IPv6-only; False for any other address."""
    return None if family == 6 and address == "::" else False


@lru_cache(maxsize=4096)  # a fleet's listeners share a few addresses (0.0.0.0, ::, 127.0.0.1)
def is_ip(address: str) -> bool:
    """True when `address` is a complete IPv4 or IPv6 address (not a prefix, not a name)."""
    try:
        ipaddress.ip_address(address)
    except ValueError:
        return False
    return True


def is_wildcard_peer(text: str) -> bool:
    """True for a foreign address meaning 'not connected': '*:*', '0.0.0.0:*', '[::]:*', '*.*'."""
    return text.endswith("*") and text.rstrip("*").rstrip(":.").strip("[]") in (
        "", "*", "0.0.0.0", "::", "::0")


def process_of(field: str) -> tuple[int | None, str | None]:
    """A netstat 'PID/Program name' field: '1234/sshd: /usr/sbin' -> (1234, 'sshd: /usr/sbin').

    '-' (owner not visible) gives (None, None); ValueError for anything else.
    """
    if field == "-":
        return None, None
    pid, sep, name = field.partition("/")
    if not sep or not is_number(pid):
        raise ValueError(f"not a PID/Program name field: {field!r}")
    return int(pid), name.rstrip()
