"""How a step's CPU time grows with its input: n against FACTOR times n, in the same run.

Linear work costs about FACTOR times as much at FACTOR n, quadratic FACTOR**2. The figure is
a ratio of CPU times (best of a few tries), never an absolute time, so a loaded machine
slows both sides alike; LIMIT leaves room for noise and stays far below quadratic. FACTOR
is 16, not 8: a step's linear part (reading YAML, JSON) hides a quadratic one at small n,
and at 8n a quadratic step that costs seconds still measured under 3 x 8.
"""

from __future__ import annotations

import time
from collections.abc import Callable

FACTOR = 16
LIMIT = 3 * FACTOR
# Below this much CPU time a run is too short to measure; it counts as this much.
FLOOR = 0.002


def cpu(step: Callable[[], object]) -> float:
    """The CPU time (this process, every thread) `step` takes."""
    start = time.process_time()
    step()
    return time.process_time() - start


def growth(small: Callable[[], object], big: Callable[[], object], tries: int = 3) -> float:
    """The best ratio of `big`'s CPU time to `small`'s, stopping at the first under LIMIT."""
    best = float("inf")
    for _ in range(tries):
        best = min(best, max(cpu(big), FLOOR) / max(cpu(small), FLOOR))
        if best < LIMIT:
            break
    return best
