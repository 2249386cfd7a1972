"""Ansible's flags, ansible.cfg, ANSIBLE_* and -e reach each host as ansible-core resolves them.

The oracle is ansible-core itself: `ansible all -m raw -a true -vvv` with an ssh
executable that does nothing (`ANSIBLE_SSH_EXECUTABLE`, given to Ansible only) prints
the ssh command line it would run for each host — user, port, key, connect timeout, ssh
arguments — and the become command inside it (method, user, program, flags). No host is
contacted. fleetcheck gets the same files, environment and command line (the flags have
the same names) and plans the same hosts through its real parser, configuration and
planner; each host's connection must be the one Ansible would use.
"""

from __future__ import annotations

import getpass
import io
import itertools
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.cli.common import load_inputs, plan_hosts
from fleetcheck.cli.config_cmd import configure
from fleetcheck.cli.env import Env
from fleetcheck.cli.main import build_parser
from fleetcheck.cli.scan_args import scan_options
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.ssh.config import SshConfig
from fleetcheck.transport.ssh.target import Resolver
from tests import ahead
from tests.inventory.oracle import require_ansible
from tests.lab.prereq import require

CFG = """\
[defaults]
inventory = hosts.ini
remote_user = cfguser
remote_port = 2201
private_key_file = keys/cfg
timeout = 7
transport = ssh
[privilege_escalation]
become = true
become_method = su
become_user = cfgbecome
become_exe = /opt/su
become_flags = -l
[ssh_connection]
ssh_args = -o ServerAliveInterval=7
ssh_common_args = -o ProxyJump=cfgjump
ssh_extra_args = -o ConnectionAttempts=2
"""
INVENTORY = """\
h1 ansible_host=192.0.2.1
h2 ansible_host=192.0.2.2 ansible_user=inv2 ansible_port=2202 ansible_ssh_private_key_file=/k/inv2 ansible_ssh_timeout=9 ansible_ssh_common_args='-o ProxyJump=invjump' ansible_become_method=sudo ansible_become_user=inv2b ansible_become_flags='-E'
h3 ansible_host=192.0.2.3 ansible_become=false ansible_ssh_user=sshuser ansible_user=plainuser ansible_ssh_port=2203 ansible_port=2303 ansible_private_key_file=/k/plain ansible_ssh_private_key_file=/k/ssh
h4 ansible_host=192.0.2.4 ansible_become_method=su ansible_su_user=suuser ansible_become_user=generic ansible_su_flags=-m ansible_su_exe=/bin/su2 ansible_ssh_extra_args='-o ConnectionAttempts=5'
h5 ansible_host=192.0.2.5 ansible_connection=local ansible_become=false
h6 ansible_host=192.0.2.6 ansible_sudo_user=sudouser ansible_become_method=sudo ansible_become_exe=/opt/generic ansible_sudo_exe=/opt/sudo2 ansible_become_flags=-H ansible_sudo_flags='-H -E'
h7 ansible_host=192.0.2.7 ansible_port=2207 ansible_user=inv7 ansible_ssh_common_args='-p 2277 -l argsuser -o ProxyJump=invjump'
h8 ansible_host=192.0.2.8 ansible_ssh_extra_args='-p 2288 -o User=argsuser'
h9 ansible_host=192.0.2.9 ansible_ssh_args='-o ServerAliveInterval=9 -o ProxyJump=argsjump'
"""  # noqa: E501 - inventory lines are long
ENV = {"ANSIBLE_REMOTE_USER": "envuser", "ANSIBLE_REMOTE_PORT": "2210", "ANSIBLE_TIMEOUT": "11",
       "ANSIBLE_BECOME_METHOD": "sudo", "ANSIBLE_BECOME_USER": "envbecome",
       "ANSIBLE_BECOME_EXE": "/opt/envsudo", "ANSIBLE_BECOME_FLAGS": "-H",
       "ANSIBLE_SSH_COMMON_ARGS": "-o ProxyJump=envjump", "ANSIBLE_BECOME": "false"}
CLI = ["-u", "cliuser", "-T", "13", "-b", "--become-method", "su", "--become-user", "clibecome",
       "--ssh-common-args=-o ProxyJump=clijump", "--ssh-extra-args=-o ConnectionAttempts=3",
       "-c", "ssh"]
EXTRA = ["-e", "ansible_user=euser ansible_port=2299",
         "-e", '{"ansible_become": true, "ansible_become_method": "sudo", '
               '"ansible_ssh_common_args": "-o ProxyJump=ejump"}',
         "-e", "ansible_ssh_timeout=21 ansible_become_user=ebecome"]


@dataclass
class Case:
    """Files, environment and command line given to both tools."""

    name: str
    environ: dict[str, str] = field(default_factory=dict)
    argv: list[str] = field(default_factory=list)
    cfg: str = CFG


CASES = [
    Case("ansible.cfg"),
    Case("environment over ansible.cfg", ENV),
    Case("command line over environment", ENV, CLI),
    Case("extra vars over everything", ENV, [*CLI, *EXTRA]),
    Case("connection from the command line", argv=["-c", "local"],
         cfg="[defaults]\ninventory = hosts.ini\n[ssh_connection]\nssh_args = -o A=1\n"),
]


@dataclass
class Seen:
    """What Ansible's command line for one host says."""

    connection: str
    user: str | None = None
    port: int | None = None
    key: str | None = None
    timeout: float | None = None
    ssh_args: list[str] = field(default_factory=list)
    address: str | None = None
    become: tuple[str, str, list[str], str] | None = None  # form, exe, flags, user
    words: list[str] = field(default_factory=list)  # the whole ssh command line


def _setup(root: Path, case: Case) -> tuple[Path, dict[str, str]]:
    cwd, home = root / "cwd", root / "home"
    for d in (cwd / "keys", home / "tmp", root / "k"):
        d.mkdir(parents=True, exist_ok=True)
    (cwd / "ansible.cfg").write_text(case.cfg)
    (cwd / "hosts.ini").write_text(INVENTORY.replace("/k/", f"{root}/k/"))
    (cwd / "keys" / "cfg").write_text("not a key: nothing is contacted\n")
    (root / "k" / "cli").write_text("not a key\n")
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "LC_ALL": "C.UTF-8", "ANSIBLE_LOCAL_TEMP": str(home / "tmp"),
               "ANSIBLE_NOCOLOR": "1", **case.environ}
    return cwd, environ


def _argv(case: Case, root: Path) -> list[str]:
    extra = ["--private-key", str(root / "k" / "cli")] if "-u" in case.argv else []
    return [*case.argv, *extra]


def _start(root: Path, case: Case, cwd: Path, environ: dict[str, str],
           background: bool = False) -> ahead.Job:
    """`ansible all -m raw -a true -vvv` for the case, started (its ssh does nothing), its
    output into files beside `root`'s inputs; `background`: see tests/ahead.py."""
    fake = root / "ssh-does-nothing"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    (root / "ansible.err").write_bytes(b"")
    return ahead.run([sys.executable, "-m", "ansible.cli.adhoc", "all", "-m", "raw", "-a",
                      "true", "-vvv", "-f", "1", *_argv(case, root)], background, None,
                     root / "ansible.out", root / "ansible.err", cwd=cwd,
                     env={**environ, "ANSIBLE_SSH_EXECUTABLE": str(fake)})


def _theirs(root: Path, job: ahead.Job) -> dict[str, Seen]:
    """What each host's command line says, from the finished run's -vvv output."""
    job.wait(timeout=300)
    stdout, stderr = ((root / f"ansible.{n}").read_text() for n in ("out", "err"))
    seen: dict[str, Seen] = {}
    for line in stdout.splitlines():
        if not line.startswith("<"):
            continue
        address, _, rest = line[1:].partition("> ")
        if rest.startswith("ESTABLISH LOCAL CONNECTION"):
            seen[address] = Seen("local")
        elif rest.startswith("SSH: EXEC "):
            seen[address] = _ssh_line(shlex.split(rest[len("SSH: EXEC "):]))
    assert seen, stdout + stderr
    return seen


def _ssh_line(words: list[str]) -> Seen:
    """Ansible's ssh command: ssh_args, its own -o options, then the common/extra args."""
    options: dict[str, str] = {}
    for flag, value in itertools.pairwise(words):
        if flag == "-o" and "=" in value:
            key, _, val = value.partition("=")
            options.setdefault(key, val.strip('"'))
    after = words.index(f"ConnectTimeout={options['ConnectTimeout']}") + 1
    tt = words.index("-tt")
    if words[tt - 2:tt] == ["-o", "NumberOfPasswordPrompts=1"]:  # Ansible's own, last
        tt -= 2
    first_own = next(i for i, w in enumerate(words) if w.startswith(
        ("Port=", "IdentityFile=", "KbdInteractiveAuthentication=")))
    seen = Seen("ssh", options.get("User"), int(options["Port"]) if "Port" in options else None,
                options.get("IdentityFile"), float(options["ConnectTimeout"]),
                [*words[1:first_own - 1], *words[after:tt]], words[words.index("-tt") + 1],
                words=words)
    remote = words[-1]
    if remote != "true":
        tokens = shlex.split(remote)
        if tokens[-3:-1] == ["/bin/sh", "-c"]:  # sudo: EXE FLAGS -u USER /bin/sh -c CMD
            at = tokens.index("-u")
            seen.become = ("sudo", tokens[0], tokens[1:at], tokens[at + 1])
        else:  # su: EXE FLAGS USER -c CMD
            seen.become = ("su", tokens[0], tokens[1:-3], tokens[-3])
    return seen


def _ours(root: Path, case: Case, cwd: Path, environ: dict[str, str]) -> dict[str, Any]:
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(),
              environ=environ, cwd=cwd)
    args = build_parser().parse_args(["scan", *_argv(case, root)])
    args.argv = ["fleetcheck", "scan"]
    args.settings = configure(args, env)
    hosts, options = scan_options(args, env, plan_hosts(load_inputs(args, env), args, env))
    resolver = Resolver(config=SshConfig.load([Path(os.devnull)], include_base=root),
                        home=root / "home", local_user=getpass.getuser())
    return {"hosts": {h.address: h for h in hosts}, "options": options, "resolver": resolver}


def _effective(resolver: Resolver, host: PlannedHost) -> tuple[int, str]:
    """The port and user fleetcheck connects with (no ssh_config: `-F /dev/null`)."""
    target = resolver.resolve(host.address, port=host.port, user=host.user,
                              ssh_args=host.ssh_args, lead=host.ssh_args_lead)
    return target.port, target.user


def _ssh_g(words: list[str]) -> tuple[int, str]:
    """The port and user `ssh -G` reads from Ansible's command line (without the remote
    command, with no ssh_config)."""
    require(shutil.which("ssh") is not None, "OpenSSH client (ssh -G)")
    out = subprocess.run(["ssh", "-G", "-F", os.devnull, *words[1:-1]], capture_output=True,
                         text=True, timeout=30, check=True).stdout
    found = dict(line.split(" ", 1) for line in out.splitlines() if " " in line)
    return int(found["port"]), found["user"]


Asked = dict[str, tuple[Path, Path, dict[str, str], dict[str, Seen]]]


def ask_ahead(root: Path) -> Callable[[], Asked]:
    """Each case's files written (root, working directory, environment) under `root`, and
    the cases' `ansible` runs started at once, in the background (tests/ahead.py)."""
    started: dict[str, tuple[Path, Path, dict[str, str], ahead.Job]] = {}
    try:
        for n, case in enumerate(CASES):
            where = root / f"case{n}"
            where.mkdir()
            cwd, environ = _setup(where, case)
            started[case.name] = (where, cwd, environ,
                                  _start(where, case, cwd, environ, background=True))
    except BaseException:
        for *_, job in started.values():
            job.stop()
        raise

    def collect() -> Asked:
        try:
            return {name: (where, cwd, environ, _theirs(where, job))
                    for name, (where, cwd, environ, job) in started.items()}
        finally:
            for *_, job in started.values():
                job.stop()
    return collect


@pytest.fixture(scope="module")
def asked(tmp_path_factory: pytest.TempPathFactory) -> Asked:
    """Each case's files and what Ansible's command lines say there (ask_ahead)."""
    require_ansible()
    answers: Asked = ahead.take(__name__, tmp_path_factory, ask_ahead)
    return answers


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_host_is_reached_as_ansible_would_reach_it(asked: Asked, case: Case) -> None:
    root, cwd, environ, theirs = asked[case.name]
    ours = _ours(root, case, cwd, environ)
    options = ours["options"]
    assert set(theirs) == set(ours["hosts"])
    for address, seen in theirs.items():
        host = ours["hosts"][address]
        assert host.connection == seen.connection, address
        if seen.connection != "ssh":
            continue
        assert (host.user, host.port) == (seen.user, seen.port), address
        assert (host.private_key_file or options.ssh.private_key) == seen.key, address
        assert (host.connect_timeout or options.ssh.connect_timeout or 10.0) == seen.timeout
        assert list(host.ssh_args) == seen.ssh_args, (address, host.ssh_args, seen.ssh_args)
        # where that command line connects, as ssh reads it (its first value wins): Ansible's
        # own -o Port/User stand between its ssh_args and the common and extra args
        assert _effective(ours["resolver"], host) == _ssh_g(seen.words), address
        if seen.become is None:
            assert host.become is None, address
            continue
        assert host.become is not None, address
        form, exe, flags, user = seen.become
        become = host.become
        default_flags = ["-H", "-S", "-n"] if become.method == "sudo" else []
        assert (become.method, [*(become.exe or (become.method,))],
                list(become.flags) or default_flags, become.user) == \
            (form, [exe], flags, user), address
