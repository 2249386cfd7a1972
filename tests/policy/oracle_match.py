"""The reference judge's conditions, written from docs/policies.md alone (not from the judge).

A condition is true, false or unknown (None: the listener does not tell, e.g. its owner
was not seen, or an IPv6 wildcard whose tool did not show whether it takes IPv4 too).
Rules and waivers are the plain YAML data the generator wrote, so that this oracle never
reads fleetcheck's own parse of them.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

from fleetcheck.model import Listener

Tri = bool | None
Side = tuple[int, str]  # (family, address) a socket accepts connections on
SCOPES = ("loopback", "link-local", "private", "public", "wildcard", "multicast")
PRIVATE = [ipaddress.ip_network(n) for n in
           ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")]
_TABLE = Path(__file__).resolve().parents[2] / "fleetcheck" / "data" / "services.tsv"


def all3(values: Iterable[Tri]) -> Tri:
    """And of tri-state values: any false is false, else any unknown is unknown."""
    vals = list(values)
    if any(v is False for v in vals):
        return False
    return None if any(v is None for v in vals) else True


def any3(values: Iterable[Tri]) -> Tri:
    """Or of tri-state values."""
    vals = list(values)
    if any(v is True for v in vals):
        return True
    return None if any(v is None for v in vals) else False


def as_list(value: Any) -> list[Any]:
    """A condition's value as a list ('a list in a condition means any of these')."""
    return list(value) if isinstance(value, list) else [value]


@cache
def service_table() -> dict[str, frozenset[tuple[str, int]]]:
    """Service name (and alias) -> the (proto, port) pairs of the shipped port table."""
    out: dict[str, set[tuple[str, int]]] = {}
    for line in _TABLE.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 3 or cols[1] not in ("tcp", "udp"):
            continue
        names = [cols[2], *(cols[3].split() if len(cols) > 3 else [])]
        for name in names:
            out.setdefault(name, set()).add((cols[1], int(cols[0])))
    return {k: frozenset(v) for k, v in out.items()}


def protos(rule: Mapping[str, Any]) -> set[str]:
    """The protocols a rule or waiver names (all of them when it names none, or `any`)."""
    if "proto" not in rule:
        return {"tcp", "udp"}
    words = {str(p).lower() for p in as_list(rule["proto"])}
    return {"tcp", "udp"} if "any" in words else words


def port_ranges(value: Any) -> list[tuple[int, int]]:
    """`22`, `8000-8999`, `"80,443"` or a list of those, as inclusive ranges."""
    out = []
    for item in as_list(value):
        for part in str(item).split(","):
            lo, _, hi = part.strip().partition("-")
            out.append((int(lo), int(hi or lo)))
    return out


def service_pairs(rule: Mapping[str, Any]) -> set[tuple[str, int]]:
    """The (proto, port) pairs of the services a rule names."""
    table = service_table()
    return {pair for name in as_list(rule.get("service", [])) for pair in table[str(name)]}


def names_port(rule: Mapping[str, Any], proto: str, port: int) -> bool:
    """The rule names this protocol and port through `port` or `service` ('either')."""
    if proto not in protos(rule):
        return False
    in_port = "port" in rule and any(lo <= port <= hi for lo, hi in port_ranges(rule["port"]))
    return in_port or (proto, port) in service_pairs(rule)


def port_ok(rule: Mapping[str, Any], proto: str, port: int) -> bool:
    """Protocol and port conditions (a rule naming no port matches every port)."""
    if "port" not in rule and "service" not in rule:
        return proto in protos(rule)
    return names_port(rule, proto, port)


def text_ok(pattern: str, value: str) -> bool:
    """Exact, glob, or `~regex`; globs and regular expressions match the whole name."""
    if pattern.startswith("~"):
        return re.fullmatch(pattern[1:], value) is not None
    return fnmatch.fnmatchcase(value, pattern)


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text.strip("[]"))


def scope(address: str) -> str:
    """The scope word of a bind address."""
    ip = _ip(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified:
        return "wildcard"
    if ip.is_loopback:
        return "loopback"
    if ip.is_multicast:
        return "multicast"
    if ip.is_link_local:
        return "link-local"
    if any(ip.version == n.version and ip in n for n in PRIVATE):
        return "private"
    return "public"


def bound_scope(address: str, listener: Listener) -> str:
    """The scope word of a bind: loopback for a socket bound to the loopback device (`lo`,
    `lo0`) whatever its address."""
    return "loopback" if listener.iface in ("lo", "lo0") else scope(address)


def address_item_ok(item: str, side: Side, listener: Listener, allow: bool) -> bool:
    """One `address` item against one side of a listener."""
    address = side[1]
    if item in SCOPES:
        if allow and listener.route_localnet and listener.family == 4 \
                and scope(listener.address) == "loopback":
            return False  # the network reaches it: scope words do not allow it
        return bound_scope(address, listener) == item
    if item == "*":
        return bound_scope(address, listener) == "wildcard"
    ip = _ip(address)
    if "/" in item:
        net = ipaddress.ip_network(item, strict=False)
        return ip.version == net.version and ip in net
    return ip == _ip(item)


def sides(listener: Listener, dual: bool) -> list[Side]:
    """The (family, address) pairs a socket accepts on; `dual` for an IPv6 wildcard."""
    if listener.family == 4:
        return [(4, listener.address)]
    ip = _ip(listener.address)
    assert isinstance(ip, ipaddress.IPv6Address)
    if ip.ipv4_mapped is not None:
        return [(4, str(ip.ipv4_mapped))]
    if ip.is_unspecified and dual:
        return [(6, "::"), (4, "0.0.0.0")]
    return [(6, listener.address)]


def _family_words(value: Any) -> set[int]:
    words = {"4": 4, "ipv4": 4, "inet": 4, "6": 6, "ipv6": 6, "inet6": 6}
    return {words[str(v).lower()] for v in as_list(value)}


def _bind_one_way(rule: Mapping[str, Any], listener: Listener, dual: bool, allow: bool) -> bool:
    wildcard6 = listener.family == 6 and _ip(listener.address).is_unspecified
    if "dual_stack" in rule and bool(rule["dual_stack"]) != (wildcard6 and dual):
        return False
    fams = _family_words(rule["family"]) if "family" in rule else {4, 6}
    items = [str(a) for a in as_list(rule["address"])] if "address" in rule else None

    def side_ok(side: Side) -> bool:
        if side[0] not in fams:
            return False
        return items is None or any(address_item_ok(i, side, listener, allow) for i in items)

    got = [side_ok(s) for s in sides(listener, dual)]
    if "interface" in rule and (listener.iface is None or not any(
            text_ok(str(p), listener.iface) for p in as_list(rule["interface"]))):
        return False  # only a socket known to be bound to one of them: not shown is none
    return all(got) if allow else any(got)


def bind_ok(rule: Mapping[str, Any], listener: Listener, allow: bool) -> Tri:
    """Address, family, dual_stack and interface: an allow must cover every side, others
    need one.

    An IPv6 wildcard whose tool did not show IPV6_V6ONLY is weighed both ways: a rule it
    meets (or fails) either way decides; one it meets only one way is unknown.
    """
    wildcard6 = listener.family == 6 and _ip(listener.address).is_unspecified
    if wildcard6 and listener.dual_stack is None:
        one = _bind_one_way(rule, listener, False, allow)
        two = _bind_one_way(rule, listener, True, allow)
        return one if one == two else None
    return _bind_one_way(rule, listener, bool(listener.dual_stack), allow)


def holders(listener: Listener, allow: bool) -> list[str] | None:
    """The process names holding the socket, or None when the owner was not seen; for an
    allow, pid 1 (the activating init system) is left out when another holds it too."""
    if listener.process is None:
        return None
    held = [(listener.process, str(listener.pid)),
            *((o.rpartition("/")[0] or o, o.rpartition("/")[2]) for o in listener.other_processes)]
    if allow and len(held) > 1 and any(pid != "1" for _, pid in held):
        held = [(name, pid) for name, pid in held if pid != "1"]
    return [name for name, _ in held]


def user_ok(pattern: Any, listener: Listener) -> Tri:
    """`user`: a name (exact, glob, ~regex) or uid; root and uid 0 are the same."""
    name, uid = listener.user, listener.uid
    if name is None and uid == 0:
        name = "root"
    if uid is None and name == "root":
        uid = 0
    text = str(pattern)
    if text.isdigit():
        if uid is not None:
            return uid == int(text)
        return None
    if name is not None:
        return text_ok(text, name)
    if uid is not None and text == "root":
        return False  # root is uid 0
    return None


def owner_ok(rule: Mapping[str, Any], listener: Listener, allow: bool) -> Tri:
    """process and user: an allow's process must fit every holder, a forbid's any."""
    results: list[Tri] = []
    if "process" in rule:
        names = holders(listener, allow)
        if names is None:
            results.append(None)
        else:
            pats = [str(p) for p in as_list(rule["process"])]
            fits = [any(text_ok(p, n) for p in pats) for n in names]
            results.append(all(fits) if allow else any(fits))
    if "user" in rule:
        results.append(any3(user_ok(u, listener) for u in as_list(rule["user"])))
    return all3(results)


CONTAINER_KEYS = ("container", "image", "pod", "k8s_namespace")


def container_field(listener: Listener, key: str) -> str | None:
    """The listener's container's name, image, pod or Kubernetes namespace."""
    c = listener.container
    assert c is not None
    return {"container": c.name, "image": c.image, "pod": c.pod,
            "k8s_namespace": c.k8s_namespace}[key]


def place_ok(rule: Mapping[str, Any], listener: Listener) -> Tri:
    """namespace, container, image, pod, k8s_namespace and exposure."""
    results: list[Tri] = []
    if "namespace" in rule:
        here = "host" if listener.netns is None else "container"
        results.append(here in as_list(rule["namespace"]))
    for key in CONTAINER_KEYS:
        if key not in rule:
            continue
        if listener.container is None:
            results.append(False)  # a host process outside any container never matches
            continue
        value = container_field(listener, key)
        if value is None and key in ("pod", "k8s_namespace") and listener.container.name:
            results.append(False)  # a container the host named, and in no pod
        elif value is None:
            results.append(None)
        else:
            results.append(any(text_ok(str(p), value) for p in as_list(rule[key])))
    if "exposure" in rule:
        results.append(listener.exposure in as_list(rule["exposure"]))
    return all3(results)


def full_match(rule: Mapping[str, Any], listener: Listener, allow: bool) -> Tri:
    """Every condition the rule states."""
    if not port_ok(rule, listener.proto, listener.port):
        return False
    return all3([bind_ok(rule, listener, allow), owner_ok(rule, listener, allow),
                 place_ok(rule, listener)])
