"""Process names any local user can give a process, and what each Linux tool shows of them.

`NAMES` are names chosen to break parsers: a newline (`prctl(PR_SET_NAME)` needs no
privilege, and real ss, netstat and /proc print it raw), the separators
`str.splitlines()` also breaks at, tabs, quotes, parentheses, commas, each dialect's
own syntax, a terminal escape sequence and bytes that are no UTF-8 (as surrogate
escapes). `hostile_socks(port)` gives one listening socket per name, ready for
`SocketHolders.hold` or `SshLab.hold`; `shown(tool, name)` is what that tool prints as
the name, as fleetcheck reads it (the output decoded as UTF-8 with replacement).
"""

from __future__ import annotations

import os

from tests.lab.netns import Sock

NAMES: dict[str, str] = {
    "newline": "ev\nil",
    "newline-first": "\nlead",
    "line-separator": "x\u2028y",  # str.splitlines() breaks here
    "next-line": "x\x85y\x0bz\x0cw",  # and here (NEL, VT, FF)
    "tab": "t\tab",
    "quotes": "q\"uo'te",
    "parentheses": "pa(re)n",  # ss stops a name at its first ')': ss shows 'pa(re'
    "comma": "com,ma",
    "ss-holder": '",pid=1,fd=3',  # what follows a name in ss's users:(...)
    "ss-row": "x\ntcp LISTEN 0",  # a name whose second line starts like an ss row
    "netstat-note": "n\n(Not all",  # ... like net-tools' note on stderr
    "escape": "\x1b[31mred\x1b[0m",  # a terminal escape sequence
    "not-utf8": "bad\udcff\udcfe",  # the bytes b'bad\xff\xfe'
    "spaces": "sp  ace ",
    "lsof-message": "lsof:",  # its lsof row starts like lsof's own 'lsof: WARNING: ...'
}
PROCESS_NAME_MAX = 15  # bytes of a comm the kernel keeps (TASK_COMM_LEN - 1)


def hostile_socks(first_port: int, proto: str = "tcp") -> list[Sock]:
    """One listener per hostile name on consecutive ports from `first_port` (0.0.0.0)."""
    return [Sock(proto, "0.0.0.0", first_port + i, process=name)
            for i, name in enumerate(NAMES.values())]


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "replace")


def shown(tool: str, name: str, pid: int) -> str | None:
    """The process name `tool` reports for a process called `name` with pid `pid`.

    ss and /proc read the comm (15 bytes); ss stops at the first ')'. net-tools and
    BusyBox netstat print 'pid/argv[0]' cut to 19 bytes. lsof -F prints the comm with
    escapes that fleetcheck undoes.
    """
    comm = os.fsencode(name)[:PROCESS_NAME_MAX]
    if tool == "ss":
        return _text(comm.split(b")", 1)[0]) or None
    if tool in ("proc", "lsof-fields"):
        return _text(comm) or None
    if tool in ("netstat", "busybox-netstat"):
        field = f"{pid}/".encode() + os.fsencode(name)
        return _text(field[:19]).partition("/")[2].rstrip(" ") or None
    raise ValueError(f"no oracle for {tool!r}")
