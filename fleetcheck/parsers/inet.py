"""Address helpers shared by the non-Linux dialects: BSD 'addr.port', wildcards, families."""

from __future__ import annotations

import re

from fleetcheck.model import Listener
from fleetcheck.parsers.common import Endpoint, any_address, check_host, parse_port, split_scope

# A protocol word as BSD-derived tools print it: tcp, tcp4, tcp6, tcp46, udp...
PROTO_WORD = re.compile(r"^(tcp|udp)(4|6|46)?$")


def proto_family(word: str) -> tuple[str, int | None, bool]:
    """'tcp46' -> ('tcp', 6, True); 'udp4' -> ('udp', 4, False); 'tcp' -> ('tcp', None, False)."""
    m = PROTO_WORD.match(word)
    if not m:
        raise ValueError(f"not a tcp/udp protocol word: {word!r}")
    suffix = m.group(2)
    family = {"4": 4, "6": 6, "46": 6}.get(suffix or "")
    return m.group(1), family, suffix == "46"


def resolve_host(host: str, family: int | None, dual: bool | None,
                 ) -> tuple[str, int, bool | None]:
    """Address, family and dual-stack flag for a printed host ('*' is the family's any-address).

    A tool that printed no family (plain 'tcp', OpenBSD and HP-UX style) is IPv4 unless the
    address itself is IPv6; IPv4-mapped addresses stay as printed, family 6. `dual` (None:
    the tool does not show it) holds only for an IPv6 wildcard; anything else is False.
    """
    if host == "*":
        fam = family or 4
        return any_address(fam), fam, dual if fam == 6 else False
    fam = 6 if ":" in host else (family or 4)
    return host, fam, dual if host == "::" else False


def split_dotted(text: str, proto: str) -> Endpoint:
    """Split BSD 'host.port' ('*.22', '::1.5999', 'localhost.smtp'); ValueError if it is not."""
    host, dot, port_text = text.rpartition(".")
    if not dot or not host or not port_text:
        raise ValueError(f"no '.port' in {text!r}")
    port, port_name = parse_port(port_text, proto)
    check_host(host, cut=True)  # BSD and Solaris netstat cut an address to its column
    address, iface = split_scope(host)
    return Endpoint(address, port, iface, port_name)


def split_colon(text: str, proto: str) -> Endpoint:
    """Split 'host:port', '[v6]:port' or unbracketed 'v6:port' (sockstat, lsof, Windows)."""
    if text.startswith("[") and "]:" in text:
        host, _, port_text = text[1:].partition("]:")
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            raise ValueError(f"no ':port' in {text!r}")
        check_host(host, cut=False)  # these tools print whole addresses
    if not host:
        raise ValueError(f"no address in {text!r}")
    port, port_name = parse_port(port_text, proto)
    address, iface = split_scope(host)
    return Endpoint(address, port, iface, port_name)


def listener_at(proto: str, ep: Endpoint, family: int | None, *, dual: bool | None = False,
                process: str | None = None, pid: int | None = None, user: str | None = None,
                iface: str | None = None) -> Listener | None:
    """The listener bound at `ep` ('*' is the family's any-address); None if unbound."""
    if ep.port is None:
        return None
    address, fam, dual = resolve_host(ep.address, family, dual)
    return Listener(proto=proto, family=fam, address=address, port=ep.port, process=process,
                    pid=pid, user=user, iface=ep.iface or iface, dual_stack=dual,
                    port_name=ep.port_name)
