"""Listeners of other network namespaces: which are a container's, whose, and how reachable.

The probe's namespace step (`nsprobe`) printed the container cgroups it saw, the
namespaces of those processes with one representative each, each namespace's
listing, DNAT rules, docker-proxy command lines and the runtimes' own listings. Here
a namespace counts only when a process in it is a container of this host by its
cgroup path (`parsers.containers.cgroup_container`); each counted namespace's listing
goes through the same `combine` as the host's, so the same fallbacks and the same
coverage rules hold: a namespace listed only in part makes the host incomplete.
"""

from __future__ import annotations

from collections.abc import Sequence

from fleetcheck.addresses import address_scope, parse_ip
from fleetcheck.collect.combine import Incomplete, NoTool, combine
from fleetcheck.collect.sections import Section
from fleetcheck.frozen import frozen, replace
from fleetcheck.model import CONTAINER_ONLY, PUBLISHED, Container, Listener, Namespaces
from fleetcheck.numbers import is_number
from fleetcheck.parsers import containers, nat
from fleetcheck.parsers.common import ParseError, lines

UNPRIVILEGED = ("collected without root: network namespaces other than the host's "
                "(containers) could not be read, so their listeners are not known "
                "(use --become)")
# What the namespace step prints besides the host's own sections.
_PREFIXES = ("ns-", "nsowners.", "netns.", "nat.", "runtime.")
_NAMES = frozenset({"cgroups", "docker-proxy"})


@frozen
class NsResult:
    """The host's listeners with containers attributed, plus those of container namespaces."""

    listeners: list[Listener]
    notes: list[str]
    namespaces: Namespaces | None


def is_ns_section(name: str) -> bool:
    """True for a section the namespace step printed (kept apart from the host's tool)."""
    return name in _NAMES or name.startswith(_PREFIXES)


def _members(body: str) -> dict[int, int]:
    """pid -> the representative of its namespace, from 'PID REP' lines."""
    out = {}
    for line in lines(body):
        words = line.split()
        if len(words) == 2 and all(is_number(w) for w in words):
            out[int(words[0])] = int(words[1])
    return out


def _inodes(body: str) -> dict[int, int]:
    """representative pid -> namespace inode, from `ls -l /proc/PID/ns/net` lines."""
    out = {}
    for line in lines(body):
        words = line.split()
        if len(words) < 3 or words[-2] != "->" or not words[-1].startswith("net:["):
            continue
        path, target = words[-3].split("/"), words[-1][5:-1]
        if len(path) == 5 and is_number(path[2]) and is_number(target):
            out[int(path[2])] = int(target)
    return out


def _container(match: containers.CgroupMatch, known: dict[str, Container]) -> Container:
    """The container a cgroup path names, with what a runtime's listing says about it."""
    listed = containers.by_prefix(known, match.id) if match.id else None
    runtime = match.runtime or (listed.runtime if listed else None) or "cri"
    if listed is None:
        return Container(match.id, match.name, None, runtime)
    return replace(listed, runtime=runtime if match.runtime or not listed.runtime
                   else listed.runtime)


def _shared(found: list[Container]) -> Container | None:
    """What a namespace's containers have in common: one container, or one pod."""
    distinct = list(dict.fromkeys(found))
    named = [c for c in distinct if c.name is not None] or distinct
    if len(named) == 1:
        return named[0]
    pods = {(c.pod, c.k8s_namespace, c.runtime) for c in named}
    if len(pods) == 1 and named[0].pod is not None:
        first = named[0]
        return Container(None, None, None, first.runtime, first.pod, first.k8s_namespace)
    return None


def _forwards(bodies: dict[str, Section]) -> tuple[list[nat.Forward], bool]:
    """Every DNAT rule and proxy read, and whether any rule set could be read at all."""
    out: list[nat.Forward] = []
    read = False
    for name, parse in (("nat.iptables", nat.parse_iptables_save),
                        ("nat.ip6tables", nat.parse_iptables_save),
                        ("nat.nft", nat.parse_nft)):
        section = bodies.get(name)
        if section is not None and section.rc == 0:
            read = True
            out += parse(section.body)
    if "docker-proxy" in bodies:
        out += nat.parse_docker_proxy(bodies["docker-proxy"].body)
    return out, read


def _exposure(li: Listener, addresses: set[str], forwards: list[nat.Forward]
              ) -> tuple[str, int | None]:
    """(`published`, host port) when a forward reaches the listener, else container-only."""
    if address_scope(li.address) == "wildcard":
        # an [::] whose tool did not show its dual stack may take IPv4 too (None)
        families = {4, 6} if li.family == 6 and li.dual_stack is not False else {li.family}
        targets = [a for a in addresses
                   if (ip := parse_ip(a)) is not None and ip.version in families]
    else:
        targets = [str(parse_ip(li.address) or li.address)]
    ports = sorted(p for f in forwards if f.proto == li.proto for t in targets
                   if (p := f.host_port(t, li.port)) is not None)
    return (PUBLISHED, ports[0]) if ports else (CONTAINER_ONLY, None)


def attribute(sections: Sequence[Section], facts: dict[str, str], host: list[Listener],
              absent: Sequence[str]) -> NsResult:
    """The host's listeners (hostNetwork containers named) and every container namespace's.

    Incomplete when a container namespace was listed only in part; ParseError when its
    listing cannot be read (as for the host's own).
    """
    if "netns" in facts and facts["netns"].split()[:1] == ["unread"]:
        return NsResult(host, [UNPRIVILEGED], Namespaces(0, UNPRIVILEGED))
    bodies = {s.name: s for s in sections}
    if "cgroups" not in bodies:  # root, and every process shares the host's namespace
        return NsResult(host, [], Namespaces(0) if facts.get("uid") == "0" else None)
    known = containers.merge_listings(
        parse(bodies[f"runtime.{name}"].body) for name, parse in (
            ("docker", containers.parse_docker_ps), ("crictl", containers.parse_crictl_ps),
            ("podman", containers.parse_podman_ps)) if f"runtime.{name}" in bodies)
    by_pid = {pid: _container(m, known)
              for pid, m in containers.parse_cgroups(bodies["cgroups"].body).items()}
    listeners = [replace(li, container=by_pid[li.pid]) if li.pid in by_pid else li
                 for li in host]
    members = _members(bodies["netns.members"].body) if "netns.members" in bodies else {}
    inodes = _inodes(bodies["netns.inodes"].body) if "netns.inodes" in bodies else {}
    gone = set(facts.get("nsgone", "").split())
    forwards, rules_read = _forwards(bodies)
    notes: list[str] = []
    counted = 0
    reps = sorted({rep for pid, rep in members.items() if pid in by_pid})
    for rep in reps:
        if str(rep) in gone:
            notes.append(f"a container's network namespace (process {rep}) ended while the "
                         "probe ran: nothing listens there any more")
            continue
        inside = [by_pid[p] for p, r in members.items() if r == rep and p in by_pid]
        found = _namespace(rep, sections, bodies, absent)
        addresses = nat.parse_addresses(bodies[f"ns-{rep}.addrs"].body) \
            if f"ns-{rep}.addrs" in bodies else set()
        shared = _shared(inside)
        counted += 1
        for li in found:
            exposure, port = _exposure(li, addresses, forwards)
            if exposure == CONTAINER_ONLY and not rules_read:
                exposure = PUBLISHED  # unknown reach is never taken for container-only
            listeners.append(replace(li, netns=inodes.get(rep), exposure=exposure,
                                     published_port=port,
                                     container=by_pid.get(li.pid or -1, shared)))
    if counted and not rules_read:
        notes.append("the host's NAT rules could not be read (iptables-save, ip6tables-save "
                     "and nft failed or are missing): no container listener is taken to be "
                     "container-only, each is judged as published")
    return NsResult(listeners, notes, Namespaces(counted))


def _namespace(rep: int, sections: Sequence[Section], bodies: dict[str, Section],
               absent: Sequence[str]) -> list[Listener]:
    """One namespace's listeners through the host's `combine`: fallbacks and coverage."""
    prefix = f"ns-{rep}."
    own = [Section(s.name[len(prefix):], s.body, s.rc) for s in sections
           if s.name.startswith(prefix) and s.name != f"{prefix}addrs"]
    if any(s.name.startswith("proc-") for s in own):
        own += [Section(name[len("nsowners."):], s.body, s.rc) for name, s in bodies.items()
                if name.startswith("nsowners.")]
    where = f"network namespace of process {rep}"
    try:
        return combine(own, "linux", absent).listeners
    except NoTool as exc:
        raise Incomplete(f"{where}: {exc}") from None
    except Incomplete as exc:
        raise Incomplete(f"{where}: {exc}") from None
    except ParseError as exc:
        raise ParseError(f"{where}: {exc.message}", exc.line_no, exc.line) from None

