"""Greedy shrinking for the seeded hunts: the smallest case single steps reach."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

T = TypeVar("T")


def shrink(case: T, smaller: Callable[[T], Iterable[T]], still: Callable[[T], bool]) -> T:
    """The case reached by taking, while any exists, the first of `smaller(case)` for which
    `still` holds."""
    shrunk = True
    while shrunk:
        shrunk = False
        for candidate in smaller(case):
            if still(candidate):
                case, shrunk = candidate, True
                break
    return case
