"""Emulated: every non-Linux dialect that prints process names, with names built to break it.

Written from the captured formats (tests/fixtures): each dialect's rows are rebuilt
around hostile names (tests/lab/hostile.py's, plus NUL, which no Linux process can hold
but which these outputs may carry), printed as each tool prints names (raw; cut to
sockstat's 10 columns; escaped by lsof; JSON-escaped by PowerShell), encoded and decoded
as the collector does (UTF-8, replacing bytes that are none). No listener may be lost,
no output may become a parse error, and each listener carries its name.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from fleetcheck.collect import CollectOptions, collect
from fleetcheck.collect.combine import combine
from fleetcheck.collect.sections import Section
from fleetcheck.jsontext import replaced
from fleetcheck.model import Listener
from fleetcheck.parsers import PARSERS
from fleetcheck.plan import PlannedHost
from tests.lab.emulate import Emulation, Replay, ShellConnector, install
from tests.lab.hostile import NAMES

# Names a process could have on these systems (NUL where an output could carry it).
HOSTILE = {**NAMES, "nul": "nu\x00l", "lone-paren": "a(b", "close-paren": "x) S 1",
           "bracketed": "[a]b]"}
BASE = 30000


def _printed(raw: bytes) -> str:
    """Bytes as the collector reads them: UTF-8, with U+FFFD for what is not."""
    return raw.decode("utf-8", "replace")


def _name(name: str) -> bytes:
    return os.fsencode(name) if "\x00" not in name else name.encode("utf-8", "surrogateescape")


@dataclass(frozen=True)
class Dialect:
    """How one tool prints a row for a name, and what fleetcheck must read back."""

    tool: str
    header: bytes
    row: Callable[[int, bytes, int], bytes]  # (port, printed name, pid) -> the row
    # Read from the right up to 'name:pid': the name's leading blanks fall with the padding.
    shown: Callable[[bytes], str | None] = lambda raw: _printed(raw).lstrip() or None
    names: tuple[str, ...] = tuple(HOSTILE)  # which names this tool can print


def _macos(port: int, name: bytes, pid: int) -> bytes:
    return (b"tcp4       0      0  *.%d                 *.*                    LISTEN        "
            b"         0            0  131072  131072  %s:%d  00100 00000006 000000000000a1c4 "
            b"00000000 00000900      1      0 000001\n" % (port, name, pid))


def _sockstat(port: int, name: bytes, pid: int) -> bytes:
    return b"root     %-10s %5d 4   tcp4   *:%-20d *:*\n" % (name[:10], pid, port)


def _fstat(port: int, name: bytes, pid: int) -> bytes:
    return (b"root     %-10s %5d    3* internet stream tcp 0xfffffd8001c21a18 *:%d\n"
            % (name, pid, port))


def _busybox(port: int, name: bytes, pid: int) -> bytes:
    program = (b"%d/" % pid + name)[:19]
    return (b"tcp        0      0 0.0.0.0:%-15d 0.0.0.0:*               LISTEN      %-19s\n"
            % (port, program))


def _lsof_escape(name: bytes) -> bytes:
    """A command name as lsof -F prints it (control bytes escaped, others as \\xNN)."""
    out = b""
    for byte in name:
        char = bytes([byte])
        special = {b"\n": b"\\n", b"\t": b"\\t", b"\r": b"\\r", b"\b": b"\\b", b"\f": b"\\f",
                   b"\\": b"\\\\"}
        if char in special:
            out += special[char]
        elif byte < 0x20 or byte >= 0x7f:
            out += b"\\x%02x" % byte
        else:
            out += char
    return out


def _lsof_fields(port: int, name: bytes, pid: int) -> bytes:
    return (b"p%d\nc%s\nu0\nLroot\nf3\ntIPv4\nd0x2f0e\nPTCP\nn*:%d\nTST=LISTEN\n"
            % (pid, _lsof_escape(name), port))


DIALECTS = (
    Dialect("bsd-netstat",
            b"Active Internet connections (including servers)\nProto Recv-Q Send-Q  Local "
            b"Address          Foreign Address        (state)          rxbytes      txbytes  "
            b"rhiwat  shiwat        process:pid  state  options           gencnt    flags   "
            b"flags1 usecnt rtncnt fltrs\n", _macos),
    Dialect("sockstat", b"USER     COMMAND    PID   FD  PROTO  LOCAL ADDRESS         FOREIGN "
            b"ADDRESS\n", _sockstat,
            shown=lambda raw: _printed(raw[:10]).strip(" ") or None),
    Dialect("busybox-netstat", b"Active Internet connections (only servers)\nProto Recv-Q "
            b"Send-Q Local Address           Foreign Address         State       PID/Program "
            b"name\n", _busybox,
            names=tuple(n for n in HOSTILE if n != "nul")),
    Dialect("lsof-fields", b"", _lsof_fields, shown=lambda raw: _printed(raw) or None),
)


def _build(dialect: Dialect) -> tuple[str, dict[int, tuple[str, int, str | None]]]:
    """The output, and port -> (name, pid, what fleetcheck must show)."""
    out, expected = dialect.header, {}
    for i, label in enumerate(dialect.names):
        raw, pid = _name(HOSTILE[label]), 4000 + i
        out += dialect.row(BASE + i, raw, pid)
        if dialect.tool == "busybox-netstat":  # 'pid/name' cut to 19 bytes
            shown = _printed((b"%d/" % pid + raw)[:19]).partition("/")[2].rstrip() or None
        else:
            shown = dialect.shown(raw)
        expected[BASE + i] = (label, pid, shown)
    return _printed(out), expected


def _check(found: list[Listener], expected: dict[int, tuple[str, int, str | None]]) -> None:
    by_port = {li.port: li for li in found}
    for port, (label, pid, shown) in expected.items():
        li = by_port.get(port)
        assert li is not None, f"the listener of {label!r} was lost"
        assert (li.pid, li.process) == (pid, shown), label


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.tool)
def test_emulated_hostile_names_keep_every_listener_and_its_name(dialect: Dialect) -> None:
    text, expected = _build(dialect)
    _check(PARSERS[dialect.tool](text), expected)


def test_emulated_openbsd_fstat_names_survive_hostile_names() -> None:
    """OpenBSD: netstat lists, fstat names. A name breaking an fstat line costs at most that
    name; netstat's listeners are all kept."""
    netstat = ("Active Internet connections (including servers)\nProto   Recv-Q Send-Q  Local "
               "Address          Foreign Address        (state)\n")
    fstat = b"USER     CMD          PID   FD MOUNT        INUM  MODE         R/W    SZ|DV\n"
    expected = {}
    for i, label in enumerate(HOSTILE):
        port, pid, raw = BASE + i, 4000 + i, _name(HOSTILE[label])
        netstat += f"tcp          0      0  *.{port}               *.*                    LISTEN\n"
        fstat += _fstat(port, raw, pid)
        expected[port] = (label, pid, _printed(raw).strip(" ") or None)
    got = combine([Section("openbsd-netstat.netstat", netstat, 0),
                   Section("openbsd-netstat.fstat", _printed(fstat), 0)], "openbsd")
    assert got.notes == []
    _check(got.listeners, expected)


def test_emulated_aix_rmsock_names_survive_hostile_names() -> None:
    """AIX: rmsock names the holder of each socket netstat -A lists, as '(name).'."""
    rows = (FIXTURE_DIR / "aix" / "netstat-Aan-7.2.out").read_text()
    addresses = [line.split()[0] for line in rows.split("\n")
                 if line.startswith("f1000") and "LISTEN" in line]
    labels = list(HOSTILE)[:len(addresses)]
    rmsock = b"".join(b"%s The socket 0x%s is being held by proccess %d (%s).\n"
                      % (addr.encode(), addr.encode(), 5000 + i, _name(HOSTILE[label]))
                      for i, (addr, label) in enumerate(zip(addresses, labels, strict=False)))
    got = combine([Section("aix-netstat.netstat", rows, 0),
                   Section("aix-netstat.rmsock", _printed(rmsock), 0)], "aix")
    named = {li.pid: li.process for li in got.listeners if li.pid}
    for i, label in enumerate(labels):
        assert named.get(5000 + i) == (_printed(_name(HOSTILE[label])) or None), label


# Windows file names hold no control characters, quotes or '\\/:*?<>|', but commas,
# parentheses, brackets, spaces and any other Unicode (U+2028 and NEL included).
WINDOWS_NAMES = ("com,ma.exe", "pa(re)n.exe", "[a]b].exe", "x\u2028y.exe", "x\x85y.exe",
                 "sp  ace .exe", "ü (x86).exe")


def test_emulated_windows_netstat_b_and_tasklist_with_hostile_names() -> None:
    rows = "\nActive Connections\n\n  Proto  Local Address  Foreign Address  State  PID\n"
    tasklist = ""
    for i, name in enumerate(WINDOWS_NAMES):
        rows += f"  TCP    0.0.0.0:{BASE + i}  0.0.0.0:0  LISTENING  {4000 + i}\n [{name}]\n"
        quoted = name.replace('"', '""')
        tasklist += f'"{quoted}","{4000 + i}","Services","0","1.234 K"\r\n'
    by_port = {li.port: li for li in PARSERS["windows-netstat"](rows)}
    plain = rows.replace("\n [", "\n#[")  # without -b: names come from tasklist
    plain = "\n".join(line for line in plain.split("\n") if not line.startswith("#"))
    merged = combine([Section("windows-netstat.netstat", plain, 0),
                      Section("windows-netstat.tasklist", tasklist, 0)], "windows")
    by_pid = {li.port: li for li in merged.listeners}
    for i, name in enumerate(WINDOWS_NAMES):
        assert by_port[BASE + i].process == name
        assert by_pid[BASE + i].process == name and by_pid[BASE + i].pid == 4000 + i


def test_emulated_powershell_json_with_hostile_names() -> None:
    items = [{"Protocol": "TCP", "LocalAddress": "0.0.0.0", "LocalPort": BASE + i, "State": 2,
              "OwningProcess": 4000 + i, "ProcessName": name}
             for i, name in enumerate([*HOSTILE.values(), *WINDOWS_NAMES])]
    found = {li.port: li for li in PARSERS["powershell"](json.dumps(items, indent=4))}
    for item in items:
        li = found[int(str(item["LocalPort"]))]
        # JSON carries text, not bytes: half a UTF-16 pair (how the name that is no UTF-8
        # comes out of json.dumps) is no text, and reads as U+FFFD like undecodable bytes
        assert li.process == (replaced(item["ProcessName"]) or None)


FIXTURE_DIR = Path(__file__).resolve().parent.parent / "fixtures"


def test_emulated_macos_host_with_hostile_names_end_to_end(tmp_path: Path) -> None:
    """Through the real probe: a macOS host (not root, so netstat -anv) whose netstat
    prints hostile names, newlines and U+2028 included, inside the probe's sections."""
    dialect = DIALECTS[0]
    text, expected = _build(dialect)
    capture = tmp_path / "netstat-anv.out"
    capture.write_bytes(text.encode("utf-8", "surrogateescape"))
    emulation = Emulation("macos-hostile", "Darwin", "23.4.0", uid=501,
                          tools={"netstat": (Replay("-anv", capture),)})
    shell = install(emulation, tmp_path / "emulated").shell
    host = PlannedHost(name="macos-hostile", address="x", groups=(), policies=(),
                       connection="local")
    transport = ShellConnector({host.name: shell})(host, 0.0)
    got = collect(host, transport, CollectOptions())
    assert got.collector == "bsd-netstat"
    _check(list(got.listeners), expected)
