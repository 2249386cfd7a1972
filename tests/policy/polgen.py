"""Random policies, waivers, inventories and listeners for the judge's differential hunt.

Everything is drawn from small pools that overlap on purpose (the ports rules name are
the ports listeners hold), so that most seeds exercise matches, near misses, layering and
waivers instead of a sea of strays. Policies and waivers stay within the documented keys
and avoid what docs/policies.md calls an error, so every generated file must load.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fleetcheck.model import CONTAINER_ONLY, HOST, PUBLISHED, Container, Listener
from tests.policy.oracle_match import as_list, service_pairs

HOSTS = ("h1", "h2", "h3", "h4")
GROUPS = ("web", "db", "edge")
PORTS = (22, 53, 68, 80, 443, 1923, 3000, 5432, 8000, 8080, 8443, 9100, 40022)
SERVICES = ("ssh", "domain", "http", "https", "spice", "postgresql", "node-exporter",
            "ntp", "www", "postgres", "mdns")
PROCS = ("sshd", "nginx", "postgres", "dropbear", "gunicorn", "php-fpm8.2", "node")
PROC_PATTERNS = ("sshd", "nginx", "postgres", "php-fpm*", "~(nginx|sshd)", "*", "gunicorn",
                 "~post.*", "n?de")
USERS = (("root", 0), ("www-data", 33), ("postgres", 101), (None, None), (None, 1000),
         ("alice", None), (None, 0))
ADDR4 = ("0.0.0.0", "127.0.0.1", "127.0.0.53", "10.0.0.5", "172.16.3.4", "192.168.1.9",
         "169.254.7.7", "8.8.8.8", "93.184.216.34", "224.0.0.251")
ADDR6 = ("::", "::1", "fd00::5", "fe80::1", "2a00:1450:4001::1", "ff02::fb",
         "::ffff:127.0.0.1", "::ffff:10.0.0.5")
ADDR_ITEMS = ("loopback", "link-local", "private", "public", "wildcard", "multicast",
              "10.0.0.5", "::1", "[::1]", "10.0.0.0/8", "127.0.0.0/8", "0.0.0.0/0", "::/0",
              "fd00::/8", "192.168.0.0/16", "127.0.0.1", "0.0.0.0", "::", "10.0.0.1/8")
SEVS = ("critical", "high", "medium", "low", "info")
KINDS = ("forbidden", "stray", "missing", "wrong_bind", "wrong_process", "undetermined",
         "overdue_review")
PERIODS = ("6 months", "90 days", "2 weeks", "1 year", "1 month")
TODAY = dt.date(2030, 6, 1)
IMAGES = ("nginx:1.25", "docker.io/library/redis:7", "registry.k8s.io/coredns:1.11")


@dataclass(frozen=True)
class Case:
    """One generated run: inventory, policy files, waiver files, listeners, date, threshold."""

    groups: dict[str, set[str]]
    policies: list[tuple[str, dict[str, Any]]]  # (file stem, data), in load order
    waivers: list[tuple[str, list[dict[str, Any]]]]  # (file stem, waivers), in load order
    listeners: dict[str, list[Listener]]
    today: dt.date
    fail_on: str


def _pick(rng: random.Random, pool: tuple[Any, ...], most: int = 2) -> Any:
    """One item, or (sometimes) a list of a few."""
    if rng.random() < 0.7:
        return rng.choice(pool)
    return rng.sample(pool, rng.randint(1, most))


def _family(addr: str) -> int:
    return 6 if ":" in addr else 4


def gen_listener(rng: random.Random) -> Listener:
    """A listener from the pools, sometimes in a container, shared, or reached via localnet."""
    proto = rng.choice(("tcp", "tcp", "udp"))
    addr = rng.choice(ADDR4 + ADDR6)
    name, uid = rng.choice(USERS)
    proc = None if rng.random() < 0.15 else rng.choice(PROCS)
    others = tuple(f"{rng.choice(PROCS)}/{rng.randint(2, 999)}" for _ in range(
        rng.choice((0, 0, 0, 1)))) if proc else ()
    dual: bool | None = False
    if addr == "::":
        dual = rng.choice((True, False, None))
    netns, container, exposure = None, None, HOST
    roll = rng.random()
    if roll < 0.25:
        netns = 4026532000 + rng.randint(0, 9)
        container = Container(
            id="c" * 12, name=rng.choice(("web", "redis", None)), image=rng.choice(
                (*IMAGES, None)), runtime="docker", pod=rng.choice((None, "web-7d4b9-xk2lp")),
            k8s_namespace=rng.choice((None, "monitoring", "default")))
        exposure = rng.choice((PUBLISHED, CONTAINER_ONLY, CONTAINER_ONLY))
    elif roll < 0.3:  # a hostNetwork pod: the host's namespace, a container named
        container = Container(id="d" * 12, name="coredns", image=IMAGES[2], runtime="containerd",
                              pod="coredns-5d78c", k8s_namespace="kube-system")
    localnet: tuple[str, ...] = ()
    if addr.startswith("127.") and rng.random() < 0.3:
        localnet = ("all",)
    port = rng.choice(PORTS) if rng.random() < 0.85 else rng.randint(1, 65535)
    pid = rng.randint(100, 9999) if proc else None
    truncated = rng.random() < 0.03
    if pid is not None and pid % 10 == 0:  # socket activation: pid 1 holds it too
        # (decided by a draw already made, so every seed's other draws stay as they were)
        others = (*others, f"{'systemd' if pid % 20 else 'launchd'}/1")
    # Its device, drawn apart (from what was drawn) so that every seed's other draws stay
    # as they were: bound to lo, to a bridge, or to none; shown (ss) or not.
    sub = random.Random(f"device {proto} {addr} {port} {pid} {netns}")  # noqa: S311
    roll = sub.random()
    iface = "lo" if roll < 0.1 else "virbr0" if roll < 0.2 else "virbr1" if roll < 0.25 \
        else None
    shown = sub.random() < 0.6
    if iface is not None:
        localnet = ()  # route_localnet reaches a device-bound socket only through it: kept out
    return Listener(proto=proto, family=_family(addr), address=addr, port=port,
                    process=proc, pid=pid, user=name,
                    uid=uid, dual_stack=dual, other_processes=others, netns=netns,
                    container=container, exposure=exposure, route_localnet=localnet,
                    truncated=truncated, iface=iface, device_shown=shown)


def gen_rule(rng: random.Random, action: str, rid: str) -> dict[str, Any]:
    """A rule with a few conditions, never one the docs call an error."""
    while True:
        rule: dict[str, Any] = {"id": rid}
        if rng.random() < 0.5:
            rule["proto"] = rng.choice(("tcp", "udp", "any", ["tcp", "udp"]))
        if action == "require":  # one protocol and one port: the finding names them
            rule["proto"] = rng.choice(("tcp", "udp"))
            rule["port"] = rng.choice(PORTS)
        else:
            roll = rng.random()
            if roll < 0.45:
                rule["port"] = rng.choice((*PORTS, "8000-8999", "1024-65535", "80,443",
                                           [22, "8000-8100"]))
            elif roll < 0.65:
                rule["service"] = _pick(rng, SERVICES)
            elif roll < 0.72:
                rule["port"] = rng.choice(PORTS)
                rule["service"] = rng.choice(SERVICES)
        extras: dict[str, Callable[[], Any]] = {
            "address": lambda: _pick(rng, ADDR_ITEMS),
            "family": lambda: rng.choice((4, 6, "ipv4", "inet6", [4, 6])),
            "dual_stack": lambda: rng.choice((True, False)),
            "process": lambda: _pick(rng, PROC_PATTERNS),
            "user": lambda: _pick(rng, ("root", 0, 33, "www-data", "post*", 1000)),
            "namespace": lambda: _pick(rng, ("host", "container")),
            "container": lambda: _pick(rng, ("web", "redis", "core*")),
            "image": lambda: _pick(rng, ("nginx:*", "*/redis:*", "~.*coredns.*")),
            "pod": lambda: rng.choice(("web-*", "coredns-*")),
            "k8s_namespace": lambda: rng.choice(("monitoring", "kube-*")),
            "exposure": lambda: _pick(rng, (HOST, PUBLISHED, CONTAINER_ONLY)),
        }
        for key, make in extras.items():
            if rng.random() < (0.3 if key in ("address", "process") else 0.07):
                rule[key] = make()
        # interface, drawn apart (from the rule so far) so that every seed's draws stay
        sub = random.Random(f"interface {rid} {action} {sorted(map(str, rule.items()))}")  # noqa: S311
        if sub.random() < 0.12:
            rule["interface"] = _pick(sub, ("lo", "virbr0", "virbr*", "~virbr[01]", "eth0"))
        if rng.random() < 0.4:
            rule["severity"] = rng.choice(SEVS)
        if action != "allow" and not set(rule) - {"id", "severity", "proto"}:
            continue  # forbid and require rules need a condition (`proto: any` is none)
        if _never_matches(rule):
            continue
        return rule


def _never_matches(rule: dict[str, Any]) -> bool:
    """What the docs call a rule that can never match (an error): avoid it."""
    proto = {str(p) for p in as_list(rule.get("proto", "any"))}
    if "service" in rule and "port" not in rule and "any" not in proto \
            and not {p for p, _ in service_pairs(rule)} & proto:
        return True
    fams = {str(f) for f in as_list(rule.get("family", []))}
    addrs = [str(a) for a in as_list(rule.get("address", []))]
    v6 = [":" in a for a in addrs if a not in ("loopback", "link-local", "private", "public",
                                              "wildcard", "multicast", "*")]
    if fams and v6:
        only4 = fams <= {"4", "ipv4", "inet"}
        only6 = fams <= {"6", "ipv6", "inet6"}
        if (only4 and any(v6)) or (only6 and not all(v6)):
            return True
    if "dual_stack" in rule:
        if addrs and not all(a in ("wildcard", "::", "*", "::/0", "0.0.0.0/0") for a in addrs):
            return True
        if fams and len(fams) < 2 and not ({"4", "6"} <= fams):
            return True
    scopes = ("link-local", "private", "public", "wildcard", "multicast", "*")
    if "interface" in rule and set(as_list(rule["interface"])) <= {"lo", "lo0"} and addrs \
            and all(a in scopes for a in addrs):
        return True  # bound to lo is loopback, whatever its address
    spaces = set(as_list(rule.get("namespace", ["host", "container"])))
    reach = set(as_list(rule.get("exposure", [HOST, PUBLISHED, CONTAINER_ONLY])))
    return (spaces == {"container"} and reach == {HOST}) or (
        spaces == {"host"} and HOST not in reach)


def gen_policy(rng: random.Random, stem: str) -> dict[str, Any]:
    """A policy: a host selector, maybe a default and severities, a few rules of each kind."""
    pol: dict[str, Any] = {}
    if rng.random() < 0.5:
        pol["name"] = f"p{stem}"
    roll = rng.random()
    if roll < 0.6:
        pol["hosts"] = rng.choice(("all", "*", "web", "db", "edge", "web:!db", "web:&db",
                                   "h*", "h1", "all:!edge", "db,edge", "~h[12]", "web:!h2"))
    elif roll < 0.75:
        pol["hosts"] = rng.sample(GROUPS, rng.randint(1, 2))
    if rng.random() < 0.7:
        pol["default"] = rng.choice(("deny", "deny", "allow"))
    for key in ("stray_severity", "undetermined_severity"):
        if rng.random() < 0.4:
            pol[key] = rng.choice(SEVS)
    if rng.random() < 0.3:
        pol["containers"] = rng.choice(("list", "judge"))
    reviewed = rng.random() < 0.2
    if reviewed:
        pol["review_every"] = rng.choice(PERIODS)
        if rng.random() < 0.5:
            pol["review_severity"] = rng.choice(SEVS)
    for action, most in (("allow", 4), ("forbid", 2), ("require", 1)):
        n = rng.randint(0, most)
        if n:
            pol[action] = [gen_rule(rng, action, f"{action[0]}{i}") for i in range(n)]
            if reviewed or rng.random() < 0.1:
                for rule in pol[action]:
                    _dates(rng, rule)
    return pol


def _dates(rng: random.Random, rule: dict[str, Any]) -> None:
    """approved_on / reviewed_on some time before the run (often right on a period's end)."""
    for key in ("approved_on", "reviewed_on"):
        if rng.random() < 0.5:
            back = rng.choice((rng.randint(0, 500), 14, 15, 90, 91, 365, 366))
            day = TODAY - dt.timedelta(days=back)
            rule[key] = (day if rng.random() < 0.5 else
                         day.replace(day=min(day.day, 28))).isoformat()


def gen_waiver(rng: random.Random, wid: str, today: dt.date, rules: list[str],
               ids: list[str]) -> dict[str, Any]:
    """A waiver with at least one narrowing condition, dated around `today`."""
    w: dict[str, Any] = {"id": wid, "hosts": rng.choice(("all", "web", "db", "h2", "edge",
                                                        ["web", "db"], "all:!web"))}
    narrowing: dict[str, Callable[[], Any]] = {
        "port": lambda: rng.choice((*PORTS, "8000-8999", "80,443")),
        "service": lambda: _pick(rng, SERVICES),
        "process": lambda: _pick(rng, PROC_PATTERNS),
        "rule": lambda: rng.choice((*rules, "*/f*", "*/*")) if rules else "*/*",
        "finding": lambda: rng.choice(ids) if ids else "FC-000000000000",
        "container": lambda: _pick(rng, ("web", "redis", "core*")),
        "image": lambda: rng.choice(("nginx:*", "*redis*")),
        "pod": lambda: "web-*",
        "k8s_namespace": lambda: rng.choice(("monitoring", "kube-system")),
    }
    while not set(w) & set(narrowing):
        for key, make in narrowing.items():
            if rng.random() < (0.35 if key in ("port", "rule", "process") else 0.08):
                w[key] = make()
    optional: dict[str, Callable[[], Any]] = {
        "proto": lambda: rng.choice(("tcp", "udp", "any")),
        "kind": lambda: _pick(rng, KINDS),
        "namespace": lambda: rng.choice(("host", "container")),
        "exposure": lambda: _pick(rng, (HOST, PUBLISHED, CONTAINER_ONLY))}
    for key, make in optional.items():
        if rng.random() < 0.2:
            w[key] = make()
    created = today - dt.timedelta(days=rng.randint(-1, 300))
    expires = max(created, today + dt.timedelta(days=rng.randint(-40, 60)))
    w.update(reason="r", owner="o", approved_by="a", created=created.isoformat(),
             expires=expires.isoformat())
    return w


def gen_case(seed: int, ids: list[str] | None = None) -> Case:
    """The whole case for one seed; `ids` are real finding ids waivers may name."""
    rng = random.Random(seed)  # noqa: S311 - a replayable draw, no secret
    groups: dict[str, set[str]] = {g: {h for h in HOSTS if rng.random() < 0.45} for g in GROUPS}
    policies = [(f"{i}{rng.choice('abc')}", gen_policy(rng, str(i)))
                for i in range(rng.randint(1, 3))]
    policies = [(stem, p) for stem, p in policies]
    today = TODAY
    listeners = {h: _distinct(rng, rng.randint(0, 6)) for h in HOSTS}
    rules = [f"{p.get('name', stem)}/{r['id']}" for stem, p in policies
             for a in ("allow", "forbid", "require") for r in p.get(a) or []]
    waivers: list[tuple[str, list[dict[str, Any]]]] = []
    n = 0
    for f in range(rng.randint(0, 2)):
        items = []
        for _ in range(rng.randint(1, 3)):
            items.append(gen_waiver(rng, f"W{n}", today, rules, ids or []))
            n += 1
        waivers.append((f"w{f}", items))
    return Case(groups, policies, waivers, listeners, today,
                rng.choice(("low", "low", "info", "medium", "high", "critical")))


def _distinct(rng: random.Random, n: int) -> list[Listener]:
    """`n` listeners, no two on the same proto, address, port and namespace."""
    out: dict[tuple[Any, ...], Listener] = {}
    for _ in range(n):
        li = gen_listener(rng)
        out.setdefault((li.proto, li.address, li.port, li.netns), li)
    return list(out.values())
