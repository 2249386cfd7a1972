"""Renderers: RunResult -> text in one format. They read only the RunResult."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from fleetcheck.model import RunResult
from fleetcheck.render import csvout, html, jsonout, junit, markdown, text
from fleetcheck.render.options import RenderOptions
from fleetcheck.yamlsrc import did_you_mean

__all__ = ["FORMATS", "PIPEABLE", "Format", "RenderOptions", "Renderer", "parse_formats"]


class Renderer(Protocol):
    """Render a run; options change presentation only, never a fact."""

    def __call__(self, run: RunResult, options: RenderOptions | None = None) -> str:
        """The report of `run` as text."""
        ...


@dataclass(frozen=True, slots=True)
class Format:
    """One report format: its file extension and its renderer."""

    name: str
    extension: str
    render: Renderer
    description: str = ""
    companion: str | None = None  # a format always written beside this one into a directory


def _register(run: RunResult, options: RenderOptions | None = None) -> str:
    from fleetcheck.evidence import register  # imported late: it builds on this package

    return register.render(run, options)


def _oscal(run: RunResult, options: RenderOptions | None = None) -> str:
    from fleetcheck.evidence import oscal

    return oscal.render(run, options)


FORMATS: dict[str, Format] = {
    "text": Format("text", "txt", text.render, "terminal and plain-text report"),
    "html": Format("html", "html", html.render, "self-contained HTML evidence report"),
    "json": Format("json", "json", jsonout.render, "the run record (fleetcheck.run/1)"),
    "junit": Format("junit", "xml", junit.render, "JUnit XML for CI"),
    "csv": Format("csv", "csv", csvout.render, "findings as CSV for spreadsheets (with the "
                  "grouped CSV beside it)", companion="csv-groups"),
    "csv-groups": Format("csv-groups", "groups.csv", csvout.render_groups,
                         "findings grouped by problem, as CSV"),
    "markdown": Format("markdown", "md", markdown.render,
                       "compact grouped summary for pull requests and CI pages"),
    "register": Format("register", "register.csv", _register,
                       "the ports register (PCI DSS 1.2.5) as CSV"),
    "oscal": Format("oscal", "oscal.json", _oscal, "OSCAL assessment results (JSON)"),
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
            hint = did_you_mean(name, [*FORMATS, "all"])
            raise ValueError(f"unknown format {name!r}{hint} (known: {', '.join(FORMATS)}, all)")
    if not names:
        raise ValueError("no format given")
    return list(dict.fromkeys(names))
