"""The connector a scan uses unless given one: each host's transport, by `ansible_connection`."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from fleetcheck.transport.base import Transport

if TYPE_CHECKING:
    from fleetcheck.plan import PlannedHost
    from fleetcheck.transport.ssh.options import SshOptions


class DefaultConnector:
    """Local for `ansible_connection=local`, SSH (one shared connector) for ssh and paramiko."""

    def __init__(self, ssh: SshOptions) -> None:
        self._options = ssh
        self._ssh: Any = None
        self._lock = threading.Lock()

    def __call__(self, host: PlannedHost, deadline: float) -> Transport:
        """An open transport to `host`; HostFailure otherwise."""
        if host.connection == "local":
            from fleetcheck.transport.local import LocalTransport

            return LocalTransport()
        with self._lock:  # one SSH connector (index, keys, jump hosts) for all threads
            if self._ssh is None:
                from fleetcheck.transport.ssh.connector import SshConnector

                self._ssh = SshConnector(self._options)
        session: Transport = self._ssh(host, deadline)
        return session

    def close(self) -> None:
        """Close shared SSH connections (jump hosts)."""
        if self._ssh is not None:
            self._ssh.close()
