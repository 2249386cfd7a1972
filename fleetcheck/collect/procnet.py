"""The /proc fallback: socket tables plus which process holds which socket, from /proc/*."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from fleetcheck.collect.holders import Lineage, owner_first, user_named
from fleetcheck.collect.sections import Section
from fleetcheck.frozen import replace
from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers import owners, procnet
from fleetcheck.parsers.common import lines

_FD_DIR = re.compile(r"/proc/([0-9]+)/fd:")
_SOCKET = " -> socket:["
_PROC_DIR = re.compile(r"\s/proc/([0-9]+)$")
# A /proc/PID/stat record ends with the state and some 50 numbers after the name's ')';
# a name (15 bytes at most) cannot print 20 of them, so it cannot end a record early.
_STAT_FIELDS = 20
DOUBTFUL = ("the `ls -l /proc/*/fd` lines naming its holder cannot be trusted (a header "
            "seen twice, or of a process /proc/*/stat did not show: a file name holding a "
            "newline can forge such lines)")


def stat_names(body: str) -> tuple[dict[int, str], dict[int, Lineage]]:
    """pid -> comm and pid -> lineage (parent, start time), from `cat /proc/*/stat`
    ('1234 (name with spaces) S 1 ...').

    A name may hold newlines, parentheses and digits, so records are not lines: a record
    ends on the line whose text after its last ')' is a state letter and at least
    `_STAT_FIELDS` numbers, which no name is long enough to forge. The name is what lies
    between the record's first '(' and its last ')'.
    """
    names: dict[int, str] = {}
    lineages: dict[int, Lineage] = {}
    record: list[str] = []
    for line in lines(body):
        record.append(line)
        close = line.rfind(")")
        if close < 0:
            continue
        after = line[close + 1:].split()
        if len(after) <= _STAT_FIELDS or not (len(after[0]) == 1 and after[0].isalpha()) \
                or not all(is_number(f.lstrip("-"))
                           for f in after[1:]):
            continue
        text = "\n".join(record)
        record = []
        pid, sep, rest = text.partition(" (")
        if sep and is_number(pid):
            names[int(pid)] = rest[:rest.rfind(")")]
            # after the name: state, ppid, ... starttime (the 22nd field of the record)
            lineages[int(pid)] = Lineage(int(after[1]), int(after[19]))
    return names, lineages


def one_per_inode(listeners: Sequence[Listener]) -> list[Listener]:
    """`listeners` of the kernel's tables with each socket once: a table read while
    sockets come and go can show one twice (the kernel resumes each read at a position
    counted in entries, which an entry added or removed before it moves), and a socket
    is known by its inode. Entries without an inode (0: none) are kept as they are."""
    seen: set[tuple[str, int]] = set()
    out = []
    for li in listeners:
        if li.inode:
            key = (li.proto, li.inode)
            if key in seen:
                continue
            seen.add(key)
        out.append(li)
    return out


def _users(body: str) -> dict[int, str]:
    """pid -> owner, from `ls -ld /proc/*` (the third column is the owner)."""
    users = {}
    for line in lines(body):
        m = _PROC_DIR.search(line)
        words = line.split()
        if m is not None and len(words) >= 3 and is_number(m.group(1)):
            users[int(m.group(1))] = words[2]
    return users


def _alive(body: str) -> set[int]:
    """The pids of `echo /proc/[0-9]*`, run after the descriptors were listed."""
    return {int(pid) for word in body.split() if (pid := word.removeprefix("/proc/")) != word
            and is_number(pid)}


def _holders(body: str, known: set[int], alive: set[int],
             ) -> tuple[dict[int, list[int]], set[int]]:
    """socket inode -> pids holding it, from `ls -l /proc/*/fd`; and the doubtful inodes.

    BusyBox ls prints a link's target raw, so a file name holding newlines can forge a
    '/proc/PID/fd:' header and socket lines under it. A header seen twice, or of a pid
    that /proc/*/stat did not show, is not believed: the sockets listed under it are
    attributed to nobody and reported doubtful. But for a pid `alive` after the listing
    (a process started since /proc/*/stat was read, such as a pre-fork server's new
    worker: a forged header would have to name a pid born in those milliseconds): its
    sockets are attributed to their other holders, and doubtful only if none is known.
    """
    headers = Counter(int(m.group(1)) for line in lines(body)
                      if (m := _FD_DIR.fullmatch(line)) is not None and is_number(m.group(1)))
    holders: dict[int, list[int]] = {}
    doubtful: set[int] = set()
    newer: set[int] = set()  # held by a process started since the names were read
    pid = None
    for line in lines(body):
        header = _FD_DIR.fullmatch(line)
        if header is not None:  # a pid of more digits than int() reads is no process's
            pid = int(header.group(1)) if is_number(header.group(1)) else None
            continue
        at = line.find(_SOCKET)
        if at < 0 or pid is None or not line.endswith("]"):
            continue
        number = line[at + len(_SOCKET):-1]
        if not is_number(number):
            continue
        inode = int(number)
        if headers[pid] != 1 or (known and pid not in known):
            (newer if headers[pid] == 1 and pid in alive else doubtful).add(inode)
            continue
        pids = holders.setdefault(inode, [])
        if pid not in pids:
            pids.append(pid)
    return holders, doubtful | (newer - holders.keys())


def merge_proc_sections(sections: Sequence[Section]) -> list[Listener]:
    """Listeners from every proc-net-* section, with owners where /proc showed them, in
    owner order (`owner_first`)."""
    bodies = {s.name: s.body for s in sections}
    names, lineages = stat_names(bodies.get("proc-stat", ""))
    users = _users(bodies.get("proc-owners", ""))
    holders, doubtful = _holders(bodies.get("proc-fds", ""), set(names),
                                 _alive(bodies.get("proc-alive", "")))
    tables: list[Listener] = []
    for s in sections:
        if s.name.startswith("proc-net-"):
            tables.extend(procnet.parse(s.body))
    listeners = one_per_inode(tables)
    # Each socket's owner by its uid (root is uid 0 everywhere, and not looked up), as the
    # other collectors name it even unprivileged, and with root too (collect/holders.py).
    by_uid = owners.parse_passwd(bodies.get("proc-users", ""))
    out = []
    for read in listeners:
        owner = user_named(read.uid, by_uid) if read.uid is not None and read.user is None \
            else None
        li = replace(read, user=owner) if owner is not None else read
        if li.inode is not None and li.inode in doubtful:
            out.append(replace(li, owner_note=DOUBTFUL))
        else:
            out.append(_owned(li, sorted(holders.get(li.inode or -1, [])), names, users))
    return owner_first(out, lineages)


def _owned(listener: Listener, pids: list[int], names: dict[int, str],
           users: dict[int, str]) -> Listener:
    """`listener` with its lowest holding pid as owner and the others as other_processes
    (`owner_first` then puts them in owner order);
    its user the socket's owner where the table gave its uid, else the owner's."""
    if not pids:
        return listener
    pid = pids[0]
    return replace(listener, pid=pid, process=names.get(pid),
                   user=listener.user or users.get(pid),
                   other_processes=tuple(f"{names.get(p) or '?'}/{p}" for p in pids[1:]))
