"""Where the non-Linux test material lives and which parser reads each piece."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.conftest import CORPUS, REPO

FIXTURES = REPO / "tests" / "fixtures"
OS_DIRS = ("macos", "freebsd", "openbsd", "windows", "solaris", "hpux", "aix", "android")

# Every non-Linux corpus output and the parser for its dialect.
CORPUS_TOOLS: dict[str, str] = {
    "macos/lsof-i4TCP-sTCP-LISTEN": "lsof",  # plain lsof table: the Linux helper's parser
    "macos/lsof-nP-i-FpctPn": "lsof-fields",
    "macos/netstat-An-10.14": "bsd-netstat",
    "macos/netstat-n-a-p-tcp": "bsd-netstat",
    "freebsd/netstat-Aa-names-12": "bsd-netstat",
    "freebsd/netstat-AanP-12": "bsd-netstat",
    "freebsd/netstat-an-12": "bsd-netstat",
    "freebsd/sockstat-46l": "sockstat",
    "freebsd/sockstat-Ptcp-column-overflow": "sockstat",
    "windows/get-nettcpconnection-listen-json": "powershell",
    "windows/netstat-an-win10": "windows-netstat",
    "windows/netstat-anbo-select-string": "windows-netstat",
    "windows/netstat-aon-win10": "windows-netstat",
    "windows/netstat-aonb-win10": "windows-netstat",
    "solaris/netstat-an-finet-finet6-s11": "solaris-netstat",
    "hpux/netstat-an-finet": "bsd-netstat",
    "hpux/netstat-an-finet6": "bsd-netstat",
    "aix/netstat-Aan-grep-listen": "bsd-netstat",
}


def read(path: Path) -> str:
    """A captured output as the CLI reads it: bytes decoded as UTF-8, bad bytes replaced."""
    return path.read_bytes().decode("utf-8", "replace")


def fixture_cases() -> list[Path]:
    """The expected-result files (<name>.json) of every non-Linux fixture."""
    return sorted(p for d in OS_DIRS for p in (FIXTURES / d).glob("*.json"))


def fixture(path: Path) -> dict[str, Any]:
    """A fixture's expectation: command, parser, os, notes, listeners."""
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def corpus_path(name: str) -> Path:
    """The .out file of a corpus entry."""
    return CORPUS / f"{name}.out"
