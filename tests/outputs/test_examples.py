"""The repository's examples: inventories and policies that fit together, the README's worked
example, and its first command on a clean interpreter (PEP 668: a virtual environment)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO, run_cli

README = (REPO / "README.md").read_text()


def _block(marker: str) -> str:
    """The first fenced block after `<!-- marker -->` in the README."""
    m = re.search(rf"<!-- {marker} -->\n```\w*\n(.*?)```", README, re.S)
    assert m, f"README has no {marker} block"
    return m.group(1)


@pytest.mark.parametrize("inventory", ["inventories/fleet", "inventories/lab.ini"])
def test_example_inventories_and_policies_fit_together(inventory: str) -> None:
    res = run_cli(["validate", "-i", inventory, "-p", "policies/"], cwd=REPO)
    assert res.code == 0, res.err
    assert "warning" not in res.out + res.err, res.out + res.err
    assert res.out.startswith("ok: ")


def test_the_worked_example_runs_as_the_readme_shows(tmp_path: Path) -> None:
    (command,) = [line for line in _block("worked-example").splitlines() if line.strip()]
    argv = command.split()
    assert argv[:2] == ["fleetcheck", "scan"]
    work = tmp_path / "repo"
    for part in ("inventories", "policies"):
        shutil.copytree(REPO / part, work / part)
    res = run_cli(argv[1:], cwd=work, environ={"HOME": str(tmp_path)})
    assert res.code == 3, res.err  # this machine checked, the VMs not
    shown = README.split("<!-- worked-example -->", 1)[1].split("```text\n", 1)[1]
    shown_lines = shown.split("```", 1)[0].splitlines()
    lines = res.out.splitlines()
    # the verdict, the counts, the overview and the changes line, word for word
    # (but coverage: how many listeners this machine has is its own)
    head = shown_lines.index("") + 1  # up to the blank line that ends them
    assert [x for x in lines[:head] if not x.startswith("coverage: ")] == \
        [x for x in shown_lines[:head] if not x.startswith("coverage: ")]
    assert "inventory · 2 hosts: vm-1.lab.internal, vm-2.lab.internal" in lines
    assert "compliant by group: bastion 0%, db 0%, lab_vms 0%, web 0%, workstations" in \
        res.out
    assert lines[-5] == "Reports:"


@pytest.mark.lab  # builds a virtual environment from PyPI (~30-60 s)
def test_readme_first_command_on_a_clean_interpreter(tmp_path: Path) -> None:
    """The README's one command line, run as written in a fresh copy of the checkout, by an
    interpreter whose own site-packages play no part (the venv is made without
    --system-site-packages, so every dependency comes from the project's metadata)."""
    (line,) = [x for x in _block("first-command").splitlines()
               if x.startswith("python3 -m venv")]
    work = tmp_path / "checkout"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        target = work / name
        if (REPO / name).is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, target)
    python = Path(sys.base_prefix) / "bin" / "python3"  # not this test's own venv
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python3").symlink_to(python)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8",
           "PIP_DISABLE_PIP_VERSION_CHECK": "1", **{k: v for k, v in os.environ.items()
                                                    if k.startswith(("PIP_INDEX", "http"))}}
    out = subprocess.run(["sh", "-c", line], cwd=work, env=env, capture_output=True,
                         text=True, timeout=600, check=False)
    assert out.returncode in (0, 1, 3), out.stderr[-3000:]
    assert re.match(r"(COMPLIANT|NONCOMPLIANT|NOT VERIFIED): ", out.stdout), out.stdout
    venv_python = work / ".venv" / "bin" / "python"
    probe = subprocess.run([str(venv_python), "-c", "import sys, fleetcheck, shtab; "
                            "print(sys.prefix != sys.base_prefix, fleetcheck.__file__)"],
                           capture_output=True, text=True, check=True, env=env, cwd=tmp_path)
    isolated, where = probe.stdout.split()
    assert isolated == "True" and where.startswith(str(work))
    cfg = (work / ".venv" / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg
    assert list((work / "reports").glob("fleetcheck-latest.html"))
