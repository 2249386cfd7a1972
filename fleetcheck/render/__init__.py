"""Renderers: RunResult -> text in one format. They read only the RunResult."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fleetcheck.model import RunResult
from fleetcheck.render import jsonout, text


@dataclass(frozen=True, slots=True)
class Format:
    """One report format: its file extension and its renderer."""

    name: str
    extension: str
    render: Callable[[RunResult], str]


FORMATS: dict[str, Format] = {
    "text": Format("text", "txt", text.render),
    "json": Format("json", "json", jsonout.render),
}


def parse_formats(spec: str) -> list[str]:
    """'text,json' -> ['text', 'json']; ValueError naming an unknown format."""
    names = [s.strip() for s in spec.split(",") if s.strip()]
    for name in names:
        if name not in FORMATS:
            raise ValueError(f"unknown format {name!r} (known: {', '.join(FORMATS)})")
    if not names:
        raise ValueError("no format given")
    return list(dict.fromkeys(names))
