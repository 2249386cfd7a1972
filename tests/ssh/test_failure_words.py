"""The kind a jump host's or ProxyCommand's own words give a failure: what `ssh -W` and
sshd say (strerror texts) for each way a connect can fail on their side."""

from __future__ import annotations

import pytest

from fleetcheck.errors import ErrorKind
from fleetcheck.transport.ssh.errors import failure_from_text


@pytest.mark.parametrize(("text", "kind"), [
    ("channel 0: open failed: connect failed: Connection refused",
     ErrorKind.CONNECTION_REFUSED),
    # ICMP protocol unreachable, as the nethunt found it on a direct connect (seed 100)
    ("channel 0: open failed: connect failed: Protocol not available",
     ErrorKind.CONNECTION_REFUSED),
    ("channel 0: open failed: connect failed: No route to host", ErrorKind.NO_ROUTE),
    ("channel 0: open failed: connect failed: Network is unreachable", ErrorKind.NO_ROUTE),
    ("channel 0: open failed: connect failed: Connection timed out",
     ErrorKind.CONNECT_TIMEOUT),
])
def test_a_jump_hosts_words_name_the_kind(text: str, kind: ErrorKind) -> None:
    """Each text is the kind a direct connect failing the same way is."""
    assert failure_from_text(text, "m").kind is kind
