"""What to do about hosts that could not be checked: one hint per cause, naming the hosts.

Hints are advice for the reader, built from the run alone (every report can show them,
and `fleetcheck report` gives the same hints for a saved run).
"""

from __future__ import annotations

from collections.abc import Sequence

from fleetcheck.model import HostResult

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
                        "band, then add them (`ssh-keyscan -H HOST >> ~/.ssh/known_hosts`), or "
                        "run once with --host-key-checking accept-new to trust on first use",
    "host_key_changed": "the host presents a different key than known_hosts holds: a "
                        "reinstalled host or an attack; verify before replacing the entry "
                        "(`ssh-keygen -R HOST`)",
    "host_key_revoked": "the key is marked @revoked in known_hosts: this host must not be "
                        "trusted until it has a new key",
    "become_failed": "the become method (sudo, su, doas) refused: let the user run the probe "
                     "without a password (sudo NOPASSWD, doas nopass), or give a become "
                     "password (-K or ansible_become_password)",
    "no_tool": "no socket-listing tool could run: install iproute2 (ss) or net-tools, or "
               "pin one with fleetcheck_tool",
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
    "not_run": "the run was interrupted before these hosts finished: run again",
    "ssh_error": "the SSH connection failed (see the message); `ssh -v` to the host shows "
                 "more",
}


def hint_for(kind: str, hosts: Sequence[HostResult]) -> str:
    """The hint for hosts that failed with `kind`; '' when there is nothing to add."""
    hint = _HINTS.get(kind, "")
    if kind == "host_key_unknown" and hosts:
        addresses = " ".join(dict.fromkeys(h.address for h in hosts[:6]))
        hint += f" (e.g. `ssh-keyscan -H {addresses}`)"
    return hint
