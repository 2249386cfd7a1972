"""Starting real OpenSSH daemons for the lab and the benchmarks: keys, config, private mounts."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from tests.lab.netns import Namespace

SSHD = "/usr/sbin/sshd"


def run(argv: Sequence[str], stdin: str | None = None) -> str:
    proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc.stdout


def keygen(path: Path, key_type: str = "ed25519", passphrase: str = "",
            fmt: str | None = None) -> str:
    """Create a key pair; returns the public key as 'type base64'."""
    argv = ["ssh-keygen", "-q", "-t", key_type, "-N", passphrase, "-C", "", "-f", str(path)]
    if key_type == "rsa":
        argv += ["-b", "2048"]
    if fmt:
        argv += ["-m", fmt]
    run(argv)
    return " ".join(path.with_suffix(path.suffix + ".pub").read_text().split()[:2])


def launch_sshd(ns: Namespace, d: Path, config: Sequence[str],
                mounts: Sequence[str] = (), name: str = "sshd",
                cgroup: Path | None = None) -> Path:
    """Start `sshd -D` in `ns` with `config` lines, in a private mount namespace; its pid file.

    The mount namespace gets a tmpfs on /run (sshd's privilege separation directory
    lives there) and whatever `mounts` adds; nothing of the machine's /etc/ssh is read.
    `name` is the name the daemon runs under (what ss, lsof and ps show). With `cgroup`
    (a cgroup v2 directory), sshd runs in it and in a cgroup namespace rooted there: its
    sessions see that directory as the root of the hierarchy, as a machine sees its own.
    """
    binary = SSHD
    if name != "sshd":  # the kernel names a process after the path it was started by
        binary = str(d / name)
        os.symlink(SSHD, binary)
    pidfile = d / "sshd.pid"
    base = [f"PidFile {pidfile}", "StrictModes no", "UsePAM no", "UseDNS no",
            "KbdInteractiveAuthentication no", "PrintMotd no", "PrintLastLog no"]
    (d / "sshd_config").write_text("\n".join([*config, *base]) + "\n")
    script = ["mount -t tmpfs -o mode=755 tmpfs /run", "mkdir -m 755 /run/sshd", *mounts,
              f"exec {binary} -D -E {d}/sshd.log -f {d}/sshd_config"]
    unshare = ["unshare", "-m", *(["-C"] if cgroup is not None else []), "--propagation",
               "private", "sh", "-c", " && ".join(script)]
    argv = ns.exec_argv(unshare)
    if cgroup is not None:  # join the cgroup first (`ip netns exec` hides /sys/fs/cgroup):
        # a cgroup namespace is rooted where its first process was
        argv = ["sh", "-c", f'echo $$ > {cgroup}/cgroup.procs && exec "$@"', "sh", *argv]
    with open(d / "launch.log", "w") as log:
        subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    return pidfile


def wait_started(pidfiles: Sequence[Path], timeout: float = 15.0) -> None:
    """Wait until every sshd wrote its pid file (it does so once it listens)."""
    deadline = time.monotonic() + timeout
    for pidfile in pidfiles:
        while not pidfile.exists():
            if time.monotonic() > deadline:
                log = pidfile.with_name("sshd.log")
                raise RuntimeError(f"sshd in {pidfile.parent} did not start: "
                                   f"{log.read_text() if log.exists() else 'no log'}")
            time.sleep(0.02)
