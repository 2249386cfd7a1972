"""Merge: the shard runs of one plan become the run one process would have made of them.

Shards must agree on what was judged (plan, fleetcheck version, the sha256 of every
inventory, policy and waiver file, --fail-on, the waiver date); any difference, or a host
in two files, is refused naming the files. The merged run is assembled and judged by
`engine.scan.assemble_results` like any other run; a shard with no file leaves its hosts
`not_run` and the run incomplete, never a smaller "compliant" fleet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from fleetcheck.engine.check import unchecked_host
from fleetcheck.engine.scan import assemble_results
from fleetcheck.errors import ErrorKind, InputError
from fleetcheck.frozen import frozen, replace
from fleetcheck.model import HostError, HostResult, RunResult, Severity
from fleetcheck.plan import PlannedHost
from fleetcheck.policy.waivers import WaiverBook, waiver_from_record, waiver_records

# Run metadata a merged run takes over from its shards (the rest is the merge's own).
KEPT_META = ("fail_on", "become", "policies", "host_key_checking", "deadline")
_HOST_KEY_MODES = ("strict", "accept-new", "off")  # weakest last


@frozen
class ShardFile:
    """One shard run and the name its file was given by (for messages)."""

    name: str
    run: RunResult

    @property
    def shard(self) -> dict[str, Any]:
        """The run's `shard` field (checked present by `merge_runs`)."""
        assert self.run.shard is not None
        return self.run.shard

    @property
    def label(self) -> str:
        """'shard 2/4 (fra1)' as messages name it."""
        return _label(int(self.shard["index"]), self.shard)


def merge_runs(files: Sequence[ShardFile], *, started: str | None = None,
               meta: dict[str, Any] | None = None) -> RunResult:
    """One run of every host of the shards' plan; InputError naming the files that disagree."""
    check_compatible(files)
    first = files[0]
    plan_hosts: list[dict[str, Any]] = list(first.shard.get("plan_hosts") or ())
    given = {f.shard["index"]: f for f in files}
    results = _shard_hosts(files, plan_hosts)
    missing = sorted(set(range(1, int(first.shard["count"]) + 1)) - set(given))
    for h in plan_hosts:
        if h["shard"] in missing:
            results.append(_not_merged(h, first.shard))
    book = _waiver_book(first, results)
    orig_waivers = {w.id: w for w in first.run.waivers}
    warnings: list[str] = []
    for f in files:
        own = set(waiver_records(book.waivers, f.run.hosts, book.today, book.index)[1]) \
            if book else set()
        warnings += [w for w in f.run.meta.get("warnings", ()) if w not in own]
    merged_meta = {**{k: first.run.meta[k] for k in KEPT_META if k in first.run.meta},
                   **_weakest_host_keys(files), **(meta or {}),
                   "warnings": list(dict.fromkeys(warnings))}
    run = assemble_results(
        results, complete=not missing and all(f.run.complete for f in files),
        fail_on=Severity.parse(first.run.summary.fail_on),
        started=started or min(f.run.started_at for f in files), inputs=first.run.inputs,
        meta=merged_meta, waivers=book, definitions=_definitions(files, plan_hosts))
    shards = [_shard_entry(given.get(i), i, first.shard) for i in
              range(1, int(first.shard["count"]) + 1)]
    return replace(
        run, shards=tuple(shards),
        waivers=tuple(replace(w, line=orig_waivers[w.id].line)
                      if w.id in orig_waivers else w for w in run.waivers))


def check_compatible(files: Sequence[ShardFile]) -> None:
    """InputError (naming the files) unless every file is a shard of one plan, judged alike."""
    if not files:
        raise InputError("merge needs at least one shard run")
    for f in files:
        if f.run.shard is None:
            raise InputError("not a shard run (it has no 'shard' field): shard runs are made "
                             "by `fleetcheck scan --shard K/N` or `--shard-by VAR`", f.name)
    first = files[0]
    for f in files[1:]:
        for what, mine, theirs in (
                ("plan", first.shard.get("plan"), f.shard.get("plan")),
                ("fleetcheck version", first.run.tool_version, f.run.tool_version),
                ("--fail-on", first.run.summary.fail_on, f.run.summary.fail_on),
                ("waiver date (--today)", first.run.meta.get("waiver_date"),
                 f.run.meta.get("waiver_date")),
                ("become (-b)", first.run.meta.get("become"), f.run.meta.get("become"))):
            if mine != theirs:
                raise InputError(f"{what} {theirs!r} differs from {mine!r} in {first.name}: "
                                 "shards of different plans or inputs are never merged", f.name)
        for kind in ("inventory", "policy", "waiver"):
            if _hashes(first.run, kind) != _hashes(f.run, kind):
                raise InputError(f"the {kind} files' sha256 differ from those of {first.name}: "
                                 "shards judged with different inputs are never merged", f.name)
    seen: dict[int, str] = {}
    for f in files:
        index = int(f.shard["index"])
        if index in seen:
            raise InputError(f"{f.label} is given twice: in {seen[index]} and here", f.name)
        seen[index] = f.name


def _weakest_host_keys(files: Sequence[ShardFile]) -> dict[str, Any]:
    """The weakest host-key checking any shard used (whatever order the files came in): a
    merged run says "strict" only when every shard's hosts were checked strictly."""
    modes = {str(f.run.meta["host_key_checking"]) for f in files
             if f.run.meta.get("host_key_checking") in _HOST_KEY_MODES}
    return {"host_key_checking": max(modes, key=_HOST_KEY_MODES.index)} if modes else {}


def _label(index: int, shard: dict[str, Any]) -> str:
    """'shard 2/4', or 'shard 2/4 (fra1)' for a shard named by --shard-by."""
    names = shard.get("names") or ()
    named = f" ({names[index - 1]})" if shard.get("by") and index <= len(names) else ""
    return f"shard {index}/{shard['count']}{named}"


def _hashes(run: RunResult, kind: str) -> list[str]:
    return sorted(i.sha256 for i in run.inputs if i.kind == kind)


def _shard_hosts(files: Sequence[ShardFile], plan_hosts: list[dict[str, Any]]
                 ) -> list[HostResult]:
    """Every host of the given shards; InputError for a host twice or out of its shard."""
    owner: dict[str, str] = {}
    results: list[HostResult] = []
    of_shard: dict[Any, set[str]] = {}  # one pass over the plan, not one per file
    for h in plan_hosts:
        of_shard.setdefault(h["shard"], set()).add(h["name"])
    for f in files:
        expected = of_shard.get(f.shard["index"], set())
        for host in f.run.hosts:
            if host.name in owner:
                raise InputError(f"host {host.name!r} is in {owner[host.name]} too: a host is "
                                 "merged from one shard only", f.name)
            owner[host.name] = f.name
        got = {h.name for h in f.run.hosts}
        if plan_hosts and got != expected:
            odd = sorted(got ^ expected)[:3]
            raise InputError(f"its hosts are not those of {f.label} of plan {f.shard['plan']} "
                             f"(e.g. {', '.join(odd)})", f.name)
        results += [_unannotated(h) for h in f.run.hosts]
    return results


def _unannotated(host: HostResult) -> HostResult:
    """`host` without what its shard's own comparison with history wrote on its findings:
    the merged run is compared once, as one run (and with --no-history, not at all)."""
    if not any(f.change or f.first_seen for f in host.findings):
        return host
    return replace(host, findings=tuple(
        replace(f, first_seen=None, age_days=None, change=None, flaps=0)
        for f in host.findings))


def _not_merged(host: dict[str, Any], shard: dict[str, Any]) -> HostResult:
    """A host of a shard no file was given for: not run, saying which shard is missing."""
    planned = PlannedHost(host["name"], host["address"], tuple(host["groups"]), ())
    error = HostError(ErrorKind.NOT_RUN.value,
                      f"{_label(host['shard'], shard)} of plan {shard['plan']} was not merged: "
                      "no run file was given for it")
    return replace(unchecked_host(planned, error),
                               policies=tuple(host.get("policies", ())))


def _waiver_book(first: ShardFile, results: Sequence[HostResult]) -> WaiverBook | None:
    """The waivers the shards used, rebuilt from their records (each selecting the hosts
    whose results say it selects them), judged on the shards' waiver date."""
    date = first.run.meta.get("waiver_date")
    if date is None:
        return None
    selecting: dict[str, list[str]] = {}  # waiver id -> its hosts, in one pass over them
    for h in results:
        for wid in dict.fromkeys(h.waivers):
            selecting.setdefault(wid, []).append(h.name)
    waivers = tuple(waiver_from_record(w, selecting.get(w.id, ())) for w in first.run.waivers)
    return WaiverBook(waivers, dt.date.fromisoformat(date))


def _definitions(files: Sequence[ShardFile], plan_hosts: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """Policy definitions in the order one process would list them (first host first)."""
    known: dict[str, dict[str, Any]] = {}
    for f in files:
        for d in f.run.policy_definitions:
            known.setdefault(d["name"], d)
    order = [p for h in plan_hosts for p in h.get("policies", ())] + list(known)
    return [known[name] for name in dict.fromkeys(order) if name in known]


def _shard_entry(f: ShardFile | None, index: int, shard: dict[str, Any]) -> dict[str, Any]:
    """What the merged run says of shard `index`: its run, or that it is missing."""
    entry: dict[str, Any] = {"index": index, "count": shard["count"], "plan": shard["plan"]}
    names = shard.get("names") or ()
    if index <= len(names):
        entry["name"] = names[index - 1]
    if f is None:
        return {**entry, "status": "missing"}
    return {**entry, "status": "merged" if f.run.complete
            else "incomplete", "file": f.name, "run_id": f.run.run_id,
            "hosts": len(f.run.hosts), "started_at": f.run.started_at,
            "finished_at": f.run.finished_at, "hostname": f.run.meta.get("hostname")}
