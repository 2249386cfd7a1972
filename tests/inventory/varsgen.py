"""Random inventory layouts for the variables hunt (seeded, so reproducible).

A layout is what an Ansible user keeps on disk: an inventory directory of files of
mixed kinds (INI, YAML with and without an extension, JSON, scripts with and without
`_meta`, nested directories, files Ansible skips), `group_vars`/`host_vars` beside it
and beside other sources (single files, directories of several files, vault-encrypted
ones), more `-i` sources (a file elsewhere, a `host1,host2,` list), group variables at
several depths and priorities, connection variables with Jinja templates, sometimes
`hash_behaviour = merge` in ansible.cfg and `-e` on the command line.
"""

from __future__ import annotations

import json
import random
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

VAULT_PASSWORD = "hunt-pw"  # noqa: S105 - a test fixture's password

# Plain values of every type YAML and INI give (texts that look like other types too).
PLAIN: list[Any] = [1, 0, -3, 2.5, True, False, None, "text", "yes", "0o17", "07", "1_000",
                    [1, "a"], {"k": 1, "m": {"n": [1]}}, {"k": 2, "p": "q"}, "", "~"]
# Connection values: literal, templated on host names and other variables, with filters.
HOSTS = ["10.0.0.{n}", "{{ inventory_hostname }}.lan", "{{ inventory_hostname_short }}-mgmt",
         "{{ dom | default('example.net') }}", "{{ inventory_hostname }}.{{ dom }}",
         "{{ group_names | first | default('none') }}.grp", "{{ 'h-' ~ x }}",
         "{{ inventory_hostname | upper }}", "{{ inventory_hostname | regex_replace('h', 'n') }}"]
PORTS: list[Any] = [22, "2222", "{{ base_port }}", "{{ base_port + 1 }}",
                    "{{ base_port | int + 10 }}", "{{ (base_port | default(22)) }}"]
USERS = ["deploy", "{{ admin }}", "{{ admin | default('root') }}", "{{ admin ~ '-x' }}",
         "ops{{ x }}"]
BECOMES: list[Any] = [True, False, "yes", "no", "{{ x is defined }}", "{{ base_port > 2000 }}"]
# Names only Ansible defines at run time, reached through default(), `is defined`, lookups.
RUNTIME = ["{{ inventory_dir | default('nodir') }}", "{{ groups['all'] | length }}",
           "{{ lookup('env', 'HOME') }}", "{{ playbook_dir | default('nopb') }}",
           "{{ hostvars[inventory_hostname]['x'] | default('no') }}",
           "{{ inventory_file is defined }}", "{{ omit }}",
           "{{ ansible_play_hosts | default([]) | length }}"]
EXTRA = ["x=ev", "ansible_user=from-e", '{"base_port": 3000}', '{"ansible_port": 4000}',
         '{"d": {"k": 9}}', "dom=e.example"]


@dataclass
class Layout:
    """One generated layout: the -i sources, -e arguments and ansible.cfg, all under root."""

    root: Path
    sources: list[str]
    extra: list[str] = field(default_factory=list)
    config: str = ""
    runtime: bool = False  # a connection value uses a name Ansible defines at run time

    @property
    def cwd(self) -> Path:
        """Where both tools run."""
        return self.root / "cwd"

    def args(self) -> list[str]:
        """-i for each source, -e for each extra, the vault password file."""
        return [*(a for s in self.sources for a in ("-i", s)),
                *(a for e in self.extra for a in ("-e", e)),
                "--vault-password-file", str(self.root / "vault-pw")]


def _value(rng: random.Random, name: str, n: int) -> Any:
    """A value for variable `name` (connection variables get connection-like values)."""
    if name == "ansible_host":
        return rng.choice(HOSTS).replace("{n}", str(n))
    if name == "ansible_port":
        return rng.choice(PORTS)
    if name == "ansible_user":
        return rng.choice(USERS)
    if name in ("ansible_become",):
        return rng.choice(BECOMES)
    if name == "base_port":
        return rng.choice([2000, 2100, "2200", 1500])
    if name in ("admin", "dom"):
        return rng.choice(["alice", "bob.example", "{{ x }}", "z-{{ inventory_hostname }}"])
    return rng.choice(PLAIN)


NAMES = ["x", "y", "d", "base_port", "admin", "dom", "ansible_host", "ansible_port",
         "ansible_user", "ansible_become", "ansible_become_user"]


def _vars(rng: random.Random, n: int, k: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in rng.sample(NAMES, k=k):
        out[name] = _value(rng, name, n) if name != "ansible_become_user" else \
            rng.choice(["root", "svc", "{{ admin }}"])
    return out


def _ini_value(value: Any) -> str:
    """A value as an INI host line writes it (Python literal where INI reads one)."""
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


class _Builder:
    """Builds one layout's files."""

    def __init__(self, seed: int, root: Path) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible fixtures, not secrets
        self.seed = seed
        self.root = root
        self.groups = [f"g{i}" for i in range(self.rng.randint(2, 5))]
        self.hosts = [f"h{i}" for i in range(self.rng.randint(2, 7))]
        self.runtime = False

    def conn(self, out: dict[str, Any]) -> dict[str, Any]:
        """Sometimes a value using a run-time name."""
        if self.rng.random() < 0.08:
            out[self.rng.choice(["ansible_host", "ansible_user", "y"])] = \
                self.rng.choice(RUNTIME)
            self.runtime = True
        return out

    def pieces(self) -> list[dict[str, Any]]:
        """The inventory split into pieces: each is {group: {hosts, children, vars}}."""
        rng = self.rng
        pieces: list[dict[str, Any]] = [{} for _ in range(rng.randint(1, 4))]
        for i, group in enumerate(self.groups):
            later = self.groups[i + 1:]
            body: dict[str, Any] = {"hosts": {}, "children": [], "vars": {}}
            body["children"] = rng.sample(later, k=min(len(later), rng.randint(0, 2)))
            if rng.random() < 0.6:
                body["vars"] = self.conn(_vars(rng, i, rng.randint(1, 3)))
            if rng.random() < 0.3:
                body["vars"]["ansible_group_priority"] = rng.randint(0, 5)
            rng.choice(pieces)[group] = body
        for n, host in enumerate(self.hosts):
            for group in rng.sample([*self.groups, "ungrouped"], k=rng.randint(1, 2)):
                piece = rng.choice(pieces)
                body = piece.setdefault(group, {"hosts": {}, "children": [], "vars": {}})
                body["hosts"][host] = self.conn(_vars(rng, n, rng.randint(0, 2)))
        if rng.random() < 0.4:
            pieces[0].setdefault("all", {"hosts": {}, "children": [], "vars": {}})["vars"] = \
                _vars(rng, 99, 2)
        pieces.sort(key=lambda p: not p)  # the first one is never empty
        return pieces

    def write_piece(self, folder: Path, index: int, piece: dict[str, Any]) -> None:
        """Write one piece as a file of a random kind."""
        rng = self.rng
        kind = rng.choice(["ini", "yml", "yaml", "noext", "json", "script", "script_meta"])
        name = f"{index:02d}-{kind}"
        if kind == "ini":
            (folder / f"{name}.ini").write_text(_ini(piece))
        elif kind in ("yml", "yaml", "noext"):
            suffix = "" if kind == "noext" else f".{kind}"
            (folder / f"{name}{suffix}").write_text(yaml.safe_dump(_yaml(piece),
                                                                   sort_keys=False))
        elif kind == "json":
            (folder / f"{name}.json").write_text(json.dumps(_yaml(piece), indent=1))
        else:
            path = folder / f"{name}.py"
            path.write_text(_script(piece, meta=kind == "script_meta"))
            path.chmod(path.stat().st_mode | stat.S_IXUSR)

    def vars_dir(self, base: Path, names: list[str], kind: str) -> None:
        """group_vars/ or host_vars/ in `base`: files of every spelling, directories, vaults."""
        rng = self.rng
        folder = base / kind
        for name in rng.sample(names, k=rng.randint(0, min(3, len(names)))):
            folder.mkdir(exist_ok=True)
            shape = rng.choice(["yml", "yaml", "json", "none", "dir", "both", "vault"])
            data = self.conn(_vars(rng, 7, rng.randint(1, 3)))
            if shape == "dir":
                sub = folder / name
                sub.mkdir(exist_ok=True)
                for part in rng.sample(["a.yml", "b.yaml", "c.json", "d", "e.txt", "f.yml~",
                                        ".g.yml", "z/h.yml"], k=3):
                    (sub / part).parent.mkdir(exist_ok=True)
                    (sub / part).write_text(json.dumps(_vars(rng, 8, 2)))
            elif shape == "both":  # name.yml and name.yaml: the first found wins
                (folder / f"{name}.yml").write_text(yaml.safe_dump(data))
                (folder / f"{name}.yaml").write_text(yaml.safe_dump(_vars(rng, 9, 2)))
            elif shape == "vault":
                (folder / f"{name}.yml").write_text(vault_text(yaml.safe_dump(data)))
            else:
                suffix = "" if shape == "none" else f".{shape}"
                text = json.dumps(data) if shape == "json" else yaml.safe_dump(data)
                (folder / f"{name}{suffix}").write_text(text)

    def build(self) -> Layout:
        rng = self.rng
        root = self.root
        (root / "cwd").mkdir(parents=True)
        (root / "vault-pw").write_text(VAULT_PASSWORD + "\n")
        inv = root / "inv"
        inv.mkdir()
        pieces = self.pieces()
        sources: list[str] = []
        # the first piece: an inventory directory (nested sometimes), or a file
        as_dir = rng.random() < 0.7
        for i, piece in enumerate(pieces):
            if not piece:
                continue
            if i == 0 or (as_dir and rng.random() < 0.7):
                folder = inv / "sub" if as_dir and rng.random() < 0.25 else inv
                folder.mkdir(exist_ok=True)
                self.write_piece(folder, i, piece)
            else:
                other = root / f"src{i}"
                other.mkdir()
                self.write_piece(other, i, piece)
                sources.append(str(next(other.iterdir())))
                self.vars_dir(other, [*self.groups, "all"], "group_vars")
        if as_dir:
            sources.insert(0, str(inv))
            for junk in rng.sample(["x.retry", "x.orig", "x~", ".hidden", "x.bak", "x.cfg",
                                    "x.md"], k=2):
                (inv / junk).write_text("[junk]\njunk-host\n")
            if rng.random() < 0.3:  # group_vars inside a subdirectory: not read
                (inv / "sub").mkdir(exist_ok=True)
                (inv / "sub" / "group_vars").mkdir()
                (inv / "sub" / "group_vars" / "all.yml").write_text("y: sub-dir\n")
        else:
            sources.insert(0, str(next(p for p in sorted(inv.iterdir()) if p.is_file())))
        self.vars_dir(inv, [*self.groups, "all", "ungrouped"], "group_vars")
        self.vars_dir(inv, self.hosts, "host_vars")
        if rng.random() < 0.2:
            sources.append(f"{rng.choice(self.hosts)},hl{self.seed},")
        if rng.random() < 0.15:  # play-adjacent vars: the ad-hoc `ansible` reads them from cwd
            self.vars_dir(root / "cwd", [*self.groups, "all"], "group_vars")
        if rng.random() < 0.2:
            rng.shuffle(sources)
        config = "[defaults]\nhash_behaviour = merge\n" if rng.random() < 0.2 else ""
        extra = rng.sample(EXTRA, k=rng.randint(1, 2)) if rng.random() < 0.3 else []
        return Layout(root, sources, extra, config, self.runtime)


def _yaml(piece: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for group, body in piece.items():
        entry: dict[str, Any] = {}
        if body["hosts"]:
            entry["hosts"] = {h: (v or None) for h, v in body["hosts"].items()}
        if body["children"]:
            entry["children"] = dict.fromkeys(body["children"])
        if body["vars"]:
            entry["vars"] = body["vars"]
        doc[group] = entry or None
    return doc


def _ini(piece: dict[str, Any]) -> str:
    lines: list[str] = []
    for group, body in piece.items():
        lines.append(f"[{group}]")
        for host, values in body["hosts"].items():
            lines.append(host + "".join(f" {k}={_ini_value(v)}" for k, v in values.items()
                                        if not isinstance(v, dict | list)))
        if body["children"]:
            lines.append(f"[{group}:children]")
            lines += body["children"]
            # declared here (an INI child no source defined before is refused)
            lines += [f"[{child}]" for child in body["children"] if child not in piece]
        if body["vars"]:
            lines.append(f"[{group}:vars]")
            lines += [f"{k}={v}" if isinstance(v, str) else f"{k}={v!r}"
                      for k, v in body["vars"].items()]
    return "\n".join(lines) + "\n"


def _script(piece: dict[str, Any], *, meta: bool) -> str:
    groups: dict[str, Any] = {}
    hostvars: dict[str, Any] = {}
    for group, body in piece.items():
        entry: dict[str, Any] = {"hosts": list(body["hosts"])}
        if body["children"]:
            entry["children"] = body["children"]
        if body["vars"]:
            entry["vars"] = body["vars"]
        groups[group] = entry
        for host, values in body["hosts"].items():
            hostvars.setdefault(host, {}).update(values)
    if meta:
        groups["_meta"] = {"hostvars": hostvars}
    return ("#!/usr/bin/env python3\nimport json, sys\n"
            f"GROUPS = {json.dumps(groups)!r}\nHOSTVARS = {json.dumps(hostvars)!r}\n"
            "if sys.argv[1] == '--list':\n    print(GROUPS)\n"
            "else:\n    print(json.dumps(json.loads(HOSTVARS).get(sys.argv[2], {})))\n")


def vault_text(plain: str) -> str:
    """`plain` encrypted as ansible-vault encrypts a file (with VAULT_PASSWORD)."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    lib = VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))])
    encrypted: bytes = lib.encrypt(plain)
    return encrypted.decode()


def layout(seed: int, root: Path) -> Layout:
    """The layout of `seed`, written under `root`."""
    return _Builder(seed, root).build()
