"""What a collection covered: which protocols and address families its sections listed.

A host is judged only on a listing of every protocol and family it has (TCP and UDP,
IPv4 and IPv6). Each section of the probe's output covers some of these `Slot`s when
it succeeded (exit 0): a one-command tool (ss, sockstat, netstat -an on most systems)
covers all four, HP-UX lists each family with its own command, macOS and AIX lsof
each protocol, the Linux /proc fallback reads one table per protocol and family, and
owner tables (fstat, rmsock, tasklist, passwd) and cross-checks cover nothing.

Whether a host has IPv6 is told only where the probe can see it for certain: on
Linux, the kernel shows /proc/net/tcp6 and udp6 exactly when it has IPv6 (the probe
reports a missing table as `absent`; without IPv6 no IPv6 socket can exist). Every
other host is taken to have both families, so a failed IPv6 listing there is never
read as "no IPv6 listeners".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Slot = tuple[str, int]  # (protocol, address family): ("tcp", 4) ...

TCP4: Slot = ("tcp", 4)
TCP6: Slot = ("tcp", 6)
UDP4: Slot = ("udp", 4)
UDP6: Slot = ("udp", 6)
ALL: frozenset[Slot] = frozenset({TCP4, TCP6, UDP4, UDP6})
IPV4: frozenset[Slot] = frozenset({TCP4, UDP4})
IPV6: frozenset[Slot] = frozenset({TCP6, UDP6})
TCP: frozenset[Slot] = frozenset({TCP4, TCP6})
UDP: frozenset[Slot] = frozenset({UDP4, UDP6})
NONE: frozenset[Slot] = frozenset()

# The Linux /proc fallback: one section per kernel table.
PROC_TABLES: dict[str, Slot] = {
    "proc-net-tcp": TCP4, "proc-net-tcp6": TCP6, "proc-net-udp": UDP4, "proc-net-udp6": UDP6,
}
# Parts that only add to what another part listed (owners, the kernel's tables to check
# lsof against): they cover nothing of their own.
SUPPORTING_PARTS = frozenset({"users", "names", "fstat", "rmsock", "tasklist", "tables"})


def label(slot: Slot) -> str:
    """'tcp/IPv4' for ("tcp", 4)."""
    return f"{slot[0]}/IPv{slot[1]}"


def labels(slots: Iterable[Slot]) -> str:
    """Slots as reports name them, in a fixed order: 'tcp/IPv4, udp/IPv6'."""
    return ", ".join(label(s) for s in sorted(slots))


def where(section: str) -> str:
    """What a section read, as the message of an incomplete host names it."""
    return f"/proc/net/{section[len('proc-net-'):]}" if section in PROC_TABLES else section


def absent_slots(absent: Iterable[str]) -> frozenset[Slot]:
    """The slots a host does not have, from the tables the probe reported absent."""
    return frozenset(PROC_TABLES[name] for name in absent if name in PROC_TABLES)


def missing(covered: frozenset[Slot], absent: frozenset[Slot]) -> frozenset[Slot]:
    """What the host has that the sections did not list."""
    return ALL - absent - covered


def message(lacking: frozenset[Slot], failed: Sequence[tuple[str, int | None]]) -> str:
    """The error of an incomplete host: what was not listed and which commands failed."""
    said = ", ".join(f"{where(name)}: exit {'?' if rc is None else rc}" for name, rc in failed)
    return (f"incomplete collection: {labels(lacking)} not listed"
            f"{f' ({said})' if said else ''}; no other tool covered "
            f"{'it' if len(lacking) == 1 else 'them'}, and a partial listing is never judged")
