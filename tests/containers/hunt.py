"""A seeded differential hunt of the container view: random hosts made real, their truth kept.

`generate(seed)` draws a host's containers: runtimes' cgroup layouts (docker's systemd and
cgroupfs drivers, containerd/CRI-O pods with either kubelet driver, hostNetwork pods,
podman rootful and rootless, systemd-nspawn, LXC, nerdctl), containers sharing a pod's
namespace, namespaces where nothing listens, listeners on the wildcard, loopback or the
container's address, and host ports published by real DNAT rules (iptables, nft) or a
docker-proxy stand-in, plus decoy rules that reach no listener. `build` makes it on a lab
host (tests/lab/containers.py), `expected` says what every listener must carry, and
`compare` lists each disagreement with a scan's run JSON. The runtimes' listings are
emulated (written in each tool's format to files the lab host's `docker`, `crictl` and
`podman` print), and a container a runtime does not list keeps only what its cgroup says.
"""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.lab.cgroups import make_cgroup, move
from tests.lab.containers import ContainerHost, LabContainer
from tests.lab.netns import Sock, SocketHolders

# (layout, runtime the cgroup names, which listing names it, named by cgroup only)
LAYOUTS = ("docker", "docker-cgroupfs", "k8s-containerd", "k8s-cgroupfs", "k8s-crio",
           "podman", "podman-rootless", "podman-parent", "nspawn", "nspawn-machine",
           "lxc-payload", "lxc", "nerdctl")
_RUNTIME = {"docker": "docker", "docker-cgroupfs": "docker", "k8s-containerd": "containerd",
            "k8s-cgroupfs": "cri", "k8s-crio": "cri-o", "podman": "podman",
            "podman-rootless": "podman", "podman-parent": "podman", "nspawn": "systemd-nspawn",
            "nspawn-machine": "systemd-nspawn", "lxc-payload": "lxc", "lxc": "lxc",
            "nerdctl": "containerd"}
_LISTING = {"docker": "docker", "docker-cgroupfs": "docker", "k8s-containerd": "crictl",
            "k8s-cgroupfs": "crictl", "k8s-crio": "crictl", "podman": "podman",
            "podman-rootless": "podman", "podman-parent": "podman"}
_IMAGES = ("nginx:1.25", "docker.io/library/redis:7", "quay.io/prometheus/node-exporter:v1.8.2",
           "registry.example/debug-tools:2", "ghcr.io/acme/api@sha256:" + "ab" * 32)


@dataclass
class Spec:
    """One container of a generated host: where it lives and what it holds."""

    key: str
    layout: str
    ident: str
    name: str
    image: str | None
    pod: str | None
    k8s_ns: str | None
    pod_uid: str | None
    listed: bool  # its runtime's listing names it
    own_netns: bool  # False: hostNetwork / --network host
    joins: str | None  # the key of the container whose namespace it shares (a pod's)
    socks: list[Sock]
    # (proto, host port, its port, iptables | nft | proxy)
    publish: list[tuple[str, int, int, str]] = field(default_factory=list)
    # its only process is killed as the probe enters its namespace with it (nsenter): it
    # ends while the probe runs (the namespace with it, unless a pod's other container
    # still runs there)
    doomed: bool = False

    def cgroup(self) -> str:
        """Where its runtime puts its cgroup (relative to the host's cgroup root)."""
        i, uid = self.ident, (self.pod_uid or "").replace("-", "_")
        return {
            "docker": f"system.slice/docker-{i}.scope",
            "docker-cgroupfs": f"docker/{i}",
            "k8s-containerd": f"kubepods.slice/kubepods-burstable.slice/"
                              f"kubepods-burstable-pod{uid}.slice/cri-containerd-{i}.scope",
            "k8s-cgroupfs": f"kubepods/besteffort/pod{self.pod_uid}/{i}",
            "k8s-crio": f"kubepods.slice/kubepods-pod{uid}.slice/crio-{i}.scope",
            "podman": f"machine.slice/libpod-{i}.scope",
            "podman-rootless": f"user.slice/user-1000.slice/user@1000.service/user.slice/"
                               f"libpod-{i}.scope",
            "podman-parent": f"libpod_parent/libpod-{i}",
            "nspawn": f"machine.slice/systemd-nspawn@{self.name}.service",
            "nspawn-machine": f"machine.slice/machine-{self.name}.scope",
            "lxc-payload": f"lxc.payload.{self.name}",
            "lxc": f"lxc/{self.name}",
            "nerdctl": f"system.slice/nerdctl-{i}.scope",
        }[self.layout]

    def truth(self) -> dict[str, Any]:
        """The `container` object a listener of its own must carry."""
        by_name = self.layout.startswith(("nspawn", "lxc"))
        listed = self.listed and self.layout in _LISTING
        return {"id": None if by_name else self.ident,
                "name": self.name if by_name or listed else None,
                "image": self.image if listed else None,
                "runtime": _RUNTIME[self.layout],
                "pod": self.pod if listed else None,
                "k8s_namespace": self.k8s_ns if listed else None}


def generate(seed: int) -> list[Spec]:
    """A random host's containers for `seed` (the same seed, the same host)."""
    rnd = random.Random(seed)  # noqa: S311 - a replayable draw, no secret
    ports = iter(rnd.sample(range(2000, 9000), 60))
    host_ports = iter(rnd.sample(range(20000, 30000), 60))
    specs: list[Spec] = []
    for n in range(rnd.randint(1, 5)):
        layout = rnd.choice(LAYOUTS)
        k8s = layout.startswith("k8s")
        ident = f"{seed % 256:02x}{n:02x}" + rnd.randbytes(30).hex()
        pod_uid = f"{rnd.randbytes(4).hex()}-1111-4222-8333-{rnd.randbytes(6).hex()}"
        name = f"c{n}x{seed % 1000}"
        joins = None
        if k8s and specs and rnd.random() < 0.4:  # a second container of an earlier pod
            first = rnd.choice(specs)
            if first.layout.startswith("k8s") and first.joins is None and first.own_netns:
                joins, pod_uid = first.key, first.pod_uid or pod_uid
                layout = first.layout
        own = not (layout in ("docker", "k8s-containerd", "k8s-cgroupfs") and joins is None
                   and rnd.random() < 0.2)
        socks: list[Sock] = []
        for _ in range(rnd.choice((0, 1, 1, 2, 3))):
            where = rnd.choice(("0.0.0.0", "0.0.0.0", "127.0.0.1", "self", "::", "::1"))
            socks.append(Sock(rnd.choice(("tcp", "tcp", "udp")), where, next(ports),
                              process=f"p{n}{rnd.choice('ab')}",
                              v6only=rnd.random() < 0.5))
        if not socks:  # a process in the namespace, listening on nothing
            socks.append(Sock("tcp", "0.0.0.0", next(ports), process=f"idle{n}", listen=False))
        doomed = own and joins is None and rnd.random() < 0.15
        if doomed:  # one process holds them all
            socks = [Sock(s.proto, s.address, s.port, process=f"d{n}", v6only=s.v6only,
                          listen=s.listen) for s in socks]
        pod = None
        if joins is not None:
            pod = next(s.pod for s in specs if s.key == joins)
        elif k8s:
            pod = f"w{n}-7d4b9c8f6-xk2lp" if rnd.random() < 0.5 else f"w{n}-0"
        spec = Spec(f"c{n}", layout, ident, name, rnd.choice(_IMAGES), pod,
                    "team" if k8s else None, pod_uid if k8s else None,
                    rnd.random() < 0.8, own, joins, socks, doomed=doomed)
        if own:
            for s in socks:
                if s.listen and rnd.random() < 0.5:
                    spec.publish.append((s.proto, next(host_ports), s.port,
                                         rnd.choice(("iptables", "nft", "proxy"))))
            if rnd.random() < 0.3:  # a decoy: a port nothing listens on
                spec.publish.append(("tcp", next(host_ports), next(ports), "iptables"))
        specs.append(spec)
    return specs


@dataclass
class Built:
    """A generated host made real: each spec's container."""

    made: dict[str, LabContainer]


def build(host: ContainerHost, specs: list[Spec]) -> Built:
    """Make `specs` on `host`: namespaces, cgroups, sockets, DNAT rules, proxies."""
    made: dict[str, LabContainer] = {}
    for spec in specs:
        if spec.joins is not None:
            base = made[spec.joins]
            assert base.ns is not None
            socks = [_bound(s, base.address) for s in spec.socks]
            holders = SocketHolders(base.ns)
            where = make_cgroup(spec.cgroup(), host.host.cgroup)
            container = LabContainer(spec.ident, base.ns, base.address, where, holders)
            holders.hold(socks)
            for pid in container.pids:
                move(pid, where)
            host.containers.append(container)
        else:
            container = host.start(spec.cgroup(), [], ident=spec.ident,
                                   own_netns=spec.own_netns)
            container.holders.hold([_bound(s, container.address) for s in spec.socks])
            for pid in container.pids:
                move(pid, container.cgroup)
        made[spec.key] = container
        for proto, host_port, port, tool in spec.publish:
            if tool == "proxy":
                host.proxy(proto, host_port, container, port)
            else:
                host.publish(proto, host_port, container, port, tool=tool)
    return Built(made)


def _bound(sock: Sock, address: str | None) -> Sock:
    if sock.address != "self":
        return sock
    return Sock(sock.proto, address or "0.0.0.0", sock.port, process=sock.process,
                listen=sock.listen)


def listings(specs: list[Spec]) -> dict[str, str]:
    """What `docker ps`, `crictl ps -o json` and `podman ps --format json` print."""
    docker, cri, podman = [], [], []
    for s in specs:
        if not s.listed or s.layout not in _LISTING:
            continue
        if _LISTING[s.layout] == "docker":
            docker.append(json.dumps([s.ident, s.name, s.image or "", "", "", ""]))
        elif _LISTING[s.layout] == "crictl":
            cri.append({"id": s.ident, "podSandboxId": secrets.token_hex(32),
                        "metadata": {"name": s.name, "attempt": 0}, "image": {"image": s.image},
                        "imageRef": "sha256:" + "b8" * 32, "state": "CONTAINER_RUNNING",
                        "createdAt": "1764848400000000000",
                        "labels": {"io.kubernetes.container.name": s.name,
                                   "io.kubernetes.pod.name": s.pod,
                                   "io.kubernetes.pod.namespace": s.k8s_ns,
                                   "io.kubernetes.pod.uid": s.pod_uid}, "annotations": {}})
        else:
            podman.append({"Id": s.ident, "Names": [s.name], "Image": s.image})
    return {"docker": "\n".join(docker), "crictl": json.dumps({"containers": cri}),
            "podman": json.dumps(podman)}


def write_listings(where: Path, specs: list[Spec]) -> None:
    """Write the listings where the lab host's emulated runtimes read them."""
    for tool, text in listings(specs).items():
        (where / f"{tool}.out").write_text(text + "\n")


def write_doomed(where: Path, specs: list[Spec], built: Built) -> None:
    """Write the pids the lab host's `nsenter` kills before it enters their namespace."""
    pids = [str(pid) for s in specs if s.doomed for pid in built.made[s.key].pids]
    (where / "doomed").write_text("".join(f"{p}\n" for p in pids))


def ended(specs: list[Spec], built: Built) -> frozenset[str]:
    """The doomed containers whose process ended (the probe entered their namespace with it)."""
    out = set()
    for s in specs:
        if s.doomed and all(_dead(pid) for pid in built.made[s.key].pids):
            out.add(s.key)
    return frozenset(out)


def _dead(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def nsenter_shim(where: Path, real: str) -> str:
    """An nsenter that first kills a doomed target (as if it ended just then)."""
    return (f'p=; t=; for a; do [ "$p" = -t ] && t=$a; p=$a; done\n'
            f'if [ -n "$t" ] && grep -qx "$t" {where}/doomed; then kill -9 "$t"; '
            f'n=0; while [ $n -lt 40 ] && [ -r /proc/$t/net/tcp ] && '
            f'cat /proc/$t/net/tcp >/dev/null 2>&1; do n=$((n+1)); sleep 0.05; done; fi\n'
            f'exec {real} "$@"')


def expected(specs: list[Spec], built: Built, rules_read: bool = True,
             dual_shown: bool = True, killed: frozenset[str] = frozenset()
             ) -> dict[tuple[int, str, int], dict[str, Any]]:
    """(pid, proto, port) -> what the listener must carry: netns?, container, exposure,
    published_port (`rules_read` False: the host's NAT rules could not be read;
    `dual_shown` False: its tool does not show an IPv6 wildcard's IPV6_V6ONLY; `killed`:
    the containers that ended while the probe ran)."""
    out: dict[tuple[int, str, int], dict[str, Any]] = {}
    for spec in specs:
        if spec.key in killed:
            continue  # it ended while the probe ran: nothing listens there
        c = built.made[spec.key]
        base = built.made[spec.joins] if spec.joins else c
        published = {(p, port): host_port for p, host_port, port, tool in
                     (built_publish for s in specs if s.key in (spec.key, spec.joins)
                      for built_publish in s.publish) if rules_read or tool == "proxy"}
        for held in c.holders.held:
            s = held.sock
            if not s.listen:
                continue
            if not spec.own_netns:
                exposure, port = "host", None
            else:
                # IPv4 DNAT reaches the wildcard, the container's address, and [::]
                # when it takes IPv4 too
                # when it takes IPv4 too (or the tool cannot show that it does not)
                reach = s.address in ("0.0.0.0", base.address) or (
                    s.address == "::" and not (s.v6only and dual_shown))
                port = published.get((s.proto, s.port)) if reach else None
                # unknown reach (no rule set read) is never container-only
                exposure = "published" if port is not None or not rules_read \
                    else "container-only"
            out[(held.pids[0], s.proto, s.port)] = {
                "container": spec.truth(), "exposure": exposure, "published_port": port,
                "in_netns": spec.own_netns}
    return out


def compare(specs: list[Spec], built: Built, host: dict[str, Any],
            rules_read: bool = True, dual_shown: bool = True,
            killed: frozenset[str] = frozenset()) -> list[str]:
    """Every disagreement between the truth and the scanned host."""
    want = expected(specs, built, rules_read, dual_shown, killed)
    bad: list[str] = []
    if host["status"] == "error":
        return [f"host error: {host['error']}"]
    namespaces = {id(c.ns) for s in specs for c in [built.made[s.key]]
                  if s.own_netns and s.key not in killed}
    ended = [n for n in host["notes"] if "ended while the probe ran" in n]
    dead = {id(built.made[s.key].ns) for s in specs if s.key in killed} - namespaces
    if len(ended) != len(dead):
        bad.append(f"notes of namespaces that ended: {ended}, {len(dead)} ended")
    if host.get("namespaces") != {"read": len(namespaces), "unread": None}:
        bad.append(f"namespaces {host.get('namespaces')} != read {len(namespaces)}")
    got: dict[tuple[int, str, int], dict[str, Any]] = {}
    for li in host["listeners"]:
        key = (li.get("pid") or -1, li["proto"], li["port"])
        if li.get("netns") is not None and key not in want:
            bad.append(f"unexpected container listener {key} {li.get('container')}")
        got.setdefault(key, li)
    for key, w in want.items():
        li = got.get(key)
        if li is None:
            bad.append(f"missing {key}")
            continue
        if (li.get("netns") is not None) != w["in_netns"]:
            bad.append(f"{key} netns {li.get('netns')} (in own netns: {w['in_netns']})")
        for name in ("container", "exposure", "published_port"):
            if li.get(name) != w[name]:
                bad.append(f"{key} {name}: got {li.get(name)!r} want {w[name]!r}")
    return bad


_SELECTORS = ("namespace", "exposure", "container", "image", "pod")


def policy(seed: int, specs: list[Spec], built: Built, rules_read: bool = True,
           dual_shown: bool = True, killed: frozenset[str] = frozenset()
           ) -> tuple[str, dict[tuple[int, str, int], str]]:
    """A `containers: judge`, default-deny policy with one allow rule per listener (its
    port, and one place condition that fits it or not), and the verdict each must get."""
    rnd = random.Random(seed * 7919)  # noqa: S311 - a replayable draw, no secret
    rules, verdicts = [], {}
    by_key = {s.key: s for s in specs}
    alive = expected(specs, built, rules_read, dual_shown, killed)
    for key, want in expected(specs, built, rules_read, dual_shown).items():
        _, proto, port = key
        spec = next(s for s in specs if any(h.pids[0] == key[0]
                                            for h in built.made[s.key].holders.held))
        selector = rnd.choice(_SELECTORS)
        fits = rnd.random() < 0.6
        c = want["container"]
        verdict = "allowed" if fits else "stray"
        if selector == "namespace":
            place = "container" if want["in_netns"] else "host"
            value = place if fits else ({"host", "container"} - {place}).pop()
        elif selector == "exposure":
            value = want["exposure"] if fits else rnd.choice(
                [e for e in ("host", "published", "container-only") if e != want["exposure"]])
        else:
            field_ = {"container": "name", "image": "image", "pod": "pod"}[selector]
            real = {"name": spec.name, "image": spec.image,
                    "pod": spec.pod or (by_key[spec.joins].pod if spec.joins else None)}[field_]
            value = (real or "none-such") if fits else "other-thing"
            if c[field_] is None:
                # not told: undetermined, unless the host named the container and it is
                # no pod (a pod condition then plainly does not hold)
                verdict = "stray" if field_ == "pod" and c["name"] is not None \
                    and real is None else "undetermined"
        rules.append(f"  - id: r{port}\n    proto: {proto}\n    port: {port}\n"
                     f"    {selector}: {json.dumps(value)}\n")
        if key in alive:
            verdicts[key] = verdict
    text = "name: hunt\ndefault: deny\ncontainers: judge\nallow:\n" + "".join(rules)
    return (text if rules else text.replace("allow:\n", "")), verdicts


def compare_verdicts(want: dict[tuple[int, str, int], str], host: dict[str, Any]) -> list[str]:
    """Every listener whose verdict under `policy` is not the one its truth gives."""
    got = {(li.get("pid") or -1, li["proto"], li["port"]): li for li in host["listeners"]}
    return [f"{key} verdict: got {got[key]['verdict']!r} ({got[key].get('rule')}) "
            f"want {verdict!r}" for key, verdict in want.items()
            if key in got and got[key]["verdict"] != verdict]
