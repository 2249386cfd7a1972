"""Generated inventories (seeded, so reproducible): fleetcheck agrees with ansible-core on each.

Each seed builds a random fleet — groups in a random hierarchy, hosts in several
groups, ranges, ports, inline vars of several types, group priorities, group_vars
and host_vars files (single files and directories), one or two sources, INI or
YAML, often a `constructed` source after them (sometimes seeing `-e`) — plus random
patterns and sometimes extra variables; `--list` must be byte-identical and
`--list-hosts` must select what `ansible PATTERN --list-hosts` selects.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests import ahead
from tests.conftest import run_cli
from tests.inventory.cases import same_selection
from tests.inventory.oracle import Oracle, Run, hosts_of, require_ansible, unmatched_terms

SEEDS = range(32)
VALUES: list[Any] = [1, 0, -7, 2.5, True, False, None, "text", "two words", [1, "a"],
                     {"k": [1, 2]}, "yes", "0o17"]


@dataclass(frozen=True)
class Fleet:
    """One generated inventory: its sources and the patterns to ask."""

    sources: list[str]
    patterns: list[str]
    extra: list[str]  # -e arguments, given to both tools

    def args(self) -> list[str]:
        """-i for each source, then -e for each extra."""
        return [*(a for s in self.sources for a in ("-i", s)),
                *(a for e in self.extra for a in ("-e", e))]


def _write_ini(path: Path, groups: dict[str, Any]) -> None:
    lines = [f"{name}{_host_vars_ini(v)}" for name, v in groups["ungrouped"]["hosts"]]
    for group, body in groups.items():
        if group == "ungrouped":
            continue
        lines.append(f"[{group}]")
        lines += [f"{name}{_host_vars_ini(v)}" for name, v in body["hosts"]]
        if body["children"]:
            lines.append(f"[{group}:children]")
            lines += body["children"]
        if body["vars"]:
            lines.append(f"[{group}:vars]")
            lines += [f"{k}={v!r}" for k, v in body["vars"].items()]
    path.write_text("\n".join(lines) + "\n")


def _host_vars_ini(values: dict[str, Any]) -> str:
    return "".join(f" {k}=\"{v!r}\"" for k, v in values.items())


def _write_yaml(path: Path, groups: dict[str, Any]) -> None:
    doc: dict[str, Any] = {}
    for group, body in groups.items():
        entry: dict[str, Any] = {}
        if body["hosts"]:
            entry["hosts"] = {name: (v or None) for name, v in body["hosts"]}
        if body["children"]:
            entry["children"] = dict.fromkeys(body["children"])
        if body["vars"]:
            entry["vars"] = body["vars"]
        doc[group] = entry or None
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _fleet(seed: int, root: Path) -> Fleet:
    rng = random.Random(seed)  # noqa: S311 - reproducible fixtures, not secrets
    names = [f"g{i}" for i in range(rng.randint(2, 7))]
    groups: dict[str, Any] = {"ungrouped": {"hosts": [], "children": [], "vars": {}}}
    for i, name in enumerate(names):
        later = names[i + 1:]
        groups[name] = {"hosts": [], "vars": {},
                        "children": rng.sample(later, k=min(len(later), rng.randint(0, 2)))}
        if rng.random() < 0.6:
            groups[name]["vars"] = {rng.choice("xyz"): rng.choice(VALUES)
                                    for _ in range(rng.randint(1, 3))}
        if rng.random() < 0.3:
            groups[name]["vars"]["ansible_group_priority"] = rng.randint(0, 9)
    hosts = [f"h{i}" for i in range(rng.randint(3, 12))]
    for host in hosts:
        homes = rng.sample([*names, "ungrouped"], k=rng.randint(1, 3))
        for home in homes:
            entry = host + (f":{rng.randint(2000, 2999)}" if rng.random() < 0.2 else "")
            values = ({rng.choice("xyzw"): rng.choice(VALUES)} if rng.random() < 0.4 else {})
            groups[home]["hosts"].append((entry, values))
    if rng.random() < 0.5:
        first = rng.choice(names)
        groups[first]["hosts"].append((f"r{seed}-[{rng.randint(0, 3)}:{rng.randint(4, 6)}]", {}))
    src = root / f"fleet{seed}"
    (src / "group_vars").mkdir(parents=True)
    (src / "host_vars").mkdir()
    for group in rng.sample([*names, "all"], k=rng.randint(0, 3)):
        if rng.random() < 0.5:
            (src / "group_vars" / f"{group}.yml").write_text(
                yaml.safe_dump({rng.choice("xyz"): rng.choice(VALUES)}))
        else:
            (src / "group_vars" / group).mkdir()
            for n in range(2):
                (src / "group_vars" / group / f"{n}.yml").write_text(
                    yaml.safe_dump({rng.choice("xyz"): rng.choice(VALUES)}))
    for host in rng.sample(hosts, k=min(2, len(hosts))):
        (src / "host_vars" / f"{host}.json").write_text(json.dumps({"x": f"hv-{host}"}))
    main = src / ("hosts.ini" if rng.random() < 0.5 else "hosts.yml")
    (_write_ini if main.suffix == ".ini" else _write_yaml)(main, groups)
    sources = [str(main)]
    if rng.random() < 0.4:
        extra = root / f"extra{seed}"
        (extra / "group_vars").mkdir(parents=True)
        (extra / "hosts.ini").write_text(f"[{rng.choice(names)}]\n{rng.choice(hosts)}\nnew{seed}\n")
        (extra / "group_vars" / "all.yml").write_text("x: from-extra\n")
        sources.append(str(extra / "hosts.ini"))
    # -e, drawn apart so that the fleets drawn before it existed stay as they were
    more = random.Random(seed + 1_000_003)  # noqa: S311 - reproducible fixtures
    extra_args = more.sample(EXTRA, k=more.randint(1, 3)) if more.random() < 0.4 else []
    if rng.random() < 0.6:  # the constructed plugin over what the sources before it read
        constructed = root / f"constructed{seed}.yml"
        doc = _constructed(rng, names)
        if extra_args and more.random() < 0.6:
            doc["use_extra_vars"] = True
        constructed.write_text(yaml.safe_dump(doc, sort_keys=False))
        sources.append(str(constructed))
    used = [g for g in names if groups[g]["hosts"] or groups[g]["children"]]
    patterns = ["all"]
    for _ in range(3):
        a, b = rng.choice(used), rng.choice(used)
        patterns.append(rng.choice([f"{a}:{b}", f"{a}:&{b}", f"{a}:!{b}", f"{a}[0]",
                                    f"{a}[-1]", f"~h{rng.randint(0, 9)}", f"{a},{b}[0:1]",
                                    "h*:!ungrouped"]))
    return Fleet(sources, patterns, extra_args)


# -e as Ansible users write it: key=value words (text), inline JSON/YAML (typed).
EXTRA = ["x=ev", "w=5", '{"y": [1, "a"], "z": 3}', "{z: '', x: null}", "y=two\\ words",
         '{"x": {"k": [1, 2]}}']

# What constructed is given: expressions over the generated variables (any of VALUES, or
# undefined on a host), some of which fail on some hosts (skipped, as Ansible skips them).
COMPOSE = ["x", "x | default('d')", "[x, y]", "x ~ '-' ~ inventory_hostname", "y is defined",
           "(x | string) | upper", "group_names | length", "x if x is defined else 'none'",
           "{'k': z}", "inventory_hostname_short", "(z | default(0)) is number", "w"]
CONDITIONS = ["x is defined", "x == 1", "'g1' in group_names", "x", "y is string",
              "z | default('no') | bool", "inventory_hostname is match('h[0-3]')",
              "(w | default('')) is search('o')", "x is defined and x"]
# Keys whose value is text, a list or a mapping (an int key stops ansible-core's source).
KEYS = ["x | string", "group_names", "(y | default('')) | string", "{'k': x | default('')}",
        "[x | default('none'), 'fix']", "inventory_hostname | regex_replace('[0-9]', '')",
        "(z | default('')) | string"]


def _constructed(rng: random.Random, names: list[str]) -> dict[str, Any]:
    """A random constructed source (never `strict`: a failure is a skip on both sides).

    Never `use_vars_plugins`: with it, ansible-core layers a host's group_vars files in
    the order its Host lists its groups, which is a set's order where a host gains several
    groups at once, so its own result varies from run to run on these fleets (the
    `constructed-vars` case holds the orders that are fixed)."""
    keyed = []
    for _ in range(rng.randint(0, 3)):
        entry: dict[str, Any] = {"key": rng.choice(KEYS)}
        for option, values in (("prefix", ["", "k", "by-x"]), ("separator", ["_", "", "."]),
                               ("parent_group", [rng.choice(names), "keyed"])):
            if rng.random() < 0.4:
                entry[option] = rng.choice(values)
        if entry["key"] == "group_names":  # never a group made its own parent's child
            entry["prefix"] = "in"
        choice = rng.random()
        if choice < 0.3:
            entry["default_value"] = "dflt"
        elif choice < 0.5:
            entry["trailing_separator"] = False
        keyed.append(entry)
    doc: dict[str, Any] = {"plugin": rng.choice(["constructed", "ansible.builtin.constructed"])}
    if rng.random() < 0.8:
        doc["compose"] = {f"c{n}": expr for n, expr in
                          enumerate(rng.sample(COMPOSE, k=rng.randint(1, 4)))}
    if rng.random() < 0.8:
        doc["groups"] = {rng.choice(["made", "made-2", "3rd", *names]) + str(n): cond
                         for n, cond in enumerate(rng.sample(CONDITIONS, k=rng.randint(1, 3)))}
    if keyed:
        doc["keyed_groups"] = keyed
    if rng.random() < 0.3:
        doc["leading_separator"] = False
    return doc


def ask_ahead(root: Path) -> Callable[[], dict[int, tuple[Fleet, list[Run]]]]:
    """Every seed's fleet written under `root` and ansible-core asked (tests/ahead.py)."""
    fleets = {seed: _fleet(seed, root) for seed in SEEDS}
    jobs: list[tuple[str, list[str]]] = []
    for fleet in fleets.values():
        inv = fleet.args()
        jobs.append(("ansible-inventory", [*inv, "--list"]))
        jobs += [("ansible", [p, *inv, "--list-hosts"]) for p in fleet.patterns]
    pending = Oracle(root / "oracle").start(jobs, [], background=True)

    def collect() -> dict[int, tuple[Fleet, list[Run]]]:
        runs = pending.result()[0]
        out: dict[int, tuple[Fleet, list[Run]]] = {}
        for seed, fleet in fleets.items():
            out[seed] = (fleet, runs[:1 + len(fleet.patterns)])
            runs = runs[1 + len(fleet.patterns):]
        return out
    return collect


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[Fleet, list[Run]]]:
    require_ansible()
    out: dict[int, tuple[Fleet, list[Run]]] = ahead.take(__name__, tmp_path_factory, ask_ahead)
    return out


@pytest.mark.parametrize("seed", SEEDS)
def test_generated_inventory_agrees_with_ansible(
        generated: dict[int, tuple[Fleet, list[Run]]], seed: int) -> None:
    fleet, runs = generated[seed]
    inv = fleet.args()
    listing, *selections = runs
    assert listing.code == 0, listing.err
    ours = run_cli(["inventory", *inv, "--list"], cwd=Path(fleet.sources[0]).parent)
    assert ours.out == listing.out, ours.err
    document = json.loads(listing.out)
    for pattern, run in zip(fleet.patterns, selections, strict=True):
        theirs = hosts_of(run)
        res = run_cli(["inventory", *inv, "--limit", pattern, "--list-hosts"],
                      cwd=Path(fleet.sources[0]).parent)
        assert res.code == 0, (pattern, res.err)
        # the terms Ansible ignored with a warning are the ones fleetcheck warns about
        assert unmatched_terms(res.err) == unmatched_terms(run.err), pattern
        if not theirs:  # both: a warning and no hosts
            assert (res.out, "no hosts matched, nothing to do" in res.err) == ("", True), pattern
            continue
        assert same_selection(document, pattern, res.out.splitlines(), theirs), pattern
