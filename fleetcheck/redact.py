"""Known secrets out of everything a run records: command output, errors, logs, reports.

A host may print back what it was sent (an echoing login shell, an appliance CLI, a
fake sudo prompt): whatever it prints is evidence that ends in every report, so each
secret fleetcheck knows for the host is masked wherever it appears in that evidence.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

from fleetcheck.sanitize import map_strings

if TYPE_CHECKING:
    from fleetcheck.plan import PlannedHost
    from fleetcheck.transport.ssh.options import SshOptions

T = TypeVar("T")
MASK = "[REDACTED]"
# A vault-decrypted connection value shorter than this (a vaulted port "22", "yes") is
# not masked: masking it would erase those characters from every line of the evidence.
# Passwords and passphrases are masked whatever their length.
MIN_VAULT_VALUE = 4


class Redactor:
    """Masks each of a set of secrets wherever it appears (the longest first); never shows them."""

    __slots__ = ("_count", "_rx")

    def __init__(self, secrets: Iterable[str | None] = ()) -> None:
        given = {s for s in secrets if s}
        # A message may quote what a host printed with repr() or as JSON: mask those forms too.
        forms = {f for s in given for f in (s, repr(s)[1:-1], json.dumps(s)[1:-1])}
        found = sorted(forms, key=len, reverse=True)
        self._count = len(given)
        self._rx = re.compile("|".join(map(re.escape, found))) if found else None

    def __bool__(self) -> bool:
        return self._rx is not None

    def __repr__(self) -> str:
        return f"Redactor(<{self._count} secrets>)"

    def text(self, text: str) -> str:
        """`text` with every secret replaced by MASK."""
        return self._rx.sub(MASK, text) if self._rx is not None else text

    def __call__(self, value: T) -> T:
        """A copy of `value` (a HostResult, a record, any nesting of them) with secrets masked."""
        return map_strings(value, self.text) if self._rx is not None else value


def secrets_of(host: PlannedHost, ssh: SshOptions | None = None) -> list[str | None]:
    """Every secret known for `host`: its SSH and become passwords, its vault-decrypted
    connection values, and the run's SSH password and key passphrase (`ssh`)."""
    found = [host.password, host.become.password if host.become else None,
             *(v for v in host.vault_values if len(v) >= MIN_VAULT_VALUE)]
    if ssh is not None:
        found += [ssh.password, ssh.key_passphrase]
    return found


def host_redactor(host: PlannedHost, ssh: SshOptions | None = None) -> Redactor:
    """A Redactor for what `host` printed (see `secrets_of`)."""
    return Redactor(secrets_of(host, ssh))


def run_redactor(hosts: Iterable[PlannedHost], ssh: SshOptions | None = None) -> Redactor:
    """A Redactor for run-wide text (log lines): the secrets of every host."""
    return Redactor(s for h in hosts for s in secrets_of(h, ssh))
