"""Per-host records: findings, errors, command evidence, and the host's result."""

from __future__ import annotations

from typing import Any

from fleetcheck.frozen import frozen
from fleetcheck.model.commands import (
    NO_TEXTS,
    CommandTable,
    RunTexts,
    command_text,
    stderr_text,
    stdout_text,
)
from fleetcheck.model.container import HOST, Container, Namespaces
from fleetcheck.model.enums import Change, FindingKind, Severity, Status
from fleetcheck.model.listener import JudgedListener


@frozen
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
    # Open, but below the run's --fail-on: shown, never counted as a violation
    # (set once, by `result.settle`).
    below_threshold: bool = False
    # The listener's namespace, container and exposure (None: not about a listener).
    netns: int | None = None
    container: Container | None = None
    exposure: str | None = None
    # From history (fleetcheck.history), relative to this host's previous checked run:
    # when it was first open (ISO 8601 UTC), whole days since, new/persisting/reopened,
    # and how often it came back within a few runs of being fixed. None without history.
    first_seen: str | None = None
    age_days: int | None = None
    change: Change | None = None
    flaps: int = 0
    iface: str | None = None  # the device the listener is bound to (SO_BINDTODEVICE, zone)

    def to_dict(self) -> dict[str, Any]:
        """The finding as JSON, severity and kind as their words; `iface` only for a socket
        bound to a device; `netns`, `container` and `exposure` only for a listener outside
        the host's plain processes."""
        inside: dict[str, Any] = {"netns": self.netns} if self.netns is not None else {}
        if self.container is not None:
            inside["container"] = self.container.to_dict()
        if inside:
            inside["exposure"] = self.exposure
        if self.iface is not None:
            inside["iface"] = self.iface
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
            "below_threshold": self.below_threshold,
            **inside,
            **self._history_keys(),
        }

    def _history_keys(self) -> dict[str, Any]:
        """History's keys, written only when the run was compared with history or a baseline."""
        if self.first_seen is None and self.change is None:
            return {}
        out: dict[str, Any] = {"first_seen": self.first_seen, "age_days": self.age_days,
                               "change": self.change.value if self.change else None}
        if self.flaps:
            out["flaps"] = self.flaps
        return out

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
            below_threshold=bool(data.get("below_threshold", False)),
            netns=data.get("netns"),
            container=Container.from_dict(data["container"]) if data.get("container") else None,
            exposure=data.get("exposure") or (HOST if data.get("address") is not None else None),
            first_seen=data.get("first_seen"),
            age_days=data.get("age_days"),
            change=Change(data["change"]) if data.get("change") else None,
            flaps=int(data.get("flaps") or 0),
            iface=data.get("iface"),
        )

    def sort_key(self) -> tuple[Any, ...]:
        """Worst first, then by port and address, so reports diff cleanly."""
        return (-self.severity, self.kind.value, self.proto, self.port or 0, self.address or "",
                self.id)


@frozen
class HostError:
    """Why a host could not be checked: a kind from `errors.ErrorKind` and a sentence."""

    kind: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The error as JSON."""
        return {"kind": self.kind, "message": self.message}


@frozen
class CommandRecord:
    """One command that ran on a host, kept as evidence: what ran and what it printed."""

    command: str
    exit_code: int | None
    stdout: str
    stderr: str
    duration: float
    nonce: str = ""  # the random word fencing the output, as it appears in `command`

    def to_dict(self, table: CommandTable | None = None) -> dict[str, Any]:
        """The record as JSON: the command written out, or by reference into `table`."""
        head: dict[str, Any] = (
            {"command": self.command} if table is None
            else {"command_ref": table.ref(self.command, self.nonce)})
        return {
            **head,
            **({"nonce": self.nonce} if self.nonce else {}),
            "exit_code": self.exit_code,
            **({"stdout": self.stdout, "stderr": self.stderr} if table is None
               else {**table.stdout(self.stdout, self.nonce), **table.stderr(self.stderr)}),
            "duration": round(self.duration, 3),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], texts: RunTexts = NO_TEXTS) -> CommandRecord:
        """Inverse of `to_dict` (`texts`: the run's tables)."""
        return cls(command_text(data, texts), data.get("exit_code"), stdout_text(data, texts),
                   stderr_text(data, texts), float(data.get("duration", 0.0)),
                   str(data.get("nonce") or ""))


@frozen
class TrustedKey:
    """A host key trusted in this run without being found in known_hosts: on first use
    (accept-new), or not checked at all because the host's own StrictHostKeyChecking said
    `no` (`unchecked` says why); evidence of what was trusted."""

    host: str  # the name it was filed under in known_hosts ('[addr]:port' off port 22)
    key_type: str  # e.g. ssh-ed25519
    fingerprint: str  # 'SHA256:...' as ssh-keygen -l prints it
    file: str  # the known_hosts file it was appended to ('' when not written)
    unchecked: str | None = None  # why it was accepted unchecked (None: accept-new)

    def to_dict(self) -> dict[str, Any]:
        """The key as JSON (`unchecked` only for a key accepted without checking)."""
        return {"host": self.host, "type": self.key_type, "fingerprint": self.fingerprint,
                "file": self.file, **({"unchecked": self.unchecked} if self.unchecked else {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrustedKey:
        """Inverse of `to_dict`."""
        return cls(data["host"], data["type"], data["fingerprint"], data["file"],
                   data.get("unchecked"))

    def sentence(self) -> str:
        """One line for people: what was trusted, for which name, where it was written."""
        if self.unchecked:
            return (f"NOT checked ({self.unchecked}): {self.host} {self.key_type} "
                    f"{self.fingerprint} was accepted without comparing it with known_hosts")
        return (f"trusted on first use (accept-new): {self.host} {self.key_type} "
                f"{self.fingerprint}, added to {self.file}")


@frozen
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
    waivers: tuple[str, ...] = ()  # ids of the waivers whose `hosts` select this host
    trusted_keys: tuple[TrustedKey, ...] = ()  # host keys this host's connection trusted
    distribution: str | None = None  # os-release's PRETTY_NAME (Linux), where the probe read it
    namespaces: Namespaces | None = None  # Linux: other network namespaces read, or why not

    @property
    def checked(self) -> bool:
        """True when the host's listeners were read and judged."""
        return self.status in (Status.COMPLIANT, Status.NONCOMPLIANT)

    def to_dict(self, table: CommandTable | None = None) -> dict[str, Any]:
        """The host as JSON in the `fleetcheck.run/3` shape: commands (and repeated stderr)
        by reference into the run's `table`, or written out without one (results between
        processes)."""
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
            "waivers": list(self.waivers),
            "listeners": [jl.to_dict() for jl in self.listeners],
            "findings": [f.to_dict() for f in self.findings],
            "commands": [c.to_dict(table) for c in self.commands],
            **({"trusted_keys": [k.to_dict() for k in self.trusted_keys]}
               if self.trusted_keys else {}),
            **({"distribution": self.distribution} if self.distribution else {}),
            **({"namespaces": self.namespaces.to_dict()} if self.namespaces else {}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], texts: RunTexts = NO_TEXTS) -> HostResult:
        """Inverse of `to_dict` (`texts`: the run's tables)."""
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
            commands=tuple(CommandRecord.from_dict(d, texts) for d in data.get("commands", ())),
            policies=tuple(data.get("policies", ())),
            privileged=data.get("privileged"),
            duration=float(data.get("duration", 0.0)),
            notes=tuple(data.get("notes", ())),
            waivers=tuple(data.get("waivers", ())),
            trusted_keys=tuple(TrustedKey.from_dict(d) for d in data.get("trusted_keys", ())),
            distribution=data.get("distribution"),
            namespaces=Namespaces.from_dict(data["namespaces"]) if data.get("namespaces")
            else None,
        )
