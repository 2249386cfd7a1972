"""Who holds a socket, told the same way by every collector.

A socket may be held by several processes: a pre-fork server's master and workers, the
init system that opened it and the service it was passed to. ss names every holder,
the highest pid first; net-tools and BusyBox netstat name the lowest only; the /proc
fallback reads them all; lsof prints a row per holder. A collector's listeners are one
per socket, named by its oldest holder that is not the init system (a pre-fork master,
not its newest worker; the service systemd or launchd activated, not pid 1 itself), the
others after it, oldest first. So a host reads the same through ss, lsof and /proc, and
a socket's process stays put as workers come and go (ss names the newest holder first,
which `fleetcheck parse` keeps as the tool printed it; netstat can show one pid only).

Oldest is told by each holder's start time and parent (`Lineage`, from /proc/PID/stat,
which the Linux probe reads after ss and lsof for the pids they name where a socket is
shared, and the /proc fallback reads whole): a pid is no age, since the counter wraps
(pid_max is 32768 on many hosts) and a worker forked since may have a lower pid than
its master. A master and the workers it forked within the same clock
tick share a start time, so a holder whose parent holds the socket too comes after it.
Where a holder's lineage is not known (the other systems' tools, a process gone before
its stat was read) it comes after those known, by pid, the lowest first.

A socket's user is its owner's name, from the uid the kernel's tables give (what ss -e
and netstat -e show, to anyone: a run without root names the same user); a uid no
passwd entry names is told as its number, as ls, ps and lsof print it. Where a tool
shows only its holders' users (lsof -F on macOS and AIX, OpenBSD fstat), it is the
user of the holder that opened it, as far as pids tell (`opener_user`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fleetcheck.frozen import frozen, replace
from fleetcheck.model import Listener
from fleetcheck.numbers import is_number


@frozen
class Lineage:
    """What /proc/PID/stat tells of a process's age: its parent and its start time (in
    clock ticks since boot)."""

    ppid: int
    start: int


Lineages = Mapping[int, Lineage]  # pid -> its lineage, where the probe read it


def owner_rank(pid: int) -> tuple[bool, int]:
    """Holders in owner order where nothing tells their age: by pid, pid 1 (the init
    system, an activator) last."""
    return pid == 1, pid


def owner_order(pids: Sequence[int], lineages: Lineages) -> list[int]:
    """`pids` (one socket's holders) oldest first, pid 1 last: by start time, a holder
    after its parent where they share a clock tick; holders of unknown lineage (none
    read, or gone before their stat was) after those known, by pid."""
    if len(pids) < 2:
        return list(pids)
    held = set(pids)

    def generation(pid: int) -> int:  # how many of its ancestors hold the socket too
        seen = {pid}
        parent = lineages[pid].ppid
        while parent in held and parent in lineages and parent not in seen:
            seen.add(parent)
            parent = lineages[parent].ppid
        return len(seen) - 1

    def rank(pid: int) -> tuple[bool, bool, int, int, int]:
        known = lineages.get(pid)
        if known is None:
            return pid == 1, True, 0, 0, pid
        return pid == 1, False, known.start, generation(pid), pid

    return sorted(pids, key=rank)


def owner_first(listeners: Sequence[Listener], lineages: Lineages | None = None,
                ) -> list[Listener]:
    """`listeners` with each one's holders in owner order (`owner_order`): the first owns it."""
    out = []
    for li in listeners:
        pids = [o.rpartition("/")[2] for o in li.other_processes]
        if not li.other_processes or li.pid is None or not all(map(is_number, pids)):
            out.append(li)
            continue
        named = {li.pid: f"{li.process or '?'}/{li.pid}"}
        for pid, other in zip(pids, li.other_processes, strict=True):
            named.setdefault(int(pid), other)
        order = owner_order(list(named), lineages or {})
        others = tuple(named[p] for p in order[1:])
        if order[0] == li.pid:
            out.append(replace(li, other_processes=others))
            continue
        name = named[order[0]].rpartition("/")[0]
        out.append(replace(li, process=None if name == "?" and li.process is None else name,
                           pid=order[0], other_processes=others))
    return out


def comm_names(body: str) -> tuple[dict[int, str], dict[int, Lineage]]:
    """pid -> comm and pid -> lineage from the probe's 'PID PPID START COMM' lines (a comm
    may hold spaces; PPID and START are '-' where the pid's stat could not be read)."""
    names: dict[int, str] = {}
    lineages: dict[int, Lineage] = {}
    for line in body.split("\n"):
        fields = line.split(" ", 3)
        if len(fields) < 4 or not is_number(fields[0]):
            continue
        pid, ppid, start, names[int(pid)] = fields
        if is_number(ppid) and is_number(start):
            lineages[int(pid)] = Lineage(int(ppid), int(start))
    return names, lineages


def one_per_socket(rows: Sequence[tuple[str, Listener]]) -> list[Listener]:
    """lsof's rows (DEVICE, listener), one per holding process, as one listener per
    socket (the same device: an inode on Linux, the socket's kernel address elsewhere;
    the same protocol and address): its holders as `owner_first` has them, where the
    first of its rows stood. Rows without a device stay as they are."""
    merged: dict[tuple[object, ...], list[Listener]] = {}
    order: list[tuple[object, ...]] = []
    for n, (device, li) in enumerate(rows):
        known = is_number(device) or (device.startswith("0x") and len(device) > 2)
        key: tuple[object, ...] = (device, li.proto, li.family, li.address, li.port) \
            if known else (n,)
        if key not in merged:
            merged[key] = []
            order.append(key)
        merged[key].append(li)
    out = []
    for key in order:
        group = sorted(merged[key], key=lambda li: (False, -1) if li.pid is None
                       else owner_rank(li.pid))
        first = group[0]
        others = tuple(f"{li.process or '?'}/{li.pid}" for li in group[1:])
        user = opener_user([(li.pid, li.user) for li in group]) or first.user
        out.append(first if not others else replace(first, other_processes=others,
                                                    user=user))
    return out


def opener_user(holders: Sequence[tuple[int | None, str | None]]) -> str | None:
    """The user of the holder (pid, user) that opened a socket, as far as pids tell: the
    lowest pid, pid 1 included (launchd that activated a service, a root master that
    forked its workers); None if it shows none. For tools that show each process's
    user, not the socket's (lsof -F on macOS and AIX, OpenBSD fstat)."""
    known = [(pid, user) for pid, user in holders if pid is not None and user is not None]
    return min(known)[1] if known else None


def user_named(uid: int, names: Mapping[int, str]) -> str:
    """The name of `uid` (root for 0), or its number where no passwd entry names it."""
    return "root" if uid == 0 else names.get(uid, str(uid))
