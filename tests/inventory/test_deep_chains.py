"""A chain of child groups deeper than Python's recursion limit lists and graphs as any other.

`inventory --list` and `--graph` walked the group tree by recursion: past ~990 levels
they stopped with a RecursionError (exit 70, "internal error") where `scan`, `validate`
and `--list-hosts` read the same inventory. Their output is checked against
ansible-core at a depth it can walk, and for shape beyond it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.conftest import run_cli
from tests.inventory.oracle import Oracle, require_ansible


def _chain(path: Path, depth: int) -> Path:
    """Groups g0 > g1 > ... > g{depth}, a host at the bottom and one half way down."""
    lines = [f"[g{i}:children]\ng{i + 1}\n" for i in range(depth)]
    lines.append(f"[g{depth}]\nbottom ansible_host=192.0.2.1\n[g{depth // 2}]\nmiddle\n")
    path.write_text("\n".join(lines))
    return path


def test_a_chain_ansible_can_walk_lists_and_graphs_as_ansible_inventory(tmp_path: Path) -> None:
    require_ansible()
    inv = _chain(tmp_path / "chain.ini", 400)
    listed, drawn = Oracle(tmp_path / "oracle").many([
        ("ansible-inventory", ["-i", str(inv), "--list"]),
        ("ansible-inventory", ["-i", str(inv), "--graph"])])
    ours = run_cli(["inventory", "-i", str(inv), "--list"], cwd=tmp_path)
    assert ours.code == 0 and listed.code == 0, ours.err + listed.err
    assert list(json.loads(ours.out)) == list(json.loads(listed.out))  # the order, too
    assert json.loads(ours.out) == json.loads(listed.out)
    graph = run_cli(["inventory", "-i", str(inv), "--graph"], cwd=tmp_path)
    assert graph.code == 0 and graph.out == drawn.out


def test_a_chain_deeper_than_the_recursion_limit_lists_and_graphs(tmp_path: Path) -> None:
    # a walk that recurses once per level fails well before the bottom (the time of
    # reading a chain grows with the square of its depth: no deeper than needed)
    depth = sys.getrecursionlimit() + 250
    inv = _chain(tmp_path / "deep.ini", depth)
    listed = run_cli(["inventory", "-i", str(inv), "--list"], cwd=tmp_path)
    assert listed.code == 0, listed.err
    doc = json.loads(listed.out)
    assert doc["g0"] == {"children": ["g1"]} and doc[f"g{depth}"] == {"hosts": ["bottom"]}
    assert doc[f"g{depth // 2}"] == {"hosts": ["middle"], "children": [f"g{depth // 2 + 1}"]}
    assert len(doc) == depth + 3  # every group, `all` and `_meta`
    graph = run_cli(["inventory", "-i", str(inv), "--graph", "--vars"], cwd=tmp_path)
    assert graph.code == 0, graph.err
    lines = graph.out.splitlines()
    assert lines[:3] == ["@all:", "  |--@ungrouped:", "  |--@g0:"]
    assert f"{'  |' * (depth + 2)}--bottom" in lines
    assert f"{'  |' * (depth + 3)}--{{ansible_host = 192.0.2.1}}" in lines


def _nested_yaml(path: Path, depth: int) -> Path:
    """A YAML inventory whose groups nest `children:` within `children:` `depth` deep."""
    lines, indent = ["all:", "  children:"], "    "
    for i in range(depth):
        lines += [f"{indent}g{i}:", f"{indent}  children:"]
        indent += "    "
    lines += [f"{indent}g{depth}:", f"{indent}  hosts:", f"{indent}    deepest:"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_yaml_children_nested_past_the_recursion_limit_are_bad_input(tmp_path: Path) -> None:
    """ansible-core's yaml plugin gives up on such a file ("Unable to parse"); it is a located
    error here (exit 2) for every command that reads it, never an internal error."""
    inv = _nested_yaml(tmp_path / "deep.yml", 1500)
    for argv in (["inventory", "-i", str(inv), "--list"], ["scan", "-i", str(inv), "--list-hosts"],
                 ["validate", "-i", str(inv)]):
        res = run_cli(argv, cwd=tmp_path)
        assert res.code == 2, (argv, res.err)
        said = res.out + res.err  # validate lists its problems on stdout
        assert f"{inv}:1:1: " in said and "groups nested too deeply" in said, said
    shallow = _nested_yaml(tmp_path / "shallow.yml", 600)  # deeper than ansible-core reads
    res = run_cli(["inventory", "-i", str(shallow), "--graph"], cwd=tmp_path)
    assert res.code == 0 and res.out.splitlines()[-1] == f"{'  |' * 602}--deepest", res.err
