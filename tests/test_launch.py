"""The console entry loads fleetcheck with the collector paused, then runs it with the
collector on, what loading made frozen and young collections rarer (and the installed
script is that entry)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

from fleetcheck.cli import launch
from tests.conftest import REPO

_PROBE = """
import gc
from fleetcheck.cli import launch, main
main.main = lambda: print(gc.isenabled(), gc.get_freeze_count(), gc.get_threshold()[0]) or 0
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


def test_pythons_own_warnings_stay_off_the_terminal_unless_asked_for(tmp_path: Path) -> None:
    """A pattern Python's `re` warns about (a possible nested set) in a --limit and in a
    policy: the command's stderr holds no Python warning naming fleetcheck's source, unless
    PYTHONWARNINGS asks for them."""
    policy = tmp_path / "p.yml"
    policy.write_text("name: t\nallow:\n  - id: a\n    port: 22\n    process: '~[[a]'\n"
                      "    reason: r\n")
    argv = [sys.executable, "-m", "fleetcheck", "validate", "-i", "a,b,", "--limit", "~[[a]",
            "-p", str(policy)]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"}
    quiet = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, env=env,
                           check=False)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    asked = subprocess.run(argv, capture_output=True, text=True, cwd=tmp_path, check=False,
                           env={**env, "PYTHONWARNINGS": "default"})
    assert "FutureWarning: Possible nested set" in asked.stderr
