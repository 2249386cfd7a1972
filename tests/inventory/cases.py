"""The valid inventory fixtures the oracle test runs, with the patterns each is asked."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO

VALID = REPO / "tests" / "fixtures" / "inventories" / "valid"


@dataclass(frozen=True)
class Case:
    """Inventory sources (repo-relative paths or a host list) and what to ask of them."""

    name: str
    sources: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    hosts: tuple[str, ...] = ()  # for --host
    export: bool = False  # also --list --export and --graph --vars
    limits: tuple[str, ...] = ()  # for --list --limit
    script_wrapped: bool = False  # a saved --list file: Ansible reads that shape from a script
    extra_vars: tuple[str, ...] = ()  # -e arguments, given to both tools

    def paths(self) -> list[str]:
        """The sources as fleetcheck is given them."""
        return [s if "," in s else str(REPO / s) for s in self.sources]


CASES = (
    Case("fleet", ("inventories/fleet",),
         patterns=("all", "web", "databases:&fra", "fra:!fra_web", "web[0]", "fra_web[2:4]",
                   "~db-.*", "edge*", "windows", "monitoring:!edge*", "fra_cache[-1]",
                   "localhost", "iad:databases:!iad_web"),
         hosts=("db-fra-04.example.net", "2001:db8:10::21", "bastion-fra.example.net"),
         export=True, limits=("databases:&fra", "edge*:windows")),
    Case("lab", ("inventories/lab.ini",), patterns=("all", "lab_vms", "localhost")),
    Case("ini-details", ("tests/fixtures/inventories/valid/ini-details/hosts.ini",),
         patterns=("all", "web", "site", "ungrouped", "cache-*", "127.0.0.1", "2001:db8::7",
                   "site:!db", "web_and_db[1:3]"),
         hosts=("db-a.example.com", "cache-B-2"), export=True),
    Case("yaml-details", ("tests/fixtures/inventories/valid/yaml-details/inventory.yml",),
         patterns=("all", "web", "web_eu:db", "~top", "empty_group:db", "2001:db8::42"),
         hosts=("db1.example.org", "top-1"), export=True),
    Case("precedence", ("tests/fixtures/inventories/valid/precedence",),
         patterns=("app", "app[1:]", "web:&db"), hosts=("web1", "web2", "db1"), export=True,
         limits=("web2",)),
    # `ungrouped` made a child of `app` (its hosts are in app, so no longer in ungrouped)
    # and given a child `edge`, whose host e1 also written in ungrouped leaves ungrouped and
    # its variables behind; t1, in `top` and in ungrouped, leaves `top`'s variables behind
    # too (ansible-core's Host forgets an ancestor of ungrouped no other group is under)
    Case("ungrouped-child", ("tests/fixtures/inventories/valid/ungrouped-child/hosts.ini",),
         patterns=("all", "app", "top", "ungrouped", "lone*", "edge:lone2", "t1"),
         hosts=("lone2", "e1", "e2", "t1"), export=True),
    Case("priority-literals", ("tests/fixtures/inventories/valid/priority-literals",),
         patterns=("all",), hosts=("h1", "h2", "h3")),
    Case("multi-source", ("tests/fixtures/inventories/valid/multi-source/site-a",
                          "tests/fixtures/inventories/valid/multi-source/site-b/hosts.yml"),
         patterns=("all", "shared", "web"), hosts=("a-web1",)),
    Case("multi-source-reversed",
         ("tests/fixtures/inventories/valid/multi-source/site-b/hosts.yml",
          "tests/fixtures/inventories/valid/multi-source/site-a"),
         patterns=("all", "web"), hosts=("a-web1",)),
    Case("constructed", ("tests/fixtures/inventories/valid/constructed",),
         patterns=("all", "webservers", "os_linux", "weirdos", "_fra:!web", "in_web:&big",
                   "ungrouped", "osd_unknown"),
         hosts=("web2", "web1.example.com", "db1", "odd-host", "late1"), export=True,
         limits=("webservers",)),
    Case("constructed-vars", ("tests/fixtures/inventories/valid/constructed-vars",),
         patterns=("all", "big", "color_black", "tier_back:&site"),
         hosts=("web1", "web2", "db1", "cdn1"), export=True),
    Case("constructed-extra", ("tests/fixtures/inventories/valid/constructed-extra",),
         patterns=("all", "dc_dc1", "linux:&emea", "_aix"),
         hosts=("web1", "db1"), export=True, limits=("emea",),
         extra_vars=("dc=dc1", "@tests/fixtures/inventories/extra-vars.yml",
                     '{"os": "aix", "inventory_dir": "/x"}')),
    # -e over Ansible's per-host names: what passes through is -e's text, so trusted
    Case("constructed-extra-names", ("tests/fixtures/inventories/valid/constructed-extra",),
         patterns=("all", "_linux"), hosts=("web2",), export=True,
         extra_vars=('{"inventory_hostname_short": "s", "group_names": ["q"]}',)),
    # iterators made lists, text an operation makes untrusted, undefined values that chain
    Case("constructed-iterators", ("tests/fixtures/inventories/valid/constructed-iterators",),
         patterns=("all", "role_web", "label_back:has_web", "team_unassigned", "has_team"),
         hosts=("app1", "app2"), export=True),
    Case("generator", ("tests/fixtures/inventories/valid/generator/fleet.yml",),
         patterns=("all", "web", "sites:!site_iad", "fleet[1:3]", "db_fra"),
         hosts=("web1.fra.example.net", "db2.iad.example.net"), export=True),
    Case("dir-order", ("tests/fixtures/inventories/valid/dir-order",),
         patterns=("all", "alpha", "scripted:sub")),
    Case("script", ("tests/fixtures/inventories/valid/scripts/dynamic.py",),
         patterns=("webservers", "webservers[-1]", "all"), hosts=("dyn-web1",), export=True),
    Case("script-legacy", ("tests/fixtures/inventories/valid/scripts/legacy.sh",),
         patterns=("legacy",)),
    Case("json", ("tests/fixtures/inventories/valid/formats/inventory.json",),
         patterns=("jweb", "all"), export=True),
    Case("toml", ("tests/fixtures/inventories/valid/formats/inventory.toml",),
         patterns=("tweb",)),
    Case("exported", ("tests/fixtures/inventories/valid/formats/exported.json",),
         patterns=("all", "expweb"), script_wrapped=True),
    # shapes met in inventories people keep (CRLF, tabs, dashed groups named before they are
    # declared, ALL beside all, zone-scoped IPv6, YAML anchors across groups, IPv4 ranges,
    # vars directories with nested, JSON and extensionless files, a constant condition)
    Case("wild", ("tests/fixtures/inventories/valid/wild",),
         patterns=("all", "iscsid", "ALL", "fe80::1%eth0,loner", "k3s:!edge", "node-*[1:]",
                   "monitored:&role_server", "localhost", "~stor.*"),
         hosts=("ctl-02", "stor-03", "192.168.1.11", "node-b", "loner"), export=True,
         limits=("k3s:!edge",)),
    Case("host-list", ("h1,h2:2222,[2001:db8::5]:2200,web[1:2],",), patterns=("all", "h*")),
    Case("patterns", ("tests/fixtures/inventories/valid/patterns/hosts.ini",),
         patterns=("all", "web:db", "web,db", "web:&web_eu", "web:!web_eu",
                   "app:&web_eu:!eu-web2", "!staging", "&staging", "web*[2]", "web*[1:4]",
                   "app[-1]", "app[2:]", "app[0:0]", "~(web|db)0?1", "~eu", "w?b01",
                   "*:!web*", "web01,web01,db1", "web db", "127.0.0.1", "staging:db", "web[3]",
                   "@tests/fixtures/inventories/valid/patterns/limit.txt",
                   # accepted with Ansible's warnings: the removed [x-y] subscript, terms
                   # matching nothing, ',' and ':' mixed (split on ',' only)
                   "web[0-1]", "app[0-3]:&web_eu", "web,nosuch", "web:db,app",
                   "nosuch:staging", "~nosuch.*,db")),
)


SUBSCRIPT = re.compile(r"\[-?[0-9]*(?::-?[0-9]*)?\]")  # a pattern term's [0], [-1], [1:3]


def same_selection(listing: dict[str, Any], pattern: str, ours: list[str],
                   theirs: list[str]) -> bool:
    """Whether fleetcheck selected what Ansible did: in Ansible's order where that order is
    fixed, as a set where it varies, and not at all comparable where a subscript picks by
    an order that varies (Ansible's own pick changes from run to run)."""
    if order_is_defined(listing, pattern):
        return ours == theirs
    return bool(SUBSCRIPT.search(pattern)) or sorted(ours) == sorted(theirs)


def order_is_defined(listing: dict[str, Any], pattern: str) -> bool:
    """False when Ansible's own host order for `pattern` varies from run to run.

    Ansible walks a group's descendants level by level, iterating each level as
    a Python set of groups (ordered by memory address). When two or more groups
    on one level have children, the order their hosts come out in is not fixed.
    """
    children = {g: list(body.get("children", [])) for g, body in listing.items() if g != "_meta"}
    names = set(children) | {c for kids in children.values() for c in kids}
    pattern = SUBSCRIPT.sub("", pattern)  # before splitting at ':', which [0:2] holds too
    terms = [t.lstrip("&!") for t in re.split(r"[,:]", pattern) if t] or ["all"]
    if all(t.startswith(("!", "&")) for t in re.split(r"[,:]", pattern) if t):
        terms.append("all")
    for term in terms:
        expr = term
        if expr.startswith("~"):
            matched = [g for g in names if re.match(expr[1:], g)]
        else:
            matched = [g for g in names if fnmatch.fnmatchcase(g, expr)]
        if not all(descendants_in_fixed_order(group, children) for group in matched):
            return False
    return True


def descendants_in_fixed_order(group: str, children: dict[str, list[str]]) -> bool:
    """Whether ansible-core lists `group`'s hosts in one order: no level of its descendants
    holds two or more groups with children (it walks each level as a set)."""
    level, seen = list(children.get(group, [])), {group}
    while level:
        if sum(1 for g in set(level) if children.get(g)) >= 2:
            return False
        seen.update(level)
        level = [k for g in level for k in children.get(g, []) if k not in seen]
    return True


def wrapper_script(root: Path, saved: Path) -> Path:
    """An inventory script printing a saved --list document (how Ansible reads that shape)."""
    script = root / f"print-{saved.stem}.sh"
    script.write_text(f"#!/bin/sh\nexec cat '{saved}'\n")
    script.chmod(0o755)
    return script
