"""The SSH connector: one per run (or worker process), called once per host."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.model import TrustedKey
from fleetcheck.transport.ssh.auth import Credentials
from fleetcheck.transport.ssh.connection import Limits, Opener
from fleetcheck.transport.ssh.options import SshOptions
from fleetcheck.transport.ssh.session import SshSession
from fleetcheck.transport.ssh.target import Resolver, Target, identity_exists

if TYPE_CHECKING:
    from fleetcheck.plan import PlannedHost


class SshConnector:
    """Opens one SSH session per host; `close` ends the shared jump host connections."""

    def __init__(self, options: SshOptions, resolver: Resolver | None = None) -> None:
        self.options = options
        self.resolver = resolver or options.resolver()
        limits = Limits(connect_timeout=options.connect_timeout or 10.0,
                        auth_timeout=options.auth_timeout, retries=options.retries,
                        host_key_checking=options.host_key_checking,
                        host_key_forced=options.host_key_checking_forced)
        self.opener = Opener(limits, Credentials(options.key_passphrase, options.password))

    def target(self, host: PlannedHost) -> Target:
        """Where and how `host` is reached (inventory settings over ssh_config)."""
        return self.resolver.resolve(host.address, port=host.port, user=host.user,
                                     key_file=host.private_key_file, ssh_args=host.ssh_args,
                                     lead=host.ssh_args_lead,
                                     connect_timeout=host.connect_timeout)

    def __call__(self, host: PlannedHost, deadline: float) -> SshSession:
        """An authenticated session to `host`; HostFailure (of the right kind) otherwise."""
        target = self.target(host)
        for path in target.named_identities:  # a typo must not pass for "no key worked"
            if not identity_exists(path):
                raise HostFailure(ErrorKind.INVENTORY,
                                  f"private key file {path} does not exist (named by "
                                  "ansible_ssh_private_key_file, -i in ansible_ssh_common_args "
                                  "or --private-key)")
        trusted: list[TrustedKey] = []
        try:
            t, cleanup = self.opener.open(target, deadline, password=host.password,
                                          trusted=trusted)
        except HostFailure as exc:
            exc.trusted_keys = tuple(trusted)
            raise
        return SshSession(t, target.describe(), cleanup, trusted_keys=tuple(trusted))

    def close(self) -> None:
        """Close shared connections (jump hosts)."""
        self.opener.close()
