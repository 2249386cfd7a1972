"""The local transport runs real commands with a timeout and an output cap."""

from __future__ import annotations

import time

import pytest

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.transport.local import LocalTransport
from fleetcheck.transport.quote import sh_join


def test_stdout_stderr_and_exit_code_kept_apart() -> None:
    result = LocalTransport().run("echo out; echo err >&2; exit 7", timeout=10)
    assert result.stdout == b"out\n"
    assert result.stderr == b"err\n"
    assert result.exit_code == 7


def test_stdin_reaches_the_command() -> None:
    result = LocalTransport().run("cat", timeout=10, stdin=b"secret\n")
    assert result.stdout == b"secret\n"


def test_timeout_kills_the_whole_pipeline() -> None:
    start = time.monotonic()
    with pytest.raises(HostFailure) as exc:
        LocalTransport().run("sleep 30 | cat; echo never", timeout=0.5)
    assert exc.value.kind is ErrorKind.COMMAND_TIMEOUT
    assert time.monotonic() - start < 5


def test_output_cap_stops_a_flood() -> None:
    with pytest.raises(HostFailure) as exc:
        LocalTransport().run("yes fleetcheck", timeout=30, max_output=100_000)
    assert exc.value.kind is ErrorKind.OUTPUT_TOO_LARGE


@pytest.mark.parametrize("value", ["plain", "with space", "it's", "$(touch /x)", "`id`", "a;b|c&",
                                   "new\nline", "", "*", "-n"])
def test_quoting_reaches_the_shell_as_one_word(value: str) -> None:
    result = LocalTransport().run(sh_join(["printf", "%s", value]), timeout=10)
    assert result.stdout.decode() == value
