"""Inventory loading at fleet scale: 50,000 hosts from ranges, group_vars and host_vars.

Builds a five-site fleet in a temporary directory (INI with ranges, the same fleet
as YAML, group_vars for every group, host_vars for some hosts), then measures
loading, pattern selection and `--list` rendering; with ansible-core installed it
also times `ansible-inventory --list` on the same INI fleet, in the same run.
Planning (every host's connection variables) is measured too.

Run from the repository root:
`PYTHONPATH=. python benchmarks/inventory.py [--hosts 50000] [--no-ansible]`.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from functools import partial
from pathlib import Path
from typing import Any

from benchmarks.common import Measurement, measure, print_table
from fleetcheck.inventory import Inventory, load
from fleetcheck.inventory.listing import dumps, list_document
from fleetcheck.plan import plan

SITES = ("fra", "iad", "sin", "gru", "syd")
ROLES = ("web", "app", "db", "cache", "lb")


def build_fleet(root: Path, hosts: int) -> tuple[Path, Path]:
    """Write the fleet as INI and as YAML (sharing group_vars/host_vars); their paths."""
    per_group = max(1, hosts // (len(SITES) * len(ROLES)))
    width = len(str(per_group))
    ini, yml = [], ["all:", "  children:"]
    for vars_dir in ("group_vars", "host_vars"):
        (root / vars_dir).mkdir(parents=True, exist_ok=True)
    for site in SITES:
        yml += [f"    {site}:", "      vars:", f"        datacenter: {site}1", "      children:"]
        for role in ROLES:
            group = f"{site}_{role}"
            entry = f"{role}-{site}-[{1:0{width}d}:{per_group:0{width}d}].example.net"
            ini += [f"[{group}]", f"{entry} ansible_user=ops"]
            yml += [f"        {group}:", "          hosts:", f"            {entry}:",
                    "              ansible_user: ops"]
            (root / "group_vars" / f"{group}.yml").write_text(
                f"role: {role}\nansible_port: {2200 + ROLES.index(role)}\n")
            first = f"{role}-{site}-{1:0{width}d}.example.net"
            (root / "host_vars" / f"{first}.yml").write_text("canary: true\n")
        ini += [f"[{site}:children]", *(f"{site}_{r}" for r in ROLES),
                f"[{site}:vars]", f"datacenter={site}1"]
    (root / "group_vars" / "all.yml").write_text("ansible_become: true\nfleet: example\n")
    (root / "fleet.ini").write_text("\n".join(ini) + "\n")
    (root / "fleet.yml").write_text("\n".join(yml) + "\n")
    return root / "fleet.ini", root / "fleet.yml"


# A constructed source over the fleet: what each host pays for expressions.
CONSTRUCTED = """plugin: constructed
compose:
  ssh_port: ansible_port + 0
  site: datacenter[:3]
  fqdn_dashed: inventory_hostname | regex_replace('[.]', '-')
  canary_host: canary | default(false)
  tags: "[role, datacenter]"
groups:
  web_or_lb: role in ['web', 'lb']
  first_site: datacenter == 'fra1'
  canaries: canary | default(false)
keyed_groups:
  - key: role
    prefix: role
  - key: datacenter
    prefix: dc
    parent_group: datacenters
"""


def _load_into(loaded: dict[str, Inventory], name: str, *paths: Path) -> None:
    """Load `paths` into `loaded[name]`."""
    loaded[name] = load([str(p) for p in paths])


def _select_into(picked: list[int], inventory: Inventory, pattern: str) -> None:
    """Append how many hosts `pattern` selects."""
    picked.append(len(inventory.select(pattern)))


def _ansible_list(source: Path, workdir: Path) -> None:
    """Run ansible-inventory --list on `source` with no user or system config."""
    config = workdir / "empty.cfg"
    config.write_text("")
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(workdir),
           "ANSIBLE_CONFIG": str(config), "ANSIBLE_LOCAL_TEMP": str(workdir)}
    subprocess.run([sys.executable, "-m", "ansible.cli.inventory", "-i", str(source), "--list"],
                   cwd=workdir, env=env, capture_output=True, check=True)


def main() -> None:
    """Build the fleet, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=50_000)
    parser.add_argument("--no-ansible", action="store_true",
                        help="skip timing ansible-inventory (it takes tens of seconds)")
    args = parser.parse_args()
    rows: list[list[Any]] = []
    with tempfile.TemporaryDirectory(prefix="fleetcheck-bench-") as tmp:
        ini, yml = build_fleet(Path(tmp), args.hosts)
        loaded: dict[str, Inventory] = {}

        def record(what: str, m: Measurement, count: int) -> None:
            rows.append([what, count, m.wall, m.cpu, count / m.wall if m.wall else 0.0])

        constructed = Path(tmp) / "constructed.yml"
        constructed.write_text(CONSTRUCTED)
        for name, paths in (("load INI (ranges, group_vars, host_vars)", (ini,)),
                            ("load YAML (same fleet)", (yml,)),
                            ("load INI, then a constructed source (5 compose, 3 groups, "
                             "2 keyed_groups)", (ini, constructed))):
            m = measure(partial(_load_into, loaded, name, *paths))
            record(name, m, len(loaded[name].hosts))
        inventory = loaded["load INI (ranges, group_vars, host_vars)"]
        picked: list[int] = []
        for pattern in ("fra_web", "web*:&~.*-iad-0.*", "all:!*_db", "fra_db[10:19]"):
            m = measure(partial(_select_into, picked, inventory, pattern))
            record(f"select {pattern!r}", m, picked[-1])
        m = measure(lambda: dumps(list_document(inventory)))
        record("render --list JSON", m, len(inventory.hosts))
        ours = rows[0][2] + m.wall  # what `fleetcheck inventory --list` does
        record("plan (connection variables of every host)", measure(lambda: plan(inventory, [])),
               len(inventory.hosts))
        if not args.no_ansible:
            try:
                m = measure(lambda: _ansible_list(ini, Path(tmp)))
            except (OSError, subprocess.CalledProcessError) as exc:
                print(f"ansible-inventory not timed: {exc}", file=sys.stderr)
            else:
                record("ansible-inventory --list (INI, for comparison)", m, len(inventory.hosts))
                rows.append(["ratio: ansible-inventory --list / fleetcheck load+render", "",
                             m.wall / ours, "", ""])
    print_table(f"Inventory at scale ({args.hosts:,} hosts requested)",
                ["measure", "hosts", "wall s", "cpu s", "hosts/s"], rows)


if __name__ == "__main__":
    main()
