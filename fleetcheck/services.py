"""The port table: service names <-> ports, from the shipped table and the system's database.

The shipped table (`data/services.tsv`: IANA names plus notable ports such as
1923 `spice`) is always consulted first, so a policy means the same thing on
every machine; the services database of the machine running fleetcheck
(`/etc/services`) adds the names the shipped table lacks.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from fleetcheck.frozen import frozen
from fleetcheck.numbers import is_number

SYSTEM_SERVICES = Path("/etc/services")
PROTOS = ("tcp", "udp")


@frozen
class PortTable:
    """One services table: name or alias -> {(proto, port)}, and (port, proto) -> name."""

    by_name: dict[str, frozenset[tuple[str, int]]]
    by_port: dict[tuple[int, str], str]


def _build(rows: list[tuple[int, str, list[str]]]) -> PortTable:
    """A table from (port, proto, [name, *aliases]) rows; the first name for a port wins."""
    by_name: dict[str, set[tuple[str, int]]] = {}
    by_port: dict[tuple[int, str], str] = {}
    for port, proto, names in rows:
        by_port.setdefault((port, proto), names[0])
        for alias in names:
            by_name.setdefault(alias.lower(), set()).add((proto, port))
    return PortTable({k: frozenset(v) for k, v in by_name.items()}, by_port)


@cache
def shipped_table() -> PortTable:
    """The table shipped with fleetcheck (tab-separated: port, proto, name, aliases)."""
    text = resources.files("fleetcheck").joinpath("data/services.tsv").read_text("utf-8")
    rows = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        port_s, proto, name, *rest = line.split("\t")
        rows.append((int(port_s), proto, [name, *(rest[0].split() if rest else [])]))
    return _build(rows)


@cache
def system_table(path: Path = SYSTEM_SERVICES) -> PortTable:
    """The services(5) database at `path` ('name port/proto aliases # comment'); empty if absent."""
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return PortTable({}, {})
    rows = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if len(words) < 2 or "/" not in words[1]:
            continue
        port_s, _, proto = words[1].partition("/")
        if is_number(port_s) and 0 < int(port_s) <= 65535:
            rows.append((int(port_s), proto.lower(), [words[0], *words[2:]]))
    return _build(rows)


def resolve_service(name: str, *, system: Path = SYSTEM_SERVICES) -> frozenset[tuple[str, int]]:
    """The TCP/UDP (proto, port) pairs a service name stands for; empty when no table knows it."""
    key = name.strip().lower()
    for table in (shipped_table(), system_table(system)):
        found = frozenset(pp for pp in table.by_name.get(key, ()) if pp[0] in PROTOS)
        if found:
            return found
    return frozenset()


def known_service_names(*, system: Path = SYSTEM_SERVICES) -> list[str]:
    """Every TCP/UDP service name both tables know, for did-you-mean hints."""
    names: set[str] = set()
    for table in (shipped_table(), system_table(system)):
        names.update(n for n, pps in table.by_name.items() if any(p in PROTOS for p, _ in pps))
    return sorted(names)


def port_for_name(name: str, proto: str) -> int | None:
    """The port a tool meant when it printed a service name instead of a number."""
    for table in (shipped_table(), system_table()):
        ports = sorted(port for p, port in table.by_name.get(name.lower(), ()) if p == proto)
        if ports:
            return ports[0]
    return None


def name_for_port(port: int, proto: str) -> str | None:
    """The service name of a port, for reports; None if neither table has one."""
    for table in (shipped_table(), system_table()):
        name = table.by_port.get((port, proto))
        if name is not None:
            return name
    return None
