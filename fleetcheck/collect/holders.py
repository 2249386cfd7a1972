"""Who holds a socket, told the same way by every collector.

A socket may be held by several processes: a pre-fork server's master and workers, the
init system that opened it and the service it was passed to. ss names every holder,
the highest pid first; net-tools and BusyBox netstat name the lowest only; the /proc
fallback reads them all; lsof prints a row per holder. A collector's listeners are one
per socket, named by its oldest holder that is not the init system: the lowest pid but
1 (a pre-fork master, not its newest worker; the service systemd or launchd activated,
not pid 1 itself), the others after it in pid order. So a host reads the same through
ss, lsof and /proc, and a socket's process stays put as workers come and go (ss names
the newest holder first, which `fleetcheck parse` keeps as the tool printed it;
netstat can show the lowest pid only).

A socket's user is its owner's name, from the uid the kernel's tables give (what ss -e
and netstat -e show, to anyone: a run without root names the same user); a uid no
passwd entry names is told as its number, as ls, ps and lsof print it. Where a tool
shows only its holders' users (lsof -F on macOS and AIX, OpenBSD fstat), it is the
user of the holder that opened it, as far as pids tell (`opener_user`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from fleetcheck.model import Listener
from fleetcheck.numbers import is_number


def owner_rank(pid: int) -> tuple[bool, int]:
    """Holders in owner order: by pid, pid 1 (the init system, an activator) last."""
    return pid == 1, pid


def owner_first(listeners: Sequence[Listener]) -> list[Listener]:
    """`listeners` with each one's holders in owner order (`owner_rank`): the first owns it."""
    out = []
    for li in listeners:
        pids = [o.rpartition("/")[2] for o in li.other_processes]
        if not li.other_processes or li.pid is None or not all(map(is_number, pids)):
            out.append(li)
            continue
        holders = sorted([(li.pid, f"{li.process or '?'}/{li.pid}"),
                          *((int(pid), o) for pid, o in zip(pids, li.other_processes,
                                                            strict=True))],
                         key=lambda h: owner_rank(h[0]))
        first = holders[0][1]
        if first == f"{li.process or '?'}/{li.pid}":
            out.append(replace(li, other_processes=tuple(h for _, h in holders[1:])))
            continue
        name, _, pid = first.rpartition("/")
        out.append(replace(li, process=None if name == "?" and li.process is None else name,
                           pid=int(pid), other_processes=tuple(h for _, h in holders[1:])))
    return out


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
