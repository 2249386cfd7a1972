"""Variables nested as deep as the limit read everywhere; one level deeper is a located error.

Between ~450 and ~1,000 levels the readers accepted a value that a later walk of it
(listing, `--host`, `--graph --vars`, extra vars) could not finish: exit 70 with a
RecursionError; ansible-core fails to parse a source holding a variable nested ~162 levels
deep. Now a variable whose value nests lists and mappings past MAX_NESTING is refused
wherever it is set (every inventory format, vars files, extra vars: exit 2, file:line:column
where the reader keeps positions), policy, waiver and configuration documents likewise,
and a value at the limit goes through every command, listed as ansible-core lists it.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from fleetcheck.bounded import MAX_NESTING
from tests.conftest import run_cli
from tests.inventory.oracle import Oracle, require_ansible

TOO_DEEP = f"nested more than {MAX_NESTING} levels deep"


def _lists(depth: int) -> str:
    """A flow-style value of `depth` lists within each other (valid JSON and YAML)."""
    return "[" * depth + "1" + "]" * depth


def _maps(depth: int) -> str:
    """A flow-style value of `depth` mappings within each other (valid JSON and YAML)."""
    return '{"a": ' * depth + "1" + "}" * depth


def _yaml_inventory(path: Path, depth: int) -> Path:
    """Variables `depth` levels deep on `all` (x, l) and on its child group g (x)."""
    path.write_text(f"all:\n  vars:\n    x: {_maps(depth)}\n    l: {_lists(depth)}\n"
                    f"  children:\n    g:\n      vars:\n        x: {_maps(depth)}\n"
                    "      hosts:\n        h1:\n          ansible_host: 192.0.2.1\n"
                    # a connection variable templated from the deep values
                    "          ansible_user: \"{{ 'root' if l and x else 'nobody' }}\"\n")
    return path


def test_a_value_at_the_limit_goes_through_every_command(tmp_path: Path) -> None:
    inv = _yaml_inventory(tmp_path / "inv.yml", MAX_NESTING)
    (tmp_path / "ev.json").write_text(f'{{"e": {_lists(MAX_NESTING)}}}')
    merge = {"ANSIBLE_HASH_BEHAVIOUR": "merge"}  # mappings merged level by level
    for args, environ in [
        (["inventory", "-i", "inv.yml", "--list"], {}),
        (["inventory", "-i", "inv.yml", "--list"], merge),
        (["inventory", "-i", "inv.yml", "--host", "h1"], {}),
        (["inventory", "-i", "inv.yml", "--graph", "--vars"], {}),
        (["inventory", "-i", "inv.yml", "--list", "-e", "@ev.json"], {}),
        (["validate", "-i", "inv.yml"], merge),  # renders every host's connection
    ]:
        res = run_cli(args, cwd=tmp_path, environ=environ)
        assert res.code == 0, (args, res.err[-500:])
    require_ansible()
    [listed] = Oracle(tmp_path / "oracle").many([("ansible-inventory",
                                                  ["-i", str(inv), "--list"])])
    ours = run_cli(["inventory", "-i", str(inv), "--list"], cwd=tmp_path)
    assert listed.code == 0, listed.err
    assert json.loads(ours.out) == json.loads(listed.out)


def _script(path: Path, document: str) -> Path:
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{document}\nEOF\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize("kind", ["yaml", "json-file", "toml", "script", "host-vars",
                                  "extra-vars-file", "extra-vars-inline"])
def test_one_level_past_the_limit_is_a_located_error(tmp_path: Path, kind: str) -> None:
    deeper = MAX_NESTING + 1
    args = ["inventory", "-i", "inv", "--list"]
    if kind == "yaml":
        _yaml_inventory(tmp_path / "inv.yml", deeper)
        args = ["inventory", "-i", "inv.yml", "--list"]
        where = f"{tmp_path}/inv.yml:3:"  # the line of the first value too deep
    elif kind == "json-file":  # read fast without positions, then again to say where
        doc = {"all": {"hosts": {"h1": {}}, "vars": {"x": 0}}}
        text = json.dumps(doc).replace("0", _lists(deeper))
        (tmp_path / "inv.json").write_text(text)
        args = ["inventory", "-i", "inv.json", "--list"]
        where = f"{tmp_path}/inv.json"
    elif kind == "toml":
        (tmp_path / "inv.toml").write_text(f"[all.vars]\nx = {_lists(deeper)}\n"
                                           "[all.hosts.h1]\n")
        args = ["inventory", "-i", "inv.toml", "--list"]
        where = f"{tmp_path}/inv.toml"
    elif kind == "script":
        doc = {"all": {"hosts": ["h1"], "vars": {"x": 0}}, "_meta": {"hostvars": {}}}
        _script(tmp_path / "inv", json.dumps(doc).replace("0", _lists(deeper)))
        where = f"{tmp_path}/inv"
    elif kind == "host-vars":
        (tmp_path / "inv").write_text("h1\n")
        (tmp_path / "host_vars").mkdir()
        (tmp_path / "host_vars" / "h1.yml").write_text(f"x: {_maps(deeper)}\n")
        where = f"{tmp_path}/host_vars/h1.yml:1:"
    else:
        (tmp_path / "inv").write_text("h1\n")
        value = f'{{"x": {_lists(deeper)}}}'
        if kind == "extra-vars-file":
            (tmp_path / "ev.json").write_text(value)
            args += ["-e", "@ev.json"]
            where = f"{tmp_path}/ev.json:1:"
        else:
            args += ["-e", value]
            where = "-e #1:1:"
    res = run_cli(args, cwd=tmp_path)
    assert res.code == 2, res.err[-500:]
    [line] = res.err.splitlines()
    assert line.startswith(f"fleetcheck: error: {where}"), line
    assert line.endswith(f"the value of 'x' is {TOO_DEEP} (lists and mappings within each "
                         "other)"), line


@pytest.mark.parametrize("name", ["policy", "waivers", "fleetcheck.yml"])
def test_policy_and_configuration_data_past_the_limit(tmp_path: Path, name: str) -> None:
    # under the document's mapping, one level past the limit
    deep = _lists(MAX_NESTING)
    (tmp_path / "inv").write_text("h1\n")
    args = ["validate", "-i", "inv"]
    if name == "policy":
        (tmp_path / "p.yml").write_text(f"name: p\nallow: {deep}\n")
        args += ["-p", "p.yml"]
    elif name == "waivers":
        (tmp_path / "w.yml").write_text(f"waivers: {deep}\n")
        args += ["--waivers", "w.yml"]
    else:
        (tmp_path / "fleetcheck.yml").write_text(f"forks: {deep}\n")
    res = run_cli(args, cwd=tmp_path)
    assert res.code == 2, res.err[-500:]
    said = res.out + res.err
    assert TOO_DEEP in said and "Traceback" not in said, said
