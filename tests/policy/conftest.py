"""Fixtures for policy tests: one lab namespace with the layered scenario, scanned once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult
from tests.lab.netns import Namespace
from tests.policy.lab import lab_namespace, plant, run_cli_in
from tests.policy.scenario import PLANTED, POLICIES, setup_dir


@pytest.fixture(scope="session")
def scenario_ns() -> Iterator[Namespace]:
    """The scenario's sockets, held for the whole session."""
    with lab_namespace() as (ns, holders):
        plant(ns, holders, PLANTED)
        yield ns


@pytest.fixture(scope="session")
def scenario_run(scenario_ns: Namespace, tmp_path_factory: pytest.TempPathFactory,
            ) -> tuple[Path, CliResult, dict[str, Any]]:
    """The scenario scanned once with layered policies and waivers, judged as of 2030-06-01."""
    root = setup_dir(tmp_path_factory.mktemp("layered"))
    argv = ["scan", "-i", "inventory.yml", *POLICIES, "-w", "waivers.yml", "--today", "2030-06-01"]
    res, run = run_cli_in(scenario_ns, argv, root)
    return root, res, run
