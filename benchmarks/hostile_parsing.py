"""The worst a hostile host (or a process name on it) can make each parser spend.

Run from the project root: `PYTHONPATH=. python benchmarks/hostile_parsing.py`.
Every function that reads remote text (tests/parsers/hostile_text.py: `TARGETS`) is fed
every adversarial shape (`adversarial`: a row going on with a chunk of the dialect's
own syntax n times, n/16 rows ending in it, the chunk alone); the shape that costs the
most CPU at n = 4,096 is then timed at n = 65,536. The table prints that worst case:
its size, its time, its throughput, and the ratio of the two sizes' times (16 when
linear, 256 when quadratic), all measured in the same run. The first table is the case
from the report: one ss row with `users:(` followed by 64k `("`.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

from benchmarks.common import print_table
from tests.parsers.hostile_text import TARGETS, Target, adversarial, attempt

SMALL, BIG = 4096, 65536


def _cpu(target: Target, text: str, repeat: int) -> float:
    """Best CPU seconds of `repeat` runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        attempt(target, text)
        best = min(best, time.process_time() - start)
    return best


def _reported(repeat: int) -> list[list[object]]:
    ss = next(t for t in TARGETS if t.name == "ss")
    row = "tcp LISTEN 0 128 0.0.0.0:1923 0.0.0.0:* users:("
    rows = []
    for n in (4096, 16384, 65536):
        text = ss.header + row + '("' * n + "\n"
        seconds = _cpu(ss, text, repeat)
        rows.append([f'users:( + {n} ("', len(text) // 1024, seconds * 1000])
    return rows


@dataclass(frozen=True)
class Worst:
    """A target's most expensive adversarial shape, timed at both sizes."""

    target: str
    shape: str
    kib: int
    ms: float
    ratio: float

    def row(self) -> list[object]:
        """The table row."""
        return [self.target, self.shape, self.kib, self.ms,
                self.kib * 1024 / max(self.ms, 1e-6) / 1000, self.ratio]


def _worst(target: Target, repeat: int) -> Worst:
    timed = [(_cpu(target, text, 1), label) for label, text in adversarial(target, SMALL)]
    label = max(timed)[1]
    small = dict(adversarial(target, SMALL))[label]
    big = dict(adversarial(target, BIG))[label]
    small_time, big_time = _cpu(target, small, repeat), _cpu(target, big, repeat)
    return Worst(target.name, label, len(big) // 1024, big_time * 1000,
                 big_time / max(small_time, 1e-9))


def main() -> None:
    parser = argparse.ArgumentParser(description="Worst-case parsing cost of hostile text.")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (best taken)")
    parser.add_argument("--only", help="comma-separated target names")
    args = parser.parse_args()
    print_table("The reported case: one ss row, users:( then n times (\" (CPU, best of runs)",
                ["input", "KiB", "ms"], _reported(args.repeat))
    names = set(args.only.split(",")) if args.only else None
    worst = [_worst(t, args.repeat) for t in TARGETS if names is None or t.name in names]
    print_table(f"Worst adversarial shape per parser at n = {BIG} (ratio: time at n = {BIG} "
                f"over n = {SMALL}; 16 is linear, 256 quadratic)",
                ["target", "worst shape", "KiB", "ms", "MB/s", "ratio"],
                [w.row() for w in worst])
    slowest = max(worst, key=lambda w: w.ms)
    print(f"\nworst of all: {slowest.ms:.0f} ms ({slowest.target}, {slowest.shape}, "
          f"{slowest.kib} KiB); highest ratio {max(w.ratio for w in worst):.1f}")


if __name__ == "__main__":
    main()
