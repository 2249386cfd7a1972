"""The rows every report lists, arranged once per run: hosts in order, each host's listeners
with how they stand, findings with their hosts, the fleet by port.

Text, HTML and Markdown of one run ask for the same rows; they are kept for the run last
rendered (`lastrun`) and handed out as copies, so a format may reorder its own.
"""

from __future__ import annotations

from functools import lru_cache

from fleetcheck.addresses import bind_text
from fleetcheck.engine.summary import is_violation
from fleetcheck.frozen import frozen
from fleetcheck.model import (
    Finding,
    FindingKind,
    HostResult,
    JudgedListener,
    Listener,
    RunResult,
    Severity,
    Status,
    Verdict,
)
from fleetcheck.render import lastrun
from fleetcheck.render.natural import natural_key, natural_sorted
from fleetcheck.render.waived import ListenerKey, Standing, key, listener_standing
from fleetcheck.services import name_for_port

BAD_VERDICTS = frozenset({Verdict.FORBIDDEN, Verdict.STRAY, Verdict.WRONG_BIND,
                          Verdict.WRONG_PROCESS})
# The kinds a reader must not miss: shown in red in every format.
RED_KINDS = frozenset({FindingKind.FORBIDDEN, FindingKind.STRAY})


def sorted_hosts(run: RunResult) -> list[HostResult]:
    """Hosts in natural name order ('web2' before 'web10'), so that reports read in order
    and diff cleanly whatever order the hosts finished in."""
    return list(lastrun.of_run(run, sorted_hosts, lambda: tuple(
        sorted(run.hosts, key=lambda h: natural_key(h.name)))))


def host_listeners(host: HostResult) -> list[JudgedListener]:
    """A host's listeners in report order."""
    return list(lastrun.of_host(host, host_listeners, lambda: tuple(
        sorted(host.listeners, key=lambda jl: jl.listener.sort_key()))))


def fail_on(run: RunResult) -> Severity:
    """The run's threshold: open findings below it are shown, not violations."""
    return Severity.parse(run.summary.fail_on)


def listener_rows(host: HostResult, threshold: Severity
                  ) -> list[tuple[JudgedListener, Standing | None]]:
    """A host's listeners in report order, each with how it stands when none of its findings
    is a violation (waived, or below `threshold`), else None."""
    def make() -> tuple[tuple[JudgedListener, Standing | None], ...]:
        standing = _standing(host, threshold)
        return tuple((jl, standing.get(key(jl.listener))) for jl in host_listeners(host))

    return list(lastrun.of_host(host, (listener_rows, threshold), make))


def _standing(host: HostResult, threshold: Severity) -> dict[ListenerKey, Standing]:
    """`listener_standing` of `host`, worked out once per host and threshold (the fleet
    view and every host table read it); not to be changed by the caller."""
    return lastrun.of_host(host, (_standing, threshold),
                           lambda: listener_standing(host, threshold))


def verdict_words(jl: JudgedListener, standing: Standing | None) -> str:
    """'stray', 'stray, waived by W-1', 'stray, below fail-on': a listener's verdict as read."""
    if standing is None:
        return jl.verdict.value
    if standing.waiver is not None:
        return f"{jl.verdict.value}, waived by {standing.waiver}"
    return f"{jl.verdict.value}, below fail-on"


def is_red(jl: JudgedListener, standing: Standing | None) -> bool:
    """A forbidden or stray listener that is an open violation: the one nobody may miss."""
    return standing is None and jl.verdict in (Verdict.FORBIDDEN, Verdict.STRAY)


@lru_cache(maxsize=4096)  # a fleet has a few hundred ports, asked about on every host
def service_name(port: int | None, proto: str) -> str:
    """IANA's name for a port ('' when none), trying each proto of 'tcp/udp'."""
    if port is None:
        return ""
    for p in proto.split("/"):
        name = name_for_port(port, p)
        if name:
            return name
    return ""


def proto_port(proto: str, port: int | None) -> str:
    """'tcp/1923'; 'tcp/any' for a requirement on no single port."""
    return f"{proto}/{'any' if port is None else port}"


def bind_address(listener: Listener) -> str:
    """The bind address as tools print it, with the interface scope where there is one."""
    return bind_text(listener.address, listener.iface)


def listener_notes(listener: Listener) -> str:
    """What else the tool said about a socket: dual stack, truncation, sharing, service."""
    li = listener
    notes = []
    if li.dual_stack:
        notes.append("dual-stack: accepts IPv4 too")
    elif li.dual_stack is None and li.family == 6 and li.address == "::":
        notes.append("may accept IPv4 too: the tool does not show dual-stack (ss does)")
    if li.route_localnet:
        notes.append("loopback, yet reachable from the network: route_localnet on "
                     f"{', '.join(li.route_localnet)}")
    if li.truncated:
        notes.append("address truncated by the tool")
    if li.service:
        notes.append(f"service {li.service}")
    if li.other_processes:
        notes.append(f"also held by {', '.join(li.other_processes)}")
    if li.user is None and li.uid is not None:
        notes.append(f"uid {li.uid}")
    if li.port_name:
        notes.append(f"port printed as {li.port_name!r}")
    return "; ".join(notes)


# Why a listener has no owner, from what the collector saw (docs/reports.md lists the rules).
OWNER_KERNEL = "kernel socket: it has no inode, so no process holds it (e.g. nfsd, lockd)"
OWNER_HIDDEN = ("no process the probe could see holds its inode {inode}: a socket the kernel "
                "opened (e.g. vxlan, nfsd), a process in another PID namespace, or one that "
                "exited between the socket listing and the owner lookup")
OWNER_UNSEEN = ("the tool named no process although it ran as root: a socket the kernel "
                "opened (e.g. vxlan, nfsd), a process in another PID namespace, or one that "
                "exited during the listing")
OWNER_UNPRIVILEGED = "owner not visible without root (collect with --become)"


def owner_unknown_why(host: HostResult, listener: Listener) -> str:
    """Why `listener` has no owner on `host` ('' when it has one, or nothing can be said)."""
    if listener.process is not None or listener.pid is not None:
        return ""
    noted = getattr(listener, "owner_note", None)  # a parser that said why itself
    if noted:
        return str(noted)
    if host.privileged is False:
        return OWNER_UNPRIVILEGED
    if host.privileged is None:
        return ""
    if listener.inode == 0:
        return OWNER_KERNEL
    if listener.inode is not None:
        return OWNER_HIDDEN.format(inode=listener.inode)
    return OWNER_UNSEEN


def owner(process: str | None, pid: int | None) -> str:
    """'sshd (pid 812)', 'sshd', 'pid 812' or '' when nobody could be seen."""
    if process and pid is not None:
        return f"{process} (pid {pid})"
    return process or (f"pid {pid}" if pid is not None else "")


@frozen
class FindingRow:
    """One finding with its host and the facts reports print beside it."""

    host: HostResult
    finding: Finding
    service: str
    violation: bool  # unwaived and at or above --fail-on

    @property
    def red(self) -> bool:
        """Forbidden and stray listeners that are violations: the ones nobody may miss."""
        return self.finding.kind in RED_KINDS and self.violation


def finding_rows(run: RunResult) -> tuple[list[FindingRow], list[FindingRow]]:
    """(open, waived) findings, each worst first, then by kind, port and host."""
    open_rows, waived_rows = lastrun.of_run(run, finding_rows, lambda: _finding_rows(run))
    return list(open_rows), list(waived_rows)


def _finding_rows(run: RunResult) -> tuple[tuple[FindingRow, ...], tuple[FindingRow, ...]]:
    threshold = fail_on(run)
    rows = [FindingRow(h, f, service_name(f.port, f.proto), is_violation(f, threshold))
            for h in run.hosts for f in h.findings]
    rows.sort(key=lambda r: (-r.finding.severity, r.finding.kind.value, r.finding.proto,
                             -1 if r.finding.port is None else r.finding.port,
                             natural_key(r.host.name), r.finding.address or "", r.finding.id))
    return (tuple(r for r in rows if not r.finding.waived),
            tuple(r for r in rows if r.finding.waived))


def unchecked_hosts(run: RunResult) -> list[HostResult]:
    """Hosts whose listeners could not be read: never compliant, always listed."""
    return list(lastrun.of_run(run, unchecked_hosts, lambda: tuple(
        h for h in sorted_hosts(run) if not h.checked)))


@frozen
class PortRow:
    """The fleet view of one proto/port: who listens on it and what the policies said."""

    proto: str
    port: int
    service: str
    hosts: tuple[str, ...]
    verdicts: tuple[tuple[str, int], ...]  # (verdict, listeners), worst first; waived apart
    addresses: tuple[str, ...]
    processes: tuple[str, ...]
    waived: int = 0  # listeners whose every finding a waiver covers
    below: int = 0  # listeners whose open findings are all below --fail-on

    @property
    def apart(self) -> list[str]:
        """Listeners counted apart from the verdicts: 'waived 2', 'below fail-on 1'."""
        return [f"{label} {n}" for label, n in (("waived", self.waived),
                                                ("below fail-on", self.below)) if n]

    @property
    def bad(self) -> bool:
        """True when any listener on this port is an unwaived violation."""
        return any(Verdict(v) in BAD_VERDICTS for v, _ in self.verdicts)

    @property
    def red(self) -> bool:
        """True when any listener here is forbidden or stray, and unwaived."""
        return any(v in (Verdict.FORBIDDEN, Verdict.STRAY) for v, _ in self.verdicts)


_VERDICT_RANK = {v: i for i, v in enumerate(
    (Verdict.FORBIDDEN, Verdict.STRAY, Verdict.WRONG_BIND, Verdict.WRONG_PROCESS,
     Verdict.UNDETERMINED, Verdict.ALLOWED))}


def fleet_rows(run: RunResult) -> list[PortRow]:
    """Every proto/port any checked host listens on, by port: answers 'who else has 1923?'."""
    return list(lastrun.of_run(run, fleet_rows, lambda: tuple(_fleet_rows(run))))


def _fleet_rows(run: RunResult) -> list[PortRow]:
    acc: dict[tuple[str, int], tuple[set[str], dict[Verdict, int], set[str], set[str]]] = {}
    waived: dict[tuple[str, int], int] = {}
    below: dict[tuple[str, int], int] = {}
    threshold = fail_on(run)
    for host in run.hosts:
        standing = _standing(host, threshold)
        for jl in host.listeners:
            li = jl.listener
            hosts, verdicts, addrs, procs = acc.setdefault((li.proto, li.port),
                                                           (set(), {}, set(), set()))
            hosts.add(host.name)
            how = standing.get(key(li))
            if how is not None:
                apart = waived if how.waiver is not None else below
                apart[li.proto, li.port] = apart.get((li.proto, li.port), 0) + 1
            else:
                verdicts[jl.verdict] = verdicts.get(jl.verdict, 0) + 1
            addrs.add(bind_address(li))
            if li.process:
                procs.add(li.process)
    rows = []
    for (proto, port), (hosts, verdicts, addrs, procs) in sorted(
            acc.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rows.append(PortRow(
            proto, port, service_name(port, proto), tuple(natural_sorted(hosts)),
            tuple((v.value, n) for v, n in sorted(verdicts.items(),
                                                  key=lambda vn: _VERDICT_RANK.get(vn[0], 99))),
            tuple(sorted(addrs)), tuple(sorted(procs)), waived.get((proto, port), 0),
            below.get((proto, port), 0)))
    return rows


def host_status_tone(status: Status) -> str:
    """ok | bad | warn for a host status."""
    return {Status.COMPLIANT: "ok", Status.NONCOMPLIANT: "bad"}.get(status, "warn")


def os_words(host: HostResult) -> str:
    """'Debian GNU/Linux 12 (bookworm) · Linux 6.1.0-28-amd64': the distribution (where the
    probe read it) and the kernel; '' when unknown."""
    return " · ".join(x for x in (host.distribution, host.os) if x)


def open_findings(host: HostResult) -> int:
    """A host's unwaived findings."""
    return sum(1 for f in host.findings if not f.waived)


def yes_no(value: bool | None) -> str:
    """'yes', 'no' or 'unknown'."""
    return "unknown" if value is None else "yes" if value else "no"

