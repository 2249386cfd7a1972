"""The local transport runs real commands with a timeout and an output cap."""

from __future__ import annotations

import gc
import time
import warnings

import pytest

from fleetcheck.collect import wrap_command
from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.plan import Become, PlannedHost
from fleetcheck.transport.base import NO_PROMPT, Answer, PromptWatch
from fleetcheck.transport.local import LocalTransport
from fleetcheck.transport.quote import sh_join, sh_quote


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


def test_answer_is_written_only_after_its_prompt() -> None:
    """An Answer waits for the prompt on stderr; what the command read is the answer."""
    script = "printf 'before: '; sleep 0.2; printf 'Say it: ' >&2; IFS= read -r x; echo \"got $x\""
    result = LocalTransport().run(script, timeout=10,
                                  stdin=Answer(b"Say it: ", b"the answer\n"))
    assert result.stdout == b"before: got the answer\n"


def test_answer_is_never_written_without_its_prompt() -> None:
    """A command that reads stdin without prompting gets nothing; the timeout says why."""
    with pytest.raises(HostFailure) as exc:
        LocalTransport().run("cat", timeout=0.5, stdin=Answer(b"Password: ", b"secret\n"))
    assert exc.value.kind is ErrorKind.COMMAND_TIMEOUT
    assert NO_PROMPT in exc.value.message


def test_answer_not_needed_when_the_command_never_asks() -> None:
    result = LocalTransport().run("echo done", timeout=10,
                                  stdin=Answer(b"Password: ", b"secret\n"))
    assert (result.stdout, result.exit_code) == (b"done\n", 0)


def test_prompt_split_across_reads_is_found() -> None:
    watch = PromptWatch(Answer(b"[prompt 1a2b%]: ", b"pw\n"))
    assert watch.feed(b"noise [pro") is None
    assert watch.feed(b"mpt 1a2b") is None
    assert watch.feed(b"%]: ") == b"pw\n"
    assert watch.feed(b"[prompt 1a2b%]: ") is None  # answered once only
    assert watch.timeout_note() == ""


def test_command_line_echo_is_not_the_prompt() -> None:
    """sudo prints `%%` of its -p argument as `%`: a host echoing the command line (which
    holds `%%`) is not taken for sudo asking."""
    host = PlannedHost("h", "h", (), (), become=Become(password="pw"))  # noqa: S106
    becoming = wrap_command("true", host)
    command, answer = becoming.command, becoming.answer
    assert answer is not None and isinstance(answer.prompt, bytes)
    assert answer.prompt.decode() not in command
    assert answer.prompt.decode().replace("%", "%%") in command
    with pytest.raises(HostFailure) as exc:
        LocalTransport().run(f"printf '%s' {sh_quote(command)} >&2; cat", timeout=0.5,
                             stdin=answer)
    assert NO_PROMPT in exc.value.message


def test_no_pipe_is_left_open_after_a_command_or_a_timeout() -> None:
    # Pipes read with os.read were never closed: a ResourceWarning per command at exit.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = LocalTransport()
        assert t.run("echo out; echo err >&2", timeout=5).exit_code == 0
        with pytest.raises(HostFailure):
            t.run("sleep 5", timeout=0.2)
        gc.collect()
    assert [w for w in caught if issubclass(w.category, ResourceWarning)] == []
