"""The console entry loads fleetcheck with the collector paused, then runs it with the
collector on, what loading made frozen and young collections rarer (and the installed
script is that entry)."""

from __future__ import annotations

import subprocess
import sys
import tomllib

from fleetcheck.cli import launch
from tests.conftest import REPO

_PROBE = """
import gc
from fleetcheck.cli import launch, main
main.entry = lambda: print(gc.isenabled(), gc.get_freeze_count(), gc.get_threshold()[0])
launch.entry()
"""


def test_the_command_line_runs_with_the_collector_on_and_its_modules_frozen() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                         cwd=REPO, check=True).stdout.split()
    assert out[0] == "True"
    assert int(out[1]) > 10_000  # modules, classes and functions: skipped by every collection
    assert int(out[2]) == launch.YOUNG_THRESHOLD > 700  # young collections rarer than Python's


def test_the_installed_script_and_python_m_use_the_launcher() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["fleetcheck"] == "fleetcheck.cli.launch:entry"
    main_module = (REPO / "fleetcheck" / "__main__.py").read_text()
    assert "from fleetcheck.cli.launch import entry" in main_module
    done = subprocess.run([sys.executable, "-m", "fleetcheck", "--version"], capture_output=True,
                          text=True, cwd=REPO, check=False)
    assert (done.returncode, done.stdout.split()[0]) == (0, "fleetcheck")
