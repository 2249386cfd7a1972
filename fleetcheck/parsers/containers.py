"""Which container a process runs in: its cgroup path, and what container runtimes list.

Pure functions over text a host printed. A cgroup path names the runtime and the
container's id (or name) in ways each runtime fixes; they are recognised only where
they start at the root of the hierarchy the host sees (its cgroup namespace), so a
directory somebody named like a container deeper down is not taken for one.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fleetcheck.frozen import frozen
from fleetcheck.jsontext import loads_text
from fleetcheck.model import Container
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import lines

_HEX = frozenset("0123456789abcdef")


@frozen
class CgroupMatch:
    """What a cgroup path says: the runtime, and the container's id or name."""

    runtime: str | None
    id: str | None = None
    name: str | None = None


def _hex64(text: str) -> bool:
    return len(text) == 64 and set(text) <= _HEX


def _scoped(part: str, prefix: str, suffix: str = ".scope") -> str | None:
    """The 64-hex id of 'docker-<id>.scope' (prefix 'docker-'), else None."""
    if part.startswith(prefix) and part.endswith(suffix):
        ident = part[len(prefix):len(part) - len(suffix)]
        return ident if _hex64(ident) else None
    return None


def _unescape_unit(name: str) -> str:
    r"""A systemd unit name part as written: '\x2d' back to '-'."""
    out, i = [], 0
    while i < len(name):
        if name.startswith("\\x", i) and len(name) >= i + 4:
            try:
                out.append(chr(int(name[i + 2:i + 4], 16)))
                i += 4
                continue
            except ValueError:
                pass
        out.append(name[i])
        i += 1
    return "".join(out)


_KUBE_SCOPES = (("cri-containerd-", "containerd"), ("crio-", "cri-o"), ("docker-", "docker"))


def _kubepods(parts: list[str]) -> CgroupMatch | None:
    """A Kubernetes pod's container: systemd driver scopes, or the cgroupfs driver's bare id."""
    for part in parts[1:]:
        for prefix, runtime in _KUBE_SCOPES:
            ident = _scoped(part, prefix)
            if ident is not None:
                return CgroupMatch(runtime, ident)
    last = parts[-1]
    if len(parts) >= 3 and parts[-2].startswith("pod") and _hex64(last):
        return CgroupMatch(None, last)
    return None


def _machine(parts: list[str]) -> CgroupMatch | None:
    """machine.slice: podman's libpod scopes, systemd-nspawn's service or machine scope."""
    if len(parts) < 2:
        return None
    unit = parts[1]
    ident = _scoped(unit, "libpod-")
    if ident is not None:
        return CgroupMatch("podman", ident)
    if unit.startswith("systemd-nspawn@") and unit.endswith(".service"):
        return CgroupMatch("systemd-nspawn",
                           name=_unescape_unit(unit[len("systemd-nspawn@"):-len(".service")]))
    if unit.startswith("machine-") and unit.endswith(".scope") and len(unit) > 14:
        return CgroupMatch("systemd-nspawn", name=_unescape_unit(unit[8:-6]))
    return None


def cgroup_container(path: str) -> CgroupMatch | None:
    """The container a cgroup path (as /proc/PID/cgroup shows it) belongs to, or None.

    Recognised from the root: /system.slice/docker-<id>.scope and /docker/<id> (docker),
    /kubepods*/... (Kubernetes, with the runtime's scope when the systemd driver names
    it), /machine.slice/libpod-<id>.scope, /user.slice/.../libpod-<id>.scope and
    /libpod_parent/libpod-<id> (podman), /machine.slice/systemd-nspawn@NAME.service or
    machine-NAME.scope (systemd-nspawn), /lxc.payload.NAME, /lxc.payload/NAME and
    /lxc/NAME (LXC), /system.slice/nerdctl-<id>.scope (containerd). A path outside the
    host's cgroup namespace ('/..') belongs to nobody here.
    """
    if not path.startswith("/") or path.startswith("/.."):
        return None
    parts = [p for p in path.split("/") if p]
    if not parts:
        return None
    top = parts[0]
    second = parts[1] if len(parts) > 1 else ""
    found: CgroupMatch | None = None
    if top == "system.slice":
        for prefix, runtime in (("docker-", "docker"), ("nerdctl-", "containerd")):
            ident = _scoped(second, prefix)
            if ident is not None:
                found = CgroupMatch(runtime, ident)
    elif top == "docker" and _hex64(second):
        found = CgroupMatch("docker", second)
    elif top.startswith("kubepods"):
        found = _kubepods(parts)
    elif top == "machine.slice":
        found = _machine(parts)
    elif top == "user.slice":
        ident = next((i for p in parts if (i := _scoped(p, "libpod-")) is not None), None)
        found = CgroupMatch("podman", ident) if ident else None
    elif top == "libpod_parent" and second.startswith("libpod-") and _hex64(second[7:]):
        found = CgroupMatch("podman", second[7:])
    elif top.startswith("lxc.payload.") and len(top) > 12:
        found = CgroupMatch("lxc", name=top[12:])
    elif top in ("lxc.payload", "lxc") and second:
        found = CgroupMatch("lxc", name=second)
    return found


def parse_cgroups(body: str) -> dict[int, CgroupMatch]:
    """pid -> its container, from `grep -H` lines of /proc/*/cgroup: '/proc/PID/cgroup:LINE'.

    A process whose lines do not read as 'ID:CONTROLLERS:PATH', each hierarchy once, is
    left out: a cgroup name holding a newline (users may name delegated cgroups) could
    otherwise forge a line.
    """
    seen: dict[int, list[str]] = {}
    for line in lines(body):
        if not line.startswith("/proc/"):
            continue
        pid_text, sep, rest = line[6:].partition("/cgroup:")
        if sep and is_number(pid_text):
            seen.setdefault(int(pid_text), []).append(rest)
    out: dict[int, CgroupMatch] = {}
    for pid, rows in seen.items():
        hierarchies: set[str] = set()
        match: CgroupMatch | None = None
        for row in rows:
            ident, sep1, rest = row.partition(":")
            _, sep2, path = rest.partition(":")
            if not (sep1 and sep2 and is_number(ident)) \
                    or ident in hierarchies:
                match = None
                break
            hierarchies.add(ident)
            match = match or cgroup_container(path)
        if match is not None:
            out[pid] = match
    return out


def parse_docker_ps(body: str) -> dict[str, Container]:
    """id -> Container from `docker ps --no-trunc` lines printed as JSON arrays: id, names,
    image, then the Kubernetes pod name, pod namespace and container name labels."""
    out: dict[str, Container] = {}
    for line in lines(body):
        try:
            row = loads_text(line)
        except ValueError:
            continue
        if not (isinstance(row, list) and len(row) == 6 and all(isinstance(x, str) for x in row)):
            continue
        ident, names, image, pod, k8s_ns, k8s_name = row
        name = k8s_name or names.split(",")[0] or None
        out[ident] = Container(ident, name, image or None, "docker", pod or None,
                               k8s_ns or None)
    return out


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def parse_crictl_ps(body: str) -> dict[str, Container]:
    """id -> Container from `crictl ps -o json`: the Kubernetes labels name the pod."""
    try:
        doc = loads_text(body)
    except ValueError:
        return {}
    rows = doc.get("containers") if isinstance(doc, dict) else None
    out: dict[str, Container] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or _text(row.get("id")) is None:
            continue
        labels, meta, image_field = (_mapping(row.get(k)) for k in ("labels", "metadata", "image"))
        image = _text(image_field.get("image"))
        if image is None or image.startswith("sha256:"):  # an image id says nothing
            image = _text(row.get("imageRef")) or image
        out[row["id"]] = Container(
            row["id"], _text(labels.get("io.kubernetes.container.name")) or _text(meta.get("name")),
            image, None, _text(labels.get("io.kubernetes.pod.name")),
            _text(labels.get("io.kubernetes.pod.namespace")))
    return out


def parse_podman_ps(body: str) -> dict[str, Container]:
    """id -> Container from `podman ps --format json` (a JSON array of containers)."""
    try:
        rows = loads_text(body)
    except ValueError:
        return {}
    out: dict[str, Container] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict) or _text(row.get("Id")) is None:
            continue
        names = row.get("Names")
        name = names[0] if isinstance(names, list) and names and isinstance(names[0], str) \
            else _text(names)
        out[row["Id"]] = Container(row["Id"], name, _text(row.get("Image")), "podman",
                                   _text(row.get("PodName")), None)
    return out


def by_prefix(known: dict[str, Container], ident: str) -> Container | None:
    """The listed container whose id is `ident` (runtimes print full ids; be lenient)."""
    if ident in known:
        return known[ident]
    found = [c for k, c in known.items() if len(k) >= 12 and ident.startswith(k)]
    return found[0] if len(found) == 1 else None


def merge_listings(listings: Iterable[dict[str, Container]]) -> dict[str, Container]:
    """Several runtimes' listings in one: the first to list an id names it."""
    out: dict[str, Container] = {}
    for listing in listings:
        for ident, container in listing.items():
            out.setdefault(ident, container)
    return out
