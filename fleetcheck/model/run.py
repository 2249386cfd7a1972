"""The run result: the one canonical, versioned, JSON-serialisable record of a run."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import field
from typing import Any

from fleetcheck.frozen import frozen
from fleetcheck.model.changes import Changes, HistoryNote, TrendPoint
from fleetcheck.model.commands import CommandTable, read_texts
from fleetcheck.model.enums import READABLE, SCHEMA
from fleetcheck.model.host import HostResult


@frozen
class InputFile:
    """A file the run read (inventory, policy, waiver) with its digest, for the audit trail."""

    kind: str  # "inventory" | "policy" | "waiver" | ...
    path: str
    sha256: str



def new_run_id(started_at: str) -> str:
    """A run id no other run has: its start time, compact, and 32 random bits."""
    stamp = started_at.replace("-", "").replace(":", "")
    return f"{stamp}-{secrets.token_hex(4)}"


def inputs_by_kind(inputs: tuple[InputFile, ...]) -> dict[str, list[dict[str, str]]]:
    """Group input files by kind, in the order they were read: `{"policy": [{path, sha256}]}`."""
    out: dict[str, list[dict[str, str]]] = {}
    for i in inputs:
        out.setdefault(i.kind, []).append({"path": i.path, "sha256": i.sha256})
    return out


@frozen
class Summary:
    """Counts over a run, computed once (see `result.summarize`) and read by every renderer."""

    hosts: int
    compliant: int
    noncompliant: int
    unreachable: int
    errors: int
    findings: int  # unwaived findings
    waived: int
    violations: int  # unwaived findings at or above fail_on
    violating_hosts: int = 0  # hosts with at least one violation
    below_threshold: int = 0  # open findings below fail_on: shown, not violations
    by_severity: dict[str, int] = field(default_factory=dict)  # unwaived, per severity
    by_kind: dict[str, int] = field(default_factory=dict)
    error_kinds: dict[str, int] = field(default_factory=dict)
    fail_on: str = "low"
    complete: bool = True
    exit_code: int = 0
    # "all": every violation fails the run; "new" (--fail-on-new): only violations that
    # are new or reopened relative to the baseline decide exit code 1.
    gate: str = "all"
    new_violations: int = 0  # violations new or reopened relative to the baseline

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON."""
        return {
            "hosts": self.hosts,
            "compliant": self.compliant,
            "noncompliant": self.noncompliant,
            "unreachable": self.unreachable,
            "errors": self.errors,
            "findings": self.findings,
            "waived": self.waived,
            "violations": self.violations,
            "violating_hosts": self.violating_hosts,
            "below_threshold": self.below_threshold,
            "by_severity": dict(self.by_severity),
            "by_kind": dict(self.by_kind),
            "error_kinds": dict(self.error_kinds),
            "fail_on": self.fail_on,
            "complete": self.complete,
            "exit_code": self.exit_code,
            **({"gate": self.gate, "new_violations": self.new_violations}
               if self.gate != "all" else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        """Inverse of `to_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


_TRAIL = ("justification", "reviewed_on")


@frozen
class WaiverRecord:
    """A waiver as the run used it: who granted what until when, and what became of it."""

    id: str
    status: str  # "active" | "expired" | "unused" (active but matched nothing)
    reason: str
    owner: str
    ticket: str | None = None
    approved_by: str | None = None
    created: str | None = None  # ISO date
    expires: str | None = None  # ISO date
    hosts: str | None = None  # Ansible pattern or group
    proto: str | None = None
    port: str | None = None  # as written: "1923", "8000-8100", "80,443"
    process: str | None = None
    matched: int = 0  # findings it waived (or would have, if expired)
    justification: str | None = None  # the business need, when it says more than `reason`
    reviewed_on: str | None = None  # ISO date
    path: str | None = None
    line: int | None = None
    # Everything the waiver covers, in the words of a waiver file (proto, port, service,
    # process, kind, rule, finding), so a saved run can be explained without the file.
    conditions: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The waiver as JSON (the approval-trail keys only when the waiver states them)."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__
                if name not in _TRAIL or getattr(self, name) is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WaiverRecord:
        """Inverse of `to_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@frozen
class RunResult:
    """The one canonical result of a run; every renderer reads only this."""

    tool_version: str
    started_at: str  # ISO 8601 UTC, seconds
    finished_at: str
    inputs: tuple[InputFile, ...]
    hosts: tuple[HostResult, ...]
    summary: Summary
    # Who/where/how. Known keys: command_line (list), user, hostname, fail_on, forks,
    # become, policies (names), host_key_checking ("strict"|"accept-new"|"off"),
    # warnings (list of sentences every report must show, e.g. host keys not checked).
    meta: dict[str, Any] = field(default_factory=dict)
    waivers: tuple[WaiverRecord, ...] = ()
    # The policies as the run understood them (rules, resolved service ports, where each
    # rule was written), so `explain` and auditors need no access to the policy files.
    policy_definitions: tuple[dict[str, Any], ...] = ()
    schema: str = SCHEMA
    # Unique per run ('20261126T142800Z-3f9a2c1e'): in report file names and history.
    run_id: str = ""
    # A shard run says which shard of which plan it is ({"index", "count", "plan", ...},
    # see engine/shards.py); a merged run lists the shards it was made of.
    shard: dict[str, Any] | None = None
    shards: tuple[dict[str, Any], ...] = ()
    # From history or a --baseline run (None when the run was compared with nothing):
    # what changed since each host's previous checked run, the trend of the last runs
    # (this one last) and what became of recording this run.
    changes: Changes | None = None
    trend: tuple[TrendPoint, ...] = ()
    history: HistoryNote | None = None

    @property
    def complete(self) -> bool:
        """False when the run was interrupted before every planned host finished."""
        return self.summary.complete

    def trend_point(self) -> TrendPoint:
        """This run as a point of the trend series."""
        s, c = self.summary, self.changes
        return TrendPoint(self.run_id, self.started_at, s.hosts, s.violations,
                          c.new + c.reopened if c else 0, len(c.fixed) if c else 0,
                          s.unreachable + s.errors)

    def to_dict(self, host: Callable[[HostResult, CommandTable], Any] | None = None,
                ) -> dict[str, Any]:
        """The run as JSON in the `fleetcheck.run/3` shape (whatever schema it was read from);
        each host as `host` makes it when given (the JSON report writes them as text)."""
        table = CommandTable((c.stdout, c.stderr, c.nonce) for h in self.hosts
                             for c in h.commands)
        hosts = [h.to_dict(table) if host is None else host(h, table) for h in self.hosts]
        return {
            "schema": SCHEMA,
            "run_id": self.run_id,
            "tool_version": self.tool_version,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "complete": self.summary.complete,
            "meta": dict(self.meta),
            "inputs": inputs_by_kind(self.inputs),
            "summary": self.summary.to_dict(),
            "waivers": [w.to_dict() for w in self.waivers],
            "policy_definitions": list(self.policy_definitions),
            **({"shard": dict(self.shard)} if self.shard is not None else {}),
            **({"shards": [dict(s) for s in self.shards]} if self.shards else {}),
            "command_texts": table.texts(),
            "stdout_texts": table.stdout_texts(),
            "stderr_texts": table.stderr_texts(),
            "hosts": hosts,
            **self._history_keys(),
        }

    def _history_keys(self) -> dict[str, Any]:
        """`changes`, `trend` and `history`, written when the run has them."""
        out: dict[str, Any] = {}
        if self.changes is not None:
            out["changes"] = self.changes.to_dict()
        if self.trend:
            out["trend"] = [p.to_dict() for p in self.trend]
        if self.history is not None:
            out["history"] = self.history.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Inverse of `to_dict`, reading `fleetcheck.run/1` and `/2` too; ValueError for
        another schema."""
        if data.get("schema") not in READABLE:
            raise ValueError(f"not a {SCHEMA} document (schema: {data.get('schema')!r})")
        texts = read_texts(data)
        return cls(
            run_id=str(data.get("run_id") or ""),
            tool_version=data["tool_version"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            inputs=tuple(
                InputFile(kind, i["path"], i["sha256"])
                for kind, files in data.get("inputs", {}).items()
                for i in files
            ),
            hosts=tuple(HostResult.from_dict(h, texts) for h in data.get("hosts", ())),
            summary=Summary.from_dict(data["summary"]),
            meta=dict(data.get("meta", {})),
            waivers=tuple(WaiverRecord.from_dict(w) for w in data.get("waivers", ())),
            policy_definitions=tuple(data.get("policy_definitions", ())),
            shard=dict(data["shard"]) if data.get("shard") is not None else None,
            shards=tuple(dict(s) for s in data.get("shards", ())),
            changes=Changes.from_dict(data["changes"]) if data.get("changes") else None,
            trend=tuple(TrendPoint.from_dict(p) for p in data.get("trend") or ()),
            history=HistoryNote.from_dict(data["history"]) if data.get("history") else None,
        )
