"""A password given with -e never reaches a report through the recorded command line."""

from __future__ import annotations

import json
from pathlib import Path

from fleetcheck.cli.recorded import recorded_argv
from fleetcheck.inventory.extravars import read_extra_vars
from fleetcheck.redact import MASK, Redactor
from tests.conftest import run_cli, run_files


def _recorded(argv: list[str], values: list[str], redactor: Redactor,
              where: Path) -> list[str]:
    """`argv` as a run records it, its -e `values` read as the run reads them."""
    return recorded_argv(argv, read_extra_vars(values, str(where)).values, redactor)


def test_secret_variables_in_every_form_of_extra_vars_are_masked(tmp_path: Path) -> None:
    """key=value words, JSON (nested too), quoted values, `-eV` and `--extra-vars=V`: each
    secret-named variable's value is masked where it is written; `@file` names only a file."""
    (tmp_path / "vars.yml").write_text("vault_token: Pw6\n")
    values = ["ansible_become_password=Pw1 env=prod",
              '{"ansible_password": "Pw2", "app": {"db_token": ["Pw3"]}, "n": 1}',
              "ansible_ssh_pass=Pw4", "api_secret='Pw 5'", "@vars.yml"]
    argv = ["fleetcheck", "scan", "-e", values[0], "-e", values[1],
            f"--extra-vars={values[2]}", f"-e{values[3]}", "-e", values[4]]
    got = _recorded(argv, values, Redactor(), tmp_path)
    assert got == ["fleetcheck", "scan", "-e", f"ansible_become_password={MASK} env=prod",
                   "-e", f'{{"ansible_password": "{MASK}", "app": {{"db_token": ["{MASK}"]}}, '
                   '"n": 1}', f"--extra-vars=ansible_ssh_pass={MASK}",
                   f"-eapi_secret='{MASK}'", "-e", "@vars.yml"]


def test_a_known_secret_is_masked_wherever_it_is_on_the_command_line(tmp_path: Path) -> None:
    """A variable a host's password is templated from (`-e pw=...`) is masked by value."""
    got = _recorded(["fleetcheck", "scan", "-e", "pw=Hunter22", "--limit", "a"],
                    ["pw=Hunter22"], Redactor(["Hunter22"]), tmp_path)
    assert got == ["fleetcheck", "scan", "-e", f"pw={MASK}", "--limit", "a"]


def test_no_report_of_a_scan_carries_a_password_given_with_extra_vars(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text(
        "web1 ansible_host=127.0.0.1 ansible_port=9 ansible_password='{{ pw }}'\n")
    secrets = ["Become-Pw-71", "Ssh-Pw-72", "Templated-73"]
    res = run_cli(["scan", "-i", "hosts.ini", "-o", "out", "-T", "3", "--format", "all",
                   "-e", f"ansible_become_password={secrets[0]}",
                   "-e", json.dumps({"app": {"api_token": secrets[1]}}),
                   "-e", f"pw={secrets[2]}"],
                  cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert res.code == 3
    files = [p for p in (tmp_path / "out").iterdir() if p.is_file()]
    assert len(files) > 4 and run_files(tmp_path / "out")
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        assert not [s for s in secrets if s in text], path.name
    for s in secrets:
        assert s not in res.out and s not in res.err
