"""Every Linux output of the shared corpus parses to exactly its sidecar's listeners."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from fleetcheck.parsers import PARSERS
from tests.conftest import CORPUS
from tests.lab.prereq import require_corpus

LINUX = CORPUS / "linux"
FILES = sorted(LINUX.glob("*.out")) if LINUX.is_dir() else []

# Corpus file name prefix -> the parser for it (longest prefixes first).
TOOLS = (
    ("busybox-netstat-", "busybox-netstat"),
    ("netstat-", "netstat"),
    ("ss-", "ss"),
    ("lsof-", "lsof"),
    ("proc-net-", "proc-net"),
)


def tool_for(path: Path) -> str:
    """The parser a corpus file is meant for, from its name."""
    for prefix, tool in TOOLS:
        if path.name.startswith(prefix):
            return tool
    raise AssertionError(f"no parser known for corpus file {path.name}")


def expected(path: Path) -> list[dict[str, Any]]:
    """The sidecar's `listeners:` list."""
    meta = yaml.safe_load(path.with_name(path.name[:-4] + ".meta.yaml").read_text())
    listeners: list[dict[str, Any]] = meta["listeners"]
    return listeners


def test_the_linux_corpus_is_there() -> None:
    require_corpus(LINUX, minimum=23)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_corpus_file_parses_to_its_sidecar(path: Path) -> None:
    text = path.read_bytes().decode("utf-8")
    got = [li.to_dict() for li in PARSERS[tool_for(path)](text)]
    # Exactly the sidecar: same listeners in the same order, every key equal, and no key
    # the sidecar lacks (parsers leave out what the corpus format does not define for
    # their tool, e.g. ss -e's uid:/ino:, so that `fleetcheck parse` has this shape).
    assert got == expected(path)
