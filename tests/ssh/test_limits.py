"""Never held by one host: per-host deadline, output cap, retries, Ctrl-C, worker processes."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import run_files
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import Fleet, cli_process, interrupt

pytestmark = pytest.mark.lab


def test_deadline_bounds_the_run(fleet: Fleet, lab: SshLab) -> None:
    """Timeouts of 30s, deadline 5s: the tarpit and the hung command are cut at the deadline."""
    inv = fleet.inventory({n: fleet.vars(n) for n in ("tarpit", "hang", "web3")})
    scan = fleet.scan(inv, "--deadline", "5", "--connect-timeout", "30", "--command-timeout", "30")
    assert scan.kind("tarpit") == "banner_timeout"
    assert scan.kind("hang") == "command_timeout"
    assert scan.host("web3")["status"] == "compliant"
    assert scan.wall < 5 + 5
    assert scan.run["meta"]["deadline"] == 5


def test_output_cap_is_enforced_while_reading(fleet: Fleet, lab: SshLab) -> None:
    """A host printing 40 MB stops at the cap; so does a normal host under a tiny cap."""
    inv = fleet.inventory({"flood": fleet.vars("flood"), "web3": fleet.vars("web3")})
    scan = fleet.scan(inv, "--max-output", "1M")
    assert scan.kind("flood") == "output_too_large"
    assert "1048576 bytes" in scan.host("flood")["error"]["message"]
    assert scan.host("web3")["status"] == "compliant"
    tiny = fleet.scan(inv, "--max-output", "100")
    assert tiny.kind("web3") == "output_too_large"


def test_transient_resets_are_retried(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """A path that resets the first two connections: the third attempt gets through."""
    count = lab.flaky_port("relay", 2201, fail_first=2)
    known = tmp_path / "known_hosts"
    address = lab.hosts["relay"].address
    known.write_text("".join(f"[{address}]:2201 {k}\n" for k in lab.hosts["relay"].host_keys))
    inv = fleet.inventory({"relay": fleet.vars("relay", ansible_port=2201)})
    scan = fleet.scan(inv, "--retries", "2", known_hosts=known)
    assert scan.host("relay")["error"] is None
    assert count.read_text() == "3"


def test_retries_are_bounded(fleet: Fleet, lab: SshLab, tmp_path: Path) -> None:
    """A path that always resets: 1 + --retries attempts, then the host fails, saying so."""
    count = lab.flaky_port("relay", 2202, fail_first=1000)
    inv = fleet.inventory({"relay": fleet.vars("relay", ansible_port=2202)})
    scan = fleet.scan(inv, "--retries", "1")
    error = scan.host("relay")["error"]
    assert error["kind"] == "ssh_error" and "after 2 attempts" in error["message"]
    assert count.read_text() == "2"


def test_definite_failures_are_not_retried(fleet: Fleet, lab: SshLab) -> None:
    """Auth failures and unknown host keys are answers, not accidents: one connection each."""
    log = lab.hosts["web3"].dir / "sshd.log"
    before = log.read_text().count("Connection from ")
    inv = fleet.inventory({"wrongkey": fleet.vars("web3", key=lab.unauthorized_key)})
    scan = fleet.scan(inv, "--retries", "3")
    assert scan.kind("wrongkey") == "auth_failed"
    assert log.read_text().count("Connection from ") - before == 1


def test_worker_processes_give_the_same_results(fleet: Fleet, lab: SshLab) -> None:
    """--workers 2 spreads hosts over two processes; the run's result is the same."""
    names = ("web1", "web2", "web3", "web4", "db1", "notools", "nosshd", "p2222")
    inv = fleet.inventory({n: fleet.vars(n, ansible_become=True) for n in names})
    one = fleet.scan(inv, "--workers", "1")
    two = fleet.scan(inv, "--workers", "2")

    def essence(run: dict[str, object]) -> list[tuple[object, ...]]:
        hosts = run["hosts"]
        assert isinstance(hosts, list)
        return [(h["name"], h["status"], h["error"] and h["error"]["kind"],
                 sorted(json.dumps(li, sort_keys=True) for li in h["listeners"]),
                 sorted(f["id"] for f in h["findings"])) for h in hosts]

    assert essence(two.run) == essence(one.run)
    assert two.run["meta"]["workers"] == 2 and two.code == one.code == 1
    assert two.run["summary"] == one.run["summary"]


def _wait_for_lines(proc: subprocess.Popen[str], wanted: list[str], timeout: float) -> str:
    """Read the CLI's stderr until every wanted text has appeared.

    Reads the descriptor itself: a buffered readline could leave a wanted line in the
    stream's buffer, where select() never sees it.
    """
    assert proc.stderr is not None
    fd = proc.stderr.fileno()
    seen = b""
    end = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while not all(w.encode() in seen for w in wanted):
            if time.monotonic() > end or proc.poll() is not None:
                raise AssertionError(f"did not see {wanted} (exit {proc.poll()}) in: "
                                     f"{seen.decode(errors='replace')}")
            if sel.select(timeout=0.2):
                seen += os.read(fd, 65536)
    return seen.decode(errors="replace")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_writes_what_finished(fleet: Fleet, lab: SshLab, tmp_path: Path,
                                     workers: str) -> None:
    """Ctrl-C while a host hangs: reports are written, complete=false, the hung host not_run."""
    inv = fleet.inventory({n: fleet.vars(n) for n in ("hang", "web3", "web4")})
    out = tmp_path / "reports"
    proc = cli_process(lab, tmp_path, [
        "scan", "-i", str(inv), "-o", str(out), "--known-hosts", str(lab.known_hosts),
        "--command-timeout", "120", "--deadline", "300", "-v", "--workers", workers])
    try:
        _wait_for_lines(proc, ["web3 (", "web4 ("], timeout=60)
        interrupted = time.monotonic()
        interrupt(proc)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - interrupted < 10
    assert proc.returncode == 3, err
    assert "interrupted" in err
    (report,) = run_files(out)
    run = json.loads(report.read_text())
    assert run["complete"] is False and run["summary"]["complete"] is False
    by_name = {h["name"]: h for h in run["hosts"]}
    assert by_name["hang"]["error"]["kind"] == "not_run"
    assert by_name["web3"]["status"] == by_name["web4"]["status"] == "compliant"
    text = next(out.glob("fleetcheck-2*.txt")).read_text()
    assert text.splitlines()[1].startswith("INCOMPLETE: ")
    assert "interrupted" in " ".join(text.split())


@pytest.mark.parametrize(("mode", "kind"), [("banner", "handshake_timeout"),
                                            ("auth", "auth_timeout")])
def test_stalled_handshake_and_authentication(fleet: Fleet, lab: SshLab, tmp_path: Path,
                                              mode: str, kind: str,
                                              short_waits: list[float]) -> None:
    """A server that stops after its banner, or never answers authentication: its own kind,
    found by one wait (paramiko's waits wake every tenth of a second to look)."""
    port = 2301 if mode == "banner" else 2302
    pub = lab.stall_port("relay", port, mode)
    known = tmp_path / "known_hosts"
    known.write_text(f"[{lab.hosts['relay'].address}]:{port} {pub}\n")
    inv = fleet.inventory({"stalled": fleet.vars("relay", ansible_port=port)})
    scan = fleet.scan(inv, "--connect-timeout", "3", "--deadline", "7", known_hosts=known)
    assert scan.kind("stalled") == kind, scan.host("stalled")["error"]
    assert scan.wall < 7 + 5
    assert len(short_waits) < 5, f"{len(short_waits)} short waits"
