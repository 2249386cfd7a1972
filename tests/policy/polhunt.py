"""The judge's differential hunt, outside the suite: `python3 -m tests.policy.polhunt 0 2000`.

Runs seeds FIRST..LAST-1 through fleetcheck's judge and the documentation's oracle
(`judgediff`) and prints each seed that disagrees with its differences, then a tally.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

from tests.policy.judgediff import check_seed


def main(argv: list[str]) -> int:
    """Run the seeds named on the command line; exit 1 when any disagreed."""
    first, last = int(argv[0]), int(argv[1])
    verbose = "-v" in argv
    bad: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(first, last):
            _, diffs = check_seed(seed, Path(tmp) / str(seed))
            if diffs:
                bad[diffs[0].split(":")[1].split()[0] if ":" in diffs[0] else diffs[0]] += 1
                print(f"seed {seed}: {len(diffs)} differences")
                for d in diffs[: None if verbose else 4]:
                    print(f"    {d}")
    print(f"{last - first} seeds, {sum(bad.values())} disagreeing: {dict(bad)}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
