"""known_hosts at scale: fleetcheck's index against paramiko's HostKeys (run by ssh_fanout.py)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import paramiko

from benchmarks.common import print_table
from tests.lab.sshd import keygen


def _known_hosts_files(tmp: Path, entries: int) -> dict[str, Path]:
    """A plain known_hosts of `entries` lines and its `ssh-keygen -H` twin."""
    pub = keygen(tmp / f"k{entries}")
    plain = tmp / f"plain{entries}"
    plain.write_text("".join(f"10.{i // 65536}.{i // 256 % 256}.{i % 256} {pub}\n"
                             for i in range(entries)))
    hashed = tmp / f"hashed{entries}"
    hashed.write_text(plain.read_text())
    subprocess.run(["ssh-keygen", "-H", "-f", str(hashed)], capture_output=True, check=True)
    return {"plain": plain, "hashed": hashed}


def bench_known_hosts(entries: int, paramiko_entries: int) -> None:
    """Indexing and looking up a large known_hosts: fleetcheck's index vs paramiko's HostKeys.

    paramiko's HostKeys is timed on a smaller file: loading is quadratic (each
    added entry is compared with all before it) and takes minutes at 50,000.
    """
    from fleetcheck.transport.ssh.known_hosts import KnownHosts

    tmp = Path(tempfile.mkdtemp(prefix="fcbench-kh-"))
    try:
        rows = []
        for size, who in ((entries, "fleetcheck"), (paramiko_entries, "paramiko")):
            for label, path in _known_hosts_files(tmp, size).items():
                names = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
                         for i in range(0, size, max(1, size // 50))]
                t0 = time.perf_counter()
                if who == "fleetcheck":
                    index = KnownHosts.load([path])
                    t1 = time.perf_counter()
                    for name in names:
                        assert index.entries_for(name)
                else:
                    hk = paramiko.HostKeys(str(path))
                    t1 = time.perf_counter()
                    for name in names:
                        assert hk.lookup(name)
                t2 = time.perf_counter()
                rows.append([who, label, size, t1 - t0, 1e3 * (t2 - t1) / len(names)])
        print_table("known_hosts: load once, then one lookup per host",
                    ["reader", "file", "entries", "load s", "ms per lookup"], rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
