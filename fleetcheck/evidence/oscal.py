"""The run as an OSCAL assessment-results document (JSON) for GRC tools.

Each host is an inventory item and the subject of its observations; each listener is an
observation; each unwaived finding, and each host that could not be checked, is a finding
whose target is not satisfied; each waiver is a risk whose acceptance (deviation approved,
with its dates and approver) the findings it waived point to. Input files are back-matter
resources with their SHA-256. Every UUID is derived from the run (version 5), so the same
run always gives the same document. Plain JSON: no OSCAL library is needed at run time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from fleetcheck.model import Finding, HostResult, JudgedListener, RunResult, WaiverRecord
from fleetcheck.policy.judge import describe
from fleetcheck.render import pretty, view
from fleetcheck.render.options import RenderOptions

OSCAL_VERSION = "1.1.2"
NS = "urn:fleetcheck"  # the namespace of fleetcheck's own property names
_ROOT = uuid.UUID("6f1c2a52-9d3e-5b4e-8a0c-1f2e3d4c5b6a")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _text(value: object) -> str:
    """One line OSCAL accepts as a property value or title: control characters escaped,
    no whitespace at either end, never empty."""
    text = str(value)
    if not text.isprintable():  # only then can there be a control character
        text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return text.strip() or "-"


class _Ids:
    """Version-5 UUIDs derived from the run and a name, so re-rendering gives the same ids."""

    def __init__(self, run: RunResult) -> None:
        seed = f"{run.started_at}|{run.finished_at}|{run.meta.get('hostname', '')}"
        self.base = uuid.uuid5(_ROOT, seed)
        self._hash = hashlib.sha1(self.base.bytes, usedforsecurity=False)
        self._hosts: dict[str, str] = {}

    def __call__(self, *parts: object) -> str:
        """`str(uuid.uuid5(self.base, name))` of the parts joined, computed as RFC 4122 says
        (a few times cheaper than the uuid module: a document has thousands)."""
        sha = self._hash.copy()
        sha.update("\x1f".join(map(str, parts)).encode())
        b = bytearray(sha.digest()[:16])
        b[6] = b[6] & 0x0F | 0x50  # version 5
        b[8] = b[8] & 0x3F | 0x80  # the RFC 4122 variant
        x = b.hex()
        return f"{x[:8]}-{x[8:12]}-{x[12:16]}-{x[16:20]}-{x[20:]}"

    def host(self, name: str) -> str:
        """The id of host `name` (its inventory item), which each of its parts names."""
        found = self._hosts.get(name)
        if found is None:
            found = self._hosts[name] = self("host", name)
        return found


_NS = f', "ns": {pretty.string(NS)}}}'


def _prop(name: str, value: object, ns: bool = True) -> pretty.Row:
    """{"name": name, "value": value (`_text`), "ns": NS} (no "ns": `ns` false), written."""
    return pretty.Row(f'{{"name": {pretty.string(name)}, "value": {pretty.string(_text(value))}'
                      + (_NS if ns else "}"))


def _record(key: str, value: str) -> pretty.Row:
    """{key: value}, written."""
    return pretty.Row(f"{{{pretty.string(key)}: {pretty.string(value)}}}")


def _props(pairs: Iterable[tuple[str, object]]) -> list[pretty.Row]:
    return [_prop(k, v) for k, v in pairs if v is not None and v != ""]


def _day(date: str, end: bool = False) -> str:
    """A waiver date as an OSCAL date-time: the start of the day, or (for an end) its last
    second, in UTC."""
    d = dt.date.fromisoformat(date)
    return f"{d.isoformat()}T{'23:59:59' if end else '00:00:00'}Z"


def _inventory_item(ids: _Ids, h: HostResult) -> dict[str, Any]:
    props = [_prop("asset-id", h.name, ns=False)]
    addr = h.address
    kind = "ipv6-address" if ":" in addr else "ipv4-address" \
        if re.fullmatch(r"[0-9.]+", addr) else "fqdn"
    props.append(_prop(kind, addr, ns=False))
    if h.os:
        props.append(_prop("os-name", h.os, ns=False))
    props += _props([("status", h.status.value), ("collector", h.collector),
                     ("groups", ", ".join(h.groups)), ("policies", ", ".join(h.policies))])
    return {"uuid": ids.host(h.name), "description": f"{h.name} ({h.address})",
            "props": props}


def _subject(ids: _Ids, h: HostResult) -> list[pretty.Row]:
    return [pretty.Row(f'{{"subject-uuid": "{ids.host(h.name)}", "type": "inventory-item", '
                       f'"title": {pretty.string(_text(h.name))}}}')]


def _listener_observation(ids: _Ids, run: RunResult, h: HostResult,
                          jl: JudgedListener) -> dict[str, Any]:
    li = jl.listener
    verdict = jl.verdict.value + (f" by {jl.rule}" if jl.rule else "")
    return {
        "uuid": ids("listener", h.name, li.proto, li.family, li.address, li.port, li.pid),
        "title": _text(f"{li.proto}/{li.port} on {view.bind_address(li)} ({h.name})"),
        "description": f"{h.name}: {describe(li)}: {verdict}.",
        "props": _props([("proto", li.proto), ("port", li.port), ("address", li.address),
                         ("family", li.family), ("process", li.process), ("pid", li.pid),
                         ("user", li.user), ("verdict", jl.verdict.value), ("rule", jl.rule)]),
        "methods": ["TEST"], "types": ["discovery"], "subjects": _subject(ids, h),
        "relevant-evidence": [_record("description", f"The output of {h.collector or 'the probe'}"
                                      f" on {h.name}, kept in the fleetcheck run record.")],
        "collected": run.finished_at,
    }


def _finding_observation(ids: _Ids, run: RunResult, h: HostResult, f: Finding,
                         ) -> dict[str, Any]:
    """An observation for a finding no listener stands for (missing, overdue review)."""
    return {"uuid": ids("observation", h.name, f.id), "title": _text(f"{f.kind.value} on {h.name}"),
            "description": f.message, "methods": ["TEST"], "types": ["finding"],
            "subjects": _subject(ids, h), "collected": run.finished_at}


def _listener_of(h: HostResult, f: Finding) -> JudgedListener | None:
    return next((jl for jl in h.listeners if (jl.listener.proto, jl.listener.port,
                                              jl.listener.address) == (f.proto, f.port,
                                                                       f.address)), None)


def _finding(ids: _Ids, h: HostResult, f: Finding, observation: str,
             risk: str | None) -> dict[str, Any]:
    port = "any" if f.port is None else f.port
    out: dict[str, Any] = {
        "uuid": ids("finding", h.name, f.id),
        "title": _text(f"{f.kind.value} {f.proto}/{port} on {h.name}"),
        "description": f.message,
        "props": _props([("finding-id", f.id), ("kind", f.kind.value),
                         ("severity", f.severity.label), ("rule", f.rule),
                         ("waived", "true" if f.waived else "false"), ("waiver", f.waiver)]),
        "target": {"type": "objective-id", "target-id": f"fleetcheck-{f.kind.value}",
                   "title": _text(f"fleetcheck {f.kind.value.replace('_', ' ')} check"),
                   "status": {"state": "not-satisfied", "reason": "fail"}},
        "related-observations": [_record("observation-uuid", observation)],
    }
    if risk is not None:
        out["related-risks"] = [_record("risk-uuid", risk)]
    return out


def _party(ids: _Ids, name: str) -> dict[str, str]:
    return {"uuid": ids("party", name), "type": "person", "name": _text(name)}


def _risk(ids: _Ids, w: WaiverRecord, observations: list[str]) -> dict[str, Any]:
    """A waiver as an accepted risk: approved (by whom, when) until it expires."""
    accepted = w.status != "expired"
    entries: list[dict[str, Any]] = []
    if w.created:
        entry: dict[str, Any] = {"uuid": ids("risk-log", w.id, "approved"),
                                 "title": "Deviation approved", "start": _day(w.created),
                                 "status-change": "deviation-approved"}
        if w.expires:
            entry["end"] = _day(w.expires, end=True)
        if w.approved_by:
            entry["logged-by"] = [{"party-uuid": ids("party", w.approved_by)}]
        entries.append(entry)
    if not accepted and w.expires:
        after = (dt.date.fromisoformat(w.expires) + dt.timedelta(days=1)).isoformat()
        entries.append({"uuid": ids("risk-log", w.id, "expired"), "title": "Deviation expired",
                        "start": _day(after), "status-change": "open"})
    out: dict[str, Any] = {
        "uuid": ids("risk", w.id), "title": _text(f"Waiver {w.id}"), "description": w.reason,
        "statement": w.justification or w.reason,
        "props": _props([("waiver-id", w.id), ("waiver-status", w.status),
                         ("owner", w.owner), ("ticket", w.ticket),
                         ("approved-by", w.approved_by), ("hosts", w.hosts),
                         ("scope", view.waiver_scope(w)), ("matched", w.matched)]),
        "status": "deviation-approved" if accepted else "open",
    }
    if w.expires:
        out["deadline"] = _day(w.expires, end=True)
    if entries:
        out["risk-log"] = {"entries": entries}
    if observations:
        out["related-observations"] = [_record("observation-uuid", o) for o in observations]
    return out


def _resources(ids: _Ids, run: RunResult) -> list[dict[str, Any]]:
    plan = {"uuid": ids("resource", "policies"), "title": "fleetcheck policies and waivers",
            "description": "What the run judged against: the policies "
            f"({', '.join(d['name'] for d in run.policy_definitions) or 'none recorded'}) and "
            f"{view.plural(len(run.waivers), 'waiver')}, recorded in the run's JSON report."}
    files = [{"uuid": ids("resource", "input", kind, path), "title": _text(path),
              "description": f"{kind} file read by the run",
              "props": [_prop("input-kind", kind)],
              "rlinks": [{"href": quote(path), "hashes": [{"algorithm": "SHA-256",
                                                          "value": digest}]}]}
             for kind, path, digest in view.input_rows(run)]
    return [plan, *files]


def _host_parts(ids: _Ids, run: RunResult, h: HostResult, findings: list[dict[str, Any]],
                waived_obs: dict[str, list[str]]) -> Iterator[dict[str, Any]]:
    """`h`'s observations; its findings and waived observations go into the two given."""
    listener_obs = {}
    for jl in view.host_listeners(h):
        obs = _listener_observation(ids, run, h, jl)
        listener_obs[id(jl)] = obs["uuid"]
        yield obs
    if h.error is not None:
        obs = {"uuid": ids("unchecked", h.name), "title": _text(f"{h.name} not checked"),
               "description": f"{h.name} could not be checked ({h.error.kind}): "
                              f"{h.error.message}. Nothing is known about its listeners.",
               "methods": ["TEST"], "types": ["finding"], "subjects": _subject(ids, h),
               "collected": run.finished_at}
        yield obs
        findings.append({
            "uuid": ids("finding", h.name, "unchecked"),
            "title": _text(f"{h.name} could not be checked"),
            "description": obs["description"],
            "props": _props([("error-kind", h.error.kind), ("status", h.status.value)]),
            "target": {"type": "objective-id", "target-id": "fleetcheck-checked",
                       "title": "fleetcheck host checked",
                       "status": {"state": "not-satisfied", "reason": "other"}},
            "related-observations": [_record("observation-uuid", obs["uuid"])]})
    for f in sorted(h.findings, key=Finding.sort_key):
        seen = _listener_of(h, f) if f.address is not None else None
        if seen is not None:
            obs_id = listener_obs[id(seen)]
        else:
            obs = _finding_observation(ids, run, h, f)
            yield obs
            obs_id = obs["uuid"]
        if f.waived and f.waiver:
            waived_obs.setdefault(f.waiver, []).append(obs_id)
        findings.append(_finding(ids, h, f, obs_id,
                                 ids("risk", f.waiver) if f.waived and f.waiver else None))


def document(run: RunResult) -> dict[str, Any]:
    """The assessment-results document of `run`, as data (what `render` writes, read)."""
    found: dict[str, Any] = json.loads(render(run))
    return found


def _lazy_document(run: RunResult) -> dict[str, Any]:
    """`document(run)` whose observations (the bulk), risks and findings are made as they
    are written (`pretty.iterdumps`): the observations first, which gather the others."""
    ids = _Ids(run)
    head = view.headline(run)
    findings: list[dict[str, Any]] = []
    waived_obs: dict[str, list[str]] = {}

    def observations() -> Iterator[dict[str, Any]]:
        findings.clear()
        waived_obs.clear()
        for h in view.sorted_hosts(run):
            yield from _host_parts(ids, run, h, findings, waived_obs)

    names = sorted({n for w in run.waivers for n in (w.owner, w.approved_by) if n})
    s = run.summary
    result: dict[str, Any] = {
        "uuid": ids("result"),
        "title": _text(f"fleetcheck: {head.word}, {view.plural(s.hosts, 'host')}"),
        "description": head.line(),
        "start": run.started_at, "end": run.finished_at,
        "props": _props([("exit-code", s.exit_code), ("hosts", s.hosts),
                         ("compliant", s.compliant), ("noncompliant", s.noncompliant),
                         ("unreachable", s.unreachable), ("errors", s.errors),
                         ("violations", s.violations), ("waived", s.waived),
                         ("fail-on", s.fail_on), ("complete", str(s.complete).lower())]),
        "local-definitions": {"inventory-items": [_inventory_item(ids, h)
                                                  for h in view.sorted_hosts(run)]},
        "reviewed-controls": {
            "description": "Which listeners may, must and must not exist on each host, as "
                           "the fleetcheck policies of this run state them.",
            "control-selections": [{"include-all": {}}]},
        "observations": pretty.Lazy(observations),
    }
    if run.waivers:
        result["risks"] = pretty.Lazy(lambda: [_risk(ids, w, waived_obs.get(w.id, []))
                                               for w in run.waivers])
    if any(h.error is not None or h.findings for h in run.hosts):
        result["findings"] = pretty.Lazy(lambda: findings)
    if run.meta.get("warnings"):
        result["remarks"] = "\n".join(f"- {w}" for w in view.warnings(run))
    metadata: dict[str, Any] = {
        "title": _text(f"fleetcheck assessment results, run {run.started_at}"),
        "last-modified": run.finished_at, "version": run.started_at,
        "oscal-version": OSCAL_VERSION,
        "props": _props([("tool", f"fleetcheck {run.tool_version}"),
                         ("run-schema", run.schema),
                         ("run-by", " on ".join(str(run.meta[k]) for k in ("user", "hostname")
                                                if run.meta.get(k)))]),
    }
    if names:
        metadata["parties"] = [_party(ids, n) for n in names]
    plan = ids("resource", "policies")
    return {"assessment-results": {
        "uuid": ids("document"), "metadata": metadata,
        "import-ap": {"href": f"#{plan}",
                      "remarks": "fleetcheck keeps no separate assessment plan: the policies "
                                 "and waivers of the run stand for it (see back-matter)."},
        "results": [result],
        "back-matter": {"resources": _resources(ids, run)},
    }}


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """The document as pretty, key-stable JSON with a trailing newline."""
    del options
    return pretty.dumps(_lazy_document(run), rows=True) + "\n"


def render_chunks(run: RunResult, options: RenderOptions | None = None) -> Iterator[str]:
    """`render(run)` in pieces, for writing into a file without the whole text in memory."""
    del options
    yield from pretty.iterdumps(_lazy_document(run), rows=True)
    yield "\n"
