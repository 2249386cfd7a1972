"""One evidence lab and one real run for the whole package, and one headless Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetcheck.model import RunResult
from tests.evidence import review_scenario, scenario
from tests.evidence.review_scenario import ReviewRun
from tests.evidence.scenario import LabRun
from tests.lab.prereq import require, require_netns
from tests.lab.sshlab import running_lab
from tests.render import builders
from tests.render.cdp import Browser, running_browser


@pytest.fixture(scope="package")
def lab_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[LabRun, ReviewRun]:
    """The lab's two `fleetcheck scan`s over SSH (scenario.py, then review_scenario.py); the
    lab is removed once they are over (the tests read only what the runs wrote)."""
    require_netns()
    require(Path("/usr/sbin/sshd").is_file(), "OpenSSH server (/usr/sbin/sshd)")
    for tool in ("ssh-keygen", "unshare", "sudo", "openssl"):
        require(shutil.which(tool) is not None, tool)
    with running_lab(scenario.SPECS) as lab:
        for host, socks in scenario.PLANTED.items():
            lab.hold(host, socks)
        first = scenario.scan(lab, tmp_path_factory.mktemp("evidence"))
        return first, review_scenario.scan(lab, tmp_path_factory.mktemp("review"),
                                           first.workdir)


@pytest.fixture(scope="package")
def lab_run(lab_runs: tuple[LabRun, ReviewRun]) -> LabRun:
    """The first run: every kind of fact a report must show (scenario.py)."""
    return lab_runs[0]


@pytest.fixture(scope="package")
def review_run(lab_runs: tuple[LabRun, ReviewRun]) -> ReviewRun:
    """The second run: a reviewed policy, every format and a signed bundle."""
    return lab_runs[1]


@pytest.fixture(scope="session")
def composite() -> RunResult:
    """The render tests' run: every status, finding kind and waiver status."""
    return builders.composite_run()


@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium with a fresh profile."""
    with running_browser(tmp_path_factory.mktemp("chromium")) as b:
        yield b
