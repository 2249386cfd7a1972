"""Shared by the benchmark scripts: wall/CPU measurement and a printed table."""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate


@dataclass(frozen=True)
class Measurement:
    """Wall-clock seconds and CPU seconds (this process and its reaped children)."""

    wall: float
    cpu: float


def children_cpu() -> float:
    """CPU seconds of this process's reaped children (the tools a benchmark runs) so far."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime + children_cpu()


def measure(fn: Callable[[], Any]) -> Measurement:
    """Run `fn` once and measure it."""
    cpu0, wall0 = _cpu(), time.perf_counter()
    fn()
    return Measurement(time.perf_counter() - wall0, _cpu() - cpu0)


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a titled table of figures."""
    print(f"\n{title}")
    print(tabulate(rows, headers=list(headers), tablefmt="github", floatfmt=".3f"))
