"""A standard output that cannot be written (real /dev/full) is named on stderr by every
command, whatever its status: 4 instead of 0, and a 1 or 3 kept as it is (docs/cli.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli, run_files

LOST = "fleetcheck: error: standard output: No space left on device"


def _to_full(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    with open("/dev/full", "w", encoding="utf-8") as full:
        return subprocess.run([sys.executable, "-m", "fleetcheck", *argv], cwd=cwd, stdout=full,
                              stderr=subprocess.PIPE, text=True, timeout=60, check=False,
                              env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with a run of this machine (run.json) and its unsigned bundle."""
    where = tmp_path_factory.mktemp("lost")
    res = run_cli(["scan", "--no-history", "--format", "json", "-o", "r"], cwd=where)
    assert res.code in (0, 1, 3), res.err
    (where / "run.json").write_bytes(run_files(where / "r")[0].read_bytes())
    assert run_cli(["evidence", "run.json", "-o", "b.zip"], cwd=where).code == 0
    return where


@pytest.mark.parametrize(("argv", "status"), [
    (["--version"], 4),  # argparse's own printing, help too, goes through the same check
    (["history", "prune", "-h"], 4),
    (["report", "run.json"], 4),
    (["diff", "run.json", "run.json"], 4),  # nothing new: 0, but its output was lost
    (["verify", "b.zip"], 3),  # not proven: the 3 is kept, and the lost output said
])
def test_lost_stdout_is_named_whatever_the_status(saved: Path, argv: list[str],
                                                  status: int) -> None:
    proc = _to_full(argv, saved)
    assert proc.stderr.count(LOST) == 1, proc.stderr
    assert proc.returncode == status, proc.stderr
