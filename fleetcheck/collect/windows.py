"""The Windows probe: one PowerShell script, shipped so that cmd.exe and PowerShell both run it.

Windows OpenSSH hands our command to the account's default shell, cmd.exe or
PowerShell. `powershell -NoProfile -NonInteractive -EncodedCommand <base64 of the
UTF-16LE script>` is read the same way by both (no quotes, no special characters),
and the script prints the same fenced sections as the POSIX probe: the listeners as
JSON from Get-NetTCPConnection/Get-NetUDPEndpoint, or, where those cmdlets are
missing or fail, `netstat -ano` plus `tasklist /fo csv /nh`.

A host is known to be Windows when the inventory says so (`fleetcheck_os: windows`,
or Ansible's `ansible_shell_type: cmd|powershell`); otherwise the POSIX probe goes
first and, when a Windows shell refuses it, this probe follows on the same connection.
"""

from __future__ import annotations

import base64
import re
from functools import cache
from importlib import resources

from fleetcheck.plan import PlannedHost

WINDOWS_SHELL_TYPES = ("cmd", "powershell", "pwsh")
TOOLS = ("powershell", "windows-netstat")
# cmd.exe's exit status for an unknown command, in every language.
CMD_NOT_FOUND = 9009



@cache
def _template() -> str:
    """The shipped script without comment lines and indentation (it must stay short)."""
    text = resources.files("fleetcheck").joinpath("data/windows_probe.ps1").read_text("utf-8")
    return "\n".join(line.strip() for line in text.splitlines()
                     if line.strip() and not line.lstrip().startswith("#")) + "\n"


def pinned(host: PlannedHost, family: str | None) -> bool:
    """True when the inventory says the host is Windows."""
    return family == "windows" or (host.shell_type or "").lower() in WINDOWS_SHELL_TYPES


def script(nonce: str, tool: str | None = None) -> str:
    """The PowerShell probe for one run; `tool` (fleetcheck_tool) restricts it."""
    if not re.fullmatch(r"[A-Za-z0-9]+", nonce):
        raise ValueError("nonce must be alphanumeric")
    if tool is not None and tool not in TOOLS:
        raise ValueError(f"no Windows tool {tool!r} (known: {', '.join(TOOLS)})")
    return _template().replace("NONCE", nonce).replace("TOOL", tool or "")


def command(nonce: str, tool: str | None = None) -> str:
    """The command line that runs the probe from cmd.exe or PowerShell alike."""
    encoded = base64.b64encode(script(nonce, tool).encode("utf-16-le")).decode("ascii")
    return f"powershell -NoProfile -NonInteractive -EncodedCommand {encoded}"


def decode(encoded: str) -> str:
    """The script inside an -EncodedCommand argument (for evidence and the emulation)."""
    return base64.b64decode(encoded).decode("utf-16-le")


def refused_posix(exit_code: int | None, stdout: str, stderr: str) -> bool:
    """True when a Windows shell, not a POSIX one, answered the POSIX probe.

    The POSIX probe always prints its markers, so their absence comes first. Then, in
    any language: cmd.exe exits 9009 for an unknown command; PowerShell's error record
    names CommandNotFoundException (or ParserError); and Windows programs end their
    lines with CR LF, which a POSIX shell refusing our command does not.
    """
    if "@@fleetcheck:" in stdout:
        return False
    return (exit_code == CMD_NOT_FOUND or "CommandNotFoundException" in stderr
            or "ParserError" in stderr or "is not recognized as" in stderr
            or "\r\n" in stderr or "\r\n" in stdout)
