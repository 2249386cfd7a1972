"""Turning the probe's sections into listeners: pick the attempt that worked, merge its parts.

Most tools print everything in one section, named after their parser. Some need
several commands, each fenced as '<collector>.<part>': HP-UX lists IPv4 and IPv6
separately, macOS and AIX lsof TCP and UDP; OpenBSD netstat, AIX netstat and Windows
netstat name no processes, so an owner table (fstat, rmsock, tasklist) is merged in.
`COMBINERS` say how a collector's parts merge. The Linux /proc
fallback prints one section per kernel table (`proc-net-tcp` ...) and three owner
tables. Whatever the tool, the attempt used must have listed every protocol and
family the host has (`coverage`), or the host is incomplete.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from fleetcheck.collect import coverage
from fleetcheck.collect.holders import (
    Lineages,
    comm_names,
    one_per_socket,
    opener_user,
    owner_first,
    owner_rank,
    user_named,
)
from fleetcheck.collect.oses import POSIX_TOOLS
from fleetcheck.collect.procnet import merge_proc_sections, one_per_inode, stat_names
from fleetcheck.collect.sections import Section
from fleetcheck.frozen import frozen, replace
from fleetcheck.model import Listener
from fleetcheck.numbers import is_number
from fleetcheck.parsers import PARSERS, lsof, owners, procnet, ss
from fleetcheck.parsers.common import ParseError

# Bodies of the parts that ran and succeeded, by part name -> listeners and notes.
Merge = Callable[[dict[str, str]], tuple[list[Listener], list[str]]]


@frozen
class Combined:
    """What a host's sections amount to."""

    collector: str
    listeners: list[Listener]
    notes: list[str]


class NoTool(Exception):
    """No attempt of the probe succeeded; the message says what was tried."""


class Incomplete(Exception):
    """The attempt used listed only some protocols or families; the message names the rest."""


# The other systems' merges import their dialects when first used: a scan of Linux hosts
# loads none of them (see parsers.PARSERS).
def _hpux(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    # Both parts are there: an attempt missing one is Incomplete before any merge.
    parse = PARSERS["bsd-netstat"]
    return parse(bodies["inet"]) + parse(bodies["inet6"]), []


def _lsof_fields(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    # One text, as lsof would print both runs: a socket listed twice is one listener, and
    # one several processes hold (launchd and the service it started) too.
    from fleetcheck.parsers import lsof_fields

    return one_per_socket(lsof_fields.parse_rows(bodies["tcp"] + bodies["udp"])), []


def _sockstat(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    # A row per holding process: rows of one socket ID (sockstat -i) are one listener.
    from fleetcheck.parsers import sockstat

    return one_per_socket(sockstat.parse_rows(bodies[""])), []


def _openbsd(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    listeners = PARSERS["bsd-netstat"](bodies["netstat"])
    if "fstat" not in bodies:
        return listeners, ["fstat failed: the processes behind the sockets are not known"]
    try:
        table = owners.parse_fstat(bodies["fstat"])
    except ParseError as exc:  # an owner table costs names, never the listeners
        return listeners, [f"fstat output could not be read ({exc}): the processes behind "
                           "the sockets are not known"]
    return [_owned(li, table.get((li.proto, li.family, li.address, li.port), []))
            for li in listeners], []


def _aix(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    from fleetcheck.parsers import bsd_netstat

    rows = bsd_netstat.parse_rows(bodies["netstat"])
    if "rmsock" not in bodies:
        return [r.listener for r in rows], []
    table = owners.parse_rmsock(bodies["rmsock"])
    return [_owned(r.listener, [table[r.socket]] if r.socket in table else [])
            for r in rows], []


def _windows(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    listeners = PARSERS["windows-netstat"](bodies["netstat"])
    if "tasklist" not in bodies:
        return listeners, ["tasklist failed: only process ids are known"]
    from fleetcheck.parsers.windows_netstat import parse_tasklist

    try:
        names = parse_tasklist(bodies["tasklist"])
    except ParseError as exc:  # an owner table costs names, never the listeners
        return listeners, [f"tasklist output could not be read ({exc}): only process ids "
                           "are known"]
    return [replace(li, process=names.get(li.pid)) if li.pid is not None and not li.process
            else li for li in listeners], []


def _ss(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    listeners = _named(ss.parse_with_uids(bodies[""]), bodies.get("users", ""))
    return _by_comm(listeners, bodies.get("names", ""), _ss_printed), []


def _ss_printed(name: str, comm: str) -> bool:
    """Whether ss prints `comm` as `name`: cut at its first ')' ('pa(re)n' as 'pa(re'), or,
    as ss of iproute2 7 does, masked ('wëb' as 'w??b')."""
    return name in (comm.split(")", 1)[0], ss.masked(comm))


def _lsof_printed(name: str, comm: str) -> bool:
    """Whether lsof prints `comm` as `name`: up to the ')' closing the '(' before it ('a)b'
    as 'a'). A comm starting with ')' leaves lsof's name empty, and lsof prints what its
    buffer held before, another process's name: any name then. A comm with bytes that
    are no ASCII may be cut further: lsof sizes its COMMAND column counting each such
    byte as one character and prints it as four ('\\xd0'), so the name stops, at a whole
    byte, where the column does (as wide as the longest name it counted)."""
    shown = lsof.shown(comm)
    if shown is None:
        return False
    if shown in (name, ""):
        return True
    # the cut may end inside a character: its bytes read as U+FFFD
    return not shown.isascii() and shown.startswith(name.rstrip("\ufffd"))


def _by_comm(listeners: list[Listener], comms: str,
             printed: Callable[[str, str], bool]) -> list[Listener]:
    """Listeners named by their comm where the tool printed it cut or masked (`printed`:
    whether the tool prints a comm as a name): where the probe read the pid's comm
    (`comm_names`) and the tool printed it so (a pid reused since keeps the tool's name)."""
    names = comm_names(comms)[0]
    if not names:
        return listeners

    def unmasked(name: str, pid: int | None) -> str:
        comm = names.get(pid) if pid is not None else None
        if comm is None or comm == name:
            return name
        return comm if printed(name, comm) else name

    out = []
    for li in listeners:
        others = []
        for other in li.other_processes:
            name, _, pid = other.rpartition("/")
            others.append(f"{unmasked(name, int(pid))}/{pid}")
        # ss prints a comm starting with ")" as "": that too is a name to read whole
        process = unmasked(li.process, li.pid) if li.process is not None else None
        same = process == li.process and tuple(others) == li.other_processes
        out.append(li if same else replace(li, process=process,
                                           other_processes=tuple(others)))
    return out


def _netstat(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    # -n makes net-tools print uids in the User column: a uid, not a name to match.
    listeners = [replace(li, uid=int(li.user), user=None) if li.user and is_number(li.user)
                 else li for li in PARSERS["netstat"](bodies[""])]
    return _renamed(_named(listeners, bodies.get("users", "")), bodies.get("names", "")), []


def _busybox_netstat(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    return _renamed(PARSERS["busybox-netstat"](bodies[""]), bodies.get("names", "")), []


def _renamed(listeners: list[Listener], stats: str) -> list[Listener]:
    """Listeners named by their process's kernel name (comm, from its /proc/PID/stat), as
    ss, lsof and /proc name them, where netstat printed the command line's words."""
    names = stat_names(stats)[0]
    return [replace(li, process=names[li.pid]) if li.pid in names else li
            for li in listeners]


UNLISTED = ("lsof did not list the process holding it (lsof lists only the processes it "
            "may read, every one as root, and skips a process whose name leaves a '(' "
            "unclosed, such as 'a(b' or 'a((b)', or goes on after a ')' with the word 'Z', "
            "such as 'a)Z b', which it takes for a zombie's; or the process ended while "
            "the probe ran); the kernel's socket table shows the socket")


def _lsof(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    """lsof's listeners, plus each socket the kernel's tables show and lsof did not list."""
    rows = lsof.with_devices(bodies[""])
    listeners = _by_comm([li for _, li in rows], bodies.get("names", ""), _lsof_printed)
    if "tables" not in bodies:
        return listeners, ["the kernel's socket tables could not be read: only what lsof "
                           "listed is known"]
    try:
        kernel = one_per_inode(procnet.parse(bodies["tables"]))
    except ParseError as exc:
        return listeners, [f"the kernel's socket tables could not be read ({exc}): only "
                           "what lsof listed is known"]
    listeners = _as_socket_owned(rows, _as_kernel_mapped(rows, listeners, kernel), kernel,
                                 bodies.get("users", ""))
    listed = Counter(lsof.sockets(bodies[""]))
    unlisted = []
    for li in kernel:
        key = (li.proto, li.family, _as_lsof_names(li.address), li.port)
        if listed[key] > 0:
            listed[key] -= 1
        else:  # the socket's uid is the kernel's word, whoever holds it: kept, and named
            unlisted.append(replace(li, inode=None, owner_note=UNLISTED))
    return listeners + _named(unlisted, bodies.get("users", "")), []


def _as_socket_owned(rows: list[tuple[str, Listener]], listeners: list[Listener],
                     kernel: list[Listener], passwd: str) -> list[Listener]:
    """One listener per socket (lsof prints a row per holding process), its user the
    socket's owner in the kernel's table (the row's DEVICE is its inode), as ss names it:
    a daemon that dropped root after binding, or a root master's workers, hold a socket
    that is root's."""
    uids = {str(k.inode): k.uid for k in kernel if k.inode is not None and k.uid is not None}
    names = owners.parse_passwd(passwd)
    pairs = [(device, li if uids.get(device) is None
              else replace(li, user=user_named(uids[device], names)))
             for (device, _), li in zip(rows, listeners, strict=True)]
    return one_per_socket(pairs)


def _as_kernel_mapped(rows: list[tuple[str, Listener]], listeners: list[Listener],
                      kernel: list[Listener]) -> list[Listener]:
    """lsof's listeners on IPv4-mapped addresses as the kernel's tables (and ss) show them.

    lsof prints an IPv6 socket bound to ::ffff:10.0.0.5 as '10.0.0.5' and one bound to
    ::ffff:0.0.0.0 as '*', which read as '::' (IPv6 any, maybe IPv4 too) where the socket
    takes IPv4 only. The row's DEVICE is the socket's inode: the table's entry of that
    inode (same protocol and port) gives the address.
    """
    mapped = {(str(k.inode), k.proto, k.port): k for k in kernel
              if k.inode is not None and k.address.startswith("::ffff:")}
    out = []
    for (device, _), li in zip(rows, listeners, strict=True):
        k = mapped.get((device, li.proto, li.port))
        out.append(li if k is None or li.family != 6 else
                   replace(li, address=k.address, dual_stack=k.dual_stack))
    return out


def _as_lsof_names(address: str) -> str:
    """A kernel table's address as lsof prints it: an IPv6 socket bound to an IPv4-mapped
    address by its IPv4 address (type IPv6), ::ffff:0.0.0.0 as '*' (so '::'). Matched as
    the table prints them, each was listed twice: lsof's row and an 'unlisted' copy."""
    if address.startswith("::ffff:") and "." in address:
        ipv4 = address.removeprefix("::ffff:")
        return "::" if ipv4 == "0.0.0.0" else ipv4
    return address


def _named(listeners: list[Listener], passwd: str) -> list[Listener]:
    """Listeners whose owner is known only by uid, named from passwd lines where possible."""
    names = owners.parse_passwd(passwd)  # uid 0 is not looked up: root
    return [replace(li, user=user_named(li.uid, names))
            if li.user is None and li.uid is not None else li for li in listeners]


def _owned(listener: Listener, held: Sequence[owners.Owner]) -> Listener:
    """`listener` owned by the first of its holders in owner order (`owner_rank`), its
    user the opener's (`opener_user`), the other holders (each process once) as
    other_processes."""
    # An owner table (fstat) lists the newest process first and a process once per
    # descriptor, and shows each process's user, not the socket's.
    ranked = sorted({o.pid: o for o in reversed(held)}.values(),
                    key=lambda o: owner_rank(o.pid))
    if not ranked:
        return listener
    first = ranked[0]
    return replace(listener, pid=first.pid, process=first.process,
                   user=opener_user([(o.pid, o.user) for o in ranked]) or listener.user,
                   other_processes=tuple(f"{o.process}/{o.pid}" for o in ranked[1:]))


# Collectors of several parts (and ss/netstat, whose bare section is part ""): how the
# bodies of the parts that succeeded become listeners.
COMBINERS: dict[str, Merge] = {
    "ss": _ss,
    "netstat": _netstat,
    "busybox-netstat": _busybox_netstat,
    "lsof": _lsof,
    "sockstat": _sockstat,
    "hpux-netstat": _hpux,
    "lsof-fields": _lsof_fields,
    "openbsd-netstat": _openbsd,
    "aix-netstat": _aix,
    "windows-netstat": _windows,
}


def combine(sections: Sequence[Section], family: str | None = None,
            absent: Iterable[str] = ()) -> Combined:
    """The listeners of the attempt the probe settled on; NoTool or Incomplete otherwise.

    The probe stops at the first attempt that counts, so the attempt used is the last one
    that got started (its listing ran). It must cover every protocol and family the host
    has (`coverage`; `absent` names the tables the host does not have); a part that
    failed and was not covered makes it Incomplete. ParseError propagates.
    """
    if not sections:
        raise NoTool("no socket-listing tool was found (a fleetcheck_tool that this OS "
                     "does not have tries nothing)")
    attempts = _attempts(sections)
    used = next((a for a in reversed(attempts) if _started(a, family)), None)
    if used is None:
        raise NoTool(_tried(sections))
    covered = frozenset().union(*(covers(s.name, family) for s in used if s.rc == 0))
    lacking = coverage.missing(covered, coverage.absent_slots(absent))
    if lacking:
        failed = [(s.name, s.rc) for s in sections
                  if s.rc != 0 and covers(s.name, family) & lacking]
        raise Incomplete(coverage.message(lacking, failed))
    collector = _collector(used[0].name)
    good = [s for s in used if s.rc == 0]
    # Holders in owner order whatever the tool (collect/holders.py says why).
    if collector == "proc":
        return Combined("proc", merge_proc_sections(good), [])
    merge = COMBINERS.get(collector)
    if merge is None:
        if collector not in PARSERS:
            raise ParseError(f"no parser for the {collector!r} section")
        return Combined(collector, owner_first(PARSERS[collector](used[0].body)), [])
    # A part that failed is left out; the merge says what its absence costs.
    bodies = {s.name.partition(".")[2]: s.body for s in good}
    listeners, notes = merge(bodies)
    return Combined(collector, owner_first(listeners, _lineages(collector, bodies)), notes)


def _lineages(collector: str, bodies: dict[str, str]) -> Lineages:
    """The lineage of the holders whose /proc/PID/stat the probe read after ss or lsof
    (net-tools and BusyBox netstat name one holder a socket: nothing to rank)."""
    if collector in ("ss", "lsof"):
        return comm_names(bodies.get("names", ""))[1]
    return {}


def covers(name: str, family: str | None) -> frozenset[coverage.Slot]:
    """What section `name` lists when it succeeds, on an OS of `family`.

    A part some OS defines covers what it covers there; with the family unknown, only
    what it covers on every OS that has it. Linux tools and Windows cover everything.
    """
    if name.startswith("proc-"):
        return frozenset({coverage.PROC_TABLES[name]}) if name in coverage.PROC_TABLES \
            else coverage.NONE
    if name.partition(".")[2] in coverage.SUPPORTING_PARTS:
        return coverage.NONE
    families = [family] if family in POSIX_TOOLS else list(POSIX_TOOLS) if family is None else []
    defined = [part.covers for f in families for attempt in POSIX_TOOLS[f]
               for part in attempt.parts if part.name == name]
    return frozenset.intersection(*defined) if defined else coverage.ALL


def _collector(name: str) -> str:
    return "proc" if name.startswith("proc-") else name.partition(".")[0]


def _attempts(sections: Sequence[Section]) -> list[list[Section]]:
    """The sections grouped by attempt: a new one starts at another collector's section, or
    at a part this attempt already printed (macOS tries `bsd-netstat` twice)."""
    out: list[list[Section]] = []
    for section in sections:
        current = out[-1] if out else None
        if current is not None and _collector(current[0].name) == _collector(section.name) \
                and all(s.name != section.name for s in current):
            current.append(section)
        else:
            out.append([section])
    return out


def _started(attempt: Sequence[Section], family: str | None) -> bool:
    """Whether an attempt got as far as listing sockets (for /proc: any table was read)."""
    if _collector(attempt[0].name) == "proc":
        return any(s.rc == 0 and covers(s.name, family) for s in attempt)
    return attempt[0].rc == 0


def _tried(sections: Sequence[Section]) -> str:
    seen: list[str] = []
    for s in sections:
        if s.rc not in (0, None) or s is sections[-1]:
            entry = f"{s.name} (exit {s.rc})"
            if entry not in seen:
                seen.append(entry)
    return "no usable socket-listing tool; tried: " + ", ".join(seen)
