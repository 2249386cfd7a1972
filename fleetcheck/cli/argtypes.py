"""Argument types for numbers: what argparse's int and float accept that nothing can use.

float() reads 'nan' and 'inf', which every comparison with a time passes or fails
silently (a host "timed out" at once), and numbers past what the OS's timers and the
calendar hold; int() reads any length, and both read other scripts' digits ('٣' is 3),
blanks around the number and '_' between digits. Only plain ASCII numbers are taken, as
everywhere else (fleetcheck/numbers.py); the rest is argparse's usage error (exit 2).
"""

from __future__ import annotations

import argparse
import math
import re

# About 11 days: past it poll()'s millisecond timeout overflows a C int.
MAX_SECONDS = 1_000_000.0
# Days (a date that many days back must exist), runs, forks, retries, shard sizes.
MAX_COUNT = 100_000
_WHOLE = re.compile(r"-?[0-9]+", re.ASCII)
_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def seconds(text: str) -> float:
    """A decimal number of seconds up to MAX_SECONDS; ArgumentTypeError otherwise."""
    if not _DECIMAL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds up to "
                                         f"{MAX_SECONDS:.0f}")
    return value


def count(text: str) -> int:
    """A whole number up to MAX_COUNT either way; ArgumentTypeError otherwise."""
    if not _WHOLE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    value = int(text)
    if abs(value) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text!r} is larger than {MAX_COUNT}")
    return value
