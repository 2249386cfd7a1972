"""The data that flows between stages: frozen, typed, JSON-serialisable records."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

SCHEMA = "fleetcheck.run/1"


class Severity(enum.IntEnum):
    """Finding severities, ordered so that a larger value is worse."""

    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        """The lower-case word users write in policies and on the command line."""
        return self.name.lower()

    @classmethod
    def parse(cls, word: str) -> Severity:
        """Return the severity named by `word` (case-insensitive); ValueError if none."""
        try:
            return cls[word.strip().upper()]
        except KeyError:
            names = ", ".join(s.label for s in cls)
            raise ValueError(f"unknown severity {word!r} (expected one of {names})") from None


class Status(enum.StrEnum):
    """A host's overall outcome; only COMPLIANT means listeners were read and all allowed."""

    COMPLIANT = "compliant"
    NONCOMPLIANT = "noncompliant"
    UNREACHABLE = "unreachable"
    ERROR = "error"


class Verdict(enum.StrEnum):
    """What the policies decided about one listener."""

    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"
    STRAY = "stray"
    WRONG_BIND = "wrong_bind"
    WRONG_PROCESS = "wrong_process"
    UNDETERMINED = "undetermined"


class FindingKind(enum.StrEnum):
    """The kinds of finding a host can carry."""

    FORBIDDEN = "forbidden"
    STRAY = "stray"
    MISSING = "missing"
    WRONG_BIND = "wrong_bind"
    WRONG_PROCESS = "wrong_process"
    UNDETERMINED = "undetermined"


@dataclass(frozen=True, slots=True)
class Listener:
    """One listening TCP socket or bound, unconnected UDP socket as a tool printed it."""

    proto: str  # "tcp" | "udp"
    family: int  # 4 | 6
    address: str  # no brackets, no %scope; a host name where the tool printed one
    port: int
    process: str | None = None
    pid: int | None = None
    user: str | None = None
    iface: str | None = None  # the %scope suffix, e.g. "lo" or "enp0s3"
    dual_stack: bool = False  # an IPv6 wildcard that also accepts IPv4
    truncated: bool = False  # the tool cut the address (or port): never matches an allow
    port_name: str | None = None  # service name printed instead of the number
    other_processes: tuple[str, ...] = ()  # further "name/pid" sharing the socket
    uid: int | None = None
    inode: int | None = None
    service: str | None = None  # Windows service hosting the socket

    # Keys written only when they carry something, so that `parse` output
    # has the corpus sidecars' shape.
    _OPTIONAL = (
        "user", "iface", "dual_stack", "truncated", "port_name",
        "other_processes", "uid", "inode", "service",
    )

    def to_dict(self) -> dict[str, Any]:
        """The listener as JSON: the six core keys always, optional keys only when set."""
        out: dict[str, Any] = {
            "proto": self.proto,
            "family": self.family,
            "address": self.address,
            "port": self.port,
            "process": self.process,
            "pid": self.pid,
        }
        for key in self._OPTIONAL:
            value = getattr(self, key)
            if value is not None and value is not False and value != ():
                out[key] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Listener:
        """Inverse of `to_dict`; unknown keys are ignored."""
        return cls(
            proto=data["proto"],
            family=int(data["family"]),
            address=data["address"],
            port=int(data["port"]),
            process=data.get("process"),
            pid=data.get("pid"),
            user=data.get("user"),
            iface=data.get("iface"),
            dual_stack=bool(data.get("dual_stack", False)),
            truncated=bool(data.get("truncated", False)),
            port_name=data.get("port_name"),
            other_processes=tuple(data.get("other_processes") or ()),
            uid=data.get("uid"),
            inode=data.get("inode"),
            service=data.get("service"),
        )

    def sort_key(self) -> tuple[Any, ...]:
        """Deterministic report order: proto, port, family, address, pid."""
        return (self.proto, self.port, self.family, self.address, self.pid or 0, self.process or "")


@dataclass(frozen=True, slots=True)
class JudgedListener:
    """A listener with the verdict of the policies and the rule that decided it."""

    listener: Listener
    verdict: Verdict
    rule: str | None

    def to_dict(self) -> dict[str, Any]:
        """Listener keys plus `verdict` and `rule`; `user` always present as in the run schema."""
        out = self.listener.to_dict()
        out.setdefault("user", None)
        out["verdict"] = self.verdict.value
        out["rule"] = self.rule
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JudgedListener:
        """Inverse of `to_dict`."""
        return cls(Listener.from_dict(data), Verdict(data["verdict"]), data.get("rule"))


@dataclass(frozen=True, slots=True)
class Finding:
    """A judged problem on one host; `id` is stable across runs for the same problem."""

    id: str
    kind: FindingKind
    severity: Severity
    proto: str
    port: int | None
    address: str | None
    process: str | None
    rule: str | None
    message: str
    waived: bool = False
    waiver: str | None = None
    pid: int | None = None
    family: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON, severity and kind as their words."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "severity": self.severity.label,
            "proto": self.proto,
            "port": self.port,
            "address": self.address,
            "process": self.process,
            "rule": self.rule,
            "message": self.message,
            "waived": self.waived,
            "waiver": self.waiver,
            "pid": self.pid,
            "family": self.family,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        """Inverse of `to_dict`."""
        return cls(
            id=data["id"],
            kind=FindingKind(data["kind"]),
            severity=Severity.parse(data["severity"]),
            proto=data["proto"],
            port=data.get("port"),
            address=data.get("address"),
            process=data.get("process"),
            rule=data.get("rule"),
            message=data["message"],
            waived=bool(data.get("waived", False)),
            waiver=data.get("waiver"),
            pid=data.get("pid"),
            family=data.get("family"),
        )

    def sort_key(self) -> tuple[Any, ...]:
        """Worst first, then by port and address, so reports diff cleanly."""
        return (-self.severity, self.kind.value, self.proto, self.port or 0, self.address or "",
                self.id)


@dataclass(frozen=True, slots=True)
class HostError:
    """Why a host could not be checked: a kind from `errors.ErrorKind` and a sentence."""

    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON."""
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True, slots=True)
class CommandRecord:
    """One command that ran on a host, kept as evidence: what ran and what it printed."""

    command: str
    exit_code: int | None
    stdout: str
    stderr: str
    duration: float

    def to_dict(self) -> dict[str, Any]:
        """The record as JSON."""
        return {
            "command": self.command,
            "exit_code": self.exit_code,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "duration": round(self.duration, 3),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CommandRecord:
        """Inverse of `to_dict`."""
        return cls(data["command"], data.get("exit_code"), data.get("stdout", ""),
                   data.get("stderr", ""), float(data.get("duration", 0.0)))


@dataclass(frozen=True, slots=True)
class HostResult:
    """Everything fleetcheck learnt and judged about one host."""

    name: str
    address: str
    groups: tuple[str, ...]
    status: Status
    os: str | None = None
    collector: str | None = None
    error: HostError | None = None
    listeners: tuple[JudgedListener, ...] = ()
    findings: tuple[Finding, ...] = ()
    commands: tuple[CommandRecord, ...] = ()
    policies: tuple[str, ...] = ()
    privileged: bool | None = None  # None: not known (e.g. never connected)
    duration: float = 0.0
    notes: tuple[str, ...] = ()  # caveats the reader must see, e.g. owners not visible

    @property
    def checked(self) -> bool:
        """True when the host's listeners were read and judged."""
        return self.status in (Status.COMPLIANT, Status.NONCOMPLIANT)

    def to_dict(self) -> dict[str, Any]:
        """The host as JSON in the `fleetcheck.run/1` shape."""
        return {
            "name": self.name,
            "address": self.address,
            "groups": list(self.groups),
            "status": self.status.value,
            "os": self.os,
            "collector": self.collector,
            "error": self.error.to_dict() if self.error else None,
            "privileged": self.privileged,
            "policies": list(self.policies),
            "duration": round(self.duration, 3),
            "notes": list(self.notes),
            "listeners": [jl.to_dict() for jl in self.listeners],
            "findings": [f.to_dict() for f in self.findings],
            "commands": [c.to_dict() for c in self.commands],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostResult:
        """Inverse of `to_dict`."""
        err = data.get("error")
        return cls(
            name=data["name"],
            address=data["address"],
            groups=tuple(data.get("groups", ())),
            status=Status(data["status"]),
            os=data.get("os"),
            collector=data.get("collector"),
            error=HostError(err["kind"], err["message"]) if err else None,
            listeners=tuple(JudgedListener.from_dict(d) for d in data.get("listeners", ())),
            findings=tuple(Finding.from_dict(d) for d in data.get("findings", ())),
            commands=tuple(CommandRecord.from_dict(d) for d in data.get("commands", ())),
            policies=tuple(data.get("policies", ())),
            privileged=data.get("privileged"),
            duration=float(data.get("duration", 0.0)),
            notes=tuple(data.get("notes", ())),
        )


@dataclass(frozen=True, slots=True)
class InputFile:
    """A file the run read (inventory, policy, waiver) with its digest, for the audit trail."""

    kind: str  # "inventory" | "policy" | "waiver" | ...
    path: str
    sha256: str



def inputs_by_kind(inputs: tuple[InputFile, ...]) -> dict[str, list[dict[str, str]]]:
    """Group input files by kind, in the order they were read: `{"policy": [{path, sha256}]}`."""
    out: dict[str, list[dict[str, str]]] = {}
    for i in inputs:
        out.setdefault(i.kind, []).append({"path": i.path, "sha256": i.sha256})
    return out


@dataclass(frozen=True, slots=True)
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
    by_severity: dict[str, int] = field(default_factory=dict)  # unwaived, per severity
    by_kind: dict[str, int] = field(default_factory=dict)
    error_kinds: dict[str, int] = field(default_factory=dict)
    fail_on: str = "low"
    complete: bool = True
    exit_code: int = 0

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
            "by_severity": dict(self.by_severity),
            "by_kind": dict(self.by_kind),
            "error_kinds": dict(self.error_kinds),
            "fail_on": self.fail_on,
            "complete": self.complete,
            "exit_code": self.exit_code,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        """Inverse of `to_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@dataclass(frozen=True, slots=True)
class RunResult:
    """The one canonical result of a run; every renderer reads only this."""

    tool_version: str
    started_at: str  # ISO 8601 UTC, seconds
    finished_at: str
    inputs: tuple[InputFile, ...]
    hosts: tuple[HostResult, ...]
    summary: Summary
    # Who/where/how: command line, user, machine, host-key checking mode, ...
    meta: dict[str, Any] = field(default_factory=dict)
    schema: str = SCHEMA

    @property
    def complete(self) -> bool:
        """False when the run was interrupted before every planned host finished."""
        return self.summary.complete

    def to_dict(self) -> dict[str, Any]:
        """The run as JSON in the `fleetcheck.run/1` shape."""
        return {
            "schema": self.schema,
            "tool_version": self.tool_version,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "complete": self.summary.complete,
            "meta": dict(self.meta),
            "inputs": inputs_by_kind(self.inputs),
            "summary": self.summary.to_dict(),
            "hosts": [h.to_dict() for h in self.hosts],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        """Inverse of `to_dict`; ValueError for another schema."""
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document (schema: {data.get('schema')!r})")
        return cls(
            schema=data["schema"],
            tool_version=data["tool_version"],
            started_at=data["started_at"],
            finished_at=data["finished_at"],
            inputs=tuple(
                InputFile(kind, i["path"], i["sha256"])
                for kind, files in data.get("inputs", {}).items()
                for i in files
            ),
            hosts=tuple(HostResult.from_dict(h) for h in data.get("hosts", ())),
            summary=Summary.from_dict(data["summary"]),
            meta=dict(data.get("meta", {})),
        )
