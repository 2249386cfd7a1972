"""fleetcheck.yml: found like ansible.cfg, fleetcheck's own settings, typos as located errors.

A nightly job is `cd ops && fleetcheck scan`: the scan below takes its inventory from
ansible.cfg and its policies, formats, report directory and threshold from
fleetcheck.yml, checking this machine through the local connection.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli, run_files

POLICY = """\
name: site
hosts: all
default: allow
forbid:
  - id: spice
    proto: tcp
    port: 1923
    severity: critical
"""
PROJECT = """\
policies: [policies]
output_dir: nightly
formats: [json, csv]
fail_on: critical
strict_inventory: true
"""


def _ops(root: Path) -> Path:
    ops = root / "ops"
    (ops / "policies").mkdir(parents=True)
    (ops / "policies" / "site.yml").write_text(POLICY)
    (ops / "hosts.yml").write_text("all:\n  hosts:\n    box: {ansible_connection: local}\n")
    (ops / "ansible.cfg").write_text("[defaults]\ninventory = hosts.yml\n")
    (ops / "fleetcheck.yml").write_text(PROJECT)
    return ops


def test_cd_ops_and_scan(tmp_path: Path) -> None:
    ops = _ops(tmp_path)
    environ = {"HOME": str(tmp_path / "home")}
    res = run_cli(["scan"], cwd=ops, environ=environ)
    assert res.code in (0, 1, 3), res.err
    written = sorted(p.name.split(".", 1)[1] for p in (ops / "nightly").glob("fleetcheck-2*"))
    assert written == ["csv", "groups.csv", "json"]  # the grouped CSV comes with the CSV
    run = json.loads(next((ops / "nightly").glob("fleetcheck-2*.json")).read_text())
    assert [h["name"] for h in run["hosts"]] == ["box"]
    assert run["summary"]["fail_on"] == "critical"
    assert run["meta"]["policies"] == ["site"]
    # the command line still wins
    res = run_cli(["scan", "--format", "text", "-o", "adhoc", "--fail-on", "low"], cwd=ops,
                  environ=environ)
    assert sorted(p.suffix for p in (ops / "adhoc").glob("fleetcheck-2*")) == [".txt"]


def test_config_prints_every_setting_and_its_origin(tmp_path: Path) -> None:
    ops = _ops(tmp_path)
    res = run_cli(["config", "--only-changed"], cwd=ops,
                  environ={"HOME": str(tmp_path / "home"), "FLEETCHECK_FAIL_ON": "high"})
    assert res.code == 0, res.err
    assert res.out.splitlines() == [
        f"# ansible.cfg: {ops}/ansible.cfg",
        f"# fleetcheck.yml: {ops}/fleetcheck.yml",
        f'inventory = ["{ops}/hosts.yml"]  ({ops}/ansible.cfg:2 [defaults] inventory)',
        f'policies = ["{ops}/policies"]  ({ops}/fleetcheck.yml:1:11)',
        f'output_dir = "{ops}/nightly"  ({ops}/fleetcheck.yml:2:13)',
        f'formats = ["json", "csv"]  ({ops}/fleetcheck.yml:3:10)',
        'fail_on = "high"  (env FLEETCHECK_FAIL_ON)',
        f"strict_inventory = true  ({ops}/fleetcheck.yml:5:19)",
    ]
    everything = run_cli(["config"], cwd=ops, environ={"HOME": str(tmp_path / "home")})
    assert 'forks = 10  (default)' in everything.out.splitlines()


def test_the_project_file_is_found_like_ansible_cfg(tmp_path: Path) -> None:
    home, elsewhere, cwd = tmp_path / "home", tmp_path / "elsewhere", tmp_path / "cwd"
    for d in (home / ".config" / "fleetcheck", elsewhere, cwd):
        d.mkdir(parents=True)
    (home / ".config" / "fleetcheck" / "fleetcheck.yml").write_text("fail_on: medium\n")
    (elsewhere / "named.yml").write_text("fail_on: info\n")

    def found(**environ: str) -> tuple[str | None, str]:
        res = run_cli(["config", "--format", "json"], cwd=cwd,
                      environ={"HOME": str(home), **environ})
        doc = json.loads(res.out)
        return doc["project_file"], next(s["value"] for s in doc["settings"]
                                         if s["name"] == "fail_on")

    assert found() == (str(home / ".config" / "fleetcheck" / "fleetcheck.yml"), "medium")
    assert found(XDG_CONFIG_HOME=str(elsewhere)) == (None, "low")
    (cwd / "fleetcheck.yml").write_text("fail_on: high\n")
    assert found() == (str(cwd / "fleetcheck.yml"), "high")
    assert found(FLEETCHECK_CONFIG=str(elsewhere / "named.yml")) == \
        (str(elsewhere / "named.yml"), "info")
    cwd.chmod(0o777)  # anyone could have put it there
    try:
        res = run_cli(["config"], cwd=cwd, environ={"HOME": str(home)})
    finally:
        cwd.chmod(0o755)
    assert f"# fleetcheck.yml: {home}/.config/fleetcheck/fleetcheck.yml" in res.out
    assert res.err == (f"fleetcheck: warning: fleetcheck is being run in a world writable "
                       f"directory ({cwd}), ignoring its fleetcheck.yml\n")


@pytest.mark.parametrize(("text", "where", "message"), [
    ("polices: [p]\n", "1:1", "unknown key 'polices' in fleetcheck.yml (did you mean "
                              "'policies'?)"),
    ("fail_on: worst\n", "1:10", "fail_on must be one of critical, high, medium, low, info, "
                                 "not 'worst'"),
    ("strict_inventory: maybe\n", "1:19", "strict_inventory must be true or false, not 'maybe'"),
    ("remote_user: deploy\n", "1:1", "'remote_user' is an Ansible setting: set it in ansible.cfg "
                                     "or ANSIBLE_REMOTE_USER, where Ansible reads it too"),
    ("waivers:\n", "1:9", "'waivers' has no value (give it one, or remove the key)"),
    ("policies: []\n", "1:11", "policies lists nothing"),
    ("- fail_on\n", "1:1", "fleetcheck.yml must be a mapping of settings"),
    ("fail_on: [low\n", "2:1", "invalid YAML: expected ',' or ']', but got '<stream end>'"),
    # A list in a list was read as a file named '[1]'.
    ("policies: [[1]]\n", "1:11", "policies must be a list of paths, not [[1]]"),
    ("formats: [text, {a: 1}]\n", "1:10",
     "formats must be a list of words, not ['text', {'a': 1}]"),
    ("waivers: [true]\n", "1:10", "waivers must be a list of paths, not [True]"),
    ("output_dir: caf\u00e9\x07\n", "1:17",
     "invalid YAML: character U+0007 is not allowed (special characters are not allowed)"),
])
def test_a_typo_in_the_project_file_is_a_located_error(tmp_path: Path, text: str, where: str,
                                                       message: str) -> None:
    (tmp_path / "fleetcheck.yml").write_text(text)
    for argv in (["config"], ["validate"], ["scan", "-o", "out"]):
        res = run_cli(argv, cwd=tmp_path, environ={"HOME": str(tmp_path)})
        assert (res.code, res.out) == (2, ""), argv
        assert res.err == f"fleetcheck: error: {tmp_path}/fleetcheck.yml:{where}: {message}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("text", "shown"), [("output_dir: [a]\n", "['a']"),
                                             ("output_dir: true\n", "True")])
def test_a_report_directory_that_is_no_path_is_a_located_error(tmp_path: Path, text: str,
                                                               shown: str) -> None:
    """It was a directory named after the value's text ("['a']", "True"), created by scan;
    a flag that overrides it does not make the file right (the next run without it fails)."""
    (tmp_path / "fleetcheck.yml").write_text(text)
    for argv in (["config"], ["scan"], ["scan", "-o", "out"], ["validate"]):
        res = run_cli(argv, cwd=tmp_path, environ={"HOME": str(tmp_path)})
        assert (res.code, res.err) == (2, f"fleetcheck: error: {tmp_path}/fleetcheck.yml:1:13: "
                                          f"output_dir must be a path, not {shown}\n"), argv
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fleetcheck.yml"]


def test_a_missing_named_project_file_is_an_error(tmp_path: Path) -> None:
    res = run_cli(["config"], cwd=tmp_path, environ={"HOME": str(tmp_path),
                                                     "FLEETCHECK_CONFIG": "nope.yml"})
    assert (res.code, res.err) == (2, f"fleetcheck: error: {tmp_path}/nope.yml: "
                                      "FLEETCHECK_CONFIG names no file\n")


@pytest.mark.parametrize("where", ["fleetcheck.yml", ".config/fleetcheck/fleetcheck.yml"])
def test_a_directory_by_the_project_file_name_is_refused_as_ansible_refuses_one(
        tmp_path: Path, where: str) -> None:
    """ansible-core stops on a directory named ansible.cfg ("Is a directory"); a
    fleetcheck.yml that is one was skipped in silence, and the scan ran without its
    settings."""
    (tmp_path / where).mkdir(parents=True)
    for argv in (["config"], ["scan", "--list-hosts"]):
        res = run_cli(argv, cwd=tmp_path, environ={"HOME": str(tmp_path)})
        assert (res.code, res.err) == (2, f"fleetcheck: error: {tmp_path}/{where}: cannot "
                                          "read YAML file: Is a directory\n"), argv


def test_commands_that_read_no_setting_read_no_config(tmp_path: Path) -> None:
    (tmp_path / "fleetcheck.yml").write_text("polices: broken\n")
    (tmp_path / "out.txt").write_text("")
    res = run_cli(["parse", "--tool", "ss", "out.txt"], cwd=tmp_path,
                  environ={"HOME": str(tmp_path)})
    assert "fleetcheck.yml" not in res.err


def test_explain_of_a_saved_run_ignores_configured_inputs(tmp_path: Path) -> None:
    """Inputs from ansible.cfg/fleetcheck.yml are no command-line -i/-p/-w: --run still works."""
    ops = _ops(tmp_path)
    environ = {"HOME": str(tmp_path / "home")}
    assert run_cli(["scan"], cwd=ops, environ=environ).code in (0, 1, 3)
    saved = run_files(ops / "nightly")[0]
    res = run_cli(["explain", "--run", str(saved), "box", "22"], cwd=ops, environ=environ)
    assert res.code in (0, 3), res.err
    res = run_cli(["explain", "--run", str(saved), "-p", "policies", "box", "22"], cwd=ops,
                  environ=environ)
    assert (res.code, res.err) == (2, "fleetcheck: error: --run explains a saved run: give no "
                                      "-i, -p or -w with it\n")


def test_an_unknown_format_from_configuration_names_where_it_was_set(tmp_path: Path) -> None:
    (tmp_path / "fleetcheck.yml").write_text("formats: [text, 1.5]\n")
    res = run_cli(["scan", "--list-hosts"], cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert (res.code, res.out) == (2, "")
    assert res.err.startswith(f"fleetcheck: error: formats ({tmp_path}/fleetcheck.yml:1:10): "
                              "unknown format '1.5'")
    res = run_cli(["scan", "--list-hosts"], cwd=tmp_path,
                  environ={"HOME": str(tmp_path), "FLEETCHECK_FORMATS": "txt"})
    assert res.err.startswith("fleetcheck: error: formats (env FLEETCHECK_FORMATS): unknown "
                              "format 'txt' (did you mean 'text'?)")
