"""Emulated operating systems: shim executables that replay captured outputs of other OSes.

`install(emulation, dest)` writes a directory of shims (uname, id, netstat, sockstat,
lsof, fstat, rmsock ...) and a `shell` wrapper that puts them first on PATH. Each shim
answers only the exact invocations the probe sends and replays a captured output (the
project's fixtures, or the shared corpus read in place); any other invocation fails
loudly, so a probe that asks the wrong question fails its test. Programs the emulated OS
lacks are shimmed as 'not found' (exit 127), since the real ones of this Linux machine
would otherwise answer.

Windows is emulated by a fake cmd.exe or PowerShell used as the login shell: it answers
the probe's `powershell -EncodedCommand` (checking that the script is exactly fleetcheck's
Windows probe) with captured sections, and refuses anything else the way that shell does.

The same `install` serves the local transport (run `shell -c COMMAND`) and, later, sshd
lab hosts (make `shell` the account's login shell, or put `bin/` on its PATH).
"""

from __future__ import annotations

import shlex
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path

from fleetcheck.plan import PlannedHost
from fleetcheck.transport.local import LocalTransport
from tests.conftest import CORPUS, REPO

FIXTURES = REPO / "tests" / "fixtures"
# Every program some probe branch may run: an emulation answers or masks each of them.
PROBED = ("ss", "netstat", "busybox", "lsof", "sockstat", "fstat", "rmsock")
LSOF_TCP = "-nP +c0 -iTCP -sTCP:LISTEN -F pcuLtPnTd"
LSOF_UDP = "-nP +c0 -iUDP -F pcuLtPnTd"


@dataclass(frozen=True)
class Replay:
    """One accepted invocation (arguments joined by spaces) and what it prints."""

    args: str
    output: Path | str  # a captured file, or literal text
    exit: int = 0


@dataclass(frozen=True)
class Emulation:
    """An emulated host: what uname and id say and which tools answer what."""

    name: str
    uname_s: str
    uname_r: str
    uid: int = 0
    tools: dict[str, tuple[Replay, ...]] = field(default_factory=dict)
    windows_shell: str | None = None  # "cmd" or "powershell": a Windows host
    windows_sections: tuple[tuple[str, Path, int], ...] = ()  # (section, capture, rc)
    login_shell: str = "/bin/sh"  # e.g. csh: FreeBSD root's shell before 14.0


def corpus(name: str) -> Path:
    """A shared-corpus output, read in place (never copied)."""
    return CORPUS / f"{name}.out"


def fixture(name: str) -> Path:
    """One of the project's own captures."""
    return FIXTURES / f"{name}.out"


def _aix_rmsock() -> tuple[Replay, ...]:
    held = {"f1000e00005323b8": (4325546, "sshd"), "f1000e0000533bb8": (4325546, "sshd"),
            "f1000e0000a3d3b8": (2900, "rpcbind"), "f1000e0000c4ebb8": (6029402, "xmtopas"),
            "f1000e0000a7c3b8": (7340100, "spiced"), "f1000e0000a7c600": (2900, "rpcbind"),
            "f1000e0000a7c800": (3604700, "xntpd"), "f1000e0000a7ca00": (3604700, "xntpd")}
    udp = {"f1000e0000a7c600", "f1000e0000a7c800", "f1000e0000a7ca00"}
    out = [Replay(f"{addr} {'inpcb' if addr in udp else 'tcpcb'}",
                  f"The socket 0x{addr[:-3]}008 is being held by proccess {pid} ({name}).\n")
           for addr, (pid, name) in held.items()]
    # An unheld socket: rmsock would remove it and says so (fleetcheck names nobody).
    out.append(Replay("f1000e0000c512b8 tcpcb",
                      "The socket 0xf1000e0000c51008 is not held by any process.\n"))
    return tuple(out)


EMULATIONS: dict[str, Emulation] = {
    "macos": Emulation("macos", "Darwin", "23.4.0", tools={
        "lsof": (Replay(LSOF_TCP, fixture("macos/lsof-F-listen")), Replay(LSOF_UDP, "", 1)),
        "netstat": (Replay("-anv", fixture("macos/netstat-anv-14")),),
    }),
    "macos-user": Emulation("macos-user", "Darwin", "23.4.0", uid=501, tools={
        "lsof": (Replay(LSOF_TCP, fixture("macos/lsof-F-listen")),),
        "netstat": (Replay("-anv", fixture("macos/netstat-anv-14")),),
    }),
    "freebsd": Emulation("freebsd", "FreeBSD", "14.1-RELEASE", tools={
        "sockstat": (Replay("-46l", fixture("freebsd/sockstat-46l-14")),),
        "netstat": (Replay("-anW", fixture("freebsd/netstat-anW-13")),),
    }),
    "freebsd-no-sockstat": Emulation("freebsd-no-sockstat", "FreeBSD", "13.2-RELEASE", tools={
        "netstat": (Replay("-anW", fixture("freebsd/netstat-anW-13")),),
    }),
    "openbsd": Emulation("openbsd", "OpenBSD", "7.4", tools={
        "netstat": (Replay("-an", fixture("openbsd/netstat-an-7.4")),),
        "fstat": (Replay("", fixture("openbsd/fstat-7.4")),),
    }),
    "solaris": Emulation("solaris", "SunOS", "5.11", tools={
        "netstat": (Replay("-an -f inet -f inet6", corpus("solaris/netstat-an-finet-finet6-s11")),),
    }),
    "hpux": Emulation("hpux", "HP-UX", "B.11.31", tools={
        "netstat": (Replay("-an -f inet", corpus("hpux/netstat-an-finet")),
                    Replay("-an -f inet6", corpus("hpux/netstat-an-finet6"))),
    }),
    "aix": Emulation("aix", "AIX", "2", tools={
        "netstat": (Replay("-Aan", fixture("aix/netstat-Aan-7.2")),),
        "rmsock": _aix_rmsock(),
    }),
    "busybox": Emulation("busybox", "Linux", "6.6.32-0-lts", tools={
        "netstat": (Replay("-V", "netstat: unrecognized option: V\nBusyBox v1.36.1 "
                                 "(2024-06-10 07:11:35 UTC) multi-call binary.\n", 1),),
        "busybox": (Replay("netstat -tulnp", corpus("linux/busybox-netstat-tulpen")),),
    }),
    "windows-cmd": Emulation("windows-cmd", "", "", windows_shell="cmd", windows_sections=(
        ("powershell", fixture("windows/get-netlisteners-ps51"), 0),)),
    "windows-powershell": Emulation(
        "windows-powershell", "", "", windows_shell="powershell", windows_sections=(
            ("windows-netstat.netstat", fixture("windows/netstat-ano-de"), 0),
            ("windows-netstat.tasklist", fixture("windows/tasklist-csv-nh"), 0))),
}


def install(emulation: Emulation, dest: Path) -> Path:
    """Write the emulation's shims under `dest`; returns the shell to run commands with."""
    bin_dir, data = dest / "bin", dest / "data"
    bin_dir.mkdir(parents=True, exist_ok=True)
    data.mkdir(exist_ok=True)
    if emulation.windows_shell is not None:
        return _write(dest / "shell", _windows_shell(emulation, data))
    tools = dict(emulation.tools)
    tools["uname"] = (Replay("-s", f"{emulation.uname_s}\n"),
                      Replay("-r", f"{emulation.uname_r}\n"))
    tools["id"] = (Replay("-u", f"{emulation.uid}\n"),)
    for name in PROBED:
        tools.setdefault(name, ())
    for name, replays in tools.items():
        _write(bin_dir / name, _shim(name, replays, data))
    return _write(dest / "shell", "#!/bin/sh\n# emulated login shell: the shims first on PATH\n"
                  f"PATH={shlex.quote(str(bin_dir))}:\"$PATH\"; export PATH\n"
                  f"exec {shlex.quote(emulation.login_shell)} \"$@\"\n")


def _shim(name: str, replays: tuple[Replay, ...], data: Path) -> str:
    if not replays:
        return (f"#!/bin/sh\necho \"sh: {name}: not found\" >&2\nexit 127\n")
    arms = []
    for i, replay in enumerate(replays):
        source = replay.output
        if isinstance(source, str):
            path = data / f"{name}-{i}.out"
            path.write_text(source)
            source = path
        arms.append(f"{shlex.quote(replay.args)}) cat {shlex.quote(str(source))}; "
                    f"exit {replay.exit};;")
    body = "\n".join(arms)
    return (f"#!/bin/sh\n# emulated {name}: replays captured output\ncase \"$*\" in\n{body}\n"
            f"*) echo \"emulated {name}: unexpected invocation: $*\" >&2; exit 2;;\nesac\n")


def _windows_shell(emulation: Emulation, data: Path) -> str:
    sections = [(name, str(path), rc) for name, path, rc in emulation.windows_sections]
    return f"""#!{sys.executable}
# emulated Windows login shell ({emulation.windows_shell}): answers fleetcheck's probe
import re, sys
sys.path.insert(0, {str(REPO)!r})
from fleetcheck.collect import windows
SHELL, SECTIONS = {emulation.windows_shell!r}, {sections!r}
command = sys.argv[-1]
m = re.fullmatch(r"powershell -NoProfile -NonInteractive -EncodedCommand (\\S+)", command)
if not m:
    word = command.split()[0] if command.split() else ""
    if SHELL == "cmd":
        sys.stderr.write(f"'{{word}}' is not recognized as an internal or external command,\\r\\n"
                         "operable program or batch file.\\r\\n")
        sys.exit(9009)
    sys.stderr.write(f"{{word}} : The term '{{word}}' is not recognized as the name of a cmdlet, "
                     "function, script file, or operable program.\\r\\n"
                     "    + CategoryInfo          : ObjectNotFound: ({{word}}:String) [], "
                     "CommandNotFoundException\\r\\n"
                     "    + FullyQualifiedErrorId : CommandNotFoundException\\r\\n")
    sys.exit(1)
script = windows.decode(m.group(1))
nonce = re.search(r"@@fleetcheck:([0-9A-Za-z]+)", script).group(1)
tool = re.search(r"\\$T='([^']*)'", script).group(1) or None
if script != windows.script(nonce, tool):
    sys.stderr.write("emulated powershell: the script is not fleetcheck's Windows probe\\r\\n")
    sys.exit(2)
marker = "@@fleetcheck:" + nonce
out = [f"{{marker}} os Windows", f"{{marker}} release 10.0.20348.0", f"{{marker}} admin 1"]
for name, path, rc in SECTIONS:
    if tool and not name.startswith(tool):
        continue
    body = open(path, encoding="utf-8").read().replace("\\r\\n", "\\n").rstrip("\\n")
    out += [f"{{marker}} begin {{name}}", body, f"{{marker}} end {{name}} {{rc}}"]
sys.stdout.buffer.write(("\\r\\n".join(out) + "\\r\\n").encode("utf-8"))
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


class ShellConnector:
    """A scan connector that runs each host's commands through its emulation's `shell`."""

    def __init__(self, shells: dict[str, Path]) -> None:
        self.shells = shells

    def __call__(self, host: PlannedHost, deadline: float) -> LocalTransport:
        """The local transport with `host`'s emulated shell."""
        return LocalTransport(shell=str(self.shells[host.name]))

    def close(self) -> None:
        """Nothing is shared between hosts."""
