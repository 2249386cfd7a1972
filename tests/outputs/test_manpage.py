"""The manual page: built from the parser, current in docs/, listing every command and option,
and read by groff without a warning."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from fleetcheck.cli.main import build_parser
from fleetcheck.cli.suggest import subparsers
from tests.conftest import REPO, run_cli
from tests.lab.prereq import require

PAGE = REPO / "docs" / "fleetcheck.1"


def test_docs_copy_is_what_the_parser_builds(tmp_path: Path) -> None:
    res = run_cli(["manpage"], cwd=tmp_path)
    assert res.code == 0, res.err
    assert PAGE.read_text() == res.out, "refresh it: fleetcheck manpage -o docs/fleetcheck.1"
    written = run_cli(["manpage", "-o", "out/fleetcheck.1", "--date", "2026-12-04"],
                      cwd=tmp_path)
    assert written.code == 0 and written.out == ""
    head = (tmp_path / "out" / "fleetcheck.1").read_text().splitlines()[0]
    assert head.startswith('.TH FLEETCHECK 1 "2026-12-04"')
    for date in ("2026-13-01", "2026-02-30", "20261204", "today"):  # no calendar's date
        bad = run_cli(["manpage", "-o", "bad/fleetcheck.1", "--date", date], cwd=tmp_path)
        assert bad.code == 2 and f"--date must be a date written YYYY-MM-DD, not {date!r}" \
            in bad.err, bad.err
    assert not (tmp_path / "bad").exists()
    dash = run_cli(["manpage", "-o", "-"], cwd=tmp_path)  # stdout, as every -o - is
    assert dash.code == 0 and dash.out == res.out and not (tmp_path / "-").exists()


def test_every_command_and_option_is_in_the_page() -> None:
    text = PAGE.read_text()
    for name, sub in subparsers(build_parser()).items():
        assert f".SS fleetcheck {name}" in text, name
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"\\fB{option.replace('-', chr(92) + '-')}\\fR" in text, \
                        (name, option)


def test_man_renders_it_without_warnings() -> None:
    require(shutil.which("groff") is not None, "groff (Debian's groff-base)")
    out = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-P", "-cbou", str(PAGE)],
                         capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0 and out.stderr == "", out.stderr
    plain = out.stdout
    assert "fleetcheck scan" in plain and "EXIT STATUS" in plain and "--report" in plain
