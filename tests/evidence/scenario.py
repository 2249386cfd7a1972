"""The evidence lab: real sshd hosts, one of each kind of fact a report must show, one real run.

Seven hosts in their own network namespaces behind the lab's bridge, each with its own sshd
and real sockets held by real processes: a compliant host, a stray listener, the forbidden
TCP 1923, a stray covered by a valid waiver, a stray whose waiver expired, a host with
nothing on its SSH port (connection refused) and a host whose listeners belong to processes
with hostile names: `<script>alert(1)</script>` (markup), `"><img src=x>` (breaking out of
an HTML attribute) and `+cmd|' /C calc'` (a spreadsheet formula). The kernel keeps at most
15 bytes of a process's name (its comm, what `ss` and /proc show), so the tools see
`<script>alert(1`; the full name stays in the process's argv[0].

`fleetcheck scan` runs once, as a real process in the lab's controller namespace, with
only the files a user would have: an inventory, a waiver file, `~/.ssh/id_ed25519` and
`~/.ssh/known_hosts`. It writes every format; the tests read what it wrote.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from fleetcheck import clock
from tests.conftest import REPO
from tests.lab.netns import Namespace, Sock
from tests.lab.sshlab import HostSpec, SshLab

FORMATS = "text,html,json,junit,csv"
EXTENSIONS = ("csv", "groups.csv", "html", "json", "txt", "xml")  # the CSV brings its groups
HOSTILE = "<script>alert(1)</script>"
COMM_BYTES = 15  # TASK_COMM_LEN - 1: what the kernel keeps of a process's name
HOSTILE_COMM = HOSTILE[:COMM_BYTES]
# Port -> (proto, process name) on the hostile host; the comm of each is what reports show.
HOSTILE_SOCKETS = {31337: ("tcp", HOSTILE), 31338: ("tcp", '"><img src=x>'),
                   31339: ("udp", "+cmd|' /C calc'")}
# Waiver dates around the real date (the run judges expiry on it): far enough either side
# that a run crossing midnight sees the same statuses.
_TODAY = clock.today()  # the date runs judge on: UTC's
GRANTED, LAPSED, VALID_UNTIL = (str(_TODAY + timedelta(days=d)) for d in (-90, -30, 180))

SPECS = [HostSpec("clean1"), HostSpec("stray1"), HostSpec("spice1"), HostSpec("waived1"),
         HostSpec("expired1"), HostSpec("down1", sshd=False), HostSpec("hostile1")]

# Beyond sshd's own tcp/22 on 0.0.0.0 and ::, what each host holds open.
PLANTED: dict[str, list[Sock]] = {
    "clean1": [Sock("tcp", "127.0.0.1", 6379, process="redis-server")],
    "stray1": [Sock("tcp", "0.0.0.0", 8081, process="webapp")],
    "spice1": [Sock("tcp", "0.0.0.0", 1923, process="spiced")],
    "waived1": [Sock("tcp", "0.0.0.0", 8443, process="java")],
    "expired1": [Sock("udp", "0.0.0.0", 5353, process="mdnsd")],
    "hostile1": [Sock(proto, "0.0.0.0", port, process=name)
                 for port, (proto, name) in HOSTILE_SOCKETS.items()],
}

# What the run must find: host -> (status, {(kind, proto, port, process, waived, waiver)}).
EXPECTED: dict[str, tuple[str, set[tuple[Any, ...]]]] = {
    "clean1": ("compliant", set()),
    "stray1": ("noncompliant", {("stray", "tcp", 8081, "webapp", False, None)}),
    "spice1": ("noncompliant", {("forbidden", "tcp", 1923, "spiced", False, None)}),
    "waived1": ("compliant", {("stray", "tcp", 8443, "java", True, "W-JAVA")}),
    "expired1": ("noncompliant", {("stray", "udp", 5353, "mdnsd", False, None)}),
    "down1": ("unreachable", set()),
    "hostile1": ("noncompliant", {("stray", proto, port, name[:COMM_BYTES], False, None)
                                  for port, (proto, name) in HOSTILE_SOCKETS.items()}),
}

WAIVERS = {"waivers": [
    {"id": "W-JAVA", "hosts": "waived1", "proto": "tcp", "port": 8443, "process": "java",
     "reason": "Legacy Java admin console until the migration.", "ticket": "CHG-4711",
     "owner": "alice@example.net", "approved_by": "sec-team", "created": GRANTED,
     "expires": VALID_UNTIL},
    {"id": "W-MDNS", "hosts": "expired1", "proto": "udp", "port": 5353,
     "reason": "mDNS for the printer pilot.", "ticket": "SEC-12", "owner": "bob@example.net",
     "approved_by": "sec-team", "created": GRANTED, "expires": LAPSED},
    {"id": "W-IDLE", "hosts": "clean1", "proto": "tcp", "port": 10050,
     "reason": "Monitoring agent, never installed.", "owner": "carol@example.net",
     "approved_by": "sec-team", "created": GRANTED, "expires": VALID_UNTIL},
]}


@dataclass(frozen=True)
class LabRun:
    """What one real `fleetcheck scan` did: exit code, streams, the files it wrote."""

    code: int
    out: str
    err: str
    workdir: Path
    files: dict[str, Path]  # extension -> report file

    def run(self) -> dict[str, Any]:
        """The run's JSON report, parsed."""
        data: dict[str, Any] = json.loads(self.files["json"].read_text("utf-8"))
        return data

    def host(self, name: str) -> dict[str, Any]:
        """One host of the JSON report."""
        return next(h for h in self.run()["hosts"] if h["name"] == name)


def _user_files(lab: SshLab, workdir: Path) -> dict[str, str]:
    """The user's home (key, known_hosts), inventory and waivers in `workdir`; the env."""
    ssh = workdir / "home" / ".ssh"
    ssh.mkdir(parents=True)
    shutil.copyfile(lab.key, ssh / "id_ed25519")
    (ssh / "id_ed25519").chmod(0o600)
    shutil.copyfile(lab.known_hosts, ssh / "known_hosts")
    hosts = {name: {"ansible_host": h.address, "ansible_user": "fcops"}
             for name, h in lab.hosts.items()}
    (workdir / "inventory.yml").write_text(yaml.safe_dump(
        {"all": {"children": {"lab": {"hosts": hosts}}}}, sort_keys=False))
    (workdir / "waivers.yml").write_text(yaml.safe_dump(WAIVERS, sort_keys=False))
    return _env(workdir)


def _env(workdir: Path) -> dict[str, str]:
    """The environment of a user whose home is in `workdir`, in CI (no progress line)."""
    return {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(workdir / "home"), "CI": "true"}


def fleetcheck(argv: list[str], workdir: Path, env: dict[str, str],
               netns: Namespace | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m fleetcheck ARGV` as a real process (in `netns`, when given)."""
    command = [sys.executable, "-m", "fleetcheck", *argv]
    return subprocess.run(netns.exec_argv(command) if netns else command, cwd=workdir, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def scan(lab: SshLab, workdir: Path) -> LabRun:
    """One `fleetcheck scan` of the whole lab over SSH, writing every format."""
    env = _user_files(lab, workdir)
    argv = ["scan", "-i", "inventory.yml", "-w", "waivers.yml", "--become",
            "--connect-timeout", "3", "--format", FORMATS, "-o", "reports"]
    proc = fleetcheck(argv, workdir, env, lab.controller)
    # The run's own files by extension ('groups.csv' too); fleetcheck-latest.* left out.
    files = {p.name.split(".", 1)[1]: p
             for p in sorted((workdir / "reports").glob("fleetcheck-2*"))}
    return LabRun(proc.returncode, proc.stdout, proc.stderr, workdir, files)


def rerender(run: LabRun, outdir: Path) -> subprocess.CompletedProcess[str]:
    """`fleetcheck report RUN.json --format (every format) -o OUTDIR`, as the user would."""
    return fleetcheck(["report", str(run.files["json"]), "--format", FORMATS, "-o",
                       str(outdir)], run.workdir, _env(run.workdir))
