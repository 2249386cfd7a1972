"""Interrupts leave nothing running: SIGTERM and SIGHUP end a run as Ctrl-C does, with partial
reports, and no probe outlives it — not a worker process, not a local probe, not a command on
a host (real sshd hosts, real processes, checked in /proc afterwards)."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Collection
from pathlib import Path

import pytest

from tests.conftest import run_files
from tests.lab.sshlab import SshLab
from tests.ssh.conftest import Fleet, cli_process
from tests.ssh.test_limits import _wait_for_lines

pytestmark = pytest.mark.lab
LOCAL_HANG = 3601  # the fake local `ss` sleeps this long: its own mark among processes


def _environ_has(pid: str, mark: str) -> bool:
    try:
        return mark.encode() in Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return False


def _marked(mark: str) -> list[str]:
    """Command lines of live processes whose environment carries `mark`."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        if _environ_has(pid, mark):
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            found.append(f"{pid}: {cmd.decode(errors='replace')}")
    return found


def _remote_sleepers(lab: SshLab, besides: Collection[str] = ()) -> list[str]:
    """`sleep 3600` commands still running on the lab host whose ss hangs (but `besides`:
    what an earlier test left, which that test reports)."""
    out = subprocess.run(["ip", "netns", "pids", lab.hosts["hang"].ns.name],
                         capture_output=True, text=True, check=False).stdout.split()
    found = []
    for pid in out:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmd[:2] == [b"sleep", b"3600"] and pid not in besides:
            found.append(pid)
    return found


def _gone(check: object, timeout: float = 10.0) -> list[str]:
    """Poll `check()` until it finds nothing (processes take a moment to be reaped)."""
    assert callable(check)
    end = time.monotonic() + timeout
    while True:
        left: list[str] = check()
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.2)


@pytest.mark.parametrize(("sig", "workers", "become"), [
    (signal.SIGTERM, "1", False), (signal.SIGTERM, "2", False), (signal.SIGHUP, "2", False),
    (signal.SIGINT, "1", False), (signal.SIGTERM, "1", True)])
def test_a_signal_writes_partial_reports_and_stops_every_probe(
        fleet: Fleet, lab: SshLab, tmp_path: Path, sig: signal.Signals, workers: str,
        become: bool) -> None:
    fakebin = tmp_path / "fakebin"
    fakebin.mkdir()
    (fakebin / "ss").write_text(f"#!/bin/sh\nexec sleep {LOCAL_HANG}\n")
    (fakebin / "ss").chmod(0o755)
    mark_value = secrets.token_hex(8)
    mark = f"FC_TEST_MARK={mark_value}"
    hosts = {"hang": fleet.vars("hang"), "web3": fleet.vars("web3"), "web4": fleet.vars("web4")}
    if not become:  # sudo's secure_path would find the real ss
        hosts["localhang"] = {"ansible_connection": "local"}
    inv = fleet.inventory(hosts)
    out = tmp_path / "reports"
    before = set(_remote_sleepers(lab))
    proc = cli_process(lab, tmp_path, [
        "scan", "-i", str(inv), "-o", str(out), "--known-hosts", str(lab.known_hosts),
        "--command-timeout", "120", "--deadline", "300", "-v", "--workers", workers,
        *(["--become"] if become else [])],
        environ={"PATH": f"{fakebin}:{os.environ['PATH']}", "FC_TEST_MARK": mark_value})
    try:
        _wait_for_lines(proc, ["web3 (", "web4 ("], timeout=60)
        # the hung probes are running now, here and on the host
        assert _gone(lambda: [] if _remote_sleepers(lab, before) else ["not yet"], 10) == []
        sent = time.monotonic()
        os.kill(proc.pid, sig)  # the process only, not its group: fleetcheck must stop the rest
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - sent < 15
    assert proc.returncode == 3, err
    assert f"interrupted by {sig.name}" in err
    run = json.loads(run_files(out)[0].read_text())
    assert run["complete"] is False
    assert run["meta"]["interrupted_by"] == sig.name
    by_name = {h["name"]: h for h in run["hosts"]}
    assert by_name["hang"]["error"]["kind"] == "not_run"
    if not become:
        assert by_name["localhang"]["error"]["kind"] == "not_run"
    assert by_name["web3"]["status"] == by_name["web4"]["status"] == "compliant"
    assert _gone(lambda: _marked(mark)) == []  # no worker, no local probe left
    assert _gone(lambda: _remote_sleepers(lab, before)) == []  # nothing left on the host
