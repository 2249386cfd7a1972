"""The exit code is the verdict's: a closed stdout, a full disk or a lost report never changes
a 1 or 3, and a clean verdict whose reports were lost is 4 (real pipes, /dev/full, tmpfs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli, run_files
from tests.lab.fullfs import full_tmpfs
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns

pytestmark = pytest.mark.lab
STRAY = Sock("tcp", "0.0.0.0", 1923, process="spiced")  # forbidden: critical


def _shell(netns: Namespace, tmp_path: Path, pipeline: str) -> subprocess.CompletedProcess[str]:
    """Run `pipeline` (FC stands for the fleetcheck command) in the namespace; the exit
    status of fleetcheck itself is printed last on stderr."""
    fc = f"{sys.executable} -m fleetcheck scan -o {tmp_path / 'out'}"
    script = f"cd {REPO}; {pipeline.replace('FC', fc)}; echo \"status=${{PIPESTATUS[0]}}\" >&2"
    return subprocess.run(netns.exec_argv(["bash", "-c", script]), capture_output=True,
                          text=True, timeout=120, check=False)


def _status(proc: subprocess.CompletedProcess[str]) -> int:
    return int(proc.stderr.rstrip().rsplit("status=", 1)[1])


def test_a_closed_pipe_keeps_the_failing_verdict(netns: Namespace, holders: SocketHolders,
                                                 tmp_path: Path) -> None:
    holders.hold([STRAY])
    proc = _shell(netns, tmp_path, "FC | true")  # the reader is gone before the report
    assert _status(proc) == 1, proc.stderr
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr
    assert "NONCOMPLIANT" in proc.stderr  # the verdict is not hidden
    assert len(run_files(tmp_path / "out")) == 1  # reports were written


def test_a_closed_pipe_on_a_clean_run_is_still_clean(netns: Namespace, tmp_path: Path) -> None:
    proc = _shell(netns, tmp_path, "FC | true")
    assert _status(proc) == 0, proc.stderr
    assert "Exception ignored" not in proc.stderr


def test_stdout_on_a_full_device(netns: Namespace, holders: SocketHolders,
                                 tmp_path: Path) -> None:
    clean = _shell(netns, tmp_path, "FC > /dev/full")
    assert _status(clean) == 4, clean.stderr  # clean verdict, its report on stdout lost
    assert "standard output: No space left on device" in clean.stderr
    assert "COMPLIANT: " in clean.stderr
    holders.hold([STRAY])
    failing = _shell(netns, tmp_path, "FC > /dev/full")
    assert _status(failing) == 1, failing.stderr
    assert "NONCOMPLIANT: " in failing.stderr


@pytest.mark.parametrize(("socks", "verdict", "expected"), [([], 0, 4), ([STRAY], 1, 1)])
def test_a_full_disk_keeps_the_verdict(netns: Namespace, holders: SocketHolders, tmp_path: Path,
                                       socks: list[Sock], verdict: int, expected: int) -> None:
    holders.hold(socks)
    with full_tmpfs(tmp_path / "full") as full, in_netns(netns.name):
        res = run_cli(["scan", "-o", str(full), "--format", "text,json"], cwd=tmp_path)
        left = sorted(p.name for p in full.iterdir())
    assert res.code == expected, res.err
    assert left == ["filler"]  # nothing half-written, no temporary files left behind
    assert res.err.count("report not written: No space left on device") == 2
    assert str(full) in res.err
    first = res.out.splitlines()[0]
    assert first.startswith("NONCOMPLIANT" if verdict else "COMPLIANT")  # still on stdout


def test_two_runs_in_the_same_second_never_share_files(netns: Namespace, tmp_path: Path) -> None:
    argv = netns.exec_argv([sys.executable, "-m", "fleetcheck", "scan", "-o",
                            str(tmp_path / "out"), "--format", "json,text"])
    procs = [subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errs
    runs = [json.loads(p.read_text()) for p in run_files(tmp_path / "out")]
    assert len({r["run_id"] for r in runs}) == 3
    assert len(list((tmp_path / "out").glob("fleetcheck-2*.txt"))) == 3
    for run in runs:
        assert (tmp_path / "out" / f"fleetcheck-{run['run_id']}.json").is_file()


def test_report_never_overwrites_without_force(netns: Namespace, tmp_path: Path) -> None:
    with in_netns(netns.name):
        first = run_cli(["scan", "-o", "out", "--format", "json,text"], cwd=tmp_path)
    assert first.code == 0, first.err
    (saved,) = run_files(tmp_path / "out")
    text = next((tmp_path / "out").glob("fleetcheck-2*.txt"))
    text.write_text("kept\n")
    again = run_cli(["report", str(saved), "--format", "text", "-o", "out"], cwd=tmp_path)
    assert again.code == 4
    assert f"{text}: report not written: a file of that name exists" in again.err
    assert text.read_text() == "kept\n"
    forced = run_cli(["report", str(saved), "--format", "text", "-o", "out", "--force"],
                     cwd=tmp_path)
    assert forced.code == 0, forced.err
    assert text.read_text().splitlines()[1].startswith("COMPLIANT")


@pytest.mark.parametrize(("umask", "mode"), [("077", 0o600), ("022", 0o644), ("002", 0o664)])
def test_reports_follow_the_umask(netns: Namespace, tmp_path: Path, umask: str,
                                  mode: int) -> None:
    proc = _shell(netns, tmp_path, f"umask {umask}; FC --format text,html,json,junit,csv")
    assert _status(proc) == 0, proc.stderr
    files = list((tmp_path / "out").iterdir())
    assert len([f for f in files if f.name.startswith("fleetcheck-2")]) == 6  # + .groups.csv
    assert {f.stat().st_mode & 0o777 for f in files} == {mode}  # the latest names too
