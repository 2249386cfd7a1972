"""The summary on a real pseudo-terminal: widths 80 and 160, colour on and off, -q, the order
of its parts, and unchecked hosts grouped by cause with their hint.

The fleet is real: this machine through the local connection, holding a TCP socket the
policy forbids, and twelve hosts whose SSH port refuses connections (127.0.0.1 port 1).
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import select
import socket
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    """An inventory, a policy forbidding a port this test holds, and that socket."""
    root = tmp_path_factory.mktemp("ptyfleet")
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    (root / "hosts.ini").write_text(
        "[web]\nweb[01:12] ansible_host=127.0.0.1 ansible_port=1\n\n"
        "[local]\nlocalhost ansible_connection=local\n")
    (root / "policy.yml").write_text(
        f"name: pty\ndefault: allow\nforbid:\n  - id: held\n    proto: tcp\n    port: {port}\n"
        "    severity: critical\n    reason: the test holds it\n")
    try:
        yield root, port
    finally:
        held.close()


def run_on_pty(argv: list[str], cwd: Path, columns: int, env: dict[str, str] | None = None,
               encoding: str = "utf-8") -> tuple[int, str]:
    """Run fleetcheck with stdin, stdout and stderr on a new pseudo-terminal of `columns`
    whose bytes are read as `encoding`."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    environ = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "COLUMNS", "CI")}
    environ.update({"TERM": "xterm-256color", "HOME": str(cwd), **(env or {})})
    proc = subprocess.Popen([sys.executable, "-m", "fleetcheck", *argv], cwd=cwd,
                            stdin=slave, stdout=slave, stderr=slave, env=environ,
                            start_new_session=True)
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 1.0)
        if not ready:
            if proc.poll() is not None:
                break
            continue
        try:
            data = os.read(master, 65536)
        except OSError as exc:  # EIO: every writer closed the terminal
            if exc.errno != errno.EIO:
                raise
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    code = proc.wait(timeout=60)
    return code, b"".join(chunks).decode(encoding, "replace").replace("\r\n", "\n")


def _stdout_part(text: str) -> list[str]:
    """The summary lines (stderr's progress line is drawn with \\r and erased)."""
    return [line for line in text.split("\n") if "\r" not in line or line.strip()]


@pytest.mark.parametrize("columns", [80, 160])
@pytest.mark.parametrize("color", ["always", "never", "auto"])
def test_summary_on_a_terminal(fleet: tuple[Path, int], tmp_path: Path, columns: int,
                               color: str) -> None:
    root, port = fleet
    code, text = run_on_pty(["scan", "-i", str(root / "hosts.ini"), "-p", str(root /
                             "policy.yml"), "-o", str(tmp_path / "r"), "--color", color,
                             "--connect-timeout", "3", "--retries", "0"], tmp_path, columns)
    assert code == 1, text
    coloured = bool(ANSI.search(text))
    assert coloured == (color != "never"), text  # auto: a terminal, so colour
    lines = [ANSI.sub("", line.split("\r")[-1]) for line in text.split("\n")]
    lines = [line for line in lines if line and not line.startswith("fleetcheck: ")]
    assert all(len(line) <= columns for line in lines), max(lines, key=len)
    assert lines[0].startswith("NONCOMPLIANT: 1 violation on 1 of 13 hosts (worst: critical)")
    order = [next(i for i, line in enumerate(lines) if line.startswith(prefix))
             for prefix in ("hosts 13 · compliant 0 · noncompliant 1 · unreachable 12",
                            "coverage: ", "compliant by policy: pty 0%",
                            "Open findings: 1 in 1 group", "CRITICAL  FORBIDDEN "
                            f"tcp/{port}", "Not checked: 12 hosts (1 cause)",
                            "connection_refused · 12 hosts: web[01:12]", "Reports:")]
    assert order == sorted(order), order  # verdict, counts, overview, findings, causes, paths
    joined = " ".join(" ".join(lines).split())
    assert "hint: nothing listens on the SSH port" in joined
    last = lines[-1].strip()  # the report paths come last, relative to where it ran
    assert last.startswith("r/fleetcheck-") and last.endswith(".xml"), last


def test_quiet_prints_the_verdict_line_only(fleet: tuple[Path, int], tmp_path: Path) -> None:
    root, _ = fleet
    code, text = run_on_pty(["scan", "-q", "-i", str(root / "hosts.ini"), "-p",
                             str(root / "policy.yml"), "-o", str(tmp_path / "r"),
                             "--color", "never", "--retries", "0"], tmp_path, 80)
    assert code == 1
    shown = [line.split("\r")[-1] for line in text.split("\n")]
    shown = [line for line in shown if line.strip()]
    assert len(shown) == 1 and shown[0].startswith("NONCOMPLIANT: 1 violation"), shown
    assert len(list((tmp_path / "r").glob("fleetcheck-2*"))) == 4  # reports written as usual


def test_no_color_and_all_hosts(fleet: tuple[Path, int], tmp_path: Path) -> None:
    root, _ = fleet
    code, text = run_on_pty(["scan", "--all-hosts", "-i", str(root / "hosts.ini"), "-p",
                             str(root / "policy.yml"), "-o", str(tmp_path / "r"),
                             "--retries", "0"], tmp_path, 80, env={"NO_COLOR": "1"})
    assert code == 1 and not ANSI.search(text)
    assert "connection_refused · 12 hosts: web[01:12]" in text
