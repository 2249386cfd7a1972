"""The hunt's world: a small lab of real sshd hosts, its inventories, and one case run as a
real `fleetcheck` process under faults (tests/envhunt/faults.py)."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from tests.conftest import REPO
from tests.envhunt.faults import Fault
from tests.lab.cgroups import make_cgroup, remove_cgroup
from tests.lab.netns import Sock, unique_name
from tests.lab.sshlab import HostSpec, SshLab

SPECS = [HostSpec("good"), HostSpec("bad"), HostSpec("down", sshd=False)]
STRAY = Sock("tcp", "0.0.0.0", 1923, process="spiced")  # forbidden by the baseline: critical
SECRET = "envhunt-Secret-91xQ"  # noqa: S105 - an inventory password that must never be shown
BASELINE = REPO / "policies" / "baseline.yml"
# Which lab host each name of a shape is; "local" is this machine (the local connection).
SHAPES: dict[str, dict[str, str]] = {
    "ok": {"good": "good", "localhost": "local"},
    "viol": {"good": "good", "bad": "bad", "localhost": "local"},
    "down": {"good": "good", "down": "down"},
    "many": {**{f"g{i:02d}": "good" for i in range(45)}, **{f"b{i:02d}": "bad" for i in range(15)}},
    "many-ok": {f"g{i:02d}": "good" for i in range(60)},
}
# No bytecode written: under `ulimit -f` the interpreter writes a truncated .pyc (its
# atomic write does not see a short write), which breaks every later import of the module.
BASE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "PYTHONPATH": str(REPO), "LANG": "C.UTF-8", "CI": "true",
            "PYTHONDONTWRITEBYTECODE": "1"}


@dataclass
class Outcome:
    """What one case did: exit status (None: killed at the timeout), streams, files."""

    status: int | None
    out: bytes
    err: bytes
    wall: float
    workdir: Path
    outdir: Path
    contacted: int  # connections the lab's sshds logged during the run
    argv: list[str] = field(default_factory=list)
    script: str = ""

    @property
    def err_text(self) -> str:
        """stderr, decoded leniently."""
        return self.err.decode("utf-8", "replace")


class World:
    """The lab, its inventories and saved runs; `run` executes one case."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="fcenv-"))
        self.root.chmod(0o755)
        self.lab = SshLab(SPECS)

    def start(self) -> World:
        """Start the lab and write what every case shares."""
        self.lab.start()
        self.lab.hold("bad", [STRAY])
        roothome = self.root / "roothome"
        roothome.mkdir()
        lines = [re.sub(r"^(root:[^:]*:0:0:[^:]*:)[^:]*:", rf"\g<1>{roothome}:", line)
                 for line in Path("/etc/passwd").read_text().splitlines()]
        (self.root / "passwd").write_text("\n".join(lines) + "\n")
        for shape in SHAPES:
            self.inventory(shape)
        return self

    def stop(self) -> None:
        """Remove the lab and every file."""
        self.lab.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def inventory(self, shape: str) -> Path:
        """The YAML inventory of `shape` (written once)."""
        path = self.root / f"inv-{shape}.yml"
        if path.exists():
            return path
        hosts: dict[str, dict[str, object]] = {}
        for name, what in SHAPES[shape].items():
            if what == "local":
                hosts[name] = {"ansible_connection": "local"}
                continue
            hosts[name] = {"ansible_host": self.lab.hosts[what].address, "ansible_user": "fcops",
                           "ansible_ssh_private_key_file": str(self.lab.key),
                           "ansible_password": SECRET}
        path.write_text(yaml.safe_dump({"all": {"hosts": hosts}}, sort_keys=False))
        return path

    def contacts(self) -> int:
        """Connections every lab sshd has logged so far."""
        total = 0
        for host in self.lab.hosts.values():
            log = host.dir / "sshd.log"
            if log.exists():
                total += log.read_text(errors="replace").count("Connection from ")
        return total

    def workdir(self, name: str) -> Path:
        """A fresh case directory with its own home (and the lab's known_hosts in it)."""
        w = self.root / "cases" / name
        shutil.rmtree(w, ignore_errors=True)
        (w / "home" / ".ssh").mkdir(parents=True)
        shutil.copy(self.lab.known_hosts, w / "home" / ".ssh" / "known_hosts")
        return w

    def run(self, name: str, argv: Sequence[str], faults: Sequence[Fault], outdir: str,
            timeout: float = 150.0) -> Outcome:
        """Run `fleetcheck ARGV` in the controller namespace, in a private mount namespace,
        under `faults`; `{W}` in arguments and faults is the case directory, `{OUT}` the
        reports directory."""
        w = self.workdir(name)
        subst = {"{W}": str(w), "{PY}": sys.executable}
        out = _fill(outdir, subst)
        subst["{OUT}"] = out
        env: dict[str, str | None] = {**BASE_ENV, "HOME": str(w / "home")}
        for f in faults:
            env.update({k: None if v is None else _fill(v, subst) for k, v in f.env.items()})
        words = [f"{k}={v}" for k, v in env.items() if v is not None]
        streams = {0: "</dev/null", 1: f">{w}/stdout", 2: f"2>{w}/stderr"}
        for f in faults:
            for token in f.redirect.split():
                streams[2 if token.startswith("2") else 0 if token.startswith("<") else 1] = token
        command = [*map(shlex.quote, ["/usr/bin/nice", "-n", "19", "/usr/bin/env", "-i", *words,
                                      sys.executable, "-m", "fleetcheck",
                                      *(_fill(a, subst) for a in argv)]),
                   *streams.values()]
        lines = [f"mount --bind {self.root / 'passwd'} /etc/passwd"]
        lines += [_fill(p, subst) for f in faults for p in f.pre]
        cwds = [f.cwd for f in faults if f.cwd]
        lines.append(f"cd {_fill(cwds[-1], subst) if cwds else w}")
        cgroup = None
        pids = [f.pids_max for f in faults if f.pids_max]
        if pids:
            cgroup = _pids_cgroup()
            (cgroup / "pids.max").write_text(f"{min(pids)}\n")
            lines.append(f"echo $$ > {cgroup}/cgroup.procs")
        lines += [limit for f in faults for limit in f.limits]
        lines += [" ".join(command), f"echo $? > {w}/status", "kill $(jobs -p) 2>/dev/null",
                  "exit 0"]
        script = "\n".join(lines) + "\n"
        (w / "script.sh").write_text(script)
        before = self.contacts()
        start = time.monotonic()
        argv_all = self.lab.controller.exec_argv(["unshare", "-m", "--propagation", "private",
                                                  "bash", str(w / "script.sh")])
        try:
            with open(w / "shell.log", "wb") as log:
                proc = subprocess.Popen(argv_all, stdin=subprocess.DEVNULL, stdout=log,
                                        stderr=log, start_new_session=True)
                try:
                    proc.wait(timeout=timeout)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        finally:  # also when the hunt is stopped mid-case
            if cgroup is not None:
                remove_cgroup(cgroup)
        wall = time.monotonic() - start
        status_file = w / "status"
        status = int(status_file.read_text()) if status_file.exists() else None
        return Outcome(status, _read(w / "stdout"), _read(w / "stderr"), wall, w, Path(out),
                       self.contacts() - before, list(argv), script)


def _pids_cgroup() -> Path:
    """A new cgroup with the pids controller (v1's hierarchy on a hybrid machine)."""
    v1 = Path("/sys/fs/cgroup/pids")
    if (v1 / "cgroup.procs").exists():
        return make_cgroup(unique_name("fcenv"), parent=v1)
    return make_cgroup(unique_name("fcenv"))


def _fill(text: str, subst: dict[str, str]) -> str:
    for key, value in subst.items():
        text = text.replace(key, value)
    return text


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
