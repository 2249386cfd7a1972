"""Did-you-mean for the command line: misspelled sub-commands, options and choices.

argparse (before Python 3.14's `suggest_on_error`) only says what it did not know; every
usage error passes through `suggestion`, which adds the closest word the parser does know.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterable, Sequence

from fleetcheck.words import closest, did_you_mean

_CHOICE = re.compile(r"invalid choice: '((?:[^'\\]|\\.)*)' \(choose from (.*)\)$")
_QUOTED = re.compile(r"'((?:[^'\\]|\\.)*)'")
_UNKNOWN = re.compile(r"^unrecognized arguments: (.*)$")


def subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The sub-command parsers of `parser` by name ({} when it has none)."""
    for action in parser._actions:  # argparse keeps them only here
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def option_strings(parser: argparse.ArgumentParser) -> list[str]:
    """Every long and short option `parser` accepts."""
    return [opt for action in parser._actions for opt in action.option_strings]


def chosen_command(parser: argparse.ArgumentParser, argv: Sequence[str]
                   ) -> argparse.ArgumentParser:
    """The sub-command parser `argv` selects (the first word naming one), else `parser`."""
    subs = subparsers(parser)
    return next((subs[word] for word in argv if word in subs), parser)


def suggestion(message: str, parser: argparse.ArgumentParser, argv: Sequence[str]) -> str:
    """`message` with ' (did you mean X?)' added where a known word is close to what was typed.

    Handles argparse's two shapes: 'invalid choice: WORD (choose from ...)' (sub-commands
    and options with choices) and 'unrecognized arguments: ...' (misspelled options).
    """
    m = _CHOICE.search(message)
    if m:
        return message + did_you_mean(m.group(1), listed_choices(m.group(2)))
    m = _UNKNOWN.match(message)
    words = m.group(1).split() if m else list(argv)
    known = option_strings(chosen_command(parser, argv))
    unknown = [w.split("=", 1)[0] for w in words
               if w.startswith("-") and w != "-" and w.split("=", 1)[0] not in known]
    close = [(w, c) for w in unknown if (c := closest(w, known)) is not None]
    if not close:
        return message
    if m:  # the misspelling is the error
        return message + f" (did you mean {' or '.join(repr(c) for _, c in close)}?)"
    # another error came first (a required option 'missing'): the misspelling is its cause
    return message + "; " + "; ".join(f"{w} is not an option (did you mean {c!r}?)"
                                      for w, c in close)


def listed_choices(listed: str) -> list[str]:
    """The choices of argparse's 'choose from ...': quoted (`'auto', 'never'`) up to Python
    3.12.7 and 3.13.0, bare (`auto, never`) from 3.12.8 and 3.13.1 on."""
    return _QUOTED.findall(listed) or [w.strip() for w in listed.split(",") if w.strip()]


def close_word(word: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' for a value a command checks itself (formats, severities)."""
    return did_you_mean(word, known)
