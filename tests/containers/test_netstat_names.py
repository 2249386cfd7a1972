"""Containers on a host listed with net-tools netstat (no ss): every namespace's
listeners named by their kernel name (comm), as on the host's own listing.

The container's daemon retitles itself ('nginx: master process ...'), which netstat
prints where ss shows 'nginx'; the probe reads the listed pids' /proc/PID/stat in each
namespace's part too, so a policy's `process: nginx` holds in containers as on the host.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.containers.fixtures import Scan, by_port, scan
from tests.lab.containers import ContainerHost, docker_cgroup
from tests.lab.netns import Sock
from tests.lab.prereq import require, require_sshd_lab
from tests.lab.sshlab import HostSpec, running_lab

pytestmark = pytest.mark.lab

TITLE = "nginx: master process /usr/sbin/nginx -g daemon on;"


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scan]:
    require_sshd_lab()
    from shutil import which
    require(bool(which("nsenter") or which("nsenter", path="/usr/sbin:/sbin")), "nsenter")
    with running_lab([HostSpec("ntns", cgroupns=True, hide=("ss",))]) as lab:
        host = ContainerHost(lab, "ntns")
        try:
            host.start(docker_cgroup("f6" * 32), [
                Sock("tcp", "0.0.0.0", 80, process="nginx", title=TITLE),
                Sock("udp", "0.0.0.0", 5353, process="mdnsd")])
            lab.hold("ntns", [Sock("tcp", "0.0.0.0", 8080, process="nginx", title=TITLE)])
            yield scan(lab, Path(tmp_path_factory.mktemp("ntns")))
        finally:
            host.stop()


def test_netstat_names_container_listeners_by_comm(scanned: Scan) -> None:
    host = scanned.hosts["ntns"]
    assert host["collector"] == "netstat" and host["error"] is None, host["error"]
    listeners = by_port(host)
    assert listeners[8080]["process"] == "nginx" and listeners[8080].get("netns") is None
    assert listeners[80]["process"] == "nginx" and listeners[80]["netns"] is not None
    assert listeners[5353]["process"] == "mdnsd"
    stdout = host["commands"][-1]["stdout"]
    assert ".netstat.names" in stdout and "nginx: master" in stdout  # evidence as printed
