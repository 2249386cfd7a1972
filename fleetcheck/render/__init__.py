"""Renderers: RunResult -> text in one format. They read only the RunResult."""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from typing import Protocol

from fleetcheck.frozen import frozen
from fleetcheck.model import RunResult
from fleetcheck.render.options import RenderOptions

__all__ = ["FORMATS", "PIPEABLE", "ChunkRenderer", "Format", "RenderOptions", "Renderer",
           "parse_formats"]


class Renderer(Protocol):
    """Render a run; options change presentation only, never a fact."""

    def __call__(self, run: RunResult, options: RenderOptions | None = None) -> str:
        """The report of `run` as text."""
        ...


class ChunkRenderer(Protocol):
    """Render a run in pieces that, joined, are exactly what its `Renderer` returns."""

    def __call__(self, run: RunResult, options: RenderOptions | None = None) -> Iterable[str]:
        """The report of `run` as text pieces, to be written one after another."""
        ...


@frozen
class Format:
    """One report format: its file extension and its renderer."""

    name: str
    extension: str
    render: Renderer
    description: str = ""
    companion: str | None = None  # a format always written beside this one into a directory
    # Renders into a file piece by piece (a large report is never whole in memory).
    chunks: ChunkRenderer | None = None


def _lazy(module: str, function: str = "render") -> Renderer:
    """A renderer whose module is imported on first use: a scan imports only the renderers
    (and their Jinja2, tabulate ...) of the formats it writes."""

    def render(run: RunResult, options: RenderOptions | None = None) -> str:
        found: Renderer = getattr(importlib.import_module(module), function)
        return found(run, options)

    return render


def _lazy_chunks(module: str, function: str = "render_chunks") -> ChunkRenderer:
    """`_lazy` for a format's piece-by-piece renderer."""

    def render_chunks(run: RunResult, options: RenderOptions | None = None) -> Iterable[str]:
        found: ChunkRenderer = getattr(importlib.import_module(module), function)
        return found(run, options)

    return render_chunks


FORMATS: dict[str, Format] = {
    "text": Format("text", "txt", _lazy("fleetcheck.render.text"),
                   "terminal and plain-text report"),
    "html": Format("html", "html", _lazy("fleetcheck.render.html"),
                   "self-contained HTML evidence report",
                   chunks=_lazy_chunks("fleetcheck.render.html")),
    "json": Format("json", "json", _lazy("fleetcheck.render.jsonout"),
                   "the run record (fleetcheck.run/3)",
                   chunks=_lazy_chunks("fleetcheck.render.jsonout")),
    "junit": Format("junit", "xml", _lazy("fleetcheck.render.junit"), "JUnit XML for CI",
                    chunks=_lazy_chunks("fleetcheck.render.junit")),
    "csv": Format("csv", "csv", _lazy("fleetcheck.render.csvout"), "findings as CSV for "
                  "spreadsheets (with the grouped CSV beside it)", companion="csv-groups"),
    "csv-groups": Format("csv-groups", "groups.csv",
                         _lazy("fleetcheck.render.csvout", "render_groups"),
                         "findings grouped by problem, as CSV"),
    "markdown": Format("markdown", "md", _lazy("fleetcheck.render.markdown"),
                       "compact grouped summary for pull requests and CI pages"),
    # The evidence package builds on this one: imported late in any case.
    "register": Format("register", "register.csv", _lazy("fleetcheck.evidence.register"),
                       "the ports register (PCI DSS 1.2.5) as CSV"),
    "oscal": Format("oscal", "oscal.json", _lazy("fleetcheck.evidence.oscal"),
                    "OSCAL assessment results (JSON)",
                    chunks=_lazy_chunks("fleetcheck.evidence.oscal")),
}
# Machine-readable formats that a single-format invocation prints to stdout for piping.
PIPEABLE = ("json", "junit", "csv", "csv-groups", "markdown", "register", "oscal")


def parse_formats(spec: str) -> list[str]:
    """'text,json' -> ['text', 'json'] ('all': every format); ValueError naming an unknown one."""
    names = [s.strip().lower() for s in spec.split(",") if s.strip()]
    if "all" in names:
        names = [n for n in names if n != "all"] + list(FORMATS)
    for name in names:
        if name not in FORMATS:
            # Imported here: its module loads YAML, which rendering a saved run never needs.
            from fleetcheck.words import did_you_mean

            hint = did_you_mean(name, [*FORMATS, "all"])
            raise ValueError(f"unknown format {name!r}{hint} (known: {', '.join(FORMATS)}, all)")
    if not names:
        raise ValueError("no format given")
    return list(dict.fromkeys(names))
