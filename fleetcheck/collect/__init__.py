"""Collection: run the probe on one host over its transport and turn the output into listeners."""

from __future__ import annotations

import re
import secrets

from fleetcheck.addresses import LOOPBACK_DEVICES, routable_loopback
from fleetcheck.collect import netns, windows
from fleetcheck.collect.become import SCRIPT_END, Becoming, become_command, method_of
from fleetcheck.collect.combine import Incomplete, NoTool, combine
from fleetcheck.collect.oses import FAMILIES, UNAME_FAMILIES, family_of
from fleetcheck.collect.probe import build_probe, one_line
from fleetcheck.collect.sections import ProbeOutput, Section, split_output
from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.frozen import frozen, replace
from fleetcheck.model import CommandRecord, Listener, Namespaces
from fleetcheck.numbers import is_number
from fleetcheck.parsers import ParseError
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.base import DEFAULT_MAX_OUTPUT, CommandResult, Transport
from fleetcheck.transport.quote import sh_join


@frozen
class Collection:
    """What one host told us: its OS, the tool used, its listeners and the evidence."""

    os: str | None
    collector: str | None
    listeners: tuple[Listener, ...]
    commands: tuple[CommandRecord, ...]
    privileged: bool | None
    notes: tuple[str, ...] = ()
    distribution: str | None = None  # e.g. "Debian GNU/Linux 12 (bookworm)", where known
    namespaces: Namespaces | None = None  # Linux: other network namespaces read, or why not


@frozen
class CollectOptions:
    """Limits for one host's collection."""

    command_timeout: float = 60.0
    max_output: int = DEFAULT_MAX_OUTPUT


# Under sudo the probe runs as root, beyond the reach of the signal sshd sends when a run
# is interrupted (it signals as the login user): sudo dies, its root children live on.
# So a becoming probe starts a watchdog that kills the probe's process group once its
# parent (sudo, su, or the session doas replaced itself with) is gone, and is itself
# killed when the probe ends normally. Become another user than root and that parent may
# be someone else's: `kill -0` then fails with EPERM, which still means it is there.
WATCHDOG = ("fc_parent=$PPID; (LC_ALL=C; export LC_ALL; while fc_e=$(kill -0 $fc_parent 2>&1) "
            "|| case $fc_e in *ermitted*) true;; *) false;; esac; do sleep 1; done; "
            "kill -9 0) </dev/null >/dev/null 2>&1 & fc_watchdog=$!")
WATCHDOG_END = "kill $fc_watchdog 2>/dev/null"


def watched(script: str, *, watchdog: bool = False) -> str:
    """`script`, with `watchdog` made to die with its parent (see WATCHDOG)."""
    if not watchdog:
        return script
    return one_line(f"{WATCHDOG}\n{script.rstrip()}\n{WATCHDOG_END}\n")


# Solaris 10's `sh` is the Bourne shell, which knows neither $(...) nor `command -v`; its
# POSIX shell is /usr/xpg4/bin/sh. So `sh` is first given only this, which the Bourne
# shell can read: the probe, in pieces after it, is put together in a variable and goes
# to that POSIX shell where there is one apart, and is otherwise evaluated by the
# (POSIX) sh itself. The pieces are separate arguments because csh (FreeBSD root's login
# shell before 14) refuses any one word longer than about 8 KiB ("Word too long").
TO_POSIX_SH = ('fc_script=; for fc_w in "$@"; do fc_script="$fc_script$fc_w"; done; '
               '[ -x /usr/xpg4/bin/sh ] && exec /usr/xpg4/bin/sh -c "$fc_script"; '
               'eval "$fc_script"')
PIECE = 4000  # characters of the probe per argument: well under csh's limit on a word


def posix_sh(script: str) -> list[str]:
    """argv that runs `script` in a POSIX shell, even where `sh` is the Bourne shell."""
    pieces = [script[i:i + PIECE] for i in range(0, len(script), PIECE)] or [""]
    return ["sh", "-c", TO_POSIX_SH, "sh", *pieces]


# Without become the script goes on the command's stdin, as Ansible's pipelining sends a
# module: sshd's login shell then reads a short command line instead of the ~15 KB probe
# (~1 ms of the host's CPU a run, more than any step of the script), and `sh` reads the
# script with `.` (dash and bash read a file in blocks; `sh -s` would be read by bash a
# byte at a time, so as to leave the rest to the commands it runs). Where /dev/stdin cannot
# be opened (missing in a chroot; on Linux a socket, which an SSH server may pass as stdin,
# cannot be opened through /proc) `cat` reads it: `true <` tries the open without the
# failure ending the shell, as a failing `.` would. `set --` first, so the script sees no
# arguments of the steps before it. With become the script stays on the command line: the
# password is written to that same stdin, and only once the method asks.
FROM_STDIN = ('set --; if { true </dev/stdin; } 2>/dev/null; then . /dev/stdin; '
              'else eval "$(cat)"; fi')


def wrap_command(script: str, host: PlannedHost, nonce: str | None = None, *,
                 terminal: bool = False) -> Becoming:
    """The command line that runs `script` on `host` (with privilege when becoming, on a
    terminal if `terminal`) and what its stdin carries: without become the script (when it
    is one line, as the probe is), else the become password, only after the method's own
    prompt."""
    if host.become is None and "\n" not in script and SCRIPT_END not in script:
        return Becoming(sh_join(posix_sh(FROM_STDIN)), script=script)
    argv = posix_sh(watched(script, watchdog=host.become is not None))
    if host.become is None:
        return Becoming(sh_join(argv))
    return become_command(argv, host.become, nonce, terminal=terminal)


def _streams(result: CommandResult, becoming: Becoming) -> tuple[str, str]:
    """The probe's stdout and what the host said besides (stderr), as text.

    On a terminal (su, doas with a password) both came merged: what precedes the ready
    line is the method's chatter, taken as stderr, with the terminal's CR LF made LF
    again. The method's prompt, fleetcheck's text or the method's, is no evidence.
    """
    out, err = result.stdout, becoming.unprompted(result.stderr)
    if becoming.ready is not None:
        at = out.find(becoming.ready)
        if at < 0 and out.find(becoming.ready[:-1] + b"\r\n") >= 0:
            raise HostFailure(ErrorKind.COMMAND_FAILED, "the terminal the become method needs "
                              "could not be set to pass output unchanged (stty -opost failed)")
        chatter, out = (out, b"") if at < 0 else (out[:at], out[at + len(becoming.ready):])
        err = becoming.unprompted(chatter).replace(b"\r\n", b"\n") + err
    return out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


def _record(command: str, result: CommandResult, stdout: str, stderr: str,
            nonce: str) -> CommandRecord:
    return CommandRecord(command, result.exit_code, stdout, stderr, result.duration, nonce)


def collect(host: PlannedHost, transport: Transport, options: CollectOptions) -> Collection:
    """Probe `host` once and parse what it printed; HostFailure for anything unusable."""
    family = _pinned_family(host)
    if windows.pinned(host, family):
        return _collect_windows(host, transport, options, ())
    nonce = secrets.token_hex(8)
    try:
        script = build_probe(nonce, tool=host.tool, os=family)
    except ValueError as exc:  # a fleetcheck_tool that cannot be a tool name
        raise HostFailure(ErrorKind.NO_TOOL, f"fleetcheck_tool: {exc}") from None
    earlier: tuple[CommandRecord, ...] = ()
    record = _run_probe(script, host, transport, options, nonce, earlier)
    if _wants_terminal(host, record, nonce):
        # sudo's requiretty refused before anything ran: once more on a terminal, as
        # Ansible (which always asks for one) would have run; the refusal stays as evidence.
        earlier = (record,)
        record = _run_probe(script, host, transport, options, nonce, earlier, terminal=True)
    stdout, stderr = record.stdout, record.stderr
    if family is None and windows.refused_posix(record.exit_code, stdout, stderr):
        return _collect_windows(host, transport, options, (*earlier, record))
    try:
        probe = split_output(stdout, nonce)
    except ParseError as exc:
        word = method_of(host.become).word if host.become is not None else None
        if word is not None and word in stderr:
            raise _with_record(HostFailure(ErrorKind.BECOME_FAILED, f"{word} failed: "
                                           f"{_said(stderr)}"), record, earlier=earlier) from None
        raise _with_record(HostFailure(ErrorKind.PARSE_ERROR, f"probe output: {exc}"),
                           record, earlier=earlier) from None
    if not probe.facts and not probe.sections:
        # The become method says why it refuses (on stderr, or on the terminal, which
        # _streams takes as stderr): silence is something else running instead of it.
        kind = ErrorKind.BECOME_FAILED if host.become is not None and stderr.strip() \
            else ErrorKind.COMMAND_FAILED
        raise _with_record(HostFailure(kind, f"probe did not run: "
                                       f"{not_run(stdout, stderr, record.exit_code)}"), record,
                           earlier=earlier)
    _check_finished(probe, record, earlier)
    os_name = probe.facts.get("os") or None
    if "unsupported" in probe.facts and os_name is None:
        # uname could not run (a chroot without /dev/null or uname): nothing says the
        # system is one fleetcheck does not support, so say what went wrong instead.
        raise _with_record(HostFailure(ErrorKind.COMMAND_FAILED, "the probe could not tell "
                                       "the operating system (uname gave nothing): "
                                       f"{_said(stderr) or 'no error output'}"), record,
                           earlier=earlier)
    if "unsupported" in probe.facts:
        raise _with_record(HostFailure(ErrorKind.UNSUPPORTED,
                                       f"unsupported operating system {os_name!r}"), record,
                           earlier=earlier, os=_os_text(probe, os_name))
    return _interpret(probe, os_name, record, earlier, family=family)


def _run_probe(script: str, host: PlannedHost, transport: Transport, options: CollectOptions,
               nonce: str, earlier: tuple[CommandRecord, ...], *,
               terminal: bool = False) -> CommandRecord:
    """Run the probe on `host` once: its record (streams as text, become chatter apart); a
    CollectFailure (after `earlier`) when its output cannot even be split into streams."""
    becoming = wrap_command(script, host, nonce, terminal=terminal)
    result = transport.run(becoming.command, timeout=options.command_timeout,
                           stdin=becoming.stdin, max_output=options.max_output)
    command = becoming.recorded
    try:
        stdout, stderr = _streams(result, becoming)
    except HostFailure as exc:
        raw = _streams(result, Becoming(command))
        raise _with_record(exc, _record(command, result, *raw, nonce),
                           earlier=earlier) from None
    return _record(command, result, stdout, stderr, nonce)


def _check_finished(probe: ProbeOutput, record: CommandRecord,
                    earlier: tuple[CommandRecord, ...]) -> None:
    """A PARSE_ERROR failure unless the probe's output reaches its last line ("done"):
    output cut at a line's end would otherwise pass for the whole listing (exit status
    cannot tell: servers that send none are judged on complete output)."""
    if "done" not in probe.facts:
        raise _with_record(HostFailure(ErrorKind.PARSE_ERROR, "probe output: cut short (it "
                                       "stops before the probe's last line)"), record,
                           earlier=earlier)


def _wants_terminal(host: PlannedHost, ran: CommandRecord, nonce: str) -> bool:
    """Whether the become method refused only for want of a terminal (nothing ran)."""
    if host.become is None:
        return False
    wants = method_of(host.become).wants_tty
    return (wants is not None and wants.search(ran.stderr) is not None
            and nonce not in ran.stdout)


def _pinned_family(host: PlannedHost) -> str | None:
    """The OS family `fleetcheck_os` pins, None when not pinned; UNSUPPORTED if unknown."""
    if host.os is None:
        return None
    family = family_of(host.os)
    if family is None:
        raise HostFailure(ErrorKind.UNSUPPORTED,
                          f"fleetcheck_os={host.os!r} is not an OS fleetcheck knows "
                          f"(known: {', '.join(FAMILIES)})")
    return family


def _collect_windows(host: PlannedHost, transport: Transport, options: CollectOptions,
                     earlier: tuple[CommandRecord, ...]) -> Collection:
    """Run the Windows probe (after `earlier` commands, kept as evidence) and parse it."""
    nonce = secrets.token_hex(8)
    try:
        command = windows.command(nonce, host.tool)
    except ValueError as exc:
        raise HostFailure(ErrorKind.NO_TOOL, f"fleetcheck_tool: {exc}") from None
    result = transport.run(command, timeout=options.command_timeout,
                           max_output=options.max_output)
    stdout = result.stdout.decode("utf-8", "replace")
    stderr = result.stderr.decode("utf-8", "replace")
    record = _record(command, result, stdout, stderr, nonce)
    try:
        probe = split_output(stdout, nonce)
    except ParseError as exc:
        raise _with_record(HostFailure(ErrorKind.PARSE_ERROR, f"probe output: {exc}"),
                           record, earlier=earlier) from None
    if not probe.facts:
        raise _with_record(HostFailure(ErrorKind.COMMAND_FAILED, f"Windows probe did not run: "
                                       f"{not_run(stdout, stderr, result.exit_code)}"), record,
                           earlier=earlier)
    _check_finished(probe, record, earlier)
    collection = _interpret(probe, probe.facts.get("os"), record, earlier, family="windows")
    if host.become is not None:  # sudo has no meaning there; say so rather than fail
        collection = replace(collection, notes=(
            *collection.notes, "become does not apply to Windows hosts: collected as the "
            "login user"))
    return collection


def _interpret(probe: ProbeOutput, os_name: str | None, record: CommandRecord,
               earlier: tuple[CommandRecord, ...] = (), family: str | None = None) -> Collection:
    """Pick the attempt that succeeded and turn its sections into listeners."""
    uid, admin = probe.facts.get("uid", ""), probe.facts.get("admin", "")
    privileged = uid == "0" if is_number(uid) else admin == "1" if admin in ("0", "1") else None
    records = (*earlier, record)
    os_text = _os_text(probe, os_name)
    family = family or UNAME_FAMILIES.get(os_name or "")
    host_sections = [s for s in probe.sections if not netns.is_ns_section(s.name)]
    tool = _collector_named(host_sections)
    absent = probe.facts.get("absent", "").split()
    try:
        combined = combine(host_sections, family, absent)
        found = netns.attribute(probe.sections, probe.facts, combined.listeners, absent) \
            if family == "linux" else netns.NsResult(combined.listeners, [], None)
    except NoTool as exc:
        why = str(exc) + ("; /proc is not mounted, and every Linux tool reads it (a chroot "
                          "without /proc?)" if "noproc" in probe.facts else "")
        raise _with_record(HostFailure(ErrorKind.NO_TOOL, why), record, earlier=earlier,
                           os=os_text) from None
    except Incomplete as exc:
        raise _with_record(HostFailure(ErrorKind.INCOMPLETE_COLLECTION, str(exc)), record,
                           earlier=earlier, os=os_text) from None
    except ParseError as exc:
        raise _with_record(HostFailure(ErrorKind.PARSE_ERROR, f"{tool} output: {exc}"),
                           record, earlier=earlier, os=os_text) from None
    listeners, notes = found.listeners, combined.notes + found.notes
    routed = tuple(probe.facts.get("route_localnet", "").split())
    if routed:
        listeners = [replace(li, route_localnet=through) if li.netns is None
                     and routable_loopback(li.address) and (through := routed_via(li, routed))
                     else li for li in listeners]
    notes += [f"{li.proto} {li.address} port {li.port}: the process is unknown because "
              f"{li.owner_note}" for li in listeners if li.owner_note]
    if privileged is False and any(li.process is None for li in listeners):
        notes.append("collected without root: owners of some sockets could not be seen "
                     "(use --become)")
    return Collection(os_text, combined.collector, tuple(listeners), records, privileged,
                      tuple(notes), distribution_of(probe), found.namespaces)


def distribution_of(probe: ProbeOutput) -> str | None:
    """The distribution the probe read from os-release, its shell quoting undone as
    os-release(5) defines it; None if none."""
    text = probe.facts.get("distribution", "").strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        text = text[1:-1]
    elif len(text) >= 2 and text[0] == text[-1] == '"':
        text = _DQ_ESCAPE.sub(r"\1", text[1:-1])
    return text.strip() or None


# Inside double quotes a backslash escapes only these (os-release(5), as in the shell).
_DQ_ESCAPE = re.compile(r'\\([$"\\`])')


def _collector_named(sections: list[Section]) -> str:
    """The collector a parse error is blamed on: the last section's (before combining)."""
    if not sections:
        return "probe"
    name = sections[-1].name
    return "proc" if name.startswith("proc-") else name.partition(".")[0]


def _os_text(probe: ProbeOutput, os_name: str | None) -> str | None:
    """The OS as reports show it: name and release, as far as the probe said them."""
    return " ".join(x for x in (os_name, probe.facts.get("release")) if x) or None


# sshd runs something else than the command sent when a ForceCommand or an authorized_keys
# command= option applies, or the login shell (/bin/false, nologin, git-shell, an
# appliance's CLI) does not run commands: say so, since its exit status alone misleads.
_INSTEAD = ("a forced command (sshd's ForceCommand, an authorized_keys command=) or the "
            "account's login shell ran instead")


def not_run(stdout: str, stderr: str, exit_code: int | None) -> str:
    """Why a probe that printed none of its lines did not run, in the host's words: its
    stderr; else what it printed instead of the probe; else its exit code and the likely
    cause."""
    said = _said(stderr)
    if said:
        return said
    printed = _said(stdout)
    if printed:
        return f"the host printed instead (exit code {exit_code}): {printed} ({_INSTEAD})"
    return f"exit code {exit_code}, no output ({_INSTEAD}?)"


def _said(text: str, limit: int = 300) -> str:
    """What a failing command wrote to stderr, its lines joined (sudo explains over several);
    past `limit` characters its start and its end, cut in the middle."""
    # Lines end at \n only: a \r or U+2028 a host prints is part of what it said.
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    said = " / ".join(lines)
    if len(said) <= limit:
        return said
    # The refusal may end it (after sudo's lecture or a login banner) or start it (sudo
    # then quotes the whole command it refuses): both are kept.
    head = limit // 3
    return f"{said[:head]} \u2026 {said[-(limit - head - 3):]}"


class CollectFailure(HostFailure):
    """A HostFailure that carries the evidence (every command run, in order) to the report,
    and the OS when the probe got as far as detecting it."""

    def __init__(self, kind: ErrorKind, message: str, record: CommandRecord, *,
                 earlier: tuple[CommandRecord, ...] = (), os: str | None = None) -> None:
        super().__init__(kind, message)
        self.record = record
        self.records = (*earlier, record)
        self.os = os


def _with_record(failure: HostFailure, record: CommandRecord, *,
                 earlier: tuple[CommandRecord, ...] = (), os: str | None = None) -> CollectFailure:
    return CollectFailure(failure.kind, failure.message, record, earlier=earlier, os=os)


def routed_via(listener: Listener, routed: tuple[str, ...]) -> tuple[str, ...]:
    """The interfaces of `routed` (route_localnet on; 'all': every one) through which the
    network reaches an IPv4 loopback listener: all of them, unless the socket is bound to
    a device, which takes only what arrives through that device (so never, for `lo`)."""
    if listener.iface is None:
        return routed
    if listener.iface in LOOPBACK_DEVICES:
        return ()
    return (listener.iface,) if listener.iface in routed or "all" in routed else ()
