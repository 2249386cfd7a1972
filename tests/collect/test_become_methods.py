"""Become methods' command lines (sudo, su, doas), their quoting, and the terminal they need.

The lines are read back by a real POSIX shell (`sh -c 'printf ...'` through the local
transport), so "one quoted word" is checked by a shell, not by string comparison alone.
The terminal mechanics (prompt on the terminal, output not rewritten, chatter kept apart)
run against a program that reads its password from /dev/tty the way su and doas do,
through the real local transport and the real probe; the real su and doas are checked
over SSH in tests/ssh/test_become_methods.py.
"""

from __future__ import annotations

import json
import shlex
import socket
import subprocess
from pathlib import Path

import pytest

from fleetcheck.collect import CollectOptions, collect, posix_sh, wrap_command
from fleetcheck.collect.become import METHODS, SCRIPT_END, become_command, terminal_line
from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.plan import Become, PlannedHost
from fleetcheck.plan.variables import BECOME_METHODS
from fleetcheck.transport.base import NO_PROMPT, Answer, PromptWatch
from fleetcheck.transport.local import LocalTransport
from tests.conftest import run_cli

ARGV = ["sh", "-c", "id -u"]


def _words(command: str) -> list[str]:
    """The words a POSIX shell makes of `command`."""
    script = f"set -- {command}; for w in \"$@\"; do printf '%s\\0' \"$w\"; done"
    out = LocalTransport().run(script, timeout=10).stdout.decode()
    return out.split("\0")[:-1]


def test_every_served_method_is_planned_and_none_other() -> None:
    assert tuple(METHODS) == BECOME_METHODS


@pytest.mark.parametrize(("become", "words"), [
    (Become("sudo"), ["sudo", "-n", "-u", "root", "--", *ARGV]),
    (Become("sudo", "dba", exe=("/opt/sudo/bin/sudo",), flags=("-H", "-E")),
     ["/opt/sudo/bin/sudo", "-H", "-E", "-n", "-u", "dba", "--", *ARGV]),
    # sudo's -i/-s would hand the command to a shell that expands its `$` words: dropped,
    # inside a cluster too; -S and options taking a value are not a cluster of -s.
    (Become("sudo", flags=("-iH", "--login", "-s", "--shell", "-S", "-ps", "-E")),
     ["sudo", "-H", "-S", "-ps", "-E", "-n", "-u", "root", "--", *ARGV]),
    (Become("su"), ["env", "LC_ALL=C", "su", "root", "-c", "sh -c 'id -u'"]),
    (Become("su", "postgres", flags=("-l",)),
     ["env", "LC_ALL=C", "su", "-l", "postgres", "-c", "sh -c 'id -u'"]),
    (Become("doas"), ["env", "LC_ALL=C", "doas", "-n", "-u", "root", *ARGV]),
    (Become("doas", "op", exe=("/usr/local/bin/doas",), flags=("-s",)),
     ["env", "LC_ALL=C", "/usr/local/bin/doas", "-s", "-n", "-u", "op", *ARGV]),
])
def test_without_a_password_nothing_waits_for_one(become: Become, words: list[str]) -> None:
    becoming = become_command(list(ARGV), become)
    assert becoming.answer is None and becoming.ready is None
    assert _words(becoming.command) == words


def test_flags_and_exe_with_shell_syntax_stay_words() -> None:
    """ansible_become_exe/flags are split like a shell would, then each word quoted: what
    looks like shell syntax reaches the method as text, never runs."""
    become = Become("sudo", exe=("sudo;", "touch", "marker"), flags=("$(id)", "`id`", "-H|x"))
    assert _words(become_command(list(ARGV), become).command)[:6] == \
        ["sudo;", "touch", "marker", "$(id)", "`id`", "-H|x"]


def test_with_a_password_sudo_asks_on_stderr_and_drops_n() -> None:
    becoming = become_command(list(ARGV), Become("sudo", flags=("-H", "-S", "-n"),
                                                 password="pw"))  # noqa: S106
    words = _words(becoming.command)
    assert words[:5] == ["sudo", "-H", "-S", "-S", "-p"]
    assert "-n" not in words
    assert becoming.answer is not None and not becoming.answer.tty
    assert words[-1] == "exec </dev/null; id -u"


@pytest.mark.parametrize("method", ["su", "doas"])
def test_with_a_password_su_and_doas_get_a_terminal(method: str) -> None:
    becoming = become_command(list(ARGV), Become(method, password="pw"))  # noqa: S106
    assert becoming.answer is not None and becoming.answer.tty
    assert becoming.answer.answer == b"pw\n"
    assert becoming.ready is not None and becoming.ready.endswith(b" ready\n")
    assert becoming.ready.decode() not in becoming.command  # printf makes it, not an echo
    words = _words(becoming.command)
    script = shlex.split(words[-1])[-1] if method == "su" else words[-1]
    assert script.startswith("stty -echo -opost 2>/dev/null; printf '%s ready\\n' "
                             "@@fleetcheck:")
    assert "; exec </dev/null 2>/dev/null; id -u" in script


def test_doas_with_a_password_drops_n_as_ansible_does() -> None:
    becoming = become_command(list(ARGV), Become("doas", flags=("-n", "-s"),
                                                 password="pw"))  # noqa: S106
    assert _words(becoming.command)[:6] == ["env", "LC_ALL=C", "doas", "-s", "-u", "root"]


def test_su_refuses_a_user_that_reads_as_an_option() -> None:
    with pytest.raises(HostFailure) as caught:
        become_command(list(ARGV), Become("su", "-c"))
    assert caught.value.kind is ErrorKind.INVENTORY


def test_terminal_line_types_control_characters_literally() -> None:
    assert terminal_line("a\x03b\x7fc\x15") == b"a\x16\x03b\x16\x7fc\x16\x15\n"
    assert terminal_line("plain pw") == b"plain pw\n"


def test_a_pattern_prompt_counts_only_at_the_end_of_what_was_read() -> None:
    """su's `Password: ` quoted inside other output is no prompt; at the end it is."""
    su = METHODS["su"].asks
    assert su is not None
    watch = PromptWatch(Answer(su, b"pw\n", tty=True))
    assert watch.feed(b"motd: never type your Password: anywhere\n") is None
    assert watch.feed(b"Pass") is None
    assert watch.feed(b"word: ") == b"pw\n"
    doas = METHODS["doas"].asks
    assert doas is not None
    assert Answer(doas, b"x").find(b"\rdoas (ops@db1) password: ") == (0, 26)
    assert Answer(doas, b"x").find(b"doas (ops@db1) password: later") is None


def test_a_prompt_asked_again_on_a_terminal_is_answered_with_end_of_file() -> None:
    """sudo asks three times: after a refused answer the second prompt gets ^D (the run
    ends at once, not at the timeout); off a terminal nothing more is written."""
    tty = PromptWatch(Answer(b"[p] password: ", b"pw\n", tty=True))
    assert tty.feed(b"[p] pass") is None
    assert tty.feed(b"word: ") == b"pw\n"
    assert tty.feed(b"\r\nSorry, try again.\r\n[p] pass") is None
    assert tty.feed(b"word: ") == b"\x04"
    assert tty.feed(b"[p] password: ") is None  # once only
    piped = PromptWatch(Answer(b"[p] password: ", b"pw\n"))
    assert piped.feed(b"[p] password: ") == b"pw\n"
    assert piped.feed(b"Sorry, try again.\n[p] password: ") is None


def test_sudo_on_a_terminal_reads_the_password_there_not_from_stdin() -> None:
    """requiretty's retry: no -S (sudo would read stdin with the terminal echoing the
    password), fleetcheck's prompt, the ready line; without a password -n and a terminal."""
    with_pw = become_command(ARGV, Become("sudo", "root", password="pw"), "n1", terminal=True)  # noqa: S106
    words = _words(with_pw.command)
    assert "-S" not in words and words[words.index("-p") + 1].startswith("[fleetcheck ")
    assert with_pw.answer is not None and with_pw.answer.tty
    assert with_pw.answer.answer == b"pw\n" and with_pw.ready == b"@@fleetcheck:n1 ready\n"
    bare = become_command(ARGV, Become("sudo", "root"), "n2", terminal=True)
    assert "-n" in _words(bare.command) and bare.answer is not None and bare.answer.tty
    assert bare.answer.answer == b""
    assert become_command(ARGV, Become("sudo", "root")).answer is None  # no terminal asked


# A program that asks for its password on /dev/tty with echo off, as su and doas do, then
# runs `-c CMD` (su's form). Test scaffolding for the terminal path, not an emulated su.
TTY_ASKER = """#!/bin/sh
user=$1; shift; [ "$1" = -c ] || exit 2
stty -echo </dev/tty; printf 'Password: ' >/dev/tty; IFS= read -r pw </dev/tty
stty echo </dev/tty; printf '\\n' >/dev/tty
[ "$pw" = "$(cat "$0.pw")" ] || { echo "su: Authentication failure" >&2; exit 1; }
echo 'chatter before the command' >&2
exec sh -c "$2"
"""


@pytest.fixture
def asker(tmp_path: Path) -> Path:
    path = tmp_path / "tty-asker"
    path.write_text(TTY_ASKER)
    path.chmod(0o755)
    return path


def _host(asker: Path, password: str) -> PlannedHost:
    return PlannedHost("h", "h", (), (), connection="local",
                       become=Become("su", "root", password, exe=(str(asker),)))


def test_the_probe_runs_through_a_terminal_unaltered(asker: Path) -> None:
    """The password goes to the terminal's prompt; the probe's output arrives with LF line
    ends only, exactly fenced; the chatter before the ready line is stderr; no password."""
    password = "pa ss\tw0rd'$x"  # noqa: S105
    asker.with_name("tty-asker.pw").write_text(password + "\n")
    got = collect(_host(asker, password), LocalTransport(), CollectOptions(30))
    assert got.privileged is True and got.collector is not None
    (record,) = got.commands
    assert "\r" not in record.stdout
    assert record.stdout.startswith("@@fleetcheck:")
    assert record.stderr == "\nchatter before the command\n"
    assert password not in record.stdout + record.stderr + record.command


def test_a_refusal_on_the_terminal_is_become_failed_in_its_words(asker: Path) -> None:
    asker.with_name("tty-asker.pw").write_text("right\n")
    with pytest.raises(HostFailure) as caught:
        collect(_host(asker, "wrong"), LocalTransport(), CollectOptions(30))
    assert caught.value.kind is ErrorKind.BECOME_FAILED
    assert caught.value.message == "probe did not run: su: Authentication failure"


def test_a_terminal_that_never_asks_is_never_answered() -> None:
    """A command on the terminal that reads without prompting gets nothing; it times out."""
    with pytest.raises(HostFailure) as caught:
        LocalTransport().run("echo 'no prompt here'; read -r x; echo \"read $x\"", timeout=1,
                             stdin=Answer(METHODS["su"].asks or b"", b"secret\n", tty=True))
    assert caught.value.kind is ErrorKind.COMMAND_TIMEOUT
    assert NO_PROMPT in caught.value.message


def test_wrap_command_without_become_is_the_plain_probe() -> None:
    becoming = wrap_command("true", PlannedHost("h", "h", (), ()))
    assert becoming.answer is None
    assert _words(becoming.command)[:2] == posix_sh("x")[:2]


def test_without_become_the_script_goes_on_stdin_and_the_record_holds_it(tmp_path: Path
                                                                          ) -> None:
    """sshd's login shell reads the short command line, `sh` the script from stdin; the
    record is a command line (a here-document) that runs exactly what ran."""
    script = "echo one; echo \"$1\" two 'three  four'"
    becoming = wrap_command(script, PlannedHost("h", "h", (), ()))
    assert script not in becoming.command and len(becoming.command) < 300
    assert becoming.stdin == f"{script}\n".encode()
    sent = LocalTransport().run(becoming.command, timeout=30, stdin=becoming.stdin)
    assert (sent.exit_code, sent.stdout, sent.stderr) == (0, b"one\n two three  four\n", b"")
    again = subprocess.run(["sh", "-c", becoming.recorded], capture_output=True, check=True,
                           stdin=subprocess.DEVNULL)
    assert again.stdout == sent.stdout
    # without /dev/stdin (a chroot): `cat` reads the script
    no_dev = becoming.command.replace("/dev/stdin", str(tmp_path / "missing"))
    ran = LocalTransport().run(no_dev, timeout=30, stdin=becoming.stdin)
    assert (ran.exit_code, ran.stdout) == (0, b"one\n two three  four\n")
    # a socket as stdin (an SSH server may pass one), which Linux cannot open by name
    ours, theirs = socket.socketpair()
    with ours, theirs:
        proc = subprocess.Popen(["sh", "-c", becoming.command], stdin=theirs.fileno(),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        theirs.close()
        assert isinstance(becoming.stdin, bytes)
        ours.sendall(becoming.stdin)
        ours.shutdown(socket.SHUT_WR)
        out, err = proc.communicate(timeout=30)
    assert (proc.returncode, out, err) == (0, b"one\n two three  four\n", b"")
    # a script of several lines, or holding the record's end word, stays on the command line
    for other in ("echo a\necho b", f"echo {SCRIPT_END}"):
        kept = wrap_command(other, PlannedHost("h", "h", (), ()))
        assert kept.stdin is None and kept.recorded == kept.command


def test_with_become_the_script_stays_on_the_command_line() -> None:
    host = PlannedHost("h", "h", (), (), become=Become(password="pw"))  # noqa: S106
    becoming = wrap_command("echo probe-text", host)
    assert "echo probe-text" in becoming.command and becoming.script is None
    assert isinstance(becoming.stdin, Answer) and becoming.recorded == becoming.command


def test_an_unsupported_method_is_refused_before_contacting(tmp_path: Path) -> None:
    """pbrun names itself in the host's error, kind unsupported; the run goes on."""
    (tmp_path / "inv.ini").write_text(
        "box ansible_connection=local ansible_become=true ansible_become_method=pbrun\n"
        "ok ansible_connection=local\n")
    res = run_cli(["scan", "-i", "inv.ini", "--format", "json", "-o", "-"], cwd=tmp_path)
    hosts = {h["name"]: h for h in json.loads(res.out)["hosts"]}
    assert hosts["box"]["error"] == {
        "kind": "unsupported",
        "message": "become method 'pbrun' is not supported (fleetcheck becomes with sudo, "
                   "su, doas)"}
    assert hosts["box"]["commands"] == []
    assert hosts["ok"]["error"] is None
