"""The one redaction function: every secret known for a host, in every form a message quotes."""

from __future__ import annotations

import json

from fleetcheck.model import CommandRecord, HostError, HostResult, Status
from fleetcheck.plan import Become, PlannedHost
from fleetcheck.redact import MASK, Redactor, host_redactor, run_redactor
from fleetcheck.transport.ssh import SshOptions


def _host(**kw: object) -> PlannedHost:
    return PlannedHost("web1", "10.0.0.1", ("all",), (), **kw)  # type: ignore[arg-type]


def test_every_kind_of_secret_is_masked() -> None:
    host = _host(password="ssh-pw-1", become=Become(password="become-pw-2"),  # noqa: S106
                 vault_values=("vaulted-user-3", "22"))
    ssh = SshOptions(password="asked-pw-4", key_passphrase="key-pass-5")  # noqa: S106
    redact = host_redactor(host, ssh)
    text = "ssh-pw-1 become-pw-2 vaulted-user-3 asked-pw-4 key-pass-5 port 22"
    assert redact.text(text) == " ".join([MASK] * 5) + " port 22"  # a vaulted "22" stays
    assert "pw" not in repr(redact) and "5 secrets" in repr(redact)


def test_quoted_forms_are_masked_too() -> None:
    """A message quoting host output with repr() or JSON escapes still hides the secret."""
    secret = "it's a \"pw\"\\x"  # noqa: S105 - a test value
    redact = Redactor([secret])
    for shown in (secret, repr(secret), json.dumps(secret), repr(f"you typed: {secret}")):
        assert redact.text(shown).count(MASK) == 1, shown
        assert "pw" not in redact.text(shown)


def test_longest_secret_first() -> None:
    assert Redactor(["abcd", "abcdefgh"]).text("xabcdefghx") == f"x{MASK}x"


def test_a_whole_host_result_is_masked() -> None:
    result = HostResult(
        name="web1", address="10.0.0.1", groups=(), status=Status.ERROR,
        error=HostError("parse_error", "line 1: 'hunter22'"),
        commands=(CommandRecord("sudo -S ...", 1, "hunter22\n", "x hunter22", 0.1),),
        notes=("said hunter22",))
    masked = Redactor(["hunter22"])(result)
    assert "hunter22" not in json.dumps(masked.to_dict())
    assert masked.status is Status.ERROR and masked.commands[0].exit_code == 1


def test_no_secret_no_change() -> None:
    result = HostResult(name="a", address="b", groups=(), status=Status.COMPLIANT)
    assert Redactor([None, ""])(result) is result
    assert not run_redactor([_host()])
