"""The probe: one POSIX shell script that detects the OS and runs the best listing tool.

Linux tools are listed here; the other POSIX systems' tools are in `oses`, and
Windows has its own PowerShell probe (`windows`).

Its stdout is a sequence of sections fenced by marker lines carrying a per-run
nonce, so that nothing a listener's process name prints can forge a section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fleetcheck.collect.oses import POSIX_TOOLS, UNAME_FAMILIES, Attempt
from fleetcheck.parsers.common import ParseError

# Per OS (as `uname -s` prints it): the tools to try, best first. Each entry is
# (tool name as the parsers know it, shell command). A tool is used when its
# command exists and exits 0; the next is tried otherwise.
LINUX_TOOLS: tuple[tuple[str, str], ...] = (
    ("ss", "ss -tulnpe"),
    ("netstat", "netstat -tulnpe"),
    ("busybox-netstat", "busybox netstat -tulnp"),
)

# /proc fallback: the four socket tables, then which pid holds which socket inode.
_PROC_FALLBACK = r"""
if [ -r /proc/net/tcp ]; then
  for f in tcp tcp6 udp udp6; do
    if [ -r /proc/net/$f ]; then
      echo "$M begin proc-net-$f"; cat /proc/net/$f; echo "$M end proc-net-$f $?"
    fi
  done
  echo "$M begin proc-sockets"
  for p in /proc/[0-9]*; do
    c=$(cat "$p/comm" 2>/dev/null) || continue
    u=$(stat -c %U "$p" 2>/dev/null)
    for fd in "$p"/fd/*; do
      l=$(readlink "$fd" 2>/dev/null) || continue
      case $l in socket:*) echo "${p#/proc/} ${u:--} ${l#socket:} $c";; esac
    done
  done
  echo "$M end proc-sockets 0"
  exit 0
fi
"""


@dataclass(frozen=True, slots=True)
class Section:
    """One fenced part of the probe's stdout: a tool's output and its exit code."""

    name: str
    body: str
    rc: int | None


@dataclass(frozen=True, slots=True)
class ProbeOutput:
    """The probe's stdout, split: facts (os, release, uid) and tool sections in order."""

    facts: dict[str, str]
    sections: tuple[Section, ...]


def _tool_block(tools: tuple[tuple[str, str], ...]) -> str:
    lines = []
    for name, command in tools:
        binary = command.split()[0]
        lines.append(
            f'if command -v {binary} >/dev/null 2>&1; then\n'
            f'  echo "$M begin {name}"; {command}; rc=$?; echo "$M end {name} $rc"\n'
            f'  [ "$rc" -eq 0 ] && exit 0\n'
            f'fi'
        )
    return "\n".join(lines)


def _attempt_block(attempt: Attempt) -> str:
    """Shell for one attempt: run its parts when its program exists; stop if the first worked."""
    guard = f'command -v {attempt.binary} >/dev/null 2>&1'
    if attempt.root_only:
        guard = f'[ "$U" = 0 ] && {guard}'
    first, rest = attempt.parts[0], attempt.parts[1:]
    lines = [f'if {guard}; then',
             f'  echo "$M begin {first.name}"; {first.command}; rc=$?; '
             f'echo "$M end {first.name} $rc"',
             '  if [ "$rc" -eq 0 ]; then']
    for part in rest:
        run = f'echo "$M begin {part.name}"; {part.command}; echo "$M end {part.name} $?"'
        lines.append(f'    if [ "$U" = 0 ]; then {run}; fi' if part.root_only else f'    {run}')
    lines += ['    exit 0', '  fi', 'fi']
    return "\n".join(lines)


def _branch(family: str, tool: str | None) -> str:
    """The shell that lists sockets on one OS family (restricted to `tool` when pinned)."""
    if family == "linux":
        linux = LINUX_TOOLS if tool is None else tuple(t for t in LINUX_TOOLS if t[0] == tool)
        proc = _PROC_FALLBACK if tool in (None, "proc") else ""
        return f"{_tool_block(linux)}\n{proc}"
    attempts = [a for a in POSIX_TOOLS[family] if tool is None or a.collector == tool]
    return "\n".join(_attempt_block(a) for a in attempts) or ":"


def build_probe(nonce: str, *, tool: str | None = None, os: str | None = None) -> str:
    """The probe script. `tool` (fleetcheck_tool) restricts collection to that one tool;
    `os` (a family from fleetcheck_os) skips detection and uses that OS's tools."""
    if not re.fullmatch(r"[A-Za-z0-9]+", nonce):
        raise ValueError("nonce must be alphanumeric")
    if tool is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+-]*", tool):
        raise ValueError(f"not a tool name: {tool!r}")
    if os is not None:
        if os not in ("linux", *POSIX_TOOLS):
            raise ValueError(f"no POSIX probe for OS family {os!r}")
        cases = f"*)\n{_branch(os, tool)}\n  ;;"
    else:
        arms = [f"{' | '.join(_unames(family))})\n{_branch(family, tool)}\n  ;;"
                for family in ("linux", *POSIX_TOOLS)]
        cases = "\n".join(arms) + '\n*)\n  echo "$M unsupported"\n  exit 0\n  ;;'
    return f"""M='@@fleetcheck:{nonce}'
LC_ALL=C; export LC_ALL
PATH="$PATH:/usr/sbin:/sbin:/usr/bin:/bin"; export PATH
U=$(id -u 2>/dev/null || /usr/xpg4/bin/id -u 2>/dev/null)
echo "$M os $(uname -s 2>/dev/null)"
echo "$M release $(uname -r 2>/dev/null)"
echo "$M uid $U"
case "$(uname -s 2>/dev/null)" in
{cases}
esac
echo "$M notool"
"""


def _unames(family: str) -> list[str]:
    return [name for name, fam in UNAME_FAMILIES.items() if fam == family]


def split_output(stdout: str, nonce: str) -> ProbeOutput:
    """Split the probe's stdout into facts and sections; ParseError if the fences are broken."""
    marker = f"@@fleetcheck:{nonce} "
    facts: dict[str, str] = {}
    sections: list[Section] = []
    current: str | None = None
    body: list[str] = []
    for no, line in enumerate(stdout.splitlines(keepends=True), 1):
        if not line.startswith(marker):
            if current is not None:
                body.append(line)
            elif line.strip():
                raise ParseError("unexpected probe output outside any section", no, line)
            continue
        words = line[len(marker):].split(maxsplit=2)
        verb = words[0] if words else ""
        if verb == "begin" and current is None and len(words) >= 2:
            current, body = words[1], []
        elif verb == "end" and current is not None and len(words) >= 2 and words[1] == current:
            rc_text = words[2].strip() if len(words) > 2 else ""
            sections.append(Section(current, "".join(body),
                                    int(rc_text) if rc_text.lstrip("-").isdigit() else None))
            current = None
        elif current is None and verb:
            facts[verb] = " ".join(words[1:]).strip() if len(words) > 1 else ""
        else:
            raise ParseError("malformed probe marker", no, line)
    if current is not None:
        raise ParseError(f"probe output ended inside section {current!r} (cut short?)")
    return ProbeOutput(facts, tuple(sections))
