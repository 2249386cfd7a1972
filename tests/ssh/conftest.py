"""One lab of real sshd hosts for the whole session, and a helper to scan it through the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import REPO, run_cli, run_files
from tests.lab.netns import Sock, in_netns
from tests.lab.prereq import require_sshd_lab
from tests.lab.sshlab import NOTHING_ADDRESS, HostSpec, SshLab, running_lab
from tests.runschema import commands_written_out

FLOOD = ("yes 'tcp   LISTEN 0      128          0.0.0.0:1923       0.0.0.0:*' "
         "| head -c 40000000")
# getent passwd answering with a 256 KiB line before the real entries.
HUGE_GETENT = ("head -c 262144 /dev/zero | tr '\\0' x; echo ':x:1:1::/:/bin/sh'; shift; "
               "for u in \"$@\"; do awk -F: -v u=\"$u\" '$3 == u' /etc/passwd; done")
SPECS = [
    HostSpec("web1"), HostSpec("web2"), HostSpec("web3"), HostSpec("web4"), HostSpec("db1"),
    HostSpec("p2222", port=2222, key_types=("ed25519", "rsa", "ecdsa")),
    HostSpec("jump", bastion=True),
    HostSpec("inner1", behind_bastion=True), HostSpec("inner2", behind_bastion=True),
    HostSpec("notools", hide=("ss", "netstat", "lsof")),
    HostSpec("noproc", hide=("ss", "netstat", "lsof"), hide_proc=True),
    HostSpec("garbled", replace={"ss": "echo 'this is not what ss prints'"}),
    HostSpec("tarpit", tarpit=True),
    HostSpec("hang", replace={"ss": "exec sleep 3600"}),
    HostSpec("flood", replace={"ss": FLOOD}),
    HostSpec("nosshd", sshd=False),
    HostSpec("rekeyed", rekeyed=True),
    HostSpec("stranger", in_known_hosts=False),
    HostSpec("sudo1", doas=True), HostSpec("meta"), HostSpec("relay"),
    # Every trick at once (tests/ssh/test_hostile_host.py): process names with newlines and
    # escape sequences, a user database answering with a huge line, an echoing login.
    HostSpec("hostile", replace={"getent": HUGE_GETENT}),
    # sshd logging the algorithms each key exchange chose; the second one without AES-GCM.
    HostSpec("kexlog", sshd_config=("LogLevel DEBUG1",)),
    HostSpec("nogcm", sshd_config=("LogLevel DEBUG1", "Ciphers aes128-ctr,aes256-ctr")),
]
# Hosts the fleet run leaves out: tests change their listeners (or scan them on purpose).
SIDE_HOSTS = ("sudo1", "meta", "relay", "hostile", "kexlog", "nogcm")

# What each host's sockets are, beyond sshd's own (tcp 22 on 0.0.0.0 and ::).
PLANTED: dict[str, list[Sock]] = {
    "web1": [Sock("tcp", "0.0.0.0", 1923, process="spiced"),
             Sock("udp", "0.0.0.0", 5353, process="mdnsd"),
             Sock("tcp", "::", 8080, process="webd", v6only=True),
             Sock("tcp", "127.0.0.1", 6379, process="redis-server"),
             Sock("tcp", "0.0.0.0", 9000, process="userapp", user="nobody")],
    "web2": [Sock("tcp", "::", 1923, process="spiceproxy", v6only=False)],
    "web4": [Sock("udp", "::1", 323, process="chronyd"),
             Sock("tcp", "127.0.0.1", 5432, process="postgres", user="nobody")],
    "db1": [Sock("tcp", "0.0.0.0", 3306, process="mysqld", user="nobody"),
            Sock("udp", "127.0.0.1", 40000, process="resolver", connect_to=("127.0.0.1", 53))],
    "inner1": [Sock("tcp", "0.0.0.0", 1923, process="innerspice")],
    "inner2": [Sock("udp", "0.0.0.0", 161, process="snmpd")],
    "notools": [Sock("tcp", "0.0.0.0", 7000, process="appd", user="nobody")],
    "hostile": [Sock("tcp", "0.0.0.0", 1923, process="ev\nil"),  # hiding a forbidden port
                Sock("tcp", "0.0.0.0", 8081, process="\x1b]52;c;Zm9v\x07"),  # clipboard write
                Sock("tcp", "0.0.0.0", 8082, process="a\u2028b", user="nobody")],
    "sudo1": [Sock("tcp", "0.0.0.0", 8443, process="rootsvc"),
              Sock("tcp", "0.0.0.0", 8444, process="usersvc", user="nobody")],
}


@pytest.fixture(scope="session")
def lab() -> Iterator[SshLab]:
    """The session's lab: 20 real sshd hosts (and their planted listeners), removed at the end."""
    require_sshd_lab()
    with running_lab(SPECS) as the_lab:
        for host, socks in PLANTED.items():
            the_lab.hold(host, socks)
        yield the_lab


@dataclass
class Scan:
    """One CLI scan: exit code, stdout, stderr, the JSON report, and its wall time."""

    code: int
    out: str
    err: str
    run: dict[str, Any]
    wall: float
    text: str  # the text report file
    report: Path  # the JSON report file, as written (`run` is it read, commands written out)

    def host(self, name: str) -> dict[str, Any]:
        """The JSON of one host."""
        return next(h for h in self.run["hosts"] if h["name"] == name)

    def kind(self, name: str) -> str | None:
        """The error kind of one host (None when it was checked)."""
        err = self.host(name)["error"]
        return err["kind"] if err else None


class Fleet:
    """Writes real inventories for lab hosts and scans them with the in-process CLI."""

    def __init__(self, lab: SshLab, tmp: Path) -> None:
        self.lab = lab
        self.tmp = tmp
        self.home = tmp / "home"
        (self.home / ".ssh").mkdir(parents=True, exist_ok=True)
        self.runs = 0

    def vars(self, name: str, *, user: str = "fcops", key: Path | None = None,
             **extra: Any) -> dict[str, Any]:
        """Connection variables for lab host `name` (its address, port, user and key)."""
        host = self.lab.hosts[name]
        out: dict[str, Any] = {"ansible_host": host.address, "ansible_user": user,
                               "ansible_ssh_private_key_file": str(key or self.lab.key)}
        if host.spec.port != 22:
            out["ansible_port"] = host.spec.port
        out.update(extra)
        return out

    def inventory(self, hosts: Mapping[str, Mapping[str, Any]], name: str = "inv.yml") -> Path:
        """A YAML inventory (`all: hosts: name: vars`)."""
        path = self.tmp / name
        path.write_text(yaml.safe_dump({"all": {"hosts": {k: dict(v) for k, v in hosts.items()}}},
                                       sort_keys=False))
        return path

    def scan(self, inventory: Path, *args: str, environ: Mapping[str, str] | None = None,
             stdin: str = "", tty_err: bool = False, known_hosts: Path | None = None) -> Scan:
        """`fleetcheck scan` from the controller namespace; reports into a fresh directory."""
        self.runs += 1
        out = self.tmp / f"out{self.runs}"
        argv = ["scan", "-i", str(inventory), "-o", str(out), "--format", "text,json",
                "--known-hosts", str(known_hosts or self.lab.known_hosts), "--workers", "1",
                "--connect-timeout", "3", *args]
        env = {"HOME": str(self.home), **(environ or {})}
        start = time.monotonic()
        with in_netns(self.lab.controller.name):
            res = run_cli(argv, cwd=self.tmp, environ=env, stdin=stdin, tty_err=tty_err)
        wall = time.monotonic() - start
        reports = run_files(out)
        assert len(reports) == 1, f"exit {res.code}: {res.err}"
        text = next(out.glob("fleetcheck-2*.txt")).read_text()
        run = commands_written_out(json.loads(reports[0].read_text()))
        return Scan(res.code, res.out, res.err, run, wall, text, reports[0])


@pytest.fixture
def fleet(lab: SshLab, tmp_path: Path) -> Fleet:
    """A Fleet writing into this test's tmp dir."""
    return Fleet(lab, tmp_path)


def listeners(host: dict[str, Any]) -> set[tuple[Any, ...]]:
    """(proto, family, address, port, process) of every listener of a host's JSON."""
    return {(li["proto"], li["family"], li["address"], li["port"], li["process"])
            for li in host["listeners"]}


SSHD = {("tcp", 4, "0.0.0.0", 22, "sshd"), ("tcp", 6, "::", 22, "sshd")}


def cli_process(lab: SshLab, tmp: Path, argv: list[str],
                environ: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """`python -m fleetcheck ARGV` as a real process in the controller namespace."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "HOME": str(tmp / "home"), "CI": "true",
           **(environ or {})}
    return subprocess.Popen(lab.controller.exec_argv([sys.executable, "-c", _DEFAULT_SIGNALS,
                                                      sys.executable, "-m", "fleetcheck",
                                                      *argv]),
                            cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


# Runs the rest of its argv with INT, HUP and TERM as a terminal session has them: a suite
# run as a background job, or under nohup, would pass them on ignored (and an ignored
# signal stays ignored in fleetcheck, as it should).
_DEFAULT_SIGNALS = ("import os, signal, sys\n"
                    "for s in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):\n"
                    "    signal.signal(s, signal.SIG_DFL)\n"
                    "os.execv(sys.argv[1], sys.argv[1:])")


def interrupt(proc: subprocess.Popen[str]) -> None:
    """Ctrl-C: SIGINT to the process group, as a terminal sends it."""
    os.killpg(proc.pid, signal.SIGINT)


__all__ = ["NOTHING_ADDRESS", "SIDE_HOSTS", "SSHD", "Fleet", "Scan", "cli_process", "interrupt",
           "listeners"]


@pytest.fixture
def short_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every `threading.Event.wait` under half a second that ran out (a thread woke to look
    and went back to waiting), as its timeout, for the rest of the test."""
    waited: list[float] = []
    real_wait = threading.Event.wait

    def wait(self: threading.Event, timeout: float | None = None) -> bool:
        done = real_wait(self, timeout)
        if not done and timeout is not None and timeout < 0.5:
            waited.append(timeout)
        return done

    monkeypatch.setattr(threading.Event, "wait", wait)
    return waited
