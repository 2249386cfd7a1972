"""Containers on a lab host, made as runtimes make them, without a runtime.

A "container" here is what the kernel sees of one: processes in their own network
namespace, joined to the host's by a veth pair, in a cgroup named as docker or
containerd name theirs (`system.slice/docker-<id>.scope`, `kubepods.slice/.../
cri-containerd-<id>.scope`) under the lab host's own cgroup root (HostSpec.cgroupns).
A port is published by a real DNAT rule in the host's namespace (iptables or nft).
"""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests.lab.cgroups import make_cgroup, move, remove_cgroup
from tests.lab.netns import Namespace, Sock, SocketHolders, unique_name, wait_for
from tests.lab.sshlab import SshLab

DOCKER = "docker"
CONTAINERD = "containerd"


def docker_cgroup(ident: str) -> str:
    """Where docker's systemd cgroup driver puts a container."""
    return f"system.slice/docker-{ident}.scope"


def containerd_cgroup(ident: str, pod_uid: str) -> str:
    """Where the kubelet's systemd driver and containerd's CRI put a pod's container."""
    uid = pod_uid.replace("-", "_")
    return (f"kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod{uid}.slice/"
            f"cri-containerd-{ident}.scope")


@dataclass
class LabContainer:
    """One made container: its id, namespace, address, cgroup and socket holders."""

    id: str
    ns: Namespace | None  # None: it shares the host's namespace (hostNetwork)
    address: str | None
    cgroup: Path
    holders: SocketHolders

    @property
    def pids(self) -> list[int]:
        """The pids of its processes."""
        return [pid for held in self.holders.held for pid in held.pids]


class ContainerHost:
    """Containers on one lab host started with `cgroupns=True`; `stop` removes them."""

    def __init__(self, lab: SshLab, host: str) -> None:
        self.lab = lab
        self.host = lab.hosts[host]
        assert self.host.cgroup is not None, "the host needs HostSpec(cgroupns=True)"
        self.containers: list[LabContainer] = []
        self._subnet = 0
        self._proxies: list[subprocess.Popen[bytes]] = []

    def start(self, cgroup: str, socks: Sequence[Sock], *, ident: str | None = None,
              own_netns: bool = True) -> LabContainer:
        """A container in `cgroup` (relative to the host's cgroup root) holding `socks`."""
        ident = ident or secrets.token_hex(32)
        ns: Namespace | None = None
        address = None
        if own_netns:
            ns = Namespace(unique_name("fcct")).create()
            self._subnet += 1
            address = f"10.99.{self._subnet}.2"
            veth = f"vc{self._subnet}{secrets.token_hex(2)}"
            host_ns = self.host.ns.name
            _run("ip", "link", "add", veth, "netns", host_ns, "type", "veth", "peer", "name",
                 "eth0", "netns", ns.name)
            _run("ip", "-n", host_ns, "addr", "add", f"10.99.{self._subnet}.1/24", "dev", veth)
            _run("ip", "-n", host_ns, "link", "set", veth, "up")
            _run("ip", "-n", ns.name, "addr", "add", f"{address}/24", "dev", "eth0")
            _run("ip", "-n", ns.name, "link", "set", "eth0", "up")
            _run("ip", "-n", ns.name, "route", "add", "default", "via", f"10.99.{self._subnet}.1")
        holders = SocketHolders(ns or self.host.ns)
        where = make_cgroup(cgroup, self.host.cgroup)
        container = LabContainer(ident, ns, address, where, holders)
        self.containers.append(container)
        holders.hold(socks)
        for pid in container.pids:
            move(pid, where)
        return container

    def publish(self, proto: str, host_port: int, container: LabContainer, port: int,
                tool: str = "iptables") -> None:
        """A real DNAT rule in the host's namespace: `host_port` reaches the container's port."""
        assert container.address is not None
        ns = self.host.ns.name
        _run("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1")
        target = f"{container.address}:{port}"
        if tool == "iptables":
            _run("ip", "netns", "exec", ns, "iptables", "-t", "nat", "-A", "PREROUTING", "-p",
                 proto, "--dport", str(host_port), "-j", "DNAT", "--to-destination", target)
            return
        nft = ["ip", "netns", "exec", ns, "nft"]
        with contextlib.suppress(RuntimeError):  # the table is made once per host
            _run(*nft, "add", "table", "ip", "fcnat")
            _run(*nft, "add", "chain", "ip", "fcnat", "prerouting",
                 "{ type nat hook prerouting priority -100 ; }")
        _run(*nft, "add", "rule", "ip", "fcnat", "prerouting", proto, "dport", str(host_port),
             "dnat", "to", target)

    def proxy(self, proto: str, host_port: int, container: LabContainer, port: int) -> None:
        """A stand-in docker-proxy (emulated: a process named and called as dockerd starts
        one, holding no socket) saying `host_port` is forwarded to the container's port."""
        assert container.address is not None
        script = self.host.dir / "docker-proxy"  # a script's process is named after it
        if not script.exists():  # rewritten, it could be read empty by a proxy starting
            script.write_text("#!/bin/sh\nsleep 3600\n")  # sh waits: its name stays
            script.chmod(0o755)
        argv = [str(script), "-proto", proto, "-host-ip", "0.0.0.0", "-host-port",
                str(host_port), "-container-ip", container.address, "-container-port",
                str(port)]
        proc = subprocess.Popen(self.host.ns.exec_argv(argv), stdin=subprocess.DEVNULL)
        self._proxies.append(proc)
        comm = Path(f"/proc/{proc.pid}/comm")  # a scan right after must see it named
        wait_for(lambda: proc.poll() is None and comm.read_text().strip() == "docker-proxy")

    def stop(self) -> None:
        """Stop every container's processes, remove namespaces and cgroups."""
        for proxy in self._proxies:
            proxy.kill()
            proxy.wait()
        self._proxies.clear()
        for c in self.containers:
            with contextlib.suppress(Exception):
                c.holders.stop()
            if c.ns is not None:
                c.ns.delete()
            remove_cgroup(c.cgroup)
        self.containers.clear()


def _run(*argv: str) -> None:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip()}")
