"""The judge's differential hunt, outside the suite: `python3 -m tests.policy.polhunt 0 2000`.

Runs seeds FIRST..LAST-1 and prints each seed that disagrees with its differences, then a
tally. Legs (`--leg`): `lib` (default) fleetcheck's judging pipeline against the
documentation's oracle (`judgediff`); `cli` real sockets in a lab namespace through `scan`
and `explain` (`clidiff`, needs root); `bad` invalid policy and waiver files through
`validate` and `scan` (`baddiff`). `python3 -m tests.policy.minimise SEED` shrinks a
disagreeing `lib` seed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path

from tests.policy.baddiff import check_bad
from tests.policy.clidiff import check_cli_seed
from tests.policy.judgediff import check_seed
from tests.policy.polgen import gen_case


def run_leg(leg: str, seed: int, root: Path) -> list[str]:
    """The differences one seed shows on one leg."""
    if leg == "cli":
        return check_cli_seed(gen_case(seed), root)
    if leg == "bad":
        return check_bad(seed, root)
    return check_seed(seed, root)[1]


def main(argv: list[str]) -> int:
    """Run the seeds named on the command line; exit 1 when any disagreed."""
    ap = argparse.ArgumentParser(prog="polhunt")
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int)
    ap.add_argument("--leg", choices=("lib", "cli", "bad"), default="lib")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    bad: Counter[str] = Counter()
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.first, args.last):
            diffs = run_leg(args.leg, seed, Path(tmp) / str(seed))
            if diffs:
                bad[diffs[0].split(":")[0]] += 1
                print(f"seed {seed}: {len(diffs)} differences", flush=True)
                for d in diffs[: None if args.verbose else 4]:
                    print(f"    {d}", flush=True)
    print(f"{args.leg}: {args.last - args.first} seeds, {sum(bad.values())} disagreeing")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
