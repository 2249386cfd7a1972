"""History faults during real scans (local connection, real sockets in a namespace): a newer
database, a corrupt file, a database locked by another process, a full disk (a real tiny
tmpfs). Each is one line naming the file, a warning in the reports, the reports written
and the exit code what the findings decide; then two scans at once on one database."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.history import schema
from tests.conftest import REPO, run_cli, run_files
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns

pytestmark = pytest.mark.lab
STRAY = Sock("tcp", "0.0.0.0", 8081, process="strayd")


def _inventory(tmp: Path, hosts: int = 1) -> Path:
    path = tmp / "inv.yml"
    lines = ["all:", "  hosts:"] + [f"    box{i}: {{ansible_connection: local}}"
                                    for i in range(hosts)]
    path.write_text("\n".join(lines) + "\n")
    return path


def _scan(ns: Namespace, tmp: Path, db: Path | None, *args: str, hosts: int = 1
          ) -> tuple[int, str, dict[str, Any], str]:
    out = tmp / f"out{len(list(tmp.glob('out*')))}"
    history = ["--history-db", str(db)] if db else ["--no-history"]
    with in_netns(ns.name):
        res = run_cli(["scan", "-i", str(_inventory(tmp, hosts)), "-o", str(out), "--format",
                       "text,json", "--workers", "1", *history, *args], cwd=tmp)
    (report,) = run_files(out)
    (text,) = (p for p in out.glob("*.txt") if p.name != "fleetcheck-latest.txt")
    return res.code, res.err, json.loads(report.read_text()), text.read_text()


def _newer(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID}")
    conn.execute("PRAGMA user_version = 42")
    conn.execute("CREATE TABLE from_the_future (x)")
    conn.commit()
    conn.close()


def _corrupt(db: Path) -> None:
    db.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))


@contextlib.contextmanager
def _locked(db: Path) -> Iterator[None]:
    """Another real process holding the database's write lock."""
    code = ("import sqlite3, sys, time\n"
            "c = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('locked', flush=True)\n"
            "time.sleep(120)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(db)], stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "locked\n"
        yield
    finally:
        proc.kill()
        proc.wait()


def _assert_history_failed(code: int, expected: int, err: str, run: dict[str, Any],
                           text: str, db: Path, words: str, *, compared: bool = False) -> None:
    (line,) = [line for line in err.splitlines() if "history" in line]
    assert line.startswith(f"fleetcheck: error: {db}: history not recorded: ")
    assert words in line
    assert code == expected == run["summary"]["exit_code"]
    assert run["history"]["status"] == "failed" and words in run["history"]["error"]
    assert any(words in w for w in run["meta"]["warnings"])
    assert "WARNING: History was not recorded" in text
    # Compared with nothing, nothing is claimed; a comparison read before the failure stands.
    assert ("changes" in run) is compared


@pytest.mark.parametrize(("fault", "words"), [
    ("newer", "written by a newer fleetcheck (schema version 42"),
    ("corrupt", "not a usable history database"),
])
def test_unusable_database_never_changes_the_verdict(
        netns: Namespace, holders: SocketHolders, tmp_path: Path, fault: str, words: str) -> None:
    holders.hold([STRAY])
    db = tmp_path / "h.sqlite3"
    {"newer": _newer, "corrupt": _corrupt}[fault](db)
    before = db.read_bytes()
    plain, _, _, _ = _scan(netns, tmp_path, None)
    code, err, run, text = _scan(netns, tmp_path, db)
    _assert_history_failed(code, plain, err, run, text, db, words)
    assert plain == 1
    assert db.read_bytes() == before  # never "repaired" or downgraded


@pytest.mark.parametrize("planted", [True, False])
def test_locked_database_past_the_timeout(netns: Namespace, holders: SocketHolders,
                                          tmp_path: Path, planted: bool) -> None:
    if planted:
        holders.hold([STRAY])
    db = tmp_path / "h.sqlite3"
    first, _, run1, _ = _scan(netns, tmp_path, db)
    assert run1["history"]["status"] == "recorded"
    with _locked(db):
        code, err, run, text = _scan(netns, tmp_path, db, "--history-timeout", "1")
    _assert_history_failed(code, first, err, run, text, db, "database is locked")
    assert code == (1 if planted else 0)  # a 0 stays 0: history is not a report
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT run_id FROM runs").fetchall() == [(run1["run_id"],)]
    conn.close()


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 1 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "tiny"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_while_recording(netns: Namespace, holders: SocketHolders, tmp_path: Path,
                                   tiny_disk: Path) -> None:
    holders.hold([STRAY, Sock("udp", "0.0.0.0", 5354, process="mdnsx")])
    db = tiny_disk / "h.sqlite3"
    first, _, run1, _ = _scan(netns, tmp_path, db)
    assert run1["history"]["status"] == "recorded"
    free = os.statvfs(tiny_disk)
    filler = tiny_disk / "filler"
    # Leave room to open the database (its shared-memory index), not to record 30 hosts.
    filler.write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 48 * 1024))
    code, err, run, text = _scan(netns, tmp_path, db, hosts=30)
    _assert_history_failed(code, first, err, run, text, db, "database or disk is full",
                           compared=True)
    assert run["changes"]["persisting"] == 2 and run["changes"]["first_checked"] == 29
    assert code == 1
    filler.unlink()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM runs").fetchone() == (1,)
    conn.close()
    again, _, run3, _ = _scan(netns, tmp_path, db, hosts=30)  # room again: recorded
    assert (again, run3["history"]["status"]) == (1, "recorded")


def test_two_scans_at_once_on_one_database(netns: Namespace, holders: SocketHolders,
                                           tmp_path: Path) -> None:
    holders.hold([STRAY])
    db = tmp_path / "h.sqlite3"
    inventory = _inventory(tmp_path, hosts=20)
    env = {**os.environ, "PYTHONPATH": str(REPO), "CI": "true"}
    procs = [subprocess.Popen(netns.exec_argv([
        sys.executable, "-m", "fleetcheck", "scan", "-i", str(inventory), "-o",
        str(tmp_path / f"par{i}"), "--format", "json", "--workers", "1", "--history-db",
        str(db)]), cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True) for i in range(2)]
    results = [(p.communicate(timeout=300), p.returncode) for p in procs]
    for (_, err), code in results:
        assert code == 1, err
        assert "history" not in err
    runs = [json.loads(out) for (out, _), _ in results]
    assert {r["history"]["status"] for r in runs} == {"recorded"}
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert sorted(r[0] for r in conn.execute("SELECT run_id FROM runs")) == \
        sorted(r["run_id"] for r in runs)
    assert conn.execute("SELECT min(checks), max(checks) FROM hosts").fetchone() == (2, 2)
    # whichever committed second saw the first: its findings persist
    second = max(runs, key=lambda r: r["changes"]["persisting"])
    assert second["changes"]["persisting"] == 20 and second["changes"]["new"] == 0
    conn.close()
