"""Waiver files: YAML in, validated `Waiver`s out; a malformed file never waives anything."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.model import FindingKind
from fleetcheck.policy import fields
from fleetcheck.policy.match import Match
from fleetcheck.policy.problems import Problems, strictly, unknown_keys
from fleetcheck.policy.waivers import Waiver
from fleetcheck.words import closest, did_you_mean
from fleetcheck.yamlsrc import LocatedDict, LocatedList, Mark, load_file, load_text

FILE_KEYS = ("waivers",)
WAIVER_KEYS = ("id", "hosts", "proto", "port", "service", "process", "kind", "rule", "finding",
               "namespace", "container", "image", "pod", "k8s_namespace", "exposure",
               "reason", "ticket", "owner", "approved_by", "created", "expires",
               "justification", "reviewed_on")
REQUIRED = ("id", "hosts", "reason", "owner", "approved_by", "created", "expires")
# A waiver must name at least one of these: proto and kind alone would waive too much.
NARROWING = ("port", "service", "process", "rule", "finding", "container", "image", "pod",
             "k8s_namespace")
_FINDING_ID = re.compile(r"^FC-[0-9a-f]{12}$")


def load_waivers(paths: Sequence[str | Path]) -> list[Waiver]:
    """Load waiver files in order; the first problem raises InputError."""
    return strictly(lambda problems: collect_waivers(paths, problems))


def collect_waivers(paths: Sequence[str | Path], problems: Problems) -> list[Waiver]:
    """Load every waiver file, recording each problem; ids must be unique across files."""
    out: list[Waiver] = []
    seen: dict[str, Mark] = {}
    for path in paths:
        out += _load_file(str(path), problems, seen=seen)
    return out


def waivers_from_text(text: str, path: str = "<waivers>") -> list[Waiver]:
    """Waivers from YAML text (errors name `path`); InputError for the first problem."""
    return strictly(lambda problems: _load_file(path, problems, text, seen={}))


def _load_file(path: str, problems: Problems, text: str | None = None, *,
               seen: dict[str, Mark]) -> list[Waiver]:
    """The file's waivers; `seen` (id -> where first written, across files) finds duplicates,
    counting the ids of waivers that have other problems too."""
    try:
        data = load_file(path) if text is None else load_text(text, path)
    except InputError as exc:
        problems.add(exc)
        return []
    start = Mark(path, 1, 1)
    if data is None:
        problems.error(start, "waiver file is empty (expected a mapping with a 'waivers' list)")
        return []
    if not isinstance(data, LocatedDict):
        problems.error(start, "a waiver file must be a mapping with a 'waivers' list")
        return []
    if not unknown_keys(data, FILE_KEYS, "waiver file", problems):
        return []
    items = data.get("waivers")
    if not isinstance(items, LocatedList):
        where = data.value_mark("waivers") if "waivers" in data else start
        problems.error(where, "'waivers' must be a list of waivers")
        return []
    if not items:
        problems.warn(data.value_mark("waivers"), "waiver file lists no waivers")
    out = []
    for item, mark in zip(items, items.marks, strict=True):
        if not isinstance(item, LocatedDict):
            problems.error(mark, "each waiver must be a mapping with an 'id'")
            continue
        waiver = _waiver(item, mark, path, problems)
        waiver_id = waiver.id if waiver is not None else fields.written_id(item)
        first = seen.get(waiver_id) if waiver_id is not None else None
        if first is not None:
            problems.error(mark, f"duplicate waiver id {waiver_id!r} (first defined at "
                           f"{first.path}:{first.line})")
            continue
        if waiver_id is not None:
            seen[waiver_id] = mark
        if waiver is not None:
            out.append(waiver)
    return out


def _waiver(item: LocatedDict, mark: Mark, path: str, problems: Problems) -> Waiver | None:
    start = problems.error_count  # a warning leaves it usable
    unknown_keys(item, WAIVER_KEYS, "waiver", problems)
    v: dict[str, Any] = {key: fields.field(item, key, parse, problems)[1]
                         for key, parse in _PARSERS.items()}
    label = f"waiver {v['id']!r}" if v["id"] else "waiver"
    # A misspelt required key is reported once, as the unknown key with its did-you-mean.
    typos = {closest(str(key), WAIVER_KEYS) for key in item if key not in WAIVER_KEYS}
    missing = [k for k in REQUIRED if k not in item and k not in typos]
    if missing:
        problems.error(mark, f"{label} lacks {', '.join(repr(k) for k in missing)} "
                       "(every waiver needs an id, hosts, reason, owner, approved_by, "
                       "created and expires)")
    elif not typos and not any(k in item for k in NARROWING):
        problems.error(mark, f"{label} would cover every finding on its hosts: name a port, "
                       "service, process, rule, finding, container, image, pod or "
                       "k8s_namespace")
    if problems.error_count > start:
        return None
    if v["created"] > v["expires"]:
        problems.error(item.value_mark("created"), f"{label} is created "
                       f"{v['created'].isoformat()}, after it expires "
                       f"({v['expires'].isoformat()})")
        return None
    service = v["service"]
    return Waiver(
        id=v["id"], reason=v["reason"], owner=v["owner"], approved_by=v["approved_by"],
        created=v["created"], expires=v["expires"],
        hosts=None if v["hosts"] in ("all", "*") else v["hosts"], ticket=v["ticket"],
        match=Match(protos=v["proto"], ports=v["port"],
                    services=service[0] if service else None,
                    service_ports=service[1] if service else None, processes=v["process"],
                    namespaces=v["namespace"], containers=v["container"], images=v["image"],
                    pods=v["pod"], k8s_namespaces=v["k8s_namespace"],
                    exposures=v["exposure"]),
        kinds=v["kind"], rules=v["rule"], findings=v["finding"],
        justification=v["justification"], reviewed_on=v["reviewed_on"],
        path=path, where=mark, value_marks=dict(item.value_marks),
    )


def _kinds(value: Any, mark: Mark) -> frozenset[FindingKind]:
    words = [k.value for k in FindingKind]
    out = set()
    for v in fields.as_list(value):
        if str(v) not in words:
            raise mark.error(f"unknown finding kind {v!r} (expected one of {', '.join(words)})"
                             f"{did_you_mean(str(v), words)}")
        out.add(FindingKind(str(v)))
    if not out:  # an empty list would quietly make the waiver cover nothing
        raise mark.error("kind list is empty")
    return frozenset(out)


def _rules(value: Any, mark: Mark) -> Any:
    specs = fields.text_specs(value, mark)
    for s in specs:
        if "/" not in s.text:
            raise mark.error(f"rule must be written 'policy/rule-id', not {s.text!r}")
    return specs


def _findings(value: Any, mark: Mark) -> frozenset[str]:
    out = set()
    for v in fields.as_list(value):
        if not isinstance(v, str) or not _FINDING_ID.match(v):
            raise mark.error(f"finding must be a finding id such as 'FC-0123456789ab', not {v!r}")
        out.add(v)
    if not out:
        raise mark.error("finding list is empty")
    return frozenset(out)


_PARSERS: dict[str, Any] = {
    "id": fields.ident,
    "hosts": fields.hosts,
    "reason": fields.text,
    "ticket": fields.text,
    "owner": fields.text,
    "approved_by": fields.text,
    "created": fields.date,
    "expires": fields.date,
    "proto": fields.protos,
    "port": fields.ports,
    "service": fields.service_names,
    "process": fields.text_specs,
    "kind": _kinds,
    "rule": _rules,
    "finding": _findings,
    "justification": fields.text,
    "reviewed_on": fields.date,
    **fields.PLACE_PARSERS,
}
