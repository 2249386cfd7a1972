"""Commands that ran on several hosts (the probe: one script, each host's own nonce), found
once per report so that every format writes such a command out once, under the run."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from fleetcheck.frozen import frozen
from fleetcheck.model import CommandRecord, HostResult, RunResult
from fleetcheck.model.commands import template_of
from fleetcheck.render import lastrun, view

# What the run's copy of a shared command shows where each host's nonce stands.
NONCE_MARK = "NONCE"


@frozen
class SharedCommand:
    """A command that ran on more than one host: its number, one instance, its host count."""

    number: int
    example: CommandRecord
    hosts: int

    @property
    def parts(self) -> tuple[str, ...]:
        """The command split at its nonce: `nonce.join(parts)` is each host's command."""
        return template_of(self.example.command, self.example.nonce)


Shared = Mapping[tuple[str, ...], SharedCommand]


def shared_commands(hosts: Sequence[HostResult]) -> Shared:
    """Commands (nonce aside) that ran on two hosts or more, numbered as `hosts` first ran
    them."""
    seen: dict[tuple[str, ...], tuple[CommandRecord, set[str]]] = {}
    for h in hosts:
        for cmd in h.commands:
            seen.setdefault(key(cmd), (cmd, set()))[1].add(h.name)
    shared = [(k, cmd, len(names)) for k, (cmd, names) in seen.items() if len(names) > 1]
    return MappingProxyType({k: SharedCommand(n, cmd, count)
                             for n, (k, cmd, count) in enumerate(shared, 1)})


def commands_of(run: RunResult) -> Shared:
    """`shared_commands` in the report's host order, worked out once per run for the text
    and HTML reports both (read-only)."""
    return lastrun.of_run(run, "shared-commands",
                          lambda: shared_commands(view.sorted_hosts(run)))


# The template last found: the next host's probe is the same but for its nonce.
_LAST_TEMPLATE: list[tuple[str, ...]] = [()]


def key(cmd: CommandRecord) -> tuple[str, ...]:
    """`template_of` the command; the very tuple found last when it is equal to it, so that
    looking it up again hashes nothing (its strings' hashes are kept) and compares nothing
    (the same object): the probe's 13 KB, on every host, twice per report."""
    found = template_of(cmd.command, cmd.nonce)
    if found == _LAST_TEMPLATE[0]:
        return _LAST_TEMPLATE[0]
    _LAST_TEMPLATE[0] = found
    return found


def number(shared: Shared, cmd: CommandRecord) -> int:
    """The shared command's number `cmd` is an instance of; 0 when no other host ran it."""
    found = shared.get(key(cmd))
    return found.number if found is not None else 0
