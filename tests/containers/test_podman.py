"""A real container runtime: Debian's podman runs a container on a real sshd lab host.

The image is built here from a root filesystem (busybox and the libraries it links,
`podman import`: no registry). Podman runs inside the lab host's network, mount and
cgroup namespaces, so its CNI bridge and its port-mapping DNAT rules live in that host
only; `podman ps` is the real one, run by the probe. On this kind of machine (cgroup v1
controllers with an empty v2 hierarchy) crun refuses to start containers and the
kernel refuses podman's default rlimits and pids limit: runc is used, with the rlimits
given and no pids limit (docs/containers.md).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.containers.fixtures import by_port, scan
from tests.lab.prereq import require, require_sshd_lab
from tests.lab.sshlab import HostSpec, running_lab

pytestmark = pytest.mark.lab

PODMAN = ("podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs")
RUN_LIMITS = ("--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024",
              "--pids-limit=-1")


def _rootfs(tar: Path) -> None:
    """A root filesystem holding busybox and the libraries it links, as a tarball."""
    busybox = shutil.which("busybox")
    assert busybox is not None
    out = subprocess.run(["ldd", busybox], capture_output=True, text=True, check=True).stdout
    libs = [w for line in out.splitlines() for w in line.split() if w.startswith("/")]
    with tarfile.open(tar, "w") as t:  # files themselves, never links to outside paths
        t.add(os.path.realpath(busybox), "bin/busybox")
        for lib in libs:
            t.add(os.path.realpath(lib), lib.lstrip("/"))


def _run(*argv: str) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip()}")
    return proc.stdout


def _wait_listening(pid: str, ports: tuple[int, ...]) -> None:
    """Wait until the container's servers listen (podman returns once they started)."""
    deadline = time.monotonic() + 15
    while True:
        out = _run("nsenter", "-t", pid, "-n", "ss", "-Htln")
        if all(f":{port} " in out for port in ports):
            return
        assert time.monotonic() < deadline, f"the container does not listen: {out}"
        time.sleep(0.1)


def test_podman_container_is_found_attributed_and_published(tmp_path: Path) -> None:
    require_sshd_lab()
    for tool in ("podman", "runc", "busybox", "iptables"):
        require(shutil.which(tool) is not None or shutil.which(tool, path="/usr/sbin")
                is not None, f"{tool} (a real container runtime for the lab)")
    require(Path("/usr/lib/cni/portmap").exists(), "CNI plugins (containernetworking-plugins)")
    image = f"localhost/fcbusybox:{secrets.token_hex(4)}"
    name = f"fcweb{secrets.token_hex(3)}"
    _rootfs(tmp_path / "rootfs.tar")
    _run("podman", "import", str(tmp_path / "rootfs.tar"), image)
    try:
        with running_lab([HostSpec("podhost", cgroupns=True)]) as lab:
            host = lab.hosts["podhost"]
            assert host.cgroup is not None
            pid = (host.dir / "sshd.pid").read_text().strip()
            inside = ["sh", "-c", f'echo $$ > {host.cgroup}/cgroup.procs && exec "$@"', "sh",
                      "nsenter", "-t", pid, "-m", "-n", "-C"]
            # Two servers in one container: 80 published on 18080, 1923 not published.
            _run(*inside, *PODMAN, "run", "-d", "--name", name, *RUN_LIMITS,
                 "-p", "18080:80", image, "/bin/busybox", "sh", "-c",
                 "/bin/busybox httpd -p 1923; exec /bin/busybox httpd -f -p 80")
            try:
                cpid = _run(*inside, "podman", "inspect", "-f", "{{.State.Pid}}", name).strip()
                _wait_listening(cpid, (80, 1923))
                result = scan(lab, tmp_path / "scan")
            finally:
                _run(*inside, *PODMAN, "rm", "-f", "-t", "0", name)
    finally:
        _run("podman", "rmi", "-f", image)
    listeners = by_port(result.hosts["podhost"])
    web, spice = listeners[80], listeners[1923]
    for li in (web, spice):
        assert li["container"]["runtime"] == "podman"
        assert (li["container"]["name"], li["container"]["image"]) == (name, f"{image}")
        assert len(li["container"]["id"]) == 64 and li["netns"] > 0
        assert li["process"] == "busybox"  # the comm of `/bin/busybox httpd`
    assert (web["exposure"], web["published_port"], web["verdict"]) == ("published", 18080,
                                                                        "stray")
    assert (spice["exposure"], spice["verdict"]) == ("container-only", "forbidden")
    assert result.code == 1
