"""The identity rule: what makes a listener or a finding the same one across runs.

Within one host, two records are the same when their category (listener or finding),
kind, protocol, bind address, port and process name match, and their container part
matches. The PID never counts (a restarted daemon is the same listener), nor does the
rule that judged a finding, its message, severity or waiver (a policy edit does not
make an old stray new). See docs/history.md.
"""

from __future__ import annotations

from typing import NamedTuple

from fleetcheck.model import Finding, Listener, container_identity
from fleetcheck.model.container import InNamespace

FINDING = "finding"
LISTENER = "listener"
NO_PORT = -1  # a finding about no single port (e.g. a missing listener on any port)


class Key(NamedTuple):
    """The identity of a listener or finding within one host."""

    category: str  # "finding" | "listener"
    kind: str  # the finding's kind; "" for a listener
    proto: str
    address: str  # "" when the finding names none
    port: int  # NO_PORT when the finding names none
    process: str  # "" when not known
    container: str  # "" on the host itself; see `container_part`


def container_part(record: InNamespace) -> str:
    """The container part of an identity: '' for the host's own sockets, else the
    container's stable name and image repository (`model.container_identity`), never
    the container id or tag, which change whenever the container is recreated."""
    return container_identity(record) or ""


def finding_key(finding: Finding) -> Key:
    """The identity of a finding (its host is the other half)."""
    return Key(FINDING, finding.kind.value, finding.proto, finding.address or "",
               NO_PORT if finding.port is None else finding.port, finding.process or "",
               container_part(finding))


def listener_key(listener: Listener) -> Key:
    """The identity of a listener (its host is the other half)."""
    return Key(LISTENER, "", listener.proto, listener.address, listener.port,
               listener.process or "", container_part(listener))


def describe(key: Key) -> str:
    """'stray tcp/1923 on 0.0.0.0 (spiced)', 'listener udp/53 on 127.0.0.1': for people."""
    port = "any" if key.port == NO_PORT else str(key.port)
    words = [key.kind or "listener", f"{key.proto}/{port}"]
    if key.address:
        words.append(f"on {key.address}")
    if key.process:
        words.append(f"({key.process})")
    if key.container:
        words.append(f"[container {key.container}]")
    return " ".join(words)
