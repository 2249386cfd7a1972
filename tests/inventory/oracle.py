"""The oracle: ansible-core's own CLIs (a test dependency), run with no user or system config.

Each run gets an empty config file (so no ansible.cfg anywhere applies), an empty
HOME and an empty working directory (so no playbook-adjacent group_vars apply),
and no ANSIBLE_* variable from the caller's environment.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tests import ahead
from tests.lab.prereq import require

_MODULES = {"ansible-inventory": "ansible.cli.inventory", "ansible": "ansible.cli.adhoc",
            "ansible-vault": "ansible.cli.vault", "ansible-config": "ansible.cli.config"}
_SERVER = Path(__file__).with_name("oracle_server.py")
WORKERS = 3  # children run at once: both cores busy, one waiting on I/O


def require_ansible() -> None:
    """ansible-core must be installed (skip locally, fail under CI=true)."""
    require(importlib.util.find_spec("ansible") is not None,
            "ansible-core (pip install 'ansible-core>=2.19,<2.20') for the oracle tests")


@dataclass(frozen=True)
class Run:
    """One oracle run's exit code and output."""

    code: int
    out: str
    err: str


class Oracle:
    """Runs ansible CLIs in an isolated, default-configured environment under `root`."""

    def __init__(self, root: Path) -> None:
        self.cwd = root / "cwd"
        home = root / "home"
        for d in (self.cwd, home, home / "tmp"):
            d.mkdir(parents=True, exist_ok=True)
        config = root / "empty.cfg"
        config.write_text("")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "LC_ALL": "C.UTF-8",
            "ANSIBLE_CONFIG": str(config),
            "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
            "ANSIBLE_NOCOLOR": "1",
        }

    def run(self, tool: str, args: Sequence[str]) -> Run:
        """Run `tool` (ansible-inventory, ansible, ansible-vault) with `args`."""
        proc = subprocess.run([sys.executable, "-m", _MODULES[tool], *args], cwd=self.cwd,
                              env=self.env, capture_output=True, text=True, timeout=300,
                              check=False)
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def many(self, jobs: Sequence[tuple[str, Sequence[str]]]) -> list[Run]:
        """Run many jobs, WORKERS at a time, through one forking server; results in job order."""
        return self.batch(jobs, [])[0]

    def shared(self, jobs: Sequence[tuple[Sequence[str], Sequence[Sequence[str]]]],
               ) -> list[list[Run]]:
        """`ansible` runs sharing one inventory reading (see oracle_server): each job is (the
        arguments the inventory is read with, each run's argv); results in job order."""
        return self.batch([], jobs)[1]

    def batch(self, jobs: Sequence[tuple[str, Sequence[str]]],
              shared: Sequence[tuple[Sequence[str], Sequence[Sequence[str]]]],
              ) -> tuple[list[Run], list[list[Run]]]:
        """`many` and `shared` at once, through one server (one import of ansible)."""
        return self.start(jobs, shared).result()

    def start(self, jobs: Sequence[tuple[str, Sequence[str]]],
              shared: Sequence[tuple[Sequence[str], Sequence[Sequence[str]]]],
              background: bool = False) -> Pending:
        """`batch` started, its answers collected by `result()`; `background`: the server
        and its children run at the lowest priority until waited on (tests/ahead.py)."""
        spool = self.cwd.parent / "spool"
        spool.mkdir(exist_ok=True)
        lines = []
        for n, (tool, args) in enumerate(jobs):
            lines.append(json.dumps({"id": str(n), "tool": tool, "args": list(args),
                                     "out": str(spool / f"{n}.out"),
                                     "err": str(spool / f"{n}.err")}))
        for n, (args, runs) in enumerate(shared):
            lines.append(json.dumps({
                "id": f"s{n}", "tool": "ansible", "args": list(args),
                "out": str(spool / f"s{n}.out"), "err": str(spool / f"s{n}.err"),
                "codes": str(spool / f"s{n}.codes"),
                "runs": [{"args": list(argv), "out": str(spool / f"s{n}-{k}.out"),
                          "err": str(spool / f"s{n}-{k}.err")} for k, argv in enumerate(runs)]}))
        (spool / "jobs").write_text("\n".join(lines) + "\n")
        (spool / "server.err").write_bytes(b"")
        job = ahead.run([sys.executable, str(_SERVER), str(WORKERS)], background,
                        spool / "jobs", spool / "done", spool / "server.err", cwd=self.cwd,
                        env=self.env)
        return Pending(job, spool, len(jobs), [len(runs) for _args, runs in shared])


class Pending:
    """An oracle batch under way in its own server process (Oracle.start)."""

    def __init__(self, job: ahead.Job, spool: Path, jobs: int, shared: list[int]) -> None:
        self.job, self.spool, self.jobs, self.shared = job, spool, jobs, shared

    def result(self) -> tuple[list[Run], list[list[Run]]]:
        """The batch's answers, once its server is done (`many`'s, then `shared`'s)."""
        code = self.job.wait(timeout=900)
        spool = self.spool
        assert code == 0, (spool / "server.err").read_text()
        done = (spool / "done").read_text()
        codes = {r["id"]: r["code"] for r in map(json.loads, done.splitlines())}
        assert len(codes) == self.jobs + len(self.shared), (spool / "server.err").read_text()
        plain = [Run(codes[str(n)], (spool / f"{n}.out").read_text(),
                     (spool / f"{n}.err").read_text()) for n in range(self.jobs)]
        grouped: list[list[Run]] = []
        for n, runs in enumerate(self.shared):
            # a job that failed before its runs: the reading's own error
            assert codes[f"s{n}"] == 0, (spool / f"s{n}.err").read_text()
            codes_of = json.loads((spool / f"s{n}.codes").read_text())
            grouped.append([Run(codes_of[k], (spool / f"s{n}-{k}.out").read_text(),
                                (spool / f"s{n}-{k}.err").read_text()) for k in range(runs)])
        return plain, grouped

def hosts_of(run: Run) -> list[str]:
    """The host names `ansible PATTERN --list-hosts` printed (its '  hosts (N):' block)."""
    lines = run.out.splitlines()
    assert lines and lines[0].strip().startswith("hosts ("), run.out + run.err
    names = [line.strip() for line in lines[1:] if line.strip()]
    assert len(names) == int(lines[0].strip()[len("hosts ("):-2]), run.out
    return names


_UNMATCHED = re.compile(r"could not match supplied host pattern, ignoring: (\S+)", re.I)


def unmatched_terms(stderr: str) -> set[str]:
    """The pattern terms a run warned it could not match (Ansible's or fleetcheck's words)."""
    return set(_UNMATCHED.findall(stderr))
