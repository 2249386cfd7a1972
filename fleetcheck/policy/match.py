"""Matching listeners: proto, ports, bind address or scope, family, process, user."""

from __future__ import annotations

import enum
import fnmatch
import ipaddress
import re
from dataclasses import dataclass

from fleetcheck.model import Listener

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCOPES = ("loopback", "wildcard", "link-local", "private", "public", "multicast")

# Names tools print instead of addresses when run without -n.
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost",
                             "ip6-loopback", "localhost6"})
_WILDCARDS = frozenset({"*", "0.0.0.0", "::"})


def address_scope(address: str) -> str | None:
    """Classify a bind address as one of SCOPES; None for a host name we cannot classify."""
    if address in _WILDCARDS:
        return "wildcard"
    if address in _LOOPBACK_NAMES:
        return "loopback"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is reached as 127.0.0.1
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    return "public"


class MatchResult(enum.Enum):
    """How a rule relates to a listener."""

    NO = "no"  # not about this listener
    YES = "yes"  # every condition holds
    WRONG_BIND = "wrong_bind"  # proto/port match, the bind address does not
    WRONG_PROCESS = "wrong_process"  # proto/port/address match, the owner does not
    UNKNOWN_OWNER = "unknown_owner"  # needs the owner, which could not be seen


@dataclass(frozen=True, slots=True)
class AddressSpec:
    """One allowed address: a scope word, a network (CIDR) or a literal address or name."""

    scope: str | None = None
    network: IPNetwork | None = None
    literal: str | None = None

    def matches(self, address: str) -> bool:
        """True when `address` falls under this spec."""
        if self.scope is not None:
            return address_scope(address) == self.scope
        if self.network is not None:
            try:
                ip = ipaddress.ip_address(address)
            except ValueError:
                return False
            if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
                ip = ip.ipv4_mapped
            return ip.version == self.network.version and ip in self.network
        return address == self.literal


@dataclass(frozen=True, slots=True)
class TextSpec:
    """A process or user name: exact, a glob (`*?[`), or a regex written `~regex`."""

    text: str

    def matches(self, value: str) -> bool:
        """True when `value` matches."""
        if self.text.startswith("~"):
            return re.search(self.text[1:], value) is not None
        if any(c in self.text for c in "*?["):
            return fnmatch.fnmatchcase(value, self.text)
        return value == self.text


@dataclass(frozen=True, slots=True)
class Match:
    """Conditions on a listener; None means 'any'. All given conditions must hold."""

    protos: frozenset[str] | None = None
    ports: tuple[tuple[int, int], ...] | None = None  # inclusive ranges
    addresses: tuple[AddressSpec, ...] | None = None
    family: int | None = None
    dual_stack: bool | None = None
    processes: tuple[TextSpec, ...] | None = None
    users: tuple[TextSpec, ...] | None = None

    @property
    def claims_port(self) -> bool:
        """A rule naming ports speaks for them: other mismatches are wrong_bind/wrong_process."""
        return self.ports is not None

    def port_matches(self, port: int) -> bool:
        """True when `port` is in one of the ranges (or no ports were given)."""
        return self.ports is None or any(lo <= port <= hi for lo, hi in self.ports)

    def check(self, listener: Listener) -> MatchResult:
        """Judge `listener` against every condition, most basic first."""
        if self.protos is not None and listener.proto not in self.protos:
            return MatchResult.NO
        if not self.port_matches(listener.port):
            return MatchResult.NO
        if self.family is not None and listener.family != self.family:
            return MatchResult.NO
        if self.dual_stack is not None and listener.dual_stack != self.dual_stack:
            return MatchResult.NO
        mismatch = MatchResult.NO
        if self.addresses is not None and not any(a.matches(listener.address)
                                                  for a in self.addresses):
            return MatchResult.WRONG_BIND if self.claims_port else MatchResult.NO
        if self.claims_port:
            mismatch = MatchResult.WRONG_PROCESS
        if self.processes is not None:
            if listener.process is None:
                return MatchResult.UNKNOWN_OWNER
            if not any(p.matches(listener.process) for p in self.processes):
                return mismatch
        if self.users is not None:
            if listener.user is None:
                return MatchResult.UNKNOWN_OWNER
            if not any(u.matches(listener.user) for u in self.users):
                return mismatch
        return MatchResult.YES
