"""Every report format tells the same verdict: random runs (seeded, `xformat_runs`) rendered by
the real renderers to real files, each read back with a real parser (`xformat_read`) and
compared with the run record: the same open, below-threshold and waived findings per host,
the same unchecked hosts and error kinds, the same verdict; hostile text stays text.

More seeds: FLEETCHECK_XFORMAT_SEEDS=500 python -m pytest tests/outputs/test_xformat.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fleetcheck.render import FORMATS
from fleetcheck.render.write import write_reports
from tests.outputs import xformat_read as read
from tests.outputs.xformat_runs import random_run

SEEDS = range(int(os.environ.get("FLEETCHECK_XFORMAT_SEEDS", "24")))


@pytest.mark.parametrize("seed", SEEDS)
def test_every_format_agrees_with_the_run_record(seed: int, tmp_path: Path) -> None:
    run = random_run(seed)
    written = write_reports(run, list(FORMATS), tmp_path, rendered_at="then")
    assert not written.failed
    files = {p.name.split(".", 1)[1]: p for p in written.paths}
    truth = read.Truth(files["json"])
    problems = read.check_all(truth, files, run)
    assert not problems, "\n".join(problems)
