"""Parsers: pure functions from one tool's output text to listeners, one module per dialect."""

from __future__ import annotations

from collections.abc import Callable

from fleetcheck.model import Listener
from fleetcheck.parsers import lsof, nettools, procnet, ss
from fleetcheck.parsers.common import ParseError

Parser = Callable[[str], list[Listener]]

# Tool names as `fleetcheck parse --tool` and the collectors know them.
PARSERS: dict[str, Parser] = {
    # Linux
    "ss": ss.parse,
    "netstat": nettools.parse,
    "busybox-netstat": nettools.parse_busybox,
    "lsof": lsof.parse,
    "proc-net": procnet.parse,
}


def parse(tool: str, text: str) -> list[Listener]:
    """Listeners in `text` as printed by `tool`; ParseError if the text is not that tool's."""
    try:
        parser = PARSERS[tool]
    except KeyError:
        raise ParseError(f"unknown tool {tool!r} (known: {', '.join(sorted(PARSERS))})") from None
    return parser(text)


__all__ = ["PARSERS", "ParseError", "Parser", "parse"]
