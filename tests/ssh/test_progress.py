"""Progress only on a terminal and never in CI; -v logs one line per host, without secrets."""

from __future__ import annotations

import io

import pytest

from fleetcheck.model import HostError, HostResult, Status
from fleetcheck.progress import Progress
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import Fleet


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _host(name: str, ok: bool) -> HostResult:
    if ok:
        return HostResult(name, "10.0.0.1", (), Status.COMPLIANT)
    return HostResult(name, "10.0.0.2", (), Status.UNREACHABLE,
                      error=HostError("connect_timeout", "no TCP connection"))


def test_progress_line_counts_rate_and_time_left() -> None:
    """Done of total, failures, hosts/s and time left, redrawn in place, cleared at the end."""
    clock = _Clock()
    stream = io.StringIO()
    progress = Progress(40, stream, enabled=True, clock=clock)
    for i in range(12):
        clock.now += 0.5
        progress.host_done(_host(f"h{i}", ok=i != 3))
    assert progress.line() == "fleetcheck: 12/40 hosts · 1 failed · 2.0 hosts/s · 0:14 left"
    assert stream.getvalue().startswith("\rfleetcheck: 1/40 hosts")
    progress.write("a log line")
    assert "\ra log line\n\rfleetcheck: 12/40 hosts" in stream.getvalue()  # cleared, redrawn
    progress.close()
    assert stream.getvalue().endswith("\r")


def test_disabled_progress_writes_nothing() -> None:
    """Not a terminal (or CI): no progress text at all; log lines still print."""
    stream = io.StringIO()
    progress = Progress(3, stream, enabled=False)
    progress.host_done(_host("a", ok=True))
    progress.close()
    assert stream.getvalue() == ""
    progress.write("line")
    assert stream.getvalue() == "line\n"


@pytest.mark.lab
@pytest.mark.parametrize(("tty", "ci", "quiet", "shown"),
                         [(True, False, False, True), (True, True, False, False),
                          (False, False, False, False), (True, False, True, False)])
def test_progress_on_a_terminal_only(fleet: Fleet, lab: SshLab, tty: bool, ci: bool,
                                     quiet: bool, shown: bool) -> None:
    """The CLI shows progress on stderr only when it is a terminal, CI is not set and -q
    was not given."""
    inv = fleet.inventory({n: fleet.vars(n) for n in ("web3", "nosshd")})
    scan = fleet.scan(inv, *(["-q"] if quiet else []), tty_err=tty,
                      environ={"CI": "true"} if ci else {})
    if quiet:
        assert scan.out.startswith("NOT VERIFIED") and "Reports:" not in scan.out, scan.out
        assert "fleetcheck: 2/2" not in scan.err
        return
    assert ("\rfleetcheck: 2/2 hosts · 1 failed" in scan.err) is shown
    assert "Reports:" in scan.out and "report:" not in scan.err  # paths end the summary


@pytest.mark.lab
def test_verbose_logs_each_host(fleet: Fleet, lab: SshLab) -> None:
    """-v: one line per host with its outcome (the error kind for failures); no secrets."""
    password = lab.user("fcpw").password
    assert password
    inv = fleet.inventory({
        "web3": fleet.vars("web3"), "nosshd": fleet.vars("nosshd"),
        "pw": {"ansible_host": lab.hosts["web4"].address, "ansible_user": "fcpw",
               "ansible_password": password, "ansible_become": True,
               "ansible_become_password": password}})
    scan = fleet.scan(inv, "-v")
    lines = [line for line in scan.err.splitlines() if line.startswith("fleetcheck: ")]
    assert any(line.startswith("fleetcheck: web3 (") and "compliant" in line for line in lines)
    assert any("nosshd (" in line and "connection_refused" in line for line in lines)
    assert any(line.startswith("fleetcheck: pw (") for line in lines)
    assert password not in scan.err
    quiet = fleet.scan(inv)
    assert not any(line.startswith("fleetcheck: web3") for line in quiet.err.splitlines())
