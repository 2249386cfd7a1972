"""Containers and network namespaces: who a listener belongs to, and how reachable it is.

A listener in the host's own network namespace has exposure `host`. One in another
namespace (a container's) is `published` when a host port maps to it (a DNAT rule or
docker-proxy), else `container-only`: reachable from the host and its other containers
only. `container_identity` is what history keys a container's listener by: its name and
image, never its random id, so that a redeploy is not a new listener.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from fleetcheck.frozen import frozen

HOST = "host"
PUBLISHED = "published"
CONTAINER_ONLY = "container-only"
EXPOSURES = (HOST, PUBLISHED, CONTAINER_ONLY)

# Kubernetes names generated pods `<replicaset>-<5 chars>` and replica sets
# `<deployment>-<pod-template-hash>` from this alphabet (no vowels, no 0, 1 or 3), so
# that a suffix never spells a word: what is left is the workload's own name.
_SAFE = "bcdfghjklmnpqrstvwxz2456789"
_POD_SUFFIX = re.compile(rf"-[{_SAFE}]{{5}}$")
_HASH_SUFFIX = re.compile(rf"-[{_SAFE}]{{6,10}}$")


@frozen
class Container:
    """The container a listener's process runs in, as far as the host told it."""

    id: str | None = None  # the runtime's full id (random: never an identity)
    name: str | None = None  # docker/podman name, or the Kubernetes container name
    image: str | None = None
    runtime: str | None = None  # docker | containerd | cri-o | podman | systemd-nspawn | lxc
    pod: str | None = None
    k8s_namespace: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """All six keys, unknown ones null (the run schema's `container` object)."""
        return {"id": self.id, "name": self.name, "image": self.image,
                "runtime": self.runtime, "pod": self.pod, "k8s_namespace": self.k8s_namespace}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Container:
        """Inverse of `to_dict`."""
        return cls(data.get("id"), data.get("name"), data.get("image"), data.get("runtime"),
                   data.get("pod"), data.get("k8s_namespace"))

    def label(self) -> str:
        """'web (docker, image nginx:1.25)', 'pod kube-system/coredns-x, container coredns'."""
        who = []
        if self.pod:
            who.append(f"pod {self.k8s_namespace + '/' if self.k8s_namespace else ''}{self.pod}")
        if self.name:
            who.append(f"container {self.name}" if self.pod else self.name)
        if not who:
            who.append(f"container {self.id[:12]}" if self.id else "an unnamed container")
        extra = [x for x in (self.runtime, f"image {self.image}" if self.image else None) if x]
        return ", ".join(who) + (f" ({', '.join(extra)})" if extra else "")


class InNamespace(Protocol):
    """What `container_identity` reads of a listener (a Listener or a Finding)."""

    @property
    def container(self) -> Container | None: ...

    @property
    def netns(self) -> int | None: ...


def image_repository(image: str) -> str:
    """'docker.io/library/nginx' of 'docker.io/library/nginx:1.25@sha256:...': no tag, no digest."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


def workload(pod: str) -> str:
    """The name a pod's controller gave it, without the generated suffixes: `web` of
    `web-7d4b9c8f6-xk2lp`; a StatefulSet's `db-0` stays `db-0`."""
    base = _POD_SUFFIX.sub("", pod)
    return _HASH_SUFFIX.sub("", base) if base != pod else base


def container_identity(listener: InNamespace) -> str | None:
    """A stable name for the container of `listener` (None for a host process outside any
    container), for history and finding ids: Kubernetes namespace, workload and container
    name, or the container's name; the image without tag or digest. Never the random id.
    """
    c = listener.container
    if c is None:
        return None if listener.netns is None else "netns"
    parts = []
    if c.pod is not None:
        parts.append(f"k8s:{c.k8s_namespace or '?'}/{workload(c.pod)}/{c.name or '?'}")
    elif c.name is not None:
        parts.append(f"{c.runtime or 'container'}:{c.name}")
    else:
        parts.append(f"{c.runtime or 'container'}:?")
    if c.image:
        parts.append(image_repository(c.image))
    return "@".join(parts)


@frozen
class Namespaces:
    """A Linux host's other network namespaces: how many were read, or why they were not."""

    read: int = 0  # namespaces other than the host's whose listeners were read
    unread: str | None = None  # why namespaces other than the host's could not be read

    def to_dict(self) -> dict[str, Any]:
        """The host's `namespaces` object."""
        return {"read": self.read, "unread": self.unread}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Namespaces:
        """Inverse of `to_dict`."""
        return cls(int(data.get("read", 0)), data.get("unread"))
