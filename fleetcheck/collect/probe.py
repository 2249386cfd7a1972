"""The probe: one POSIX shell script that detects the OS and runs the best listing tool.

Linux tools are listed here; the other POSIX systems' tools are in `oses`, and
Windows has its own PowerShell probe (`windows`).

Its stdout is a sequence of sections fenced by marker lines carrying a per-run
nonce, so that nothing a listener's process name prints can forge a section
(`sections` reads them back).
"""

from __future__ import annotations

import re
from functools import lru_cache

from fleetcheck.collect.followups import FOLLOW_UPS, SS_UIDS, TABLE_UIDS, USER_LOOKUP, FollowUp
from fleetcheck.collect.nsprobe import FC_NS, ns_call
from fleetcheck.collect.oses import POSIX_TOOLS, UNAME_FAMILIES, Attempt

# Linux tools, best first: (tool name as the parsers know it, guard, command). A tool
# is used when its guard succeeds and its command exits 0; otherwise the next is tried,
# and last the /proc fallback. The flags: -t -u TCP and UDP, -l listening (for UDP:
# bound and unconnected), -n numbers (no DNS, no /etc/services lookups on the host),
# -p owning processes, -e v6only: (dual-stack or IPv6-only; ss) or the user (netstat).
# net-tools' netstat is kept to its default 23-column layout: -W (whole addresses) is
# missing from some builds and its output cannot be told apart, so a cut address is
# flagged `truncated` rather than guessed. On BusyBox systems `netstat` is BusyBox's,
# hence the guard; BusyBox netstat -p exists only where it was built in (Alpine: yes,
# Debian: no), and without -p the /proc fallback, which finds owners, is better.
LINUX_TOOLS: tuple[tuple[str, str, str], ...] = (
    ("ss", "command -v ss", "ss -tulnpe"),
    ("netstat", "netstat -V 2>&1 | grep -q net-tools", "netstat -tulnpe"),
    ("busybox-netstat", "command -v busybox", "busybox netstat -tulnp"),
)
# Tools used only when a host pins them (fleetcheck_tool): lsof is slower than /proc,
# which is always there. +c 0 gives whole command names. lsof exits 1 when it finds
# when a search item (here: any Internet socket) finds nothing: `-p $$` (ORed with -i)
# also lists this shell's own files, so a host with no socket still prints a table,
# and exit 1 counts as success; a run that printed no table is still a parse error.
LINUX_PINNED_ONLY: tuple[tuple[str, str, str], ...] = (
    ("lsof", "command -v lsof", "lsof -nP +c 0 -i -p $$ || [ $? -eq 1 ]"),
)

# /proc fallback: the four socket tables, then which process holds which socket inode.
# A table the kernel has but that cannot be read ends with cat's failing status (the
# host is then incomplete); a table the kernel does not have (tcp6 and udp6 without
# IPv6) is reported `absent`. Owners take three commands whatever the number of
# processes: each process's name (stat), owner (ls -ld) and open descriptors (ls -l of
# every fd directory). Processes that come and go meanwhile, or that we may not look
# into, just lack an owner: those sections always end with status 0. GNU ls is asked to
# escape what it prints of link targets (a file name may hold newlines); BusyBox ls
# ignores that and collect/procnet.py distrusts what such a name could forge. The pids
# alive after the listing (a glob: no process) tell a process started since the names
# were read (a pre-fork server's new worker) from a header such a name forged. The tables
# give every socket's uid (column 8), to anyone: the non-root ones are looked up as ss's
# are (`proc-users`), so an unprivileged run, which sees no other user's descriptors,
# still names each socket's owner.
_PROC_FALLBACK = r"""
if [ -e /proc/net/tcp ]; then
  fc_facts
  for f in tcp tcp6 udp udp6; do
    if [ -e /proc/net/$f ]; then
      echo "$M begin proc-net-$f"; cat /proc/net/$f; echo "$M end proc-net-$f $?"
    else
      echo "$M absent proc-net-$f"
    fi
  done
  echo "$M begin proc-stat"; cat /proc/[0-9]*/stat 2>/dev/null; echo "$M end proc-stat 0"
  echo "$M begin proc-owners"; ls -ld /proc/[0-9]* 2>/dev/null; echo "$M end proc-owners 0"
  echo "$M begin proc-fds"; QUOTING_STYLE=escape ls -l /proc/[0-9]*/fd 2>/dev/null
  echo "$M end proc-fds 0"
  echo "$M begin proc-alive"; echo /proc/[0-9]*; echo "$M end proc-alive 0"
  TABLE_UIDS
  echo "$M begin proc-users"; if [ -n "$u" ]; then USER_LOOKUP; fi; echo "$M end proc-users 0"
  fc_ns proc ''
  return 0
fi
""".replace("USER_LOOKUP", USER_LOOKUP).replace("TABLE_UIDS", TABLE_UIDS)


def _tool_block(tools: tuple[tuple[str, str, str], ...]) -> str:
    """Each Linux tool in turn; the first that works lists the host, then other namespaces."""
    lines = []
    for name, guard, command in tools:
        # Other namespaces are listed with the same tool (lsof: their /proc tables).
        after = ns_call(name, "" if name == "lsof" else command)
        if name in FOLLOW_UPS:
            lines.append(_listing_block(name, guard, command, FOLLOW_UPS[name], after))
            continue
        lines.append(
            f'if {guard} >/dev/null 2>&1; then\n'
            f'  fc_facts; echo "$M begin {name}"; {command}; rc=$?; echo "$M end {name} $rc"\n'
            f'  if [ "$rc" -eq 0 ]; then {after}; return 0; fi\n'
            f'fi'
        )
    return "\n".join(lines)


def _listing_block(name: str, guard: str, command: str, follows: tuple[FollowUp, ...],
                   after: str) -> str:
    """A tool whose output is kept in $o for its follow-ups: the facts, the fenced listing
    and the first follow-up's fences go out in one printf (one write) unless it runs."""
    listed = f'"$M begin {name}" "$o" "$M end {name} $rc"'
    runs = []
    for n, follow in enumerate(follows):
        opened = f'"$M begin {name}.{follow.part}"'
        closed = f'"$M end {name}.{follow.part} 0"'
        head = f"{listed} {opened}" if n == 0 else opened
        run = f"printf '%s\\n' {head}; {follow.command}; echo {closed}"
        if follow.needed:
            run = (f"if {follow.needed}; then {run}; "
                   f"else printf '%s\\n' {head} {closed}; fi")
        runs.append(run)
    prepare = "".join(f"{follow.prepare}; " for follow in follows if follow.prepare)
    return (f'if {guard} >/dev/null 2>&1; then\n'
            f'  o=$({command}); rc=$?\n'
            f'  if [ "$rc" -eq 0 ]; then {prepare}fc_facts; {"; ".join(runs)}; {after}; '
            f'return 0; fi\n'
            f"  fc_facts; printf '%s\\n' {listed}\n"
            f'fi')


# One attempt of one plain command, as a function: the other systems' branches are read
# by every host's shells whichever system it runs, and written out each took ~190 bytes.
_TRY = r"""
fc_try() {
  command -v "$1" >/dev/null 2>&1 || return 1
  fc_n=$2; shift 2
  fc_facts; echo "$M begin $fc_n"; "$@"; rc=$?; echo "$M end $fc_n $rc"
  [ "$rc" -eq 0 ]
}
"""
_PLAIN = re.compile(r"[A-Za-z0-9./_-]+( [A-Za-z0-9./_-]+)*")


def _attempt_block(attempt: Attempt) -> str:
    """Shell for one attempt: run its parts when its program exists; stop if it counted.

    It counts when its first part and every other part that lists sockets succeeded;
    otherwise the next attempt runs and may cover what this one missed.
    """
    first, rest = attempt.parts[0], attempt.parts[1:]
    if not rest and _PLAIN.fullmatch(first.command) and _PLAIN.fullmatch(attempt.binary):
        call = f"fc_try {attempt.binary} {first.name} {first.command} && return 0"
        return f'[ "$U" = 0 ] && {call}' if attempt.root_only else call
    guard = f'command -v {attempt.binary} >/dev/null 2>&1'
    if attempt.root_only:
        guard = f'[ "$U" = 0 ] && {guard}'
    lines = [f'if {guard}; then',
             f'  fc_facts; echo "$M begin {first.name}"; {first.command}; rc=$?; '
             f'echo "$M end {first.name} $rc"',
             '  if [ "$rc" -eq 0 ]; then', '    fc_part=']
    for part in rest:
        if part.covers:  # lists sockets: its failure leaves the attempt incomplete
            lines.append(f'    echo "$M begin {part.name}"; {part.command}; rc=$?; '
                         f'echo "$M end {part.name} $rc"')
            lines.append('    [ "$rc" -eq 0 ] || fc_part=1')
            continue
        run = f'echo "$M begin {part.name}"; {part.command}; echo "$M end {part.name} $?"'
        lines.append(f'    if [ "$U" = 0 ]; then {run}; fi' if part.root_only else f'    {run}')
    lines += ['    [ -z "$fc_part" ] && return 0', '  fi', 'fi']
    return "\n".join(lines)


# Linux: the distribution and its version from os-release (systemd's file, present on
# every current distribution; /usr/lib/os-release where /etc has none), read by the shell
# itself (no process), told with the facts: PRETTY_NAME, e.g. "Debian GNU/Linux 12
# (bookworm)"; where a file assigns it twice, the last assignment, as a shell sourcing
# the file (which os-release(5) allows) would keep. A last line with no newline still
# counts (`read` fails on it but has filled the variables): hand-written files end so.
_DISTRIBUTION = r"""
for fc_f in /etc/os-release /usr/lib/os-release; do
  if [ -r "$fc_f" ]; then
    while IFS='=' read -r fc_k fc_v || [ -n "$fc_k" ]; do
      case "$fc_k" in
      PRETTY_NAME) fc_d=$fc_v;;
      esac
    done < "$fc_f"
    break
  fi
done
"""
# Interfaces whose net.ipv4.conf.IF.route_localnet is 1 (`all`: every one): through them
# the network reaches 127.0.0.0/8, so a listener there is not only the host's own
# (kube-proxy sets it). Read by the shell, no process; 'lo' and 'default' change nothing.
_ROUTE_LOCALNET = r"""
for fc_f in /proc/sys/net/ipv4/conf/*/route_localnet; do
  fc_v=; read -r fc_v < "$fc_f" 2>/dev/null
  if [ "$fc_v" = 1 ]; then
    fc_i=${fc_f%/route_localnet}; fc_i=${fc_i##*/}
    case $fc_i in default|lo) ;; *) fc_rl="$fc_rl $fc_i";; esac
  fi
done
"""
# The facts, told once, just before the first output that follows them: on Linux after
# the listing tool ran, so that they leave with its output in one burst of writes.
# printf, not echo: dash's echo would turn a backslash in a value into a line break.
_FACTS = r"""
fc_told=; fc_d=; fc_rl=
fc_facts() {
  [ -n "$fc_told" ] && return 0
  fc_told=1
  [ -n "$fc_rl" ] && printf '%s\n' "$M route_localnet$fc_rl"
  if [ -n "$fc_d" ]; then
    printf '%s\n' "$M os $S" "$M release $R" "$M uid $U" "$M distribution $fc_d"
  else
    printf '%s\n' "$M os $S" "$M release $R" "$M uid $U"
  fi
}
"""

# Every Linux tool reads /proc (ss for names, netstat and BusyBox for the tables): where no
# tool could list and /proc is not there (a chroot), say so, or the error reads as a
# missing package.
_NO_PROC = '[ -e /proc/self ] || { fc_facts; echo "$M noproc"; }'


def _branch(family: str, tool: str | None) -> str:
    """The shell that lists sockets on one OS family (restricted to `tool` when pinned)."""
    if family == "linux":
        pinnable = LINUX_TOOLS + LINUX_PINNED_ONLY
        linux = LINUX_TOOLS if tool is None else tuple(t for t in pinnable if t[0] == tool)
        proc = _PROC_FALLBACK if tool in (None, "proc") else ""
        uids = SS_UIDS if any(name == "ss" for name, _, _ in linux) else ""
        return (f"{_DISTRIBUTION}\n{_ROUTE_LOCALNET}\n{FC_NS}\n{uids}\n{_tool_block(linux)}\n"
                f"{proc}\n{_NO_PROC}")
    attempts = [a for a in POSIX_TOOLS[family] if tool is None or a.collector == tool]
    return "\n".join(_attempt_block(a) for a in attempts) or ":"


# The system's name: on Linux the kernel's own, read by the shell (no process); `uname -s`
# elsewhere (no other system has /proc/sys: FreeBSD's Linux emulation mounts its procfs
# under /compat/linux). Every process the probe starts costs a host about a millisecond.
_SYSTEM = r"""
S=; [ -r /proc/sys/kernel/ostype ] && read -r S < /proc/sys/kernel/ostype
[ "$S" = Linux ] || S=$(uname -s 2>/dev/null)
"""
# On Linux the release and the effective uid (the third field of /proc/self/status's Uid
# line: real, effective, saved, filesystem) are read by the shell itself: two processes
# fewer per host than `uname -r` and `id -u`, which the other systems still run. `read`
# is a builtin, so /proc/self is the probe's own shell.
_LINUX_FACTS = r"""
if [ "$S" = Linux ] && [ -r /proc/sys/kernel/osrelease ] && [ -r /proc/self/status ]; then
  read -r R < /proc/sys/kernel/osrelease
  while read -r fc_k fc_r fc_e fc_x; do
    case "$fc_k" in
    Uid:) U=$fc_e; break;;
    esac
  done < /proc/self/status
fi
"""


# The probe writes many small lines from many small commands; sent as they come, each
# would be an SSH packet to encrypt, decrypt and check. On Linux the facts wait for the
# first listing, and a listing goes out with its fences in one printf: a host without
# containers writes its output in two writes made together, which leave as one packet,
# as when the whole output was gathered in a command substitution first, without the
# fork that cost each host ~0.8 ms. Elsewhere, where a printed process name may carry
# a NUL that a shell variable cannot hold, the output goes through dd in 1 MiB blocks
# (as is where dd is missing). The last line says the probe got to its end: output cut
# at a line's end (a connection, a wrapper or a full pipe that stops it) looks whole
# otherwise, and its listing would be judged as the host's.
_SEND = r"""
case "$S" in
Linux) fc_probe; echo "$M done";;
*)
  if command -v dd >/dev/null 2>&1; then
    { fc_probe; echo "$M done"; } | dd obs=1048576 2>/dev/null
  else
    fc_probe; echo "$M done"
  fi
  ;;
esac
"""


def build_probe(nonce: str, *, tool: str | None = None, os: str | None = None) -> str:
    """The probe script. `tool` (fleetcheck_tool) restricts collection to that one tool;
    `os` (a family from fleetcheck_os) skips detection and uses that OS's tools."""
    if not re.fullmatch(r"[A-Za-z0-9]+", nonce):
        raise ValueError("nonce must be alphanumeric")
    if tool is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+-]*", tool):
        raise ValueError(f"not a tool name: {tool!r}")
    if os is not None and os not in ("linux", *POSIX_TOOLS):
        raise ValueError(f"no POSIX probe for OS family {os!r}")
    before, after = probe_parts(tool, os)
    return f"{before}{nonce}{after}"


_SLOT = "fcNONCEslot"  # where the nonce goes: alphanumeric, as a nonce is


@lru_cache(maxsize=256)
def probe_parts(tool: str | None, os: str | None) -> tuple[str, str]:
    """The probe for (tool, os), split where its nonce goes: built once per run, not per
    host (assembling the script was a fifth of a millisecond per host)."""
    before, slot, after = _script(_SLOT, tool, os).partition(_SLOT)
    assert slot and _SLOT not in after
    return before, after


def _script(nonce: str, tool: str | None, os: str | None) -> str:
    """The probe script with `nonce` (see build_probe)."""
    tries = _TRY if os != "linux" else ""
    if os is not None:
        cases = f"*)\n{_branch(os, tool)}\n  ;;"
    else:
        arms = [f"{' | '.join(_unames(family))})\n{_branch(family, tool)}\n  ;;"
                for family in ("linux", *POSIX_TOOLS)]
        cases = "\n".join(arms) + '\n*)\n  fc_facts; echo "$M unsupported"\n  return 0\n  ;;'
    return one_line(f"""M='@@fleetcheck:{nonce}'
LC_ALL=C; export LC_ALL
PATH="$PATH:/usr/sbin:/sbin:/usr/bin:/bin"; export PATH
{_SYSTEM}
{_FACTS}
{tries}
fc_probe() {{
U=; R=
{_LINUX_FACTS}
[ -n "$U" ] || U=$(id -u 2>/dev/null || /usr/xpg4/bin/id -u 2>/dev/null)
[ -n "$R" ] || R=$(uname -r 2>/dev/null)
[ "$S" = Linux ] || fc_facts
case "$S" in
{cases}
esac
fc_facts; echo "$M notool"
}}
{_SEND}
""")


# Lines after which the next command follows without a ';' (joining them with one is a
# syntax error), and case patterns such as 'FreeBSD | DragonFly)' or '*)'.
_OPENERS = ("then", "do", "else", "in", "{", "&&", "||", "|", ";;")
_CASE_PATTERN = re.compile(r"^[^\s;()'\"]+(\s*\|\s*[^\s;()'\"]+)*\)$")


def one_line(script: str) -> str:
    """`script` as one line: csh and tcsh (FreeBSD root's shell before 14) refuse a quoted
    argument that spans lines, and the probe reaches sh through the login shell."""
    out, previous = "", ""
    for raw in script.splitlines():
        line = raw.strip()
        if not line:
            continue
        if previous:
            out += " " if previous.endswith(_OPENERS) or _CASE_PATTERN.match(previous) else "; "
        out += line
        previous = line
    return out


def _unames(family: str) -> list[str]:
    return [name for name, fam in UNAME_FAMILIES.items() if fam == family]
