"""History: an embedded SQLite database of what was open when, per host (see docs/history.md).

`History(path).compare(hosts, now)` then `.record(run)` annotate and record a scan in one
transaction; `compare.compare` and `compare.pasts_from_run` do the same comparison
against a saved run file (`--baseline`, `fleetcheck diff`), with no database.
"""

from fleetcheck.history.compare import FLAP_RUNS, HostPast, compare, pasts_from_run
from fleetcheck.history.db import DEFAULT_TIMEOUT, HistoryError
from fleetcheck.history.identity import Key, finding_key, listener_key
from fleetcheck.history.location import DEFAULT_NAME, default_path
from fleetcheck.history.store import DEFAULT_KEEP_DAYS, TREND_RUNS, History, Pruned

__all__ = [
    "DEFAULT_KEEP_DAYS",
    "DEFAULT_NAME",
    "DEFAULT_TIMEOUT",
    "FLAP_RUNS",
    "TREND_RUNS",
    "History",
    "HistoryError",
    "HostPast",
    "Key",
    "Pruned",
    "compare",
    "default_path",
    "finding_key",
    "listener_key",
    "pasts_from_run",
]
