"""The probe's shell step that finds the non-root uids an `ss -e` listing names
(`fc_ssuids`), run by real shells on generated listings with hostile process names, on
both of its paths: the shell's own word loop, and awk for a listing too long for it."""

from __future__ import annotations

import random
import shutil
import subprocess
from pathlib import Path

import pytest

from fleetcheck.collect.followups import _UIDS_READ, SS_UIDS
from fleetcheck.collect.probe import one_line

NAMES = ("sshd", "a b", "x uid:7 y", "uid:12x", "uid:/*", "uid:0", "uid:", "*", "tab\tuid:9",
         "new\nline", "'", "$(id)", "uid:99999999999")
FORGED = {7, 9}  # the uids the names above spell as a word of their own
SHELLS = [s for s in ("dash", "bash", "busybox") if shutil.which(s)]


def _listing(rng: random.Random, rows: int) -> tuple[str, set[int]]:
    lines: list[str] = []
    uids: set[int] = set()
    for i in range(rows):
        uid = rng.choice((0, 0, 1, 100, 65534, 1_000_000, 4_294_967_294, *uids))
        uids.add(uid)
        extended = f" uid:{uid}" if uid else ""  # ss -e prints no uid: for root
        lines.append(f"tcp LISTEN 0 128 0.0.0.0:{1000 + i % 60000} 0.0.0.0:* "
                     f'users:(("{rng.choice(NAMES)}",pid={i + 2},fd=3)){extended} ino:{i} '
                     f"sk:{i} cgroup:/system.slice/{rng.choice(NAMES)} <->")
    return "\n".join(lines), uids - {0}


def _run(shell: str, listing: str, tmp: Path) -> list[str]:
    argv = [shell, "sh"] if shell == "busybox" else [shell]
    (tmp / "listing").write_text(listing)
    script = f"o=$(cat listing); {one_line(SS_UIDS)}; fc_ssuids; printf '%s|' \"$u\"; echo *"
    done = subprocess.run([*argv, "-c", script], env={"PATH": "/usr/bin:/bin"}, cwd=tmp,
                          capture_output=True, text=True, check=True)
    found, _, glob = done.stdout.partition("|")
    assert glob.split() == ["listing"]  # globbing is on again afterwards
    return found.split()


@pytest.mark.parametrize("shell", SHELLS)
@pytest.mark.parametrize("long", [False, True], ids=["words", "awk"])
def test_every_non_root_uid_once_and_only_digits(shell: str, long: bool,
                                                 tmp_path: Path) -> None:
    """Each listed non-root uid once; a name spelling `uid:N` adds that uid (a lookup
    more, nothing hidden), and never a word that is not a uid (`uid:/*`, `uid:12x`)."""
    assert "dash" in SHELLS
    rng = random.Random(1923)  # noqa: S311 - a replayable draw, no secret
    for _ in range(3 if long else 30):
        listing, uids = _listing(rng, 400 if long else rng.randint(0, 15))
        assert (len(listing) > _UIDS_READ) is long
        found = _run(shell, listing, tmp_path)
        assert len(found) == len(set(found)), found
        assert all(f.isdigit() and not f.startswith("0") for f in found), found
        assert uids <= {int(f) for f in found}, (uids, found)
        forged = {int(f) for f in found} - uids
        assert forged <= FORGED, (forged, listing)
