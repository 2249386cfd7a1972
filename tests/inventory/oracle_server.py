"""Runs ansible-core CLI invocations for the oracle tests, forking one child per invocation.

Importing ansible takes most of a CLI run's time, so this process imports the CLI
modules once and forks a fresh child for each job; the child runs the CLI's own
`main()` (what the `ansible-inventory` / `ansible` commands run) with its stdout
and stderr sent to files. Jobs arrive as JSON lines on stdin; each finished job
is reported as a JSON line `{"id": ..., "code": ...}` on stdout.

A job with `runs` reads its inventory once, through the `ansible` CLI's own argument
parsing and `_play_prereqs`, then forks one grandchild per run; each runs the `ansible`
CLI's `main()` with its own argv, handed that inventory instead of reading it again
(reading it is most of a run's time). Each grandchild gets an untouched copy, so it
sees what a fresh `ansible` process would, but for the warnings of the reading (made
once, in the child). The runs' exit codes are written to the job's `codes` file as a
JSON list.

ansible.builtin's routing table is parsed once, before any fork (tests/ansible_routing.py):
it was over half of each child's time.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from typing import Any

import ansible.cli
import ansible.cli.adhoc
import ansible.cli.inventory
import ansible.cli.vault
from ansible.utils.context_objects import GlobalCLIArgs

if not __package__:  # run as a script (as the oracle runs it): the repository on the path
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
from tests import ansible_routing

MAINS: dict[str, Any] = {"ansible-inventory": ansible.cli.inventory.main,
                         "ansible": ansible.cli.adhoc.main,
                         "ansible-vault": ansible.cli.vault.main}

ansible_routing.cache()


def _redirect(out_path: str, err_path: str) -> None:
    with open(out_path, "wb") as out, open(err_path, "wb") as err, \
            open(os.devnull, "rb") as null:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(null.fileno(), 0)
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)


def _main_code(tool: str, args: list[str]) -> int:
    sys.argv = [tool, *args]
    try:
        MAINS[tool](sys.argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _child(job: dict[str, Any]) -> None:
    code = 70
    try:
        _redirect(job["out"], job["err"])
        code = _runs(job) if "runs" in job else _main_code(job["tool"], job["args"])
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _runs(job: dict[str, Any]) -> int:
    """Read the job's inventory once, then each run in a grandchild; 0 when all were run."""
    cli = ansible.cli.adhoc.AdHocCLI(["ansible", "all", *job["args"]])
    ansible.cli.CLI.run(cli)  # what every CLI does first: parse, then load plugins
    prereqs = cli._play_prereqs()
    # the parsed arguments are a process-wide singleton: each run parses its own again
    GlobalCLIArgs._Singleton__instance = None
    ansible.cli.adhoc.AdHocCLI._play_prereqs = lambda self: prereqs
    # the plugin loader is set up already (the same way): a second set-up only warns
    ansible.cli.init_plugin_loader = lambda *args, **kwargs: None
    codes = []
    for run in job["runs"]:
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 70
            try:
                _redirect(run["out"], run["err"])
                code = _main_code("ansible", run["args"])
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
        codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    with open(job["codes"], "w", encoding="utf-8") as out:
        json.dump(codes, out)
    return 0


def main() -> None:
    """Serve jobs from stdin, at most `argv[1]` children at a time."""
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    running: dict[int, str] = {}
    gc.freeze()  # what is loaded stays out of the children's collections (no copy-on-write)

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
