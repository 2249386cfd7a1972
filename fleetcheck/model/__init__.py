"""The data that flows between stages: frozen, typed, JSON-serialisable records."""

from fleetcheck.model.enums import SCHEMA, FindingKind, Severity, Status, Verdict
from fleetcheck.model.host import (
    CommandRecord,
    Finding,
    HostError,
    HostResult,
    JudgedListener,
    Listener,
    TrustedKey,
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
    "CommandRecord",
    "Finding",
    "FindingKind",
    "HostError",
    "HostResult",
    "InputFile",
    "JudgedListener",
    "Listener",
    "RunResult",
    "Severity",
    "Status",
    "Summary",
    "TrustedKey",
    "Verdict",
    "WaiverRecord",
    "inputs_by_kind",
    "new_run_id",
]
