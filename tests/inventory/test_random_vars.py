"""Inventory layouts and variables: fleetcheck resolves what ansible-core resolves.

Seeded random layouts (tests/inventory/varsgen.py: inventory directories of mixed files,
several sources, group_vars/host_vars beside them and in the working directory, templated
connection variables, hash_behaviour, -e) and the cases the hunt over them found, each
cut down to what it needs. For each, `inventory --list` must equal `ansible-inventory
--list`, and the connection `scan` plans for each host must be the one `ansible -m debug`
resolves — or, where ansible-core fails on the host, fleetcheck must stop with exit 2.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from fleetcheck.inventory.template import source_vars
from tests import ahead
from tests.conftest import run_cli
from tests.inventory.oracle import Oracle, Pending, Run, require_ansible
from tests.inventory.varscompare import RUNTIME_ERROR, differences, oracle_jobs
from tests.inventory.varsgen import VAULT_PASSWORD, Layout, layout

SEEDS = (3, 59, 83, 188)  # an inventory directory of mixed kinds; cwd group_vars; merge

# name -> (files under the layout's root, the sources, -e, ansible.cfg)
CASES: dict[str, tuple[dict[str, str], list[str], list[str], str]] = {
    # Ansible's group_names names `ungrouped` for a host in it
    "group_names-ungrouped": ({"inv/hosts.yml": (
        "all:\n  hosts:\n    h1:\n      ansible_host: \"{{ group_names | first | "
        "default('none') }}.grp\"\n")}, ["inv/hosts.yml"], [], ""),
    # one {{ expression }} gives its own value: a number for the port, a boolean
    "native-values": ({"inv/hosts.ini": (
        "[web]\nw1 base=2000\nw2 base=2100 ansible_become='{{ base > 2050 }}'\n"
        "[web:vars]\nansible_port='{{ base + 1 }}'\n")}, ["inv/hosts.ini"], [], ""),
    # ...and a mapping where text is needed is an error on both sides, not its repr
    "native-mapping-user": ({"inv/hosts.yml": (
        "all:\n  vars:\n    admin: {k: 1}\n  hosts:\n    h1:\n"
        "      ansible_user: \"{{ admin }}\"\n")}, ["inv/hosts.yml"], [], ""),
    # a variable whose template uses an undefined one is undefined itself (default() takes
    # over), and a null among text is written as nothing
    "nested-undefined": ({"inv/hosts.yml": (
        "all:\n  vars:\n    admin: '{{ x }}'\n    n: null\n  hosts:\n    h1:\n"
        "      ansible_user: \"{{ admin | default('root') }}\"\n"
        "      ansible_host: \"ops{{ n }}\"\n")}, ["inv/hosts.yml"], [], ""),
    # an ansible_host rendered empty is no address: the host is reached by its name
    "empty-host": ({"inv/hosts.yml": (
        "all:\n  vars:\n    x: ''\n  hosts:\n    h1:\n"
        "      ansible_host: \"{{ x }}\"\n    h2:\n      ansible_host: ''\n")},
        ["inv/hosts.yml"], [], ""),
    # a pattern that is no regular expression fails the host in both, never the run
    "bad-pattern": ({"inv/hosts.yml": (
        "all:\n  hosts:\n    h1:\n"
        "      ansible_host: \"{{ inventory_hostname | regex_replace('(', '') }}\"\n")},
        ["inv/hosts.yml"], [], ""),
    # a comparison Python refuses (text > number): a failed host, never a crash
    "type-error": ({"inv/hosts.yml": (
        "all:\n  hosts:\n    h1:\n      base: '2200'\n"
        "      ansible_become: \"{{ base > 2000 }}\"\n")}, ["inv/hosts.yml"], [], ""),
    # hash_behaviour = merge: a group's mapping set twice, a group_vars directory's files,
    # one layer over another, -e over all
    "merge": ({"inv/a.ini": "[web]\nw1 d='{\"a\": {\"b\": 1}}'\n[web:vars]\nd={'a': {'c': 2}}\n",
               "inv/b.yml": "web:\n  vars:\n    d: {e: 3}\n",
               "inv/group_vars/all/1.yml": "d: {a: {f: 4}, g: [1]}\n",
               "inv/group_vars/all/2.json": '{"d": {"g": [2], "h": 5}}\n',
               "inv/host_vars/w1.yml": "d: {a: {b: 6}}\n"},
              ["inv"], ['{"d": {"z": 1}}'], "[defaults]\nhash_behaviour = merge\n"),
    # the working directory's group_vars/host_vars: read by the ad-hoc `ansible` (its play
    # directory), over the inventory's at each level; not by ansible-inventory
    "cwd-vars": ({"inv/hosts.ini": "[web]\nw1 ansible_user=inline\nw2\n",
                  "inv/group_vars/web.yml": "ansible_port: 2200\nansible_host: inv.example\n",
                  "cwd/group_vars/all.yml": "ansible_port: 2300\nansible_become: true\n",
                  "cwd/group_vars/web.yml": "ansible_host: '{{ inventory_hostname }}.cwd'\n",
                  "cwd/host_vars/w2.yml": "ansible_user: cwd-user\n"},
                 ["inv/hosts.ini"], [], ""),
    # a name only a play has, behind default(): Ansible gives its value, fleetcheck an error
    "runtime-name": ({"inv/hosts.yml": (
        "all:\n  hosts:\n    h1:\n"
        "      ansible_host: \"{{ playbook_dir | default('nodir') }}\"\n")},
        ["inv/hosts.yml"], [], ""),
    # inventory_file and inventory_dir: the source that first named the host, made absolute
    # (a directory source names each file), in the inventory's and the cwd's vars alike
    "inventory-file": ({"inv/sub/hosts.yml": (
        "all:\n  hosts:\n    h1:\n      ansible_user: \"{{ inventory_file }}\"\n"),
        "inv/b.ini": "h2\nh1\n",
        "cwd/group_vars/all.yml": ("ansible_become: true\n"
                                   "ansible_become_user: \"{{ inventory_dir }}\"\n")},
        ["inv/sub/hosts.yml", "inv"], [], ""),
}


def _case(root: Path, name: str) -> Layout:
    files, sources, extra, config = CASES[name]
    (root / "cwd").mkdir(parents=True)
    (root / "vault-pw").write_text(VAULT_PASSWORD + "\n")
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return Layout(root, [str(root / s) for s in sources], extra, config)


def ask_ahead(root: Path) -> Callable[[], dict[str, tuple[Layout, list[Run]]]]:
    """Every layout written under `root` and ansible-core asked, one server per ansible.cfg
    (read once, as ansible starts), all started in the background (tests/ahead.py)."""
    layouts = {f"seed{s}": layout(s, root / f"seed{s}") for s in SEEDS}
    layouts.update({name: _case(root / name, name) for name in CASES})
    started: list[tuple[list[str], Pending]] = []
    for n, config in enumerate(sorted({lay.config for lay in layouts.values()})):
        names = [name for name, lay in layouts.items() if lay.config == config]
        oracle = Oracle(root / f"oracle{n}")
        (root / f"oracle{n}" / "empty.cfg").write_text(config)  # the oracle's config
        started.append((names, oracle.start([job for name in names
                                             for job in oracle_jobs(layouts[name])], [],
                                            background=True)))

    def collect() -> dict[str, tuple[Layout, list[Run]]]:
        out: dict[str, tuple[Layout, list[Run]]] = {}
        for names, pending in started:
            runs = pending.result()[0]
            out.update({n: (layouts[n], runs[2 * i:2 * i + 2]) for i, n in enumerate(names)})
        return out
    return collect


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Layout, list[Run]]]:
    require_ansible()
    out: dict[str, tuple[Layout, list[Run]]] = ahead.take(__name__, tmp_path_factory,
                                                          ask_ahead)
    return out


@pytest.mark.parametrize("name", [*(f"seed{s}" for s in SEEDS), *CASES])
def test_layout_resolves_as_ansible_resolves_it(
        compared: dict[str, tuple[Layout, list[Run]]], name: str) -> None:
    lay, (listing, debug) = compared[name]
    assert listing.code == 0, listing.err
    assert differences(lay, listing, debug) == []


def test_failures_ansible_has_are_located_errors(
        compared: dict[str, tuple[Layout, list[Run]]]) -> None:
    """Where ansible-core fails on the host, fleetcheck stops before contacting any (exit 2),
    naming the host, the variable and where it was written."""
    env = {"HOME": "/nonexistent"}
    for name, message in (("native-mapping-user", "ansible_user must be text, not a mapping"),
                          ("type-error", "ansible_become cannot render"),
                          ("bad-pattern", "ansible_host cannot render \"{{ inventory_hostname "
                           "| regex_replace('(', '') }}\": ValueError: regex_replace: '(' is "
                           "no regular expression"),
                          ("runtime-name", RUNTIME_ERROR)):
        lay, (_listing, debug) = compared[name]
        assert "h1 | FAILED! => " in debug.out or name == "runtime-name", debug.out
        res = run_cli(["scan", *lay.args(), "--list-hosts"], cwd=lay.cwd, environ=env)
        assert res.code == 2, (name, res.err)
        assert "hosts.yml:" in res.err and "host 'h1': " in res.err and message in res.err, \
            (name, res.err)


def test_inventory_list_leaves_the_working_directory_out(
        compared: dict[str, tuple[Layout, list[Run]]]) -> None:
    """`inventory` does not read the working directory's vars (ansible-inventory does not);
    `scan` does (the ad-hoc `ansible` does): the same run of each, two answers."""
    lay, (listing, _debug) = compared["cwd-vars"]
    assert "cwd-user" not in listing.out and "2300" not in listing.out
    res = run_cli(["inventory", *lay.args(), "--host", "w2"], cwd=lay.cwd, environ={})
    assert (res.code, "cwd-user" in res.out) == (0, False)


def test_a_host_list_source_is_its_hosts_inventory_file(tmp_path: Path) -> None:
    """`-i 'h1,h2,'`: inventory_file is the list as written and inventory_dir the text 'None'
    (ansible-core's basedir of what is no path), as `ansible -m debug` printed them."""
    assert source_vars("h1,h2,") == {"inventory_file": "h1,h2,", "inventory_dir": "None"}
    res = run_cli(["scan", "-i", "h1,h2,", "-e", "ansible_user='u{{ inventory_dir }}'",
                   "--list-hosts"], cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert res.code == 0 and res.out.split() == ["h1", "h2"], res.err
