"""Misspelled sub-commands, options and choices: exit 2 naming the closest known word."""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck.cli.main import build_parser
from fleetcheck.cli.suggest import listed_choices, suggestion
from tests.conftest import run_cli


@pytest.mark.parametrize(("argv", "suggested"), [
    (["scna"], "'scan'"),
    (["scan", "--inventroy", "hosts.ini"], "'--inventory'"),
    (["scan", "--colr", "never"], "'--color'"),
    (["scan", "--color", "nevr"], "'never'"),
    (["scan", "--host-key-checking", "acept-new"], "'accept-new'"),
    (["parse", "--tool", "sss", "out.txt"], "'ss'"),
    (["scan", "--format", "jsno"], "'json'"),
    (["scan", "--fail-on", "hihg"], "'high'"),
    (["scan", "--report", "htlm=out.html"], "'html'"),
    (["inventory", "--lsit"], "'--list'"),
    (["completion", "bsh"], "'bash'"),
])
def test_a_misspelling_names_the_closest_word(tmp_path: Path, argv: list[str],
                                              suggested: str) -> None:
    res = run_cli(argv, cwd=tmp_path)
    assert res.code == 2, res.err
    (line,) = res.err.splitlines()
    assert line.startswith("fleetcheck: error: ") and f"did you mean {suggested}?" in line
    assert res.out == ""
    assert not (tmp_path / "reports").exists()  # nothing was scanned or written


def test_an_option_of_another_command_is_not_suggested_from_it(tmp_path: Path) -> None:
    """Suggestions come from the command typed: `parse` has no --inventory."""
    res = run_cli(["parse", "--inventroy", "x", "--tool", "ss", "f"], cwd=tmp_path)
    assert res.code == 2 and "unrecognized arguments: --inventroy" in res.err
    assert "--inventory" not in res.err


def test_nothing_close_adds_nothing(tmp_path: Path) -> None:
    res = run_cli(["zzzzzz"], cwd=tmp_path)
    assert res.code == 2 and "invalid choice: 'zzzzzz'" in res.err
    assert "did you mean" not in res.err


@pytest.mark.parametrize("listed", ["'auto', 'always', 'never'", "auto, always, never"])
def test_choices_are_read_as_either_python_lists_them(listed: str) -> None:
    """argparse quotes the choices up to 3.12.7 and 3.13.0, and lists them bare from 3.12.8
    and 3.13.1 on: the suggestion must not depend on which Python runs fleetcheck."""
    message = f"argument --color/--colour: invalid choice: 'nevr' (choose from {listed})"
    got = suggestion(message, build_parser(), ["scan", "--color", "nevr"])
    assert got == message + " (did you mean 'never'?)"
    assert listed_choices(listed) == ["auto", "always", "never"]


def test_an_abbreviation_of_two_spellings_of_one_option_is_that_option() -> None:
    """`--colo` abbreviates `--color` and `--colour`, one option: no ambiguity. An
    abbreviation of different options still is one, each named once."""
    from fleetcheck.cli.main import parse_arguments
    from fleetcheck.errors import InputError

    _, args = parse_arguments(["scan", "--colo", "never"])
    assert args.color == "never"
    with pytest.raises(InputError, match="ambiguous option: --co could match") as caught:
        parse_arguments(["scan", "--co", "never"])
    matched = str(caught.value).split("could match ", 1)[1].split(";", 1)[0].split(", ")
    assert "--color" in matched and "--colour" not in matched and len(set(matched)) == len(matched)
