"""The JSON report: the RunResult itself, in the `fleetcheck.run/1` shape."""

from __future__ import annotations

import json

from fleetcheck.model import RunResult
from fleetcheck.render.options import RenderOptions


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """Pretty, key-stable JSON with a trailing newline (options change nothing here)."""
    del options
    return json.dumps(run.to_dict(), indent=2, ensure_ascii=False) + "\n"
