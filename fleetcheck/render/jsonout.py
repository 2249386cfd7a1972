"""The JSON report: the RunResult itself, in the `fleetcheck.run/1` shape."""

from __future__ import annotations

import json

from fleetcheck.model import RunResult


def render(run: RunResult) -> str:
    """Pretty, key-stable JSON with a trailing newline."""
    return json.dumps(run.to_dict(), indent=2, ensure_ascii=False) + "\n"
