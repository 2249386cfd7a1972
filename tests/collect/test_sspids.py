"""The probe's shell step that finds the pids an ss listing names (`fc_sspids`), run by
real shells on generated listings with hostile process names."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from fleetcheck.collect.nsprobe import _FC_SSPIDS, SS_PID_STATS

NAMES = ("sshd", "a b", "x)y", "pa(re", "p=1,fd", 'q",pid=77,fd=1', "*", "w?b", "pid=", "=",
         "1,fd", "d,fd=2", "tab\tx", "é", "new\nline", "'", "$(id)")
SHELLS = [s for s in ("dash", "bash", "busybox") if shutil.which(s)]


def _listing(rng: random.Random) -> tuple[str, set[int]]:
    rows: list[str] = []
    pids: set[int] = set()
    for i in range(rng.randint(0, 12)):
        holders = []
        for _ in range(rng.randint(1, 3)):
            pid = rng.choice((rng.randint(2, 4_194_304), *pids)) if pids else rng.randint(2, 99)
            pids.add(pid)
            holders.append(f'("{rng.choice(NAMES)}",pid={pid},fd={rng.randint(0, 99)})')
        rows.append(f"tcp LISTEN 0 128 0.0.0.0:{1000 + i} 0.0.0.0:* users:({','.join(holders)})"
                    f" ino:{i} sk:{i} cgroup:/x=y/{rng.choice(NAMES)} <->")
    return "\n".join(rows), pids


def _run(shell: str, listing: str, tmp: Path) -> tuple[list[str], list[str]]:
    argv = [shell, "sh"] if shell == "busybox" else [shell]
    (tmp / "listing").write_text(listing)
    script = (f"o=$(cat listing); {_FC_SSPIDS}; {SS_PID_STATS}; printf '%s|' \"$fc_p\"; "
              "printf '%s' \"$IFS\" | od -An -c")
    done = subprocess.run([*argv, "-c", script], env={"PATH": "/usr/bin:/bin"}, cwd=tmp,
                          capture_output=True, text=True, check=True)
    found, _, ifs = done.stdout.partition("|")
    return found.split(), ifs.split()


@pytest.mark.parametrize("shell", SHELLS)
def test_every_listed_pid_once_and_ifs_restored(shell: str, tmp_path: Path) -> None:
    """Each pid once, whatever the names hold (a name forging `N,fd=` only adds a file to
    read, never hides a pid), and the shell's IFS as it was."""
    assert "dash" in SHELLS
    rng = random.Random(1923)  # noqa: S311 - a replayable draw, no secret
    for _ in range(40):
        listing, pids = _listing(rng)
        found, ifs = _run(shell, listing, tmp_path)
        assert len(found) == len(set(found)), found
        assert {f"/proc/{p}/stat" for p in pids} <= set(found), listing
        forged = {int(f.split("/")[2]) for f in found} - pids
        assert forged <= {1, 2, 77}, (forged, listing)  # the digits in NAMES
        assert ifs == ["\\t", "\\n"], ifs  # space, tab, newline


def test_a_listing_over_the_cap_is_not_read(tmp_path: Path) -> None:
    """Past 2 MiB a flood of rows is left to the output limit, not read pid by pid."""
    row = 'tcp LISTEN 0 1 0.0.0.0:1 0.0.0.0:* users:(("x",pid=5,fd=3))\n'
    assert _run("dash", row * 40_000, tmp_path)[0] == []
    assert _run("dash", row, tmp_path)[0] == ["/proc/5/stat"]
