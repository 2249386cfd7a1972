"""Listeners by network namespace and container, and the fleet by image: what reports show
of hosts that run containers. Hosts without any show exactly what they always did."""

from __future__ import annotations

from fleetcheck.frozen import frozen
from fleetcheck.model import (
    HOST,
    PUBLISHED,
    HostResult,
    JudgedListener,
    RunResult,
    Severity,
    Verdict,
    container_identity,
)
from fleetcheck.numbers import is_number
from fleetcheck.render import view
from fleetcheck.render.waived import Standing


@frozen
class ListenerGroup:
    """The listeners of one network namespace (or one hostNetwork container) on a host."""

    title: str  # 'host network namespace', 'container web (docker, image nginx:1.25)'
    detail: str  # 'network namespace 4026532446' or ''
    rows: tuple[tuple[JudgedListener, Standing | None], ...]


def has_containers(host: HostResult) -> bool:
    """True when any listener of `host` is in another namespace or a container."""
    return any(jl.listener.netns is not None or jl.listener.container is not None
               for jl in host.listeners)


def exposure_words(jl: JudgedListener) -> str:
    """'published on host port 8080', 'container-only', 'host'."""
    li = jl.listener
    if li.exposure == PUBLISHED:
        return f"published on host port {li.published_port}" if li.published_port \
            else "published (host port not known)"
    return li.exposure


def groups(host: HostResult, threshold: Severity) -> list[ListenerGroup]:
    """The host's listeners grouped: its own namespace first, then hostNetwork containers,
    then each other namespace by container, in a stable order."""
    buckets: dict[tuple[int, str], list[tuple[JudgedListener, Standing | None]]] = {}
    for jl, standing in view.listener_rows(host, threshold):
        li = jl.listener
        place = (0 if li.netns is None and li.container is None
                 else 1 if li.netns is None else 2, container_identity(li) or "")
        buckets.setdefault((place[0], f"{place[1]}\x1f{li.netns or ''}"), []).append(
            (jl, standing))
    out = []
    for (kind, _), rows in sorted(buckets.items()):
        li = rows[0][0].listener
        if kind == 0:
            title, detail = "host network namespace", ""
        elif li.container is not None:
            where = "hostNetwork, " if kind == 1 else ""
            title = f"{where}{li.container.label()}"
            detail = f"network namespace {li.netns}" if li.netns is not None else \
                "the host's network namespace"
        else:
            title, detail = "a network namespace of no known container", \
                f"network namespace {li.netns}"
        out.append(ListenerGroup(title, detail, tuple(rows)))
    return out


@frozen
class ImageRow:
    """The fleet view of one container image: where it runs, what it listens on, verdicts."""

    image: str
    hosts: tuple[str, ...]
    containers: tuple[str, ...]
    ports: tuple[str, ...]  # 'tcp/80 published:8080', 'tcp/9090 container-only'
    verdicts: tuple[tuple[str, int], ...]

    @property
    def red(self) -> bool:
        """True when a listener of this image is forbidden or stray."""
        return any(v in (Verdict.FORBIDDEN.value, Verdict.STRAY.value) for v, _ in self.verdicts)


def image_rows(run: RunResult) -> list[ImageRow]:
    """Every container image any checked host runs a listener of, by image."""
    acc: dict[str, tuple[set[str], set[str], set[str], dict[str, int]]] = {}
    for host in run.hosts:
        for jl in host.listeners:
            c = jl.listener.container
            if c is None:
                continue
            hosts, names, ports, verdicts = acc.setdefault(
                c.image or "(image not known)", (set(), set(), set(), {}))
            li = jl.listener
            hosts.add(host.name)
            names.add(c.name or c.pod or (c.id or "?")[:12])
            reach = f"published:{li.published_port}" if li.exposure == PUBLISHED \
                and li.published_port else li.exposure
            ports.add(f"{li.proto}/{li.port} {reach}" if li.exposure != HOST
                      else f"{li.proto}/{li.port}")
            verdicts[jl.verdict.value] = verdicts.get(jl.verdict.value, 0) + 1
    return [ImageRow(image, tuple(sorted(h)), tuple(sorted(n)),
                     tuple(sorted(p, key=_port_order)), tuple(sorted(v.items())))
            for image, (h, n, p, v) in sorted(acc.items())]


def _port_order(text: str) -> tuple[int, str]:
    proto_port = text.split(" ", 1)[0]
    number = proto_port.partition("/")[2]
    return (int(number) if is_number(number) else 0, text)
