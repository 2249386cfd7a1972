"""A real process recording nights into a history database, for the concurrency and crash tests.

`python -m tests.history.recorder DB NAME NIGHTS HOSTS MODE`: records NIGHTS runs of a fleet
of HOSTS hosts (half of them shared by every recorder, half its own, named after NAME) and
prints 'recorded RUN_ID' after each commit. MODE 'pause' prints 'writing' in the middle of
each run's transaction and then waits there (to be killed); 'spill' does the same without
waiting, with a tiny page cache so uncommitted pages reach the WAL file before the commit.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

from fleetcheck.history import History, record
from fleetcheck.model import HostResult
from tests.history.nights import checked, night, stray


def fleet(name: str, hosts: int, n: int) -> list[HostResult]:
    """Night `n`'s hosts: shared ones with a stray that comes and goes, and our own."""
    shared = [checked(f"shared{i:04d}", stray(8000 + i % 50), *([stray(9999)] if n % 2 else []))
              for i in range(hosts // 2)]
    own = [checked(f"{name}{i:04d}", stray(7000 + i % 50)) for i in range(hosts - hosts // 2)]
    return shared + own


def main(argv: list[str]) -> int:
    """Record the nights asked for."""
    path, name, nights, hosts, mode = argv[0], argv[1], int(argv[2]), int(argv[3]), argv[4]
    original = record._move_intervals

    def writing(*args: object, **kwargs: object) -> None:
        print("writing", flush=True)  # the run's rows are written, not committed
        if mode == "pause":
            time.sleep(60)
        original(*args, **kwargs)  # type: ignore[arg-type]

    if mode in ("pause", "spill"):
        record._move_intervals = writing
    with History(Path(path), timeout=120) as db:
        if mode == "spill":
            db.conn.execute("PRAGMA cache_size = 20")  # pages: spills mid-transaction
        for n in range(nights):
            hosts_now = fleet(name, hosts, n)
            # Take the write lock first and read the clock under it, so runs of several
            # recorders start in the order they commit (as one run after another would).
            db.conn.execute("BEGIN IMMEDIATE")
            when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            run = night(db, hosts_now, when, run_id=f"{name}-{n}")
            print(f"recorded {run.run_id}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
