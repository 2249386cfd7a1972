"""`fleetcheck parse --tool TOOL FILE` for the Linux tools, run in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "linux"
CAPTURE_OF = {
    "ss": "ss-tulnpe",
    "netstat": "netstat-tulnpe",
    "busybox-netstat": "busybox-netstat-tulnp",
    "lsof": "lsof-nP-c0-i",
    "proc-net": "proc-net-tables",
}


@pytest.mark.parametrize("tool", sorted(CAPTURE_OF))
def test_parse_prints_the_listeners_as_json(tool: str, tmp_path: Path) -> None:
    name = CAPTURE_OF[tool]
    res = run_cli(["parse", "--tool", tool, str(FIXTURES / f"{name}.out")], cwd=tmp_path)
    assert res.code == 0, res.err
    assert res.err == ""
    expected = json.loads((FIXTURES / f"{name}.json").read_text())["listeners"]
    assert json.loads(res.out) == expected


def test_parse_reads_stdin(tmp_path: Path) -> None:
    text = (FIXTURES / "ss-Htulnp.out").read_text()
    res = run_cli(["parse", "--tool", "ss", "-"], cwd=tmp_path, stdin=text)
    assert res.code == 0
    assert len(json.loads(res.out)) == 15


@pytest.mark.parametrize(("tool", "text", "line", "words"), [
    ("ss", "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
           "tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*\n"
           "tcp LISTEN zero 128 0.0.0.0:23 0.0.0.0:*\n", 3, "queue columns"),
    ("netstat", "Active Internet connections (only servers)\n"
                "Proto Recv-Q Send-Q Local Address Foreign Address State PID/Program name\n"
                "tcp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN 1/sshd\n"
                "tcp 0 0 0.0.0.0:ssh2 0.0.0.0:* LISTEN 2/sshd\n", 4, "unknown service"),
    ("busybox-netstat", "Proto Recv-Q Send-Q Local Address Foreign Address State\n"
                        "sctp 0 0 0.0.0.0:22 0.0.0.0:* LISTEN\nhello world\n", 3,
     "too few columns"),
    ("lsof", "COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME\n"
             "sshd x root 3u IPv4 1 0t0 TCP *:22 (LISTEN)\n", 2, "COMMAND PID"),
    ("proc-net", "  sl  local_address rem_address   st\n   0: 0100007F:ZZ 00000000:0000 0A\n",
     2, "/proc/net"),
    ("ss", "Welcome to this host\n", 1, "unknown"),
])
def test_unrecognised_output_is_exit_2_naming_file_and_line(
        tool: str, text: str, line: int, words: str, tmp_path: Path) -> None:
    path = tmp_path / "captured.out"
    path.write_text(text)
    res = run_cli(["parse", "--tool", tool, str(path)], cwd=tmp_path)
    assert res.code == 2
    assert res.out == ""
    assert f"{path}:{line}: " in res.err
    assert words in res.err
    assert len(res.err.strip().splitlines()) == 1


@pytest.mark.parametrize("tool", sorted(CAPTURE_OF))
def test_empty_output_is_an_error_not_an_empty_list(tool: str, tmp_path: Path) -> None:
    path = tmp_path / "empty.out"
    path.write_text("\n")
    res = run_cli(["parse", "--tool", tool, str(path)], cwd=tmp_path)
    assert res.code == 2
    assert str(path) in res.err
