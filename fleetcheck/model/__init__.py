"""The data that flows between stages: frozen, typed, JSON-serialisable records."""

from fleetcheck.model.changes import Changes, Comparison, HistoryNote, HostFinding, TrendPoint
from fleetcheck.model.enums import SCHEMA, Change, FindingKind, Severity, Status, Verdict
from fleetcheck.model.host import (
    CommandRecord,
    Finding,
    HostError,
    HostResult,
    JudgedListener,
    Listener,
)
from fleetcheck.model.run import (
    InputFile,
    RunResult,
    Summary,
    WaiverRecord,
    inputs_by_kind,
    new_run_id,
)

__all__ = [
    "SCHEMA",
    "Change",
    "Changes",
    "CommandRecord",
    "Comparison",
    "Finding",
    "FindingKind",
    "HistoryNote",
    "HostError",
    "HostFinding",
    "HostResult",
    "InputFile",
    "JudgedListener",
    "Listener",
    "RunResult",
    "Severity",
    "Status",
    "Summary",
    "TrendPoint",
    "Verdict",
    "WaiverRecord",
    "inputs_by_kind",
    "new_run_id",
]
