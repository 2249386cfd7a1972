"""Where the history database lives unless configured: beside the reports."""

from __future__ import annotations

from pathlib import Path

DEFAULT_NAME = "fleetcheck-history.sqlite3"


def default_path(report_dir: Path) -> Path:
    """The database of runs whose reports go to `report_dir`: a file inside it.

    The one place the default is computed, so a configuration file can replace it.
    """
    return report_dir / DEFAULT_NAME
