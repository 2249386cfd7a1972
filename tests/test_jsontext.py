"""Text that is no Unicode (a lone surrogate, from a JSON or Python \\ud800 escape or a
bytes literal) never stops a run: a host's is replaced, an input file's refused or shown
as Ansible shows it, and what is written out always encodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fleetcheck.jsontext import REPLACEMENT, first_lone_surrogate, loads_text
from fleetcheck.parsers import PARSERS
from fleetcheck.parsers.containers import parse_crictl_ps, parse_docker_ps, parse_podman_ps
from tests.conftest import REPO, run_cli


def _cli(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """fleetcheck as a real process: its stdout is a real UTF-8 stream, as a user's is."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(cwd), "CI": "true"}
    return subprocess.run([sys.executable, "-m", "fleetcheck", *argv], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def test_pairs_are_text_and_halves_are_found() -> None:
    assert loads_text('"\\ud83d\\ude00 \\u00e9"') == "\U0001F600 \u00e9"
    assert loads_text('{"\\ud800": ["a\\udcffb"]}') == {REPLACEMENT: [f"a{REPLACEMENT}b"]}
    text = '{"a": [1, {"b": "x\\uDFFF"}]}'
    assert first_lone_surrogate(json.loads(text), text) == "\udfff"
    assert first_lone_surrogate(json.loads('"\\ud83d\\ude00"'), '"\\ud83d\\ude00"') is None


def test_a_hosts_json_output_is_read_with_replacements() -> None:
    """PowerShell's and the container runtimes' JSON come from the host: replaced."""
    ps = ('[{"LocalAddress":"0.0.0.0","LocalPort":8080,"State":2,"OwningProcess":4,'
          '"ProcessName":"ev\\ud800il","Protocol":"TCP"}]')
    (li,) = PARSERS["powershell"](ps)
    assert (li.port, li.process) == (8080, f"ev{REPLACEMENT}il")
    docker = parse_docker_ps('["abc","we\\udcffb","nginx","","",""]\n')
    assert docker["abc"].name == f"we{REPLACEMENT}b"
    crictl = parse_crictl_ps('{"containers":[{"id":"c1","metadata":{"name":"\\ud800"},'
                             '"image":{"image":"img"}}]}')
    assert crictl["c1"].name == REPLACEMENT
    podman = parse_podman_ps('[{"Id":"p1","Names":["\\udfff"],"Image":"img"}]')
    assert podman["p1"].name == REPLACEMENT


@pytest.mark.parametrize("name, body", [
    ("inv.json", '{"all": {"hosts": {"h1": {"v": "a\\ud800b"}}}}\n'),
    ("inv.sh", "#!/bin/sh\necho '{\"g\": {\"hosts\": [\"h\\udcff\"]}, \"_meta\": "
               "{\"hostvars\": {}}}'\n"),
])
def test_an_inventory_holding_half_a_pair_is_refused(tmp_path: Path, name: str,
                                                     body: str) -> None:
    source = tmp_path / name
    source.write_text(body)
    source.chmod(0o755 if name.endswith(".sh") else 0o644)
    res = run_cli(["inventory", "-i", str(source), "--list"], cwd=tmp_path)
    assert res.code == 2 and res.out == "", res.err
    assert "half of a UTF-16 pair" in res.err and len(res.err.splitlines()) == 1
    assert (f"{source}:1:" in res.err) == name.endswith(".json")


def test_a_saved_run_holding_half_a_pair_is_refused(tmp_path: Path) -> None:
    run = tmp_path / "run.invalid.json"  # no run record: the schema check passes it over
    run.write_text('{"schema": "fleetcheck.run/3",\n "hosts": [{"name": "h\\ud800"}]}\n')
    res = run_cli(["report", str(run), "--format", "text", "-o", "-"], cwd=tmp_path)
    assert res.code == 2 and f"{run}:2:" in res.err and "half of a UTF-16 pair" in res.err


def test_ini_escapes_never_stop_a_real_process(tmp_path: Path) -> None:
    """An INI value's \\ud800 or b'\\xff' is shown as '?' (with Ansible's warning), in the
    listing and through a whole scan's reports."""
    inv = tmp_path / "hosts"
    inv.write_text("[g]\nh1 ansible_connection=local ansible_host=\"'x\\udcffy'\" "
                   "note=\"b'\\xff'\"\n[g:vars]\nw='\\ud800'\n")
    listed = _cli(["inventory", "-i", str(inv), "--list"], tmp_path)
    assert listed.returncode == 0, listed.stderr
    hostvars = json.loads(listed.stdout)["_meta"]["hostvars"]["h1"]
    assert (hostvars["ansible_host"], hostvars["w"]) == ("x?y", "?")
    assert hostvars["note"] == {"__ansible_unsafe": "?"}
    assert listed.stderr.count('non UTF-8 encoded data replaced with "?"') == 3
    scanned = _cli(["scan", "-i", str(inv), "-o", "out", "--format", "json,text,html"],
                   tmp_path)
    assert scanned.returncode in (0, 1), scanned.stderr
    assert "internal error" not in scanned.stderr
    assert "x?y" in next((tmp_path / "out").glob("*.txt")).read_text()
