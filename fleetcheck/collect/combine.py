"""Turning the probe's sections into listeners: pick the attempt that worked, merge its parts.

Most tools print everything in one section, named after their parser. Some need
several commands, each fenced as '<collector>.<part>': HP-UX lists IPv4 and IPv6
separately; OpenBSD netstat, AIX netstat and Windows netstat name no processes, so
an owner table (fstat, rmsock, tasklist) is merged in. A `Combiner` names the parts
a collector needs (the first is required) and how to merge them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from fleetcheck.collect.probe import Section
from fleetcheck.model import Listener
from fleetcheck.parsers import PARSERS, bsd_netstat, owners, ss
from fleetcheck.parsers.common import ParseError
from fleetcheck.parsers.windows_netstat import parse_tasklist

# Bodies of the parts that ran and succeeded, by part name -> listeners and notes.
Merge = Callable[[dict[str, str]], tuple[list[Listener], list[str]]]


@dataclass(frozen=True, slots=True)
class Combiner:
    """The parts one collector's sections consist of, and how they become listeners."""

    parts: tuple[str, ...]  # parts[0] lists the sockets; the rest add to it
    merge: Merge


@dataclass(frozen=True, slots=True)
class Combined:
    """What a host's sections amount to."""

    collector: str
    listeners: list[Listener]
    notes: list[str]


class NoTool(Exception):
    """No attempt of the probe succeeded; the message says what was tried."""


def _hpux(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    listeners = bsd_netstat.parse(bodies["inet"])
    if "inet6" not in bodies:
        return listeners, ["netstat -f inet6 failed: IPv6 listeners could not be listed"]
    return listeners + bsd_netstat.parse(bodies["inet6"]), []


def _openbsd(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    listeners = bsd_netstat.parse(bodies["netstat"])
    if "fstat" not in bodies:
        return listeners, ["fstat failed: the processes behind the sockets are not known"]
    table = owners.parse_fstat(bodies["fstat"])
    return [_owned(li, table.get((li.proto, li.family, li.address, li.port), []))
            for li in listeners], []


def _aix(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
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
    names = parse_tasklist(bodies["tasklist"])
    return [replace(li, process=names.get(li.pid)) if li.pid is not None and not li.process
            else li for li in listeners], []


def _ss(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    return _named(ss.parse_with_uids(bodies[""]), bodies.get("users", "")), []


def _netstat(bodies: dict[str, str]) -> tuple[list[Listener], list[str]]:
    # -n makes net-tools print uids in the User column: a uid, not a name to match.
    listeners = [replace(li, uid=int(li.user), user=None) if li.user and li.user.isdigit()
                 else li for li in PARSERS["netstat"](bodies[""])]
    return _named(listeners, bodies.get("users", "")), []


def _named(listeners: list[Listener], passwd: str) -> list[Listener]:
    """Listeners whose owner is known only by uid, named from passwd lines where possible."""
    names = {0: "root", **owners.parse_passwd(passwd)}  # uid 0 is not looked up: root
    return [replace(li, user=names[li.uid]) if li.user is None and li.uid in names else li
            for li in listeners]


def _owned(listener: Listener, held: Sequence[owners.Owner]) -> Listener:
    """`listener` with its first holder as owner and the others as other_processes."""
    if not held:
        return listener
    first = held[0]
    return replace(listener, pid=first.pid, process=first.process,
                   user=first.user or listener.user,
                   other_processes=tuple(f"{o.process}/{o.pid}" for o in held[1:]))


COMBINERS: dict[str, Combiner] = {
    "ss": Combiner(("", "users"), _ss),  # "": the bare 'ss' section
    "netstat": Combiner(("", "users"), _netstat),
    "hpux-netstat": Combiner(("inet", "inet6"), _hpux),
    "openbsd-netstat": Combiner(("netstat", "fstat"), _openbsd),
    "aix-netstat": Combiner(("netstat", "rmsock"), _aix),
    "windows-netstat": Combiner(("netstat", "tasklist"), _windows),
}


def combine(sections: Sequence[Section]) -> Combined:
    """The listeners of the last attempt the probe made; NoTool if it failed.

    The probe stops at the first attempt whose main command succeeds, so that attempt
    is the last one in the output. ParseError propagates with the failing part named.
    """
    if not sections:
        raise NoTool("no socket-listing tool was found (a fleetcheck_tool that this OS "
                     "does not have tries nothing)")
    last = sections[-1]
    collector, _, part = last.name.partition(".")
    combiner = COMBINERS.get(collector)
    if combiner is None or not part:
        if last.rc != 0:
            raise NoTool(_tried(sections))
        if collector not in PARSERS:
            raise ParseError(f"no parser for the {collector!r} section")
        return Combined(collector, PARSERS[collector](last.body), [])
    mine = _trailing(sections, collector, combiner.parts[0])
    if mine[0].rc != 0:
        raise NoTool(_tried(sections))
    # A part that failed is left out; the merge says what its absence costs.
    bodies = {s.name.partition(".")[2]: s.body for s in mine if s.rc == 0}
    listeners, notes = combiner.merge(bodies)
    return Combined(collector, listeners, notes)


def _trailing(sections: Sequence[Section], collector: str, first: str) -> list[Section]:
    """The sections of the last attempt: back from the end to its first part."""
    out: list[Section] = []
    for section in reversed(sections):
        out.insert(0, section)
        if section.name == (f"{collector}.{first}" if first else collector):
            return out
    raise NoTool(f"the {collector} output has no {first} part")


def _tried(sections: Sequence[Section]) -> str:
    seen: list[str] = []
    for s in sections:
        if s.rc not in (0, None) or s is sections[-1]:
            entry = f"{s.name} (exit {s.rc})"
            if entry not in seen:
                seen.append(entry)
    return "no usable socket-listing tool; tried: " + ", ".join(seen)
