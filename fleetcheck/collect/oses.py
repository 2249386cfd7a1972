"""What to run on each non-Linux POSIX OS: its listing tools, best first, with fallbacks.

An `Attempt` is one way of listing sockets; its first command must succeed (exit 0)
for the attempt to count, and its further commands (owner tables, the other
address family) then run too. The probe stops at the first attempt that counts: one
whose first command and every other part that lists sockets succeeded (a part that
lists some protocols or families but failed sends the probe on to the next attempt,
which may cover them; see `coverage`).
"""

from __future__ import annotations

from fleetcheck.collect.coverage import ALL, IPV4, IPV6, NONE, TCP, UDP, Slot
from fleetcheck.frozen import frozen

# `uname -s` -> OS family, as `fleetcheck_os` names it too.
UNAME_FAMILIES: dict[str, str] = {
    "Linux": "linux",
    "Darwin": "macos",
    "FreeBSD": "freebsd",
    "DragonFly": "freebsd",
    "OpenBSD": "openbsd",
    "NetBSD": "netbsd",
    "SunOS": "solaris",
    "AIX": "aix",
    "HP-UX": "hpux",
}

# Spellings users write in `fleetcheck_os` for the same families.
OS_ALIASES: dict[str, str] = {
    "darwin": "macos", "mac": "macos", "osx": "macos", "dragonfly": "freebsd",
    "sunos": "solaris", "illumos": "solaris", "hp-ux": "hpux", "win": "windows",
    "busybox": "linux", "alpine": "linux",
}


@frozen
class Part:
    """One command of an attempt; its output is fenced as section `name`."""

    name: str
    command: str
    root_only: bool = False  # skipped (not failed) when the probe is not root
    covers: frozenset[Slot] = ALL  # what it lists when it succeeds; NONE: an owner table


@frozen
class Attempt:
    """One way to list sockets: `collector` names it in reports and in `fleetcheck_tool`."""

    collector: str
    parts: tuple[Part, ...]
    root_only: bool = False  # as non-root this tool would see only the user's own sockets
    program: str = ""  # whose presence (`command -v`) decides; default: the first word

    @property
    def binary(self) -> str:
        """The program that must exist for this attempt to be tried."""
        return self.program or self.parts[0].command.split()[0]


def _single(collector: str, command: str, *, root_only: bool = False,
            program: str = "", covers: frozenset[Slot] = ALL) -> Attempt:
    return Attempt(collector, (Part(collector, command, covers=covers),), root_only, program)


def _lsof(selection: str) -> str:
    """lsof -F of the sockets `selection` picks, exit 0 only when lsof really ran.

    lsof exits 1 both when nothing matched and on errors, so its status says nothing.
    `-p $$` (ORed with the selection) also lists this shell's own files: lsof that
    works always prints something, and an empty output is a failure, never "none".
    """
    return (f'o=$(lsof -nP +c0 {selection} -p $$ -F pcuLtPnTd); '
            '[ -n "$o" ] && printf "%s\\n" "$o"')


# TCP and UDP apart: -sTCP:LISTEN would hide every UDP socket from the same run.
LSOF_FIELDS = Attempt("lsof-fields", (
    Part("lsof-fields.tcp", _lsof("-iTCP -sTCP:LISTEN"), covers=TCP),
    Part("lsof-fields.udp", _lsof("-iUDP"), covers=UDP),
), root_only=True, program="lsof")

# AIX: the kernel address netstat -A prints for each listener, handed to rmsock, which
# names the process holding the socket (root only).
AIX_RMSOCK = (
    "netstat -Aan | awk '$2 ~ /^tcp/ && $NF == \"LISTEN\" {print $1, \"tcpcb\"} "
    "$2 ~ /^udp/ && $5 != \"*.*\" && $6 == \"*.*\" {print $1, \"inpcb\"}' | "
    'while read a k; do echo "$a $(rmsock "$a" "$k" 2>&1)"; done'
)

POSIX_TOOLS: dict[str, tuple[Attempt, ...]] = {
    # lsof sees every process only as root; netstat -anv lists every socket (with pids).
    "macos": (
        LSOF_FIELDS,
        _single("bsd-netstat", "netstat -anv"),
        _single("bsd-netstat", "netstat -an"),
    ),
    "freebsd": (
        # -i (recent FreeBSD) prints each socket's ID, which tells the rows of one shared
        # socket from SO_REUSEPORT sockets; older releases and DragonFly refuse it.
        _single("sockstat", "sockstat -46li"),
        _single("sockstat", "sockstat -46l"),
        _single("bsd-netstat", "netstat -anW"),
        _single("bsd-netstat", "netstat -an"),
    ),
    "netbsd": (
        _single("sockstat", "sockstat -46l"),
        _single("bsd-netstat", "netstat -an"),
    ),
    "openbsd": (
        Attempt("openbsd-netstat", (Part("openbsd-netstat.netstat", "netstat -an"),
                                    Part("openbsd-netstat.fstat", "fstat", covers=NONE))),
    ),
    "solaris": (
        # -u (Solaris 11.2 on) adds each socket's user, pid and command; older releases
        # refuse it, and the next attempt lists without owners.
        _single("solaris-netstat", "netstat -anu -f inet -f inet6"),
        _single("solaris-netstat", "netstat -an -f inet -f inet6"),
        _single("solaris-netstat", "netstat -an"),
    ),
    "hpux": (
        Attempt("hpux-netstat", (Part("hpux-netstat.inet", "netstat -an -f inet", covers=IPV4),
                                 Part("hpux-netstat.inet6", "netstat -an -f inet6",
                                      covers=IPV6))),
        # Without -f, HP-UX netstat lists IPv4 only: a host left with it is incomplete.
        _single("bsd-netstat", "netstat -an", covers=IPV4),
    ),
    "aix": (
        LSOF_FIELDS,
        Attempt("aix-netstat", (Part("aix-netstat.netstat", "netstat -Aan"),
                                Part("aix-netstat.rmsock", AIX_RMSOCK, root_only=True,
                                     covers=NONE))),
        _single("bsd-netstat", "netstat -an"),
    ),
}

FAMILIES = ("linux", "windows", *POSIX_TOOLS)


def family_of(pinned: str) -> str | None:
    """The OS family a `fleetcheck_os` value names, or None if fleetcheck knows no such OS."""
    word = pinned.strip().lower()
    word = OS_ALIASES.get(word, word)
    return word if word in FAMILIES else None
