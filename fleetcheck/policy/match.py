"""Matching listeners: proto, ports or services, bind address or scope, family, device, owner."""

from __future__ import annotations

import enum
import fnmatch
import ipaddress
import re
from collections.abc import Iterable

from fleetcheck.addresses import address_scope, bind_scope, network_text, parse_ip
from fleetcheck.frozen import frozen, replace
from fleetcheck.model import Container, Listener
from fleetcheck.numbers import is_number

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

SCOPES = ("loopback", "wildcard", "link-local", "private", "public", "multicast")

def merge_ranges(ranges: Iterable[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Sorted, non-overlapping, non-adjacent inclusive ranges."""
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def format_ports(ranges: tuple[tuple[int, int], ...]) -> str:
    """'22,80,8000-8100': ranges as users write them."""
    return ",".join(str(lo) if lo == hi else f"{lo}-{hi}" for lo, hi in ranges)



class MatchResult(enum.Enum):
    """How a rule relates to a listener."""

    NO = "no"  # not about this listener
    YES = "yes"  # every condition holds
    WRONG_BIND = "wrong_bind"  # proto/port match, the bind address does not
    WRONG_PROCESS = "wrong_process"  # proto/port/address match, the owner does not
    UNKNOWN_OWNER = "unknown_owner"  # needs the owner, which could not be seen


@frozen
class AddressSpec:
    """One allowed address: a scope word, a network (CIDR) or a literal address or name."""

    scope: str | None = None
    network: IPNetwork | None = None
    literal: str | None = None

    def matches(self, address: str, iface: str | None = None) -> bool:
        """True when `address` (bound to device `iface`, if any) falls under this spec: a
        scope word judges the bind's scope (`bind_scope`), an address or network the
        address itself."""
        if self.scope is not None:
            return bind_scope(address, iface) == self.scope
        if self.network is not None:
            ip = parse_ip(address)
            return ip is not None and ip.version == self.network.version and ip in self.network
        return address == self.literal or (parse_ip(address) is not None
                                           and parse_ip(address) == parse_ip(self.literal or ""))

    @property
    def text(self) -> str:
        """The spec as a user writes it."""
        if self.scope is not None:
            return self.scope
        return network_text(self.network) if self.network is not None else self.literal or ""

    @property
    def version(self) -> int | None:
        """4 or 6 for a network or literal IP; None for scopes and names."""
        if self.network is not None:
            return self.network.version
        ip = parse_ip(self.literal or "")
        return ip.version if ip is not None else None


@frozen
class TextSpec:
    """A process or user name: exact, a glob (`*?[`), or a whole-name regex written `~regex`."""

    text: str

    def matches(self, value: str) -> bool:
        """True when `value` matches (regexes and globs must match the whole name)."""
        if self.text.startswith("~"):
            return re.fullmatch(self.text[1:], value) is not None
        if any(c in self.text for c in "*?["):
            return fnmatch.fnmatchcase(value, self.text)
        return value == self.text


def holders(listener: Listener) -> list[str] | None:
    """Names of every process holding the socket; None when the owner could not be seen."""
    if listener.process is None:
        return None
    return [listener.process, *(o.rsplit("/", 1)[0] for o in listener.other_processes)]


def served_by(listener: Listener) -> list[str] | None:
    """The holders an `allow` rule's process must match: every one but pid 1 (the init
    system, which activated the socket for the others) when another holds it too; None
    when the owner could not be seen."""
    names = holders(listener)
    if names is None or len(names) == 1:
        return names
    pids = [listener.pid, *(o.rsplit("/", 1)[-1] for o in listener.other_processes)]
    served = [n for n, pid in zip(names, pids, strict=True) if str(pid) != "1"]
    return served or names


def exposures(listener: Listener) -> list[tuple[int, str]]:
    """(family, address) pairs the socket accepts: a dual-stack [::] also takes 0.0.0.0;
    an IPv6 socket bound to an IPv4-mapped address (::ffff:127.0.0.1) takes IPv4 only.
    An [::] whose dual stack was not shown (`unsure_dual`) counts here as IPv6 only;
    `Match` weighs both ways."""
    ip = parse_ip(listener.address)
    if listener.family == 6 and ip is not None and ip.version == 4:
        return [(4, listener.address)]
    if listener.dual_stack and address_scope(listener.address) == "wildcard":
        return [(6, listener.address), (4, "0.0.0.0")]
    return [(listener.family, listener.address)]


def unsure_dual(listener: Listener) -> bool:
    """True for an IPv6 wildcard whose tool did not show whether it also takes IPv4."""
    ip = parse_ip(listener.address)  # ::ffff:0.0.0.0 unwraps to IPv4: it takes IPv4 only
    return listener.dual_stack is None and ip is not None and ip.version == 6 \
        and ip.is_unspecified


def _user_ok(spec: TextSpec, user: str | None, uid: int | None) -> bool | None:
    """Whether the owning user matches one spec; None when the tool did not show enough."""
    if is_number(spec.text):
        if uid is not None:
            return int(spec.text) == uid
        return spec.text == "0" if user == "root" else None
    if user is not None:
        return spec.matches(user)
    if uid == 0:  # uid 0 is root on every system fleetcheck reads
        return spec.matches("root")
    if uid is not None and spec.text == "root":
        return False  # and root is uid 0: another uid is somebody else
    return None


def _any_ok(results: Iterable[bool | None]) -> bool | None:
    values = list(results)
    return True if True in values else None if None in values else False


@frozen
class Match:
    """Conditions on a listener; None means 'any'. All given conditions must hold.

    `covering` (allow rules) needs every side of the socket to satisfy a condition:
    every holder process, and both families of a dual-stack socket. Otherwise
    (forbid rules, requirements) one side is enough.
    """

    protos: frozenset[str] | None = None
    ports: tuple[tuple[int, int], ...] | None = None  # inclusive ranges
    services: tuple[str, ...] | None = None  # names as written
    service_ports: frozenset[tuple[str, int]] | None = None  # what the names stand for
    addresses: tuple[AddressSpec, ...] | None = None
    families: frozenset[int] | None = None
    dual_stack: bool | None = None
    processes: tuple[TextSpec, ...] | None = None
    users: tuple[TextSpec, ...] | None = None
    # Where the listener is: its network namespace (host | container), its container's
    # name, image, pod and Kubernetes namespace, and how reachable it is (exposure).
    namespaces: frozenset[str] | None = None
    containers: tuple[TextSpec, ...] | None = None
    images: tuple[TextSpec, ...] | None = None
    pods: tuple[TextSpec, ...] | None = None
    k8s_namespaces: tuple[TextSpec, ...] | None = None
    exposures: frozenset[str] | None = None
    # The devices the socket must be known to be bound to (SO_BINDTODEVICE, a zone).
    interfaces: tuple[TextSpec, ...] | None = None

    @property
    def claims_port(self) -> bool:
        """A rule naming ports speaks for them: other mismatches are wrong_bind/wrong_process."""
        return self.ports is not None or self.service_ports is not None

    @property
    def where_result_free(self) -> bool:
        """True when the rule states no place condition (namespace, container, exposure...)."""
        return all(x is None for x in (self.namespaces, self.containers, self.images,
                                       self.pods, self.k8s_namespaces, self.exposures))

    @property
    def needs_owner(self) -> bool:
        """True when the rule cannot be judged without the owning process or user."""
        return self.processes is not None or self.users is not None

    def port_matches(self, proto: str, port: int) -> bool:
        """True when `port` is in one of the ranges or services (or no ports were given)."""
        if not self.claims_port:
            return True
        if self.ports is not None and any(lo <= port <= hi for lo, hi in self.ports):
            return True
        return self.service_ports is not None and (proto, port) in self.service_ports

    def check(self, listener: Listener, *, covering: bool = True) -> MatchResult:
        """Judge `listener` against every condition, most basic first."""
        return self.check_detail(listener, covering=covering)[0]

    def check_detail(self, listener: Listener, *, covering: bool = True,
                     ) -> tuple[MatchResult, str | None]:
        """The result and the condition that decided a non-YES result ('port', 'process'...).

        An [::] whose tool did not show whether it takes IPv4 too is judged both ways:
        where the answers differ and either way might match (YES, or an owner not seen),
        the rule cannot be settled (UNKNOWN_OWNER, condition 'dual_stack'); otherwise the
        dual-stack answer, the wider reach, stands.
        """
        if unsure_dual(listener):
            wide = self._check(replace(listener, dual_stack=True), covering)
            narrow = self._check(replace(listener, dual_stack=False), covering)
            maybe = (MatchResult.YES, MatchResult.UNKNOWN_OWNER)
            if wide[0] is not narrow[0] and (wide[0] in maybe or narrow[0] in maybe):
                return MatchResult.UNKNOWN_OWNER, "dual_stack"
            if {wide[0], narrow[0]} == {MatchResult.WRONG_BIND, MatchResult.WRONG_PROCESS}:
                # the owner misses either way, the bind only one way: say what is certain
                return wide if wide[0] is MatchResult.WRONG_PROCESS else narrow
            return wide
        return self._check(listener, covering)

    def _check(self, listener: Listener, covering: bool) -> tuple[MatchResult, str | None]:
        # A condition that fails outright decides before one that cannot be judged: a rule
        # the listener misses whatever its unseen owner (or container) is never "might
        # match" (undetermined), and a near miss is named by what visibly does not fit.
        if self.protos is not None and listener.proto not in self.protos:
            return MatchResult.NO, "proto"
        if not self.port_matches(listener.proto, listener.port):
            return MatchResult.NO, "port"
        where = self.where_result(listener)
        if where is not None and where[0] is MatchResult.NO:
            return where
        near = MatchResult.WRONG_PROCESS if self.claims_port else MatchResult.NO
        bind = self._bind_result(listener, covering)
        if bind is not None:
            return bind
        unknown: tuple[MatchResult, str | None] | None = where
        if self.processes is not None:
            names = served_by(listener) if covering else holders(listener)
            if names is None:
                unknown = unknown or (MatchResult.UNKNOWN_OWNER, "process")
            elif not (all if covering else any)(
                    any(p.matches(n) for p in self.processes) for n in names):
                return near, "process"
        if self.users is not None:
            ok = _any_ok(_user_ok(u, listener.user, listener.uid) for u in self.users)
            if ok is False:
                return near, "user"
            if ok is None:
                unknown = unknown or (MatchResult.UNKNOWN_OWNER, "user")
        return unknown or (MatchResult.YES, None)

    def _bind_result(self, listener: Listener, covering: bool
                     ) -> tuple[MatchResult, str] | None:
        """The dual_stack, family, address and interface conditions: None when they hold."""
        # Family and dual stack are the bind's as much as its address: a rule naming the
        # port that they miss is a near miss (wrong_bind), as for the address.
        wrong = MatchResult.WRONG_BIND if self.claims_port else MatchResult.NO
        if self.dual_stack is not None and listener.dual_stack != self.dual_stack:
            return wrong, "dual_stack"
        sides = exposures(listener)
        if self.families is not None:
            fam_ok = [f in self.families for f, _ in sides]
            if not (all(fam_ok) if covering else any(fam_ok)):
                return wrong, "family"
            if not covering:
                sides = [s for s, ok in zip(sides, fam_ok, strict=True) if ok]
        if self.addresses is not None:
            addr_ok = [any(a.matches(addr, listener.iface) for a in self.addresses)
                       for _, addr in sides]
            if listener.route_localnet and covering:
                # The network reaches it too (route_localnet): no scope word vouches for
                # that side ('loopback' means the host's own), only its address named.
                addr_ok.append(any(a.scope is None and a.matches(listener.address)
                                   for a in self.addresses))
            if not (all(addr_ok) if covering else any(addr_ok)):
                return wrong, "address"
        # A socket whose tool does not show its device, or bound to none, is on no device
        # the rule names: never matched (so never allowed) on a guess.
        if self.interfaces is not None and (listener.iface is None or not any(
                i.matches(listener.iface) for i in self.interfaces)):
            return wrong, "interface"
        return None

    def where_result(self, listener: Listener) -> tuple[MatchResult, str] | None:
        """The first place condition (namespace, container...) `listener` fails, or None.

        A container whose name, image or pod the host did not tell cannot be judged by
        such a condition: UNKNOWN_OWNER, as for an owner that could not be seen, unless
        another place condition fails outright. A container the host named (a runtime's
        listing, or its cgroup for systemd-nspawn and LXC) without a pod is in none: a
        `pod` or `k8s_namespace` condition plainly fails.
        """
        if self.namespaces is not None and \
                ("host" if listener.netns is None else "container") not in self.namespaces:
            return MatchResult.NO, "namespace"
        if self.exposures is not None and listener.exposure not in self.exposures:
            return MatchResult.NO, "exposure"
        unknown: tuple[MatchResult, str] | None = None
        for key, specs in (("container", self.containers), ("image", self.images),
                           ("pod", self.pods), ("k8s_namespace", self.k8s_namespaces)):
            if specs is None:
                continue
            value = container_value(listener.container, key)
            if listener.container is None:
                return MatchResult.NO, key
            if value is None and key in _POD_KEYS and listener.container.name is not None:
                return MatchResult.NO, key
            if value is None:
                unknown = unknown or (MatchResult.UNKNOWN_OWNER, key)
            elif not any(s.matches(value) for s in specs):
                return MatchResult.NO, key
        return unknown

    def describe(self) -> str:
        """The conditions in a policy file's words: 'proto tcp, port 80,443, process nginx'."""
        parts = []
        if self.protos is not None:
            parts.append(f"proto {'/'.join(sorted(self.protos))}")
        if self.ports is not None:
            parts.append(f"port {format_ports(self.ports)}")
        if self.services is not None:
            pairs = ", ".join(f"{p}/{n}" for p, n in sorted(self.service_ports or ()))
            parts.append(f"service {' or '.join(self.services)} ({pairs})")
        if self.addresses is not None:
            parts.append(f"address {' or '.join(a.text for a in self.addresses)}")
        if self.families is not None:
            parts.append(f"family {' or '.join(str(f) for f in sorted(self.families))}")
        if self.dual_stack is not None:
            parts.append(f"dual_stack {str(self.dual_stack).lower()}")
        for key, specs in (("interface", self.interfaces), ("process", self.processes),
                           ("user", self.users), ("container", self.containers),
                           ("image", self.images), ("pod", self.pods),
                           ("k8s_namespace", self.k8s_namespaces)):
            if specs is not None:
                parts.append(f"{key} {' or '.join(s.text for s in specs)}")
        for key, words in (("namespace", self.namespaces), ("exposure", self.exposures)):
            if words is not None:
                parts.append(f"{key} {' or '.join(sorted(words))}")
        return ", ".join(parts) or "any listener"


# What a named container without them is plainly not in (its runtime's listing said so).
_POD_KEYS = ("pod", "k8s_namespace")


def container_value(container: Container | None, key: str) -> str | None:
    """A container's name, image, pod or k8s_namespace, as place conditions name them."""
    if container is None:
        return None
    return {"container": container.name, "image": container.image, "pod": container.pod,
            "k8s_namespace": container.k8s_namespace}[key]
