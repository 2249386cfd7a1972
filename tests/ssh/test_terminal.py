"""Nothing a host (or an inventory) says reaches a terminal raw: real process names and real
sudo stderr full of escape sequences, through -v lines, logs, progress, explain and errors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import CliResult, run_cli, run_files
from tests.lab.netns import Sock, in_netns
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import Fleet, cli_process

pytestmark = pytest.mark.lab

# Process names (at most 15 bytes: the kernel's comm) a terminal would act on.
HOSTILE = {
    4101: "\x1b[2J\x1b[31mRED",  # CSI: clear the screen, paint red
    4102: "\x1b]52;c;cHc=\x07",  # OSC 52: set the clipboard
    4103: "\x1b]8;;x:\x1b\\L",  # OSC 8: a hyperlink
    4104: "ok\x08\x08EVIL\x7f",  # backspaces overwrite what was printed (CR: see below)
    4105: "\x9b31mC1",  # a C1 CSI (one character, two bytes in UTF-8)
    4106: "\u202egnp.exe",  # right-to-left override: shows as 'exe.png'
}
# What a terminal acts on; the progress line's own \r is told apart below.
RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                 "\u202a-\u202e\u2066-\u2069]")


def assert_inert(text: str) -> None:
    """No control reaches the terminal; a \\r only where the progress line redraws itself."""
    assert not RAW.search(text), RAW.findall(text)
    # The progress line redraws with \r, then a status, blanks, a log line or the report list.
    assert not re.search(r"\r(?!fleetcheck: | |report: |$)", text), text


@pytest.fixture
def hostile(lab: SshLab) -> Iterator[str]:
    """The side host 'relay' holding sockets under the hostile names; released afterwards."""
    holders = lab.hold("relay", [Sock("tcp", "0.0.0.0", port, process=name)
                                 for port, name in HOSTILE.items()])
    try:
        yield "relay"
    finally:
        lab.release(holders)


def _cli(fleet: Fleet, argv: list[str], *, tty: bool = False) -> CliResult:
    env = {"HOME": str(fleet.home)}
    with in_netns(fleet.lab.controller.name):
        return run_cli(argv, cwd=fleet.tmp, environ=env, tty=tty, tty_err=tty)


def test_explain_shows_hostile_process_names_as_escapes(fleet: Fleet, hostile: str) -> None:
    """`explain` live against the real host: each name is printed, every control escaped."""
    inv = fleet.inventory({hostile: fleet.vars(hostile, ansible_become=True)})
    for port, name in HOSTILE.items():
        res = _cli(fleet, ["explain", "-i", str(inv), "--known-hosts", str(fleet.lab.known_hosts),
                           hostile, str(port)], tty=True)
        assert res.code == 0, res.err
        assert_inert(res.out)
        assert_inert(res.err)
        shown = name.encode("unicode_escape").decode().replace("\\\\", "\\")
        assert shown in res.out, (shown, res.out)


def test_scan_stdout_on_a_terminal_is_inert_in_every_pipeable_format(fleet: Fleet,
                                                                      hostile: str) -> None:
    """JSON, CSV and JUnit printed to a terminal escape the names; to a pipe they stay exact."""
    inv = fleet.inventory({hostile: fleet.vars(hostile, ansible_become=True)})
    base = ["scan", "-i", str(inv), "--known-hosts", str(fleet.lab.known_hosts),
            "--workers", "1"]
    shown = {"json": "\\u001b]52;c;cHc=\\u0007",  # JSON's own escapes
             "csv": "\\x1b]52;c;cHc=\\x07", "junit": "\\x1b]52;c;cHc=\\x07"}
    for fmt, oscs in shown.items():
        on_tty = _cli(fleet, [*base, "-o", str(fleet.tmp / f"tty-{fmt}"), "--format", fmt],
                      tty=True)
        assert on_tty.code == 1, on_tty.err
        assert_inert(on_tty.out)
        assert oscs in on_tty.out, fmt
    piped = _cli(fleet, [*base, "-o", str(fleet.tmp / "pipe"), "--format", "csv"])
    assert "\u202egnp.exe" in piped.out  # data to a pipe is byte-exact


def test_sudo_stderr_and_inventory_names_in_v_lines_and_progress(fleet: Fleet,
                                                                 lab: SshLab) -> None:
    """Real sudo quoting a become user full of escapes, and an inventory host name with
    escapes: the -v lines, the log records and the progress line show them escaped."""
    evil_user = "\x1b]52;c;SGk=\x07\u202eroot\rX"
    name = "web\x1b]0;title\x07evil\r\x9b1m"
    inv = fleet.inventory({
        name: fleet.vars("meta"),
        "sudoer": fleet.vars("sudo1", ansible_become=True, ansible_become_user=evil_user),
    })
    scan = fleet.scan(inv, "-vv", tty_err=True)
    error = scan.host("sudoer")["error"]
    assert error["kind"] == "become_failed"
    assert evil_user in error["message"]  # the JSON keeps what sudo said, exactly
    assert "unknown user" in error["message"]
    assert_inert(scan.err)
    assert "\\x1b]52;c;SGk=\\x07\\u202eroot\\x0dX" in scan.err  # -v line, escaped
    assert "web\\x1b]0;title\\x07evil\\x0d\\x9b1m" in scan.err
    assert "fleetcheck: 2/2 hosts" in scan.err  # the progress line was drawn
    assert_inert(scan.text)
    res = _cli(fleet, ["explain", "-i", str(fleet.tmp / "inv.yml"), "--known-hosts",
                       str(lab.known_hosts), "sudoer", "22"], tty=True)
    assert res.code == 3
    assert_inert(res.err)
    assert "could not be checked (become_failed: " in res.err


def test_hostile_ssh_banners_through_worker_process_logs(fleet: Fleet, lab: SshLab,
                                                         tmp_path: Path) -> None:
    """SSH servers whose banner and version are escape sequences, scanned by two worker
    processes at -vvv (paramiko's own log records): every line on stderr is inert, and the
    version quoted in the host's error is escaped on the terminal, exact in the JSON."""
    ports = {"hostile": 2311, "version": 2312}
    known = tmp_path / "known_hosts"
    address = lab.hosts["relay"].address
    known.write_text("".join(f"[{address}]:{port} {lab.stall_port('relay', port, mode)}\n"
                             for mode, port in ports.items()))
    inv = fleet.inventory({mode: fleet.vars("relay", ansible_port=port)
                           for mode, port in ports.items()})
    out = tmp_path / "out"
    proc = cli_process(lab, tmp_path, [
        "scan", "-i", str(inv), "-o", str(out), "--format", "json", "--known-hosts",
        str(known), "--workers", "2", "--connect-timeout", "2", "--deadline", "6", "-vvv"])
    _, err = proc.communicate(timeout=60)
    assert_inert(err)
    assert "client \\x1b]52;c;SGk=\\x07\\x1b[2J\\u202eevil\\x0dX" in err  # paramiko's record
    run = json.loads(run_files(out)[0].read_text())
    refused = next(h for h in run["hosts"] if h["name"] == "version")["error"]["message"]
    assert "\x1b]0;pwn\x07\x9b2J" in refused  # the JSON keeps it exact
    assert "\\x1b]0;pwn\\x07\\x9b2J" in err  # the -v line shows it escaped
