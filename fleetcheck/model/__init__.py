"""The data that flows between stages: frozen, typed, JSON-serialisable records."""

from fleetcheck.model.container import (
    CONTAINER_ONLY,
    EXPOSURES,
    HOST,
    PUBLISHED,
    Container,
    Namespaces,
    container_identity,
)
from fleetcheck.model.enums import READABLE, SCHEMA, FindingKind, Severity, Status, Verdict
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
    "CONTAINER_ONLY",
    "EXPOSURES",
    "HOST",
    "PUBLISHED",
    "READABLE",
    "SCHEMA",
    "CommandRecord",
    "Container",
    "Finding",
    "FindingKind",
    "HostError",
    "HostResult",
    "InputFile",
    "JudgedListener",
    "Listener",
    "Namespaces",
    "RunResult",
    "Severity",
    "Status",
    "Summary",
    "TrustedKey",
    "Verdict",
    "WaiverRecord",
    "container_identity",
    "inputs_by_kind",
    "new_run_id",
]
