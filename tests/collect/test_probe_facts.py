"""On Linux the probe's shell reads the system, release and effective uid itself: the same
facts `uname -s`, `uname -r` and `id -u` give, for root and for other users, with no
process for them; elsewhere (no /proc/sys) it asks uname and id."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from fleetcheck.collect import distribution_of
from fleetcheck.collect.probe import build_probe
from fleetcheck.collect.sections import split_output
from fleetcheck.parsers import ParseError
from tests.lab.netns import Namespace
from tests.lab.prereq import require, require_netns

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


@pytest.mark.lab
def test_route_localnet_is_read_per_interface_as_sysctl_sets_it() -> None:
    """The interfaces whose net.ipv4.conf.IF.route_localnet is 1, 'all' among them when
    set for every one; none (no fact) by default. 'lo' and 'default' change nothing."""
    require_netns()
    ns = Namespace().create()
    try:
        ns.add_interface("rl0")
        assert "route_localnet" not in _facts(*ns.exec_argv([]))
        for key in ("rl0p", "default", "lo"):
            subprocess.run(ns.exec_argv(["sysctl", "-qw",
                                         f"net.ipv4.conf.{key}.route_localnet=1"]), check=True)
        assert _facts(*ns.exec_argv([]))["route_localnet"] == "rl0p"
        subprocess.run(ns.exec_argv(["sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1"]),
                       check=True)
        assert sorted(_facts(*ns.exec_argv([]))["route_localnet"].split()) == ["all", "rl0p"]
    finally:
        ns.delete()


def test_what_follows_the_probe_is_no_part_of_it_but_a_stray_line_within_is() -> None:
    """A wrapper's line after the probe's last (a ForceCommand that has its say after the
    command) is ignored, as a login's before its first; a line between its lines is an error."""
    out = subprocess.run(["sh", "-c", build_probe(NONCE)], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    whole = split_output(out, NONCE)
    assert split_output(f"login says hi\n{out}session logged\n\nbye", NONCE) == whole
    lines = out.splitlines(keepends=True)
    with pytest.raises(ParseError, match="unexpected probe output outside any section"):
        split_output("".join([*lines[:1], "stray\n", *lines[1:]]), NONCE)


@pytest.mark.parametrize(("content", "expected"), [
    ('NAME=Hand\nPRETTY_NAME="Hand Made 1"', "Hand Made 1"),  # no newline after the last line
    ('PRETTY_NAME="Say \\"hi\\" \\$HOME \\\\ \\` x"\n', 'Say "hi" $HOME \\ ` x'),
    ("PRETTY_NAME='Single \\n quoted'\n", "Single \\n quoted"),
    ("PRETTY_NAME=Bare\nPRETTY_NAME=Last\n", "Last"),
    ("NAME=none\n", None),
])
def test_distribution_is_what_os_release_says(tmp_path: Path, content: str,
                                              expected: str | None) -> None:
    """PRETTY_NAME read from a real /etc/os-release (bind-mounted in a mount namespace of
    its own), unquoted as os-release(5) quotes, the file's last line counted newline or not."""
    require(os.geteuid() == 0 and shutil.which("unshare") is not None,
            "root and unshare (a mount namespace with an os-release of the test's)")
    release = tmp_path / "os-release"
    release.write_text(content)
    out = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-c",
         'mount --bind "$1" /etc/os-release && exec sh -c "$2"', "sh", str(release),
         build_probe(NONCE)], capture_output=True, text=True, check=True, timeout=60)
    assert distribution_of(split_output(out.stdout, NONCE)) == expected
