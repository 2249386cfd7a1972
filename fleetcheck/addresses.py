"""Bind addresses: the IP an address names, and how widely it binds (wildcard, loopback ...).

Policies match on these scopes and reports group findings by them; kept apart from the
policy package so that rendering a saved run loads no policy (or YAML) code.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

# Names tools print instead of addresses when run without -n.
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost",
                             "ip6-loopback", "localhost6"})
_WILDCARDS = frozenset({"*", "0.0.0.0", "::"})


@lru_cache(maxsize=4096)  # a fleet repeats a handful of bind addresses endlessly
def address_scope(address: str) -> str | None:
    """Classify a bind address as one of SCOPES; None for a host name we cannot classify."""
    if address in _WILDCARDS:
        return "wildcard"
    if address in _LOOPBACK_NAMES:
        return "loopback"
    ip = parse_ip(address)
    if ip is None:
        return None
    if ip.is_unspecified:
        return "wildcard"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    return "public"


@lru_cache(maxsize=4096)
def parse_ip(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP of a bind address (IPv4-mapped IPv6 unwrapped, %scope dropped); None for a name."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped  # ::ffff:127.0.0.1 is reached as 127.0.0.1
    return ip


def routable_loopback(address: str) -> bool:
    """True for an IPv4 loopback address (or a name that may stand for one), which
    route_localnet opens to the network; ::1 never leaves the host."""
    if address_scope(address) != "loopback":
        return False
    ip = parse_ip(address)  # ::ffff:127.0.0.1 unwraps to IPv4
    return ip.version == 4 if ip is not None else not address.startswith(("ip6-", "localhost6"))
