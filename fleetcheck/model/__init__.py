"""The data that flows between stages: frozen, typed, JSON-serialisable records."""

from fleetcheck.model.changes import Changes, Comparison, HistoryNote, HostFinding, TrendPoint
from fleetcheck.model.container import (
    CONTAINER_ONLY,
    EXPOSURES,
    HOST,
    PUBLISHED,
    Container,
    Namespaces,
    container_identity,
)
from fleetcheck.model.enums import READABLE, SCHEMA, Change, FindingKind, Severity, Status, Verdict
from fleetcheck.model.host import CommandRecord, Finding, HostError, HostResult, TrustedKey
from fleetcheck.model.listener import JudgedListener, Listener
from fleetcheck.model.run import (
    InputFile,
    RunResult,
    Summary,
    WaiverRecord,
    inputs_by_kind,
    new_run_id,
)

__all__ = [
    "CONTAINER_ONLY",
    "EXPOSURES",
    "HOST",
    "PUBLISHED",
    "READABLE",
    "SCHEMA",
    "Change",
    "Changes",
    "CommandRecord",
    "Comparison",
    "Container",
    "Finding",
    "FindingKind",
    "HistoryNote",
    "HostError",
    "HostFinding",
    "HostResult",
    "InputFile",
    "JudgedListener",
    "Listener",
    "Namespaces",
    "RunResult",
    "Severity",
    "Status",
    "Summary",
    "TrendPoint",
    "TrustedKey",
    "Verdict",
    "WaiverRecord",
    "container_identity",
    "inputs_by_kind",
    "new_run_id",
]
