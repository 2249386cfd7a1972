"""Hostile text for every parser: what a host, or a process name on it, can make a tool print.

`TARGETS` names every function that reads remote text (each dialect parser, the owner
tables, the /proc owner merge, the probe's section splitter and the tool guess), with
the text that gets each of them past its header into the rows (`Target.header`) and the
start of a row up to where a name or a hostile host takes over (`Target.row`).
`adversarial(target, n)` builds, for each chunk of `CHUNKS` and each row start, the
shapes a hostile output takes: a row going on with the chunk n times (and then more of
the row), n/16 rows ending in it, and the chunk alone n times. Used by
tests/parsers/test_linear_time.py and benchmarks/hostile_parsing.py.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from fleetcheck.collect.procnet import merge_proc_sections
from fleetcheck.collect.sections import Section, split_output
from fleetcheck.parsers import PARSERS, ParseError, guess, owners, ss
from fleetcheck.parsers.windows_netstat import parse_tasklist

NONCE = "a1b2c3"
MARK = f"@@fleetcheck:{NONCE}"


@dataclass(frozen=True)
class Target:
    """A function over remote text, the text that leads it into its rows, and row starts
    that end where a name (or a hostile host) takes over."""

    name: str
    parse: Callable[[str], object]
    header: str
    row: str
    more: tuple[str, ...] = ()  # other places in a row where hostile text goes

    @property
    def rows(self) -> tuple[str, ...]:
        """Every row start."""
        return (self.row, *self.more)


def _proc_owners(text: str) -> object:
    """The /proc owner merge, with `text` as each of its three owner tables."""
    table = ("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   "
             "uid  timeout inode\n   0: 00000000:0016 00000000:0000 0A 00000000:00000000 "
             "00:00000000 00000000     0        0 100 1 0 100 0 0 10 0\n")
    return merge_proc_sections([Section("proc-net-tcp", table, 0),
                                Section("proc-stat", text, 0),
                                Section("proc-owners", text, 0),
                                Section("proc-fds", text, 0)])


def _split(text: str) -> object:
    return split_output(f"{MARK} os Linux\n{text}", NONCE)


SS_HEAD = "Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
NETSTAT_HEAD = ("Active Internet connections (only servers)\nProto Recv-Q Send-Q Local Address"
                "           Foreign Address         State       User       Inode      "
                "PID/Program name    \n")
BSD_HEAD = ("Active Internet connections (including servers)\nProto Recv-Q Send-Q  Local "
            "Address          Foreign Address        (state)          rxbytes      txbytes  "
            "rhiwat  shiwat        process:pid  state  options           gencnt    flags   "
            "flags1 usecnt rtncnt fltrs\n")

TARGETS: tuple[Target, ...] = (
    Target("ss", PARSERS["ss"], SS_HEAD,
           "tcp LISTEN 0 128 0.0.0.0:1923 0.0.0.0:* users:((\"x",
           ("tcp LISTEN 0 128 ", "tcp LISTEN 0 128 0.0.0.0:1923 0.0.0.0:* users:((\"x\",pid=1,"
                                 "fd=3)) ino:1 ")),
    Target("ss-uids", ss.parse_with_uids, SS_HEAD,
           "tcp LISTEN 0 128 0.0.0.0:1923 0.0.0.0:* users:((\"x\",pid=1,fd=3)) uid:1 "),
    Target("netstat", PARSERS["netstat"], NETSTAT_HEAD,
           "tcp        0      0 0.0.0.0:1923            0.0.0.0:*               LISTEN      "
           "0          1234       42/x", ("tcp        0      0 ",)),
    Target("busybox-netstat", PARSERS["busybox-netstat"],
           "Active Internet connections (only servers)\nProto Recv-Q Send-Q Local Address  "
           "         Foreign Address         State       PID/Program name\n",
           "tcp        0      0 0.0.0.0:1923            0.0.0.0:*               LISTEN      "
           "42/x"),
    Target("lsof", PARSERS["lsof"],
           "COMMAND     PID   USER   FD   TYPE DEVICE SIZE/OFF NODE NAME\n",
           "x 42 root 3u IPv4 1234 0t0 TCP *:1923 ", ("x", "x 42 root 3u IPv4 1234 0t0 TCP ")),
    Target("lsof-fields", PARSERS["lsof-fields"], "p42\ncx\nu0\nLroot\n", "tIPv4\nPTCP\nn*:"),
    Target("proc-net", PARSERS["proc-net"],
           "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   "
           "uid  timeout inode\n",
           "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 "),
    Target("bsd-netstat", PARSERS["bsd-netstat"], BSD_HEAD,
           "tcp4       0      0  *.1923                 *.*                    LISTEN        "
           "0            0  131072  131072  x", ("tcp4       0      0  ",)),
    Target("sockstat", PARSERS["sockstat"],
           "USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN ADDRESS\n",
           "root     x", ("root     x  42 4   tcp4   1.2.3.4:1",)),
    Target("solaris-netstat", PARSERS["solaris-netstat"],
           "TCP: IPv4\n   Local Address        Remote Address    Swind Send-Q Rwind Recv-Q "
           "   State\n-------------------- -------------------- ----- ------ ----- ------ "
           "-----------\n", "      *.1923               *.*                0      0 128000"),
    Target("windows-netstat", PARSERS["windows-netstat"],
           "\nActive Connections\n\n  Proto  Local Address          Foreign Address        "
           "State           PID\n", "  TCP    0.0.0.0:1923           0.0.0.0:0              "
           "LISTENING       ", ("  TCP    [",)),
    Target("powershell", PARSERS["powershell"], "",
           '[{"Protocol":"TCP","LocalAddress":"0.0.0.0","LocalPort":1923,"State":2,'
           '"ProcessName":"'),
    Target("fstat", owners.parse_fstat,
           "USER     CMD          PID   FD MOUNT        INUM  MODE         R/W    SZ|DV\n",
           "root     x", ("root     x  42  3* internet stream tcp ",)),
    Target("rmsock", owners.parse_rmsock, "",
           "f1000e00005323b8 The socket 0xf1000e0000532008 is being held by proccess 42 (x"),
    Target("passwd", owners.parse_passwd, "", "x:x:1000:1000:"),
    Target("tasklist", parse_tasklist, "", '"x'),
    Target("proc-owners", _proc_owners, "", "42 (x",
           ("/proc/42/fd:\nlrwx------ 1 root root 64 Jan  1 00:00 3 -> socket:[100]\n",
            "dr-xr-xr-x 9 root root 0 Jan  1 00:00 /proc/42")),
    Target("probe-sections", _split, f"{MARK} begin ss\n", "tcp LISTEN 0 0 "),
    Target("guess", guess, "", "  TCP    [", ("", "tcp4 0 0 ")),
)

# What a name or a hostile host repeats: the syntax each dialect hangs on (quotes,
# parentheses, separators, escapes, its own keywords) and plain filler.
CHUNKS = ('("', " ", "(", ")", ",", ":", ".", "0", "a", "\t", '"', "\\", "\\x4", "*", "[", "]",
          "\u2028", "\x00", "\ufffd", ") S 1", "users:(", '",pid=1,fd=2', "off (", "uid:0 ",
          " internet ", "held by proccess 1 (", " -> socket:[", "/proc/1/fd:", "tcp ", ":1 ",
          "p1", "{\"a\":[", "\n")


def adversarial(target: Target, n: int) -> Iterator[tuple[str, str]]:
    """(label, text) for every chunk, row start and shape, each about n chunks long."""
    for chunk in CHUNKS:
        for r, row in enumerate(target.rows):
            start = target.header + row
            yield f"{chunk!r} ending row {r}", start + chunk * n
            yield f"{chunk!r} inside row {r}", start + chunk * n + " " + row + "\n"
            yield f"{chunk!r} ending each of n/16 rows {r}", target.header + (
                row + chunk * 16 + "\n") * max(n // 16, 1)
        yield f"{chunk!r} alone", chunk * n


def attempt(target: Target, text: str) -> None:
    """Run a target: listeners, or ParseError; anything else propagates (a bug)."""
    with contextlib.suppress(ParseError):
        target.parse(text)
