"""What to do about hosts that could not be checked: one hint per cause, naming the hosts.

Hints are advice for the reader, built from the run alone (every report can show them,
and `fleetcheck report` gives the same hints for a saved run).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from fleetcheck.frozen import frozen
from fleetcheck.model import HostResult
from fleetcheck.render.groups import hosts_line, natural_key
from fleetcheck.transport.quote import sh_join

_HINTS: dict[str, str] = {
    "name_resolution": "the name does not resolve here: set ansible_host to an address, or fix "
                       "DNS for these names",
    "connection_refused": "nothing listens on the SSH port: is sshd running, and is "
                          "ansible_port right?",
    "no_route": "no route to the address from this runner: a firewall, a VPN, or a host "
                "that is down",
    "connect_timeout": "no answer within -T/--timeout: the host is down or a firewall "
                       "drops the traffic; a ProxyJump may be needed",
    "banner_timeout": "the port accepted the connection but sent no SSH banner: something "
                      "other than sshd listens there, or sshd is overloaded (MaxStartups)",
    "handshake_timeout": "the key exchange never finished: an overloaded sshd, or a "
                         "middlebox cutting the connection",
    "auth_timeout": "authentication got no answer in time: a slow PAM/LDAP on the host",
    "auth_failed": "no credential was accepted: check ansible_user and the key (or password) "
                   "the inventory names; `ssh -v USER@HOST` shows what the server offers",
    "host_key_unknown": "these hosts' keys are not in known_hosts: compare fingerprints out of "
                        "band, then add them to the known_hosts file the run reads "
                        "(`ssh-keyscan -H HOST >> ~/.ssh/known_hosts`, or the --known-hosts "
                        "file), or run once with --host-key-checking accept-new to trust on "
                        "first use",
    "host_key_changed": "the host presents a different key than known_hosts holds: a "
                        "reinstalled host or an attack; verify before replacing the entry "
                        "(`ssh-keygen -R HOST`)",
    "host_key_revoked": "the key is marked @revoked in known_hosts: this host must not be "
                        "trusted until it has a new key",
    "become_failed": "the become method (sudo, su, doas) refused: let the user run the probe "
                     "without a password (sudo NOPASSWD, doas nopass), or give a become "
                     "password (-K or ansible_become_password)",
    "no_tool": "no socket-listing tool could run (the message says what was tried): install "
               "iproute2 (ss) or net-tools, mount /proc where it is missing, or pin a tool "
               "with fleetcheck_tool",
    "incomplete_collection": "some socket tables could not be read, so the host cannot be "
                             "judged: run with --become, or fix the failing tool named above",
    "command_timeout": "the probe did not finish within --command-timeout: a hung tool on "
                       "the host",
    "deadline": "the host took longer than --deadline in all",
    "output_too_large": "the host printed more than --max-output: raise it if the host "
                        "really has that many sockets",
    "parse_error": "the tool's output could not be read: the report keeps the raw output "
                   "to send with a bug report",
    "unsupported": "fleetcheck cannot check this host as configured (see the message)",
    "unsupported_connection": "this ansible_connection is not one fleetcheck can use",
    "inventory": "the inventory gives these hosts a setting fleetcheck cannot use (the message "
                 "names it): fix it there; `fleetcheck inventory -i INV --host HOST` shows "
                 "what each host gets",
    "not_run": "these hosts never finished: the run was interrupted, or their shard or "
               "queue never ran (the message says which); check them again",
    "local_resources": "this machine ran out of threads, open files or memory: fewer "
                       "--forks, or a higher `ulimit -n`/`ulimit -v` (or cgroup pids.max)",
    "ssh_error": "the SSH connection failed (see the message); `ssh -v` to the host shows "
                 "more",
}


def hint_for(kind: str, hosts: Sequence[HostResult]) -> str:
    """The hint for hosts that failed with `kind`; '' when there is nothing to add."""
    hint = _HINTS.get(kind, "")
    if kind == "host_key_unknown" and hosts:
        hint += f" (e.g. {_keyscan(hosts[:6])})"
    if kind == "host_key_changed":
        removals = _keygen_removals(hosts[:6])
        hint += f" (e.g. {removals})" if removals else ""
    return hint


# A jump host as connections describe it: 'user@host:port', 'user@[v6]:port'.
_BASTION = re.compile(r"^(?:[^@]*@)?\[?([^\]@]+?)\]?:(\d+)$")


def _bastion_example(kind: str, bastion: str, hosts: Sequence[HostResult]) -> str:
    """The jump host's own ssh-keyscan or ssh-keygen -R command (its key, not the hosts')."""
    m = _BASTION.match(bastion)
    if kind == "host_key_unknown" and m is not None:
        port = "" if m.group(2) == "22" else f"-p {m.group(2)} "
        return f" (e.g. `ssh-keyscan {port}-H {m.group(1)}`)"
    if kind == "host_key_changed":
        removals = _keygen_removals(hosts[:1])  # every host's message names the jump host
        return f" (e.g. {removals})" if removals else ""
    return ""


# "REMOTE HOST KEY CHANGED for NAME: ..., known_hosts (FILE:LINE, ...) holds a different key"
_CHANGED = re.compile(r"REMOTE HOST KEY CHANGED for (\S+): .*?, known_hosts \((.+?):\d+[,)]")


def _keygen_removals(hosts: Sequence[HostResult]) -> str:
    """'`ssh-keygen -R '[h]:2222' -f FILE`': the entry's own name (ports bracketed, as
    known_hosts writes them) and the file holding it, so the command removes that entry."""
    out: list[str] = []
    for h in hosts:
        m = _CHANGED.search(h.error.message) if h.error else None
        if m is not None:
            out.append(f"`{sh_join(['ssh-keygen', '-R', m.group(1), '-f', m.group(2)])}`")
    return "; ".join(dict.fromkeys(out))


# "host key for NAME is not in known_hosts" (transport.ssh.known_hosts): NAME is
# '[host]:port' off port 22, as known_hosts writes it.
_UNKNOWN_PORT = re.compile(r"host key for \[[^\]]*\]:(\d+) is not in known_hosts")


def _keyscan(hosts: Sequence[HostResult]) -> str:
    """'`ssh-keyscan -H a b`; `ssh-keyscan -p 2222 -H c`': one command per SSH port, since
    ssh-keyscan asks port 22 unless told (and records '[c]:2222', the name ssh looks up)."""
    by_port: dict[int, list[str]] = {}
    for h in hosts:
        m = _UNKNOWN_PORT.search(h.error.message) if h.error else None
        names = by_port.setdefault(int(m.group(1)) if m else 22, [])
        if h.address not in names:
            names.append(h.address)
    return "; ".join(f"`ssh-keyscan {'' if port == 22 else f'-p {port} '}-H {' '.join(names)}`"
                     for port, names in by_port.items())


# "via jump host USER@HOST:PORT: why" (transport.ssh.connection) names the bastion.
_VIA = re.compile(r"^via jump host (\S+?): ")
# "ProxyCommand 'CMD' failed: its stderr" (transport.ssh.connection): the way there failed.
_PROXY = "ProxyCommand '"
_AUTH = re.compile(r"^authentication failed for (\S+) \((.*)\)$", re.S)


@frozen
class Cause:
    """Unchecked hosts that share one cause: an error kind, or a jump host that failed."""

    kind: str
    hosts: tuple[HostResult, ...]  # natural order
    bastion: str | None = None  # the jump host whose failure left every one of them unchecked
    proxy: bool = False  # their ProxyCommand failed: the kind is the proxy's, not the host's

    @property
    def title(self) -> str:
        """'connect_timeout', or 'jump host ops@bastion:22 failed (connect_timeout)'."""
        if self.bastion:
            return f"jump host {self.bastion} failed ({self.kind}): the hosts behind it"
        if self.proxy:
            return f"{self.kind} through a ProxyCommand"
        return self.kind

    @property
    def names(self) -> list[str]:
        """The hosts' names, in natural order."""
        return [h.name for h in self.hosts]

    @property
    def example(self) -> tuple[str, str]:
        """(host, message) of the first host: what the error said."""
        first = self.hosts[0]
        return first.name, first.error.message if first.error else first.status.value

    @property
    def hint(self) -> str:
        """What to do about this cause."""
        if self.bastion:
            return (f"fix the jump host first (ProxyJump {self.bastion}): every host behind it "
                    "is unchecked until it answers; " + _HINTS.get(self.kind, "")
                    + _bastion_example(self.kind, self.bastion, self.hosts)).rstrip("; ")
        if self.proxy:  # the kind may be the proxy's own failure, not the host's sshd
            own = hint_for(self.kind, self.hosts)
            return ("these hosts are reached through a ProxyCommand (ansible_ssh_common_args or "
                    "ssh_config), whose error is quoted: run it by hand (`ssh -v` for an "
                    "`ssh -W`) to see whether it or the host failed"
                    + (f"; if the host: {own}" if own else ""))
        return hint_for(self.kind, self.hosts)

    @property
    def details(self) -> list[str]:
        """Facts that make the hint specific: keys known under other names, the user and
        key files each failed login tried."""
        if self.kind == "host_key_unknown":
            # Imported here: loading the SSH modules would cost every report rendered outside
            # a scan a tenth of its time, and only this cause reads them.
            from fleetcheck.transport.ssh.known_hosts import KNOWN_ELSEWHERE

            # Behind a failed jump host the key is the jump host's, the same for every host.
            return list(dict.fromkeys(
                f"{f'jump host {self.bastion}' if self.bastion else h.name} presents a key "
                "already known for another name: " + h.error.message.split(KNOWN_ELSEWHERE, 1)[1]
                for h in self.hosts if h.error and KNOWN_ELSEWHERE in h.error.message))
        if self.kind == "auth_failed" and not self.bastion:
            return _auth_details(self.hosts)
        if self.kind == "become_failed":
            return _become_details(self.hosts)
        return []


def _auth_details(hosts: Sequence[HostResult], limit: int = 4) -> list[str]:
    """'as deploy: tried key ~/.ssh/id_ed25519; IdentityFile ~/.ssh/x does not exist (web1,
    web2)': one line per distinct user and attempt list."""
    by_attempt: dict[tuple[str, str], list[str]] = {}
    for h in hosts:
        m = _AUTH.match(h.error.message) if h.error else None
        if m is None:
            continue
        user = m.group(1).rpartition("@")[0] or m.group(1)
        by_attempt.setdefault((user, m.group(2)), []).append(h.name)
    lines = [f"as {user}: {detail} ({hosts_line(names, 4)})"
             for (user, detail), names in by_attempt.items()]
    return lines[:limit] + ([f"... and {len(lines) - limit} more combinations"]
                            if len(lines) > limit else [])


# What sudo, doas and su print (in English) for each way they refuse, and what that means
# for the reader: the cause's one hint fits only some of them.
_NO_PASSWORD = "a password is required and none was given"  # noqa: S105 - a sentence
_BECOME_REFUSALS = (
    (re.compile(r"is not allowed to (execute|run)|is not in the sudoers|Operation not "
                r"permitted"),
     "the user may not run the probe as the become user at all (sudoers, doas.conf): a "
     "password will not help"),
    (re.compile(r"\bsu: Authentication failure"),
     "su needs the become user's own password, not the login's: none or a wrong one was "
     "given"),
    (re.compile(r"incorrect password|Sorry, try again|doas: Authentication failed"),
     "the become password given was wrong"),
    (re.compile(r"a password is required|Authentication required|no password was provided"),
     _NO_PASSWORD),
)


def _become_details(hosts: Sequence[HostResult], limit: int = 4) -> list[str]:
    """'the become password given was wrong (web1, web2)': one line per refusal the methods'
    own words tell apart, so that the hint is read for the right hosts."""
    by_reason: dict[str, list[str]] = {}
    for h in hosts:
        text = h.error.message if h.error else ""
        reason = next((why for pattern, why in _BECOME_REFUSALS if pattern.search(text)), None)
        if reason is not None:
            by_reason.setdefault(reason, []).append(h.name)
    if list(by_reason) == [_NO_PASSWORD] and len(by_reason[_NO_PASSWORD]) == len(hosts):
        return []  # every host only lacked a password: the hint says all there is
    return [f"{reason} ({hosts_line(names, 4)})" for reason, names in by_reason.items()][:limit]


def causes(hosts: Iterable[HostResult]) -> list[Cause]:
    """Unchecked `hosts` grouped by cause (the hosts behind one failed jump host are one
    cause), the largest first."""
    groups: dict[tuple[str, str | None, bool], list[HostResult]] = {}
    for h in hosts:
        kind = h.error.kind if h.error else h.status.value
        via = _VIA.match(h.error.message) if h.error else None
        proxy = bool(h.error and h.error.message.startswith(_PROXY))
        groups.setdefault((kind, via.group(1) if via else None, proxy), []).append(h)
    out = [Cause(kind, tuple(sorted(members, key=lambda h: natural_key(h.name))), bastion,
                 proxy)
           for (kind, bastion, proxy), members in groups.items()]
    return sorted(out, key=lambda c: (-len(c.hosts), c.kind, c.bastion or "", c.proxy))
