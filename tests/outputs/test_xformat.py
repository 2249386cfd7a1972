"""Every report format tells the same verdict: random runs (seeded, `xformat_runs`) rendered by
the real renderers to real files, each read back with a real parser (`xformat_read`) and
compared with the run record: the same open, below-threshold and waived findings per host,
the same unchecked hosts and error kinds, the same verdict; hostile text stays text; and
`fleetcheck report` on the saved JSON writes the same files.

More seeds: FLEETCHECK_XFORMAT_SEEDS=500 python -m pytest tests/outputs/test_xformat.py
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from fleetcheck.render import FORMATS, RenderOptions, html, summary
from fleetcheck.render.write import write_reports
from tests.conftest import run_cli
from tests.outputs import xformat_read as read
from tests.outputs.xformat_runs import random_run

SEEDS = range(int(os.environ.get("FLEETCHECK_XFORMAT_SEEDS", "24")))
RENDERED_AT = re.compile(r'<span id="rendered-at">[^<]*</span>')


def _files(paths: list[Path]) -> dict[str, Path]:
    return {p.name.split(".", 1)[1]: p for p in paths}


@pytest.mark.parametrize("seed", SEEDS)
def test_every_format_agrees_with_the_run_record(seed: int, tmp_path: Path) -> None:
    run = random_run(seed)
    written = write_reports(run, list(FORMATS), tmp_path / "run", rendered_at="then")
    assert not written.failed
    files = _files(written.paths)
    truth = read.Truth(files["json"])
    problems = read.check_all(truth, files, run)
    problems += read.check_json(truth, run.to_dict())
    problems += read.check_summary(truth, summary.render(run))
    # The large report's host sections (details as data) are the same hosts, same statuses.
    lazy = tmp_path / "lazy.html"
    lazy.write_text(html.render(run, RenderOptions(rendered_at="then", lazy_hosts_from=1)),
                    "utf-8")
    problems += [f"lazy {p}" for p in read.check_html(truth, lazy)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("seed", SEEDS[:6])
def test_report_on_the_saved_run_writes_the_same_files(seed: int, tmp_path: Path) -> None:
    run = random_run(seed)
    first = _files(write_reports(run, list(FORMATS), tmp_path / "run").paths)
    again = tmp_path / "again"
    result = run_cli(["report", str(first["json"]), "--format", "all", "-o", str(again)],
                     cwd=tmp_path)
    assert result.code == 0, result.err
    second = _files(sorted(again.iterdir()))
    assert sorted(second) == sorted(first)
    for ext, path in first.items():
        a, b = path.read_text("utf-8"), second[ext].read_text("utf-8")
        if ext == "html":
            a, b = RENDERED_AT.sub("", a), RENDERED_AT.sub("", b)
        assert a == b, ext
