"""Argument types for numbers: what argparse's int and float accept that nothing can use.

float() reads 'nan' and 'inf', which every comparison with a time passes or fails
silently (a host "timed out" at once), and numbers past what the OS's timers and the
calendar hold; int() reads any length. Each becomes argparse's usage error (exit 2).
"""

from __future__ import annotations

import argparse
import math

# About 11 days: past it poll()'s millisecond timeout overflows a C int.
MAX_SECONDS = 1_000_000.0
# Days (a date that many days back must exist), runs, forks, retries, shard sizes.
MAX_COUNT = 100_000


def seconds(text: str) -> float:
    """A finite number of seconds up to MAX_SECONDS; ArgumentTypeError otherwise."""
    value = float(text)
    if not math.isfinite(value) or abs(value) > MAX_SECONDS:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds up to "
                                         f"{MAX_SECONDS:.0f}")
    return value


def count(text: str) -> int:
    """A whole number up to MAX_COUNT either way; ArgumentTypeError otherwise."""
    value = int(text)
    if abs(value) > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text!r} is larger than {MAX_COUNT}")
    return value
