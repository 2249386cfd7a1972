"""Golden files: expected reports kept beside the tests, refreshed only on request.

Set FLEETCHECK_UPDATE_GOLDEN=1 to rewrite them from the current renderers (never under CI),
then review the diff like any other change.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.lab.prereq import in_ci

GOLDEN = Path(__file__).with_name("golden")
UPDATE_ENV = "FLEETCHECK_UPDATE_GOLDEN"


def updating() -> bool:
    """True when the update switch is on."""
    return os.environ.get(UPDATE_ENV, "") not in ("", "0")


def check_golden(name: str, actual: str) -> None:
    """Fail with a diff unless `actual` equals golden file `name` byte for byte."""
    path = GOLDEN / name
    data = actual.encode("utf-8")
    if updating():
        if in_ci():
            pytest.fail(f"{UPDATE_ENV} is set under CI: golden files are never updated there")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return
    assert path.exists(), f"no golden file {name}: create it with {UPDATE_ENV}=1"
    expected = path.read_bytes()
    if data != expected:
        diff = difflib.unified_diff(expected.decode("utf-8").splitlines(keepends=True),
                                    actual.splitlines(keepends=True), f"golden/{name}",
                                    "rendered")
        pytest.fail(f"{name} differs from its golden file ({UPDATE_ENV}=1 to accept):\n"
                    + "".join(list(diff)[:80]))
