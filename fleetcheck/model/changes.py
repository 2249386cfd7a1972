"""What changed since each host's previous checked run: the history-derived part of a run.

These records are filled by `fleetcheck.history` (from the database or a baseline run
file) before the summary is computed, and carried in the run JSON, so that every report
(and `fleetcheck report` from the file alone) shows the same changes.
"""

from __future__ import annotations

from typing import Any

from fleetcheck.frozen import frozen
from fleetcheck.model.host import Finding, HostResult


@frozen
class HostFinding:
    """A finding no longer in the host's findings: fixed, or not verified in this run.

    `finding` is as last seen, with its `first_seen` and `age_days`; `last_seen` is the
    start of the last run that saw it open.
    """

    host: str
    finding: Finding
    last_seen: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The finding's JSON plus `host` and `last_seen`."""
        out = self.finding.to_dict()
        out["host"] = self.host
        out["last_seen"] = self.last_seen
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HostFinding:
        """Inverse of `to_dict`."""
        return cls(str(data["host"]), Finding.from_dict(data), data.get("last_seen"))


@frozen
class Changes:
    """The run's changes: fixed and unverified findings listed, the rest counted.

    `against` says what the run was compared with: `{"source": "history", "database":
    path}` or `{"source": "run", "path": path, "run_id": id}` (a `--baseline` file).
    """

    fixed: tuple[HostFinding, ...] = ()
    unverified: tuple[HostFinding, ...] = ()
    new: int = 0
    reopened: int = 0
    persisting: int = 0
    flapping: int = 0  # reopened findings that were fixed for only a few runs
    first_checked: int = 0  # hosts checked for the first time: all their findings are new
    against: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The changes as JSON (`fixed` and `unverified` as findings plus `host`)."""
        return {
            "fixed": [f.to_dict() for f in self.fixed],
            "unverified": [f.to_dict() for f in self.unverified],
            "new": self.new,
            "reopened": self.reopened,
            "persisting": self.persisting,
            "flapping": self.flapping,
            "first_checked": self.first_checked,
            "against": dict(self.against) if self.against is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Changes:
        """Inverse of `to_dict`."""
        return cls(
            fixed=tuple(HostFinding.from_dict(d) for d in data.get("fixed", ())),
            unverified=tuple(HostFinding.from_dict(d) for d in data.get("unverified", ())),
            new=int(data.get("new", 0)),
            reopened=int(data.get("reopened", 0)),
            persisting=int(data.get("persisting", 0)),
            flapping=int(data.get("flapping", 0)),
            first_checked=int(data.get("first_checked", 0)),
            against=data.get("against"),
        )


@frozen
class TrendPoint:
    """One run in the trend series the HTML chart draws (the run itself is the last point)."""

    run_id: str
    started_at: str
    hosts: int
    violations: int
    new: int
    fixed: int
    unchecked: int

    def to_dict(self) -> dict[str, Any]:
        """The point as JSON."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrendPoint:
        """Inverse of `to_dict`."""
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


@frozen
class HistoryNote:
    """What became of the run's history: recorded in `database`, off, or failed and why."""

    status: str  # "recorded" | "failed" | "off"
    database: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The note as JSON."""
        return {"status": self.status, "database": self.database, "error": self.error}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> HistoryNote:
        """Inverse of `to_dict`."""
        return cls(str(data["status"]), data.get("database"), data.get("error"))


@frozen
class Comparison:
    """Hosts annotated against their previous checked runs, the changes, and the trend so far
    (earlier runs only: the run being assembled adds its own point)."""

    hosts: tuple[HostResult, ...]  # in the order given
    changes: Changes | None
    trend: tuple[TrendPoint, ...] | None = None  # None: no series (no database)
