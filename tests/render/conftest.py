"""Fixtures of the report tests: a run built from the model, and a run from the real lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck.model import RunResult
from tests.lab.prereq import require_netns
from tests.render import builders, lab


@pytest.fixture(scope="session")
def composite() -> RunResult:
    """Every status, finding kind and waiver status, fixed for golden files."""
    return builders.composite_run()


@pytest.fixture(scope="session")
def lab_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the lab fleet's scans ran and wrote their reports."""
    return tmp_path_factory.mktemp("labfleet")


@pytest.fixture(scope="session")
def lab_run(lab_workdir: Path) -> RunResult:
    """Real scans of real sockets in namespaces, with what a local run cannot produce added."""
    require_netns()
    return lab.lab_fleet(lab_workdir)
