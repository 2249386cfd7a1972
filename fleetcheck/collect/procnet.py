"""The /proc fallback: socket tables plus which process holds which socket, from /proc/*."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from fleetcheck.collect.probe import Section
from fleetcheck.model import Listener
from fleetcheck.parsers import procnet

_FD_DIR = re.compile(r"^/proc/(\d+)/fd:$")
_SOCKET = re.compile(r" -> socket:\[(\d+)\]$")
_STAT = re.compile(r"^(\d+) \((.*)\) [A-Za-z] ")
_PROC_DIR = re.compile(r"\s/proc/(\d+)$")


def _names(body: str) -> dict[int, str | None]:
    """pid -> comm, from `cat /proc/*/stat` ('1234 (name with spaces) S ...').

    A name may itself hold a newline and so forge what looks like another process's
    line: a pid seen twice gets no name rather than a possibly forged one.
    """
    names: dict[int, str | None] = {}
    for line in body.splitlines():
        m = _STAT.match(line)
        if m is not None:
            pid = int(m.group(1))
            names[pid] = None if pid in names else m.group(2)
    return names


def _users(body: str) -> dict[int, str]:
    """pid -> owner, from `ls -ld /proc/*` (the third column is the owner)."""
    users = {}
    for line in body.splitlines():
        m = _PROC_DIR.search(line)
        words = line.split()
        if m is not None and len(words) >= 3:
            users[int(m.group(1))] = words[2]
    return users


def _holders(body: str) -> dict[int, list[int]]:
    """socket inode -> pids holding it, from `ls -l /proc/*/fd`."""
    holders: dict[int, list[int]] = {}
    pid = None
    for line in body.splitlines():
        header = _FD_DIR.match(line)
        if header is not None:
            pid = int(header.group(1))
            continue
        sock = _SOCKET.search(line)
        if sock is not None and pid is not None:
            pids = holders.setdefault(int(sock.group(1)), [])
            if pid not in pids:
                pids.append(pid)
    return holders


def merge_proc_sections(sections: Sequence[Section]) -> list[Listener]:
    """Listeners from every proc-net-* section, with owners where /proc showed them."""
    bodies = {s.name: s.body for s in sections}
    names = _names(bodies.get("proc-stat", ""))
    users = _users(bodies.get("proc-owners", ""))
    holders = _holders(bodies.get("proc-fds", ""))
    listeners: list[Listener] = []
    for s in sections:
        if s.name.startswith("proc-net-"):
            listeners.extend(procnet.parse(s.body))
    return [_owned(li, sorted(holders.get(li.inode or -1, [])), names, users)
            for li in listeners]


def _owned(listener: Listener, pids: list[int], names: dict[int, str | None],
           users: dict[int, str]) -> Listener:
    """`listener` with its lowest holding pid as owner and the others as other_processes."""
    if not pids:
        return listener
    pid = pids[0]
    return replace(listener, pid=pid, process=names.get(pid), user=users.get(pid),
                   other_processes=tuple(f"{names.get(p) or '?'}/{p}" for p in pids[1:]))
