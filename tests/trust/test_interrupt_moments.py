"""Signals at the moments a run is most fragile, in real processes: while a report file is
being written (any command), two signals at once (a Ctrl-C, then the scheduler's SIGTERM),
and a Ctrl-C while worker processes are still loading.

Each moment is made exact, not hoped for: the test waits for what it can see (a report's
temporary file, a host's -v line, a worker process), stops fleetcheck (SIGSTOP), queues
the signals and lets it go on (SIGCONT), so that they reach it in that state, together.
The scans check this machine through the local connection; their `ss` is a stand-in that
answers at once for the first host and hangs for the others.
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import yaml

from fleetcheck.render import FORMATS, RenderOptions
from tests.conftest import REPO, run_files
from tests.render.synthetic import synthetic_run
from tests.runschema import assert_valid_run

# Runs the rest of its argv with INT, HUP and TERM as a terminal session has them (the
# suite may run as a background job or under nohup, which would pass them on ignored).
_DEFAULT_SIGNALS = ("import os, signal, sys\n"
                    "for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):\n"
                    "    signal.signal(s, signal.SIG_DFL)\n"
                    "os.execv(sys.argv[1], sys.argv[1:])")
HANG = 3607  # the stand-in `ss` of every host but the first sleeps this long: its own mark


def _start(argv: Sequence[str], cwd: Path, path: str | None = None,
           python: Sequence[str] = ()) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(cwd), "CI": "true",
           "PATH": path or os.environ["PATH"]}
    return subprocess.Popen([sys.executable, "-c", _DEFAULT_SIGNALS, sys.executable, *python,
                             "-m", "fleetcheck", *argv], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _at_once(proc: subprocess.Popen[str], *sigs: signal.Signals) -> None:
    """Deliver `sigs` to the process together: stopped, they wait; continued, all arrive."""
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        for sig in sigs:
            os.kill(proc.pid, sig)
    finally:
        os.kill(proc.pid, signal.SIGCONT)


def _until(check: Callable[[], bool], proc: subprocess.Popen[str],
           timeout: float = 60) -> None:
    """Poll `check` until it holds (fleetcheck still running)."""
    end = time.monotonic() + timeout
    while not check():
        if proc.poll() is not None or time.monotonic() > end:
            proc.kill()
            err = proc.communicate()[1]
            raise AssertionError(f"never happened (exit {proc.returncode}): {err[-2000:]}")
        time.sleep(0.002)


def _finish(proc: subprocess.Popen[str], seen: str = "") -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "Traceback" not in seen + err and "Exception ignored" not in seen + err, seen + err
    return proc.returncode, seen + err


def _complete_files(out: Path) -> list[str]:
    """Every file in `out`, each checked to be whole (none half-written, no temporary)."""
    names = sorted(p.name for p in out.iterdir())
    for name in names:
        assert not name.startswith(".") and not name.endswith(".tmp"), names
        data = (out / name).read_bytes()
        if name.startswith("fleetcheck-history.sqlite3"):
            if name.endswith(".sqlite3"):
                with contextlib.closing(sqlite3.connect(out / name)) as db:
                    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        elif name.endswith(".json"):
            assert_valid_run(json.loads(data), name)
        elif name.endswith(".html"):
            assert data.rstrip().endswith(b"</html>"), name
        else:
            assert data.endswith(b"\n"), name
    return names


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_while_fleetcheck_loads(tmp_path: Path, sig: signal.Signals) -> None:
    # Python says which module it has loaded (-X importtime): one that the command line's
    # own loading imports, after fleetcheck's handlers are set and before any command runs.
    proc = _start(["--version"], tmp_path, python=["-X", "importtime"])
    seen = _read_until(proc, " fleetcheck.cli.env\n")
    _at_once(proc, sig)
    code, err = _finish(proc, seen)  # was: killed (SIGTERM, SIGHUP), a traceback (SIGINT)
    assert code == 130, err
    assert "\nfleetcheck: interrupted\n" in err


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_while_a_report_is_written_leaves_no_partial_file(
        tmp_path: Path, sig: signal.Signals) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(FORMATS["json"].render(synthetic_run(120), RenderOptions()))
    out = tmp_path / "out"
    proc = _start(["report", str(saved), "--format", "json,html,text", "-o", str(out)], tmp_path)
    _until(lambda: out.is_dir() and any(p.name.endswith(".tmp") for p in out.iterdir()), proc)
    _at_once(proc, sig)  # a report is half-written now
    code, err = _finish(proc)
    assert code == 130, err  # was: killed where it stood (SIGTERM, SIGHUP)
    assert "fleetcheck: interrupted" in err
    names = _complete_files(out)
    assert len(names) < 3  # it was cut: not every format was written


def _local_scan(tmp_path: Path, hosts: int, *extra: str) -> tuple[subprocess.Popen[str], Path]:
    """A scan of `hosts` local hosts: the first one's `ss` answers, the others' hang."""
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    first = tmp_path / "first"
    (fakebin / "ss").write_text(
        f'#!/bin/sh\nif mkdir "{first}" 2>/dev/null; then exec {shutil.which("ss")} "$@"; fi\n'
        f': > "{tmp_path}/hanging"\nexec sleep {HANG}\n')
    (fakebin / "ss").chmod(0o755)
    inventory = tmp_path / "inv.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {
        f"h{i}": {"ansible_connection": "local"} for i in range(hosts)}}}))
    out = tmp_path / "out"
    proc = _start(["scan", "-i", str(inventory), "-o", str(out), "--format", "json,html,junit",
                   "-v", *extra], tmp_path, path=f"{fakebin}:{os.environ['PATH']}")
    return proc, out


def _read_until(proc: subprocess.Popen[str], wanted: str, timeout: float = 60) -> str:
    """Read stderr (its descriptor: nothing left in a buffer) until `wanted` shows."""
    assert proc.stderr is not None
    fd, seen, end = proc.stderr.fileno(), b"", time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while wanted.encode() not in seen:
            data = os.read(fd, 65536) if sel.select(timeout=0.2) else None
            assert data != b"" and time.monotonic() < end, seen.decode()  # b"": it ended
            seen += data or b""
    return seen.decode(errors="replace")


def _hanging() -> list[str]:
    """Live stand-in `ss` processes (sleep HANG) anywhere on this machine."""
    found = []
    for pid in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            if Path(f"/proc/{pid}/cmdline").read_bytes() == f"sleep\0{HANG}\0".encode():
                found.append(pid)
        except OSError:
            continue
    return found


@pytest.mark.parametrize("workers", ["1", "2"])
def test_two_signals_at_once_still_write_the_partial_reports(tmp_path: Path,
                                                             workers: str) -> None:
    proc, out = _local_scan(tmp_path, 3, "--workers", workers, "--forks", "3")
    seen = _read_until(proc, " · ss · ")  # the first host is checked
    _until((tmp_path / "hanging").exists, proc)
    _at_once(proc, signal.SIGINT, signal.SIGTERM)  # the second came while the first wound down
    code, err = _finish(proc, seen)
    (saved,) = run_files(out)  # was exit 130, no report: the second cut the first
    run = json.loads(saved.read_text())
    assert code == run["summary"]["exit_code"] and code in (1, 3), err  # 1: this machine's
    # Which of the two is handled first is the threads' race: the kernel hands pending
    # signals of a continued process to whichever threads wake, so SIGTERM's handler may
    # trip before SIGINT's. The run names the one that stopped it, and only that one.
    first = run["meta"]["interrupted_by"]
    assert run["complete"] is False and first in ("SIGINT", "SIGTERM")
    assert f"interrupted by {first}" in err and err.count("interrupted by") == 1, err
    kinds = sorted((h["error"] or {}).get("kind", "checked") for h in run["hosts"])
    assert kinds == ["checked", "not_run", "not_run"]
    _complete_files(out)
    end = time.monotonic() + 10
    while _hanging() and time.monotonic() < end:  # the probes stopped with the run
        time.sleep(0.1)
    assert _hanging() == []


def _workers_of(pid: int) -> list[int]:
    """Worker processes (multiprocessing's spawn) whose parent is `pid`."""
    found = []
    for child in (p for p in os.listdir("/proc") if p.isdigit()):
        try:
            stat = Path(f"/proc/{child}/stat").read_bytes()  # a comm may be any bytes
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if int(stat.rsplit(b")", 1)[1].split()[1]) == pid and b"multiprocessing" in cmd:
            found.append(int(child))
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGHUP])
def test_a_terminal_signal_while_a_worker_process_loads(tmp_path: Path,
                                                       sig: signal.Signals) -> None:
    proc, out = _local_scan(tmp_path, 4, "--workers", "2", "--engine", "processes")
    _until(lambda: bool(_workers_of(proc.pid)), proc)
    # A terminal's Ctrl-C or hangup: the worker and multiprocessing's helper get it too.
    os.killpg(proc.pid, sig)
    code, err = _finish(proc)  # was: the worker's KeyboardInterrupt traceback on stderr
    assert code in (1, 3), err
    assert f"interrupted by {sig.name}" in err
    run = json.loads(run_files(out)[0].read_text())
    assert run["complete"] is False
    unfinished = sum(1 for h in run["hosts"] if h["error"] and h["error"]["kind"] == "not_run")
    assert f"interrupted by {sig.name}: {len(run['hosts']) - unfinished} of " \
        f"{len(run['hosts'])} hosts finished, {unfinished} marked not_run\n" in err, err
    _complete_files(out)


def _quiet_machine(tmp_path: Path) -> str:
    """A PATH whose `ss` lists no listener: this machine, checked, is compliant."""
    fakebin = tmp_path / "quiet"
    fakebin.mkdir()
    (fakebin / "ss").write_text("#!/bin/sh\necho 'Netid State Recv-Q Send-Q "
                                "Local Address:Port Peer Address:Port Process'\n")
    (fakebin / "ss").chmod(0o755)
    return f"{fakebin}:{os.environ['PATH']}"


def test_an_evidence_bundle_is_checked_first_and_never_costs_the_reports(
        tmp_path: Path) -> None:
    path = _quiet_machine(tmp_path)
    (tmp_path / "taken.zip").write_text("kept\n")
    taken = _start(["scan", "-o", "out", "--evidence", "taken.zip"], tmp_path, path=path)
    code, err = _finish(taken)
    assert code == 2, err  # was: every host checked and recorded, then exit 2, no report
    assert "taken.zip: --evidence: a file of that name exists" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    (tmp_path / "file").write_text("")
    lost = _start(["scan", "-o", "out", "--format", "json", "--evidence", "file/b.zip"],
                  tmp_path, path=path)
    code, err = _finish(lost)
    assert code == 4, err  # a clean verdict whose bundle was lost
    assert "cannot write the bundle" in err
    (saved,) = run_files(tmp_path / "out")
    assert json.loads(saved.read_text())["summary"]["exit_code"] == 0
