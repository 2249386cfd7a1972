"""Parsers: pure functions from one tool's output text to listeners, one module per dialect."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from fleetcheck.model import Listener
from fleetcheck.parsers.common import ParseError

if TYPE_CHECKING:
    from fleetcheck.parsers.guessing import Guess

Parser = Callable[[str], list[Listener]]

# Tool names as `fleetcheck parse --tool` and the collectors know them: the module and the
# function of each dialect.
_WHERE: dict[str, tuple[str, str]] = {
    # Linux
    "ss": ("ss", "parse"),
    "netstat": ("nettools", "parse"),
    "busybox-netstat": ("nettools", "parse_busybox"),
    "lsof": ("lsof", "parse"),
    "proc-net": ("procnet", "parse"),
    # Other operating systems (and lsof -F on any of them).
    "bsd-netstat": ("bsd_netstat", "parse"),  # macOS, FreeBSD, OpenBSD, NetBSD, AIX, HP-UX
    "sockstat": ("sockstat", "parse"),  # FreeBSD, NetBSD, DragonFly; Linux sockstat
    "lsof-fields": ("lsof_fields", "parse"),  # lsof -F (field output)
    "solaris-netstat": ("solaris_netstat", "parse"),  # netstat -an -f inet -f inet6
    "windows-netstat": ("windows_netstat", "parse"),  # netstat -an / -ano / -anob
    "powershell": ("powershell", "parse"),  # Get-NetTCPConnection ... | ConvertTo-Json
}


def _load(module: str, name: str) -> Any:
    """`name` from the dialect module `module`, which is imported on first use."""
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


class _Parsers(Mapping[str, Parser]):
    """Tool name -> parser, each dialect's module loaded when its parser is first asked for:
    a scan of Linux hosts never loads the BSD, Solaris or Windows code (nor `parse` the
    others')."""

    def __getitem__(self, tool: str) -> Parser:
        parser: Parser = _load(*_WHERE[tool])
        return parser

    def __iter__(self) -> Iterator[str]:
        return iter(_WHERE)

    def __len__(self) -> int:
        return len(_WHERE)


PARSERS: Mapping[str, Parser] = _Parsers()


# What a capture cannot show, though it parses: sentences `parse` says beside the listeners.
# The Linux and Windows netstats without -a or -l are refused instead (their tables then
# hold connections only); BSD-style tables without -a still list the UDP sockets.
CAVEATS: dict[str, tuple[str, str]] = {"bsd-netstat": ("bsd_netstat", "caveats")}


def caveats(tool: str, text: str) -> list[str]:
    """What `tool`'s capture `text` leaves out (usually nothing)."""
    where = CAVEATS.get(tool)
    if where is None:
        return []
    said: Callable[[str], list[str]] = _load(*where)
    return said(text)


def guess(text: str) -> Guess:
    """The tool that printed `text`, told from its shape (`parsers.guessing`, loaded here on
    first use: only `parse --tool auto` asks)."""
    from fleetcheck.parsers.guessing import guess as guessed

    return guessed(text)


def parse(tool: str, text: str) -> list[Listener]:
    """Listeners in `text` as printed by `tool`; ParseError if the text is not that tool's."""
    try:
        parser = PARSERS[tool]
    except KeyError:
        raise ParseError(f"unknown tool {tool!r} (known: {', '.join(sorted(PARSERS))})") from None
    return parser(text)


__all__ = ["CAVEATS", "PARSERS", "ParseError", "Parser", "caveats", "guess", "parse"]
