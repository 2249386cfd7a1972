"""Runs ansible-core CLI invocations for the oracle tests, forking one child per invocation.

Importing ansible takes most of a CLI run's time, so this process imports the CLI
modules once and forks a fresh child for each job; the child runs the CLI's own
`main()` (what the `ansible-inventory` / `ansible` commands run) with its stdout
and stderr sent to files. Jobs arrive as JSON lines on stdin; each finished job
is reported as a JSON line `{"id": ..., "code": ...}` on stdout.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import ansible.cli.adhoc
import ansible.cli.inventory
import ansible.cli.vault

MAINS: dict[str, Any] = {"ansible-inventory": ansible.cli.inventory.main,
                         "ansible": ansible.cli.adhoc.main,
                         "ansible-vault": ansible.cli.vault.main}


def _child(job: dict[str, Any]) -> None:
    code = 70
    try:
        with open(job["out"], "wb") as out, open(job["err"], "wb") as err, \
                open(os.devnull, "rb") as null:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(null.fileno(), 0)
            os.dup2(out.fileno(), 1)
            os.dup2(err.fileno(), 2)
        sys.argv = [job["tool"], *job["args"]]
        try:
            MAINS[job["tool"]](sys.argv)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def main() -> None:
    """Serve jobs from stdin, at most `argv[1]` children at a time."""
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    running: dict[int, str] = {}

    def reap() -> None:
        pid, status = os.wait()
        print(json.dumps({"id": running.pop(pid), "code": os.waitstatus_to_exitcode(status)}),
              flush=True)

    for line in sys.stdin:
        job = json.loads(line)
        while len(running) >= limit:
            reap()
        pid = os.fork()
        if pid == 0:
            _child(job)
        running[pid] = job["id"]
    while running:
        reap()


if __name__ == "__main__":
    main()
