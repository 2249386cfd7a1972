"""The /proc fallback: socket tables plus the inode -> pid map gathered from /proc/*/fd."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from fleetcheck.collect.probe import Section
from fleetcheck.model import Listener
from fleetcheck.parsers import procnet
from fleetcheck.parsers.common import ParseError


def _owners(body: str) -> dict[int, list[tuple[int, str, str]]]:
    """inode -> [(pid, user, comm)] from 'pid user inode comm' lines."""
    owners: dict[int, list[tuple[int, str, str]]] = {}
    for no, line in enumerate(body.splitlines(), 1):
        parts = line.split(" ", 3)
        if len(parts) != 4 or not parts[0].isdigit() or not parts[2].strip("[]").isdigit():
            raise ParseError("not a 'pid user inode comm' line", no, line)
        inode = int(parts[2].strip("[]"))
        owners.setdefault(inode, []).append((int(parts[0]), parts[1], parts[3]))
    return owners


def merge_proc_sections(sections: Sequence[Section]) -> list[Listener]:
    """Listeners from every proc-net-* section, with owners where /proc/*/fd showed them."""
    owners: dict[int, list[tuple[int, str, str]]] = {}
    listeners: list[Listener] = []
    for s in sections:
        if s.name == "proc-sockets":
            owners = _owners(s.body)
        elif s.name.startswith("proc-net-"):
            listeners.extend(procnet.parse(s.body))
    return [_owned(li, sorted(set(owners.get(li.inode or -1, [])))) for li in listeners]


def _owned(listener: Listener, held: list[tuple[int, str, str]]) -> Listener:
    """`listener` with its first holder as owner and the rest as other_processes."""
    if not held:
        return listener
    pid, user, comm = held[0]
    return replace(listener, pid=pid, process=comm, user=None if user == "-" else user,
                   other_processes=tuple(f"{c}/{p}" for p, _, c in held[1:]))
