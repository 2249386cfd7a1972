"""Invalid policies and waivers, each wrong in one documented way at a known line.

`bad_case(seed)` takes a generated valid case, breaks one policy or waiver file as
docs/policies.md lists errors (unknown keys, values of the wrong kind, duplicates, rules
that can never match, waivers covering everything or dated wrongly...) and says which
file and which lines the error may be reported at. `check_bad(...)` runs `validate` and
`scan` on it: exit 2, a one-line error naming that file and line, and no host contacted
(the inventory's one host is an SSH endpoint the test listens on and counts).
"""

from __future__ import annotations

import datetime as dt
import random
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import run_cli
from tests.policy.polgen import gen_case, gen_rule

MARK = "zz-marker"  # a value no generated file holds: finds the line a mutation wrote


@dataclass(frozen=True)
class Bad:
    """A broken input: which file, its text, the lines an error may name, what is wrong."""

    file: str  # the stem of the broken file
    text: str
    lines: frozenset[int]
    what: str


def _line_of(text: str, needle: str, nth: int = 0) -> int:
    hits = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return hits[nth]


def _after(text: str, start: str, needle: str) -> int:
    """The first line at or after the one holding `start` whose key is `needle`."""
    first = _line_of(text, start)
    lines = text.splitlines()
    return next(i + 1 for i in range(first - 1, len(lines))
                if lines[i].lstrip("- ").startswith(needle))


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False)


RuleBreak = Callable[[dict[str, Any]], tuple[str, str]]  # mutate a rule; (needle, what)


def _key(key: str, value: Any, what: str) -> RuleBreak:
    def brk(rule: dict[str, Any]) -> tuple[str, str]:
        rule[key] = value
        return (f"{key}:", what)
    return brk


RULE_BREAKS: tuple[RuleBreak, ...] = (
    _key("prot", "tcp", "unknown key"),
    _key("port", 70000, "port out of range"),
    _key("port", "9000-8000", "backwards range"),
    _key("proto", "tcpp", "unknown protocol"),
    _key("address", "loopbak", "unknown scope"),
    _key("address", "10.0.0.0/33", "bad network"),
    _key("severity", "hgh", "unknown severity"),
    _key("process", "~(ab", "bad regular expression"),
    _key("user", "~[", "bad regular expression"),
    _key("service", "no-such-service-xyz", "unknown service"),
    _key("family", 5, "unknown family"),
    _key("exposure", "everywhere", "unknown exposure"),
    _key("namespace", "pod", "unknown namespace"),
    _key("approved_on", "2030-02-30", "not a date"),
    _key("interface", "0.0.0.0%virbr0", "not a device name"),
    _key("interface", "~veth(", "bad regular expression"),
)


def _policy_bad(rng: random.Random, data: dict[str, Any], stem: str) -> Bad:
    """One policy broken: a rule key, a top-level key, a duplicate id, a rule never matching."""
    roll = rng.random()
    action = rng.choice(("allow", "forbid", "require"))
    rules = data.setdefault(action, [gen_rule(rng, action, f"{action[0]}0")])
    target = rng.randrange(len(rules))
    if roll < 0.5:
        needle, what = rng.choice(RULE_BREAKS)(rules[target])
        text = _dump(data)
        return Bad(stem, text, frozenset({_after(text, f"id: {rules[target]['id']}", needle)}),
                   what)
    if roll < 0.65:
        key, value = rng.choice((("default", "maybe"), ("containers", "sometimes"),
                                 ("stray_severity", "urgent"), ("hostz", "all"),
                                 ("review_every", "fortnightly")))
        data[key] = value
        text = _dump(data)
        return Bad(stem, text, frozenset({_line_of(text, f"{key}:")}), f"bad {key}")
    if roll < 0.75:
        rules.append({"id": rules[target]["id"], "port": 1})
        text = _dump(data)
        return Bad(stem, text, frozenset({_line_of(text, f"id: {rules[target]['id']}", 1)}),
                   "duplicate rule id")
    if roll < 0.85 and action != "allow":
        rules.append({"id": MARK, "severity": "low"})
        text = _dump(data)
        return Bad(stem, text, frozenset({_line_of(text, MARK)}), "no conditions")
    nevers: list[dict[str, Any]] = [
        {"proto": "udp", "service": "ssh"}, {"family": 4, "address": "::1"},
        {"dual_stack": True, "address": "10.0.0.5"},
        {"interface": "lo", "address": ["wildcard", "public"]}]  # bound to lo is loopback
    if action == "allow":  # an allow must cover both families of a dual-stack socket
        nevers.append({"dual_stack": True, "family": 6})
    never = rng.choice(nevers)
    rules.append({"id": MARK, **never})
    text = _dump(data)
    line = _line_of(text, MARK)
    return Bad(stem, text, frozenset(range(line, line + len(never) + 1)), f"never {never}")


def _waiver_bad(rng: random.Random, items: list[dict[str, Any]], stem: str,
                today: dt.date) -> Bad:
    """One waiver broken: a required key missing, covering everything, dated wrongly..."""
    w = items[rng.randrange(len(items))]
    w["id"] = MARK
    roll = rng.randrange(9)
    what = ""
    key = ""
    if roll == 0:
        key = rng.choice(("reason", "owner", "approved_by", "created", "expires", "hosts"))
        del w[key]
        what, key = f"missing {key}", ""
    elif roll == 1:
        for k in ("port", "service", "process", "rule", "finding", "container", "image",
                  "pod", "k8s_namespace"):
            w.pop(k, None)
        what = "covers everything"
    elif roll == 2:
        w["created"], w["expires"] = "2030-05-20", "2030-05-10"
        what, key = "created after it expires", "created"
    elif roll == 3:
        w["created"] = (today + dt.timedelta(days=2)).isoformat()
        w["expires"] = (today + dt.timedelta(days=30)).isoformat()
        what, key = "created in the future", "created"
    elif roll == 4:
        w["rule"] = "nosuchpolicy/r"
        what, key = "unknown rule", "rule"
    elif roll == 5:
        w["expires"] = "2030-02-30"
        what, key = "not a date", "expires"
    elif roll == 6:
        w["kind"] = "strayy"
        what, key = "unknown kind", "kind"
    elif roll == 7:
        items.append({**w})
        text = _dump({"waivers": items})
        return Bad(stem, text, frozenset({_line_of(text, MARK, 1)}), "duplicate waiver id")
    else:
        w["ownr"] = "x"
        what, key = "unknown key", "ownr"
    text = _dump({"waivers": items})
    line = _after(text, MARK, f"{key}:") if key else _line_of(text, MARK)
    return Bad(stem, text, frozenset({line}), what)


def bad_case(seed: int) -> tuple[Any, Bad]:
    """A generated case with one of its files broken."""
    rng = random.Random(seed * 7919 + 1)  # noqa: S311 - a replayable draw, no secret
    case = gen_case(seed)
    if rng.random() < 0.15:
        return case, _text_bad(rng, case)
    if case.waivers and rng.random() < 0.4:
        i = rng.randrange(len(case.waivers))
        stem, items = case.waivers[i]
        return case, _waiver_bad(rng, items, stem, case.today)
    i = rng.randrange(len(case.policies))
    stem, data = case.policies[i]
    return case, _policy_bad(rng, data, stem)


# validate: 'FILE:LINE:COL: error: ...'; scan: 'fleetcheck: error: FILE:LINE:COL: ...'
def _text_bad(rng: random.Random, case: Any) -> Bad:
    """A policy file broken as text: a key written twice, YAML that does not parse, an
    empty file, a list instead of a mapping, or the name of a policy loaded before it."""
    i = rng.randrange(len(case.policies))
    stem, data = case.policies[i]
    data = {"default": "deny", **data}
    text = _dump(data)
    roll = rng.randrange(5)
    if roll == 0:
        text += "default: allow\n"
        return Bad(stem, text, frozenset({len(text.splitlines())}), "key written twice")
    if roll == 1:
        text += f"description: [{MARK}\n"
        n = len(text.splitlines())
        return Bad(stem, text, frozenset({n, n + 1}), "YAML that does not parse")
    if roll == 2:
        return Bad(stem, "", frozenset({1}), "empty file")
    if roll == 3:
        return Bad(stem, _dump([data]), frozenset({1}), "a list, not a mapping")
    first = case.policies[0]
    if i == 0:
        return _text_bad(rng, case) if len(case.policies) > 1 else \
            Bad(stem, "", frozenset({1}), "empty file")
    name = str(first[1].get("name", first[0]))
    text = _dump({**data, "name": name})
    return Bad(stem, text, frozenset({_line_of(text, "name:")}), "duplicate policy name")


_ERROR = re.compile(r"^(?:fleetcheck: error: )?(?P<path>[^\s:][^:]*):(?P<line>\d+)(?::\d+)?:"
                    r"(?: error:)? ")


def check_bad(seed: int, root: Path) -> list[str]:
    """validate and scan on the broken case: exit 2, a located one-line error, no contact."""
    case, bad = bad_case(seed)
    root.mkdir(parents=True, exist_ok=True)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.setblocking(False)
    port = server.getsockname()[1]
    (root / "inv.yml").write_text(_dump({"all": {"hosts": {"h1": {
        "ansible_host": "127.0.0.1", "ansible_port": port}}, "children": {
        g: {"hosts": {"h1": None}} for g in ("web", "db", "edge")}}}))
    files = []
    for stem, data in case.policies:
        (root / f"{stem}.yml").write_text(bad.text if stem == bad.file else _dump(data))
        files += ["-p", f"{stem}.yml"]
    for stem, items in case.waivers:
        (root / f"{stem}.yml").write_text(bad.text if stem == bad.file
                                          else _dump({"waivers": items}))
        files += ["-w", f"{stem}.yml"]
    common = ["-i", "inv.yml", *files, "--today", case.today.isoformat()]
    diffs = []
    try:
        for cmd in ("validate", "scan"):
            res = run_cli([cmd, *common], cwd=root)
            text = res.out if cmd == "validate" else res.err
            errors = [m for m in map(_ERROR.match, text.splitlines()) if m]
            here = [m for m in errors if m.group("path") == f"{bad.file}.yml"
                    and int(m.group("line")) in bad.lines]
            if res.code != 2 or not here:
                diffs.append(f"{cmd} ({bad.what}) exit {res.code}, wanted {bad.file}.yml:"
                             f"{sorted(bad.lines)}: {text.strip()[:400]}")
            try:
                server.accept()[0].close()
                diffs.append(f"{cmd} ({bad.what}) contacted the host")
            except BlockingIOError:
                pass
    finally:
        server.close()
    return diffs
