"""Seeded inventory sources that vary the text itself, as people write it.

INI: host-line values bare, quoted, escaped or commented; Python literals of every kind;
`[g:vars]` lines with and without spaces around `=`; comments with `#` and `;`, blank
lines, tabs, CRLF; odd section headers; hosts as ranges, `host:port`, IPv4, IPv6 (bare
and `[v6]:port`), FQDNs and unicode names; groups declared twice, children declared
later. YAML: block and flow style, anchors, aliases and merge keys, ranges as keys,
null/list/string `hosts:`, tags, quoted and non-text keys, several documents, empty
files. JSON: mappings of hosts, and hosts as a list. Extensions vary (none, .txt, .cfg).
About a third of the sources carry malformed text on purpose: both tools must reject them.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass

import yaml

# Host entries as written (INI and YAML keys): ranges, ports, addresses, odd names.
HOSTS = ["web01", "web02", "db-1.example.com", "10.0.0.5", "10.0.0.5:2222", "h:22",
         "2001:db8::1", "[2001:db8::2]:2200", "::1", "127.0.0.1", "localhost", "hôte-ü",
         "web[1:3]", "web[01:03]", "node[a:c]", "rack[1:2]-srv[1:2]", "s[1:9:3].lab",
         "app-[0:1].example.org", "x_y", "x.y", "UPPER", "n1:65535", "db-1.example.com:23",
         "web[1:3]:2022", "10.0.[1:2].1", "2001:db8::[a:c]", "h-", "web02", "web[1:1]",
         "a.b-c_d", "web[2:1]", "münchen.example", "1.2.3", "0", "true", "web", "db",
         "fe80::1%eth0", "h[0:2]x[a:b]", "[2001:db8::4]:22", "WEB01", "web01.", "_h",
         "h[:2]", "[1:2]h", "node[A:C]", "w[9:11]", "10.0.0.256", "h:0", "[::1]:22"]
BAD_HOSTS = ["web01:", "h[1:]", "h[x:3]", "[h]", "h]", "---", "host name", "[2001:db8::3]",
             "h[1:2:0]", "web[01:100]"]
KEYS = ["x", "y", "", "ansible_host", "ansible_port", "ansible_user", "my_var",
        "ansible_connection", "ANSIBLE_HOST", "my-var", "_u", "ünï", "x1", "name", "x",
        "ansible_group_priority", "k.dot", "ansible_ssh_port", "a b"]
# Host-line value texts (shell-split after this): literals, quotes, escapes, comments.
VALUES = ["8080", "-5", "0x1F", "0o17", "017", "1e3", ".5", "1_000", "True", "false",
          "yes", "None", "null", "[1, 2]", "[1,'a']", "{'a': 1}", '{"k":[1,{"z":None}]}',
          "(1,2)", "(1,)", "()", "{1,2}", "'single q'", '"double q"', '"a b"', "a=b",
          "'a=b'", r'"x\"y"', r'"tab\there"', r'"nl\nthere"', r"'\\'", r"a\ b",
          '"{{ x }}"', "'{{ y | default(1) }}'", "ünï", "'ünï'", r'"\u00e9"', "''", '""',
          "x#y", "a;b", "1.5.6", "2001:db8::1", "10.0.0.1", "~", "'1'", '"[1, 2]"',
          "'\"q\"'", "\"'q'\"", "b'x'", "...", "1j", "+3", "True,False", "[", "{'a':}", "-",
          "0777", "1e400", "0b101", "'''triple'''", "'a''b'", "\"'1'\"", "'[1, \"a b\"]'",
          "{'k': (1, 2)}", "-0.0", "'x' # c", "1 #c", "{'a': b'x'}", "u'x'", r"r'\d'", "f'x'",
          "-1e-3", "{}", "[]", "'01'", "00", "0_7", "not_a_var", "$HOME", "%s", "a:b", "@x",
          "\\\\", "'\\n'", '"\\\\n"', "'{\"a\": 1}'", "{'a':1,}", "[1,]", "set()", "1+2",
          "-(1)", "'a' 'b'", "nan", "inf", "'\t'", "(((1)))", "", "'\u00a0x'", "x\u00a0y"]
# Unquoted spaces split a host line's value: fine in [g:vars], malformed on host lines.
SPACED_VALUES = [v for v in VALUES if re.search(r"\s", v) and v[0] not in "'\""
                 and "#" not in v]
HOST_VALUES = [v for v in VALUES if v not in SPACED_VALUES]
BAD_VALUES = ["'unclosed", r"'it\'s'", "x\ty", "some text", "{[1]: 2}", "a ;b"]
# [g:vars] value texts (not shell-split: the rest of the line after the first '=').
VARS_VALUES = [*VALUES, "two words", "a b # not a comment?", "'quoted' trailing",
               "= leading", "x = y", "[1, 2] ; c", "value   ", '"dq" # c', "  spaced  ",
               "'unclosed", r"'it\'s'", '"a" "b"', "x\ty", "some text", "=", "#", ";x",
               "{{ x }}", "a\\", "'ünï' # ü"]
COMMENTS = ["# a comment", "; a comment", "  # indented", "\t; tabbed", "#", ";", "#;#",
            "# [bracket] comment", "; key=value"]
TRAILERS = ["", "", "", " # inline", "\t# tab inline", "  ", "\t", " #", " #x=1",
            "\u00a0", "\u3000", "\x0b", " \u2028", "\x1c"]
BAD_TRAILERS = [" ; semicolon", " ;"]
GROUPS = ["web", "db", "web-servers", "app.tier", "g1", "ünï", "1st", "all", "ungrouped",
          "UPPER", "a_b", "web01", "g1"]
SECTIONS = ["[{g}]", "[{g}:vars]", "[{g}:children]", "[{g}] # c", "[{g}]\t", "  [{g}]",
            "[{g}:hosts]", "[{g}:vars] # c", "[{g}:children]#c", "\t[{g}:vars]  "]
BAD_SECTIONS = ["[{g}] ; c", "[ {g} ]", "[{g}:child]", "[{g}:VARS]", "[{g}]x",
                "[{g}:vars:x]", "[{g}::vars]", "[{g} x]"]
VAR_FORMS = ["{k}={v}", "{k} = {v}", "{k}= {v}", "{k} ={v}", "\t{k}\t=\t{v}",
             "  {k}={v}  ", "{k}=", "={v}"]
BAD_VAR_FORMS = ["{k}: {v}", "{k}"]

YAML_SCALARS = ["1", "'1'", "yes", "no", "on", "null", "~", "1.5", "0x1F", "0o17", "017",
                "2001-01-01", "'{{ x }}'", '"{{ x }}"', "!!str 5", "!!int '7'", "[1, a]",
                "{a: 1}", "ünï", "'a: b'", r'"tab\there"', "|\n      block\n      text",
                ">-\n      folded\n      text", "'''quoted'''", "1_000", ".inf", "-.5", "''",
                "!unsafe '{{ raw }}'", "12:30", "0b101", "+1", "True", "!!float 1",
                "{a: [1, {b: null}]}", "'#not comment'", "x # comment", "\"\\u00e9\"",
                "2001:db8::1", "0.", "1e3", "[]", "{}", "\"\""]
YAML_HOSTS = [*HOSTS, "'0'", "!!str 5", '"web[1:2]"', "'yes'", "\"1.5\""]
BAD_YAML_HOSTS = ["[a, b]", "{a: 1}", "1", "1.5", "yes", "null", "~"]
YAML_GROUPS = [*GROUPS, "'1'", "\"yes\"", "!!str 2"]
BAD_YAML_GROUPS = ["1", "yes", "null", "[a]"]


@dataclass(frozen=True)
class Lexical:
    """One generated source: its file name, bytes and the patterns to ask of it."""

    name: str
    data: bytes
    patterns: tuple[str, ...]


class _Gen:
    """A random source with a dial for malformed text (`noise`: the chance of each bad pick)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)  # noqa: S311 - reproducible fixtures, not secrets
        self.noise = 0.06 if self.rng.random() < 0.35 else 0.0
        self.anchors: list[str] = []
        self.tail: list[str] = []  # lines the INI source ends with
        self.groups_anchored: list[str] = []

    def pick(self, good: list[str], bad: list[str] | None = None) -> str:
        if bad and self.rng.random() < self.noise:
            return self.rng.choice(bad)
        return self.rng.choice(good)

    def patterns(self) -> list[str]:
        return ["all", "ungrouped", self.rng.choice(GROUPS),
                self.rng.choice(["web*", "~^[wd]", "*.*", "web[0]", "all:!web", "*:&g1",
                                 "~[0-9]", "web[1:]", "10.0.*", "2001:db8::1", "h*,db",
                                 "web[-1]", "*:!db", "localhost", "127.0.0.1", "ungrouped[0]",
                                 "hôte-ü", "web1,web2", "~^(h|x)", "node*:&all", "db-1*",
                                 "!web", "&web", "s*.lab", "2001:db8::b", "all[1:2]",
                                 "web[01:03]", "ünï", "web:&db:!g1", "*.example.*"])]

    # INI

    def host_line(self) -> str:
        parts = [self.pick(HOSTS, BAD_HOSTS)]
        for _ in range(self.rng.choice([0, 0, 1, 1, 2, 3])):
            value = self.pick(HOST_VALUES, BAD_VALUES + SPACED_VALUES)
            parts.append(value if self.rng.random() < self.noise / 2
                         else f"{self.pick(KEYS)}={value}")
        sep = self.rng.choice([" ", " ", "  ", "\t"])
        return sep.join(parts) + self.pick(TRAILERS, BAD_TRAILERS)

    def ini(self) -> str:
        rng = self.rng
        lines = [self.host_line() for _ in range(rng.randint(0, 2))]
        declared: list[str] = []
        for _ in range(rng.randint(1, 7)):
            group = rng.choice(GROUPS)
            form = self.pick(SECTIONS[:3] * 3 + SECTIONS, BAD_SECTIONS)
            kind = "vars" if ":vars" in form else "children" if ":children" in form else "hosts"
            if kind == "vars" and group not in declared and rng.random() >= self.noise:
                later = rng.random() < 0.3  # declared after its vars, or before
                if not later:
                    lines.append(f"[{group}]")
                else:
                    self.tail.append(f"[{group}]")
            if kind == "children" and group == "ungrouped" and rng.random() < 0.7:
                group = "g1"  # `ungrouped` with children, but not too often
            lines.append(form.format(g=group))
            declared.append(group)
            for _ in range(rng.randint(0, 4)):
                roll = rng.random()
                if roll < 0.12:
                    lines.append(rng.choice(COMMENTS))
                elif roll < 0.2:
                    lines.append(rng.choice(["", " ", "\t"]))
                elif kind == "hosts":
                    lines.append(rng.choice(["", "", " ", "\t"]) + self.host_line())
                elif kind == "vars":
                    lines.append(self.pick(VAR_FORMS, BAD_VAR_FORMS).format(
                        k=self.pick(KEYS), v=self.pick(VARS_VALUES)))
                else:
                    child = self.pick([*(d for d in declared if d != "all"), "later"],
                                      ["never", "a b", "x:y", *GROUPS])
                    lines.append(("later" if child == group else child)
                                 + self.pick(TRAILERS[:6]))
            if kind == "children":
                lines += ["[later]", self.host_line()]
        lines += self.tail
        eol = rng.choice(["\r\n", "\r", "\x85", "\u2028", "\x0c"]) if rng.random() < 0.12 \
            else "\n"
        return eol.join(lines) + (eol if rng.random() < 0.9 else "")

    # YAML

    def key(self, good: list[str], bad: list[str] | None = None, *, flow: bool = False) -> str:
        key = self.pick(good, bad)
        if not key:
            return "''"
        if key in (bad or []) or key.startswith(("'", '"', "!")):
            return key  # written as YAML already
        if key.startswith(("[", "*", "&", "{", "-", "?", "|", ">", "%", "@", "`", "!")) \
                or ": " in key or key.endswith(":") or "#" in key \
                or (flow and re.search(r"[][{},]", key)) \
                or not isinstance(next(iter(yaml.safe_load(f"{key}: 1"))), str):
            return json.dumps(key, ensure_ascii=False)
        if self.rng.random() < 0.15:  # quoted though it need not be
            quote = self.rng.choice(["'", '"'])
            return f"{quote}{key}{quote}"
        return key

    def scalar(self, indent: str = "") -> str:
        roll = self.rng.random()
        if roll < 0.08:
            anchor = f"a{len(self.anchors)}"
            self.anchors.append(anchor)
            return f"&{anchor} {self.rng.choice(YAML_SCALARS[:12])}"
        scalars = [a for a in self.anchors if a.startswith("a")]
        if roll < 0.14 and scalars:  # never a mapping's own anchor: a recursive alias
            return "*" + self.rng.choice(scalars)
        value = self.rng.choice(YAML_SCALARS)
        return value.replace("\n      ", "\n  " + indent) if value[0] in "|>" else value

    def yaml_hosts(self, indent: str) -> list[str]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.06:
            return [f"{indent}hosts:" + self.pick(["", " ~", " null", " web01", " 'web[1:2]'",
                                                   " {}"], [" [a, b]", " 5", " []"])]
        if roll < 0.2:  # flow style
            items = ", ".join(self.key(YAML_HOSTS, BAD_YAML_HOSTS, flow=True)
                              + rng.choice(["", ": {x: 1}", ": {}", ": ~", ": {'y': [1]}"])
                              for _ in range(rng.randint(1, 3)))
            return [f"{indent}hosts: {{{items}}}"]
        out = [f"{indent}hosts:"]
        for _ in range(rng.randint(1, 3)):
            key = self.key(YAML_HOSTS, BAD_YAML_HOSTS)
            style = rng.random()
            if style < 0.4:
                out.append(f"{indent}  {key}:")
            elif style < 0.5:
                out.append(f"{indent}  {key}: " + self.pick(["~", "{}", "{x: 1}", "''"],
                                                             ["[]", "x", "1"]))
            elif style < 0.62:
                anchor = f"h{len(self.anchors)}"
                self.anchors.append(anchor)
                out += [f"{indent}  {key}: &{anchor}",
                        f"{indent}    {rng.choice(KEYS[:6])}: {self.scalar(indent + '    ')}",
                        f"{indent}    {MERGED_OVER}: 0"]
            elif style < 0.75 and any(a.startswith("h") for a in self.anchors):
                anchor = rng.choice([a for a in self.anchors if a.startswith("h")])
                out += [f"{indent}  {key}:", f"{indent}    <<: *{anchor}",
                        f"{indent}    {MERGED_OVER}: {self.scalar(indent + '    ')}"]
            else:
                out.append(f"{indent}  {key}:")
                out += [f"{indent}    {self.key(KEYS)}: {self.scalar(indent + '    ')}"
                        for _ in range(rng.randint(1, 2))]
        return out

    def yaml_group(self, name: str, indent: str, path: tuple[str, ...]) -> list[str]:
        rng = self.rng
        if rng.random() < 0.1:
            return [f"{indent}{name}:" + self.pick(["", " ~", " {}"], [" []", " x"])]
        out = [f"{indent}{name}:"]
        inner = indent + "  "
        for section in rng.sample(["hosts", "vars", "children", "other"], k=rng.randint(1, 3)):
            if section == "hosts":
                out += self.yaml_hosts(inner)
            elif section == "vars":
                if rng.random() < 0.15:
                    out.append(f"{inner}vars:" + self.pick(["", " ~", " {}"], [" [x]", " text"]))
                else:
                    out.append(f"{inner}vars:")
                    out += [f"{inner}  {self.key(KEYS)}: {self.scalar(inner + '  ')}"
                            for _ in range(rng.randint(1, 3))]
            elif section == "children":
                if len(path) > 3 or rng.random() < 0.1:
                    out.append(f"{inner}children:" + self.pick(["", " ~"], [" [a]", " x"]))
                else:
                    out.append(f"{inner}children:")
                    for _ in range(rng.randint(1, 2)):
                        kid = self.key([*YAML_GROUPS, "deep", "deeper"], BAD_YAML_GROUPS)
                        if kid in (*path, name) and rng.random() >= self.noise:
                            kid = f"deep{len(path)}"  # no cycle, mostly
                        out += self.yaml_group(kid, inner + "  ", (*path, name))
            elif rng.random() < 0.5 or self.noise:
                out.append(f"{inner}{rng.choice(['hostz', 'var', 'meta'])}: "
                           f"{self.scalar(inner)}")
        return out

    def yaml(self) -> str:
        rng = self.rng
        if rng.random() < 0.03:
            return rng.choice(["", "\n", "# only a comment\n", "---\n", "~\n", "{}\n"])
        lines: list[str] = []
        if rng.random() < 0.2:
            lines.append(rng.choice(["---", "# leading comment", "%YAML 1.1\n---"]))
        for _ in range(rng.randint(1, 3)):
            name = self.key(YAML_GROUPS, BAD_YAML_GROUPS)
            if rng.random() < 0.1 and self.groups_anchored:
                lines.append(f"{name}: *{rng.choice(self.groups_anchored)}")  # a shared body
                continue
            body = self.yaml_group(name, "", ())
            if rng.random() < 0.1 and len(body) > 1 and not body[0].rstrip().endswith(":"):
                pass
            elif rng.random() < 0.1 and len(body) > 1:
                anchor = f"g{len(self.groups_anchored)}"
                self.groups_anchored.append(anchor)
                body[0] = f"{body[0]} &{anchor}"
            lines += body
            if rng.random() < 0.1:
                lines.append(rng.choice(["# comment", "", "  # indented comment", "..."]))
        if rng.random() < self.noise * 3:
            lines += ["---", "other:", "  hosts:", "    z1:"]
        if rng.random() < self.noise * 2:
            lines.append(rng.choice(["\tbad: tab", "- item", "x: [unclosed", "? [a]\n: 1"]))
        eol = "\r\n" if rng.random() < 0.1 else "\n"
        return eol.join(lines) + eol

    def json(self) -> str:
        rng = self.rng
        doc: dict[str, object] = {}
        for group in rng.sample(GROUPS, k=rng.randint(1, 3)):
            hosts = rng.sample(HOSTS, k=rng.randint(0, 2))
            if rng.random() < self.noise * 5:
                # hosts as --list writes them, a list: Ansible refuses that (with `_meta`,
                # fleetcheck reads the file as a saved --list: a documented difference)
                doc[group] = {"hosts": hosts, "vars": {"x": 1}}
            else:
                doc[group] = {"hosts": {h: rng.choice([None, {"x": rng.choice(
                    [1, "a", None, [1], {"k": True}, "{{ x }}", "ü"])}]) for h in hosts}}
        return json.dumps(doc, ensure_ascii=rng.random() < 0.5, indent=rng.choice([None, 2]))


NAMES = {"ini": ["hosts.ini", "hosts", "inventory.txt", "inv.cfg", "hosts.INI", "hosts.ini"],
         "yaml": ["hosts.yml", "hosts.yaml", "hosts", "hosts.yml", "hosts.yaml", "hosts"],
         "json": ["inv.json", "inv", "inv.yml"]}


def lexical(seed: int) -> Lexical:
    """The source of `seed` (same seed, same bytes)."""
    gen = _Gen(seed)
    kind = gen.rng.choices(["ini", "yaml", "json"], weights=[6, 4, 1])[0]
    text = {"ini": gen.ini, "yaml": gen.yaml, "json": gen.json}[kind]()
    bom = b"\xef\xbb\xbf" if gen.rng.random() < 0.03 else b""  # as some Windows editors save
    return Lexical(gen.rng.choice(NAMES[kind]), bom + text.encode("utf-8"),
                   tuple(gen.patterns()))


# Each warning as (kind, subject): Ansible's words and fleetcheck's, matched case-blind.
_KINDS = [
    (r"invalid characters were found in group names?", "group-chars", 0),
    (r"accepting inventory variable with invalid name '(.*?)'", "var-name", 1),
    (r"skipping '(.*?)' as this is not a valid group definition", "bad-group", 1),
    (r"skipping key \((.*?)\) in group \((.*?)\)", "not-mapping", 1),
    (r"skipping unexpected key \((.*?)\) in group \((.*?)\)", "unexpected-key", 1),
    (r"found duplicate mapping key '(.*?)'", "duplicate-key", 1),
    (r"found both group and host with same name: (\S+)", "host-is-group", 1),
    (r"duplicate localhost-like entry was found \((.*?)\)", "localhost-twice", 1),
    (r"found variable using reserved name '(.*?)'", "reserved-name", 1),
    (r"non utf-8 encoded data replaced", "non-utf8", 0),
    (r"use of the yaml `(.*?)` tag is deprecated", "yaml-tag", 1),
]
# The key a host overrides after merging (`<<: *h0`) an anchored mapping that holds it:
# Ansible calls that a duplicate key and warns; fleetcheck (YAML 1.1) does not.
MERGED_OVER = "over"
# Said by one tool only, by design (docs/inventory.md lists fleetcheck's extra warnings).
_ONE_SIDED = ("deprecation warnings can be disabled", "yields no hosts",
              "provided hosts list is empty", "instead, as ansible-core does")


def warning_kinds(stderr: str, prefix: str) -> set[tuple[str, str]]:
    """The kinds of the warnings in `stderr`, each starting with `prefix` (wrapped lines joined)."""
    text = " ".join(stderr.split())
    found: set[tuple[str, str]] = set()
    for chunk in text.split(prefix)[1:]:
        if any(phrase in chunk.lower() for phrase in _ONE_SIDED) \
                or f"duplicate mapping key '{MERGED_OVER}'" in chunk:
            continue
        for pattern, kind, group in _KINDS:
            m = re.search(pattern, chunk, re.I)
            if m:
                found.add((kind, m.group(group) if group else ""))
                break
        else:
            found.add(("other", chunk.strip()[:80]))
    return found
