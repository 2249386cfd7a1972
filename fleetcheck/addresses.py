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

# The networks IANA's special-purpose address registries mark as not globally reachable,
# and the blocks inside them that are: fleetcheck's own table, because Python's
# `is_private` changed its own in 3.11.10, 3.12.4 and 3.13.0 (192.0.0.8 was public before,
# 2001:20::1 private), and a listener's scope must not depend on the interpreter.
# 100.64.0.0/10 (shared address space) stays out, as every Python leaves it: "public".
_PRIVATE = tuple(ipaddress.ip_network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
    "203.0.113.0/24", "240.0.0.0/4", "255.255.255.255/32",
    "::1/128", "::/128", "64:ff9b:1::/48", "100::/64", "2001::/23", "2001:db8::/32",
    "2002::/16", "fc00::/7", "fe80::/10"))
_GLOBAL_INSIDE = tuple(ipaddress.ip_network(n) for n in (
    "192.0.0.9/32", "192.0.0.10/32",
    "2001:1::1/128", "2001:1::2/128", "2001:3::/32", "2001:4:112::/48", "2001:20::/28",
    "2001:30::/28"))


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
    return "private" if is_private(ip) else "public"


# The loopback device: Linux's `lo`; `lo0` on the BSDs, macOS, Solaris and AIX.
LOOPBACK_DEVICES = frozenset({"lo", "lo0"})


def bind_text(address: str | None, iface: str | None) -> str:
    """A bind as tools print it: the address, `%device` after it where the socket is bound
    to one ('' for no address)."""
    return (address or "") + (f"%{iface}" if address and iface else "")


def bind_scope(address: str, iface: str | None) -> str | None:
    """The scope of a bind: its address's (`address_scope`), but `loopback` for a socket
    bound to the loopback device (`0.0.0.0%lo`, `127.0.0.53%lo`, `fe80::1%lo0`), which only
    the host itself reaches, whatever its address says."""
    if iface in LOOPBACK_DEVICES:
        return "loopback"
    return address_scope(address)


def is_private(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True when IANA's registries say `ip` is not globally reachable (the same on every
    Python; 100.64.0.0/10 is not private, an IPv4-mapped address is never unwrapped here)."""
    return (any(ip in net for net in _PRIVATE if net.version == ip.version)
            and not any(ip in net for net in _GLOBAL_INSIDE if net.version == ip.version))


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


def ip_text(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """`ip` as ss (and Python from 3.13) writes it: IPv4-mapped in dotted form
    (`::ffff:127.0.0.1`; older Pythons say `::ffff:7f00:1`), the same on every Python."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return f"::ffff:{ip.ipv4_mapped}"
    return str(ip)


def network_text(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> str:
    """A network written as `ip_text` writes its first address (`::ffff:10.0.0.0/104`)."""
    return f"{ip_text(net.network_address)}/{net.prefixlen}"


def routable_loopback(address: str) -> bool:
    """True for an IPv4 loopback address (or a name that may stand for one), which
    route_localnet opens to the network; ::1 never leaves the host."""
    if address_scope(address) != "loopback":
        return False
    ip = parse_ip(address)  # ::ffff:127.0.0.1 unwraps to IPv4
    return ip.version == 4 if ip is not None else not address.startswith(("ip6-", "localhost6"))
