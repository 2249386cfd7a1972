"""Emulated operating systems: shim executables that replay captured outputs of other OSes.

`install(emulation, dest)` writes a directory of shims (uname, id, netstat, sockstat,
lsof, fstat, rmsock ...) that answer only the exact invocations the probe sends, each
with a captured output (the project's own fixtures under tests/fixtures, copied next to
the shims so that any lab user can read them); any other invocation fails loudly, so a
probe that asks the wrong question fails its test. Programs the emulated OS lacks are
shimmed as 'not found' (exit 127), since the real ones of this Linux machine would
otherwise answer.

Windows is emulated by a stand-in cmd.exe or PowerShell, a POSIX sh script used as the
login shell (as Windows OpenSSH's DefaultShell runs every command): it answers the
probe's `powershell -EncodedCommand`, after checking that the decoded script is exactly
fleetcheck's Windows probe, with captured sections, and refuses anything else the way
that shell does. It needs nothing but sh, base64, iconv and awk, so any account runs it.

`Installed` says how to use an emulation: through the local transport (`shell -c
COMMAND`), or on an sshd lab host (`login_shell` as the account's shell, `path` as the
PATH sshd gives its sessions, shims first); see tests/lab/sshlab.py.
"""

from __future__ import annotations

import re
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from fleetcheck.collect import windows
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.local import LocalTransport
from tests.conftest import REPO

FIXTURES = REPO / "tests" / "fixtures"
# Every program some probe branch may run: an emulation answers or masks each of them.
PROBED = ("ss", "netstat", "busybox", "lsof", "sockstat", "fstat", "rmsock")
# The probe's lsof runs add `-p $$` (the probe's shell): PID stands for any pid there.
LSOF_TCP = "-nP +c0 -iTCP -sTCP:LISTEN -p PID -F pcuLtPnTd"
LSOF_UDP = "-nP +c0 -iUDP -p PID -F pcuLtPnTd"
# The PATH an emulated sshd host gives its sessions after the shims (sshd's default).
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"


@dataclass(frozen=True)
class Replay:
    """One accepted invocation (arguments joined by spaces) and what it prints.

    A `-p PID` in `args` accepts any pid there, and the output then starts with that
    process as lsof -F lists it (a shell with its working directory): emulated, since
    the captures were made without -p. An lsof that fails lists nothing (`lists_pid`).
    """

    args: str
    output: Path | str  # a captured file, or literal text
    exit: int = 0
    lists_pid: bool = True


@dataclass(frozen=True)
class Emulation:
    """An emulated host: what uname and id say and which tools answer what."""

    name: str
    uname_s: str
    uname_r: str
    uid: int = 0
    tools: dict[str, tuple[Replay, ...]] = field(default_factory=dict)
    windows_shell: str | None = None  # "cmd" or "powershell": a Windows host
    windows_sections: tuple[tuple[str, Path | str, int], ...] = ()  # (section, capture, rc)
    login_shell: str = "/bin/sh"  # e.g. csh: FreeBSD root's shell before 14.0
    # Set where `sh` is the Bourne shell (Solaris 10): the path of the OS's POSIX shell.
    posix_sh: str | None = None


@dataclass(frozen=True)
class Installed:
    """How to use an installed emulation."""

    shell: Path  # `shell -c COMMAND` runs COMMAND as the emulated host would (local transport)
    login_shell: str  # the account's login shell on an sshd lab host
    path: str | None  # the PATH sshd gives that host's sessions, shims first (None: Windows)
    # Files the OS has under /usr, as (path, symlink target): made in a private mount
    # namespace only (`overlay_mounts`), never on this machine.
    overlay: tuple[tuple[str, str], ...] = ()


def fixture(name: str) -> Path:
    """One of the project's own captures."""
    return FIXTURES / f"{name}.out"


# Past the kernel's PID_MAX_LIMIT (2**22): a pid no process of this machine can have.
_UNBORN = 5_000_000


def _unborn_pids(capture: Path) -> str:
    """A Linux netstat capture with its pids moved past any pid this machine can give: the
    probe reads each listed pid's /proc/PID/stat here, where a live process holding a
    captured pid (14929 is any short-lived shell's some day) would lend it its name."""
    return re.sub(r"(?<=\s)(\d+)(?=/)", lambda m: str(_UNBORN + int(m[1])),
                  capture.read_text())


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
        "sockstat": (Replay("-46li", fixture("freebsd/sockstat-46li-14")),
                     Replay("-46l", fixture("freebsd/sockstat-46l-14"))),
        "netstat": (Replay("-anW", fixture("freebsd/netstat-anW-13")),),
    }),
    "freebsd-no-sockstat": Emulation("freebsd-no-sockstat", "FreeBSD", "13.2-RELEASE", tools={
        "netstat": (Replay("-anW", fixture("freebsd/netstat-anW-13")),),
    }),
    "openbsd": Emulation("openbsd", "OpenBSD", "7.4", tools={
        "netstat": (Replay("-an", fixture("openbsd/netstat-an-7.4")),),
        "fstat": (Replay("", fixture("openbsd/fstat-7.4")),),
    }),
    "solaris": Emulation("solaris", "SunOS", "5.10", posix_sh="/usr/xpg4/bin/sh", tools={
        "netstat": (Replay("-an -f inet -f inet6",
                           fixture("solaris/netstat-an-finet-finet6-s10")),),
    }),
    "hpux": Emulation("hpux", "HP-UX", "B.11.31", tools={
        "netstat": (Replay("-an -f inet", fixture("hpux/netstat-an-finet-11.31")),
                    Replay("-an -f inet6", fixture("hpux/netstat-an-finet6-11.31"))),
    }),
    "aix": Emulation("aix", "AIX", "2", tools={
        "netstat": (Replay("-Aan", fixture("aix/netstat-Aan-7.2")),),
        "rmsock": _aix_rmsock(),
    }),
    "busybox": Emulation("busybox", "Linux", "6.6.32-0-lts", tools={
        "netstat": (Replay("-V", "netstat: unrecognized option: V\nBusyBox v1.35.0 "
                                 "(2022-11-19 10:13:10 UTC) multi-call binary.\n", 1),),
        "busybox": (Replay("netstat -tulnp",
                           _unborn_pids(fixture("linux/busybox-netstat-tulnp"))),),
    }),
    "windows-cmd": Emulation("windows-cmd", "", "", windows_shell="cmd", windows_sections=(
        ("powershell", fixture("windows/get-netlisteners-ps51"), 0),)),
    "windows-powershell": Emulation(
        "windows-powershell", "", "", windows_shell="powershell", windows_sections=(
            ("windows-netstat.netstat", fixture("windows/netstat-ano-de"), 0),
            ("windows-netstat.tasklist", fixture("windows/tasklist-csv-nh"), 0))),
}


# Hosts that exist to fail one particular way: an OS fleetcheck does not know, an OS
# with none of its tools, and a tool printing what no parser knows.
FAILING: dict[str, Emulation] = {
    "haiku": Emulation("haiku", "Haiku", "r1beta4"),
    "bare-freebsd": Emulation("bare-freebsd", "FreeBSD", "14.0-RELEASE"),
    "broken-openbsd": Emulation("broken-openbsd", "OpenBSD", "7.4", tools={
        "netstat": (Replay("-an", "Active Internet connections (including servers)\n"
                                  "Proto   Recv-Q Send-Q  Local Address   Foreign Address\n"
                                  "tcp          0      0  *.22            *.*     LISTEN\n"
                                  "segmentation fault (core dumped)\n"),),
        "fstat": (Replay("", "USER CMD PID FD MOUNT INUM MODE R/W SZ|DV\n"),)}),
    # HP-UX whose IPv6 listing fails: plain netstat -an (the fallback) lists IPv4 only, so
    # nothing covers IPv6 (the error text is synthetic).
    "hpux-no-inet6": Emulation("hpux-no-inet6", "HP-UX", "B.11.31", tools={
        "netstat": (Replay("-an -f inet", fixture("hpux/netstat-an-finet-11.31")),
                    Replay("-an -f inet6", "netstat: inet6: protocol not supported\n", 1),
                    Replay("-an", fixture("hpux/netstat-an-finet-11.31")))}),
    # PowerShell printed an error record where the probe expects JSON.
    "broken-windows": Emulation("broken-windows", "", "", windows_shell="cmd", windows_sections=(
        ("powershell", "Get-NetTCPConnection : Zugriff verweigert\n"
                       "    + CategoryInfo          : PermissionDenied: (MSFT_NetTCPConnection:"
                       "root/StandardCimv2/MSFT_NetTCPConnection) [Get-NetTCPConnection], "
                       "CimException\n", 0),)),
}


def install(emulation: Emulation, dest: Path) -> Installed:
    """Write the emulation's shims and captured outputs under `dest`."""
    bin_dir, data = dest / "bin", dest / "data"
    bin_dir.mkdir(parents=True, exist_ok=True)
    data.mkdir(exist_ok=True)
    if emulation.windows_shell is not None:
        shell = _write(dest / "shell", _windows_shell(emulation, data))
        return Installed(shell, str(shell), None)
    tools = dict(emulation.tools)
    tools["uname"] = (Replay("-s", f"{emulation.uname_s}\n"),
                      Replay("-r", f"{emulation.uname_r}\n"))
    tools["id"] = (Replay("-u", f"{emulation.uid}\n"),)
    for name in PROBED:
        tools.setdefault(name, ())
    for name, replays in tools.items():
        _write(bin_dir / name, _shim(name, replays, data))
    overlay: tuple[tuple[str, str], ...] = ()
    if emulation.posix_sh is not None:
        _write(bin_dir / "sh", _BOURNE_SH)
        overlay = ((emulation.posix_sh, "/bin/sh"),)
    login = f"exec {shlex.quote(emulation.login_shell)} \"$@\""
    mounts = [*overlay_mounts(overlay, dest / "overlay"), *masks(emulation)]
    if mounts:  # run the login shell in a mount namespace of its own that has them
        setup = " && ".join([*mounts, 'exec "$0" "$@"'])
        login = (f"exec unshare -m --propagation private /bin/sh -c {shlex.quote(setup)} "
                 f"{shlex.quote(emulation.login_shell)} \"$@\"")
    shell = _write(dest / "shell", "#!/bin/sh\n# emulated login shell: the shims first on PATH\n"
                   f"PATH={shlex.quote(str(bin_dir))}:\"$PATH\"; export PATH\n{login}\n")
    return Installed(shell, emulation.login_shell, f"{bin_dir}:{SYSTEM_PATH}", overlay)


# Where a Linux kernel names itself to a shell that reads files (the probe does, to start
# no process): no other system has it, so an emulation of one hides it.
OSTYPE = "/proc/sys/kernel/ostype"


def masks(emulation: Emulation) -> list[str]:
    """Mounts that hide from an emulated non-Linux host what only Linux has (run them only in
    a private mount namespace, as `overlay_mounts`)."""
    if emulation.uname_s in ("Linux", "") or emulation.windows_shell is not None:
        return []
    return [f"mount --bind /dev/null {OSTYPE}"]


def overlay_mounts(overlay: tuple[tuple[str, str], ...], scratch: Path) -> list[str]:
    """Shell commands that show each (path, target) of `overlay` as a symlink in /usr.

    /usr becomes an overlay whose upper layer is a tmpfs mounted on `scratch`: run them
    only in a private mount namespace, where nothing of this machine changes.
    """
    if not overlay:
        return []
    top = shlex.quote(str(scratch))
    out = [f"mkdir -p {top}", f"mount -t tmpfs tmpfs {top}", f"mkdir {top}/u {top}/w"]
    for path, target in overlay:
        assert path.startswith("/usr/"), f"only /usr can be overlaid: {path}"
        rel = Path(path).relative_to("/usr")
        out += [f"mkdir -p {top}/u/{shlex.quote(str(rel.parent))}",
                f"ln -s {shlex.quote(target)} {top}/u/{shlex.quote(str(rel))}"]
    out.append(f"mount -t overlay overlay -o lowerdir=/usr,upperdir={top}/u,workdir={top}/w /usr")
    return out


# Solaris 10's sh is the Bourne shell: $(...) outside quotes is a syntax error there, so a
# script that uses it never starts. What else it would refuse is not emulated.
_BOURNE_SH = r"""#!/bin/sh
# emulated Bourne shell: refuses a -c script with $(...) outside quotes, runs the rest
if [ "$1" = -c ] && printf '%s' "$2" | awk '
{ text = text $0 "\n" }
END {
  q = ""
  for (i = 1; i <= length(text); i++) {
    c = substr(text, i, 1)
    if (q == "s") { if (c == "\047") q = ""; continue }
    if (c == "\134") { i++; continue }
    if (q == "" && c == "\047") { q = "s"; continue }
    if (c == "\042") { q = (q == "d") ? "" : "d"; continue }
    if (q == "" && c == "$" && substr(text, i + 1, 1) == "(") exit 0
  }
  exit 1
}'; then
  echo "sh: syntax error at line 1: \`(' unexpected" >&2
  exit 2
fi
exec /bin/sh "$@"
"""


def _stage(source: Path | str, path: Path) -> Path:
    """Put a capture (a file, or literal text) at `path`, readable by every lab user."""
    if isinstance(source, str):
        path.write_text(source)
    else:
        shutil.copyfile(source, path)
    path.chmod(0o644)
    return path


def _shim(name: str, replays: tuple[Replay, ...], data: Path) -> str:
    if not replays:
        return (f"#!/bin/sh\necho \"sh: {name}: not found\" >&2\nexit 127\n")
    arms = []
    for i, replay in enumerate(replays):
        source = _stage(replay.output, data / f"{name}-{i}.out")
        before, pid, after = replay.args.partition("-p PID")
        pattern, listed = shlex.quote(replay.args), ""
        if pid:  # any pid; lsof lists that process's files too
            pattern = f"{shlex.quote(before + '-p ')}[0-9]*{shlex.quote(after)}"
        if pid and replay.lists_pid:
            listed = ('p=${*#*-p }; printf \'p%s\\ncsh\\nu0\\nLroot\\ntDIR\\nn/\\n\' '
                      '"${p%% *}"; ')
        arms.append(f"{pattern}) {listed}cat {shlex.quote(str(source))}; "
                    f"exit {replay.exit};;")
    body = "\n".join(arms)
    return (f"#!/bin/sh\n# emulated {name}: replays captured output\ncase \"$*\" in\n{body}\n"
            f"*) echo \"emulated {name}: unexpected invocation: $*\" >&2; exit 2;;\nesac\n")


# The stand-in Windows shell. sshd runs it as `SHELL -c COMMAND` (Windows OpenSSH runs
# `cmd.exe /c COMMAND` or `powershell.exe -c COMMAND`): COMMAND is the last argument.
_WINDOWS_SHELL = r"""#!/bin/sh
# emulated Windows login shell (@KIND@): answers fleetcheck's probe with captured sections
D=@DATA@
for command; do :; done
prefix='powershell -NoProfile -NonInteractive -EncodedCommand '
case "$command" in
"$prefix"*) ;;
*)
  word=${command%% *}
  if [ @KIND@ = cmd ]; then
    printf "'%s' is not recognized as an internal or external command,\r\n" "$word" >&2
    printf "operable program or batch file.\r\n" >&2
    exit 9009  # cmd.exe's status; a Linux process can only exit 9009 % 256
  fi
  printf "%s : The term '%s' is not recognized as the name of a cmdlet, " "$word" "$word" >&2
  printf "function, script file, or operable program.\r\n" >&2
  printf "    + CategoryInfo          : ObjectNotFound: (%s:String) [], " "$word" >&2
  printf "CommandNotFoundException\r\n" >&2
  printf "    + FullyQualifiedErrorId : CommandNotFoundException\r\n" >&2
  exit 1
  ;;
esac
encoded=${command#"$prefix"}
script=$(printf '%s' "$encoded" | base64 -d 2>/dev/null | iconv -f UTF-16LE -t UTF-8 2>/dev/null)
line=$(printf '%s\n' "$script" | grep "^.M='@@fleetcheck:" | head -n 1)
nonce=${line#*@@fleetcheck:}; nonce=${nonce%%\'*}
tool=${line#*\$T=\'}; tool=${tool%\'}
case "$nonce" in ""|*[!0-9A-Za-z]*) nonce=bad ;; esac
case "$tool" in ""|powershell|windows-netstat) ;; *) tool=bad ;; esac
if ! printf '%s\n' "$script" | sed "s/$nonce/NONCE/g" | cmp -s - "$D/probe-${tool:-any}.ps1"; then
  printf "emulated @KIND@: the script is not fleetcheck's Windows probe\r\n" >&2
  exit 2
fi
M="@@fleetcheck:$nonce"
{
printf '%s\n' "$M os Windows" "$M release 10.0.20348.0" "$M admin 1"
@SECTIONS@
printf '%s\n' "$M done"
} | awk '{ sub(/\r$/, ""); printf "%s\r\n", $0 }'
"""


def _windows_shell(emulation: Emulation, data: Path) -> str:
    """The stand-in cmd.exe/PowerShell: the probe scripts it accepts are written beside it."""
    for tool in (None, *windows.TOOLS):
        # The probe for nonce 'NONCE': the shell puts the real nonce back before comparing.
        _stage(windows.script("NONCE", tool), data / f"probe-{tool or 'any'}.ps1")
    arms = []
    for i, (name, capture, rc) in enumerate(emulation.windows_sections):
        path = _stage(capture, data / f"section-{i}.out")
        tools = "|".join(['""', *(t for t in windows.TOOLS if name.startswith(t))])
        arms.append(f'case "$tool" in {tools}) printf \'%s\\n\' "$M begin {name}"; '
                    f'awk 1 {shlex.quote(str(path))}; printf \'%s\\n\' "$M end {name} {rc}";; '
                    'esac')
    assert emulation.windows_shell in ("cmd", "powershell")
    return (_WINDOWS_SHELL.replace("@KIND@", emulation.windows_shell)
            .replace("@DATA@", shlex.quote(str(data))).replace("@SECTIONS@", "\n".join(arms)))


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o755)
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
