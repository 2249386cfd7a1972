"""Every command and every option of the CLI is documented in docs/cli.md."""

from __future__ import annotations

import argparse
import re

import pytest

from fleetcheck.cli.main import COMMANDS, build_parser
from tests.conftest import REPO

DOC = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:  # argparse keeps sub-parsers only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("no sub-commands")


def _section(command: str) -> str:
    match = re.search(rf"^## `fleetcheck {command}`\n(.*?)(?=^## |\Z)", DOC, re.S | re.M)
    assert match, f"docs/cli.md has no '## `fleetcheck {command}`' section"
    return match.group(1)


@pytest.mark.parametrize("command", [c.name for c in COMMANDS])
def test_every_command_has_a_section(command: str) -> None:
    assert len(_section(command).strip()) > 80


def _nested(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` and the parsers of its own actions (`history prune`, `history import`)."""
    out = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            out += list(action.choices.values())
    return out


@pytest.mark.parametrize(("command", "option"), sorted({
    (name, opt)
    for name, sub in _subparsers().items()
    for parser in _nested(sub)
    for action in parser._actions
    for opt in action.option_strings
    if opt not in ("-h", "--help")
}))
def test_every_option_is_documented(command: str, option: str) -> None:
    assert re.search(rf"`{re.escape(option)}[` =]", _section(command)), \
        f"{option} of `fleetcheck {command}` is not documented in docs/cli.md"
