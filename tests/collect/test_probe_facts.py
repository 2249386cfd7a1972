"""On Linux the probe's shell reads the system, release and effective uid itself: the same
facts `uname -s`, `uname -r` and `id -u` give, for root and for other users, with no
process for them; elsewhere (no /proc/sys) it asks uname and id."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from fleetcheck.collect.probe import build_probe, split_output
from tests.lab.prereq import require

NONCE = "facts0"


def _facts(*prefix: str) -> dict[str, str]:
    """The probe's facts as it reports them when run (after `prefix`) by sh."""
    out = subprocess.run([*prefix, "sh", "-c", build_probe(NONCE)], capture_output=True,
                         text=True, check=True, timeout=60)
    return split_output(out.stdout, NONCE).facts


def _said(*argv: str) -> str:
    return subprocess.run(list(argv), capture_output=True, text=True, check=True).stdout.strip()


def test_linux_facts_are_what_uname_and_id_say() -> None:
    facts = _facts()
    assert facts["os"] == _said("uname", "-s") == "Linux"
    assert facts["release"] == _said("uname", "-r")
    assert facts["uid"] == _said("id", "-u") == str(os.geteuid())


def test_linux_uid_of_another_user_is_what_id_says() -> None:
    require(os.geteuid() == 0 and shutil.which("setpriv") is not None,
            "root and setpriv (to run the probe as another user)")
    as_user = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    assert _facts(*as_user)["uid"] == _said(*as_user, "sh", "-c", "id -u") == "65534"


def test_linux_probe_runs_no_process_for_its_facts(tmp_path: Path) -> None:
    """Neither id nor uname runs on Linux."""
    calls = tmp_path / "calls"
    for name in ("id", "uname"):
        shim = tmp_path / name
        shim.write_text(f'#!/bin/sh\necho "{name} $*" >> {calls}\nexec {shutil.which(name)} "$@"\n')
        shim.chmod(0o700)
    facts = _facts("env", f"PATH={tmp_path}:{os.environ['PATH']}")
    assert facts["release"] == _said("uname", "-r")
    assert not calls.exists()
