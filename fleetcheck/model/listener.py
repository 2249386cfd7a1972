"""Listeners as collected, and as judged: one socket's facts and its verdict."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from fleetcheck.frozen import frozen
from fleetcheck.model.container import HOST, Container
from fleetcheck.model.enums import Verdict


@frozen
class Listener:
    """One listening TCP socket or bound, unconnected UDP socket as a tool printed it."""

    proto: str  # "tcp" | "udp"
    family: int  # 4 | 6
    address: str  # no brackets, no %scope; a host name where the tool printed one
    port: int
    process: str | None = None
    pid: int | None = None
    user: str | None = None
    iface: str | None = None  # the %scope suffix, e.g. "lo" or "enp0s3"
    # Whether it is known which device, if any, the socket is bound to: the tool shows
    # device bindings (SO_BINDTODEVICE), as ss does, so an iface of None is bound to none;
    # or it showed one (an iface). netstat, lsof, /proc and the other systems' tools show
    # at most an IPv6 address's zone: their iface of None is not known.
    # (What a tool could tell of the socket, not the socket: no part of equality, so that
    # a listener read back from `parse`'s shape, which cannot say it, is the same one.)
    device_shown: bool = field(default=False, compare=False)
    # An IPv6 wildcard that also accepts IPv4: True, False (it does not, or is no IPv6
    # wildcard), or None: an IPv6 wildcard read by a tool that does not show IPV6_V6ONLY
    # (netstat, lsof, /proc), which may take IPv4 too; the judge weighs both.
    dual_stack: bool | None = False
    truncated: bool = False  # the tool cut the address (or port): never matches an allow
    port_name: str | None = None  # service name printed instead of the number
    other_processes: tuple[str, ...] = ()  # further "name/pid" sharing the socket
    uid: int | None = None
    inode: int | None = None
    service: str | None = None  # Windows service hosting the socket
    # Why the owner is not named although the tool printed one: the row could not be
    # read unambiguously (e.g. a process name that mimics the tool's own syntax).
    owner_note: str | None = None
    # Where it listens: the network namespace's inode (None: the host's own), the
    # container its process runs in, whether a host port reaches it (model.container).
    netns: int | None = None
    container: Container | None = None
    exposure: str = HOST
    published_port: int | None = None  # the host port that maps to it, when published
    # An IPv4 loopback listener on a host where net.ipv4.conf.IF.route_localnet is 1: the
    # interfaces ('all': every one) through which the network reaches it all the same.
    route_localnet: tuple[str, ...] = ()

    # Keys written only when they carry something, so that `parse` output
    # has the corpus sidecars' shape.
    _OPTIONAL = (
        "user", "iface", "dual_stack", "truncated", "port_name",
        "other_processes", "uid", "inode", "service", "owner_note", "netns",
        "published_port", "route_localnet",
    )

    def __post_init__(self) -> None:
        if self.iface is not None and not self.device_shown:  # a device shown is known
            object.__setattr__(self, "device_shown", True)

    def to_dict(self) -> dict[str, Any]:
        """The listener as JSON: the six core keys always, optional keys only when set."""
        out: dict[str, Any] = {
            "proto": self.proto,
            "family": self.family,
            "address": self.address,
            "port": self.port,
            "process": self.process,
            "pid": self.pid,
        }
        for key in self._OPTIONAL:
            value = getattr(self, key)
            if value is not None and value is not False and value != ():
                out[key] = list(value) if isinstance(value, tuple) else value
        if self.container is not None:
            out["container"] = self.container.to_dict()
        if self.exposure != HOST:
            out["exposure"] = self.exposure
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Listener:
        """Inverse of `to_dict`; unknown keys are ignored."""
        return cls(
            proto=data["proto"],
            family=int(data["family"]),
            address=data["address"],
            port=int(data["port"]),
            process=data.get("process"),
            pid=data.get("pid"),
            user=data.get("user"),
            iface=data.get("iface"),
            # null: the tool does not show it (runs write it); absent: bound to none, as a
            # run written before said nothing of it either way
            device_shown="iface" not in data or data["iface"] is not None,
            # null: not shown (runs write it); absent: false, as before it could be null
            dual_stack=None if "dual_stack" in data and data["dual_stack"] is None
            else bool(data.get("dual_stack", False)),
            truncated=bool(data.get("truncated", False)),
            port_name=data.get("port_name"),
            other_processes=tuple(data.get("other_processes") or ()),
            uid=data.get("uid"),
            inode=data.get("inode"),
            service=data.get("service"),
            owner_note=data.get("owner_note"),
            netns=data.get("netns"),
            container=Container.from_dict(data["container"]) if data.get("container") else None,
            exposure=data.get("exposure") or HOST,
            published_port=data.get("published_port"),
            route_localnet=tuple(data.get("route_localnet") or ()),
        )

    def sort_key(self) -> tuple[Any, ...]:
        """Deterministic report order: proto, port, family, address, pid."""
        return (self.proto, self.port, self.family, self.address, self.pid or 0, self.process or "")


@frozen
class JudgedListener:
    """A listener with the verdict of the policies and the rule that decided it."""

    listener: Listener
    verdict: Verdict
    rule: str | None

    def to_dict(self) -> dict[str, Any]:
        """Listener keys plus `verdict` and `rule`; `user` always present as in the run schema."""
        out = self.listener.to_dict()
        out.setdefault("user", None)
        out.setdefault("container", None)  # the run's listeners always say both
        out.setdefault("exposure", HOST)
        if self.listener.dual_stack is None:  # the run keeps 'not shown' apart from false
            out["dual_stack"] = None
        if not self.listener.device_shown:  # ... and a device not shown apart from none
            out["iface"] = None
        out["verdict"] = self.verdict.value
        out["rule"] = self.rule
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JudgedListener:
        """Inverse of `to_dict`."""
        return cls(Listener.from_dict(data), Verdict(data["verdict"]), data.get("rule"))
