"""A file configuration names that is not there: exit 2, naming the file and the line
(or environment variable) that named it, before any host is contacted.

The mistake is on that line, not on the command line, so the error says where it is;
the same path given on the command line keeps the command line's own wording.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

# (setting as ansible.cfg names it, the environment variable, the error's own words)
ANSIBLE = [("inventory", "ANSIBLE_INVENTORY", "inventory source not found"),
           ("private_key_file", "ANSIBLE_PRIVATE_KEY_FILE", "key file not found"),
           ("vault_password_file", "ANSIBLE_VAULT_PASSWORD_FILE",
            "vault password file not found")]
PROJECT = [("policies", "FLEETCHECK_POLICIES", "policy file not found"),
           ("waivers", "FLEETCHECK_WAIVERS", "waiver file not found")]


def _one_error(res_err: str) -> str:
    lines = res_err.splitlines()
    assert len(lines) == 1, res_err
    return lines[0]


def _scan(cwd: Path, environ: dict[str, str] | None = None) -> tuple[int, str]:
    home = cwd / "home"
    res = run_cli(["scan", "-q", "-o", str(cwd / "reports")], cwd=cwd,
                  environ={"HOME": str(home), **(environ or {})})
    assert not (cwd / "reports").exists(), "nothing may run after bad input"
    return res.code, _one_error(res.err)


# Where each kind of setting is written: the file, its text, the path it names and the
# origin the error gives (`{tmp}` stands for the working directory).
FILES = {"ansible.cfg": ("[defaults]\n# missing\n{key} = gone/file\n", "{tmp}/gone/file",
                         "{tmp}/ansible.cfg:3 [defaults] {key}"),
         "fleetcheck.yml": ("fail_on: high\n{key}:\n  - gone.yml\n", "{tmp}/gone.yml",
                            "{tmp}/fleetcheck.yml:3:3")}


@pytest.mark.parametrize(("file", "key", "words"),
                         [("ansible.cfg", k, w) for k, _, w in ANSIBLE]
                         + [("fleetcheck.yml", k, w) for k, _, w in PROJECT])
def test_configuration_line_is_named(tmp_path: Path, file: str, key: str, words: str) -> None:
    text, path, origin = (t.format(key=key, tmp=tmp_path) for t in FILES[file])
    (tmp_path / file).write_text(text)
    code, line = _scan(tmp_path)
    assert code == 2
    assert line == f"fleetcheck: error: {path}: {words} ({key} from {origin})"


@pytest.mark.parametrize(("key", "variable", "words"), ANSIBLE + PROJECT)
def test_environment_variable_is_named(tmp_path: Path, key: str, variable: str,
                                       words: str) -> None:
    code, line = _scan(tmp_path, {variable: "/nowhere/file"})
    assert code == 2
    assert line == f"fleetcheck: error: /nowhere/file: {words} ({key} from env {variable})"


def test_vault_identity_list_is_named_for_its_own_file(tmp_path: Path) -> None:
    code, line = _scan(tmp_path, {"ANSIBLE_VAULT_IDENTITY_LIST": "dev@/nowhere/dev"})
    assert code == 2
    assert line == ("fleetcheck: error: /nowhere/dev: vault password file not found "
                    "(vault_identity_list from env ANSIBLE_VAULT_IDENTITY_LIST)")


def test_command_line_paths_keep_their_wording(tmp_path: Path) -> None:
    (tmp_path / "ansible.cfg").write_text("[defaults]\nprivate_key_file = gone/key\n")
    environ = {"HOME": str(tmp_path / "home")}
    res = run_cli(["scan", "-q", "--private-key", "other"], cwd=tmp_path, environ=environ)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {tmp_path}/other: --private-key: "
                                      "key file not found\n")  # the command line wins
    (tmp_path / "fleetcheck.yml").write_text("policies: [gone.yml]\n")
    res = run_cli(["scan", "-q", "-p", "nopolicy.yml"], cwd=tmp_path, environ=environ)
    assert (res.code, res.err) == (2, "fleetcheck: error: nopolicy.yml: policy file not found\n")


def test_report_directory_line_is_named(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    (tmp_path / "fleetcheck.yml").write_text("output_dir: afile/reports\n")
    res = run_cli(["scan", "-q"], cwd=tmp_path, environ={"HOME": str(tmp_path / "home")})
    assert (res.code, _one_error(res.err)) == (
        2, f"fleetcheck: error: {tmp_path}/afile/reports: cannot create the report directory: "
           f"Not a directory (output_dir from {tmp_path}/fleetcheck.yml:1:13)")
