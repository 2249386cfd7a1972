"""One evidence lab and one real run for the whole package, and one headless Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.evidence import scenario
from tests.evidence.scenario import LabRun
from tests.lab.prereq import require, require_netns
from tests.lab.sshlab import running_lab
from fleetcheck.model import RunResult
from tests.render import builders
from tests.render.cdp import Browser, running_browser


@pytest.fixture(scope="package")
def lab_run(tmp_path_factory: pytest.TempPathFactory) -> LabRun:
    """The lab's one `fleetcheck scan` over SSH; the lab is removed once the run is over (the
    tests read only what the run wrote)."""
    require_netns()
    require(Path("/usr/sbin/sshd").is_file(), "OpenSSH server (/usr/sbin/sshd)")
    for tool in ("ssh-keygen", "unshare", "sudo", "openssl"):
        require(shutil.which(tool) is not None, tool)
    with running_lab(scenario.SPECS) as lab:
        for host, socks in scenario.PLANTED.items():
            lab.hold(host, socks)
        return scenario.scan(lab, tmp_path_factory.mktemp("evidence"))


@pytest.fixture(scope="session")
def composite() -> RunResult:
    """The render tests' run: every status, finding kind and waiver status."""
    return builders.composite_run()


@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium with a fresh profile."""
    with running_browser(tmp_path_factory.mktemp("chromium")) as b:
        yield b
