"""Static checks on rules: conditions that can never hold, and allows a forbid overrides."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence

from fleetcheck.addresses import LOOPBACK_DEVICES, address_scope
from fleetcheck.policy import Action, Rule
from fleetcheck.policy.match import (
    AddressSpec,
    Match,
    TextSpec,
    merge_ranges,
)

Piece = tuple[str, int, int]  # proto, first port, last port


def never_matches(rule: Rule) -> str | None:
    """Why `rule` can match no listener at all, or None when some listener could match it."""
    m = rule.match
    if m.protos is not None and m.service_ports is not None and m.ports is None \
            and not any(p in m.protos for p, _ in m.service_ports):
        has = "/".join(sorted({p for p, _ in m.service_ports}))
        return (f"service {' or '.join(m.services or ())} is {has} only, but the rule says "
                f"proto {'/'.join(sorted(m.protos))}: the rule can never match")
    if m.families is not None and m.addresses is not None:
        versions = {a.version for a in m.addresses}
        if None not in versions and not versions & m.families:
            return (f"address {' or '.join(a.text for a in m.addresses)} is IPv"
                    f"{'/'.join(str(v) for v in sorted(v for v in versions if v))}, but family "
                    f"says {'/'.join(str(f) for f in sorted(m.families))}: the rule can never "
                    "match")
    if m.namespaces is not None and m.exposures is not None:
        # the host's own namespace is exposure host; every other namespace is not
        possible = {("host", "host")} | {("container", e) for e in ("published",
                                                                      "container-only")}
        if not any((n, e) in possible for n in m.namespaces for e in m.exposures):
            return (f"namespace {' or '.join(sorted(m.namespaces))} never has exposure "
                    f"{' or '.join(sorted(m.exposures))}: the rule can never match")
    if m.interfaces is not None and m.addresses is not None \
            and all(a.scope not in (None, "loopback") for a in m.addresses) \
            and (names := _exact(m.interfaces)) is not None and names <= LOOPBACK_DEVICES:
        return (f"a socket bound to {' or '.join(sorted(names))} (the loopback device) is "
                f"loopback whatever its address, never "
                f"{' or '.join(a.text for a in m.addresses)}: the rule can never match")
    if m.dual_stack:
        if rule.action is Action.ALLOW and m.families is not None and m.families != {4, 6}:
            return (f"a dual-stack socket takes IPv4 and IPv6, so an allow rule limited to "
                    f"family {'/'.join(str(f) for f in sorted(m.families))} never covers it: "
                    "the rule can never match")
        if m.addresses is not None and not any(a.matches("::") or a.matches("0.0.0.0")
                                               for a in m.addresses):
            return (f"dual-stack sockets are bound to the wildcard [::], which address "
                    f"{' or '.join(a.text for a in m.addresses)} excludes: the rule can never "
                    "match")
    return None


def port_pieces(m: Match) -> list[Piece] | None:
    """The (proto, lo, hi) ranges a rule names; None when it names no port (all ports)."""
    if not m.claims_port:
        return None
    protos = sorted(m.protos or ("tcp", "udp"))
    out = [(p, lo, hi) for p in protos for lo, hi in m.ports or ()]
    out += sorted((p, n, n) for p, n in m.service_ports or () if p in protos)
    return out


def _normal(pieces: list[Piece]) -> list[Piece]:
    """Pieces with each proto's ranges merged."""
    return [(p, lo, hi) for p in sorted({p for p, _, _ in pieces})
            for lo, hi in merge_ranges((lo, hi) for q, lo, hi in pieces if q == p)]


def _intersect(a: list[Piece], b: list[Piece]) -> list[Piece]:
    out = []
    for pa, la, ha in a:
        for pb, lb, hb in b:
            lo, hi = max(la, lb), min(ha, hb)
            if pa == pb and lo <= hi:
                out.append((pa, lo, hi))
    return _normal(out)


def describe_pieces(pieces: list[Piece]) -> str:
    """'TCP 80, 8000-8100; UDP 53'."""
    by_proto: dict[str, list[str]] = {}
    for p, lo, hi in pieces:
        by_proto.setdefault(p, []).append(str(lo) if lo == hi else f"{lo}-{hi}")
    return "; ".join(f"{p.upper()} {', '.join(ports)}" for p, ports in sorted(by_proto.items()))


def _address_region(spec: AddressSpec) -> tuple[str, str | None] | None:
    """(scope, literal) for specs whose extent is known; None for networks."""
    if spec.scope is not None:
        return spec.scope, None
    if spec.literal is not None:
        return address_scope(spec.literal) or "name", spec.literal
    return None


def _addresses_disjoint(a: tuple[AddressSpec, ...] | None,
                        b: tuple[AddressSpec, ...] | None) -> bool:
    if a is None or b is None:
        return False
    for x in a:
        for y in b:
            rx, ry = _address_region(x), _address_region(y)
            if rx is None or ry is None or (rx[0] == ry[0] and (
                    rx[1] is None or ry[1] is None or rx[1] == ry[1])):
                return False
    return True


def _exact(specs: tuple[TextSpec, ...] | None) -> set[str] | None:
    if specs is None or any(s.text.startswith("~") or any(c in s.text for c in "*?[")
                            for s in specs):
        return None
    return {s.text for s in specs}


def _disjoint(a: Match, b: Match) -> bool:
    """True when no listener can satisfy both `a` (as an allow) and `b` (as a forbid)."""
    if a.families is not None and b.families is not None and not a.families & b.families:
        return True
    if _addresses_disjoint(a.addresses, b.addresses):
        return True
    for words_a, words_b in ((a.namespaces, b.namespaces), (a.exposures, b.exposures)):
        if words_a is not None and words_b is not None and not words_a & words_b:
            return True
    for x, y in ((a.interfaces, b.interfaces), (a.processes, b.processes),
                 (a.users, b.users), (a.containers, b.containers),
                 (a.images, b.images), (a.pods, b.pods), (a.k8s_namespaces, b.k8s_namespaces)):
        ex, ey = _exact(x), _exact(y)
        if ex is not None and ey is not None and not ex & ey:
            return True
    return False


def overlap(allow: Rule, forbid: Rule) -> str | None:
    """A sentence when some listener both `allow` would allow and `forbid` forbids.

    Only rules that both name ports are compared: an allow such as 'anything on
    loopback' meeting a port forbid is the intended layering, not a conflict.
    """
    a_pieces, f_pieces = port_pieces(allow.match), port_pieces(forbid.match)
    if a_pieces is None or f_pieces is None:
        return None
    common = _intersect(a_pieces, f_pieces)
    if not common or _disjoint(allow.match, forbid.match):
        return None
    where = f" ({forbid.where.path}:{forbid.where.line})" if forbid.where else ""
    f = forbid.match
    unconditional = f.addresses is None and f.families is None and f.dual_stack is None \
        and not f.needs_owner and f.where_result_free
    if unconditional and common == _normal(a_pieces):
        return (f"allow {allow.ref} never takes effect: forbid {forbid.ref}{where} forbids "
                f"everything it allows ({describe_pieces(common)})")
    return (f"allow {allow.ref} and forbid {forbid.ref}{where} overlap on "
            f"{describe_pieces(common)}: a forbid beats an allow, so listeners there that "
            "both match are forbidden")


def could_allow(allow: Rule, req: Rule) -> bool:
    """False when `allow` provably allows nothing that satisfies the require rule `req`."""
    a, r = port_pieces(allow.match), port_pieces(req.match)
    if a is not None and r is not None and not _intersect(a, r):
        return False
    pa, pr = allow.match.protos, req.match.protos
    if pa is not None and pr is not None and not pa & pr:
        return False
    return not _disjoint(allow.match, req.match)


_BUCKET_BITS = 8  # a range is listed in every bucket of 256 ports it touches


class PortIndex:
    """Port ranges by position: which of them share a port with a query, without trying all.

    Comparing every rule with every other made `validate` quadratic in rules (2,500 rules:
    20 s). An entry shares a port with a query piece exactly when it starts inside the
    piece (found by bisection) or starts before it and covers its first port (found in
    that port's bucket, where only ranges are listed).
    """

    def __init__(self, pieces_at: Sequence[list[Piece] | None]) -> None:
        starts: dict[str, list[tuple[int, int]]] = {}
        self._spans: dict[tuple[str, int], list[tuple[int, int, int]]] = {}
        for pos, pieces in enumerate(pieces_at):
            for proto, lo, hi in pieces or ():
                starts.setdefault(proto, []).append((lo, pos))
                if hi > lo:
                    for bucket in range(lo >> _BUCKET_BITS, (hi >> _BUCKET_BITS) + 1):
                        self._spans.setdefault((proto, bucket), []).append((lo, hi, pos))
        self._starts = {p: sorted(s) for p, s in starts.items()}
        self._los = {p: [lo for lo, _ in s] for p, s in self._starts.items()}

    def sharing(self, pieces: list[Piece]) -> set[int]:
        """Positions of the entries sharing some (proto, port) with `pieces`."""
        found: set[int] = set()
        for proto, lo, hi in pieces:
            los = self._los.get(proto, [])
            first, last = bisect_left(los, lo), bisect_right(los, hi)
            found.update(pos for _, pos in self._starts.get(proto, [])[first:last])
            for start, end, pos in self._spans.get((proto, lo >> _BUCKET_BITS), ()):
                if start < lo <= end:
                    found.add(pos)
        return found
