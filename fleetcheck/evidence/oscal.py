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
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

from fleetcheck.evidence.oscal_host import (
    INVENTORY,
    NS,
    HostParts,
    Ids,
    Props,
    block,
    prop,
    props,
    record,
    rows,
    text,
)
from fleetcheck.model import HostResult, RunResult, WaiverRecord
from fleetcheck.render import pretty, view
from fleetcheck.render.options import RenderOptions

OSCAL_VERSION = "1.1.2"
__all__ = ["NS", "OSCAL_VERSION", "document", "render", "render_chunks"]


def _prop(name: str, value: object, ns: bool = True) -> pretty.Row:
    """{"name": name, "value": value (`text`), "ns": NS} (no "ns": `ns` false), written."""
    return pretty.Row(prop(name, value, ns))


def _record(key: str, value: str) -> pretty.Row:
    """{key: value}, written."""
    return pretty.Row(record(key, value))


def _props(pairs: Iterable[tuple[str, object]]) -> list[pretty.Row]:
    return [pretty.Row(p) for p in props(pairs)]


def _day(date: str, end: bool = False) -> str:
    """A waiver date as an OSCAL date-time: the start of the day, or (for an end) its last
    second, in UTC."""
    d = dt.date.fromisoformat(date)
    return f"{d.isoformat()}T{'23:59:59' if end else '00:00:00'}Z"


def _inventory_item(ids: Ids, shared: Props, h: HostResult) -> pretty.Block:
    addr = h.address
    kind = "ipv6-address" if ":" in addr else "ipv4-address" \
        if re.fullmatch(r"[0-9.]+", addr) else "fqdn"
    own = [prop("asset-id", h.name, ns=False), prop(kind, addr, ns=False)]
    if h.os:
        own.append(prop("os-name", h.os, ns=False))
    own += shared(INVENTORY, (h.status.value, h.collector, ", ".join(h.groups),
                              ", ".join(h.policies)))
    return block([f'"uuid": "{ids.host(h.name)}"',
                             f'"description": {pretty.string(f"{h.name} ({h.address})")}',
                             rows("props", own)])


def _party(ids: Ids, name: str) -> dict[str, str]:
    return {"uuid": ids("party", name), "type": "person", "name": text(name)}


def _risk(ids: Ids, w: WaiverRecord, observations: list[str]) -> dict[str, Any]:
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
        ended = dt.date.fromisoformat(w.expires)
        after = (ended + dt.timedelta(days=1) if ended < dt.date.max else ended).isoformat()
        entries.append({"uuid": ids("risk-log", w.id, "expired"), "title": "Deviation expired",
                        "start": _day(after), "status-change": "open"})
    out: dict[str, Any] = {
        "uuid": ids("risk", w.id), "title": text(f"Waiver {w.id}"), "description": w.reason,
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


def _resources(ids: Ids, run: RunResult) -> list[dict[str, Any]]:
    plan = {"uuid": ids("resource", "policies"), "title": "fleetcheck policies and waivers",
            "description": "What the run judged against: the policies "
            f"({', '.join(d['name'] for d in run.policy_definitions) or 'none recorded'}) and "
            f"{view.plural(len(run.waivers), 'waiver')}, recorded in the run's JSON report."}
    files = [{"uuid": ids("resource", "input", kind, path), "title": text(path),
              "description": f"{kind} file read by the run",
              "props": [_prop("input-kind", kind)],
              "rlinks": [{"href": quote(path), "hashes": [{"algorithm": "SHA-256",
                                                          "value": digest}]}]}
             for kind, path, digest in view.input_rows(run)]
    return [plan, *files]


def document(run: RunResult) -> dict[str, Any]:
    """The assessment-results document of `run`, as data (what `render` writes, read)."""
    found: dict[str, Any] = json.loads(render(run))
    return found


def _lazy_document(run: RunResult) -> dict[str, Any]:
    """`document(run)` whose observations (the bulk), risks and findings are made as they
    are written (`pretty.iterdumps`): the observations first, which gather the others."""
    ids = Ids(run)
    head = view.headline(run)
    parts = HostParts(ids, run)

    names = sorted({n for w in run.waivers for n in (w.owner, w.approved_by) if n})
    s = run.summary
    result: dict[str, Any] = {
        "uuid": ids("result"),
        "title": text(f"fleetcheck: {head.word}, {view.plural(s.hosts, 'host')}"),
        "description": head.line(),
        "start": run.started_at, "end": run.finished_at,
        "props": _props([("exit-code", s.exit_code), ("hosts", s.hosts),
                         ("compliant", s.compliant), ("noncompliant", s.noncompliant),
                         ("unreachable", s.unreachable), ("errors", s.errors),
                         ("violations", s.violations), ("waived", s.waived),
                         ("fail-on", s.fail_on), ("complete", str(s.complete).lower())]),
        "local-definitions": {"inventory-items": [_inventory_item(ids, parts.shared, h)
                                                  for h in view.sorted_hosts(run)]},
        "reviewed-controls": {
            "description": "Which listeners may, must and must not exist on each host, as "
                           "the fleetcheck policies of this run state them.",
            "control-selections": [{"include-all": {}}]},
        "observations": pretty.Lazy(parts.observations),
    }
    if not run.hosts:  # OSCAL's lists hold one item at least: a run of no host has neither
        del result["local-definitions"], result["observations"]
    if run.waivers:
        result["risks"] = pretty.Lazy(lambda: [_risk(ids, w, parts.waived.get(w.id, []))
                                               for w in run.waivers])
    if any(h.error is not None or h.findings for h in run.hosts):
        result["findings"] = pretty.Lazy(lambda: parts.findings)
    if run.meta.get("warnings"):
        result["remarks"] = "\n".join(f"- {w}" for w in view.warnings(run))
    metadata: dict[str, Any] = {
        "title": text(f"fleetcheck assessment results, run {run.started_at}"),
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
