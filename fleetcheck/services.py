"""The port table: IANA service names <-> port numbers, shipped with fleetcheck."""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def _table() -> tuple[dict[tuple[str, str], int], dict[tuple[int, str], str]]:
    """(name, proto) -> port and (port, proto) -> name, read once from the shipped table."""
    by_name: dict[tuple[str, str], int] = {}
    by_port: dict[tuple[int, str], str] = {}
    text = resources.files("fleetcheck").joinpath("data/services.tsv").read_text("utf-8")
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        port_s, proto, name, *rest = line.split("\t")
        port = int(port_s)
        by_port.setdefault((port, proto), name)
        for alias in [name, *(rest[0].split() if rest else [])]:
            by_name.setdefault((alias.lower(), proto), port)
    return by_name, by_port


def port_for_name(name: str, proto: str) -> int | None:
    """The port a tool meant when it printed a service name instead of a number."""
    return _table()[0].get((name.lower(), proto))


def name_for_port(port: int, proto: str) -> str | None:
    """The IANA service name of a port, for reports; None if the table has none."""
    return _table()[1].get((port, proto))
