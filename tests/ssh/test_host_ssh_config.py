"""`-F FILE` in a host's ssh arguments (ansible_ssh_common_args, ssh_args): the ssh_config
that host (and its jump hosts) read instead of the usual files, as `ssh -F` does; checked
against OpenSSH's `ssh -G`. A broken one is bad input before any host is contacted."""

from __future__ import annotations

import getpass
import os
import pwd
import shutil
import socket
import subprocess
from pathlib import Path

import pytest

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.transport.ssh.cmdline import config_file
from fleetcheck.transport.ssh.config import SshConfig
from fleetcheck.transport.ssh.target import Resolver
from tests.conftest import run_cli
from tests.lab.prereq import require

HOSTS = """\
Host web
    HostName 192.0.2.10
    Port 2201
    User fileuser
    ProxyJump hop
Host hop
    HostName 192.0.2.1
    Port 2202
    User hopuser
"""
OTHER = "Host *\n    Port 2299\n    User otheruser\n"


def _ssh_g(args: list[str], alias: str) -> dict[str, str]:
    out = subprocess.run(["ssh", "-G", *args, alias], capture_output=True, text=True,
                         check=True, stdin=subprocess.DEVNULL).stdout
    return {k: v for k, _, v in (line.partition(" ") for line in out.splitlines())}


def test_a_hosts_own_config_file_is_read_as_ssh_reads_it(tmp_path: Path) -> None:
    """The host's -F replaces the run's files for it and its jump hosts; the last -F wins;
    `-F none` reads no file; hosts without -F keep the run's files."""
    require(shutil.which("ssh") is not None, "OpenSSH client (ssh -G)")
    (tmp_path / "hosts.conf").write_text(HOSTS)
    (tmp_path / "other.conf").write_text(OTHER)
    home = Path(pwd.getpwuid(os.getuid()).pw_dir)  # where ssh expands ~
    run_wide = tmp_path / "other.conf"
    resolver = Resolver(config=SshConfig.given(run_wide, include_base=home / ".ssh"),
                        home=home, local_user=getpass.getuser())
    cases = [["-F", str(tmp_path / "hosts.conf")],
             ["-C", f"-F{tmp_path / 'other.conf'}", "-o", "Compression=no",
              "-F", str(tmp_path / "hosts.conf")],
             ["-F", str(tmp_path / "hosts.conf"), "-F", "none"]]
    for args in cases:
        for alias in ("web", "hop", "elsewhere"):
            ssh = _ssh_g(args, alias)
            ours = resolver.resolve(alias, ssh_args=args)
            assert (ours.hostname, ours.port, ours.user) == \
                (ssh["hostname"], int(ssh["port"]), ssh["user"]), (args, alias)
            if "proxyjump" in ssh:
                hop = _ssh_g(args, ssh["proxyjump"])
                assert ours.via is not None
                assert (ours.via.hostname, ours.via.port, ours.via.user) == \
                    (hop["hostname"], int(hop["port"]), hop["user"]), (args, alias)
            else:
                assert ours.via is None, (args, alias)
    ssh = _ssh_g(["-F", str(run_wide)], "web")
    ours = resolver.resolve("web", ssh_args=["-o", "Compression=no"])
    assert (ours.hostname, ours.port, ours.user) == (ssh["hostname"], int(ssh["port"]),
                                                     ssh["user"])
    assert config_file(["-o", "F=x", "-l", "-F", "-p", "22"]) is None  # -F here is -l's user


def test_a_config_file_read_on_use_that_is_missing_fails_that_host(tmp_path: Path) -> None:
    resolver = Resolver(config=SshConfig(), home=tmp_path, local_user="u")
    with pytest.raises(HostFailure) as caught:
        resolver.resolve("web", ssh_args=["-F", str(tmp_path / "missing.conf")])
    assert caught.value.kind is ErrorKind.INVENTORY
    assert "missing.conf" in str(caught.value)


def test_a_broken_hosts_config_file_is_bad_input_before_any_host_is_contacted(
        tmp_path: Path) -> None:
    """One line naming the file and line, exit 2; the host's port never sees a connection.
    A good one is used and no longer warned about as an ignored argument."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    (tmp_path / "bad.conf").write_text(f"Host *\n    Port {port}\n    ConnectTimeout soon\n")
    (tmp_path / "good.conf").write_text(f"Host *\n    Port {port}\n    User fileuser\n")
    try:
        for name, code in (("bad.conf", 2), ("good.conf", 3)):
            (tmp_path / "hosts.ini").write_text(
                f"web1 ansible_host=127.0.0.1 ansible_ssh_common_args='-F {name}'\n")
            res = run_cli(["scan", "-i", "hosts.ini", "-o", "out", "--format", "json", "-T",
                           "1", "--no-history"], cwd=tmp_path, environ={"HOME": str(tmp_path)})
            assert res.code == code, res.err
            if code == 2:
                assert res.err == (f"fleetcheck: error: {tmp_path}/bad.conf:3: -F in a host's "
                                   "ssh arguments: connecttimeout: bad value 'soon'\n")
                with pytest.raises(TimeoutError):
                    listener.accept()  # nothing was contacted
            else:
                assert "ignores" not in res.err, res.err
                assert f"fileuser@127.0.0.1:{port} accepted TCP but sent no SSH banner" in \
                    res.out, res.out[-500:]
    finally:
        listener.close()
