"""Many `ansible-config dump` runs in one process: a child forked per case (the test oracle).

Reads a JSON list of cases ({"cwd", "environ", "argsets"}) on stdin and writes a JSON
list holding, for each case, one {"code", "out", "err"} per argument set. Each child is
ansible-core's own `ansible-config` CLI in the case's working directory and environment,
run once per argument set (the configuration is read once, as every run would read it);
forking from a parent that imported the modules which read no configuration (and parsed
ansible.builtin's routing table, tests/ansible_routing.py), a few children at a time, saves
most of the start-up. `batch` runs this script from a test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any


def batch(cases: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Run `cases` ({"cwd", "environ", "argsets"}) through this script in a fresh interpreter."""
    return start(cases)()


def start(cases: list[dict[str, Any]], spool: Path | None = None, background: bool = False,
          ) -> Callable[[], list[list[dict[str, Any]]]]:
    """`batch` started, its files in `spool` (else a temporary directory, removed after);
    calling what it returns waits for the answers. `background`: see tests/ahead.py."""
    from tests import ahead  # not at the top: this file also runs as a script

    given = spool
    spool = spool or Path(tempfile.mkdtemp(prefix="dump-batch-"))
    (spool / "cases.json").write_text(json.dumps(cases))
    (spool / "err").write_bytes(b"")
    argv = [sys.executable, __file__]
    job = ahead.run(argv, background, spool / "cases.json", spool / "out", spool / "err")

    def collect() -> list[list[dict[str, Any]]]:
        try:
            code = job.wait(timeout=600)
            out, err = (spool / "out").read_bytes(), (spool / "err").read_bytes()
        finally:
            if given is None:
                shutil.rmtree(spool)
        if code != 0:
            raise subprocess.CalledProcessError(code, argv, out, err)
        results: list[list[dict[str, Any]]] = json.loads(out)
        return results
    return collect


def _one(args: list[str], out: str, err: str) -> None:
    """One `ansible-config dump` into the files `out` and `err`, its exit code after them."""
    sys.stdout.flush()
    sys.stderr.flush()
    for fd, path in ((1, out), (2, err)):
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(handle, fd)
        os.close(handle)
    code = 0
    try:
        from ansible.cli.config import main

        main(["ansible-config", "dump", "--format", "json", *args])
    except SystemExit as exc:
        if isinstance(exc.code, str):
            sys.stderr.write(exc.code + "\n")
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # anything else is ansible-core failing
        traceback.print_exc()
        code = 250
    sys.stdout.flush()
    sys.stderr.flush()
    with open(err, "a", encoding="utf-8") as e:
        e.write(f"\n{code}")


def _child(case: dict[str, Any], stem: str) -> None:
    os.environ.clear()
    os.environ.update(case["environ"])
    os.chdir(case["cwd"])
    handle = os.open(f"{stem}.err", os.O_WRONLY | os.O_CREAT, 0o600)
    saved = os.dup(2)
    os.dup2(handle, 2)
    try:
        import ansible.cli.config  # noqa: F401 - reads the configuration, once per case
    except SystemExit as exc:  # ansible-core refuses the configuration, as its CLI does
        sys.stderr.flush()
        with open(f"{stem}.err", encoding="utf-8", errors="replace") as err:
            text = err.read()
        code = exc.code if isinstance(exc.code, int) else 1
        for n in range(len(case["argsets"])):
            with open(f"{stem}.{n}.out", "w", encoding="utf-8"), \
                    open(f"{stem}.{n}.err", "w", encoding="utf-8") as err:
                err.write(f"{text}\n{code}")
        os._exit(0)
    os.dup2(saved, 2)
    for n, args in enumerate(case["argsets"]):  # a grandchild each: the CLI's state is global
        pid = os.fork()
        if pid == 0:
            _one(args, f"{stem}.{n}.out", f"{stem}.{n}.err")
            os._exit(0)
        os.waitpid(pid, 0)
    os._exit(0)


def main() -> None:
    import ansible.config.manager  # noqa: F401 - the heavy imports, before any fork

    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
    from tests import ansible_routing

    ansible_routing.cache()
    # nothing that reads the configuration (ansible.constants) may be imported before it
    assert "ansible.constants" not in sys.modules

    cases = json.load(sys.stdin)
    running: set[int] = set()
    with tempfile.TemporaryDirectory() as tmp:
        for i, case in enumerate(cases):
            if len(running) >= (os.cpu_count() or 1):
                running.discard(os.wait()[0])
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(case, os.path.join(tmp, str(i)))
            running.add(pid)
        while running:
            running.discard(os.wait()[0])
        results = []
        for i, case in enumerate(cases):
            runs = []
            for n in range(len(case["argsets"])):
                stem = os.path.join(tmp, f"{i}.{n}")
                try:
                    with open(stem + ".out", encoding="utf-8", errors="replace") as o, \
                            open(stem + ".err", encoding="utf-8", errors="replace") as e:
                        out, err = o.read(), e.read()
                except FileNotFoundError:
                    out, err = "", "\n255"
                text, _, code = err.rpartition("\n")
                runs.append({"code": int(code), "out": out, "err": text})
            results.append(runs)
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
